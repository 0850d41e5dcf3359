/* SPDX-License-Identifier: ISC */
/*
 * db_ledger.c - the participants ledger's tables (sql/012_participants.sql):
 * presences from the room webhooks, each recording's ledger, the notice
 * its room got and the answers of its participants.  Every write that
 * tells or answers writes its audit row in the same statement
 * (project_management.meetrec_audit_add).  Joins and leaves are not
 * audited: there are too many of them, and the ledger is their record.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "json.h"
#include "ledger.h"

#define PM	"project_management."
#define REC	PM "pm_meeting_recordings"
#define PRES	PM "pm_livekit_presences"
#define LEDGER	PM "pm_recording_participants"
#define NOTICES	PM "pm_recording_notices"
#define ANSWERS	PM "pm_recording_consents"
#define AUDIT	PM "meetrec_audit_add"
#define UTC(e)	"to_char((" e ") AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
/* A session's times from Unix milliseconds, now when not given. */
#define MS(p)	"CASE WHEN " p "::bigint > 0 THEN to_timestamp(" p \
		"::bigint / 1000.0) ELSE now() END"

const struct mr_db_stmt mr_db_ledger_stmts[] = {
	/*
	 * room_started: $1 room, $2 its sid.  The sessions of an earlier
	 * room of that name are over (its room_finished was lost): closed
	 * in the ledgers when nothing closed them, then forgotten.
	 */
	{ "lg_room_started",
	  "WITH p AS (DELETE FROM " PRES " WHERE room_name = $1 AND "
	  "room_sid IS DISTINCT FROM $2 RETURNING sid), "
	  "l AS (UPDATE " LEDGER " l SET left_at = greatest(l.joined_at, "
	  "now()), left_reason = 'UNKNOWN' FROM p WHERE l.sid = p.sid AND "
	  "l.left_at IS NULL RETURNING 1) "
	  "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM l) AS n",
	  2, MR_DB_ONCE },
	/*
	 * room_finished: $1 room, $2 its sid (or NULL), $3 when (Unix s, 0:
	 * now), $4 when the room was made (Unix ms, 0: unknown).  Everyone
	 * still in it leaves: the room's sessions, and the open ledger rows
	 * of the recordings made while the room was there.
	 */
	{ "lg_room_finished",
	  "WITH t AS (SELECT CASE WHEN $3::bigint > 0 THEN "
	  "to_timestamp($3::bigint) ELSE now() END AS at), "
	  "p AS (DELETE FROM " PRES " WHERE room_name = $1 AND "
	  "($2::text IS NULL OR room_sid IS NULL OR room_sid = $2) "
	  "RETURNING sid), "
	  "l AS (UPDATE " LEDGER " l SET "
	  "left_at = greatest(l.joined_at, t.at), "
	  "left_reason = 'ROOM_FINISHED' FROM t WHERE l.left_at IS NULL AND "
	  "(l.sid IN (SELECT sid FROM p) OR ($4::bigint > 0 AND "
	  "l.recording_id IN (SELECT r.id FROM " REC " r WHERE "
	  "r.room_code = $1 AND r.created_at >= to_timestamp($4::bigint / "
	  "1000.0) - interval '1 minute'))) RETURNING 1) "
	  "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM l) AS n",
	  4, MR_DB_ONCE },
	/*
	 * participant_joined: $1 sid, $2 room, $3 room sid, $4 identity,
	 * $5 name, $6 kind, $7 user, $8 joined (ms).  Only a room meetrec
	 * has; into the ledgers of its recordings not yet stopped.
	 */
	{ "lg_joined",
	  "WITH m AS (SELECT 1 FROM " PM "pm_meeting_rooms WHERE "
	  "room_code = $2), "
	  "p AS (INSERT INTO " PRES " AS o (sid, room_name, room_sid, "
	  "identity, name, kind, user_id, joined_at) SELECT $1, $2, $3, $4, "
	  "$5, $6, $7::uuid, " MS("$8") " FROM m "
	  "ON CONFLICT (sid) DO UPDATE SET name = excluded.name, "
	  "user_id = excluded.user_id WHERE o.left_at IS NULL "
	  "RETURNING joined_at), "
	  "l AS (INSERT INTO " LEDGER " (recording_id, sid, identity, name, "
	  "kind, user_id, joined_at, source) SELECT r.id, $1, $4, $5, $6, "
	  "$7::uuid, p.joined_at, 'webhook' FROM p, " REC " r WHERE "
	  "r.room_code = $2 AND r.status IN ('pending', 'recording') AND "
	  "r.deleted_at IS NULL ON CONFLICT (recording_id, sid) DO NOTHING "
	  "RETURNING 1) "
	  "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM l) AS n",
	  8, MR_DB_ONCE },
	/*
	 * participant_left (or _connection_aborted, $11 true): as joined,
	 * with $9 when (Unix s, 0: now) and $10 why.  The session closes
	 * wherever it is open; a recording whose time overlaps it and that
	 * never saw it join (its joined webhook lost) gets it closed, unless
	 * it never was in the room (aborted).
	 */
	{ "lg_left",
	  "WITH m AS (SELECT 1 FROM " PM "pm_meeting_rooms WHERE "
	  "room_code = $2), "
	  "t AS (SELECT CASE WHEN $9::bigint > 0 THEN to_timestamp($9::bigint) "
	  "ELSE now() END AS at), "
	  "p AS (INSERT INTO " PRES " AS o (sid, room_name, room_sid, "
	  "identity, name, kind, user_id, joined_at, left_at, left_reason) "
	  "SELECT $1, $2, $3, $4, $5, $6, $7::uuid, least(" MS("$8") ", t.at), "
	  "t.at, $10 FROM m, t ON CONFLICT (sid) DO UPDATE SET "
	  "left_at = greatest(o.joined_at, excluded.left_at), "
	  "left_reason = excluded.left_reason WHERE o.left_at IS NULL "
	  "RETURNING joined_at, left_at), "
	  "c AS (UPDATE " LEDGER " l SET "
	  "left_at = greatest(l.joined_at, t.at), left_reason = $10 "
	  "FROM t WHERE l.sid = $1 AND l.left_at IS NULL "
	  "RETURNING 1), "
	  "l AS (INSERT INTO " LEDGER " (recording_id, sid, identity, name, "
	  "kind, user_id, joined_at, left_at, left_reason, source) "
	  "SELECT r.id, $1, $4, $5, $6, $7::uuid, p.joined_at, p.left_at, $10, "
	  "'webhook' FROM p, " REC " r WHERE NOT $11::boolean AND "
	  "r.room_code = $2 AND r.deleted_at IS NULL AND "
	  "coalesce(r.started_at, r.created_at) <= p.left_at AND "
	  "(r.ended_at >= p.joined_at OR (r.ended_at IS NULL AND r.status IN "
	  "('pending', 'recording', 'processing'))) "
	  "ON CONFLICT (recording_id, sid) DO NOTHING RETURNING 1) "
	  "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM c) + "
	  "(SELECT count(*) FROM l) AS n", 11, MR_DB_ONCE },
	/*
	 * A recording begins: $1 it, $2 its room, $3 ListParticipants' rows
	 * (a JSON array, NULL when the call failed), with the room's open
	 * presences; a session both know is taken as listed.
	 */
	{ "lg_add",
	  "WITH x AS (SELECT * FROM jsonb_to_recordset(coalesce($3::jsonb, "
	  "'[]')) AS x(sid text, identity text, name text, kind text, "
	  "user_id uuid, joined_ms bigint)), "
	  "c AS (SELECT DISTINCT ON (sid) * FROM ("
	  "SELECT x.sid, x.identity, x.name, x.kind, x.user_id, "
	  MS("x.joined_ms") " AS joined_at, 'list' AS source, 0 AS o FROM x "
	  "UNION ALL SELECT p.sid, p.identity, p.name, p.kind, p.user_id, "
	  "p.joined_at, 'webhook', 1 FROM " PRES " p WHERE p.room_name = $2 "
	  "AND p.left_at IS NULL) u WHERE kind <> 'EGRESS' ORDER BY sid, o), "
	  "i AS (INSERT INTO " LEDGER " (recording_id, sid, identity, name, "
	  "kind, user_id, joined_at, source) SELECT $1::uuid, c.sid, "
	  "c.identity, c.name, c.kind, c.user_id, c.joined_at, c.source "
	  "FROM c ON CONFLICT (recording_id, sid) DO NOTHING RETURNING 1) "
	  "SELECT (SELECT count(*) FROM i) AS added, "
	  UTC("coalesce(r.started_at, r.created_at)") " AS started "
	  "FROM " REC " r WHERE r.id = $1::uuid", 3, MR_DB_ONCE },
	/* $1 recording: its open sessions that have had no notice. */
	{ "lg_unnoticed",
	  "SELECT sid FROM " LEDGER " WHERE recording_id = $1::uuid AND "
	  "notice_at IS NULL AND left_at IS NULL ORDER BY joined_at, sid "
	  "LIMIT $2::int", 2, MR_DB_RESEND },
	/*
	 * What the room was told: $1 recording, $2 status, $3 metadata,
	 * $4 data, $5 error, $6 the sessions it reached (text[]), $7 actor.
	 * Once per recording.
	 */
	{ "lg_noticed",
	  "WITH n AS (INSERT INTO " NOTICES " (recording_id, status, metadata, "
	  "data, error) VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT "
	  "(recording_id) DO NOTHING RETURNING *), "
	  "l AS (UPDATE " LEDGER " l SET notice_at = n.sent_at, "
	  "notice_status = CASE WHEN n.data = 'sent' THEN 'sent' "
	  "ELSE 'failed' END, notice_error = CASE WHEN n.data = 'sent' "
	  "THEN NULL ELSE n.error END FROM n WHERE l.recording_id = $1::uuid "
	  "AND l.sid = ANY ($6::text[]) AND l.notice_at IS NULL "
	  "RETURNING l.identity), "
	  "a AS (SELECT " AUDIT "(NULL, $1::uuid, 'notice', $7::jsonb, "
	  "jsonb_build_object('to', 'room', 'status', n.status, 'metadata', "
	  "n.metadata, 'data', n.data, 'error', n.error, 'participants', "
	  "coalesce((SELECT jsonb_agg(identity ORDER BY identity) FROM l), "
	  "'[]')), NULL) FROM n) "
	  "SELECT (SELECT count(*) FROM a) AS n", 7, MR_DB_ONCE },
	/*
	 * The notices due: $1 recording or NULL, $2 room or NULL, $3 at
	 * most.  Sessions open in a recording that records and whose room
	 * was told already.
	 */
	{ "lg_due",
	  "SELECT l.recording_id, r.room_code, l.sid, l.identity, "
	  "r.recorded_by, r.recorded_by_name, "
	  UTC("coalesce(r.started_at, r.created_at)") " AS started_at "
	  "FROM " REC " r JOIN " NOTICES " n ON n.recording_id = r.id "
	  "JOIN " LEDGER " l ON l.recording_id = r.id "
	  "WHERE r.status = 'recording' AND r.deleted_at IS NULL AND "
	  "($1::uuid IS NULL OR r.id = $1::uuid) AND "
	  "($2::text IS NULL OR r.room_code = $2) AND "
	  "l.notice_at IS NULL AND l.left_at IS NULL "
	  "ORDER BY l.joined_at, l.sid LIMIT $3::int", 3, MR_DB_RESEND },
	/* One session's own notice: $1 recording, $2 sid, $3 error or NULL. */
	{ "lg_told",
	  "WITH l AS (UPDATE " LEDGER " SET notice_at = now(), "
	  "notice_status = CASE WHEN $3::text IS NULL THEN 'sent' "
	  "ELSE 'failed' END, notice_error = $3 WHERE recording_id = $1::uuid "
	  "AND sid = $2 AND notice_at IS NULL RETURNING *) "
	  "SELECT " AUDIT "(NULL, l.recording_id, 'notice', NULL, "
	  "jsonb_build_object('to', 'participant', 'sid', l.sid, 'identity', "
	  "l.identity, 'user_id', l.user_id, 'status', l.notice_status, "
	  "'error', l.notice_error), NULL) FROM l", 3, MR_DB_ONCE },
	/*
	 * An answer: $1 recording, $2 user, $3 answer, $4 comment, $5
	 * actor.  Only a user a participant maps to; the same answer again
	 * changes nothing and writes no row.
	 */
	{ "lg_answer",
	  "WITH p AS (SELECT 1 FROM " LEDGER " WHERE recording_id = $1::uuid "
	  "AND user_id = $2::uuid LIMIT 1), "
	  "o AS (SELECT * FROM " ANSWERS " WHERE recording_id = $1::uuid AND "
	  "user_id = $2::uuid), "
	  "c AS (INSERT INTO " ANSWERS " AS k (recording_id, user_id, answer, "
	  "comment) SELECT $1::uuid, $2::uuid, $3, $4 FROM p "
	  "ON CONFLICT (recording_id, user_id) DO UPDATE SET "
	  "answer = excluded.answer, comment = excluded.comment, "
	  "answered_at = now() WHERE (k.answer, k.comment) IS DISTINCT FROM "
	  "(excluded.answer, excluded.comment) RETURNING *), "
	  "a AS (SELECT " AUDIT "(NULL, $1::uuid, CASE c.answer WHEN 'object' "
	  "THEN 'objection' ELSE 'consent' END, $5::jsonb, "
	  "jsonb_build_object('answer', c.answer, 'comment', c.comment, "
	  "'was', (SELECT answer FROM o)), NULL) FROM c) "
	  "SELECT EXISTS (SELECT 1 FROM p) AS participant, "
	  "(SELECT count(*) FROM a) AS changed, "
	  "coalesce((SELECT answer FROM c), (SELECT answer FROM o)) AS answer, "
	  "CASE WHEN EXISTS (SELECT 1 FROM c) THEN (SELECT comment FROM c) "
	  "ELSE (SELECT comment FROM o) END AS comment, "
	  UTC("coalesce((SELECT answered_at FROM c), "
	  "(SELECT answered_at FROM o))") " AS answered_at", 5, MR_DB_ONCE },
	/* A recording's notice and how many object now: $1 recording. */
	{ "lg_notice",
	  "SELECT n.status, n.metadata, n.data, n.error, "
	  UTC("n.sent_at") " AS sent_at, (SELECT count(*) FROM " ANSWERS
	  " c WHERE c.recording_id = $1::uuid AND c.answer = 'object') "
	  "AS objections FROM (SELECT 1) z LEFT JOIN " NOTICES " n ON "
	  "n.recording_id = $1::uuid", 1, MR_DB_RESEND },
	/* The ledger of $1, at most $2 rows. */
	{ "lg_list",
	  "SELECT l.sid, l.identity, l.name, l.kind, l.user_id, "
	  UTC("l.joined_at") " AS joined_at, " UTC("l.left_at") " AS left_at, "
	  "l.left_reason, l.source, " UTC("l.notice_at") " AS notice_at, "
	  "l.notice_status, l.notice_error, c.answer, c.comment, "
	  UTC("c.answered_at") " AS answered_at "
	  "FROM " LEDGER " l LEFT JOIN " ANSWERS " c ON "
	  "c.recording_id = l.recording_id AND c.user_id = l.user_id "
	  "WHERE l.recording_id = $1::uuid ORDER BY l.joined_at, l.sid "
	  "LIMIT $2::int", 2, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static const char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

static int
oom(struct mr_err *err)
{
	return mr_err_set(err, 500, "internal", "Out of memory.");
}

/* The statement of event e and its parameters; -1 out of memory. */
static int
event_params(struct mr_arena *a, const struct mr_ledger_event *e,
    const char **name, const char **p)
{
	const struct mr_ledger_part	*pt = &e->part;

	switch (e->ev) {
	case MR_LEDGER_ROOM_STARTED:
		*name = "lg_room_started";
		p[0] = e->room;
		p[1] = e->room_sid;
		return 0;
	case MR_LEDGER_ROOM_FINISHED:
		*name = "lg_room_finished";
		p[0] = e->room;
		p[1] = e->room_sid;
		p[2] = num(a, e->created_at);
		p[3] = num(a, e->room_created_ms);
		return p[2] == NULL || p[3] == NULL ? -1 : 0;
	case MR_LEDGER_JOINED:
	case MR_LEDGER_LEFT:
	case MR_LEDGER_ABORTED:
		break;
	}
	p[0] = pt->sid;
	p[1] = e->room;
	p[2] = e->room_sid;
	p[3] = pt->identity;
	p[4] = pt->name;
	p[5] = pt->kind;
	p[6] = pt->user_id;
	if ((p[7] = num(a, pt->joined_ms)) == NULL)
		return -1;
	if (e->ev == MR_LEDGER_JOINED) {
		*name = "lg_joined";
		return 0;
	}
	*name = "lg_left";
	p[8] = num(a, e->created_at);
	p[9] = e->left_reason != NULL ? e->left_reason : "UNKNOWN";
	p[10] = e->ev == MR_LEDGER_ABORTED ? "true" : "false";
	return p[8] == NULL ? -1 : 0;
}

int
mr_db_ledger_event(struct mr_db *db, struct mr_arena *a,
    const struct mr_ledger_event *e, int *duplicate, struct mr_err *err)
{
	const char	*p[11], *w[5], *name;
	PGresult	*res;
	int64_t		 n;

	*duplicate = 0;
	memset(p, 0, sizeof(p));
	/* The event is recorded as egress events are (db_webhook.c). */
	w[0] = e->id;
	w[1] = e->name;
	w[2] = NULL;
	w[3] = NULL;
	if ((w[4] = num(a, e->created_at)) == NULL ||
	    event_params(a, e, &name, p) == -1)
		return oom(err);
	if (mr_db_begin(db, err) == -1)
		return -1;
	if ((res = mr_db_exec(db, a, "wh_insert", w, err)) == NULL)
		goto fail;
	if (mr_db_affected(res) == 0) {
		*duplicate = 1;
		mr_db_rollback(db);
		return 0;
	}
	if ((res = mr_db_exec(db, a, name, p, err)) == NULL)
		goto fail;
	n = mr_db_int(res, 0, "n", 0);
	if (mr_db_commit(db, err) == -1)
		return -1;
	return n > 0;
fail:
	mr_db_rollback(db);
	return -1;
}

/* The listed participants as the JSON array lg_add reads; in a. */
static char *
listed_json(struct mr_arena *a, const struct mr_ledger_part *l, int n)
{
	struct json_object	*arr, *o;
	char			*s;
	int			 i;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((o = json_object_new_object()) == NULL ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(o, "sid",
		    json_object_new_string(l[i].sid));
		json_object_object_add(o, "identity",
		    json_object_new_string(l[i].identity));
		json_object_object_add(o, "name", l[i].name ?
		    json_object_new_string(l[i].name) : NULL);
		json_object_object_add(o, "kind",
		    json_object_new_string(l[i].kind));
		json_object_object_add(o, "user_id", l[i].user_id ?
		    json_object_new_string(l[i].user_id) : NULL);
		json_object_object_add(o, "joined_ms",
		    json_object_new_int64(l[i].joined_ms));
	}
	s = mr_json_dump(a, arr);
	json_object_put(arr);
	return s;
}

int
mr_db_ledger_add(struct mr_db *db, struct mr_arena *a, const char *rec,
    const char *room, const struct mr_ledger_part *listed, int n,
    char ***sids, int *nsids, char **started, struct mr_err *err)
{
	const char	*p[3];
	PGresult	*res;
	int		 i;

	p[0] = rec;
	p[1] = room;
	p[2] = NULL;
	if (listed != NULL && (p[2] = listed_json(a, listed, n)) == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "lg_add", p, err)) == NULL)
		return -1;
	*started = PQntuples(res) > 0 ? mr_db_val(a, res, 0, "started") : NULL;
	p[1] = num(a, MR_LEDGER_LISTED_MAX);
	if (p[1] == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "lg_unnoticed", p, err)) == NULL)
		return -1;
	*nsids = PQntuples(res);
	if ((*sids = mr_calloc(a, (size_t)*nsids + 1, sizeof(**sids))) == NULL)
		return oom(err);
	for (i = 0; i < *nsids; i++)
		if (((*sids)[i] = mr_db_val(a, res, i, "sid")) == NULL)
			return oom(err);
	return 0;
}

int
mr_db_ledger_noticed(struct mr_db *db, struct mr_arena *a, const char *rec,
    const char *status, const char *metadata, const char *data,
    const char *error, char *const *sids, int n, struct mr_err *err)
{
	const char	*p[7];

	p[0] = rec;
	p[1] = status;
	p[2] = metadata;
	p[3] = data;
	p[4] = error;
	p[5] = mr_db_text_array(a, (const char *const *)sids, (size_t)n);
	p[6] = mr_db_actor(db);
	if (p[5] == NULL)
		return oom(err);
	return mr_db_exec(db, a, "lg_noticed", p, err) == NULL ? -1 : 0;
}

int
mr_db_ledger_due(struct mr_db *db, struct mr_arena *a, const char *rec,
    const char *room, int max, struct mr_ledger_due **out, int *n,
    struct mr_err *err)
{
	const char		*p[3];
	struct mr_ledger_due	*d;
	PGresult		*res;
	int			 i;

	p[0] = rec;
	p[1] = room;
	if ((p[2] = num(a, max)) == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "lg_due", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = d = mr_calloc(a, (size_t)*n + 1, sizeof(*d))) == NULL)
		return oom(err);
	for (i = 0; i < *n; i++) {
		d[i].recording_id = mr_db_val(a, res, i, "recording_id");
		d[i].room = mr_db_val(a, res, i, "room_code");
		d[i].sid = mr_db_val(a, res, i, "sid");
		d[i].identity = mr_db_val(a, res, i, "identity");
		d[i].recorded_by = mr_db_val(a, res, i, "recorded_by");
		d[i].recorded_by_name = mr_db_val(a, res, i,
		    "recorded_by_name");
		d[i].started_at = mr_db_val(a, res, i, "started_at");
		if (d[i].recording_id == NULL || d[i].sid == NULL ||
		    d[i].identity == NULL || d[i].room == NULL)
			return oom(err);
	}
	return 0;
}

int
mr_db_ledger_told(struct mr_db *db, struct mr_arena *a, const char *rec,
    const char *sid, const char *error, struct mr_err *err)
{
	const char	*p[] = { rec, sid, error };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "lg_told", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

int
mr_db_ledger_answer(struct mr_db *db, struct mr_arena *a, const char *rec,
    const char *user, const char *answer, const char *comment,
    struct mr_ledger_answer *out, struct mr_err *err)
{
	const char	*p[] = { rec, user, answer, comment, mr_db_actor(db) };
	PGresult	*res;

	memset(out, 0, sizeof(*out));
	if ((res = mr_db_exec(db, a, "lg_answer", p, err)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || !mr_db_bool(res, 0, "participant"))
		return 0;
	out->changed = mr_db_int(res, 0, "changed", 0) > 0;
	out->answer = mr_db_val(a, res, 0, "answer");
	out->comment = mr_db_val(a, res, 0, "comment");
	out->answered_at = mr_db_val(a, res, 0, "answered_at");
	if (out->answer == NULL || out->answered_at == NULL)
		return oom(err);
	return 1;
}

int
mr_db_ledger_list(struct mr_db *db, struct mr_arena *a, const char *rec,
    int max, struct mr_ledger_notice *nt, struct mr_ledger_row **out,
    int *n, struct mr_err *err)
{
	const char		*p[2];
	struct mr_ledger_row	*r;
	PGresult		*res;
	int			 i;

	memset(nt, 0, sizeof(*nt));
	p[0] = rec;
	if ((res = mr_db_exec(db, a, "lg_notice", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		nt->status = mr_db_val(a, res, 0, "status");
		nt->metadata = mr_db_val(a, res, 0, "metadata");
		nt->data = mr_db_val(a, res, 0, "data");
		nt->error = mr_db_val(a, res, 0, "error");
		nt->sent_at = mr_db_val(a, res, 0, "sent_at");
		nt->objections = mr_db_int(res, 0, "objections", 0);
	}
	if ((p[1] = num(a, max)) == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "lg_list", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = r = mr_calloc(a, (size_t)*n + 1, sizeof(*r))) == NULL)
		return oom(err);
	for (i = 0; i < *n; i++) {
		r[i].sid = mr_db_val(a, res, i, "sid");
		r[i].identity = mr_db_val(a, res, i, "identity");
		r[i].name = mr_db_val(a, res, i, "name");
		r[i].kind = mr_db_val(a, res, i, "kind");
		r[i].user_id = mr_db_val(a, res, i, "user_id");
		r[i].joined_at = mr_db_val(a, res, i, "joined_at");
		r[i].left_at = mr_db_val(a, res, i, "left_at");
		r[i].left_reason = mr_db_val(a, res, i, "left_reason");
		r[i].source = mr_db_val(a, res, i, "source");
		r[i].notice_at = mr_db_val(a, res, i, "notice_at");
		r[i].notice_status = mr_db_val(a, res, i, "notice_status");
		r[i].notice_error = mr_db_val(a, res, i, "notice_error");
		r[i].answer = mr_db_val(a, res, i, "answer");
		r[i].comment = mr_db_val(a, res, i, "comment");
		r[i].answered_at = mr_db_val(a, res, i, "answered_at");
		if (r[i].sid == NULL || r[i].identity == NULL ||
		    r[i].joined_at == NULL)
			return oom(err);
	}
	return 0;
}
