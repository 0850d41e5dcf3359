/* SPDX-License-Identifier: ISC */
/*
 * test-jwt.c - jwt.c against known tokens (RFC 7515 A.1 and one made with
 * "openssl dgst -hmac"), every refusal path, the exp/nbf/iat leeway edges,
 * and RS256/ES256 with keys generated at start.  The RSA public key used
 * as an HMAC secret (the RS256/HS256 confusion attack) must be refused.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mr.h"
#include "jwt.h"
#include "tap.h"

#define NOW	INT64_C(1700000000)

/* RFC 7515 appendix A.1: HS256 with a JWK "oct" key. */
static const char rfc_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h"
    "cgUuTwjAzZr1Z9CAow";

/*
 * Made in a shell with the same secret:
 *   b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
 *   H=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64u)
 *   P=$(printf '%s' "$payload" | b64u)
 *   S=$(printf '%s' "$H.$P" | openssl dgst -sha256 -hmac "$secret" \
 *       -binary | b64u)
 */
static const char fixed_secret[] = "fixed-test-secret-0123456789abcdef";
/* {"sub":"alice","iss":"https://issuer.example","aud":["other","meetrec"],
 *  "exp":4102444800,"iat":1700000000} */
static const char fixed_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJh"
    "dWQiOlsib3RoZXIiLCJtZWV0cmVjIl0sImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNz"
    "AwMDAwMDAwfQ"
    ".6hCMOvmhJlCMFXR9yAigeSEFwZMJKBdB1FoO4lwULdc";
/* {"sub":"alice","exp":4102444800}, which json-c prints the same way. */
static const char fixed_short[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0"
    ".vLn-VrBb07p5toELkE-TOjzuICJwufMcpzsc0kJ7Z_o";

/* The client-facing details jwt.c promises. */
#define D_EXPIRED	"The token has expired."
#define D_NOTYET	"The token is not valid yet."
#define D_FUTURE	"The token was issued in the future."
#define D_BADSIG	"The token signature is invalid."
#define D_ALG	"The token algorithm is not allowed."
#define D_MALFORMED	"The token is malformed."
#define D_TOOLONG	"The token is too long."
#define D_BADHDR	"The token header is malformed."
#define D_BADCLAIMS	"The token claims are malformed."
#define D_ISS	"The token issuer is not accepted."
#define D_AUD	"The token audience is not accepted."
#define D_BADAUD	"The token audience is malformed."
#define D_CRIT	"The token uses an unsupported critical header."
#define D_NOEXP	"The token has no exp claim."
#define D_EXPNAN	"The token exp claim is not a number."
#define D_NBFNAN	"The token nbf claim is not a number."
#define D_IATNAN	"The token iat claim is not a number."

#define HS_HDR	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS_HDR	"{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define ES_HDR	"{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define SECRET	"unit-test-secret-with-enough-bytes"

static struct mr_arena	*A;
static char		 tmpdir[] = "/tmp/test-jwt.XXXXXX";

static struct mr_jwt_verifier
hs_verifier(void)
{
	struct mr_jwt_verifier	v;

	memset(&v, 0, sizeof(v));
	v.secret = (const unsigned char *)SECRET;
	v.secretlen = strlen(SECRET);
	return (v);
}

/* Join two already encoded segments and sign them with HMAC-SHA256. */
static char *
hs_seg(const char *h, const char *p, const void *key, size_t keylen)
{
	unsigned char	 mac[MR_SHA256_LEN];
	char		*in;

	if ((in = mr_printf(A, "%s.%s", h, p)) == NULL ||
	    mr_hmac_sha256(key, keylen, in, strlen(in), mac) == -1)
		return (NULL);
	return (mr_printf(A, "%s.%s", in, mr_b64url_encode(A, mac,
	    sizeof(mac))));
}

/* HS256-sign a raw header and payload (any bytes, JSON or not). */
static char *
hs(const char *hdr, const char *payload, const char *secret)
{
	return (hs_seg(mr_b64url_encode(A, hdr, strlen(hdr)),
	    mr_b64url_encode(A, payload, strlen(payload)), secret,
	    strlen(secret)));
}

/*
 * Sign with an RSA (PKCS#1 v1.5) or EC key; for EC turn the DER signature
 * into the 64-byte R || S that JWS uses, unless der is set.
 */
static char *
pk_sign(const char *hdr, const char *payload, EVP_PKEY *key, int der)
{
	EVP_MD_CTX		*md = NULL;
	ECDSA_SIG		*es = NULL;
	const BIGNUM		*r, *s;
	const unsigned char	*dp;
	unsigned char		 sig[1024], raw[64];
	size_t			 siglen = sizeof(sig);
	char			*in, *out = NULL;

	in = mr_printf(A, "%s.%s", mr_b64url_encode(A, hdr, strlen(hdr)),
	    mr_b64url_encode(A, payload, strlen(payload)));
	if (in == NULL || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key,
	    NULL) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)in,
	    strlen(in)) != 1)
		goto done;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && !der) {
		dp = sig;
		if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)siglen)) == NULL)
			goto done;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, raw, 32) != 32 ||
		    BN_bn2binpad(s, raw + 32, 32) != 32)
			goto done;
		out = mr_printf(A, "%s.%s", in, mr_b64url_encode(A, raw, 64));
	} else
		out = mr_printf(A, "%s.%s", in,
		    mr_b64url_encode(A, sig, siglen));
done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return (out);
}

static int
run(const char *tok, const struct mr_jwt_verifier *v, int64_t now,
    struct json_object **claims, struct mr_err *err)
{
	mr_err_clear(err);
	if (tok == NULL)
		return (-2);
	return (mr_jwt_verify(A, tok, strlen(tok), v, now, claims, err));
}

static void
accepted(const char *tok, const struct mr_jwt_verifier *v, int64_t now,
    const char *name)
{
	struct json_object	*claims = NULL;
	struct mr_err		 err;
	int			 rc;

	rc = run(tok, v, now, &claims, &err);
	if (!ok(rc == 0 && claims != NULL, "accepts %s", name))
		printf("#   rc %d, %d %s: %s (%s)\n", rc, err.status,
		    err.code ? err.code : "-", err.detail, err.cause);
}

static void
refused(const char *tok, const struct mr_jwt_verifier *v, int64_t now,
    const char *detail, const char *name)
{
	struct json_object	*claims = (struct json_object *)&claims;
	struct mr_err		 err;
	int			 rc;

	rc = run(tok, v, now, &claims, &err);
	if (!ok(rc == -1 && claims == NULL && err.status == 401 &&
	    err.code != NULL && strcmp(err.code, "invalid_token") == 0 &&
	    strcmp(err.detail, detail) == 0, "refuses %s", name))
		printf("#   rc %d, %d %s: '%s', want '%s'\n", rc, err.status,
		    err.code ? err.code : "-", err.detail, detail);
}

static void
test_known(void)
{
	struct mr_jwt_verifier	 v;
	struct json_object	*claims, *o;
	struct mr_err		 err;
	unsigned char		*key;
	size_t			 keylen;

	memset(&v, 0, sizeof(v));
	ok(mr_b64url_decode(A, rfc_key, strlen(rfc_key), &key, &keylen) == 0 &&
	    keylen == 64, "decode RFC 7515 A.1 key");
	v.secret = key;
	v.secretlen = keylen;
	ok(run(rfc_token, &v, 1300819370, &claims, &err) == 0,
	    "RFC 7515 A.1 token verifies");
	ok(claims != NULL && json_object_object_get_ex(claims, "iss", &o) &&
	    strcmp(json_object_get_string(o), "joe") == 0,
	    "RFC 7515 A.1 claims returned");
	accepted(rfc_token, &v, 1300819380, "RFC 7515 A.1 at exp");
	refused(rfc_token, &v, 1300819381, D_EXPIRED,
	    "RFC 7515 A.1 after exp");

	memset(&v, 0, sizeof(v));
	v.secret = (const unsigned char *)fixed_secret;
	v.secretlen = strlen(fixed_secret);
	accepted(fixed_token, &v, NOW, "openssl-made token");
	accepted(fixed_short, &v, NOW, "short openssl-made token");
	v.issuer = "https://issuer.example";
	v.audience = "meetrec";
	accepted(fixed_token, &v, NOW, "iss and aud in array");
	v.audience = "other";
	accepted(fixed_token, &v, NOW, "first aud in array");
	v.audience = "meetrec-admin";
	refused(fixed_token, &v, NOW, D_AUD,
	    "aud not in array");
	v.audience = "meetre";
	refused(fixed_token, &v, NOW, D_AUD,
	    "aud prefix");
	v.audience = NULL;
	v.issuer = "https://issuer.example/";
	refused(fixed_token, &v, NOW, D_ISS,
	    "wrong iss");
	v.issuer = NULL;
	v.leeway = 0;
	refused(fixed_token, &v, INT64_C(4102444801), D_EXPIRED,
	    "openssl-made token after exp");

	v.secretlen--;
	refused(fixed_token, &v, NOW, D_BADSIG,
	    "openssl-made token, secret one byte short");
}

static void
test_sign(void)
{
	struct mr_jwt_verifier	 v = hs_verifier();
	struct json_object	*p, *claims, *o;
	struct mr_err		 err;
	char			*tok;

	p = json_object_new_object();
	json_object_object_add(p, "sub", json_object_new_string("alice"));
	json_object_object_add(p, "exp", json_object_new_int64(4102444800));
	tok = mr_jwt_sign_hs256(A, p, (const unsigned char *)fixed_secret,
	    strlen(fixed_secret));
	is_str(tok, fixed_short, "sign matches openssl-made token");

	tok = mr_jwt_sign_hs256(A, p, v.secret, v.secretlen);
	ok(tok != NULL && strncmp(tok,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
	    "sign uses the fixed header");
	ok(run(tok, &v, NOW, &claims, &err) == 0 && claims != NULL &&
	    json_object_object_get_ex(claims, "sub", &o) &&
	    strcmp(json_object_get_string(o), "alice") == 0,
	    "sign then verify round trip");

	ok(mr_jwt_sign_hs256(A, p, v.secret, 0) == NULL,
	    "sign refuses an empty secret");
	ok(mr_jwt_sign_hs256(A, p, NULL, 5) == NULL,
	    "sign refuses a NULL secret");
	json_object_put(p);
	p = json_object_new_array();
	ok(mr_jwt_sign_hs256(A, p, v.secret, v.secretlen) == NULL,
	    "sign refuses a non-object payload");
	json_object_put(p);
	ok(mr_jwt_sign_hs256(A, NULL, v.secret, v.secretlen) == NULL,
	    "sign refuses a NULL payload");
}

static void
test_times(void)
{
	struct mr_jwt_verifier	 v = hs_verifier();
	char			 pl[256];

#define EXP(e)	(snprintf(pl, sizeof(pl), "{\"exp\":%s}", (e)), pl)
	accepted(hs(HS_HDR, EXP("1700000000"), SECRET), &v, NOW, "now == exp");
	refused(hs(HS_HDR, EXP("1699999999"), SECRET), &v, NOW,
	    D_EXPIRED, "now == exp + 1");
	v.leeway = 30;
	accepted(hs(HS_HDR, EXP("1699999970"), SECRET), &v, NOW,
	    "now == exp + leeway");
	refused(hs(HS_HDR, EXP("1699999969"), SECRET), &v, NOW,
	    D_EXPIRED, "now == exp + leeway + 1");
	v.leeway = -100;
	refused(hs(HS_HDR, EXP("1699999999"), SECRET), &v, NOW,
	    D_EXPIRED, "negative leeway, now == exp + 1");
	v.leeway = INT64_MAX;
	accepted(hs(HS_HDR, EXP("0"), SECRET), &v, NOW,
	    "huge leeway saturates");
	accepted(hs(HS_HDR, EXP("9223372036854775807"), SECRET), &v, NOW,
	    "huge leeway and exp do not overflow");
	refused(hs(HS_HDR, EXP("-9223372036854775808"), SECRET), &v, NOW,
	    D_EXPIRED, "huge leeway, exp INT64_MIN");
	v.leeway = 0;
	accepted(hs(HS_HDR, EXP("99999999999999999999"), SECRET), &v, NOW,
	    "exp beyond int64");
	accepted(hs(HS_HDR, EXP("1700000000.5"), SECRET), &v, NOW,
	    "fractional exp, now before");
	refused(hs(HS_HDR, EXP("1699999999.5"), SECRET), &v, NOW,
	    D_EXPIRED, "fractional exp, now after");
	accepted(hs(HS_HDR, EXP("1.7e9"), SECRET), &v, NOW, "exp exponent");
	refused(hs(HS_HDR, EXP("1.6e9"), SECRET), &v, NOW,
	    D_EXPIRED, "exp exponent, past");
	accepted(hs(HS_HDR, EXP("1e300"), SECRET), &v, NOW, "exp 1e300");
	refused(hs(HS_HDR, EXP("-1e300"), SECRET), &v, NOW,
	    D_EXPIRED, "exp -1e300");
	refused(hs(HS_HDR, EXP("\"1800000000\""), SECRET), &v, NOW,
	    D_EXPNAN, "exp as a string");
	refused(hs(HS_HDR, EXP("true"), SECRET), &v, NOW,
	    D_EXPNAN, "exp as a boolean");
	refused(hs(HS_HDR, EXP("[1800000000]"), SECRET), &v, NOW,
	    D_EXPNAN, "exp as an array");
	refused(hs(HS_HDR, EXP("null"), SECRET), &v, NOW,
	    D_NOEXP, "exp null");
	/* json-c takes these even in strict mode. */
	refused(hs(HS_HDR, EXP("NaN"), SECRET), &v, NOW,
	    D_EXPNAN, "exp NaN");
	refused(hs(HS_HDR, EXP("Infinity"), SECRET), &v, NOW,
	    D_EXPNAN, "exp Infinity");
	refused(hs(HS_HDR, EXP("-Infinity"), SECRET), &v, NOW,
	    D_EXPNAN, "exp -Infinity");
	refused(hs(HS_HDR, "{\"sub\":\"x\"}", SECRET), &v, NOW,
	    D_NOEXP, "missing exp");
	refused(hs(HS_HDR, "{}", SECRET), &v, NOW,
	    D_NOEXP, "empty claims");
#undef EXP

#define NBF(n)	(snprintf(pl, sizeof(pl), \
	    "{\"exp\":1800000000,\"nbf\":%s}", (n)), pl)
	accepted(hs(HS_HDR, NBF("1700000000"), SECRET), &v, NOW, "now == nbf");
	refused(hs(HS_HDR, NBF("1700000001"), SECRET), &v, NOW,
	    D_NOTYET, "now == nbf - 1");
	v.leeway = 30;
	accepted(hs(HS_HDR, NBF("1700000030"), SECRET), &v, NOW,
	    "now == nbf - leeway");
	refused(hs(HS_HDR, NBF("1700000031"), SECRET), &v, NOW,
	    D_NOTYET, "now == nbf - leeway - 1");
	v.leeway = 0;
	refused(hs(HS_HDR, NBF("1699999999.5"), SECRET), &v,
	    NOW - 1, D_NOTYET, "fractional nbf, now before");
	accepted(hs(HS_HDR, NBF("1699999999.5"), SECRET), &v, NOW,
	    "fractional nbf, now after");
	refused(hs(HS_HDR, NBF("\"0\""), SECRET), &v, NOW,
	    D_NBFNAN, "nbf as a string");
	accepted(hs(HS_HDR, NBF("null"), SECRET), &v, NOW, "nbf null");
#undef NBF

#define IAT(n)	(snprintf(pl, sizeof(pl), \
	    "{\"exp\":1800000000,\"iat\":%s}", (n)), pl)
	accepted(hs(HS_HDR, IAT("1600000000.25"), SECRET), &v, NOW,
	    "iat double in the past");
	accepted(hs(HS_HDR, IAT("1700000000"), SECRET), &v, NOW, "now == iat");
	refused(hs(HS_HDR, IAT("1700000001"), SECRET), &v, NOW,
	    D_FUTURE, "now == iat - 1");
	refused(hs(HS_HDR, IAT("1900000000"), SECRET), &v, NOW,
	    D_FUTURE, "iat years ahead");
	v.leeway = 30;
	accepted(hs(HS_HDR, IAT("1700000030"), SECRET), &v, NOW,
	    "now == iat - leeway");
	refused(hs(HS_HDR, IAT("1700000031"), SECRET), &v, NOW,
	    D_FUTURE, "now == iat - leeway - 1");
	v.leeway = 0;
	refused(hs(HS_HDR, IAT("1700000000.5"), SECRET), &v, NOW,
	    D_FUTURE, "fractional iat just after now");
	accepted(hs(HS_HDR, IAT("1699999999.5"), SECRET), &v, NOW,
	    "fractional iat just before now");
	refused(hs(HS_HDR, IAT("9223372036854775807"), SECRET), &v, NOW,
	    D_FUTURE, "iat INT64_MAX");
	refused(hs(HS_HDR, IAT("1e300"), SECRET), &v, NOW,
	    D_FUTURE, "iat 1e300 (clamped)");
	accepted(hs(HS_HDR, "{\"exp\":1800000000}", SECRET), &v, NOW,
	    "iat absent");
	accepted(hs(HS_HDR, IAT("null"), SECRET), &v, NOW, "iat null");
	refused(hs(HS_HDR, IAT("\"yesterday\""), SECRET), &v, NOW,
	    D_IATNAN, "iat as a string");
	refused(hs(HS_HDR, IAT("{}"), SECRET), &v, NOW,
	    D_IATNAN, "iat as an object");
	refused(hs(HS_HDR, IAT("true"), SECRET), &v, NOW,
	    D_IATNAN, "iat as a boolean");
	/* The checks run in order: an expired token says so first. */
	refused(hs(HS_HDR, "{\"exp\":1600000000,\"iat\":1900000000}",
	    SECRET), &v, NOW, D_EXPIRED, "expired and issued in the future");
#undef IAT
}

static void
test_claims(void)
{
	struct mr_jwt_verifier	 v = hs_verifier();

	v.issuer = "https://id.example";
	accepted(hs(HS_HDR, "{\"exp\":1800000000,\"iss\":"
	    "\"https://id.example\"}", SECRET), &v, NOW, "iss equal");
	refused(hs(HS_HDR, "{\"exp\":1800000000}", SECRET), &v, NOW,
	    D_ISS, "missing iss");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"iss\":null}", SECRET), &v,
	    NOW, D_ISS, "iss null");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"iss\":"
	    "\"https://id.example\\u0000x\"}", SECRET), &v, NOW,
	    D_ISS, "iss with NUL suffix");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"iss\":"
	    "[\"https://id.example\"]}", SECRET), &v, NOW,
	    D_ISS, "iss as an array");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"iss\":"
	    "\"HTTPS://ID.EXAMPLE\"}", SECRET), &v, NOW,
	    D_ISS, "iss differs in case");
	v.issuer = NULL;

	v.audience = "meetrec";
	accepted(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":\"meetrec\"}",
	    SECRET), &v, NOW, "aud string");
	accepted(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":[\"a\",\"meetrec\"]}",
	    SECRET), &v, NOW, "aud array");
	refused(hs(HS_HDR, "{\"exp\":1800000000}", SECRET), &v, NOW,
	    D_AUD, "missing aud");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":\"other\"}", SECRET),
	    &v, NOW, D_AUD, "other aud");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":[]}", SECRET), &v,
	    NOW, D_AUD, "empty aud array");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":[\"meetrec\",1]}",
	    SECRET), &v, NOW, D_BADAUD,
	    "aud array with a number");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":[[\"meetrec\"]]}",
	    SECRET), &v, NOW, D_BADAUD,
	    "aud nested array");
	refused(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":42}", SECRET), &v,
	    NOW, D_BADAUD, "aud number");
	v.audience = NULL;
	accepted(hs(HS_HDR, "{\"exp\":1800000000,\"aud\":42}", SECRET), &v,
	    NOW, "aud not checked when not configured");
}

static void
test_refusals(void)
{
	struct mr_jwt_verifier	 v = hs_verifier(), nosecret;
	const char		*good, *pl = "{\"exp\":1800000000}";
	char			*t, *big;
	size_t			 n, k;

	good = hs(HS_HDR, pl, SECRET);
	accepted(good, &v, NOW, "baseline");
	refused(hs(HS_HDR, pl, "wrong-secret"), &v, NOW,
	    D_BADSIG, "wrong secret");

	/* Payload swapped for one that was never signed. */
	t = mr_strdup(A, good);
	{
		char	*d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
		char	*evil = mr_b64url_encode(A, "{\"exp\":1900000000}", 18);

		t = mr_printf(A, "%.*s.%s%s", (int)(d1 - t), t, evil, d2);
	}
	refused(t, &v, NOW, D_BADSIG, "tampered payload");
	/* Not the last character: its low bits are unused padding. */
	t = mr_strdup(A, good);
	t[strlen(t) - 10] = t[strlen(t) - 10] == 'A' ? 'B' : 'A';
	refused(t, &v, NOW, D_BADSIG, "tampered signature");
	t = mr_strdup(A, good);
	t[strlen(t) - 4] = '\0';
	refused(t, &v, NOW, D_BADSIG,
	    "truncated signature");
	t = mr_printf(A, "%.*s.", (int)(strrchr(good, '.') - good), good);
	refused(t, &v, NOW, D_BADSIG, "empty signature");

	/* The algorithm. */
	refused(mr_printf(A, "%s.%s.", mr_b64url_encode(A,
	    "{\"alg\":\"none\"}", 14), mr_b64url_encode(A, pl, strlen(pl))),
	    &v, NOW, D_ALG, "alg none");
	refused(hs("{\"alg\":\"none\"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg none with a signature");
	refused(hs("{\"alg\":\"None\"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg None");
	refused(hs("{\"alg\":\"HS512\"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg HS512");
	refused(hs("{\"alg\":\"hs256\"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg hs256");
	refused(hs("{\"alg\":\"HS256 \"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg with a space");
	refused(hs("{\"alg\":\"HS256\\u0000\"}", pl, SECRET), &v, NOW,
	    D_ALG, "alg with a NUL");
	refused(hs("{\"alg\":[\"HS256\"]}", pl, SECRET), &v, NOW,
	    D_ALG, "alg as an array");
	refused(hs("{\"alg\":null}", pl, SECRET), &v, NOW,
	    D_ALG, "alg null");
	refused(hs("{\"typ\":\"JWT\"}", pl, SECRET), &v, NOW,
	    D_ALG, "missing alg");
	refused(hs("{\"alg\":\"RS256\"}", pl, SECRET), &v, NOW,
	    D_ALG, "RS256 without a key");
	refused(hs("{\"alg\":\"ES256\"}", pl, SECRET), &v, NOW,
	    D_ALG, "ES256 without a key");
	refused(hs("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", pl, SECRET), &v,
	    NOW, D_CRIT, "crit header");
	refused(hs("{\"alg\":\"HS256\",\"crit\":[]}", pl, SECRET), &v,
	    NOW, D_CRIT, "empty crit");
	accepted(hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}",
	    pl, SECRET), &v, NOW, "extra header members");

	memset(&nosecret, 0, sizeof(nosecret));
	refused(good, &nosecret, NOW, D_ALG,
	    "HS256 when no secret is set");
	nosecret.secret = v.secret;
	refused(good, &nosecret, NOW, D_ALG,
	    "HS256 with an empty secret");

	/* JSON. */
	refused(hs("[\"HS256\"]", pl, SECRET), &v, NOW,
	    D_BADHDR, "header array");
	/* RFC 8259 allows white space around the value. */
	accepted(hs(" {\"alg\":\"HS256\"}\n", pl, SECRET), &v, NOW,
	    "header with white space around it");
	refused(hs("{\"alg\":\"HS256\"}{}", pl, SECRET), &v, NOW,
	    D_BADHDR, "header trailing object");
	refused(hs("{\"alg\":\"HS256\",}", pl, SECRET), &v, NOW,
	    D_BADHDR, "header trailing comma");
	refused(hs("{'alg':'HS256'}", pl, SECRET), &v, NOW,
	    D_BADHDR, "header single quotes");
	refused(hs("{\"alg\":\"HS256\"", pl, SECRET), &v, NOW,
	    D_BADHDR, "header truncated");
	refused(hs("{\"alg\":\"HS256\",\"x\":\"\xff\"}", pl, SECRET), &v, NOW,
	    D_BADHDR, "header invalid UTF-8");
	refused(hs("{\"alg\":\"HS256\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]"
	    "]]]]]]]]]]}", pl, SECRET), &v, NOW,
	    D_BADHDR, "header nested 21 deep");
	refused(hs(HS_HDR, "[1800000000]", SECRET), &v, NOW,
	    D_BADCLAIMS, "claims array");
	refused(hs(HS_HDR, "\"x\"", SECRET), &v, NOW,
	    D_BADCLAIMS, "claims string");
	refused(hs(HS_HDR, "{\"exp\":1800000000}x", SECRET), &v, NOW,
	    D_BADCLAIMS, "claims trailing bytes");
	refused(hs(HS_HDR, "{\"exp\":1800000000", SECRET), &v, NOW,
	    D_BADCLAIMS, "claims truncated");

	/* Encoding and shape. */
	accepted(hs_seg("eyJhbGciOiJIUzI1NiJ9", "eyJleHAiOjE4MDAwMDAwMDB9",
	    SECRET, strlen(SECRET)), &v, NOW, "hand-encoded segments");
	refused(hs_seg("eyJhbGciOiJIUzI1NiJ9==", "eyJleHAiOjE4MDAwMDAwMDB9",
	    SECRET, strlen(SECRET)), &v, NOW, D_MALFORMED,
	    "padded header");
	refused(hs_seg("eyJhbGciOiJIUzI1NiJ9", "eyJleHAiOjE4MDAwMDAwMDB9=",
	    SECRET, strlen(SECRET)), &v, NOW, D_MALFORMED,
	    "padded payload, correctly signed");
	refused(hs_seg("eyJhbGciOiJIUzI1NiJ9", "eyJleHAiOj E4MDAwMDAwMDB9",
	    SECRET, strlen(SECRET)), &v, NOW, D_MALFORMED,
	    "space in payload, correctly signed");
	refused(hs_seg("eyJhbGciOiJIUzI1NiJ9", "eyJleHAiOj+4MDAwMDAwMDB9",
	    SECRET, strlen(SECRET)), &v, NOW, D_MALFORMED,
	    "'+' in payload, correctly signed");
	refused(hs_seg("eyJhbGc iOiJIUzI1NiJ9", "eyJleHAiOjE4MDAwMDAwMDB9",
	    SECRET, strlen(SECRET)), &v, NOW, D_MALFORMED,
	    "space in header");
	refused(mr_printf(A, "%s=", good), &v, NOW, D_MALFORMED,
	    "padded signature");
	refused(mr_printf(A, "%s\n", good), &v, NOW, D_MALFORMED,
	    "trailing newline");
	refused(mr_printf(A, " %s", good), &v, NOW, D_MALFORMED,
	    "leading space");
	refused(mr_printf(A, "%s.", good), &v, NOW, D_MALFORMED,
	    "three dots");
	refused(mr_printf(A, "%s.abc", good), &v, NOW, D_MALFORMED,
	    "four segments");
	refused(mr_printf(A, "%.*s", (int)(strrchr(good, '.') - good), good),
	    &v, NOW, D_MALFORMED, "one dot");
	refused("abc", &v, NOW, D_MALFORMED, "no dots");
	refused("..", &v, NOW, D_MALFORMED, "only dots");
	refused(mr_printf(A, ".%s", strchr(good, '.') + 1), &v, NOW,
	    D_MALFORMED, "empty header");
	refused("", &v, NOW, D_MALFORMED, "empty token");
	{
		struct json_object	*claims;
		struct mr_err		 err;

		mr_err_clear(&err);
		ok(mr_jwt_verify(A, good, 40, &v, NOW, &claims, &err) == -1 &&
		    err.status == 401, "length is honoured, not the NUL");
		t = mr_strdup(A, good);
		t[10] = '\0';
		ok(mr_jwt_verify(A, t, strlen(good), &v, NOW, &claims,
		    &err) == -1 && err.status == 401, "embedded NUL refused");
	}

	/*
	 * Size: exactly MR_JWT_MAX passes, one more does not.  The token is
	 * 36 + 1 + b64(payload) + 1 + 43 bytes; pick the padding to fit.
	 */
	big = NULL;
	for (k = 0; k < MR_JWT_MAX; k++) {
		n = strlen("{\"exp\":1800000000,\"pad\":\"\"}") + k;
		if (36 + 1 + (4 * n + 2) / 3 + 1 + 43 == MR_JWT_MAX) {
			big = hs(HS_HDR, mr_printf(A, "{\"exp\":1800000000,"
			    "\"pad\":\"%*s\"}", (int)k, ""), SECRET);
			break;
		}
	}
	ok(big != NULL && strlen(big) == MR_JWT_MAX,
	    "built a token of exactly MR_JWT_MAX bytes");
	accepted(big, &v, NOW, "token of MR_JWT_MAX bytes");
	refused(big ? mr_printf(A, "%sA", big) : NULL, &v, NOW,
	    D_TOOLONG, "token of MR_JWT_MAX + 1 bytes");
	big = mr_alloc(A, 1 << 20);
	memset(big, 'A', 1 << 20);
	big[100] = big[200] = '.';
	big[(1 << 20) - 1] = '\0';
	refused(big, &v, NOW, D_TOOLONG, "1 MiB token");
}

static char *
write_pem(EVP_PKEY *k, const char *name, int private)
{
	char	*path;
	FILE	*fp;
	int	 rc;

	path = mr_printf(A, "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return (NULL);
	rc = private ? PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_PUBKEY(fp, k);
	fclose(fp);
	return (rc == 1 ? path : NULL);
}

static void
load_refused(const char *path, const char *name)
{
	struct mr_err	 err;
	EVP_PKEY	*k;

	mr_err_clear(&err);
	k = path ? mr_jwt_load_pubkey(path, &err) : NULL;
	if (!ok(k == NULL && err.status == 500 && err.code != NULL &&
	    strcmp(err.code, "config") == 0, "load refuses %s", name))
		printf("#   %d %s (%s)\n", err.status, err.detail, err.cause);
	EVP_PKEY_free(k);
}

static void
test_pubkey(void)
{
	struct mr_jwt_verifier	 v, both;
	struct mr_err		 err;
	EVP_PKEY		*rsa, *ec, *rsa_pub = NULL, *ec_pub = NULL, *k;
	const char		*pl = "{\"exp\":1800000000,\"sub\":\"bob\"}";
	char			*rsa_path, *ec_path, *pem, *t;
	unsigned char		*ones;
	FILE			*fp;
	long			 n;

	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!ok(rsa != NULL && ec != NULL, "generate RSA and P-256 keys"))
		goto done;
	rsa_path = write_pem(rsa, "rsa.pem", 0);
	ec_path = write_pem(ec, "ec.pem", 0);
	mr_err_clear(&err);
	ok(rsa_path != NULL &&
	    (rsa_pub = mr_jwt_load_pubkey(rsa_path, &err)) != NULL,
	    "load RSA public key");
	ok(ec_path != NULL &&
	    (ec_pub = mr_jwt_load_pubkey(ec_path, &err)) != NULL,
	    "load EC public key");
	if (rsa_pub == NULL || ec_pub == NULL)
		goto done;

	memset(&v, 0, sizeof(v));
	v.pubkey = rsa_pub;
	accepted(pk_sign(RS_HDR, pl, rsa, 0), &v, NOW, "RS256");
	refused(pk_sign(RS_HDR, pl, rsa, 0), &v, 1800000001,
	    D_EXPIRED, "RS256 expired");
	t = pk_sign(RS_HDR, pl, rsa, 0);
	t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
	refused(t, &v, NOW, D_BADSIG, "RS256 tampered");
	t = pk_sign(RS_HDR, pl, rsa, 0);
	t[strlen(t) - 40] = '\0';
	refused(t, &v, NOW, D_BADSIG, "RS256 truncated");
	refused(pk_sign(ES_HDR, pl, ec, 0), &v, NOW,
	    D_ALG, "ES256 against an RSA key");
	refused(hs(HS_HDR, pl, SECRET), &v, NOW,
	    D_ALG, "HS256 against an RSA key");

	/* The confusion attack: the public key PEM as an HMAC secret. */
	pem = NULL;
	if ((fp = fopen(rsa_path, "r")) != NULL) {
		pem = mr_calloc(A, 1, 4096);
		n = (long)fread(pem, 1, 4095, fp);
		fclose(fp);
		if (n <= 0)
			pem = NULL;
	}
	ok(pem != NULL && strncmp(pem, "-----BEGIN PUBLIC KEY-----", 26) == 0,
	    "read the RSA public key PEM");
	if (pem != NULL) {
		refused(hs(HS_HDR, pl, pem), &v, NOW,
		    D_ALG,
		    "HS256 signed with the RSA public key PEM");
		refused(hs(RS_HDR, pl, pem), &v, NOW,
		    D_BADSIG,
		    "RS256 header with an HMAC signature over the PEM");
		/* Same PEM without the trailing newline, as some tools do. */
		pem[strlen(pem) - 1] = '\0';
		refused(hs(HS_HDR, pl, pem), &v, NOW,
		    D_ALG,
		    "HS256 signed with the PEM, no newline");
	}

	memset(&v, 0, sizeof(v));
	v.pubkey = ec_pub;
	v.issuer = "iss-ec";
	accepted(pk_sign(ES_HDR, "{\"exp\":1800000000,\"iss\":\"iss-ec\"}",
	    ec, 0), &v, NOW, "ES256");
	v.issuer = NULL;
	refused(pk_sign(ES_HDR, pl, ec, 1), &v, NOW,
	    D_BADSIG, "ES256 with a DER signature");
	t = pk_sign(ES_HDR, pl, ec, 0);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	refused(t, &v, NOW, D_BADSIG, "ES256 tampered");
	t = pk_sign(ES_HDR, pl, ec, 0);
	refused(mr_printf(A, "%.*s", (int)(strlen(t) - 2), t), &v, NOW,
	    D_BADSIG, "ES256 63-byte signature");
	/* R = S = 0 must not verify (and must not crash the DER step). */
	t = pk_sign(ES_HDR, pl, ec, 0);
	t = mr_printf(A, "%.*s.%s", (int)(strrchr(t, '.') - t), t,
	    mr_b64url_encode(A, mr_calloc(A, 1, 64), 64));
	refused(t, &v, NOW, D_BADSIG, "ES256 R = S = 0");
	t = pk_sign(ES_HDR, pl, ec, 0);
	ones = mr_alloc(A, 64);
	memset(ones, 0xff, 64);
	t = mr_printf(A, "%.*s.%s", (int)(strrchr(t, '.') - t), t,
	    mr_b64url_encode(A, ones, 64));
	refused(t, &v, NOW, D_BADSIG, "ES256 all ones");
	refused(pk_sign(RS_HDR, pl, rsa, 0), &v, NOW,
	    D_ALG, "RS256 against an EC key");

	/* A verifier holding everything takes each algorithm. */
	both = hs_verifier();
	both.pubkey = ec_pub;
	accepted(hs(HS_HDR, pl, SECRET), &both, NOW, "HS256 with both set");
	accepted(pk_sign(ES_HDR, pl, ec, 0), &both, NOW,
	    "ES256 with both set");
	both.pubkey = rsa_pub;
	accepted(pk_sign(RS_HDR, pl, rsa, 0), &both, NOW,
	    "RS256 with both set");

	/* Keys mr_jwt_load_pubkey() must refuse. */
	load_refused(mr_printf(A, "%s/missing.pem", tmpdir), "a missing file");
	if ((fp = fopen(mr_printf(A, "%s/junk.pem", tmpdir), "w")) != NULL) {
		fputs("-----BEGIN PUBLIC KEY-----\nnot base64\n"
		    "-----END PUBLIC KEY-----\n", fp);
		fclose(fp);
	}
	load_refused(mr_printf(A, "%s/junk.pem", tmpdir), "a junk PEM");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	load_refused(k ? write_pem(k, "rsa1024.pem", 0) : NULL,
	    "a 1024-bit RSA key");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	load_refused(k ? write_pem(k, "p384.pem", 0) : NULL, "a P-384 key");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	load_refused(k ? write_pem(k, "ed25519.pem", 0) : NULL,
	    "an Ed25519 key");
	EVP_PKEY_free(k);

done:
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa_pub);
	EVP_PKEY_free(ec_pub);
}

static void
cleanup(void)
{
	static const char *const names[] = {
		"rsa.pem", "ec.pem", "junk.pem", "rsa1024.pem", "p384.pem",
		"ed25519.pem"
	};
	char	path[sizeof(tmpdir) + 32];
	size_t	i;

	for (i = 0; i < MR_NELEM(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	int	rc;

	if ((A = mr_arena_new(64 << 20)) == NULL ||
	    mkdtemp(tmpdir) == NULL) {
		printf("Bail out! no arena or temporary directory\n");
		return (1);
	}
	test_known();
	test_sign();
	test_times();
	test_claims();
	test_refusals();
	test_pubkey();
	rc = done_testing();
	cleanup();
	mr_arena_free(A);
	return (rc);
}
