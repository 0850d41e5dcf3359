/* SPDX-License-Identifier: ISC */
/*
 * metrics.c - the pool's request counters in shared memory, and the
 * Prometheus text exposition helpers.  See metrics.h.
 *
 * The master maps one small table (MAP_SHARED | MAP_ANONYMOUS) before it
 * forks the workers; every worker inherits it.  A request is counted with
 * relaxed atomic adds into fixed cells (no lock, no system call), so a
 * worker that is recycled or killed has already published what it
 * counted.  The scrape reads the cells with atomic loads: a request in
 * flight may show in one figure and not yet in another, as with any
 * Prometheus client.  The names describing the cells (route and method
 * strings) are process-local pointers into the binary, valid in every
 * forked child.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mr.h"
#include "metrics.h"

/* The statuses counted by name; everything else is "other". */
static const int statuses[] = {
	200, 201, 202, 204, 206, 302, 304,
	400, 401, 403, 404, 405, 409, 410, 413, 416, 422, 429,
	500, 501, 502, 503, 504
};
#define NSTATUS		(MR_NELEM(statuses) + 1)	/* + other */

/* Histogram upper bounds, in nanoseconds and as printed; then +Inf. */
static const struct {
	int64_t		 ns;
	const char	*le;
} buckets[] = {
	{ 1000000, "0.001" }, { 2500000, "0.0025" }, { 5000000, "0.005" },
	{ 10000000, "0.01" }, { 25000000, "0.025" }, { 50000000, "0.05" },
	{ 100000000, "0.1" }, { 250000000, "0.25" }, { 500000000, "0.5" },
	{ 1000000000, "1" }, { 2500000000LL, "2.5" }, { 5000000000LL, "5" }
};
#define NBUCKET		(MR_NELEM(buckets) + 1)		/* + +Inf */

enum { RESTART_RECYCLED, RESTART_DIED, NRESTART };

/* Pool cells after the events: the master's limits. */
enum { POOL_MIN = MR_POOL_NEVENT, POOL_MAX, NPOOL };

struct mr_metrics {
	const char	*route[MR_METRICS_ROUTES_MAX + 1];	/* + unknown */
	size_t		 nroute;
	const char	*method[MR_METRICS_METHODS_MAX + 1];	/* + other */
	size_t		 nmethod;
	/* In the shared mapping: */
	uint64_t	*requests;	/* [route][method][status] */
	uint64_t	*hist;		/* [route][bucket], not cumulative */
	uint64_t	*sum_ns;	/* [route] */
	uint64_t	*restarts;	/* [NRESTART] */
	uint64_t	*unavail;	/* [route] */
	uint64_t	*slots;		/* [MR_METRICS_SLOTS][state, since] */
	uint64_t	*pool;		/* [NPOOL] */
	void		*map;
	size_t		 maplen;
};

static struct mr_metrics *shared;

#define ADD(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Index of s in names[0..n), adding it when absent and there is room. */
static size_t
intern(const char **names, size_t *n, size_t max, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	if (*n == max)
		return max;
	names[*n] = s;
	return (*n)++;
}

struct mr_metrics *
mr_metrics_open(const char *const *routes, const char *const *methods,
    size_t n)
{
	struct mr_metrics	*m;
	size_t			 nreq, nhist;
	int			 dropped = 0;

	if (shared != NULL)
		return shared;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		mr_log_warn("metrics: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (intern(m->route, &m->nroute, MR_METRICS_ROUTES_MAX,
		    routes[i]) == MR_METRICS_ROUTES_MAX)
			dropped = 1;
		if (intern(m->method, &m->nmethod, MR_METRICS_METHODS_MAX,
		    methods[i]) == MR_METRICS_METHODS_MAX)
			dropped = 1;
		/* The pool answers HEAD wherever it answers GET. */
		if (strcmp(methods[i], "GET") == 0 && intern(m->method,
		    &m->nmethod, MR_METRICS_METHODS_MAX, "HEAD") ==
		    MR_METRICS_METHODS_MAX)
			dropped = 1;
	}
	if (dropped)
		mr_log_warnx("metrics: more than %d routes or %d methods, the "
		    "rest count as unknown/other", MR_METRICS_ROUTES_MAX,
		    MR_METRICS_METHODS_MAX);
	m->route[m->nroute++] = "unknown";
	m->method[m->nmethod++] = "other";

	nreq = m->nroute * m->nmethod * NSTATUS;
	nhist = m->nroute * NBUCKET;
	m->maplen = (nreq + nhist + m->nroute + NRESTART + m->nroute +
	    2 * MR_METRICS_SLOTS + NPOOL) * sizeof(uint64_t);
	m->map = mmap(NULL, m->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->map == MAP_FAILED) {
		mr_log_warn("metrics: could not map %zu bytes", m->maplen);
		free(m);
		return NULL;
	}
	/* Anonymous mappings start zeroed. */
	m->requests = m->map;
	m->hist = m->requests + nreq;
	m->sum_ns = m->hist + nhist;
	m->restarts = m->sum_ns + m->nroute;
	m->unavail = m->restarts + NRESTART;
	m->slots = m->unavail + m->nroute;
	m->pool = m->slots + 2 * MR_METRICS_SLOTS;
	shared = m;
	return m;
}

struct mr_metrics *
mr_metrics_shared(void)
{
	return shared;
}

static size_t
lookup(const char *const *names, size_t n, const char *s)
{
	/* The last name is the catch-all. */
	if (s != NULL)
		for (size_t i = 0; i + 1 < n; i++)
			if (strcmp(names[i], s) == 0)
				return i;
	return n - 1;
}

static size_t
status_index(int status)
{
	for (size_t i = 0; i < MR_NELEM(statuses); i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void
mr_metrics_request(struct mr_metrics *m, const char *route,
    const char *method, int status, int64_t ns)
{
	size_t	 r, b;

	if (m == NULL)
		return;
	r = lookup(m->route, m->nroute, route);
	ADD(&m->requests[(r * m->nmethod + lookup(m->method, m->nmethod,
	    method)) * NSTATUS + status_index(status)], 1);
	if (ns < 0)
		ns = 0;
	for (b = 0; b < MR_NELEM(buckets) && ns > buckets[b].ns; b++)
		;
	ADD(&m->hist[r * NBUCKET + b], 1);
	ADD(&m->sum_ns[r], (uint64_t)ns);
}

void
mr_metrics_worker_exit(struct mr_metrics *m, int died)
{
	if (m != NULL)
		ADD(&m->restarts[died ? RESTART_DIED : RESTART_RECYCLED], 1);
}

int
mr_metrics_family(struct mr_buf *b, const char *name, const char *type,
    const char *help)
{
	return mr_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

int
mr_metrics_sample_u64(struct mr_buf *b, const char *name,
    const char *labels, uint64_t v)
{
	return mr_buf_addf(b, "%s%s%s%s %" PRIu64 "\n", name,
	    labels ? "{" : "", labels ? labels : "", labels ? "}" : "", v);
}

int
mr_metrics_sample(struct mr_buf *b, const char *name, const char *labels,
    double v)
{
	char	 num[64];

	/* Whole numbers as integers (byte counts stay exact to 2^53). */
	if (v != v)
		snprintf(num, sizeof(num), "NaN");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(int64_t)v)
		snprintf(num, sizeof(num), "%" PRId64, (int64_t)v);
	else
		snprintf(num, sizeof(num), "%.17g", v);
	return mr_buf_addf(b, "%s%s%s%s %s\n", name, labels ? "{" : "",
	    labels ? labels : "", labels ? "}" : "", num);
}

static int
write_requests(struct mr_metrics *m, struct mr_buf *b)
{
	char		 lab[256], st[16];
	uint64_t	 v;
	size_t		 cell;
	int		 rc;

	rc = mr_metrics_family(b, "meetrec_http_requests_total", "counter",
	    "Requests the pool answered, by route, method and status.");
	for (cell = 0; cell < m->nroute * m->nmethod * NSTATUS; cell++) {
		if ((v = LOAD(&m->requests[cell])) == 0)
			continue;
		if (cell % NSTATUS < MR_NELEM(statuses))
			snprintf(st, sizeof(st), "%d",
			    statuses[cell % NSTATUS]);
		else
			snprintf(st, sizeof(st), "other");
		snprintf(lab, sizeof(lab), "route=\"%s\",method=\"%s\","
		    "status=\"%s\"", m->route[cell / NSTATUS / m->nmethod],
		    m->method[cell / NSTATUS % m->nmethod], st);
		rc |= mr_metrics_sample_u64(b, "meetrec_http_requests_total",
		    lab, v);
	}
	return rc;
}

static int
write_durations(struct mr_metrics *m, struct mr_buf *b)
{
	const char	*name = "meetrec_http_request_duration_seconds";
	char		 lab[256], sname[96];
	uint64_t	 cell[NBUCKET], cum;
	int		 rc;

	rc = mr_metrics_family(b, name, "histogram", "Time from reading the "
	    "request to writing the answer, in the worker, by route.");
	for (size_t r = 0; r < m->nroute; r++) {
		cum = 0;
		for (size_t i = 0; i < NBUCKET; i++) {
			cell[i] = LOAD(&m->hist[r * NBUCKET + i]);
			cum += cell[i];
		}
		if (cum == 0)
			continue;
		cum = 0;
		snprintf(sname, sizeof(sname), "%s_bucket", name);
		for (size_t i = 0; i < NBUCKET; i++) {
			cum += cell[i];
			snprintf(lab, sizeof(lab), "route=\"%s\",le=\"%s\"",
			    m->route[r], i < MR_NELEM(buckets) ?
			    buckets[i].le : "+Inf");
			rc |= mr_metrics_sample_u64(b, sname, lab, cum);
		}
		/* _count is the +Inf bucket, so the two always agree. */
		snprintf(lab, sizeof(lab), "route=\"%s\"", m->route[r]);
		snprintf(sname, sizeof(sname), "%s_sum", name);
		rc |= mr_metrics_sample(b, sname, lab,
		    (double)LOAD(&m->sum_ns[r]) / 1e9);
		snprintf(sname, sizeof(sname), "%s_count", name);
		rc |= mr_metrics_sample_u64(b, sname, lab, cum);
	}
	return rc;
}

int
mr_metrics_write_pool(struct mr_metrics *m, struct mr_buf *b)
{
	const char	*name = "meetrec_pool_worker_restarts_total";
	int		 rc;

	if (m == NULL)
		return 0;
	rc = write_requests(m, b);
	rc |= write_durations(m, b);
	rc |= mr_metrics_family(b, name, "counter", "Workers the master "
	    "replaced: recycled (max requests, reload) or died.");
	rc |= mr_metrics_sample_u64(b, name, "reason=\"recycled\"",
	    LOAD(&m->restarts[RESTART_RECYCLED]));
	rc |= mr_metrics_sample_u64(b, name, "reason=\"died\"",
	    LOAD(&m->restarts[RESTART_DIED]));
	return rc;
}

void
mr_metrics_slot_set(struct mr_metrics *m, int slot, enum mr_worker_state st)
{
	if (m == NULL || slot < 0 || slot >= MR_METRICS_SLOTS)
		return;
	/* The time first: a reader that sees the state sees a recent time. */
	STORE(&m->slots[2 * slot + 1], (uint64_t)mr_now_ms());
	STORE(&m->slots[2 * slot], (uint64_t)st);
}

enum mr_worker_state
mr_metrics_slot_get(struct mr_metrics *m, int slot, int64_t *since)
{
	uint64_t	 st;

	if (since != NULL)
		*since = 0;
	if (m == NULL || slot < 0 || slot >= MR_METRICS_SLOTS)
		return MR_WORKER_EMPTY;
	st = LOAD(&m->slots[2 * slot]);
	if (since != NULL)
		*since = (int64_t)LOAD(&m->slots[2 * slot + 1]);
	return st <= MR_WORKER_BUSY ? (enum mr_worker_state)st :
	    MR_WORKER_EMPTY;
}

void
mr_metrics_unavailable(struct mr_metrics *m, const char *route)
{
	if (m != NULL)
		ADD(&m->unavail[lookup(m->route, m->nroute, route)], 1);
}

void
mr_metrics_pool_event(struct mr_metrics *m, enum mr_pool_event ev)
{
	if (m != NULL && ev < MR_POOL_NEVENT)
		ADD(&m->pool[ev], 1);
}

void
mr_metrics_pool_limits(struct mr_metrics *m, int64_t min, int64_t max)
{
	if (m == NULL)
		return;
	STORE(&m->pool[POOL_MIN], (uint64_t)min);
	STORE(&m->pool[POOL_MAX], (uint64_t)max);
}

void
mr_metrics_pool_figures(struct mr_metrics *m, struct mr_pool_figures *f)
{
	memset(f, 0, sizeof(*f));
	if (m == NULL)
		return;
	for (int i = 0; i < MR_METRICS_SLOTS; i++) {
		switch (mr_metrics_slot_get(m, i, NULL)) {
		case MR_WORKER_EMPTY:
			continue;
		case MR_WORKER_BUSY:
			f->busy++;
			break;
		default:
			f->idle++;
			break;
		}
		f->total++;
	}
	f->min = (int64_t)LOAD(&m->pool[POOL_MIN]);
	f->max = (int64_t)LOAD(&m->pool[POOL_MAX]);
}

int
mr_metrics_write_workers(struct mr_metrics *m, struct mr_buf *b)
{
	static const struct {
		const char	*name, *type, *help;
	} events[MR_POOL_NEVENT] = {
		[MR_POOL_GROWN] = { "meetrec_pool_grown_total", "counter",
		    "Workers the master started because too few were idle." },
		[MR_POOL_RETIRED] = { "meetrec_pool_retired_total", "counter",
		    "Idle workers the master retired to shrink the pool." },
		[MR_POOL_MAX_REACHED] = { "meetrec_pool_max_reached_total",
		    "counter", "Times the pool wanted another worker but ran "
		    "fcgi_workers_max already." },
	};
	const char		*uname = "meetrec_http_unavailable_total";
	char			 lab[128];
	uint64_t		 u;
	static const struct {
		const char	*name, *help;
	} gauges[] = {
		{ "meetrec_pool_workers", "Workers running now." },
		{ "meetrec_pool_workers_busy", "Workers serving a request." },
		{ "meetrec_pool_workers_idle",
		  "Workers waiting for a request (or starting)." },
		{ "meetrec_pool_workers_min", "fcgi_workers_min, as the master "
		  "runs it (fcgi_workers for a static pool)." },
		{ "meetrec_pool_workers_max", "fcgi_workers_max, as the master "
		  "runs it (fcgi_workers for a static pool)." },
	};
	struct mr_pool_figures	 f;
	int64_t			 v[MR_NELEM(gauges)];
	int			 rc = 0;

	if (m == NULL)
		return 0;
	mr_metrics_pool_figures(m, &f);
	v[0] = f.total;
	v[1] = f.busy;
	v[2] = f.idle;
	v[3] = f.min;
	v[4] = f.max;
	for (size_t i = 0; i < MR_NELEM(gauges); i++) {
		rc |= mr_metrics_family(b, gauges[i].name, "gauge",
		    gauges[i].help);
		rc |= mr_metrics_sample(b, gauges[i].name, NULL,
		    (double)v[i]);
	}
	for (int i = 0; i < MR_POOL_NEVENT; i++) {
		rc |= mr_metrics_family(b, events[i].name, events[i].type,
		    events[i].help);
		rc |= mr_metrics_sample_u64(b, events[i].name, NULL,
		    LOAD(&m->pool[i]));
	}
	rc |= mr_metrics_family(b, uname, "counter", "Requests the busy "
	    "responder answered 503 at once, by route: nginx found the pool "
	    "full (its max_conns) and sent them there.");
	for (size_t r = 0; r < m->nroute; r++) {
		if ((u = LOAD(&m->unavail[r])) == 0)
			continue;
		snprintf(lab, sizeof(lab), "route=\"%s\"", m->route[r]);
		rc |= mr_metrics_sample_u64(b, uname, lab, u);
	}
	return rc;
}
