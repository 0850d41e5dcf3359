/* SPDX-License-Identifier: ISC */
/*
 * db_transcript.c - transcripts (sql/015_transcripts.sql): asking for
 * one, the transcribe pass's leased claims and results, reading the
 * segments and chapters, and searching what was said.
 *
 * A transcript row is claimed as uploads are (db_reaper.c): FOR UPDATE
 * SKIP LOCKED and a lease, every later write checked against the lease
 * owner.  Its segments and chapters are replaced in one transaction with
 * the row's move to done, so a reader sees the old transcript or the new
 * one, never a mix.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "db_sql.h"
#include "model.h"
#include "json.h"
#include "transcript.h"

#define FREE_T	"(t.lease_until IS NULL OR t.lease_until < now()) "

const struct mr_db_stmt mr_db_transcript_stmts[] = {
	/*
	 * Ask (again) for recording $1 of company $2, by user $3, in
	 * language $4 (NULL: the server's guess).  A transcription under
	 * way is left alone: no row comes back.
	 */
	{ "tr_request",
	  "INSERT INTO project_management.pm_recording_transcripts AS t "
	  "(recording_id, company_id, requested_by, language, ts_config) "
	  "VALUES ($1::uuid, $2::uuid, $3::uuid, $4, "
	  "project_management.meetrec_ts_config($4)) "
	  "ON CONFLICT (recording_id) DO UPDATE SET status = 'pending', "
	  "attempts = 0, next_attempt_at = NULL, last_error = NULL, "
	  "requested_at = now(), requested_by = $3::uuid "
	  "WHERE " FREE_T "RETURNING t.status", 4, MR_DB_RESEND },
	{ "tr_get",
	  "SELECT t.status, t.attempts, t.last_error, t.language, "
	  "t.segments, t.seconds, "
	  "to_char(t.requested_at AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS requested_at, "
	  "to_char(t.done_at AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS done_at, "
	  "to_char(t.next_attempt_at AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS next_attempt_at, "
	  "coalesce(" CHAPTERS_JSON("t.recording_id") ", '[]') AS chapters "
	  "FROM project_management.pm_recording_transcripts t "
	  "WHERE t.recording_id = $1::uuid", 1, MR_DB_RESEND },
	{ "tr_segments",
	  "SELECT s.start_ms, s.end_ms, s.text "
	  "FROM project_management.pm_transcript_segments s "
	  "WHERE s.recording_id = $1::uuid ORDER BY s.seq", 1, MR_DB_RESEND },
	/*
	 * The transcribe pass: $1 owner, $2 lease seconds, $3 rows.  Only
	 * recordings completed, stored and not in the trash.
	 */
	{ "tr_claim",
	  "WITH c AS (SELECT t.recording_id FROM "
	  "project_management.pm_recording_transcripts t "
	  "JOIN project_management.pm_meeting_recordings r "
	  "ON r.id = t.recording_id "
	  "WHERE t.status = 'pending' AND coalesce(t.next_attempt_at, "
	  "'-infinity'::timestamptz) <= now() AND " FREE_T
	  "AND r.status = 'completed' AND r.deleted_at IS NULL "
	  "AND r.storage_path IS NOT NULL "
	  "ORDER BY coalesce(t.next_attempt_at, '-infinity'::timestamptz), "
	  "t.requested_at LIMIT $3::int FOR UPDATE OF t SKIP LOCKED) "
	  "UPDATE project_management.pm_recording_transcripts t "
	  "SET lease_owner = $1, lease_until = now() + "
	  "make_interval(secs => $2::int) FROM c, "
	  "project_management.pm_meeting_recordings r "
	  "WHERE t.recording_id = c.recording_id AND r.id = t.recording_id "
	  "RETURNING t.recording_id, t.attempts, t.language, r.storage_type, "
	  "r.storage_path, r.file_size_bytes, r.room_code", 3, MR_DB_ONCE },
	/* Whether the watch has a transcription to start. */
	{ "tr_due",
	  "SELECT EXISTS (SELECT 1 FROM "
	  "project_management.pm_recording_transcripts t "
	  "JOIN project_management.pm_meeting_recordings r "
	  "ON r.id = t.recording_id "
	  "WHERE t.status = 'pending' AND coalesce(t.next_attempt_at, "
	  "'-infinity'::timestamptz) <= now() AND " FREE_T
	  "AND r.status = 'completed' AND r.deleted_at IS NULL) AS due",
	  0, MR_DB_RESEND },
	{ "tr_renew",
	  "UPDATE project_management.pm_recording_transcripts "
	  "SET lease_until = now() + make_interval(secs => $3::int) "
	  "WHERE recording_id = $1::uuid AND lease_owner = $2",
	  3, MR_DB_RESEND },
	/* Given back unfinished, by a reaper told to stop. */
	{ "tr_release",
	  "UPDATE project_management.pm_recording_transcripts "
	  "SET lease_owner = NULL, lease_until = NULL "
	  "WHERE recording_id = $1::uuid AND lease_owner = $2",
	  2, MR_DB_RESEND },
	/*
	 * $3 error, $4 max attempts, $5 backoff base seconds, $6 the least
	 * wait the server asked for, $7 '1' when retrying cannot help.  The
	 * backoff doubles, capped at 6 hours, as uploads' does.
	 */
	{ "tr_failed",
	  "UPDATE project_management.pm_recording_transcripts SET "
	  "attempts = least(attempts::bigint + 1, 2147483647)::int, "
	  "last_error = $3, "
	  "status = CASE WHEN $7::int = 1 OR attempts::bigint + 1 >= "
	  "  $4::int THEN 'failed' ELSE status END, "
	  "next_attempt_at = now() + make_interval(secs => greatest("
	  "  least($5::bigint << least(greatest(attempts, 0), 15), 21600), "
	  "  $6::bigint)), "
	  "lease_owner = NULL, lease_until = NULL "
	  "WHERE recording_id = $1::uuid AND lease_owner = $2 "
	  "RETURNING status", 7, MR_DB_ONCE },
	/* $3 language, $4 seconds, $5 how many segments. */
	{ "tr_done",
	  "UPDATE project_management.pm_recording_transcripts SET "
	  "status = 'done', language = $3, "
	  "ts_config = project_management.meetrec_ts_config($3), "
	  "seconds = $4::float8, segments = $5::int, done_at = now(), "
	  "last_error = NULL, next_attempt_at = NULL, lease_owner = NULL, "
	  "lease_until = NULL "
	  "WHERE recording_id = $1::uuid AND lease_owner = $2",
	  5, MR_DB_ONCE },
	{ "tr_clear",
	  "WITH s AS (DELETE FROM project_management.pm_transcript_segments "
	  "WHERE recording_id = $1::uuid) "
	  "DELETE FROM project_management.pm_transcript_chapters "
	  "WHERE recording_id = $1::uuid", 1, MR_DB_ONCE },
	/* $2 the segments as a JSON array of [start_ms, end_ms, text]. */
	{ "tr_add_segments",
	  "INSERT INTO project_management.pm_transcript_segments "
	  "(recording_id, seq, company_id, start_ms, end_ms, text, ts_config) "
	  "SELECT t.recording_id, (e.ord - 1)::int, t.company_id, "
	  "(e.v->>0)::bigint, (e.v->>1)::bigint, e.v->>2, t.ts_config "
	  "FROM project_management.pm_recording_transcripts t, "
	  "json_array_elements($2::json) WITH ORDINALITY e(v, ord) "
	  "WHERE t.recording_id = $1::uuid", 2, MR_DB_ONCE },
	/* $2 the chapters as a JSON array of [start_ms, title]. */
	{ "tr_add_chapters",
	  "INSERT INTO project_management.pm_transcript_chapters "
	  "(recording_id, seq, start_ms, title) "
	  "SELECT $1::uuid, (e.ord - 1)::int, (e.v->>0)::bigint, e.v->>1 "
	  "FROM json_array_elements($2::json) WITH ORDINALITY e(v, ord)",
	  2, MR_DB_ONCE },
	/*
	 * Search: $1 company, $2 user, $3 '1' for an admin (every recording
	 * of the company), $4 the words, $5 the configured language, $6
	 * limit, $7 offset.  Only recordings the user may view
	 * (fcgi's mr_api_is_viewer: the owner, an admin, a listed viewer,
	 * anyone of the company when public), not in the trash.  The words
	 * are looked for in the configured language and as they are
	 * ('simple'), so a transcript in another language is found by its
	 * words too.  The index is asked for the words and the company's
	 * lexeme (sql/015), so it reads the company's matches only; words
	 * that find nothing by themselves (stop words alone, only words
	 * left out) find nothing, not every segment.  The words' query is
	 * made once (q, materialized: a plan kept for any words would make
	 * it again for every row).  Every match is ranked (h); the
	 * highlight, the room and the time are made for the page alone.
	 * The highlight marks matches with \x01 and \x02, which stored
	 * text never holds.
	 */
	{ "tr_search",
	  "WITH q AS MATERIALIZED (SELECT w.q, w.q && "
	  "project_management.meetrec_company_tsq($1::uuid) AS qc "
	  "FROM (SELECT websearch_to_tsquery("
	  "project_management.meetrec_ts_config($5), $4) || "
	  "websearch_to_tsquery('simple', $4) AS q) w "
	  "WHERE querytree(w.q) NOT IN ('', 'T')), "
	  "h AS (SELECT s.recording_id, s.start_ms, s.end_ms, s.text, "
	  "s.ts_config, r.created_at, r.started_at, r.room_code, "
	  "r.recorded_by_name, r.meeting_id, ts_rank(s.tsv, q.q) AS rank "
	  "FROM q, project_management.pm_transcript_segments s "
	  "JOIN project_management.pm_meeting_recordings r "
	  "ON r.id = s.recording_id "
	  "WHERE s.tsv @@ q.qc AND s.company_id = $1::uuid "
	  "AND r.company_id = $1::uuid AND r.deleted_at IS NULL "
	  "AND ($3::int = 1 OR r.recorded_by = $2::uuid OR r.is_public "
	  "OR r.allowed_viewers @> ARRAY[$2::uuid]) "
	  "ORDER BY rank DESC, r.created_at DESC, s.start_ms "
	  "LIMIT $6::int OFFSET $7::int) "
	  "SELECT h.recording_id, h.start_ms, h.end_ms, h.text, "
	  "ts_headline(h.ts_config, h.text, q.q, 'StartSel=\x01, "
	  "StopSel=\x02, HighlightAll=true') AS marked, h.rank, "
	  "h.room_code, h.recorded_by_name, rm.name AS meeting_name, "
	  "to_char(coalesce(h.started_at, h.created_at) AT TIME ZONE 'UTC', "
	  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS started_at "
	  "FROM q, h LEFT JOIN project_management.pm_meeting_rooms rm "
	  "ON rm.id = h.meeting_id "
	  "ORDER BY h.rank DESC, h.created_at DESC, h.start_ms",
	  7, MR_DB_RESEND },
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

int
mr_db_tr_request(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *company, const char *user, const char *lang,
    struct mr_err *err)
{
	const char	*p[] = { id, company, user, lang };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "tr_request", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

int
mr_db_tr_get(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_transcript *t, struct mr_err *err)
{
	const char	*p[] = { id };
	PGresult	*res;
	char		*secs;

	memset(t, 0, sizeof(*t));
	t->status = "none";
	if ((res = mr_db_exec(db, a, "tr_get", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	t->status = mr_db_val(a, res, 0, "status");
	t->attempts = mr_db_int(res, 0, "attempts", 0);
	t->last_error = mr_db_val(a, res, 0, "last_error");
	t->language = mr_db_val(a, res, 0, "language");
	t->segments = mr_db_int(res, 0, "segments", 0);
	secs = mr_db_val(a, res, 0, "seconds");
	t->seconds = secs != NULL ? strtod(secs, NULL) : -1;
	t->requested_at = mr_db_val(a, res, 0, "requested_at");
	t->done_at = mr_db_val(a, res, 0, "done_at");
	t->next_attempt_at = mr_db_val(a, res, 0, "next_attempt_at");
	t->chapters_json = mr_db_val(a, res, 0, "chapters");
	if (t->status == NULL || t->chapters_json == NULL)
		return oom(err);
	return 1;
}

int
mr_db_tr_segments(struct mr_db *db, struct mr_arena *a, const char *id,
    struct mr_seg **segs, size_t *n, struct mr_err *err)
{
	const char	*p[] = { id };
	PGresult	*res;
	struct mr_seg	*s;
	int		 i, rows;

	*segs = NULL;
	*n = 0;
	if ((res = mr_db_exec(db, a, "tr_segments", p, err)) == NULL)
		return -1;
	if ((rows = PQntuples(res)) == 0)
		return 0;
	if ((s = mr_calloc(a, (size_t)rows, sizeof(*s))) == NULL)
		return oom(err);
	for (i = 0; i < rows; i++) {
		s[i].start_ms = mr_db_int(res, i, "start_ms", 0);
		s[i].end_ms = mr_db_int(res, i, "end_ms", 0);
		if ((s[i].text = mr_db_val(a, res, i, "text")) == NULL)
			return oom(err);
	}
	*segs = s;
	*n = (size_t)rows;
	return 0;
}

int
mr_db_tr_claim(struct mr_db *db, struct mr_arena *a, const char *owner,
    int64_t lease_s, int max, struct mr_tr_job **jobs, struct mr_err *err)
{
	const char	*p[] = { owner, num(a, lease_s), num(a, max) };
	PGresult	*res;
	struct mr_tr_job *j;
	int		 i, rows;

	*jobs = NULL;
	if (p[1] == NULL || p[2] == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "tr_claim", p, err)) == NULL)
		return -1;
	if ((rows = PQntuples(res)) == 0)
		return 0;
	if ((j = mr_calloc(a, (size_t)rows, sizeof(*j))) == NULL)
		return oom(err);
	for (i = 0; i < rows; i++) {
		j[i].recording_id = mr_db_val(a, res, i, "recording_id");
		j[i].attempts = mr_db_int(res, i, "attempts", 0);
		j[i].language = mr_db_val(a, res, i, "language");
		j[i].storage_type = mr_db_val(a, res, i, "storage_type");
		j[i].storage_path = mr_db_val(a, res, i, "storage_path");
		j[i].size = mr_db_int(res, i, "file_size_bytes", -1);
		j[i].room_code = mr_db_val(a, res, i, "room_code");
		if (j[i].recording_id == NULL || j[i].storage_path == NULL)
			return oom(err);
	}
	*jobs = j;
	return rows;
}

int
mr_db_tr_due(struct mr_db *db, struct mr_arena *a, struct mr_err *err)
{
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "tr_due", NULL, err)) == NULL)
		return -1;
	return PQntuples(res) > 0 && mr_db_bool(res, 0, "due");
}

int
mr_db_tr_renew(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, int64_t lease_s, struct mr_err *err)
{
	const char	*p[] = { id, owner, num(a, lease_s) };

	if (p[2] == NULL)
		return oom(err);
	return mr_db_change(db, a, "tr_renew", p, err);
}

int
mr_db_tr_release(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, struct mr_err *err)
{
	const char	*p[] = { id, owner };

	return mr_db_change(db, a, "tr_release", p, err);
}

int
mr_db_tr_failed(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *error, int64_t max_attempts,
    int64_t backoff_s, int64_t wait_s, int final, int *gave_up,
    struct mr_err *err)
{
	const char	*p[] = { id, owner, error, num(a, max_attempts),
	    num(a, backoff_s), num(a, wait_s), final ? "1" : "0" };
	PGresult	*res;

	*gave_up = 0;
	if (p[3] == NULL || p[4] == NULL || p[5] == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "tr_failed", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	*gave_up = strcmp(PQgetvalue(res, 0, 0), "failed") == 0;
	return 1;
}

/* The text of a finished writer, in its arena; NULL on ENOMEM. */
static const char *
jw_done(struct mr_jw *w)
{
	size_t	 len;

	return mr_jw_text(w, &len);
}

/* segs as the JSON array tr_add_segments reads; in a, NULL on ENOMEM. */
static const char *
segs_json(struct mr_arena *a, const struct mr_seg *s, size_t n)
{
	struct mr_jw	*w;
	size_t		 i;

	if ((w = mr_jw_new(a)) == NULL)
		return NULL;
	mr_jw_open(w, NULL, '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '[');
		mr_jw_int(w, NULL, s[i].start_ms);
		mr_jw_int(w, NULL, s[i].end_ms);
		mr_jw_str(w, NULL, s[i].text);
		mr_jw_close(w, ']');
	}
	mr_jw_close(w, ']');
	return jw_done(w);
}

static const char *
chapters_json(struct mr_arena *a, const struct mr_chapter *c, size_t n)
{
	struct mr_jw	*w;
	size_t		 i;

	if ((w = mr_jw_new(a)) == NULL)
		return NULL;
	mr_jw_open(w, NULL, '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '[');
		mr_jw_int(w, NULL, c[i].start_ms);
		mr_jw_str(w, NULL, c[i].title);
		mr_jw_close(w, ']');
	}
	mr_jw_close(w, ']');
	return jw_done(w);
}

int
mr_db_tr_save(struct mr_db *db, struct mr_arena *a, const char *id,
    const char *owner, const char *lang, double seconds,
    const struct mr_seg *segs, size_t nsegs, const struct mr_chapter *ch,
    size_t nch, struct mr_err *err)
{
	const char	*done[5], *clear[1], *add[2];
	PGresult	*res;
	const char	*sj, *cj;

	if ((sj = segs_json(a, segs, nsegs)) == NULL ||
	    (cj = chapters_json(a, ch, nch)) == NULL ||
	    (done[3] = mr_printf(a, "%.3f", seconds)) == NULL ||
	    (done[4] = num(a, (int64_t)nsegs)) == NULL)
		return oom(err);
	done[0] = id;
	done[1] = owner;
	done[2] = lang;
	clear[0] = id;
	if (mr_db_begin(db, err) == -1)
		return -1;
	if ((res = mr_db_exec(db, a, "tr_done", done, err)) == NULL)
		goto fail;
	if (mr_db_affected(res) == 0) {
		mr_db_rollback(db);
		return 0;
	}
	add[0] = id;
	add[1] = sj;
	if (mr_db_exec(db, a, "tr_clear", clear, err) == NULL ||
	    mr_db_exec(db, a, "tr_add_segments", add, err) == NULL)
		goto fail;
	add[1] = cj;
	if (mr_db_exec(db, a, "tr_add_chapters", add, err) == NULL)
		goto fail;
	if (mr_db_commit(db, err) == -1)
		return -1;
	return 1;
fail:
	mr_db_rollback(db);
	return -1;
}

int
mr_db_tr_search(struct mr_db *db, struct mr_arena *a,
    const struct mr_tr_query *q, struct mr_tr_hit **hits, int *n,
    struct mr_err *err)
{
	const char	*p[] = { q->company_id, q->user_id,
	    q->is_admin ? "1" : "0", q->words, q->language,
	    num(a, q->limit), num(a, q->offset) };
	PGresult	*res;
	struct mr_tr_hit *h;
	char		*rank;
	int		 i, rows;

	*hits = NULL;
	*n = 0;
	if (p[5] == NULL || p[6] == NULL)
		return oom(err);
	if ((res = mr_db_exec(db, a, "tr_search", p, err)) == NULL)
		return -1;
	if ((rows = PQntuples(res)) == 0)
		return 0;
	if ((h = mr_calloc(a, (size_t)rows, sizeof(*h))) == NULL)
		return oom(err);
	for (i = 0; i < rows; i++) {
		h[i].recording_id = mr_db_val(a, res, i, "recording_id");
		h[i].start_ms = mr_db_int(res, i, "start_ms", 0);
		h[i].end_ms = mr_db_int(res, i, "end_ms", 0);
		h[i].text = mr_db_val(a, res, i, "text");
		h[i].marked = mr_db_val(a, res, i, "marked");
		rank = mr_db_val(a, res, i, "rank");
		h[i].rank = rank != NULL ? strtod(rank, NULL) : 0;
		h[i].room_code = mr_db_val(a, res, i, "room_code");
		h[i].recorded_by_name = mr_db_val(a, res, i,
		    "recorded_by_name");
		h[i].meeting_name = mr_db_val(a, res, i, "meeting_name");
		h[i].started_at = mr_db_val(a, res, i, "started_at");
		if (h[i].recording_id == NULL || h[i].text == NULL ||
		    h[i].marked == NULL)
			return oom(err);
	}
	*hits = h;
	*n = rows;
	return 0;
}
