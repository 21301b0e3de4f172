/*
 * The store's part for drift detection (sql/013_drift.sql): the engine
 * records where a stage attempt's detection stands and what it found,
 * an operator's acknowledgement; the portal and the run JSON read it.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_DRIFT_START[] =
    "INSERT OR REPLACE INTO stage_drifts (stage_id, attempt, status, "
    "detection_id, started_at) VALUES (?1, ?2, 'detecting', ?3, ?4)";
static const char SQL_DRIFT_DELETE_PROPERTIES[] =
    "DELETE FROM stage_drift_properties WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_DRIFT_DELETE_RESOURCES[] =
    "DELETE FROM stage_drift_resources WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_DRIFT_FINISH[] =
    "INSERT INTO stage_drifts (stage_id, attempt, status, reason, "
    "started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
    "ON CONFLICT (stage_id, attempt) DO UPDATE SET status = ?3, "
    "reason = ?4, finished_at = ?5";
static const char SQL_DRIFT_ADD_RESOURCE[] =
    "INSERT INTO stage_drift_resources (stage_id, attempt, position, "
    "logical_id, physical_id, resource_type, status) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_DRIFT_ADD_PROPERTY[] =
    "INSERT INTO stage_drift_properties (stage_id, attempt, resource, "
    "position, path, expected, actual, difference, masked) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_DRIFT[] =
    "SELECT status, detection_id, started_at, finished_at, reason, "
    "ack_user, ack_comment, ack_at FROM stage_drifts "
    "WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_DRIFT_RESOURCES[] =
    "SELECT position, logical_id, physical_id, resource_type, status "
    "FROM stage_drift_resources WHERE stage_id = ?1 AND attempt = ?2 "
    "ORDER BY position";
static const char SQL_DRIFT_PROPERTIES[] =
    "SELECT resource, path, expected, actual, difference, masked "
    "FROM stage_drift_properties WHERE stage_id = ?1 AND attempt = ?2 "
    "ORDER BY resource, position";
static const char SQL_DRIFT_ACK[] =
    "UPDATE stage_drifts SET ack_user = ?3, ack_comment = ?4, ack_at = ?5 "
    "WHERE stage_id = ?1 AND attempt = ?2 AND status = 'drifted' "
    "AND ack_user IS NULL";

int
store_drift_start(struct store *s, int64_t stage_id, int attempt,
    const char *detection_id, int64_t started_at, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_DRIFT_START, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, detection_id);
	sqlite3_bind_int64(stmt, 4, started_at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the drift detection of stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

/* One statement on (stage, attempt) run to its end. */
static int
store_drift_exec(struct store *s, const char *sql, int64_t stage_id,
    int attempt, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot replace the drift of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

static int
store_drift_add(struct store *s, int64_t stage_id, int attempt, size_t pos,
    const struct store_drift_resource *res, char **cause)
{
	const struct store_drift_property *p;
	sqlite3_stmt			  *stmt;
	size_t				   i;
	int				   rc = 0;

	if ((stmt = store_stmt(s, SQL_DRIFT_ADD_RESOURCE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	sqlite3_bind_int64(stmt, 3, (int64_t)pos);
	store_bind_text(stmt, 4, res->logical_id);
	store_bind_text(stmt, 5, res->physical_id);
	store_bind_text(stmt, 6, res->resource_type);
	store_bind_text(stmt, 7, res->status);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record drifted resource %s",
		    res->logical_id);
	store_stmt_done(stmt);
	for (i = 0; rc == 0 && i < res->nprops; i++) {
		p = &res->props[i];
		if ((stmt = store_stmt(s, SQL_DRIFT_ADD_PROPERTY, cause)) ==
		    NULL)
			return (STORE_EIO);
		sqlite3_bind_int64(stmt, 1, stage_id);
		sqlite3_bind_int(stmt, 2, attempt);
		sqlite3_bind_int64(stmt, 3, (int64_t)pos);
		sqlite3_bind_int64(stmt, 4, (int64_t)i);
		store_bind_text(stmt, 5, p->path);
		store_bind_text(stmt, 6, p->expected);
		store_bind_text(stmt, 7, p->actual);
		store_bind_text(stmt, 8, p->difference);
		sqlite3_bind_int(stmt, 9, p->masked != 0);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = store_fail(s, cause,
			    "cannot record a drifted property of %s",
			    res->logical_id);
		store_stmt_done(stmt);
	}
	return (rc);
}

int
store_drift_finish(struct store *s, int64_t stage_id, int attempt,
    const char *status, const char *reason,
    const struct store_drift_resource *v, size_t n, char **cause)
{
	sqlite3_stmt *stmt;
	size_t	      i;
	int	      rc;

	if ((rc = store_op_begin(s, cause)) != 0)
		return (rc);
	rc = store_drift_exec(s, SQL_DRIFT_DELETE_PROPERTIES, stage_id, attempt,
	    cause);
	if (rc == 0)
		rc = store_drift_exec(s, SQL_DRIFT_DELETE_RESOURCES, stage_id,
		    attempt, cause);
	if (rc == 0) {
		if ((stmt = store_stmt(s, SQL_DRIFT_FINISH, cause)) == NULL)
			rc = STORE_EIO;
		else {
			sqlite3_bind_int64(stmt, 1, stage_id);
			sqlite3_bind_int(stmt, 2, attempt);
			store_bind_text(stmt, 3, status);
			store_bind_text(stmt, 4, reason);
			sqlite3_bind_int64(stmt, 5, store_now(s));
			if (sqlite3_step(stmt) != SQLITE_DONE)
				rc = store_fail(s, cause,
				    "cannot record the drift of stage %lld",
				    (long long)stage_id);
			store_stmt_done(stmt);
		}
	}
	for (i = 0; rc == 0 && i < n; i++)
		rc = store_drift_add(s, stage_id, attempt, i, &v[i], cause);
	if (rc != 0) {
		store_op_end(s, 0, NULL);
		return (rc);
	}
	return (store_op_end(s, 1, cause));
}

static int
store_drift_read_resources(struct store *s, int64_t stage_id, int attempt,
    struct store_drift *d, char **cause)
{
	struct store_drift_resource *r;
	struct store_drift_property *p;
	sqlite3_stmt		    *stmt;
	int64_t			     pos;
	int			     rc;

	if ((stmt = store_stmt(s, SQL_DRIFT_RESOURCES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		/* Positions are 0..n-1, written in one operation. */
		if (store_column_int64(stmt, 0) != (int64_t)d->nresources)
			break;
		d->resources = xreallocarray(d->resources, d->nresources + 1,
		    sizeof *d->resources);
		r = &d->resources[d->nresources++];
		memset(r, 0, sizeof *r);
		r->logical_id = store_column_text(stmt, 1);
		r->physical_id = store_column_text(stmt, 2);
		r->resource_type = store_column_text(stmt, 3);
		r->status = store_column_text(stmt, 4);
	}
	store_stmt_done(stmt);
	if (rc != SQLITE_DONE)
		return (store_fail(s, cause,
		    "cannot read the drifted resources of stage %lld",
		    (long long)stage_id));
	if ((stmt = store_stmt(s, SQL_DRIFT_PROPERTIES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		pos = store_column_int64(stmt, 0);
		if (pos < 0 || (size_t)pos >= d->nresources)
			continue;
		r = &d->resources[pos];
		r->props = xreallocarray(r->props, r->nprops + 1,
		    sizeof *r->props);
		p = &r->props[r->nprops++];
		p->path = store_column_text(stmt, 1);
		p->expected = store_column_text(stmt, 2);
		p->actual = store_column_text(stmt, 3);
		p->difference = store_column_text(stmt, 4);
		p->masked = sqlite3_column_int(stmt, 5);
	}
	store_stmt_done(stmt);
	if (rc != SQLITE_DONE)
		return (store_fail(s, cause,
		    "cannot read the drifted properties of stage %lld",
		    (long long)stage_id));
	return (0);
}

int
store_drift(struct store *s, int64_t stage_id, int attempt,
    struct store_drift **dp, char **cause)
{
	struct store_drift *d;
	sqlite3_stmt	   *stmt;
	int		    rc;

	*dp = NULL;
	if ((stmt = store_stmt(s, SQL_DRIFT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		store_stmt_done(stmt);
		return (store_error(cause, STORE_ENOTFOUND,
		    "no drift recorded for stage %lld", (long long)stage_id));
	}
	if (rc != SQLITE_ROW) {
		store_stmt_done(stmt);
		return (
		    store_fail(s, cause, "cannot read the drift of stage %lld",
			(long long)stage_id));
	}
	d = xcalloc(1, sizeof *d);
	d->status = store_column_text(stmt, 0);
	d->detection_id = store_column_text(stmt, 1);
	d->started_at = store_column_int64(stmt, 2);
	d->finished_at = store_column_int64(stmt, 3);
	d->reason = store_column_text(stmt, 4);
	d->ack_user = store_column_text(stmt, 5);
	d->ack_comment = store_column_text(stmt, 6);
	d->ack_at = store_column_int64(stmt, 7);
	store_stmt_done(stmt);
	if (d->status == NULL)
		d->status = xstrdup("not_checked");
	if ((rc = store_drift_read_resources(s, stage_id, attempt, d, cause)) !=
	    0) {
		store_drift_free(d);
		return (rc);
	}
	*dp = d;
	return (0);
}

void
store_drift_free(struct store_drift *d)
{
	size_t i, j;

	if (d == NULL)
		return;
	for (i = 0; i < d->nresources; i++) {
		free(d->resources[i].logical_id);
		free(d->resources[i].physical_id);
		free(d->resources[i].resource_type);
		free(d->resources[i].status);
		for (j = 0; j < d->resources[i].nprops; j++) {
			free(d->resources[i].props[j].path);
			free(d->resources[i].props[j].expected);
			free(d->resources[i].props[j].actual);
			free(d->resources[i].props[j].difference);
		}
		free(d->resources[i].props);
	}
	free(d->resources);
	free(d->status);
	free(d->detection_id);
	free(d->reason);
	free(d->ack_user);
	free(d->ack_comment);
	free(d);
}

int
store_drift_ack(struct store *s, int64_t stage_id, int attempt,
    const char *user, const char *comment, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_DRIFT_ACK, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, user);
	store_bind_text(stmt, 4, comment);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the drift acknowledgement of stage %lld",
		    (long long)stage_id);
	else if (sqlite3_changes(sqlite3_db_handle(stmt)) == 0)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no unacknowledged drift on stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}
