/* SPDX-License-Identifier: ISC */
/*
 * httpc.h - the libcurl wrapper every outgoing HTTP call goes through:
 * timeouts, a capped response body, and CURLcode/HTTP status mapped onto
 * struct mr_err.
 */
#ifndef MR_HTTPC_H
#define MR_HTTPC_H

#include "mr.h"

#define MR_HTTPC_BODY_MAX	(4 * 1024 * 1024)

struct mr_httpc_req {
	const char		*method;	/* "POST", "GET", ... */
	const char		*url;
	const char *const	*headers;	/* NULL-terminated, or NULL */
	const char		*body;
	size_t			 bodylen;
	long			 timeout_ms;
	int			 public_only;	/* no private address */
};

struct mr_httpc_resp {
	long		 status;
	char		*body;		/* NUL-terminated, in the arena */
	size_t		 len;
	char		*content_type;	/* or NULL */
};

/* Call once per process before any other thread or request. */
int	mr_httpc_global_init(void);
void	mr_httpc_global_cleanup(void);

/*
 * Perform the request; blocks up to timeout_ms.  Any HTTP status is a
 * success (the caller judges it).  A transport failure returns -1 with
 * err 502 upstream_unreachable when the request was certainly not sent
 * (the name did not resolve, the connection or its TLS handshake
 * failed), 504 upstream_timeout when no answer came in time, or 502
 * upstream_no_reply when the connection broke otherwise (reset, empty or
 * cut reply): the server may have got the request.  500 internal when
 * out of memory.  With public_only, an address of this host, of a
 * private or link-local network or a multicast one is not connected to
 * (502 upstream_unreachable, "private address"), whatever name led there.
 */
int	mr_httpc_do(struct mr_arena *a, const struct mr_httpc_req *,
	    struct mr_httpc_resp *, struct mr_err *err);

#endif /* MR_HTTPC_H */
