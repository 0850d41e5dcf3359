/* SPDX-License-Identifier: ISC */
/*
 * db_limits.c - how many connections PostgreSQL lets meetrec open:
 * max_connections less the slots it keeps for superusers, and the
 * limits of meetrec's role and database.  meetrec-admin check-config
 * holds fcgi_workers_max against it (every worker keeps a connection).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"

const struct mr_db_stmt mr_db_limits_stmts[] = {
	/* reserved_connections exists from PostgreSQL 16 on. */
	{ "limits_get",
	  "SELECT current_setting('max_connections')::int AS max_connections, "
	  "current_setting('superuser_reserved_connections')::int "
	  "AS superuser_reserved, "
	  "coalesce(current_setting('reserved_connections', true), '0')::int "
	  "AS reserved, r.rolsuper AS superuser, "
	  "r.rolconnlimit AS role_limit, d.datconnlimit AS db_limit, "
	  "(SELECT count(*) FROM pg_stat_activity "
	  " WHERE backend_type = 'client backend') AS in_use "
	  "FROM pg_roles r, pg_database d "
	  "WHERE r.rolname = current_user AND d.datname = current_database()",
	  0, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

int
mr_db_limits_get(struct mr_db *db, struct mr_arena *a,
    struct mr_db_limits *l, struct mr_err *err)
{
	PGresult	*res;
	int64_t		 n;

	memset(l, 0, sizeof(*l));
	if ((res = mr_db_exec(db, a, "limits_get", NULL, err)) == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return mr_err_set(err, 500, "internal",
		    "PostgreSQL did not describe its limits.");
	l->max_connections = mr_db_int(res, 0, "max_connections", 0);
	l->in_use = mr_db_int(res, 0, "in_use", 0);
	l->role_limit = mr_db_int(res, 0, "role_limit", -1);
	l->db_limit = mr_db_int(res, 0, "db_limit", -1);
	/* Reserved slots are for superusers (and, from 16, granted roles). */
	n = l->max_connections;
	if (!mr_db_bool(res, 0, "superuser"))
		n -= mr_db_int(res, 0, "superuser_reserved", 0) +
		    mr_db_int(res, 0, "reserved", 0);
	if (l->role_limit >= 0 && l->role_limit < n)
		n = l->role_limit;
	if (l->db_limit >= 0 && l->db_limit < n)
		n = l->db_limit;
	l->available = n < 0 ? 0 : n;
	return 0;
}
