/* SPDX-License-Identifier: ISC */
/*
 * api_gov.c - governance: a recording's retention (its owner and the
 * company's admins, within the company's bound), legal holds and the
 * list of them, the company's policy, and the audit trail (admins).
 * Every change is written by the statement that makes it together with
 * its audit row (db_gov.c, sql/011_governance.sql).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"
#include "json.h"
#include "manage.h"
#include "model.h"
#include "recinfo.h"

#define HOLDS_DEFAULT	50
#define HOLDS_MAX	200
#define AUDIT_DEFAULT	100
#define AUDIT_MAX	1000
#define CSV_MAX		10000
#define REASON_MAX	1000

/* The hold of r (or null) into the object open in w. */
void
mr_api_hold_write(struct mr_jw *w, const struct mr_recording *r)
{
	if (r->legal_hold_at == NULL) {
		mr_jw_null(w, "legal_hold");
		return;
	}
	mr_jw_open(w, "legal_hold", '{');
	mr_jw_str(w, "reason", r->legal_hold_reason);
	mr_jw_str(w, "held_by", r->legal_hold_by);
	mr_jw_str(w, "held_at", r->legal_hold_at);
	mr_jw_close(w, '}');
}

/* The recording named in the path, of the admin's company (404 else). */
static int
admin_get(struct mr_ctx *cx, const char *id, struct mr_recording *r)
{
	struct mr_admin_rec	 ar;
	int			 rc;

	rc = mr_db_admin_get(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, &ar, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	*r = ar.rec;
	return 0;
}

static int
load_admin(struct mr_ctx *cx, struct mr_recording *r, const char **id)
{
	if (mr_req_path_uuid(cx, id) == -1)
		return -1;
	return admin_get(cx, *id, r);
}

static int
answer_rec(struct mr_ctx *cx, int status, const struct mr_recording *r)
{
	struct mr_jw	*w;

	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r->id);
	mr_jw_str(w, "expires_at", r->expires_at);
	mr_api_hold_write(w, r);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, status, w);
}

/*
 * PUT /recordings/{id}/retention {"expires_at": time | null} or
 * {"days": n}: when the recording expires (null: kept until deleted),
 * within the company's retention_max_days from when it was made.
 */
int
mr_api_recording_retention(struct mr_ctx *cx)
{
	static const char *const keys[] = { "expires_at", "days", NULL };
	struct mr_recording	 r;
	struct json_object	*body, *v;
	const char		*at = NULL, *outcome, *latest;
	int64_t			 days = 0, max_days;
	int			 has_at, has_days, date_only, rc;
	char			 iso[MR_TIME_ISOLEN];

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	has_at = json_object_object_get_ex(body, "expires_at", &v);
	if ((has_days = mr_json_get_int(body, "days", 1, 36500, &days,
	    &cx->cx_err)) == -1)
		return -1;
	if (has_at == has_days)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Send either 'expires_at' (a time, or null to keep the "
		    "recording until it is deleted) or 'days'.");
	if (has_at && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    mr_time_valid(json_object_get_string(v), &date_only) ==
		    -1 || date_only)
			return mr_err_set(&cx->cx_err, 422, "invalid_field",
			    "Field 'expires_at' must be an RFC 3339 time "
			    "(YYYY-MM-DDTHH:MM:SSZ) or null.");
		at = json_object_get_string(v);
	}
	if (has_days && (at = mr_time_iso(iso, ((int64_t)time(NULL) +
	    days * 86400) * 1000000)) == NULL)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'days' is too far ahead.");
	if (mr_api_load_owned(cx, &r, "change the retention of") == -1)
		return -1;
	rc = mr_db_gov_retention(cx->cx_env->db, cx->cx_arena, r.id,
	    r.company_id, at, &outcome, &max_days, &latest, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	if (strcmp(outcome, "past") == 0)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'expires_at' must be in the future (to delete the "
		    "recording now, DELETE it).");
	if (strcmp(outcome, "forever") == 0)
		return mr_err_set(&cx->cx_err, 422, "retention_max_days",
		    "The company keeps recordings at most %lld days "
		    "(retention_max_days): 'expires_at' cannot be null.",
		    (long long)max_days);
	if (strcmp(outcome, "beyond") == 0)
		return mr_err_set(&cx->cx_err, 422, "retention_max_days",
		    "The company keeps recordings at most %lld days "
		    "(retention_max_days): this one expires at %s at the "
		    "latest.", (long long)max_days, latest ? latest : "?");
	if (strcmp(outcome, "busy") == 0)
		return mr_err_set(&cx->cx_err, 409, "recording_busy",
		    "The reaper is deleting this recording's files.");
	if (mr_db_rec_get(cx->cx_env->db, cx->cx_arena, r.id, &r,
	    &cx->cx_err) != 1)
		return cx->cx_err.status ? -1 : mr_err_set(&cx->cx_err, 404,
		    "recording_not_found", "Recording not found.");
	return answer_rec(cx, 200, &r);
}

/*
 * POST /admin/recordings/{id}/hold {"reason": text}: a legal hold.  Until
 * it is released the recording cannot be deleted, does not expire and
 * is not purged from the trash.
 */
int
mr_api_admin_hold(struct mr_ctx *cx)
{
	static const char *const keys[] = { "reason", NULL };
	struct mr_recording	 r;
	struct json_object	*body;
	const char		*id, *reason = NULL, *outcome;
	int			 rc;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if ((rc = mr_json_get_str(body, "reason", REASON_MAX, &reason,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 0 || reason[strspn(reason, " \t\r\n")] == '\0')
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Field 'reason' is required: say why the recording is "
		    "held (a case, a request).");
	if (load_admin(cx, &r, &id) == -1)
		return -1;
	if (r.legal_hold_at != NULL)
		return mr_manage_held(&r, &cx->cx_err);
	rc = mr_db_gov_hold(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, reason, cx->cx_user.id, &outcome,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	if (strcmp(outcome, "busy") == 0)
		return mr_err_set(&cx->cx_err, 409, "recording_busy",
		    "The reaper is deleting this recording's files.");
	if (admin_get(cx, id, &r) == -1)
		return -1;
	if (strcmp(outcome, "already_held") == 0)
		return mr_manage_held(&r, &cx->cx_err);
	mr_log_info("req=%s rec=%s action=hold admin=%s", cx->cx_req.rq_id,
	    id, cx->cx_user.id);
	return answer_rec(cx, 201, &r);
}

/* DELETE /admin/recordings/{id}/hold: the hold released. */
int
mr_api_admin_release(struct mr_ctx *cx)
{
	struct mr_recording	 r;
	const char		*id, *outcome;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || load_admin(cx, &r, &id) == -1)
		return -1;
	rc = mr_db_gov_release(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, &outcome, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	if (strcmp(outcome, "not_held") == 0)
		return mr_err_set(&cx->cx_err, 409, "not_held",
		    "The recording is not on legal hold.");
	if (admin_get(cx, id, &r) == -1)
		return -1;
	mr_log_info("req=%s rec=%s action=release admin=%s",
	    cx->cx_req.rq_id, id, cx->cx_user.id);
	return answer_rec(cx, 200, &r);
}

/* GET /admin/holds?held_by=&room_code=&limit=&cursor= */
int
mr_api_admin_holds(struct mr_ctx *cx)
{
	static const char *const params[] = { "held_by", "room_code", "limit",
	    "cursor", NULL };
	struct mr_recording	*rows;
	struct mr_jw		*w;
	const char		*by = NULL, *room = NULL, *v, *cts = NULL;
	const char		*cid = NULL;
	int64_t			 limit = HOLDS_DEFAULT;
	int			 n, i, rc;

	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_limit(cx, HOLDS_MAX, &limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "held_by", &by)) == -1)
		return -1;
	if (rc == 1 && !mr_uuid_valid(by))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'held_by' must be a UUID.");
	if ((rc = mr_req_query(cx, "room_code", &room)) == -1)
		return -1;
	if (rc == 1 && !mr_room_code_valid(room))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'room_code' is not a valid room code.");
	if ((rc = mr_req_query(cx, "cursor", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_cursor_parse(cx, v, &cts, &cid) == -1))
		return -1;
	if (mr_db_gov_holds(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, by, room, cts, cid, limit, &rows, &n,
	    &cx->cx_err) == -1)
		return -1;
	if ((w = mr_recinfo_page(cx, "holds")) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_recinfo_write(cx, w, &rows[i]);
		mr_jw_str(w, "deleted_at", rows[i].deleted_at);
		mr_api_hold_write(w, &rows[i]);
		mr_jw_close(w, '}');
	}
	return mr_recinfo_page_end(cx, w, n, n < limit, n == limit ?
	    rows[n - 1].legal_hold_at : NULL, n == limit ? rows[n - 1].id :
	    NULL, NULL);
}

static int
policy_answer(struct mr_ctx *cx, const struct mr_policy *p)
{
	struct mr_jw	*w;
	int64_t		 def;

	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	def = p->retention_default_days >= 0 ? p->retention_default_days :
	    cx->cx_env->conf->cf_retention_days;
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "company_id", cx->cx_user.company_id);
	if (p->retention_default_days >= 0)
		mr_jw_int(w, "retention_default_days",
		    p->retention_default_days);
	else
		mr_jw_null(w, "retention_default_days");
	if (p->retention_max_days > 0)
		mr_jw_int(w, "retention_max_days", p->retention_max_days);
	else
		mr_jw_null(w, "retention_max_days");
	/* What a new recording gets: the default within the bound. */
	mr_jw_int(w, "effective_retention_days", p->retention_max_days > 0 &&
	    (def == 0 || def > p->retention_max_days) ?
	    p->retention_max_days : def);
	mr_jw_str(w, "auto_share", p->auto_share);
	mr_jw_str(w, "updated_at", p->updated_at);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}

/* GET /admin/policy */
int
mr_api_admin_policy_get(struct mr_ctx *cx)
{
	struct mr_policy	 p;

	if (mr_req_query_check(cx, (const char *const []){ NULL }) == -1)
		return -1;
	if (mr_db_gov_policy_get(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, &p, &cx->cx_err) == -1)
		return -1;
	return policy_answer(cx, &p);
}

/*
 * A whole-number-of-days field that may be null (unset): 1 set, 0 absent
 * (*out untouched), -1 with 422.
 */
static int
days_field(struct mr_ctx *cx, struct json_object *body, const char *name,
    int64_t min, int64_t unset, int64_t *out)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(body, name, &v))
		return 0;
	if (v == NULL) {
		*out = unset;
		return 1;
	}
	return mr_json_get_int(body, name, min, 36500, out, &cx->cx_err);
}

/*
 * PUT /admin/policy {"retention_default_days"?, "retention_max_days"?,
 * "auto_share"?}: keys left out keep their value; null goes back to the
 * default (meetrec.conf's retention_days; no bound).
 */
int
mr_api_admin_policy_put(struct mr_ctx *cx)
{
	static const char *const keys[] = { "retention_default_days",
	    "retention_max_days", "auto_share", NULL };
	struct mr_policy	 p;
	struct json_object	*body;
	const char		*share;
	int64_t			 def;
	int			 rc;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if (mr_db_gov_policy_get(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, &p, &cx->cx_err) == -1)
		return -1;
	if (days_field(cx, body, "retention_default_days", 0, -1,
	    &p.retention_default_days) == -1 ||
	    days_field(cx, body, "retention_max_days", 1, 0,
	    &p.retention_max_days) == -1)
		return -1;
	if ((rc = mr_json_get_str(body, "auto_share", 32, &share,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 1) {
		if (strcmp(share, "none") != 0 &&
		    strcmp(share, "participants") != 0)
			return mr_err_set(&cx->cx_err, 422, "invalid_field",
			    "Field 'auto_share' must be none or participants.");
		p.auto_share = share;
	}
	def = p.retention_default_days >= 0 ? p.retention_default_days :
	    cx->cx_env->conf->cf_retention_days;
	if (p.retention_max_days > 0 && (def == 0 ||
	    def > p.retention_max_days))
		return mr_err_set(&cx->cx_err, 422, "retention_max_days",
		    "retention_default_days (%lld%s) must be from 1 to "
		    "retention_max_days (%lld).", (long long)def,
		    def == 0 ? ": for ever" : "",
		    (long long)p.retention_max_days);
	if (mr_db_gov_policy_set(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, &p, &cx->cx_err) == -1)
		return -1;
	return policy_answer(cx, &p);
}

static int
audit_csv(struct mr_ctx *cx, const struct mr_audit_row *rows, int n,
    int64_t next)
{
	struct mr_buf	 b;
	char		 seq[24];
	char		*body;
	int		 i, rc;

	mr_buf_init(&b, 64u << 20);
	rc = mr_buf_adds(&b, "seq,id,accessed_at,company_id,recording_id,user_id,"
	    "user_email,action,ip_address,user_agent,share_id,detail,"
	    "prev_hash,row_hash\n");
	for (i = 0; i < n; i++) {
		snprintf(seq, sizeof(seq), "%lld", (long long)rows[i].seq);
		rc |= mr_resp_csv_field(&b, seq, 0);
		rc |= mr_resp_csv_field(&b, rows[i].id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].at, 0);
		rc |= mr_resp_csv_field(&b, rows[i].company_id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].recording_id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].user_id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].user_email, 0);
		rc |= mr_resp_csv_field(&b, rows[i].action, 0);
		rc |= mr_resp_csv_field(&b, rows[i].ip, 0);
		rc |= mr_resp_csv_field(&b, rows[i].agent, 0);
		rc |= mr_resp_csv_field(&b, rows[i].share_id, 0);
		rc |= mr_resp_csv_field(&b, rows[i].detail, 0);
		rc |= mr_resp_csv_field(&b, rows[i].prev_hash, 0);
		rc |= mr_resp_csv_field(&b, rows[i].row_hash, 1);
	}
	body = rc == 0 ? mr_strndup(cx->cx_arena, b.data, b.len) : NULL;
	mr_buf_free(&b);
	if (body == NULL)
		return mr_api_oom(cx);
	if (next > 0)
		mr_resp_header(cx, mr_printf(cx->cx_arena,
		    "X-Next-Before: %lld", (long long)next));
	mr_resp_header(cx, "Content-Disposition: attachment; "
	    "filename=\"audit.csv\"");
	return mr_resp_text(cx, 200, "text/csv; charset=utf-8", body,
	    strlen(body));
}

/*
 * GET /admin/audit?user=&recording=&action=&from=&to=&before=&limit=
 * &format=json|csv: the company's audit trail, newest first; before is
 * the seq to go on below (next_before in the answer).
 */
int
mr_api_admin_audit(struct mr_ctx *cx)
{
	static const char *const params[] = { "user", "recording", "action",
	    "from", "to", "before", "limit", "format", NULL };
	struct mr_audit_filter	 f;
	struct mr_audit_row	*rows;
	struct mr_jw		*w;
	struct json_object	*d;
	const char		*v, *fmt = "json";
	int64_t			 next;
	int			 n, i, rc, csv;

	memset(&f, 0, sizeof(f));
	f.company = cx->cx_user.company_id;
	if (mr_req_query_check(cx, params) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "format", &fmt)) == -1)
		return -1;
	if (rc == 1 && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'format' must be json or csv.");
	csv = strcmp(fmt, "csv") == 0;
	f.limit = csv ? CSV_MAX : AUDIT_DEFAULT;
	if (mr_req_limit(cx, csv ? CSV_MAX : AUDIT_MAX, &f.limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "user", &f.user)) == -1)
		return -1;
	if (rc == 1 && !mr_uuid_valid(f.user))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'user' must be a UUID.");
	if ((rc = mr_req_query(cx, "recording", &f.recording)) == -1)
		return -1;
	if (rc == 1 && !mr_uuid_valid(f.recording))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'recording' must be a UUID.");
	if ((rc = mr_req_query(cx, "action", &f.action)) == -1)
		return -1;
	if (rc == 1 && (strlen(f.action) > 32 ||
	    strspn(f.action, "abcdefghijklmnopqrstuvwxyz_") !=
	    strlen(f.action) || f.action[0] == '\0'))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'action' must be an audit action "
		    "(lower-case letters and _).");
	if ((rc = mr_req_query(cx, "from", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_time(cx, "from", v, 0, &f.from) == -1))
		return -1;
	if ((rc = mr_req_query(cx, "to", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_time(cx, "to", v, 1, &f.to) == -1))
		return -1;
	if ((rc = mr_req_query(cx, "before", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 2, INT64_MAX, &f.before) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'before' must be a seq of the trail "
		    "(2 or more).");
	if (mr_db_gov_audit(cx->cx_env->db, cx->cx_arena, &f, &rows, &n,
	    &cx->cx_err) == -1)
		return -1;
	next = n == f.limit && n > 0 && rows[n - 1].seq > 1 ?
	    rows[n - 1].seq : 0;
	if (csv)
		return audit_csv(cx, rows, n, next);
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_open(w, "entries", '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_int(w, "seq", rows[i].seq);
		mr_jw_str(w, "id", rows[i].id);
		mr_jw_str(w, "accessed_at", rows[i].at);
		mr_jw_str(w, "recording_id", rows[i].recording_id);
		mr_jw_str(w, "user_id", rows[i].user_id);
		mr_jw_str(w, "user_email", rows[i].user_email);
		mr_jw_str(w, "action", rows[i].action);
		mr_jw_str(w, "ip_address", rows[i].ip);
		mr_jw_str(w, "user_agent", rows[i].agent);
		mr_jw_str(w, "share_id", rows[i].share_id);
		d = rows[i].detail != NULL ? mr_json_own(cx->cx_arena,
		    json_tokener_parse(rows[i].detail)) : NULL;
		if (d != NULL)
			mr_jw_value(w, "detail", d);
		else
			mr_jw_null(w, "detail");
		mr_jw_str(w, "prev_hash", rows[i].prev_hash);
		mr_jw_str(w, "row_hash", rows[i].row_hash);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	mr_jw_str(w, "company_id", cx->cx_user.company_id);
	if (next > 0)
		mr_jw_int(w, "next_before", next);
	else
		mr_jw_null(w, "next_before");
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}
