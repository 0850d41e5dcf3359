/* SPDX-License-Identifier: ISC */
/*
 * test-probe.c - the MP4 and Ogg duration probes.  Synthetic files are
 * built here box by box and page by page (with this file's own bitwise
 * CRC), the real ones come from t/fixtures/ (ffmpeg output, see
 * make-fixtures.sh).  Every prefix of every good MP4 must give -1 or the
 * right duration, and every proper prefix of an Ogg file -1 (a whole Ogg
 * file ends with its end-of-stream pages); each kind of damage must give
 * -1 and a detail that names it.  Two sparse files in $TMPDIR (an MP4
 * with a 5 GiB mdat before moov, an Ogg with a 10 MiB hole) show through
 * /proc/self/io that the probes read a few KiB, not the file.  When
 * ffmpeg is installed a fresh encode is probed too; without it those
 * tests are skipped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr.h"
#include "probe.h"
#include "tap.h"

typedef int (*probe_fn)(int, double *, struct mr_err *);

/* A growing byte string to build files in. */
struct bld {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

static void
put(struct bld *b, const void *p, size_t n)
{
	while (b->len + n > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			printf("Bail out! out of memory\n");
			exit(255);
		}
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_be(struct bld *b, uint64_t v, int bytes)
{
	unsigned char	 c[8];
	int		 i;

	for (i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	put(b, c, (size_t)bytes);
}

static void
put_le(struct bld *b, uint64_t v, int bytes)
{
	unsigned char	 c[8];
	int		 i;

	for (i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	put(b, c, (size_t)bytes);
}

static void
put_zero(struct bld *b, size_t n)
{
	static const unsigned char	 z[256];

	while (n > 0) {
		put(b, z, n < sizeof(z) ? n : sizeof(z));
		n -= n < sizeof(z) ? n : sizeof(z);
	}
}

static void
bld_reset(struct bld *b)
{
	b->len = 0;
}

/* MP4 boxes: open writes a placeholder size, close patches it. */
static size_t
box_open(struct bld *b, const char *type)
{
	size_t	 at = b->len;

	put_be(b, 0, 4);
	put(b, type, 4);
	return at;
}

static void
box_close(struct bld *b, size_t at)
{
	size_t	 n = b->len - at;

	b->p[at] = (unsigned char)(n >> 24);
	b->p[at + 1] = (unsigned char)(n >> 16);
	b->p[at + 2] = (unsigned char)(n >> 8);
	b->p[at + 3] = (unsigned char)n;
}

static void
ftyp(struct bld *b)
{
	size_t	 at = box_open(b, "ftyp");

	put(b, "isom\0\0\2\0isomiso2", 16);
	box_close(b, at);
}

/* A full-size mvhd: the fields after the duration are zero. */
static void
mvhd(struct bld *b, int version, uint32_t timescale, uint64_t duration)
{
	size_t	 at = box_open(b, "mvhd");

	put_be(b, (uint64_t)version << 24, 4);
	if (version == 1) {
		put_be(b, 0, 8);
		put_be(b, 0, 8);
		put_be(b, timescale, 4);
		put_be(b, duration, 8);
	} else {
		put_be(b, 0, 4);
		put_be(b, 0, 4);
		put_be(b, timescale, 4);
		put_be(b, duration, 4);
	}
	put_zero(b, 80);
	box_close(b, at);
}

static void
moov(struct bld *b, int version, uint32_t timescale, uint64_t duration)
{
	size_t	 at = box_open(b, "moov"), trak;

	mvhd(b, version, timescale, duration);
	trak = box_open(b, "trak");
	put_zero(b, 100);
	box_close(b, trak);
	box_close(b, at);
}

static void
mdat(struct bld *b, size_t n)
{
	size_t	 at = box_open(b, "mdat");

	put_zero(b, n);
	box_close(b, at);
}

/* mdat with a 64-bit largesize header, as muxers write big ones. */
static void
mdat64(struct bld *b, size_t n)
{
	put_be(b, 1, 4);
	put(b, "mdat", 4);
	put_be(b, 16 + n, 8);
	put_zero(b, n);
}

/* Ogg CRC-32, bit by bit: the independent check on ogg.c's table. */
static uint32_t
crc_bitwise(const unsigned char *p, size_t len)
{
	uint32_t	 c = 0;
	int		 k;

	while (len-- > 0) {
		c ^= (uint32_t)*p++ << 24;
		for (k = 0; k < 8; k++)
			c = c & 0x80000000u ? c << 1 ^ 0x04c11db7u : c << 1;
	}
	return c;
}

/*
 * One page holding one packet (or, with !ends, the first len bytes of a
 * packet that goes on: len must then be a multiple of 255).
 */
static void
ogg_page(struct bld *b, unsigned flags, uint64_t granule, uint32_t serial,
    uint32_t seq, const void *data, size_t len, int ends)
{
	size_t		 at = b->len, n;
	uint32_t	 crc;

	put(b, "OggS", 4);
	put_le(b, 0, 1);
	put_le(b, flags, 1);
	put_le(b, granule, 8);
	put_le(b, serial, 4);
	put_le(b, seq, 4);
	put_le(b, 0, 4);
	n = len / 255 + (ends ? 1 : 0);
	put_le(b, n, 1);
	for (; n > 1; n--)
		put_le(b, 255, 1);
	if (n == 1)
		put_le(b, ends ? len % 255 : 255, 1);
	put(b, data, len);
	crc = crc_bitwise(b->p + at, b->len - at);
	b->p[at + 22] = (unsigned char)crc;
	b->p[at + 23] = (unsigned char)(crc >> 8);
	b->p[at + 24] = (unsigned char)(crc >> 16);
	b->p[at + 25] = (unsigned char)(crc >> 24);
}

static void
opus_head(struct bld *b, uint32_t serial, unsigned preskip)
{
	struct bld	 h = { NULL, 0, 0 };

	put(&h, "OpusHead", 8);
	put_le(&h, 1, 1);		/* version */
	put_le(&h, 2, 1);		/* channels */
	put_le(&h, preskip, 2);
	put_le(&h, 48000, 4);		/* input rate: informational */
	put_le(&h, 0, 2);		/* gain */
	put_le(&h, 0, 1);		/* mapping family */
	ogg_page(b, 0x02, 0, serial, 0, h.p, h.len, 1);
	free(h.p);
}

static void
opus_tags(struct bld *b, uint32_t serial)
{
	static const unsigned char	 tags[] =
	    "OpusTags\4\0\0\0test\0\0\0\0";

	ogg_page(b, 0, 0, serial, 1, tags, sizeof(tags) - 1, 1);
}

/*
 * A 2 s Opus file: headers, then eight pages of 0.25 s (a dummy packet
 * each; the probe does not decode), the last flagged end of stream.
 */
static void
opus_file(struct bld *b)
{
	unsigned char	 pkt[100];
	uint32_t	 k;

	memset(pkt, 0xa5, sizeof(pkt));
	opus_head(b, 7, 312);
	opus_tags(b, 7);
	for (k = 1; k <= 8; k++)
		ogg_page(b, k == 8 ? 0x04 : 0, 312 + 12000 * (uint64_t)k, 7,
		    1 + k, pkt, sizeof(pkt), 1);
}

static void
vorbis_head(struct bld *b, uint32_t version, uint32_t rate, size_t len)
{
	struct bld	 h = { NULL, 0, 0 };

	put(&h, "\001vorbis", 7);
	put_le(&h, version, 4);
	put_le(&h, 1, 1);		/* channels */
	put_le(&h, rate, 4);
	put_zero(&h, 16);		/* bitrates, block sizes, framing */
	ogg_page(b, 0x02, 0, 9, 0, h.p, len < h.len ? len : h.len, 1);
	free(h.p);
}

static void
vorbis_file(struct bld *b)
{
	unsigned char	 pkt[300];
	uint32_t	 k;

	memset(pkt, 0x5a, sizeof(pkt));
	vorbis_head(b, 0, 44100, 30);
	for (k = 1; k <= 3; k++)
		ogg_page(b, k == 3 ? 0x04 : 0, 44100 * (uint64_t)k, 9, k, pkt,
		    sizeof(pkt), 1);
}

static int
memfd(const void *p, size_t len)
{
	int	 fd;

	if ((fd = memfd_create("probe", MFD_CLOEXEC)) == -1 ||
	    (len > 0 && write(fd, p, len) != (ssize_t)len)) {
		printf("Bail out! memfd: %s\n", strerror(errno));
		exit(255);
	}
	return fd;
}

static int
probe(probe_fn fn, const struct bld *b, double *sec, struct mr_err *err)
{
	int	 fd, rc;

	fd = memfd(b->p, b->len);
	mr_err_clear(err);
	*sec = -1;
	rc = fn(fd, sec, err);
	close(fd);
	return rc;
}

static int
near(double a, double b)
{
	double	 d = a - b;

	return (d < 0 ? -d : d) < 1e-9;
}

static void
expect_ok(probe_fn fn, const struct bld *b, double want, const char *name)
{
	struct mr_err	 err;
	double		 sec;
	int		 rc;

	rc = probe(fn, b, &sec, &err);
	if (!ok(rc == 0 && near(sec, want), "%s: %.6f s", name, want))
		printf("#   rc %d, %.9f s, detail '%s'\n", rc, sec, err.detail);
}

static void
expect_fail(probe_fn fn, const struct bld *b, const char *needle,
    const char *name)
{
	struct mr_err	 err;
	double		 sec;
	int		 rc;

	rc = probe(fn, b, &sec, &err);
	if (!ok(rc == -1 && err.status == 422 && err.code != NULL &&
	    strcmp(err.code, "unreadable_media") == 0 &&
	    strstr(err.detail, needle) != NULL, "%s: %s", name, err.detail))
		printf("#   rc %d, %.9f s, want a detail with '%s'\n", rc,
		    sec, needle);
}

/*
 * Probe every prefix of b, longest first, by shrinking one memfd.  want
 * says whether a prefix must succeed (1) or fail (0), and may replace
 * the expected duration, full by default, in *sec; NULL means only the
 * whole file succeeds.
 */
static void
every_prefix(probe_fn fn, const struct bld *b, double full,
    int (*want)(const struct bld *, size_t, double *), const char *name)
{
	struct mr_err	 err;
	double		 sec, w;
	size_t		 len, good = 0, bad = 0;
	int		 fd, rc, expect;

	fd = memfd(b->p, b->len);
	for (len = b->len + 1; len-- > 0; ) {
		if (ftruncate(fd, (off_t)len) == -1)
			break;
		mr_err_clear(&err);
		sec = -1;
		rc = fn(fd, &sec, &err);
		w = full;
		expect = want != NULL ? want(b, len, &w) : len == b->len;
		if (rc == 0 && expect && near(sec, w))
			good++;
		else if (rc == -1 && !expect && err.status == 422 &&
		    err.detail[0] != '\0')
			continue;
		else {
			if (bad++ == 0)
				printf("# %s: length %zu: rc %d, %.9f s, "
				    "'%s'\n", name, len, rc, sec, err.detail);
		}
	}
	close(fd);
	ok(bad == 0 && len == (size_t)-1, "%s: all %zu prefixes "
	    "give -1 or the right duration (%zu succeed)", name, b->len + 1,
	    good);
}

static int
never(const struct bld *b MR_UNUSED, size_t len MR_UNUSED,
    double *sec MR_UNUSED)
{
	return 0;
}

/* Only lengths that end on a top-level box boundary after moov succeed. */
static int
mp4_prefix(const struct bld *b, size_t len, double *sec MR_UNUSED)
{
	size_t		 off = 0, size;
	int		 moov = 0;

	while (off < len) {
		if (len - off < 8)
			return 0;
		size = (size_t)b->p[off] << 24 | (size_t)b->p[off + 1] << 16 |
		    (size_t)b->p[off + 2] << 8 | b->p[off + 3];
		if (size == 1) {
			size = 0;
			for (int i = 8; i < 16; i++)
				size = size << 8 | b->p[off + i];
		} else if (size == 0)
			size = len - off;
		if (size > len - off)
			return 0;
		if (memcmp(b->p + off + 4, "moov", 4) == 0)
			moov = 1;
		off += size;
	}
	return moov;
}

static void
flip_every_byte(probe_fn fn, const struct bld *b, const char *name)
{
	struct mr_err	 err;
	double		 sec;
	size_t		 i, bad = 0;
	int		 fd, rc;
	unsigned char	 c;

	fd = memfd(b->p, b->len);
	for (i = 0; i < b->len; i++) {
		c = b->p[i] ^ 0xff;
		if (pwrite(fd, &c, 1, (off_t)i) != 1)
			break;
		mr_err_clear(&err);
		sec = -1;
		rc = fn(fd, &sec, &err);
		if ((rc == 0 && !(sec >= 0)) || (rc == -1 &&
		    err.detail[0] == '\0') || (rc != 0 && rc != -1))
			bad++;
		c ^= 0xff;
		if (pwrite(fd, &c, 1, (off_t)i) != 1)
			break;
	}
	close(fd);
	ok(i == b->len && bad == 0, "%s: each byte inverted in turn: -1 with "
	    "a detail or a duration >= 0", name);
}

static int
load(const char *name, struct bld *b)
{
	const char	*src = getenv("MEETREC_SRCDIR");
	char		 path[4096], buf[8192];
	ssize_t		 n;
	int		 fd;

	bld_reset(b);
	snprintf(path, sizeof(path), "%s/t/fixtures/%s", src ? src : ".",
	    name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		put(b, buf, (size_t)n);
	close(fd);
	return n == 0 ? 0 : -1;
}

/* Bytes this process has read so far, from /proc/self/io; -1 if none. */
static long long
rchar(void)
{
	FILE		*fp;
	char		 line[128];
	long long	 v = -1;

	if ((fp = fopen("/proc/self/io", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

/* An unlinked temporary file; -1 after a failed test. */
static int
tmpfile_fd(void)
{
	const char	*dir = getenv("TMPDIR");
	char		 path[4096];
	int		 fd;

	snprintf(path, sizeof(path), "%s/probe-XXXXXX",
	    dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

/*
 * A moov-last MP4 whose mdat, a 64-bit largesize box, is a 5 GiB hole:
 * right answer, and a few KiB read.
 */
static void
sparse_mp4(void)
{
	struct bld	 b = { NULL, 0, 0 };
	struct mr_err	 err;
	struct stat	 st;
	uint64_t	 big = (5ULL << 30) + 12345;
	off_t		 end;
	double		 sec = -1;
	long long	 r0, r1;
	int		 fd, rc;

	if ((fd = tmpfile_fd()) == -1)
		return;
	ftyp(&b);
	put_be(&b, 1, 4);
	put(&b, "mdat", 4);
	put_be(&b, 16 + big, 8);
	end = (off_t)(b.len + big);
	if (pwrite(fd, b.p, b.len, 0) != (ssize_t)b.len ||
	    ftruncate(fd, end) == -1) {
		ok(0, "sparse mp4: %s", strerror(errno));
		close(fd);
		free(b.p);
		return;
	}
	bld_reset(&b);
	moov(&b, 0, 600, 600 * 3600 + 300);
	if (pwrite(fd, b.p, b.len, end) != (ssize_t)b.len)
		ok(0, "sparse mp4: %s", strerror(errno));
	if (fstat(fd, &st) == -1)
		memset(&st, 0, sizeof(st));
	ok((uint64_t)st.st_size > 4ULL << 30 &&
	    (uint64_t)st.st_blocks * 512 < 1 << 20,
	    "sparse mp4: %lld bytes, %lld allocated", (long long)st.st_size,
	    (long long)st.st_blocks * 512);
	mr_err_clear(&err);
	r0 = rchar();
	rc = mr_probe_duration(fd, &sec, &err);
	r1 = rchar();
	if (!ok(rc == 0 && near(sec, 3600.5), "sparse mp4: moov after a "
	    "5 GiB largesize mdat: 3600.5 s"))
		printf("#   rc %d, %.9f s, '%s'\n", rc, sec, err.detail);
	if (r0 < 0)
		ok(1, "# skip /proc/self/io is not readable");
	else
		ok(r1 - r0 < 4096, "sparse mp4: the probe read %lld bytes",
		    r1 - r0);
	close(fd);
	free(b.p);
}

/* An Ogg Opus file with a 10 MiB hole between its head and last page. */
static void
sparse_ogg(void)
{
	struct bld	 b = { NULL, 0, 0 };
	struct mr_err	 err;
	unsigned char	 pkt[200];
	off_t		 at = 10 << 20;
	double		 sec = -1;
	long long	 r0, r1;
	int		 fd, rc;

	if ((fd = tmpfile_fd()) == -1)
		return;
	memset(pkt, 0x33, sizeof(pkt));
	opus_head(&b, 1, 3840);
	opus_tags(&b, 1);
	if (pwrite(fd, b.p, b.len, 0) != (ssize_t)b.len)
		ok(0, "sparse ogg: %s", strerror(errno));
	bld_reset(&b);
	ogg_page(&b, 0x04, 3840 + 48000 * 600ULL, 1, 2, pkt, sizeof(pkt), 1);
	if (pwrite(fd, b.p, b.len, at) != (ssize_t)b.len)
		ok(0, "sparse ogg: %s", strerror(errno));
	mr_err_clear(&err);
	r0 = rchar();
	rc = mr_probe_duration(fd, &sec, &err);
	r1 = rchar();
	if (!ok(rc == 0 && near(sec, 600), "sparse ogg: last page 10 MiB "
	    "on: 600 s"))
		printf("#   rc %d, %.9f s, '%s'\n", rc, sec, err.detail);
	if (r0 < 0)
		ok(1, "# skip /proc/self/io is not readable");
	else
		ok(r1 - r0 < 512 * 1024, "sparse ogg: the probe read %lld "
		    "bytes (first page and the window)", r1 - r0);
	/* 300 KiB of nothing after the last page: past the window. */
	if (ftruncate(fd, at + (off_t)b.len + 300 * 1024) == -1)
		ok(0, "sparse ogg: %s", strerror(errno));
	mr_err_clear(&err);
	rc = mr_ogg_duration(fd, &sec, &err);
	ok(rc == -1 && strstr(err.detail, "in the last 262144 bytes") != NULL,
	    "sparse ogg: no page in the last 256 KiB: %s", err.detail);
	close(fd);
	free(b.p);
}

/* Read errors are 500 "io_error" with the errno text in the cause. */
static void
io_errors(struct bld *b)
{
	static const probe_fn	 fn[] = {
		mr_mp4_duration, mr_ogg_duration, mr_probe_duration
	};
	struct mr_err	 err;
	const char	*dir = getenv("TMPDIR");
	char		 path[4096];
	double		 sec;
	size_t		 i;
	int		 fd, wfd = -1, pfd[2];

	mr_err_clear(&err);
	ok(mr_probe_duration(-1, &sec, &err) == -1 && err.status == 500 &&
	    strcmp(err.code, "io_error") == 0 &&
	    strstr(err.cause, "fstat") != NULL,
	    "bad descriptor: 500 io_error (%s)", err.cause);

	/* A write-only descriptor: fstat works, pread does not. */
	bld_reset(b);
	opus_file(b);
	snprintf(path, sizeof(path), "%s/probe-XXXXXX",
	    dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) != -1) {
		wfd = open(path, O_WRONLY | O_CLOEXEC);
		unlink(path);
		if (write(fd, b->p, b->len) != (ssize_t)b->len) {
			close(wfd);
			wfd = -1;
		}
		close(fd);
	}
	for (i = 0; i < MR_NELEM(fn); i++) {
		mr_err_clear(&err);
		ok(wfd != -1 && fn[i](wfd, &sec, &err) == -1 &&
		    err.status == 500 && strcmp(err.code, "io_error") == 0 &&
		    strstr(err.cause, "pread at offset 0") != NULL,
		    "write-only descriptor, probe %zu: 500 io_error (%s)", i,
		    err.cause);
	}
	if (wfd != -1)
		close(wfd);

	if (pipe(pfd) == 0) {
		mr_err_clear(&err);
		ok(mr_probe_duration(pfd[0], &sec, &err) == -1 &&
		    err.status == 422 &&
		    strstr(err.detail, "not a regular file") != NULL,
		    "pipe: %s", err.detail);
		close(pfd[0]);
		close(pfd[1]);
	} else
		ok(0, "pipe: %s", strerror(errno));
}

static void
mp4_good(struct bld *b)
{
	size_t	 at, at2;

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 1000, 12345);
	mdat(b, 100);
	expect_ok(mr_mp4_duration, b, 12.345, "mp4 moov first, mvhd v0");
	expect_ok(mr_probe_duration, b, 12.345, "probe picks mp4 (ftyp)");
	every_prefix(mr_mp4_duration, b, 12.345, mp4_prefix,
	    "mp4 moov first");

	bld_reset(b);
	ftyp(b);
	mdat64(b, 300);
	moov(b, 0, 48000, 48000 * 7 + 24000);
	expect_ok(mr_mp4_duration, b, 7.5, "mp4 moov last, largesize mdat");
	every_prefix(mr_mp4_duration, b, 7.5, NULL, "mp4 moov last");

	bld_reset(b);
	ftyp(b);
	moov(b, 1, 90000, 5000000000ULL);
	mdat64(b, 10);
	expect_ok(mr_mp4_duration, b, 5000000000.0 / 90000,
	    "mp4 mvhd version 1 (64-bit duration)");
	every_prefix(mr_mp4_duration, b, 5000000000.0 / 90000, mp4_prefix,
	    "mp4 mvhd v1");

	bld_reset(b);
	moov(b, 0, 1, 42);
	put_be(b, 0, 4);		/* size 0: to the end of the file */
	put(b, "mdat", 4);
	put_zero(b, 50);
	expect_ok(mr_probe_duration, b, 42, "probe picks mp4 (moov first), "
	    "size-0 mdat runs to the end");

	bld_reset(b);
	ftyp(b);
	at = box_open(b, "uuid");
	put(b, "0123456789abcdef", 16);
	put_zero(b, 5);
	box_close(b, at);
	moov(b, 0, 10, 25);
	expect_ok(mr_mp4_duration, b, 2.5, "mp4 uuid box skipped");

	bld_reset(b);
	ftyp(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	at2 = box_open(b, "mvex");
	{
		size_t	 m = box_open(b, "mehd");

		put_be(b, 0, 4);
		put_be(b, 61500, 4);
		box_close(b, m);
	}
	box_close(b, at2);
	box_close(b, at);
	expect_ok(mr_mp4_duration, b, 61.5, "mp4 fragmented: mehd v0 when "
	    "mvhd says 0");
	every_prefix(mr_mp4_duration, b, 61.5, mp4_prefix, "mp4 mehd");

	bld_reset(b);
	ftyp(b);
	at = box_open(b, "moov");
	mvhd(b, 1, 1000, 0);
	at2 = box_open(b, "mvex");
	{
		size_t	 m = box_open(b, "mehd");

		put_be(b, 1ULL << 24, 4);
		put_be(b, 1ULL << 33, 8);
		box_close(b, m);
	}
	box_close(b, at2);
	box_close(b, at);
	expect_ok(mr_mp4_duration, b, (double)(1ULL << 33) / 1000,
	    "mp4 fragmented: mehd v1");

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 1000, 0);
	expect_ok(mr_mp4_duration, b, 0, "mp4 mvhd duration 0, not "
	    "fragmented: 0 s");
}

static void
mp4_bad(struct bld *b)
{
	size_t	 at, i;

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 1000, 1);
	mdat(b, 10);
	b->p[b->len - 18 + 3] += 1;	/* mdat one byte past the end */
	expect_fail(mr_mp4_duration, b, "overruns the file", "mp4 mdat "
	    "size overruns the file");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 1);
	box_close(b, at);
	b->p[at + 8 + 3] += 4;		/* mvhd 4 bytes bigger than moov */
	put_zero(b, 4);
	expect_fail(mr_mp4_duration, b, "overruns box 'moov'", "mp4 mvhd "
	    "size overruns its parent");

	bld_reset(b);
	ftyp(b);
	put_be(b, 4, 4);
	put(b, "free", 4);
	expect_fail(mr_mp4_duration, b, "smaller than its 8-byte header",
	    "mp4 box size 4");

	bld_reset(b);
	ftyp(b);
	put_be(b, 1, 4);
	put(b, "mdat", 4);
	put_be(b, 8, 8);
	expect_fail(mr_mp4_duration, b, "largesize of 8", "mp4 largesize 8");

	bld_reset(b);
	ftyp(b);
	put_be(b, 1, 4);
	put(b, "mdat", 4);
	put_be(b, UINT64_MAX, 8);
	expect_fail(mr_mp4_duration, b, "overruns the file", "mp4 largesize "
	    "2^64-1 (would wrap an offset)");

	bld_reset(b);
	ftyp(b);
	put_be(b, 1, 4);
	put(b, "mdat", 4);
	put_be(b, INT64_MAX, 8);
	expect_fail(mr_mp4_duration, b, "overruns the file", "mp4 largesize "
	    "2^63-1 (would overflow off_t)");

	bld_reset(b);
	ftyp(b);
	put_be(b, 1, 4);
	put(b, "mdat", 4);
	put_be(b, 0, 4);
	expect_fail(mr_mp4_duration, b, "Truncated largesize", "mp4 "
	    "largesize cut off");

	bld_reset(b);
	ftyp(b);
	put_be(b, 20, 4);
	put(b, "uuid", 4);
	put_zero(b, 12);
	expect_fail(mr_mp4_duration, b, "smaller than its 24-byte header",
	    "mp4 uuid box shorter than its extended type");

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 0, 100);
	expect_fail(mr_mp4_duration, b, "timescale is zero", "mp4 timescale "
	    "0");

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 1000, UINT32_MAX);
	expect_fail(mr_mp4_duration, b, "duration is unknown", "mp4 v0 "
	    "duration 0xffffffff");

	bld_reset(b);
	ftyp(b);
	moov(b, 1, 1000, UINT64_MAX);
	expect_fail(mr_mp4_duration, b, "duration is unknown", "mp4 v1 "
	    "duration all ones");

	bld_reset(b);
	ftyp(b);
	moov(b, 2, 1000, 10);
	expect_fail(mr_mp4_duration, b, "Unsupported mvhd version 2",
	    "mp4 mvhd version 2");

	bld_reset(b);
	at = box_open(b, "moov");
	{
		size_t	 m = box_open(b, "mvhd");

		put_be(b, 0, 4);
		put_zero(b, 12);	/* ends before the duration */
		box_close(b, m);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "mvhd box is too short (16 bytes) "
	    "for version 0", "mp4 mvhd v0 too short");

	bld_reset(b);
	at = box_open(b, "moov");
	{
		size_t	 m = box_open(b, "mvhd");

		put_be(b, 1ULL << 24, 4);
		put_zero(b, 24);
		box_close(b, m);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "too short (28 bytes) for version 1",
	    "mp4 mvhd v1 with a v0-sized payload");

	bld_reset(b);
	at = box_open(b, "moov");
	put(b, "\0\0\0\10mvhd", 8);
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "mvhd box is too short (0 bytes)",
	    "mp4 empty mvhd");

	bld_reset(b);
	ftyp(b);
	mdat(b, 64);
	expect_fail(mr_mp4_duration, b, "no moov", "mp4 without moov");

	bld_reset(b);
	ftyp(b);
	at = box_open(b, "moov");
	mdat(b, 4);
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "no mvhd", "mp4 moov without mvhd");

	bld_reset(b);
	moov(b, 0, 1, 1);
	moov(b, 0, 1, 2);
	expect_fail(mr_mp4_duration, b, "more than one moov", "mp4 two "
	    "moov boxes");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1, 1);
	mvhd(b, 0, 1, 2);
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "more than one mvhd", "mp4 two "
	    "mvhd boxes");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), m = box_open(b, "mehd");

		put_be(b, 0, 4);
		put_be(b, UINT32_MAX, 4);
		box_close(b, m);
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "fragment duration is unknown",
	    "mp4 mehd all ones");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), m = box_open(b, "mehd");

		put_be(b, 2ULL << 24, 4);
		put_be(b, 1, 8);
		box_close(b, m);
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "Unsupported mehd version 2", "mp4 "
	    "mehd version 2");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), m = box_open(b, "mehd");

		put_be(b, 1ULL << 24, 4);
		put_be(b, 1, 4);
		box_close(b, m);
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "mehd box is too short (8 bytes) for "
	    "version 1", "mp4 mehd v1 with a v0-sized payload");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), m = box_open(b, "mehd");

		put_be(b, 0, 2);
		box_close(b, m);
		m = box_open(b, "mehd");
		put_be(b, 0, 8);
		box_close(b, m);
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "mehd box is too short (2 bytes)",
	    "mp4 mehd of 2 bytes");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), m;

		for (i = 0; i < 2; i++) {
			m = box_open(b, "mehd");
			put_be(b, 0, 4);
			put_be(b, 1000, 4);
			box_close(b, m);
		}
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "more than one mehd", "mp4 two mehd "
	    "boxes");

	bld_reset(b);
	at = box_open(b, "moov");
	mvhd(b, 0, 1000, 0);
	{
		size_t	 x = box_open(b, "mvex"), t = box_open(b, "trex");

		put_zero(b, 24);
		box_close(b, t);
		box_close(b, x);
	}
	box_close(b, at);
	expect_fail(mr_mp4_duration, b, "fragmented and neither",
	    "mp4 fragmented without mehd");

	bld_reset(b);
	ftyp(b);
	moov(b, 0, 1000, 1000);
	put(b, "\0\0\0\1\1", 5);
	expect_fail(mr_mp4_duration, b, "Truncated box header at offset",
	    "mp4 5 stray bytes at the end");

	bld_reset(b);
	ftyp(b);
	for (i = 0; i <= MR_MP4_MAX_BOXES; i++)
		put(b, "\0\0\0\10free", 8);
	moov(b, 0, 1000, 1000);
	expect_fail(mr_mp4_duration, b, "more than 100000 boxes", "mp4 "
	    "100001 empty boxes");

	bld_reset(b);
	expect_fail(mr_probe_duration, b, "empty", "probe of an empty file");
	put(b, "hello, world", 12);
	expect_fail(mr_probe_duration, b, "neither MP4 nor Ogg", "probe of "
	    "a text file");
	expect_fail(mr_mp4_duration, b, "overruns the file", "mp4 probe of "
	    "a text file");
}

static void
ogg_good(struct bld *b)
{
	unsigned char	 pkt[510], big[65024];
	uint32_t	 k;

	memset(pkt, 0x11, sizeof(pkt));
	memset(big, 0x44, sizeof(big));
	bld_reset(b);
	opus_file(b);
	expect_ok(mr_ogg_duration, b, 2.0, "ogg opus, 10 pages");
	expect_ok(mr_probe_duration, b, 2.0, "probe picks ogg");
	every_prefix(mr_ogg_duration, b, 2.0, NULL, "ogg opus");

	bld_reset(b);
	opus_file(b);
	ogg_page(b, 0x04, 48000 * 99, 8, 0, pkt, 10, 1);
	expect_ok(mr_ogg_duration, b, 2.0, "ogg last page of another stream "
	    "passed over");

	bld_reset(b);
	vorbis_file(b);
	expect_ok(mr_ogg_duration, b, 3.0, "ogg vorbis 44.1 kHz");
	expect_ok(mr_probe_duration, b, 3.0, "probe picks ogg vorbis");
	every_prefix(mr_ogg_duration, b, 3.0, NULL, "ogg vorbis");

	/*
	 * Two streams begun together, the second ending last: both end.
	 * Then the end of the first 128 KiB before the end of the file,
	 * behind two large pages of the second: found in a later chunk.
	 */
	bld_reset(b);
	opus_head(b, 7, 312);
	opus_head(b, 8, 312);
	opus_tags(b, 7);
	opus_tags(b, 8);
	for (k = 1; k <= 4; k++) {
		ogg_page(b, k == 4 ? 0x04 : 0, 312 + 24000 * (uint64_t)k, 7,
		    1 + k, pkt, 100, 1);
		ogg_page(b, 0, 312 + 24000 * (uint64_t)k, 8, 1 + k, pkt, 100,
		    1);
	}
	ogg_page(b, 0x04, 312 + 48000 * 3, 8, 6, pkt, 100, 1);
	expect_ok(mr_ogg_duration, b, 2.0, "ogg two streams, the second "
	    "ends last");
	every_prefix(mr_ogg_duration, b, 2.0, NULL, "ogg two streams");
	b->len -= 128;
	ogg_page(b, 0, 312 + 48000 * 3, 8, 6, big, sizeof(big), 1);
	ogg_page(b, 0, 312 + 48000 * 4, 8, 7, big, sizeof(big), 1);
	ogg_page(b, 0x04, 312 + 48000 * 5, 8, 8, pkt, 100, 1);
	expect_ok(mr_ogg_duration, b, 2.0, "ogg end of the stream 128 KiB "
	    "before the end of the file: found in a later chunk");
}

/*
 * Files cut short or damaged at the end: refused with a detail that says
 * so, never measured by what they still hold.
 */
static void
ogg_cut(struct bld *b)
{
	static unsigned char	 big[60000];
	unsigned char		 pkt[510];
	uint32_t		 k;

	memset(pkt, 0x33, sizeof(pkt));
	bld_reset(b);
	opus_file(b);
	b->len -= 128;			/* exactly the last page */
	expect_fail(mr_ogg_duration, b, "(serial 7) stops without its "
	    "end-of-stream page: the file was cut short", "ogg cut at a page "
	    "boundary");
	bld_reset(b);
	opus_file(b);
	b->len -= 50;
	expect_fail(mr_ogg_duration, b, "The last 78 bytes of the file are "
	    "not a whole Ogg page", "ogg cut inside the last page");

	/* A packet left unfinished: its pages have granule -1, no EOS. */
	bld_reset(b);
	opus_file(b);
	ogg_page(b, 0, UINT64_MAX, 7, 10, pkt, sizeof(pkt), 0);
	ogg_page(b, 1, UINT64_MAX, 7, 11, pkt, sizeof(pkt), 0);
	expect_fail(mr_ogg_duration, b, "(serial 7) stops without its "
	    "end-of-stream page", "ogg pages after the end, a packet left "
	    "unfinished");

	bld_reset(b);
	opus_file(b);
	b->p[b->len - 1] ^= 1;
	expect_fail(mr_ogg_duration, b, "are not a whole Ogg page (1 with a "
	    "CRC mismatch)", "ogg last page with a bad CRC");
	/* The tail must be whole pages: here the end of stream 7 is not. */
	bld_reset(b);
	opus_file(b);
	b->p[b->len - 1] ^= 1;
	ogg_page(b, 0x04, 48000 * 99, 8, 0, pkt, 10, 1);
	expect_fail(mr_ogg_duration, b, "are not whole Ogg pages (1 with a "
	    "CRC mismatch): it is damaged", "ogg bad CRC on the end of the "
	    "stream, before another stream's last page");

	bld_reset(b);
	opus_file(b);
	put_zero(b, 3000);
	put(b, "OggS", 4);
	put_zero(b, 100);
	expect_fail(mr_ogg_duration, b, "The last 3104 bytes of the file are "
	    "not a whole Ogg page", "ogg trailing bytes after the end");

	/* Two streams: the first ends, the second never does. */
	bld_reset(b);
	opus_head(b, 7, 312);
	opus_head(b, 8, 312);
	ogg_page(b, 0, 48312, 8, 1, pkt, 100, 1);
	ogg_page(b, 0x04, 48312, 7, 1, pkt, 100, 1);
	expect_fail(mr_ogg_duration, b, "(serial 8) stops without its "
	    "end-of-stream page", "ogg second stream cut short");
	bld_reset(b);
	opus_head(b, 7, 312);
	opus_head(b, 8, 312);
	ogg_page(b, 0x04, 48312, 7, 1, pkt, 100, 1);
	expect_fail(mr_ogg_duration, b, "(serial 8) stops without its "
	    "end-of-stream page", "ogg second stream with no page after "
	    "its head");

	/*
	 * A second stream that ended long before the end of the file, out
	 * of the window: its end cannot be seen, so the file is refused
	 * rather than measured (the rule's price for reading a bounded
	 * tail; LiveKit writes one stream).
	 */
	bld_reset(b);
	opus_head(b, 7, 312);
	opus_head(b, 8, 312);
	ogg_page(b, 0x04, 48312, 8, 1, pkt, 100, 1);
	for (k = 1; k <= 5; k++)
		ogg_page(b, 0, 48312 * (uint64_t)k, 7, k, big, sizeof(big), 1);
	ogg_page(b, 0x04, 48312 * 6, 7, 6, pkt, 100, 1);
	expect_fail(mr_ogg_duration, b, "Not every Ogg stream ends in the last "
	    "262144 bytes", "ogg second stream ended before the window");
}

static void
ogg_bad(struct bld *b)
{
	unsigned char	 pkt[300];
	size_t		 i;

	memset(pkt, 0x22, sizeof(pkt));
	ogg_cut(b);

	bld_reset(b);
	opus_file(b);
	b->p[30] ^= 0x40;
	expect_fail(mr_ogg_duration, b, "CRC mismatch", "ogg first page "
	    "bad CRC");

	bld_reset(b);
	opus_head(b, 3, 312);
	for (i = 0; i < 6; i++)
		ogg_page(b, i == 5 ? 0x04 : 0, UINT64_MAX, 3, (uint32_t)i + 1,
		    pkt, 255, 0);
	expect_fail(mr_ogg_duration, b, "No page with a granule position",
	    "ogg granule -1 everywhere");

	bld_reset(b);
	opus_head(b, 3, 312);
	opus_tags(b, 3);
	for (i = 0; i < 4; i++) {
		ogg_page(b, 0, 960 * (i + 1), 3, (uint32_t)i + 2, pkt, 100, 1);
		b->p[b->len - 1] ^= 0x80;
	}
	b->p[60] ^= 0x80;		/* and the OpusTags page */
	expect_fail(mr_ogg_duration, b, "(5 with a CRC mismatch)", "ogg bad "
	    "CRC on every page after the first");

	bld_reset(b);
	opus_head(b, 3, 312);
	b->len = 27 + 1;
	b->p[26] = 10;			/* ten lacing values, one there */
	expect_fail(mr_ogg_duration, b, "truncated segment table", "ogg "
	    "truncated segment table");

	bld_reset(b);
	opus_head(b, 3, 312);
	b->len -= 5;
	expect_fail(mr_ogg_duration, b, "truncated page body", "ogg first "
	    "page cut short");

	bld_reset(b);
	put(b, "OggS", 4);
	put_zero(b, 10);
	expect_fail(mr_ogg_duration, b, "truncated page header", "ogg 14 "
	    "bytes");

	bld_reset(b);
	opus_head(b, 3, 312);
	b->p[4] = 1;
	expect_fail(mr_ogg_duration, b, "unsupported page version", "ogg page "
	    "version 1");

	bld_reset(b);
	ogg_page(b, 0, 0, 3, 0, "OpusHead\1\2\70\1\200\273\0\0\0\0\0", 19, 1);
	opus_file(b);
	expect_fail(mr_ogg_duration, b, "does not begin a stream", "ogg "
	    "first page without BOS");

	bld_reset(b);
	ogg_page(b, 2, 0, 3, 0, "OpusHead\1\2\70\1", 12, 1);
	expect_fail(mr_ogg_duration, b, "OpusHead packet is too short (12",
	    "ogg short OpusHead");

	bld_reset(b);
	ogg_page(b, 2, 0, 3, 0, "OpusHead\20\2\70\1\200\273\0\0\0\0\0", 19,
	    1);
	expect_fail(mr_ogg_duration, b, "Unsupported OpusHead version 16",
	    "ogg OpusHead major version 1");

	bld_reset(b);
	ogg_page(b, 2, 0, 3, 0, "\177FLAC\1\0\0\1fLaC", 13, 1);
	ogg_page(b, 4, 44100, 3, 1, pkt, 10, 1);
	expect_fail(mr_ogg_duration, b, "neither Opus nor Vorbis", "ogg "
	    "FLAC");

	bld_reset(b);
	memcpy(pkt, "OpusHead", 8);
	ogg_page(b, 2, 0, 3, 0, pkt, 255, 0);
	expect_fail(mr_ogg_duration, b, "does not end on the first page",
	    "ogg head packet runs on");

	bld_reset(b);
	opus_head(b, 3, 312);
	opus_tags(b, 3);
	ogg_page(b, 4, 100, 3, 2, pkt, 50, 1);
	expect_fail(mr_ogg_duration, b, "(100) is before the Opus pre-skip "
	    "(312)", "ogg granule before the pre-skip");

	bld_reset(b);
	opus_head(b, 3, 312);
	opus_tags(b, 3);
	expect_fail(mr_ogg_duration, b, "(serial 3) stops without its "
	    "end-of-stream page", "ogg headers only");
	ogg_page(b, 0x04, 0, 3, 2, pkt, 50, 1);
	expect_fail(mr_ogg_duration, b, "(0) is before the Opus pre-skip",
	    "ogg headers and an empty end");

	bld_reset(b);
	opus_head(b, 3, 312);
	expect_fail(mr_ogg_duration, b, "No page with a granule position",
	    "ogg head page only");

	bld_reset(b);
	opus_head(b, 3, 312);
	ogg_page(b, 4, 1ULL << 63, 3, 1, pkt, 50, 1);
	expect_fail(mr_ogg_duration, b, "negative granule", "ogg granule "
	    "2^63");

	bld_reset(b);
	vorbis_head(b, 0, 0, 30);
	ogg_page(b, 4, 1000, 9, 1, pkt, 50, 1);
	expect_fail(mr_ogg_duration, b, "sample rate is zero", "ogg vorbis "
	    "rate 0");

	bld_reset(b);
	vorbis_head(b, 0, 44100, 20);
	expect_fail(mr_ogg_duration, b, "identification header is too short",
	    "ogg vorbis header 20 bytes");

	bld_reset(b);
	vorbis_head(b, 1, 44100, 30);
	expect_fail(mr_ogg_duration, b, "Unsupported Vorbis version 1",
	    "ogg vorbis version 1");

	/*
	 * A window packed with headers claiming 64 KiB bodies: the scan
	 * stops checking CRCs after 1 MiB rather than running through
	 * hundreds of overlapping pages.
	 */
	bld_reset(b);
	opus_head(b, 3, 312);
	while (b->len < 300 * 1024) {
		put(b, "OggS", 4);
		put_zero(b, 22);
		put_le(b, 255, 1);
		for (i = 0; i < 255; i++)
			put_le(b, 255, 1);
	}
	expect_fail(mr_ogg_duration, b, "Too many damaged pages", "ogg "
	    "window full of overlapping 64 KiB pages");

	bld_reset(b);
	expect_fail(mr_ogg_duration, b, "empty", "ogg empty file");
	put(b, "RIFF\0\0\0\0WAVE", 12);
	expect_fail(mr_ogg_duration, b, "no OggS capture pattern", "ogg probe "
	    "of a WAV header");
}

static void
fixtures(struct bld *b)
{
	static const struct {
		const char	*name;
		double		 seconds;	/* < 0: must fail */
		const char	*detail;
	} fx[] = {
		{ "av-moov-last.mp4", 2.0, NULL },
		{ "av-faststart.mp4", 2.0, NULL },
		{ "av-frag.mp4", -1, "fragmented and neither" },
		{ "opus.ogg", 2.5, NULL },
		{ "opus-two-streams.ogg", 1.0, NULL },
		{ "vorbis.ogg", 1.5, NULL },
	};
	size_t	 i;
	int	 is_ogg;

	for (i = 0; i < MR_NELEM(fx); i++) {
		if (load(fx[i].name, b) == -1) {
			ok(0, "fixture %s: not found (set MEETREC_SRCDIR)",
			    fx[i].name);
			ok(0, "fixture %s", fx[i].name);
			continue;
		}
		if (fx[i].seconds < 0)
			expect_fail(mr_probe_duration, b, fx[i].detail,
			    fx[i].name);
		else
			expect_ok(mr_probe_duration, b, fx[i].seconds,
			    fx[i].name);
		is_ogg = strstr(fx[i].name, ".ogg") != NULL;
		if (fx[i].seconds < 0)
			every_prefix(mr_probe_duration, b, 0, never,
			    fx[i].name);
		else if (is_ogg)
			every_prefix(mr_ogg_duration, b, fx[i].seconds, NULL,
			    fx[i].name);
		else
			every_prefix(mr_mp4_duration, b, fx[i].seconds,
			    mp4_prefix, fx[i].name);
	}
	if (load("av-frag.mp4", b) == 0)
		flip_every_byte(mr_mp4_duration, b, "av-frag.mp4");
	else
		ok(0, "fixture av-frag.mp4");
	if (load("av-faststart.mp4", b) == 0)
		flip_every_byte(mr_mp4_duration, b, "av-faststart.mp4");
	else
		ok(0, "fixture av-faststart.mp4");
	if (load("opus.ogg", b) == 0)
		flip_every_byte(mr_ogg_duration, b, "opus.ogg");
	else
		ok(0, "fixture opus.ogg");
}

/* Run argv with no input or output; the exit status, or -1. */
static int
run(char *const argv[])
{
	pid_t	 pid;
	int	 st, fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Cross-check a fresh encode when ffmpeg is at hand (it is not in CI). */
static void
with_ffmpeg(void)
{
	static const struct {
		const char	*ext;
		const char	*codec;
		double		 tolerance;
	} enc[] = {
		/* Opus granules are exact; mvhd rounds to the AAC frame. */
		{ "ogg", "libopus", 1e-9 },
		{ "mp4", "aac", 0.05 },
	};
	const char	*dir = getenv("TMPDIR");
	char		 path[4096];
	struct mr_err	 err;
	double		 sec;
	size_t		 i;
	int		 fd, rc;

	for (i = 0; i < MR_NELEM(enc); i++) {
		snprintf(path, sizeof(path), "%s/probe-%ld.%s",
		    dir && *dir ? dir : "/tmp", (long)getpid(), enc[i].ext);
		{
			/* execvp wants char *, not string literals. */
			char	 a0[] = "ffmpeg", a1[] = "-nostdin",
				 a2[] = "-y", a3[] = "-f", a4[] = "lavfi",
				 a5[] = "-i", a7[] = "-c:a", codec[16],
				 a6[] = "sine=frequency=300:sample_rate=48000:"
				    "duration=3.3";
			char	*argv[] = { a0, a1, a2, a3, a4, a5, a6, a7,
				 codec, path, NULL };

			snprintf(codec, sizeof(codec), "%s", enc[i].codec);
			rc = run(argv);
		}
		if (rc != 0) {
			ok(1, "# skip ffmpeg could not make a .%s file "
			    "(exit %d)", enc[i].ext, rc);
			unlink(path);
			continue;
		}
		sec = -1;
		mr_err_clear(&err);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			rc = -1;
		else {
			rc = mr_probe_duration(fd, &sec, &err);
			close(fd);
		}
		unlink(path);
		ok(rc == 0 && sec > 3.3 - enc[i].tolerance &&
		    sec < 3.3 + enc[i].tolerance, "ffmpeg %s 3.3 s: %.6f s %s",
		    enc[i].codec, sec, err.detail);
	}
}

int
main(void)
{
	struct bld	 b = { NULL, 0, 0 };

	ok(crc_bitwise((const unsigned char *)"123456789", 9) == 0x89a1897f,
	    "test CRC: CRC-32/CKSUM check value without its final xor");
	mp4_good(&b);
	mp4_bad(&b);
	sparse_mp4();
	ogg_good(&b);
	ogg_bad(&b);
	sparse_ogg();
	fixtures(&b);
	io_errors(&b);
	with_ffmpeg();
	free(b.p);
	return done_testing();
}
