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

struct mr_metrics;

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
