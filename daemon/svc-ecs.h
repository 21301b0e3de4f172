/*
 * ECS (JSON 1.1): the read the engine waits on after a stack update:
 * services with their deployments (rolloutState, the circuit breaker's
 * verdict) and recent events.  A task definition's reply has a reader
 * but no call: shipgated does not sign DescribeTaskDefinition (not in
 * --list-operations, so no policy grants it).
 *
 * Calls.  Every ecs_* call with a callback either fails synchronously
 * (returns NULL with *cause set, the callback never called) or returns
 * the operation (aws-op.h: aws_op_cancel until the callback) and calls
 * its callback exactly once, from a later loop iteration.
 * creds and region may be NULL for the client's own; inputs are copied.
 * The callback gets the last call's aws_reply (error, status, aws,
 * message, request_id; the body has been consumed) and, on success only,
 * a result it owns and frees with the matching _free function.  A reply
 * that cannot be read gives AWS_EREPLY naming the field
 * ("ECS DescribeServices reply: services[0].deployments[1].status:
 * expected a string").
 */
#ifndef SHIPGATE_SVC_ECS_H
#define SHIPGATE_SVC_ECS_H

#include <stddef.h>
#include <time.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const ecs_operations[];

#define ECS_SERVICES_PER_CALL 10  /* DescribeServices' limit */
#define ECS_EVENTS_MAX	      100 /* events kept per service */

struct ecs_deployment {
	char	       *id;	/* ecs-svc/... */
	char	       *status; /* PRIMARY, ACTIVE, INACTIVE */
	char	       *task_definition;
	char	       *rollout_state; /* IN_PROGRESS, COMPLETED,
						   FAILED; NULL when absent */
	char	       *rollout_state_reason;
	long long	desired;
	long long	running;
	long long	pending;
	long long	failed_tasks;
	struct timespec created;
	struct timespec updated;
};

struct ecs_event {
	char	       *id;
	char	       *message;
	struct timespec created;
};

struct ecs_service {
	char		      *arn;
	char		      *name;
	char		      *cluster_arn;
	char		      *status; /* ACTIVE, DRAINING, INACTIVE */
	char		      *task_definition;
	char		      *launch_type; /* NULL when absent */
	long long	       desired;
	long long	       running;
	long long	       pending;
	int		       circuit_breaker; /* deploymentCircuitBreaker */
	int		       circuit_breaker_rollback;
	struct timespec	       created;
	struct ecs_deployment *deployments;
	size_t		       ndeployments;
	struct ecs_event      *events; /* newest first, at most
						   ECS_EVENTS_MAX */
	size_t		       nevents;
};

/* A service or cluster ECS could not describe ("MISSING"). */
struct ecs_failure {
	char *arn;
	char *reason;
	char *detail; /* NULL when absent */
};

struct ecs_service_list {
	struct ecs_service *v;
	size_t		    n;
	struct ecs_failure *failures;
	size_t		    nfailures;
};

struct ecs_container {
	char *name;
	char *image;
	int   essential;
};

struct ecs_task_definition {
	char		     *arn;
	char		     *family;
	long long	      revision;
	char		     *status; /* ACTIVE, INACTIVE */
	struct ecs_container *containers;
	size_t		      ncontainers;
};

typedef void (*ecs_service_list_cb)(const struct aws_reply *,
    struct ecs_service_list *, void *arg);

/*
 * Services by name or ARN (NULL-terminated list, at least one) in a
 * cluster (name or ARN; NULL: "default").  More than 10 take several
 * calls, made one after the other; the results are joined in order.
 */
struct aws_op *ecs_describe_services(struct aws_client *, struct aws_creds *,
    const char *region, const char *cluster, const char *const *services,
    ecs_service_list_cb, void *arg, char **cause);

void ecs_service_list_free(struct ecs_service_list *);
void ecs_task_definition_free(struct ecs_task_definition *);

/*
 * Pure readers of one reply, used by the calls, the fuzzer and tests:
 * append to the result, or -1 and *cause naming the field.
 */
int ecs_parse_services(struct ecs_service_list *, const void *, size_t,
    char **cause);
int ecs_parse_task_definition(struct ecs_task_definition *, const void *,
    size_t, char **cause);

/* The PRIMARY deployment, or NULL. */
const struct ecs_deployment *ecs_service_primary(const struct ecs_service *);

#endif
