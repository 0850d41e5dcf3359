/* SPDX-License-Identifier: ISC */
/*
 * mkspeech - a test tool (not installed) that builds speech fixtures with
 * FFmpeg's libraries: WAV files (espeak-ng's output: RIFF PCM, 16-bit,
 * mono or more, any rate) and tones placed at given times on a silent
 * timeline, encoded to MP4 (AAC, and with --video a small H.264 track,
 * libx264 when there is one, else MPEG-4 part 2; moov first) or to Ogg
 * (Opus at 12 kbit/s, 60 ms frames and the least complexity, so that
 * three hours take seconds).  The timeline is made and encoded a frame at a time, so a
 * meeting of hours takes the memory of one of minutes: only the placed
 * WAVs are held, once each.
 *
 *   usage: mkspeech --out FILE.mp4|FILE.ogg --duration SECONDS [--video]
 *              [--at SECONDS WAVFILE]... [--tone SECONDS HZ LENGTH]...
 *              [--noise AMPLITUDE] [--bitrate BPS] [--rate HZ]
 *              [--audio-start SECONDS] [--no-audio]
 *
 * --noise adds white noise of that peak amplitude (of 32767) everywhere,
 * as a room's microphone would; --audio-start makes the audio track
 * begin that late on the recording's timeline (MP4: an edit list), the
 * placements staying where they are on it; --no-audio (with --video)
 * writes a file without an audio track.  It prints one JSON line: what it wrote.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#define MAX_PLACES	4096
#define VIDEO_W		64
#define VIDEO_H		48
#define VIDEO_FPS	2

/* One WAV, resampled to the encoder's rate, shared by its placements. */
struct clip {
	char		*path;
	float		*s;
	int64_t		 n;
};

struct place {
	int64_t		 at;		/* first sample on the timeline */
	const char	*wav;		/* NULL: a tone */
	struct clip	*clip;
	double		 hz;
	int64_t		 len;
	double		 at_s, len_s, tone_len_s;
};

static struct clip	 clips[64];
static int		 nclips;
static struct place	 places[MAX_PLACES];
static int		 nplaces;

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "mkspeech: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
avcheck(int ret, const char *what)
{
	char	 msg[AV_ERROR_MAX_STRING_SIZE];

	if (ret >= 0)
		return;
	av_strerror(ret, msg, sizeof(msg));
	die("%s: %s", what, msg);
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

/* Read a PCM WAV and resample it to rate, mono float. */
static struct clip *
load_wav(const char *path, int rate)
{
	AVChannelLayout	 in_l, out_l = AV_CHANNEL_LAYOUT_MONO;
	struct clip	*c;
	SwrContext	*swr = NULL;
	unsigned char	*buf = NULL, *data = NULL;
	const uint8_t	*in[1];
	uint8_t		*out[1];
	FILE		*f;
	long		 size;
	size_t		 off;
	uint32_t	 len, data_len = 0;
	unsigned	 chans = 0, bits = 0, srate = 0;
	int64_t		 frames, want;
	int		 i, got;

	for (i = 0; i < nclips; i++)
		if (strcmp(clips[i].path, path) == 0)
			return &clips[i];
	if (nclips == (int)(sizeof(clips) / sizeof(clips[0])))
		die("too many WAV files");
	if ((f = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	if (size < 12 || (buf = malloc((size_t)size)) == NULL ||
	    fread(buf, 1, (size_t)size, f) != (size_t)size)
		die("%s: cannot read", path);
	fclose(f);
	if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
		die("%s: not a RIFF WAVE file", path);
	for (off = 12; off + 8 <= (size_t)size; off += 8 + len + (len & 1)) {
		len = le32(buf + off + 4);
		if (len > (size_t)size - off - 8)
			len = (uint32_t)((size_t)size - off - 8);
		if (memcmp(buf + off, "fmt ", 4) == 0 && len >= 16) {
			if (le16(buf + off + 8) != 1)
				die("%s: not PCM", path);
			chans = le16(buf + off + 10);
			srate = le32(buf + off + 12);
			bits = le16(buf + off + 22);
		} else if (memcmp(buf + off, "data", 4) == 0) {
			data = buf + off + 8;
			data_len = len;
		}
	}
	if (data == NULL || bits != 16 || chans == 0 || srate == 0)
		die("%s: want 16-bit PCM with a data chunk", path);
	frames = data_len / (2 * chans);
	c = &clips[nclips++];
	c->path = strdup(path);
	want = frames * rate / srate + 256;
	if ((c->s = malloc((size_t)want * sizeof(float))) == NULL)
		die("out of memory");
	av_channel_layout_default(&in_l, (int)chans);
	avcheck(swr_alloc_set_opts2(&swr, &out_l, AV_SAMPLE_FMT_FLT, rate,
	    &in_l, AV_SAMPLE_FMT_S16, (int)srate, 0, NULL), "swr");
	avcheck(swr_init(swr), "swr_init");
	in[0] = data;
	out[0] = (uint8_t *)c->s;
	got = swr_convert(swr, out, (int)want, in, (int)frames);
	avcheck(got, "swr_convert");
	c->n = got;
	out[0] = (uint8_t *)(c->s + c->n);
	got = swr_convert(swr, out, (int)(want - c->n), NULL, 0);
	avcheck(got, "swr_convert");
	c->n += got;
	swr_free(&swr);
	av_channel_layout_uninit(&in_l);
	free(buf);
	return c;
}

/* Mix the placements and the noise into s[0..n), samples from t. */
static void
render(float *s, int n, int64_t t, int rate, double noise)
{
	static uint32_t	 lcg = 12345;
	int64_t		 a, b, i;
	int		 p;

	for (i = 0; i < n; i++) {
		s[i] = 0;
		if (noise > 0) {
			lcg = lcg * 1664525u + 1013904223u;
			s[i] = (float)(noise / 32767.0 *
			    ((double)(lcg >> 8) / 8388608.0 - 1.0));
		}
	}
	for (p = 0; p < nplaces; p++) {
		a = places[p].at > t ? places[p].at : t;
		b = places[p].at + places[p].len;
		if (b > t + n)
			b = t + n;
		for (i = a; i < b; i++) {
			if (places[p].clip != NULL)
				s[i - t] += places[p].clip->s[i -
				    places[p].at];
			else
				s[i - t] += (float)(0.5 * sin(2 * M_PI *
				    places[p].hz * (double)(i - places[p].at) /
				    rate));
		}
	}
	for (i = 0; i < n; i++)
		s[i] = s[i] > 1 ? 1 : s[i] < -1 ? -1 : s[i];
}

struct out {
	AVFormatContext	*oc;
	AVCodecContext	*ac, *vc;
	AVStream	*as, *vs;
	AVPacket	*pkt;
};

static void
write_packets(struct out *o, AVCodecContext *c, AVStream *st)
{
	int	 ret;

	for (;;) {
		ret = avcodec_receive_packet(c, o->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return;
		avcheck(ret, "encode");
		av_packet_rescale_ts(o->pkt, c->time_base, st->time_base);
		o->pkt->stream_index = st->index;
		avcheck(av_interleaved_write_frame(o->oc, o->pkt), "write");
	}
}

static const AVCodec *
video_codec(void)
{
	const AVCodec	*c;

	if ((c = avcodec_find_encoder_by_name("libx264")) != NULL)
		return c;
	if ((c = avcodec_find_encoder_by_name("mpeg4")) != NULL)
		return c;
	die("no H.264 or MPEG-4 encoder");
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mkspeech --out FILE.mp4|FILE.ogg --duration "
	    "SECONDS [--video]\n"
	    "           [--at SECONDS WAVFILE]... [--tone SECONDS HZ LENGTH]..."
	    "\n           [--noise AMPLITUDE] [--bitrate BPS] [--rate HZ]\n"
	    "           [--audio-start SECONDS] [--no-audio]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	AVChannelLayout	 mono = AV_CHANNEL_LAYOUT_MONO;
	AVDictionary	*opt = NULL;
	const AVCodec	*codec;
	struct out	 o;
	struct timespec	 t0, t1;
	struct stat	 sb;
	AVFrame		*af = NULL, *vf = NULL;
	const char	*path = NULL, *ext;
	double		 duration = -1, noise = 0, astart = 0;
	float		*mix;
	int64_t		 total, t = 0, vframes, vi = 0, a0;
	int		 video = 0, audio = 1, ogg, rate = 0, bitrate = 0;
	int		 i, p, n, x, y, fsize;

	memset(&o, 0, sizeof(o));
	av_log_set_level(AV_LOG_ERROR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
			duration = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--video") == 0)
			video = 1;
		else if (strcmp(argv[i], "--no-audio") == 0)
			audio = 0;
		else if (strcmp(argv[i], "--audio-start") == 0 &&
		    i + 1 < argc)
			astart = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--noise") == 0 && i + 1 < argc)
			noise = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--bitrate") == 0 && i + 1 < argc)
			bitrate = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--at") == 0 && i + 2 < argc &&
		    nplaces < MAX_PLACES) {
			places[nplaces].at_s = strtod(argv[++i], NULL);
			places[nplaces].wav = argv[++i];
			nplaces++;
		} else if (strcmp(argv[i], "--tone") == 0 && i + 3 < argc &&
		    nplaces < MAX_PLACES) {
			places[nplaces].at_s = strtod(argv[++i], NULL);
			places[nplaces].hz = strtod(argv[++i], NULL);
			places[nplaces].tone_len_s = strtod(argv[++i], NULL);
			nplaces++;
		} else
			usage();
	}
	if (path == NULL || duration <= 0 || (!audio && !video))
		usage();
	ext = strrchr(path, '.');
	if (ext != NULL && strcmp(ext, ".ogg") == 0)
		ogg = 1;
	else if (ext != NULL && strcmp(ext, ".mp4") == 0)
		ogg = 0;
	else
		die("%s: want .mp4 or .ogg", path);
	if (ogg && video)
		die("--video is for MP4");
	if (rate == 0)
		rate = ogg ? 48000 : 16000;
	if (bitrate == 0)
		bitrate = ogg ? 12000 : 24000;
	for (p = 0; p < nplaces; p++) {
		places[p].at = llround(places[p].at_s * rate);
		if (places[p].wav != NULL) {
			places[p].clip = load_wav(places[p].wav, rate);
			places[p].len = places[p].clip->n;
		} else
			places[p].len = llround(places[p].tone_len_s * rate);
		places[p].len_s = (double)places[p].len / rate;
	}
	a0 = llround(astart * rate);
	total = llround(duration * rate) - a0;
	if (astart < 0 || total <= 0)
		die("--audio-start must be within the duration");

	avcheck(avformat_alloc_output_context2(&o.oc, NULL, ogg ? "ogg" :
	    "mp4", path), "output");
	if (audio) {
		codec = avcodec_find_encoder_by_name(ogg ? "libopus" : "aac");
		if (codec == NULL)
			die("no %s encoder", ogg ? "libopus" : "aac");
		o.ac = avcodec_alloc_context3(codec);
		o.ac->sample_rate = rate;
		avcheck(av_channel_layout_copy(&o.ac->ch_layout, &mono),
		    "layout");
		o.ac->sample_fmt = ogg ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
		o.ac->bit_rate = bitrate;
		o.ac->time_base = (AVRational){ 1, rate };
		if (o.oc->oformat->flags & AVFMT_GLOBALHEADER)
			o.ac->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
		if (ogg) {
			/* Fast: the least complexity, 60 ms frames. */
			o.ac->compression_level = 0;
			av_dict_set(&opt, "frame_duration", "60", 0);
		}
		avcheck(avcodec_open2(o.ac, codec, &opt), "open audio encoder");
		av_dict_free(&opt);
		o.as = avformat_new_stream(o.oc, NULL);
		o.as->time_base = o.ac->time_base;
		avcheck(avcodec_parameters_from_context(o.as->codecpar, o.ac),
		    "audio parameters");
		af = av_frame_alloc();
		fsize = o.ac->frame_size > 0 ? o.ac->frame_size : 960;
		af->nb_samples = fsize;
		af->format = o.ac->sample_fmt;
		af->sample_rate = rate;
		avcheck(av_channel_layout_copy(&af->ch_layout, &mono),
		    "layout");
		avcheck(av_frame_get_buffer(af, 0), "audio frame");
	} else
		fsize = 960;
	if (video) {
		codec = video_codec();
		o.vc = avcodec_alloc_context3(codec);
		o.vc->width = VIDEO_W;
		o.vc->height = VIDEO_H;
		o.vc->pix_fmt = AV_PIX_FMT_YUV420P;
		o.vc->time_base = (AVRational){ 1, VIDEO_FPS };
		o.vc->framerate = (AVRational){ VIDEO_FPS, 1 };
		o.vc->gop_size = 10 * VIDEO_FPS;
		o.vc->bit_rate = 20000;
		if (o.oc->oformat->flags & AVFMT_GLOBALHEADER)
			o.vc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
		if (strcmp(codec->name, "libx264") == 0) {
			av_dict_set(&opt, "preset", "ultrafast", 0);
			av_dict_set(&opt, "crf", "40", 0);
			av_dict_set(&opt, "profile", "baseline", 0);
		}
		avcheck(avcodec_open2(o.vc, codec, &opt), "open video encoder");
		av_dict_free(&opt);
		o.vs = avformat_new_stream(o.oc, NULL);
		o.vs->time_base = o.vc->time_base;
		avcheck(avcodec_parameters_from_context(o.vs->codecpar, o.vc),
		    "video parameters");
		vf = av_frame_alloc();
		vf->format = AV_PIX_FMT_YUV420P;
		vf->width = VIDEO_W;
		vf->height = VIDEO_H;
		avcheck(av_frame_get_buffer(vf, 0), "video frame");
	}
	avcheck(avio_open(&o.oc->pb, path, AVIO_FLAG_WRITE), path);
	if (!ogg)
		av_dict_set(&opt, "movflags", "+faststart", 0);
	avcheck(avformat_write_header(o.oc, &opt), "header");
	av_dict_free(&opt);
	o.pkt = av_packet_alloc();
	if ((mix = malloc((size_t)fsize * sizeof(float))) == NULL)
		die("out of memory");

	vframes = (int64_t)ceil(duration * VIDEO_FPS);
	while ((audio && t < total) || (video && vi < vframes)) {
		/* Whichever stream is behind goes next. */
		if (video && vi < vframes && (!audio || t >= total ||
		    (double)vi / VIDEO_FPS <= (double)(a0 + t) / rate)) {
			avcheck(av_frame_make_writable(vf), "writable");
			for (y = 0; y < VIDEO_H; y++)
				for (x = 0; x < VIDEO_W; x++)
					vf->data[0][y * vf->linesize[0] + x] =
					    (uint8_t)((x + y + vi * 4) * 4);
			for (y = 0; y < VIDEO_H / 2; y++) {
				memset(vf->data[1] + y * vf->linesize[1],
				    (int)(128 + vi % 64), VIDEO_W / 2);
				memset(vf->data[2] + y * vf->linesize[2], 128,
				    VIDEO_W / 2);
			}
			vf->pts = vi++;
			avcheck(avcodec_send_frame(o.vc, vf), "encode video");
			write_packets(&o, o.vc, o.vs);
			continue;
		}
		n = total - t < fsize ? (int)(total - t) : fsize;
		avcheck(av_frame_make_writable(af), "writable");
		af->nb_samples = n;
		render(mix, n, a0 + t, rate, noise);
		memcpy(af->data[0], mix, (size_t)n * sizeof(float));
		af->pts = a0 + t;
		t += n;
		avcheck(avcodec_send_frame(o.ac, af), "encode audio");
		write_packets(&o, o.ac, o.as);
	}
	if (audio) {
		avcheck(avcodec_send_frame(o.ac, NULL), "flush audio");
		write_packets(&o, o.ac, o.as);
	}
	if (video) {
		avcheck(avcodec_send_frame(o.vc, NULL), "flush video");
		write_packets(&o, o.vc, o.vs);
	}
	avcheck(av_write_trailer(o.oc), "trailer");
	avcheck(avio_closep(&o.oc->pb), "close");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stat(path, &sb) == -1)
		die("%s: %s", path, strerror(errno));

	printf("{\"out\":\"%s\",\"duration\":%.3f,\"bytes\":%lld,"
	    "\"seconds_taken\":%.3f,\"streams\":[", path, duration,
	    (long long)sb.st_size, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (audio)
		printf("{\"type\":\"audio\",\"codec\":\"%s\",\"rate\":%d,"
		    "\"bitrate\":%d,\"start\":%.6f}", o.ac->codec->name, rate,
		    bitrate, (double)a0 / rate);
	if (video)
		printf("%s{\"type\":\"video\",\"codec\":\"%s\",\"width\":%d,"
		    "\"height\":%d,\"fps\":%d}", audio ? "," : "",
		    o.vc->codec->name, VIDEO_W, VIDEO_H, VIDEO_FPS);
	printf("],\"placed\":[");
	for (p = 0; p < nplaces; p++)
		printf("%s{\"at\":%.6f,\"length\":%.6f}", p ? "," : "",
		    places[p].at_s, places[p].len_s);
	printf("]}\n");

	free(mix);
	av_frame_free(&af);
	av_frame_free(&vf);
	av_packet_free(&o.pkt);
	avcodec_free_context(&o.ac);
	avcodec_free_context(&o.vc);
	avformat_free_context(o.oc);
	for (i = 0; i < nclips; i++) {
		free(clips[i].path);
		free(clips[i].s);
	}
	return 0;
}
