/*
 * The store's part for the live progress of an execution
 * (sql/012_stage_progress.sql): a stage's stack events and its ECS
 * services' deployments, per attempt, bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_EVENT_ADD[] =
    "INSERT OR IGNORE INTO stage_events (stage_id, attempt, event_id, at, "
    "logical_id, physical_id, resource_type, status, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/* The newest STORE_PROGRESS_EVENTS_MAX stay; ties by time keep the
   row read last (the newer, as events are inserted oldest first). */
static const char SQL_EVENT_TRIM[] =
    "DELETE FROM stage_events WHERE stage_id = ?1 AND attempt = ?2 AND "
    "id NOT IN (SELECT id FROM stage_events WHERE stage_id = ?1 AND "
    "attempt = ?2 ORDER BY at DESC, id DESC LIMIT ?3)";
static const char SQL_EVENT_LIST[] =
    "SELECT event_id, at, logical_id, physical_id, resource_type, status, "
    "reason FROM stage_events WHERE stage_id = ?1 AND attempt = ?2 "
    "ORDER BY at DESC, id DESC";
static const char SQL_EVENT_FLOOR[] =
    "SELECT count(*), min(at) FROM stage_events WHERE stage_id = ?1 AND "
    "attempt = ?2";
static const char SQL_EVENT_NEWEST[] =
    "SELECT max(at) FROM stage_events WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_EVENT_SERVICES[] =
    "SELECT DISTINCT physical_id FROM stage_events WHERE stage_id = ?1 AND "
    "attempt = ?2 AND resource_type = 'AWS::ECS::Service' AND "
    "physical_id LIKE 'arn:%:service/%' ORDER BY physical_id";
/* A deployment of the attempt that failed stays shown: the rollback
   ECS or CloudFormation starts next is not what the attempt did. */
static const char SQL_SERVICE_SET[] =
    "INSERT INTO stage_services (stage_id, attempt, service, cluster, "
    "desired, running, pending, failed, rollout_state, rollout_reason, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (stage_id, attempt, service) DO UPDATE SET "
    "cluster = ?4, desired = ?5, running = ?6, pending = ?7, failed = ?8, "
    "rollout_state = ?9, rollout_reason = ?10, updated_at = ?11 "
    "WHERE stage_services.rollout_state IS NOT 'FAILED'";
static const char SQL_SERVICE_LIST[] =
    "SELECT service, cluster, desired, running, pending, failed, "
    "rollout_state, rollout_reason, updated_at FROM stage_services "
    "WHERE stage_id = ?1 AND attempt = ?2 ORDER BY service";

/* Events come newest first (as CloudFormation lists them): inserted
 * oldest first, so that the row ids follow time among equal stamps. */
int
store_progress_add_events(struct store *s, int64_t stage_id, int attempt,
    const struct store_stage_event *v, size_t n, size_t *addedp, char **cause)
{
	sqlite3_stmt *stmt;
	size_t	      i, added = 0;
	int64_t	      floor = 0;
	int	      rc = 0;

	if (addedp != NULL)
		*addedp = 0;
	if (n == 0)
		return (0);
	if ((rc = store_op_begin(s, cause)) != 0)
		return (rc);
	/* Full: events older than the oldest kept were trimmed (or would
	   be at once); a read of the whole history does not add them
	   again. */
	if ((stmt = store_stmt(s, SQL_EVENT_FLOOR, cause)) == NULL)
		rc = STORE_EIO;
	else {
		sqlite3_bind_int64(stmt, 1, stage_id);
		sqlite3_bind_int(stmt, 2, attempt);
		if (sqlite3_step(stmt) != SQLITE_ROW)
			rc = store_fail(s, cause,
			    "cannot read the stack "
			    "events of stage %lld",
			    (long long)stage_id);
		else if (sqlite3_column_int64(stmt, 0) >=
			 STORE_PROGRESS_EVENTS_MAX)
			floor = sqlite3_column_int64(stmt, 1);
		store_stmt_done(stmt);
	}
	for (i = n; i > 0 && rc == 0; i--) {
		const struct store_stage_event *e = &v[i - 1];

		if (e->event_id == NULL || (floor > 0 && e->at <= floor))
			continue;
		if ((stmt = store_stmt(s, SQL_EVENT_ADD, cause)) == NULL) {
			rc = STORE_EIO;
			break;
		}
		sqlite3_bind_int64(stmt, 1, stage_id);
		sqlite3_bind_int(stmt, 2, attempt);
		store_bind_text(stmt, 3, e->event_id);
		sqlite3_bind_int64(stmt, 4, e->at);
		store_bind_text(stmt, 5, e->logical_id);
		store_bind_text(stmt, 6, e->physical_id);
		store_bind_text(stmt, 7, e->resource_type);
		store_bind_text(stmt, 8, e->status);
		store_bind_text(stmt, 9, e->reason);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = store_fail(s, cause,
			    "cannot record a stack event "
			    "of stage %lld",
			    (long long)stage_id);
		else
			added += (size_t)sqlite3_changes(s->db);
		store_stmt_done(stmt);
	}
	if (rc == 0 && added > 0) {
		if ((stmt = store_stmt(s, SQL_EVENT_TRIM, cause)) == NULL)
			rc = STORE_EIO;
		else {
			sqlite3_bind_int64(stmt, 1, stage_id);
			sqlite3_bind_int(stmt, 2, attempt);
			sqlite3_bind_int(stmt, 3, STORE_PROGRESS_EVENTS_MAX);
			if (sqlite3_step(stmt) != SQLITE_DONE)
				rc = store_fail(s, cause,
				    "cannot trim the "
				    "stack events of stage %lld",
				    (long long)stage_id);
			store_stmt_done(stmt);
		}
	}
	if (rc == 0)
		rc = store_op_end(s, 1, cause);
	else
		store_op_end(s, 0, NULL);
	if (rc == 0 && addedp != NULL)
		*addedp = added;
	return (rc);
}

int
store_progress_set_service(struct store *s, int64_t stage_id, int attempt,
    const struct store_stage_service *v, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_SERVICE_SET, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, v->service);
	store_bind_text(stmt, 4, v->cluster);
	sqlite3_bind_int64(stmt, 5, v->desired);
	sqlite3_bind_int64(stmt, 6, v->running);
	sqlite3_bind_int64(stmt, 7, v->pending);
	sqlite3_bind_int64(stmt, 8, v->failed);
	store_bind_text(stmt, 9, v->rollout_state);
	store_bind_text(stmt, 10, v->rollout_reason);
	sqlite3_bind_int64(stmt, 11, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the progress of "
		    "service %s of stage %lld",
		    v->service, (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_progress_newest_event(struct store *s, int64_t stage_id, int attempt,
    int64_t *atp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*atp = 0;
	if ((stmt = store_stmt(s, SQL_EVENT_NEWEST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*atp = store_column_int64(stmt, 0);
	else
		rc = store_fail(s, cause,
		    "cannot read the stack events of "
		    "stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_progress_service_arns(struct store *s, int64_t stage_id, int attempt,
    char ***arnsp, size_t *np, char **cause)
{
	sqlite3_stmt *stmt;
	char	    **v = NULL;
	size_t	      n = 0, i;
	int	      rc;

	*arnsp = NULL;
	*np = 0;
	if ((stmt = store_stmt(s, SQL_EVENT_SERVICES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = store_column_text(stmt, 0);
	}
	store_stmt_done(stmt);
	if (rc != SQLITE_DONE) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return (store_fail(s, cause,
		    "cannot read the services of "
		    "stage %lld",
		    (long long)stage_id));
	}
	*arnsp = v;
	*np = n;
	return (0);
}

static int
store_progress_read(struct store *s, struct store_progress *p, int64_t stage_id,
    int attempt, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_EVENT_LIST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_stage_event *e;

		p->events = xreallocarray(p->events, p->nevents + 1,
		    sizeof *p->events);
		e = &p->events[p->nevents++];
		e->event_id = store_column_text(stmt, 0);
		e->at = store_column_int64(stmt, 1);
		e->logical_id = store_column_text(stmt, 2);
		e->physical_id = store_column_text(stmt, 3);
		e->resource_type = store_column_text(stmt, 4);
		e->status = store_column_text(stmt, 5);
		e->reason = store_column_text(stmt, 6);
	}
	store_stmt_done(stmt);
	if (rc != SQLITE_DONE)
		return (store_fail(s, cause,
		    "cannot read the stack events of "
		    "stage %lld",
		    (long long)stage_id));

	if ((stmt = store_stmt(s, SQL_SERVICE_LIST, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_stage_service *v;

		p->services = xreallocarray(p->services, p->nservices + 1,
		    sizeof *p->services);
		v = &p->services[p->nservices++];
		v->service = store_column_text(stmt, 0);
		v->cluster = store_column_text(stmt, 1);
		v->desired = store_column_int64(stmt, 2);
		v->running = store_column_int64(stmt, 3);
		v->pending = store_column_int64(stmt, 4);
		v->failed = store_column_int64(stmt, 5);
		v->rollout_state = store_column_text(stmt, 6);
		v->rollout_reason = store_column_text(stmt, 7);
		v->updated_at = store_column_int64(stmt, 8);
	}
	store_stmt_done(stmt);
	if (rc != SQLITE_DONE)
		return (store_fail(s, cause,
		    "cannot read the services of "
		    "stage %lld",
		    (long long)stage_id));
	return (0);
}

int
store_progress_get(struct store *s, int64_t stage_id, int attempt,
    struct store_progress **pp, char **cause)
{
	struct store_progress *p;
	int		       rc;

	*pp = NULL;
	p = xcalloc(1, sizeof *p);
	if ((rc = store_progress_read(s, p, stage_id, attempt, cause)) != 0) {
		store_progress_free(p);
		return (rc);
	}
	*pp = p;
	return (0);
}

void
store_progress_free(struct store_progress *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nevents; i++) {
		free(p->events[i].event_id);
		free(p->events[i].logical_id);
		free(p->events[i].physical_id);
		free(p->events[i].resource_type);
		free(p->events[i].status);
		free(p->events[i].reason);
	}
	free(p->events);
	for (i = 0; i < p->nservices; i++) {
		free(p->services[i].service);
		free(p->services[i].cluster);
		free(p->services[i].rollout_state);
		free(p->services[i].rollout_reason);
	}
	free(p->services);
	free(p);
}
