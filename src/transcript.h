/* SPDX-License-Identifier: ISC */
/*
 * transcript.h - what is made of a recording's timed text: chapters (the
 * transcript split where the talk pauses or the topic shifts, each titled
 * from its own words), WebVTT captions and plain text.  Pure functions of
 * the segments: no I/O, deterministic.
 */
#ifndef MR_TRANSCRIPT_H
#define MR_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "mr.h"

/* A segment on the recording's timeline, in milliseconds. */
struct mr_seg {
	int64_t		 start_ms;
	int64_t		 end_ms;
	const char	*text;		/* UTF-8 */
};

struct mr_chapter {
	int64_t		 start_ms;
	size_t		 first;		/* index of its first segment */
	char		*title;		/* UTF-8, in the arena */
};

/*
 * Chapters of n segments (sorted by start): the method is documented in
 * transcript.c and meetrec(7).  Returns 0 with *out (in the arena) and
 * *nout, at least one chapter when n > 0, or -1 when out of memory.
 */
int	mr_chapters(struct mr_arena *, const struct mr_seg *, size_t n,
	    struct mr_chapter **out, size_t *nout);

/* WebVTT of n segments: "WEBVTT", then one cue a segment.  -1 on ENOMEM. */
/*
 * A segment whose text is empty once cleaned (control characters as
 * spaces, bad UTF-8 as U+FFFD) gets no cue; times are made valid (not
 * negative, starts never going back, ends after starts).  On -1 the
 * buffer may hold a part of the file.
 */
int	mr_vtt_write(struct mr_buf *, const struct mr_seg *, size_t n);

/* Plain text: one "[hh:mm:ss] text" line a segment.  -1 on ENOMEM. */
/* Segments without text once cleaned get no line, as in the WebVTT. */
int	mr_transcript_txt(struct mr_buf *, const struct mr_seg *, size_t n);

#endif /* MR_TRANSCRIPT_H */
