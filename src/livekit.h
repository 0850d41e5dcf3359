/* SPDX-License-Identifier: ISC */
/*
 * livekit.h - LiveKit Egress over Twirp (StartRoomCompositeEgress,
 * StopEgress, ListEgress), the RoomService calls that tell a room it is
 * recorded (ListRooms, ListParticipants, UpdateRoomMetadata, SendData),
 * and the webhook signature check.  Replies are parsed in both of
 * LiveKit's spellings (snake_case from the open-source server, camelCase
 * from SDKs and webhooks); int64 values may be strings.
 */
#ifndef MR_LIVEKIT_H
#define MR_LIVEKIT_H

#include <stdint.h>
#include <json-c/json.h>

#include "mr.h"

enum mr_lk_status {
	MR_LK_STARTING = 0,
	MR_LK_ACTIVE,
	MR_LK_ENDING,
	MR_LK_COMPLETE,
	MR_LK_FAILED,
	MR_LK_ABORTED,
	MR_LK_LIMIT_REACHED,
	MR_LK_UNKNOWN
};

struct mr_lk_egress {
	const char		*egress_id;
	const char		*room_name;
	enum mr_lk_status	 status;
	const char		*status_name;	/* "EGRESS_ACTIVE", ... */
	int64_t			 updated_at;	/* ns */
	int64_t			 ended_at;	/* ns */
	const char		*error;
	int			 has_file;
	const char		*filename;
	const char		*location;
	int64_t			 size;
	int64_t			 duration;	/* ns, wall clock */
};

struct mr_lk {
	const char	*url;		/* http://host:port, no trailing / */
	const char	*key;
	const char	*secret;
	long		 timeout_ms;
};

/* Where Egress uploads the file itself (S3Upload), else NULL. */
struct mr_lk_s3 {
	const char	*access_key;
	const char	*secret;
	const char	*region;
	const char	*endpoint;
	const char	*bucket;
};

struct mr_lk_start {
	const char	*room_name;
	const char	*layout;
	int		 audio_only;
	const char	*filepath;	/* a path, or the key under s3 */
	const struct mr_lk_s3 *s3;
};

/*
 * A participant (ParticipantInfo), from a webhook or ListParticipants;
 * the strings point into the JSON it was read from.
 */
struct mr_lk_participant {
	const char	*sid;		/* PA_..., new for every session */
	const char	*identity;
	const char	*name;		/* or NULL */
	const char	*metadata;	/* or NULL */
	const char	*kind;		/* STANDARD, EGRESS, AGENT, ... */
	const char	*disconnect_reason;	/* or NULL */
	int64_t		 joined_at_ms;	/* 0 when not given */
};

/* A room (Room), from a webhook or ListRooms. */
struct mr_lk_room {
	const char	*sid;		/* or NULL */
	const char	*name;
	const char	*metadata;	/* "" when it has none */
	int64_t		 creation_ms;	/* Unix ms; 0 when not given */
};

/* A data message for SendData, always RELIABLE. */
struct mr_lk_data {
	const char		*room;
	const char		*payload;	/* bytes, sent as base64 */
	size_t			 len;
	const char		*topic;		/* or NULL */
	const char		*identity;	/* the one recipient, or NULL:
						   everyone in the room */
	unsigned char		 nonce[16];	/* LiveKit drops a repeat */
};

/*
 * RoomService calls are given at least this long: SendData to a room no
 * node hosts answers 503 only after about 15 s (doc/livekit-rooms.md,
 * 3.4).
 */
#define MR_LK_ROOM_TIMEOUT_MS	20000

/* Is status final (COMPLETE, FAILED, ABORTED, LIMIT_REACHED)? */
int	mr_lk_status_final(enum mr_lk_status);
/* Did an egress whose status is this name end with its file written? */
int	mr_lk_wrote_file(const char *);
enum mr_lk_status mr_lk_status_parse(struct json_object *);
const char *mr_lk_status_name(enum mr_lk_status);

/*
 * Parse an EgressInfo object (either spelling) into e; strings point into
 * obj.  Returns 0, or -1 when egressId is missing or a field is of the
 * wrong type.
 */
int	mr_lk_egress_parse(struct json_object *obj, struct mr_lk_egress *e);

/*
 * Parse a ParticipantInfo (either spelling, kind by name or number) into
 * p; strings point into obj.  Returns 0, or -1 when sid or identity is
 * missing or empty, or a field is of the wrong type.
 */
int	mr_lk_participant_parse(struct json_object *obj,
	    struct mr_lk_participant *p);
/* Parse a Room into r; -1 when name is missing or a type is wrong. */
int	mr_lk_room_parse(struct json_object *obj, struct mr_lk_room *r);

/*
 * Twirp calls.  They block for up to lk->timeout_ms (RoomService: at
 * least MR_LK_ROOM_TIMEOUT_MS).  Results live in
 * arena a.  On failure err carries one of:
 *   502 livekit_refused      LiveKit answered a Twirp error that says it
 *                            did not carry the call out (invalid_argument,
 *                            malformed, out_of_range, bad_route,
 *                            unimplemented, unauthenticated,
 *                            permission_denied, not_found, already_exists,
 *                            failed_precondition, each with Twirp's HTTP
 *                            status), or its auth middleware's plain-text
 *                            401; code and msg in detail, cause "twirp
 *                            <code>: ..."
 *   502 livekit_error        any other error answer: a Twirp code that does
 *                            not say so (internal, unknown, unavailable,
 *                            deadline_exceeded, resource_exhausted,
 *                            canceled, aborted, ...) or
 *                            a body that is not a Twirp error (a proxy's
 *                            HTML page)
 *   502 livekit_unreachable  the request was never sent (no name, no
 *                            connection, failed TLS handshake)
 *   504 livekit_timeout      no answer in time
 *   502 livekit_no_reply     the connection broke before an answer
 *   502 livekit_bad_reply    a 200 meetrec cannot read
 *   500 internal             out of memory
 */
int	mr_lk_start_egress(const struct mr_lk *, struct mr_arena *a,
	    const struct mr_lk_start *, struct mr_lk_egress *,
	    struct mr_err *err);
int	mr_lk_stop_egress(const struct mr_lk *, struct mr_arena *a,
	    const char *egress_id, struct mr_lk_egress *, struct mr_err *err);
int	mr_lk_list_egress(const struct mr_lk *, struct mr_arena *a,
	    const char *room_name, const char *egress_id, int active,
	    struct mr_lk_egress **items, int *n, struct mr_err *err);

/*
 * RoomService, each with a token granting what LiveKit's RoomService
 * asks of that method (roomList; roomAdmin for the room).
 * mr_lk_list_rooms: *found 1 with r filled when LiveKit has the room, 0
 * when it has none of that name.  mr_lk_list_participants: everyone in
 * the room, the egress's participant too; none for a room that does
 * not exist.
 */
int	mr_lk_list_rooms(const struct mr_lk *, struct mr_arena *a,
	    const char *room, struct mr_lk_room *r, int *found,
	    struct mr_err *err);
int	mr_lk_list_participants(const struct mr_lk *, struct mr_arena *a,
	    const char *room, struct mr_lk_participant **items, int *n,
	    struct mr_err *err);
int	mr_lk_update_room_metadata(const struct mr_lk *, struct mr_arena *a,
	    const char *room, const char *metadata, struct mr_err *err);
int	mr_lk_send_data(const struct mr_lk *, struct mr_arena *a,
	    const struct mr_lk_data *, struct mr_err *err);

/*
 * Does err prove that LiveKit did not carry the call out
 * (livekit_refused, livekit_unreachable)?  Any other failure of a Start
 * may have left an egress running.
 */
int	mr_lk_refused(const struct mr_err *err);
/*
 * Is err a refusal (livekit_refused) with this Twirp code, "not_found"
 * for one?  Such a code came with the HTTP status Twirp gives it (404
 * for not_found).  "-" is the plain-text 401 of LiveKit's auth
 * middleware, which has no Twirp code.
 */
int	mr_lk_refused_with(const struct mr_err *err, const char *twirp_code);
/* Did LiveKit (or a proxy in front of it) answer with an error status? */
int	mr_lk_answered(const struct mr_err *err);

/*
 * Verify a webhook: auth is the Authorization header (a bare JWT, or
 * "Bearer " + JWT), body the raw bytes.  HS256 with lk->secret, iss equal
 * to lk->key, exp required with leeway seconds, and the sha256 claim equal
 * to the base64 SHA-256 of body, compared in constant time.  Returns 0 or
 * -1 with err 401 invalid_signature.
 */
int	mr_lk_webhook_verify(const struct mr_lk *, struct mr_arena *a,
	    const char *auth, const char *body, size_t len, int64_t leeway,
	    struct mr_err *err);

#endif /* MR_LIVEKIT_H */
