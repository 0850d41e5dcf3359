/* SPDX-License-Identifier: ISC */
/*
 * reaper.c - meetrec-reaper: run the repair passes once (for cron) or
 * keep watching (woken by PostgreSQL NOTIFY when a webhook queues an
 * upload).  Any number of reapers on any number of hosts may run at once.
 * See meetrec-reaper(8).  Exit status: 0 all done, 1 some items failed
 * (logged; they are retried later), 2 usage or configuration error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "mr.h"
#include "httpc.h"
#include "metrics.h"
#include "reap.h"

#define ITEM_ARENA	(16 * 1024 * 1024)
#define BATCH_ARENA	(4 * 1024 * 1024)	/* a batch of rows */
#define WATCH_SWEEP_S	30	/* full passes at least this often */
#define WATCH_POLL_S	5	/* the upload pass, when nothing notifies */
#define UPLOAD_BIT	(1u << 0)	/* passes[] */
#define HOOKS_BIT	(1u << 5)
#define TRANSCRIBE_BIT	(1u << 6)

volatile sig_atomic_t mr_reap_stopping;

struct passdef {
	const char	*name;
	int		(*fn)(struct mr_reaper *, int);
};

#ifdef MR_TRANSCRIBER
/*
 * meetrec-transcribe: this file built again with only the transcribe
 * pass, linking FFmpeg's libraries.  meetrec-reaper runs it for that
 * pass, so the reaper itself never loads them: they cost a process that
 * maps them some 19 MiB resident before it does anything, and decoding
 * media is best kept out of the process that moves every recording.
 */
#define PROG	"meetrec-transcribe"
static const struct passdef passes[] = {
	{ "transcribe", mr_reap_transcribe },
};
#else
#define PROG	"meetrec-reaper"
static int	transcriber(struct mr_reaper *, int);

/* In this order: uploads first, they are what users wait for. */
static const struct passdef passes[] = {
	{ "upload", mr_reap_uploads },
	{ "stale", mr_reap_stale },
	{ "expire", mr_reap_expired },
	{ "purge", mr_reap_purge },
	{ "orphans", mr_reap_orphans },
	{ "webhooks", mr_reap_hooks },
	{ "transcribe", transcriber },
};
#endif

/*
 * The transcribe pass runs in meetrec-transcribe, installed beside this
 * program (--once), so that a long meeting or a slow speech-to-text
 * server holds up no upload, expiry or delivery of a watching reaper.
 * One at a time, started when a transcription is due.
 */
struct trchild {
	pid_t		 pid;		/* 0: none running */
	int64_t		 looked;	/* when one was last looked for */
	const char	*config;	/* --config, or NULL */
	int		 use_syslog;
	int64_t		 limit;
};

/* The options meetrec-reaper was started with, for meetrec-transcribe. */
static struct trchild	 started;

static void MR_NORETURN
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
#ifdef MR_TRANSCRIBER
	    "usage: meetrec-transcribe [--config file] --once [--limit n] "
	    "[--syslog]\n"
	    "       meetrec-transcribe --help | --version\n"
	    "The transcribe pass of meetrec-reaper, which runs it.\n"
#else
	    "usage: meetrec-reaper [--config file] (--once | --watch)\n"
	    "           [--pass name[,name...]] [--limit n] [--syslog]\n"
	    "       meetrec-reaper --help | --version\n"
	    "passes: upload, stale, expire, purge, orphans, webhooks, "
	    "transcribe\n"
#endif
	    "The configuration is read from %s,\n"
	    "unless --config or MEETREC_CONFIG name another file.\n"
	    "See meetrec-reaper(8).\n", MR_CONFFILE);
	exit(status);
}

static void
on_signal(int sig)
{
	(void)sig;
	mr_reap_stopping = 1;
}

/* One statement per pass; a metric that cannot be written is not fatal. */
static void
record_pass(struct mr_reaper *rp, const char *name, int64_t ms)
{
	struct mr_err	 err;

	mr_err_clear(&err);
	if (mr_db_metrics_pass(rp->db, rp->arena, name, (double)ms / 1000,
	    &err) == -1)
		mr_log_warnx("pass=%s could not record its metrics: %s", name,
		    err.cause[0] ? err.cause : err.detail);
}

static int
run_passes(struct mr_reaper *rp, unsigned mask, int limit)
{
	int64_t	 t0, ms;
	int	 n, rc = 0;

	for (size_t i = 0; i < MR_NELEM(passes) && !mr_reap_stopping; i++) {
		if (!(mask & (1u << i)))
			continue;
		t0 = mr_now_ms();
		n = passes[i].fn(rp, limit);
		ms = mr_now_ms() - t0;
		mr_log_info("pass=%s done items=%d dur_ms=%lld", passes[i].name,
		    n, (long long)ms);
		record_pass(rp, passes[i].name, ms);
		if (n == -1)
			rc = -1;
		/* What the stale pass caught up may now be uploaded. */
		if (passes[i].fn == mr_reap_stale && n > 0 && (mask & 1u) &&
		    mr_reap_uploads(rp, limit) == -1)
			rc = -1;
	}
	return rc;
}

/* Wait for a NOTIFY on meetrec_upload or the timeout; 1 notified. */
static int
wait_notify(struct mr_db *db, int timeout_ms)
{
	PGconn		*c = mr_db_conn(db);
	PGnotify	*nf;
	struct pollfd	 pfd;
	int		 got = 0;

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		poll(NULL, 0, timeout_ms);
		return 0;
	}
	pfd.fd = PQsocket(c);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) > 0)
		PQconsumeInput(c);
	while ((nf = PQnotifies(c)) != NULL) {
		got = 1;
		PQfreemem(nf);
	}
	return got;
}

/* (Re)connect ldb when it is down and LISTEN there; 0 listening. */
static int
listen_upload(struct mr_db *ldb)
{
	struct mr_err	 err;

	mr_err_clear(&err);
	if (mr_db_ping(ldb, &err) == -1 ||
	    mr_db_simple(ldb, "LISTEN meetrec_upload", &err) == -1 ||
	    mr_db_simple(ldb, "LISTEN meetrec_hooks", &err) == -1) {
		mr_log_warnx("could not listen for uploads: %s",
		    err.cause[0] ? err.cause : err.detail);
		return -1;
	}
	return 0;
}

/*
 * Where the watch hears of uploads: a connection of its own to
 * database_listen_url; else the connection of the passes, unless that
 * goes through a pooler (no prepared statements), which would hand the
 * LISTEN to a server connection other clients use next and drop what it
 * hears: then it polls.
 */
static struct mr_db *
listen_db(struct mr_reaper *rp)
{
	struct mr_db	*ldb;

	if (rp->conf->cf_database_listen_url != NULL) {
		if ((ldb = mr_db_new(rp->conf->cf_database_listen_url, 0)) ==
		    NULL)
			mr_fatalx("out of memory");
		mr_log_info("listening for uploads on database_listen_url");
		return ldb;
	}
	if (mr_db_prepared(rp->db))
		return rp->db;
	mr_log_info("database_prepared_statements = 0 and no "
	    "database_listen_url: polling for uploads every %d s",
	    WATCH_POLL_S);
	return NULL;
}

/* Collect the transcribe process once it has ended. */
static void
tr_collect(struct trchild *c, int block)
{
	int	 st;

	if (c->pid <= 0 || waitpid(c->pid, &st, block ? 0 : WNOHANG) !=
	    c->pid)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		mr_log_debug("pass=transcribe process=%ld ended status=%d",
		    (long)c->pid, WEXITSTATUS(st));
	else
		mr_log_warnx("pass=transcribe process=%ld ended abnormally "
		    "(status %d)", (long)c->pid, st);
	c->pid = 0;
}

/*
 * meetrec-transcribe --once --pass transcribe, from the folder this
 * program was started from (the build tree's src/, or the installed
 * bindir): its pid, or -1.
 */
static pid_t
spawn_transcriber(const struct trchild *c)
{
	const char	*argv[10];
	char		 exe[PATH_MAX], lim[24], *slash;
	ssize_t		 n;
	pid_t		 pid;
	int		 i = 0;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL ||
	    (size_t)(slash - exe) + sizeof("/meetrec-transcribe") >
	    sizeof(exe))
		return -1;
	memcpy(slash, "/meetrec-transcribe", sizeof("/meetrec-transcribe"));
	snprintf(lim, sizeof(lim), "%lld", (long long)c->limit);
	argv[i++] = "meetrec-transcribe";
	argv[i++] = "--once";
	argv[i++] = "--limit";
	argv[i++] = lim;
	if (c->config != NULL) {
		argv[i++] = "--config";
		argv[i++] = c->config;
	}
	if (c->use_syslog)
		argv[i++] = "--syslog";
	argv[i] = NULL;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execv(exe, (char *const *)(uintptr_t)argv);
		fprintf(stderr, PROG ": %s: %s\n", exe,
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

#ifndef MR_TRANSCRIBER
/*
 * The transcribe pass of --once: meetrec-transcribe, waited for.  A
 * signal that stops this reaper stops it too.
 */
static int
transcriber(struct mr_reaper *rp, int limit)
{
	struct trchild	 c = started;
	pid_t		 pid;
	int		 st, signalled = 0;

	if (rp->conf->cf_asr_url == NULL)
		return 0;
	c.limit = limit;
	if ((pid = spawn_transcriber(&c)) == -1) {
		mr_log_warn("pass=transcribe could not start "
		    "meetrec-transcribe");
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return -1;
		if (mr_reap_stopping && !signalled) {
			kill(pid, SIGTERM);
			signalled = 1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
		rp->failures++;
		return 0;
	}
	mr_log_warnx("pass=transcribe meetrec-transcribe ended abnormally "
	    "(status %d)", st);
	return -1;
}
#endif

/* Start the transcribe process if none runs and one is due. */
static void
tr_start(struct mr_reaper *rp, struct trchild *c)
{
	struct mr_err	 err;
	pid_t		 pid;

	if (c->pid > 0 || rp->conf->cf_asr_url == NULL ||
	    mr_now_ms() - c->looked < WATCH_POLL_S * 1000)
		return;
	c->looked = mr_now_ms();
	mr_arena_reset(rp->arena);
	mr_err_clear(&err);
	if (mr_db_tr_due(rp->db, rp->arena, &err) != 1)
		return;
	if ((pid = spawn_transcriber(c)) == -1) {
		mr_log_warn("pass=transcribe could not start "
		    "meetrec-transcribe");
		return;
	}
	c->pid = pid;
	mr_log_info("pass=transcribe process=%ld started", (long)pid);
}

static void
watch(struct mr_reaper *rp, unsigned mask, int limit, struct trchild *tc)
{
	struct mr_db	*ldb;
	unsigned	 listened = 0;	/* connection we LISTEN on, 0 none */
	int64_t		 last = 0, polled, hooked;
	int		 woken, n;

	ldb = listen_db(rp);
	polled = hooked = mr_now_ms();
	while (!mr_reap_stopping) {
		woken = 0;
		/*
		 * A LISTEN belongs to one connection: after any reconnect (a
		 * pass may have made one) it must be issued again, and what
		 * was queued meanwhile is picked up at once.
		 */
		if (ldb != NULL && (listened == 0 ||
		    listened != mr_db_generation(ldb) ||
		    PQstatus(mr_db_conn(ldb)) != CONNECTION_OK)) {
			listened = 0;
			if (listen_upload(ldb) == 0) {
				listened = mr_db_generation(ldb);
				woken = last != 0;
			}
		}
		tr_collect(tc, 0);
		if (mask & TRANSCRIBE_BIT)
			tr_start(rp, tc);
		if (mr_now_ms() - last >= WATCH_SWEEP_S * 1000) {
			run_passes(rp, mask & ~TRANSCRIBE_BIT, limit);
			last = polled = mr_now_ms();
		}
		/* Not listening (none, or its connection down): poll. */
		if (listened != 0) {
			if (wait_notify(ldb, 1000)) {
				mr_log_debug("woken by a notification");
				woken = 1;
			}
		} else {
			poll(NULL, 0, 1000);
			if (mr_now_ms() - polled >= WATCH_POLL_S * 1000) {
				polled = mr_now_ms();
				mr_log_debug("not listening: the upload pass, "
				    "polled");
				woken = 1;
			}
		}
		if (woken && (mask & (UPLOAD_BIT | HOOKS_BIT)) &&
		    !mr_reap_stopping) {
			run_passes(rp, mask & (UPLOAD_BIT | HOOKS_BIT), limit);
			hooked = mr_now_ms();
		}
		/*
		 * Deliveries waiting out their backoff come due with no
		 * notification: look every few seconds, quietly.
		 */
		if ((mask & HOOKS_BIT) && !mr_reap_stopping &&
		    mr_now_ms() - hooked >= WATCH_POLL_S * 1000) {
			hooked = mr_now_ms();
			if ((n = mr_reap_hooks(rp, limit)) > 0)
				mr_log_info("pass=webhooks done items=%d", n);
		}
	}
	if (tc->pid > 0) {
		kill(tc->pid, SIGTERM);
		tr_collect(tc, 1);
	}
	if (ldb != rp->db)
		mr_db_free(ldb);
}

/*
 * The most this process has had resident, in KiB: VmHWM, which begins
 * anew at exec.  getrusage's ru_maxrss does not: it keeps the peak of the
 * image the process ran before (a script that started us), so it is only
 * the fallback.
 */
static long
peak_rss_kb(void)
{
	struct rusage	 ru;
	char		 line[128];
	FILE		*f;
	long		 kb = -1;

	if ((f = fopen("/proc/self/status", "re")) != NULL) {
		while (kb == -1 && fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "VmHWM:", 6) == 0)
				kb = strtol(line + 6, NULL, 10);
		fclose(f);
	}
	if (kb <= 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		kb = ru.ru_maxrss;
	return kb;
}

static unsigned
parse_passes(const char *arg)
{
	char		*copy, *tok, *save = NULL;
	unsigned	 mask = 0;
	size_t		 i;

	if ((copy = strdup(arg)) == NULL)
		mr_fatalx("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < MR_NELEM(passes); i++)
			if (strcmp(tok, passes[i].name) == 0)
				break;
		if (i == MR_NELEM(passes))
			mr_fatalx("unknown pass '%s'", tok);
		mask |= 1u << i;
	}
	free(copy);
	return mask;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "watch", no_argument, NULL, 'w' },
		{ "pass", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct mr_reaper	 rp;
	struct sigaction	 sa;
	struct mr_err		 err;
	const char		*path = NULL;
	char			 errbuf[512] = "", host[64];
	unsigned		 mask = (1u << MR_NELEM(passes)) - 1;
	int64_t			 limit = -1;
	int			 ch, mode = 0, rc, use_syslog = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'o': mode = mode ? -1 : 'o'; break;
		case 'w': mode = mode ? -1 : 'w'; break;
		case 'p': mask = parse_passes(optarg); break;
		case 's': use_syslog = 1; break;
		case 'l':
			if (mr_parse_int64(optarg, 1, 1000000, &limit) == -1)
				usage(2);
			break;
		case 'h': usage(0);
		case 'V':
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(2);
		}
	}
	if (optind != argc || mode <= 0)
		usage(2);
#ifdef MR_TRANSCRIBER
	if (mode != 'o')
		usage(2);
#endif
	mr_log_init(PROG, !use_syslog, LOG_DAEMON);
	memset(&rp, 0, sizeof(rp));
	if ((rp.conf = mr_conf_load(path, errbuf, sizeof(errbuf))) == NULL) {
		fprintf(stderr, PROG ": %s\n", errbuf);
		return 2;
	}
	mr_log_setlevel(mr_log_parse_level(rp.conf->cf_log_level));
	if (limit < 0)
		limit = rp.conf->cf_reaper_batch;
	started.config = path;
	started.use_syslog = use_syslog;
	started.limit = limit;
	if (gethostname(host, sizeof(host)) == -1)
		mr_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	{
		unsigned char	 rnd[4];

		mr_random_bytes(rnd, sizeof(rnd));
		snprintf(rp.owner, sizeof(rp.owner), "%s:%ld:%02x%02x%02x%02x",
		    host, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * A file size limit (RLIMIT_FSIZE) reached while storing a recording
	 * is an error of that upload (EFBIG), retried later, not the end of
	 * the reaper.
	 */
	sigaction(SIGXFSZ, &sa, NULL);

	mr_err_clear(&err);
	if (mr_httpc_global_init() == -1 ||
	    (rp.arena = mr_arena_new(ITEM_ARENA)) == NULL ||
	    (rp.batch = mr_arena_new(BATCH_ARENA)) == NULL ||
	    (rp.db = mr_db_new(rp.conf->cf_database_url,
	    (int)rp.conf->cf_database_prepared_statements)) == NULL)
		mr_fatalx("out of memory");
	if (mr_store_open(&rp.store, rp.conf, &err) == -1) {
		fprintf(stderr, PROG ": storage: %s%s%s\n",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
		rc = 2;
		goto done;
	}
	if (mr_spool_open(&rp.spool, rp.conf, &err) == -1) {
		fprintf(stderr, PROG ": spool: %s%s%s\n",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
		rc = 2;
		goto done;
	}
	rp.lk.url = rp.conf->cf_livekit_url;
	rp.lk.key = rp.conf->cf_livekit_api_key;
	rp.lk.secret = rp.conf->cf_livekit_api_secret;
	rp.lk.timeout_ms = (long)rp.conf->cf_livekit_timeout_ms;
	if (mr_db_connect(rp.db, &err) == -1 && mode == 'o') {
		mr_log_warnx("%s", err.cause);
		rc = 1;
		goto done;
	}
	mr_log_info("reaper started owner=%s mode=%s", rp.owner,
	    mode == 'o' ? "once" : "watch");
	if (mode == 'o')
		rc = run_passes(&rp, mask, (int)limit) == -1 ? 1 : 0;
	else {
		struct trchild	 tc = started;

		watch(&rp, mask, (int)limit, &tc);
		rc = 0;
	}
	if (rp.failures > 0)
		rc = 1;
done:
	mr_log_info("reaper stopped failures=%d peak_rss_kb=%ld", rp.failures,
	    peak_rss_kb());
	mr_spool_close(&rp.spool);
	mr_store_close(&rp.store);
	mr_db_free(rp.db);
	mr_arena_free(rp.arena);
	mr_arena_free(rp.batch);
	mr_conf_free(rp.conf);
	mr_httpc_global_cleanup();
	return rc;
}
