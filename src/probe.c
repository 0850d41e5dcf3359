/* SPDX-License-Identifier: ISC */
/*
 * probe.c - what the duration probes share: the format sniffing in front
 * of them (magic bytes pick mp4.c or ogg.c), bounded reads with pread(2),
 * the size check and the 422 "unreadable_media" error.  Both probes call
 * into this file and never into each other.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "probe.h"

/* 422 "unreadable_media" with a formatted detail; returns -1. */
int
mr_probe_unreadable(struct mr_err *err, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[sizeof(err->detail)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mr_err_set(err, 422, "unreadable_media", "%s", msg);
}

int
mr_probe_read(int fd, off_t off, void *buf, size_t len, struct mr_err *err)
{
	unsigned char	*p = buf;
	ssize_t		 n;
	int		 saved;

	while (len > 0) {
		n = pread(fd, p, len, off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			mr_err_set(err, 500, "io_error",
			    "The recording file could not be read.");
			return mr_err_cause(err, "pread at offset %lld: %s",
			    (long long)off, strerror(saved));
		}
		if (n == 0)
			return mr_probe_unreadable(err, "The file ended at offset %lld "
			    "while it was being read.", (long long)off);
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int
mr_probe_size(int fd, uint64_t *size, struct mr_err *err)
{
	struct stat	 st;
	int		 saved;

	if (fstat(fd, &st) == -1) {
		saved = errno;
		mr_err_set(err, 500, "io_error",
		    "The recording file could not be read.");
		return mr_err_cause(err, "fstat: %s", strerror(saved));
	}
	if (!S_ISREG(st.st_mode))
		return mr_probe_unreadable(err, "The recording is not a regular file.");
	if (st.st_size == 0)
		return mr_probe_unreadable(err, "The file is empty.");
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
fd_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	return mr_probe_read(*(int *)arg, off, buf, len, err);
}

int
mr_src_fd(struct mr_src *src, int *fdp, struct mr_err *err)
{
	memset(src, 0, sizeof(*src));
	if (mr_probe_size(*fdp, &src->size, err) == -1)
		return -1;
	src->read = fd_read;
	src->arg = fdp;
	return 0;
}

int
mr_src_read(const struct mr_src *src, off_t off, void *buf, size_t len,
    struct mr_err *err)
{
	if (off < 0 || (uint64_t)off > src->size ||
	    len > src->size - (uint64_t)off)
		return mr_probe_unreadable(err, "The file ended at offset %llu "
		    "while it was being read.",
		    (unsigned long long)src->size);
	return src->read(src->arg, off, buf, len, err);
}

int
mr_probe_duration_src(const struct mr_src *src, double *seconds,
    struct mr_err *err)
{
	unsigned char	 h[8];
	uint64_t	 size = src->size;

	if (size == 0)
		return mr_probe_unreadable(err, "The file is empty.");
	if (size >= 4) {
		if (mr_src_read(src, 0, h, size >= 8 ? 8 : 4, err) == -1)
			return -1;
		if (memcmp(h, "OggS", 4) == 0)
			return mr_ogg_duration_src(src, seconds, err);
		if (size >= 8 && (memcmp(h + 4, "ftyp", 4) == 0 ||
		    memcmp(h + 4, "moov", 4) == 0))
			return mr_mp4_duration_src(src, seconds, err);
	}
	return mr_probe_unreadable(err, "The file is neither MP4 nor Ogg.");
}

int
mr_probe_duration(int fd, double *seconds, struct mr_err *err)
{
	struct mr_src	 src;

	if (mr_src_fd(&src, &fd, err) == -1)
		return -1;
	return mr_probe_duration_src(&src, seconds, err);
}
