/* SPDX-License-Identifier: ISC */
/*
 * arena.c - per-request and per-item memory.
 *
 * Allocations come from a chain of blocks; mr_arena_reset() runs the
 * deferred callbacks (last first) and gives every block but the first
 * back.  Nothing is freed one by one.  With MR_ARENA_DEBUG each allocation
 * is a malloc of its own, so sanitizers see overruns and use after reset.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define BLOCK_SIZE	16384
#define ALIGNMENT	16

struct block {
	struct block	*next;
	size_t		 size;
	size_t		 used;
	/* data follows, aligned */
};

struct defer {
	struct defer	*next;
	void		(*fn)(void *);
	void		*arg;
};

struct mr_arena {
	struct block	*head;		/* current block, chain to older ones */
	struct defer	*defers;
	size_t		 cap;		/* bytes this arena may hand out */
	size_t		 total;		/* bytes handed out since reset */
#ifdef MR_ARENA_DEBUG
	void		**chunks;
	size_t		 nchunks;
	size_t		 chunkslot;
#endif
};

#define BLOCK_HDR	((sizeof(struct block) + ALIGNMENT - 1) & \
			    ~(size_t)(ALIGNMENT - 1))

#ifndef MR_ARENA_DEBUG
static struct block *
block_new(size_t need)
{
	struct block	*b;
	size_t		 size = need > BLOCK_SIZE ? need : BLOCK_SIZE;

	if ((b = malloc(BLOCK_HDR + size)) == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}
#endif

struct mr_arena *
mr_arena_new(size_t cap)
{
	struct mr_arena	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cap = cap;
#ifndef MR_ARENA_DEBUG
	if ((a->head = block_new(BLOCK_SIZE)) == NULL) {
		free(a);
		return NULL;
	}
#endif
	return a;
}

static void
run_defers(struct mr_arena *a)
{
	struct defer	*d;

	/* A callback may register more; keep going until none are left. */
	while ((d = a->defers) != NULL) {
		a->defers = d->next;
		d->fn(d->arg);
		free(d);
	}
}

#ifdef MR_ARENA_DEBUG
static void
release(struct mr_arena *a)
{
	for (size_t i = 0; i < a->nchunks; i++)
		free(a->chunks[i]);
	free(a->chunks);
	a->chunks = NULL;
	a->nchunks = a->chunkslot = 0;
}
#else
static void
release(struct mr_arena *a)
{
	struct block	*b, *next;

	/* Keep the oldest block (the tail) for the next request. */
	for (b = a->head; b->next != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = b;
	b->used = 0;
}
#endif

void
mr_arena_reset(struct mr_arena *a)
{
	if (a == NULL)
		return;
	run_defers(a);
	release(a);
	a->total = 0;
}

void
mr_arena_free(struct mr_arena *a)
{
	if (a == NULL)
		return;
	mr_arena_reset(a);
	free(a->head);
	free(a);
}

size_t
mr_arena_used(const struct mr_arena *a)
{
	return a->total;
}

void *
mr_alloc(struct mr_arena *a, size_t n)
{
	void		*p;

	if (n == 0)
		n = 1;
	if (n > a->cap || a->total > a->cap - n)
		return NULL;
#ifdef MR_ARENA_DEBUG
	if (a->nchunks == a->chunkslot) {
		size_t	 ns = a->chunkslot ? a->chunkslot * 2 : 64;
		void	**nc = realloc(a->chunks, ns * sizeof(*nc));

		if (nc == NULL)
			return NULL;
		a->chunks = nc;
		a->chunkslot = ns;
	}
	if ((p = malloc(n)) == NULL)
		return NULL;
	a->chunks[a->nchunks++] = p;
#else
	struct block	*b = a->head;
	size_t		 an = (n + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);

	if (an < n)
		return NULL;
	if (b->size - b->used < an) {
		if ((b = block_new(an)) == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	p = (char *)b + BLOCK_HDR + b->used;
	b->used += an;
#endif
	a->total += n;
	return p;
}

void *
mr_calloc(struct mr_arena *a, size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((p = mr_alloc(a, nmemb * size)) != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

char *
mr_strndup(struct mr_arena *a, const char *s, size_t n)
{
	char	*p;

	if (n == SIZE_MAX || (p = mr_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
mr_strdup(struct mr_arena *a, const char *s)
{
	return mr_strndup(a, s, strlen(s));
}

char *
mr_vprintf(struct mr_arena *a, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	*p;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = mr_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
mr_printf(struct mr_arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = mr_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

/*
 * Run fn(arg) when the arena is reset.  If the registration itself fails
 * the callback runs at once and -1 is returned, so a foreign object is
 * never leaked; the caller must then not use it.
 */
int
mr_arena_defer(struct mr_arena *a, void (*fn)(void *), void *arg)
{
	struct defer	*d;

	/* Bookkeeping does not count against the request's cap. */
	if ((d = malloc(sizeof(*d))) == NULL) {
		fn(arg);
		return -1;
	}
	d->fn = fn;
	d->arg = arg;
	d->next = a->defers;
	a->defers = d;
	return 0;
}
