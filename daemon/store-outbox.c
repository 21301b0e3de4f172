/*
 * The store's part for notifications: the outbox rows (queue, the
 * sender's due rows, marks), a run's rows for the portal, counts for
 * /metrics, and the stages waiting for people (reminders).
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

#define OUTBOX_DUE_SKIP_MAX 64

static const char SQL_OUTBOX_QUEUE[] =
    "INSERT OR IGNORE INTO outbox (channel, event, dedup_key, run_id, "
    "release_id, recipients, subject, body_text, body_html, payload, "
    "status, attempts, next_attempt_at, created_at, updated_at) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', 0, ?11, ?11, ?11)";
static const char SQL_OUTBOX_HAS[] =
    "SELECT 1 FROM outbox WHERE dedup_key = ?1";

#define OUTBOX_COLUMNS                                                    \
	"id, channel, event, dedup_key, run_id, release_id, recipients, " \
	"subject, body_text, body_html, payload, status, attempts, "      \
	"next_attempt_at, last_error, created_at, updated_at, sent_at "
#define OUTBOX_COLUMNS_SHORT                                              \
	"id, channel, event, dedup_key, run_id, release_id, recipients, " \
	"subject, NULL, NULL, NULL, status, attempts, "                   \
	"next_attempt_at, last_error, created_at, updated_at, sent_at "

/* The skip list is a JSON array bound as one parameter: one statement
   whatever its length. */
static const char SQL_OUTBOX_DUE[] =
    "SELECT " OUTBOX_COLUMNS "FROM outbox "
    "WHERE status = 'pending' AND next_attempt_at <= ?1 "
    "AND id NOT IN (SELECT value FROM json_each(?3)) "
    "ORDER BY next_attempt_at, id LIMIT ?2";
static const char SQL_OUTBOX_NEXT[] =
    "SELECT (SELECT min(next_attempt_at) FROM outbox "
    "WHERE status = 'pending' AND next_attempt_at > ?1), "
    "(SELECT count(*) FROM outbox WHERE status = 'pending')";
static const char SQL_OUTBOX_SENT[] =
    "UPDATE outbox SET status = 'sent', sent_at = ?2, updated_at = ?2, "
    "attempts = attempts + 1, last_error = NULL "
    "WHERE id = ?1 AND status = 'pending'";
static const char SQL_OUTBOX_RETRY[] =
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, "
    "next_attempt_at = ?3, updated_at = ?4 "
    "WHERE id = ?1 AND status = 'pending'";
static const char SQL_OUTBOX_FAILED[] =
    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, "
    "last_error = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'pending'";
static const char SQL_OUTBOX_RUN[] = "SELECT " OUTBOX_COLUMNS_SHORT
				     "FROM outbox WHERE run_id = ?1 "
				     "ORDER BY id";
static const char SQL_OUTBOX_COUNTS[] =
    "SELECT coalesce(sum(status = 'pending'), 0), "
    "coalesce(sum(status = 'sent'), 0), "
    "coalesce(sum(status = 'failed'), 0) FROM outbox";
static const char SQL_OUTBOX_WAITING[] =
    "SELECT st.id, st.run_id, st.attempt, st.status = 'awaiting_gate', "
    "o.created_at FROM stages st JOIN outbox o ON o.dedup_key = "
    "(CASE st.status WHEN 'awaiting_gate' THEN 'gate_needed' "
    "ELSE 'approval_needed' END) || ' stage=' || st.id || ' attempt=' || "
    "st.attempt "
    "WHERE st.status IN ('awaiting_approval', 'awaiting_gate') "
    "ORDER BY st.id";

int
store_outbox_queue(struct store *s, const struct store_outbox_in *in,
    int *insertedp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if (insertedp != NULL)
		*insertedp = 0;
	if ((stmt = store_stmt(s, SQL_OUTBOX_QUEUE, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, in->channel);
	store_bind_text(stmt, 2, in->event);
	store_bind_text(stmt, 3, in->dedup_key);
	store_bind_id(stmt, 4, in->run_id);
	store_bind_id(stmt, 5, in->release_id);
	store_bind_text(stmt, 6, in->recipients);
	store_bind_text(stmt, 7, in->subject);
	store_bind_text(stmt, 8, in->body_text);
	store_bind_text(stmt, 9, in->body_html);
	store_bind_text(stmt, 10, in->payload);
	sqlite3_bind_int64(stmt, 11, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot queue the %s message %s",
		    in->channel != NULL ? in->channel : "(no channel)",
		    in->dedup_key != NULL ? in->dedup_key : "(no key)");
	else if (insertedp != NULL)
		*insertedp = sqlite3_changes(s->db) > 0;
	store_stmt_done(stmt);
	return (rc);
}

int
store_outbox_has(struct store *s, const char *key, int *yesp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0, step;

	*yesp = 0;
	if ((stmt = store_stmt(s, SQL_OUTBOX_HAS, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, key);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		*yesp = 1;
	else if (step != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot read the outbox");
	store_stmt_done(stmt);
	return (rc);
}

static void
store_outbox_read(sqlite3_stmt *stmt, struct store_outbox_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(stmt, 0);
	r->channel = store_column_text(stmt, 1);
	r->event = store_column_text(stmt, 2);
	r->dedup_key = store_column_text(stmt, 3);
	r->run_id = store_column_int64(stmt, 4);
	r->release_id = store_column_int64(stmt, 5);
	r->recipients = store_column_text(stmt, 6);
	r->subject = store_column_text(stmt, 7);
	r->body_text = store_column_text(stmt, 8);
	r->body_html = store_column_text(stmt, 9);
	r->payload = store_column_text(stmt, 10);
	r->status = store_column_text(stmt, 11);
	r->attempts = sqlite3_column_int(stmt, 12);
	r->next_attempt_at = store_column_int64(stmt, 13);
	r->last_error = store_column_text(stmt, 14);
	r->created_at = store_column_int64(stmt, 15);
	r->updated_at = store_column_int64(stmt, 16);
	r->sent_at = store_column_int64(stmt, 17);
}

static void
store_outbox_clear(struct store_outbox_row *r)
{
	free(r->channel);
	free(r->event);
	free(r->dedup_key);
	free(r->recipients);
	free(r->subject);
	free(r->body_text);
	free(r->body_html);
	free(r->payload);
	free(r->status);
	free(r->last_error);
}

void
store_outbox_rows_free(struct store_outbox_rows *rows)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < rows->n; i++)
		store_outbox_clear(&rows->items[i]);
	free(rows->items);
	free(rows);
}

/* Reads every row of a bound statement into *rowsp. */
static int
store_outbox_list(struct store *s, sqlite3_stmt *stmt,
    struct store_outbox_rows **rowsp, const char *what, char **cause)
{
	struct store_outbox_rows *rows;
	int			  step, rc = 0;

	rows = xcalloc(1, sizeof *rows);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		rows->items = xreallocarray(rows->items, rows->n + 1,
		    sizeof *rows->items);
		store_outbox_read(stmt, &rows->items[rows->n++]);
	}
	if (step != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read %s", what);
		store_outbox_rows_free(rows);
		rows = NULL;
	}
	store_stmt_done(stmt);
	*rowsp = rows;
	return (rc);
}

int
store_outbox_due(struct store *s, int64_t now, int limit, const int64_t *skip,
    size_t nskip, struct store_outbox_rows **rowsp, char **cause)
{
	sqlite3_stmt *stmt;
	char	     *list, *p;
	size_t	      i;

	*rowsp = NULL;
	if (limit < 1 || limit > 1000)
		return (store_error(cause, STORE_EINVAL,
		    "a limit of %d "
		    "(1 to 1000)",
		    limit));
	if ((stmt = store_stmt(s, SQL_OUTBOX_DUE, cause)) == NULL)
		return (STORE_EIO);
	list = xstrdup("[");
	for (i = 0; i < nskip; i++) {
		p = xasprintf("%s%s%lld", list, i > 0 ? "," : "",
		    (long long)skip[i]);
		free(list);
		list = p;
	}
	p = xasprintf("%s]", list);
	free(list);
	list = p;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int(stmt, 2, limit);
	sqlite3_bind_text(stmt, 3, list, -1, SQLITE_TRANSIENT);
	free(list);
	return (store_outbox_list(s, stmt, rowsp, "the due messages", cause));
}

int
store_outbox_next(struct store *s, int64_t after, int64_t *atp,
    int64_t *pendingp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*atp = 0;
	if (pendingp != NULL)
		*pendingp = 0;
	if ((stmt = store_stmt(s, SQL_OUTBOX_NEXT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, after);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*atp = store_column_int64(stmt, 0);
		if (pendingp != NULL)
			*pendingp = sqlite3_column_int64(stmt, 1);
	} else
		rc = store_fail(s, cause, "cannot read the outbox");
	store_stmt_done(stmt);
	return (rc);
}

int
store_outbox_mark_sent(struct store *s, int64_t id, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_OUTBOX_SENT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot mark message %lld sent",
		    (long long)id);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ECONFLICT,
		    "message %lld is not "
		    "pending",
		    (long long)id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_outbox_mark_error(struct store *s, int64_t id, const char *error,
    int64_t next_at, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	stmt = store_stmt(s,
	    next_at != 0 ? SQL_OUTBOX_RETRY : SQL_OUTBOX_FAILED, cause);
	if (stmt == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, id);
	store_bind_text(stmt, 2, error != NULL ? error : "unknown error");
	if (next_at != 0) {
		sqlite3_bind_int64(stmt, 3, next_at);
		sqlite3_bind_int64(stmt, 4, store_now(s));
	} else
		sqlite3_bind_int64(stmt, 3, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the error of message "
		    "%lld",
		    (long long)id);
	else if (sqlite3_changes(s->db) == 0)
		rc = store_error(cause, STORE_ECONFLICT,
		    "message %lld is not "
		    "pending",
		    (long long)id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_outbox_run(struct store *s, int64_t run_id,
    struct store_outbox_rows **rowsp, char **cause)
{
	sqlite3_stmt *stmt;

	*rowsp = NULL;
	if ((stmt = store_stmt(s, SQL_OUTBOX_RUN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	return (store_outbox_list(s, stmt, rowsp, "the run's messages", cause));
}

int
store_outbox_counts(struct store *s, int64_t *pendingp, int64_t *sentp,
    int64_t *failedp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*pendingp = *sentp = *failedp = 0;
	if ((stmt = store_stmt(s, SQL_OUTBOX_COUNTS, cause)) == NULL)
		return (STORE_EIO);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*pendingp = sqlite3_column_int64(stmt, 0);
		*sentp = sqlite3_column_int64(stmt, 1);
		*failedp = sqlite3_column_int64(stmt, 2);
	} else
		rc = store_fail(s, cause, "cannot count the outbox");
	store_stmt_done(stmt);
	return (rc);
}

int
store_outbox_waiting(struct store *s, struct store_waiting_stage **vp,
    size_t *np, char **cause)
{
	sqlite3_stmt		   *stmt;
	struct store_waiting_stage *v = NULL;
	size_t			    n = 0;
	int			    step, rc = 0;

	*vp = NULL;
	*np = 0;
	if ((stmt = store_stmt(s, SQL_OUTBOX_WAITING, cause)) == NULL)
		return (STORE_EIO);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].stage_id = sqlite3_column_int64(stmt, 0);
		v[n].run_id = sqlite3_column_int64(stmt, 1);
		v[n].attempt = sqlite3_column_int(stmt, 2);
		v[n].gate = sqlite3_column_int(stmt, 3);
		v[n].since = sqlite3_column_int64(stmt, 4);
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read the waiting stages");
		free(v);
		v = NULL;
		n = 0;
	}
	store_stmt_done(stmt);
	*vp = v;
	*np = n;
	return (rc);
}
