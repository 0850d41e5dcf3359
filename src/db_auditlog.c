/* SPDX-License-Identifier: ISC */
/*
 * db_auditlog.c - reading the audit trail's hash chains
 * (pm_recording_access_logs, pm_audit_heads; sql/011_governance.sql) and
 * hashing a row as meetrec_audit_hash does, for meetrec-admin audit.
 * Writing rows is db_audit.c's (and the triggers'); nothing here
 * changes the database.  A chain is read page by page in seq order, in
 * one REPEATABLE READ transaction per company, so the head and the rows
 * come from one snapshot: a writer's row and its head's new seq commit
 * together, and the reader sees both or neither.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "mr.h"
#include "db.h"
#include "auditlog.h"

#define LOGS	"project_management.pm_recording_access_logs"
#define HEADS	"project_management.pm_audit_heads"
#define UTC(c)	"to_char(" c " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The first line of the hashed content: its version. */
#define VERSION_LINE	"meetrec-audit-1\n"

/*
 * The columns of a page, in the order of enum mr_auditlog_field after id
 * (column 0), then row_hash.  Each as the text meetrec_audit_hash hashes:
 * uuids as PostgreSQL's text, jsonb as its text, bpchar without the
 * padding a text cast removes.
 */
#define PAGE_COLUMNS \
	"l.id::text, l.seq::text, l.company_id::text, " \
	"l.recording_id::text, l.user_id::text, l.user_email::text, " \
	"l.action::text, l.ip_address::text, l.user_agent, " \
	"l.share_id::text, " UTC("l.accessed_at") ", l.detail::text, " \
	"l.prev_hash::text, l.row_hash::text"
#define PAGE_NCOLUMNS	(1 + MR_AUDITLOG_NFIELDS + 1)

const struct mr_db_stmt mr_db_auditlog_stmts[] = {
	/*
	 * The first company that has a chain, rows or a head; then the one
	 * after company $1.  Each a walk down an index to its first entry,
	 * however many rows a company has.
	 */
	{ "auditlog_first_company",
	  "SELECT least((SELECT company_id FROM " LOGS " "
	  "ORDER BY company_id LIMIT 1), (SELECT company_id FROM " HEADS " "
	  "ORDER BY company_id LIMIT 1)) AS company_id", 0, MR_DB_RESEND },
	{ "auditlog_next_company",
	  "SELECT least((SELECT company_id FROM " LOGS " "
	  "WHERE company_id > $1::uuid ORDER BY company_id LIMIT 1), "
	  "(SELECT company_id FROM " HEADS " WHERE company_id > $1::uuid "
	  "ORDER BY company_id LIMIT 1)) AS company_id", 1, MR_DB_RESEND },
	{ "auditlog_head",
	  "SELECT h.company_id, h.seq, h.last_hash::text AS last_hash, "
	  UTC("l.accessed_at") " AS last_at FROM " HEADS " h "
	  "LEFT JOIN " LOGS " l ON l.company_id = h.company_id "
	  "AND l.seq = h.seq WHERE h.company_id = $1::uuid", 1, MR_DB_RESEND },
	/* $1 company or NULL, $2 the last company of the page before. */
	{ "auditlog_heads",
	  "SELECT h.company_id, h.seq, h.last_hash::text AS last_hash, "
	  UTC("l.accessed_at") " AS last_at FROM " HEADS " h "
	  "LEFT JOIN " LOGS " l ON l.company_id = h.company_id "
	  "AND l.seq = h.seq WHERE ($1::uuid IS NULL OR "
	  "h.company_id = $1::uuid) AND ($2::uuid IS NULL OR "
	  "h.company_id > $2::uuid) ORDER BY h.company_id LIMIT $3::int",
	  3, MR_DB_RESEND },
	/*
	 * Keyset on (company_id, seq): the chain's unique index.  By l.seq,
	 * the bigint: a bare "seq" would be the text column of the output.
	 */
	{ "auditlog_page",
	  "SELECT " PAGE_COLUMNS " FROM " LOGS " l "
	  "WHERE l.company_id = $1::uuid AND l.seq > $2::bigint "
	  "ORDER BY l.seq LIMIT $3::int", 3, MR_DB_RESEND },
	{ NULL, NULL, 0, MR_DB_ONCE }
};

/* Field (row, col) in res's memory (the arena's), NULL for SQL NULL. */
static const char *
value(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

/*
 * Begin the transaction a chain is read in: REPEATABLE READ, so every
 * page and the head come from one snapshot; READ ONLY; and the text in
 * UTF-8 whatever the session's client_encoding, since the hash covers
 * the UTF-8 bytes.  End it with mr_db_commit() or mr_db_rollback().
 * 0, or -1 with err set (nothing left open).
 */
int
mr_db_auditlog_begin(struct mr_db *db, struct mr_err *err)
{
	if (mr_db_begin(db, err) == -1)
		return -1;
	if (mr_db_simple(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE "
	    "READ, READ ONLY", err) == -1 ||
	    mr_db_simple(db, "SET LOCAL client_encoding TO 'UTF8'",
	    err) == -1) {
		mr_db_rollback(db);
		return -1;
	}
	return 0;
}

/*
 * The first company with an audit chain (after NULL), or the next one
 * after company after: 1 with *company set (in a), 0 when there is none,
 * -1 with err set.
 */
int
mr_db_auditlog_next_company(struct mr_db *db, struct mr_arena *a,
    const char *after, const char **company, struct mr_err *err)
{
	const char	*p[] = { after };
	PGresult	*res;

	res = mr_db_exec(db, a, after == NULL ? "auditlog_first_company" :
	    "auditlog_next_company", p, err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1 || (*company = value(res, 0, 0)) == NULL)
		return 0;
	return 1;
}

static void
head_fill(PGresult *res, int i, struct mr_auditlog_head *h)
{
	h->company_id = value(res, i, PQfnumber(res, "company_id"));
	h->seq = mr_db_int(res, i, "seq", 0);
	h->last_hash = value(res, i, PQfnumber(res, "last_hash"));
	h->last_at = value(res, i, PQfnumber(res, "last_at"));
}

/*
 * Company's head: 1 with *h filled (strings in a), 0 when the company
 * has none, -1 with err set.
 */
int
mr_db_auditlog_head(struct mr_db *db, struct mr_arena *a,
    const char *company, struct mr_auditlog_head *h, struct mr_err *err)
{
	const char	*p[] = { company };
	PGresult	*res;

	if ((res = mr_db_exec(db, a, "auditlog_head", p, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	head_fill(res, 0, h);
	return 1;
}

/*
 * A page of heads by company: at most limit of them, company's alone
 * (NULL: every company's), after company after (NULL: from the first).
 * 1 with *out (n of them, in a), or -1 with err set.
 */
int
mr_db_auditlog_heads(struct mr_db *db, struct mr_arena *a,
    const char *company, const char *after, int64_t limit,
    struct mr_auditlog_head **out, int *n, struct mr_err *err)
{
	const char	*p[3];
	PGresult	*res;
	int		 i;

	p[0] = company;
	p[1] = after;
	if ((p[2] = mr_printf(a, "%lld", (long long)limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "auditlog_heads", p, err)) == NULL)
		return -1;
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++)
		head_fill(res, i, &(*out)[i]);
	return 1;
}

/*
 * A page of company's chain in seq order: at most limit rows after seq
 * after_seq.  The strings point into the result, which a owns: they
 * live until a is reset, and a page takes no more memory than its rows.
 * 1 with *out (n of them), or -1 with err set.
 */
int
mr_db_auditlog_page(struct mr_db *db, struct mr_arena *a,
    const char *company, int64_t after_seq, int64_t limit,
    struct mr_auditlog_row **out, int *n, struct mr_err *err)
{
	struct mr_auditlog_row	*r;
	const char		*p[3];
	PGresult		*res;
	int			 i, k;

	p[0] = company;
	if ((p[1] = mr_printf(a, "%lld", (long long)after_seq)) == NULL ||
	    (p[2] = mr_printf(a, "%lld", (long long)limit)) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	if ((res = mr_db_exec(db, a, "auditlog_page", p, err)) == NULL)
		return -1;
	if (PQnfields(res) != PAGE_NCOLUMNS) {
		mr_err_cause(err, "auditlog_page: %d columns", PQnfields(res));
		return mr_err_set(err, 500, "internal", "Internal error.");
	}
	*n = PQntuples(res);
	if ((*out = mr_calloc(a, (size_t)*n + 1, sizeof(**out))) == NULL)
		return mr_err_set(err, 500, "internal", "Out of memory.");
	for (i = 0; i < *n; i++) {
		r = &(*out)[i];
		r->id = value(res, i, 0);
		for (k = 0; k < MR_AUDITLOG_NFIELDS; k++)
			r->f[k] = value(res, i, 1 + k);
		r->row_hash = value(res, i, PAGE_NCOLUMNS - 1);
		/* NOT NULL columns, but a page is checked, not trusted. */
		if (r->id == NULL || r->f[MR_AUDITLOG_SEQ] == NULL ||
		    mr_parse_int64(r->f[MR_AUDITLOG_SEQ], INT64_MIN,
		    INT64_MAX, &r->seq) == -1) {
			mr_err_cause(err, "auditlog_page: row %d has no seq",
			    i);
			return mr_err_set(err, 500, "internal",
			    "Internal error.");
		}
	}
	return 1;
}

static int
digest(EVP_MD_CTX *ctx, const char *s, size_t len)
{
	return EVP_DigestUpdate(ctx, s, len) == 1 ? 0 : -1;
}

/*
 * The hash of row r as meetrec_audit_hash computes it, in lowercase hex:
 * SHA-256 of the version line, then each field of r->f in order as a
 * netstring of its UTF-8 ("<bytes>:<text>,"), "-" for NULL.  0, or -1
 * if libcrypto fails.
 */
int
mr_auditlog_hash(const struct mr_auditlog_row *r,
    char hex[MR_AUDITLOG_HASHLEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 len[32];
	size_t			 n;
	int			 k, w, rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    digest(ctx, VERSION_LINE, strlen(VERSION_LINE)) == -1)
		goto done;
	for (k = 0; k < MR_AUDITLOG_NFIELDS; k++) {
		if (r->f[k] == NULL) {
			if (digest(ctx, "-", 1) == -1)
				goto done;
			continue;
		}
		n = strlen(r->f[k]);
		w = snprintf(len, sizeof(len), "%zu:", n);
		if (w < 0 || (size_t)w >= sizeof(len) ||
		    digest(ctx, len, (size_t)w) == -1 ||
		    digest(ctx, r->f[k], n) == -1 || digest(ctx, ",", 1) == -1)
			goto done;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen != MR_SHA256_LEN)
		goto done;
	for (n = 0; n < MR_SHA256_LEN; n++) {
		hex[2 * n] = digits[md[n] >> 4];
		hex[2 * n + 1] = digits[md[n] & 0x0f];
	}
	hex[MR_AUDITLOG_HASHLEN] = '\0';
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}
