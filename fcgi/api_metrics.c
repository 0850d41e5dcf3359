/* SPDX-License-Identifier: ISC */
/*
 * api_metrics.c - GET /metrics in the Prometheus text format.
 */
#include "config.h"

#include "fcgi.h"

int
mr_api_metrics(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 501, "not_implemented",
	    "Not implemented yet.");
}
