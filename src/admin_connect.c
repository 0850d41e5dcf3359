/* SPDX-License-Identifier: ISC */
/*
 * admin_connect.c - check-config --connect: what only talking to them
 * shows.  PostgreSQL: it lets us in with database_url, every migration
 * is applied, and it allows the connections the pool keeps.  Storage: a
 * small probe object is stored with the configured backend, read back
 * (a local file directly, the others through the link the backend
 * gives) and deleted; for local storage nginx's user must be able to
 * read it, as it reads recordings for X-Accel-Redirect.  LiveKit: an
 * authenticated ListEgress.  Nextcloud's and S3's credentials show in
 * the probe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr.h"
#include "admin_check.h"
#include "asr.h"
#include "audio.h"
#include "conf.h"
#include "db.h"
#include "httpc.h"
#include "livekit.h"
#include "spool.h"
#include "store.h"

#define CHECK_ARENA	(1024 * 1024)
#define CHECK_TIMEOUT_MS 15000	/* for each call */

/* An error's most telling text: the cause, else the detail. */
static const char *
why(const struct mr_err *err)
{
	return err->cause[0] != '\0' ? err->cause : err->detail;
}

/* The server process answering on c, 0 when it would not say. */
static long
backend_pid(PGconn *c)
{
	PGresult	*res;
	long		 pid = 0;

	res = PQexec(c, "SELECT pg_backend_pid()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return pid;
}

/*
 * Does conninfo reach PostgreSQL through a pooler that hands each
 * transaction to any server connection (PgBouncer in transaction or
 * statement mode)?  Two connections stay open and ask in turn which
 * server process answers them: straight to PostgreSQL, or through a
 * pooler in session mode, each keeps its own; such a pooler gives the
 * second the process the first has just let go.  1 yes, 0 no (or it
 * could not tell), -1 not reachable.
 */
static int
pooled(const char *conninfo)
{
	PGconn		*c[2];
	long		 pid[2];
	int		 rc = 0;

	c[0] = PQconnectdb(conninfo);
	c[1] = PQconnectdb(conninfo);
	if (PQstatus(c[0]) != CONNECTION_OK || PQstatus(c[1]) !=
	    CONNECTION_OK) {
		rc = -1;
		goto done;
	}
	for (int i = 0; i < 4 && rc == 0; i++) {
		pid[0] = backend_pid(c[0]);
		pid[1] = backend_pid(c[1]);
		if (pid[0] != 0 && pid[0] == pid[1])
			rc = 1;
	}
done:
	PQfinish(c[0]);
	PQfinish(c[1]);
	return rc;
}

/*
 * Through a pooler in transaction mode: named prepared statements and a
 * LISTEN need what it does not keep, a server connection of their own.
 * Returns whether database_url is pooled.
 */
static int
check_pooler(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	int			 p, lp;

	if ((p = pooled(c->cf_database_url)) == 1) {
		if (c->cf_database_prepared_statements)
			mr_check_problem(ck, "database_prepared_statements",
			    "database_url reaches PostgreSQL through a pooler "
			    "in transaction mode (two connections were "
			    "answered by one server process), where a "
			    "statement prepared in one transaction is gone "
			    "in the next: set database_prepared_statements "
			    "= 0");
		else
			mr_check_note("database_url reaches PostgreSQL "
			    "through a pooler in transaction mode, and "
			    "database_prepared_statements = 0");
	}
	if (c->cf_database_listen_url != NULL) {
		if ((lp = pooled(c->cf_database_listen_url)) == -1)
			mr_check_problem(ck, "database_listen_url", "could not "
			    "connect to PostgreSQL");
		else if (lp == 1)
			mr_check_problem(ck, "database_listen_url", "goes "
			    "through a pooler in transaction mode, which drops "
			    "what a LISTEN hears: name PostgreSQL itself (or a "
			    "pool in session mode)");
		else
			mr_check_note("the watching reaper listens for "
			    "uploads on database_listen_url");
	} else if (p == 1 || !c->cf_database_prepared_statements)
		mr_check_warn(ck, "database_listen_url", "not set, and "
		    "database_url %s: a watching reaper polls for uploads "
		    "every few seconds instead of hearing of them at once; "
		    "set it to a direct connection to PostgreSQL",
		    p == 1 ? "goes through a pooler" :
		    "is used without prepared statements");
	return p == 1;
}

static void
check_database(struct mr_check *ck, struct mr_arena *a)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_db_limits	 l;
	struct mr_db		*db;
	struct mr_err		 err;
	const char		*first;
	int64_t			 max;
	int			 n;

	if (c->cf_database_url == NULL)
		return;
	if ((db = mr_db_new(c->cf_database_url,
	    (int)c->cf_database_prepared_statements)) == NULL)
		mr_fatalx("out of memory");
	mr_err_clear(&err);
	if (mr_db_connect(db, &err) == -1) {
		mr_check_problem(ck, "database_url", "could not connect to "
		    "PostgreSQL: %s", why(&err));
		goto done;
	}
	mr_err_clear(&err);
	if ((n = mr_db_migrations_pending(db, a, mr_db_sqldir(), &first,
	    &err)) == -1)
		mr_check_problem(ck, "database_url", "could not read which "
		    "migrations are applied: %s", why(&err));
	else if (n > 0)
		mr_check_problem(ck, "database_url", "%d migration%s of %s %s "
		    "not applied, from %s on: run meetrec-admin migrate", n,
		    n == 1 ? "" : "s", mr_db_sqldir(), n == 1 ? "is" : "are",
		    first);
	else
		mr_check_note("PostgreSQL lets meetrec in, and every migration "
		    "is applied");
	/* The pooler's clients are not PostgreSQL's connections. */
	if (check_pooler(ck))
		goto done;

	/* Every worker keeps one connection; so do a reaper and we. */
	max = mr_conf_pm(c) == MR_PM_STATIC ? c->cf_fcgi_workers :
	    c->cf_fcgi_workers_max;
	mr_err_clear(&err);
	if (mr_db_limits_get(db, a, &l, &err) == -1) {
		mr_check_warn(ck, "database_url", "could not ask PostgreSQL "
		    "how many connections it allows: %s", why(&err));
		goto done;
	}
	mr_check_note("PostgreSQL lets meetrec open %lld connections "
	    "(max_connections = %lld), %lld are open now; the pool may hold "
	    "%lld", (long long)l.available, (long long)l.max_connections,
	    (long long)l.in_use, (long long)max);
	if (max + 2 > l.available)
		mr_check_warn(ck, mr_conf_pm(c) == MR_PM_STATIC ? "fcgi_workers"
		    : "fcgi_workers_max", "%lld, and each worker keeps a "
		    "PostgreSQL connection (a reaper and meetrec-admin one "
		    "each), but PostgreSQL lets meetrec open %lld "
		    "(max_connections = %lld, less reserved slots and role or "
		    "database limits): lower it or raise max_connections",
		    (long long)max, (long long)l.available,
		    (long long)l.max_connections);
done:
	mr_db_free(db);
}

/* Are the keys the configured backend needs all set? */
static int
storage_set(const struct mr_conf *c)
{
	if (c->cf_storage_type == NULL)
		return 0;
	if (strcmp(c->cf_storage_type, "local") == 0)
		return c->cf_storage_local_dir != NULL;
	if (strcmp(c->cf_storage_type, "nextcloud") == 0)
		return c->cf_nextcloud_url != NULL &&
		    c->cf_nextcloud_user != NULL &&
		    c->cf_nextcloud_app_password != NULL;
	if (strcmp(c->cf_storage_type, "s3") == 0)
		return c->cf_s3_endpoint != NULL && c->cf_s3_bucket != NULL &&
		    c->cf_s3_access_key != NULL && c->cf_s3_secret_key != NULL;
	return 0;
}

/* The keys to blame when the backend refused, or could not be reached. */
static const char *
storage_key(const struct mr_conf *c, const struct mr_err *err)
{
	int	 auth = err->code != NULL &&
		    strcmp(err->code, "storage_auth") == 0;

	if (strcmp(c->cf_storage_type, "nextcloud") == 0)
		return auth ? "nextcloud_app_password" : "nextcloud_url";
	if (strcmp(c->cf_storage_type, "s3") == 0)
		return auth ? "s3_secret_key" : "s3_endpoint";
	return "storage_local_dir";
}

/*
 * May nginx's user read the file at path?  As root, really: a child
 * becomes that user and reads a byte.  Otherwise from the modes of the
 * file and the folders above it.  1 yes, 0 no (why in buf).
 */
static int
nginx_reads(struct mr_check *ck, const char *path, char *buf, size_t len)
{
	const struct mr_check_user *u = &ck->nginx;
	struct stat	 st;
	const char	*b;
	pid_t		 pid;
	int		 status, fd;
	char		 c;

	if (geteuid() == 0) {
		if ((pid = fork()) == -1) {
			snprintf(buf, len, "fork: %s", strerror(errno));
			return 0;
		}
		if (pid == 0) {
			if (setgroups((size_t)u->ngroups, u->groups) == -1 ||
			    setgid(u->gid) == -1 || setuid(u->uid) == -1)
				_exit(3);
			if ((fd = open(path, O_RDONLY)) == -1 ||
			    read(fd, &c, 1) != 1)
				_exit(errno == EACCES ? 1 : 2);
			_exit(0);
		}
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 1;
		snprintf(buf, len, "%s", WIFEXITED(status) &&
		    WEXITSTATUS(status) == 1 ? "permission denied" :
		    "it could not open it");
		return 0;
	}
	if ((b = mr_check_blocked(u, path, buf, len)) != NULL) {
		char	 dir[PATH_MAX];

		mr_strlcpy(dir, b, sizeof(dir));
		mr_strlcpy(buf, "it may not search the folder ", len);
		mr_strlcpy(buf + strlen(buf), dir, len - strlen(buf));
		return 0;
	}
	if (stat(path, &st) == -1 || !mr_check_may(u, &st, 4)) {
		snprintf(buf, len, "the file's mode and group do not let it");
		return 0;
	}
	return 1;
}

/* The probe's bytes, back from the storage: 1 same, 0 not, -1 error. */
static int
read_back(struct mr_check *ck, struct mr_store *st, struct mr_arena *a,
    const char *key, const char *want, size_t len, struct mr_err *err)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_httpc_req	 rq;
	struct mr_httpc_resp	 rs;
	struct stat		 sb;
	char			*path, *url, got[128];
	ssize_t			 n;
	int			 fd;

	if (strcmp(c->cf_storage_type, "local") == 0) {
		/*
		 * The folder is the service user's, who may swap the probe
		 * for a link or a FIFO: root follows no link, waits on
		 * nothing, and reads only a regular file.
		 */
		path = mr_printf(a, "%s/%s", c->cf_storage_local_dir, key);
		if (path == NULL || (fd = open(path, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1)
			return mr_err_set(err, 500, "io_error", "could not "
			    "open '%s': %s", path ? path : key,
			    strerror(errno));
		if (fstat(fd, &sb) == -1)
			mr_err_set(err, 500, "io_error", "could not stat "
			    "'%s': %s", path, strerror(errno));
		else if (!S_ISREG(sb.st_mode))
			mr_err_set(err, 500, "io_error", "'%s' is not a "
			    "regular file", path);
		else {
			n = read(fd, got, sizeof(got));
			close(fd);
			return n == (ssize_t)len &&
			    memcmp(got, want, len) == 0;
		}
		close(fd);
		return -1;
	}
	if ((url = mr_store_url(st, a, key, 300, err)) == NULL)
		return err->status == 0 ? 1 : -1;	/* no links: no read */
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.timeout_ms = CHECK_TIMEOUT_MS;
	if (mr_httpc_do(a, &rq, &rs, err) == -1)
		return -1;
	if (rs.status != 200)
		return mr_err_set(err, 502, "storage_error", "its link "
		    "answered HTTP %ld", rs.status);
	return rs.len == len && memcmp(rs.body, want, len) == 0;
}

/*
 * A small probe object under a key of no recording, in a memfd: o filled,
 * the bytes in body (at most bodylen), their length in *len; the fd.
 */
static int
probe_object(struct mr_arena *a, struct mr_store_obj *o, char *body,
    size_t bodylen, size_t *len)
{
	unsigned char	 rnd[8];
	char		*key;
	int		 fd;

	mr_random_bytes(rnd, sizeof(rnd));
	key = mr_printf(a, "meetrec-check-%s.txt", mr_hex(a, rnd,
	    sizeof(rnd)));
	*len = (size_t)snprintf(body, bodylen, "meetrec-admin check-config "
	    "probe %s\n", key ? key : "");
	if (key == NULL || *len >= bodylen || (fd = memfd_create(
	    "meetrec-probe", MFD_CLOEXEC)) == -1 ||
	    write(fd, body, *len) != (ssize_t)*len)
		mr_fatalx("could not make the probe object");
	memset(o, 0, sizeof(*o));
	o->key = key;
	o->size = (off_t)*len;
	o->content_type = "text/plain";
	o->mtime = mr_now();
	return fd;
}

static void
check_storage(struct mr_check *ck, struct mr_arena *a)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_store		 st;
	struct mr_store_obj	 o;
	struct mr_store_stat	 sb;
	struct mr_err		 err;
	struct stat		 dsb;
	const char		*key;
	char			 body[128], why_not[512];
	size_t			 len;
	int			 fd = -1, opened = 0, rc, before = ck->problems;

	if (!storage_set(c))
		return;		/* the missing keys are reported already */
	/*
	 * Opening local storage makes its folder: a check must not (as
	 * root it would be root's, 0750, and the reaper could not use it).
	 * The static checks say what is wrong with the folder already.
	 */
	if (strcmp(c->cf_storage_type, "local") == 0 &&
	    (stat(c->cf_storage_local_dir, &dsb) == -1 ||
	    !S_ISDIR(dsb.st_mode)))
		return;
	memset(&st, 0, sizeof(st));
	mr_err_clear(&err);
	if (mr_store_open(&st, c, &err) == -1) {
		mr_check_problem(ck, storage_key(c, &err), "could not open "
		    "%s storage: %s", c->cf_storage_type, why(&err));
		return;
	}
	opened = 1;
	fd = probe_object(a, &o, body, sizeof(body), &len);
	key = o.key;
	mr_err_clear(&err);
	if (mr_store_put_fd(&st, a, fd, &o, &err) == -1) {
		mr_check_problem(ck, storage_key(c, &err), "could not store a "
		    "probe object in %s storage: %s", c->cf_storage_type,
		    why(&err));
		goto done;
	}
	memset(&sb, 0, sizeof(sb));
	mr_err_clear(&err);
	if (mr_store_stat(&st, a, key, &sb, &err) == -1 || !sb.exists ||
	    sb.size != (off_t)len)
		mr_check_problem(ck, storage_key(c, &err), "the probe object "
		    "%s is not there as stored: %s", key, err.status ?
		    why(&err) : "absent or of another size");
	mr_err_clear(&err);
	if ((rc = read_back(ck, &st, a, key, body, len, &err)) == -1)
		mr_check_problem(ck, storage_key(c, &err), "could not read "
		    "the probe object %s back: %s", key, why(&err));
	else if (rc == 0)
		mr_check_problem(ck, storage_key(c, &err), "the probe object "
		    "%s came back different", key);
	if (strcmp(c->cf_storage_type, "local") == 0 && ck->nginx.known &&
	    !nginx_reads(ck, mr_printf(a, "%s/%s", c->cf_storage_local_dir,
	    key), why_not, sizeof(why_not)))
		mr_check_problem(ck, "storage_local_dir", "nginx's user %s "
		    "could not read the probe object stored in '%s' (%s), so "
		    "it could not send recordings (X-Accel-Redirect); the "
		    "folder should be the service user's with nginx's group, "
		    "set-group-ID: chgrp %s, chmod 2750", ck->nginx.name,
		    c->cf_storage_local_dir, why_not, ck->nginx.name);
	mr_err_clear(&err);
	if (mr_store_del(&st, a, key, &err) == -1)
		mr_check_problem(ck, storage_key(c, &err), "could not delete "
		    "the probe object %s: %s", key, why(&err));
	else if (ck->problems == before)
		mr_check_note("%s storage: a probe object was stored, read "
		    "back and deleted%s", c->cf_storage_type,
		    geteuid() != ck->service.uid ? " (as this user, not as "
		    "the service user)" : "");
done:
	if (fd != -1)
		close(fd);
	if (opened)
		mr_store_close(&st);
}

static int
listed_one(void *arg, const char *name, off_t size, int64_t mtime)
{
	(void)name;
	(void)size;
	(void)mtime;
	(*(int *)arg)++;
	return -1;	/* one is enough */
}

/*
 * spool_type = s3: the reapers must be able to put (as Egress does), get
 * with a Range, list and delete under the incoming prefix with the key
 * pair meetrec gives Egress.
 */
static void
check_incoming(struct mr_check *ck, struct mr_arena *a)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_spool		 sp;
	struct mr_store_obj	 o;
	struct mr_err		 err;
	char			 body[96], back[96];
	const char		*key, *blame;
	size_t			 len;
	int			 fd = -1, seen = 0, before = ck->problems;

	if (c->cf_spool_type == NULL || strcmp(c->cf_spool_type, "s3") != 0)
		return;
	mr_err_clear(&err);
	if (mr_spool_open(&sp, c, &err) == -1) {
		mr_check_problem(ck, "spool_s3_endpoint", "could not open the "
		    "incoming bucket: %s", why(&err));
		return;
	}
	fd = probe_object(a, &o, body, sizeof(body), &len);
	key = o.key;
	mr_err_clear(&err);
	blame = "spool_s3_bucket";
	if (mr_store_put_fd(&sp.in, a, fd, &o, &err) == -1) {
		if (err.code != NULL && strcmp(err.code, "storage_auth") == 0)
			blame = "spool_s3_secret_key";
		mr_check_problem(ck, blame, "could not put a probe object "
		    "in the incoming bucket, as Egress must: %s", why(&err));
		goto done;
	}
	mr_err_clear(&err);
	if (sp.in.ops->read(&sp.in, a, key, 1, back, len - 1, &err) == -1)
		mr_check_problem(ck, blame, "could not read the probe object "
		    "%s back with a ranged GET: %s", key, why(&err));
	else if (memcmp(back, body + 1, len - 1) != 0)
		mr_check_problem(ck, blame, "the probe object %s came back "
		    "different", key);
	mr_err_clear(&err);
	if (mr_spool_list(&sp, a, listed_one, &seen, &err) == -1 ||
	    seen == 0)
		mr_check_problem(ck, blame, "could not list the incoming "
		    "objects (the orphans pass does): %s", err.status ?
		    why(&err) : "the probe object is not listed");
	mr_err_clear(&err);
	if (mr_store_del(&sp.in, a, key, &err) == -1)
		mr_check_problem(ck, blame, "could not delete the probe "
		    "object %s: %s", key, why(&err));
	else if (ck->problems == before)
		mr_check_note("incoming bucket: a probe object was put, read "
		    "back with a ranged GET, listed and deleted");
done:
	close(fd);
	mr_spool_close(&sp);
}

static void
check_livekit(struct mr_check *ck, struct mr_arena *a)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_lk		 lk;
	struct mr_lk_egress	*items;
	struct mr_err		 err;
	int			 n;

	if (c->cf_livekit_url == NULL || c->cf_livekit_api_key == NULL ||
	    c->cf_livekit_api_secret == NULL)
		return;
	memset(&lk, 0, sizeof(lk));
	lk.url = c->cf_livekit_url;
	lk.key = c->cf_livekit_api_key;
	lk.secret = c->cf_livekit_api_secret;
	lk.timeout_ms = c->cf_livekit_timeout_ms < CHECK_TIMEOUT_MS ?
	    (long)c->cf_livekit_timeout_ms : CHECK_TIMEOUT_MS;
	mr_err_clear(&err);
	if (mr_lk_list_egress(&lk, a, "meetrec-check-config", NULL, 0, &items,
	    &n, &err) == 0) {
		mr_check_note("LiveKit at %s answers ListEgress with the API "
		    "key %s", c->cf_livekit_url, c->cf_livekit_api_key);
		return;
	}
	if (mr_lk_refused_with(&err, "unauthenticated") ||
	    mr_lk_refused_with(&err, "-"))
		mr_check_problem(ck, "livekit_api_secret", "LiveKit at %s "
		    "refused livekit_api_key '%s' with this secret: %s",
		    c->cf_livekit_url, c->cf_livekit_api_key, why(&err));
	else if (err.code != NULL && (strcmp(err.code, "livekit_unreachable")
	    == 0 || strcmp(err.code, "livekit_timeout") == 0 ||
	    strcmp(err.code, "livekit_no_reply") == 0))
		mr_check_problem(ck, "livekit_url", "could not reach LiveKit: "
		    "%s", why(&err));
	else
		mr_check_problem(ck, "livekit_url", "LiveKit's ListEgress "
		    "failed: %s", why(&err));
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * The speech-to-text server, as the transcribe pass calls it: a second
 * of silence (16 kHz mono WAV) sent with asr_model, asr_language and the
 * key; any verbose_json answer will do.
 */
static void
check_asr(struct mr_check *ck, struct mr_arena *a)
{
	const struct mr_conf	*c = ck->conf;
	struct mr_asr_result	 res;
	struct mr_err		 err;
	unsigned char		 hdr[MR_AUDIO_WAV_HEADER];
	static const unsigned char silence[MR_AUDIO_RATE * 2];
	char			 path[] = "/tmp/meetrec-check-XXXXXX.wav";
	uint32_t		 data = sizeof(silence);
	int			 fd, ra = 0;

	if (c->cf_asr_url == NULL)
		return;
	memcpy(hdr, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0"
	    "\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data\0\0\0\0", sizeof(hdr));
	put_le32(hdr + 4, 36 + data);
	put_le32(hdr + 40, data);
	if ((fd = mkstemps(path, 4)) == -1) {
		mr_check_problem(ck, "asr_url", "could not make a test WAV in "
		    "/tmp: %s", strerror(errno));
		return;
	}
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    write(fd, silence, sizeof(silence)) != (ssize_t)sizeof(silence)) {
		mr_check_problem(ck, "asr_url", "could not write a test WAV "
		    "in /tmp: %s", strerror(errno));
		goto done;
	}
	mr_err_clear(&err);
	if (mr_asr_transcribe(a, c, path, &res, &ra, &err) == 0)
		mr_check_note("the speech-to-text server at %s transcribed a "
		    "second of silence with model %s", c->cf_asr_url,
		    c->cf_asr_model);
	else if (err.status == 401 || err.status == 403)
		mr_check_problem(ck, "asr_api_key", "the speech-to-text server "
		    "at %s refused the key: %s", c->cf_asr_url, why(&err));
	else if (err.status == 404 || err.status == 405)
		mr_check_problem(ck, "asr_url", "%s does not take "
		    "transcriptions (HTTP %d): %s", c->cf_asr_url, err.status,
		    why(&err));
	else if (err.code != NULL && strcmp(err.code, "asr_refused") == 0)
		mr_check_problem(ck, "asr_model", "the speech-to-text server "
		    "at %s refused the request: %s", c->cf_asr_url, why(&err));
	else
		mr_check_problem(ck, "asr_url", "the speech-to-text server at "
		    "%s: %s", c->cf_asr_url, why(&err));
done:
	close(fd);
	unlink(path);
}

void
mr_check_connect(struct mr_check *ck)
{
	struct mr_arena	*a;

	if (mr_httpc_global_init() == -1 ||
	    (a = mr_arena_new(CHECK_ARENA)) == NULL)
		mr_fatalx("out of memory");
	check_database(ck, a);
	mr_arena_reset(a);
	check_storage(ck, a);
	check_incoming(ck, a);
	mr_arena_reset(a);
	check_livekit(ck, a);
	mr_arena_reset(a);
	check_asr(ck, a);
	mr_arena_free(a);
	mr_httpc_global_cleanup();
}
