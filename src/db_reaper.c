/* SPDX-License-Identifier: ISC */
/*
 * db_reaper.c - how reapers share work.  A pass claims a batch of rows:
 * FOR UPDATE SKIP LOCKED picks rows no other reaper is claiming right
 * now, and a lease (lease_owner, lease_until) keeps them ours while we
 * work outside the transaction.  A reaper that dies leaves a lease that
 * expires; every later write checks lease_owner, so a reaper whose lease
 * was taken over cannot overwrite the new owner's work.
 *
 * Each claim reads an index that holds only the rows still to do
 * (sql/010_volume.sql), in the pass's order.  The expire and purge
 * passes also go on from where their last batch ended ($5, the order's
 * value of its last row): what they finished leaves the index, but
 * until vacuum its entries are still there to walk past, and a backlog
 * of a million rows would make each claim walk the ones done before it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "db_sql.h"
#include "model.h"

#define FINALS	"('EGRESS_COMPLETE', 'EGRESS_FAILED', 'EGRESS_ABORTED', " \
		"'EGRESS_LIMIT_REACHED')"
#define FREE	"(r.lease_until IS NULL OR r.lease_until < now()) "
/*
 * rp_done's row: ours to complete, or completed by this very statement
 * before (a resend after a lost answer).
 */
#define DONE_MATCH \
	"((lease_owner = $2 AND status = 'processing') OR " \
	"(status = 'completed' AND lease_owner IS NULL AND " \
	"storage_path = $4 AND checksum_sha256 = $7)) "

/*
 * Claim: $1 owner, $2 lease seconds, $3 age seconds, $4 how many rows, $5
 * (expire and purge) the order's value to go on from, NULL at first.
 * Each row comes with claim_key, the text of its order's value, in that
 * order.
 */
#define CLAIM(where, order, key) \
	"WITH c AS (SELECT r.id FROM project_management." \
	"pm_meeting_recordings r WHERE " where " AND " FREE \
	"ORDER BY " order " LIMIT $4::int FOR UPDATE SKIP LOCKED), " \
	"u AS (UPDATE project_management.pm_meeting_recordings r " \
	"SET lease_owner = $1, lease_until = now() + " \
	"make_interval(secs => $2::int) FROM c WHERE r.id = c.id " \
	"AND $3::int >= 0 RETURNING r.id, " key " AS k) " \
	"SELECT " COLUMNS ", u.k::text AS claim_key " FROM \
	"JOIN u ON u.id = r.id ORDER BY u.k, r.id"
#define AFTER(c) \
	" AND r." c " >= coalesce($5::timestamptz, '-infinity')"

const struct mr_db_stmt mr_db_reaper_stmts[] = {
	{ "rp_claim_upload", CLAIM(
	  "r.status = 'processing' AND r.deleted_at IS NULL AND "
	  "r.egress_status IN ('EGRESS_COMPLETE', 'EGRESS_LIMIT_REACHED') AND "
	  "(r.next_attempt_at IS NULL OR r.next_attempt_at <= now())",
	  "r.next_attempt_at NULLS FIRST, r.created_at", "r.created_at"),
	  4, MR_DB_ONCE },
	{ "rp_claim_stale", CLAIM(
	  "r.deleted_at IS NULL AND "
	  "(r.next_attempt_at IS NULL OR r.next_attempt_at <= now()) AND "
	  "((r.status = 'pending' AND "
	  "  r.created_at < now() - make_interval(secs => $3::int)) OR "
	  " (r.status IN ('recording', 'processing') AND "
	  "  (r.egress_status IS NULL OR r.egress_status NOT IN " FINALS ") "
	  "  AND coalesce(r.egress_seen_at, r.created_at) < now() - "
	  "  make_interval(secs => $3::int)))",
	  "coalesce(r.egress_seen_at, r.created_at)",
	  "coalesce(r.egress_seen_at, r.created_at)"), 4, MR_DB_ONCE },
	{ "rp_claim_expired", CLAIM(
	  "r.deleted_at IS NULL AND r.expires_at < now() AND "
	  "r.status IN ('completed', 'failed') AND r.expires_at IS NOT NULL "
	  "AND r.legal_hold_at IS NULL" AFTER("expires_at"), "r.expires_at", "r.expires_at"),
	  5, MR_DB_ONCE },
	{ "rp_claim_purge", CLAIM(
	  "r.deleted_at < now() - make_interval(secs => $3::int) AND "
	  "r.deleted_at IS NOT NULL AND r.legal_hold_at IS NULL"
	  AFTER("deleted_at"), "r.deleted_at", "r.deleted_at"),
	  5, MR_DB_ONCE },
	/*
	 * $6 whole seconds, $9 milliseconds (NULL both when unknown), $8
	 * what the probe found wrong with a file stored as it is; $10 '1'
	 * when a transcript is to be made (asr_url is set), in language $11
	 * (NULL: the server's guess).  The transcript is asked for by the
	 * statement that completes the recording, so a reaper killed in
	 * between cannot leave a recording that never gets one; both parts
	 * match the row as the statement found it.
	 */
	{ "rp_done",
	  "WITH t AS (INSERT INTO "
	  "project_management.pm_recording_transcripts "
	  "(recording_id, company_id, language, ts_config) "
	  "SELECT r.id, r.company_id, $11, "
	  "project_management.meetrec_ts_config($11) "
	  "FROM project_management.pm_meeting_recordings r "
	  "WHERE $10::int = 1 AND r.id = $1::uuid AND " DONE_MATCH
	  "ON CONFLICT (recording_id) DO NOTHING) "
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "status = 'completed', storage_type = $3, storage_path = $4, "
	  "file_size_bytes = $5::bigint, duration_seconds = $6::int, "
	  "duration_ms = $9::bigint, "
	  "checksum_sha256 = $7, media_finding = $8, last_error = NULL, "
	  "next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1::uuid AND " DONE_MATCH, 11, MR_DB_RESEND },
	/*
	 * $3 error, $4 the probe's finding.  Failed at once: retrying will
	 * not heal the bytes.  Repeated, it matches the row it failed.
	 */
	{ "rp_damaged",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "status = 'failed', last_error = $3, media_finding = $4, "
	  "duration_seconds = NULL, duration_ms = NULL, "
	  "next_attempt_at = NULL, "
	  "lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1::uuid AND ((lease_owner = $2 AND "
	  "status = 'processing') OR (status = 'failed' AND "
	  "lease_owner IS NULL AND last_error = $3))", 4, MR_DB_RESEND },
	/*
	 * $3 error, $4 max attempts, $5 backoff base seconds (>= 1).  The
	 * backoff doubles in integer arithmetic, the shift capped at 15
	 * (2^15 s is past the 6-hour cap), and the counter stops at the
	 * largest integer, so no count of attempts makes this fail.
	 */
	{ "rp_failed",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "upload_attempts = least(upload_attempts::bigint + 1, "
	  "2147483647)::int, last_error = $3, "
	  "status = CASE WHEN upload_attempts::bigint + 1 >= $4::int "
	  "  THEN 'failed' ELSE status END, "
	  "next_attempt_at = now() + make_interval(secs => "
	  "  least($5::bigint << least(greatest(upload_attempts, 0), 15), "
	  "  21600)), "
	  "lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1::uuid AND lease_owner = $2 RETURNING status",
	  5, MR_DB_ONCE },
	{ "rp_release",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "lease_owner = NULL, lease_until = NULL, next_attempt_at = CASE "
	  "  WHEN $3::int > 0 AND status IN ('pending', 'recording', "
	  "  'processing') AND (egress_status IS NULL OR egress_status NOT IN "
	  FINALS ") THEN now() + make_interval(secs => $3::int) "
	  "  ELSE next_attempt_at END "
	  "WHERE id = $1::uuid AND lease_owner = $2", 3, MR_DB_RESEND },
	{ "rp_renew",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "lease_until = now() + make_interval(secs => $3::int) "
	  "WHERE id = $1::uuid AND lease_owner = $2", 3, MR_DB_RESEND },
	{ "rp_fail_pending",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "status = 'failed', last_error = $3, ended_at = now(), "
	  "lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1::uuid AND lease_owner = $2 AND status = 'pending'",
	  3, MR_DB_RESEND },
	/*
	 * An expired recording's file is gone and it cannot be restored:
	 * its transcript (the meeting's words) goes with it, in the same
	 * statement, and only when the row is trashed.
	 */
	{ "rp_trash",
	  "WITH t AS (UPDATE project_management.pm_meeting_recordings SET "
	  "deleted_at = now(), trash_reason = 'expired', lease_owner = NULL, "
	  "lease_until = NULL "
	  "WHERE id = $1::uuid AND lease_owner = $2 AND deleted_at IS NULL "
	  "AND legal_hold_at IS NULL RETURNING id), "
	  "x AS (DELETE FROM project_management.pm_recording_transcripts "
	  "WHERE recording_id IN (SELECT id FROM t)) "
	  "SELECT id FROM t", 2, MR_DB_RESEND },
	{ "rp_purge",
	  "DELETE FROM project_management.pm_meeting_recordings "
	  "WHERE id = $1::uuid AND lease_owner = $2 AND deleted_at IS NOT NULL "
	  "AND legal_hold_at IS NULL", 2, MR_DB_RESEND },
	{ "rp_known",
	  "SELECT status = 'completed' AND storage_path IS NOT NULL "
	  "FROM project_management.pm_meeting_recordings "
	  "WHERE id = $1::uuid", 1, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static const char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

/*
 * Claim up to max rows for pass kind, going on after *after (NULL: from
 * the start; the expire and purge passes only), which is set to where
 * this batch ended.  The rows, in the pass's order, go to *rows (in arena
 * a); returns how many, or -1 on error.
 */
int
mr_db_reap_claim(struct mr_db *db, struct mr_arena *a, enum mr_claim kind,
    const char *owner, int64_t lease_s, int64_t age_s, int max,
    const char **after, struct mr_recording **rows, struct mr_err *err)
{
	static const char *const names[] = {
		"rp_claim_upload", "rp_claim_stale", "rp_claim_expired",
		"rp_claim_purge"
	};
	const char	*p[5];
	PGresult	*res;
	int		 n;

	p[0] = owner;
	p[1] = num(a, lease_s);
	p[2] = num(a, age_s);
	p[3] = num(a, max);
	p[4] = *after;
	if ((res = mr_db_exec(db, a, names[kind], p, err)) == NULL)
		return -1;
	n = PQntuples(res);
	if ((*rows = mr_calloc(a, (size_t)n + 1, sizeof(**rows))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < n; i++)
		mr_db_rec_fill(a, res, i, &(*rows)[i]);
	if (n > 0)
		*after = mr_db_val(a, res, n - 1, "claim_key");
	return n;
}

/*
 * 1 completed, 0 when our lease was lost (someone else owns it now).
 * The duration in whole seconds and in milliseconds (mr_duration_split),
 * both -1 with finding set for a file stored as it is.
 */
int
mr_db_reap_done(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *storage_type, const char *path,
    int64_t size, int64_t dur_s, int64_t dur_ms, const char *sha256,
    const char *finding, const char *transcribe_lang, int transcribe,
    struct mr_err *err)
{
	const char	*p[] = { id, owner, storage_type, path, num(a, size),
	    dur_s >= 0 ? num(a, dur_s) : NULL, sha256, finding,
	    dur_ms >= 0 ? num(a, dur_ms) : NULL, transcribe ? "1" : "0",
	    transcribe_lang };

	return mr_db_change(db, a, "rp_done", p, err);
}

/*
 * The file is damaged (finding, the probe's words): failed now, with
 * error as last_error.  1 done, 0 when our lease was lost, -1 error.
 */
int
mr_db_reap_damaged(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *error, const char *finding,
    struct mr_err *err)
{
	const char	*p[] = { id, owner, error, finding };

	return mr_db_change(db, a, "rp_damaged", p, err);
}

int
mr_db_reap_failed(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *error, int64_t max_attempts,
    int64_t backoff_s, int *gave_up, struct mr_err *err)
{
	const char	*p[] = { id, owner, error, num(a, max_attempts),
	    num(a, backoff_s) };
	PGresult	*res;

	*gave_up = 0;
	if ((res = mr_db_exec(db, a, "rp_failed", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	*gave_up = strcmp(PQgetvalue(res, 0, 0), "failed") == 0;
	return 1;
}

int
mr_db_reap_release(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, int64_t next_check_s, struct mr_err *err)
{
	const char	*p[] = { id, owner, num(a, next_check_s) };

	return mr_db_change(db, a, "rp_release", p, err);
}

/* Extend our lease; 1 done, 0 when it is no longer ours, -1 error. */
int
mr_db_reap_renew(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, int64_t lease_s, struct mr_err *err)
{
	const char	*p[] = { id, owner, num(a, lease_s) };

	return mr_db_change(db, a, "rp_renew", p, err);
}

int
mr_db_reap_fail_pending(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *error, struct mr_err *err)
{
	const char	*p[] = { id, owner, error };

	return mr_db_change(db, a, "rp_fail_pending", p, err);
}

int
mr_db_reap_trash(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, struct mr_err *err)
{
	const char	*p[] = { id, owner };

	return mr_db_change(db, a, "rp_trash", p, err);
}

int
mr_db_reap_purge(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, struct mr_err *err)
{
	const char	*p[] = { id, owner };

	return mr_db_change(db, a, "rp_purge", p, err);
}

/*
 * Does a row with this id exist (trash included)?  0 no, 1 yes, 2 yes and
 * it is completed and stored; -1 error.
 */
int
mr_db_reap_known(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_err *err)
{
	const char	*p[] = { id };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "rp_known", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	return PQgetvalue(res, 0, 0)[0] == 't' ? 2 : 1;
}
