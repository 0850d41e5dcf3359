/* SPDX-License-Identifier: ISC */
/*
 * ledger.c - the participants ledger where it meets LiveKit (ledger.h):
 * reading room and participant webhooks, mapping identities to users,
 * and telling a room that it is being recorded.
 *
 * The notice, when a recording begins: the room's metadata gets a
 * "recording" key (merged into it when it is a JSON object, or an empty
 * one; any other metadata is the application's, and is left as it is),
 * and everyone in the room gets a reliable data message on topic
 * MR_LEDGER_TOPIC saying who started which recording.  Whoever joins
 * while it records gets the same message addressed to them.  Each
 * notice's outcome is written to the ledger with its audit row; a
 * failure never fails the start, and is not retried: it shows in the
 * ledger, and each later joiner is tried on its own.  The notice is
 * "reported, not retried" because what makes it fail (a room LiveKit no
 * longer has, credentials LiveKit refuses) does not mend itself within
 * a meeting.  When the recording is stopped, its key leaves the
 * metadata and the room gets a recording_stopped message, best effort.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "json.h"
#include "ledger.h"

#define NAME_MAX_LEN	255	/* varchar(255): identity and name */
#define SID_MAX_LEN	64

const char *
mr_ledger_user(struct mr_arena *a, const char *map,
    const struct mr_lk_participant *p)
{
	struct json_object	*md;
	struct mr_err		 err;
	const char		*v = NULL;
	char			*u;

	if (strcmp(map, "identity") == 0)
		v = p->identity;
	else if (strncmp(map, "metadata:", 9) == 0 && p->metadata != NULL &&
	    *p->metadata != '\0') {
		mr_err_clear(&err);
		md = mr_json_parse(a, p->metadata, strlen(p->metadata), &err);
		if (md == NULL || mr_json_lk_str(md, map + 9, NULL, &v) != 1)
			v = NULL;
	}
	if (v == NULL || !mr_uuid_valid(v) || (u = mr_strdup(a, v)) == NULL)
		return NULL;
	for (char *c = u; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return u;
}

static const struct {
	const char		*name;
	enum mr_ledger_ev	 ev;
} events[] = {
	{ "room_started", MR_LEDGER_ROOM_STARTED },
	{ "room_finished", MR_LEDGER_ROOM_FINISHED },
	{ "participant_joined", MR_LEDGER_JOINED },
	{ "participant_left", MR_LEDGER_LEFT },
	{ "participant_connection_aborted", MR_LEDGER_ABORTED },
};

static int
bad_event(struct mr_err *err, const char *what)
{
	return mr_err_set(err, 400, "invalid_event",
	    "The webhook's %s is missing or malformed.", what);
}

int
mr_ledger_event_read(struct mr_arena *a, const char *map,
    struct json_object *ev, const char *id, const char *name,
    int64_t created_at, struct mr_ledger_event *e, struct mr_err *err)
{
	struct mr_lk_room		 room;
	struct mr_lk_participant	 p;
	struct mr_ledger_part		*pt = &e->part;
	size_t				 i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < MR_NELEM(events); i++)
		if (strcmp(events[i].name, name) == 0)
			break;
	if (i == MR_NELEM(events))
		return 0;
	e->ev = events[i].ev;
	e->id = id;
	e->name = name;
	e->created_at = created_at > 0 ? created_at : 0;
	if (mr_lk_room_parse(mr_json_get2(ev, "room", NULL), &room) == -1 ||
	    (room.sid != NULL && strlen(room.sid) > SID_MAX_LEN))
		return bad_event(err, "'room'");
	/* Only a room meetrec can have: its name is a room code. */
	if (!mr_room_code_valid(room.name))
		return 0;
	e->room = room.name;
	e->room_sid = room.sid != NULL && *room.sid != '\0' ? room.sid : NULL;
	e->room_created_ms = room.creation_ms > 0 ? room.creation_ms : 0;
	if (e->ev == MR_LEDGER_ROOM_STARTED || e->ev == MR_LEDGER_ROOM_FINISHED)
		return 1;
	if (mr_lk_participant_parse(mr_json_get2(ev, "participant", NULL),
	    &p) == -1 || strlen(p.sid) > SID_MAX_LEN ||
	    strlen(p.identity) > NAME_MAX_LEN ||
	    (p.disconnect_reason != NULL && strlen(p.disconnect_reason) > 64))
		return bad_event(err, "'participant'");
	/* The recorder is not a person (doc/livekit-rooms.md, 1.5). */
	if (strcmp(p.kind, "EGRESS") == 0)
		return 0;
	pt->sid = p.sid;
	pt->identity = p.identity;
	pt->kind = p.kind;
	pt->joined_ms = p.joined_at_ms > 0 ? p.joined_at_ms : 0;
	pt->user_id = mr_ledger_user(a, map, &p);
	if (p.name != NULL && *p.name != '\0' &&
	    (pt->name = mr_utf8_clip(a, p.name, NAME_MAX_LEN)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	e->left_reason = p.disconnect_reason;
	return 1;
}

/*
 * What the room and each participant are told, as a JSON object owned
 * by a: the recording, who started it and when, and where to answer.
 */
static struct json_object *
notice_object(const struct mr_ledger_env *env, struct mr_arena *a,
    const char *rec, const char *room, const char *user, const char *name,
    const char *started)
{
	struct json_object	*o, *by;
	char			*url;

	if ((url = mr_printf(a, "%s/api/recordings/%s/consent",
	    env->public_url, rec)) == NULL ||
	    (o = mr_json_own(a, json_object_new_object())) == NULL ||
	    (by = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "recording_id", json_object_new_string(rec));
	json_object_object_add(o, "room", json_object_new_string(room));
	json_object_object_add(by, "user_id", user ?
	    json_object_new_string(user) : NULL);
	json_object_object_add(by, "name", name ?
	    json_object_new_string(name) : NULL);
	json_object_object_add(o, "started_by", by);
	json_object_object_add(o, "started_at", started ?
	    json_object_new_string(started) : NULL);
	json_object_object_add(o, "consent_url", json_object_new_string(url));
	return o;
}

/*
 * The data message: the notice with its type (recording_started,
 * recording_stopped); in a, NULL out of memory.
 */
static char *
message(struct mr_arena *a, const char *type, struct json_object *notice)
{
	struct json_object	*m;
	char			*s;

	if ((m = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_foreach(notice, k, v)
		json_object_object_add(m, k, json_object_get(v));
	s = mr_json_dump(a, m);
	json_object_put(m);
	return s;
}

/*
 * A nonce of its own for each message: LiveKit drops a nonce it saw in
 * the room's last 100 messages, so a message sent twice (two requests
 * racing for the same late joiner) arrives once.
 */
static void
nonce(unsigned char out[16], const char *rec, const char *sid)
{
	unsigned char	 h[MR_SHA256_LEN];
	char		 in[160];

	snprintf(in, sizeof(in), "meetrec notice\n%s\n%s", rec,
	    sid ? sid : "*");
	if (mr_sha256(in, strlen(in), h) == -1)
		mr_random_bytes(h, sizeof(h));
	memcpy(out, h, 16);
}

/*
 * The room's metadata with the recording's key: 1 with *out set, 0 when
 * the metadata is not a JSON object meetrec may add a key to (*why).
 */
static int
merge(struct mr_arena *a, const char *meta, struct json_object *notice,
    char **out, const char **why)
{
	struct json_object	*o;
	struct mr_err		 err;

	if (*meta == '\0')
		o = mr_json_own(a, json_object_new_object());
	else {
		mr_err_clear(&err);
		o = mr_json_parse(a, meta, strlen(meta), &err);
		if (o == NULL) {
			*why = "the room's metadata is not a JSON object; it "
			    "was left as it is";
			return 0;
		}
	}
	if (o == NULL)
		return -1;
	json_object_object_add(o, "recording", json_object_get(notice));
	return (*out = mr_json_dump(a, o)) == NULL ? -1 : 1;
}

static char *
add_error(struct mr_arena *a, char *errors, const char *what,
    const char *detail)
{
	char	*s;

	if (detail == NULL)
		detail = "out of memory";
	s = errors == NULL ? mr_printf(a, "%s: %s", what, detail) :
	    mr_printf(a, "%s; %s: %s", errors, what, detail);
	return s != NULL ? s : errors;
}

/* The participants ListParticipants gave, as the ledger keeps them. */
static struct mr_ledger_part *
listed_parts(const struct mr_ledger_env *env, struct mr_arena *a,
    const struct mr_lk_participant *ps, int n, int *count)
{
	struct mr_ledger_part	*l;
	int			 i;

	*count = 0;
	if ((l = mr_calloc(a, (size_t)n + 1, sizeof(*l))) == NULL)
		return NULL;
	for (i = 0; i < n && *count < MR_LEDGER_LISTED_MAX; i++) {
		if (strcmp(ps[i].kind, "EGRESS") == 0 ||
		    strlen(ps[i].sid) > SID_MAX_LEN ||
		    strlen(ps[i].identity) > NAME_MAX_LEN)
			continue;
		l[*count].sid = ps[i].sid;
		l[*count].identity = ps[i].identity;
		l[*count].kind = ps[i].kind;
		l[*count].joined_ms = ps[i].joined_at_ms;
		l[*count].user_id = mr_ledger_user(a, env->identity_map,
		    &ps[i]);
		if (ps[i].name != NULL && *ps[i].name != '\0' &&
		    (l[*count].name = mr_utf8_clip(a, ps[i].name,
		    NAME_MAX_LEN)) == NULL)
			return NULL;
		(*count)++;
	}
	return l;
}

int
mr_ledger_begin(const struct mr_ledger_env *env, struct mr_arena *a,
    const struct mr_ledger_start *st, struct mr_err *err)
{
	struct mr_lk_participant	*ps;
	struct mr_ledger_part		*listed = NULL;
	struct mr_lk_room		 room;
	struct mr_lk_data		 d;
	struct json_object		*notice;
	struct mr_err			 lkerr;
	const char			*metadata = "failed", *data = "failed";
	const char			*status, *why = NULL;
	char				*errors = NULL, *merged = NULL;
	char				*started, **sids;
	int				 n = 0, nlisted = 0, nsids, rc;
	int				 asked = 0, found = 0;

	/* 1. Who is in the room now; the egress's recorder is not. */
	mr_err_clear(&lkerr);
	if (mr_lk_list_participants(env->lk, a, st->room, &ps, &n,
	    &lkerr) == -1)
		mr_log_warnx("rec=%s ledger: ListParticipants failed: %s: %s",
		    st->recording_id, lkerr.code, lkerr.cause);
	else if ((listed = listed_parts(env, a, ps, n, &nlisted)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (mr_db_ledger_add(env->db, a, st->recording_id, st->room, listed,
	    nlisted, &sids, &nsids, &started, err) == -1)
		return -1;
	if ((notice = notice_object(env, a, st->recording_id, st->room,
	    st->user_id, st->user_name, started)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");

	/* 2. The room's metadata, merged into what it is now. */
	mr_err_clear(&lkerr);
	if (mr_lk_list_rooms(env->lk, a, st->room, &room, &found,
	    &lkerr) == -1)
		errors = add_error(a, errors, "ListRooms", lkerr.detail);
	else {
		asked = 1;
		rc = found ? merge(a, room.metadata, notice, &merged, &why) : 0;
		if (rc == -1)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		mr_err_clear(&lkerr);
		if (!found)
			errors = add_error(a, errors, "ListRooms", mr_printf(a,
			    "LiveKit has no room '%s'", st->room));
		else if (rc == 0) {
			metadata = "skipped";
			errors = add_error(a, errors, "UpdateRoomMetadata",
			    why);
		} else if (mr_lk_update_room_metadata(env->lk, a, st->room,
		    merged, &lkerr) == 0)
			metadata = "updated";
		else
			errors = add_error(a, errors, "UpdateRoomMetadata",
			    lkerr.detail);
	}

	/*
	 * 3. A data message to everyone in the room; not to a room LiveKit
	 * said it does not have, where SendData waits 15 s for its 503.
	 */
	memset(&d, 0, sizeof(d));
	d.room = st->room;
	d.topic = MR_LEDGER_TOPIC;
	nonce(d.nonce, st->recording_id, NULL);
	if ((d.payload = message(a, "recording_started", notice)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	d.len = strlen(d.payload);
	mr_err_clear(&lkerr);
	if (asked && !found)
		data = "skipped";
	else if (mr_lk_send_data(env->lk, a, &d, &lkerr) == 0)
		data = "sent";
	else
		errors = add_error(a, errors, "SendData", lkerr.detail);

	if (strcmp(data, "sent") != 0)
		status = "failed";
	else if (strcmp(metadata, "failed") == 0)
		status = "partial";
	else
		status = "sent";
	if (mr_db_ledger_noticed(env->db, a, st->recording_id, status,
	    metadata, data, errors != NULL ? mr_utf8_clip(a, errors, 2000) :
	    NULL, sids, nsids, err) == -1)
		return -1;
	mr_log_info("rec=%s ledger: notice=%s metadata=%s data=%s "
	    "participants=%d%s%s", st->recording_id, status, metadata, data,
	    nsids, errors ? " error=" : "", errors ? errors : "");

	/* 4. Those who came in while this went on get their own. */
	return mr_ledger_tell_due(env, a, st->recording_id, NULL, err) == -1 ?
	    -1 : 0;
}

void
mr_ledger_end(const struct mr_ledger_env *env, struct mr_arena *a,
    const struct mr_ledger_start *st)
{
	struct json_object	*md, *key, *id, *notice;
	struct mr_lk_room	 room;
	struct mr_lk_data	 d;
	struct mr_err		 lkerr;
	char			*meta;
	int			 found;

	mr_err_clear(&lkerr);
	if (mr_lk_list_rooms(env->lk, a, st->room, &room, &found,
	    &lkerr) == -1) {
		mr_log_warnx("rec=%s ledger: ListRooms failed: %s",
		    st->recording_id, lkerr.cause);
		return;
	}
	if (!found)
		return;
	/* Only this recording's own key, in metadata meetrec can read. */
	md = *room.metadata != '\0' ? mr_json_parse(a, room.metadata,
	    strlen(room.metadata), &lkerr) : NULL;
	if (md != NULL && json_object_object_get_ex(md, "recording", &key) &&
	    json_object_object_get_ex(key, "recording_id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    strcmp(json_object_get_string(id), st->recording_id) == 0) {
		json_object_object_del(md, "recording");
		mr_err_clear(&lkerr);
		if ((meta = mr_json_dump(a, md)) == NULL ||
		    mr_lk_update_room_metadata(env->lk, a, st->room, meta,
		    &lkerr) == -1)
			mr_log_warnx("rec=%s ledger: UpdateRoomMetadata "
			    "failed: %s", st->recording_id, lkerr.cause);
	}
	if ((notice = notice_object(env, a, st->recording_id, st->room,
	    st->user_id, st->user_name, st->started_at)) == NULL)
		return;
	memset(&d, 0, sizeof(d));
	d.room = st->room;
	d.topic = MR_LEDGER_TOPIC;
	nonce(d.nonce, st->recording_id, "stopped");
	if ((d.payload = message(a, "recording_stopped", notice)) == NULL)
		return;
	d.len = strlen(d.payload);
	mr_err_clear(&lkerr);
	if (mr_lk_send_data(env->lk, a, &d, &lkerr) == -1)
		mr_log_warnx("rec=%s ledger: SendData failed: %s",
		    st->recording_id, lkerr.cause);
}

int
mr_ledger_tell_due(const struct mr_ledger_env *env, struct mr_arena *a,
    const char *rec, const char *room, struct mr_err *err)
{
	struct mr_ledger_due	*due;
	struct json_object	*notice;
	struct mr_lk_data	 d;
	struct mr_err		 lkerr;
	const char		*error;
	int			 n, i, sent = 0;

	if (mr_db_ledger_due(env->db, a, rec, room, MR_LEDGER_DUE_MAX, &due,
	    &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((notice = notice_object(env, a, due[i].recording_id,
		    due[i].room, due[i].recorded_by, due[i].recorded_by_name,
		    due[i].started_at)) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		memset(&d, 0, sizeof(d));
		d.room = due[i].room;
		d.topic = MR_LEDGER_TOPIC;
		d.identity = due[i].identity;
		nonce(d.nonce, due[i].recording_id, due[i].sid);
		if ((d.payload = message(a, "recording_started", notice)) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		d.len = strlen(d.payload);
		mr_err_clear(&lkerr);
		error = NULL;
		if (mr_lk_send_data(env->lk, a, &d, &lkerr) == -1)
			error = mr_printf(a, "SendData: %s", lkerr.detail);
		else
			sent++;
		if (mr_db_ledger_told(env->db, a, due[i].recording_id,
		    due[i].sid, error, err) == -1)
			return -1;
		mr_log_info("rec=%s ledger: notice to sid=%s %s%s%s",
		    due[i].recording_id, due[i].sid, error ? "failed" : "sent",
		    error ? ": " : "", error ? error : "");
	}
	return sent;
}
