/* SPDX-License-Identifier: ISC */
/*
 * model.h - the rows meetrec works with, as arena structs, and the query
 * functions of the db_*.c files.  Every string lives in the arena passed
 * to the function that filled it.  Functions returning int give 1
 * found/applied, 0 not found/not applied, -1 error (err set).
 */
#ifndef MR_MODEL_H
#define MR_MODEL_H

#include <stdint.h>

#include "mr.h"
#include "db.h"

struct mr_room {
	char	*id;
	char	*room_code;
	char	*name;
	char	*created_by;
	char	*company_id;
	char	*status;
};

struct mr_recording {
	char	*id;
	char	*room_code;
	char	*company_id;
	char	*egress_id;
	char	*egress_status;
	char	*status;
	char	*recorded_by;
	char	*recorded_by_name;
	char	*recorded_by_email;
	char	*layout;
	int	 audio_only;
	char	*file_name;
	char	*storage_type;
	char	*storage_path;
	int64_t	 file_size_bytes;	/* -1 when unknown */
	int64_t	 duration_seconds;	/* whole seconds, -1 when unknown */
	char	*checksum_sha256;
	int	 is_public;
	char	*allowed_viewers;	/* PostgreSQL array text, "{}" */
	char	*started_at;		/* ISO 8601 text or NULL */
	char	*ended_at;
	char	*expires_at;
	char	*created_at;
	char	*updated_at;
	char	*last_error;
	int64_t	 upload_attempts;
	char	*media_finding;	/* the probe's finding, or NULL */
	int	 store_as_is;	/* an admin asked to store it anyway */
	char	*meeting_name;
	char	*room_host;		/* created_by of the room */
	char	*deleted_at;
	int64_t	 started_epoch;		/* Unix seconds (created if unset) */
	char	*meeting_id;		/* the room (pm_meeting_rooms.id) */
	int64_t	 duration_ms;		/* -1 when unknown */
	int	 is_encrypted;		/* the seed's flags, false so far */
	int	 watermark_applied;
	char	*legal_hold_reason;	/* on legal hold: why, or NULL */
	char	*legal_hold_by;		/* the admin who put it (or NULL) */
	char	*legal_hold_at;		/* since when (ISO 8601) or NULL */
	/* mr_db_rec_status and mr_db_rec_details only: */
	char	*transcript_status;	/* pending, done, failed, or NULL
					   (none) */
	/* mr_db_rec_details only: */
	char	*transcript_error;
	char	*transcript_language;
	char	*transcript_chapters;	/* [[start_ms, title], ...] or
					   NULL */
};

/* A company's policy (pm_company_policies). */
struct mr_policy {
	int64_t	 retention_default_days;	/* -1: meetrec.conf's */
	int64_t	 retention_max_days;		/* 0: no bound */
	const char *auto_share;			/* none | participants */
	char	*updated_at;			/* NULL: never set */
};

/* What a page of the audit trail is cut to (NULL or 0: any). */
struct mr_audit_filter {
	const char	*company;
	const char	*user;
	const char	*recording;
	const char	*action;
	const char	*from;		/* accessed_at >= from */
	const char	*to;		/* accessed_at < to */
	int64_t		 before;	/* seq < before */
	int64_t		 limit;
};

/* A row of the audit trail, as text. */
struct mr_audit_row {
	int64_t	 seq;
	char	*id;
	char	*company_id;
	char	*recording_id;
	char	*user_id;
	char	*user_email;
	char	*action;
	char	*ip;
	char	*agent;
	char	*share_id;
	char	*at;
	char	*detail;	/* JSON text or NULL */
	char	*prev_hash;
	char	*row_hash;
};

struct mr_rec_new {
	const char	*room_code;
	const char	*meeting_id;	/* the room's pm_meeting_rooms.id */
	const char	*company_id;
	const char	*recorded_by;
	const char	*recorded_by_name;
	const char	*recorded_by_email;
	const char	*layout;
	int		 audio_only;
	int64_t		 retention_days;	/* 0 = keep */
};

struct mr_rec_filter {
	const char	*company_id;
	const char	*user_id;
	const char	*scope;		/* mine, shared, company */
	const char	*room_code;	/* or NULL */
	const char	*status;	/* or NULL */
	const char	*cursor_ts;	/* keyset: created_at and id, or NULL */
	const char	*cursor_id;
	int64_t		 limit;
	int64_t		 offset;
};

struct mr_share {
	char	*id;
	char	*recording_id;
	char	*password_hash;		/* NULL: no password */
	char	*created_by;
	char	*expires_at;		/* ISO 8601 text */
	char	*revoked_at;
	char	*created_at;
	char	*last_viewed_at;
	int64_t	 view_count;
	int64_t	 expires_epoch;		/* Unix seconds */
	int	 expired;		/* expires_at has passed */
};

struct mr_access_entry {
	char	*id;
	char	*user_id;
	char	*user_email;
	char	*action;
	char	*ip_address;
	char	*user_agent;
	char	*share_id;
	char	*accessed_at;
};

/* db_room.c */
int	mr_db_room_get(struct mr_db *, struct mr_arena *, const char *code,
	    struct mr_room *, struct mr_err *);
int	mr_db_room_add(struct mr_db *, struct mr_arena *, const char *code,
	    const char *name, const char *host, const char *company,
	    char **id, struct mr_err *);
/* At most limit rooms of company (NULL: all) after room code after. */
int	mr_db_room_list(struct mr_db *, struct mr_arena *, const char *company,
	    const char *after, int64_t limit, struct mr_room **, int *n,
	    struct mr_err *);
/* 1 deleted, 0 no such room, -1 (409 room_busy while it is recorded). */
int	mr_db_room_del(struct mr_db *, struct mr_arena *, const char *code,
	    const char *company, struct mr_err *);

/* db_recording.c */
void	mr_db_rec_fill(struct mr_arena *, PGresult *, int,
	    struct mr_recording *);
int	mr_db_rec_insert(struct mr_db *, struct mr_arena *,
	    const struct mr_rec_new *, char **id, struct mr_err *);
int	mr_db_rec_get(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_recording *, struct mr_err *);
/* Only what the status endpoint and its access check read. */
/* As mr_db_rec_get, with the transcript's state and chapters. */
int	mr_db_rec_details(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_recording *, struct mr_err *);
int	mr_db_rec_status(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_recording *, struct mr_err *);
int	mr_db_rec_started(struct mr_db *, struct mr_arena *, const char *id,
	    const char *egress_id, const char *egress_status,
	    struct mr_err *);
int	mr_db_rec_start_failed(struct mr_db *, struct mr_arena *,
	    const char *id, const char *reason, struct mr_err *);
int	mr_db_rec_stop(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_err *);
int	mr_db_rec_trash(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_err *);
int	mr_db_rec_unstop(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_err *);
int	mr_db_rec_set_access(struct mr_db *, struct mr_arena *,
	    const char *id, int is_public, const char *viewers,
	    struct mr_recording *, struct mr_err *);
int	mr_db_access_log(struct mr_db *, struct mr_arena *, const char *id,
	    const char *cursor_ts, const char *cursor_id, int64_t limit,
	    struct mr_access_entry **, int *n, int64_t *total, int *exact,
	    struct mr_err *);
int	mr_db_rec_list(struct mr_db *, struct mr_arena *,
	    const struct mr_rec_filter *, struct mr_recording **, int *n,
	    int64_t *total, int *exact, struct mr_err *);

/* db_share.c */
int64_t	mr_db_share_active(struct mr_db *, struct mr_arena *,
	    const char *rec_id, struct mr_err *);
/* 1 created, 0 when rec_id already has max_active links that work. */
int	mr_db_share_create(struct mr_db *, struct mr_arena *,
	    const char *rec_id, const char *token_sha256,
	    const char *password_hash, const char *created_by,
	    int64_t expires_in, int64_t max_active, struct mr_share *,
	    struct mr_err *);
int	mr_db_share_list(struct mr_db *, struct mr_arena *,
	    const char *rec_id, const char *cursor_ts, const char *cursor_id,
	    int64_t limit, struct mr_share **, int *n, int64_t *total,
	    struct mr_err *);
int	mr_db_share_revoke(struct mr_db *, struct mr_arena *,
	    const char *rec_id, const char *share_id, struct mr_share *,
	    struct mr_err *);
/*
 * Share link share_id of a recording of company (NULL: any) that is not
 * in the trash: 1 with s filled, 0 when there is none.
 */
int	mr_db_share_get(struct mr_db *, struct mr_arena *,
	    const char *share_id, const char *company, struct mr_share *,
	    struct mr_err *);
/* The share with this token hash and its recording (trashed ones too). */
int	mr_db_share_find(struct mr_db *, struct mr_arena *,
	    const char *token_sha256, struct mr_share *,
	    struct mr_recording *, struct mr_err *);
/* A password try: 0 with *wait_s when the link is locked. */
int	mr_db_share_try(struct mr_db *, struct mr_arena *,
	    const char *share_id, int64_t *wait_s, struct mr_err *);
/*
 * A view of the link: forgives earlier wrong passwords and, once per
 * viewing (client address and user agent) within window_s seconds,
 * counts it and writes its share_view audit row.  1, or 0 if the link
 * stopped working since.
 */
int	mr_db_share_viewed(struct mr_db *, struct mr_arena *,
	    const char *share_id, const char *ip, const char *agent,
	    int64_t window_s, struct mr_err *);

/* db_audit.c */
#define MR_AUDIT_AGENT_MAX	512	/* bytes of a user agent kept */

struct mr_audit {
	const char	*recording_id;
	const char	*share_id;	/* the share link concerned, or NULL */
	const char	*user_id;	/* NULL for whoever holds a link */
	const char	*user_email;
	const char	*action;
	const char	*ip;
	const char	*agent;		/* as sent; the row keeps it cut */
	const char	*detail;	/* JSON text, or NULL */
};

char	*mr_db_audit_agent(struct mr_arena *, const char *agent);
int	mr_db_gov_hold(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char *reason, const char *user,
	    const char **outcome, struct mr_err *);
int	mr_db_gov_release(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char **outcome, struct mr_err *);
int	mr_db_gov_retention(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char *expires_at, const char **outcome,
	    int64_t *max_days, const char **latest, struct mr_err *);
int	mr_db_gov_holds(struct mr_db *, struct mr_arena *, const char *company,
	    const char *held_by, const char *room, const char *cursor_at,
	    const char *cursor_id, int64_t limit, struct mr_recording **out,
	    int *n, struct mr_err *);
int	mr_db_gov_policy_get(struct mr_db *, struct mr_arena *,
	    const char *company, struct mr_policy *, struct mr_err *);
int	mr_db_gov_policy_set(struct mr_db *, struct mr_arena *,
	    const char *company, struct mr_policy *, struct mr_err *);
int	mr_db_gov_audit(struct mr_db *, struct mr_arena *,
	    const struct mr_audit_filter *, struct mr_audit_row **, int *n,
	    struct mr_err *);
char	*mr_db_audit_actor(struct mr_arena *, const char *user_id,
	    const char *email, const char *ip, const char *agent);
char	*mr_db_audit_viewer(struct mr_arena *, const struct mr_audit *,
	    const char *agent);
int	mr_db_audit_once(struct mr_db *, struct mr_arena *,
	    const struct mr_audit *, int64_t window_s, struct mr_err *);
int	mr_db_audit_unmarked(struct mr_db *, struct mr_arena *,
	    const struct mr_audit *, const char *const *ids, size_t n,
	    const char ***out, size_t *nout, struct mr_err *);
int	mr_db_audit_prune(struct mr_db *, struct mr_arena *, int64_t limit,
	    struct mr_err *);

/* db_reaper.c: claims take a lease of lease_s seconds for owner */
enum mr_claim {
	MR_CLAIM_UPLOAD,	/* processing, egress ended with a file */
	MR_CLAIM_STALE,		/* pending, recording or processing whose
				   egress has not been heard of lately */
	MR_CLAIM_EXPIRED,	/* expires_at passed, not yet in the trash */
	MR_CLAIM_PURGE		/* in the trash longer than trash_days */
};
int	mr_db_reap_claim(struct mr_db *, struct mr_arena *, enum mr_claim,
	    const char *owner, int64_t lease_s, int64_t age_s, int max,
	    const char **after, struct mr_recording **, struct mr_err *);
int	mr_db_reap_done(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, const char *storage_type, const char *path,
	    int64_t size, int64_t dur_s, int64_t dur_ms, const char *sha256,
	    const char *finding, const char *transcribe_lang, int transcribe,
	    struct mr_err *);
int	mr_db_reap_damaged(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, const char *error, const char *finding,
	    struct mr_err *);
int	mr_db_reap_failed(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, const char *error, int64_t max_attempts,
	    int64_t backoff_s, int *gave_up, struct mr_err *);
int	mr_db_reap_release(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, int64_t next_check_s, struct mr_err *);
int	mr_db_reap_renew(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, int64_t lease_s, struct mr_err *);
int	mr_db_reap_fail_pending(struct mr_db *, struct mr_arena *,
	    const char *id, const char *owner, const char *error,
	    struct mr_err *);
int	mr_db_reap_trash(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, struct mr_err *);
int	mr_db_reap_purge(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, struct mr_err *);
int	mr_db_reap_known(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_err *);

/* db_webhook.c */
struct mr_lk_egress;
int	mr_db_webhook_apply(struct mr_db *, struct mr_arena *,
	    const char *event_id, const char *event, int64_t created_at,
	    const struct mr_lk_egress *, int *duplicate, struct mr_err *);

/* db_admin.c */
#define MR_NSTATUS	5
/* pending, recording, processing, completed, failed; NULL-terminated */
extern const char *const mr_db_admin_statuses[];

struct mr_admin_filter {
	const char	*company_id;	/* NULL: every company */
	const char	*status;	/* each filter NULL when not given */
	const char	*room_code;
	const char	*user_id;	/* recorded_by */
	const char	*from;		/* created_at >= from (timestamptz) */
	const char	*to;		/* created_at <= to */
	const char	*trash;		/* exclude, include or only */
	const char	*cursor_ts;	/* keyset: created_at and id, or NULL */
	const char	*cursor_id;
	int64_t		 limit;
};

struct mr_admin_rec {
	struct mr_recording	 rec;
	char			*next_attempt_at;	/* or NULL */
	char			*trash_reason;		/* deleted, expired */
};

struct mr_admin_stats {
	int64_t	 by_status[MR_NSTATUS];	/* in mr_db_admin_statuses order */
	int64_t	 trashed;
	int64_t	 bytes_stored;		/* completed, not in the trash */
	int64_t	 uploads_pending;	/* processing, egress ended */
	int64_t	 uploads_failed;	/* failed, egress ended with a file */
	char	*oldest_pending_upload_at;	/* NULL when none */
	int64_t	 oldest_pending_upload_s;	/* -1 when none */
};

int	mr_db_admin_get(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, struct mr_admin_rec *, struct mr_err *);
int	mr_db_admin_list(struct mr_db *, struct mr_arena *,
	    const struct mr_admin_filter *, struct mr_admin_rec **, int *n,
	    int64_t *total, int *exact, struct mr_err *);
int	mr_db_admin_retry(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, int64_t retention_days, int as_is,
	    struct mr_err *);
int	mr_db_admin_restore(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, int64_t trash_days, int64_t retention_days,
	    const char **outcome, struct mr_err *);
int	mr_db_admin_stats(struct mr_db *, struct mr_arena *,
	    const char *company, struct mr_admin_stats *, struct mr_err *);

/* db_transcript.c: transcripts (sql/015_transcripts.sql) */

struct mr_seg;
struct mr_chapter;

struct mr_transcript {
	const char	*status;	/* none, pending, done, failed */
	int64_t		 attempts;
	char		*last_error;
	char		*language;
	int64_t		 segments;
	double		 seconds;	/* -1 when unknown */
	char		*requested_at;	/* ISO 8601 UTC, or NULL */
	char		*done_at;
	char		*next_attempt_at;
	char		*chapters_json;	/* [[start_ms, title], ...] */
};

/* A transcription the transcribe pass claimed. */
struct mr_tr_job {
	char	*recording_id;
	int64_t	 attempts;
	char	*language;		/* asked for, or NULL */
	char	*storage_type;
	char	*storage_path;
	int64_t	 size;			/* -1 when unknown */
	char	*room_code;
};

struct mr_tr_query {
	const char	*company_id;
	const char	*user_id;
	int		 is_admin;
	const char	*words;
	const char	*language;	/* asr_language, or NULL */
	int64_t		 limit;
	int64_t		 offset;
};

struct mr_tr_hit {
	char	*recording_id;
	int64_t	 start_ms;
	int64_t	 end_ms;
	char	*text;
	char	*marked;		/* text, matches between \x01 and
					   \x02 */
	double	 rank;
	char	*room_code;
	char	*recorded_by_name;
	char	*meeting_name;
	char	*started_at;
};

/* 1 asked, 0 a transcription of it is under way, -1 error. */
int	mr_db_tr_request(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char *user, const char *lang,
	    struct mr_err *);
/* 1 found, 0 none (t->status "none"), -1 error. */
int	mr_db_tr_get(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_transcript *, struct mr_err *);
int	mr_db_tr_segments(struct mr_db *, struct mr_arena *, const char *id,
	    struct mr_seg **, size_t *, struct mr_err *);
/* Rows claimed (in *jobs), or -1. */
int	mr_db_tr_claim(struct mr_db *, struct mr_arena *, const char *owner,
	    int64_t lease_s, int max, struct mr_tr_job **, struct mr_err *);
/* 1 when a transcription waits to be claimed, 0 none, -1 error. */
int	mr_db_tr_due(struct mr_db *, struct mr_arena *, struct mr_err *);
/* 1 renewed, 0 the lease was lost, -1 error. */
int	mr_db_tr_renew(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, int64_t lease_s, struct mr_err *);
/* Give the lease back (a reaper told to stop): 1, 0 lost, -1 error. */
int	mr_db_tr_release(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, struct mr_err *);
/*
 * An attempt failed with error: tried again after the backoff (at least
 * wait_s), unless final or out of attempts (*gave_up).  1 done, 0 the
 * lease was lost, -1 error.
 */
int	mr_db_tr_failed(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, const char *error, int64_t max_attempts,
	    int64_t backoff_s, int64_t wait_s, int final, int *gave_up,
	    struct mr_err *);
/* Done: the segments and chapters replace the old.  1, 0 lease lost. */
int	mr_db_tr_save(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, const char *lang, double seconds,
	    const struct mr_seg *, size_t, const struct mr_chapter *, size_t,
	    struct mr_err *);
int	mr_db_tr_search(struct mr_db *, struct mr_arena *,
	    const struct mr_tr_query *, struct mr_tr_hit **, int *,
	    struct mr_err *);

#endif /* MR_MODEL_H */
