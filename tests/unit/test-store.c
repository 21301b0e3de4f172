/*
 * The store: migrations (fresh, upgrade, failed, too new, not a
 * database), the connection's settings, the append-only audit log,
 * seen-object deduplication, runs and stages, pages of runs and their
 * query plans, and two connections on one file.
 *
 * This test opens its own raw SQLite connection next to the store's, to
 * look at what the API deliberately cannot do (UPDATE the audit log,
 * read pragmas, damage a file): the only file besides store*.c that
 * includes sqlite3.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <jansson.h>

#include "log.h"
#include "run-json.h"
#include "store.h"
#include "store-int.h"
#include "tap.h"
#include "xmalloc.h"

static char    tmpdir[] = "/tmp/test-store.XXXXXX";
static int64_t fake_now = 1700000000000LL;

static int64_t
fake_clock(void *arg)
{
	return (fake_now);
}

static char *
tmppath(const char *name)
{
	return (xasprintf("%s/%s", tmpdir, name));
}

static void
remove_db(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *data;
	long  len;

	*lenp = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)len + 1);
	if (fread(data, 1, (size_t)len, f) != (size_t)len) {
		free(data);
		fclose(f);
		return (NULL);
	}
	fclose(f);
	*lenp = (size_t)len;
	return (data);
}

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	int   rc;

	if ((f = fopen(path, "wb")) == NULL)
		return (-1);
	rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return (rc);
}

/* A raw connection's integer answer to sql; -1 on error. */
static long long
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	long long     v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		tap_diag("prepare %s: %s", sql, sqlite3_errmsg(db));
		return (-1);
	}
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return (v);
}

static char *
raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	char	     *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return (NULL);
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
		v = xstrdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return (v);
}

static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
		NULL) != SQLITE_OK) {
		tap_diag("raw open %s failed", path);
		sqlite3_close(db);
		return (NULL);
	}
	return (db);
}

static int
table_exists(sqlite3 *db, const char *name)
{
	char *sql;
	int   n;

	sql = sqlite3_mprintf("SELECT count(*) FROM sqlite_schema WHERE "
			      "type = 'table' AND name = %Q",
	    name);
	n = (int)raw_int(db, sql);
	sqlite3_free(sql);
	return (n == 1);
}

static const char *const all_tables[] = {
	"apps",
	"releases",
	"seen_objects",
	"intake_failures",
	"runs",
	"stages",
	"stage_changes",
	"approvals",
	"deployments",
	"audit",
	"sessions",
	"api_tokens",
	"outbox",
	"check_results",
	"image_promotions",
};

/* The migrations in $top_srcdir/sql are numbered 001.. without gaps and
 * are exactly those compiled in. */
static void
test_migration_files(void)
{
	const char    *top;
	char	      *dir, want[16];
	struct dirent *de;
	DIR	      *d;
	char	      *names[100];
	size_t	       n = 0, i, j;
	int	       ok_numbers = 1, ok_names = 1;

	if ((top = getenv("top_srcdir")) == NULL) {
		ok(0, "top_srcdir is set (make check sets it)");
		return;
	}
	dir = xasprintf("%s/sql", top);
	if ((d = opendir(dir)) == NULL) {
		ok(0, "open %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL && n < 100) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".sql") == 0)
			names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* Sort by name: the numbers are zero-padded. */
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "%03zu_", i + 1);
		if (strncmp(names[i], want, 4) != 0) {
			tap_diag("%s: expected a name starting %s", names[i],
			    want);
			ok_numbers = 0;
		}
		if (store_migration_name((int)i + 1) == NULL ||
		    strcmp(store_migration_name((int)i + 1), names[i]) != 0) {
			tap_diag("%s is not compiled in as version %zu",
			    names[i], i + 1);
			ok_names = 0;
		}
	}
	ok(n >= 2, "sql/ holds at least two migrations (%zu)", n);
	ok(ok_numbers, "sql/*.sql are numbered from 001 without gaps");
	ok(ok_names, "each sql/*.sql is compiled in at its number");
	is_int(store_schema_latest(), (long long)n,
	    "the binary knows exactly the migrations in sql/");
	ok(store_migration_name(0) == NULL &&
		store_migration_name(store_schema_latest() + 1) == NULL,
	    "no migration outside 1 .. latest");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(dir);
}

static void
test_fresh(void)
{
	struct store *s = NULL;
	sqlite3	     *db;
	char	     *path, *cause = NULL, *mode;
	size_t	      i;
	int	      all = 1, rc;

	path = tmppath("fresh.db");
	rc = store_open(path, &s, &cause);
	is_int(rc, 0, "a fresh database opens");
	if (rc != 0) {
		tap_diag("%s", cause);
		free(cause);
		free(path);
		return;
	}
	is_int(store_schema_version(s), store_schema_latest(),
	    "a fresh database gets every migration");
	is_int(store_health(s, NULL), 0, "health check passes");

	db = raw_open(path);
	is_int(raw_int(db, "PRAGMA user_version"), store_schema_latest(),
	    "user_version is the latest");
	is_int(raw_int(db, "PRAGMA application_id"), 1397178708,
	    "application_id marks the file as shipgate's");
	for (i = 0; i < sizeof all_tables / sizeof all_tables[0]; i++) {
		if (!table_exists(db, all_tables[i])) {
			tap_diag("missing table %s", all_tables[i]);
			all = 0;
		}
	}
	ok(all, "every table exists");
	mode = raw_text(db, "PRAGMA journal_mode");
	is_str(mode, "wal", "the database is in WAL mode");
	free(mode);
	mode = raw_text(db, "PRAGMA integrity_check");
	is_str(mode, "ok", "the new database passes integrity_check");
	free(mode);
	sqlite3_close(db);

	store_close(s);
	/* Opening again migrates nothing and keeps the version. */
	rc = store_open(path, &s, &cause);
	ok(rc == 0 && store_schema_version(s) == store_schema_latest(),
	    "an up-to-date database opens again as is");
	store_close(s);
	free(path);
}

static void
test_file_mode(void)
{
	struct store *s = NULL;
	struct stat   sb;
	char	     *path;
	mode_t	      old;

	path = tmppath("mode.db");
	old = umask(022);
	if (store_open(path, &s, NULL) == 0)
		store_close(s);
	umask(old);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "a new database file is private (0600)");
	free(path);
}

/* Records an app, a valid release and a run with int, stg, prod. */
static int64_t
make_run(struct store *s, const char *app, const char *version,
    const char *author, int64_t *release_idp)
{
	static const struct store_stage_in stages[] = {
		{ "int", 1 },
		{ "stg", 1 },
		{ "prod", 2 },
	};
	struct store_release_in rel;
	struct store_run_in	run;
	int64_t			app_id = 0, release_id = 0, run_id = 0;
	char		       *key, *manifest, *cause = NULL;

	if (store_upsert_app(s, app, &app_id, &cause) != 0)
		goto fail;
	key = xasprintf("drops/%s-%s.zip", app, version);
	manifest = xasprintf("{\"app\": \"%s\", \"version\": \"%s\"}", app,
	    version);
	memset(&rel, 0, sizeof rel);
	rel.app_id = app_id;
	rel.bucket = "releases";
	rel.key = key;
	rel.etag = "\"0123\"";
	rel.size = 1234;
	rel.version = version;
	rel.message = "a message";
	rel.author = author;
	rel.manifest = manifest;
	rel.status = STORE_RELEASE_VALID;
	if (store_record_release(s, &rel, &release_id, &cause) != 0) {
		free(key);
		free(manifest);
		goto fail;
	}
	free(key);
	free(manifest);
	memset(&run, 0, sizeof run);
	run.release_id = release_id;
	run.stages = stages;
	run.nstages = 3;
	if (store_create_run(s, &run, &run_id, &cause) != 0)
		goto fail;
	if (release_idp != NULL)
		*release_idp = release_id;
	return (run_id);

fail:
	tap_diag("make_run: %s", cause);
	free(cause);
	return (0);
}

static void
test_upgrade(void)
{
	struct store		*s = NULL;
	struct store_run	*run = NULL;
	struct store_audit_page *page = NULL;
	struct store_audit_in	 a;
	sqlite3			*db;
	char			*path, *cause = NULL;
	int64_t			 run_id;
	int			 rc;

	path = tmppath("upgrade.db");
	rc = store_open_version(path, 1, &s, &cause);
	is_int(rc, 0, "a database can be created at version 1 only");
	if (rc != 0) {
		tap_diag("%s", cause);
		free(cause);
		free(path);
		return;
	}
	is_int(store_schema_version(s), 1, "it is at version 1");
	run_id = make_run(s, "billing", "1.0.0", "alice", NULL);
	ok(run_id > 0, "version 1 holds a run");
	memset(&a, 0, sizeof a);
	a.actor = "shipgated";
	a.action = "run created";
	a.subject = "run";
	a.run_id = run_id;
	is_int(store_append_audit(s, &a, NULL), 0, "and an audit entry");
	store_close(s);

	db = raw_open(path);
	ok(table_exists(db, "runs") && !table_exists(db, "sessions"),
	    "version 1 has the core tables but not the portal's");
	sqlite3_close(db);

	s = NULL;
	rc = store_open(path, &s, &cause);
	is_int(rc, 0, "store_open upgrades it");
	if (rc != 0) {
		tap_diag("%s", cause);
		free(cause);
		free(path);
		return;
	}
	is_int(store_schema_version(s), store_schema_latest(),
	    "the upgraded database is at the latest version");
	rc = store_get_run(s, run_id, &run, NULL);
	ok(rc == 0 && run->nstages == 3 && strcmp(run->app, "billing") == 0 &&
		strcmp(run->version, "1.0.0") == 0,
	    "the run and its stages are kept");
	store_run_free(run);
	rc = store_audit_page(s, run_id, 0, 10, &page, NULL);
	ok(rc == 0 && page->n == 1 &&
		strcmp(page->entries[0].action, "run created") == 0,
	    "the audit log is kept");
	store_audit_page_free(page);
	store_close(s);

	db = raw_open(path);
	ok(table_exists(db, "sessions") && table_exists(db, "outbox") &&
		table_exists(db, "image_promotions"),
	    "the new tables exist");
	sqlite3_close(db);
	free(path);
}

static void
test_failed_migration(void)
{
	struct store *s = NULL;
	sqlite3	     *db;
	char	     *path, *cause = NULL;
	int	      rc;

	path = tmppath("failed.db");
	if (store_open_version(path, 1, &s, NULL) != 0) {
		ok(0, "create a version 1 database");
		free(path);
		return;
	}
	store_close(s);
	/* Migration 002 creates sessions, then api_tokens: make the second
	 * fail after the first succeeded. */
	db = raw_open(path);
	sqlite3_exec(db, "CREATE TABLE api_tokens (x)", NULL, NULL, NULL);
	sqlite3_close(db);

	s = NULL;
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_EMIGRATE, "a failing migration refuses to open");
	ok(s == NULL, "and returns no store");
	ok(cause != NULL && strstr(cause, "migration 002_portal.sql failed") &&
		strstr(cause, "api_tokens already exists") &&
		strstr(cause, "stays at schema version 1"),
	    "the cause names the migration and the error");
	if (cause != NULL)
		tap_diag("%s", cause);
	free(cause);

	db = raw_open(path);
	is_int(raw_int(db, "PRAGMA user_version"), 1,
	    "the database stays at version 1");
	ok(!table_exists(db, "sessions"),
	    "what the failed migration did before the error is rolled back");
	sqlite3_close(db);
	free(path);
}

static void
test_too_new(void)
{
	struct store *s = NULL;
	sqlite3	     *db;
	char	     *path, *cause = NULL, *want, *before, *after;
	size_t	      blen, alen;
	int	      rc, newer;

	path = tmppath("too-new.db");
	newer = store_schema_latest() + 3;
	db = raw_open(path);
	sqlite3_exec(db,
	    "PRAGMA journal_mode = WAL; "
	    "PRAGMA application_id = 1397178708; "
	    "CREATE TABLE runs (id INTEGER PRIMARY KEY, future TEXT); "
	    "INSERT INTO runs (future) VALUES ('from a newer shipgated')",
	    NULL, NULL, NULL);
	want = sqlite3_mprintf("PRAGMA user_version = %d", newer);
	sqlite3_exec(db, want, NULL, NULL, NULL);
	sqlite3_free(want);
	sqlite3_close(db);

	before = read_file(path, &blen);
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_ETOONEW,
	    "a database newer than the binary is "
	    "refused");
	ok(s == NULL, "and returns no store");
	want = xasprintf("database %s is at schema version %d but this "
			 "shipgated knows up to %d: refusing to touch it",
	    path, newer, store_schema_latest());
	is_str(cause, want, "the error says which versions");
	free(want);
	free(cause);
	after = read_file(path, &alen);
	ok(before != NULL && after != NULL && blen == alen && blen > 0 &&
		memcmp(before, after, blen) == 0,
	    "the refused file is byte for byte unchanged (%zu bytes)", blen);
	free(before);
	free(after);

	/* Also when the newer binary left its WAL behind. */
	db = raw_open(path);
	sqlite3_exec(db, "INSERT INTO runs (future) VALUES ('in the wal')",
	    NULL, NULL, NULL);
	before = read_file(path, &blen);
	cause = NULL;
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_ETOONEW,
	    "refused while another connection has it "
	    "open");
	free(cause);
	after = read_file(path, &alen);
	ok(before != NULL && after != NULL && blen == alen &&
		memcmp(before, after, blen) == 0,
	    "the main file is still unchanged");
	free(before);
	free(after);
	sqlite3_close(db);
	remove_db(path);
	free(path);
}

static void
test_not_a_database(void)
{
	static const char text[] = "listen: 127.0.0.1:8080\n"
				   "database: /var/lib/shipgate/shipgate.db\n";
	struct store	 *s = NULL;
	sqlite3		 *db;
	char		 *path, *cause = NULL, *data, *after, junk[512];
	size_t		  len, alen;
	int		  rc;

	/* A text file where the database should be. */
	path = tmppath("not-a-db.db");
	write_file(path, text, sizeof text - 1);
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_ENOTDB, "a text file is refused");
	ok(cause != NULL &&
		strstr(cause, "is not a SQLite database, or is "
			      "corrupt (file is not a database)") != NULL,
	    "with a clear error");
	if (cause != NULL)
		tap_diag("%s", cause);
	free(cause);
	after = read_file(path, &alen);
	ok(after != NULL && alen == sizeof text - 1 &&
		memcmp(after, text, alen) == 0,
	    "and is left as it was");
	free(after);
	remove_db(path);
	free(path);

	/* A real database whose first page (the schema) is damaged. */
	path = tmppath("corrupt.db");
	if (store_open(path, &s, NULL) == 0)
		store_close(s);
	s = NULL;
	data = read_file(path, &len);
	if (data != NULL && len > 100 + sizeof junk) {
		memset(junk, 0xa5, sizeof junk);
		memcpy(data + 100, junk, sizeof junk);
		write_file(path, data, len);
	}
	free(data);
	cause = NULL;
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_ENOTDB, "a corrupt database is refused");
	ok(cause != NULL && strstr(cause, "corrupt") != NULL,
	    "with a clear error");
	if (cause != NULL)
		tap_diag("%s", cause);
	free(cause);
	remove_db(path);
	free(path);

	/* Some other program's SQLite database. */
	path = tmppath("other.db");
	db = raw_open(path);
	sqlite3_exec(db, "CREATE TABLE bookmarks (url TEXT)", NULL, NULL, NULL);
	sqlite3_close(db);
	data = read_file(path, &len);
	cause = NULL;
	rc = store_open(path, &s, &cause);
	is_int(rc, STORE_ENOTDB, "another program's database is refused");
	ok(cause != NULL && strstr(cause, "no shipgate schema") != NULL,
	    "with a clear error");
	free(cause);
	after = read_file(path, &alen);
	ok(data != NULL && after != NULL && len == alen &&
		memcmp(data, after, len) == 0,
	    "and is left as it was");
	free(data);
	free(after);
	remove_db(path);
	free(path);

	cause = NULL;
	rc = store_open("/nonexistent-dir/shipgate.db", &s, &cause);
	ok(rc == STORE_EIO && cause != NULL &&
		strstr(cause, "/nonexistent-dir/shipgate.db") != NULL,
	    "an impossible path names the path");
	free(cause);
}

static void
test_constraints(struct store *s, const char *path)
{
	struct store_audit_in	 a;
	struct store_audit_page *page = NULL, *page2 = NULL;
	sqlite3			*db;
	char			*cause = NULL;
	int64_t			 app_id, run_id;
	int			 is_new, rc, i;

	store_upsert_app(s, "audited", &app_id, NULL);
	run_id = make_run(s, "audited", "2.0", "bob", NULL);

	/* Foreign keys are enforced on the store's connection. */
	rc = store_mark_seen(s, 999999, "b", "k", "v", 0, &is_new, &cause);
	is_int(rc, STORE_EINVAL, "foreign keys are on (unknown app refused)");
	ok(cause != NULL && strstr(cause, "FOREIGN KEY") != NULL,
	    "the cause says why");
	free(cause);

	memset(&a, 0, sizeof a);
	a.actor = "alice";
	a.unix_user = "root";
	a.subject = "run";
	a.run_id = run_id;
	for (i = 0; i < 5; i++) {
		a.action = i % 2 ? "approve" : "comment";
		a.detail = i == 4 ? "last" : NULL;
		fake_now += 1000;
		store_append_audit(s, &a, NULL);
	}
	a.run_id = 0;
	a.action = "token create";
	store_append_audit(s, &a, NULL);
	a.actor = NULL;
	cause = NULL;
	rc = store_append_audit(s, &a, &cause);
	is_int(rc, STORE_EINVAL, "an audit entry without actor is refused");
	free(cause);

	rc = store_audit_page(s, run_id, 0, 3, &page, NULL);
	ok(rc == 0 && page->n == 3 && page->next_before != 0 &&
		strcmp(page->entries[0].detail, "last") == 0 &&
		page->entries[0].id > page->entries[1].id &&
		strcmp(page->entries[0].unix_user, "root") == 0,
	    "a run's audit trail, newest first, in pages");
	if (rc == 0) {
		rc = store_audit_page(s, run_id, page->next_before, 3, &page2,
		    NULL);
		ok(rc == 0 && page2->n == 2 && page2->next_before == 0,
		    "the second page ends the trail");
		store_audit_page_free(page2);
	}
	store_audit_page_free(page);
	rc = store_audit_page(s, 0, 0, 1000, &page, NULL);
	ok(rc == 0 && page->n >= 6 &&
		strcmp(page->entries[0].action, "token create") == 0,
	    "the whole log, newest first");
	store_audit_page_free(page);

	db = raw_open(path);
	rc = sqlite3_exec(db, "UPDATE audit SET actor = 'mallory'", NULL, NULL,
	    NULL);
	ok(rc == SQLITE_CONSTRAINT &&
		strstr(sqlite3_errmsg(db), "append-only") != NULL,
	    "UPDATE of the audit log is refused");
	rc = sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL);
	ok(rc == SQLITE_CONSTRAINT &&
		strstr(sqlite3_errmsg(db), "append-only") != NULL,
	    "DELETE from the audit log is refused");
	is_int(raw_int(db, "SELECT count(*) FROM audit WHERE actor = "
			   "'mallory'"),
	    0, "nothing was changed");
	rc = sqlite3_exec(db, "UPDATE stages SET status = 'waiting'", NULL,
	    NULL, NULL);
	ok(rc == SQLITE_CONSTRAINT, "a stage status outside docs/states.md "
				    "is refused");
	rc = sqlite3_exec(db, "UPDATE runs SET status = 'paused'", NULL, NULL,
	    NULL);
	ok(rc == SQLITE_CONSTRAINT, "a run status outside docs/states.md "
				    "is refused");
	sqlite3_close(db);
}

static void
test_seen(struct store *s)
{
	char   *cause = NULL;
	int64_t app_id;
	int	is_new, seen, rc;

	store_upsert_app(s, "intake", &app_id, NULL);
	rc = store_mark_seen(s, app_id, "bkt", "drops/a b.zip", "\"etag1\"", 0,
	    &is_new, NULL);
	ok(rc == 0 && is_new == 1, "an object is new the first time");
	rc = store_mark_seen(s, app_id, "bkt", "drops/a b.zip", "\"etag1\"", 0,
	    &is_new, NULL);
	ok(rc == 0 && is_new == 0, "and not the second (event + listing)");
	rc = store_mark_seen(s, app_id, "bkt", "drops/a b.zip", "\"etag2\"", 0,
	    &is_new, NULL);
	ok(rc == 0 && is_new == 1, "a new revision of the key is new");
	rc = store_is_seen(s, "bkt", "drops/a b.zip", "\"etag2\"", &seen, NULL);
	ok(rc == 0 && seen == 1, "is_seen finds it");
	rc = store_is_seen(s, "bkt", "drops/other.zip", "\"etag2\"", &seen,
	    NULL);
	ok(rc == 0 && seen == 0, "is_seen does not find another key");

	/* Marked in a transaction that rolls back: not seen. */
	is_int(store_begin(s, NULL), 0, "begin");
	is_int(store_begin(s, &cause), STORE_EMISUSE,
	    "transactions do not nest");
	free(cause);
	rc = store_mark_seen(s, app_id, "bkt", "drops/c.zip", "v1", 0, &is_new,
	    NULL);
	ok(rc == 0 && is_new == 1, "marked inside a transaction");
	is_int(store_rollback(s), 0, "rollback");
	rc = store_is_seen(s, "bkt", "drops/c.zip", "v1", &seen, NULL);
	ok(rc == 0 && seen == 0, "a rolled back mark is forgotten");
	is_int(store_commit(s, NULL), STORE_EMISUSE,
	    "commit without a transaction is refused");

	/* A read snapshot: reads inside it, no transaction in it. */
	is_int(store_read_begin(s, NULL), 0, "a read snapshot begins");
	rc = store_is_seen(s, "bkt", "drops/a b.zip", "\"etag2\"", &seen, NULL);
	ok(rc == 0 && seen == 1, "reads in the snapshot");
	is_int(store_begin(s, &cause), STORE_EMISUSE,
	    "no transaction inside a snapshot");
	free(cause);
	cause = NULL;
	is_int(store_read_begin(s, &cause), STORE_EMISUSE,
	    "snapshots do not nest");
	free(cause);
	cause = NULL;
	store_read_end(s);
	is_int(store_begin(s, NULL), 0, "a transaction after the snapshot");
	is_int(store_read_begin(s, &cause), STORE_EMISUSE,
	    "no snapshot inside a transaction");
	free(cause);
	cause = NULL;
	store_read_end(s);
	is_int(store_commit(s, NULL), 0,
	    "store_read_end leaves another's transaction alone");
}


/*
 * A run says which S3 object its release came from (an invalid one
 * first: an operator must tell which upload was refused), in the run,
 * the history page of runs and the run's JSON.
 */
static void
test_invalid_run_source(struct store *s, int64_t release_id, const char *reason)
{
	struct store_run_in	 in;
	struct store_run	*run = NULL;
	struct store_runs_filter f;
	struct store_runs_page	*page = NULL;
	json_t			*o, *src;
	int64_t			 run_id = 0;
	size_t			 i;
	int			 rc, found = 0;

	memset(&in, 0, sizeof in);
	in.release_id = release_id;
	in.status = STORE_RUN_INVALID;
	in.reason = reason;
	if (!ok(store_create_run(s, &in, &run_id, NULL) == 0,
		"an invalid release's run is recorded"))
		return;
	rc = store_get_run(s, run_id, &run, NULL);
	ok(rc == 0 && strcmp(run->source_bucket, "bkt") == 0 &&
		strcmp(run->source_key, "drops/bomb.zip") == 0 &&
		strcmp(run->source_version_id, "3HL4kqtJlcpXroDTDmJ") == 0,
	    "the run names its release's bucket, key and version id");
	store_run_free(run);

	memset(&f, 0, sizeof f);
	f.status = STORE_RUN_INVALID;
	if (store_runs_page(s, &f, &page, NULL) == 0) {
		for (i = 0; i < page->n; i++)
			if (page->runs[i].id == run_id &&
			    strcmp(page->runs[i].source_key,
				"drops/bomb.zip") == 0 &&
			    strcmp(page->runs[i].source_bucket, "bkt") == 0 &&
			    strcmp(page->runs[i].source_version_id,
				"3HL4kqtJlcpXroDTDmJ") == 0)
				found = 1;
		store_runs_page_free(page);
	}
	ok(found, "and so does its row in a page of runs");

	o = run_json(s, run_id, 10, &rc, NULL);
	src = json_object_get(o, "source");
	ok(o != NULL && json_is_object(src) &&
		strcmp(json_string_value(json_object_get(src, "bucket")) ?: "",
		    "bkt") == 0 &&
		strcmp(json_string_value(json_object_get(src, "key")) ?: "",
		    "drops/bomb.zip") == 0 &&
		strcmp(json_string_value(json_object_get(src, "version_id")) ?:
									       "",
		    "3HL4kqtJlcpXroDTDmJ") == 0 &&
		strcmp(json_string_value(json_object_get(src, "url")) ?: "",
		    "s3://bkt/drops/bomb.zip") == 0,
	    "the run's JSON has source {bucket, key, version_id, url}");
	json_decref(o);
}
static void
test_releases(struct store *s)
{
	struct store_release_in in;
	struct store_release   *r = NULL;
	char		       *cause = NULL;
	int64_t			app_id, id = 0;
	int			rc;

	store_upsert_app(s, "intake", &app_id, NULL);
	memset(&in, 0, sizeof in);
	in.app_id = app_id;
	in.bucket = "bkt";
	in.key = "drops/bomb.zip";
	in.version_id = "3HL4kqtJlcpXroDTDmJ";
	in.size = -1;
	in.status = STORE_RELEASE_INVALID;
	rc = store_record_release(s, &in, &id, &cause);
	is_int(rc, STORE_EINVAL, "an invalid release needs its reason");
	free(cause);
	in.reason = "release.json: entry template.yaml: compression ratio "
		    "1:2000 over the limit 1:100";
	is_int(store_record_release(s, &in, &id, NULL), 0,
	    "an invalid release is recorded with its reason");
	rc = store_get_release(s, id, &r, NULL);
	ok(rc == 0 && r->status == STORE_RELEASE_INVALID && r->size == -1 &&
		r->version == NULL && strcmp(r->app, "intake") == 0 &&
		strcmp(r->version_id, "3HL4kqtJlcpXroDTDmJ") == 0 &&
		strcmp(r->reason, in.reason) == 0,
	    "and reads back");
	store_release_free(r);
	test_invalid_run_source(s, id, in.reason);
	in.status = STORE_RELEASE_VALID;
	in.reason = NULL;
	in.version = "1.0";
	in.manifest = "{\"app\": ";
	is_int(store_record_release(s, &in, NULL, NULL), STORE_EINVAL,
	    "a manifest that is not JSON is refused");
	rc = store_get_release(s, 999999, &r, NULL);
	ok(rc == STORE_ENOTFOUND && r == NULL, "an unknown release");
}

static void
test_states(struct store *s)
{
	struct store_run *run = NULL;
	char		 *cause = NULL, *want;
	int64_t		  run_id, stage_id;
	int		  v, rc, all;

	all = 1;
	for (v = 1; v <= STORE_RUN_STATUS_MAX; v++) {
		if ((int)store_run_status_from_name(store_run_status_name(v)) !=
		    v)
			all = 0;
	}
	for (v = 1; v <= STORE_STAGE_STATUS_MAX; v++) {
		if ((int)store_stage_status_from_name(
			store_stage_status_name(v)) != v)
			all = 0;
	}
	ok(all, "every state name reads back as its value");
	ok(store_stage_status_from_name("bogus") == 0 &&
		strcmp(store_stage_status_name(99), "unknown") == 0,
	    "unknown names and values");
	ok(!store_stage_status_finished(STORE_STAGE_AWAITING_GATE) &&
		store_stage_status_finished(STORE_STAGE_NO_CHANGES) &&
		store_run_status_finished(STORE_RUN_INVALID) &&
		!store_run_status_finished(STORE_RUN_RUNNING),
	    "finished states");

	run_id = make_run(s, "states", "3.0", "carol", NULL);
	store_get_run(s, run_id, &run, NULL);
	if (run == NULL) {
		ok(0, "get the run");
		return;
	}
	ok(run->status == STORE_RUN_RECEIVED && run->kind == STORE_RUN_NORMAL &&
		run->nstages == 3 && run->finished_at == 0,
	    "a new run is received, normal, with its stages");
	ok(strcmp(run->source_bucket, "releases") == 0 &&
		strcmp(run->source_key, "drops/states-3.0.zip") == 0 &&
		run->source_version_id == NULL,
	    "a valid release's run names its object too (unversioned)");
	ok(strcmp(run->stages[0].environment, "int") == 0 &&
		strcmp(run->stages[2].environment, "prod") == 0 &&
		run->stages[2].position == 2 &&
		run->stages[2].required_approvals == 2 &&
		run->stages[0].status == STORE_STAGE_PENDING &&
		run->stages[0].started_at == 0,
	    "stages in order, pending");
	stage_id = run->stages[0].id;
	store_run_free(run);

	/* Walk a stage through every state: each name passes the CHECK. */
	all = 1;
	for (v = 1; v < STORE_STAGE_STATUS_MAX; v++) {
		fake_now += 10;
		if ((rc = store_set_stage_status(s, stage_id, v, v + 1, NULL,
			 &cause)) != 0) {
			tap_diag("%s", cause);
			free(cause);
			cause = NULL;
			all = 0;
		}
	}
	ok(all, "a stage takes every state of docs/states.md");
	all = 1;
	store_set_run_status(s, run_id, STORE_RUN_RECEIVED, STORE_RUN_RUNNING,
	    NULL, NULL);
	for (v = STORE_RUN_RUNNING; v < STORE_RUN_STATUS_MAX; v++) {
		if (store_set_run_status(s, run_id, v, v + 1, "why", NULL) != 0)
			all = 0;
	}
	ok(all, "a run takes every state of docs/states.md");

	run_id = make_run(s, "states", "3.1", "carol", NULL);
	store_get_run(s, run_id, &run, NULL);
	stage_id = run->stages[1].id;
	store_run_free(run);
	fake_now = 1800000000000LL;
	rc = store_set_stage_status(s, stage_id, STORE_STAGE_PENDING,
	    STORE_STAGE_CREATING_CHANGE_SET, NULL, NULL);
	is_int(rc, 0, "pending -> creating_change_set");
	rc = store_set_stage_status(s, stage_id, STORE_STAGE_PENDING,
	    STORE_STAGE_CREATING_CHANGE_SET, NULL, &cause);
	is_int(rc, STORE_ECONFLICT, "a stale transition is refused");
	want = xasprintf("stage %lld is creating_change_set, not pending",
	    (long long)stage_id);
	is_str(cause, want, "the cause names both states");
	free(want);
	free(cause);
	cause = NULL;
	rc = store_set_stage_status(s, 999999, STORE_STAGE_PENDING,
	    STORE_STAGE_CREATING_CHANGE_SET, NULL, &cause);
	is_int(rc, STORE_ENOTFOUND, "an unknown stage is not found");
	free(cause);
	fake_now += 5000;
	store_set_stage_status(s, stage_id, STORE_STAGE_CREATING_CHANGE_SET,
	    STORE_STAGE_FAILED, "ChangeSet failed: boom", NULL);
	store_get_run(s, run_id, &run, NULL);
	ok(run->stages[1].status == STORE_STAGE_FAILED &&
		run->stages[1].started_at == 1800000000000LL &&
		run->stages[1].finished_at == 1800000005000LL &&
		strcmp(run->stages[1].reason, "ChangeSet failed: boom") == 0,
	    "a failed stage has its reason, start and end");
	store_run_free(run);

	store_set_run_status(s, run_id, STORE_RUN_RECEIVED, STORE_RUN_RUNNING,
	    NULL, NULL);
	store_set_run_status(s, run_id, STORE_RUN_RUNNING, STORE_RUN_FAILED,
	    "stage stg failed", NULL);
	store_get_run(s, run_id, &run, NULL);
	ok(run->status == STORE_RUN_FAILED && run->finished_at != 0,
	    "a finished run has finished_at");
	store_run_free(run);
	rc = store_set_run_status(s, run_id, STORE_RUN_FAILED,
	    STORE_RUN_RUNNING, NULL, NULL);
	store_get_run(s, run_id, &run, NULL);
	ok(rc == 0 && run->status == STORE_RUN_RUNNING &&
		run->finished_at == 0 && run->reason == NULL,
	    "a retried run is unfinished again");
	store_run_free(run);
	rc = store_get_run(s, 999999, &run, &cause);
	ok(rc == STORE_ENOTFOUND && run == NULL, "an unknown run");
	free(cause);
}

/* Live progress (sql/012): events kept once, newest first, at most
 * STORE_PROGRESS_EVENTS_MAX; a failed deployment stays shown. */
static void
test_progress(struct store *s)
{
	struct store_stage_event  *ev;
	struct store_stage_service svc;
	struct store_progress	  *p = NULL;
	struct store_run	  *run = NULL;
	/* The structures' strings are not const: arrays, not literals. */
	static char l_stack[] = "Stack", l_web[] = "WebService";
	static char arn[] = "arn:aws:ecs:eu-west-1:111111111111:"
			    "service/c1/web";
	static char t_stack[] = "AWS::CloudFormation::Stack";
	static char t_svc[] = "AWS::ECS::Service";
	static char s_failed[] = "UPDATE_FAILED";
	static char s_going[] = "UPDATE_IN_PROGRESS";
	static char why[] = "Circuit Breaker", web[] = "web", c1[] = "c1";
	static char r_going[] = "IN_PROGRESS", r_failed[] = "FAILED";
	static char r_done[] = "COMPLETED";
	static char r_why[] = "tasks failed to start";
	char	  **arns = NULL, ids[32];
	size_t	    i, n = 0, added = 0, total;
	int64_t	    run_id, stage, newest = -1;

	run_id = make_run(s, "progress", "1.0", "carol", NULL);
	if (store_get_run(s, run_id, &run, NULL) != 0 || run == NULL) {
		ok(0, "get the run");
		return;
	}
	stage = run->stages[0].id;
	store_run_free(run);

	ok(store_progress_newest_event(s, stage, 0, &newest, NULL) == 0 &&
		newest == 0,
	    "no event kept at first");
	/* 600 events as CloudFormation lists them: newest first. */
	total = STORE_PROGRESS_EVENTS_MAX + 100;
	ev = xcalloc(total, sizeof *ev);
	for (i = 0; i < total; i++) {
		snprintf(ids, sizeof ids, "ev-%zu", total - 1 - i);
		ev[i].event_id = xstrdup(ids);
		ev[i].at = 1000000 + (int64_t)(total - 1 - i) * 10;
		ev[i].logical_id = i == 0 ? l_stack : l_web;
		ev[i].physical_id = i == 0 ? NULL : arn;
		ev[i].resource_type = i == 0 ? t_stack : t_svc;
		ev[i].status = i == 1 ? s_failed : s_going;
		ev[i].reason = i == 1 ? why : NULL;
	}
	ok(store_progress_add_events(s, stage, 0, ev, total, &added, NULL) ==
		    0 &&
		added == total,
	    "%zu events added", total);
	ok(store_progress_get(s, stage, 0, &p, NULL) == 0 &&
		p->nevents == STORE_PROGRESS_EVENTS_MAX,
	    "at most %d kept", STORE_PROGRESS_EVENTS_MAX);
	ok(p != NULL && p->nevents > 1 &&
		strcmp(p->events[0].event_id, ev[0].event_id) == 0 &&
		strcmp(p->events[1].status, "UPDATE_FAILED") == 0 &&
		strcmp(p->events[1].reason, "Circuit Breaker") == 0 &&
		p->events[0].physical_id == NULL &&
		strcmp(p->events[p->nevents - 1].event_id, "ev-100") == 0,
	    "the newest, newest first, as given");
	store_progress_free(p);
	p = NULL;
	ok(store_progress_add_events(s, stage, 0, ev, total, &added, NULL) ==
		    0 &&
		added == 0,
	    "read again, nothing is added");
	ok(store_progress_newest_event(s, stage, 0, &newest, NULL) == 0 &&
		newest == ev[0].at,
	    "the newest kept is the newest given");
	ok(store_progress_add_events(s, stage, 1, ev, 1, &added, NULL) == 0 &&
		added == 1,
	    "another attempt keeps its own");
	ok(store_progress_service_arns(s, stage, 0, &arns, &n, NULL) == 0 &&
		n == 1 &&
		strcmp(arns[0],
		    "arn:aws:ecs:eu-west-1:111111111111:service/c1/web") == 0,
	    "the events name one ECS service");
	for (i = 0; i < n; i++)
		free(arns[i]);
	free(arns);
	for (i = 0; i < total; i++)
		free(ev[i].event_id);
	free(ev);

	memset(&svc, 0, sizeof svc);
	svc.service = web;
	svc.cluster = c1;
	svc.desired = 2;
	svc.running = 1;
	svc.pending = 1;
	svc.rollout_state = r_going;
	ok(store_progress_set_service(s, stage, 0, &svc, NULL) == 0,
	    "a service's progress is kept");
	svc.running = 0;
	svc.pending = 0;
	svc.failed = 2;
	svc.rollout_state = r_failed;
	svc.rollout_reason = r_why;
	ok(store_progress_set_service(s, stage, 0, &svc, NULL) == 0,
	    "and replaced");
	svc.running = 2;
	svc.failed = 0;
	svc.rollout_state = r_done;
	svc.rollout_reason = NULL;
	ok(store_progress_set_service(s, stage, 0, &svc, NULL) == 0 &&
		store_progress_get(s, stage, 0, &p, NULL) == 0 &&
		p->nservices == 1 && p->services[0].failed == 2 &&
		strcmp(p->services[0].rollout_state, "FAILED") == 0 &&
		strcmp(p->services[0].rollout_reason,
		    "tasks failed to start") == 0,
	    "a failed deployment stays shown (not the rollback after it)");
	store_progress_free(p);
}

/* Stuck stacks (sql/007): hold, action, its end, release. */
/* A stage attempt's drift (sql/013): started, found, read back whole,
 * acknowledged once. */
static void
test_drift(struct store *s)
{
	static char l_web[] = "WebService", l_logs[] = "Logs";
	static char t_svc[] = "AWS::ECS::Service",
		    t_logs[] = "AWS::Logs::LogGroup";
	static char modified[] = "MODIFIED", deleted[] = "DELETED";
	static char path[] = "/DesiredCount", two[] = "2", five[] = "5";
	static char ne[] = "NOT_EQUAL";
	struct store_drift_property p = { path, two, five, ne, 0 };
	struct store_drift_resource res[2];
	struct store_drift	   *d = NULL;
	struct store_run	   *run = NULL;
	char			   *cause = NULL;
	int64_t			    run_id, stage;

	run_id = make_run(s, "drift", "1.0", "carol", NULL);
	if (store_get_run(s, run_id, &run, NULL) != 0 || run == NULL) {
		ok(0, "get the run");
		return;
	}
	stage = run->stages[0].id;
	store_run_free(run);
	is_int(store_drift(s, stage, 0, &d, &cause), STORE_ENOTFOUND,
	    "drift: none recorded before a detection");
	free(cause);
	cause = NULL;
	is_int(store_drift_start(s, stage, 0, "det-1", 1000, NULL), 0,
	    "drift: a detection started");
	ok(store_drift(s, stage, 0, &d, NULL) == 0 && d != NULL &&
		strcmp(d->status, "detecting") == 0 &&
		strcmp(d->detection_id, "det-1") == 0 && d->started_at == 1000,
	    "drift: detecting, with its id and start");
	store_drift_free(d);
	d = NULL;
	is_int(store_drift_ack(s, stage, 0, "dave", "x", &cause),
	    STORE_ENOTFOUND, "drift: nothing to acknowledge while detecting");
	free(cause);
	cause = NULL;
	memset(res, 0, sizeof res);
	res[0].logical_id = l_web;
	res[0].resource_type = t_svc;
	res[0].status = modified;
	res[0].props = &p;
	res[0].nprops = 1;
	res[1].logical_id = l_logs;
	res[1].resource_type = t_logs;
	res[1].status = deleted;
	is_int(store_drift_finish(s, stage, 0, "drifted", NULL, res, 2, NULL),
	    0, "drift: found");
	ok(store_drift(s, stage, 0, &d, NULL) == 0 && d != NULL &&
		strcmp(d->status, "drifted") == 0 && d->started_at == 1000 &&
		d->finished_at > 0 && d->nresources == 2 &&
		strcmp(d->resources[0].logical_id, "WebService") == 0 &&
		d->resources[0].nprops == 1 &&
		strcmp(d->resources[0].props[0].expected, "2") == 0 &&
		strcmp(d->resources[0].props[0].actual, "5") == 0 &&
		strcmp(d->resources[1].status, "DELETED") == 0 &&
		d->resources[1].nprops == 0 && d->ack_user == NULL,
	    "drift: read back whole, in order");
	store_drift_free(d);
	d = NULL;
	is_int(store_drift_ack(s, stage, 0, "dave", "seen", NULL), 0,
	    "drift: acknowledged");
	is_int(store_drift_ack(s, stage, 0, "erin", "again", &cause),
	    STORE_ENOTFOUND, "drift: not twice");
	free(cause);
	ok(store_drift(s, stage, 0, &d, NULL) == 0 && d != NULL &&
		strcmp(d->ack_user, "dave") == 0 &&
		strcmp(d->ack_comment, "seen") == 0,
	    "drift: the first acknowledgement kept");
	store_drift_free(d);
	d = NULL;
	is_int(store_drift_finish(s, stage, 1, "not_checked",
		   "drift detection did not finish within 2 s", NULL, 0, NULL),
	    0, "drift: another attempt, not checked");
	ok(store_drift(s, stage, 1, &d, NULL) == 0 && d != NULL &&
		strcmp(d->status, "not_checked") == 0 &&
		strstr(d->reason, "did not finish") != NULL &&
		d->nresources == 0,
	    "drift: its reason, no resource");
	store_drift_free(d);
}

static void
test_stack_holds(struct store *s)
{
	struct store_stack_hold	 *h = NULL;
	struct store_stack_holds *l = NULL;
	struct store_run	 *run = NULL;
	char			 *cause = NULL;
	int64_t			  run_id;
	int			  rc, created = -1;

	run_id = make_run(s, "holds", "1.0", "carol", NULL);
	rc = store_stack_hold_get(s, "holds", "int", &h, &cause);
	ok(rc == STORE_ENOTFOUND && h == NULL, "no hold at first (%s)", cause);
	free(cause);
	ok(store_stack_hold_set(s, "holds", "int", "holds-int",
	       "UPDATE_ROLLBACK_FAILED", "Service: no", run_id, NULL) == 0 &&
		store_stack_hold_get(s, "holds", "int", &h, NULL) == 0 &&
		strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") == 0 &&
		h->run_id == run_id && h->action == NULL && h->since != 0,
	    "a hold is recorded with its run");
	store_stack_hold_free(h);
	h = NULL;
	ok(store_stack_hold_action(s, "holds", "int", "continue-rollback",
	       "dave", "fixed", "Service Task", NULL) == 0,
	    "an action is recorded on it");
	cause = NULL;
	rc = store_stack_hold_action(s, "holds", "int", "continue-rollback",
	    "erin", "again", NULL, &cause);
	ok(rc == STORE_ECONFLICT, "a second action is a conflict (%s)", cause);
	free(cause);
	cause = NULL;
	rc = store_stack_hold_action(s, "holds", "stg", "continue-rollback",
	    "erin", "x", NULL, &cause);
	ok(rc == STORE_ECONFLICT,
	    "so is an action where nothing is held "
	    "(%s)",
	    cause);
	free(cause);
	ok(store_stack_hold_get(s, "holds", "int", &h, NULL) == 0 &&
		strcmp(h->action, "continue-rollback") == 0 &&
		strcmp(h->action_by, "dave") == 0 &&
		strcmp(h->action_skip, "Service Task") == 0 &&
		h->action_at != 0,
	    "the action reads back");
	store_stack_hold_free(h);
	h = NULL;
	ok(store_stack_hold_action_end(s, "holds", "int", NULL, "failed again",
	       NULL) == 0 &&
		store_stack_hold_get(s, "holds", "int", &h, NULL) == 0 &&
		h->action == NULL && strcmp(h->reason, "failed again") == 0 &&
		strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") == 0,
	    "its end forgets the action, keeps the hold, new reason");
	store_stack_hold_free(h);
	h = NULL;
	ok(store_stack_hold_set(s, "holds", "int", "holds-int",
	       "UPDATE_ROLLBACK_FAILED", "again", run_id + 1, NULL) == 0 &&
		store_stack_hold_get(s, "holds", "int", &h, NULL) == 0 &&
		h->run_id == run_id,
	    "held again: the first finder stays");
	store_stack_hold_free(h);
	h = NULL;
	ok(store_stack_holds(s, NULL, &l, NULL) == 0 && l->n == 1 &&
		strcmp(l->v[0]->environment, "int") == 0,
	    "listed");
	store_stack_holds_free(l);
	l = NULL;
	ok(store_stack_holds(s, "other", &l, NULL) == 0 && l->n == 0,
	    "not under another app");
	store_stack_holds_free(l);
	ok(store_stack_hold_clear(s, "holds", "int", NULL) == 0 &&
		store_stack_hold_get(s, "holds", "int", &h, NULL) ==
		    STORE_ENOTFOUND,
	    "cleared");

	store_get_run(s, run_id, &run, NULL);
	if (run == NULL) {
		ok(0, "get the run");
		return;
	}
	ok(store_stage_set_reason(s, run->stages[0].id, STORE_STAGE_PENDING,
	       "waiting: held", NULL) == 0,
	    "a waiting stage's reason is set");
	ok(store_stage_set_reason(s, run->stages[0].id, STORE_STAGE_EXECUTING,
	       "not this", NULL) == 0,
	    "a stage no longer in that state is left alone");
	ok(store_stage_stack_created(s, run->stages[0].id, &created, NULL) ==
		    0 &&
		created == 0 &&
		store_stage_set_stack_created(s, run->stages[0].id, NULL) ==
		    0 &&
		store_stage_stack_created(s, run->stages[0].id, &created,
		    NULL) == 0 &&
		created == 1,
	    "a stage's stack made by its change set");
	store_run_free(run);
	run = NULL;
	store_get_run(s, run_id, &run, NULL);
	ok(run != NULL && strcmp(run->stages[0].reason, "waiting: held") == 0,
	    "the reason reads back (%s)",
	    run != NULL && run->stages[0].reason != NULL ?
		run->stages[0].reason :
		"none");
	store_run_free(run);
}

static void
test_approvals(struct store *s)
{
	struct store_approval_in a;
	struct store_approvals	*l = NULL;
	struct store_run	*run = NULL;
	char			*cause = NULL, *want;
	int64_t			 run_id, stage_id;
	int			 n = -1, rc;

	run_id = make_run(s, "approved", "4.0", "alice", NULL);
	if (store_get_run(s, run_id, &run, NULL) != 0) {
		ok(0, "get the run");
		return;
	}
	stage_id = run->stages[2].id;
	store_run_free(run);

	memset(&a, 0, sizeof a);
	a.stage_id = stage_id;
	a.user = "bob";
	a.decision = STORE_DECISION_APPROVE;
	a.via = STORE_VIA_PORTAL;
	is_int(store_record_approval(s, &a, NULL), 0, "bob approves");
	a.via = STORE_VIA_CLI;
	a.comment = "again";
	rc = store_record_approval(s, &a, &cause);
	is_int(rc, STORE_ECONFLICT, "bob cannot approve the same stage twice");
	want = xasprintf("bob has already decided on the change set of stage "
			 "%lld",
	    (long long)stage_id);
	is_str(cause, want, "the cause says so");
	free(want);
	free(cause);
	a.decision = STORE_DECISION_REJECT;
	rc = store_record_approval(s, &a, NULL);
	is_int(rc, STORE_ECONFLICT, "nor reject it after approving");
	a.user = "carol";
	a.decision = STORE_DECISION_APPROVE;
	a.comment = NULL;
	is_int(store_record_approval(s, &a, NULL), 0, "carol approves");
	a.user = "erin";
	a.decision = STORE_DECISION_REJECT;
	a.comment = "  ";
	cause = NULL;
	rc = store_record_approval(s, &a, &cause);
	is_int(rc, STORE_EINVAL, "a reject without a comment is refused");
	free(cause);
	a.comment = "the replacement of the database is not planned";
	is_int(store_record_approval(s, &a, NULL), 0,
	    "a reject with a comment is recorded");
	rc = store_count_approvals(s, stage_id, 0, 0, &n, NULL);
	ok(rc == 0 && n == 2, "two approvals count towards the quorum");

	a.user = "alice";
	a.decision = STORE_DECISION_APPROVE;
	a.gate = 1;
	a.comment = NULL;
	is_int(store_record_approval(s, &a, NULL), STORE_EINVAL,
	    "the gate is authorised, not approved");
	a.decision = STORE_DECISION_AUTHORISE;
	is_int(store_record_approval(s, &a, NULL), 0, "alice authorises");
	a.gate = 0;
	is_int(store_record_approval(s, &a, NULL), STORE_EINVAL,
	    "a change set is approved, not authorised");
	rc = store_count_approvals(s, stage_id, 0, 1, &n, NULL);
	ok(rc == 0 && n == 1, "the gate counts its own decisions");
	a.attempt = 1;
	a.user = "bob";
	a.decision = STORE_DECISION_APPROVE;
	is_int(store_record_approval(s, &a, NULL), 0,
	    "a recreated change set is approved afresh");
	a.stage_id = 999999;
	is_int(store_record_approval(s, &a, NULL), STORE_EINVAL,
	    "an approval of no stage is refused");

	/* One person, however many names. */
	a.stage_id = stage_id;
	a.attempt = 2;
	a.user = "bob";
	a.person = "uid 0";
	is_int(store_record_approval(s, &a, NULL), 0, "uid 0 approves as bob");
	a.user = "carol";
	is_int(store_record_approval(s, &a, NULL), STORE_ECONFLICT,
	    "uid 0 cannot approve again as carol");
	cause = NULL;
	rc = store_approval_by_person(s, stage_id, 2, 0, "uid 0", &want,
	    &cause);
	ok(rc == 0 && want != NULL && strcmp(want, "bob") == 0,
	    "the person's earlier decision is found, under its name");
	free(want);
	rc = store_approval_by_person(s, stage_id, 2, 0, "carol", &want,
	    &cause);
	ok(rc == STORE_ENOTFOUND && want == NULL, "another person has not "
						  "decided");
	rc = store_approval_by_person(s, stage_id, 0, 0, "bob", &want, &cause);
	ok(rc == 0 && want != NULL && strcmp(want, "bob") == 0,
	    "without a person given, the person is the user");
	free(want);
	a.person = "carol";
	is_int(store_record_approval(s, &a, NULL), 0, "carol approves");
	rc = store_count_approvals(s, stage_id, 2, 0, &n, NULL);
	ok(rc == 0 && n == 2, "two people, two approvals");

	/* How an identity provider's person signed in (sql/010). */
	a.user = a.person = "erin@example.com";
	a.via = STORE_VIA_API;
	a.signin = "alb";
	is_int(store_record_approval(s, &a, NULL), 0,
	    "erin approves through the API, signed in by the load balancer");
	a.user = a.person = "eve@example.com";
	a.signin = "portal";
	cause = NULL;
	rc = store_record_approval(s, &a, &cause);
	ok(rc == STORE_EINVAL,
	    "a sign-in other than oidc and alb is refused (%s)",
	    cause != NULL ? cause : "");
	free(cause);
	ok(store_run_approvals(s, run_id, &l, NULL) == 0 && l->n > 0 &&
		strcmp(l->items[l->n - 1].user, "erin@example.com") == 0 &&
		l->items[l->n - 1].via == STORE_VIA_API &&
		l->items[l->n - 1].signin != NULL &&
		strcmp(l->items[l->n - 1].signin, "alb") == 0 &&
		l->items[0].signin == NULL,
	    "read back: via api, signed in by alb; a configured user's none");
	store_approvals_free(l);
}

static void
test_sessions(struct store *s)
{
	struct store_sessions *list = NULL;
	unsigned char	       h1[STORE_HASH_LEN], h2[STORE_HASH_LEN];
	unsigned char	       h3[STORE_HASH_LEN];
	char		      *cause = NULL, *user = NULL, id[17];
	int64_t		       tid = 0, now = 1700000000000LL;
	int		       n = -1, rc;

	memset(h1, 0xa1, sizeof h1);
	memset(h2, 0xb2, sizeof h2);
	memset(h3, 0xc3, sizeof h3);
	ok(store_session_create(s, h1, "carol", "127.0.0.1", now, now + 3600000,
	       NULL) == 0 &&
		store_session_create(s, h2, "carol", NULL, now + 1,
		    now + 3600000, NULL) == 0 &&
		store_session_create(s, h3, "bob", NULL, now, now + 3600000,
		    NULL) == 0,
	    "three sessions");
	ok(store_token_create(s, h1, "carol", "ci", "root (uid 0)", now, &tid,
	       NULL) == 0,
	    "a token of carol's");
	rc = store_session_list(s, NULL, now, &list, NULL);
	ok(rc == 0 && list != NULL && list->n == 3, "three live sessions");
	store_sessions_free(list);
	rc = store_session_list(s, "carol", now, &list, NULL);
	ok(rc == 0 && list->n == 2 &&
		strcmp(list->items[0].user, "carol") == 0 &&
		strcmp(list->items[0].id, "B2B2B2B2B2B2B2B2") == 0 &&
		strcmp(list->items[1].id, "A1A1A1A1A1A1A1A1") == 0 &&
		strcmp(list->items[1].remote_addr, "127.0.0.1") == 0,
	    "carol's two, newest first, named by their hash's first 16 hex");
	store_sessions_free(list);

	rc = store_session_revoke_id(s, "a1a1a1a1a1a1a1a1", now, &user, NULL);
	ok(rc == 0 && user != NULL && strcmp(user, "carol") == 0,
	    "one revoked by id (any case), its user said");
	free(user);
	rc = store_session_revoke_id(s, "a1a1a1a1a1a1a1a1", now, &user, &cause);
	ok(rc == STORE_ENOTFOUND && user == NULL, "not twice (%s)", cause);
	free(cause);
	cause = NULL;
	snprintf(id, sizeof id, "%s", "a1a1a1a1' OR '1");
	rc = store_session_revoke_id(s, id, now, &user, &cause);
	ok(rc == STORE_ENOTFOUND, "an id that is not hex names nothing");
	free(cause);
	rc = store_session_list(s, NULL, now + 3600000, &list, NULL);
	ok(rc == 0 && list->n == 0, "expired sessions are not live");
	store_sessions_free(list);

	rc = store_session_revoke_user(s, "carol", now, &n, NULL);
	ok(rc == 0 && n == 1, "carol's other session ended by user");
	rc = store_token_revoke_user(s, "carol", now, &n, NULL);
	ok(rc == 0 && n == 1, "and her token");
	rc = store_token_revoke_user(s, "carol", now, &n, NULL);
	ok(rc == 0 && n == 0, "a second time ends nothing");
	rc = store_session_list(s, NULL, now, &list, NULL);
	ok(rc == 0 && list->n == 1 && strcmp(list->items[0].user, "bob") == 0,
	    "bob's session is untouched");
	store_sessions_free(list);
}

static int
page_ids(struct store *s, const struct store_runs_filter *f, int64_t *ids,
    size_t max, int64_t *next)
{
	struct store_runs_page *p = NULL;
	char		       *cause = NULL;
	size_t			i;
	int			n;

	if (store_runs_page(s, f, &p, &cause) != 0) {
		tap_diag("runs page: %s", cause);
		free(cause);
		return (-1);
	}
	for (i = 0; i < p->n && i < max; i++)
		ids[i] = p->runs[i].id;
	n = (int)p->n;
	if (next != NULL)
		*next = p->next_before;
	store_runs_page_free(p);
	return (n);
}

/* The people an identity provider signed in (sql/010_people.sql). */
static void
test_people(struct store *s)
{
	struct store_people *l = NULL;
	const char *const    g1[] = { "team", "ops", NULL };
	const char *const    g2[] = { "team", NULL };
	const char *const    bad[] = { "a\nb", NULL };
	const char *const    none[] = { NULL };
	char		    *cause = NULL;
	int64_t		     t0 = fake_now;
	int		     rc;

	ok(store_people_list(s, 0, &l, NULL) == 0 && l != NULL && l->n == 0,
	    "nobody at first");
	store_people_free(l);
	ok(store_person_seen(s, "alice@example.com", "alice@example.com", g1,
	       "oidc", NULL) == 0,
	    "alice signed in");
	fake_now += 1000;
	ok(store_person_seen(s, "bob", NULL, none, "alb", NULL) == 0,
	    "bob signed in, no e-mail, no group");
	ok(store_people_list(s, 0, &l, NULL) == 0 && l->n == 2 &&
		strcmp(l->items[0].name, "alice@example.com") == 0 &&
		strcmp(l->items[0].email, "alice@example.com") == 0 &&
		strcmp(l->items[0].groups[0], "team") == 0 &&
		strcmp(l->items[0].groups[1], "ops") == 0 &&
		l->items[0].groups[2] == NULL &&
		strcmp(l->items[0].source, "oidc") == 0 &&
		l->items[0].first_seen == t0 && l->items[0].last_seen == t0 &&
		strcmp(l->items[1].name, "bob") == 0 &&
		l->items[1].email == NULL && l->items[1].groups[0] == NULL &&
		strcmp(l->items[1].source, "alb") == 0,
	    "both listed with their e-mail, groups and source");
	store_people_free(l);
	fake_now += 1000;
	ok(store_person_seen(s, "alice@example.com", "alice@corp.example", g2,
	       "oidc", NULL) == 0 &&
		store_people_list(s, 0, &l, NULL) == 0 &&
		strcmp(l->items[0].email, "alice@corp.example") == 0 &&
		strcmp(l->items[0].groups[0], "team") == 0 &&
		l->items[0].groups[1] == NULL && l->items[0].first_seen == t0 &&
		l->items[0].last_seen == t0 + 2000,
	    "a new sign-in replaces e-mail and groups (ops lost), keeps "
	    "first seen");
	store_people_free(l);
	ok(store_people_list(s, t0 + 1500, &l, NULL) == 0 && l->n == 1 &&
		strcmp(l->items[0].name, "alice@example.com") == 0,
	    "listed since a time: only those seen after it");
	store_people_free(l);
	rc = store_person_seen(s, "eve", NULL, bad, "oidc", &cause);
	ok(rc == STORE_EINVAL, "a group with a newline refused: %s",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	rc = store_person_seen(s, "eve", NULL, g2, "portal", &cause);
	ok(rc == STORE_EINVAL, "an unknown source refused: %s",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	rc = store_person_seen(s, "", NULL, g2, "oidc", &cause);
	ok(rc == STORE_EINVAL, "no name refused");
	free(cause);
	cause = NULL;
	ok(store_person_set_groups(s, "alice@example.com", none, NULL) == 0 &&
		store_people_list(s, 0, &l, NULL) == 0 &&
		l->items[0].groups[0] == NULL &&
		l->items[0].last_seen == t0 + 2000,
	    "a reload takes her groups away, last seen unchanged");
	store_people_free(l);
	rc = store_person_set_groups(s, "nobody", g2, &cause);
	ok(rc == STORE_ENOTFOUND, "groups of nobody: not found");
	free(cause);
	cause = NULL;
	ok(store_person_forget(s, "bob", NULL) == 0 &&
		store_people_list(s, 0, &l, NULL) == 0 && l->n == 1,
	    "bob forgotten");
	store_people_free(l);
	rc = store_person_forget(s, "bob", &cause);
	ok(rc == STORE_ENOTFOUND, "forgetting him again: not found (%s)",
	    cause != NULL ? cause : "");
	free(cause);
}

static void
test_runs_page(void)
{
	static const struct store_stage_in prod_only[] = { { "prod", 1 } };
	struct store			  *s = NULL;
	struct store_runs_filter	   f;
	struct store_run_in		   rb;
	struct store_runs_page		  *p = NULL;
	sqlite3				  *db;
	sqlite3_stmt			  *stmt;
	char				  *path, *cause = NULL;
	int64_t				   id[12], rel[12], got[20], next, t0;
	unsigned int			   mask;
	int				   i, n, rc, scans, sorts;

	path = tmppath("runs.db");
	if (store_open(path, &s, NULL) != 0) {
		ok(0, "open");
		free(path);
		return;
	}
	store_set_clock(s, fake_clock, NULL);
	fake_now = t0 = 1750000000000LL;
	/* 11 runs a minute apart: apps a/b alternate, authors x/y/z. */
	for (i = 0; i < 11; i++) {
		char version[16];

		snprintf(version, sizeof version, "1.%d", i);
		id[i] = make_run(s, i % 2 ? "b" : "a", version,
		    i % 3 == 0 ? "x" :
		    i % 3 == 1 ? "y" :
				 "z",
		    &rel[i]);
		fake_now += 60000;
	}
	store_set_run_status(s, id[3], STORE_RUN_RECEIVED, STORE_RUN_RUNNING,
	    NULL, NULL);
	store_set_run_status(s, id[8], STORE_RUN_RECEIVED, STORE_RUN_RUNNING,
	    NULL, NULL);
	/* A rollback of release 2 to prod only, the newest run. */
	memset(&rb, 0, sizeof rb);
	rb.release_id = rel[2];
	rb.kind = STORE_RUN_ROLLBACK;
	rb.requested_by = "dave";
	rb.rollback_of = id[10];
	rb.stages = prod_only;
	rb.nstages = 1;
	rc = store_create_run(s, &rb, &id[11], NULL);
	is_int(rc, 0, "a rollback run to one environment");
	memset(&rb, 0, sizeof rb);
	rb.release_id = 999999;
	rc = store_create_run(s, &rb, NULL, &cause);
	is_int(rc, STORE_ENOTFOUND, "a run of an unknown release is refused");
	free(cause);

	memset(&f, 0, sizeof f);
	n = page_ids(s, &f, got, 20, &next);
	ok(n == 12 && got[0] == id[11] && got[1] == id[10] &&
		got[11] == id[0] && next == 0,
	    "all runs, newest first");

	f.limit = 5;
	n = page_ids(s, &f, got, 20, &next);
	ok(n == 5 && got[0] == id[11] && got[4] == id[7] && next == id[7],
	    "a page of 5 and the cursor");
	f.before = next;
	n = page_ids(s, &f, got, 20, &next);
	ok(n == 5 && got[0] == id[6] && got[4] == id[2] && next == id[2],
	    "the next page starts after the cursor");
	f.before = next;
	n = page_ids(s, &f, got, 20, &next);
	ok(n == 2 && got[0] == id[1] && got[1] == id[0] && next == 0,
	    "the last page");

	memset(&f, 0, sizeof f);
	f.app = "b";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 5 && got[0] == id[9] && got[4] == id[1], "by app");
	f.status = STORE_RUN_RUNNING;
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 1 && got[0] == id[3], "by app and status");
	f.app = NULL;
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 2 && got[0] == id[8] && got[1] == id[3], "by status");
	memset(&f, 0, sizeof f);
	f.environment = "stg";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 11 && got[0] == id[10], "by environment (not the rollback)");
	f.environment = "prod";
	f.limit = 2;
	n = page_ids(s, &f, got, 20, &next);
	ok(n == 2 && got[0] == id[11] && got[1] == id[10] && next == id[10],
	    "by environment, paged");
	f.before = next;
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 2 && got[0] == id[9] && got[1] == id[8],
	    "by environment, second page");
	memset(&f, 0, sizeof f);
	f.environment = "prod";
	f.app = "a";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 7 && got[0] == id[11] && got[1] == id[10],
	    "by environment and app");
	memset(&f, 0, sizeof f);
	f.version = "1.4";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 1 && got[0] == id[4], "by version");
	f.version = "1.2";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 2 && got[0] == id[11] && got[1] == id[2],
	    "by version: the run and its redeploy");
	f.version = NULL;
	f.author = "x";
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 4 && got[0] == id[9] && got[3] == id[0], "by author");
	f.author = NULL;
	f.since = t0 + 3 * 60000;
	f.until = t0 + 6 * 60000;
	n = page_ids(s, &f, got, 20, NULL);
	ok(n == 3 && got[0] == id[5] && got[2] == id[3], "by dates");
	store_set_run_status(s, id[6], STORE_RUN_RECEIVED, STORE_RUN_RUNNING,
	    NULL, NULL);
	store_set_run_status(s, id[6], STORE_RUN_RUNNING, STORE_RUN_SUCCEEDED,
	    NULL, NULL);
	rc = store_unfinished_runs(s, &p, NULL);
	ok(rc == 0 && p->n == 11 && p->runs[0].id == id[0] &&
		p->runs[10].id == id[11] && p->runs[0].nstages == 3 &&
		p->runs[10].nstages == 1 &&
		strcmp(p->runs[10].stages[0].environment, "prod") == 0,
	    "unfinished runs, oldest first, with their stages");
	store_runs_page_free(p);
	p = NULL;
	f.limit = 1001;
	rc = store_runs_page(s, &f, &p, &cause);
	ok(rc == STORE_EINVAL && p == NULL, "a limit over 1000 is refused");
	free(cause);

	/*
	 * Every combination of filters uses an index: no SCAN of runs or
	 * releases (but the index scans that hand out rows already in
	 * order and stop at the limit) and no sort of the whole result.
	 */
	db = raw_open(path);
	scans = sorts = 0;
	for (mask = 0; mask < (1U << STORE_RUNS_FILTERS); mask++) {
		const char *sql = store_runs_sql(s, mask);
		char	   *eqp = xasprintf("EXPLAIN QUERY PLAN %s", sql);

		if (sqlite3_prepare_v2(db, eqp, -1, &stmt, NULL) != SQLITE_OK) {
			tap_diag("%s: %s", sql, sqlite3_errmsg(db));
			scans++;
			free(eqp);
			continue;
		}
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(stmt,
			    3);

			if ((strncmp(d, "SCAN ", 5) == 0 &&
				strstr(d, "USING INDEX runs_created") ==
				    NULL) ||
			    strstr(d, "FULL") != NULL) {
				tap_diag("mask %#x: %s", mask, d);
				scans++;
			}
			if (strstr(d, "TEMP B-TREE") != NULL) {
				tap_diag("mask %#x: %s", mask, d);
				sorts++;
			}
		}
		sqlite3_finalize(stmt);
		free(eqp);
	}
	sqlite3_close(db);
	is_int(scans, 0, "no filter combination scans a table");
	is_int(sorts, 0, "no filter combination sorts its result");
	store_close(s);
	free(path);
}

static void
test_two_connections(void)
{
	struct store		*a = NULL, *b = NULL;
	struct store_audit_page *page = NULL;
	struct store_audit_in	 e;
	char			*path, *cause = NULL;
	int64_t			 id;
	int			 rc;

	path = tmppath("two.db");
	rc = store_open(path, &a, NULL);
	rc |= store_open(path, &b, NULL);
	is_int(rc, 0, "two connections open one file");
	if (rc != 0) {
		store_close(a);
		store_close(b);
		free(path);
		return;
	}
	store_upsert_app(a, "billing", NULL, NULL);
	ok(store_app_id(b, "billing", &id, NULL) == 0,
	    "the second sees the first's commit");
	is_int(store_begin(a, NULL), 0, "the first begins a transaction");
	store_upsert_app(a, "payroll", NULL, NULL);
	rc = store_app_id(b, "payroll", &id, &cause);
	is_int(rc, STORE_ENOTFOUND,
	    "the second reads meanwhile, without "
	    "the uncommitted row");
	free(cause);
	is_int(store_commit(a, NULL), 0, "the first commits");
	ok(store_app_id(b, "payroll", &id, NULL) == 0,
	    "the second sees the committed row");

	memset(&e, 0, sizeof e);
	e.actor = "bob";
	e.action = "approve";
	e.subject = "run 1";
	is_int(store_append_audit(b, &e, NULL), 0, "the second writes");
	rc = store_audit_page(a, 0, 0, 10, &page, NULL);
	ok(rc == 0 && page->n == 1 &&
		strcmp(page->entries[0].actor, "bob") == 0,
	    "the first reads it");
	store_audit_page_free(page);

	/* Rolling back on close: an open transaction is not committed. */
	store_begin(b, NULL);
	store_upsert_app(b, "ghost", NULL, NULL);
	store_close(b);
	cause = NULL;
	rc = store_app_id(a, "ghost", &id, &cause);
	is_int(rc, STORE_ENOTFOUND, "closing rolls back an open transaction");
	free(cause);
	store_close(a);
	free(path);
}

/* store_sync: one fsync for the commits since the last, none without. */
static void
test_sync(void)
{
	struct store *s = NULL;
	char	     *path, *cause = NULL;
	uint64_t      n0;
	int64_t	      id;

	path = tmppath("sync.db");
	if (store_open(path, &s, &cause) != 0) {
		ok(0, "open %s: %s", path, cause);
		free(cause);
		free(path);
		return;
	}
	n0 = store_sync_count(s);
	ok(store_sync(s, NULL) == 0 && store_sync_count(s) == n0,
	    "store_sync with nothing committed since the open syncs nothing");
	store_upsert_app(s, "one", &id, NULL);
	store_upsert_app(s, "two", &id, NULL);
	ok(store_sync(s, &cause) == 0 && store_sync_count(s) == n0 + 1,
	    "two commits, then one fsync");
	ok(store_sync(s, NULL) == 0 && store_sync_count(s) == n0 + 1,
	    "a second store_sync without a commit costs nothing");
	store_begin(s, NULL);
	store_upsert_app(s, "three", &id, NULL);
	is_int(store_sync(s, NULL), STORE_EMISUSE,
	    "store_sync inside a transaction is refused");
	store_commit(s, NULL);
	ok(store_sync(s, NULL) == 0 && store_sync_count(s) == n0 + 2,
	    "after the commit it syncs");
	free(cause);
	store_close(s);
	free(path);
}

int
main(void)
{
	struct store *s = NULL;
	char	     *path, *cmd;

	log_init("test-store");
	log_set_level(LOG_LEVEL_WARNING); /* no "database migrated" lines */
	if (mkdtemp(tmpdir) == NULL) {
		tap_bail("mkdtemp: %s", strerror(errno));
	}
	test_migration_files();
	test_fresh();
	test_file_mode();
	test_upgrade();
	test_failed_migration();
	test_too_new();
	test_not_a_database();

	path = tmppath("main.db");
	if (store_open(path, &s, NULL) == 0) {
		store_set_clock(s, fake_clock, NULL);
		test_constraints(s, path);
		test_seen(s);
		test_releases(s);
		test_states(s);
		test_approvals(s);
		test_stack_holds(s);
		test_progress(s);
		test_drift(s);
		test_sessions(s);
		test_people(s);
		store_close(s);
	} else
		ok(0, "open %s", path);
	free(path);
	test_runs_page();
	test_two_connections();
	test_sync();

	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmpdir);
	free(cmd);
	return (tap_done());
}
