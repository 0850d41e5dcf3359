/* SPDX-License-Identifier: ISC */
/*
 * json.c - bounded, strict JSON input and typed field access (json.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
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

/* The writer (json.h).  Bit d of jw_more: depth d has a value already. */
struct mr_jw {
	struct mr_buf	 jw_buf;
	char		 jw_open[MR_JSON_DEPTH];
	unsigned	 jw_depth;
	uint32_t	 jw_more;
	int		 jw_fail;
};

/* A text past this is a bug, not an answer. */
#define JW_MAX	(64u << 20)
/* Room for the usual answer (a page of 50 recordings is 52 KB) at once. */
#define JW_FIRST	(64u << 10)

static void
jw_free(void *p)
{
	mr_buf_free(&((struct mr_jw *)p)->jw_buf);
}

struct mr_jw *
mr_jw_new(struct mr_arena *a)
{
	struct mr_jw	*w;

	if ((w = mr_calloc(a, 1, sizeof(*w))) == NULL)
		return NULL;
	mr_buf_init(&w->jw_buf, JW_MAX);
	if (mr_arena_defer(a, jw_free, w) == -1)
		return NULL;
	/* One allocation for most answers; a failure shows in the text. */
	if (mr_buf_reserve(&w->jw_buf, JW_FIRST) == -1)
		w->jw_fail = 1;
	return w;
}

static void
jw_add(struct mr_jw *w, const char *p, size_t n)
{
	struct mr_buf	*b = &w->jw_buf;

	if (w->jw_fail)
		return;
	/* Most values fit in what the buffer has. */
	if (b->size - b->len > n) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	if (mr_buf_add(b, p, n) == -1)
		w->jw_fail = 1;
}

/*
 * s as a JSON string: the quote, the backslash and the control
 * characters escaped, everything else (UTF-8 included) as it is.
 */
static void
jw_quote(struct mr_jw *w, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	char			 esc[6];
	size_t			 n;

	jw_add(w, "\"", 1);
	for (;;) {
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		jw_add(w, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		esc[0] = '\\';
		n = 2;
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			n = 6;
		}
		jw_add(w, esc, n);
		p++;
	}
	jw_add(w, "\"", 1);
}

/*
 * The comma and the key before a value: a key in an object, none in an
 * array or at the top.  0 when the value may be written.
 */
static int
jw_key(struct mr_jw *w, const char *key)
{
	int	 in_obj;

	if (w->jw_fail)
		return -1;
	in_obj = w->jw_depth > 0 && w->jw_open[w->jw_depth - 1] == '{';
	if (in_obj != (key != NULL) ||
	    (w->jw_depth == 0 && w->jw_buf.len > 0)) {
		w->jw_fail = 1;
		return -1;
	}
	if (w->jw_more & (1u << w->jw_depth))
		jw_add(w, ",", 1);
	w->jw_more |= 1u << w->jw_depth;
	if (key != NULL) {
		jw_quote(w, key);
		jw_add(w, ":", 1);
	}
	return w->jw_fail ? -1 : 0;
}

void
mr_jw_open(struct mr_jw *w, const char *key, char brace)
{
	if (jw_key(w, key) == -1)
		return;
	if ((brace != '{' && brace != '[') || w->jw_depth >= MR_JSON_DEPTH) {
		w->jw_fail = 1;
		return;
	}
	w->jw_open[w->jw_depth++] = brace;
	w->jw_more &= ~(1u << w->jw_depth);
	jw_add(w, &brace, 1);
}

void
mr_jw_close(struct mr_jw *w, char brace)
{
	if (w->jw_fail)
		return;
	if (w->jw_depth == 0 || w->jw_open[w->jw_depth - 1] !=
	    (brace == '}' ? '{' : brace == ']' ? '[' : 0)) {
		w->jw_fail = 1;
		return;
	}
	w->jw_depth--;
	jw_add(w, &brace, 1);
}

void
mr_jw_str(struct mr_jw *w, const char *key, const char *s)
{
	if (jw_key(w, key) == -1)
		return;
	if (s == NULL)
		jw_add(w, "null", 4);
	else
		jw_quote(w, s);
}

void
mr_jw_int(struct mr_jw *w, const char *key, int64_t v)
{
	char		 d[24], *p = d + sizeof(d);
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (jw_key(w, key) == -1)
		return;
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jw_add(w, p, (size_t)(d + sizeof(d) - p));
}

void
mr_jw_num(struct mr_jw *w, const char *key, double v)
{
	char	 d[64];
	int	 n;

	if (jw_key(w, key) == -1)
		return;
	if (!isfinite(v) || (n = snprintf(d, sizeof(d), "%.3f", v)) < 0 ||
	    (size_t)n >= sizeof(d))
		jw_add(w, "null", 4);
	else
		jw_add(w, d, (size_t)n);
}

void
mr_jw_bool(struct mr_jw *w, const char *key, int v)
{
	if (jw_key(w, key) == 0)
		jw_add(w, v ? "true" : "false", v ? 4 : 5);
}

void
mr_jw_null(struct mr_jw *w, const char *key)
{
	mr_jw_str(w, key, NULL);
}

/* v as json-c writes it (NULL is null). */
void
mr_jw_value(struct mr_jw *w, const char *key, struct json_object *v)
{
	const char	*s;

	if (jw_key(w, key) == -1)
		return;
	if ((s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL) {
		w->jw_fail = 1;
		return;
	}
	jw_add(w, s, strlen(s));
}

/* The text once every open object and array is closed, else NULL. */
const char *
mr_jw_text(struct mr_jw *w, size_t *len)
{
	if (w->jw_fail || w->jw_depth != 0 || w->jw_buf.len == 0)
		return NULL;
	*len = w->jw_buf.len;
	return w->jw_buf.data;
}
