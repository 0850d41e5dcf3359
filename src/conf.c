/* SPDX-License-Identifier: ISC */
/*
 * conf.c - table-driven configuration (Redis static_configs[] shape).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mr.h"
#include "conf.h"

/* F_REQUIRED: must end up set, so "key =" cannot clear its default. */
#define F_REQUIRED	0x01
#define F_SECRET	0x02

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
	S(fcgi_socket,		F_REQUIRED, "/run/meetrec/fcgi.sock"),
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
	S(spool_dir,		F_REQUIRED, NULL),
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

static int
setval(struct mr_conf *c, const struct confkey *k, const char *v,
    const char *where, char *errbuf, size_t errlen)
{
	char	**sp, *dup;
	int64_t	  n;

	if (k->type == T_INT) {
		if (mr_parse_int64(v, k->min, k->max, &n) == -1) {
			snprintf(errbuf, errlen, "%s: %s must be an integer "
			    "from %lld to %lld", where, k->name,
			    (long long)k->min, (long long)k->max);
			return -1;
		}
		*intslot(c, k) = n;
		return 0;
	}
	sp = strslot(c, k);
	if ((dup = strdup(v)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	free(*sp);
	/* An empty value means unset, so "key =" clears a default. */
	if (*dup == '\0') {
		free(dup);
		dup = NULL;
	}
	*sp = dup;
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

static int
readfile(struct mr_conf *c, const char *path, char *errbuf, size_t errlen)
{
	FILE		*fp;
	char		 line[4096], where[512];
	char		*k, *v, *eq;
	const struct confkey *key;
	struct stat	 st;
	int		 lineno = 0, secret = 0, rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(errbuf, errlen, "could not open config file '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(errbuf, errlen, "%s: line too long", where);
			goto done;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(errbuf, errlen, "%s: expected 'key = value'",
			    where);
			goto done;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if ((key = findkey(k)) == NULL) {
			snprintf(errbuf, errlen, "%s: unknown key '%s'",
			    where, k);
			goto done;
		}
		if ((key->flags & F_SECRET) && *v != '\0')
			secret = 1;
		if (setval(c, key, v, where, errbuf, errlen) == -1)
			goto done;
	}
	if (ferror(fp)) {
		snprintf(errbuf, errlen, "could not read '%s'", path);
		goto done;
	}
	if (secret && fstat(fileno(fp), &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(errbuf, errlen, "config file '%s' holds secrets but "
		    "group or others may read it (mode %04o); chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777));
		goto done;
	}
	rc = 0;
done:
	fclose(fp);
	return rc;
}

/* The keys each storage backend needs. */
static int
check_storage(const struct mr_conf *c, char *errbuf, size_t errlen)
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
	struct mr_conf	*w = (struct mr_conf *)(uintptr_t)c;

	for (size_t i = 0; i < MR_NELEM(need); i++) {
		if (strcmp(c->cf_storage_type, need[i].type) != 0)
			continue;
		for (size_t k = 0; k < 5 && need[i].keys[k] != NULL; k++)
			if (*strslot(w, findkey(need[i].keys[k])) == NULL) {
				snprintf(errbuf, errlen, "storage_type is %s "
				    "but '%s' is not set", need[i].type,
				    need[i].keys[k]);
				return -1;
			}
		return 0;
	}
	snprintf(errbuf, errlen, "storage_type must be local, nextcloud or "
	    "s3, not '%s'", c->cf_storage_type);
	return -1;
}

/* The pool's keys agree with each other (meetrec-fcgi(8), POOL). */
static int
check_pool(const struct mr_conf *c, char *errbuf, size_t errlen)
{
	if (strcmp(c->cf_fcgi_pm, "static") != 0 &&
	    strcmp(c->cf_fcgi_pm, "dynamic") != 0 &&
	    strcmp(c->cf_fcgi_pm, "ondemand") != 0) {
		snprintf(errbuf, errlen, "fcgi_pm must be static, dynamic or "
		    "ondemand, not '%s'", c->cf_fcgi_pm);
		return -1;
	}
	if (c->cf_fcgi_workers_min > c->cf_fcgi_workers_max) {
		snprintf(errbuf, errlen, "fcgi_workers_min (%lld) is above "
		    "fcgi_workers_max (%lld)",
		    (long long)c->cf_fcgi_workers_min,
		    (long long)c->cf_fcgi_workers_max);
		return -1;
	}
	if (c->cf_fcgi_spare_min > c->cf_fcgi_spare_max) {
		snprintf(errbuf, errlen, "fcgi_spare_min (%lld) is above "
		    "fcgi_spare_max (%lld)", (long long)c->cf_fcgi_spare_min,
		    (long long)c->cf_fcgi_spare_max);
		return -1;
	}
	return 0;
}

enum mr_conf_pm
mr_conf_pm(const struct mr_conf *c)
{
	if (strcmp(c->cf_fcgi_pm, "static") == 0)
		return MR_PM_STATIC;
	if (strcmp(c->cf_fcgi_pm, "ondemand") == 0)
		return MR_PM_ONDEMAND;
	return MR_PM_DYNAMIC;
}

static void
envname(char *buf, size_t len, const char *key)
{
	char	*p;

	snprintf(buf, len, "MEETREC_%s", key);
	for (p = buf; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

const char *
mr_conf_path(const char *arg)
{
	if (arg != NULL)
		return arg;
	return mr_getenv_nonempty("MEETREC_CONFIG");
}

struct mr_conf *
mr_conf_load(const char *path, char *errbuf, size_t errlen)
{
	struct mr_conf	*c;
	char		 env[128];
	const char	*v;
	size_t		 i;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < MR_NELEM(keys); i++)
		if (keys[i].def != NULL && setval(c, &keys[i], keys[i].def,
		    "default", errbuf, errlen) == -1)
			goto fail;
	path = mr_conf_path(path);
	if (path != NULL) {
		if ((c->cf_path = strdup(path)) == NULL)
			goto fail;
		if (readfile(c, path, errbuf, errlen) == -1)
			goto fail;
	}
	for (i = 0; i < MR_NELEM(keys); i++) {
		envname(env, sizeof(env), keys[i].name);
		if ((v = getenv(env)) != NULL &&
		    setval(c, &keys[i], v, env, errbuf, errlen) == -1)
			goto fail;
	}
	for (i = 0; i < MR_NELEM(keys); i++)
		if ((keys[i].flags & F_REQUIRED) && keys[i].type == T_STR &&
		    *strslot(c, &keys[i]) == NULL) {
			envname(env, sizeof(env), keys[i].name);
			snprintf(errbuf, errlen, "required key '%s' is not set "
			    "(in the config file or as %s)", keys[i].name, env);
			goto fail;
		}
	if (c->cf_jwt_secret == NULL && c->cf_jwt_public_key_file == NULL) {
		snprintf(errbuf, errlen, "one of 'jwt_secret' or "
		    "'jwt_public_key_file' must be set");
		goto fail;
	}
	if (c->cf_url_signing_secret == NULL && c->cf_jwt_secret == NULL) {
		snprintf(errbuf, errlen, "'url_signing_secret' must be set "
		    "when 'jwt_secret' is not (it signs download links)");
		goto fail;
	}
	if (mr_log_parse_level(c->cf_log_level) == -1) {
		snprintf(errbuf, errlen, "log_level must be error, warn, info "
		    "or debug");
		goto fail;
	}
	if (check_storage(c, errbuf, errlen) == -1)
		goto fail;
	if (check_pool(c, errbuf, errlen) == -1)
		goto fail;
	if (strncmp(c->cf_livekit_url, "http://", 7) != 0 &&
	    strncmp(c->cf_livekit_url, "https://", 8) != 0) {
		snprintf(errbuf, errlen, "livekit_url must start with "
		    "http:// or https://");
		goto fail;
	}
	return c;
fail:
	if (errbuf[0] == '\0')
		snprintf(errbuf, errlen, "out of memory");
	mr_conf_free(c);
	return NULL;
}

void
mr_conf_free(struct mr_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < MR_NELEM(keys); i++)
		if (keys[i].type == T_STR)
			free(*strslot(c, &keys[i]));
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
