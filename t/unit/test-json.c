/* SPDX-License-Identifier: ISC */
/*
 * test-json.c - strict bounded parsing, typed getters and LiveKit's two
 * spellings.
 */
#include "config.h"

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

	mr_arena_free(a);
	return done_testing();
}
