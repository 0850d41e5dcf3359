/* SPDX-License-Identifier: ISC */
/*
 * audio.c - the audio track of a recording as WAV pieces of 16 kHz mono
 * speech for a speech-to-text server (audio.h).
 *
 * Reading: libavformat reads through a custom AVIOContext whose
 * read_packet and seek go to the struct mr_src, so an MP4 whose moov
 * comes after mdat is read with seeks, and an object in S3 with ranged
 * reads.  A failed read of the source is kept and becomes the error of
 * mr_audio_pieces(), whatever libavformat makes of it.  Only the MP4
 * family and Ogg demuxers are allowed.  Every stream but the best audio
 * one is discarded, so the demuxer skips the video's packets; libavformat
 * reads through a gap shorter than its buffer (256 KiB) rather than seek
 * over it, so an MP4 with a video track of modest bitrate is read whole,
 * in few large reads rather than in one ranged read per audio chunk.
 *
 * Checking: the file must first pass the duration probe (probe.h), which
 * refuses a file cut short or with bytes past its end, and an Ogg stream
 * without its last page, with a few bounded reads.
 *
 * Decoding: packets the decoder refuses are skipped and counted; a file
 * of which nothing decodes is 422, and so is one the demuxer cannot read
 * to its end (a read error other than the end of the file) or whose
 * index (MP4's sample table) places audio past the end of the source:
 * a file cut short.  The samples an MP4 track has past the end its edit
 * list declares (the last AAC frame's padding) are left out.
 * libswresample turns every frame into 16000 Hz mono signed 16-bit.
 *
 * The timeline: a piece's start is the time of the first decoded frame
 * (its pts, less the container's start time, so audio that begins after
 * the video begins late) plus the samples of the pieces before it over
 * 16000.  Samples are counted, not timestamps: a gap in the timestamps
 * after the first frame is not filled with silence.
 *
 * Cutting: a piece holds at most (max_bytes - 44) / 2 samples.  The last
 * quiet_window seconds of the piece (30 by default; the whole piece when
 * it is shorter) stay in memory, in a tail buffer, and older samples go
 * to the piece's file.  When the piece is full, the window is split into
 * frames of 20 ms, aligned on its end, and the energy (mean square) of
 * each is taken.  A frame is quiet below a threshold: four times the
 * tenth percentile of the window's energies, but no more than their
 * median, and no less than a floor of about -56 dBFS.  The piece is cut
 * in the middle of the longest run of quiet frames (the latest of equal
 * runs), or, when no frame is quiet, in the middle of the frame with the
 * least energy.  The samples after the cut begin the next piece.  Memory
 * is the tail buffer (twice the window) and FFmpeg's own, whatever the
 * length of the recording.
 *
 * Each piece is written to a mkstemps(3) file in opts->tmpdir, handed to
 * the caller, and unlinked whatever the caller answered.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "mr.h"
#include "audio.h"

#define AVIO_BUFSIZE	(256 * 1024)
#define PROBESIZE	(2 * 1024 * 1024)	/* bytes, find_stream_info */
#define ANALYZE_US	(10 * 1000 * 1000)	/* microseconds, ditto */
#define FRAME_SAMPLES	(MR_AUDIO_RATE / 50)	/* 20 ms */
#define QUIET_FLOOR	2500.0	/* mean square: RMS 50, about -56 dBFS */
#define QUIET_FACTOR	4.0	/* times the 10th percentile */
#define STAGE_SAMPLES	8192	/* samples converted per write(2) */
#define FORMATS		"mov,mp4,m4a,3gp,3g2,mj2,ogg"

/* The source as libavformat reads it. */
struct reader {
	const struct mr_src	*src;
	uint64_t		 pos;
	uint64_t		 bytes_read;
	int			 failed;	/* err holds the source's */
	struct mr_err		 err;
};

/* The piece being built, and the tail of it still in memory. */
struct cutter {
	const struct mr_audio_opts *opts;
	int		(*fn)(void *, const struct mr_audio_piece *,
			    struct mr_err *);
	void		*arg;
	size_t		 cap;		/* samples a piece may hold */
	size_t		 win;		/* samples searched for a cut */
	int16_t		*tail;		/* the piece's last samples */
	size_t		 tail_len;
	size_t		 tail_cap;	/* twice win, or cap when less */
	double		*energy;	/* one per frame of the window */
	double		*sorted;
	int		 fd;		/* the piece's file, or -1 */
	char		*path;
	uint64_t	 flushed;	/* samples of the piece in the file */
	uint64_t	 done;		/* samples of the pieces before */
	uint64_t	 total;		/* samples taken in */
	double		 t0;		/* the first frame's time */
	uint64_t	 limit;		/* samples the track declares */
	int		 index;
};

static void
av_quiet(void)
{
	static int	 once;

	if (!once) {
		av_log_set_level(AV_LOG_QUIET);
		once = 1;
	}
}

static int
read_packet(void *opaque, uint8_t *buf, int size)
{
	struct reader	*r = opaque;
	uint64_t	 left;
	size_t		 n;

	if (r->failed)
		return AVERROR(EIO);
	if (r->pos >= r->src->size || size <= 0)
		return AVERROR_EOF;
	left = r->src->size - r->pos;
	n = left < (uint64_t)size ? (size_t)left : (size_t)size;
	if (r->src->read(r->src->arg, (off_t)r->pos, buf, n, &r->err) == -1) {
		r->failed = 1;
		return AVERROR(EIO);
	}
	r->pos += n;
	r->bytes_read += n;
	return (int)n;
}

static int64_t
seek(void *opaque, int64_t offset, int whence)
{
	struct reader	*r = opaque;
	int64_t		 to;

	if (whence & AVSEEK_SIZE)
		return r->src->size > INT64_MAX ? AVERROR(EINVAL) :
		    (int64_t)r->src->size;
	switch (whence & ~AVSEEK_FORCE) {
	case SEEK_SET:
		to = offset;
		break;
	case SEEK_CUR:
		if (offset > INT64_MAX - (int64_t)r->pos)
			return AVERROR(EINVAL);
		to = (int64_t)r->pos + offset;
		break;
	case SEEK_END:
		if (offset > INT64_MAX - (int64_t)r->src->size)
			return AVERROR(EINVAL);
		to = (int64_t)r->src->size + offset;
		break;
	default:
		return AVERROR(EINVAL);
	}
	if (to < 0)
		return AVERROR(EINVAL);
	r->pos = (uint64_t)to;
	return to;
}

static int
io_error(struct mr_err *err, const char *what, const char *path)
{
	int	 saved = errno;

	mr_err_set(err, 500, "io_error",
	    "The audio could not be written to a temporary file.");
	return mr_err_cause(err, "%s '%s': %s", what, path, strerror(saved));
}

/* Append n samples to the piece's file, little-endian. */
static int
file_write(struct cutter *c, const int16_t *s, size_t n, struct mr_err *err)
{
	unsigned char	 stage[STAGE_SAMPLES * 2];
	size_t		 i, k, len, off;
	ssize_t		 w;

	while (n > 0) {
		k = n < STAGE_SAMPLES ? n : STAGE_SAMPLES;
		for (i = 0; i < k; i++) {
			stage[2 * i] = (unsigned char)((uint16_t)s[i] & 0xff);
			stage[2 * i + 1] = (unsigned char)((uint16_t)s[i] >> 8);
		}
		len = 2 * k;
		for (off = 0; off < len; off += (size_t)w) {
			w = write(c->fd, stage + off, len - off);
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w == -1)
				return io_error(err, "write", c->path);
		}
		s += k;
		n -= k;
		c->flushed += k;
	}
	return 0;
}

static void
put_le(unsigned char *p, uint32_t v, int bytes)
{
	int	 i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int
file_open(struct cutter *c, struct mr_err *err)
{
	unsigned char	 h[MR_AUDIO_WAV_HEADER];
	const char	*dir = c->opts->tmpdir != NULL ? c->opts->tmpdir :
			    "/tmp";
	size_t		 len;
	ssize_t		 w;

	len = strlen(dir) + sizeof("/meetrec-audio-XXXXXX.wav");
	if ((c->path = malloc(len)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	snprintf(c->path, len, "%s/meetrec-audio-XXXXXX.wav", dir);
	if ((c->fd = mkstemps(c->path, 4)) == -1) {
		io_error(err, "mkstemps", c->path);
		free(c->path);
		c->path = NULL;
		return -1;
	}
	memset(h, 0, sizeof(h));
	if ((w = write(c->fd, h, sizeof(h))) != (ssize_t)sizeof(h)) {
		if (w >= 0)
			errno = ENOSPC;
		return io_error(err, "write", c->path);
	}
	c->flushed = 0;
	return 0;
}

static void
file_remove(struct cutter *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (c->path != NULL)
		unlink(c->path);
	free(c->path);
	c->path = NULL;
}

/* The RIFF header of n samples: PCM, 1 channel, 16000 Hz, 16 bits. */
static int
file_header(struct cutter *c, uint64_t n, struct mr_err *err)
{
	unsigned char	 h[MR_AUDIO_WAV_HEADER];
	uint32_t	 data = (uint32_t)(2 * n);
	ssize_t		 w;

	memcpy(h, "RIFF", 4);
	put_le(h + 4, 36 + data, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);
	put_le(h + 20, 1, 2);			/* PCM */
	put_le(h + 22, 1, 2);			/* mono */
	put_le(h + 24, MR_AUDIO_RATE, 4);
	put_le(h + 28, 2 * MR_AUDIO_RATE, 4);	/* bytes a second */
	put_le(h + 32, 2, 2);			/* block align */
	put_le(h + 34, 16, 2);			/* bits */
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data, 4);
	if ((w = pwrite(c->fd, h, sizeof(h), 0)) != (ssize_t)sizeof(h)) {
		if (w >= 0)
			errno = ENOSPC;
		return io_error(err, "write", c->path);
	}
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Where to cut the tail: an index into it, at least 1, at most
 * tail_len.  The window is the tail's last min(win, tail_len) samples.
 */
static size_t
cut_point(struct cutter *c)
{
	size_t		 w, ws, nf, i, j, best_a, best_n, run_a, low;
	double		 e, thr, p10, med;
	const int16_t	*s;

	w = c->tail_len < c->win ? c->tail_len : c->win;
	nf = w / FRAME_SAMPLES;
	if (nf == 0)
		return c->tail_len;
	ws = c->tail_len - nf * FRAME_SAMPLES;
	for (i = 0; i < nf; i++) {
		s = c->tail + ws + i * FRAME_SAMPLES;
		e = 0;
		for (j = 0; j < FRAME_SAMPLES; j++)
			e += (double)s[j] * s[j];
		c->energy[i] = e / FRAME_SAMPLES;
		c->sorted[i] = c->energy[i];
	}
	qsort(c->sorted, nf, sizeof(double), cmp_double);
	p10 = c->sorted[nf / 10];
	med = c->sorted[nf / 2];
	thr = QUIET_FACTOR * p10;
	if (thr > med)
		thr = med;
	if (thr < QUIET_FLOOR)
		thr = QUIET_FLOOR;

	best_a = best_n = 0;
	run_a = 0;
	low = 0;
	for (i = 0; i <= nf; i++) {
		if (i < nf && c->energy[i] < c->energy[low])
			low = i;
		if (i < nf && c->energy[i] < thr) {
			if (i == 0 || c->energy[i - 1] >= thr)
				run_a = i;
			continue;
		}
		if (i > 0 && c->energy[i - 1] < thr && i - run_a >= best_n) {
			best_a = run_a;
			best_n = i - run_a;
		}
	}
	if (best_n == 0)
		return ws + low * FRAME_SAMPLES + FRAME_SAMPLES / 2;
	return ws + best_a * FRAME_SAMPLES + best_n * FRAME_SAMPLES / 2;
}

/*
 * Write the tail up to cut to the piece's file, complete its header,
 * hand the piece to the caller and remove the file.  The samples after
 * cut begin the next piece.
 */
static int
emit(struct cutter *c, size_t cut, struct mr_err *err)
{
	struct mr_audio_piece	 p;
	uint64_t		 n;
	int			 rc, fd;

	if (c->fd == -1 && file_open(c, err) == -1)
		goto fail;
	if (file_write(c, c->tail, cut, err) == -1)
		goto fail;
	n = c->flushed;
	if (file_header(c, n, err) == -1)
		goto fail;
	fd = c->fd;
	c->fd = -1;
	if (close(fd) == -1) {
		io_error(err, "close", c->path);
		goto fail;
	}

	memset(&p, 0, sizeof(p));
	p.index = c->index;
	p.path = c->path;
	p.bytes = MR_AUDIO_WAV_HEADER + 2 * n;
	p.start = c->t0 + (double)c->done / MR_AUDIO_RATE;
	p.duration = (double)n / MR_AUDIO_RATE;
	rc = c->fn(c->arg, &p, err);
	file_remove(c);
	if (rc == -1) {
		if (err->status == 0)
			mr_err_set(err, 500, "internal",
			    "The audio piece was refused.");
		return -1;
	}
	memmove(c->tail, c->tail + cut, (c->tail_len - cut) * sizeof(int16_t));
	c->tail_len -= cut;
	c->done += n;
	c->flushed = 0;
	c->index++;
	return 0;

fail:
	file_remove(c);
	return -1;
}

/* Take n samples into the piece, cutting it whenever it is full. */
static int
feed(struct cutter *c, const int16_t *s, size_t n, struct mr_err *err)
{
	size_t	 k, drop;

	while (n > 0) {
		if (c->flushed + c->tail_len >= c->cap) {
			if (emit(c, cut_point(c), err) == -1)
				return -1;
			continue;
		}
		if (c->tail_len == c->tail_cap) {
			drop = c->tail_len - c->win;
			if (c->fd == -1 && file_open(c, err) == -1)
				return -1;
			if (file_write(c, c->tail, drop, err) == -1)
				return -1;
			memmove(c->tail, c->tail + drop,
			    c->win * sizeof(int16_t));
			c->tail_len = c->win;
		}
		k = c->tail_cap - c->tail_len;
		if (k > c->cap - c->flushed - c->tail_len)
			k = c->cap - c->flushed - c->tail_len;
		if (k > n)
			k = n;
		memcpy(c->tail + c->tail_len, s, k * sizeof(int16_t));
		c->tail_len += k;
		c->total += k;
		s += k;
		n -= k;
	}
	return 0;
}

static int
cutter_init(struct cutter *c, const struct mr_audio_opts *opts,
    struct mr_err *err)
{
	double	 q;

	c->fd = -1;
	c->opts = opts;
	if (opts->max_bytes < MR_AUDIO_WAV_HEADER + 2 * FRAME_SAMPLES)
		return mr_err_set(err, 500, "internal", "The largest piece "
		    "must hold at least 20 ms of audio.");
	c->cap = (size_t)((opts->max_bytes - MR_AUDIO_WAV_HEADER) / 2);
	if (c->cap > UINT32_MAX / 2 - MR_AUDIO_WAV_HEADER)
		c->cap = UINT32_MAX / 2 - MR_AUDIO_WAV_HEADER;	/* RIFF */
	q = opts->quiet_window > 0 ? opts->quiet_window : 30;
	if (q > MR_AUDIO_QUIET_MAX)
		q = MR_AUDIO_QUIET_MAX;
	c->win = (size_t)(q * MR_AUDIO_RATE);
	if (c->win < FRAME_SAMPLES)
		c->win = FRAME_SAMPLES;
	if (c->win > c->cap)
		c->win = c->cap;
	c->tail_cap = c->cap / 2 <= c->win ? c->cap : 2 * c->win;
	c->tail = malloc(c->tail_cap * sizeof(int16_t));
	c->energy = calloc(c->win / FRAME_SAMPLES + 1, sizeof(double));
	c->sorted = calloc(c->win / FRAME_SAMPLES + 1, sizeof(double));
	if (c->tail == NULL || c->energy == NULL || c->sorted == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return 0;
}

/* Everything one run holds, released by job_free() on every path. */
struct job {
	struct reader		 rd;
	struct cutter		 c;
	AVIOContext		*avio;
	AVFormatContext		*fmt;
	AVCodecContext		*dec;
	SwrContext		*swr;
	AVChannelLayout		 in_layout;	/* what swr was made for */
	int			 in_format;
	int			 in_rate;
	AVPacket		*pkt;
	AVFrame			*frame;
	AVStream		*st;
	int16_t			*out;
	int			 out_cap;
	int16_t			 held[MR_AUDIO_RATE];	/* see take() */
	size_t			 held_len;
	int			 have_t0;
	int			 bad;		/* packets not decoded */
};

static void
job_free(struct job *j)
{
	av_frame_free(&j->frame);
	av_packet_free(&j->pkt);
	swr_free(&j->swr);
	av_channel_layout_uninit(&j->in_layout);
	avcodec_free_context(&j->dec);
	avformat_close_input(&j->fmt);
	if (j->avio != NULL) {
		av_freep(&j->avio->buffer);
		avio_context_free(&j->avio);
	}
	free(j->out);
	free(j->c.tail);
	free(j->c.energy);
	free(j->c.sorted);
	file_remove(&j->c);
}

/*
 * The error of a failed libav* call: the source's own error when a read
 * of it failed, else 422 with detail, the library's text in cause.
 */
static int
av_fail(struct job *j, int ret, struct mr_err *err, const char *detail)
{
	char	 msg[AV_ERROR_MAX_STRING_SIZE];

	if (j->rd.failed) {
		*err = j->rd.err;
		return -1;
	}
	if (ret == AVERROR(ENOMEM))
		return mr_err_set(err, 500, "internal", "Out of memory.");
	mr_err_set(err, 422, "unreadable_media", "%s", detail);
	av_strerror(ret, msg, sizeof(msg));
	return mr_err_cause(err, "%s", msg);
}

static int
open_input(struct job *j, struct mr_err *err)
{
	AVDictionary	*o = NULL;
	unsigned char	*buf;
	unsigned int	 i;
	int		 ret;

	if ((buf = av_malloc(AVIO_BUFSIZE)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	j->avio = avio_alloc_context(buf, AVIO_BUFSIZE, 0, &j->rd,
	    read_packet, NULL, seek);
	if (j->avio == NULL) {
		av_free(buf);
		return mr_err_set(err, 500, "internal", "Out of memory.");
	}
	if ((j->fmt = avformat_alloc_context()) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	j->fmt->pb = j->avio;
	j->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	j->fmt->probesize = PROBESIZE;
	j->fmt->max_analyze_duration = ANALYZE_US;
	if (av_dict_set(&o, "format_whitelist", FORMATS, 0) < 0)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	ret = avformat_open_input(&j->fmt, NULL, NULL, &o);
	av_dict_free(&o);
	if (ret < 0)
		return av_fail(j, ret, err,
		    "The recording is neither MP4 nor Ogg, or is damaged.");
	/* Only audio is looked at: the demuxer skips the rest. */
	for (i = 0; i < j->fmt->nb_streams; i++)
		if (j->fmt->streams[i]->codecpar->codec_type !=
		    AVMEDIA_TYPE_AUDIO)
			j->fmt->streams[i]->discard = AVDISCARD_ALL;
	if ((ret = avformat_find_stream_info(j->fmt, NULL)) < 0)
		return av_fail(j, ret, err,
		    "The streams of the recording could not be read.");
	return 0;
}

static int
open_decoder(struct job *j, struct mr_err *err)
{
	const AVCodec	*codec = NULL;
	unsigned int	 i;
	int		 si, ret;

	si = av_find_best_stream(j->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec,
	    0);
	if (si == AVERROR_STREAM_NOT_FOUND && j->fmt->nb_streams == 0)
		return mr_err_set(err, 422, "unreadable_media",
		    "The recording holds no streams: it is damaged or cut "
		    "short.");
	if (si == AVERROR_STREAM_NOT_FOUND)
		return mr_err_set(err, 422, "unreadable_media",
		    "The recording has no audio track.");
	if (si == AVERROR_DECODER_NOT_FOUND) {
		si = av_find_best_stream(j->fmt, AVMEDIA_TYPE_AUDIO, -1, -1,
		    NULL, 0);
		return mr_err_set(err, 422, "unreadable_media",
		    "The audio track's codec (%s) cannot be decoded.",
		    si >= 0 ? avcodec_get_name(
		    j->fmt->streams[si]->codecpar->codec_id) : "unknown");
	}
	if (si < 0)
		return av_fail(j, si, err,
		    "The audio track of the recording could not be found.");
	for (i = 0; i < j->fmt->nb_streams; i++)
		if ((int)i != si)
			j->fmt->streams[i]->discard = AVDISCARD_ALL;
	j->st = j->fmt->streams[si];
	if ((j->dec = avcodec_alloc_context3(codec)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((ret = avcodec_parameters_to_context(j->dec,
	    j->st->codecpar)) < 0)
		return av_fail(j, ret, err,
		    "The audio track's parameters are not valid.");
	j->dec->pkt_timebase = j->st->time_base;
	j->dec->thread_count = 1;
	if ((ret = avcodec_open2(j->dec, codec, NULL)) < 0)
		return av_fail(j, ret, err,
		    "The audio track could not be decoded.");
	if ((j->pkt = av_packet_alloc()) == NULL ||
	    (j->frame = av_frame_alloc()) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return 0;
}

/*
 * Resampled samples into the cutter, up to the end the track declares.
 * Past it they are held back: up to MR_AUDIO_RATE of them are padding
 * and left out at the end, more mean the declared end was wrong (a
 * fragmented file's first fragment, say) and everything goes in.
 */
static int
take(struct job *j, const int16_t *s, size_t n, struct mr_err *err)
{
	size_t	 k = n;

	if (j->c.limit != UINT64_MAX) {
		if (j->c.total < j->c.limit && k > j->c.limit - j->c.total)
			k = (size_t)(j->c.limit - j->c.total);
		else if (j->c.total >= j->c.limit)
			k = 0;
	}
	if (k > 0 && feed(&j->c, s, k, err) == -1)
		return -1;
	s += k;
	n -= k;
	if (n == 0)
		return 0;
	if (j->held_len + n <= MR_AUDIO_RATE) {
		memcpy(j->held + j->held_len, s, n * sizeof(int16_t));
		j->held_len += n;
		return 0;
	}
	j->c.limit = UINT64_MAX;
	if (feed(&j->c, j->held, j->held_len, err) == -1)
		return -1;
	j->held_len = 0;
	return feed(&j->c, s, n, err);
}

/*
 * Run samples through the resampler into the cutter: a frame, or NULL
 * to drain what the resampler holds.
 */
static int
resample(struct job *j, const AVFrame *f, struct mr_err *err)
{
	uint8_t		*planes[1];
	const uint8_t	**in = NULL;
	void		*data;
	int16_t		*p;
	int		 want, got;

	if (f != NULL) {
		data = f->extended_data;
		in = data;
	}

	for (;;) {
		want = swr_get_out_samples(j->swr, f != NULL ?
		    f->nb_samples : 0);
		if (want < 0)
			return av_fail(j, want, err,
			    "The audio could not be resampled.");
		if (want == 0 && f == NULL)
			return 0;
		if (want + 32 > j->out_cap) {
			p = realloc(j->out, (size_t)(want + 32) *
			    sizeof(int16_t));
			if (p == NULL)
				return mr_err_set(err, 500, "internal",
				    "Out of memory.");
			j->out = p;
			j->out_cap = want + 32;
		}
		planes[0] = (uint8_t *)j->out;
		got = swr_convert(j->swr, planes, j->out_cap,
		    in, f != NULL ? f->nb_samples : 0);
		if (got < 0)
			return av_fail(j, got, err,
			    "The audio could not be resampled.");
		if (got > 0 && take(j, j->out, (size_t)got, err) == -1)
			return -1;
		if (f != NULL || got == 0)
			return 0;
	}
}

/* A resampler for the frame's format, draining the one before it. */
static int
setup_swr(struct job *j, const AVFrame *f, struct mr_err *err)
{
	AVChannelLayout	 mono = AV_CHANNEL_LAYOUT_MONO;
	AVChannelLayout	 in;
	int		 ret;

	if (j->swr != NULL && f->format == j->in_format &&
	    f->sample_rate == j->in_rate &&
	    av_channel_layout_compare(&f->ch_layout, &j->in_layout) == 0)
		return 0;
	if (j->swr != NULL && resample(j, NULL, err) == -1)
		return -1;
	swr_free(&j->swr);
	av_channel_layout_uninit(&j->in_layout);
	if ((ret = av_channel_layout_copy(&j->in_layout, &f->ch_layout)) < 0)
		return av_fail(j, ret, err, "The audio could not be read.");
	j->in_format = f->format;
	j->in_rate = f->sample_rate;
	memset(&in, 0, sizeof(in));
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&in, f->ch_layout.nb_channels);
	else if ((ret = av_channel_layout_copy(&in, &f->ch_layout)) < 0)
		return av_fail(j, ret, err, "The audio could not be read.");
	ret = swr_alloc_set_opts2(&j->swr, &mono, AV_SAMPLE_FMT_S16,
	    MR_AUDIO_RATE, &in, f->format, f->sample_rate, 0, NULL);
	av_channel_layout_uninit(&in);
	if (ret < 0 || (ret = swr_init(j->swr)) < 0)
		return av_fail(j, ret, err,
		    "The audio's format cannot be resampled.");
	return 0;
}

/* A read of the source for the duration probe, counted. */
static int
probe_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	struct reader	*r = arg;

	if (r->src->read(r->src->arg, off, buf, len, err) == -1)
		return -1;
	r->bytes_read += len;
	return 0;
}

/*
 * An MP4 track says how long it is (its edit list): the samples the
 * last AAC frame has past that end are padding and are left out.
 */
static void
set_limit(struct job *j)
{
	double	 end;

	if (strncmp(j->fmt->iformat->name, "mov,", 4) != 0 ||
	    j->st->duration == AV_NOPTS_VALUE || j->st->duration <= 0)
		return;
	end = (double)j->st->duration * av_q2d(j->st->time_base);
	if (j->st->start_time != AV_NOPTS_VALUE)
		end += (double)j->st->start_time * av_q2d(j->st->time_base);
	if (j->fmt->start_time != AV_NOPTS_VALUE)
		end -= (double)j->fmt->start_time / AV_TIME_BASE;
	end -= j->c.t0;
	if (end > 0)
		j->c.limit = (uint64_t)(end * MR_AUDIO_RATE + 0.5);
}

/*
 * A file cut short: the demuxer's index (MP4's sample table) places
 * audio past the end of the source.
 */
static int
check_index(struct job *j, struct mr_err *err)
{
	const AVIndexEntry	*e;
	int			 i, n;

	n = avformat_index_get_entries_count(j->st);
	for (i = 0; i < n; i++) {
		e = avformat_index_get_entry(j->st, i);
		if (e != NULL && e->size > 0 && e->pos >= 0 &&
		    (uint64_t)e->pos + (uint64_t)e->size > j->rd.src->size) {
			mr_err_set(err, 422, "unreadable_media", "The "
			    "recording is cut short: its audio goes on past "
			    "the end of the file.");
			return mr_err_cause(err, "sample %d at %lld, %d bytes, "
			    "file %llu bytes", i, (long long)e->pos, e->size,
			    (unsigned long long)j->rd.src->size);
		}
	}
	return 0;
}

/* Take every frame the decoder has ready. */
static int
drain(struct job *j, struct mr_err *err)
{
	int64_t		 ts;
	double		 t0;
	int		 ret;

	for (;;) {
		ret = avcodec_receive_frame(j->dec, j->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret == AVERROR(ENOMEM))
			return av_fail(j, ret, err, "Out of memory.");
		if (ret < 0) {
			j->bad++;
			return 0;
		}
		if (j->frame->nb_samples <= 0 || j->frame->sample_rate <= 0 ||
		    j->frame->ch_layout.nb_channels <= 0) {
			av_frame_unref(j->frame);
			continue;
		}
		if (!j->have_t0) {
			ts = j->frame->best_effort_timestamp;
			if (ts == AV_NOPTS_VALUE)
				ts = j->frame->pts;
			t0 = ts == AV_NOPTS_VALUE ? 0 :
			    (double)ts * av_q2d(j->st->time_base);
			if (j->fmt->start_time != AV_NOPTS_VALUE)
				t0 -= (double)j->fmt->start_time / AV_TIME_BASE;
			j->c.t0 = t0 > 0 ? t0 : 0;
			j->have_t0 = 1;
			set_limit(j);
		}
		ret = setup_swr(j, j->frame, err);
		if (ret == 0)
			ret = resample(j, j->frame, err);
		av_frame_unref(j->frame);
		if (ret == -1)
			return -1;
	}
}

int
mr_audio_pieces(const struct mr_src *src, const struct mr_audio_opts *opts,
    int (*fn)(void *arg, const struct mr_audio_piece *, struct mr_err *),
    void *arg, struct mr_audio_stats *stats, struct mr_err *err)
{
	struct job	 j;
	struct mr_src	 probe;
	double		 seconds;
	int		 ret, rc = -1;

	memset(&j, 0, sizeof(j));
	j.c.fd = -1;
	j.rd.src = src;
	j.c.fn = fn;
	j.c.arg = arg;
	j.c.limit = UINT64_MAX;
	av_quiet();
	if (cutter_init(&j.c, opts, err) == -1)
		goto done;
	probe.read = probe_read;
	probe.arg = &j.rd;
	probe.size = src->size;
	if (mr_probe_duration_src(&probe, &seconds, err) == -1)
		goto done;
	if (open_input(&j, err) == -1 || open_decoder(&j, err) == -1 ||
	    check_index(&j, err) == -1)
		goto done;

	for (;;) {
		ret = av_read_frame(j.fmt, j.pkt);
		if (ret == AVERROR_EOF && !j.rd.failed)
			break;
		if (ret < 0) {
			av_fail(&j, ret, err, "The recording is damaged: "
			    "it could not be read to its end.");
			goto done;
		}
		if (j.pkt->stream_index != j.st->index) {
			av_packet_unref(j.pkt);
			continue;
		}
		ret = avcodec_send_packet(j.dec, j.pkt);
		av_packet_unref(j.pkt);
		if (ret == AVERROR(ENOMEM)) {
			av_fail(&j, ret, err, "Out of memory.");
			goto done;
		}
		if (ret < 0)
			j.bad++;
		if (drain(&j, err) == -1)
			goto done;
	}
	if ((ret = avcodec_send_packet(j.dec, NULL)) < 0 &&
	    ret != AVERROR_EOF)
		j.bad++;
	if (drain(&j, err) == -1)
		goto done;
	if (j.swr != NULL && resample(&j, NULL, err) == -1)
		goto done;
	if (j.bad > 0)
		mr_log_info("audio skipped=%d packets that did not decode, "
		    "decoded=%.3fs", j.bad,
		    (double)j.c.total / MR_AUDIO_RATE);
	if (j.c.total == 0) {
		mr_err_set(err, 422, "unreadable_media", "No audio could be "
		    "decoded from the recording.");
		mr_err_cause(err, "%d packets did not decode", j.bad);
		goto done;
	}
	if ((j.c.tail_len > 0 || j.c.fd != -1) &&
	    emit(&j.c, j.c.tail_len, err) == -1)
		goto done;
	rc = 0;

done:
	if (stats != NULL) {
		stats->seconds = (double)j.c.total / MR_AUDIO_RATE;
		stats->pieces = j.c.index;
		stats->bytes_read = j.rd.bytes_read;
	}
	job_free(&j);
	return rc;
}
