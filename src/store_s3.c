/* SPDX-License-Identifier: ISC */
/*
 * store_s3.c - placeholder while the backend is being written.
 */
#include "config.h"

#include "mr.h"
#include "store.h"

static int
nyi(struct mr_store *st, struct mr_err *err)
{
	(void)st;
	return mr_err_set(err, 500, "config", "storage_type s3 is not "
	    "available in this build");
}

const struct mr_store_ops mr_store_s3 = {
	.name = "s3",
	.open = nyi,
};
