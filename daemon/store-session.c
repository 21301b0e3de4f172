/*
 * The store's part for the portal's sign-in state: browser sessions and
 * API tokens (sql/002_portal.sql), each kept as the SHA-256 of its
 * secret only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_SESSION_CREATE[] =
    "INSERT INTO sessions (id_hash, user_name, remote_addr, created_at, "
    "last_seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5)";
static const char SQL_SESSION_GET[] =
    "SELECT user_name, remote_addr, created_at, last_seen_at, expires_at, "
    "revoked_at FROM sessions WHERE id_hash = ?1";
static const char SQL_SESSION_TOUCH[] =
    "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1 AND "
    "last_seen_at < ?2";
static const char SQL_SESSION_REVOKE[] =
    "UPDATE sessions SET revoked_at = coalesce(revoked_at, ?2) "
    "WHERE id_hash = ?1";
static const char SQL_SESSION_PURGE[] =
    "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1";
static const char SQL_SESSION_PURGE_IDLE[] =
    "DELETE FROM sessions WHERE last_seen_at < ?1";

static const char SQL_TOKEN_CREATE[] =
    "INSERT INTO api_tokens (token_hash, user_name, label, created_by, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TOKEN_FIND[] =
    "SELECT id, user_name FROM api_tokens WHERE token_hash = ?1 AND "
    "revoked_at IS NULL";
static const char SQL_TOKEN_USED[] =
    "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 AND "
    "(last_used_at IS NULL OR last_used_at < ?2 - 60000)";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND "
    "revoked_at IS NULL";
static const char SQL_TOKEN_LIST[] =
    "SELECT id, user_name, label, created_by, created_at, last_used_at, "
    "revoked_at FROM api_tokens ORDER BY id";

int
store_session_create(struct store *s, const unsigned char *hash,
    const char *user, const char *remote_addr, int64_t now, int64_t expires_at,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_SESSION_CREATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_blob(stmt, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	store_bind_text(stmt, 2, user);
	store_bind_text(stmt, 3, remote_addr);
	sqlite3_bind_int64(stmt, 4, now);
	sqlite3_bind_int64(stmt, 5, expires_at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record a session of %s",
		    user);
	store_stmt_done(stmt);
	return (rc);
}

int
store_session_get(struct store *s, const unsigned char *hash,
    struct store_session **sessp, char **cause)
{
	struct store_session *sess;
	sqlite3_stmt	     *stmt;
	int		      rc;

	*sessp = NULL;
	if ((stmt = store_stmt(s, SQL_SESSION_GET, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_blob(stmt, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sess = xcalloc(1, sizeof *sess);
		sess->user = store_column_text(stmt, 0);
		sess->remote_addr = store_column_text(stmt, 1);
		sess->created_at = sqlite3_column_int64(stmt, 2);
		sess->last_seen_at = sqlite3_column_int64(stmt, 3);
		sess->expires_at = sqlite3_column_int64(stmt, 4);
		sess->revoked_at = store_column_int64(stmt, 5);
		*sessp = sess;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND, "no such session");
	else
		rc = store_fail(s, cause, "cannot read a session");
	store_stmt_done(stmt);
	return (rc);
}

void
store_session_free(struct store_session *sess)
{
	if (sess == NULL)
		return;
	free(sess->user);
	free(sess->remote_addr);
	free(sess);
}

/* An UPDATE of one session row by hash and a time. */
static int
store_session_update(struct store *s, const char *sql,
    const unsigned char *hash, int64_t at, int must_change, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_blob(stmt, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot update a session");
	else if (must_change && sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ENOTFOUND, "no such session");
	store_stmt_done(stmt);
	return (rc);
}

int
store_session_touch(struct store *s, const unsigned char *hash, int64_t at,
    char **cause)
{
	return (store_session_update(s, SQL_SESSION_TOUCH, hash, at, 0, cause));
}

int
store_session_revoke(struct store *s, const unsigned char *hash, int64_t at,
    char **cause)
{
	return (
	    store_session_update(s, SQL_SESSION_REVOKE, hash, at, 1, cause));
}

int
store_session_purge(struct store *s, int64_t before, int *np, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if (np != NULL)
		*np = 0;
	if ((stmt = store_stmt(s, SQL_SESSION_PURGE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, before);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot delete old sessions");
	else if (np != NULL)
		*np = sqlite3_changes(s->db);
	store_stmt_done(stmt);
	return (rc);
}

int
store_session_purge_idle(struct store *s, int64_t seen_before, int *np,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if (np != NULL)
		*np = 0;
	if ((stmt = store_stmt(s, SQL_SESSION_PURGE_IDLE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, seen_before);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot delete idle sessions");
	else if (np != NULL)
		*np = sqlite3_changes(s->db);
	store_stmt_done(stmt);
	return (rc);
}

int
store_token_create(struct store *s, const unsigned char *hash, const char *user,
    const char *label, const char *created_by, int64_t now, int64_t *idp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*idp = 0;
	if ((stmt = store_stmt(s, SQL_TOKEN_CREATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_blob(stmt, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	store_bind_text(stmt, 2, user);
	store_bind_text(stmt, 3, label != NULL ? label : "");
	store_bind_text(stmt, 4, created_by);
	sqlite3_bind_int64(stmt, 5, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record a token of %s", user);
	else
		*idp = sqlite3_last_insert_rowid(s->db);
	store_stmt_done(stmt);
	return (rc);
}

int
store_token_use(struct store *s, const unsigned char *hash, int64_t now,
    char **userp, int64_t *idp, char **cause)
{
	sqlite3_stmt *stmt;
	int64_t	      id = 0;
	int	      rc;

	*userp = NULL;
	if (idp != NULL)
		*idp = 0;
	if ((stmt = store_stmt(s, SQL_TOKEN_FIND, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_blob(stmt, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		*userp = store_column_text(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND, "no such token");
	else
		rc = store_fail(s, cause, "cannot read a token");
	store_stmt_done(stmt);
	if (rc != 0)
		return (rc);
	if (idp != NULL)
		*idp = id;
	/* Noting the use is best effort (at most once a minute). */
	if ((stmt = store_stmt(s, SQL_TOKEN_USED, NULL)) != NULL) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, now);
		(void)sqlite3_step(stmt);
		store_stmt_done(stmt);
	}
	return (0);
}

int
store_token_revoke(struct store *s, int64_t id, int64_t now, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_TOKEN_REVOKE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot revoke token %lld",
		    (long long)id);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no token %lld (or "
		    "already revoked)",
		    (long long)id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_token_list(struct store *s, struct store_tokens **listp, char **cause)
{
	struct store_tokens *list;
	struct store_token  *t;
	sqlite3_stmt	    *stmt;
	int		     rc;

	*listp = NULL;
	if ((stmt = store_stmt(s, SQL_TOKEN_LIST, cause)) == NULL)
		return (STORE_EIO);
	list = xcalloc(1, sizeof *list);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list->items = xreallocarray(list->items, list->n + 1,
		    sizeof *list->items);
		t = &list->items[list->n++];
		memset(t, 0, sizeof *t);
		t->id = sqlite3_column_int64(stmt, 0);
		t->user = store_column_text(stmt, 1);
		t->label = store_column_text(stmt, 2);
		t->created_by = store_column_text(stmt, 3);
		t->created_at = sqlite3_column_int64(stmt, 4);
		t->last_used_at = store_column_int64(stmt, 5);
		t->revoked_at = store_column_int64(stmt, 6);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list tokens");
		store_tokens_free(list);
	} else {
		rc = 0;
		*listp = list;
	}
	store_stmt_done(stmt);
	return (rc);
}

void
store_tokens_free(struct store_tokens *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->items[i].user);
		free(list->items[i].label);
		free(list->items[i].created_by);
	}
	free(list->items);
	free(list);
}

/* --- Ending sign-ins ---------------------------------------------------- */

static const char SQL_SESSION_REVOKE_USER[] =
    "UPDATE sessions SET revoked_at = ?2 WHERE user_name = ?1 AND "
    "revoked_at IS NULL";
static const char SQL_TOKEN_REVOKE_USER[] =
    "UPDATE api_tokens SET revoked_at = ?2 WHERE user_name = ?1 AND "
    "revoked_at IS NULL";
static const char SQL_SESSION_LIST[] =
    "SELECT substr(hex(id_hash), 1, 16), user_name, remote_addr, "
    "created_at, last_seen_at, expires_at FROM sessions "
    "WHERE revoked_at IS NULL AND expires_at > ?1 AND "
    "(?2 IS NULL OR user_name = ?2) ORDER BY created_at DESC";
static const char SQL_SESSION_FIND_ID[] =
    "SELECT id_hash, user_name FROM sessions WHERE "
    "substr(hex(id_hash), 1, 16) = upper(?1) AND revoked_at IS NULL "
    "AND expires_at > ?2";

static int
store_revoke_user(struct store *s, const char *sql, const char *what,
    const char *user, int64_t at, int *np, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if (np != NULL)
		*np = 0;
	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, user);
	sqlite3_bind_int64(stmt, 2, at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot revoke the %s of %s", what,
		    user);
	else if (np != NULL)
		*np = sqlite3_changes(s->db);
	store_stmt_done(stmt);
	return (rc);
}

int
store_session_revoke_user(struct store *s, const char *user, int64_t at,
    int *np, char **cause)
{
	return (store_revoke_user(s, SQL_SESSION_REVOKE_USER, "sessions", user,
	    at, np, cause));
}

int
store_token_revoke_user(struct store *s, const char *user, int64_t at, int *np,
    char **cause)
{
	return (store_revoke_user(s, SQL_TOKEN_REVOKE_USER, "tokens", user, at,
	    np, cause));
}

int
store_session_list(struct store *s, const char *user, int64_t now,
    struct store_sessions **listp, char **cause)
{
	struct store_sessions	 *list;
	struct store_session_row *r;
	sqlite3_stmt		 *stmt;
	const char		 *id;
	int			  rc;

	*listp = NULL;
	if ((stmt = store_stmt(s, SQL_SESSION_LIST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, now);
	store_bind_text(stmt, 2, user);
	list = xcalloc(1, sizeof *list);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list->items = xreallocarray(list->items, list->n + 1,
		    sizeof *list->items);
		r = &list->items[list->n++];
		memset(r, 0, sizeof *r);
		id = (const char *)sqlite3_column_text(stmt, 0);
		snprintf(r->id, sizeof r->id, "%s", id != NULL ? id : "");
		r->user = store_column_text(stmt, 1);
		r->remote_addr = store_column_text(stmt, 2);
		r->created_at = sqlite3_column_int64(stmt, 3);
		r->last_seen_at = sqlite3_column_int64(stmt, 4);
		r->expires_at = sqlite3_column_int64(stmt, 5);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list sessions");
		store_sessions_free(list);
	} else {
		rc = 0;
		*listp = list;
	}
	store_stmt_done(stmt);
	return (rc);
}

void
store_sessions_free(struct store_sessions *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++) {
		free(list->items[i].user);
		free(list->items[i].remote_addr);
	}
	free(list->items);
	free(list);
}

int
store_session_revoke_id(struct store *s, const char *id, int64_t at,
    char **userp, char **cause)
{
	sqlite3_stmt *stmt;
	unsigned char hash[STORE_HASH_LEN];
	int	      rc, n = 0;

	*userp = NULL;
	if (strlen(id) != STORE_SESSION_ID_LEN ||
	    strspn(id, "0123456789abcdefABCDEF") != STORE_SESSION_ID_LEN)
		return (store_error(cause, STORE_ENOTFOUND,
		    "no session %s "
		    "(a session id is %d hex digits)",
		    id, STORE_SESSION_ID_LEN));
	if ((stmt = store_stmt(s, SQL_SESSION_FIND_ID, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, at);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n++ == 0 &&
		    sqlite3_column_bytes(stmt, 0) == STORE_HASH_LEN) {
			memcpy(hash, sqlite3_column_blob(stmt, 0),
			    STORE_HASH_LEN);
			*userp = store_column_text(stmt, 1);
		}
	}
	if (rc != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot find session %s", id);
	else if (n != 1 || *userp == NULL)
		rc = store_error(cause, STORE_ENOTFOUND,
		    n == 0 ? "no live "
			     "session %s" :
			     "session id %s is ambiguous",
		    id);
	else
		rc = 0;
	store_stmt_done(stmt);
	if (rc == 0)
		rc = store_session_revoke(s, hash, at, cause);
	if (rc != 0) {
		free(*userp);
		*userp = NULL;
	}
	explicit_bzero(hash, sizeof hash);
	return (rc);
}

/* --- Metrics -------------------------------------------------------------- */

static const char SQL_METRICS_RUNS[] =
    "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status";
static const char SQL_METRICS_STAGES[] =
    "SELECT environment, status, count(*), "
    "sum(finished_at - started_at) FROM stages "
    "WHERE finished_at IS NOT NULL AND started_at IS NOT NULL "
    "GROUP BY environment, status ORDER BY environment, status";
static const char SQL_METRICS_APPROVALS[] =
    "SELECT st.environment, a.decision || CASE WHEN a.gate THEN '_gate' "
    "ELSE '' END, count(*), sum(max(a.decided_at - CASE WHEN a.gate THEN "
    "coalesce(st.executed_at, st.started_at) ELSE st.started_at END, 0)) "
    "FROM approvals a JOIN stages st ON st.id = a.stage_id "
    "WHERE st.started_at IS NOT NULL "
    "GROUP BY 1, 2 ORDER BY 1, 2";

static int
store_metric_sums(struct store *s, const char *sql,
    struct store_metric_sum **vp, size_t *np, char **cause)
{
	sqlite3_stmt		*stmt;
	struct store_metric_sum *m;
	int			 rc;

	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*vp = xreallocarray(*vp, *np + 1, sizeof **vp);
		m = &(*vp)[(*np)++];
		m->environment = store_column_text(stmt, 0);
		m->label = store_column_text(stmt, 1);
		m->count = sqlite3_column_int64(stmt, 2);
		m->sum_ms = sqlite3_column_int64(stmt, 3);
	}
	rc = rc == SQLITE_DONE ? 0 :
				 store_fail(s, cause,
				     "cannot read "
				     "metrics");
	store_stmt_done(stmt);
	return (rc);
}

int
store_metrics(struct store *s, struct store_metrics **mp, char **cause)
{
	struct store_metrics *m;
	sqlite3_stmt	     *stmt;
	int		      rc;

	*mp = NULL;
	m = xcalloc(1, sizeof *m);
	if ((stmt = store_stmt(s, SQL_METRICS_RUNS, cause)) == NULL) {
		rc = STORE_EIO;
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		m->runs = xreallocarray(m->runs, m->nruns + 1, sizeof *m->runs);
		m->runs[m->nruns].label = store_column_text(stmt, 0);
		m->runs[m->nruns++].n = sqlite3_column_int64(stmt, 1);
	}
	rc = rc == SQLITE_DONE ? 0 :
				 store_fail(s, cause,
				     "cannot read "
				     "metrics");
	store_stmt_done(stmt);
	if (rc != 0 ||
	    (rc = store_metric_sums(s, SQL_METRICS_STAGES, &m->stages,
		 &m->nstages, cause)) != 0 ||
	    (rc = store_metric_sums(s, SQL_METRICS_APPROVALS, &m->approvals,
		 &m->napprovals, cause)) != 0)
		goto out;
out:
	if (rc != 0)
		store_metrics_free(m);
	else
		*mp = m;
	return (rc);
}

static void
store_metric_sums_free(struct store_metric_sum *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].environment);
		free(v[i].label);
	}
	free(v);
}

void
store_metrics_free(struct store_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nruns; i++)
		free(m->runs[i].label);
	free(m->runs);
	store_metric_sums_free(m->stages, m->nstages);
	store_metric_sums_free(m->approvals, m->napprovals);
	free(m);
}
