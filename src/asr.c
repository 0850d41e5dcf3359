/* SPDX-License-Identifier: ISC */
/*
 * asr.c - the speech-to-text client (asr.h): one multipart POST of a WAV
 * piece to an OpenAI-compatible transcriptions endpoint, and the reader
 * of its verbose_json answer.  doc/asr.md says what the servers differ
 * in and why the client does what it does.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "mr.h"
#include "conf.h"
#include "json.h"
#include "asr.h"

/* The largest answer read: a verbose_json of hours of speech is ~10 MB. */
#define ANSWER_MAX	(16 * 1024 * 1024)
/* More segments than this is not an answer to one piece of speech. */
#define SEGS_MAX	1000000
/* A segment's text (bytes): whisper's segments are a sentence or two. */
#define TEXT_MAX	(64 * 1024)
/* The whole text of an answer without segments. */
#define ALLTEXT_MAX	(4 * 1024 * 1024)
/* Times past this (about 116 days) are nonsense for a piece. */
#define TIME_MAX	1e7
#define LANG_MAX	64
/* How much of a server's error message goes into err->detail. */
#define MESSAGE_MAX	160
/* The longest wait a Retry-After may ask for that we repeat. */
#define RETRY_MAX	86400

static int
bad_answer(struct mr_err *err, const char *why)
{
	mr_err_cause(err, "asr answer: %s", why);
	return mr_err_set(err, 502, "asr_bad_answer",
	    "The speech-to-text server's answer could not be read: %s.", why);
}

/* A JSON number (or, for duration, a numeric string) as a double. */
static int
get_number(struct json_object *v, int str_ok, double *out)
{
	const char	*s;
	char		*end;

	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		*out = json_object_get_double(v);
		break;
	case json_type_string:
		if (!str_ok)
			return -1;
		s = json_object_get_string(v);
		if (*s == '\0' || isspace((unsigned char)*s))
			return -1;
		errno = 0;
		*out = strtod(s, &end);
		if (*end != '\0' || errno != 0)
			return -1;
		break;
	default:
		return -1;
	}
	if (!isfinite(*out) || *out < 0 || *out > TIME_MAX)
		return -1;
	return 0;
}

/* A copy of s[0..len) without the white space around it, or "". */
static char *
trimmed(struct mr_arena *a, const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return mr_strndup(a, s, len);
}

static int
read_answer(struct mr_arena *a, const char *body, size_t len,
    struct mr_asr_result *res, struct mr_err *err)
{
	struct json_object	*root, *v, *segs, *seg;
	struct mr_err		 jerr;
	const char		*s;
	size_t			 n, i, slen;
	double			 start, end;
	char			*text;

	memset(res, 0, sizeof(*res));
	mr_err_clear(&jerr);
	if (len > ANSWER_MAX)
		return bad_answer(err, "it is too large");
	if ((root = mr_json_parse(a, body, len, &jerr)) == NULL) {
		if (jerr.status == 500)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		mr_err_cause(err, "%s", jerr.detail);
		return bad_answer(err, "it is not a JSON object");
	}
	if (json_object_object_get_ex(root, "duration", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    get_number(v, 1, &res->duration) == -1)
		return bad_answer(err, "its duration is not a number of "
		    "seconds");
	if (json_object_object_get_ex(root, "language", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > LANG_MAX ||
		    !mr_utf8_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)))
			return bad_answer(err, "its language is not a short "
			    "string");
		res->language = trimmed(a, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		if (res->language == NULL)
			goto fail;
		if (*res->language == '\0')
			res->language = NULL;
	}
	if (!json_object_object_get_ex(root, "segments", &segs) ||
	    json_object_is_type(segs, json_type_null)) {
		/*
		 * A server that ignored response_format=verbose_json answers
		 * {"text": ...} alone: the text becomes one segment over the
		 * whole piece, [0, duration] (duration 0 when not given).
		 */
		if (!json_object_object_get_ex(root, "text", &v) ||
		    !json_object_is_type(v, json_type_string))
			return bad_answer(err, "it has neither segments nor a "
			    "text");
		if (json_object_get_string_len(v) > ALLTEXT_MAX)
			return bad_answer(err, "its text is too long");
		if (!mr_utf8_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)))
			return bad_answer(err, "its text is not UTF-8");
		text = trimmed(a, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		if (text == NULL)
			goto fail;
		if (*text == '\0')
			return 0;
		if ((res->segs = mr_calloc(a, 1, sizeof(*res->segs))) == NULL)
			goto fail;
		res->segs[0].start = 0;
		res->segs[0].end = res->duration;
		res->segs[0].text = text;
		res->nsegs = 1;
		return 0;
	}
	if (!json_object_is_type(segs, json_type_array))
		return bad_answer(err, "its segments are not a list");
	n = json_object_array_length(segs);
	if (n > SEGS_MAX)
		return bad_answer(err, "it has too many segments");
	if (n > 0 && (res->segs = mr_calloc(a, n, sizeof(*res->segs))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		seg = json_object_array_get_idx(segs, i);
		if (!json_object_is_type(seg, json_type_object))
			return bad_answer(err, "a segment is not an object");
		if (!json_object_object_get_ex(seg, "start", &v) ||
		    get_number(v, 0, &start) == -1 ||
		    !json_object_object_get_ex(seg, "end", &v) ||
		    get_number(v, 0, &end) == -1)
			return bad_answer(err, "a segment's start or end is "
			    "not a time");
		if (start > end)
			return bad_answer(err, "a segment ends before it "
			    "starts");
		if (!json_object_object_get_ex(seg, "text", &v) ||
		    !json_object_is_type(v, json_type_string))
			return bad_answer(err, "a segment's text is not a "
			    "string");
		s = json_object_get_string(v);
		slen = (size_t)json_object_get_string_len(v);
		if (slen > TEXT_MAX)
			return bad_answer(err, "a segment's text is too long");
		if (!mr_utf8_valid(s, slen))
			return bad_answer(err, "a segment's text is not UTF-8");
		if ((text = trimmed(a, s, slen)) == NULL)
			goto fail;
		if (*text == '\0')
			continue;
		res->segs[res->nsegs].start = start;
		res->segs[res->nsegs].end = end;
		res->segs[res->nsegs].text = text;
		res->nsegs++;
	}
	return 0;
fail:
	/* Only allocations jump here. */
	return mr_err_set(err, 500, "internal", "Out of memory.");
}

int
mr_asr_parse(struct mr_arena *a, const char *body, size_t len,
    struct mr_asr_result *res, struct mr_err *err)
{
	if (read_answer(a, body, len, res, err) == -1) {
		memset(res, 0, sizeof(*res));
		return -1;
	}
	return 0;
}

/*
 * The transfer: the answer's body (capped), its Retry-After header, and
 * whether the cap was what stopped it.
 */
struct xfer {
	struct mr_buf	 body;
	long		 retry_after;	/* -1: no header */
	int		 toobig;
};

static size_t
sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;

	if (mr_buf_add(&x->body, p, size * nmemb) == -1) {
		x->toobig = 1;
		return 0;
	}
	return size * nmemb;
}

/*
 * Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
 * The value is kept in whole seconds from now, at most RETRY_MAX.
 */
static size_t
header(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char	 name[] = "retry-after:";
	struct xfer		*x = arg;
	size_t			 len = size * nmemb, i;
	char			 val[128];
	long			 n = 0;
	time_t			 t, now;

	/* A new answer (after a 100 Continue) starts without the header. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		x->retry_after = -1;
	if (len <= sizeof(name) - 1 || strncasecmp(p, name,
	    sizeof(name) - 1) != 0)
		return len;
	p += sizeof(name) - 1;
	len -= sizeof(name) - 1;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(val))
		return size * nmemb;
	memcpy(val, p, len);
	val[len] = '\0';
	for (i = 0; i < len && isdigit((unsigned char)val[i]); i++)
		if (n < RETRY_MAX)
			n = n * 10 + (val[i] - '0');
	if (i == len) {
		x->retry_after = n < RETRY_MAX ? n : RETRY_MAX;
		return size * nmemb;
	}
	if ((t = curl_getdate(val, NULL)) != -1) {
		now = time(NULL);
		x->retry_after = t <= now ? 0 : t - now < RETRY_MAX ?
		    (long)(t - now) : RETRY_MAX;
	}
	return size * nmemb;
}

/*
 * What the server said went wrong, for err->detail: the message of
 * OpenAI's {"error": {"message": ...}}, whisper.cpp's {"error": "..."}
 * or FastAPI's {"detail": "..."}, else the start of the body; printable
 * ASCII only, at most MESSAGE_MAX bytes.
 */
static const char *
server_message(struct mr_arena *a, const char *body, size_t len)
{
	struct json_object	*root, *v, *m;
	struct mr_err		 jerr;
	const char		*s = NULL;
	char			*out;
	size_t			 i, n;

	mr_err_clear(&jerr);
	if (len > 0 && len <= 65536 &&
	    (root = mr_json_parse(a, body, len, &jerr)) != NULL) {
		if (json_object_object_get_ex(root, "error", &v)) {
			if (json_object_is_type(v, json_type_string))
				s = json_object_get_string(v);
			else if (json_object_is_type(v, json_type_object) &&
			    json_object_object_get_ex(v, "message", &m) &&
			    json_object_is_type(m, json_type_string))
				s = json_object_get_string(m);
		} else if (json_object_object_get_ex(root, "detail", &v) &&
		    json_object_is_type(v, json_type_string))
			s = json_object_get_string(v);
		else if (json_object_object_get_ex(root, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			s = json_object_get_string(v);
	}
	if (s == NULL)
		s = body;
	else
		len = strlen(s);
	n = len < MESSAGE_MAX ? len : MESSAGE_MAX;
	if ((out = mr_alloc(a, n + 1)) == NULL)
		return "";
	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : ' ';
	out[n] = '\0';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	return n > 0 ? out : "no message";
}

static int
judge(struct mr_arena *a, long status, struct xfer *x,
    struct mr_asr_result *res, int *retry_after, struct mr_err *err)
{
	const char	*msg;

	if (status >= 200 && status <= 299) {
		if (mr_asr_parse(a, x->body.data ? x->body.data : "",
		    x->body.len, res, err) == -1)
			return -1;
		return 0;
	}
	msg = server_message(a, x->body.data ? x->body.data : "",
	    x->body.len);
	mr_err_cause(err, "asr server: HTTP %ld: %s", status, msg);
	if (status == 429) {
		if (retry_after != NULL)
			*retry_after = x->retry_after > 0 ?
			    (int)x->retry_after : 0;
		return mr_err_set(err, 429, "asr_rate_limited",
		    "The speech-to-text server asks to slow down: %s", msg);
	}
	if (status == 413)
		return mr_err_set(err, 413, "asr_too_large",
		    "The speech-to-text server refused the piece's size: %s",
		    msg);
	if (status >= 500 || status == 408) {
		if (retry_after != NULL && x->retry_after > 0)
			*retry_after = (int)x->retry_after;
		return mr_err_set(err, 502, "asr_unavailable",
		    "The speech-to-text server failed (HTTP %ld): %s", status,
		    msg);
	}
	if (status >= 400)
		return mr_err_set(err, (int)status, "asr_refused",
		    "The speech-to-text server refused the request (HTTP "
		    "%ld): %s", status, msg);
	return mr_err_set(err, 502, "asr_bad_answer",
	    "The speech-to-text server answered HTTP %ld.", status);
}

static int
add_field(curl_mime *m, const char *name, const char *value)
{
	curl_mimepart	*p;

	if ((p = curl_mime_addpart(m)) == NULL ||
	    curl_mime_name(p, name) != CURLE_OK ||
	    curl_mime_data(p, value, CURL_ZERO_TERMINATED) != CURLE_OK)
		return -1;
	return 0;
}

int
mr_asr_transcribe(struct mr_arena *a, const struct mr_conf *cf,
    const char *path, struct mr_asr_result *res, int *retry_after,
    struct mr_err *err)
{
	CURL			*c = NULL;
	curl_mime		*mime = NULL;
	curl_mimepart		*part;
	struct curl_slist	*hl = NULL, *tmp;
	struct xfer		 x;
	struct stat		 st;
	CURLcode		 cc;
	char			 ebuf[CURL_ERROR_SIZE] = "";
	char			*auth;
	long			 status = 0, timeout;
	int			 rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	mr_buf_init(&x.body, ANSWER_MAX);
	x.retry_after = -1;
	if (retry_after != NULL)
		*retry_after = 0;
	if (cf->cf_asr_url == NULL || *cf->cf_asr_url == '\0') {
		mr_err_set(err, 500, "internal",
		    "No speech-to-text server is configured (asr_url).");
		goto fail;
	}
	errno = 0;
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		mr_err_cause(err, "asr: '%s': %s", path,
		    errno != 0 ? strerror(errno) : "not a file");
		mr_err_set(err, 500, "io_error",
		    "The audio piece could not be read.");
		goto fail;
	}
	/* A piece the server is told it may refuse is not sent at all. */
	if (st.st_size > cf->cf_asr_max_bytes) {
		mr_err_set(err, 413, "asr_too_large",
		    "The audio piece (%lld bytes) is larger than asr_max_bytes "
		    "(%lld).", (long long)st.st_size,
		    (long long)cf->cf_asr_max_bytes);
		goto fail;
	}
	if ((c = curl_easy_init()) == NULL || (mime = curl_mime_init(c)) ==
	    NULL || (part = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_name(part, "file") != CURLE_OK ||
	    curl_mime_filedata(part, path) != CURLE_OK ||
	    curl_mime_filename(part, "audio.wav") != CURLE_OK ||
	    curl_mime_type(part, "audio/wav") != CURLE_OK ||
	    add_field(mime, "model", cf->cf_asr_model) == -1 ||
	    add_field(mime, "response_format", "verbose_json") == -1 ||
	    add_field(mime, "temperature", "0") == -1 ||
	    add_field(mime, "timestamp_granularities[]", "segment") == -1 ||
	    (cf->cf_asr_language != NULL && *cf->cf_asr_language != '\0' &&
	    add_field(mime, "language", cf->cf_asr_language) == -1)) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	if (cf->cf_asr_api_key != NULL && *cf->cf_asr_api_key != '\0') {
		if ((auth = mr_printf(a, "Authorization: Bearer %s",
		    cf->cf_asr_api_key)) == NULL ||
		    (tmp = curl_slist_append(hl, auth)) == NULL) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto fail;
		}
		hl = tmp;
	}
	if ((tmp = curl_slist_append(hl, "Accept: application/json")) ==
	    NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	hl = tmp;
	timeout = (long)cf->cf_asr_timeout_seconds;
	curl_easy_setopt(c, CURLOPT_URL, cf->cf_asr_url);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout :
	    10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)ANSWER_MAX);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		mr_err_cause(err, "POST %s: %s", cf->cf_asr_url, ebuf[0] ?
		    ebuf : curl_easy_strerror(cc));
		if (x.toobig || cc == CURLE_FILESIZE_EXCEEDED)
			mr_err_set(err, 502, "asr_bad_answer",
			    "The speech-to-text server's answer is larger "
			    "than %d bytes.", ANSWER_MAX);
		else if (cc == CURLE_READ_ERROR)
			mr_err_set(err, 500, "io_error",
			    "The audio piece could not be read.");
		else if (cc == CURLE_OUT_OF_MEMORY)
			mr_err_set(err, 500, "internal", "Out of memory.");
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			mr_err_set(err, 502, "asr_unavailable",
			    "The speech-to-text server did not answer within "
			    "%ld seconds (timeout).", timeout);
		else
			mr_err_set(err, 502, "asr_unavailable",
			    "The speech-to-text server could not be reached "
			    "or broke the connection (%s).",
			    curl_easy_strerror(cc));
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (judge(a, status, &x, res, retry_after, err) == -1)
		goto fail;
	rc = 0;
fail:
	if (rc == -1)
		memset(res, 0, sizeof(*res));
	mr_buf_free(&x.body);
	curl_slist_free_all(hl);
	curl_mime_free(mime);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}

const char *
mr_asr_tmpdir(const struct mr_conf *conf)
{
	const char	*d;

	if (conf->cf_asr_tmp_dir != NULL)
		return conf->cf_asr_tmp_dir;
	if ((d = getenv("TMPDIR")) != NULL && *d == '/')
		return d;
	return "/var/tmp";
}
