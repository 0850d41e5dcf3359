/* SPDX-License-Identifier: ISC */
/*
 * resp.c - the only writer of responses.  Handlers fill cx_resp (or
 * cx_err); mr_resp_send() writes status, headers and body once.  Error
 * bodies are always {"detail": ..., "code": ...}.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fcgi.h"
#include "json.h"

#define JSON_TYPE	"application/json; charset=utf-8"

int
mr_resp_header(struct mr_ctx *cx, const char *h)
{
	if (h == NULL || cx->cx_resp.nheaders == MR_RESP_MAXHDR)
		return -1;
	cx->cx_resp.headers[cx->cx_resp.nheaders++] = h;
	return 0;
}

/* Answer status with obj serialised; obj is owned by the arena. */
int
mr_resp_json(struct mr_ctx *cx, int status, struct json_object *obj)
{
	char	*s;

	if (obj == NULL || (s = mr_json_dump(cx->cx_arena, obj)) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	cx->cx_resp.status = status;
	cx->cx_resp.content_type = JSON_TYPE;
	cx->cx_resp.body = s;
	cx->cx_resp.bodylen = strlen(s);
	return 0;
}

/* Answer status with body (len bytes, held by the arena) of type. */
int
mr_resp_text(struct mr_ctx *cx, int status, const char *type,
    const char *body, size_t len)
{
	cx->cx_resp.status = status;
	cx->cx_resp.content_type = type;
	cx->cx_resp.body = body;
	cx->cx_resp.bodylen = len;
	return 0;
}

/*
 * A field of a CSV line (RFC 4180) into b: quoted when it must be, '"'
 * doubled; a text a spreadsheet would run as a formula gets a leading
 * "'".  NULL is an empty field.  -1 when the buffer is full.
 */
int
mr_resp_csv_field(struct mr_buf *b, const char *s, int last)
{
	int	 rc = 0;

	if (s != NULL && *s != '\0' && strchr("=+-@", *s) != NULL)
		rc |= mr_buf_adds(b, "'");
	if (s != NULL && strpbrk(s, ",\"\r\n") != NULL) {
		rc |= mr_buf_adds(b, "\"");
		for (; *s != '\0'; s++)
			rc |= mr_buf_add(b, s, 1) |
			    (*s == '"' ? mr_buf_add(b, s, 1) : 0);
		rc |= mr_buf_adds(b, "\"");
	} else if (s != NULL)
		rc |= mr_buf_adds(b, s);
	rc |= mr_buf_adds(b, last ? "\n" : ",");
	return rc == 0 ? 0 : -1;
}

/* Answer status with the text of w (json.h), which the arena holds. */
int
mr_resp_jw(struct mr_ctx *cx, int status, struct mr_jw *w)
{
	const char	*s;
	size_t		 len;

	if (w == NULL || (s = mr_jw_text(w, &len)) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	cx->cx_resp.status = status;
	cx->cx_resp.content_type = JSON_TYPE;
	cx->cx_resp.body = s;
	cx->cx_resp.bodylen = len;
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 500 ? "Client Error" : "Server Error";
	}
}

/* Turn cx_err into the error body; a missing status is a bug: 500. */
static void
error_body(struct mr_ctx *cx)
{
	struct mr_err		*e = &cx->cx_err;
	struct json_object	*o;

	if (e->status < 400 || e->status > 599 || e->code == NULL) {
		mr_log_warnx("req=%s handler failed without a status: %s",
		    cx->cx_req.rq_id, e->cause);
		mr_err_set(e, 500, "internal", "Internal error.");
	}
	o = mr_json_own(cx->cx_arena, json_object_new_object());
	if (o != NULL) {
		json_object_object_add(o, "detail",
		    json_object_new_string(e->detail));
		json_object_object_add(o, "code",
		    json_object_new_string(e->code));
	}
	if (o == NULL || mr_resp_json(cx, e->status, o) == -1) {
		/* Out of memory: a fixed body still answers the client. */
		cx->cx_resp.status = 500;
		cx->cx_resp.content_type = JSON_TYPE;
		cx->cx_resp.body =
		    "{\"detail\":\"Internal error.\",\"code\":\"internal\"}";
		cx->cx_resp.bodylen = strlen(cx->cx_resp.body);
	}
	/* Do not let a failing call cache anything. */
	if (e->status >= 500)
		mr_resp_header(cx, "Retry-After: 1");
}

/* libfcgi's own printf knows few conversions: format here instead. */
static void
put(FCGX_Stream *out, const char *fmt, ...) MR_PRINTF(2, 3);

static void
put(FCGX_Stream *out, const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	FCGX_PutStr(buf, n, out);
}

void
mr_resp_send(struct mr_ctx *cx)
{
	struct mr_resp	*r = &cx->cx_resp;
	FCGX_Stream	*out = cx->cx_req.rq_fcgx->out;

	if (r->status == 0)
		error_body(cx);
	put(out, "Status: %d %s\r\n", r->status, reason(r->status));
	if (r->content_type != NULL)
		put(out, "Content-Type: %s\r\n", r->content_type);
	put(out, "Content-Length: %zu\r\n", r->bodylen);
	put(out, "Cache-Control: no-store\r\n");
	put(out, "X-Content-Type-Options: nosniff\r\n");
	for (int i = 0; i < r->nheaders; i++)
		put(out, "%s\r\n", r->headers[i]);
	put(out, "\r\n");
	if (r->bodylen > 0 && !mr_req_head(cx))
		FCGX_PutStr(r->body, (int)r->bodylen, out);
}
