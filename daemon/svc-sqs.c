/*
 * SQS over JSON 1.0: ReceiveMessage (long poll), DeleteMessage,
 * ChangeMessageVisibility, GetQueueAttributes.  Bodies are checked
 * against MD5OfBody, as the SDKs do.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "aws-op.h"
#include "aws-services.h"
#include "json.h"
#include "log.h"
#include "svc-sqs.h"
#include "xmalloc.h"
#include "xml.h"

#define SQS_REPLY_MAX	    (4 * 1024 * 1024) /* 10 x 256 KiB + */
#define SQS_SMALL_REPLY_MAX (64 * 1024)
#define SQS_POLL_MARGIN_MS  30000

static const char *const sqs_default_attrs[] = { "ApproximateReceiveCount",
	"SentTimestamp", NULL };

void
sqs_messages_free(struct sqs_messages *ms)
{
	size_t i, j;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->n; i++) {
		free(ms->v[i].message_id);
		free(ms->v[i].receipt_handle);
		free(ms->v[i].body);
		for (j = 0; j < ms->v[i].nattrs; j++) {
			free(ms->v[i].attrs[j].name);
			free(ms->v[i].attrs[j].value);
		}
		free(ms->v[i].attrs);
	}
	free(ms->v);
	free(ms);
}

const char *
sqs_message_attr(const struct sqs_message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nattrs; i++)
		if (strcmp(m->attrs[i].name, name) == 0)
			return (m->attrs[i].value);
	return (NULL);
}

static int
sqs_queue_check(const struct sqs_queue *q, const char *op, char **cause)
{
	if (q->url == NULL ||
	    (strncmp(q->url, "https://", 8) != 0 &&
		strncmp(q->url, "http://", 7) != 0) ||
	    strlen(q->url) > 2048) {
		*cause = xasprintf("SQS %s: not a queue URL: %s", op,
		    q->url != NULL ? q->url : "(none)");
		return (-1);
	}
	return (0);
}

static int
sqs_md5_matches(const char *body, const char *want)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0, i;
	char	      hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(body, strlen(body), md, &mdlen, EVP_md5(), NULL) != 1)
		return (0);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return (strcasecmp(hex, want) == 0);
}

/* Reads one message; 0, or -1 with the error recorded in doc. */
static int
sqs_read_message(struct json *doc, size_t i, struct sqs_message *m)
{
	const char *id, *handle, *body, *md5 = NULL, *v;
	json_t	   *attrs = NULL, *value;
	const char *name;
	long long   n;

	if (json_str(doc, &id, "Messages[%zu].MessageId", i) != 0 ||
	    json_str(doc, &handle, "Messages[%zu].ReceiptHandle", i) != 0 ||
	    json_str(doc, &body, "Messages[%zu].Body", i) != 0 ||
	    json_str_opt(doc, &md5, "Messages[%zu].MD5OfBody", i) < 0 ||
	    json_obj_opt(doc, &attrs, "Messages[%zu].Attributes", i) < 0)
		return (-1);
	if (md5 != NULL && !sqs_md5_matches(body, md5)) {
		json_fail(doc,
		    "Messages[%zu]: MD5OfBody does not match "
		    "the body",
		    i);
		return (-1);
	}
	m->message_id = xstrdup(id);
	m->receipt_handle = xstrdup(handle);
	m->body = xstrdup(body);
	if (attrs == NULL)
		return (0);
	json_object_foreach(attrs, name, value) {
		if ((v = json_string_value(value)) == NULL) {
			json_fail(doc,
			    "Messages[%zu].Attributes.%s: "
			    "expected a string",
			    i, name);
			return (-1);
		}
		m->attrs = xreallocarray(m->attrs, m->nattrs + 1,
		    sizeof *m->attrs);
		m->attrs[m->nattrs].name = xstrdup(name);
		m->attrs[m->nattrs].value = xstrdup(v);
		m->nattrs++;
		if (strcmp(name, "ApproximateReceiveCount") == 0 &&
		    xml_parse_int(v, &n) == 0)
			m->receive_count = (long)n;
		else if (strcmp(name, "SentTimestamp") == 0 &&
			 xml_parse_int(v, &n) == 0)
			m->sent_ms = (int64_t)n;
	}
	return (0);
}

int
sqs_parse_messages(struct sqs_messages *ms, const void *data, size_t len,
    char **cause)
{
	struct json *doc = NULL;
	size_t	     n = 0, i;
	int	     rc = -1;

	if (json_load(&doc, data, len, NULL, "SQS ReceiveMessage reply",
		cause) != 0)
		return (-1);
	if (json_arr_opt(doc, &n, "Messages") < 0)
		goto bad;
	if (n > 0)
		ms->v = xcalloc(n, sizeof *ms->v);
	for (i = 0; i < n; i++) {
		ms->n++;
		if (sqs_read_message(doc, i, &ms->v[i]) != 0)
			goto bad;
	}
	rc = 0;
	goto out;
bad:
	*cause = xstrdup(
	    json_error(doc) != NULL ? json_error(doc) : "bad reply");
out:
	json_free(doc);
	return (rc);
}

void
sqs_queue_attributes_free(struct sqs_queue_attributes *a)
{
	if (a == NULL)
		return;
	free(a->queue_arn);
	free(a->redrive_policy);
	free(a->policy);
	free(a);
}

int
sqs_parse_queue_attributes(struct sqs_queue_attributes *a, const void *data,
    size_t len, char **cause)
{
	struct json *doc = NULL;
	const char  *arn = NULL, *redrive = NULL, *policy = NULL;
	int	     rc = -1;

	if (json_load(&doc, data, len, NULL, "SQS GetQueueAttributes reply",
		cause) != 0)
		return (-1);
	/* A queue without any of the attributes asked for answers {}. */
	if (json_str_opt(doc, &arn, "Attributes.QueueArn") < 0 ||
	    json_str_opt(doc, &redrive, "Attributes.RedrivePolicy") < 0 ||
	    json_str_opt(doc, &policy, "Attributes.Policy") < 0) {
		*cause = xstrdup(
		    json_error(doc) != NULL ? json_error(doc) : "bad reply");
		goto out;
	}
	a->queue_arn = arn != NULL ? xstrdup(arn) : NULL;
	a->redrive_policy = redrive != NULL && *redrive != '\0' ?
				xstrdup(redrive) :
				NULL;
	a->policy = policy != NULL && *policy != '\0' ? xstrdup(policy) : NULL;
	rc = 0;
out:
	json_free(doc);
	return (rc);
}

/*
 * The operations: one row each.  The queue is the tools account's (the
 * S3 notifications of the source bucket); all four need its ARN.
 */
AWS_OP_RESULT_ONE(sqs_messages, struct sqs_messages, sqs_parse_messages,
    sqs_messages_free, sqs_receive_cb)
AWS_OP_RESULT_ONE(sqs_attributes, struct sqs_queue_attributes,
    sqs_parse_queue_attributes, sqs_queue_attributes_free, sqs_attributes_cb)

static const struct aws_op_desc sqs_op_receive_message = { &aws_service_sqs,
	"ReceiveMessage", &sqs_messages_result, NULL, NULL, 0,
	{ "sqs:ReceiveMessage", AWS_ACCOUNT_TOOLS, "queue" } };
static const struct aws_op_desc sqs_op_delete_message = { &aws_service_sqs,
	"DeleteMessage", &aws_op_done_result, NULL, NULL, 0,
	{ "sqs:DeleteMessage", AWS_ACCOUNT_TOOLS, "queue" } };
static const struct aws_op_desc sqs_op_change_message_visibility = {
	&aws_service_sqs, "ChangeMessageVisibility", &aws_op_done_result, NULL,
	NULL, 0, { "sqs:ChangeMessageVisibility", AWS_ACCOUNT_TOOLS, "queue" }
};
static const struct aws_op_desc sqs_op_get_queue_attributes = {
	&aws_service_sqs, "GetQueueAttributes", &sqs_attributes_result, NULL,
	NULL, 0, { "sqs:GetQueueAttributes", AWS_ACCOUNT_TOOLS, "queue" }
};

const struct aws_op_desc *const sqs_operations[] = { &sqs_op_receive_message,
	&sqs_op_delete_message, &sqs_op_change_message_visibility,
	&sqs_op_get_queue_attributes, NULL };

/* An op on the queue: its QueueUrl set. */
static struct aws_op *
sqs_op(const struct aws_op_desc *d, struct aws_client *client,
    const struct sqs_queue *q, size_t reply_max, long timeout_ms)
{
	struct aws_op *op;

	op = aws_op_new(d, client, q->creds, q->region);
	json_object_set_new(aws_op_json(op), "QueueUrl", json_string(q->url));
	aws_op_limits(op, reply_max, timeout_ms);
	return (op);
}

struct aws_op *
sqs_receive_message(struct aws_client *client,
    const struct sqs_receive_params *p, sqs_receive_cb cb, void *arg,
    char **cause)
{
	const char *const *names;
	struct aws_op	  *op;
	json_t		  *body, *attrs;
	int		   max;
	size_t		   i;

	if (sqs_queue_check(&p->q, "ReceiveMessage", cause) != 0)
		return (NULL);
	max = p->max_messages == 0 ? 1 : p->max_messages;
	if (p->wait_seconds < 0 || p->wait_seconds > SQS_WAIT_MAX || max < 1 ||
	    max > 10 || p->visibility_timeout < -1 ||
	    p->visibility_timeout > 43200) {
		*cause = xasprintf(
		    "SQS ReceiveMessage: wait %d s (0-20), "
		    "%d messages (1-10) or visibility %d s (0-43200) out of "
		    "range",
		    p->wait_seconds, max, p->visibility_timeout);
		return (NULL);
	}
	names = p->attribute_names != NULL ? p->attribute_names :
					     sqs_default_attrs;
	attrs = json_array();
	for (i = 0; names[i] != NULL; i++)
		json_array_append_new(attrs, json_string(names[i]));
	op = sqs_op(&sqs_op_receive_message, client, &p->q, SQS_REPLY_MAX,
	    (long)p->wait_seconds * 1000 + SQS_POLL_MARGIN_MS);
	body = aws_op_json(op);
	json_object_set_new(body, "MaxNumberOfMessages", json_integer(max));
	json_object_set_new(body, "WaitTimeSeconds",
	    json_integer(p->wait_seconds));
	if (p->visibility_timeout >= 0)
		json_object_set_new(body, "VisibilityTimeout",
		    json_integer(p->visibility_timeout));
	json_object_set_new(body, "AttributeNames", attrs);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
sqs_delete_message(struct aws_client *client, const struct sqs_queue *q,
    const char *receipt_handle, sqs_done_cb cb, void *arg, char **cause)
{
	struct aws_op *op;

	if (sqs_queue_check(q, "DeleteMessage", cause) != 0)
		return (NULL);
	if (receipt_handle == NULL || *receipt_handle == '\0') {
		*cause = xstrdup("SQS DeleteMessage: no receipt handle");
		return (NULL);
	}
	op = sqs_op(&sqs_op_delete_message, client, q, SQS_SMALL_REPLY_MAX, 0);
	json_object_set_new(aws_op_json(op), "ReceiptHandle",
	    json_string(receipt_handle));
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
sqs_change_message_visibility(struct aws_client *client,
    const struct sqs_queue *q, const char *receipt_handle,
    int visibility_timeout, sqs_done_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	json_t	      *body;

	if (sqs_queue_check(q, "ChangeMessageVisibility", cause) != 0)
		return (NULL);
	if (receipt_handle == NULL || *receipt_handle == '\0' ||
	    visibility_timeout < 0 || visibility_timeout > 43200) {
		*cause = xasprintf("SQS ChangeMessageVisibility: no receipt "
				   "handle, or visibility %d s out of 0-43200",
		    visibility_timeout);
		return (NULL);
	}
	op = sqs_op(&sqs_op_change_message_visibility, client, q,
	    SQS_SMALL_REPLY_MAX, 0);
	body = aws_op_json(op);
	json_object_set_new(body, "ReceiptHandle", json_string(receipt_handle));
	json_object_set_new(body, "VisibilityTimeout",
	    json_integer(visibility_timeout));
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/*
 * Reachability and permission of a queue without touching its messages,
 * and its set-up (shipgatectl doctor).
 */
struct aws_op *
sqs_get_queue_attributes(struct aws_client *client, const struct sqs_queue *q,
    sqs_attributes_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	json_t	      *names;

	if (sqs_queue_check(q, "GetQueueAttributes", cause) != 0)
		return (NULL);
	op = sqs_op(&sqs_op_get_queue_attributes, client, q,
	    SQS_SMALL_REPLY_MAX, 0);
	names = json_array();
	json_array_append_new(names, json_string("QueueArn"));
	json_array_append_new(names, json_string("RedrivePolicy"));
	json_array_append_new(names, json_string("Policy"));
	json_object_set_new(aws_op_json(op), "AttributeNames", names);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
