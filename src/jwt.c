/* SPDX-License-Identifier: ISC */
/*
 * jwt.c - compact JWS (JWT) verification for HS256, RS256 and ES256, and
 * HS256 signing.  This is not a general JOSE library: no JWE, no JWK, no
 * unencoded payloads, no "kid" lookup.  The algorithm is chosen by what
 * the verifier holds (a secret, an RSA key or a P-256 key) and the header
 * may only name that algorithm, so a token cannot pick how it is checked.
 *
 * Order of work: split, decode and parse the header, check the signature,
 * and only then decode and parse the payload, so unauthenticated claims
 * never reach the JSON parser.
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mr.h"
#include "jwt.h"

#define JSON_DEPTH	16	/* JWT headers and claims are shallow */
#define ES256_SIGLEN	64	/* raw R || S, RFC 7518 3.4 */
#define RSA_MIN_BITS	2048	/* RFC 7518 3.3 */

enum alg {
	ALG_NONE,		/* never accepted; keeps the switch total */
	ALG_HS256,
	ALG_RS256,
	ALG_ES256
};

static void	 json_put(void *);
static int	 invalid(struct mr_err *, const char *);
static int	 internal(struct mr_err *, const char *);
static void	 ssl_cause(struct mr_err *, const char *);
static int	 str_is(struct json_object *, const char *);
static int	 parse_object(struct mr_arena *, const char *, size_t,
		    struct json_object **);
static int	 is_p256(EVP_PKEY *);
static int	 header_alg(struct json_object *,
		    const struct mr_jwt_verifier *, enum alg *,
		    struct mr_err *);
static int	 verify_hs256(const struct mr_jwt_verifier *, const char *,
		    size_t, const unsigned char *, size_t, struct mr_err *);
static int	 verify_pkey(EVP_PKEY *, const char *, size_t,
		    const unsigned char *, size_t, struct mr_err *);
static int	 es256_to_der(const unsigned char *, unsigned char *, size_t,
		    size_t *);
static int	 num_claim(struct json_object *, const char *, int, int,
		    int64_t *, int *, struct mr_err *);
static int64_t	 sat_add(int64_t, int64_t);
static int	 check_claims(struct json_object *,
		    const struct mr_jwt_verifier *, int64_t, struct mr_err *);

/*
 * Deferred release of a parsed root.  A wrapper rather than a cast of
 * json_object_put: calling through a mismatched function type is
 * undefined and -Wcast-function-type (in -Wextra) rejects it.
 */
static void
json_put(void *o)
{
	json_object_put(o);
}

static int
invalid(struct mr_err *err, const char *detail)
{
	return (mr_err_set(err, 401, "invalid_token", "%s", detail));
}

/* Arena exhaustion or a libcrypto failure is our fault, not the token's. */
static int
internal(struct mr_err *err, const char *what)
{
	mr_err_set(err, 500, "internal", "The token could not be checked.");
	mr_err_cause(err, "jwt: %s", what);
	return (-1);
}

/* Move the first queued OpenSSL error into the log-only cause, then clear. */
static void
ssl_cause(struct mr_err *err, const char *what)
{
	char		buf[256];
	unsigned long	e;

	if ((e = ERR_peek_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		mr_err_cause(err, "%s: %s", what, buf);
	}
	ERR_clear_error();
}

/*
 * Exact string match.  Comparing lengths as well matters: json-c strings
 * may hold "\u0000", and "HS256\u0000x" must not pass as "HS256".
 */
static int
str_is(struct json_object *o, const char *want)
{
	size_t	n;

	if (o == NULL || !json_object_is_type(o, json_type_string))
		return (0);
	n = strlen(want);
	return ((size_t)json_object_get_string_len(o) == n &&
	    memcmp(json_object_get_string(o), want, n) == 0);
}

/*
 * Parse len bytes as one strict JSON object using all of the input.  The
 * root is handed to arena a.  Returns 0, -1 if the bytes are not such an
 * object, or -2 if the arena could not take the root.
 */
static int
parse_object(struct mr_arena *a, const char *s, size_t len,
    struct json_object **out)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*o = NULL;
	int			 rc = -1;

	*out = NULL;
	if (len > INT32_MAX)
		goto fail;
	if ((tok = json_tokener_new_ex(JSON_DEPTH)) == NULL) {
		rc = -2;
		goto fail;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object))
		goto fail;
	json_tokener_free(tok);
	tok = NULL;
	/* On failure mr_arena_defer() has already released o. */
	if (mr_arena_defer(a, json_put, o) == -1) {
		o = NULL;
		rc = -2;
		goto fail;
	}
	*out = o;
	return (0);

fail:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return (rc);
}

static int
is_p256(EVP_PKEY *pk)
{
	char	name[64];
	size_t	n = 0;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return (0);
	if (EVP_PKEY_get_group_name(pk, name, sizeof(name), &n) != 1) {
		ERR_clear_error();
		return (0);
	}
	return (strcmp(name, SN_X9_62_prime256v1) == 0);
}

/*
 * Pick the algorithm.  The header must name exactly the one the verifier
 * can do with the key material it holds: HS256 only with a secret, so an
 * RSA public key can never be used as an HMAC key (the RS256/HS256
 * confusion attack), and RS256/ES256 only with a public key of that type.
 */
static int
header_alg(struct json_object *hdr, const struct mr_jwt_verifier *v,
    enum alg *alg, struct mr_err *err)
{
	struct json_object	*o;

	/* RFC 7515 4.1.11: unknown critical extensions must be refused. */
	if (json_object_object_get_ex(hdr, "crit", NULL))
		return (invalid(err,
		    "The token uses an unsupported critical header."));
	if (!json_object_object_get_ex(hdr, "alg", &o))
		return (invalid(err, "The token algorithm is not allowed."));

	if (str_is(o, "HS256") && v->secret != NULL && v->secretlen > 0) {
		*alg = ALG_HS256;
		return (0);
	}
	if (str_is(o, "RS256") && v->pubkey != NULL &&
	    EVP_PKEY_get_base_id(v->pubkey) == EVP_PKEY_RSA) {
		*alg = ALG_RS256;
		return (0);
	}
	if (str_is(o, "ES256") && v->pubkey != NULL && is_p256(v->pubkey)) {
		*alg = ALG_ES256;
		return (0);
	}
	return (invalid(err, "The token algorithm is not allowed."));
}

static int
verify_hs256(const struct mr_jwt_verifier *v, const char *input,
    size_t inputlen, const unsigned char *sig, size_t siglen,
    struct mr_err *err)
{
	unsigned char	mac[MR_SHA256_LEN];

	if (mr_hmac_sha256(v->secret, v->secretlen, input, inputlen,
	    mac) == -1) {
		ssl_cause(err, "HMAC");
		return (internal(err, "HMAC-SHA256 failed"));
	}
	/* The length is public (always 32), only the bytes need hiding. */
	if (siglen != sizeof(mac) ||
	    CRYPTO_memcmp(mac, sig, sizeof(mac)) != 0)
		return (invalid(err, "The token signature is invalid."));
	return (0);
}

/*
 * JWS ES256 carries R and S as two 32-byte big-endian integers, libcrypto
 * wants a DER ECDSA-Sig-Value.  Writes at most outsize bytes to out.
 */
static int
es256_to_der(const unsigned char *raw, unsigned char *out, size_t outsize,
    size_t *outlen)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*p;
	int		 n;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, ES256_SIGLEN / 2, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + ES256_SIGLEN / 2, ES256_SIGLEN / 2,
	    NULL)) == NULL)
		goto fail;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto fail;
	r = s = NULL;		/* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)n > outsize)
		goto fail;
	p = out;
	if (i2d_ECDSA_SIG(es, &p) != n)
		goto fail;
	*outlen = (size_t)n;
	ECDSA_SIG_free(es);
	return (0);

fail:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return (-1);
}

/* SHA-256 signature check for RSA PKCS#1 v1.5 or ECDSA (DER) keys. */
static int
verify_pkey(EVP_PKEY *pk, const char *input, size_t inputlen,
    const unsigned char *sig, size_t siglen, struct mr_err *err)
{
	EVP_MD_CTX	*md = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	int		 rc;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pk,
	    NULL) != 1)
		goto fail;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto fail;
	rc = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input,
	    inputlen);
	EVP_MD_CTX_free(md);
	/* A malformed signature may give -1 rather than 0; both are "no". */
	ERR_clear_error();
	if (rc != 1)
		return (invalid(err, "The token signature is invalid."));
	return (0);

fail:
	ssl_cause(err, "EVP_DigestVerifyInit");
	EVP_MD_CTX_free(md);
	return (internal(err, "could not set up signature check"));
}

/*
 * Fetch an optional NumericDate claim.  Sets *present and *val; a double
 * is rounded down (round_up == 0) or up, which keeps integer comparisons
 * against now exact, and is clamped to the int64 range.
 */
static int
num_claim(struct json_object *claims, const char *name, int round_up,
    int required, int64_t *val, int *present, struct mr_err *err)
{
	struct json_object	*o;
	double			 d;

	*present = 0;
	*val = 0;
	if (!json_object_object_get_ex(claims, name, &o) || o == NULL) {
		if (required)
			return (mr_err_set(err, 401, "invalid_token",
			    "The token has no %s claim.", name));
		return (0);
	}
	switch (json_object_get_type(o)) {
	case json_type_int:
		/* json-c clamps out-of-range values to INT64_MIN/MAX. */
		*val = json_object_get_int64(o);
		break;
	case json_type_double:
		d = json_object_get_double(o);
		if (!isfinite(d))
			goto bad;
		/* Clamp, then floor or ceil by hand to stay off libm. */
		if (d >= 9223372036854775807.0) {
			*val = INT64_MAX;
		} else if (d <= -9223372036854775808.0) {
			*val = INT64_MIN;
		} else {
			*val = (int64_t)d;	/* truncates toward zero */
			if (!round_up && (double)*val > d)
				(*val)--;
			else if (round_up && (double)*val < d)
				(*val)++;
		}
		break;
	default:
		goto bad;
	}
	*present = 1;
	return (0);

bad:
	return (mr_err_set(err, 401, "invalid_token",
	    "The token %s claim is not a number.", name));
}

static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return (INT64_MAX);
	if (b < 0 && a < INT64_MIN - b)
		return (INT64_MIN);
	return (a + b);
}

static int
check_claims(struct json_object *claims, const struct mr_jwt_verifier *v,
    int64_t now, struct mr_err *err)
{
	struct json_object	*o, *e;
	int64_t			 exp, nbf, iat, leeway;
	size_t			 i, n;
	int			 have, found;

	/* A negative leeway would only be a configuration slip. */
	leeway = v->leeway > 0 ? v->leeway : 0;

	if (num_claim(claims, "exp", 0, 1, &exp, &have, err) == -1)
		return (-1);
	if (now > sat_add(exp, leeway))
		return (invalid(err, "The token has expired."));

	if (num_claim(claims, "nbf", 1, 0, &nbf, &have, err) == -1)
		return (-1);
	if (have && sat_add(now, leeway) < nbf)
		return (invalid(err, "The token is not valid yet."));

	/* Rounded up like nbf: a fraction past now is in the future. */
	if (num_claim(claims, "iat", 1, 0, &iat, &have, err) == -1)
		return (-1);
	if (have && sat_add(now, leeway) < iat)
		return (invalid(err, "The token was issued in the future."));

	if (v->issuer != NULL) {
		if (!json_object_object_get_ex(claims, "iss", &o) ||
		    !str_is(o, v->issuer))
			return (invalid(err,
			    "The token issuer is not accepted."));
	}

	if (v->audience != NULL) {
		found = 0;
		if (!json_object_object_get_ex(claims, "aud", &o) || o == NULL)
			return (invalid(err,
			    "The token audience is not accepted."));
		if (json_object_is_type(o, json_type_string)) {
			found = str_is(o, v->audience);
		} else if (json_object_is_type(o, json_type_array)) {
			n = json_object_array_length(o);
			for (i = 0; i < n; i++) {
				e = json_object_array_get_idx(o, i);
				if (!json_object_is_type(e, json_type_string))
					return (invalid(err, "The token "
					    "audience is malformed."));
				if (str_is(e, v->audience))
					found = 1;
			}
		} else
			return (invalid(err,
			    "The token audience is malformed."));
		if (!found)
			return (invalid(err,
			    "The token audience is not accepted."));
	}
	return (0);
}

/*
 * Verify a compact JWS; see jwt.h for the contract.  Every refusal is 401
 * "invalid_token"; only arena exhaustion and libcrypto failures give 500.
 */
int
mr_jwt_verify(struct mr_arena *a, const char *token, size_t len,
    const struct mr_jwt_verifier *v, int64_t now,
    struct json_object **claims, struct mr_err *err)
{
	struct json_object	*hdr = NULL, *body = NULL;
	const char		*d1, *d2, *p, *s;
	unsigned char		*hbuf, *pbuf, *sig;
	unsigned char		 der[80];
	size_t			 hlen, plen, slen, siglen, derlen;
	enum alg		 alg = ALG_NONE;
	int			 rc;

	if (claims != NULL)
		*claims = NULL;
	if (token == NULL || len == 0)
		return (invalid(err, "The token is malformed."));
	if (len > MR_JWT_MAX)
		return (invalid(err, "The token is too long."));

	/* Exactly three segments: header.payload.signature. */
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ==
	    NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return (invalid(err, "The token is malformed."));
	hlen = (size_t)(d1 - token);
	p = d1 + 1;
	plen = (size_t)(d2 - p);
	s = d2 + 1;
	slen = len - (size_t)(s - token);
	/*
	 * An empty signature is let through to fail its check below, so
	 * that "alg":"none" tokens get the algorithm error, which is the
	 * more useful one to log.
	 */
	if (hlen == 0 || plen == 0)
		return (invalid(err, "The token is malformed."));

	if (mr_b64url_decode(a, token, hlen, &hbuf, &hlen) == -1 ||
	    mr_b64url_decode(a, s, slen, &sig, &siglen) == -1)
		return (invalid(err, "The token is malformed."));
	if ((rc = parse_object(a, (const char *)hbuf, hlen, &hdr)) != 0) {
		if (rc == -2)
			return (internal(err, "arena full parsing header"));
		return (invalid(err, "The token header is malformed."));
	}
	if (header_alg(hdr, v, &alg, err) == -1)
		return (-1);

	/* The signing input is the two encoded segments, as sent. */
	switch (alg) {
	case ALG_NONE:
		return (invalid(err, "The token algorithm is not allowed."));
	case ALG_HS256:
		if (verify_hs256(v, token, (size_t)(d2 - token), sig, siglen,
		    err) == -1)
			return (-1);
		break;
	case ALG_RS256:
		if (verify_pkey(v->pubkey, token, (size_t)(d2 - token), sig,
		    siglen, err) == -1)
			return (-1);
		break;
	case ALG_ES256:
		if (siglen != ES256_SIGLEN)
			return (invalid(err,
			    "The token signature is invalid."));
		if (es256_to_der(sig, der, sizeof(der), &derlen) == -1) {
			ssl_cause(err, "ECDSA_SIG");
			return (internal(err, "could not encode signature"));
		}
		if (verify_pkey(v->pubkey, token, (size_t)(d2 - token), der,
		    derlen, err) == -1)
			return (-1);
		break;
	}

	if (mr_b64url_decode(a, p, plen, &pbuf, &plen) == -1)
		return (invalid(err, "The token is malformed."));
	if ((rc = parse_object(a, (const char *)pbuf, plen, &body)) != 0) {
		if (rc == -2)
			return (internal(err, "arena full parsing claims"));
		return (invalid(err, "The token claims are malformed."));
	}
	if (check_claims(body, v, now, err) == -1)
		return (-1);

	if (claims != NULL)
		*claims = body;
	return (0);
}

/*
 * Sign payload (a JSON object, not consumed) as an HS256 JWT; see jwt.h.
 * The token is in arena a.  Returns NULL if payload is not an object, the
 * secret is empty, or the arena is full.
 */
char *
mr_jwt_sign_hs256(struct mr_arena *a, struct json_object *payload,
    const unsigned char *secret, size_t secretlen)
{
	/* Fixed by the contract in jwt.h; no kid, no extra members. */
	static const char	 hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char		 mac[MR_SHA256_LEN];
	const char		*js;
	char			*h, *p, *input, *sig;

	if (payload == NULL ||
	    !json_object_is_type(payload, json_type_object) ||
	    secret == NULL || secretlen == 0)
		return (NULL);
	if ((js = json_object_to_json_string_ext(payload,
	    JSON_C_TO_STRING_PLAIN)) == NULL)
		return (NULL);
	if ((h = mr_b64url_encode(a, hdr, sizeof(hdr) - 1)) == NULL ||
	    (p = mr_b64url_encode(a, js, strlen(js))) == NULL ||
	    (input = mr_printf(a, "%s.%s", h, p)) == NULL)
		return (NULL);
	if (mr_hmac_sha256(secret, secretlen, input, strlen(input),
	    mac) == -1) {
		ERR_clear_error();
		return (NULL);
	}
	if ((sig = mr_b64url_encode(a, mac, sizeof(mac))) == NULL)
		return (NULL);
	return (mr_printf(a, "%s.%s", input, sig));
}

/*
 * Read a PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") from path.  Only
 * RSA keys of at least 2048 bits and EC keys on P-256 are accepted.
 * Returns a key the caller frees with EVP_PKEY_free(), or NULL with err
 * set to 500 "config".
 */
EVP_PKEY *
mr_jwt_load_pubkey(const char *path, struct mr_err *err)
{
	FILE		*fp = NULL;
	EVP_PKEY	*pk = NULL;
	int		 saved, id;

	if ((fp = fopen(path, "r")) == NULL) {
		saved = errno;
		mr_err_set(err, 500, "config",
		    "The token public key could not be read.");
		mr_err_cause(err, "could not open '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	if ((pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL)) == NULL) {
		mr_err_set(err, 500, "config",
		    "The token public key could not be read.");
		mr_err_cause(err, "'%s' holds no PEM public key", path);
		ssl_cause(err, "PEM_read_PUBKEY");
		goto fail;
	}
	id = EVP_PKEY_get_base_id(pk);
	if (id == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(pk) < RSA_MIN_BITS) {
			mr_err_set(err, 500, "config",
			    "The token public key is too short.");
			mr_err_cause(err, "'%s': RSA key of %d bits, need %d",
			    path, EVP_PKEY_get_bits(pk), RSA_MIN_BITS);
			goto fail;
		}
	} else if (!is_p256(pk)) {
		mr_err_set(err, 500, "config",
		    "The token public key type is not supported.");
		mr_err_cause(err, "'%s': key is neither RSA nor EC P-256",
		    path);
		goto fail;
	}
	fclose(fp);
	return (pk);

fail:
	EVP_PKEY_free(pk);
	if (fp != NULL)
		fclose(fp);
	ERR_clear_error();
	return (NULL);
}
