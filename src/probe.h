/* SPDX-License-Identifier: ISC */
/*
 * probe.h - the duration of a recording, read from the file itself
 * (SPEC §4.4): MP4 from moov/mvhd, Ogg Opus or Vorbis from the granule
 * position of the last page.  LiveKit's FileInfo.duration is wall-clock
 * time and has been negative, so the reaper asks the file instead.  A
 * file the probe cannot read to its end (cut short, damaged) has no
 * duration: 422, never the duration of what it still holds.
 *
 * Every probe reads through a struct mr_src, of a file with pread(2)
 * only: the file offset of fd is left where it was, nothing is mapped,
 * and the bytes read are bounded (box
 * headers and one small payload for MP4; the first pages and at most
 * MR_OGG_WINDOW bytes at the end for Ogg) whatever the size of the file.
 * They do not allocate from an arena and do not block on the network.
 * Errors: 422 "unreadable_media" with a detail naming the problem, or 500
 * "io_error" when a read fails (errno text in err->cause).
 */
#ifndef MR_PROBE_H
#define MR_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mr.h"

/*
 * Where a probe reads: exactly len bytes at off, or -1 with err (422
 * "unreadable_media" when the source ends first, 500 or 502 when a read
 * fails).  size is the whole source's, known before it is read: a file's
 * from fstat(2), an object's from its store.  mr_src_fd() makes one of a
 * file descriptor, read with pread(2); reap_incoming.c one of an object
 * in S3, read with ranged GETs.
 */
struct mr_src {
	int		(*read)(void *arg, off_t off, void *buf, size_t len,
			    struct mr_err *err);
	void		*arg;
	uint64_t	 size;
};

/* probe.c */

/*
 * A source reading the regular file open on fd (*fdp must outlive it):
 * 0, or -1 as mr_probe_size().
 */
int	mr_src_fd(struct mr_src *, int *fdp, struct mr_err *err);
int	mr_src_read(const struct mr_src *, off_t off, void *buf, size_t len,
	    struct mr_err *err);
/* As mr_probe_duration(), from a source; an empty one is 422. */
int	mr_probe_duration_src(const struct mr_src *, double *seconds,
	    struct mr_err *err);

/*
 * Pick the probe by magic bytes: an "ftyp" or "moov" box first means
 * MP4, "OggS" means Ogg.  Anything else is 422 "unreadable_media".
 */
int	mr_probe_duration(int fd, double *seconds, struct mr_err *err);

/*
 * Read exactly len bytes at off with pread(2), retrying short reads and
 * EINTR.  Returns 0, or -1 with err 500 "io_error" (read error) or 422
 * "unreadable_media" (the file ended first: it shrank under us).
 */
int	mr_probe_read(int fd, off_t off, void *buf, size_t len,
	    struct mr_err *err);

/*
 * The size of the regular file open on fd, which must not be empty.
 * Returns 0, or -1 with err 422 "unreadable_media" (empty, not a regular
 * file) or 500 "io_error" (fstat failed).
 */
int	mr_probe_size(int fd, uint64_t *size, struct mr_err *err);

/* Set err to 422 "unreadable_media" with a formatted detail; returns -1. */
int	mr_probe_unreadable(struct mr_err *err, const char *fmt, ...)
	    MR_PRINTF(2, 3);

/* mp4.c */

#define MR_MP4_MAX_BOXES	100000	/* boxes walked before giving up */

/*
 * Duration in seconds of the MP4 (ISO BMFF) file open on fd: moov/mvhd
 * duration / timescale.  A fragmented file whose mvhd says 0 takes the
 * duration from moov/mvex/mehd instead.  The top level must cover the
 * file exactly, so a truncated file is refused even when its moov is
 * intact.  moov may come after mdat: media data is skipped by its size
 * (32-bit, 64-bit largesize, or 0 = to the end of the file) and never
 * read.  Returns 0 with *seconds set, or -1 with err 422
 * "unreadable_media" (no moov, no mvhd, zero timescale, unknown duration,
 * a box size that overruns its parent or the file, a truncated file, more
 * than MR_MP4_MAX_BOXES boxes, ...) or 500 "io_error".
 */
int	mr_mp4_duration(int fd, double *seconds, struct mr_err *err);
int	mr_mp4_duration_src(const struct mr_src *, double *seconds,
	    struct mr_err *err);

/* ogg.c */

#define MR_OGG_CHUNK	(64 * 1024)	/* one read of the backward scan */
#define MR_OGG_WINDOW	(4 * MR_OGG_CHUNK)	/* how far back it looks */

/*
 * Duration of an Ogg Opus (or Vorbis) file: the granule position of the
 * last page of the first logical stream, minus the Opus pre-skip from
 * OpusHead, over 48000 (Vorbis: over the sample rate from its
 * identification header).  The last pages are found by scanning
 * backwards from the end in MR_OGG_CHUNK reads (at most MR_OGG_WINDOW
 * bytes) for "OggS" with a valid CRC.  Only a whole file has a duration:
 * from that page to the last byte the file must be an unbroken run of
 * whole pages with matching CRCs, and the last page of every stream begun
 * on the first pages (up to 16 multiplexed streams), and of any other
 * stream in that run, must carry the end-of-stream flag.  So a file cut
 * short, at a page boundary or inside a page, or with bytes after its
 * end, is refused, and so is one whose other stream ended before the
 * window.  The scan gives up once it has run 1 MiB of candidate pages
 * through the CRC.  Returns 0 with *seconds set, or -1 with err 422
 * "unreadable_media" (bad first page, unknown codec, a stream that stops
 * without its end-of-stream page, bytes that are not whole pages, no
 * usable page in the window, ...), 500 "io_error", or 500 "internal" when
 * the window buffer cannot be allocated.
 */
int	mr_ogg_duration(int fd, double *seconds, struct mr_err *err);
int	mr_ogg_duration_src(const struct mr_src *, double *seconds,
	    struct mr_err *err);

#endif /* MR_PROBE_H */
