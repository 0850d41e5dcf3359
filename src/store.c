/* SPDX-License-Identifier: ISC */
/*
 * store.c - the storage vtable's front door (store.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr.h"
#include "conf.h"
#include "model.h"
#include "store.h"

#define SRC_SCRATCH	(256 * 1024)	/* a read's URL, headers, signature */

static const struct mr_store_ops *const backends[] = {
	&mr_store_local,
	&mr_store_nextcloud,
	&mr_store_s3,
};

int
mr_store_open(struct mr_store *st, const struct mr_conf *conf,
    struct mr_err *err)
{
	memset(st, 0, sizeof(*st));
	st->conf = conf;
	for (size_t i = 0; i < MR_NELEM(backends); i++)
		if (strcmp(backends[i]->name, conf->cf_storage_type) == 0) {
			st->ops = backends[i];
			return st->ops->open(st, err);
		}
	return mr_err_set(err, 500, "config", "unknown storage_type '%s'",
	    conf->cf_storage_type);
}

void
mr_store_close(struct mr_store *st)
{
	if (st->ops != NULL && st->ops->close != NULL)
		st->ops->close(st);
	st->ops = NULL;
}

int
mr_store_put(struct mr_store *st, struct mr_arena *a,
    const struct mr_src *src, const struct mr_store_obj *o,
    struct mr_err *err)
{
	return st->ops->put(st, a, src, o, err);
}

int
mr_store_put_fd(struct mr_store *st, struct mr_arena *a, int fd,
    const struct mr_store_obj *o, struct mr_err *err)
{
	struct mr_src	 src;
	int		 fdv = fd;

	if (mr_src_fd(&src, &fdv, err) == -1) {
		if (err->status == 422) {
			mr_err_cause(err, "%s", err->detail);
			mr_err_set(err, 500, "io_error", "Could not read the "
			    "file being stored.");
		}
		return -1;
	}
	return st->ops->put(st, a, &src, o, err);
}

int
mr_store_read(const struct mr_src *src, off_t off, void *buf, size_t len,
    struct mr_err *err)
{
	if (mr_src_read(src, off, buf, len, err) == 0)
		return 0;
	if (err->status == 422) {
		mr_err_cause(err, "%s", err->detail);
		mr_err_set(err, 500, "io_error", "Could not read the file "
		    "being stored: it ended at offset %lld or before.",
		    (long long)off);
	}
	return -1;
}

/* A source's read through the backend, its strings in a scratch arena. */
static int
stored_read(void *arg, off_t off, void *buf, size_t len, struct mr_err *err)
{
	struct mr_store_src	*ss = arg;

	mr_arena_reset(ss->scratch);
	if (ss->st->ops->read(ss->st, ss->scratch, ss->key, off, buf, len,
	    err) == -1)
		return -1;
	ss->bytes_read += len;
	return 0;
}

int
mr_store_src_open(struct mr_store *st, const char *key, uint64_t size,
    struct mr_store_src *ss, struct mr_src *src, struct mr_err *err)
{
	memset(ss, 0, sizeof(*ss));
	memset(src, 0, sizeof(*src));
	if (st->ops->read == NULL)
		return mr_err_set(err, 501, "read_unsupported", "Storage "
		    "type %s cannot read back what it stores.", st->ops->name);
	if ((ss->scratch = mr_arena_new(SRC_SCRATCH)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	ss->st = st;
	ss->key = key;
	src->read = stored_read;
	src->arg = ss;
	src->size = size;
	return 0;
}

void
mr_store_src_close(struct mr_store_src *ss)
{
	mr_arena_free(ss->scratch);
	ss->scratch = NULL;
}

int
mr_store_stat(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_store_stat *sb, struct mr_err *err)
{
	memset(sb, 0, sizeof(*sb));
	return st->ops->stat(st, a, key, sb, err);
}

int
mr_store_del(struct mr_store *st, struct mr_arena *a, const char *key,
    struct mr_err *err)
{
	return st->ops->del(st, a, key, err);
}

int
mr_store_discard(struct mr_store *st, struct mr_arena *a,
    const struct mr_store_obj *o, struct mr_err *err)
{
	if (st->ops->discard == NULL)
		return st->ops->del(st, a, o->key, err);
	return st->ops->discard(st, a, o, err);
}

char *
mr_store_url(struct mr_store *st, struct mr_arena *a, const char *key,
    int64_t ttl, struct mr_err *err)
{
	if (st->ops->url == NULL)
		return NULL;
	return st->ops->url(st, a, key, ttl, err);
}

int
mr_store_share(struct mr_store *st, struct mr_arena *a, const char *key,
    const char *user, struct mr_err *err)
{
	if (st->ops->share == NULL || user == NULL)
		return 0;
	return st->ops->share(st, a, key, user, err);
}

char *
mr_store_key(struct mr_arena *a, const char *room_code, int64_t started,
    const char *id, const char *ext)
{
	struct tm	 tm;
	time_t		 t = (time_t)started;
	char		 ts[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y%m%d_%H%M%S", &tm) == 0)
		return NULL;
	return mr_printf(a, "%s/recording_%s_%.8s.%s", room_code, ts, id, ext);
}

/*
 * The egress file of recording r in spool_dir: {spool_dir}/{id}.mp4 or
 * .ogg, the name meetrec asks LiveKit to write.  When that is not there
 * and LiveKit reported another name inside spool_dir (r->file_name, no
 * "/../" in it), that one.  In arena a; NULL when out of memory.
 */
char *
mr_spool_path(struct mr_arena *a, const char *spool_dir,
    const struct mr_recording *r)
{
	char	*p;
	size_t	 n = strlen(spool_dir);

	p = mr_printf(a, "%s/%s.%s", spool_dir, r->id,
	    r->audio_only ? "ogg" : "mp4");
	if (p != NULL && access(p, F_OK) == -1 && r->file_name != NULL &&
	    strncmp(r->file_name, spool_dir, n) == 0 &&
	    r->file_name[n] == '/' && strstr(r->file_name, "/../") == NULL)
		p = mr_strdup(a, r->file_name);
	return p;
}

/*
 * Is key a storage key every backend can take as it is: a relative path
 * of at most 1024 bytes whose segments are neither empty, "." nor "..",
 * with no control byte and no backslash?
 */
int
mr_store_key_valid(const char *key)
{
	const char	*seg, *p;
	size_t		 n;

	if (key == NULL || *key == '\0' || strlen(key) > MR_STORE_KEY_MAX)
		return 0;
	for (p = key; *p != '\0'; p++)
		if (*p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	for (seg = key;; seg += n + 1) {
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (seg[n] == '\0')
			return 1;
	}
}
