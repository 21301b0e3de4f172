/*
 * SQS (JSON 1.0, X-Amz-Target AmazonSQS.*): long-poll a queue, delete a
 * message, change its visibility, read the queue's attributes.
 *
 * The queue is named by its URL (the QueueUrl parameter) but the request
 * goes to the client's SQS endpoint for the region, not to the URL's
 * host: VPC endpoints and the test sandbox answer elsewhere.
 *
 * Each call is an operation of aws-op.h: it either fails synchronously
 * (NULL, *cause set, the callback never called) or returns its handle
 * (aws_op_cancel until the callback) and calls its callback exactly once,
 * from a later loop iteration, with the client's reply (reply->error AWS_OK
 * or AWS_E*; reply->aws.code as SQS spells it, "QueueDoesNotExist"...;
 * message names service, operation, AWS code, message and request id), valid
 * during the callback, and for ReceiveMessage and GetQueueAttributes on
 * success a result the callback owns (NULL on error).
 */
#ifndef SHIPGATE_SVC_SQS_H
#define SHIPGATE_SVC_SQS_H

#include <stddef.h>
#include <stdint.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const sqs_operations[];

/* The queue; region and creds NULL: the client's. */
struct sqs_queue {
	const char	 *url;
	const char	 *region;
	struct aws_creds *creds;
};

struct sqs_attribute {
	char *name;
	char *value;
};

struct sqs_message {
	char		     *message_id;
	char		     *receipt_handle;
	char		     *body;  /* checked against MD5OfBody */
	struct sqs_attribute *attrs; /* system attributes asked */
	size_t		      nattrs;
	long		      receive_count; /* ApproximateReceiveCount; 0 */
	int64_t		      sent_ms;	     /* SentTimestamp; 0 */
};

struct sqs_messages {
	struct sqs_message *v;
	size_t		    n; /* 0 when the poll timed out */
};
void sqs_messages_free(struct sqs_messages *);
/* A system attribute of a message by name, or NULL. */
const char *sqs_message_attr(const struct sqs_message *, const char *);

#define SQS_WAIT_MAX 20

struct sqs_receive_params {
	struct sqs_queue q;
	int		 wait_seconds;	     /* 0-20 */
	int		 max_messages;	     /* 1-10; 0: 1 */
	int		 visibility_timeout; /* seconds; -1: queue's */
	/* System attribute names, NULL-ended; NULL: ApproximateReceiveCount
	   and SentTimestamp. */
	const char *const *attribute_names;
};

typedef void (*sqs_receive_cb)(const struct aws_reply *, struct sqs_messages *,
    void *arg);
/* Reply-only callback (DeleteMessage, ChangeMessageVisibility). */
typedef void (*sqs_done_cb)(const struct aws_reply *, void *arg);

/*
 * Long polls: the reply comes as soon as a message is there, or after
 * wait_seconds with none.  The attempt's timeout is raised above the
 * wait when the client's is shorter.
 */
struct aws_op *sqs_receive_message(struct aws_client *,
    const struct sqs_receive_params *, sqs_receive_cb, void *arg, char **cause);
struct aws_op *sqs_delete_message(struct aws_client *, const struct sqs_queue *,
    const char *receipt_handle, sqs_done_cb, void *arg, char **cause);
/* visibility_timeout: 0-43200 seconds (0 makes it visible at once). */
struct aws_op *sqs_change_message_visibility(struct aws_client *,
    const struct sqs_queue *, const char *receipt_handle,
    int visibility_timeout, sqs_done_cb, void *arg, char **cause);

/* What shipgatectl doctor reads of a queue; NULL when the queue has
 * none (a queue without a dead-letter queue has no RedrivePolicy). */
struct sqs_queue_attributes {
	char *queue_arn;
	char *redrive_policy; /* JSON text */
	char *policy;	      /* JSON text */
};
void sqs_queue_attributes_free(struct sqs_queue_attributes *);

typedef void (*sqs_attributes_cb)(const struct aws_reply *,
    struct sqs_queue_attributes *, void *arg);

/*
 * Reads the queue's attributes (QueueArn, RedrivePolicy, Policy) without
 * touching its messages: whether the queue is there and may be read, and
 * how it is set up.
 */
struct aws_op *sqs_get_queue_attributes(struct aws_client *,
    const struct sqs_queue *, sqs_attributes_cb, void *arg, char **cause);
/* The pure reader of its reply: fills a, or -1 and *cause; a is freed
 * with sqs_queue_attributes_free either way. */
int sqs_parse_queue_attributes(struct sqs_queue_attributes *, const void *,
    size_t, char **cause);

/*
 * The pure reader of a ReceiveMessage reply (the call and the fuzzer use
 * it): fills ms, or -1 and *cause naming the field.  ms is freed with
 * sqs_messages_free either way.
 */
int sqs_parse_messages(struct sqs_messages *, const void *, size_t,
    char **cause);

#endif
