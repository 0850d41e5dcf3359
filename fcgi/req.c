/* SPDX-License-Identifier: ISC */
/*
 * req.c - FastCGI parameters and body into struct mr_req, the query
 * string and JSON bodies, all strictly and within caps.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "fcgi.h"
#include "json.h"

#define QUERY_MAX	4096

const char *
mr_req_param(struct mr_ctx *cx, const char *name)
{
	return FCGX_GetParam(name, cx->cx_req.rq_fcgx->envp);
}

static const char *
param_or(struct mr_ctx *cx, const char *name, const char *def)
{
	const char	*v = mr_req_param(cx, name);

	return v != NULL ? v : def;
}

/*
 * Read and drop what is left of the body.  Answering before nginx has
 * sent it all makes nginx see a reset instead of our answer; nginx's own
 * client_max_body_size bounds how much this reads.
 */
void
mr_req_discard(struct mr_ctx *cx)
{
	char	 sink[8192];

	while (FCGX_GetStr(sink, sizeof(sink), cx->cx_req.rq_fcgx->in) > 0)
		;
}

/*
 * Fill cx_req from the FastCGI parameters and read the body.  The length
 * must be plain digits and at most body_max (413 otherwise, before any
 * byte is read); a short body is a 400.
 */
int
mr_req_read(struct mr_ctx *cx)
{
	struct mr_req	*rq = &cx->cx_req;
	const char	*cl;
	int64_t		 len = 0;
	int		 n;

	rq->rq_id = param_or(cx, "MEETREC_REQUEST_ID", "-");
	rq->rq_route = param_or(cx, "MEETREC_ROUTE", "");
	rq->rq_method = param_or(cx, "REQUEST_METHOD", "GET");
	rq->rq_path_id = mr_req_param(cx, "MEETREC_ID");
	rq->rq_path_sub = mr_req_param(cx, "MEETREC_SUB_ID");
	rq->rq_range = mr_req_param(cx, "HTTP_RANGE");
	rq->rq_accept = param_or(cx, "HTTP_ACCEPT", "");
	rq->rq_query = param_or(cx, "QUERY_STRING", "");
	rq->rq_remote_addr = param_or(cx, "REMOTE_ADDR", "-");
	rq->rq_user_agent = param_or(cx, "HTTP_USER_AGENT", "");
	rq->rq_auth = mr_req_param(cx, "HTTP_AUTHORIZATION");
	rq->rq_content_type = param_or(cx, "CONTENT_TYPE", "");
	rq->rq_body = NULL;
	rq->rq_bodylen = 0;

	cl = mr_req_param(cx, "CONTENT_LENGTH");
	if (cl != NULL && *cl != '\0') {
		for (const char *p = cl; *p != '\0'; p++)
			if (!isdigit((unsigned char)*p)) {
				mr_req_discard(cx);
				return mr_err_set(&cx->cx_err, 400,
				    "invalid_length",
				    "Content-Length is not a number.");
			}
		if (strlen(cl) > 12 || mr_parse_int64(cl, 0,
		    cx->cx_env->conf->cf_body_max, &len) == -1) {
			mr_req_discard(cx);
			return mr_err_set(&cx->cx_err, 413, "body_too_large",
			    "The request body is larger than %lld bytes.",
			    (long long)cx->cx_env->conf->cf_body_max);
		}
	}
	if ((rq->rq_body = mr_alloc(cx->cx_arena, (size_t)len + 1)) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	n = len > 0 ? FCGX_GetStr(rq->rq_body, (int)len, rq->rq_fcgx->in) : 0;
	if (n != len)
		return mr_err_set(&cx->cx_err, 400, "short_body",
		    "The request body is shorter than its Content-Length.");
	rq->rq_body[len] = '\0';
	rq->rq_bodylen = (size_t)len;
	return 0;
}

/*
 * A HEAD request: answered as GET without the body, and it fetches
 * nothing, so it is neither audited nor counted as a view.
 */
int
mr_req_head(const struct mr_ctx *cx)
{
	return strcmp(cx->cx_req.rq_method, "HEAD") == 0;
}

/*
 * name in the query string: 1 and its decoded value, 0 when absent, -1
 * (400 invalid_query, 414 when too long) when malformed or repeated.
 */
int
mr_req_query(struct mr_ctx *cx, const char *name, const char **val)
{
	if (strlen(cx->cx_req.rq_query) > QUERY_MAX)
		return mr_err_set(&cx->cx_err, 414, "query_too_long",
		    "The query string is too long.");
	return mr_query_get(cx->cx_arena, cx->cx_req.rq_query, name, val,
	    &cx->cx_err);
}

/* name in an application/x-www-form-urlencoded body; as mr_req_query(). */
int
mr_req_form(struct mr_ctx *cx, const char *name, const char **val)
{
	if (strlen(cx->cx_req.rq_body) != cx->cx_req.rq_bodylen)
		return mr_err_set(&cx->cx_err, 400, "invalid_body",
		    "The form holds a NUL byte.");
	return mr_query_get(cx->cx_arena, cx->cx_req.rq_body, name, val,
	    &cx->cx_err);
}

/* Query parameter limit in *out (left as it is when absent), 1 to max. */
int
mr_req_limit(struct mr_ctx *cx, int64_t max, int64_t *out)
{
	const char	*v;
	int		 rc;

	if ((rc = mr_req_query(cx, "limit", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 1, max, out) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'limit' must be from 1 to %lld.",
		    (long long)max);
	return 0;
}

/* Refuse query parameters not in allowed (NULL-terminated). */
int
mr_req_query_check(struct mr_ctx *cx, const char *const *allowed)
{
	return mr_query_check(cx->cx_req.rq_query, allowed, &cx->cx_err);
}

/* A body for an action that takes no fields: empty, or {}. */
int
mr_req_no_fields(struct mr_ctx *cx)
{
	static const char *const none[] = { NULL };

	if (cx->cx_req.rq_bodylen > 0 && mr_req_json(cx, none) == NULL)
		return -1;
	return 0;
}

/* The body as a JSON object with only the allowed keys, or NULL. */
struct json_object *
mr_req_json(struct mr_ctx *cx, const char *const *allowed)
{
	struct json_object	*obj;

	obj = mr_json_parse(cx->cx_arena, cx->cx_req.rq_body,
	    cx->cx_req.rq_bodylen, &cx->cx_err);
	if (obj == NULL || mr_json_check_keys(obj, allowed, &cx->cx_err) == -1)
		return NULL;
	return obj;
}

/* The recording id captured by nginx, which must be a UUID. */
int
mr_req_path_uuid(struct mr_ctx *cx, const char **id)
{
	const char	*v = cx->cx_req.rq_path_id;

	if (v == NULL || !mr_uuid_valid(v))
		return mr_err_set(&cx->cx_err, 400, "invalid_id",
		    "The recording id in the path is not a valid UUID.");
	/* Lower case, so it compares equal to what PostgreSQL prints. */
	*id = mr_strdup(cx->cx_arena, v);
	if (*id == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	for (char *p = (char *)(uintptr_t)*id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	cx->cx_rec = *id;
	return 0;
}
