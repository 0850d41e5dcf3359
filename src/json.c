/* SPDX-License-Identifier: ISC */
/*
 * json.c - bounded, strict JSON input and typed field access (json.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "json.h"

static void
put(void *obj)
{
	json_object_put(obj);
}

struct json_object *
mr_json_own(struct mr_arena *a, struct json_object *obj)
{
	if (obj == NULL || mr_arena_defer(a, put, obj) == -1)
		return NULL;
	return obj;
}

/*
 * json-c's strict mode still takes single-quoted strings and the words
 * NaN and Infinity; JSON has none of them.  Outside strings the only
 * words are true, false and null (and the exponent letter of a number).
 * Returns a reason, or NULL when the text has none of these.
 */
static const char *
not_json(const char *buf, size_t len)
{
	size_t	 i, w;
	int	 instr = 0;

	for (i = 0; i < len; i++) {
		if (instr) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				instr = 0;
			continue;
		}
		if (buf[i] == '"')
			instr = 1;
		else if (buf[i] == '\'')
			return "strings must be in double quotes";
		else if (isalpha((unsigned char)buf[i])) {
			for (w = i; w < len && isalpha((unsigned char)buf[w]); w++)
				;
			if ((w - i == 1 && (buf[i] == 'e' || buf[i] == 'E') &&
			    i > 0 && (isdigit((unsigned char)buf[i - 1]) ||
			    buf[i - 1] == '.')) ||
			    (w - i == 4 && (memcmp(buf + i, "true", 4) == 0 ||
			    memcmp(buf + i, "null", 4) == 0)) ||
			    (w - i == 5 && memcmp(buf + i, "false", 5) == 0)) {
				i = w - 1;
				continue;
			}
			return "NaN, Infinity and bare words are not JSON";
		}
	}
	return NULL;
}

struct json_object *
mr_json_parse(struct mr_arena *a, const char *buf, size_t len,
    struct mr_err *err)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	const char		*why;
	size_t			 end = 0;

	if (len == 0)
		return mr_err_set(err, 400, "invalid_json",
		    "The request body is empty; a JSON object is expected."),
		    NULL;
	if (len > INT32_MAX)
		return mr_err_set(err, 413, "body_too_large",
		    "The request body is too large."), NULL;
	if ((why = not_json(buf, len)) != NULL)
		return mr_err_set(err, 400, "invalid_json",
		    "The request body is not valid JSON: %s.", why), NULL;
	if ((tok = json_tokener_new_ex(MR_JSON_DEPTH)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory."), NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	/*
	 * A bare word or number ("null", "12") may go on for all json-c
	 * knows: a NUL byte tells it the input has ended.
	 */
	if (obj == NULL && jerr == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success)
			end = len;
	}
	if (end != len)
		end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL && jerr == json_tokener_success)
		return mr_err_set(err, 422, "invalid_body",
		    "The request body must be a JSON object."), NULL;
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return mr_err_set(err, 400, "invalid_json",
			    "The request body is not valid JSON: unexpected "
			    "end of input."), NULL;
		if (jerr == json_tokener_error_depth)
			return mr_err_set(err, 400, "invalid_json",
			    "The request body is nested too deeply."), NULL;
		return mr_err_set(err, 400, "invalid_json",
		    "The request body is not valid JSON: %s.",
		    json_tokener_error_desc(jerr)), NULL;
	}
	if (mr_json_own(a, obj) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory."), NULL;
	/* Only trailing white space may follow the value. */
	for (; end < len; end++)
		if (buf[end] != ' ' && buf[end] != '\t' && buf[end] != '\n' &&
		    buf[end] != '\r')
			return mr_err_set(err, 400, "invalid_json",
			    "The request body has bytes after the JSON "
			    "value."), NULL;
	if (!json_object_is_type(obj, json_type_object))
		return mr_err_set(err, 422, "invalid_body",
		    "The request body must be a JSON object."), NULL;
	return obj;
}

int
mr_json_check_keys(struct json_object *obj, const char *const *allowed,
    struct mr_err *err)
{
	const char *const *p;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (p = allowed; *p != NULL; p++)
			if (strcmp(*p, key) == 0)
				break;
		if (*p == NULL)
			return mr_err_set(err, 422, "unknown_field",
			    "Unknown field '%.64s'.", key);
	}
	return 0;
}

static int
lookup(struct json_object *obj, const char *name, struct json_object **v)
{
	if (!json_object_object_get_ex(obj, name, v) || *v == NULL)
		return 0;
	return 1;
}

int
mr_json_get_str(struct json_object *obj, const char *name, size_t maxlen,
    const char **out, struct mr_err *err)
{
	struct json_object	*v;

	if (!lookup(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' must be a string.", name);
	if ((size_t)json_object_get_string_len(v) > maxlen)
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' is longer than %zu characters.", name, maxlen);
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' contains a NUL character.", name);
	*out = json_object_get_string(v);
	return 1;
}

int
mr_json_get_bool(struct json_object *obj, const char *name, int *out,
    struct mr_err *err)
{
	struct json_object	*v;

	if (!lookup(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' must be true or false.", name);
	*out = json_object_get_boolean(v);
	return 1;
}

int
mr_json_get_int(struct json_object *obj, const char *name, int64_t min,
    int64_t max, int64_t *out, struct mr_err *err)
{
	struct json_object	*v;
	int64_t			 n;

	if (!lookup(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' must be an integer.", name);
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max)
		return mr_err_set(err, 422, "invalid_field",
		    "Field '%s' must be from %lld to %lld.", name,
		    (long long)min, (long long)max);
	*out = n;
	return 1;
}

struct json_object *
mr_json_get2(struct json_object *obj, const char *camel, const char *snake)
{
	struct json_object	*v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (lookup(obj, camel, &v))
		return v;
	if (snake != NULL && lookup(obj, snake, &v))
		return v;
	return NULL;
}

int
mr_json_lk_str(struct json_object *obj, const char *camel,
    const char *snake, const char **out)
{
	struct json_object	*v;

	if ((v = mr_json_get2(obj, camel, snake)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

int
mr_json_lk_int64(struct json_object *obj, const char *camel,
    const char *snake, int64_t *out)
{
	struct json_object	*v;
	double			 d;

	if ((v = mr_json_get2(obj, camel, snake)) == NULL)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return mr_parse_int64(json_object_get_string(v), INT64_MIN,
		    INT64_MAX, out) == -1 ? -1 : 1;
	case json_type_int:
		errno = 0;
		*out = json_object_get_int64(v);
		return errno != 0 ? -1 : 1;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
			return -1;
		*out = (int64_t)d;
		return 1;
	default:
		return -1;
	}
}

char *
mr_json_dump(struct mr_arena *a, struct json_object *obj)
{
	return mr_strdup(a, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}
