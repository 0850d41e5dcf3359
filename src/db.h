/* SPDX-License-Identifier: ISC */
/*
 * db.h - the PostgreSQL layer: one connection per process, prepared
 * statements by name, reconnect after a restart, SQLSTATE mapped onto
 * struct mr_err.  Query functions per table family live in db_*.c and
 * copy results into arena structs; callers never see a PGresult.
 */
#ifndef MR_DB_H
#define MR_DB_H

#include <stdint.h>
#include <libpq-fe.h>

#include "mr.h"

/*
 * May a statement be sent again when the connection broke after it was
 * sent and before its answer came back?  Then it may or may not have been
 * committed.  MR_DB_RESEND: yes, repeating it leaves the data as one run
 * did (a read, or a write made idempotent by its WHERE clause and by
 * setting values rather than adding to them).  MR_DB_ONCE: no (an INSERT,
 * a counter, a claim); the caller gets 503 db_unavailable instead.
 */
enum mr_db_resend {
	MR_DB_ONCE,
	MR_DB_RESEND
};

struct mr_db_stmt {
	const char		*name;
	const char		*sql;
	int			 nparams;
	enum mr_db_resend	 resend;
};

struct mr_db;

const struct mr_db_stmt	*mr_db_stmt_at(size_t);

/* db.c */
/*
 * prepared: 1 names each statement and prepares it once per connection,
 * 0 sends it unnamed every time (database_prepared_statements).
 */
struct mr_db	*mr_db_new(const char *conninfo, int prepared);
/*
 * Who the changes made on a connection are for (mr_db_set_actor): the
 * audit rows of those changes name them.  The JSON the statements pass
 * (audit_ctx) is made the first time one needs it, in arena a, so a
 * request that changes nothing pays nothing.
 */
struct mr_actor {
	struct mr_arena	*a;
	const char	*user_id;
	const char	*email;
	const char	*ip;
	const char	*agent;
	const char	*json;		/* made once, by mr_db_actor */
};

void		 mr_db_set_actor(struct mr_db *, struct mr_actor *);
const char	*mr_db_actor(const struct mr_db *);
int		 mr_db_prepared(const struct mr_db *);
void		 mr_db_free(struct mr_db *);
int		 mr_db_connect(struct mr_db *, struct mr_err *);
int		 mr_db_ping(struct mr_db *, struct mr_err *);
PGconn		*mr_db_conn(struct mr_db *);
unsigned	 mr_db_generation(const struct mr_db *);
/*
 * Run prepared statement name (from the tables in db_*.c) with text
 * parameters (NULL = SQL NULL).  The result is owned by arena a.  A lost
 * connection is reopened and, outside a transaction, the statement is
 * sent once more when that cannot apply it twice: the connection was
 * already gone before it was sent, the server refused it with an error
 * (nothing was committed), or its table entry says MR_DB_RESEND.
 * Returns NULL with err set: 409 conflict for a unique violation, 503
 * db_unavailable for a connection failure, 500 otherwise.
 */
PGresult	*mr_db_exec(struct mr_db *, struct mr_arena *a, const char *name,
		    const char *const *params, struct mr_err *err);
int		 mr_db_change(struct mr_db *, struct mr_arena *a,
		    const char *name, const char *const *params,
		    struct mr_err *err);
/* Run SQL text without parameters (migrations, BEGIN/COMMIT). */
int		 mr_db_simple(struct mr_db *, const char *sql,
		    struct mr_err *err);
int		 mr_db_begin(struct mr_db *, struct mr_err *);
int		 mr_db_commit(struct mr_db *, struct mr_err *);
void		 mr_db_rollback(struct mr_db *);
/* The SQLSTATE of the last failure, "" when none. */
const char	*mr_db_sqlstate(const struct mr_db *);
/* Copy field (row, column name) into a, NULL for SQL NULL. */
char		*mr_db_val(struct mr_arena *, PGresult *, int row,
		    const char *col);
int64_t		 mr_db_int(PGresult *, int row, const char *col, int64_t def);
/* items as an array parameter's text ("{\"a\",\"b\"}"), in the arena. */
char		*mr_db_text_array(struct mr_arena *, const char *const *items,
		    size_t n);
int		 mr_db_bool(PGresult *, int row, const char *col);
/*
 * A timestamp sent as extract(epoch FROM t): its microseconds, and as
 * ISO 8601 UTC text in the arena (NULL for SQL NULL and infinity).
 */
int		 mr_db_epoch_us(PGresult *, int row, const char *col,
		    int64_t *us);
char		*mr_db_time(struct mr_arena *, PGresult *, int row,
		    const char *col, int64_t *us);
/*
 * A list's total that must be counted row by row is counted up to this
 * many; past it, the total is this and not exact ("at least").
 * mr_db_total_bound() applies it to a count of up to one row more.
 */
#define MR_TOTAL_EXACT_MAX	10000
void		 mr_db_total_bound(int64_t *total, int *exact);
/* Number of rows an UPDATE/INSERT/DELETE touched. */
int64_t		 mr_db_affected(PGresult *);

/* db_limits.c */

/* What PostgreSQL lets meetrec's role open in meetrec's database. */
struct mr_db_limits {
	int64_t	 max_connections;
	int64_t	 role_limit;		/* -1: none */
	int64_t	 db_limit;		/* -1: none */
	int64_t	 available;		/* the least of them, reserved
					   slots taken out for non-superusers */
	int64_t	 in_use;		/* client connections open now */
};
/* One query; 0, or -1 with err set as mr_db_exec does. */
int		 mr_db_limits_get(struct mr_db *, struct mr_arena *,
		    struct mr_db_limits *, struct mr_err *err);

/* db_migrate.c */
const char	*mr_db_sqldir(void);
int		 mr_db_migrate(struct mr_db *, const char *sqldir, int dry,
		    struct mr_err *err);
int		 mr_db_migrations_pending(struct mr_db *, struct mr_arena *,
		    const char *sqldir, const char **first,
		    struct mr_err *err);

#endif /* MR_DB_H */
