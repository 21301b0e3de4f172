/*
 * AWS error replies: reads the code, message and request id out of an
 * error reply in any of the four protocols shipgate speaks, and decides
 * whether it is worth retrying, as the SDKs' standard retry mode does.
 *
 * Pure: the reply's Date and the caller's clock are passed in.  Text
 * taken from the reply is cleaned (control characters become spaces) and
 * capped, so it can be logged and shown as it is.
 */
#ifndef SHIPGATE_AWS_ERROR_H
#define SHIPGATE_AWS_ERROR_H

#include <stddef.h>
#include <time.h>

/* The wire protocols; the client's service table names one per service. */
enum aws_protocol {
	AWS_PROTOCOL_REST_XML,	/* S3: <Error><Code/>... */
	AWS_PROTOCOL_QUERY,	/* STS, CloudFormation: <ErrorResponse> */
	AWS_PROTOCOL_JSON,	/* SQS, ECS, ECR (JSON 1.0/1.1): __type */
	AWS_PROTOCOL_REST_JSON, /* SES v2: x-amzn-ErrorType + body */
};

enum aws_retry_kind {
	AWS_RETRY_NONE,	      /* do not retry */
	AWS_RETRY_THROTTLING, /* back off, then retry */
	AWS_RETRY_TRANSIENT,  /* 5xx, timeouts: retry */
	AWS_RETRY_CLOCK_SKEW, /* correct the clock offset, retry once */
};

/* An error reply as it came; the pointers are only read. */
struct aws_error_reply {
	enum aws_protocol protocol;
	int		  status; /* HTTP status */
	const void	 *body;	  /* may be NULL */
	size_t		  body_len;
	const char	 *error_type;  /* x-amzn-ErrorType, or NULL */
	const char	 *query_error; /* x-amzn-query-error, or NULL */
	const char	 *request_id;  /* x-amzn-RequestId or
						   x-amz-request-id, or NULL */
	time_t		  server_date; /* its Date header; 0: unknown */
	time_t		  now;	       /* the caller's clock; 0: unknown */
};

/* A classified error; the caller owns it and clears it. */
struct aws_error {
	int		    status;
	char		   *code;	/* never NULL: the HTTP status
						   ("404") when the reply has
						   no code */
	char		   *message;	/* never NULL, may be "" */
	char		   *request_id; /* NULL when the reply has none */
	enum aws_retry_kind retry;
	time_t		    skew; /* server_date - now, when both
						   are known; else 0 */
};

/*
 * Fills err from the reply.  Never fails: a body that cannot be read
 * (HTML from a proxy, truncated, empty) still gives the status as code
 * and says why in the message.
 */
void aws_error_parse(struct aws_error *, const struct aws_error_reply *);
void aws_error_clear(struct aws_error *);

/*
 * The retry decision on its own.  skewed says the reply's Date is more
 * than AWS_ERROR_SKEW_SECONDS from our clock.  message may be NULL.
 */
#define AWS_ERROR_SKEW_SECONDS 240
enum aws_retry_kind aws_error_classify(int status, const char *code,
    const char *message, int skewed);
/* "none", "throttling", "transient", "clock-skew". */
const char *aws_retry_kind_name(enum aws_retry_kind);

/*
 * "ThrottlingException: Rate exceeded (HTTP 400, request id 3b1f...)",
 * for logs and for the run's record; the caller frees it.
 */
char *aws_error_describe(const struct aws_error *);

#endif
