/*
 * The live progress of an execution (issue 16), kept with the stage's
 * attempt: the stack events read while the engine waits on the stack
 * and the ECS services, and where each service's deployment stands.
 * What is kept is for people (the run page, shipgatectl show --follow):
 * a failure to keep it is logged and the stage goes on.
 */
#include <stdlib.h>
#include <string.h>

#include "engine-int.h"
#include "log.h"
#include "svc-cfn.h"
#include "svc-ecs.h"
#include "xmalloc.h"

static int64_t
engine_progress_ms(const struct timespec *ts)
{
	return ((int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000);
}

void
engine_progress_events(struct engine_run *r, const struct store_stage *st,
    const struct cfn_stack_event_list *l)
{
	struct store_stage_event     *v;
	const struct cfn_stack_event *e;
	char			     *cause = NULL;
	size_t			      i, added = 0;

	if (l == NULL || l->n == 0)
		return;
	v = xcalloc(l->n, sizeof *v);
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		v[i].event_id = e->event_id;
		v[i].at = engine_progress_ms(&e->timestamp);
		v[i].logical_id = e->logical_id;
		v[i].physical_id = e->physical_id;
		v[i].resource_type = e->resource_type;
		v[i].status = e->status;
		v[i].reason = e->status_reason;
	}
	if (store_progress_add_events(r->engine->store, st->id, st->attempt, v,
		l->n, &added, &cause) != 0) {
		log_warnx(
		    "cannot keep the stack events app=%s run=%lld env=%s: "
		    "%s",
		    r->app, (long long)r->id, st->environment, cause);
		free(cause);
	} else if (added > 0) {
		log_debug(LOG_CAT_ENGINE,
		    "stack events app=%s run=%lld "
		    "env=%s new=%zu",
		    r->app, (long long)r->id, st->environment, added);
		/* The stack moves: the next look comes soon again rather
		   than after the wait's back-off (live progress). */
		r->polls = 0;
	}
	free(v);
}

/*
 * The deployment a service's line shows: one of this execution's that
 * failed (since: the execution's time, ms), else the PRIMARY one.
 */
static const struct ecs_deployment *
engine_progress_deployment(const struct ecs_service *svc, int64_t since)
{
	const struct ecs_deployment *d;
	size_t			     i;

	for (i = 0; i < svc->ndeployments; i++) {
		d = &svc->deployments[i];
		if (d->rollout_state != NULL &&
		    strcmp(d->rollout_state, "FAILED") == 0 &&
		    engine_progress_ms(&d->created) >= since)
			return (d);
	}
	return (ecs_service_primary(svc));
}

void
engine_progress_services(struct engine_run *r, const struct store_stage *st,
    const struct ecs_service_list *l, int64_t since)
{
	struct store_stage_service   v;
	const struct ecs_service    *svc;
	const struct ecs_deployment *d;
	char			    *cause = NULL, *cluster;
	const char		    *p;
	size_t			     i;

	for (i = 0; l != NULL && i < l->n; i++) {
		svc = &l->v[i];
		if (svc->name == NULL)
			continue;
		memset(&v, 0, sizeof v);
		cluster = NULL;
		/* arn:aws:ecs:REGION:ACCOUNT:cluster/NAME */
		if (svc->cluster_arn != NULL &&
		    (p = strstr(svc->cluster_arn, ":cluster/")) != NULL) {
			cluster = xstrdup(p + 9);
		}
		v.service = svc->name;
		v.cluster = cluster;
		if ((d = engine_progress_deployment(svc, since)) != NULL) {
			v.desired = d->desired;
			v.running = d->running;
			v.pending = d->pending;
			v.failed = d->failed_tasks;
			v.rollout_state = d->rollout_state;
			v.rollout_reason = d->rollout_state_reason;
		} else {
			v.desired = svc->desired;
			v.running = svc->running;
			v.pending = svc->pending;
		}
		if (store_progress_set_service(r->engine->store, st->id,
			st->attempt, &v, &cause) != 0) {
			log_warnx("cannot keep the progress of service %s "
				  "app=%s run=%lld env=%s: %s",
			    svc->name, r->app, (long long)r->id,
			    st->environment, cause);
			free(cause);
			cause = NULL;
		}
		free(cluster);
	}
}
