/* SPDX-License-Identifier: ISC */
/*
 * fuzz-query.c - libFuzzer target for what clients write in query
 * strings and form bodies (src/query.c): parameter lookup with %xx
 * decoding, the unknown-parameter check, RFC 3339 times and keyset
 * cursors.  A cursor that decodes must encode back to the same text,
 * and an accepted time must be in the shape PostgreSQL was promised.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"limit", "cursor", "password", "from", "to", "", "=", NULL
	};
	static struct mr_arena	*a;
	struct mr_err		 err;
	const char		*v, *ts, *id;
	char			*s, *back;
	int			 date_only;

	if (a == NULL && (a = mr_arena_new(64 << 20)) == NULL)
		abort();
	/* Clients' strings never hold a NUL: nginx and req.c stop those. */
	if ((s = mr_strndup(a, (const char *)data, size)) == NULL)
		abort();
	mr_err_clear(&err);
	for (int i = 0; names[i] != NULL; i++)
		if (mr_query_get(a, s, names[i], &v, &err) == 1 &&
		    strlen(v) > strlen(s))
			abort();
	mr_query_check(s, names, &err);
	if (mr_time_valid(s, &date_only) == 0 &&
	    (strlen(s) < 10 || (date_only && strlen(s) != 10)))
		abort();
	if (mr_cursor_decode(a, s, &ts, &id) == 0) {
		if ((back = mr_cursor_encode(a, ts, id)) == NULL ||
		    mr_cursor_decode(a, back, &ts, &id) != 0)
			abort();
	}
	mr_arena_reset(a);
	return 0;
}
