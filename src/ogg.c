/* SPDX-License-Identifier: ISC */
/*
 * ogg.c - the duration of an Ogg Opus or Ogg Vorbis recording: the
 * granule position of the last page, less the Opus pre-skip, over the
 * sample rate.  It reads the first pages (for the codec, the streams'
 * serials and the pre-skip or rate) and at most MR_OGG_WINDOW bytes at
 * the end, scanned backwards for the last pages, as opusfile and
 * vorbisfile do.  It does not decode packets and knows no other codec.
 *
 * A file cut short is refused, not measured: the writer of a whole file
 * ends every logical stream with a page flagged end of stream, and the
 * last of those pages ends exactly at the end of the file.  So the tail
 * of the file, from the page the duration comes from to the last byte,
 * must be an unbroken run of whole pages with matching CRCs, and the
 * last page the scan meets of each stream begun at the start of the
 * file (and of any other stream met on the way) must carry the flag.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "probe.h"

#define PAGE_HDR	27			/* up to the segment table */
#define PAGE_MAX	(PAGE_HDR + 255 + 255 * 255)
#define FLAG_BOS	0x02
#define FLAG_EOS	0x04
#define MAX_STREAMS	16		/* multiplexed streams followed */
#define NO_GRANULE	UINT64_MAX		/* -1: no packet ends here */
#define OPUS_RATE	48000			/* granules are 48 kHz */
/*
 * Bytes the backward scan may run through the CRC: sixteen of the largest
 * pages.  Stray "OggS" in the window claiming 64 KiB bodies could
 * otherwise make it check tens of MiB; a real file's last page checks out
 * at once, or after a damaged page or two.
 */
#define CRC_BUDGET	(4 * MR_OGG_WINDOW)

struct page {
	unsigned	 flags;
	uint64_t	 granule;
	uint32_t	 serial;
	size_t		 nsegs;
	size_t		 hlen;		/* header and segment table */
	size_t		 len;		/* the whole page */
};


/* Named so the scan can tell these from a stray "OggS". */
static const char	crc_mismatch[] = "CRC mismatch";
static const char	crc_budget[] = "too much to check";

/*
 * CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, initial
 * value and final xor 0.  A nibble table keeps the source short and is
 * fast enough for a few pages per probe.
 */
static const uint32_t	crc_nibble[16] = {
	0x00000000, 0x04c11db7, 0x09823b6e, 0x0d4326d9,
	0x130476dc, 0x17c56b6b, 0x1a864db2, 0x1e475005,
	0x2608edb8, 0x22c9f00f, 0x2f8ad6d6, 0x2b4bcb61,
	0x350c9b64, 0x31cd86d3, 0x3c8ea00a, 0x384fbdbd,
};


static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p + 4) << 32 | le32(p);
}

static uint32_t
crc_update(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len-- > 0) {
		crc = crc << 4 ^ crc_nibble[(crc >> 28) ^ (*p >> 4)];
		crc = crc << 4 ^ crc_nibble[(crc >> 28) ^ (*p & 0x0f)];
		p++;
	}
	return crc;
}

/* The CRC of a page is computed with its own CRC field set to zero. */
static uint32_t
page_crc(const unsigned char *p, size_t len)
{
	static const unsigned char	 zero[4];
	uint32_t			 crc;

	crc = crc_update(0, p, 22);
	crc = crc_update(crc, zero, sizeof(zero));
	return crc_update(crc, p + 26, len - 26);
}

/*
 * Parse the page at p, with avail bytes of the file from p on at hand,
 * taking the length of the page from *budget if it is there to take.
 * Returns NULL when it is a whole page with a matching CRC, else why not.
 */
static const char *
page_parse(const unsigned char *p, size_t avail, struct page *pg,
    size_t *budget)
{
	size_t	 i, body = 0;

	if (avail < 4 || memcmp(p, "OggS", 4) != 0)
		return "no OggS capture pattern";
	if (avail < PAGE_HDR)
		return "truncated page header";
	if (p[4] != 0)
		return "unsupported page version";
	pg->flags = p[5];
	pg->granule = le64(p + 6);
	pg->serial = le32(p + 14);
	pg->nsegs = p[26];
	pg->hlen = PAGE_HDR + pg->nsegs;
	if (avail < pg->hlen)
		return "truncated segment table";
	for (i = 0; i < pg->nsegs; i++)
		body += p[PAGE_HDR + i];
	pg->len = pg->hlen + body;
	if (avail < pg->len)
		return "truncated page body";
	if (pg->len > *budget)
		return crc_budget;
	*budget -= pg->len;
	if (page_crc(p, pg->len) != le32(p + 22))
		return crc_mismatch;
	return NULL;
}

/*
 * The first packet of the stream (it must end on the first page) names
 * the codec: OpusHead gives the pre-skip, and granules count 48 kHz
 * samples whatever the input rate; a Vorbis identification header gives
 * the sample rate.
 */
static int
id_header(const unsigned char *page, const struct page *pg, uint64_t *rate,
    uint64_t *preskip, struct mr_err *err)
{
	const unsigned char	*pkt = page + pg->hlen;
	size_t			 i, len = 0;

	for (i = 0; i < pg->nsegs; i++) {
		len += page[PAGE_HDR + i];
		if (page[PAGE_HDR + i] < 255)
			break;
	}
	if (i == pg->nsegs)
		return mr_probe_unreadable(err, "The first packet does not end on the "
		    "first page.");
	if (len >= 8 && memcmp(pkt, "OpusHead", 8) == 0) {
		if (len < 19)
			return mr_probe_unreadable(err, "The OpusHead packet is too "
			    "short (%zu bytes).", len);
		if (pkt[8] >> 4 != 0)
			return mr_probe_unreadable(err, "Unsupported OpusHead version "
			    "%u.", pkt[8]);
		*preskip = (uint64_t)pkt[11] << 8 | pkt[10];
		*rate = OPUS_RATE;
		return 0;
	}
	if (len >= 7 && memcmp(pkt, "\001vorbis", 7) == 0) {
		if (len < 30)
			return mr_probe_unreadable(err, "The Vorbis identification "
			    "header is too short (%zu bytes).", len);
		if (le32(pkt + 7) != 0)
			return mr_probe_unreadable(err, "Unsupported Vorbis version "
			    "%u.", le32(pkt + 7));
		if ((*rate = le32(pkt + 12)) == 0)
			return mr_probe_unreadable(err, "The Vorbis sample rate is "
			    "zero.");
		*preskip = 0;
		return 0;
	}
	return mr_probe_unreadable(err, "The Ogg stream is neither Opus nor Vorbis.");
}

/*
 * The streams the tail must end.  Those begun on the pages at the start of
 * the file (bos) must all be met; others met on the way are checked too.
 */
struct streams {
	uint32_t	 serial[MAX_STREAMS];
	int		 ended[MAX_STREAMS];	/* last page met */
	size_t		 n;
	size_t		 open;		/* BOS streams not met */
};

static size_t
stream_find(const struct streams *st, uint32_t serial)
{
	size_t	 i;

	for (i = 0; i < st->n; i++)
		if (st->serial[i] == serial)
			break;
	return i;
}

/*
 * The serials of the streams begun on the first pages of the file (all
 * the BOS pages come first in a multiplexed file), from the n bytes at
 * its start in buf, the first page already parsed into pg.
 */
static int
bos_streams(const unsigned char *buf, size_t n, const struct page *first,
    struct streams *st, struct mr_err *err)
{
	struct page	 pg;
	size_t		 off = first->len, budget;

	memset(st, 0, sizeof(*st));
	st->serial[st->n++] = first->serial;
	while (off < n) {
		budget = PAGE_MAX;
		if (page_parse(buf + off, n - off, &pg, &budget) != NULL ||
		    !(pg.flags & FLAG_BOS) ||
		    stream_find(st, pg.serial) < st->n)
			break;
		if (st->n == MAX_STREAMS)
			return mr_probe_unreadable(err, "The Ogg file "
			    "multiplexes more than %d streams.", MAX_STREAMS);
		st->serial[st->n++] = pg.serial;
		off += pg.len;
	}
	st->open = st->n;
	return 0;
}

/*
 * The page pg, which starts where the tail scanned so far begins, is the
 * last page of its stream if the scan has not met that stream yet: then
 * it must carry the end-of-stream flag.
 */
static int
stream_met(struct streams *st, const struct page *pg, struct mr_err *err)
{
	size_t	 i = stream_find(st, pg->serial);

	if (i < st->n && st->ended[i])
		return 0;
	if (!(pg->flags & FLAG_EOS))
		return mr_probe_unreadable(err, "The Ogg stream (serial %u) "
		    "stops without its end-of-stream page: the file was cut "
		    "short.", pg->serial);
	if (i == st->n) {
		if (st->n == MAX_STREAMS)
			return mr_probe_unreadable(err, "The Ogg file "
			    "multiplexes more than %d streams.", MAX_STREAMS);
		st->serial[st->n++] = pg->serial;
	} else
		st->open--;
	st->ended[i] = 1;
	return 0;
}

/*
 * Bytes from up to to (excluded) are not whole pages: at the end of the
 * file it was cut short, or something was written after its last page;
 * before the end, a page is damaged.  Returns -1.
 */
static int
gap(struct mr_err *err, uint64_t from, uint64_t to, uint64_t size,
    unsigned badcrc)
{
	char	 crc[48] = "";

	if (badcrc > 0)
		snprintf(crc, sizeof(crc), " (%u with a CRC mismatch)", badcrc);
	if (to == size)
		return mr_probe_unreadable(err, "The last %llu bytes of the "
		    "file are not a whole Ogg page%s: it was cut short or "
		    "damaged.", (unsigned long long)(to - from), crc);
	return mr_probe_unreadable(err, "Bytes %llu to %llu of the file are "
	    "not whole Ogg pages%s: it is damaged.", (unsigned long long)from,
	    (unsigned long long)(to - 1), crc);
}

int
mr_ogg_duration(int fd, double *seconds, struct mr_err *err)
{
	struct mr_src	 src;

	if (mr_src_fd(&src, &fd, err) == -1)
		return -1;
	return mr_ogg_duration_src(&src, seconds, err);
}

int
mr_ogg_duration_src(const struct mr_src *src, double *seconds,
    struct mr_err *err)
{
	struct page	 pg;
	struct streams	 st;
	unsigned char	*buf = NULL, *q;
	const char	*why;
	uint64_t	 size, lo, pmin, filled, p, n, next, granule = 0;
	uint64_t	 rate = 0, preskip = 0;
	size_t		 budget = PAGE_MAX;
	uint32_t	 serial;
	unsigned	 badcrc = 0;
	int		 found = 0;

	if ((size = src->size) == 0)
		return mr_probe_unreadable(err, "The file is empty.");
	/* One buffer for the first pages, then for the window at the end. */
	n = size < MR_OGG_WINDOW ? size : MR_OGG_WINDOW;
	if ((buf = malloc(n)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	n = size < PAGE_MAX ? size : PAGE_MAX;
	if (mr_src_read(src, 0, buf, n, err) == -1)
		goto fail;
	if ((why = page_parse(buf, n, &pg, &budget)) != NULL) {
		mr_probe_unreadable(err, "The first Ogg page is unreadable: %s.", why);
		goto fail;
	}
	if (!(pg.flags & FLAG_BOS)) {
		mr_probe_unreadable(err, "The first Ogg page does not begin a stream.");
		goto fail;
	}
	serial = pg.serial;
	if (id_header(buf, &pg, &rate, &preskip, err) == -1 ||
	    bos_streams(buf, n, &pg, &st, err) == -1)
		goto fail;

	/*
	 * Walk back from the end over the window, reading it in chunks only
	 * as the scan reaches them; a page that starts in a chunk ends in
	 * the ones already read.  Each page found must end where the one
	 * found before it begins (next), the first at the end of the file.
	 * The first page (offset 0) is a header page and is not a
	 * candidate.
	 */
	lo = size > MR_OGG_WINDOW ? size - MR_OGG_WINDOW : 0;
	pmin = lo > 0 ? lo : 1;
	filled = next = size;
	budget = CRC_BUDGET;
	if (size >= pmin + PAGE_HDR) {
		for (p = size - PAGE_HDR + 1; p-- > pmin; ) {
			if (p < filled) {
				n = filled - lo > MR_OGG_CHUNK ?
				    MR_OGG_CHUNK : filled - lo;
				if (mr_src_read(src, (off_t)(filled - n),
				    buf + (filled - n - lo), n, err) == -1)
					goto fail;
				filled -= n;
			}
			q = buf + (p - lo);
			if (q[0] != 'O' || memcmp(q, "OggS", 4) != 0)
				continue;
			if ((why = page_parse(q, next - p, &pg, &budget)) !=
			    NULL) {
				if (why == crc_budget) {
					mr_probe_unreadable(err, "Too many damaged pages "
					    "at the end of the file (%u with a "
					    "CRC mismatch).", badcrc);
					goto fail;
				}
				if (why == crc_mismatch)
					badcrc++;
				continue;
			}
			if (p + pg.len != next) {
				gap(err, p + pg.len, next, size, badcrc);
				goto fail;
			}
			next = p;
			if (stream_met(&st, &pg, err) == -1)
				goto fail;
			if (!found && pg.serial == serial &&
			    pg.granule != NO_GRANULE) {
				found = 1;
				granule = pg.granule;
			}
			if (found && st.open == 0)
				break;
		}
	}
	if (!found) {
		if (badcrc > 0)
			mr_probe_unreadable(err, "No page with a granule position in "
			    "the last %llu bytes (%u with a CRC mismatch).",
			    (unsigned long long)(size - lo), badcrc);
		else
			mr_probe_unreadable(err, "No page with a granule position in "
			    "the last %llu bytes.",
			    (unsigned long long)(size - lo));
		goto fail;
	}
	if (st.open > 0) {
		mr_probe_unreadable(err, "Not every Ogg stream ends in the "
		    "last %llu bytes: one was cut short, or ended long before "
		    "the file did.",
		    (unsigned long long)(size - lo));
		goto fail;
	}
	if (granule > INT64_MAX) {
		mr_probe_unreadable(err, "The last page has a negative granule "
		    "position.");
		goto fail;
	}
	if (granule < preskip) {
		mr_probe_unreadable(err, "The last granule position (%llu) is before "
		    "the Opus pre-skip (%llu).",
		    (unsigned long long)granule,
		    (unsigned long long)preskip);
		goto fail;
	}
	*seconds = (double)(granule - preskip) / (double)rate;
	free(buf);
	return 0;

fail:
	free(buf);
	return -1;
}
