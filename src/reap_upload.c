/* SPDX-License-Identifier: ISC */
/*
 * reap_upload.c - the upload pass (SPEC section 4.4): a recording whose
 * egress ended with a file is probed for its real duration, streamed from
 * the spool to storage, verified and marked completed; only then is the
 * spool file removed.  A spool file whose size or modification time
 * changed while it was read and stored is not taken as stored: the
 * bytes written meanwhile are in neither the hash nor the copy, and
 * removing the file would lose them; that attempt fails (500
 * spool_changed) and the next one stores the file again.  A failure
 * counts an attempt and backs off; past upload_max_attempts the
 * recording is failed and the spool file stays for an admin retry.
 *
 * A file the probe cannot read to its end (422 "unreadable_media": cut
 * short, damaged, empty) is never stored as if it were whole: retrying
 * will not heal the bytes, so the recording fails at once, the finding in
 * its row and the spool file kept.  Only an admin retry with accept_as_is
 * (store_as_is in the row) stores such a file: completed, its duration
 * unknown (NULL) and the finding kept.
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
#define PROBE_WINDOW	(64 * 1024)	/* an object's GET, to probe it */
#define STREAM_WINDOW	(4 * 1024 * 1024) /* an object's GET, to store it */

/* The spool file of r (mr_spool_path), in the item arena. */
char *
mr_reap_spool_path(struct mr_reaper *rp, const struct mr_recording *r)
{
	return mr_spool_path(rp->arena, rp->conf->cf_spool_dir, r);
}

/* SHA-256 of the whole source, streamed; hex in the arena. */
static char *
hash_src(struct mr_reaper *rp, const struct mr_src *src, struct mr_err *err)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*buf = NULL, md[MR_SHA256_LEN];
	uint64_t	 off = 0;
	size_t		 n;
	char		*hex = NULL;

	if ((buf = malloc(HASH_CHUNK)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	while (off < src->size) {
		n = src->size - off < HASH_CHUNK ? (size_t)(src->size - off) :
		    HASH_CHUNK;
		if (mr_store_read(src, (off_t)off, buf, n, err) == -1)
			goto done;
		EVP_DigestUpdate(ctx, buf, n);
		off += n;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) == 1)
		hex = mr_hex(rp->arena, md, sizeof(md));
done:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return hex;
}

/*
 * A source that hashes what is read through it, for an object streamed
 * from the incoming bucket to storage in one pass.  The store reads in
 * order but may read a window again (a resend) or skip what an earlier
 * attempt stored (a resumed upload): what was hashed is not hashed
 * again, and a skip is read and hashed before the read past it.
 */
struct hashing {
	struct mr_src		 src;		/* what the store reads */
	const struct mr_src	*in;
	EVP_MD_CTX		*ctx;
	uint64_t		 done;		/* hashed up to here */
	unsigned char		*gap;		/* HASH_CHUNK, for skips */
};

static int
hash_upto(struct hashing *h, uint64_t to, struct mr_err *err)
{
	size_t	 n;

	while (h->done < to) {
		n = to - h->done < HASH_CHUNK ? (size_t)(to - h->done) :
		    HASH_CHUNK;
		if (mr_store_read(h->in, (off_t)h->done, h->gap, n, err) == -1)
			return -1;
		EVP_DigestUpdate(h->ctx, h->gap, n);
		h->done += n;
	}
	return 0;
}

static int
hashing_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	struct hashing	*h = arg;
	uint64_t	 o = (uint64_t)off, end = o + len;

	if (o > h->done && hash_upto(h, o, err) == -1)
		return -1;
	if (mr_store_read(h->in, off, buf, len, err) == -1)
		return -1;
	if (end > h->done) {
		EVP_DigestUpdate(h->ctx, (unsigned char *)buf + (h->done - o),
		    (size_t)(end - h->done));
		h->done = end;
	}
	return 0;
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

/* What an upload stored; the strings in the item arena. */
struct stored {
	char	*key;		/* the storage key */
	off_t	 size;
	char	*sha256;	/* hex */
	int64_t	 dur_s;		/* whole seconds, -1 when unknown */
	int64_t	 dur_ms;	/* milliseconds, -1 when unknown */
	char	*finding;	/* what the probe found wrong, or NULL */
	uint64_t probe_bytes;	/* an object's bytes read to probe it */
	const char *how;	/* "copied" inside the service, "streamed" */
};

/*
 * What the probe says of the file read through src: 0 with st->dur_s and
 * st->dur_ms set when it read the file to its end.  Otherwise they stay
 * -1 and, for a file it cannot read to its end (422), st->finding holds its
 * words: that is 0 when the row asks to store the file as it is, else -1
 * with err 422 damaged_media.  A read error (500) is -1 with err set,
 * for the usual retry.
 */
static int
probe(struct mr_reaper *rp, const struct mr_recording *r,
    const struct mr_src *src, const char *path, struct stored *st,
    struct mr_err *err)
{
	struct mr_err	 perr;
	double		 secs;

	mr_err_clear(&perr);
	if (mr_probe_duration_src(src, &secs, &perr) == 0) {
		/* The probes give no negative or endless duration. */
		if (mr_duration_split(secs, &st->dur_s, &st->dur_ms) == -1)
			return mr_err_set(err, 500, "internal",
			    "the probe gave %g seconds", secs);
		return 0;
	}
	if (perr.status != 422) {
		*err = perr;
		return mr_err_cause(err, "probing '%s'", path);
	}
	if ((st->finding = mr_strdup(rp->arena, perr.detail)) == NULL)
		return mr_err_set(err, 500, "internal", "out of memory");
	if (r->store_as_is) {
		mr_log_info("pass=upload rec=%s storing the file as it is: %s",
		    r->id, perr.detail);
		return 0;
	}
	return mr_err_set(err, 422, "damaged_media", "%s", perr.detail);
}

/* Where r is stored (store.h's mr_store_key), in the arena. */
static char *
stored_key(struct mr_reaper *rp, const struct mr_recording *r)
{
	return mr_store_key(rp->arena, r->room_code, r->started_epoch, r->id,
	    r->audio_only ? "ogg" : "mp4");
}

/* The name of r's uploads, the same at every attempt (a resume). */
static char *
upload_name(struct mr_reaper *rp, const struct mr_recording *r)
{
	return mr_printf(rp->arena, "meetrec-%s", r->id);
}

/*
 * Did the spool file change while it was read and stored?  Bytes written
 * after the probe, the hash or the store read it are in none of them,
 * and the spool file goes once the row is completed: store it again, the
 * next attempt, instead.  A file by its size and modification time (to
 * the nanosecond), an object by its size and ETag.
 */
static int
spool_changed(struct mr_reaper *rp, const struct mr_recording *r,
    const struct mr_spool_reader *rd, const struct stat *sb,
    const struct mr_spool_file *was, struct mr_err *err)
{
	struct mr_spool_file	 now;
	struct stat		 st;

	if (rd->fd != -1) {
		if (fstat(rd->fd, &st) == -1)
			return mr_err_set(err, 500, "io_error", "could not stat "
			    "spool file '%s': %s", was->name, strerror(errno));
		if (st.st_size == sb->st_size &&
		    st.st_mtim.tv_sec == sb->st_mtim.tv_sec &&
		    st.st_mtim.tv_nsec == sb->st_mtim.tv_nsec)
			return 0;
		now.size = st.st_size;
	} else {
		if (mr_spool_stat(&rp->spool, rp->arena, r, &now, err) == -1)
			return -1;
		if (now.exists && now.size == was->size &&
		    (was->etag == NULL || (now.etag != NULL &&
		    strcmp(now.etag, was->etag) == 0)))
			return 0;
		if (!now.exists)
			now.size = -1;
	}
	mr_err_set(err, 500, "spool_changed", "the spool file changed "
	    "while it was stored");
	return mr_err_cause(err, "'%s' was %lld bytes, now %lld", was->name,
	    (long long)was->size, (long long)now.size);
}

/*
 * Store the incoming object of r as o: copied inside the storage
 * service when it can be (st->sha256 already known), else streamed from
 * the incoming bucket and hashed on the way (st->sha256 set here).
 */
static int
store_object(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_spool_reader *rd, struct mr_store_obj *o, struct stored *st,
    struct mr_err *err)
{
	struct mr_store_stat	 sb;
	struct hashing		 h;
	unsigned char		 md[MR_SHA256_LEN];
	int			 rc = -1;

	if ((st->sha256 = hash_src(rp, &rd->src, err)) == NULL)
		return -1;
	o->sha256_hex = st->sha256;
	if (mr_spool_copy(&rp->spool, rp->arena, &rp->store, r, o, err) ==
	    0) {
		/* A copy is not checked by the store as a put is: check it. */
		memset(&sb, 0, sizeof(sb));
		if (mr_store_stat(&rp->store, rp->arena, o->key, &sb, err) ==
		    -1)
			return -1;
		if (!sb.exists || sb.size != o->size)
			return mr_err_set(err, 502, "storage_error", "the copy "
			    "of '%s' holds %lld bytes, not %lld", o->key,
			    (long long)(sb.exists ? sb.size : -1),
			    (long long)o->size);
		st->how = "copied";
		return 0;
	}
	if (err->status != 501)
		return -1;
	mr_err_clear(err);
	/*
	 * Streamed: the hash of the first read is known, and the bytes are
	 * hashed again on their way so that what was stored is what was
	 * hashed: an object replaced in between shows as a mismatch.
	 */
	memset(&h, 0, sizeof(h));
	h.in = &rd->src;
	h.src.read = hashing_read;
	h.src.arg = &h;
	h.src.size = rd->src.size;
	if ((h.gap = malloc(HASH_CHUNK)) == NULL ||
	    (h.ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h.ctx, EVP_sha256(), NULL) != 1) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	if (mr_store_put(&rp->store, rp->arena, &h.src, o, err) == -1 ||
	    hash_upto(&h, h.src.size, err) == -1)
		goto done;
	if (EVP_DigestFinal_ex(h.ctx, md, NULL) != 1) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	if (strcmp(mr_hex(rp->arena, md, sizeof(md)), st->sha256) != 0) {
		mr_err_set(err, 500, "spool_changed", "the spool file changed "
		    "while it was stored");
		mr_err_cause(err, "'%s': the bytes stored are not the bytes "
		    "hashed", rd->key);
		goto done;
	}
	st->how = "streamed";
	rc = 0;
done:
	EVP_MD_CTX_free(h.ctx);
	free(h.gap);
	return rc;
}

/*
 * Upload one claimed recording: 0 done, st filled; -1 failed with err
 * set (422 damaged_media when the file is damaged, st->finding saying
 * how).
 */
static int
upload(struct mr_reaper *rp, const struct mr_recording *r,
    struct stored *st, struct mr_err *err)
{
	struct mr_store_obj	 o;
	struct mr_spool_reader	 rd;
	struct mr_spool_file	 was;
	struct lease		 lease;
	struct stat		 sb;
	int			 rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&sb, 0, sizeof(sb));
	st->dur_s = st->dur_ms = -1;
	/* The real duration, from the file itself (not FileInfo). */
	if (mr_spool_stat(&rp->spool, rp->arena, r, &was, err) == -1)
		return -1;
	if (!was.exists)
		return mr_err_set(err, 500, "spool_missing", "could not open "
		    "spool file '%s': %s", was.name, strerror(ENOENT));
	if (mr_spool_reader_open(&rp->spool, rp->arena, r, PROBE_WINDOW, &rd,
	    err) == -1) {
		err->status = 500;
		return -1;
	}
	if (rd.fd != -1 && fstat(rd.fd, &sb) == -1) {
		mr_err_set(err, 500, "io_error", "could not stat spool file "
		    "'%s': %s", was.name, strerror(errno));
		goto done;
	}
	was.size = (off_t)rd.src.size;
	rc = probe(rp, r, &rd.src, was.name, st, err);
	st->probe_bytes = rd.fetched;
	mr_spool_reader_close(&rd);
	if (rc == -1)
		return -1;
	rc = -1;
	if (mr_spool_reader_open(&rp->spool, rp->arena, r, STREAM_WINDOW, &rd,
	    err) == -1) {
		err->status = 500;
		return -1;
	}
	memset(&o, 0, sizeof(o));
	st->key = stored_key(rp, r);
	o.key = st->key;
	o.content_type = r->audio_only ? "audio/ogg" : "video/mp4";
	o.size = (off_t)rd.src.size;
	o.upload_id = upload_name(rp, r);
	o.mtime = rd.fd != -1 ? sb.st_mtime : 0;
	lease.rp = rp;
	lease.id = r->id;
	lease.renewed = mr_now();
	o.progress = keep_lease;
	o.progress_arg = &lease;
	if (o.key == NULL || o.upload_id == NULL) {
		mr_err_set(err, 500, "internal", "out of memory");
		goto done;
	}
	if (rd.fd != -1) {
		if ((st->sha256 = hash_src(rp, &rd.src, err)) == NULL)
			goto done;
		o.sha256_hex = st->sha256;
		if (mr_store_put(&rp->store, rp->arena, &rd.src, &o, err) ==
		    -1)
			goto done;
		st->how = "streamed";
	} else {
		o.src_etag = was.etag;
		if (store_object(rp, r, &rd, &o, st, err) == -1)
			goto done;
	}
	if (spool_changed(rp, r, &rd, &sb, &was, err) == -1)
		goto done;
	/* Share with the recorder's account, where the backend has them. */
	if (r->recorded_by_name != NULL && mr_store_share(&rp->store,
	    rp->arena, o.key, r->recorded_by_name, err) == -1)
		goto done;
	st->size = o.size;
	rc = 0;
done:
	mr_spool_reader_close(&rd);
	return rc;
}

/*
 * What an earlier attempt at r may have left under its key, removed as
 * r is about to fail for good or go for good (reap.h): an attempt killed
 * after its put, or in the middle of a chunked or multipart upload, wrote
 * no row, and the spool file, which stays, is what a retry stores.  Only
 * under our lease, renewed first: a reaper that took r over when our
 * lease ran out (a put that stalled) may be storing r at this very key;
 * and before the row says failed, after which an admin's retry may do the
 * same.  -1 when storage does not answer (or the lease is lost): the
 * caller decides whether r may go on without it (reap.h).
 */
int
mr_reap_discard(struct mr_reaper *rp, const struct mr_recording *r,
    struct mr_err *err)
{
	struct mr_store_obj	 o;
	int			 rc;

	rc = mr_db_reap_renew(rp->db, rp->arena, r->id, rp->owner,
	    rp->conf->cf_reaper_lease_seconds, err);
	if (rc != 1) {
		if (rc == 0)
			mr_err_set(err, 409, "lease_lost", "the lease is "
			    "lost");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	if ((o.key = stored_key(rp, r)) == NULL ||
	    (o.upload_id = upload_name(rp, r)) == NULL)
		return mr_err_set(err, 500, "internal", "out of memory");
	if (mr_store_discard(&rp->store, rp->arena, &o, err) == -1) {
		mr_err_cause(err, "could not remove what an earlier attempt "
		    "may have stored at '%s'", o.key);
		return -1;
	}
	return 0;
}

/*
 * r is about to fail for good, for reason: first what an earlier attempt
 * may have stored at its key goes (mr_reap_discard).  When it cannot,
 * before its last attempt r is tried again after the backoff instead,
 * its attempt counted, with the reason it would have failed for: storage
 * that blinked comes back, and the leftover goes with the failure.  At
 * the last attempt storage is taken for broken and r fails anyway, the
 * leftover logged (the expiry or purge of r removes it, and waits for
 * storage to do so).  0: fail r now; 1: r was put off; -1 database error.
 */
static int
discard_or_put_off(struct mr_reaper *rp, const struct mr_recording *r,
    const char *reason)
{
	struct mr_err	 derr, err;
	const char	*why;
	int		 rc, gave_up;

	mr_err_clear(&derr);
	if (mr_reap_discard(rp, r, &derr) == 0)
		return 0;
	if (reason == NULL)
		reason = "upload failed";
	if (r->upload_attempts + 1 >= rp->conf->cf_upload_max_attempts) {
		mr_log_warnx("pass=upload rec=%s left what an earlier attempt "
		    "may have stored: %s%s%s", r->id, derr.detail,
		    derr.cause[0] ? ": " : "", derr.cause);
		return 0;
	}
	why = mr_printf(rp->arena, "%s (not failed until storage answers: "
	    "%s%s%s)", reason, derr.detail, derr.cause[0] ? ": " : "",
	    derr.cause);
	mr_err_clear(&err);
	rc = mr_db_reap_failed(rp->db, rp->arena, r->id, rp->owner,
	    why ? why : reason, rp->conf->cf_upload_max_attempts,
	    rp->conf->cf_upload_backoff_seconds, &gave_up, &err);
	if (rc == -1) {
		mr_log_warnx("pass=upload rec=%s could not put it off: %s",
		    r->id, err.cause[0] ? err.cause : err.detail);
		return -1;
	}
	mr_log_warnx("pass=upload rec=%s action=%s attempt=%lld error=\"%s\"",
	    r->id, rc == 1 ? "retry_later" : "lease_lost",
	    (long long)r->upload_attempts + 1, why ? why : reason);
	return 1;
}

/*
 * Fail recording r for its damaged file, at once.  The row says what was
 * found, that the file is kept and how to store it anyway.  -1 on a
 * database error.
 */
static int
fail_damaged(struct mr_reaper *rp, const struct mr_recording *r,
    const char *finding)
{
	struct mr_err	 err;
	const char	*why;
	int		 rc;

	if ((rc = discard_or_put_off(rp, r, mr_printf(rp->arena, "The "
	    "recording's file is damaged: %s", finding))) != 0)
		return rc == -1 ? -1 : 0;
	why = mr_printf(rp->arena, "The recording's file is damaged: %s "
	    "It is kept in the spool; to store it as it is, without a "
	    "duration, retry the recording with {\"accept_as_is\": true} "
	    "(POST /api/admin/recordings/%s/retry).", finding, r->id);
	mr_err_clear(&err);
	rc = mr_db_reap_damaged(rp->db, rp->arena, r->id, rp->owner,
	    why ? why : finding, finding, &err);
	if (rc == -1) {
		mr_log_warnx("pass=upload rec=%s could not fail it: %s", r->id,
		    err.cause[0] ? err.cause : err.detail);
		return -1;
	}
	if (rc == 0) {
		mr_log_warnx("pass=upload rec=%s action=lease_lost", r->id);
		return 0;
	}
	mr_log_warnx("pass=upload rec=%s action=failed reason=damaged "
	    "finding=\"%s\"", r->id, finding);
	return 0;
}

/* One upload; 0 (failures logged and counted) or -1 database error. */
static int
upload_one(struct mr_reaper *rp, struct mr_recording *rec, void *ctx)
{
	struct mr_recording	 r = *rec;
	struct stored		 st;
	struct mr_err		 err;
	char			 dur[32];
	const char		*why;
	int64_t			 t0;
	int			 rc, gave_up;

	(void)ctx;
	mr_err_clear(&err);
	t0 = mr_now_ms();
	rc = upload(rp, &r, &st, &err);
	if (rc == -1 && err.code != NULL &&
	    strcmp(err.code, "damaged_media") == 0) {
		rp->failures++;
		count_upload(rp, 0, 1);
		return fail_damaged(rp, &r, st.finding);
	}
	if (rc == -1) {
		rp->failures++;
		why = mr_printf(rp->arena, "%s%s%s", err.detail,
		    err.cause[0] ? ": " : "", err.cause);
		mr_err_clear(&err);
		/* The attempt that gives up (rp_failed's rule). */
		if (r.upload_attempts + 1 >= rp->conf->cf_upload_max_attempts)
			(void)discard_or_put_off(rp, &r, why);
		rc = mr_db_reap_failed(rp->db, rp->arena, r.id, rp->owner,
		    why ? why : "upload failed",
		    rp->conf->cf_upload_max_attempts,
		    rp->conf->cf_upload_backoff_seconds, &gave_up, &err);
		mr_log_warnx("pass=upload rec=%s action=%s attempt=%lld "
		    "error=\"%s\"", r.id, gave_up ? "failed" : "retry_later",
		    (long long)r.upload_attempts + 1, why ? why : "-");
		count_upload(rp, 0, 1);
		return rc == -1 ? -1 : 0;
	}
	rc = mr_db_reap_done(rp->db, rp->arena, r.id, rp->owner,
	    rp->conf->cf_storage_type, st.key, (int64_t)st.size, st.dur_s,
	    st.dur_ms, st.sha256, st.finding, rp->conf->cf_asr_language,
	    rp->conf->cf_asr_url != NULL, &err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		/* Our lease was taken over: leave the spool alone. */
		mr_log_warnx("pass=upload rec=%s action=lease_lost", r.id);
		return 0;
	}
	count_upload(rp, st.size, 0);
	mr_err_clear(&err);
	if (mr_spool_remove(&rp->spool, rp->arena, &r, &err) == -1)
		mr_log_warnx("rec=%s could not remove its spool file: %s%s%s",
		    r.id, err.detail, err.cause[0] ? ": " : "", err.cause);
	/* The precise duration, in seconds like the rest. */
	if (st.dur_ms >= 0)
		snprintf(dur, sizeof(dur), "%lld.%03lld",
		    (long long)(st.dur_ms / 1000),
		    (long long)(st.dur_ms % 1000));
	else
		snprintf(dur, sizeof(dur), "-");
	mr_log_info("pass=upload rec=%s action=uploaded storage=%s "
	    "path=%s bytes=%lld duration=%s sha256=%s dur_ms=%lld%s "
	    "spool=%s how=%s probe_bytes=%llu", r.id,
	    rp->conf->cf_storage_type, st.key, (long long)st.size, dur,
	    st.sha256, (long long)(mr_now_ms() - t0),
	    st.finding ? " as_is=1" : "", rp->spool.s3 ? "s3" : "local",
	    st.how ? st.how : "-", (unsigned long long)st.probe_bytes);
	return 0;
}

/*
 * One upload a claim: each takes seconds to minutes, and a row claimed
 * in a batch would wait for the others while another reaper sits idle.
 * The claim reads only the uploads due, so its cost stays flat anyway.
 */
int
mr_reap_uploads(struct mr_reaper *rp, int limit)
{
	const struct mr_reap_pass	ps = { "upload", MR_CLAIM_UPLOAD, 0, 1,
	    0, upload_one, NULL };

	return mr_reap_claimed(rp, &ps, limit);
}
