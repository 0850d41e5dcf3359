/* SPDX-License-Identifier: ISC */
/*
 * link.c - the signature of a signed link (fcgi/link.c checks them): an
 * HMAC-SHA256 over what the link is for (kind), what it names (subject),
 * who it was given to (who) and when it expires.  The key is
 * url_signing_secret, or else derived from jwt_secret, so every API host
 * and reaper of one installation makes and accepts the same links.
 */
#include "config.h"

#include <string.h>

#include "mr.h"
#include "conf.h"
#include "link.h"

#define LABEL	"meetrec signed links v1"

int
mr_link_key(const struct mr_conf *conf, unsigned char *key)
{
	const char	*secret = conf->cf_url_signing_secret != NULL ?
	    conf->cf_url_signing_secret : conf->cf_jwt_secret;

	if (secret == NULL)
		return -1;
	return mr_hmac_sha256(secret, strlen(secret), LABEL, strlen(LABEL),
	    key);
}

/* The MAC of a link into out; 0 or -1. */
int
mr_link_mac(struct mr_arena *a, const unsigned char *key, const char *kind,
    const char *subject, const char *who, int64_t expires,
    unsigned char out[MR_SHA256_LEN])
{
	char	*msg;

	msg = mr_printf(a, "%s\n%s\n%s\n%lld", kind, subject, who,
	    (long long)expires);
	if (msg == NULL)
		return -1;
	return mr_hmac_sha256(key, MR_LINK_KEYLEN, msg, strlen(msg), out);
}

/* The signature (base64url) of a link, in a; NULL out of memory. */
char *
mr_link_sig(struct mr_arena *a, const unsigned char *key, const char *kind,
    const char *subject, const char *who, int64_t expires)
{
	unsigned char	 m[MR_SHA256_LEN];

	if (mr_link_mac(a, key, kind, subject, who, expires, m) == -1)
		return NULL;
	return mr_b64url_encode(a, m, sizeof(m));
}
