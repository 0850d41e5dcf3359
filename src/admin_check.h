/* SPDX-License-Identifier: ISC */
/*
 * admin_check.h - meetrec-admin check-config: the static checks
 * (admin_check.c) and, with --connect, those that talk to PostgreSQL,
 * storage and LiveKit (admin_connect.c).  See meetrec-admin(8).
 */
#ifndef MR_ADMIN_CHECK_H
#define MR_ADMIN_CHECK_H

#include <sys/stat.h>
#include <sys/types.h>

#include "mr.h"
#include "conf.h"

#define MR_CHECK_MAXGROUPS	256

/* A user the configuration is checked for. */
struct mr_check_user {
	char	 name[64];
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 groups[MR_CHECK_MAXGROUPS];
	int	 ngroups;
	int	 known;		/* the user exists */
};

struct mr_check {
	const struct mr_conf	*conf;
	struct mr_check_user	 service;	/* meetrec-fcgi, meetrec-reaper */
	struct mr_check_user	 nginx;		/* nginx's workers */
	int			 problems;
	int			 warnings;
};

/* admin_check.c */

/*
 * meetrec-admin check-config [--connect]: load the configuration at
 * path (mr_conf_path's rules) reporting every problem, print it with
 * secrets masked, check what can be checked without the network, and
 * with --connect what needs it.  One line on standard error per problem,
 * naming the key and where it was set.  Returns the exit status: 0, 1
 * when problems were found, 2 when the configuration does not load
 * (the programs would refuse it).
 */
int	 mr_admin_check_config(const char *path, int argc, char *argv[]);
/* A problem (counted, exit status 1) or a warning about key. */
void	 mr_check_problem(struct mr_check *, const char *key,
	    const char *fmt, ...) MR_PRINTF(3, 4);
void	 mr_check_warn(struct mr_check *, const char *key,
	    const char *fmt, ...) MR_PRINTF(3, 4);
/* What was found, as a comment line on standard output. */
void	 mr_check_note(const char *fmt, ...) MR_PRINTF(1, 2);
/*
 * May u read (4), write (2) and/or search or run (1) what st describes,
 * by its mode bits (root may do anything but run a file no one may)?
 */
int	 mr_check_may(const struct mr_check_user *u, const struct stat *st,
	    int want);
/*
 * The first folder on the way to path (an absolute path; path itself
 * not included) that u may not search, in buf; NULL when u reaches it.
 */
const char *mr_check_blocked(const struct mr_check_user *u,
	    const char *path, char *buf, size_t len);

/* admin_connect.c */

/*
 * The --connect checks: PostgreSQL (reachable, migrations current,
 * enough connections for the pool), storage (a probe object written,
 * read back and deleted; for local storage, readable by nginx's user)
 * and LiveKit (an authenticated ListEgress).  Blocks on the network.
 */
void	 mr_check_connect(struct mr_check *);

#endif /* MR_ADMIN_CHECK_H */
