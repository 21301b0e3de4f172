/*
 * The IAM permissions shipgated needs, gathered from the operation
 * tables (one row per AWS action) and the registry API calls made
 * outside them, for `shipgated --list-operations`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "aws-sts.h"
#include "iam.h"
#include "registry-ecr.h"
#include "svc-cfn.h"
#include "svc-ecr.h"
#include "svc-ecs.h"
#include "svc-s3.h"
#include "svc-sesv2.h"
#include "svc-sqs.h"
#include "xmalloc.h"

const struct aws_op_desc *const *const iam_operation_tables[] = {
	cfn_operations, ecr_operations, ecs_operations, s3_operations,
	sesv2_operations, sqs_operations, sts_operations, NULL
};

/*
 * What AWS checks on shipgated's behalf: CloudFormation reads a template
 * passed by URL (one over its 51,200 bytes inline, put in the artifacts
 * bucket) with the credentials of the CreateChangeSet call, the
 * environment's role; the bucket is the tools account's.
 */
static const struct aws_grant iam_implied_grants[] = {
	{ "s3:GetObject", AWS_ACCOUNT_ENVIRONMENT, "object" }, { NULL, 0, NULL }
};

const struct aws_grant *const iam_grant_tables[] = { registry_ecr_grants,
	iam_implied_grants, NULL };

static const struct {
	unsigned int bit;
	const char  *name;
} iam_accounts[] = {
	{ AWS_ACCOUNT_TOOLS, "tools" },
	{ AWS_ACCOUNT_ENVIRONMENT, "environment" },
	{ AWS_ACCOUNT_REGISTRY, "registry" },
};

const char *
iam_account_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < sizeof iam_accounts / sizeof iam_accounts[0]; i++)
		if (iam_accounts[i].bit == bit)
			return (iam_accounts[i].name);
	return (NULL);
}

/* One line per account of the grant. */
static void
iam_add(char ***lines, size_t *n, const struct aws_grant *g)
{
	size_t i;

	for (i = 0; i < sizeof iam_accounts / sizeof iam_accounts[0]; i++) {
		if ((g->accounts & iam_accounts[i].bit) == 0)
			continue;
		*lines = xreallocarray(*lines, *n + 1, sizeof **lines);
		(*lines)[(*n)++] = xasprintf("%s\t%s\t%s", g->action,
		    iam_accounts[i].name, g->resource);
	}
}

static int
iam_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

char **
iam_lines(size_t *np)
{
	const struct aws_op_desc *const *t;
	const struct aws_grant		*g;
	char			       **lines = NULL;
	size_t				 n = 0, i, j, out;

	for (i = 0; iam_operation_tables[i] != NULL; i++)
		for (t = iam_operation_tables[i]; *t != NULL; t++)
			iam_add(&lines, &n, &(*t)->grant);
	for (i = 0; iam_grant_tables[i] != NULL; i++)
		for (g = iam_grant_tables[i]; g->action != NULL; g++)
			iam_add(&lines, &n, g);
	if (n > 0)
		qsort(lines, n, sizeof *lines, iam_cmp);
	/* Several rows need the same grant (HeadObject and GetObject). */
	for (out = 0, j = 0; j < n; j++) {
		if (out > 0 && strcmp(lines[out - 1], lines[j]) == 0) {
			free(lines[j]);
			continue;
		}
		lines[out++] = lines[j];
	}
	*np = out;
	return (lines);
}

void
iam_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

int
iam_print(FILE *f)
{
	char **lines;
	size_t n, i;
	int    rc = 0;

	lines = iam_lines(&n);
	for (i = 0; i < n; i++)
		if (fprintf(f, "%s\n", lines[i]) < 0)
			rc = -1;
	iam_lines_free(lines, n);
	if (fflush(f) != 0 || ferror(f))
		rc = -1;
	return (rc);
}
