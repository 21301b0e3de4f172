/*
 * The store's part for stacks held stuck (sql/007_stack_holds.sql): an
 * environment whose stack no change set can run on until an operator
 * continues its rollback or deletes it, the operator's action while it
 * is under way, and the stages whose CREATE change set made their stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_HOLD_SET[] =
    "INSERT INTO stack_holds (app_id, environment, stack, stack_status, "
    "reason, run_id, since) SELECT a.id, ?2, ?3, ?4, ?5, ?6, ?7 "
    "FROM apps a WHERE a.name = ?1 "
    "ON CONFLICT (app_id, environment) DO UPDATE SET stack = ?3, "
    "stack_status = ?4, reason = ?5, run_id = coalesce(run_id, ?6), "
    "action = NULL, action_by = NULL, action_comment = NULL, "
    "action_skip = NULL, action_at = NULL";
static const char SQL_HOLD_GET[] =
    "SELECT a.name, h.environment, h.stack, h.stack_status, h.reason, "
    "h.run_id, h.since, h.action, h.action_by, h.action_comment, "
    "h.action_skip, h.action_at FROM stack_holds h "
    "JOIN apps a ON a.id = h.app_id WHERE a.name = ?1 AND "
    "h.environment = ?2";
static const char SQL_HOLD_LIST[] =
    "SELECT a.name, h.environment, h.stack, h.stack_status, h.reason, "
    "h.run_id, h.since, h.action, h.action_by, h.action_comment, "
    "h.action_skip, h.action_at FROM stack_holds h "
    "JOIN apps a ON a.id = h.app_id WHERE ?1 IS NULL OR a.name = ?1 "
    "ORDER BY a.name, h.environment";
static const char SQL_HOLD_ACTION[] =
    "UPDATE stack_holds SET action = ?3, action_by = ?4, "
    "action_comment = ?5, action_skip = ?6, action_at = ?7 "
    "WHERE app_id = (SELECT id FROM apps WHERE name = ?1) AND "
    "environment = ?2 AND action IS NULL";
static const char SQL_HOLD_ACTION_END[] =
    "UPDATE stack_holds SET stack_status = coalesce(?3, stack_status), "
    "reason = coalesce(?4, reason), action = NULL, action_by = NULL, "
    "action_comment = NULL, action_skip = NULL, action_at = NULL "
    "WHERE app_id = (SELECT id FROM apps WHERE name = ?1) AND "
    "environment = ?2";
static const char SQL_HOLD_CLEAR[] =
    "DELETE FROM stack_holds WHERE app_id = (SELECT id FROM apps WHERE "
    "name = ?1) AND environment = ?2";
static const char SQL_STAGE_SET_REASON[] =
    "UPDATE stages SET reason = ?3, updated_at = ?4 WHERE id = ?1 AND "
    "status = ?2 AND reason IS NOT ?3";
static const char SQL_STAGE_SET_STACK_CREATED[] =
    "UPDATE stages SET stack_created = 1 WHERE id = ?1";
static const char SQL_STAGE_STACK_CREATED[] =
    "SELECT stack_created FROM stages WHERE id = ?1";

static int
store_hold_write(struct store *s, sqlite3_stmt *stmt, char **cause,
    const char *what, const char *app, const char *env)
{
	int rc = 0;

	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "%s app=%s env=%s", what, app, env);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stack_hold_set(struct store *s, const char *app, const char *env,
    const char *stack, const char *stack_status, const char *reason,
    int64_t run_id, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_HOLD_SET, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	store_bind_text(stmt, 3, stack);
	store_bind_text(stmt, 4, stack_status);
	store_bind_text(stmt, 5, reason);
	store_bind_id(stmt, 6, run_id);
	sqlite3_bind_int64(stmt, 7, store_now(s));
	return (store_hold_write(s, stmt, cause,
	    "cannot record the stuck "
	    "stack of",
	    app, env));
}

static struct store_stack_hold *
store_hold_row(sqlite3_stmt *stmt)
{
	struct store_stack_hold *h;

	h = xcalloc(1, sizeof *h);
	h->app = store_column_text(stmt, 0);
	h->environment = store_column_text(stmt, 1);
	h->stack = store_column_text(stmt, 2);
	h->stack_status = store_column_text(stmt, 3);
	h->reason = store_column_text(stmt, 4);
	h->run_id = store_column_int64(stmt, 5);
	h->since = store_column_int64(stmt, 6);
	h->action = store_column_text(stmt, 7);
	h->action_by = store_column_text(stmt, 8);
	h->action_comment = store_column_text(stmt, 9);
	h->action_skip = store_column_text(stmt, 10);
	h->action_at = store_column_int64(stmt, 11);
	return (h);
}

int
store_stack_hold_get(struct store *s, const char *app, const char *env,
    struct store_stack_hold **hp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*hp = NULL;
	if ((stmt = store_stmt(s, SQL_HOLD_GET, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*hp = store_hold_row(stmt);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "the stack of %s %s "
		    "is not held",
		    app, env);
	else
		rc = store_fail(s, cause,
		    "cannot read the stuck stack of "
		    "app=%s env=%s",
		    app, env);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stack_holds(struct store *s, const char *app,
    struct store_stack_holds **lp, char **cause)
{
	struct store_stack_holds *l;
	sqlite3_stmt		 *stmt;
	int			  rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_HOLD_LIST, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		l->v[l->n++] = store_hold_row(stmt);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list the stuck stacks");
		store_stmt_done(stmt);
		store_stack_holds_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

int
store_stack_hold_action(struct store *s, const char *app, const char *env,
    const char *action, const char *by, const char *comment, const char *skip,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_HOLD_ACTION, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	store_bind_text(stmt, 3, action);
	store_bind_text(stmt, 4, by);
	store_bind_text(stmt, 5, comment);
	store_bind_text(stmt, 6, skip);
	sqlite3_bind_int64(stmt, 7, store_now(s));
	if ((rc = store_hold_write(s, stmt, cause,
		 "cannot record the action "
		 "on the stuck stack of",
		 app, env)) != 0)
		return (rc);
	if (sqlite3_changes(s->db) == 0)
		return (store_error(cause, STORE_ECONFLICT,
		    "the stack of %s "
		    "%s is not held, or an action on it is already under way",
		    app, env));
	return (0);
}

int
store_stack_hold_action_end(struct store *s, const char *app, const char *env,
    const char *stack_status, const char *reason, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_HOLD_ACTION_END, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	store_bind_text(stmt, 3, stack_status);
	store_bind_text(stmt, 4, reason);
	return (store_hold_write(s, stmt, cause,
	    "cannot record the end of "
	    "the action on the stuck stack of",
	    app, env));
}

int
store_stack_hold_clear(struct store *s, const char *app, const char *env,
    char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_HOLD_CLEAR, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	return (store_hold_write(s, stmt, cause,
	    "cannot release the stack "
	    "of",
	    app, env));
}

void
store_stack_hold_free(struct store_stack_hold *h)
{
	if (h == NULL)
		return;
	free(h->app);
	free(h->environment);
	free(h->stack);
	free(h->stack_status);
	free(h->reason);
	free(h->action);
	free(h->action_by);
	free(h->action_comment);
	free(h->action_skip);
	free(h);
}

void
store_stack_holds_free(struct store_stack_holds *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		store_stack_hold_free(l->v[i]);
	free(l->v);
	free(l);
}

int
store_stage_set_reason(struct store *s, int64_t stage_id,
    enum store_stage_status status, const char *reason, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_REASON, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	store_bind_text(stmt, 2, store_stage_status_name(status));
	store_bind_text(stmt, 3, reason);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot set the reason of stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_set_stack_created(struct store *s, int64_t stage_id, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_STAGE_SET_STACK_CREATED, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the stack of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_stack_created(struct store *s, int64_t stage_id, int *createdp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*createdp = 0;
	if ((stmt = store_stmt(s, SQL_STAGE_STACK_CREATED, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*createdp = sqlite3_column_int(stmt, 0) != 0;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND, "no stage %lld",
		    (long long)stage_id);
	else
		rc = store_fail(s, cause, "cannot read stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}
