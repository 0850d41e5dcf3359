/* SPDX-License-Identifier: ISC */
/*
 * store.h - where finished recordings are kept: a small vtable with one
 * backend per file (store_local.c, store_webdav.c, store_s3.c).  Callers
 * go through mr_store_*() and never know which backend answers.
 *
 * Every upload streams from a source (struct mr_src: a spool file read
 * with pread(2), or an object read with ranged GETs), a bounded window at
 * a time: memory stays flat whatever the size.  Every call
 * blocks (network or disk) and reports failures in err: 502/504 for an
 * unreachable or refusing backend (worth a retry), 4xx for a request the
 * backend will never accept (not worth one), 500 for local trouble.
 */
#ifndef MR_STORE_H
#define MR_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "mr.h"
#include "probe.h"

struct mr_conf;
struct mr_recording;
struct mr_store;

/* What to store. */
struct mr_store_obj {
	const char	*key;		/* "<room>/recording_...mp4"; the
					   backend adds its own folder or
					   prefix */
	const char	*content_type;	/* "video/mp4", "audio/ogg"; NULL
					   is application/octet-stream */
	off_t		 size;		/* bytes to send from the source,
					   from 0 */
	const char	*sha256_hex;	/* of the whole file, or NULL */
	const char	*upload_id;	/* stable per recording, for resume
					   where the backend names uploads
					   (Nextcloud): "meetrec-<uuid>" */
	int64_t		 mtime;		/* Unix seconds, or 0 */
	const char	*src_etag;	/* copy: the ETag the source must
					   still have (the one hashed), or
					   NULL */
	/*
	 * Called as the upload reads its way through the source, with the
	 * offset
	 * reached; returning -1 gives the upload up (err 409
	 * "upload_cancelled").  The reaper renews its lease here, so a long
	 * upload keeps its claim.  NULL for none.
	 */
	int		(*progress)(void *arg, off_t done);
	void		*progress_arg;
};

/* An upload given up because its progress callback said so. */
#define MR_STORE_CANCELLED(err) \
	mr_err_set((err), 409, "upload_cancelled", \
	    "The upload was given up: it is no longer ours to do.")

struct mr_store_stat {
	int	 exists;
	off_t	 size;
	char	*etag;			/* in the arena, or NULL */
	char	*sha256_hex;		/* when the backend keeps one */
};

struct mr_store_ops {
	const char	*name;		/* the storage_type value */
	/* Read the backend's configuration; priv is the backend's own. */
	int	(*open)(struct mr_store *, struct mr_err *);
	void	(*close)(struct mr_store *);
	/*
	 * Store size bytes of src under key, replacing what is there, and
	 * verify the stored size before returning 0.  Must be safe to call
	 * again after a failure or a crash (resume or restart).  Reads go
	 * through mr_store_read().
	 */
	int	(*put)(struct mr_store *, struct mr_arena *,
		    const struct mr_src *src, const struct mr_store_obj *,
		    struct mr_err *);
	int	(*stat)(struct mr_store *, struct mr_arena *, const char *key,
		    struct mr_store_stat *, struct mr_err *);
	/* Deleting what is not there succeeds. */
	int	(*del)(struct mr_store *, struct mr_arena *, const char *key,
		    struct mr_err *);
	/*
	 * As del of o->key, and also what a put of o killed half-way left
	 * (S3's unfinished multipart uploads of the key, a local part file,
	 * Nextcloud's upload folder o->upload_id); NULL where del leaves
	 * nothing behind.  Only key and upload_id are read.
	 */
	int	(*discard)(struct mr_store *, struct mr_arena *,
		    const struct mr_store_obj *, struct mr_err *);
	/*
	 * A URL a browser may fetch the object from for ttl seconds (or
	 * less, where the backend caps it: S3 at 7 days) without other
	 * credentials, in the arena; NULL with err->status 0 when the
	 * backend has none (local files go through nginx instead).
	 */
	char	*(*url)(struct mr_store *, struct mr_arena *, const char *key,
		    int64_t ttl, struct mr_err *);
	/*
	 * Give user (a backend account name) read-only access to key.
	 * Returns 0, or 0 without doing anything where the backend has no
	 * accounts of its own.
	 */
	int	(*share)(struct mr_store *, struct mr_arena *, const char *key,
		    const char *user, struct mr_err *);
	/*
	 * The incoming objects of a spool in S3 (spool.c); NULL where the
	 * backend has none.  read: exactly len bytes of key from off (422
	 * when the object is shorter).  list: every key under sub with its
	 * size.  copy: key of from stored here as o->key inside the
	 * service, or 501 copy_unsupported (then stream it).
	 */
	int	(*read)(struct mr_store *, struct mr_arena *, const char *key,
		    off_t off, void *buf, size_t len, struct mr_err *);
	int	(*list)(struct mr_store *, struct mr_arena *, const char *sub,
		    int (*fn)(void *, const char *key, off_t size), void *arg,
		    struct mr_err *);
	int	(*copy)(struct mr_store *, struct mr_arena *,
		    struct mr_store *from, const char *key,
		    const struct mr_store_obj *o, struct mr_err *);
};

struct mr_store {
	const struct mr_store_ops	*ops;
	const struct mr_conf		*conf;
	void				*priv;
};

extern const struct mr_store_ops mr_store_local;
extern const struct mr_store_ops mr_store_nextcloud;
extern const struct mr_store_ops mr_store_s3;

/* store.c */
/* Pick the backend named by conf->cf_storage_type and open it. */
int	 mr_store_open(struct mr_store *, const struct mr_conf *,
	    struct mr_err *);
void	 mr_store_close(struct mr_store *);
int	 mr_store_put(struct mr_store *, struct mr_arena *,
	    const struct mr_src *, const struct mr_store_obj *,
	    struct mr_err *);
/* As mr_store_put(), from the regular file open on fd. */
int	 mr_store_put_fd(struct mr_store *, struct mr_arena *, int fd,
	    const struct mr_store_obj *, struct mr_err *);
/*
 * A backend's read of what it stores: as mr_src_read(), but a source that
 * ends early is 500 "io_error" (it changed under the upload, a local
 * trouble worth a retry), never the probe's 422.
 */
int	 mr_store_read(const struct mr_src *, off_t off, void *buf,
	    size_t len, struct mr_err *);
int	 mr_store_stat(struct mr_store *, struct mr_arena *, const char *key,
	    struct mr_store_stat *, struct mr_err *);
/*
 * A source reading size bytes of what the store keeps at key, through
 * the backend's read (ranged GETs; pread on local storage), so the
 * transcribe pass decodes a stored recording without a copy.  ss holds
 * the source's state and must outlive src; close it after use.  501
 * "read_unsupported" for a backend without reads.
 */
struct mr_store_src {
	struct mr_store	*st;
	const char	*key;
	struct mr_arena	*scratch;	/* each read's strings */
	uint64_t	 bytes_read;
};
int	 mr_store_src_open(struct mr_store *, const char *key, uint64_t size,
	    struct mr_store_src *, struct mr_src *, struct mr_err *);
void	 mr_store_src_close(struct mr_store_src *);
int	 mr_store_del(struct mr_store *, struct mr_arena *, const char *key,
	    struct mr_err *);
int	 mr_store_discard(struct mr_store *, struct mr_arena *,
	    const struct mr_store_obj *, struct mr_err *);
char	*mr_store_url(struct mr_store *, struct mr_arena *, const char *key,
	    int64_t ttl, struct mr_err *);
int	 mr_store_share(struct mr_store *, struct mr_arena *, const char *key,
	    const char *user, struct mr_err *);
/* The longest storage key, and whether a key is safe (store.c). */
#define MR_STORE_KEY_MAX	1024
int	 mr_store_key_valid(const char *key);
/*
 * The storage key of a recording, as the seed named it below its
 * "Recordings" folder: "<room_code>/recording_<YYYYmmdd_HHMMSS>_<first 8
 * of id>.<ext>", the time in UTC (started).  In arena a.
 */
char	*mr_store_key(struct mr_arena *a, const char *room_code,
	    int64_t started, const char *id, const char *ext);
/*
 * The egress file of a recording in spool_dir: {spool_dir}/{id}.mp4 or
 * .ogg, or the name LiveKit reported if that is inside spool_dir and
 * the first is not there.  In arena a; NULL when out of memory.
 */
char	*mr_spool_path(struct mr_arena *a, const char *spool_dir,
	    const struct mr_recording *);

#endif /* MR_STORE_H */
