/*
 * The store's releases, seen source objects, runs and stages: what
 * intake records and the engine moves along, and the pages the portal
 * and shipgatectl list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store-int.h"
#include "xmalloc.h"

static const char SQL_MARK_SEEN[] =
    "INSERT INTO seen_objects (app_id, bucket, key, revision, release_id, "
    "seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (bucket, key, revision) DO NOTHING";
static const char SQL_IS_SEEN[] =
    "SELECT 1 FROM seen_objects WHERE bucket = ?1 AND key = ?2 AND "
    "revision = ?3";

static const char SQL_RECORD_RELEASE[] =
    "INSERT INTO releases (app_id, bucket, key, version_id, etag, size, "
    "version, message, author, manifest, status, reason, received_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "?12, ?13, ?13)";
static const char SQL_GET_RELEASE[] =
    "SELECT r.id, r.app_id, a.name, r.bucket, r.key, r.version_id, "
    "r.etag, r.size, r.version, r.message, r.author, r.manifest, r.status, "
    "r.reason, r.received_at, r.updated_at "
    "FROM releases r JOIN apps a ON a.id = r.app_id WHERE r.id = ?1";

static const char SQL_CREATE_RUN[] =
    "INSERT INTO runs (release_id, app_id, version, author, kind, status, "
    "reason, requested_by, rollback_of, created_at, updated_at, finished_at) "
    "SELECT id, app_id, version, author, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8 "
    "FROM releases WHERE id = ?1";
static const char SQL_CREATE_STAGE[] =
    "INSERT INTO stages (run_id, position, environment, required_approvals, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

static const char SQL_RECORD_APPROVAL[] =
    "INSERT INTO approvals (stage_id, attempt, gate, user_name, decision, "
    "comment, via, decided_at, person, signin) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, coalesce(?9, ?4), ?10)";
static const char SQL_APPROVAL_BY_PERSON[] =
    "SELECT user_name FROM approvals WHERE stage_id = ?1 AND attempt = ?2 "
    "AND gate = ?3 AND person = ?4 LIMIT 1";
static const char SQL_COUNT_APPROVALS[] =
    "SELECT count(*) FROM approvals WHERE stage_id = ?1 AND attempt = ?2 "
    "AND gate = ?3 AND decision <> 'reject'";

static const char SQL_SET_RUN_STATUS[] =
    "UPDATE runs SET status = ?3, reason = ?4, updated_at = ?5, "
    "finished_at = CASE WHEN ?6 THEN ?5 END "
    "WHERE id = ?1 AND status = ?2";
static const char SQL_RUN_STATUS[] = "SELECT status FROM runs WHERE id = ?1";
static const char SQL_SET_STAGE_STATUS[] =
    "UPDATE stages SET status = ?3, reason = ?4, updated_at = ?5, "
    "started_at = CASE WHEN started_at IS NULL AND ?3 <> 'pending' "
    "THEN ?5 ELSE started_at END, "
    "finished_at = CASE WHEN ?6 THEN ?5 END "
    "WHERE id = ?1 AND status = ?2";
static const char SQL_STAGE_STATUS[] =
    "SELECT status FROM stages WHERE id = ?1";

#define SQL_RUN_COLUMNS                                               \
	"SELECT r.id, r.release_id, r.app_id, a.name, r.version, "    \
	"r.author, rel.message, r.kind, r.status, r.reason, "         \
	"r.requested_by, r.rollback_of, r.created_at, r.updated_at, " \
	"r.finished_at, rel.bucket, rel.key, rel.version_id "         \
	"FROM runs r JOIN releases rel ON rel.id = r.release_id "     \
	"JOIN apps a ON a.id = r.app_id "
static const char SQL_GET_RUN[] = SQL_RUN_COLUMNS "WHERE r.id = ?1";
static const char SQL_UNFINISHED_RUNS[] = SQL_RUN_COLUMNS
    "WHERE r.status IN ('received', 'running') ORDER BY r.id";
static const char SQL_GET_STAGES[] =
    "SELECT id, run_id, position, environment, status, reason, attempt, "
    "required_approvals, change_set_name, change_set_arn, stack_id, "
    "deadline_at, created_at, updated_at, started_at, finished_at "
    "FROM stages WHERE run_id = ?1 ORDER BY position";

/*
 * The filters of a runs page, each a fixed piece of SQL with a named
 * parameter.  A page's statement has the pieces of the filters it uses
 * and no others, so SQLite picks the index for exactly those (see the
 * indexes of runs in sql/001_init.sql); each combination is prepared
 * once and cached.  Pages are newest first, by (created_at, id); the
 * cursor `before` is the last run of the previous page.
 *
 * Filtered by environment alone (dates and cursor aside), the page walks
 * that environment's stages newest first (stages_environment: a stage's
 * created_at is its run's); combined with a filter on runs, the runs
 * index leads and the environment is checked per run.
 */
static const char *const store_runs_filters[STORE_RUNS_FILTERS] = {
	"r.app_id = (SELECT id FROM apps WHERE name = :app)",
	"EXISTS (SELECT 1 FROM stages st WHERE st.run_id = r.id AND "
	"st.environment = :environment)",
	"r.status = :status",
	"r.version = :version",
	"r.author = :author",
	"r.created_at >= :since",
	"r.created_at < :until",
	"(r.created_at, r.id) < ((SELECT created_at FROM runs WHERE "
	"id = :before), :before)",
};
static const char *const store_runs_by_stage_filters[STORE_RUNS_FILTERS] = {
	NULL,
	"st.environment = :environment",
	NULL,
	NULL,
	NULL,
	"st.created_at >= :since",
	"st.created_at < :until",
	"(st.created_at, st.run_id) < ((SELECT created_at FROM runs WHERE "
	"id = :before), :before)",
};
#define RUNS_APP     (1 << 0)
#define RUNS_ENV     (1 << 1)
#define RUNS_STATUS  (1 << 2)
#define RUNS_VERSION (1 << 3)
#define RUNS_AUTHOR  (1 << 4)
#define RUNS_SINCE   (1 << 5)
#define RUNS_UNTIL   (1 << 6)
#define RUNS_BEFORE  (1 << 7)

/* --- Seen objects and releases ----------------------------------------- */

int
store_mark_seen(struct store *s, int64_t app_id, const char *bucket,
    const char *key, const char *revision, int64_t release_id, int *is_newp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*is_newp = 0;
	if ((stmt = store_stmt(s, SQL_MARK_SEEN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	store_bind_text(stmt, 2, bucket);
	store_bind_text(stmt, 3, key);
	store_bind_text(stmt, 4, revision);
	store_bind_id(stmt, 5, release_id);
	sqlite3_bind_int64(stmt, 6, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot mark s3://%s/%s (%s) seen",
		    bucket, key, revision);
	} else
		*is_newp = sqlite3_changes(s->db) == 1;
	store_stmt_done(stmt);
	return (rc);
}

int
store_is_seen(struct store *s, const char *bucket, const char *key,
    const char *revision, int *seenp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*seenp = 0;
	if ((stmt = store_stmt(s, SQL_IS_SEEN, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, bucket);
	store_bind_text(stmt, 2, key);
	store_bind_text(stmt, 3, revision);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*seenp = rc == SQLITE_ROW;
		rc = 0;
	} else {
		rc = store_fail(s, cause, "cannot look up s3://%s/%s", bucket,
		    key);
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_record_release(struct store *s, const struct store_release_in *r,
    int64_t *idp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_RECORD_RELEASE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, r->app_id);
	store_bind_text(stmt, 2, r->bucket);
	store_bind_text(stmt, 3, r->key);
	store_bind_text(stmt, 4, r->version_id);
	store_bind_text(stmt, 5, r->etag);
	if (r->size >= 0)
		sqlite3_bind_int64(stmt, 6, r->size);
	store_bind_text(stmt, 7, r->version);
	store_bind_text(stmt, 8, r->message);
	store_bind_text(stmt, 9, r->author);
	store_bind_text(stmt, 10, r->manifest);
	store_bind_text(stmt, 11,
	    store_release_status_name(
		r->status != 0 ? r->status : STORE_RELEASE_RECEIVED));
	store_bind_text(stmt, 12, r->reason);
	sqlite3_bind_int64(stmt, 13, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot record release s3://%s/%s",
		    r->bucket, r->key);
	} else if (idp != NULL)
		*idp = sqlite3_last_insert_rowid(s->db);
	store_stmt_done(stmt);
	return (rc);
}

void
store_release_free(struct store_release *r)
{
	if (r == NULL)
		return;
	free(r->app);
	free(r->bucket);
	free(r->key);
	free(r->version_id);
	free(r->etag);
	free(r->version);
	free(r->message);
	free(r->author);
	free(r->manifest);
	free(r->reason);
	free(r);
}

int
store_get_release(struct store *s, int64_t id, struct store_release **rp,
    char **cause)
{
	struct store_release *r;
	sqlite3_stmt	     *stmt;
	int		      rc;

	*rp = NULL;
	if ((stmt = store_stmt(s, SQL_GET_RELEASE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		store_stmt_done(stmt);
		return (store_error(cause, STORE_ENOTFOUND, "no release %lld",
		    (long long)id));
	}
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, cause, "cannot read release %lld",
		    (long long)id);
		store_stmt_done(stmt);
		return (rc);
	}
	r = xcalloc(1, sizeof *r);
	r->id = sqlite3_column_int64(stmt, 0);
	r->app_id = sqlite3_column_int64(stmt, 1);
	r->app = store_column_text(stmt, 2);
	r->bucket = store_column_text(stmt, 3);
	r->key = store_column_text(stmt, 4);
	r->version_id = store_column_text(stmt, 5);
	r->etag = store_column_text(stmt, 6);
	r->size = sqlite3_column_type(stmt, 7) == SQLITE_NULL ?
		      -1 :
		      sqlite3_column_int64(stmt, 7);
	r->version = store_column_text(stmt, 8);
	r->message = store_column_text(stmt, 9);
	r->author = store_column_text(stmt, 10);
	r->manifest = store_column_text(stmt, 11);
	r->status = store_release_status_from_name(
	    (const char *)sqlite3_column_text(stmt, 12));
	r->reason = store_column_text(stmt, 13);
	r->received_at = sqlite3_column_int64(stmt, 14);
	r->updated_at = sqlite3_column_int64(stmt, 15);
	store_stmt_done(stmt);
	*rp = r;
	return (0);
}

/* --- Runs and stages --------------------------------------------------- */

int
store_create_run(struct store *s, const struct store_run_in *in,
    int64_t *run_idp, char **cause)
{
	const struct store_stage_in *st;
	sqlite3_stmt		    *stmt;
	enum store_run_status	     status;
	int64_t			     now, run_id = 0;
	size_t			     i;
	int			     rc;

	if (run_idp != NULL)
		*run_idp = 0;
	status = in->status != 0 ? in->status : STORE_RUN_RECEIVED;
	if ((rc = store_op_begin(s, cause)) != 0)
		return (rc);
	now = store_now(s);

	if ((stmt = store_stmt(s, SQL_CREATE_RUN, cause)) == NULL) {
		rc = STORE_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, in->release_id);
	store_bind_text(stmt, 2,
	    store_run_kind_name(in->kind != 0 ? in->kind : STORE_RUN_NORMAL));
	store_bind_text(stmt, 3, store_run_status_name(status));
	store_bind_text(stmt, 4, in->reason);
	store_bind_text(stmt, 5, in->requested_by);
	store_bind_id(stmt, 6, in->rollback_of);
	sqlite3_bind_int64(stmt, 7, now);
	if (store_run_status_finished(status))
		sqlite3_bind_int64(stmt, 8, now);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot create a run of release "
		    "%lld",
		    (long long)in->release_id);
		store_stmt_done(stmt);
		goto out;
	}
	store_stmt_done(stmt);
	if (sqlite3_changes(s->db) != 1) {
		rc = store_error(cause, STORE_ENOTFOUND,
		    "cannot create a run: "
		    "no release %lld",
		    (long long)in->release_id);
		goto out;
	}
	run_id = sqlite3_last_insert_rowid(s->db);

	for (i = 0; i < in->nstages; i++) {
		st = &in->stages[i];
		if ((stmt = store_stmt(s, SQL_CREATE_STAGE, cause)) == NULL) {
			rc = STORE_EIO;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, run_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)i);
		store_bind_text(stmt, 3, st->environment);
		sqlite3_bind_int(stmt, 4,
		    st->required_approvals > 0 ? st->required_approvals : 1);
		sqlite3_bind_int64(stmt, 5, now);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			rc = store_fail(s, cause,
			    "cannot create stage %s of "
			    "run %lld",
			    st->environment != NULL ? st->environment :
						      "(null)",
			    (long long)run_id);
			store_stmt_done(stmt);
			goto out;
		}
		store_stmt_done(stmt);
	}

out:
	if (rc != 0) {
		store_op_end(s, 0, NULL);
		return (rc);
	}
	if ((rc = store_op_end(s, 1, cause)) != 0)
		return (rc);
	if (run_idp != NULL)
		*run_idp = run_id;
	return (0);
}

/*
 * A compare-and-set update found no row in the expected state: say
 * whether the row is missing or elsewhere.
 */
static int
store_status_conflict(struct store *s, const char *sql, const char *what,
    int64_t id, const char *from, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rc = store_error(cause, STORE_ECONFLICT,
		    "%s %lld is %s, not "
		    "%s",
		    what, (long long)id, sqlite3_column_text(stmt, 0), from);
	} else if (rc == SQLITE_DONE) {
		rc = store_error(cause, STORE_ENOTFOUND, "no %s %lld", what,
		    (long long)id);
	} else
		rc = store_fail(s, cause, "cannot read %s %lld", what,
		    (long long)id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_set_run_status(struct store *s, int64_t run_id,
    enum store_run_status from, enum store_run_status to, const char *reason,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_SET_RUN_STATUS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	store_bind_text(stmt, 2, store_run_status_name(from));
	store_bind_text(stmt, 3, store_run_status_name(to));
	store_bind_text(stmt, 4, reason);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	sqlite3_bind_int(stmt, 6, store_run_status_finished(to));
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "run %lld %s -> %s",
		    (long long)run_id, store_run_status_name(from),
		    store_run_status_name(to));
		store_stmt_done(stmt);
		return (rc);
	}
	store_stmt_done(stmt);
	if (sqlite3_changes(s->db) != 1) {
		return (store_status_conflict(s, SQL_RUN_STATUS, "run", run_id,
		    store_run_status_name(from), cause));
	}
	return (0);
}

int
store_set_stage_status(struct store *s, int64_t stage_id,
    enum store_stage_status from, enum store_stage_status to,
    const char *reason, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_SET_STAGE_STATUS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	store_bind_text(stmt, 2, store_stage_status_name(from));
	store_bind_text(stmt, 3, store_stage_status_name(to));
	store_bind_text(stmt, 4, reason);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	sqlite3_bind_int(stmt, 6, store_stage_status_finished(to));
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "stage %lld %s -> %s",
		    (long long)stage_id, store_stage_status_name(from),
		    store_stage_status_name(to));
		store_stmt_done(stmt);
		return (rc);
	}
	store_stmt_done(stmt);
	if (sqlite3_changes(s->db) != 1) {
		return (store_status_conflict(s, SQL_STAGE_STATUS, "stage",
		    stage_id, store_stage_status_name(from), cause));
	}
	return (0);
}

/* Fills a run from a row of SQL_RUN_COLUMNS. */
static void
store_read_run(sqlite3_stmt *stmt, struct store_run *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(stmt, 0);
	r->release_id = sqlite3_column_int64(stmt, 1);
	r->app_id = sqlite3_column_int64(stmt, 2);
	r->app = store_column_text(stmt, 3);
	r->version = store_column_text(stmt, 4);
	r->author = store_column_text(stmt, 5);
	r->message = store_column_text(stmt, 6);
	r->kind = store_run_kind_from_name(
	    (const char *)sqlite3_column_text(stmt, 7));
	r->status = store_run_status_from_name(
	    (const char *)sqlite3_column_text(stmt, 8));
	r->reason = store_column_text(stmt, 9);
	r->requested_by = store_column_text(stmt, 10);
	r->rollback_of = sqlite3_column_int64(stmt, 11);
	r->created_at = sqlite3_column_int64(stmt, 12);
	r->updated_at = sqlite3_column_int64(stmt, 13);
	r->finished_at = sqlite3_column_int64(stmt, 14);
	r->source_bucket = store_column_text(stmt, 15);
	r->source_key = store_column_text(stmt, 16);
	r->source_version_id = store_column_text(stmt, 17);
}

static void
store_run_clear(struct store_run *r)
{
	struct store_stage *st;
	size_t		    i;

	free(r->app);
	free(r->version);
	free(r->author);
	free(r->message);
	free(r->reason);
	free(r->requested_by);
	free(r->source_bucket);
	free(r->source_key);
	free(r->source_version_id);
	for (i = 0; i < r->nstages; i++) {
		st = &r->stages[i];
		free(st->environment);
		free(st->reason);
		free(st->change_set_name);
		free(st->change_set_arn);
		free(st->stack_id);
	}
	free(r->stages);
}

void
store_run_free(struct store_run *r)
{
	if (r == NULL)
		return;
	store_run_clear(r);
	free(r);
}

static int
store_read_stages(struct store *s, struct store_run *r, char **cause)
{
	struct store_stage *st;
	sqlite3_stmt	   *stmt;
	size_t		    cap = 0;
	int		    rc;

	if ((stmt = store_stmt(s, SQL_GET_STAGES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, r->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (r->nstages == cap) {
			cap = cap ? cap * 2 : 4;
			r->stages = xreallocarray(r->stages, cap,
			    sizeof *r->stages);
		}
		st = &r->stages[r->nstages++];
		memset(st, 0, sizeof *st);
		st->id = sqlite3_column_int64(stmt, 0);
		st->run_id = sqlite3_column_int64(stmt, 1);
		st->position = sqlite3_column_int(stmt, 2);
		st->environment = store_column_text(stmt, 3);
		st->status = store_stage_status_from_name(
		    (const char *)sqlite3_column_text(stmt, 4));
		st->reason = store_column_text(stmt, 5);
		st->attempt = sqlite3_column_int(stmt, 6);
		st->required_approvals = sqlite3_column_int(stmt, 7);
		st->change_set_name = store_column_text(stmt, 8);
		st->change_set_arn = store_column_text(stmt, 9);
		st->stack_id = store_column_text(stmt, 10);
		st->deadline_at = sqlite3_column_int64(stmt, 11);
		st->created_at = sqlite3_column_int64(stmt, 12);
		st->updated_at = sqlite3_column_int64(stmt, 13);
		st->started_at = sqlite3_column_int64(stmt, 14);
		st->finished_at = sqlite3_column_int64(stmt, 15);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read the stages of run %lld",
		    (long long)r->id);
		store_stmt_done(stmt);
		return (rc);
	}
	store_stmt_done(stmt);
	return (0);
}

int
store_get_run(struct store *s, int64_t run_id, struct store_run **rp,
    char **cause)
{
	struct store_run *r;
	sqlite3_stmt	 *stmt;
	int		  rc;

	*rp = NULL;
	if ((stmt = store_stmt(s, SQL_GET_RUN, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		store_stmt_done(stmt);
		return (store_error(cause, STORE_ENOTFOUND, "no run %lld",
		    (long long)run_id));
	}
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, cause, "cannot read run %lld",
		    (long long)run_id);
		store_stmt_done(stmt);
		return (rc);
	}
	r = xcalloc(1, sizeof *r);
	store_read_run(stmt, r);
	store_stmt_done(stmt);
	if ((rc = store_read_stages(s, r, cause)) != 0) {
		store_run_free(r);
		return (rc);
	}
	*rp = r;
	return (0);
}

int
store_unfinished_runs(struct store *s, struct store_runs_page **pp,
    char **cause)
{
	struct store_runs_page *p;
	sqlite3_stmt	       *stmt;
	size_t			cap = 0, i;
	int			rc;

	*pp = NULL;
	if ((stmt = store_stmt(s, SQL_UNFINISHED_RUNS, cause)) == NULL)
		return (STORE_EIO);
	p = xcalloc(1, sizeof *p);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (p->n == cap) {
			cap = cap ? cap * 2 : 16;
			p->runs = xreallocarray(p->runs, cap, sizeof *p->runs);
		}
		store_read_run(stmt, &p->runs[p->n++]);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list unfinished runs");
		store_stmt_done(stmt);
		store_runs_page_free(p);
		return (rc);
	}
	store_stmt_done(stmt);
	for (i = 0; i < p->n; i++) {
		if ((rc = store_read_stages(s, &p->runs[i], cause)) != 0) {
			store_runs_page_free(p);
			return (rc);
		}
	}
	*pp = p;
	return (0);
}

/* --- Approvals -------------------------------------------------------- */

static const char *const store_decision_names[] = {
	[STORE_DECISION_APPROVE] = "approve",
	[STORE_DECISION_REJECT] = "reject",
	[STORE_DECISION_AUTHORISE] = "authorise",
};
static const char *const store_via_names[] = {
	[STORE_VIA_PORTAL] = "portal",
	[STORE_VIA_API] = "api",
	[STORE_VIA_CLI] = "cli",
};

const char *
store_decision_name(enum store_decision v)
{
	if ((int)v < 1 || v > STORE_DECISION_AUTHORISE)
		return ("unknown");
	return (store_decision_names[v]);
}

const char *
store_via_name(enum store_via v)
{
	if ((int)v < 1 || v > STORE_VIA_CLI)
		return ("unknown");
	return (store_via_names[v]);
}

int
store_record_approval(struct store *s, const struct store_approval_in *a,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_RECORD_APPROVAL, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, a->stage_id);
	sqlite3_bind_int(stmt, 2, a->attempt);
	sqlite3_bind_int(stmt, 3, a->gate != 0);
	store_bind_text(stmt, 4, a->user);
	store_bind_text(stmt, 5, store_decision_name(a->decision));
	store_bind_text(stmt, 6, a->comment);
	store_bind_text(stmt, 7, store_via_name(a->via));
	sqlite3_bind_int64(stmt, 8, store_now(s));
	store_bind_text(stmt, 9, a->person);
	store_bind_text(stmt, 10, a->signin);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot record %s by %s on stage %lld",
		    store_decision_name(a->decision),
		    a->user != NULL ? a->user : "(nobody)",
		    (long long)a->stage_id);
		if (rc == STORE_ECONFLICT && cause != NULL) {
			free(*cause);
			*cause = xasprintf("%s has already decided on %s of "
					   "stage %lld",
			    a->user, a->gate ? "the gate" : "the change set",
			    (long long)a->stage_id);
		}
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_approval_by_person(struct store *s, int64_t stage_id, int attempt,
    int gate, const char *person, char **userp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	*userp = NULL;
	if ((stmt = store_stmt(s, SQL_APPROVAL_BY_PERSON, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	sqlite3_bind_int(stmt, 3, gate != 0);
	store_bind_text(stmt, 4, person);
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		*userp = xstrdup((const char *)sqlite3_column_text(stmt, 0));
		rc = 0;
		break;
	case SQLITE_DONE:
		rc = STORE_ENOTFOUND;
		break;
	default:
		rc = store_fail(s, cause,
		    "cannot read the decisions on stage "
		    "%lld",
		    (long long)stage_id);
		break;
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_count_approvals(struct store *s, int64_t stage_id, int attempt, int gate,
    int *np, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*np = 0;
	if ((stmt = store_stmt(s, SQL_COUNT_APPROVALS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	sqlite3_bind_int(stmt, 3, gate != 0);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*np = sqlite3_column_int(stmt, 0);
	else
		rc = store_fail(s, cause,
		    "cannot count approvals of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

/* --- Pages of runs ------------------------------------------------------ */

const char *
store_runs_sql(struct store *s, unsigned int mask)
{
	const char *const *filters = store_runs_filters;
	struct buf	   b;
	const char *and = "WHERE ";
	size_t i;

	if (s->runs_sql[mask] != NULL)
		return (s->runs_sql[mask]);
	buf_init(&b, 4096);
	buf_appends(&b, SQL_RUN_COLUMNS);
	if ((mask & ~(RUNS_SINCE | RUNS_UNTIL | RUNS_BEFORE)) == RUNS_ENV) {
		filters = store_runs_by_stage_filters;
		buf_appends(&b, "JOIN stages st ON st.run_id = r.id ");
	}
	for (i = 0; i < STORE_RUNS_FILTERS; i++) {
		if (mask & (1U << i)) {
			buf_printf(&b, "%s%s ", and, filters[i]);
			and = "AND ";
		}
	}
	if (filters == store_runs_by_stage_filters)
		buf_appends(&b, "ORDER BY st.created_at DESC, st.run_id DESC ");
	else
		buf_appends(&b, "ORDER BY r.created_at DESC, r.id DESC ");
	buf_appends(&b, "LIMIT :limit");
	s->runs_sql[mask] = buf_take(&b, NULL);
	return (s->runs_sql[mask]);
}

void
store_runs_page_free(struct store_runs_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		store_run_clear(&p->runs[i]);
	free(p->runs);
	free(p);
}

int
store_runs_page(struct store *s, const struct store_runs_filter *f,
    struct store_runs_page **pp, char **cause)
{
	struct store_runs_page *p;
	sqlite3_stmt	       *stmt;
	unsigned int		mask = 0;
	int			limit, rc;

	*pp = NULL;
	limit = f->limit != 0 ? f->limit : 50;
	if (limit < 1 || limit > 1000) {
		return (store_error(cause, STORE_EINVAL,
		    "runs page limit %d "
		    "is not between 1 and 1000",
		    limit));
	}
	if (f->app != NULL)
		mask |= RUNS_APP;
	if (f->environment != NULL)
		mask |= RUNS_ENV;
	if (f->status != 0)
		mask |= RUNS_STATUS;
	if (f->version != NULL)
		mask |= RUNS_VERSION;
	if (f->author != NULL)
		mask |= RUNS_AUTHOR;
	if (f->since != 0)
		mask |= RUNS_SINCE;
	if (f->until != 0)
		mask |= RUNS_UNTIL;
	if (f->before != 0)
		mask |= RUNS_BEFORE;

	if ((stmt = store_stmt(s, store_runs_sql(s, mask), cause)) == NULL)
		return (STORE_EIO);
	store_bind_named_text(stmt, ":app", f->app);
	store_bind_named_text(stmt, ":environment", f->environment);
	store_bind_named_text(stmt, ":status",
	    f->status != 0 ? store_run_status_name(f->status) : NULL);
	store_bind_named_text(stmt, ":version", f->version);
	store_bind_named_text(stmt, ":author", f->author);
	store_bind_named_int64(stmt, ":since", f->since);
	store_bind_named_int64(stmt, ":until", f->until);
	store_bind_named_int64(stmt, ":before", f->before);
	store_bind_named_int64(stmt, ":limit", limit + 1); /* is there more? */

	p = xcalloc(1, sizeof *p);
	p->runs = xcalloc((size_t)limit, sizeof *p->runs);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (p->n == (size_t)limit) {
			p->next_before = p->runs[p->n - 1].id;
			continue;
		}
		store_read_run(stmt, &p->runs[p->n++]);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list runs");
		store_stmt_done(stmt);
		store_runs_page_free(p);
		return (rc);
	}
	store_stmt_done(stmt);
	*pp = p;
	return (0);
}
