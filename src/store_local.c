/* SPDX-License-Identifier: ISC */
/*
 * store_local.c - recordings in a local folder (storage_local_dir), the
 * default: nginx serves them with X-Accel-Redirect.  A file is written
 * under a temporary name, fsynced, renamed into place and its folder
 * fsynced, so a reader or a crash never sees half a recording.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "conf.h"
#include "store.h"

#define COPY_CHUNK	(1024 * 1024)

static char *
path_of(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	char	*p;

	if (!mr_store_key_valid(key))
		return mr_err_set(err, 400, "invalid_key",
		    "storage key '%.100s' is not a safe relative path", key),
		    NULL;
	p = mr_printf(a, "%s/%s", st->conf->cf_storage_local_dir, key);
	if (p == NULL)
		mr_err_set(err, 500, "internal", "Out of memory.");
	return p;
}

static int
local_open(struct mr_store *st, struct mr_err *err)
{
	if (mr_mkdir_p(st->conf->cf_storage_local_dir, 0750) == -1)
		return mr_err_set(err, 500, "io_error",
		    "could not create storage folder '%s': %s",
		    st->conf->cf_storage_local_dir, strerror(errno));
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
local_put(struct mr_store *st, struct mr_arena *a, int fd,
    const struct mr_store_obj *o, struct mr_err *err)
{
	char		*path, *tmp = NULL, *dir, *buf = NULL;
	off_t		 off = 0;
	ssize_t		 n, w;
	struct stat	 sb;
	int		 out = -1, saved;

	if ((path = path_of(st, a, o->key, err)) == NULL)
		return -1;
	if ((dir = mr_strdup(a, path)) == NULL ||
	    (buf = malloc(COPY_CHUNK)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	dir = dirname(dir);
	/*
	 * One temporary name per key: a put killed halfway leaves a part
	 * file that the next attempt truncates and reuses.  Leases make sure
	 * two puts of one key never run at once.
	 */
	if ((tmp = mr_printf(a, "%s/.%s.part", dir, strrchr(path, '/') + 1))
	    == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	if (mr_mkdir_p(dir, 0750) == -1) {
		mr_err_set(err, 500, "io_error", "could not create '%s': %s",
		    dir, strerror(errno));
		goto fail;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		mr_err_set(err, 500, "io_error", "could not create '%s': %s",
		    tmp, strerror(errno));
		goto fail;
	}
	while (off < o->size) {
		size_t want = (size_t)(o->size - off) < COPY_CHUNK ?
		    (size_t)(o->size - off) : COPY_CHUNK;

		if ((n = pread(fd, buf, want, off)) <= 0) {
			mr_err_set(err, 500, "io_error", "could not read the "
			    "spool file at %lld: %s", (long long)off,
			    n == 0 ? "unexpected end of file" :
			    strerror(errno));
			goto fail;
		}
		for (ssize_t done = 0; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) ==
			    -1) {
				mr_err_set(err, 500, "io_error", "could not "
				    "write '%s': %s", tmp, strerror(errno));
				goto fail;
			}
		off += n;
		if (o->progress != NULL && o->progress(o->progress_arg, off) ==
		    -1) {
			MR_STORE_CANCELLED(err);
			goto fail;
		}
	}
	if (fsync(out) == -1 || fstat(out, &sb) == -1 || close(out) == -1) {
		out = -1;
		mr_err_set(err, 500, "io_error", "could not flush '%s': %s",
		    tmp, strerror(errno));
		goto fail;
	}
	out = -1;
	if (sb.st_size != o->size) {
		mr_err_set(err, 500, "io_error", "'%s' has %lld bytes, not "
		    "%lld", tmp, (long long)sb.st_size, (long long)o->size);
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		mr_err_set(err, 500, "io_error", "could not rename '%s': %s",
		    tmp, strerror(errno));
		goto fail;
	}
	fsync_dir(dir);
	free(buf);
	return 0;
fail:
	saved = errno;
	if (out != -1)
		close(out);
	if (tmp != NULL)
		unlink(tmp);
	free(buf);
	errno = saved;
	return -1;
}

static int
local_stat(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_store_stat *sb, struct mr_err *err)
{
	struct stat	 s;
	char		*path;

	if ((path = path_of(st, a, key, err)) == NULL)
		return -1;
	if (stat(path, &s) == -1) {
		if (errno == ENOENT)
			return 0;
		return mr_err_set(err, 500, "io_error", "could not stat '%s': "
		    "%s", path, strerror(errno));
	}
	sb->exists = 1;
	sb->size = s.st_size;
	return 0;
}

static int
local_del(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	char	*path;

	if ((path = path_of(st, a, key, err)) == NULL)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return mr_err_set(err, 500, "io_error", "could not delete "
		    "'%s': %s", path, strerror(errno));
	return 0;
}

const struct mr_store_ops mr_store_local = {
	.name = "local",
	.open = local_open,
	.put = local_put,
	.stat = local_stat,
	.del = local_del,
};
