/* SPDX-License-Identifier: ISC */
/*
 * fuzz-jwt.c - libFuzzer target for mr_jwt_verify().  A random token
 * almost never carries a valid HMAC, so on its own the fuzzer would stop
 * at the signature check and never reach the payload decoder or the claim
 * checks.  The first input byte therefore picks a mode: odd, the rest is
 * the token as is; even, the rest is "header.payload" and the harness
 * appends the correct HS256 signature, so everything past the signature
 * check is fuzzed too.  The verifier also holds a P-256 key so the RS256
 * and ES256 dispatch and the R||S to DER conversion are reached.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "mr.h"
#include "jwt.h"

#define SECRET	"fuzz-secret-0123456789abcdef0123"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct mr_arena		*arena;
static struct mr_jwt_verifier	 verifier;

static int
setup(void)
{
	if ((arena = mr_arena_new(1 << 20)) == NULL)
		return (-1);
	verifier.secret = (const unsigned char *)SECRET;
	verifier.secretlen = strlen(SECRET);
	verifier.leeway = 60;
	verifier.issuer = "fuzz";
	verifier.audience = "meetrec";
	/* Kept for the life of the process; reachable, so not a leak. */
	verifier.pubkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return (verifier.pubkey == NULL ? -1 : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*claims;
	struct mr_err		 err;
	unsigned char		 mac[MR_SHA256_LEN];
	const char		*tok;
	char			*sig, *buf;
	size_t			 len;

	if (arena == NULL && setup() == -1)
		abort();
	if (size == 0)
		return (0);

	tok = (const char *)data + 1;
	len = size - 1;
	if ((data[0] & 1) == 0) {
		if (mr_hmac_sha256(SECRET, strlen(SECRET), tok, len,
		    mac) == -1 ||
		    (sig = mr_b64url_encode(arena, mac, sizeof(mac))) == NULL ||
		    (buf = mr_alloc(arena, len + 1 + strlen(sig))) == NULL)
			goto out;
		memcpy(buf, tok, len);
		buf[len] = '.';
		memcpy(buf + len + 1, sig, strlen(sig));
		tok = buf;
		len += 1 + strlen(sig);
	}

	mr_err_clear(&err);
	claims = NULL;
	if (mr_jwt_verify(arena, tok, len, &verifier, 1700000000, &claims,
	    &err) == 0) {
		/* Touch the result so a dangling root would be noticed. */
		if (claims == NULL || !json_object_is_type(claims,
		    json_type_object))
			abort();
		(void)json_object_to_json_string(claims);
	} else if (err.status != 401 && err.status != 500)
		abort();
out:
	mr_arena_reset(arena);
	/* Nothing may be left on the OpenSSL error queue by the verifier. */
	if (ERR_peek_error() != 0)
		abort();
	return (0);
}
