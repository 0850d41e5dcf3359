/* SPDX-License-Identifier: ISC */
/*
 * route.c - dispatch on MEETREC_ROUTE and the request method.
 */
#include "config.h"

#include <string.h>

#include "fcgi.h"

#define MR_ROUTE(name, method, fn, auth) { #name, #method, fn, auth },
const struct mr_route mr_routes[] = {
#include "routes.def"
};
#undef MR_ROUTE

const size_t mr_nroutes = MR_NELEM(mr_routes);

/*
 * Does a request with method m reach a route entry for method rm?  HEAD
 * is answered wherever GET is (RFC 9110 section 9.3.2): the handler runs
 * as for GET and resp.c leaves the body out.
 */
static int
method_is(const char *rm, const char *m)
{
	return strcmp(rm, m) == 0 || (strcmp(rm, "GET") == 0 &&
	    strcmp(m, "HEAD") == 0);
}

int
mr_route_dispatch(struct mr_ctx *cx)
{
	const struct mr_route	*r, *match = NULL;
	int			 known = 0;
	struct mr_buf		 allow;

	for (size_t i = 0; i < mr_nroutes; i++) {
		r = &mr_routes[i];
		if (strcmp(r->name, cx->cx_req.rq_route) != 0)
			continue;
		known = 1;
		if (method_is(r->method, cx->cx_req.rq_method))
			match = r;
	}
	if (!known)
		return mr_err_set(&cx->cx_err, 404, "not_found",
		    "No such endpoint.");
	if (match == NULL) {
		/* 405 with the methods the route has, in Allow. */
		mr_buf_init(&allow, 256);
		mr_buf_adds(&allow, "Allow: ");
		for (size_t i = 0; i < mr_nroutes; i++) {
			r = &mr_routes[i];
			if (strcmp(r->name, cx->cx_req.rq_route) != 0)
				continue;
			mr_buf_addf(&allow, "%s%s%s", allow.len > 7 ? ", " :
			    "", r->method, strcmp(r->method, "GET") == 0 ?
			    ", HEAD" : "");
		}
		mr_resp_header(cx, mr_strdup(cx->cx_arena, allow.data));
		mr_buf_free(&allow);
		return mr_err_set(&cx->cx_err, 405, "method_not_allowed",
		    "Method %.16s is not allowed here.", cx->cx_req.rq_method);
	}
	if (match->auth == MR_AUTH_NONE || (match->auth == MR_AUTH_OPTIONAL &&
	    cx->cx_req.rq_auth == NULL))
		return match->fn(cx);
	if (mr_auth_bearer(cx->cx_arena, cx->cx_req.rq_auth, &cx->cx_env->jwt,
	    &cx->cx_user, &cx->cx_err) == -1) {
		mr_resp_header(cx, "WWW-Authenticate: Bearer");
		return -1;
	}
	if (match->auth == MR_AUTH_ADMIN && !cx->cx_user.is_admin)
		return mr_err_set(&cx->cx_err, 403, "admin_only",
		    "Only an admin may do this.");
	/* The changes this request makes are this user's (audit rows). */
	cx->cx_actor.a = cx->cx_arena;
	cx->cx_actor.user_id = cx->cx_user.id;
	cx->cx_actor.email = cx->cx_user.email;
	cx->cx_actor.ip = cx->cx_req.rq_remote_addr;
	cx->cx_actor.agent = cx->cx_req.rq_user_agent;
	cx->cx_actor.json = NULL;
	mr_db_set_actor(cx->cx_env->db, &cx->cx_actor);
	return match->fn(cx);
}
