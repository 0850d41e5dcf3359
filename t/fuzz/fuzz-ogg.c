/* SPDX-License-Identifier: ISC */
/*
 * fuzz-ogg.c - libFuzzer target for the Ogg duration probe.  The input
 * is written to a memfd and probed as it is, then as a longer file: the
 * input, a hole whose size the input's last byte picks, and the input
 * again, so that the backward scan crosses its chunk boundaries and the
 * end of its window with pages from a short input.  Beyond not
 * crashing, a result must make sense: a duration >= 0, or -1 with a
 * status and a detail.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mr.h"
#include "probe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int fd, int (*fn)(int, double *, struct mr_err *))
{
	struct mr_err	 err;
	double		 sec = -1;
	int		 rc;

	mr_err_clear(&err);
	rc = fn(fd, &sec, &err);
	if (rc == 0 && !(sec >= 0))
		abort();
	if (rc == -1 && (err.status == 0 || err.detail[0] == '\0'))
		abort();
	if (rc != 0 && rc != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 fd = -1;
	off_t		 at;

	/* One memfd for the whole run: creating one per input is slow. */
	if (fd == -1 && (fd = memfd_create("fuzz-ogg", MFD_CLOEXEC)) == -1)
		return 0;
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	check(fd, mr_ogg_duration);
	check(fd, mr_probe_duration);
	if (size == 0)
		return 0;
	/* From just inside one chunk to past the whole window. */
	at = (off_t)size + (off_t)data[size - 1] * 1031;
	if (pwrite(fd, data, size, at) != (ssize_t)size)
		return 0;
	check(fd, mr_ogg_duration);
	return 0;
}
