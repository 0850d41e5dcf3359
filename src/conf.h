/* SPDX-License-Identifier: ISC */
/*
 * conf.h - configuration: one "key = value" file, then MEETREC_<KEY>
 * environment overrides, then validation.  The keys are a table in
 * conf.c; meetrec.conf(5) documents them.
 */
#ifndef MR_CONF_H
#define MR_CONF_H

#include <stdint.h>
#include <stdio.h>

#include "mr.h"

/* Set by the build (configure --sysconfdir, --with-user, ...). */
#ifndef MR_CONFFILE
#define MR_CONFFILE	"/etc/meetrec/meetrec.conf"
#endif
#ifndef MR_RUNDIR
#define MR_RUNDIR	"/run/meetrec"
#endif
#ifndef MR_SERVICE_USER
#define MR_SERVICE_USER	"meetrec"
#endif
#ifndef MR_SERVICE_GROUP
#define MR_SERVICE_GROUP MR_SERVICE_USER
#endif
#ifndef MR_NGINX_USER
#define MR_NGINX_USER	"www-data"
#endif

struct mr_conf {
	char	*cf_path;		/* the file named or the default */
	int	 cf_nofile;		/* the default file does not exist:
					   the environment alone */
	int	*cf_lines;		/* per key: its line in cf_path, 0 a
					   default, -1 the environment */
	char	*cf_database_url;
	int64_t	 cf_database_prepared_statements; /* 0: unnamed only */
	char	*cf_database_listen_url; /* the watching reaper's LISTEN */
	char	*cf_fcgi_socket;
	int64_t	 cf_fcgi_workers;
	int64_t	 cf_fcgi_max_requests;
	/* the pool's size under load: fcgi_pm and its limits */
	int64_t	 cf_fcgi_backlog;	/* 0: the kernel's maximum */
	char	*cf_fcgi_pm;		/* static, dynamic, ondemand */
	int64_t	 cf_fcgi_workers_min;
	int64_t	 cf_fcgi_workers_max;
	int64_t	 cf_fcgi_spare_min;
	int64_t	 cf_fcgi_spare_max;
	int64_t	 cf_fcgi_idle_timeout;
	char	*cf_pid_file;
	char	*cf_fcgi_user;
	char	*cf_fcgi_socket_group;
	char	*cf_nginx_user;		/* nginx's workers: check-config */
	int64_t	 cf_body_max;
	char	*cf_jwt_secret;
	char	*cf_jwt_public_key_file;
	char	*cf_jwt_issuer;
	char	*cf_jwt_audience;
	int64_t	 cf_jwt_leeway;
	char	*cf_livekit_url;
	char	*cf_livekit_api_key;
	char	*cf_livekit_api_secret;
	int64_t	 cf_livekit_timeout_ms;
	int64_t	 cf_webhook_leeway;
	char	*cf_livekit_user_identity; /* identity, metadata:<field> */
	char	*cf_spool_dir;
	char	*cf_spool_type;		/* local, s3 */
	char	*cf_spool_s3_endpoint;	/* each NULL: the s3_ one */
	char	*cf_spool_s3_region;
	char	*cf_spool_s3_bucket;
	char	*cf_spool_s3_access_key;
	char	*cf_spool_s3_secret_key;
	char	*cf_spool_s3_prefix;
	char	*cf_storage_type;
	char	*cf_storage_local_dir;
	char	*cf_public_url;
	char	*cf_url_signing_secret;	/* NULL: derived from jwt_secret */
	int64_t	 cf_download_url_ttl;
	int64_t	 cf_share_max_days;
	int64_t	 cf_share_max_active;	/* live links per recording */
	int64_t	 cf_audit_dedupe_seconds; /* one audit row per viewing */
	char	*cf_log_level;
	int64_t	 cf_retention_days;
	int64_t	 cf_recording_max_seconds;
	int64_t	 cf_trash_days;
	/* storage_type = nextcloud */
	char	*cf_nextcloud_url;
	char	*cf_nextcloud_user;
	char	*cf_nextcloud_app_password;
	char	*cf_nextcloud_folder;
	int64_t	 cf_nextcloud_chunk_threshold;
	int64_t	 cf_nextcloud_chunk_size;
	int64_t	 cf_nextcloud_share;
	/* storage_type = s3 */
	char	*cf_s3_endpoint;
	char	*cf_s3_region;
	char	*cf_s3_bucket;
	char	*cf_s3_access_key;
	char	*cf_s3_secret_key;
	char	*cf_s3_prefix;
	int64_t	 cf_s3_multipart_threshold;
	int64_t	 cf_s3_part_size;
	/* uploads and the reaper */
	int64_t	 cf_upload_timeout_ms;
	int64_t	 cf_upload_max_attempts;
	int64_t	 cf_upload_backoff_seconds;
	int64_t	 cf_reaper_lease_seconds;
	int64_t	 cf_reaper_batch;
	int64_t	 cf_stale_pending_seconds;
	int64_t	 cf_spool_quiet_seconds;
	/* Events out (Standard Webhooks): timeouts, retries, limits. */
	int64_t	 cf_webhook_timeout_seconds;
	int64_t	 cf_webhook_backoff_seconds;
	int64_t	 cf_webhook_backoff_max_seconds;
	int64_t	 cf_webhook_retry_hours;
	int64_t	 cf_webhook_disable_after;
	int64_t	 cf_webhook_allow_private;	/* tests, private networks */
	int64_t	 cf_webhook_download_ttl;
	int64_t	 cf_webhook_log_days;
	int64_t	 cf_webhook_max_endpoints;
	/* Transcripts: the speech-to-text server (asr.h); off without a URL. */
	char	*cf_asr_url;
	char	*cf_asr_model;
	char	*cf_asr_api_key;
	char	*cf_asr_language;	/* ISO 639-1, or NULL: the server's guess */
	int64_t	 cf_asr_max_bytes;	/* a piece's largest upload */
	int64_t	 cf_asr_timeout_seconds;
	int64_t	 cf_asr_max_attempts;
	int64_t	 cf_asr_backoff_seconds;
	char	*cf_asr_tmp_dir;	/* pieces; NULL: $TMPDIR or /var/tmp */
};

/*
 * Load configuration from path (or $MEETREC_CONFIG when path is NULL,
 * else MR_CONFFILE, which may be missing: then the environment alone
 * configures), apply MEETREC_<KEY> overrides and validate.  Refuses a
 * file holding a secret that others, or a group other than the service
 * group, may read, an unknown key, a malformed value and a missing
 * required key.  A '#' after a space or a tab starts a comment, also
 * after a value.  Returns a configuration the caller frees with
 * mr_conf_free(), or NULL with a message in errbuf.
 */
struct mr_conf	*mr_conf_load(const char *path, char *errbuf, size_t errlen);
/*
 * The same, for check-config: every problem goes to report(arg, where,
 * message), where being "file:line", "MEETREC_<KEY>" or NULL, and the
 * load goes on; *problems says whether there was one.  Returns NULL
 * only when there is no configuration to look at (no memory, a file
 * that cannot be read); otherwise keys in error may be NULL.
 */
struct mr_conf	*mr_conf_load_all(const char *path,
		    void (*report)(void *, const char *, const char *),
		    void *arg, int *problems);
void		 mr_conf_free(struct mr_conf *);
/* Print every effective key = value, secrets masked. */
void		 mr_conf_dump(const struct mr_conf *, FILE *);
/* The config path: --config's arg, $MEETREC_CONFIG, or MR_CONFFILE. */
const char	*mr_conf_path(const char *arg);
/*
 * Where key's value came from, in buf: "file:line" or "MEETREC_<KEY>";
 * NULL for a default (or an unknown key).
 */
const char	*mr_conf_where(const struct mr_conf *, const char *key,
		    char *buf, size_t len);

/* Is v a valid livekit_user_identity (meetrec.conf(5))? */
int		 mr_conf_identity_valid(const char *v);

enum mr_conf_pm {
	MR_PM_STATIC,		/* fcgi_workers, always */
	MR_PM_DYNAMIC,		/* min..max, spare workers kept ready */
	MR_PM_ONDEMAND		/* min..max, started when a request waits */
};
/* fcgi_pm as an enum (mr_conf_load has checked it). */
enum mr_conf_pm	 mr_conf_pm(const struct mr_conf *);

#endif /* MR_CONF_H */
