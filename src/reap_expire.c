/* SPDX-License-Identifier: ISC */
/*
 * reap_expire.c - the end of a recording's life: expiry (the stored file
 * is deleted and the row goes to the trash), purge (trash older than
 * trash_days is deleted for good, with any file left; so are the audit
 * log's viewing marks that have run out), and spool files no row owns,
 * which are reported and never deleted (those of recordings already
 * stored are removed).
 */
#include "config.h"

#include <string.h>

#include "mr.h"
#include "reap.h"

/*
 * Delete the stored object and any spool file of r; 0 or -1.  A recording
 * never stored whose egress made a file may have had an upload begun (a
 * reaper killed, storage down, then the recording failed or was deleted
 * while it waited): what that attempt left goes too, and until it can,
 * the row stays.
 */
static int
delete_files(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_err *err)
{
	if (r->storage_path != NULL && r->storage_type != NULL) {
		if (strcmp(r->storage_type, rp->conf->cf_storage_type) != 0)
			return mr_err_set(err, 500, "storage_changed",
			    "stored in %s but storage_type is %s",
			    r->storage_type, rp->conf->cf_storage_type);
		if (mr_store_del(&rp->store, rp->arena, r->storage_path,
		    err) == -1)
			return -1;
	} else if (mr_lk_wrote_file(r->egress_status) &&
	    mr_reap_discard(rp, r, err) == -1)
		return -1;
	return mr_spool_remove(&rp->spool, rp->arena, r, err);
}

#define BATCH	100	/* rows a claim: each takes a file delete and a row */

/* One expired or purged row (kind in ctx); 0 or -1 database error. */
static int
end_one(struct mr_reaper *rp, struct mr_recording *r, void *ctx)
{
	const struct mr_reap_pass	*ps = ctx;
	struct mr_err			 err;
	int				 rc;

	mr_err_clear(&err);
	if (delete_files(rp, r, &err) == -1) {
		rp->failures++;
		mr_log_warnx("pass=%s rec=%s action=retry_later "
		    "error=\"%s: %s\"", ps->name, r->id, err.detail, err.cause);
		/* Let the lease run out before trying again. */
		return 0;
	}
	rc = ps->kind == MR_CLAIM_EXPIRED ?
	    mr_db_reap_trash(rp->db, rp->arena, r->id, rp->owner, &err) :
	    mr_db_reap_purge(rp->db, rp->arena, r->id, rp->owner, &err);
	if (rc == -1) {
		mr_log_warnx("pass=%s rec=%s error=\"%s\"", ps->name, r->id,
		    err.cause);
		return -1;
	}
	mr_log_info("pass=%s rec=%s action=%s path=%s", ps->name, r->id,
	    rc == 0 ? "lease_lost" : ps->kind == MR_CLAIM_EXPIRED ?
	    "expired" : "purged", r->storage_path ? r->storage_path : "-");
	return 0;
}

static int
pass(struct mr_reaper *rp, int limit, enum mr_claim kind, int64_t age,
    const char *name)
{
	struct mr_reap_pass	ps = { name, kind, age, BATCH, 1, end_one,
	    NULL };

	ps.ctx = &ps;
	return mr_reap_claimed(rp, &ps, limit);
}

int
mr_reap_expired(struct mr_reaper *rp, int limit)
{
	return pass(rp, limit, MR_CLAIM_EXPIRED, 0, "expire");
}

/*
 * The trash, then the audit log's viewing marks that have run out (up to
 * 100 per item allowed: they are small and only a cleanup).
 */
int
mr_reap_purge(struct mr_reaper *rp, int limit)
{
	struct mr_err	 err;
	int		 n, marks;

	n = pass(rp, limit, MR_CLAIM_PURGE, rp->conf->cf_trash_days * 86400,
	    "purge");
	if (n == -1 || mr_reap_stopping)
		return n;
	mr_arena_reset(rp->arena);
	mr_err_clear(&err);
	if ((marks = mr_db_audit_prune(rp->db, rp->arena, (int64_t)limit * 100,
	    &err)) == -1) {
		mr_log_warnx("pass=purge could not delete audit marks: %s",
		    err.cause);
		return -1;
	}
	if (marks > 0)
		mr_log_info("pass=purge action=marks_deleted count=%d", marks);
	return n;
}

struct orphans {
	struct mr_reaper	*rp;
	int			 limit;
	int			 n;		/* reported */
	int			 seen;
	int			 failed;	/* a database error */
};

static int
orphan_one(void *arg, const char *name, off_t size, int64_t mtime)
{
	struct orphans		*o = arg;
	struct mr_reaper	*rp = o->rp;
	struct mr_err		 err;
	char			 id[MR_UUID_STRLEN + 1];
	const char		*where;
	int			 rc;

	(void)size;
	(void)mtime;
	if (name[0] == '.')
		return 0;
	if (o->seen++ >= o->limit * 100)
		return -1;
	mr_arena_reset(rp->arena);
	mr_err_clear(&err);
	if (strlen(name) >= MR_UUID_STRLEN) {
		memcpy(id, name, MR_UUID_STRLEN);
		id[MR_UUID_STRLEN] = '\0';
	} else
		id[0] = '\0';
	rc = mr_uuid_valid(id) ? mr_db_reap_known(rp->db, rp->arena, id,
	    &err) : 0;
	if (rc == -1) {
		o->failed = 1;
		return -1;
	}
	where = rp->spool.s3 ? "incoming" : rp->conf->cf_spool_dir;
	if (rc == 0 && o->n++ < o->limit)
		mr_log_warnx("pass=orphans file=%s/%s action=reported "
		    "reason=no_recording", where, name);
	/*
	 * A reaper stopped between "completed" and removing the spool
	 * file: the recording is stored and verified.
	 */
	if (rc == 2 && mr_spool_remove_name(&rp->spool, rp->arena, name,
	    &err) == 0)
		mr_log_info("pass=orphans file=%s/%s action=removed "
		    "reason=already_stored", where, name);
	return 0;
}

/*
 * Spool files (or incoming objects) whose name is not a recording we
 * know.  Reported only: the spool is where nothing may be lost.  The
 * listing lives in the batch arena; each file is looked up in the item
 * arena.
 */
int
mr_reap_orphans(struct mr_reaper *rp, int limit)
{
	struct orphans	 o = { rp, limit, 0, 0, 0 };
	struct mr_err	 err;

	mr_err_clear(&err);
	mr_arena_reset(rp->batch);
	if (mr_spool_list(&rp->spool, rp->batch, orphan_one, &o, &err) ==
	    -1) {
		mr_log_warnx("pass=orphans could not list the spool: %s%s%s",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
		return -1;
	}
	return o.failed ? -1 : o.n;
}
