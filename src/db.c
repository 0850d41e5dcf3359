/* SPDX-License-Identifier: ISC */
/*
 * db.c - libpq connection with lazily prepared statements and reconnect.
 *
 * Statements are prepared on first use on each connection (so
 * meetrec-admin can run migrations before any table exists) and prepared
 * again after a reconnect.  Every PGresult handed out is owned by an
 * arena.
 *
 * Without prepared statements (database_prepared_statements = 0) each
 * one goes as an unnamed statement with its parameters, parsed and
 * planned for each run: what a pooler that hands a client's transactions
 * to any server connection (PgBouncer in transaction mode) allows, since
 * a named statement lives on the server connection it was prepared on.
 * A connection that meets such a pooler anyway (a statement prepared
 * here is unknown there, or one of the same name is already there)
 * changes to unnamed statements for good, and says so.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "model.h"

/* The statement tables of the db_*.c files. */
extern const struct mr_db_stmt mr_db_recording_stmts[];
extern const struct mr_db_stmt mr_db_room_stmts[];
extern const struct mr_db_stmt mr_db_webhook_stmts[];
extern const struct mr_db_stmt mr_db_reaper_stmts[];
extern const struct mr_db_stmt mr_db_metrics_stmts[];
extern const struct mr_db_stmt mr_db_share_stmts[];
extern const struct mr_db_stmt mr_db_admin_stmts[];
extern const struct mr_db_stmt mr_db_audit_stmts[];
extern const struct mr_db_stmt mr_db_limits_stmts[];
extern const struct mr_db_stmt mr_db_auditlog_stmts[];
extern const struct mr_db_stmt mr_db_gov_stmts[];
extern const struct mr_db_stmt mr_db_ledger_stmts[];
extern const struct mr_db_stmt mr_db_hooks_stmts[];
extern const struct mr_db_stmt mr_db_transcript_stmts[];

static const struct mr_db_stmt *const tables[] = {
	mr_db_recording_stmts,
	mr_db_room_stmts,
	mr_db_webhook_stmts,
	mr_db_reaper_stmts,
	mr_db_metrics_stmts,
	mr_db_share_stmts,
	mr_db_admin_stmts,
	mr_db_audit_stmts,
	mr_db_limits_stmts,
	mr_db_auditlog_stmts,
	mr_db_gov_stmts,
	mr_db_ledger_stmts,
	mr_db_hooks_stmts,
	mr_db_transcript_stmts,
};

#define MAX_STMTS	128

/*
 * Statement i of all the tables in turn, NULL past the last: for the
 * test that reads their plans (t/unit/sql-stmts).
 */
const struct mr_db_stmt *
mr_db_stmt_at(size_t i)
{
	const struct mr_db_stmt	*s;

	for (size_t t = 0; t < MR_NELEM(tables); t++)
		for (s = tables[t]; s->name != NULL; s++)
			if (i-- == 0)
				return s;
	return NULL;
}

struct mr_db {
	char		*conninfo;
	PGconn		*conn;
	int		 unnamed;		/* no prepared statements */
	int		 intx;			/* inside BEGIN ... COMMIT */
	unsigned	 generation;		/* connections made so far */
	char		 sqlstate[6];
	unsigned char	 prepared[MR_NELEM(tables)][MAX_STMTS];
	struct mr_actor	*actor;			/* see mr_db_set_actor */
};

/*
 * Who the changes made on db from now on are for; NULL: the system's
 * own.  The statements which change a recording or a share link pass
 * mr_db_actor() on in audit_ctx, for the audit row the change writes
 * (sql/011_governance.sql).  act is the caller's and must live until
 * the actor is set again.
 */
void
mr_db_set_actor(struct mr_db *db, struct mr_actor *act)
{
	db->actor = act;
}

/*
 * The actor as a JSON object of whichever of user_id, email, ip and
 * agent are known.  NULL for the system's own changes, and when it
 * cannot be made (out of memory): the change is then the system's, not
 * refused.
 */
const char *
mr_db_actor(const struct mr_db *db)
{
	struct mr_actor	*act = db->actor;

	if (act == NULL)
		return NULL;
	if (act->json == NULL)
		act->json = mr_db_audit_actor(act->a, act->user_id, act->email,
		    act->ip, act->agent);
	return act->json;
}

struct mr_db *
mr_db_new(const char *conninfo, int prepared)
{
	struct mr_db	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->unnamed = !prepared;
	if ((db->conninfo = strdup(conninfo)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
mr_db_free(struct mr_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

PGconn *
mr_db_conn(struct mr_db *db)
{
	return db->conn;
}

int
mr_db_prepared(const struct mr_db *db)
{
	return !db->unnamed;
}

const char *
mr_db_sqlstate(const struct mr_db *db)
{
	return db->sqlstate;
}

static void
notice(void *arg, const char *msg)
{
	(void)arg;
	mr_log_debug("postgres notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * No JIT: a statement planned once for any values is costed for a tenth
 * of what its scope may hold (a LIMIT not known), which at millions of
 * rows passes jit_above_cost, and compiling it took 20 to 30 ms of every
 * page that takes under 1 ms to read (t/061).  Best effort: a server
 * without JIT, or one that refuses, still serves.
 */
static void
session_settings(struct mr_db *db)
{
	PGresult	*res;

	res = PQexec(db->conn, "SET jit = off");
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		mr_log_debug("postgres: SET jit = off: %.*s",
		    (int)strcspn(PQerrorMessage(db->conn), "\n"),
		    PQerrorMessage(db->conn));
	PQclear(res);
}

int
mr_db_connect(struct mr_db *db, struct mr_err *err)
{
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	memset(db->prepared, 0, sizeof(db->prepared));
	db->intx = 0;
	db->conn = PQconnectdb(db->conninfo);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		mr_err_cause(err, "could not connect to postgres: %s",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		if (db->conn != NULL) {
			PQfinish(db->conn);
			db->conn = NULL;
		}
		return mr_err_set(err, 503, "db_unavailable",
		    "The database is not available right now.");
	}
	PQsetNoticeProcessor(db->conn, notice, NULL);
	session_settings(db);
	db->generation++;
	return 0;
}

/*
 * Which connection this is: it changes with every reconnect, so state a
 * session holds (a LISTEN) can be set up again.
 */
unsigned
mr_db_generation(const struct mr_db *db)
{
	return db->generation;
}

static int
find_stmt(const char *name, size_t *t, size_t *i)
{
	for (*t = 0; *t < MR_NELEM(tables); (*t)++)
		for (*i = 0; tables[*t][*i].name != NULL; (*i)++)
			if (strcmp(tables[*t][*i].name, name) == 0)
				return 0;
	return -1;
}

static void
clear(void *res)
{
	PQclear(res);
}

/* Map a failed result onto err; returns -1. */
static int
result_err(struct mr_db *db, PGresult *res, struct mr_err *err)
{
	const char	*state = NULL;

	if (res != NULL)
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	mr_strlcpy(db->sqlstate, state ? state : "", sizeof(db->sqlstate));
	mr_err_cause(err, "postgres: %s%s", state ? state : "",
	    res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	if (state != NULL && strcmp(state, "23505") == 0)
		return mr_err_set(err, 409, "conflict",
		    "The request conflicts with the current state.");
	/* A pooler's refusal of a named statement (exec_once) passes. */
	if (state == NULL || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "26000") == 0 ||
	    strcmp(state, "42P05") == 0 || PQstatus(db->conn) != CONNECTION_OK)
		return mr_err_set(err, 503, "db_unavailable",
		    "The database is not available right now.");
	return mr_err_set(err, 500, "internal", "Internal error.");
}

/*
 * Did the server answer a named statement as only a pooler that shares
 * server connections between clients makes it answer: the statement we
 * prepared is not there (26000), or another client's of the same name is
 * (42P05)?  Either way nothing ran.
 */
static int
pooler_refused(PGresult *res)
{
	const char	*state;

	if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR ||
	    (state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return 0;
	return strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0;
}

static void
go_unnamed(struct mr_db *db, PGresult *res)
{
	mr_log_warnx("postgres: %.*s: database_url seems to reach PostgreSQL "
	    "through a pooler in transaction mode; this connection sends "
	    "unnamed statements from now on (set "
	    "database_prepared_statements = 0)",
	    (int)strcspn(PQresultErrorMessage(res), "\n"),
	    PQresultErrorMessage(res));
	db->unnamed = 1;
}

/*
 * Send statement (t, i) once.  *lost is set when the connection is gone
 * afterwards, *sent once the statement may have reached the server.
 */
static PGresult *
exec_once(struct mr_db *db, size_t t, size_t i, const char *const *params,
    int *lost, int *sent)
{
	const struct mr_db_stmt *s = &tables[t][i];
	PGresult	*res;

	*lost = *sent = 0;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		*lost = 1;
		return NULL;
	}
	if (!db->unnamed && !db->prepared[t][i]) {
		/* A PREPARE changes no data: it may always be repeated. */
		res = PQprepare(db->conn, s->name, s->sql, s->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			*lost = PQstatus(db->conn) != CONNECTION_OK;
			if (!pooler_refused(res))
				return res;
			go_unnamed(db, res);
			/* A transaction the error ended: its caller's to retry. */
			if (db->intx)
				return res;
			PQclear(res);
		} else {
			PQclear(res);
			db->prepared[t][i] = 1;
		}
	}
	*sent = 1;
	if (db->unnamed)
		res = PQexecParams(db->conn, s->sql, s->nparams, NULL, params,
		    NULL, NULL, 0);
	else {
		res = PQexecPrepared(db->conn, s->name, s->nparams, params,
		    NULL, NULL, 0);
		/* Refused before it ran: outside a transaction, once more. */
		if (pooler_refused(res)) {
			go_unnamed(db, res);
			if (db->intx)
				goto out;
			PQclear(res);
			res = PQexecParams(db->conn, s->sql, s->nparams, NULL,
			    params, NULL, NULL, 0);
		}
	}
out:
	if (PQstatus(db->conn) != CONNECTION_OK)
		*lost = 1;
	return res;
}

/*
 * The connection broke under statement s: may it be sent again?  Yes when
 * it was never sent, or when the server answered it with an error of its
 * own (the error aborted the statement's implicit transaction, so nothing
 * was committed; a shutdown or a terminated backend says so).  Otherwise
 * the connection may have dropped after the commit, before the answer
 * came back, and only a statement marked MR_DB_RESEND goes again.
 */
static int
may_resend(const struct mr_db_stmt *s, PGresult *res, int sent)
{
	if (!sent)
		return 1;
	if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
		return 1;
	return s->resend == MR_DB_RESEND;
}

PGresult *
mr_db_exec(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *const *params, struct mr_err *err)
{
	PGresult	*res;
	size_t		 t, i;
	int		 lost, sent, st;

	db->sqlstate[0] = '\0';
	if (find_stmt(name, &t, &i) == -1) {
		mr_err_cause(err, "unknown statement %s", name);
		return mr_err_set(err, 500, "internal", "Internal error."),
		    NULL;
	}
	res = exec_once(db, t, i, params, &lost, &sent);
	/*
	 * After a server restart the first use of the old connection fails.
	 * Outside a transaction, reconnect and send the statement once more
	 * if that cannot apply it twice.
	 */
	if (lost && !db->intx) {
		mr_log_warnx("postgres connection lost, reconnecting");
		if (!may_resend(&tables[t][i], res, sent)) {
			mr_log_warnx("statement %s is not sent again: it may "
			    "have been applied", name);
			result_err(db, res, err);
			PQclear(res);
			/* The next statement reconnects. */
			mr_err_set(err, 503, "db_unavailable",
			    "The database is not available right now.");
			return NULL;
		}
		PQclear(res);
		if (mr_db_connect(db, err) == -1)
			return NULL;
		res = exec_once(db, t, i, params, &lost, &sent);
	}
	st = PQresultStatus(res);
	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		result_err(db, res, err);
		PQclear(res);
		if (lost)
			db->intx = 0;
		return NULL;
	}
	if (mr_arena_defer(a, clear, res) == -1)
		return mr_err_set(err, 500, "internal", "Out of memory."), NULL;
	return res;
}

/*
 * Run a prepared UPDATE, INSERT or DELETE: 1 when it touched a row, 0
 * when it touched none (a conditional transition that did not apply), -1
 * with err set.
 */
int
mr_db_change(struct mr_db *db, struct mr_arena *a, const char *name,
    const char *const *params, struct mr_err *err)
{
	PGresult	*res;

	if ((res = mr_db_exec(db, a, name, params, err)) == NULL)
		return -1;
	return mr_db_affected(res) > 0;
}

int
mr_db_simple(struct mr_db *db, const char *sql, struct mr_err *err)
{
	PGresult	*res;
	int		 st;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		if (db->intx)
			return mr_err_set(err, 503, "db_unavailable",
			    "The database is not available right now.");
		if (mr_db_connect(db, err) == -1)
			return -1;
	}
	res = PQexec(db->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		result_err(db, res, err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
mr_db_ping(struct mr_db *db, struct mr_err *err)
{
	if (mr_db_simple(db, "SELECT 1", err) == -1 && !db->intx) {
		/* One reconnect, as mr_db_exec does. */
		mr_err_clear(err);
		if (mr_db_connect(db, err) == -1)
			return -1;
		return mr_db_simple(db, "SELECT 1", err);
	}
	return 0;
}

int
mr_db_begin(struct mr_db *db, struct mr_err *err)
{
	if (mr_db_simple(db, "BEGIN", err) == -1) {
		/* A dead idle connection: reconnect once, nothing is lost. */
		mr_err_clear(err);
		if (mr_db_connect(db, err) == -1 ||
		    mr_db_simple(db, "BEGIN", err) == -1)
			return -1;
	}
	db->intx = 1;
	return 0;
}

int
mr_db_commit(struct mr_db *db, struct mr_err *err)
{
	int	 rc = mr_db_simple(db, "COMMIT", err);

	db->intx = 0;
	return rc;
}

void
mr_db_rollback(struct mr_db *db)
{
	struct mr_err	 err;

	if (db->intx && db->conn != NULL &&
	    PQstatus(db->conn) == CONNECTION_OK)
		mr_db_simple(db, "ROLLBACK", &err);
	db->intx = 0;
}

/*
 * The number of column col in res, -1 when there is none.  PQfnumber
 * compares col with every name before the one it finds, and a row of
 * recordings has over thirty columns read one by one, for each of up to
 * 200 rows.  Callers read them in about the order the query names them,
 * so the column after the one found last is tried first.  It is the one
 * PQfnumber would find: the names in a result of ours are unique (every
 * query names its columns, AS where two would clash), and col is lower
 * case, as PQfnumber would make it.
 */
static int
column(PGresult *res, const char *col)
{
	static int	 next;
	int		 c;

	if (next < PQnfields(res) && strcmp(PQfname(res, next), col) == 0)
		return next++;
	if ((c = PQfnumber(res, col)) >= 0)
		next = c + 1;
	return c;
}

/*
 * items[0..n) as a PostgreSQL array literal, each element quoted ("{\"a\",
 * \"b\"}"; a text[], uuid[] ... parameter); in a, NULL out of memory.
 */
char *
mr_db_text_array(struct mr_arena *a, const char *const *items, size_t n)
{
	struct mr_buf	 b;
	char		*s;
	size_t		 i;
	int		 rc;

	mr_buf_init(&b, 1u << 20);
	rc = mr_buf_adds(&b, "{");
	for (i = 0; i < n; i++) {
		rc |= mr_buf_adds(&b, i > 0 ? ",\"" : "\"");
		for (const char *c = items[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				rc |= mr_buf_adds(&b, "\\");
			rc |= mr_buf_add(&b, c, 1);
		}
		rc |= mr_buf_adds(&b, "\"");
	}
	rc |= mr_buf_adds(&b, "}");
	s = rc == 0 ? mr_strndup(a, b.data, b.len) : NULL;
	mr_buf_free(&b);
	return s;
}

char *
mr_db_val(struct mr_arena *a, PGresult *res, int row, const char *col)
{
	int	 c = column(res, col);

	if (c < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c))
		return NULL;
	return mr_strndup(a, PQgetvalue(res, row, c),
	    (size_t)PQgetlength(res, row, c));
}

int64_t
mr_db_int(PGresult *res, int row, const char *col, int64_t def)
{
	int	 c = column(res, col);
	int64_t	 v;

	if (c < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c) ||
	    mr_parse_int64(PQgetvalue(res, row, c), INT64_MIN, INT64_MAX,
	    &v) == -1)
		return def;
	return v;
}

int
mr_db_bool(PGresult *res, int row, const char *col)
{
	int	 c = column(res, col);

	if (c < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c))
		return 0;
	return PQgetvalue(res, row, c)[0] == 't';
}

/*
 * Field (row, col) holding extract(epoch FROM t) (db_sql.h): seconds
 * since 1970-01-01 UTC, with six decimals (PostgreSQL 14 on; older ones
 * send fewer when they end in zeros).  0 with *us set; -1 for SQL NULL
 * and for infinity, which is no point in time (to_char made it NULL).
 */
int
mr_db_epoch_us(PGresult *res, int row, const char *col, int64_t *us)
{
	const char	*p;
	int64_t		 sec = 0, frac = 0;
	int		 c = column(res, col), neg, n;

	if (c < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c))
		return -1;
	p = PQgetvalue(res, row, c);
	if ((neg = *p == '-'))
		p++;
	/*
	 * Microseconds since 1970 fit an int64_t until the year 294247;
	 * PostgreSQL's timestamps go on to 294276, and those are NULL here.
	 */
	for (n = 0; *p >= '0' && *p <= '9'; p++, n++)
		if (n < 13)
			sec = sec * 10 + (*p - '0');
	if (n == 0 || n > 13 || sec > INT64_MAX / 1000000 - 1)
		return -1;
	if (*p == '.') {
		for (n = 0, p++; *p >= '0' && *p <= '9' && n < 6; p++, n++)
			frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -1;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (*p != '\0')
		return -1;
	*us = (sec * 1000000 + frac) * (neg ? -1 : 1);
	return 0;
}

/*
 * The same as ISO 8601 UTC text in a (mr_time_iso), NULL for SQL NULL
 * and infinity; *us (unless NULL) gets the microseconds, 0 then.
 */
char *
mr_db_time(struct mr_arena *a, PGresult *res, int row, const char *col,
    int64_t *us)
{
	char	 buf[MR_TIME_ISOLEN];
	int64_t	 t;

	if (us != NULL)
		*us = 0;
	if (mr_db_epoch_us(res, row, col, &t) == -1 ||
	    mr_time_iso(buf, t) == NULL)
		return NULL;
	if (us != NULL)
		*us = t;
	return mr_strdup(a, buf);
}

void
mr_db_total_bound(int64_t *total, int *exact)
{
	if (*total > MR_TOTAL_EXACT_MAX) {
		*total = MR_TOTAL_EXACT_MAX;
		*exact = 0;
	}
}

int64_t
mr_db_affected(PGresult *res)
{
	int64_t	 n;

	if (mr_parse_int64(PQcmdTuples(res), 0, INT64_MAX, &n) == -1)
		return 0;
	return n;
}
