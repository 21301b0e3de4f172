/*
 * What the store*.c files share and nobody else sees: the connection,
 * the statement cache and small helpers around sqlite3.  Only store*.c
 * include this header (and so sqlite3.h).
 *
 * Adding a query: write its SQL as a file-level `static const char
 * SQL_NAME[]` in the store*.c that owns the tables, and get it with
 * store_stmt(s, SQL_NAME): the statement is prepared once, on first use,
 * cached by the address of its text, and comes back reset with no
 * bindings.  Finish with sqlite3_reset (store_stmt_done) so no read
 * stays open.
 */
#ifndef SHIPGATE_STORE_INT_H
#define SHIPGATE_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "store.h"

struct store_cached_stmt {
	const char   *sql; /* the key: the address of the text */
	sqlite3_stmt *stmt;
};

#define STORE_RUNS_FILTERS 8 /* bits of a runs page's filter mask */

struct store {
	sqlite3 *db;
	char	*path;
	int	 version; /* schema version */
	int	 in_txn;  /* store_begin was called */
	int	 in_read; /* ... store_read_begin */

	struct store_cached_stmt *stmts;
	size_t			  nstmts;
	size_t			  stmts_cap;

	/* SQL text of each runs page variant, built on first use. */
	char *runs_sql[1 << STORE_RUNS_FILTERS];

	int64_t (*now_cb)(void *);
	void *now_arg;

	int	 wal_fd;	 /* for store_sync, or -1 */
	int64_t	 synced_changes; /* total_changes at the last
						   sync */
	uint64_t syncs;		 /* fdatasyncs made */
};

/* The cached, reset statement for sql; NULL with *cause set on error. */
sqlite3_stmt *store_stmt(struct store *, const char *sql, char **cause);
void	      store_stmt_done(sqlite3_stmt *);

/* Sets *cause (if cause is not NULL) to "what: SQLite's message" and
 * returns the STORE_E* code for SQLite's last error on s->db. */
int store_fail(struct store *, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets *cause to the formatted text and returns error. */
int store_error(char **cause, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A write of several statements made atomic: inside the caller's
 * transaction a savepoint, otherwise a transaction of its own. */
int store_op_begin(struct store *, char **cause);
int store_op_end(struct store *, int ok, char **cause);

/* Binding and reading with NULL for absent values (NULL text, 0 ids). */
int	store_bind_text(sqlite3_stmt *, int, const char *);
int	store_bind_id(sqlite3_stmt *, int, int64_t);
int	store_bind_named_text(sqlite3_stmt *, const char *, const char *);
int	store_bind_named_int64(sqlite3_stmt *, const char *, int64_t);
char   *store_column_text(sqlite3_stmt *, int);
int64_t store_column_int64(sqlite3_stmt *, int);

/* The SQL of a runs page with the filters in mask (bits in the order of
 * struct store_runs_filter's fields); exposed for the test that checks
 * every variant's query plan. */
const char *store_runs_sql(struct store *, unsigned int mask);

/* Name <-> enum value for the status columns; 0 for an unknown name. */
int store_name_lookup(const char *const *, int, const char *);

#endif
