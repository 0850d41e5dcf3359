/* SPDX-License-Identifier: ISC */
/*
 * api_health.c - GET /api/healthz: liveness plus a database ping.
 */
#include "config.h"

#include "fcgi.h"
#include "json.h"

int
mr_api_healthz(struct mr_ctx *cx)
{
	struct json_object	*o;

	if (mr_db_ping(cx->cx_env->db, &cx->cx_err) == -1)
		return -1;
	if ((o = mr_json_own(cx->cx_arena, json_object_new_object())) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "database", json_object_new_string("ok"));
	json_object_object_add(o, "version",
	    json_object_new_string(PACKAGE_VERSION));
	return mr_resp_json(cx, 200, o);
}
