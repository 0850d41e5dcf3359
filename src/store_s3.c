/* SPDX-License-Identifier: ISC */
/*
 * store_s3.c - recordings in an S3-compatible bucket (AWS S3, MinIO, Ceph
 * RGW, ...), addressed path-style: {endpoint}/{bucket}/{prefix}{key}.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4), which on Debian 12's
 * curl 7.88.1 only works within the rules of shared/protocols/storage.md
 * 6.1: we always send x-amz-content-sha256 ourselves, write every query
 * string already canonical (sorted, "uploads=" with its '='), and never
 * put header-removal entries such as "Expect:" in a signed request.
 * Presigned GET URLs are made by hand in s3sign.c.
 *
 * Up to s3_multipart_threshold bytes go in one streamed PUT; above, a
 * multipart upload (initiate, one PUT per part, complete) that is aborted
 * when any step fails.  Bodies stream straight from the source (a file
 * read with pread(2)) into curl's upload buffer, so memory stays flat
 * whatever the size.
 * After every upload a HEAD checks the stored size.
 *
 * A new multipart upload first aborts those a crashed put of the same
 * key left behind (ListMultipartUploads); it does not resume them.  The
 * bucket's AbortIncompleteMultipartUpload lifecycle rule remains the
 * fallback for a key that is never tried again.  Not here: sharing (S3
 * has no accounts of ours).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "mr.h"
#include "conf.h"
#include "s3sign.h"
#include "store.h"

#define S3_NS		"http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_NS_ALT	"http://doc.s3.amazonaws.com/2006-03-01/"
#define RESP_MAX	(64 * 1024)	/* error and result documents */
#define URL_MAX		8192
#define UPLOAD_BUF	(256 * 1024)	/* curl's upload buffer: our window */
#define PUT_MAX		((off_t)5 << 30)	/* one PUT: 5 GiB at most */
#define PARTS_MAX	10000
#define TRIES		3		/* per PUT, for 5xx and transport */
#define CONNECT_MS	10000L
#define SHORT_MS	60000L		/* HEAD, DELETE, initiate, abort */
#define STALL_SECONDS	60L		/* under 1 KiB/s this long: give up */

struct s3 {
	char			*base;		/* "https://host[:port]" */
	char			*host;		/* Host as a browser sends it */
	char			*bucket;
	char			*prefix;	/* "" or ending in '/' */
	char			*userpwd;	/* "access:secret", for curl */
	char			*sigv4;		/* "aws:amz:<region>:s3" */
	struct mr_s3_cred	 cred;
	off_t			 threshold;
	off_t			 part_size;
	long			 timeout_ms;
	CURL			*curl;		/* kept: keeps the connection */
};

struct req {
	const char	*method;
	const char	*path;		/* canonical: "/bucket/key", encoded */
	const char	*query;		/* canonical, or NULL */
	const char	*sha256;	/* x-amz-content-sha256 */
	const char	*content_type;	/* or NULL */
	const char	*meta_sha256;	/* x-amz-meta-sha256, or NULL */
	const char	*range;		/* Range, or NULL */
	const char	*copy_source;	/* x-amz-copy-source, or NULL */
	const char	*copy_if_match;	/* its ETag must be this, or NULL */
	const char	*body;		/* POST body, or NULL */
	size_t		 bodylen;
	long		 timeout_ms;
	/* Streamed PUT body: len bytes of src from off. */
	const struct mr_src *src;
	off_t		 off;
	off_t		 len;
	off_t		 pos;		/* read so far */
	int		 rderr;		/* 0 a failed read (srcerr says
					   why), ECANCELED, or -1 */
	struct mr_err	 srcerr;
	int		(*progress)(void *, off_t);
	void		*progress_arg;
};

struct resp {
	long		 status;
	struct mr_buf	 body;		/* capped at RESP_MAX, truncated */
	/* A ranged GET's 206 body goes here instead: sinkcap at most. */
	unsigned char	*sink;
	size_t		 sinkcap;
	size_t		 sinkgot;
	int		 sinkover;	/* more came than asked for */
	char		 etag[256];
	char		 meta_sha256[80];
	curl_off_t	 length;	/* Content-Length, or -1 */
};

static int	s3_do(struct s3 *, struct req *, struct resp *,
		    struct mr_err *);

static void
req_init(struct req *rq, const char *method, const char *path,
    const char *query, const char *sha256)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->path = path;
	rq->query = query;
	rq->sha256 = sha256;
	rq->src = NULL;
	rq->rderr = -1;
	rq->timeout_ms = SHORT_MS;
}

static void
resp_init(struct resp *rs)
{
	memset(rs, 0, sizeof(*rs));
	mr_buf_init(&rs->body, RESP_MAX);
	rs->length = -1;
}

/*
 * An element named name in no namespace or S3's (servers differ: s3rver
 * writes its list results in "http://doc.s3.amazonaws.com/2006-03-01/").
 */
static int
s3_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    xmlStrcmp(n->name, (const xmlChar *)name) == 0 &&
	    (n->ns == NULL || n->ns->href == NULL ||
	    xmlStrcmp(n->ns->href, (const xmlChar *)S3_NS) == 0 ||
	    xmlStrcmp(n->ns->href, (const xmlChar *)S3_NS_ALT) == 0);
}

/* Parse an S3 XML document: no network, no entities, no DTD, no noise. */
static xmlDoc *
xml_read(const struct mr_buf *b)
{
	if (b->len == 0 || b->len > INT_MAX)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The text of the first child element of n named name, in a, or NULL. */
static char *
xml_child(struct mr_arena *a, const xmlNode *n, const char *name)
{
	xmlChar	*t;
	char	*v = NULL;

	for (n = n->children; n != NULL; n = n->next) {
		if (!s3_elem(n, name))
			continue;
		if ((t = xmlNodeGetContent(n)) != NULL) {
			v = mr_strdup(a, (const char *)t);
			xmlFree(t);
		}
		break;
	}
	return v;
}

/*
 * Look at an S3 XML document: returns 1 when its root is root (and then
 * *text is the text of its first child element named child, in a, or
 * NULL), 0 when the root is something else, -1 when it does not parse.
 */
static int
xml_get(struct mr_arena *a, const struct mr_buf *b, const char *root,
    const char *child, char **text)
{
	xmlDoc		*doc;
	xmlNode		*r;
	int		 rc = 0;

	*text = NULL;
	if ((doc = xml_read(b)) == NULL)
		return -1;
	if ((r = xmlDocGetRootElement(doc)) != NULL && s3_elem(r, root)) {
		rc = 1;
		*text = xml_child(a, r, child);
	}
	xmlFreeDoc(doc);
	return rc;
}

/*
 * Turn an S3 answer we did not want into err.  The status and the S3
 * error code decide: credentials (403) and a missing bucket are the
 * operator's to fix, anything else is reported with its code.
 */
static int
s3_fail(struct mr_arena *a, const struct req *rq, const struct resp *rs,
    struct mr_err *err)
{
	char	*code = NULL, *msg = NULL;

	if (xml_get(a, &rs->body, "Error", "Code", &code) == 1)
		xml_get(a, &rs->body, "Error", "Message", &msg);
	mr_err_cause(err, "%s %s%s%s: HTTP %ld %s%s%s", rq->method, rq->path,
	    rq->query ? "?" : "", rq->query ? rq->query : "", rs->status,
	    code ? code : "", msg ? ": " : "", msg ? msg : "");
	if (rs->status == 403 || (code != NULL &&
	    (strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidAccessKeyId") == 0)))
		return mr_err_set(err, 502, "storage_auth", "The storage "
		    "refused our credentials (S3 %s).",
		    code ? code : "HTTP 403");
	if (code != NULL && strcmp(code, "NoSuchBucket") == 0)
		return mr_err_set(err, 502, "storage_config", "The storage "
		    "bucket does not exist (S3 NoSuchBucket).");
	return mr_err_set(err, 502, "storage_error", "The storage refused "
	    "the request (HTTP %ld%s%s).", rs->status, code ? " " : "",
	    code ? code : "");
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp	*rs = arg;
	size_t		 len = size * nmemb, room;

	if (rs->sink != NULL && rs->status == 206) {
		room = rs->sinkcap - rs->sinkgot;
		if (len > room) {
			rs->sinkover = 1;
			return 0;	/* a failed write ends the transfer */
		}
		memcpy(rs->sink + rs->sinkgot, p, len);
		rs->sinkgot += len;
		return len;
	}
	/* Only error and result documents are read: keep the start. */
	room = rs->body.cap > rs->body.len ? rs->body.cap - rs->body.len : 0;
	if (room > 0)
		mr_buf_add(&rs->body, p, len < room ? len : room);
	return len;
}

/* Copy a header's value (trimmed) into dst when the line is name. */
static void
header_value(const char *p, size_t len, const char *name, char *dst,
    size_t dstlen)
{
	size_t	 nl = strlen(name);

	if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	p += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	if (len < dstlen) {
		memcpy(dst, p, len);
		dst[len] = '\0';
	}
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp	*rs = arg;
	size_t		 len = size * nmemb;

	/* A new status line (after "100 Continue"): forget the old. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		const char	*sp = memchr(p, ' ', len);

		rs->etag[0] = '\0';
		rs->meta_sha256[0] = '\0';
		/* The body callback must know a 206 from an error. */
		rs->status = sp != NULL && (size_t)(sp - p) + 4 <= len &&
		    isdigit((unsigned char)sp[1]) ? strtol(sp + 1, NULL, 10) :
		    0;
	}
	header_value(p, len, "etag", rs->etag, sizeof(rs->etag));
	header_value(p, len, "x-amz-meta-sha256", rs->meta_sha256,
	    sizeof(rs->meta_sha256));
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct req	*rq = arg;
	size_t		 want = size * nitems;
	ssize_t		 n;

	if (rq->pos >= rq->len)
		return 0;
	if ((off_t)want > rq->len - rq->pos)
		want = (size_t)(rq->len - rq->pos);
	mr_err_clear(&rq->srcerr);
	if (mr_store_read(rq->src, rq->off + rq->pos, buf, want,
	    &rq->srcerr) == -1) {
		/* The source could not be read: not S3's fault. */
		rq->rderr = 0;
		return CURL_READFUNC_ABORT;
	}
	n = (ssize_t)want;
	rq->pos += n;
	if (rq->progress != NULL &&
	    rq->progress(rq->progress_arg, rq->off + rq->pos) == -1) {
		rq->rderr = ECANCELED;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

/* curl rewinds when it must send the body again (a redirect, a 417). */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct req	*rq = arg;

	if (origin != SEEK_SET || offset < 0 || offset > rq->len)
		return CURL_SEEKFUNC_FAIL;
	rq->pos = (off_t)offset;
	return CURL_SEEKFUNC_OK;
}

static struct curl_slist *
add_header(struct curl_slist **hl, const char *name, const char *value)
{
	struct curl_slist	*tmp;
	char			 line[512];
	int			 n;

	n = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(line))
		return NULL;
	if ((tmp = curl_slist_append(*hl, line)) == NULL)
		return NULL;
	return *hl = tmp;
}

/*
 * Send one signed request.  Returns 0 with rs filled whatever the HTTP
 * status (the caller judges it), or -1 with err set when no answer came:
 * 504 storage_timeout, 502 storage_unreachable, 500 io_error when the
 * file could not be read.  The caller frees rs->body.
 */
static int
s3_do(struct s3 *s, struct req *rq, struct resp *rs, struct mr_err *err)
{
	CURL			*c;
	struct curl_slist	*hl = NULL;
	struct mr_buf		 url;
	CURLcode		 cc;
	char			 ebuf[CURL_ERROR_SIZE] = "";
	int64_t			 t0 = mr_now_ms();
	int			 rc = -1;

	mr_buf_init(&url, URL_MAX);
	rs->status = 0;
	rs->length = -1;
	rs->etag[0] = rs->meta_sha256[0] = '\0';
	mr_buf_reset(&rs->body);
	if (s->curl == NULL && (s->curl = curl_easy_init()) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	c = s->curl;
	curl_easy_reset(c);
	if (mr_buf_addf(&url, "%s%s%s%s", s->base, rq->path,
	    rq->query ? "?" : "", rq->query ? rq->query : "") == -1 ||
	    add_header(&hl, "x-amz-content-sha256", rq->sha256) == NULL ||
	    (rq->content_type != NULL && add_header(&hl, "Content-Type",
	    rq->content_type) == NULL) ||
	    (rq->meta_sha256 != NULL && add_header(&hl, "x-amz-meta-sha256",
	    rq->meta_sha256) == NULL) ||
	    (rq->range != NULL && add_header(&hl, "Range", rq->range) ==
	    NULL) ||
	    (rq->copy_source != NULL && (add_header(&hl, "x-amz-copy-source",
	    rq->copy_source) == NULL || add_header(&hl,
	    "x-amz-metadata-directive", "REPLACE") == NULL)) ||
	    (rq->copy_if_match != NULL && add_header(&hl,
	    "x-amz-copy-source-if-match", rq->copy_if_match) == NULL)) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	/* The path is signed as it is: curl must not squash anything. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    rq->timeout_ms < CONNECT_MS ? rq->timeout_ms : CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	if (strcmp(rq->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    rq->body != NULL ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->bodylen);
	} else if (strcmp(rq->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, rq);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, rq);
		/* S3 wants a Content-Length: never chunked encoding. */
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)rq->len);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE,
		    (long)UPLOAD_BUF);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
		rq->pos = 0;
		rq->rderr = -1;
	} else if (strcmp(rq->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (rq->rderr == ECANCELED) {
			MR_STORE_CANCELLED(err);
			goto fail;
		}
		if (rq->rderr != -1) {
			*err = rq->srcerr;
			goto fail;
		}
		mr_err_cause(err, "%s %s: %s", rq->method, url.data,
		    ebuf[0] ? ebuf : curl_easy_strerror(cc));
		if (cc == CURLE_OPERATION_TIMEDOUT)
			mr_err_set(err, 504, "storage_timeout",
			    "The storage did not answer in time.");
		else
			mr_err_set(err, 502, "storage_unreachable",
			    "The storage could not be reached.");
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &rs->length);
	mr_log_debug("s3 %s %s%s%s: %ld in %lld ms", rq->method, rq->path,
	    rq->query ? "?" : "", rq->query ? rq->query : "", rs->status,
	    (long long)(mr_now_ms() - t0));
	rc = 0;
fail:
	/*
	 * The handle points at hl, ebuf, rq and rs: forget them all.  A
	 * reset keeps the connection for the next request.
	 */
	if (s->curl != NULL)
		curl_easy_reset(s->curl);
	curl_slist_free_all(hl);
	mr_buf_free(&url);
	return rc;
}

static int
retryable(const struct mr_err *err, long status)
{
	if (status == 0)
		return err->status == 502 || err->status == 504;
	return status == 500 || status == 502 || status == 503 ||
	    status == 504;
}

/*
 * PUT len bytes of the source from off to path?query, trying again after a 5xx
 * or a lost connection.  Copies the ETag into etag (etaglen bytes) when
 * etag is not NULL.
 */
static int
put_window(struct s3 *s, struct mr_arena *a, struct req *rq, char *etag,
    size_t etaglen, struct mr_err *err)
{
	struct resp		 rs;
	struct timespec		 ts;
	int			 try, rc = -1;

	resp_init(&rs);
	for (try = 1; try <= TRIES; try++) {
		if (try > 1) {
			/* 0.5 s, then 1 s: S3 asks for backoff (SlowDown). */
			ts.tv_sec = try == 2 ? 0 : 1;
			ts.tv_nsec = try == 2 ? 500000000L : 0;
			nanosleep(&ts, NULL);
			mr_log_debug("s3 %s %s: try %d of %d", rq->method,
			    rq->path, try, TRIES);
			mr_err_clear(err);
		}
		if (s3_do(s, rq, &rs, err) == -1) {
			if (try < TRIES && retryable(err, 0))
				continue;
			goto fail;
		}
		if (rs.status == 200)
			break;
		if (try < TRIES && retryable(err, rs.status))
			continue;
		s3_fail(a, rq, &rs, err);
		goto fail;
	}
	if (etag != NULL) {
		if (rs.etag[0] == '\0' || strlen(rs.etag) >= etaglen) {
			mr_err_cause(err, "%s %s?%s: no ETag in the answer",
			    rq->method, rq->path, rq->query ? rq->query : "");
			mr_err_set(err, 502, "storage_error", "The storage "
			    "answered without an ETag.");
			goto fail;
		}
		memcpy(etag, rs.etag, strlen(rs.etag) + 1);
	}
	rc = 0;
fail:
	mr_buf_free(&rs.body);
	return rc;
}

/* A sha256_hex we may send as the payload hash: 64 hex digits. */
static const char *
payload_hash(struct mr_arena *a, const char *hex)
{
	char	*l;

	if (hex == NULL || strlen(hex) != 64 ||
	    strspn(hex, "0123456789abcdefABCDEF") != 64 ||
	    (l = mr_strdup(a, hex)) == NULL)
		return NULL;
	for (char *p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

static int
put_single(struct s3 *s, struct mr_arena *a, const struct mr_src *src,
    const char *path, const struct mr_store_obj *o, struct mr_err *err)
{
	struct req	 rq;
	const char	*sum = payload_hash(a, o->sha256_hex);

	/*
	 * With the file's hash S3 checks the body it got (a mismatch is
	 * XAmzContentSHA256Mismatch); without, the transport's checksums
	 * and the size check afterwards have to do.
	 */
	req_init(&rq, "PUT", path, NULL, sum ? sum : MR_S3_UNSIGNED);
	rq.content_type = o->content_type;
	rq.meta_sha256 = sum;
	rq.src = src;
	rq.progress = o->progress;
	rq.progress_arg = o->progress_arg;
	rq.off = 0;
	rq.len = o->size;
	rq.timeout_ms = s->timeout_ms;
	return put_window(s, a, &rq, NULL, 0, err);
}

/* Cancel a multipart upload so its parts stop costing; best effort. */
static void
abort_upload(struct s3 *s, struct mr_arena *a, const char *path,
    const char *query, struct mr_err *err)
{
	struct req	 rq;
	struct resp	 rs;
	struct mr_err	 aerr;

	mr_err_clear(&aerr);
	resp_init(&rs);
	req_init(&rq, "DELETE", path, query, MR_S3_EMPTY_SHA256);
	if (s3_do(s, &rq, &rs, &aerr) == 0 && (rs.status == 204 ||
	    rs.status == 200 || rs.status == 404)) {
		mr_err_cause(err, "multipart upload aborted");
		goto done;
	}
	if (aerr.status == 0)
		s3_fail(a, &rq, &rs, &aerr);
	mr_log_warnx("s3: could not abort the multipart upload of '%s' "
	    "(%s): %s: %s", path, query, aerr.detail, aerr.cause);
	mr_err_cause(err, "abort of the multipart upload failed too (%s)",
	    aerr.detail);
done:
	mr_buf_free(&rs.body);
}

/*
 * Multipart uploads of this object that a put killed half-way left
 * behind.  Leases make sure no two puts of one key run at once, so any
 * upload in progress for the key is abandoned: abort it before starting
 * another, so its parts stop costing (ListMultipartUploads with the key
 * as prefix, then AbortMultipartUpload for each exact match).  Best
 * effort: a service without the call, or any failure, is logged, and the
 * bucket's AbortIncompleteMultipartUpload rule is the fallback.
 */
static void
abort_stale(struct s3 *s, struct mr_arena *a, const char *path,
    const char *key)
{
	struct req	 rq;
	struct resp	 rs;
	struct mr_err	 err;
	xmlDoc		*doc = NULL;
	xmlNode		*r, *n;
	char		*full, *bucket, *q, *k, *id, *qid;
	int		 aborted = 0;

	mr_err_clear(&err);
	resp_init(&rs);
	if ((full = mr_printf(a, "%s%s", s->prefix, key)) == NULL ||
	    (bucket = mr_s3_uri_encode(a, s->bucket, 0)) == NULL ||
	    (bucket = mr_printf(a, "/%s", bucket)) == NULL ||
	    (q = mr_s3_uri_encode(a, full, 0)) == NULL ||
	    (q = mr_printf(a, "prefix=%s&uploads=", q)) == NULL)
		goto done;
	req_init(&rq, "GET", bucket, q, MR_S3_EMPTY_SHA256);
	if (s3_do(s, &rq, &rs, &err) == -1 || rs.status != 200) {
		if (err.status == 0)
			s3_fail(a, &rq, &rs, &err);
		mr_log_warnx("s3: could not list the unfinished uploads of "
		    "'%s' (the bucket's lifecycle rule must clean up after "
		    "crashes): %s: %s", full, err.detail, err.cause);
		goto done;
	}
	if ((doc = xml_read(&rs.body)) == NULL ||
	    (r = xmlDocGetRootElement(doc)) == NULL ||
	    !s3_elem(r, "ListMultipartUploadsResult")) {
		mr_log_warnx("s3: unreadable list of the unfinished uploads "
		    "of '%s'", full);
		goto done;
	}
	for (n = r->children; n != NULL; n = n->next) {
		if (!s3_elem(n, "Upload") ||
		    (k = xml_child(a, n, "Key")) == NULL ||
		    strcmp(k, full) != 0 ||
		    (id = xml_child(a, n, "UploadId")) == NULL ||
		    (qid = mr_s3_uri_encode(a, id, 0)) == NULL ||
		    (q = mr_printf(a, "uploadId=%s", qid)) == NULL)
			continue;
		mr_err_clear(&err);
		abort_upload(s, a, path, q, &err);
		aborted++;
	}
	if (aborted > 0)
		mr_log_info("s3: aborted %d unfinished upload(s) of '%s' left "
		    "by an earlier attempt", aborted, full);
done:
	xmlFreeDoc(doc);
	mr_buf_free(&rs.body);
}

/* XML text: ETags carry quotes, which need no escaping in content. */
static int
add_xml_text(struct mr_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		const char	*e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" :
		    *s == '>' ? "&gt;" : NULL;

		if ((e != NULL ? mr_buf_adds(b, e) : mr_buf_add(b, s, 1)) ==
		    -1)
			return -1;
	}
	return 0;
}

static int
put_multi(struct s3 *s, struct mr_arena *a, const struct mr_src *src,
    const char *path, const struct mr_store_obj *o, struct mr_err *err)
{
	struct req	 rq;
	struct resp	 rs;
	struct mr_buf	 doc, q;
	unsigned char	 h[MR_SHA256_LEN];
	char		 etag[256];
	char		*upload_id = NULL, *qid = NULL, *abortq = NULL, *hex;
	char		*result;
	const char	*sum = payload_hash(a, o->sha256_hex);
	off_t		 part = s->part_size, off;
	long		 nparts, i;
	int		 r, rc = -1;

	/* Parts are numbered 1 to 10000: grow them for huge files. */
	if ((o->size + part - 1) / part > PARTS_MAX) {
		part = (o->size + PARTS_MAX - 1) / PARTS_MAX;
		part = (part + (1 << 20) - 1) & ~(off_t)((1 << 20) - 1);
	}
	nparts = (long)((o->size + part - 1) / part);
	resp_init(&rs);
	mr_buf_init(&doc, (size_t)nparts * 384 + 256);
	mr_buf_init(&q, URL_MAX);

	abort_stale(s, a, path, o->key);
	req_init(&rq, "POST", path, "uploads=", MR_S3_EMPTY_SHA256);
	/* Else curl labels the empty POST as a form, and so the object. */
	rq.content_type = o->content_type != NULL ? o->content_type :
	    "application/octet-stream";
	rq.meta_sha256 = sum;
	if (s3_do(s, &rq, &rs, err) == -1)
		goto fail;
	if (rs.status != 200) {
		s3_fail(a, &rq, &rs, err);
		goto fail;
	}
	if (xml_get(a, &rs.body, "InitiateMultipartUploadResult", "UploadId",
	    &upload_id) != 1 || upload_id == NULL || *upload_id == '\0') {
		mr_err_cause(err, "POST %s?uploads=: no UploadId in %.200s",
		    path, rs.body.data ? rs.body.data : "");
		mr_err_set(err, 502, "storage_error", "The storage did not "
		    "start the multipart upload.");
		goto fail;
	}
	if ((qid = mr_s3_uri_encode(a, upload_id, 0)) == NULL ||
	    (abortq = mr_printf(a, "uploadId=%s", qid)) == NULL) {
		mr_log_warnx("s3: out of memory: multipart upload %s of '%s' "
		    "left behind", upload_id, path);
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	if (mr_buf_adds(&doc, "<CompleteMultipartUpload xmlns=\"" S3_NS
	    "\">") == -1) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	mr_log_debug("s3 multipart upload of '%s': %lld bytes in %ld parts "
	    "of %lld", o->key, (long long)o->size, nparts, (long long)part);

	for (i = 1, off = 0; i <= nparts; i++, off += part) {
		mr_buf_reset(&q);
		/* Already canonical: "partNumber" sorts before "uploadId". */
		if (mr_buf_addf(&q, "partNumber=%ld&uploadId=%s", i, qid) ==
		    -1) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto fail;
		}
		req_init(&rq, "PUT", path, q.data, MR_S3_UNSIGNED);
		rq.src = src;
		rq.progress = o->progress;
		rq.progress_arg = o->progress_arg;
		rq.off = off;
		rq.len = o->size - off < part ? o->size - off : part;
		rq.timeout_ms = s->timeout_ms;
		if (put_window(s, a, &rq, etag, sizeof(etag), err) == -1) {
			mr_err_cause(err, "part %ld of %ld", i, nparts);
			goto fail;
		}
		if (mr_buf_addf(&doc, "<Part><PartNumber>%ld</PartNumber>"
		    "<ETag>", i) == -1 || add_xml_text(&doc, etag) == -1 ||
		    mr_buf_adds(&doc, "</ETag></Part>") == -1) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto fail;
		}
	}
	if (mr_buf_adds(&doc, "</CompleteMultipartUpload>") == -1 ||
	    mr_sha256(doc.data, doc.len, h) == -1 ||
	    (hex = mr_hex(a, h, sizeof(h))) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	req_init(&rq, "POST", path, abortq, hex);
	rq.content_type = "application/xml";
	rq.body = doc.data;
	rq.bodylen = doc.len;
	/* Assembling takes a while on big objects: the long timeout. */
	rq.timeout_ms = s->timeout_ms;
	if (s3_do(s, &rq, &rs, err) == -1)
		goto fail;
	/* A 200 can still carry an <Error>: S3 decides while it answers. */
	r = xml_get(a, &rs.body, "CompleteMultipartUploadResult", "ETag",
	    &result);
	if (rs.status != 200 || r != 1) {
		if (rs.status == 200)
			rs.status = 500;
		s3_fail(a, &rq, &rs, err);
		goto fail;
	}
	rc = 0;
fail:
	if (rc == -1 && abortq != NULL)
		abort_upload(s, a, path, abortq, err);
	mr_buf_free(&q);
	mr_buf_free(&doc);
	mr_buf_free(&rs.body);
	return rc;
}

/*
 * HEAD an object.  Returns 1 with rs filled when it exists, 0 when it
 * does not (the bucket does), -1 with err set.
 */
static int
head(struct s3 *s, struct mr_arena *a, const char *path, struct resp *rs,
    struct mr_err *err)
{
	struct req	 rq;
	char		*bpath;

	req_init(&rq, "HEAD", path, NULL, MR_S3_EMPTY_SHA256);
	if (s3_do(s, &rq, rs, err) == -1)
		return -1;
	if (rs->status == 200)
		return 1;
	if (rs->status != 404)
		return s3_fail(a, &rq, rs, err);
	/* A HEAD has no body to tell NoSuchKey from NoSuchBucket: ask. */
	if ((bpath = mr_printf(a, "/%s", s->bucket)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	req_init(&rq, "HEAD", bpath, NULL, MR_S3_EMPTY_SHA256);
	if (s3_do(s, &rq, rs, err) == -1)
		return -1;
	/*
	 * 403: we may not list the bucket (AWS then answers 403 for absent
	 * objects too); the object said 404, so it is absent.
	 */
	if (rs->status == 200 || rs->status == 403)
		return 0;
	if (rs->status == 404) {
		mr_err_cause(err, "HEAD %s: HTTP 404", bpath);
		return mr_err_set(err, 502, "storage_config", "The storage "
		    "bucket does not exist (S3 NoSuchBucket).");
	}
	return s3_fail(a, &rq, rs, err);
}

static char *
obj_path(struct s3 *s, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	char	*p;

	if (!mr_store_key_valid(key))
		return mr_err_set(err, 400, "invalid_key", "storage key "
		    "'%.100s' is not a valid object name", key ? key : ""),
		    NULL;
	if ((p = mr_s3_key_path(a, s->bucket, s->prefix, key)) == NULL)
		mr_err_set(err, 500, "internal", "Out of memory.");
	return p;
}

static int
s3_put(struct mr_store *st, struct mr_arena *a, const struct mr_src *src,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct s3	*s = st->priv;
	struct resp	 rs;
	char		*path;
	int		 rc = -1;

	if ((path = obj_path(s, a, o->key, err)) == NULL)
		return -1;
	if (o->size < 0)
		return mr_err_set(err, 500, "internal", "negative size for "
		    "'%s'", o->key);
	resp_init(&rs);
	if (o->size <= s->threshold && o->size <= PUT_MAX) {
		if (put_single(s, a, src, path, o, err) == -1)
			goto fail;
	} else if (put_multi(s, a, src, path, o, err) == -1)
		goto fail;
	switch (head(s, a, path, &rs, err)) {
	case -1:
		goto fail;
	case 0:
		mr_err_cause(err, "HEAD %s: 404 after the upload", path);
		mr_err_set(err, 502, "storage_error", "The stored object is "
		    "missing after the upload.");
		goto fail;
	}
	if (rs.length != (curl_off_t)o->size) {
		mr_err_cause(err, "HEAD %s: %lld bytes stored, %lld sent",
		    path, (long long)rs.length, (long long)o->size);
		mr_err_set(err, 502, "storage_error", "The stored object has "
		    "the wrong size.");
		goto fail;
	}
	rc = 0;
fail:
	mr_buf_free(&rs.body);
	return rc;
}

static int
s3_stat(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_store_stat *sb, struct mr_err *err)
{
	struct s3	*s = st->priv;
	struct resp	 rs;
	char		*path;
	int		 r, rc = -1;

	if ((path = obj_path(s, a, key, err)) == NULL)
		return -1;
	resp_init(&rs);
	if ((r = head(s, a, path, &rs, err)) == -1)
		goto fail;
	sb->exists = r;
	if (r == 1) {
		sb->size = rs.length >= 0 ? (off_t)rs.length : 0;
		if (rs.etag[0] != '\0' &&
		    (sb->etag = mr_strdup(a, rs.etag)) == NULL) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto fail;
		}
		if (payload_hash(a, rs.meta_sha256) != NULL)
			sb->sha256_hex = mr_strdup(a, rs.meta_sha256);
	}
	rc = 0;
fail:
	mr_buf_free(&rs.body);
	return rc;
}

static int
s3_del(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	struct s3	*s = st->priv;
	struct req	 rq;
	struct resp	 rs;
	char		*path, *code = NULL;
	int		 rc = -1;

	if ((path = obj_path(s, a, key, err)) == NULL)
		return -1;
	resp_init(&rs);
	req_init(&rq, "DELETE", path, NULL, MR_S3_EMPTY_SHA256);
	if (s3_do(s, &rq, &rs, err) == -1)
		goto fail;
	/* S3 answers 204 for absent keys too; others may say 404. */
	if (rs.status == 204 || rs.status == 200 || (rs.status == 404 &&
	    (xml_get(a, &rs.body, "Error", "Code", &code) != 1 ||
	    code == NULL || strcmp(code, "NoSuchBucket") != 0)))
		rc = 0;
	else
		s3_fail(a, &rq, &rs, err);
fail:
	mr_buf_free(&rs.body);
	return rc;
}

/* The key and its unfinished uploads (a put killed half-way). */
static int
s3_discard(struct mr_store *st, struct mr_arena *a,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct s3	*s = st->priv;
	char		*path;

	if ((path = obj_path(s, a, o->key, err)) == NULL)
		return -1;
	abort_stale(s, a, path, o->key);
	return s3_del(st, a, o->key, err);
}

/*
 * Exactly len bytes of key from off, with one ranged GET (retried as a
 * PUT is).  An object shorter than off + len is 422 "unreadable_media":
 * it is not what was announced, and reading it again will not help.
 */
static int
s3_read(struct mr_store *st, struct mr_arena *a, const char *key, off_t off,
    void *buf, size_t len, struct mr_err *err)
{
	struct s3	*s = st->priv;
	struct req	 rq;
	struct resp	 rs;
	struct timespec	 ts = { 0, 500000000L };
	char		*path, range[64];
	int		 try, rc = -1;

	if (len == 0)
		return 0;
	if ((path = obj_path(s, a, key, err)) == NULL)
		return -1;
	snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long)off,
	    (long long)off + (long long)len - 1);
	resp_init(&rs);
	for (try = 1; try <= TRIES; try++) {
		if (try > 1) {
			nanosleep(&ts, NULL);
			mr_err_clear(err);
		}
		req_init(&rq, "GET", path, NULL, MR_S3_EMPTY_SHA256);
		rq.range = range;
		rq.timeout_ms = s->timeout_ms;
		rs.sink = buf;
		rs.sinkcap = len;
		rs.sinkgot = 0;
		rs.sinkover = 0;
		if (s3_do(s, &rq, &rs, err) == -1) {
			if (try < TRIES && retryable(err, 0))
				continue;
			goto fail;
		}
		if (rs.status == 206 && rs.sinkgot == len && !rs.sinkover) {
			rc = 0;
			goto fail;
		}
		if (rs.status == 206 || rs.status == 416) {
			mr_err_cause(err, "GET %s %s: HTTP %ld, %zu bytes",
			    path, range, rs.status, rs.sinkgot);
			mr_err_set(err, 422, "unreadable_media", "The object "
			    "ended before byte %lld while it was being read.",
			    (long long)off + (long long)len);
			goto fail;
		}
		if (try < TRIES && retryable(err, rs.status))
			continue;
		if (rs.status == 404)
			mr_err_set(err, 404, "not_found", "The object '%s' "
			    "is not there.", key);
		else
			s3_fail(a, &rq, &rs, err);
		goto fail;
	}
fail:
	mr_buf_free(&rs.body);
	return rc;
}

/*
 * Every key under the store's prefix and in it under sub ("" or a
 * folder "x/"), with its size, to fn; fn returning -1 stops the walk.
 * ListObjectsV2, a page of up to 1000 at a time.
 */
static int
s3_list(struct mr_store *st, struct mr_arena *a, const char *sub,
    int (*fn)(void *, const char *key, off_t size), void *arg,
    struct mr_err *err)
{
	struct s3	*s = st->priv;
	struct req	 rq;
	struct resp	 rs;
	xmlDoc		*doc = NULL;
	xmlNode		*root, *n;
	char		*bucket, *full, *q, *tok = NULL, *k, *sz;
	size_t		 plen;
	int		 more = 1, rc = -1;

	resp_init(&rs);
	if ((full = mr_printf(a, "%s%s", s->prefix, sub)) == NULL ||
	    (bucket = mr_s3_uri_encode(a, s->bucket, 0)) == NULL ||
	    (bucket = mr_printf(a, "/%s", bucket)) == NULL ||
	    (full = mr_s3_uri_encode(a, full, 0)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	plen = strlen(s->prefix);
	while (more) {
		/* Canonical: the names sorted, each with its '='. */
		q = tok == NULL ? mr_printf(a, "list-type=2&prefix=%s", full) :
		    mr_printf(a, "continuation-token=%s&list-type=2&prefix=%s",
		    tok, full);
		if (q == NULL) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto done;
		}
		req_init(&rq, "GET", bucket, q, MR_S3_EMPTY_SHA256);
		rs.body.cap = 4 * 1024 * 1024;	/* 1000 keys and more */
		if (s3_do(s, &rq, &rs, err) == -1)
			goto done;
		if (rs.status != 200) {
			s3_fail(a, &rq, &rs, err);
			goto done;
		}
		xmlFreeDoc(doc);
		if ((doc = xml_read(&rs.body)) == NULL ||
		    (root = xmlDocGetRootElement(doc)) == NULL ||
		    !s3_elem(root, "ListBucketResult")) {
			mr_err_cause(err, "GET %s?%s: %.*s", bucket, q,
			    (int)(rs.body.len < 200 ? rs.body.len : 200),
			    rs.body.data ? rs.body.data : "");
			mr_err_set(err, 502, "storage_error", "The storage "
			    "sent a list meetrec cannot read.");
			goto done;
		}
		k = xml_child(a, root, "IsTruncated");
		more = k != NULL && strcmp(k, "true") == 0;
		k = xml_child(a, root, "NextContinuationToken");
		tok = k != NULL ? mr_s3_uri_encode(a, k, 0) : NULL;
		for (n = root->children; n != NULL; n = n->next) {
			if (s3_elem(n, "Contents") &&
			    (k = xml_child(a, n, "Key")) != NULL &&
			    strlen(k) > plen &&
			    strncmp(k, s->prefix, plen) == 0 &&
			    (sz = xml_child(a, n, "Size")) != NULL) {
				if (fn(arg, k + plen,
				    (off_t)strtoll(sz, NULL, 10)) == -1) {
					rc = 0;
					goto done;
				}
			}
		}
		if (more && tok == NULL) {
			mr_err_set(err, 502, "storage_error", "The storage "
			    "cut its list short without saying where it "
			    "goes on.");
			goto done;
		}
	}
	rc = 0;
done:
	xmlFreeDoc(doc);
	mr_buf_free(&rs.body);
	return rc;
}

/*
 * Can dst copy objects of from inside the service (CopyObject)?  Both S3,
 * at the same endpoint with the same access key.
 */
static int
same_service(const struct mr_store *dst, const struct mr_store *from)
{
	const struct s3	*d = dst->priv, *f = from->priv;

	return dst->ops == &mr_store_s3 && from->ops == &mr_store_s3 &&
	    strcmp(d->base, f->base) == 0 &&
	    strcmp(d->userpwd, f->userpwd) == 0;
}

/*
 * Store key of from (o->size bytes) under o->key here without the bytes
 * passing through us: CopyObject, its content type and sha256 set anew.
 * 501 "copy_unsupported" when it cannot (another service, or an object
 * larger than one CopyObject takes): then the caller streams it.
 */
static int
s3_copy(struct mr_store *st, struct mr_arena *a, struct mr_store *from,
    const char *key, const struct mr_store_obj *o, struct mr_err *err)
{
	struct s3	*s = st->priv, *f;
	struct req	 rq;
	struct resp	 rs;
	char		*path, *fpath, *code = NULL;
	const char	*sum = payload_hash(a, o->sha256_hex);
	int		 rc = -1;

	if (!same_service(st, from) || o->size > PUT_MAX)
		return mr_err_set(err, 501, "copy_unsupported", "The object "
		    "cannot be copied inside the storage.");
	f = from->priv;
	if ((path = obj_path(s, a, o->key, err)) == NULL ||
	    (fpath = obj_path(f, a, key, err)) == NULL)
		return -1;
	resp_init(&rs);
	req_init(&rq, "PUT", path, NULL, MR_S3_EMPTY_SHA256);
	rq.copy_source = fpath;
	/* What was hashed is what is copied, or the copy is refused (412). */
	if (o->src_etag != NULL && *o->src_etag != '\0' &&
	    strpbrk(o->src_etag, "\r\n") == NULL)
		rq.copy_if_match = o->src_etag;
	rq.content_type = o->content_type;
	rq.meta_sha256 = sum;
	rq.len = 0;
	rq.timeout_ms = s->timeout_ms;
	if (s3_do(s, &rq, &rs, err) == -1)
		goto fail;
	/* A 200 may still carry an <Error> (the copy failed late). */
	if (rs.status != 200 || xml_get(a, &rs.body, "Error", "Code",
	    &code) == 1) {
		s3_fail(a, &rq, &rs, err);
		goto fail;
	}
	rc = 0;
fail:
	mr_buf_free(&rs.body);
	return rc;
}

static char *
s3_url(struct mr_store *st, struct mr_arena *a, const char *key,
    int64_t ttl, struct mr_err *err)
{
	struct s3	*s = st->priv;
	char		*path, *url;

	if ((path = obj_path(s, a, key, err)) == NULL)
		return NULL;
	if (ttl < 1)
		return mr_err_set(err, 500, "internal", "URL lifetime %lld "
		    "is not positive", (long long)ttl), NULL;
	/* S3 refuses presigned URLs that live longer than 7 days. */
	if (ttl > MR_S3_EXPIRES_MAX)
		ttl = MR_S3_EXPIRES_MAX;
	if ((url = mr_s3_presign_url(a, s->base, s->host, path, &s->cred,
	    mr_now(), ttl)) == NULL)
		mr_err_set(err, 500, "internal", "could not sign a URL for "
		    "'%s'", key);
	return url;
}

static int
s3_share(struct mr_store *st, struct mr_arena *a, const char *key,
    const char *user, struct mr_err *err)
{
	(void)st;
	(void)a;
	(void)key;
	(void)user;
	(void)err;
	return 0;
}

static void
s3_close(struct mr_store *st)
{
	struct s3	*s = st->priv;

	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->userpwd != NULL)
		explicit_bzero(s->userpwd, strlen(s->userpwd));
	free(s->base);
	free(s->host);
	free(s->bucket);
	free(s->prefix);
	free(s->userpwd);
	free(s->sigv4);
	free(s);
	st->priv = NULL;
}

/* Letters, digits and a few marks: safe in a path and a curl option. */
static int
name_ok(const char *v, const char *marks, size_t max)
{
	size_t	 n = v != NULL ? strlen(v) : 0;

	if (n == 0 || n > max)
		return 0;
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && strchr(marks, *v) == NULL)
			return 0;
	return 1;
}

static int
s3_open(struct mr_store *st, struct mr_err *err)
{
	const struct mr_conf	*cf = st->conf;
	struct mr_arena		*a = NULL;
	struct s3		*s;
	const char		*region, *pfx;
	char			*base, *host, *tmp;
	size_t			 plen, n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	/* From here on close() frees whatever was set. */
	st->priv = s;
	if ((a = mr_arena_new(16384)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	if (cf->cf_s3_endpoint == NULL ||
	    mr_s3_endpoint(a, cf->cf_s3_endpoint, &base, &host) == -1) {
		mr_err_set(err, 500, "config", "s3_endpoint must be "
		    "http[s]://host[:port], without a path");
		goto fail;
	}
	region = cf->cf_s3_region != NULL ? cf->cf_s3_region : "us-east-1";
	if (!name_ok(region, "-", 64)) {
		mr_err_set(err, 500, "config", "s3_region '%.64s' is not a "
		    "region name", region);
		goto fail;
	}
	if (!name_ok(cf->cf_s3_bucket, ".-_", 255)) {
		mr_err_set(err, 500, "config", "s3_bucket must be a bucket "
		    "name (letters, digits, '.', '-', '_')");
		goto fail;
	}
	/* curl splits USERPWD at the first ':'. */
	if (cf->cf_s3_access_key == NULL || *cf->cf_s3_access_key == '\0' ||
	    strchr(cf->cf_s3_access_key, ':') != NULL ||
	    cf->cf_s3_secret_key == NULL || *cf->cf_s3_secret_key == '\0' ||
	    strlen(cf->cf_s3_secret_key) > 200) {
		mr_err_set(err, 500, "config", "s3_access_key (without ':') "
		    "and s3_secret_key must be set");
		goto fail;
	}
	/* "rec", "/rec" and "rec/" all mean the folder "rec/". */
	pfx = cf->cf_s3_prefix != NULL ? cf->cf_s3_prefix : "";
	while (*pfx == '/')
		pfx++;
	plen = strlen(pfx);
	if (plen > 0 && (!mr_store_key_valid(pfx[plen - 1] == '/' ?
	    mr_strndup(a, pfx, plen - 1) : pfx) || plen > 512)) {
		mr_err_set(err, 500, "config", "s3_prefix '%.100s' is not a "
		    "folder name", cf->cf_s3_prefix);
		goto fail;
	}
	if ((s->base = strdup(base)) == NULL ||
	    (s->host = strdup(host)) == NULL ||
	    (s->bucket = strdup(cf->cf_s3_bucket)) == NULL ||
	    (tmp = mr_printf(a, "%s%s", pfx, plen > 0 && pfx[plen - 1] != '/' ?
	    "/" : "")) == NULL || (s->prefix = strdup(tmp)) == NULL ||
	    (tmp = mr_printf(a, "aws:amz:%s:s3", region)) == NULL ||
	    (s->sigv4 = strdup(tmp)) == NULL ||
	    (s->userpwd = malloc(strlen(cf->cf_s3_access_key) +
	    strlen(cf->cf_s3_secret_key) + 2)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	/* Not through the arena: the secret is wiped from here at close. */
	n = strlen(cf->cf_s3_access_key);
	memcpy(s->userpwd, cf->cf_s3_access_key, n);
	s->userpwd[n] = ':';
	memcpy(s->userpwd + n + 1, cf->cf_s3_secret_key,
	    strlen(cf->cf_s3_secret_key) + 1);
	s->cred.access_key = cf->cf_s3_access_key;
	s->cred.secret_key = cf->cf_s3_secret_key;
	s->cred.region = region;
	s->threshold = (off_t)cf->cf_s3_multipart_threshold;
	/*
	 * AWS refuses parts under 5 MiB but the last (EntityTooSmall);
	 * smaller values are for test servers that do not care.
	 */
	s->part_size = (off_t)cf->cf_s3_part_size;
	s->timeout_ms = (long)cf->cf_upload_timeout_ms;
	if (s->part_size < 1 || s->timeout_ms < 1) {
		mr_err_set(err, 500, "config", "s3_part_size and "
		    "upload_timeout_ms must be positive");
		goto fail;
	}
	mr_arena_free(a);
	return 0;
fail:
	mr_arena_free(a);
	return -1;
}

const struct mr_store_ops mr_store_s3 = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.put = s3_put,
	.stat = s3_stat,
	.del = s3_del,
	.discard = s3_discard,
	.url = s3_url,
	.share = s3_share,
	.read = s3_read,
	.list = s3_list,
	.copy = s3_copy,
};
