/*
 * What test-control and control-test-server share: a store seeded with
 * three runs (stages, resource changes, an approval, check results and
 * an audit trail) and fake action handlers that record what they were
 * asked and answer from a table:
 *
 *	user "mallory"		forbidden "mallory may not <cmd> ...: not in
 *				project-team"
 *	run or release 404	not_found
 *	run 409			conflict
 *	env "nowhere"		invalid
 *	otherwise		done (redeploy: new run 100 + release)
 *
 * stage_changes and check_results have no writer in store.h for this
 * layer (the engine and the checks write them), so the seed writes them
 * with a raw SQLite connection: like test-store.c, a test may.
 */
#ifndef SHIPGATE_TEST_CONTROL_FAKE_H
#define SHIPGATE_TEST_CONTROL_FAKE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "control.h"
#include "engine.h"
#include "store.h"
#include "xmalloc.h"

/* 2023-11-14T22:13:20Z */
#define FAKE_T0 1700000000000LL

static int64_t fake_now = FAKE_T0;

static int64_t
fake_clock(void *arg)
{
	return (fake_now);
}

/* The last call a handler saw. */
struct fake_call {
	char	command[16];
	int64_t id;
	char   *env;
	char   *user;
	char   *via;
	char   *unix_user;
	char   *person;
	char   *comment;
	int	n;   /* calls so far */
	FILE   *log; /* each call as a line, if not NULL */
};

static struct fake_call fake_call;

static void
fake_call_clear(void)
{
	free(fake_call.env);
	free(fake_call.user);
	free(fake_call.via);
	free(fake_call.unix_user);
	free(fake_call.person);
	free(fake_call.comment);
	fake_call.env = fake_call.user = fake_call.via = NULL;
	fake_call.unix_user = fake_call.comment = fake_call.person = NULL;
	fake_call.command[0] = '\0';
	fake_call.id = 0;
}

static char *
fake_dup(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

static int
fake_answer(const char *command, int64_t id, const char *env,
    const struct engine_actor *a, const char *comment, char **cause)
{
	fake_call_clear();
	snprintf(fake_call.command, sizeof fake_call.command, "%s", command);
	fake_call.id = id;
	fake_call.env = fake_dup(env);
	fake_call.user = fake_dup(a->user);
	fake_call.via = fake_dup(a->via);
	fake_call.unix_user = fake_dup(a->unix_user);
	fake_call.person = fake_dup(a->person);
	fake_call.comment = fake_dup(comment);
	fake_call.n++;
	if (fake_call.log != NULL) {
		fprintf(fake_call.log,
		    "%s id=%lld env=%s as=%s via=%s "
		    "unix_user=%s comment=%s\n",
		    command, (long long)id, env != NULL ? env : "-", a->user,
		    a->via, a->unix_user != NULL ? a->unix_user : "-",
		    comment != NULL ? comment : "-");
		fflush(fake_call.log);
	}
	if (strcmp(a->user, "mallory") == 0) {
		*cause = xasprintf("mallory may not %s %s: not in project-team",
		    command, env != NULL ? env : "this run");
		return (ENGINE_EFORBIDDEN);
	}
	if (id == 404) {
		*cause = xasprintf("no run %lld", (long long)id);
		return (ENGINE_ENOTFOUND);
	}
	if (id == 409) {
		*cause = xasprintf("run %lld is not waiting for a decision",
		    (long long)id);
		return (ENGINE_ECONFLICT);
	}
	if (env != NULL && strcmp(env, "nowhere") == 0) {
		*cause = xstrdup("no environment nowhere in app billing");
		return (ENGINE_EINVAL);
	}
	return (0);
}

/* The control socket's one handler: each action as struct engine_action. */
static int
fake_act(void *arg, struct engine_action *a, char **cause)
{
	int rc;

	rc = fake_answer(engine_action_name(a->kind), a->id, a->env, &a->actor,
	    a->comment, cause);
	if (rc == 0 && a->kind == ENGINE_REDEPLOY)
		a->new_run = 100 + a->id;
	return (rc);
}

static int
fake_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "seed: %s: %s\n", sql, err);
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

static int
fake_release(struct store *s, int64_t app_id, const char *app,
    const char *version, const char *author, const char *message, int64_t *idp)
{
	struct store_release_in in;
	char		       *manifest, *key;
	int			rc;

	manifest = xasprintf(
	    "{\"app\": \"%s\", \"version\": \"%s\", "
	    "\"author\": \"%s\", \"message\": \"%s\", \"images\": ["
	    "{\"repository\": \"%s/web\", \"tag\": \"%s\"}, "
	    "{\"repository\": \"%s/worker\", \"digest\": \"sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "\"}]}",
	    app, version, author, message, app, version, app);
	key = xasprintf("%s-%s.zip", app, version);
	memset(&in, 0, sizeof in);
	in.app_id = app_id;
	in.bucket = "releases";
	in.key = key;
	in.size = 1234;
	in.version = version;
	in.message = message;
	in.author = author;
	in.manifest = manifest;
	in.status = STORE_RELEASE_VALID;
	rc = store_record_release(s, &in, idp, NULL);
	free(manifest);
	free(key);
	return (rc);
}

/* Moves a stage along, one minute per step. */
static int
fake_stage(struct store *s, int64_t stage_id,
    const enum store_stage_status *path, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++) {
		fake_now += 60000;
		if (store_set_stage_status(s, stage_id, path[i - 1], path[i],
			NULL, NULL) != 0)
			return (-1);
	}
	return (0);
}

/*
 * Three runs: 1 billing 1.4.2 by alice, running, int done (3 changes,
 * one replacement; a check; approved by alice), stg awaiting approval,
 * prod pending; 2 payroll 2.0.0 by bob, succeeded (its one stage done);
 * 3 billing 1.5.0 by carol, received.  Run 1 has an audit trail.
 */
static int
fake_seed(const char *dbpath, struct store **sp)
{
	static const struct store_stage_in three[] = {
		{ "int", 1 },
		{ "stg", 1 },
		{ "prod", 2 },
	};
	static const struct store_stage_in   one[] = { { "int", 1 } };
	static const enum store_stage_status done[] = {
		STORE_STAGE_PENDING,
		STORE_STAGE_CREATING_CHANGE_SET,
		STORE_STAGE_AWAITING_APPROVAL,
		STORE_STAGE_EXECUTING,
		STORE_STAGE_WAITING_STACK,
		STORE_STAGE_DONE,
	};
	static const enum store_stage_status waiting[] = {
		STORE_STAGE_PENDING,
		STORE_STAGE_CREATING_CHANGE_SET,
		STORE_STAGE_AWAITING_APPROVAL,
	};
	struct store_run_in	 run;
	struct store_approval_in ap;
	struct store_audit_in	 au;
	struct store_run	*r = NULL, *r2 = NULL;
	struct store		*s = NULL;
	sqlite3			*db = NULL;
	int64_t			 billing, payroll, rel, run_id;
	char			*sql;
	int			 rc = -1;

	*sp = NULL;
	if (store_open(dbpath, &s, NULL) != 0)
		return (-1);
	store_set_clock(s, fake_clock, NULL);
	if (store_upsert_app(s, "billing", &billing, NULL) != 0 ||
	    store_upsert_app(s, "payroll", &payroll, NULL) != 0)
		goto out;

	/* Run 1. */
	if (fake_release(s, billing, "billing", "1.4.2", "alice",
		"Fix invoice rounding", &rel) != 0)
		goto out;
	memset(&run, 0, sizeof run);
	run.release_id = rel;
	run.stages = three;
	run.nstages = 3;
	if (store_create_run(s, &run, &run_id, NULL) != 0 ||
	    store_set_run_status(s, run_id, STORE_RUN_RECEIVED,
		STORE_RUN_RUNNING, NULL, NULL) != 0 ||
	    store_get_run(s, run_id, &r, NULL) != 0)
		goto out;
	au.actor = "shipgated";
	au.unix_user = NULL;
	au.action = "run received -> running";
	au.subject = "run 1";
	au.run_id = run_id;
	au.detail = NULL;
	if (store_append_audit(s, &au, NULL) != 0)
		goto out;
	if (fake_stage(s, r->stages[0].id, done, 3) != 0)
		goto out;
	memset(&ap, 0, sizeof ap);
	ap.stage_id = r->stages[0].id;
	ap.user = "alice";
	ap.decision = STORE_DECISION_APPROVE;
	ap.comment = "looks good";
	ap.via = STORE_VIA_CLI;
	if (store_record_approval(s, &ap, NULL) != 0)
		goto out;
	au.actor = "alice";
	au.unix_user = "ops";
	au.action = "approve";
	au.detail = "int: looks good";
	if (store_append_audit(s, &au, NULL) != 0)
		goto out;
	if (fake_stage(s, r->stages[0].id, done + 2, 4) != 0 ||
	    fake_stage(s, r->stages[1].id, waiting, 3) != 0)
		goto out;
	au.actor = "shipgated";
	au.unix_user = NULL;
	au.action = "stage stg creating_change_set -> awaiting_approval";
	au.detail = NULL;
	if (store_append_audit(s, &au, NULL) != 0)
		goto out;

	/* Run 2. */
	fake_now += 60000;
	if (fake_release(s, payroll, "payroll", "2.0.0", "bob", "New payslips",
		&rel) != 0)
		goto out;
	run.release_id = rel;
	run.stages = one;
	run.nstages = 1;
	if (store_create_run(s, &run, &run_id, NULL) != 0 ||
	    store_set_run_status(s, run_id, STORE_RUN_RECEIVED,
		STORE_RUN_RUNNING, NULL, NULL) != 0 ||
	    store_get_run(s, run_id, &r2, NULL) != 0 ||
	    fake_stage(s, r2->stages[0].id, done, 6) != 0 ||
	    store_set_run_status(s, run_id, STORE_RUN_RUNNING,
		STORE_RUN_SUCCEEDED, NULL, NULL) != 0)
		goto out;

	/* Run 3. */
	fake_now += 60000;
	if (fake_release(s, billing, "billing", "1.5.0", "carol",
		"Faster exports", &rel) != 0)
		goto out;
	run.release_id = rel;
	run.stages = three;
	run.nstages = 3;
	if (store_create_run(s, &run, &run_id, NULL) != 0)
		goto out;

	/* What the engine and the checks would have written. */
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	sql = xasprintf(
	    "INSERT INTO stage_changes (stage_id, attempt, position, action, "
	    "logical_id, physical_id, resource_type, replacement, scope, "
	    "details) VALUES "
	    "(%lld, 0, 0, 'Modify', 'WebService', 'arn:aws:ecs:eu-west-1:"
	    "111111111111:service/billing/web', 'AWS::ECS::Service', 'False', "
	    "'[\"Properties\"]', '[]'), "
	    "(%lld, 0, 1, 'Add', 'ExportQueue', NULL, 'AWS::SQS::Queue', NULL, "
	    "NULL, NULL), "
	    "(%lld, 0, 2, 'Modify', 'Database', 'billing-db', "
	    "'AWS::RDS::DBInstance', 'True', '[\"Properties\"]', '[]'); "
	    "INSERT INTO check_results (stage_id, attempt, check_name, step, "
	    "step_name, status, method, url, http_status, tries, duration_ms, "
	    "started_at, finished_at) VALUES (%lld, 0, 'smoke', 0, 'home', "
	    "'passed', 'GET', 'https://int.example.com/', 200, 1, 120, %lld, "
	    "%lld)",
	    (long long)r->stages[0].id, (long long)r->stages[0].id,
	    (long long)r->stages[0].id, (long long)r->stages[0].id,
	    (long long)FAKE_T0, (long long)FAKE_T0 + 120);
	rc = fake_exec(db, sql);
	free(sql);
out:
	if (db != NULL)
		sqlite3_close(db);
	store_run_free(r);
	store_run_free(r2);
	if (rc != 0) {
		store_close(s);
		return (-1);
	}
	*sp = s;
	return (0);
}

#endif
