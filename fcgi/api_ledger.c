/* SPDX-License-Identifier: ISC */
/*
 * api_ledger.c - the participants ledger over HTTP: GET
 * /recordings/{id}/participants (the owner and the company's admins, as
 * JSON or as CSV for auditors) and POST /recordings/{id}/consent (a
 * participant's answer to the recording notice: acknowledge or object).
 * The ledger is filled by the room webhooks (api_webhook.c) and when a
 * recording begins (mr_api_ledger_begin, from the start); the room is
 * told when it stops (mr_api_ledger_end); see ledger.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fcgi.h"
#include "json.h"
#include "ledger.h"

#define CSV_CAP	(64u << 20)

static void
ledger_env(struct mr_ctx *cx, struct mr_ledger_env *le)
{
	struct mr_env	*env = cx->cx_env;

	memset(le, 0, sizeof(*le));
	le->db = env->db;
	le->lk = &env->lk;
	le->identity_map = env->conf->cf_livekit_user_identity;
	le->public_url = env->conf->cf_public_url;
}

/*
 * The recording rec of room has begun: its ledger and the notice to its
 * room (ledger.c).  Whatever happens there, the start goes on: a
 * failure is logged here, and what LiveKit did is in the ledger.
 */
void
mr_api_ledger_begin(struct mr_ctx *cx, const char *rec, const char *room)
{
	struct mr_ledger_env	 le;
	struct mr_ledger_start	 st;
	struct mr_err		 err;

	ledger_env(cx, &le);
	memset(&st, 0, sizeof(st));
	st.recording_id = rec;
	st.room = room;
	st.user_id = cx->cx_user.id;
	st.user_name = cx->cx_user.username;
	mr_err_clear(&err);
	if (mr_ledger_begin(&le, cx->cx_arena, &st, &err) == -1)
		mr_log_warnx("req=%s rec=%s ledger: could not record the "
		    "participants or the notice: %s: %s", cx->cx_req.rq_id,
		    rec, err.code ? err.code : "-", err.cause);
}

/*
 * A verified webhook ev (event id, event name, createdAt) that is not
 * an egress event: a room or participant event goes into the presences
 * and ledgers (deduplicated by its id), and someone joining a room
 * being recorded gets the notice.  *result is what api_webhook.c
 * answers: applied, unchanged, duplicate, or ignored (another event, a
 * room that is not meetrec's, the egress's own participant).  -1 with
 * 400 invalid_event for a malformed room or participant, 503
 * event_not_stored when the database failed (LiveKit sends it again).
 */
int
mr_api_ledger_webhook(struct mr_ctx *cx, struct json_object *ev,
    const char *id, const char *event, int64_t created, const char **result)
{
	struct mr_env		*env = cx->cx_env;
	struct mr_ledger_event	 e;
	struct mr_ledger_env	 le;
	struct mr_err		 err;
	int			 rc, dup;

	rc = mr_ledger_event_read(cx->cx_arena,
	    env->conf->cf_livekit_user_identity, ev, id, event, created, &e,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		*result = "ignored";
		return 0;
	}
	if ((rc = mr_db_ledger_event(env->db, cx->cx_arena, &e, &dup,
	    &cx->cx_err)) == -1) {
		if (cx->cx_err.status == 500)
			mr_err_set(&cx->cx_err, 503, "event_not_stored",
			    "The event could not be stored; try again.");
		return -1;
	}
	*result = dup ? "duplicate" : rc ? "applied" : "unchanged";
	mr_log_info("req=%s webhook event=%s id=%s room=%s sid=%s result=%s",
	    cx->cx_req.rq_id, event, id, e.room, e.part.sid ? e.part.sid : "-",
	    *result);
	/* Someone came in while the room is recorded: tell them. */
	if (rc == 1 && e.ev == MR_LEDGER_JOINED) {
		ledger_env(cx, &le);
		mr_err_clear(&err);
		if (mr_ledger_tell_due(&le, cx->cx_arena, NULL, e.room,
		    &err) == -1)
			mr_log_warnx("req=%s ledger: could not record a "
			    "notice: %s: %s", cx->cx_req.rq_id, err.code ?
			    err.code : "-", err.cause);
	}
	return 0;
}

/*
 * Recording r was stopped: its key leaves the room's metadata and the
 * room is told (ledger.c).  Best effort; the stop goes on.
 */
void
mr_api_ledger_end(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct mr_ledger_env	 le;
	struct mr_ledger_start	 st;

	ledger_env(cx, &le);
	memset(&st, 0, sizeof(st));
	st.recording_id = r->id;
	st.room = r->room_code;
	st.user_id = r->recorded_by;
	st.user_name = r->recorded_by_name;
	st.started_at = r->started_at;
	mr_ledger_end(&le, cx->cx_arena, &st);
}

/* Characters (not bytes) of UTF-8 text s. */
static size_t
chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * POST /recordings/{id}/consent {"answer": "acknowledge" | "object",
 * "comment"?}: a participant's answer, with their own token.  Only a
 * user one of the recording's participants maps to may answer (403
 * not_participant); the recording itself is not changed.
 */
int
mr_api_recording_consent(struct mr_ctx *cx)
{
	static const char *const keys[] = { "answer", "comment", NULL };
	struct mr_recording	 r;
	struct mr_ledger_answer	 out;
	struct json_object	*body;
	struct mr_jw		*w;
	const char		*answer = NULL, *comment = NULL;
	int			 rc;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if ((rc = mr_json_get_str(body, "answer", 32, &answer,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Field 'answer' is required: acknowledge or object.");
	if (strcmp(answer, "acknowledge") != 0 && strcmp(answer, "object") != 0)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'answer' must be acknowledge or object.");
	if (mr_json_get_str(body, "comment", 4 * MR_LEDGER_COMMENT_MAX,
	    &comment, &cx->cx_err) == -1)
		return -1;
	if (comment != NULL && chars(comment) > MR_LEDGER_COMMENT_MAX)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'comment' is longer than %d characters.",
		    MR_LEDGER_COMMENT_MAX);
	if (mr_api_load(cx, &r) == -1)
		return -1;
	rc = mr_db_ledger_answer(cx->cx_env->db, cx->cx_arena, r.id,
	    cx->cx_user.id, answer, comment, &out, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		mr_err_set(&cx->cx_err, 403, "not_participant",
		    "Only a participant of this recording may answer its "
		    "notice.");
		mr_api_refused(cx, &r);
		return -1;
	}
	if (out.changed)
		mr_log_info("req=%s rec=%s action=%s user=%s",
		    cx->cx_req.rq_id, r.id, strcmp(out.answer, "object") == 0 ?
		    "objection" : "consent", cx->cx_user.id);
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r.id);
	mr_jw_str(w, "user_id", cx->cx_user.id);
	mr_jw_str(w, "answer", out.answer);
	mr_jw_str(w, "comment", out.comment);
	mr_jw_str(w, "answered_at", out.answered_at);
	mr_jw_bool(w, "changed", out.changed);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}

static int
answer_csv(struct mr_ctx *cx, const struct mr_recording *r,
    const struct mr_ledger_row *rows, int n)
{
	struct mr_buf	 b;
	char		*body;
	int		 i, rc;

	mr_buf_init(&b, CSV_CAP);
	rc = mr_buf_adds(&b, "recording_id,sid,identity,name,kind,user_id,"
	    "joined_at,left_at,left_reason,source,notice_status,notice_at,"
	    "notice_error,answer,comment,answered_at\n");
	for (i = 0; i < n; i++) {
		rc |= mr_resp_csv_field(&b, r->id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].sid, 0);
		rc |= mr_resp_csv_field(&b, rows[i].identity, 0);
		rc |= mr_resp_csv_field(&b, rows[i].name, 0);
		rc |= mr_resp_csv_field(&b, rows[i].kind, 0);
		rc |= mr_resp_csv_field(&b, rows[i].user_id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].joined_at, 0);
		rc |= mr_resp_csv_field(&b, rows[i].left_at, 0);
		rc |= mr_resp_csv_field(&b, rows[i].left_reason, 0);
		rc |= mr_resp_csv_field(&b, rows[i].source, 0);
		rc |= mr_resp_csv_field(&b, rows[i].notice_status, 0);
		rc |= mr_resp_csv_field(&b, rows[i].notice_at, 0);
		rc |= mr_resp_csv_field(&b, rows[i].notice_error, 0);
		rc |= mr_resp_csv_field(&b, rows[i].answer, 0);
		rc |= mr_resp_csv_field(&b, rows[i].comment, 0);
		rc |= mr_resp_csv_field(&b, rows[i].answered_at, 1);
	}
	body = rc == 0 ? mr_strndup(cx->cx_arena, b.data, b.len) : NULL;
	mr_buf_free(&b);
	if (body == NULL)
		return mr_api_oom(cx);
	mr_resp_header(cx, mr_printf(cx->cx_arena, "Content-Disposition: "
	    "attachment; filename=\"participants-%s.csv\"", r->id));
	return mr_resp_text(cx, 200, "text/csv; charset=utf-8", body,
	    strlen(body));
}

static void
notice_write(struct mr_jw *w, const struct mr_ledger_notice *nt)
{
	if (nt->status == NULL) {
		mr_jw_null(w, "notice");
		return;
	}
	mr_jw_open(w, "notice", '{');
	mr_jw_str(w, "status", nt->status);
	mr_jw_str(w, "metadata", nt->metadata);
	mr_jw_str(w, "data", nt->data);
	mr_jw_str(w, "error", nt->error);
	mr_jw_str(w, "sent_at", nt->sent_at);
	mr_jw_close(w, '}');
}

/*
 * GET /recordings/{id}/participants?format=json|csv: the ledger, in
 * joining order, for the owner and the company's admins.
 */
int
mr_api_recording_participants(struct mr_ctx *cx)
{
	static const char *const params[] = { "format", NULL };
	struct mr_recording	 r;
	struct mr_ledger_notice	 nt;
	struct mr_ledger_row	*rows;
	struct mr_jw		*w;
	const char		*fmt = "json";
	int			 n, i, rc, truncated;

	if (mr_req_query_check(cx, params) == -1 ||
	    (rc = mr_req_query(cx, "format", &fmt)) == -1)
		return -1;
	if (rc == 1 && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'format' must be json or csv.");
	if (mr_api_load_owned(cx, &r, "see the participants of") == -1)
		return -1;
	if (mr_db_ledger_list(cx->cx_env->db, cx->cx_arena, r.id,
	    MR_LEDGER_LIST_MAX + 1, &nt, &rows, &n, &cx->cx_err) == -1)
		return -1;
	if ((truncated = n > MR_LEDGER_LIST_MAX))
		n = MR_LEDGER_LIST_MAX;
	if (strcmp(fmt, "csv") == 0)
		return answer_csv(cx, &r, rows, n);
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r.id);
	mr_jw_str(w, "room_code", r.room_code);
	mr_jw_str(w, "status", r.status);
	mr_jw_str(w, "started_at", r.started_at);
	mr_jw_str(w, "ended_at", r.ended_at);
	notice_write(w, &nt);
	mr_jw_int(w, "objections", nt.objections);
	mr_jw_open(w, "participants", '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_str(w, "sid", rows[i].sid);
		mr_jw_str(w, "identity", rows[i].identity);
		mr_jw_str(w, "name", rows[i].name);
		mr_jw_str(w, "kind", rows[i].kind);
		mr_jw_str(w, "user_id", rows[i].user_id);
		mr_jw_str(w, "joined_at", rows[i].joined_at);
		mr_jw_str(w, "left_at", rows[i].left_at);
		mr_jw_str(w, "left_reason", rows[i].left_reason);
		mr_jw_str(w, "source", rows[i].source);
		mr_jw_str(w, "notice_status", rows[i].notice_status);
		mr_jw_str(w, "notice_at", rows[i].notice_at);
		mr_jw_str(w, "notice_error", rows[i].notice_error);
		mr_jw_str(w, "answer", rows[i].answer);
		mr_jw_str(w, "comment", rows[i].comment);
		mr_jw_str(w, "answered_at", rows[i].answered_at);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	mr_jw_bool(w, "truncated", truncated);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}
