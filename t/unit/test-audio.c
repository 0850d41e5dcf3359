/* SPDX-License-Identifier: ISC */
/*
 * test-audio.c - mr_audio_pieces() on the fixtures of t/fixtures/ (2 s of
 * 440 Hz AAC in MP4, moov first and last; 2.5 s of Opus and 1.5 s of
 * Vorbis in Ogg): the pieces add up to the file's duration, their WAV
 * headers are right, none is larger than max_bytes, and small pieces
 * follow each other without a gap.  Tone bursts on silence, encoded here
 * to Ogg Opus, are cut between bursts, and with a short quiet_window
 * near each limit; silence alone still gives pieces.  Refusals: garbage,
 * MP4 files cut short, a file with video only, an MP4 whose audio
 * samples are all garbage, an empty source.  The caller's error stops
 * the run and the piece's file is removed; a source whose reads fail
 * gives its own error.  The files written here go to a folder in
 * $TMPDIR, and no piece's file may be left there.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "mr.h"
#include "audio.h"
#include "probe.h"
#include "tap.h"

#define MAX_PIECES	64

static char	 tmpdir[4096];

/* A source in memory that can fail on a read past fail_at. */
struct mem {
	unsigned char	*p;
	size_t		 len;
	int64_t		 fail_at;	/* < 0: never */
	int		 reads;
};

/* What the callback saw. */
struct seen {
	int		 n;
	struct mr_audio_piece p[MAX_PIECES];
	char		 path[MAX_PIECES][4096];
	int		 header_ok[MAX_PIECES];
	int64_t		 file_size[MAX_PIECES];
	int		 stop_at;	/* return -1 at this index, or -1 */
};

static int
mem_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	struct mem	*m = arg;

	m->reads++;
	if (m->fail_at >= 0 && (int64_t)off + (int64_t)len > m->fail_at)
		return mr_err_set(err, 502, "storage_error",
		    "The storage did not answer.");
	if ((uint64_t)off + len > m->len)
		return mr_err_set(err, 422, "unreadable_media", "past the end");
	memcpy(buf, m->p + off, len);
	return 0;
}

static void
mem_src(struct mr_src *src, struct mem *m)
{
	memset(src, 0, sizeof(*src));
	src->read = mem_read;
	src->arg = m;
	src->size = m->len;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The 44 bytes audio.h promises, for a file of size bytes. */
static int
wav_ok(const unsigned char *h, int64_t size)
{
	return memcmp(h, "RIFF", 4) == 0 && le32(h + 4) == size - 8 &&
	    memcmp(h + 8, "WAVEfmt ", 8) == 0 && le32(h + 16) == 16 &&
	    le16(h + 20) == 1 && le16(h + 22) == 1 &&
	    le32(h + 24) == MR_AUDIO_RATE &&
	    le32(h + 28) == 2 * MR_AUDIO_RATE &&
	    le16(h + 32) == 2 && le16(h + 34) == 16 &&
	    memcmp(h + 36, "data", 4) == 0 && le32(h + 40) == size - 44;
}

static int
collect(void *arg, const struct mr_audio_piece *p, struct mr_err *err)
{
	struct seen	*s = arg;
	unsigned char	 h[MR_AUDIO_WAV_HEADER];
	struct stat	 st;
	int		 fd, i = s->n;

	if (i >= MAX_PIECES)
		return mr_err_set(err, 500, "internal", "too many pieces");
	s->p[i] = *p;
	snprintf(s->path[i], sizeof(s->path[i]), "%s", p->path);
	s->p[i].path = s->path[i];
	s->file_size[i] = -1;
	if ((fd = open(p->path, O_RDONLY)) != -1) {
		if (fstat(fd, &st) == 0)
			s->file_size[i] = st.st_size;
		s->header_ok[i] = read(fd, h, sizeof(h)) ==
		    (ssize_t)sizeof(h) && wav_ok(h, st.st_size);
		close(fd);
	}
	s->n++;
	if (i == s->stop_at)
		return mr_err_set(err, 503, "asr_unavailable",
		    "The speech server is busy.");
	return 0;
}

static int
load(const char *path, struct mem *m)
{
	struct stat	 st;
	int		 fd;

	memset(m, 0, sizeof(*m));
	m->fail_at = -1;
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || (m->p = malloc((size_t)st.st_size)) ==
	    NULL || read(fd, m->p, (size_t)st.st_size) != st.st_size) {
		close(fd);
		return -1;
	}
	m->len = (size_t)st.st_size;
	close(fd);
	return 0;
}

static const char *
fixture(const char *name)
{
	static char	 path[4096];
	const char	*src = getenv("MEETREC_SRCDIR");
	const char	*dirs[] = { src, ".", "../.." };
	size_t		 i;

	for (i = 0; i < MR_NELEM(dirs); i++) {
		if (dirs[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/t/fixtures/%s", dirs[i], name);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

static int
run_window(const struct mr_src *src, uint64_t max_bytes, double window,
    struct seen *s, struct mr_audio_stats *st, struct mr_err *err)
{
	struct mr_audio_opts	 o;

	memset(&o, 0, sizeof(o));
	o.tmpdir = tmpdir;
	o.max_bytes = max_bytes;
	o.quiet_window = window;
	mr_err_clear(err);
	return mr_audio_pieces(src, &o, collect, s, st, err);
}

static int
run(const struct mr_src *src, uint64_t max_bytes, struct seen *s,
    struct mr_audio_stats *st, struct mr_err *err)
{
	return run_window(src, max_bytes, 0, s, st, err);
}

/* No piece's file (meetrec-audio-*) is left in tmpdir. */
static int
tmpdir_empty(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(tmpdir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "meetrec-audio-", 14) == 0)
			n++;
	closedir(d);
	return n == 0;
}

static void
pieces_ok(const char *name, const struct seen *s, uint64_t max_bytes,
    double want, int several)
{
	double	 sum = 0, gap = 0;
	int	 i, hdr = 1, size = 1, small = 1, idx = 1;

	for (i = 0; i < s->n; i++) {
		sum += s->p[i].duration;
		hdr &= s->header_ok[i];
		size &= s->file_size[i] == (int64_t)s->p[i].bytes &&
		    s->p[i].bytes == MR_AUDIO_WAV_HEADER + 2 *
		    (uint64_t)(s->p[i].duration * MR_AUDIO_RATE + 0.5);
		small &= s->p[i].bytes <= max_bytes;
		idx &= s->p[i].index == i;
		if (i > 0) {
			double	 d = s->p[i].start - (s->p[i - 1].start +
			    s->p[i - 1].duration);

			if (d < 0)
				d = -d;
			if (d > gap)
				gap = d;
		}
	}
	ok(sum > want - 0.05 && sum < want + 0.05, "%s: %d pieces, %.4f s "
	    "(want %.3f +- 0.05)", name, s->n, sum, want);
	ok(s->n > 0 && s->p[0].start < 0.05, "%s: the first piece starts at "
	    "%.4f", name, s->n > 0 ? s->p[0].start : -1);
	ok(hdr, "%s: every WAV header right", name);
	ok(size, "%s: sizes: file, bytes and duration agree", name);
	ok(small, "%s: no piece over %llu bytes", name,
	    (unsigned long long)max_bytes);
	ok(idx, "%s: indexes 0, 1, ...", name);
	if (several) {
		ok(s->n >= 3, "%s: several pieces (%d)", name, s->n);
		ok(gap <= 1.0 / MR_AUDIO_RATE, "%s: each starts where the one "
		    "before ended (largest gap %.6f s)", name, gap);
	}
	ok(tmpdir_empty(), "%s: the pieces' files are gone", name);
}

static void
fixtures(void)
{
	static const struct {
		const char	*name;
		double		 seconds;
	} fx[] = {
		{ "av-faststart.mp4", 2.0 },
		{ "av-moov-last.mp4", 2.0 },
		{ "opus.ogg", 2.5 },
		{ "vorbis.ogg", 1.5 },
	};
	struct mr_audio_stats	 st;
	struct mr_err		 err;
	struct mr_src		 src;
	struct seen		*s;
	const char		*path;
	uint64_t		 tiny = MR_AUDIO_WAV_HEADER + MR_AUDIO_RATE;
	size_t			 i;
	int			 fd, rc;

	s = calloc(1, sizeof(*s));
	for (i = 0; i < MR_NELEM(fx); i++) {
		if ((path = fixture(fx[i].name)) == NULL ||
		    (fd = open(path, O_RDONLY)) == -1) {
			ok(0, "fixture %s: not found (set MEETREC_SRCDIR)",
			    fx[i].name);
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->stop_at = -1;
		mr_err_clear(&err);
		rc = mr_src_fd(&src, &fd, &err);
		if (rc == 0)
			rc = run(&src, 1000000, s, &st, &err);
		if (!ok(rc == 0, "%s: decoded", fx[i].name))
			printf("# %d %s: %s (%s)\n", err.status, err.code,
			    err.detail, err.cause);
		pieces_ok(fx[i].name, s, 1000000, fx[i].seconds, 0);
		ok(s->n == 1 && st.pieces == 1, "%s: one piece when it fits",
		    fx[i].name);
		ok(st.seconds > fx[i].seconds - 0.05 &&
		    st.seconds < fx[i].seconds + 0.05 && st.bytes_read > 0 &&
		    st.bytes_read <= 2 * src.size + 65536,
		    "%s: stats %.4f s, %llu bytes read of %llu", fx[i].name, st.seconds,
		    (unsigned long long)st.bytes_read,
		    (unsigned long long)src.size);

		/* Half a second a piece. */
		memset(s, 0, sizeof(*s));
		s->stop_at = -1;
		rc = run(&src, tiny, s, &st, &err);
		if (!ok(rc == 0, "%s: decoded in pieces of 0.5 s", fx[i].name))
			printf("# %d %s: %s (%s)\n", err.status, err.code,
			    err.detail, err.cause);
		pieces_ok(fx[i].name, s, tiny, fx[i].seconds, 1);
		is_int(st.pieces, s->n, "stats count the pieces");
		close(fd);
	}
	free(s);
}

/* Refused with 422 "unreadable_media", the detail containing want. */
static void
refused(const char *name, const struct mr_src *src, const char *want)
{
	struct mr_err	 err;
	struct seen	*s = calloc(1, sizeof(*s));
	int		 rc;

	s->stop_at = -1;
	rc = run(src, 1000000, s, NULL, &err);
	ok(rc == -1 && err.status == 422 && err.code != NULL &&
	    strcmp(err.code, "unreadable_media") == 0 && s->n == 0 &&
	    (want == NULL || strstr(err.detail, want) != NULL),
	    "%s: 422 unreadable_media (%s)", name, err.detail);
	if (rc != -1 || err.status != 422)
		printf("# rc %d, %d pieces, %d %s: %s\n", rc, s->n,
		    err.status, err.code ? err.code : "", err.cause);
	free(s);
}

static void
garbage(void)
{
	struct mr_src	 src;
	struct mem	 m;
	size_t		 i;
	uint32_t	 x = 1;

	memset(&m, 0, sizeof(m));
	m.fail_at = -1;
	m.len = 65536;
	m.p = malloc(m.len);
	for (i = 0; i < m.len; i++) {
		x = x * 1103515245u + 12345u;
		m.p[i] = (unsigned char)(x >> 16);
	}
	mem_src(&src, &m);
	refused("random bytes", &src, NULL);
	memcpy(m.p, "OggS", 4);
	refused("random bytes after OggS", &src, NULL);
	memcpy(m.p, "\0\0\0\x20" "ftypisom", 12);
	refused("random bytes after an ftyp box", &src, NULL);
	m.len = 0;
	mem_src(&src, &m);
	refused("an empty source", &src, "empty");
	free(m.p);
}

static void
truncated(void)
{
	static const char *const names[] = { "av-faststart.mp4",
	    "av-moov-last.mp4" };
	static const double	 cuts[] = { 0.1, 0.3, 0.5, 0.7, 0.9, 0.99 };
	struct mr_src		 src;
	struct mem		 m;
	char			 path[4200];
	size_t			 i, k, len;
	int			 fd;

	for (i = 0; i < MR_NELEM(names); i++) {
		if (fixture(names[i]) == NULL || load(fixture(names[i]), &m)) {
			ok(0, "fixture %s", names[i]);
			continue;
		}
		len = m.len;
		for (k = 0; k < MR_NELEM(cuts); k++) {
			/* A cut copy on disk, read through mr_src_fd(). */
			snprintf(path, sizeof(path), "%s/cut.mp4", tmpdir);
			fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (fd == -1 || write(fd, m.p, (size_t)(len *
			    cuts[k])) != (ssize_t)(size_t)(len * cuts[k])) {
				ok(0, "write %s", path);
				continue;
			}
			if (mr_src_fd(&src, &fd, NULL) == 0) {
				char	 name[128];

				snprintf(name, sizeof(name), "%s cut to %zu of "
				    "%zu bytes", names[i],
				    (size_t)(len * cuts[k]), len);
				refused(name, &src, NULL);
			}
			close(fd);
			unlink(path);
		}
		free(m.p);
	}
}

/* The video of av-faststart.mp4 alone, remuxed into path. */
static int
video_only(const char *in, const char *out)
{
	AVFormatContext	*ic = NULL, *oc = NULL;
	AVStream	*os;
	AVPacket	*pkt = av_packet_alloc();
	int		 vi, rc = -1;

	if (avformat_open_input(&ic, in, NULL, NULL) < 0 ||
	    avformat_find_stream_info(ic, NULL) < 0)
		goto done;
	vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (vi < 0 || avformat_alloc_output_context2(&oc, NULL, "mp4",
	    out) < 0 || (os = avformat_new_stream(oc, NULL)) == NULL ||
	    avcodec_parameters_copy(os->codecpar,
	    ic->streams[vi]->codecpar) < 0)
		goto done;
	os->codecpar->codec_tag = 0;
	os->time_base = ic->streams[vi]->time_base;
	if (avio_open(&oc->pb, out, AVIO_FLAG_WRITE) < 0 ||
	    avformat_write_header(oc, NULL) < 0)
		goto done;
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index != vi) {
			av_packet_unref(pkt);
			continue;
		}
		pkt->stream_index = 0;
		pkt->pos = -1;
		av_packet_rescale_ts(pkt, ic->streams[vi]->time_base,
		    os->time_base);
		if (av_interleaved_write_frame(oc, pkt) < 0)
			goto done;
	}
	if (av_write_trailer(oc) < 0)
		goto done;
	rc = 0;
done:
	if (oc != NULL) {
		avio_closep(&oc->pb);
		avformat_free_context(oc);
	}
	avformat_close_input(&ic);
	av_packet_free(&pkt);
	return rc;
}

static void
no_audio(void)
{
	struct mr_src	 src;
	char		 path[4200];
	const char	*in = fixture("av-faststart.mp4");
	int		 fd;

	snprintf(path, sizeof(path), "%s/video.mp4", tmpdir);
	if (in == NULL || video_only(in, path) == -1 ||
	    (fd = open(path, O_RDONLY)) == -1) {
		ok(0, "a video-only MP4 made from av-faststart.mp4");
		return;
	}
	if (mr_src_fd(&src, &fd, NULL) == 0)
		refused("video only", &src, "no audio track");
	close(fd);
	unlink(path);
}

/* Every audio sample of av-faststart.mp4 overwritten with garbage. */
static void
damaged(void)
{
	AVFormatContext		*ic = NULL;
	const AVIndexEntry	*e;
	struct mr_audio_stats	 st;
	struct mr_src		 src;
	struct mr_err		 err;
	struct mem		 m;
	struct seen		*s;
	const char		*in = fixture("av-faststart.mp4");
	int			 ai, i, n, k, rc;

	if (in == NULL || load(in, &m) == -1 ||
	    avformat_open_input(&ic, in, NULL, NULL) < 0) {
		ok(0, "fixture av-faststart.mp4");
		return;
	}
	ai = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	n = ai < 0 ? 0 : avformat_index_get_entries_count(ic->streams[ai]);
	ok(n > 10, "av-faststart.mp4 has %d audio samples", n);

	/* Every other one: decoded with packets skipped. */
	s = calloc(1, sizeof(*s));
	for (i = 0; i < n; i += 2) {
		e = avformat_index_get_entry(ic->streams[ai], i);
		for (k = 0; k < e->size; k++)
			m.p[e->pos + k] = (unsigned char)(0xa5 ^ (k * 7));
	}
	mem_src(&src, &m);
	s->stop_at = -1;
	rc = run(&src, 1000000, s, &st, &err);
	ok(rc == 0 || (rc == -1 && err.status == 422), "half the samples "
	    "damaged: decoded or 422 (%d, %.3f s)", rc, st.seconds);

	/* All of them: nothing decodes. */
	for (i = 1; i < n; i += 2) {
		e = avformat_index_get_entry(ic->streams[ai], i);
		for (k = 0; k < e->size; k++)
			m.p[e->pos + k] = (unsigned char)(0xa5 ^ (k * 7));
	}
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	rc = run(&src, 1000000, s, &st, &err);
	ok(rc == -1 && err.status == 422 && s->n == 0, "every sample "
	    "damaged: 422 (%s)", err.detail);
	avformat_close_input(&ic);
	free(m.p);
	free(s);
}

/*
 * len seconds of silence with bursts of a 440 Hz square wave over the
 * spans in b, encoded to Ogg Opus at path.  len is a multiple of 20 ms.
 */
static int
make_bursts(const char *path, double len, const double (*b)[2], int nb)
{
	AVChannelLayout	 mono = AV_CHANNEL_LAYOUT_MONO;
	AVFormatContext	*oc = NULL;
	AVCodecContext	*c = NULL;
	AVStream	*st;
	AVFrame		*f = NULL;
	AVPacket	*pkt = av_packet_alloc();
	const AVCodec	*codec = avcodec_find_encoder_by_name("libopus");
	int64_t		 t, total = (int64_t)(len * 48000 + 0.5), x;
	int16_t		*s;
	int		 i, k, ret, rc = -1;

	if (codec == NULL || pkt == NULL ||
	    avformat_alloc_output_context2(&oc, NULL, "ogg", path) < 0 ||
	    (c = avcodec_alloc_context3(codec)) == NULL)
		goto done;
	c->sample_rate = 48000;
	c->sample_fmt = AV_SAMPLE_FMT_S16;
	c->bit_rate = 24000;
	c->time_base = (AVRational){ 1, 48000 };
	if (av_channel_layout_copy(&c->ch_layout, &mono) < 0 ||
	    avcodec_open2(c, codec, NULL) < 0 ||
	    (st = avformat_new_stream(oc, NULL)) == NULL ||
	    avcodec_parameters_from_context(st->codecpar, c) < 0)
		goto done;
	st->time_base = c->time_base;
	if (avio_open(&oc->pb, path, AVIO_FLAG_WRITE) < 0 ||
	    avformat_write_header(oc, NULL) < 0 ||
	    (f = av_frame_alloc()) == NULL)
		goto done;
	f->nb_samples = c->frame_size;
	f->format = c->sample_fmt;
	f->sample_rate = c->sample_rate;
	if (av_channel_layout_copy(&f->ch_layout, &mono) < 0 ||
	    av_frame_get_buffer(f, 0) < 0)
		goto done;
	for (t = 0; t <= total; t += c->frame_size) {
		if (t < total) {
			if (av_frame_make_writable(f) < 0)
				goto done;
			s = (int16_t *)(void *)f->data[0];
			for (k = 0; k < c->frame_size; k++) {
				x = t + k;
				s[k] = 0;
				for (i = 0; i < nb; i++)
					if (x >= b[i][0] * 48000 &&
					    x < b[i][1] * 48000)
						s[k] = (x * 440 * 2 / 48000) %
						    2 ? 8000 : -8000;
			}
			f->pts = t;
		}
		if (avcodec_send_frame(c, t < total ? f : NULL) < 0)
			goto done;
		while ((ret = avcodec_receive_packet(c, pkt)) == 0) {
			av_packet_rescale_ts(pkt, c->time_base,
			    st->time_base);
			pkt->stream_index = 0;
			if (av_interleaved_write_frame(oc, pkt) < 0)
				goto done;
		}
		if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
			goto done;
	}
	if (av_write_trailer(oc) < 0)
		goto done;
	rc = 0;
done:
	if (oc != NULL) {
		avio_closep(&oc->pb);
		avformat_free_context(oc);
	}
	avcodec_free_context(&c);
	av_frame_free(&f);
	av_packet_free(&pkt);
	return rc;
}

/* Cuts in the silences between bursts, and near the limit. */
static void
quiet_cuts(void)
{
	static const double	 b[][2] = { { 0.5, 1.5 }, { 3.0, 4.2 },
	    { 5.0, 5.6 }, { 7.5, 9.0 }, { 10.0, 10.4 } };
	struct mr_audio_stats	 st;
	struct mr_src		 src;
	struct mr_err		 err;
	struct seen		*s;
	char			 path[4200];
	double			 cut, lo;
	uint64_t		 max = MR_AUDIO_WAV_HEADER + 2 * 40000;
	size_t			 k;
	int			 fd, i, in, rc;

	snprintf(path, sizeof(path), "%s/bursts.ogg", tmpdir);
	if (make_bursts(path, 12, b, (int)MR_NELEM(b)) == -1 ||
	    (fd = open(path, O_RDONLY)) == -1) {
		ok(0, "an Ogg Opus of tone bursts (libopus)");
		return;
	}
	s = calloc(1, sizeof(*s));
	s->stop_at = -1;
	if (mr_src_fd(&src, &fd, &err) == 0)
		rc = run(&src, max, s, &st, &err);
	else
		rc = -1;
	ok(rc == 0, "bursts: decoded (%s)", rc == 0 ? "" : err.detail);
	pieces_ok("bursts", s, max, 12, 1);
	for (i = 0, in = 0; i + 1 < s->n; i++) {
		cut = s->p[i].start + s->p[i].duration;
		for (k = 0; k < MR_NELEM(b); k++)
			if (cut > b[k][0] - 0.02 && cut < b[k][1] + 0.02) {
				printf("# cut %d at %.3f s in the burst %.1f-"
				    "%.1f\n", i, cut, b[k][0], b[k][1]);
				in++;
			}
	}
	ok(in == 0, "bursts: every cut of %d falls in silence", s->n - 1);

	/* A window of 0.5 s: every cut in the last 0.5 s of a piece. */
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	rc = run_window(&src, max, 0.5, s, &st, &err);
	ok(rc == 0, "bursts, a 0.5 s window: decoded");
	lo = 2.5 - 0.5 - 0.02;
	for (i = 0, in = 0; i + 1 < s->n; i++)
		if (s->p[i].duration < lo)
			in++;
	ok(in == 0 && s->n >= 5, "bursts, a 0.5 s window: %d pieces, none "
	    "but the last shorter than %.2f s", s->n, lo);
	pieces_ok("bursts, a 0.5 s window", s, max, 12, 1);
	close(fd);
	unlink(path);

	/* Silence only: pieces all the same. */
	if (make_bursts(path, 6, b, 0) == -1 ||
	    (fd = open(path, O_RDONLY)) == -1) {
		ok(0, "an Ogg Opus of silence");
		free(s);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	rc = mr_src_fd(&src, &fd, &err) == 0 ? run(&src, max, s, &st, &err) :
	    -1;
	ok(rc == 0, "silence: decoded");
	pieces_ok("silence", s, max, 6, 1);
	close(fd);
	unlink(path);
	free(s);
}

static void
caller_stops(void)
{
	struct mr_audio_stats	 st;
	struct mr_src		 src;
	struct mr_err		 err;
	struct mem		 m;
	struct seen		*s;
	struct stat		 sb;
	const char		*in = fixture("opus.ogg");
	int			 rc;

	if (in == NULL || load(in, &m) == -1) {
		ok(0, "fixture opus.ogg");
		return;
	}
	s = calloc(1, sizeof(*s));
	mem_src(&src, &m);
	s->stop_at = 1;
	rc = run(&src, MR_AUDIO_WAV_HEADER + MR_AUDIO_RATE, s, &st, &err);
	ok(rc == -1 && err.status == 503 &&
	    strcmp(err.code, "asr_unavailable") == 0,
	    "the caller's error is returned (%d %s)", err.status,
	    err.code ? err.code : "");
	is_int(s->n, 2, "and no piece is handed over after it");
	ok(stat(s->path[1], &sb) == -1 && errno == ENOENT,
	    "the refused piece's file is removed");
	ok(tmpdir_empty(), "nothing is left in the folder");
	is_int(st.pieces, 1, "stats: one piece taken");
	free(m.p);
	free(s);
}

static void
source_fails(void)
{
	static const char *const names[] = { "av-moov-last.mp4",
	    "av-faststart.mp4", "opus.ogg" };
	struct mr_src	 src;
	struct mr_err	 err;
	struct mem	 m;
	struct seen	*s;
	size_t		 i;
	int		 rc, k;

	s = calloc(1, sizeof(*s));
	for (i = 0; i < MR_NELEM(names); i++) {
		if (fixture(names[i]) == NULL ||
		    load(fixture(names[i]), &m) == -1) {
			ok(0, "fixture %s", names[i]);
			continue;
		}
		mem_src(&src, &m);
		for (k = 0; k < 3; k++) {
			/* At once, half-way, near the end. */
			m.fail_at = k == 0 ? 0 : k == 1 ? (int64_t)m.len / 2 :
			    (int64_t)m.len - 16;
			memset(s, 0, sizeof(*s));
			s->stop_at = -1;
			rc = run(&src, 1000000, s, NULL, &err);
			ok(rc == -1 && err.status == 502 && err.code != NULL &&
			    strcmp(err.code, "storage_error") == 0,
			    "%s, reads failing past %lld: the source's error "
			    "(%d %s)", names[i], (long long)m.fail_at,
			    err.status, err.code ? err.code : "");
		}
		free(m.p);
	}
	free(s);
	ok(tmpdir_empty(), "nothing is left in the folder");
}

static void
bad_opts(void)
{
	struct mr_audio_opts	 o;
	struct mr_src		 src;
	struct mr_err		 err;
	struct mem		 m;
	struct seen		*s;
	const char		*in = fixture("opus.ogg");
	int			 rc;

	if (in == NULL || load(in, &m) == -1) {
		ok(0, "fixture opus.ogg");
		return;
	}
	s = calloc(1, sizeof(*s));
	s->stop_at = -1;
	mem_src(&src, &m);
	memset(&o, 0, sizeof(o));
	o.tmpdir = "/nonexistent/meetrec";
	o.max_bytes = 1000000;
	mr_err_clear(&err);
	rc = mr_audio_pieces(&src, &o, collect, s, NULL, &err);
	ok(rc == -1 && err.status == 500 && strcmp(err.code, "io_error") ==
	    0 && s->n == 0, "a folder that does not exist: 500 io_error (%s)",
	    err.cause);
	o.tmpdir = tmpdir;
	o.max_bytes = MR_AUDIO_WAV_HEADER + 100;
	rc = mr_audio_pieces(&src, &o, collect, s, NULL, &err);
	ok(rc == -1 && err.status == 500 && s->n == 0,
	    "max_bytes under 20 ms: refused");
	free(m.p);
	free(s);
}

int
main(void)
{
	const char	*t = getenv("TMPDIR");

	av_log_set_level(AV_LOG_QUIET);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-audio.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 255;
	}
	fixtures();
	garbage();
	truncated();
	no_audio();
	damaged();
	quiet_cuts();
	caller_stops();
	source_fails();
	bad_opts();
	rmdir(tmpdir);
	return done_testing();
}
