/* SPDX-License-Identifier: ISC */
/*
 * spool.h - where LiveKit Egress leaves a recording's file for the
 * reapers: spool_type = local, a folder (spool_dir) every Egress host and
 * every reaper host sees; or spool_type = s3, an "incoming" bucket or
 * prefix Egress uploads to itself (spool_s3_*), which needs no shared
 * disk.  The reapers ask here whether a recording's file is there, read
 * it (a file with pread, an object with ranged GETs through a window),
 * copy it into an S3 store of the same service without reading it, and
 * remove it once stored.
 */
#ifndef MR_SPOOL_H
#define MR_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "mr.h"
#include "conf.h"
#include "probe.h"
#include "store.h"

struct mr_recording;

struct mr_spool {
	const struct mr_conf	*conf;
	int			 s3;	/* spool_type = s3 */
	struct mr_conf		 inconf; /* conf, s3_* from spool_s3_* */
	struct mr_store		 in;	/* the incoming bucket, when s3 */
};

/* What the spool holds of a recording. */
struct mr_spool_file {
	int	 exists;
	off_t	 size;
	int64_t	 mtime;		/* Unix seconds; 0 for an object, which
				   is there only once it is whole */
	char	*name;		/* path or key, for the logs */
	char	*etag;		/* an object's, or NULL */
};

/* A source over a recording's file (probe.h). */
struct mr_spool_reader {
	struct mr_src	 src;
	int		 fd;		/* local: the open file, else -1 */
	struct mr_spool	*sp;
	struct mr_arena	*a;
	char		*key;		/* s3: the object */
	unsigned char	*win;		/* s3: what the last GET brought */
	size_t		 wincap;
	off_t		 winoff;
	size_t		 winlen;
	uint64_t	 fetched;	/* s3: bytes brought by GETs */
	unsigned	 gets;		/* s3: how many */
};

/*
 * spool_type = s3: 1 and c a copy of conf whose s3_* keys are the
 * incoming bucket's (each spool_s3_* set, else its s3_*; s3_prefix is
 * spool_s3_prefix); 0 for a local spool.  The Start request and the
 * reapers read the bucket through this one derivation.
 */
int	 mr_spool_s3_conf(const struct mr_conf *, struct mr_conf *c);
int	 mr_spool_open(struct mr_spool *, const struct mr_conf *,
	    struct mr_err *);
void	 mr_spool_close(struct mr_spool *);
/*
 * The filepath of an egress of recording id (the Start request's): a
 * path in spool_dir, or the key in the incoming bucket.  In a.
 */
char	*mr_spool_egress_path(struct mr_arena *a, const struct mr_conf *,
	    const char *id, int audio_only);
int	 mr_spool_stat(struct mr_spool *, struct mr_arena *,
	    const struct mr_recording *, struct mr_spool_file *,
	    struct mr_err *);
/*
 * Open r's file for reading.  window: how much one GET of an object
 * brings (small for a probe, large to stream it); reads inside what it
 * brought cost nothing more.  Errors: 404 spool_missing when there is
 * none, else as the store's.
 */
int	 mr_spool_reader_open(struct mr_spool *, struct mr_arena *,
	    const struct mr_recording *, size_t window,
	    struct mr_spool_reader *, struct mr_err *);
void	 mr_spool_reader_close(struct mr_spool_reader *);
/* Remove r's file; what is not there is removed already. */
int	 mr_spool_remove(struct mr_spool *, struct mr_arena *,
	    const struct mr_recording *, struct mr_err *);
/* Remove the file name (as mr_spool_list gives it). */
int	 mr_spool_remove_name(struct mr_spool *, struct mr_arena *,
	    const char *name, struct mr_err *);
/*
 * Every file of the spool, by its name (a file name in spool_dir, a key
 * under the prefix), to fn; fn returning -1 stops the walk.
 */
int	 mr_spool_list(struct mr_spool *, struct mr_arena *,
	    int (*fn)(void *, const char *name, off_t size, int64_t mtime),
	    void *arg, struct mr_err *);
/*
 * Store r's incoming object in dst as o inside the storage service (S3
 * CopyObject): 0, or -1 with err 501 copy_unsupported when dst is
 * another service, or the object too large for one copy (stream it).
 */
int	 mr_spool_copy(struct mr_spool *, struct mr_arena *,
	    struct mr_store *dst, const struct mr_recording *,
	    const struct mr_store_obj *, struct mr_err *);

#endif /* MR_SPOOL_H */
