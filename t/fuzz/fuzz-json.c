/* SPDX-License-Identifier: ISC */
/*
 * fuzz-json.c - libFuzzer target for request bodies: the strict bounded
 * parser, the unknown-field check and the typed getters the start
 * handler uses, then LiveKit's EgressInfo reader on the same object.
 */
#include "config.h"

#include <stdint.h>

#include "mr.h"
#include "json.h"
#include "livekit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"room_code", "layout", "audio_only", NULL
	};
	static struct mr_arena	*a;
	struct json_object	*o;
	struct mr_lk_egress	 eg;
	struct mr_err		 err;
	const char		*s;
	int64_t			 n;
	int			 b;

	if (a == NULL && (a = mr_arena_new(64 << 20)) == NULL)
		return 0;
	mr_err_clear(&err);
	o = mr_json_parse(a, (const char *)data, size, &err);
	if (o != NULL) {
		mr_json_check_keys(o, keys, &err);
		mr_json_get_str(o, "room_code", 64, &s, &err);
		mr_json_get_bool(o, "audio_only", &b, &err);
		mr_json_get_int(o, "limit", 1, 200, &n, &err);
		mr_lk_egress_parse(o, &eg);
		mr_lk_egress_parse(mr_json_get2(o, "egressInfo", "egress_info"),
		    &eg);
		mr_json_dump(a, o);
	}
	mr_arena_reset(a);
	return 0;
}
