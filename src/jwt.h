/* SPDX-License-Identifier: ISC */
/*
 * jwt.h - compact JWS (JWT) verification and HS256 signing with OpenSSL.
 * Used for client bearer tokens (HS256, RS256, ES256), for LiveKit API
 * tokens (HS256 signing) and for LiveKit webhook tokens (HS256 verify).
 */
#ifndef MR_JWT_H
#define MR_JWT_H

#include <stdint.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "mr.h"

#define MR_JWT_MAX	8192	/* longest token accepted, in bytes */

struct mr_jwt_verifier {
	const unsigned char	*secret;	/* HS256 key, NULL = no HS256 */
	size_t			 secretlen;
	EVP_PKEY		*pubkey;	/* RS256/ES256 key or NULL */
	int64_t			 leeway;	/* seconds, exp/nbf/iat */
	const char		*issuer;	/* required iss, or NULL */
	const char		*audience;	/* required aud, or NULL */
};

/*
 * Verify token (len bytes, no "Bearer " prefix) at time now (Unix
 * seconds).  The signature must match the alg in the header, which must be
 * HS256 with v->secret set, or RS256/ES256 matching the type of
 * v->pubkey; "none" and every other alg are refused.  exp is required
 * and must not have passed; nbf and iat are optional, and must not lie
 * in the future ("not valid yet", "issued in the future"); each by more
 * than v->leeway.  All three must be numbers when present.  iss and aud
 * are checked when the verifier names them.  On success *claims is the
 * payload object, owned by arena a (released at reset); returns 0.  On
 * failure returns -1 with err set to 401 "invalid_token" and a detail
 * saying why.  Does not block.
 */
int	 mr_jwt_verify(struct mr_arena *a, const char *token, size_t len,
	    const struct mr_jwt_verifier *v, int64_t now,
	    struct json_object **claims, struct mr_err *err);

/*
 * Sign payload as an HS256 JWT with header {"alg":"HS256","typ":"JWT"}.
 * Returns the token in arena a, or NULL on failure.
 */
char	*mr_jwt_sign_hs256(struct mr_arena *a, struct json_object *payload,
	    const unsigned char *secret, size_t secretlen);

/*
 * Load a PEM public key (RSA or EC P-256) from path.  Returns a key the
 * caller frees with EVP_PKEY_free(), or NULL with err set.
 */
EVP_PKEY *mr_jwt_load_pubkey(const char *path, struct mr_err *err);

#endif /* MR_JWT_H */
