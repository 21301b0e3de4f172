/*
 * The AWS client: one signed call to one service, asynchronous on the
 * daemon's loop, with the SDKs' standard retry mode.  A call takes
 * credentials from a provider (refreshing them when needed), signs with
 * SigV4, sends through the HTTP transport, retries throttling, transient
 * and network failures with capped exponential backoff and full jitter,
 * corrects the clock once on a skew error, and hands back the reply or a
 * classified error naming the service, operation, AWS code, message and
 * request id.  Replies are not parsed here beyond error classification:
 * the svc-*.c modules read them.
 *
 * Calls: aws_client_call either fails synchronously (NULL, *cause set,
 * the callback never called) or calls the callback exactly once, from a
 * later loop iteration.
 */
#ifndef SHIPGATE_AWS_CLIENT_H
#define SHIPGATE_AWS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "aws-services.h"
#include "buf.h"
#include "http.h"

struct aws_creds;
struct aws_client;
struct aws_call;

/* Errors of a call (reply->error). */
#define AWS_OK	       0
#define AWS_ENETWORK   (-1) /* transport failed after every attempt */
#define AWS_ETIMEOUT   (-2)
#define AWS_ETLS       (-3)
#define AWS_EAWS       (-4) /* AWS answered with an error (code below) */
#define AWS_EHTTP      (-5) /* an HTTP error status without AWS's shape */
#define AWS_ECREDS     (-6) /* no credentials could be had */
#define AWS_ECANCELLED (-7)
#define AWS_ETOOLARGE  (-8)  /* reply body over the call's maximum */
#define AWS_EREPLY     (-9)  /* a reply the svc module could not read */
#define AWS_EINVAL     (-10) /* a bad request (synchronous only) */

const char *aws_strerror(int);

struct aws_client_options {
	const char *region;		/* default region */
	int	    max_attempts;	/* first try included; 0: 5 */
	long	    backoff_base_ms;	/* 0: 1000 (tests use less) */
	long	    backoff_max_ms;	/* 0: 20000 */
	long	    timeout_ms;		/* per attempt; 0: 60000 */
	long	    connect_timeout_ms; /* 0: 10000 */
	const char *ca_file;		/* extra CA (tests) or NULL */
	/* Endpoint overrides by service name ("s3" -> URL); may be NULL. */
	const char *(*endpoint_override)(const char *service, void *arg);
	void *endpoint_arg;
	/* The clock, for tests; NULL: the system's (unix ms). */
	int64_t (*now_ms)(void);
};

struct aws_request {
	const struct aws_service *service;
	const char		 *operation; /* "CreateChangeSet" */
	const char		 *region;    /* NULL: the client's */
	struct aws_creds	 *creds;     /* NULL: the client's */
	const char		 *method;    /* NULL: POST */
	const char		 *path;	     /* percent-encoded; NULL: "/" */
	const char		 *query;     /* encoded, without '?' */
	const char *const	 *headers;   /* "Name: value", NULL-ended */
	const void		 *body;
	size_t			  body_len;
	const char		 *content_type; /* NULL: the protocol's */
	size_t			  body_max;	/* reply; 0: 8 MiB */
	int			  no_retry;	/* one attempt only */
	/* Not idempotent (SES SendEmail): a 2xx status line means the
	   operation ran, so it ends the call as a success even when the
	   body is cut short, rather than another attempt running it
	   again.  The body is then what arrived. */
	int no_replay;
	/* The endpoint URL ("https://bucket.s3.eu-west-1.amazonaws.com"),
	   for S3's virtual-hosted buckets; NULL: the service's. */
	const char *endpoint;
	long	    timeout_ms; /* per attempt; 0: the client's
						   (SQS long polls need more) */
};

/* An AWS error as the service spelled it (empty strings when none). */
struct aws_error_info {
	char code[128];
	char message[1024];
	char request_id[128];
};

struct aws_reply {
	int			   error;   /* AWS_OK or AWS_E* */
	long			   status;  /* HTTP status, 0 if none */
	const struct http_headers *headers; /* valid in the callback */
	struct buf		  *body;    /* take with buf_take to keep */
	struct aws_error_info	   aws;	    /* with AWS_EAWS */
	/* "CloudFormation CreateChangeSet: ValidationError: Template
	   format error (request 4c1a...)"; valid in the callback. */
	const char *message;
	int	    attempts;
	const char *request_id; /* "" when unknown */
};

typedef void (*aws_reply_cb)(struct aws_reply *, void *arg);

struct aws_client *aws_client_new(uv_loop_t *, struct http_client *,
    struct aws_creds *default_creds, const struct aws_client_options *);
/* Cancels calls in flight (AWS_ECANCELLED) and frees the client. */
void	    aws_client_free(struct aws_client *);
uv_loop_t  *aws_client_loop(struct aws_client *);
const char *aws_client_region(const struct aws_client *);
/* The endpoint URL used for a service in a region (caller frees). */
char *aws_client_endpoint(const struct aws_client *, const struct aws_service *,
    const char *region);

struct aws_call *aws_client_call(struct aws_client *,
    const struct aws_request *, aws_reply_cb, void *arg, char **cause);
/* The callback comes later with AWS_ECANCELLED. */
void aws_call_cancel(struct aws_call *);

/* Counters by service and operation, for /metrics. */
struct aws_client_stat {
	const char *service;
	const char *operation;
	uint64_t    calls;	/* calls started */
	uint64_t    errors;	/* calls that ended in an error */
	uint64_t    retries;	/* extra attempts */
	uint64_t    throttled;	/* attempts refused by throttling */
	uint64_t    limited;	/* attempts held by the client-side limit */
	uint64_t    limited_ms; /* how long they were held, summed */
};
/* Fills up to n stats; returns how many exist. */
size_t aws_client_stats(const struct aws_client *, struct aws_client_stat *,
    size_t n);

/* Calls started and not yet retired. */
unsigned int aws_client_busy(const struct aws_client *);
/*
 * Adds from's counters to to's (a client that replaces another, on a
 * reload), so that /metrics' counters never go back.
 */
void aws_client_stats_add(struct aws_client *to, const struct aws_client *from);

/* Helpers for the svc-*.c modules. */

/* Query protocol: appends "&Name=value", value URI-encoded. */
void aws_query_add(struct buf *, const char *name, const char *value);
void aws_query_addf(struct buf *, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts a query-protocol body: "Action=X&Version=Y". */
void aws_query_init(struct buf *, const struct aws_service *,
    const char *action);

#endif
