/* SPDX-License-Identifier: ISC */
/*
 * api_admin.c - the admin API for curl: every recording of the company
 * (the trash included on request), retry of a failed upload, restore
 * from the trash, and counts.  route.c lets only admins in; everything
 * here is confined to the admin's company, and another company's
 * recordings do not exist (404).
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi.h"
#include "json.h"
#include "model.h"
#include "probe.h"
#include "recinfo.h"

#define LIST_DEFAULT	50
#define LIST_MAX	200

static int
not_found(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 404, "recording_not_found",
	    "Recording not found.");
}

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
static struct json_object *
admin_info(struct mr_ctx *cx, const struct mr_admin_rec *a)
{
	const struct mr_recording	*r = &a->rec;
	struct json_object		*o;

	if ((o = mr_recinfo_json(cx, r)) == NULL)
		return NULL;
	mr_api_add_str(o, "recorded_by_email", r->recorded_by_email);
	mr_api_add_str(o, "deleted_at", r->deleted_at);
	mr_api_add_str(o, "trash_reason", a->trash_reason);
	json_object_object_add(o, "upload_attempts",
	    json_object_new_int64(r->upload_attempts));
	mr_api_add_str(o, "next_attempt_at", a->next_attempt_at);
	return o;
}

/* GET /admin/recordings */
int
mr_api_admin_recordings(struct mr_ctx *cx)
{
	struct mr_admin_filter	 f;
	struct mr_admin_rec	*rows;
	struct json_object	*o, *arr, *item;
	int64_t			 total;
	int			 n, i;

	if (filters(cx, &f) == -1)
		return -1;
	if (mr_db_admin_list(cx->cx_env->db, cx->cx_arena, &f, &rows, &n,
	    &total, &cx->cx_err) == -1)
		return -1;
	if ((arr = mr_json_own(cx->cx_arena, json_object_new_array())) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++) {
		if ((item = admin_info(cx, &rows[i])) == NULL)
			return mr_api_oom(cx);
		json_object_array_add(arr, json_object_get(item));
	}
	if ((o = mr_recinfo_page(cx, "recordings", arr, total, n == f.limit ?
	    rows[n - 1].rec.created_at : NULL, n == f.limit ?
	    rows[n - 1].rec.id : NULL)) == NULL)
		return -1;
	return mr_resp_json(cx, 200, o);
}

/* The egress file of r in the spool, {spool}/{id}.mp4 or .ogg. */
static char *
spool_path(struct mr_ctx *cx, const struct mr_recording *r)
{
	return mr_printf(cx->cx_arena, "%s/%s.%s",
	    cx->cx_env->conf->cf_spool_dir, r->id, r->audio_only ? "ogg" :
	    "mp4");
}

/* Is the egress file of r still in the spool, with something in it? */
static int
spooled(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct stat	 sb;
	char		*path;

	path = spool_path(cx, r);
	return path != NULL && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size > 0;
}

/*
 * Refuse, with 409 damaged_media, to queue again a file the probe cannot
 * read to its end: the upload would fail the same way.  A file this
 * process cannot open or read is left to the reaper to judge.
 */
static int
not_damaged(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct mr_err	 perr;
	char		*path;
	double		 secs;
	int		 fd, rc;

	if ((path = spool_path(cx, r)) == NULL)
		return mr_api_oom(cx);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	mr_err_clear(&perr);
	rc = mr_probe_duration(fd, &secs, &perr);
	close(fd);
	if (rc == 0 || perr.status != 422)
		return 0;
	return mr_err_set(&cx->cx_err, 409, "damaged_media",
	    "The recording's file is damaged: %s Retry with "
	    "{\"accept_as_is\": true} to store it as it is.", perr.detail);
}

/*
 * POST /admin/recordings/{id}/retry {"accept_as_is"?: bool}: a failed
 * upload goes back to the upload queue, its attempts counted from zero,
 * and the reapers are woken.  A file the probe refuses (cut short,
 * damaged) is queued only with accept_as_is: it is then stored as it is,
 * its duration unknown and the probe's finding kept; without it the
 * retry is refused (409 damaged_media) and the row stays failed.  The
 * UPDATE is conditional on status 'failed', so of two concurrent retries
 * one applies and the other finds it processing.
 */
int
mr_api_admin_retry(struct mr_ctx *cx)
{
	static const char *const keys[] = { "accept_as_is", NULL };
	struct mr_env		*env = cx->cx_env;
	struct mr_recording	 r;
	struct json_object	*o, *body;
	const char		*id;
	int			 rc, as_is = 0;

	if (cx->cx_req.rq_bodylen > 0 &&
	    ((body = mr_req_json(cx, keys)) == NULL ||
	    mr_json_get_bool(body, "accept_as_is", &as_is,
	    &cx->cx_err) == -1))
		return -1;
	if (mr_req_path_uuid(cx, &id) == -1)
		return -1;
	rc = mr_db_rec_get(env->db, cx->cx_arena, id, &r, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0 || strcmp(r.company_id, cx->cx_user.company_id) != 0)
		return not_found(cx);
	if (strcmp(r.status, "failed") != 0)
		return mr_err_set(&cx->cx_err, 409, "not_failed",
		    "The recording is %s, not failed.", r.status);
	if (r.egress_status == NULL ||
	    (strcmp(r.egress_status, "EGRESS_COMPLETE") != 0 &&
	    strcmp(r.egress_status, "EGRESS_LIMIT_REACHED") != 0))
		return mr_err_set(&cx->cx_err, 409, "nothing_to_retry",
		    "The recording failed before LiveKit wrote a file (%s); "
		    "there is nothing to upload.", r.egress_status ?
		    r.egress_status : "no egress");
	if (!spooled(cx, &r))
		return mr_err_set(&cx->cx_err, 409, "nothing_to_retry",
		    "The recording's file is no longer in the spool; there is "
		    "nothing to upload.");
	if (!as_is && not_damaged(cx, &r) == -1)
		return -1;
	rc = mr_db_admin_retry(env->db, cx->cx_arena, r.id,
	    cx->cx_user.company_id, env->conf->cf_retention_days, as_is,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		/* Someone was quicker, or a reaper holds the row. */
		rc = mr_db_rec_get(env->db, cx->cx_arena, id, &r, &cx->cx_err);
		if (rc == -1)
			return -1;
		if (rc == 0)
			return not_found(cx);
		if (strcmp(r.status, "failed") != 0)
			return mr_err_set(&cx->cx_err, 409, "not_failed",
			    "The recording is %s, not failed.", r.status);
		return mr_err_set(&cx->cx_err, 409, "busy",
		    "A reaper is working on this recording; try again in a "
		    "moment.");
	}
	mr_log_info("req=%s rec=%s action=retry admin=%s accept_as_is=%d",
	    cx->cx_req.rq_id, r.id, cx->cx_user.id, as_is);
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", r.id);
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
 * trash window, unless it went there by expiry (its file was deleted
 * first).  An expiry already passed is moved a retention period ahead,
 * or the next expire pass would trash it again at once.
 */
int
mr_api_admin_restore(struct mr_ctx *cx)
{
	struct mr_env		*env = cx->cx_env;
	struct json_object	*o;
	const char		*id, *outcome;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || mr_req_path_uuid(cx, &id) == -1)
		return -1;
	rc = mr_db_admin_restore(env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, env->conf->cf_trash_days,
	    env->conf->cf_retention_days, &outcome, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "No recording with this id is in the trash.");
	if (strcmp(outcome, "file_deleted") == 0)
		return mr_err_set(&cx->cx_err, 409, "file_deleted",
		    "The recording expired and its file was deleted; it "
		    "cannot be restored.");
	if (strcmp(outcome, "restored") != 0)
		return mr_err_set(&cx->cx_err, 409, "busy",
		    "A reaper is working on this recording; try again in a "
		    "moment.");
	mr_api_audit(cx, id, "restore");
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
