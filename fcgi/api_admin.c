/* SPDX-License-Identifier: ISC */
/*
 * api_admin.c - the admin API for curl: every recording of the company
 * (the trash included on request), retry of a failed upload, restore
 * from the trash, and counts.  route.c lets only admins in; everything
 * here is confined to the admin's company, and another company's
 * recordings do not exist (404).
 */
#include "config.h"

#include <string.h>

#include "fcgi.h"
#include "json.h"
#include "manage.h"
#include "model.h"
#include "recinfo.h"

#define LIST_DEFAULT	50
#define LIST_MAX	200

static int
one_of(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(*set, v) == 0)
			return 1;
	return 0;
}

/* The filters of GET /admin/recordings into f; -1 with 400 on a bad one. */
static int
filters(struct mr_ctx *cx, struct mr_admin_filter *f)
{
	static const char *const params[] = {
		"status", "room_code", "user", "from", "to", "trash", "limit",
		"cursor", NULL
	};
	static const char *const trash[] = {
		"exclude", "include", "only", NULL
	};
	const char	*v;
	int		 rc;

	memset(f, 0, sizeof(*f));
	f->company_id = cx->cx_user.company_id;
	f->trash = "exclude";
	f->limit = LIST_DEFAULT;
	if (mr_req_query_check(cx, params) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "status", &f->status)) == -1)
		return -1;
	if (rc == 1 && !one_of(f->status, mr_db_admin_statuses))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'status' must be one of pending, "
		    "recording, processing, completed, failed.");
	if ((rc = mr_req_query(cx, "room_code", &f->room_code)) == -1)
		return -1;
	if (rc == 1 && !mr_room_code_valid(f->room_code))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'room_code' is not a valid room code.");
	if ((rc = mr_req_query(cx, "user", &f->user_id)) == -1)
		return -1;
	if (rc == 1 && !mr_uuid_valid(f->user_id))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'user' must be a UUID.");
	if ((rc = mr_req_query(cx, "from", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_time(cx, "from", v, 0, &f->from) == -1))
		return -1;
	if ((rc = mr_req_query(cx, "to", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_time(cx, "to", v, 1, &f->to) == -1))
		return -1;
	if ((rc = mr_req_query(cx, "trash", &v)) == -1)
		return -1;
	if (rc == 1 && !one_of(v, trash))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'trash' must be exclude, include or only.");
	if (rc == 1)
		f->trash = v;
	if (mr_req_limit(cx, LIST_MAX, &f->limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "cursor", &v)) == -1 ||
	    (rc == 1 && mr_recinfo_cursor_parse(cx, v, &f->cursor_ts,
	    &f->cursor_id) == -1))
		return -1;
	return 0;
}

/* RecordingInfo plus what an admin looks at. */
static void
admin_info(struct mr_ctx *cx, struct mr_jw *w, const struct mr_admin_rec *a)
{
	const struct mr_recording	*r = &a->rec;

	mr_jw_open(w, NULL, '{');
	mr_recinfo_write(cx, w, r);
	mr_jw_str(w, "recorded_by_email", r->recorded_by_email);
	mr_jw_str(w, "deleted_at", r->deleted_at);
	mr_jw_str(w, "trash_reason", a->trash_reason);
	mr_jw_int(w, "upload_attempts", r->upload_attempts);
	mr_jw_str(w, "next_attempt_at", a->next_attempt_at);
	mr_api_hold_write(w, r);
	mr_jw_close(w, '}');
}

/* GET /admin/recordings */
int
mr_api_admin_recordings(struct mr_ctx *cx)
{
	struct mr_admin_filter	 f;
	struct mr_admin_rec	*rows;
	struct mr_jw		*w;
	int64_t			 total;
	int			 exact;
	int			 n, i;

	if (filters(cx, &f) == -1)
		return -1;
	if (mr_db_admin_list(cx->cx_env->db, cx->cx_arena, &f, &rows, &n,
	    &total, &exact, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_recinfo_page(cx, "recordings")) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++)
		admin_info(cx, w, &rows[i]);
	return mr_recinfo_page_end(cx, w, total, exact, n == f.limit ?
	    rows[n - 1].rec.created_at : NULL, n == f.limit ?
	    rows[n - 1].rec.id : NULL, NULL);
}

/*
 * POST /admin/recordings/{id}/retry {"accept_as_is"?: bool}: a failed
 * upload back in the upload queue (manage.c has the rules, which
 * meetrec-admin shares).  A file the probe refuses (cut short, damaged)
 * is queued only with accept_as_is: it is then stored as it is, its
 * duration unknown and the probe's finding kept.
 */
int
mr_api_admin_retry(struct mr_ctx *cx)
{
	static const char *const keys[] = { "accept_as_is", NULL };
	struct mr_env		*env = cx->cx_env;
	struct json_object	*o, *body;
	const char		*id;
	int			 as_is = 0;

	if (cx->cx_req.rq_bodylen > 0 &&
	    ((body = mr_req_json(cx, keys)) == NULL ||
	    mr_json_get_bool(body, "accept_as_is", &as_is,
	    &cx->cx_err) == -1))
		return -1;
	if (mr_req_path_uuid(cx, &id) == -1)
		return -1;
	if (mr_manage_retry(env->db, cx->cx_arena, env->conf, id,
	    cx->cx_user.company_id, as_is, &cx->cx_err) == -1)
		return -1;
	mr_log_info("req=%s rec=%s action=retry admin=%s accept_as_is=%d",
	    cx->cx_req.rq_id, id, cx->cx_user.id, as_is);
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", id);
	mr_api_add_str(o, "status", "processing");
	json_object_object_add(o, "accept_as_is",
	    json_object_new_boolean(as_is));
	mr_api_add_str(o, "message", as_is ? "The upload is queued again; "
	    "the file will be stored as it is, even if it is damaged." :
	    "The upload is queued again.");
	return mr_resp_json(cx, 202, o);
}

/*
 * POST /admin/recordings/{id}/restore: out of the trash, within the
 * trash window, unless it went there by expiry (manage.c).
 */
int
mr_api_admin_restore(struct mr_ctx *cx)
{
	struct mr_env		*env = cx->cx_env;
	struct json_object	*o;
	const char		*id;

	if (mr_req_no_fields(cx) == -1 || mr_req_path_uuid(cx, &id) == -1)
		return -1;
	if (mr_manage_restore(env->db, cx->cx_arena, env->conf, id,
	    cx->cx_user.company_id, &cx->cx_err) == -1)
		return -1;
	mr_log_info("req=%s rec=%s action=restore admin=%s",
	    cx->cx_req.rq_id, id, cx->cx_user.id);
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", id);
	mr_api_add_str(o, "message", "Recording restored from the trash.");
	return mr_resp_json(cx, 200, o);
}

/* GET /admin/stats: the company's counts (meetrec-admin stats too). */
int
mr_api_admin_stats(struct mr_ctx *cx)
{
	struct mr_admin_stats	 st;
	struct json_object	*o, *by;
	int			 i;

	if (mr_req_query_check(cx, (const char *const[]){ NULL }) == -1)
		return -1;
	if (mr_db_admin_stats(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, &st, &cx->cx_err) == -1)
		return -1;
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	by = json_object_new_object();
	json_object_object_add(o, "by_status", by);
	for (i = 0; i < MR_NSTATUS; i++)
		json_object_object_add(by, mr_db_admin_statuses[i],
		    json_object_new_int64(st.by_status[i]));
	json_object_object_add(o, "trashed", json_object_new_int64(st.trashed));
	json_object_object_add(o, "bytes_stored",
	    json_object_new_int64(st.bytes_stored));
	json_object_object_add(o, "uploads_pending",
	    json_object_new_int64(st.uploads_pending));
	json_object_object_add(o, "uploads_failed",
	    json_object_new_int64(st.uploads_failed));
	mr_api_add_str(o, "oldest_pending_upload_at", st.oldest_pending_upload_at);
	json_object_object_add(o, "oldest_pending_upload_seconds",
	    st.oldest_pending_upload_s >= 0 ?
	    json_object_new_int64(st.oldest_pending_upload_s) : NULL);
	return mr_resp_json(cx, 200, o);
}
