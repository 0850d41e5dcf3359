/* SPDX-License-Identifier: ISC */
/*
 * api_admin.c - the admin API for curl: every recording of the company,
 * retry of a failed upload, restore from the trash, and counts.
 */
#include "config.h"

#include "fcgi.h"

static int
todo(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 501, "not_implemented",
	    "Not implemented yet.");
}

int mr_api_admin_recordings(struct mr_ctx *cx) { return todo(cx); }
int mr_api_admin_retry(struct mr_ctx *cx) { return todo(cx); }
int mr_api_admin_restore(struct mr_ctx *cx) { return todo(cx); }
int mr_api_admin_stats(struct mr_ctx *cx) { return todo(cx); }
