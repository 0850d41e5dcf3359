/* SPDX-License-Identifier: ISC */
/*
 * test-time.c - timestamps from PostgreSQL to the API's text: the
 * seconds extract(epoch FROM t) sends (mr_db_epoch_us, mr_db_time) and
 * mr_time_iso, which must write what to_char(t AT TIME ZONE 'UTC',
 * 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') wrote before, byte for byte.  Each
 * pair below is what PostgreSQL 15 printed for one timestamp.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "mr.h"
#include "db.h"
#include "tap.h"

static const struct {
	const char	*epoch;		/* extract(epoch FROM t) */
	const char	*iso;		/* to_char(...) */
} pg[] = {
	{ "0.000000", "1970-01-01T00:00:00.000000Z" },
	{ "0.000001", "1970-01-01T00:00:00.000001Z" },
	{ "-0.000001", "1969-12-31T23:59:59.999999Z" },
	{ "-0.500000", "1969-12-31T23:59:59.500000Z" },
	{ "-1.000000", "1969-12-31T23:59:59.000000Z" },
	{ "-2203891200.000001", "1900-02-28T23:59:59.999999Z" },
	{ "-2203891200.000000", "1900-03-01T00:00:00.000000Z" },
	{ "951827696.000001", "2000-02-29T12:34:56.000001Z" },
	{ "4107542400.000000", "2100-03-01T00:00:00.000000Z" },
	{ "1735689599.999999", "2024-12-31T23:59:59.999999Z" },
	{ "1796506809.123456", "2026-12-05T21:40:09.123456Z" },
	{ "2147483648.000000", "2038-01-19T03:14:08.000000Z" },
	{ "253402300799.999999", "9999-12-31T23:59:59.999999Z" },
	{ "253402300800.000000", "10000-01-01T00:00:00.000000Z" },
	{ "-62135596800.000000", "0001-01-01T00:00:00.000000Z" },
	/* 1 BC and 44 BC: to_char writes the year's number alone. */
	{ "-62135596800.750000", "0001-12-31T23:59:59.250000Z" },
	{ "-63517780800.000000", "0044-03-15T12:00:00.000000Z" },
	{ "9223371244799.999999", "294246-12-31T23:59:59.999999Z" },
};

/* A result of one text column "t" holding vals (NULL: SQL NULL). */
static PGresult *
result(const char *const *vals, int n)
{
	PGresAttDesc	 att;
	PGresult	*res;
	int		 i;

	memset(&att, 0, sizeof(att));
	att.name = (char *)(uintptr_t)"t";
	att.typid = 1700;	/* numeric */
	att.typlen = -1;
	att.atttypmod = -1;
	if ((res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL ||
	    !PQsetResultAttrs(res, 1, &att))
		return NULL;
	for (i = 0; i < n; i++)
		if (!PQsetvalue(res, i, 0, (char *)(uintptr_t)vals[i],
		    vals[i] != NULL ? (int)strlen(vals[i]) : -1))
			return NULL;
	return res;
}

static void
test_iso(void)
{
	char	 buf[MR_TIME_ISOLEN];

	is_str(mr_time_iso(buf, 0), "1970-01-01T00:00:00.000000Z", "the epoch");
	is_str(mr_time_iso(buf, -1), "1969-12-31T23:59:59.999999Z",
	    "one microsecond before it");
	is_str(mr_time_iso(buf, 951782400000000LL),
	    "2000-02-29T00:00:00.000000Z", "a leap day");
	is_str(mr_time_iso(buf, INT64_MAX), "294247-01-10T04:00:54.775807Z",
	    "the last microsecond an int64_t holds");
	ok(strlen(buf) + 1 == MR_TIME_ISOLEN, "MR_TIME_ISOLEN holds it");
	/* -290308 astronomical is 290309 BC, written without a sign. */
	is_str(mr_time_iso(buf, INT64_MIN), "290309-12-21T19:59:05.224192Z",
	    "the first");
}

static void
test_pg(void)
{
	struct mr_arena	*a = mr_arena_new(1 << 20);
	const char	*vals[MR_NELEM(pg)];
	PGresult	*res;
	int64_t		 us;
	char		*s;
	size_t		 i;

	for (i = 0; i < MR_NELEM(pg); i++)
		vals[i] = pg[i].epoch;
	if ((res = result(vals, (int)MR_NELEM(pg))) == NULL) {
		ok(0, "could not make a PGresult");
		return;
	}
	for (i = 0; i < MR_NELEM(pg); i++) {
		s = mr_db_time(a, res, (int)i, "t", &us);
		is_str(s, pg[i].iso, pg[i].epoch);
	}
	ok(mr_db_epoch_us(res, 3, "t", &us) == 0 && us == -500000,
	    "-0.5 s is -500000 us");
	ok(mr_db_time(a, res, 0, "other", &us) == NULL && us == 0,
	    "no such column: NULL, 0 us");
	PQclear(res);
	mr_arena_free(a);
}

/* What is not a time: NULL, and us set to 0. */
static void
test_refused(void)
{
	static const char *const bad[] = {
		NULL, "Infinity", "-Infinity", "NaN", "", "-", ".5", "1.",
		"1.1234567", "1e6", " 1.000000", "1.000000 ", "+1.000000",
		"12345678901234.000000", "9223372036855.000000", "0x10",
	};
	struct mr_arena	*a = mr_arena_new(1 << 20);
	PGresult	*res;
	int64_t		 us;
	size_t		 i;

	if ((res = result(bad, (int)MR_NELEM(bad))) == NULL) {
		ok(0, "could not make a PGresult");
		return;
	}
	for (i = 0; i < MR_NELEM(bad); i++) {
		us = 42;
		ok(mr_db_time(a, res, (int)i, "t", &us) == NULL && us == 0,
		    "refused: %s", bad[i] ? bad[i] : "SQL NULL");
	}
	PQclear(res);
	mr_arena_free(a);
}

/* Fewer than six decimals (PostgreSQL 13 sends a double's shortest text). */
static void
test_short(void)
{
	static const char *const v[] = {
		"1796506809.1", "1796506809", "-1.5", "1796506809.12345"
	};
	struct mr_arena	*a = mr_arena_new(1 << 20);
	PGresult	*res;
	int64_t		 us;

	if ((res = result(v, (int)MR_NELEM(v))) == NULL) {
		ok(0, "could not make a PGresult");
		return;
	}
	is_str(mr_db_time(a, res, 0, "t", &us), "2026-12-05T21:40:09.100000Z",
	    "one decimal");
	is_str(mr_db_time(a, res, 1, "t", &us), "2026-12-05T21:40:09.000000Z",
	    "none");
	ok(mr_db_epoch_us(res, 2, "t", &us) == 0 && us == -1500000, "-1.5");
	is_str(mr_db_time(a, res, 3, "t", &us), "2026-12-05T21:40:09.123450Z",
	    "five");
	PQclear(res);
	mr_arena_free(a);
}

int
main(void)
{
	test_iso();
	test_pg();
	test_refused();
	test_short();
	return done_testing();
}
