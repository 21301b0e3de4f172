/*
 * The JSON reply reader: real-shaped SQS, ECS, ECR and SES v2 replies
 * (and the AWS documentation payloads in $SHIPGATE_SHARED when present),
 * typed reads and their messages, limits, malformed and truncated bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "tap.h"

static const char receive_message[] =
    "{\"Messages\":[{\"MessageId\":\"5fea7756-0ea4-451a-a703-a558b933e274\","
    "\"ReceiptHandle\":\"MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6P"
    "YSasuWXPJB+CwLj1FjgXUv1uSj1gUPAWV66FU/WeR4mq2OKpEGYWbnLmpRCJVAyeMjeU5ZBd"
    "tcQ+QEauMZc8ZRv37sIW2iJKq3M9MFx1YvV11A2x/KSbkJ0=\","
    "\"MD5OfBody\":\"fafb00f5732ab283681e124bf8747ed1\","
    "\"Body\":\"{\\\"Records\\\":[{\\\"eventName\\\":\\\"ObjectCreated:Put\\\"}]}\","
    "\"Attributes\":{\"ApproximateReceiveCount\":\"3\","
    "\"SentTimestamp\":\"1250700979248\"}}]}";

static const char describe_services[] =
    "{\"services\":[{\"serviceName\":\"billing\",\"desiredCount\":2,"
    "\"deployments\":[{\"id\":\"ecs-svc/1\",\"status\":\"PRIMARY\","
    "\"rolloutState\":\"IN_PROGRESS\",\"createdAt\":1700000000.25},"
    "{\"id\":\"ecs-svc/0\",\"status\":\"ACTIVE\",\"rolloutState\":5,"
    "\"createdAt\":\"2023-11-14T22:13:20Z\"}],"
    "\"events\":[]}],\"failures\":[]}";

static const char batch_get_image[] =
    "{\"images\":[{\"registryId\":\"123456789012\",\"repositoryName\":\"billing\","
    "\"imageId\":{\"imageDigest\":\"sha256:0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef\",\"imageTag\":\"1.4.0\"},"
    "\"imageManifest\":\"{\\n   \\\"schemaVersion\\\": 2\\n}\","
    "\"imageManifestMediaType\":\"application/vnd.docker.distribution."
    "manifest.v2+json\"}],\"failures\":[]}";

static const char send_email[] = "{\"MessageId\":\"0100018c-example\"}";

static int
load(struct json **doc, const char *s, const struct json_limits *l,
    const char *what, char **cause)
{
	return (json_load(doc, s, strlen(s), l, what, cause));
}

static void
test_paths(void)
{
	static const char *const bad_paths[] = {
		".a",
		"a..b",
		"a[",
		"a[x]",
		"a[1",
		"a]",
		"[-1]",
		"a.",
		"a[0]b",
	};
	struct json *doc;
	long long    v;
	size_t	     i;

	for (i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		load(&doc, "{\"a\":[{\"b\":1}]}", NULL, "X", NULL);
		ok(json_int(doc, &v, "%s", bad_paths[i]) == JSON_EMALFORMED &&
			json_error(doc) != NULL &&
			strstr(json_error(doc), "bad path") != NULL,
		    "bad path \"%s\"", bad_paths[i]);
		json_free(doc);
	}
	load(&doc, "{\"a\":[{\"b\":1}]}", NULL, "X", NULL);
	ok(json_int(doc, &v, "a[0].b") == 0 && v == 1, "a[0].b");
	json_free(doc);
}

static void
test_replies(void)
{
	struct json    *doc;
	const char     *s = NULL;
	long long	v = 0;
	double		d = 0;
	size_t		n = 99;
	struct timespec ts;
	json_t	       *o = NULL;
	int		b = 0;

	is_int(load(&doc, receive_message, NULL, "SQS ReceiveMessage reply",
		   NULL),
	    0, "ReceiveMessage loads");
	is_int(json_arr(doc, &n, "Messages"), 0, "Messages array");
	is_int((long long)n, 1, "one message");
	is_int(json_str(doc, &s,
		   "Messages[%d].Attributes.ApproximateReceiveCount", 0),
	    0, "ApproximateReceiveCount");
	is_str(s, "3", "ApproximateReceiveCount value");
	is_int(json_str(doc, &s, "Messages[0].Body"), 0, "Body");
	is_str(s, "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}",
	    "Body unescaped");
	is_int(json_obj(doc, &o, "Messages[0].Attributes"), 0,
	    "Attributes object");
	is_int((long long)json_object_size(o), 2, "two attributes");
	ok(json_error(doc) == NULL, "no error so far");
	json_free(doc);

	is_int(load(&doc, "{}", NULL, "SQS ReceiveMessage reply", NULL), 0,
	    "an empty ReceiveMessage reply");
	n = 99;
	is_int(json_arr_opt(doc, &n, "Messages"), 0, "absent optional array");
	is_int((long long)n, 0, "has length 0");
	json_free(doc);

	is_int(load(&doc, describe_services, NULL, "ECS DescribeServices reply",
		   NULL),
	    0, "DescribeServices loads");
	is_int(json_str(doc, &s,
		   "services[%zu].deployments[%zu]"
		   ".rolloutState",
		   (size_t)0, (size_t)0),
	    0, "rolloutState");
	is_str(s, "IN_PROGRESS", "rolloutState value");
	is_int(json_time(doc, &ts, "services[0].deployments[0].createdAt"), 0,
	    "epoch createdAt");
	ok(ts.tv_sec == 1700000000 && ts.tv_nsec == 250000000,
	    "epoch createdAt value");
	is_int(json_time(doc, &ts, "services[0].deployments[1].createdAt"), 0,
	    "ISO createdAt");
	ok(ts.tv_sec == 1700000000 && ts.tv_nsec == 0, "ISO createdAt value");
	is_int(json_int(doc, &v, "services[0].desiredCount"), 0,
	    "desiredCount");
	is_int(v, 2, "desiredCount value");
	is_int(json_number(doc, &d, "services[0].desiredCount"), 0,
	    "an integer is a number");
	ok(d == 2.0, "number value");
	is_int(json_arr(doc, &n, "services[0].events"), 0, "events");
	is_int((long long)n, 0, "no events");
	is_int(json_str(doc, &s,
		   "services[%zu].deployments[%zu]"
		   ".rolloutState",
		   (size_t)0, (size_t)1),
	    JSON_ETYPE, "rolloutState of the wrong type");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[0]"
	    ".deployments[1].rolloutState: expected a string",
	    "the message names the field");
	is_int(json_str(doc, &s, "services[0].serviceArn"), JSON_EMISSING,
	    "a later error");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[0]"
	    ".deployments[1].rolloutState: expected a string",
	    "keeps the first message");
	json_free(doc);

	is_int(load(&doc, describe_services, NULL, "ECS DescribeServices reply",
		   NULL),
	    0, "reload");
	is_int(json_str(doc, &s, "services[3].serviceName"), JSON_EMISSING,
	    "index past the end");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[3]: "
	    "missing",
	    "names the missing element");
	json_free(doc);
	is_int(load(&doc, describe_services, NULL, "ECS DescribeServices reply",
		   NULL),
	    0, "reload");
	is_int(json_str(doc, &s, "services[0].deployments.id"), JSON_ETYPE,
	    "a key into an array");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[0]"
	    ".deployments: expected an object",
	    "says an object was expected");
	json_free(doc);
	is_int(load(&doc, describe_services, NULL, "ECS DescribeServices reply",
		   NULL),
	    0, "reload");
	is_int(json_int(doc, &v, "services[0].serviceName[2]"), JSON_ETYPE,
	    "an index into a string");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[0]"
	    ".serviceName: expected an array",
	    "says an array was expected");
	json_free(doc);

	is_int(load(&doc, describe_services, NULL, "X", NULL), 0, "reload");
	ok(json_get(doc, "services[0].nope") == NULL &&
		json_get(doc, "services.x") == NULL &&
		json_get(doc, "services[") == NULL && json_error(doc) == NULL,
	    "json_get never records");
	ok(json_get(doc, "services[0]") != NULL, "json_get finds");
	ok(json_get(doc, "%s", "") == json_root(doc), "\"\" is the root");
	is_int(json_str_opt(doc, &s, "services[0].taskDefinition"), 0,
	    "absent optional string");
	is_int(json_str_opt(doc, &s, "services[0].serviceName"), 1,
	    "present optional string");
	is_int(json_bool_opt(doc, &b, "services[0].serviceName"), JSON_ETYPE,
	    "optional of the wrong type");
	is_str(json_error(doc),
	    "X: services[0].serviceName: expected a "
	    "boolean",
	    "still an error");
	json_free(doc);

	test_paths();
	load(&doc, "{\"a\":[{\"b\":1}]}", NULL, "X", NULL);
	json_fail(doc, "rolloutState %s is unknown", "SIDEWAYS");
	is_str(json_error(doc), "X: rolloutState SIDEWAYS is unknown",
	    "a caller's own error");
	json_free(doc);

	is_int(load(&doc, batch_get_image, NULL, "ECR BatchGetImage reply",
		   NULL),
	    0, "BatchGetImage loads");
	is_int(json_str(doc, &s, "images[0].imageId.imageDigest"), 0,
	    "imageDigest");
	ok(strncmp(s, "sha256:", 7) == 0 && strlen(s) == 71, "digest value");
	is_int(json_str(doc, &s, "images[0].imageManifest"), 0, "manifest");
	is_str(s, "{\n   \"schemaVersion\": 2\n}", "manifest is a string");
	json_free(doc);

	is_int(load(&doc, send_email, NULL, "SES SendEmail reply", NULL), 0,
	    "SendEmail loads");
	is_int(json_str(doc, &s, "MessageId"), 0, "MessageId");
	is_str(s, "0100018c-example", "MessageId value");
	json_free(doc);

	is_int(load(&doc, "[1,2.5,true,null]", NULL, "X", NULL), 0,
	    "a top-level array");
	ok(json_int(doc, &v, "[0]") == 0 && v == 1, "[0] integer");
	ok(json_number(doc, &d, "[1]") == 0 && d == 2.5, "[1] number");
	ok(json_bool(doc, &b, "[2]") == 0 && b == 1, "[2] boolean");
	v = 7;
	ok(json_int_opt(doc, &v, "[3]") == 0 && v == 7,
	    "null is absent and leaves the output");
	ok(json_int(doc, &v, "[1]") == JSON_ETYPE, "a real is not an integer");
	json_free(doc);
}

static void
test_times(void)
{
	static const struct {
		const char *json;
		int	    rc;
		long long   sec;
		long	    nsec;
	} t[] = {
		{ "[1448875853.241]", 0, 1448875853, 241000000 },
		{ "[1466801808.595]", 0, 1466801808, 595000000 },
		{ "[1466801812]", 0, 1466801812, 0 },
		{ "[1466801812.9999999]", 0, 1466801813, 0 },
		{ "[0]", 0, 0, 0 },
		{ "[\"2019-10-02T05:20:56.651Z\"]", 0, 1569993656, 651000000 },
		{ "[\"2021-02-11T09:46:00.403000-06:00\"]", 0, 1613058360,
		    403000000 },
		{ "[-1]", JSON_ETYPE, 0, 0 },
		{ "[1e300]", JSON_ETYPE, 0, 0 },
		{ "[\"yesterday\"]", JSON_ETYPE, 0, 0 },
		{ "[true]", JSON_ETYPE, 0, 0 },
	};
	struct json    *doc;
	struct timespec ts;
	size_t		i;
	int		rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&ts, 0, sizeof ts);
		if (load(&doc, t[i].json, NULL, "X", NULL) != 0) {
			ok(0, "time %s loads", t[i].json);
			continue;
		}
		rc = json_time(doc, &ts, "[0]");
		ok(rc == t[i].rc && (rc != 0 || (ts.tv_sec == t[i].sec &&
						    ts.tv_nsec == t[i].nsec)),
		    "time %s", t[i].json);
		if (rc != 0 && t[i].rc != 0)
			tap_diag("%s", json_error(doc));
		json_free(doc);
	}
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		" ",
		"nul",
		"42",
		"\"a string\"",
		"{",
		"{\"a\":}",
		"{\"a\":1,}",
		"[1,2,]",
		"{\"a\":1}{}",
		"{'a':1}",
		"{\"a\":1,\"a\":2}",
		"{\"a\":\"x\\u0000y\"}",
		"{\"a\":\"\xff\"}",
		"{\"a\":\"\\ud800\"}",
		"{\"a\":01}",
		"{\"a\":99999999999999999999999}",
		"{\"a\":\"tab\there\"}",
	};
	struct json *doc;
	char	    *cause;
	size_t	     i;
	int	     rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		rc = load(&doc, bad[i], NULL, "X reply", &cause);
		ok(rc == JSON_EMALFORMED && doc == NULL && cause != NULL &&
			strncmp(cause, "X reply: line ", 14) == 0,
		    "malformed %zu refused: %s", i, cause ? cause : "-");
		free(cause);
	}
	cause = NULL;
	rc = json_load(&doc, "{\"a\":1}\0", 8, NULL, "X", &cause);
	ok(rc == JSON_EMALFORMED, "a NUL after the value is refused");
	free(cause);
	json_free(NULL);
}

static void
test_limits(void)
{
	struct json_limits l;
	struct json	  *doc;
	char		  *cause = NULL, deep[300];
	int		   i;

	json_limits_default(&l);
	l.max_size = 6;
	is_int(load(&doc, "{\"a\":1}", &l, "X", &cause), JSON_ELIMIT,
	    "over the size limit");
	is_str(cause, "X: reply of 7 bytes is over the limit of 6",
	    "size message");
	free(cause);
	cause = NULL;
	l.max_size = 7;
	is_int(load(&doc, "{\"a\":1}", &l, "X", NULL), 0, "at the size limit");
	json_free(doc);

	json_limits_default(&l);
	for (i = 0; i < 65; i++) {
		deep[i] = '[';
		deep[65 + i] = ']';
	}
	deep[130] = '\0';
	is_int(load(&doc, deep, &l, "X", &cause), JSON_ELIMIT,
	    "65 levels over the default depth of 64");
	is_str(cause, "X: nested deeper than 64", "depth message");
	free(cause);
	cause = NULL;
	is_int(json_load(&doc, deep + 1, 128, &l, "X", NULL), 0,
	    "64 levels load");
	json_free(doc);
	/* Truncated deep input is refused before jansson sees it. */
	is_int(json_load(&doc, deep, 65, &l, "X", NULL), JSON_ELIMIT,
	    "65 unclosed levels");
	is_int(load(&doc, "[\"[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[[[[[[[[[\"]",
		   &l, "X", NULL),
	    0, "brackets in strings do not count");
	json_free(doc);
	l.max_depth = 2;
	is_int(load(&doc, "{\"a\":{\"b\":1}}", &l, "X", NULL), 0,
	    "two levels with a limit of 2");
	json_free(doc);
	is_int(load(&doc, "{\"a\":{\"b\":[1]}}", &l, "X", NULL), JSON_ELIMIT,
	    "three levels with a limit of 2");
	is_int(load(&doc, "{\"a\":{}}, [[[", &l, "X", NULL), JSON_ELIMIT,
	    "depth counted even after the end of the value");
}

/* Every prefix fails cleanly until the closing bracket. */
static void
test_truncated(const char *name, const char *reply, size_t len)
{
	struct json *doc;
	const char  *end;
	size_t	     i, complete, bad = 0;
	char	    *cause;
	int	     rc;

	end = reply + len;
	while (end > reply && end[-1] != '}' && end[-1] != ']')
		end--;
	complete = (size_t)(end - reply);
	for (i = 0; i < len; i++) {
		cause = NULL;
		rc = json_load(&doc, reply, i, NULL, name, &cause);
		if (i < complete) {
			if (rc != JSON_EMALFORMED || doc != NULL ||
			    cause == NULL) {
				if (bad++ == 0)
					tap_diag("%s cut at %zu: rc %d", name,
					    i, rc);
			}
		} else {
			if (rc != 0)
				bad++;
			json_free(doc);
		}
		free(cause);
	}
	is_int((long long)bad, 0, "%s cut at each of %zu offsets", name, len);
}

static char *
read_shared(const char *name, size_t *lenp)
{
	const char *dir;
	char	    path[1024];
	FILE	   *f;
	char	   *data;
	long	    len;

	if ((dir = getenv("SHIPGATE_SHARED")) == NULL)
		return (NULL);
	snprintf(path, sizeof path, "%s/testdata/cfn/aws-examples/%s", dir,
	    name);
	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	data = malloc((size_t)len + 1);
	if (data == NULL || fread(data, 1, (size_t)len, f) != (size_t)len) {
		free(data);
		fclose(f);
		return (NULL);
	}
	data[len] = '\0';
	fclose(f);
	*lenp = (size_t)len;
	return (data);
}

/* The AWS documentation payloads, read in place. */
static void
test_shared(void)
{
	struct json    *doc;
	struct timespec ts;
	const char     *s;
	char	       *data;
	size_t		len, n, i;
	long long	v;

	if ((data = read_shared("ecs-describe-services-cli.json", &len)) ==
	    NULL) {
		tap_skip("SHIPGATE_SHARED aws-examples absent");
		return;
	}
	is_int(json_load(&doc, data, len, NULL,
		   "ECS DescribeServices "
		   "reply",
		   NULL),
	    0, "ecs-describe-services-cli.json loads");
	ok(json_arr(doc, &n, "services") == 0 && n == 1, "one service");
	ok(json_str(doc, &s, "services[0].deployments[0].status") == 0 &&
		strcmp(s, "PRIMARY") == 0,
	    "PRIMARY deployment");
	ok(json_int(doc, &v, "services[0].runningCount") == 0 && v == 10,
	    "runningCount 10");
	ok(json_time(doc, &ts, "services[0].events[0].createdAt") == 0 &&
		ts.tv_sec == 1466801812 && ts.tv_nsec == 435000000,
	    "event createdAt epoch with milliseconds");
	s = NULL;
	is_int(json_str_opt(doc, &s, "services[0].deployments[0].rolloutState"),
	    0, "no rolloutState in this older example");
	is_int(json_str(doc, &s, "services[0].deployments[0].rolloutState"),
	    JSON_EMISSING, "required rolloutState");
	is_str(json_error(doc),
	    "ECS DescribeServices reply: services[0]"
	    ".deployments[0].rolloutState: missing",
	    "names it");
	json_free(doc);
	test_truncated("ecs-describe-services-cli.json", data, len);
	free(data);

	if ((data = read_shared(
		 "ecs-update-service-rollout-in-progress-cli.json", &len)) !=
	    NULL) {
		is_int(json_load(&doc, data, len, NULL,
			   "ECS UpdateService "
			   "reply",
			   NULL),
		    0, "rollout-in-progress loads");
		ok(json_arr(doc, &n, "service.deployments") == 0 && n == 2,
		    "two deployments");
		ok(json_str(doc, &s, "service.deployments[0].rolloutState") ==
			    0 &&
			strcmp(s, "IN_PROGRESS") == 0,
		    "IN_PROGRESS");
		ok(json_str(doc, &s, "service.deployments[1].rolloutState") ==
			    0 &&
			strcmp(s, "COMPLETED") == 0,
		    "COMPLETED");
		ok(json_time(doc, &ts, "service.deployments[0].createdAt") == 0,
		    "ISO 8601 createdAt with an offset");
		for (i = 0; i < n; i++)
			json_str(doc, &s, "service.deployments[%zu].id", i);
		ok(json_error(doc) == NULL, "no error reading them");
		json_free(doc);
		test_truncated(
		    "ecs-update-service-rollout-in-progress-cli.json", data,
		    len);
		free(data);
	}
	if ((data = read_shared("cfn-describe-change-set-cli.json", &len)) !=
	    NULL) {
		is_int(json_load(&doc, data, len, NULL, "change set", NULL), 0,
		    "cfn-describe-change-set-cli.json loads");
		ok(json_str(doc, &s, "Changes[0].ResourceChange.Action") == 0 &&
			strcmp(s, "Modify") == 0,
		    "Modify");
		ok(json_str(doc, &s,
		       "Changes[0].ResourceChange.Details[0]"
		       ".Target.Name") == 0 &&
			strcmp(s, "Timeout") == 0,
		    "Target.Name");
		is_int(json_str_opt(doc, &s, "Description"), 0,
		    "explicit null is absent");
		ok(json_time(doc, &ts, "CreationTime") == 0 &&
			ts.tv_sec == 1569993656 && ts.tv_nsec == 651000000,
		    "CreationTime");
		json_free(doc);
		free(data);
	}
	if ((data = read_shared("ecr-get-authorization-token-cli.json",
		 &len)) != NULL) {
		is_int(json_load(&doc, data, len, NULL, "ECR token", NULL), 0,
		    "ecr-get-authorization-token-cli.json loads");
		ok(json_time(doc, &ts, "authorizationData[0].expiresAt") == 0 &&
			ts.tv_sec == 1448875853 && ts.tv_nsec == 241000000,
		    "expiresAt");
		json_free(doc);
		free(data);
	}
}

int
main(void)
{
	test_replies();
	test_times();
	test_malformed();
	test_limits();
	test_truncated("ReceiveMessage", receive_message,
	    strlen(receive_message));
	test_truncated("DescribeServices", describe_services,
	    strlen(describe_services));
	test_shared();
	return (tap_done());
}
