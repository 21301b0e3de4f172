/*
 * Release intake against the fake AWS endpoint: a bucket whose objects
 * notify a queue (with a dead-letter queue after 3 receives) and a bucket
 * read by listing alone.  Puts go through the real S3 client, odd
 * messages through SendMessage; the fake's call counts and state show
 * what was deleted and what went to the dead-letter queue.  The release
 * callback acts as the engine does: it makes a run of a valid release.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>
#include <zip.h>

#include "aws-client.h"
#include "aws-context.h"
#include "aws-services.h"
#include "config.h"
#include "fakeaws.h"
#include "intake.h"
#include "store.h"
#include "svc-s3.h"
#include "tap.h"
#include "xmalloc.h"

#define QUEUE	    "billing-drops"
#define DLQ	    "billing-drops-dlq"
#define BUCKET	    "releases-billing"
#define LIST_BUCKET "releases-listonly"
#define NEW_BUCKET  "releases-newapp"

static uv_loop_t	   loop;
static struct fakeaws	   fake;
static struct store	  *store;
static struct config	  *config;
static struct aws_context *aws;
static char		   tmpdir[] = "/tmp/test-intake.XXXXXX";
static char		  *queue_url;

/* What the release callback saw. */
static int     cb_calls;
static int     cb_fail; /* fail this many calls */
static int64_t cb_last;
static long    cb_deletes_at_call; /* DeleteMessage calls then */
static int     cb_committed;	   /* the release was readable */

/* --- the fake ------------------------------------------------------------ */

static json_t *
fake_get(const char *path)
{
	struct fakeaws_reply r;
	json_t		    *j = NULL;

	if (fakeaws_control(&fake, "GET", path, NULL, &r) == 200)
		j = json_loads(r.body, 0, NULL);
	free(r.body);
	return (j);
}

static long
fake_calls(const char *service, const char *op)
{
	json_t *j = fake_get("/_fake/calls"), *v;
	long	n = 0;

	if (j != NULL &&
	    (v = json_object_get(json_object_get(j, service), op)) != NULL)
		n = (long)json_integer_value(v);
	json_decref(j);
	return (n);
}

/* Messages in a queue (visible or not). */
static long
queue_depth(const char *name)
{
	json_t *j = fake_get("/_fake/state"), *q;
	char	key[128];
	long	n = -1;

	snprintf(key, sizeof key, "%s/%s/%s", FAKEAWS_ACCOUNT, FAKEAWS_REGION,
	    name);
	if (j != NULL &&
	    (q = json_object_get(json_object_get(j, "sqs"), key)) != NULL)
		n = (long)json_array_size(json_object_get(q, "messages"));
	json_decref(j);
	return (n);
}

static void
fake_post(const char *path, const char *json)
{
	struct fakeaws_reply r;
	long		     st;

	st = fakeaws_control(&fake, "POST", path, json, &r);
	if (st != 200)
		printf("# %s: %ld %s\n", path, st,
		    r.body != NULL ? r.body : "");
	free(r.body);
}

/* --- the loop ------------------------------------------------------------ */

static void
deadline_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* Runs the loop until pred() or timeout_ms; returns pred(). */
static int
run_until(int (*pred)(void *), void *arg, long timeout_ms)
{
	uv_timer_t t;
	int	   expired = 0, ok;

	uv_timer_init(&loop, &t);
	t.data = &expired;
	uv_timer_start(&t, deadline_cb, (uint64_t)timeout_ms, 0);
	while (!(ok = pred(arg)) && !expired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return (ok);
}

static int
flag_set(void *arg)
{
	return (*(int *)arg != 0);
}

/* Runs the loop for ms, whatever happens. */
static void
run_for(long ms)
{
	int never = 0;

	run_until(flag_set, &never, ms);
}

struct put {
	int   done;
	int   error;
	char *etag;
	char *version_id;
};

static void
put_cb(const struct aws_reply *reply, struct s3_put_result *r, void *arg)
{
	struct put *p = arg;

	p->done = 1;
	p->error = reply->error;
	if (r != NULL) {
		p->etag = r->etag != NULL ? xstrdup(r->etag) : NULL;
		p->version_id = r->version_id != NULL ? xstrdup(r->version_id) :
							NULL;
	}
	s3_put_result_free(r);
}

static int
put_object(const char *bucket, const char *key, const void *data, size_t len,
    struct put *p)
{
	struct s3_put_params pp;
	char		    *cause = NULL;

	memset(p, 0, sizeof *p);
	memset(&pp, 0, sizeof pp);
	pp.t.bucket = bucket;
	pp.t.key = key;
	pp.data = data;
	pp.len = len;
	pp.content_type = "application/zip";
	if (s3_put_object(aws_context_client(aws), &pp, put_cb, p, &cause) ==
	    NULL) {
		printf("# put %s: %s\n", key, cause);
		free(cause);
		return (-1);
	}
	run_until(flag_set, &p->done, 10000);
	if (p->error != AWS_OK)
		printf("# put %s failed: %d\n", key, p->error);
	return (p->done && p->error == AWS_OK ? 0 : -1);
}

static void
put_free(struct put *p)
{
	free(p->etag);
	free(p->version_id);
}

static void
send_cb(struct aws_reply *reply, void *arg)
{
	*(int *)arg = reply->error == AWS_OK ? 1 : -1;
	if (reply->error != AWS_OK)
		printf("# SendMessage: %s\n", reply->message);
}

/* SendMessage with a body of our own. */
static int
send_message(const char *body)
{
	struct aws_request req;
	json_t		  *j;
	char		  *text, *cause = NULL;
	int		   done = 0;

	j = json_pack("{s:s, s:s}", "QueueUrl", queue_url, "MessageBody", body);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	memset(&req, 0, sizeof req);
	req.service = &aws_service_sqs;
	req.operation = "SendMessage";
	req.body = text;
	req.body_len = strlen(text);
	if (aws_client_call(aws_context_client(aws), &req, send_cb, &done,
		&cause) == NULL) {
		printf("# SendMessage: %s\n", cause);
		free(cause);
		free(text);
		return (-1);
	}
	run_until(flag_set, &done, 10000);
	free(text);
	return (done == 1 ? 0 : -1);
}

/* --- releases ------------------------------------------------------------ */

static int
release_cb(int64_t release_id, void *arg)
{
	struct store_release *r = NULL;
	struct store_run_in   run;
	int64_t		      run_id;

	(void)arg;
	cb_calls++;
	cb_last = release_id;
	cb_deletes_at_call = fake_calls("sqs", "DeleteMessage");
	cb_committed = store_get_release(store, release_id, &r, NULL) == 0;
	if (cb_fail > 0) {
		cb_fail--;
		store_release_free(r);
		return (-1);
	}
	/* As the engine: a valid release gets a run. */
	if (r != NULL && r->status == STORE_RELEASE_VALID) {
		memset(&run, 0, sizeof run);
		run.release_id = release_id;
		if (store_create_run(store, &run, &run_id, NULL) != 0) {
			store_release_free(r);
			return (-1);
		}
	}
	store_release_free(r);
	return (0);
}

static int
count_releases(void)
{
	struct store_release *r;
	int64_t		      id;
	int		      n = 0;

	for (id = 1; store_get_release(store, id, &r, NULL) == 0; id++) {
		store_release_free(r);
		n++;
	}
	return (n);
}

static struct store_release *
last_release(void)
{
	struct store_release *r = NULL;

	store_get_release(store, cb_last, &r, NULL);
	return (r);
}

static const char *TEMPLATE = "AWSTemplateFormatVersion: \"2010-09-09\"\n"
			      "Parameters:\n"
			      "  ImageTag: {Type: String}\n"
			      "Resources:\n"
			      "  Service:\n"
			      "    Type: AWS::ECS::Service\n"
			      "    Properties:\n"
			      "      DesiredCount: 1\n";

/* A release zip for app, in memory (caller frees). */
static char *
make_zip(const char *app, const char *version, size_t *lenp)
{
	zip_t	     *za;
	zip_source_t *src;
	char	     *path, *manifest, *data = NULL;
	FILE	     *f;
	struct stat   st;
	int	      err;

	*lenp = 0;
	path = xasprintf("%s/r.zip", tmpdir);
	manifest = xasprintf(
	    "{\"app\": \"%s\", \"version\": \"%s\", "
	    "\"message\": \"release %s\", \"author\": \"alice\", "
	    "\"template\": \"template.yaml\", \"images\": [{\"repository\": "
	    "\"%s/web\", \"tag\": \"%s\"}], \"parameters\": {\"ImageTag\": "
	    "\"%s\"}}",
	    app, version, version, app, version, version);
	if ((za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err)) == NULL)
		goto out;
	src = zip_source_buffer(za, manifest, strlen(manifest), 0);
	zip_file_add(za, "release.json", src, ZIP_FL_ENC_UTF_8);
	src = zip_source_buffer(za, TEMPLATE, strlen(TEMPLATE), 0);
	zip_file_add(za, "template.yaml", src, ZIP_FL_ENC_UTF_8);
	if (zip_close(za) != 0) {
		zip_discard(za);
		goto out;
	}
	if (stat(path, &st) != 0 || (f = fopen(path, "rb")) == NULL)
		goto out;
	data = xmalloc(st.st_size);
	if (fread(data, 1, st.st_size, f) != (size_t)st.st_size) {
		free(data);
		data = NULL;
	} else
		*lenp = st.st_size;
	fclose(f);
out:
	unlink(path);
	free(path);
	free(manifest);
	return (data);
}

/* --- intake -------------------------------------------------------------- */

static struct intake *
start_intake(int64_t first_list_ms)
{
	struct intake_timing t;
	struct intake	    *in;
	char		    *cause = NULL;

	in = intake_new(&loop, store, aws, config, release_cb, NULL);
	memset(&t, 0, sizeof t);
	t.first_list_ms = first_list_ms;
	t.backoff_min_ms = 20;
	t.backoff_max_ms = 200;
	t.wait_seconds = 5;
	t.retry_visibility_s = 0;
	intake_set_timing(in, &t);
	if (intake_start(in, &cause) != 0) {
		printf("Bail out! intake_start: %s\n", cause);
		fakeaws_stop(&fake);
		exit(1);
	}
	return (in);
}

static void
stopped_cb(void *arg)
{
	*(int *)arg = 1;
}

static void
stop_intake(struct intake *in)
{
	int stopped = 0;

	intake_stop(in, stopped_cb, &stopped);
	ok(run_until(flag_set, &stopped, 10000), "intake stops");
}

struct wait_calls {
	int  calls;   /* cb_calls at least */
	long deletes; /* DeleteMessage calls at least */
};

static int
calls_reached(void *arg)
{
	struct wait_calls *w = arg;

	if (cb_calls < w->calls)
		return (0);
	return (w->deletes <= 0 ||
		fake_calls("sqs", "DeleteMessage") >= w->deletes);
}

static int
wait_calls(int calls, long deletes)
{
	struct wait_calls w = { calls, deletes };

	return (run_until(calls_reached, &w, 10000));
}

static int
gets_reached(void *arg)
{
	return (fake_calls("s3", "GetObject") >= *(long *)arg);
}

static int
deletes_reached(void *arg)
{
	return (fake_calls("sqs", "DeleteMessage") >= *(long *)arg);
}

struct wait_failure {
	const char *key; /* NULL: a failure without key */
	int	    found;
	long	    receive_count;
	char	   *reason;
};

static int
failure_recorded(void *arg)
{
	struct wait_failure	     *w = arg;
	struct store_intake_failures *l = NULL;
	size_t			      i;

	if (store_intake_failures(store, 0, 100, &l, NULL) != 0)
		return (0);
	for (i = 0; i < l->n && !w->found; i++) {
		if ((w->key == NULL) != (l->v[i].key == NULL))
			continue;
		if (w->key != NULL && strcmp(w->key, l->v[i].key) != 0)
			continue;
		w->found = 1;
		w->receive_count = l->v[i].receive_count;
		w->reason = xstrdup(l->v[i].reason);
	}
	store_intake_failures_free(l);
	return (w->found);
}

static int
dlq_reached(void *arg)
{
	return (queue_depth(DLQ) >= *(long *)arg);
}

/* --- tests --------------------------------------------------------------- */

static void
test_decode_key(void)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ "drops/a.zip", "drops/a.zip" },
		{ "drops/my+release.zip", "drops/my release.zip" },
		{ "drops/a%2Bb.zip", "drops/a+b.zip" },
		{ "drops/caf%C3%A9.zip", "drops/caf\xc3\xa9.zip" },
		{ "drops/%2fx", "drops//x" },
		{ "drops/100%25.zip", "drops/100%.zip" },
		{ "drops/bad%zz.zip", NULL },
		{ "drops/short%4", NULL },
		{ "drops/nul%00.zip", NULL },
	};
	size_t i;
	char  *got;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = intake_decode_key(cases[i].in);
		if (cases[i].want == NULL)
			ok(got == NULL, "decode %s: refused", cases[i].in);
		else
			is_str(got, cases[i].want, "decode %s", cases[i].in);
		free(got);
	}
}

static void
setup_fake(void)
{
	char *json;

	json = xasprintf("{\"account\": \"%s\", \"region\": \"%s\", "
			 "\"buckets\": [{\"name\": \"" BUCKET
			 "\", \"versioning\": true}, "
			 "{\"name\": \"" LIST_BUCKET
			 "\"}, {\"name\": \"" NEW_BUCKET "\"}],"
			 " \"queues\": [{\"name\": \"" DLQ "\"}]}",
	    FAKEAWS_ACCOUNT, FAKEAWS_REGION);
	fake_post("/_fake/setup", json);
	free(json);
	json = xasprintf(
	    "{\"account\": \"%s\", \"region\": \"%s\", "
	    "\"queues\": [{\"name\": \"" QUEUE "\", \"attributes\": "
	    "{\"VisibilityTimeout\": \"2\", "
	    "\"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\": "
	    "\\\"arn:aws:sqs:%s:%s:" DLQ "\\\", \\\"maxReceiveCount\\\": "
	    "\\\"3\\\"}\"}}], \"notifications\": [{\"bucket\": \"" BUCKET
	    "\", \"queue\": \"" QUEUE "\"}]}",
	    FAKEAWS_ACCOUNT, FAKEAWS_REGION, FAKEAWS_REGION, FAKEAWS_ACCOUNT);
	fake_post("/_fake/setup", json);
	free(json);
}

#define ENV_FMT                                                           \
	"    environments:\n"                                             \
	"      - {name: int, account: \"111111111111\", stack: %s-int,\n" \
	"         role_arn: \"arn:aws:iam::111111111111:role/d\","        \
	" approvers: [team]}\n"

static struct config *
load_config(int with_newapp)
{
	struct config_errors e;
	struct config	    *c;
	char		    *text;
	char		    *env1, *env2;
	size_t		     i;

	env1 = xasprintf(ENV_FMT, "billing");
	env2 = xasprintf(ENV_FMT, with_newapp ? "newapp" : "listonly");
	text = xasprintf(
	    "public_url: https://deploy.example.com\n"
	    "database: %s/shipgate.db\n"
	    "aws:\n"
	    "  region: %s\n"
	    "  max_attempts: 1\n"
	    "  endpoints: {s3: \"%s\", sqs: \"%s\", sts: \"%s\"}\n"
	    "users: [{name: alice, email: alice@example.com, groups: [team]}]\n"
	    "apps:\n"
	    "  - name: billing\n"
	    "    source: {bucket: " BUCKET ", prefix: drops/, queue_url: "
	    "\"%s\", poll_interval: 1h, max_receives: 3}\n"
	    "    limits: {zip_size: 64KiB}\n"
	    "%s"
	    "  - name: %s\n"
	    "    source: {bucket: %s, poll_interval: 1s}\n"
	    "%s",
	    tmpdir, FAKEAWS_REGION, fake.url, fake.url, fake.url, queue_url,
	    env1, with_newapp ? "newapp" : "listonly",
	    with_newapp ? NEW_BUCKET : LIST_BUCKET, env2);
	free(env1);
	free(env2);
	c = config_load_buffer("t.yaml", text, strlen(text), &e);
	for (i = 0; i < e.n; i++)
		printf("# config: %s\n", e.lines[i]);
	config_errors_free(&e);
	free(text);
	return (c);
}

static void
test_queue(struct intake *in)
{
	struct intake_stats   st0, st;
	struct store_release *r;
	struct put	      p, p1;
	struct wait_failure   wf;
	json_t		     *j;
	char		     *zip, *body, *sns, *big;
	size_t		      len;
	long		      deletes, dlq, gets;
	int		      calls, n;

	/* One put: one release, one call, the message deleted after. */
	zip = make_zip("billing", "1.0.0", &len);
	ok(zip != NULL, "a release zip is made (%zu bytes)", len);
	ok(put_object(BUCKET, "drops/app-1.zip", zip, len, &p1) == 0,
	    "put drops/app-1.zip");
	ok(wait_calls(1, 1), "the callback is called and the message "
			     "deleted");
	is_int(cb_calls, 1, "the callback was called once");
	ok(cb_committed, "the release was committed before the callback");
	is_int(cb_deletes_at_call, 0, "no DeleteMessage before the callback");
	is_int(count_releases(), 1, "one release");
	r = last_release();
	ok(r != NULL && r->status == STORE_RELEASE_VALID, "it is valid");
	is_str(r != NULL ? r->key : NULL, "drops/app-1.zip", "its key");
	is_str(r != NULL ? r->version : NULL, "1.0.0", "its version");
	is_str(r != NULL ? r->version_id : NULL, p1.version_id,
	    "its S3 version id");
	store_release_free(r);
	run_for(200);
	is_int(queue_depth(QUEUE), 0, "the queue is empty");
	is_int(fake_calls("sqs", "DeleteMessage"), 1, "one DeleteMessage");

	/* Spaces, '+' and UTF-8 in the key. */
	ok(put_object(BUCKET, "drops/my release+1 caf\xc3\xa9.zip", zip, len,
	       &p) == 0,
	    "put a key with a space, a plus and UTF-8");
	put_free(&p);
	ok(wait_calls(2, 2), "its release is handed over");
	r = last_release();
	is_str(r != NULL ? r->key : NULL, "drops/my release+1 caf\xc3\xa9.zip",
	    "the key is decoded");
	store_release_free(r);

	/* Not for us: another suffix, another prefix, another bucket. */
	intake_stats(in, &st0);
	ok(put_object(BUCKET, "drops/readme.txt", "hello", 5, &p) == 0,
	    "put drops/readme.txt");
	put_free(&p);
	ok(put_object(BUCKET, "elsewhere/app.zip", zip, len, &p) == 0,
	    "put elsewhere/app.zip");
	put_free(&p);
	ok(send_message(
	       "{\"Records\": [{\"eventVersion\": \"2.1\", "
	       "\"eventSource\": \"aws:s3\", \"eventName\": \"ObjectCreated:Put\","
	       " \"s3\": {\"bucket\": {\"name\": \"mybucket\"}, \"object\": "
	       "{\"key\": \"drops/x.zip\", \"size\": 3, \"eTag\": \"abc\"}}}]}") ==
		0,
	    "send an event for another bucket");
	/* s3:TestEvent, as S3 sends it when notifications are saved. */
	ok(send_message(
	       "{\"Service\": \"Amazon S3\", \"Event\": "
	       "\"s3:TestEvent\", \"Time\": \"2014-10-13T15:57:02.089Z\", "
	       "\"Bucket\": \"" BUCKET
	       "\", \"RequestId\": \"5582815E1AEA5ADF\", "
	       "\"HostId\": \"8cLeGAmw\"}") == 0,
	    "send an s3:TestEvent");
	/* An object removed: not a release. */
	ok(send_message(
	       "{\"Records\": [{\"eventVersion\": \"2.1\", "
	       "\"eventSource\": \"aws:s3\", \"eventName\": "
	       "\"ObjectRemoved:Delete\", \"s3\": {\"bucket\": {\"name\": \"" BUCKET
	       "\"}, \"object\": {\"key\": \"drops/old.zip\", "
	       "\"sequencer\": \"00AB\"}}}]}") == 0,
	    "send an ObjectRemoved:Delete event");
	deletes = 7;
	ok(run_until(deletes_reached, &deletes, 10000),
	    "the five messages are deleted");
	intake_stats(in, &st);
	is_int(cb_calls, 2, "no callback for them");
	is_int(count_releases(), 2, "no release from them");
	ok(st.ignored - st0.ignored >= 4, "four records ignored (%llu)",
	    (unsigned long long)(st.ignored - st0.ignored));

	/* The first put's event again (a redelivery): no second release. */
	body = xasprintf(
	    "{\"Records\": [{\"eventVersion\": \"2.1\", "
	    "\"eventSource\": \"aws:s3\", \"awsRegion\": \"%s\", "
	    "\"eventName\": \"ObjectCreated:Put\", \"s3\": {\"bucket\": "
	    "{\"name\": \"" BUCKET "\"}, \"object\": {\"key\": "
	    "\"drops/app-1.zip\", \"size\": %zu, \"eTag\": %s, "
	    "\"versionId\": \"%s\", \"sequencer\": \"00AA\"}}}]}",
	    FAKEAWS_REGION, len, p1.etag, p1.version_id);
	intake_stats(in, &st0);
	ok(send_message(body) == 0, "send app-1's event again");
	deletes = 8;
	ok(run_until(deletes_reached, &deletes, 10000),
	    "the redelivered message is deleted");
	intake_stats(in, &st);
	is_int(cb_calls, 2, "no callback for a release that has its run");
	is_int(count_releases(), 2, "still two releases");
	is_int((long long)(st.duplicates - st0.duplicates), 1,
	    "a duplicate was found");

	/* The same through SNS (a Notification whose Message is the event). */
	j = json_pack("{s:s, s:s, s:s}", "Type", "Notification", "TopicArn",
	    "arn:aws:sns:eu-west-1:000000000000:drops", "Message", body);
	sns = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ok(send_message(sns) == 0, "send it again wrapped in SNS");
	free(sns);
	free(body);
	deletes = 9;
	ok(run_until(deletes_reached, &deletes, 10000),
	    "the SNS message is deleted");
	intake_stats(in, &st0);
	is_int((long long)(st0.duplicates - st.duplicates), 1,
	    "it is unwrapped and found a duplicate");
	is_int(count_releases(), 2, "still two releases");
	put_free(&p1);

	/* Invalid releases: recorded with the reason, handed over. */
	ok(put_object(BUCKET, "drops/not-a-zip.zip", "hello, world", 12, &p) ==
		0,
	    "put a zip that is not one");
	put_free(&p);
	ok(wait_calls(3, 10), "the invalid release is handed over and the "
			      "message deleted");
	r = last_release();
	ok(r != NULL && r->status == STORE_RELEASE_INVALID,
	    "it is recorded invalid");
	ok(r != NULL && r->reason != NULL && strncmp(r->reason, "zip:", 4) == 0,
	    "with the reason: %s",
	    r != NULL && r->reason != NULL ? r->reason : "(none)");
	store_release_free(r);
	free(zip);
	zip = make_zip("payroll", "2.0.0", &len);
	ok(put_object(BUCKET, "drops/other-app.zip", zip, len, &p) == 0,
	    "put a release of another app");
	put_free(&p);
	ok(wait_calls(4, 11), "it is handed over and the message deleted");
	r = last_release();
	ok(r != NULL && r->status == STORE_RELEASE_INVALID &&
		r->reason != NULL &&
		strstr(r->reason, "release.json: app:") != NULL,
	    "it is invalid: %s",
	    r != NULL && r->reason != NULL ? r->reason : "(none)");
	store_release_free(r);
	free(zip);

	/* Over the app's zip size (64KiB): invalid without being read. */
	gets = fake_calls("s3", "GetObject");
	big = xcalloc(1, 70000);
	ok(put_object(BUCKET, "drops/big.zip", big, 70000, &p) == 0,
	    "put a 70000-byte zip");
	put_free(&p);
	free(big);
	ok(wait_calls(5, 12), "it is handed over and the message deleted");
	r = last_release();
	ok(r != NULL && r->status == STORE_RELEASE_INVALID &&
		r->reason != NULL &&
		strcmp(r->reason,
		    "zip: 70000 bytes, more "
		    "than the 65536 bytes allowed (limits.zip_size)") == 0,
	    "it is invalid: %s",
	    r != NULL && r->reason != NULL ? r->reason : "(none)");
	store_release_free(r);
	is_int(fake_calls("s3", "GetObject"), gets, "it was not downloaded");

	/* The callback fails twice: the message stays until it succeeds. */
	zip = make_zip("billing", "1.1.0", &len);
	cb_fail = 2;
	ok(put_object(BUCKET, "drops/app-2.zip", zip, len, &p) == 0,
	    "put drops/app-2.zip (the callback will fail twice)");
	put_free(&p);
	ok(wait_calls(8, 13), "the message comes back until the callback "
			      "takes the release, then is deleted");
	is_int(cb_calls, 8, "three calls for it");
	is_int(cb_deletes_at_call, 12, "no DeleteMessage while it failed");
	is_int(count_releases(), 6, "one release for it");
	run_for(200);
	is_int(queue_depth(QUEUE), 0, "the queue is empty");

	/* Poison: a body that is not JSON. */
	calls = cb_calls;
	ok(send_message("this is not an S3 event") == 0,
	    "send a message that is not JSON");
	memset(&wf, 0, sizeof wf);
	ok(run_until(failure_recorded, &wf, 15000), "it is recorded in "
						    "intake_failures");
	is_int(wf.receive_count, 3, "after its third receive");
	ok(wf.reason != NULL && strncmp(wf.reason, "message ", 8) == 0 &&
		strstr(wf.reason, "S3 event") != NULL,
	    "with the message id and "
	    "the reason: %s",
	    wf.reason != NULL ? wf.reason : "(none)");
	free(wf.reason);
	dlq = 1;
	ok(run_until(dlq_reached, &dlq, 10000), "it moves to the dead-letter "
						"queue");
	is_int(fake_calls("sqs", "DeleteMessage"), 13, "it was not deleted");

	/* Poison: an object S3 keeps failing to give. */
	fake_post("/_fake/faults",
	    "{\"service\": \"s3\", \"operation\": "
	    "\"GetObject\", \"mode\": \"error500\", \"count\": 100}");
	ok(put_object(BUCKET, "drops/app-3.zip", zip, len, &p) == 0,
	    "put drops/app-3.zip (GetObject fails)");
	put_free(&p);
	memset(&wf, 0, sizeof wf);
	wf.key = "drops/app-3.zip";
	ok(run_until(failure_recorded, &wf, 15000), "it is recorded in "
						    "intake_failures");
	ok(wf.reason != NULL && strstr(wf.reason, "InternalError") != NULL,
	    "with S3's error: %s", wf.reason != NULL ? wf.reason : "(none)");
	free(wf.reason);
	dlq = 2;
	ok(run_until(dlq_reached, &dlq, 10000), "it moves to the dead-letter "
						"queue");
	fakeaws_control(&fake, "DELETE", "/_fake/faults", NULL, NULL);
	is_int(fake_calls("sqs", "DeleteMessage"), 13, "it was not deleted");
	is_int(cb_calls, calls, "no callback for the poison messages");
	n = count_releases();
	is_int(n, 6, "no release for them");
	free(zip);
}

static void
test_listing(void)
{
	struct put p;
	char	  *zip;
	size_t	   len;
	int	   calls = cb_calls;
	int64_t	   id;

	zip = make_zip("listonly", "3.0.0", &len);
	ok(put_object(LIST_BUCKET, "r1.zip", zip, len, &p) == 0,
	    "put r1.zip in the bucket without a queue");
	put_free(&p);
	ok(put_object(LIST_BUCKET, "notes.txt", "x", 1, &p) == 0,
	    "put notes.txt there too");
	put_free(&p);
	ok(wait_calls(calls + 1, 0), "a listing finds the release");
	id = cb_last;
	run_for(1500);
	is_int(cb_calls, calls + 1, "once, and notes.txt is ignored");
	free(zip);

	/* The callback fails: the next listing hands the release over. */
	zip = make_zip("listonly", "3.0.1", &len);
	cb_fail = 1;
	ok(put_object(LIST_BUCKET, "r1b.zip", zip, len, &p) == 0,
	    "put r1b.zip (the callback will fail once)");
	put_free(&p);
	ok(wait_calls(calls + 3, 0), "the next listing hands it over again");
	ok(cb_last == id + 1, "the same release");
	run_for(1500);
	is_int(cb_calls, calls + 3, "then no more");
	is_int(count_releases(), id + 1, "one release for it");
	free(zip);
}

/* fdatasync for the syncers: fails with EIO while sync_fails is set, so
 * that their probes keep a storage fault set. */
static int sync_fails;

int
fdatasync(int fd)
{
	if (__atomic_load_n(&sync_fails, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return (-1);
	}
	return (fsync(fd));
}

/*
 * A storage fault: nothing is received while it lasts (a receive already
 * waiting, up to wait_seconds, ends first); once it clears, the message
 * waiting in the queue is taken.
 */
static void
test_storage_fault(void)
{
	struct put p;
	char	  *zip;
	size_t	   len;
	long	   receives;
	int	   calls, n;

	__atomic_store_n(&sync_fails, 1, __ATOMIC_SEQ_CST);
	store_fault_set("cannot sync: %s", strerror(EIO));
	run_for(6500);
	receives = fake_calls("sqs", "ReceiveMessage");
	calls = cb_calls;
	n = count_releases();
	zip = make_zip("billing", "1.0.9", &len);
	ok(put_object(BUCKET, "drops/app-fault.zip", zip, len, &p) == 0,
	    "put drops/app-fault.zip during a storage fault");
	put_free(&p);
	free(zip);
	run_for(3000);
	is_int(fake_calls("sqs", "ReceiveMessage"), receives,
	    "storage "
	    "fault: no ReceiveMessage while it lasts");
	is_int(cb_calls, calls, "storage fault: no release taken");
	/* The disk recovers: the syncer's probe clears the fault. */
	__atomic_store_n(&sync_fails, 0, __ATOMIC_SEQ_CST);
	ok(wait_calls(calls + 1, 0), "storage fault cleared by a probe: the "
				     "release waiting in the queue is taken");
	is_int(count_releases(), n + 1,
	    "storage fault cleared: one release "
	    "more");
}

int
main(void)
{
	struct intake	     *in;
	struct intake_stats   st;
	struct store_release *r;
	struct put	      p;
	struct config	     *c2;
	char		     *cause = NULL, *zip, *path;
	size_t		      len;
	long		      deletes, gets;
	int		      closed = 0, calls;

	test_decode_key();
	if (fakeaws_start(&fake) != 0) {
		ok(0, "the fake starts");
		return (tap_done());
	}
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return (1);
	}
	setenv("AWS_ACCESS_KEY_ID", FAKEAWS_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", FAKEAWS_SECRET_KEY, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	queue_url = xasprintf("%s/%s/%s", fake.url, FAKEAWS_ACCOUNT, QUEUE);
	setup_fake();

	uv_loop_init(&loop);
	path = xasprintf("%s/shipgate.db", tmpdir);
	if (store_open(path, &store, &cause) != 0 ||
	    (config = load_config(0)) == NULL ||
	    (aws = aws_context_new(&loop, config, &cause)) == NULL) {
		printf("Bail out! set-up: %s\n",
		    cause != NULL ? cause : "config");
		fakeaws_stop(&fake);
		return (1);
	}

	/* A first intake: the queue and the listing. */
	in = start_intake(100);
	run_for(300); /* the first listings: nothing yet */
	test_queue(in);
	test_listing();
	intake_stats(in, &st);
	ok(st.listings >= 2, "the listings ran (%llu)",
	    (unsigned long long)st.listings);
	stop_intake(in);

	/*
	 * A restart: app-3 (whose message went to the dead-letter queue)
	 * and app-4 (put while stopped; the first receive is slowed down)
	 * are picked up by the listing; app-4's event is then a duplicate;
	 * r1.zip is not repeated.
	 */
	calls = cb_calls;
	zip = make_zip("billing", "1.2.0", &len);
	ok(put_object(BUCKET, "drops/app-4.zip", zip, len, &p) == 0,
	    "put drops/app-4.zip while intake is stopped");
	put_free(&p);
	free(zip);
	fake_post("/_fake/faults",
	    "{\"service\": \"sqs\", \"operation\": "
	    "\"ReceiveMessage\", \"mode\": \"delay\", \"delay\": 1.0, "
	    "\"count\": 1}");
	in = start_intake(0);
	deletes = 14;
	ok(wait_calls(calls + 2, 0) &&
		run_until(deletes_reached, &deletes, 10000),
	    "the listing hands over app-3 and app-4, app-4's message "
	    "is deleted");
	run_for(1500);
	intake_stats(in, &st);
	is_int(cb_calls, calls + 2, "two calls, r1.zip is not repeated");
	is_int(count_releases(), 10, "two more releases");
	r = last_release();
	is_str(r != NULL ? r->key : NULL, "drops/app-4.zip",
	    "the last is "
	    "app-4");
	ok(r != NULL && r->version_id != NULL, "with its version id");
	store_release_free(r);
	is_int((long long)st.duplicates, 1, "its event was a duplicate");
	is_int(queue_depth(QUEUE), 0, "the queue is empty");

	/* A stop while a download hangs: nothing recorded, nothing lost. */
	calls = cb_calls;
	gets = fake_calls("s3", "GetObject") + 1;
	fake_post("/_fake/faults",
	    "{\"service\": \"s3\", \"operation\": "
	    "\"GetObject\", \"mode\": \"delay\", \"delay\": 3.0, "
	    "\"count\": 1}");
	zip = make_zip("billing", "1.3.0", &len);
	ok(put_object(BUCKET, "drops/app-5.zip", zip, len, &p) == 0,
	    "put drops/app-5.zip (its download hangs)");
	put_free(&p);
	free(zip);
	ok(run_until(gets_reached, &gets, 10000), "its download started");
	stop_intake(in);
	is_int(cb_calls, calls, "no callback");
	is_int(count_releases(), 10, "no release");
	is_int(fake_calls("sqs", "DeleteMessage"), 14, "its message is left");

	/* The next start reads it. */
	in = start_intake(0);
	ok(wait_calls(calls + 1, 15), "the next intake hands it over and "
				      "deletes the message");
	run_for(500);
	is_int(count_releases(), 11, "one release");
	r = last_release();
	is_str(r != NULL ? r->key : NULL, "drops/app-5.zip", "app-5's");
	store_release_free(r);
	calls = cb_calls;

	/* A reload: listonly goes, newapp comes. */
	c2 = load_config(1);
	ok(c2 != NULL, "a second configuration");
	intake_reconfigure(in, c2);
	config_free(config);
	config = c2;
	zip = make_zip("newapp", "1.0.0", &len);
	ok(put_object(NEW_BUCKET, "n.zip", zip, len, &p) == 0,
	    "put n.zip in the new app's bucket");
	put_free(&p);
	free(zip);
	zip = make_zip("listonly", "3.1.0", &len);
	ok(put_object(LIST_BUCKET, "r2.zip", zip, len, &p) == 0,
	    "put r2.zip in the removed app's bucket");
	put_free(&p);
	free(zip);
	ok(wait_calls(calls + 1, 0), "the new app's release is picked up");
	run_for(1500);
	r = last_release();
	is_str(r != NULL ? r->app : NULL, "newapp", "it is newapp's");
	store_release_free(r);
	is_int(cb_calls, calls + 1, "the removed app's bucket is not read");
	test_storage_fault();
	stop_intake(in);

	aws_context_close(aws, stopped_cb, &closed);
	run_until(flag_set, &closed, 10000);
	ok(closed, "the AWS context closes");
	is_int(uv_loop_close(&loop), 0, "uv_loop_close() == 0");
	store_close(store);
	config_free(config);
	unlink(path);
	free(path);
	path = xasprintf("%s/shipgate.db-wal", tmpdir);
	unlink(path);
	free(path);
	path = xasprintf("%s/shipgate.db-shm", tmpdir);
	unlink(path);
	free(path);
	rmdir(tmpdir);
	free(queue_url);
	fakeaws_stop(&fake);
	return (tap_done());
}
