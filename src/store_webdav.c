/* SPDX-License-Identifier: ISC */
/*
 * store_webdav.c - recordings in Nextcloud over WebDAV (storage_type =
 * nextcloud), following protocols/storage.md.  The plain WebDAV subset
 * (MKCOL, PUT, PROPFIND, DELETE) also works against other DAV servers
 * when uploads stay below the chunk threshold and sharing is off.
 *
 * A file up to nextcloud_chunk_threshold goes up in one streamed PUT.  A
 * larger one uses chunked upload v2 under a deterministic upload id, so a
 * put that failed half-way (or a process that died) resumes: the chunks
 * the server already holds with the right size are not sent again.  The
 * final MOVE may outlive a proxy's or our own timeout while the server
 * goes on assembling; then the destination is polled instead of failing.
 * Every put ends with a PROPFIND that checks the stored size.
 *
 * Download links use Nextcloud's direct download API (storage.md 3.5): a
 * PROPFIND for oc:fileid, then an OCS call that answers with a short-lived
 * /remote.php/direct/<token> URL anyone may fetch.  A plain WebDAV server
 * has no oc:fileid and no OCS: then there is no link, and no error.
 *
 * Bodies are read from the source (a file: pread(2)) straight into
 * libcurl's upload buffer: memory stays flat whatever the file size.
 * Answers are capped, and PROPFIND answers are parsed with libxml2 by
 * namespace URI and local name, never by prefix, with no network access
 * and no DTD at all (so no entity can be expanded).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
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
#include "json.h"
#include "store.h"

#define NS_DAV		"DAV:"
#define NS_OC		"http://owncloud.org/ns"

#define XML_MAX		(8 * 1024 * 1024)	/* a multistatus answer */
#define JSON_MAX	(1024 * 1024)		/* an OCS answer */
#define BODY_MAX	(1024 * 1024)		/* any other answer */
#define EXCERPT_LEN	200			/* of an answer, for the log */
#define FILEID_MAX	20			/* digits of an oc:fileid */
#define LINK_MAX	2048			/* a direct download URL */
#define LINK_TTL_MAX	86400			/* direct API maximum */
#define SMALL_TIMEOUT_MS 60000			/* MKCOL, PROPFIND, DELETE */
#define CONNECT_TIMEOUT_MS 10000
#define STALL_SECONDS	60			/* nothing moved: give up */
#define CHUNKS_MAX	10000			/* chunk names 1..10000 */
#define CHUNK_TRIES	3
#define POLL_FIRST_MS	250
#define POLL_MAX_MS	10000
#define GIB		(1024LL * 1024 * 1024)

struct nc {
	CURL		*curl;		/* one handle: keeps the connection */
	char		*files;		/* {url}/remote.php/dav/files/{user} */
	char		*uploads;	/* .../remote.php/dav/uploads/{user} */
	char		*ocs_shares;	/* the OCS share API, format=json */
	char		*ocs_direct;	/* OCS direct download API */
	char		*folder;	/* no leading or trailing '/'; or "" */
	char		*user;
	char		*password;
	int64_t		 threshold;
	int64_t		 chunk;
	int64_t		 timeout_ms;
	int		 share;
};

/* One HTTP exchange. */
struct rq {
	const char	*method;
	const char	*url;
	const char	*hdr[8];	/* extra headers, NULL-terminated */
	const char	*body;		/* PROPFIND/POST body, or NULL */
	size_t		 bodylen;
	const struct mr_src *src;	/* upload len bytes from off, or
					   NULL */
	off_t		 off;
	off_t		 len;
	long		 timeout_ms;
	int		 stall;		/* abort after STALL_SECONDS idle */
	int		 keep;		/* keep the answer in resp */
	size_t		 cap;
	/* filled in by do_rq() */
	long		 status;
	struct mr_buf	 resp;
	size_t		 got;
	int		 too_big;
	off_t		 pos;
	int		 rderr;		/* 0 a failed read (srcerr says
					   why), ECANCELED, or -1 */
	struct mr_err	 srcerr;
	int		(*progress)(void *, off_t);
	void		*progress_arg;
	char		 excerpt[EXCERPT_LEN + 1];
	size_t		 exlen;
};

/* One <d:response> of a multistatus, from its 200 propstats only. */
struct dav_ent {
	char	*href;
	int	 coll;
	int	 has_len;
	off_t	 len;
	char	*etag;
	char	*sha256;
	char	*fileid;	/* oc:fileid, digits only; NULL if absent */
};

static const char PROPFIND_FILE[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\">"
    "<d:prop><d:resourcetype/><d:getcontentlength/><d:getetag/>"
    "<oc:fileid/><oc:checksums/></d:prop></d:propfind>\n";

static const char PROPFIND_CHUNKS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<d:propfind xmlns:d=\"DAV:\">"
    "<d:prop><d:resourcetype/><d:getcontentlength/></d:prop>"
    "</d:propfind>\n";

static void
msleep(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Append s[0..len) percent-encoded as (part of) one path segment. */
static int
enc_add(struct mr_buf *b, const char *s, size_t len, int keep_slash)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	char			 e[3];

	for (size_t i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (keep_slash && c == '/')) {
			if (mr_buf_add(b, s + i, 1) == -1)
				return -1;
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		if (mr_buf_add(b, e, 3) == -1)
			return -1;
	}
	return 0;
}

/*
 * base + "/" + each non-empty argument with its segments encoded (a '/'
 * inside an argument separates segments), + "/" when slash is set.  In
 * arena a; NULL on allocation failure.
 */
static char *
mkurl(struct mr_arena *a, const char *base, const char *p1, const char *p2,
    int slash)
{
	struct mr_buf	 b;
	char		*s = NULL;
	const char	*parts[2] = { p1, p2 };

	mr_buf_init(&b, 3 * (MR_STORE_KEY_MAX + 4096) + strlen(base));
	if (mr_buf_adds(&b, base) == -1)
		goto done;
	for (size_t i = 0; i < MR_NELEM(parts); i++) {
		if (parts[i] == NULL || *parts[i] == '\0')
			continue;
		if (mr_buf_add(&b, "/", 1) == -1 ||
		    enc_add(&b, parts[i], strlen(parts[i]), 1) == -1)
			goto done;
	}
	if (slash && mr_buf_add(&b, "/", 1) == -1)
		goto done;
	s = mr_strndup(a, b.data, b.len);
done:
	mr_buf_free(&b);
	return s;
}

/* Form encoding (application/x-www-form-urlencoded), in arena a. */
static char *
formenc(struct mr_arena *a, const char *s)
{
	struct mr_buf	 b;
	char		*r = NULL;

	mr_buf_init(&b, 3 * strlen(s) + 1);
	if (enc_add(&b, s, strlen(s), 0) == 0)
		r = mr_strndup(a, b.data ? b.data : "", b.len);
	mr_buf_free(&b);
	return r;
}

/*
 * libcurl write callback: the first bytes go to the excerpt for error
 * messages; the whole answer to resp only when the caller keeps it.
 * Returning short aborts the transfer, which is how the caps hold.
 */
static size_t
sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rq	*r = arg;
	size_t		 n = size * nmemb, ex;

	if (r->exlen < EXCERPT_LEN) {
		ex = EXCERPT_LEN - r->exlen < n ? EXCERPT_LEN - r->exlen : n;
		memcpy(r->excerpt + r->exlen, p, ex);
		r->exlen += ex;
		r->excerpt[r->exlen] = '\0';
	}
	if (n > r->cap - r->got) {
		r->too_big = 1;
		return 0;
	}
	r->got += n;
	if (r->keep && mr_buf_add(&r->resp, p, n) == -1) {
		r->too_big = 1;
		return 0;
	}
	return n;
}

/* libcurl read callback: the next bytes of the window, with pread(2). */
static size_t
source(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rq	*r = arg;
	size_t		 want = size * nmemb;
	ssize_t		 n;

	if ((off_t)want > r->len - r->pos)
		want = (size_t)(r->len - r->pos);
	if (want == 0)
		return 0;
	mr_err_clear(&r->srcerr);
	if (mr_store_read(r->src, r->off + r->pos, p, want, &r->srcerr) ==
	    -1) {
		/* A source that cannot be read is a local error. */
		r->rderr = 0;
		return CURL_READFUNC_ABORT;
	}
	n = (ssize_t)want;
	r->pos += n;
	if (r->progress != NULL &&
	    r->progress(r->progress_arg, r->off + r->pos) == -1) {
		r->rderr = ECANCELED;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

/* libcurl seek callback: rewinding the window (a resend) is cheap. */
static int
seek(void *arg, curl_off_t off, int origin)
{
	struct rq	*r = arg;

	if (origin != SEEK_SET || off < 0 || off > r->len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = (off_t)off;
	return CURL_SEEKFUNC_OK;
}

/* The answer's first bytes, on one line, for err->cause. */
static const char *
excerpt(struct rq *r)
{
	for (size_t i = 0; i < r->exlen; i++)
		if ((unsigned char)r->excerpt[i] < 0x20)
			r->excerpt[i] = ' ';
	return r->excerpt;
}

static void
rq_init(struct rq *r, const char *method, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = url;
	r->src = NULL;
	r->rderr = -1;
	r->cap = BODY_MAX;
	mr_buf_init(&r->resp, BODY_MAX);
}

/*
 * Perform r.  Returns 0 when an HTTP answer came back, whatever its
 * status (the caller judges it), or -1 with err set: 500 when the spool
 * file could not be read, 504 on a timeout, 502 on any other transport
 * failure.  The caller frees r->resp.
 */
static int
do_rq(struct nc *nc, struct rq *r, struct mr_err *err)
{
	CURL			*c = nc->curl;
	struct curl_slist	*hl = NULL, *tmp;
	char			 ebuf[CURL_ERROR_SIZE] = "";
	CURLcode		 cc;
	long			 conn_ms;

	r->status = 0;
	r->got = 0;
	r->too_big = 0;
	r->pos = 0;
	r->rderr = -1;
	r->exlen = 0;
	r->excerpt[0] = '\0';
	mr_buf_reset(&r->resp);
	r->resp.cap = r->cap;
	for (size_t i = 0; i < MR_NELEM(r->hdr) && r->hdr[i] != NULL; i++) {
		if ((tmp = curl_slist_append(hl, r->hdr[i])) == NULL) {
			curl_slist_free_all(hl);
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		}
		hl = tmp;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* Pre-emptive Basic: never a second pass over a large body. */
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERNAME, nc->user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, nc->password);
	conn_ms = r->timeout_ms > 0 && r->timeout_ms < CONNECT_TIMEOUT_MS ?
	    r->timeout_ms : CONNECT_TIMEOUT_MS;
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	if (r->stall) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		    (long)STALL_SECONDS);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (r->src != NULL) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, source);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		/* Always a Content-Length: the server compares it. */
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->len);
		if (strcmp(r->method, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (r->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->bodylen);
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);

	cc = curl_easy_perform(c);
	/* Nothing of ours may stay referenced by the handle. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hl);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		return 0;
	}
	if (r->rderr == ECANCELED)
		return MR_STORE_CANCELLED(err);
	if (r->rderr != -1) {
		*err = r->srcerr;
		return -1;
	}
	mr_err_cause(err, "%s %s: %s", r->method, r->url,
	    ebuf[0] ? ebuf : curl_easy_strerror(cc));
	if (r->too_big)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server's answer to %s was larger than %zu bytes.",
		    r->method, r->cap);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return mr_err_set(err, 504, "storage_timeout", "The storage "
		    "server did not answer %s in time.", r->method);
	return mr_err_set(err, 502, "storage_unreachable", "The storage "
	    "server could not be reached (%s).", curl_easy_strerror(cc));
}

/* An HTTP status the caller did not expect, mapped for err. */
static int
http_fail(struct rq *r, const char *what, struct mr_err *err)
{
	mr_err_cause(err, "%s %s: HTTP %ld: %s", r->method, r->url,
	    r->status, excerpt(r));
	switch (r->status) {
	case 401:
		return mr_err_set(err, 502, "storage_auth", "The storage "
		    "server refused the credentials (authentication failed, "
		    "HTTP 401) while %s: check nextcloud_user and "
		    "nextcloud_app_password.", what);
	case 403:
		return mr_err_set(err, 502, "storage_auth", "The storage "
		    "server denied access (HTTP 403) while %s: check the "
		    "account's authentication and permissions.", what);
	case 507:
		return mr_err_set(err, 507, "storage_full", "The storage "
		    "server is out of space (HTTP 507) while %s.", what);
	default:
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server answered HTTP %ld while %s.", r->status, what);
	}
}

/* Worth sending the same request again soon. */
static int
transient(long status)
{
	return status == 423 || status == 429 ||
	    (status >= 500 && status != 507);
}

static int
is_el(const xmlNode *n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

/* The element's text, trimmed, in arena a ("" when empty). */
static char *
text_of(struct mr_arena *a, const xmlNode *n)
{
	xmlChar		*t;
	const char	*s;
	size_t		 len;
	char		*r;

	if ((t = xmlNodeGetContent(n)) == NULL)
		return mr_strdup(a, "");
	s = (const char *)t;
	s += strspn(s, " \t\r\n");
	len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	r = mr_strndup(a, s, len);
	xmlFree(t);
	return r;
}

/* "HTTP/1.1 200 OK" -> 200; 0 when it does not parse. */
static int
status_code(const char *s)
{
	const char	*sp;
	long		 v;
	char		*end;

	if ((sp = strchr(s, ' ')) == NULL)
		return 0;
	v = strtol(sp + 1, &end, 10);
	return (end != sp + 1 && v > 0 && v < 1000) ? (int)v : 0;
}

/* The SHA256 value among "SHA1:.. MD5:.. SHA256:..", lower case. */
static char *
pick_sha256(struct mr_arena *a, const char *s)
{
	size_t	 n;
	char	*r;

	while (*s != '\0') {
		s += strspn(s, " ,\t\r\n");
		n = strcspn(s, " ,\t\r\n");
		if (n == 7 + 64 && strncasecmp(s, "SHA256:", 7) == 0) {
			if ((r = mr_strndup(a, s + 7, 64)) == NULL)
				return NULL;
			for (char *p = r; *p != '\0'; p++) {
				if (strchr("0123456789abcdefABCDEF", *p) ==
				    NULL)
					return NULL;
				if (*p >= 'A' && *p <= 'F')
					*p = (char)(*p - 'A' + 'a');
			}
			return r;
		}
		s += n;
	}
	return NULL;
}

/* Fill e from one <d:prop> of a 200 propstat. */
static int
read_prop(struct mr_arena *a, const xmlNode *prop, struct dav_ent *e)
{
	char		*t, *end;
	long long	 v;

	for (const xmlNode *p = prop->children; p != NULL; p = p->next) {
		if (is_el(p, NS_DAV, "resourcetype")) {
			for (const xmlNode *q = p->children; q; q = q->next)
				if (is_el(q, NS_DAV, "collection"))
					e->coll = 1;
		} else if (is_el(p, NS_DAV, "getcontentlength")) {
			if ((t = text_of(a, p)) == NULL)
				return -1;
			errno = 0;
			v = strtoll(t, &end, 10);
			if (*t != '\0' && *end == '\0' && errno == 0 &&
			    v >= 0) {
				e->has_len = 1;
				e->len = (off_t)v;
			}
		} else if (is_el(p, NS_DAV, "getetag")) {
			if ((e->etag = text_of(a, p)) == NULL)
				return -1;
		} else if (is_el(p, NS_OC, "fileid")) {
			if ((t = text_of(a, p)) == NULL)
				return -1;
			/* An integer; anything else is as good as absent. */
			if (*t != '\0' && strlen(t) <= FILEID_MAX &&
			    strspn(t, "0123456789") == strlen(t))
				e->fileid = t;
		} else if (is_el(p, NS_OC, "checksums")) {
			if ((t = text_of(a, p)) == NULL)
				return -1;
			if (e->sha256 == NULL)
				e->sha256 = pick_sha256(a, t);
		}
	}
	return 0;
}

/*
 * Parse a 207 multistatus into *out (n entries, in arena a).  Only the
 * properties of propstats whose status is 200 count: a requested but
 * unknown property comes back in a 404 propstat.
 */
static int
parse_multistatus(struct mr_arena *a, const char *buf, size_t len,
    struct dav_ent **out, size_t *nout, struct mr_err *err)
{
	xmlDoc		*doc = NULL;
	xmlNode		*root;
	struct dav_ent	*ents = NULL, *e;
	size_t		 n = 0;
	char		*st;
	int		 oom = 1;

	*out = NULL;
	*nout = 0;
	if (len > INT32_MAX)
		goto bad;
	/*
	 * No network, no entity substitution, no DTD loading; a document
	 * that has a DTD at all is refused below.
	 */
	doc = xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || doc->intSubset != NULL || doc->extSubset != NULL)
		goto bad;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_el(root, NS_DAV, "multistatus"))
		goto bad;
	for (xmlNode *r = root->children; r != NULL; r = r->next)
		if (is_el(r, NS_DAV, "response"))
			n++;
	if (n > 0 && (ents = mr_calloc(a, n, sizeof(*ents))) == NULL)
		goto fail;
	n = 0;
	for (xmlNode *r = root->children; r != NULL; r = r->next) {
		if (!is_el(r, NS_DAV, "response"))
			continue;
		e = &ents[n++];
		for (xmlNode *c = r->children; c != NULL; c = c->next) {
			if (is_el(c, NS_DAV, "href")) {
				if ((e->href = text_of(a, c)) == NULL)
					goto fail;
				continue;
			}
			if (!is_el(c, NS_DAV, "propstat"))
				continue;
			st = NULL;
			for (xmlNode *s = c->children; s != NULL; s = s->next)
				if (is_el(s, NS_DAV, "status") &&
				    (st = text_of(a, s)) == NULL)
					goto fail;
			if (st == NULL || status_code(st) != 200)
				continue;
			for (xmlNode *p = c->children; p != NULL; p = p->next)
				if (is_el(p, NS_DAV, "prop") &&
				    read_prop(a, p, e) == -1)
					goto fail;
		}
	}
	xmlFreeDoc(doc);
	*out = ents;
	*nout = n;
	return 0;
bad:
	oom = 0;
fail:
	xmlFreeDoc(doc);
	if (oom)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	mr_err_cause(err, "%.*s", (int)(len < 200 ? len : 200), buf);
	return mr_err_set(err, 502, "storage_error", "The storage server "
	    "sent a PROPFIND answer that is not a WebDAV multistatus.");
}

/*
 * PROPFIND url with depth.  Returns 0 with *status 207 and the entries,
 * or 0 with *status 404 and none; any other status is an error.
 */
static int
propfind(struct nc *nc, struct mr_arena *a, const char *url, int depth,
    const char *body, struct dav_ent **ents, size_t *n, long *status,
    struct mr_err *err)
{
	struct rq	 r;
	int		 rc = -1;

	*ents = NULL;
	*n = 0;
	rq_init(&r, "PROPFIND", url);
	r.hdr[0] = depth == 0 ? "Depth: 0" : "Depth: 1";
	r.hdr[1] = "Content-Type: application/xml; charset=utf-8";
	r.body = body;
	r.bodylen = strlen(body);
	r.timeout_ms = nc->timeout_ms < SMALL_TIMEOUT_MS ? nc->timeout_ms :
	    SMALL_TIMEOUT_MS;
	r.keep = 1;
	r.cap = XML_MAX;
	if (do_rq(nc, &r, err) == -1)
		goto done;
	*status = r.status;
	if (r.status == 404) {
		rc = 0;
		goto done;
	}
	if (r.status != 207) {
		http_fail(&r, "reading properties", err);
		goto done;
	}
	rc = parse_multistatus(a, r.resp.data ? r.resp.data : "", r.resp.len,
	    ents, n, err);
done:
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * PROPFIND Depth 0 of one file.  Returns 0 with sb->exists 0 when it is
 * not there.
 */
static int
stat_url(struct nc *nc, struct mr_arena *a, const char *url,
    struct mr_store_stat *sb, struct mr_err *err)
{
	struct dav_ent	*e;
	size_t		 n;
	long		 status = 0;

	memset(sb, 0, sizeof(*sb));
	if (propfind(nc, a, url, 0, PROPFIND_FILE, &e, &n, &status,
	    err) == -1)
		return -1;
	if (status == 404)
		return 0;
	if (n != 1)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server described %zu entries where one was expected.", n);
	if (e->coll)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server holds a folder where a file was expected.");
	if (!e->has_len)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server did not tell the size of the file.");
	sb->exists = 1;
	sb->size = e->len;
	sb->etag = e->etag;
	sb->sha256_hex = e->sha256;
	return 0;
}

/* Simple request with no body: MKCOL, DELETE.  Returns the status. */
static int
simple(struct nc *nc, const char *method, const char *url,
    const char *hdr, long *status, struct mr_err *err)
{
	struct rq	 r;
	int		 rc;

	rq_init(&r, method, url);
	r.hdr[0] = hdr;
	r.timeout_ms = nc->timeout_ms < SMALL_TIMEOUT_MS ? nc->timeout_ms :
	    SMALL_TIMEOUT_MS;
	rc = do_rq(nc, &r, err);
	*status = r.status;
	if (rc == 0 && *status >= 300 && *status != 404 && *status != 405 &&
	    *status != 409)
		rc = http_fail(&r, strcmp(method, "MKCOL") == 0 ?
		    "creating a folder" : "deleting", err);
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * Make sure every folder level of path (relative to the files root)
 * exists: one PROPFIND when it does, else MKCOL from the top (201 made,
 * 405 there already).
 */
static int
ensure_dirs(struct nc *nc, struct mr_arena *a, const char *path,
    struct mr_err *err)
{
	struct dav_ent	*e;
	size_t		 n, len;
	long		 status = 0;
	char		*url, *sub;

	if (*path == '\0')
		return 0;
	if ((url = mkurl(a, nc->files, path, NULL, 1)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (propfind(nc, a, url, 0, PROPFIND_CHUNKS, &e, &n, &status,
	    err) == -1)
		return -1;
	if (status == 207 && n > 0 && e[0].coll)
		return 0;
	len = strlen(path);
	for (size_t i = 0; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		if ((sub = mr_strndup(a, path, i)) == NULL ||
		    (url = mkurl(a, nc->files, sub, NULL, 1)) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		if (simple(nc, "MKCOL", url, NULL, &status, err) == -1)
			return -1;
		if (status == 409)
			return mr_err_set(err, 502, "storage_error", "The "
			    "storage server could not create folder '%s': "
			    "its parent is missing.", sub);
		if (status != 201 && status != 405)
			return mr_err_set(err, 502, "storage_error", "The "
			    "storage server answered HTTP %ld to creating "
			    "folder '%s'.", status, sub);
	}
	return 0;
}

/* The stored file must have the size (and checksum) we sent. */
static int
verify(struct nc *nc, struct mr_arena *a, const char *url,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct mr_store_stat	 sb;

	if (stat_url(nc, a, url, &sb, err) == -1)
		return -1;
	if (!sb.exists)
		return mr_err_set(err, 502, "storage_verify", "The stored "
		    "file is missing right after the upload.");
	if (sb.size != o->size)
		return mr_err_set(err, 502, "storage_verify", "The storage "
		    "server holds %lld bytes where %lld were sent.",
		    (long long)sb.size, (long long)o->size);
	if (o->sha256_hex != NULL && sb.sha256_hex != NULL &&
	    strcasecmp(o->sha256_hex, sb.sha256_hex) != 0)
		return mr_err_set(err, 502, "storage_verify", "The storage "
		    "server holds another SHA-256 than the one sent.");
	return 0;
}

/* Headers shared by the single PUT and the final MOVE, in arena a. */
static int
meta_headers(struct mr_arena *a, const struct mr_store_obj *o,
    const char **total, const char **mtime, const char **sum)
{
	*total = mr_printf(a, "OC-Total-Length: %lld", (long long)o->size);
	*mtime = o->mtime > 0 ? mr_printf(a, "X-OC-Mtime: %lld",
	    (long long)o->mtime) : "";
	*sum = o->sha256_hex != NULL ? mr_printf(a, "OC-Checksum: SHA256:%s",
	    o->sha256_hex) : "";
	return (*total == NULL || *mtime == NULL || *sum == NULL) ? -1 : 0;
}

static int
put_single(struct nc *nc, struct mr_arena *a, const struct mr_src *src,
    const struct mr_store_obj *o, const char *dst, struct mr_err *err)
{
	struct rq	 r;
	const char	*total, *mtime, *sum, *ct;
	int		 rc = -1, i = 0;

	rq_init(&r, "PUT", dst);
	ct = mr_printf(a, "Content-Type: %s", o->content_type ?
	    o->content_type : "application/octet-stream");
	if (meta_headers(a, o, &total, &mtime, &sum) == -1 || ct == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	r.hdr[i++] = ct;
	r.hdr[i++] = total;
	if (*mtime)
		r.hdr[i++] = mtime;
	if (*sum)
		r.hdr[i++] = sum;
	r.src = src;
	r.progress = o->progress;
	r.progress_arg = o->progress_arg;
	r.off = 0;
	r.len = o->size;
	r.timeout_ms = nc->timeout_ms;
	r.stall = 1;
	if (do_rq(nc, &r, err) == -1)
		goto done;
	if (r.status == 409) {
		mr_err_cause(err, "PUT %s: HTTP 409: %s", dst, excerpt(&r));
		mr_err_set(err, 502, "storage_error", "The storage server "
		    "refused the file: its folder is missing.");
		goto done;
	}
	if (r.status != 200 && r.status != 201 && r.status != 204) {
		http_fail(&r, "uploading", err);
		goto done;
	}
	rc = 0;
done:
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * A valid upload id is one safe path segment.  Without one, derive it
 * from what identifies the content (key, size, mtime), so a crashed put
 * finds its folder again but a changed file does not reuse old chunks.
 */
static const char *
upload_id(struct nc *nc, struct mr_arena *a, const struct mr_store_obj *o,
    struct mr_err *err)
{
	unsigned char	 md[MR_SHA256_LEN];
	const char	*s;
	char		*seed, *hex;

	if ((s = o->upload_id) != NULL) {
		if (*s == '\0' || strlen(s) > 200 || strcmp(s, ".") == 0 ||
		    strcmp(s, "..") == 0 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
			return mr_err_set(err, 400, "invalid_upload_id",
			    "upload id '%.100s' is not a safe name", s), NULL;
		return s;
	}
	if ((seed = mr_printf(a, "%s\n%s\n%lld\n%lld", nc->folder, o->key,
	    (long long)o->size, (long long)o->mtime)) == NULL ||
	    mr_sha256(seed, strlen(seed), md) == -1 ||
	    (hex = mr_hex(a, md, 16)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory."),
		    NULL;
	return mr_printf(a, "meetrec-%s", hex);
}

/* Chunk number (1..) of an href's last segment, or 0. */
static long
chunk_number(const char *href)
{
	const char	*p, *end;
	char		*e;
	long		 v;

	end = href + strlen(href);
	while (end > href && end[-1] == '/')
		end--;
	for (p = end; p > href && p[-1] != '/'; p--)
		;
	if (p == end || end - p > 8 || strspn(p, "0123456789") !=
	    (size_t)(end - p))
		return 0;
	v = strtol(p, &e, 10);
	return (v >= 1 && v <= CHUNKS_MAX) ? v : 0;
}

struct plan {
	const char	*dst;		/* the destination file URL */
	const char	*up;		/* the upload folder URL */
	const char	*dest_hdr;	/* "Destination: <dst>" */
	const char	*total_hdr;
	int64_t		 cs;		/* chunk size */
	long		 nchunks;
	unsigned char	*have;		/* [nchunks]: on the server already */
};

static off_t
chunk_len(const struct plan *p, const struct mr_store_obj *o, long n)
{
	off_t	 off = (off_t)(n - 1) * p->cs;

	return o->size - off < p->cs ? o->size - off : (off_t)p->cs;
}

/*
 * Find out which chunks the server holds (PROPFIND Depth 1), or create
 * the upload folder.  A folder made with another chunk size (the setting
 * changed since) is dropped and made again: its chunks sit at other
 * offsets, and one may have the length we want by chance.  Chunks go up
 * in order, so only the highest-numbered one may be short; any other
 * length, or a chunk past the end, gives the old chunking away.
 */
static int
prepare_upload(struct nc *nc, struct mr_arena *a, struct plan *p,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct dav_ent	*e;
	size_t		 n, kept = 0;
	long		 status = 0, num, top = 0;
	int		 stale = 0;

	memset(p->have, 0, (size_t)p->nchunks);
	if (propfind(nc, a, p->up, 1, PROPFIND_CHUNKS, &e, &n, &status,
	    err) == -1)
		return -1;
	if (status == 207) {
		for (size_t i = 0; i < n; i++)
			if (!e[i].coll && e[i].href != NULL &&
			    (num = chunk_number(e[i].href)) > top)
				top = num;
		for (size_t i = 0; i < n; i++) {
			if (e[i].coll || e[i].href == NULL ||
			    (num = chunk_number(e[i].href)) == 0)
				continue;
			if (num > p->nchunks || (e[i].has_len &&
			    (e[i].len > chunk_len(p, o, num) || (num < top &&
			    e[i].len != chunk_len(p, o, num))))) {
				stale = 1;
				break;
			}
			if (e[i].has_len && e[i].len == chunk_len(p, o, num) &&
			    !p->have[num - 1]) {
				p->have[num - 1] = 1;
				kept++;
			}
		}
		if (!stale) {
			if (kept > 0)
				mr_log_info("store=nextcloud action=resume "
				    "key=%s chunks=%ld present=%zu", o->key,
				    p->nchunks, kept);
			return 0;
		}
		mr_log_info("store=nextcloud action=restart key=%s "
		    "reason=stale-chunks", o->key);
		memset(p->have, 0, (size_t)p->nchunks);
		if (simple(nc, "DELETE", p->up, NULL, &status, err) == -1)
			return -1;
	}
	if (simple(nc, "MKCOL", p->up, p->dest_hdr, &status, err) == -1)
		return -1;
	if (status != 201 && status != 405)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server answered HTTP %ld to creating the upload folder.",
		    status);
	return 0;
}

/*
 * PUT one chunk, again on a transport error or a transient status.
 * Sets *restart on 412 (the server lost the upload's metadata).
 */
static int
put_chunk(struct nc *nc, struct mr_arena *a, const struct mr_src *src,
    struct plan *p, const struct mr_store_obj *o, long num, int *restart,
    struct mr_err *err)
{
	struct rq	 r;
	char		 name[24];
	const char	*url;
	int		 rc = -1;

	snprintf(name, sizeof(name), "%05ld", num);
	if ((url = mkurl(a, p->up, name, NULL, 0)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	rq_init(&r, "PUT", url);
	r.hdr[0] = p->dest_hdr;
	r.hdr[1] = p->total_hdr;
	r.hdr[2] = "Content-Type: application/octet-stream";
	r.src = src;
	r.progress = o->progress;
	r.progress_arg = o->progress_arg;
	r.off = (off_t)(num - 1) * p->cs;
	r.len = chunk_len(p, o, num);
	r.timeout_ms = nc->timeout_ms;
	r.stall = 1;
	for (int try = 1; ; try++) {
		mr_err_clear(err);
		if (do_rq(nc, &r, err) == 0) {
			if (r.status >= 200 && r.status < 300) {
				rc = 0;
				break;
			}
			if (r.status == 412)
				*restart = 1;
			/* 400 may be a body cut short on the way. */
			if ((!transient(r.status) && r.status != 400) ||
			    try == CHUNK_TRIES) {
				http_fail(&r, "uploading a chunk", err);
				break;
			}
		} else if (err->status == 500 || err->status == 409 ||
		    try == CHUNK_TRIES)
			break;
		mr_log_info("store=nextcloud action=retry-chunk key=%s "
		    "chunk=%ld try=%d status=%ld", o->key, num, try, r.status);
		msleep(1000L * try);
	}
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * The final MOVE.  libcurl's budget grows with the size, as the desktop
 * client's does (3 min per GiB, at most 30 min), and no stall detection:
 * nothing moves while the server assembles.
 */
static long
move_budget_ms(const struct nc *nc, const struct mr_store_obj *o)
{
	long long	 ms = 60000LL + (long long)o->size * 180000LL / GIB;

	if (ms > 1800000LL)
		ms = 1800000LL;
	if (ms > nc->timeout_ms)
		ms = nc->timeout_ms;
	return (long)ms;
}

/*
 * Returns 0 done, 1 worth polling (the server may still be assembling),
 * -1 failed (with *restart on 412).
 */
static int
move_once(struct nc *nc, struct mr_arena *a, struct plan *p,
    const struct mr_store_obj *o, int *restart, long *status,
    struct mr_err *err)
{
	struct rq	 r;
	const char	*url, *total, *mtime, *sum;
	int		 rc = -1, i = 0;

	*status = 0;
	if ((url = mkurl(a, p->up, ".file", NULL, 0)) == NULL ||
	    meta_headers(a, o, &total, &mtime, &sum) == -1)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	rq_init(&r, "MOVE", url);
	r.hdr[i++] = p->dest_hdr;
	r.hdr[i++] = total;
	if (*mtime)
		r.hdr[i++] = mtime;
	if (*sum)
		r.hdr[i++] = sum;
	r.timeout_ms = move_budget_ms(nc, o);
	if (do_rq(nc, &r, err) == -1) {
		rc = err->status == 500 ? -1 : 1;
		goto done;
	}
	*status = r.status;
	if (r.status == 201 || r.status == 204 || r.status == 200)
		rc = 0;
	else if (transient(r.status) || r.status == 404) {
		/* 404: the folder is gone, likely consumed by a MOVE. */
		mr_err_cause(err, "MOVE %s: HTTP %ld: %s", url, r.status,
		    excerpt(&r));
		rc = 1;
	} else {
		if (r.status == 412)
			*restart = 1;
		http_fail(&r, "assembling the chunks", err);
	}
done:
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * MOVE, and when its fate is unknown (timeout, 5xx, 423: a previous
 * MOVE still holds the lock), poll the destination with backoff until
 * it has the full size; MOVE again while the upload folder is there.
 */
static int
assemble(struct nc *nc, struct mr_arena *a, struct plan *p,
    const struct mr_store_obj *o, int *restart, struct mr_err *err)
{
	struct mr_store_stat	 sb;
	struct mr_err		 e2;
	int64_t			 deadline;
	long			 delay = POLL_FIRST_MS, status;
	int			 rc;

	if ((rc = move_once(nc, a, p, o, restart, &status, err)) != 1)
		return rc;
	mr_log_info("store=nextcloud action=poll-assembly key=%s status=%ld",
	    o->key, status);
	deadline = mr_now_ms() + move_budget_ms(nc, o);
	for (;;) {
		if (mr_now_ms() >= deadline)
			return mr_err_set(err, 504, "storage_timeout", "The "
			    "storage server did not finish assembling the "
			    "upload in time.");
		msleep(delay);
		delay = delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
		/* Waiting is progress too: the caller keeps its claim. */
		if (o->progress != NULL &&
		    o->progress(o->progress_arg, o->size) == -1)
			return MR_STORE_CANCELLED(err);
		mr_err_clear(&e2);
		if (stat_url(nc, a, p->dst, &sb, &e2) == 0 && sb.exists &&
		    sb.size == o->size)
			return 0;
		if (status == 404) {
			/* Consumed, yet the file is not right: start over. */
			if (e2.status != 0)
				*err = e2;
			else
				mr_err_set(err, 502, "storage_error", "The "
				    "upload folder disappeared but the file "
				    "is not complete.");
			return -1;
		}
		mr_err_clear(err);
		if ((rc = move_once(nc, a, p, o, restart, &status, err)) != 1)
			return rc;
	}
}

/* One pass of chunked upload v2; *restart asks for a fresh folder. */
static int
put_chunked_once(struct nc *nc, struct mr_arena *a, const struct mr_src *src,
    struct plan *p, const struct mr_store_obj *o, int *restart,
    struct mr_err *err)
{
	size_t	 sent = 0;

	if (prepare_upload(nc, a, p, o, err) == -1)
		return -1;
	for (long num = 1; num <= p->nchunks; num++) {
		if (p->have[num - 1])
			continue;
		if (put_chunk(nc, a, src, p, o, num, restart, err) == -1)
			return -1;
		sent++;
	}
	mr_log_debug("store=nextcloud action=chunks-sent key=%s sent=%zu "
	    "of=%ld", o->key, sent, p->nchunks);
	return assemble(nc, a, p, o, restart, err);
}

static int
put_chunked(struct nc *nc, struct mr_arena *a, const struct mr_src *src,
    const struct mr_store_obj *o, const char *dst, struct mr_err *err)
{
	struct plan	 p;
	const char	*id;
	long		 status;
	int		 restart = 0;

	memset(&p, 0, sizeof(p));
	p.dst = dst;
	p.cs = nc->chunk;
	/* At most 10000 chunks: grow them for very large files. */
	if ((o->size + p.cs - 1) / p.cs > CHUNKS_MAX)
		p.cs = (o->size + CHUNKS_MAX - 1) / CHUNKS_MAX;
	p.nchunks = (long)((o->size + p.cs - 1) / p.cs);
	if ((id = upload_id(nc, a, o, err)) == NULL)
		return -1;
	if ((p.up = mkurl(a, nc->uploads, id, NULL, 0)) == NULL ||
	    (p.dest_hdr = mr_printf(a, "Destination: %s", dst)) == NULL ||
	    (p.total_hdr = mr_printf(a, "OC-Total-Length: %lld",
	    (long long)o->size)) == NULL ||
	    (p.have = mr_alloc(a, (size_t)p.nchunks)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (put_chunked_once(nc, a, src, &p, o, &restart, err) == 0)
		return 0;
	if (!restart)
		return -1;
	/* 412 "Missing metadata": the server forgot the upload; once more. */
	mr_log_info("store=nextcloud action=restart key=%s reason=412",
	    o->key);
	mr_err_clear(err);
	restart = 0;
	if (simple(nc, "DELETE", p.up, NULL, &status, err) == -1)
		return -1;
	return put_chunked_once(nc, a, src, &p, o, &restart, err);
}

/* folder/key's parent, relative to the files root ("" for none). */
static char *
parent_of(struct mr_arena *a, const char *folder, const char *key)
{
	const char	*slash = strrchr(key, '/');

	if (slash == NULL)
		return mr_strdup(a, folder);
	if (*folder == '\0')
		return mr_strndup(a, key, (size_t)(slash - key));
	return mr_printf(a, "%s/%.*s", folder, (int)(slash - key), key);
}

static char *
file_url(struct nc *nc, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	char	*u;

	if (!mr_store_key_valid(key))
		return mr_err_set(err, 400, "invalid_key", "storage key "
		    "'%.100s' is not a safe relative path", key ? key : ""),
		    NULL;
	if ((u = mkurl(a, nc->files, nc->folder, key, 0)) == NULL)
		mr_err_set(err, 500, "internal", "Out of memory.");
	return u;
}

static int
nc_put(struct mr_store *st, struct mr_arena *a, const struct mr_src *src,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct nc	*nc = st->priv;
	char		*dst, *dir;

	if ((dst = file_url(nc, a, o->key, err)) == NULL)
		return -1;
	if (o->size < 0)
		return mr_err_set(err, 500, "internal", "negative size");
	if ((dir = parent_of(a, nc->folder, o->key)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (ensure_dirs(nc, a, dir, err) == -1)
		return -1;
	if (o->size > nc->threshold && o->size > 0) {
		if (put_chunked(nc, a, src, o, dst, err) == -1)
			return -1;
	} else if (put_single(nc, a, src, o, dst, err) == -1)
		return -1;
	return verify(nc, a, dst, o, err);
}

static int
nc_stat(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_store_stat *sb, struct mr_err *err)
{
	struct nc	*nc = st->priv;
	char		*url;

	if ((url = file_url(nc, a, key, err)) == NULL)
		return -1;
	return stat_url(nc, a, url, sb, err);
}

/* DELETE url, naming what in the error; what is not there is deleted. */
static int
delete_url(struct nc *nc, const char *url, const char *what,
    struct mr_err *err)
{
	long	 status = 0;

	if (simple(nc, "DELETE", url, NULL, &status, err) == -1)
		return -1;
	if (status == 405 || status == 409)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server answered HTTP %ld to deleting %s.", status,
		    what != NULL ? what : "a file");
	return 0;
}

static int
nc_del(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	struct nc	*nc = st->priv;
	char		*url;

	if ((url = file_url(nc, a, key, err)) == NULL)
		return -1;
	return delete_url(nc, url, mr_printf(a, "'%s'", key), err);
}

/*
 * The file, and the upload folder a chunked put of o killed half-way
 * left (its chunks; Nextcloud would drop it only after a day).  Without
 * o->upload_id the folder's name depends on the file's size and time,
 * not known here, and only the file goes.
 */
static int
nc_discard(struct mr_store *st, struct mr_arena *a,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct nc	*nc = st->priv;
	const char	*id, *up;

	if (nc_del(st, a, o->key, err) == -1)
		return -1;
	if (o->upload_id == NULL)
		return 0;
	if ((id = upload_id(nc, a, o, err)) == NULL)
		return -1;
	if ((up = mkurl(a, nc->uploads, id, NULL, 0)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return delete_url(nc, up, mr_printf(a, "the upload folder '%s'", id),
	    err);
}

/*
 * ocs.meta.statuscode, ocs.meta.message and (when data is not NULL)
 * ocs.data of an OCS answer; -1 when it is not one.  *data may be NULL.
 */
/* An OCS call: a form POST answered in JSON, kept for ocs_meta(). */
static void
ocs_post(struct nc *nc, struct rq *r, const char *url, const char *form)
{
	rq_init(r, "POST", url);
	r->hdr[0] = "OCS-APIRequest: true";
	r->hdr[1] = "Accept: application/json";
	r->hdr[2] = "Content-Type: application/x-www-form-urlencoded";
	r->body = form;
	r->bodylen = strlen(form);
	r->timeout_ms = nc->timeout_ms < SMALL_TIMEOUT_MS ? nc->timeout_ms :
	    SMALL_TIMEOUT_MS;
	r->keep = 1;
	r->cap = JSON_MAX;
}

static int
ocs_meta(struct mr_arena *a, const char *body, size_t len, int64_t *code,
    const char **msg, struct json_object **data)
{
	struct json_object	*root, *ocs, *meta, *v;
	struct mr_err		 jerr;

	*code = 0;
	*msg = "";
	if (data != NULL)
		*data = NULL;
	mr_err_clear(&jerr);
	if (len == 0 || (root = mr_json_parse(a, body, len, &jerr)) == NULL ||
	    !json_object_object_get_ex(root, "ocs", &ocs) ||
	    !json_object_object_get_ex(ocs, "meta", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return -1;
	if (json_object_object_get_ex(meta, "statuscode", &v))
		*code = json_object_get_int64(v);
	if (json_object_object_get_ex(meta, "message", &v) &&
	    json_object_is_type(v, json_type_string))
		*msg = json_object_get_string(v);
	if (data != NULL && json_object_object_get_ex(ocs, "data", &v))
		*data = v;
	return 0;
}

/*
 * Share key read-only with a Nextcloud user (OCS, shareType 0).  Sharing
 * twice is fine: Nextcloud 22 and later answer with the existing share,
 * older servers with 403 "... is already shared with ...".
 */
static int
nc_share(struct mr_store *st, struct mr_arena *a, const char *key,
    const char *user, struct mr_err *err)
{
	struct nc	*nc = st->priv;
	struct rq	 r;
	const char	*msg;
	char		*path, *body, *p, *u;
	int64_t		 code;
	int		 rc = -1;

	if (!nc->share)
		return 0;
	if (!mr_store_key_valid(key))
		return mr_err_set(err, 400, "invalid_key", "storage key "
		    "'%.100s' is not a safe relative path", key);
	if ((path = *nc->folder ? mr_printf(a, "/%s/%s", nc->folder, key) :
	    mr_printf(a, "/%s", key)) == NULL ||
	    (p = formenc(a, path)) == NULL || (u = formenc(a, user)) == NULL ||
	    (body = mr_printf(a, "path=%s&shareType=0&shareWith=%s"
	    "&permissions=1", p, u)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	ocs_post(nc, &r, nc->ocs_shares, body);
	if (do_rq(nc, &r, err) == -1)
		goto done;
	if (r.status == 401 || ocs_meta(a, r.resp.data, r.resp.len, &code,
	    &msg, NULL) == -1) {
		http_fail(&r, "sharing", err);
		goto done;
	}
	/* v2 says 200 (HTTP and meta); v1 said 100 with HTTP 200. */
	if (r.status == 200 && (code == 100 || code == 200)) {
		rc = 0;
		goto done;
	}
	if ((r.status == 403 || code == 403) &&
	    strcasestr(msg, "already shared") != NULL) {
		mr_log_info("store=nextcloud action=share-exists key=%s "
		    "user=%s", key, user);
		rc = 0;
		goto done;
	}
	mr_err_cause(err, "POST %s: HTTP %ld, OCS %lld: %s", r.url, r.status,
	    (long long)code, excerpt(&r));
	mr_err_set(err, 502, "storage_share", "The storage server refused to "
	    "share '%.80s' with '%.40s' (HTTP %ld, OCS %lld): %.80s", key,
	    user, r.status, (long long)code, msg);
done:
	mr_buf_free(&r.resp);
	return rc;
}

/*
 * A direct download URL as Nextcloud hands it out: absolute http(s),
 * printable ASCII with nothing a Location header or a browser would
 * read differently, and of a sane length.
 */
static int
link_ok(const char *u)
{
	const char	*host;
	size_t		 len = strlen(u);

	if (len > LINK_MAX)
		return 0;
	if (strncmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/')
		return 0;
	for (const char *p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>\\^`{|}", *p) != NULL)
			return 0;
	return 1;
}

static char *
file_missing(struct mr_err *err, const char *key)
{
	mr_err_set(err, 404, "file_missing", "The stored file '%.200s' is "
	    "missing from the storage server.", key);
	return NULL;
}

/*
 * A link anyone may GET key from for ttl seconds (clamped to 1..86400,
 * the direct API's range): PROPFIND for oc:fileid, then POST it to the
 * OCS direct download API, checking both the HTTP status and the OCS
 * statuscode.  Returns the URL in arena a; NULL with err->status 0 when
 * the server has no file ids (plain WebDAV: no such API); NULL with err
 * 404 file_missing when the file is gone, 502/504 when the server fails
 * or cannot be reached (worth a retry), 400 for a bad key.  Blocks on
 * two requests.  The URL is a credential: it is never logged.
 */
static char *
nc_url(struct mr_store *st, struct mr_arena *a, const char *key,
    int64_t ttl, struct mr_err *err)
{
	struct nc		*nc = st->priv;
	struct rq		 r;
	struct dav_ent		*e;
	struct json_object	*data, *v;
	const char		*msg, *u = NULL;
	char			*url, *body, *link = NULL;
	size_t			 n;
	long			 status = 0;
	int64_t			 code;

	if ((url = file_url(nc, a, key, err)) == NULL)
		return NULL;
	if (propfind(nc, a, url, 0, PROPFIND_FILE, &e, &n, &status,
	    err) == -1)
		return NULL;
	if (status == 404)
		return file_missing(err, key);
	if (n != 1)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server described %zu entries where one was expected.",
		    n), NULL;
	if (e->coll)
		return mr_err_set(err, 502, "storage_error", "The storage "
		    "server holds a folder where a file was expected."), NULL;
	if (e->fileid == NULL) {
		mr_log_debug("store=nextcloud action=no-link key=%s "
		    "reason=\"no oc:fileid: not a Nextcloud server\"", key);
		return NULL;
	}
	if (ttl < 1)
		ttl = 1;
	if (ttl > LINK_TTL_MAX)
		ttl = LINK_TTL_MAX;
	if ((body = mr_printf(a, "fileId=%s&expirationTime=%lld", e->fileid,
	    (long long)ttl)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory."),
		    NULL;
	ocs_post(nc, &r, nc->ocs_direct, body);
	if (do_rq(nc, &r, err) == -1)
		goto done;
	if (r.status == 401 || ocs_meta(a, r.resp.data, r.resp.len, &code,
	    &msg, &data) == -1) {
		http_fail(&r, "creating a download link", err);
		goto done;
	}
	/* v2: 200 in both places; a v1-style answer says 100. */
	if (r.status == 200 && (code == 200 || code == 100)) {
		if (data == NULL || !json_object_is_type(data,
		    json_type_object) ||
		    !json_object_object_get_ex(data, "url", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !link_ok(u = json_object_get_string(v))) {
			mr_err_cause(err, "POST %s: HTTP 200 without a usable "
			    "ocs.data.url", r.url);
			mr_err_set(err, 502, "storage_error", "The storage "
			    "server's download link is missing or is not an "
			    "http(s) URL.");
			goto done;
		}
		if ((link = mr_strdup(a, u)) == NULL) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto done;
		}
		mr_log_info("store=nextcloud action=direct-link key=%s "
		    "fileid=%s ttl=%lld", key, e->fileid, (long long)ttl);
		goto done;
	}
	mr_err_cause(err, "POST %s: HTTP %ld, OCS %lld: %s", r.url, r.status,
	    (long long)code, excerpt(&r));
	/* Deleted between the two requests (998 is v1's "not found"). */
	if (r.status == 404 || code == 404 || code == 998) {
		file_missing(err, key);
		goto done;
	}
	if (r.status >= 500 || r.status == 429 || r.status == 423) {
		mr_err_set(err, 502, "storage_error", "The storage server "
		    "answered HTTP %ld while creating a download link.",
		    r.status);
		goto done;
	}
	mr_err_set(err, 502, "storage_error", "The storage server refused a "
	    "download link for '%.80s' (HTTP %ld, OCS %lld): %.80s", key,
	    r.status, (long long)code, msg);
done:
	mr_buf_free(&r.resp);
	return link;
}

static void
nc_free(struct nc *nc)
{
	if (nc == NULL)
		return;
	if (nc->curl != NULL)
		curl_easy_cleanup(nc->curl);
	if (nc->password != NULL) {
		explicit_bzero(nc->password, strlen(nc->password));
		free(nc->password);
	}
	free(nc->files);
	free(nc->uploads);
	free(nc->ocs_shares);
	free(nc->ocs_direct);
	free(nc->folder);
	free(nc->user);
	free(nc);
}

static void
nc_close(struct mr_store *st)
{
	nc_free(st->priv);
	st->priv = NULL;
}

static char	*dupf(const char *, ...) MR_PRINTF(1, 2);

/* A formatted heap string, or NULL. */
static char *
dupf(const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* A heap copy of the user id percent-encoded as one segment. */
static char *
enc_dup(const char *s)
{
	struct mr_buf	 b;
	char		*r = NULL;

	mr_buf_init(&b, 3 * strlen(s) + 1);
	if (enc_add(&b, s, strlen(s), 0) == 0)
		r = strndup(b.data ? b.data : "", b.len);
	mr_buf_free(&b);
	return r;
}

static int
nc_open(struct mr_store *st, struct mr_err *err)
{
	const struct mr_conf	*cf = st->conf;
	struct nc		*nc = NULL;
	const char		*url = cf->cf_nextcloud_url, *host, *f;
	char			*base = NULL, *eu = NULL;
	size_t			 len, hl;

	st->priv = NULL;
	if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)) {
		mr_err_set(err, 500, "config", "nextcloud_url must be an "
		    "http:// or https:// URL");
		goto fail;
	}
	host = strstr(url, "//") + 2;
	hl = strcspn(host, "/");
	/* Credentials in the URL would end up in logs: refuse them. */
	if (hl == 0 || memchr(host, '@', hl) != NULL ||
	    strpbrk(url, "?# \t") != NULL) {
		mr_err_set(err, 500, "config", "nextcloud_url must be a plain "
		    "base URL, with no credentials, query or fragment");
		goto fail;
	}
	if (cf->cf_nextcloud_user == NULL || *cf->cf_nextcloud_user == '\0' ||
	    cf->cf_nextcloud_app_password == NULL ||
	    *cf->cf_nextcloud_app_password == '\0') {
		mr_err_set(err, 500, "config", "nextcloud_user and "
		    "nextcloud_app_password must be set");
		goto fail;
	}
	if (cf->cf_nextcloud_chunk_size <= 0) {
		mr_err_set(err, 500, "config", "nextcloud_chunk_size must be "
		    "positive");
		goto fail;
	}
	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		goto oom;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	f = cf->cf_nextcloud_folder ? cf->cf_nextcloud_folder : "";
	f += strspn(f, "/");
	if ((base = strndup(url, len)) == NULL ||
	    (eu = enc_dup(cf->cf_nextcloud_user)) == NULL ||
	    (nc->folder = strdup(f)) == NULL ||
	    (nc->user = strdup(cf->cf_nextcloud_user)) == NULL ||
	    (nc->password = strdup(cf->cf_nextcloud_app_password)) == NULL ||
	    (nc->files = dupf("%s/remote.php/dav/files/%s", base, eu)) ==
	    NULL || (nc->uploads = dupf("%s/remote.php/dav/uploads/%s",
	    base, eu)) == NULL || (nc->ocs_shares = dupf("%s/ocs/v2.php/apps/"
	    "files_sharing/api/v1/shares?format=json", base)) == NULL ||
	    (nc->ocs_direct = dupf("%s/ocs/v2.php/apps/dav/api/v1/direct",
	    base)) == NULL)
		goto oom;
	len = strlen(nc->folder);
	while (len > 0 && nc->folder[len - 1] == '/')
		nc->folder[--len] = '\0';
	if (*nc->folder != '\0' && !mr_store_key_valid(nc->folder)) {
		mr_err_set(err, 500, "config", "nextcloud_folder '%s' is not "
		    "a safe relative path", cf->cf_nextcloud_folder);
		goto fail;
	}
	nc->threshold = cf->cf_nextcloud_chunk_threshold;
	nc->chunk = cf->cf_nextcloud_chunk_size;
	nc->timeout_ms = cf->cf_upload_timeout_ms > 0 ?
	    cf->cf_upload_timeout_ms : 3600000;
	nc->share = cf->cf_nextcloud_share != 0;
	if ((nc->curl = curl_easy_init()) == NULL)
		goto oom;
	free(base);
	free(eu);
	st->priv = nc;
	return 0;
oom:
	mr_err_set(err, 500, "internal", "Out of memory.");
fail:
	free(base);
	free(eu);
	nc_free(nc);
	return -1;
}

/*
 * Exactly len bytes of key from off, with a ranged GET (the transcribe
 * pass reads a stored recording this way).  A server that ignores the
 * range is an error: the whole file would come instead.
 */
static int
nc_read(struct mr_store *st, struct mr_arena *a, const char *key, off_t off,
    void *buf, size_t len, struct mr_err *err)
{
	struct nc	*nc = st->priv;
	struct rq	 r;
	char		*url, *range;
	int		 rc = -1;

	if (len == 0)
		return 0;
	if ((url = file_url(nc, a, key, err)) == NULL)
		return -1;
	if ((range = mr_printf(a, "Range: bytes=%lld-%lld", (long long)off,
	    (long long)off + (long long)len - 1)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	rq_init(&r, "GET", url);
	r.hdr[0] = range;
	r.keep = 1;
	r.cap = len;
	r.timeout_ms = nc->timeout_ms;
	r.stall = 1;
	if (do_rq(nc, &r, err) == -1)
		goto done;
	if (r.status == 416 || r.status == 404) {
		mr_err_set(err, 422, "unreadable_media", "The stored file "
		    "ends before byte %lld.", (long long)off + (long long)len);
		goto done;
	}
	if (r.status != 206) {
		http_fail(&r, "reading a recording", err);
		goto done;
	}
	if (r.resp.len != len) {
		mr_err_set(err, 502, "storage_error", "The storage server "
		    "sent %zu bytes of a range of %zu.", r.resp.len, len);
		goto done;
	}
	memcpy(buf, r.resp.data, len);
	rc = 0;
done:
	mr_buf_free(&r.resp);
	return rc;
}

const struct mr_store_ops mr_store_nextcloud = {
	.name = "nextcloud",
	.open = nc_open,
	.close = nc_close,
	.put = nc_put,
	.stat = nc_stat,
	.del = nc_del,
	.discard = nc_discard,
	.url = nc_url,
	.share = nc_share,
	.read = nc_read,
};
