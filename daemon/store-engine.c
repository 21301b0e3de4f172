/*
 * The store's part for the pipeline engine: a stage's change set and
 * deadlines, resource changes, deployments (what runs where),
 * cancellation requests and the releases' templates (sql/005_engine.sql).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_STAGE_SET_CHANGE_SET[] =
    "UPDATE stages SET attempt = ?2, change_set_name = ?3, "
    "change_set_arn = NULL, executed_at = NULL, updated_at = ?4 "
    "WHERE id = ?1";
static const char SQL_STAGE_SET_CHANGE_SET_ID[] =
    "UPDATE stages SET change_set_arn = coalesce(?2, change_set_arn), "
    "stack_id = coalesce(?3, stack_id), updated_at = ?4 WHERE id = ?1";
static const char SQL_STAGE_SET_DEADLINE[] =
    "UPDATE stages SET deadline_at = ?2 WHERE id = ?1";
static const char SQL_STAGE_SET_EXECUTED_AT[] =
    "UPDATE stages SET executed_at = ?2 WHERE id = ?1";
static const char SQL_STAGE_EXECUTED_AT[] =
    "SELECT executed_at FROM stages WHERE id = ?1";

static const char SQL_DELETE_CHANGES[] =
    "DELETE FROM stage_changes WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_INSERT_CHANGE[] =
    "INSERT INTO stage_changes (stage_id, attempt, position, action, "
    "logical_id, physical_id, resource_type, replacement, scope, details) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_STAGE_REJECTION[] =
    "SELECT user_name, comment FROM approvals WHERE stage_id = ?1 AND "
    "attempt = ?2 AND gate = ?3 AND decision = 'reject' ORDER BY id "
    "LIMIT 1";

static const char SQL_RECORD_DEPLOYMENT[] =
    "INSERT INTO deployments (app_id, environment, release_id, run_id, "
    "stage_id, deployed_at) "
    "SELECT r.app_id, st.environment, r.release_id, r.id, st.id, ?2 "
    "FROM stages st JOIN runs r ON r.id = st.run_id WHERE st.id = ?1 "
    "ON CONFLICT (stage_id) DO NOTHING";
static const char SQL_CURRENT_DEPLOYMENT[] =
    "SELECT d.id, d.app_id, d.environment, d.release_id, rel.version, "
    "d.run_id, d.stage_id, d.deployed_at FROM deployments d "
    "JOIN releases rel ON rel.id = d.release_id "
    "WHERE d.app_id = ?1 AND d.environment = ?2 "
    "ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1";
static const char SQL_RELEASE_DEPLOYED[] =
    "SELECT 1 FROM deployments WHERE release_id = ?1 LIMIT 1";

static const char SQL_REQUEST_CANCEL[] =
    "UPDATE runs SET cancel_requested_by = ?2, cancel_reason = ?3, "
    "updated_at = ?4 WHERE id = ?1 AND cancel_requested_by IS NULL";
static const char SQL_RUN_CANCEL_REQUEST[] =
    "SELECT cancel_requested_by, cancel_reason FROM runs WHERE id = ?1";

static const char SQL_DELETE_CHECK_RESULTS[] =
    "DELETE FROM check_results WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_INSERT_CHECK_RESULT[] =
    "INSERT INTO check_results (stage_id, attempt, check_name, step, "
    "step_name, status, method, url, http_status, tries, duration_ms, "
    "expectation, excerpt, started_at, finished_at) VALUES (?1, ?2, ?3, "
    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

static const char SQL_RELEASE_RUN[] =
    "SELECT id FROM runs WHERE release_id = ?1 AND kind = 'normal' "
    "ORDER BY id LIMIT 1";

static const char SQL_SET_RELEASE_TEMPLATE[] =
    "INSERT INTO release_templates (release_id, name, body, created_at) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (release_id) DO NOTHING";
static const char SQL_RELEASE_TEMPLATE[] =
    "SELECT name, body FROM release_templates WHERE release_id = ?1";

/* Runs a prepared write; 0 or the error, cause naming what. */
static int
store_engine_write(struct store *s, sqlite3_stmt *stmt, char **cause,
    const char *what, int64_t id)
{
	int rc = 0;

	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "%s %lld", what, (long long)id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_set_change_set(struct store *s, int64_t stage_id, int attempt,
    const char *name, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_CHANGE_SET, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, name);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	return (store_engine_write(s, stmt, cause,
	    "cannot record the change set of stage", stage_id));
}

int
store_stage_set_change_set_id(struct store *s, int64_t stage_id,
    const char *arn, const char *stack_id, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_CHANGE_SET_ID, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	store_bind_text(stmt, 2, arn);
	store_bind_text(stmt, 3, stack_id);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	return (store_engine_write(s, stmt, cause,
	    "cannot record the change set id of stage", stage_id));
}

int
store_stage_set_deadline(struct store *s, int64_t stage_id, int64_t deadline_at,
    char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_DEADLINE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	store_bind_id(stmt, 2, deadline_at);
	return (store_engine_write(s, stmt, cause,
	    "cannot set the deadline of stage", stage_id));
}

int
store_stage_set_executed_at(struct store *s, int64_t stage_id, int64_t at,
    char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_EXECUTED_AT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	store_bind_id(stmt, 2, at);
	return (store_engine_write(s, stmt, cause,
	    "cannot record the execution of stage", stage_id));
}

int
store_stage_executed_at(struct store *s, int64_t stage_id, int64_t *atp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*atp = 0;
	if ((stmt = store_stmt(s, SQL_STAGE_EXECUTED_AT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*atp = store_column_int64(stmt, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND, "no stage %lld",
		    (long long)stage_id);
	} else
		rc = store_fail(s, cause, "cannot read stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

/*
 * Replaces the rows of a stage's attempt (its changes, its check
 * results): delete_sql takes (stage_id, attempt); insert_sql takes them
 * as ?1 and ?2 and bind(stmt, v, i) binds the rest of row i.  One
 * savepoint: all the new rows or none.
 */
static int
store_replace_attempt_rows(struct store *s, int64_t stage_id, int attempt,
    const char *delete_sql, const char *insert_sql, const char *what,
    void (*bind)(sqlite3_stmt *, const void *, size_t), const void *v, size_t n,
    char **cause)
{
	sqlite3_stmt *stmt;
	char	      msg[96];
	size_t	      i;
	int	      rc;

	if ((rc = store_op_begin(s, cause)) != 0)
		return (rc);
	if ((stmt = store_stmt(s, delete_sql, cause)) == NULL) {
		rc = STORE_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	snprintf(msg, sizeof msg, "cannot clear the %s of stage", what);
	if ((rc = store_engine_write(s, stmt, cause, msg, stage_id)) != 0)
		goto out;
	snprintf(msg, sizeof msg, "cannot record the %s of stage", what);
	for (i = 0; i < n; i++) {
		if ((stmt = store_stmt(s, insert_sql, cause)) == NULL) {
			rc = STORE_EIO;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, stage_id);
		sqlite3_bind_int(stmt, 2, attempt);
		bind(stmt, v, i);
		if ((rc = store_engine_write(s, stmt, cause, msg, stage_id)) !=
		    0)
			goto out;
	}
out:
	if (rc != 0) {
		store_op_end(s, 0, NULL);
		return (rc);
	}
	return (store_op_end(s, 1, cause));
}

static void
store_bind_change(sqlite3_stmt *stmt, const void *v, size_t i)
{
	const struct store_change_in *c = &(
	    (const struct store_change_in *)v)[i];

	sqlite3_bind_int64(stmt, 3, (int64_t)i);
	store_bind_text(stmt, 4, c->action != NULL ? c->action : "");
	store_bind_text(stmt, 5, c->logical_id != NULL ? c->logical_id : "");
	store_bind_text(stmt, 6, c->physical_id);
	store_bind_text(stmt, 7,
	    c->resource_type != NULL ? c->resource_type : "");
	store_bind_text(stmt, 8, c->replacement);
	store_bind_text(stmt, 9, c->scope);
	store_bind_text(stmt, 10, c->details);
}

int
store_record_stage_changes(struct store *s, int64_t stage_id, int attempt,
    const struct store_change_in *v, size_t n, char **cause)
{
	return (
	    store_replace_attempt_rows(s, stage_id, attempt, SQL_DELETE_CHANGES,
		SQL_INSERT_CHANGE, "changes", store_bind_change, v, n, cause));
}

static void
store_bind_check_result(sqlite3_stmt *stmt, const void *v, size_t i)
{
	const struct store_check_result *c = &(
	    (const struct store_check_result *)v)[i];

	store_bind_text(stmt, 3, c->check_name);
	sqlite3_bind_int(stmt, 4, c->step);
	store_bind_text(stmt, 5, c->step_name);
	store_bind_text(stmt, 6, c->status);
	store_bind_text(stmt, 7, c->method);
	store_bind_text(stmt, 8, c->url);
	if (c->http_status > 0)
		sqlite3_bind_int(stmt, 9, c->http_status);
	sqlite3_bind_int(stmt, 10, c->tries);
	if (c->duration_ms >= 0)
		sqlite3_bind_int64(stmt, 11, c->duration_ms);
	store_bind_text(stmt, 12, c->expectation);
	store_bind_text(stmt, 13, c->excerpt);
	sqlite3_bind_int64(stmt, 14, c->started_at);
	if (c->finished_at != 0)
		sqlite3_bind_int64(stmt, 15, c->finished_at);
}

int
store_record_check_results(struct store *s, int64_t stage_id, int attempt,
    const struct store_check_result *v, size_t n, char **cause)
{
	return (store_replace_attempt_rows(s, stage_id, attempt,
	    SQL_DELETE_CHECK_RESULTS, SQL_INSERT_CHECK_RESULT, "check results",
	    store_bind_check_result, v, n, cause));
}

int
store_stage_rejection(struct store *s, int64_t stage_id, int attempt, int gate,
    char **user, char **comment, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*user = *comment = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_REJECTION, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	sqlite3_bind_int(stmt, 3, gate != 0);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*user = store_column_text(stmt, 0);
		*comment = store_column_text(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no rejection of "
		    "stage %lld",
		    (long long)stage_id);
	} else
		rc = store_fail(s, cause,
		    "cannot read the decisions on stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_record_deployment(struct store *s, int64_t stage_id, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_RECORD_DEPLOYMENT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int64(stmt, 2, store_now(s));
	return (store_engine_write(s, stmt, cause,
	    "cannot record the deployment of stage", stage_id));
}

void
store_deployment_free(struct store_deployment *d)
{
	if (d == NULL)
		return;
	free(d->environment);
	free(d->version);
	free(d);
}

int
store_current_deployment(struct store *s, int64_t app_id,
    const char *environment, struct store_deployment **dp, char **cause)
{
	struct store_deployment *d;
	sqlite3_stmt		*stmt;
	int			 rc;

	*dp = NULL;
	if ((stmt = store_stmt(s, SQL_CURRENT_DEPLOYMENT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	store_bind_text(stmt, 2, environment);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		d = xcalloc(1, sizeof *d);
		d->id = sqlite3_column_int64(stmt, 0);
		d->app_id = sqlite3_column_int64(stmt, 1);
		d->environment = store_column_text(stmt, 2);
		d->release_id = sqlite3_column_int64(stmt, 3);
		d->version = store_column_text(stmt, 4);
		d->run_id = sqlite3_column_int64(stmt, 5);
		d->stage_id = sqlite3_column_int64(stmt, 6);
		d->deployed_at = sqlite3_column_int64(stmt, 7);
		*dp = d;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND,
		    "nothing deployed to "
		    "%s yet",
		    environment);
	} else
		rc = store_fail(s, cause, "cannot read the deployments of %s",
		    environment);
	store_stmt_done(stmt);
	return (rc);
}

int
store_release_deployed(struct store *s, int64_t release_id, int *yesp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*yesp = 0;
	if ((stmt = store_stmt(s, SQL_RELEASE_DEPLOYED, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*yesp = rc == SQLITE_ROW;
		rc = 0;
	} else
		rc = store_fail(s, cause,
		    "cannot read the deployments of "
		    "release %lld",
		    (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_request_cancel(struct store *s, int64_t run_id, const char *by,
    const char *reason, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_REQUEST_CANCEL, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	store_bind_text(stmt, 2, by);
	store_bind_text(stmt, 3, reason);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	return (store_engine_write(s, stmt, cause,
	    "cannot record the cancellation of run", run_id));
}

int
store_run_cancel_request(struct store *s, int64_t run_id, char **by,
    char **reason, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*by = *reason = NULL;
	if ((stmt = store_stmt(s, SQL_RUN_CANCEL_REQUEST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
		*by = store_column_text(stmt, 0);
		*reason = store_column_text(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no cancellation of "
		    "run %lld",
		    (long long)run_id);
	} else
		rc = store_fail(s, cause, "cannot read run %lld",
		    (long long)run_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_release_run(struct store *s, int64_t release_id, int64_t *run_idp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*run_idp = 0;
	if ((stmt = store_stmt(s, SQL_RELEASE_RUN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		if (rc == SQLITE_ROW)
			*run_idp = sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else
		rc = store_fail(s, cause,
		    "cannot read the runs of release "
		    "%lld",
		    (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_set_release_template(struct store *s, int64_t release_id,
    const char *name, const void *body, size_t len, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_SET_RELEASE_TEMPLATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	store_bind_text(stmt, 2, name);
	sqlite3_bind_blob64(stmt, 3, body, len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	return (store_engine_write(s, stmt, cause,
	    "cannot keep the template of release", release_id));
}

int
store_release_template(struct store *s, int64_t release_id, char **namep,
    char **bodyp, size_t *lenp, char **cause)
{
	sqlite3_stmt *stmt;
	const void   *p;
	size_t	      len;
	int	      rc;

	*namep = *bodyp = NULL;
	*lenp = 0;
	if ((stmt = store_stmt(s, SQL_RELEASE_TEMPLATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*namep = store_column_text(stmt, 0);
		p = sqlite3_column_blob(stmt, 1);
		len = (size_t)sqlite3_column_bytes(stmt, 1);
		*bodyp = xmalloc(len + 1);
		if (len > 0)
			memcpy(*bodyp, p, len);
		(*bodyp)[len] = '\0';
		*lenp = len;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no template kept "
		    "for release %lld",
		    (long long)release_id);
	} else
		rc = store_fail(s, cause,
		    "cannot read the template of "
		    "release %lld",
		    (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}
