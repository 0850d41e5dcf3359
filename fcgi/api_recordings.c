/* SPDX-License-Identifier: ISC */
/*
 * api_recordings.c - start, stop, list, get, status and delete of
 * recordings (SPEC sections 3 and 4).  Field names follow the seed.
 *
 * Who may do what: start needs the room's host or an admin; stop the
 * recorder, the room's host or an admin; delete the owner or an admin;
 * reading needs a viewer: the owner, an admin of the company, a user in
 * allowed_viewers, or anyone of the company when is_public.  Another
 * company's recordings do not exist (404).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"
#include "hooks.h"
#include "json.h"
#include "manage.h"
#include "model.h"
#include "recinfo.h"
#include "spool.h"

#define LIST_DEFAULT	50
#define LIST_MAX	200
#define OFFSET_MAX	100000
#define NAME_MAX_LEN	255

static char	*download_url(struct mr_ctx *, const struct mr_recording *);
static int	 add_download_url(struct mr_ctx *, struct mr_jw *,
		    const struct mr_recording *);

static const char *const layouts[] = {
	"grid", "speaker", "single-speaker", "grid-light", "speaker-light",
	"single-speaker-light", NULL
};

int
mr_api_oom(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 500, "internal", "Out of memory.");
}

struct json_object *
mr_api_object(struct mr_ctx *cx)
{
	return mr_json_own(cx->cx_arena, json_object_new_object());
}

/*
 * Add k: v (null when v is NULL) to o.  k is a string constant, so
 * json-c keeps the pointer instead of a copy of its own.
 */
void
mr_api_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add_ex(o, k, v ? json_object_new_string(v) : NULL,
	    JSON_C_OBJECT_KEY_IS_CONSTANT);
}

int
mr_api_same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Is id one of the members of a PostgreSQL uuid[] text, "{a,b}"? */
static int
in_array(const char *arr, const char *id)
{
	size_t		 n = strlen(id);
	const char	*p = arr;

	if (arr == NULL)
		return 0;
	while ((p = strstr(p, id)) != NULL) {
		if ((p[-1] == '{' || p[-1] == ',') &&
		    (p[n] == '}' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * The owner or an admin of the recording's company, a listed viewer, or
 * anyone of that company when it is public?
 */
int
mr_api_is_viewer(const struct mr_user *u, const struct mr_recording *r)
{
	if (mr_api_may_manage(u, r))
		return 1;
	return mr_api_same(u->company_id, r->company_id) &&
	    (in_array(r->allowed_viewers, u->id) || r->is_public);
}

/* The owner or an admin of the recording's company? */
int
mr_api_may_manage(const struct mr_user *u, const struct mr_recording *r)
{
	return mr_api_same(u->company_id, r->company_id) &&
	    (mr_api_same(u->id, r->recorded_by) || u->is_admin);
}

/*
 * The audit row of a request on recording r (which exists) turned down
 * with the error in cx: who asked (the caller's company too, when it is
 * another), what (route and method) and why (status and code).  Once
 * per user and recording within audit_dedupe_seconds, as for watching:
 * a client asking again and again writes one row.
 */
void
mr_api_refused(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct json_object	*o;
	struct mr_audit		 au;
	struct mr_err		 err;

	if (cx->cx_user.id == NULL || (o = json_object_new_object()) == NULL)
		return;
	json_object_object_add(o, "route",
	    json_object_new_string(cx->cx_req.rq_route ?
	    cx->cx_req.rq_route : ""));
	json_object_object_add(o, "method",
	    json_object_new_string(cx->cx_req.rq_method ?
	    cx->cx_req.rq_method : ""));
	json_object_object_add(o, "status",
	    json_object_new_int(cx->cx_err.status));
	json_object_object_add(o, "code", json_object_new_string(
	    cx->cx_err.code ? cx->cx_err.code : ""));
	if (!mr_api_same(cx->cx_user.company_id, r->company_id))
		json_object_object_add(o, "company_id",
		    json_object_new_string(cx->cx_user.company_id ?
		    cx->cx_user.company_id : ""));
	memset(&au, 0, sizeof(au));
	au.recording_id = r->id;
	au.user_id = cx->cx_user.id;
	au.user_email = cx->cx_user.email;
	au.action = "refused";
	au.ip = cx->cx_req.rq_remote_addr;
	au.agent = cx->cx_req.rq_user_agent;
	au.detail = mr_json_dump(cx->cx_arena, o);
	json_object_put(o);
	if (au.detail == NULL)
		return;
	mr_err_clear(&err);
	if (mr_db_audit_once(cx->cx_env->db, cx->cx_arena, &au,
	    cx->cx_env->conf->cf_audit_dedupe_seconds, &err) == -1)
		mr_log_warnx("req=%s could not write access log: %s",
		    cx->cx_req.rq_id, err.cause);
}

/* mr_db_rec_get, or one that reads less (mr_db_rec_status) or more. */
typedef int (*get_fn)(struct mr_db *, struct mr_arena *, const char *,
    struct mr_recording *, struct mr_err *);

/*
 * Load the recording named in the path with get.  Missing, trashed and
 * other companies' recordings are all 404.
 */
static int
load(struct mr_ctx *cx, struct mr_recording *r, get_fn get)
{
	const char	*id;
	int		 rc;

	if (mr_req_path_uuid(cx, &id) == -1)
		return -1;
	rc = get(cx->cx_env->db, cx->cx_arena, id, r, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	if (!mr_api_same(r->company_id, cx->cx_user.company_id)) {
		mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
		mr_api_refused(cx, r);
		return -1;
	}
	return 0;
}

/* As load(), for a viewer of the recording (403 for anyone else). */
static int
load_viewable(struct mr_ctx *cx, struct mr_recording *r, get_fn get)
{
	if (load(cx, r, get) == -1)
		return -1;
	if (!mr_api_is_viewer(&cx->cx_user, r)) {
		mr_err_set(&cx->cx_err, 403, "forbidden",
		    "You may not view this recording.");
		mr_api_refused(cx, r);
		return -1;
	}
	return 0;
}

int
mr_api_load(struct mr_ctx *cx, struct mr_recording *r)
{
	return load(cx, r, mr_db_rec_get);
}

int
mr_api_load_viewable(struct mr_ctx *cx, struct mr_recording *r)
{
	return load_viewable(cx, r, mr_db_rec_get);
}

/*
 * Load the recording for its owner or an admin of its company; what
 * names the act refused to anyone else (403).
 */
int
mr_api_load_owned(struct mr_ctx *cx, struct mr_recording *r,
    const char *what)
{
	if (mr_api_load(cx, r) == -1)
		return -1;
	if (!mr_api_may_manage(&cx->cx_user, r)) {
		mr_err_set(&cx->cx_err, 403, "forbidden",
		    "Only the owner or an admin may %s this recording.", what);
		mr_api_refused(cx, r);
		return -1;
	}
	return 0;
}

/*
 * The audit row of the caller's watching of recording id (a view of its
 * details, a download; through share link share_id, or NULL), once per
 * viewing: only the first of a viewer's requests for the recording
 * within audit_dedupe_seconds writes it (db_audit.c), so a player's
 * Range requests, reloads and a client asking again and again write
 * one row, and no lock of the company's audit chain is taken for them.
 * One that cannot be written is logged, not fatal.  A HEAD request
 * fetched nothing and writes none.
 */
void
mr_api_audit_once(struct mr_ctx *cx, const char *id, const char *share_id,
    const char *action)
{
	mr_api_audit_detail(cx, id, share_id, action, NULL);
}

/* As mr_api_audit_once, the row with detail (JSON text, or NULL). */
void
mr_api_audit_detail(struct mr_ctx *cx, const char *id, const char *share_id,
    const char *action, const char *detail)
{
	struct mr_audit	 au;
	struct mr_err	 err;

	if (mr_req_head(cx))
		return;
	memset(&au, 0, sizeof(au));
	au.recording_id = id;
	au.share_id = share_id;
	au.user_id = cx->cx_user.id;
	au.user_email = cx->cx_user.email;
	au.action = action;
	au.ip = cx->cx_req.rq_remote_addr;
	au.agent = cx->cx_req.rq_user_agent;
	au.detail = detail;
	mr_err_clear(&err);
	if (mr_db_audit_once(cx->cx_env->db, cx->cx_arena, &au,
	    cx->cx_env->conf->cf_audit_dedupe_seconds, &err) == -1)
		mr_log_warnx("req=%s could not write access log: %s",
		    cx->cx_req.rq_id, err.cause);
}

struct json_object *
mr_api_viewers(const char *arr)
{
	struct json_object	*a = json_object_new_array();
	const char		*p;
	char			 id[MR_UUID_STRLEN + 1];

	if (a == NULL || arr == NULL)
		return a;
	for (p = arr; *p != '\0'; p++) {
		if (*p != '{' && *p != ',')
			continue;
		if (strlen(p + 1) < MR_UUID_STRLEN)
			break;
		memcpy(id, p + 1, MR_UUID_STRLEN);
		id[MR_UUID_STRLEN] = '\0';
		if (mr_uuid_valid(id))
			json_object_array_add(a, json_object_new_string(id));
	}
	return a;
}

/*
 * spool_type = s3: Egress uploads the file itself, with meetrec's own
 * settings for the incoming bucket (spool.h); nothing of it comes from
 * the request.  The strings are conf's, which outlives the request.
 */
static int
spool_s3(const struct mr_conf *conf, struct mr_lk_s3 *s3)
{
	struct mr_conf	 c;

	if (!mr_spool_s3_conf(conf, &c))
		return 0;
	s3->access_key = c.cf_s3_access_key;
	s3->secret = c.cf_s3_secret_key;
	s3->endpoint = c.cf_s3_endpoint;
	s3->bucket = c.cf_s3_bucket;
	s3->region = c.cf_s3_region != NULL ? c.cf_s3_region : "us-east-1";
	return 1;
}

int
mr_api_recordings_start(struct mr_ctx *cx)
{
	static const char *const keys[] = {
		"room_code", "layout", "audio_only", NULL
	};
	struct mr_env		*env = cx->cx_env;
	struct mr_user		*u = &cx->cx_user;
	struct json_object	*body, *o;
	struct mr_room		 room;
	struct mr_rec_new	 nr;
	struct mr_lk_start	 ls;
	struct mr_lk_s3		 s3;
	struct mr_lk_egress	 eg;
	struct mr_err		 lkerr;
	const char		*code = NULL, *layout = "grid";
	char			*id;
	int			 audio = 0, rc, i;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if ((rc = mr_json_get_str(body, "room_code", 64, &code,
	    &cx->cx_err)) == -1 ||
	    mr_json_get_str(body, "layout", 32, &layout, &cx->cx_err) == -1 ||
	    mr_json_get_bool(body, "audio_only", &audio, &cx->cx_err) == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Field 'room_code' is required.");
	if (!mr_room_code_valid(code))
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'room_code' must be 1 to 50 letters, digits, '_' "
		    "or '-'.");
	for (i = 0; layouts[i] != NULL; i++)
		if (strcmp(layouts[i], layout) == 0)
			break;
	if (layouts[i] == NULL)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'layout' must be one of grid, speaker, "
		    "single-speaker (optionally with -light).");

	rc = mr_db_room_get(env->db, cx->cx_arena, code, &room, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0 || !mr_api_same(room.company_id, u->company_id))
		return mr_err_set(&cx->cx_err, 404, "room_not_found",
		    "Room '%s' not found.", code);
	if (!mr_api_same(room.created_by, u->id) && !u->is_admin)
		return mr_err_set(&cx->cx_err, 403, "not_room_host",
		    "Only the room's host or an admin may start a recording.");
	if (!mr_api_same(room.status, "active"))
		return mr_err_set(&cx->cx_err, 409, "room_not_active",
		    "Room '%s' is not active.", code);

	memset(&nr, 0, sizeof(nr));
	nr.room_code = room.room_code;
	nr.meeting_id = room.id;
	nr.company_id = u->company_id;
	nr.recorded_by = u->id;
	nr.recorded_by_name = u->username;
	nr.recorded_by_email = u->email;
	nr.layout = layout;
	nr.audio_only = audio;
	nr.retention_days = env->conf->cf_retention_days;
	rc = mr_db_rec_insert(env->db, cx->cx_arena, &nr, &id, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 409, "already_recording",
		    "Room '%s' is already being recorded.", code);
	cx->cx_rec = id;

	/* The file is named after the recording, so it can always be found. */
	memset(&ls, 0, sizeof(ls));
	ls.room_name = room.room_code;
	ls.layout = layout;
	ls.audio_only = audio;
	ls.filepath = mr_spool_egress_path(cx->cx_arena, env->conf, id,
	    audio);
	if (ls.filepath == NULL)
		return mr_api_oom(cx);
	if (spool_s3(env->conf, &s3))
		ls.s3 = &s3;
	mr_err_clear(&lkerr);
	if (mr_lk_start_egress(&env->lk, cx->cx_arena, &ls, &eg,
	    &lkerr) == -1) {
		mr_log_warnx("req=%s rec=%s start egress failed: %s: %s",
		    cx->cx_req.rq_id, id, lkerr.code ? lkerr.code : "-",
		    lkerr.cause);
		if (!mr_lk_refused(&lkerr)) {
			/*
			 * Only a refusal proves there is no egress: a timeout,
			 * a broken connection, a 5xx or a proxy's page may
			 * come after LiveKit started one.  Leave the row
			 * pending, holding the room, for the reaper, which
			 * asks ListEgress and adopts or fails it.
			 */
			if ((o = mr_api_object(cx)) == NULL)
				return mr_api_oom(cx);
			mr_api_add_str(o, "recording_id", id);
			mr_api_add_str(o, "room_code", room.room_code);
			mr_api_add_str(o, "status", "pending");
			mr_api_add_str(o, "message", "LiveKit has not confirmed the "
			    "recording yet; its status will be updated.");
			return mr_resp_json(cx, 202, o);
		}
		if (mr_db_rec_start_failed(env->db, cx->cx_arena, id,
		    lkerr.detail, &cx->cx_err) == -1)
			return -1;
		cx->cx_err = lkerr;
		return -1;
	}
	if ((rc = mr_db_rec_started(env->db, cx->cx_arena, id, eg.egress_id,
	    eg.status_name, &cx->cx_err)) == -1)
		return -1;
	/* Who is in the room, and telling them (api_ledger.c). */
	mr_api_ledger_begin(cx, id, room.room_code);
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", id);
	mr_api_add_str(o, "room_code", room.room_code);
	mr_api_add_str(o, "egress_id", eg.egress_id);
	mr_api_add_str(o, "status", "recording");
	mr_api_add_str(o, "message", "Recording started.");
	return mr_resp_json(cx, 201, o);
}

static int
stopped(struct mr_ctx *cx, const char *id, const char *msg)
{
	struct json_object	*o;

	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", id);
	mr_api_add_str(o, "status", "processing");
	mr_api_add_str(o, "message", msg);
	return mr_resp_json(cx, 202, o);
}

int
mr_api_recording_stop(struct mr_ctx *cx)
{
	struct mr_env		*env = cx->cx_env;
	struct mr_user		*u = &cx->cx_user;
	struct mr_recording	 r;
	struct mr_lk_egress	 eg;
	struct mr_err		 lkerr;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || mr_api_load(cx, &r) == -1)
		return -1;
	if (!mr_api_same(u->id, r.recorded_by) && !mr_api_same(u->id, r.room_host) &&
	    !u->is_admin)
		return mr_err_set(&cx->cx_err, 403, "forbidden",
		    "Only the recorder, the room's host or an admin may stop "
		    "this recording.");
	rc = mr_db_rec_stop(env->db, cx->cx_arena, r.id, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		/*
		 * A second stop of the same recording changes nothing, but
		 * for an egress LiveKit has not reported ending: the first
		 * stop's StopEgress may never have gone out (its host died
		 * in between), so it goes again; LiveKit only refuses it
		 * for an egress already ending.
		 */
		if (mr_api_same(r.status, "processing")) {
			if (r.egress_id != NULL && r.egress_status != NULL &&
			    (strcmp(r.egress_status, "EGRESS_ACTIVE") == 0 ||
			    strcmp(r.egress_status, "EGRESS_STARTING") == 0)) {
				mr_err_clear(&lkerr);
				if (mr_lk_stop_egress(&env->lk, cx->cx_arena,
				    r.egress_id, &eg, &lkerr) == -1)
					mr_log_warnx("req=%s rec=%s stop egress "
					    "again failed: %s", cx->cx_req.rq_id,
					    r.id, lkerr.cause);
			}
			return stopped(cx, r.id, "Recording is already "
			    "stopping.");
		}
		return mr_err_set(&cx->cx_err, 409, "not_recording",
		    "The recording is %s, not recording.", r.status);
	}
	mr_err_clear(&lkerr);
	if (r.egress_id != NULL && mr_lk_stop_egress(&env->lk, cx->cx_arena,
	    r.egress_id, &eg, &lkerr) == -1) {
		mr_log_warnx("req=%s rec=%s stop egress failed: %s",
		    cx->cx_req.rq_id, r.id, lkerr.cause);
		/*
		 * LiveKit answered with an error: the egress has ended or is
		 * gone, and the webhook or the reaper will finish the row.
		 * Not reached: undo, so the stop can be tried again.
		 */
		if (!mr_lk_answered(&lkerr)) {
			if (mr_db_rec_unstop(env->db, cx->cx_arena, r.id,
			    &cx->cx_err) == -1)
				return -1;
			cx->cx_err = lkerr;
			return -1;
		}
	}
	/* Its room no longer says it is recorded (api_ledger.c). */
	mr_api_ledger_end(cx, &r);
	return stopped(cx, r.id, "Recording is stopping; the file will be "
	    "stored when LiveKit has finished it.");
}

/*
 * allowed_viewers as r's details show it to the user of cx: whole to the
 * owner and the company's admins, who decide it; any other viewer sees
 * only whether it names them, not who else was given the recording.
 */
static struct json_object *
shown_viewers(struct mr_ctx *cx, const struct mr_recording *r)
{
	const struct mr_user	*u = &cx->cx_user;
	struct json_object	*a, *id;

	if (mr_api_may_manage(u, r))
		return mr_api_viewers(r->allowed_viewers);
	if ((a = json_object_new_array()) == NULL ||
	    !in_array(r->allowed_viewers, u->id))
		return a;
	if ((id = json_object_new_string(u->id)) == NULL ||
	    json_object_array_add(a, id) == -1) {
		json_object_put(id);
		json_object_put(a);
		return NULL;
	}
	return a;
}

int
mr_api_recording_get(struct mr_ctx *cx)
{
	struct mr_recording	 r;
	struct mr_transcript	 t;
	struct mr_jw		*w;
	struct json_object	*viewers;

	if (load_viewable(cx, &r, mr_db_rec_details) == -1)
		return -1;
	memset(&t, 0, sizeof(t));
	t.status = r.transcript_status != NULL ? r.transcript_status : "none";
	t.last_error = r.transcript_error;
	t.language = r.transcript_language;
	t.chapters_json = r.transcript_chapters;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL ||
	    (viewers = mr_json_own(cx->cx_arena,
	    shown_viewers(cx, &r))) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_recinfo_write(cx, w, &r);
	mr_jw_str(w, "recorded_by_email", r.recorded_by_email);
	mr_jw_str(w, "checksum_sha256", r.checksum_sha256);
	mr_jw_int(w, "upload_attempts", r.upload_attempts);
	mr_jw_value(w, "allowed_viewers", viewers);
	/* Why a recording is held is for its owner and the admins. */
	if (mr_api_may_manage(&cx->cx_user, &r))
		mr_api_hold_write(w, &r);
	else
		mr_jw_null(w, "legal_hold");
	if (add_download_url(cx, w, &r) == -1)
		return mr_api_oom(cx);
	mr_api_transcript_fields(w, &t);
	if (mr_api_chapters_write(cx, w, &t) == -1)
		return mr_api_oom(cx);
	mr_jw_close(w, '}');
	mr_api_audit_once(cx, r.id, NULL, "view");
	return mr_resp_jw(cx, 200, w);
}

int
mr_api_recording_status(struct mr_ctx *cx)
{
	struct mr_recording	 r;
	struct mr_jw		*w;

	if (load_viewable(cx, &r, mr_db_rec_status) == -1)
		return -1;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "recording_id", r.id);
	mr_jw_str(w, "status", r.status);
	mr_recinfo_file_fields(w, &r);
	mr_jw_str(w, "egress_status", r.egress_status);
	mr_jw_str(w, "transcript_status", r.transcript_status != NULL ?
	    r.transcript_status : "none");
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}

/* Who a download link was given to, as signed: "<user id>:<a|u>". */
static char *
link_who(struct mr_ctx *cx, const char *user, int admin)
{
	return mr_printf(cx->cx_arena, "%s:%c", user, admin ? 'a' : 'u');
}

/*
 * download_url: a link to the file for the caller that works without an
 * Authorization header until download_url_ttl runs out.
 */
static char *
download_url(struct mr_ctx *cx, const struct mr_recording *r)
{
	const struct mr_user	*u = &cx->cx_user;
	int64_t			 exp;
	char			*who, *sig;

	exp = (int64_t)time(NULL) + cx->cx_env->conf->cf_download_url_ttl;
	if ((who = link_who(cx, u->id, u->is_admin)) == NULL ||
	    (sig = mr_link_sign(cx, "download", r->id, who, exp)) == NULL)
		return NULL;
	return mr_printf(cx->cx_arena, "%s/api/recordings/%s/download?"
	    "expires=%lld&user=%s%s&sig=%s", cx->cx_env->conf->cf_public_url,
	    r->id, (long long)exp, u->id, u->is_admin ? "&admin=1" : "", sig);
}

/*
 * download_url of r in w: a signed link once r is completed and stored,
 * else null.  The details and every list item carry it (the seed's
 * recordings page links each listed recording's download to it).  -1
 * when out of memory.
 */
static int
add_download_url(struct mr_ctx *cx, struct mr_jw *w,
    const struct mr_recording *r)
{
	char	*url = NULL;

	if (mr_api_same(r->status, "completed") && r->storage_path != NULL &&
	    (url = download_url(cx, r)) == NULL)
		return -1;
	mr_jw_str(w, "download_url", url);
	return 0;
}

/*
 * The recording a download link names, once the link (made for who)
 * checks out; -1 with 403 for a bad or expired link, 404 when the
 * recording is gone.
 */
static int
link_rec(struct mr_ctx *cx, const char *id, const char *who,
    const char *exp, const char *sig, struct mr_recording *r)
{
	int	 rc;

	if (mr_link_check(cx, "download", id, who, exp, sig) == -1)
		return -1;
	rc = mr_db_rec_get(cx->cx_env->db, cx->cx_arena, id, r, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	return 0;
}

/*
 * A download by a link made for a webhook endpoint (src/reap_hooks.c):
 * it works while the endpoint exists, is on and is of the recording's
 * company.
 */
static int
load_by_hook_link(struct mr_ctx *cx, struct mr_recording *r, const char *id,
    const char *hook, const char *exp, const char *sig)
{
	struct mr_hook_ep	 e;
	char			*who;
	int			 rc;

	if (!mr_uuid_valid(hook))
		return mr_err_set(&cx->cx_err, 403, "invalid_link",
		    "This link is not valid: it was changed or not made here.");
	if ((who = mr_printf(cx->cx_arena, "%s:h", hook)) == NULL)
		return mr_api_oom(cx);
	if (link_rec(cx, id, who, exp, sig, r) == -1)
		return -1;
	rc = mr_db_hook_get(cx->cx_env->db, cx->cx_arena, hook, r->company_id,
	    &e, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0 || !e.enabled)
		return mr_err_set(&cx->cx_err, 403, "forbidden",
		    "The webhook endpoint this link was made for is gone or "
		    "disabled.");
	return 0;
}

/*
 * A download by signed link: the link names the user it was given to;
 * that user must still be a viewer (an owner who took access away ends
 * the links given out before).
 */
static int
load_by_link(struct mr_ctx *cx, struct mr_recording *r)
{
	static const char *const params[] = {
		"expires", "user", "admin", "hook", "sig", NULL
	};
	const char	*id, *exp = NULL, *user = NULL, *admin = NULL;
	const char	*sig = NULL, *hook = NULL;
	char		*who;

	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_query(cx, "expires", &exp) == -1 ||
	    mr_req_query(cx, "user", &user) == -1 ||
	    mr_req_query(cx, "admin", &admin) == -1 ||
	    mr_req_query(cx, "hook", &hook) == -1 ||
	    mr_req_query(cx, "sig", &sig) == -1)
		return -1;
	if (sig == NULL) {
		mr_resp_header(cx, "WWW-Authenticate: Bearer");
		return mr_err_set(&cx->cx_err, 401, "missing_token",
		    "Send a bearer token or use a signed download link.");
	}
	if (mr_req_path_uuid(cx, &id) == -1)
		return -1;
	if (hook != NULL && user == NULL && admin == NULL)
		return load_by_hook_link(cx, r, id, hook, exp, sig);
	if (user == NULL || !mr_uuid_valid(user) ||
	    (admin != NULL && strcmp(admin, "1") != 0))
		return mr_err_set(&cx->cx_err, 403, "invalid_link",
		    "This link is not valid: it was changed or not made here.");
	if ((who = link_who(cx, user, admin != NULL)) == NULL)
		return mr_api_oom(cx);
	if (link_rec(cx, id, who, exp, sig, r) == -1)
		return -1;
	cx->cx_user.id = mr_strdup(cx->cx_arena, user);
	cx->cx_user.company_id = r->company_id;
	cx->cx_user.is_admin = admin != NULL;
	if (cx->cx_user.id == NULL)
		return mr_api_oom(cx);
	if (!mr_api_is_viewer(&cx->cx_user, r))
		return mr_err_set(&cx->cx_err, 403, "forbidden",
		    "You may no longer view this recording.");
	return 0;
}

/*
 * GET /recordings/{id}/download: the file, for a viewer with a bearer
 * token or a signed link.  A single Range works.  The first request of
 * a viewer within audit_dedupe_seconds is audited as a download,
 * wherever its range starts; a player's later Range requests are the
 * same download and are not.
 */
int
mr_api_recording_download(struct mr_ctx *cx)
{
	struct mr_recording	 r;

	if (cx->cx_user.id == NULL) {
		if (load_by_link(cx, &r) == -1)
			return -1;
	} else if (mr_api_load_viewable(cx, &r) == -1)
		return -1;
	if (mr_files_serve(cx, &r) == -1)
		return -1;
	mr_api_audit_once(cx, r.id, NULL, "download");
	return 0;
}

int
mr_api_recording_delete(struct mr_ctx *cx)
{
	struct mr_recording	 r;
	struct json_object	*o;

	if (mr_api_load(cx, &r) == -1)
		return -1;
	if (!mr_api_may_manage(&cx->cx_user, &r)) {
		if (mr_api_is_viewer(&cx->cx_user, &r))
			mr_err_set(&cx->cx_err, 403, "forbidden",
			    "Only the owner or an admin may delete this "
			    "recording.");
		else
			mr_err_set(&cx->cx_err, 403, "forbidden",
			    "You may not delete this recording.");
		mr_api_refused(cx, &r);
		return -1;
	}
	if (mr_manage_trash(cx->cx_env->db, cx->cx_arena, &r,
	    &cx->cx_err) == -1) {
		if (cx->cx_err.status == 409)
			mr_api_refused(cx, &r);
		return -1;
	}
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	/* The seed's answer, word for word, then the recording. */
	json_object_object_add(o, "success", json_object_new_boolean(1));
	mr_api_add_str(o, "message", "Recording deleted");
	mr_api_add_str(o, "recording_id", r.id);
	return mr_resp_json(cx, 200, o);
}

int
mr_api_recordings_list(struct mr_ctx *cx)
{
	static const char *const params[] = {
		"room_code", "status", "limit", "offset", "cursor", "scope",
		NULL
	};
	static const char *const statuses[] = {
		"pending", "recording", "processing", "completed", "failed",
		NULL
	};
	struct mr_rec_filter	 f;
	struct mr_recording	*rows;
	struct mr_jw		*w;
	const char		*v;
	int64_t			 total;
	int			 exact;
	int			 n, i, rc;

	/* A search of what was said: api_transcript.c. */
	if ((rc = mr_req_query(cx, "q", &v)) == -1)
		return -1;
	if (rc == 1)
		return mr_api_recordings_search(cx);
	memset(&f, 0, sizeof(f));
	f.company_id = cx->cx_user.company_id;
	f.user_id = cx->cx_user.id;
	f.scope = "mine";
	f.limit = LIST_DEFAULT;
	if (mr_req_query_check(cx, params) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "room_code", &f.room_code)) == -1)
		return -1;
	if (rc == 1 && !mr_room_code_valid(f.room_code))
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'room_code' is not a valid room code.");
	if ((rc = mr_req_query(cx, "status", &f.status)) == -1)
		return -1;
	if (rc == 1) {
		for (i = 0; statuses[i] != NULL; i++)
			if (strcmp(statuses[i], f.status) == 0)
				break;
		if (statuses[i] == NULL)
			return mr_err_set(&cx->cx_err, 400, "invalid_query",
			    "Query parameter 'status' must be one of pending, "
			    "recording, processing, completed, failed.");
	}
	if (mr_req_limit(cx, LIST_MAX, &f.limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "offset", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 0, OFFSET_MAX, &f.offset) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'offset' must be from 0 to %d.",
		    OFFSET_MAX);
	if ((rc = mr_req_query(cx, "scope", &f.scope)) == -1)
		return -1;
	if (rc == 0)
		f.scope = "mine";
	else if (strcmp(f.scope, "company") == 0) {
		if (!cx->cx_user.is_admin)
			return mr_err_set(&cx->cx_err, 403, "forbidden",
			    "Only an admin may list the whole company.");
	} else if (strcmp(f.scope, "mine") != 0 &&
	    strcmp(f.scope, "shared") != 0)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'scope' must be mine, shared or company.");
	if ((rc = mr_req_query(cx, "cursor", &v)) == -1)
		return -1;
	if (rc == 1 && mr_recinfo_cursor_parse(cx, v, &f.cursor_ts,
	    &f.cursor_id) == -1)
		return -1;

	if (mr_db_rec_list(cx->cx_env->db, cx->cx_arena, &f, &rows, &n,
	    &total, &exact, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_recinfo_page(cx, "recordings")) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_recinfo_write(cx, w, &rows[i]);
		if (add_download_url(cx, w, &rows[i]) == -1)
			return mr_api_oom(cx);
		mr_jw_close(w, '}');
	}
	return mr_recinfo_page_end(cx, w, total, exact, n == f.limit ?
	    rows[n - 1].created_at : NULL, n == f.limit ? rows[n - 1].id :
	    NULL, NULL);
}
