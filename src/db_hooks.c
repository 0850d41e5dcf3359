/* SPDX-License-Identifier: ISC */
/*
 * db_hooks.c - the endpoints integrators register, the deliveries of
 * events to them and the events themselves (sql/013_webhooks.sql).
 * Changes to an endpoint are audit rows of the company (action webhook)
 * written by the statement that makes them.  A reaper sends an
 * endpoint's deliveries while it holds the endpoint's lease; every write
 * of a delivery's outcome checks the lease, so a reaper whose lease ran
 * out cannot record over the one that took it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "events.h"
#include "hooks.h"

#define EP	"project_management.pm_webhook_endpoints"
#define DL	"project_management.pm_webhook_deliveries"
#define AT	"project_management.pm_webhook_attempts"
#define LOGS	"project_management.pm_recording_access_logs"
#define REC	"project_management.pm_meeting_recordings"
#define UTC(e)	"to_char((" e ") AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define EP_COLUMNS \
	"e.id, e.company_id, e.url, e.description, e.events::text AS events, " \
	"e.enabled, e.disabled_reason, " UTC("e.disabled_at") \
	" AS disabled_at, e.failures, " UTC("e.next_attempt_at") \
	" AS next_attempt_at, " UTC("e.created_at") " AS created_at, " \
	UTC("e.updated_at") " AS updated_at, e.created_by, " \
	"(e.old_secret_until > now()) AS rotating, " \
	"(SELECT count(*) FROM " DL " d WHERE d.endpoint_id = e.id AND " \
	"d.status = 'pending') AS pending "
/*
 * The audit row of a change to an endpoint (u, one row with the
 * endpoint's id, company_id and url): $A the actor, op what was done.
 */
#define AUDIT(actor, op) \
	"a AS (INSERT INTO " LOGS " (company_id, user_id, user_email, " \
	"action, ip_address, user_agent, detail) SELECT u.company_id, " \
	"(" actor "::jsonb->>'user_id')::uuid, " actor "::jsonb->>'email', " \
	"'webhook', " actor "::jsonb->>'ip', " actor "::jsonb->>'agent', " \
	"jsonb_build_object('op', " op ", 'endpoint_id', u.id, 'url', " \
	"u.url) FROM u) "
/* An event: its audit row and what is known of its recording now. */
#define EV_COLUMNS \
	"l.id AS event_id, l.seq, l.action, " UTC("l.accessed_at") " AS at, " \
	"l.company_id, l.recording_id, r.room_code, l.user_id, " \
	"l.user_email, l.share_id, l.detail::text AS detail, " \
	"coalesce(r.deleted_at IS NULL AND r.status = 'completed' AND " \
	"r.storage_path IS NOT NULL, false) AS downloadable "

const struct mr_db_stmt mr_db_hooks_stmts[] = {
	/*
	 * $1 company, $2 url, $3 description, $4 events (text[]), $5
	 * secret, $6 created by, $7 the most a company may have, $8 actor
	 */
	{ "hk_create",
	  "WITH u AS (INSERT INTO " EP " AS e (company_id, url, description, "
	  "events, secret, created_by) SELECT $1::uuid, $2, $3, $4::text[], "
	  "$5, $6::uuid WHERE (SELECT count(*) FROM " EP " WHERE "
	  "company_id = $1::uuid) < $7::int RETURNING e.*), "
	  AUDIT("$8", "'created'")
	  "SELECT " EP_COLUMNS "FROM u e", 8, MR_DB_ONCE },
	{ "hk_list",
	  "SELECT " EP_COLUMNS "FROM " EP " e WHERE e.company_id = $1::uuid "
	  "ORDER BY e.created_at, e.id", 1, MR_DB_RESEND },
	{ "hk_get",
	  "SELECT " EP_COLUMNS "FROM " EP " e WHERE e.id = $1::uuid AND "
	  "e.company_id = $2::uuid", 2, MR_DB_RESEND },
	/*
	 * $1 id, $2 company, $3 url, $4 description, $5 events, $6
	 * enabled (each NULL to keep), $7 actor.  Enabled again, it starts
	 * afresh: no failures counted, the first pending delivery now.
	 */
	{ "hk_update",
	  "WITH u AS (UPDATE " EP " e SET url = coalesce($3, e.url), "
	  "description = coalesce($4, e.description), "
	  "events = coalesce($5::text[], e.events), "
	  "enabled = coalesce($6::boolean, e.enabled), "
	  "disabled_reason = CASE WHEN $6::boolean THEN NULL "
	  "  WHEN NOT $6::boolean AND e.enabled THEN 'disabled by an admin' "
	  "  ELSE e.disabled_reason END, "
	  "disabled_at = CASE WHEN $6::boolean THEN NULL "
	  "  WHEN NOT $6::boolean AND e.enabled THEN now() "
	  "  ELSE e.disabled_at END, "
	  "failures = CASE WHEN $6::boolean THEN 0 ELSE e.failures END, "
	  "next_attempt_at = CASE WHEN $6::boolean THEN NULL "
	  "  ELSE e.next_attempt_at END, updated_at = now() "
	  "WHERE e.id = $1::uuid AND e.company_id = $2::uuid RETURNING e.*), "
	  AUDIT("$7", "CASE WHEN $6::boolean THEN 'enabled' WHEN NOT "
	  "$6::boolean THEN 'disabled' ELSE 'changed' END")
	  "SELECT " EP_COLUMNS "FROM u e", 7, MR_DB_ONCE },
	/* $1 id, $2 company, $3 new secret, $4 hours the old one signs, $5 actor */
	{ "hk_rotate",
	  "WITH u AS (UPDATE " EP " e SET old_secret = e.secret, "
	  "old_secret_until = now() + make_interval(hours => $4::int), "
	  "secret = $3, updated_at = now() WHERE e.id = $1::uuid AND "
	  "e.company_id = $2::uuid RETURNING e.*), "
	  AUDIT("$5", "'rotated'")
	  "SELECT " EP_COLUMNS "FROM u e", 5, MR_DB_ONCE },
	/* $1 id, $2 company, $3 actor */
	{ "hk_delete",
	  "WITH u AS (DELETE FROM " EP " e WHERE e.id = $1::uuid AND "
	  "e.company_id = $2::uuid RETURNING e.*), "
	  AUDIT("$3", "'deleted'")
	  "SELECT u.id FROM u", 3, MR_DB_ONCE },
	/*
	 * $1 owner, $2 lease seconds, $3 how many.  Endpoints that are on,
	 * due, free, with something to send.
	 */
	{ "hk_claim",
	  "WITH c AS (SELECT e.id FROM " EP " e WHERE e.enabled AND "
	  "(e.next_attempt_at IS NULL OR e.next_attempt_at <= now()) AND "
	  "(e.lease_until IS NULL OR e.lease_until < now()) AND EXISTS "
	  "(SELECT 1 FROM " DL " d WHERE d.endpoint_id = e.id AND "
	  "d.status = 'pending') ORDER BY e.next_attempt_at NULLS FIRST, e.id "
	  "LIMIT $3::int FOR UPDATE SKIP LOCKED) "
	  "UPDATE " EP " e SET lease_owner = $1, lease_until = now() + "
	  "make_interval(secs => $2::int) FROM c WHERE e.id = c.id "
	  "RETURNING e.id, e.company_id, e.url, e.secret, CASE WHEN "
	  "e.old_secret_until > now() THEN e.old_secret END AS old_secret, "
	  "e.failures", 3, MR_DB_ONCE },
	/* $1 endpoint: its first pending delivery, in the chain's order */
	{ "hk_next",
	  "SELECT d.id AS delivery_id, d.event_type, d.attempts, "
	  "extract(epoch FROM now() - d.created_at)::bigint AS age, "
	  EV_COLUMNS "FROM " DL " d JOIN " LOGS " l ON l.company_id = "
	  "d.company_id AND l.seq = d.event_seq LEFT JOIN " REC " r ON "
	  "r.id = l.recording_id WHERE d.endpoint_id = $1::uuid AND "
	  "d.status = 'pending' ORDER BY d.event_seq LIMIT 1",
	  1, MR_DB_RESEND },
	/*
	 * The outcome of an attempt: $1 delivery, $2 endpoint, $3 owner,
	 * $4 HTTP status (NULL: none), $5 latency ms, $6 excerpt of the
	 * answer, $7 error, $8 delivered, $9 given up, $10 seconds to the
	 * next try, $11 failures that disable, $12 the receiver said gone.
	 * Not ours any more: no row.
	 */
	{ "hk_attempt",
	  "WITH e AS (SELECT id, failures FROM " EP " WHERE id = $2::uuid AND "
	  "lease_owner = $3 FOR UPDATE), "
	  "a AS (INSERT INTO " AT " (delivery_id, status, latency_ms, "
	  "response, error) SELECT $1::bigint, $4::int, $5::int, $6, $7 "
	  "FROM e), "
	  "d AS (UPDATE " DL " SET attempts = attempts + 1, last_status = "
	  "$4::int, last_error = $7, status = CASE WHEN $8::boolean THEN "
	  "'delivered' WHEN $9::boolean THEN 'failed' ELSE status END, "
	  "finished_at = CASE WHEN $8::boolean OR $9::boolean THEN now() END "
	  "FROM e WHERE " DL ".id = $1::bigint) "
	  "UPDATE " EP " x SET failures = CASE WHEN $8::boolean THEN 0 "
	  "  ELSE e.failures + 1 END, "
	  "next_attempt_at = CASE WHEN $8::boolean THEN NULL "
	  "  ELSE now() + make_interval(secs => $10::int) END, "
	  "enabled = NOT ($12::boolean OR (NOT $8::boolean AND "
	  "  e.failures + 1 >= $11::int)), "
	  "disabled_reason = CASE WHEN $12::boolean THEN "
	  "  'the receiver answered 410 Gone' WHEN NOT $8::boolean AND "
	  "  e.failures + 1 >= $11::int THEN e.failures + 1 || "
	  "  ' attempts failed in a row' END, "
	  "disabled_at = CASE WHEN $12::boolean OR (NOT $8::boolean AND "
	  "  e.failures + 1 >= $11::int) THEN now() END "
	  "FROM e WHERE x.id = e.id RETURNING x.enabled, x.failures, "
	  "x.disabled_reason, x.company_id, x.url", 12, MR_DB_ONCE },
	/* $1 endpoint, $2 company, $3 why: the audit row of a reaper's disabling */
	{ "hk_disabled",
	  "INSERT INTO " LOGS " (company_id, action, detail) VALUES "
	  "($2::uuid, 'webhook', jsonb_build_object('op', 'disabled', "
	  "'endpoint_id', $1::uuid, 'reason', $3::text))", 3, MR_DB_ONCE },
	{ "hk_renew",
	  "UPDATE " EP " SET lease_until = now() + make_interval(secs => "
	  "$3::int) WHERE id = $1::uuid AND lease_owner = $2",
	  3, MR_DB_RESEND },
	{ "hk_release",
	  "UPDATE " EP " SET lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1::uuid AND lease_owner = $2", 2, MR_DB_RESEND },
	/* $1 company, $2 after this seq, $3 limit: GET /api/events */
	{ "hk_events",
	  "SELECT " EV_COLUMNS "FROM " LOGS " l LEFT JOIN " REC " r ON "
	  "r.id = l.recording_id WHERE l.company_id = $1::uuid AND "
	  "l.seq > $2::bigint AND l.action IN " MR_EVENT_ACTIONS
	  " ORDER BY l.seq LIMIT $3::int", 3, MR_DB_RESEND },
	/*
	 * $1 endpoint, $2 company, $3 status (NULL: any), $4 below this id
	 * (NULL: from the newest), $5 limit.  Each with its last attempt.
	 */
	{ "hk_deliveries",
	  "SELECT d.id, d.event_id, d.event_seq, d.event_type, d.status, "
	  "d.attempts, d.last_status, d.last_error, " UTC("d.created_at")
	  " AS created_at, " UTC("d.finished_at") " AS finished_at, "
	  "t.latency_ms, t.response, " UTC("t.at") " AS attempted_at "
	  "FROM " DL " d LEFT JOIN LATERAL (SELECT * FROM " AT " t WHERE "
	  "t.delivery_id = d.id ORDER BY t.id DESC LIMIT 1) t ON true "
	  "WHERE d.endpoint_id = $1::uuid AND d.company_id = $2::uuid AND "
	  "($3::text IS NULL OR d.status = $3) AND "
	  "($4::bigint IS NULL OR d.id < $4::bigint) "
	  "ORDER BY d.id DESC LIMIT $5::int", 5, MR_DB_RESEND },
	/* $1 delivery, $2 endpoint, $3 company: once more, now */
	{ "hk_redeliver",
	  "WITH u AS (UPDATE " DL " d SET status = 'pending', finished_at = "
	  "NULL WHERE d.id = $1::bigint AND d.endpoint_id = $2::uuid AND "
	  "d.company_id = $3::uuid RETURNING d.id), "
	  "w AS (UPDATE " EP " e SET next_attempt_at = NULL FROM u WHERE "
	  "e.id = $2::uuid AND e.enabled) "
	  "SELECT u.id, pg_notify('meetrec_hooks', '') FROM u",
	  3, MR_DB_ONCE },
	/* $1 days kept, $2 how many: finished deliveries gone by */
	{ "hk_prune",
	  "DELETE FROM " DL " WHERE id IN (SELECT id FROM " DL " WHERE "
	  "finished_at < now() - make_interval(days => $1::int) "
	  "LIMIT $2::int)", 2, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

static void
ep_fill(struct mr_arena *a, PGresult *res, int i, struct mr_hook_ep *e)
{
	memset(e, 0, sizeof(*e));
	e->id = mr_db_val(a, res, i, "id");
	e->company_id = mr_db_val(a, res, i, "company_id");
	e->url = mr_db_val(a, res, i, "url");
	e->description = mr_db_val(a, res, i, "description");
	e->events = mr_db_val(a, res, i, "events");
	e->enabled = mr_db_bool(res, i, "enabled");
	e->disabled_reason = mr_db_val(a, res, i, "disabled_reason");
	e->disabled_at = mr_db_val(a, res, i, "disabled_at");
	e->failures = mr_db_int(res, i, "failures", 0);
	e->next_attempt_at = mr_db_val(a, res, i, "next_attempt_at");
	e->created_at = mr_db_val(a, res, i, "created_at");
	e->updated_at = mr_db_val(a, res, i, "updated_at");
	e->created_by = mr_db_val(a, res, i, "created_by");
	e->rotating = mr_db_bool(res, i, "rotating");
	e->pending = mr_db_int(res, i, "pending", 0);
	e->secret = mr_db_val(a, res, i, "secret");
	e->old_secret = mr_db_val(a, res, i, "old_secret");
}

/* One endpoint from statement name; 1, 0 when none, -1. */
static int
one(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *const *p, struct mr_hook_ep *e, struct mr_err *err)
{
	PGresult	*res;

	if ((res = mr_db_exec(db, a, name, p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	ep_fill(a, res, 0, e);
	return 1;
}

/*
 * A new endpoint of company; 1, 0 when the company has max already, -1.
 * events: PostgreSQL array text ("{}" for every event).
 */
int
mr_db_hook_create(struct mr_db *db, struct mr_arena *a, const char *company,
    const char *url, const char *description, const char *events,
    const char *secret, const char *by, int64_t max, struct mr_hook_ep *e,
    struct mr_err *err)
{
	const char	*p[] = { company, url, description, events, secret, by,
	    num(a, max), mr_db_actor(db) };

	if (p[6] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return one(db, a, "hk_create", p, e, err);
}

/* company's endpoints into *out (a), their count in *n; 0 or -1. */
int
mr_db_hook_list(struct mr_db *db, struct mr_arena *a, const char *company,
    struct mr_hook_ep **out, int *n, struct mr_err *err)
{
	const char	*p[] = { company };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "hk_list", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++)
		ep_fill(a, res, i, &(*out)[i]);
	return 0;
}

int
mr_db_hook_get(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, struct mr_hook_ep *e, struct mr_err *err)
{
	const char	*p[] = { id, company };

	return one(db, a, "hk_get", p, e, err);
}

/* Change what is not NULL (enabled: -1 keeps it); 1, 0 none, -1. */
int
mr_db_hook_update(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char *url, const char *description,
    const char *events, int enabled, struct mr_hook_ep *e,
    struct mr_err *err)
{
	const char	*p[] = { id, company, url, description, events,
	    enabled < 0 ? NULL : enabled ? "true" : "false",
	    mr_db_actor(db) };

	return one(db, a, "hk_update", p, e, err);
}

/* A new secret; the old one signs for hours more.  1, 0 none, -1. */
int
mr_db_hook_rotate(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char *secret, int64_t hours,
    struct mr_hook_ep *e, struct mr_err *err)
{
	const char	*p[] = { id, company, secret, num(a, hours),
	    mr_db_actor(db) };

	if (p[3] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return one(db, a, "hk_rotate", p, e, err);
}

int
mr_db_hook_delete(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, struct mr_err *err)
{
	const char	*p[] = { id, company, mr_db_actor(db) };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "hk_delete", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

/* Claim up to n endpoints with something due; their count, or -1. */
int
mr_db_hook_claim(struct mr_db *db, struct mr_arena *a, const char *owner,
    int64_t lease_s, int n, struct mr_hook_ep **out, struct mr_err *err)
{
	const char	*p[] = { owner, num(a, lease_s), num(a, n) };
	PGresult	*res;
	int		 got;

	if (p[1] == NULL || p[2] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_claim", p, err)) == NULL)
		return -1;
	got = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)got + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < got; i++)
		ep_fill(a, res, i, &(*out)[i]);
	return got;
}

static void
ev_fill(struct mr_arena *a, PGresult *res, int i, struct mr_event *ev,
    int *downloadable)
{
	const char	*action;

	memset(ev, 0, sizeof(*ev));
	ev->id = mr_db_val(a, res, i, "event_id");
	ev->seq = mr_db_int(res, i, "seq", 0);
	action = mr_db_val(a, res, i, "action");
	ev->type = action != NULL ? mr_event_type(action) : NULL;
	ev->at = mr_db_val(a, res, i, "at");
	ev->company_id = mr_db_val(a, res, i, "company_id");
	ev->recording_id = mr_db_val(a, res, i, "recording_id");
	ev->room_code = mr_db_val(a, res, i, "room_code");
	ev->user_id = mr_db_val(a, res, i, "user_id");
	ev->user_email = mr_db_val(a, res, i, "user_email");
	ev->share_id = mr_db_val(a, res, i, "share_id");
	ev->detail = mr_db_val(a, res, i, "detail");
	*downloadable = mr_db_bool(res, i, "downloadable");
}

/* The endpoint's next delivery; 1, 0 when none is pending, -1. */
int
mr_db_hook_next(struct mr_db *db, struct mr_arena *a, const char *endpoint,
    struct mr_hook_delivery *d, struct mr_err *err)
{
	const char	*p[] = { endpoint };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "hk_next", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	memset(d, 0, sizeof(*d));
	d->id = mr_db_int(res, 0, "delivery_id", 0);
	d->attempts = mr_db_int(res, 0, "attempts", 0);
	d->age_s = mr_db_int(res, 0, "age", 0);
	ev_fill(a, res, 0, &d->ev, &d->downloadable);
	if (d->ev.type == NULL || d->ev.id == NULL)
		return mr_err_set(err, 500, "internal",
		    "A delivery names no event meetrec sends.");
	return 1;
}

/*
 * The outcome of an attempt at d for endpoint e (struct
 * mr_hook_outcome).  1 recorded (*enabled: the endpoint is still on), 0
 * when the lease was lost, -1.
 */
int
mr_db_hook_attempt(struct mr_db *db, struct mr_arena *a, const char *owner,
    const struct mr_hook_ep *e, const struct mr_hook_delivery *d,
    const struct mr_hook_outcome *o, int *enabled, struct mr_err *err)
{
	const char	*p[12];
	PGresult	*res;

	p[0] = num(a, d->id);
	p[1] = e->id;
	p[2] = owner;
	p[3] = o->status > 0 ? num(a, o->status) : NULL;
	p[4] = num(a, o->latency_ms);
	p[5] = o->response;
	p[6] = o->error;
	p[7] = o->delivered ? "true" : "false";
	p[8] = o->give_up ? "true" : "false";
	p[9] = num(a, o->backoff_s);
	p[10] = num(a, o->disable_after);
	p[11] = o->gone ? "true" : "false";
	if (p[0] == NULL || p[4] == NULL || p[9] == NULL || p[10] == NULL ||
	    (o->status > 0 && p[3] == NULL))
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_attempt", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	*enabled = mr_db_bool(res, 0, "enabled");
	if (!*enabled) {
		const char	*q[] = { e->id, e->company_id,
		    mr_db_val(a, res, 0, "disabled_reason") };

		if (mr_db_exec(db, a, "hk_disabled", q, err) == NULL)
			return -1;
	}
	return 1;
}

int
mr_db_hook_renew(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, int64_t lease_s, struct mr_err *err)
{
	const char	*p[] = { id, owner, num(a, lease_s) };

	if (p[2] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return mr_db_change(db, a, "hk_renew", p, err);
}

int
mr_db_hook_release(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, struct mr_err *err)
{
	const char	*p[] = { id, owner };

	return mr_db_change(db, a, "hk_release", p, err);
}

/*
 * company's events after seq since, at most limit, into *out (a); the
 * count in *n, and for each whether its recording can be downloaded.
 */
int
mr_db_hook_events(struct mr_db *db, struct mr_arena *a, const char *company,
    int64_t since, int64_t limit, struct mr_event **out, int **downloadable,
    int *n, struct mr_err *err)
{
	const char	*p[] = { company, num(a, since), num(a, limit) };
	PGresult	*res;

	if (p[1] == NULL || p[2] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_events", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL ||
	    (*downloadable = mr_calloc(a, (size_t)*n + 1,
	    sizeof(**downloadable))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++)
		ev_fill(a, res, i, &(*out)[i], &(*downloadable)[i]);
	return 0;
}

/* One page of an endpoint's deliveries, newest first; 0 or -1. */
int
mr_db_hook_deliveries(struct mr_db *db, struct mr_arena *a,
    const char *endpoint, const char *company, const char *status,
    int64_t before, int64_t limit, struct mr_hook_row **out, int *n,
    struct mr_err *err)
{
	const char	*p[] = { endpoint, company, status,
	    before > 0 ? num(a, before) : NULL, num(a, limit) };
	PGresult	*res;
	struct mr_hook_row *r;

	if (p[4] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_deliveries", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (int i = 0; i < *n; i++) {
		r = &(*out)[i];
		r->id = mr_db_int(res, i, "id", 0);
		r->event_id = mr_db_val(a, res, i, "event_id");
		r->event_seq = mr_db_int(res, i, "event_seq", 0);
		r->event_type = mr_db_val(a, res, i, "event_type");
		r->status = mr_db_val(a, res, i, "status");
		r->attempts = mr_db_int(res, i, "attempts", 0);
		r->last_status = mr_db_int(res, i, "last_status", 0);
		r->last_error = mr_db_val(a, res, i, "last_error");
		r->created_at = mr_db_val(a, res, i, "created_at");
		r->finished_at = mr_db_val(a, res, i, "finished_at");
		r->latency_ms = mr_db_int(res, i, "latency_ms", -1);
		r->response = mr_db_val(a, res, i, "response");
		r->attempted_at = mr_db_val(a, res, i, "attempted_at");
	}
	return 0;
}

/* Deliver again; 1, 0 when there is no such delivery, -1. */
int
mr_db_hook_redeliver(struct mr_db *db, struct mr_arena *a, int64_t id,
    const char *endpoint, const char *company, struct mr_err *err)
{
	const char	*p[] = { num(a, id), endpoint, company };
	PGresult	*res;

	if (p[0] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_redeliver", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

/* Finished deliveries older than days, up to limit; how many, or -1. */
int
mr_db_hook_prune(struct mr_db *db, struct mr_arena *a, int64_t days,
    int64_t limit, struct mr_err *err)
{
	const char	*p[] = { num(a, days), num(a, limit) };
	PGresult	*res;

	if (p[0] == NULL || p[1] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "hk_prune", p, err)) == NULL)
		return -1;
	return (int)mr_db_affected(res);
}
