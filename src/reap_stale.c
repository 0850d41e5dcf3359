/* SPDX-License-Identifier: ISC */
/*
 * reap_stale.c - reconciling with LiveKit what its webhooks did not tell
 * us (protocols/livekit.md section 4.4: events can be lost or dropped).
 *
 * A pending recording (our Start timed out) is looked up with ListEgress
 * by room and adopted if LiveKit writes to our file, or failed if not.  A
 * recording or processing row whose egress has not been heard of lately
 * is looked up by egress id: what LiveKit says is applied exactly as a
 * webhook would be (db_webhook.c), under a synthetic event id so a repeat
 * changes nothing.  An egress that ran past recording_max_seconds is
 * stopped, and so is one LiveKit still records for a row we stopped (a
 * stop whose StopEgress was never sent).  One LiveKit no longer knows (it deletes an ended egress 24 h
 * after the end, and loses every egress with its store) falls back to
 * the spool: no file fails the recording once it cannot be running any
 * more (past recording_max_seconds and spool_quiet_seconds); a file is
 * taken once it has not changed for spool_quiet_seconds, since nothing
 * says its writer is done with it; until then the row is looked at
 * again later.  A file
 * taken this way is probed like any other by the upload pass, which
 * fails the recording if the file is cut short.
 */
#include "config.h"

#include <string.h>

#include "mr.h"
#include "reap.h"

/* Apply what LiveKit says of egress e as if its webhook had come. */
static int
apply(struct mr_reaper *rp, const struct mr_lk_egress *e, struct mr_err *err)
{
	const char	*event, *id;
	int		 dup;

	event = mr_lk_status_final(e->status) ? "egress_ended" :
	    "egress_updated";
	id = mr_printf(rp->arena, "reaper:%s:%s:%lld", e->egress_id,
	    e->status_name, (long long)e->updated_at);
	if (id == NULL)
		return mr_err_set(err, 500, "internal", "out of memory");
	return mr_db_webhook_apply(rp->db, rp->arena, id, event, mr_now(), e,
	    &dup, err);
}

/* Does egress e write our recording's file? */
static int
ours(const struct mr_lk_egress *e, const char *id)
{
	return (e->filename != NULL && strstr(e->filename, id) != NULL) ||
	    (e->location != NULL && strstr(e->location, id) != NULL);
}

static int
pending(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_err *err)
{
	struct mr_lk_egress	*items;
	int			 n, i;

	if (mr_lk_list_egress(&rp->lk, rp->arena, r->room_code, NULL, 0,
	    &items, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (!ours(&items[i], r->id))
			continue;
		if (apply(rp, &items[i], err) == -1)
			return -1;
		mr_log_info("pass=stale rec=%s action=adopted egress=%s "
		    "status=%s", r->id, items[i].egress_id,
		    items[i].status_name);
		return 0;
	}
	if (mr_db_reap_fail_pending(rp->db, rp->arena, r->id, rp->owner,
	    "LiveKit never started an egress for this recording", err) == -1)
		return -1;
	mr_log_info("pass=stale rec=%s action=failed reason=no_egress", r->id);
	return 0;
}

/*
 * LiveKit no longer knows the egress: decide from the spool file.  A file
 * modified less than spool_quiet_seconds ago may still be written (an
 * egress LiveKit lost track of, or its copy to the spool): leave the row
 * for a later pass.  So may a file not there yet, or still empty, while
 * the recording may still run: an egress writes its file as it goes or
 * only at its end, and LiveKit can lose a running egress (a restart of
 * its store).  Failing it then would be final, and the bytes written
 * later out of reach: no file is a failure only once the recording
 * started longer ago than recording_max_seconds plus the quiet period.
 */
static int
forgotten(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_err *err)
{
	struct mr_lk_egress	 e;
	struct mr_spool_file	 f;
	int64_t			 now = mr_now(), age, ran;
	int			 found;

	memset(&e, 0, sizeof(e));
	e.egress_id = r->egress_id;
	e.updated_at = now * 1000000000LL;
	/*
	 * An object in the incoming bucket is there once it is whole.  A
	 * spool that cannot be asked now (the bucket unreachable) leaves
	 * the row for a later pass: only a database error ends the pass.
	 */
	if (mr_spool_stat(&rp->spool, rp->arena, r, &f, err) == -1) {
		mr_log_warnx("pass=stale rec=%s action=wait reason=spool_error "
		    "error=\"%s%s%s\"", r->id, err->detail,
		    err->cause[0] ? ": " : "", err->cause);
		mr_err_clear(err);
		return 0;
	}
	found = f.exists;
	ran = now - r->started_epoch;
	if ((!found || f.size == 0) && r->started_epoch > 0 &&
	    ran < rp->conf->cf_recording_max_seconds +
	    rp->conf->cf_spool_quiet_seconds) {
		mr_log_info("pass=stale rec=%s action=wait reason=no_file_yet "
		    "file=%s ran_s=%lld", r->id, found ? "empty" : "missing",
		    (long long)ran);
		return 0;
	}
	if (found && f.size > 0) {
		age = now - f.mtime;
		if (age < rp->conf->cf_spool_quiet_seconds) {
			mr_log_info("pass=stale rec=%s action=wait "
			    "reason=spool_changing age_s=%lld bytes=%lld",
			    r->id, (long long)age, (long long)f.size);
			return 0;
		}
		e.status = MR_LK_COMPLETE;
		e.has_file = 1;
		e.location = f.name;
		e.size = f.size;
	} else {
		e.status = MR_LK_FAILED;
		e.error = "LiveKit no longer knows the egress and there is "
		    "no file";
	}
	e.status_name = mr_lk_status_name(e.status);
	if (apply(rp, &e, err) == -1)
		return -1;
	mr_log_info("pass=stale rec=%s action=%s reason=egress_unknown",
	    r->id, e.has_file ? "process_spool" : "failed");
	return 0;
}

static int
active(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_err *err)
{
	struct mr_lk_egress	*items, st;
	int			 n;

	if (mr_lk_list_egress(&rp->lk, rp->arena, NULL, r->egress_id, 0,
	    &items, &n, err) == -1) {
		if (mr_lk_refused_with(err, "not_found")) {
			mr_err_clear(err);
			return forgotten(rp, r, err);
		}
		return -1;
	}
	if (n == 0)
		return forgotten(rp, r, err);
	if (apply(rp, &items[0], err) == -1)
		return -1;
	if (mr_lk_status_final(items[0].status)) {
		mr_log_info("pass=stale rec=%s action=caught_up egress=%s "
		    "status=%s", r->id, r->egress_id, items[0].status_name);
		return 0;
	}
	/*
	 * Stopped by us (processing), yet LiveKit still records: the stop
	 * was accepted and the process that was to send StopEgress died
	 * (a host killed mid-request); the client's next stop finds the
	 * row processing and changes nothing.  Send it now.  A second
	 * StopEgress of an egress already ending is only refused.
	 */
	if (strcmp(r->status, "processing") == 0 &&
	    (items[0].status == MR_LK_ACTIVE ||
	    items[0].status == MR_LK_STARTING)) {
		if (mr_lk_stop_egress(&rp->lk, rp->arena, r->egress_id, &st,
		    err) == -1 && !mr_lk_answered(err))
			return -1;
		mr_err_clear(err);
		mr_log_info("pass=stale rec=%s action=stopped reason=stop_lost "
		    "egress=%s", r->id, r->egress_id);
		return 0;
	}
	/* Still running: stop it if it has run too long. */
	if (r->started_epoch > 0 && mr_now() - r->started_epoch >
	    rp->conf->cf_recording_max_seconds) {
		if (mr_lk_stop_egress(&rp->lk, rp->arena, r->egress_id, &st,
		    err) == -1 && !mr_lk_answered(err))
			return -1;
		mr_err_clear(err);
		if (mr_db_rec_stop(rp->db, rp->arena, r->id, err) == -1)
			return -1;
		mr_log_info("pass=stale rec=%s action=stopped reason=too_long "
		    "egress=%s", r->id, r->egress_id);
	}
	return 0;
}

#define BATCH	16	/* rows a claim: each may ask LiveKit */

/* One stale row; 0 (failures logged, looked at again later) or -1. */
static int
stale_one(struct mr_reaper *rp, struct mr_recording *r, void *ctx)
{
	struct mr_err	 err;
	int64_t		 every = rp->conf->cf_stale_pending_seconds;
	int		 rc;

	(void)ctx;
	mr_err_clear(&err);
	if (strcmp(r->status, "pending") == 0 || r->egress_id == NULL)
		rc = pending(rp, r, &err);
	else
		rc = active(rp, r, &err);
	if (rc == -1) {
		rp->failures++;
		mr_log_warnx("pass=stale rec=%s action=retry_later "
		    "error=\"%s: %s\"", r->id, err.detail, err.cause);
	}
	/* Look again after the same interval, unless it moved on. */
	mr_err_clear(&err);
	if (mr_db_reap_release(rp->db, rp->arena, r->id, rp->owner, every,
	    &err) == -1) {
		mr_log_warnx("pass=stale rec=%s could not release its lease: "
		    "%s", r->id, err.cause);
		return -1;
	}
	return 0;
}

int
mr_reap_stale(struct mr_reaper *rp, int limit)
{
	const struct mr_reap_pass	ps = { "stale", MR_CLAIM_STALE,
	    rp->conf->cf_stale_pending_seconds, BATCH, 0, stale_one, NULL };

	return mr_reap_claimed(rp, &ps, limit);
}
