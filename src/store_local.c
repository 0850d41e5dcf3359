/* SPDX-License-Identifier: ISC */
/*
 * store_local.c - recordings in a local folder (storage_local_dir), the
 * default: nginx serves them with X-Accel-Redirect.  A file is written
 * under a temporary name, fsynced, renamed into place and its folder
 * fsynced, so a reader or a crash never sees half a recording.
 *
 * nginx runs as another user (www-data) and must read what is stored:
 * every file (mode 0640) and folder (0750, less the umask) below the
 * storage folder gets the storage folder's group, which is nginx's
 * (doc/deploy.md: the folder is set-group-ID, so the kernel does it;
 * otherwise the writer must be in that group, or root).  When that
 * cannot be done the file is not stored, so that no recording is marked
 * completed that nginx cannot serve.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

/* The storage folder's group: what nginx reads stored files with. */
static int
storage_gid(struct mr_store *st, gid_t *gid, struct mr_err *err)
{
	struct stat	 sb;

	if (stat(st->conf->cf_storage_local_dir, &sb) == -1)
		return mr_err_set(err, 500, "io_error", "could not stat "
		    "storage folder '%s': %s", st->conf->cf_storage_local_dir,
		    strerror(errno));
	*gid = sb.st_gid;
	return 0;
}

static const char *
group_name(gid_t gid, char *buf, size_t len)
{
	struct group	*gr;

	if ((gr = getgrgid(gid)) != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)gid);
	return buf;
}

static int
give_group(const char *path, int fd, gid_t gid, struct mr_err *err)
{
	char	 name[64];
	int	 saved;

	if ((fd == -1 ? chown(path, (uid_t)-1, gid) :
	    fchown(fd, (uid_t)-1, gid)) == 0)
		return 0;
	saved = errno;
	return mr_err_set(err, 500, "io_error", "could not give '%s' the "
	    "group of the storage folder, %s, which nginx reads it with: %s; "
	    "make the folder set-group-ID (chmod g+s)", path,
	    group_name(gid, name, sizeof(name)), strerror(saved));
}

/*
 * Will what we make below the storage folder get its group?  Yes when
 * it is set-group-ID (the kernel gives it), or when we may give it:
 * root, or a member of the group.  Asked before anything is made, so
 * that a refusal leaves nothing of the wrong group behind.
 */
static int
group_ok(const char *root, gid_t gid, struct mr_err *err)
{
	struct stat	 sb;
	gid_t		 groups[256];
	char		 name[64];
	int		 n;

	if (stat(root, &sb) == 0 && (sb.st_mode & S_ISGID))
		return 0;
	if (geteuid() == 0 || getegid() == gid)
		return 0;
	if ((n = getgroups((int)MR_NELEM(groups), groups)) > 0)
		for (int i = 0; i < n; i++)
			if (groups[i] == gid)
				return 0;
	return mr_err_set(err, 500, "io_error", "the storage folder '%s' is "
	    "not set-group-ID, and its group, %s, is not ours to give: nginx "
	    "could not read what is stored there; make the folder "
	    "set-group-ID (chmod g+s)", root,
	    group_name(gid, name, sizeof(name)));
}

/*
 * The folders below the storage folder down to dir (made by mr_mkdir_p,
 * or by an older version) get the storage folder's group, and let it
 * read and search them whatever the umask was.
 */
static int
folders_group(struct mr_store *st, struct mr_arena *a, const char *dir,
    gid_t gid, struct mr_err *err)
{
	size_t		 root = strlen(st->conf->cf_storage_local_dir);
	char		*p, *slash;

	if ((p = mr_strdup(a, dir)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	/* Only what lies below: the storage folder is the operator's. */
	if (strlen(p) <= root)
		return 0;
	for (slash = strchr(p + root, '/');; slash = strchr(slash + 1, '/')) {
		struct stat	 sb;

		if (slash == p + root)
			continue;	/* the storage folder's own end */
		if (slash != NULL)
			*slash = '\0';
		if (stat(p, &sb) == 0) {
			if (sb.st_gid != gid && give_group(p, -1, gid, err) ==
			    -1)
				return -1;
			/* Keeps set-group-ID: only with a strange umask. */
			if ((sb.st_mode & 0050) != 0050 &&
			    chmod(p, (sb.st_mode & 07777) | 0050) == -1)
				return mr_err_set(err, 500, "io_error", "could "
				    "not let the group read '%s': %s", p,
				    strerror(errno));
		}
		if (slash == NULL)
			return 0;
		*slash = '/';
	}
}

/*
 * The temporary name a put of path writes to, in the same folder (in
 * arena a): one per key, so a put killed halfway leaves a part file that
 * the next attempt truncates and reuses, or that a discard removes.
 */
static char *
part_of(struct mr_arena *a, const char *path)
{
	const char	*base = strrchr(path, '/');

	if (base == NULL)
		return NULL;
	return mr_printf(a, "%.*s/.%s.part", (int)(base - path), path,
	    base + 1);
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
local_put(struct mr_store *st, struct mr_arena *a, const struct mr_src *src,
    const struct mr_store_obj *o, struct mr_err *err)
{
	char		*path, *tmp = NULL, *dir, *buf = NULL;
	off_t		 off = 0;
	ssize_t		 n, w;
	struct stat	 sb;
	gid_t		 gid = (gid_t)-1;
	int		 out = -1, saved;

	if ((path = path_of(st, a, o->key, err)) == NULL ||
	    storage_gid(st, &gid, err) == -1)
		return -1;
	if ((dir = mr_strdup(a, path)) == NULL ||
	    (buf = malloc(COPY_CHUNK)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	dir = dirname(dir);
	/* Leases make sure two puts of one key never run at once. */
	if ((tmp = part_of(a, path)) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto fail;
	}
	if (group_ok(st->conf->cf_storage_local_dir, gid, err) == -1)
		goto fail;
	if (mr_mkdir_p(dir, 0750) == -1) {
		mr_err_set(err, 500, "io_error", "could not create '%s': %s",
		    dir, strerror(errno));
		goto fail;
	}
	if (folders_group(st, a, dir, gid, err) == -1)
		goto fail;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		mr_err_set(err, 500, "io_error", "could not create '%s': %s",
		    tmp, strerror(errno));
		goto fail;
	}
	/* 0640 whatever the umask; the group is nginx's (see the top). */
	if (fstat(out, &sb) == -1 || (sb.st_gid != gid &&
	    give_group(tmp, out, gid, err) == -1) || fchmod(out, 0640) == -1) {
		if (err->status == 0)
			mr_err_set(err, 500, "io_error", "could not set the "
			    "mode of '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < o->size) {
		size_t want = (size_t)(o->size - off) < COPY_CHUNK ?
		    (size_t)(o->size - off) : COPY_CHUNK;

		if (mr_store_read(src, off, buf, want, err) == -1)
			goto fail;
		n = (ssize_t)want;
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
	/* ENOTDIR: a folder on the way is a file, so nothing is there. */
	if (unlink(path) == -1 && errno != ENOENT && errno != ENOTDIR)
		return mr_err_set(err, 500, "io_error", "could not delete "
		    "'%s': %s", path, strerror(errno));
	return 0;
}

/* The file and the part file a put killed halfway left. */
static int
local_discard(struct mr_store *st, struct mr_arena *a,
    const struct mr_store_obj *o, struct mr_err *err)
{
	char	*path, *part;

	if ((path = path_of(st, a, o->key, err)) == NULL)
		return -1;
	if ((part = part_of(a, path)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (unlink(part) == -1 && errno != ENOENT && errno != ENOTDIR)
		return mr_err_set(err, 500, "io_error", "could not delete "
		    "'%s': %s", part, strerror(errno));
	return local_del(st, a, o->key, err);
}

/* Exactly len bytes of key from off (the transcribe pass's reads). */
static int
local_read(struct mr_store *st, struct mr_arena *a, const char *key,
    off_t off, void *buf, size_t len, struct mr_err *err)
{
	char	*path;
	int	 fd, rc;

	if ((path = path_of(st, a, key, err)) == NULL)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return mr_err_set(err, errno == ENOENT ? 422 : 500,
		    errno == ENOENT ? "unreadable_media" : "io_error",
		    "could not open '%s': %s", path, strerror(errno));
	rc = mr_probe_read(fd, off, buf, len, err);
	close(fd);
	return rc;
}

const struct mr_store_ops mr_store_local = {
	.name = "local",
	.open = local_open,
	.put = local_put,
	.stat = local_stat,
	.del = local_del,
	.discard = local_discard,
	.read = local_read,
};
