/* SPDX-License-Identifier: ISC */
/*
 * buf.c - growable byte buffer with a hard cap (see mr.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

void
mr_buf_init(struct mr_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

void
mr_buf_free(struct mr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

void
mr_buf_reset(struct mr_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int
grow(struct mr_buf *b, size_t add)
{
	size_t	 need, ns;
	char	*p;

	if (add > b->cap || b->len > b->cap - add)
		return -1;
	need = b->len + add + 1;
	if (need <= b->size)
		return 0;
	ns = b->size ? b->size : 256;
	while (ns < need)
		ns = ns > SIZE_MAX / 2 ? need : ns * 2;
	if (ns > b->cap + 1)
		ns = b->cap + 1;
	if ((p = realloc(b->data, ns)) == NULL)
		return -1;
	b->data = p;
	b->size = ns;
	return 0;
}

int
mr_buf_reserve(struct mr_buf *b, size_t n)
{
	return grow(b, n);
}

int
mr_buf_add(struct mr_buf *b, const void *p, size_t n)
{
	if (grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mr_buf_adds(struct mr_buf *b, const char *s)
{
	return mr_buf_add(b, s, strlen(s));
}

int
mr_buf_addf(struct mr_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
