/* SPDX-License-Identifier: ISC */
/*
 * api_transcript.c - what was said in a recording: its transcript (JSON
 * or text), its captions (WebVTT), asking for a transcript again, and the
 * search of what was said across the recordings a user may view
 * (GET /api/recordings/?q=).  The same rules as the recording's own
 * decide who may read them; reading a transcript or captions is a view
 * of the recording, and a search that shows a recording's words is a
 * "search" of it, each audited once per viewing.
 */
#include "config.h"

#include <string.h>

#include "fcgi.h"
#include "json.h"
#include "model.h"
#include "transcript.h"

#define SEARCH_DEFAULT	20
#define SEARCH_MAX	100
#define SEARCH_OFFSET_MAX 1000
#define WORDS_MAX	256		/* bytes of a search */

/* The transcript's state, for details, status and the transcript. */
void
mr_api_transcript_fields(struct mr_jw *w, const struct mr_transcript *t)
{
	mr_jw_str(w, "transcript_status", t->status);
	mr_jw_str(w, "transcript_error", mr_api_same(t->status, "failed") ||
	    mr_api_same(t->status, "pending") ? t->last_error : NULL);
	mr_jw_str(w, "transcript_language", t->language);
}

/*
 * The chapters of t as [{"start": seconds, "title": ...}]: the JSON
 * PostgreSQL made ([[start_ms, title], ...]) read back.  -1 on ENOMEM
 * or a text that is not what tr_get makes.
 */
int
mr_api_chapters_write(struct mr_ctx *cx, struct mr_jw *w,
    const struct mr_transcript *t)
{
	struct json_object	*arr, *c;
	size_t			 i, n;

	mr_jw_open(w, "chapters", '[');
	if (t->chapters_json == NULL) {
		mr_jw_close(w, ']');
		return 0;
	}
	if ((arr = mr_json_own(cx->cx_arena,
	    json_tokener_parse(t->chapters_json))) == NULL ||
	    !json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(c, json_type_array) ||
		    json_object_array_length(c) != 2)
			return -1;
		mr_jw_open(w, NULL, '{');
		mr_jw_num(w, "start", (double)json_object_get_int64(
		    json_object_array_get_idx(c, 0)) / 1000);
		mr_jw_str(w, "title", json_object_get_string(
		    json_object_array_get_idx(c, 1)));
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	return 0;
}

/* The transcript of a recording the caller may view, or 404. */
static int
load_done(struct mr_ctx *cx, const char *id, struct mr_transcript *t,
    struct mr_seg **segs, size_t *n)
{
	if (mr_db_tr_get(cx->cx_env->db, cx->cx_arena, id, t,
	    &cx->cx_err) == -1)
		return -1;
	/* One asked for again stays readable until the new one is done. */
	if (t->done_at == NULL)
		return mr_err_set(&cx->cx_err, 404, "transcript_not_found",
		    "This recording has no transcript (transcript_status "
		    "%s).", t->status);
	return mr_db_tr_segments(cx->cx_env->db, cx->cx_arena, id, segs, n,
	    &cx->cx_err);
}

/* The text in b as the answer, copied into the request's arena. */
static int
send_buf(struct mr_ctx *cx, const char *type, struct mr_buf *b)
{
	char	*body;

	body = mr_strndup(cx->cx_arena, b->data != NULL ? b->data : "",
	    b->len);
	mr_buf_free(b);
	if (body == NULL)
		return mr_api_oom(cx);
	return mr_resp_text(cx, 200, type, body, strlen(body));
}

int
mr_api_captions_send(struct mr_ctx *cx, const char *id)
{
	struct mr_transcript	 t;
	struct mr_seg		*segs;
	struct mr_buf		 b;
	size_t			 n;

	if (load_done(cx, id, &t, &segs, &n) == -1)
		return -1;
	mr_buf_init(&b, 64 * 1024 * 1024);
	if (mr_vtt_write(&b, segs, n) == -1) {
		mr_buf_free(&b);
		return mr_api_oom(cx);
	}
	return send_buf(cx, "text/vtt; charset=utf-8", &b);
}

int
mr_api_recording_captions(struct mr_ctx *cx)
{
	static const char *const none[] = { NULL };
	struct mr_recording	 r;

	if (mr_req_query_check(cx, none) == -1 ||
	    mr_api_load_viewable(cx, &r) == -1 ||
	    mr_api_captions_send(cx, r.id) == -1)
		return -1;
	mr_api_audit_once(cx, r.id, NULL, "view");
	return 0;
}

int
mr_api_recording_transcript(struct mr_ctx *cx)
{
	static const char *const params[] = { "format", NULL };
	struct mr_recording	 r;
	struct mr_transcript	 t;
	struct mr_seg		*segs = NULL;
	struct mr_jw		*w;
	struct mr_buf		 b;
	const char		*format = "json";
	size_t			 n = 0, i;
	int			 rc;

	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_query(cx, "format", &format) == -1)
		return -1;
	if (strcmp(format, "json") != 0 && strcmp(format, "txt") != 0)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'format' must be json or txt.");
	if (mr_api_load_viewable(cx, &r) == -1)
		return -1;
	if (strcmp(format, "txt") == 0) {
		if (load_done(cx, r.id, &t, &segs, &n) == -1)
			return -1;
		mr_buf_init(&b, 64 * 1024 * 1024);
		if (mr_transcript_txt(&b, segs, n) == -1) {
			mr_buf_free(&b);
			return mr_api_oom(cx);
		}
		rc = send_buf(cx, "text/plain; charset=utf-8", &b);
		if (rc == 0)
			mr_api_audit_once(cx, r.id, NULL, "view");
		return rc;
	}
	if (mr_db_tr_get(cx->cx_env->db, cx->cx_arena, r.id, &t,
	    &cx->cx_err) == -1)
		return -1;
	if (t.done_at != NULL && mr_db_tr_segments(
	    cx->cx_env->db, cx->cx_arena, r.id, &segs, &n, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r.id);
	mr_api_transcript_fields(w, &t);
	mr_jw_num(w, "seconds", t.seconds);
	mr_jw_str(w, "transcribed_at", t.done_at);
	mr_jw_open(w, "segments", '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_num(w, "start", (double)segs[i].start_ms / 1000);
		mr_jw_num(w, "end", (double)segs[i].end_ms / 1000);
		mr_jw_str(w, "text", segs[i].text);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	if (mr_api_chapters_write(cx, w, &t) == -1)
		return mr_api_oom(cx);
	mr_jw_close(w, '}');
	mr_api_audit_once(cx, r.id, NULL, "view");
	return mr_resp_jw(cx, 200, w);
}

int
mr_api_recording_transcribe(struct mr_ctx *cx)
{
	static const char *const none[] = { NULL };
	struct mr_recording	 r;
	struct mr_jw		*w;
	int			 rc;

	if (mr_req_query_check(cx, none) == -1 || mr_req_no_fields(cx) == -1 ||
	    mr_api_load_owned(cx, &r, "transcribe") == -1)
		return -1;
	if (cx->cx_env->conf->cf_asr_url == NULL)
		return mr_err_set(&cx->cx_err, 409, "transcription_off",
		    "Transcription is not set up here (asr_url).");
	if (!mr_api_same(r.status, "completed") || r.storage_path == NULL)
		return mr_err_set(&cx->cx_err, 409, "not_completed",
		    "Only a completed recording can be transcribed; this one "
		    "is %s.", r.status);
	rc = mr_db_tr_request(cx->cx_env->db, cx->cx_arena, r.id,
	    r.company_id, cx->cx_user.id, cx->cx_env->conf->cf_asr_language,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 409, "transcription_running",
		    "This recording is being transcribed right now.");
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r.id);
	mr_jw_str(w, "transcript_status", "pending");
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 202, w);
}

/*
 * The segment's text in pieces, each a match or not: marked holds the
 * text with each match between \x01 and \x02 (tr_search).  A client
 * shows them without ever reading markup from the text.
 */
static void
highlight(struct mr_jw *w, struct mr_arena *a, const char *marked)
{
	const char	*p = marked, *q;
	int		 match = 0;
	char		*part;

	mr_jw_open(w, "highlight", '[');
	while (*p != '\0') {
		q = p + strcspn(p, "\x01\x02");
		if (q > p && (part = mr_strndup(a, p, (size_t)(q - p))) !=
		    NULL) {
			mr_jw_open(w, NULL, '{');
			mr_jw_str(w, "text", part);
			mr_jw_bool(w, "match", match);
			mr_jw_close(w, '}');
		}
		if (*q == '\0')
			break;
		match = *q == '\x01';
		p = q + 1;
	}
	mr_jw_close(w, ']');
}

/* Words to search for: UTF-8 without control characters. */
static int
words_ok(const char *s)
{
	size_t	 len = strlen(s), i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return mr_utf8_valid(s, len);
}

/*
 * The audit of a search: each recording whose words the page shows gets
 * a "search" row naming the words searched for, once per viewing as a
 * view is (audit_dedupe_seconds), so searching again writes nothing.
 * One read finds the recordings not yet marked for this viewer; only
 * those are written, each as a view is.  One that cannot be written is
 * logged, not fatal.
 */
static void
audit_hits(struct mr_ctx *cx, const char *words, const struct mr_tr_hit *hits,
    int n)
{
	struct json_object	*o;
	struct mr_audit		 au;
	struct mr_err		 err;
	const char		*detail, **ids, **todo;
	size_t			 nids = 0, ntodo, k;
	int			 i, j;

	if (n <= 0 || mr_req_head(cx) ||
	    (ids = mr_calloc(cx->cx_arena, (size_t)n, sizeof(*ids))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(hits[j].recording_id,
			    hits[i].recording_id) == 0)
				break;
		if (j == i)
			ids[nids++] = hits[i].recording_id;
	}
	memset(&au, 0, sizeof(au));
	au.user_id = cx->cx_user.id;
	au.action = "search";
	au.ip = cx->cx_req.rq_remote_addr;
	au.agent = cx->cx_req.rq_user_agent;
	mr_err_clear(&err);
	if (mr_db_audit_unmarked(cx->cx_env->db, cx->cx_arena, &au, ids, nids,
	    &todo, &ntodo, &err) == -1) {
		mr_log_warnx("req=%s could not write access log: %s",
		    cx->cx_req.rq_id, err.cause);
		return;
	}
	if (ntodo == 0 || (o = json_object_new_object()) == NULL)
		return;
	json_object_object_add(o, "q", json_object_new_string(words));
	detail = mr_json_dump(cx->cx_arena, o);
	json_object_put(o);
	if (detail == NULL)
		return;
	for (k = 0; k < ntodo; k++)
		mr_api_audit_detail(cx, todo[k], NULL, "search", detail);
}

/* GET /api/recordings/?q=: called by the list when q is given. */
int
mr_api_recordings_search(struct mr_ctx *cx)
{
	static const char *const params[] = {
		"q", "limit", "offset", NULL
	};
	struct mr_tr_query	 q;
	struct mr_tr_hit	*hits;
	struct mr_jw		*w;
	const char		*v;
	int			 n, i, rc;

	memset(&q, 0, sizeof(q));
	q.company_id = cx->cx_user.company_id;
	q.user_id = cx->cx_user.id;
	q.is_admin = cx->cx_user.is_admin;
	q.language = cx->cx_env->conf->cf_asr_language;
	q.limit = SEARCH_DEFAULT;
	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_query(cx, "q", &q.words) == -1)
		return -1;
	if (q.words == NULL || q.words[strspn(q.words, " \t")] == '\0' ||
	    strlen(q.words) > WORDS_MAX || !words_ok(q.words))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'q' must be 1 to %d bytes of UTF-8 "
		    "words.", WORDS_MAX);
	if (mr_req_limit(cx, SEARCH_MAX, &q.limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "offset", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 0, SEARCH_OFFSET_MAX,
	    &q.offset) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'offset' must be from 0 to %d.",
		    SEARCH_OFFSET_MAX);
	/* One more than the page: whether there is a next one. */
	q.limit++;
	if (mr_db_tr_search(cx->cx_env->db, cx->cx_arena, &q, &hits, &n,
	    &cx->cx_err) == -1)
		return -1;
	q.limit--;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "q", q.words);
	mr_jw_open(w, "hits", '[');
	for (i = 0; i < n && i < q.limit; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_str(w, "recording_id", hits[i].recording_id);
		mr_jw_str(w, "room_code", hits[i].room_code);
		mr_jw_str(w, "meeting_name", hits[i].meeting_name);
		mr_jw_str(w, "recorded_by_name", hits[i].recorded_by_name);
		mr_jw_str(w, "started_at", hits[i].started_at);
		mr_jw_num(w, "start", (double)hits[i].start_ms / 1000);
		mr_jw_num(w, "end", (double)hits[i].end_ms / 1000);
		mr_jw_str(w, "text", hits[i].text);
		highlight(w, cx->cx_arena, hits[i].marked);
		mr_jw_num(w, "rank", hits[i].rank);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	mr_jw_int(w, "limit", q.limit);
	mr_jw_int(w, "offset", q.offset);
	mr_jw_bool(w, "has_more", n > q.limit);
	mr_jw_close(w, '}');
	audit_hits(cx, q.words, hits, n < q.limit ? n : q.limit);
	return mr_resp_jw(cx, 200, w);
}
