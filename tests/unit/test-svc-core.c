/*
 * The AWS client and the STS, S3 and SQS calls against the fake AWS
 * endpoint (tests/fakeaws, real SigV4 checking by botocore): every call
 * and its error replies, role credentials with a shared refresh, and the
 * client's retries (throttling, 5xx, dropped connections, truncated and
 * malformed bodies, clock skew).  Every handle is closed at the end and
 * uv_loop_close() must succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "aws-client.h"
#include "aws-creds-role.h"
#include "aws-creds.h"
#include "aws-op.h"
#include "aws-sts.h"
#include "fakeaws.h"
#include "http.h"
#include "log.h"
#include "svc-s3.h"
#include "svc-sesv2.h"
#include "svc-sqs.h"
#include "tap.h"
#include "xmalloc.h"

#define ROLE_ARN "arn:aws:iam::111111111111:role/shipgate-deployer"
#define ROLE_ASSUMED                              \
	"arn:aws:sts::111111111111:assumed-role/" \
	"shipgate-deployer/shipgate-billing-stg"
#define TOOLS_ARN "arn:aws:iam::000000000000:user/shipgate-test"
/* A real-looking queue URL: the call must go to the client's endpoint. */
#define QUEUE_URL                                           \
	"https://sqs.eu-west-1.amazonaws.com/000000000000/" \
	"shipgate-intake"
#define QUEUE_MISSING                                       \
	"https://sqs.eu-west-1.amazonaws.com/000000000000/" \
	"no-such-queue"

static uv_loop_t	   loop;
static struct http_client *http;
static struct fakeaws	   fake;
static struct aws_creds	  *tools;  /* the fake's static keys */
static struct aws_client  *client; /* real clock */
static int64_t		   clock_shift_ms;

static int64_t
shifted_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (
	    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_shift_ms);
}

static const char *
endpoint_cb(const char *service, void *arg)
{
	(void)service;
	(void)arg;
	return (fake.url);
}

static struct aws_client *
client_new(int max_attempts, int shifted_clock)
{
	struct aws_client_options o;

	memset(&o, 0, sizeof o);
	o.region = FAKEAWS_REGION;
	o.max_attempts = max_attempts;
	o.backoff_base_ms = 5;
	o.backoff_max_ms = 50;
	o.timeout_ms = 10000;
	o.connect_timeout_ms = 2000;
	o.endpoint_override = endpoint_cb;
	if (shifted_clock)
		o.now_ms = shifted_now_ms;
	return (aws_client_new(&loop, http, tools, &o));
}

/* ---------------------------------------------------------- the fake */

static long
fake_post(const char *path, const char *json)
{
	struct fakeaws_reply r;
	long		     status;

	status = fakeaws_control(&fake, "POST", path, json, &r);
	if (status != 200)
		tap_diag("fake %s: %ld %s", path, status,
		    r.body != NULL ? r.body : "");
	free(r.body);
	return (status);
}

/* Attempts the fake counted for one operation. */
static long long
fake_calls(const char *service, const char *op)
{
	struct fakeaws_reply r;
	json_t		    *root, *v;
	long long	     n = -1;

	if (fakeaws_control(&fake, "GET", "/_fake/calls", NULL, &r) != 200) {
		free(r.body);
		return (-1);
	}
	if ((root = json_loads(r.body, 0, NULL)) != NULL) {
		v = json_object_get(json_object_get(root, service), op);
		n = v != NULL ? json_integer_value(v) : 0;
		json_decref(root);
	}
	free(r.body);
	return (n);
}

/* ------------------------------------------------- callbacks, waiting */

struct got {
	int   n; /* callbacks seen */
	int   error;
	long  status;
	int   attempts;
	char  code[128];
	char *message;
	void *result;
};

static void
got_set(struct got *g, const struct aws_reply *r, void *result)
{
	g->n++;
	g->error = r->error;
	g->status = r->status;
	g->attempts = r->attempts;
	snprintf(g->code, sizeof g->code, "%s", r->aws.code);
	free(g->message);
	g->message = r->message != NULL ? xstrdup(r->message) : NULL;
	g->result = result;
}

static void
got_clear(struct got *g)
{
	free(g->message);
	memset(g, 0, sizeof *g);
}

#define GOT_CB(name, type)                                                \
	static void name(const struct aws_reply *r, type *res, void *arg) \
	{                                                                 \
		got_set(arg, r, res);                                     \
	}
GOT_CB(assume_cb, struct sts_assumed_role)
GOT_CB(identity_cb, struct sts_caller_identity)
GOT_CB(list_cb, struct s3_object_list)
GOT_CB(head_cb, struct s3_object_info)
GOT_CB(get_cb, struct s3_object)
GOT_CB(put_cb, struct s3_put_result)
GOT_CB(receive_cb, struct sqs_messages)
GOT_CB(notification_cb, struct s3_notification)
GOT_CB(attributes_cb, struct sqs_queue_attributes)

static void
done_cb(const struct aws_reply *r, void *arg)
{
	got_set(arg, r, NULL);
}

static void
raw_cb(struct aws_reply *r, void *arg)
{
	got_set(arg, r, NULL);
}

static void
wait_for(struct got *g, int n)
{
	while (g->n < n)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Callbacks that came from inside the call that started them. */
static int sync_callbacks;

/* Starts a call; a synchronous failure is reported and counted as done. */
#define START(g, expr)                                        \
	do {                                                  \
		char *cause_ = NULL;                          \
		got_clear(g);                                 \
		if ((expr) == NULL) {                         \
			tap_diag("start failed: %s", cause_); \
			(g)->n = 1;                           \
			(g)->error = -999;                    \
			free(cause_);                         \
		} else if ((g)->n != 0)                       \
			sync_callbacks++;                     \
	} while (0)
#define CAUSE (&cause_)

static struct sts_caller_identity *
identity(struct aws_client *c, struct aws_creds *creds, struct got *g)
{
	START(g,
	    sts_get_caller_identity(c, creds, NULL, identity_cb, g, CAUSE));
	wait_for(g, 1);
	return (g->result);
}

static int
put(const char *bucket, const char *key, const char *data, size_t len,
    struct aws_creds *creds)
{
	struct s3_put_params p;
	struct got	     g = { 0 };
	int		     error;

	memset(&p, 0, sizeof p);
	p.t.bucket = bucket;
	p.t.key = key;
	p.t.creds = creds;
	p.data = data;
	p.len = len;
	START(&g, s3_put_object(client, &p, put_cb, &g, CAUSE));
	wait_for(&g, 1);
	error = g.error;
	if (error != AWS_OK)
		tap_diag("put %s/%s: %s", bucket, key, g.message);
	s3_put_result_free(g.result);
	got_clear(&g);
	return (error);
}

/* ---------------------------------------------------------------- STS */

static void
test_sts(void)
{
	struct sts_assume_role_params p;
	struct sts_caller_identity   *id;
	struct sts_assumed_role	     *r;
	struct got		      g = { 0 };
	char			     *cause = NULL;

	id = identity(client, NULL, &g);
	ok(g.n == 1 && g.error == AWS_OK && id != NULL,
	    "sts: GetCallerIdentity succeeds");
	if (id != NULL) {
		is_str(id->arn, TOOLS_ARN, "sts: caller is the tools user");
		is_str(id->account, FAKEAWS_ACCOUNT, "sts: tools account");
	}
	sts_caller_identity_free(id);

	memset(&p, 0, sizeof p);
	p.role_arn = ROLE_ARN;
	p.session_name = "shipgate-billing-stg";
	START(&g, sts_assume_role(client, &p, assume_cb, &g, CAUSE));
	ok(g.n == 0, "sts: AssumeRole never calls back from inside the call");
	wait_for(&g, 1);
	r = g.result;
	ok(g.error == AWS_OK && r != NULL, "sts: AssumeRole succeeds");
	if (r != NULL) {
		is_str(r->assumed_role_arn, ROLE_ASSUMED,
		    "sts: assumed-role ARN in account 111111111111");
		ok(strncmp(r->creds.access_key_id, "ASIA", 4) == 0 &&
			r->creds.session_token != NULL &&
			r->creds.expires_ms > shifted_now_ms() - clock_shift_ms,
		    "sts: temporary keys with a token and an expiry");
	}
	sts_assumed_role_free(r);

	/* The external id is checked by the role's trust policy. */
	fake_post("/_fake/sts/role",
	    "{\"role_arn\": "
	    "\"arn:aws:iam::111111111111:role/shipgate-ext\", "
	    "\"external_id\": \"ext-42\"}");
	p.role_arn = "arn:aws:iam::111111111111:role/shipgate-ext";
	START(&g, sts_assume_role(client, &p, assume_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "AccessDenied") == 0 &&
		g.result == NULL,
	    "sts: AssumeRole without the external id: "
	    "AccessDenied");
	ok(g.message != NULL &&
		strstr(g.message, "STS AssumeRole: "
				  "AccessDenied: ") != NULL &&
		strstr(g.message, "(request ") != NULL,
	    "sts: the message names service, operation, code and "
	    "request: %s",
	    g.message);
	ok(g.attempts == 1, "sts: AccessDenied is not retried");
	p.external_id = "ext-42";
	START(&g, sts_assume_role(client, &p, assume_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK, "sts: AssumeRole with the external id");
	sts_assumed_role_free(g.result);

	/* Bad arguments fail at once, without a callback. */
	p.session_name = "shipgate billing";
	ok(sts_assume_role(client, &p, assume_cb, &g, &cause) == NULL &&
		cause != NULL,
	    "sts: a session name with a space is refused");
	free(cause);
	cause = NULL;
	p.session_name = "shipgate-billing-stg";
	p.role_arn = "arn:aws:iam::1111:role/x";
	ok(sts_assume_role(client, &p, assume_cb, &g, &cause) == NULL &&
		cause != NULL,
	    "sts: a bad role ARN is refused");
	free(cause);
	ok(sts_session_name_valid("shipgate-billing-stg") &&
		sts_session_name_valid("a.b@c=d,e+f_g-h") &&
		!sts_session_name_valid("x") &&
		!sts_session_name_valid(
		    "0123456789012345678901234567890123456789012345678901234567890"
		    "1234") &&
		!sts_session_name_valid("a/b"),
	    "sts: session names as STS's [\\w+=,.@-]{2,64}");
	got_clear(&g);
}

/* --------------------------------------------------- role credentials */

static void
test_role(void)
{
	struct aws_creds_role_options o;
	struct aws_creds	     *role;
	struct aws_client	     *shifted;
	struct sts_caller_identity   *id;
	struct got		      g = { 0 }, many[4];
	struct s3_target	      t;
	long long		      before;
	char			     *cause = NULL;
	int			      i, good;

	memset(&o, 0, sizeof o);
	o.role_arn = ROLE_ARN;
	o.session_name = "bad name";
	role = aws_creds_role_new(client, tools, &o, &cause);
	ok(role == NULL && cause != NULL && strstr(cause, "bad name") != NULL,
	    "role: an invalid session name is refused: %s",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;

	o.session_name = "shipgate-billing-stg";
	o.duration_seconds = 900;
	role = aws_creds_role_new(client, tools, &o, &cause);
	ok(role != NULL, "role: provider made");
	is_str(aws_creds_source(role), "role " ROLE_ARN, "role: its source");

	before = fake_calls("sts", "AssumeRole");
	id = identity(client, role, &g);
	ok(g.error == AWS_OK && id != NULL &&
		strcmp(id->arn, ROLE_ASSUMED) == 0,
	    "role: GetCallerIdentity shows the "
	    "assumed role");
	sts_caller_identity_free(id);
	id = identity(client, role, &g);
	sts_caller_identity_free(id);
	is_int(fake_calls("sts", "AssumeRole") - before, 1,
	    "role: the credentials are cached (one AssumeRole for 2 calls)");

	/* S3 in the other account: refused to the tools user, fine as
	   the role. */
	memset(&t, 0, sizeof t);
	t.bucket = "billing-stg-artifacts";
	t.key = "release.zip";
	ok(put(t.bucket, t.key, "zip", 3, role) == AWS_OK,
	    "role: PutObject into account 111111111111's bucket");
	START(&g, s3_head_object(client, &t, head_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "Forbidden") == 0,
	    "role: HeadObject there as the tools user: Forbidden (%s)",
	    g.message);
	t.creds = role;
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK && g.result != NULL &&
		((struct s3_object *)g.result)->len == 3,
	    "role: GetObject there as the role");
	s3_object_free(g.result);

	/*
	 * Refresh before expiry: 15-minute credentials seen from a clock
	 * 6 minutes ahead are inside the 10-minute margin.  The clock's
	 * client first learns the offset from a skew error, then four
	 * concurrent callers wait for ONE AssumeRole (made by the role's
	 * own client, on the real clock).
	 */
	clock_shift_ms = 6 * 60 * 1000;
	shifted = client_new(5, 1);
	id = identity(shifted, NULL, &g);
	ok(g.error == AWS_OK && g.attempts == 2,
	    "role: a clock 6 min ahead "
	    "is corrected after one skew error (attempts %d)",
	    g.attempts);
	sts_caller_identity_free(id);
	before = fake_calls("sts", "AssumeRole");
	for (i = 0; i < 4; i++) {
		memset(&many[i], 0, sizeof many[i]);
		START(&many[i], sts_get_caller_identity(shifted, role, NULL,
				    identity_cb, &many[i], CAUSE));
	}
	good = 0;
	for (i = 0; i < 4; i++) {
		wait_for(&many[i], 1);
		id = many[i].result;
		if (many[i].error == AWS_OK && id != NULL &&
		    strcmp(id->arn, ROLE_ASSUMED) == 0)
			good++;
		else
			tap_diag("caller %d: %s", i, many[i].message);
		sts_caller_identity_free(id);
		got_clear(&many[i]);
	}
	is_int(good, 4, "role: four concurrent callers near expiry succeed");
	is_int(fake_calls("sts", "AssumeRole") - before, 1,
	    "role: they shared ONE AssumeRole call");
	clock_shift_ms = 0;
	aws_client_free(shifted);

	/* A refused AssumeRole reaches the caller as a credentials error. */
	fake_post("/_fake/sts/role",
	    "{\"role_arn\": "
	    "\"arn:aws:iam::111111111111:role/untrusted\", "
	    "\"trusted\": false}");
	o.role_arn = "arn:aws:iam::111111111111:role/untrusted";
	o.duration_seconds = 0;
	aws_creds_free(role);
	role = aws_creds_role_new(client, tools, &o, &cause);
	id = identity(client, role, &g);
	ok(g.error == AWS_ECREDS && id == NULL && g.message != NULL &&
		strstr(g.message, "AccessDenied") != NULL,
	    "role: an untrusted role is a credentials error naming "
	    "AccessDenied: %s",
	    g.message);

	/* A provider freed while its AssumeRole is in flight. */
	aws_creds_free(role);
	o.role_arn = ROLE_ARN;
	role = aws_creds_role_new(client, tools, &o, &cause);
	START(&g, sts_get_caller_identity(client, role, NULL, identity_cb, &g,
		      CAUSE));
	/* Let the call reach the credentials refresh, then free. */
	uv_run(&loop, UV_RUN_NOWAIT);
	aws_creds_free(role);
	wait_for(&g, 1);
	ok(g.error == AWS_ECANCELLED || g.error == AWS_OK,
	    "role: freeing the provider mid-refresh ends the call (%s)",
	    aws_strerror(g.error));
	sts_caller_identity_free(g.result);
	got_clear(&g);
}

/* ----------------------------------------------------------------- S3 */

static int
list_has(const struct s3_object_list *l, const char *key)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return (1);
	return (0);
}

static void
test_s3(void)
{
	static const char *const keys[] = { "odd/a b+c&d=e?f#g%h~i.zip",
		"odd/\xc3\xbc"
		"n"
		"\xc3\xaf"
		"c"
		"\xc3\xb6"
		"d"
		"\xc3\xa9"
		"/\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab.txt",
		"odd/x;y,z@$!'()*[]{}^`|\"<>.bin", "odd/ leading and trailing ",
		"odd/a//double/slash", "odd/dots/../and/./segments",
		"odd/control\tchars\001and\nnewline", NULL };
	static const char *const meta[] = { "release", "1.4.2", "Integrator",
		"acme", NULL };
	struct s3_put_params	 pp;
	struct s3_list_params	 lp;
	struct s3_target	 t;
	struct s3_object_info	*info;
	struct s3_object	*o;
	struct s3_put_result	*pr;
	struct s3_object_list	*l;
	struct got		 g = { 0 };
	char			*big, key[64];
	size_t			 i, n;
	int			 same;

	/* Put, head, get with content type and metadata. */
	memset(&pp, 0, sizeof pp);
	pp.t.bucket = "shipgate-versioned";
	pp.t.key = "releases/billing-1.4.2.zip";
	pp.data = "PK\003\004release";
	pp.len = 11;
	pp.content_type = "application/zip";
	pp.metadata = meta;
	START(&g, s3_put_object(client, &pp, put_cb, &g, CAUSE));
	wait_for(&g, 1);
	pr = g.result;
	ok(g.error == AWS_OK && pr != NULL && pr->etag[0] == '"' &&
		pr->version_id != NULL,
	    "s3: PutObject returns etag %s and "
	    "version id",
	    pr != NULL ? pr->etag : "-");
	memset(&t, 0, sizeof t);
	t.bucket = pp.t.bucket;
	t.key = pp.t.key;
	START(&g, s3_head_object(client, &t, head_cb, &g, CAUSE));
	wait_for(&g, 1);
	info = g.result;
	ok(g.error == AWS_OK && info != NULL, "s3: HeadObject succeeds");
	if (info != NULL && pr != NULL) {
		is_int(info->size, 11, "s3: HeadObject size");
		is_str(info->etag, pr->etag, "s3: HeadObject etag");
		is_str(info->version_id, pr->version_id,
		    "s3: HeadObject version id");
		is_str(info->content_type, "application/zip",
		    "s3: HeadObject content type");
		is_str(s3_object_info_meta(info, "release"), "1.4.2",
		    "s3: HeadObject metadata");
		is_str(s3_object_info_meta(info, "integrator"), "acme",
		    "s3: metadata names in lower case");
		ok(info->last_modified_ms > 0, "s3: last modified");
	}
	s3_object_info_free(info);
	s3_put_result_free(pr);
	START(&g, s3_get_object(client, &t, 1024, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	o = g.result;
	ok(g.error == AWS_OK && o != NULL && o->len == 11 &&
		memcmp(o->data, "PK\003\004release", 11) == 0,
	    "s3: GetObject returns the bytes");
	if (o != NULL)
		is_str(o->info.content_type, "application/zip",
		    "s3: GetObject content type");
	s3_object_free(o);

	/* The most metadata a put takes (16 pairs: many signed headers). */
	{
		const char *many[33];
		char	    names[16][8], values[16][8];
		int	    k;

		for (k = 0; k < 16; k++) {
			snprintf(names[k], sizeof names[k], "m%02d", k);
			snprintf(values[k], sizeof values[k], "v%02d", k);
			many[2 * k] = names[k];
			many[2 * k + 1] = values[k];
		}
		many[32] = NULL;
		pp.metadata = many;
		pp.t.key = "releases/many-metadata";
		START(&g, s3_put_object(client, &pp, put_cb, &g, CAUSE));
		wait_for(&g, 1);
		ok(g.error == AWS_OK, "s3: PutObject with 16 metadata headers");
		s3_put_result_free(g.result);
		t.key = pp.t.key;
		START(&g, s3_head_object(client, &t, head_cb, &g, CAUSE));
		wait_for(&g, 1);
		info = g.result;
		ok(info != NULL && info->nmeta == 16 &&
			strcmp(s3_object_info_meta(info, "m15"), "v15") == 0,
		    "s3: all 16 come back");
		s3_object_info_free(info);
	}

	/* Keys with spaces, unicode and special characters round-trip. */
	for (i = 0; keys[i] != NULL; i++) {
		ok(put("shipgate-list", keys[i], keys[i], strlen(keys[i]),
		       NULL) == AWS_OK,
		    "s3: put key %zu", i);
		t.bucket = "shipgate-list";
		t.key = keys[i];
		START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
		wait_for(&g, 1);
		o = g.result;
		ok(g.error == AWS_OK && o != NULL &&
			o->len == strlen(keys[i]) &&
			memcmp(o->data, keys[i], o->len) == 0,
		    "s3: get key %zu back: %s", i, keys[i]);
		s3_object_free(o);
	}
	memset(&lp, 0, sizeof lp);
	lp.t.bucket = "shipgate-list";
	lp.prefix = "odd/";
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	l = g.result;
	for (i = 0, same = l != NULL; keys[i] != NULL; i++)
		same = same && list_has(l, keys[i]);
	ok(g.error == AWS_OK && same && l->n == i,
	    "s3: the listing gives every odd key back as it was");
	s3_object_list_free(l);

	/* Pagination: 7 objects, 3 a page. */
	for (i = 0; i < 7; i++) {
		snprintf(key, sizeof key, "paged/obj-%02zu", i);
		put("shipgate-list", key, key, i, NULL);
	}
	lp.prefix = "paged/";
	lp.page_size = 3;
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	l = g.result;
	ok(g.error == AWS_OK && l != NULL && l->n == 7 && l->pages == 3,
	    "s3: ListObjectsV2 follows continuation tokens (%zu objects, "
	    "%u pages)",
	    l != NULL ? l->n : 0, l != NULL ? l->pages : 0);
	if (l != NULL && l->n == 7) {
		is_str(l->v[6].key, "paged/obj-06", "s3: in key order");
		is_int(l->v[6].size, 6, "s3: sizes");
		ok(l->v[6].etag[0] == '"' && l->v[6].last_modified_ms > 0,
		    "s3: etag and last modified");
	}
	s3_object_list_free(l);
	/* Cancelled in flight: one callback, cancelled. */
	lp.page_size = 1;
	{
		struct aws_op *ls;
		char	      *cause = NULL;

		got_clear(&g);
		ls = s3_list_objects(client, &lp, list_cb, &g, &cause);
		/*
		 * At once, while its first page's call is pending: once the
		 * loop runs, a fast fake may finish the listing, and the
		 * handle is gone after its callback.
		 */
		aws_op_cancel(ls);
		wait_for(&g, 1);
		ok(g.n == 1 && g.error == AWS_ECANCELLED && g.result == NULL,
		    "s3: a cancelled listing calls back once, cancelled");
		/* Nothing else comes. */
		uv_run(&loop, UV_RUN_NOWAIT);
		is_int(g.n, 1, "s3: and only once");
	}
	lp.page_size = 3;
	lp.max_total = 5;
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_ETOOLARGE && g.result == NULL && g.message != NULL &&
		strstr(g.message, "more than 5 objects") != NULL,
	    "s3: a listing over its bound is an error: %s", g.message);
	lp.max_total = 0;
	lp.prefix = "nothing-here/";
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	l = g.result;
	ok(g.error == AWS_OK && l != NULL && l->n == 0, "s3: an empty listing");
	s3_object_list_free(l);

	/* GetObject over the cap. */
	n = 300 * 1024;
	big = xmalloc(n);
	memset(big, 'x', n);
	put("shipgate-list", "big.bin", big, n, NULL);
	free(big);
	t.bucket = "shipgate-list";
	t.key = "big.bin";
	START(&g, s3_get_object(client, &t, 100 * 1024, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_ETOOLARGE && g.result == NULL && g.message != NULL &&
		strstr(g.message, "cap of 102400 bytes") != NULL,
	    "s3: GetObject over the cap: %s", g.message);
	t.key = "paged/obj-06";
	START(&g, s3_get_object(client, &t, 5, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_ETOOLARGE && g.result == NULL,
	    "s3: a small object over a tiny cap too");
	START(&g, s3_get_object(client, &t, 6, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK, "s3: an object exactly at the cap is fine");
	s3_object_free(g.result);

	/* Error replies. */
	t.key = "no/such/key";
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "NoSuchKey") == 0 &&
		g.status == 404 && g.attempts == 1,
	    "s3: GetObject of a missing key: NoSuchKey, not retried");
	ok(g.message != NULL && strncmp(g.message,
				    "S3 GetObject: "
				    "NoSuchKey: ",
				    19) == 0,
	    "s3: message %s", g.message);
	START(&g, s3_head_object(client, &t, head_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "NotFound") == 0 &&
		g.status == 404,
	    "s3: HeadObject of a missing key: NotFound (%s)", g.message);
	lp.t.bucket = "no-such-bucket";
	lp.prefix = NULL;
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "NoSuchBucket") == 0,
	    "s3: listing a missing bucket: NoSuchBucket");
	lp.t.bucket = "billing-stg-artifacts";
	START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "AccessDenied") == 0 &&
		g.status == 403,
	    "s3: another account's bucket: AccessDenied");
	t.bucket = "shipgate-list";
	t.key = "";
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	ok(g.error == -999, "s3: an empty key is refused at once");
	got_clear(&g);
}

/* Addressing, without any network: virtual-hosted on AWS, path-style
   with an endpoint override or a bucket that is not a DNS label. */
static void
test_s3_urls(void)
{
	struct aws_client_options o;
	struct aws_client	 *aws;
	struct s3_target	  t;
	char			 *url, *cause = NULL, *want;

	memset(&o, 0, sizeof o);
	o.region = "eu-west-1";
	aws = aws_client_new(&loop, http, tools, &o);
	memset(&t, 0, sizeof t);
	t.bucket = "shipgate-drops";
	t.key = "in coming/\xc3\xbc+x.zip";
	url = s3_url(aws, &t, &cause);
	is_str(url,
	    "https://shipgate-drops.s3.eu-west-1.amazonaws.com/"
	    "in%20coming/%C3%BC%2Bx.zip",
	    "s3: virtual-hosted URL on AWS");
	free(url);
	t.region = "us-east-2";
	t.key = NULL;
	url = s3_url(aws, &t, &cause);
	is_str(url, "https://shipgate-drops.s3.us-east-2.amazonaws.com/",
	    "s3: the target's region");
	free(url);
	t.region = NULL;
	t.bucket = "my.dotted.bucket";
	t.key = "k";
	url = s3_url(aws, &t, &cause);
	is_str(url, "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k",
	    "s3: path-style for a bucket with dots");
	free(url);
	aws_client_free(aws);
	t.bucket = "shipgate-drops";
	t.key = "a/b c";
	url = s3_url(client, &t, &cause);
	want = xasprintf("%s/shipgate-drops/a/b%%20c", fake.url);
	is_str(url, want, "s3: path-style with an endpoint override");
	free(url);
	free(want);
	t.bucket = "a/b";
	ok(s3_url(client, &t, &cause) == NULL && cause != NULL,
	    "s3: a bucket name with a slash is refused");
	free(cause);
}

/* ---------------------------------------------------------------- SQS */

static void
test_sqs(void)
{
	static const char *const     all[] = { "All", NULL };
	struct sqs_receive_params    rp;
	struct sqs_queue	     q;
	struct sqs_messages	    *ms;
	struct got		     g = { 0 }, pg = { 0 };
	struct s3_put_params	     pp;
	struct timespec		     t0, t1;
	struct sqs_queue_attributes *qa;
	struct s3_notification	    *nc;
	struct s3_target	     t;
	char			    *handle = NULL;

	memset(&rp, 0, sizeof rp);
	rp.q.url = QUEUE_URL;
	rp.wait_seconds = 0;
	rp.visibility_timeout = -1;
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	wait_for(&g, 1);
	ms = g.result;
	ok(g.error == AWS_OK && ms != NULL && ms->n == 0,
	    "sqs: an empty queue gives no message");
	sqs_messages_free(ms);

	/*
	 * Long poll: the receive is waiting when an object lands in the
	 * notified bucket; the S3 event arrives as a message.
	 */
	rp.wait_seconds = 20;
	rp.max_messages = 10;
	rp.visibility_timeout = 30;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	memset(&pp, 0, sizeof pp);
	pp.t.bucket = "shipgate-drops";
	pp.t.key = "incoming/billing-1.4.2.zip";
	pp.data = "zip";
	pp.len = 3;
	/* Let the receive reach the fake before the put. */
	while (fake_calls("sqs", "ReceiveMessage") < 2)
		uv_run(&loop, UV_RUN_NOWAIT);
	START(&pg, s3_put_object(client, &pp, put_cb, &pg, CAUSE));
	wait_for(&pg, 1);
	ok(pg.error == AWS_OK, "sqs: put into the notified bucket");
	s3_put_result_free(pg.result);
	wait_for(&g, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = g.result;
	ok(g.error == AWS_OK && ms != NULL && ms->n == 1,
	    "sqs: the long poll returns with the S3 event");
	tap_diag("long poll returned after %.2f s (wait 20 s)",
	    (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (ms != NULL && ms->n == 1) {
		ok(strstr(ms->v[0].body, "incoming/billing-1.4.2.zip") !=
			    NULL &&
			strstr(ms->v[0].body, "ObjectCreated") != NULL,
		    "sqs: the body is the S3 event");
		ok(ms->v[0].message_id[0] != '\0' &&
			ms->v[0].receipt_handle[0] != '\0',
		    "sqs: message id and receipt handle");
		is_int(ms->v[0].receive_count, 1,
		    "sqs: ApproximateReceiveCount 1");
		ok(ms->v[0].sent_ms > 1700000000000LL,
		    "sqs: SentTimestamp in ms");
		ok(sqs_message_attr(&ms->v[0], "ApproximateReceiveCount") !=
			NULL,
		    "sqs: attributes kept by name");
		handle = xstrdup(ms->v[0].receipt_handle);
	}
	sqs_messages_free(ms);

	/* Visibility 0 makes it come back, received twice. */
	memset(&q, 0, sizeof q);
	q.url = QUEUE_URL;
	START(&g, sqs_change_message_visibility(client, &q, handle, 0, done_cb,
		      &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK, "sqs: ChangeMessageVisibility");
	rp.wait_seconds = 5;
	rp.attribute_names = all;
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	wait_for(&g, 1);
	ms = g.result;
	ok(g.error == AWS_OK && ms != NULL && ms->n == 1 &&
		ms->v[0].receive_count == 2 &&
		sqs_message_attr(&ms->v[0], "SenderId") != NULL,
	    "sqs: received again, ApproximateReceiveCount 2, All attributes");
	free(handle);
	handle = NULL;
	if (ms != NULL && ms->n == 1)
		handle = xstrdup(ms->v[0].receipt_handle);
	sqs_messages_free(ms);
	START(&g, sqs_delete_message(client, &q, handle, done_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK, "sqs: DeleteMessage");
	free(handle);
	rp.wait_seconds = 0;
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	wait_for(&g, 1);
	ms = g.result;
	ok(g.error == AWS_OK && ms != NULL && ms->n == 0,
	    "sqs: the queue is empty after the delete");
	sqs_messages_free(ms);

	/* Error replies. */
	START(&g, sqs_change_message_visibility(client, &q, "bm9wZQ==", 10,
		      done_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS &&
		strcmp(g.code, "ReceiptHandleIsInvalid") == 0 &&
		g.attempts == 1,
	    "sqs: a bad receipt handle: %s", g.message);
	rp.q.url = QUEUE_MISSING;
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS &&
		(strcmp(g.code, "QueueDoesNotExist") == 0 ||
		    strcmp(g.code, "AWS.SimpleQueueService.NonExistentQueue") ==
			0),
	    "sqs: a missing queue: %s", g.code);
	ok(g.message != NULL &&
		strncmp(g.message, "SQS ReceiveMessage: ", 20) == 0,
	    "sqs: message %s", g.message);
	rp.q.url = "sqs://nope";
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	ok(g.error == -999, "sqs: a bad queue URL is refused at once");
	rp.q.url = QUEUE_URL;
	rp.wait_seconds = 21;
	START(&g, sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
	ok(g.error == -999, "sqs: a wait over 20 s is refused at once");

	/* What shipgatectl doctor reads: the queue's attributes, the
	   bucket's notification (the setup's: incoming/ to the queue). */
	q.url = QUEUE_URL;
	START(&g,
	    sqs_get_queue_attributes(client, &q, attributes_cb, &g, CAUSE));
	wait_for(&g, 1);
	qa = g.result;
	ok(g.error == AWS_OK && qa != NULL && qa->queue_arn != NULL &&
		strcmp(qa->queue_arn, "arn:aws:sqs:eu-west-1:000000000000:"
				      "shipgate-intake") == 0 &&
		qa->redrive_policy == NULL && qa->policy != NULL &&
		strstr(qa->policy, "s3.amazonaws.com") != NULL,
	    "sqs: GetQueueAttributes: the ARN, no redrive policy, the "
	    "policy admitting S3");
	sqs_queue_attributes_free(qa);
	memset(&t, 0, sizeof t);
	t.bucket = "shipgate-drops";
	START(&g,
	    s3_get_bucket_notification(client, &t, notification_cb, &g, CAUSE));
	wait_for(&g, 1);
	nc = g.result;
	ok(g.error == AWS_OK && nc != NULL && nc->n == 1 &&
		nc->v[0].kind == S3_NOTIFY_QUEUE &&
		strcmp(nc->v[0].destination,
		    "arn:aws:sqs:eu-west-1:000000000000:"
		    "shipgate-intake") == 0 &&
		nc->v[0].prefix != NULL &&
		strcmp(nc->v[0].prefix, "incoming/") == 0 &&
		nc->v[0].suffix == NULL && nc->v[0].nevents == 1,
	    "s3: GetBucketNotificationConfiguration: the queue and its "
	    "prefix");
	s3_notification_free(nc);
	t.bucket = "no-such-bucket-here";
	START(&g,
	    s3_get_bucket_notification(client, &t, notification_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EAWS && strcmp(g.code, "NoSuchBucket") == 0 &&
		g.result == NULL,
	    "s3: the notification of a missing bucket: %s", g.code);
	got_clear(&g);
}

/* ------------------------------------------------------------ retries */

static void
fault(const char *json)
{
	if (fake_post("/_fake/faults", json) != 200)
		tap_diag("fault not set: %s", json);
}

static void
test_retries(void)
{
	struct aws_client	   *c3;
	struct aws_request	    req;
	struct sts_caller_identity *id;
	struct s3_target	    t;
	struct got		    g = { 0 };
	struct aws_client_stat	    st[16];
	long long		    before;
	size_t			    n, i;
	int			    found = 0;

	fakeaws_control(&fake, "DELETE", "/_fake/faults", NULL, NULL);
	before = fake_calls("sts", "GetCallerIdentity");
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"throttle\", \"count\": 3}");
	id = identity(client, NULL, &g);
	ok(g.error == AWS_OK && id != NULL && g.attempts == 4,
	    "retry: three throttled attempts, the fourth succeeds "
	    "(attempts %d)",
	    g.attempts);
	is_int(fake_calls("sts", "GetCallerIdentity") - before, 4,
	    "retry: the fake saw 4 attempts");
	sts_caller_identity_free(id);
	n = aws_client_stats(client, st, 16);
	for (i = 0; i < n && i < 16; i++)
		if (strcmp(st[i].service, "sts") == 0 &&
		    strcmp(st[i].operation, "GetCallerIdentity") == 0)
			found = st[i].throttled >= 3 && st[i].retries >= 3;
	ok(found, "retry: throttling and retries are counted");

	/* max_attempts is respected. */
	c3 = client_new(3, 0);
	before = fake_calls("sts", "GetCallerIdentity");
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"throttle\", \"count\": 10}");
	id = identity(c3, NULL, &g);
	ok(g.error == AWS_EAWS && strcmp(g.code, "Throttling") == 0 &&
		g.attempts == 3 && id == NULL,
	    "retry: max_attempts 3 gives up after 3 (%s)", g.message);
	is_int(fake_calls("sts", "GetCallerIdentity") - before, 3,
	    "retry: the fake saw 3 attempts");
	fakeaws_control(&fake, "DELETE", "/_fake/faults", NULL, NULL);

	/* A non-retryable 4xx is not retried. */
	before = fake_calls("sts", "GetCallerIdentity");
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"error\", \"status\": 400, \"code\": "
	      "\"ValidationError\", \"message\": \"nope\", \"count\": 1}");
	id = identity(client, NULL, &g);
	ok(g.error == AWS_EAWS && strcmp(g.code, "ValidationError") == 0 &&
		g.attempts == 1,
	    "retry: ValidationError (400) is not retried");
	is_int(fake_calls("sts", "GetCallerIdentity") - before, 1,
	    "retry: the fake saw 1 attempt");

	/* 500 and 503 are. */
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"error500\", \"count\": 1}");
	id = identity(client, NULL, &g);
	ok(g.error == AWS_OK && g.attempts == 2, "retry: a 500 is retried");
	sts_caller_identity_free(id);
	fault("{\"service\": \"s3\", \"operation\": \"GetObject\", "
	      "\"mode\": \"error503\", \"count\": 2}");
	memset(&t, 0, sizeof t);
	t.bucket = "shipgate-list";
	t.key = "paged/obj-03";
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK && g.attempts == 3,
	    "retry: S3 503s are retried (attempts %d)", g.attempts);
	s3_object_free(g.result);

	/*
	 * Dropped connections.  libcurl itself retries a request whose
	 * reused connection died without a reply (on another pooled
	 * connection, up to 5 times), so a few drops never reach the
	 * client; when every connection drops, the client's own attempts
	 * all run and end in a clean network error.
	 */
	before = fake_calls("sts", "GetCallerIdentity");
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"drop\", \"count\": 2}");
	id = identity(client, NULL, &g);
	ok(g.error == AWS_OK &&
		fake_calls("sts", "GetCallerIdentity") - before == 3,
	    "retry: two dropped connections, then success "
	    "(attempts %d)",
	    g.attempts);
	sts_caller_identity_free(id);
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"drop\", \"count\": 100}");
	id = identity(c3, NULL, &g);
	ok(g.error == AWS_ENETWORK && g.attempts == 3 && id == NULL &&
		g.message != NULL,
	    "retry: connections dropped every time: "
	    "3 attempts, then %s",
	    g.message);
	fakeaws_control(&fake, "DELETE", "/_fake/faults", NULL, NULL);

	/* Truncated bodies on every attempt: a clean network error. */
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"truncate\", \"count\": 3}");
	id = identity(c3, NULL, &g);
	ok(g.error == AWS_ENETWORK && id == NULL && g.attempts == 3 &&
		g.message != NULL,
	    "retry: a body cut short every time is a "
	    "clean error: %s",
	    g.message);
	/* A malformed body: an unreadable reply, not a crash. */
	fault("{\"service\": \"sts\", \"operation\": \"GetCallerIdentity\", "
	      "\"mode\": \"malformed\", \"count\": 1}");
	id = identity(client, NULL, &g);
	ok(g.error == AWS_EREPLY && id == NULL && g.message != NULL &&
		strstr(g.message, "unreadable") != NULL,
	    "retry: a malformed XML body is a clean error: %s", g.message);
	fault("{\"service\": \"sqs\", \"operation\": \"ReceiveMessage\", "
	      "\"mode\": \"malformed\", \"count\": 1}");
	{
		struct sqs_receive_params rp;

		memset(&rp, 0, sizeof rp);
		rp.q.url = QUEUE_URL;
		rp.visibility_timeout = -1;
		START(&g,
		    sqs_receive_message(client, &rp, receive_cb, &g, CAUSE));
		wait_for(&g, 1);
		ok(g.error == AWS_EREPLY && g.result == NULL,
		    "retry: a malformed JSON body is a clean error: %s",
		    g.message);
	}
	fault("{\"service\": \"s3\", \"operation\": \"ListObjectsV2\", "
	      "\"mode\": \"malformed\", \"count\": 1}");
	{
		struct s3_list_params lp;

		memset(&lp, 0, sizeof lp);
		lp.t.bucket = "shipgate-list";
		START(&g, s3_list_objects(client, &lp, list_cb, &g, CAUSE));
		wait_for(&g, 1);
		ok(g.error == AWS_EREPLY && g.result == NULL,
		    "retry: a malformed listing is a clean error: %s",
		    g.message);
	}
	/* A garbled object of a length that fits (the chaos campaign made
	   a release "not a zip archive" so): caught by its ETag. */
	fault("{\"service\": \"s3\", \"operation\": \"GetObject\", "
	      "\"mode\": \"malformed\", \"count\": 1}");
	memset(&t, 0, sizeof t);
	t.bucket = "shipgate-list";
	t.key = "paged/obj-03";
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_EREPLY && g.result == NULL && g.message != NULL &&
		strstr(g.message, "does not match its ETag") != NULL,
	    "retry: a garbled GetObject body is an unreadable reply: %s",
	    g.message != NULL ? g.message : "none");
	s3_object_free(g.result);
	START(&g, s3_get_object(client, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK && g.result != NULL,
	    "retry: the same GetObject unharmed passes its ETag check");
	s3_object_free(g.result);
	aws_client_free(c3);

	/* A raw call through the client, cancelled before it starts. */
	memset(&req, 0, sizeof req);
	req.service = &aws_service_sts;
	req.operation = "GetCallerIdentity";
	req.body = "Action=GetCallerIdentity&Version=2011-06-15";
	req.body_len = strlen(req.body);
	got_clear(&g);
	{
		struct aws_call *call;
		char		*cause = NULL;

		call = aws_client_call(client, &req, raw_cb, &g, &cause);
		aws_call_cancel(call);
		wait_for(&g, 1);
		ok(g.error == AWS_ECANCELLED && g.n == 1,
		    "client: a cancelled call calls back once, cancelled");
	}
	got_clear(&g);
}

static void
test_skew(void)
{
	struct aws_client	   *c;
	struct s3_target	    t;
	struct sts_caller_identity *id;
	struct got		    g = { 0 };

	/* S3 allows 15 minutes: 20 minutes behind is RequestTimeTooSkewed. */
	clock_shift_ms = -20 * 60 * 1000;
	c = client_new(5, 1);
	memset(&t, 0, sizeof t);
	t.bucket = "shipgate-list";
	t.key = "paged/obj-01";
	START(&g, s3_get_object(c, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK && g.attempts == 2,
	    "skew: S3 20 min behind: "
	    "RequestTimeTooSkewed, then the corrected retry succeeds");
	s3_object_free(g.result);
	START(&g, s3_get_object(c, &t, 0, get_cb, &g, CAUSE));
	wait_for(&g, 1);
	ok(g.error == AWS_OK && g.attempts == 1,
	    "skew: the correction is kept for the next call");
	s3_object_free(g.result);
	aws_client_free(c);

	/* STS allows 5 minutes: 10 minutes ahead. */
	clock_shift_ms = 10 * 60 * 1000;
	c = client_new(5, 1);
	id = identity(c, NULL, &g);
	ok(g.error == AWS_OK && g.attempts == 2 && id != NULL,
	    "skew: STS 10 min ahead is corrected once (attempts %d)",
	    g.attempts);
	sts_caller_identity_free(id);
	aws_client_free(c);
	clock_shift_ms = 0;
	got_clear(&g);
}

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

/* The pure readers of the replies, without the fake. */
static void
test_parsers(void)
{
	static const char list[] =
	    "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>t2</NextContinuationToken>"
	    "<Contents><Key>in/a%2Bb.zip</Key><Size>3</Size>"
	    "<LastModified>2026-01-02T03:04:05.000Z</LastModified>"
	    "<ETag>\"e\"</ETag></Contents>"
	    "<Contents><Key>in/c.zip</Key><Size>4</Size>"
	    "<LastModified>2026-01-02T03:04:06.000Z</LastModified>"
	    "</Contents></ListBucketResult>";
	static const char assume[] =
	    "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>ASIA1</AccessKeyId>"
	    "<SecretAccessKey></SecretAccessKey>"
	    "<SessionToken>t</SessionToken>"
	    "<Expiration>2026-12-07T12:00:00Z</Expiration></Credentials>"
	    "<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
	    "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
	static const char identity[] =
	    "<GetCallerIdentityResponse><GetCallerIdentityResult>"
	    "<Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AIDA</UserId>"
	    "<Account>123456789012</Account></GetCallerIdentityResult>"
	    "</GetCallerIdentityResponse>";
	static const char messages[] =
	    "{\"Messages\": [{\"MessageId\": \"m\", \"ReceiptHandle\": "
	    "\"h\", \"Body\": \"hello\", \"MD5OfBody\": "
	    "\"00000000000000000000000000000000\"}]}";
	struct s3_object_list	   *ol;
	struct sts_assumed_role	   *ar;
	struct sts_caller_identity *ci;
	static const char	    notif[] =
	    "<NotificationConfiguration><TopicConfiguration><Id>t</Id>"
	    "<Topic>arn:aws:sns:r:1:t</Topic><Event>s3:ObjectRemoved:*</Event>"
	    "</TopicConfiguration><QueueConfiguration><Id>q</Id>"
	    "<Queue>arn:aws:sqs:r:1:q</Queue>"
	    "<Event>s3:ObjectCreated:Put</Event>"
	    "<Event>s3:ObjectCreated:CompleteMultipartUpload</Event>"
	    "<Filter><S3Key><FilterRule><Name>Prefix</Name>"
	    "<Value>drops/</Value></FilterRule><FilterRule><Name>suffix</Name>"
	    "<Value>.zip</Value></FilterRule></S3Key></Filter>"
	    "</QueueConfiguration><EventBridgeConfiguration/>"
	    "</NotificationConfiguration>";
	static const char noqueue[] =
	    "<NotificationConfiguration><QueueConfiguration><Id>q</Id>"
	    "<Event>s3:ObjectCreated:*</Event></QueueConfiguration>"
	    "</NotificationConfiguration>";
	static const char attrs[] =
	    "{\"Attributes\": {\"QueueArn\": \"arn:aws:sqs:r:1:q\", "
	    "\"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"d\\\","
	    "\\\"maxReceiveCount\\\":10}\", \"Policy\": \"\"}}";
	static const char    badpolicy[] = "{\"Attributes\": {\"Policy\": 3}}";
	struct sqs_messages *ms;
	struct s3_notification	    *nc;
	struct sqs_queue_attributes *qa;
	char			    *next = NULL, *cause = NULL, *id = NULL;
	int			     rc;

	ol = xcalloc(1, sizeof *ol);
	rc = s3_parse_list_page(ol, list, strlen(list), 10, &next, &cause);
	ok(rc == 0 && ol->n == 2 && strcmp(ol->v[0].key, "in/a+b.zip") == 0 &&
		next != NULL && strcmp(next, "t2") == 0,
	    "S3 page: keys decoded, "
	    "continuation token (%s)",
	    cause != NULL ? cause : "");
	free(next);
	next = NULL;
	rc = s3_parse_list_page(ol, list, strlen(list), 3, &next, &cause);
	ok(rc == -2 && cause != NULL && strstr(cause, "more than 3") != NULL,
	    "S3 page: past max_total is -2 (%s)", cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	free(next);
	next = NULL;
	s3_object_list_free(ol);

	ar = xcalloc(1, sizeof *ar);
	rc = sts_parse_assume_role(ar, assume, strlen(assume), &cause);
	ok(rc == -1 && cause != NULL &&
		strcmp(cause, "empty credentials") == 0 &&
		ar->creds.access_key_id == NULL,
	    "AssumeRole: an empty "
	    "secret is refused, nothing kept");
	free(cause);
	cause = NULL;
	sts_assumed_role_free(ar);

	ci = xcalloc(1, sizeof *ci);
	rc = sts_parse_caller_identity(ci, identity, strlen(identity), &cause);
	ok(rc == 0 && strcmp(ci->account, "123456789012") == 0 &&
		strcmp(ci->user_id, "AIDA") == 0,
	    "GetCallerIdentity read");
	sts_caller_identity_free(ci);

	ms = xcalloc(1, sizeof *ms);
	rc = sqs_parse_messages(ms, messages, strlen(messages), &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "MD5OfBody") != NULL,
	    "ReceiveMessage: a body that does not match its MD5 is refused "
	    "(%s)",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	sqs_messages_free(ms);

	rc = sesv2_parse_send_email("{\"MessageId\": \"0100-x\"}", 23, &id,
	    &cause);
	ok(rc == 0 && id != NULL && strcmp(id, "0100-x") == 0,
	    "SendEmail: the MessageId");
	free(id);
	rc = sesv2_parse_send_email("{}", 2, &id, &cause);
	ok(rc == -1 && cause != NULL,
	    "SendEmail: no MessageId is refused "
	    "(%s)",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;

	nc = xcalloc(1, sizeof *nc);
	rc = s3_parse_notification(nc, notif, strlen(notif), &cause);
	ok(rc == 0 && nc->n == 3 && nc->v[0].kind == S3_NOTIFY_TOPIC &&
		nc->v[1].kind == S3_NOTIFY_QUEUE &&
		strcmp(nc->v[1].destination, "arn:aws:sqs:r:1:q") == 0 &&
		nc->v[1].nevents == 2 &&
		strcmp(nc->v[1].prefix, "drops/") == 0 &&
		strcmp(nc->v[1].suffix, ".zip") == 0 &&
		nc->v[2].kind == S3_NOTIFY_EVENTBRIDGE &&
		nc->v[2].destination == NULL,
	    "notification: every kind, events, "
	    "filter rules (%s)",
	    cause != NULL ? cause : "");
	s3_notification_free(nc);
	nc = xcalloc(1, sizeof *nc);
	rc = s3_parse_notification(nc, noqueue, strlen(noqueue), &cause);
	ok(rc == -1 && cause != NULL &&
		strcmp(cause, "QueueConfiguration "
			      "without Queue") == 0,
	    "notification: a queue configuration "
	    "without its queue is refused (%s)",
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	s3_notification_free(nc);

	qa = xcalloc(1, sizeof *qa);
	rc = sqs_parse_queue_attributes(qa, attrs, strlen(attrs), &cause);
	ok(rc == 0 && strcmp(qa->queue_arn, "arn:aws:sqs:r:1:q") == 0 &&
		qa->redrive_policy != NULL &&
		strstr(qa->redrive_policy, "maxReceiveCount") != NULL &&
		qa->policy == NULL,
	    "queue attributes: ARN and redrive policy, an empty policy is none");
	sqs_queue_attributes_free(qa);
	qa = xcalloc(1, sizeof *qa);
	rc = sqs_parse_queue_attributes(qa, "{}", 2, &cause);
	ok(rc == 0 && qa->queue_arn == NULL && qa->redrive_policy == NULL,
	    "queue attributes: a queue answering {} has none");
	sqs_queue_attributes_free(qa);
	qa = xcalloc(1, sizeof *qa);
	rc = sqs_parse_queue_attributes(qa, badpolicy, strlen(badpolicy),
	    &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "Policy") != NULL,
	    "queue attributes: a policy that is "
	    "not a string is refused (%s)",
	    cause != NULL ? cause : "");
	free(cause);
	sqs_queue_attributes_free(qa);
}

int
main(void)
{
	const char *extra[] = { NULL };
	int	    closed = 0;

	log_init("test-svc-core");
	if (fakeaws_start_args(&fake, extra) != 0) {
		tap_bail("the fake AWS endpoint did not start");
	}
	if (fake_post("/_fake/setup",
		"{\"account\": \"000000000000\", "
		"\"region\": \"eu-west-1\", \"buckets\": ["
		"{\"name\": \"shipgate-drops\"}, "
		"{\"name\": \"shipgate-list\"}, "
		"{\"name\": \"shipgate-versioned\", \"versioning\": true}], "
		"\"queues\": [{\"name\": \"shipgate-intake\"}], "
		"\"notifications\": [{\"bucket\": \"shipgate-drops\", "
		"\"queue\": \"shipgate-intake\", \"prefix\": \"incoming/\"}]}") !=
		200 ||
	    fake_post("/_fake/setup",
		"{\"account\": "
		"\"111111111111\", \"region\": \"eu-west-1\", \"buckets\": "
		"[{\"name\": \"billing-stg-artifacts\"}]}") != 200) {
		fakeaws_stop(&fake);
		tap_bail("the fake's setup failed");
	}
	uv_loop_init(&loop);
	http = http_client_new(&loop);
	tools = aws_creds_static_new(FAKEAWS_ACCESS_KEY_ID, FAKEAWS_SECRET_KEY,
	    NULL, "static");
	client = client_new(5, 0);

	test_parsers();
	test_sts();
	test_role();
	test_s3();
	test_s3_urls();
	test_sqs();
	test_retries();
	test_skew();

	is_int(sync_callbacks, 0,
	    "no callback ever came from inside the "
	    "call that started it");
	aws_client_free(client);
	aws_creds_free(tools);
	http_client_close(http, closed_cb, &closed);
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "every handle closed");
	fakeaws_stop(&fake);
	return (tap_done());
}
