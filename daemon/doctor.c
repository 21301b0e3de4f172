/*
 * The doctor's checks.  Each is one AWS call whose callback fills its
 * row; the rows are printed in the order they were planned, so the table
 * reads the same whatever order AWS answers in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "aws-client.h"
#include "aws-context.h"
#include "aws-creds.h"
#include "aws-sts.h"
#include "config.h"
#include "doctor.h"
#include "svc-cfn.h"
#include "svc-ecr.h"
#include "svc-s3.h"
#include "svc-sqs.h"
#include "xmalloc.h"

enum doctor_status {
	DOCTOR_PENDING = 0,
	DOCTOR_PASS,
	DOCTOR_FAIL,
};

struct doctor_row {
	char			*check;
	enum doctor_status	 status;
	char			*detail;
	const char		*expect_account;	/* role rows */
};

struct doctor {
	struct aws_context	*aws;
	struct doctor_row	*rows;
	size_t			 nrows;
	size_t			 pending;
	int			 closed;
};

static struct doctor_row *
doctor_add(struct doctor *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct doctor_row *
doctor_add(struct doctor *d, const char *fmt, ...)
{
	struct doctor_row	*row;
	va_list			 ap;

	d->rows = xreallocarray(d->rows, d->nrows + 1, sizeof *d->rows);
	row = &d->rows[d->nrows++];
	memset(row, 0, sizeof *row);
	va_start(ap, fmt);
	row->check = xvasprintf(fmt, ap);
	va_end(ap);
	return (row);
}

/*
 * Rows are found again by index: the array moves while checks are
 * planned, so callbacks carry (doctor, index), never a row pointer.
 */
struct doctor_ref {
	struct doctor	*d;
	size_t		 row;
};

static struct doctor_ref *
doctor_ref(struct doctor *d, struct doctor_row *row)
{
	struct doctor_ref	*ref;

	ref = xcalloc(1, sizeof *ref);
	ref->d = d;
	ref->row = (size_t)(row - d->rows);
	d->pending++;
	return (ref);
}

static void
doctor_set(struct doctor *d, size_t i, enum doctor_status status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
doctor_set(struct doctor *d, size_t i, enum doctor_status status,
    const char *fmt, ...)
{
	va_list	ap;

	free(d->rows[i].detail);
	d->rows[i].status = status;
	va_start(ap, fmt);
	d->rows[i].detail = xvasprintf(fmt, ap);
	va_end(ap);
}

/* A check that could not even start. */
static void
doctor_fail_now(struct doctor *d, struct doctor_row *row, char *cause)
{
	row->status = DOCTOR_FAIL;
	row->detail = cause != NULL ? cause : xstrdup("could not start");
}

static void
doctor_done(struct doctor_ref *ref, const struct aws_reply *reply,
    const char *okfmt, ...) __attribute__((format(printf, 3, 4)));

static void
doctor_done(struct doctor_ref *ref, const struct aws_reply *reply,
    const char *okfmt, ...)
{
	struct doctor	*d = ref->d;
	va_list		 ap;
	char		*detail;

	if (reply->error == AWS_OK) {
		va_start(ap, okfmt);
		detail = xvasprintf(okfmt, ap);
		va_end(ap);
		doctor_set(d, ref->row, DOCTOR_PASS, "%s", detail);
		free(detail);
	} else
		doctor_set(d, ref->row, DOCTOR_FAIL, "%s", reply->message != NULL ?
		    reply->message : aws_strerror(reply->error));
	d->pending--;
	free(ref);
}

static void
doctor_identity_cb(const struct aws_reply *reply,
    struct sts_caller_identity *id, void *arg)
{
	struct doctor_ref	*ref = arg;
	struct doctor		*d = ref->d;
	struct doctor_row	*row = &d->rows[ref->row];

	if (reply->error == AWS_OK && row->expect_account != NULL &&
	    strcmp(id->account, row->expect_account) != 0) {
		doctor_set(d, ref->row, DOCTOR_FAIL, "the role is in account "
		    "%s, the configuration says %s (%s)", id->account,
		    row->expect_account, id->arn);
		d->pending--;
		free(ref);
	} else if (reply->error == AWS_OK)
		doctor_done(ref, reply, "%s", id->arn);
	else
		doctor_done(ref, reply, "%s", "");
	sts_caller_identity_free(id);
}

static void
doctor_list_cb(const struct aws_reply *reply, struct s3_object_list *list,
    void *arg)
{
	doctor_done(arg, reply, "readable, %zu object%s under the prefix",
	    list != NULL ? list->n : 0,
	    list != NULL && list->n == 1 ? "" : "s");
	s3_object_list_free(list);
}

static void
doctor_queue_cb(const struct aws_reply *reply, void *arg)
{
	doctor_done(arg, reply, "%s", "reachable");
}

static void
doctor_stack_cb(const struct aws_reply *reply, struct cfn_stack_list *list,
    void *arg)
{
	struct doctor_ref	*ref = arg;

	/* A stack that does not exist yet is created by the first run. */
	if (reply->error == AWS_EAWS &&
	    strcmp(reply->aws.code, "ValidationError") == 0 &&
	    strstr(reply->aws.message, "does not exist") != NULL) {
		doctor_set(ref->d, ref->row, DOCTOR_PASS, "not created yet: "
		    "the first release will create it");
		ref->d->pending--;
		free(ref);
	} else
		doctor_done(ref, reply, "%s",
		    list != NULL && list->n > 0 ? list->v[0].status : "");
	cfn_stack_list_free(list);
}

static void
doctor_ecr_cb(const struct aws_reply *reply, struct ecr_auth *auth,
    void *arg)
{
	doctor_done(arg, reply, "token for %s",
	    auth != NULL && auth->proxy_endpoint != NULL ?
	    auth->proxy_endpoint : "the registry");
	ecr_auth_free(auth);
}

static void
doctor_check_identity(struct doctor *d, struct doctor_row *row,
    struct aws_creds *creds, const char *region)
{
	char	*cause = NULL;

	if (sts_get_caller_identity(aws_context_client(d->aws), creds, region,
	    doctor_identity_cb, doctor_ref(d, row), &cause) == NULL) {
		d->pending--;
		free(d->rows[d->nrows - 1].detail);
		doctor_fail_now(d, row, cause);
	}
}

/*
 * Starting a call can fail at once; the reference made for it is then
 * dropped here.  (Callbacks never run for a call that failed to start.)
 */
static void
doctor_start_failed(struct doctor *d, struct doctor_ref *ref, char *cause)
{
	d->pending--;
	doctor_fail_now(d, &d->rows[ref->row], cause);
	free(ref);
}

static void
doctor_check_bucket(struct doctor *d, struct doctor_row *row,
    const char *bucket, const char *prefix, struct aws_creds *creds)
{
	struct s3_list_params	 p;
	struct doctor_ref	*ref;
	char			*cause = NULL;

	memset(&p, 0, sizeof p);
	p.t.bucket = bucket;
	p.t.creds = creds;
	p.prefix = prefix != NULL && *prefix != '\0' ? prefix : NULL;
	ref = doctor_ref(d, row);
	if (s3_list_objects(aws_context_client(d->aws), &p, doctor_list_cb,
	    ref, &cause) == NULL)
		doctor_start_failed(d, ref, cause);
}

/* "333333333333.dkr.ecr.eu-west-1.amazonaws.com" -> account, region. */
static int
doctor_registry_parts(const char *registry, char *account, size_t alen,
    char *region, size_t rlen)
{
	const char	*p, *q;

	if ((p = strstr(registry, ".dkr.ecr.")) == NULL ||
	    (size_t)(p - registry) >= alen)
		return (-1);
	memcpy(account, registry, (size_t)(p - registry));
	account[p - registry] = '\0';
	p += strlen(".dkr.ecr.");
	if ((q = strchr(p, '.')) == NULL || (size_t)(q - p) >= rlen)
		return (-1);
	memcpy(region, p, (size_t)(q - p));
	region[q - p] = '\0';
	return (0);
}

static void
doctor_check_registry(struct doctor *d, const struct config_app *app,
    const char *registry)
{
	const struct config_environment	*env;
	struct doctor_row		*row;
	struct doctor_ref		*ref;
	struct aws_creds		*creds = NULL;
	char				 account[32], region[64], *cause = NULL;
	size_t				 i;

	for (i = 0; i < d->nrows; i++)
		if (strstr(d->rows[i].check, registry) != NULL)
			return;		/* checked already */
	row = doctor_add(d, "registry %s", registry);
	if (doctor_registry_parts(registry, account, sizeof account, region,
	    sizeof region) != 0) {
		row->status = DOCTOR_PASS;
		row->detail = xstrdup("not an ECR registry: reached with its "
		    "own credentials when images are copied");
		return;
	}
	/* The registry's account is reached through an environment's role. */
	for (i = 0; i < app->nenvironments && creds == NULL; i++) {
		env = &app->environments[i];
		if (strcmp(env->account, account) == 0 &&
		    (creds = aws_context_env_creds(d->aws, app, env,
		    &cause)) == NULL) {
			doctor_fail_now(d, row, cause);
			return;
		}
	}
	ref = doctor_ref(d, row);
	if (ecr_get_authorization_token(aws_context_client(d->aws), creds,
	    region, doctor_ecr_cb, ref, &cause) == NULL)
		doctor_start_failed(d, ref, cause);
}

static void
doctor_plan(struct doctor *d, const struct config *config)
{
	const struct config_app		*app;
	const struct config_environment	*env;
	struct doctor_row		*row;
	struct doctor_ref		*ref;
	struct sqs_queue		 q;
	struct aws_creds		*creds;
	char				*cause;
	size_t				 i, j;

	row = doctor_add(d, "credentials (%s)",
	    aws_creds_source(aws_context_host_creds(d->aws)));
	doctor_check_identity(d, row, NULL, NULL);

	for (i = 0; i < config->napps; i++) {
		app = &config->apps[i];
		row = doctor_add(d, "%s: bucket %s", app->name,
		    app->source_bucket);
		doctor_check_bucket(d, row, app->source_bucket,
		    app->source_prefix, NULL);
		if (app->source_queue_url != NULL) {
			row = doctor_add(d, "%s: queue %s", app->name,
			    app->source_queue_url);
			memset(&q, 0, sizeof q);
			q.url = app->source_queue_url;
			cause = NULL;
			ref = doctor_ref(d, row);
			if (sqs_get_queue_attributes(aws_context_client(d->aws),
			    &q, doctor_queue_cb, ref, &cause) == NULL)
				doctor_start_failed(d, ref, cause);
		}
		if (app->artifacts_bucket != NULL) {
			row = doctor_add(d, "%s: artifacts bucket %s",
			    app->name, app->artifacts_bucket);
			doctor_check_bucket(d, row, app->artifacts_bucket,
			    app->artifacts_prefix, NULL);
		}
		for (j = 0; j < app->nenvironments; j++) {
			env = &app->environments[j];
			row = doctor_add(d, "%s/%s: role %s", app->name,
			    env->name, env->role_arn);
			cause = NULL;
			if ((creds = aws_context_env_creds(d->aws, app, env,
			    &cause)) == NULL) {
				doctor_fail_now(d, row, cause);
				continue;
			}
			row->expect_account = env->account;
			doctor_check_identity(d, row, creds,
			    aws_context_env_region(d->aws, env));

			row = doctor_add(d, "%s/%s: stack %s", app->name,
			    env->name, env->stack);
			cause = NULL;
			ref = doctor_ref(d, row);
			if (cfn_describe_stacks(aws_context_client(d->aws),
			    creds, aws_context_env_region(d->aws, env),
			    env->stack, doctor_stack_cb, ref, &cause) == NULL)
				doctor_start_failed(d, ref, cause);
		}
		if (app->registry != NULL)
			doctor_check_registry(d, app, app->registry);
		for (j = 0; j < app->nenvironments; j++)
			if (app->environments[j].registry != NULL)
				doctor_check_registry(d, app,
				    app->environments[j].registry);
	}
}

static void
doctor_closed_cb(void *arg)
{
	struct doctor	*d = arg;

	d->closed = 1;
}

static void
doctor_print(const struct doctor *d, FILE *out, int json)
{
	json_t	*o;
	char	*line;
	size_t	 i, width = 5;

	for (i = 0; i < d->nrows; i++)
		if (strlen(d->rows[i].check) > width)
			width = strlen(d->rows[i].check);
	if (!json)
		fprintf(out, "%-*s  %-6s %s\n", (int)width, "CHECK", "RESULT",
		    "DETAIL");
	for (i = 0; i < d->nrows; i++) {
		const struct doctor_row	*r = &d->rows[i];
		const char		*status = r->status == DOCTOR_PASS ?
		    "pass" : "FAIL";

		if (json) {
			o = json_pack("{s:s, s:s, s:s}", "check", r->check,
			    "result", r->status == DOCTOR_PASS ? "pass" :
			    "fail", "detail", r->detail != NULL ? r->detail :
			    "no answer");
			line = json_dumps(o, JSON_COMPACT);
			fprintf(out, "%s\n", line);
			free(line);
			json_decref(o);
		} else
			fprintf(out, "%-*s  %-6s %s\n", (int)width, r->check,
			    status, r->detail != NULL ? r->detail :
			    "no answer");
	}
}

int
doctor_run(const struct config *config, FILE *out, int json)
{
	struct doctor	 d;
	uv_loop_t	 loop;
	char		*cause = NULL;
	size_t		 i, failed = 0;

	memset(&d, 0, sizeof d);
	uv_loop_init(&loop);
	if ((d.aws = aws_context_new(&loop, config, &cause)) == NULL) {
		fprintf(out, "credentials: FAIL %s\n", cause != NULL ? cause :
		    "no credentials");
		free(cause);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return (1);
	}
	doctor_plan(&d, config);
	while (d.pending > 0 && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	aws_context_close(d.aws, doctor_closed_cb, &d);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "shipgatectl: doctor left handles open\n");

	for (i = 0; i < d.nrows; i++)
		if (d.rows[i].status != DOCTOR_PASS)
			failed++;
	doctor_print(&d, out, json);
	if (!json)
		fprintf(out, "%zu check%s, %zu failed\n", d.nrows,
		    d.nrows == 1 ? "" : "s", failed);
	for (i = 0; i < d.nrows; i++) {
		free(d.rows[i].check);
		free(d.rows[i].detail);
	}
	free(d.rows);
	return (failed == 0 ? 0 : 1);
}
