/* SPDX-License-Identifier: ISC */
/*
 * admin_audit.c - meetrec-admin audit verify|head: checking the audit
 * trail's hash chains (sql/011_governance.sql) and printing their heads.
 *
 * verify walks each company's chain in seq order, a page at a time (so
 * memory stays flat however long it is), hashes every row again here,
 * not in SQL, and checks that seq goes up by one, that prev_hash is the
 * row_hash of the row before, that row_hash is the row's hash, and that
 * the chain ends where pm_audit_heads says.  It reports the first row
 * that does not hold, per company.  What it cannot see is a chain
 * rewritten whole, head included, by someone who owns the database:
 * head prints what to write down elsewhere to catch that.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "mr.h"
#include "admin.h"
#include "auditlog.h"
#include "conf.h"
#include "db.h"

#define PAGE		1000	/* rows of a chain read at a time */
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* One company's chain as verify found it. */
struct chain {
	const char	*company;
	int		 has_head;
	int64_t		 head_seq;
	char		 head_hash[MR_AUDITLOG_HASHLEN + 1];
	int64_t		 checked;		/* rows that hold */
	int64_t		 last_seq;		/* of the last row that holds */
	char		 last_hash[MR_AUDITLOG_HASHLEN + 1];
	char		 last_id[MR_UUID_STRLEN + 1];
	/* The first problem; code NULL while the chain holds. */
	const char	*code;
	int64_t		 bad_seq;
	char		 bad_id[MR_UUID_STRLEN + 1];	/* "" for no row */
	char		 message[256];
};

static void
copy(char *dst, size_t len, const char *src)
{
	mr_strlcpy(dst, src != NULL ? src : "", len);
}

static void MR_PRINTF(5, 6)
problem(struct chain *c, const char *code, int64_t seq, const char *id,
    const char *fmt, ...)
{
	va_list	 ap;

	c->code = code;
	c->bad_seq = seq;
	copy(c->bad_id, sizeof(c->bad_id), id);
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
}

/*
 * Check row r, the one after the last that held.  0 when it holds too,
 * 1 when it does not (c says why), -1 if libcrypto fails.
 */
static int
check_row(struct chain *c, const struct mr_auditlog_row *r)
{
	char		 hash[MR_AUDITLOG_HASHLEN + 1];
	const char	*prev = c->last_seq == 0 ? ZERO_HASH : c->last_hash;
	int64_t		 want = c->last_seq + 1;

	if (r->seq > want) {
		if (r->seq == want + 1)
			problem(c, "row_missing", r->seq, r->id, "row missing "
			    "before seq %" PRId64 ": seq %" PRId64 " is gone",
			    r->seq, want);
		else
			problem(c, "row_missing", r->seq, r->id, "rows missing "
			    "before seq %" PRId64 ": seqs %" PRId64 " to %"
			    PRId64 " are gone", r->seq, want, r->seq - 1);
		return 1;
	}
	if (r->seq < want) {
		problem(c, "row_out_of_order", r->seq, r->id, "row out of "
		    "order: seq %" PRId64 " where seq %" PRId64 " should be",
		    r->seq, want);
		return 1;
	}
	if (c->has_head && r->seq > c->head_seq) {
		problem(c, "row_past_head", r->seq, r->id, "row past the head: "
		    "the chain goes on after seq %" PRId64 ", where its head "
		    "says it ends", c->head_seq);
		return 1;
	}
	if (mr_auditlog_hash(r, hash) == -1)
		return -1;
	if (r->row_hash == NULL || strcmp(hash, r->row_hash) != 0) {
		problem(c, "row_changed", r->seq, r->id, "row changed: its "
		    "content no longer matches its hash");
		return 1;
	}
	if (r->f[MR_AUDITLOG_PREV] == NULL ||
	    strcmp(r->f[MR_AUDITLOG_PREV], prev) != 0) {
		if (c->last_seq == 0)
			problem(c, "link_broken", r->seq, r->id, "link broken: "
			    "its prev_hash is not 64 zeros, as the first "
			    "row's must be");
		else
			problem(c, "link_broken", r->seq, r->id, "link broken: "
			    "its prev_hash is not the row_hash of seq %"
			    PRId64 " (row %s): one of the two was rewritten",
			    c->last_seq, c->last_id);
		return 1;
	}
	c->checked++;
	c->last_seq = r->seq;
	copy(c->last_hash, sizeof(c->last_hash), r->row_hash);
	copy(c->last_id, sizeof(c->last_id), r->id);
	return 0;
}

/* Where the chain ends against its head, once every row held. */
static void
check_end(struct chain *c)
{
	if (!c->has_head) {
		if (c->last_seq > 0)
			problem(c, "no_head", c->last_seq, c->last_id, "no "
			    "head: the chain has rows up to seq %" PRId64
			    " but pm_audit_heads has none for the company",
			    c->last_seq);
		return;
	}
	if (c->last_seq < c->head_seq)
		problem(c, "rows_missing_at_end", c->last_seq + 1, NULL,
		    "row%s missing at the end: chain ends at seq %" PRId64
		    " but its head says %" PRId64, c->head_seq - c->last_seq >
		    1 ? "s" : "", c->last_seq, c->head_seq);
	else if (strcmp(c->last_seq == 0 ? ZERO_HASH : c->last_hash,
	    c->head_hash) != 0)
		problem(c, "head_mismatch", c->last_seq, c->last_id, "head "
		    "does not match: its hash is not the row_hash of seq %"
		    PRId64, c->last_seq);
}

/*
 * Walk company's chain into c, in a transaction of its own: 0 walked
 * (c->code says whether it holds), -1 with err set.
 */
static int
verify_chain(struct mr_db *db, struct mr_arena *a, const char *company,
    struct chain *c, struct mr_err *err)
{
	struct mr_auditlog_head	 h;
	struct mr_auditlog_row	*rows;
	int			 n, i, rc;

	memset(c, 0, sizeof(*c));
	c->company = company;
	if (mr_db_auditlog_begin(db, err) == -1)
		return -1;
	if ((rc = mr_db_auditlog_head(db, a, company, &h, err)) == -1)
		goto fail;
	if ((c->has_head = rc) == 1) {
		c->head_seq = h.seq;
		copy(c->head_hash, sizeof(c->head_hash), h.last_hash);
	}
	mr_arena_reset(a);
	do {
		if (mr_db_auditlog_page(db, a, company, c->last_seq, PAGE,
		    &rows, &n, err) == -1)
			goto fail;
		for (i = 0; i < n; i++) {
			if ((rc = check_row(c, &rows[i])) == -1) {
				mr_err_set(err, 500, "internal", "Could not "
				    "compute a hash.");
				goto fail;
			}
			if (rc == 1)
				break;
		}
		mr_arena_reset(a);
	} while (c->code == NULL && n == PAGE);
	if (c->code == NULL)
		check_end(c);
	if (mr_db_commit(db, err) == -1)
		return -1;
	return 0;
fail:
	mr_arena_reset(a);
	mr_db_rollback(db);
	return -1;
}

static struct json_object *
chain_json(const struct chain *c)
{
	struct json_object	*o = json_object_new_object();

	mr_admin_json_str(o, "company_id", c->company);
	json_object_object_add(o, "ok", json_object_new_boolean(c->code ==
	    NULL));
	json_object_object_add(o, "rows_checked",
	    json_object_new_int64(c->checked));
	json_object_object_add(o, "head_seq", c->has_head ?
	    json_object_new_int64(c->head_seq) : NULL);
	mr_admin_json_str(o, "head_hash", c->has_head ? c->head_hash : NULL);
	mr_admin_json_str(o, "problem", c->code);
	json_object_object_add(o, "seq", c->code != NULL ?
	    json_object_new_int64(c->bad_seq) : NULL);
	mr_admin_json_str(o, "row_id", c->code != NULL && c->bad_id[0] ?
	    c->bad_id : NULL);
	mr_admin_json_str(o, "message", c->code != NULL ? c->message : NULL);
	return o;
}

static void
chain_print(const struct chain *c)
{
	if (c->code != NULL)
		printf("%s: FAILED at seq %" PRId64 "%s%s%s: %s (%" PRId64
		    " row%s before it)\n", c->company, c->bad_seq,
		    c->bad_id[0] ? " (row " : "", c->bad_id,
		    c->bad_id[0] ? ")" : "", c->message, c->checked,
		    c->checked == 1 ? " holds" : "s hold");
	else if (!c->has_head)
		printf("%s: ok, no rows and no head\n", c->company);
	else
		printf("%s: ok, %" PRId64 " row%s checked, head seq %" PRId64
		    " hash %s\n", c->company, c->checked, c->checked == 1 ?
		    "" : "s", c->head_seq, c->head_hash);
}

/*
 * audit verify [--company UUID] [--json]: every company's chain (or
 * company's), one line each; 0 when all hold, 1 when one does not or
 * the database fails.
 */
static int
audit_verify(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_arena		*a, *ca;
	struct mr_db		*db;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *out;
	struct chain		 c;
	const char		*next;
	char			 company[MR_UUID_STRLEN + 1];
	int64_t			 chains = 0, failed = 0;
	int			 rc = 0, more;

	if (mr_admin_opts(argc, argv, "cj", &o) != argc)
		mr_admin_usage();
	if ((a = mr_arena_new(16 * 1024 * 1024)) == NULL ||
	    (ca = mr_arena_new(64 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	if (o.json)
		arr = json_object_new_array();
	mr_err_clear(&err);
	if (o.company != NULL) {
		copy(company, sizeof(company), o.company);
		more = 1;
	} else if ((more = mr_db_auditlog_next_company(db, ca, NULL, &next,
	    &err)) == 1)
		copy(company, sizeof(company), next);
	while (more == 1) {
		mr_arena_reset(ca);
		if (verify_chain(db, a, company, &c, &err) == -1) {
			more = -1;
			break;
		}
		chains++;
		if (c.code != NULL)
			failed++;
		if (arr != NULL)
			json_object_array_add(arr, chain_json(&c));
		else
			chain_print(&c);
		fflush(stdout);
		if (o.company != NULL)
			break;
		if ((more = mr_db_auditlog_next_company(db, ca, company, &next,
		    &err)) == 1)
			copy(company, sizeof(company), next);
	}
	if (more == -1)
		rc = mr_admin_fail("audit verify", &err);
	else if (failed > 0)
		rc = 1;
	if (arr != NULL && more != -1) {
		out = json_object_new_object();
		json_object_object_add(out, "ok", json_object_new_boolean(rc ==
		    0));
		json_object_object_add(out, "chains_checked",
		    json_object_new_int64(chains));
		json_object_object_add(out, "chains_failed",
		    json_object_new_int64(failed));
		json_object_object_add(out, "chains", arr);
		mr_admin_print_json(out);
	} else if (arr != NULL)
		json_object_put(arr);
	else if (more != -1)
		printf("%" PRId64 " chain%s checked, %" PRId64 " failed\n",
		    chains, chains == 1 ? "" : "s", failed);
	mr_db_free(db);
	mr_arena_free(ca);
	mr_arena_free(a);
	return rc;
}

static struct json_object *
head_json(const struct mr_auditlog_head *h)
{
	struct json_object	*o = json_object_new_object();

	mr_admin_json_str(o, "company_id", h->company_id);
	json_object_object_add(o, "seq", json_object_new_int64(h->seq));
	mr_admin_json_str(o, "last_hash", h->last_hash);
	mr_admin_json_str(o, "last_at", h->last_at);
	return o;
}

/*
 * audit head [--company UUID] [--json]: each company's head, one a
 * line: company, seq, last hash and when the last row was written
 * (ISO 8601 UTC), separated by tabs.  A company without a head has an
 * empty chain: seq 0, 64 zeros.
 */
static int
audit_head(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_auditlog_head	*heads, none;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *out;
	char			 after[MR_UUID_STRLEN + 1] = "";
	int			 n, i, rc = 0;

	if (mr_admin_opts(argc, argv, "cj", &o) != argc)
		mr_admin_usage();
	if ((a = mr_arena_new(16 * 1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	if (o.json)
		arr = json_object_new_array();
	for (;;) {
		mr_err_clear(&err);
		if (mr_db_auditlog_heads(db, a, o.company, after[0] ? after :
		    NULL, MR_ADMIN_PAGE, &heads, &n, &err) == -1) {
			rc = mr_admin_fail("audit head", &err);
			break;
		}
		if (n == 0 && o.company != NULL) {
			memset(&none, 0, sizeof(none));
			none.company_id = o.company;
			none.last_hash = ZERO_HASH;
			heads = &none;
			n = 1;
		}
		for (i = 0; i < n; i++) {
			if (arr != NULL)
				json_object_array_add(arr,
				    head_json(&heads[i]));
			else
				printf("%s\t%" PRId64 "\t%s\t%s\n",
				    heads[i].company_id, heads[i].seq,
				    heads[i].last_hash, heads[i].last_at ?
				    heads[i].last_at : "-");
		}
		if (n > 0)
			copy(after, sizeof(after), heads[n - 1].company_id);
		mr_arena_reset(a);
		if (n < MR_ADMIN_PAGE)
			break;
	}
	if (arr != NULL && rc == 0) {
		out = json_object_new_object();
		json_object_object_add(out, "heads", arr);
		mr_admin_print_json(out);
	} else if (arr != NULL)
		json_object_put(arr);
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

int
mr_admin_audit_cmd(struct mr_conf *conf, int argc, char *argv[])
{
	if (argc < 2)
		mr_admin_usage();
	if (strcmp(argv[1], "verify") == 0)
		return audit_verify(conf, argc - 1, argv + 1);
	if (strcmp(argv[1], "head") == 0)
		return audit_head(conf, argc - 1, argv + 1);
	mr_admin_usage();
}
