/* SPDX-License-Identifier: ISC */
/*
 * ledger.h - the participants ledger (consent ledger): who was in a
 * LiveKit room while one of its recordings ran, what they were told
 * (the room's metadata and a data message when the recording began, a
 * message of their own when they joined later) and what they answered
 * (acknowledge or object).  ledger.c does what involves LiveKit,
 * db_ledger.c the tables of sql/012_participants.sql.  Every string
 * lives in the arena passed to the function that filled it.
 */
#ifndef MR_LEDGER_H
#define MR_LEDGER_H

#include <stdint.h>
#include <json-c/json.h>

#include "mr.h"
#include "db.h"
#include "livekit.h"

#define MR_LEDGER_TOPIC		"meetrec.recording"	/* SendData topic */
#define MR_LEDGER_COMMENT_MAX	1000	/* characters of an answer's comment */
#define MR_LEDGER_LIST_MAX	5000	/* rows GET participants answers */
#define MR_LEDGER_LISTED_MAX	1000	/* ListParticipants rows taken */
#define MR_LEDGER_DUE_MAX	50	/* late notices sent per request */

/* A participant session as the ledger keeps it. */
struct mr_ledger_part {
	const char	*sid;
	const char	*identity;
	const char	*name;		/* or NULL */
	const char	*kind;		/* STANDARD, AGENT, ... never EGRESS */
	const char	*user_id;	/* the mapped user, or NULL */
	int64_t		 joined_ms;	/* Unix ms; 0: now */
};

/* A room or participant webhook, checked and mapped (ledger.c). */
enum mr_ledger_ev {
	MR_LEDGER_ROOM_STARTED,
	MR_LEDGER_ROOM_FINISHED,
	MR_LEDGER_JOINED,
	MR_LEDGER_LEFT,
	MR_LEDGER_ABORTED	/* left without ever being in the room */
};

struct mr_ledger_event {
	enum mr_ledger_ev	 ev;
	const char		*id;		/* the webhook's event id */
	const char		*name;		/* its event name */
	int64_t			 created_at;	/* s; 0: not given */
	const char		*room;
	const char		*room_sid;	/* or NULL */
	int64_t			 room_created_ms;	/* 0: not given */
	struct mr_ledger_part	 part;		/* participant events */
	const char		*left_reason;	/* or NULL */
};

/* What the room was told when the recording began. */
struct mr_ledger_notice {
	char	*status;	/* sent, partial, failed; NULL: nothing yet */
	char	*metadata;	/* updated, skipped, failed */
	char	*data;		/* sent, skipped, failed */
	char	*error;
	char	*sent_at;
	int64_t	 objections;	/* users whose last answer is object */
};

/* A row of a recording's ledger, with the user's answer, as text. */
struct mr_ledger_row {
	char	*sid;
	char	*identity;
	char	*name;
	char	*kind;
	char	*user_id;
	char	*joined_at;
	char	*left_at;
	char	*left_reason;
	char	*source;
	char	*notice_at;
	char	*notice_status;
	char	*notice_error;
	char	*answer;
	char	*comment;
	char	*answered_at;
};

/* A notice still to send to one participant. */
struct mr_ledger_due {
	char	*recording_id;
	char	*room;
	char	*sid;
	char	*identity;
	char	*recorded_by;
	char	*recorded_by_name;
	char	*started_at;
};

/* A user's answer, as it stands. */
struct mr_ledger_answer {
	char	*answer;
	char	*comment;
	char	*answered_at;
	int	 changed;	/* this request changed it (and was audited) */
};

/* What ledger.c needs of its caller. */
struct mr_ledger_env {
	struct mr_db		*db;
	const struct mr_lk	*lk;
	const char		*identity_map;	/* livekit_user_identity */
	const char		*public_url;
};

/* The recording whose start is told to its room. */
struct mr_ledger_start {
	const char	*recording_id;
	const char	*room;
	const char	*user_id;	/* who started it */
	const char	*user_name;	/* or NULL */
	const char	*started_at;	/* mr_ledger_end: when, or NULL */
};

/* ledger.c */
/*
 * The user participant p maps to under map (livekit_user_identity): its
 * identity, or the string field of its JSON metadata, when that is a
 * UUID; lower case, in a.  NULL when it maps to nobody (or out of
 * memory, which is the same to the ledger).
 */
const char *mr_ledger_user(struct mr_arena *a, const char *map,
	    const struct mr_lk_participant *p);
/*
 * Read a verified webhook ev of event name `name`: 1 with e filled for
 * a room or participant event of a room meetrec may have (its name is a
 * room code; never the egress's own participant), 0 for any other event
 * (nothing to do), -1 with err 400 invalid_event when its room or
 * participant is missing or malformed.
 */
int	mr_ledger_event_read(struct mr_arena *a, const char *map,
	    struct json_object *ev, const char *id, const char *name,
	    int64_t created_at, struct mr_ledger_event *e, struct mr_err *err);
/*
 * A recording has begun (its egress is running): put who is in the room
 * into its ledger (ListParticipants, and the presences its webhooks
 * left), tell the room (UpdateRoomMetadata, then SendData to everyone)
 * and record how that went, then send their own message to anyone who
 * came in meanwhile.  Blocks on LiveKit (up to MR_LK_ROOM_TIMEOUT_MS a
 * call).  A failure of LiveKit is recorded, not returned: -1 only when
 * the database failed (err set; the recording itself is not affected).
 */
int	mr_ledger_begin(const struct mr_ledger_env *, struct mr_arena *a,
	    const struct mr_ledger_start *, struct mr_err *err);
/*
 * Recording st->recording_id was stopped: its key comes out of the
 * room's metadata (when it is still this recording's) and everyone in
 * the room gets a message saying so.  Best effort: what fails is
 * logged, nothing is recorded.  Blocks on LiveKit as mr_ledger_begin.
 */
void	mr_ledger_end(const struct mr_ledger_env *, struct mr_arena *a,
	    const struct mr_ledger_start *);
/*
 * Send their own data message to the participants of recordings being
 * recorded (of room, or recording rec, either may be NULL) who joined
 * after the room was told, at most MR_LEDGER_DUE_MAX; each outcome is a
 * ledger write with its audit row.  Returns how many were sent, or -1
 * (err) when the database failed.
 */
int	mr_ledger_tell_due(const struct mr_ledger_env *, struct mr_arena *a,
	    const char *rec, const char *room, struct mr_err *err);

/* db_ledger.c */
/*
 * Apply a room or participant webhook in one transaction, deduplicated
 * by its event id (pm_livekit_webhook_events).  Sets *duplicate for an
 * event seen before.  Returns 1 when a row changed, 0 when none did,
 * -1 (rolled back: LiveKit should send it again).
 */
int	mr_db_ledger_event(struct mr_db *, struct mr_arena *,
	    const struct mr_ledger_event *, int *duplicate, struct mr_err *);
/*
 * Add the participants ListParticipants gave (listed, n of them, NULL
 * when the call failed) and the room's open presences to recording
 * rec's ledger.  *sids gets the sessions now open in it that have had
 * no notice, *started when the recording began (ISO 8601).
 */
int	mr_db_ledger_add(struct mr_db *, struct mr_arena *, const char *rec,
	    const char *room, const struct mr_ledger_part *listed, int n,
	    char ***sids, int *nsids, char **started, struct mr_err *);
/*
 * Record what the room was told (status, metadata and data as in
 * struct mr_ledger_notice; error NULL when nothing failed), and give
 * the sessions sids[0..n) the room's notice, with the audit row
 * `notice` (actor: mr_db_actor).  0, or -1.
 */
int	mr_db_ledger_noticed(struct mr_db *, struct mr_arena *,
	    const char *rec, const char *status, const char *metadata,
	    const char *data, const char *error, char *const *sids, int n,
	    struct mr_err *);
int	mr_db_ledger_due(struct mr_db *, struct mr_arena *, const char *rec,
	    const char *room, int max, struct mr_ledger_due **, int *n,
	    struct mr_err *);
/* One participant's own notice: sent (error NULL) or failed. 1 or 0. */
int	mr_db_ledger_told(struct mr_db *, struct mr_arena *, const char *rec,
	    const char *sid, const char *error, struct mr_err *);
/*
 * User's answer (acknowledge or object) to recording rec, with its
 * audit row (consent or objection; actor: mr_db_actor) when it changed
 * the answer: 1 with out filled, 0 when no participant of rec maps to
 * the user.
 */
int	mr_db_ledger_answer(struct mr_db *, struct mr_arena *, const char *rec,
	    const char *user, const char *answer, const char *comment,
	    struct mr_ledger_answer *out, struct mr_err *);
/* Recording rec's notice and up to max ledger rows, in joining order. */
int	mr_db_ledger_list(struct mr_db *, struct mr_arena *, const char *rec,
	    int max, struct mr_ledger_notice *, struct mr_ledger_row **,
	    int *n, struct mr_err *);

#endif /* MR_LEDGER_H */
