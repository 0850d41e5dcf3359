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
static void
discard_body(struct mr_ctx *cx)
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
				discard_body(cx);
				return mr_err_set(&cx->cx_err, 400,
				    "invalid_length",
				    "Content-Length is not a number.");
			}
		if (strlen(cl) > 12 || mr_parse_int64(cl, 0,
		    cx->cx_env->conf->cf_body_max, &len) == -1) {
			discard_body(cx);
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

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %xx and '+'; a malformed escape or a NUL is an error. */
static char *
url_decode(struct mr_arena *a, const char *s, size_t n)
{
	char	*out, *o;
	int	 hi, lo;

	if ((out = o = mr_alloc(a, n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n ||
			    (hi = hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)s[i + 2])) == -1 ||
			    (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/*
 * Find name in an "a=1&b=2" string (what names the string in errors).
 * Returns 1 and the decoded value, 0 when absent, -1 (400 invalid_query)
 * when the string is malformed or the name is repeated.
 */
static int
find_param(struct mr_ctx *cx, const char *q, const char *what,
    const char *name, const char **val)
{
	const char	*amp, *eq;
	size_t		 nl = strlen(name), len;
	int		 found = 0;

	if (strlen(q) > QUERY_MAX)
		return mr_err_set(&cx->cx_err, 414, "query_too_long",
		    "The %s is too long.", what);
	while (*q != '\0') {
		amp = strchr(q, '&');
		len = amp ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', len);
		if (eq != NULL && (size_t)(eq - q) == nl &&
		    memcmp(q, name, nl) == 0) {
			if (found++)
				return mr_err_set(&cx->cx_err, 400,
				    "invalid_query",
				    "Parameter '%s' is repeated.", name);
			*val = url_decode(cx->cx_arena, eq + 1,
			    len - nl - 1);
			if (*val == NULL)
				return mr_err_set(&cx->cx_err, 400,
				    "invalid_query", "Parameter '%s' is "
				    "not correctly encoded.", name);
		}
		q += len + (amp != NULL);
	}
	return found;
}

/* name in the query string; as find_param(). */
int
mr_req_query(struct mr_ctx *cx, const char *name, const char **val)
{
	return find_param(cx, cx->cx_req.rq_query, "query string", name, val);
}

/* name in an application/x-www-form-urlencoded body; as find_param(). */
int
mr_req_form(struct mr_ctx *cx, const char *name, const char **val)
{
	if (strlen(cx->cx_req.rq_body) != cx->cx_req.rq_bodylen)
		return mr_err_set(&cx->cx_err, 400, "invalid_body",
		    "The form holds a NUL byte.");
	return find_param(cx, cx->cx_req.rq_body, "form", name, val);
}

/* Refuse query parameters not in allowed (NULL-terminated). */
int
mr_req_query_check(struct mr_ctx *cx, const char *const *allowed)
{
	const char	*q = cx->cx_req.rq_query, *amp, *eq;
	const char *const *p;
	size_t		 len, kl;

	while (*q != '\0') {
		amp = strchr(q, '&');
		len = amp ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', len);
		kl = eq ? (size_t)(eq - q) : len;
		if (len > 0) {
			for (p = allowed; *p != NULL; p++)
				if (strlen(*p) == kl && memcmp(*p, q, kl) == 0)
					break;
			if (*p == NULL)
				return mr_err_set(&cx->cx_err, 400,
				    "invalid_query", "Unknown query parameter "
				    "'%.*s'.", (int)(kl > 32 ? 32 : kl), q);
		}
		q += len + (amp != NULL);
	}
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
