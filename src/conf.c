/* SPDX-License-Identifier: ISC */
/*
 * conf.c - table-driven configuration (Redis static_configs[] shape).
 * The programs load it strictly (mr_conf_load: the first problem is the
 * answer); meetrec-admin check-config loads it with mr_conf_load_all,
 * which reports every problem and goes on.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "conf.h"

/* F_REQUIRED: must end up set, so "key =" cannot clear its default. */
#define F_REQUIRED	0x01
#define F_SECRET	0x02

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes in the file */
#define CONF_LINE_MAX	4096		/* bytes in a line, its newline aside */

enum ctype { T_STR, T_INT };

struct confkey {
	const char	*name;
	enum ctype	 type;
	int		 flags;
	const char	*def;		/* default as text, NULL = unset */
	int64_t		 min, max;
	size_t		 off;
};

#define S(n, fl, d) { #n, T_STR, fl, d, 0, 0, offsetof(struct mr_conf, cf_##n) }
#define I(n, fl, d, lo, hi) \
	{ #n, T_INT, fl, d, lo, hi, offsetof(struct mr_conf, cf_##n) }

static const struct confkey keys[] = {
	S(database_url,		F_REQUIRED | F_SECRET, NULL),
	I(database_prepared_statements, 0, "1", 0, 1),
	S(database_listen_url,	F_SECRET, NULL),
	S(fcgi_socket,		F_REQUIRED, MR_RUNDIR "/fcgi.sock"),
	I(fcgi_workers,		0, "4", 1, 256),
	I(fcgi_max_requests,	0, "10000", 1, INT64_MAX),
	I(fcgi_backlog,		0, "0", 0, 1048576),
	S(fcgi_pm,		F_REQUIRED, "dynamic"),
	I(fcgi_workers_min,	0, "2", 0, 256),
	I(fcgi_workers_max,	0, "16", 1, 256),
	I(fcgi_spare_min,	0, "1", 0, 256),
	I(fcgi_spare_max,	0, "4", 0, 256),
	I(fcgi_idle_timeout,	0, "10", 1, 86400),
	S(pid_file,		0, NULL),
	S(fcgi_user,		0, NULL),
	S(fcgi_socket_group,	0, NULL),
	S(nginx_user,		0, MR_NGINX_USER),
	I(body_max,		0, "65536", 1024, 16 * 1024 * 1024),
	S(jwt_secret,		F_SECRET, NULL),
	S(jwt_public_key_file,	0, NULL),
	S(jwt_issuer,		0, NULL),
	S(jwt_audience,		0, NULL),
	I(jwt_leeway,		0, "30", 0, 3600),
	S(livekit_url,		F_REQUIRED, NULL),
	S(livekit_api_key,	F_REQUIRED, NULL),
	S(livekit_api_secret,	F_REQUIRED | F_SECRET, NULL),
	I(livekit_timeout_ms,	0, "90000", 100, 600000),
	I(webhook_leeway,	0, "60", 0, 3600),
	S(livekit_user_identity, F_REQUIRED, "identity"),
	S(spool_dir,		0, NULL),
	S(spool_type,		F_REQUIRED, "local"),
	S(spool_s3_endpoint,	0, NULL),
	S(spool_s3_region,	0, NULL),
	S(spool_s3_bucket,	0, NULL),
	S(spool_s3_access_key,	0, NULL),
	S(spool_s3_secret_key,	F_SECRET, NULL),
	S(spool_s3_prefix,	0, "incoming/"),
	S(storage_type,		F_REQUIRED, "local"),
	S(storage_local_dir,	0, NULL),
	S(public_url,		0, "http://127.0.0.1:8080"),
	S(url_signing_secret,	F_SECRET, NULL),
	I(download_url_ttl,	0, "14400", 30, 86400),
	I(share_max_days,	0, "90", 1, 3650),
	I(share_max_active,	0, "50", 1, 10000),
	I(audit_dedupe_seconds,	0, "600", 0, 86400),
	S(log_level,		F_REQUIRED, "info"),
	I(retention_days,	0, "0", 0, 36500),
	I(recording_max_seconds, 0, "14400", 60, 7 * 86400),
	I(trash_days,		0, "30", 0, 3650),
	S(nextcloud_url,	0, NULL),
	S(nextcloud_user,	0, NULL),
	S(nextcloud_app_password, F_SECRET, NULL),
	S(nextcloud_folder,	0, "Recordings"),
	I(nextcloud_chunk_threshold, 0, "52428800", 0, INT64_MAX),
	I(nextcloud_chunk_size,	0, "33554432", 65536, 5368709120LL),
	I(nextcloud_share,	0, "1", 0, 1),
	S(s3_endpoint,		0, NULL),
	S(s3_region,		0, "us-east-1"),
	S(s3_bucket,		0, NULL),
	S(s3_access_key,	0, NULL),
	S(s3_secret_key,	F_SECRET, NULL),
	S(s3_prefix,		0, NULL),
	I(s3_multipart_threshold, 0, "67108864", 0, INT64_MAX),
	I(s3_part_size,		0, "16777216", 65536, 5368709120LL),
	I(upload_timeout_ms,	0, "3600000", 1000, 86400000),
	I(upload_max_attempts,	0, "8", 1, 1000),
	I(upload_backoff_seconds, 0, "30", 1, 86400),
	I(reaper_lease_seconds,	0, "600", 5, 86400),
	I(reaper_batch,		0, "50", 1, 100000),
	I(stale_pending_seconds, 0, "120", 5, 86400),
	I(spool_quiet_seconds,	0, "300", 0, 86400),
	I(webhook_timeout_seconds, 0, "15", 1, 300),
	I(webhook_backoff_seconds, 0, "5", 1, 86400),
	I(webhook_backoff_max_seconds, 0, "3600", 1, 86400),
	I(webhook_retry_hours,	0, "72", 1, 8760),
	I(webhook_disable_after, 0, "30", 1, 100000),
	I(webhook_allow_private, 0, "0", 0, 1),
	I(webhook_download_ttl,	0, "86400", 60, 7 * 86400),
	I(webhook_log_days,	0, "30", 1, 3650),
	I(webhook_max_endpoints, 0, "20", 1, 1000),
	S(asr_url,		0, NULL),
	S(asr_model,		F_REQUIRED, "whisper-1"),
	S(asr_api_key,		F_SECRET, NULL),
	S(asr_language,		0, NULL),
	I(asr_max_bytes,	0, "24000000", 65536, 1073741824),
	I(asr_timeout_seconds,	0, "600", 5, 7200),
	I(asr_max_attempts,	0, "8", 1, 1000),
	I(asr_backoff_seconds,	0, "60", 1, 86400),
	S(asr_tmp_dir,		0, NULL),
};

static char **
strslot(struct mr_conf *c, const struct confkey *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static int64_t *
intslot(struct mr_conf *c, const struct confkey *k)
{
	return (int64_t *)(void *)((char *)c + k->off);
}

static const struct confkey *
findkey(const char *name)
{
	for (size_t i = 0; i < MR_NELEM(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void
envname(char *buf, size_t len, const char *key)
{
	char	*p;

	snprintf(buf, len, "MEETREC_%s", key);
	for (p = buf; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

/*
 * One load: the configuration being filled, and where its problems go.
 * Without report, the first problem ends the load with its text in
 * errbuf; with one, each is reported and the load goes on.
 */
struct loader {
	struct mr_conf	*c;
	char		*errbuf;
	size_t		 errlen;
	void		(*report)(void *, const char *, const char *);
	void		*arg;
	int		 failed;
	int		 secret;	/* the file set a secret */
	int		 have_stat;
	struct stat	 st;		/* of the file */
	int		 absent;	/* the default file does not exist */
};

/* Returns -1 when the load must stop, 0 when it goes on. */
static int MR_PRINTF(3, 4)
problem(struct loader *l, const char *where, const char *fmt, ...)
{
	char	 msg[768];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->failed = 1;
	if (l->report != NULL) {
		l->report(l->arg, where, msg);
		return 0;
	}
	if (where != NULL)
		snprintf(l->errbuf, l->errlen, "%s: %s", where, msg);
	else
		snprintf(l->errbuf, l->errlen, "%s", msg);
	return -1;
}

/* Where key k got its value: "file:line", "MEETREC_KEY" or NULL. */
static const char *
origin(const struct mr_conf *c, const struct confkey *k, char *buf,
    size_t len)
{
	int	 line = c->cf_lines[k - keys];

	if (line > 0)
		snprintf(buf, len, "%s:%d", c->cf_path, line);
	else if (line < 0)
		envname(buf, len, k->name);
	else
		return NULL;
	return buf;
}

const char *
mr_conf_where(const struct mr_conf *c, const char *key, char *buf,
    size_t len)
{
	const struct confkey *k = findkey(key);

	return k == NULL ? NULL : origin(c, k, buf, len);
}

/* line: 0 a default, -1 the environment, else the file's line. */
static int
setval(struct loader *l, const struct confkey *k, const char *v,
    const char *where, int line)
{
	struct mr_conf	*c = l->c;
	char		**sp, *dup;
	int64_t		  n;

	if (k->type == T_INT) {
		if (mr_parse_int64(v, k->min, k->max, &n) == -1)
			return problem(l, where, "%s must be an integer from "
			    "%lld to %lld", k->name, (long long)k->min,
			    (long long)k->max);
		*intslot(c, k) = n;
		c->cf_lines[k - keys] = line;
		return 0;
	}
	sp = strslot(c, k);
	if ((dup = strdup(v)) == NULL)
		return problem(l, NULL, "out of memory");
	free(*sp);
	/* An empty value means unset, so "key =" clears a default. */
	if (*dup == '\0') {
		free(dup);
		dup = NULL;
	}
	*sp = dup;
	c->cf_lines[k - keys] = line;
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * A comment may follow a value: it starts at a '#' after a space or a
 * tab (a '#' inside a word, as in "pass#word", is part of the value).
 * v is the text after '=', its leading white space still there.
 */
static void
cut_comment(char *v)
{
	for (char *p = v; *p != '\0'; p++)
		if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/*
 * Opens path for readfile: a regular file of at most CONF_FILE_MAX
 * bytes.  Returns the stream, or NULL with *rc what readfile returns.
 */
static FILE *
openfile(struct loader *l, const char *path, int *rc)
{
	FILE	*fp;
	int	 fd;

	/*
	 * O_NONBLOCK: a FIFO must not hold the open until a writer comes
	 * (a regular file does not care).  Anything else, /dev/zero or a
	 * folder, is refused before a byte is read.
	 */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && l->absent) {
			/* The default file: the environment may do. */
			*rc = 0;
			return NULL;
		}
		l->absent = 0;
		*rc = problem(l, NULL, "could not open config file '%s': %s",
		    path, strerror(errno)) == -1 ? -1 : 1;
		return NULL;
	}
	l->absent = 0;
	if (fstat(fd, &l->st) == -1)
		*rc = problem(l, NULL, "could not stat config file '%s': %s",
		    path, strerror(errno));
	else if (!S_ISREG(l->st.st_mode))
		*rc = problem(l, NULL, "config file '%s' is not a regular "
		    "file", path);
	else if (l->st.st_size > CONF_FILE_MAX)
		*rc = problem(l, NULL, "config file '%s' is larger than 1 MiB "
		    "(%lld bytes)", path, (long long)l->st.st_size);
	else if ((fp = fdopen(fd, "r")) == NULL)
		*rc = problem(l, NULL, "could not read config file '%s': %s",
		    path, strerror(errno));
	else {
		l->have_stat = 1;
		return fp;
	}
	close(fd);
	*rc = *rc == -1 ? -1 : 1;
	return NULL;
}

/*
 * Reads the file into l: 0 read (problems in it reported, with a
 * report), 1 not read (nothing to check), -1 the load stops.
 */
static int
readfile(struct loader *l, const char *path)
{
	FILE		*fp;
	char		*line = NULL, where[512];
	char		*k, *v, *eq;
	const struct confkey *key;
	size_t		 cap = 0, len, total = 0;
	ssize_t		 n;
	int		 lineno = 0, rc = -1;

	if ((fp = openfile(l, path, &rc)) == NULL)
		return rc;
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		/* It may have grown since fstat. */
		if ((total += (size_t)n) > CONF_FILE_MAX) {
			rc = problem(l, NULL, "config file '%s' is larger "
			    "than 1 MiB", path) == -1 ? -1 : 1;
			goto done;
		}
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (memchr(line, '\0', len) != NULL) {
			if (problem(l, where, "a NUL byte in the line") == -1)
				goto done;
			continue;
		}
		if (len > CONF_LINE_MAX) {
			if (problem(l, where, "line too long (more than %d "
			    "bytes)", CONF_LINE_MAX) == -1)
				goto done;
			continue;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			if (problem(l, where, "expected 'key = value'") == -1)
				goto done;
			continue;
		}
		*eq = '\0';
		k = trim(k);
		cut_comment(eq + 1);
		v = trim(eq + 1);
		if ((key = findkey(k)) == NULL) {
			if (problem(l, where, "unknown key '%s'", k) == -1)
				goto done;
			continue;
		}
		if ((key->flags & F_SECRET) && *v != '\0')
			l->secret = 1;
		if (setval(l, key, v, where, lineno) == -1)
			goto done;
	}
	/* getline's -1 is the end, or an error (ENOMEM among them). */
	if (!feof(fp) && problem(l, NULL, "could not read '%s': %s", path,
	    strerror(errno)) == -1)
		goto done;
	rc = 0;
done:
	free(line);
	fclose(fp);
	return rc;
}

/*
 * Who may read a file that holds secrets: its owner, and the service
 * group (the group the services run in, MR_SERVICE_GROUP, or the group
 * of fcgi_user), which may read but not write it: the Debian way is
 * root:meetrec 0640.  Nobody else.
 */
static int
check_secret_mode(struct loader *l, const char *path)
{
	const struct stat *st = &l->st;
	struct group	*gr;
	struct passwd	*pw;
	char		 gname[64];
	int		 ok;

	if (!l->secret || !l->have_stat)
		return 0;
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return 0;
	ok = (st->st_mode & (S_IRWXO | S_IWGRP | S_IXGRP)) == 0;
	if (ok) {
		gr = getgrnam(MR_SERVICE_GROUP);
		ok = gr != NULL && gr->gr_gid == st->st_gid;
		if (!ok && l->c->cf_fcgi_user != NULL &&
		    (pw = getpwnam(l->c->cf_fcgi_user)) != NULL)
			ok = pw->pw_gid == st->st_gid;
	}
	if (ok)
		return 0;
	if ((gr = getgrgid(st->st_gid)) != NULL)
		snprintf(gname, sizeof(gname), "%s", gr->gr_name);
	else
		snprintf(gname, sizeof(gname), "%lu",
		    (unsigned long)st->st_gid);
	return problem(l, NULL, "config file '%s' holds secrets but group or "
	    "others may read it (mode %04o, group %s); chmod 600 it, or let "
	    "only the service group read it: chown root:%s and chmod 640",
	    path, (unsigned)(st->st_mode & 07777), gname, MR_SERVICE_GROUP);
}

/* The keys each storage backend needs. */
static int
check_storage(struct loader *l)
{
	static const struct {
		const char	*type;
		const char	*keys[5];
	} need[] = {
		{ "local", { "storage_local_dir" } },
		{ "nextcloud", { "nextcloud_url", "nextcloud_user",
		    "nextcloud_app_password" } },
		{ "s3", { "s3_endpoint", "s3_bucket", "s3_access_key",
		    "s3_secret_key" } },
	};
	struct mr_conf	*c = l->c;
	const struct confkey *st = findkey("storage_type");
	const char	*where;
	char		 buf[512];

	if (c->cf_storage_type == NULL)
		return 0;	/* reported as a missing required key */
	where = origin(c, st, buf, sizeof(buf));
	for (size_t i = 0; i < MR_NELEM(need); i++) {
		if (strcmp(c->cf_storage_type, need[i].type) != 0)
			continue;
		for (size_t k = 0; k < 5 && need[i].keys[k] != NULL; k++)
			if (*strslot(c, findkey(need[i].keys[k])) == NULL &&
			    problem(l, where, "storage_type is %s but '%s' is "
			    "not set", need[i].type, need[i].keys[k]) == -1)
				return -1;
		return 0;
	}
	return problem(l, where, "storage_type must be local, nextcloud or "
	    "s3, not '%s'", c->cf_storage_type);
}

/*
 * Where Egress leaves the files: a folder (spool_dir), or an incoming
 * bucket whose settings default to storage's S3 ones, one by one.
 */
static int
check_spool(struct loader *l)
{
	static const char *const s3keys[] = { "endpoint", "bucket",
	    "access_key", "secret_key" };
	struct mr_conf	*c = l->c;
	const struct confkey *k;
	char		 buf[512], name[64];

	if (c->cf_spool_type == NULL)
		return 0;	/* reported as a missing required key */
	if (strcmp(c->cf_spool_type, "local") == 0) {
		if (c->cf_spool_dir == NULL && problem(l,
		    origin(c, findkey("spool_dir"), buf, sizeof(buf)),
		    "spool_type is local but 'spool_dir' is not set") == -1)
			return -1;
		return 0;
	}
	if (strcmp(c->cf_spool_type, "s3") != 0)
		return problem(l, origin(c, findkey("spool_type"), buf,
		    sizeof(buf)), "spool_type must be local or s3, not '%s'",
		    c->cf_spool_type);
	for (size_t i = 0; i < MR_NELEM(s3keys); i++) {
		snprintf(name, sizeof(name), "spool_s3_%s", s3keys[i]);
		if (*strslot(c, findkey(name)) != NULL)
			continue;
		snprintf(name, sizeof(name), "s3_%s", s3keys[i]);
		k = findkey(name);
		if (*strslot(c, k) == NULL && problem(l,
		    origin(c, findkey("spool_type"), buf, sizeof(buf)),
		    "spool_type is s3 but neither 'spool_s3_%s' nor '%s' is "
		    "set", s3keys[i], name) == -1)
			return -1;
	}
	return 0;
}

/*
 * Is v a livekit_user_identity: "identity", or "metadata:" and a field
 * name of 1 to 64 letters, digits, '_', '-' or '.'?  (conf.h)
 */
int
mr_conf_identity_valid(const char *v)
{
	size_t	 n;

	if (strcmp(v, "identity") == 0)
		return 1;
	if (strncmp(v, "metadata:", 9) != 0)
		return 0;
	v += 9;
	n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.");
	return n >= 1 && n <= 64 && v[n] == '\0';
}

/* The pool's keys agree with each other (meetrec-fcgi(8), POOL). */
static int
check_pool(struct loader *l)
{
	struct mr_conf	*c = l->c;
	char		 buf[512];

	if (c->cf_fcgi_pm != NULL && strcmp(c->cf_fcgi_pm, "static") != 0 &&
	    strcmp(c->cf_fcgi_pm, "dynamic") != 0 &&
	    strcmp(c->cf_fcgi_pm, "ondemand") != 0 &&
	    problem(l, origin(c, findkey("fcgi_pm"), buf, sizeof(buf)),
	    "fcgi_pm must be static, dynamic or ondemand, not '%s'",
	    c->cf_fcgi_pm) == -1)
		return -1;
	if (c->cf_fcgi_workers_min > c->cf_fcgi_workers_max &&
	    problem(l, origin(c, findkey("fcgi_workers_min"), buf,
	    sizeof(buf)), "fcgi_workers_min (%lld) is above "
	    "fcgi_workers_max (%lld)", (long long)c->cf_fcgi_workers_min,
	    (long long)c->cf_fcgi_workers_max) == -1)
		return -1;
	if (c->cf_fcgi_spare_min > c->cf_fcgi_spare_max &&
	    problem(l, origin(c, findkey("fcgi_spare_min"), buf,
	    sizeof(buf)), "fcgi_spare_min (%lld) is above fcgi_spare_max "
	    "(%lld)", (long long)c->cf_fcgi_spare_min,
	    (long long)c->cf_fcgi_spare_max) == -1)
		return -1;
	return 0;
}

/* Every key together: what each needs of the others. */
static int
validate(struct loader *l, const char *path)
{
	struct mr_conf	*c = l->c;
	char		 env[128], buf[512];
	size_t		 i;

	for (i = 0; i < MR_NELEM(keys); i++) {
		if (!(keys[i].flags & F_REQUIRED) || keys[i].type != T_STR ||
		    *strslot(c, &keys[i]) != NULL)
			continue;
		envname(env, sizeof(env), keys[i].name);
		if (l->absent) {
			if (problem(l, NULL, "required key '%s' is not set "
			    "(in the config file '%s', which does not exist, "
			    "or as %s; --config or MEETREC_CONFIG name "
			    "another file)", keys[i].name, path, env) == -1)
				return -1;
		} else if (problem(l, origin(c, &keys[i], buf, sizeof(buf)),
		    "required key '%s' is not set (in the config file or as "
		    "%s)", keys[i].name, env) == -1)
			return -1;
	}
	if (c->cf_jwt_secret == NULL && c->cf_jwt_public_key_file == NULL &&
	    problem(l, NULL, "one of 'jwt_secret' or 'jwt_public_key_file' "
	    "must be set") == -1)
		return -1;
	if (c->cf_url_signing_secret == NULL && c->cf_jwt_secret == NULL &&
	    problem(l, NULL, "'url_signing_secret' must be set when "
	    "'jwt_secret' is not (it signs download links)") == -1)
		return -1;
	if (c->cf_log_level != NULL &&
	    mr_log_parse_level(c->cf_log_level) == -1 &&
	    problem(l, origin(c, findkey("log_level"), buf, sizeof(buf)),
	    "log_level must be error, warn, info or debug") == -1)
		return -1;
	if (check_storage(l) == -1 || check_spool(l) == -1 ||
	    check_pool(l) == -1)
		return -1;
	if (c->cf_livekit_user_identity != NULL &&
	    !mr_conf_identity_valid(c->cf_livekit_user_identity) &&
	    problem(l, origin(c, findkey("livekit_user_identity"), buf,
	    sizeof(buf)), "livekit_user_identity must be identity or "
	    "metadata:<field> (1 to 64 letters, digits, '_', '-' or '.'), "
	    "not '%s'", c->cf_livekit_user_identity) == -1)
		return -1;
	if (c->cf_livekit_url != NULL &&
	    strncmp(c->cf_livekit_url, "http://", 7) != 0 &&
	    strncmp(c->cf_livekit_url, "https://", 8) != 0 &&
	    problem(l, origin(c, findkey("livekit_url"), buf, sizeof(buf)),
	    "livekit_url must start with http:// or https://") == -1)
		return -1;
	return 0;
}

const char *
mr_conf_path(const char *arg)
{
	const char	*env;

	if (arg != NULL)
		return arg;
	if ((env = mr_getenv_nonempty("MEETREC_CONFIG")) != NULL)
		return env;
	return MR_CONFFILE;
}

static struct mr_conf *
load(const char *path, struct loader *l)
{
	struct mr_conf	*c;
	char		 env[128];
	const char	*v;
	size_t		 i;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->cf_lines = calloc(MR_NELEM(keys), sizeof(int))) == NULL) {
		free(c);
		problem(l, NULL, "out of memory");
		return NULL;
	}
	l->c = c;
	for (i = 0; i < MR_NELEM(keys); i++)
		if (keys[i].def != NULL &&
		    setval(l, &keys[i], keys[i].def, "default", 0) == -1)
			goto fail;
	/* The default file may be missing; a file named may not. */
	l->absent = path == NULL && mr_getenv_nonempty("MEETREC_CONFIG") ==
	    NULL;
	path = mr_conf_path(path);
	if ((c->cf_path = strdup(path)) == NULL) {
		problem(l, NULL, "out of memory");
		goto fail;
	}
	if ((rc = readfile(l, path)) != 0)
		goto fail;	/* -1 stops; 1: no file, nothing to check */
	c->cf_nofile = l->absent;
	for (i = 0; i < MR_NELEM(keys); i++) {
		envname(env, sizeof(env), keys[i].name);
		if ((v = getenv(env)) != NULL &&
		    setval(l, &keys[i], v, env, -1) == -1)
			goto fail;
	}
	if (check_secret_mode(l, path) == -1 || validate(l, path) == -1)
		goto fail;
	if (l->failed && l->report == NULL)
		goto fail;
	return c;
fail:
	if (l->report == NULL && l->errbuf[0] == '\0')
		snprintf(l->errbuf, l->errlen, "out of memory");
	mr_conf_free(c);
	return NULL;
}

struct mr_conf *
mr_conf_load(const char *path, char *errbuf, size_t errlen)
{
	struct loader	 l;

	memset(&l, 0, sizeof(l));
	errbuf[0] = '\0';
	l.errbuf = errbuf;
	l.errlen = errlen;
	return load(path, &l);
}

struct mr_conf *
mr_conf_load_all(const char *path, void (*report)(void *, const char *,
    const char *), void *arg, int *problems)
{
	struct loader	 l;
	struct mr_conf	*c;
	char		 errbuf[8];

	memset(&l, 0, sizeof(l));
	l.errbuf = errbuf;
	l.errlen = sizeof(errbuf);
	l.report = report;
	l.arg = arg;
	c = load(path, &l);
	*problems = l.failed;
	return c;
}

enum mr_conf_pm
mr_conf_pm(const struct mr_conf *c)
{
	if (c->cf_fcgi_pm == NULL || strcmp(c->cf_fcgi_pm, "dynamic") == 0)
		return MR_PM_DYNAMIC;
	if (strcmp(c->cf_fcgi_pm, "static") == 0)
		return MR_PM_STATIC;
	if (strcmp(c->cf_fcgi_pm, "ondemand") == 0)
		return MR_PM_ONDEMAND;
	return MR_PM_DYNAMIC;
}

void
mr_conf_free(struct mr_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < MR_NELEM(keys); i++)
		if (keys[i].type == T_STR)
			free(*strslot(c, &keys[i]));
	free(c->cf_lines);
	free(c->cf_path);
	free(c);
}

void
mr_conf_dump(const struct mr_conf *c, FILE *fp)
{
	struct mr_conf	*w = (struct mr_conf *)(uintptr_t)c;

	for (size_t i = 0; i < MR_NELEM(keys); i++) {
		const struct confkey *k = &keys[i];

		if (k->type == T_INT)
			fprintf(fp, "%s = %lld\n", k->name,
			    (long long)*intslot(w, k));
		else if (*strslot(w, k) == NULL)
			fprintf(fp, "%s =\n", k->name);
		else if (k->flags & F_SECRET)
			fprintf(fp, "%s = ********\n", k->name);
		else
			fprintf(fp, "%s = %s\n", k->name, *strslot(w, k));
	}
}
