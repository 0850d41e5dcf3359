/* SPDX-License-Identifier: ISC */
/*
 * fuzz-asr.c - libFuzzer target for the reader of speech-to-text
 * answers (mr_asr_parse in src/asr.c).  What it accepts must keep the
 * promises of asr.h: times finite, >= 0 and in order within a segment,
 * texts neither empty nor starting or ending in white space.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "asr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mr_arena	*a;
	struct mr_asr_result	 r;
	struct mr_err		 err;
	size_t			 i, n;
	const char		*t;

	if (a == NULL && (a = mr_arena_new(256 << 20)) == NULL)
		abort();
	mr_err_clear(&err);
	if (mr_asr_parse(a, (const char *)data, size, &r, &err) == 0) {
		if (!isfinite(r.duration) || r.duration < 0 ||
		    (r.nsegs > 0 && r.segs == NULL))
			abort();
		for (i = 0; i < r.nsegs; i++) {
			t = r.segs[i].text;
			if (!isfinite(r.segs[i].start) ||
			    !isfinite(r.segs[i].end) || r.segs[i].start < 0 ||
			    r.segs[i].start > r.segs[i].end || t == NULL ||
			    (n = strlen(t)) == 0 ||
			    isspace((unsigned char)t[0]) ||
			    isspace((unsigned char)t[n - 1]))
				abort();
		}
	} else if (err.status != 502 || err.code == NULL ||
	    strcmp(err.code, "asr_bad_answer") != 0 || r.nsegs != 0 ||
	    r.segs != NULL || r.language != NULL)
		abort();
	mr_arena_reset(a);
	return 0;
}
