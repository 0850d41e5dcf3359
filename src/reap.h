/* SPDX-License-Identifier: ISC */
/*
 * reap.h - meetrec-reaper: the passes that repair what the request path
 * cannot (SPEC section 4.5).  Each pass claims rows in batches with a
 * lease (db_reaper.c, reap_batch.c), handles at most "limit" of them,
 * resets the per-item arena before each, and logs one line per action.
 */
#ifndef MR_REAP_H
#define MR_REAP_H

#include <signal.h>

#include "mr.h"
#include "conf.h"
#include "db.h"
#include "livekit.h"
#include "model.h"
#include "spool.h"
#include "store.h"

struct mr_reaper {
	struct mr_conf		*conf;
	struct mr_db		*db;
	struct mr_store		 store;
	struct mr_spool		 spool;		/* where Egress leaves files */
	struct mr_lk		 lk;
	struct mr_arena		*arena;		/* per item */
	struct mr_arena		*batch;		/* per claimed batch */
	char			 owner[128];	/* lease owner: host:pid:rand */
	int			 failures;	/* items that failed this run */
};

/* Set by SIGTERM/SIGINT: passes finish the item in hand and return. */
extern volatile sig_atomic_t mr_reap_stopping;

/* Pass results: how many items were handled; -1 on a database error. */
int	mr_reap_uploads(struct mr_reaper *, int limit);
int	mr_reap_stale(struct mr_reaper *, int limit);
int	mr_reap_expired(struct mr_reaper *, int limit);
int	mr_reap_purge(struct mr_reaper *, int limit);
int	mr_reap_orphans(struct mr_reaper *, int limit);
int	mr_reap_hooks(struct mr_reaper *, int limit);
int	mr_reap_transcribe(struct mr_reaper *, int limit);

/*
 * reap_batch.c: a leased pass.  item handles one claimed row (the item
 * arena reset before it): 0 done or to be retried later (logged), -1 a
 * database error that ends the pass.  keyset: the pass goes on from
 * where its last batch ended (expire and purge).
 */
struct mr_reap_pass {
	const char	*name;
	enum mr_claim	 kind;
	int64_t		 age;		/* the claim's $3 */
	int		 batch;		/* rows a claim */
	int		 keyset;
	int		(*item)(struct mr_reaper *, struct mr_recording *,
			    void *);
	void		*ctx;
};
int	mr_reap_claimed(struct mr_reaper *, const struct mr_reap_pass *,
	    int limit);

/* reap_upload.c: the spool file of a recording (in the item arena). */
char	*mr_reap_spool_path(struct mr_reaper *, const struct mr_recording *);
/*
 * reap_upload.c: remove what an attempt at storing a recording that was
 * never stored may have left (store.h's discard), under the lease; for
 * a recording that fails for good or goes for good.  0, or -1 with err
 * set when storage could not be cleaned (or the lease is lost): the
 * caller then leaves the row as it is, to be tried again, unless storage
 * has failed it for good, so that no stored object outlives the row that
 * could find it.
 */
int	 mr_reap_discard(struct mr_reaper *, const struct mr_recording *,
	    struct mr_err *);

#endif /* MR_REAP_H */
