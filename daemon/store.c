/*
 * The store's connection: opening a database and migrating its schema,
 * transactions, the statement cache, error codes and state names, and
 * the small tables (apps, the audit log).  Releases, runs and stages are
 * in store-run.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-int.h"
#include "store-migrations.h"
#include "wallclock.h"
#include "xmalloc.h"

/* "SGAT", set by sql/001_init.sql. */
#define STORE_APPLICATION_ID 1397178708

/*
 * How long a write waits for the other connection's write lock.  Writes
 * are short (one transition), so this only matters if something is
 * badly wrong; failing then is better than blocking the loop longer.
 */
#define STORE_BUSY_TIMEOUT_MS 5000

static const char *const store_release_status_names[] = {
	[STORE_RELEASE_RECEIVED] = "received",
	[STORE_RELEASE_VALID] = "valid",
	[STORE_RELEASE_INVALID] = "invalid",
};

static const char *const store_run_kind_names[] = {
	[STORE_RUN_NORMAL] = "normal",
	[STORE_RUN_ROLLBACK] = "rollback",
};

static const char *const store_run_status_names[] = {
	[STORE_RUN_RECEIVED] = "received",
	[STORE_RUN_RUNNING] = "running",
	[STORE_RUN_SUCCEEDED] = "succeeded",
	[STORE_RUN_FAILED] = "failed",
	[STORE_RUN_REJECTED] = "rejected",
	[STORE_RUN_EXPIRED] = "expired",
	[STORE_RUN_SUPERSEDED] = "superseded",
	[STORE_RUN_CANCELLED] = "cancelled",
	[STORE_RUN_INVALID] = "invalid",
};

static const char *const store_stage_status_names[] = {
	[STORE_STAGE_PENDING] = "pending",
	[STORE_STAGE_PROMOTING] = "promoting",
	[STORE_STAGE_CREATING_CHANGE_SET] = "creating_change_set",
	[STORE_STAGE_AWAITING_APPROVAL] = "awaiting_approval",
	[STORE_STAGE_EXECUTING] = "executing",
	[STORE_STAGE_WAITING_STACK] = "waiting_stack",
	[STORE_STAGE_WAITING_SERVICES] = "waiting_services",
	[STORE_STAGE_CHECKING] = "checking",
	[STORE_STAGE_AWAITING_GATE] = "awaiting_gate",
	[STORE_STAGE_AWAITING_WINDOW] = "awaiting_window",
	[STORE_STAGE_DONE] = "done",
	[STORE_STAGE_NO_CHANGES] = "no_changes",
	[STORE_STAGE_FAILED] = "failed",
	[STORE_STAGE_REJECTED] = "rejected",
	[STORE_STAGE_EXPIRED] = "expired",
	[STORE_STAGE_SUPERSEDED] = "superseded",
	[STORE_STAGE_CANCELLED] = "cancelled",
	[STORE_STAGE_ROLLED_BACK] = "rolled_back",
};

#define NITEMS(a) (sizeof(a) / sizeof(a)[0])

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_BEGIN_READ[] = "BEGIN DEFERRED";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT store_op";
static const char SQL_RELEASE[] = "RELEASE store_op";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO store_op";
static const char SQL_USER_VERSION[] = "PRAGMA user_version";

static const char SQL_UPSERT_APP[] =
    "INSERT INTO apps (name, created_at, updated_at) VALUES (?1, ?2, ?2) "
    "ON CONFLICT (name) DO UPDATE SET updated_at = ?2";
static const char SQL_APP_ID[] = "SELECT id FROM apps WHERE name = ?1";

static const char SQL_APPEND_AUDIT[] =
    "INSERT INTO audit (at, actor, unix_user, action, subject, run_id, "
    "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_AUDIT_PAGE[] =
    "SELECT id, at, actor, unix_user, action, subject, run_id, detail "
    "FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2";
static const char SQL_AUDIT_PAGE_RUN[] =
    "SELECT id, at, actor, unix_user, action, subject, run_id, detail "
    "FROM audit WHERE run_id = ?3 AND id < ?1 ORDER BY id DESC LIMIT ?2";

int
store_error(char **cause, int error, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (error);
}

static int
store_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return (STORE_ENOTDB);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return (STORE_EBUSY);
	case SQLITE_MISUSE:
		return (STORE_EMISUSE);
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return (STORE_ECONFLICT);
		}
		return (STORE_EINVAL);
	}
	return (STORE_EIO);
}

/*
 * The storage fault, process-wide: the portal's threads have their own
 * connections to the same file, and /healthz must see what the loop's
 * connection and the syncers met.  Set by a write or a sync that failed
 * for the disk's sake, cleared by a probe (a commit, then an fdatasync)
 * that succeeded after it.
 */
static pthread_mutex_t store_fault_lock = PTHREAD_MUTEX_INITIALIZER;
static char	      *store_fault_cause;

void
store_fault_set(const char *fmt, ...)
{
	va_list ap;
	char   *cause;
	int	was;

	va_start(ap, fmt);
	cause = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&store_fault_lock);
	was = store_fault_cause != NULL;
	free(store_fault_cause);
	store_fault_cause = cause;
	pthread_mutex_unlock(&store_fault_lock);
	if (!was)
		log_warnx("database unusable, taking no new work until it "
			  "recovers: %s",
		    cause);
}

void
store_fault_clear(void)
{
	char *was;

	pthread_mutex_lock(&store_fault_lock);
	was = store_fault_cause;
	store_fault_cause = NULL;
	pthread_mutex_unlock(&store_fault_lock);
	if (was != NULL) {
		log_info("database usable again, taking new work (it was: %s)",
		    was);
		free(was);
	}
}

char *
store_fault(void)
{
	char *cause = NULL;

	pthread_mutex_lock(&store_fault_lock);
	if (store_fault_cause != NULL)
		cause = xstrdup(store_fault_cause);
	pthread_mutex_unlock(&store_fault_lock);
	return (cause);
}

int
store_fail(struct store *s, char **cause, const char *fmt, ...)
{
	va_list ap;
	char   *what;
	int	rc;

	rc = sqlite3_extended_errcode(s->db);
	/* The disk, not the query: no new work until it recovers. */
	if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL)
		store_fault_set("cannot write: %s", sqlite3_errmsg(s->db));
	if (cause != NULL) {
		va_start(ap, fmt);
		what = xvasprintf(fmt, ap);
		va_end(ap);
		*cause = xasprintf("%s: %s", what, sqlite3_errmsg(s->db));
		free(what);
	}
	log_debug(LOG_CAT_STORE, "store error path=%s code=%d message=\"%s\"",
	    s->path, rc, sqlite3_errmsg(s->db));
	return (store_code(rc));
}

sqlite3_stmt *
store_stmt(struct store *s, const char *sql, char **cause)
{
	struct store_cached_stmt *c;
	sqlite3_stmt		 *stmt;
	size_t			  i;

	for (i = 0; i < s->nstmts; i++) {
		c = &s->stmts[i];
		if (c->sql == sql) {
			sqlite3_reset(c->stmt);
			sqlite3_clear_bindings(c->stmt);
			return (c->stmt);
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
		NULL) != SQLITE_OK) {
		store_fail(s, cause, "cannot prepare \"%.60s\"", sql);
		return (NULL);
	}
	if (s->nstmts == s->stmts_cap) {
		s->stmts_cap = s->stmts_cap ? s->stmts_cap * 2 : 32;
		s->stmts = xreallocarray(s->stmts, s->stmts_cap,
		    sizeof *s->stmts);
	}
	s->stmts[s->nstmts].sql = sql;
	s->stmts[s->nstmts].stmt = stmt;
	s->nstmts++;
	return (stmt);
}

void
store_stmt_done(sqlite3_stmt *stmt)
{
	if (stmt != NULL)
		sqlite3_reset(stmt);
}

/* Runs a statement that returns no rows. */
static int
store_run_sql(struct store *s, const char *sql, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, sql, cause)) == NULL)
		return (STORE_EIO);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = store_fail(s, cause, "%s", sql);
		store_stmt_done(stmt);
		return (rc);
	}
	store_stmt_done(stmt);
	return (0);
}

int
store_bind_text(sqlite3_stmt *stmt, int i, const char *v)
{
	if (v == NULL)
		return (sqlite3_bind_null(stmt, i));
	return (sqlite3_bind_text(stmt, i, v, -1, SQLITE_TRANSIENT));
}

int
store_bind_id(sqlite3_stmt *stmt, int i, int64_t id)
{
	if (id == 0)
		return (sqlite3_bind_null(stmt, i));
	return (sqlite3_bind_int64(stmt, i, id));
}

int
store_bind_named_text(sqlite3_stmt *stmt, const char *name, const char *v)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(stmt, name)) == 0)
		return (SQLITE_OK);
	return (store_bind_text(stmt, i, v));
}

int
store_bind_named_int64(sqlite3_stmt *stmt, const char *name, int64_t v)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(stmt, name)) == 0)
		return (SQLITE_OK);
	return (sqlite3_bind_int64(stmt, i, v));
}

char *
store_column_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *v;

	if ((v = sqlite3_column_text(stmt, i)) == NULL)
		return (NULL);
	return (xstrdup((const char *)v));
}

int64_t
store_column_int64(sqlite3_stmt *stmt, int i)
{
	return (sqlite3_column_int64(stmt, i)); /* NULL reads as 0 */
}

int
store_name_lookup(const char *const *names, int max, const char *name)
{
	int i;

	if (name == NULL)
		return (0);
	for (i = 1; i <= max; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (i);
	}
	return (0);
}

/* --- Names ----------------------------------------------------------- */

const char *
store_release_status_name(enum store_release_status v)
{
	if ((int)v < 1 || (size_t)v >= NITEMS(store_release_status_names))
		return ("unknown");
	return (store_release_status_names[v]);
}

const char *
store_run_kind_name(enum store_run_kind v)
{
	if ((int)v < 1 || (size_t)v >= NITEMS(store_run_kind_names))
		return ("unknown");
	return (store_run_kind_names[v]);
}

const char *
store_run_status_name(enum store_run_status v)
{
	if ((int)v < 1 || (size_t)v >= NITEMS(store_run_status_names))
		return ("unknown");
	return (store_run_status_names[v]);
}

const char *
store_stage_status_name(enum store_stage_status v)
{
	if ((int)v < 1 || (size_t)v >= NITEMS(store_stage_status_names))
		return ("unknown");
	return (store_stage_status_names[v]);
}

enum store_run_status
store_run_status_from_name(const char *name)
{
	return (store_name_lookup(store_run_status_names, STORE_RUN_STATUS_MAX,
	    name));
}

enum store_stage_status
store_stage_status_from_name(const char *name)
{
	return (store_name_lookup(store_stage_status_names,
	    STORE_STAGE_STATUS_MAX, name));
}

enum store_release_status
store_release_status_from_name(const char *name)
{
	return (store_name_lookup(store_release_status_names,
	    STORE_RELEASE_INVALID, name));
}

enum store_run_kind
store_run_kind_from_name(const char *name)
{
	return (
	    store_name_lookup(store_run_kind_names, STORE_RUN_ROLLBACK, name));
}

int
store_run_status_finished(enum store_run_status v)
{
	return (v >= STORE_RUN_SUCCEEDED && v <= STORE_RUN_STATUS_MAX);
}

int
store_stage_status_finished(enum store_stage_status v)
{
	return (v >= STORE_STAGE_DONE && v <= STORE_STAGE_STATUS_MAX);
}

/* --- Opening and migrating --------------------------------------------- */

int
store_schema_latest(void)
{
	return ((int)store_nmigrations);
}

const char *
store_migration_name(int version)
{
	if (version < 1 || (size_t)version > store_nmigrations)
		return (NULL);
	return (store_migrations[version - 1].name);
}

int
store_schema_version(struct store *s)
{
	return (s->version);
}

static int64_t
store_real_clock(void *arg)
{
	return (wallclock_ms());
}

void
store_set_clock(struct store *s, int64_t (*now_cb)(void *), void *arg)
{
	s->now_cb = now_cb != NULL ? now_cb : store_real_clock;
	s->now_arg = arg;
}

int64_t
store_now(struct store *s)
{
	return (s->now_cb(s->now_arg));
}

/* Reads an integer PRAGMA (not cached: used while opening only). */
static int
store_pragma_int(struct store *s, const char *pragma, int *vp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if (sqlite3_prepare_v2(s->db, pragma, -1, &stmt, NULL) != SQLITE_OK)
		return (store_fail(s, cause, "%s", s->path));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*vp = sqlite3_column_int(stmt, 0);
	else if (rc == SQLITE_DONE)
		*vp = 0;
	else {
		rc = store_fail(s, cause, "%s", s->path);
		sqlite3_finalize(stmt);
		return (rc);
	}
	sqlite3_finalize(stmt);
	return (0);
}

/* Sets a PRAGMA and returns what SQLite answers (the journal mode). */
static int
store_pragma_set(struct store *s, const char *pragma, char *answer, size_t len,
    char **cause)
{
	sqlite3_stmt	    *stmt;
	const unsigned char *v;
	int		     rc;

	if (sqlite3_prepare_v2(s->db, pragma, -1, &stmt, NULL) != SQLITE_OK)
		return (store_fail(s, cause, "%s: %s", s->path, pragma));
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "%s: %s", s->path, pragma);
		sqlite3_finalize(stmt);
		return (rc);
	}
	if (answer != NULL) {
		v = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
		snprintf(answer, len, "%s", v != NULL ? (const char *)v : "");
	}
	sqlite3_finalize(stmt);
	return (0);
}

/* The schema version plus one: an edit of sqlite_schema is read again. */
static int
store_bump_schema_version(struct store *s)
{
	sqlite3_stmt *stmt = NULL;
	char	     *pragma;
	int	      rc, v;

	if ((rc = sqlite3_prepare_v2(s->db, "PRAGMA schema_version", -1, &stmt,
		 NULL)) != SQLITE_OK)
		return (rc);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return (rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	}
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	pragma = xasprintf("PRAGMA schema_version = %d", v + 1);
	rc = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
	free(pragma);
	return (rc);
}

/*
 * Applies migration m in its own transaction, with the new user_version,
 * so that a failure anywhere leaves the database as it was.  The version
 * is read again under the write lock: the other connection may have
 * migrated meanwhile.
 */
static int
store_migrate_one(struct store *s, const struct store_migration *m,
    char **cause)
{
	char *err = NULL, *pragma = NULL;
	int   version, rc;

	if ((rc = store_run_sql(s, SQL_BEGIN, cause)) != 0)
		return (rc);
	if ((rc = store_pragma_int(s, SQL_USER_VERSION, &version, cause)) != 0)
		goto fail;
	if (version >= m->version) {
		rc = store_run_sql(s, SQL_COMMIT, cause);
		goto out;
	}
	if (version != m->version - 1) {
		rc = store_error(cause, STORE_EMIGRATE,
		    "database %s: expected schema version %d before %s, "
		    "found %d",
		    s->path, m->version - 1, m->name, version);
		goto fail;
	}
	/*
	 * A schema script: trusted text of several statements, no values.
	 * SQLite cannot alter a CHECK constraint; a migration that widens
	 * one (a new stage state: 011) edits the table's text in
	 * sqlite_schema, as SQLite's ALTER TABLE page describes, which
	 * keeps the columns, indexes and triggers other migrations added.
	 * That needs the defensive flag off for the script, and the schema
	 * version bumped after it so that every connection reads the new
	 * text.
	 */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
	rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &err);
	if (rc == SQLITE_OK && strstr(m->sql, "writable_schema") != NULL)
		rc = store_bump_schema_version(s);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (rc != SQLITE_OK) {
		rc = store_error(cause, STORE_EMIGRATE,
		    "database %s: migration %s failed: %s; rolled back, the "
		    "database stays at schema version %d",
		    s->path, m->name, err != NULL ? err : sqlite3_errmsg(s->db),
		    version);
		goto fail;
	}
	pragma = xasprintf("PRAGMA user_version = %d", m->version);
	if (sqlite3_exec(s->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_fail(s, cause, "database %s: %s", s->path, pragma);
		goto fail;
	}
	if ((rc = store_run_sql(s, SQL_COMMIT, cause)) != 0)
		goto fail;
	log_info("database migrated path=%s version=%d migration=%s", s->path,
	    m->version, m->name);
	goto out;

fail:
	store_run_sql(s, SQL_ROLLBACK, NULL);
out:
	sqlite3_free(err);
	free(pragma);
	return (rc);
}

/*
 * Reads what the file holds before anything may write to it: closing
 * must not checkpoint (NO_CKPT_ON_CLOSE) until the schema is known to
 * be ours, so a refused file keeps every byte.
 */
static int
store_check_file(struct store *s, char **cause)
{
	int version, appid, ntables, rc;

	/* Reading the schema finds a file that is not a database or whose
	 * first page is damaged; deeper damage shows when it is read. */
	rc = store_pragma_int(s, SQL_USER_VERSION, &version, NULL);
	if (rc == 0) {
		rc = store_pragma_int(s, "SELECT count(*) FROM sqlite_schema",
		    &ntables, NULL);
	}
	if (rc == STORE_ENOTDB) {
		return (store_error(cause, STORE_ENOTDB,
		    "%s is not a SQLite database, or is corrupt (%s): "
		    "refusing to touch it",
		    s->path, sqlite3_errmsg(s->db)));
	}
	if (rc != 0)
		return (store_fail(s, cause, "cannot read %s", s->path));
	if (version > store_schema_latest()) {
		return (store_error(cause, STORE_ETOONEW,
		    "database %s is at schema version %d but this shipgated "
		    "knows up to %d: refusing to touch it",
		    s->path, version, store_schema_latest()));
	}
	if ((rc = store_pragma_int(s, "PRAGMA application_id", &appid,
		 cause)) != 0)
		return (rc);
	if (version > 0 && appid != STORE_APPLICATION_ID) {
		return (store_error(cause, STORE_ENOTDB,
		    "%s is a SQLite database but not shipgate's "
		    "(application_id %d): refusing to touch it",
		    s->path, appid));
	}
	if (version == 0 && ntables > 0) {
		return (store_error(cause, STORE_ENOTDB,
		    "%s is a SQLite database with tables but no shipgate "
		    "schema: refusing to touch it",
		    s->path));
	}
	s->version = version;
	return (0);
}

static int
store_open_at(const char *path, int target, struct store **sp, char **cause)
{
	struct store *s;
	char	      mode[32];
	int	      rc, on, fd;
	size_t	      i;

	*sp = NULL;
	if (cause != NULL)
		*cause = NULL;
	s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	s->wal_fd = -1;
	store_set_clock(s, NULL, NULL);

	/*
	 * A new database is created private to shipgate's user: it holds
	 * the audit log and the sign-in state.  SQLite gives its -wal and
	 * -shm files the same mode.  (An empty file is an empty database.)
	 */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) !=
	    -1)
		close(fd);

	/* One thread at a time per connection (NOMUTEX), as the header says. */
	rc = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		rc = store_error(cause, STORE_EIO,
		    "cannot open database %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	if ((rc = store_check_file(s, cause)) != 0)
		goto fail;
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);

	/*
	 * WAL: the portal's connection reads while the loop writes, and a
	 * commit is one append.
	 */
	if ((rc = store_pragma_set(s, "PRAGMA journal_mode = WAL", mode,
		 sizeof mode, cause)) != 0)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		rc = store_error(cause, STORE_EIO,
		    "database %s: cannot use "
		    "write-ahead logging (journal mode is %s)",
		    path, mode);
		goto fail;
	}
	/*
	 * synchronous=NORMAL, and durability where it matters through
	 * store_sync.  In WAL mode a NORMAL commit survives a crash of the
	 * process (it is in the kernel's cache) but may be lost on power
	 * loss or a kernel crash.  The engine needs a transition on disk
	 * before the AWS mutation it leads to (else after a reboot it would
	 * not know of a change set it had executed), and a person told
	 * "approved" needs the approval on disk: those callers call
	 * store_sync, which fsyncs the write-ahead log once for every
	 * commit made since the last one.  FULL would fsync at every commit
	 * (milliseconds each, on the loop); most transitions (a stack seen
	 * to finish, a change set described) lead to no mutation, and
	 * several runs' transitions share one store_sync.
	 */
	if ((rc = store_pragma_set(s, "PRAGMA synchronous = NORMAL", NULL, 0,
		 cause)) != 0)
		goto fail;
	if ((rc = store_pragma_set(s, "PRAGMA foreign_keys = ON", NULL, 0,
		 cause)) != 0)
		goto fail;
	if ((rc = store_pragma_int(s, "PRAGMA foreign_keys", &on, cause)) != 0)
		goto fail;
	if (!on) {
		rc = store_error(cause, STORE_EIO,
		    "database %s: this SQLite "
		    "cannot enforce foreign keys",
		    path);
		goto fail;
	}

	for (i = (size_t)s->version; i < (size_t)target; i++) {
		if ((rc = store_migrate_one(s, &store_migrations[i], cause)) !=
		    0)
			goto fail;
	}
	if ((rc = store_pragma_int(s, SQL_USER_VERSION, &s->version, cause)) !=
	    0)
		goto fail;
	/* A migration is not half-applied after power loss either. */
	if ((rc = store_sync(s, cause)) != 0)
		goto fail;
	log_debug(LOG_CAT_STORE, "database open path=%s version=%d", path,
	    s->version);
	*sp = s;
	return (0);

fail:
	store_close(s);
	return (rc);
}

int
store_open(const char *path, struct store **sp, char **cause)
{
	return (store_open_at(path, store_schema_latest(), sp, cause));
}

int
store_open_version(const char *path, int version, struct store **sp,
    char **cause)
{
	if (version < 1 || version > store_schema_latest()) {
		*sp = NULL;
		return (store_error(cause, STORE_EINVAL,
		    "no schema version "
		    "%d (this shipgated knows 1 to %d)",
		    version, store_schema_latest()));
	}
	return (store_open_at(path, version, sp, cause));
}

void
store_close(struct store *s)
{
	size_t i;
	int    rc;

	if (s == NULL)
		return;
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < s->nstmts; i++)
		sqlite3_finalize(s->stmts[i].stmt);
	free(s->stmts);
	for (i = 0; i < NITEMS(s->runs_sql); i++)
		free(s->runs_sql[i]);
	if (s->wal_fd != -1)
		close(s->wal_fd);
	if (s->db != NULL && (rc = sqlite3_close(s->db)) != SQLITE_OK) {
		log_warnx("database close failed path=%s: %s", s->path,
		    sqlite3_errstr(rc));
	}
	free(s->path);
	free(s);
}

static int
store_sync_open(struct store *s, char **cause)
{
	const char *db, *wal;

	if (s->wal_fd != -1)
		return (0);
	/* The log exists while a connection is open and is reset in place,
	   never replaced: one descriptor serves. */
	if ((db = sqlite3_db_filename(s->db, "main")) == NULL ||
	    (wal = sqlite3_filename_wal(db)) == NULL || *wal == '\0')
		return (store_error(cause, STORE_EIO,
		    "database %s: no "
		    "write-ahead log to sync",
		    s->path));
	if ((s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC)) == -1)
		return (store_error(cause, STORE_EIO, "cannot open %s: %s", wal,
		    strerror(errno)));
	return (0);
}

int
store_sync_begin(struct store *s, int *fdp, int64_t *markp, char **cause)
{
	int rc;

	*fdp = -1;
	*markp = (int64_t)sqlite3_total_changes64(s->db);
	if (*markp <= s->synced_changes)
		return (0);
	if (s->in_txn)
		return (store_error(cause, STORE_EMISUSE,
		    "a sync inside a "
		    "transaction"));
	if ((rc = store_sync_open(s, cause)) != 0)
		return (rc);
	*fdp = s->wal_fd;
	return (0);
}

int
store_probe(struct store *s, int *fdp, int64_t *markp, char **cause)
{
	char *pragma;
	int   rc;

	*fdp = -1;
	if (s->in_txn)
		return (store_error(cause, STORE_EMISUSE,
		    "a probe inside a "
		    "transaction"));
	/* The header's version written as it is: a page to the log. */
	if ((rc = store_run_sql(s, SQL_BEGIN, cause)) != 0)
		return (rc);
	pragma = xasprintf("PRAGMA user_version = %d", s->version);
	if (sqlite3_exec(s->db, pragma, NULL, NULL, NULL) != SQLITE_OK)
		rc = store_fail(s, cause, "database %s: %s", s->path, pragma);
	else
		rc = store_run_sql(s, SQL_COMMIT, cause);
	free(pragma);
	if (rc != 0) {
		if (!sqlite3_get_autocommit(s->db))
			store_run_sql(s, SQL_ROLLBACK, NULL);
		return (rc);
	}
	/* Synced whether or not rows changed since the last sync. */
	if ((rc = store_sync_begin(s, fdp, markp, cause)) != 0)
		return (rc);
	if (*fdp == -1 && (rc = store_sync_open(s, cause)) != 0)
		return (rc);
	*fdp = s->wal_fd;
	return (0);
}

void
store_sync_end(struct store *s, int64_t mark)
{
	if (mark > s->synced_changes)
		s->synced_changes = mark;
	s->syncs++;
}

int64_t
store_sync_mark(struct store *s)
{
	return ((int64_t)sqlite3_total_changes64(s->db));
}

int
store_synced(struct store *s, int64_t mark)
{
	return (mark <= s->synced_changes);
}

int
store_sync(struct store *s, char **cause)
{
	int64_t mark;
	int	fd, rc;

	if ((rc = store_sync_begin(s, &fd, &mark, cause)) != 0 || fd == -1)
		return (rc);
	if (fdatasync(fd) == -1)
		return (store_error(cause, STORE_EIO,
		    "cannot sync the "
		    "write-ahead log of %s: %s",
		    s->path, strerror(errno)));
	store_sync_end(s, mark);
	return (0);
}

uint64_t
store_sync_count(struct store *s)
{
	return (s->syncs);
}

int
store_health(struct store *s, char **cause)
{
	sqlite3_stmt *stmt;
	char	     *fault;
	int	      rc, version;

	if ((fault = store_fault()) != NULL) {
		if (cause != NULL)
			*cause = fault;
		else
			free(fault);
		return (STORE_EIO);
	}
	if ((stmt = store_stmt(s, SQL_USER_VERSION, cause)) == NULL)
		return (STORE_EIO);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		rc = store_fail(s, cause, "database %s", s->path);
		store_stmt_done(stmt);
		return (rc);
	}
	version = sqlite3_column_int(stmt, 0);
	store_stmt_done(stmt);
	if (version != s->version) {
		return (store_error(cause, STORE_ETOONEW,
		    "database %s changed "
		    "schema version under us (%d, was %d)",
		    s->path, version, s->version));
	}
	return (0);
}

/* --- Transactions ------------------------------------------------------ */

int
store_begin(struct store *s, char **cause)
{
	int rc;

	if (s->in_txn) {
		return (store_error(cause, STORE_EMISUSE,
		    "a transaction is already open"));
	}
	if ((rc = store_run_sql(s, SQL_BEGIN, cause)) != 0)
		return (rc);
	s->in_txn = 1;
	return (0);
}

int
store_commit(struct store *s, char **cause)
{
	int rc;

	if (!s->in_txn)
		return (store_error(cause, STORE_EMISUSE, "no transaction"));
	if ((rc = store_run_sql(s, SQL_COMMIT, cause)) != 0) {
		/* A failed COMMIT may leave the transaction open: end it. */
		if (!sqlite3_get_autocommit(s->db))
			store_run_sql(s, SQL_ROLLBACK, NULL);
		s->in_txn = 0;
		return (rc);
	}
	s->in_txn = 0;
	return (0);
}

int
store_rollback(struct store *s)
{
	int rc = 0;

	if (!s->in_txn)
		return (STORE_EMISUSE);
	if (!sqlite3_get_autocommit(s->db))
		rc = store_run_sql(s, SQL_ROLLBACK, NULL);
	s->in_txn = 0;
	return (rc);
}

int
store_read_begin(struct store *s, char **cause)
{
	int rc;

	if (s->in_txn) {
		return (store_error(cause, STORE_EMISUSE,
		    "a transaction is already open"));
	}
	if ((rc = store_run_sql(s, SQL_BEGIN_READ, cause)) != 0)
		return (rc);
	s->in_txn = 1;
	s->in_read = 1;
	return (0);
}

void
store_read_end(struct store *s)
{
	if (!s->in_read)
		return;
	if (!sqlite3_get_autocommit(s->db))
		store_run_sql(s, SQL_COMMIT, NULL);
	s->in_txn = 0;
	s->in_read = 0;
}

int
store_op_begin(struct store *s, char **cause)
{
	return (store_run_sql(s, s->in_txn ? SQL_SAVEPOINT : SQL_BEGIN, cause));
}

int
store_op_end(struct store *s, int ok, char **cause)
{
	int rc;

	if (s->in_txn) {
		if (ok)
			return (store_run_sql(s, SQL_RELEASE, cause));
		store_run_sql(s, SQL_ROLLBACK_TO, NULL);
		store_run_sql(s, SQL_RELEASE, NULL);
		return (0);
	}
	if (ok) {
		if ((rc = store_run_sql(s, SQL_COMMIT, cause)) != 0 &&
		    !sqlite3_get_autocommit(s->db))
			store_run_sql(s, SQL_ROLLBACK, NULL);
		return (rc);
	}
	if (!sqlite3_get_autocommit(s->db))
		store_run_sql(s, SQL_ROLLBACK, NULL);
	return (0);
}

/* --- Apps ---------------------------------------------------------------- */

int
store_upsert_app(struct store *s, const char *name, int64_t *idp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_UPSERT_APP, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot record app %s", name);
		store_stmt_done(stmt);
		return (rc);
	}
	store_stmt_done(stmt);
	if (idp != NULL)
		return (store_app_id(s, name, idp, cause));
	return (0);
}

int
store_app_id(struct store *s, const char *name, int64_t *idp, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc;

	if ((stmt = store_stmt(s, SQL_APP_ID, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*idp = sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND, "no app %s", name);
	else
		rc = store_fail(s, cause, "cannot read app %s", name);
	store_stmt_done(stmt);
	return (rc);
}

/* --- The audit log ------------------------------------------------------- */

int
store_append_audit(struct store *s, const struct store_audit_in *a,
    char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_APPEND_AUDIT, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, store_now(s));
	store_bind_text(stmt, 2, a->actor);
	store_bind_text(stmt, 3, a->unix_user);
	store_bind_text(stmt, 4, a->action);
	store_bind_text(stmt, 5, a->subject != NULL ? a->subject : "");
	store_bind_id(stmt, 6, a->run_id);
	store_bind_text(stmt, 7, a->detail);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot append to the audit log "
		    "(action %s)",
		    a->action != NULL ? a->action : "(none)");
	}
	store_stmt_done(stmt);
	return (rc);
}

void
store_audit_page_free(struct store_audit_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->entries[i].actor);
		free(p->entries[i].unix_user);
		free(p->entries[i].action);
		free(p->entries[i].subject);
		free(p->entries[i].detail);
	}
	free(p->entries);
	free(p);
}

int
store_audit_page(struct store *s, int64_t run_id, int64_t before, int limit,
    struct store_audit_page **pp, char **cause)
{
	struct store_audit_page	 *p;
	struct store_audit_entry *e;
	sqlite3_stmt		 *stmt;
	int			  rc;

	*pp = NULL;
	if (limit < 1 || limit > 1000) {
		return (store_error(cause, STORE_EINVAL,
		    "audit page limit %d "
		    "is not between 1 and 1000",
		    limit));
	}
	stmt = store_stmt(s, run_id != 0 ? SQL_AUDIT_PAGE_RUN : SQL_AUDIT_PAGE,
	    cause);
	if (stmt == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int(stmt, 2, limit + 1); /* one more: is there more? */
	if (run_id != 0)
		sqlite3_bind_int64(stmt, 3, run_id);

	p = xcalloc(1, sizeof *p);
	p->entries = xcalloc((size_t)limit, sizeof *p->entries);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (p->n == (size_t)limit) {
			p->next_before = p->entries[p->n - 1].id;
			continue;
		}
		e = &p->entries[p->n++];
		e->id = sqlite3_column_int64(stmt, 0);
		e->at = sqlite3_column_int64(stmt, 1);
		e->actor = store_column_text(stmt, 2);
		e->unix_user = store_column_text(stmt, 3);
		e->action = store_column_text(stmt, 4);
		e->subject = store_column_text(stmt, 5);
		e->run_id = store_column_int64(stmt, 6);
		e->detail = store_column_text(stmt, 7);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read the audit log");
		store_stmt_done(stmt);
		store_audit_page_free(p);
		return (rc);
	}
	store_stmt_done(stmt);
	*pp = p;
	return (0);
}
