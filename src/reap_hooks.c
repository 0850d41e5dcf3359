/* SPDX-License-Identifier: ISC */
/*
 * reap_hooks.c - the webhooks pass: events out to the endpoints
 * integrators registered, as Standard Webhooks (doc/standard-webhooks.md).
 *
 * A reaper claims endpoints that have a delivery due (a lease, as for
 * uploads, so any number of reapers on any hosts share the work) and
 * sends each one's pending deliveries one at a time, in the order of the
 * company's audit chain: a recording's events arrive in the order they
 * happened, and an endpoint that is down holds its queue until it is
 * back.  A 2xx delivers; anything else (a timeout, a reset, a 3xx, which
 * is not followed) is a failure: the endpoint waits
 * webhook_backoff_seconds, doubled for each failure in a row up to
 * webhook_backoff_max_seconds, and is disabled after
 * webhook_disable_after failures in a row, or at once when it answers
 * 410 Gone.  A delivery still failing webhook_retry_hours after its
 * event is given up (failed) and the queue goes on; an admin can send
 * it again.  Every attempt is kept with its status, latency and the
 * start of the answer (webhook_log_days).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mr.h"
#include "reap.h"
#include "events.h"
#include "hooks.h"
#include "httpc.h"
#include "link.h"

#define ENDPOINTS	10	/* endpoints a claim */
#define EXCERPT		1024	/* bytes of an answer kept */

/*
 * A link to the recording's file for the endpoint: it works without a
 * token, for webhook_download_ttl seconds, while the endpoint exists
 * and is on (fcgi: load_by_link).  NULL when it cannot be made.
 */
static char *
download_url(struct mr_reaper *rp, const struct mr_hook_ep *ep,
    const struct mr_event *ev)
{
	unsigned char	 key[MR_LINK_KEYLEN];
	int64_t		 exp;
	char		*who, *sig;

	if (mr_link_key(rp->conf, key) == -1)
		return NULL;
	exp = (int64_t)time(NULL) + rp->conf->cf_webhook_download_ttl;
	if ((who = mr_printf(rp->arena, "%s:h", ep->id)) == NULL ||
	    (sig = mr_link_sig(rp->arena, key, "download", ev->recording_id,
	    who, exp)) == NULL)
		return NULL;
	return mr_printf(rp->arena, "%s/api/recordings/%s/download?"
	    "expires=%lld&hook=%s&sig=%s", rp->conf->cf_public_url,
	    ev->recording_id, (long long)exp, ep->id, sig);
}

/* Seconds to wait after failures failed attempts in a row. */
static int64_t
backoff(const struct mr_conf *conf, int64_t failures)
{
	int64_t	 s = conf->cf_webhook_backoff_seconds;
	int64_t	 max = conf->cf_webhook_backoff_max_seconds;

	for (int64_t i = 1; i < failures && s < max; i++)
		s *= 2;
	return s < max ? s : max;
}

/*
 * Send d to ep once.  Fills o; the answer's excerpt and the error live
 * in the item arena.
 */
static void
send_one(struct mr_reaper *rp, const struct mr_hook_ep *ep,
    const struct mr_hook_delivery *d, struct mr_hook_outcome *o)
{
	const struct mr_conf	*conf = rp->conf;
	struct mr_httpc_req	 rq;
	struct mr_httpc_resp	 rs;
	struct mr_err		 err;
	struct mr_jw		*w;
	const char		*secrets[MR_WHSIG_MAX + 1];
	const char		*headers[7], *body, *url = NULL;
	char			*msgid, *sig;
	size_t			 len;
	int64_t			 ts, t0;
	int			 n = 0;

	memset(o, 0, sizeof(*o));
	o->disable_after = conf->cf_webhook_disable_after;
	if (strcmp(d->ev.type, "recording.completed") == 0 &&
	    d->downloadable && d->ev.recording_id != NULL)
		url = download_url(rp, ep, &d->ev);
	secrets[n++] = ep->secret;
	if (ep->old_secret != NULL)
		secrets[n++] = ep->old_secret;
	secrets[n] = NULL;
	ts = (int64_t)time(NULL);
	if ((w = mr_jw_new(rp->arena)) == NULL) {
		o->error = "out of memory";
		return;
	}
	mr_event_write(rp->arena, w, &d->ev, url);
	if ((body = mr_jw_text(w, &len)) == NULL ||
	    (msgid = mr_event_msgid(rp->arena, d->ev.id)) == NULL ||
	    (sig = mr_whsig(rp->arena, secrets, msgid, ts, body,
	    len)) == NULL) {
		o->error = "the delivery could not be made or signed";
		return;
	}
	headers[0] = "Content-Type: application/json";
	headers[1] = mr_printf(rp->arena, "webhook-id: %s", msgid);
	headers[2] = mr_printf(rp->arena, "webhook-timestamp: %lld",
	    (long long)ts);
	headers[3] = mr_printf(rp->arena, "webhook-signature: %s", sig);
	headers[4] = "User-Agent: meetrec/" PACKAGE_VERSION;
	headers[5] = "Accept: */*";
	headers[6] = NULL;
	if (headers[1] == NULL || headers[2] == NULL || headers[3] == NULL) {
		o->error = "out of memory";
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = ep->url;
	rq.headers = headers;
	rq.body = body;
	rq.bodylen = len;
	rq.timeout_ms = conf->cf_webhook_timeout_seconds * 1000;
	rq.public_only = !conf->cf_webhook_allow_private;
	mr_err_clear(&err);
	t0 = mr_now_ms();
	if (mr_httpc_do(rp->arena, &rq, &rs, &err) == -1) {
		o->latency_ms = mr_now_ms() - t0;
		o->error = mr_printf(rp->arena, "%s%s%s", err.detail,
		    err.cause[0] ? ": " : "", err.cause);
		if (o->error == NULL)
			o->error = err.detail;
		return;
	}
	o->latency_ms = mr_now_ms() - t0;
	o->status = rs.status;
	o->response = mr_utf8_clip(rp->arena, rs.body, EXCERPT);
	o->delivered = rs.status >= 200 && rs.status <= 299;
	o->gone = rs.status == 410;
	if (!o->delivered)
		o->error = mr_printf(rp->arena, "the receiver answered %ld",
		    rs.status);
}

/*
 * The pending deliveries of ep, in order, while they succeed: how many
 * were delivered, or -1 on a database error.
 */
static int
send_queue(struct mr_reaper *rp, struct mr_hook_ep *ep, int limit)
{
	struct mr_hook_delivery	 d;
	struct mr_hook_outcome	 o;
	struct mr_err		 err;
	int			 sent = 0, rc, enabled;

	while (sent < limit && !mr_reap_stopping) {
		mr_arena_reset(rp->arena);
		mr_err_clear(&err);
		if ((rc = mr_db_hook_next(rp->db, rp->arena, ep->id, &d,
		    &err)) == -1)
			goto dberr;
		if (rc == 0)
			break;
		send_one(rp, ep, &d, &o);
		o.give_up = !o.delivered && d.age_s >=
		    rp->conf->cf_webhook_retry_hours * 3600;
		o.backoff_s = backoff(rp->conf, ep->failures + 1);
		rc = mr_db_hook_attempt(rp->db, rp->arena, rp->owner, ep, &d,
		    &o, &enabled, &err);
		if (rc == -1)
			goto dberr;
		if (rc == 0) {
			mr_log_warnx("pass=webhooks endpoint=%s action="
			    "lease_lost", ep->id);
			return sent;
		}
		if (o.delivered) {
			ep->failures = 0;
			sent++;
			mr_log_info("pass=webhooks endpoint=%s event=%s "
			    "type=%s seq=%lld action=delivered status=%ld "
			    "latency_ms=%lld", ep->id, d.ev.id, d.ev.type,
			    (long long)d.ev.seq, o.status,
			    (long long)o.latency_ms);
		} else {
			ep->failures++;
			rp->failures++;
			mr_log_warnx("pass=webhooks endpoint=%s event=%s "
			    "type=%s seq=%lld action=%s attempt=%lld "
			    "error=\"%s\"%s", ep->id, d.ev.id, d.ev.type,
			    (long long)d.ev.seq, o.give_up ? "given_up" :
			    "retry_later", (long long)d.attempts + 1,
			    o.error ? o.error : "-",
			    enabled ? "" : " endpoint=disabled");
			break;
		}
		if (!enabled)
			break;
		if (mr_db_hook_renew(rp->db, rp->arena, ep->id, rp->owner,
		    rp->conf->cf_reaper_lease_seconds, &err) == -1)
			goto dberr;
	}
	return sent;
dberr:
	mr_log_warnx("pass=webhooks endpoint=%s error=\"%s\"", ep->id,
	    err.cause[0] ? err.cause : err.detail);
	return -1;
}

/* The webhooks pass: deliveries sent, or -1 on a database error. */
int
mr_reap_hooks(struct mr_reaper *rp, int limit)
{
	struct mr_hook_ep	*eps;
	struct mr_err		 err;
	int			 n, i, sent = 0, rc, failed = 0;

	mr_arena_reset(rp->batch);
	mr_err_clear(&err);
	n = mr_db_hook_claim(rp->db, rp->batch, rp->owner,
	    rp->conf->cf_reaper_lease_seconds, ENDPOINTS, &eps, &err);
	if (n == -1) {
		mr_log_warnx("pass=webhooks could not claim: %s", err.cause);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((rc = send_queue(rp, &eps[i], limit)) == -1)
			failed = 1;
		else
			sent += rc;
		mr_arena_reset(rp->arena);
		mr_err_clear(&err);
		if (mr_db_hook_release(rp->db, rp->arena, eps[i].id, rp->owner,
		    &err) == -1)
			failed = 1;
	}
	mr_arena_reset(rp->arena);
	mr_err_clear(&err);
	if (!failed && mr_db_hook_prune(rp->db, rp->arena,
	    rp->conf->cf_webhook_log_days, (int64_t)limit * 100, &err) == -1)
		failed = 1;
	return failed ? -1 : sent;
}
