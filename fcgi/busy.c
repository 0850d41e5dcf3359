/* SPDX-License-Identifier: ISC */
/*
 * busy.c - the busy responder: one process on the pool's second socket
 * (fcgi_socket with ".busy" added), which nginx's upstream names as its
 * backup server.  nginx sends a request there only when the pool's own
 * server has max_conns requests already, waiting or being served (see
 * nginx/meetrec-http.conf.in): each one is answered at once with 503, the
 * usual JSON error body and Retry-After, and counted by route
 * (meetrec_http_unavailable_total).  So overload is answered by a
 * decision, counted, and never reaches nginx's error log.
 *
 * It holds no database connection and reads nothing but the request's
 * parameters; a body is read and dropped.  Per request it logs at debug
 * level only: it says when the pool is first found full, then how many
 * it answered, at most every SUMMARY_MS.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "fcgi.h"
#include "httpc.h"
#include "metrics.h"

#define ARENA_CAP	(1024 * 1024)
#define SUMMARY_MS	10000


static void
answer(struct mr_ctx *cx)
{
	struct mr_req	*rq = &cx->cx_req;
	const char	*v;

	memset(&cx->cx_resp, 0, sizeof(cx->cx_resp));
	mr_err_clear(&cx->cx_err);
	rq->rq_id = (v = mr_req_param(cx, "MEETREC_REQUEST_ID")) ? v : "-";
	rq->rq_route = mr_req_param(cx, "MEETREC_ROUTE");
	rq->rq_method = (v = mr_req_param(cx, "REQUEST_METHOD")) ? v : "GET";
	mr_req_discard(cx);
	/* resp.c adds Retry-After to every 5xx. */
	mr_err_set(&cx->cx_err, 503, "unavailable",
	    "The service is busy; try again in a moment.");
	mr_resp_send(cx);
	mr_metrics_unavailable(mr_metrics_shared(), rq->rq_route);
	mr_log_debug("req=%s route=%s method=%s status=503 code=unavailable "
	    "busy=1", rq->rq_id, rq->rq_route ? rq->rq_route : "-",
	    rq->rq_method);
}

/*
 * The responder's life: fd is the busy socket opened by the master,
 * master the master's pid (see mr_worker_signals).  Never returns.
 */
int
mr_busy_main(int fd, struct mr_conf *conf, pid_t master)
{
	struct mr_ctx	 cx;
	struct mr_env	 env;
	FCGX_Request	 req;
	uint64_t	 n = 0, told = 0;
	int64_t		 last = mr_now_ms() - SUMMARY_MS, now;
	int		 code = 0;

	mr_worker_signals(master);
	/* Told apart from the workers in ps and /proc. */
	prctl(PR_SET_NAME, "meetrec-busy");

	memset(&env, 0, sizeof(env));
	env.conf = conf;
	env.listen_fd = -1;
	memset(&cx, 0, sizeof(cx));
	cx.cx_env = &env;
	if ((cx.cx_arena = mr_arena_new(ARENA_CAP)) == NULL ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(3);
	cx.cx_req.rq_fcgx = &req;

	while (!mr_worker_stop) {
		if (mr_worker_accept(&req, fd) == -1) {
			if (!mr_worker_stop)
				code = MR_WORKER_EXIT_ACCEPT;
			break;
		}
		answer(&cx);
		FCGX_Finish_r(&req);
		mr_arena_reset(cx.cx_arena);
		/* The first at once, then what followed every SUMMARY_MS. */
		n++;
		if ((now = mr_now_ms()) - last < SUMMARY_MS)
			continue;
		if (n - told == 1)
			mr_log_warnx("the pool is full: nginx sends requests "
			    "here, answered 503 (see meetrec-fcgi(8), POOL)");
		else
			mr_log_warnx("the pool was full: %llu requests "
			    "answered 503 in the last %lld s",
			    (unsigned long long)(n - told),
			    (long long)(now - last) / 1000);
		told = n;
		last = now;
	}
	if (n > told)
		mr_log_warnx("the pool was full: %llu requests answered 503",
		    (unsigned long long)(n - told));
	FCGX_Free(&req, 0);
	mr_arena_free(cx.cx_arena);
	mr_conf_free(conf);
	mr_httpc_global_cleanup();
	exit(code);
}
