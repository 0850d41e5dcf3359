/* SPDX-License-Identifier: ISC */
/*
 * db_audit.c - writing the audit log (pm_recording_access_logs).  Every
 * row keeps at most MR_AUDIT_AGENT_MAX bytes of the user agent, cut
 * between UTF-8 characters.  Watching (share_view, download) is written
 * once per viewing: the first request of a viewer within the window
 * takes a mark in pm_recording_audit_marks and writes the row, and the
 * requests after it (a player's Range requests, reloads, a client asking
 * again and again) find the mark and write nothing.  A live mark is
 * looked up first, by a plain read, so those requests lock no row and
 * need no transaction id, WAL record or commit flush.  The mark is
 * still taken by INSERT ... ON CONFLICT ... WHERE until <= now() in the
 * same statement as the row: when parallel requests on any two API
 * hosts all find no live mark, it lets one of them write the row.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "model.h"
#include "json.h"

#define LOGS	"project_management.pm_recording_access_logs"
#define MARKS	"project_management.pm_recording_audit_marks"

const struct mr_db_stmt mr_db_audit_stmts[] = {
	/*
	 * $8 the viewer's mark, $9 the window in seconds.  A live mark is
	 * found by a read: no row is locked, nothing is written.
	 */
	{ "audit_once",
	  "WITH m AS (INSERT INTO " MARKS " AS k (recording_id, action, "
	  "viewer, until) SELECT $1::uuid, $4::text, $8::bpchar, now() + "
	  "make_interval(secs => $9::int) WHERE NOT EXISTS (SELECT 1 "
	  "FROM " MARKS " l WHERE l.recording_id = $1::uuid AND "
	  "l.action = $4 AND l.viewer = $8 AND l.until > now()) "
	  "ON CONFLICT (recording_id, action, viewer) DO UPDATE "
	  "SET until = excluded.until WHERE k.until <= now() "
	  "RETURNING recording_id) "
	  "INSERT INTO " LOGS " (recording_id, user_id, user_email, action, "
	  "ip_address, user_agent, share_id, detail) SELECT m.recording_id, "
	  "$2::uuid, $3, $4, $5, $6, $7::uuid, $10::jsonb FROM m RETURNING id",
	  10, MR_DB_ONCE },
	/*
	 * Of the recordings $1 (uuid[] text), those the viewer $3 has no
	 * live mark of for $2: a read, as audit_once's first look.
	 */
	{ "audit_unmarked",
	  "SELECT u.id FROM unnest($1::uuid[]) AS u(id) WHERE NOT EXISTS "
	  "(SELECT 1 FROM " MARKS " l WHERE l.recording_id = u.id AND "
	  "l.action = $2 AND l.viewer = $3 AND l.until > now())",
	  3, MR_DB_RESEND },
	/* Marks that have run out, at most $1 of them. */
	{ "audit_prune",
	  "DELETE FROM " MARKS " k USING (SELECT recording_id, action, viewer "
	  "FROM " MARKS " WHERE until <= now() LIMIT $1::int "
	  "FOR UPDATE SKIP LOCKED) o WHERE k.recording_id = o.recording_id "
	  "AND k.action = o.action AND k.viewer = o.viewer "
	  "AND k.until <= now()", 1, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

/* The user agent as an audit row keeps it; in a, NULL out of memory. */
char *
mr_db_audit_agent(struct mr_arena *a, const char *agent)
{
	return mr_utf8_clip(a, agent != NULL ? agent : "", MR_AUDIT_AGENT_MAX);
}

/*
 * Who is watching, as the mark names them: a signed-in user (or the user
 * a download link was given to) by id; whoever holds a share link by the
 * link, the client address and the user agent as the row keeps it
 * (agent: what mr_db_audit_agent made of au->agent).  The SHA-256 in
 * hex, in a; NULL out of memory.
 */
char *
mr_db_audit_viewer(struct mr_arena *a, const struct mr_audit *au,
    const char *agent)
{
	unsigned char	 h[MR_SHA256_LEN];
	char		*who;

	if (au->user_id != NULL)
		who = mr_printf(a, "user\n%s", au->user_id);
	else
		who = mr_printf(a, "share\n%s\n%s\n%s", au->share_id ?
		    au->share_id : "", au->ip ? au->ip : "", agent);
	if (who == NULL || mr_sha256(who, strlen(who), h) == -1)
		return NULL;
	return mr_hex(a, h, sizeof(h));
}

/* The seven values of a row, the user agent cut; -1 out of memory. */
static int
row_params(struct mr_arena *a, const struct mr_audit *au, const char **p)
{
	p[0] = au->recording_id;
	p[1] = au->user_id;
	p[2] = au->user_email;
	p[3] = au->action;
	p[4] = au->ip;
	p[5] = mr_db_audit_agent(a, au->agent);
	p[6] = au->share_id;
	return p[5] == NULL ? -1 : 0;
}

/*
 * Write the audit row of a viewing once per window_s seconds: 1 written,
 * 0 when this viewer's viewing of the recording was already audited
 * within the window, -1 with err set.
 */
int
mr_db_audit_once(struct mr_db *db, struct mr_arena *a,
    const struct mr_audit *au, int64_t window_s, struct mr_err *err)
{
	const char	*p[10];
	PGresult	*res;

	p[9] = au->detail;
	if (row_params(a, au, p) == -1 ||
	    (p[7] = mr_db_audit_viewer(a, au, p[5])) == NULL ||
	    (p[8] = mr_printf(a, "%lld", (long long)window_s)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "audit_once", p, err)) == NULL)
		return -1;
	return PQntuples(res) > 0;
}

/*
 * Which of the n recordings ids (uuids) au's viewer has no live mark of
 * for au->action: those a viewing of them all would write rows for.
 * Into *out (in a) and *nout; 0, or -1 with err set.  One read however
 * many ids, so a page of search hits already audited costs one
 * statement.
 */
int
mr_db_audit_unmarked(struct mr_db *db, struct mr_arena *a,
    const struct mr_audit *au, const char *const *ids, size_t n,
    const char ***out, size_t *nout, struct mr_err *err)
{
	const char	*p[3];
	PGresult	*res;
	const char	*agent;
	size_t		 i, got;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	p[0] = mr_db_text_array(a, ids, n);
	p[1] = au->action;
	if (p[0] == NULL ||
	    (agent = mr_db_audit_agent(a, au->agent)) == NULL ||
	    (p[2] = mr_db_audit_viewer(a, au, agent)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "audit_unmarked", p, err)) == NULL)
		return -1;
	got = (size_t)PQntuples(res);
	if (got > 0 && (*out = mr_calloc(a, got, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < got; i++)
		if (((*out)[i] = mr_strdup(a, PQgetvalue(res, (int)i, 0))) ==
		    NULL)
			return mr_err_set(err, 500, "internal",
			    "Out of memory.");
	*nout = got;
	return 0;
}

/* Delete up to limit marks that have run out; how many, or -1. */
int
mr_db_audit_prune(struct mr_db *db, struct mr_arena *a, int64_t limit,
    struct mr_err *err)
{
	const char	*p[1];
	PGresult	*res;

	if ((p[0] = mr_printf(a, "%lld", (long long)limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "audit_prune", p, err)) == NULL)
		return -1;
	return (int)mr_db_affected(res);
}

/*
 * Who changes what from now on, as the audit rows of the changes name
 * them (mr_db_set_actor): a JSON object of whichever of user_id, email,
 * ip and agent are known, each as an audit row keeps it.  In a; NULL out
 * of memory.
 */
char *
mr_db_audit_actor(struct mr_arena *a, const char *user_id,
    const char *email, const char *ip, const char *agent)
{
	struct json_object	*o;
	const char		*v[4];
	static const char *const keys[4] = { "user_id", "email", "ip",
	    "agent" };
	char			*s = NULL;
	size_t			 i;

	v[0] = user_id;
	v[1] = email != NULL ? mr_utf8_clip(a, email, 255) : NULL;
	v[2] = ip != NULL ? mr_utf8_clip(a, ip, 64) : NULL;
	v[3] = agent != NULL ? mr_db_audit_agent(a, agent) : NULL;
	if ((email != NULL && v[1] == NULL) || (ip != NULL && v[2] == NULL) ||
	    (agent != NULL && v[3] == NULL))
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < MR_NELEM(keys); i++)
		if (v[i] != NULL && json_object_object_add(o, keys[i],
		    json_object_new_string(v[i])) != 0)
			goto out;
	s = mr_json_dump(a, o);
out:
	json_object_put(o);
	return s;
}
