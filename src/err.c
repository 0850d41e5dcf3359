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
 * Add log-only context in front of what is there: callers on the way up
 * add theirs, so the cause reads outer to inner, "outer: inner".
 */
int
mr_err_cause(struct mr_err *err, const char *fmt, ...)
{
	char	 head[sizeof(err->cause)], old[sizeof(err->cause)];
	va_list	 ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->cause, sizeof(old));
	/* A cause too long for the buffer is cut; it is only logged. */
	if (snprintf(err->cause, sizeof(err->cause), "%s%s%s", head,
	    old[0] != '\0' ? ": " : "", old) >= (int)sizeof(err->cause))
		err->cause[sizeof(err->cause) - 1] = '\0';
	return -1;
}
