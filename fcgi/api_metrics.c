/* SPDX-License-Identifier: ISC */
/*
 * api_metrics.c - GET /metrics in the Prometheus text format (0.0.4).
 * nginx lets only the addresses in its "allow" lines through.
 *
 * The pool's figures come from the shared counters and the scoreboard
 * (src/metrics.c) and from the kernel (the listen queue, src/listenq.c),
 * the rest from PostgreSQL with two queries (src/db_metrics.c).  A database
 * that does not answer does not fail the scrape: the pool's figures are
 * still worth having then, and meetrec_database_up says 0.
 *
 * With several API hosts on one database, ?scope=host gives this host's
 * figures alone and ?scope=database the database's alone, so Prometheus
 * can scrape every host for the first and the balancer once for the
 * second, rather than reading the same recordings once per host.
 */
#include "config.h"

#include <string.h>

#include "fcgi.h"
#include "metrics.h"

#define TEXT_MAX	(4 * 1024 * 1024)

/* The pool's figures, this host's alone; nonzero when out of memory. */
static int
host_figures(struct mr_env *env, struct mr_buf *bp)
{
	uint32_t	 queued, limit;
	int		 bad;

	bad = mr_metrics_write_pool(mr_metrics_shared(), bp);
	bad |= mr_metrics_write_workers(mr_metrics_shared(), bp);
	if (mr_listenq_get(env->listen_fd, &queued, &limit) == 0) {
		bad |= mr_metrics_family(bp, "meetrec_pool_listen_queue",
		    "gauge", "Connections waiting in the pool's listen queue "
		    "for a worker to accept them.");
		bad |= mr_metrics_sample(bp, "meetrec_pool_listen_queue", NULL,
		    queued);
		if (limit > 0) {
			bad |= mr_metrics_family(bp,
			    "meetrec_pool_listen_queue_max", "gauge",
			    "How many connections the listen queue holds "
			    "(fcgi_backlog, as the kernel caps it).");
			bad |= mr_metrics_sample(bp,
			    "meetrec_pool_listen_queue_max", NULL, limit);
		}
	}
	return bad;
}

/* What PostgreSQL holds, the same whichever host reads it. */
static int
database_figures(struct mr_ctx *cx, struct mr_buf *bp)
{
	struct mr_env	*env = cx->cx_env;
	struct mr_err	 dberr;
	int		 up, bad = 0;

	mr_err_clear(&dberr);
	up = mr_db_metrics_write(env->db, cx->cx_arena, bp, &dberr) == 0;
	if (!up)
		mr_log_warnx("req=%s metrics: could not read the database: %s",
		    cx->cx_req.rq_id, dberr.cause[0] ? dberr.cause :
		    dberr.detail);
	bad |= mr_metrics_family(bp, "meetrec_database_up", "gauge",
	    "Whether this scrape could read PostgreSQL (1) or not (0).");
	bad |= mr_metrics_sample(bp, "meetrec_database_up", NULL, up);
	return bad;
}

int
mr_api_metrics(struct mr_ctx *cx)
{
	struct mr_env	*env = cx->cx_env;
	struct mr_buf	 b;
	const char	*scope;
	int		 rc, bad = 0, host = 1, database = 1;

	if ((rc = mr_req_query(cx, "scope", &scope)) == -1)
		return -1;
	if (rc == 1) {
		if (strcmp(scope, "host") == 0)
			database = 0;
		else if (strcmp(scope, "database") == 0)
			host = 0;
		else
			return mr_err_set(&cx->cx_err, 400, "invalid_query",
			    "Query parameter 'scope' must be host or "
			    "database.");
	}
	rc = -1;
	mr_buf_init(&b, TEXT_MAX);
	if (host)
		bad = host_figures(env, &b);
	if (database && !bad)
		bad = database_figures(cx, &b);
	if (bad) {
		mr_err_set(&cx->cx_err, 500, "internal", "Out of memory.");
		goto done;
	}
	if ((cx->cx_resp.body = mr_strndup(cx->cx_arena, b.data, b.len)) ==
	    NULL) {
		mr_err_set(&cx->cx_err, 500, "internal", "Out of memory.");
		goto done;
	}
	cx->cx_resp.status = 200;
	cx->cx_resp.content_type = MR_METRICS_CONTENT_TYPE;
	cx->cx_resp.bodylen = b.len;
	rc = 0;
done:
	mr_buf_free(&b);
	return rc;
}
