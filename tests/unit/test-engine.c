/*
 * The pipeline engine against the fake AWS endpoint: a real store in a
 * temporary directory, a configuration from a string, releases recorded
 * in the store with a small template (cluster, task definition, ECS
 * service), decisions through engine_* as shipgatectl makes them.  Each
 * scenario gets all of these afresh; TEST_ENGINE_ONLY=NAME runs one alone.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>
#include <zip.h>

#include "aws-context.h"
#include "config.h"
#include "engine.h"
#include "fakeaws.h"
#include "log.h"
#include "store.h"
#include "svc-cfn.h"
#include "svc-s3.h"
#include "tap.h"
#include "xmalloc.h"

struct t {
	uv_loop_t	    loop;
	uv_timer_t	    tick;
	struct fakeaws	    fake;
	struct store	   *store;
	struct config	   *config;
	struct aws_context *aws;
	struct engine	   *engine;
	char		    dir[64];
	int64_t		    offset; /* added to the store's clock */
};

static struct t	   T;
static const char *zip_etag; /* the ETag of the next release's zip */

static int64_t
t_now(void *arg)
{
	struct t       *t = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + t->offset);
}

#define CONFIG_TEXT                                                              \
	"public_url: http://127.0.0.1:8080\n"                                    \
	"database: %s/shipgate.db\n"                                             \
	"aws:\n"                                                                 \
	"  region: eu-west-1\n"                                                  \
	"  max_attempts: 3\n"                                                    \
	"  endpoints: {s3: %s, sqs: %s, sts: %s, cloudformation: %s, ecs: %s}\n" \
	"users:\n"                                                               \
	"  - {name: alice, email: a@x.example, groups: [integrators]}\n"         \
	"  - {name: bob, email: b@x.example, groups: [project-team]}\n"          \
	"  - {name: carol, email: c@x.example, groups: [project-team]}\n"        \
	"  - {name: erin, email: e@x.example, groups: [project-team]}\n"         \
	"  - {name: dave, email: d@x.example, groups: [operators]}\n"            \
	"apps:\n"                                                                \
	"  - name: billing\n"                                                    \
	"    source: {bucket: releases-billing}\n"                               \
	"    environments:\n"                                                    \
	"      - {name: int, account: \"111111111111\", stack: billing-int,\n"   \
	"         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"      \
	"         approvers: [integrators], gate: [integrators],\n"              \
	"         parameters: {Environment: int}}\n"                             \
	"      - {name: stg, account: \"222222222222\", stack: billing-stg,\n"   \
	"         role_arn: \"arn:aws:iam::222222222222:role/deployer\",\n"      \
	"         approvers: [project-team], parameters: {Environment: stg}}\n"  \
	"      - {name: prod, account: \"333333333333\", stack: billing-prod,\n" \
	"         role_arn: \"arn:aws:iam::333333333333:role/deployer\",\n"      \
	"         approvers: [project-team], required_approvals: 2,\n"           \
	"         allow_self_approval: false,\n"                                 \
	"         parameters: {Environment: prod}}\n"                            \
	"%s"


/* One app with one environment in account 111111111111. */
static char *
app_text(const char *name, const char *stack, const char *extra_app,
    const char *extra_env)
{
	return (xasprintf(
	    "  - name: %s\n"
	    "    source: {bucket: releases-%s}\n"
	    "%s"
	    "    environments:\n"
	    "      - {name: int, account: \"111111111111\", stack: %s,\n"
	    "         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"
	    "         approvers: [integrators], parameters: {Environment: int}"
	    "%s}\n",
	    name, name, extra_app, stack, extra_env));
}

#define TEMPLATE_FMT                                                     \
	"AWSTemplateFormatVersion: \"2010-09-09\"\n"                     \
	"Parameters:\n"                                                  \
	"  ImageTag: {Type: String}\n"                                   \
	"  Environment: {Type: String}\n"                                \
	"Resources:\n"                                                   \
	"  Cluster:\n"                                                   \
	"    Type: AWS::ECS::Cluster\n"                                  \
	"    Properties: {ClusterName: !Sub \"%s-${Environment}\"}\n"    \
	"  Task:\n"                                                      \
	"    Type: AWS::ECS::TaskDefinition\n"                           \
	"    Properties:\n"                                              \
	"      Family: !Sub \"%s-${Environment}\"\n"                     \
	"      ContainerDefinitions:\n"                                  \
	"        - {Name: web, Image: !Sub \"example/web:${ImageTag}\"," \
	" Essential: true}\n"                                            \
	"  Service:\n"                                                   \
	"    Type: AWS::ECS::Service\n"                                  \
	"    Properties:\n"                                              \
	"      ServiceName: web\n"                                       \
	"      Cluster: !Ref Cluster\n"                                  \
	"      DesiredCount: 1\n"                                        \
	"      TaskDefinition: !Ref Task\n"                              \
	"      DeploymentConfiguration:\n"                               \
	"        DeploymentCircuitBreaker: {Enable: true, Rollback: true}\n"


/* --- Harness ------------------------------------------------------------- */

static void
tick_cb(uv_timer_t *h)
{
	(void)h;
}

static int
t_engine_start(struct t *t)
{
	char *cause = NULL;
	int   rc;

	t->engine = engine_new(&t->loop, t->store, t->aws, t->config);
	engine_set_poll(t->engine, 10, 100);
	if ((rc = engine_start(t->engine, &cause)) != 0) {
		tap_diag("engine_start: %s", cause);
		free(cause);
	}
	return (rc);
}

static void
set_cb(void *arg)
{
	*(int *)arg = 1;
}

static void
t_engine_stop(struct t *t)
{
	int done = 0;

	engine_stop(t->engine, set_cb, &done);
	while (!done)
		uv_run(&t->loop, UV_RUN_ONCE);
	t->engine = NULL;
}

static int
t_setup(struct t *t)
{
	struct config_errors e;
	char		    *apps, *a[20], *text, *cause = NULL;
	const char	    *u;
	size_t		     i;
	int64_t		     id;

	memset(t, 0, sizeof *t);
	setenv("AWS_ACCESS_KEY_ID", FAKEAWS_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", FAKEAWS_SECRET_KEY, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	{
		const char *args[] = { "--step-delay", "0.02", NULL };

		if (fakeaws_start_args(&t->fake, args) != 0)
			return (-1);
	}
	snprintf(t->dir, sizeof t->dir, "/tmp/test-engine.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return (-1);
	u = t->fake.url;
	a[0] = app_text("rej", "rej-int", "", "");
	a[1] = app_text("exp", "exp-int", "", ", approval_timeout: 1h");
	a[2] = app_text("sup", "sup-int", "    mode: superseded\n", "");
	a[3] = app_text("que", "que-int", "    mode: queued\n", "");
	a[4] = app_text("noch", "noch-int", "", ", approve_no_changes: false");
	a[5] = app_text("fail", "fail-int", "", "");
	a[6] = app_text("cb", "cb-int", "", "");
	a[7] = app_text("slow", "slow-int", "", ", deploy_timeout: 1h");
	a[8] = app_text("stale", "stale-int", "", "");
	a[9] = app_text("big", "big-int",
	    "    artifacts: {bucket: artifacts-big, prefix: tpl/}\n", "");
	a[10] = app_text("crash", "crash-int", "", "");
	a[11] = app_text("promo", "promo-int", "",
	    ", registry: 999999999999.dkr.ecr.eu-west-1.amazonaws.com");
	a[12] = app_text("same", "same-int",
	    "    registry: 999999999999.dkr."
	    "ecr.eu-west-1.amazonaws.com\n",
	    ", registry: 999999999999.dkr.ecr.eu-west-1.amazonaws.com");
	a[13] = app_text("stuck", "stuck-int", "", "");
	a[14] = app_text("firstfail", "firstfail-int", "", "");
	a[15] = app_text("obs", "obs-int", "", "");
	a[16] = app_text("empty", "empty-int", "    mode: superseded\n", "");
	a[17] = app_text("emptyexp", "emptyexp-int", "",
	    ", approval_timeout: 1h");
	a[18] = app_text("win", "win-int", "",
	    ",\n         windows: [{days: "
	    "mon-thu, from: \"09:00\", to: \"17:30\", zone: Europe/Paris}]");
	a[19] = app_text("winexp", "winexp-int", "",
	    ", approval_timeout: 1h,"
	    "\n         windows: [{days: mon, from: \"09:00\", to: \"10:00\","
	    " zone: Europe/Paris}]");
	apps = xstrdup("");
	for (i = 0; i < 20; i++) {
		text = xasprintf("%s%s", apps, a[i]);
		free(apps);
		free(a[i]);
		apps = text;
	}
	text = xasprintf(CONFIG_TEXT, t->dir, u, u, u, u, u, apps);
	free(apps);
	t->config = config_load_buffer("test.yaml", text, strlen(text), &e);
	free(text);
	if (t->config == NULL) {
		for (i = 0; i < e.n; i++)
			tap_diag("%s", e.lines[i]);
		config_errors_free(&e);
		return (-1);
	}
	text = xasprintf("%s/shipgate.db", t->dir);
	if (store_open(text, &t->store, &cause) != 0) {
		tap_diag("store_open: %s", cause);
		free(text);
		return (-1);
	}
	free(text);
	store_set_clock(t->store, t_now, t);
	for (i = 0; i < t->config->napps; i++)
		store_upsert_app(t->store, t->config->apps[i].name, &id, NULL);
	uv_loop_init(&t->loop);
	uv_timer_init(&t->loop, &t->tick);
	if ((t->aws = aws_context_new(&t->loop, t->config, &cause)) == NULL) {
		tap_diag("aws_context_new: %s", cause);
		return (-1);
	}
	return (t_engine_start(t));
}

static int
t_teardown(struct t *t)
{
	char path[128];
	int  done = 0, rc;

	if (t->engine != NULL)
		t_engine_stop(t);
	aws_context_close(t->aws, set_cb, &done);
	while (!done)
		uv_run(&t->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t->tick, NULL);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&t->loop);
	store_close(t->store);
	config_free(t->config);
	fakeaws_stop(&t->fake);
	snprintf(path, sizeof path, "%s/shipgate.db", t->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/shipgate.db-wal", t->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/shipgate.db-shm", t->dir);
	unlink(path);
	rmdir(t->dir);
	return (rc);
}

/* Runs the loop until pred holds or 20 s pass; 1 if it held. */
static int
t_until(struct t *t, int (*pred)(struct t *, void *), void *arg)
{
	int64_t end = t_now(t) - t->offset + 20000;

	uv_timer_start(&t->tick, tick_cb, 5, 5);
	while (!pred(t, arg)) {
		if (t_now(t) - t->offset > end) {
			uv_timer_stop(&t->tick);
			return (0);
		}
		uv_run(&t->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&t->tick);
	return (1);
}

/* Runs the loop for about ms (no assertion on time: to let things go). */
static void
t_spin(struct t *t, int64_t ms)
{
	int64_t end = t_now(t) + ms;

	uv_timer_start(&t->tick, tick_cb, 5, 5);
	while (t_now(t) < end)
		uv_run(&t->loop, UV_RUN_ONCE);
	uv_timer_stop(&t->tick);
}

struct want {
	int64_t	    run;
	const char *env; /* NULL: the run's status */
	int	    status;
	int	    attempt; /* -1: any */
};

static struct store_run *
t_run(struct t *t, int64_t id)
{
	struct store_run *r = NULL;

	store_get_run(t->store, id, &r, NULL);
	return (r);
}

static struct store_stage *
t_stage(struct store_run *r, const char *env)
{
	size_t i;

	for (i = 0; r != NULL && i < r->nstages; i++)
		if (strcmp(r->stages[i].environment, env) == 0)
			return (&r->stages[i]);
	return (NULL);
}

static int
want_pred(struct t *t, void *arg)
{
	struct want	   *w = arg;
	struct store_run   *r = t_run(t, w->run);
	struct store_stage *st;
	int		    ok = 0;

	if (r == NULL)
		return (0);
	if (w->env == NULL)
		ok = (int)r->status == w->status;
	else if ((st = t_stage(r, w->env)) != NULL)
		ok = (int)st->status == w->status &&
		     (w->attempt < 0 || st->attempt == w->attempt);
	store_run_free(r);
	return (ok);
}

static int
wait_stage(struct t *t, int64_t run, const char *env, int status)
{
	struct want w = { run, env, status, -1 };

	return (t_until(t, want_pred, &w));
}

static int
wait_run(struct t *t, int64_t run, int status)
{
	struct want w = { run, NULL, status, -1 };

	return (t_until(t, want_pred, &w));
}

static char *
stage_reason(struct t *t, int64_t run, const char *env)
{
	struct store_run   *r = t_run(t, run);
	struct store_stage *st = t_stage(r, env);
	char		   *s;

	s = st != NULL && st->reason != NULL ? xstrdup(st->reason) :
					       xstrdup("(none)");
	store_run_free(r);
	return (s);
}

static int
stage_attempt(struct t *t, int64_t run, const char *env)
{
	struct store_run   *r = t_run(t, run);
	struct store_stage *st = t_stage(r, env);
	int		    a = st != NULL ? st->attempt : -1;

	store_run_free(r);
	return (a);
}

static char *
stage_change_set(struct t *t, int64_t run, const char *env)
{
	struct store_run   *r = t_run(t, run);
	struct store_stage *st = t_stage(r, env);
	char		   *s = NULL;

	if (st != NULL && st->change_set_arn != NULL)
		s = xstrdup(st->change_set_arn);
	store_run_free(r);
	return (s);
}

static int64_t t_release_full(struct t *, const char *, const char *,
    const char *, size_t, int, const char *, const char *);

/* Records a valid release of app with its template; returns its id. */
static int64_t
t_release(struct t *t, const char *app, const char *version,
    const char *stack_key)
{
	return (t_release_full(t, app, version, stack_key, 0, 1, NULL, NULL));
}

static char *
t_manifest(const char *app, const char *version)
{
	return (xasprintf(
	    "{\"app\": \"%s\", \"version\": \"%s\", "
	    "\"message\": \"release %s of %s\", \"author\": \"bob\", "
	    "\"template\": \"template.yaml\", \"images\": [{\"repository\": "
	    "\"example/web\", \"tag\": \"%s\"}], \"parameters\": "
	    "{\"ImageTag\": \"%s\"}}",
	    app, version, version, app, version, version));
}

/* The template, padded with comment lines to at least pad bytes. */
static char *
t_template(const char *stack_key, size_t pad)
{
	char *tpl, *more;

	tpl = xasprintf(TEMPLATE_FMT, stack_key, stack_key);
	while (strlen(tpl) < pad) {
		more = xasprintf("%s# padding to make the template larger "
				 "than CloudFormation's inline limit\n",
		    tpl);
		free(tpl);
		tpl = more;
	}
	return (tpl);
}

/*
 * A release: pad the template to that size; keep_template: record it in
 * the store (otherwise the engine reads the zip at bucket/key).
 */
static int64_t
t_release_full(struct t *t, const char *app, const char *version,
    const char *stack_key, size_t pad, int keep_template, const char *bucket,
    const char *zip_key)
{
	struct store_release_in in;
	char		       *manifest, *tpl, *key, *cause = NULL;
	char		       *etag = NULL;
	int64_t			app_id = 0, id = 0;

	store_app_id(t->store, app, &app_id, NULL);
	manifest = t_manifest(app, version);
	tpl = t_template(stack_key, pad);
	key = zip_key != NULL ? xstrdup(zip_key) :
				xasprintf("drops/%s-%s-%lld.zip", app, version,
				    (long long)t_now(t));
	memset(&in, 0, sizeof in);
	in.app_id = app_id;
	in.bucket = bucket != NULL ? bucket : "releases";
	in.key = key;
	if (zip_etag != NULL) {
		/* Bare, as intake records it. */
		etag = xstrndup(zip_etag + (*zip_etag == '"'),
		    strcspn(zip_etag + (*zip_etag == '"'), "\""));
		in.etag = etag;
	}
	in.size = 100;
	in.version = version;
	in.message = "a message";
	in.author = "bob";
	in.manifest = manifest;
	in.status = STORE_RELEASE_VALID;
	if (store_record_release(t->store, &in, &id, &cause) != 0 ||
	    (keep_template &&
		store_set_release_template(t->store, id, "template.yaml", tpl,
		    strlen(tpl), &cause) != 0)) {
		tap_diag("recording a release: %s", cause);
		free(cause);
	}
	free(manifest);
	free(tpl);
	free(key);
	free(etag);
	return (id);
}

static int64_t
t_submit(struct t *t, int64_t release)
{
	int64_t run = 0;
	char   *cause = NULL;

	if (engine_submit_release(t->engine, release, &run, &cause) != 0) {
		tap_diag("submit: %s", cause);
		free(cause);
	}
	return (run);
}

static struct engine_actor *
as(const char *user)
{
	static struct engine_actor a;

	a.user = user;
	a.via = "cli";
	a.unix_user = "tester";
	return (&a);
}

static int
approve(struct t *t, int64_t run, const char *env, const char *user)
{
	char *cause = NULL;
	int   rc;

	rc = engine_approve(t->engine, run, env, as(user), "ok", &cause);
	if (rc != 0 && rc != ENGINE_EFORBIDDEN)
		tap_diag("approve %s by %s: %s", env, user, cause);
	free(cause);
	return (rc);
}

/* A full approval of a one-stage run (app with env int). */
static int
deploy_one(struct t *t, int64_t run)
{
	return (wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_run(t, run, STORE_RUN_SUCCEEDED));
}

static json_t *
fake_json(struct t *t, const char *method, const char *path, const char *body)
{
	struct fakeaws_reply reply;
	json_t		    *j;

	fakeaws_control(&t->fake, method, path, body, &reply);
	j = reply.body != NULL ? json_loads(reply.body, 0, NULL) : NULL;
	free(reply.body);
	return (j);
}

/* How many fault rules are left (each goes once it has fired). */
static int
fake_json_faults_left(struct t *t)
{
	json_t *j;
	int	n;

	j = fake_json(t, "GET", "/_fake/faults", NULL);
	n = (int)json_array_size(json_object_get(j, "faults"));
	json_decref(j);
	return (n);
}

/* A count of /_fake/calls: service, operation. */
static int
fake_calls(struct t *t, const char *service, const char *op)
{
	json_t *j;
	int	n;

	j = fake_json(t, "GET", "/_fake/calls", NULL);
	n = (int)json_integer_value(
	    json_object_get(json_object_get(j, service), op));
	json_decref(j);
	return (n);
}

static int
deleted_pred(struct t *t, void *arg)
{
	(void)arg;
	return (fake_calls(t, "cloudformation", "DeleteChangeSet") > 0);
}

/* ExecuteChangeSet calls and executions of one change set ARN. */
static void
executions(struct t *t, const char *arn, int *calls, int *execs)
{
	json_t *j, *e;

	*calls = *execs = -1;
	j = fake_json(t, "GET", "/_fake/cfn/executions", NULL);
	if (j != NULL && arn != NULL && (e = json_object_get(j, arn)) != NULL) {
		*calls = (int)json_integer_value(json_object_get(e, "calls"));
		*execs = (int)json_integer_value(
		    json_object_get(e, "executions"));
	}
	json_decref(j);
}

/* How many change sets were ever created on a stack. */
static int
change_sets_of(struct t *t, const char *stack)
{
	json_t	   *j, *e;
	const char *k;
	int	    n = 0;

	j = fake_json(t, "GET", "/_fake/cfn/executions", NULL);
	json_object_foreach(j, k, e) {
		const char *s = json_string_value(json_object_get(e, "stack"));

		if (s != NULL && strcmp(s, stack) == 0)
			n++;
	}
	json_decref(j);
	return (n);
}

static int
audit_has(struct t *t, int64_t run, const char *action)
{
	struct store_audit_page *p = NULL;
	size_t			 i;
	int			 found = 0;

	if (store_audit_page(t->store, run, 0, 1000, &p, NULL) != 0)
		return (0);
	for (i = 0; i < p->n; i++)
		if (strstr(p->entries[i].action, action) != NULL ||
		    (p->entries[i].detail != NULL &&
			strstr(p->entries[i].detail, action) != NULL))
			found = 1;
	store_audit_page_free(p);
	return (found);
}

/* --- A change made behind shipgate's back -------------------------------- */

struct manual {
	int   done;
	int   ok;
	char *status;
};

static void
manual_ref_cb(const struct aws_reply *reply, struct cfn_change_set_ref *ref,
    void *arg)
{
	struct manual *m = arg;

	m->ok = reply->error == AWS_OK;
	if (!m->ok)
		tap_diag("manual create: %s", reply->message);
	cfn_change_set_ref_free(ref);
	m->done = 1;
}

static void
manual_cs_cb(const struct aws_reply *reply, struct cfn_change_set *cs,
    void *arg)
{
	struct manual *m = arg;

	free(m->status);
	m->status = reply->error == AWS_OK && cs->status != NULL ?
			xstrdup(cs->status) :
			xstrdup("error");
	cfn_change_set_free(cs);
	m->done = 1;
}

static void
manual_done_cb(const struct aws_reply *reply, void *arg)
{
	struct manual *m = arg;

	m->ok = reply->error == AWS_OK;
	if (!m->ok)
		tap_diag("manual execute: %s", reply->message);
	m->done = 1;
}

static void
manual_stack_cb(const struct aws_reply *reply, struct cfn_stack_list *l,
    void *arg)
{
	struct manual *m = arg;

	free(m->status);
	m->status = reply->error == AWS_OK && l->n > 0 ?
			xstrdup(l->v[0].status) :
			xstrdup("error");
	cfn_stack_list_free(l);
	m->done = 1;
}

static int
manual_pred(struct t *t, void *arg)
{
	(void)t;
	return (((struct manual *)arg)->done);
}

/* Updates a stack of app "stale" (account 111111111111) directly:
 * another ImageTag, executed and finished. */
static int
manual_update(struct t *t, const char *stack, const char *key)
{
	const struct config_app		  *app;
	struct cfn_create_change_set_input in;
	struct cfn_parameter_input	   params[2];
	struct aws_client		  *c = aws_context_client(t->aws);
	struct aws_creds		  *creds;
	struct manual			   m;
	char				  *tpl, *cause = NULL;
	int				   i, ok = 0;

	app = config_find_app(t->config, "stale");
	creds = aws_context_env_creds(t->aws, app, &app->environments[0],
	    &cause);
	tpl = xasprintf(TEMPLATE_FMT, key, key);
	params[0] = (struct cfn_parameter_input){ "ImageTag", "9.9.9", 0 };
	params[1] = (struct cfn_parameter_input){ "Environment", "int", 0 };
	memset(&in, 0, sizeof in);
	in.stack_name = stack;
	in.change_set_name = "manual-change";
	in.type = CFN_CHANGE_SET_UPDATE;
	in.template_body = tpl;
	in.parameters = params;
	in.nparameters = 2;
	memset(&m, 0, sizeof m);
	if (creds == NULL ||
	    cfn_create_change_set(c, creds, "eu-west-1", &in, manual_ref_cb, &m,
		&cause) == NULL ||
	    !t_until(t, manual_pred, &m) || !m.ok)
		goto out;
	for (i = 0; i < 200; i++) {
		m.done = 0;
		if (cfn_describe_change_set(c, creds, "eu-west-1", stack,
			"manual-change", manual_cs_cb, &m, &cause) == NULL ||
		    !t_until(t, manual_pred, &m))
			goto out;
		if (strcmp(m.status, "CREATE_COMPLETE") == 0)
			break;
		t_spin(t, 20);
	}
	m.done = 0;
	if (cfn_execute_change_set(c, creds, "eu-west-1", stack,
		"manual-change", NULL, manual_done_cb, &m, &cause) == NULL ||
	    !t_until(t, manual_pred, &m) || !m.ok)
		goto out;
	for (i = 0; i < 500; i++) {
		m.done = 0;
		if (cfn_describe_stacks(c, creds, "eu-west-1", stack,
			manual_stack_cb, &m, &cause) == NULL ||
		    !t_until(t, manual_pred, &m))
			goto out;
		if (strcmp(m.status, "UPDATE_COMPLETE") == 0) {
			ok = 1;
			break;
		}
		t_spin(t, 20);
	}
out:
	if (cause != NULL)
		tap_diag("manual update: %s", cause);
	free(cause);
	free(m.status);
	free(tpl);
	return (ok);
}

/* The status of the live stack of that name in the fake ("none" when
 * there is none; DELETE_COMPLETE when only deleted ones remain). */
static char *
fake_stack_status(struct t *t, const char *name)
{
	json_t	   *j, *stacks, *v;
	const char *k, *status, *found = "none";
	char	   *out;

	j = fake_json(t, "GET", "/_fake/state", NULL);
	stacks = json_object_get(json_object_get(j, "cloudformation"),
	    "stacks");
	json_object_foreach(stacks, k, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")),
			name) != 0)
			continue;
		status = json_string_value(json_object_get(v, "status"));
		if (strcmp(status, "DELETE_COMPLETE") != 0 ||
		    strcmp(found, "none") == 0)
			found = status;
	}
	out = xstrdup(found);
	json_decref(j);
	return (out);
}

struct stack_want {
	const char *name;
	const char *status;
};

static int
stack_pred(struct t *t, void *arg)
{
	struct stack_want *w = arg;
	char		  *s = fake_stack_status(t, w->name);
	int		   ok = strcmp(s, w->status) == 0;

	free(s);
	return (ok);
}

static int
wait_stack_status(struct t *t, const char *name, const char *status)
{
	struct stack_want w = { name, status };

	return (t_until(t, stack_pred, &w));
}

/* The hold of app's env: its status ("none" when not held) and whether
 * an action is under way. */
static char *
hold_status(struct t *t, const char *app, int *action)
{
	struct store_stack_hold *h = NULL;
	char			*s;

	if (action != NULL)
		*action = 0;
	if (store_stack_hold_get(t->store, app, "int", &h, NULL) != 0)
		return (xstrdup("none"));
	s = xstrdup(h->stack_status);
	if (action != NULL)
		*action = h->action != NULL;
	store_stack_hold_free(h);
	return (s);
}

struct hold_want {
	const char *app;
	const char *status;
};

static int
hold_pred(struct t *t, void *arg)
{
	struct hold_want *w = arg;
	char		 *s = hold_status(t, w->app, NULL);
	int		  ok = strcmp(s, w->status) == 0;

	free(s);
	return (ok);
}

static int
wait_hold(struct t *t, const char *app, const char *status)
{
	struct hold_want w = { app, status };

	return (t_until(t, hold_pred, &w));
}

struct reason_want {
	int64_t	    run;
	const char *text;
};

static int
reason_pred(struct t *t, void *arg)
{
	struct reason_want *w = arg;
	char		   *s = stage_reason(t, w->run, "int");
	int		    ok = strstr(s, w->text) != NULL;

	free(s);
	return (ok);
}

static int
audit_pred(struct t *t, void *arg)
{
	struct reason_want *w = arg;

	return (audit_has(t, w->run, w->text));
}

/* An operator's action on app's int stack. */
static int
stack_act(struct t *t, enum engine_action_kind kind, const char *app,
    const char *user, const char *comment, const char *skip, char **cause)
{
	struct engine_action a;
	const char	    *skips[1];

	memset(&a, 0, sizeof a);
	a.kind = kind;
	a.app = app;
	a.env = "int";
	a.comment = comment;
	a.actor = *as(user);
	if (skip != NULL) {
		skips[0] = skip;
		a.skip = skips;
		a.nskip = 1;
	}
	return (engine_act(t->engine, &a, cause));
}

/* Another tool's CREATE change set on a stack of app "emptyexp": the
 * stack is made, REVIEW_IN_PROGRESS, by someone else. */
static int
manual_create(struct t *t, const char *stack)
{
	const struct config_app		  *app;
	struct cfn_create_change_set_input in;
	struct cfn_parameter_input	   params[2];
	struct manual			   m;
	struct aws_creds		  *creds;
	char				  *tpl, *cause = NULL;

	app = config_find_app(t->config, "emptyexp");
	creds = aws_context_env_creds(t->aws, app, &app->environments[0],
	    &cause);
	tpl = xasprintf(TEMPLATE_FMT, "other", "other");
	params[0] = (struct cfn_parameter_input){ "ImageTag", "0.1", 0 };
	params[1] = (struct cfn_parameter_input){ "Environment", "int", 0 };
	memset(&in, 0, sizeof in);
	in.stack_name = stack;
	in.change_set_name = "another-tool";
	in.type = CFN_CHANGE_SET_CREATE;
	in.template_body = tpl;
	in.parameters = params;
	in.nparameters = 2;
	memset(&m, 0, sizeof m);
	if (creds == NULL ||
	    cfn_create_change_set(aws_context_client(t->aws), creds,
		"eu-west-1", &in, manual_ref_cb, &m, &cause) == NULL ||
	    !t_until(t, manual_pred, &m))
		m.ok = 0;
	if (cause != NULL)
		tap_diag("manual create: %s", cause);
	free(cause);
	free(tpl);
	return (m.ok);
}

/* --- Scenarios ----------------------------------------------------------- */

static void
test_happy_path(struct t *t)
{
	struct store_changes	*ch = NULL;
	struct store_deployment *d = NULL;
	struct store_run	*r;
	struct engine_actor	 other;
	char			*cause = NULL, *long_comment;
	int64_t			 rel, run, app_id = 0;
	int			 rc;

	rel = t_release(t, "billing", "1.0.0", "billing");
	run = t_submit(t, rel);
	ok(run > 0, "happy: a run is created");
	r = t_run(t, run);
	ok(r != NULL && r->nstages == 3 &&
		strcmp(r->stages[0].environment, "int") == 0 &&
		strcmp(r->stages[2].environment, "prod") == 0,
	    "happy: one stage per environment, in order");
	store_run_free(r);
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "happy: int awaits approval");
	r = t_run(t, run);
	ok(r != NULL && r->stages[0].change_set_name != NULL &&
		strstr(r->stages[0].change_set_name, "billing-int") != NULL,
	    "happy: the change set's name is recorded (%s)",
	    r != NULL && r->stages[0].change_set_name != NULL ?
		r->stages[0].change_set_name :
		"none");
	if (r != NULL)
		store_stage_changes(t->store, r->stages[0].id, 0, &ch, NULL);
	ok(ch != NULL && ch->n == 3 && strcmp(ch->items[0].action, "Add") == 0,
	    "happy: the three resource changes are stored (%zu)",
	    ch != NULL ? ch->n : 0);
	store_changes_free(ch);
	store_run_free(r);

	rc = engine_approve(t->engine, run, "int", as("bob"), NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN && cause != NULL &&
		strstr(cause, "not in integrators") != NULL,
	    "happy: bob may not approve int (%s)", cause);
	free(cause);
	cause = NULL;
	ok(approve(t, run, "int", "alice") == 0, "happy: alice approves int");
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_GATE),
	    "happy: int deployed, the gate awaits");
	rc = engine_authorise(t->engine, run, as("bob"), NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN, "happy: bob may not authorise (%s)", cause);
	free(cause);
	cause = NULL;
	rc = engine_authorise(t->engine, run, as("alice"), "go", &cause);
	ok(rc == 0, "happy: alice authorises promotion");
	free(cause);
	ok(wait_stage(t, run, "int", STORE_STAGE_DONE) &&
		wait_stage(t, run, "stg", STORE_STAGE_AWAITING_APPROVAL),
	    "happy: int done, stg awaits approval");
	ok(approve(t, run, "stg", "carol") == 0, "happy: carol approves stg");
	ok(wait_stage(t, run, "prod", STORE_STAGE_AWAITING_APPROVAL),
	    "happy: stg done, prod awaits approval");
	cause = NULL;
	rc = engine_approve(t->engine, run, "prod", as("bob"), NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN && cause != NULL &&
		strstr(cause, "author") != NULL,
	    "happy: bob, the author, may not approve prod (%s)", cause);
	free(cause);
	ok(approve(t, run, "prod", "carol") == 0, "happy: carol approves prod");
	cause = NULL;
	rc = engine_approve(t->engine, run, "prod", as("carol"), NULL, &cause);
	ok(rc == ENGINE_ECONFLICT, "happy: carol cannot approve twice (%s)",
	    cause);
	free(cause);
	t_spin(t, 50);
	ok(want_pred(t, &(struct want){ run, "prod",
			    STORE_STAGE_AWAITING_APPROVAL, -1 }),
	    "happy: one approval of two leaves prod waiting");
	/* carol's Unix user, an admin, acting as erin: still carol. */
	cause = NULL;
	memset(&other, 0, sizeof other);
	other.user = "erin";
	other.via = "cli";
	other.unix_user = "carol (uid 64002) acting as erin";
	other.person = "carol";
	rc = engine_approve(t->engine, run, "prod", &other, NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN && cause != NULL &&
		strncmp(cause, "carol has already decided on prod of run ",
		    41) == 0 &&
		strstr(cause, " as carol: a quorum needs distinct people, "
			      "not names") != NULL,
	    "happy: one person under two names is one approval (%s)", cause);
	free(cause);
	other.person = "uid 0";
	other.user = "carol";
	cause = NULL;
	rc = engine_approve(t->engine, run, "prod", &other, NULL, &cause);
	ok(rc == ENGINE_ECONFLICT,
	    "happy: nor does another person acting as "
	    "carol approve again (%s)",
	    cause);
	free(cause);
	long_comment = xmalloc(ENGINE_COMMENT_MAX + 2);
	memset(long_comment, 'x', ENGINE_COMMENT_MAX + 1);
	long_comment[ENGINE_COMMENT_MAX + 1] = '\0';
	cause = NULL;
	rc = engine_approve(t->engine, run, "prod", as("erin"), long_comment,
	    &cause);
	ok(rc == ENGINE_EINVAL && cause != NULL &&
		strcmp(cause, "the comment is too long: at most 2000 "
			      "characters") == 0,
	    "happy: a comment of 2001 characters is "
	    "refused (%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = engine_cancel(t->engine, run, as("dave"), long_comment, &cause);
	ok(rc == ENGINE_EINVAL,
	    "happy: so is a reason of 2001 characters to "
	    "cancel (%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = engine_reject(t->engine, run, "prod", as("erin"), long_comment,
	    &cause);
	ok(rc == ENGINE_EINVAL, "happy: and a rejection's (%s)", cause);
	free(cause);
	long_comment[ENGINE_COMMENT_MAX] = '\0';
	cause = NULL;
	rc = engine_approve(t->engine, run, "prod", as("erin"), long_comment,
	    &cause);
	ok(rc == 0,
	    "happy: erin approves prod, with 2000 characters to say "
	    "(%s)",
	    cause);
	free(cause);
	free(long_comment);
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "happy: the run succeeds");
	ok(fake_calls(t, "ecs", "DescribeServices") > 0,
	    "happy: the ECS services were waited on");
	ok(t_submit(t, rel) == run, "happy: a release handed over again "
				    "keeps its one run");
	store_app_id(t->store, "billing", &app_id, NULL);
	ok(store_current_deployment(t->store, app_id, "prod", &d, NULL) == 0 &&
		d->release_id == rel,
	    "happy: prod runs the release");
	store_deployment_free(d);
	ok(audit_has(t, run, "stage int awaiting_approval -> executing") &&
		audit_has(t, run, "run running -> succeeded") &&
		audit_has(t, run, "no checks configured"),
	    "happy: transitions and checks are in the audit log");
	ok(engine_active_runs(t->engine) == 0, "happy: no run left in memory");

	/* Redeploy of the release running at int: a rollback run whose
	   change set changes no resource (approval still asked). */
	cause = NULL;
	rc = engine_redeploy(t->engine, rel, "int", as("alice"), &run, &cause);
	ok(rc == ENGINE_EFORBIDDEN, "redeploy: only operators (%s)", cause);
	free(cause);
	cause = NULL;
	rc = engine_redeploy(t->engine, rel, "int", as("dave"), &run, &cause);
	ok(rc == 0 && run > 0, "redeploy: dave redeploys 1.0.0 to int");
	free(cause);
	r = t_run(t, run);
	ok(r != NULL && r->kind == STORE_RUN_ROLLBACK && r->nstages == 1,
	    "redeploy: a rollback run with one stage");
	store_run_free(r);
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "redeploy: approval asked even without changes");
	cause = stage_reason(t, run, "int");
	ok(strncmp(cause, "no changes", 10) == 0, "redeploy: %s", cause);
	free(cause);
	approve(t, run, "int", "alice");
	ok(wait_stage(t, run, "int", STORE_STAGE_NO_CHANGES) &&
		wait_run(t, run, STORE_RUN_SUCCEEDED),
	    "redeploy: the stage ends without changes, the run succeeds");
}

static void
test_cancel_in_flight(struct t *t)
{
	struct store_deployment *d = NULL;
	char			*arn, *cause = NULL;
	int64_t			 rel, run, app_id = 0;
	int			 calls, execs, rc;

	rel = t_release(t, "billing", "1.0.1", "billing");
	run = t_submit(t, rel);
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_WAITING_STACK),
	    "cancel in flight: int is being deployed");
	rc = engine_cancel(t->engine, run, as("dave"), "wrong day", &cause);
	ok(rc == 0, "cancel in flight: dave cancels (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	ok(wait_run(t, run, STORE_RUN_CANCELLED),
	    "cancel in flight: the run is cancelled");
	ok(wait_stage(t, run, "int", STORE_STAGE_CANCELLED),
	    "cancel in flight: at the gate, after int was deployed");
	arn = stage_change_set(t, run, "int");
	executions(t, arn, &calls, &execs);
	ok(execs == 1,
	    "cancel in flight: the execution was not interrupted "
	    "(executions %d)",
	    execs);
	free(arn);
	store_app_id(t->store, "billing", &app_id, NULL);
	ok(store_current_deployment(t->store, app_id, "int", &d, NULL) == 0 &&
		d->release_id == rel,
	    "cancel in flight: int runs 1.0.1");
	store_deployment_free(d);

	run = t_submit(t, t_release(t, "billing", "1.0.2", "billing"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_GATE),
	    "gate: awaits authorisation");
	cause = NULL;
	rc = engine_reject(t->engine, run, NULL, as("alice"),
	    "not for "
	    "production",
	    &cause);
	ok(rc == 0, "gate: alice rejects promotion (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	ok(wait_run(t, run, STORE_RUN_REJECTED) &&
		wait_stage(t, run, "stg", STORE_STAGE_PENDING),
	    "gate: the run is rejected, stg never starts");
}

static void
test_reject_cancel(struct t *t)
{
	char   *cause = NULL;
	int64_t run, run2;
	int	rc;

	run = t_submit(t, t_release(t, "rej", "1.0.0", "rej"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "reject: awaits approval");
	rc = engine_reject(t->engine, run, "int", as("alice"), " ", &cause);
	ok(rc == ENGINE_EINVAL, "reject: needs a comment (%s)", cause);
	free(cause);
	cause = NULL;
	rc = engine_reject(t->engine, run, "int", as("alice"), "wrong image",
	    &cause);
	ok(rc == 0, "reject: alice rejects with a comment");
	free(cause);
	ok(wait_run(t, run, STORE_RUN_REJECTED), "reject: the run is rejected");
	cause = stage_reason(t, run, "int");
	ok(strstr(cause, "wrong image") != NULL &&
		strstr(cause, "alice") != NULL,
	    "reject: reason %s", cause);
	free(cause);
	ok(audit_has(t, run, "reject"), "reject: in the audit log");

	run2 = t_submit(t, t_release(t, "rej", "1.0.1", "rej"));
	ok(wait_stage(t, run2, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "cancel: awaits approval");
	cause = NULL;
	rc = engine_cancel(t->engine, run2, as("alice"), "no", &cause);
	ok(rc == ENGINE_EFORBIDDEN, "cancel: only operators (%s)", cause);
	free(cause);
	cause = NULL;
	rc = engine_cancel(t->engine, run2, as("dave"), "not today", &cause);
	ok(rc == 0, "cancel: dave cancels");
	free(cause);
	ok(wait_run(t, run2, STORE_RUN_CANCELLED) &&
		wait_stage(t, run2, "int", STORE_STAGE_CANCELLED),
	    "cancel: the run and its stage are cancelled");
	ok(audit_has(t, run2, "cancelled by dave"),
	    "cancel: in the audit log with its reason");
}

static void
test_expiry(struct t *t)
{
	int64_t run;

	run = t_submit(t, t_release(t, "exp", "1.0.0", "exp"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "expiry: awaits approval");
	t->offset += 2 * 3600 * 1000; /* past approval_timeout: 1h */
	engine_wake(t->engine);
	ok(wait_run(t, run, STORE_RUN_EXPIRED) &&
		wait_stage(t, run, "int", STORE_STAGE_EXPIRED),
	    "expiry: the run expires after approval_timeout");
	t->offset -= 2 * 3600 * 1000;
}

static void
test_reconfigure(struct t *t)
{
	struct config_errors e;
	struct config	    *only_billing;
	struct store_run    *r;
	char		    *text;
	const char	    *u = t->fake.url;
	int64_t		     run;

	text = xasprintf(CONFIG_TEXT, t->dir, u, u, u, u, u, "");
	only_billing = config_load_buffer("t2.yaml", text, strlen(text), &e);
	free(text);
	config_errors_free(&e);
	run = t_submit(t, t_release(t, "exp", "2.0.0", "exp"));
	ok(only_billing != NULL &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "reload: a run awaits approval");
	engine_reconfigure(t->engine, only_billing);
	t_spin(t, 100);
	r = t_run(t, run);
	ok(r != NULL && r->status == STORE_RUN_RUNNING &&
		r->stages[0].status == STORE_STAGE_AWAITING_APPROVAL,
	    "reload: a run of an app the reload dropped waits, unharmed");
	store_run_free(r);
	engine_reconfigure(t->engine, t->config);
	ok(deploy_one(t, run), "reload: the app back, the run goes on");
	config_free(only_billing);
}

static void
test_supersede(struct t *t)
{
	int64_t a, b;

	a = t_submit(t, t_release(t, "sup", "1.0.0", "sup"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "supersede: the first run awaits approval");
	fakeaws_control(&t->fake, "DELETE", "/_fake/calls", NULL, NULL);
	/* DeleteChangeSet is asynchronous and may end DELETE_FAILED: the
	   newer run goes on all the same. */
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-delete-change-set",
	    "{\"count\": 1}", NULL);
	b = t_submit(t, t_release(t, "sup", "1.0.1", "sup"));
	ok(wait_run(t, a, STORE_RUN_SUPERSEDED) &&
		wait_stage(t, a, "int", STORE_STAGE_SUPERSEDED),
	    "supersede: a newer release supersedes it");
	ok(t_until(t, deleted_pred, NULL),
	    "supersede: its change set's deletion is asked for");
	ok(wait_stage(t, b, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "supersede: the newer run awaits approval");
	ok(deploy_one(t, b), "supersede: the newer run deploys");
}

static void
test_queued(struct t *t)
{
	struct store_run *r;
	int64_t		  a, b, c;

	a = t_submit(t, t_release(t, "que", "1.0.0", "que"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "queued: the first run awaits approval");
	b = t_submit(t, t_release(t, "que", "1.0.1", "que"));
	t_spin(t, 100);
	r = t_run(t, b);
	ok(r != NULL && r->status == STORE_RUN_RECEIVED,
	    "queued: the second run waits its turn");
	store_run_free(r);
	c = t_submit(t, t_release(t, "que", "1.0.2", "que"));
	ok(engine_cancel(t->engine, c, as("dave"), NULL, NULL) == 0 &&
		wait_run(t, c, STORE_RUN_CANCELLED),
	    "queued: a waiting run is cancelled at once");
	ok(approve(t, a, "int", "alice") == 0 &&
		wait_run(t, a, STORE_RUN_SUCCEEDED),
	    "queued: the first deploys");
	ok(deploy_one(t, b), "queued: then the second");
}

static void
test_no_changes(struct t *t)
{
	struct store_approval_in a;
	struct store_run	*r;
	int64_t			 run;

	run = t_submit(t, t_release(t, "noch", "1.0.0", "noch"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "portal: awaits approval");
	/* As the portal does: record through the store, wake the engine. */
	r = t_run(t, run);
	memset(&a, 0, sizeof a);
	a.stage_id = r != NULL ? r->stages[0].id : 0;
	a.user = "alice";
	a.decision = STORE_DECISION_APPROVE;
	a.via = STORE_VIA_PORTAL;
	ok(store_record_approval(t->store, &a, NULL) == 0,
	    "portal: an approval recorded by the portal");
	store_run_free(r);
	engine_wake(t->engine);
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED),
	    "portal: the engine, woken, deploys");
	run = t_submit(t, t_release(t, "noch", "1.0.0", "noch"));
	ok(wait_stage(t, run, "int", STORE_STAGE_NO_CHANGES) &&
		wait_run(t, run, STORE_RUN_SUCCEEDED),
	    "no changes: the same again ends as no_changes, without approval "
	    "(approve_no_changes: false)");
}

static void
test_stack_failure_retry(struct t *t)
{
	char   *reason, *cause = NULL;
	int64_t run;
	int	rc;

	run = t_submit(t, t_release(t, "fail", "1.0.0", "fail"));
	ok(deploy_one(t, run), "failure: the first release deploys");
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-resource",
	    "{\"logical_id\": \"Service\", \"stack\": \"fail-int\", "
	    "\"reason\": \"Resource handler returned message: no capacity\", "
	    "\"count\": 1}",
	    NULL);
	run = t_submit(t, t_release(t, "fail", "1.0.1", "fail"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_run(t, run, STORE_RUN_FAILED),
	    "failure: the update fails");
	reason = stage_reason(t, run, "int");
	ok(strstr(reason, "Service") != NULL &&
		strstr(reason, "no capacity") != NULL,
	    "failure: the failed resource and its reason: %s", reason);
	free(reason);

	rc = engine_retry(t->engine, run, "int", as("alice"), &cause);
	ok(rc == ENGINE_EFORBIDDEN, "retry: only operators (%s)", cause);
	free(cause);
	cause = NULL;
	rc = engine_retry(t->engine, run, "int", as("dave"), &cause);
	ok(rc == 0, "retry: dave retries the stage (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		stage_attempt(t, run, "int") == 1,
	    "retry: a new attempt awaits approval");
	approve(t, run, "int", "alice");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "retry: and deploys");
}

static void
test_circuit_breaker(struct t *t)
{
	char   *reason;
	int64_t run;

	run = t_submit(t, t_release(t, "cb", "1.0.0", "cb"));
	ok(deploy_one(t, run), "circuit breaker: the first release deploys");
	fakeaws_control(&t->fake, "POST", "/_fake/ecs/fail-deployment",
	    "{\"service\": \"web\", \"account\": \"111111111111\", "
	    "\"count\": 1}",
	    NULL);
	run = t_submit(t, t_release(t, "cb", "1.0.1", "cb"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_run(t, run, STORE_RUN_FAILED),
	    "circuit breaker: the deployment fails");
	reason = stage_reason(t, run, "int");
	ok(strstr(reason, "Circuit Breaker") != NULL ||
		strstr(reason, "failed") != NULL,
	    "circuit breaker: reason %s", reason);
	free(reason);
}

/*
 * A reply garbled on the way (the chaos campaign's malformed and
 * truncated faults) to a describe while the stack deploys: asked again,
 * not a failed deployment (it failed the stage before).
 */
static void
test_unreadable_reply(struct t *t)
{
	int64_t run;

	run = t_submit(t, t_release(t, "cb", "1.0.2", "cb"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "unreadable reply: awaits approval");
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": \"cloudformation\", \"operation\": "
	    "\"DescribeStacks\", \"mode\": \"malformed\", \"count\": 2}",
	    NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": \"ecs\", \"operation\": \"DescribeServices\", "
	    "\"mode\": \"truncate\", \"count\": 1}",
	    NULL);
	approve(t, run, "int", "alice");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED),
	    "unreadable reply: the stage deploys all the same");
	ok(fake_json_faults_left(t) == 0,
	    "unreadable reply: the garbled replies were sent");
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);
}

/*
 * A 404 ChangeSetNotFound garbled on the way (found by the chaos
 * campaign: the fake's malformed fault keeps the status and spoils the
 * body): an HTTP error without AWS's error shape, which failed the stage
 * in creating_change_set instead of being read as "not created yet".
 * It is asked again, then created.  (A body cut short is a transport
 * error, which the client already tries again.)
 */
static void
test_unreadable_not_found(struct t *t)
{
	char   *reason;
	int64_t run;
	int	waited;

	/* CreateChangeSet throttled past the client's attempts: the engine
	   tries again later by describing the change set, which was never
	   created (404), and the first 404 comes garbled. */
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": \"cloudformation\", \"operation\": "
	    "\"CreateChangeSet\", \"mode\": \"throttle\", \"count\": 3}",
	    NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": \"cloudformation\", \"operation\": "
	    "\"DescribeChangeSet\", \"mode\": \"malformed\", "
	    "\"count\": 1}",
	    NULL);
	run = t_submit(t, t_release(t, "cb", "1.0.3", "cb"));
	waited = wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL);
	reason = stage_reason(t, run, "int");
	ok(waited,
	    "garbled 404: the change set is created, approval "
	    "asked (reason: %s)",
	    reason);
	free(reason);
	ok(fake_json_faults_left(t) == 0,
	    "garbled 404: the throttles and the garbled reply were sent");
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);
	approve(t, run, "int", "alice");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "garbled 404: then deploys");
}

static void
test_deploy_timeout(struct t *t)
{
	char   *reason;
	int64_t run;

	run = t_submit(t, t_release(t, "slow", "1.0.0", "slow"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "timeout: awaits approval");
	fakeaws_control(&t->fake, "POST", "/_fake/config",
	    "{\"step_delay\": 0.5}", NULL);
	approve(t, run, "int", "alice");
	ok(wait_stage(t, run, "int", STORE_STAGE_WAITING_STACK),
	    "timeout: waits for the stack");
	t->offset += 2 * 3600 * 1000; /* past deploy_timeout: 1h */
	ok(wait_run(t, run, STORE_RUN_FAILED), "timeout: the stage fails");
	t->offset -= 2 * 3600 * 1000;
	fakeaws_control(&t->fake, "POST", "/_fake/config",
	    "{\"step_delay\": 0.02}", NULL);
	reason = stage_reason(t, run, "int");
	ok(strstr(reason, "deploy_timeout") != NULL, "timeout: reason %s",
	    reason);
	free(reason);
}

/*
 * A rollback that fails: the stage fails with every failed resource, the
 * environment is held, the next run waits instead of failing, and an
 * operator's continue-rollback (ContinueUpdateRollback, waited on,
 * audited) lets it go on.
 */
static void
test_rollback_failed(struct t *t)
{
	struct store_stack_holds *l = NULL;
	char			 *reason, *cause = NULL, *st;
	int64_t			  a, b;
	int			  rc, action;

	a = t_submit(t, t_release(t, "stuck", "1.0.0", "stuck"));
	ok(deploy_one(t, a), "stuck: the first release deploys");
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-resource",
	    "{\"logical_id\": \"Service\", \"stack\": \"stuck-int\", "
	    "\"reason\": \"tasks failed to start\"}",
	    NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-rollback",
	    "{\"logical_id\": \"Service\", \"stack\": \"stuck-int\", "
	    "\"reason\": \"old tasks do not stabilise\", \"count\": 2}",
	    NULL);
	a = t_submit(t, t_release(t, "stuck", "1.0.1", "stuck"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, a, "int", "alice") == 0 &&
		wait_run(t, a, STORE_RUN_FAILED),
	    "stuck: the update fails");
	reason = stage_reason(t, a, "int");
	ok(strstr(reason, "UPDATE_ROLLBACK_FAILED") != NULL &&
		strstr(reason, "tasks failed to start") != NULL &&
		strstr(reason, "old tasks do not stabilise") != NULL &&
		strstr(reason, "tasks failed to start") <
		    strstr(reason, "old tasks do not stabilise") &&
		strstr(reason, "shipgatectl continue-rollback stuck int") !=
		    NULL,
	    "stuck: the stage names the failed resources, the first first, "
	    "and what to do: %s",
	    reason);
	free(reason);
	st = hold_status(t, "stuck", NULL);
	ok(strcmp(st, "UPDATE_ROLLBACK_FAILED") == 0,
	    "stuck: the environment is held (%s)", st);
	free(st);
	ok(store_stack_holds(t->store, NULL, &l, NULL) == 0 && l->n == 1 &&
		strcmp(l->v[0]->app, "stuck") == 0 && l->v[0]->run_id == a,
	    "stuck: listed with the run that found it");
	store_stack_holds_free(l);

	b = t_submit(t, t_release(t, "stuck", "1.0.2", "stuck"));
	ok(t_until(t, reason_pred,
	       &(struct reason_want){ b,
		   "waiting: stack stuck-int is stuck in UPDATE_ROLLBACK_FAILED" }),
	    "stuck: the next run waits, saying why");
	t_spin(t, 300);
	ok(want_pred(t, &(struct want){ b, "int", STORE_STAGE_PENDING, -1 }) &&
		want_pred(t, &(struct want){ b, NULL, STORE_RUN_RUNNING, -1 }),
	    "stuck: and does not fail");

	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "alice", "go",
	    NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN,
	    "continue-rollback: operators only "
	    "(%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave", " ", NULL,
	    &cause);
	ok(rc == ENGINE_EINVAL,
	    "continue-rollback: a comment is required "
	    "(%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_DELETE_FAILED_STACK, "stuck", "dave", "bin it",
	    NULL, &cause);
	ok(rc == ENGINE_ECONFLICT && strstr(cause, "continue-rollback") != NULL,
	    "delete-failed-stack: not for UPDATE_ROLLBACK_FAILED (%s)", cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave",
	    "the old tasks were fixed by hand", "Bad$Id", &cause);
	ok(rc == ENGINE_EINVAL,
	    "continue-rollback: a skip must be a logical "
	    "id (%s)",
	    cause);
	free(cause);

	/* The first try fails again (count 2): the hold stays. */
	cause = NULL;
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave",
	    "the old tasks were fixed by hand", NULL, &cause);
	ok(rc == 0, "continue-rollback: dave asks (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave", "again",
	    NULL, &cause);
	ok(rc == ENGINE_ECONFLICT, "continue-rollback: one at a time (%s)",
	    cause);
	free(cause);
	ok(t_until(t, audit_pred,
	       &(struct reason_want){ a, "continue-rollback failed" }),
	    "continue-rollback: the first try fails again, audited");
	st = hold_status(t, "stuck", &action);
	ok(strcmp(st, "UPDATE_ROLLBACK_FAILED") == 0 && !action,
	    "continue-rollback: still held, nothing under way (%s)", st);
	free(st);
	ok(want_pred(t, &(struct want){ b, "int", STORE_STAGE_PENDING, -1 }),
	    "continue-rollback: the run still waits");

	/* Skipping the service, it completes. */
	cause = NULL;
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave",
	    "skip the service, fixed by hand", "Service", &cause);
	ok(rc == 0, "continue-rollback --skip Service (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	ok(wait_hold(t, "stuck", "none"), "continue-rollback: waited on "
					  "until done, the hold goes");
	st = fake_stack_status(t, "stuck-int");
	ok(strcmp(st, "UPDATE_ROLLBACK_COMPLETE") == 0,
	    "continue-rollback: the stack is %s", st);
	free(st);
	ok(fake_calls(t, "cloudformation", "ContinueUpdateRollback") == 2,
	    "continue-rollback: two ContinueUpdateRollback calls");
	ok(t_until(t, audit_pred,
	       &(struct reason_want){ a, "continue-rollback done" }) &&
		audit_has(t, a, "skipping Service"),
	    "continue-rollback: the request and the end are audited");
	ok(deploy_one(t, b), "stuck: the waiting run goes on and deploys");
}

static int
failed_again_pred(struct t *t, void *arg)
{
	json_t *j;
	char   *st;
	int	ok;

	(void)arg;
	j = fake_json(t, "GET", "/_fake/state", NULL);
	ok = json_array_size(
		 json_object_get(json_object_get(j, "cloudformation"),
		     "fail_rollbacks")) == 0;
	json_decref(j);
	st = fake_stack_status(t, "stuck-int");
	ok = ok && strcmp(st, "UPDATE_ROLLBACK_FAILED") == 0;
	free(st);
	return (ok);
}

/*
 * shipgated stops just after sending ContinueUpdateRollback, and the
 * rollback fails again meanwhile: the next engine sends the same request
 * (CloudFormation takes it as the one it had), sees the stack still
 * UPDATE_ROLLBACK_FAILED without progress, and after a few looks records
 * the failure; the environment stays held, nothing under way.
 */
static void
test_rollback_failed_restart(struct t *t)
{
	struct reason_want w;
	char		  *st, *cause = NULL;
	int64_t		   a;
	int		   action, n, rc;

	a = t_submit(t, t_release(t, "stuck", "1.0.0", "stuck"));
	ok(deploy_one(t, a), "restart: the first release deploys");
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-resource",
	    "{\"logical_id\": \"Service\", \"stack\": \"stuck-int\"}", NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-rollback",
	    "{\"logical_id\": \"Service\", \"stack\": \"stuck-int\", "
	    "\"count\": 2}",
	    NULL);
	a = t_submit(t, t_release(t, "stuck", "1.0.1", "stuck"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, a, "int", "alice") == 0 &&
		wait_run(t, a, STORE_RUN_FAILED) &&
		wait_hold(t, "stuck", "UPDATE_ROLLBACK_FAILED"),
	    "restart: the rollback fails, the environment is held");
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave",
	    "try again", NULL, &cause);
	ok(rc == 0, "restart: continue-rollback asked (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	for (n = 0; n < 2000 && fake_calls(t, "cloudformation",
				    "ContinueUpdateRollback") == 0;
	     n++)
		t_spin(t, 5);
	t_engine_stop(t);
	ok(fake_calls(t, "cloudformation", "ContinueUpdateRollback") == 1,
	    "restart: sent, then the engine stops");
	/* The fake goes on: the rollback fails again while nobody looks
	   (the injected rule used up, the stack stuck again). */
	ok(t_until(t, failed_again_pred, NULL),
	    "restart: meanwhile the rollback fails again");
	ok(t_engine_start(t) == 0, "restart: the engine starts again");
	w = (struct reason_want){ a, "continue-rollback failed" };
	ok(t_until(t, audit_pred, &w), "restart: the failure is found and "
				       "audited");
	st = hold_status(t, "stuck", &action);
	ok(strcmp(st, "UPDATE_ROLLBACK_FAILED") == 0 && !action,
	    "restart: still held, nothing under way (%s)", st);
	free(st);
	ok(fake_calls(t, "cloudformation", "ContinueUpdateRollback") == 2,
	    "restart: the same request sent again, once");
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "stuck", "dave",
	    "and again", NULL, &cause);
	ok(rc == 0 && wait_hold(t, "stuck", "none"),
	    "restart: a new request (a new token) completes the rollback");
	free(cause);
}

/*
 * A first deployment that fails leaves its stack in ROLLBACK_COMPLETE:
 * held; delete-failed-stack deletes it (waited on), and the next run
 * creates it again.
 */
static void
test_first_deploy_failed(struct t *t)
{
	char   *reason, *cause = NULL, *st;
	int64_t a, b;
	int	rc;

	fakeaws_control(&t->fake, "POST", "/_fake/cfn/fail-resource",
	    "{\"logical_id\": \"Service\", \"stack\": "
	    "\"firstfail-int\", \"reason\": \"no capacity\"}",
	    NULL);
	a = t_submit(t, t_release(t, "firstfail", "1.0.0", "firstfail"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, a, "int", "alice") == 0 &&
		wait_run(t, a, STORE_RUN_FAILED),
	    "first deployment: it fails");
	reason = stage_reason(t, a, "int");
	ok(strstr(reason, "ROLLBACK_COMPLETE") != NULL &&
		strstr(reason, "Service (AWS::ECS::Service) CREATE_FAILED: no "
			       "capacity") != NULL &&
		strstr(reason, "shipgatectl "
			       "delete-failed-stack firstfail int") != NULL,
	    "first deployment: the reason, and the way out: %s", reason);
	free(reason);
	ok(wait_hold(t, "firstfail", "ROLLBACK_COMPLETE"),
	    "first deployment: the environment is held");
	b = t_submit(t, t_release(t, "firstfail", "1.0.1", "firstfail"));
	ok(t_until(t, reason_pred,
	       &(struct reason_want){ b, "delete-failed-stack firstfail int" }),
	    "first deployment: the next run waits, saying what to do");
	rc = stack_act(t, ENGINE_CONTINUE_ROLLBACK, "firstfail", "dave", "try",
	    NULL, &cause);
	ok(rc == ENGINE_ECONFLICT &&
		strstr(cause, "delete-failed-stack") != NULL,
	    "continue-rollback does not apply (%s)", cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_DELETE_FAILED_STACK, "firstfail", "dave",
	    "capacity fixed", "Service", &cause);
	ok(rc == ENGINE_EINVAL, "delete-failed-stack skips nothing (%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_DELETE_FAILED_STACK, "firstfail", "carol",
	    "capacity fixed", NULL, &cause);
	ok(rc == ENGINE_EFORBIDDEN,
	    "delete-failed-stack: operators only "
	    "(%s)",
	    cause);
	free(cause);
	cause = NULL;
	rc = stack_act(t, ENGINE_DELETE_FAILED_STACK, "firstfail", "dave",
	    "capacity fixed", NULL, &cause);
	ok(rc == 0, "delete-failed-stack: dave asks (%s)",
	    cause != NULL ? cause : "ok");
	free(cause);
	/* shipgated stops at once (a crash, a restart): the action was
	   recorded before anything was sent, the new engine carries it
	   out. */
	t_engine_stop(t);
	st = hold_status(t, "firstfail", &rc);
	ok(strcmp(st, "ROLLBACK_COMPLETE") == 0 && rc,
	    "delete-failed-stack: recorded, under way when the engine stops");
	free(st);
	ok(t_engine_start(t) == 0, "the engine starts again");
	ok(wait_hold(t, "firstfail", "none"),
	    "delete-failed-stack: waited on, the hold goes");
	ok(fake_calls(t, "cloudformation", "DeleteStack") >= 1 &&
		t_until(t, audit_pred,
		    &(struct reason_want){ a, "delete-failed-stack done" }),
	    "delete-failed-stack: DeleteStack called, audited");
	ok(deploy_one(t, b), "first deployment: the next run creates the "
			     "stack again and deploys");
	st = fake_stack_status(t, "firstfail-int");
	ok(strcmp(st, "CREATE_COMPLETE") == 0, "the new stack is %s", st);
	free(st);
}

/*
 * A change set made OBSOLETE by an update from elsewhere after it was
 * approved: a new change set, approval asked again (the old approval
 * does not count for it).
 */
static void
test_obsolete(struct t *t)
{
	struct want w;
	char	   *first, *second;
	int64_t	    a;

	a = t_submit(t, t_release(t, "obs", "1.0.0", "obs"));
	ok(deploy_one(t, a), "obsolete: the stack is created");
	a = t_submit(t, t_release(t, "obs", "1.0.1", "obs"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "obsolete: a change set awaits approval");
	first = stage_change_set(t, a, "int");
	fakeaws_control(&t->fake, "POST", "/_fake/cfn/update-stack",
	    "{\"account\": \"111111111111\", \"stack\": \"obs-int\"}", NULL);
	ok(wait_stack_status(t, "obs-int", "UPDATE_COMPLETE"),
	    "obsolete: the stack is updated from elsewhere");
	approve(t, a, "int", "alice");
	w = (struct want){ a, "int", STORE_STAGE_AWAITING_APPROVAL, 1 };
	ok(t_until(t, want_pred, &w),
	    "obsolete: recreated as a new attempt, approval asked again");
	second = stage_change_set(t, a, "int");
	ok(first != NULL && second != NULL && strcmp(first, second) != 0,
	    "obsolete: a new change set");
	free(first);
	free(second);
	ok(audit_has(t, a,
	       "is no longer executable (the stack changed): "
	       "recreated as"),
	    "obsolete: recorded in the audit log");
	t_spin(t, 300);
	ok(want_pred(t, &w), "obsolete: the old approval is not reused");
	approve(t, a, "int", "alice");
	ok(wait_run(t, a, STORE_RUN_SUCCEEDED), "obsolete: then deploys");
}

/*
 * A first release rejected, and one superseded: the empty stack their
 * CREATE change set made (REVIEW_IN_PROGRESS) is deleted, and the next
 * release starts clean.
 */
static void
test_empty_stack(struct t *t)
{
	char   *cause = NULL, *st;
	int64_t a, b;
	int	rc;

	a = t_submit(t, t_release(t, "empty", "1.0.0", "empty"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		wait_stack_status(t, "empty-int", "REVIEW_IN_PROGRESS"),
	    "empty stack: the first change set made its stack");
	rc = engine_reject(t->engine, a, "int", as("alice"), "not this one",
	    &cause);
	ok(rc == 0, "empty stack: rejected");
	free(cause);
	ok(wait_run(t, a, STORE_RUN_REJECTED) &&
		wait_stack_status(t, "empty-int", "DELETE_COMPLETE"),
	    "empty stack: deleted after the rejection");
	ok(t_until(t, audit_pred,
	       &(struct reason_want){ a, "delete empty stack" }),
	    "empty stack: audited");

	/* Superseded: the newer run waits for the clean-up, then goes. */
	a = t_submit(t, t_release(t, "empty", "1.0.1", "empty"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "empty stack: another first release awaits approval");
	b = t_submit(t, t_release(t, "empty", "1.0.2", "empty"));
	ok(wait_run(t, a, STORE_RUN_SUPERSEDED), "empty stack: superseded");
	ok(deploy_one(t, b), "empty stack: the newer release deploys");
	ok(fake_calls(t, "cloudformation", "DeleteStack") >= 1,
	    "empty stack: DeleteStack was called");

	/* Expired: the same. */
	a = t_submit(t, t_release(t, "emptyexp", "1.0.0", "emptyexp"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		wait_stack_status(t, "emptyexp-int", "REVIEW_IN_PROGRESS"),
	    "empty stack: a first release awaits approval");
	t->offset += 2 * 3600 * 1000; /* past approval_timeout: 1h */
	engine_wake(t->engine);
	ok(wait_run(t, a, STORE_RUN_EXPIRED) &&
		wait_stack_status(t, "emptyexp-int", "DELETE_COMPLETE"),
	    "empty stack: deleted after the approval expired");
	t->offset -= 2 * 3600 * 1000;

	/* A stack shipgate did not make is never deleted: a REVIEW_IN_PROGRESS
	   stack there before the first run (another tool's change set). */
	ok(manual_create(t, "emptyexp-int"), "empty stack: another tool's "
					     "change set makes the stack");
	a = t_submit(t, t_release(t, "emptyexp", "1.0.1", "emptyexp"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "empty stack: a release awaits approval on it");
	ok(engine_reject(t->engine, a, "int", as("alice"), "no", NULL) == 0 &&
		wait_run(t, a, STORE_RUN_REJECTED),
	    "empty stack: rejected");
	t_spin(t, 500);
	st = fake_stack_status(t, "emptyexp-int");
	ok(strcmp(st, "REVIEW_IN_PROGRESS") == 0,
	    "empty stack: a stack shipgate did not make stays (%s)", st);
	free(st);
}

static void
test_stale(struct t *t)
{
	struct want w;
	int64_t	    a;

	a = t_submit(t, t_release(t, "stale", "1.0.0", "stale"));
	ok(deploy_one(t, a), "stale: the stack is created");
	a = t_submit(t, t_release(t, "stale", "1.0.1", "stale"));
	ok(wait_stage(t, a, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "stale: a change set awaits approval");
	/* Someone updates the stack meanwhile. */
	ok(manual_update(t, "stale-int", "stale"),
	    "stale: the stack changes under it");
	approve(t, a, "int", "alice");
	w = (struct want){ a, "int", STORE_STAGE_AWAITING_APPROVAL, 1 };
	ok(t_until(t, want_pred, &w),
	    "stale: recreated as a new attempt, approval asked again");
	ok(audit_has(t, a,
	       "is no longer executable (it was deleted: the "
	       "stack changed): recreated as"),
	    "stale: recorded in the audit "
	    "log");
	approve(t, a, "int", "alice");
	ok(wait_run(t, a, STORE_RUN_SUCCEEDED), "stale: then deploys");
}

static void
test_restart(struct t *t)
{
	struct want w;
	char	   *arn;
	int64_t	    run;
	int	    calls, execs;

	/* Stopped while creating the change set. */
	run = t_submit(t, t_release(t, "crash", "1.0.0", "crash"));
	w = (struct want){ run, "int", STORE_STAGE_CREATING_CHANGE_SET, -1 };
	ok(t_until(t, want_pred, &w), "restart: creating the change set");
	t_engine_stop(t);
	ok(t_engine_start(t) == 0, "restart: a new engine starts");
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL),
	    "restart: the change set is reconciled, approval asked");
	ok(change_sets_of(t, "crash-int") == 1,
	    "restart: one change set was created (%d)",
	    change_sets_of(t, "crash-int"));

	/* Stopped while awaiting approval: the approval goes to the new
	   engine; stopped again as soon as it executes. */
	t_engine_stop(t);
	ok(t_engine_start(t) == 0, "restart: again, awaiting approval");
	ok(approve(t, run, "int", "alice") == 0, "restart: alice approves");
	w = (struct want){ run, "int", STORE_STAGE_EXECUTING, -1 };
	ok(t_until(t, want_pred, &w), "restart: executing");
	t_spin(t, 15);
	t_engine_stop(t);
	t_spin(t, 100);
	ok(t_engine_start(t) == 0, "restart: again, while executing");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "restart: the run succeeds");
	arn = stage_change_set(t, run, "int");
	executions(t, arn, &calls, &execs);
	ok(calls == 1 && execs == 1,
	    "restart: the change set was executed "
	    "once (ExecuteChangeSet calls %d, executions %d)",
	    calls, execs);
	free(arn);

	/* Stopped while waiting for the stack. */
	run = t_submit(t, t_release(t, "crash", "1.0.1", "crash"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_WAITING_STACK),
	    "restart: waiting for the stack");
	t_engine_stop(t);
	ok(t_engine_start(t) == 0, "restart: again, while the stack updates");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "restart: the run succeeds");
	arn = stage_change_set(t, run, "int");
	executions(t, arn, &calls, &execs);
	ok(calls == 1 && execs == 1,
	    "restart: executed once (calls %d, "
	    "executions %d)",
	    calls, execs);
	free(arn);
}

/* --- Deploy windows ------------------------------------------------------ */

/* Sets the store's clock (the engine's) to an instant, "...Z". */
static void
t_at(struct t *t, const char *iso)
{
	struct tm	tm;
	struct timespec ts;

	memset(&tm, 0, sizeof tm);
	if (sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	t->offset = (int64_t)timegm(&tm) * 1000 -
		    ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (t->engine != NULL)
		engine_wake(t->engine);
}

static int
window_act(struct t *t, enum engine_action_kind kind, int64_t run,
    const char *app, const char *env, const char *user, const char *comment,
    int64_t until, char **cause)
{
	struct engine_action a;

	memset(&a, 0, sizeof a);
	a.kind = kind;
	a.id = run;
	a.app = app;
	a.env = env;
	a.comment = comment;
	a.until = until;
	a.actor = *as(user);
	return (engine_act(t->engine, &a, cause));
}

static int
reason_has(struct t *t, int64_t run, const char *env, const char *want)
{
	char *r = stage_reason(t, run, env);
	int   found = strstr(r, want) != NULL;

	if (!found)
		tap_diag("reason: %s", r);
	free(r);
	return (found);
}

static int
not_executed(struct t *t, int64_t run)
{
	char *arn = stage_change_set(t, run, "int");
	int   calls, execs;

	executions(t, arn, &calls, &execs);
	free(arn);
	return (calls <= 0 && execs <= 0);
}

static void
test_windows(struct t *t)
{
	struct reason_want rw;
	char		  *cause = NULL;
	int64_t		   run, until;

	/* Friday 13:00 in Paris: outside mon-thu 09:00-17:30. */
	t_at(t, "2026-12-11T12:00:00Z");
	run = t_submit(t, t_release(t, "win", "1.0.0", "win"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0,
	    "windows: approved on a Friday afternoon");
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_WINDOW),
	    "windows: outside the window, the stage awaits it");
	ok(reason_has(t, run, "int",
	       "outside the deploy windows: will start "
	       "executing at 2026-12-14 09:00 Europe/Paris (UTC+01:00)"),
	    "windows: the reason shows the next opening, Monday 09:00");
	ok(audit_has(t, run, "stage int awaiting_approval -> awaiting_window"),
	    "windows: the move is audited");
	t_spin(t, 100);
	ok(not_executed(t, run), "windows: nothing executed while it waits");

	/* Restart while waiting: still waiting, nothing executed. */
	t_engine_stop(t);
	ok(t_engine_start(t) == 0, "windows: a new engine starts");
	t_spin(t, 100);
	ok(want_pred(t,
	       &(struct want){ run, "int", STORE_STAGE_AWAITING_WINDOW, -1 }) &&
		not_executed(t, run),
	    "windows: after a restart the stage still awaits its window");

	/* A freeze added while it waits, until Monday 13:00 in Paris. */
	until = (int64_t)1797249600 * 1000; /* 2026-12-14T12:00:00Z */
	ok(window_act(t, ENGINE_FREEZE, 0, "win", "int", "alice", "sale", until,
	       &cause) == ENGINE_EFORBIDDEN,
	    "windows: only operators "
	    "freeze");
	free(cause);
	cause = NULL;
	ok(window_act(t, ENGINE_FREEZE, 0, "win", "int", "dave", " ", until,
	       &cause) == ENGINE_EINVAL,
	    "windows: a freeze needs a "
	    "reason");
	free(cause);
	cause = NULL;
	ok(window_act(t, ENGINE_FREEZE, 0, "win", "int", "dave", "sale", 1000,
	       &cause) == ENGINE_EINVAL,
	    "windows: a freeze ends in the "
	    "future");
	free(cause);
	cause = NULL;
	ok(window_act(t, ENGINE_FREEZE, 0, "win", "int", "dave", "sale", until,
	       &cause) == 0,
	    "windows: dave freezes int");
	free(cause);
	cause = NULL;
	rw.run = run;
	rw.text = "frozen until 2026-12-14 13:00 Europe/Paris (UTC+01:00): "
		  "sale: will start executing at 2026-12-14 13:00";
	ok(t_until(t, reason_pred, &rw),
	    "windows: the waiting stage now "
	    "names the freeze and opens when it ends");

	/* Monday 09:30 in Paris: inside the window, but frozen. */
	t_at(t, "2026-12-14T08:30:00Z");
	t_spin(t, 100);
	ok(want_pred(t,
	       &(struct want){ run, "int", STORE_STAGE_AWAITING_WINDOW, -1 }) &&
		not_executed(t, run),
	    "windows: inside the window but frozen: still waiting");

	/* Lifted: the window is open, it runs. */
	ok(window_act(t, ENGINE_UNFREEZE, 0, "win", "int", "dave", "sale moved",
	       0, &cause) == 0,
	    "windows: dave lifts the freeze");
	free(cause);
	cause = NULL;
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED),
	    "windows: lifted inside "
	    "the window, the stage executes and the run succeeds");
	ok(audit_has(t, run, "the deploy window opened"),
	    "windows: the start says why");

	/* Inside the window: straight to executing. */
	t_at(t, "2026-12-15T10:00:00Z");
	run = t_submit(t, t_release(t, "win", "1.0.1", "win"));
	ok(deploy_one(t, run), "windows: approved inside the window, it runs");
	ok(!audit_has(t, run, "awaiting_window"),
	    "windows: inside the window it never waits");

	/* Override on a Friday evening. */
	t_at(t, "2026-12-18T20:00:00Z");
	run = t_submit(t, t_release(t, "win", "1.0.2", "win"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_WINDOW),
	    "windows: override: waiting for Monday");
	ok(window_act(t, ENGINE_OVERRIDE, run, NULL, "int", "alice", "now", 0,
	       &cause) == ENGINE_EFORBIDDEN,
	    "windows: only operators "
	    "override");
	free(cause);
	cause = NULL;
	ok(window_act(t, ENGINE_OVERRIDE, run, NULL, "int", "dave", "", 0,
	       &cause) == ENGINE_EINVAL,
	    "windows: an override needs a "
	    "comment");
	free(cause);
	cause = NULL;
	ok(window_act(t, ENGINE_OVERRIDE, run, NULL, "int", "dave",
	       "hotfix for the invoice totals", 0, &cause) == 0,
	    "windows: dave overrides");
	free(cause);
	cause = NULL;
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "windows: overridden, the "
						  "run succeeds at once");
	ok(audit_has(t, run, "hotfix for the invoice totals") &&
		audit_has(t, run, "deploy window overridden by dave"),
	    "windows: the override is audited with its comment");
	ok(window_act(t, ENGINE_OVERRIDE, run, NULL, "int", "dave", "again", 0,
	       &cause) == ENGINE_ECONFLICT,
	    "windows: a stage not waiting "
	    "cannot be overridden");
	free(cause);
	cause = NULL;

	/* The approval's time keeps running: expired before Monday. */
	t_at(t, "2026-12-15T10:00:00Z");
	run = t_submit(t, t_release(t, "winexp", "1.0.0", "winexp"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_WINDOW),
	    "windows: expiry: waiting for next Monday");
	t_at(t, "2026-12-15T12:00:00Z");
	ok(wait_run(t, run, STORE_RUN_EXPIRED) &&
		reason_has(t, run, "int",
		    "no deploy window opened within "
		    "approval_timeout"),
	    "windows: the approval expires while "
	    "waiting");
	ok(not_executed(t, run), "windows: the expired stage never executed");
	t->offset = 0;
}

/* The last Sunday of March and of October in Europe/Paris. */
static void
test_windows_dst(struct t *t)
{
	int64_t run;

	/* Saturday before the spring change: Monday 09:00 is UTC+02:00. */
	t_at(t, "2026-03-28T12:00:00Z");
	run = t_submit(t, t_release(t, "win", "2.0.0", "win"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_WINDOW),
	    "dst: spring: waiting");
	ok(reason_has(t, run, "int",
	       "will start executing at 2026-03-30 "
	       "09:00 Europe/Paris (UTC+02:00)"),
	    "dst: spring: Monday 09:00 "
	    "in summer time");
	t_at(t, "2026-03-30T06:59:00Z"); /* 08:59 CEST */
	t_spin(t, 100);
	ok(want_pred(t,
	       &(struct want){ run, "int", STORE_STAGE_AWAITING_WINDOW, -1 }) &&
		not_executed(t, run),
	    "dst: spring: still shut at 08:59 CEST (which is 07:59 CET)");
	t_at(t, "2026-03-30T07:00:30Z");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "dst: spring: runs at "
						  "09:00 CEST");

	/* Saturday before the autumn change: Monday 09:00 is UTC+01:00. */
	t_at(t, "2026-10-24T12:00:00Z");
	run = t_submit(t, t_release(t, "win", "2.0.1", "win"));
	ok(wait_stage(t, run, "int", STORE_STAGE_AWAITING_APPROVAL) &&
		approve(t, run, "int", "alice") == 0 &&
		wait_stage(t, run, "int", STORE_STAGE_AWAITING_WINDOW),
	    "dst: autumn: waiting");
	ok(reason_has(t, run, "int",
	       "will start executing at 2026-10-26 "
	       "09:00 Europe/Paris (UTC+01:00)"),
	    "dst: autumn: Monday 09:00 "
	    "in winter time");
	t_at(t, "2026-10-26T07:30:00Z"); /* 08:30 CET, 09:30 CEST */
	t_spin(t, 100);
	ok(want_pred(t,
	       &(struct want){ run, "int", STORE_STAGE_AWAITING_WINDOW, -1 }) &&
		not_executed(t, run),
	    "dst: autumn: still shut at 08:30 CET");
	t_at(t, "2026-10-26T08:00:30Z");
	ok(wait_run(t, run, STORE_RUN_SUCCEEDED), "dst: autumn: runs at "
						  "09:00 CET");
	t->offset = 0;
}

static void
test_promotion(struct t *t)
{
	char   *reason;
	int64_t run;

	run = t_submit(t, t_release(t, "promo", "1.0.0", "promo"));
	ok(wait_run(t, run, STORE_RUN_FAILED),
	    "promotion: an environment with a registry but an app without "
	    "one fails");
	reason = stage_reason(t, run, "int");
	ok(strstr(reason,
	       "pulls images from 999999999999.dkr.ecr."
	       "eu-west-1.amazonaws.com but app promo has no registry") != NULL,
	    "promotion: %s", reason);
	free(reason);

	/* The environment pulls from where the images are: nothing to copy,
	   no ECR login. */
	run = t_submit(t, t_release(t, "same", "1.0.0", "same"));
	ok(deploy_one(t, run), "promotion: the app's own registry: deployed");
	is_int(fake_calls(t, "ecr", "GetAuthorizationToken"), 0,
	    "promotion: the app's own registry: no ECR login");
}

static void
test_large_template(struct t *t)
{
	struct fakeaws_reply reply;
	int64_t		     run;

	fakeaws_control(&t->fake, "POST", "/_fake/setup",
	    "{\"account\": \"000000000000\", \"region\": \"eu-west-1\", "
	    "\"buckets\": [{\"name\": \"artifacts-big\"}]}",
	    NULL);
	run = t_submit(t,
	    t_release_full(t, "big", "1.0.0", "big", 60000, 1, NULL, NULL));
	ok(deploy_one(t, run), "large template: deployed by TemplateURL");
	fakeaws_control(&t->fake, "GET", "/_fake/state", NULL, &reply);
	ok(reply.body != NULL && strstr(reply.body, "tpl/big/run-") != NULL,
	    "large template: uploaded to the artifacts bucket");
	free(reply.body);
}

/* A release zip in memory: release.json and template.yaml. */
static void *
make_zip(const char *manifest, const char *tpl, size_t *lenp)
{
	zip_source_t *src, *s;
	zip_t	     *za;
	zip_error_t   err;
	void	     *data = NULL;
	zip_int64_t   n;

	*lenp = 0;
	zip_error_init(&err);
	if ((src = zip_source_buffer_create(NULL, 0, 0, &err)) == NULL)
		return (NULL);
	zip_source_keep(src);
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &err)) == NULL)
		goto out;
	s = zip_source_buffer(za, manifest, strlen(manifest), 0);
	zip_file_add(za, "release.json", s, ZIP_FL_ENC_UTF_8);
	s = zip_source_buffer(za, tpl, strlen(tpl), 0);
	zip_file_add(za, "template.yaml", s, ZIP_FL_ENC_UTF_8);
	if (zip_close(za) != 0) {
		zip_discard(za);
		goto out;
	}
	zip_source_open(src);
	zip_source_seek(src, 0, SEEK_END);
	n = zip_source_tell(src);
	zip_source_seek(src, 0, SEEK_SET);
	data = xmalloc((size_t)n);
	if (zip_source_read(src, data, (zip_uint64_t)n) != n) {
		free(data);
		data = NULL;
	} else
		*lenp = (size_t)n;
	zip_source_close(src);
out:
	zip_source_free(src);
	zip_error_fini(&err);
	return (data);
}

struct put {
	int   done;
	char *etag;
};

static void
put_cb(const struct aws_reply *reply, struct s3_put_result *res, void *arg)
{
	struct put *p = arg;

	if (reply->error != AWS_OK)
		tap_diag("put: %s", reply->message);
	else
		p->etag = xstrdup(res->etag);
	s3_put_result_free(res);
	p->done = 1;
}

static int
put_pred(struct t *t, void *arg)
{
	(void)t;
	return (((struct put *)arg)->done);
}

static void
test_template_from_zip(struct t *t)
{
	struct s3_put_params p;
	struct put	     put = { 0, NULL };
	char		    *manifest, *tpl, *reason, *cause = NULL;
	void		    *zip;
	size_t		     len;
	int64_t		     run;

	fakeaws_control(&t->fake, "POST", "/_fake/setup",
	    "{\"account\": \"000000000000\", \"region\": \"eu-west-1\", "
	    "\"buckets\": [{\"name\": \"releases-zip\"}]}",
	    NULL);
	manifest = t_manifest("crash", "2.0.0");
	tpl = t_template("crash", 0);
	zip = make_zip(manifest, tpl, &len);
	memset(&p, 0, sizeof p);
	p.t.bucket = "releases-zip";
	p.t.key = "drops/crash-2.0.0.zip";
	p.data = zip;
	p.len = len;
	ok(zip != NULL &&
		s3_put_object(aws_context_client(t->aws), &p, put_cb, &put,
		    &cause) != NULL &&
		t_until(t, put_pred, &put) && put.etag != NULL,
	    "zip: a release zip is in its bucket");
	free(cause);
	zip_etag = put.etag;
	run = t_submit(t, t_release_full(t, "crash", "2.0.0", "crash", 0, 0,
			      "releases-zip", "drops/crash-2.0.0.zip"));
	zip_etag = NULL;
	ok(deploy_one(t, run), "zip: without a kept template, the engine "
			       "reads the zip and deploys");
	zip_etag = "\"00000000000000000000000000000000\"";
	run = t_submit(t, t_release_full(t, "crash", "2.0.0", "crash", 0, 0,
			      "releases-zip", "drops/crash-2.0.0.zip"));
	zip_etag = NULL;
	ok(wait_run(t, run, STORE_RUN_FAILED), "zip: a zip replaced since it "
					       "was received is refused");
	reason = stage_reason(t, run, "int");
	ok(strstr(reason, "replaced") != NULL, "zip: %s", reason);
	free(reason);
	free(put.etag);
	free(zip);
	free(manifest);
	free(tpl);
}

static void
test_store_engine(struct t *t)
{
	struct store_changes  *ch = NULL;
	struct store_change_in c[2];
	char		      *by, *why, *name, *body;
	size_t		       len;
	int64_t		       rel, run, other;

	rel = t_release(t, "rej", "0.0.1", "rej");
	ok(store_release_template(t->store, rel, &name, &body, &len, NULL) ==
		    0 &&
		strcmp(name, "template.yaml") == 0 && len == strlen(body) &&
		strstr(body, "AWS::ECS::Service") != NULL,
	    "store: a release's template is kept");
	free(name);
	free(body);
	ok(store_set_release_template(t->store, rel, "other.yaml", "x", 1,
	       NULL) == 0 &&
		store_release_template(t->store, rel, &name, &body, &len,
		    NULL) == 0 &&
		strcmp(name, "template.yaml") == 0,
	    "store: the first template stays");
	free(name);
	free(body);
	ok(store_release_template(t->store, rel + 1000, &name, &body, &len,
	       NULL) == STORE_ENOTFOUND,
	    "store: no template, not found");

	memset(c, 0, sizeof c);
	c[0].action = "Add";
	c[0].logical_id = "A";
	c[0].resource_type = "AWS::ECS::Cluster";
	c[0].scope = "[]";
	c[1].action = "Modify";
	c[1].logical_id = "B";
	c[1].resource_type = "AWS::ECS::Service";
	c[1].replacement = "True";
	c[1].details = "[{\"Attribute\": \"Properties\"}]";
	run = t_submit(t, rel);
	engine_cancel(t->engine, run, as("dave"), "first", NULL);
	ok(store_request_cancel(t->store, run, "erin", "second", NULL) == 0 &&
		store_run_cancel_request(t->store, run, &by, &why, NULL) == 0 &&
		strcmp(by, "dave") == 0 && strcmp(why, "first") == 0,
	    "store: the first cancellation request stays");
	free(by);
	free(why);
	ok(wait_run(t, run, STORE_RUN_CANCELLED), "store: and is carried out");
	other = run;
	{
		struct store_run *r = t_run(t, other);
		int64_t		  sid = r != NULL ? r->stages[0].id : 0;

		store_run_free(r);
		ok(store_record_stage_changes(t->store, sid, 5, c, 2, NULL) ==
			    0 &&
			store_record_stage_changes(t->store, sid, 5, c, 2,
			    NULL) == 0 &&
			store_stage_changes(t->store, sid, 5, &ch, NULL) == 0 &&
			ch->n == 2 &&
			strcmp(ch->items[1].replacement, "True") == 0,
		    "store: changes recorded twice are kept once");
		store_changes_free(ch);
		{
			struct store_check_result   cr[2];
			struct store_check_results *got = NULL;

			memset(cr, 0, sizeof cr);
			cr[0].check_name = cr[1].check_name = (char[]){ "c" };
			cr[0].step_name = (char[]){ "one" };
			cr[1].step_name = (char[]){ "two" };
			cr[0].status = (char[]){ "passed" };
			cr[1].status = (char[]){ "failed" };
			cr[1].expectation = (char[]){ "expected status 200" };
			cr[1].step = 1;
			cr[0].duration_ms = cr[1].duration_ms = -1;
			cr[0].tries = cr[1].tries = 1;
			ok(store_record_check_results(t->store, sid, 5, cr, 2,
			       NULL) == 0 &&
				store_record_check_results(t->store, sid, 5, cr,
				    1, NULL) == 0 &&
				store_stage_check_results(t->store, sid, 5,
				    &got, NULL) == 0 &&
				got->n == 1 &&
				strcmp(got->items[0].step_name, "one") == 0 &&
				got->items[0].duration_ms == -1,
			    "store: a check run recorded again replaces the "
			    "first one's results");
			store_check_results_free(got);
			cr[1].expectation = NULL;
			ok(store_record_check_results(t->store, sid, 6, cr, 2,
			       NULL) != 0 &&
				store_stage_check_results(t->store, sid, 6,
				    &got, NULL) == 0 &&
				got->n == 0,
			    "store: a failed step without its expectation is "
			    "refused, and none of the run's rows stay");
			store_check_results_free(got);
		}
	}
	ok(store_run_cancel_request(t->store, rel + 1000, &by, &why, NULL) ==
		STORE_ENOTFOUND,
	    "store: no such run, no request");
}

int
main(void)
{
	/*
	 * Each scenario has its own fake, store, configuration and engine,
	 * set up and torn down around it: none sees another's runs, stacks,
	 * faults or clock offset, so each can fail (or pass) alone and the
	 * order does not matter.
	 */
	static const struct {
		const char *name;
		void (*fn)(struct t *);
	} scenarios[] = {
		{ "store-engine", test_store_engine },
		{ "happy path", test_happy_path },
		{ "cancel in flight", test_cancel_in_flight },
		{ "reject, cancel", test_reject_cancel },
		{ "expiry", test_expiry },
		{ "reconfigure", test_reconfigure },
		{ "supersede", test_supersede },
		{ "queued", test_queued },
		{ "no changes", test_no_changes },
		{ "stack failure, retry", test_stack_failure_retry },
		{ "circuit breaker", test_circuit_breaker },
		{ "unreadable reply", test_unreadable_reply },
		{ "unreadable not found", test_unreadable_not_found },
		{ "deploy timeout", test_deploy_timeout },
		{ "stale", test_stale },
		{ "rollback failed", test_rollback_failed },
		{ "rollback failed, restart", test_rollback_failed_restart },
		{ "first deployment failed", test_first_deploy_failed },
		{ "obsolete", test_obsolete },
		{ "empty stack", test_empty_stack },
		{ "restart", test_restart },
		{ "promotion", test_promotion },
		{ "large template", test_large_template },
		{ "template from zip", test_template_from_zip },
		{ "windows", test_windows },
		{ "windows dst", test_windows_dst },
	};
	struct t   *t = &T;
	size_t	    i;
	const char *only = getenv("TEST_ENGINE_ONLY");

	log_init("test-engine");
	log_set_level(getenv("TEST_ENGINE_VERBOSE") != NULL ?
			  LOG_LEVEL_DEBUG :
			  LOG_LEVEL_WARNING);
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		if (only != NULL && strcmp(only, scenarios[i].name) != 0)
			continue;
		tap_diag("scenario: %s", scenarios[i].name);
		zip_etag = NULL;
		if (t_setup(t) != 0) {
			fakeaws_stop(&t->fake);
			ok(0,
			    "%s: set up the fake AWS endpoint, store and "
			    "engine",
			    scenarios[i].name);
			continue;
		}
		scenarios[i].fn(t);
		is_int(t_teardown(t), 0, "%s: uv_loop_close() == 0",
		    scenarios[i].name);
	}
	return (tap_done());
}
