/*
 * The operation engine under the svc-*.c modules: one request (or a few
 * joined), every page, one callback.  Written once so that paging
 * bounds, the repeated-token guard and the error messages are the same
 * for every service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "log.h"
#include "xmalloc.h"

struct aws_op {
	const struct aws_op_desc *desc;
	struct aws_client	*client;
	struct aws_creds	*creds;
	char			*region;

	struct buf		 form;		/* query: without NextToken */
	json_t			**json;		/* JSON: one per batch */
	size_t			 njson;
	size_t			 batch;		/* the one being sent */

	char			*next_token;
	int			 pages;
	void			*params;
	void			*result;
	aws_op_fn		 cb;
	void			*arg;
	struct aws_call		*call;		/* the one in flight */
};

static int	aws_op_send(struct aws_op *, char **);

struct aws_op *
aws_op_new(const struct aws_op_desc *desc, struct aws_client *client,
    struct aws_creds *creds, const char *region)
{
	struct aws_op	*op;

	op = xcalloc(1, sizeof *op);
	op->desc = desc;
	op->client = client;
	op->creds = creds;
	op->region = region != NULL ? xstrdup(region) : NULL;
	buf_init(&op->form, AWS_OP_FORM_MAX);
	if (desc->service->protocol == AWS_PROTOCOL_QUERY)
		aws_query_init(&op->form, desc->service, desc->action);
	else
		aws_op_json_batch(op);
	return (op);
}

void
aws_op_free(struct aws_op *op)
{
	size_t	i;

	if (op == NULL)
		return;
	if (op->result != NULL && op->desc->result->free != NULL)
		op->desc->result->free(op->result);
	for (i = 0; i < op->njson; i++)
		json_decref(op->json[i]);
	free(op->json);
	buf_free(&op->form);
	free(op->next_token);
	free(op->params);
	free(op->region);
	free(op);
}

struct buf *
aws_op_form(struct aws_op *op)
{
	return (&op->form);
}

json_t *
aws_op_json(struct aws_op *op)
{
	if (op->njson == 0)
		return (NULL);
	return (op->json[op->njson - 1]);
}

json_t *
aws_op_json_batch(struct aws_op *op)
{
	op->json = xreallocarray(op->json, op->njson + 1, sizeof *op->json);
	op->json[op->njson] = json_object();
	return (op->json[op->njson++]);
}

void
aws_op_params(struct aws_op *op, const void *params, size_t len)
{
	free(op->params);
	op->params = xmalloc(len);
	memcpy(op->params, params, len);
}

static void
aws_op_finish(struct aws_op *op, const struct aws_reply *reply)
{
	void	*result = NULL;

	if (reply->error == AWS_OK) {
		result = op->result;
		op->result = NULL;
	}
	op->desc->result->deliver(op->cb, reply, result, op->arg);
}

/* A failure of ours (an unreadable reply, a next page that would not
   start) reported as a reply. */
static void
aws_op_fail(struct aws_op *op, const struct aws_reply *last, int error,
    const char *what)
{
	struct aws_reply	 r;
	char			*message;

	memset(&r, 0, sizeof r);
	r.request_id = "";
	if (last != NULL) {
		r.status = last->status;
		r.attempts = last->attempts;
		r.request_id = last->request_id;
	}
	r.error = error;
	message = xasprintf("%s %s: %s: %s (request %s)",
	    op->desc->service->title, op->desc->action, aws_strerror(error),
	    what, *r.request_id != '\0' ? r.request_id : "unknown");
	r.message = message;
	log_debug(LOG_CAT_AWS, "aws operation failed service=%s op=%s: %s",
	    op->desc->service->name, op->desc->action, message);
	aws_op_finish(op, &r);
	free(message);
}

/* What comes after a page: 1 when a request was sent, 0 when the
   operation is complete, -1 and *cause (and *error) on failure. */
static int
aws_op_next(struct aws_op *op, char *next, int *error, char **cause)
{
	*error = AWS_EREPLY;
	if (next != NULL) {
		if (op->next_token != NULL &&
		    strcmp(op->next_token, next) == 0) {
			*cause = xasprintf("%s repeats itself",
			    op->desc->next_token);
			free(next);
			return (-1);
		}
		if (op->pages >= AWS_OP_PAGES_MAX) {
			*cause = xstrdup("too many pages");
			free(next);
			return (-1);
		}
		free(op->next_token);
		op->next_token = next;
	} else if (op->batch + 1 < op->njson) {
		free(op->next_token);
		op->next_token = NULL;
		op->batch++;
	} else
		return (0);
	if (aws_op_send(op, cause) != 0) {
		*error = AWS_ECANCELLED;
		return (-1);
	}
	return (1);
}

static void
aws_op_reply_cb(struct aws_reply *reply, void *arg)
{
	struct aws_op			*op = arg;
	const struct aws_op_desc	*d = op->desc;
	const struct aws_op_result	*res = d->result;
	char				*next = NULL, *cause = NULL;
	int				 rc, error;

	if (reply->error != AWS_OK) {
		aws_op_finish(op, reply);
		goto done;
	}
	op->pages++;
	if (res->parse != NULL) {
		if (op->result == NULL && res->size != 0)
			op->result = xcalloc(1, res->size);
		rc = res->parse(op->result, reply->body->data, reply->body->len,
		    &next, &cause);
		if (d->secret && reply->body->data != NULL)
			explicit_bzero(reply->body->data, reply->body->len);
		if (rc != 0) {
			aws_op_fail(op, reply, AWS_EREPLY, cause);
			goto done;
		}
	}
	if (d->next_token == NULL) {
		free(next);
		next = NULL;
	}
	if (d->page_done != NULL &&
	    d->page_done(op->result, op->params, next)) {
		aws_op_finish(op, reply);
		goto done;
	}
	rc = aws_op_next(op, next, &error, &cause);
	next = NULL;
	if (rc == 1) {
		free(cause);
		return;
	}
	if (rc == -1)
		aws_op_fail(op, reply, error, cause);
	else
		aws_op_finish(op, reply);
done:
	free(next);
	free(cause);
	aws_op_free(op);
}

/* The query form with the page's token, or the batch's JSON. */
static int
aws_op_body(struct aws_op *op, struct buf *body, char **cause)
{
	const struct aws_op_desc	*d = op->desc;
	json_t				*o;
	char				*s;

	if (d->service->protocol == AWS_PROTOCOL_QUERY) {
		buf_append(body, op->form.data, op->form.len);
		if (op->next_token != NULL)
			aws_query_add(body, d->next_token, op->next_token);
		if (op->form.len >= AWS_OP_FORM_MAX ||
		    body->len >= AWS_OP_FORM_MAX) {
			*cause = xasprintf("%s %s: the request is too large",
			    d->service->title, d->action);
			return (-1);
		}
		return (0);
	}
	o = op->json[op->batch];
	if (op->next_token != NULL)
		json_object_set_new(o, d->next_token,
		    json_string(op->next_token));
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL) {
		*cause = xasprintf("%s %s: cannot encode the request (not "
		    "UTF-8?)", d->service->title, d->action);
		return (-1);
	}
	if (buf_appends(body, s) != 0) {
		*cause = xasprintf("%s %s: the request is too large",
		    d->service->title, d->action);
		free(s);
		return (-1);
	}
	free(s);
	return (0);
}

static int
aws_op_send(struct aws_op *op, char **cause)
{
	struct aws_request	 req;
	struct buf		 body;
	int			 rc = -1;

	buf_init(&body, AWS_OP_FORM_MAX);
	if (aws_op_body(op, &body, cause) != 0)
		goto out;
	memset(&req, 0, sizeof req);
	req.service = op->desc->service;
	req.operation = op->desc->action;
	req.region = op->region;
	req.creds = op->creds;
	req.body = body.data;
	req.body_len = body.len;
	if ((op->call = aws_client_call(op->client, &req, aws_op_reply_cb, op,
	    cause)) == NULL)
		goto out;
	rc = 0;
out:
	buf_free(&body);
	return (rc);
}

struct aws_op *
aws_op_start(struct aws_op *op, aws_op_fn cb, void *arg, char **cause)
{
	char	*c = NULL;

	op->cb = cb;
	op->arg = arg;
	if (aws_op_send(op, &c) != 0) {
		*cause = c;
		aws_op_free(op);
		return (NULL);
	}
	return (op);
}

/* A page in flight is cancelled: its callback ends the operation. */
void
aws_op_cancel(struct aws_op *op)
{
	aws_call_cancel(op->call);
}
