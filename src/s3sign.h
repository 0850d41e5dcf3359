/* SPDX-License-Identifier: ISC */
/*
 * s3sign.h - the pure parts of AWS Signature Version 4 for S3: URI
 * encoding, the signing key, signatures over a canonical request, and
 * presigned GET URLs.  No network and no global state, so every piece
 * can be checked against AWS's published examples (t/unit/test-s3sign.c).
 * Request headers are signed by libcurl (CURLOPT_AWS_SIGV4, store_s3.c);
 * libcurl never presigns, which is what this file is for.
 */
#ifndef MR_S3SIGN_H
#define MR_S3SIGN_H

#include <stdint.h>

#include "mr.h"

/* SHA-256 of nothing: the payload hash of bodiless requests. */
#define MR_S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MR_S3_UNSIGNED		"UNSIGNED-PAYLOAD"
/* The longest X-Amz-Expires S3 accepts: 7 days. */
#define MR_S3_EXPIRES_MAX	604800

struct mr_s3_cred {
	const char	*access_key;
	const char	*secret_key;
	const char	*region;
};

/* s3sign.c */
/*
 * s as SigV4 wants it in a path or query: A-Z a-z 0-9 - . _ ~ as they
 * are, every other byte (UTF-8 included) as %XX with upper-case hex, and
 * '/' kept when keep_slash.  In arena a; NULL when out of memory.
 */
char	*mr_s3_uri_encode(struct mr_arena *a, const char *s, int keep_slash);
/*
 * The canonical path of an object, path-style: "/" bucket "/" prefix key,
 * each segment encoded.  prefix is "" or ends in '/'.  In a; NULL for an
 * invalid key (see mr_store_key_valid: curl, proxies and
 * browsers would rewrite other paths and break the signature) or no memory.
 */
char	*mr_s3_key_path(struct mr_arena *a, const char *bucket,
	    const char *prefix, const char *key);
/*
 * Split an endpoint "http[s]://host[:port][/]" into base (scheme and
 * authority as given, lower-cased, no trailing slash) and host (the Host
 * header value a client sends: the default port dropped).  Both in a.
 * Returns -1 for anything else (a path, user info, another scheme).
 */
int	 mr_s3_endpoint(struct mr_arena *a, const char *endpoint, char **base,
	    char **host);
/* t (Unix seconds, UTC) as "YYYYMMDD'T'HHMMSS'Z'" and "YYYYMMDD". */
int	 mr_s3_amz_date(int64_t t, char ts[17], char day[9]);
/* kSigning = HMAC chain over "AWS4" secret, day, region, service. */
int	 mr_s3_signing_key(const char *secret, const char *day,
	    const char *region, const char *service,
	    unsigned char key[MR_SHA256_LEN]);
/*
 * The string to sign for a canonical request: algorithm, ts, scope
 * "<day>/<region>/<service>/aws4_request" and the hex SHA-256 of creq.
 * In a.
 */
char	*mr_s3_string_to_sign(struct mr_arena *a, const char *ts,
	    const char *region, const char *service, const char *creq);
/* The hex signature of canonical request creq made at ts.  In a. */
char	*mr_s3_signature(struct mr_arena *a, const struct mr_s3_cred *c,
	    const char *service, const char *ts, const char *creq);
/*
 * The sorted query of a presigned GET before X-Amz-Signature:
 * X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires and
 * X-Amz-SignedHeaders=host.  In a.
 */
char	*mr_s3_presign_query(struct mr_arena *a, const struct mr_s3_cred *c,
	    const char *ts, int64_t expires);
/* Its canonical request: GET, uri, query, host, UNSIGNED-PAYLOAD. */
char	*mr_s3_presign_creq(struct mr_arena *a, const char *uri,
	    const char *query, const char *host);
/*
 * A presigned GET URL "<base><uri>?<query>&X-Amz-Signature=<sig>" valid
 * for expires seconds (1 to MR_S3_EXPIRES_MAX) from now.  uri is the
 * canonical path, already encoded ("/bucket/key"); host is what the
 * client will send in Host.  In a; NULL for a bad expiry or no memory.
 */
char	*mr_s3_presign_url(struct mr_arena *a, const char *base,
	    const char *host, const char *uri, const struct mr_s3_cred *c,
	    int64_t now, int64_t expires);

#endif /* MR_S3SIGN_H */
