/* SPDX-License-Identifier: ISC */
/*
 * test-crypto.c - known answers for crypto.c: SHA-256 (FIPS 180-2),
 * HMAC-SHA256 (RFC 4231), base64 and base64url (RFC 4648 section 10) and
 * every input the strict decoders must refuse.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "tap.h"

struct b64_vec {
	const char	*plain;
	const char	*std;
	const char	*url;
};

/* RFC 4648 section 10. */
static const struct b64_vec vecs[] = {
	{ "",		"",		"" },
	{ "f",		"Zg==",		"Zg" },
	{ "fo",		"Zm8=",		"Zm8" },
	{ "foo",	"Zm9v",		"Zm9v" },
	{ "foob",	"Zm9vYg==",	"Zm9vYg" },
	{ "fooba",	"Zm9vYmE=",	"Zm9vYmE" },
	{ "foobar",	"Zm9vYmFy",	"Zm9vYmFy" },
};

/* Inputs mr_b64url_decode() must refuse. */
static const char *const url_bad[] = {
	"Zg==",		/* padding */
	"Zg=",
	"Zm8=",
	"Z",		/* impossible length */
	"Zm9vY",
	"Zm9v Yg",	/* whitespace */
	"Zm9v\nYg",
	"Zm9vYg\n",
	" Zm9v",
	"Zm+v",		/* standard alphabet */
	"Zm/v",
	"Zm9v!",
	"Zm9v.",
	"Zm\xc3\xa9v",	/* non-ASCII */
};

/* Inputs mr_b64_decode() must refuse. */
static const char *const std_bad[] = {
	"Zg",		/* missing padding */
	"Zm8",
	"Zg=",		/* short padding */
	"Zg===",	/* excess padding */
	"Zm9v=",
	"Z===",
	"====",
	"=Zg=",		/* padding not at the end */
	"Zg=a",
	"Zg==Zg==",
	"Zm9v\n",	/* whitespace */
	"Zm9v Zm9v",
	"Zm9v\r\n",
	"Zm-v",		/* URL alphabet */
	"Zm_v",
	"Zm9v!A==",
	"Z",
};

/* Test names must stay on one line: show control bytes as \xNN. */
static const char *
vis(const char *s)
{
	static char	buf[128];
	size_t		o = 0;

	for (; *s != '\0' && o + 5 < sizeof(buf); s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", (unsigned char)*s);
		else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return (buf);
}

static void
test_hash(struct mr_arena *a)
{
	unsigned char	 md[MR_SHA256_LEN];

	ok(mr_sha256("abc", 3, md) == 0, "sha256 abc");
	is_str(mr_hex(a, md, sizeof(md)),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256 abc value");
	ok(mr_sha256(NULL, 0, md) == 0, "sha256 of nothing");
	is_str(mr_hex(a, md, sizeof(md)),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256 empty value");

	/* RFC 4231 test case 2. */
	ok(mr_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28,
	    md) == 0, "hmac rfc4231 tc2");
	is_str(mr_hex(a, md, sizeof(md)),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "hmac rfc4231 tc2 value");
	/* RFC 4231 test case 1: 20 bytes of 0x0b, "Hi There". */
	{
		unsigned char	key[20];

		memset(key, 0x0b, sizeof(key));
		ok(mr_hmac_sha256(key, sizeof(key), "Hi There", 8, md) == 0,
		    "hmac rfc4231 tc1");
		is_str(mr_hex(a, md, sizeof(md)),
		    "b0344c61d8db38535ca8afceaf0bf12b"
		    "881dc200c9833da726e9376c2e32cff7",
		    "hmac rfc4231 tc1 value");
	}
	ok(mr_hmac_sha256(NULL, 0, NULL, 0, md) == 0, "hmac empty key/data");
	is_str(mr_hex(a, md, sizeof(md)),
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
	    "hmac empty value");
	/* One context serves every call: no key stays from the one before. */
	ok(mr_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28,
	    md) == 0 && strcmp(mr_hex(a, md, sizeof(md)), "5bdcc146bf60754e6a"
	    "042426089575c75a003f089d2739839dec58b964ec3843") == 0,
	    "hmac rfc4231 tc2 again, after other keys");

	ok(mr_ct_equal("abcdef", "abcdef", 6) == 1, "ct_equal equal");
	ok(mr_ct_equal("abcdef", "abcdeg", 6) == 0, "ct_equal last differs");
	ok(mr_ct_equal("xbcdef", "abcdef", 6) == 0, "ct_equal first differs");
	ok(mr_ct_equal("a", "b", 0) == 1, "ct_equal zero length");

	{
		static const unsigned char hb[] = { 0x00, 0x0f, 0xa5, 0xff };

		is_str(mr_hex(a, hb, sizeof(hb)), "000fa5ff", "hex lower");
		is_str(mr_hex(a, hb, 0), "", "hex empty");
	}
}

static void
test_b64_vectors(struct mr_arena *a)
{
	char		 name[64];
	unsigned char	*out;
	size_t		 i, outlen, plen;

	for (i = 0; i < MR_NELEM(vecs); i++) {
		plen = strlen(vecs[i].plain);
		snprintf(name, sizeof(name), "b64 encode '%s'", vecs[i].plain);
		is_str(mr_b64_encode(a, vecs[i].plain, plen), vecs[i].std,
		    name);
		snprintf(name, sizeof(name), "b64url encode '%s'",
		    vecs[i].plain);
		is_str(mr_b64url_encode(a, vecs[i].plain, plen), vecs[i].url,
		    name);

		ok(mr_b64_decode(a, vecs[i].std, strlen(vecs[i].std), &out,
		    &outlen) == 0 && outlen == plen &&
		    memcmp(out, vecs[i].plain, plen) == 0 && out[plen] == '\0',
		    "b64 decode '%s'", vecs[i].std);
		ok(mr_b64url_decode(a, vecs[i].url, strlen(vecs[i].url), &out,
		    &outlen) == 0 && outlen == plen &&
		    memcmp(out, vecs[i].plain, plen) == 0 && out[plen] == '\0',
		    "b64url decode '%s'", vecs[i].url);
	}

	/* 0xfb 0xff uses both alphabet-specific characters. */
	{
		static const unsigned char	 x[] = { 0xfb, 0xff, 0xbf };

		is_str(mr_b64_encode(a, x, 2), "+/8=", "b64 62/63");
		is_str(mr_b64url_encode(a, x, 2), "-_8", "b64url 62/63");
		is_str(mr_b64_encode(a, x, 3), "+/+/", "b64 62/63 full");
		is_str(mr_b64url_encode(a, x, 3), "-_-_", "b64url 62/63 full");
		ok(mr_b64url_decode(a, "-_8", 3, &out, &outlen) == 0 &&
		    outlen == 2 && memcmp(out, x, 2) == 0, "b64url decode -_");
		ok(mr_b64_decode(a, "+/8=", 4, &out, &outlen) == 0 &&
		    outlen == 2 && memcmp(out, x, 2) == 0, "b64 decode +/");
	}

	/* Non-canonical trailing bits are accepted (RFC 4648 3.5). */
	ok(mr_b64url_decode(a, "Zh", 2, &out, &outlen) == 0 && outlen == 1 &&
	    out[0] == 'f', "b64url accepts non-canonical 'Zh'");
	ok(mr_b64_decode(a, "Zh==", 4, &out, &outlen) == 0 && outlen == 1 &&
	    out[0] == 'f', "b64 accepts non-canonical 'Zh=='");

	/* The length argument rules, not a NUL. */
	ok(mr_b64url_decode(a, "Zm9vXXXX", 4, &out, &outlen) == 0 &&
	    outlen == 3 && memcmp(out, "foo", 3) == 0, "b64url honours len");
	ok(mr_b64url_decode(a, "Zm\0v", 4, &out, &outlen) == -1 &&
	    out == NULL, "b64url refuses embedded NUL");
	ok(mr_b64_decode(a, "Zm9\0", 4, &out, &outlen) == -1,
	    "b64 refuses embedded NUL");
}

static void
test_b64_reject(struct mr_arena *a)
{
	static unsigned char	 dummy;
	unsigned char		*out;
	size_t			 i, outlen;

	for (i = 0; i < MR_NELEM(url_bad); i++) {
		out = &dummy;
		ok(mr_b64url_decode(a, url_bad[i], strlen(url_bad[i]), &out,
		    &outlen) == -1 && out == NULL,
		    "b64url refuses '%s'", vis(url_bad[i]));
	}
	for (i = 0; i < MR_NELEM(std_bad); i++)
		ok(mr_b64_decode(a, std_bad[i], strlen(std_bad[i]), &out,
		    &outlen) == -1, "b64 refuses '%s'", vis(std_bad[i]));

	/* Every byte outside the alphabets, alone in a quantum. */
	{
		char	q[5] = "Zm9v";
		int	c, bad_url = 0, bad_std = 0;

		for (c = 0; c < 256; c++) {
			q[1] = (char)c;
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9'))
				continue;
			if (c != '-' && c != '_' &&
			    mr_b64url_decode(a, q, 4, &out, &outlen) == 0)
				bad_url++;
			if (c != '+' && c != '/' &&
			    mr_b64_decode(a, q, 4, &out, &outlen) == 0)
				bad_std++;
		}
		is_int(bad_url, 0, "b64url refuses every non-alphabet byte");
		is_int(bad_std, 0, "b64 refuses every non-alphabet byte");
	}
}

static void
test_roundtrip(struct mr_arena *a)
{
	unsigned char	 data[300], *out;
	char		*e;
	size_t		 n, outlen;
	int		 fail_std = 0, fail_url = 0;

	for (n = 0; n <= sizeof(data); n++) {
		if (mr_random_bytes(data, n) == -1) {
			fail_std++;
			break;
		}
		if ((e = mr_b64_encode(a, data, n)) == NULL ||
		    strlen(e) != (n + 2) / 3 * 4 ||
		    mr_b64_decode(a, e, strlen(e), &out, &outlen) == -1 ||
		    outlen != n || memcmp(out, data, n) != 0)
			fail_std++;
		if ((e = mr_b64url_encode(a, data, n)) == NULL ||
		    strchr(e, '=') != NULL ||
		    mr_b64url_decode(a, e, strlen(e), &out, &outlen) == -1 ||
		    outlen != n || memcmp(out, data, n) != 0)
			fail_url++;
		mr_arena_reset(a);
	}
	is_int(fail_std, 0, "b64 round trip 0..300 bytes");
	is_int(fail_url, 0, "b64url round trip 0..300 bytes");
}

static void
test_random(void)
{
	unsigned char	x[32], y[32];

	ok(mr_random_bytes(x, 0) == 0, "random zero bytes");
	ok(mr_random_bytes(x, sizeof(x)) == 0 &&
	    mr_random_bytes(y, sizeof(y)) == 0, "random 32 bytes twice");
	ok(memcmp(x, y, sizeof(x)) != 0, "random draws differ");
}

static void
test_arena_cap(void)
{
	struct mr_arena	*small;
	unsigned char	*out;
	size_t		 outlen;

	/* A full arena must give NULL/-1, never a short result. */
	if ((small = mr_arena_new(8)) == NULL) {
		ok(0, "arena for cap test");
		return;
	}
	ok(mr_b64_encode(small, "foobarfoobar", 12) == NULL,
	    "b64 encode fails when arena is full");
	ok(mr_b64url_decode(small, "Zm9vYmFyZm9vYmFy", 16, &out,
	    &outlen) == -1, "b64url decode fails when arena is full");
	ok(mr_hex(small, (const unsigned char *)"abcdefgh", 8) == NULL,
	    "hex fails when arena is full");
	mr_arena_free(small);
}

/* Share-link passwords: scrypt, checked against RFC 7914's vector. */
static void
test_passwd(struct mr_arena *a)
{
	/* RFC 7914 section 12, N = 16384, r = 8, p = 1 (first 32 bytes). */
	static const char rfc[] = "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU"
	    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI";
	static const char *const bad[] = {
		"", "plain", "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU",
		"$scrypt$ln=30,r=8,p=1$U29kaXVtQ2hsb3JpZGU"
		    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI",
		"$scrypt$ln=14,r=99,p=1$U29kaXVtQ2hsb3JpZGU"
		    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=9$U29kaXVtQ2hsb3JpZGU"
		    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU"
		    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofIx",
		"$pbkdf2$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU"
		    "$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI",
	};
	char	*h1, *h2;

	ok(mr_passwd_check(a, "pleaseletmein", rfc) == 1,
	    "passwd: RFC 7914 vector matches");
	ok(mr_passwd_check(a, "pleaseletmeIn", rfc) == 0,
	    "passwd: one letter off does not");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(mr_passwd_check(a, "pleaseletmein", bad[i]) == -1,
		    "passwd: malformed or costly hash %zu refused", i);
	h1 = mr_passwd_hash(a, "open sesame");
	h2 = mr_passwd_hash(a, "open sesame");
	ok(h1 != NULL && strncmp(h1, "$scrypt$ln=15,r=8,p=1$", 22) == 0,
	    "passwd: hash format");
	ok(h1 != NULL && h2 != NULL && strcmp(h1, h2) != 0,
	    "passwd: a new salt each time");
	ok(h1 != NULL && mr_passwd_check(a, "open sesame", h1) == 1,
	    "passwd: round trip");
	ok(h1 != NULL && mr_passwd_check(a, "open sesame ", h1) == 0,
	    "passwd: wrong password");
	ok(h1 != NULL && mr_passwd_check(a, "", h1) == 0,
	    "passwd: empty password");
}

int
main(void)
{
	struct mr_arena	*a;
	int		 rc;

	if ((a = mr_arena_new(1 << 20)) == NULL) {
		printf("Bail out! no arena\n");
		return (1);
	}
	test_hash(a);
	test_b64_vectors(a);
	test_b64_reject(a);
	test_roundtrip(a);
	test_random();
	test_arena_cap();
	test_passwd(a);
	rc = done_testing();
	mr_arena_free(a);
	return (rc);
}
