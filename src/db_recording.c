/* SPDX-License-Identifier: ISC */
/*
 * db_recording.c - pm_meeting_recordings.  Every state change is a
 * conditional UPDATE on the current status, so a late or repeated request
 * cannot move a recording backwards; the caller reads "not applied" as a
 * conflict.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "model.h"

#include "db_sql.h"

/*
 * The lists of recordings not in the trash, newest first: for each scope
 * one statement per filter (none, a status, a room and perhaps a
 * status), so each has a plan of its own on its own index (009, 010),
 * prepared once and kept; a plan made once cannot see through a filter
 * that may or may not be there, and would read the whole scope.
 *
 * A page takes $1 company, $2 room_code, $3 status, $4/$5 the keyset
 * cursor (NULL: from the newest; the comparison then holds for every
 * row, and stays an index condition), $6 limit, $7 offset, $8 user; a
 * count $1 to $3, $4 user.  The company scope takes no user.  "shared"
 * means recordings of others that the user may view.
 *
 * The total comes with the page, in its snapshot.  Without a room it is
 * read from the counts kept with the rows (meetrec_user_counts,
 * meetrec_company_counts), but for the recordings given to a user for
 * scope=shared; those, and any list of a room, are counted up to
 * MR_TOTAL_EXACT_MAX + 1 rows, so a page never pays for more: past that
 * the total says "at least" (total_more).
 */
/*
 * The company and the user as parameters the planner is not shown: a
 * subquery's value is computed when the statement starts.  Shown them,
 * PostgreSQL estimates fewer rows for one user than for any user (such
 * are the statistics of a table of many users), finds the plan made for
 * the value cheaper than the plan made once, and plans again for every
 * request: 0.1 ms for a count of a user's recordings, which then takes
 * 0.02 ms.  Hidden, the plan made once is the one kept.
 */
#define HIDDEN(p) "(SELECT " p "::uuid)"
#define LIVE	"r.company_id = " HIDDEN("$1") " AND r.deleted_at IS NULL "
#define MINE(u)	"AND r.recorded_by = " HIDDEN(u) " "
/*
 * scope=shared in two parts that do not meet: the public recordings of
 * others, and those not public that u was given.
 */
#define PUBLIC(u) \
	"AND r.recorded_by <> " HIDDEN(u) " AND r.is_public "
#define GIVEN(u) \
	"AND r.recorded_by <> " HIDDEN(u) " AND NOT r.is_public "
/*
 * The recordings u was given, of any company, read from the index of who
 * was given what and nothing else (OFFSET 0 keeps the company out of
 * it: shown the company, PostgreSQL may read the company's rows in
 * order instead, and pass all those u was not given); as r, with what
 * LIVE, GIVEN, the filters and the cursor look at.
 */
#define GIVEN_ROWS(u) \
	"(SELECT r.id, r.created_at, r.company_id, r.recorded_by, " \
	"r.is_public, r.room_code, r.status, r.deleted_at " \
	"FROM project_management.pm_meeting_recordings r " \
	"WHERE r.deleted_at IS NULL AND " \
	"r.allowed_viewers @> ARRAY[" HIDDEN(u) "] OFFSET 0) r "
#define NO_FILTER \
	"AND (SELECT $2::text IS NULL AND $3::text IS NULL) "
#define STATUS_FILTER \
	"AND $2::text IS NULL AND r.status = $3 "
#define ROOM_FILTER \
	"AND r.room_code = $2 AND ($3::text IS NULL OR r.status = $3) "
/* What the counts hold for the company ($1), perhaps only u's. */
#define KEPT(table, who, filter) \
	"(SELECT coalesce(sum(k.recordings), 0) " \
	"FROM project_management." table " k " \
	"WHERE k.company_id = " HIDDEN("$1") " " who "AND NOT k.trashed " \
	filter ")"
#define USERS(u, filter) \
	KEPT("meetrec_user_counts", "AND k.recorded_by = " HIDDEN(u) " ", \
	filter)
#define COMPANY(filter) KEPT("meetrec_company_counts", "", filter)
#define K_STATUS "AND k.status = $3 "
/* The company's public recordings but u's own. */
#define OTHERS_PUBLIC(u, filter) \
	COMPANY("AND k.public " filter) " - " USERS(u, "AND k.public " filter)
#define TOTAL_MAX	MR_STR(MR_TOTAL_EXACT_MAX)
/* The rows counted, up to one past MR_TOTAL_EXACT_MAX. */
#define UPTO_IN(rows, scope, filter) \
	"(SELECT count(*) FROM (SELECT 1 FROM " rows \
	"WHERE " LIVE scope filter "LIMIT " TOTAL_MAX " + 1) b)"
#define UPTO(scope, filter) \
	UPTO_IN("project_management.pm_meeting_recordings r ", scope, filter)
#define UPTO_GIVEN(u, filter) UPTO_IN(GIVEN_ROWS(u), GIVEN(u), filter)
/*
 * A list's total, one row t: what the counts kept say plus what was
 * counted, that part up to the bound, and total_more when the count went
 * past it (the total is then "at least").
 */
#define TOTAL(kept, counted) \
	"(SELECT " kept " + least(c.n, " TOTAL_MAX ") AS total, " \
	"c.n > " TOTAL_MAX " AS total_more " \
	"FROM (SELECT " counted " AS n) c) t "
/*
 * The cursor, the limit and the offset hidden from the planner too: shown
 * a LIMIT of 10, the plan made for the values looks ten times cheaper
 * than the plan made once (LIMIT unknown), and PostgreSQL plans again at
 * every request, which at ten million rows costs more than the page.
 */
#define CURSOR \
	"AND (r.created_at, r.id) < ((SELECT coalesce($4::timestamptz, " \
	"'infinity')), (SELECT coalesce($5::uuid, " \
	"'ffffffff-ffff-ffff-ffff-ffffffffffff'))) "
#define ORDER \
	"ORDER BY r.created_at DESC, r.id DESC " \
	"LIMIT (SELECT $6::int) OFFSET (SELECT $7::int)"
#define PAGE(scope, filter, total) \
	"SELECT " LIST_COLUMNS ", t.total, t.total_more " \
	FROM "CROSS JOIN " total "WHERE " LIVE scope filter CURSOR ORDER
/*
 * scope=shared: the page's rows from each part, merged.  The public ones
 * are read newest first from their index (a company may make all its
 * recordings public), no more than the page needs; those given to u are
 * found first, all of them, from the index of who was given what, and
 * sorted: read in the company's order, the page would pass every
 * recording u was not given.
 */
#define SHARED_PAGE(filter, total) \
	"WITH g AS MATERIALIZED (SELECT r.id, r.created_at " \
	"FROM " GIVEN_ROWS("$8") \
	"WHERE " LIVE GIVEN("$8") filter CURSOR "), " \
	"p AS ((SELECT r.id, r.created_at " \
	"FROM project_management.pm_meeting_recordings r " \
	"WHERE " LIVE PUBLIC("$8") filter CURSOR \
	"ORDER BY r.created_at DESC, r.id DESC LIMIT $6::int + $7::int) " \
	"UNION ALL (SELECT g.id, g.created_at FROM g " \
	"ORDER BY g.created_at DESC, g.id DESC LIMIT $6::int + $7::int) " \
	"ORDER BY 2 DESC, 1 DESC LIMIT $6::int OFFSET $7::int) " \
	"SELECT " LIST_COLUMNS ", t.total, t.total_more " \
	FROM "JOIN p ON p.id = r.id CROSS JOIN " total \
	"ORDER BY r.created_at DESC, r.id DESC"
/* The count alone; the filters named, so every parameter has a type. */
#define COUNT(total) \
	"SELECT t.total, t.total_more, $2::text AS room_code, " \
	"$3::text AS status FROM " total
#define LIST(name, page, count, nuser) \
	{ "rec_list_" name, page, 7 + nuser, MR_DB_RESEND }, \
	{ "rec_count_" name, COUNT(count), 3 + nuser, MR_DB_RESEND }

const struct mr_db_stmt mr_db_recording_stmts[] = {
	{ "rec_insert",
	  "INSERT INTO project_management.pm_meeting_recordings "
	  "(room_code, meeting_id, company_id, recorded_by, recorded_by_name, "
	  "recorded_by_email, layout, audio_only, expires_at) "
	  "VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8::boolean, "
	  "(SELECT CASE WHEN d > 0 THEN now() + make_interval(days => d) END "
	  "FROM project_management.meetrec_retention_days($3::uuid, $9::int) "
	  "d)) RETURNING id", 9, MR_DB_ONCE },
	{ "rec_get",
	  "SELECT " COLUMNS FROM
	  "WHERE r.id = $1::uuid AND r.deleted_at IS NULL", 1, MR_DB_RESEND },
	/*
	 * rec_get with what the details add of the transcript: its state
	 * and chapters, in the same round trip.
	 */
	{ "rec_details",
	  "SELECT " COLUMNS ", t.status AS transcript_status, "
	  "t.last_error AS transcript_error, "
	  "t.language AS transcript_language, "
	  CHAPTERS_JSON("r.id") " AS transcript_chapters " FROM
	  "LEFT JOIN project_management.pm_recording_transcripts t "
	  "ON t.recording_id = r.id "
	  "WHERE r.id = $1::uuid AND r.deleted_at IS NULL", 1, MR_DB_RESEND },
	/* What the status endpoint answers, and who may read it. */
	{ "rec_status",
	  "SELECT r.id, r.company_id, r.recorded_by, r.is_public, "
	  "r.allowed_viewers, r.status, r.egress_status, " FILE_COLUMNS
	  ", (SELECT t.status FROM "
	  "project_management.pm_recording_transcripts t "
	  "WHERE t.recording_id = r.id) AS transcript_status "
	  "FROM project_management.pm_meeting_recordings r "
	  "WHERE r.id = $1::uuid AND r.deleted_at IS NULL", 1, MR_DB_RESEND },
	{ "rec_started",
	  "UPDATE project_management.pm_meeting_recordings "
	  "SET egress_id = $2, egress_status = coalesce(egress_status, $3), "
	  "status = CASE WHEN status = 'pending' THEN 'recording' "
	  "  ELSE status END, started_at = coalesce(started_at, now()), "
	  "egress_seen_at = now() "
	  "WHERE id = $1::uuid AND (status = 'pending' OR egress_id = $2)",
	  3, MR_DB_RESEND },
	{ "rec_start_failed",
	  "UPDATE project_management.pm_meeting_recordings "
	  "SET status = 'failed', last_error = $2, ended_at = now() "
	  "WHERE id = $1::uuid AND status = 'pending'", 2, MR_DB_RESEND },
	{ "rec_stop",
	  "UPDATE project_management.pm_meeting_recordings "
	  "SET status = 'processing', ended_at = coalesce(ended_at, now()), "
	  "audit_ctx = $2::jsonb "
	  "WHERE id = $1::uuid AND status = 'recording' "
	  "AND deleted_at IS NULL", 2, MR_DB_RESEND },
	/*
	 * Never a recording that is pending or recording: the caller's
	 * status may be stale (a Stop undone by rec_unstop meanwhile).  Nor
	 * one on legal hold.
	 */
	{ "rec_trash",
	  "UPDATE project_management.pm_meeting_recordings "
	  "SET deleted_at = now(), trash_reason = 'deleted', "
	  "audit_ctx = $2::jsonb "
	  "WHERE id = $1::uuid AND deleted_at IS NULL "
	  "AND status NOT IN ('pending', 'recording') "
	  "AND legal_hold_at IS NULL", 2, MR_DB_RESEND },
	LIST("mine", PAGE(MINE("$8"), NO_FILTER, TOTAL(USERS("$8", ""), "0")),
	    TOTAL(USERS("$4", ""), "0"), 1),
	LIST("mine_status", PAGE(MINE("$8"), STATUS_FILTER,
	    TOTAL(USERS("$8", K_STATUS), "0")),
	    TOTAL(USERS("$4", K_STATUS), "0"), 1),
	LIST("mine_room", PAGE(MINE("$8"), ROOM_FILTER,
	    TOTAL("0", UPTO(MINE("$8"), ROOM_FILTER))),
	    TOTAL("0", UPTO(MINE("$4"), ROOM_FILTER)), 1),
	LIST("shared", SHARED_PAGE(NO_FILTER, TOTAL(OTHERS_PUBLIC("$8", ""),
	    UPTO_GIVEN("$8", NO_FILTER))), TOTAL(OTHERS_PUBLIC("$4", ""),
	    UPTO_GIVEN("$4", NO_FILTER)), 1),
	LIST("shared_status", SHARED_PAGE(STATUS_FILTER,
	    TOTAL(OTHERS_PUBLIC("$8", K_STATUS),
	    UPTO_GIVEN("$8", STATUS_FILTER))),
	    TOTAL(OTHERS_PUBLIC("$4", K_STATUS),
	    UPTO_GIVEN("$4", STATUS_FILTER)), 1),
	LIST("shared_room", SHARED_PAGE(ROOM_FILTER, TOTAL("0",
	    UPTO(PUBLIC("$8"), ROOM_FILTER) " + "
	    UPTO_GIVEN("$8", ROOM_FILTER))), TOTAL("0",
	    UPTO(PUBLIC("$4"), ROOM_FILTER) " + "
	    UPTO_GIVEN("$4", ROOM_FILTER)), 1),
	LIST("company", PAGE("", NO_FILTER, TOTAL(COMPANY(""), "0")),
	    TOTAL(COMPANY(""), "0"), 0),
	LIST("company_status", PAGE("", STATUS_FILTER,
	    TOTAL(COMPANY(K_STATUS), "0")), TOTAL(COMPANY(K_STATUS), "0"), 0),
	LIST("company_room", PAGE("", ROOM_FILTER,
	    TOTAL("0", UPTO("", ROOM_FILTER))),
	    TOTAL("0", UPTO("", ROOM_FILTER)), 0),
	/*
	 * A Stop that never reached LiveKit is undone so it can be retried;
	 * not once the recording was deleted while the Stop waited, or the
	 * trashed row would hold the room (pm_meeting_recordings_one_active).
	 */
	{ "rec_unstop",
	  "UPDATE project_management.pm_meeting_recordings "
	  "SET status = 'recording', ended_at = NULL "
	  "WHERE id = $1::uuid AND status = 'processing' "
	  "AND deleted_at IS NULL "
	  "AND (egress_status IS NULL OR egress_status NOT IN "
	  "('EGRESS_ENDING', 'EGRESS_COMPLETE', 'EGRESS_FAILED', "
	  "'EGRESS_ABORTED', 'EGRESS_LIMIT_REACHED'))", 1, MR_DB_RESEND },
	/* $2 is_public or NULL to keep, $3 uuid[] text or NULL to keep */
	{ "rec_set_access",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "is_public = coalesce($2::boolean, is_public), "
	  "allowed_viewers = CASE WHEN $3::uuid[] IS NULL THEN allowed_viewers "
	  "  ELSE coalesce((SELECT array_agg(DISTINCT v ORDER BY v) "
	  "  FROM unnest($3::uuid[]) v), '{}') END, audit_ctx = $4::jsonb "
	  "WHERE id = $1::uuid AND deleted_at IS NULL "
	  "RETURNING is_public, allowed_viewers", 4, MR_DB_RESEND },
	/* $1 recording, $2/$3 keyset cursor, $4 limit */
	{ "rec_access_log",
	  "SELECT id, user_id, user_email, action, ip_address, user_agent, "
	  "share_id, to_char(accessed_at AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS accessed_at "
	  "FROM project_management.pm_recording_access_logs "
	  "WHERE recording_id = $1::uuid AND (accessed_at, id) < "
	  "(coalesce($2::timestamptz, 'infinity'), "
	  "coalesce($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) "
	  "ORDER BY accessed_at DESC, id DESC LIMIT $4::int", 4, MR_DB_RESEND },
	/* Up to one past MR_TOTAL_EXACT_MAX. */
	{ "rec_access_log_count",
	  "SELECT count(*) AS total FROM (SELECT 1 "
	  "FROM project_management.pm_recording_access_logs "
	  "WHERE recording_id = $1::uuid "
	  "LIMIT " MR_STR(MR_TOTAL_EXACT_MAX) " + 1) b", 1, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

/* Whole seconds of us, rounded half away from zero as ::bigint does. */
static int64_t
seconds(int64_t us)
{
	return us >= 0 ? (us + 500000) / 1000000 : -((500000 - us) / 1000000);
}

/* The FILE_COLUMNS (db_sql.h) of row i. */
static void
file_fill(struct mr_recording *r, PGresult *res, int i)
{
	r->file_size_bytes = mr_db_int(res, i, "file_size_bytes", -1);
	r->duration_seconds = mr_db_int(res, i, "duration_seconds", -1);
	r->duration_ms = mr_db_int(res, i, "duration_ms", -1);
}

/* Copy row i of a result with the COLUMNS above into r (in arena a). */
void
mr_db_rec_fill(struct mr_arena *a, PGresult *res, int i,
    struct mr_recording *r)
{
	int64_t	 started, created;

	r->id = mr_db_val(a, res, i, "id");
	r->room_code = mr_db_val(a, res, i, "room_code");
	r->company_id = mr_db_val(a, res, i, "company_id");
	r->egress_id = mr_db_val(a, res, i, "egress_id");
	r->egress_status = mr_db_val(a, res, i, "egress_status");
	r->status = mr_db_val(a, res, i, "status");
	r->recorded_by = mr_db_val(a, res, i, "recorded_by");
	r->recorded_by_name = mr_db_val(a, res, i, "recorded_by_name");
	r->recorded_by_email = mr_db_val(a, res, i, "recorded_by_email");
	r->layout = mr_db_val(a, res, i, "layout");
	r->audio_only = mr_db_bool(res, i, "audio_only");
	r->file_name = mr_db_val(a, res, i, "file_name");
	r->storage_type = mr_db_val(a, res, i, "storage_type");
	r->storage_path = mr_db_val(a, res, i, "storage_path");
	file_fill(r, res, i);
	r->checksum_sha256 = mr_db_val(a, res, i, "checksum_sha256");
	r->is_public = mr_db_bool(res, i, "is_public");
	r->allowed_viewers = mr_db_val(a, res, i, "allowed_viewers");
	r->last_error = mr_db_val(a, res, i, "last_error");
	r->upload_attempts = mr_db_int(res, i, "upload_attempts", 0);
	r->media_finding = mr_db_val(a, res, i, "media_finding");
	r->store_as_is = mr_db_bool(res, i, "store_as_is");
	r->started_at = mr_db_time(a, res, i, "started_at", &started);
	r->ended_at = mr_db_time(a, res, i, "ended_at", NULL);
	r->expires_at = mr_db_time(a, res, i, "expires_at", NULL);
	r->created_at = mr_db_time(a, res, i, "created_at", &created);
	r->updated_at = mr_db_time(a, res, i, "updated_at", NULL);
	r->deleted_at = mr_db_time(a, res, i, "deleted_at", NULL);
	r->meeting_name = mr_db_val(a, res, i, "meeting_name");
	r->room_host = mr_db_val(a, res, i, "room_host");
	r->started_epoch = seconds(r->started_at != NULL ? started : created);
	r->meeting_id = mr_db_val(a, res, i, "meeting_id");
	r->is_encrypted = mr_db_bool(res, i, "is_encrypted");
	r->watermark_applied = mr_db_bool(res, i, "watermark_applied");
	r->legal_hold_reason = mr_db_val(a, res, i, "legal_hold_reason");
	r->legal_hold_by = mr_db_val(a, res, i, "legal_hold_by");
	r->legal_hold_at = mr_db_time(a, res, i, "legal_hold_at", NULL);
}

/* Returns 1 inserted, 0 when the room already has an active recording. */
int
mr_db_rec_insert(struct mr_db *db, struct mr_arena *a,
    const struct mr_rec_new *n, char **id, struct mr_err *err)
{
	char		 days[24];
	const char	*p[9];
	PGresult	*res;

	snprintf(days, sizeof(days), "%lld", (long long)n->retention_days);
	p[0] = n->room_code;
	p[1] = n->meeting_id;
	p[2] = n->company_id;
	p[3] = n->recorded_by;
	p[4] = n->recorded_by_name;
	p[5] = n->recorded_by_email;
	p[6] = n->layout;
	p[7] = n->audio_only ? "true" : "false";
	p[8] = days;
	if ((res = mr_db_exec(db, a, "rec_insert", p, err)) == NULL) {
		if (strcmp(mr_db_sqlstate(db), "23505") == 0) {
			mr_err_clear(err);
			return 0;
		}
		return -1;
	}
	*id = mr_db_val(a, res, 0, "id");
	return 1;
}

/*
 * Recording id by statement name (COLUMNS first) into r, *found set;
 * the result, or NULL with err.
 */
static PGresult *
get_one(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *id, struct mr_recording *r, int *found, struct mr_err *err)
{
	const char	*p[] = { id };
	PGresult	*res;

	*found = 0;
	if ((res = mr_db_exec(db, a, name, p, err)) == NULL)
		return NULL;
	if (PQntuples(res) > 0) {
		mr_db_rec_fill(a, res, 0, r);
		*found = 1;
	}
	return res;
}

int
mr_db_rec_get(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_recording *r, struct mr_err *err)
{
	int	 found;

	if (get_one(db, a, "rec_get", id, r, &found, err) == NULL)
		return -1;
	return found;
}

int
mr_db_rec_details(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_recording *r, struct mr_err *err)
{
	PGresult	*res;
	int		 found;

	if ((res = get_one(db, a, "rec_details", id, r, &found, err)) ==
	    NULL)
		return -1;
	if (!found)
		return 0;
	r->transcript_status = mr_db_val(a, res, 0, "transcript_status");
	r->transcript_error = mr_db_val(a, res, 0, "transcript_error");
	r->transcript_language = mr_db_val(a, res, 0, "transcript_language");
	r->transcript_chapters = mr_db_val(a, res, 0, "transcript_chapters");
	return 1;
}

/* As mr_db_rec_get, with only what rec_status reads; the rest is 0. */
int
mr_db_rec_status(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_recording *r, struct mr_err *err)
{
	const char	*p[] = { id };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "rec_status", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	r->id = mr_db_val(a, res, 0, "id");
	r->company_id = mr_db_val(a, res, 0, "company_id");
	r->recorded_by = mr_db_val(a, res, 0, "recorded_by");
	r->is_public = mr_db_bool(res, 0, "is_public");
	r->allowed_viewers = mr_db_val(a, res, 0, "allowed_viewers");
	r->status = mr_db_val(a, res, 0, "status");
	r->egress_status = mr_db_val(a, res, 0, "egress_status");
	r->transcript_status = mr_db_val(a, res, 0, "transcript_status");
	file_fill(r, res, 0);
	return 1;
}

int
mr_db_rec_started(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *egress_id, const char *egress_status, struct mr_err *err)
{
	const char	*p[] = { id, egress_id, egress_status };

	return mr_db_change(db, a, "rec_started", p, err);
}

int
mr_db_rec_start_failed(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *reason, struct mr_err *err)
{
	const char	*p[] = { id, reason };

	return mr_db_change(db, a, "rec_start_failed", p, err);
}

int
mr_db_rec_stop(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_err *err)
{
	const char	*p[] = { id, mr_db_actor(db) };

	return mr_db_change(db, a, "rec_stop", p, err);
}

int
mr_db_rec_trash(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_err *err)
{
	const char	*p[] = { id, mr_db_actor(db) };

	return mr_db_change(db, a, "rec_trash", p, err);
}

/*
 * A page of the list f, and in *total how many rows the list has (*exact
 * 0 when a part of it that is counted passed MR_TOTAL_EXACT_MAX: there
 * are at least *total): the page reads its total (the same snapshot, one
 * round trip); a page with no rows past a cursor or an offset asks the
 * total alone.
 */
int
mr_db_rec_list(struct mr_db *db, struct mr_arena *a,
    const struct mr_rec_filter *f, struct mr_recording **out, int *n,
    int64_t *total, int *exact, struct mr_err *err)
{
	char		 limit[24], offset[24], list[40], count[40];
	const char	*p[8], *c[4], *by;
	PGresult	*res;
	int		 i;

	by = f->room_code != NULL ? "_room" : f->status != NULL ?
	    "_status" : "";
	snprintf(list, sizeof(list), "rec_list_%s%s", f->scope, by);
	snprintf(count, sizeof(count), "rec_count_%s%s", f->scope, by);
	snprintf(limit, sizeof(limit), "%lld", (long long)f->limit);
	snprintf(offset, sizeof(offset), "%lld", (long long)f->offset);
	p[0] = c[0] = f->company_id;
	p[1] = c[1] = f->room_code;
	p[2] = c[2] = f->status;
	p[3] = f->cursor_ts;
	p[4] = f->cursor_id;
	p[5] = limit;
	p[6] = offset;
	p[7] = c[3] = f->user_id;
	if ((res = mr_db_exec(db, a, list, p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++)
		mr_db_rec_fill(a, res, i, &(*out)[i]);
	if (*n == 0 && f->offset == 0 && f->cursor_ts == NULL) {
		*total = 0;
		*exact = 1;
		return 1;
	}
	if (*n == 0 && (res = mr_db_exec(db, a, count, c, err)) == NULL)
		return -1;
	*total = mr_db_int(res, 0, "total", 0);
	*exact = !mr_db_bool(res, 0, "total_more");
	return 1;
}

int
mr_db_rec_unstop(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_err *err)
{
	const char	*p[] = { id };

	return mr_db_change(db, a, "rec_unstop", p, err);
}

/*
 * Set who may view: is_public -1 keeps it, viewers (uuid[] text) NULL
 * keeps them.  1 with r's two fields updated, 0 when the recording is
 * gone.
 */
int
mr_db_rec_set_access(struct mr_db *db, struct mr_arena *a, const char *id,
    int is_public, const char *viewers, struct mr_recording *r,
    struct mr_err *err)
{
	const char	*p[4];
	PGresult	*res;

	p[0] = id;
	p[1] = is_public < 0 ? NULL : is_public ? "true" : "false";
	p[2] = viewers;
	p[3] = mr_db_actor(db);
	if ((res = mr_db_exec(db, a, "rec_set_access", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	r->is_public = mr_db_bool(res, 0, "is_public");
	r->allowed_viewers = mr_db_val(a, res, 0, "allowed_viewers");
	return 1;
}

/*
 * One page of a recording's audit trail, newest first, and its total
 * (counted up to the bound, mr_db_total_bound).
 */
int
mr_db_access_log(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *cursor_ts, const char *cursor_id, int64_t limit,
    struct mr_access_entry **out, int *n, int64_t *total, int *exact,
    struct mr_err *err)
{
	struct mr_access_entry	*e;
	const char		*p[4];
	PGresult		*res;
	int			 i;

	p[0] = id;
	p[1] = cursor_ts;
	p[2] = cursor_id;
	p[3] = mr_printf(a, "%lld", (long long)limit);
	if ((res = mr_db_exec(db, a, "rec_access_log_count", p, err)) == NULL)
		return -1;
	*total = mr_db_int(res, 0, "total", 0);
	*exact = 1;
	mr_db_total_bound(total, exact);
	if ((res = mr_db_exec(db, a, "rec_access_log", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = e = mr_calloc(a, (size_t)*n + 1, sizeof(*e))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++) {
		e[i].id = mr_db_val(a, res, i, "id");
		e[i].user_id = mr_db_val(a, res, i, "user_id");
		e[i].user_email = mr_db_val(a, res, i, "user_email");
		e[i].action = mr_db_val(a, res, i, "action");
		e[i].ip_address = mr_db_val(a, res, i, "ip_address");
		e[i].user_agent = mr_db_val(a, res, i, "user_agent");
		e[i].share_id = mr_db_val(a, res, i, "share_id");
		e[i].accessed_at = mr_db_val(a, res, i, "accessed_at");
	}
	return 1;
}
