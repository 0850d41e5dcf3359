/* SPDX-License-Identifier: ISC */
/*
 * db_webhook.c - applying LiveKit egress events.
 *
 * In one transaction: record the event id (a replay hits the primary key
 * and stops here), then move the recording forward with a conditional
 * UPDATE.  Events may come late, twice or out of order (protocols/
 * livekit.md section 4.4), so every UPDATE refuses to touch a recording
 * whose egress already reached a final state, or whose last applied
 * update is newer.  A recording whose Start call timed out has no
 * egress_id yet; it is found by the recording id in the output file name
 * (we name the file after it) and adopted.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "livekit.h"
#include "model.h"

#define FINALS	"('EGRESS_COMPLETE', 'EGRESS_FAILED', 'EGRESS_ABORTED', " \
		"'EGRESS_LIMIT_REACHED')"
#define MATCH	"(egress_id = $1::text OR (egress_id IS NULL AND $4::uuid IS NOT " \
		"NULL AND id = $4::uuid AND status IN ('pending', " \
		"'recording'))) AND status IN ('pending', 'recording', " \
		"'processing') AND (egress_status IS NULL OR egress_status " \
		"NOT IN " FINALS ") AND deleted_at IS NULL "

const struct mr_db_stmt mr_db_webhook_stmts[] = {
	{ "wh_insert",
	  "INSERT INTO project_management.pm_livekit_webhook_events "
	  "(event_id, event, egress_id, egress_status, created_at_lk) "
	  "VALUES ($1, $2, $3, $4, $5::bigint) "
	  "ON CONFLICT (event_id) DO NOTHING", 5, MR_DB_ONCE },
	{ "wh_link",
	  "UPDATE project_management.pm_livekit_webhook_events "
	  "SET recording_id = $2::uuid WHERE event_id = $1", 2, MR_DB_RESEND },
	/* $1 egress, $2 status, $3 updated ns, $4 recording id from file */
	{ "wh_progress",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "egress_id = $1::text, egress_status = $2::text, "
	  "egress_updated_ns = $3::bigint, "
	  "status = CASE "
	  "  WHEN status = 'pending' THEN 'recording' "
	  "  WHEN status = 'recording' AND $2::text = 'EGRESS_ENDING' "
	  "    THEN 'processing' "
	  "  ELSE status END, "
	  "started_at = coalesce(started_at, now()), egress_seen_at = now(), "
	  "ended_at = CASE WHEN $2::text = 'EGRESS_ENDING' "
	  "  THEN coalesce(ended_at, now()) ELSE ended_at END "
	  "WHERE " MATCH "AND egress_updated_ns <= $3::bigint RETURNING id",
	  4, MR_DB_RESEND },
	/*
	 * $5 usable file, $6 file name, $7 size, $8 duration (whole
	 * seconds), $9 error, $10 ended ns, $11 duration (milliseconds)
	 */
	{ "wh_ended",
	  "UPDATE project_management.pm_meeting_recordings SET "
	  "egress_id = $1::text, egress_status = $2::text, "
	  "egress_updated_ns = greatest(egress_updated_ns, $3::bigint), "
	  "status = CASE WHEN $5::boolean THEN 'processing' ELSE 'failed' END, "
	  "file_name = coalesce($6::text, file_name), "
	  "file_size_bytes = coalesce($7::bigint, file_size_bytes), "
	  "duration_seconds = coalesce($8::int, duration_seconds), "
	  "duration_ms = coalesce($11::bigint, duration_ms), "
	  "last_error = CASE WHEN $5::boolean THEN last_error ELSE $9::text END, "
	  "started_at = coalesce(started_at, now()), egress_seen_at = now(), "
	  "ended_at = coalesce(ended_at, CASE WHEN $10::bigint > 0 "
	  "  THEN to_timestamp($10::bigint / 1e9) ELSE now() END), "
	  "next_attempt_at = CASE WHEN $5::boolean THEN now() "
	  "  ELSE next_attempt_at END "
	  "WHERE " MATCH "RETURNING id", 11, MR_DB_RESEND },
	{ "wh_notify",
	  "SELECT pg_notify('meetrec_upload', $1)", 1, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

/*
 * The recording id we put in the output file name
 * ({spool}/{recording_id}.mp4), or NULL.
 */
static const char *
id_from_file(struct mr_arena *a, const char *path)
{
	const char	*base;
	char		*id;

	if (path == NULL)
		return NULL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) < MR_UUID_STRLEN ||
	    (id = mr_strndup(a, base, MR_UUID_STRLEN)) == NULL ||
	    !mr_uuid_valid(id))
		return NULL;
	return id;
}

static const char *
num(struct mr_arena *a, int64_t v)
{
	return mr_printf(a, "%lld", (long long)v);
}

/*
 * Apply one verified event.  Sets *duplicate when the event id was seen
 * before (nothing is changed then).  Returns 1 when a recording changed,
 * 0 when none did (unknown egress, stale or repeated status), -1 on error
 * (the transaction is rolled back and LiveKit should retry: 503).
 */
int
mr_db_webhook_apply(struct mr_db *db, struct mr_arena *a,
    const char *event_id, const char *event, int64_t created_at,
    const struct mr_lk_egress *e, int *duplicate, struct mr_err *err)
{
	const char	*p[11];
	const char	*recid, *file;
	PGresult	*res;
	char		*changed = NULL;
	int64_t		 dur_s = -1, dur_ms = -1;
	int		 usable, ended;

	*duplicate = 0;
	if (mr_db_begin(db, err) == -1)
		return -1;
	p[0] = event_id;
	p[1] = event;
	p[2] = e->egress_id;
	p[3] = e->status_name;
	p[4] = num(a, created_at);
	if ((res = mr_db_exec(db, a, "wh_insert", p, err)) == NULL)
		goto fail;
	if (mr_db_affected(res) == 0) {
		*duplicate = 1;
		mr_db_rollback(db);
		return 0;
	}
	file = e->location && *e->location ? e->location : e->filename;
	recid = id_from_file(a, file);
	ended = strcmp(event, "egress_ended") == 0 ||
	    mr_lk_status_final(e->status);
	p[0] = e->egress_id;
	p[1] = e->status_name;
	p[2] = num(a, e->updated_at);
	p[3] = recid;
	if (!ended) {
		if ((res = mr_db_exec(db, a, "wh_progress", p, err)) == NULL)
			goto fail;
	} else {
		usable = (e->status == MR_LK_COMPLETE ||
		    e->status == MR_LK_LIMIT_REACHED) && e->has_file;
		p[4] = usable ? "true" : "false";
		p[5] = e->has_file ? file : NULL;
		p[6] = e->has_file && e->size > 0 ? num(a, e->size) : NULL;
		/* LiveKit's wall clock, until the reaper reads the file. */
		if (e->has_file && e->duration > 0)
			mr_duration_split((double)e->duration / 1e9, &dur_s,
			    &dur_ms);
		p[7] = dur_s >= 0 ? num(a, dur_s) : NULL;
		p[8] = e->error && *e->error ? e->error :
		    mr_printf(a, "egress ended with %s%s", e->status_name,
		    usable || e->has_file ? "" : " and no file");
		p[9] = num(a, e->ended_at);
		p[10] = dur_ms >= 0 ? num(a, dur_ms) : NULL;
		if ((res = mr_db_exec(db, a, "wh_ended", p, err)) == NULL)
			goto fail;
		if (PQntuples(res) > 0 && usable) {
			const char *np[] = { PQgetvalue(res, 0, 0) };

			if (mr_db_exec(db, a, "wh_notify", np, err) == NULL)
				goto fail;
		}
	}
	if (PQntuples(res) > 0) {
		changed = mr_db_val(a, res, 0, "id");
		p[0] = event_id;
		p[1] = changed;
		if (mr_db_exec(db, a, "wh_link", p, err) == NULL)
			goto fail;
	}
	if (mr_db_commit(db, err) == -1)
		return -1;
	return changed != NULL;
fail:
	mr_db_rollback(db);
	return -1;
}
