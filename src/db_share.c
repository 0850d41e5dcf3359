/* SPDX-License-Identifier: ISC */
/*
 * db_share.c - share links (pm_recording_shares).  The link's token is
 * never stored, only its SHA-256; a password only as a scrypt hash.
 * Password tries are counted before the password is checked, in one
 * conditional UPDATE, so parallel guesses cannot slip past the lock.  A
 * recording has at most share_max_active links that work, counted under
 * a lock on its row, so parallel creations cannot slip past the cap.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "model.h"

#include "db_sql.h"

#define STS(c)	"to_char(s." c " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS s_" c

#define SHARE_COLUMNS \
	"s.id AS s_id, s.recording_id AS s_recording_id, " \
	"s.password_hash AS s_password_hash, s.created_by AS s_created_by, " \
	"s.view_count AS s_view_count, s.expires_at <= now() AS s_expired, " \
	"extract(epoch FROM s.expires_at)::bigint AS s_expires_epoch, " \
	STS("expires_at") ", " STS("revoked_at") ", " STS("created_at") ", " \
	STS("last_viewed_at") " "

/*
 * Attempts allowed before each further wrong password doubles a wait, up
 * to MAX_WAIT seconds.  The wait is 2^n in integer arithmetic with n
 * capped at MAX_SHIFT (2^10 is past MAX_WAIT), and the counter stops at
 * the largest integer: no count of tries can make the statement fail.
 */
#define FREE_TRIES	"5"
#define MAX_WAIT	"900"
#define MAX_SHIFT	"10"

/* The links of recording $1 that still work. */
#define ACTIVE \
	"FROM project_management.pm_recording_shares a " \
	"WHERE a.recording_id = $1::uuid AND a.revoked_at IS NULL " \
	"AND a.expires_at > now()"

const struct mr_db_stmt mr_db_share_stmts[] = {
	{ "share_active",
	  "SELECT count(*) AS active " ACTIVE, 1, MR_DB_RESEND },
	/*
	 * Creating a link is two statements in a transaction: the lock on
	 * the recording's row makes creations wait for each other, and the
	 * INSERT, a statement of its own, counts with a snapshot taken after
	 * the lock, so it sees every link made before.  (Within one
	 * statement the count would see the snapshot of its start.)  NO KEY:
	 * the audit log's foreign key checks need not wait.
	 */
	{ "share_lock",
	  "SELECT id FROM project_management.pm_meeting_recordings "
	  "WHERE id = $1::uuid AND deleted_at IS NULL FOR NO KEY UPDATE",
	  1, MR_DB_RESEND },
	/* $6 the most links that may work at once */
	{ "share_create",
	  "INSERT INTO project_management.pm_recording_shares AS s "
	  "(recording_id, token_sha256, password_hash, created_by, "
	  "expires_at, audit_ctx) SELECT $1::uuid, $2, $3, $4::uuid, "
	  "now() + make_interval(secs => $5::int), $7::jsonb "
	  "WHERE (SELECT count(*) " ACTIVE ") < $6::int "
	  "RETURNING " SHARE_COLUMNS, 7, MR_DB_ONCE },
	/* $1 recording, $2/$3 keyset cursor (created_at, id), $4 limit */
	{ "share_list",
	  "SELECT " SHARE_COLUMNS
	  "FROM project_management.pm_recording_shares s "
	  "WHERE s.recording_id = $1::uuid AND ($2::timestamptz IS NULL OR "
	  "(s.created_at, s.id) < ($2::timestamptz, $3::uuid)) "
	  "ORDER BY s.created_at DESC, s.id DESC LIMIT $4::int",
	  4, MR_DB_RESEND },
	{ "share_count",
	  "SELECT count(*) AS total "
	  "FROM project_management.pm_recording_shares "
	  "WHERE recording_id = $1::uuid", 1, MR_DB_RESEND },
	{ "share_revoke",
	  "UPDATE project_management.pm_recording_shares s "
	  "SET revoked_at = coalesce(s.revoked_at, now()), "
	  "audit_ctx = $3::jsonb "
	  "WHERE s.id = $2::uuid AND s.recording_id = $1::uuid "
	  "RETURNING " SHARE_COLUMNS, 3, MR_DB_RESEND },
	/* $1 share id, $2 company or NULL; not of a trashed recording */
	{ "share_get",
	  "SELECT " SHARE_COLUMNS
	  "FROM project_management.pm_recording_shares s "
	  "JOIN project_management.pm_meeting_recordings r "
	  "ON r.id = s.recording_id WHERE s.id = $1::uuid AND "
	  "r.deleted_at IS NULL AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid)", 2, MR_DB_RESEND },
	{ "share_find",
	  "SELECT " SHARE_COLUMNS ", " COLUMNS FROM
	  "JOIN project_management.pm_recording_shares s "
	  "ON s.recording_id = r.id WHERE s.token_sha256 = $1",
	  1, MR_DB_RESEND },
	{ "share_try",
	  "UPDATE project_management.pm_recording_shares SET "
	  "failed_attempts = least(failed_attempts::bigint + 1, "
	  "2147483647)::int, locked_until = CASE "
	  "  WHEN failed_attempts::bigint + 1 >= " FREE_TRIES " THEN now() + "
	  "  make_interval(secs => least(1::bigint << least("
	  "failed_attempts::bigint + 1 - " FREE_TRIES ", " MAX_SHIFT ")::int, "
	  MAX_WAIT ")) ELSE NULL END "
	  "WHERE id = $1::uuid AND (locked_until IS NULL OR "
	  "locked_until <= now()) RETURNING failed_attempts", 1, MR_DB_ONCE },
	{ "share_wait",
	  "SELECT greatest(ceil(extract(epoch FROM locked_until - now())), 1)"
	  "::bigint AS wait FROM project_management.pm_recording_shares "
	  "WHERE id = $1::uuid", 1, MR_DB_RESEND },
	/*
	 * A view forgives earlier wrong passwords.  It is counted and
	 * audited once per viewing: when it takes the viewer's mark ($4,
	 * for $5 seconds; see db_audit.c), in this same statement.  A live
	 * mark is found by a read, without locking it (the link's own row
	 * is still written: last_viewed_at, the wrong tries forgiven).
	 */
	{ "share_viewed",
	  "WITH s AS (SELECT id, recording_id "
	  "FROM project_management.pm_recording_shares "
	  "WHERE id = $1::uuid AND revoked_at IS NULL AND expires_at > now()), "
	  "m AS (INSERT INTO project_management.pm_recording_audit_marks AS k "
	  "(recording_id, action, viewer, until) SELECT recording_id, "
	  "'share_view', $4::bpchar, now() + make_interval(secs => $5::int) "
	  "FROM s WHERE NOT EXISTS (SELECT 1 "
	  "FROM project_management.pm_recording_audit_marks l "
	  "WHERE l.recording_id = s.recording_id AND l.action = 'share_view' "
	  "AND l.viewer = $4 AND l.until > now()) "
	  "ON CONFLICT (recording_id, action, viewer) DO UPDATE "
	  "SET until = excluded.until WHERE k.until <= now() "
	  "RETURNING recording_id), "
	  "u AS (UPDATE project_management.pm_recording_shares SET "
	  "view_count = view_count + (SELECT count(*) FROM m), "
	  "last_viewed_at = now(), failed_attempts = 0, locked_until = NULL "
	  "WHERE id = $1::uuid AND revoked_at IS NULL AND expires_at > now() "
	  "RETURNING id, recording_id), "
	  "l AS (INSERT INTO project_management.pm_recording_access_logs "
	  "(recording_id, action, ip_address, user_agent, share_id) "
	  "SELECT recording_id, 'share_view', $2, $3, id FROM u "
	  "WHERE EXISTS (SELECT 1 FROM m) RETURNING share_id) "
	  "SELECT id FROM u", 5, MR_DB_ONCE },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static void
fill(struct mr_arena *a, PGresult *res, int i, struct mr_share *s)
{
	s->id = mr_db_val(a, res, i, "s_id");
	s->recording_id = mr_db_val(a, res, i, "s_recording_id");
	s->password_hash = mr_db_val(a, res, i, "s_password_hash");
	s->created_by = mr_db_val(a, res, i, "s_created_by");
	s->view_count = mr_db_int(res, i, "s_view_count", 0);
	s->expired = mr_db_bool(res, i, "s_expired");
	s->expires_epoch = mr_db_int(res, i, "s_expires_epoch", 0);
	s->expires_at = mr_db_val(a, res, i, "s_expires_at");
	s->revoked_at = mr_db_val(a, res, i, "s_revoked_at");
	s->created_at = mr_db_val(a, res, i, "s_created_at");
	s->last_viewed_at = mr_db_val(a, res, i, "s_last_viewed_at");
}

/* Run name; 1 with row 0 in s (and r when asked), 0 for no row. */
static int
one(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *const *p, struct mr_share *s, struct mr_recording *r,
    struct mr_err *err)
{
	PGresult	*res;

	if ((res = mr_db_exec(db, a, name, p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	fill(a, res, 0, s);
	if (r != NULL)
		mr_db_rec_fill(a, res, 0, r);
	return 1;
}

/* How many links of recording rec_id still work; -1 on error. */
int64_t
mr_db_share_active(struct mr_db *db, struct mr_arena *a, const char *rec_id,
    struct mr_err *err)
{
	const char	*p[1] = { rec_id };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "share_active", p, err)) == NULL)
		return -1;
	return mr_db_int(res, 0, "active", 0);
}

/*
 * Create a link unless rec_id already has max_active links that work:
 * 1 created (s filled), 0 at the cap, -1 with err set (404 when the
 * recording went to the trash meanwhile).
 */
int
mr_db_share_create(struct mr_db *db, struct mr_arena *a, const char *rec_id,
    const char *token_sha256, const char *password_hash,
    const char *created_by, int64_t expires_in, int64_t max_active,
    struct mr_share *s, struct mr_err *err)
{
	const char	*p[7];
	PGresult	*res;
	int		 rc;

	p[0] = rec_id;
	p[1] = token_sha256;
	p[2] = password_hash;
	p[3] = created_by;
	p[4] = mr_printf(a, "%lld", (long long)expires_in);
	p[5] = mr_printf(a, "%lld", (long long)max_active);
	p[6] = mr_db_actor(db);
	if (p[4] == NULL || p[5] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (mr_db_begin(db, err) == -1)
		return -1;
	if ((res = mr_db_exec(db, a, "share_lock", p, err)) == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		mr_err_set(err, 404, "recording_not_found",
		    "Recording not found.");
		goto fail;
	}
	if ((rc = one(db, a, "share_create", p, s, NULL, err)) == -1)
		goto fail;
	if (mr_db_commit(db, err) == -1)
		return -1;
	return rc;
fail:
	mr_db_rollback(db);
	return -1;
}

/*
 * One page of rec_id's share links, newest first: at most limit after
 * the keyset cursor (cursor_ts, cursor_id; NULL for the first page), and
 * how many the recording has in all.
 */
int
mr_db_share_list(struct mr_db *db, struct mr_arena *a, const char *rec_id,
    const char *cursor_ts, const char *cursor_id, int64_t limit,
    struct mr_share **out, int *n, int64_t *total, struct mr_err *err)
{
	const char	*p[4];
	PGresult	*res;

	p[0] = rec_id;
	p[1] = cursor_ts;
	p[2] = cursor_id;
	if ((p[3] = mr_printf(a, "%lld", (long long)limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "share_count", p, err)) == NULL)
		return -1;
	*total = mr_db_int(res, 0, "total", 0);
	if ((res = mr_db_exec(db, a, "share_list", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++)
		fill(a, res, i, &(*out)[i]);
	return 1;
}

int
mr_db_share_revoke(struct mr_db *db, struct mr_arena *a, const char *rec_id,
    const char *share_id, struct mr_share *s, struct mr_err *err)
{
	const char	*p[3] = { rec_id, share_id, mr_db_actor(db) };

	return one(db, a, "share_revoke", p, s, NULL, err);
}

int
mr_db_share_get(struct mr_db *db, struct mr_arena *a, const char *share_id,
    const char *company, struct mr_share *s, struct mr_err *err)
{
	const char	*p[2] = { share_id, company };

	return one(db, a, "share_get", p, s, NULL, err);
}

int
mr_db_share_find(struct mr_db *db, struct mr_arena *a,
    const char *token_sha256, struct mr_share *s, struct mr_recording *r,
    struct mr_err *err)
{
	const char	*p[1] = { token_sha256 };

	return one(db, a, "share_find", p, s, r, err);
}

int
mr_db_share_try(struct mr_db *db, struct mr_arena *a, const char *share_id,
    int64_t *wait_s, struct mr_err *err)
{
	const char	*p[1] = { share_id };
	PGresult	*res;

	*wait_s = 0;
	if ((res = mr_db_exec(db, a, "share_try", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 1)
		return 1;
	if ((res = mr_db_exec(db, a, "share_wait", p, err)) == NULL)
		return -1;
	*wait_s = PQntuples(res) == 1 ? mr_db_int(res, 0, "wait", 1) : 1;
	return 0;
}

int
mr_db_share_viewed(struct mr_db *db, struct mr_arena *a,
    const char *share_id, const char *ip, const char *agent,
    int64_t window_s, struct mr_err *err)
{
	struct mr_audit	 au;
	const char	*p[5];
	PGresult	*res;

	memset(&au, 0, sizeof(au));
	au.share_id = share_id;
	au.ip = ip;
	au.agent = agent;
	p[0] = share_id;
	p[1] = ip;
	if ((p[2] = mr_db_audit_agent(a, agent)) == NULL ||
	    (p[3] = mr_db_audit_viewer(a, &au, p[2])) == NULL ||
	    (p[4] = mr_printf(a, "%lld", (long long)window_s)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "share_viewed", p, err)) == NULL)
		return -1;
	return PQntuples(res) == 1;
}
