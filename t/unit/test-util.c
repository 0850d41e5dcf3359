/* SPDX-License-Identifier: ISC */
/*
 * test-util.c - arena, buffer, error and small helpers.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mr.h"
#include "tap.h"

static int deferred;

static void
count(void *arg)
{
	deferred += *(int *)arg;
}

int
main(void)
{
	struct mr_arena	*a;
	struct mr_buf	 b;
	struct mr_err	 e;
	int64_t		 v;
	int		 one = 1, ten = 10;
	char		*p, small[4], long_s[601];

	a = mr_arena_new(1 << 20);
	ok(a != NULL, "arena created");
	p = mr_printf(a, "%s-%d", "x", 42);
	is_str(p, "x-42", "mr_printf");
	ok(mr_alloc(a, 2 << 20) == NULL, "allocation over the cap fails");
	ok(mr_alloc(a, SIZE_MAX) == NULL, "SIZE_MAX allocation fails");
	ok(mr_calloc(a, SIZE_MAX / 2, 4) == NULL, "calloc overflow fails");
	for (int i = 0; i < 1000; i++)
		if (mr_alloc(a, 900) == NULL)
			break;
	ok(mr_arena_used(a) > 800000, "many allocations fit under the cap");
	ok(mr_alloc(a, 300000) == NULL, "the cap counts what was used");
	mr_arena_defer(a, count, &one);
	mr_arena_defer(a, count, &ten);
	mr_arena_reset(a);
	is_int(deferred, 11, "deferred callbacks run at reset");
	is_int((long long)mr_arena_used(a), 0, "reset frees everything");
	ok(mr_alloc(a, 1000) != NULL, "arena usable after reset");
	mr_arena_free(a);

	mr_buf_init(&b, 8);
	ok(mr_buf_adds(&b, "12345678") == 0, "buffer fills up to its cap");
	ok(mr_buf_adds(&b, "9") == -1, "one byte past the cap fails");
	is_str(b.data, "12345678", "a failed append changes nothing");
	mr_buf_reset(&b);
	ok(mr_buf_addf(&b, "%d", 123456789) == -1, "addf past the cap fails");
	mr_buf_free(&b);

	mr_err_clear(&e);
	ok(mr_err_set(&e, 409, "conflict", "room %s", "r1") == -1,
	    "mr_err_set returns -1");
	is_str(e.detail, "room r1", "detail formatted");
	mr_err_cause(&e, "inner");
	mr_err_cause(&e, "outer");
	is_str(e.cause, "outer: inner", "causes read outer to inner");

	a = mr_arena_new(1 << 20);
	memset(long_s, 'a', 600);
	long_s[600] = '\0';
	is_str(mr_utf8_clip(a, "agent/1.0 (\xc3\xa9)", 512),
	    "agent/1.0 (\xc3\xa9)", "clip: valid and short is kept");
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 512, "clip: 600 to 512");
	memcpy(long_s + 511, "\xc3\xa9", 3);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 511,
	    "clip: a character across the limit is left out whole");
	memcpy(long_s + 510, "\xc3\xa9", 3);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 512,
	    "clip: a character ending at the limit stays");
	memcpy(long_s + 509, "\xf0\x9f\x8e\xa5", 5);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 509,
	    "clip: four bytes across the limit are left out");
	is_str(mr_utf8_clip(a, "a\xff" "b", 512), "a?b", "clip: a stray byte");
	is_str(mr_utf8_clip(a, "\xc0\xaf", 512), "??", "clip: overlong");
	is_str(mr_utf8_clip(a, "\xed\xa0\x80", 512), "???",
	    "clip: a surrogate");
	is_str(mr_utf8_clip(a, "\xf4\x90\x80\x80", 512), "????",
	    "clip: past U+10FFFF");
	is_str(mr_utf8_clip(a, "x\xe2\x82", 512), "x??",
	    "clip: a sequence cut short");
	is_str(mr_utf8_clip(a, "\xe2\x82\xac", 2), "",
	    "clip: nothing when the first character does not fit");
	is_str(mr_utf8_clip(a, "ab\xff", 3), "ab?",
	    "clip: a replaced byte counts one");
	mr_arena_free(a);

	ok(mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcd"), "uuid ok");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abc"), "short");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcdx"), "long");
	ok(!mr_uuid_valid("0eea86ffXdc4d-4461-97cd-b96f1a85abcd"), "dash");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcg"), "hex");
	ok(!mr_uuid_valid(NULL), "NULL uuid");

	ok(mr_parse_int64("42", 0, 100, &v) == 0 && v == 42, "int ok");
	ok(mr_parse_int64("-5", -10, 10, &v) == 0 && v == -5, "negative");
	ok(mr_parse_int64(" 4", 0, 100, &v) == -1, "leading space refused");
	ok(mr_parse_int64("4x", 0, 100, &v) == -1, "trailing byte refused");
	ok(mr_parse_int64("+4", 0, 100, &v) == -1, "plus refused");
	ok(mr_parse_int64("101", 0, 100, &v) == -1, "above max refused");
	ok(mr_parse_int64("99999999999999999999", INT64_MIN, INT64_MAX, &v)
	    == -1, "overflow refused");
	ok(mr_parse_int64("", 0, 1, &v) == -1, "empty refused");

	ok(mr_room_code_valid("abc_D-9"), "room code ok");
	ok(!mr_room_code_valid(""), "empty room code");
	ok(!mr_room_code_valid("a b"), "space in room code");
	ok(!mr_room_code_valid("a/b"), "slash in room code");
	ok(mr_room_code_valid("01234567890123456789012345678901234567890123"
	    "456789"), "50 characters");
	ok(!mr_room_code_valid("01234567890123456789012345678901234567890123"
	    "4567890"), "51 characters");

	ok(mr_strlcpy(small, "abc", sizeof(small)) == 0, "strlcpy fits");
	ok(mr_strlcpy(small, "abcd", sizeof(small)) == -1 &&
	    strcmp(small, "abc") == 0, "strlcpy truncates and says so");
	return done_testing();
}
