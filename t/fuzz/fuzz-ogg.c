/* SPDX-License-Identifier: ISC */
/*
 * fuzz-ogg.c - libFuzzer target for the Ogg duration probe.  Mutations
 * almost never keep a page's CRC right, so when the input's last byte is
 * even the harness first rewrites the CRC of every page that fits in the
 * input (as fuzz-webhook signs bodies), and the code behind the CRC
 * check is fuzzed too.  The input is probed as it is, then as a longer
 * file: the input, a hole whose size the last byte picks, and the input
 * again, so that the backward scan crosses its chunk boundaries and the
 * end of its window with pages from a short input.  Beyond not
 * crashing, a result must make sense: a duration >= 0, or -1 with a
 * status and a detail.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mr.h"
#include "probe.h"
#include "probe-check.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint32_t
crc(const unsigned char *p, size_t len)
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
 * Last page first, so that a page whose body holds another page's CRC
 * field is summed after that field has been rewritten.
 */
static void
fix_crcs(unsigned char *p, size_t size)
{
	size_t		 at, len, i;
	uint32_t	 c;

	for (at = size; at-- > 0; ) {
		if (size - at < 27 || memcmp(p + at, "OggS", 4) != 0)
			continue;
		len = 27 + (size_t)p[at + 26];
		for (i = 0; len <= size - at && i < p[at + 26]; i++)
			len += p[at + 27 + i];
		if (len > size - at)
			continue;
		memset(p + at + 22, 0, 4);
		c = crc(p + at, len);
		p[at + 22] = (unsigned char)c;
		p[at + 23] = (unsigned char)(c >> 8);
		p[at + 24] = (unsigned char)(c >> 16);
		p[at + 25] = (unsigned char)(c >> 24);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 fd = -1;
	unsigned char	*copy;
	off_t		 at;

	/* One memfd for the whole run: creating one per input is slow. */
	if (fd == -1 && (fd = memfd_create("fuzz-ogg", MFD_CLOEXEC)) == -1)
		return 0;
	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (copy[size - 1] % 2 == 0)
		fix_crcs(copy, size);
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, copy, size, 0) != (ssize_t)size)
		goto done;
	check(fd, mr_ogg_duration);
	check(fd, mr_probe_duration);
	/* From just inside one chunk to past the whole window. */
	at = (off_t)size + (off_t)copy[size - 1] * 1031;
	if (pwrite(fd, copy, size, at) != (ssize_t)size)
		goto done;
	check(fd, mr_ogg_duration);
done:
	free(copy);
	return 0;
}
