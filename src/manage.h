/* SPDX-License-Identifier: ISC */
/*
 * manage.h - an administrator's actions on a recording, with the rules
 * the admin API and meetrec-admin share (manage.c).  Each returns 0, or
 * -1 with err set as the API answers it.
 */
#ifndef MR_MANAGE_H
#define MR_MANAGE_H

#include "mr.h"
#include "conf.h"
#include "db.h"
#include "model.h"

/* manage.c: company NULL acts on any company's recording */
int	mr_manage_retry(struct mr_db *, struct mr_arena *,
	    const struct mr_conf *, const char *id, const char *company,
	    int as_is, struct mr_err *);
int	mr_manage_restore(struct mr_db *, struct mr_arena *,
	    const struct mr_conf *, const char *id, const char *company,
	    struct mr_err *);
int	mr_manage_held(const struct mr_recording *, struct mr_err *);
int	mr_manage_trash(struct mr_db *, struct mr_arena *,
	    const struct mr_recording *, struct mr_err *);

#endif /* MR_MANAGE_H */
