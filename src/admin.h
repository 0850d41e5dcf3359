/* SPDX-License-Identifier: ISC */
/*
 * admin.h - meetrec-admin: what its commands share (admin.c) and the
 * commands kept in files of their own.  An admin at the shell acts for
 * the company named with --company, or for every company without it, by
 * the rules and statements the API uses (db_*.c, manage.c).  Lists print
 * every row, fetched page by page, unless --limit says fewer; --json
 * prints JSON instead of a table.  Exit status: 0 done, 1 failed, 2 usage
 * or configuration error.
 */
#ifndef MR_ADMIN_H
#define MR_ADMIN_H

#include <stdint.h>
#include <json-c/json.h>

#include "mr.h"
#include "conf.h"
#include "db.h"

#define MR_ADMIN_PAGE	200	/* rows fetched at a time */

/* The options of the commands that look at and change recordings. */
struct mr_admin_opts {
	const char	*company;	/* NULL: every company */
	int		 json;
	int64_t		 limit;		/* 0: every row */
	const char	*cursor;
	const char	*status;	/* recordings list filters */
	const char	*room;
	const char	*user;
	const char	*from;
	const char	*to;
	const char	*trash;
	int		 as_is;		/* recordings retry --accept-as-is */
	const char	*reason;	/* recordings hold --reason */
};

/* admin.c */
void		 mr_admin_usage(void) MR_NORETURN;
struct mr_db	*mr_admin_connect(const struct mr_conf *);
int		 mr_admin_opts(int argc, char *argv[], const char *allowed,
		    struct mr_admin_opts *);
int		 mr_admin_fail(const char *what, const struct mr_err *);
void		 mr_admin_print_json(struct json_object *);
void		 mr_admin_json_str(struct json_object *, const char *key,
		    const char *value);
void		 mr_admin_more(const char *what, const char *cursor);
const char	*mr_admin_when(const char *ts, char *buf, size_t len);

/* admin_rec.c */
int	mr_admin_recordings(struct mr_conf *, int argc, char *argv[]);

/* admin_share.c */
int	mr_admin_shares(struct mr_conf *, int argc, char *argv[]);

/* admin_room.c */
int	mr_admin_room(struct mr_conf *, int argc, char *argv[]);

/* admin_audit.c */
int	mr_admin_audit_cmd(struct mr_conf *, int argc, char *argv[]);

#endif /* MR_ADMIN_H */
