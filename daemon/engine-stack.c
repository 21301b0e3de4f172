/*
 * CloudFormation's hard cases, on an environment's stack rather than a
 * run's stage:
 *
 * - a stack held stuck (store_stack_hold_*): UPDATE_ROLLBACK_FAILED
 *   after a rollback that failed, or ROLLBACK_COMPLETE after a first
 *   deployment that failed.  No change set can run on it; the stage that
 *   found it failed, and the environment's new runs wait, saying why,
 *   until an operator's continue-rollback (ContinueUpdateRollback) or
 *   delete-failed-stack (DeleteStack) has been carried out and waited on;
 * - the empty stack a CREATE change set left in REVIEW_IN_PROGRESS when
 *   its run ended unexecuted (rejected, expired, superseded, cancelled):
 *   deleted, only when the stage's change set made it and nothing else
 *   lives on it, so the next release starts clean.
 *
 * Each is a small machine (struct engine_stackop): describe the stack,
 * send the one mutation, poll until CloudFormation is done.  An
 * operator's action is recorded on the hold before anything is sent, so
 * a restart goes on with it (engine_stackops_resume); a clean-up is only
 * in memory (a restart leaves the empty stack, which harms nothing: the
 * next CREATE change set may run on it).
 */
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "config.h"
#include "engine-int.h"
#include "log.h"
#include "svc-cfn.h"
#include "xmalloc.h"

#define ENGINE_STACK_SKIP_MAX 32 /* resources skipped at once */
/* Polls after ContinueUpdateRollback before a stack still (or again)
 * UPDATE_ROLLBACK_FAILED counts as failed again without its progress
 * having been seen (a restart: the request may have run already). */
#define ENGINE_STACK_SETTLE 5

enum engine_stack_kind {
	ENGINE_STACK_CLEANUP = 1,
	ENGINE_STACK_CONTINUE,
	ENGINE_STACK_DELETE,
};

struct engine_stackop {
	TAILQ_ENTRY(engine_stackop) entry;
	struct engine	      *engine; /* NULL once it stopped */
	enum engine_stack_kind kind;
	char		      *app;
	char		      *env;
	char		      *stack;	   /* name, then its id */
	char		      *change_set; /* cleanup: the stage's */
	char		     **skip;
	size_t		       nskip;
	char		      *token;
	int64_t		       run_id;	 /* for the audit log */
	int64_t		       stage_id; /* cleanup: the stage */
	int64_t		       since;	 /* the action's time (ms) */
	int		       sent;	 /* the mutation was sent */
	int		       progress; /* seen under way */
	unsigned int	       polls;
	int		       inflight; /* a call out */
	int		       closed;	 /* timer closed */
	uv_timer_t	       timer;
};

static void engine_stackop_step(struct engine_stackop *);
static void engine_stackop_start_hold(struct engine *,
    const struct store_stack_hold *);

static const char *
engine_stackop_name(const struct engine_stackop *op)
{
	switch (op->kind) {
	case ENGINE_STACK_CLEANUP:
		return ("empty stack clean-up");
	case ENGINE_STACK_CONTINUE:
		return ("continue-rollback");
	case ENGINE_STACK_DELETE:
		return ("delete-failed-stack");
	}
	return ("?");
}

static void
engine_stackop_free(struct engine_stackop *op)
{
	size_t i;

	for (i = 0; i < op->nskip; i++)
		free(op->skip[i]);
	free(op->skip);
	free(op->app);
	free(op->env);
	free(op->stack);
	free(op->change_set);
	free(op->token);
	free(op);
}

static void
engine_stackop_closed_cb(uv_handle_t *h)
{
	struct engine_stackop *op = h->data;
	struct engine	      *e = op->engine;

	op->closed = 1;
	op->engine = NULL;
	if (!op->inflight)
		engine_stackop_free(op);
	if (e != NULL)
		engine_handle_closed(e);
}

/* Done: out of the list, its timer closed, freed once nothing is out. */
static void
engine_stackop_end(struct engine_stackop *op)
{
	struct engine *e = op->engine;

	TAILQ_REMOVE(&e->stackops, op, entry);
	e->closing++;
	uv_close((uv_handle_t *)&op->timer, engine_stackop_closed_cb);
}

static void
engine_stackop_timer_cb(uv_timer_t *t)
{
	engine_stackop_step(t->data);
}

static void
engine_stackop_later(struct engine_stackop *op)
{
	struct engine *e = op->engine;
	int64_t	       delay = e->poll_base_ms;
	unsigned int   i;

	for (i = 0; i < op->polls && delay < e->poll_max_ms; i++)
		delay *= 2;
	if (delay > e->poll_max_ms)
		delay = e->poll_max_ms;
	op->polls++;
	uv_timer_start(&op->timer, engine_stackop_timer_cb, (uint64_t)delay, 0);
}

/* The op of a callback, or NULL when the engine stopped (freed then). */
static struct engine_stackop *
engine_stackop_back(struct engine_stackop *op)
{
	op->inflight = 0;
	if (op->engine == NULL || op->engine->stopping) {
		if (op->closed)
			engine_stackop_free(op);
		return (NULL);
	}
	return (op);
}

static struct engine_stackop *
engine_stackop_new(struct engine *e, enum engine_stack_kind kind,
    const char *app, const char *env, const char *stack)
{
	struct engine_stackop *op;

	op = xcalloc(1, sizeof *op);
	op->engine = e;
	op->kind = kind;
	op->app = xstrdup(app);
	op->env = xstrdup(env);
	op->stack = xstrdup(stack);
	uv_timer_init(e->loop, &op->timer);
	op->timer.data = op;
	TAILQ_INSERT_TAIL(&e->stackops, op, entry);
	uv_timer_start(&op->timer, engine_stackop_timer_cb, 0, 0);
	return (op);
}

static struct aws_creds *
engine_stackop_creds(struct engine_stackop *op, const char **regionp,
    char **cause)
{
	const struct config_app		*app;
	const struct config_environment *env;

	if ((app = config_find_app(op->engine->config, op->app)) == NULL ||
	    (env = config_find_environment(app, op->env)) == NULL) {
		*cause = xasprintf("%s %s is no longer configured", op->app,
		    op->env);
		return (NULL);
	}
	*regionp = aws_context_env_region(op->engine->aws, env);
	return (aws_context_env_creds(op->engine->aws, app, env, cause));
}

static void
engine_stackop_audit(struct engine_stackop *op, const char *actor,
    const char *action, const char *detail)
{
	struct store_audit_in a;
	char		     *subject, *why = NULL;

	subject = xasprintf("stack %s of %s %s", op->stack, op->app, op->env);
	memset(&a, 0, sizeof a);
	a.actor = actor != NULL ? actor : "shipgated";
	a.action = action;
	a.subject = subject;
	a.run_id = op->run_id;
	a.detail = detail;
	if (store_append_audit(op->engine->store, &a, &why) != 0) {
		log_warnx("cannot append to the audit log app=%s env=%s: %s",
		    op->app, op->env, why);
		free(why);
	}
	free(subject);
}

/*
 * The operator's action is over: done (the hold goes, the environment's
 * runs go on) or failed (the hold stays, with what CloudFormation said).
 */
static void
engine_stackop_finish(struct engine_stackop *op, int done,
    const char *stack_status, const char *reason)
{
	struct engine		*e = op->engine;
	struct store		*s = e->store;
	struct store_stack_hold *h = NULL;
	char			*why = NULL, *action, *app, *env;
	int			 ok;

	if (op->kind == ENGINE_STACK_CLEANUP) {
		if (done) {
			log_info("empty stack deleted app=%s env=%s stack=%s",
			    op->app, op->env, op->stack);
			engine_stackop_audit(op, NULL, "delete empty stack",
			    reason);
		} else
			log_info("empty stack kept app=%s env=%s stack=%s: %s",
			    op->app, op->env, op->stack, reason);
		goto out;
	}
	action = xasprintf("%s %s", engine_stackop_name(op),
	    done ? "done" : "failed");
	ok = store_begin(s, &why) == 0 &&
	     (done ? store_stack_hold_clear(s, op->app, op->env, &why) :
		     store_stack_hold_action_end(s, op->app, op->env,
			 stack_status, reason, &why)) == 0;
	if (ok)
		engine_stackop_audit(op, NULL, action, reason);
	if (!ok || store_commit(s, &why) != 0) {
		store_rollback(s);
		log_warnx("cannot record the end of %s app=%s env=%s: %s",
		    engine_stackop_name(op), op->app, op->env, why);
		free(why);
		free(action);
		engine_stackop_later(op); /* try again */
		return;
	}
	free(action);
	if (done)
		log_info("%s done app=%s env=%s stack=%s: %s",
		    engine_stackop_name(op), op->app, op->env, op->stack,
		    reason);
	else
		log_warnx("%s failed app=%s env=%s stack=%s: %s",
		    engine_stackop_name(op), op->app, op->env, op->stack,
		    reason);
out:
	app = xstrdup(op->app);
	env = xstrdup(op->env);
	engine_stackop_end(op);
	/* An operator's action recorded while this one ran goes now. */
	if (store_stack_hold_get(s, app, env, &h, NULL) == 0)
		engine_stackop_start_hold(e, h);
	store_stack_hold_free(h);
	engine_kick_app(e, app); /* waiting runs, busy stacks */
	free(app);
	free(env);
}

/* --- The failed resources, from the stack's events ----------------------- */

/*
 * "Service (AWS::ECS::Service) UPDATE_FAILED: reason; ..." for the
 * failed resources of the events (newest first in the list, written
 * oldest first), at most a few; NULL when there is none.
 */
char *
engine_failed_resources(const struct cfn_stack_event_list *l)
{
	const struct cfn_stack_event *e;
	char			     *s = NULL, *t;
	size_t			      i, n = 0;

	for (i = l->n; i > 0 && n < 5; i--) {
		e = &l->v[i - 1];
		if (e->status == NULL || strlen(e->status) < 7 ||
		    strcmp(e->status + strlen(e->status) - 7, "_FAILED") != 0)
			continue;
		if (e->resource_type != NULL &&
		    strcmp(e->resource_type, "AWS::CloudFormation::Stack") == 0)
			continue;
		t = xasprintf("%s%s%s (%s) %s: %s", s != NULL ? s : "",
		    s != NULL ? "; " : "", e->logical_id,
		    e->resource_type != NULL ? e->resource_type : "?",
		    e->status,
		    e->status_reason != NULL ? e->status_reason :
					       "no reason given");
		free(s);
		s = t;
		n++;
	}
	return (s);
}

static void
engine_stackop_events_cb(const struct aws_reply *reply,
    struct cfn_stack_event_list *events, void *arg)
{
	struct engine_stackop *op = arg;
	char		      *failed = NULL, *reason;
	const char	      *status = op->kind == ENGINE_STACK_CONTINUE ?
					    "UPDATE_ROLLBACK_FAILED" :
					    "DELETE_FAILED";

	if ((op = engine_stackop_back(op)) == NULL)
		goto out;
	if (reply->error == AWS_OK)
		failed = engine_failed_resources(events);
	reason = xasprintf("stack %s %s%s: %s", op->stack, status,
	    op->kind == ENGINE_STACK_CONTINUE ? " again" : "",
	    failed != NULL ? failed : "no failed resource in its events");
	engine_stackop_finish(op, 0, status, reason);
	free(reason);
out:
	free(failed);
	cfn_stack_event_list_free(events);
}

/* Failed again: the reason from the events since the action. */
static void
engine_stackop_failed(struct engine_stackop *op)
{
	struct cfn_stack_events_bounds b;
	struct aws_creds	      *creds;
	const char		      *region;
	char			      *cause = NULL;

	if ((creds = engine_stackop_creds(op, &region, &cause)) == NULL)
		goto fail;
	memset(&b, 0, sizeof b);
	b.max_events = 100;
	if (op->since > 0) {
		/* This action's events, not the failures before it. */
		b.since.tv_sec = (op->since - 1000) / 1000;
		b.since.tv_nsec = ((op->since - 1000) % 1000) * 1000000;
	}
	op->inflight = 1;
	if (cfn_describe_stack_events(aws_context_client(op->engine->aws),
		creds, region, op->stack, &b, engine_stackop_events_cb, op,
		&cause) != NULL)
		return;
	op->inflight = 0;
fail:
	engine_stackop_finish(op, 0, NULL, cause);
	free(cause);
}

/* --- The mutation -------------------------------------------------------- */

static void
engine_stackop_sent_cb(const struct aws_reply *reply, void *arg)
{
	struct engine_stackop *op = arg;
	char		      *reason;

	if ((op = engine_stackop_back(op)) == NULL)
		return;
	if (reply->error != AWS_OK) {
		if (reply->error == AWS_EAWS && reply->status < 500 &&
		    reply->status != 429 &&
		    strstr(reply->aws.code, "Throttl") == NULL) {
			reason = xasprintf("%s refused: %s",
			    engine_stackop_name(op), reply->message);
			engine_stackop_finish(op, 0, NULL, reason);
			free(reason);
			return;
		}
		log_warnx("%s failed, trying again app=%s env=%s: %s",
		    engine_stackop_name(op), op->app, op->env, reply->message);
		op->sent = 0;
	} else
		log_info("%s sent app=%s env=%s stack=%s",
		    engine_stackop_name(op), op->app, op->env, op->stack);
	op->polls = 0;
	engine_stackop_later(op);
}

static void
engine_stackop_send(struct engine_stackop *op)
{
	struct aws_creds *creds;
	const char	 *region;
	char		 *cause = NULL;
	struct aws_op	 *aop;

	if ((creds = engine_stackop_creds(op, &region, &cause)) == NULL) {
		engine_stackop_finish(op, 0, NULL, cause);
		free(cause);
		return;
	}
	/* The action (or the end of the run) is on disk before it is
	   sent. */
	if (engine_sync(op->engine) != 0) {
		engine_stackop_later(op);
		return;
	}
	op->sent = 1;
	op->progress = 0;
	op->inflight = 1;
	if (op->kind == ENGINE_STACK_CONTINUE)
		aop = cfn_continue_update_rollback(aws_context_client(
						       op->engine->aws),
		    creds, region, op->stack, (const char *const *)op->skip,
		    op->nskip, op->token, engine_stackop_sent_cb, op, &cause);
	else
		aop = cfn_delete_stack(aws_context_client(op->engine->aws),
		    creds, region, op->stack, op->token, engine_stackop_sent_cb,
		    op, &cause);
	if (aop == NULL) {
		op->inflight = 0;
		engine_stackop_finish(op, 0, NULL, cause);
		free(cause);
	}
}

/* --- The clean-up: nothing else on the empty stack ----------------------- */

/* Another run of the app has a change set on the environment's stack (or
 * is about to create one). */
static int
engine_stackop_contended(struct engine_stackop *op)
{
	struct engine_run  *o;
	struct store_stage *os;
	size_t		    i;

	TAILQ_FOREACH(o, &op->engine->runs, entry) {
		if (o->id == op->run_id || o->row == NULL ||
		    strcmp(o->app, op->app) != 0)
			continue;
		for (i = 0; i < o->row->nstages; i++) {
			os = &o->row->stages[i];
			if (strcmp(os->environment, op->env) == 0 &&
			    os->status >= STORE_STAGE_CREATING_CHANGE_SET &&
			    os->status < STORE_STAGE_DONE)
				return (1);
		}
	}
	return (0);
}

static void
engine_stackop_list_cb(const struct aws_reply *reply,
    struct cfn_change_set_list *l, void *arg)
{
	struct engine_stackop *op = arg;
	size_t		       i;
	char		      *other = NULL;

	if ((op = engine_stackop_back(op)) == NULL)
		goto out;
	if (reply->error != AWS_OK) {
		engine_stackop_finish(op, 0, NULL, reply->message);
		goto out;
	}
	for (i = 0; i < l->n; i++) {
		if (l->v[i].id != NULL && op->change_set != NULL &&
		    strcmp(l->v[i].id, op->change_set) == 0)
			continue;
		if (l->v[i].status != NULL &&
		    strncmp(l->v[i].status, "DELETE_", 7) == 0)
			continue;
		other = xasprintf("change set %s is on it",
		    l->v[i].name != NULL ? l->v[i].name : "?");
		break;
	}
	if (other == NULL && engine_stackop_contended(op))
		other = xstrdup("another run of the app is using it");
	if (other != NULL) {
		engine_stackop_finish(op, 0, NULL, other);
		goto out;
	}
	engine_stackop_send(op);
out:
	free(other);
	cfn_change_set_list_free(l);
}

static void
engine_stackop_list(struct engine_stackop *op)
{
	struct aws_creds *creds;
	const char	 *region;
	char		 *cause = NULL;

	if ((creds = engine_stackop_creds(op, &region, &cause)) == NULL)
		goto fail;
	op->inflight = 1;
	if (cfn_list_change_sets(aws_context_client(op->engine->aws), creds,
		region, op->stack, engine_stackop_list_cb, op, &cause) != NULL)
		return;
	op->inflight = 0;
fail:
	engine_stackop_finish(op, 0, NULL, cause);
	free(cause);
}

/* --- The stack, described ------------------------------------------------ */

static void
engine_stackop_stack_cb(const struct aws_reply *reply,
    struct cfn_stack_list *stacks, void *arg)
{
	struct engine_stackop *op = arg;
	const char	      *status = NULL;
	char		      *reason = NULL;
	int		       gone;

	if ((op = engine_stackop_back(op)) == NULL)
		goto out;
	if (reply->error != AWS_OK && !cfn_reply_stack_missing(reply)) {
		log_warnx("%s: describing the stack failed, trying again "
			  "app=%s env=%s: %s",
		    engine_stackop_name(op), op->app, op->env, reply->message);
		engine_stackop_later(op);
		goto out;
	}
	gone = reply->error != AWS_OK || stacks->n == 0 ||
	       strcmp(stacks->v[0].status, "DELETE_COMPLETE") == 0;
	if (!gone) {
		status = stacks->v[0].status;
		if (stacks->v[0].id != NULL &&
		    strcmp(op->stack, stacks->v[0].id) != 0) {
			/* By id from now on: a stack of the same name made
			   meanwhile is another stack. */
			free(op->stack);
			op->stack = xstrdup(stacks->v[0].id);
		}
	}
	switch (op->kind) {
	case ENGINE_STACK_CLEANUP:
		if (gone)
			engine_stackop_finish(op, op->sent, NULL,
			    "REVIEW_IN_PROGRESS, no resources");
		else if (strcmp(status, "DELETE_IN_PROGRESS") == 0)
			engine_stackop_later(op);
		else if (op->sent) {
			reason = xasprintf("stack %s is %s", op->stack, status);
			engine_stackop_finish(op, 0, NULL, reason);
		} else if (strcmp(status, "REVIEW_IN_PROGRESS") != 0) {
			reason = xasprintf("stack %s is %s: not empty",
			    op->stack, status);
			engine_stackop_finish(op, 0, NULL, reason);
		} else
			engine_stackop_list(op);
		break;
	case ENGINE_STACK_CONTINUE:
		if (gone) {
			engine_stackop_finish(op, 1, NULL,
			    "the stack no "
			    "longer exists");
		} else if (cfn_stack_status_ok(status) ||
			   strcmp(status, "UPDATE_ROLLBACK_COMPLETE") == 0) {
			reason = xasprintf("stack %s is %s", op->stack, status);
			engine_stackop_finish(op, 1, NULL, reason);
		} else if (strcmp(status, "UPDATE_ROLLBACK_FAILED") == 0) {
			if (!op->sent)
				engine_stackop_send(op);
			else if (op->progress ||
				 op->polls >= ENGINE_STACK_SETTLE)
				engine_stackop_failed(op);
			else
				engine_stackop_later(op);
		} else if (strstr(status, "_IN_PROGRESS") != NULL) {
			op->progress = op->sent;
			engine_stackop_later(op);
		} else {
			reason = xasprintf("stack %s is %s: "
					   "continue-rollback does not apply",
			    op->stack, status);
			engine_stackop_finish(op, 0, status, reason);
		}
		break;
	case ENGINE_STACK_DELETE:
		if (gone)
			engine_stackop_finish(op, 1, NULL, "DELETE_COMPLETE");
		else if (strcmp(status, "DELETE_IN_PROGRESS") == 0) {
			op->progress = 1;
			engine_stackop_later(op);
		} else if (strcmp(status, "DELETE_FAILED") == 0 && op->sent)
			engine_stackop_failed(op);
		else if (strcmp(status, "ROLLBACK_COMPLETE") == 0 ||
			 strcmp(status, "DELETE_FAILED") == 0) {
			if (!op->sent)
				engine_stackop_send(op);
			else
				engine_stackop_later(op);
		} else {
			reason =
			    xasprintf("stack %s is %s: only a stack in "
				      "ROLLBACK_COMPLETE is deleted this way",
				op->stack, status);
			engine_stackop_finish(op, 0, status, reason);
		}
		break;
	}
out:
	free(reason);
	cfn_stack_list_free(stacks);
}

static void
engine_stackop_step(struct engine_stackop *op)
{
	struct aws_creds *creds;
	const char	 *region;
	char		 *cause = NULL;

	if (op->engine->stopping || op->inflight)
		return;
	if ((creds = engine_stackop_creds(op, &region, &cause)) == NULL)
		goto fail;
	op->inflight = 1;
	if (cfn_describe_stacks(aws_context_client(op->engine->aws), creds,
		region, op->stack, engine_stackop_stack_cb, op, &cause) != NULL)
		return;
	op->inflight = 0;
fail:
	engine_stackop_finish(op, 0, NULL, cause);
	free(cause);
}

/* --- What the rest of the engine calls ----------------------------------- */

int
engine_stackop_busy(struct engine *e, const char *app, const char *env)
{
	struct engine_stackop *op;

	TAILQ_FOREACH(op, &e->stackops, entry)
		if (strcmp(op->app, app) == 0 && strcmp(op->env, env) == 0)
			return (1);
	return (0);
}

/* Starts carrying out the hold's action (recorded); one at a time. */
static void
engine_stackop_start_hold(struct engine *e, const struct store_stack_hold *h)
{
	struct engine_stackop *op;
	const char	      *p, *q;

	if (h->action == NULL || engine_stackop_busy(e, h->app, h->environment))
		return;
	op = engine_stackop_new(e,
	    strcmp(h->action, "continue-rollback") == 0 ?
		ENGINE_STACK_CONTINUE :
		ENGINE_STACK_DELETE,
	    h->app, h->environment, h->stack);
	op->run_id = h->run_id;
	op->since = h->action_at;
	/* The same request after a restart: CloudFormation knows it. */
	op->token = xasprintf("shipgate-%s-%lld",
	    op->kind == ENGINE_STACK_CONTINUE ? "continue" : "delete",
	    (long long)h->action_at);
	for (p = h->action_skip; p != NULL && *p != '\0'; p = q) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		q = p + strcspn(p, " ");
		op->skip = xreallocarray(op->skip, op->nskip + 1,
		    sizeof *op->skip);
		op->skip[op->nskip++] = xstrndup(p, (size_t)(q - p));
	}
}

void
engine_stackops_resume(struct engine *e)
{
	struct store_stack_holds *l = NULL;
	char			 *why = NULL;
	size_t			  i;

	if (store_stack_holds(e->store, NULL, &l, &why) != 0) {
		log_warnx("cannot read the stuck stacks: %s", why);
		free(why);
		return;
	}
	for (i = 0; i < l->n; i++)
		engine_stackop_start_hold(e, l->v[i]);
	store_stack_holds_free(l);
}

void
engine_stackops_stop(struct engine *e)
{
	struct engine_stackop *op;

	while ((op = TAILQ_FIRST(&e->stackops)) != NULL) {
		uv_timer_stop(&op->timer);
		engine_stackop_end(op);
	}
}

/*
 * The operator's action on an environment's stuck stack, checked by the
 * caller (engine_stack_act): recorded on the hold with its audit entry
 * in one transaction, then carried out.
 */
int
engine_stack_action(struct engine *e, const char *app, const char *env,
    const char *action, const char *const *skip, size_t nskip,
    const struct engine_actor *actor, const char *comment, char **cause)
{
	struct store		*s = e->store;
	struct store_stack_hold *h = NULL;
	struct store_audit_in	 a;
	char			*skips, *t, *subject = NULL, *detail = NULL;
	char			*why = NULL;
	size_t			 i;
	int			 rc = -1;

	if (nskip > ENGINE_STACK_SKIP_MAX) {
		*cause = xasprintf("at most %d resources may be skipped",
		    ENGINE_STACK_SKIP_MAX);
		return (ENGINE_EINVAL);
	}
	skips = xstrdup("");
	for (i = 0; i < nskip; i++) {
		t = xasprintf("%s%s%s", skips, i > 0 ? " " : "", skip[i]);
		free(skips);
		skips = t;
	}
	if (store_stack_hold_get(s, app, env, &h, &why) != 0) {
		*cause = xasprintf("%s %s is not stuck: nothing to %s (%s)",
		    app, env, action, why);
		rc = ENGINE_ECONFLICT;
		goto out;
	}
	if (strcmp(action, "continue-rollback") == 0 &&
	    strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") != 0) {
		*cause = xasprintf(
		    "stack %s of %s %s is %s, not "
		    "UPDATE_ROLLBACK_FAILED: continue-rollback does not apply"
		    " (delete-failed-stack does)",
		    h->stack, app, env, h->stack_status);
		rc = ENGINE_ECONFLICT;
		goto out;
	}
	if (strcmp(action, "delete-failed-stack") == 0 &&
	    strcmp(h->stack_status, "ROLLBACK_COMPLETE") != 0 &&
	    strcmp(h->stack_status, "DELETE_FAILED") != 0) {
		*cause = xasprintf(
		    "stack %s of %s %s is %s: only a stack in "
		    "ROLLBACK_COMPLETE (a first deployment rolled back, or "
		    "its deletion failed) may be deleted%s",
		    h->stack, app, env, h->stack_status,
		    strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") == 0 ?
			" (continue-rollback applies)" :
			"");
		rc = ENGINE_ECONFLICT;
		goto out;
	}
	if (h->action != NULL) {
		*cause = xasprintf("%s by %s is already under way on stack %s "
				   "of %s %s",
		    h->action, h->action_by != NULL ? h->action_by : "?",
		    h->stack, app, env);
		rc = ENGINE_ECONFLICT;
		goto out;
	}
	subject = xasprintf("stack %s of %s %s", h->stack, app, env);
	detail = xasprintf("via %s: %s%s%s", engine_actor_via(e, actor),
	    comment, nskip > 0 ? "; skipping " : "", skips);
	memset(&a, 0, sizeof a);
	a.actor = actor->user;
	a.unix_user = actor->unix_user;
	a.action = action;
	a.subject = subject;
	a.run_id = h->run_id;
	a.detail = detail;
	if (store_begin(s, &why) != 0 ||
	    store_stack_hold_action(s, app, env, action, actor->user, comment,
		skips, &why) != 0 ||
	    store_append_audit(s, &a, &why) != 0 ||
	    store_commit(s, &why) != 0) {
		store_rollback(s);
		*cause = xasprintf("%s", why != NULL ? why :
						       "the database "
						       "failed");
		rc = ENGINE_ESTORE;
		goto out;
	}
	log_info("%s requested app=%s env=%s stack=%s user=%s", action, app,
	    env, h->stack, actor->user);
	store_stack_hold_free(h);
	h = NULL;
	if (store_stack_hold_get(s, app, env, &h, NULL) == 0)
		engine_stackop_start_hold(e, h);
	rc = 0;
out:
	free(why);
	free(skips);
	free(subject);
	free(detail);
	store_stack_hold_free(h);
	return (rc);
}

/* --- A run's stage and the holds ----------------------------------------- */

/*
 * Whether the stage's environment is held: 1 and the stage waits (its
 * reason says why and what to do), or 0.  Read errors count as held (the
 * step comes again).
 */
int
engine_hold_wait(struct engine_run *r, struct store_stage *st)
{
	struct store		*s = r->engine->store;
	struct store_stack_hold *h = NULL;
	char			*why = NULL, *reason;
	int			 rc;

	rc = store_stack_hold_get(s, r->app, st->environment, &h, &why);
	if (rc == STORE_ENOTFOUND) {
		free(why);
		return (0);
	}
	if (rc != 0) {
		log_warnx("cannot read the hold app=%s run=%lld env=%s: %s",
		    r->app, (long long)r->id, st->environment, why);
		free(why);
		engine_poll_later(r);
		return (1);
	}
	if (h->action != NULL)
		reason = xasprintf("waiting: stack %s is %s; %s by %s is under "
				   "way",
		    h->stack, h->stack_status, h->action,
		    h->action_by != NULL ? h->action_by : "?");
	else
		reason = xasprintf(
		    "waiting: stack %s is stuck in %s (%s); an "
		    "operator must run: shipgatectl %s %s %s%s -m COMMENT",
		    h->stack, h->stack_status, h->reason,
		    strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") != 0 ?
			"delete-failed-stack" :
			"continue-rollback",
		    r->app, st->environment,
		    strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") != 0 ?
			"" :
			" [--skip RESOURCE]");
	if (st->reason == NULL || strcmp(st->reason, reason) != 0) {
		if (store_stage_set_reason(s, st->id, st->status, reason,
			&why) != 0) {
			log_warnx("cannot record why the stage waits app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			free(why);
		} else
			log_info("run waits app=%s run=%lld env=%s: %s", r->app,
			    (long long)r->id, st->environment, reason);
	}
	free(reason);
	store_stack_hold_free(h);
	/* The end of the action kicks the app's runs. */
	engine_schedule(r, r->engine->poll_max_ms);
	return (1);
}

/* Whether CloudFormation's status holds the stack until a person acts. */
int
engine_hold_status(const char *status)
{
	return (
	    status != NULL && (strcmp(status, "UPDATE_ROLLBACK_FAILED") == 0 ||
				  strcmp(status, "ROLLBACK_COMPLETE") == 0));
}

/* The stack is stuck: the hold and the stage's failure in one
 * transaction (the hold alone when the stage does not end: fail 0). */
void
engine_hold_record(struct engine_run *r, struct store_stage *st,
    const char *stack, const char *status, const char *reason, int fail)
{
	char *why = NULL, *text;
	int   ok;

	if (strcmp(status, "ROLLBACK_COMPLETE") == 0)
		text = xasprintf(
		    "%s; the stack's first deployment was rolled "
		    "back and no change set, not even a new CREATE one, can "
		    "run on it until it is deleted: the environment is stuck "
		    "until an operator runs: shipgatectl delete-failed-stack "
		    "%s %s -m COMMENT",
		    reason, r->app, st->environment);
	else
		text = xasprintf(
		    "%s; the stack's rollback failed and no "
		    "change set can run on it until the rollback is "
		    "continued: the environment is stuck until an operator "
		    "runs: shipgatectl continue-rollback %s %s [--skip "
		    "RESOURCE] -m COMMENT",
		    reason, r->app, st->environment);
	if (engine_txn_begin(r) != 0) {
		engine_poll_later(r);
		free(text);
		return;
	}
	ok = store_stack_hold_set(r->engine->store, r->app, st->environment,
		 stack, status, reason, r->id, &why) == 0;
	if (ok && fail)
		ok = engine_enter(r, st, STORE_STAGE_FAILED, STORE_RUN_FAILED,
			 text, NULL) == 0;
	if (why != NULL) {
		log_warnx("cannot record the stuck stack app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
	}
	if (engine_txn_end(r, ok) != 0)
		engine_poll_later(r);
	else {
		log_warnx("stack stuck app=%s run=%lld env=%s stack=%s "
			  "status=%s: %s",
		    r->app, (long long)r->id, st->environment, stack, status,
		    reason);
		engine_schedule(r, 0);
	}
	free(text);
}

/*
 * After the run ended unexecuted (rejected, expired, superseded,
 * cancelled): the empty stack its CREATE change set made goes.
 */
void
engine_stack_cleanup(struct engine_run *r, struct store_stage *st)
{
	struct engine_stackop *op;
	int		       created = 0;

	if (st->stack_id == NULL ||
	    store_stage_stack_created(r->engine->store, st->id, &created,
		NULL) != 0 ||
	    !created || engine_stackop_busy(r->engine, r->app, st->environment))
		return;
	op = engine_stackop_new(r->engine, ENGINE_STACK_CLEANUP, r->app,
	    st->environment, st->stack_id);
	op->run_id = r->id;
	op->stage_id = st->id;
	op->change_set = st->change_set_arn != NULL ?
			     xstrdup(st->change_set_arn) :
			     NULL;
	op->token = xasprintf("shipgate-%lld-%lld-%d-delete-stack",
	    (long long)r->id, (long long)st->id, st->attempt);
	/* Its change set is being deleted: look a little later. */
	uv_timer_start(&op->timer, engine_stackop_timer_cb,
	    (uint64_t)r->engine->poll_base_ms, 0);
}
