/*
 * The lines of `shipgated --list-operations`: every row of every
 * operation table (walked here from the modules' own tables, not from
 * iam.c's list, so a table left out of it fails) and every registry API
 * grant is listed, each row's IAM action belongs to its service, the
 * accounts and resource kinds are from the documented sets, and the
 * lines are sorted and unique.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "aws-services.h"
#include "aws-sts.h"
#include "iam.h"
#include "registry-ecr.h"
#include "svc-cfn.h"
#include "svc-ecr.h"
#include "svc-ecs.h"
#include "svc-s3.h"
#include "svc-sesv2.h"
#include "svc-sqs.h"
#include "tap.h"
#include "xmalloc.h"

static const char *const resources[] = { "stack", "change-set", "service",
	"bucket", "object", "queue", "repository", "role", "identity", "*",
	NULL };

/* Where an IAM action is not named after the API action. */
static const struct {
	const char *api;
	const char *iam;
} renamed[] = {
	{ "s3:ListObjectsV2", "s3:ListBucket" },
	{ "s3:HeadObject", "s3:GetObject" },
	{ "s3:GetBucketNotificationConfiguration", "s3:GetBucketNotification" },
	/* GetObject naming a versionId is a grant of its own. */
	{ "s3:GetObject", "s3:GetObject" },
	{ "s3:GetObject", "s3:GetObjectVersion" },
};

static char **lines;
static size_t nlines;

static int
listed(const char *line)
{
	size_t i;

	for (i = 0; i < nlines; i++)
		if (strcmp(lines[i], line) == 0)
			return (1);
	return (0);
}

/* Every line a grant gives is listed; the grant is well formed. */
static int
grant_ok(const struct aws_grant *g, const char *what)
{
	static const unsigned int accounts[] = { AWS_ACCOUNT_TOOLS,
		AWS_ACCOUNT_ENVIRONMENT, AWS_ACCOUNT_REGISTRY };
	char			 *line;
	size_t			  i;
	int			  good = 1, kind = 0;

	if (g->action == NULL || strchr(g->action, ':') == NULL ||
	    g->accounts == 0 ||
	    (g->accounts &
		~(unsigned int)(AWS_ACCOUNT_TOOLS | AWS_ACCOUNT_ENVIRONMENT |
				AWS_ACCOUNT_REGISTRY)) != 0 ||
	    g->resource == NULL) {
		printf("# %s: incomplete grant\n", what);
		return (0);
	}
	for (i = 0; resources[i] != NULL; i++)
		if (strcmp(resources[i], g->resource) == 0)
			kind = 1;
	if (!kind) {
		printf("# %s: resource kind %s is not documented\n", what,
		    g->resource);
		good = 0;
	}
	for (i = 0; i < sizeof accounts / sizeof accounts[0]; i++) {
		if ((g->accounts & accounts[i]) == 0)
			continue;
		line = xasprintf("%s\t%s\t%s", g->action,
		    iam_account_name(accounts[i]), g->resource);
		if (!listed(line)) {
			printf("# %s: not listed: %s\n", what, line);
			good = 0;
		}
		free(line);
	}
	return (good);
}

static void
test_table(const char *name, const struct aws_op_desc *const *t)
{
	const struct aws_op_desc *d;
	const char		 *signing, *want;
	char			 *api, what[128];
	size_t			  n, i;
	int			  good = 1, match;

	for (n = 0; t[n] != NULL; n++) {
		d = t[n];
		snprintf(what, sizeof what, "%s %s", d->service->title,
		    d->action);
		if (!grant_ok(&d->grant, what))
			good = 0;
		if (d->grant.action == NULL)
			continue;
		/* The IAM prefix is the signing name (SES v2 signs as
		   "ses", and its actions are ses:). */
		signing = d->service->signing_name;
		api = xasprintf("%s:%s", signing, d->action);
		/* Named after the API action, or as the table renames it
		   (an API action may have several: GetObject, by version). */
		want = api;
		match = -1;
		for (i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
			if (strcmp(renamed[i].api, api) == 0) {
				want = renamed[i].iam;
				if (match != 1)
					match = strcmp(d->grant.action, want) ==
						0;
			}
		if (match == -1)
			match = strcmp(d->grant.action, api) == 0;
		if (!match) {
			printf("# %s: IAM action %s, expected %s\n", what,
			    d->grant.action, want);
			good = 0;
		}
		free(api);
	}
	ok(n > 0 && good,
	    "%s: each of its %zu operations is listed with "
	    "its service's IAM action",
	    name, n);
}

int
main(void)
{
	static const char *const sample[] = {
		"cloudformation:CreateChangeSet\tenvironment\tstack",
		"cloudformation:DescribeStackEvents\tenvironment\tstack",
		"cloudformation:ExecuteChangeSet\tenvironment\tchange-set",
		"ecr:GetAuthorizationToken\tregistry\t*",
		"ecr:GetDownloadUrlForLayer\tregistry\trepository",
		"ecr:PutImage\tregistry\trepository",
		"ecs:DescribeServices\tenvironment\tservice",
		"s3:GetObject\ttools\tobject",
		/* CloudFormation reading a template by URL. */
		"s3:GetObject\tenvironment\tobject",
		"s3:ListBucket\ttools\tbucket", "s3:PutObject\ttools\tobject",
		"ses:SendEmail\ttools\tidentity",
		"sqs:DeleteMessage\ttools\tqueue",
		"sqs:ReceiveMessage\ttools\tqueue",
		"sts:AssumeRole\ttools\trole",
		"sts:GetCallerIdentity\tenvironment\t*", NULL
	};
	const struct aws_grant *g;
	size_t			i, n, tables;
	int			good, sorted = 1;
	char			what[128];

	lines = iam_lines(&nlines);
	ok(nlines > 0, "%zu lines", nlines);
	for (i = 1; i < nlines; i++)
		if (strcmp(lines[i - 1], lines[i]) >= 0) {
			printf("# out of order or twice: %s / %s\n",
			    lines[i - 1], lines[i]);
			sorted = 0;
		}
	ok(sorted, "the lines are sorted, each once");
	good = 1;
	for (i = 0; i < nlines; i++) {
		const char *a = strchr(lines[i], '\t'), *b;

		if (a == NULL || (b = strchr(a + 1, '\t')) == NULL ||
		    strchr(b + 1, '\t') != NULL ||
		    (strncmp(a + 1, "tools\t", 6) != 0 &&
			strncmp(a + 1, "environment\t", 12) != 0 &&
			strncmp(a + 1, "registry\t", 9) != 0)) {
			printf("# bad line: %s\n", lines[i]);
			good = 0;
		}
	}
	ok(good, "each line is ACTION, ACCOUNT (tools, environment or "
		 "registry), RESOURCE, tab-separated");

	test_table("CloudFormation", cfn_operations);
	test_table("ECR", ecr_operations);
	test_table("ECS", ecs_operations);
	test_table("S3", s3_operations);
	test_table("SES", sesv2_operations);
	test_table("SQS", sqs_operations);
	test_table("STS", sts_operations);
	for (tables = 0; iam_operation_tables[tables] != NULL; tables++)
		;
	is_int((long long)tables, 7, "iam.c lists the 7 operation tables");

	good = 1;
	for (n = 0, g = registry_ecr_grants; g->action != NULL; g++, n++) {
		snprintf(what, sizeof what, "registry API %s", g->action);
		if (!grant_ok(g, what) || strncmp(g->action, "ecr:", 4) != 0)
			good = 0;
	}
	ok(n > 0 && good,
	    "the image copy's %zu registry API grants are "
	    "listed",
	    n);

	for (i = 0; sample[i] != NULL; i++)
		ok(listed(sample[i]), "listed: %s", sample[i]);

	iam_lines_free(lines, nlines);
	return (tap_done());
}
