/* SPDX-License-Identifier: ISC */
/*
 * mp4.c - the duration of an MP4 (ISO BMFF) recording from moov/mvhd.
 * The walk has the shape of ngx_http_mp4_module's
 * ngx_http_mp4_read_atom(): one table of { box type, handler } per
 * container level, and every size checked against what is left of the
 * parent before it is used.  Only box headers and the mvhd/mehd payloads
 * are read, with pread(2) into small buffers; mdat is stepped over by its
 * size.  This is not a demuxer: tracks, edit lists and fragments are not
 * looked at.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "probe.h"

#define UNKNOWN64	UINT64_MAX	/* an all-ones duration: not known */

struct mp4 {
	const struct mr_src *src;
	unsigned	 nboxes;
	int		 moov;		/* seen, to refuse a second one */
	int		 mvhd;
	int		 mvex;
	int		 mehd;
	uint32_t	 timescale;
	uint64_t	 duration;	/* from mvhd */
	uint64_t	 fragdur;	/* from mehd */
	struct mr_err	*err;
};

struct box {
	char		 type[5];	/* printable, for details */
	uint64_t	 start;		/* offset of the header */
	uint64_t	 data;		/* offset of the payload */
	uint64_t	 end;		/* offset just past the box */
};

struct box_handler {
	char		 type[4];
	int		(*fn)(struct mp4 *, const struct box *);
};

static int	walk(struct mp4 *, uint64_t, uint64_t,
		    const struct box_handler *, size_t, const char *);
static int	read_moov(struct mp4 *, const struct box *);
static int	read_mvhd(struct mp4 *, const struct box *);
static int	read_mvex(struct mp4 *, const struct box *);
static int	read_mehd(struct mp4 *, const struct box *);

static const struct box_handler top_boxes[] = {
	{ { 'm', 'o', 'o', 'v' }, read_moov },
};

static const struct box_handler moov_boxes[] = {
	{ { 'm', 'v', 'h', 'd' }, read_mvhd },
	{ { 'm', 'v', 'e', 'x' }, read_mvex },
};

static const struct box_handler mvex_boxes[] = {
	{ { 'm', 'e', 'h', 'd' }, read_mehd },
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A box type as it may appear in a client-facing detail. */
static void
type_str(char dst[5], const unsigned char *src)
{
	int	 i;

	for (i = 0; i < 4; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f && src[i] != '\'' &&
		    src[i] != '"' && src[i] != '\\' ? (char)src[i] : '?';
	dst[4] = '\0';
}

/*
 * Walk the boxes that tile [off, end) and hand the ones named in tab to
 * their handlers.  Sizes are compared with what is left of the parent
 * (end - off) rather than added to off, so no size, however large, can
 * overflow the arithmetic; end itself never exceeds the file size, which
 * fits in off_t.
 */
static int
walk(struct mp4 *m, uint64_t off, uint64_t end, const struct box_handler *tab,
    size_t ntab, const char *parent)
{
	unsigned char	 h[16];
	struct box	 b;
	uint64_t	 size, left, hlen;
	size_t		 i;

	while (off < end) {
		if (++m->nboxes > MR_MP4_MAX_BOXES)
			return mr_probe_unreadable(m->err, "The file has more than %d "
			    "boxes.", MR_MP4_MAX_BOXES);
		left = end - off;
		if (left < 8)
			return mr_probe_unreadable(m->err, "Truncated box header at "
			    "offset %llu in %s.", (unsigned long long)off,
			    parent);
		if (mr_src_read(m->src, (off_t)off, h, 8, m->err) == -1)
			return -1;
		type_str(b.type, h + 4);
		size = be32(h);
		hlen = 8;
		if (size == 1) {
			if (left < 16)
				return mr_probe_unreadable(m->err, "Truncated largesize "
				    "of box '%s' at offset %llu in %s.", b.type,
				    (unsigned long long)off, parent);
			if (mr_src_read(m->src, (off_t)off + 8, h + 8, 8,
			    m->err) == -1)
				return -1;
			size = be64(h + 8);
			hlen = 16;
			if (size < 16)
				return mr_probe_unreadable(m->err, "Box '%s' at offset "
				    "%llu has a largesize of %llu, smaller than "
				    "its 16-byte header.", b.type,
				    (unsigned long long)off,
				    (unsigned long long)size);
		} else if (size == 0)
			size = left;	/* runs to the end of the parent */
		else if (size < 8)
			return mr_probe_unreadable(m->err, "Box '%s' at offset %llu has "
			    "a size of %llu, smaller than its 8-byte header.",
			    b.type, (unsigned long long)off,
			    (unsigned long long)size);
		if (memcmp(h + 4, "uuid", 4) == 0)
			hlen += 16;	/* the extended type */
		if (size > left)
			return mr_probe_unreadable(m->err, "Box '%s' at offset %llu "
			    "(%llu bytes) overruns %s, which ends at %llu.",
			    b.type, (unsigned long long)off,
			    (unsigned long long)size, parent,
			    (unsigned long long)end);
		if (size < hlen)
			return mr_probe_unreadable(m->err, "Box '%s' at offset %llu is "
			    "smaller than its %llu-byte header.", b.type,
			    (unsigned long long)off, (unsigned long long)hlen);
		b.start = off;
		b.data = off + hlen;
		b.end = off + size;
		for (i = 0; i < ntab; i++)
			if (memcmp(h + 4, tab[i].type, 4) == 0 &&
			    tab[i].fn(m, &b) == -1)
				return -1;
		off = b.end;
	}
	return 0;
}

static int
read_moov(struct mp4 *m, const struct box *b)
{
	if (m->moov++)
		return mr_probe_unreadable(m->err, "The file has more than one moov "
		    "box.");
	return walk(m, b->data, b->end, moov_boxes, MR_NELEM(moov_boxes),
	    "box 'moov'");
}

static int
read_mvex(struct mp4 *m, const struct box *b)
{
	m->mvex = 1;
	return walk(m, b->data, b->end, mvex_boxes, MR_NELEM(mvex_boxes),
	    "box 'mvex'");
}

/*
 * mvhd is a full box: version and flags, then creation and modification
 * times, timescale and duration, 32-bit in version 0 and 64-bit (but for
 * the timescale) in version 1.  The fields after the duration are not
 * needed, so only a payload too short to hold these is refused.
 */
static int
read_mvhd(struct mp4 *m, const struct box *b)
{
	unsigned char	 p[32];
	uint64_t	 len = b->end - b->data;
	size_t		 need;

	if (m->mvhd++)
		return mr_probe_unreadable(m->err, "The moov box has more than one "
		    "mvhd box.");
	if (len < 4)
		return mr_probe_unreadable(m->err, "The mvhd box is too short (%llu "
		    "bytes).", (unsigned long long)len);
	if (mr_src_read(m->src, (off_t)b->data, p, 4, m->err) == -1)
		return -1;
	if (p[0] > 1)
		return mr_probe_unreadable(m->err, "Unsupported mvhd version %u.",
		    p[0]);
	need = p[0] == 0 ? 20 : 32;
	if (len < need)
		return mr_probe_unreadable(m->err, "The mvhd box is too short (%llu "
		    "bytes) for version %u.", (unsigned long long)len, p[0]);
	if (mr_src_read(m->src, (off_t)b->data + 4, p + 4, need - 4,
	    m->err) == -1)
		return -1;
	if (p[0] == 0) {
		m->timescale = be32(p + 12);
		m->duration = be32(p + 16);
		if (m->duration == UINT32_MAX)
			m->duration = UNKNOWN64;
	} else {
		m->timescale = be32(p + 20);
		m->duration = be64(p + 24);
	}
	if (m->timescale == 0)
		return mr_probe_unreadable(m->err, "The mvhd timescale is zero.");
	if (m->duration == UNKNOWN64)
		return mr_probe_unreadable(m->err, "The mvhd duration is unknown "
		    "(all ones).");
	return 0;
}

/* mehd: the duration of a fragmented movie, in the mvhd timescale. */
static int
read_mehd(struct mp4 *m, const struct box *b)
{
	unsigned char	 p[12];
	uint64_t	 len = b->end - b->data;
	size_t		 need;

	if (m->mehd++)
		return mr_probe_unreadable(m->err, "The mvex box has more than one "
		    "mehd box.");
	if (len < 4)
		return mr_probe_unreadable(m->err, "The mehd box is too short (%llu "
		    "bytes).", (unsigned long long)len);
	if (mr_src_read(m->src, (off_t)b->data, p, 4, m->err) == -1)
		return -1;
	if (p[0] > 1)
		return mr_probe_unreadable(m->err, "Unsupported mehd version %u.",
		    p[0]);
	need = p[0] == 0 ? 8 : 12;
	if (len < need)
		return mr_probe_unreadable(m->err, "The mehd box is too short (%llu "
		    "bytes) for version %u.", (unsigned long long)len, p[0]);
	if (mr_src_read(m->src, (off_t)b->data + 4, p + 4, need - 4,
	    m->err) == -1)
		return -1;
	if (p[0] == 0) {
		m->fragdur = be32(p + 4);
		if (m->fragdur == UINT32_MAX)
			m->fragdur = UNKNOWN64;
	} else
		m->fragdur = be64(p + 4);
	if (m->fragdur == UNKNOWN64)
		return mr_probe_unreadable(m->err, "The mehd fragment duration is "
		    "unknown (all ones).");
	return 0;
}

int
mr_mp4_duration(int fd, double *seconds, struct mr_err *err)
{
	struct mr_src	 src;

	if (mr_src_fd(&src, &fd, err) == -1)
		return -1;
	return mr_mp4_duration_src(&src, seconds, err);
}

int
mr_mp4_duration_src(const struct mr_src *src, double *seconds,
    struct mr_err *err)
{
	struct mp4	 m;
	uint64_t	 size = src->size, dur;

	memset(&m, 0, sizeof(m));
	m.src = src;
	m.err = err;
	if (size == 0)
		return mr_probe_unreadable(err, "The file is empty.");
	if (walk(&m, 0, size, top_boxes, MR_NELEM(top_boxes),
	    "the file") == -1)
		return -1;
	if (!m.moov)
		return mr_probe_unreadable(err, "The file has no moov box.");
	if (!m.mvhd)
		return mr_probe_unreadable(err, "The moov box has no mvhd box.");
	dur = m.duration;
	/*
	 * A fragmented file written live has nothing to put in mvhd when
	 * moov goes out; the total, if the muxer knew it, is in mehd.
	 * Without it the duration is the sum of the fragments, which this
	 * probe does not read: refuse rather than report zero.
	 */
	if (dur == 0 && m.mvex) {
		if (!m.mehd)
			return mr_probe_unreadable(err, "The file is fragmented and "
			    "neither mvhd nor mehd gives its duration.");
		dur = m.fragdur;
	}
	*seconds = (double)dur / m.timescale;
	return 0;
}
