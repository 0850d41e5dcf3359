/* SPDX-License-Identifier: ISC */
/*
 * recinfo.c - what the lists of recordings share: RecordingInfo with the
 * seed's field names, written straight into the answer (json.h); the
 * page around a list's items; the keyset cursor (base64url of
 * "created_at,id" of the last row sent) and timestamps in query
 * parameters, checked by src/query.c.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fcgi.h"
#include "json.h"
#include "recinfo.h"

/* The text fields of RecordingInfo; NULL is JSON null. */
static const struct {
	const char	*name;
	size_t		 off;
} text_fields[] = {
#define F(m)	{ #m, offsetof(struct mr_recording, m) }
	F(id), F(room_code), F(meeting_name), F(egress_id), F(egress_status),
	F(status), F(recorded_by), F(recorded_by_name), F(layout),
	F(storage_type), F(started_at), F(ended_at), F(expires_at),
	F(created_at), F(updated_at)
#undef F
};

/*
 * file_name (the spool path), storage_path, last_error and
 * media_finding of r.  Where the file is kept and what went wrong name
 * hosts and paths, so only the owner and the company's admins get their
 * values; any other viewer (allowed_viewers, the company when is_public)
 * gets null.
 */
static void
internal_fields(struct mr_ctx *cx, struct mr_jw *w,
    const struct mr_recording *r)
{
	int	 may = mr_api_may_manage(&cx->cx_user, r);

	mr_jw_str(w, "file_name", may ? r->file_name : NULL);
	mr_jw_str(w, "storage_path", may ? r->storage_path : NULL);
	mr_jw_str(w, "last_error", may ? r->last_error : NULL);
	/* What the probe found wrong with the file. */
	mr_jw_str(w, "media_finding", may ? r->media_finding : NULL);
}

/*
 * The members of RecordingInfo of r, into the object open in w (the
 * caller may add more before it closes it).
 */
void
mr_recinfo_write(struct mr_ctx *cx, struct mr_jw *w,
    const struct mr_recording *r)
{
	size_t	 i;

	for (i = 0; i < MR_NELEM(text_fields); i++)
		mr_jw_str(w, text_fields[i].name,
		    *(char *const *)(const void *)((const char *)r +
		    text_fields[i].off));
	mr_jw_bool(w, "audio_only", r->audio_only);
	mr_jw_bool(w, "is_public", r->is_public);
	/* The seed's flags; false until encryption and watermarks exist. */
	mr_jw_bool(w, "is_encrypted", r->is_encrypted);
	mr_jw_bool(w, "watermark_applied", r->watermark_applied);
	mr_recinfo_file_fields(w, r);
	internal_fields(cx, w, r);
}

/* v, or null when it is negative (not known). */
static void
known(struct mr_jw *w, const char *key, int64_t v)
{
	if (v >= 0)
		mr_jw_int(w, key, v);
	else
		mr_jw_null(w, key);
}

/*
 * file_size_bytes, duration_seconds and duration_ms of r, null while
 * unknown.  duration_seconds is whole seconds, the seed's integer (its
 * page prints m:ss from it); duration_ms is the precise value.
 */
void
mr_recinfo_file_fields(struct mr_jw *w, const struct mr_recording *r)
{
	known(w, "file_size_bytes", r->file_size_bytes);
	known(w, "duration_seconds", r->duration_seconds);
	known(w, "duration_ms", r->duration_ms);
}

/*
 * Query parameter name's value s as a timestamptz for PostgreSQL in
 * *out (in the arena): a date means its start in UTC, or with end_of_day
 * its last microsecond, so a range "to" a day includes that day.  -1 and
 * 400 invalid_query when s is not a real date or RFC 3339 time.
 */
int
mr_recinfo_time(struct mr_ctx *cx, const char *name, const char *s,
    int end_of_day, const char **out)
{
	int	 date_only;

	if (mr_time_valid(s, &date_only) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter '%s' must be a date (YYYY-MM-DD) or an "
		    "RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ).", name);
	*out = !date_only ? s : mr_printf(cx->cx_arena, "%sT%sZ", s,
	    end_of_day ? "23:59:59.999999" : "00:00:00");
	if (*out == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	return 0;
}

/*
 * The created_at (*ts) and id (*id) in cursor c, both in the arena.  -1
 * and 400 invalid_cursor for anything this API did not give out.
 */
int
mr_recinfo_cursor_parse(struct mr_ctx *cx, const char *c, const char **ts,
    const char **id)
{
	if (mr_cursor_decode(cx->cx_arena, c, ts, id) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_cursor",
		    "Query parameter 'cursor' is not a cursor this API gave "
		    "out.");
	return 0;
}

/* The cursor that continues after the row (ts, id), in *out (arena). */
int
mr_recinfo_cursor_next(struct mr_ctx *cx, const char *ts, const char *id,
    const char **out)
{
	if ((*out = mr_cursor_encode(cx->cx_arena, ts, id)) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	return 0;
}

/*
 * A page of a list is {key: [items], total, next_cursor}: a writer with
 * the object and its array open, for the caller's items.  NULL when out
 * of memory.
 */
struct mr_jw *
mr_recinfo_page(struct mr_ctx *cx, const char *key)
{
	struct mr_jw	*w;

	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return NULL;
	mr_jw_open(w, NULL, '{');
	mr_jw_open(w, key, '[');
	return w;
}

/*
 * The end of the page in w, answered: total and total_exact (0: there
 * are at least total, MR_TOTAL_EXACT_MAX), next_cursor (which
 * continues after the row (ts, id) when ts is set, the page being full,
 * else is null), and for a list about one recording its recording_id.
 */
int
mr_recinfo_page_end(struct mr_ctx *cx, struct mr_jw *w, int64_t total,
    int exact, const char *ts, const char *id, const char *recording_id)
{
	const char	*cur = NULL;

	if (ts != NULL && mr_recinfo_cursor_next(cx, ts, id, &cur) == -1)
		return -1;
	mr_jw_close(w, ']');
	mr_jw_int(w, "total", total);
	mr_jw_bool(w, "total_exact", exact);
	mr_jw_str(w, "next_cursor", cur);
	if (recording_id != NULL)
		mr_jw_str(w, "recording_id", recording_id);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}
