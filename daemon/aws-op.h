/*
 * One AWS operation: the request built once, every page read (NextToken,
 * nextToken or S3's continuation-token followed, a bounded number of
 * times), several requests joined when one call cannot take every input
 * (ECS' ten services), and one typed result handed to the caller's
 * callback.  Retries, throttling and signing are aws-client's; this is
 * the layer above it that every svc-*.c module and aws-sts.c share, so
 * that each of them is a table of operations and pure reply parsers.
 *
 * An operation is a constant struct aws_op_desc (one row per AWS action,
 * in its svc-*.c) and a call: aws_op_new, the request's members added to
 * aws_op_form (query protocol), aws_op_json (JSON protocols) or, for the
 * REST protocols (S3, SES), aws_op_rest and aws_op_query, aws_op_header,
 * aws_op_payload; then aws_op_start.  aws_op_start either fails
 * synchronously (NULL, *cause set, the op freed, the callback never
 * called) or returns the op and calls the callback exactly once, from a
 * later loop iteration, with the last call's reply and, on success only,
 * the result (the callback owns it).  Until the callback the op may be
 * cancelled (aws_op_cancel: the callback comes with AWS_ECANCELLED); the
 * op is freed after it.
 *
 * Every start function of the svc-*.c modules and aws-sts.c has this
 * convention: it returns its operation's handle, a struct aws_op, or
 * NULL and *cause.
 * A reply the parser refuses gives AWS_EREPLY with a message naming the
 * service, the action and what was wrong.
 *
 * Each row also says what a least-privilege IAM policy must grant for
 * it (struct aws_grant): `shipgated --list-operations` prints them all.
 */
#ifndef SHIPGATE_AWS_OP_H
#define SHIPGATE_AWS_OP_H

#include <stddef.h>

#include <jansson.h>

#include "aws-client.h"
#include "buf.h"

struct aws_op;

/* Pages followed at most, for any paginated read. */
#define AWS_OP_PAGES_MAX 1000
/* A query-protocol form (an encoded 51,200-byte template and the rest). */
#define AWS_OP_FORM_MAX (1024 * 1024)

/*
 * A pure reader of one reply page: adds what the page holds to result
 * and sets *next (caller frees; NULL on the last page or when the
 * operation has no pages).  params are the call's (aws_op_params), or
 * NULL.  0, or -1 and *cause (AWS_EREPLY), or -2 and *cause when a bound
 * of the call was passed (AWS_ETOOLARGE; the cause names the bound).
 */
typedef int (*aws_op_parse_fn)(void *result, const void *params, const void *,
    size_t, char **next, char **cause);
/*
 * A reader of a whole reply instead of its bytes, for replies that are
 * headers (S3's objects) or whose body is taken as it is (buf_take):
 * returns as aws_op_parse_fn.
 */
typedef int (*aws_op_read_fn)(void *result, const void *params,
    struct aws_reply *, char			      **cause);
/*
 * Rewrites an error reply of the client before the callback (S3's HEAD
 * has no body to name its error by): may change the copy's error, code
 * and message; a message it allocates goes in *message (freed after the
 * callback).
 */
typedef void (
    *aws_op_error_fn)(const void *params, struct aws_reply *, char **message);
/* The caller's callback, stored untyped and given back to deliver. */
typedef void (*aws_op_fn)(void);
/* Calls the callback with its own type: (reply, result, arg) for ops
   with a result, (reply, arg) for the others. */
typedef void (*aws_op_deliver_fn)(aws_op_fn, const struct aws_reply *,
    void *result, void *arg);
/* After each page: nonzero stops reading (a bound was reached). */
typedef int (
    *aws_op_page_done_fn)(void *result, const void *params, const char *next);

/* A result type: how a reply becomes it and how the caller gets it. */
struct aws_op_result {
	aws_op_parse_fn parse; /* NULL: read, or nothing */
	size_t		size;  /* zeroed before page one */
	void (*free)(void *);
	aws_op_deliver_fn deliver;
	aws_op_read_fn	  read;	 /* instead of parse, or NULL */
	aws_op_error_fn	  error; /* NULL: errors as they come */
};

/*
 * The accounts whose permissions a call needs (the credentials it is
 * signed with): where shipgated runs, an environment's (through the
 * role it assumes there), or the account of an ECR registry images are
 * read from or copied to (reached through the role of the environment
 * in that account, else with the host's credentials).
 */
#define AWS_ACCOUNT_TOOLS	0x1
#define AWS_ACCOUNT_ENVIRONMENT 0x2
#define AWS_ACCOUNT_REGISTRY	0x4

/*
 * What a least-privilege IAM policy grants for one call: the IAM action
 * ("cloudformation:CreateChangeSet", "s3:ListBucket" for ListObjectsV2),
 * the accounts (AWS_ACCOUNT_*, one or more) and the kind of resource it
 * touches, one of "stack", "change-set", "service", "bucket", "object",
 * "queue", "repository", "role", "identity" or "*" (an action IAM grants
 * on no particular resource).  Contract: man shipgated(8),
 * --list-operations.
 */
struct aws_grant {
	const char  *action;
	unsigned int accounts;
	const char  *resource;
};

/* One row of a service's operation table. */
struct aws_op_desc {
	const struct aws_service   *service;
	const char		   *action; /* "DescribeStacks" */
	const struct aws_op_result *result;
	/* The request member that asks for the next page ("NextToken",
	   "nextToken"; a query parameter for REST: "continuation-token");
	   NULL: the action has no pages. */
	const char	   *next_token;
	aws_op_page_done_fn page_done; /* NULL: read every page */
	/* The request and each reply hold secrets: wiped once used. */
	int		 secret;
	struct aws_grant grant;
};

/*
 * A result type, NAME_result, with its glue as static functions
 * (NAME_parse_op, NAME_free_op, NAME_deliver) calling the module's
 * typed parser, free function and callback.  AWS_OP_RESULT takes a
 * paged parser (with a next token), AWS_OP_RESULT_ONE a parser of a
 * single reply, AWS_OP_RESULT_READ a reader of the whole reply (an
 * aws_op_read_fn) and an error hook (or NULL).
 */
#define AWS_OP_GLUE(name, type, release, cbtype)               \
	static void name##_free_op(void *r)                    \
	{                                                      \
		release((type *)r);                            \
	}                                                      \
	static void name##_deliver(aws_op_fn cb,               \
	    const struct aws_reply *reply, void *r, void *arg) \
	{                                                      \
		((cbtype)cb)(reply, (type *)r, arg);           \
	}
#define AWS_OP_RESULT(name, type, parse, release, cbtype)                    \
	static int name##_parse_op(void *r, const void *p, const void *d,    \
	    size_t l, char **n, char **c)                                    \
	{                                                                    \
		(void)p;                                                     \
		return (parse((type *)r, d, l, n, c));                       \
	}                                                                    \
	AWS_OP_GLUE(name, type, release, cbtype)                             \
	static const struct aws_op_result name##_result = { name##_parse_op, \
		sizeof(type), name##_free_op, name##_deliver, NULL, NULL };
#define AWS_OP_RESULT_ONE(name, type, parse, release, cbtype)                \
	static int name##_parse_op(void *r, const void *p, const void *d,    \
	    size_t l, char **n, char **c)                                    \
	{                                                                    \
		(void)p;                                                     \
		*n = NULL;                                                   \
		return (parse((type *)r, d, l, c));                          \
	}                                                                    \
	AWS_OP_GLUE(name, type, release, cbtype)                             \
	static const struct aws_op_result name##_result = { name##_parse_op, \
		sizeof(type), name##_free_op, name##_deliver, NULL, NULL };
#define AWS_OP_RESULT_READ(name, type, read, error, release, cbtype) \
	AWS_OP_GLUE(name, type, release, cbtype)                     \
	static const struct aws_op_result name##_result = { NULL,    \
		sizeof(type), name##_free_op, name##_deliver, read, error };

struct aws_op *aws_op_new(const struct aws_op_desc *, struct aws_client *,
    struct aws_creds *, const char *region);
/* Frees an op that was not started (a request that could not be built). */
void aws_op_free(struct aws_op *);
/* The query form after Action and Version. */
struct buf *aws_op_form(struct aws_op *);
/* The JSON request object (of the last batch). */
json_t *aws_op_json(struct aws_op *);
/* One more JSON request, sent after the previous one's last page; the
   results of all are joined in order.  Returns the new object. */
json_t *aws_op_json_batch(struct aws_op *);
/* Parameters the parser and the hooks read (copied, flat). */
void aws_op_params(struct aws_op *, const void *, size_t);
/*
 * REST protocols: the method (NULL: POST), the endpoint URL (NULL: the
 * service's; S3's virtual-hosted buckets) and the encoded path.
 */
void aws_op_rest(struct aws_op *, const char *method, const char *endpoint,
    const char *path);
/* The encoded query, without '?' nor the page's token. */
struct buf *aws_op_query(struct aws_op *);
/* A request header, "Name: value" (copied). */
void aws_op_header(struct aws_op *, const char *);
/* The request body of a REST call (copied); content_type NULL: the
   protocol's. */
void aws_op_payload(struct aws_op *, const void *, size_t,
    const char *content_type);
/* The most a reply may hold (0: aws-client's 8 MiB) and the time an
   attempt may take (0: the client's). */
void aws_op_limits(struct aws_op *, size_t reply_max, long timeout_ms);
/* Not idempotent (SES SendEmail): a 2xx status ends the call as done even
   when the body is cut short, never another attempt (aws-client.h). */
void aws_op_no_replay(struct aws_op *);
/* The callback of operations without a result: the reply alone. */
typedef void (*aws_op_done_cb)(const struct aws_reply *, void *arg);
extern const struct aws_op_result aws_op_done_result;
struct aws_op *aws_op_start(struct aws_op *, aws_op_fn, void *arg,
    char **cause);
void	       aws_op_cancel(struct aws_op *);

#endif
