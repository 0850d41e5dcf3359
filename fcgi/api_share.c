/* SPDX-License-Identifier: ISC */
/*
 * api_share.c - who may watch a recording: PUT /recordings/{id}/access,
 * the audit trail (GET /recordings/{id}/access-log), and share links
 * (POST, GET /recordings/{id}/shares, DELETE .../shares/{share_id}, and
 * the public side, GET and POST /r/{token}, GET /r/{token}/file).
 *
 * A recording has at most share_max_active links that work (not revoked,
 * not expired); nginx's limit_req slows creating them per client address,
 * since a password's scrypt costs a worker about 165 ms and 32 MiB.
 *
 * A share link carries 256 random bits; only their SHA-256 is stored.  A
 * password is kept as a scrypt hash; every try is counted before it is
 * checked, and after a few wrong ones each further try must wait twice
 * as long (nginx's limit_req also slows tries per client address).  The
 * page's video plays from a signed file link, so the password is asked
 * for once, never put in a URL.  A view is counted and audited once per
 * viewing (link, client address, user agent) within audit_dedupe_seconds,
 * and reads of the file are audited as downloads the same way.
 *
 * Browsers (Accept: text/html) get pages, everything else JSON.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"
#include "model.h"
#include "json.h"
#include "recinfo.h"

#define TOKEN_BYTES		32
#define TOKEN_LEN		43	/* base64url of 32 bytes */
#define SHARE_DEFAULT_S		(7 * 86400)
#define SHARE_MIN_S		60
#define PASSWORD_MAX		256
#define VIEWERS_MAX		500
#define LIST_DEFAULT		50	/* access log and share links */
#define LIST_MAX		200

/* ------------------------------------------------------------------ */
/* Access */

/* allowed_viewers as a PostgreSQL uuid[] literal, each one checked. */
static char *
viewers_literal(struct mr_ctx *cx, struct json_object *arr)
{
	struct mr_buf	 b;
	const char	*s;
	char		*out = NULL;
	size_t		 i, n = json_object_array_length(arr);
	int		 bad;

	if (n > VIEWERS_MAX) {
		mr_err_set(&cx->cx_err, 422, "invalid_field", "Field "
		    "'allowed_viewers' may list at most %d users.",
		    VIEWERS_MAX);
		return NULL;
	}
	mr_buf_init(&b, 64 + n * (MR_UUID_STRLEN + 1));
	bad = mr_buf_adds(&b, "{");
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_string) ||
		    !mr_uuid_valid(s = json_object_get_string(v))) {
			mr_buf_free(&b);
			mr_err_set(&cx->cx_err, 422, "invalid_field",
			    "Field 'allowed_viewers[%zu]' must be a user id "
			    "(a UUID).", i);
			return NULL;
		}
		bad |= mr_buf_addf(&b, "%s%s", i ? "," : "", s);
	}
	bad |= mr_buf_adds(&b, "}");
	if (bad == 0)
		out = mr_strdup(cx->cx_arena, b.data);
	mr_buf_free(&b);
	if (out == NULL)
		mr_api_oom(cx);
	return out;
}

int
mr_api_recording_access(struct mr_ctx *cx)
{
	static const char *const keys[] = {
		"is_public", "allowed_viewers", NULL
	};
	struct mr_recording	 r;
	struct json_object	*body, *arr, *o;
	const char		*viewers = NULL;
	int			 pub = -1, rc;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if ((rc = mr_json_get_bool(body, "is_public", &pub,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		pub = -1;
	if (json_object_object_get_ex(body, "allowed_viewers", &arr)) {
		if (!json_object_is_type(arr, json_type_array))
			return mr_err_set(&cx->cx_err, 422, "invalid_field",
			    "Field 'allowed_viewers' must be an array of user "
			    "ids.");
		if ((viewers = viewers_literal(cx, arr)) == NULL)
			return -1;
	}
	if (pub == -1 && viewers == NULL)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Send 'is_public', 'allowed_viewers' or both.");
	if (mr_api_load_owned(cx, &r, "change who may view") == -1)
		return -1;
	rc = mr_db_rec_set_access(cx->cx_env->db, cx->cx_arena, r.id, pub,
	    viewers, &r, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "recording_not_found",
		    "Recording not found.");
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", r.id);
	json_object_object_add(o, "is_public",
	    json_object_new_boolean(r.is_public));
	json_object_object_add(o, "allowed_viewers",
	    mr_api_viewers(r.allowed_viewers));
	return mr_resp_json(cx, 200, o);
}

int
mr_api_recording_access_log(struct mr_ctx *cx)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	struct mr_recording	 r;
	struct mr_access_entry	*e;
	struct mr_jw		*w;
	const char		*v, *cts = NULL, *cid = NULL;
	int64_t			 limit = LIST_DEFAULT, total;
	int			 exact;
	int			 n, i, rc;

	if (mr_req_query_check(cx, params) == -1)
		return -1;
	if (mr_req_limit(cx, LIST_MAX, &limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "cursor", &v)) == -1)
		return -1;
	if (rc == 1 && mr_recinfo_cursor_parse(cx, v, &cts, &cid) == -1)
		return -1;
	if (mr_api_load_owned(cx, &r, "read the access log of") == -1)
		return -1;
	if (mr_db_access_log(cx->cx_env->db, cx->cx_arena, r.id, cts, cid,
	    limit, &e, &n, &total, &exact, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_recinfo_page(cx, "entries")) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_str(w, "id", e[i].id);
		mr_jw_str(w, "action", e[i].action);
		mr_jw_str(w, "user_id", e[i].user_id);
		mr_jw_str(w, "user_email", e[i].user_email);
		mr_jw_str(w, "share_id", e[i].share_id);
		mr_jw_str(w, "ip_address", e[i].ip_address);
		mr_jw_str(w, "user_agent", e[i].user_agent);
		mr_jw_str(w, "accessed_at", e[i].accessed_at);
		mr_jw_close(w, '}');
	}
	return mr_recinfo_page_end(cx, w, total, exact, n == limit ?
	    e[n - 1].accessed_at : NULL, n == limit ? e[n - 1].id : NULL, r.id);
}

/* ------------------------------------------------------------------ */
/* Share links, for the owner */

static struct json_object *
share_json(const struct mr_share *s)
{
	struct json_object	*o = json_object_new_object();

	if (o == NULL)
		return NULL;
	mr_api_add_str(o, "share_id", s->id);
	mr_api_add_str(o, "created_at", s->created_at);
	mr_api_add_str(o, "expires_at", s->expires_at);
	mr_api_add_str(o, "revoked_at", s->revoked_at);
	json_object_object_add(o, "expired",
	    json_object_new_boolean(s->expired));
	json_object_object_add(o, "has_password",
	    json_object_new_boolean(s->password_hash != NULL));
	json_object_object_add(o, "view_count",
	    json_object_new_int64(s->view_count));
	mr_api_add_str(o, "last_viewed_at", s->last_viewed_at);
	return o;
}

static int
too_many(struct mr_ctx *cx, int64_t max_active)
{
	return mr_err_set(&cx->cx_err, 409, "too_many_shares",
	    "This recording already has %lld share links that work, the most "
	    "allowed; revoke one first.", (long long)max_active);
}

int
mr_api_share_create(struct mr_ctx *cx)
{
	static const char *const keys[] = { "expires_in", "password", NULL };
	struct mr_env		*env = cx->cx_env;
	struct mr_recording	 r;
	struct mr_share		 s;
	struct json_object	*body, *o;
	unsigned char		 raw[TOKEN_BYTES], h[MR_SHA256_LEN];
	const char		*pw = NULL;
	char			*token, *hash = NULL, *hex;
	int64_t			 max = env->conf->cf_share_max_days * 86400;
	int64_t			 ttl = SHARE_DEFAULT_S < max ?
	    SHARE_DEFAULT_S : max;
	int64_t			 max_active = env->conf->cf_share_max_active;
	int64_t			 active;
	int			 rc;

	if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	if (mr_json_get_int(body, "expires_in", SHARE_MIN_S, max, &ttl,
	    &cx->cx_err) == -1 ||
	    (rc = mr_json_get_str(body, "password", PASSWORD_MAX, &pw,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 1 && *pw == '\0')
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'password' must not be empty; leave it out for a "
		    "link without one.");
	if (mr_api_load_owned(cx, &r, "share") == -1)
		return -1;
	if (!mr_api_same(r.status, "completed") &&
	    !mr_api_same(r.status, "processing"))
		return mr_err_set(&cx->cx_err, 409, "not_shareable",
		    "A %s recording cannot be shared.", r.status);
	/* Before the password's scrypt; counted again under a lock below. */
	if ((active = mr_db_share_active(env->db, cx->cx_arena, r.id,
	    &cx->cx_err)) == -1)
		return -1;
	if (active >= max_active)
		return too_many(cx, max_active);
	if (pw != NULL && (hash = mr_passwd_hash(cx->cx_arena, pw)) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Could not hash the password.");
	if (mr_random_bytes(raw, sizeof(raw)) == -1 ||
	    (token = mr_b64url_encode(cx->cx_arena, raw, sizeof(raw))) ==
	    NULL || mr_sha256(token, strlen(token), h) == -1 ||
	    (hex = mr_hex(cx->cx_arena, h, sizeof(h))) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Could not make a share token.");
	rc = mr_db_share_create(env->db, cx->cx_arena, r.id, hex, hash,
	    cx->cx_user.id, ttl, max_active, &s, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return too_many(cx, max_active);
	if ((o = mr_json_own(cx->cx_arena, share_json(&s))) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "recording_id", r.id);
	mr_api_add_str(o, "token", token);
	mr_api_add_str(o, "url", mr_printf(cx->cx_arena, "%s/r/%s",
	    env->conf->cf_public_url, token));
	return mr_resp_json(cx, 201, o);
}

/* GET /recordings/{id}/shares?limit&cursor: newest first, by pages. */
int
mr_api_share_list(struct mr_ctx *cx)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	struct mr_recording	 r;
	struct mr_share		*s;
	struct mr_jw		*w;
	struct json_object	*it;
	const char		*v, *cts = NULL, *cid = NULL;
	int64_t			 limit = LIST_DEFAULT, total;
	int			 n, i, rc;

	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_limit(cx, LIST_MAX, &limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "cursor", &v)) == -1)
		return -1;
	if (rc == 1 && mr_recinfo_cursor_parse(cx, v, &cts, &cid) == -1)
		return -1;
	if (mr_api_load_owned(cx, &r, "list the share links of") == -1)
		return -1;
	if (mr_db_share_list(cx->cx_env->db, cx->cx_arena, r.id, cts, cid,
	    limit, &s, &n, &total, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_recinfo_page(cx, "shares")) == NULL)
		return mr_api_oom(cx);
	for (i = 0; i < n; i++) {
		if ((it = share_json(&s[i])) == NULL)
			return mr_api_oom(cx);
		mr_jw_value(w, NULL, it);
		json_object_put(it);
	}
	return mr_recinfo_page_end(cx, w, total, 1, n == limit ?
	    s[n - 1].created_at : NULL, n == limit ? s[n - 1].id : NULL, r.id);
}

int
mr_api_share_revoke(struct mr_ctx *cx)
{
	struct mr_recording	 r;
	struct mr_share		 s;
	struct json_object	*o;
	const char		*sid = cx->cx_req.rq_path_sub;
	int			 rc;

	if (sid == NULL || !mr_uuid_valid(sid))
		return mr_err_set(&cx->cx_err, 400, "invalid_id",
		    "The share id in the path is not a valid UUID.");
	if (mr_api_load_owned(cx, &r, "revoke share links of") == -1)
		return -1;
	rc = mr_db_share_revoke(cx->cx_env->db, cx->cx_arena, r.id, sid, &s,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "share_not_found",
		    "This recording has no such share link.");
	if ((o = mr_json_own(cx->cx_arena, share_json(&s))) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "message", "The share link no longer works.");
	return mr_resp_json(cx, 200, o);
}

/* ------------------------------------------------------------------ */
/* Share links, for whoever holds one */

struct shared {
	const char		*token;
	struct mr_share		 s;
	struct mr_recording	 r;
	int			 html;
};

static int
wants_html(struct mr_ctx *cx)
{
	return strstr(cx->cx_req.rq_accept, "text/html") != NULL;
}

/* Text for HTML, with the five special characters escaped. */
static const char *
esc(struct mr_ctx *cx, const char *s)
{
	struct mr_buf	 b;
	const char	*rep;
	char		*out = NULL;
	int		 bad = 0;

	if (s == NULL || *s == '\0')
		return "";
	mr_buf_init(&b, strlen(s) * 6 + 1);
	for (; *s != '\0' && !bad; s++) {
		switch (*s) {
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '&':
			rep = "&amp;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = NULL;
			break;
		}
		bad = rep ? mr_buf_adds(&b, rep) : mr_buf_add(&b, s, 1);
	}
	if (!bad)
		out = mr_strdup(cx->cx_arena, b.data);
	mr_buf_free(&b);
	return out != NULL ? out : "";
}

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n"
    "<title>%s</title>\n<style>\n"
    "body{font:16px/1.5 system-ui,sans-serif;max-width:52em;"
    "margin:2em auto;padding:0 1em;color:#222}\n"
    "video{width:100%%;background:#000;border-radius:4px}\n"
    ".meta{color:#555}.error{color:#a00}\n"
    "input,button{font:inherit;padding:.3em .6em}\n"
    "</style>\n</head>\n<body>\n<h1>%s</h1>\n";

/* Answer with an HTML page: head (title) then body. */
static int
page(struct mr_ctx *cx, int status, const char *title, const char *body)
{
	char	*html;

	html = mr_printf(cx->cx_arena, page_head, esc(cx, title),
	    esc(cx, title));
	if (html == NULL || (html = mr_printf(cx->cx_arena,
	    "%s%s</body>\n</html>\n", html, body)) == NULL)
		return mr_api_oom(cx);
	cx->cx_resp.status = status;
	cx->cx_resp.content_type = "text/html; charset=utf-8";
	cx->cx_resp.body = html;
	cx->cx_resp.bodylen = strlen(html);
	mr_resp_header(cx, "Content-Security-Policy: default-src 'none'; "
	    "media-src 'self' http: https:; style-src 'unsafe-inline'; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	return 0;
}

/*
 * A refusal on the public side: JSON as everywhere, or for a browser the
 * same sentence on a page (with the password form when one is asked).
 */
static int
refuse(struct mr_ctx *cx, struct shared *sh, int status, const char *code,
    const char *detail, int form)
{
	char	*body;

	if (!sh->html)
		return mr_err_set(&cx->cx_err, status, code, "%s", detail);
	body = mr_printf(cx->cx_arena, "<p class=\"error\" id=\"error\" "
	    "data-code=\"%s\">%s</p>\n%s", code, esc(cx, detail), form ?
	    "<form method=\"post\">\n<label>Password <input type=\"password\" "
	    "name=\"password\" id=\"password\" autocomplete=\"off\" "
	    "required autofocus></label>\n<button type=\"submit\">Watch"
	    "</button>\n</form>\n" : "");
	if (body == NULL)
		return mr_api_oom(cx);
	return page(cx, status, "Shared recording", body);
}

/*
 * Find the share named by the token in the path and check that it still
 * works.  1 when it does; otherwise what refuse() returned (0 with a page
 * made, -1 with cx_err).
 */
static int
find(struct mr_ctx *cx, struct shared *sh)
{
	unsigned char	 h[MR_SHA256_LEN];
	const char	*t = cx->cx_req.rq_path_id;
	char		*hex;
	int		 rc;

	memset(sh, 0, sizeof(*sh));
	sh->html = wants_html(cx);
	sh->token = t;
	/* The token is in the URL: keep it out of Referer and indexes. */
	mr_resp_header(cx, "Referrer-Policy: no-referrer");
	mr_resp_header(cx, "X-Robots-Tag: noindex");
	if (t == NULL || strlen(t) != TOKEN_LEN ||
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != TOKEN_LEN)
		return refuse(cx, sh, 404, "share_not_found",
		    "There is no such share link.", 0);
	if (mr_sha256(t, TOKEN_LEN, h) == -1 ||
	    (hex = mr_hex(cx->cx_arena, h, sizeof(h))) == NULL)
		return mr_api_oom(cx);
	rc = mr_db_share_find(cx->cx_env->db, cx->cx_arena, hex, &sh->s,
	    &sh->r, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return refuse(cx, sh, 404, "share_not_found",
		    "There is no such share link.", 0);
	cx->cx_rec = sh->r.id;
	if (sh->s.revoked_at != NULL)
		return refuse(cx, sh, 410, "share_revoked",
		    "This share link was revoked by its owner.", 0);
	if (sh->s.expired)
		return refuse(cx, sh, 410, "share_expired",
		    "This share link has expired.", 0);
	if (sh->r.deleted_at != NULL)
		return refuse(cx, sh, 410, "recording_deleted",
		    "The shared recording has been deleted.", 0);
	return 1;
}

/*
 * A signed link to what of the share (file, captions.vtt), until the
 * share ends: the shared file plays from it, its captions load from it.
 */
static char *
signed_url(struct mr_ctx *cx, struct shared *sh, const char *what,
    int absolute)
{
	int64_t	 exp;
	char	*sig;

	exp = (int64_t)time(NULL) + cx->cx_env->conf->cf_download_url_ttl;
	if (exp > sh->s.expires_epoch)
		exp = sh->s.expires_epoch;
	if ((sig = mr_link_sign(cx, "share", sh->s.id, "", exp)) == NULL)
		return NULL;
	return mr_printf(cx->cx_arena, "%s/r/%s/%s?expires=%lld&sig=%s",
	    absolute ? cx->cx_env->conf->cf_public_url : "", sh->token, what,
	    (long long)exp, sig);
}

/* The shared recording: counted, audited, then a player page or JSON. */
static int
show(struct mr_ctx *cx, struct shared *sh)
{
	struct mr_recording	*r = &sh->r;
	struct mr_transcript	 t;
	struct mr_jw		*w;
	const char		*title;
	const char		*track;
	char			*url, *body, dur[48];
	char			*curl = NULL;
	int			 rc;

	if (!mr_api_same(r->status, "completed"))
		return refuse(cx, sh, 409, "not_ready", "The recording is "
		    "still being processed; try again in a few minutes.", 0);
	/* A HEAD shows nothing: it is neither counted nor audited. */
	rc = mr_req_head(cx) ? 1 : mr_db_share_viewed(cx->cx_env->db,
	    cx->cx_arena, sh->s.id, cx->cx_req.rq_remote_addr,
	    cx->cx_req.rq_user_agent,
	    cx->cx_env->conf->cf_audit_dedupe_seconds, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return refuse(cx, sh, 410, "share_revoked",
		    "This share link no longer works.", 0);
	if ((url = signed_url(cx, sh, "file", !sh->html)) == NULL)
		return mr_api_oom(cx);
	if (mr_db_tr_get(cx->cx_env->db, cx->cx_arena, r->id, &t,
	    &cx->cx_err) == -1)
		return -1;
	if (t.done_at != NULL && (curl = signed_url(cx, sh, "captions.vtt",
	    !sh->html)) == NULL)
		return mr_api_oom(cx);
	title = r->meeting_name ? r->meeting_name : r->room_code;
	if (!sh->html) {
		if ((w = mr_jw_new(cx->cx_arena)) == NULL)
			return mr_api_oom(cx);
		mr_jw_open(w, NULL, '{');
		mr_jw_open(w, "recording", '{');
		mr_jw_str(w, "meeting_name", title);
		mr_jw_str(w, "room_code", r->room_code);
		mr_jw_str(w, "recorded_by_name", r->recorded_by_name);
		mr_jw_str(w, "started_at", r->started_at);
		mr_jw_bool(w, "audio_only", r->audio_only);
		mr_recinfo_file_fields(w, r);
		mr_jw_close(w, '}');
		mr_jw_str(w, "file_url", url);
		mr_jw_str(w, "captions_url", curl);
		if (mr_api_chapters_write(cx, w, &t) == -1)
			return mr_api_oom(cx);
		mr_jw_str(w, "expires_at", sh->s.expires_at);
		mr_jw_close(w, '}');
		return mr_resp_jw(cx, 200, w);
	}
	dur[0] = '\0';
	if (r->duration_seconds >= 0)
		snprintf(dur, sizeof(dur), " &middot; %lld:%02d",
		    (long long)(r->duration_seconds / 60),
		    (int)(r->duration_seconds % 60));
	track = curl == NULL ? "" : mr_printf(cx->cx_arena, "<track "
	    "kind=\"captions\" label=\"Transcript\" src=\"%s\" default>",
	    esc(cx, curl));
	if (track == NULL)
		return mr_api_oom(cx);
	body = mr_printf(cx->cx_arena,
	    "<p class=\"meta\">Recorded %s%s%s%s</p>\n"
	    "<%s id=\"player\" controls preload=\"metadata\" src=\"%s\">"
	    "%s</%s>\n<p><a id=\"download\" href=\"%s\" download>Download"
	    "</a> &middot; this link works until %s.</p>\n",
	    esc(cx, r->started_at ? r->started_at : r->created_at),
	    r->recorded_by_name ? " by " : "", esc(cx, r->recorded_by_name),
	    dur, r->audio_only ? "audio" : "video", esc(cx, url), track,
	    r->audio_only ? "audio" : "video", esc(cx, url),
	    esc(cx, sh->s.expires_at));
	if (body == NULL)
		return mr_api_oom(cx);
	return page(cx, 200, title, body);
}

int
mr_api_share_page(struct mr_ctx *cx)
{
	struct shared	 sh;
	int		 rc;

	if ((rc = find(cx, &sh)) != 1)
		return rc;
	if (sh.s.password_hash != NULL)
		return refuse(cx, &sh, 401, "password_required",
		    "This recording is protected by a password.", 1);
	return show(cx, &sh);
}

/* The password of a POST: a form field (the page) or JSON (curl). */
static int
posted_password(struct mr_ctx *cx, const char **pw)
{
	static const char *const keys[] = { "password", NULL };
	struct json_object	*body;
	int			 rc;

	*pw = NULL;
	if (strncmp(cx->cx_req.rq_content_type,
	    "application/x-www-form-urlencoded", 33) == 0)
		rc = mr_req_form(cx, "password", pw);
	else if ((body = mr_req_json(cx, keys)) == NULL)
		return -1;
	else
		rc = mr_json_get_str(body, "password", 4096, pw,
		    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (*pw == NULL || **pw == '\0' || strlen(*pw) > 4096)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Send the password in field 'password'.");
	return 0;
}

int
mr_api_share_unlock(struct mr_ctx *cx)
{
	struct shared	 sh;
	const char	*pw;
	int64_t		 wait;
	int		 rc;

	if ((rc = find(cx, &sh)) != 1)
		return rc;
	if (sh.s.password_hash == NULL)
		return show(cx, &sh);
	if (posted_password(cx, &pw) == -1) {
		if (!sh.html)
			return -1;
		mr_err_clear(&cx->cx_err);
		return refuse(cx, &sh, 401, "password_required",
		    "Enter the password.", 1);
	}
	rc = mr_db_share_try(cx->cx_env->db, cx->cx_arena, sh.s.id, &wait,
	    &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		mr_resp_header(cx, mr_printf(cx->cx_arena,
		    "Retry-After: %lld", (long long)wait));
		return refuse(cx, &sh, 429, "share_locked", mr_printf(
		    cx->cx_arena, "Too many wrong passwords; try again in %lld "
		    "seconds.", (long long)wait), 1);
	}
	rc = mr_passwd_check(cx->cx_arena, pw, sh.s.password_hash);
	if (rc == -1)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "The share link's password hash is unreadable.");
	if (rc == 0) {
		mr_log_info("req=%s share=%s action=wrong_password",
		    cx->cx_req.rq_id, sh.s.id);
		return refuse(cx, &sh, 401, "wrong_password",
		    "The password is wrong.", 1);
	}
	return show(cx, &sh);
}

/*
 * The share named in the path, for a request by one of its signed links
 * (signed_url): 1, or what find() answered, or -1.
 */
static int
find_signed(struct mr_ctx *cx, struct shared *sh)
{
	static const char *const params[] = { "expires", "sig", NULL };
	const char	*exp = NULL, *sig = NULL;
	int		 rc;

	if ((rc = find(cx, sh)) != 1)
		return rc;
	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_query(cx, "expires", &exp) == -1 ||
	    mr_req_query(cx, "sig", &sig) == -1 ||
	    mr_link_check(cx, "share", sh->s.id, "", exp, sig) == -1)
		return -1;
	return 1;
}

/* The captions of a shared recording, by their signed link. */
int
mr_api_share_captions(struct mr_ctx *cx)
{
	struct shared	 sh;
	int		 rc;

	if ((rc = find_signed(cx, &sh)) != 1)
		return rc;
	return mr_api_captions_send(cx, sh.r.id);
}

int
mr_api_share_file(struct mr_ctx *cx)
{
	struct shared	 sh;
	int		 rc;

	if ((rc = find_signed(cx, &sh)) != 1)
		return rc;
	if (mr_files_serve(cx, &sh.r) == -1)
		return -1;
	mr_api_audit_once(cx, sh.r.id, sh.s.id, "download");
	return 0;
}
