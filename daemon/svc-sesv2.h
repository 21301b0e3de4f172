/*
 * SES v2 (REST-JSON): SendEmail, with Simple content (subject, text and
 * HTML bodies, UTF-8) or Raw content (a whole MIME message, sent
 * base64-encoded in the JSON body).
 *
 * sesv2_send_email, an operation of aws-op.h, either fails synchronously
 * (returns NULL with *cause, the callback never called) or returns the op
 * (aws_op_cancel until the callback) and calls its callback exactly once,
 * from a later loop iteration.  creds and region may be NULL for the client's
 * own; the message is copied.  The callback gets the aws_reply (error,
 * status, aws, message, request_id) and, on success, the MessageId SES gave
 * (valid during the callback only).
 */
#ifndef SHIPGATE_SVC_SESV2_H
#define SHIPGATE_SVC_SESV2_H

#include <stddef.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const sesv2_operations[];

#define SESV2_RECIPIENTS_MAX 50 /* To + Cc + Bcc, SES's limit */

struct sesv2_email {
	const char	  *from;     /* "name <addr>" or addr */
	const char *const *to;	     /* NULL-terminated; may be NULL
						   with raw (taken from it) */
	const char *const *cc;	     /* NULL-terminated or NULL */
	const char *const *reply_to; /* NULL-terminated or NULL */
	/* Simple content: a subject and at least one body. */
	const char *subject;
	const char *text;
	const char *html;
	/* Or Raw content: a whole MIME message (then subject, text and
	   html must be NULL). */
	const void *raw;
	size_t	    raw_len;
	const char *configuration_set; /* or NULL */
};

typedef void (*sesv2_send_cb)(const struct aws_reply *, const char *message_id,
    void *arg);

/*
 * One attempt per call once SES has answered 2xx: SendEmail has no
 * idempotency token, so a reply cut or garbled after its status line is
 * a success with message_id NULL (logged), never a retry that would
 * send the message twice.  Only a reply lost entirely (the connection
 * dropped after SES took it) leaves the caller to retry blind.
 */
struct aws_op *sesv2_send_email(struct aws_client *, struct aws_creds *,
    const char *region, const struct sesv2_email *, sesv2_send_cb, void *arg,
    char **cause);

/*
 * The request body SendEmail sends (pure, for tests): a JSON text the
 * caller frees, or NULL and *cause (a bad or incomplete message).
 */
char *sesv2_email_json(const struct sesv2_email *, char **cause);

/* The pure reader of the reply: *message_id (caller frees), or -1 and
   *cause. */
int sesv2_parse_send_email(const void *, size_t, char **message_id,
    char **cause);

#endif
