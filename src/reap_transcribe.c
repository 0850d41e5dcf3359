/* SPDX-License-Identifier: ISC */
/*
 * reap_transcribe.c - the transcribe pass: what was said in a completed
 * recording, from the speech-to-text server at asr_url.
 *
 * A transcription waiting (sql/015_transcripts.sql) is claimed with a
 * lease, as uploads are, so any number of reapers on any hosts share the
 * work.  The stored file is read where it is kept (ranged reads through
 * the store: no copy), its audio is cut into 16 kHz WAV pieces under
 * asr_max_bytes at quiet moments (audio.c), and each piece is sent to
 * the server (asr.c); the segments' times are put back on the
 * recording's timeline by the piece's start.  The lease is renewed after
 * each piece.  Once every piece is done, the segments and the chapters
 * made of them (transcript.c) replace the old ones with the row's move
 * to done, in one transaction.
 *
 * A piece the server turns down for now (429, 5xx, a reset, a timeout)
 * is sent again up to PIECE_TRIES times, after the wait the server asked
 * for (Retry-After) or 2, 4 s, if that is under PIECE_WAIT_MAX; then the
 * attempt ends and the transcription waits asr_backoff_seconds, doubled
 * for each failed attempt (up to 6 hours, and at least what the server
 * asked for), until asr_max_attempts.  A file that cannot be decoded, a
 * piece the server finds too large and any other 4xx fail it at once:
 * trying again would not change the answer.  The watching reaper runs
 * this pass in a process of its own (reaper.c), so nothing else waits on
 * a slow server.
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr.h"
#include "asr.h"
#include "audio.h"
#include "reap.h"
#include "transcript.h"

#define PIECE_TRIES	3
#define PIECE_WAIT_MAX	60		/* seconds waited in the pass */
#define PIECE_ARENA	(64 * 1024 * 1024)	/* one piece's answer */
#define RUN_ARENA	(256 * 1024 * 1024)	/* the segments */
#define SWEEP_AGE	86400		/* a piece left behind, seconds */

struct run {
	struct mr_reaper	*rp;
	const struct mr_tr_job	*job;
	struct mr_arena		*arena;		/* segments, chapters */
	struct mr_arena		*piece;		/* one answer */
	struct mr_seg		*segs;
	size_t			 nsegs, cap;
	char			*language;
	int64_t			 wait_s;	/* the server asked */
	int			 lost;		/* the lease */
	int			 pieces;
};

static int
oom(struct mr_err *err)
{
	return mr_err_set(err, 500, "internal", "Out of memory.");
}

/* Worth sending the piece again: the server may take it later. */
static int
transient(const struct mr_err *err)
{
	return err->status == 429 || (err->status >= 500 &&
	    err->status != 501);
}

/* Sleep s seconds, or less when the reaper is told to stop. */
static void
nap(int64_t s)
{
	for (int64_t i = 0; i < s && !mr_reap_stopping; i++)
		sleep(1);
}

static int64_t
to_ms(double s)
{
	if (!isfinite(s) || s < 0)
		return 0;
	if (s > 1e9)
		s = 1e9;
	return (int64_t)(s * 1000 + 0.5);
}

/* Keep the piece's segments, on the recording's timeline. */
static int
keep(struct run *t, const struct mr_audio_piece *p,
    const struct mr_asr_result *res, struct mr_err *err)
{
	struct mr_seg	*ns;
	char		*text;
	size_t		 i;

	if (t->nsegs + res->nsegs > t->cap) {
		size_t cap = (t->cap == 0 ? 256 : t->cap * 2) + res->nsegs;

		if ((ns = mr_calloc(t->arena, cap, sizeof(*ns))) == NULL)
			return oom(err);
		if (t->nsegs > 0)
			memcpy(ns, t->segs, t->nsegs * sizeof(*ns));
		t->segs = ns;
		t->cap = cap;
	}
	for (i = 0; i < res->nsegs; i++) {
		struct mr_seg *s = &t->segs[t->nsegs];

		s->start_ms = to_ms(p->start + res->segs[i].start);
		s->end_ms = to_ms(p->start + res->segs[i].end);
		if (s->end_ms < s->start_ms)
			s->end_ms = s->start_ms;
		if ((text = mr_strdup(t->arena, res->segs[i].text)) == NULL)
			return oom(err);
		/*
		 * Stored text holds no control character: the search marks
		 * its matches with \x01 and \x02 (db_transcript.c).
		 */
		for (char *c = text; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		s->text = text;
		t->nsegs++;
	}
	if (t->language == NULL && res->language != NULL &&
	    (t->language = mr_strdup(t->arena, res->language)) == NULL)
		return oom(err);
	return 0;
}

/* audio.c's callback: one piece to the server, and its segments kept. */
static int
piece(void *arg, const struct mr_audio_piece *p, struct mr_err *err)
{
	struct run		*t = arg;
	struct mr_reaper	*rp = t->rp;
	struct mr_asr_result	 res;
	int64_t			 wait;
	int			 ra, rc, try;

	if (mr_reap_stopping)
		return mr_err_set(err, 503, "stopping", "The reaper was told "
		    "to stop.");
	for (try = 1;; try++) {
		mr_arena_reset(t->piece);
		ra = 0;
		mr_err_clear(err);
		if (mr_asr_transcribe(t->piece, rp->conf, p->path, &res, &ra,
		    err) == 0)
			break;
		if (ra > t->wait_s)
			t->wait_s = ra;
		wait = ra > 0 ? ra : (int64_t)2 << (try - 1);
		if (!transient(err) || try >= PIECE_TRIES ||
		    wait > PIECE_WAIT_MAX || mr_reap_stopping)
			return -1;
		mr_log_info("pass=transcribe rec=%s piece=%d action=retry "
		    "wait_s=%lld error=\"%s\"", t->job->recording_id,
		    p->index, (long long)wait, err->detail);
		nap(wait);
	}
	if (keep(t, p, &res, err) == -1)
		return -1;
	t->pieces++;
	mr_log_debug("pass=transcribe rec=%s piece=%d start=%.3f "
	    "duration=%.3f bytes=%llu segments=%zu", t->job->recording_id,
	    p->index, p->start, p->duration, (unsigned long long)p->bytes,
	    res.nsegs);
	rc = mr_db_tr_renew(rp->db, t->piece, t->job->recording_id,
	    rp->owner, rp->conf->cf_reaper_lease_seconds, err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		t->lost = 1;
		return mr_err_set(err, 409, "lease_lost", "Another reaper "
		    "took the transcription over.");
	}
	return 0;
}

static int
by_start(const void *a, const void *b)
{
	const struct mr_seg	*x = a, *y = b;

	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	if (x->end_ms != y->end_ms)
		return x->end_ms < y->end_ms ? -1 : 1;
	return 0;
}

/* Transcribe what t->job names into t; 0, or -1 with err. */
static int
transcribe(struct run *t, struct mr_audio_stats *stats, struct mr_err *err)
{
	struct mr_reaper	*rp = t->rp;
	struct mr_store_src	 ss;
	struct mr_store_stat	 sb;
	struct mr_src		 src;
	struct mr_audio_opts	 o;
	uint64_t		 size;
	int			 rc;

	if (t->job->size > 0)
		size = (uint64_t)t->job->size;
	else {
		if (mr_store_stat(&rp->store, t->piece, t->job->storage_path,
		    &sb, err) == -1)
			return -1;
		if (!sb.exists || sb.size <= 0)
			return mr_err_set(err, 422, "unreadable_media",
			    "The stored file is missing or empty.");
		size = (uint64_t)sb.size;
	}
	if (mr_store_src_open(&rp->store, t->job->storage_path, size, &ss,
	    &src, err) == -1)
		return -1;
	memset(&o, 0, sizeof(o));
	o.tmpdir = mr_asr_tmpdir(rp->conf);
	o.max_bytes = (uint64_t)rp->conf->cf_asr_max_bytes;
	rc = mr_audio_pieces(&src, &o, piece, t, stats, err);
	mr_store_src_close(&ss);
	return rc;
}

/* One claimed transcription; -1 only on a database error. */
static int
one(struct mr_reaper *rp, const struct mr_tr_job *job)
{
	struct run		 t;
	struct mr_audio_stats	 stats;
	struct mr_chapter	*ch = NULL;
	struct mr_err		 err;
	size_t			 nch = 0;
	int			 rc = 0, gave_up, final;

	memset(&t, 0, sizeof(t));
	memset(&stats, 0, sizeof(stats));
	t.rp = rp;
	t.job = job;
	if ((t.arena = mr_arena_new(RUN_ARENA)) == NULL ||
	    (t.piece = mr_arena_new(PIECE_ARENA)) == NULL) {
		mr_log_warnx("pass=transcribe rec=%s out of memory",
		    job->recording_id);
		goto done;
	}
	mr_err_clear(&err);
	if (transcribe(&t, &stats, &err) == 0) {
		qsort(t.segs, t.nsegs, sizeof(*t.segs), by_start);
		if (mr_chapters(t.arena, t.segs, t.nsegs, &ch, &nch) == -1) {
			oom(&err);
			goto failed;
		}
		rc = mr_db_tr_save(rp->db, t.arena, job->recording_id,
		    rp->owner, t.language != NULL ? t.language :
		    job->language, stats.seconds, t.segs, t.nsegs, ch, nch,
		    &err);
		if (rc == 1)
			mr_log_info("pass=transcribe rec=%s action=done "
			    "seconds=%.1f pieces=%d segments=%zu chapters=%zu "
			    "bytes_read=%llu", job->recording_id,
			    stats.seconds, t.pieces, t.nsegs, nch,
			    (unsigned long long)stats.bytes_read);
		else if (rc == 0)
			mr_log_warnx("pass=transcribe rec=%s action=lease_lost",
			    job->recording_id);
		rc = rc == -1 ? -1 : 0;
		goto done;
	}
failed:
	if (t.lost) {
		mr_log_warnx("pass=transcribe rec=%s action=lease_lost",
		    job->recording_id);
		goto done;
	}
	/* Stopped half-way: given back for the next reaper, no attempt. */
	if (mr_reap_stopping) {
		rc = mr_db_tr_release(rp->db, t.piece, job->recording_id,
		    rp->owner, &err);
		mr_log_info("pass=transcribe rec=%s action=given_back",
		    job->recording_id);
		rc = rc == -1 ? -1 : 0;
		goto done;
	}
	if (err.status == 503 && strcmp(err.code, "db_unavailable") == 0) {
		rc = -1;
		goto done;
	}
	final = !transient(&err) && strcmp(err.code, "internal") != 0;
	if (err.status == 413)
		mr_err_set(&err, 413, "asr_too_large", "The speech-to-text "
		    "server refused a piece of at most %lld bytes as too "
		    "large: lower asr_max_bytes.",
		    (long long)rp->conf->cf_asr_max_bytes);
	rp->failures++;
	rc = mr_db_tr_failed(rp->db, t.piece, job->recording_id, rp->owner,
	    err.detail, rp->conf->cf_asr_max_attempts,
	    rp->conf->cf_asr_backoff_seconds, t.wait_s, final, &gave_up,
	    &err);
	mr_log_warnx("pass=transcribe rec=%s action=%s attempt=%lld "
	    "error=\"%s\"%s%s", job->recording_id, gave_up ? "failed" :
	    "retry_later", (long long)job->attempts + 1, err.detail,
	    err.cause[0] ? " cause=" : "", err.cause);
	rc = rc == -1 ? -1 : 0;
done:
	mr_arena_free(t.piece);
	mr_arena_free(t.arena);
	return rc;
}

/*
 * Remove the pieces a reaper killed while it sent them left behind
 * (audio.c names them meetrec-audio-*.wav): a day old, no reaper still
 * has them in hand.
 */
static void
sweep(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 sb;
	time_t		 old = time(NULL) - SWEEP_AGE;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "meetrec-audio-", 14) != 0 ||
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
		    sb.st_mtime > old)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			mr_log_info("pass=transcribe removed=%s/%s "
			    "reason=left_behind", dir, e->d_name);
	}
	closedir(d);
}

int
mr_reap_transcribe(struct mr_reaper *rp, int limit)
{
	struct mr_tr_job	*jobs;
	struct mr_err		 err;
	int			 done = 0, n;

	if (rp->conf->cf_asr_url == NULL)
		return 0;
	sweep(mr_asr_tmpdir(rp->conf));
	while (done < limit && !mr_reap_stopping) {
		mr_arena_reset(rp->batch);
		mr_err_clear(&err);
		n = mr_db_tr_claim(rp->db, rp->batch, rp->owner,
		    rp->conf->cf_reaper_lease_seconds, 1, &jobs, &err);
		if (n == -1) {
			mr_log_warnx("pass=transcribe could not claim: %s",
			    err.cause[0] ? err.cause : err.detail);
			return -1;
		}
		if (n == 0)
			break;
		mr_log_info("pass=transcribe rec=%s action=start attempt=%lld",
		    jobs[0].recording_id, (long long)jobs[0].attempts + 1);
		if (one(rp, &jobs[0]) == -1)
			return -1;
		done++;
	}
	return done;
}
