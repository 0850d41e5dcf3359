/* SPDX-License-Identifier: ISC */
/*
 * store_webdav.c - placeholder while the backend is being written.
 */
#include "config.h"

#include "mr.h"
#include "store.h"

static int
nyi(struct mr_store *st, struct mr_err *err)
{
	(void)st;
	return mr_err_set(err, 500, "config", "storage_type nextcloud is not "
	    "available in this build");
}

const struct mr_store_ops mr_store_nextcloud = {
	.name = "nextcloud",
	.open = nyi,
};
