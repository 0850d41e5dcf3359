/* SPDX-License-Identifier: ISC */
/*
 * json.h - json-c wrappers: bounded strict parsing, typed field getters
 * that name the field in their errors, an unknown-field check, and the
 * lenient readers LiveKit's two JSON spellings need.
 */
#ifndef MR_JSON_H
#define MR_JSON_H

#include <stdint.h>
#include <json-c/json.h>

#include "mr.h"

#define MR_JSON_DEPTH	16

/*
 * Parse len bytes as one JSON object, strictly (no trailing bytes, depth
 * at most MR_JSON_DEPTH).  The root is owned by arena a.  Returns NULL
 * with err 400 invalid_json (or 422 invalid_body when it is not an
 * object).
 */
struct json_object *mr_json_parse(struct mr_arena *a, const char *buf,
	    size_t len, struct mr_err *err);

/* Refuse keys of obj not in the NULL-terminated list: 422 unknown_field. */
int	mr_json_check_keys(struct json_object *obj, const char *const *allowed,
	    struct mr_err *err);

/*
 * Typed getters: return 1 and set *out when name is present (and not
 * null), 0 when absent or null, -1 with err 422 invalid_field naming the
 * field when the type or bounds are wrong.  String results point into the
 * object and live as long as it.
 */
int	mr_json_get_str(struct json_object *, const char *name, size_t maxlen,
	    const char **out, struct mr_err *err);
int	mr_json_get_bool(struct json_object *, const char *name, int *out,
	    struct mr_err *err);
int	mr_json_get_int(struct json_object *, const char *name, int64_t min,
	    int64_t max, int64_t *out, struct mr_err *err);

/*
 * LiveKit readers: look a key up under its camelCase or its snake_case
 * name; int64 values come as strings or numbers.  Return 1 found, 0
 * absent, -1 malformed (no err: the caller knows the context).
 */
struct json_object *mr_json_get2(struct json_object *, const char *camel,
	    const char *snake);
int	mr_json_lk_str(struct json_object *, const char *camel,
	    const char *snake, const char **out);
int	mr_json_lk_int64(struct json_object *, const char *camel,
	    const char *snake, int64_t *out);

/*
 * Serialise obj compactly; the string is in arena a.  Returns NULL on
 * allocation failure.
 */
char	*mr_json_dump(struct mr_arena *a, struct json_object *obj);

/* Register obj with arena a so it is put at reset; returns obj or NULL. */
struct json_object *mr_json_own(struct mr_arena *a, struct json_object *obj);

/*
 * A JSON text written straight into a buffer, for the answers too large
 * to build as json-c objects first: a page of 50 recordings is 1,500
 * values, each allocated, hashed into its object and freed again.
 * Values go into the innermost open object (under key) or array (key
 * NULL); the writer puts the commas.  After an allocation failure, a
 * depth past MR_JSON_DEPTH or a close that does not match, every call
 * does nothing and mr_jw_text() returns NULL.  The writer and its text
 * live until arena a is reset.
 */
struct mr_jw;

struct mr_jw	*mr_jw_new(struct mr_arena *a);
void	mr_jw_open(struct mr_jw *, const char *key, char brace);
void	mr_jw_close(struct mr_jw *, char brace);
void	mr_jw_str(struct mr_jw *, const char *key, const char *s);
void	mr_jw_int(struct mr_jw *, const char *key, int64_t v);
/* A number with three decimals (times in seconds); null if not finite. */
void	mr_jw_num(struct mr_jw *, const char *key, double v);
void	mr_jw_bool(struct mr_jw *, const char *key, int v);
void	mr_jw_null(struct mr_jw *, const char *key);
void	mr_jw_value(struct mr_jw *, const char *key, struct json_object *v);
const char *mr_jw_text(struct mr_jw *, size_t *len);

#endif /* MR_JSON_H */
