/*
 * notify against the fake AWS endpoint (SES v2), a real SMTP sink
 * (tests/smtpsink.py: STARTTLS and AUTH with a certificate made here by
 * openssl) and a webhook receiver (webhook-sink.py), with a real store in
 * a temporary directory whose clock the test moves: queueing inside a
 * transaction, dedup of a replayed transition, sending, retries with
 * backoff after injected faults, giving up, reminders after remind_every,
 * and a process killed between its commit and the send.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "aws-context.h"
#include "buf.h"
#include "config.h"
#include "fakeaws.h"
#include "log.h"
#include "notify.h"
#include "people.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

struct t {
	uv_loop_t	    loop;
	uv_timer_t	    tick;
	struct fakeaws	    fake;
	struct store	   *store;
	struct config	   *config;
	struct config	   *smtp_config;
	struct config	   *smtps_config;
	struct config	   *plain_tls_config; /* starttls: true */
	struct config	   *plain_config;     /* starttls: false */
	struct config	   *big_config;
	struct aws_context *aws;
	struct notify	   *notify;
	char		    dir[64];
	int64_t		    offset; /* added to the store's clock */
	int64_t		    run_id;
	int64_t		    release_id;
	int64_t		    stage_int;
	int64_t		    stage_stg;
	pid_t		    sink_pid;
	int		    sink_port;
	pid_t		    smtps_pid;
	int		    smtps_port;
	pid_t		    plain_pid;
	int		    plain_port;
	pid_t		    hook_pid;
	int		    hook_port;
};

static struct t T;

static int64_t
t_now(void *arg)
{
	struct t       *t = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + t->offset);
}

#define CONFIG_TEXT                                                            \
	"public_url: https://deploy.example.com/\n"                            \
	"database: %s/shipgate.db\n"                                           \
	"aws:\n"                                                               \
	"  region: eu-west-1\n"                                                \
	"  max_attempts: 1\n"                                                  \
	"  endpoints: {sesv2: %s, sts: %s}\n"                                  \
	"mail:\n"                                                              \
	"  from: \"shipgate <deploy@example.com>\"\n"                          \
	"%s"                                                                   \
	"  remind_every: 1h\n"                                                 \
	"webhooks:\n"                                                          \
	"  - url_file: %s/hook.url\n"                                          \
	"    events: [approval_needed, deployed]\n"                            \
	"users:\n"                                                             \
	"  - {name: alice, email: alice@integrator.example,\n"                 \
	"     groups: [integrators]}\n"                                        \
	"  - {name: bob, email: bob@client.example, groups: [project-team]}\n" \
	"  - {name: carol, email: Carol@Client.example,\n"                     \
	"     groups: [project-team, operators]}\n"                            \
	"  - {name: dave, email: dave@client.example, groups: [operators]}\n"  \
	"%s"                                                                   \
	"apps:\n"                                                              \
	"  - name: billing\n"                                                  \
	"    source: {bucket: releases-billing, prefix: drops/}\n"             \
	"    environments:\n"                                                  \
	"      - {name: int, account: \"111111111111\", stack: billing-int,\n" \
	"         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"    \
	"         approvers: [integrators], gate: [integrators, operators]}\n" \
	"      - {name: stg, account: \"222222222222\", stack: billing-stg,\n" \
	"         role_arn: \"arn:aws:iam::222222222222:role/deployer\",\n"    \
	"         approvers: [project-team, operators]}\n"

static struct config *
load_config(struct t *t, const char *transport, const char *users)
{
	struct config_errors e;
	struct config	    *c;
	char		    *text;
	size_t		     i;

	text = xasprintf(CONFIG_TEXT, t->dir, t->fake.url, t->fake.url,
	    transport, t->dir, users);
	c = config_load_buffer("test.yaml", text, strlen(text), &e);
	free(text);
	if (c == NULL) {
		for (i = 0; i < e.n; i++)
			tap_diag("%s", e.lines[i]);
		config_errors_free(&e);
	}
	return (c);
}

static void
tick_cb(uv_timer_t *h)
{
	(void)h;
}

static void
set_cb(void *arg)
{
	*(int *)arg = 1;
}

/* Starts a helper script; its port from its port file.  0 or -1. */
static int
start_helper(const char *script, const char *const *args, const char *pf,
    pid_t *pidp, int *portp)
{
	const char *srcdir = getenv("top_srcdir");
	char	    path[4096], buf[32];
	const char *argv[24];
	char	   *av[24]; /* execv's type: copies of argv */
	FILE	   *fp;
	int	    i, n = 0;

	snprintf(path, sizeof path, "%s/%s", srcdir != NULL ? srcdir : ".",
	    script);
	argv[n++] = "/usr/bin/python3";
	argv[n++] = path;
	for (i = 0; args[i] != NULL && n < 22; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	for (i = 0; i <= n; i++)
		av[i] = argv[i] != NULL ? xstrdup(argv[i]) : NULL;
	unlink(pf);
	*pidp = fork();
	if (*pidp == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execv(av[0], av);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(av[i]);
	if (*pidp == -1)
		return (-1);
	for (i = 0; i < 300; i++) {
		if ((fp = fopen(pf, "r")) != NULL) {
			*portp = fgets(buf, sizeof buf, fp) != NULL ?
				     atoi(buf) :
				     0;
			fclose(fp);
			if (*portp > 0)
				return (0);
		}
		if (waitpid(*pidp, NULL, WNOHANG) == *pidp) {
			*pidp = 0;
			return (-1);
		}
		usleep(100000);
	}
	return (-1);
}

static void
stop_helper(pid_t *pidp)
{
	if (*pidp > 0) {
		kill(*pidp, SIGTERM);
		waitpid(*pidp, NULL, 0);
		*pidp = 0;
	}
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		return (-1);
	fputs(text, fp);
	fclose(fp);
	return (chmod(path, mode));
}

static int
run_shell(const char *cmd)
{
	int st = system(cmd);

	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* The run: a release of billing with stages int and stg. */
static int
make_run(struct t *t)
{
	struct store_release_in rel;
	struct store_stage_in	st[2];
	struct store_run_in	run;
	struct store_run       *r = NULL;
	struct store_change_in	ch[4];
	int64_t			app_id;
	char		       *cause = NULL;

	if (store_upsert_app(t->store, "billing", &app_id, &cause) != 0)
		goto fail;
	memset(&rel, 0, sizeof rel);
	rel.app_id = app_id;
	rel.bucket = "releases-billing";
	rel.key = "drops/billing-1.4.2.zip";
	rel.etag = "\"abc\"";
	rel.size = 1000;
	rel.version = "1.4.2";
	rel.message = "Fix invoice rounding on credit notes";
	rel.author = "alice";
	rel.manifest = "{}";
	rel.status = STORE_RELEASE_VALID;
	if (store_record_release(t->store, &rel, &t->release_id, &cause) != 0)
		goto fail;
	memset(st, 0, sizeof st);
	st[0].environment = "int";
	st[1].environment = "stg";
	memset(&run, 0, sizeof run);
	run.release_id = t->release_id;
	run.stages = st;
	run.nstages = 2;
	if (store_create_run(t->store, &run, &t->run_id, &cause) != 0)
		goto fail;
	if (store_get_run(t->store, t->run_id, &r, &cause) != 0)
		goto fail;
	t->stage_int = r->stages[0].id;
	t->stage_stg = r->stages[1].id;
	store_run_free(r);
	memset(ch, 0, sizeof ch);
	ch[0].action = "Add";
	ch[0].logical_id = "Queue";
	ch[0].resource_type = "AWS::SQS::Queue";
	ch[1].action = "Modify";
	ch[1].logical_id = "Service";
	ch[1].resource_type = "AWS::ECS::Service";
	ch[1].replacement = "True";
	ch[2].action = "Modify";
	ch[2].logical_id = "Task";
	ch[2].resource_type = "AWS::ECS::TaskDefinition";
	ch[2].replacement = "False";
	ch[3].action = "Remove";
	ch[3].logical_id = "Old";
	ch[3].resource_type = "AWS::SNS::Topic";
	if (store_record_stage_changes(t->store, t->stage_stg, 0, ch, 4,
		&cause) != 0)
		goto fail;
	return (0);
fail:
	tap_diag("make_run: %s", cause);
	free(cause);
	return (-1);
}

static int
t_setup(struct t *t)
{
	char *text, *cause = NULL, *cmd;
	int   rc;

	memset(t, 0, sizeof *t);
	setenv("AWS_ACCESS_KEY_ID", FAKEAWS_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", FAKEAWS_SECRET_KEY, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	if (fakeaws_start(&t->fake) != 0)
		return (-1);
	snprintf(t->dir, sizeof t->dir, "/tmp/test-notify.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return (-1);

	/* The webhook receiver, its URL in a secret file. */
	text = xasprintf("%s/hook", t->dir);
	mkdir(text, 0700);
	{
		char	   *pf = xasprintf("%s/hook.port", t->dir);
		const char *args[] = { "--dir", text, "--port-file", pf,
			"--fail-first", "1", NULL };

		rc = start_helper("tests/unit/webhook-sink.py", args, pf,
		    &t->hook_pid, &t->hook_port);
		free(pf);
	}
	free(text);
	if (rc != 0)
		return (-1);
	text = xasprintf("%s/hook.url", t->dir);
	cmd = xasprintf("http://127.0.0.1:%d/services/T0/B0/SECRETTOKEN\n",
	    t->hook_port);
	write_file(text, cmd, 0600);
	free(cmd);
	free(text);

	/* The SMTP sink: STARTTLS with a certificate for 127.0.0.1, AUTH. */
	cmd = xasprintf(
	    "cd %s && openssl req -x509 -newkey rsa:2048 -nodes "
	    "-keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 "
	    "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
	    t->dir);
	rc = run_shell(cmd);
	free(cmd);
	if (rc != 0) {
		tap_diag("openssl failed");
		return (-1);
	}
	text = xasprintf("%s/smtp.pass", t->dir);
	write_file(text, "pa55-w0rd-Zq7\n", 0600);
	free(text);
	{
		char	   *d = xasprintf("%s/mail", t->dir);
		char	   *pf = xasprintf("%s/smtp.port", t->dir);
		char	   *cert = xasprintf("%s/cert.pem", t->dir);
		char	   *key = xasprintf("%s/key.pem", t->dir);
		char	   *auth = xasprintf("deploy:%s/smtp.pass", t->dir);
		const char *args[] = { "--dir", d, "--port-file", pf,
			"--tls-cert", cert, "--tls-key", key, "--auth", auth,
			NULL };

		mkdir(d, 0700);
		rc = start_helper("tests/smtpsink.py", args, pf, &t->sink_pid,
		    &t->sink_port);
		free(d);
		free(pf);
		free(cert);
		free(key);
		free(auth);
	}
	if (rc != 0) {
		tap_diag("smtpsink.py did not start");
		return (-1);
	}
	{
		char	   *d = xasprintf("%s/mails", t->dir);
		char	   *pf = xasprintf("%s/smtps.port", t->dir);
		char	   *cert = xasprintf("%s/cert.pem", t->dir);
		char	   *key = xasprintf("%s/key.pem", t->dir);
		char	   *auth = xasprintf("deploy:%s/smtp.pass", t->dir);
		const char *args[] = { "--dir", d, "--port-file", pf,
			"--tls-cert", cert, "--tls-key", key, "--smtps",
			"--auth", auth, NULL };

		mkdir(d, 0700);
		rc = start_helper("tests/smtpsink.py", args, pf, &t->smtps_pid,
		    &t->smtps_port);
		free(d);
		free(pf);
		free(cert);
		free(key);
		free(auth);
	}
	if (rc != 0) {
		tap_diag("smtpsink.py --smtps did not start");
		return (-1);
	}
	{
		char	   *d = xasprintf("%s/plain", t->dir);
		char	   *pf = xasprintf("%s/plain.port", t->dir);
		const char *args[] = { "--dir", d, "--port-file", pf, NULL };

		mkdir(d, 0700);
		rc = start_helper("tests/smtpsink.py", args, pf, &t->plain_pid,
		    &t->plain_port);
		free(d);
		free(pf);
	}
	if (rc != 0) {
		tap_diag("smtpsink.py (plain) did not start");
		return (-1);
	}

	if ((t->config = load_config(t, "  ses: {}\n", "")) == NULL)
		return (-1);
	text = xasprintf("  smtp: {url: \"smtp://127.0.0.1:%d\", username: "
			 "deploy, password_file: %s/smtp.pass}\n",
	    t->sink_port, t->dir);
	t->smtp_config = load_config(t, text, "");
	free(text);
	if (t->smtp_config == NULL)
		return (-1);
	text = xasprintf("  smtp: {url: \"smtps://127.0.0.1:%d\", username: "
			 "deploy, password_file: %s/smtp.pass}\n",
	    t->smtps_port, t->dir);
	t->smtps_config = load_config(t, text, "");
	free(text);
	if (t->smtps_config == NULL)
		return (-1);
	text = xasprintf("  smtp: {url: \"smtp://127.0.0.1:%d\"}\n",
	    t->plain_port);
	t->plain_tls_config = load_config(t, text, "");
	free(text);
	text = xasprintf("  smtp: {url: \"smtp://127.0.0.1:%d\", starttls: "
			 "false}\n",
	    t->plain_port);
	t->plain_config = load_config(t, text, "");
	free(text);
	if (t->plain_tls_config == NULL || t->plain_config == NULL)
		return (-1);
	{
		struct buf b;
		int	   i;

		buf_init(&b, 1 << 20);
		for (i = 0; i < 60; i++)
			buf_printf(&b,
			    "  - {name: u%d, email: "
			    "u%d@crowd.example, groups: [integrators]}\n",
			    i, i);
		t->big_config = load_config(t, "  ses: {}\n", b.data);
		buf_free(&b);
		if (t->big_config == NULL)
			return (-1);
	}

	text = xasprintf("%s/shipgate.db", t->dir);
	rc = store_open(text, &t->store, &cause);
	free(text);
	if (rc != 0) {
		tap_diag("store_open: %s", cause);
		return (-1);
	}
	store_set_clock(t->store, t_now, t);
	uv_loop_init(&t->loop);
	uv_timer_init(&t->loop, &t->tick);
	if ((t->aws = aws_context_new(&t->loop, t->config, &cause)) == NULL) {
		tap_diag("aws_context_new: %s", cause);
		return (-1);
	}
	return (make_run(t));
}

static void
t_teardown(struct t *t)
{
	int   done = 0;
	char *cmd;

	if (t->notify != NULL) {
		notify_stop(t->notify, set_cb, &done);
		while (!done)
			uv_run(&t->loop, UV_RUN_ONCE);
		done = 0;
	}
	aws_context_close(t->aws, set_cb, &done);
	while (!done)
		uv_run(&t->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t->tick, NULL);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&t->loop), 0, "every handle closed");
	store_close(t->store);
	config_free(t->config);
	config_free(t->smtp_config);
	config_free(t->smtps_config);
	config_free(t->plain_tls_config);
	config_free(t->plain_config);
	config_free(t->big_config);
	stop_helper(&t->sink_pid);
	stop_helper(&t->smtps_pid);
	stop_helper(&t->plain_pid);
	stop_helper(&t->hook_pid);
	fakeaws_stop(&t->fake);
	cmd = xasprintf("rm -rf %s", t->dir);
	run_shell(cmd);
	free(cmd);
}

/* --- helpers ------------------------------------------------------------- */

/* Queues one cause in a transaction of its own. */
static int
queue(struct t *t, const struct config *c, const struct notify_cause *nc)
{
	char *cause = NULL;
	int   rc;

	if ((rc = store_begin(t->store, &cause)) == 0 &&
	    (rc = notify_queue(t->store, c, nc, &cause)) == 0)
		rc = store_commit(t->store, &cause);
	if (rc != 0) {
		tap_diag("queue %s: %s", nc->event, cause);
		store_rollback(t->store);
		free(cause);
	}
	return (rc);
}

/* The outbox row with this dedup key (NULL if none); caller frees. */
static struct store_outbox_row *
row_by_key(struct t *t, const char *key)
{
	struct store_outbox_rows *rows = NULL;
	struct store_outbox_row	 *r = NULL;
	size_t			  i;

	if (store_outbox_run(t->store, t->run_id, &rows, NULL) != 0)
		return (NULL);
	for (i = 0; i < rows->n; i++) {
		if (strcmp(rows->items[i].dedup_key, key) != 0)
			continue;
		r = xcalloc(1, sizeof *r);
		*r = rows->items[i];
		memset(&rows->items[i], 0, sizeof rows->items[i]);
		/* Keep only what the tests read. */
		break;
	}
	store_outbox_rows_free(rows);
	return (r);
}

static void
row_free(struct store_outbox_row *r)
{
	if (r == NULL)
		return;
	free(r->channel);
	free(r->event);
	free(r->dedup_key);
	free(r->recipients);
	free(r->subject);
	free(r->status);
	free(r->last_error);
	free(r);
}

/* Runs the loop until the row has `status` with `attempts` (or 20 s). */
static int
wait_row(struct t *t, const char *key, const char *status, int attempts)
{
	struct store_outbox_row *r;
	struct timespec		 start, now;
	int			 done = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	uv_timer_start(&t->tick, tick_cb, 20, 20);
	for (;;) {
		r = row_by_key(t, key);
		done = r != NULL && strcmp(r->status, status) == 0 &&
		       (attempts < 0 || r->attempts == attempts);
		row_free(r);
		if (done)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 20)
			break;
		uv_run(&t->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&t->tick);
	return (done);
}

/* Lets the loop run for a while (ms of real time). */
static void
spin(struct t *t, int ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	uv_timer_start(&t->tick, tick_cb, 10, 10);
	for (;;) {
		uv_run(&t->loop, UV_RUN_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000 >=
		    ms)
			break;
	}
	uv_timer_stop(&t->tick);
}

/* The fake's sent mail. */
static json_t *
fake_mail(struct t *t)
{
	struct fakeaws_reply r;
	json_t		    *j;

	if (fakeaws_control(&t->fake, "GET", "/_fake/mail", NULL, &r) != 200) {
		free(r.body);
		return (json_array());
	}
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	if (j == NULL)
		return (json_array());
	json_incref(json_object_get(j, "messages"));
	{
		json_t *m = json_object_get(j, "messages");

		json_decref(j);
		return (m);
	}
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return (s != NULL ? s : "");
}

static char *
slurp(const char *path)
{
	FILE *fp;
	char *s;
	long  n;

	if ((fp = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = xcalloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, fp) != (size_t)n)
		s[0] = '\0';
	fclose(fp);
	return (s);
}

static int
count_outbox(struct t *t)
{
	struct store_outbox_rows *rows = NULL;
	int			  n;

	if (store_outbox_run(t->store, t->run_id, &rows, NULL) != 0)
		return (-1);
	n = (int)rows->n;
	store_outbox_rows_free(rows);
	return (n);
}

/* --- the tests ----------------------------------------------------------- */

static void
test_queue(struct t *t)
{
	struct notify_cause	 nc;
	struct store_outbox_row *r;
	char			*cause = NULL, key[128];

	memset(&nc, 0, sizeof nc);
	nc.event = "approval_needed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	nc.attempt = 0;
	/* Queued in the transaction of the transition; rolled back, it
	   leaves nothing. */
	store_begin(t->store, NULL);
	store_set_stage_status(t->store, t->stage_stg, STORE_STAGE_PENDING,
	    STORE_STAGE_AWAITING_APPROVAL, NULL, NULL);
	is_int(notify_queue(t->store, t->config, &nc, &cause), 0,
	    "approval_needed queued");
	store_rollback(t->store);
	is_int(count_outbox(t), 0, "rolled back with its transition: no row");

	store_begin(t->store, NULL);
	store_set_stage_status(t->store, t->stage_stg, STORE_STAGE_PENDING,
	    STORE_STAGE_AWAITING_APPROVAL, NULL, NULL);
	notify_queue(t->store, t->config, &nc, &cause);
	is_int(store_commit(t->store, &cause), 0, "committed with it");
	is_int(count_outbox(t), 2, "one e-mail and one webhook row");
	is_int(queue(t, t->config, &nc), 0, "the transition replayed");
	is_int(count_outbox(t), 2, "nothing queued twice");

	snprintf(key, sizeof key, "approval_needed stage=%lld attempt=0",
	    (long long)t->stage_stg);
	r = row_by_key(t, key);
	ok(r != NULL, "dedup key \"%s\"", key);
	if (r != NULL) {
		is_str(r->recipients,
		    "bob@client.example, Carol@Client.example"
		    ", dave@client.example",
		    "to the approver groups, once "
		    "each (carol in both)");
		is_str(r->subject,
		    "[shipgate] billing 1.4.2 awaits your "
		    "approval for stg",
		    "the subject");
		is_str(r->status, "pending", "pending until sent");
	}
	row_free(r);
}

static void
test_ses(struct t *t)
{
	json_t		   *mail, *m;
	char		    key[160], *cause = NULL, *path, *s;
	struct notify_stats st;

	t->notify = notify_new(&t->loop, t->store, t->aws, t->config);
	is_int(notify_start(t->notify, &cause), 0, "notify started");
	snprintf(key, sizeof key, "approval_needed stage=%lld attempt=0",
	    (long long)t->stage_stg);
	ok(wait_row(t, key, "sent", 1), "the e-mail is sent and marked");
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "SES got one message");
	m = json_array_get(mail, 0);
	is_str(jstr(m, "kind"), "raw", "as Raw content (our MIME message)");
	is_str(jstr(m, "subject"),
	    "[shipgate] billing 1.4.2 awaits your "
	    "approval for stg",
	    "its subject");
	is_int((long long)json_array_size(json_object_get(m, "to")), 3,
	    "three recipients");
	ok(strstr(jstr(m, "text"), "https://deploy.example.com/runs/") != NULL,
	    "the text part links the run page");
	ok(strstr(jstr(m, "text"), "Changes: 1 to add, 2 to modify, 1 to "
				   "remove") != NULL &&
		strstr(jstr(m, "text"), "Service "
					"(AWS::ECS::Service)") != NULL,
	    "the change set's counts and "
	    "its replacement");
	ok(strstr(jstr(m, "html"), "<a href=\"https://deploy.example.com/"
				   "runs/") != NULL,
	    "the HTML part links it too");
	ok(strstr(jstr(m, "raw"), "Message-ID: <shipgate.") != NULL &&
		strstr(jstr(m, "raw"), "From: shipgate <deploy@example.com>") !=
		    NULL,
	    "From and Message-ID headers");
	json_decref(mail);

	/* The webhook: the receiver answered 500 first. */
	snprintf(key, sizeof key,
	    "approval_needed stage=%lld attempt=0 "
	    "webhook=%s/hook.url",
	    (long long)t->stage_stg, t->dir);
	ok(wait_row(t, key, "pending", 1), "the webhook failed once "
					   "(HTTP 500) and waits");
	{
		struct store_outbox_row *r = row_by_key(t, key);

		ok(r != NULL && r->last_error != NULL &&
			strstr(r->last_error, "HTTP 500") != NULL,
		    "its last error: %s",
		    r != NULL && r->last_error != NULL ? r->last_error :
							 "(none)");
		ok(r != NULL &&
			r->next_attempt_at >= store_now(t->store) + 25000 &&
			r->next_attempt_at <= store_now(t->store) + 31000,
		    "retried in 30 s");
		ok(r != NULL && strstr(r->last_error, "SECRETTOKEN") == NULL,
		    "the error does not show the URL's token");
		row_free(r);
	}
	spin(t, 200);
	path = xasprintf("%s/hook/0002.json", t->dir);
	ok(access(path, F_OK) != 0, "not retried before its time");
	t->offset += 31000;
	notify_wake(t->notify);
	ok(wait_row(t, key, "sent", 2), "sent at the second attempt");
	s = slurp(path);
	ok(s != NULL && strstr(s, "/services/T0/B0/SECRETTOKEN") != NULL &&
		strstr(s, "application/json") != NULL,
	    "POSTed as JSON to the "
	    "url_file's URL");
	ok(s != NULL && strstr(s, "\\\"text\\\": ") == NULL &&
		strstr(s,
		    "\\\"text\\\":\\\"[shipgate] billing 1.4.2 awaits your approval "
		    "for stg\\\\nhttps://deploy.example.com/runs/") != NULL,
	    "with a text field for Slack and Teams");
	free(s);
	free(path);
	notify_stats(t->notify, &st);
	ok(st.sent == 2 && st.retried == 1 && st.failed == 0,
	    "stats: 2 "
	    "sent, 1 retried (%llu %llu %llu)",
	    (unsigned long long)st.sent, (unsigned long long)st.retried,
	    (unsigned long long)st.failed);
}

static void
test_retry_and_give_up(struct t *t)
{
	struct notify_cause	 nc;
	struct notify_stats	 st;
	struct store_outbox_row *r;
	json_t			*mail;
	char			 key[128];
	int			 i, ok1 = 1;

	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"error503\", "
	    "\"count\": 1}",
	    NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "approved";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	nc.actor = "bob";
	nc.comment = "Looks right";
	queue(t, t->config, &nc);
	notify_wake(t->notify);
	snprintf(key, sizeof key, "approved stage=%lld attempt=0 by=bob",
	    (long long)t->stage_stg);
	ok(wait_row(t, key, "pending", 1), "SES answered 503: pending, "
					   "attempt 1");
	r = row_by_key(t, key);
	ok(r != NULL && r->last_error != NULL &&
		strstr(r->last_error, "Unavailable") != NULL,
	    "last error recorded: %s",
	    r != NULL && r->last_error != NULL ? r->last_error : "(none)");
	row_free(r);
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 0, "nothing sent yet");
	json_decref(mail);
	t->offset += 31000;
	notify_wake(t->notify);
	ok(wait_row(t, key, "sent", 2), "sent after the backoff");
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "one message");
	ok(strstr(jstr(json_array_get(mail, 0), "text"), "Comment: Looks "
							 "right") != NULL,
	    "with the approver's comment");
	is_str(jstr(json_array_get(mail, 0), "subject"),
	    "[shipgate] billing "
	    "1.4.2 approved for stg by bob",
	    "approved subject");
	json_decref(mail);

	/* Every attempt fails: given up after NOTIFY_MAX_ATTEMPTS. */
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"error500\", "
	    "\"count\": 100}",
	    NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "failed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	nc.reason = "Service web did not stabilize";
	queue(t, t->config, &nc);
	snprintf(key, sizeof key, "failed stage=%lld attempt=0",
	    (long long)t->stage_stg);
	notify_wake(t->notify);
	for (i = 1; i < NOTIFY_MAX_ATTEMPTS; i++) {
		if (!wait_row(t, key, "pending", i)) {
			ok1 = 0;
			break;
		}
		t->offset += 2 * 3600 * 1000; /* past any backoff */
		notify_wake(t->notify);
	}
	ok(ok1, "retried %d times", NOTIFY_MAX_ATTEMPTS - 1);
	ok(wait_row(t, key, "failed", NOTIFY_MAX_ATTEMPTS),
	    "then given up: "
	    "failed after %d attempts",
	    NOTIFY_MAX_ATTEMPTS);
	notify_stats(t->notify, &st);
	is_int((long long)st.failed, 1, "stats: one failed");
	{
		int64_t p, s, f;

		store_outbox_counts(t->store, &p, &s, &f, NULL);
		is_int(f, 1, "the store counts it failed");
	}
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);

	/* A refusal that will not change (400 MessageRejected) is not
	   retried for an hour: failed at once, with SES's reason. */
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"error\", "
	    "\"status\": 400, \"code\": \"MessageRejected\", \"message\": "
	    "\"Email address is not verified.\", \"count\": 1}",
	    NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "deployed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	queue(t, t->config, &nc);
	snprintf(key, sizeof key, "deployed stage=%lld attempt=0",
	    (long long)t->stage_stg);
	notify_wake(t->notify);
	ok(wait_row(t, key, "failed", 1), "MessageRejected: failed after "
					  "one attempt");
	r = row_by_key(t, key);
	ok(r != NULL && r->last_error != NULL &&
		strstr(r->last_error, "not verified") != NULL,
	    "with SES's reason: %s",
	    r != NULL && r->last_error != NULL ? r->last_error : "(none)");
	row_free(r);
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);
}

/* The Message-ID header of the fake's message i (into buf). */
static const char *
mail_message_id(json_t *mail, size_t i, char *buf, size_t len)
{
	const char *raw, *p;
	size_t	    n;

	raw = jstr(json_array_get(mail, i), "raw");
	if ((p = strstr(raw, "Message-ID: ")) == NULL)
		return ("");
	p += strlen("Message-ID: ");
	n = strcspn(p, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return (buf);
}

/*
 * The chaos campaign's duplicates (issue 13): SES took the message and
 * its reply was cut or garbled after the 200.  Such a send is sent, once;
 * a reply lost whole (the connection dropped after SES took it) is the
 * one case left that sends again, and then as the same message (same
 * Message-ID).
 */
static void
test_reply_lost(struct t *t)
{
	static const struct {
		const char *mode;
		const char *actor;
	} cases[] = {
		{ "\"mode\": \"truncate\"", "carol" },
		{ "\"mode\": \"malformed\"", "dave" },
	};
	struct notify_cause nc;
	json_t		   *mail;
	char		    key[128], rule[256], a[160], b[160];
	size_t		    i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
		snprintf(rule, sizeof rule,
		    "{\"service\": \"ses\", "
		    "\"operation\": \"SendEmail\", %s, \"count\": 1}",
		    cases[i].mode);
		fakeaws_control(&t->fake, "POST", "/_fake/faults", rule, NULL);
		memset(&nc, 0, sizeof nc);
		nc.event = "approved";
		nc.run_id = t->run_id;
		nc.stage_id = t->stage_stg;
		nc.actor = cases[i].actor;
		queue(t, t->config, &nc);
		notify_wake(t->notify);
		snprintf(key, sizeof key, "approved stage=%lld attempt=0 by=%s",
		    (long long)t->stage_stg, cases[i].actor);
		ok(wait_row(t, key, "sent", 1),
		    "%s after SES took it: marked "
		    "sent at the first attempt",
		    cases[i].mode);
		t->offset += 2 * 3600 * 1000; /* past any backoff */
		notify_wake(t->notify);
		spin(t, 300);
		mail = fake_mail(t);
		is_int((long long)json_array_size(mail), 1,
		    "%s: SES got the "
		    "message once",
		    cases[i].mode);
		json_decref(mail);
		fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL,
		    NULL);
	}

	/* The reply lost whole: at least once, so twice, the same message. */
	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"drop\", "
	    "\"after\": true, \"count\": 1}",
	    NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "checks_failed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	queue(t, t->config, &nc);
	notify_wake(t->notify);
	snprintf(key, sizeof key, "checks_failed stage=%lld attempt=0",
	    (long long)t->stage_stg);
	/* Sent again by the outbox's retry, or at once by curl itself
	   when the dropped connection was one it reused. */
	spin(t, 300);
	t->offset += 2 * 3600 * 1000;
	notify_wake(t->notify);
	ok(wait_row(t, key, "sent", -1), "connection dropped after SES took "
					 "it: sent again");
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 2,
	    "SES got it twice (no "
	    "idempotency token: the one duplicate left)");
	ok(json_array_size(mail) == 2 &&
		*mail_message_id(mail, 0, a, sizeof a) != '\0' &&
		strcmp(a, mail_message_id(mail, 1, b, sizeof b)) == 0,
	    "shipgate sent the same message: one Message-ID "
	    "(%s; real SES would replace it)",
	    a);
	json_decref(mail);
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);
}

/*
 * No send while a storage fault is set: a message sent then could not be
 * marked, and would go again after a kill -9.  It goes once the fault
 * clears (the syncer's probe; here by hand), without a wake.
 */
static void
test_storage_fault(struct t *t)
{
	struct notify_cause	 nc;
	struct store_outbox_row *r;
	json_t			*mail;
	char			 key[128];

	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "rejected";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.actor = "dave";
	is_int(queue(t, t->config, &nc), 0, "a message queued");
	store_fault_set("cannot write: database or disk is full (test)");
	notify_wake(t->notify);
	spin(t, 500);
	snprintf(key, sizeof key, "rejected stage=%lld attempt=0 by=dave",
	    (long long)t->stage_int);
	r = row_by_key(t, key);
	ok(r != NULL && strcmp(r->status, "pending") == 0 && r->attempts == 0,
	    "storage fault: the message waits, not tried");
	row_free(r);
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 0,
	    "storage fault: nothing "
	    "sent");
	json_decref(mail);
	store_fault_clear();
	ok(wait_row(t, key, "sent", 1), "the fault cleared: sent");
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "once");
	json_decref(mail);
}

/*
 * A stop waits for the answer of a send in flight (SES slow by 1 s), so
 * the message is marked sent rather than sent again after the restart.
 */
static void
test_stop_waits(struct t *t)
{
	struct notify_cause	 nc;
	struct store_outbox_row *r;
	json_t			*mail;
	char			 key[128], *cause = NULL;
	int			 done = 0;

	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
	fakeaws_control(&t->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"delay\", "
	    "\"delay\": 1.0, \"count\": 1}",
	    NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "approved";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.actor = "carol";
	queue(t, t->config, &nc);
	notify_wake(t->notify);
	spin(t, 200); /* the send is in flight */
	notify_stop(t->notify, set_cb, &done);
	while (!done)
		uv_run(&t->loop, UV_RUN_ONCE);
	t->notify = NULL;
	snprintf(key, sizeof key, "approved stage=%lld attempt=0 by=carol",
	    (long long)t->stage_int);
	r = row_by_key(t, key);
	ok(r != NULL && strcmp(r->status, "sent") == 0,
	    "stopped with a send "
	    "in flight: its answer was waited for, the row is sent (%s)",
	    r != NULL ? r->status : "no row");
	row_free(r);
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "SES got it once");
	json_decref(mail);
	fakeaws_control(&t->fake, "DELETE", "/_fake/faults", NULL, NULL);
	/* The restart sends nothing more. */
	t->notify = notify_new(&t->loop, t->store, t->aws, t->config);
	is_int(notify_start(t->notify, &cause), 0, "notify started again");
	spin(t, 300);
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1,
	    "nothing sent again "
	    "after the restart");
	json_decref(mail);
}

/* The reminders of this stage in the outbox; the last key in last. */
static int
count_reminders(struct t *t, char *last, size_t lastsz)
{
	struct store_outbox_rows *rows = NULL;
	char			  prefix[128];
	size_t			  i;
	int			  n = 0;

	snprintf(prefix, sizeof prefix,
	    "reminder stage=%lld attempt=0 n=", (long long)t->stage_stg);
	store_outbox_run(t->store, t->run_id, &rows, NULL);
	for (i = 0; rows != NULL && i < rows->n; i++)
		if (strncmp(rows->items[i].dedup_key, prefix, strlen(prefix)) ==
		    0) {
			n++;
			snprintf(last, lastsz, "%s", rows->items[i].dedup_key);
		}
	store_outbox_rows_free(rows);
	return (n);
}

/* Runs the loop until the stage has n reminders (or 20 s). */
static int
wait_reminders(struct t *t, int n, char *last, size_t lastsz)
{
	struct timespec start, now;
	int		got;

	clock_gettime(CLOCK_MONOTONIC, &start);
	uv_timer_start(&t->tick, tick_cb, 20, 20);
	for (;;) {
		if ((got = count_reminders(t, last, lastsz)) >= n)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 20)
			break;
		uv_run(&t->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&t->tick);
	return (got);
}

static void
test_reminders(struct t *t)
{
	json_t *mail;
	char	last[128] = "", want[128];

	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);
	notify_wake(t->notify);
	spin(t, 200);
	is_int(count_reminders(t, last, sizeof last), 0,
	    "no reminder before "
	    "remind_every");

	t->offset += 60 * 60 * 1000;
	notify_wake(t->notify);
	is_int(wait_reminders(t, 1, last, sizeof last), 1,
	    "a reminder after "
	    "remind_every");
	snprintf(want, sizeof want, "reminder stage=%lld attempt=0 n=1",
	    (long long)t->stage_stg);
	is_str(last, want, "its dedup key");
	ok(wait_row(t, last, "sent", 1), "the reminder is sent");
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "one reminder mail");
	is_str(jstr(json_array_get(mail, 0), "subject"),
	    "[shipgate] "
	    "Reminder: billing 1.4.2 awaits your approval for stg",
	    "its subject");
	is_int((long long)json_array_size(
		   json_object_get(json_array_get(mail, 0), "to")),
	    3, "to the approvers");
	json_decref(mail);

	t->offset += 10 * 60 * 1000;
	notify_wake(t->notify);
	spin(t, 200);
	is_int(count_reminders(t, last, sizeof last), 1,
	    "none more within "
	    "the hour");
	/* bob approves (one of two): the next reminder is not his. */
	{
		struct store_approval_in a;
		struct store_outbox_row *r;

		memset(&a, 0, sizeof a);
		a.stage_id = t->stage_stg;
		a.user = "bob";
		a.decision = STORE_DECISION_APPROVE;
		a.via = STORE_VIA_CLI;
		is_int(store_record_approval(t->store, &a, NULL), 0,
		    "bob approves");
		t->offset += 60 * 60 * 1000;
		notify_wake(t->notify);
		is_int(wait_reminders(t, 2, last, sizeof last), 2,
		    "the second one");
		r = row_by_key(t, last);
		is_str(r != NULL ? r->recipients : NULL,
		    "Carol@Client.example"
		    ", dave@client.example",
		    "to those who have not approved");
		row_free(r);
	}
	t->offset += 5 * 60 * 60 * 1000;
	notify_wake(t->notify);
	wait_reminders(t, 3, last, sizeof last);
	spin(t, 200);
	is_int(count_reminders(t, last, sizeof last), 3,
	    "after a long stop, "
	    "one reminder only");
	snprintf(want, sizeof want, "reminder stage=%lld attempt=0 n=7",
	    (long long)t->stage_stg);
	is_str(last, want, "the latest (n=7)");

	/* A decided stage is not reminded of. */
	store_set_stage_status(t->store, t->stage_stg,
	    STORE_STAGE_AWAITING_APPROVAL, STORE_STAGE_EXECUTING, NULL, NULL);
	t->offset += 3 * 60 * 60 * 1000;
	notify_wake(t->notify);
	spin(t, 300);
	is_int(count_reminders(t, last, sizeof last), 3,
	    "none once the "
	    "stage moved on");
}

static void
test_smtp(struct t *t)
{
	struct notify_cause nc;
	char		    key[128], *path, *s;
	int		    n;

	notify_reconfigure(t->notify, t->smtp_config);
	path = xasprintf("%s/cert.pem", t->dir);
	notify_set_ca_file(t->notify, path);
	free(path);
	memset(&nc, 0, sizeof nc);
	nc.event = "deployed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	queue(t, t->smtp_config, &nc);
	notify_wake(t->notify);
	snprintf(key, sizeof key, "deployed stage=%lld attempt=0",
	    (long long)t->stage_int);
	ok(wait_row(t, key, "sent", 1), "sent through SMTP");
	path = xasprintf("%s/mail/0001.json", t->dir);
	s = slurp(path);
	free(path);
	ok(s != NULL && strstr(s, "\"auth_user\": \"deploy\"") != NULL &&
		strstr(s, "\"tls\": true") != NULL,
	    "after STARTTLS, "
	    "authenticated as deploy");
	ok(s != NULL &&
		strstr(s, "\"mail_from\": \"deploy@example.com\"") != NULL,
	    "envelope sender from mail.from");
	ok(s != NULL && strstr(s, "alice@integrator.example") != NULL &&
		strstr(s, "\"rcpt_tos\"") != NULL,
	    "the author among the "
	    "recipients");
	free(s);
	path = xasprintf("%s/mail/0001.eml", t->dir);
	s = slurp(path);
	free(path);
	ok(s != NULL && strstr(s, "Subject: [shipgate] billing 1.4.2 deployed "
				  "to int\r\n") != NULL,
	    "Subject header");
	ok(s != NULL &&
		strstr(s, "\r\nContent-Type: text/plain; charset="
			  "utf-8\r\n") != NULL &&
		strstr(s, "\r\nContent-Type: text/html; "
			  "charset=utf-8\r\n") != NULL,
	    "both parts");
	ok(s != NULL && strstr(s, "https://deploy.example.com/runs/") != NULL,
	    "the link");
	ok(s != NULL && strstr(s, "pa55-w0rd") == NULL, "no password in the "
							"message");
	free(s);

	/* The webhook row of deployed went out too. */
	snprintf(key, sizeof key,
	    "deployed stage=%lld attempt=0 "
	    "webhook=%s/hook.url",
	    (long long)t->stage_int, t->dir);
	ok(wait_row(t, key, "sent", 1), "the deployed webhook sent");

	/* A wrong password: an error, retried (not sent in clear). */
	path = xasprintf("%s/smtp.pass", t->dir);
	write_file(path, "wrong\n", 0600);
	memset(&nc, 0, sizeof nc);
	nc.event = "checks_failed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.reason = "login-and-name failed";
	queue(t, t->smtp_config, &nc);
	notify_wake(t->notify);
	snprintf(key, sizeof key, "checks_failed stage=%lld attempt=0",
	    (long long)t->stage_int);
	ok(wait_row(t, key, "pending", 1), "a refused login is a failed "
					   "attempt");
	write_file(path, "pa55-w0rd-Zq7\n", 0600);
	free(path);
	t->offset += 31000;
	notify_wake(t->notify);
	ok(wait_row(t, key, "sent", 2), "the password file is read again: "
					"sent");
	n = 0;
	for (;;) {
		path = xasprintf("%s/mail/%04d.eml", t->dir, n + 1);
		if (access(path, F_OK) != 0) {
			free(path);
			break;
		}
		free(path);
		n++;
	}
	is_int(n, 2, "two messages at the sink");

	/* smtps://: TLS from the start. */
	notify_reconfigure(t->notify, t->smtps_config);
	memset(&nc, 0, sizeof nc);
	nc.event = "rolled_back";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	queue(t, t->smtps_config, &nc);
	notify_wake(t->notify);
	snprintf(key, sizeof key, "rolled_back stage=%lld attempt=0",
	    (long long)t->stage_int);
	ok(wait_row(t, key, "sent", 1), "sent through smtps://");
	path = xasprintf("%s/mails/0001.json", t->dir);
	s = slurp(path);
	free(path);
	ok(s != NULL && strstr(s, "\"tls\": true") != NULL &&
		strstr(s, "\"auth_user\": \"deploy\"") != NULL,
	    "over TLS, authenticated");
	free(s);
	path = xasprintf("%s/mails/0001.eml", t->dir);
	s = slurp(path);
	free(path);
	ok(s != NULL && strstr(s, "Subject: [shipgate] billing 1.4.2 rolled "
				  "back in int\r\n") != NULL,
	    "the rollback's subject");
	free(s);

	/* A server without STARTTLS: nothing goes in clear unless the
	   configuration says starttls: false. */
	notify_reconfigure(t->notify, t->plain_tls_config);
	memset(&nc, 0, sizeof nc);
	nc.event = "deployed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.attempt = 1;
	queue(t, t->plain_tls_config, &nc);
	snprintf(key, sizeof key, "deployed stage=%lld attempt=1",
	    (long long)t->stage_int);
	ok(wait_row(t, key, "pending", 1), "STARTTLS required but not "
					   "offered: a failed attempt");
	path = xasprintf("%s/plain/0001.eml", t->dir);
	ok(access(path, F_OK) != 0, "nothing sent in clear");
	notify_reconfigure(t->notify, t->plain_config);
	t->offset += 31000;
	notify_wake(t->notify);
	ok(wait_row(t, key, "sent", 2), "sent with starttls: false");
	ok(access(path, F_OK) == 0, "the plain sink has it");
	free(path);
	notify_reconfigure(t->notify, t->config);
}

/* More recipients than one message takes: several rows. */
static void
test_many_recipients(struct t *t)
{
	struct notify_cause	 nc;
	struct store_outbox_row *r1, *r2;
	char			 key[128], key2[140];
	size_t			 n1 = 0, n2 = 0;
	const char		*p;

	memset(&nc, 0, sizeof nc);
	nc.event = "gate_needed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.attempt = 5;
	is_int(queue(t, t->big_config, &nc), 0,
	    "queued for 61 integrators "
	    "and operators");
	snprintf(key, sizeof key, "gate_needed stage=%lld attempt=5",
	    (long long)t->stage_int);
	snprintf(key2, sizeof key2, "%s part=2", key);
	r1 = row_by_key(t, key);
	r2 = row_by_key(t, key2);
	for (p = r1 != NULL ? r1->recipients : ""; *p != '\0'; p++)
		n1 += *p == '@';
	for (p = r2 != NULL ? r2->recipients : ""; *p != '\0'; p++)
		n2 += *p == '@';
	ok(n1 == 50 && n2 == 13,
	    "two messages: 50 and 13 recipients "
	    "(%zu, %zu)",
	    n1, n2);
	row_free(r1);
	row_free(r2);
	notify_wake(t->notify);
	ok(wait_row(t, key2, "sent", 1), "the second part is sent too");
}

/*
 * The people an identity provider signed in are mailed with their
 * groups while remembered (auth.*.remember_days, 90 by default), and a
 * group's own addresses (groups:) too.
 */
static void
test_people_recipients(struct t *t)
{
	struct notify_cause	  nc;
	struct store_outbox_row	 *r;
	struct config		 *c;
	struct people		 *pp;
	const struct config_user *u;
	const char *const	  integ[] = { "integrators", NULL };
	const char *const	  team[] = { "project-team", NULL };
	char			  key[128];
	int64_t			  now = t_now(t);

	c = load_config(t, "  ses: {}\n",
	    "groups:\n"
	    "  - {name: integrators, mail: [list@integrator.example]}\n");
	pp = people_new(0);
	if (c == NULL) {
		ok(0, "a config with groups: loads");
		people_free(pp);
		return;
	}
	c->people = pp;
	ok(people_set(pp, "erin", "erin@integrator.example", integ, "oidc",
	       now - 1000, &u, NULL, NULL) == 0 &&
		people_set(pp, "olga", "olga@integrator.example", integ, "oidc",
		    now - 91LL * 24 * 3600 * 1000, &u, NULL, NULL) == 0 &&
		people_set(pp, "tom", "tom@client.example", team, "alb",
		    now - 1000, &u, NULL, NULL) == 0,
	    "erin and olga (91 days ago) in integrators, tom in project-team");
	memset(&nc, 0, sizeof nc);
	nc.event = "approval_needed";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.attempt = 7;
	is_int(queue(t, c, &nc), 0, "the Int approval-needed mail queued");
	snprintf(key, sizeof key, "approval_needed stage=%lld attempt=7",
	    (long long)t->stage_int);
	r = row_by_key(t, key);
	ok(r != NULL &&
		strstr(r->recipients, "alice@integrator.example") != NULL,
	    "to the configured integrator (%s)",
	    r != NULL ? r->recipients : "no row");
	ok(r != NULL &&
		strstr(r->recipients, "erin@integrator.example") != NULL,
	    "to erin, signed in by the provider a second ago");
	ok(r != NULL &&
		strstr(r->recipients, "list@integrator.example") != NULL,
	    "to the group's own address");
	ok(r != NULL && strstr(r->recipients, "olga@") == NULL,
	    "not to olga, last seen beyond remember_days");
	ok(r != NULL && strstr(r->recipients, "tom@") == NULL,
	    "not to tom, of another group");
	row_free(r);
	ok(people_forget(pp, "erin") == 0, "erin forgotten");
	nc.attempt = 8;
	is_int(queue(t, c, &nc), 0, "another approval-needed mail queued");
	snprintf(key, sizeof key, "approval_needed stage=%lld attempt=8",
	    (long long)t->stage_int);
	r = row_by_key(t, key);
	ok(r != NULL && strstr(r->recipients, "erin@") == NULL &&
		strstr(r->recipients, "list@integrator.example") != NULL,
	    "a forgotten person is no longer mailed, the group's address is");
	row_free(r);
	/* The sender reads t->config, which has no directory: nothing
	 * else refers to c once the rows are queued. */
	config_free(c);
	people_free(pp);
}

/* A process that commits a message and is killed before sending it. */
static void
test_crash(struct t *t)
{
	struct notify_cause nc;
	json_t		   *mail;
	char		   *path, *cause = NULL, key[128];
	pid_t		    pid;
	int		    st, done = 0;
	struct store	   *s;

	/* This process's notify is stopped first: the child's row is
	   for the "restarted" one. */
	notify_stop(t->notify, set_cb, &done);
	while (!done)
		uv_run(&t->loop, UV_RUN_ONCE);
	t->notify = NULL;
	fakeaws_control(&t->fake, "DELETE", "/_fake/mail", NULL, NULL);

	memset(&nc, 0, sizeof nc);
	nc.event = "rejected";
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_int;
	nc.actor = "alice";
	nc.comment = "Wrong build";
	path = xasprintf("%s/shipgate.db", t->dir);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (store_open(path, &s, &cause) != 0)
			_exit(2);
		if (store_begin(s, NULL) != 0 ||
		    notify_queue(s, t->config, &nc, NULL) != 0 ||
		    store_commit(s, NULL) != 0)
			_exit(3);
		raise(SIGKILL); /* before anything is sent */
		_exit(4);
	}
	waitpid(pid, &st, 0);
	free(path);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "the queueing process "
	    "was killed after its commit");
	snprintf(key, sizeof key, "rejected stage=%lld attempt=0 by=alice",
	    (long long)t->stage_int);
	{
		struct store_outbox_row *r = row_by_key(t, key);

		ok(r != NULL && strcmp(r->status, "pending") == 0, "its row is "
								   "pending");
		row_free(r);
	}
	/* The restart: a new notify sends it, once. */
	t->notify = notify_new(&t->loop, t->store, t->aws, t->config);
	notify_start(t->notify, &cause);
	ok(wait_row(t, key, "sent", 1), "sent after the restart");
	spin(t, 300);
	t->offset += 2 * 3600 * 1000;
	notify_wake(t->notify);
	spin(t, 300);
	mail = fake_mail(t);
	is_int((long long)json_array_size(mail), 1, "exactly once");
	is_str(jstr(json_array_get(mail, 0), "subject"),
	    "[shipgate] billing "
	    "1.4.2 rejected for int by alice",
	    "the rejection");
	json_decref(mail);
}

static void
test_invalid_release(struct t *t)
{
	struct store_release_in	  rel;
	struct notify_cause	  nc;
	struct store_outbox_rows *rows = NULL;
	int64_t			  app_id, id;
	char			 *key;
	int			  found = 0;
	size_t			  i;

	store_app_id(t->store, "billing", &app_id, NULL);
	memset(&rel, 0, sizeof rel);
	rel.app_id = app_id;
	rel.bucket = "releases-billing";
	rel.key = "drops/broken.zip";
	rel.size = 10;
	rel.author = "someone@integrator.example";
	rel.status = STORE_RELEASE_INVALID;
	rel.reason = "release.json: \"version\" is missing";
	store_record_release(t->store, &rel, &id, NULL);
	memset(&nc, 0, sizeof nc);
	nc.event = "release_invalid";
	nc.release_id = id;
	nc.reason = rel.reason;
	is_int(queue(t, t->config, &nc), 0, "release_invalid queued");
	key = xasprintf("release_invalid release=%lld", (long long)id);
	/* Not a run's row: read it through the due list. */
	store_outbox_due(t->store, store_now(t->store) + 1, 100, NULL, 0, &rows,
	    NULL);
	for (i = 0; rows != NULL && i < rows->n; i++)
		if (strcmp(rows->items[i].dedup_key, key) == 0) {
			found = 1;
			is_str(rows->items[i].recipients,
			    "someone@integrator.example",
			    "to the author, an "
			    "e-mail address");
			ok(strstr(rows->items[i].body_text,
			       "Reason: release."
			       "json: \"version\" is missing") != NULL,
			    "with the exact reason");
		}
	ok(found, "the row is there");
	store_outbox_rows_free(rows);
	free(key);
}

/* Approved outside its deploy window: the outbox takes the events
 * (sql/011 widened its list), the subject says when it will run, an
 * override goes to the approvers.  Last: it adds rows. */
static void
test_window_events(struct t *t)
{
	struct notify_cause	 nc;
	struct store_outbox_row *r;
	char			 key[128];

	memset(&nc, 0, sizeof nc);
	nc.run_id = t->run_id;
	nc.stage_id = t->stage_stg;
	nc.attempt = 0;

	nc.event = "window_wait";
	nc.reason = "outside the deploy windows: will start executing at "
		    "2026-12-14 09:00 Europe/Paris (UTC+01:00)";
	is_int(queue(t, t->config, &nc), 0, "window_wait queued");
	snprintf(key, sizeof key, "window_wait stage=%lld attempt=0",
	    (long long)t->stage_stg);
	r = row_by_key(t, key);
	ok(r != NULL, "window_wait row \"%s\"", key);
	if (r != NULL)
		is_str(r->subject,
		    "[shipgate] billing 1.4.2 approved for stg: "
		    "runs at 2026-12-14 09:00 Europe/Paris (UTC+01:00)",
		    "window_wait: the subject says when it will run");
	row_free(r);
	nc.event = "window_override";
	nc.actor = "dave";
	nc.comment = "hotfix";
	is_int(queue(t, t->config, &nc), 0, "window_override queued");
	snprintf(key, sizeof key, "window_override stage=%lld attempt=0",
	    (long long)t->stage_stg);
	r = row_by_key(t, key);
	ok(r != NULL && strstr(r->recipients, "bob@client.example") != NULL,
	    "window_override goes to the approvers");
	row_free(r);
}

int
main(void)
{
	char *logpath, *log;
	int   saved, logfd = -1;

	log_init("test-notify");
	if (access("/usr/bin/python3", X_OK) != 0)
		tap_bail("no /usr/bin/python3: the tests' fixtures need it");
	if (run_shell("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0)
		tap_skip_all("python3-aiosmtpd is not installed");
	if (t_setup(&T) != 0) {
		ok(0, "set-up");
		return (tap_done());
	}
	/* Every log line at debug level goes to a file, read at the end:
	   no secret in it. */
	log_set_level(LOG_LEVEL_DEBUG);
	log_set_debug(LOG_CAT_ALL);
	fflush(stderr);
	saved = dup(2);
	logpath = xasprintf("%s/test.log", T.dir);
	if ((logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
		dup2(logfd, 2);
	test_queue(&T);
	test_ses(&T);
	test_reminders(&T);
	test_retry_and_give_up(&T);
	test_reply_lost(&T);
	test_storage_fault(&T);
	test_stop_waits(&T);
	test_smtp(&T);
	test_crash(&T);
	test_invalid_release(&T);
	test_many_recipients(&T);
	test_people_recipients(&T);
	test_window_events(&T);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(logfd);
	log = slurp(logpath);
	ok(log != NULL && strstr(log, "notification sent") != NULL &&
		strstr(log, "http call done") != NULL,
	    "debug logs were written");
	ok(log != NULL && strstr(log, "pa55-w0rd") == NULL &&
		strstr(log, "SECRETTOKEN") == NULL,
	    "neither the SMTP password "
	    "nor the webhook's URL in them");
	free(log);
	free(logpath);
	t_teardown(&T);
	return (tap_done());
}
