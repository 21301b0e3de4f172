/*
 * One AWS operation: the request built once, every page read (NextToken
 * or nextToken followed, a bounded number of times), several requests
 * joined when one call cannot take every input (ECS' ten services), and
 * one typed result handed to the caller's callback.  Retries,
 * throttling and signing are aws-client's; this is the layer above it
 * that the svc-*.c modules share, so that each of them is a table of
 * operations and pure reply parsers.
 *
 * An operation is a constant struct aws_op_desc (one row per AWS action,
 * in its svc-*.c) and a call: aws_op_new, the request's members added to
 * aws_op_form (query protocol) or aws_op_json (JSON protocols), then
 * aws_op_start.  aws_op_start either fails synchronously (NULL, *cause
 * set, the op freed, the callback never called) or returns the op and
 * calls the callback exactly once, from a later loop iteration, with the
 * last call's reply and, on success only, the result (the callback owns
 * it).  Until the callback the op may be cancelled (aws_op_cancel: the
 * callback comes with AWS_ECANCELLED); the op is freed after it.
 *
 * Every start function of the svc-*.c modules has this convention: it
 * returns its call's handle (struct aws_op for operations on this
 * engine, struct aws_call for the single calls S3, SQS, STS and SES
 * still make themselves), or NULL and *cause.
 * A reply the parser refuses gives AWS_EREPLY with a message naming the
 * service, the action and what was wrong.
 */
#ifndef SHIPGATE_AWS_OP_H
#define SHIPGATE_AWS_OP_H

#include <stddef.h>

#include <jansson.h>

#include "aws-client.h"
#include "buf.h"

struct aws_op;

/* Pages followed at most, for any paginated read. */
#define AWS_OP_PAGES_MAX	1000
/* A query-protocol form (an encoded 51,200-byte template and the rest). */
#define AWS_OP_FORM_MAX		(1024 * 1024)

/*
 * A pure reader of one reply page: adds what the page holds to result
 * and sets *next (caller frees; NULL on the last page or when the
 * operation has no pages).  0, or -1 and *cause.
 */
typedef int	(*aws_op_parse_fn)(void *result, const void *, size_t,
		    char **next, char **cause);
/* The caller's callback, stored untyped and given back to deliver. */
typedef void	(*aws_op_fn)(void);
/* Calls the callback with its own type: (reply, result, arg) for ops
   with a result, (reply, arg) for the others. */
typedef void	(*aws_op_deliver_fn)(aws_op_fn, const struct aws_reply *,
		    void *result, void *arg);
/* After each page: nonzero stops reading (a bound was reached). */
typedef int	(*aws_op_page_done_fn)(void *result, const void *params,
		    const char *next);

/* A result type: how a reply becomes it and how the caller gets it. */
struct aws_op_result {
	aws_op_parse_fn		 parse;		/* NULL: nothing to read */
	size_t			 size;		/* zeroed before page one */
	void			(*free)(void *);
	aws_op_deliver_fn	 deliver;
};

/* One row of a service's operation table. */
struct aws_op_desc {
	const struct aws_service *service;
	const char		*action;	/* "DescribeStacks" */
	const struct aws_op_result *result;
	/* The request member that asks for the next page ("NextToken",
	   "nextToken"); NULL: the action has no pages. */
	const char		*next_token;
	aws_op_page_done_fn	 page_done;	/* NULL: read every page */
	int			 secret;	/* wipe each reply's body */
};

/*
 * A result type, NAME_result, with its glue as static functions
 * (NAME_parse_op, NAME_free_op, NAME_deliver) calling the module's
 * typed parser, free function and callback.  AWS_OP_RESULT takes a
 * paged parser (with a next token), AWS_OP_RESULT_ONE a parser of a
 * single reply.
 */
#define AWS_OP_GLUE(name, type, release, cbtype)			\
static void								\
name##_free_op(void *r)							\
{									\
	release((type *)r);						\
}									\
static void								\
name##_deliver(aws_op_fn cb, const struct aws_reply *reply, void *r,	\
    void *arg)								\
{									\
	((cbtype)cb)(reply, (type *)r, arg);				\
}									\
static const struct aws_op_result name##_result = {			\
	name##_parse_op, sizeof (type), name##_free_op, name##_deliver	\
};
#define AWS_OP_RESULT(name, type, parse, release, cbtype)		\
static int								\
name##_parse_op(void *r, const void *d, size_t l, char **n, char **c)	\
{									\
	return (parse((type *)r, d, l, n, c));				\
}									\
AWS_OP_GLUE(name, type, release, cbtype)
#define AWS_OP_RESULT_ONE(name, type, parse, release, cbtype)		\
static int								\
name##_parse_op(void *r, const void *d, size_t l, char **n, char **c)	\
{									\
	*n = NULL;							\
	return (parse((type *)r, d, l, c));				\
}									\
AWS_OP_GLUE(name, type, release, cbtype)

struct aws_op	*aws_op_new(const struct aws_op_desc *, struct aws_client *,
		    struct aws_creds *, const char *region);
/* Frees an op that was not started (a request that could not be built). */
void		 aws_op_free(struct aws_op *);
/* The query form after Action and Version. */
struct buf	*aws_op_form(struct aws_op *);
/* The JSON request object (of the last batch). */
json_t		*aws_op_json(struct aws_op *);
/* One more JSON request, sent after the previous one's last page; the
   results of all are joined in order.  Returns the new object. */
json_t		*aws_op_json_batch(struct aws_op *);
/* Parameters the page_done hook reads (copied). */
void		 aws_op_params(struct aws_op *, const void *, size_t);
struct aws_op	*aws_op_start(struct aws_op *, aws_op_fn, void *arg,
		    char **cause);
void		 aws_op_cancel(struct aws_op *);

#endif
