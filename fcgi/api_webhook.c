/* SPDX-License-Identifier: ISC */
/*
 * api_webhook.c - POST /api/livekit/webhook.
 *
 * The signature is checked on the raw bytes before the body is parsed.
 * Then the event is recorded under its id and applied in one transaction
 * (db_webhook.c); room and participant events go to the participants
 * ledger (api_ledger.c).  Answers: 200 for an applied, duplicate or
 * ignored event; 401 for a bad signature (LiveKit does not retry a
 * 4xx); 400 for a signed body that is not an event; 503 when the
 * database failed, so LiveKit retries.
 */
#include "config.h"

#include <string.h>

#include "fcgi.h"
#include "json.h"
#include "model.h"

static int
answer(struct mr_ctx *cx, const char *result)
{
	struct json_object	*o;

	if ((o = mr_json_own(cx->cx_arena, json_object_new_object())) == NULL)
		return mr_err_set(&cx->cx_err, 500, "internal",
		    "Out of memory.");
	/* The seed's answer; what became of the event besides. */
	json_object_object_add(o, "received", json_object_new_boolean(1));
	json_object_object_add(o, "status", json_object_new_string(result));
	return mr_resp_json(cx, 200, o);
}

int
mr_api_livekit_webhook(struct mr_ctx *cx)
{
	struct mr_env		*env = cx->cx_env;
	struct json_object	*ev, *info;
	struct mr_lk_egress	 eg;
	const char		*event = NULL, *id = NULL, *result;
	int64_t			 created = 0;
	int			 dup, rc;

	if (mr_lk_webhook_verify(&env->lk, cx->cx_arena, cx->cx_req.rq_auth,
	    cx->cx_req.rq_body, cx->cx_req.rq_bodylen,
	    env->conf->cf_webhook_leeway, &cx->cx_err) == -1)
		return -1;
	/* LiveKit adds fields over time: unknown keys are fine here. */
	ev = mr_json_parse(cx->cx_arena, cx->cx_req.rq_body,
	    cx->cx_req.rq_bodylen, &cx->cx_err);
	if (ev == NULL)
		return -1;
	if (mr_json_lk_str(ev, "event", NULL, &event) != 1 || *event == '\0')
		return mr_err_set(&cx->cx_err, 400, "invalid_event",
		    "The webhook has no 'event'.");
	if (mr_json_lk_str(ev, "id", NULL, &id) != 1 || *id == '\0' ||
	    strlen(id) > 64)
		return mr_err_set(&cx->cx_err, 400, "invalid_event",
		    "The webhook has no valid 'id'.");
	if (mr_json_lk_int64(ev, "createdAt", "created_at", &created) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_event",
		    "The webhook's 'createdAt' is not a number.");
	if (strncmp(event, "egress_", 7) != 0) {
		/* Rooms and participants: the ledger's (api_ledger.c). */
		if (mr_api_ledger_webhook(cx, ev, id, event, created,
		    &result) == -1)
			return -1;
		return answer(cx, result);
	}
	info = mr_json_get2(ev, "egressInfo", "egress_info");
	if (mr_lk_egress_parse(info, &eg) == -1)
		return mr_err_set(&cx->cx_err, 400, "invalid_event",
		    "The webhook's 'egressInfo' is missing or malformed.");
	if (strlen(eg.egress_id) > 64)
		return mr_err_set(&cx->cx_err, 400, "invalid_event",
		    "The webhook's egress id is too long.");
	rc = mr_db_webhook_apply(env->db, cx->cx_arena, id, event, created,
	    &eg, &dup, &cx->cx_err);
	if (rc == -1) {
		/* Let LiveKit deliver it again later. */
		if (cx->cx_err.status == 500)
			mr_err_set(&cx->cx_err, 503, "event_not_stored",
			    "The event could not be stored; try again.");
		return -1;
	}
	mr_log_info("req=%s webhook event=%s id=%s egress=%s status=%s "
	    "result=%s", cx->cx_req.rq_id, event, id, eg.egress_id,
	    eg.status_name, dup ? "duplicate" : rc ? "applied" : "unchanged");
	return answer(cx, dup ? "duplicate" : rc ? "applied" : "unchanged");
}
