/* SPDX-License-Identifier: ISC */
/*
 * livekit.c - the Egress and RoomService Twirp clients and the webhook
 * check (livekit.h).  Wire facts: ../shared/protocols/livekit.md
 * sections 1-4, and doc/livekit-rooms.md for rooms and participants.
 */
#include "config.h"

#include <string.h>

#include "mr.h"
#include "httpc.h"
#include "json.h"
#include "jwt.h"
#include "livekit.h"

static const char *const status_names[] = {
	"EGRESS_STARTING", "EGRESS_ACTIVE", "EGRESS_ENDING", "EGRESS_COMPLETE",
	"EGRESS_FAILED", "EGRESS_ABORTED", "EGRESS_LIMIT_REACHED",
	"EGRESS_UNKNOWN"
};

int
mr_lk_status_final(enum mr_lk_status s)
{
	return s == MR_LK_COMPLETE || s == MR_LK_FAILED ||
	    s == MR_LK_ABORTED || s == MR_LK_LIMIT_REACHED;
}

int
mr_lk_wrote_file(const char *name)
{
	return name != NULL && (strcmp(name, "EGRESS_COMPLETE") == 0 ||
	    strcmp(name, "EGRESS_LIMIT_REACHED") == 0);
}

const char *
mr_lk_status_name(enum mr_lk_status s)
{
	return (size_t)s < MR_NELEM(status_names) ? status_names[s] :
	    "EGRESS_UNKNOWN";
}

/* A name or a number; absent means EGRESS_STARTING (zero is omitted). */
enum mr_lk_status
mr_lk_status_parse(struct json_object *v)
{
	int64_t	 n;

	if (v == NULL)
		return MR_LK_STARTING;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		return n >= 0 && n < MR_LK_UNKNOWN ? (enum mr_lk_status)n :
		    MR_LK_UNKNOWN;
	}
	if (json_object_is_type(v, json_type_string))
		for (size_t i = 0; i < MR_LK_UNKNOWN; i++)
			if (strcmp(json_object_get_string(v),
			    status_names[i]) == 0)
				return (enum mr_lk_status)i;
	return MR_LK_UNKNOWN;
}

int
mr_lk_egress_parse(struct json_object *obj, struct mr_lk_egress *e)
{
	struct json_object	*files, *f = NULL;

	memset(e, 0, sizeof(*e));
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return -1;
	if (mr_json_lk_str(obj, "egressId", "egress_id", &e->egress_id) != 1 ||
	    *e->egress_id == '\0')
		return -1;
	if (mr_json_lk_str(obj, "roomName", "room_name", &e->room_name) == -1 ||
	    mr_json_lk_str(obj, "error", NULL, &e->error) == -1 ||
	    mr_json_lk_int64(obj, "updatedAt", "updated_at",
	    &e->updated_at) == -1 ||
	    mr_json_lk_int64(obj, "endedAt", "ended_at", &e->ended_at) == -1)
		return -1;
	e->status = mr_lk_status_parse(mr_json_get2(obj, "status", NULL));
	e->status_name = mr_lk_status_name(e->status);
	/* fileResults is authoritative; the legacy "file" is a fallback. */
	files = mr_json_get2(obj, "fileResults", "file_results");
	if (files != NULL && json_object_is_type(files, json_type_array) &&
	    json_object_array_length(files) > 0)
		f = json_object_array_get_idx(files, 0);
	else
		f = mr_json_get2(obj, "file", NULL);
	if (f != NULL && json_object_is_type(f, json_type_object)) {
		if (mr_json_lk_str(f, "filename", NULL, &e->filename) == -1 ||
		    mr_json_lk_str(f, "location", NULL, &e->location) == -1 ||
		    mr_json_lk_int64(f, "size", NULL, &e->size) == -1 ||
		    mr_json_lk_int64(f, "duration", NULL, &e->duration) == -1)
			return -1;
		e->has_file = (e->location && *e->location) ||
		    (e->filename && *e->filename);
	}
	return 0;
}

/*
 * What a call's token grants: Egress needs roomRecord; RoomService
 * roomList (ListRooms) or roomAdmin for the request's room.
 */
struct grant {
	const char	*service;	/* "Egress", "RoomService" */
	int		 record;
	int		 list;
	const char	*admin_room;	/* roomAdmin for this room, or NULL */
	long		 min_timeout_ms;
};

static const struct grant egress_grant = { "Egress", 1, 0, NULL, 0 };

/* A fresh API token for each call, as the SDKs do: 10 minutes. */
static char *
api_token(const struct mr_lk *lk, struct mr_arena *a, const struct grant *g)
{
	struct json_object	*p, *video;
	int64_t			 now = mr_now();
	char			*tok;

	if ((p = json_object_new_object()) == NULL)
		return NULL;
	video = json_object_new_object();
	json_object_object_add(p, "iss", json_object_new_string(lk->key));
	json_object_object_add(p, "nbf", json_object_new_int64(now));
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "exp", json_object_new_int64(now + 600));
	if (g->record)
		json_object_object_add(video, "roomRecord",
		    json_object_new_boolean(1));
	if (g->list)
		json_object_object_add(video, "roomList",
		    json_object_new_boolean(1));
	if (g->admin_room != NULL) {
		json_object_object_add(video, "roomAdmin",
		    json_object_new_boolean(1));
		json_object_object_add(video, "room",
		    json_object_new_string(g->admin_room));
	}
	json_object_object_add(p, "video", video);
	tok = mr_jwt_sign_hs256(a, p, (const unsigned char *)lk->secret,
	    strlen(lk->secret));
	json_object_put(p);
	return tok;
}

/*
 * Twirp's error codes (spec v7, twitchtv/twirp docs/spec_v7.md, "Error
 * codes") that say the server did not carry the request out: the client
 * sent something it refuses (invalid_argument, malformed, out_of_range,
 * bad_route, unimplemented), may not do it (unauthenticated,
 * permission_denied), or the state of things forbids it (not_found,
 * already_exists, failed_precondition).  With each, the HTTP status Twirp
 * gives it: a server must send that status, so another status means the
 * answer came from something else.
 *
 * Left out on purpose, as they do not prove it: canceled and
 * deadline_exceeded ("may be returned even if the operation has completed
 * successfully"), aborted, unknown, internal, unavailable, dataloss, and
 * resource_exhausted, a client-side code in Twirp's table but not in
 * LiveKit's Start: its server retries the internal StartEgress after a
 * worker timed out (deadline_exceeded), was unavailable or had no
 * capacity (resource_exhausted), up to 3 times with growing timeouts
 * (livekit/protocol rpc/egress_client.go: isErrRecoverable, retries), and
 * answers with the last try's error.  A worker may have started the
 * egress on an earlier try whose answer was lost, so neither LiveKit's
 * "unavailable: no response from servers" nor a resource_exhausted after
 * it proves there is no egress.
 */
static const struct {
	const char	*code;
	long		 status;
} refusals[] = {
	{ "invalid_argument", 400 },
	{ "malformed", 400 },
	{ "out_of_range", 400 },
	{ "unauthenticated", 401 },
	{ "permission_denied", 403 },
	{ "not_found", 404 },
	{ "bad_route", 404 },
	{ "already_exists", 409 },
	{ "failed_precondition", 412 },
	{ "unimplemented", 501 },
};

/*
 * Does an answer with HTTP status and Twirp code (NULL when the body is
 * not a Twirp error) prove that LiveKit did not carry the request out?
 * Its auth middleware answers 401 in plain text before any handler runs.
 */
static int
refusal(long status, const char *code)
{
	size_t	 i;

	if (code == NULL)
		return status == 401;
	for (i = 0; i < MR_NELEM(refusals); i++)
		if (strcmp(refusals[i].code, code) == 0)
			return status == refusals[i].status;
	return 0;
}

/* Is err a refusal, or a call never sent?  (livekit.h) */
int
mr_lk_refused(const struct mr_err *err)
{
	return err->code != NULL &&
	    (strcmp(err->code, "livekit_refused") == 0 ||
	    strcmp(err->code, "livekit_unreachable") == 0);
}

/*
 * Is err a refusal with Twirp code twirp_code?  (livekit.h)  twirp()
 * writes the code first in the cause, "twirp <code>: ...", and only calls
 * an answer livekit_refused when its HTTP status is the code's.
 */
int
mr_lk_refused_with(const struct mr_err *err, const char *twirp_code)
{
	size_t	 n = strlen(twirp_code);

	return err->code != NULL && strcmp(err->code, "livekit_refused") == 0 &&
	    strncmp(err->cause, "twirp ", 6) == 0 &&
	    strncmp(err->cause + 6, twirp_code, n) == 0 &&
	    err->cause[6 + n] == ':';
}

/* Is err an error answer, a refusal or not?  (livekit.h) */
int
mr_lk_answered(const struct mr_err *err)
{
	return err->code != NULL &&
	    (strcmp(err->code, "livekit_refused") == 0 ||
	    strcmp(err->code, "livekit_error") == 0);
}

/*
 * POST a Twirp method of service g->service, with a token granting g,
 * and a JSON body; on a 200 parse the reply object into *out (owned by
 * a).  An error answer is 502 livekit_refused when it
 * proves LiveKit did not carry the request out (refusal() above), else
 * 502 livekit_error; either way the cause starts with "twirp <code>"
 * ("twirp -" for a body that is not a Twirp error, such as a proxy's
 * page).  A transport failure is 502 livekit_unreachable (not sent), 504
 * livekit_timeout or 502 livekit_no_reply; a 200 that cannot be read is
 * 502 livekit_bad_reply.
 */
static int
twirp(const struct mr_lk *lk, struct mr_arena *a, const struct grant *g,
    const char *method, struct json_object *body, struct json_object **out,
    struct mr_err *err)
{
	struct mr_httpc_req	 rq;
	struct mr_httpc_resp	 rs;
	struct json_object	*reply;
	const char		*hdrs[4], *code = NULL, *msg = "";
	char			*tok, *json;
	struct mr_err		 perr;

	if ((tok = api_token(lk, a, g)) == NULL ||
	    (json = mr_json_dump(a, body)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = mr_printf(a, "Authorization: Bearer %s", tok);
	hdrs[2] = "User-Agent: meetrec/" PACKAGE_VERSION;
	hdrs[3] = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = mr_printf(a, "%s/twirp/livekit.%s/%s", lk->url, g->service,
	    method);
	rq.headers = hdrs;
	rq.body = json;
	rq.bodylen = strlen(json);
	rq.timeout_ms = lk->timeout_ms > g->min_timeout_ms ? lk->timeout_ms :
	    g->min_timeout_ms;
	if (rq.url == NULL || hdrs[1] == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (mr_httpc_do(a, &rq, &rs, err) == -1) {
		mr_err_cause(err, "livekit %s", method);
		if (err->status == 504)
			return mr_err_set(err, 504, "livekit_timeout",
			    "LiveKit did not answer in time.");
		if (strcmp(err->code, "upstream_unreachable") == 0)
			return mr_err_set(err, 502, "livekit_unreachable",
			    "LiveKit could not be reached.");
		if (strcmp(err->code, "upstream_no_reply") == 0)
			return mr_err_set(err, 502, "livekit_no_reply",
			    "The connection to LiveKit broke before it "
			    "answered.");
		return -1;
	}
	mr_err_clear(&perr);
	reply = rs.len > 0 ? mr_json_parse(a, rs.body, rs.len, &perr) : NULL;
	if (rs.status != 200) {
		/* A Twirp error: a JSON object with a string "code". */
		if (reply != NULL &&
		    mr_json_lk_str(reply, "code", NULL, &code) == 1) {
			if (mr_json_lk_str(reply, "msg", NULL, &msg) != 1)
				msg = "";
		} else {
			code = NULL;
			msg = rs.body;
		}
		mr_err_cause(err, "twirp %s: livekit %s answered %ld: %.200s",
		    code ? code : "-", method, rs.status, msg);
		if (refusal(rs.status, code))
			return mr_err_set(err, 502, "livekit_refused",
			    "LiveKit refused the request: %.64s: %.150s",
			    code ? code : "unauthenticated", msg);
		if (code != NULL)
			return mr_err_set(err, 502, "livekit_error",
			    "LiveKit answered with an error: %.64s: %.150s",
			    code, msg);
		return mr_err_set(err, 502, "livekit_error",
		    "LiveKit answered with HTTP status %ld.", rs.status);
	}
	if (reply == NULL) {
		mr_err_cause(err, "livekit %s: reply is not a JSON object",
		    method);
		return mr_err_set(err, 502, "livekit_bad_reply",
		    "LiveKit sent a reply meetrec cannot read.");
	}
	*out = reply;
	return 0;
}

static int
one_egress(struct json_object *reply, struct mr_lk_egress *e,
    struct mr_err *err)
{
	if (mr_lk_egress_parse(reply, e) == -1) {
		mr_err_cause(err, "livekit reply has no usable EgressInfo");
		return mr_err_set(err, 502, "livekit_bad_reply",
		    "LiveKit sent a reply meetrec cannot read.");
	}
	return 0;
}

int
mr_lk_start_egress(const struct mr_lk *lk, struct mr_arena *a,
    const struct mr_lk_start *st, struct mr_lk_egress *e, struct mr_err *err)
{
	struct json_object	*body, *outs, *out, *up, *reply;
	int			 rc;

	/* The body the JS SDK sends for {file: ...} (livekit.md 1.3). */
	if ((body = mr_json_own(a, json_object_new_object())) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "roomName",
	    json_object_new_string(st->room_name));
	if (st->layout != NULL && !st->audio_only)
		json_object_object_add(body, "layout",
		    json_object_new_string(st->layout));
	if (st->audio_only)
		json_object_object_add(body, "audioOnly",
		    json_object_new_boolean(1));
	outs = json_object_new_array();
	out = json_object_new_object();
	json_object_object_add(out, "fileType",
	    json_object_new_string(st->audio_only ? "OGG" : "MP4"));
	json_object_object_add(out, "filepath",
	    json_object_new_string(st->filepath));
	json_object_object_add(out, "disableManifest",
	    json_object_new_boolean(1));
	if (st->s3 != NULL) {
		/* S3Upload (livekit.md 6a); path style for any service. */
		up = json_object_new_object();
		json_object_object_add(up, "accessKey",
		    json_object_new_string(st->s3->access_key));
		json_object_object_add(up, "secret",
		    json_object_new_string(st->s3->secret));
		json_object_object_add(up, "region",
		    json_object_new_string(st->s3->region));
		json_object_object_add(up, "endpoint",
		    json_object_new_string(st->s3->endpoint));
		json_object_object_add(up, "bucket",
		    json_object_new_string(st->s3->bucket));
		json_object_object_add(up, "forcePathStyle",
		    json_object_new_boolean(1));
		json_object_object_add(out, "s3", up);
	}
	json_object_array_add(outs, out);
	json_object_object_add(body, "fileOutputs", outs);
	if ((rc = twirp(lk, a, &egress_grant, "StartRoomCompositeEgress",
	    body, &reply, err)) == -1)
		return -1;
	return one_egress(reply, e, err);
}

int
mr_lk_stop_egress(const struct mr_lk *lk, struct mr_arena *a,
    const char *egress_id, struct mr_lk_egress *e, struct mr_err *err)
{
	struct json_object	*body, *reply;

	if ((body = mr_json_own(a, json_object_new_object())) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "egressId",
	    json_object_new_string(egress_id));
	if (twirp(lk, a, &egress_grant, "StopEgress", body, &reply, err) == -1)
		return -1;
	return one_egress(reply, e, err);
}

int
mr_lk_list_egress(const struct mr_lk *lk, struct mr_arena *a,
    const char *room_name, const char *egress_id, int active,
    struct mr_lk_egress **items, int *n, struct mr_err *err)
{
	struct json_object	*body, *reply, *arr;
	size_t			 i, len;

	if ((body = mr_json_own(a, json_object_new_object())) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (room_name != NULL)
		json_object_object_add(body, "roomName",
		    json_object_new_string(room_name));
	if (egress_id != NULL)
		json_object_object_add(body, "egressId",
		    json_object_new_string(egress_id));
	if (active)
		json_object_object_add(body, "active",
		    json_object_new_boolean(1));
	if (twirp(lk, a, &egress_grant, "ListEgress", body, &reply, err) == -1)
		return -1;
	arr = mr_json_get2(reply, "items", NULL);
	len = arr && json_object_is_type(arr, json_type_array) ?
	    json_object_array_length(arr) : 0;
	if ((*items = mr_calloc(a, len + 1, sizeof(**items))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < len; i++)
		if (one_egress(json_object_array_get_idx(arr, i),
		    &(*items)[i], err) == -1)
			return -1;
	*n = (int)len;
	return 0;
}

/* ParticipantInfo.Kind by number (livekit_models.proto). */
static const char *const kinds[] = {
	"STANDARD", "INGRESS", "EGRESS", "SIP", "AGENT", NULL, NULL,
	"CONNECTOR", "BRIDGE"
};

int
mr_lk_participant_parse(struct json_object *obj, struct mr_lk_participant *p)
{
	struct json_object	*k;
	int64_t			 s = 0, n;

	memset(p, 0, sizeof(*p));
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return -1;
	if (mr_json_lk_str(obj, "sid", NULL, &p->sid) != 1 ||
	    *p->sid == '\0' ||
	    mr_json_lk_str(obj, "identity", NULL, &p->identity) != 1 ||
	    *p->identity == '\0')
		return -1;
	if (mr_json_lk_str(obj, "name", NULL, &p->name) == -1 ||
	    mr_json_lk_str(obj, "metadata", NULL, &p->metadata) == -1 ||
	    mr_json_lk_str(obj, "disconnectReason", "disconnect_reason",
	    &p->disconnect_reason) == -1 ||
	    mr_json_lk_int64(obj, "joinedAtMs", "joined_at_ms",
	    &p->joined_at_ms) == -1 ||
	    mr_json_lk_int64(obj, "joinedAt", "joined_at", &s) == -1)
		return -1;
	/* Older servers send joinedAt (s) alone. */
	if (p->joined_at_ms <= 0 && s > 0 && s < INT64_MAX / 1000)
		p->joined_at_ms = s * 1000;
	/* An enum: by name, by number, or left out for STANDARD (zero). */
	p->kind = "STANDARD";
	if ((k = mr_json_get2(obj, "kind", NULL)) != NULL) {
		if (json_object_is_type(k, json_type_string))
			p->kind = json_object_get_string(k);
		else if (json_object_is_type(k, json_type_int)) {
			n = json_object_get_int64(k);
			p->kind = n >= 0 && (size_t)n < MR_NELEM(kinds) &&
			    kinds[n] != NULL ? kinds[n] : "UNKNOWN";
		} else
			return -1;
	}
	if (*p->kind == '\0' || strlen(p->kind) > 16)
		return -1;
	return 0;
}

int
mr_lk_room_parse(struct json_object *obj, struct mr_lk_room *r)
{
	int64_t	 s = 0;

	memset(r, 0, sizeof(*r));
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return -1;
	if (mr_json_lk_str(obj, "name", NULL, &r->name) != 1 ||
	    *r->name == '\0' ||
	    mr_json_lk_str(obj, "sid", NULL, &r->sid) == -1 ||
	    mr_json_lk_str(obj, "metadata", NULL, &r->metadata) == -1 ||
	    mr_json_lk_int64(obj, "creationTimeMs", "creation_time_ms",
	    &r->creation_ms) == -1 ||
	    mr_json_lk_int64(obj, "creationTime", "creation_time", &s) == -1)
		return -1;
	if (r->creation_ms <= 0 && s > 0 && s < INT64_MAX / 1000)
		r->creation_ms = s * 1000;
	if (r->metadata == NULL)
		r->metadata = "";
	return 0;
}

/*
 * RoomService (doc/livekit-rooms.md, 3): ListRooms needs roomList, the
 * others roomAdmin for the request's room, or LiveKit answers 401
 * unauthenticated "permissions denied".
 */
static void
room_grant(struct grant *g, const char *room)
{
	memset(g, 0, sizeof(*g));
	g->service = "RoomService";
	g->admin_room = room;
	g->list = room == NULL;
	g->min_timeout_ms = MR_LK_ROOM_TIMEOUT_MS;
}

static int
room_bad_reply(struct mr_err *err, const char *method)
{
	mr_err_cause(err, "livekit %s: reply does not fit its type", method);
	return mr_err_set(err, 502, "livekit_bad_reply",
	    "LiveKit sent a reply meetrec cannot read.");
}

int
mr_lk_list_rooms(const struct mr_lk *lk, struct mr_arena *a,
    const char *room, struct mr_lk_room *r, int *found, struct mr_err *err)
{
	struct json_object	*body, *names, *reply, *arr, *it;
	struct grant		 g;
	size_t			 i, len;

	*found = 0;
	room_grant(&g, NULL);
	if ((body = mr_json_own(a, json_object_new_object())) == NULL ||
	    (names = json_object_new_array()) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "names", names);
	json_object_array_add(names, json_object_new_string(room));
	if (twirp(lk, a, &g, "ListRooms", body, &reply, err) == -1)
		return -1;
	arr = mr_json_get2(reply, "rooms", NULL);
	if (arr != NULL && !json_object_is_type(arr, json_type_array))
		return room_bad_reply(err, "ListRooms");
	len = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < len; i++) {
		it = json_object_array_get_idx(arr, i);
		if (mr_lk_room_parse(it, r) == -1)
			return room_bad_reply(err, "ListRooms");
		if (strcmp(r->name, room) == 0) {
			*found = 1;
			return 0;
		}
	}
	memset(r, 0, sizeof(*r));
	return 0;
}

int
mr_lk_list_participants(const struct mr_lk *lk, struct mr_arena *a,
    const char *room, struct mr_lk_participant **items, int *n,
    struct mr_err *err)
{
	struct json_object	*body, *reply, *arr;
	struct grant		 g;
	size_t			 i, len;

	room_grant(&g, room);
	if ((body = mr_json_own(a, json_object_new_object())) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "room", json_object_new_string(room));
	if (twirp(lk, a, &g, "ListParticipants", body, &reply, err) == -1)
		return -1;
	arr = mr_json_get2(reply, "participants", NULL);
	if (arr != NULL && !json_object_is_type(arr, json_type_array))
		return room_bad_reply(err, "ListParticipants");
	len = arr != NULL ? json_object_array_length(arr) : 0;
	if ((*items = mr_calloc(a, len + 1, sizeof(**items))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < len; i++)
		if (mr_lk_participant_parse(json_object_array_get_idx(arr, i),
		    &(*items)[i]) == -1)
			return room_bad_reply(err, "ListParticipants");
	*n = (int)len;
	return 0;
}

int
mr_lk_update_room_metadata(const struct mr_lk *lk, struct mr_arena *a,
    const char *room, const char *metadata, struct mr_err *err)
{
	struct json_object	*body, *reply;
	struct grant		 g;

	room_grant(&g, room);
	if ((body = mr_json_own(a, json_object_new_object())) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "room", json_object_new_string(room));
	json_object_object_add(body, "metadata",
	    json_object_new_string(metadata));
	return twirp(lk, a, &g, "UpdateRoomMetadata", body, &reply, err);
}

int
mr_lk_send_data(const struct mr_lk *lk, struct mr_arena *a,
    const struct mr_lk_data *d, struct mr_err *err)
{
	struct json_object	*body, *reply, *to;
	struct grant		 g;
	char			*data, *nonce;

	room_grant(&g, d->room);
	if ((body = mr_json_own(a, json_object_new_object())) == NULL ||
	    (data = mr_b64_encode(a, d->payload, d->len)) == NULL ||
	    (nonce = mr_b64_encode(a, d->nonce, sizeof(d->nonce))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	json_object_object_add(body, "room", json_object_new_string(d->room));
	json_object_object_add(body, "data", json_object_new_string(data));
	json_object_object_add(body, "kind",
	    json_object_new_string("RELIABLE"));
	if (d->topic != NULL)
		json_object_object_add(body, "topic",
		    json_object_new_string(d->topic));
	if (d->identity != NULL) {
		if ((to = json_object_new_array()) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		json_object_object_add(body, "destinationIdentities", to);
		json_object_array_add(to, json_object_new_string(d->identity));
	}
	json_object_object_add(body, "nonce", json_object_new_string(nonce));
	return twirp(lk, a, &g, "SendData", body, &reply, err);
}

int
mr_lk_webhook_verify(const struct mr_lk *lk, struct mr_arena *a,
    const char *auth, const char *body, size_t len, int64_t leeway,
    struct mr_err *err)
{
	struct mr_jwt_verifier	 v;
	struct json_object	*claims;
	const char		*claim = NULL;
	unsigned char		 digest[MR_SHA256_LEN];
	unsigned char		*want = NULL;
	size_t			 wantlen = 0;

	if (auth == NULL || *auth == '\0')
		return mr_err_set(err, 401, "invalid_signature",
		    "The webhook has no Authorization header.");
	/* LiveKit sends the bare token; accept a Bearer prefix anyway. */
	if (strncmp(auth, "Bearer ", 7) == 0)
		auth += 7;
	memset(&v, 0, sizeof(v));
	v.secret = (const unsigned char *)lk->secret;
	v.secretlen = strlen(lk->secret);
	v.leeway = leeway;
	v.issuer = lk->key;
	if (mr_jwt_verify(a, auth, strlen(auth), &v, mr_now(), &claims,
	    err) == -1) {
		mr_err_cause(err, "webhook token: %s", err->detail);
		return mr_err_set(err, 401, "invalid_signature",
		    "The webhook signature is not valid.");
	}
	if (mr_json_lk_str(claims, "sha256", NULL, &claim) != 1 ||
	    mr_b64_decode(a, claim, strlen(claim), &want, &wantlen) == -1 ||
	    wantlen != MR_SHA256_LEN || mr_sha256(body, len, digest) == -1 ||
	    !mr_ct_equal(digest, want, MR_SHA256_LEN)) {
		mr_err_cause(err, "webhook body does not match its sha256 "
		    "claim");
		return mr_err_set(err, 401, "invalid_signature",
		    "The webhook signature does not match its body.");
	}
	return 0;
}
