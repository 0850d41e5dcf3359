/* SPDX-License-Identifier: ISC */
/*
 * db_room.c - the rooms table (owned by the host ERP; see sql/001).
 */
#include "config.h"

#include "mr.h"
#include "db.h"
#include "model.h"

const struct mr_db_stmt mr_db_room_stmts[] = {
	{ "room_get",
	  "SELECT id, room_code, name, created_by, company_id, status "
	  "FROM project_management.pm_meeting_rooms WHERE room_code = $1",
	  1, MR_DB_RESEND },
	{ "room_add",
	  "INSERT INTO project_management.pm_meeting_rooms "
	  "(room_code, name, created_by, company_id) "
	  "VALUES ($1, $2, $3::uuid, $4::uuid) RETURNING id", 4, MR_DB_ONCE },
	{ "room_list",
	  "SELECT id, room_code, name, created_by, company_id, status "
	  "FROM project_management.pm_meeting_rooms ORDER BY room_code "
	  "LIMIT 1000", 0, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static void
fill(struct mr_arena *a, PGresult *res, int i, struct mr_room *r)
{
	r->id = mr_db_val(a, res, i, "id");
	r->room_code = mr_db_val(a, res, i, "room_code");
	r->name = mr_db_val(a, res, i, "name");
	r->created_by = mr_db_val(a, res, i, "created_by");
	r->company_id = mr_db_val(a, res, i, "company_id");
	r->status = mr_db_val(a, res, i, "status");
}

int
mr_db_room_get(struct mr_db *db, struct mr_arena *a, const char *code,
    struct mr_room *r, struct mr_err *err)
{
	const char	*p[] = { code };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "room_get", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	fill(a, res, 0, r);
	return 1;
}

int
mr_db_room_add(struct mr_db *db, struct mr_arena *a, const char *code,
    const char *name, const char *host, const char *company, char **id,
    struct mr_err *err)
{
	const char	*p[] = { code, name, host, company };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "room_add", p, err)) == NULL)
		return -1;
	*id = mr_db_val(a, res, 0, "id");
	return 1;
}

int
mr_db_room_list(struct mr_db *db, struct mr_arena *a, struct mr_room **out,
    int *n, struct mr_err *err)
{
	PGresult	*res;
	int		 i;

	if ((res = mr_db_exec(db, a, "room_list", NULL, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++)
		fill(a, res, i, &(*out)[i]);
	return 1;
}
