/* SPDX-License-Identifier: ISC */
/*
 * admin_share.c - meetrec-admin shares list|revoke: a recording's share
 * links, every one, page by page (GET /api/recordings/{id}/shares), and
 * revoking one (DELETE .../shares/{share_id}, with its share_revoke audit
 * row), for one company (--company) or any.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "mr.h"
#include "admin.h"
#include "conf.h"
#include "db.h"
#include "model.h"

static struct json_object *
share_json(const struct mr_share *s)
{
	struct json_object	*o = json_object_new_object();

	mr_admin_json_str(o, "share_id", s->id);
	mr_admin_json_str(o, "recording_id", s->recording_id);
	mr_admin_json_str(o, "created_by", s->created_by);
	mr_admin_json_str(o, "created_at", s->created_at);
	mr_admin_json_str(o, "expires_at", s->expires_at);
	mr_admin_json_str(o, "revoked_at", s->revoked_at);
	json_object_object_add(o, "expired",
	    json_object_new_boolean(s->expired));
	json_object_object_add(o, "has_password",
	    json_object_new_boolean(s->password_hash != NULL));
	json_object_object_add(o, "view_count",
	    json_object_new_int64(s->view_count));
	mr_admin_json_str(o, "last_viewed_at", s->last_viewed_at);
	return o;
}

static void
row(const struct mr_share *s)
{
	char	 c[24], e[24], v[24];

	printf("%-36s  %-8s  %-19s  %-19s  %-8s  %8lld  %s\n", s->id,
	    s->revoked_at ? "revoked" : s->expired ? "expired" : "works",
	    mr_admin_when(s->created_at, c, sizeof(c)),
	    mr_admin_when(s->expires_at, e, sizeof(e)),
	    s->password_hash ? "yes" : "no", (long long)s->view_count,
	    mr_admin_when(s->last_viewed_at, v, sizeof(v)));
}

/* shares list RECORDING_ID: every link, newest first. */
static int
share_list(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_recording	 r;
	struct mr_share		*s;
	struct mr_arena		*a, *fa;
	struct mr_db		*db;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *out;
	const char		*id, *ts, *sid;
	char			 cts[64] = "", cid[MR_UUID_STRLEN + 1] = "";
	char			*next = NULL;
	int64_t			 shown = 0, total = 0, want;
	int			 n, i, rc = 0;

	if ((i = mr_admin_opts(argc, argv, "cjlk", &o)) != argc - 1)
		mr_admin_usage();
	id = argv[i];
	if (!mr_uuid_valid(id))
		mr_fatalx("the recording id must be a UUID");
	if ((a = mr_arena_new(16 * 1024 * 1024)) == NULL ||
	    (fa = mr_arena_new(64 * 1024)) == NULL)
		mr_fatalx("out of memory");
	if (o.cursor != NULL) {
		if (mr_cursor_decode(fa, o.cursor, &ts, &sid) == -1)
			mr_fatalx("--cursor is not one meetrec-admin or "
			    "the API gave out");
		snprintf(cts, sizeof(cts), "%s", ts);
		snprintf(cid, sizeof(cid), "%s", sid);
	}
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	if ((rc = mr_db_rec_get(db, a, id, &r, &err)) == -1) {
		rc = mr_admin_fail("shares list", &err);
		goto done;
	}
	if (rc == 0 || (o.company != NULL &&
	    strcmp(r.company_id, o.company) != 0)) {
		mr_err_set(&err, 404, "recording_not_found",
		    "Recording not found.");
		rc = mr_admin_fail("shares list", &err);
		goto done;
	}
	rc = 0;
	if (o.json)
		arr = json_object_new_array();
	else
		printf("%-36s  %-8s  %-19s  %-19s  %-8s  %8s  %s\n", "SHARE_ID",
		    "STATE", "CREATED (UTC)", "EXPIRES (UTC)", "PASSWORD",
		    "VIEWS", "LAST VIEWED");
	for (;;) {
		want = MR_ADMIN_PAGE;
		if (o.limit > 0 && o.limit - shown < want)
			want = o.limit - shown;
		if (mr_db_share_list(db, a, id, cts[0] ? cts : NULL,
		    cid[0] ? cid : NULL, want, &s, &n, &total, &err) == -1) {
			rc = mr_admin_fail("shares list", &err);
			break;
		}
		for (i = 0; i < n; i++) {
			if (arr != NULL)
				json_object_array_add(arr, share_json(&s[i]));
			else
				row(&s[i]);
		}
		shown += n;
		if (n > 0) {
			snprintf(cts, sizeof(cts), "%s", s[n - 1].created_at);
			snprintf(cid, sizeof(cid), "%s", s[n - 1].id);
		}
		mr_arena_reset(a);
		if (n < want)
			break;
		if (o.limit > 0 && shown >= o.limit) {
			if (mr_db_share_list(db, a, id, cts, cid, 1, &s, &n,
			    &total, &err) == -1) {
				rc = mr_admin_fail("shares list", &err);
				break;
			}
			if (n > 0 && (next = mr_cursor_encode(fa, cts,
			    cid)) == NULL)
				mr_fatalx("out of memory");
			mr_arena_reset(a);
			break;
		}
	}
	if (arr != NULL && rc == 0) {
		out = json_object_new_object();
		mr_admin_json_str(out, "recording_id", id);
		json_object_object_add(out, "shares", arr);
		json_object_object_add(out, "total",
		    json_object_new_int64(total));
		mr_admin_json_str(out, "next_cursor", next);
		mr_admin_print_json(out);
	} else if (arr != NULL)
		json_object_put(arr);
	if (rc == 0 && !o.json)
		mr_admin_more("share links", next);
done:
	mr_db_free(db);
	mr_arena_free(fa);
	mr_arena_free(a);
	return rc;
}

/* shares revoke SHARE_ID: the link stops working; twice is the same. */
static int
share_revoke(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_share		 s;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
	const char		*sid;
	int			 i, rc;

	if ((i = mr_admin_opts(argc, argv, "cj", &o)) != argc - 1)
		mr_admin_usage();
	sid = argv[i];
	if (!mr_uuid_valid(sid))
		mr_fatalx("the share id must be a UUID");
	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	rc = mr_db_share_get(db, a, sid, o.company, &s, &err);
	if (rc == 1)
		rc = mr_db_share_revoke(db, a, s.recording_id, sid, &s, &err);
	if (rc == -1) {
		rc = mr_admin_fail("shares revoke", &err);
	} else if (rc == 0) {
		mr_err_set(&err, 404, "share_not_found",
		    "There is no such share link.");
		rc = mr_admin_fail("shares revoke", &err);
	} else {
		if (o.json)
			mr_admin_print_json(share_json(&s));
		else
			printf("%s: the share link no longer works\n", s.id);
		rc = 0;
	}
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

int
mr_admin_shares(struct mr_conf *conf, int argc, char *argv[])
{
	if (argc < 2)
		mr_admin_usage();
	if (strcmp(argv[1], "list") == 0)
		return share_list(conf, argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return share_revoke(conf, argc - 1, argv + 1);
	mr_admin_usage();
}
