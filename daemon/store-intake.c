/*
 * The store's side of intake: what a source object already led to (so a
 * redelivered message hands over a release the engine never got, and no
 * more), valid releases still without a run, and the messages and
 * objects intake gave up on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_SEEN_OBJECT[] =
    "SELECT so.release_id, r.status, "
    "EXISTS (SELECT 1 FROM runs WHERE release_id = so.release_id) "
    "FROM seen_objects so LEFT JOIN releases r ON r.id = so.release_id "
    "WHERE so.bucket = ?1 AND so.key = ?2 AND so.revision = ?3";
static const char SQL_RELEASES_WITHOUT_RUN[] =
    "SELECT r.id FROM releases r WHERE r.app_id = ?1 AND "
    "r.status = 'valid' AND "
    "NOT EXISTS (SELECT 1 FROM runs WHERE release_id = r.id) "
    "ORDER BY r.id LIMIT ?2";

static const char SQL_UPDATE_FAILURE_MESSAGE[] =
    "UPDATE intake_failures SET receive_count = max(receive_count, ?3), "
    "reason = ?4, bucket = ?5, key = ?6, at = ?7 "
    "WHERE app_id = ?1 AND source = 'queue' AND "
    "substr(reason, 1, length(?2)) = ?2";
static const char SQL_UPDATE_FAILURE_OBJECT[] =
    "UPDATE intake_failures SET receive_count = max(receive_count, ?4), "
    "reason = ?5, at = ?6 "
    "WHERE app_id = ?1 AND source = ?2 AND key IS ?3 AND "
    "substr(reason, 1, 8) <> 'message '";
static const char SQL_INSERT_FAILURE[] =
    "INSERT INTO intake_failures (app_id, source, bucket, key, "
    "receive_count, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_LIST_FAILURES[] =
    "SELECT f.id, f.app_id, a.name, f.source, f.bucket, f.key, "
    "f.receive_count, f.reason, f.at "
    "FROM intake_failures f JOIN apps a ON a.id = f.app_id "
    "WHERE ?1 = 0 OR f.app_id = ?1 ORDER BY f.id DESC LIMIT ?2";

int
store_seen_object(struct store *s, const char *bucket, const char *key,
    const char *revision, struct store_seen *out, char **cause)
{
	sqlite3_stmt *stmt;
	char	     *status;
	int	      rc;

	memset(out, 0, sizeof *out);
	if ((stmt = store_stmt(s, SQL_SEEN_OBJECT, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, bucket);
	store_bind_text(stmt, 2, key);
	store_bind_text(stmt, 3, revision);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->seen = 1;
		out->release_id = store_column_int64(stmt, 0);
		status = store_column_text(stmt, 1);
		if (status != NULL)
			out->release_status = store_release_status_from_name(
			    status);
		free(status);
		out->has_run = sqlite3_column_int(stmt, 2) != 0;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		rc = store_fail(s, cause, "cannot look up s3://%s/%s", bucket,
		    key);
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_releases_without_run(struct store *s, int64_t app_id, int limit,
    int64_t **idsp, size_t *np, char **cause)
{
	sqlite3_stmt *stmt;
	int64_t	     *ids = NULL;
	size_t	      n = 0;
	int	      rc;

	*idsp = NULL;
	*np = 0;
	if (limit <= 0 || limit > 1000)
		limit = 100;
	if ((stmt = store_stmt(s, SQL_RELEASES_WITHOUT_RUN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	sqlite3_bind_int(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		ids[n++] = sqlite3_column_int64(stmt, 0);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot list releases of app %lld "
		    "without a run",
		    (long long)app_id);
		free(ids);
		ids = NULL;
		n = 0;
	} else
		rc = 0;
	store_stmt_done(stmt);
	*idsp = ids;
	*np = n;
	return (rc);
}

int
store_record_intake_failure(struct store *s,
    const struct store_intake_failure_in *f, char **cause)
{
	sqlite3_stmt *stmt = NULL;
	char	     *prefix = NULL, *reason = NULL;
	const char   *source;
	int64_t	      now = store_now(s);
	int	      rc, changed = 0;
	long	      count;

	source = f->source != NULL ? f->source : "queue";
	count = f->receive_count >= 1 ? f->receive_count : 1;
	if (f->reason == NULL || *f->reason == '\0')
		return (store_error(cause, STORE_EINVAL,
		    "an intake failure "
		    "needs a reason"));
	if (f->message_id != NULL) {
		prefix = xasprintf("message %s: ", f->message_id);
		reason = xasprintf("%s%s", prefix, f->reason);
	} else
		reason = xstrdup(f->reason);

	if ((rc = store_op_begin(s, cause)) != 0)
		goto out;
	if (prefix != NULL) {
		if ((stmt = store_stmt(s, SQL_UPDATE_FAILURE_MESSAGE, cause)) ==
		    NULL) {
			rc = STORE_EIO;
			goto done;
		}
		sqlite3_bind_int64(stmt, 1, f->app_id);
		store_bind_text(stmt, 2, prefix);
		sqlite3_bind_int64(stmt, 3, count);
		store_bind_text(stmt, 4, reason);
		store_bind_text(stmt, 5, f->bucket);
		store_bind_text(stmt, 6, f->key);
		sqlite3_bind_int64(stmt, 7, now);
	} else {
		if ((stmt = store_stmt(s, SQL_UPDATE_FAILURE_OBJECT, cause)) ==
		    NULL) {
			rc = STORE_EIO;
			goto done;
		}
		sqlite3_bind_int64(stmt, 1, f->app_id);
		store_bind_text(stmt, 2, source);
		store_bind_text(stmt, 3, f->key);
		sqlite3_bind_int64(stmt, 4, count);
		store_bind_text(stmt, 5, reason);
		sqlite3_bind_int64(stmt, 6, now);
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot record an intake failure");
		goto done;
	}
	changed = sqlite3_changes(s->db) > 0;
	store_stmt_done(stmt);
	stmt = NULL;
	if (!changed) {
		if ((stmt = store_stmt(s, SQL_INSERT_FAILURE, cause)) == NULL) {
			rc = STORE_EIO;
			goto done;
		}
		sqlite3_bind_int64(stmt, 1, f->app_id);
		store_bind_text(stmt, 2, source);
		store_bind_text(stmt, 3, f->bucket);
		store_bind_text(stmt, 4, f->key);
		sqlite3_bind_int64(stmt, 5, count);
		store_bind_text(stmt, 6, reason);
		sqlite3_bind_int64(stmt, 7, now);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = store_fail(s, cause,
			    "cannot record an intake "
			    "failure");
	}
done:
	if (stmt != NULL)
		store_stmt_done(stmt);
	if (rc == 0)
		rc = store_op_end(s, 1, cause);
	else
		store_op_end(s, 0, NULL);
out:
	free(prefix);
	free(reason);
	return (rc);
}

void
store_intake_failures_free(struct store_intake_failures *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].app);
		free(l->v[i].source);
		free(l->v[i].bucket);
		free(l->v[i].key);
		free(l->v[i].reason);
	}
	free(l->v);
	free(l);
}

int
store_intake_failures(struct store *s, int64_t app_id, int limit,
    struct store_intake_failures **lp, char **cause)
{
	struct store_intake_failures *l;
	struct store_intake_failure  *f;
	sqlite3_stmt		     *stmt;
	int			      rc;

	*lp = NULL;
	if (limit <= 0 || limit > 1000)
		limit = 50;
	if ((stmt = store_stmt(s, SQL_LIST_FAILURES, cause)) == NULL)
		return (STORE_EIO);
	l = xcalloc(1, sizeof *l);
	sqlite3_bind_int64(stmt, 1, app_id);
	sqlite3_bind_int(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		f = &l->v[l->n++];
		f->id = sqlite3_column_int64(stmt, 0);
		f->app_id = sqlite3_column_int64(stmt, 1);
		f->app = store_column_text(stmt, 2);
		f->source = store_column_text(stmt, 3);
		f->bucket = store_column_text(stmt, 4);
		f->key = store_column_text(stmt, 5);
		f->receive_count = sqlite3_column_int64(stmt, 6);
		f->reason = store_column_text(stmt, 7);
		f->at = sqlite3_column_int64(stmt, 8);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list intake failures");
		store_intake_failures_free(l);
		l = NULL;
	} else
		rc = 0;
	store_stmt_done(stmt);
	*lp = l;
	return (rc);
}
