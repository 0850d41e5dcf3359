/* SPDX-License-Identifier: ISC */
/*
 * events.h - the events meetrec tells integrators of: the audit rows of
 * some actions (sql/013_webhooks.sql and 015, meetrec_event_type), one payload
 * for a webhook delivery and for GET /api/events, and the Standard
 * Webhooks signature (doc/standard-webhooks.md).
 */
#ifndef MR_EVENTS_H
#define MR_EVENTS_H

#include <stdint.h>

#include "mr.h"
#include "json.h"

/* The audit actions that are events, as SQL (015's partial index). */
#define MR_EVENT_ACTIONS \
	"('recording', 'stop', 'complete', 'fail', 'delete', 'expire', " \
	"'hold', 'release', 'share', 'share_revoke', 'objection', " \
	"'transcribe', 'transcribe_fail')"

#define MR_WHSEC_PREFIX		"whsec_"
#define MR_WHSEC_BYTES		32	/* a new secret's key */
#define MR_WHSIG_MAX		2	/* signatures a delivery carries */

/* An event: its audit row, and what is known of its recording now. */
struct mr_event {
	char	*id;		/* the audit row's id */
	int64_t	 seq;		/* its place in the company's chain */
	const char *type;	/* recording.completed, ... */
	char	*at;		/* ISO 8601 */
	char	*company_id;
	char	*recording_id;
	char	*room_code;	/* NULL once the recording is purged */
	char	*user_id;	/* who made the change, NULL: the system */
	char	*user_email;
	char	*share_id;
	char	*detail;	/* the audit row's detail, JSON text */
};

const char	*mr_event_type(const char *action);
int		 mr_event_known(const char *type);
char		*mr_event_msgid(struct mr_arena *, const char *id);
void		 mr_event_members(struct mr_arena *, struct mr_jw *,
		    const struct mr_event *, const char *download_url);
void		 mr_event_write(struct mr_arena *, struct mr_jw *,
		    const struct mr_event *, const char *download_url);
char		*mr_whsec_new(struct mr_arena *);
int		 mr_whsec_valid(struct mr_arena *, const char *);
char		*mr_whsig(struct mr_arena *, const char *const *secrets,
		    const char *msgid, int64_t ts, const char *body,
		    size_t len);
int		 mr_hook_url_check(const char *url, char *why, size_t whylen);

#endif /* MR_EVENTS_H */
