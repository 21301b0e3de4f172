/*
 * The doctor's checks.  Each is one AWS call whose callback fills its
 * row; the rows are printed in the order they were planned, so the table
 * reads the same whatever order AWS answers in.  Besides reachability,
 * it checks what a person setting up the AWS side gets wrong most (see
 * docs/aws-setup.md): the bucket's notification goes to the configured
 * queue, the queue has a dead-letter queue and lets the bucket send to
 * it, and a role that shipgate assumes with an external id cannot be
 * assumed without it.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <uv.h>

#include "aws-client.h"
#include "aws-context.h"
#include "aws-creds.h"
#include "aws-sts.h"
#include "buf.h"
#include "config.h"
#include "doctor.h"
#include "http.h"
#include "jose.h"
#include "oidc.h"
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
	char		  *check;
	enum doctor_status status;
	char		  *detail;
	const char	  *expect_account; /* role rows */
};

struct doctor {
	struct aws_context *aws;
	struct doctor_row  *rows;
	size_t		    nrows;
	size_t		    pending;
	int		    closed;
};

static struct doctor_row *doctor_add(struct doctor *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct doctor_row *
doctor_add(struct doctor *d, const char *fmt, ...)
{
	struct doctor_row *row;
	va_list		   ap;

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
	struct doctor *d;
	size_t	       row;
};

static struct doctor_ref *
doctor_ref(struct doctor *d, struct doctor_row *row)
{
	struct doctor_ref *ref;

	ref = xcalloc(1, sizeof *ref);
	ref->d = d;
	ref->row = (size_t)(row - d->rows);
	d->pending++;
	return (ref);
}

static void doctor_set(struct doctor *d, size_t i, enum doctor_status status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
doctor_set(struct doctor *d, size_t i, enum doctor_status status,
    const char *fmt, ...)
{
	va_list ap;

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

static void doctor_done(struct doctor_ref *ref, const struct aws_reply *reply,
    const char *okfmt, ...) __attribute__((format(printf, 3, 4)));

static void
doctor_done(struct doctor_ref *ref, const struct aws_reply *reply,
    const char *okfmt, ...)
{
	struct doctor *d = ref->d;
	va_list	       ap;
	char	      *detail;

	if (reply->error == AWS_OK) {
		va_start(ap, okfmt);
		detail = xvasprintf(okfmt, ap);
		va_end(ap);
		doctor_set(d, ref->row, DOCTOR_PASS, "%s", detail);
		free(detail);
	} else
		doctor_set(d, ref->row, DOCTOR_FAIL, "%s",
		    reply->message != NULL ? reply->message :
					     aws_strerror(reply->error));
	d->pending--;
	free(ref);
}

static void
doctor_identity_cb(const struct aws_reply *reply,
    struct sts_caller_identity *id, void *arg)
{
	struct doctor_ref *ref = arg;
	struct doctor	  *d = ref->d;
	struct doctor_row *row = &d->rows[ref->row];

	if (reply->error == AWS_OK && row->expect_account != NULL &&
	    strcmp(id->account, row->expect_account) != 0) {
		doctor_set(d, ref->row, DOCTOR_FAIL,
		    "the role is in account "
		    "%s, the configuration says %s (%s)",
		    id->account, row->expect_account, id->arn);
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
doctor_stack_cb(const struct aws_reply *reply, struct cfn_stack_list *list,
    void *arg)
{
	struct doctor_ref *ref = arg;

	/* A stack that does not exist yet is created by the first run. */
	if (reply->error == AWS_EAWS &&
	    strcmp(reply->aws.code, "ValidationError") == 0 &&
	    strstr(reply->aws.message, "does not exist") != NULL) {
		doctor_set(ref->d, ref->row, DOCTOR_PASS,
		    "not created yet: "
		    "the first release will create it");
		ref->d->pending--;
		free(ref);
	} else
		doctor_done(ref, reply, "%s",
		    list != NULL && list->n > 0 ? list->v[0].status : "");
	cfn_stack_list_free(list);
}

static void
doctor_ecr_cb(const struct aws_reply *reply, struct ecr_auth *auth, void *arg)
{
	doctor_done(arg, reply, "token for %s",
	    auth != NULL && auth->proxy_endpoint != NULL ?
		auth->proxy_endpoint :
		"the registry");
	ecr_auth_free(auth);
}

static void
doctor_check_identity(struct doctor *d, struct doctor_row *row,
    struct aws_creds *creds, const char *region)
{
	char *cause = NULL;

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
	struct s3_list_params p;
	struct doctor_ref    *ref;
	char		     *cause = NULL;

	memset(&p, 0, sizeof p);
	p.t.bucket = bucket;
	p.t.creds = creds;
	p.prefix = prefix != NULL && *prefix != '\0' ? prefix : NULL;
	ref = doctor_ref(d, row);
	if (s3_list_objects(aws_context_client(d->aws), &p, doctor_list_cb, ref,
		&cause) == NULL)
		doctor_start_failed(d, ref, cause);
}

/* "333333333333.dkr.ecr.eu-west-1.amazonaws.com" -> account, region. */
static int
doctor_registry_parts(const char *registry, char *account, size_t alen,
    char *region, size_t rlen)
{
	const char *p, *q;

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
	const struct config_environment *env;
	struct doctor_row		*row;
	struct doctor_ref		*ref;
	struct aws_creds		*creds = NULL;
	char				 account[32], region[64], *cause = NULL;
	size_t				 i;

	for (i = 0; i < d->nrows; i++)
		if (strstr(d->rows[i].check, registry) != NULL)
			return; /* checked already */
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
		    (creds = aws_context_env_creds(d->aws, app, env, &cause)) ==
			NULL) {
			doctor_fail_now(d, row, cause);
			return;
		}
	}
	ref = doctor_ref(d, row);
	if (ecr_get_authorization_token(aws_context_client(d->aws), creds,
		region, doctor_ecr_cb, ref, &cause) == NULL)
		doctor_start_failed(d, ref, cause);
}

/* --- the queue's set-up and the bucket's notification ------------------ */

/* Settles a row planned with its own pending count (not a doctor_ref). */
static void
doctor_settle(struct doctor *d, size_t i, enum doctor_status status,
    const char *detail)
{
	doctor_set(d, i, status, "%s", detail);
	d->pending--;
}

/* The rows of one queue's checks, filled by two chained calls. */
struct doctor_queue {
	struct doctor		*d;
	const struct config_app *app;
	size_t			 row_queue;
	size_t			 row_redrive;
	size_t			 row_policy;
	size_t			 row_notify;
	char			*queue_arn;
};

/*
 * RedrivePolicy: a dead-letter queue, after more receives than shipgate
 * allows itself (source.max_receives), so that shipgate records an event
 * that keeps failing before SQS sets it aside.  Returns the status and
 * sets *detail.
 */
static enum doctor_status
doctor_judge_redrive(const char *text, int max_receives, char **detail)
{
	json_t	    *o;
	json_error_t e;
	const char  *dlq;
	long long    n;

	if (text == NULL) {
		*detail = xstrdup(
		    "no redrive policy: an event that keeps "
		    "failing is received again for as long as the queue keeps "
		    "it; give the queue a dead-letter queue");
		return (DOCTOR_FAIL);
	}
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_string(json_object_get(o, "deadLetterTargetArn"))) {
		json_decref(o);
		*detail = xstrdup("the redrive policy names no "
				  "deadLetterTargetArn");
		return (DOCTOR_FAIL);
	}
	dlq = json_string_value(json_object_get(o, "deadLetterTargetArn"));
	/* SQS gives maxReceiveCount as a number or a string. */
	if (json_is_integer(json_object_get(o, "maxReceiveCount")))
		n = json_integer_value(json_object_get(o, "maxReceiveCount"));
	else if (json_is_string(json_object_get(o, "maxReceiveCount")))
		n = strtoll(json_string_value(
				json_object_get(o, "maxReceiveCount")),
		    NULL, 10);
	else
		n = 0;
	if (n <= max_receives) {
		*detail = xasprintf(
		    "maxReceiveCount %lld is not above "
		    "source.max_receives %d: SQS would set a failing event "
		    "aside before shipgate records why",
		    n, max_receives);
		json_decref(o);
		return (DOCTOR_FAIL);
	}
	*detail = xasprintf("%s after %lld receives", dlq, n);
	json_decref(o);
	return (DOCTOR_PASS);
}

/* A string or an array of strings: 1 when one matches what (fnmatch
 * when glob, else equal; case-folded when fold). */
static int
doctor_json_match(json_t *v, const char *what, int glob, int fold)
{
	json_t	   *x;
	const char *p;
	size_t	    i;
	int	    n, flags = fold ? FNM_CASEFOLD : 0;

	n = json_is_array(v) ? (int)json_array_size(v) : 1;
	for (i = 0; i < (size_t)n; i++) {
		x = json_is_array(v) ? json_array_get(v, i) : v;
		if ((p = json_string_value(x)) == NULL)
			continue;
		if (glob ? fnmatch(p, what, flags) == 0 :
		    fold ? strcasecmp(p, what) == 0 :
			   strcmp(p, what) == 0)
			return (1);
	}
	return (0);
}

/* Whether a statement's Condition lets the bucket's events through:
 * only aws:SourceArn is judged, other keys are taken as met. */
static int
doctor_condition_admits(json_t *cond, const char *bucket_arn, int *scoped)
{
	static const char *const ops[] = { "ArnEquals", "ArnLike",
		"StringEquals", "StringLike" };
	json_t			*block, *v;
	const char		*key;
	size_t			 i;

	*scoped = 0;
	for (i = 0; cond != NULL && i < sizeof ops / sizeof ops[0]; i++) {
		if ((block = json_object_get(cond, ops[i])) == NULL)
			continue;
		json_object_foreach(block, key, v) {
			if (strcasecmp(key, "aws:SourceArn") != 0)
				continue;
			*scoped = 1;
			if (!doctor_json_match(v, bucket_arn,
				strstr(ops[i], "Like") != NULL, 0))
				return (0);
		}
	}
	return (1);
}

/* Whether statement st is about S3 sending to this queue. */
static int
doctor_statement_applies(json_t *st, const char *queue_arn)
{
	json_t *p, *r;

	if (!doctor_json_match(json_object_get(st, "Action"), "sqs:SendMessage",
		1, 1))
		return (0);
	p = json_object_get(st, "Principal");
	if (!(json_is_string(p) && strcmp(json_string_value(p), "*") == 0) &&
	    !doctor_json_match(json_object_get(p, "Service"),
		"s3.amazonaws.com", 0, 1) &&
	    !doctor_json_match(json_object_get(p, "AWS"), "*", 0, 0))
		return (0);
	r = json_object_get(st, "Resource");
	return (r == NULL || doctor_json_match(r, queue_arn, 1, 0));
}

/*
 * The queue's Policy admits S3 sending events from the bucket: an Allow
 * statement for sqs:SendMessage by s3.amazonaws.com on the queue whose
 * aws:SourceArn (if any) matches the bucket, and no Deny that matches.
 */
static enum doctor_status
doctor_judge_policy(const char *text, const char *queue_arn, const char *bucket,
    char **detail)
{
	json_t		  *o, *sts, *st;
	json_error_t	   e;
	char		  *bucket_arn;
	const char	  *sid;
	size_t		   i, n;
	int		   scoped, allowed = 0, allowed_scoped = 0;
	enum doctor_status status = DOCTOR_FAIL;

	if (text == NULL) {
		*detail = xasprintf("the queue has no policy: S3 cannot send "
				    "it the events of %s",
		    bucket);
		return (DOCTOR_FAIL);
	}
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, &e)) == NULL) {
		*detail = xasprintf("the queue's policy is not JSON: %s",
		    e.text);
		return (DOCTOR_FAIL);
	}
	bucket_arn = xasprintf("arn:aws:s3:::%s", bucket);
	sts = json_object_get(o, "Statement");
	n = json_is_array(sts) ? json_array_size(sts) : (size_t)(sts != NULL);
	for (i = 0; i < n; i++) {
		st = json_is_array(sts) ? json_array_get(sts, i) : sts;
		if (!json_is_object(st) ||
		    !doctor_statement_applies(st, queue_arn) ||
		    !doctor_condition_admits(json_object_get(st, "Condition"),
			bucket_arn, &scoped))
			continue;
		sid = json_string_value(json_object_get(st, "Sid"));
		if (doctor_json_match(json_object_get(st, "Effect"), "Deny", 0,
			0)) {
			*detail = xasprintf("statement %s denies S3 sending "
					    "the events of %s",
			    sid != NULL ? sid : "(no Sid)", bucket);
			goto out;
		}
		if (doctor_json_match(json_object_get(st, "Effect"), "Allow", 0,
			0)) {
			allowed = 1;
			allowed_scoped |= scoped;
		}
	}
	if (!allowed) {
		*detail = xasprintf("no statement lets s3.amazonaws.com "
				    "sqs:SendMessage from %s",
		    bucket_arn);
		goto out;
	}
	*detail = xasprintf(
	    allowed_scoped ?
		"S3 may send the events of %s" :
		"S3 may send the events of %s (and of any other bucket: no "
		"aws:SourceArn condition)",
	    bucket);
	status = DOCTOR_PASS;
out:
	free(bucket_arn);
	json_decref(o);
	return (status);
}

/* Whether configuration c sends the app's release events: object
 * creations under the prefix, and every key ending in .zip. */
static const char *
doctor_notify_misses(const struct s3_notify_config *c, const char *prefix)
{
	static const char zip[] = ".zip";
	size_t		  i;
	int		  created = 0;

	for (i = 0; i < c->nevents; i++)
		if (strncmp(c->events[i], "s3:ObjectCreated:", 17) == 0)
			created = 1;
	if (!created)
		return ("no s3:ObjectCreated event");
	if (c->prefix != NULL &&
	    strncmp(prefix, c->prefix, strlen(c->prefix)) != 0)
		return ("its prefix filter leaves out the source prefix");
	if (c->suffix != NULL &&
	    (strlen(c->suffix) > strlen(zip) ||
		strcmp(zip + strlen(zip) - strlen(c->suffix), c->suffix) != 0))
		return ("its suffix filter leaves out .zip");
	return (NULL);
}

static enum doctor_status
doctor_judge_notification(const struct s3_notification *n,
    const char *queue_arn, const char *prefix, char **detail)
{
	struct buf  others;
	const char *why = NULL;
	size_t	    i;

	buf_init(&others, 4096);
	for (i = 0; i < n->n; i++) {
		if (n->v[i].kind != S3_NOTIFY_QUEUE ||
		    strcmp(n->v[i].destination, queue_arn) != 0) {
			if (n->v[i].destination != NULL)
				buf_printf(&others, "%s%s",
				    others.len > 0 ? ", " : "",
				    n->v[i].destination);
			continue;
		}
		if ((why = doctor_notify_misses(&n->v[i], prefix)) == NULL) {
			*detail = xasprintf("object creations under \"%s\" go "
					    "to %s",
			    prefix, queue_arn);
			buf_free(&others);
			return (DOCTOR_PASS);
		}
	}
	if (why != NULL)
		*detail = xasprintf("the notification to %s misses releases: "
				    "%s",
		    queue_arn, why);
	else if (others.len > 0)
		*detail = xasprintf("the bucket notifies %.*s, not the "
				    "configured queue %s",
		    (int)others.len, others.data, queue_arn);
	else
		*detail = xasprintf(
		    "the bucket sends no event notifications: "
		    "releases reach shipgate only by its listing every "
		    "poll_interval");
	buf_free(&others);
	return (DOCTOR_FAIL);
}

static void
doctor_queue_free(struct doctor_queue *q)
{
	free(q->queue_arn);
	free(q);
}

static void
doctor_notification_cb(const struct aws_reply *reply, struct s3_notification *n,
    void *arg)
{
	struct doctor_queue *q = arg;
	enum doctor_status   status = DOCTOR_FAIL;
	char		    *detail = NULL;

	if (reply->error == AWS_OK)
		status = doctor_judge_notification(n, q->queue_arn,
		    q->app->source_prefix, &detail);
	doctor_settle(q->d, q->row_notify, status,
	    detail != NULL	   ? detail :
	    reply->message != NULL ? reply->message :
				     aws_strerror(reply->error));
	free(detail);
	s3_notification_free(n);
	doctor_queue_free(q);
}

static void
doctor_queue_cb(const struct aws_reply *reply, struct sqs_queue_attributes *a,
    void *arg)
{
	struct doctor_queue *q = arg;
	struct doctor	    *d = q->d;
	struct s3_target     t;
	enum doctor_status   st;
	char		    *detail = NULL, *cause = NULL;

	if (reply->error != AWS_OK) {
		doctor_settle(d, q->row_queue, DOCTOR_FAIL,
		    reply->message != NULL ? reply->message :
					     aws_strerror(reply->error));
		doctor_settle(d, q->row_redrive, DOCTOR_FAIL,
		    "the queue "
		    "could not be read");
		doctor_settle(d, q->row_policy, DOCTOR_FAIL,
		    "the queue "
		    "could not be read");
		doctor_settle(d, q->row_notify, DOCTOR_FAIL,
		    "the queue "
		    "could not be read");
		doctor_queue_free(q);
		return;
	}
	doctor_settle(d, q->row_queue, DOCTOR_PASS, "reachable");
	st = doctor_judge_redrive(a->redrive_policy, q->app->max_receives,
	    &detail);
	doctor_settle(d, q->row_redrive, st, detail);
	free(detail);
	if (a->queue_arn == NULL) {
		doctor_settle(d, q->row_policy, DOCTOR_FAIL,
		    "SQS did not "
		    "give the queue's ARN");
		doctor_settle(d, q->row_notify, DOCTOR_FAIL,
		    "SQS did not "
		    "give the queue's ARN");
		sqs_queue_attributes_free(a);
		doctor_queue_free(q);
		return;
	}
	st = doctor_judge_policy(a->policy, a->queue_arn, q->app->source_bucket,
	    &detail);
	doctor_settle(d, q->row_policy, st, detail);
	free(detail);
	q->queue_arn = a->queue_arn;
	a->queue_arn = NULL;
	sqs_queue_attributes_free(a);

	memset(&t, 0, sizeof t);
	t.bucket = q->app->source_bucket;
	if (s3_get_bucket_notification(aws_context_client(d->aws), &t,
		doctor_notification_cb, q, &cause) == NULL) {
		doctor_settle(d, q->row_notify, DOCTOR_FAIL,
		    cause != NULL ? cause : "could not start");
		free(cause);
		doctor_queue_free(q);
	}
}

static void
doctor_check_queue(struct doctor *d, const struct config_app *app)
{
	struct doctor_queue *q;
	struct sqs_queue     sq;
	char		    *cause = NULL;

	q = xcalloc(1, sizeof *q);
	q->d = d;
	q->app = app;
	q->row_queue = doctor_add(d, "%s: queue %s", app->name,
			   app->source_queue_url) -
		       d->rows;
	q->row_redrive = doctor_add(d, "%s: queue's dead-letter queue",
			     app->name) -
			 d->rows;
	q->row_policy = doctor_add(d, "%s: queue policy admits bucket %s",
			    app->name, app->source_bucket) -
			d->rows;
	q->row_notify = doctor_add(d, "%s: bucket %s notifies the queue",
			    app->name, app->source_bucket) -
			d->rows;
	d->pending += 4;
	memset(&sq, 0, sizeof sq);
	sq.url = app->source_queue_url;
	if (sqs_get_queue_attributes(aws_context_client(d->aws), &sq,
		doctor_queue_cb, q, &cause) == NULL) {
		doctor_settle(d, q->row_queue, DOCTOR_FAIL,
		    cause != NULL ? cause : "could not start");
		doctor_settle(d, q->row_redrive, DOCTOR_FAIL, "not checked");
		doctor_settle(d, q->row_policy, DOCTOR_FAIL, "not checked");
		doctor_settle(d, q->row_notify, DOCTOR_FAIL, "not checked");
		free(cause);
		doctor_queue_free(q);
	}
}

/* --- the role's trust: the external id is required ----------------------- */

#define DOCTOR_PROBE_SESSION "shipgate-doctor-probe"

struct doctor_probe {
	struct doctor *d;
	size_t	       row;
	int	       left;	      /* AssumeRole calls in flight */
	const char    *accepted;      /* what STS should have refused */
	int	       right_refused; /* the configured id was refused */
	char	      *error;	      /* the first other failure */
};

/* One probe: its call's argument. */
struct doctor_probe_call {
	struct doctor_probe *p;
	const char	    *what; /* "without it"...; NULL: the right id */
};

static void
doctor_probe_end(struct doctor_probe *p)
{
	if (p->accepted != NULL)
		doctor_set(p->d, p->row, DOCTOR_FAIL,
		    "the role can be "
		    "assumed %s: its trust policy must require "
		    "sts:ExternalId (StringEquals)",
		    p->accepted);
	else if (p->right_refused)
		doctor_set(p->d, p->row, DOCTOR_FAIL,
		    "the role refuses the "
		    "configured external id too: its trust requires another "
		    "one, or does not trust these credentials");
	else if (p->error != NULL)
		doctor_set(p->d, p->row, DOCTOR_FAIL,
		    "could not probe the "
		    "trust: %s",
		    p->error);
	else
		doctor_set(p->d, p->row, DOCTOR_PASS,
		    "assumed with it, "
		    "refused without it and with another one");
	p->d->pending--;
	free(p->error);
	free(p);
}

static void
doctor_probe_cb(const struct aws_reply *reply, struct sts_assumed_role *r,
    void *arg)
{
	struct doctor_probe_call *c = arg;
	struct doctor_probe	 *p = c->p;

	if (reply->error == AWS_OK) {
		/* Answers come in any order: "without it" says the most,
		 * whichever comes first. */
		if (c->what != NULL &&
		    (p->accepted == NULL || strcmp(c->what, "without it") == 0))
			p->accepted = c->what;
	} else if (c->what == NULL && reply->error == AWS_EAWS &&
		   strcmp(reply->aws.code, "AccessDenied") == 0)
		p->right_refused = 1;
	else if (!(reply->error == AWS_EAWS &&
		     strcmp(reply->aws.code, "AccessDenied") == 0) &&
		 p->error == NULL)
		p->error = xstrdup(reply->message != NULL ?
				       reply->message :
				       aws_strerror(reply->error));
	sts_assumed_role_free(r); /* never used: wiped */
	free(c);
	if (--p->left == 0)
		doctor_probe_end(p);
}

/*
 * AssumeRole without the external id and with a wrong one: a trust policy
 * that requires the configured one refuses both (AccessDenied), and
 * accepts the configured one (tried too, to tell a mismatch apart).
 */
static void
doctor_check_trust(struct doctor *d, const struct config_app *app,
    const struct config_environment *env)
{
	static const char *const what[3] = { "without it", "with another one",
		NULL };
	struct sts_assume_role_params ap;
	struct doctor_probe	     *p;
	struct doctor_probe_call     *c;
	char			     *wrong, *cause = NULL;
	int			      i;

	p = xcalloc(1, sizeof *p);
	p->d = d;
	p->row = doctor_add(d, "%s/%s: role requires the external id",
		     app->name, env->name) -
		 d->rows;
	d->pending++;
	p->left = 1; /* held while the probes start */
	wrong = xasprintf("%.*s-doctor-probe", 1000, env->external_id);
	memset(&ap, 0, sizeof ap);
	ap.role_arn = env->role_arn;
	ap.session_name = DOCTOR_PROBE_SESSION;
	ap.region = aws_context_env_region(d->aws, env);
	for (i = 0; i < 3; i++) {
		ap.external_id = i == 0 ? NULL :
				 i == 1 ? wrong :
					  env->external_id;
		c = xcalloc(1, sizeof *c);
		c->p = p;
		c->what = what[i];
		if (sts_assume_role(aws_context_client(d->aws), &ap,
			doctor_probe_cb, c, &cause) == NULL) {
			free(c);
			if (p->error == NULL)
				p->error = cause != NULL ?
					       cause :
					       xstrdup("could not start");
			else
				free(cause);
			break;
		}
		p->left++;
	}
	freezero_str(wrong);
	if (--p->left == 0)
		doctor_probe_end(p);
}

/* --- the identity provider's and the load balancer's endpoints -------- */

#define DOCTOR_HTTP_TIMEOUT_MS 10000

/* One of the sign-in checks: its rows, and what the next call needs. */
struct doctor_idp {
	struct doctor	    *d;
	const struct config *config;
	int		     kind; /* DOCTOR_IDP_* */
	size_t		     row;
	size_t		     row_keys; /* discovery: the JWKS's row */
	char		    *url;
};
#define DOCTOR_IDP_DISCOVERY 1
#define DOCTOR_IDP_JWKS	     2
#define DOCTOR_IDP_ALB	     3

static void doctor_idp_fetch(struct doctor_idp *);

static void
doctor_idp_free(struct doctor_idp *f)
{
	free(f->url);
	free(f);
}

/* The provider's discovery document: then its key set. */
static void
doctor_idp_discovery(struct doctor_idp *f, const char *body, size_t len)
{
	const struct config_oidc *o = &f->config->oidc;
	struct oidc_discovery	  disc;
	struct doctor_idp	 *k;
	char			 *cause = NULL;

	memset(&disc, 0, sizeof disc);
	if (oidc_discovery_parse(body, len, o->issuer, o->loopback, &disc,
		&cause) != 0) {
		doctor_settle(f->d, f->row, DOCTOR_FAIL,
		    cause != NULL ? cause :
				    "the discovery document is refused");
		doctor_settle(f->d, f->row_keys, DOCTOR_FAIL,
		    "no discovery "
		    "document to name the key set");
		free(cause);
		return;
	}
	doctor_set(f->d, f->row, DOCTOR_PASS,
	    "issuer matches, code flow "
	    "with PKCE S256, token endpoint %s",
	    disc.token_endpoint);
	f->d->pending--;
	k = xcalloc(1, sizeof *k);
	k->d = f->d;
	k->config = f->config;
	k->kind = DOCTOR_IDP_JWKS;
	k->row = f->row_keys;
	k->url = xstrdup(disc.jwks_uri);
	free(f->d->rows[k->row].check);
	f->d->rows[k->row].check = xasprintf("auth.oidc: key set %s",
	    disc.jwks_uri);
	oidc_discovery_clear(&disc);
	doctor_idp_fetch(k);
}

static void
doctor_idp_jwks(struct doctor_idp *f, const char *body, size_t len)
{
	struct jose_keyset *set = NULL;
	char		   *cause = NULL;
	size_t		    n;

	if (jose_keyset_parse(&set, body, len, &cause) != 0) {
		doctor_settle(f->d, f->row, DOCTOR_FAIL,
		    cause != NULL ? cause : "the key set is refused");
		free(cause);
		return;
	}
	n = jose_keyset_count(set);
	doctor_set(f->d, f->row, DOCTOR_PASS,
	    "%zu RS256/ES256 signing "
	    "key%s",
	    n, n == 1 ? "" : "s");
	f->d->pending--;
	jose_keyset_free(set);
}

static void
doctor_idp_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct doctor_idp *f = arg;
	const char	  *body;
	size_t		   len;

	(void)call;
	body = res->body.data != NULL ? res->body.data : "";
	len = res->body.len;
	if (res->error != HTTP_OK) {
		doctor_settle(f->d, f->row, DOCTOR_FAIL,
		    res->message != NULL ? res->message :
					   http_strerror(res->error));
		if (f->kind == DOCTOR_IDP_DISCOVERY)
			doctor_settle(f->d, f->row_keys, DOCTOR_FAIL,
			    "no "
			    "discovery document to name the key set");
	} else if (f->kind == DOCTOR_IDP_ALB) {
		/* Keys are served by kid only: any answer means reachable. */
		doctor_set(f->d, f->row, DOCTOR_PASS,
		    "reachable (HTTP %ld "
		    "at the base URL; keys are fetched by kid)",
		    res->status);
		f->d->pending--;
	} else if (res->status != 200) {
		doctor_set(f->d, f->row, DOCTOR_FAIL, "HTTP %ld from %s",
		    res->status, f->url);
		f->d->pending--;
		if (f->kind == DOCTOR_IDP_DISCOVERY)
			doctor_settle(f->d, f->row_keys, DOCTOR_FAIL,
			    "no "
			    "discovery document to name the key set");
	} else if (f->kind == DOCTOR_IDP_DISCOVERY)
		doctor_idp_discovery(f, body, len);
	else
		doctor_idp_jwks(f, body, len);
	doctor_idp_free(f);
}

/* GETs f->url; f's rows are pending already.  f is freed. */
static void
doctor_idp_fetch(struct doctor_idp *f)
{
	struct http_request	 req;
	static const char *const headers[] = {
		"Accept: application/json",
		NULL,
	};
	char *cause = NULL;

	memset(&req, 0, sizeof req);
	req.url = f->url;
	req.headers = headers;
	req.body_max = f->kind == DOCTOR_IDP_JWKS ? JOSE_MAX_JWKS :
						    OIDC_MAX_DISCOVERY;
	req.timeout_ms = DOCTOR_HTTP_TIMEOUT_MS;
	if (http_call_start(aws_context_http(f->d->aws), &req, doctor_idp_cb, f,
		&cause) != NULL)
		return;
	doctor_settle(f->d, f->row, DOCTOR_FAIL,
	    cause != NULL ? cause : "could not start");
	if (f->kind == DOCTOR_IDP_DISCOVERY)
		doctor_settle(f->d, f->row_keys, DOCTOR_FAIL,
		    "no discovery "
		    "document to name the key set");
	free(cause);
	doctor_idp_free(f);
}

/*
 * auth.oidc: the discovery document (reachable, its issuer the
 * configured one, code flow with S256) and the key set it names (at
 * least one RS256 or ES256 signing key).  auth.alb: the region's key
 * endpoint answers at its base URL.
 */
static void
doctor_check_signin(struct doctor *d, const struct config *config)
{
	struct doctor_idp *f;

	if (config->oidc.issuer != NULL) {
		f = xcalloc(1, sizeof *f);
		f->d = d;
		f->config = config;
		f->kind = DOCTOR_IDP_DISCOVERY;
		f->url = oidc_discovery_url(config->oidc.issuer);
		f->row = doctor_add(d, "auth.oidc: discovery %s", f->url) -
			 d->rows;
		f->row_keys = doctor_add(d, "auth.oidc: key set") - d->rows;
		d->pending += 2;
		doctor_idp_fetch(f);
	}
	if (config->alb.arn != NULL) {
		f = xcalloc(1, sizeof *f);
		f->d = d;
		f->config = config;
		f->kind = DOCTOR_IDP_ALB;
		f->url = xstrdup(config->alb.key_url);
		f->row = doctor_add(d, "auth.alb: key endpoint %s", f->url) -
			 d->rows;
		d->pending++;
		doctor_idp_fetch(f);
	}
}

static void
doctor_plan(struct doctor *d, const struct config *config)
{
	const struct config_app		*app;
	const struct config_environment *env;
	struct doctor_row		*row;
	struct doctor_ref		*ref;
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
		if (app->source_queue_url != NULL)
			doctor_check_queue(d, app);
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
			if (env->external_id != NULL)
				doctor_check_trust(d, app, env);

			row = doctor_add(d, "%s/%s: stack %s", app->name,
			    env->name, env->stack);
			cause = NULL;
			ref = doctor_ref(d, row);
			if (cfn_describe_stacks(aws_context_client(d->aws),
				creds, aws_context_env_region(d->aws, env),
				env->stack, doctor_stack_cb, ref,
				&cause) == NULL)
				doctor_start_failed(d, ref, cause);
		}
		if (app->registry != NULL)
			doctor_check_registry(d, app, app->registry);
		for (j = 0; j < app->nenvironments; j++)
			if (app->environments[j].registry != NULL)
				doctor_check_registry(d, app,
				    app->environments[j].registry);
	}
	doctor_check_signin(d, config);
}

static void
doctor_closed_cb(void *arg)
{
	struct doctor *d = arg;

	d->closed = 1;
}

static void
doctor_print(const struct doctor *d, FILE *out, int json)
{
	json_t *o;
	char   *line;
	size_t	i, width = 5;

	for (i = 0; i < d->nrows; i++)
		if (strlen(d->rows[i].check) > width)
			width = strlen(d->rows[i].check);
	if (!json)
		fprintf(out, "%-*s  %-6s %s\n", (int)width, "CHECK", "RESULT",
		    "DETAIL");
	for (i = 0; i < d->nrows; i++) {
		const struct doctor_row *r = &d->rows[i];
		const char *status = r->status == DOCTOR_PASS ? "pass" : "FAIL";

		if (json) {
			o = json_pack("{s:s, s:s, s:s}", "check", r->check,
			    "result",
			    r->status == DOCTOR_PASS ? "pass" : "fail",
			    "detail",
			    r->detail != NULL ? r->detail : "no answer");
			line = json_dumps(o, JSON_COMPACT);
			fprintf(out, "%s\n", line);
			free(line);
			json_decref(o);
		} else
			fprintf(out, "%-*s  %-6s %s\n", (int)width, r->check,
			    status,
			    r->detail != NULL ? r->detail : "no answer");
	}
}

int
doctor_run(const struct config *config, FILE *out, int json)
{
	struct doctor d;
	uv_loop_t     loop;
	char	     *cause = NULL;
	size_t	      i, failed = 0;

	memset(&d, 0, sizeof d);
	uv_loop_init(&loop);
	if ((d.aws = aws_context_new(&loop, config, &cause)) == NULL) {
		fprintf(out, "credentials: FAIL %s\n",
		    cause != NULL ? cause : "no credentials");
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
