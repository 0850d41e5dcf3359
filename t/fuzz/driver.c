/* SPDX-License-Identifier: ISC */
/*
 * driver.c - runs a libFuzzer target without libFuzzer, so the fuzz
 * targets also build with gcc and run in "make check" (under the
 * sanitizers in that build).  It feeds every file of the target's seed
 * corpus (t/fuzz/corpus/<name>/), then a fixed number of deterministic
 * mutations of them: byte flips, truncations, insertions and splices.
 * Prints TAP: one test, ok when no input crashed (a crash is a sanitizer
 * abort, which prove reports).
 *   usage: fuzz-NAME [file-or-dir ...]   (default: the seed corpus)
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_SEEDS	256
#define INPUT_MAX	(1 << 20)
#define MUTATIONS	20000

static unsigned char	*seeds[MAX_SEEDS];
static size_t		 seedlen[MAX_SEEDS];
static int		 nseeds;
static uint64_t		 rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	/* xorshift64: the same sequence on every run, so failures repeat */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
add_file(const char *path)
{
	FILE	*fp;
	long	 n;

	if (nseeds == MAX_SEEDS || (fp = fopen(path, "rb")) == NULL)
		return;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    n <= INPUT_MAX && fseek(fp, 0, SEEK_SET) == 0 &&
	    (seeds[nseeds] = malloc((size_t)n + 1)) != NULL) {
		seedlen[nseeds] = fread(seeds[nseeds], 1, (size_t)n, fp);
		nseeds++;
	}
	fclose(fp);
}

static void
add(const char *path)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 p[PATH_MAX];

	if (stat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s",
		    path, de->d_name) < (int)sizeof(p))
			add_file(p);
	closedir(d);
}

int
main(int argc, char *argv[])
{
	unsigned char	*buf;
	const char	*name, *src;
	char		 dir[PATH_MAX];
	size_t		 len, pos;
	int		 i, runs = 0;

	name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strncmp(name, "fuzz-", 5) == 0)
		name += 5;
	if (argc > 1)
		for (i = 1; i < argc; i++)
			add(argv[i]);
	else {
		src = getenv("MEETREC_SRCDIR");
		snprintf(dir, sizeof(dir), "%s/t/fuzz/corpus/%s",
		    src ? src : ".", name);
		add(dir);
	}
	printf("1..1\n");
	if (nseeds == 0) {
		printf("not ok 1 - no seed inputs for %s\n", name);
		return 1;
	}
	if ((buf = malloc(INPUT_MAX)) == NULL)
		return 1;
	for (i = 0; i < nseeds; i++, runs++)
		LLVMFuzzerTestOneInput(seeds[i], seedlen[i]);
	for (int m = 0; m < MUTATIONS; m++, runs++) {
		i = (int)(next() % (uint64_t)nseeds);
		len = seedlen[i];
		memcpy(buf, seeds[i], len);
		for (int k = 0, edits = 1 + (int)(next() % 8); k < edits; k++) {
			pos = len ? next() % len : 0;
			switch (next() % 5) {
			case 0:		/* flip a bit */
				if (len)
					buf[pos] ^= (unsigned char)(1u <<
					    (next() % 8));
				break;
			case 1:		/* an interesting byte */
				if (len)
					buf[pos] = (unsigned char)"\0\"\\{}[],:0-9eE\xff"
					    [next() % 16];
				break;
			case 2:		/* truncate */
				len = pos;
				break;
			case 3:		/* insert a byte */
				if (len < INPUT_MAX - 1) {
					memmove(buf + pos + 1, buf + pos,
					    len - pos);
					buf[pos] = (unsigned char)next();
					len++;
				}
				break;
			default:	/* splice another seed's tail in */
				{
					int	 j = (int)(next() %
					    (uint64_t)nseeds);
					size_t	 from = seedlen[j] ?
					    next() % seedlen[j] : 0;
					size_t	 n = seedlen[j] - from;

					if (pos + n > INPUT_MAX)
						n = INPUT_MAX - pos;
					memcpy(buf + pos, seeds[j] + from, n);
					len = pos + n;
				}
				break;
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("ok 1 - %s: %d inputs (%d seeds) without a crash\n", name,
	    runs, nseeds);
	free(buf);
	for (i = 0; i < nseeds; i++)
		free(seeds[i]);
	return 0;
}
