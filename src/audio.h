/* SPDX-License-Identifier: ISC */
/*
 * audio.h - the speech of a recording, ready for a speech-to-text server:
 * the audio track of an MP4 or Ogg file demuxed and decoded with FFmpeg's
 * libraries (libavformat, libavcodec), resampled to 16 kHz mono signed
 * 16-bit PCM (libswresample), and cut into WAV pieces of at most
 * max_bytes each, at the quietest moment near each limit.
 *
 * Streaming: the file is read through a struct mr_src (a file with
 * pread(2), an object with ranged GETs), a piece is written to a
 * temporary file and handed to the caller, then removed before the next
 * one is begun.  Memory stays flat whatever the length of the meeting.
 * FFmpeg's own log is silenced (av_log_set_level(), for the process);
 * a problem is logged once with mr_log, or returned in err.
 */
#ifndef MR_AUDIO_H
#define MR_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "mr.h"
#include "probe.h"

#define MR_AUDIO_RATE		16000	/* samples a second, mono */
#define MR_AUDIO_WAV_HEADER	44	/* bytes before the samples */
#define MR_AUDIO_QUIET_MAX	300	/* seconds: a longer quiet_window
					   is cut to this */

/* One piece, handed to the caller while its file exists. */
struct mr_audio_piece {
	int		 index;		/* 0, 1, ... */
	const char	*path;		/* WAV: RIFF, 16 kHz, mono, s16le */
	uint64_t	 bytes;		/* the file's size, header included */
	double		 start;		/* seconds on the recording's
					   timeline */
	double		 duration;	/* seconds of audio in the piece */
};

struct mr_audio_opts {
	const char	*tmpdir;	/* where pieces are written; NULL
					   is /tmp */
	uint64_t	 max_bytes;	/* a piece's largest size, at least
					   44 + 640 (20 ms) */
	double		 quiet_window;	/* seconds before the limit searched
					   for the quietest moment; 0 is
					   the default (30) */
};

struct mr_audio_stats {
	double		 seconds;	/* audio decoded */
	int		 pieces;
	uint64_t	 bytes_read;	/* from the source */
};

/*
 * Cut the audio of src into pieces and call fn for each, in order; fn
 * returns 0 to go on, or -1 with err set to stop (its error is
 * returned).  Returns 0, or -1 with err: 422 "unreadable_media" (no
 * audio track, a stream that cannot be decoded, a file the duration
 * probe refuses: cut short, damaged), 500 "io_error" (the temporary
 * files), 500 "internal" (out of memory, max_bytes too small), or the
 * source's own error.  stats may be NULL; it is filled on failure too,
 * with what was done until then.  Blocks on the source's reads (the
 * network, for an object in a store).
 */
int	mr_audio_pieces(const struct mr_src *src,
	    const struct mr_audio_opts *opts,
	    int (*fn)(void *arg, const struct mr_audio_piece *,
		struct mr_err *),
	    void *arg, struct mr_audio_stats *stats, struct mr_err *err);

#endif /* MR_AUDIO_H */
