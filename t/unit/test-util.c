/* SPDX-License-Identifier: ISC */
/*
 * test-util.c - arena, buffer, error and small helpers; pid files
 * (never through a link, stale ones replaced, written through the fd).
 */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "tap.h"

static int deferred;

static void
count(void *arg)
{
	deferred += *(int *)arg;
}

static char *
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return (buf);
	if ((n = read(fd, buf, len - 1)) >= 0)
		buf[n] = '\0';
	close(fd);
	return (buf);
}

static void
spew(const char *path, const char *text)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/*
 * Durations as the recordings table keeps them: whole seconds, as the
 * seed's INTEGER (its page printed 4.021 as "0:4.021"), and milliseconds,
 * each rounded half away from zero.
 */
static void
test_duration(void)
{
	static const struct {
		double		 in;
		long long	 s, ms;
	} t[] = {
		{ 4.021, 4, 4021 }, { 4.5, 5, 4500 }, { 4.4996, 4, 4500 },
		{ 0, 0, 0 }, { 0.0004, 0, 0 }, { 0.4999, 0, 500 },
		{ 59.5, 60, 59500 }, { 3725.0, 3725, 3725000 },
		{ 2147483647.4, 2147483647, 2147483647400 },
	};
	int64_t	 s, ms;
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(mr_duration_split(t[i].in, &s, &ms) == 0, "%g s is a "
		    "duration", t[i].in);
		is_int(s, t[i].s, "whole seconds");
		is_int(ms, t[i].ms, "milliseconds");
	}
	ok(mr_duration_split(-0.5, &s, &ms) == -1 && s == -1 && ms == -1,
	    "a negative duration is none");
	ok(mr_duration_split(NAN, &s, &ms) == -1, "NaN is none");
	ok(mr_duration_split(INFINITY, &s, &ms) == -1, "infinity is none");
	ok(mr_duration_split(2147483647.5, &s, &ms) == -1,
	    "beyond the integer column is none");
}

static void
test_pidfile(void)
{
	struct mr_err	 e;
	struct stat	 st, st2;
	char		 dir[] = "/tmp/test-util.XXXXXX";
	char		 path[64], other[64], buf[64], want[32];
	int		 fd;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/x.pid", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	umask(022);

	mr_err_clear(&e);
	fd = mr_pidfile_open(path, &e);
	ok(fd != -1, "a new pid file is made");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	    st.st_uid == geteuid(), "it is ours, 0644");
	ok(mr_pidfile_write(fd) == 0, "pid written");
	is_str(slurp(path, buf, sizeof(buf)), want, "it holds our pid");
	mr_pidfile_close(fd, path);
	ok(access(path, F_OK) == -1, "removed at close");

	/* A link is neither followed nor removed. */
	spew(other, "precious\n");
	ok(symlink(other, path) == 0, "a link at the pid file's path");
	ok(mr_pidfile_open(path, &e) == -1 &&
	    strstr(e.detail, "symbolic link") != NULL,
	    "is refused: %s", e.detail);
	is_str(slurp(other, buf, sizeof(buf)), "precious\n",
	    "its target is untouched");
	ok(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "the link stays");
	unlink(path);

	/* A FIFO is refused at once (an open would wait for a reader). */
	ok(mkfifo(path, 0600) == 0, "a FIFO at the pid file's path");
	ok(mr_pidfile_open(path, &e) == -1 &&
	    strstr(e.detail, "not a regular file") != NULL,
	    "is refused: %s", e.detail);
	unlink(path);

	/* A stale file of ours is reused in place and rewritten whole. */
	spew(path, "12345678901234567890\n");
	stat(path, &st);
	fd = mr_pidfile_open(path, &e);
	ok(fd != -1 && fstat(fd, &st2) == 0 && st.st_ino == st2.st_ino,
	    "a stale pid file of ours is reused");
	mr_pidfile_write(fd);
	is_str(slurp(path, buf, sizeof(buf)), want, "and holds our pid only");
	/* At close, a path that names another file by now is left alone. */
	unlink(path);
	spew(path, "someone else's\n");
	mr_pidfile_close(fd, path);
	is_str(slurp(path, buf, sizeof(buf)), "someone else's\n",
	    "close leaves a file that replaced ours");
	unlink(path);

	/* A file with another name (a hard link) is replaced, not written. */
	spew(other, "precious\n");
	ok(link(other, path) == 0, "a hard link at the pid file's path");
	fd = mr_pidfile_open(path, &e);
	ok(fd != -1 && fstat(fd, &st) == 0 && st.st_nlink == 1,
	    "is replaced by a new file");
	mr_pidfile_write(fd);
	is_str(slurp(other, buf, sizeof(buf)), "precious\n",
	    "the other name's content is untouched");
	mr_pidfile_close(fd, path);

	/* Someone else's file is replaced by one of ours. */
	if (geteuid() == 0) {
		spew(path, "1\n");
		ok(chown(path, 65534, 65534) == 0, "a pid file of uid 65534");
		fd = mr_pidfile_open(path, &e);
		ok(fd != -1 && fstat(fd, &st) == 0 && st.st_uid == 0,
		    "is replaced by one of root's");
		mr_pidfile_close(fd, path);
	} else
		printf("# not root: a pid file of someone else's is not "
		    "tried\n");

	unlink(other);
	rmdir(dir);
}

int
main(void)
{
	struct mr_arena	*a;
	struct mr_buf	 b;
	struct mr_err	 e;
	int64_t		 v;
	int		 one = 1, ten = 10;
	char		*p, small[4], long_s[601];

	a = mr_arena_new(1 << 20);
	ok(a != NULL, "arena created");
	p = mr_printf(a, "%s-%d", "x", 42);
	is_str(p, "x-42", "mr_printf");
	ok(mr_alloc(a, 2 << 20) == NULL, "allocation over the cap fails");
	ok(mr_alloc(a, SIZE_MAX) == NULL, "SIZE_MAX allocation fails");
	ok(mr_calloc(a, SIZE_MAX / 2, 4) == NULL, "calloc overflow fails");
	for (int i = 0; i < 1000; i++)
		if (mr_alloc(a, 900) == NULL)
			break;
	ok(mr_arena_used(a) > 800000, "many allocations fit under the cap");
	ok(mr_alloc(a, 300000) == NULL, "the cap counts what was used");
	mr_arena_defer(a, count, &one);
	mr_arena_defer(a, count, &ten);
	mr_arena_reset(a);
	is_int(deferred, 11, "deferred callbacks run at reset");
	is_int((long long)mr_arena_used(a), 0, "reset frees everything");
	ok(mr_alloc(a, 1000) != NULL, "arena usable after reset");
	mr_arena_free(a);

	mr_buf_init(&b, 8);
	ok(mr_buf_adds(&b, "12345678") == 0, "buffer fills up to its cap");
	ok(mr_buf_adds(&b, "9") == -1, "one byte past the cap fails");
	is_str(b.data, "12345678", "a failed append changes nothing");
	mr_buf_reset(&b);
	ok(mr_buf_addf(&b, "%d", 123456789) == -1, "addf past the cap fails");
	mr_buf_free(&b);

	mr_err_clear(&e);
	ok(mr_err_set(&e, 409, "conflict", "room %s", "r1") == -1,
	    "mr_err_set returns -1");
	is_str(e.detail, "room r1", "detail formatted");
	mr_err_cause(&e, "inner");
	mr_err_cause(&e, "outer");
	is_str(e.cause, "outer: inner", "causes read outer to inner");

	a = mr_arena_new(1 << 20);
	memset(long_s, 'a', 600);
	long_s[600] = '\0';
	is_str(mr_utf8_clip(a, "agent/1.0 (\xc3\xa9)", 512),
	    "agent/1.0 (\xc3\xa9)", "clip: valid and short is kept");
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 512, "clip: 600 to 512");
	memcpy(long_s + 511, "\xc3\xa9", 3);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 511,
	    "clip: a character across the limit is left out whole");
	memcpy(long_s + 510, "\xc3\xa9", 3);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 512,
	    "clip: a character ending at the limit stays");
	memcpy(long_s + 509, "\xf0\x9f\x8e\xa5", 5);
	ok(strlen(mr_utf8_clip(a, long_s, 512)) == 509,
	    "clip: four bytes across the limit are left out");
	is_str(mr_utf8_clip(a, "a\xff" "b", 512), "a?b", "clip: a stray byte");
	is_str(mr_utf8_clip(a, "\xc0\xaf", 512), "??", "clip: overlong");
	is_str(mr_utf8_clip(a, "\xed\xa0\x80", 512), "???",
	    "clip: a surrogate");
	is_str(mr_utf8_clip(a, "\xf4\x90\x80\x80", 512), "????",
	    "clip: past U+10FFFF");
	is_str(mr_utf8_clip(a, "x\xe2\x82", 512), "x??",
	    "clip: a sequence cut short");
	is_str(mr_utf8_clip(a, "\xe2\x82\xac", 2), "",
	    "clip: nothing when the first character does not fit");
	is_str(mr_utf8_clip(a, "ab\xff", 3), "ab?",
	    "clip: a replaced byte counts one");
	mr_arena_free(a);

	ok(mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcd"), "uuid ok");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abc"), "short");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcdx"), "long");
	ok(!mr_uuid_valid("0eea86ffXdc4d-4461-97cd-b96f1a85abcd"), "dash");
	ok(!mr_uuid_valid("0eea86ff-dc4d-4461-97cd-b96f1a85abcg"), "hex");
	ok(!mr_uuid_valid(NULL), "NULL uuid");

	ok(mr_parse_int64("42", 0, 100, &v) == 0 && v == 42, "int ok");
	ok(mr_parse_int64("-5", -10, 10, &v) == 0 && v == -5, "negative");
	ok(mr_parse_int64(" 4", 0, 100, &v) == -1, "leading space refused");
	ok(mr_parse_int64("4x", 0, 100, &v) == -1, "trailing byte refused");
	ok(mr_parse_int64("+4", 0, 100, &v) == -1, "plus refused");
	ok(mr_parse_int64("101", 0, 100, &v) == -1, "above max refused");
	ok(mr_parse_int64("99999999999999999999", INT64_MIN, INT64_MAX, &v)
	    == -1, "overflow refused");
	ok(mr_parse_int64("", 0, 1, &v) == -1, "empty refused");

	ok(mr_room_code_valid("abc_D-9"), "room code ok");
	ok(!mr_room_code_valid(""), "empty room code");
	ok(!mr_room_code_valid("a b"), "space in room code");
	ok(!mr_room_code_valid("a/b"), "slash in room code");
	ok(mr_room_code_valid("01234567890123456789012345678901234567890123"
	    "456789"), "50 characters");
	ok(!mr_room_code_valid("01234567890123456789012345678901234567890123"
	    "4567890"), "51 characters");

	ok(mr_strlcpy(small, "abc", sizeof(small)) == 0, "strlcpy fits");
	ok(mr_strlcpy(small, "abcd", sizeof(small)) == -1 &&
	    strcmp(small, "abc") == 0, "strlcpy truncates and says so");

	test_duration();
	test_pidfile();
	return done_testing();
}
