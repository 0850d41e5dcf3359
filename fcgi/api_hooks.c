/* SPDX-License-Identifier: ISC */
/*
 * api_hooks.c - events out, for admins and integrators: the endpoints
 * a company registers (the secret shown once, at creation and at each
 * rotation), their delivery logs and redelivery, and GET /api/events,
 * the same events in order for those who pull instead
 * (src/events.c, src/reap_hooks.c).  Everything is confined to the
 * admin's company; another company's endpoints do not exist (404).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"
#include "json.h"
#include "events.h"
#include "hooks.h"

#define EVENTS_DEFAULT	100
#define EVENTS_MAX	1000
#define LOG_DEFAULT	50
#define LOG_MAX		200
#define DESC_MAX	500
#define TYPES_MAX	20
#define ROTATE_HOURS	24	/* the old secret signs this long */

/* The endpoint id in the path, lower case; -1 with 400 invalid_id. */
static int
path_id(struct mr_ctx *cx, const char **id)
{
	const char	*v = cx->cx_req.rq_path_id;
	char		*p;

	if (v == NULL || !mr_uuid_valid(v))
		return mr_err_set(&cx->cx_err, 400, "invalid_id",
		    "The endpoint id in the path is not a valid UUID.");
	if ((p = mr_strdup(cx->cx_arena, v)) == NULL)
		return mr_api_oom(cx);
	for (char *q = p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	*id = p;
	return 0;
}

static int
not_found(struct mr_ctx *cx)
{
	return mr_err_set(&cx->cx_err, 404, "webhook_not_found",
	    "No webhook endpoint with this id.");
}

/* The events array text "{a,b}" as JSON strings into w. */
static void
write_types(struct mr_jw *w, const char *arr)
{
	const char	*p = arr, *e;
	char		 t[64];

	mr_jw_open(w, "events", '[');
	if (p != NULL && *p == '{')
		p++;
	while (p != NULL && *p != '\0' && *p != '}') {
		e = p + strcspn(p, ",}");
		if ((size_t)(e - p) < sizeof(t)) {
			memcpy(t, p, (size_t)(e - p));
			t[e - p] = '\0';
			mr_jw_str(w, NULL, t);
		}
		p = *e == ',' ? e + 1 : e;
	}
	mr_jw_close(w, ']');
}

static void
write_ep(struct mr_jw *w, const struct mr_hook_ep *e, const char *secret)
{
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "id", e->id);
	mr_jw_str(w, "url", e->url);
	mr_jw_str(w, "description", e->description);
	write_types(w, e->events);
	mr_jw_bool(w, "enabled", e->enabled);
	mr_jw_str(w, "disabled_reason", e->disabled_reason);
	mr_jw_str(w, "disabled_at", e->disabled_at);
	mr_jw_int(w, "failures", e->failures);
	mr_jw_str(w, "next_attempt_at", e->next_attempt_at);
	mr_jw_int(w, "pending", e->pending);
	mr_jw_bool(w, "rotating", e->rotating);
	mr_jw_str(w, "created_by", e->created_by);
	mr_jw_str(w, "created_at", e->created_at);
	mr_jw_str(w, "updated_at", e->updated_at);
	if (secret != NULL)
		mr_jw_str(w, "secret", secret);
	mr_jw_close(w, '}');
}

static int
answer_ep(struct mr_ctx *cx, int status, const struct mr_hook_ep *e,
    const char *secret)
{
	struct mr_jw	*w;

	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	write_ep(w, e, secret);
	return mr_resp_jw(cx, status, w);
}

/*
 * The fields of a create or change: url, description and events (as
 * array text), each NULL when not sent.  -1 with 422 on a bad one.
 */
static int
fields(struct mr_ctx *cx, struct json_object *body, const char **url,
    const char **desc, const char **types)
{
	struct json_object	*arr, *v;
	struct mr_buf		 b;
	char			 why[128];
	size_t			 i, n;
	int			 rc;

	*url = *desc = *types = NULL;
	if (mr_json_get_str(body, "url", 2048, url, &cx->cx_err) == -1 ||
	    mr_json_get_str(body, "description", DESC_MAX, desc,
	    &cx->cx_err) == -1)
		return -1;
	if (*url != NULL && mr_hook_url_check(*url, why, sizeof(why)) == -1)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'url' is not a URL meetrec can deliver to: %s.",
		    why);
	if (!json_object_object_get_ex(body, "events", &arr))
		return 0;
	if (arr == NULL || !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) > TYPES_MAX)
		return mr_err_set(&cx->cx_err, 422, "invalid_field",
		    "Field 'events' must be an array of at most %d event "
		    "types (empty: every event).", TYPES_MAX);
	mr_buf_init(&b, 4096);
	rc = mr_buf_adds(&b, "{");
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    !mr_event_known(json_object_get_string(v))) {
			mr_buf_free(&b);
			return mr_err_set(&cx->cx_err, 422, "invalid_field",
			    "Field 'events' item %zu is not an event type "
			    "meetrec sends (recording.started, "
			    "recording.completed, ...).", i);
		}
		rc |= mr_buf_addf(&b, "%s%s", i > 0 ? "," : "",
		    json_object_get_string(v));
	}
	rc |= mr_buf_adds(&b, "}");
	*types = rc == 0 ? mr_strndup(cx->cx_arena, b.data, b.len) : NULL;
	mr_buf_free(&b);
	if (*types == NULL)
		return mr_api_oom(cx);
	return 0;
}

/* POST /admin/webhooks {url, events?, description?} */
int
mr_api_hook_create(struct mr_ctx *cx)
{
	static const char *const keys[] = { "url", "events", "description",
	    NULL };
	struct mr_hook_ep	 e;
	struct json_object	*body;
	const char		*url, *desc, *types;
	char			*secret;
	int			 rc;

	if ((body = mr_req_json(cx, keys)) == NULL ||
	    fields(cx, body, &url, &desc, &types) == -1)
		return -1;
	if (url == NULL)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Field 'url' is required.");
	if ((secret = mr_whsec_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	rc = mr_db_hook_create(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, url, desc ? desc : "", types ? types :
	    "{}", secret, cx->cx_user.id,
	    cx->cx_env->conf->cf_webhook_max_endpoints, &e, &cx->cx_err);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 409, "too_many_webhooks",
		    "The company has %lld webhook endpoints, the most "
		    "allowed (webhook_max_endpoints).",
		    (long long)cx->cx_env->conf->cf_webhook_max_endpoints);
	mr_log_info("req=%s webhook=%s action=created admin=%s",
	    cx->cx_req.rq_id, e.id, cx->cx_user.id);
	return answer_ep(cx, 201, &e, secret);
}

/* GET /admin/webhooks */
int
mr_api_hook_list(struct mr_ctx *cx)
{
	struct mr_hook_ep	*eps;
	struct mr_jw		*w;
	int			 n, i;

	if (mr_req_query_check(cx, (const char *const []){ NULL }) == -1 ||
	    mr_db_hook_list(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, &eps, &n, &cx->cx_err) == -1)
		return -1;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_open(w, "webhooks", '[');
	for (i = 0; i < n; i++)
		write_ep(w, &eps[i], NULL);
	mr_jw_close(w, ']');
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}

/* GET /admin/webhooks/{id} */
int
mr_api_hook_get(struct mr_ctx *cx)
{
	struct mr_hook_ep	 e;
	const char		*id;
	int			 rc;

	if (mr_req_query_check(cx, (const char *const []){ NULL }) == -1 ||
	    path_id(cx, &id) == -1)
		return -1;
	if ((rc = mr_db_hook_get(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, &e, &cx->cx_err)) == -1)
		return -1;
	return rc == 0 ? not_found(cx) : answer_ep(cx, 200, &e, NULL);
}

/* PATCH /admin/webhooks/{id} {url?, events?, description?, enabled?} */
int
mr_api_hook_update(struct mr_ctx *cx)
{
	static const char *const keys[] = { "url", "events", "description",
	    "enabled", NULL };
	struct mr_hook_ep	 e;
	struct json_object	*body;
	const char		*id, *url, *desc, *types;
	int			 enabled = -1, rc;

	if (path_id(cx, &id) == -1 || (body = mr_req_json(cx, keys)) == NULL ||
	    fields(cx, body, &url, &desc, &types) == -1)
		return -1;
	if ((rc = mr_json_get_bool(body, "enabled", &enabled,
	    &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		enabled = -1;
	if (url == NULL && desc == NULL && types == NULL && enabled == -1)
		return mr_err_set(&cx->cx_err, 422, "missing_field",
		    "Send at least one of 'url', 'events', 'description' and "
		    "'enabled'.");
	if ((rc = mr_db_hook_update(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, url, desc, types, enabled, &e,
	    &cx->cx_err)) == -1)
		return -1;
	return rc == 0 ? not_found(cx) : answer_ep(cx, 200, &e, NULL);
}

/* POST /admin/webhooks/{id}/rotate: a new secret, shown once. */
int
mr_api_hook_rotate(struct mr_ctx *cx)
{
	struct mr_hook_ep	 e;
	const char		*id;
	char			*secret;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || path_id(cx, &id) == -1)
		return -1;
	if ((secret = mr_whsec_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	if ((rc = mr_db_hook_rotate(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, secret, ROTATE_HOURS, &e,
	    &cx->cx_err)) == -1)
		return -1;
	return rc == 0 ? not_found(cx) : answer_ep(cx, 200, &e, secret);
}

/* DELETE /admin/webhooks/{id}: with its queue and its log. */
int
mr_api_hook_delete(struct mr_ctx *cx)
{
	struct json_object	*o;
	const char		*id;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || path_id(cx, &id) == -1)
		return -1;
	if ((rc = mr_db_hook_delete(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		return not_found(cx);
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	mr_api_add_str(o, "id", id);
	json_object_object_add(o, "deleted", json_object_new_boolean(1));
	return mr_resp_json(cx, 200, o);
}

/* GET /admin/webhooks/{id}/deliveries?status=&before=&limit= */
int
mr_api_hook_deliveries(struct mr_ctx *cx)
{
	static const char *const params[] = { "status", "before", "limit",
	    NULL };
	struct mr_hook_ep	 e;
	struct mr_hook_row	*rows;
	struct mr_jw		*w;
	const char		*id, *status = NULL, *v;
	int64_t			 before = 0, limit = LOG_DEFAULT;
	int			 n, i, rc;

	if (mr_req_query_check(cx, params) == -1 || path_id(cx, &id) == -1 ||
	    mr_req_limit(cx, LOG_MAX, &limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "status", &status)) == -1)
		return -1;
	if (rc == 1 && strcmp(status, "pending") != 0 &&
	    strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'status' must be pending, delivered or "
		    "failed.");
	if ((rc = mr_req_query(cx, "before", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 2, INT64_MAX, &before) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'before' must be a delivery id (2 or "
		    "more).");
	if ((rc = mr_db_hook_get(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, &e, &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		return not_found(cx);
	if (mr_db_hook_deliveries(cx->cx_env->db, cx->cx_arena, id,
	    cx->cx_user.company_id, status, before, limit, &rows, &n,
	    &cx->cx_err) == -1)
		return -1;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_str(w, "webhook_id", id);
	mr_jw_open(w, "deliveries", '[');
	for (i = 0; i < n; i++) {
		mr_jw_open(w, NULL, '{');
		mr_jw_int(w, "id", rows[i].id);
		mr_jw_str(w, "event_id", rows[i].event_id);
		mr_jw_int(w, "seq", rows[i].event_seq);
		mr_jw_str(w, "type", rows[i].event_type);
		mr_jw_str(w, "status", rows[i].status);
		mr_jw_int(w, "attempts", rows[i].attempts);
		if (rows[i].last_status > 0)
			mr_jw_int(w, "last_status", rows[i].last_status);
		else
			mr_jw_null(w, "last_status");
		mr_jw_str(w, "last_error", rows[i].last_error);
		if (rows[i].latency_ms >= 0)
			mr_jw_int(w, "latency_ms", rows[i].latency_ms);
		else
			mr_jw_null(w, "latency_ms");
		mr_jw_str(w, "response", rows[i].response);
		mr_jw_str(w, "attempted_at", rows[i].attempted_at);
		mr_jw_str(w, "created_at", rows[i].created_at);
		mr_jw_str(w, "finished_at", rows[i].finished_at);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	if (n == limit && n > 0 && rows[n - 1].id > 1)
		mr_jw_int(w, "next_before", rows[n - 1].id);
	else
		mr_jw_null(w, "next_before");
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}

/* POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver */
int
mr_api_hook_redeliver(struct mr_ctx *cx)
{
	struct json_object	*o;
	const char		*id, *sub = cx->cx_req.rq_path_sub;
	int64_t			 did;
	int			 rc;

	if (mr_req_no_fields(cx) == -1 || path_id(cx, &id) == -1)
		return -1;
	if (sub == NULL || mr_parse_int64(sub, 1, INT64_MAX, &did) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_id",
		    "The delivery id in the path is not a number.");
	if ((rc = mr_db_hook_redeliver(cx->cx_env->db, cx->cx_arena, did, id,
	    cx->cx_user.company_id, &cx->cx_err)) == -1)
		return -1;
	if (rc == 0)
		return mr_err_set(&cx->cx_err, 404, "delivery_not_found",
		    "No delivery with this id for this endpoint.");
	if ((o = mr_api_object(cx)) == NULL)
		return mr_api_oom(cx);
	json_object_object_add(o, "id", json_object_new_int64(did));
	mr_api_add_str(o, "status", "pending");
	return mr_resp_json(cx, 202, o);
}

/*
 * A download link for the caller, as the details give (the events an
 * admin pulls carry links for that admin).
 */
static char *
admin_link(struct mr_ctx *cx, const char *rec)
{
	const struct mr_user	*u = &cx->cx_user;
	int64_t			 exp;
	char			*who, *sig;

	exp = (int64_t)time(NULL) + cx->cx_env->conf->cf_download_url_ttl;
	if ((who = mr_printf(cx->cx_arena, "%s:a", u->id)) == NULL ||
	    (sig = mr_link_sign(cx, "download", rec, who, exp)) == NULL)
		return NULL;
	return mr_printf(cx->cx_arena, "%s/api/recordings/%s/download?"
	    "expires=%lld&user=%s&admin=1&sig=%s",
	    cx->cx_env->conf->cf_public_url, rec, (long long)exp, u->id, sig);
}

/*
 * GET /events?since=<seq>&limit=: the company's events after since, in
 * order; next_since goes on.  The same payloads the endpoints get, each
 * with its webhook-id.
 */
int
mr_api_events(struct mr_ctx *cx)
{
	static const char *const params[] = { "since", "limit", NULL };
	struct mr_event		*evs;
	struct mr_jw		*w;
	const char		*v;
	char			*url;
	int64_t			 since = 0, limit = EVENTS_DEFAULT;
	int			*dl;
	int			 n, i, rc;

	if (mr_req_query_check(cx, params) == -1 ||
	    mr_req_limit(cx, EVENTS_MAX, &limit) == -1)
		return -1;
	if ((rc = mr_req_query(cx, "since", &v)) == -1)
		return -1;
	if (rc == 1 && mr_parse_int64(v, 0, INT64_MAX, &since) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_query",
		    "Query parameter 'since' must be the seq of an event "
		    "(next_since of the last page), or 0.");
	if (mr_db_hook_events(cx->cx_env->db, cx->cx_arena,
	    cx->cx_user.company_id, since, limit, &evs, &dl, &n,
	    &cx->cx_err) == -1)
		return -1;
	if ((w = mr_jw_new(cx->cx_arena)) == NULL)
		return mr_api_oom(cx);
	mr_jw_open(w, NULL, '{');
	mr_jw_open(w, "events", '[');
	for (i = 0; i < n; i++) {
		url = NULL;
		if (evs[i].type == NULL)
			continue;
		if (dl[i] && strcmp(evs[i].type, "recording.completed") == 0 &&
		    (url = admin_link(cx, evs[i].recording_id)) == NULL)
			return mr_api_oom(cx);
		mr_jw_open(w, NULL, '{');
		mr_jw_str(w, "webhook_id", mr_event_msgid(cx->cx_arena,
		    evs[i].id));
		mr_jw_int(w, "seq", evs[i].seq);
		mr_event_members(cx->cx_arena, w, &evs[i], url);
		mr_jw_close(w, '}');
	}
	mr_jw_close(w, ']');
	mr_jw_int(w, "next_since", n > 0 ? evs[n - 1].seq : since);
	mr_jw_close(w, '}');
	return mr_resp_jw(cx, 200, w);
}
