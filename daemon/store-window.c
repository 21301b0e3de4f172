/*
 * The store's part for deploy windows (sql/011_deploy_windows.sql): the
 * freezes operators add and lift at run time, and an operator's override
 * of the windows for one attempt of a stage.  The configuration's
 * windows and freezes are not stored: they are the file's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_FREEZE_ADD[] =
    "INSERT INTO freezes (app_id, environment, from_at, until_at, reason, "
    "created_by, created_at) SELECT a.id, ?2, ?3, ?4, ?5, ?6, ?7 "
    "FROM apps a WHERE a.name = ?1";
/* Not lifted and not over: what the engine and the lists show. */
static const char SQL_FREEZE_LIST[] =
    "SELECT f.id, a.name, f.environment, f.from_at, f.until_at, f.reason, "
    "f.created_by, f.created_at FROM freezes f JOIN apps a ON "
    "a.id = f.app_id WHERE a.name = ?1 AND (?2 IS NULL OR "
    "f.environment = ?2) AND f.lifted_at IS NULL AND f.until_at > ?3 "
    "ORDER BY f.from_at, f.id";
static const char SQL_FREEZE_LIFT[] =
    "UPDATE freezes SET lifted_by = ?3, lifted_comment = ?4, lifted_at = ?5 "
    "WHERE app_id = (SELECT id FROM apps WHERE name = ?1) AND "
    "environment = ?2 AND lifted_at IS NULL AND until_at > ?5 AND "
    "(?6 = 0 OR id = ?6)";
static const char SQL_OVERRIDE_ADD[] =
    "INSERT INTO window_overrides (stage_id, attempt, user, comment, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
static const char SQL_OVERRIDE_GET[] =
    "SELECT user, comment FROM window_overrides WHERE stage_id = ?1 AND "
    "attempt = ?2";

int
store_freeze_add(struct store *s, const char *app, const char *env,
    int64_t from_at, int64_t until_at, const char *reason, const char *user,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_FREEZE_ADD, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	sqlite3_bind_int64(stmt, 3, from_at);
	sqlite3_bind_int64(stmt, 4, until_at);
	store_bind_text(stmt, 5, reason);
	store_bind_text(stmt, 6, user);
	sqlite3_bind_int64(stmt, 7, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the freeze of app=%s "
		    "env=%s",
		    app, env);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ENOTFOUND, "no app %s recorded",
		    app);
	store_stmt_done(stmt);
	return (rc);
}

int
store_freezes(struct store *s, const char *app, const char *env, int64_t now,
    struct store_freezes **lp, char **cause)
{
	struct store_freezes *l;
	struct store_freeze  *f;
	sqlite3_stmt	     *stmt;
	int		      rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_FREEZE_LIST, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	sqlite3_bind_int64(stmt, 3, now);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		f = &l->v[l->n++];
		f->id = store_column_int64(stmt, 0);
		f->app = store_column_text(stmt, 1);
		f->environment = store_column_text(stmt, 2);
		f->from_at = store_column_int64(stmt, 3);
		f->until_at = store_column_int64(stmt, 4);
		f->reason = store_column_text(stmt, 5);
		f->created_by = store_column_text(stmt, 6);
		f->created_at = store_column_int64(stmt, 7);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read the freezes of app=%s",
		    app);
		store_freezes_free(l);
	} else {
		rc = 0;
		*lp = l;
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_freeze_lift(struct store *s, const char *app, const char *env, int64_t id,
    const char *user, const char *comment, int *nlifted, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*nlifted = 0;
	if ((stmt = store_stmt(s, SQL_FREEZE_LIFT, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, app);
	store_bind_text(stmt, 2, env);
	store_bind_text(stmt, 3, user);
	store_bind_text(stmt, 4, comment);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	sqlite3_bind_int64(stmt, 6, id);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot lift the freezes of app=%s "
		    "env=%s",
		    app, env);
	else
		*nlifted = sqlite3_changes(s->db);
	store_stmt_done(stmt);
	return (rc);
}

void
store_freezes_free(struct store_freezes *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].app);
		free(l->v[i].environment);
		free(l->v[i].reason);
		free(l->v[i].created_by);
	}
	free(l->v);
	free(l);
}

int
store_window_override_add(struct store *s, int64_t stage_id, int attempt,
    const char *user, const char *comment, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_OVERRIDE_ADD, cause)) == NULL)
		return (STORE_EIO);
	store_bind_id(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, user);
	store_bind_text(stmt, 4, comment);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the override of "
		    "stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_window_override(struct store *s, int64_t stage_id, int attempt,
    char **userp, char **commentp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*userp = NULL;
	if (commentp != NULL)
		*commentp = NULL;
	if ((stmt = store_stmt(s, SQL_OVERRIDE_GET, cause)) == NULL)
		return (STORE_EIO);
	store_bind_id(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*userp = store_column_text(stmt, 0);
		if (commentp != NULL)
			*commentp = store_column_text(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_ENOTFOUND;
	else
		rc = store_fail(s, cause,
		    "cannot read the override of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}
