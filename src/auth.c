/* SPDX-License-Identifier: ISC */
/*
 * auth.c - bearer token to user (auth.h).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mr.h"
#include "auth.h"
#include "json.h"
#include "jwt.h"

/* A claim as a string of at most max bytes, or NULL. */
static const char *
claim_str(struct json_object *c, const char *name, size_t max)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(c, name, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) > max)
		return NULL;
	return json_object_get_string(v);
}

static int
has_admin(struct json_object *c)
{
	struct json_object	*v, *r;
	size_t			 i;

	if (!json_object_object_get_ex(c, "roles", &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), "admin") == 0;
	if (!json_object_is_type(v, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(v); i++) {
		r = json_object_array_get_idx(v, i);
		if (json_object_is_type(r, json_type_string) &&
		    strcmp(json_object_get_string(r), "admin") == 0)
			return 1;
	}
	return 0;
}

/* A copy of s in lower case, in arena a. */
static const char *
lower(struct mr_arena *a, const char *s)
{
	char	*l, *p;

	if ((l = mr_strdup(a, s)) == NULL)
		return NULL;
	for (p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

int
mr_auth_bearer(struct mr_arena *a, const char *hdr,
    const struct mr_jwt_verifier *v, struct mr_user *u, struct mr_err *err)
{
	struct json_object	*c;
	const char		*tok, *id;

	memset(u, 0, sizeof(*u));
	if (hdr == NULL || *hdr == '\0')
		return mr_err_set(err, 401, "missing_token",
		    "Authentication is required: send a Bearer token.");
	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return mr_err_set(err, 401, "invalid_token",
		    "The Authorization header must be 'Bearer <token>'.");
	tok = hdr + 7;
	while (*tok == ' ')
		tok++;
	if (mr_jwt_verify(a, tok, strlen(tok), v, mr_now(), &c, err) == -1)
		return -1;
	/* The user id, as the seed reads it: sub, user_id or id. */
	if ((id = claim_str(c, "sub", 64)) == NULL &&
	    (id = claim_str(c, "user_id", 64)) == NULL)
		id = claim_str(c, "id", 64);
	if (id == NULL || !mr_uuid_valid(id))
		return mr_err_set(err, 401, "invalid_token",
		    "The token does not name a user (sub must be a UUID).");
	u->company_id = claim_str(c, "company_id", 64);
	if (u->company_id == NULL || !mr_uuid_valid(u->company_id))
		return mr_err_set(err, 401, "invalid_token",
		    "The token does not name a company (company_id must be "
		    "a UUID).");
	/*
	 * UUIDs are compared as strings with what PostgreSQL prints, which
	 * is lower case; a token may carry them in upper case (RFC 4122 3).
	 */
	if ((u->id = lower(a, id)) == NULL ||
	    (u->company_id = lower(a, u->company_id)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	u->username = claim_str(c, "username", 255);
	u->email = claim_str(c, "email", 255);
	u->is_admin = has_admin(c);
	return 0;
}
