/* SPDX-License-Identifier: ISC */
/*
 * manage.c - what administrators do to a recording, with the rules the
 * admin API and meetrec-admin both apply: a failed upload back in the
 * upload queue, a recording out of the trash, a recording into it.  The
 * errors are the API's (status, code, detail), so both say the same.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "conf.h"
#include "db.h"
#include "livekit.h"
#include "manage.h"
#include "model.h"
#include "probe.h"
#include "spool.h"
#include "store.h"

static int
not_found(struct mr_err *err)
{
	return mr_err_set(err, 404, "recording_not_found",
	    "Recording not found.");
}

static int
busy(struct mr_err *err)
{
	return mr_err_set(err, 409, "busy", "A reaper is working on this "
	    "recording; try again in a moment.");
}

/* Is the egress file of r still in the spool, with something in it? */
static int
spooled(struct mr_spool *sp, struct mr_arena *a, const struct mr_recording *r)
{
	struct mr_spool_file	 f;
	struct mr_err		 err;

	mr_err_clear(&err);
	return mr_spool_stat(sp, a, r, &f, &err) == 0 && f.exists &&
	    f.size > 0;
}

/*
 * Refuse, with 409 damaged_media, to queue again a file the probe cannot
 * read to its end: the upload would fail the same way.  A file this
 * process cannot open or read is left to the reaper to judge.
 */
static int
not_damaged(struct mr_spool *sp, struct mr_arena *a,
    const struct mr_recording *r, struct mr_err *err)
{
	struct mr_spool_reader	 rd;
	struct mr_err		 perr;
	double			 secs;
	int			 rc;

	mr_err_clear(&perr);
	if (mr_spool_reader_open(sp, a, r, 64 * 1024, &rd, &perr) == -1)
		return 0;
	rc = mr_probe_duration_src(&rd.src, &secs, &perr);
	mr_spool_reader_close(&rd);
	if (rc == 0 || perr.status != 422)
		return 0;
	return mr_err_set(err, 409, "damaged_media",
	    "The recording's file is damaged: %s Retry with "
	    "{\"accept_as_is\": true} to store it as it is.", perr.detail);
}

/*
 * A failed upload of recording id (of company; NULL: any company's) goes
 * back to the upload queue, its attempts counted from zero, and the
 * reapers are woken.  A file the probe refuses (cut short, damaged) is
 * queued only with as_is: the upload then stores it as it is, its
 * duration unknown and the probe's finding kept; without it the retry
 * is refused and the row stays failed.  The UPDATE is conditional on
 * status 'failed', so of two concurrent retries one applies and the
 * other finds it processing.  0, or -1 with 404 recording_not_found or
 * 409 not_failed, nothing_to_retry, damaged_media or busy.
 */
int
mr_manage_retry(struct mr_db *db, struct mr_arena *a,
    const struct mr_conf *conf, const char *id, const char *company,
    int as_is, struct mr_err *err)
{
	struct mr_recording	 r;
	struct mr_spool		 sp;
	int			 rc;

	if ((rc = mr_db_rec_get(db, a, id, &r, err)) == -1)
		return -1;
	if (rc == 0 || (company != NULL && strcmp(r.company_id, company) != 0))
		return not_found(err);
	if (strcmp(r.status, "failed") != 0)
		return mr_err_set(err, 409, "not_failed",
		    "The recording is %s, not failed.", r.status);
	if (!mr_lk_wrote_file(r.egress_status))
		return mr_err_set(err, 409, "nothing_to_retry",
		    "The recording failed before LiveKit wrote a file (%s); "
		    "there is nothing to upload.", r.egress_status ?
		    r.egress_status : "no egress");
	if (mr_spool_open(&sp, conf, err) == -1)
		return -1;
	if (!spooled(&sp, a, &r)) {
		mr_spool_close(&sp);
		return mr_err_set(err, 409, "nothing_to_retry",
		    "The recording's file is no longer in the spool; there is "
		    "nothing to upload.");
	}
	rc = !as_is ? not_damaged(&sp, a, &r, err) : 0;
	mr_spool_close(&sp);
	if (rc == -1)
		return -1;
	rc = mr_db_admin_retry(db, a, r.id, company, conf->cf_retention_days,
	    as_is, err);
	if (rc == -1)
		return -1;
	if (rc == 1)
		return 0;
	/* Someone was quicker, or a reaper holds the row. */
	if ((rc = mr_db_rec_get(db, a, id, &r, err)) == -1)
		return -1;
	if (rc == 0)
		return not_found(err);
	if (strcmp(r.status, "failed") != 0)
		return mr_err_set(err, 409, "not_failed",
		    "The recording is %s, not failed.", r.status);
	return busy(err);
}

/*
 * Recording id (of company; NULL: any company's) out of the trash,
 * within trash_days, unless it went there by expiry (its file was
 * deleted first).  An expiry already passed is moved a retention period
 * ahead, or the next expire pass would trash it again at once.  0, or
 * -1 with 404 recording_not_found or 409 file_deleted or busy.
 */
int
mr_manage_restore(struct mr_db *db, struct mr_arena *a,
    const struct mr_conf *conf, const char *id, const char *company,
    struct mr_err *err)
{
	const char	*outcome;
	int		 rc;

	rc = mr_db_admin_restore(db, a, id, company, conf->cf_trash_days,
	    conf->cf_retention_days, &outcome, err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(err, 404, "recording_not_found",
		    "No recording with this id is in the trash.");
	if (strcmp(outcome, "file_deleted") == 0)
		return mr_err_set(err, 409, "file_deleted",
		    "The recording expired and its file was deleted; it "
		    "cannot be restored.");
	if (strcmp(outcome, "restored") != 0)
		return busy(err);
	return 0;
}

/*
 * Recording r into the trash (hidden at once; the reaper deletes its
 * file after trash_days).  Not while it is pending or recording: the
 * UPDATE decides (rec_trash), not r's status, which a Stop undone since
 * r was read may have made stale; nor while it is on legal hold.  When
 * it applies to no row, the row read again says why.  0, or -1 with 409
 * legal_hold (naming the hold), 409 recording_active or 404
 * recording_not_found (trashed meanwhile).
 */
/* 409 legal_hold naming r's hold; -1. */
int
mr_manage_held(const struct mr_recording *r, struct mr_err *err)
{
	return mr_err_set(err, 409, "legal_hold",
	    "The recording is on legal hold since %s (%.120s): it cannot "
	    "be deleted until an admin releases it.", r->legal_hold_at,
	    r->legal_hold_reason ? r->legal_hold_reason : "no reason given");
}

int
mr_manage_trash(struct mr_db *db, struct mr_arena *a,
    const struct mr_recording *r, struct mr_err *err)
{
	struct mr_recording	 now;
	int			 rc, tries;

	/*
	 * Not applied, yet read neither gone nor active: it was stopped
	 * between the UPDATE and the read.  Once more, then it was active.
	 */
	if (r->legal_hold_at != NULL)
		return mr_manage_held(r, err);
	for (tries = 0; tries < 2; tries++) {
		if ((rc = mr_db_rec_trash(db, a, r->id, err)) != 0)
			return rc == 1 ? 0 : -1;
		if ((rc = mr_db_rec_get(db, a, r->id, &now, err)) == -1)
			return -1;
		if (rc == 0)
			return not_found(err);
		if (now.legal_hold_at != NULL)
			return mr_manage_held(&now, err);
		if (strcmp(now.status, "pending") == 0 ||
		    strcmp(now.status, "recording") == 0)
			break;
	}
	return mr_err_set(err, 409, "recording_active",
	    "Stop the recording before deleting it.");
}
