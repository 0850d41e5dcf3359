/* SPDX-License-Identifier: ISC */
/*
 * fcgi.h - meetrec-fcgi: the prefork pool, the request and response of
 * one FastCGI call, the route table and the handlers.
 */
#ifndef MR_FCGI_H
#define MR_FCGI_H

#include <signal.h>
#include <fcgiapp.h>
#include <json-c/json.h>

#include "mr.h"
#include "auth.h"
#include "conf.h"
#include "db.h"
#include "json.h"
#include "jwt.h"
#include "link.h"
#include "livekit.h"
#include "store.h"
#include "model.h"


struct mr_req {
	FCGX_Request	*rq_fcgx;
	const char	*rq_id;		/* nginx $request_id */
	const char	*rq_route;	/* MEETREC_ROUTE */
	const char	*rq_method;
	const char	*rq_path_id;	/* MEETREC_ID, the captured id */
	const char	*rq_path_sub;	/* MEETREC_SUB_ID, a second one */
	const char	*rq_range;	/* HTTP_RANGE */
	const char	*rq_accept;	/* HTTP_ACCEPT */
	const char	*rq_query;
	const char	*rq_remote_addr;
	const char	*rq_user_agent;
	const char	*rq_auth;	/* HTTP_AUTHORIZATION */
	const char	*rq_content_type;
	char		*rq_body;	/* NUL-terminated, in the arena */
	size_t		 rq_bodylen;
};

#define MR_RESP_MAXHDR	8

struct mr_resp {
	int		 status;
	const char	*content_type;
	const char	*body;
	size_t		 bodylen;
	const char	*headers[MR_RESP_MAXHDR];
	int		 nheaders;
};

/* What a worker holds for its whole life. */
struct mr_env {
	struct mr_conf		*conf;
	int			 listen_fd;	/* the pool's socket */
	struct mr_db		*db;
	struct mr_lk		 lk;
	struct mr_jwt_verifier	 jwt;
	struct mr_store		 store;
	unsigned char		 linkkey[MR_LINK_KEYLEN];
};

struct mr_ctx {
	struct mr_arena		*cx_arena;
	struct mr_env		*cx_env;
	struct mr_req		 cx_req;
	struct mr_resp		 cx_resp;
	struct mr_err		 cx_err;
	struct mr_user		 cx_user;
	const char		*cx_rec;	/* recording id, for the log */
	struct mr_actor		 cx_actor;	/* who its changes are for */
	int			 cx_must_exit;
};

enum mr_auth_level {
	MR_AUTH_NONE,		/* nobody is asked who they are */
	MR_AUTH_OPTIONAL,	/* a Bearer token is checked when sent;
				   cx_user.id is NULL without one */
	MR_AUTH_USER,		/* a valid Bearer token */
	MR_AUTH_ADMIN		/* a valid Bearer token with role admin */
};

typedef int (*mr_handler)(struct mr_ctx *);

struct mr_route {
	const char		*name;
	const char		*method;
	mr_handler		 fn;
	enum mr_auth_level	 auth;
};

/* Handlers: return 0 with cx_resp filled, or -1 with cx_err filled. */
#define MR_ROUTE(name, method, fn, auth) int fn(struct mr_ctx *);
#include "routes.def"
#undef MR_ROUTE

/* route.c */
extern const struct mr_route mr_routes[];
extern const size_t mr_nroutes;
int	mr_route_dispatch(struct mr_ctx *);

/* req.c */
int	 mr_req_read(struct mr_ctx *);
void	 mr_req_discard(struct mr_ctx *);
const char *mr_req_param(struct mr_ctx *, const char *);
int	 mr_req_head(const struct mr_ctx *);
int	 mr_req_query(struct mr_ctx *, const char *name, const char **val);
int	 mr_req_query_check(struct mr_ctx *, const char *const *allowed);
int	 mr_req_form(struct mr_ctx *, const char *name, const char **val);
int	 mr_req_limit(struct mr_ctx *, int64_t max, int64_t *out);
struct json_object *mr_req_json(struct mr_ctx *, const char *const *allowed);
int	 mr_req_no_fields(struct mr_ctx *);
int	 mr_req_path_uuid(struct mr_ctx *, const char **);

/* api_recordings.c: what the handlers share */
int	 mr_api_oom(struct mr_ctx *);
struct json_object *mr_api_object(struct mr_ctx *);
void	 mr_api_add_str(struct json_object *, const char *, const char *);
int	 mr_api_same(const char *, const char *);
int	 mr_api_is_viewer(const struct mr_user *, const struct mr_recording *);
int	 mr_api_may_manage(const struct mr_user *,
	    const struct mr_recording *);
int	 mr_api_load(struct mr_ctx *, struct mr_recording *);
int	 mr_api_load_viewable(struct mr_ctx *, struct mr_recording *);
int	 mr_api_load_owned(struct mr_ctx *, struct mr_recording *,
	    const char *what);
void	 mr_api_refused(struct mr_ctx *, const struct mr_recording *);
void	 mr_api_hold_write(struct mr_jw *, const struct mr_recording *);
void	 mr_api_audit_once(struct mr_ctx *, const char *id,
	    const char *share_id, const char *action);
void	 mr_api_audit_detail(struct mr_ctx *, const char *id,
	    const char *share_id, const char *action, const char *detail);
struct json_object *mr_api_viewers(const char *);

/* link.c: signed links (HMAC-SHA256 with an expiry) */
char	*mr_link_sign(struct mr_ctx *, const char *kind, const char *subject,
	    const char *who, int64_t expires);
int	 mr_link_check(struct mr_ctx *, const char *kind, const char *subject,
	    const char *who, const char *expires, const char *sig);

/* files.c */
int	 mr_files_serve(struct mr_ctx *, const struct mr_recording *);

/* api_ledger.c: the participants ledger (ledger.h) */
void	 mr_api_ledger_begin(struct mr_ctx *, const char *rec,
	    const char *room);
void	 mr_api_ledger_end(struct mr_ctx *, const struct mr_recording *);
int	 mr_api_ledger_webhook(struct mr_ctx *, struct json_object *ev,
	    const char *id, const char *event, int64_t created,
	    const char **result);

/* api_transcript.c: transcripts, captions, search */
struct mr_transcript;
void	 mr_api_transcript_fields(struct mr_jw *,
	    const struct mr_transcript *);
int	 mr_api_chapters_write(struct mr_ctx *, struct mr_jw *,
	    const struct mr_transcript *);
int	 mr_api_captions_send(struct mr_ctx *, const char *id);
int	 mr_api_recordings_search(struct mr_ctx *);

/* resp.c */
int	mr_resp_json(struct mr_ctx *, int status, struct json_object *);
int	mr_resp_jw(struct mr_ctx *, int status, struct mr_jw *);
int	mr_resp_text(struct mr_ctx *, int status, const char *type,
	    const char *body, size_t len);
int	mr_resp_header(struct mr_ctx *, const char *);
int	mr_resp_csv_field(struct mr_buf *, const char *, int last);
void	mr_resp_send(struct mr_ctx *);

/* worker.c */
#define MR_WORKER_EXIT_ACCEPT 5	/* a child could not wait or accept */
extern volatile sig_atomic_t mr_worker_stop;
void	mr_worker_signals(pid_t master);
int	mr_worker_accept(FCGX_Request *, int fd);
int	mr_worker_env_init(struct mr_env *, struct mr_conf *);
void	mr_worker_env_free(struct mr_env *);
int	mr_worker_main(int fd, struct mr_conf *, int slot, pid_t master)
	    MR_NORETURN;

/* busy.c */
int	mr_busy_main(int fd, struct mr_conf *, pid_t master) MR_NORETURN;

/* master.c */
int	mr_master_run(const char *confpath, struct mr_conf *, int fd,
	    int busyfd, int pidfd);

#endif /* MR_FCGI_H */
