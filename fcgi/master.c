/* SPDX-License-Identifier: ISC */
/*
 * master.c - the prefork master (nginx master loop shape).  Signal
 * handlers only set flags; the loop acts on them:
 *   SIGCHLD  reap; a worker that exited 0 (recycled) is replaced at once,
 *            one that died is replaced with a growing delay, one the
 *            master retired is not replaced;
 *   SIGHUP   reload the configuration and replace every worker;
 *   SIGTERM  drain: workers finish their request and exit, then we do.
 *
 * Between signals the master sizes the pool as fcgi_pm says (php-fpm's
 * pm = static | dynamic | ondemand; meetrec-fcgi(8), POOL).  Every tick
 * it reads the scoreboard the workers keep in the shared metrics mapping
 * (who is busy, who has been idle since when), and while no worker is
 * idle it also watches the listening socket, so a request that waits
 * with every worker busy wakes it at once.  It starts workers while too
 * few are idle, up to fcgi_workers_max: as many as requests wait in the
 * listen queue, or 1, 2, 4, ... per tick while the shortage lasts (as
 * php-fpm does) when the kernel does not say; and it retires idle ones
 * down to fcgi_workers_min.  Nothing here asks PostgreSQL.
 *
 * The master also keeps the busy responder (busy.c) running on the
 * second socket, where nginx sends what the full pool cannot take.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "metrics.h"

#define MAX_WORKERS	256	/* fcgi_workers_max's own limit */
#define MAX_SLOTS	MR_METRICS_SLOTS /* two generations during a reload */
#define DRAIN_MS	120000	/* nginx's fastcgi_read_timeout: no answer
				   is awaited longer */
#define TICK_MS		100	/* a dynamic pool is looked at */
#define SPAWN_RATE_MAX	32	/* workers started in one tick, at most */
#define SPARE_KILL_MS	1000	/* spares beyond fcgi_spare_max: one a
				   second */

static volatile sig_atomic_t got_chld, got_hup, got_term;

enum retire { KEEP, RETIRE_SHRINK, RETIRE_RELOAD };

struct slot {
	pid_t		 pid;
	int		 generation;
	int64_t		 started_ms;
	enum retire	 retire;	/* told to go, and why */
};

static struct slot	 slots[MAX_SLOTS];
static pid_t		 master_pid;	/* getpid(), for the children */
static int		 pidfile_fd = -1;	/* the master's alone */
static int		 listen_fd = -1, busy_fd = -1;
static int		 generation;
static int64_t		 backoff_ms;	/* delay before respawning a crash */
static int64_t		 refill_at;	/* not before this (mr_now_ms) */
static int		 target;	/* workers wanted, retiring ones aside */
static int		 spawn_rate = 1;
static int		 at_max;	/* logged that max was reached */
static int		 watch_listen;	/* poll the socket: nobody is idle */
static int64_t		 spare_killed_ms;

static pid_t		 busy_pid;	/* the busy responder */
static int64_t		 busy_started_ms;
static int		 busy_replace;	/* told to go by a reload */

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

static int
clamp(int64_t v, int64_t lo, int64_t hi)
{
	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	return (int)v;
}

/* The pool's limits as conf gives them: a static pool is fixed. */
static void
limits(const struct mr_conf *conf, int *min, int *max)
{
	if (mr_conf_pm(conf) == MR_PM_STATIC) {
		*min = *max = clamp(conf->cf_fcgi_workers, 1, MAX_WORKERS);
		return;
	}
	*max = clamp(conf->cf_fcgi_workers_max, 1, MAX_WORKERS);
	*min = clamp(conf->cf_fcgi_workers_min, 0, *max);
}

/* How many workers a pool run with conf starts with. */
static int
initial(const struct mr_conf *conf)
{
	int	 min, max;

	limits(conf, &min, &max);
	switch (mr_conf_pm(conf)) {
	case MR_PM_STATIC:
		return max;
	case MR_PM_ONDEMAND:
		return min;
	default:
		return clamp(conf->cf_fcgi_workers, min, max);
	}
}

static pid_t
spawn(int i, struct mr_conf *conf)
{
	pid_t	 pid;

	/* Starting counts as idle: the master waits for it. */
	mr_metrics_slot_set(mr_metrics_shared(), i, MR_WORKER_STARTING);
	if ((pid = fork()) == -1) {
		mr_log_warn("could not fork worker");
		mr_metrics_slot_set(mr_metrics_shared(), i, MR_WORKER_EMPTY);
		return -1;
	}
	if (pid == 0) {
		/* A worker has no business with the pid file. */
		if (pidfile_fd != -1)
			close(pidfile_fd);
		close(busy_fd);
		mr_worker_main(listen_fd, conf, i, master_pid);
	}
	return pid;
}

static void
spawn_busy(struct mr_conf *conf)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		mr_log_warn("could not fork the busy responder");
		return;
	}
	if (pid == 0) {
		if (pidfile_fd != -1)
			close(pidfile_fd);
		close(listen_fd);
		mr_busy_main(busy_fd, conf, master_pid);
	}
	busy_pid = pid;
	busy_started_ms = mr_now_ms();
	mr_log_debug("busy responder pid=%ld started", (long)pid);
}

/* Workers alive that were not told to go. */
static int
nlive(void)
{
	int	 n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		n += slots[i].pid != 0 && slots[i].retire == KEEP;
	return n;
}

static int
nrunning(void)
{
	int	 n = busy_pid != 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		n += slots[i].pid != 0;
	return n;
}

/*
 * Start workers until target of them live, and the busy responder.  A
 * worker replaced by a reload still counts until it exits: old and new
 * never hold more PostgreSQL connections together than the pool may.
 */
static void
fill(struct mr_conf *conf)
{
	int	 live = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		live += slots[i].pid != 0 && slots[i].retire != RETIRE_SHRINK;

	for (int i = 0; i < MAX_SLOTS && live < target; i++) {
		if (slots[i].pid != 0)
			continue;
		if ((slots[i].pid = spawn(i, conf)) == -1) {
			slots[i].pid = 0;
			break;
		}
		slots[i].retire = KEEP;
		slots[i].generation = generation;
		slots[i].started_ms = mr_now_ms();
		live++;
		mr_log_debug("worker pid=%ld started", (long)slots[i].pid);
	}
	if (busy_pid == 0)
		spawn_busy(conf);
}

/* A worker or the responder died: young deaths mean a broken setup. */
static void
crashed(int64_t started_ms)
{
	if (mr_now_ms() - started_ms < 1000)
		backoff_ms = backoff_ms ? backoff_ms * 2 : 100;
	if (backoff_ms > 5000)
		backoff_ms = 5000;
	refill_at = mr_now_ms() + backoff_ms;
}

static void
log_exit(const char *who, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		mr_log_warnx("%s pid=%ld exited on signal %d, respawn", who,
		    (long)pid, WTERMSIG(status));
	else
		mr_log_warnx("%s pid=%ld exited with status %d, respawn", who,
		    (long)pid, WEXITSTATUS(status));
}

static void
reap(void)
{
	pid_t	 pid;
	int	 status, ok;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (pid == busy_pid) {
			busy_pid = 0;
			if (!ok && !busy_replace) {
				log_exit("busy responder", pid, status);
				crashed(busy_started_ms);
			}
			busy_replace = 0;
			continue;
		}
		for (int i = 0; i < MAX_SLOTS; i++) {
			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			mr_metrics_slot_set(mr_metrics_shared(), i,
			    MR_WORKER_EMPTY);
			if (ok && slots[i].retire == RETIRE_SHRINK) {
				mr_log_debug("worker pid=%ld retired",
				    (long)pid);
				break;
			}
			mr_metrics_worker_exit(mr_metrics_shared(), !ok);
			if (ok) {
				mr_log_debug("worker pid=%ld recycled",
				    (long)pid);
				break;
			}
			log_exit("worker", pid, status);
			crashed(slots[i].started_ms);
			break;
		}
	}
}

static void
signal_all(int sig, int only_generation)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].pid != 0 && (only_generation < 0 ||
		    slots[i].generation == only_generation))
			kill(slots[i].pid, sig);
	if (busy_pid != 0 && only_generation < 0)
		kill(busy_pid, sig);
}

/*
 * Tell worker i to go, once: SIGTERM stays pending while the worker
 * serves and is taken in its next wait for a connection, so a worker
 * never misses it (mr_worker_accept).
 */
static void
retire(int i, enum retire why)
{
	slots[i].retire = why;
	kill(slots[i].pid, SIGTERM);
}

/* Is a connection waiting to be accepted? */
static int
queue_waiting(void)
{
	struct pollfd	 pfd;

	pfd.fd = listen_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/*
 * Grow or shrink a dynamic or ondemand pool from the scoreboard (see the
 * top of the file).  ready says the listening socket was seen readable.
 */
static void
scale(struct mr_conf *conf, int ready)
{
	struct mr_metrics	*m = mr_metrics_shared();
	enum mr_conf_pm		 pm = mr_conf_pm(conf);
	enum mr_worker_state	 st;
	int64_t			 now = mr_now_ms(), since, oldest;
	int			 min, max, live = 0, idle = 0, resting = 0;
	int			 procs = 0;
	int			 spare_min, spare_max, shortage, waiting;
	int			 n, pick;
	uint32_t		 queued = 0, cap;

	watch_listen = 0;
	limits(conf, &min, &max);
	if (pm == MR_PM_STATIC || m == NULL)
		return;
	for (int i = 0; i < MAX_SLOTS; i++) {
		/* One retired but still finishing counts against max. */
		procs += slots[i].pid != 0;
		if (slots[i].pid == 0 || slots[i].retire != KEEP)
			continue;
		live++;
		st = mr_metrics_slot_get(m, i, NULL);
		idle += st == MR_WORKER_STARTING || st == MR_WORKER_IDLE;
		resting += st == MR_WORKER_IDLE;
	}
	/* A respawn is due (after a crash, with its delay): wait for it. */
	if (live < target)
		return;
	spare_min = pm == MR_PM_DYNAMIC ? (int)conf->cf_fcgi_spare_min : 0;
	spare_max = pm == MR_PM_DYNAMIC ? (int)conf->cf_fcgi_spare_max :
	    MAX_WORKERS;
	waiting = idle == 0 && (ready || queue_waiting());
	shortage = idle < spare_min || waiting;
	/* Once per stay at the maximum, however often it is short. */
	if (procs < max)
		at_max = 0;
	if (shortage && procs >= max) {
		if (!at_max) {
			mr_log_warnx("pool is at fcgi_workers_max (%d workers, "
			    "all busy); requests wait in the listen queue",
			    max);
			mr_metrics_pool_event(m, MR_POOL_MAX_REACHED);
			at_max = 1;
		}
		spawn_rate = 1;
		return;
	}
	if (shortage) {
		n = spare_min - idle;
		if (n > spawn_rate)
			n = spawn_rate;
		/* As many as wait, when the kernel says; at least the rate. */
		if (waiting && (mr_listenq_get(listen_fd, &queued, &cap) == -1 ||
		    (int64_t)queued < spawn_rate))
			queued = (uint32_t)spawn_rate;
		if (waiting && (int64_t)queued > n)
			n = queued > MAX_WORKERS ? MAX_WORKERS : (int)queued;
		if (n > max - procs)
			n = max - procs;
		target = live + n;
		for (int i = 0; i < n; i++)
			mr_metrics_pool_event(m, MR_POOL_GROWN);
		mr_log_debug("pool grows to %d workers (%d idle)", target,
		    idle);
		fill(conf);
		if (spawn_rate < SPAWN_RATE_MAX)
			spawn_rate *= 2;
		return;
	}
	spawn_rate = 1;
	/* Nobody idle and room to grow: wake when a request waits. */
	watch_listen = idle == 0 && procs < max;

	/* Retire the longest idle, one at a time, while the rules allow. */
	while (live > min && idle > spare_min && resting > 0) {
		pick = -1;
		oldest = now;
		for (int i = 0; i < MAX_SLOTS; i++) {
			if (slots[i].pid == 0 || slots[i].retire != KEEP ||
			    mr_metrics_slot_get(m, i, &since) !=
			    MR_WORKER_IDLE)
				continue;
			if (pick == -1 || since < oldest) {
				pick = i;
				oldest = since;
			}
		}
		if (pick == -1)
			break;
		if (idle > spare_max && now - spare_killed_ms >=
		    SPARE_KILL_MS)
			spare_killed_ms = now;
		else if (now - oldest < conf->cf_fcgi_idle_timeout * 1000)
			break;
		retire(pick, RETIRE_SHRINK);
		mr_metrics_pool_event(m, MR_POOL_RETIRED);
		mr_log_debug("worker pid=%ld retired after %lld ms idle",
		    (long)slots[pick].pid, (long long)(now - oldest));
		live--;
		idle--;
		resting--;
		target = live;
	}
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

static void
publish_limits(const struct mr_conf *conf)
{
	int	 min, max;

	limits(conf, &min, &max);
	mr_metrics_pool_limits(mr_metrics_shared(), min, max);
}

/*
 * SIGTERM: every child finishes the request in hand and exits.  One
 * still there after DRAIN_MS, when nginx has given up on its answer, is
 * killed, once; the monotonic clock, so a change of the time of day
 * neither cuts a request short nor lets one run on.
 */
static void
drain(void)
{
	int64_t	 deadline = mr_now_ms() + DRAIN_MS;
	int	 killed = 0;

	signal_all(SIGTERM, -1);
	while (nrunning() > 0) {
		if (!killed && mr_now_ms() >= deadline) {
			mr_log_warnx("workers did not drain in %d s, killing",
			    DRAIN_MS / 1000);
			signal_all(SIGKILL, -1);
			killed = 1;
		}
		usleep(20000);
		reap();
	}
}

/*
 * Sleep until a signal, a tick (a dynamic pool), the end of a respawn
 * delay or, when watch_listen, a request waiting.  Signals are delivered
 * only in here (ppoll's mask).  Returns whether the listening socket is
 * readable.
 */
static int
wait_events(struct mr_conf *conf, const sigset_t *mask)
{
	struct pollfd	 pfd;
	struct timespec	 ts;
	int64_t		 timeout = -1, left;
	int		 n;

	if (mr_conf_pm(conf) != MR_PM_STATIC)
		timeout = TICK_MS;
	if (backoff_ms > 0 && (nlive() < target || busy_pid == 0)) {
		left = refill_at - mr_now_ms();
		if (left < 0)
			left = 0;
		if (timeout < 0 || left < timeout)
			timeout = left;
	}
	pfd.fd = listen_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (timeout % 1000) * 1000000;
	n = ppoll(&pfd, watch_listen ? 1 : 0, timeout < 0 ? NULL : &ts,
	    mask);
	return n == 1 && (pfd.revents & POLLIN);
}

/*
 * Run the pool until SIGTERM.  conf is replaced on SIGHUP; the master
 * frees the one it holds at exit.  fd is the pool's listening socket,
 * busyfd the busy responder's.  pidfd (or -1) is the pid file, opened by
 * mr_pidfile_open before privileges were dropped: the pid is written
 * through it once the workers run; the caller empties and closes it.
 * Returns the exit status.
 */
int
mr_master_run(const char *confpath, struct mr_conf *conf, int fd,
    int busyfd, int pidfd)
{
	struct sigaction sa;
	sigset_t	 block, empty;
	struct mr_conf	*nc;
	char		 errbuf[512];
	uint32_t	 queued, backlog;
	int		 old, ready = 0, min, max;

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

	/* Signals are only delivered inside ppoll(). */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	master_pid = getpid();
	pidfile_fd = pidfd;
	listen_fd = fd;
	busy_fd = busyfd;
	open_metrics();
	publish_limits(conf);
	target = initial(conf);
	fill(conf);
	if (pidfd != -1 && mr_pidfile_write(pidfd) == -1)
		mr_log_warn("could not write pid file '%s'",
		    conf->cf_pid_file);
	limits(conf, &min, &max);
	if (mr_listenq_get(fd, &queued, &backlog) == -1)
		backlog = 0;
	mr_log_info("pool started pm=%s workers=%d min=%d max=%d "
	    "max_requests=%lld backlog=%lu socket=%s", conf->cf_fcgi_pm,
	    target, min, max, (long long)conf->cf_fcgi_max_requests,
	    (unsigned long)backlog, conf->cf_fcgi_socket);

	for (;;) {
		if (!got_chld && !got_hup && !got_term)
			ready = wait_events(conf, &empty);
		if (got_term) {
			mr_log_info("pool draining");
			drain();
			break;
		}
		if (got_chld) {
			got_chld = 0;
			reap();
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
			mr_conf_free(conf);
			conf = nc;
			old = generation++;
			/* Old workers finish their request and exit 0. */
			for (int i = 0; i < MAX_SLOTS; i++)
				if (slots[i].pid != 0 &&
				    slots[i].generation == old)
					retire(i, RETIRE_RELOAD);
			if (busy_pid != 0) {
				busy_replace = 1;
				kill(busy_pid, SIGTERM);
			}
			/* A growing pool keeps its size through a reload. */
			limits(conf, &min, &max);
			target = mr_conf_pm(conf) == MR_PM_STATIC ?
			    initial(conf) : clamp(target, min, max);
			publish_limits(conf);
			spawn_rate = 1;
			at_max = 0;
			mr_log_info("reloaded configuration");
		}
		if (backoff_ms == 0 || mr_now_ms() >= refill_at) {
			if (backoff_ms > 0 && (nlive() < target ||
			    busy_pid == 0))
				backoff_ms /= 2;
			fill(conf);
		}
		scale(conf, ready);
		ready = 0;
	}
	mr_log_info("pool stopped");
	mr_conf_free(conf);
	return 0;
}
