/* SPDX-License-Identifier: ISC */
/*
 * master.c - the prefork master (nginx master loop shape).  Signal
 * handlers only set flags; the loop acts on them:
 *   SIGCHLD  reap; a worker that exited 0 (recycled) is replaced at once,
 *            one that died is replaced with a growing delay;
 *   SIGHUP   reload the configuration and replace every worker;
 *   SIGTERM  drain: workers finish their request and exit, then we do.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "metrics.h"

#define MAX_WORKERS	256
#define DRAIN_SECONDS	60

static volatile sig_atomic_t got_chld, got_hup, got_term;

struct slot {
	pid_t	 pid;
	int	 generation;
	int64_t	 started_ms;
};

static struct slot	 slots[MAX_WORKERS];
static int		 pidfile_fd = -1;	/* the master's alone */
static int		 generation;
static int64_t		 backoff_ms;	/* delay before respawning a crash */

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	default:
		got_term = 1;
		break;
	}
}

static pid_t
spawn(int fd, struct mr_conf *conf)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		mr_log_warn("could not fork worker");
		return -1;
	}
	if (pid == 0) {
		/* A worker has no business with the pid file. */
		if (pidfile_fd != -1)
			close(pidfile_fd);
		mr_worker_main(fd, conf);
	}
	return pid;
}

static void
fill(int fd, struct mr_conf *conf)
{
	for (int i = 0; i < conf->cf_fcgi_workers; i++) {
		if (slots[i].pid != 0)
			continue;
		if ((slots[i].pid = spawn(fd, conf)) == -1) {
			slots[i].pid = 0;
			continue;
		}
		slots[i].generation = generation;
		slots[i].started_ms = mr_now_ms();
		mr_log_debug("worker pid=%ld started", (long)slots[i].pid);
	}
}

static int
nrunning(void)
{
	int	 n = 0;

	for (int i = 0; i < MAX_WORKERS; i++)
		n += slots[i].pid != 0;
	return n;
}

/* Reap children; returns how many died abnormally. */
static int
reap(void)
{
	pid_t	 pid;
	int	 status, crashed = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_WORKERS; i++) {
			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			mr_metrics_worker_exit(mr_metrics_shared(),
			    !WIFEXITED(status) || WEXITSTATUS(status) != 0);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				mr_log_debug("worker pid=%ld recycled",
				    (long)pid);
				break;
			}
			crashed++;
			if (WIFSIGNALED(status))
				mr_log_warnx("worker pid=%ld exited on signal "
				    "%d, respawn", (long)pid,
				    WTERMSIG(status));
			else
				mr_log_warnx("worker pid=%ld exited with "
				    "status %d, respawn", (long)pid,
				    WEXITSTATUS(status));
			/* A worker that dies young means a broken setup. */
			if (mr_now_ms() - slots[i].started_ms < 1000)
				backoff_ms = backoff_ms ? backoff_ms * 2 : 100;
			if (backoff_ms > 5000)
				backoff_ms = 5000;
			break;
		}
	}
	return crashed;
}

static void
signal_all(int sig, int only_generation)
{
	for (int i = 0; i < MAX_WORKERS; i++)
		if (slots[i].pid != 0 && (only_generation < 0 ||
		    slots[i].generation == only_generation))
			kill(slots[i].pid, sig);
}

/*
 * The shared request counters, made once before the first fork: workers
 * inherit the mapping, and a reload keeps it, so counts survive both.
 */
static void
open_metrics(void)
{
	const char	*names[MR_METRICS_ROUTES_MAX * MR_METRICS_METHODS_MAX];
	const char	*methods[MR_NELEM(names)];
	size_t		 n = 0;

	for (size_t i = 0; i < mr_nroutes && n < MR_NELEM(names); i++, n++) {
		names[n] = mr_routes[i].name;
		methods[n] = mr_routes[i].method;
	}
	if (mr_metrics_open(names, methods, n) == NULL)
		mr_log_warnx("metrics: request counting is off");
}

static int
drain(void)
{
	time_t	 deadline = time(NULL) + DRAIN_SECONDS;

	signal_all(SIGTERM, -1);
	while (nrunning() > 0) {
		if (time(NULL) > deadline) {
			mr_log_warnx("workers did not drain in %d s, killing",
			    DRAIN_SECONDS);
			signal_all(SIGKILL, -1);
		}
		usleep(20000);
		reap();
	}
	return 0;
}

/*
 * Run the pool until SIGTERM.  conf is replaced on SIGHUP; the master
 * frees the one it holds at exit.  pidfd (or -1) is the pid file, opened
 * by mr_pidfile_open before privileges were dropped: the pid is written
 * through it once the workers run; the caller empties and closes it.
 * Returns the exit status.
 */
int
mr_master_run(const char *confpath, struct mr_conf *conf, int fd, int pidfd)
{
	struct sigaction sa;
	sigset_t	 block, empty;
	struct mr_conf	*nc;
	char		 errbuf[512];
	int		 old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/* Signals are only delivered inside sigsuspend(). */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	pidfile_fd = pidfd;
	open_metrics();
	fill(fd, conf);
	if (pidfd != -1 && mr_pidfile_write(pidfd) == -1)
		mr_log_warn("could not write pid file '%s'",
		    conf->cf_pid_file);
	mr_log_info("pool started workers=%lld max_requests=%lld socket=%s",
	    (long long)conf->cf_fcgi_workers,
	    (long long)conf->cf_fcgi_max_requests, conf->cf_fcgi_socket);

	for (;;) {
		if (!got_chld && !got_hup && !got_term) {
			if (backoff_ms > 0 && nrunning() <
			    conf->cf_fcgi_workers) {
				/* Wait out the backoff, then refill. */
				sigprocmask(SIG_UNBLOCK, &block, NULL);
				usleep((useconds_t)backoff_ms * 1000);
				sigprocmask(SIG_BLOCK, &block, NULL);
				backoff_ms /= 2;
				fill(fd, conf);
				continue;
			}
			sigsuspend(&empty);
		}
		if (got_term) {
			mr_log_info("pool draining");
			drain();
			break;
		}
		if (got_chld) {
			got_chld = 0;
			reap();
			if (backoff_ms == 0)
				fill(fd, conf);
		}
		if (got_hup) {
			got_hup = 0;
			errbuf[0] = '\0';
			if ((nc = mr_conf_load(confpath, errbuf,
			    sizeof(errbuf))) == NULL) {
				mr_log_warnx("reload refused: %s", errbuf);
				continue;
			}
			mr_log_setlevel(mr_log_parse_level(nc->cf_log_level));
			if (nc->cf_fcgi_workers > MAX_WORKERS)
				nc->cf_fcgi_workers = MAX_WORKERS;
			mr_conf_free(conf);
			conf = nc;
			old = generation++;
			/* Old workers finish their request and exit 0. */
			signal_all(SIGTERM, old);
			mr_log_info("reloaded configuration");
		}
	}
	mr_log_info("pool stopped");
	mr_conf_free(conf);
	return 0;
}
