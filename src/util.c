/* SPDX-License-Identifier: ISC */
/*
 * util.c - small helpers: UUIDs, strict integer parsing, room codes,
 * UTF-8 clipping, time, durations, directories and pid files.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "mr.h"

/* A canonical textual UUID: 8-4-4-4-12 hex digits, nothing else. */
int
mr_uuid_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != MR_UUID_STRLEN)
		return 0;
	for (i = 0; i < MR_UUID_STRLEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A new random (v4) UUID in lower case, in arena a. */
char *
mr_uuid_new(struct mr_arena *a)
{
	uuid_t	 u;
	char	*s;

	if ((s = mr_alloc(a, MR_UUID_STRLEN + 1)) == NULL)
		return NULL;
	uuid_generate_random(u);
	uuid_unparse_lower(u, s);
	return s;
}

/*
 * Parse a whole string as a decimal integer in [min, max].  Leading
 * spaces, signs other than '-', trailing bytes and overflow are refused.
 */
int
mr_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || !(isdigit((unsigned char)*s) ||
	    (*s == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Room codes are [A-Za-z0-9_-]{1,50} (SPEC section 3). */
int
mr_room_code_valid(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 50)
			return 0;
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' &&
		    s[n] != '-')
			return 0;
	}
	return n > 0;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), 0 when there is none.
 */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0)
		n = 2;
	else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] < 0xf5) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		/* Stops at the terminating NUL too: it is below lo. */
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/*
 * Is s[0..len) well-formed UTF-8 (as utf8_len() has it) without a NUL
 * byte?  s[len] must be readable: a C string's NUL stops utf8_len().
 */
int
mr_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		if (p[i] == 0 || (n = utf8_len(p + i)) == 0 || n > len - i)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * s as valid UTF-8 of at most max bytes, in a (valid until the arena is
 * reset): each byte that does not start a well-formed sequence becomes
 * '?', and the cut falls between characters.  NULL when out of memory.
 */
char *
mr_utf8_clip(struct mr_arena *a, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), o = 0, n;
	char			*out;

	if ((out = mr_alloc(a, (len < max ? len : max) + 1)) == NULL)
		return NULL;
	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0) {
			if (o + 1 > max)
				break;
			out[o++] = '?';
			p++;
			continue;
		}
		if (o + n > max)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return out;
}

/* Copy with truncation; returns -1 if src did not fit. */
int
mr_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int64_t
mr_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
mr_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A duration of secs seconds as pm_meeting_recordings keeps it: whole
 * seconds in *s (duration_seconds, an integer as in the seed, whose page
 * prints it as m:ss) and milliseconds in *ms (duration_ms), each rounded
 * half away from zero as llround() would; by hand, to stay off libm.
 * 0, or -1 with both -1 when secs is no duration: negative, NaN,
 * infinite, or more seconds than the integer column holds.
 */
int
mr_duration_split(double secs, int64_t *s, int64_t *ms)
{
	*s = *ms = -1;
	/* Written so that NaN fails too. */
	if (!(secs >= 0 && secs < (double)INT32_MAX + 0.5))
		return -1;
	*s = (int64_t)(secs + 0.5);
	*ms = (int64_t)(secs * 1000 + 0.5);
	return 0;
}

/* v (>= 0) in decimal at p, zero-padded to at least n digits; the end. */
static char *
put_digits(char *p, int64_t v, int n)
{
	char	 tmp[20];
	int	 len = 0;

	do {
		tmp[len++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (; n > len; n--)
		*p++ = '0';
	while (len > 0)
		*p++ = tmp[--len];
	return p;
}

/*
 * us microseconds since 1970-01-01 UTC as ISO 8601 in buf (MR_TIME_ISOLEN
 * bytes): "2026-12-05T21:40:09.123456Z", byte for byte what PostgreSQL's
 * to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') writes.
 * Like to_char, a year past 9999 takes more digits and a year BC is its
 * number alone (1 BC is "0001").  Returns buf, or NULL when gmtime_r
 * cannot place us.  Written by hand: snprintf would cost more than the
 * rest of it together, and a list has hundreds of these.
 */
char *
mr_time_iso(char *buf, int64_t us)
{
	struct tm	 tm;
	time_t		 s;
	int64_t		 frac, year;
	char		*p = buf;

	s = (time_t)(us / 1000000);
	if ((frac = us % 1000000) < 0) {
		frac += 1000000;
		s--;
	}
	if (gmtime_r(&s, &tm) == NULL)
		return NULL;
	year = (int64_t)tm.tm_year + 1900;
	if (year <= 0)
		year = 1 - year;
	p = put_digits(p, year, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, frac, 6);
	*p++ = 'Z';
	*p = '\0';
	return buf;
}

/* mkdir -p; existing directories are fine. */
int
mr_mkdir_p(const char *path, mode_t mode)
{
	char	 tmp[PATH_MAX];
	char	*p;

	if (mr_strlcpy(tmp, path, sizeof(tmp)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Open the pid file at path for writing, never through a symbolic link.
 * A link there, or anything else that is not a regular file, is refused
 * and left as it is.  A regular file of ours (our effective uid, one
 * link) is reused in place; any other one is a stale file of someone
 * else's and is replaced by a new file, mode 0644, ours.  Nothing is
 * written yet: see mr_pidfile_write.  Returns the descriptor (close on
 * exec) or -1 with err set; the detail names the path and the reason.
 */
int
mr_pidfile_open(const char *path, struct mr_err *err)
{
	struct stat	 st, fst;
	const char	*why = NULL;
	int		 fd = -1, reuse = 0;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			why = "is a symbolic link (not followed; remove it)";
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			why = "is not a regular file";
			goto fail;
		}
		reuse = st.st_uid == geteuid() && st.st_nlink == 1;
		/* Someone else's file is not written to but replaced. */
		if (!reuse && unlink(path) == -1)
			goto fail;
	} else if (errno != ENOENT)
		goto fail;
	/*
	 * O_NOFOLLOW: a link is never opened.  O_EXCL: nor is anything put
	 * here since lstat.  O_NONBLOCK: a FIFO cannot make us hang.
	 */
	if (reuse)
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	if (fd == -1 || fstat(fd, &fst) == -1)
		goto fail;
	if (!S_ISREG(fst.st_mode) || fst.st_uid != geteuid() ||
	    fst.st_nlink != 1) {
		why = "changed while it was opened";
		goto fail;
	}
	return fd;

fail:
	if (why != NULL)
		mr_err_set(err, 500, "pid_file", "pid file '%s' %s", path,
		    why);
	else
		mr_err_set(err, 500, "pid_file", "pid file '%s': %s", path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Write our pid into the pid file open on fd, replacing what it held.
 * Through the descriptor, so a process that has dropped root since
 * mr_pidfile_open still can.  Returns 0, or -1 with errno set.
 */
int
mr_pidfile_write(int fd)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n)
		return -1;
	return 0;
}

/*
 * At exit: empty the pid file open on fd, remove it when path still
 * names that file and we may (a process that has dropped root may not:
 * the next start replaces it), and close fd.
 */
void
mr_pidfile_close(int fd, const char *path)
{
	struct stat	 st, fst;

	if (fd == -1)
		return;
	if (ftruncate(fd, 0) == -1)
		mr_log_warn("could not empty pid file '%s'", path);
	if (fstat(fd, &fst) == 0 && lstat(path, &st) == 0 &&
	    st.st_dev == fst.st_dev && st.st_ino == fst.st_ino)
		(void)unlink(path);
	close(fd);
}

const char *
mr_getenv_nonempty(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}
