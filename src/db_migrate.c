/* SPDX-License-Identifier: ISC */
/*
 * db_migrate.c - numbered migrations from sql/NNN_name.sql.  Each file
 * runs once, in its own transaction, recorded in
 * project_management.meetrec_migrations.  An advisory lock serialises
 * concurrent runs (several hosts may run "migrate" at once).
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "db.h"

#define MIGRATE_LOCK	"7243861125"	/* arbitrary advisory lock key */
#define MAX_FILES	256
#define MAX_SQL		(4 * 1024 * 1024)

static int
is_migration(const char *name)
{
	size_t	 n = strlen(name);

	return n > 8 && isdigit((unsigned char)name[0]) &&
	    isdigit((unsigned char)name[1]) &&
	    isdigit((unsigned char)name[2]) && name[3] == '_' &&
	    strcmp(name + n - 4, ".sql") == 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
readall(const char *path, struct mr_buf *b, struct mr_err *err)
{
	FILE	*fp;
	char	 chunk[8192];
	size_t	 n;
	int	 rc = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return mr_err_set(err, 500, "migrate",
		    "could not open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (mr_buf_add(b, chunk, n) == -1) {
			rc = mr_err_set(err, 500, "migrate",
			    "'%s' is too large", path);
			break;
		}
	if (rc == 0 && ferror(fp))
		rc = mr_err_set(err, 500, "migrate", "could not read '%s'",
		    path);
	fclose(fp);
	return rc;
}

/* Is version applied?  1 yes, 0 no, -1 error. */
static int
applied(struct mr_db *db, const char *version, struct mr_err *err)
{
	const char	*params[1] = { version };
	PGresult	*res;
	int		 rc;

	res = PQexecParams(mr_db_conn(db), "SELECT 1 FROM "
	    "project_management.meetrec_migrations WHERE version = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		mr_err_set(err, 500, "migrate", "could not read migrations: %s",
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int
apply(struct mr_db *db, const char *dir, const char *file, int dry,
    struct mr_err *err)
{
	char		 path[4096], version[4];
	const char	*params[2];
	struct mr_buf	 sql;
	PGresult	*res;
	int		 rc;

	memcpy(version, file, 3);
	version[3] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	mr_buf_init(&sql, MAX_SQL);
	if (readall(path, &sql, err) == -1)
		goto fail;
	if (mr_db_simple(db, "BEGIN", err) == -1 ||
	    mr_db_simple(db, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
	    err) == -1)
		goto fail;
	if ((rc = applied(db, version, err)) == -1)
		goto fail;
	if (rc == 1) {
		mr_db_simple(db, "ROLLBACK", err);
		mr_buf_free(&sql);
		return 0;
	}
	if (dry) {
		printf("pending %s\n", file);
		mr_db_simple(db, "ROLLBACK", err);
		mr_buf_free(&sql);
		return 0;
	}
	if (mr_db_simple(db, sql.data, err) == -1) {
		mr_err_cause(err, "in %s", file);
		goto fail;
	}
	params[0] = version;
	params[1] = file;
	res = PQexecParams(mr_db_conn(db), "INSERT INTO "
	    "project_management.meetrec_migrations (version, name) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(res);
	if (rc == -1 || mr_db_simple(db, "COMMIT", err) == -1)
		goto fail;
	printf("applied %s\n", file);
	mr_buf_free(&sql);
	return 0;
fail:
	{
		struct mr_err	 rb;

		mr_db_simple(db, "ROLLBACK", &rb);
	}
	mr_buf_free(&sql);
	if (err->status == 0)
		mr_err_set(err, 500, "migrate", "could not apply %s", file);
	return -1;
}

/*
 * The migration files of sqldir, in name order, into files (MAX_FILES,
 * each to free).  Returns how many, or -1 with err set.
 */
static int
list_files(const char *sqldir, char **files, struct mr_err *err)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	if ((d = opendir(sqldir)) == NULL)
		return mr_err_set(err, 500, "migrate",
		    "could not open sql directory '%s': %s", sqldir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!is_migration(de->d_name))
			continue;
		if (n == MAX_FILES || (files[n] = strdup(de->d_name)) == NULL) {
			closedir(d);
			while (n > 0)
				free(files[--n]);
			return mr_err_set(err, 500, "migrate",
			    "too many migrations");
		}
		n++;
	}
	closedir(d);
	qsort(files, n, sizeof(files[0]), cmp);
	return (int)n;
}

/*
 * The folder of the migrations: MEETREC_SQLDIR when it is set and not
 * empty, else the one installed (MR_SQLDIR).  A static string or the
 * environment's: the caller frees nothing.
 */
const char *
mr_db_sqldir(void)
{
	const char	*d = mr_getenv_nonempty("MEETREC_SQLDIR");

	return d != NULL ? d : MR_SQLDIR;
}

/*
 * Apply every pending migration in sqldir, in name order.  With dry set,
 * list the pending ones instead.  Prints one line per file applied.
 */
int
mr_db_migrate(struct mr_db *db, const char *sqldir, int dry,
    struct mr_err *err)
{
	char		*files[MAX_FILES];
	int		 n = 0, i, rc = -1;

	if (mr_db_simple(db, "CREATE SCHEMA IF NOT EXISTS project_management; "
	    "CREATE TABLE IF NOT EXISTS project_management.meetrec_migrations "
	    "(version char(3) PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", err) == -1) {
		/* Two first runs at once may race on CREATE: try again. */
		mr_err_clear(err);
		if (mr_db_simple(db, "CREATE TABLE IF NOT EXISTS "
		    "project_management.meetrec_migrations (version char(3) "
		    "PRIMARY KEY, name text NOT NULL, applied_at timestamptz "
		    "NOT NULL DEFAULT now())", err) == -1)
			return -1;
	}
	if ((n = list_files(sqldir, files, err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (apply(db, sqldir, files[i], dry, err) == -1)
			goto done;
	rc = 0;
done:
	for (i = 0; i < n; i++)
		free(files[i]);
	return rc;
}

/*
 * How many migrations of sqldir the database has not had, without
 * changing anything (no schema at all counts every one); the name of
 * the first of them in first (arena a), when there is one.  Returns
 * the count, or -1 with err set.
 */
int
mr_db_migrations_pending(struct mr_db *db, struct mr_arena *a,
    const char *sqldir, const char **first, struct mr_err *err)
{
	char		*files[MAX_FILES], version[4];
	PGresult	*res = NULL;
	int		 n, i, pending = 0, have;

	*first = NULL;
	if ((n = list_files(sqldir, files, err)) == -1)
		return -1;
	res = PQexec(mr_db_conn(db), "SELECT to_regclass("
	    "'project_management.meetrec_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		mr_err_set(err, 500, "migrate", "could not read migrations: %s",
		    PQresultErrorMessage(res));
		pending = -1;
		goto done;
	}
	have = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	for (i = 0; i < n; i++) {
		int	 rc = 0;

		memcpy(version, files[i], 3);
		version[3] = '\0';
		if (have && (rc = applied(db, version, err)) == -1) {
			pending = -1;
			goto done;
		}
		if (rc == 0 && pending++ == 0)
			*first = mr_strdup(a, files[i]);
	}
done:
	PQclear(res);
	for (i = 0; i < n; i++)
		free(files[i]);
	return pending;
}
