/* SPDX-License-Identifier: ISC */
/*
 * fuzz-mp4.c - libFuzzer target for the MP4 duration probe.  The input
 * is written to a memfd and probed as it is, then again with the file
 * stretched past 4 GiB by a hole (cheap: nothing is allocated), so that
 * 64-bit largesize boxes and size-0 boxes running to the end can fit.
 * Beyond not crashing, a result must make sense: a duration >= 0, or -1
 * with a status and a detail.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mr.h"
#include "probe.h"
#include "probe-check.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 fd = -1;

	/* One memfd for the whole run: creating one per input is slow. */
	if (fd == -1 && (fd = memfd_create("fuzz-mp4", MFD_CLOEXEC)) == -1)
		return 0;
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	check(fd, mr_mp4_duration);
	check(fd, mr_probe_duration);
	if (ftruncate(fd, (off_t)(5ULL << 30) + (off_t)size) == -1)
		return 0;
	check(fd, mr_mp4_duration);
	return 0;
}
