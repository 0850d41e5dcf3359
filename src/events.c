/* SPDX-License-Identifier: ISC */
/*
 * events.c - what an event says, and how a delivery is signed.
 *
 * The payload is the one Standard Webhooks recommends: {"type",
 * "timestamp", "data"}.  data names the audit row (event_id, seq), the
 * company, the recording and who made the change (actor, null for the
 * system), carries the row's detail as it is, and brings the facts an
 * integrator acts on to the top: for recording.completed the duration,
 * size, checksum and a download link made for the endpoint; for
 * recording.failed the error; for a hold or its release the reason;
 * for recording.transcribed the language and the number of segments,
 * for recording.transcription_failed the error.
 *
 * A delivery's webhook-id is "msg_" and the audit row's id: the same on
 * every attempt and for every endpoint, and the id GET /api/events
 * gives.  Its signature is "v1," and the base64 of HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>" with the key whose base64
 * follows "whsec_"; during a rotation both keys sign, separated by a
 * space.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "mr.h"
#include "events.h"
#include "httpc.h"

static const struct {
	const char	*action;
	const char	*type;
} types[] = {
	{ "recording", "recording.started" },
	{ "stop", "recording.stopped" },
	{ "complete", "recording.completed" },
	{ "fail", "recording.failed" },
	{ "delete", "recording.deleted" },
	{ "expire", "recording.expired" },
	{ "hold", "recording.held" },
	{ "release", "recording.released" },
	{ "share", "share.created" },
	{ "share_revoke", "share.revoked" },
	{ "objection", "participant.objected" },
	{ "transcribe", "recording.transcribed" },
	{ "transcribe_fail", "recording.transcription_failed" },
};

/* The event type of an audit action (013's meetrec_event_type), or NULL. */
const char *
mr_event_type(const char *action)
{
	for (size_t i = 0; i < MR_NELEM(types); i++)
		if (strcmp(types[i].action, action) == 0)
			return types[i].type;
	return NULL;
}

/* Is type an event type meetrec sends? */
int
mr_event_known(const char *type)
{
	for (size_t i = 0; i < MR_NELEM(types); i++)
		if (strcmp(types[i].type, type) == 0)
			return 1;
	return 0;
}

char *
mr_event_msgid(struct mr_arena *a, const char *id)
{
	return mr_printf(a, "msg_%s", id);
}

/* The member key of the detail object d into w, when d has it. */
static void
promote(struct mr_jw *w, struct json_object *d, const char *key)
{
	struct json_object	*v;

	if (d != NULL && json_object_object_get_ex(d, key, &v))
		mr_jw_value(w, key, v);
}

/*
 * The members of ev's payload (type, timestamp, data) into the object
 * open in w; download_url (for recording.completed) or NULL.  Parsed
 * values live in a.
 */
void
mr_event_members(struct mr_arena *a, struct mr_jw *w,
    const struct mr_event *ev, const char *download_url)
{
	struct json_object	*d = NULL;

	if (ev->detail != NULL)
		d = mr_json_own(a, json_tokener_parse(ev->detail));
	mr_jw_str(w, "type", ev->type);
	mr_jw_str(w, "timestamp", ev->at);
	mr_jw_open(w, "data", '{');
	mr_jw_str(w, "event_id", ev->id);
	mr_jw_int(w, "seq", ev->seq);
	mr_jw_str(w, "company_id", ev->company_id);
	mr_jw_str(w, "recording_id", ev->recording_id);
	mr_jw_str(w, "room_code", ev->room_code);
	if (ev->user_id != NULL || ev->user_email != NULL) {
		mr_jw_open(w, "actor", '{');
		mr_jw_str(w, "user_id", ev->user_id);
		mr_jw_str(w, "email", ev->user_email);
		mr_jw_close(w, '}');
	} else
		mr_jw_null(w, "actor");
	if (ev->share_id != NULL)
		mr_jw_str(w, "share_id", ev->share_id);
	if (strcmp(ev->type, "recording.completed") == 0) {
		promote(w, d, "duration_ms");
		promote(w, d, "file_size_bytes");
		promote(w, d, "checksum_sha256");
		mr_jw_str(w, "download_url", download_url);
	} else if (strcmp(ev->type, "recording.failed") == 0 ||
	    strcmp(ev->type, "recording.transcription_failed") == 0)
		promote(w, d, "error");
	else if (strcmp(ev->type, "recording.transcribed") == 0) {
		promote(w, d, "language");
		promote(w, d, "segments");
	} else if (strcmp(ev->type, "recording.held") == 0 ||
	    strcmp(ev->type, "recording.released") == 0)
		promote(w, d, "reason");
	if (d != NULL)
		mr_jw_value(w, "detail", d);
	else
		mr_jw_null(w, "detail");
	mr_jw_close(w, '}');
}

/* The payload of ev, a whole object, into w. */
void
mr_event_write(struct mr_arena *a, struct mr_jw *w, const struct mr_event *ev,
    const char *download_url)
{
	mr_jw_open(w, NULL, '{');
	mr_event_members(a, w, ev, download_url);
	mr_jw_close(w, '}');
}

/* A new secret: "whsec_" and the base64 of 32 random bytes; NULL. */
char *
mr_whsec_new(struct mr_arena *a)
{
	unsigned char	 k[MR_WHSEC_BYTES];
	char		*b;

	if (mr_random_bytes(k, sizeof(k)) == -1 ||
	    (b = mr_b64_encode(a, k, sizeof(k))) == NULL)
		return NULL;
	return mr_printf(a, "%s%s", MR_WHSEC_PREFIX, b);
}

/* The key of secret s (whsec_ and base64 of 24 to 64 bytes); -1 when s is not one. */
static int
whsec_key(struct mr_arena *a, const char *s, unsigned char **key,
    size_t *len)
{
	size_t	 n = strlen(MR_WHSEC_PREFIX);

	if (strncmp(s, MR_WHSEC_PREFIX, n) != 0 ||
	    mr_b64_decode(a, s + n, strlen(s + n), key, len) == -1 ||
	    *len < 24 || *len > 64)
		return -1;
	return 0;
}

int
mr_whsec_valid(struct mr_arena *a, const char *s)
{
	unsigned char	*k;
	size_t		 n;

	return whsec_key(a, s, &k, &n) == 0;
}

/*
 * The webhook-signature header value of a delivery: "v1,<base64>" for
 * each of secrets (NULL-terminated, at most MR_WHSIG_MAX), separated by
 * a space.  NULL when a secret is not one, or out of memory.
 */
char *
mr_whsig(struct mr_arena *a, const char *const *secrets, const char *msgid,
    int64_t ts, const char *body, size_t len)
{
	unsigned char	 mac[MR_SHA256_LEN], *key;
	struct mr_buf	 m, out;
	size_t		 klen;
	char		*b, *sig = NULL;
	int		 i, rc = 0;

	mr_buf_init(&m, MR_HTTPC_BODY_MAX + 256);
	mr_buf_init(&out, 1024);
	rc |= mr_buf_addf(&m, "%s.%lld.", msgid, (long long)ts);
	rc |= mr_buf_add(&m, body, len);
	for (i = 0; secrets[i] != NULL && i < MR_WHSIG_MAX && rc == 0; i++) {
		if (whsec_key(a, secrets[i], &key, &klen) == -1 ||
		    mr_hmac_sha256(key, klen, m.data, m.len, mac) == -1 ||
		    (b = mr_b64_encode(a, mac, sizeof(mac))) == NULL) {
			rc = -1;
			break;
		}
		rc |= mr_buf_addf(&out, "%sv1,%s", i > 0 ? " " : "", b);
	}
	if (rc == 0 && out.len > 0)
		sig = mr_strndup(a, out.data, out.len);
	mr_buf_free(&m);
	mr_buf_free(&out);
	return sig;
}

/*
 * Is url one an endpoint may have: http or https, a host, no more than
 * 2048 bytes, nothing but visible ASCII?  0, or -1 with why said.
 * Where its name leads is checked when a delivery connects (httpc.c).
 */
int
mr_hook_url_check(const char *url, char *why, size_t whylen)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	int		 rc = -1;

	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			snprintf(why, whylen, "it has a space, a control "
			    "character or one that is not ASCII");
			return -1;
		}
	if (strlen(url) > 2048) {
		snprintf(why, whylen, "it is longer than 2048 bytes");
		return -1;
	}
	if ((u = curl_url()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		snprintf(why, whylen, "it is not an absolute URL");
	else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		snprintf(why, whylen, "only http and https are allowed");
	else if (host[0] == '\0')
		snprintf(why, whylen, "it has no host");
	else
		rc = 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}
