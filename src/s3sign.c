/* SPDX-License-Identifier: ISC */
/*
 * s3sign.c - AWS Signature Version 4 pieces for S3 (s3sign.h), after
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * and shared/protocols/storage.md 6.4.  Everything here is a pure
 * function of its arguments; the secret never leaves the HMAC calls.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mr.h"
#include "s3sign.h"
#include "store.h"

#define ALGORITHM	"AWS4-HMAC-SHA256"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

char *
mr_s3_uri_encode(struct mr_arena *a, const char *s, int keep_slash)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;
	size_t			 len = strlen(s);

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = mr_alloc(a, len * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '%';
		*o++ = hex[*p >> 4];
		*o++ = hex[*p & 0x0f];
	}
	*o = '\0';
	return out;
}

char *
mr_s3_key_path(struct mr_arena *a, const char *bucket, const char *prefix,
    const char *key)
{
	char	*full, *enc;

	if (!mr_store_key_valid(key) ||
	    (full = mr_printf(a, "%s/%s%s", bucket, prefix, key)) == NULL ||
	    (enc = mr_s3_uri_encode(a, full, 1)) == NULL)
		return NULL;
	return mr_printf(a, "/%s", enc);
}

int
mr_s3_endpoint(struct mr_arena *a, const char *endpoint, char **base,
    char **host)
{
	const char	*auth, *port;
	size_t		 alen, hlen;
	char		*b;
	int		 https;

	*base = *host = NULL;
	if (strncmp(endpoint, "http://", 7) == 0) {
		https = 0;
		auth = endpoint + 7;
	} else if (strncmp(endpoint, "https://", 8) == 0) {
		https = 1;
		auth = endpoint + 8;
	} else
		return -1;
	alen = strcspn(auth, "/");
	/* Only "host[:port]" and an optional lone trailing slash. */
	if (alen == 0 || (auth[alen] == '/' && auth[alen + 1] != '\0'))
		return -1;
	for (size_t i = 0; i < alen; i++)
		if (!isalnum((unsigned char)auth[i]) && auth[i] != '.' &&
		    auth[i] != '-' && auth[i] != ':' && auth[i] != '[' &&
		    auth[i] != ']')
			return -1;
	if ((b = mr_printf(a, "%.*s%.*s", https ? 8 : 7, endpoint,
	    (int)alen, auth)) == NULL)
		return -1;
	for (char *p = b; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	*base = b;
	/* Browsers and curl leave the default port out of Host. */
	auth = b + (https ? 8 : 7);
	hlen = alen;
	port = strrchr(auth, ':');
	if (port != NULL && strchr(port, ']') == NULL &&
	    strcmp(port, https ? ":443" : ":80") == 0)
		hlen = (size_t)(port - auth);
	if ((*host = mr_strndup(a, auth, hlen)) == NULL)
		return -1;
	return 0;
}

int
mr_s3_amz_date(int64_t t, char ts[17], char day[9])
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(ts, 17, "%Y%m%dT%H%M%SZ", &tm) != 16 ||
	    strftime(day, 9, "%Y%m%d", &tm) != 8)
		return -1;
	return 0;
}

int
mr_s3_signing_key(const char *secret, const char *day, const char *region,
    const char *service, unsigned char key[MR_SHA256_LEN])
{
	unsigned char	 k[MR_SHA256_LEN];
	char		 first[256];
	int		 n, rc = -1;

	n = snprintf(first, sizeof(first), "AWS4%s", secret);
	if (n < 0 || (size_t)n >= sizeof(first))
		goto fail;
	if (mr_hmac_sha256(first, (size_t)n, day, strlen(day), k) == -1 ||
	    mr_hmac_sha256(k, sizeof(k), region, strlen(region), k) == -1 ||
	    mr_hmac_sha256(k, sizeof(k), service, strlen(service), k) == -1 ||
	    mr_hmac_sha256(k, sizeof(k), "aws4_request", 12, key) == -1)
		goto fail;
	rc = 0;
fail:
	/* Intermediate keys are as good as the secret for a day. */
	explicit_bzero(first, sizeof(first));
	explicit_bzero(k, sizeof(k));
	return rc;
}

char *
mr_s3_string_to_sign(struct mr_arena *a, const char *ts, const char *region,
    const char *service, const char *creq)
{
	unsigned char	 h[MR_SHA256_LEN];
	char		*hex;

	if (strlen(ts) != 16 || mr_sha256(creq, strlen(creq), h) == -1 ||
	    (hex = mr_hex(a, h, sizeof(h))) == NULL)
		return NULL;
	return mr_printf(a, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", ts,
	    ts, region, service, hex);
}

char *
mr_s3_signature(struct mr_arena *a, const struct mr_s3_cred *c,
    const char *service, const char *ts, const char *creq)
{
	unsigned char	 key[MR_SHA256_LEN], sig[MR_SHA256_LEN];
	char		 day[9];
	char		*sts, *hex = NULL;

	if (strlen(ts) != 16)
		return NULL;
	memcpy(day, ts, 8);
	day[8] = '\0';
	if ((sts = mr_s3_string_to_sign(a, ts, c->region, service, creq)) ==
	    NULL)
		return NULL;
	if (mr_s3_signing_key(c->secret_key, day, c->region, service, key) ==
	    0 && mr_hmac_sha256(key, sizeof(key), sts, strlen(sts), sig) == 0)
		hex = mr_hex(a, sig, sizeof(sig));
	explicit_bzero(key, sizeof(key));
	return hex;
}

char *
mr_s3_presign_query(struct mr_arena *a, const struct mr_s3_cred *c,
    const char *ts, int64_t expires)
{
	char	*cred;

	if (strlen(ts) != 16 || expires < 1 || expires > MR_S3_EXPIRES_MAX)
		return NULL;
	/* The credential's slashes are encoded: it is a query value. */
	if ((cred = mr_printf(a, "%s/%.8s/%s/s3/aws4_request", c->access_key,
	    ts, c->region)) == NULL || (cred = mr_s3_uri_encode(a, cred,
	    0)) == NULL)
		return NULL;
	/* Already in byte order of the names, as SigV4 requires. */
	return mr_printf(a, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=%s"
	    "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=host",
	    cred, ts, (long long)expires);
}

char *
mr_s3_presign_creq(struct mr_arena *a, const char *uri, const char *query,
    const char *host)
{
	return mr_printf(a, "GET\n%s\n%s\nhost:%s\n\nhost\n" MR_S3_UNSIGNED,
	    uri, query, host);
}

char *
mr_s3_presign_url(struct mr_arena *a, const char *base, const char *host,
    const char *uri, const struct mr_s3_cred *c, int64_t now,
    int64_t expires)
{
	char	 ts[17], day[9];
	char	*q, *creq, *sig;

	if (mr_s3_amz_date(now, ts, day) == -1 ||
	    (q = mr_s3_presign_query(a, c, ts, expires)) == NULL ||
	    (creq = mr_s3_presign_creq(a, uri, q, host)) == NULL ||
	    (sig = mr_s3_signature(a, c, "s3", ts, creq)) == NULL)
		return NULL;
	return mr_printf(a, "%s%s?%s&X-Amz-Signature=%s", base, uri, q, sig);
}
