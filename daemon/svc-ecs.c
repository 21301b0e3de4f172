/*
 * ECS: DescribeServices (ten services a call, joined), as JSON 1.1
 * requests and typed replies; the reader of a DescribeTaskDefinition
 * reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws-op.h"
#include "json.h"
#include "log.h"
#include "svc-ecs.h"
#include "xmalloc.h"

/* An optional string field, copied (NULL when absent). */
#define ECS_STR(doc, dst, ...)                           \
	do {                                             \
		const char *s_ = NULL;                   \
		json_str_opt((doc), &s_, __VA_ARGS__);   \
		(dst) = s_ != NULL ? xstrdup(s_) : NULL; \
	} while (0)

/* A required string field: recorded as an error when absent. */
#define ECS_STR_REQ(doc, dst, ...)                          \
	do {                                                \
		const char *s_ = NULL;                      \
		if (json_str((doc), &s_, __VA_ARGS__) == 0) \
			(dst) = xstrdup(s_);                \
	} while (0)

/* Readers. */

static void
ecs_parse_deployment(struct json *doc, struct ecs_deployment *d, size_t i,
    size_t j)
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
	size_t n, j;

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
	json_bool_opt(doc, &s->circuit_breaker,
	    "services[%zu]."
	    "deploymentConfiguration.deploymentCircuitBreaker.enable",
	    i);
	json_bool_opt(doc, &s->circuit_breaker_rollback,
	    "services[%zu]."
	    "deploymentConfiguration.deploymentCircuitBreaker.rollback",
	    i);

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
	struct json *doc = NULL;
	size_t	     n = 0, i, first;
	int	     rc = -1;

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
	struct json *doc = NULL;
	size_t	     n = 0, i;
	int	     rc = -1;

	if (json_load(&doc, data, len, NULL, "ECS DescribeTaskDefinition reply",
		cause) != 0)
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
			    "essential",
			    i);
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
	struct ecs_service *s;
	size_t		    i, j;

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
	size_t i;

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
	size_t i;

	for (i = 0; i < s->ndeployments; i++)
		if (s->deployments[i].status != NULL &&
		    strcmp(s->deployments[i].status, "PRIMARY") == 0)
			return (&s->deployments[i]);
	return (NULL);
}

/* The operations: one row each, the parsers adapted to the engine. */

AWS_OP_RESULT_ONE(ecs_services, struct ecs_service_list, ecs_parse_services,
    ecs_service_list_free, ecs_service_list_cb)

/* More than ten services are several requests, joined by the engine. */
static const struct aws_op_desc ecs_op_describe_services = { &aws_service_ecs,
	"DescribeServices", &ecs_services_result, NULL, NULL, 0,
	{ "ecs:DescribeServices", AWS_ACCOUNT_ENVIRONMENT, "service" } };

const struct aws_op_desc *const ecs_operations[] = { &ecs_op_describe_services,
	NULL };

struct aws_op *
ecs_describe_services(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *cluster, const char *const *services,
    ecs_service_list_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	json_t	      *o, *a = NULL;
	size_t	       n, i;

	for (n = 0; services != NULL && services[n] != NULL; n++)
		;
	if (n == 0) {
		*cause = xstrdup("ECS DescribeServices: no services");
		return (NULL);
	}
	op = aws_op_new(&ecs_op_describe_services, client, creds, region);
	o = aws_op_json(op);
	for (i = 0; i < n; i++) {
		if (i != 0 && i % ECS_SERVICES_PER_CALL == 0)
			o = aws_op_json_batch(op);
		if (i % ECS_SERVICES_PER_CALL == 0) {
			if (cluster != NULL)
				json_object_set_new(o, "cluster",
				    json_string(cluster));
			a = json_array();
			json_object_set_new(o, "services", a);
		}
		json_array_append_new(a, json_string(services[i]));
	}
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
