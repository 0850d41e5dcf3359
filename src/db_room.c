/* SPDX-License-Identifier: ISC */
/*
 * db_room.c - the rooms table (owned by the host ERP; see sql/001).
 */
#include "config.h"

#include <string.h>

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
	/* $1 company or NULL, $2 the last room code of the page before */
	{ "room_list",
	  "SELECT id, room_code, name, created_by, company_id, status "
	  "FROM project_management.pm_meeting_rooms "
	  "WHERE ($1::uuid IS NULL OR company_id = $1::uuid) "
	  "AND ($2::text IS NULL OR room_code > $2) "
	  "ORDER BY room_code LIMIT $3::int", 3, MR_DB_RESEND },
	/*
	 * $1 code, $2 company or NULL.  Not while a recording, in the trash
	 * too, names the room (meeting_id, the seed's foreign key).
	 */
	{ "room_del",
	  "DELETE FROM project_management.pm_meeting_rooms rm "
	  "WHERE rm.room_code = $1 AND "
	  "($2::uuid IS NULL OR rm.company_id = $2::uuid) AND NOT EXISTS "
	  "(SELECT 1 FROM project_management.pm_meeting_recordings r "
	  "WHERE r.meeting_id = rm.id) RETURNING rm.id",
	  2, MR_DB_RESEND },
	/* Why room $1 was not deleted: its recordings, and the active. */
	{ "room_uses",
	  "SELECT count(*) AS recordings, count(*) FILTER (WHERE "
	  "r.status IN ('pending', 'recording')) AS active "
	  "FROM project_management.pm_meeting_recordings r "
	  "JOIN project_management.pm_meeting_rooms rm ON rm.id = r.meeting_id "
	  "WHERE rm.room_code = $1", 1, MR_DB_RESEND },
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

/*
 * A page of rooms by code: at most limit of company's (NULL: every
 * company's) after the code after (NULL: from the first).
 */
int
mr_db_room_list(struct mr_db *db, struct mr_arena *a, const char *company,
    const char *after, int64_t limit, struct mr_room **out, int *n,
    struct mr_err *err)
{
	const char	*p[3];
	PGresult	*res;
	int		 i;

	p[0] = company;
	p[1] = after;
	if ((p[2] = mr_printf(a, "%lld", (long long)limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "room_list", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++)
		fill(a, res, i, &(*out)[i]);
	return 1;
}

/*
 * Delete room code of company (NULL: any company's): 1 deleted, 0 when
 * there is no such room, -1 with 409 room_busy while a recording of it
 * is pending or recording, or 409 room_has_recordings while any
 * recording (the trash included) belongs to it: the seed's foreign key
 * keeps a recording's room.
 */
int
mr_db_room_del(struct mr_db *db, struct mr_arena *a, const char *code,
    const char *company, struct mr_err *err)
{
	const char	*p[] = { code, company };
	struct mr_room	 r;
	PGresult	*res;
	int64_t		 n;
	int		 rc;

	if ((res = mr_db_exec(db, a, "room_del", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 1)
		return 1;
	if ((rc = mr_db_room_get(db, a, code, &r, err)) == -1)
		return -1;
	if (rc == 0 || (company != NULL && strcmp(r.company_id, company) != 0))
		return 0;
	if ((res = mr_db_exec(db, a, "room_uses", p, err)) == NULL)
		return -1;
	if (mr_db_int(res, 0, "active", 0) > 0)
		return mr_err_set(err, 409, "room_busy", "Room '%s' is being "
		    "recorded; stop the recording first.", code);
	n = mr_db_int(res, 0, "recordings", 0);
	return mr_err_set(err, 409, "room_has_recordings", "Room '%s' has "
	    "%lld recording%s, which keep it; delete them and wait until "
	    "the trash is purged.", code, (long long)n, n == 1 ? "" : "s");
}
