/*
 * ECS: DescribeServices (ten services a call, joined) and
 * DescribeTaskDefinition, as JSON 1.1 requests and typed replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "log.h"
#include "svc-ecs.h"
#include "xmalloc.h"

/* An optional string field, copied (NULL when absent). */
#define ECS_STR(doc, dst, ...) do {					\
	const char	*s_ = NULL;					\
	json_str_opt((doc), &s_, __VA_ARGS__);			\
	(dst) = s_ != NULL ? xstrdup(s_) : NULL;			\
} while (0)

/* A required string field: recorded as an error when absent. */
#define ECS_STR_REQ(doc, dst, ...) do {					\
	const char	*s_ = NULL;					\
	if (json_str((doc), &s_, __VA_ARGS__) == 0)			\
		(dst) = xstrdup(s_);					\
} while (0)

struct ecs_op;
typedef int	(*ecs_parse_fn)(struct ecs_op *, const void *, size_t,
		    char **cause);
typedef void	(*ecs_finish_fn)(struct ecs_op *, const struct aws_reply *);

struct ecs_op {
	struct aws_client	*client;
	struct aws_creds	*creds;
	char			*region;
	const char		*operation;
	char			*body;		/* single calls */

	char			*cluster;	/* DescribeServices batches */
	char			**services;
	size_t			 nservices;
	size_t			 next;		/* first of the next batch */

	ecs_parse_fn		 parse;
	ecs_finish_fn		 finish;
	void			*result;
	void			(*result_free)(void *);
	union {
		ecs_service_list_cb	 services;
		ecs_task_definition_cb	 task_definition;
	} cb;
	void			*arg;
};

static int	ecs_op_send(struct ecs_op *, char **);

/* Readers. */

static void
ecs_parse_deployment(struct json *doc, struct ecs_deployment *d,
    size_t i, size_t j)
{
	ECS_STR_REQ(doc, d->id, "services[%zu].deployments[%zu].id", i, j);
	ECS_STR_REQ(doc, d->status, "services[%zu].deployments[%zu].status", i,
	    j);
	ECS_STR(doc, d->task_definition,
	    "services[%zu].deployments[%zu].taskDefinition", i, j);
	ECS_STR(doc, d->rollout_state,
	    "services[%zu].deployments[%zu].rolloutState", i, j);
	ECS_STR(doc, d->rollout_state_reason,
	    "services[%zu].deployments[%zu].rolloutStateReason", i, j);
	json_int_opt(doc, &d->desired,
	    "services[%zu].deployments[%zu].desiredCount", i, j);
	json_int_opt(doc, &d->running,
	    "services[%zu].deployments[%zu].runningCount", i, j);
	json_int_opt(doc, &d->pending,
	    "services[%zu].deployments[%zu].pendingCount", i, j);
	json_int_opt(doc, &d->failed_tasks,
	    "services[%zu].deployments[%zu].failedTasks", i, j);
	json_time_opt(doc, &d->created,
	    "services[%zu].deployments[%zu].createdAt", i, j);
	json_time_opt(doc, &d->updated,
	    "services[%zu].deployments[%zu].updatedAt", i, j);
}

static void
ecs_parse_service(struct json *doc, struct ecs_service *s, size_t i)
{
	size_t	n, j;

	ECS_STR_REQ(doc, s->name, "services[%zu].serviceName", i);
	ECS_STR_REQ(doc, s->status, "services[%zu].status", i);
	ECS_STR(doc, s->arn, "services[%zu].serviceArn", i);
	ECS_STR(doc, s->cluster_arn, "services[%zu].clusterArn", i);
	ECS_STR(doc, s->task_definition, "services[%zu].taskDefinition", i);
	ECS_STR(doc, s->launch_type, "services[%zu].launchType", i);
	json_int_opt(doc, &s->desired, "services[%zu].desiredCount", i);
	json_int_opt(doc, &s->running, "services[%zu].runningCount", i);
	json_int_opt(doc, &s->pending, "services[%zu].pendingCount", i);
	json_time_opt(doc, &s->created, "services[%zu].createdAt", i);
	json_bool_opt(doc, &s->circuit_breaker, "services[%zu]."
	    "deploymentConfiguration.deploymentCircuitBreaker.enable", i);
	json_bool_opt(doc, &s->circuit_breaker_rollback, "services[%zu]."
	    "deploymentConfiguration.deploymentCircuitBreaker.rollback", i);

	n = 0;
	json_arr_opt(doc, &n, "services[%zu].deployments", i);
	if (n > 0) {
		s->deployments = xcalloc(n, sizeof *s->deployments);
		for (j = 0; j < n; j++)
			ecs_parse_deployment(doc, &s->deployments[j], i, j);
		s->ndeployments = n;
	}
	n = 0;
	json_arr_opt(doc, &n, "services[%zu].events", i);
	if (n > ECS_EVENTS_MAX)
		n = ECS_EVENTS_MAX;
	if (n > 0) {
		s->events = xcalloc(n, sizeof *s->events);
		for (j = 0; j < n; j++) {
			ECS_STR(doc, s->events[j].id,
			    "services[%zu].events[%zu].id", i, j);
			ECS_STR_REQ(doc, s->events[j].message,
			    "services[%zu].events[%zu].message", i, j);
			json_time_opt(doc, &s->events[j].created,
			    "services[%zu].events[%zu].createdAt", i, j);
		}
		s->nevents = n;
	}
}

int
ecs_parse_services(struct ecs_service_list *l, const void *data, size_t len,
    char **cause)
{
	struct json	*doc = NULL;
	size_t		 n = 0, i, first;
	int		 rc = -1;

	if (json_load(&doc, data, len, NULL, "ECS DescribeServices reply",
	    cause) != 0)
		return (-1);
	json_arr_opt(doc, &n, "services");
	if (n > 0) {
		first = l->n;
		l->v = xreallocarray(l->v, l->n + n, sizeof *l->v);
		memset(l->v + first, 0, n * sizeof *l->v);
		l->n += n;
		for (i = 0; i < n; i++)
			ecs_parse_service(doc, &l->v[first + i], i);
	}
	n = 0;
	json_arr_opt(doc, &n, "failures");
	if (n > 0) {
		first = l->nfailures;
		l->failures = xreallocarray(l->failures, l->nfailures + n,
		    sizeof *l->failures);
		memset(l->failures + first, 0, n * sizeof *l->failures);
		l->nfailures += n;
		for (i = 0; i < n; i++) {
			ECS_STR(doc, l->failures[first + i].arn,
			    "failures[%zu].arn", i);
			ECS_STR(doc, l->failures[first + i].reason,
			    "failures[%zu].reason", i);
			ECS_STR(doc, l->failures[first + i].detail,
			    "failures[%zu].detail", i);
		}
	}
	if (json_error(doc) != NULL) {
		*cause = xstrdup(json_error(doc));
		goto out;
	}
	rc = 0;
out:
	json_free(doc);
	return (rc);
}

int
ecs_parse_task_definition(struct ecs_task_definition *td, const void *data,
    size_t len, char **cause)
{
	struct json	*doc = NULL;
	size_t		 n = 0, i;
	int		 rc = -1;

	if (json_load(&doc, data, len, NULL,
	    "ECS DescribeTaskDefinition reply", cause) != 0)
		return (-1);
	ECS_STR_REQ(doc, td->family, "taskDefinition.family");
	ECS_STR(doc, td->arn, "taskDefinition.taskDefinitionArn");
	ECS_STR(doc, td->status, "taskDefinition.status");
	json_int_opt(doc, &td->revision, "taskDefinition.revision");
	json_arr_opt(doc, &n, "taskDefinition.containerDefinitions");
	if (n > 0) {
		td->containers = xcalloc(n, sizeof *td->containers);
		td->ncontainers = n;
		for (i = 0; i < n; i++) {
			ECS_STR_REQ(doc, td->containers[i].name,
			    "taskDefinition.containerDefinitions[%zu].name", i);
			ECS_STR(doc, td->containers[i].image,
			    "taskDefinition.containerDefinitions[%zu].image",
			    i);
			td->containers[i].essential = 1;
			json_bool_opt(doc, &td->containers[i].essential,
			    "taskDefinition.containerDefinitions[%zu]."
			    "essential", i);
		}
	}
	if (json_error(doc) != NULL) {
		*cause = xstrdup(json_error(doc));
		goto out;
	}
	rc = 0;
out:
	json_free(doc);
	return (rc);
}

/* Freeing. */

void
ecs_service_list_free(struct ecs_service_list *l)
{
	struct ecs_service	*s;
	size_t			 i, j;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		s = &l->v[i];
		free(s->arn);
		free(s->name);
		free(s->cluster_arn);
		free(s->status);
		free(s->task_definition);
		free(s->launch_type);
		for (j = 0; j < s->ndeployments; j++) {
			free(s->deployments[j].id);
			free(s->deployments[j].status);
			free(s->deployments[j].task_definition);
			free(s->deployments[j].rollout_state);
			free(s->deployments[j].rollout_state_reason);
		}
		free(s->deployments);
		for (j = 0; j < s->nevents; j++) {
			free(s->events[j].id);
			free(s->events[j].message);
		}
		free(s->events);
	}
	free(l->v);
	for (i = 0; i < l->nfailures; i++) {
		free(l->failures[i].arn);
		free(l->failures[i].reason);
		free(l->failures[i].detail);
	}
	free(l->failures);
	free(l);
}

void
ecs_task_definition_free(struct ecs_task_definition *td)
{
	size_t	i;

	if (td == NULL)
		return;
	free(td->arn);
	free(td->family);
	free(td->status);
	for (i = 0; i < td->ncontainers; i++) {
		free(td->containers[i].name);
		free(td->containers[i].image);
	}
	free(td->containers);
	free(td);
}

const struct ecs_deployment *
ecs_service_primary(const struct ecs_service *s)
{
	size_t	i;

	for (i = 0; i < s->ndeployments; i++)
		if (s->deployments[i].status != NULL &&
		    strcmp(s->deployments[i].status, "PRIMARY") == 0)
			return (&s->deployments[i]);
	return (NULL);
}

/* The operation machinery. */

static struct ecs_op *
ecs_op_new(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *operation)
{
	struct ecs_op	*op;

	op = xcalloc(1, sizeof *op);
	op->client = client;
	op->creds = creds;
	op->region = region != NULL ? xstrdup(region) : NULL;
	op->operation = operation;
	return (op);
}

static void
ecs_op_free(struct ecs_op *op)
{
	size_t	i;

	if (op->result != NULL && op->result_free != NULL)
		op->result_free(op->result);
	for (i = 0; i < op->nservices; i++)
		free(op->services[i]);
	free(op->services);
	free(op->cluster);
	free(op->body);
	free(op->region);
	free(op);
}

static void
ecs_op_fail(struct ecs_op *op, const struct aws_reply *last, int error,
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
	message = xasprintf("ECS %s: %s: %s (request %s)", op->operation,
	    aws_strerror(error), what, *r.request_id != '\0' ?
	    r.request_id : "unknown");
	r.message = message;
	log_debug(LOG_CAT_AWS, "ecs call failed op=%s: %s", op->operation,
	    message);
	op->finish(op, &r);
	free(message);
}

static void
ecs_op_reply_cb(struct aws_reply *reply, void *arg)
{
	struct ecs_op	*op = arg;
	char		*cause = NULL;

	if (reply->error != AWS_OK) {
		op->finish(op, reply);
		goto done;
	}
	if (op->parse(op, reply->body->data, reply->body->len, &cause) != 0) {
		ecs_op_fail(op, reply, AWS_EREPLY, cause);
		goto done;
	}
	if (op->next < op->nservices) {
		if (ecs_op_send(op, &cause) != 0) {
			ecs_op_fail(op, reply, AWS_ECANCELLED, cause);
			goto done;
		}
		return;
	}
	op->finish(op, reply);
done:
	free(cause);
	ecs_op_free(op);
}

/* The next DescribeServices batch. */
static char *
ecs_services_body(struct ecs_op *op)
{
	json_t	*o, *a;
	char	*s;
	size_t	 i;

	a = json_array();
	for (i = op->next; i < op->nservices &&
	    i < op->next + ECS_SERVICES_PER_CALL; i++)
		json_array_append_new(a, json_string(op->services[i]));
	op->next = i;
	o = json_object();
	if (op->cluster != NULL)
		json_object_set_new(o, "cluster", json_string(op->cluster));
	json_object_set_new(o, "services", a);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (s);
}

static int
ecs_op_send(struct ecs_op *op, char **cause)
{
	struct aws_request	 req;
	char			*body = NULL;
	int			 rc = -1;

	if (op->services != NULL)
		body = ecs_services_body(op);
	else
		body = xstrdup(op->body);
	if (body == NULL) {
		*cause = xasprintf("ECS %s: cannot encode the request",
		    op->operation);
		return (-1);
	}
	memset(&req, 0, sizeof req);
	req.service = &aws_service_ecs;
	req.operation = op->operation;
	req.region = op->region;
	req.creds = op->creds;
	req.body = body;
	req.body_len = strlen(body);
	if (aws_client_call(op->client, &req, ecs_op_reply_cb, op,
	    cause) != NULL)
		rc = 0;
	free(body);
	return (rc);
}

static int
ecs_op_start(struct ecs_op *op, char **cause)
{
	char	*c = NULL;

	if (ecs_op_send(op, &c) != 0) {
		*cause = c;
		ecs_op_free(op);
		return (-1);
	}
	return (0);
}

static void *
ecs_op_take(struct ecs_op *op, const struct aws_reply *reply)
{
	void	*result;

	if (reply->error != AWS_OK)
		return (NULL);
	result = op->result;
	op->result = NULL;
	return (result);
}

/* DescribeServices. */

static int
ecs_services_parse(struct ecs_op *op, const void *data, size_t len,
    char **cause)
{
	if (op->result == NULL)
		op->result = xcalloc(1, sizeof (struct ecs_service_list));
	return (ecs_parse_services(op->result, data, len, cause));
}

static void
ecs_services_result_free(void *p)
{
	ecs_service_list_free(p);
}

static void
ecs_services_finish(struct ecs_op *op, const struct aws_reply *reply)
{
	op->cb.services(reply, ecs_op_take(op, reply), op->arg);
}

int
ecs_describe_services(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *cluster, const char * const *services,
    ecs_service_list_cb cb, void *arg, char **cause)
{
	struct ecs_op	*op;
	size_t		 n, i;

	for (n = 0; services != NULL && services[n] != NULL; n++)
		;
	if (n == 0) {
		*cause = xstrdup("ECS DescribeServices: no services");
		return (-1);
	}
	op = ecs_op_new(client, creds, region, "DescribeServices");
	op->cluster = cluster != NULL ? xstrdup(cluster) : NULL;
	op->services = xcalloc(n, sizeof *op->services);
	for (i = 0; i < n; i++)
		op->services[i] = xstrdup(services[i]);
	op->nservices = n;
	op->parse = ecs_services_parse;
	op->finish = ecs_services_finish;
	op->result_free = ecs_services_result_free;
	op->cb.services = cb;
	op->arg = arg;
	return (ecs_op_start(op, cause));
}

/* DescribeTaskDefinition. */

static int
ecs_task_definition_parse(struct ecs_op *op, const void *data, size_t len,
    char **cause)
{
	struct ecs_task_definition	*td;

	td = xcalloc(1, sizeof *td);
	op->result = td;
	return (ecs_parse_task_definition(td, data, len, cause));
}

static void
ecs_task_definition_result_free(void *p)
{
	ecs_task_definition_free(p);
}

static void
ecs_task_definition_finish(struct ecs_op *op, const struct aws_reply *reply)
{
	op->cb.task_definition(reply, ecs_op_take(op, reply), op->arg);
}

int
ecs_describe_task_definition(struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *task_definition,
    ecs_task_definition_cb cb, void *arg, char **cause)
{
	struct ecs_op	*op;
	json_t		*o;

	if (task_definition == NULL || *task_definition == '\0') {
		*cause = xstrdup("ECS DescribeTaskDefinition: no task "
		    "definition");
		return (-1);
	}
	op = ecs_op_new(client, creds, region, "DescribeTaskDefinition");
	o = json_pack("{s:s}", "taskDefinition", task_definition);
	op->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (op->body == NULL) {
		*cause = xstrdup("ECS DescribeTaskDefinition: the name is not "
		    "UTF-8");
		ecs_op_free(op);
		return (-1);
	}
	op->parse = ecs_task_definition_parse;
	op->finish = ecs_task_definition_finish;
	op->result_free = ecs_task_definition_result_free;
	op->cb.task_definition = cb;
	op->arg = arg;
	return (ecs_op_start(op, cause));
}
