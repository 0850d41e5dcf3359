/* SPDX-License-Identifier: ISC */
/*
 * recinfo.c - what the lists of recordings share: RecordingInfo with the
 * seed's field names, the keyset cursor (base64url of "created_at,id" of
 * the last row sent) and timestamps in query parameters, checked by
 * src/query.c.
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
 * Add key, a string constant that is not in o yet: json-c then neither
 * copies it nor looks for it first, for each field of each row.
 */
static void
add_new(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
	    JSON_C_OBJECT_KEY_IS_CONSTANT);
}

/*
 * Add file_name (the spool path), storage_path, last_error and
 * media_finding of r to o.  Where the file is kept and what went wrong
 * name hosts and paths, so only the owner and the company's admins get
 * their values; any other viewer (allowed_viewers, the company when
 * is_public) gets null.
 */
static void
internal_fields(struct mr_ctx *cx, struct json_object *o,
    const struct mr_recording *r)
{
	int	 may = mr_api_may_manage(&cx->cx_user, r);

	mr_api_add_str(o, "file_name", may ? r->file_name : NULL);
	mr_api_add_str(o, "storage_path", may ? r->storage_path : NULL);
	mr_api_add_str(o, "last_error", may ? r->last_error : NULL);
	/* What the probe found wrong with the file. */
	mr_api_add_str(o, "media_finding", may ? r->media_finding : NULL);
}

/*
 * RecordingInfo of r, in cx's arena (the caller may add fields; take a
 * reference with json_object_get to put it into another object).  NULL
 * when out of memory.
 */
struct json_object *
mr_recinfo_json(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct json_object	*o;
	const char		*s;
	size_t			 i;

	if ((o = mr_json_own(cx->cx_arena, json_object_new_object())) == NULL)
		return NULL;
	for (i = 0; i < MR_NELEM(text_fields); i++) {
		s = *(char *const *)(const void *)((const char *)r +
		    text_fields[i].off);
		add_new(o, text_fields[i].name,
		    s != NULL ? json_object_new_string(s) : NULL);
	}
	add_new(o, "audio_only", json_object_new_boolean(r->audio_only));
	add_new(o, "is_public", json_object_new_boolean(r->is_public));
	/* The seed's flags; false until encryption and watermarks exist. */
	add_new(o, "is_encrypted", json_object_new_boolean(r->is_encrypted));
	add_new(o, "watermark_applied",
	    json_object_new_boolean(r->watermark_applied));
	mr_recinfo_file_fields(o, r);
	internal_fields(cx, o, r);
	return o;
}

/*
 * Add file_size_bytes, duration_seconds and duration_ms of r to o, null
 * while unknown.  duration_seconds is whole seconds, the seed's integer
 * (its page prints m:ss from it); duration_ms is the precise value.
 */
void
mr_recinfo_file_fields(struct json_object *o, const struct mr_recording *r)
{
	json_object_object_add(o, "file_size_bytes", r->file_size_bytes >= 0 ?
	    json_object_new_int64(r->file_size_bytes) : NULL);
	json_object_object_add(o, "duration_seconds", r->duration_seconds >= 0 ?
	    json_object_new_int64(r->duration_seconds) : NULL);
	json_object_object_add(o, "duration_ms", r->duration_ms >= 0 ?
	    json_object_new_int64(r->duration_ms) : NULL);
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
 * A page of a list: {key: items, total, next_cursor}, items an array in
 * the arena.  next_cursor continues after the row (ts, id) when ts is
 * set (the page was full), else it is null.  NULL with cx_err set.
 */
struct json_object *
mr_recinfo_page(struct mr_ctx *cx, const char *key, struct json_object *items,
    int64_t total, const char *ts, const char *id)
{
	struct json_object	*o;
	const char		*cur = NULL;

	if (ts != NULL && mr_recinfo_cursor_next(cx, ts, id, &cur) == -1)
		return NULL;
	if ((o = mr_json_own(cx->cx_arena, json_object_new_object())) == NULL) {
		mr_err_set(&cx->cx_err, 500, "internal", "Out of memory.");
		return NULL;
	}
	json_object_object_add(o, key, json_object_get(items));
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "next_cursor", cur != NULL ?
	    json_object_new_string(cur) : NULL);
	return o;
}
