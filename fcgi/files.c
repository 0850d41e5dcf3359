/* SPDX-License-Identifier: ISC */
/*
 * files.c - handing a recording's file to the client, whichever backend
 * keeps it: local files through nginx (X-Accel-Redirect, so nginx serves
 * Range requests and the worker is free at once); a backend with links
 * of its own (S3 presigned URLs, Nextcloud direct links) by a redirect.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fcgi.h"

/*
 * Answer with r's file.  One byte range at most: nginx would answer a
 * list of ranges (or a backend's link, the client's list) as one
 * multipart body that may hold the whole file, so such a request is
 * refused here (416) before any redirect; nginx's internal location has
 * max_ranges 1 as well.  -1 with cx_err when the file cannot be had.
 */
int
mr_files_serve(struct mr_ctx *cx, const struct mr_recording *r)
{
	struct mr_env	*env = cx->cx_env;
	const char	*base, *type, *range = cx->cx_req.rq_range;
	char		*url;

	if (!mr_api_same(r->status, "completed") || r->storage_path == NULL)
		return mr_err_set(&cx->cx_err, 409, "not_ready",
		    "The recording is %s; it can be downloaded once it is "
		    "completed.", r->status);
	if (!mr_api_same(r->storage_type, env->conf->cf_storage_type))
		return mr_err_set(&cx->cx_err, 409, "storage_moved",
		    "The recording is kept in %s storage, which this service "
		    "is not configured for.", r->storage_type);
	if (range != NULL && strchr(range, ',') != NULL) {
		if (r->file_size_bytes >= 0 && mr_resp_header(cx,
		    mr_printf(cx->cx_arena, "Content-Range: bytes */%lld",
		    (long long)r->file_size_bytes)) == -1)
			return mr_api_oom(cx);
		return mr_err_set(&cx->cx_err, 416, "multiple_ranges",
		    "Ask for one byte range at a time.");
	}
	base = strrchr(r->storage_path, '/');
	base = base ? base + 1 : r->storage_path;
	if (mr_api_same(r->storage_type, "local")) {
		type = r->audio_only ? "audio/ogg" : "video/mp4";
		cx->cx_resp.status = 200;
		cx->cx_resp.content_type = type;
		cx->cx_resp.body = "";
		if (mr_resp_header(cx, mr_printf(cx->cx_arena,
		    "X-Accel-Redirect: /_meetrec_files/%s",
		    r->storage_path)) == -1 ||
		    mr_resp_header(cx, mr_printf(cx->cx_arena,
		    "Content-Disposition: attachment; filename=\"%s\"",
		    base)) == -1)
			return mr_api_oom(cx);
		return 0;
	}
	url = mr_store_url(&env->store, cx->cx_arena, r->storage_path,
	    env->conf->cf_download_url_ttl, &cx->cx_err);
	if (url == NULL) {
		if (cx->cx_err.status != 0)
			return -1;
		return mr_err_set(&cx->cx_err, 501, "download_unavailable",
		    "Downloads from %s storage are not available.",
		    r->storage_type);
	}
	cx->cx_resp.status = 302;
	cx->cx_resp.body = "";
	if (mr_resp_header(cx, mr_printf(cx->cx_arena, "Location: %s",
	    url)) == -1)
		return mr_api_oom(cx);
	return 0;
}
