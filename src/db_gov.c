/* SPDX-License-Identifier: ISC */
/*
 * db_gov.c - legal holds, retention, each company's policy, and reading
 * the audit trail (sql/011_governance.sql).  Every change here goes
 * through the row it changes, with the actor (mr_db_set_actor) in
 * audit_ctx, so the trigger writes its audit row in the same statement.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "db_sql.h"
#include "model.h"

#define REC	"project_management.pm_meeting_recordings"
#define POL	"project_management.pm_company_policies"
#define LOGS	"project_management.pm_recording_access_logs"
#define UTC(e)	"to_char((" e ") AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
/*
 * A reaper deleting the recording's files: its expire or purge pass
 * holds the row, and holding it now would come too late.
 */
#define DELETING \
	"(r.lease_until IS NOT NULL AND r.lease_until > now() AND " \
	"(r.deleted_at IS NOT NULL OR r.expires_at < now()))"

const struct mr_db_stmt mr_db_gov_stmts[] = {
	/*
	 * $1 id, $2 company (NULL: any), $3 reason, $4 who (or NULL), $5
	 * actor.  The trash included: a hold stops the purge.
	 */
	{ "gov_hold",
	  "WITH t AS (SELECT r.id, r.legal_hold_at IS NOT NULL AS held, "
	  DELETING " AS busy FROM " REC " r WHERE r.id = $1::uuid AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid) FOR UPDATE), "
	  "u AS (UPDATE " REC " r SET legal_hold_at = now(), "
	  "legal_hold_reason = $3, legal_hold_by = $4::uuid, "
	  "audit_ctx = $5::jsonb FROM t WHERE r.id = t.id AND NOT t.held "
	  "AND NOT t.busy RETURNING r.id) "
	  "SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'held' "
	  "WHEN t.held THEN 'already_held' ELSE 'busy' END AS outcome FROM t",
	  5, MR_DB_ONCE },
	/* $1 id, $2 company (NULL: any), $3 actor */
	{ "gov_release",
	  "WITH t AS (SELECT r.id, r.legal_hold_at IS NOT NULL AS held "
	  "FROM " REC " r WHERE r.id = $1::uuid AND "
	  "($2::uuid IS NULL OR r.company_id = $2::uuid) FOR UPDATE), "
	  "u AS (UPDATE " REC " r SET legal_hold_at = NULL, "
	  "legal_hold_reason = NULL, legal_hold_by = NULL, "
	  "audit_ctx = $3::jsonb FROM t WHERE r.id = t.id AND t.held "
	  "RETURNING r.id) "
	  "SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'released' "
	  "ELSE 'not_held' END AS outcome FROM t", 3, MR_DB_ONCE },
	/*
	 * $1 id, $2 company, $3 expires_at or NULL (for ever), $4 actor.
	 * The company's bound counts from when the recording was made.
	 */
	{ "gov_retention",
	  "WITH t AS (SELECT r.id, r.created_at, "
	  "coalesce(p.retention_max_days, 0) AS max_days, " DELETING
	  " AS busy FROM " REC " r LEFT JOIN " POL " p ON p.company_id = "
	  "r.company_id WHERE r.id = $1::uuid AND r.company_id = $2::uuid "
	  "AND r.deleted_at IS NULL FOR UPDATE OF r), "
	  "v AS (SELECT t.*, CASE WHEN t.busy THEN 'busy' "
	  "WHEN $3::timestamptz IS NOT NULL AND $3::timestamptz <= now() "
	  "THEN 'past' WHEN t.max_days > 0 AND $3::timestamptz IS NULL "
	  "THEN 'forever' WHEN t.max_days > 0 AND $3::timestamptz > "
	  "t.created_at + make_interval(days => t.max_days) THEN 'beyond' "
	  "ELSE 'set' END AS outcome FROM t), "
	  "u AS (UPDATE " REC " r SET expires_at = $3::timestamptz, "
	  "audit_ctx = $4::jsonb FROM v WHERE r.id = v.id AND "
	  "v.outcome = 'set' RETURNING r.id) "
	  "SELECT v.outcome, v.max_days, "
	  UTC("v.created_at + make_interval(days => v.max_days)")
	  " AS latest FROM v", 4, MR_DB_ONCE },
	/*
	 * $1 company, $2 held by (or NULL), $3 room code (or NULL), $4/$5
	 * keyset cursor (legal_hold_at, id), $6 limit.  Newest hold first.
	 */
	{ "gov_holds",
	  "SELECT " COLUMNS ", r.company_id AS held_company " FROM
	  "WHERE ($1::uuid IS NULL OR r.company_id = $1::uuid) AND "
	  "r.legal_hold_at IS NOT NULL AND "
	  "($2::uuid IS NULL OR r.legal_hold_by = $2::uuid) AND "
	  "($3::text IS NULL OR r.room_code = $3) AND "
	  "($4::timestamptz IS NULL OR (r.legal_hold_at, r.id) < "
	  "($4::timestamptz, $5::uuid)) "
	  "ORDER BY r.legal_hold_at DESC, r.id DESC LIMIT $6::int",
	  6, MR_DB_RESEND },
	{ "gov_policy_get",
	  "SELECT p.retention_default_days, p.retention_max_days, "
	  "p.auto_share, " UTC("p.updated_at") " AS updated_at "
	  "FROM " POL " p WHERE p.company_id = $1::uuid", 1, MR_DB_RESEND },
	/*
	 * $1 company, $2 default days (NULL: meetrec.conf's), $3 max days
	 * (NULL: none), $4 auto_share, $5 actor.  The change is an audit
	 * row of the company's (no recording).
	 */
	{ "gov_policy_set",
	  "WITH u AS (INSERT INTO " POL " AS p (company_id, "
	  "retention_default_days, retention_max_days, auto_share) VALUES "
	  "($1::uuid, $2::int, $3::int, $4) ON CONFLICT (company_id) DO "
	  "UPDATE SET retention_default_days = excluded.retention_default_days, "
	  "retention_max_days = excluded.retention_max_days, "
	  "auto_share = excluded.auto_share, updated_at = now() "
	  "RETURNING p.*), "
	  "a AS (INSERT INTO " LOGS " (company_id, user_id, user_email, "
	  "action, ip_address, user_agent, detail) SELECT u.company_id, "
	  "($5::jsonb->>'user_id')::uuid, $5::jsonb->>'email', 'policy', "
	  "$5::jsonb->>'ip', $5::jsonb->>'agent', jsonb_build_object("
	  "'retention_default_days', u.retention_default_days, "
	  "'retention_max_days', u.retention_max_days, 'auto_share', "
	  "u.auto_share) FROM u) "
	  "SELECT u.retention_default_days, u.retention_max_days, "
	  "u.auto_share, " UTC("u.updated_at") " AS updated_at FROM u",
	  5, MR_DB_ONCE },
	/*
	 * One page of a company's audit trail, newest first: $1 company,
	 * $2 user, $3 recording, $4 action, $5 from, $6 to (each NULL for
	 * any), $7 before this seq (NULL: from the newest), $8 limit.
	 */
	{ "gov_audit",
	  "SELECT l.seq, l.id, l.company_id, l.recording_id, l.user_id, "
	  "l.user_email, l.action, l.ip_address, l.user_agent, l.share_id, "
	  UTC("l.accessed_at") " AS accessed_at, l.detail::text AS detail, "
	  "l.prev_hash, l.row_hash FROM " LOGS " l "
	  "WHERE l.company_id = $1::uuid AND "
	  "($2::uuid IS NULL OR l.user_id = $2::uuid) AND "
	  "($3::uuid IS NULL OR l.recording_id = $3::uuid) AND "
	  "($4::text IS NULL OR l.action = $4) AND "
	  "($5::timestamptz IS NULL OR l.accessed_at >= $5::timestamptz) AND "
	  "($6::timestamptz IS NULL OR l.accessed_at < $6::timestamptz) AND "
	  "($7::bigint IS NULL OR l.seq < $7::bigint) "
	  "ORDER BY l.seq DESC LIMIT $8::int", 8, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

/*
 * Run statement name, whose one row (when the recording exists) says
 * what became of it in outcome; the row stays in *row for more.  1 with
 * *outcome set, 0 when the recording does not exist, -1 error.
 */
static int
outcome(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *const *p, const char **out, PGresult **row,
    struct mr_err *err)
{
	PGresult	*res;

	if ((res = mr_db_exec(db, a, name, p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	if ((*out = mr_db_val(a, res, 0, "outcome")) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (row != NULL)
		*row = res;
	return 1;
}

/*
 * Put recording id (of company, NULL for any) on legal hold for reason,
 * by user (NULL at the shell).  *out: "held", "already_held" or "busy"
 * (a reaper is deleting its files).  1 when the recording exists, 0
 * when not, -1 error.
 */
int
mr_db_gov_hold(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char *reason, const char *user,
    const char **out, struct mr_err *err)
{
	const char	*p[] = { id, company, reason, user, mr_db_actor(db) };

	return outcome(db, a, "gov_hold", p, out, NULL, err);
}

/* The same for the release: *out "released" or "not_held". */
int
mr_db_gov_release(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char **out, struct mr_err *err)
{
	const char	*p[] = { id, company, mr_db_actor(db) };

	return outcome(db, a, "gov_release", p, out, NULL, err);
}

/*
 * Set recording id's expires_at (ISO 8601 text; NULL: kept for ever).
 * *out: "set", "past", "forever" or "beyond" (refused by the company's
 * bound of *max_days, at the latest *latest) or "busy".  1 when the
 * live recording exists, 0 when not, -1 error.
 */
int
mr_db_gov_retention(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char *expires_at, const char **out,
    int64_t *max_days, const char **latest, struct mr_err *err)
{
	const char	*p[] = { id, company, expires_at, mr_db_actor(db) };
	PGresult	*res;
	int		 rc;

	if ((rc = outcome(db, a, "gov_retention", p, out, &res, err)) != 1)
		return rc;
	*max_days = mr_db_int(res, 0, "max_days", 0);
	*latest = mr_db_val(a, res, 0, "latest");
	return 1;
}

/*
 * One page of company's recordings on hold, newest hold first, after the
 * keyset cursor (cursor_at, cursor_id; NULL for the first page); held_by
 * and room filter (NULL: any).  Rows in *out (a), their count in *n.
 */
int
mr_db_gov_holds(struct mr_db *db, struct mr_arena *a, const char *company,
    const char *held_by, const char *room, const char *cursor_at,
    const char *cursor_id, int64_t limit, struct mr_recording **out,
    int *n, struct mr_err *err)
{
	const char	*p[] = { company, held_by, room, cursor_at, cursor_id,
	    num(a, limit) };
	PGresult	*res;

	if (p[5] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "gov_holds", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++)
		mr_db_rec_fill(a, res, i, &(*out)[i]);
	return 0;
}

static void
policy_fill(struct mr_arena *a, PGresult *res, struct mr_policy *p)
{
	p->retention_default_days = mr_db_int(res, 0,
	    "retention_default_days", -1);
	p->retention_max_days = mr_db_int(res, 0, "retention_max_days", 0);
	p->auto_share = mr_db_val(a, res, 0, "auto_share");
	p->updated_at = mr_db_val(a, res, 0, "updated_at");
}

/*
 * company's policy; one never set is the defaults (every field unset,
 * updated_at NULL).  0 or -1.
 */
int
mr_db_gov_policy_get(struct mr_db *db, struct mr_arena *a,
    const char *company, struct mr_policy *p, struct mr_err *err)
{
	const char	*q[] = { company };
	PGresult	*res;

	memset(p, 0, sizeof(*p));
	p->retention_default_days = -1;
	p->auto_share = "none";
	if ((res = mr_db_exec(db, a, "gov_policy_get", q, err)) == NULL)
		return -1;
	if (PQntuples(res) == 1)
		policy_fill(a, res, p);
	if (p->auto_share == NULL)
		p->auto_share = "none";
	return 0;
}

/* Set company's policy to p (filled with what it became); 0 or -1. */
int
mr_db_gov_policy_set(struct mr_db *db, struct mr_arena *a,
    const char *company, struct mr_policy *p, struct mr_err *err)
{
	const char	*q[5];
	PGresult	*res;

	q[0] = company;
	q[1] = p->retention_default_days < 0 ? NULL :
	    num(a, p->retention_default_days);
	q[2] = p->retention_max_days <= 0 ? NULL :
	    num(a, p->retention_max_days);
	q[3] = p->auto_share;
	q[4] = mr_db_actor(db);
	if ((res = mr_db_exec(db, a, "gov_policy_set", q, err)) == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return mr_err_set(err, 500, "internal",
		    "The policy was not written.");
	policy_fill(a, res, p);
	return 0;
}

/* One page of the audit trail (struct mr_audit_filter); 0 or -1. */
int
mr_db_gov_audit(struct mr_db *db, struct mr_arena *a,
    const struct mr_audit_filter *f, struct mr_audit_row **out, int *n,
    struct mr_err *err)
{
	const char	*p[8];
	PGresult	*res;
	struct mr_audit_row *r;

	p[0] = f->company;
	p[1] = f->user;
	p[2] = f->recording;
	p[3] = f->action;
	p[4] = f->from;
	p[5] = f->to;
	p[6] = f->before > 0 ? num(a, f->before) : NULL;
	p[7] = num(a, f->limit);
	if (p[7] == NULL || (f->before > 0 && p[6] == NULL))
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "gov_audit", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++) {
		r = &(*out)[i];
		r->seq = mr_db_int(res, i, "seq", 0);
		r->id = mr_db_val(a, res, i, "id");
		r->company_id = mr_db_val(a, res, i, "company_id");
		r->recording_id = mr_db_val(a, res, i, "recording_id");
		r->user_id = mr_db_val(a, res, i, "user_id");
		r->user_email = mr_db_val(a, res, i, "user_email");
		r->action = mr_db_val(a, res, i, "action");
		r->ip = mr_db_val(a, res, i, "ip_address");
		r->agent = mr_db_val(a, res, i, "user_agent");
		r->share_id = mr_db_val(a, res, i, "share_id");
		r->at = mr_db_val(a, res, i, "accessed_at");
		r->detail = mr_db_val(a, res, i, "detail");
		r->prev_hash = mr_db_val(a, res, i, "prev_hash");
		r->row_hash = mr_db_val(a, res, i, "row_hash");
	}
	return 0;
}
