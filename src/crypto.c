/* SPDX-License-Identifier: ISC */
/*
 * crypto.c - hashing, HMAC, constant-time comparison, base64 and random
 * bytes on top of OpenSSL 3 libcrypto.  Only EVP-level and other
 * non-deprecated interfaces are used.  Password hashing and token formats
 * live elsewhere (jwt.c); this file holds the primitives they share.
 *
 * The base64 codecs are written out here rather than taken from
 * EVP_DecodeBlock because that one ignores whitespace, accepts padding in
 * odd places and cannot do the URL alphabet; token parsing needs exact
 * rules.
 */

#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mr.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char	*b64_encode(struct mr_arena *, const char *, int,
		    const void *, size_t);
static int	 b64_value(int, int);
static int	 b64_decode(struct mr_arena *, const char *, size_t, int,
		    unsigned char **, size_t *);

/*
 * SHA-256 of len bytes at data into out.  Returns 0, or -1 if libcrypto
 * fails (out is then unspecified).
 */
int
mr_sha256(const void *data, size_t len, unsigned char out[MR_SHA256_LEN])
{
	static const unsigned char	 empty[1];
	unsigned int			 outlen = 0;

	if (data == NULL)
		data = empty;
	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != MR_SHA256_LEN)
		return (-1);
	return (0);
}

/*
 * The HMAC-SHA256 context every call of the process uses: a fresh one
 * (EVP_Q_mac) looks HMAC and SHA-256 up in the providers each time,
 * which costs more than the MAC of a token.  NULL if libcrypto fails.
 */
static EVP_MAC_CTX *
hmac_ctx(void)
{
	static EVP_MAC_CTX	*ctx;
	EVP_MAC			*mac;
	OSSL_PARAM		 params[2];

	if (ctx != NULL)
		return (ctx);
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return (NULL);
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return (ctx);
}

/*
 * HMAC-SHA256 of data under key into out.  Returns 0, or -1 if libcrypto
 * fails.  An empty key is allowed here; callers that treat the key as a
 * secret must refuse empty keys themselves.
 */
int
mr_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[MR_SHA256_LEN])
{
	static const unsigned char	 empty[1];
	EVP_MAC_CTX			*ctx;
	size_t				 outlen = 0;

	/* A NULL key would keep the key of the call before. */
	if (key == NULL)
		key = empty;
	if (data == NULL)
		data = empty;
	if ((ctx = hmac_ctx()) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, NULL) != 1 ||
	    EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, out, &outlen, MR_SHA256_LEN) != 1 ||
	    outlen != MR_SHA256_LEN)
		return (-1);
	return (0);
}

/*
 * Compare n bytes in time that does not depend on where they differ.
 * Returns 1 if equal, 0 if not.
 */
int
mr_ct_equal(const void *a, const void *b, size_t n)
{
	return (CRYPTO_memcmp(a, b, n) == 0);
}

static char *
b64_encode(struct mr_arena *a, const char *alpha, int pad, const void *data,
    size_t len)
{
	const unsigned char	*p = data;
	char			*out, *o;
	size_t			 i, olen, rem;

	if (len > (SIZE_MAX - 5) / 4 * 3)
		return (NULL);
	rem = len % 3;
	olen = len / 3 * 4;
	if (rem != 0)
		olen += pad ? 4 : rem + 1;
	if ((out = mr_alloc(a, olen + 1)) == NULL)
		return (NULL);

	o = out;
	for (i = 0; i + 3 <= len; i += 3) {
		*o++ = alpha[p[i] >> 2];
		*o++ = alpha[((p[i] & 0x03) << 4) | (p[i + 1] >> 4)];
		*o++ = alpha[((p[i + 1] & 0x0f) << 2) | (p[i + 2] >> 6)];
		*o++ = alpha[p[i + 2] & 0x3f];
	}
	if (rem == 1) {
		*o++ = alpha[p[i] >> 2];
		*o++ = alpha[(p[i] & 0x03) << 4];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (rem == 2) {
		*o++ = alpha[p[i] >> 2];
		*o++ = alpha[((p[i] & 0x03) << 4) | (p[i + 1] >> 4)];
		*o++ = alpha[(p[i + 1] & 0x0f) << 2];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/*
 * The 6-bit value of c in the standard (url == 0) or URL alphabet, or -1.
 * Written as ranges, not a strchr() on the alphabet, so that NUL and the
 * other alphabet's two characters are rejected.
 */
static int
b64_value(int c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (url) {
		if (c == '-')
			return (62);
		if (c == '_')
			return (63);
	} else {
		if (c == '+')
			return (62);
		if (c == '/')
			return (63);
	}
	return (-1);
}

/*
 * Strict decoder.  URL mode takes no padding at all; standard mode needs
 * the input to be whole quanta with one or two '=' only at the very end.
 * Unused low bits in the last quantum are not checked: RFC 4648 3.5 lets
 * decoders accept them, and nothing here compares encoded forms.
 */
static int
b64_decode(struct mr_arena *a, const char *s, size_t len, int url,
    unsigned char **out, size_t *outlen)
{
	unsigned char	*buf;
	size_t		 i, n, olen, rem;
	uint32_t	 acc;
	int		 v, k;

	*out = NULL;
	*outlen = 0;
	if (s == NULL && len != 0)
		return (-1);

	n = len;
	if (!url) {
		if (len % 4 != 0)
			return (-1);
		if (n > 0 && s[n - 1] == '=')
			n--;
		if (n > 0 && s[n - 1] == '=')
			n--;
	}
	rem = n % 4;
	if (rem == 1)
		return (-1);
	/* Standard padding must complete the last quantum exactly. */
	if (!url && len - n != (rem == 0 ? 0 : 4 - rem))
		return (-1);

	olen = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if ((buf = mr_alloc(a, olen + 1)) == NULL)
		return (-1);

	acc = 0;
	k = 0;
	olen = 0;
	for (i = 0; i < n; i++) {
		if ((v = b64_value((unsigned char)s[i], url)) == -1)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		if (++k == 4) {
			buf[olen++] = (unsigned char)(acc >> 16);
			buf[olen++] = (unsigned char)(acc >> 8);
			buf[olen++] = (unsigned char)acc;
			acc = 0;
			k = 0;
		}
	}
	if (k == 2) {
		buf[olen++] = (unsigned char)(acc >> 4);
	} else if (k == 3) {
		buf[olen++] = (unsigned char)(acc >> 10);
		buf[olen++] = (unsigned char)(acc >> 2);
	}
	buf[olen] = '\0';
	*out = buf;
	*outlen = olen;
	return (0);
}

/*
 * Base64url (RFC 4648 section 5) without padding.  Returns a
 * NUL-terminated string in arena a, or NULL if the arena is full.
 */
char *
mr_b64url_encode(struct mr_arena *a, const void *data, size_t len)
{
	return (b64_encode(a, b64_url, 0, data, len));
}

/*
 * Decode len bytes of unpadded base64url.  Padding, whitespace and any
 * byte outside the alphabet are refused.  On success *out (in arena a,
 * NUL-terminated past *outlen) and *outlen are set and 0 is returned;
 * otherwise -1 with *out = NULL.
 */
int
mr_b64url_decode(struct mr_arena *a, const char *s, size_t len,
    unsigned char **out, size_t *outlen)
{
	return (b64_decode(a, s, len, 1, out, outlen));
}

/*
 * Standard base64 with '=' padding.  Returns a NUL-terminated string in
 * arena a, or NULL if the arena is full.
 */
char *
mr_b64_encode(struct mr_arena *a, const void *data, size_t len)
{
	return (b64_encode(a, b64_std, 1, data, len));
}

/*
 * Decode len bytes of padded standard base64.  Missing, excess or
 * misplaced padding, whitespace and bytes outside the alphabet are
 * refused.  Results as for mr_b64url_decode().
 */
int
mr_b64_decode(struct mr_arena *a, const char *s, size_t len,
    unsigned char **out, size_t *outlen)
{
	return (b64_decode(a, s, len, 0, out, outlen));
}

/*
 * Fill buf with n bytes from the OpenSSL CSPRNG.  Returns 0, or -1 if the
 * generator is not seeded or fails.
 */
int
mr_random_bytes(void *buf, size_t n)
{
	unsigned char	*p = buf;
	size_t		 chunk;

	/* RAND_bytes() takes an int length. */
	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : n;
		if (RAND_bytes(p, (int)chunk) != 1)
			return (-1);
		p += chunk;
		n -= chunk;
	}
	return (0);
}

/*
 * Lower-case hex of len bytes.  Returns a NUL-terminated string in arena
 * a, or NULL if the arena is full.
 */
char *
mr_hex(struct mr_arena *a, const unsigned char *data, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	char			*out;
	size_t			 i;

	if (len > (SIZE_MAX - 1) / 2)
		return (NULL);
	if ((out = mr_alloc(a, len * 2 + 1)) == NULL)
		return (NULL);
	for (i = 0; i < len; i++) {
		out[i * 2] = digits[data[i] >> 4];
		out[i * 2 + 1] = digits[data[i] & 0x0f];
	}
	out[len * 2] = '\0';
	return (out);
}
