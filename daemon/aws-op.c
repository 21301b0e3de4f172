/*
 * The operation engine under the svc-*.c modules and aws-sts.c: one
 * request (or a few joined), every page, one callback.  Written once so
 * that paging bounds, the repeated-token guard and the error messages
 * are the same for every service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "aws-sign.h"
#include "log.h"
#include "xmalloc.h"

struct aws_op {
	const struct aws_op_desc *desc;
	struct aws_client	 *client;
	struct aws_creds	 *creds;
	char			 *region;

	struct buf form; /* query: without NextToken */
	json_t	 **json; /* JSON: one per batch */
	size_t	   njson;
	size_t	   batch; /* the one being sent */

	/* REST (S3, SES). */
	char	  *method;
	char	  *endpoint;
	char	  *path;
	struct buf query; /* without the page's token */
	char	 **headers;
	size_t	   nheaders;
	char	  *payload;
	size_t	   payload_len;
	char	  *content_type;

	size_t reply_max;
	long   timeout_ms;
	int    no_replay;

	char		*next_token;
	int		 pages;
	void		*params;
	void		*result;
	aws_op_fn	 cb;
	void		*arg;
	struct aws_call *call; /* the one in flight */
};

static int aws_op_send(struct aws_op *, char **);

struct aws_op *
aws_op_new(const struct aws_op_desc *desc, struct aws_client *client,
    struct aws_creds *creds, const char *region)
{
	struct aws_op *op;

	op = xcalloc(1, sizeof *op);
	op->desc = desc;
	op->client = client;
	op->creds = creds;
	op->region = region != NULL ? xstrdup(region) : NULL;
	buf_init(&op->form, AWS_OP_FORM_MAX);
	buf_init(&op->query, AWS_OP_FORM_MAX);
	switch (desc->service->protocol) {
	case AWS_PROTOCOL_QUERY:
		aws_query_init(&op->form, desc->service, desc->action);
		break;
	case AWS_PROTOCOL_JSON:
		aws_op_json_batch(op);
		break;
	case AWS_PROTOCOL_REST_XML:
	case AWS_PROTOCOL_REST_JSON:
		break;
	}
	return (op);
}

void
aws_op_free(struct aws_op *op)
{
	size_t i;

	if (op == NULL)
		return;
	if (op->result != NULL && op->desc->result->free != NULL)
		op->desc->result->free(op->result);
	for (i = 0; i < op->njson; i++)
		json_decref(op->json[i]);
	free(op->json);
	if (op->desc->secret) {
		buf_free_secret(&op->form);
		if (op->payload != NULL)
			explicit_bzero(op->payload, op->payload_len);
	} else
		buf_free(&op->form);
	buf_free(&op->query);
	for (i = 0; i < op->nheaders; i++)
		free(op->headers[i]);
	free(op->headers);
	free(op->payload);
	free(op->content_type);
	free(op->method);
	free(op->endpoint);
	free(op->path);
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

void
aws_op_rest(struct aws_op *op, const char *method, const char *endpoint,
    const char *path)
{
	free(op->method);
	free(op->endpoint);
	free(op->path);
	op->method = method != NULL ? xstrdup(method) : NULL;
	op->endpoint = endpoint != NULL ? xstrdup(endpoint) : NULL;
	op->path = path != NULL ? xstrdup(path) : NULL;
}

struct buf *
aws_op_query(struct aws_op *op)
{
	return (&op->query);
}

void
aws_op_header(struct aws_op *op, const char *line)
{
	op->headers = xreallocarray(op->headers, op->nheaders + 1,
	    sizeof *op->headers);
	op->headers[op->nheaders++] = xstrdup(line);
}

void
aws_op_payload(struct aws_op *op, const void *data, size_t len,
    const char *content_type)
{
	free(op->payload);
	free(op->content_type);
	op->payload = xmalloc(len + 1);
	if (len > 0)
		memcpy(op->payload, data, len);
	op->payload[len] = '\0';
	op->payload_len = len;
	op->content_type = content_type != NULL ? xstrdup(content_type) : NULL;
}

void
aws_op_limits(struct aws_op *op, size_t reply_max, long timeout_ms)
{
	op->reply_max = reply_max;
	op->timeout_ms = timeout_ms;
}

void
aws_op_no_replay(struct aws_op *op)
{
	op->no_replay = 1;
}

static void
aws_op_deliver_done(aws_op_fn cb, const struct aws_reply *reply, void *result,
    void *arg)
{
	(void)result;
	((aws_op_done_cb)cb)(reply, arg);
}

const struct aws_op_result aws_op_done_result = { NULL, 0, NULL,
	aws_op_deliver_done, NULL, NULL };

static void
aws_op_finish(struct aws_op *op, const struct aws_reply *reply)
{
	void *result = NULL;

	if (reply->error == AWS_OK) {
		result = op->result;
		op->result = NULL;
		log_debug(LOG_CAT_AWS,
		    "aws operation done service=%s op=%s "
		    "pages=%d",
		    op->desc->service->name, op->desc->action, op->pages);
	}
	op->desc->result->deliver(op->cb, reply, result, op->arg);
}

/* An error of the client's, rewritten by the result's hook if any. */
static void
aws_op_finish_error(struct aws_op *op, struct aws_reply *reply)
{
	struct aws_reply r;
	char		*message = NULL;

	if (op->desc->result->error == NULL) {
		aws_op_finish(op, reply);
		return;
	}
	r = *reply;
	op->desc->result->error(op->params, &r, &message);
	aws_op_finish(op, &r);
	free(message);
}

/* A failure of ours (an unreadable reply, a next page that would not
   start) reported as a reply. */
static void
aws_op_fail(struct aws_op *op, const struct aws_reply *last, int error,
    const char *what)
{
	struct aws_reply r;
	char		*message;

	memset(&r, 0, sizeof r);
	r.request_id = "";
	if (last != NULL) {
		r.status = last->status;
		r.attempts = last->attempts;
		r.request_id = last->request_id;
	}
	r.error = error;
	if (what == NULL)
		what = "bad reply";
	/* A bound passed is named by the cause alone ("more than 5
	   objects"): the reply itself was not too large. */
	if (error == AWS_ETOOLARGE)
		message = xasprintf("%s %s: %s (request %s)",
		    op->desc->service->title, op->desc->action, what,
		    *r.request_id != '\0' ? r.request_id : "unknown");
	else
		message = xasprintf("%s %s: %s: %s (request %s)",
		    op->desc->service->title, op->desc->action,
		    aws_strerror(error), what,
		    *r.request_id != '\0' ? r.request_id : "unknown");
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

/* A secret operation's reply, wiped once read (error replies too). */
static void
aws_op_wipe(struct aws_op *op, struct aws_reply *reply)
{
	if (op->desc->secret && reply->body != NULL &&
	    reply->body->data != NULL)
		explicit_bzero(reply->body->data, reply->body->len);
}

static void
aws_op_reply_cb(struct aws_reply *reply, void *arg)
{
	struct aws_op		   *op = arg;
	const struct aws_op_desc   *d = op->desc;
	const struct aws_op_result *res = d->result;
	char			   *next = NULL, *cause = NULL;
	int			    rc, error;

	if (reply->error != AWS_OK) {
		aws_op_finish_error(op, reply);
		goto done;
	}
	op->pages++;
	if (res->parse != NULL || res->read != NULL) {
		if (op->result == NULL && res->size != 0)
			op->result = xcalloc(1, res->size);
		if (res->read != NULL)
			rc = res->read(op->result, op->params, reply, &cause);
		else
			rc = res->parse(op->result, op->params,
			    reply->body->data, reply->body->len, &next, &cause);
		aws_op_wipe(op, reply);
		if (rc != 0) {
			aws_op_fail(op, reply,
			    rc == -2 ? AWS_ETOOLARGE : AWS_EREPLY, cause);
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
	aws_op_wipe(op, reply);
	free(next);
	free(cause);
	aws_op_free(op);
}

/* The query form with the page's token, or the batch's JSON; for REST,
   the URL's query with the page's token (the body is the payload). */
static int
aws_op_body(struct aws_op *op, struct buf *body, char **cause)
{
	const struct aws_op_desc *d = op->desc;
	json_t			 *o;
	char			 *s;

	if (d->service->protocol == AWS_PROTOCOL_REST_XML ||
	    d->service->protocol == AWS_PROTOCOL_REST_JSON) {
		if (op->next_token != NULL) {
			buf_printf(body, "%s=", d->next_token);
			aws_sign_uri_encode_buf(body, op->next_token,
			    strlen(op->next_token), 0);
			if (op->query.len > 0)
				buf_appends(body, "&");
		}
		if (op->query.len > 0)
			buf_append(body, op->query.data, op->query.len);
		if (op->query.len >= AWS_OP_FORM_MAX ||
		    body->len >= AWS_OP_FORM_MAX) {
			*cause = xasprintf("%s %s: the request is too large",
			    d->service->title, d->action);
			return (-1);
		}
		return (0);
	}
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
				   "UTF-8?)",
		    d->service->title, d->action);
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
	const struct aws_service *service = op->desc->service;
	struct aws_request	  req;
	struct buf		  body;
	const char		**headers = NULL;
	size_t			  i;
	int			  rc = -1;

	buf_init(&body, AWS_OP_FORM_MAX);
	if (aws_op_body(op, &body, cause) != 0)
		goto out;
	memset(&req, 0, sizeof req);
	req.service = service;
	req.operation = op->desc->action;
	req.region = op->region;
	req.creds = op->creds;
	req.body_max = op->reply_max;
	req.timeout_ms = op->timeout_ms;
	req.no_replay = op->no_replay;
	if (service->protocol == AWS_PROTOCOL_REST_XML ||
	    service->protocol == AWS_PROTOCOL_REST_JSON) {
		req.method = op->method;
		req.endpoint = op->endpoint;
		req.path = op->path;
		req.query = body.len > 0 ? body.data : NULL;
		req.body = op->payload;
		req.body_len = op->payload_len;
		req.content_type = op->content_type;
		if (op->nheaders > 0) {
			headers = xcalloc(op->nheaders + 1, sizeof *headers);
			for (i = 0; i < op->nheaders; i++)
				headers[i] = op->headers[i];
			req.headers = headers;
		}
	} else {
		req.body = body.data;
		req.body_len = body.len;
	}
	if ((op->call = aws_client_call(op->client, &req, aws_op_reply_cb, op,
		 cause)) == NULL)
		goto out;
	rc = 0;
out:
	free(headers);
	if (op->desc->secret)
		buf_free_secret(&body);
	else
		buf_free(&body);
	return (rc);
}

struct aws_op *
aws_op_start(struct aws_op *op, aws_op_fn cb, void *arg, char **cause)
{
	char *c = NULL;

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
