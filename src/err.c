/* SPDX-License-Identifier: ISC */
/*
 * err.c - the error that travels from a failing call up to the handler.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"

void
mr_err_clear(struct mr_err *err)
{
	err->status = 0;
	err->code = NULL;
	err->detail[0] = '\0';
	err->cause[0] = '\0';
}

int
mr_err_set(struct mr_err *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return -1;
	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Append log-only context; several calls on the way up are joined with
 * ": ", innermost last.
 */
int
mr_err_cause(struct mr_err *err, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len;

	if (err == NULL)
		return -1;
	len = strlen(err->cause);
	if (len > 0 && len + 2 < sizeof(err->cause)) {
		memmove(err->cause + 2, err->cause, len + 1);
		err->cause[0] = ':';
		err->cause[1] = ' ';
	}
	{
		char	 tmp[sizeof(err->cause)];
		size_t	 tl;

		va_start(ap, fmt);
		vsnprintf(tmp, sizeof(tmp), fmt, ap);
		va_end(ap);
		tl = strlen(tmp);
		len = strlen(err->cause);
		if (tl + len >= sizeof(err->cause))
			tl = sizeof(err->cause) - 1 - len;
		memmove(err->cause + tl, err->cause, len + 1);
		memcpy(err->cause, tmp, tl);
	}
	return -1;
}
