/* SPDX-License-Identifier: ISC */
/*
 * test-conf.c - the configuration loader: defaults, file, environment
 * overrides, and each refusal a user can meet.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "conf.h"
#include "tap.h"

static char dir[] = "/tmp/mr-test-conf-XXXXXX";

/* len bytes of text (NUL bytes too) into the file name of dir. */
static const char *
write_raw(const char *name, const char *text, size_t len, mode_t mode)
{
	static char	 path[256];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fwrite(text, 1, len, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

static const char *
write_conf(const char *name, const char *text, mode_t mode)
{
	return write_raw(name, text, strlen(text), mode);
}

#define GOOD \
	"# a comment\n" \
	"database_url = host=/tmp dbname=x\n" \
	"jwt_secret = s3cret\n" \
	"livekit_url = http://127.0.0.1:7880\n" \
	"livekit_api_key = key\n" \
	"livekit_api_secret = lksecret\n" \
	"spool_dir = /tmp/spool\n" \
	"storage_local_dir = /tmp/store\n"

static struct mr_conf *
load(const char *text, mode_t mode, char *err, size_t len)
{
	err[0] = '\0';
	return mr_conf_load(write_conf("c.conf", text, mode), err, len);
}

static void
report(void *arg, const char *where, const char *msg)
{
	fprintf(arg, "%s: %s\n", where ? where : "-", msg);
}

/* What mr_conf_load_all reports of path, in the arena-less *out. */
static int
load_all(const char *path, char **out)
{
	struct mr_conf	*c;
	FILE		*mem;
	size_t		 len = 0;
	int		 problems = 0;

	*out = NULL;
	mem = open_memstream(out, &len);
	c = mr_conf_load_all(path, report, mem, &problems);
	fclose(mem);
	mr_conf_free(c);
	return problems;
}

/*
 * Only a regular file of at most 1 MiB is read: a FIFO would block the
 * open, /dev/zero never ends (check-config went on reading it).
 */
static void
files(void)
{
	struct mr_conf	*c;
	char		 err[512], fifo[256], *out, *big;
	size_t		 len, n;

	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", dir);
	if (mkfifo(fifo, 0600) == 0) {
		err[0] = '\0';
		c = mr_conf_load(fifo, err, sizeof(err));
		ok(c == NULL && strstr(err, "is not a regular file") != NULL,
		    "a FIFO is refused, without waiting for a writer: %s",
		    err);
		unlink(fifo);
	} else
		ok(0, "mkfifo %s", fifo);
	err[0] = '\0';
	c = mr_conf_load("/dev/zero", err, sizeof(err));
	ok(c == NULL && strstr(err, "'/dev/zero' is not a regular file") !=
	    NULL, "/dev/zero is refused: %s", err);
	ok(load_all("/dev/zero", &out) && out != NULL &&
	    strstr(out, "is not a regular file") != NULL,
	    "check-config's load refuses it too, and ends");
	free(out);
	err[0] = '\0';
	c = mr_conf_load(dir, err, sizeof(err));
	ok(c == NULL && strstr(err, "is not a regular file") != NULL,
	    "a folder is refused: %s", err);

	/* GOOD, then comment lines up to len bytes. */
	len = 1024 * 1024;
	if ((big = malloc(len + 64)) == NULL)
		return;
	n = strlen(GOOD);
	memcpy(big, GOOD, n);
	for (; n < len; n += 64) {
		memset(big + n, ' ', 64);
		big[n] = '#';
		big[n + 63] = '\n';
	}
	big[len - 1] = '\n';
	err[0] = '\0';
	c = mr_conf_load(write_raw("c.conf", big, len, 0600), err,
	    sizeof(err));
	ok(c != NULL, "a file of exactly 1 MiB loads (%s)", err);
	mr_conf_free(c);
	big[len] = '\n';
	err[0] = '\0';
	c = mr_conf_load(write_raw("c.conf", big, len + 1, 0600), err,
	    sizeof(err));
	ok(c == NULL && strstr(err, "larger than 1 MiB") != NULL,
	    "one byte more is refused: %s", err);
	free(big);
}

/*
 * Each line on its own: a NUL byte is said and the next line still read;
 * a line of 4096 bytes is read, with or without a newline, one more
 * byte is too long (and the next line is read).
 */
static void
lines(void)
{
	static const char nul[] = GOOD "jwt_issuer = a\0b\nbogus = 1\n";
	struct mr_conf	*c;
	char		 err[512], *out, *text;
	size_t		 n;

	err[0] = '\0';
	c = mr_conf_load(write_raw("c.conf", nul, sizeof(nul) - 1, 0600),
	    err, sizeof(err));
	ok(c == NULL && strstr(err, "c.conf:9: a NUL byte in the line") !=
	    NULL, "a NUL byte is refused as such: %s", err);
	ok(load_all(write_raw("c.conf", nul, sizeof(nul) - 1, 0600), &out) &&
	    out != NULL &&
	    strstr(out, "c.conf:9: a NUL byte in the line") != NULL &&
	    strstr(out, "c.conf:10: unknown key 'bogus'") != NULL,
	    "and the line after it is read");
	free(out);

	n = strlen(GOOD);
	if ((text = malloc(n + 4096 + 64)) == NULL)
		return;
	/* "s3_prefix = " and 4084 letters: 4096 bytes. */
	memcpy(text, GOOD "s3_prefix = ", n + 12);
	memset(text + n + 12, 'p', 4084);
	text[n + 4096] = '\0';
	err[0] = '\0';
	c = load(text, 0600, err, sizeof(err));
	ok(c != NULL && c->cf_s3_prefix != NULL &&
	    strlen(c->cf_s3_prefix) == 4084, "a last line of 4096 bytes "
	    "without a newline loads (%s)", err);
	mr_conf_free(c);
	memcpy(text + n + 4096, "\n", 2);
	c = load(text, 0600, err, sizeof(err));
	ok(c != NULL, "with its newline too (%s)", err);
	mr_conf_free(c);
	memcpy(text + n + 4096, "p", 2);
	c = load(text, 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "c.conf:9: line too long") != NULL,
	    "4097 bytes are too long: %s", err);
	memcpy(text + n + 4096, "p\nbogus = 1\n", 13);
	ok(load_all(write_conf("c.conf", text, 0600), &out) && out != NULL &&
	    strstr(out, "c.conf:9: line too long") != NULL &&
	    strstr(out, "c.conf:10: unknown key 'bogus'") != NULL,
	    "and the line after it is read");
	free(out);
	free(text);
}

int
main(void)
{
	struct mr_conf	*c;
	char		 err[512], *dump = NULL;
	size_t		 dumplen = 0;
	FILE		*mem;

	if (mkdtemp(dir) == NULL)
		return 1;
	alarm(60);	/* a load that blocks or loops fails, not hangs */
	unsetenv("MEETREC_CONFIG");
	unsetenv("MEETREC_FCGI_WORKERS");

	c = load(GOOD, 0600, err, sizeof(err));
	ok(c != NULL, "a complete file loads (%s)", err);
	if (c != NULL) {
		is_str(c->cf_jwt_secret, "s3cret", "value read");
		is_int(c->cf_fcgi_workers, 4, "default applies");
		is_str(c->cf_storage_type, "local", "string default applies");
		mem = open_memstream(&dump, &dumplen);
		mr_conf_dump(c, mem);
		fclose(mem);
		ok(strstr(dump, "jwt_secret = ********") != NULL,
		    "check-config masks secrets");
		ok(strstr(dump, "s3cret") == NULL && strstr(dump, "lksecret")
		    == NULL, "no secret value is printed");
		ok(strstr(dump, "livekit_api_key = key") != NULL,
		    "other values are printed");
		free(dump);
		mr_conf_free(c);
	}

	setenv("MEETREC_FCGI_WORKERS", "7", 1);
	c = load(GOOD, 0600, err, sizeof(err));
	ok(c != NULL && c->cf_fcgi_workers == 7, "MEETREC_<KEY> overrides");
	mr_conf_free(c);
	setenv("MEETREC_FCGI_WORKERS", "seven", 1);
	c = load(GOOD, 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "MEETREC_FCGI_WORKERS") != NULL,
	    "a bad override is refused naming it: %s", err);
	unsetenv("MEETREC_FCGI_WORKERS");

	c = load(GOOD, 0644, err, sizeof(err));
	ok(c == NULL && strstr(err, "chmod 600") != NULL,
	    "a world-readable file with secrets is refused: %s", err);
	c = load(GOOD, 0640, err, sizeof(err));
	ok(c == NULL && strstr(err, "chown root:" MR_SERVICE_GROUP) != NULL,
	    "a file with secrets its group may read is refused: %s", err);
	/* The service group may read it: here fcgi_user's, root's group. */
	if (chown(write_conf("c.conf", GOOD "fcgi_user = root\n", 0640),
	    (uid_t)-1, 0) == 0) {
		err[0] = '\0';
		c = mr_conf_load(write_conf("c.conf", GOOD
		    "fcgi_user = root\n", 0640), err, sizeof(err));
		ok(c != NULL, "0640 with the service group's group loads (%s)",
		    err);
		mr_conf_free(c);
	} else
		ok(1, "# skip: cannot give the file group 0");
	c = load(GOOD "fcgi_user = root\n", 0660, err, sizeof(err));
	ok(c == NULL, "the service group may not write it");
	c = load(GOOD "fcgi_user = root\n", 0644, err, sizeof(err));
	ok(c == NULL, "nor others read it, whatever the group");

	/* A comment after a value: from a '#' after a space or a tab. */
	c = load(GOOD "s3_prefix = recordings/   # optional\n"
	    "nextcloud_folder = Meet#ings\t# where\n"
	    "jwt_issuer = # none\n", 0600, err, sizeof(err));
	ok(c != NULL, "values with comments load (%s)", err);
	if (c != NULL) {
		is_str(c->cf_s3_prefix, "recordings/", "the comment is cut");
		is_str(c->cf_nextcloud_folder, "Meet#ings",
		    "a '#' inside a word stays");
		ok(c->cf_jwt_issuer == NULL, "a value of only a comment is "
		    "empty");
	}
	mr_conf_free(c);
	c = load(GOOD "fcgi_workers = 3 # three\n", 0600, err, sizeof(err));
	ok(c != NULL && c->cf_fcgi_workers == 3, "an integer with a comment");
	mr_conf_free(c);

	/* Where each value comes from. */
	setenv("MEETREC_LOG_LEVEL", "debug", 1);
	c = load(GOOD, 0600, err, sizeof(err));
	if (c != NULL) {
		char	 w[512];
		const char *p;

		p = mr_conf_where(c, "livekit_api_key", w, sizeof(w));
		ok(p != NULL && strstr(p, "c.conf:5") != NULL,
		    "a key from the file: its line (%s)", p ? p : "NULL");
		p = mr_conf_where(c, "log_level", w, sizeof(w));
		ok(p != NULL && strcmp(p, "MEETREC_LOG_LEVEL") == 0,
		    "a key from the environment: its variable");
		ok(mr_conf_where(c, "fcgi_workers", w, sizeof(w)) == NULL,
		    "a default: nowhere");
	} else
		ok(0, "load for mr_conf_where: %s", err);
	mr_conf_free(c);
	unsetenv("MEETREC_LOG_LEVEL");

	c = load("livekit_url = http://x\n", 0644, err, sizeof(err));
	ok(c == NULL && strstr(err, "database_url") != NULL,
	    "a missing required key is named: %s", err);

	c = load(GOOD "bogus = 1\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "unknown key 'bogus'") != NULL &&
	    strstr(err, ":9") != NULL, "an unknown key is refused with its "
	    "line: %s", err);

	c = load(GOOD "just words\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "key = value") != NULL,
	    "a line without '=' is refused");

	c = load(GOOD "fcgi_workers = 0\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_workers") != NULL,
	    "an out-of-range integer is refused: %s", err);

	/* The pool's keys: defaults, and values that disagree. */
	c = load(GOOD, 0600, err, sizeof(err));
	ok(c != NULL && mr_conf_pm(c) == MR_PM_DYNAMIC &&
	    c->cf_fcgi_workers_min == 2 && c->cf_fcgi_workers_max == 16 &&
	    c->cf_fcgi_backlog == 0, "the pool is dynamic, 2 to 16 workers, "
	    "with the kernel's backlog by default");
	mr_conf_free(c);
	c = load(GOOD "fcgi_pm = ondemand\nfcgi_workers_min = 0\n", 0600,
	    err, sizeof(err));
	ok(c != NULL && mr_conf_pm(c) == MR_PM_ONDEMAND &&
	    c->cf_fcgi_workers_min == 0, "ondemand may start with no worker");
	mr_conf_free(c);
	c = load(GOOD "fcgi_pm = elastic\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_pm must be static, dynamic or "
	    "ondemand") != NULL, "an unknown fcgi_pm is refused: %s", err);
	c = load(GOOD "fcgi_workers_min = 9\nfcgi_workers_max = 8\n", 0600,
	    err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_workers_min (9) is above "
	    "fcgi_workers_max (8)") != NULL, "min above max is refused: %s",
	    err);
	c = load(GOOD "fcgi_spare_min = 5\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_spare_min (5) is above "
	    "fcgi_spare_max (4)") != NULL, "spare min above spare max is "
	    "refused: %s", err);
	c = load(GOOD "fcgi_workers_max = 257\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_workers_max") != NULL,
	    "more than 256 workers is refused: %s", err);

	c = load(GOOD "livekit_url = ftp://x\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "livekit_url") != NULL,
	    "a non-http LiveKit URL is refused");

	c = load(GOOD "jwt_secret =\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "jwt_secret") != NULL,
	    "no token verifier at all is refused");

	/* "key =" clears a default; where a value is needed, say so. */
	c = load(GOOD "storage_type =\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "storage_type") != NULL,
	    "an emptied storage_type is refused: %s", err);
	c = load(GOOD "log_level =\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "log_level") != NULL,
	    "an emptied log_level is refused: %s", err);
	c = load(GOOD "fcgi_socket =\n", 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "fcgi_socket") != NULL,
	    "an emptied fcgi_socket is refused: %s", err);
	setenv("MEETREC_STORAGE_TYPE", "", 1);
	c = load(GOOD, 0600, err, sizeof(err));
	ok(c == NULL && strstr(err, "MEETREC_STORAGE_TYPE") != NULL,
	    "an empty MEETREC_STORAGE_TYPE is refused: %s", err);
	unsetenv("MEETREC_STORAGE_TYPE");

	err[0] = '\0';
	c = mr_conf_load("/nonexistent/meetrec.conf", err, sizeof(err));
	ok(c == NULL && strstr(err, "could not open") != NULL,
	    "a missing file is refused: %s", err);

	files();
	lines();

	/* check-config's load reports every problem and goes on. */
	{
		char	*out = NULL;
		size_t	 outlen = 0;
		int	 problems = 0;

		mem = open_memstream(&out, &outlen);
		c = mr_conf_load_all(write_conf("c.conf", GOOD
		    "bogus = 1\nfcgi_workers = many\nstorage_type = s3\n"
		    "fcgi_pm = elastic\n", 0644), report, mem, &problems);
		fclose(mem);
		ok(c != NULL && problems, "mr_conf_load_all goes on");
		ok(out != NULL &&
		    strstr(out, "c.conf:9: unknown key 'bogus'") != NULL &&
		    strstr(out, "c.conf:10: fcgi_workers must be") != NULL &&
		    strstr(out, "c.conf:11: storage_type is s3 but "
		    "'s3_endpoint'") != NULL && strstr(out, "'s3_bucket'") !=
		    NULL && strstr(out, "c.conf:12: fcgi_pm must be") != NULL &&
		    strstr(out, "group or others may read it") != NULL,
		    "and reports each problem with its line");
		mr_conf_free(c);
		free(out);
	}

	unlink(write_conf("c.conf", "", 0600));
	rmdir(dir);
	return done_testing();
}
