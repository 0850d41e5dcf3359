/* SPDX-License-Identifier: ISC */
/*
 * api_share.c - share links.
 */
#include "config.h"

#include "fcgi.h"

static int
todo(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 501, "not_implemented",
	    "Not implemented yet.");
}

int mr_api_share_create(struct mr_ctx *cx) { return todo(cx); }
int mr_api_share_list(struct mr_ctx *cx) { return todo(cx); }
int mr_api_share_revoke(struct mr_ctx *cx) { return todo(cx); }
int mr_api_share_page(struct mr_ctx *cx) { return todo(cx); }
int mr_api_share_unlock(struct mr_ctx *cx) { return todo(cx); }
int mr_api_share_file(struct mr_ctx *cx) { return todo(cx); }
int mr_api_recording_access(struct mr_ctx *cx) { return todo(cx); }
int mr_api_recording_access_log(struct mr_ctx *cx) { return todo(cx); }
