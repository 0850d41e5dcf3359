/* SPDX-License-Identifier: ISC */
/*
 * reap_upload.c - the upload pass (SPEC section 4.4): a recording whose
 * egress ended with a file is streamed from the spool to storage,
 * verified, probed for its real duration and marked completed; only then
 * is the spool file removed.  A failure counts an attempt and backs off;
 * past upload_max_attempts the recording is failed and the spool file
 * stays for an admin retry.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mr.h"
#include "metrics.h"
#include "probe.h"
#include "reap.h"

#define HASH_CHUNK	(1024 * 1024)

/*
 * The file we asked LiveKit to write: {spool}/{id}.mp4 or .ogg.  If
 * LiveKit reported another name inside the spool, that one.
 */
char *
mr_reap_spool_path(struct mr_reaper *rp, const struct mr_recording *r)
{
	const char	*spool = rp->conf->cf_spool_dir;
	char		*p;
	size_t		 n = strlen(spool);

	p = mr_printf(rp->arena, "%s/%s.%s", spool, r->id,
	    r->audio_only ? "ogg" : "mp4");
	if (p != NULL && access(p, F_OK) == -1 && r->file_name != NULL &&
	    strncmp(r->file_name, spool, n) == 0 && r->file_name[n] == '/' &&
	    strstr(r->file_name, "/../") == NULL)
		p = mr_strdup(rp->arena, r->file_name);
	return p;
}

/* SHA-256 of the whole file, streamed; hex in the arena. */
static char *
hash_file(struct mr_reaper *rp, int fd, off_t size, struct mr_err *err)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*buf = NULL, md[MR_SHA256_LEN];
	off_t		 off = 0;
	ssize_t		 n;
	char		*hex = NULL;

	if ((buf = malloc(HASH_CHUNK)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	while (off < size) {
		n = pread(fd, buf, HASH_CHUNK, off);
		if (n <= 0) {
			mr_err_set(err, 500, "io_error", "could not read the "
			    "spool file: %s", n == 0 ? "it shrank" :
			    strerror(errno));
			goto done;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) == 1)
		hex = mr_hex(rp->arena, md, sizeof(md));
done:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return hex;
}

struct lease {
	struct mr_reaper	*rp;
	const char		*id;
	int64_t			 renewed;	/* Unix seconds */
};

/*
 * Progress of an upload: keep our claim on the row alive.  A third of the
 * lease into it, renew; if the row is no longer ours (the lease ran out
 * and another reaper took it), give the upload up.
 */
static int
keep_lease(void *arg, off_t done)
{
	struct lease	*l = arg;
	struct mr_err	 err;
	int64_t		 now = mr_now();
	int		 rc;

	(void)done;
	if (now - l->renewed < l->rp->conf->cf_reaper_lease_seconds / 3)
		return 0;
	mr_err_clear(&err);
	rc = mr_db_reap_renew(l->rp->db, l->rp->arena, l->id, l->rp->owner,
	    l->rp->conf->cf_reaper_lease_seconds, &err);
	if (rc == 0) {
		mr_log_warnx("pass=upload rec=%s action=lease_lost "
		    "at_bytes=%lld", l->id, (long long)done);
		return -1;
	}
	if (rc == -1)
		mr_log_warnx("pass=upload rec=%s could not renew the lease: "
		    "%s", l->id, err.cause);
	else
		l->renewed = now;
	return 0;
}

/*
 * Add to the upload counters (sql/004_metrics.sql): one statement, and a
 * failure is only logged.  The names are always in this order, so
 * reapers on several hosts lock the rows in the same order.
 */
static void
count_upload(struct mr_reaper *rp, off_t bytes, int failed)
{
	static const char *const ok[] = { "upload_bytes", "uploads" };
	static const char *const ko[] = { "upload_failures" };
	const double	 one = 1, v[2] = { (double)bytes, 1 };
	struct mr_err	 err;
	int		 rc;

	mr_err_clear(&err);
	if (failed)
		rc = mr_db_metrics_add(rp->db, rp->arena, ko, &one, 1, &err);
	else
		rc = mr_db_metrics_add(rp->db, rp->arena, ok, v, 2, &err);
	if (rc == -1)
		mr_log_warnx("pass=upload could not record its metrics: %s",
		    err.cause[0] ? err.cause : err.detail);
}

/* Upload one claimed recording.  0 done, -1 failed (err set). */
static int
upload(struct mr_reaper *rp, const struct mr_recording *r, char **keyp,
    char **durp, char **sump, off_t *sizep, struct mr_err *err)
{
	struct mr_store_obj	 o;
	struct lease		 lease;
	struct stat		 sb;
	struct mr_err		 perr;
	char			*path;
	double			 secs;
	int			 fd = -1, rc = -1;

	if ((path = mr_reap_spool_path(rp, r)) == NULL)
		return mr_err_set(err, 500, "internal", "out of memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		mr_err_set(err, 500, "spool_missing", "could not open spool "
		    "file '%s': %s", path, strerror(errno));
		goto done;
	}
	if (sb.st_size == 0) {
		mr_err_set(err, 422, "empty_file", "spool file '%s' is empty",
		    path);
		goto done;
	}
	/* The real duration, from the file itself (not FileInfo). */
	mr_err_clear(&perr);
	*durp = NULL;
	if (mr_probe_duration(fd, &secs, &perr) == 0)
		*durp = mr_printf(rp->arena, "%.3f", secs);
	else
		mr_log_warnx("rec=%s could not read the duration of '%s': %s",
		    r->id, path, perr.detail);
	if ((*sump = hash_file(rp, fd, sb.st_size, err)) == NULL)
		goto done;
	memset(&o, 0, sizeof(o));
	o.key = mr_store_key(rp->arena, r->room_code, r->started_epoch, r->id,
	    r->audio_only ? "ogg" : "mp4");
	o.content_type = r->audio_only ? "audio/ogg" : "video/mp4";
	o.size = sb.st_size;
	o.sha256_hex = *sump;
	o.upload_id = mr_printf(rp->arena, "meetrec-%s", r->id);
	o.mtime = sb.st_mtime;
	lease.rp = rp;
	lease.id = r->id;
	lease.renewed = mr_now();
	o.progress = keep_lease;
	o.progress_arg = &lease;
	if (o.key == NULL || o.upload_id == NULL) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	if (mr_store_put(&rp->store, rp->arena, fd, &o, err) == -1)
		goto done;
	/* Share with the recorder's account, where the backend has them. */
	if (r->recorded_by_name != NULL && mr_store_share(&rp->store,
	    rp->arena, o.key, r->recorded_by_name, err) == -1)
		goto done;
	*keyp = (char *)(uintptr_t)o.key;
	*sizep = sb.st_size;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	return rc;
}

int
mr_reap_uploads(struct mr_reaper *rp, int limit)
{
	struct mr_recording	 r;
	struct mr_err		 err;
	char			*key = NULL, *dur = NULL, *sum = NULL, *path;
	const char		*why;
	off_t			 size = 0;
	int64_t			 t0;
	int			 n, rc, gave_up;

	for (n = 0; n < limit && !mr_reap_stopping; n++) {
		mr_arena_reset(rp->arena);
		mr_err_clear(&err);
		rc = mr_db_reap_claim(rp->db, rp->arena, MR_CLAIM_UPLOAD,
		    rp->owner, rp->conf->cf_reaper_lease_seconds, 0, &r, &err);
		if (rc == -1) {
			mr_log_warnx("pass=upload claim failed: %s", err.cause);
			return -1;
		}
		if (rc == 0)
			break;
		t0 = mr_now_ms();
		if (upload(rp, &r, &key, &dur, &sum, &size, &err) == -1) {
			rp->failures++;
			why = mr_printf(rp->arena, "%s%s%s", err.detail,
			    err.cause[0] ? ": " : "", err.cause);
			mr_err_clear(&err);
			rc = mr_db_reap_failed(rp->db, rp->arena, r.id,
			    rp->owner, why ? why : "upload failed",
			    rp->conf->cf_upload_max_attempts,
			    rp->conf->cf_upload_backoff_seconds, &gave_up,
			    &err);
			mr_log_warnx("pass=upload rec=%s action=%s attempt=%lld "
			    "error=\"%s\"", r.id, gave_up ? "failed" :
			    "retry_later", (long long)r.upload_attempts + 1,
			    why ? why : "-");
			count_upload(rp, 0, 1);
			if (rc == -1)
				return -1;
			continue;
		}
		rc = mr_db_reap_done(rp->db, rp->arena, r.id, rp->owner,
		    rp->conf->cf_storage_type, key, (int64_t)size, dur, sum,
		    &err);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			/* Our lease was taken over: leave the spool alone. */
			mr_log_warnx("pass=upload rec=%s action=lease_lost",
			    r.id);
			continue;
		}
		count_upload(rp, size, 0);
		path = mr_reap_spool_path(rp, &r);
		if (path != NULL && unlink(path) == -1)
			mr_log_warn("rec=%s could not remove spool file '%s'",
			    r.id, path);
		mr_log_info("pass=upload rec=%s action=uploaded storage=%s "
		    "path=%s bytes=%lld duration=%s sha256=%s dur_ms=%lld",
		    r.id, rp->conf->cf_storage_type, key, (long long)size,
		    dur ? dur : "-", sum, (long long)(mr_now_ms() - t0));
	}
	return n;
}
