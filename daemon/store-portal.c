/*
 * Read-only queries behind the portal's pages that store-query.c and
 * store-run.c do not already answer: the stages of unfinished runs (the
 * dashboard's "waiting for you" and each environment's run in
 * progress), what runs in an environment, an app's releases, and the
 * cursor of the history's "Newer" link.  Every query walks an index
 * (tests/unit/test-portal-pages.c checks their plans on a database of
 * many runs); nothing here writes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store-int.h"
#include "xmalloc.h"

/*
 * The stages of every unfinished run (runs_unfinished is a partial index
 * on exactly these statuses), with the number of approvals (or
 * authorisations, at the gate) of the stage's current attempt and
 * whether ?1 already decided on it.
 */
static const char SQL_ACTIVE_STAGES[] =
    "SELECT r.id, a.name, r.version, r.author, r.kind, r.created_at, "
    "s.id, s.environment, s.position, s.status, s.attempt, "
    "s.required_approvals, s.updated_at, s.deadline_at, "
    "(SELECT count(*) FROM approvals ap WHERE ap.stage_id = s.id AND "
    "ap.attempt = s.attempt AND ap.gate = (s.status = 'awaiting_gate') "
    "AND ap.decision <> 'reject'), "
    "EXISTS (SELECT 1 FROM approvals ap WHERE ap.stage_id = s.id AND "
    "ap.attempt = s.attempt AND ap.gate = (s.status = 'awaiting_gate') "
    "AND ap.user_name = ?1) "
    "FROM runs r JOIN stages s ON s.run_id = r.id "
    "JOIN apps a ON a.id = r.app_id "
    "WHERE r.status IN ('received', 'running') "
    "ORDER BY r.created_at, r.id, s.position";

/*
 * What runs in an environment: its newest deployment.  Deployments are
 * appended as they happen, so the highest id is the newest, and the
 * index on (app_id, environment) hands it out without sorting.
 */
static const char SQL_DEPLOYMENT[] =
    "SELECT d.id, d.app_id, d.environment, d.release_id, rel.version, "
    "d.run_id, d.stage_id, d.deployed_at FROM deployments d "
    "JOIN releases rel ON rel.id = d.release_id "
    "WHERE d.app_id = ?1 AND d.environment = ?2 "
    "ORDER BY d.id DESC LIMIT 1";

/*
 * An app's releases newest first (releases_app), each with its first
 * normal run and the environments it was ever deployed to (through
 * runs_release, the stages of those runs and deployments' unique
 * stage_id).
 */
#define SQL_APP_RELEASES_COLUMNS                                            \
	"SELECT rel.id, rel.version, rel.author, rel.message, rel.status, " \
	"rel.reason, rel.received_at, "                                     \
	"(SELECT min(r.id) FROM runs r WHERE r.release_id = rel.id AND "    \
	"r.kind = 'normal'), "                                              \
	"(SELECT group_concat(environment, ' ') FROM (SELECT DISTINCT "     \
	"s.environment AS environment FROM runs r "                         \
	"JOIN stages s ON s.run_id = r.id "                                 \
	"JOIN deployments d ON d.stage_id = s.id "                          \
	"WHERE r.release_id = rel.id ORDER BY s.position)) "                \
	"FROM releases rel WHERE rel.app_id = ?1 "
static const char SQL_RELEASE_DEPLOYED_TO[] =
    "SELECT group_concat(environment, ' ') FROM (SELECT DISTINCT "
    "s.environment AS environment FROM runs r "
    "JOIN stages s ON s.run_id = r.id "
    "JOIN deployments d ON d.stage_id = s.id "
    "WHERE r.release_id = ?1 ORDER BY s.position)";
static const char SQL_APP_RELEASES[] = SQL_APP_RELEASES_COLUMNS
    "ORDER BY rel.received_at DESC, rel.id DESC LIMIT ?3";
static const char SQL_APP_RELEASES_BEFORE[] = SQL_APP_RELEASES_COLUMNS
    "AND (rel.received_at, rel.id) < ((SELECT received_at FROM releases "
    "WHERE id = ?2), ?2) "
    "ORDER BY rel.received_at DESC, rel.id DESC LIMIT ?3";

/*
 * The stages of a page of runs, in one statement: the ids come as a JSON
 * array and each is looked up through stages' (run_id, position) index.
 */
static const char SQL_STAGES_OF_RUNS[] =
    "SELECT s.run_id, s.environment, s.position, s.status "
    "FROM json_each(?1) j JOIN stages s ON s.run_id = j.value "
    "ORDER BY s.run_id, s.position";

/*
 * The history's "Newer" link: the runs just newer than a page's first
 * run, oldest first, with the filters of store_runs_page (the same
 * pieces, the comparison turned round).  One statement per combination
 * of filters, built once for the process.
 */
#define NEWER_FILTERS 8
static const char *const newer_filters[NEWER_FILTERS] = {
	"r.app_id = (SELECT id FROM apps WHERE name = :app)",
	"EXISTS (SELECT 1 FROM stages st WHERE st.run_id = r.id AND "
	"st.environment = :environment)",
	"r.status = :status",
	"r.version = :version",
	"r.author = :author",
	"r.created_at >= :since",
	"r.created_at < :until",
	"(r.created_at, r.id) > ((SELECT created_at FROM runs WHERE "
	"id = :after), :after)",
};
static const char *const newer_stage_filters[NEWER_FILTERS] = {
	NULL,
	"st.environment = :environment",
	NULL,
	NULL,
	NULL,
	"st.created_at >= :since",
	"st.created_at < :until",
	"(st.created_at, st.run_id) > ((SELECT created_at FROM runs WHERE "
	"id = :after), :after)",
};
#define NEWER_APP     (1 << 0)
#define NEWER_ENV     (1 << 1)
#define NEWER_STATUS  (1 << 2)
#define NEWER_VERSION (1 << 3)
#define NEWER_AUTHOR  (1 << 4)
#define NEWER_SINCE   (1 << 5)
#define NEWER_UNTIL   (1 << 6)
#define NEWER_AFTER   (1 << 7)

static char	     *newer_sql[1 << NEWER_FILTERS];
static pthread_once_t newer_once = PTHREAD_ONCE_INIT;

static void
newer_build(void)
{
	const char *const *filters;
	struct buf	   b;
	const char *and;
	unsigned int mask;
	size_t	     i;

	for (mask = 0; mask < (1U << NEWER_FILTERS); mask++) {
		buf_init(&b, 4096);
		filters = newer_filters;
		if ((mask & ~(NEWER_SINCE | NEWER_UNTIL | NEWER_AFTER)) ==
		    NEWER_ENV) {
			filters = newer_stage_filters;
			buf_appends(&b, "SELECT st.run_id FROM stages st ");
		} else
			buf_appends(&b, "SELECT r.id FROM runs r ");
		and = "WHERE ";
		for (i = 0; i < NEWER_FILTERS; i++) {
			if (mask & (1U << i)) {
				buf_printf(&b, "%s%s ", and, filters[i]);
				and = "AND ";
			}
		}
		if (filters == newer_stage_filters)
			buf_appends(&b, "ORDER BY st.created_at, st.run_id ");
		else
			buf_appends(&b, "ORDER BY r.created_at, r.id ");
		buf_appends(&b, "LIMIT :limit");
		newer_sql[mask] = buf_take(&b, NULL);
	}
}

static const char *
store_newer_sql(unsigned int mask)
{
	pthread_once(&newer_once, newer_build);
	return (newer_sql[mask & ((1U << NEWER_FILTERS) - 1)]);
}

/* Room for one more item in a list that grows by doubling. */
static void *
store_portal_grow(void *items, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return (items);
	*cap = *cap != 0 ? *cap * 2 : 8;
	return (xreallocarray(items, *cap, size));
}

/* --- Stages of unfinished runs -------------------------------------------- */

void
store_active_stages_free(struct store_active_stages *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].app);
		free(l->items[i].version);
		free(l->items[i].author);
		free(l->items[i].environment);
	}
	free(l->items);
	free(l);
}

int
store_active_stages(struct store *s, const char *user,
    struct store_active_stages **lp, char **cause)
{
	struct store_active_stages *l;
	struct store_active_stage  *a;
	sqlite3_stmt		   *stmt;
	size_t			    cap = 0;
	int			    rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_ACTIVE_STAGES, cause)) == NULL)
		return (STORE_EIO);
	store_bind_text(stmt, 1, user);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = store_portal_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		a = &l->items[l->n++];
		memset(a, 0, sizeof *a);
		a->run_id = sqlite3_column_int64(stmt, 0);
		a->app = store_column_text(stmt, 1);
		a->version = store_column_text(stmt, 2);
		a->author = store_column_text(stmt, 3);
		a->kind = store_run_kind_from_name(
		    (const char *)sqlite3_column_text(stmt, 4));
		a->run_created_at = sqlite3_column_int64(stmt, 5);
		a->stage_id = sqlite3_column_int64(stmt, 6);
		a->environment = store_column_text(stmt, 7);
		a->position = sqlite3_column_int(stmt, 8);
		a->status = store_stage_status_from_name(
		    (const char *)sqlite3_column_text(stmt, 9));
		a->attempt = sqlite3_column_int(stmt, 10);
		a->required_approvals = sqlite3_column_int(stmt, 11);
		a->updated_at = sqlite3_column_int64(stmt, 12);
		a->deadline_at = store_column_int64(stmt, 13);
		a->approvals = sqlite3_column_int(stmt, 14);
		a->decided = sqlite3_column_int(stmt, 15) != 0;
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot list the stages of "
		    "unfinished runs");
		store_stmt_done(stmt);
		store_active_stages_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

/* --- What runs where ------------------------------------------------------ */

int
store_newest_deployment(struct store *s, int64_t app_id,
    const char *environment, struct store_deployment **dp, char **cause)
{
	struct store_deployment *d;
	sqlite3_stmt		*stmt;
	int			 rc;

	*dp = NULL;
	if ((stmt = store_stmt(s, SQL_DEPLOYMENT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	store_bind_text(stmt, 2, environment);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		store_stmt_done(stmt);
		return (store_error(cause, STORE_ENOTFOUND,
		    "nothing deployed "
		    "to %s",
		    environment));
	}
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, cause, "cannot read the deployments of %s",
		    environment);
		store_stmt_done(stmt);
		return (rc);
	}
	d = xcalloc(1, sizeof *d);
	d->id = sqlite3_column_int64(stmt, 0);
	d->app_id = sqlite3_column_int64(stmt, 1);
	d->environment = store_column_text(stmt, 2);
	d->release_id = sqlite3_column_int64(stmt, 3);
	d->version = store_column_text(stmt, 4);
	d->run_id = sqlite3_column_int64(stmt, 5);
	d->stage_id = sqlite3_column_int64(stmt, 6);
	d->deployed_at = sqlite3_column_int64(stmt, 7);
	store_stmt_done(stmt);
	*dp = d;
	return (0);
}

/* --- An app's releases ---------------------------------------------------- */

void
store_app_releases_free(struct store_app_releases *l)
{
	struct store_app_release *r;
	size_t			  i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		r = &l->items[i];
		free(r->version);
		free(r->author);
		free(r->message);
		free(r->reason);
		free(r->deployed_to);
	}
	free(l->items);
	free(l);
}

int
store_app_releases(struct store *s, int64_t app_id, int64_t before, int limit,
    struct store_app_releases **lp, char **cause)
{
	struct store_app_releases *l;
	struct store_app_release  *r;
	sqlite3_stmt		  *stmt;
	size_t			   cap = 0;
	int			   rc;

	*lp = NULL;
	if (limit == 0)
		limit = 50;
	if (limit < 1 || limit > 1000)
		return (store_error(cause, STORE_EINVAL,
		    "releases page limit "
		    "%d is not between 1 and 1000",
		    limit));
	if ((stmt = store_stmt(s,
		 before != 0 ? SQL_APP_RELEASES_BEFORE : SQL_APP_RELEASES,
		 cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, app_id);
	if (before != 0)
		sqlite3_bind_int64(stmt, 2, before);
	sqlite3_bind_int(stmt, 3, limit + 1); /* is there more? */
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (l->n == (size_t)limit) {
			l->next_before = l->items[l->n - 1].id;
			continue;
		}
		l->items = store_portal_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		r = &l->items[l->n++];
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(stmt, 0);
		r->version = store_column_text(stmt, 1);
		r->author = store_column_text(stmt, 2);
		r->message = store_column_text(stmt, 3);
		r->status = store_release_status_from_name(
		    (const char *)sqlite3_column_text(stmt, 4));
		r->reason = store_column_text(stmt, 5);
		r->received_at = sqlite3_column_int64(stmt, 6);
		r->run_id = store_column_int64(stmt, 7);
		r->deployed_to = store_column_text(stmt, 8);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot list the releases of app "
		    "%lld",
		    (long long)app_id);
		store_stmt_done(stmt);
		store_app_releases_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

/* --- Stages of a page of runs ------------------------------------------- */

void
store_stage_briefs_free(struct store_stage_briefs *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i].environment);
	free(l->items);
	free(l);
}

int
store_stages_of_runs(struct store *s, const int64_t *run_ids, size_t n,
    struct store_stage_briefs **lp, char **cause)
{
	struct store_stage_briefs *l;
	struct store_stage_brief  *b;
	struct buf		   ids;
	sqlite3_stmt		  *stmt;
	size_t			   cap = 0, i;
	int			   rc;

	*lp = NULL;
	buf_init(&ids, 64 + n * 21);
	buf_appends(&ids, "[");
	for (i = 0; i < n; i++)
		buf_printf(&ids, "%s%lld", i > 0 ? "," : "",
		    (long long)run_ids[i]);
	buf_appends(&ids, "]");
	if ((stmt = store_stmt(s, SQL_STAGES_OF_RUNS, cause)) == NULL) {
		buf_free(&ids);
		return (STORE_EIO);
	}
	store_bind_text(stmt, 1, ids.data);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->items = store_portal_grow(l->items, l->n, &cap,
		    sizeof *l->items);
		b = &l->items[l->n++];
		memset(b, 0, sizeof *b);
		b->run_id = sqlite3_column_int64(stmt, 0);
		b->environment = store_column_text(stmt, 1);
		b->position = sqlite3_column_int(stmt, 2);
		b->status = store_stage_status_from_name(
		    (const char *)sqlite3_column_text(stmt, 3));
	}
	buf_free(&ids);
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the stages of a page "
		    "of runs");
		store_stmt_done(stmt);
		store_stage_briefs_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

int
store_release_deployed_to(struct store *s, int64_t release_id, char **envsp,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	*envsp = NULL;
	if ((stmt = store_stmt(s, SQL_RELEASE_DEPLOYED_TO, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*envsp = store_column_text(stmt, 0);
	else
		rc = store_fail(s, cause,
		    "cannot read where release %lld was "
		    "deployed",
		    (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

/* --- The history's Newer link ---------------------------------------------- */

static unsigned int
store_newer_mask(const struct store_runs_filter *f)
{
	unsigned int mask = NEWER_AFTER;

	if (f->app != NULL)
		mask |= NEWER_APP;
	if (f->environment != NULL)
		mask |= NEWER_ENV;
	if (f->status != 0)
		mask |= NEWER_STATUS;
	if (f->version != NULL)
		mask |= NEWER_VERSION;
	if (f->author != NULL)
		mask |= NEWER_AUTHOR;
	if (f->since != 0)
		mask |= NEWER_SINCE;
	if (f->until != 0)
		mask |= NEWER_UNTIL;
	return (mask);
}

int
store_runs_newer(struct store *s, const struct store_runs_filter *f,
    int64_t after, int64_t *beforep, char **cause)
{
	sqlite3_stmt *stmt;
	int	      limit, rc, n = 0;

	*beforep = 0;
	limit = f->limit != 0 ? f->limit : 50;
	if (limit < 1 || limit > 1000)
		return (store_error(cause, STORE_EINVAL,
		    "runs page limit %d "
		    "is not between 1 and 1000",
		    limit));
	if ((stmt = store_stmt(s, store_newer_sql(store_newer_mask(f)),
		 cause)) == NULL)
		return (STORE_EIO);
	store_bind_named_text(stmt, ":app", f->app);
	store_bind_named_text(stmt, ":environment", f->environment);
	store_bind_named_text(stmt, ":status",
	    f->status != 0 ? store_run_status_name(f->status) : NULL);
	store_bind_named_text(stmt, ":version", f->version);
	store_bind_named_text(stmt, ":author", f->author);
	store_bind_named_int64(stmt, ":since", f->since);
	store_bind_named_int64(stmt, ":until", f->until);
	store_bind_named_int64(stmt, ":after", after);
	store_bind_named_int64(stmt, ":limit", limit + 1);
	/* The (limit + 1)th run newer than after bounds the newer page;
	 * with fewer, the newer page is the first. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (++n == limit + 1)
			*beforep = sqlite3_column_int64(stmt, 0);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot list newer runs");
		store_stmt_done(stmt);
		*beforep = 0;
		return (rc);
	}
	store_stmt_done(stmt);
	return (0);
}

/* --- Change detection -------------------------------------------------------- */

static const char SQL_DATA_VERSION[] = "PRAGMA data_version";

int
store_data_version(struct store *s, struct store_version *v, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	memset(v, 0, sizeof *v);
	if ((stmt = store_stmt(s, SQL_DATA_VERSION, cause)) == NULL)
		return (STORE_EIO);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v->others = sqlite3_column_int64(stmt, 0);
	else
		rc = store_fail(s, cause, "cannot read the data version");
	store_stmt_done(stmt);
	v->own = sqlite3_total_changes64(s->db);
	return (rc);
}

/* --- Query plans, for the tests ---------------------------------------------- */

int
store_portal_plan(struct store *s, const char *query, unsigned int mask,
    char **planp, char **cause)
{
	const char   *sql;
	sqlite3_stmt *stmt = NULL;
	struct buf    b;
	char	     *eqp;
	int	      rc;

	*planp = NULL;
	if (strcmp(query, "active_stages") == 0)
		sql = SQL_ACTIVE_STAGES;
	else if (strcmp(query, "release_deployed_to") == 0)
		sql = SQL_RELEASE_DEPLOYED_TO;
	else if (strcmp(query, "stages_of_runs") == 0)
		sql = SQL_STAGES_OF_RUNS;
	else if (strcmp(query, "deployment") == 0)
		sql = SQL_DEPLOYMENT;
	else if (strcmp(query, "app_releases") == 0)
		sql = mask ? SQL_APP_RELEASES_BEFORE : SQL_APP_RELEASES;
	else if (strcmp(query, "runs_newer") == 0)
		sql = store_newer_sql(mask | NEWER_AFTER);
	else if (strcmp(query, "runs_page") == 0)
		sql = store_runs_sql(s, mask);
	else
		return (store_error(cause, STORE_EINVAL, "no query %s", query));
	eqp = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	rc = sqlite3_prepare_v2(s->db, eqp, -1, &stmt, NULL);
	free(eqp);
	if (rc != SQLITE_OK)
		return (store_fail(s, cause, "cannot explain %s", query));
	buf_init(&b, 1 << 20);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		buf_appends(&b, (const char *)sqlite3_column_text(stmt, 3));
		buf_appends(&b, "\n");
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot explain %s", query);
		sqlite3_finalize(stmt);
		buf_free(&b);
		return (rc);
	}
	sqlite3_finalize(stmt);
	*planp = buf_take(&b, NULL);
	return (0);
}
