/* SPDX-License-Identifier: ISC */
/*
 * audio-pieces - a test tool (not installed): mr_audio_pieces() on a
 * file, one JSON line per piece, then one with the totals and the peak
 * resident size of the process (VmHWM), for t/470-audio.t.
 *
 *   usage: audio-pieces [--keep DIR] [--window SECONDS] FILE MAX_BYTES
 *              [TMPDIR]
 *
 * With --keep, each piece is copied to DIR/piece-N.wav before it is
 * removed.  On error it prints {"error":{...}} and exits 1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr.h"
#include "audio.h"
#include "probe.h"

struct keep {
	const char	*dir;
};

static int
copy_file(const char *from, const char *to, struct mr_err *err)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out = -1;

	if ((in = open(from, O_RDONLY)) == -1)
		goto fail;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		goto fail;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto fail;
	if (n == -1 || close(out) == -1) {
		out = -1;
		goto fail;
	}
	close(in);
	return 0;

fail:
	mr_err_set(err, 500, "io_error", "copy %s to %s: %s", from, to,
	    strerror(errno));
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	return -1;
}

static int
piece(void *arg, const struct mr_audio_piece *p, struct mr_err *err)
{
	struct keep	*k = arg;
	char		 to[4096];

	if (k->dir != NULL) {
		snprintf(to, sizeof(to), "%s/piece-%d.wav", k->dir, p->index);
		if (copy_file(p->path, to, err) == -1)
			return -1;
	}
	printf("{\"index\":%d,\"start\":%.6f,\"duration\":%.6f,"
	    "\"bytes\":%llu}\n", p->index, p->start, p->duration,
	    (unsigned long long)p->bytes);
	fflush(stdout);
	return 0;
}

static long
peak_rss_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
usage(void)
{
	fprintf(stderr, "usage: audio-pieces [--keep DIR] [--window SECONDS] "
	    "FILE MAX_BYTES [TMPDIR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct mr_audio_opts	 opts;
	struct mr_audio_stats	 st;
	struct mr_err		 err;
	struct mr_src		 src;
	struct keep		 k;
	int			 fd, i = 1;

	memset(&opts, 0, sizeof(opts));
	memset(&k, 0, sizeof(k));
	memset(&st, 0, sizeof(st));
	mr_err_clear(&err);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--keep") == 0)
			k.dir = argv[i + 1];
		else if (strcmp(argv[i], "--window") == 0)
			opts.quiet_window = strtod(argv[i + 1], NULL);
		else
			usage();
	}
	if (argc - i < 2 || argc - i > 3)
		usage();
	opts.max_bytes = strtoull(argv[i + 1], NULL, 10);
	opts.tmpdir = argc - i == 3 ? argv[i + 2] :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	if ((fd = open(argv[i], O_RDONLY)) == -1) {
		mr_err_set(&err, 500, "io_error", "open %s: %s", argv[i],
		    strerror(errno));
		goto fail;
	}
	if (mr_src_fd(&src, &fd, &err) == -1 ||
	    mr_audio_pieces(&src, &opts, piece, &k, &st, &err) == -1)
		goto fail;
	close(fd);
	printf("{\"seconds\":%.6f,\"pieces\":%d,\"bytes_read\":%llu,"
	    "\"peak_rss_kb\":%ld}\n", st.seconds, st.pieces,
	    (unsigned long long)st.bytes_read, peak_rss_kb());
	return 0;

fail:
	if (fd != -1)
		close(fd);
	printf("{\"error\":{\"status\":%d,\"code\":", err.status);
	json_str(err.code != NULL ? err.code : "");
	printf(",\"detail\":");
	json_str(err.detail);
	printf(",\"cause\":");
	json_str(err.cause);
	printf("}}\n");
	return 1;
}
