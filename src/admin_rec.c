/* SPDX-License-Identifier: ISC */
/*
 * admin_rec.c - meetrec-admin recordings list|show|retry|restore|delete:
 * what GET /api/admin/recordings, POST .../retry and .../restore and
 * DELETE /api/recordings/{id} do, for one company (--company) or all of
 * them, with the same statements (db_admin.c) and rules (manage.c).
 * hold, release and holds: the legal holds of /api/admin/.../hold and
 * /api/admin/holds.  Every change writes the audit row the API's does,
 * naming meetrec-admin and the login that ran it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "mr.h"
#include "admin.h"
#include "conf.h"
#include "db.h"
#include "manage.h"
#include "model.h"

/* The text fields of a recording an admin sees, by their API names. */
static const struct {
	const char	*name;
	size_t		 off;
} fields[] = {
#define F(m)	{ #m, offsetof(struct mr_recording, m) }
	F(id), F(company_id), F(room_code), F(meeting_name), F(status),
	F(egress_id), F(egress_status), F(recorded_by), F(recorded_by_name),
	F(recorded_by_email), F(layout), F(storage_type), F(storage_path),
	F(file_name), F(checksum_sha256), F(started_at), F(ended_at),
	F(expires_at), F(created_at), F(updated_at), F(deleted_at),
	F(last_error), F(media_finding)
#undef F
};

static const char *
field(const struct mr_recording *r, size_t i)
{
	return *(char *const *)(const void *)((const char *)r +
	    fields[i].off);
}

/* A PostgreSQL uuid[] text ("{a,b}") as a JSON array. */
static struct json_object *
viewers(const char *arr)
{
	struct json_object	*a = json_object_new_array();
	char			 id[MR_UUID_STRLEN + 1];

	for (const char *p = arr; p != NULL && *p != '\0'; p++) {
		if ((*p != '{' && *p != ',') || strlen(p + 1) < MR_UUID_STRLEN)
			continue;
		memcpy(id, p + 1, MR_UUID_STRLEN);
		id[MR_UUID_STRLEN] = '\0';
		if (mr_uuid_valid(id))
			json_object_array_add(a, json_object_new_string(id));
	}
	return a;
}

static struct json_object *
rec_json(const struct mr_admin_rec *ar)
{
	const struct mr_recording	*r = &ar->rec;
	struct json_object		*o = json_object_new_object();

	for (size_t i = 0; i < MR_NELEM(fields); i++)
		mr_admin_json_str(o, fields[i].name, field(r, i));
	mr_admin_json_str(o, "trash_reason", ar->trash_reason);
	mr_admin_json_str(o, "next_attempt_at", ar->next_attempt_at);
	json_object_object_add(o, "audio_only",
	    json_object_new_boolean(r->audio_only));
	json_object_object_add(o, "is_public",
	    json_object_new_boolean(r->is_public));
	json_object_object_add(o, "allowed_viewers",
	    viewers(r->allowed_viewers));
	json_object_object_add(o, "file_size_bytes", r->file_size_bytes >= 0 ?
	    json_object_new_int64(r->file_size_bytes) : NULL);
	json_object_object_add(o, "duration_seconds", r->duration_seconds >= 0 ?
	    json_object_new_int64(r->duration_seconds) : NULL);
	json_object_object_add(o, "duration_ms", r->duration_ms >= 0 ?
	    json_object_new_int64(r->duration_ms) : NULL);
	json_object_object_add(o, "is_encrypted",
	    json_object_new_boolean(r->is_encrypted));
	json_object_object_add(o, "watermark_applied",
	    json_object_new_boolean(r->watermark_applied));
	json_object_object_add(o, "upload_attempts",
	    json_object_new_int64(r->upload_attempts));
	return o;
}

static void
row(const struct mr_admin_rec *ar)
{
	const struct mr_recording	*r = &ar->rec;
	char				 size[24] = "-", dur[32] = "-";
	char				 t[24];

	if (r->file_size_bytes >= 0)
		snprintf(size, sizeof(size), "%lld",
		    (long long)r->file_size_bytes);
	if (r->duration_seconds >= 0)
		snprintf(dur, sizeof(dur), "%lld:%02lld",
		    (long long)(r->duration_seconds / 60),
		    (long long)(r->duration_seconds % 60));
	printf("%-36s  %-10s  %-19s  %-20s  %12s  %8s  %s\n", r->id, r->status,
	    mr_admin_when(r->created_at, t, sizeof(t)), r->room_code, size,
	    dur,
	    ar->trash_reason ? ar->trash_reason : r->deleted_at ? "trash" :
	    "-");
}

/* The filters into f; from/to a date means its start or its end (UTC). */
static void
filter(struct mr_arena *a, const struct mr_admin_opts *o,
    struct mr_admin_filter *f)
{
	int	 date_only;

	memset(f, 0, sizeof(*f));
	f->company_id = o->company;
	f->status = o->status;
	f->room_code = o->room;
	f->user_id = o->user;
	f->trash = o->trash ? o->trash : "exclude";
	if (o->from != NULL && mr_time_valid(o->from, &date_only) == 0)
		f->from = date_only ? mr_printf(a, "%sT00:00:00Z", o->from) :
		    o->from;
	if (o->to != NULL && mr_time_valid(o->to, &date_only) == 0)
		f->to = date_only ? mr_printf(a, "%sT23:59:59.999999Z",
		    o->to) : o->to;
	if ((o->from != NULL && f->from == NULL) ||
	    (o->to != NULL && f->to == NULL))
		mr_fatalx("out of memory");
}

/*
 * recordings list: every recording that passes the filters, newest
 * first, fetched MR_ADMIN_PAGE at a time; --limit N stops after N and
 * says the cursor to go on from (next_cursor with --json).
 */
static int
rec_list(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_admin_filter	 f;
	struct mr_admin_rec	*rows;
	struct mr_arena		*a, *fa;
	struct mr_db		*db;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *out;
	const char		*ts, *id;
	char			 cts[64] = "", cid[MR_UUID_STRLEN + 1] = "";
	char			*next = NULL;
	int64_t			 shown = 0, total = 0;
	int			 exact = 1;
	int			 n, i, rc = 0;

	if (mr_admin_opts(argc, argv, "cjlksruftx", &o) != argc)
		mr_admin_usage();
	if ((a = mr_arena_new(64 * 1024 * 1024)) == NULL ||
	    (fa = mr_arena_new(64 * 1024)) == NULL)
		mr_fatalx("out of memory");
	if (o.cursor != NULL) {
		if (mr_cursor_decode(fa, o.cursor, &ts, &id) == -1)
			mr_fatalx("--cursor is not one meetrec-admin or "
			    "the API gave out");
		snprintf(cts, sizeof(cts), "%s", ts);
		snprintf(cid, sizeof(cid), "%s", id);
	}
	filter(fa, &o, &f);
	db = mr_admin_connect(conf);
	if (o.json)
		arr = json_object_new_array();
	else
		printf("%-36s  %-10s  %-19s  %-20s  %12s  %8s  %s\n", "ID",
		    "STATUS", "CREATED (UTC)", "ROOM", "BYTES", "DURATION",
		    "TRASH");
	for (;;) {
		f.limit = MR_ADMIN_PAGE;
		if (o.limit > 0 && o.limit - shown < f.limit)
			f.limit = o.limit - shown;
		f.cursor_ts = cts[0] ? cts : NULL;
		f.cursor_id = cid[0] ? cid : NULL;
		mr_err_clear(&err);
		if (mr_db_admin_list(db, a, &f, &rows, &n, &total,
		    &exact, &err) == -1) {
			rc = mr_admin_fail("recordings list", &err);
			break;
		}
		for (i = 0; i < n; i++) {
			if (arr != NULL)
				json_object_array_add(arr, rec_json(&rows[i]));
			else
				row(&rows[i]);
		}
		shown += n;
		if (n > 0) {
			snprintf(cts, sizeof(cts), "%s",
			    rows[n - 1].rec.created_at);
			snprintf(cid, sizeof(cid), "%s", rows[n - 1].rec.id);
		}
		mr_arena_reset(a);
		if (n < f.limit)
			break;
		if (o.limit > 0 && shown >= o.limit) {
			/* The count says whether there is more. */
			if ((next = mr_cursor_encode(fa, cts, cid)) == NULL)
				mr_fatalx("out of memory");
			f.limit = 1;
			f.cursor_ts = cts;
			f.cursor_id = cid;
			if (mr_db_admin_list(db, a, &f, &rows, &n, &total,
			    &exact, &err) == -1) {
				rc = mr_admin_fail("recordings list", &err);
				break;
			}
			if (n == 0)
				next = NULL;
			mr_arena_reset(a);
			break;
		}
	}
	if (arr != NULL && rc == 0) {
		out = json_object_new_object();
		json_object_object_add(out, "recordings", arr);
		json_object_object_add(out, "total",
		    json_object_new_int64(total));
		json_object_object_add(out, "total_exact",
		    json_object_new_boolean(exact));
		mr_admin_json_str(out, "next_cursor", next);
		mr_admin_print_json(out);
	} else if (arr != NULL)
		json_object_put(arr);
	if (rc == 0 && !o.json)
		mr_admin_more("recordings", next);
	mr_db_free(db);
	mr_arena_free(fa);
	mr_arena_free(a);
	return rc;
}

/* What one recording's commands share: the id and the options. */
struct one {
	struct mr_admin_opts	 o;
	const char		*id;
	const char		*what;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
};

static void
one_open_opts(struct one *x, const char *what, const char *allowed,
    struct mr_conf *conf, int argc, char *argv[])
{
	int	 i;

	memset(x, 0, sizeof(*x));
	if ((i = mr_admin_opts(argc, argv, allowed, &x->o)) != argc - 1)
		mr_admin_usage();
	x->id = argv[i];
	if (!mr_uuid_valid(x->id))
		mr_fatalx("the recording id must be a UUID");
	x->what = what;
	if ((x->a = mr_arena_new(16 * 1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	x->db = mr_admin_connect(conf);
	mr_err_clear(&x->err);
}

/* One recording named by its id; --company and --json allowed. */
static void
one_open(struct one *x, const char *what, struct mr_conf *conf, int argc,
    char *argv[])
{
	one_open_opts(x, what, "cj", conf, argc, argv);
}

static int
one_close(struct one *x, int rc)
{
	mr_db_free(x->db);
	mr_arena_free(x->a);
	return rc;
}

/* Say what was done: a line, or {recording_id, status?, message}. */
static void
done(const struct one *x, const char *status, const char *message)
{
	struct json_object	*o;

	if (!x->o.json) {
		printf("%s: %s\n", x->id, message);
		return;
	}
	o = json_object_new_object();
	mr_admin_json_str(o, "recording_id", x->id);
	if (status != NULL)
		mr_admin_json_str(o, "status", status);
	mr_admin_json_str(o, "message", message);
	mr_admin_print_json(o);
}

static int
rec_show(struct mr_conf *conf, int argc, char *argv[])
{
	struct one		 x;
	struct mr_admin_rec	 ar;
	struct json_object	*o, *v;
	int			 rc;

	one_open(&x, "recordings show", conf, argc, argv);
	if ((rc = mr_db_admin_get(x.db, x.a, x.id, x.o.company, &ar,
	    &x.err)) == -1)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	if (rc == 0) {
		fprintf(stderr, "meetrec-admin: %s: there is no recording %s%s"
		    "%s\n", x.what, x.id, x.o.company ? " in company " : "",
		    x.o.company ? x.o.company : "");
		return one_close(&x, 1);
	}
	o = rec_json(&ar);
	if (x.o.json) {
		mr_admin_print_json(o);
		return one_close(&x, 0);
	}
	/* One "name: value" a line, in the order of rec_json. */
	json_object_object_foreach(o, key, val) {
		v = val;
		printf("%-18s %s\n", key, v == NULL ? "-" :
		    json_object_is_type(v, json_type_string) ?
		    json_object_get_string(v) :
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(o);
	return one_close(&x, 0);
}

static int
rec_retry(struct mr_conf *conf, int argc, char *argv[])
{
	struct one	 x;

	one_open_opts(&x, "recordings retry", "cja", conf, argc, argv);
	if (mr_manage_retry(x.db, x.a, conf, x.id, x.o.company, x.o.as_is,
	    &x.err) == -1)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	done(&x, "processing", x.o.as_is ? "The upload is queued again; the "
	    "file will be stored as it is, even if it is damaged." :
	    "The upload is queued again.");
	return one_close(&x, 0);
}

static int
rec_restore(struct mr_conf *conf, int argc, char *argv[])
{
	struct one	 x;

	one_open(&x, "recordings restore", conf, argc, argv);
	if (mr_manage_restore(x.db, x.a, conf, x.id, x.o.company,
	    &x.err) == -1)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	done(&x, NULL, "Recording restored from the trash.");
	return one_close(&x, 0);
}

static int
rec_delete(struct mr_conf *conf, int argc, char *argv[])
{
	struct one		 x;
	struct mr_recording	 r;
	int			 rc;

	one_open(&x, "recordings delete", conf, argc, argv);
	if ((rc = mr_db_rec_get(x.db, x.a, x.id, &r, &x.err)) == -1)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	if (rc == 0 || (x.o.company != NULL &&
	    strcmp(r.company_id, x.o.company) != 0)) {
		mr_err_set(&x.err, 404, "recording_not_found",
		    "Recording not found.");
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	}
	if (mr_manage_trash(x.db, x.a, &r, &x.err) == -1)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	done(&x, NULL, "Recording moved to the trash.");
	return one_close(&x, 0);
}

static int
rec_hold(struct mr_conf *conf, int argc, char *argv[])
{
	struct one		 x;
	struct mr_admin_rec	 ar;
	const char		*outcome;
	int			 rc;

	one_open_opts(&x, "recordings hold", "cjR", conf, argc, argv);
	if (x.o.reason == NULL) {
		one_close(&x, 2);
		mr_admin_usage();
	}
	rc = mr_db_gov_hold(x.db, x.a, x.id, x.o.company, x.o.reason, NULL,
	    &outcome, &x.err);
	if (rc == 0)
		mr_err_set(&x.err, 404, "recording_not_found",
		    "Recording not found.");
	else if (rc == 1 && strcmp(outcome, "busy") == 0)
		mr_err_set(&x.err, 409, "recording_busy",
		    "The reaper is deleting this recording's files.");
	else if (rc == 1 && strcmp(outcome, "already_held") == 0 &&
	    mr_db_admin_get(x.db, x.a, x.id, x.o.company, &ar, &x.err) == 1)
		mr_manage_held(&ar.rec, &x.err);
	if (rc != 1 || strcmp(outcome, "held") != 0)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	done(&x, NULL, "Recording on legal hold: it cannot be deleted, does "
	    "not expire and is not purged until it is released.");
	return one_close(&x, 0);
}

static int
rec_release(struct mr_conf *conf, int argc, char *argv[])
{
	struct one	 x;
	const char	*outcome;
	int		 rc;

	one_open(&x, "recordings release", conf, argc, argv);
	rc = mr_db_gov_release(x.db, x.a, x.id, x.o.company, &outcome,
	    &x.err);
	if (rc == 0)
		mr_err_set(&x.err, 404, "recording_not_found",
		    "Recording not found.");
	else if (rc == 1 && strcmp(outcome, "not_held") == 0)
		mr_err_set(&x.err, 409, "not_held",
		    "The recording is not on legal hold.");
	if (rc != 1 || strcmp(outcome, "released") != 0)
		return one_close(&x, mr_admin_fail(x.what, &x.err));
	done(&x, NULL, "Legal hold released.");
	return one_close(&x, 0);
}

/* Every recording on legal hold, newest hold first, page by page. */
static int
rec_holds(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_recording	*rows;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *h;
	char			 cat[64] = "", cid[MR_UUID_STRLEN + 1] = "";
	int64_t			 shown = 0, page;
	int			 n, i, rc = 0;

	if (mr_admin_opts(argc, argv, "cjlru", &o) != argc)
		mr_admin_usage();
	if ((a = mr_arena_new(64 * 1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	if (o.json)
		arr = json_object_new_array();
	else
		printf("%-36s  %-36s  %-27s  %-36s  %s\n", "ID", "COMPANY",
		    "HELD SINCE (UTC)", "HELD BY", "REASON");
	for (;;) {
		page = MR_ADMIN_PAGE;
		if (o.limit > 0 && o.limit - shown < page)
			page = o.limit - shown;
		mr_err_clear(&err);
		if (mr_db_gov_holds(db, a, o.company, o.user, o.room,
		    cat[0] ? cat : NULL, cid[0] ? cid : NULL, page, &rows, &n,
		    &err) == -1) {
			rc = mr_admin_fail("recordings holds", &err);
			break;
		}
		for (i = 0; i < n; i++) {
			if (arr == NULL) {
				printf("%-36s  %-36s  %-27s  %-36s  %s\n",
				    rows[i].id, rows[i].company_id,
				    rows[i].legal_hold_at, rows[i].legal_hold_by ?
				    rows[i].legal_hold_by : "meetrec-admin",
				    rows[i].legal_hold_reason);
				continue;
			}
			h = json_object_new_object();
			mr_admin_json_str(h, "recording_id", rows[i].id);
			mr_admin_json_str(h, "company_id", rows[i].company_id);
			mr_admin_json_str(h, "room_code", rows[i].room_code);
			mr_admin_json_str(h, "reason",
			    rows[i].legal_hold_reason);
			mr_admin_json_str(h, "held_by", rows[i].legal_hold_by);
			mr_admin_json_str(h, "held_at", rows[i].legal_hold_at);
			mr_admin_json_str(h, "deleted_at", rows[i].deleted_at);
			json_object_array_add(arr, h);
		}
		shown += n;
		if (n > 0) {
			snprintf(cat, sizeof(cat), "%s",
			    rows[n - 1].legal_hold_at);
			snprintf(cid, sizeof(cid), "%s", rows[n - 1].id);
		}
		mr_arena_reset(a);
		if (n < page || (o.limit > 0 && shown >= o.limit))
			break;
	}
	if (arr != NULL) {
		if (rc == 0)
			mr_admin_print_json(arr);
		else
			json_object_put(arr);
	}
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

int
mr_admin_recordings(struct mr_conf *conf, int argc, char *argv[])
{
	static const struct {
		const char	*name;
		int		(*fn)(struct mr_conf *, int, char *[]);
	} cmds[] = {
		{ "list", rec_list }, { "show", rec_show },
		{ "retry", rec_retry }, { "restore", rec_restore },
		{ "delete", rec_delete }, { "hold", rec_hold },
		{ "release", rec_release }, { "holds", rec_holds }
	};

	if (argc < 2)
		mr_admin_usage();
	for (size_t i = 0; i < MR_NELEM(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(conf, argc - 1, argv + 1);
	mr_admin_usage();
}
