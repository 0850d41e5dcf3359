/* SPDX-License-Identifier: ISC */
/*
 * db_metrics.c - the figures GET /metrics reads from PostgreSQL: the
 * recordings by status, and what the reapers (on any host) counted into
 * project_management.meetrec_counters and meetrec_reaper_passes
 * (sql/004_metrics.sql).  Writers add with ON CONFLICT DO UPDATE SET
 * value = value + EXCLUDED.value, one statement each.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "db.h"
#include "metrics.h"

const struct mr_db_stmt mr_db_metrics_stmts[] = {
	{ "metrics_add",
	  "INSERT INTO project_management.meetrec_counters AS c (name, value) "
	  "SELECT * FROM unnest($1::text[], $2::float8[]) "
	  "ON CONFLICT (name) DO UPDATE SET value = c.value + EXCLUDED.value, "
	  "updated_at = now()", 2, MR_DB_ONCE },
	{ "metrics_pass",
	  "INSERT INTO project_management.meetrec_reaper_passes AS p "
	  "(pass, runs, seconds_sum, last_seconds, last_at) "
	  "VALUES ($1, 1, $2::float8, $2::float8, now()) "
	  "ON CONFLICT (pass) DO UPDATE SET runs = p.runs + 1, "
	  "seconds_sum = p.seconds_sum + EXCLUDED.seconds_sum, "
	  "last_seconds = EXCLUDED.last_seconds, last_at = now()",
	  2, MR_DB_ONCE },
	/*
	 * Trashed rows are counted apart, whatever their status: the counts
	 * kept with the rows (sql/010_volume.sql), one row a company.
	 */
	{ "metrics_recordings",
	  "SELECT status, trashed, sum(recordings) AS n "
	  "FROM project_management.meetrec_company_counts GROUP BY 1, 2",
	  0, MR_DB_RESEND },
	{ "metrics_reaper",
	  "SELECT 'counter' AS kind, name, value, 0::bigint AS runs, "
	  "NULL::float8 AS last_at FROM project_management.meetrec_counters "
	  "UNION ALL "
	  "SELECT 'pass', pass, seconds_sum, runs, "
	  "extract(epoch FROM last_at)::float8 "
	  "FROM project_management.meetrec_reaper_passes", 0, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

static const char *const statuses[] = {
	"pending", "recording", "processing", "completed", "failed"
};

/* The reaper's passes, in reaper.c's order, always listed. */
static const char *const passes[] = {
	"upload", "stale", "expire", "purge", "orphans"
};

/* The counters: table name, metric name, help. */
static const struct {
	const char	*row;
	const char	*metric;
	const char	*help;
} counters[] = {
	{ "upload_bytes", "meetrec_upload_bytes_total",
	  "Bytes the reapers uploaded to storage." },
	{ "uploads", "meetrec_uploads_total",
	  "Recordings the reapers uploaded to storage." },
	{ "upload_failures", "meetrec_upload_failures_total",
	  "Upload attempts that failed (each is retried or fails the "
	  "recording)." },
};

int
mr_db_metrics_add(struct mr_db *db, struct mr_arena *a,
    const char *const *names, const double *vals, int n, struct mr_err *err)
{
	struct mr_buf	 nb, vb;
	const char	*p[2];
	int		 rc = -1, bad = 0;

	mr_buf_init(&nb, 4096);
	mr_buf_init(&vb, 4096);
	bad |= mr_buf_adds(&nb, "{");
	bad |= mr_buf_adds(&vb, "{");
	for (int i = 0; i < n; i++) {
		/* Our own names: [a-z_], nothing to quote. */
		bad |= mr_buf_addf(&nb, "%s%s", i ? "," : "", names[i]);
		bad |= mr_buf_addf(&vb, "%s%.17g", i ? "," : "", vals[i]);
	}
	bad |= mr_buf_adds(&nb, "}");
	bad |= mr_buf_adds(&vb, "}");
	if (bad) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	p[0] = nb.data;
	p[1] = vb.data;
	rc = mr_db_change(db, a, "metrics_add", p, err) == -1 ? -1 : 0;
done:
	mr_buf_free(&nb);
	mr_buf_free(&vb);
	return rc;
}

int
mr_db_metrics_pass(struct mr_db *db, struct mr_arena *a, const char *pass,
    double seconds, struct mr_err *err)
{
	const char	*p[2];

	p[0] = pass;
	if ((p[1] = mr_printf(a, "%.6f", seconds)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return mr_db_change(db, a, "metrics_pass", p, err) == -1 ? -1 : 0;
}

static double
dval(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtod(PQgetvalue(res, row, col), NULL);
}

static int
write_recordings(PGresult *res, struct mr_buf *b)
{
	double		 by[MR_NELEM(statuses)] = { 0 }, trashed = 0;
	char		 lab[64];
	const char	*st;
	int		 rc;

	for (int i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 1), "t") == 0) {
			trashed += dval(res, i, 2);
			continue;
		}
		st = PQgetvalue(res, i, 0);
		for (size_t k = 0; k < MR_NELEM(statuses); k++)
			if (strcmp(st, statuses[k]) == 0)
				by[k] += dval(res, i, 2);
	}
	rc = mr_metrics_family(b, "meetrec_recordings", "gauge",
	    "Recordings by status, not counting those in the trash.");
	for (size_t k = 0; k < MR_NELEM(statuses); k++) {
		snprintf(lab, sizeof(lab), "status=\"%s\"", statuses[k]);
		rc |= mr_metrics_sample(b, "meetrec_recordings", lab, by[k]);
	}
	rc |= mr_metrics_family(b, "meetrec_recordings_trashed", "gauge",
	    "Recordings in the trash, waiting to be purged or restored.");
	rc |= mr_metrics_sample(b, "meetrec_recordings_trashed", NULL,
	    trashed);
	return rc;
}

/* Row of res with kind and name, or -1. */
static int
find_row(PGresult *res, const char *kind, const char *name)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), kind) == 0 &&
		    strcmp(PQgetvalue(res, i, 1), name) == 0)
			return i;
	return -1;
}

static int
write_reaper(PGresult *res, struct mr_buf *b)
{
	const char	*dur = "meetrec_reaper_pass_duration_seconds";
	const char	*last = "meetrec_reaper_last_pass_timestamp_seconds";
	char		 lab[64];
	int		 rc = 0, i;

	for (size_t k = 0; k < MR_NELEM(counters); k++) {
		i = find_row(res, "counter", counters[k].row);
		rc |= mr_metrics_family(b, counters[k].metric, "counter",
		    counters[k].help);
		rc |= mr_metrics_sample(b, counters[k].metric, NULL,
		    i == -1 ? 0 : dval(res, i, 2));
	}
	rc |= mr_metrics_family(b, dur, "summary",
	    "Time the reapers spent in each pass.");
	for (size_t k = 0; k < MR_NELEM(passes); k++) {
		i = find_row(res, "pass", passes[k]);
		snprintf(lab, sizeof(lab), "pass=\"%s\"", passes[k]);
		rc |= mr_metrics_sample(b,
		    "meetrec_reaper_pass_duration_seconds_sum", lab,
		    i == -1 ? 0 : dval(res, i, 2));
		rc |= mr_metrics_sample(b,
		    "meetrec_reaper_pass_duration_seconds_count", lab,
		    i == -1 ? 0 : dval(res, i, 3));
	}
	rc |= mr_metrics_family(b, last, "gauge",
	    "When a reaper last finished each pass (Unix time); absent for a "
	    "pass that never ran.");
	for (size_t k = 0; k < MR_NELEM(passes); k++) {
		i = find_row(res, "pass", passes[k]);
		if (i == -1 || PQgetisnull(res, i, 4))
			continue;
		snprintf(lab, sizeof(lab), "pass=\"%s\"", passes[k]);
		rc |= mr_metrics_sample(b, last, lab, dval(res, i, 4));
	}
	return rc;
}

int
mr_db_metrics_write(struct mr_db *db, struct mr_arena *a, struct mr_buf *b,
    struct mr_err *err)
{
	PGresult	*rec, *rp;

	/* Both queries first, so a failure appends nothing. */
	if ((rec = mr_db_exec(db, a, "metrics_recordings", NULL, err)) ==
	    NULL || (rp = mr_db_exec(db, a, "metrics_reaper", NULL, err)) ==
	    NULL)
		return -1;
	if (write_recordings(rec, b) == -1 || write_reaper(rp, b) == -1)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	return 0;
}
