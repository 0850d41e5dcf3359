/* SPDX-License-Identifier: ISC */
/*
 * fuzz-webhook.c - libFuzzer target for LiveKit webhooks.  The input is
 * "token\nbody": the token and body are checked as the webhook handler
 * does.  When the first byte is even the harness signs the body itself
 * (correct sha256 claim and HMAC), so the event parser behind the
 * signature check is fuzzed as well: the egress info, and the room and
 * participant of room events.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mr.h"
#include "json.h"
#include "jwt.h"
#include "livekit.h"

#define KEY	"fuzzkey"
#define SECRET	"fuzz-webhook-secret-0123456789ab"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
sign(struct mr_arena *a, const char *body, size_t len)
{
	struct json_object	*p = json_object_new_object();
	unsigned char		 d[MR_SHA256_LEN];
	char			*tok;

	mr_sha256(body, len, d);
	json_object_object_add(p, "iss", json_object_new_string(KEY));
	json_object_object_add(p, "exp", json_object_new_int64(mr_now() + 60));
	json_object_object_add(p, "sha256",
	    json_object_new_string(mr_b64_encode(a, d, sizeof(d))));
	tok = mr_jwt_sign_hs256(a, p, (const unsigned char *)SECRET,
	    strlen(SECRET));
	json_object_put(p);
	return tok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mr_arena	*a;
	const struct mr_lk	 lk = { "http://127.0.0.1:1", KEY, SECRET, 1000 };
	struct json_object	*ev;
	struct mr_lk_egress	 eg;
	struct mr_lk_participant pa;
	struct mr_lk_room	 rm;
	struct mr_err		 err;
	const char		*nl, *body, *tok;
	size_t			 blen;

	if (size < 1 || (a == NULL && (a = mr_arena_new(64 << 20)) == NULL))
		return 0;
	nl = memchr(data + 1, '\n', size - 1);
	if (nl == NULL)
		return 0;
	body = nl + 1;
	blen = size - (size_t)(body - (const char *)data);
	if ((data[0] & 1) == 0)
		tok = sign(a, body, blen);
	else
		tok = mr_strndup(a, (const char *)data + 1,
		    (size_t)(nl - (const char *)data - 1));
	mr_err_clear(&err);
	if (tok != NULL && mr_lk_webhook_verify(&lk, a, tok, body, blen, 60,
	    &err) == 0) {
		ev = mr_json_parse(a, body, blen, &err);
		if (ev != NULL) {
			mr_lk_egress_parse(mr_json_get2(ev, "egressInfo",
			    "egress_info"), &eg);
			mr_lk_participant_parse(mr_json_get2(ev,
			    "participant", "participant"), &pa);
			mr_lk_room_parse(mr_json_get2(ev, "room", "room"),
			    &rm);
		}
	}
	mr_arena_reset(a);
	return 0;
}
