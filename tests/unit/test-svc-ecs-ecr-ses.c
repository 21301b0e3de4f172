/*
 * svc-ecs, svc-ecr, svc-sesv2: the readers against AWS's examples and
 * tables, then every call against the fake AWS endpoint, with its error
 * replies, a retried throttle and a malformed reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws-creds-role.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "svc-cfn.h"
#include "svc-ecr.h"
#include "svc-ecs.h"
#include "svc-fake-env.h"
#include "svc-sesv2.h"
#include "tap.h"
#include "xmalloc.h"

static char *
read_example(const char *name, size_t *len)
{
	const char *shared = getenv("SHIPGATE_SHARED");
	char	    path[4096], *data;
	FILE	   *fp;
	long	    n;

	snprintf(path, sizeof path, "%s/testdata/cfn/aws-examples/%s", shared,
	    name);
	if ((fp = fopen(path, "r")) == NULL) {
		ok(0, "open %s", path);
		return (NULL);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	data = xcalloc(1, (size_t)n + 1);
	if (fread(data, 1, (size_t)n, fp) != (size_t)n)
		ok(0, "read %s", path);
	fclose(fp);
	*len = (size_t)n;
	return (data);
}

/* Keys of the examples shipgate does not keep: not needed to deploy. */
static const char *ecs_unmapped[] = { "loadBalancers", "serviceRegistries",
	"platformVersion", "platformFamily", "networkConfiguration",
	"volumeConfigurations", "roleArn", "placementConstraints",
	"placementStrategy", "schedulingStrategy", "deploymentController",
	"createdBy", "enableECSManagedTags", "propagateTags",
	"enableExecuteCommand", "availabilityZoneRebalancing",
	"capacityProviderStrategy", "healthCheckGracePeriodSeconds", NULL };

static const char *ecs_service_keys[] = { "status", "taskDefinition",
	"pendingCount", "desiredCount", "runningCount", "createdAt",
	"serviceName", "clusterArn", "serviceArn", "deployments", "events",
	"launchType", "deploymentConfiguration", NULL };

static const char *ecs_deployment_keys[] = { "id", "status", "taskDefinition",
	"desiredCount", "pendingCount", "runningCount", "failedTasks",
	"createdAt", "updatedAt", "rolloutState", "rolloutStateReason",
	"launchType", NULL };

static int
in_list(const char *const *v, const char *k)
{
	for (; *v != NULL; v++)
		if (strcmp(*v, k) == 0)
			return (1);
	return (0);
}

static int
check_keys(json_t *o, const char *const *mapped, const char *where)
{
	const char *k;
	json_t	   *v;
	int	    bad = 0;

	json_object_foreach(o, k, v) {
		if (!in_list(mapped, k) && !in_list(ecs_unmapped, k)) {
			printf("# %s.%s is not mapped\n", where, k);
			bad++;
		}
	}
	return (bad);
}

static void
test_ecs_examples(void)
{
	struct ecs_service_list	    *l;
	const struct ecs_service    *s;
	const struct ecs_deployment *d;
	json_t			    *j, *wrap, *svc, *dep;
	char			    *data, *cause = NULL, *text;
	size_t			     len, i, k;
	int			     bad = 0;

	if (getenv("SHIPGATE_SHARED") == NULL) {
		tap_skip("SHIPGATE_SHARED is not set: AWS's ECS examples");
		return;
	}
	if ((data = read_example("ecs-describe-services-cli.json", &len)) ==
	    NULL)
		return;
	l = xcalloc(1, sizeof *l);
	ok(ecs_parse_services(l, data, len, &cause) == 0 && l->n == 1,
	    "ecs-describe-services-cli.json: parsed");
	if (l->n == 1) {
		s = &l->v[0];
		is_str(s->name, "my-http-service", "service name");
		is_str(s->arn,
		    "arn:aws:ecs:us-west-2:123456789012:service/"
		    "my-http-service",
		    "service ARN");
		is_str(s->cluster_arn,
		    "arn:aws:ecs:us-west-2:123456789012:"
		    "cluster/default",
		    "cluster ARN");
		is_str(s->status, "ACTIVE", "status");
		ok(s->desired == 10 && s->running == 10 && s->pending == 0,
		    "counts 10/10/0");
		is_str(s->task_definition,
		    "arn:aws:ecs:us-west-2:123456789012:"
		    "task-definition/amazon-ecs-sample:1",
		    "task definition");
		ok(s->created.tv_sec == 1466801808 &&
			s->created.tv_nsec / 1000 == 595000,
		    "createdAt 1466801808.595");
		ok(s->ndeployments == 1 &&
			strcmp(s->deployments[0].id,
			    "ecs-svc/1234567890123456789") == 0 &&
			strcmp(s->deployments[0].status, "PRIMARY") == 0 &&
			s->deployments[0].rollout_state == NULL &&
			s->deployments[0].updated.tv_sec == 1428326312,
		    "one PRIMARY deployment, no rolloutState (older API)");
		ok(s->nevents == 1 &&
			strcmp(s->events[0].message,
			    "(service my-http-service) has reached a steady state.") ==
			    0 &&
			strcmp(s->events[0].id,
			    "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE") == 0,
		    "events");
	}
	is_int(l->nfailures, 0, "no failures");
	ecs_service_list_free(l);
	j = json_loadb(data, len, 0, NULL);
	json_array_foreach(json_object_get(j, "services"), i, svc) {
		bad += check_keys(svc, ecs_service_keys, "services[]");
		json_array_foreach(json_object_get(svc, "deployments"), k, dep)
			bad += check_keys(dep, ecs_deployment_keys,
			    "deployments[]");
	}
	json_decref(j);
	free(data);

	/* UpdateService's reply has the same service in "service". */
	if ((data = read_example("ecs-update-service-rollout-in-progress-"
				 "cli.json",
		 &len)) == NULL)
		return;
	j = json_loadb(data, len, 0, NULL);
	svc = json_object_get(j, "service");
	wrap = json_pack("{s:[O]}", "services", svc);
	text = json_dumps(wrap, JSON_COMPACT);
	json_decref(wrap);
	l = xcalloc(1, sizeof *l);
	free(cause);
	cause = NULL;
	ok(ecs_parse_services(l, text, strlen(text), &cause) == 0 && l->n == 1,
	    "ecs-update-service-rollout-in-progress-cli.json: parsed (%s)",
	    cause != NULL ? cause : "ok");
	if (l->n == 1) {
		s = &l->v[0];
		ok(s->circuit_breaker && s->circuit_breaker_rollback,
		    "circuit breaker with rollback");
		is_str(s->launch_type, "FARGATE", "launch type");
		d = ecs_service_primary(s);
		ok(d != NULL && strcmp(d->rollout_state, "IN_PROGRESS") == 0 &&
			strcmp(d->rollout_state_reason,
			    "ECS deployment "
			    "ecs-svc/7522791612543716777 in progress.") == 0,
		    "PRIMARY deployment IN_PROGRESS, with its reason");
		ok(s->ndeployments == 2 &&
			strcmp(s->deployments[1].status, "ACTIVE") == 0 &&
			strcmp(s->deployments[1].rollout_state, "COMPLETED") ==
			    0 &&
			s->deployments[1].running == 2,
		    "the ACTIVE deployment COMPLETED, 2 running");
		/* 2025-02-21T15:07:20.519000-06:00 */
		ok(s->ndeployments == 2 &&
			s->deployments[1].created.tv_sec == 1740172040 &&
			s->deployments[1].created.tv_nsec == 519000000,
		    "createdAt with a -06:00 offset");
		ok(s->nevents >= 10 && strstr(s->events[1].message,
					   "deployment completed") != NULL,
		    "%zu events", s->nevents);
	}
	ecs_service_list_free(l);
	bad += check_keys(svc, ecs_service_keys, "service");
	json_array_foreach(json_object_get(svc, "deployments"), i, dep)
		bad += check_keys(dep, ecs_deployment_keys, "deployments[]");
	is_int(bad, 0,
	    "every field of the ECS examples is mapped or "
	    "deliberately left out");
	json_decref(j);
	free(text);
	free(data);
	free(cause);
}

static void
test_ecs_malformed(void)
{
	static const struct {
		const char *json;
		const char *cause;
	} t[] = {
		{ "{\"services\": [{\"serviceName\": \"web\", \"status\": "
		  "\"ACTIVE\", \"deployments\": [{\"id\": \"d\", \"status\": "
		  "1}]}]}",
		    "ECS DescribeServices reply: services[0]."
		    "deployments[0].status: expected a string" },
		{ "{\"services\": [{\"status\": \"ACTIVE\"}]}",
		    "services[0].serviceName" },
		{ "{\"services\": {}}", "services" },
		{ "{\"services\": [], \"failures\": [{\"arn\": 3}]}",
		    "failures[0].arn" },
		{ "{\"services\": [{\"serviceName\": \"web\", \"status\": "
		  "\"ACTIVE\", \"desiredCount\": \"2\"}]}",
		    "desiredCount" },
		{ "{\"services\": [", "ECS DescribeServices reply" },
		{ "[1, 2]", "expected an object" },
	};
	struct ecs_service_list *l;
	char			*cause;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		l = xcalloc(1, sizeof *l);
		cause = NULL;
		rc = ecs_parse_services(l, t[i].json, strlen(t[i].json),
		    &cause);
		ok(rc == -1 && cause != NULL &&
			strstr(cause, t[i].cause) != NULL,
		    "bad ECS reply %zu: %s", i, cause);
		ecs_service_list_free(l);
		free(cause);
	}
}

static void
test_ecr_pure(void)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} b64[] = {
		{ "", "" },
		{ "QVdTOnNlY3JldA==", "AWS:secret" },
		{ "QVdTOnNlY3JldDE=", "AWS:secret1" },
		{ "QVdTOnNlY3JldDEy", "AWS:secret12" },
		{ "QVdTOkN...", NULL },
		{ "QVdTOnNlY3JldA=", NULL },
		{ "QV=TOnNl", NULL },
		{ "QVdTOnNlY3JldA==QVdT", NULL },
		{ "QVdT\nOnNl", NULL },
	};
	struct ecr_auth *a;
	char		*out, *data, *cause = NULL, *json;
	size_t		 i, len;

	for (i = 0; i < sizeof b64 / sizeof *b64; i++) {
		out = ecr_base64_decode(b64[i].in, NULL);
		is_str(out, b64[i].out, "base64 %zu", i);
		free(out);
	}

	if (getenv("SHIPGATE_SHARED") == NULL) {
		tap_skip("SHIPGATE_SHARED is not set: ECR's example");
		return;
	}
	if ((data = read_example("ecr-get-authorization-token-cli.json",
		 &len)) == NULL)
		return;
	/* The example's token is cut short ("QVdTOkN..."): refused. */
	a = xcalloc(1, sizeof *a);
	ok(ecr_parse_authorization_token(a, data, len, &cause) == -1 &&
		cause != NULL && strstr(cause, "authorizationToken") != NULL,
	    "the example's shortened token is refused: %s", cause);
	ecr_auth_free(a);
	free(cause);
	cause = NULL;
	/* The same reply with a whole token. */
	*strstr(data, "QVdTOkN...") = '\0';
	json = xasprintf("%sQVdTOnB3MTI=%s", data, data + strlen(data) + 10);
	a = xcalloc(1, sizeof *a);
	ok(ecr_parse_authorization_token(a, json, strlen(json), &cause) == 0,
	    "ecr-get-authorization-token-cli.json: parsed");
	is_str(a->username, "AWS", "username AWS");
	is_str(a->password, "pw12", "password");
	is_str(a->proxy_endpoint,
	    "https://123456789012.dkr.ecr.us-west-2."
	    "amazonaws.com",
	    "proxyEndpoint");
	ok(a->expires.tv_sec == 1448875853 &&
		a->expires.tv_nsec / 1000000 == 241,
	    "expiresAt 1448875853.241");
	ecr_auth_free(a);
	free(json);
	free(data);
	free(cause);
}

static void
test_ses_pure(void)
{
	const char *to[] = { "bob@client.example", "carol@client.example",
		NULL };
	const char *cc[] = { "ops@client.example", NULL };
	const char *many[60];
	struct sesv2_email m;
	char		  *json, *cause = NULL;
	size_t		   i;

	memset(&m, 0, sizeof m);
	m.from = "shipgate <deploy@example.com>";
	m.to = to;
	m.cc = cc;
	m.subject = "D\xc3\xa9ploiement 1.4.2";
	m.text = "Approve: https://deploy.example.com/runs/42";
	m.html = "<p>Approve</p>";
	json = sesv2_email_json(&m, &cause);
	is_str(json,
	    "{\"FromEmailAddress\":\"shipgate <deploy@example.com>\","
	    "\"Destination\":{\"ToAddresses\":[\"bob@client.example\","
	    "\"carol@client.example\"],\"CcAddresses\":[\"ops@client."
	    "example\"]},\"Content\":{\"Simple\":{\"Subject\":{\"Data\":"
	    "\"D\xc3\xa9ploiement 1.4.2\",\"Charset\":\"UTF-8\"},\"Body\":{"
	    "\"Text\":{\"Data\":\"Approve: https://deploy.example.com/runs/"
	    "42\",\"Charset\":\"UTF-8\"},\"Html\":{\"Data\":\"<p>Approve</p>"
	    "\",\"Charset\":\"UTF-8\"}}}}}",
	    "simple message JSON");
	free(json);

	memset(&m, 0, sizeof m);
	m.from = "deploy@example.com";
	m.raw = "Subject: x\r\n\r\nhi";
	m.raw_len = 16;
	json = sesv2_email_json(&m, &cause);
	is_str(json,
	    "{\"FromEmailAddress\":\"deploy@example.com\","
	    "\"Content\":{\"Raw\":{\"Data\":\"U3ViamVjdDogeA0KDQpoaQ==\"}}}",
	    "raw message JSON, base64");
	free(json);

	m.subject = "also";
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL, "raw with a subject: refused (%s)",
	    cause);
	free(cause);
	cause = NULL;

	memset(&m, 0, sizeof m);
	m.from = "deploy@example.com";
	m.subject = "s";
	m.text = "t";
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL, "no recipients: refused (%s)", cause);
	free(cause);
	cause = NULL;
	for (i = 0; i < 51; i++)
		many[i] = "x@example.com";
	many[51] = NULL;
	m.to = many;
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL && strstr(cause, "51") != NULL,
	    "51 recipients: refused (%s)", cause);
	free(cause);
	cause = NULL;
	m.to = to;
	m.from = NULL;
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL, "no From: refused");
	free(cause);
	cause = NULL;
	m.from = "deploy@example.com";
	m.text = NULL;
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL, "no body: refused");
	free(cause);
	cause = NULL;
	m.text = "bad \xff";
	json = sesv2_email_json(&m, &cause);
	ok(json == NULL && cause != NULL && strstr(cause, "UTF-8") != NULL,
	    "a body that is not UTF-8: refused");
	free(cause);
}

/* ------------------------------------------------------------ the fake */

struct res {
	struct svc_env *env;
	int		done;
	int		error;
	int		attempts;
	char		code[128];
	char	       *message;
	char	       *id;
	void	       *result;
};

static void
res_reset(struct res *r, struct svc_env *env)
{
	free(r->message);
	free(r->id);
	memset(r, 0, sizeof *r);
	r->env = env;
}

static void
res_reply(struct res *r, const struct aws_reply *reply, void *result)
{
	svc_env_called(r->env);
	r->done++;
	r->error = reply->error;
	r->attempts = reply->attempts;
	snprintf(r->code, sizeof r->code, "%s", reply->aws.code);
	free(r->message);
	r->message = reply->message != NULL ? xstrdup(reply->message) : NULL;
	r->result = result;
}

static void
services_cb(const struct aws_reply *reply, struct ecs_service_list *l,
    void *arg)
{
	res_reply(arg, reply, l);
}

static void
auth_cb(const struct aws_reply *reply, struct ecr_auth *a, void *arg)
{
	res_reply(arg, reply, a);
}

static void
images_cb(const struct aws_reply *reply, struct ecr_image_list *l, void *arg)
{
	res_reply(arg, reply, l);
}

static void
layers_cb(const struct aws_reply *reply, struct ecr_layer_list *l, void *arg)
{
	res_reply(arg, reply, l);
}

static void
send_cb(const struct aws_reply *reply, const char *id, void *arg)
{
	struct res *r = arg;

	res_reply(r, reply, NULL);
	r->id = id != NULL ? xstrdup(id) : NULL;
}

static void
ref_cb(const struct aws_reply *reply, struct cfn_change_set_ref *ref, void *arg)
{
	res_reply(arg, reply, ref);
}

static void
cs_cb(const struct aws_reply *reply, struct cfn_change_set *cs, void *arg)
{
	res_reply(arg, reply, cs);
}

static void
stacks_cb(const struct aws_reply *reply, struct cfn_stack_list *l, void *arg)
{
	res_reply(arg, reply, l);
}

static void
done_cb(const struct aws_reply *reply, void *arg)
{
	res_reply(arg, reply, NULL);
}

static void
finish(struct svc_env *env, struct res *r, const void *started, char *cause)
{
	env->starting = 0;
	if (started == NULL) {
		ok(0, "call started: %s", cause != NULL ? cause : "?");
		free(cause);
		return;
	}
	svc_env_wait(env, &r->done);
}

#define CALL(env, r, expr)                         \
	do {                                       \
		char *cause = NULL;                \
		res_reset((r), (env));             \
		(env)->starting = 1;               \
		finish((env), (r), (expr), cause); \
	} while (0)

#define POLL_MAX 2000

static long
calls_of(struct svc_env *env, const char *service, const char *op)
{
	struct fakeaws_reply fr;
	json_t		    *j;
	long		     n = -1;

	fakeaws_control(&env->fake, "GET", "/_fake/calls", NULL, &fr);
	if ((j = json_loads(fr.body != NULL ? fr.body : "", 0, NULL)) != NULL)
		n = (long)json_integer_value(
		    json_object_get(json_object_get(j, service), op));
	json_decref(j);
	free(fr.body);
	return (n);
}

/* A stack holding just a cluster, so services can be looked up in it. */
static void
make_cluster(struct svc_env *env)
{
	struct cfn_create_change_set_input in;
	struct cfn_stack_list		  *sl;
	struct cfn_change_set		  *cs;
	struct res			   r = { 0 };
	int				   i, done = 0;

	memset(&in, 0, sizeof in);
	in.stack_name = "apps";
	in.change_set_name = "c1";
	in.type = CFN_CHANGE_SET_CREATE;
	in.template_body =
	    "Resources:\n  Cluster:\n    Type: AWS::ECS::"
	    "Cluster\n    Properties:\n      ClusterName: apps\n";
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	cfn_change_set_ref_free(r.result);
	for (i = 0; i < POLL_MAX && !done; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, "apps",
			"c1", cs_cb, &r, &cause));
		cs = r.result;
		done = cs == NULL || cfn_change_set_status_final(cs->status);
		cfn_change_set_free(cs);
		if (!done)
			svc_env_sleep_ms(15);
	}
	CALL(env, &r,
	    cfn_execute_change_set(env->client, NULL, NULL, "apps", "c1", NULL,
		done_cb, &r, &cause));
	for (done = 0, i = 0; i < POLL_MAX && !done; i++) {
		CALL(env, &r,
		    cfn_describe_stacks(env->client, NULL, NULL, "apps",
			stacks_cb, &r, &cause));
		sl = r.result;
		done = sl == NULL || cfn_stack_status_final(sl->v[0].status);
		if (done)
			ok(sl != NULL &&
				strcmp(sl->v[0].status, "CREATE_COMPLETE") == 0,
			    "a stack with cluster "
			    "apps");
		cfn_stack_list_free(sl);
		if (!done)
			svc_env_sleep_ms(15);
	}
	res_reset(&r, env);
}

static void
test_ecs(struct svc_env *env)
{
	const char		*one[] = { "web", NULL };
	const char		*twelve[13];
	char			 names[12][16];
	struct res		 r = { 0 };
	struct ecs_service_list *l;
	size_t			 i;
	long			 before;

	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "nope", one,
		services_cb, &r, &cause));
	ok(r.error == AWS_EAWS &&
		strcmp(r.code, "ClusterNotFoundException") == 0 &&
		r.result == NULL,
	    "DescribeServices in a missing cluster: "
	    "ClusterNotFoundException");
	ok(r.message != NULL &&
		strncmp(r.message,
		    "ECS DescribeServices: "
		    "ClusterNotFoundException: Cluster not found. (request ",
		    70) == 0,
	    "the message: %s", r.message);

	make_cluster(env);
	for (i = 0; i < 12; i++) {
		snprintf(names[i], sizeof names[i], "svc-%zu", i);
		twelve[i] = names[i];
	}
	twelve[12] = NULL;
	before = calls_of(env, "ecs", "DescribeServices");
	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "apps", twelve,
		services_cb, &r, &cause));
	l = r.result;
	ok(l != NULL && l->n == 0 && l->nfailures == 12 &&
		strcmp(l->failures[0].reason, "MISSING") == 0 &&
		strcmp(l->failures[0].arn, "arn:aws:ecs:eu-west-1:000000000000:"
					   "service/apps/svc-0") == 0 &&
		strstr(l->failures[11].arn, "svc-11") != NULL,
	    "12 missing services: 12 MISSING failures, "
	    "in order");
	is_int(calls_of(env, "ecs", "DescribeServices") - before, 2,
	    "12 services: two calls of at most 10");
	ecs_service_list_free(l);

	/* A throttled call is retried; a malformed reply is an error. */
	fakeaws_control(&env->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ecs\", \"operation\": \"DescribeServices\", \"mode\": "
	    "\"throttle\"}",
	    NULL);
	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "apps", one,
		services_cb, &r, &cause));
	ok(r.error == AWS_OK && r.attempts == 2 && r.result != NULL,
	    "throttled once: retried, then answered");
	ecs_service_list_free(r.result);
	fakeaws_control(&env->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ecs\", \"operation\": \"DescribeServices\", \"mode\": "
	    "\"malformed\"}",
	    NULL);
	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "apps", one,
		services_cb, &r, &cause));
	ok(r.error == AWS_EREPLY && r.result == NULL && r.message != NULL &&
		strncmp(r.message,
		    "ECS DescribeServices: unreadable reply: ECS "
		    "DescribeServices reply: ",
		    65) == 0,
	    "a malformed reply: %s", r.message);
	res_reset(&r, env);
}

/* PutImage through the client: the image's digest, or NULL. */
struct put {
	struct svc_env *env;
	int		pending;
	int		failed;
	char	       *digest;
};

static void
put_cb(struct aws_reply *reply, void *arg)
{
	struct put  *p = arg;
	struct json *doc;
	const char  *d;

	p->pending--;
	if (reply->error != AWS_OK ||
	    json_load(&doc, reply->body->data, reply->body->len, NULL,
		"PutImage", NULL) != 0) {
		p->failed++;
		return;
	}
	if (p->digest == NULL &&
	    json_str(doc, &d, "image.imageId.imageDigest") == 0)
		p->digest = xstrdup(d);
	json_free(doc);
}

#define LAYER_CONFIG \
	"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LAYER_ONE \
	"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LAYER_MISSING \
	"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define MEDIA_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

static char *
manifest(int n)
{
	return (xasprintf(
	    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_MANIFEST
	    "\",\"config\":{\"mediaType\":\"application/vnd."
	    "docker.container.image.v1+json\",\"size\":10,\"digest\":\"" LAYER_CONFIG
	    "\"},\"layers\":[{\"mediaType\":\"application/vnd."
	    "docker.image.rootfs.diff.tar.gzip\",\"size\":100,\"digest\":\"" LAYER_ONE
	    "\"}],\"annotations\":{\"n\":\"%d\"}}",
	    n));
}

static int
put_images(struct svc_env *env, int n, char **first_digest)
{
	struct aws_request req;
	struct put	   p = { env, 0, 0, NULL };
	json_t		  *o;
	char		  *m, *body, *cause = NULL, tag[16];
	int		   i;

	for (i = 0; i < n; i++) {
		m = manifest(i);
		if (i == 0)
			snprintf(tag, sizeof tag, "1.0");
		else
			snprintf(tag, sizeof tag, "v%d", i);
		o = json_pack("{s:s,s:s,s:s}", "repositoryName", "billing/web",
		    "imageManifest", m, "imageTag", tag);
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		memset(&req, 0, sizeof req);
		req.service = &aws_service_ecr;
		req.operation = "PutImage";
		req.body = body;
		req.body_len = strlen(body);
		if (aws_client_call(env->client, &req, put_cb, &p, &cause) !=
		    NULL)
			p.pending++;
		else {
			p.failed++;
			free(cause);
			cause = NULL;
		}
		free(body);
		free(m);
		/* The first one alone, so its digest is the first. */
		if (i == 0)
			while (p.pending > 0)
				uv_run(&env->loop, UV_RUN_ONCE);
	}
	while (p.pending > 0)
		uv_run(&env->loop, UV_RUN_ONCE);
	*first_digest = p.digest;
	return (p.failed);
}

static void
test_ecr(struct svc_env *env)
{
	struct ecr_image_id    ids[3];
	const char	      *layers[] = { LAYER_ONE, LAYER_MISSING };
	const char	      *types[] = { MEDIA_MANIFEST, NULL };
	struct res	       r = { 0 };
	struct ecr_auth	      *a;
	struct ecr_image_list *il;
	struct ecr_layer_list *ll;
	struct fakeaws_reply   fr;
	char		      *digest = NULL, *m;

	fakeaws_control(&env->fake, "POST", "/_fake/setup",
	    "{\"account\": "
	    "\"000000000000\", \"repositories\": [{\"name\": \"billing/web\", "
	    "\"layers\": [{\"digest\": \"" LAYER_CONFIG "\", \"size\": 10}, "
	    "{\"digest\": \"" LAYER_ONE "\", \"size\": 100}]}]}",
	    NULL);

	CALL(env, &r,
	    ecr_get_authorization_token(env->client, NULL, NULL, auth_cb, &r,
		&cause));
	a = r.result;
	ok(r.error == AWS_OK && a != NULL, "GetAuthorizationToken");
	if (a != NULL) {
		is_str(a->username, "AWS", "token: user AWS");
		is_str(a->proxy_endpoint,
		    "https://000000000000.dkr.ecr."
		    "eu-west-1.amazonaws.com",
		    "token: proxy endpoint");
		ok(a->expires.tv_sec > time(NULL) + 3600, "token: expires "
							  "in hours");
		fakeaws_control(&env->fake, "GET", "/_fake/state", NULL, &fr);
		ok(a->password != NULL && strlen(a->password) > 100 &&
			fr.body != NULL && strstr(fr.body, a->password) != NULL,
		    "token: the password the fake issued");
		free(fr.body);
	}
	ecr_auth_free(a);

	ok(put_images(env, 101, &digest) == 0 && digest != NULL,
	    "101 images pushed (PutImage through the client)");
	m = manifest(0);
	ids[0] = (struct ecr_image_id){ "1.0", NULL };
	ids[1] = (struct ecr_image_id){ NULL, digest };
	ids[2] = (struct ecr_image_id){ "nope", NULL };
	CALL(env, &r,
	    ecr_batch_get_image(env->client, NULL, NULL, NULL, "billing/web",
		ids, 3, types, images_cb, &r, &cause));
	il = r.result;
	ok(il != NULL && il->n == 2 && il->nfailures == 1,
	    "BatchGetImage: two images, one failure");
	if (il != NULL && il->n == 2 && il->nfailures == 1) {
		ok(strcmp(il->v[0].tag, "1.0") == 0 &&
			strcmp(il->v[0].digest, digest) == 0 &&
			strcmp(il->v[0].manifest, m) == 0 &&
			strcmp(il->v[0].media_type, MEDIA_MANIFEST) == 0 &&
			strcmp(il->v[0].repository, "billing/web") == 0 &&
			strcmp(il->v[0].registry_id, "000000000000") == 0,
		    "by tag: the manifest byte for byte, its digest and type");
		ok(il->v[1].tag == NULL && strcmp(il->v[1].digest, digest) == 0,
		    "by digest: the same image");
		ok(strcmp(il->failures[0].tag, "nope") == 0 &&
			strcmp(il->failures[0].code, "ImageNotFound") == 0 &&
			il->failures[0].reason != NULL,
		    "missing tag: ImageNotFound");
	}
	ecr_image_list_free(il);
	free(m);
	CALL(env, &r,
	    ecr_batch_get_image(env->client, NULL, NULL, NULL, "billing/none",
		ids, 1, NULL, images_cb, &r, &cause));
	ok(r.error == AWS_EAWS &&
		strcmp(r.code, "RepositoryNotFoundException") == 0,
	    "BatchGetImage in a missing "
	    "repository: RepositoryNotFoundException");

	CALL(env, &r,
	    ecr_batch_check_layer_availability(env->client, NULL, NULL, NULL,
		"billing/web", layers, 2, layers_cb, &r, &cause));
	ll = r.result;
	ok(ll != NULL && ll->n == 1 && ll->v[0].available &&
		strcmp(ll->v[0].digest, LAYER_ONE) == 0 &&
		ll->v[0].size == 100 && ll->nfailures == 1 &&
		strcmp(ll->failures[0].digest, LAYER_MISSING) == 0 &&
		strcmp(ll->failures[0].code, "MissingLayerDigest") == 0,
	    "BatchCheckLayerAvailability: one "
	    "there, one missing");
	ecr_layer_list_free(ll);
	CALL(env, &r,
	    ecr_batch_check_layer_availability(env->client, NULL, NULL,
		"000000000000", "billing/none", layers, 1, layers_cb, &r,
		&cause));
	ok(r.error == AWS_EAWS &&
		strcmp(r.code, "RepositoryNotFoundException") == 0,
	    "layers of a missing "
	    "repository: RepositoryNotFoundException");
	free(digest);
	res_reset(&r, env);
}

/* Per-environment credentials: a role in another account. */
static void
test_role(struct svc_env *env)
{
	struct aws_creds_role_options ro;
	struct aws_creds	     *role;
	struct ecr_layer_list	     *ll;
	struct ecr_auth		     *a;
	struct res		      r = { 0 };
	const char		     *layers[] = { LAYER_ONE };
	char			     *why = NULL;

	fakeaws_control(&env->fake, "POST", "/_fake/setup",
	    "{\"account\": "
	    "\"111111111111\", \"repositories\": [{\"name\": "
	    "\"billing/int-only\"}]}",
	    NULL);
	memset(&ro, 0, sizeof ro);
	ro.role_arn = "arn:aws:iam::111111111111:role/shipgate-deployer";
	ro.session_name = "shipgate-svc-test";
	if ((role = aws_creds_role_new(env->client, env->creds, &ro, &why)) ==
	    NULL) {
		ok(0, "role provider: %s", why);
		free(why);
		return;
	}
	CALL(env, &r,
	    ecr_batch_check_layer_availability(env->client, role, NULL, NULL,
		"billing/int-only", layers, 1, layers_cb, &r, &cause));
	ll = r.result;
	ok(r.error == AWS_OK && ll != NULL && ll->n == 0 && ll->nfailures == 1,
	    "BatchCheckLayerAvailability in account "
	    "111111111111 through the assumed role (%s)",
	    r.message != NULL ? r.message : "ok");
	ecr_layer_list_free(ll);
	CALL(env, &r,
	    ecr_batch_check_layer_availability(env->client, NULL, NULL, NULL,
		"billing/int-only", layers, 1, layers_cb, &r, &cause));
	ok(r.error == AWS_EAWS &&
		strcmp(r.code, "RepositoryNotFoundException") == 0,
	    "the same with the tools "
	    "account's keys: RepositoryNotFoundException");
	CALL(env, &r,
	    ecr_get_authorization_token(env->client, role, NULL, auth_cb, &r,
		&cause));
	a = r.result;
	ok(a != NULL &&
		strcmp(a->proxy_endpoint, "https://111111111111.dkr."
					  "ecr.eu-west-1.amazonaws.com") == 0,
	    "a registry login for the "
	    "role's account");
	ecr_auth_free(a);
	res_reset(&r, env);
	aws_creds_free(role);
}

static void
test_ses(struct svc_env *env)
{
	const char	 *to[] = { "bob@client.example", "carol@client.example",
		      NULL };
	const char	 *cc[] = { "ops@client.example", NULL };
	static const char raw[] = "From: shipgate <deploy@example.com>\r\n"
				  "To: dave@client.example\r\n"
				  "Subject: Raw approval\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: text/plain; charset=utf-8\r\n"
				  "Content-Transfer-Encoding: 8bit\r\n"
				  "\r\n"
				  "Approuv\xc3\xa9 par carol.\r\n";
	static const char raw_no_to[] =
	    "From: deploy@example.com\r\nSubject: x\r\n\r\nbody\r\n";
	struct sesv2_email   m;
	struct res	     r = { 0 };
	struct fakeaws_reply fr;
	json_t		    *j, *msgs, *x;

	memset(&m, 0, sizeof m);
	m.from = "shipgate <deploy@example.com>";
	m.to = to;
	m.cc = cc;
	m.subject = "D\xc3\xa9ploiement billing 1.4.2 \xe2\x80\x94 approbation";
	m.text = "Approve: https://deploy.example.com/runs/42";
	m.html = "<p>Approve <a href=\"https://deploy.example.com/runs/42\">"
		 "run 42</a></p>";
	CALL(env, &r,
	    sesv2_send_email(env->client, NULL, NULL, &m, send_cb, &r, &cause));
	ok(r.error == AWS_OK && r.id != NULL && strlen(r.id) > 20,
	    "SendEmail simple: MessageId %s", r.id != NULL ? r.id : "-");
	memset(&m, 0, sizeof m);
	m.from = "deploy@example.com";
	m.raw = raw;
	m.raw_len = sizeof raw - 1;
	CALL(env, &r,
	    sesv2_send_email(env->client, NULL, NULL, &m, send_cb, &r, &cause));
	ok(r.error == AWS_OK && r.id != NULL, "SendEmail raw: MessageId");

	fakeaws_control(&env->fake, "GET", "/_fake/mail", NULL, &fr);
	j = json_loads(fr.body != NULL ? fr.body : "", 0, NULL);
	msgs = json_object_get(j, "messages");
	is_int(json_array_size(msgs), 2, "the fake holds two messages");
	x = json_array_get(msgs, 0);
	ok(x != NULL &&
		strcmp(json_string_value(json_object_get(x, "subject")),
		    "D\xc3\xa9ploiement billing 1.4.2 \xe2\x80\x94 "
		    "approbation") == 0 &&
		strstr(json_string_value(json_object_get(x, "html")),
		    "run 42") != NULL &&
		strcmp(json_string_value(json_object_get(x, "text")),
		    "Approve: https://deploy.example.com"
		    "/runs/42") == 0 &&
		json_array_size(json_object_get(x, "to")) == 2 &&
		json_array_size(json_object_get(x, "cc")) == 1 &&
		strcmp(json_string_value(json_object_get(x, "from")),
		    "shipgate <deploy@example.com>") == 0,
	    "the simple message as "
	    "sent: UTF-8 subject, text, HTML, To, Cc, From");
	x = json_array_get(msgs, 1);
	ok(x != NULL &&
		strcmp(json_string_value(json_object_get(x, "kind")), "raw") ==
		    0 &&
		strcmp(json_string_value(json_object_get(x, "subject")),
		    "Raw approval") == 0 &&
		strcmp(json_string_value(
			   json_array_get(json_object_get(x, "to"), 0)),
		    "dave@client.example") == 0 &&
		strstr(json_string_value(json_object_get(x, "text")),
		    "Approuv\xc3\xa9") != NULL,
	    "the raw message as sent: recipients from its header");
	json_decref(j);
	free(fr.body);

	m.raw = raw_no_to;
	m.raw_len = sizeof raw_no_to - 1;
	CALL(env, &r,
	    sesv2_send_email(env->client, NULL, NULL, &m, send_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "BadRequestException") == 0 &&
		r.id == NULL,
	    "a raw message without recipients: "
	    "BadRequestException (%s)",
	    r.message);
	fakeaws_control(&env->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"ses\", \"operation\": \"SendEmail\", \"mode\": \"error\", "
	    "\"status\": 400, \"code\": \"MessageRejected\", \"message\": "
	    "\"Email address is not verified.\"}",
	    NULL);
	m.raw = raw;
	m.raw_len = sizeof raw - 1;
	CALL(env, &r,
	    sesv2_send_email(env->client, NULL, NULL, &m, send_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "MessageRejected") == 0 &&
		r.message != NULL &&
		strncmp(r.message,
		    "SES SendEmail: "
		    "MessageRejected: Email address is not verified. (request ",
		    72) == 0,
	    "MessageRejected: %s", r.message);
	res_reset(&r, env);
}

int
main(void)
{
	static const char *const args[] = { "--step-delay", "0.02", NULL };
	struct svc_env		 env;

	log_init("test-svc-ecs-ecr-ses");
	test_ecs_examples();
	test_ecs_malformed();
	test_ecr_pure();
	test_ses_pure();

	if (svc_env_start(&env, args) != 0) {
		ok(0, "the fake AWS endpoint starts");
		return (tap_done());
	}
	test_ecs(&env);
	test_ecr(&env);
	test_role(&env);
	test_ses(&env);
	is_int(env.reentered, 0,
	    "no callback ran inside the call that "
	    "started it");
	is_int(env.stuck, 0, "every callback came");
	is_int(svc_env_stop(&env), 0,
	    "every handle closed: uv_loop_close() "
	    "== 0");
	return (tap_done());
}
