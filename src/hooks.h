/* SPDX-License-Identifier: ISC */
/*
 * hooks.h - webhook endpoints and deliveries (db_hooks.c), sent by the
 * reaper (reap_hooks.c) and managed by admins (fcgi/api_hooks.c).
 * Strings live in the arena the function that filled them was given.
 */
#ifndef MR_HOOKS_H
#define MR_HOOKS_H

#include <stdint.h>

#include "mr.h"
#include "db.h"
#include "events.h"

struct mr_hook_ep {
	char	*id;
	char	*company_id;
	char	*url;
	char	*description;
	char	*events;		/* PostgreSQL array text */
	int	 enabled;
	char	*disabled_reason;
	char	*disabled_at;
	int64_t	 failures;		/* attempts failed in a row */
	char	*next_attempt_at;
	char	*created_at;
	char	*updated_at;
	char	*created_by;
	int	 rotating;		/* an old secret still signs */
	int64_t	 pending;		/* deliveries waiting */
	char	*secret;		/* the claim's only */
	char	*old_secret;
};

struct mr_hook_delivery {
	int64_t		 id;
	int64_t		 attempts;
	int64_t		 age_s;		/* since the event */
	int		 downloadable;	/* its recording can be fetched */
	struct mr_event	 ev;
};

struct mr_hook_outcome {
	long		 status;	/* HTTP status, 0 none */
	int64_t		 latency_ms;
	const char	*response;	/* at most 1024 bytes of the answer */
	const char	*error;		/* NULL when delivered */
	int		 delivered;
	int		 give_up;	/* past webhook_retry_hours */
	int		 gone;		/* 410: disable the endpoint */
	int64_t		 backoff_s;
	int64_t		 disable_after;
};

struct mr_hook_row {
	int64_t	 id;
	char	*event_id;
	int64_t	 event_seq;
	char	*event_type;
	char	*status;
	int64_t	 attempts;
	int64_t	 last_status;
	char	*last_error;
	char	*created_at;
	char	*finished_at;
	int64_t	 latency_ms;		/* of the last attempt, -1 none */
	char	*response;
	char	*attempted_at;
};

int	mr_db_hook_create(struct mr_db *, struct mr_arena *,
	    const char *company, const char *url, const char *description,
	    const char *events, const char *secret, const char *by,
	    int64_t max, struct mr_hook_ep *, struct mr_err *);
int	mr_db_hook_list(struct mr_db *, struct mr_arena *, const char *company,
	    struct mr_hook_ep **, int *n, struct mr_err *);
int	mr_db_hook_get(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, struct mr_hook_ep *, struct mr_err *);
int	mr_db_hook_update(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char *url, const char *description,
	    const char *events, int enabled, struct mr_hook_ep *,
	    struct mr_err *);
int	mr_db_hook_rotate(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, const char *secret, int64_t hours,
	    struct mr_hook_ep *, struct mr_err *);
int	mr_db_hook_delete(struct mr_db *, struct mr_arena *, const char *id,
	    const char *company, struct mr_err *);
int	mr_db_hook_claim(struct mr_db *, struct mr_arena *, const char *owner,
	    int64_t lease_s, int n, struct mr_hook_ep **, struct mr_err *);
int	mr_db_hook_next(struct mr_db *, struct mr_arena *,
	    const char *endpoint, struct mr_hook_delivery *, struct mr_err *);
int	mr_db_hook_attempt(struct mr_db *, struct mr_arena *,
	    const char *owner, const struct mr_hook_ep *,
	    const struct mr_hook_delivery *, const struct mr_hook_outcome *,
	    int *enabled, struct mr_err *);
int	mr_db_hook_renew(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, int64_t lease_s, struct mr_err *);
int	mr_db_hook_release(struct mr_db *, struct mr_arena *, const char *id,
	    const char *owner, struct mr_err *);
int	mr_db_hook_events(struct mr_db *, struct mr_arena *,
	    const char *company, int64_t since, int64_t limit,
	    struct mr_event **, int **downloadable, int *n, struct mr_err *);
int	mr_db_hook_deliveries(struct mr_db *, struct mr_arena *,
	    const char *endpoint, const char *company, const char *status,
	    int64_t before, int64_t limit, struct mr_hook_row **, int *n,
	    struct mr_err *);
int	mr_db_hook_redeliver(struct mr_db *, struct mr_arena *, int64_t id,
	    const char *endpoint, const char *company, struct mr_err *);
int	mr_db_hook_prune(struct mr_db *, struct mr_arena *, int64_t days,
	    int64_t limit, struct mr_err *);

#endif /* MR_HOOKS_H */
