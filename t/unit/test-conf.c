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

static const char *
write_conf(const char *name, const char *text, mode_t mode)
{
	static char	 path[256];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
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

int
main(void)
{
	struct mr_conf	*c;
	char		 err[512], *dump = NULL;
	size_t		 dumplen = 0;
	FILE		*mem;

	if (mkdtemp(dir) == NULL)
		return 1;
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
	ok(c == NULL, "a group-readable file with secrets is refused");

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

	unlink(write_conf("c.conf", "", 0600));
	rmdir(dir);
	return done_testing();
}
