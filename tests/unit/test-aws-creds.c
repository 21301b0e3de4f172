/*
 * The default credentials chain against the fake AWS endpoint and
 * tests/unit/imds-test-server.py: environment keys, profile files (static
 * keys, role_arn + source_profile, role chains, credential_source
 * Ec2InstanceMetadata), IMDSv2 (token required, no proxy, refresh near
 * expiry shared by concurrent callers), and the errors when no source has
 * credentials.  Every handle is closed and uv_loop_close() must succeed.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "aws-client.h"
#include "aws-creds-chain.h"
#include "aws-creds.h"
#include "aws-sts.h"
#include "fakeaws.h"
#include "http.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

#define ROLE_ARN  "arn:aws:iam::111111111111:role/shipgate-deployer"
#define TOOLS_ARN "arn:aws:iam::000000000000:user/shipgate-test"

static uv_loop_t	   loop;
static struct http_client *http;
static struct fakeaws	   fake;
static struct aws_client  *client; /* STS for the chain's roles */
static struct aws_creds	  *tools;
static char		   dir[64];
static char		   imds_url[64];
static pid_t		   imds_pid = -1;
static char		   fake_endpoint[64]; /* what the client uses */
static int		   imds_stdin = -1;

static const char *
endpoint_cb(const char *service, void *arg)
{
	(void)service;
	(void)arg;
	return (fake_endpoint);
}

struct got {
	int   n;
	int   error;
	char *message;
	char *arn;
};

static void
identity_cb(const struct aws_reply *r, struct sts_caller_identity *id,
    void *arg)
{
	struct got *g = arg;

	g->n++;
	g->error = r->error;
	free(g->message);
	g->message = r->message != NULL ? xstrdup(r->message) : NULL;
	free(g->arn);
	g->arn = id != NULL ? xstrdup(id->arn) : NULL;
	sts_caller_identity_free(id);
}

static void
got_clear(struct got *g)
{
	free(g->message);
	free(g->arn);
	memset(g, 0, sizeof *g);
}

static void
wait_for(struct got *g, int n)
{
	while (g->n < n)
		uv_run(&loop, UV_RUN_ONCE);
}

/* GetCallerIdentity with the provider; the ARN or NULL. */
static const char *
whoami(struct aws_creds *creds, struct got *g)
{
	char *cause = NULL;

	got_clear(g);
	if (sts_get_caller_identity(client, creds, NULL, identity_cb, g,
		&cause) == NULL) {
		tap_diag("start: %s", cause);
		free(cause);
		return (NULL);
	}
	wait_for(g, 1);
	if (g->error != AWS_OK)
		tap_diag("whoami: %s", g->message);
	return (g->arn);
}

static void
write_file(const char *name, const char *text)
{
	char  path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		tap_diag("%s: %s", path, strerror(errno));
		return;
	}
	fputs(text, fp);
	fclose(fp);
}

static void
set_path_env(const char *var, const char *name)
{
	char path[128];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	setenv(var, path, 1);
}

static void
clear_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	set_path_env("AWS_SHARED_CREDENTIALS_FILE", "none-credentials");
	set_path_env("AWS_CONFIG_FILE", "none-config");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds_url, 1);
}

static struct aws_creds *
chain(char **cause)
{
	struct aws_creds_chain_options o;

	memset(&o, 0, sizeof o);
	o.loop = &loop;
	o.http = http;
	o.sts_client = client;
	o.session_name = "shipgate-test";
	o.imds_timeout_ms = 2000;
	*cause = NULL;
	return (aws_creds_chain_new(&o, cause));
}

/* ------------------------------------------------------------- IMDS */

static int
imds_start(void)
{
	const char *srcdir = getenv("top_srcdir");
	char	    script[4096], creds[128], line[64];
	int	    out[2], in[2];
	ssize_t	    n;
	size_t	    got = 0;

	snprintf(script, sizeof script, "%s/tests/unit/imds-test-server.py",
	    srcdir != NULL ? srcdir : ".");
	snprintf(creds, sizeof creds, "%s/imds-creds.json", dir);
	if (pipe(out) == -1 || pipe(in) == -1)
		return (-1);
	if ((imds_pid = fork()) == -1)
		return (-1);
	if (imds_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, creds,
		    "shipgate-host", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	imds_stdin = in[1];
	while (
	    got < sizeof line - 1 && (n = read(out[0], line + got, 1)) == 1) {
		if (line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	close(out[0]);
	if (strncmp(line, "port=", 5) != 0)
		return (-1);
	snprintf(imds_url, sizeof imds_url, "http://127.0.0.1:%d",
	    atoi(line + 5));
	return (0);
}

static void
imds_stop(void)
{
	if (imds_pid > 0) {
		close(imds_stdin);
		kill(imds_pid, SIGTERM);
		waitpid(imds_pid, NULL, 0);
		imds_pid = -1;
	}
}

/* "tokens=N creds=N refused=N" from the stand-in. */
static void
imds_stats(int *tokens, int *creds, int *refused)
{
	struct fakeaws	     f;
	struct fakeaws_reply r;

	*tokens = *creds = *refused = -1;
	memset(&f, 0, sizeof f);
	snprintf(f.url, sizeof f.url, "%s", imds_url);
	if (fakeaws_control(&f, "GET", "/_stats", NULL, &r) == 200 &&
	    sscanf(r.body, "tokens=%d creds=%d refused=%d", tokens, creds,
		refused) != 3)
		*tokens = -1;
	free(r.body);
}

struct raw {
	int  done;
	long status;
};

static void
raw_done_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct raw *r = arg;

	(void)call;
	r->done = 1;
	r->status = res->status;
}

struct assumed {
	int			 n;
	struct sts_assumed_role *r;
};

static void
assumed_cb(const struct aws_reply *reply, struct sts_assumed_role *r, void *arg)
{
	struct assumed *a = arg;

	if (reply->error != AWS_OK)
		tap_diag("assume: %s", reply->message);
	a->n++;
	a->r = r;
}

#define HOST_ARN                                  \
	"arn:aws:sts::000000000000:assumed-role/" \
	"shipgate-host/i-0123456789abcdef0"

/*
 * The instance's credentials: temporary keys of the instance role from
 * STS, said to expire in expires_in_s (the keys themselves last 1 h).
 */
static int
imds_write_creds(long expires_in_s)
{
	struct sts_assume_role_params p;
	struct assumed		      a = { 0, NULL };
	char			     *cause = NULL, *json, stamp[32];
	time_t			      exp;

	memset(&p, 0, sizeof p);
	p.role_arn = "arn:aws:iam::000000000000:role/shipgate-host";
	p.session_name = "i-0123456789abcdef0";
	p.creds = tools;
	if (sts_assume_role(client, &p, assumed_cb, &a, &cause) == NULL) {
		tap_diag("assume: %s", cause);
		free(cause);
		return (-1);
	}
	while (a.n == 0)
		uv_run(&loop, UV_RUN_ONCE);
	if (a.r == NULL)
		return (-1);
	exp = time(NULL) + expires_in_s;
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&exp));
	json =
	    xasprintf("{\"Code\": \"Success\", \"LastUpdated\": "
		      "\"2026-01-01T00:00:00Z\", \"Type\": \"AWS-HMAC\", "
		      "\"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", "
		      "\"Token\": \"%s\", \"Expiration\": \"%s\"}",
		a.r->creds.access_key_id, a.r->creds.secret_access_key,
		a.r->creds.session_token, stamp);
	write_file("imds-creds.json", json);
	freezero_str(json);
	sts_assumed_role_free(a.r);
	return (0);
}

/* -------------------------------------------------------------- tests */

static void
test_environment(void)
{
	struct aws_creds *c;
	struct got	  g = { 0 };
	char		 *cause;

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", FAKEAWS_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", FAKEAWS_SECRET_KEY, 1);
	/* A profile that would work too: the environment comes first. */
	write_file("credentials", "[default]\naws_access_key_id = AKIAOTHER"
				  "\naws_secret_access_key = other\n");
	set_path_env("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	c = chain(&cause);
	ok(c != NULL, "env: chain made");
	if (c == NULL)
		return;
	is_str(aws_creds_source(c), "environment", "env: source");
	is_str(whoami(c, &g), TOOLS_ARN,
	    "env: GetCallerIdentity with the "
	    "environment's keys");
	aws_creds_free(c);

	/* Only one of the two: not the environment. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	c = chain(&cause);
	ok(c != NULL && strcmp(aws_creds_source(c), "profile default") == 0,
	    "env: a key id without a secret is skipped");
	aws_creds_free(c);
	got_clear(&g);
}

static void
test_profiles(void)
{
	struct aws_creds *c;
	struct got	  g = { 0 };
	char		 *cause;

	clear_env();
	write_file("credentials",
	    "[default]\naws_access_key_id = " FAKEAWS_ACCESS_KEY_ID
	    "\naws_secret_access_key = " FAKEAWS_SECRET_KEY
	    "\n\n[broken]\naws_access_key_id = AKIAX\n");
	write_file("config",
	    "[default]\nregion = eu-west-1\n\n"
	    "[profile deploy]\nrole_arn = " ROLE_ARN "\n"
	    "source_profile = default\n"
	    "role_session_name = shipgate-billing-stg\n\n"
	    "[profile chained]\nrole_arn = "
	    "arn:aws:iam::222222222222:role/shipgate-deployer\n"
	    "source_profile = deploy\n\n"
	    "[profile ec2]\nrole_arn = " ROLE_ARN "\n"
	    "credential_source = Ec2InstanceMetadata\n\n"
	    "[profile fromenv]\nrole_arn = " ROLE_ARN "\n"
	    "credential_source = Environment\n");
	set_path_env("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	set_path_env("AWS_CONFIG_FILE", "config");

	c = chain(&cause);
	ok(c != NULL && strcmp(aws_creds_source(c), "profile default") == 0,
	    "profile: default from the credentials file");
	is_str(whoami(c, &g), TOOLS_ARN, "profile: default's keys work");
	aws_creds_free(c);

	setenv("AWS_PROFILE", "deploy", 1);
	c = chain(&cause);
	ok(c != NULL && strcmp(aws_creds_source(c),
			    "profile deploy role " ROLE_ARN) == 0,
	    "profile: role_arn + source_profile: %s",
	    c != NULL ? aws_creds_source(c) : cause);
	is_str(whoami(c, &g),
	    "arn:aws:sts::111111111111:assumed-role/"
	    "shipgate-deployer/shipgate-billing-stg",
	    "profile: the role is assumed through STS");
	aws_creds_free(c);

	setenv("AWS_PROFILE", "chained", 1);
	c = chain(&cause);
	is_str(whoami(c, &g),
	    "arn:aws:sts::222222222222:assumed-role/"
	    "shipgate-deployer/shipgate-test",
	    "profile: a chain of two roles (the default session name)");
	aws_creds_free(c);

	setenv("AWS_PROFILE", "fromenv", 1);
	c = chain(&cause);
	ok(c == NULL && cause != NULL && strstr(cause, "Environment") != NULL,
	    "profile: credential_source Environment without the "
	    "variables: %s",
	    cause != NULL ? cause : "");
	free(cause);

	setenv("AWS_PROFILE", "broken", 1);
	c = chain(&cause);
	ok(c == NULL && cause != NULL && strstr(cause, "broken") != NULL,
	    "profile: an incomplete profile is an error: %s",
	    cause != NULL ? cause : "");
	free(cause);

	setenv("AWS_PROFILE", "missing", 1);
	c = chain(&cause);
	ok(c == NULL && cause != NULL && strstr(cause, "missing") != NULL,
	    "profile: a named profile that is absent is an error: %s",
	    cause != NULL ? cause : "");
	free(cause);
	unsetenv("AWS_PROFILE");
	got_clear(&g);
}

static void
test_imds(void)
{
	struct aws_creds   *c;
	struct got	    g = { 0 }, many[3];
	struct http_request req;
	struct raw	    raw = { 0, 0 };
	const char	   *hdr[] = { NULL };
	char		   *cause, *url;
	int		    t0, c0, r0, t1, c1, r1, i, good;

	clear_env();
	imds_write_creds(6 * 3600);

	/* IMDSv2: a GET without a token is refused. */
	memset(&req, 0, sizeof req);
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/",
	    imds_url);
	req.url = url;
	req.headers = hdr;
	req.flags = HTTP_F_NOPROXY;
	http_call_start(http, &req, raw_done_cb, &raw, NULL);
	while (!raw.done)
		uv_run(&loop, UV_RUN_ONCE);
	free(url);
	is_int(raw.status, 401,
	    "imds: the stand-in refuses a GET without "
	    "a token");

	/*
	 * A proxy in the environment must not be used for instance
	 * metadata (127.0.0.1 here); STS goes to "localhost", which
	 * no_proxy exempts.
	 */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("all_proxy", "http://127.0.0.1:9", 1);
	setenv("no_proxy", "localhost", 1);
	snprintf(fake_endpoint, sizeof fake_endpoint, "http://localhost:%d",
	    fake.port);
	imds_stats(&t0, &c0, &r0);
	c = chain(&cause);
	ok(c != NULL && strcmp(aws_creds_source(c), "instance metadata") == 0,
	    "imds: the chain ends with instance metadata");
	is_str(whoami(c, &g), HOST_ARN,
	    "imds: the instance role's "
	    "credentials work (no proxy used)");
	imds_stats(&t1, &c1, &r1);
	ok(t1 - t0 == 1 && c1 - c0 == 1 && r1 == r0,
	    "imds: one token PUT, one credentials GET, nothing refused");
	is_str(whoami(c, &g), HOST_ARN, "imds: again");
	imds_stats(&t0, &c0, &r0);
	is_int(c0 - c1, 0, "imds: the credentials are cached");
	aws_creds_free(c);
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("no_proxy");
	snprintf(fake_endpoint, sizeof fake_endpoint, "%s", fake.url);

	/* Credentials 5 minutes from expiry: refreshed, callers share it. */
	imds_write_creds(5 * 60);
	c = chain(&cause);
	is_str(whoami(c, &g), HOST_ARN, "imds: short-lived credentials");
	imds_stats(&t0, &c0, &r0);
	for (i = 0; i < 3; i++) {
		memset(&many[i], 0, sizeof many[i]);
		if (sts_get_caller_identity(client, c, NULL, identity_cb,
			&many[i], &cause) == NULL)
			many[i].n = 1;
	}
	good = 0;
	for (i = 0; i < 3; i++) {
		wait_for(&many[i], 1);
		good += many[i].arn != NULL &&
			strcmp(many[i].arn, HOST_ARN) == 0;
		got_clear(&many[i]);
	}
	imds_stats(&t1, &c1, &r1);
	is_int(good, 3, "imds: three concurrent callers near expiry");
	is_int(c1 - c0, 1, "imds: they shared one refresh");
	aws_creds_free(c);

	/* A profile whose role starts from the instance's credentials. */
	imds_write_creds(6 * 3600);
	write_file("config", "[profile ec2]\nrole_arn = " ROLE_ARN "\n"
			     "credential_source = Ec2InstanceMetadata\n");
	set_path_env("AWS_CONFIG_FILE", "config");
	setenv("AWS_PROFILE", "ec2", 1);
	c = chain(&cause);
	is_str(whoami(c, &g),
	    "arn:aws:sts::111111111111:assumed-role/"
	    "shipgate-deployer/shipgate-test",
	    "imds: credential_source "
	    "Ec2InstanceMetadata assumes the role");
	aws_creds_free(c);
	clear_env();

	/* Disabled, or unreachable. */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	c = chain(&cause);
	ok(c == NULL && cause != NULL &&
		strstr(cause, "AWS_EC2_METADATA_DISABLED") != NULL,
	    "imds: disabled, no source: %s", cause != NULL ? cause : "");
	free(cause);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
	c = chain(&cause);
	whoami(c, &g);
	ok(g.arn == NULL && g.error == AWS_ECREDS && g.message != NULL &&
		strstr(g.message, "instance metadata "
				  "token") != NULL,
	    "imds: unreachable is a credentials error: %s", g.message);
	aws_creds_free(c);
	got_clear(&g);
}

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

int
main(void)
{
	struct aws_client_options o;
	int			  closed = 0;
	char			  path[128];
	const char *names[] = { "credentials", "config", "imds-creds.json",
		NULL };
	size_t	    i;

	log_init("test-aws-creds");
	snprintf(dir, sizeof dir, "/tmp/test-aws-creds.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		tap_bail("mkdtemp failed");
	}
	if (fakeaws_start(&fake) != 0) {
		rmdir(dir);
		tap_bail("the fake AWS endpoint did not start");
	}
	snprintf(fake_endpoint, sizeof fake_endpoint, "%s", fake.url);
	write_file("imds-creds.json", "{}");
	if (imds_start() != 0) {
		fakeaws_stop(&fake);
		tap_bail("the IMDS stand-in did not start");
	}
	uv_loop_init(&loop);
	http = http_client_new(&loop);
	tools = aws_creds_static_new(FAKEAWS_ACCESS_KEY_ID, FAKEAWS_SECRET_KEY,
	    NULL, "static");
	memset(&o, 0, sizeof o);
	o.region = FAKEAWS_REGION;
	o.backoff_base_ms = 5;
	o.max_attempts = 2;
	o.timeout_ms = 10000;
	o.endpoint_override = endpoint_cb;
	client = aws_client_new(&loop, http, tools, &o);

	test_environment();
	test_profiles();
	test_imds();

	aws_client_free(client);
	aws_creds_free(tools);
	http_client_close(http, closed_cb, &closed);
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "every handle closed");
	imds_stop();
	fakeaws_stop(&fake);
	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return (tap_done());
}
