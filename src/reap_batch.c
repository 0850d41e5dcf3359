/* SPDX-License-Identifier: ISC */
/*
 * reap_batch.c - the loop every leased pass runs: claim a batch of rows
 * (db_reaper.c), hand each to the pass, and keep the lease of the rows
 * still waiting.  A row waits at most a batch's work; past a third of
 * the lease its lease is renewed before it is started, and a row whose
 * lease was taken over meanwhile is left to its new owner.  Stopped (a
 * signal), the reaper lets go of the rows it has not started, so another
 * reaper takes them at once rather than when the lease runs out.
 */
#include "config.h"

#include <string.h>

#include "mr.h"
#include "reap.h"

#define KEY_MAX	64	/* a timestamptz as text, with room to spare */

/* Give back the leases of rows [i, n), not started; best effort. */
static void
release_rest(struct mr_reaper *rp, const struct mr_reap_pass *ps,
    const struct mr_recording *rows, int i, int n)
{
	struct mr_err	 err;

	for (; i < n; i++) {
		mr_arena_reset(rp->arena);
		mr_err_clear(&err);
		if (mr_db_reap_release(rp->db, rp->arena, rows[i].id, rp->owner,
		    0, &err) == -1) {
			mr_log_warnx("pass=%s rec=%s could not release its "
			    "lease: %s", ps->name, rows[i].id, err.cause);
			return;
		}
	}
}

/*
 * 1 the row is still ours (renewed when the batch has taken a third of
 * the lease), 0 it is not, -1 error.
 */
static int
still_ours(struct mr_reaper *rp, const struct mr_reap_pass *ps,
    const struct mr_recording *r, int64_t claimed_ms)
{
	struct mr_err	 err;
	int64_t		 lease = rp->conf->cf_reaper_lease_seconds;
	int		 rc;

	if (mr_now_ms() - claimed_ms < lease * 1000 / 3)
		return 1;
	mr_err_clear(&err);
	if ((rc = mr_db_reap_renew(rp->db, rp->arena, r->id, rp->owner, lease,
	    &err)) == -1)
		mr_log_warnx("pass=%s rec=%s could not renew its lease: %s",
		    ps->name, r->id, err.cause);
	else if (rc == 0)
		mr_log_warnx("pass=%s rec=%s action=lease_lost", ps->name,
		    r->id);
	return rc;
}

int
mr_reap_claimed(struct mr_reaper *rp, const struct mr_reap_pass *ps,
    int limit)
{
	struct mr_recording	*rows;
	struct mr_err		 err;
	const char		*after = NULL;
	char			 key[KEY_MAX];
	int64_t			 t;
	int			 n = 0, got, i, rc;

	while (n < limit && !mr_reap_stopping) {
		mr_arena_reset(rp->batch);
		mr_err_clear(&err);
		got = mr_db_reap_claim(rp->db, rp->batch, ps->kind, rp->owner,
		    rp->conf->cf_reaper_lease_seconds, ps->age,
		    ps->batch < limit - n ? ps->batch : limit - n,
		    ps->keyset ? &after : &(const char *){ NULL }, &rows, &err);
		if (got == -1) {
			mr_log_warnx("pass=%s claim failed: %s", ps->name,
			    err.cause);
			return -1;
		}
		if (got == 0)
			break;
		/* The next claim's start, kept across the arena's reset. */
		if (ps->keyset && after != NULL) {
			if (strlen(after) >= sizeof(key)) {
				release_rest(rp, ps, rows, 0, got);
				mr_log_warnx("pass=%s claim key too long",
				    ps->name);
				return -1;
			}
			memcpy(key, after, strlen(after) + 1);
			after = key;
		}
		t = mr_now_ms();
		for (i = 0; i < got; i++) {
			if (mr_reap_stopping) {
				release_rest(rp, ps, rows, i, got);
				break;
			}
			mr_arena_reset(rp->arena);
			if ((rc = still_ours(rp, ps, &rows[i], t)) == -1) {
				release_rest(rp, ps, rows, i + 1, got);
				return -1;
			}
			if (rc == 0)
				continue;
			if (ps->item(rp, &rows[i], ps->ctx) == -1) {
				release_rest(rp, ps, rows, i + 1, got);
				return -1;
			}
			n++;
		}
	}
	return n;
}
