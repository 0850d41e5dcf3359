/* SPDX-License-Identifier: ISC */
/*
 * mr.h - the core of libmeetrec: arenas, capped buffers, errors, logging
 * and small utilities.  Every other module includes this header.  Module
 * headers (conf.h, json.h, db.h, jwt.h, livekit.h, ...) hold the rest,
 * grouped by source file.
 */
#ifndef MR_H
#define MR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MR_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define MR_NORETURN	__attribute__((noreturn))
#define MR_UNUSED	__attribute__((unused))
#define MR_NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MR_XSTR(x)	#x
#define MR_STR(x)	MR_XSTR(x)	/* a macro's value as a string */

#define MR_UUID_STRLEN	36

/* arena.c */

/*
 * A per-request (or per-item) arena.  Everything allocated from it lives
 * until mr_arena_reset(); deferred callbacks registered with
 * mr_arena_defer() run then, last registered first.  A hard cap bounds
 * the bytes one request may take.  With MR_ARENA_DEBUG every allocation is
 * its own malloc so AddressSanitizer sees overruns and use after reset.
 */
struct mr_arena;

struct mr_arena	*mr_arena_new(size_t cap);
void		 mr_arena_free(struct mr_arena *);
void		 mr_arena_reset(struct mr_arena *);
size_t		 mr_arena_used(const struct mr_arena *);
void		*mr_alloc(struct mr_arena *, size_t);
void		*mr_calloc(struct mr_arena *, size_t, size_t);
char		*mr_strdup(struct mr_arena *, const char *);
char		*mr_strndup(struct mr_arena *, const char *, size_t);
char		*mr_printf(struct mr_arena *, const char *, ...) MR_PRINTF(2, 3);
char		*mr_vprintf(struct mr_arena *, const char *, va_list)
		    MR_PRINTF(2, 0);
int		 mr_arena_defer(struct mr_arena *, void (*)(void *), void *);

/* buf.c */

/*
 * A growable byte buffer with a hard cap (curl dynbuf).  The data is
 * always NUL-terminated past len.  The buffer owns its memory: release it
 * with mr_buf_free().  Appending past the cap fails with -1 and leaves
 * the buffer as it was.
 */
struct mr_buf {
	char	*data;
	size_t	 len;
	size_t	 size;
	size_t	 cap;
};

void	mr_buf_init(struct mr_buf *, size_t cap);
void	mr_buf_free(struct mr_buf *);
void	mr_buf_reset(struct mr_buf *);
/* Room for n more bytes now: appending up to n allocates no more. */
int	mr_buf_reserve(struct mr_buf *, size_t n);
int	mr_buf_add(struct mr_buf *, const void *, size_t);
int	mr_buf_adds(struct mr_buf *, const char *);
int	mr_buf_addf(struct mr_buf *, const char *, ...) MR_PRINTF(2, 3);

/* err.c */

/*
 * An error travelling up to the handler: the HTTP status and a stable
 * snake_case code for the client, a sentence for the client (detail), and
 * log-only context (cause).  mr_err_set() returns -1 so callers can write
 * "return mr_err_set(err, ...)".
 */
struct mr_err {
	int		 status;
	const char	*code;
	char		 detail[256];
	char		 cause[512];
};

void	mr_err_clear(struct mr_err *);
int	mr_err_set(struct mr_err *, int, const char *, const char *, ...)
	    MR_PRINTF(4, 5);
int	mr_err_cause(struct mr_err *, const char *, ...) MR_PRINTF(2, 3);

/* log.c */

enum mr_log_level {
	MR_LOG_ERR = 0,
	MR_LOG_WARN,
	MR_LOG_INFO,
	MR_LOG_DEBUG
};

extern int mr_log_verbosity;

void	mr_log_init(const char *, int, int);
void	mr_log_setlevel(int);
int	mr_log_parse_level(const char *);
void	mr_log_msg(int, const char *, ...) MR_PRINTF(2, 3);
void	mr_log_warn(const char *, ...) MR_PRINTF(1, 2);
void	mr_log_warnx(const char *, ...) MR_PRINTF(1, 2);
void	mr_log_info(const char *, ...) MR_PRINTF(1, 2);
void	mr_log_debug(const char *, ...) MR_PRINTF(1, 2);
void	mr_fatal(const char *, ...) MR_PRINTF(1, 2) MR_NORETURN;
void	mr_fatalx(const char *, ...) MR_PRINTF(1, 2) MR_NORETURN;

/* util.c */

int	 mr_uuid_valid(const char *);
char	*mr_uuid_new(struct mr_arena *);
int	 mr_parse_int64(const char *, int64_t, int64_t, int64_t *);
int	 mr_room_code_valid(const char *);
char	*mr_utf8_clip(struct mr_arena *, const char *, size_t);
int	 mr_utf8_valid(const char *, size_t);
int	 mr_strlcpy(char *, const char *, size_t);
int64_t	 mr_now(void);
int64_t	 mr_now_ms(void);
/* An int64_t of microseconds ends before year 294247: 6 digits. */
#define MR_TIME_ISOLEN	sizeof("294247-01-10T04:00:54.775807Z")
char	*mr_time_iso(char *, int64_t);
int	 mr_mkdir_p(const char *, mode_t);
int	 mr_pidfile_open(const char *, struct mr_err *);
int	 mr_pidfile_write(int);
void	 mr_pidfile_close(int, const char *);
const char *mr_getenv_nonempty(const char *);
int	 mr_duration_split(double, int64_t *, int64_t *);

/* crypto.c */

#define MR_SHA256_LEN	32

int	 mr_sha256(const void *, size_t, unsigned char[MR_SHA256_LEN]);
int	 mr_hmac_sha256(const void *, size_t, const void *, size_t,
	    unsigned char[MR_SHA256_LEN]);
int	 mr_ct_equal(const void *, const void *, size_t);
char	*mr_b64url_encode(struct mr_arena *, const void *, size_t);
int	 mr_b64url_decode(struct mr_arena *, const char *, size_t,
	    unsigned char **, size_t *);
char	*mr_b64_encode(struct mr_arena *, const void *, size_t);
int	 mr_b64_decode(struct mr_arena *, const char *, size_t,
	    unsigned char **, size_t *);
int	 mr_random_bytes(void *, size_t);
char	*mr_hex(struct mr_arena *, const unsigned char *, size_t);

/* query.c */
int	 mr_query_get(struct mr_arena *, const char *, const char *,
	    const char **, struct mr_err *);
int	 mr_query_check(const char *, const char *const *, struct mr_err *);
int	 mr_time_valid(const char *, int *);
int	 mr_cursor_decode(struct mr_arena *, const char *, const char **,
	    const char **);
char	*mr_cursor_encode(struct mr_arena *, const char *, const char *);

/* passwd.c */
char	*mr_passwd_hash(struct mr_arena *, const char *);
int	 mr_passwd_check(struct mr_arena *, const char *, const char *);

#endif /* MR_H */
