/* SPDX-License-Identifier: ISC */
/*
 * test-json.c - strict bounded parsing, typed getters, LiveKit's two
 * spellings, and the writer, read back by json-c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "json.h"
#include "livekit.h"
#include "tap.h"

static struct json_object *
parse(struct mr_arena *a, const char *s, struct mr_err *e)
{
	mr_err_clear(e);
	return mr_json_parse(a, s, strlen(s), e);
}

/* What w wrote, or NULL; the text is checked to be one JSON value. */
static const char *
text(struct mr_jw *w)
{
	const char	*s;
	size_t		 len;

	if ((s = mr_jw_text(w, &len)) == NULL)
		return NULL;
	return strlen(s) == len ? s : NULL;
}

/* The writer, each case in a writer of its own. */
static void
writer(struct mr_arena *a)
{
	/* What JSON must escape, DEL, UTF-8, and what HTML cares about. */
	static const char	 hostile[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f "
	    "\xc3\xa9\xe2\x82\xac</script>";
	struct mr_err		 e;
	struct mr_jw		*w;
	struct json_object	*o, *v, *arr;
	const char		*s;
	int64_t			 n;
	int			 i;
	char			 key[16];

	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "s", hostile);
	mr_jw_str(w, "none", NULL);
	mr_jw_int(w, "min", INT64_MIN);
	mr_jw_int(w, "max", INT64_MAX);
	mr_jw_int(w, "zero", 0);
	mr_jw_int(w, "neg", -42);
	mr_jw_bool(w, "t", 1);
	mr_jw_bool(w, "f", 0);
	mr_jw_open(w, "arr", '[');
	mr_jw_open(w, NULL, '{');
	mr_jw_close(w, '}');
	mr_jw_open(w, NULL, '[');
	mr_jw_close(w, ']');
	mr_jw_int(w, NULL, 7);
	mr_jw_close(w, ']');
	arr = mr_json_own(a, json_object_new_array());
	json_object_array_add(arr, json_object_new_string("x\"y"));
	mr_jw_value(w, "embedded", arr);
	mr_jw_str(w, "k\"ey", "v");
	mr_jw_close(w, '}');
	s = text(w);
	ok(s != NULL, "the writer's text is one NUL-free value");
	o = s != NULL ? parse(a, s, &e) : NULL;
	ok(o != NULL, "json-c reads what the writer wrote");
	ok(mr_json_get_str(o, "s", 100, &s, &e) == 1 && strcmp(s, hostile) == 0,
	    "quotes, backslashes, control characters and UTF-8 come back "
	    "as they went in");
	ok(json_object_object_get_ex(o, "none", &v) && v == NULL, "NULL is null");
	ok(mr_json_get_int(o, "min", INT64_MIN, INT64_MAX, &n, &e) == 1 &&
	    n == INT64_MIN, "INT64_MIN");
	ok(mr_json_get_int(o, "max", INT64_MIN, INT64_MAX, &n, &e) == 1 &&
	    n == INT64_MAX, "INT64_MAX");
	ok(mr_json_get_int(o, "zero", -1, 1, &n, &e) == 1 && n == 0, "zero");
	ok(mr_json_get_int(o, "neg", -100, 0, &n, &e) == 1 && n == -42,
	    "a negative number");
	ok(mr_json_get_bool(o, "t", &i, &e) == 1 && i == 1 &&
	    mr_json_get_bool(o, "f", &i, &e) == 1 && i == 0, "true and false");
	ok(json_object_object_get_ex(o, "arr", &v) &&
	    json_object_array_length(v) == 3 &&
	    json_object_get_int(json_object_array_get_idx(v, 2)) == 7,
	    "an array of an object, an array and a number");
	ok(json_object_object_get_ex(o, "embedded", &v) &&
	    strcmp(json_object_get_string(json_object_array_get_idx(v, 0)),
	    "x\"y") == 0, "a json-c value inside");
	ok(mr_json_get_str(o, "k\"ey", 10, &s, &e) == 1 && strcmp(s, "v") == 0,
	    "a key is escaped too");
	ok(json_object_object_length(o) == 11, "nothing else: 11 members");

	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '[');
	mr_jw_str(w, "key", "v");
	mr_jw_close(w, ']');
	ok(text(w) == NULL, "a key inside an array fails the text");
	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, NULL, "v");
	mr_jw_close(w, '}');
	ok(text(w) == NULL, "a value without a key in an object fails");
	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '{');
	mr_jw_close(w, ']');
	ok(text(w) == NULL, "a close that does not match fails");
	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '{');
	ok(text(w) == NULL, "an object left open has no text");
	w = mr_jw_new(a);
	ok(text(w) == NULL, "nothing written has no text");
	w = mr_jw_new(a);
	mr_jw_int(w, NULL, 1);
	mr_jw_int(w, NULL, 2);
	ok(text(w) == NULL, "two values at the top fail");
	w = mr_jw_new(a);
	for (i = 0; i <= MR_JSON_DEPTH; i++)
		mr_jw_open(w, NULL, '[');
	for (i = 0; i <= MR_JSON_DEPTH; i++)
		mr_jw_close(w, ']');
	ok(text(w) == NULL, "deeper than MR_JSON_DEPTH fails");
	w = mr_jw_new(a);
	for (i = 0; i < MR_JSON_DEPTH; i++)
		mr_jw_open(w, NULL, '[');
	for (i = 0; i < MR_JSON_DEPTH; i++)
		mr_jw_close(w, ']');
	ok(text(w) != NULL, "MR_JSON_DEPTH deep is written");

	/* A large text: buffers grow and keep every byte. */
	w = mr_jw_new(a);
	mr_jw_open(w, NULL, '{');
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		mr_jw_str(w, key, hostile);
	}
	mr_jw_close(w, '}');
	o = (s = text(w)) != NULL ? parse(a, s, &e) : NULL;
	ok(o != NULL && json_object_object_length(o) == 5000 &&
	    mr_json_get_str(o, "k4999", 100, &s, &e) == 1 &&
	    strcmp(s, hostile) == 0, "5,000 members, the last intact");
}

int
main(void)
{
	static const char *const allowed[] = { "a", "b", NULL };
	struct mr_arena		*a = mr_arena_new(1 << 24);
	struct mr_err		 e;
	struct json_object	*o;
	struct mr_lk_egress	 eg;
	const char		*s;
	int64_t			 n;
	int			 bo;
	char			 deep[200];

	o = parse(a, "{\"a\":\"x\",\"b\":2}", &e);
	ok(o != NULL, "an object parses");
	ok(mr_json_check_keys(o, allowed, &e) == 0, "known keys pass");
	ok(mr_json_get_str(o, "a", 10, &s, &e) == 1 && strcmp(s, "x") == 0,
	    "string getter");
	ok(mr_json_get_int(o, "b", 0, 5, &n, &e) == 1 && n == 2, "int getter");
	ok(mr_json_get_int(o, "b", 3, 5, &n, &e) == -1 &&
	    strstr(e.detail, "'b'") != NULL, "int bounds name the field");
	ok(mr_json_get_str(o, "b", 10, &s, &e) == -1 &&
	    strcmp(e.code, "invalid_field") == 0, "wrong type refused");
	ok(mr_json_get_bool(o, "a", &bo, &e) == -1, "string is not a bool");
	ok(mr_json_get_str(o, "zz", 10, &s, &e) == 0, "absent is 0");
	ok(mr_json_get_str(o, "a", 0, &s, &e) == -1, "over-long refused");

	o = parse(a, "{\"a\":1,\"c\":2}", &e);
	ok(o != NULL && mr_json_check_keys(o, allowed, &e) == -1 &&
	    strcmp(e.code, "unknown_field") == 0 &&
	    strstr(e.detail, "'c'") != NULL, "unknown key named");

	ok(parse(a, "{\"a\":1} x", &e) == NULL &&
	    strcmp(e.code, "invalid_json") == 0, "trailing bytes refused");
	ok(parse(a, "{\"a\":1}  \n", &e) != NULL, "trailing space allowed");
	ok(parse(a, "{\"a\":", &e) == NULL, "truncated refused");
	ok(parse(a, "", &e) == NULL, "empty refused");
	ok(parse(a, "[1,2]", &e) == NULL && e.status == 422,
	    "non-object is 422");
	ok(parse(a, "{'a':1}", &e) == NULL, "single quotes refused (strict)");
	ok(parse(a, "null", &e) == NULL && e.status == 422,
	    "null is not an object: %d %s", e.status, e.detail);
	ok(parse(a, "{\"a\":NaN}", &e) == NULL && e.status == 400,
	    "NaN refused");
	ok(parse(a, "{\"a\":-Infinity}", &e) == NULL, "Infinity refused");
	ok(parse(a, "{\"a\":[1e5,2.5E-3,true,false,null]}", &e) != NULL,
	    "exponents and literals pass the word check");
	ok(parse(a, "{\"a\":\"it's NaN\"}", &e) != NULL,
	    "quotes and words inside strings are fine");
	ok(parse(a, "{\"a\":\"\xff\"}", &e) == NULL, "bad UTF-8 refused");
	memset(deep, '[', 100);
	deep[0] = '{';
	deep[1] = '"';
	deep[2] = 'a';
	deep[3] = '"';
	deep[4] = ':';
	deep[100] = '\0';
	ok(parse(a, deep, &e) == NULL && strstr(e.detail, "deeply") != NULL,
	    "deep nesting refused: %s", e.detail);
	o = parse(a, "{\"a\":\"x\\u0000y\"}", &e);
	ok(o != NULL && mr_json_get_str(o, "a", 10, &s, &e) == -1,
	    "embedded NUL refused");

	/* LiveKit: snake_case from the server, camelCase from webhooks. */
	o = parse(a, "{\"egress_id\":\"EG_1\",\"status\":\"EGRESS_COMPLETE\","
	    "\"updated_at\":\"1767000600000000000\",\"file_results\":[{"
	    "\"filename\":\"/s/x.mp4\",\"size\":\"123\",\"duration\":\"5\","
	    "\"location\":\"/s/x.mp4\"}]}", &e);
	ok(mr_lk_egress_parse(o, &eg) == 0 && strcmp(eg.egress_id, "EG_1") == 0
	    && eg.status == MR_LK_COMPLETE && eg.size == 123 &&
	    eg.updated_at == 1767000600000000000LL && eg.has_file,
	    "snake_case EgressInfo");
	o = parse(a, "{\"egressId\":\"EG_2\",\"fileResults\":[{\"size\":456,"
	    "\"location\":\"/s/y.mp4\"}]}", &e);
	ok(mr_lk_egress_parse(o, &eg) == 0 && eg.status == MR_LK_STARTING &&
	    eg.size == 456, "camelCase, absent status is STARTING");
	o = parse(a, "{\"egressId\":\"EG_3\",\"status\":6}", &e);
	ok(mr_lk_egress_parse(o, &eg) == 0 &&
	    eg.status == MR_LK_LIMIT_REACHED, "numeric enum");
	o = parse(a, "{\"egressId\":\"EG_3\",\"status\":\"EGRESS_NEW\"}", &e);
	ok(mr_lk_egress_parse(o, &eg) == 0 && eg.status == MR_LK_UNKNOWN,
	    "unknown enum name is unknown, not an error");
	o = parse(a, "{\"egressId\":\"EG_4\",\"updatedAt\":\"12x\"}", &e);
	ok(mr_lk_egress_parse(o, &eg) == -1, "malformed int64 string refused");
	o = parse(a, "{\"status\":\"EGRESS_ACTIVE\"}", &e);
	ok(mr_lk_egress_parse(o, &eg) == -1, "no egress id refused");
	ok(mr_json_lk_int64(o, "nope", NULL, &n) == 0, "absent int64 is 0");

	writer(a);
	mr_arena_free(a);
	return done_testing();
}
