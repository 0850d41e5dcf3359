/* SPDX-License-Identifier: ISC */
/*
 * db_admin.c - what administrators ask of pm_meeting_recordings: the
 * company's recordings with the trash, retry of a failed upload, restore
 * from the trash, and the counts (the admin API and meetrec-admin stats
 * share them).  Retry and restore are single conditional statements, so
 * two admins doing the same thing at once change the row once.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "db_sql.h"
#include "model.h"

/* Egress ended with a file: there is something to upload. */
#define HAS_FILE	"r.egress_status IN ('EGRESS_COMPLETE', " \
			"'EGRESS_LIMIT_REACHED')"
#define LEASE_FREE	"(r.lease_until IS NULL OR r.lease_until < now())"
/* An expires_at already passed moves to now + $n days (NULL for 0). */
#define REVIVE(n)	"expires_at = CASE WHEN r.expires_at < now() THEN " \
			"(SELECT CASE WHEN d > 0 THEN now() + " \
			"make_interval(days => d) END FROM project_management." \
			"meetrec_retention_days(r.company_id, " n "::int) d) " \
			"ELSE r.expires_at END"
#define UTC(e)		"to_char((" e ") AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/*
 * $1 company (NULL: every company, for meetrec-admin), $2 status, $3
 * room_code, $4 recorded_by, $5 from, $6 to (inclusive), $7 trash:
 * exclude, include or only.  The company is one statement's index
 * condition (adm_list reads the company's rows newest first, from $6 back
 * to $5), the other's (adm_list_all) absence of one.
 */
#define FILTER(company) \
	"WHERE " company " " \
	"AND ($2::text IS NULL OR r.status = $2) " \
	"AND ($3::text IS NULL OR r.room_code = $3) " \
	"AND ($4::uuid IS NULL OR r.recorded_by = $4::uuid) " \
	"AND r.created_at >= coalesce($5::timestamptz, '-infinity') " \
	"AND CASE $7::text WHEN 'only' THEN r.deleted_at IS NOT NULL " \
	"  WHEN 'include' THEN true ELSE r.deleted_at IS NULL END "

/* Upload queue: egress ended with a file, not in the trash. */
#define UPLOADING	"r.deleted_at IS NULL AND " HAS_FILE
/* A status's count, not in the trash, from adm_stats's k. */
#define KEPT(s)		"coalesce((SELECT n FROM k WHERE k.status = '" s \
			"' AND NOT k.trashed), 0)"

/*
 * The company as a parameter the planner is not shown (as the lists of
 * db_recording.c do): the plan made once, which the pool keeps, is then
 * the plan made for the value, a walk of the company's rows in order.
 */
#define ONE_COMPANY	"r.company_id = (SELECT $1::uuid)"
#define ANY_COMPANY	"$1::uuid IS NULL"
/*
 * A page starts below the cursor ($8, $9) or at $6 (created_at <= $6),
 * whichever is older: one row comparison, where the index scan starts.
 * (Given $6 beside it as a comparison of its own, the scan would start
 * at the company's newest row and walk to $6.)
 */
#define BELOW(which) \
	"CASE WHEN $6::timestamptz IS NULL OR ($8::timestamptz IS NOT NULL " \
	"AND $8::timestamptz <= $6::timestamptz) THEN " which " END"
#define ADM_LIST(company) \
	"SELECT " COLUMNS ", " TS("next_attempt_at") ", r.trash_reason " \
	FROM FILTER(company) \
	"AND (r.created_at, r.id) < (coalesce(" BELOW("$8::timestamptz") \
	", $6::timestamptz, 'infinity'), coalesce(" BELOW("$9::uuid") ", " \
	"'ffffffff-ffff-ffff-ffff-ffffffffffff')) " \
	"ORDER BY r.created_at DESC, r.id DESC LIMIT $10::int"
/* Counted up to one past MR_TOTAL_EXACT_MAX. */
#define ADM_COUNT(company) \
	"SELECT count(*) AS total FROM (SELECT 1 " \
	"FROM project_management.pm_meeting_recordings r " FILTER(company) \
	"AND r.created_at <= coalesce($6::timestamptz, 'infinity') " \
	"LIMIT " MR_STR(MR_TOTAL_EXACT_MAX) " + 1) b"

const struct mr_db_stmt mr_db_admin_stmts[] = {
	{ "adm_list", ADM_LIST(ONE_COMPANY), 10, MR_DB_RESEND },
	{ "adm_list_all", ADM_LIST(ANY_COMPANY), 10, MR_DB_RESEND },
	{ "adm_count", ADM_COUNT(ONE_COMPANY), 7, MR_DB_RESEND },
	{ "adm_count_all", ADM_COUNT(ANY_COMPANY), 7, MR_DB_RESEND },
	/*
	 * Filtered by status and the trash alone, the total is read from
	 * the counts kept with the rows: $1 company or NULL, $2 status or
	 * NULL, $3 trash (as $7 above).
	 */
	{ "adm_count_kept",
	  "SELECT coalesce(sum(k.recordings), 0) AS total "
	  "FROM project_management.meetrec_company_counts k "
	  "WHERE ($1::uuid IS NULL OR k.company_id = $1::uuid) "
	  "AND ($2::text IS NULL OR k.status = $2) "
	  "AND CASE $3::text WHEN 'only' THEN k.trashed "
	  "  WHEN 'include' THEN true ELSE NOT k.trashed END",
	  3, MR_DB_RESEND },
	/* $1 id, $2 company or NULL: one recording, the trash included. */
	{ "adm_get",
	  "SELECT " COLUMNS ", " TS("next_attempt_at") ", r.trash_reason "
	  FROM "WHERE r.id = $1::uuid AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid)", 2, MR_DB_RESEND },
	/*
	 * $1 id, $2 company (or NULL), $3 retention days, $4 store the file
	 * as it is.  Back to the upload queue, woken at once; a row a reaper
	 * holds (the expire pass may be deleting its files) is left alone.
	 */
	{ "adm_retry",
	  "WITH u AS (UPDATE project_management.pm_meeting_recordings r SET "
	  "status = 'processing', upload_attempts = 0, next_attempt_at = "
	  "now(), lease_owner = NULL, lease_until = NULL, "
	  "store_as_is = $4::boolean, audit_ctx = $5::jsonb, " REVIVE("$3")
	  " WHERE r.id = $1::uuid AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid) AND "
	  "r.deleted_at IS NULL AND r.status = 'failed' AND " HAS_FILE " AND "
	  LEASE_FREE " RETURNING r.id) "
	  "SELECT pg_notify('meetrec_upload', id::text) FROM u",
	  5, MR_DB_RESEND },
	/*
	 * $1 id, $2 company (or NULL), $3 trash days, $4 retention days.
	 * One row (found in the trash window) with the outcome, or none.
	 */
	{ "adm_restore",
	  "WITH t AS (SELECT r.id, r.trash_reason, NOT " LEASE_FREE " AS busy "
	  "FROM project_management.pm_meeting_recordings r "
	  "WHERE r.id = $1::uuid AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid) AND "
	  "r.deleted_at IS NOT NULL AND "
	  "r.deleted_at > now() - make_interval(days => $3::int) FOR UPDATE), "
	  "u AS (UPDATE project_management.pm_meeting_recordings r SET "
	  "deleted_at = NULL, trash_reason = NULL, audit_ctx = $5::jsonb, "
	  REVIVE("$4") " FROM t "
	  "WHERE r.id = t.id AND t.trash_reason IS DISTINCT FROM 'expired' "
	  "AND NOT t.busy RETURNING r.id) "
	  "SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'restored' "
	  "WHEN t.busy THEN 'busy' ELSE 'file_deleted' END AS outcome FROM t",
	  5, MR_DB_ONCE },
	/*
	 * $1 company or NULL for all.  The counts are those kept with the
	 * rows; the upload queue is read from the indexes that hold it
	 * alone (pm_meeting_recordings_uploads, _upload_failed).
	 */
	{ "adm_stats",
	  "WITH k AS (SELECT k.status, k.trashed, "
	  "  sum(k.recordings) AS n, sum(k.bytes) AS b "
	  "  FROM project_management.meetrec_company_counts k "
	  "  WHERE $1::uuid IS NULL OR k.company_id = $1::uuid "
	  "  GROUP BY 1, 2), "
	  "q AS (SELECT count(*) AS n, min(coalesce(r.ended_at, "
	  "  r.created_at)) AS oldest "
	  "  FROM project_management.pm_meeting_recordings r "
	  "  WHERE ($1::uuid IS NULL OR r.company_id = $1::uuid) AND "
	  "  r.status = 'processing' AND " UPLOADING ") "
	  "SELECT "
	  KEPT("pending") " AS pending, "
	  KEPT("recording") " AS recording, "
	  KEPT("processing") " AS processing, "
	  KEPT("completed") " AS completed, "
	  KEPT("failed") " AS failed, "
	  "coalesce((SELECT sum(n) FROM k WHERE k.trashed), 0) AS trashed, "
	  "coalesce((SELECT b FROM k WHERE k.status = 'completed' AND "
	  "  NOT k.trashed), 0) AS bytes_stored, "
	  "q.n AS uploads_pending, "
	  "(SELECT count(*) FROM project_management.pm_meeting_recordings r "
	  "  WHERE ($1::uuid IS NULL OR r.company_id = $1::uuid) AND "
	  "  r.status = 'failed' AND " UPLOADING ") AS uploads_failed, "
	  UTC("q.oldest") " AS oldest_at, "
	  "floor(extract(epoch FROM now() - q.oldest))::bigint AS oldest_s "
	  "FROM q",
	  1, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

const char *const mr_db_admin_statuses[] = {
	"pending", "recording", "processing", "completed", "failed", NULL
};

static const char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

static void
admin_fill(struct mr_arena *a, PGresult *res, int i, struct mr_admin_rec *o)
{
	mr_db_rec_fill(a, res, i, &o->rec);
	o->next_attempt_at = mr_db_val(a, res, i, "next_attempt_at");
	o->trash_reason = mr_db_val(a, res, i, "trash_reason");
}

/*
 * Recording id of company (NULL: any company), in the trash or not: 1
 * with *out filled, 0 when there is none, -1 (err set).
 */
int
mr_db_admin_get(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, struct mr_admin_rec *out, struct mr_err *err)
{
	const char	*p[] = { id, company };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "adm_get", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	admin_fill(a, res, 0, out);
	return 1;
}

/*
 * The company's recordings (every company's when f->company_id is NULL)
 * that pass filter f, newest first, at most f->limit, with the number of
 * all that pass in total: read from the kept counts when only the status
 * and the trash filter, else counted up to the bound (*exact 0 past it,
 * mr_db_total_bound).  *out (n rows) lives in a.  Returns 1 or -1 (err
 * set).
 */
int
mr_db_admin_list(struct mr_db *db, struct mr_arena *a,
    const struct mr_admin_filter *f, struct mr_admin_rec **out, int *n,
    int64_t *total, int *exact, struct mr_err *err)
{
	const char	*p[10], *k[3];
	PGresult	*res;
	int		 i;

	p[0] = f->company_id;
	p[1] = f->status;
	p[2] = f->room_code;
	p[3] = f->user_id;
	p[4] = f->from;
	p[5] = f->to;
	p[6] = f->trash;
	p[7] = f->cursor_ts;
	p[8] = f->cursor_id;
	if ((p[9] = num(a, f->limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, f->company_id != NULL ? "adm_list" :
	    "adm_list_all", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++)
		admin_fill(a, res, i, &(*out)[i]);
	*exact = 1;
	if (f->room_code == NULL && f->user_id == NULL && f->from == NULL &&
	    f->to == NULL) {
		k[0] = f->company_id;
		k[1] = f->status;
		k[2] = f->trash;
		if ((res = mr_db_exec(db, a, "adm_count_kept", k, err)) == NULL)
			return -1;
		*total = mr_db_int(res, 0, "total", 0);
		return 1;
	}
	if ((res = mr_db_exec(db, a, f->company_id != NULL ? "adm_count" :
	    "adm_count_all", p, err)) == NULL)
		return -1;
	*total = mr_db_int(res, 0, "total", 0);
	mr_db_total_bound(total, exact);
	return 1;
}

/*
 * Put a failed upload of company's recording id (company NULL: any
 * company's) back in the upload queue and wake the reapers; as_is asks
 * the upload to store the file even if the probe refuses it.  1 done, 0
 * when the row is not (or no longer) a failed upload that no reaper
 * holds; -1 error.
 */
int
mr_db_admin_retry(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, int64_t retention_days, int as_is,
    struct mr_err *err)
{
	const char	*p[] = { id, company, num(a, retention_days),
	    as_is ? "true" : "false", mr_db_actor(db) };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "adm_retry", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

/*
 * Take company's recording id (company NULL: any company's) out of the
 * trash if it went there less than trash_days ago.  *outcome:
 * "restored", "file_deleted" (it expired: its file is gone) or "busy" (a
 * reaper holds it), in a.  1 when the row is in the trash window (see
 * *outcome), 0 when it is not, -1 error.
 */
int
mr_db_admin_restore(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, int64_t trash_days, int64_t retention_days,
    const char **outcome, struct mr_err *err)
{
	const char	*p[] = { id, company, num(a, trash_days),
	    num(a, retention_days), mr_db_actor(db) };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "adm_restore", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	if ((*outcome = mr_db_val(a, res, 0, "outcome")) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return 1;
}

/* Counts for company, or for every company when it is NULL; 1 or -1. */
int
mr_db_admin_stats(struct mr_db *db, struct mr_arena *a, const char *company,
    struct mr_admin_stats *st, struct mr_err *err)
{
	const char	*p[] = { company };
	PGresult	*res;
	int		 i;

	if ((res = mr_db_exec(db, a, "adm_stats", p, err)) == NULL)
		return -1;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < MR_NSTATUS; i++)
		st->by_status[i] = mr_db_int(res, 0, mr_db_admin_statuses[i],
		    0);
	st->trashed = mr_db_int(res, 0, "trashed", 0);
	st->bytes_stored = mr_db_int(res, 0, "bytes_stored", 0);
	st->uploads_pending = mr_db_int(res, 0, "uploads_pending", 0);
	st->uploads_failed = mr_db_int(res, 0, "uploads_failed", 0);
	st->oldest_pending_upload_at = mr_db_val(a, res, 0, "oldest_at");
	st->oldest_pending_upload_s = mr_db_int(res, 0, "oldest_s", -1);
	return 1;
}
