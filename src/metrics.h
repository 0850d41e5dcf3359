/* SPDX-License-Identifier: ISC */
/*
 * metrics.h - figures for GET /metrics, in the Prometheus text format
 * (exposition format 0.0.4).
 *
 * metrics.c holds the pool's request counters: a fixed-size table in a
 * shared anonymous mapping that the master makes once, before it forks,
 * and keeps across SIGHUP.  Workers add to it with atomic adds, so no
 * lock is taken on the request path and a worker that exits (recycled,
 * killed) loses nothing it counted.  The table is keyed by route name
 * (plus "unknown"), method (plus "other") and status (a fixed list plus
 * "other"), with a duration histogram per route.
 *
 * The same mapping holds the pool's scoreboard: one cell per worker slot
 * of the master, saying whether that worker is starting, waiting for a
 * request (idle) or serving one (busy), and since when.  Workers write
 * their own cell around each request; the master reads the cells to grow
 * and shrink the pool, and GET /metrics reads them for its gauges.  No
 * lock is taken: a reader may see a worker a moment late.
 *
 * db_metrics.c holds the reaper's figures, which live in PostgreSQL
 * (sql/004_metrics.sql) because reapers run on many hosts.
 */
#ifndef MR_METRICS_H
#define MR_METRICS_H

#include <stdint.h>

#include "mr.h"
#include "db.h"

#define MR_METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define MR_METRICS_ROUTES_MAX	64	/* distinct route names */
#define MR_METRICS_METHODS_MAX	8	/* distinct methods */
#define MR_METRICS_SLOTS	512	/* the master's worker slots */

struct mr_metrics;

enum mr_worker_state {
	MR_WORKER_EMPTY,	/* no worker in the slot */
	MR_WORKER_STARTING,	/* forked, not yet waiting for a request */
	MR_WORKER_IDLE,		/* waiting for a request */
	MR_WORKER_BUSY		/* serving one */
};

/* What the master counts about the pool's size. */
enum mr_pool_event {
	MR_POOL_GROWN,		/* a worker started to grow the pool */
	MR_POOL_RETIRED,	/* an idle worker retired to shrink it */
	MR_POOL_MAX_REACHED,	/* more were wanted, fcgi_workers_max ran */
	MR_POOL_NEVENT
};

/* The figures /metrics shows about the pool's workers. */
struct mr_pool_figures {
	int	 total, busy, idle;	/* idle includes starting */
	int64_t	 min, max;		/* the limits the master runs with */
};

/* metrics.c */

/*
 * Make the process's table: n (route name, method) pairs, as the route
 * table lists them (duplicates are fine).  The strings are not copied and
 * must outlive the process.  Call before fork; a second call returns the
 * table already made, so a reload keeps the counts.  NULL on failure
 * (logged); every update is then a no-op.
 */
struct mr_metrics *mr_metrics_open(const char *const *routes,
		    const char *const *methods, size_t n);
/* The table mr_metrics_open() made, or NULL. */
struct mr_metrics *mr_metrics_shared(void);
/* Count one answered request that took ns nanoseconds; m may be NULL. */
void		 mr_metrics_request(struct mr_metrics *m, const char *route,
		    const char *method, int status, int64_t ns);
/* The master saw a worker exit: died = 0 recycled or reloaded, 1 died. */
void		 mr_metrics_worker_exit(struct mr_metrics *m, int died);
/* Append the pool's figures (requests, durations, restarts) to b. */
int		 mr_metrics_write_pool(struct mr_metrics *m, struct mr_buf *b);
/*
 * The scoreboard.  mr_metrics_slot_set records that the worker in slot
 * (0 to MR_METRICS_SLOTS - 1) is now in state st, as of now;
 * mr_metrics_slot_get reads it back (MR_WORKER_EMPTY for a bad slot or
 * no table), with when it entered that state (mr_now_ms's clock) in
 * *since unless since is NULL.
 */
void		 mr_metrics_slot_set(struct mr_metrics *m, int slot,
		    enum mr_worker_state st);
enum mr_worker_state mr_metrics_slot_get(struct mr_metrics *m, int slot,
		    int64_t *since);
/*
 * Count one request the busy responder answered 503 because nginx found
 * the pool full; route may be NULL.
 */
void		 mr_metrics_unavailable(struct mr_metrics *m, const char *route);
/* Count one pool event (see enum mr_pool_event). */
void		 mr_metrics_pool_event(struct mr_metrics *m,
		    enum mr_pool_event ev);
/* The master's limits, shown by /metrics: fcgi_workers_min and _max. */
void		 mr_metrics_pool_limits(struct mr_metrics *m, int64_t min,
		    int64_t max);
/* Add up the scoreboard into f; all zero without a table. */
void		 mr_metrics_pool_figures(struct mr_metrics *m,
		    struct mr_pool_figures *f);
/*
 * Append the workers' gauges (total, busy, idle, limits), the pool
 * events' counters and the busy responder's 503s to b.
 */
int		 mr_metrics_write_workers(struct mr_metrics *m,
		    struct mr_buf *b);

/*
 * Exposition helpers; each returns 0 or -1 (the buffer's cap).  labels
 * is the text inside the braces ("route=\"x\""), or NULL; label values
 * are ours (route names, numbers), never a client's, so not escaped.
 */
int		 mr_metrics_family(struct mr_buf *b, const char *name,
		    const char *type, const char *help);
int		 mr_metrics_sample(struct mr_buf *b, const char *name,
		    const char *labels, double v);
int		 mr_metrics_sample_u64(struct mr_buf *b, const char *name,
		    const char *labels, uint64_t v);

/* listenq.c */

/* The kernel's cap on listen queues (net.core.somaxconn, or SOMAXCONN). */
int64_t		 mr_listenq_max(void);
/*
 * The listen queue of socket fd: connections waiting to be accepted in
 * *queued, the most it may hold in *limit (0 when unknown).  Returns 0,
 * or -1 when the kernel does not say.  A few system calls; no blocking.
 */
int		 mr_listenq_get(int fd, uint32_t *queued, uint32_t *limit);

/* db_metrics.c */

/*
 * Add vals[i] to the counters names[i] (created at zero when absent), in
 * one statement.  Callers pass the names in a fixed order, so concurrent
 * reapers take the row locks in the same order.
 */
int		 mr_db_metrics_add(struct mr_db *, struct mr_arena *,
		    const char *const *names, const double *vals, int n,
		    struct mr_err *);
/* A reaper pass ran for seconds: runs++, the sum, the time. */
int		 mr_db_metrics_pass(struct mr_db *, struct mr_arena *,
		    const char *pass, double seconds, struct mr_err *);
/*
 * Append what PostgreSQL knows (recordings by status, the reaper's
 * counters and passes) to b, with two queries.  On a database error
 * nothing is appended.
 */
int		 mr_db_metrics_write(struct mr_db *, struct mr_arena *,
		    struct mr_buf *b, struct mr_err *);

#endif /* MR_METRICS_H */
