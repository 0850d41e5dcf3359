/* SPDX-License-Identifier: ISC */
/*
 * test-s3sign.c - s3sign.c against AWS's published Signature Version 4
 * examples: the signing key and signature of the IAM ListUsers example
 * (AWS General Reference, "Examples of the complete Signature Version 4
 * signing process"), the S3 "GET Object" header example
 * (sig-v4-header-based-auth), and the presigned URL example
 * (sigv4-query-string-auth) that shared/protocols/storage.md 6.4 gives as
 * its verified vector.  Then URI encoding of awkward keys, endpoints and
 * the expiry bounds.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "s3sign.h"
#include "store.h"
#include "tap.h"

/* Both AWS examples use this access key; the secrets differ in one byte. */
#define AK		"AKIAIOSFODNN7EXAMPLE"
#define SECRET_S3	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SECRET_IAM	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/* 2013-05-24T00:00:00Z, the date of the S3 examples. */
#define T20130524	INT64_C(1369353600)

static char *
hexkey(struct mr_arena *a, const char *secret, const char *day,
    const char *region, const char *service)
{
	unsigned char	 k[MR_SHA256_LEN];

	if (mr_s3_signing_key(secret, day, region, service, k) == -1)
		return NULL;
	return mr_hex(a, k, sizeof(k));
}

static char *
sts_hash(struct mr_arena *a, const char *sts)
{
	const char	*nl = strrchr(sts, '\n');

	return mr_strdup(a, nl != NULL ? nl + 1 : "");
}

static void
signing_keys(struct mr_arena *a)
{
	/* Published with the IAM example. */
	is_str(hexkey(a, SECRET_IAM, "20150830", "us-east-1", "iam"),
	    "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
	    "signing key: AWS IAM example (20150830/us-east-1/iam)");
	/*
	 * Not published on its own: the key behind every S3 example's
	 * signature below, recomputed with Python's hmac module.
	 */
	is_str(hexkey(a, SECRET_S3, "20130524", "us-east-1", "s3"),
	    "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378",
	    "signing key: S3 examples (20130524/us-east-1/s3)");
	ok(strcmp(hexkey(a, SECRET_S3, "20130525", "us-east-1", "s3"),
	    hexkey(a, SECRET_S3, "20130524", "us-east-1", "s3")) != 0,
	    "signing key changes with the day");
}

static void
iam_example(struct mr_arena *a)
{
	static const char creq[] =
	    "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
	    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	    "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	    "content-type;host;x-amz-date\n" MR_S3_EMPTY_SHA256;
	struct mr_s3_cred c = { AK, SECRET_IAM, "us-east-1" };

	is_str(mr_s3_string_to_sign(a, "20150830T123600Z", "us-east-1",
	    "iam", creq),
	    "AWS4-HMAC-SHA256\n20150830T123600Z\n"
	    "20150830/us-east-1/iam/aws4_request\n"
	    "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
	    "IAM example: string to sign");
	is_str(mr_s3_signature(a, &c, "iam", "20150830T123600Z", creq),
	    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
	    "IAM example: signature");
}

static void
get_object_example(struct mr_arena *a)
{
	static const char creq[] =
	    "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
	    "range:bytes=0-9\n"
	    "x-amz-content-sha256:" MR_S3_EMPTY_SHA256 "\n"
	    "x-amz-date:20130524T000000Z\n\n"
	    "host;range;x-amz-content-sha256;x-amz-date\n" MR_S3_EMPTY_SHA256;
	struct mr_s3_cred c = { AK, SECRET_S3, "us-east-1" };

	is_str(sts_hash(a, mr_s3_string_to_sign(a, "20130524T000000Z",
	    "us-east-1", "s3", creq)),
	    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
	    "S3 GET Object example: canonical request hash");
	is_str(mr_s3_signature(a, &c, "s3", "20130524T000000Z", creq),
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
	    "S3 GET Object example: signature");
}

static void
presign_example(struct mr_arena *a)
{
	static const char query[] =
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
	    "%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host";
	static const char sig[] =
	    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
	struct mr_s3_cred c = { AK, SECRET_S3, "us-east-1" };
	char	 ts[17], day[9];
	char	*q, *creq, *url, *want, *other;

	ok(mr_s3_amz_date(T20130524, ts, day) == 0 &&
	    strcmp(ts, "20130524T000000Z") == 0 && strcmp(day, "20130524") == 0,
	    "amz date: 20130524T000000Z / 20130524");
	q = mr_s3_presign_query(a, &c, ts, 86400);
	is_str(q, query, "presign: canonical query string, byte for byte");
	creq = mr_s3_presign_creq(a, "/test.txt", q ? q : "",
	    "examplebucket.s3.amazonaws.com");
	is_str(creq, "GET\n/test.txt\n" "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
	    "%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host\n"
	    "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD",
	    "presign: canonical request");
	is_str(sts_hash(a, mr_s3_string_to_sign(a, ts, "us-east-1", "s3",
	    creq ? creq : "")),
	    "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
	    "presign: SHA-256 of the canonical request (storage.md 6.4)");
	is_str(mr_s3_signature(a, &c, "s3", ts, creq ? creq : ""), sig,
	    "presign: signature (storage.md 6.4)");
	url = mr_s3_presign_url(a, "https://examplebucket.s3.amazonaws.com",
	    "examplebucket.s3.amazonaws.com", "/test.txt", &c, T20130524,
	    86400);
	want = mr_printf(a, "https://examplebucket.s3.amazonaws.com/test.txt?"
	    "%s&X-Amz-Signature=%s", query, sig);
	is_str(url, want, "presign: the whole URL, byte for byte");

	ok(mr_s3_presign_url(a, "http://h", "h", "/b/k", &c, T20130524, 0) ==
	    NULL, "presign: X-Amz-Expires 0 refused");
	ok(mr_s3_presign_url(a, "http://h", "h", "/b/k", &c, T20130524,
	    MR_S3_EXPIRES_MAX + 1) == NULL, "presign: over 7 days refused");
	url = mr_s3_presign_url(a, "http://h", "h", "/b/k", &c, T20130524,
	    MR_S3_EXPIRES_MAX);
	ok(url != NULL && strstr(url, "&X-Amz-Expires=604800&") != NULL,
	    "presign: exactly 7 days allowed");
	url = mr_s3_presign_url(a, "http://h", "h", "/b/k", &c, T20130524, 60);
	c.secret_key = SECRET_IAM;
	other = mr_s3_presign_url(a, "http://h", "h", "/b/k", &c, T20130524,
	    60);
	ok(url != NULL && other != NULL && strcmp(url, other) != 0,
	    "presign: another secret, another URL");
}

static void
encoding(struct mr_arena *a)
{
	is_str(mr_s3_uri_encode(a, "AZaz09-._~", 0), "AZaz09-._~",
	    "encode: unreserved characters kept");
	is_str(mr_s3_uri_encode(a, "a b+c", 0), "a%20b%2Bc",
	    "encode: space and '+' as %20 and %2B");
	is_str(mr_s3_uri_encode(a, "r/\xc3\xbc\xe2\x82\xac", 1),
	    "r/%C3%BC%E2%82%AC", "encode: UTF-8 bytes, upper-case hex");
	is_str(mr_s3_uri_encode(a, "a/b", 0), "a%2Fb",
	    "encode: '/' encoded in a query value");
	is_str(mr_s3_uri_encode(a, "a/b", 1), "a/b",
	    "encode: '/' kept in a path");
	is_str(mr_s3_uri_encode(a, "%*!'()=&?#", 0),
	    "%25%2A%21%27%28%29%3D%26%3F%23",
	    "encode: reserved and sub-delims all encoded");
	is_str(mr_s3_uri_encode(a, "", 0), "", "encode: empty string");

	is_str(mr_s3_key_path(a, "bkt", "", "room/recording 1.mp4"),
	    "/bkt/room/recording%201.mp4", "path: space in a key");
	is_str(mr_s3_key_path(a, "bkt", "rec/", "r\xc3\xa4um/a+b.mp4"),
	    "/bkt/rec/r%C3%A4um/a%2Bb.mp4", "path: prefix, unicode and '+'");
	ok(mr_s3_key_path(a, "bkt", "", "a/../b") == NULL,
	    "path: '..' segment refused");
	ok(!mr_store_key_valid("") && !mr_store_key_valid("/a") &&
	    !mr_store_key_valid("a//b") && !mr_store_key_valid("a/") &&
	    !mr_store_key_valid("./a") && !mr_store_key_valid("a\nb") &&
	    !mr_store_key_valid(NULL), "key: empty, absolute, empty segment, "
	    "trailing slash, '.', control characters refused");
	ok(mr_store_key_valid("a") && mr_store_key_valid("r/recording_x.mp4") &&
	    mr_store_key_valid("..a/b.") && mr_store_key_valid("sp ace/\xc3\xa9"),
	    "key: ordinary keys accepted");
}

static void
endpoints(struct mr_arena *a)
{
	char	*base, *host;

	ok(mr_s3_endpoint(a, "http://127.0.0.1:4568", &base, &host) == 0 &&
	    strcmp(base, "http://127.0.0.1:4568") == 0 &&
	    strcmp(host, "127.0.0.1:4568") == 0,
	    "endpoint: host and port kept");
	ok(mr_s3_endpoint(a, "https://S3.Example.COM:443/", &base, &host) ==
	    0 && strcmp(base, "https://s3.example.com:443") == 0 &&
	    strcmp(host, "s3.example.com") == 0,
	    "endpoint: lower-cased, default port left out of Host");
	ok(mr_s3_endpoint(a, "http://[::1]:9000", &base, &host) == 0 &&
	    strcmp(host, "[::1]:9000") == 0, "endpoint: IPv6 literal");
	ok(mr_s3_endpoint(a, "http://h:80", &base, &host) == 0 &&
	    strcmp(host, "h") == 0, "endpoint: http default port");
	ok(mr_s3_endpoint(a, "ftp://h", &base, &host) == -1 &&
	    mr_s3_endpoint(a, "http://", &base, &host) == -1 &&
	    mr_s3_endpoint(a, "http://h/path", &base, &host) == -1 &&
	    mr_s3_endpoint(a, "http://u@h", &base, &host) == -1 &&
	    mr_s3_endpoint(a, "h:9000", &base, &host) == -1,
	    "endpoint: other schemes, paths and user info refused");
}

int
main(void)
{
	struct mr_arena	*a;

	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		return 1;
	plan(34);
	signing_keys(a);
	iam_example(a);
	get_object_example(a);
	presign_example(a);
	encoding(a);
	endpoints(a);
	mr_arena_free(a);
	return done_testing();
}
