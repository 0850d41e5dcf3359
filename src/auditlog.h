/* SPDX-License-Identifier: ISC */
/*
 * auditlog.h - reading the audit trail's hash chains (db_auditlog.c) for
 * meetrec-admin audit.  Each company's rows form a chain (seq from 1,
 * prev_hash the row_hash of the row before, row_hash the SHA-256 of the
 * row's content); pm_audit_heads holds each chain's length and last
 * hash (sql/011_governance.sql).  Strings point into memory owned by the
 * arena passed to the function that filled them.
 */
#ifndef MR_AUDITLOG_H
#define MR_AUDITLOG_H

#include <stdint.h>

#include "mr.h"
#include "db.h"

#define MR_AUDITLOG_HASHLEN	(2 * MR_SHA256_LEN)	/* hex digits */

/*
 * The fields a row's hash covers, in their order; each is the text
 * PostgreSQL gives (meetrec_audit_hash), NULL for SQL NULL.
 */
enum mr_auditlog_field {
	MR_AUDITLOG_SEQ,
	MR_AUDITLOG_COMPANY,
	MR_AUDITLOG_RECORDING,
	MR_AUDITLOG_USER,
	MR_AUDITLOG_EMAIL,
	MR_AUDITLOG_ACTION,
	MR_AUDITLOG_IP,
	MR_AUDITLOG_AGENT,
	MR_AUDITLOG_SHARE,
	MR_AUDITLOG_AT,
	MR_AUDITLOG_DETAIL,
	MR_AUDITLOG_PREV,
	MR_AUDITLOG_NFIELDS
};

struct mr_auditlog_row {
	const char	*id;
	int64_t		 seq;
	const char	*f[MR_AUDITLOG_NFIELDS];
	const char	*row_hash;
};

/* A chain's head: seq 0 and 64 zeros for an empty chain. */
struct mr_auditlog_head {
	const char	*company_id;
	int64_t		 seq;
	const char	*last_hash;
	const char	*last_at;	/* its last row's accessed_at, or NULL */
};

/* db_auditlog.c */
int	mr_db_auditlog_begin(struct mr_db *, struct mr_err *);
int	mr_db_auditlog_next_company(struct mr_db *, struct mr_arena *,
	    const char *after, const char **company, struct mr_err *);
int	mr_db_auditlog_head(struct mr_db *, struct mr_arena *,
	    const char *company, struct mr_auditlog_head *, struct mr_err *);
int	mr_db_auditlog_heads(struct mr_db *, struct mr_arena *,
	    const char *company, const char *after, int64_t limit,
	    struct mr_auditlog_head **, int *n, struct mr_err *);
int	mr_db_auditlog_page(struct mr_db *, struct mr_arena *,
	    const char *company, int64_t after_seq, int64_t limit,
	    struct mr_auditlog_row **, int *n, struct mr_err *);
int	mr_auditlog_hash(const struct mr_auditlog_row *,
	    char hex[MR_AUDITLOG_HASHLEN + 1]);

#endif /* MR_AUDITLOG_H */
