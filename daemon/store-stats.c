/*
 * The rows behind the delivery measures (stats.h): Prod deployments of
 * a period and the time stages spent in each step (stage_times, kept
 * by migration 009's trigger, which 014 rewrote to count
 * awaiting_window).  Read-only.
 */
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "store-int.h"
#include "xmalloc.h"

/*
 * A deployment is a stage of the last environment that ran its change
 * set and ended: done, rolled back (its checks failed), or failed after
 * execution.  A failure before execution (a change set refused) changed
 * nothing in Prod and is not one.
 */
static const char SQL_STATS_DEPLOYMENTS[] =
    "SELECT rel.received_at, s.finished_at, s.status, r.kind "
    "FROM stages s JOIN runs r ON r.id = s.run_id "
    "JOIN releases rel ON rel.id = r.release_id "
    "WHERE s.environment = ?2 AND s.finished_at >= ?3 "
    "AND s.finished_at < ?4 AND r.app_id = ?1 "
    "AND (s.status IN ('done', 'rolled_back') OR "
    "(s.status = 'failed' AND s.executed_at IS NOT NULL))";
/* One row per stage, in stats.h's step order: a range of the table's
 * key, no join. */
#define SQL_STEP_COLUMNS                                                   \
	"images_ms, change_set_ms, approval_ms, window_ms, executing_ms, " \
	"ecs_ms, checks_ms, gate_ms"
static const char SQL_STATS_STEPS[] =
    "SELECT environment, " SQL_STEP_COLUMNS " FROM stage_times "
    "WHERE app_id = ?1 AND run_created_at >= ?2 AND run_created_at < ?3";
/* The run's stages in order, with the status each is in since when. */
static const char SQL_STATS_RUN[] =
    "SELECT s.environment, " SQL_STEP_COLUMNS ", s.status, s.status_at, "
    "s.finished_at FROM stages s "
    "LEFT JOIN stage_times t ON t.stage_id = s.id "
    "WHERE s.run_id = ?1 ORDER BY s.position";

struct store_stats_rows *
store_stats_rows_new(void)
{
	return (xcalloc(1, sizeof(struct store_stats_rows)));
}

void
store_stats_rows_free(struct store_stats_rows *rows)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < rows->nnames; i++)
		free(rows->names[i]);
	free(rows->names);
	free(rows->deps);
	free(rows->steps);
	free(rows);
}

/* The set's copy of a name: few distinct ones (environments, statuses). */
static const char *
store_stats_intern(struct store_stats_rows *rows, const unsigned char *name)
{
	const char *s = name != NULL ? (const char *)name : "";
	size_t	    i;

	for (i = 0; i < rows->nnames; i++) {
		if (strcmp(rows->names[i], s) == 0)
			return (rows->names[i]);
	}
	rows->names = xreallocarray(rows->names, rows->nnames + 1,
	    sizeof *rows->names);
	rows->names[rows->nnames] = xstrdup(s);
	return (rows->names[rows->nnames++]);
}

static struct stats_step_time *
store_stats_step(struct store_stats_rows *rows)
{
	if (rows->nsteps == rows->capsteps) {
		rows->capsteps = rows->capsteps != 0 ? rows->capsteps * 2 : 64;
		rows->steps = xreallocarray(rows->steps, rows->capsteps,
		    sizeof *rows->steps);
	}
	return (&rows->steps[rows->nsteps++]);
}

/*
 * Appends a row per step of the row's stage (columns 1 to STATS_NSTEPS;
 * NULL: none); when now is not 0 and the stage is unfinished, the time
 * in its current status (the columns after) counts too.
 */
static void
store_stats_stage(struct store_stats_rows *rows, sqlite3_stmt *stmt,
    int64_t now)
{
	struct stats_step_time *t;
	const char	       *env;
	int64_t			ms[STATS_NSTEPS];
	int			k, col = 1 + STATS_NSTEPS;

	env = store_stats_intern(rows, sqlite3_column_text(stmt, 0));
	for (k = 0; k < STATS_NSTEPS; k++)
		ms[k] = sqlite3_column_type(stmt, 1 + k) == SQLITE_NULL ?
			    -1 :
			    sqlite3_column_int64(stmt, 1 + k);
	if (now != 0 && sqlite3_column_type(stmt, col + 2) == SQLITE_NULL &&
	    sqlite3_column_type(stmt, col + 1) != SQLITE_NULL &&
	    (k = stats_step_of_status(
		 (const char *)sqlite3_column_text(stmt, col))) >= 0) {
		int64_t since = now - sqlite3_column_int64(stmt, col + 1);

		ms[k] = (ms[k] > 0 ? ms[k] : 0) + (since > 0 ? since : 0);
	}
	for (k = 0; k < STATS_NSTEPS; k++) {
		if (ms[k] < 0)
			continue;
		t = store_stats_step(rows);
		t->environment = env;
		t->status = stats_step_status((enum stats_step)k);
		t->ms = ms[k];
	}
}

static int
store_stats_steps(struct store *s, struct store_stats_rows *rows,
    sqlite3_stmt *stmt, int64_t now, char **cause, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		store_stats_stage(rows, stmt, now);
	rc = rc == SQLITE_DONE ?
		 0 :
		 store_fail(s, cause, "cannot read the step times of %s", what);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stats_add(struct store *s, struct store_stats_rows *rows, int64_t app_id,
    const char *prod_env, int64_t from, int64_t to, char **cause)
{
	struct stats_deployment *d;
	sqlite3_stmt		*stmt;
	const char		*status, *kind;
	int			 rc;

	if ((stmt = store_stmt(s, SQL_STATS_DEPLOYMENTS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	store_bind_text(stmt, 2, prod_env);
	sqlite3_bind_int64(stmt, 3, from);
	sqlite3_bind_int64(stmt, 4, to);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (rows->ndeps == rows->capdeps) {
			rows->capdeps = rows->capdeps != 0 ? rows->capdeps * 2 :
							     64;
			rows->deps = xreallocarray(rows->deps, rows->capdeps,
			    sizeof *rows->deps);
		}
		d = &rows->deps[rows->ndeps++];
		d->received_at = sqlite3_column_int64(stmt, 0);
		d->finished_at = sqlite3_column_int64(stmt, 1);
		status = (const char *)sqlite3_column_text(stmt, 2);
		kind = (const char *)sqlite3_column_text(stmt, 3);
		d->failed = status == NULL || strcmp(status, "done") != 0;
		d->rollback = kind != NULL && strcmp(kind, "rollback") == 0;
	}
	rc = rc == SQLITE_DONE ?
		 0 :
		 store_fail(s, cause, "cannot read the deployments of app %lld",
		     (long long)app_id);
	store_stmt_done(stmt);
	if (rc != 0)
		return (rc);

	if ((stmt = store_stmt(s, SQL_STATS_STEPS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	sqlite3_bind_int64(stmt, 2, from);
	sqlite3_bind_int64(stmt, 3, to);
	return (store_stats_steps(s, rows, stmt, 0, cause, "an app's runs"));
}

int
store_stats_run(struct store *s, struct store_stats_rows *rows, int64_t run_id,
    int64_t now, char **cause)
{
	sqlite3_stmt *stmt;

	if ((stmt = store_stmt(s, SQL_STATS_RUN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	return (store_stats_steps(s, rows, stmt, now, cause, "a run"));
}
