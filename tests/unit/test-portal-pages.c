/*
 * The portal's pages rendered from a temporary store filled through the
 * store API: the names of web/README.md's contract, escaping of what a
 * release says, the replacement row, who sees which button, quorum and
 * self-approval, pagination of the history both ways, the filters, the
 * audit log, sign-in and error pages, the static files, and the query
 * plans of the pages' queries (indexes, no scan of runs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "portal-pages.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

#define CONFIG_TEXT                                                              \
	"public_url: http://127.0.0.1:8080\n"                                    \
	"database: %s/shipgate.db\n"                                             \
	"aws:\n"                                                                 \
	"  region: eu-west-1\n"                                                  \
	"users:\n"                                                               \
	"  - {name: alice, email: a@x.example, groups: [integrators]}\n"         \
	"  - {name: bob, email: b@x.example, groups: [project-team]}\n"          \
	"  - {name: carol, email: c@x.example, groups: [project-team]}\n"        \
	"  - {name: dave, email: d@x.example, groups: [operators]}\n"            \
	"apps:\n"                                                                \
	"  - name: billing\n"                                                    \
	"    source: {bucket: releases-billing}\n"                               \
	"    environments:\n"                                                    \
	"      - {name: int, account: \"111111111111\", stack: billing-int,\n"   \
	"         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"      \
	"         approvers: [integrators], gate: [integrators]}\n"              \
	"      - {name: stg, account: \"222222222222\", stack: billing-stg,\n"   \
	"         role_arn: \"arn:aws:iam::222222222222:role/deployer\",\n"      \
	"         approvers: [project-team]}\n"                                  \
	"      - {name: prod, account: \"333333333333\", stack: billing-prod,\n" \
	"         role_arn: \"arn:aws:iam::333333333333:role/deployer\",\n"      \
	"         approvers: [project-team], required_approvals: 2,\n"           \
	"         allow_self_approval: false}\n"                                 \
	"  - name: shop\n"                                                       \
	"    source: {bucket: releases-shop}\n"                                  \
	"    environments:\n"                                                    \
	"      - {name: int, account: \"111111111111\", stack: shop-int,\n"      \
	"         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"      \
	"         approvers: [integrators]}\n"

#define EVIL "<script>alert(\"x\")</script> & 'q'"
#define EVIL_ESCAPED \
	"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"

static char	      tmpdir[] = "/tmp/test-portal-pages.XXXXXX";
static int64_t	      fake_now = 1790000000000LL;
static struct store  *st;
static struct config *cfg;

static int64_t
fake_clock(void *arg)
{
	return (fake_now);
}

static int64_t
app_id(const char *name)
{
	int64_t id = 0;

	store_upsert_app(st, name, &id, NULL);
	return (id);
}

/* A valid release of app and a run of it through envs (all pending). */
static int64_t
make_run(const char *app, const char *version, const char *author,
    const char *message, int nenvs, int64_t *release_idp)
{
	static const struct store_stage_in stages[] = {
		{ "int", 1 },
		{ "stg", 1 },
		{ "prod", 2 },
	};
	struct store_release_in rel;
	struct store_run_in	run;
	int64_t			release_id = 0, run_id = 0;
	char		       *key, *manifest, *cause = NULL;

	key = xasprintf("drops/%s-%s.zip", app, version);
	manifest = xasprintf(
	    "{\"app\": \"%s\", \"version\": \"%s\", "
	    "\"images\": [{\"repository\": \"%s/web\", \"tag\": \"%s\"}, "
	    "{\"repository\": \"%s/worker\", \"digest\": \"sha256:"
	    "00112233\"}]}",
	    app, version, app, version, app);
	memset(&rel, 0, sizeof rel);
	rel.app_id = app_id(app);
	rel.bucket = "releases";
	rel.key = key;
	rel.size = 1234;
	rel.version = version;
	rel.message = message;
	rel.author = author;
	rel.manifest = manifest;
	rel.status = STORE_RELEASE_VALID;
	if (store_record_release(st, &rel, &release_id, &cause) != 0)
		goto fail;
	memset(&run, 0, sizeof run);
	run.release_id = release_id;
	run.stages = stages;
	run.nstages = (size_t)nenvs;
	if (store_create_run(st, &run, &run_id, &cause) != 0)
		goto fail;
	free(key);
	free(manifest);
	if (release_idp != NULL)
		*release_idp = release_id;
	fake_now += 1000;
	return (run_id);
fail:
	tap_diag("make_run: %s", cause);
	free(cause);
	free(key);
	free(manifest);
	return (0);
}

static struct store_stage *
stage_of(struct store_run *r, const char *env)
{
	size_t i;

	for (i = 0; i < r->nstages; i++)
		if (strcmp(r->stages[i].environment, env) == 0)
			return (&r->stages[i]);
	return (NULL);
}

/* Moves a run to running and its stage env through `path`. */
static int64_t
stage_to(int64_t run_id, const char *env, const enum store_stage_status *path,
    size_t n)
{
	struct store_run   *r = NULL;
	struct store_stage *s;
	int64_t		    id;
	size_t		    i;

	store_get_run(st, run_id, &r, NULL);
	if (r->status == STORE_RUN_RECEIVED)
		store_set_run_status(st, run_id, STORE_RUN_RECEIVED,
		    STORE_RUN_RUNNING, NULL, NULL);
	s = stage_of(r, env);
	for (i = 0; i < n; i++) {
		fake_now += 60000;
		if (store_set_stage_status(st, s->id,
			i == 0 ? s->status : path[i - 1], path[i], NULL,
			NULL) != 0)
			tap_diag("stage %s of run %lld: cannot go to %s", env,
			    (long long)run_id,
			    store_stage_status_name(path[i]));
	}
	id = s->id;
	store_run_free(r);
	return (id);
}

static const enum store_stage_status to_approval[] = {
	STORE_STAGE_PROMOTING,
	STORE_STAGE_CREATING_CHANGE_SET,
	STORE_STAGE_AWAITING_APPROVAL,
};
static const enum store_stage_status to_done[] = {
	STORE_STAGE_PROMOTING,
	STORE_STAGE_CREATING_CHANGE_SET,
	STORE_STAGE_AWAITING_APPROVAL,
	STORE_STAGE_EXECUTING,
	STORE_STAGE_WAITING_STACK,
	STORE_STAGE_CHECKING,
	STORE_STAGE_DONE,
};
static const enum store_stage_status to_gate[] = {
	STORE_STAGE_PROMOTING,
	STORE_STAGE_CREATING_CHANGE_SET,
	STORE_STAGE_AWAITING_APPROVAL,
	STORE_STAGE_EXECUTING,
	STORE_STAGE_WAITING_STACK,
	STORE_STAGE_CHECKING,
	STORE_STAGE_AWAITING_GATE,
};
static const enum store_stage_status to_failed[] = {
	STORE_STAGE_PROMOTING,
	STORE_STAGE_CREATING_CHANGE_SET,
	STORE_STAGE_AWAITING_APPROVAL,
	STORE_STAGE_EXECUTING,
	STORE_STAGE_WAITING_STACK,
	STORE_STAGE_FAILED,
};
#define N(a) (sizeof(a) / sizeof(a)[0])

static void
approve(int64_t stage_id, const char *user, enum store_decision d,
    const char *comment, int gate)
{
	struct store_approval_in a;
	char			*cause = NULL;

	memset(&a, 0, sizeof a);
	a.stage_id = stage_id;
	a.gate = gate;
	a.user = user;
	a.decision = d;
	a.comment = comment;
	a.via = STORE_VIA_PORTAL;
	if (store_record_approval(st, &a, &cause) != 0)
		tap_diag("approval: %s", cause);
	free(cause);
}

/* A decision by a person an identity provider signed in. */
static void
approve_signin(int64_t stage_id, const char *user, const char *signin)
{
	struct store_approval_in a;
	char			*cause = NULL;

	memset(&a, 0, sizeof a);
	a.stage_id = stage_id;
	a.user = user;
	a.decision = STORE_DECISION_APPROVE;
	a.via = STORE_VIA_API;
	a.signin = signin;
	if (store_record_approval(st, &a, &cause) != 0)
		tap_diag("approval: %s", cause);
	free(cause);
}

static void
audit(const char *actor, const char *action, int64_t run_id, const char *detail)
{
	struct store_audit_in a;
	char		      subject[64];

	snprintf(subject, sizeof subject, "run %lld", (long long)run_id);
	memset(&a, 0, sizeof a);
	a.actor = actor;
	a.action = action;
	a.subject = subject;
	a.run_id = run_id;
	a.detail = detail;
	store_append_audit(st, &a, NULL);
}

static struct page_ctx
ctx_for(const char *user)
{
	struct page_ctx c;

	memset(&c, 0, sizeof c);
	c.config = cfg;
	c.store = st;
	c.user = user;
	c.csrf = user != NULL ? "tok-<en>" : NULL;
	c.now_ms = fake_now;
	return (c);
}

static struct buf page;
static int	  status;

static const char *
get_run(const char *user, int64_t id)
{
	struct page_ctx c = ctx_for(user);
	char	       *cause = NULL;

	buf_free(&page);
	buf_init(&page, 4 << 20);
	status = pages_run(&c, id, NULL, NULL, &page, &cause);
	if (status < 0)
		tap_diag("pages_run: %s", cause);
	free(cause);
	return (page.data != NULL ? page.data : "");
}

static const char *
get_runs(const char *user, const struct page_runs_query *q)
{
	struct page_ctx c = ctx_for(user);
	char	       *cause = NULL;

	buf_free(&page);
	buf_init(&page, 4 << 20);
	status = pages_runs(&c, q, &page, &cause);
	if (status < 0)
		tap_diag("pages_runs: %s", cause);
	free(cause);
	return (page.data != NULL ? page.data : "");
}

/* With PAGES_OUT=DIR, the page just rendered is written to DIR/name.html
 * (to look at it in a browser, with web/ served as /static/). */
static void
dump(const char *name)
{
	const char *dir;
	char	   *path;
	FILE	   *f;

	if ((dir = getenv("PAGES_OUT")) == NULL || page.data == NULL)
		return;
	path = xasprintf("%s/%s.html", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(page.data, 1, page.len, f);
		fclose(f);
	}
	free(path);
}

static int
has(const char *hay, const char *needle)
{
	return (strstr(hay, needle) != NULL);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return (n);
}

/* The text of the first element after `marker` up to `end`. */
static char *
between(const char *hay, const char *start, const char *end)
{
	const char *p, *q;

	if ((p = strstr(hay, start)) == NULL)
		return (xstrdup(""));
	p += strlen(start);
	if ((q = strstr(p, end)) == NULL)
		return (xstrdup(""));
	return (xstrndup(p, (size_t)(q - p)));
}

/* The cursor in a link "...name=ID" inside the page (0: none). */
static int64_t
cursor(const char *hay, const char *name)
{
	const char *p;
	char	    key[32];

	snprintf(key, sizeof key, "%s=", name);
	if ((p = strstr(hay, key)) == NULL)
		return (0);
	return (strtoll(p + strlen(key), NULL, 10));
}

static void
check_plan(const char *query, unsigned int mask, int *bad)
{
	char *plan = NULL, *cause = NULL, *line, *next;

	if (getenv("SHOW_PLANS") != NULL &&
	    store_portal_plan(st, query, mask, &plan, NULL) == 0) {
		tap_diag("%s %#x:\n%s", query, mask, plan);
		free(plan);
	}
	if (store_portal_plan(st, query, mask, &plan, &cause) != 0) {
		tap_diag("%s %#x: %s", query, mask, cause);
		free(cause);
		(*bad)++;
		return;
	}
	for (line = plan; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* A scan of a table, or of a whole index but the ones that
		 * hand out runs newest first and stop at the page (a scan
		 * of a subquery's few rows, or of the ids given as JSON, is
		 * no scan of a table). */
		if (strncmp(line, "SCAN ", 5) == 0 &&
		    strncmp(line, "SCAN (subquery-", 15) != 0 &&
		    strstr(line, "VIRTUAL TABLE") == NULL &&
		    strstr(line, "USING INDEX runs_created") == NULL &&
		    strstr(line, "stages_environment") == NULL) {
			tap_diag("%s %#x: %s", query, mask, line);
			(*bad)++;
		}
	}
	free(plan);
}

int
main(void)
{
	struct config_errors	  e;
	struct page_runs_query	  q;
	struct page_ctx		  c;
	const struct web_asset	 *a;
	struct store_change_in	  ch[3];
	struct store_check_result cr[2];
	struct store_promotion_in pr;
	const char		 *p;
	char			 *text, *cause = NULL, *s;
	int64_t			  r1, r2, r3, r4, r5, rel5, sid, before, after;
	int64_t			  int1, prod2;
	unsigned int		  mask;
	int			  i, bad;

	if (mkdtemp(tmpdir) == NULL)
		tap_bail("mkdtemp failed");
	text = xasprintf(CONFIG_TEXT, tmpdir);
	cfg = config_load_buffer("test.yaml", text, strlen(text), &e);
	free(text);
	if (cfg == NULL) {
		for (i = 0; i < (int)e.n; i++)
			tap_diag("%s", e.lines[i]);
		return (1);
	}
	text = xasprintf("%s/shipgate.db", tmpdir);
	if (store_open(text, &st, &cause) != 0) {
		tap_diag("store_open: %s", cause);
		return (1);
	}
	free(text);
	store_set_clock(st, fake_clock, NULL);
	buf_init(&page, 4 << 20);

	/*
	 * Run r1 (billing 1.4.2 by alice, a message with markup): int
	 * awaits approval with a change set replacing WebTask.
	 */
	r1 = make_run("billing", "1.4.2", "alice", EVIL, 3, NULL);
	int1 = stage_to(r1, "int", to_approval, N(to_approval));
	store_stage_set_change_set(st, int1, 0, "shipgate-r1-int-0", NULL);
	memset(ch, 0, sizeof ch);
	ch[0].action = "Modify";
	ch[0].logical_id = "WebTask";
	ch[0].physical_id = "arn:aws:ecs:task/web:1";
	ch[0].resource_type = "AWS::ECS::TaskDefinition";
	ch[0].replacement = "True";
	ch[0].details =
	    "[{\"Target\": {\"Attribute\": \"Properties\", "
	    "\"Name\": \"ContainerDefinitions\", \"RequiresRecreation\": "
	    "\"Always\"}, \"Evaluation\": \"Static\", \"ChangeSource\": "
	    "\"DirectModification\"}]";
	ch[1].action = "Modify";
	ch[1].logical_id = "WebService";
	ch[1].physical_id = "web-svc<1>";
	ch[1].resource_type = "AWS::ECS::Service";
	ch[1].replacement = "False";
	ch[1].details =
	    "[{\"Attribute\": \"Properties\", \"Name\": "
	    "\"DesiredCount\", \"RequiresRecreation\": \"Never\", "
	    "\"ChangeSource\": \"ParameterReference\", \"CausingEntity\": "
	    "\"Count\"}]";
	ch[2].action = "Add";
	ch[2].logical_id = "Queue";
	ch[2].resource_type = "AWS::SQS::Queue";
	store_record_stage_changes(st, int1, 0, ch, 3, NULL);
	memset(&pr, 0, sizeof pr);
	pr.stage_id = int1;
	pr.source_registry = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
	pr.repository = "billing/web";
	pr.reference = "1.4.2";
	pr.destination_registry = pr.source_registry;
	pr.source_digest = "sha256:abcdef0123456789";
	pr.destination_digest = pr.source_digest;
	if (store_record_promotion(st, &pr, &cause) != 0) {
		tap_diag("promotion: %s", cause);
		free(cause);
		cause = NULL;
	}
	audit("shipgated", "stage creating_change_set -> awaiting_approval", r1,
	    "change set <b>ready</b>");

	/* r2 (billing 2.0 by bob): int and stg done and deployed, prod
	 * awaiting approval with one of two approvals (carol's). */
	r2 = make_run("billing", "2.0", "bob", "Second", 3, NULL);
	sid = stage_to(r2, "int", to_done, N(to_done));
	store_record_deployment(st, sid, NULL);
	sid = stage_to(r2, "stg", to_done, N(to_done));
	store_record_deployment(st, sid, NULL);
	/* stg's was approved by a person the load balancer signed in. */
	approve_signin(sid, "erin@corp.example", "alb");
	memset(cr, 0, sizeof cr);
	cr[0].check_name = (char[]){ "smoke" };
	cr[0].step = 0;
	cr[0].step_name = (char[]){ "home page" };
	cr[0].status = (char[]){ "passed" };
	cr[0].method = (char[]){ "GET" };
	cr[0].url = (char[]){ "https://stg.example/" };
	cr[0].http_status = 200;
	cr[0].tries = 1;
	cr[0].duration_ms = 120;
	cr[0].started_at = fake_now;
	cr[0].finished_at = fake_now + 120;
	cr[1] = cr[0];
	cr[1].step = 1;
	cr[1].step_name = (char[]){ "login" };
	cr[1].status = (char[]){ "failed" };
	cr[1].expectation = (char[]){ "contains \"Welcome\"" };
	cr[1].excerpt = (char[]){ "<html>nope</html>" };
	if (store_record_check_results(st, sid, 0, cr, 2, &cause) != 0) {
		tap_diag("checks: %s", cause);
		free(cause);
		cause = NULL;
	}
	prod2 = stage_to(r2, "prod", to_approval, N(to_approval));
	approve(prod2, "carol", STORE_DECISION_APPROVE, "fine by me", 0);

	/* r3 (billing 0.9, int only): int at the promotion gate. */
	r3 = make_run("billing", "0.9", "alice", "Gate me", 1, NULL);
	stage_to(r3, "int", to_gate, N(to_gate));

	/* r4 (billing 1.0): int failed, the run failed. */
	r4 = make_run("billing", "1.0", "alice", "Old one", 3, NULL);
	stage_to(r4, "int", to_failed, N(to_failed));
	store_set_run_status(st, r4, STORE_RUN_RUNNING, STORE_RUN_FAILED,
	    "int failed", NULL);

	/* r5 (shop 0.8): deployed to int and finished. */
	r5 = make_run("shop", "0.8", "alice", "Done", 1, &rel5);
	sid = stage_to(r5, "int", to_done, N(to_done));
	store_record_deployment(st, sid, NULL);
	store_set_run_status(st, r5, STORE_RUN_RUNNING, STORE_RUN_SUCCEEDED,
	    NULL, NULL);

	/* --- The run page ----------------------------------------------- */
	p = get_run("alice", r1);
	dump("run-alice");
	is_int(status, 200, "run page: 200");
	s = between(p, "<h1>", "</h1>");
	is_str(s, "billing 1.4.2", "h1 holds APP VERSION");
	free(s);
	ok(has(p, "<p class=\"release-message\">" EVIL_ESCAPED "</p>"),
	    "the message is in .release-message, escaped");
	ok(!has(p, "<script>alert"), "no <script> from the release");
	ok(has(p, "<dd class=\"release-author\">alice</dd>"), "the author");
	ok(has(p, "data-stage=\"int\"") && has(p, "data-stage=\"stg\"") &&
		has(p, "data-stage=\"prod\""),
	    "a section per stage (data-stage)");
	ok(has(p,
	       "<span class=\"status stage-status status-awaiting_approval\">"
	       "awaiting_approval</span>"),
	    "int's .stage-status");
	ok(has(p, "<table class=\"changes\">"), "table.changes");
	for (i = 0; i < 5; i++) {
		static const char *const cols[] = { ">Action<", ">Logical ID<",
			">Type<", ">Physical ID<", ">Replacement<" };

		ok(has(p, cols[i]), "changes column %s", cols[i]);
	}
	s = between(p, "<tr class=\"replacement\">", "</tr>");
	ok(has(s, "WebTask") && !has(s, "WebService"),
	    "the replacement row is WebTask's, class replacement");
	ok(has(s, "Properties.ContainerDefinitions") &&
		has(s, "recreation: Always"),
	    "with its property-level details");
	free(s);
	is_int(count(p, "class=\"replacement\""), 1, "only one replacement");
	ok(has(p, "Properties.DesiredCount</span> <span class=\"source\">"
		  "ParameterReference (Count)</span>"),
	    "details stored flat (as the engine does) too");
	ok(has(p, "web-svc&lt;1&gt;"), "a physical id from AWS is escaped");
	ok(has(p, ">Approve int</button>") && has(p, ">Reject int</button>"),
	    "alice may approve and reject int");
	ok(has(p, "<label for=\"comment-int\">Comment</label>"),
	    "the comment is labelled Comment");
	ok(has(p, "name=\"csrf\" value=\"tok-&lt;en&gt;\""),
	    "forms carry the csrf token, escaped");
	ok(has(p, "action=\"/runs/") && has(p, "/approve\"") &&
		has(p, "formaction=\"/runs/"),
	    "approve posts, reject by formaction");
	ok(has(p, ">Sign out</button>") && has(p, "action=\"/logout\""),
	    "the Sign out form is in the header");
	ok(has(p, "<table class=\"approvals\">") &&
		has(p, "<table class=\"audit\">"),
	    "table.approvals and table.audit");
	ok(has(p, "change set &lt;b&gt;ready&lt;/b&gt;"),
	    "audit details escaped");
	ok(has(p, "<time datetime=\"") && has(p, "title=\"UTC "),
	    "times are <time datetime> with UTC in the title");
	ok(has(p, "sha256:abcdef0123456789"), "an image's digest when known");
	ok(has(p, "sha256:00112233"), "a pinned image's digest");
	ok(has(p, "data-live=\"1\"") && has(p, "data-run-id=\""),
	    "an unfinished run is polled");
	ok(!has(p, "Cancel run"), "alice is no operator: no Cancel run");
	ok(!has(p, "<script>") || count(p, "<script") == 1, "no inline script");
	ok(has(p, "<script src=\"/static/portal.js\" defer></script>"),
	    "the script is a file");

	p = get_run("bob", r1);
	ok(!has(p, ">Approve int<") && !has(p, ">Reject int<"),
	    "bob has no Approve int nor Reject int");
	p = get_run("dave", r1);
	ok(!has(p, ">Approve int<") && has(p, ">Reject int<"),
	    "dave (operator) may reject int but not approve it");
	ok(has(p, ">Cancel run</button>") && has(p, "> Confirm</label>"),
	    "dave may cancel, behind Confirm");

	/* Quorum, self-approval. */
	p = get_run("bob", r2);
	dump("run-bob-prod");
	ok(has(p, "1 of 2 approvals"), "N of M approvals with a quorum");
	ok(has(p, "class=\"refusal\"") && has(p, "author"),
	    "bob, the author, is told why he may not approve prod");
	ok(!has(p, ">Approve prod<"), "bob has no Approve prod");
	p = get_run("carol", r2);
	ok(!has(p, ">Approve prod<") && has(p, "You have decided"),
	    "carol approved already");
	ok(has(p, "<table class=\"checks\">") && has(p, "home page") &&
		has(p, "contains &quot;Welcome&quot;") &&
		has(p, "&lt;html&gt;nope&lt;/html&gt;"),
	    "table.checks with the failed expectation and excerpt, escaped");
	ok(has(p, "fine by me") && has(p, ">carol<"),
	    "approvals: who and the comment");
	ok(has(p, ">erin@corp.example<") && has(p, "<td>api, alb</td>") &&
		has(p, "<td>portal</td>"),
	    "approvals: the channel, and how a provider's person signed in");

	/* The gate. */
	p = get_run("alice", r3);
	dump("run-gate");
	ok(has(p, ">Authorise promotion</button>") &&
		has(p, "name=\"confirm\""),
	    "Authorise promotion behind Confirm");
	ok(has(p, "status-awaiting_gate\">awaiting_gate</span>"),
	    "the stage at the gate");
	p = get_run("bob", r3);
	ok(!has(p, "Authorise promotion"), "bob may not authorise billing int");

	/* Retry. */
	p = get_run("dave", r4);
	dump("run-failed");
	ok(has(p, ">Retry int</button>"), "an operator may retry int");
	ok(!has(p, "data-live"), "a finished run is not polled");
	p = get_run("alice", r4);
	ok(!has(p, "Retry int"), "alice may not retry");
	p = get_run("dave", r5);
	text = xasprintf("action=\"/releases/%lld/redeploy\"", (long long)rel5);
	ok(has(p, text) && has(p, ">Redeploy to int</button>") &&
		has(p, "was deployed to int."),
	    "the run page: an operator may redeploy a deployed release");
	free(text);
	p = get_run("dave", r4);
	ok(!has(p, "Redeploy to"), "not a release never deployed");
	p = get_run("alice", r5);
	ok(!has(p, "Redeploy to"), "nor for alice");

	p = get_run("alice", 999999);
	is_int(status, 404, "an unknown run is 404");
	ok(has(p, "No such run."), "and says so");

	/* --- Dashboard ---------------------------------------------------- */
	c = ctx_for("alice");
	buf_reset(&page);
	status = pages_dashboard(&c, &page, &cause);
	p = page.data;
	dump("dashboard");
	is_int(status, 200, "dashboard: 200");
	ok(has(p, ">Waiting for you</h2>"), "heading Waiting for you");
	text = xasprintf("<a href=\"/runs/%lld#stage-int\">billing 1.4.2: "
			 "approve int</a>",
	    (long long)r1);
	ok(has(p, text), "alice: billing 1.4.2: approve int");
	free(text);
	ok(has(p, "billing 0.9: authorise promotion</a>"),
	    "alice: billing 0.9: authorise promotion");
	ok(!has(p, "approve prod"), "not prod: she is not a project member");
	s = between(p, "data-app=\"billing\"", "</table>");
	ok(has(s, "<tr data-env=\"int\">") && has(s, "<tr data-env=\"stg\">") &&
		has(s, "<tr data-env=\"prod\">"),
	    "billing: a row per env");
	ok(has(s, "<td class=\"version\">2.0</td>"),
	    "with the version running");
	free(s);
	c = ctx_for("bob");
	buf_reset(&page);
	pages_dashboard(&c, &page, &cause);
	ok(has(page.data, "billing 2.0: approve prod</a>") == 0,
	    "bob (the author, no self-approval in prod) is not asked");
	c = ctx_for("carol");
	buf_reset(&page);
	pages_dashboard(&c, &page, &cause);
	ok(!has(page.data, "approve prod</a>"),
	    "carol has decided: not asked again");
	c = ctx_for("dave");
	buf_reset(&page);
	pages_dashboard(&c, &page, &cause);
	ok(has(page.data, "Nothing is waiting for you."),
	    "dave approves nothing");

	/* --- App page ------------------------------------------------------ */
	c = ctx_for("dave");
	buf_reset(&page);
	status = pages_app(&c, "shop", NULL, NULL, &page, &cause);
	p = page.data;
	dump("app");
	is_int(status, 200, "app page: 200");
	ok(has(p, "<h1>shop</h1>") && has(p, "<table class=\"envs matrix\">"),
	    "the environments matrix");
	text = xasprintf("action=\"/releases/%lld/redeploy\"", (long long)rel5);
	ok(has(p, text) && has(p, ">Redeploy to int</button>"),
	    "dave: Redeploy to int for the deployed release");
	free(text);
	ok(count(p, ">Redeploy to int<") == 1,
	    "only for releases once deployed");
	c = ctx_for("alice");
	buf_reset(&page);
	pages_app(&c, "shop", NULL, NULL, &page, &cause);
	ok(!has(page.data, "Redeploy"), "alice is no operator");
	buf_reset(&page);
	status = pages_app(&c, "nope<", NULL, NULL, &page, &cause);
	is_int(status, 404, "an unknown app is 404");

	/* --- Audit ----------------------------------------------------------- */
	buf_reset(&page);
	status = pages_audit(&c, 0, &page, &cause);
	dump("audit");
	is_int(status, 200, "audit page: 200");
	ok(has(page.data, "<table class=\"audit\">") &&
		has(page.data, "change set &lt;b&gt;ready&lt;/b&gt;"),
	    "table.audit, escaped");

	/* --- Sign-in, errors, assets --------------------------------------- */
	c = ctx_for(NULL);
	buf_reset(&page);
	status = pages_login(&c, "Wrong user name or password.", &page, &cause);
	p = page.data;
	dump("login");
	is_int(status, 200, "login page: 200");
	ok(has(p, "<label for=\"user\">User name</label>") &&
		has(p, "name=\"user\"") &&
		has(p, "<label for=\"password\">Password</label>") &&
		has(p, "name=\"password\"") && has(p, ">Sign in</button>"),
	    "labelled User name and Password, button Sign in");
	ok(has(p, "role=\"alert\">Wrong user name or password.</p>"),
	    "the error in role=alert");
	ok(!has(p, "Sign out"), "no Sign out when signed out");
	buf_reset(&page);
	status = pages_error(&c, 403, "Invalid or missing CSRF token.", &page);
	is_int(status, 403, "error page: its status");
	ok(has(page.data, "role=\"alert\">Invalid or missing CSRF token."),
	    "the CSRF refusal");
	buf_reset(&page);
	pages_error(&c, 404, EVIL, &page);
	dump("error");
	ok(has(page.data, EVIL_ESCAPED) && !has(page.data, "<script>alert"),
	    "an error message is escaped");
	a = web_asset_find("/static/portal.css");
	ok(a != NULL && a->size > 100 &&
		strncmp(a->content_type, "text/css", 8) == 0 &&
		a->etag != NULL && a->etag[0] == '"',
	    "portal.css is served");
	ok(a != NULL && has(a->data, "tr.replacement"),
	    "it styles replacements");
	a = web_asset_find("/static/portal.js");
	ok(a != NULL && strncmp(a->content_type, "text/javascript", 15) == 0,
	    "portal.js is served");
	ok(web_asset_find("/static/run.html") == NULL &&
		web_asset_find("/static/../portal.css") == NULL,
	    "templates are not assets");

	/* --- History --------------------------------------------------------- */
	for (i = 0; i < 120; i++) {
		text = xasprintf("3.%d", i);
		make_run(i % 2 ? "billing" : "shop", text,
		    i % 3 ? "erin" : "frank", "bulk", 1, NULL);
		free(text);
	}
	memset(&q, 0, sizeof q);
	p = get_runs("alice", &q);
	dump("history");
	is_int(status, 200, "history: 200");
	ok(has(p, "<table class=\"runs\">"), "table.runs");
	for (i = 0; i < 7; i++) {
		static const char *const l[] = { "App", "Environment", "Status",
			"Version", "Author", "From", "To" };

		text = xasprintf("\">%s</label>", l[i]);
		ok(has(p, text), "a control labelled %s", l[i]);
		free(text);
	}
	ok(has(p, ">Filter</button>"), "button Filter");
	is_int(count(p, "<tr data-run="), 50, "50 runs a page");
	ok(has(p, ">Older</a>") && !has(p, ">Newer</a>"),
	    "the first page links Older only");
	before = cursor(p, "before");
	ok(before > 0, "Older carries before=");
	q.before = before;
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 50, "page 2: 50 runs");
	ok(has(p, ">Older</a>") && has(p, ">Newer</a>"),
	    "page 2 links both ways");
	after = cursor(p, "after");
	text = xasprintf("<tr data-run=\"%lld\">", (long long)(before - 1));
	ok(after == before - 1 && has(p, text),
	    "page 2 starts just below the cursor");
	free(text);
	q.before = cursor(p, "before");
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 25, "page 3: the last 25 runs");
	ok(!has(p, ">Older</a>"), "the last page has no Older");
	memset(&q, 0, sizeof q);
	q.after = after;
	p = get_runs("alice", &q);
	ok(!has(p, ">Newer</a>") && count(p, "<tr data-run=") == 50 &&
		cursor(p, "before") == before,
	    "Newer from page 2 is the first page");
	memset(&q, 0, sizeof q);
	q.before = before;
	p = get_runs("alice", &q);
	q.before = cursor(p, "before");
	p = get_runs("alice", &q);
	memset(&q, 0, sizeof q);
	q.after = cursor(p, "after");
	p = get_runs("alice", &q);
	ok(has(p, ">Newer</a>") && cursor(p, "before") != 0 &&
		count(p, "<tr data-run=") == 50,
	    "Newer from page 3 is page 2");

	memset(&q, 0, sizeof q);
	q.version = "1.4.2";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 1, "filtered by version: one run");
	ok(has(p, "value=\"1.4.2\""), "the form keeps the filter");
	memset(&q, 0, sizeof q);
	q.app = "shop";
	q.author = "frank";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 20, "shop by frank: 20 runs");
	ok(has(p, "<option value=\"shop\" selected>"), "App keeps shop");
	memset(&q, 0, sizeof q);
	q.env = "prod";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 3, "runs through prod: 3");
	memset(&q, 0, sizeof q);
	q.status = "failed";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 1, "failed runs: 1");
	q.status = "bogus<";
	p = get_runs("alice", &q);
	is_int(status, 400, "an unknown status is 400");
	ok(has(p, "role=\"alert\">Status is not a run status."),
	    "with the reason in role=alert");
	memset(&q, 0, sizeof q);
	q.from = "2026-13-01";
	p = get_runs("alice", &q);
	is_int(status, 400, "a bad date is 400");
	memset(&q, 0, sizeof q);
	q.from = "2026-09-21";
	q.to = "2026-09-21";
	q.app = "billing";
	p = get_runs("alice", &q);
	is_int(status, 200, "a date range");
	ok(has(p, "from=2026-09-21&amp;to=2026-09-21") || !has(p, ">Older</a>"),
	    "the links keep the filters");
	memset(&q, 0, sizeof q);
	q.from = "2099-01-01";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 0, "nothing after 2099");
	ok(has(p, "No run matches."), "says so");
	memset(&q, 0, sizeof q);
	q.author = EVIL;
	p = get_runs("alice", &q);
	ok(has(p, "value=\"" EVIL_ESCAPED "\""),
	    "a filter value is escaped in the form");

	/* The history's body is cached per thread until the database
	 * changes. */
	memset(&q, 0, sizeof q);
	text = xstrdup(get_runs("alice", &q));
	p = get_runs("bob", &q);
	ok(has(p, "Signed in as <strong>bob</strong>") &&
		strcmp(strstr(p, "<main"), strstr(text, "<main")) == 0,
	    "the same history for bob, in his own header");
	free(text);
	make_run("billing", "9.9.9", "erin", "new", 1, NULL);
	p = get_runs("alice", &q);
	ok(has(p, "<td>9.9.9</td>"), "a new run shows at once");
	q.version = "9.9.9";
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 1, "another query, another body");
	pages_cache_clear();
	p = get_runs("alice", &q);
	is_int(count(p, "<tr data-run="), 1, "rendered again after a clear");

	/* --- Query plans ------------------------------------------------------ */
	bad = 0;
	check_plan("active_stages", 0, &bad);
	check_plan("deployment", 0, &bad);
	check_plan("stages_of_runs", 0, &bad);
	check_plan("release_deployed_to", 0, &bad);
	check_plan("app_releases", 0, &bad);
	check_plan("app_releases", 1, &bad);
	for (mask = 0; mask < 128; mask++) {
		check_plan("runs_newer", mask, &bad);
		check_plan("runs_page", mask, &bad);
		check_plan("runs_page", mask | 128, &bad);
	}
	is_int(bad, 0, "the pages' queries use indexes (no scan of runs)");

	pages_cache_clear();
	buf_free(&page);
	store_close(st);
	config_free(cfg);
	text = xasprintf("rm -rf %s", tmpdir);
	if (system(text) != 0)
		tap_diag("cannot remove %s", tmpdir);
	free(text);
	return (tap_done());
}
