/* SPDX-License-Identifier: ISC */
/*
 * link.h - signed links (link.c).
 */
#ifndef MR_LINK_H
#define MR_LINK_H

#include <stdint.h>

#include "mr.h"
#include "conf.h"

#define MR_LINK_KEYLEN	32	/* the key signed links are made with */

int	 mr_link_key(const struct mr_conf *, unsigned char *key);
int	 mr_link_mac(struct mr_arena *, const unsigned char *key,
	    const char *kind, const char *subject, const char *who,
	    int64_t expires, unsigned char out[MR_SHA256_LEN]);
char	*mr_link_sig(struct mr_arena *, const unsigned char *key,
	    const char *kind, const char *subject, const char *who,
	    int64_t expires);

#endif /* MR_LINK_H */
