/* SPDX-License-Identifier: ISC */
/*
 * link.c - signed links: URLs that work without an Authorization header
 * (a <video src>, an <a href>) until they expire.  The signature is an
 * HMAC-SHA256 over what the link is for (kind), what it names (subject),
 * who it was given to (who) and when it expires, compared in constant
 * time.  Changing any of them, the expiry included, breaks it.
 *
 * The key and the MAC are src/link.c's, which the reaper shares.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "fcgi.h"

/* The MAC of a link with the worker's key. */
static int
mac(struct mr_ctx *cx, const char *kind, const char *subject,
    const char *who, int64_t expires, unsigned char out[MR_SHA256_LEN])
{
	return mr_link_mac(cx->cx_arena, cx->cx_env->linkkey, kind, subject,
	    who, expires, out);
}

/* The signature (base64url) of a link, or NULL. */
char *
mr_link_sign(struct mr_ctx *cx, const char *kind, const char *subject,
    const char *who, int64_t expires)
{
	return mr_link_sig(cx->cx_arena, cx->cx_env->linkkey, kind, subject,
	    who, expires);
}

/*
 * Check the expires and sig query values of a link.  0 when the link is
 * good; -1 with 403 invalid_link or link_expired.
 */
int
mr_link_check(struct mr_ctx *cx, const char *kind, const char *subject,
    const char *who, const char *expires, const char *sig)
{
	unsigned char	 want[MR_SHA256_LEN], *got;
	size_t		 gotlen;
	int64_t		 exp;

	if (expires == NULL || sig == NULL ||
	    mr_parse_int64(expires, 0, INT64_MAX, &exp) == -1 ||
	    strlen(sig) != 43 ||
	    mr_b64url_decode(cx->cx_arena, sig, strlen(sig), &got,
	    &gotlen) == -1 || gotlen != sizeof(want) ||
	    mac(cx, kind, subject, who, exp, want) == -1 ||
	    !mr_ct_equal(want, got, sizeof(want)))
		return mr_err_set(&cx->cx_err, 403, "invalid_link",
		    "This link is not valid: it was changed or not made "
		    "here.");
	if (exp < (int64_t)time(NULL))
		return mr_err_set(&cx->cx_err, 403, "link_expired",
		    "This link has expired; ask for a new one.");
	return 0;
}
