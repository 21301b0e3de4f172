/*
 * The non-regression checks against tests/checkapp.py on 127.0.0.1: the
 * seed's "log in, find the name" example from a real config, each way the
 * application misbehaves with its own reason, retries while it warms up,
 * JSON pointers, headers and regexes, cancellation, many steps, and the
 * password masked in every output (results, reasons, excerpts and the log,
 * captured from stderr).  Every handle closed: uv_loop_close() == 0.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "checks.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

/* The password has what form and JSON encodings change: & space ". */
#define PASSWORD      "Tr0ub4dor&3 \"zebre\""
#define PASSWORD_CORE "Tr0ub4dor"
#define TOKEN	      "s3cr3t-t0ken"
#define LOGIN	      "jdupont"

static uv_loop_t	   loop;
static struct http_client *client;
static struct config	  *config;
static pid_t		   app_pid = -1;
static int		   app_port;
static char		   base[64];
static char		   dir[PATH_MAX];
static char		   pass_path[PATH_MAX + 32];
static char		   log_path[PATH_MAX + 32];
static struct buf	   outputs; /* every string produced */
static int		   runs_started, callbacks, callbacks_in_start;
static int64_t		   fake_now = 1795000000000LL;
static size_t		   body_max; /* for the next runs */

/* --- the application ---------------------------------------------------- */

static int
app_start(void)
{
	int	    out[2];
	const char *srcdir, *py;
	char	   *script, line[128];
	FILE	   *f;

	srcdir = getenv("top_srcdir");
	py = getenv("TEST_PYTHON");
	script = xasprintf("%s/tests/checkapp.py",
	    srcdir != NULL ? srcdir : ".");
	if (pipe(out) == -1 || (app_pid = fork()) == -1) {
		free(script);
		return (-1);
	}
	if (app_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execl(py != NULL ? py : "/usr/bin/python3", "python3", script,
		    "--login", LOGIN, "--password-file", pass_path,
		    (char *)NULL);
		_exit(127);
	}
	free(script);
	close(out[1]);
	if ((f = fdopen(out[0], "r")) == NULL)
		return (-1);
	if (fgets(line, sizeof line, f) == NULL ||
	    sscanf(line, "port=%d", &app_port) != 1) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", app_port);
	return (0);
}

static void
app_stop(void)
{
	int status;

	if (app_pid <= 0)
		return;
	kill(app_pid, SIGTERM);
	waitpid(app_pid, &status, 0);
	app_pid = -1;
}

/* A plain call to the application (its control URLs). */
struct plain {
	int   done;
	long  status;
	char *body;
};

static void
plain_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct plain *p = arg;

	p->done = 1;
	p->status = res->status;
	p->body = buf_take(&res->body, NULL);
}

static char *
app_call(const char *method, const char *path, const char *body)
{
	struct http_request req;
	struct plain	    p;
	char		   *url, *cause = NULL;

	memset(&req, 0, sizeof req);
	memset(&p, 0, sizeof p);
	url = xasprintf("%s%s", base, path);
	req.method = method;
	req.url = url;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.timeout_ms = 5000;
	if (http_call_start(client, &req, plain_cb, &p, &cause) == NULL) {
		tap_diag("app call: %s", cause);
		free(cause);
		free(url);
		return (NULL);
	}
	while (!p.done)
		uv_run(&loop, UV_RUN_ONCE);
	free(url);
	return (p.body);
}

static void
app_mode(const char *mode, int n, int delay_ms)
{
	char *body, *r;

	body = xasprintf("{\"mode\": \"%s\", \"n\": %d, \"delay_ms\": %d}",
	    mode, n, delay_ms);
	r = app_call("POST", "/_app/mode", body);
	free(r);
	free(body);
}

static long long
app_stat(const char *name)
{
	char	 *r;
	json_t	 *j;
	long long v = -1;

	if ((r = app_call("GET", "/_app/stats", NULL)) == NULL)
		return (-1);
	if ((j = json_loads(r, 0, NULL)) != NULL) {
		v = json_integer_value(json_object_get(j, name));
		json_decref(j);
	}
	free(r);
	return (v);
}

/* --- the configuration -------------------------------------------------- */

#define SIGN_IN                                                                   \
	"    - name: sign in\n"                                                   \
	"      request:\n"                                                        \
	"        method: POST\n"                                                  \
	"        url: /login\n"                                                   \
	"        form: {login: \"${SMOKE_LOGIN}\", password: \"${file:%1$s}\"}\n" \
	"      expect: {status: [200, 302]}\n"

static const char *config_fmt =
    "public_url: https://deploy.example.com\n"
    "database: /var/lib/shipgate/shipgate.db\n"
    "aws: {region: eu-west-1}\n"
    "users: [{name: alice, email: alice@example.com, groups: [team]}]\n"
    "checks:\n"
    /* The seed's example, with shorter delays. */
    "  login-and-name:\n"
    "    - name: sign-in page\n"
    "      request: {method: GET, url: /login}\n"
    "      expect: {status: 200}\n" SIGN_IN
    "    - name: second page shows the name\n"
    "      request: {method: GET, url: /account}\n"
    "      expect: {status: 200, contains: \"Jean Dupont\"}\n"
    "      retries: {count: 1, delay: 50ms}\n"
    "      timeout: 2s\n"
    /* The same, signing in without following the redirect. */
    "  login-then-name:\n"
    "    - name: sign in\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /login\n"
    "        form: {login: \"${SMOKE_LOGIN}\", password: \"${file:%1$s}\"}\n"
    "        max_redirects: 0\n"
    "      expect: {status: 302, header: Set-Cookie}\n"
    "    - name: second page shows the name\n"
    "      request: {method: GET, url: /account}\n"
    "      expect: {status: 200, contains: \"Jean Dupont\"}\n"
    "      retries: {count: 1, delay: 50ms}\n"
    "      timeout: 1s\n"
    "  warm:\n"
    "    - name: sign-in page\n"
    "      request: {url: /login}\n"
    "      expect: {status: 200}\n"
    "      retries: {count: 5, delay: 30ms}\n"
    "  warm-short:\n"
    "    - name: sign-in page\n"
    "      request: {url: /login}\n"
    "      expect: {status: 200}\n"
    "      retries: {count: 2, delay: 30ms}\n"
    "  api:\n" SIGN_IN "    - name: the name\n"
    "      request: {url: /api/me, headers: {Accept: application/json}}\n"
    "      expect: {json_pointer: /user/name, json_equals: Jean Dupont}\n"
    "    - name: the id\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/id, json_equals: \"42\"}\n"
    "    - name: not an admin\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/admin, json_equals: \"false\"}\n"
    "    - name: a number by value\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/ratio, json_equals: \"0.50\"}\n"
    "    - name: an array item\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/tags/1, json_equals: c~d}\n"
    "    - name: escapes in a pointer\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /odd/a~1b, json_equals: \"1\"}\n"
    "    - name: an empty key\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /odd/m~0n/, json_equals: empty key}\n"
    "    - name: a whole object\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /odd/m~0n,\n"
    "               json_equals: '{\"\": \"empty key\"}'}\n"
    "    - name: a pointer alone\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/tags/0}\n"
    "    - name: regex and header\n"
    "      request: {url: /account}\n"
    "      expect: {regex: \"<h1>Jean [A-Z][a-z]+</h1>\", header: x-user}\n"
    "  api-missing:\n" SIGN_IN "    - name: a missing value\n"
    "      request: {url: /api/me}\n"
    "      expect: {json_pointer: /user/nope}\n"
    "  api-header:\n" SIGN_IN "    - name: a missing header\n"
    "      request: {url: /account}\n"
    "      expect: {header: X-Nope}\n"
    "  api-regex:\n" SIGN_IN "    - name: no match\n"
    "      request: {url: /account}\n"
    "      expect: {regex: \"^Jean$\"}\n"
    "  page-contains:\n"
    "    - name: the sign-in page\n"
    "      request: {url: /login}\n"
    "      expect: {contains: password}\n"
    "  not-json:\n"
    "    - name: a page is not JSON\n"
    "      request: {url: /login}\n"
    "      expect: {json_pointer: /x}\n"
    "  echo-form:\n"
    "    - name: echo\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /echo\n"
    "        form: {login: \"${SMOKE_LOGIN}\", password: \"${file:%1$s}\"}\n"
    "      expect: {contains: nothing like this}\n"
    "  echo-cut:\n"
    "    - name: echo\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /echo\n"
    "        form: {pad: \"%4$s\", password: \"${file:%1$s}\"}\n"
    "      expect: {status: 201}\n"
    "  echo-json:\n"
    "    - name: echo\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /echo\n"
    "        json: '{\"user\": \"x\", \"password\": \"${file:%1$s}\"}'\n"
    "      expect: {contains: nothing like this}\n"
    "  echo-url:\n"
    "    - name: echo\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /echo?token=${SMOKE_TOKEN}\n"
    "        headers: {X-Token: \"${SMOKE_TOKEN}\"}\n"
    "      expect: {status: 201}\n"
    "  no-session:\n"
    "    - name: the second page without signing in\n"
    "      request: {url: /account, max_redirects: 0}\n"
    "      expect: {status: 302, header: Location}\n"
    "  no-env:\n"
    "    - name: sign in\n"
    "      request:\n"
    "        method: POST\n"
    "        url: /login\n"
    "        form: {login: \"${SMOKE_UNSET_VARIABLE}\"}\n"
    "    - name: never run\n"
    "      request: {url: /login}\n"
    "  bad-regex:\n"
    "    - name: a regex broken after loading\n"
    "      request: {url: /login}\n"
    "      expect: {regex: \"form\"}\n"
    "    - name: never run\n"
    "      request: {url: /login}\n"
    "  other-host:\n"
    "    - name: elsewhere\n"
    "      request: {url: \"http://localhost:%2$d/login\"}\n"
    "  same-host:\n"
    "    - name: an absolute URL\n"
    "      request: {url: \"http://127.0.0.1:%2$d/login\"}\n"
    "  slow:\n"
    "    - name: slow page\n"
    "      request: {url: /account}\n"
    "      timeout: 10s\n"
    "  warm-long-delay:\n"
    "    - name: sign-in page\n"
    "      request: {url: /login}\n"
    "      retries: {count: 3, delay: 60s}\n"
    "%3$s"
    "apps:\n"
    "  - name: billing\n"
    "    source: {bucket: releases-billing}\n"
    "    environments:\n"
    "      - {name: int, account: \"111111111111\", stack: billing-int,\n"
    "         role_arn: \"arn:aws:iam::111111111111:role/d\",\n"
    "         base_url: \"http://127.0.0.1:%2$d\",\n"
    "         approvers: [team], checks: [login-and-name]}\n";

#define MANY_STEPS 40

static int
config_setup(void)
{
	struct config_errors e;
	struct buf	     many;
	char		    *text, pad[282];
	size_t		     i;

	/* "pad=" 281 bytes "&password=": the password straddles the cut of
	   the excerpt (300 bytes). */
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	buf_init(&many, 1 << 20);
	buf_appends(&many, "  many:\n");
	for (i = 0; i < MANY_STEPS; i++)
		buf_printf(&many,
		    "    - name: step %zu\n"
		    "      request: {url: \"/login?n=%zu\"}\n"
		    "      expect: {status: 200, contains: password}\n",
		    i, i);
		/* The text is ours: a constant with positional arguments. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	text = xasprintf(config_fmt, pass_path, app_port, many.data, pad);
#pragma GCC diagnostic pop
	buf_free(&many);
	config = config_load_buffer("test.yaml", text, strlen(text), &e);
	free(text);
	for (i = 0; i < e.n; i++)
		tap_diag("config: %s", e.lines[i]);
	config_errors_free(&e);
	return (config != NULL ? 0 : -1);
}

/* --- running checks ----------------------------------------------------- */

struct outcome {
	int		      ndone;
	int		      in_start;
	int		      called_in_start;
	struct checks_result *r;
};

static void
record(const char *what, const char *s)
{
	if (s == NULL)
		return;
	buf_printf(&outputs, "%s: %s\n", what, s);
}

/* Every string of a result goes to `outputs`, for the grep at the end. */
static void
record_result(const struct checks_result *r)
{
	const struct checks_step_result *sr;
	char				*s;
	size_t				 i, j;

	s = checks_result_json(r);
	record("json", s);
	free(s);
	s = checks_result_summary(r);
	record("summary", s);
	free(s);
	for (i = 0; i < r->nchecks; i++)
		for (j = 0; j < r->checks[i].nsteps; j++) {
			sr = &r->checks[i].steps[j];
			record("url", sr->url);
			record("reason", sr->reason);
			record("excerpt", sr->excerpt);
		}
}

static void
done_cb(struct checks_result *r, void *arg)
{
	struct outcome *o = arg;

	o->ndone++;
	callbacks++;
	if (o->in_start) {
		o->called_in_start = 1;
		callbacks_in_start++;
	}
	record_result(r);
	if (o->r != NULL)
		checks_result_free(r);
	else
		o->r = r;
}

static int64_t
clock_cb(void *arg)
{
	return (fake_now += 10);
}

static struct checks_run *
start(const char **names, size_t n, struct outcome *o)
{
	const struct config_check *list[16];
	struct checks_options	   opts;
	struct checks_run	  *run;
	char			  *cause = NULL;
	size_t			   i;

	memset(o, 0, sizeof *o);
	memset(&opts, 0, sizeof opts);
	opts.log_fields = "app=billing run=7 env=int";
	opts.now_ms = clock_cb;
	opts.body_max = body_max;
	for (i = 0; i < n; i++)
		if ((list[i] = config_find_check(config, names[i])) == NULL)
			fatalx("no check %s", names[i]);
	o->in_start = 1;
	run = checks_run(&loop, client, base, list, n, &opts, done_cb, o,
	    &cause);
	o->in_start = 0;
	if (run == NULL) {
		tap_diag("checks_run: %s", cause);
		free(cause);
	} else
		runs_started++;
	return (run);
}

static void
wait_done(struct outcome *o)
{
	while (o->ndone == 0)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Runs one check to its end; the result is the caller's. */
static struct checks_result *
run1(const char *name)
{
	struct outcome o;

	if (start(&name, 1, &o) == NULL)
		return (NULL);
	wait_done(&o);
	return (o.r);
}

static const struct checks_step_result *
step(const struct checks_result *r, size_t c, size_t s)
{
	static struct checks_step_result none;

	if (r == NULL || c >= r->nchecks || s >= r->checks[c].nsteps)
		return (&none);
	return (&r->checks[c].steps[s]);
}

static const char *
str(const char *s)
{
	return (s != NULL ? s : "(null)");
}

/* --- the cases ---------------------------------------------------------- */

static void
test_seed(void)
{
	struct checks_result *r;
	json_t		     *j;
	char		     *s, want[128];
	long long	      logins;

	app_mode("normal", 0, 0);
	r = run1("login-and-name");
	ok(r != NULL && r->passed && !r->cancelled, "seed: login-and-name "
						    "passes");
	if (r == NULL)
		return;
	is_int(r->nchecks, 1, "seed: one check");
	is_int(r->checks[0].nsteps, 3, "seed: three steps");
	is_str(checks_step_state_name(step(r, 0, 0)->state), "passed",
	    "seed: the sign-in page");
	is_int(step(r, 0, 0)->status, 200, "seed: the sign-in page is 200");
	is_str(checks_step_state_name(step(r, 0, 1)->state), "passed",
	    "seed: sign in");
	is_int(step(r, 0, 1)->status, 200,
	    "seed: sign in followed the "
	    "redirect to the account page");
	is_str(checks_step_state_name(step(r, 0, 2)->state), "passed",
	    "seed: the second page shows the name (session cookie kept)");
	is_int(step(r, 0, 2)->attempts, 1, "seed: one attempt");
	ok(step(r, 0, 2)->excerpt != NULL &&
		strstr(step(r, 0, 2)->excerpt, "Jean Dupont") != NULL,
	    "seed: the excerpt shows the page");
	ok(step(r, 0, 2)->reason == NULL, "seed: no reason when passed");
	snprintf(want, sizeof want, "%s/login", base);
	is_str(step(r, 0, 0)->url, want,
	    "seed: the URL is base_url + the "
	    "path");
	is_str(step(r, 0, 1)->method, "POST", "seed: the method");
	ok(step(r, 0, 0)->started_at > 1795000000000LL &&
		step(r, 0, 0)->finished_at > step(r, 0, 0)->started_at &&
		step(r, 0, 1)->started_at > step(r, 0, 0)->finished_at,
	    "seed: started_at and finished_at from the given clock");
	logins = app_stat("logins");
	is_int(logins, 1, "seed: the application saw one login");
	s = checks_result_json(r);
	j = json_loads(s, 0, NULL);
	ok(j != NULL && json_is_true(json_object_get(j, "passed")) &&
		json_array_size(json_object_get(j, "checks")) == 1,
	    "seed: the results as JSON");
	json_decref(j);
	free(s);
	s = checks_result_summary(r);
	is_str(s, "the check passed", "seed: summary");
	free(s);
	checks_result_free(r);
}

static void
expect_failure(const char *mode, int n, int delay, const char *check, size_t si,
    const char *reason, int attempts)
{
	struct checks_result		*r;
	const struct checks_step_result *sr;
	char				*s;
	size_t				 i;

	app_mode(mode, n, delay);
	r = run1(check);
	ok(r != NULL && !r->passed && !r->checks[0].passed, "%s/%s: fails",
	    mode, check);
	if (r == NULL)
		return;
	sr = step(r, 0, si);
	is_str(checks_step_state_name(sr->state), "failed",
	    "%s/%s: step %zu "
	    "failed",
	    mode, check, si);
	ok(sr->reason != NULL &&
		strncmp(sr->reason, reason, strlen(reason)) == 0,
	    "%s/%s: reason \"%s\"", mode, check, reason);
	if (sr->reason == NULL ||
	    strncmp(sr->reason, reason, strlen(reason)) != 0)
		tap_diag("got: %s", str(sr->reason));
	if (attempts >= 0)
		is_int(sr->attempts, attempts, "%s/%s: attempts", mode, check);
	for (i = si + 1; i < r->checks[0].nsteps; i++) {
		is_str(checks_step_state_name(step(r, 0, i)->state), "skipped",
		    "%s/%s: step %zu skipped", mode, check, i);
		ok(step(r, 0, i)->started_at == 0 &&
			step(r, 0, i)->attempts == 0,
		    "%s/%s: step %zu not run", mode, check, i);
	}
	s = checks_result_summary(r);
	ok(strstr(s, reason) != NULL, "%s/%s: summary names the reason", mode,
	    check);
	free(s);
	checks_result_free(r);
}

static void
test_misbehaviours(void)
{
	struct checks_result *r;

	expect_failure("wrong-name", 0, 0, "login-and-name", 2,
	    "body does not contain \"Jean Dupont\"", 2);
	/* Signing in follows the redirect to the second page. */
	expect_failure("error", 0, 0, "login-and-name", 1,
	    "expected status 200 or 302, got 500", 1);
	expect_failure("loop", 0, 0, "login-and-name", 1,
	    "too many redirects (more than 5): a redirect loop?", 1);
	/* Signing in alone, then the second page. */
	expect_failure("error", 0, 0, "login-then-name", 1,
	    "expected status 200, got 500", 2);
	expect_failure("slow", 0, 2500, "login-then-name", 1,
	    "no answer within 1000 ms", 2);
	expect_failure("loop", 0, 0, "login-then-name", 1,
	    "too many redirects (more than 5): a redirect loop?", 2);
	expect_failure("warmup", 10, 0, "warm-short", 0,
	    "expected status 200, got 503", 3);
	expect_failure("wrong-name", 0, 0, "api", 1,
	    "JSON /user/name is \"Jean Martin\", expected \"Jean Dupont\"", 1);
	expect_failure("normal", 0, 0, "api-missing", 1,
	    "JSON /user/nope not found", 1);
	expect_failure("normal", 0, 0, "api-header", 1,
	    "no X-Nope header in the answer", 1);
	expect_failure("normal", 0, 0, "api-regex", 1,
	    "body does not match the regex \"^Jean$\"", 1);
	expect_failure("normal", 0, 0, "not-json", 0,
	    "body is not JSON (line 1, column 1)", 1);
	expect_failure("normal", 0, 0, "no-env", 0,
	    "environment variable SMOKE_UNSET_VARIABLE is not set", 0);
	expect_failure("normal", 0, 0, "other-host", 0,
	    "url http://localhost:", 0);

	/* The error page has control characters: replaced. */
	app_mode("error", 0, 0);
	r = run1("login-then-name");
	ok(r != NULL && step(r, 0, 1)->excerpt != NULL &&
		strchr(step(r, 0, 1)->excerpt, '\001') == NULL &&
		strchr(step(r, 0, 1)->excerpt, '\n') == NULL &&
		strstr(step(r, 0, 1)->excerpt, "Internal error") != NULL,
	    "error: the excerpt is clean text");
	tap_diag("excerpt: %s", str(step(r, 0, 1)->excerpt));
	checks_result_free(r);
}

static void
test_passes(void)
{
	struct checks_result *r;
	size_t		      i;
	int		      all;

	app_mode("normal", 0, 0);
	r = run1("api");
	ok(r != NULL && r->passed, "api: JSON pointers, a number by value, "
				   "an array item, regex and header");
	for (i = 0; r != NULL && i < r->checks[0].nsteps; i++)
		if (step(r, 0, i)->state != CHECKS_STEP_PASSED)
			tap_diag("step %zu: %s", i, str(step(r, 0, i)->reason));
	checks_result_free(r);

	r = run1("no-session");
	ok(r != NULL && r->passed, "no-session: redirects not followed with "
				   "max_redirects 0, 302 expected");
	checks_result_free(r);

	r = run1("same-host");
	ok(r != NULL && r->passed, "same-host: an absolute URL on base_url's "
				   "host");
	checks_result_free(r);

	r = run1("page-contains");
	ok(r != NULL && r->passed, "page-contains: passes");
	checks_result_free(r);
	body_max = 32;
	r = run1("page-contains");
	is_str(str(step(r, 0, 0)->reason),
	    "body does not contain \"password\" "
	    "(in the part kept)",
	    "page-contains: only body_max bytes are "
	    "kept and matched");
	ok(step(r, 0, 0)->excerpt != NULL &&
		strlen(step(r, 0, 0)->excerpt) == 32,
	    "page-contains: the "
	    "excerpt is what was kept");
	checks_result_free(r);
	body_max = 0;

	r = run1("many");
	ok(r != NULL && r->passed, "many: %d steps pass", MANY_STEPS);
	for (all = 1, i = 0; r != NULL && i < r->checks[0].nsteps; i++)
		if (step(r, 0, i)->state != CHECKS_STEP_PASSED ||
		    step(r, 0, i)->attempts != 1)
			all = 0;
	ok(r != NULL && r->checks[0].nsteps == MANY_STEPS && all,
	    "many: each step once");
	checks_result_free(r);
}

static void
test_warmup(void)
{
	struct checks_result *r;

	app_mode("warmup", 3, 0);
	r = run1("warm");
	ok(r != NULL && r->passed, "warmup: passes thanks to retries");
	is_int(step(r, 0, 0)->attempts, 4,
	    "warmup: 4 attempts (3 answered "
	    "503)");
	ok(step(r, 0, 0)->reason == NULL, "warmup: no reason left once "
					  "passed");
	ok(step(r, 0, 0)->total_ms >= step(r, 0, 0)->ms,
	    "warmup: total "
	    "time covers the last attempt");
	checks_result_free(r);
}

static void
test_several(void)
{
	const char    *names[] = { "login-and-name", "no-session", "api-regex",
		   "warm" };
	struct outcome o;
	char	      *s;

	app_mode("normal", 0, 0);
	start(names, 4, &o);
	wait_done(&o);
	ok(o.r != NULL && !o.r->passed, "several: one failed check fails "
					"the run");
	if (o.r == NULL)
		return;
	ok(o.r->checks[0].passed, "several: the first check passes");
	ok(o.r->checks[1].passed, "several: the second check has its own "
				  "cookie jar (no session)");
	ok(!o.r->checks[2].passed, "several: the third fails");
	ok(o.r->checks[3].passed, "several: a failed check does not stop "
				  "the next");
	s = checks_result_summary(o.r);
	is_str(s,
	    "check api-regex, step \"no match\": body does not match "
	    "the regex \"^Jean$\"",
	    "several: summary names the first failure");
	free(s);
	checks_result_free(o.r);
}

static void
test_bad_regex(void)
{
	struct config_check  *c;
	struct checks_result *r;
	size_t		      i;

	for (c = NULL, i = 0; i < config->nchecks; i++)
		if (strcmp(config->checks[i].name, "bad-regex") == 0)
			c = &config->checks[i];
	if (c == NULL) {
		ok(0, "bad-regex: found");
		return;
	}
	free(c->steps[0].expect_regex);
	c->steps[0].expect_regex = xstrdup("(unclosed");
	r = run1("bad-regex");
	ok(r != NULL && !r->passed, "bad regex: the check fails");
	ok(step(r, 0, 0)->reason != NULL &&
		strstr(step(r, 0, 0)->reason,
		    "regex \"(unclosed\" is not a valid extended regular expression") !=
		    NULL,
	    "bad regex: a clear reason");
	tap_diag("%s", str(step(r, 0, 0)->reason));
	is_int(step(r, 0, 0)->attempts, 0, "bad regex: no request made");
	is_str(checks_step_state_name(step(r, 0, 1)->state), "skipped",
	    "bad regex: the next step skipped");
	checks_result_free(r);
}

static void
test_masking(void)
{
	struct checks_result *r;
	const char	     *e;
	char		      want[128];

	app_mode("normal", 0, 0);
	r = run1("echo-form");
	e = str(step(r, 0, 0)->excerpt);
	is_str(e, "login=****&password=****",
	    "masking: the form echoed, "
	    "both values masked");
	checks_result_free(r);

	r = run1("echo-cut");
	e = str(step(r, 0, 0)->excerpt);
	ok(strlen(e) <= CHECKS_EXCERPT_MAX && strstr(e, "Tr0") == NULL &&
		strlen(e) > 14 &&
		strcmp(e + strlen(e) - 14, "&password=****") == 0,
	    "masking: a password across the excerpt's cut is masked, not "
	    "cut in half");
	tap_diag("excerpt ends: %s", strlen(e) > 20 ? e + strlen(e) - 20 : e);
	checks_result_free(r);

	r = run1("echo-json");
	e = str(step(r, 0, 0)->excerpt);
	is_str(e, "{\"user\": \"x\", \"password\": \"****\"}",
	    "masking: the "
	    "JSON body echoed, the JSON-escaped value masked");
	checks_result_free(r);

	r = run1("echo-url");
	snprintf(want, sizeof want, "%s/echo?token=****", base);
	is_str(str(step(r, 0, 0)->url), want,
	    "masking: the token masked in "
	    "the URL");
	is_str(str(step(r, 0, 0)->reason), "expected status 201, got 200",
	    "masking: status list of one");
	checks_result_free(r);
}

static void
cancel_timer_cb(uv_timer_t *t)
{
	checks_cancel(t->data);
	checks_cancel(t->data); /* twice is fine */
}

static void
close_nothing_cb(uv_handle_t *h)
{
}

static void
test_cancel(void)
{
	const char *slow = "slow", *warm = "warm-long-delay",
		   *two[] = { "login-and-name", "api" };
	struct checks_run *run;
	struct outcome	   o;
	uv_timer_t	   t;
	uint64_t	   t0;

	/* Cancelled right away: nothing runs, the callback comes later. */
	app_mode("normal", 0, 0);
	run = start(two, 2, &o);
	checks_cancel(run);
	is_int(o.ndone, 0,
	    "cancel at once: no callback from inside "
	    "checks_cancel");
	wait_done(&o);
	is_int(o.ndone, 1, "cancel at once: one callback");
	ok(o.r != NULL && o.r->cancelled && !o.r->passed,
	    "cancel at once: "
	    "cancelled, not passed");
	is_str(checks_step_state_name(step(o.r, 0, 0)->state), "skipped",
	    "cancel at once: nothing ran");
	ok(o.r != NULL && !o.r->checks[1].passed, "cancel at once: the "
						  "second check did not pass");
	checks_result_free(o.r);

	/* During a request (the page sleeps 3 s). */
	app_mode("slow", 0, 3000);
	uv_timer_init(&loop, &t);
	run = start(&slow, 1, &o);
	t.data = run;
	t0 = uv_now(&loop);
	uv_timer_start(&t, cancel_timer_cb, 200, 0);
	wait_done(&o);
	ok(o.r != NULL && o.r->cancelled, "cancel during a request: "
					  "cancelled");
	is_str(checks_step_state_name(step(o.r, 0, 0)->state), "cancelled",
	    "cancel during a request: the step is cancelled");
	is_int(step(o.r, 0, 0)->attempts, 1,
	    "cancel during a request: one "
	    "attempt");
	tap_diag("cancelled after %llu ms",
	    (unsigned long long)(uv_now(&loop) - t0));
	checks_result_free(o.r);

	/* During the delay between attempts. */
	app_mode("warmup", 5, 0);
	run = start(&warm, 1, &o);
	t.data = run;
	uv_timer_start(&t, cancel_timer_cb, 200, 0);
	wait_done(&o);
	ok(o.r != NULL && o.r->cancelled, "cancel during a retry delay: "
					  "cancelled");
	is_str(checks_step_state_name(step(o.r, 0, 0)->state), "cancelled",
	    "cancel during a retry delay: the step is cancelled");
	is_int(step(o.r, 0, 0)->attempts, 1,
	    "cancel during a retry delay: "
	    "one attempt made");
	checks_result_free(o.r);
	uv_close((uv_handle_t *)&t, close_nothing_cb);
	app_mode("normal", 0, 0);
}

static void
test_api(void)
{
	struct outcome	   o;
	struct checks_run *run;
	char		  *cause = NULL;

	/* No base_url: refused synchronously, no callback. */
	memset(&o, 0, sizeof o);
	run = checks_run(&loop, client, NULL, NULL, 0, NULL, done_cb, &o,
	    &cause);
	ok(run == NULL && cause != NULL, "no base_url: refused (%s)",
	    str(cause));
	free(cause);
	cause = NULL;
	run = checks_run(&loop, client, "ftp://x/", NULL, 0, NULL, done_cb, &o,
	    &cause);
	ok(run == NULL && cause != NULL, "an ftp base_url: refused");
	free(cause);

	/* No checks: passes, later. */
	o.in_start = 1;
	run = checks_run(&loop, client, base, NULL, 0, NULL, done_cb, &o, NULL);
	o.in_start = 0;
	ok(run != NULL && o.ndone == 0, "no checks: started, no callback "
					"yet");
	wait_done(&o);
	ok(o.r != NULL && o.r->passed && !o.called_in_start, "no checks: "
							     "passes");
	checks_result_free(o.r);
}

/* Nothing produced holds the password or the token, in any encoding. */
static void
test_grep(void)
{
	struct buf log;
	char	   tmp[4096];
	ssize_t	   n;
	int	   fd;

	ok(outputs.len > 0 && strstr(outputs.data, "****") != NULL,
	    "grep: results were recorded, with masks");
	ok(strstr(outputs.data, PASSWORD_CORE) == NULL,
	    "grep: no password "
	    "in results, JSON, reasons, excerpts, URLs");
	ok(strstr(outputs.data, TOKEN) == NULL, "grep: no token in results");

	buf_init(&log, 64 << 20);
	if ((fd = open(log_path, O_RDONLY)) != -1) {
		while ((n = read(fd, tmp, sizeof tmp)) > 0)
			buf_append(&log, tmp, n);
		close(fd);
	}
	buf_appends(&log, "");
	ok(strstr(log.data, "check step passed check=login-and-name") != NULL &&
		strstr(log.data, "app=billing run=7 env=int") != NULL &&
		strstr(log.data, "trying again") != NULL,
	    "grep: the log was "
	    "captured (%zu bytes)",
	    log.len);
	ok(strstr(log.data, PASSWORD_CORE) == NULL,
	    "grep: no password in "
	    "the log (debug level, every category)");
	ok(strstr(log.data, TOKEN) == NULL, "grep: no token in the log");
	buf_free(&log);
}

static int closed;

static void
client_closed_cb(void *arg)
{
	closed = 1;
}

int
main(void)
{
	int fd, saved_stderr;

	buf_init(&outputs, 64 << 20);
	snprintf(dir, sizeof dir, "/tmp/test-checks.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		tap_bail("mkdtemp: %s", strerror(errno));
	}
	snprintf(pass_path, sizeof pass_path, "%s/smoke.pass", dir);
	snprintf(log_path, sizeof log_path, "%s/stderr.log", dir);
	if ((fd = open(pass_path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) == -1 ||
	    write(fd, PASSWORD "\n", strlen(PASSWORD) + 1) == -1)
		fatal("%s", pass_path);
	close(fd);
	setenv("SMOKE_LOGIN", LOGIN, 1);
	setenv("SMOKE_TOKEN", TOKEN, 1);
	unsetenv("SMOKE_UNSET_VARIABLE");
	unsetenv("JOURNAL_STREAM");
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");

	/* The log goes to a file, read at the end. */
	fflush(stderr);
	saved_stderr = dup(2);
	if ((fd = open(log_path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) == -1)
		fatal("%s", log_path);
	dup2(fd, 2);
	close(fd);
	log_init("test-checks");
	log_set_level(LOG_LEVEL_DEBUG);
	log_set_debug(LOG_CAT_ALL);

	if (app_start() != 0) {
		dup2(saved_stderr, 2);
		tap_bail("cannot start tests/checkapp.py");
	}
	uv_loop_init(&loop);
	client = http_client_new(&loop);
	if (config_setup() != 0) {
		ok(0, "the test configuration loads");
		app_stop();
		return (tap_done());
	}

	test_api();
	test_seed();
	test_misbehaviours();
	test_passes();
	test_warmup();
	test_several();
	test_bad_regex();
	test_masking();
	test_cancel();

	http_client_close(client, client_closed_cb, NULL);
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(callbacks, runs_started + 1,
	    "one callback per run (and the "
	    "run started without the helper)");
	is_int(callbacks_in_start, 0, "no callback from inside checks_run");
	is_int(uv_loop_close(&loop), 0,
	    "every handle closed: "
	    "uv_loop_close() == 0");
	app_stop();
	config_free(config);

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	test_grep();

	buf_free(&outputs);
	unlink(pass_path);
	unlink(log_path);
	rmdir(dir);
	return (tap_done());
}
