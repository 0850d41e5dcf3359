/* SPDX-License-Identifier: ISC */
/*
 * auth.h - who is calling: the Bearer JWT of a request turned into a
 * user (SPEC section 3).
 */
#ifndef MR_AUTH_H
#define MR_AUTH_H

#include "mr.h"
#include "jwt.h"

struct mr_user {
	const char	*id;		/* UUID text */
	const char	*username;
	const char	*email;
	const char	*company_id;	/* UUID text */
	int		 is_admin;
};

/*
 * Authenticate the Authorization header value hdr ("Bearer <jwt>") with
 * verifier v.  Fills u with strings owned by arena a.  Returns 0, or -1
 * with err 401 (invalid_token, or missing_token when there is none).
 */
int	mr_auth_bearer(struct mr_arena *a, const char *hdr,
	    const struct mr_jwt_verifier *v, struct mr_user *u,
	    struct mr_err *err);

#endif /* MR_AUTH_H */
