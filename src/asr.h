/* SPDX-License-Identifier: ISC */
/*
 * asr.h - a speech-to-text client for the API the servers our users run
 * speak: OpenAI's POST /v1/audio/transcriptions (multipart/form-data:
 * file, model, language, response_format = verbose_json), as served by
 * OpenAI, whisper.cpp's server, faster-whisper servers, LocalAI and vLLM
 * (doc/asr.md says how they differ).
 */
#ifndef MR_ASR_H
#define MR_ASR_H

#include <stddef.h>

#include "mr.h"

struct mr_conf;

/* A timed piece of text, in seconds from the start of the file sent. */
struct mr_asr_seg {
	double	 start;
	double	 end;
	char	*text;		/* UTF-8, trimmed, never empty */
};

struct mr_asr_result {
	struct mr_asr_seg	*segs;		/* in the arena */
	size_t			 nsegs;
	char			*language;	/* as the server named it, or
						   NULL */
	double			 duration;	/* seconds, or 0 */
};

/*
 * Send the WAV file at path to conf's asr_url and read its segments.
 * Returns 0, or -1 with err:
 *   429 "asr_rate_limited"  (err->detail says so; *retry_after the
 *                            seconds the server asked for, or 0)
 *   413 "asr_too_large"     the server refused the piece's size
 *   502 "asr_unavailable"   5xx, a reset, a timeout: worth a retry
 *   502 "asr_bad_answer"    an answer that is not verbose_json
 *   4xx "asr_refused"       any other 4xx (the server's message in
 *                           detail): not worth a retry
 *   500 "io_error"          the file
 * Besides: a file larger than asr_max_bytes is 413 "asr_too_large"
 * without a request; no asr_url is 500 "internal"; a 503's Retry-After
 * is put in *retry_after too.  retry_after may be NULL.  The segments,
 * the language and the strings live in arena a.
 */
int	mr_asr_transcribe(struct mr_arena *, const struct mr_conf *,
	    const char *path, struct mr_asr_result *, int *retry_after,
	    struct mr_err *err);

/*
 * Parse a verbose_json answer (also the fuzz target's entry): segments
 * with start <= end, both finite and >= 0, text trimmed; segments whose
 * text is empty are dropped.  Returns 0, or -1 with 502
 * "asr_bad_answer".
 * Besides: an answer without segments but with a text (a server that
 * ignored verbose_json) is one segment over [0, duration] (duration 0
 * when absent); texts must be UTF-8 without NUL bytes; times above 1e7
 * seconds, more than 1,000,000 segments, a segment's text over 64 KiB
 * or an answer over 16 MiB are refused; a duration may be a number or a
 * numeric string.  On -1, *result is zeroed.
 */
int	mr_asr_parse(struct mr_arena *, const char *body, size_t len,
	    struct mr_asr_result *, struct mr_err *err);

/*
 * Where the transcribe pass writes the piece it sends: asr_tmp_dir, else
 * $TMPDIR when it is absolute, else /var/tmp (private to the reaper
 * under its systemd unit).
 */
const char *mr_asr_tmpdir(const struct mr_conf *);

#endif /* MR_ASR_H */
