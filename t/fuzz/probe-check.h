/* SPDX-License-Identifier: ISC */
/*
 * probe-check.h - what fuzz-mp4.c and fuzz-ogg.c ask of a duration
 * probe's answer beyond not crashing: a duration >= 0, or -1 with a
 * status and a detail, and nothing else.
 */
#ifndef MR_FUZZ_PROBE_CHECK_H
#define MR_FUZZ_PROBE_CHECK_H

#include <stdlib.h>

#include "mr.h"

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

#endif /* MR_FUZZ_PROBE_CHECK_H */
