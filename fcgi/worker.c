/* SPDX-License-Identifier: ISC */
/*
 * worker.c - one pool worker: accept a FastCGI request, read it into the
 * per-request arena, dispatch, answer, log one line, reset the arena.
 * After max_requests, or on SIGTERM once the current request is done,
 * the worker exits 0 and the master starts a fresh one.  A worker that
 * can no longer wait for or accept connections exits 5
 * (MR_WORKER_EXIT_ACCEPT): the master replaces it as one that died,
 * with a delay that grows while that keeps happening.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "httpc.h"
#include "metrics.h"

#define ARENA_CAP	(64 * 1024 * 1024)
/* Heap a worker keeps between requests, and where mmap(2) begins. */
#define HEAP_KEEP	(4 * 1024 * 1024)
#define HEAP_MMAP	(1024 * 1024)

volatile sig_atomic_t mr_worker_stop;

static void
on_term(int sig)
{
	(void)sig;
	mr_worker_stop = 1;
}

/*
 * The start of every child of the master (a worker, the busy responder),
 * master being its pid as the master saw it before the fork: die with
 * the master, never outlive it; what the master blocked or
 * ignored is back to normal, but for SIGPIPE; SIGTERM and SIGINT set
 * mr_worker_stop, and stay blocked except while mr_worker_accept() waits
 * for a connection, so they never cut a request short (see there).
 */
void
mr_worker_signals(pid_t master)
{
	struct sigaction sa;
	sigset_t	 set;

	/*
	 * The master may have died before prctl: then we have another
	 * parent already.  Not "getppid() == 1": the master may be pid 1
	 * (a container), and an orphan may go to a subreaper.
	 */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * Wait for the next request on the listening socket fd (non-blocking,
 * shared by every worker).  Returns 0 with a request accepted into req,
 * or -1 when it is time to stop: mr_worker_stop is set, or waiting or
 * accepting failed (logged here; the caller exits MR_WORKER_EXIT_ACCEPT).
 *
 * A worker told to go (SIGTERM: a retirement, a reload, a drain) must
 * not drop a connection it has already accepted: nginx would see the
 * request fail.  libfcgi reads the request's parameters inside
 * FCGX_Accept_r, after accept(2), and a signal there makes it close the
 * connection.  So the signals are let in only while epoll_pwait(2)
 * waits; when it says a connection is there, FCGX_Accept_r runs with
 * them blocked, and if another worker took the connection first the
 * non-blocking accept(2) fails with EAGAIN and we wait again.  The
 * listening socket is in each process's own epoll set with EPOLLEXCLUSIVE,
 * so a connection wakes one waiting worker, not all of them.  The kernel
 * wakes exclusive waiters in the order they were registered: the
 * earliest-registered worker that waits, not the one that has waited
 * longest.  Under light load the same few workers serve and the others
 * stay idle for the master to retire (fcgi_pm dynamic, ondemand).
 */
int
mr_worker_accept(FCGX_Request *req, int fd)
{
	static int		 ep = -1;
	struct epoll_event	 ev;
	sigset_t		 open;
	int			 n, rc;

	if (ep == -1) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.fd = fd;
		if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			mr_log_warn("could not wait for connections");
			return -1;
		}
	}
	sigemptyset(&open);
	for (;;) {
		if (mr_worker_stop)
			return -1;
		n = epoll_pwait(ep, &ev, 1, -1, &open);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			mr_log_warn("could not wait for connections");
			return -1;
		}
		if (n == 0)
			continue;
		if (ev.events & (EPOLLERR | EPOLLHUP)) {
			mr_log_warnx("the listening socket failed");
			return -1;
		}
		rc = FCGX_Accept_r(req);
		if (rc == 0)
			return 0;
		/* Another worker was quicker. */
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
		    rc == -ECONNABORTED)
			continue;
		/* EMFILE, ENFILE, ENOMEM, ...: the master starts another. */
		mr_log_warnx("could not accept: %s", strerror(-rc));
		return -1;
	}
}

int
mr_worker_env_init(struct mr_env *env, struct mr_conf *conf)
{
	struct mr_err	 err;

	memset(env, 0, sizeof(*env));
	env->conf = conf;
	env->listen_fd = -1;
	if ((env->db = mr_db_new(conf->cf_database_url,
	    (int)conf->cf_database_prepared_statements)) == NULL)
		return -1;
	env->lk.url = conf->cf_livekit_url;
	env->lk.key = conf->cf_livekit_api_key;
	env->lk.secret = conf->cf_livekit_api_secret;
	env->lk.timeout_ms = (long)conf->cf_livekit_timeout_ms;
	if (conf->cf_jwt_secret != NULL) {
		env->jwt.secret = (const unsigned char *)conf->cf_jwt_secret;
		env->jwt.secretlen = strlen(conf->cf_jwt_secret);
	}
	if (conf->cf_jwt_public_key_file != NULL) {
		mr_err_clear(&err);
		env->jwt.pubkey = mr_jwt_load_pubkey(
		    conf->cf_jwt_public_key_file, &err);
		if (env->jwt.pubkey == NULL) {
			mr_log_warnx("%s", err.detail);
			return -1;
		}
	}
	if (mr_link_key(conf, env->linkkey) == -1) {
		mr_log_warnx("could not make the key for signed links");
		return -1;
	}
	env->jwt.leeway = conf->cf_jwt_leeway;
	env->jwt.issuer = conf->cf_jwt_issuer;
	env->jwt.audience = conf->cf_jwt_audience;
	mr_err_clear(&err);
	if (mr_store_open(&env->store, conf, &err) == -1) {
		mr_log_warnx("storage: %s%s%s", err.detail,
		    err.cause[0] ? ": " : "", err.cause);
		return -1;
	}
	/* Connect now; a database that is down is retried per request. */
	mr_err_clear(&err);
	if (mr_db_connect(env->db, &err) == -1)
		mr_log_warnx("%s", err.cause);
	return 0;
}

void
mr_worker_env_free(struct mr_env *env)
{
	mr_store_close(&env->store);
	mr_db_free(env->db);
	EVP_PKEY_free(env->jwt.pubkey);
}

static void
log_request(struct mr_ctx *cx, int64_t start)
{
	struct mr_req	*rq = &cx->cx_req;
	struct mr_err	*e = &cx->cx_err;
	int		 st = cx->cx_resp.status;

	mr_log_msg(st >= 500 ? MR_LOG_WARN : MR_LOG_INFO,
	    "req=%s route=%s method=%s status=%d code=%s dur_ms=%lld "
	    "user=%s rec=%s%s%s", rq->rq_id, rq->rq_route, rq->rq_method, st,
	    st >= 400 && e->code ? e->code : "-",
	    (long long)(mr_now_ms() - start),
	    cx->cx_user.id ? cx->cx_user.id : "-",
	    cx->cx_rec ? cx->cx_rec : "-",
	    e->cause[0] ? " cause=" : "", e->cause);
}

static int64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
serve(struct mr_ctx *cx)
{
	int64_t		 start = mr_now_ms(), t0 = mono_ns();
	int		 rc;

	mr_err_clear(&cx->cx_err);
	memset(&cx->cx_resp, 0, sizeof(cx->cx_resp));
	memset(&cx->cx_user, 0, sizeof(cx->cx_user));
	cx->cx_rec = NULL;
	mr_db_set_actor(cx->cx_env->db, NULL);
	rc = mr_req_read(cx);
	if (rc == 0)
		rc = mr_route_dispatch(cx);
	if (rc == -1) {
		/* Keep the headers (Allow, WWW-Authenticate), drop the rest. */
		cx->cx_resp.status = 0;
		cx->cx_resp.body = NULL;
		cx->cx_resp.bodylen = 0;
	}
	mr_resp_send(cx);
	/*
	 * Counted before FCGX_Finish_r hands the end of the answer to nginx,
	 * so a scrape the client sends next already sees this request.
	 */
	mr_metrics_request(mr_metrics_shared(), cx->cx_req.rq_route,
	    cx->cx_req.rq_method, cx->cx_resp.status, mono_ns() - t0);
	log_request(cx, start);
}

/*
 * glibc gives the top of the heap back to the kernel as soon as 128 KB
 * of it are free, and a page of recordings frees more than that when its
 * arena is reset: every list request paid for brk(2), and for the kernel
 * zeroing the pages it took back.  A worker keeps up to HEAP_KEEP
 * free instead (it is recycled after fcgi_max_requests anyway).  Setting
 * this stops glibc from raising its mmap threshold by itself, so it is
 * set too: a page of 200 recordings is written in one buffer of some
 * 200 KB, which would otherwise be mmap'ed and unmapped each time.
 */
static void
heap_keep(void)
{
	mallopt(M_TRIM_THRESHOLD, HEAP_KEEP);
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP);
}

/*
 * The worker's life.  fd is the listening socket opened by the master,
 * slot the worker's cell of the scoreboard (metrics.h), where it says
 * whether it waits for a request or serves one, master the master's pid
 * (see mr_worker_signals).  Never returns.
 */
int
mr_worker_main(int fd, struct mr_conf *conf, int slot, pid_t master)
{
	struct mr_env	 env;
	struct mr_ctx	 cx;
	struct mr_metrics *m = mr_metrics_shared();
	FCGX_Request	 req;
	int64_t		 served = 0;
	int		 code = 0;

	mr_worker_signals(master);
	heap_keep();

	if (mr_worker_env_init(&env, conf) == -1)
		_exit(3);
	env.listen_fd = fd;
	memset(&cx, 0, sizeof(cx));
	cx.cx_env = &env;
	if ((cx.cx_arena = mr_arena_new(ARENA_CAP)) == NULL ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(3);
	cx.cx_req.rq_fcgx = &req;

	while (!mr_worker_stop && served < conf->cf_fcgi_max_requests) {
		mr_metrics_slot_set(m, slot, MR_WORKER_IDLE);
		if (mr_worker_accept(&req, fd) == -1) {
			if (!mr_worker_stop)
				code = MR_WORKER_EXIT_ACCEPT;
			break;
		}
		mr_metrics_slot_set(m, slot, MR_WORKER_BUSY);
		served++;
		serve(&cx);
		FCGX_Finish_r(&req);
		mr_arena_reset(cx.cx_arena);
		if (cx.cx_must_exit) {
			code = 4;
			break;
		}
	}
	FCGX_Free(&req, 0);
	mr_arena_free(cx.cx_arena);
	mr_worker_env_free(&env);
	mr_conf_free(conf);
	mr_httpc_global_cleanup();
	exit(code);
}
