/* SPDX-License-Identifier: ISC */
/*
 * test-metrics.c - the shared request counters: counts from forked
 * children add up in the parent, unknown routes, methods and statuses
 * fall into their catch-all cells, and the exposition text is well formed
 * (cumulative buckets, _count equal to +Inf).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr.h"
#include "metrics.h"
#include "tap.h"

#define CHILDREN	4
#define EACH		1000

/* The sample value of the line starting with prefix, or -1. */
static long long
value(const char *text, const char *prefix)
{
	const char	*p = text;
	size_t		 n = strlen(prefix);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int
main(void)
{
	static const char *const routes[] = { "healthz", "recording",
	    "recording", "metrics" };
	static const char *const methods[] = { "GET", "GET", "DELETE",
	    "GET" };
	struct mr_metrics	*m;
	struct mr_buf		 b;
	struct mr_pool_figures	 f;
	int64_t			 since;
	pid_t			 pid;
	int			 st, okc = 0;

	plan(21);
	m = mr_metrics_open(routes, methods, MR_NELEM(routes));
	ok(m != NULL, "table mapped");
	ok(mr_metrics_open(routes, methods, 1) == m,
	    "a second open returns the same table (reload)");
	ok(mr_metrics_shared() == m, "mr_metrics_shared");

	for (int c = 0; c < CHILDREN; c++) {
		if ((pid = fork()) == 0) {
			for (int i = 0; i < EACH; i++)
				mr_metrics_request(m, "healthz", "GET", 200,
				    (int64_t)i * 10000);	/* 0..10 ms */
			_exit(0);
		}
		okc += pid > 0;
	}
	while (wait(&st) > 0)
		;
	is_int(okc, CHILDREN, "children forked");
	mr_metrics_request(m, "recording", "DELETE", 404, 3000000);
	mr_metrics_request(m, "nosuch", "GET", 404, 1);
	mr_metrics_request(m, NULL, NULL, 599, 1);
	mr_metrics_request(m, "recording", "PATCH", 405, 1);
	mr_metrics_request(NULL, "healthz", "GET", 200, 1);
	mr_metrics_worker_exit(m, 0);
	mr_metrics_worker_exit(m, 1);
	mr_metrics_worker_exit(m, 1);

	/* The scoreboard: a worker's cell, written from its own process. */
	mr_metrics_slot_set(m, 0, MR_WORKER_STARTING);
	mr_metrics_slot_set(m, 3, MR_WORKER_IDLE);
	if ((pid = fork()) == 0) {
		mr_metrics_slot_set(m, 5, MR_WORKER_BUSY);
		mr_metrics_unavailable(m, "recording");
		mr_metrics_unavailable(m, "recording");
		_exit(0);
	}
	waitpid(pid, &st, 0);
	mr_metrics_slot_set(m, MR_METRICS_SLOTS, MR_WORKER_BUSY);
	mr_metrics_pool_event(m, MR_POOL_GROWN);
	mr_metrics_pool_limits(m, 2, 16);
	mr_metrics_pool_figures(m, &f);
	ok(f.total == 3 && f.busy == 1 && f.idle == 2 && f.min == 2 &&
	    f.max == 16, "scoreboard: 3 workers, 1 busy, 2 idle (starting "
	    "counts as idle); a slot out of range is ignored");
	ok(mr_metrics_slot_get(m, 5, &since) == MR_WORKER_BUSY && since > 0,
	    "a cell says since when");

	mr_buf_init(&b, 1 << 20);
	is_int(mr_metrics_write_pool(m, &b), 0, "exposition written");
	is_int(mr_metrics_write_workers(m, &b), 0, "workers written");
	is_int(value(b.data, "meetrec_http_requests_total{route=\"healthz\","
	    "method=\"GET\",status=\"200\"}"), CHILDREN * EACH,
	    "counts from every child add up");
	is_int(value(b.data, "meetrec_http_requests_total{route=\"recording\","
	    "method=\"DELETE\",status=\"404\"}"), 1, "a 404 by its status");
	is_int(value(b.data, "meetrec_http_requests_total{route=\"unknown\","
	    "method=\"GET\",status=\"404\"}"), 1, "an unknown route");
	is_int(value(b.data, "meetrec_http_requests_total{route=\"unknown\","
	    "method=\"other\",status=\"other\"}"), 1,
	    "no route, no method, odd status");
	is_int(value(b.data, "meetrec_http_requests_total{route=\"recording\","
	    "method=\"other\",status=\"405\"}"), 1, "an unknown method");
	is_int(value(b.data, "meetrec_http_request_duration_seconds_bucket{"
	    "route=\"healthz\",le=\"0.005\"}"), CHILDREN * 501,
	    "bucket le=0.005 holds 0..5 ms");
	is_int(value(b.data, "meetrec_http_request_duration_seconds_count{"
	    "route=\"healthz\"}"), value(b.data,
	    "meetrec_http_request_duration_seconds_bucket{route=\"healthz\","
	    "le=\"+Inf\"}"), "_count equals the +Inf bucket");
	is_int(value(b.data, "meetrec_pool_worker_restarts_total{"
	    "reason=\"died\"}"), 2, "restarts by reason");
	ok(strstr(b.data, "# TYPE meetrec_http_request_duration_seconds "
	    "histogram\n") != NULL, "TYPE line");
	is_int(value(b.data, "meetrec_pool_workers"), 3, "workers gauge");
	is_int(value(b.data, "meetrec_pool_workers_busy"), 1, "busy gauge");
	is_int(value(b.data, "meetrec_pool_grown_total"), 1, "grown counter");
	is_int(value(b.data, "meetrec_http_unavailable_total{"
	    "route=\"recording\"}"), 2, "503s of the busy responder by route");
	mr_buf_free(&b);
	return tap_failed != 0;
}
