/* SPDX-License-Identifier: ISC */
/*
 * spool.c - the recordings LiveKit Egress left for the reapers (spool.h):
 * files in spool_dir, or objects in an incoming S3 bucket, which is the
 * S3 backend of store_s3.c opened on the spool_s3_* settings.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "model.h"
#include "spool.h"

static const char *
ext(const struct mr_recording *r)
{
	return r->audio_only ? "ogg" : "mp4";
}

/* "prefix" and "/prefix/" mean the folder "prefix/"; "" none. */
static char *
prefix_folder(struct mr_arena *a, const char *pfx)
{
	size_t	 n;

	while (*pfx == '/')
		pfx++;
	n = strlen(pfx);
	if (n == 0)
		return mr_strdup(a, "");
	return mr_printf(a, "%s%s", pfx, pfx[n - 1] == '/' ? "" : "/");
}

int
mr_spool_s3_conf(const struct mr_conf *conf, struct mr_conf *c)
{
	if (conf->cf_spool_type == NULL ||
	    strcmp(conf->cf_spool_type, "s3") != 0)
		return 0;
	*c = *conf;
#define SPOOL_S3(k) \
	if (conf->cf_spool_s3_##k != NULL) \
		c->cf_s3_##k = conf->cf_spool_s3_##k
	SPOOL_S3(endpoint);
	SPOOL_S3(region);
	SPOOL_S3(bucket);
	SPOOL_S3(access_key);
	SPOOL_S3(secret_key);
#undef SPOOL_S3
	c->cf_s3_prefix = conf->cf_spool_s3_prefix;
	return 1;
}

int
mr_spool_open(struct mr_spool *sp, const struct mr_conf *conf,
    struct mr_err *err)
{
	static char	 s3[] = "s3";
	struct mr_conf	*c = &sp->inconf;

	memset(sp, 0, sizeof(*sp));
	sp->conf = conf;
	if (conf->cf_spool_type == NULL ||
	    strcmp(conf->cf_spool_type, "local") == 0)
		return 0;
	if (strcmp(conf->cf_spool_type, "s3") != 0)
		return mr_err_set(err, 500, "config", "spool_type must be "
		    "local or s3, not '%.32s'", conf->cf_spool_type);
	sp->s3 = 1;
	mr_spool_s3_conf(conf, c);
	c->cf_storage_type = s3;
	if (mr_store_open(&sp->in, c, err) == -1) {
		mr_err_cause(err, "spool_s3");
		mr_store_close(&sp->in);
		return -1;
	}
	return 0;
}

void
mr_spool_close(struct mr_spool *sp)
{
	if (sp->s3)
		mr_store_close(&sp->in);
	sp->s3 = 0;
}

char *
mr_spool_egress_path(struct mr_arena *a, const struct mr_conf *conf,
    const char *id, int audio_only)
{
	const char	*x = audio_only ? "ogg" : "mp4";
	char		*pfx;

	if (conf->cf_spool_type != NULL &&
	    strcmp(conf->cf_spool_type, "s3") == 0) {
		if ((pfx = prefix_folder(a, conf->cf_spool_s3_prefix != NULL ?
		    conf->cf_spool_s3_prefix : "")) == NULL)
			return NULL;
		return mr_printf(a, "%s%s.%s", pfx, id, x);
	}
	return mr_printf(a, "%s/%s.%s", conf->cf_spool_dir, id, x);
}

/* r's object in the incoming bucket, below the prefix. */
static char *
object_key(struct mr_arena *a, const struct mr_recording *r)
{
	return mr_printf(a, "%s.%s", r->id, ext(r));
}

int
mr_spool_stat(struct mr_spool *sp, struct mr_arena *a,
    const struct mr_recording *r, struct mr_spool_file *f,
    struct mr_err *err)
{
	struct mr_store_stat	 sb;
	struct stat		 st;

	memset(f, 0, sizeof(*f));
	if (sp->s3) {
		if ((f->name = object_key(a, r)) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		memset(&sb, 0, sizeof(sb));
		if (mr_store_stat(&sp->in, a, f->name, &sb, err) == -1)
			return -1;
		f->exists = sb.exists;
		f->size = sb.size;
		f->etag = sb.etag;
		return 0;
	}
	if ((f->name = mr_spool_path(a, sp->conf->cf_spool_dir, r)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (stat(f->name, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return mr_err_set(err, 500, "io_error", "could not stat "
		    "spool file '%s': %s", f->name, strerror(errno));
	}
	f->exists = 1;
	f->size = st.st_size;
	f->mtime = st.st_mtime;
	return 0;
}

/* A read of the object through the window. */
static int
window_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	struct mr_spool_reader	*rd = arg;
	unsigned char		*out = buf;
	size_t			 n, want;

	while (len > 0) {
		if (off >= rd->winoff &&
		    off < rd->winoff + (off_t)rd->winlen) {
			n = (size_t)(rd->winoff + (off_t)rd->winlen - off);
			if (n > len)
				n = len;
			memcpy(out, rd->win + (off - rd->winoff), n);
			out += n;
			off += n;
			len -= n;
			continue;
		}
		/* A read larger than the window goes straight through. */
		if (len >= rd->wincap) {
			if (rd->sp->in.ops->read(&rd->sp->in, rd->a, rd->key,
			    off, out, len, err) == -1)
				return -1;
			rd->fetched += len;
			rd->gets++;
			return 0;
		}
		want = rd->wincap;
		if ((uint64_t)off + want > rd->src.size)
			want = (size_t)(rd->src.size - (uint64_t)off);
		rd->winlen = 0;
		if (rd->sp->in.ops->read(&rd->sp->in, rd->a, rd->key, off,
		    rd->win, want, err) == -1)
			return -1;
		rd->winoff = off;
		rd->winlen = want;
		rd->fetched += want;
		rd->gets++;
	}
	return 0;
}

int
mr_spool_reader_open(struct mr_spool *sp, struct mr_arena *a,
    const struct mr_recording *r, size_t window, struct mr_spool_reader *rd,
    struct mr_err *err)
{
	struct mr_spool_file	 f;

	memset(rd, 0, sizeof(*rd));
	rd->fd = -1;
	rd->sp = sp;
	rd->a = a;
	if (!sp->s3) {
		if ((f.name = mr_spool_path(a, sp->conf->cf_spool_dir, r)) ==
		    NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		if ((rd->fd = open(f.name, O_RDONLY | O_CLOEXEC)) == -1)
			return mr_err_set(err, errno == ENOENT ? 404 : 500,
			    "spool_missing", "could not open spool file "
			    "'%s': %s", f.name, strerror(errno));
		if (mr_src_fd(&rd->src, &rd->fd, err) == -1) {
			close(rd->fd);
			rd->fd = -1;
			return -1;
		}
		return 0;
	}
	if (mr_spool_stat(sp, a, r, &f, err) == -1)
		return -1;
	if (!f.exists)
		return mr_err_set(err, 404, "spool_missing", "object '%s' "
		    "is not in the incoming bucket", f.name);
	if ((rd->win = malloc(window)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	rd->wincap = window;
	rd->key = f.name;
	rd->src.read = window_read;
	rd->src.arg = rd;
	rd->src.size = (uint64_t)f.size;
	return 0;
}

void
mr_spool_reader_close(struct mr_spool_reader *rd)
{
	if (rd->fd != -1)
		close(rd->fd);
	rd->fd = -1;
	free(rd->win);
	rd->win = NULL;
}

int
mr_spool_remove(struct mr_spool *sp, struct mr_arena *a,
    const struct mr_recording *r, struct mr_err *err)
{
	char	*name;

	if (sp->s3) {
		if ((name = object_key(a, r)) == NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
		return mr_store_del(&sp->in, a, name, err);
	}
	if ((name = mr_spool_path(a, sp->conf->cf_spool_dir, r)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (unlink(name) == -1 && errno != ENOENT)
		return mr_err_set(err, 500, "io_error", "could not remove "
		    "spool file '%s': %s", name, strerror(errno));
	return 0;
}

int
mr_spool_remove_name(struct mr_spool *sp, struct mr_arena *a,
    const char *name, struct mr_err *err)
{
	char	*path;

	if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0')
		return mr_err_set(err, 400, "invalid_name", "'%s' is not a "
		    "spool file name", name);
	if (sp->s3)
		return mr_store_del(&sp->in, a, name, err);
	if ((path = mr_printf(a, "%s/%s", sp->conf->cf_spool_dir, name)) ==
	    NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if (unlink(path) == -1 && errno != ENOENT)
		return mr_err_set(err, 500, "io_error", "could not remove "
		    "spool file '%s': %s", path, strerror(errno));
	return 0;
}

struct list_arg {
	int	(*fn)(void *, const char *, off_t, int64_t);
	void	*arg;
};

static int
list_object(void *arg, const char *key, off_t size)
{
	struct list_arg	*la = arg;

	/* Only the objects of the prefix itself, not of folders in it. */
	if (strchr(key, '/') != NULL)
		return 0;
	return la->fn(la->arg, key, size, 0);
}

int
mr_spool_list(struct mr_spool *sp, struct mr_arena *a,
    int (*fn)(void *, const char *name, off_t size, int64_t mtime),
    void *arg, struct mr_err *err)
{
	struct list_arg	 la = { fn, arg };
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;

	if (sp->s3)
		return sp->in.ops->list(&sp->in, a, "", list_object, &la, err);
	if ((d = opendir(sp->conf->cf_spool_dir)) == NULL)
		return mr_err_set(err, 500, "io_error", "could not open spool "
		    "'%s': %s", sp->conf->cf_spool_dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;
		if (fn(arg, de->d_name, st.st_size, st.st_mtime) == -1)
			break;
	}
	closedir(d);
	return 0;
}

int
mr_spool_copy(struct mr_spool *sp, struct mr_arena *a, struct mr_store *dst,
    const struct mr_recording *r, const struct mr_store_obj *o,
    struct mr_err *err)
{
	char	*key;

	if (!sp->s3 || dst->ops->copy == NULL)
		return mr_err_set(err, 501, "copy_unsupported", "The file "
		    "cannot be copied inside the storage.");
	if ((key = object_key(a, r)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return dst->ops->copy(dst, a, &sp->in, key, o, err);
}
