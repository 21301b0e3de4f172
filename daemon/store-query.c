/*
 * Read-only queries behind `shipgatectl show` and the portal's run page:
 * where a run is, the resource changes of a stage's change set, the
 * decisions on a run and the steps of its checks.  Nothing here writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

/*
 * Stages not done (nor done without changes) come first, by position;
 * when every stage is done, the last one.
 */
static const char SQL_RUN_CURRENT_STAGE[] =
    "SELECT environment, status FROM stages WHERE run_id = ?1 "
    "ORDER BY status IN ('done', 'no_changes'), "
    "CASE WHEN status IN ('done', 'no_changes') THEN -position "
    "ELSE position END LIMIT 1";
static const char SQL_STAGE_CHANGES[] =
    "SELECT stage_id, attempt, position, action, logical_id, physical_id, "
    "resource_type, replacement, scope, details FROM stage_changes "
    "WHERE stage_id = ?1 AND (?2 < 0 OR attempt = ?2) "
    "ORDER BY attempt, position";
static const char SQL_RUN_APPROVALS[] =
    "SELECT a.id, a.stage_id, s.environment, a.attempt, a.gate, "
    "a.user_name, a.decision, a.comment, a.via, a.decided_at, a.signin "
    "FROM approvals a JOIN stages s ON s.id = a.stage_id "
    "WHERE s.run_id = ?1 ORDER BY a.decided_at, a.id";
static const char SQL_STAGE_CHECK_RESULTS[] =
    "SELECT stage_id, attempt, check_name, step, step_name, status, method, "
    "url, http_status, tries, duration_ms, expectation, excerpt, "
    "started_at, finished_at FROM check_results "
    "WHERE stage_id = ?1 AND (?2 < 0 OR attempt = ?2) "
    "ORDER BY attempt, id";

/* Room for one more item in a list that grows by doubling. */
static void *
store_query_grow(void *items, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return (items);
	*cap = *cap != 0 ? *cap * 2 : 8;
	return (xreallocarray(items, *cap, size));
}

int
store_run_current_stage(struct store *s, int64_t run_id, char **envp,
    enum store_stage_status *statusp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*envp = NULL;
	*statusp = 0;
	if ((stmt = store_stmt(s, SQL_RUN_CURRENT_STAGE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*envp = store_column_text(stmt, 0);
		*statusp = store_stage_status_from_name(
		    (const char *)sqlite3_column_text(stmt, 1));
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = store_fail(s, cause, "cannot read the stages of run %lld",
		    (long long)run_id);
	store_stmt_done(stmt);
	return (rc);
}

/* --- Resource changes --------------------------------------------------- */

void
store_changes_free(struct store_changes *l)
{
	struct store_change *c;
	size_t		     i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		c = &l->items[i];
		free(c->action);
		free(c->logical_id);
		free(c->physical_id);
		free(c->resource_type);
		free(c->replacement);
		free(c->scope);
		free(c->details);
	}
	free(l->items);
	free(l);
}

int
store_stage_changes(struct store *s, int64_t stage_id, int attempt,
    struct store_changes **lp, char **cause)
{
	struct store_changes *l;
	struct store_change  *c;
	sqlite3_stmt	     *stmt;
	size_t		      cap = 0;
	int		      rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_CHANGES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = store_query_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		c = &l->items[l->n++];
		memset(c, 0, sizeof *c);
		c->stage_id = sqlite3_column_int64(stmt, 0);
		c->attempt = sqlite3_column_int(stmt, 1);
		c->position = sqlite3_column_int(stmt, 2);
		c->action = store_column_text(stmt, 3);
		c->logical_id = store_column_text(stmt, 4);
		c->physical_id = store_column_text(stmt, 5);
		c->resource_type = store_column_text(stmt, 6);
		c->replacement = store_column_text(stmt, 7);
		c->scope = store_column_text(stmt, 8);
		c->details = store_column_text(stmt, 9);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the changes of stage "
		    "%lld",
		    (long long)stage_id);
		store_stmt_done(stmt);
		store_changes_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

/* --- Decisions ----------------------------------------------------------- */

void
store_approvals_free(struct store_approvals *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].environment);
		free(l->items[i].user);
		free(l->items[i].comment);
		free(l->items[i].signin);
	}
	free(l->items);
	free(l);
}

static enum store_decision
store_decision_from_name(const char *name)
{
	if (name == NULL)
		return (0);
	if (strcmp(name, "approve") == 0)
		return (STORE_DECISION_APPROVE);
	if (strcmp(name, "reject") == 0)
		return (STORE_DECISION_REJECT);
	if (strcmp(name, "authorise") == 0)
		return (STORE_DECISION_AUTHORISE);
	return (0);
}

static enum store_via
store_via_from_name(const char *name)
{
	if (name == NULL)
		return (0);
	if (strcmp(name, "portal") == 0)
		return (STORE_VIA_PORTAL);
	if (strcmp(name, "api") == 0)
		return (STORE_VIA_API);
	if (strcmp(name, "cli") == 0)
		return (STORE_VIA_CLI);
	return (0);
}

int
store_run_approvals(struct store *s, int64_t run_id,
    struct store_approvals **lp, char **cause)
{
	struct store_approvals *l;
	struct store_approval  *a;
	sqlite3_stmt	       *stmt;
	size_t			cap = 0;
	int			rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_RUN_APPROVALS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = store_query_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		a = &l->items[l->n++];
		memset(a, 0, sizeof *a);
		a->id = sqlite3_column_int64(stmt, 0);
		a->stage_id = sqlite3_column_int64(stmt, 1);
		a->environment = store_column_text(stmt, 2);
		a->attempt = sqlite3_column_int(stmt, 3);
		a->gate = sqlite3_column_int(stmt, 4);
		a->user = store_column_text(stmt, 5);
		a->decision = store_decision_from_name(
		    (const char *)sqlite3_column_text(stmt, 6));
		a->comment = store_column_text(stmt, 7);
		a->via = store_via_from_name(
		    (const char *)sqlite3_column_text(stmt, 8));
		a->decided_at = sqlite3_column_int64(stmt, 9);
		a->signin = store_column_text(stmt, 10);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the approvals of run "
		    "%lld",
		    (long long)run_id);
		store_stmt_done(stmt);
		store_approvals_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

/* --- Check results ------------------------------------------------------- */

void
store_check_results_free(struct store_check_results *l)
{
	struct store_check_result *r;
	size_t			   i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		r = &l->items[i];
		free(r->check_name);
		free(r->step_name);
		free(r->status);
		free(r->method);
		free(r->url);
		free(r->expectation);
		free(r->excerpt);
	}
	free(l->items);
	free(l);
}

int
store_stage_check_results(struct store *s, int64_t stage_id, int attempt,
    struct store_check_results **lp, char **cause)
{
	struct store_check_results *l;
	struct store_check_result  *r;
	sqlite3_stmt		   *stmt;
	size_t			    cap = 0;
	int			    rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_CHECK_RESULTS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = store_query_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		r = &l->items[l->n++];
		memset(r, 0, sizeof *r);
		r->stage_id = sqlite3_column_int64(stmt, 0);
		r->attempt = sqlite3_column_int(stmt, 1);
		r->check_name = store_column_text(stmt, 2);
		r->step = sqlite3_column_int(stmt, 3);
		r->step_name = store_column_text(stmt, 4);
		r->status = store_column_text(stmt, 5);
		r->method = store_column_text(stmt, 6);
		r->url = store_column_text(stmt, 7);
		r->http_status = sqlite3_column_int(stmt, 8);
		r->tries = sqlite3_column_int(stmt, 9);
		r->duration_ms = sqlite3_column_type(stmt, 10) == SQLITE_NULL ?
				     -1 :
				     sqlite3_column_int64(stmt, 10);
		r->expectation = store_column_text(stmt, 11);
		r->excerpt = store_column_text(stmt, 12);
		r->started_at = sqlite3_column_int64(stmt, 13);
		r->finished_at = sqlite3_column_int64(stmt, 14);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the checks of stage %lld",
		    (long long)stage_id);
		store_stmt_done(stmt);
		store_check_results_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}
