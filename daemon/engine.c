/*
 * The pipeline engine's life cycle, its one state-changing function
 * (engine_enter), the run-level step (queue, supersede, cancel, finish)
 * and the operators' actions.  Each stage state's work against AWS is
 * in engine-stage.c.
 *
 * Every step starts from the store: the run is reread, its current
 * stage's status says what to do next, and a restart is nothing but a
 * first step (describe before create or execute).  A run has at most
 * one AWS call in flight and one timer; decisions (approvals,
 * cancellations) are recorded at once and acted on at the run's next
 * step, so only steps and their callbacks ever change a status.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "config.h"
#include "engine-int.h"
#include "engine.h"
#include "log.h"
#include "people.h"
#include "notify.h"
#include "perm.h"
#include "release.h"
#include "store.h"
#include "syncer.h"
#include "xmalloc.h"

/* Who the engine's own entries in the audit log are from. */
#define ENGINE_ACTOR "shipgated"


static void engine_step(struct engine_run *);
static void engine_logs_flush(struct engine_run *, int);
static void engine_kick_all(struct engine *, const char *app);

const char *
engine_strerror(int error)
{
	switch (error) {
	case 0:
		return ("success");
	case ENGINE_EINVAL:
		return ("invalid argument");
	case ENGINE_ENOTFOUND:
		return ("not found");
	case ENGINE_EFORBIDDEN:
		return ("forbidden");
	case ENGINE_ECONFLICT:
		return ("conflict");
	case ENGINE_ESTORE:
		return ("database error");
	case ENGINE_ECLOSING:
		return ("engine stopping");
	}
	return ("unknown error");
}

static int engine_fail(char **cause, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
engine_fail(char **cause, int error, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (error);
}

/* --- Runs in memory ------------------------------------------------------ */

static void
engine_timer_cb(uv_timer_t *t)
{
	struct engine_run *r = t->data;

	r->timer_armed = 0;
	engine_step(r);
}

static struct engine_run *
engine_find_run(struct engine *e, int64_t id)
{
	struct engine_run *r;

	TAILQ_FOREACH(r, &e->runs, entry)
		if (r->id == id)
			return (r);
	return (NULL);
}

/* Takes a run into memory (kept in id order) and steps it soon. */
struct engine_run *
engine_run_add(struct engine *e, int64_t id, const char *app)
{
	struct engine_run *r, *it;

	if ((r = engine_find_run(e, id)) != NULL) {
		engine_schedule(r, 0);
		return (r);
	}
	r = xcalloc(1, sizeof *r);
	r->engine = e;
	r->id = id;
	r->app = xstrdup(app);
	uv_timer_init(e->loop, &r->timer);
	r->timer.data = r;
	TAILQ_FOREACH(it, &e->runs, entry)
		if (it->id > id)
			break;
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, r, entry);
	else
		TAILQ_INSERT_TAIL(&e->runs, r, entry);
	e->nruns++;
	engine_schedule(r, 0);
	return (r);
}

static void
engine_stop_done(struct engine *e)
{
	void (*cb)(void *) = e->stop_cb;
	void *arg = e->stop_arg;

	free(e);
	if (cb != NULL)
		cb(arg);
}

void
engine_handle_closed(struct engine *e)
{
	if (--e->closing == 0 && e->stopping)
		engine_stop_done(e);
}

static void
engine_run_closed_cb(uv_handle_t *h)
{
	struct engine_run *r = h->data;
	struct engine	  *e = r->engine;

	store_run_free(r->row);
	engine_release_drop(r);
	engine_logs_flush(r, 0);
	free(r->app);
	free(r);
	engine_handle_closed(e);
}

/* Lets go of a run: finished, or the engine stops. */
static void
engine_run_drop(struct engine_run *r)
{
	struct engine *e = r->engine;

	engine_checks_cancel(r);
	r->checks = NULL;
	if (r->call != NULL) {
		r->call->run = NULL;
		r->call = NULL;
	}
	TAILQ_REMOVE(&e->runs, r, entry);
	e->nruns--;
	e->closing++;
	uv_close((uv_handle_t *)&r->timer, engine_run_closed_cb);
}

void
engine_schedule(struct engine_run *r, int64_t delay_ms)
{
	if (r->engine->stopping)
		return;
	if (delay_ms < 0)
		delay_ms = 0;
	uv_timer_start(&r->timer, engine_timer_cb, (uint64_t)delay_ms, 0);
	r->timer_armed = 1;
}

/* Polls again with backoff: base, 2 base, 4 base, ... up to the cap. */
void
engine_poll_later(struct engine_run *r)
{
	struct engine *e = r->engine;
	int64_t	       delay = e->poll_base_ms;
	unsigned int   i;

	for (i = 0; i < r->polls && delay < e->poll_max_ms; i++)
		delay *= 2;
	if (delay > e->poll_max_ms)
		delay = e->poll_max_ms;
	r->polls++;
	engine_schedule(r, delay);
}

static void
engine_kick_all(struct engine *e, const char *app)
{
	struct engine_run *r;

	TAILQ_FOREACH(r, &e->runs, entry) {
		if (app != NULL && strcmp(r->app, app) != 0)
			continue;
		if (r->call == NULL)
			engine_schedule(r, 0);
	}
}

void
engine_kick_app(struct engine *e, const char *app)
{
	engine_kick_all(e, app);
}

struct engine_call *
engine_call_new(struct engine_run *r, struct store_stage *st)
{
	struct engine_call *call;

	call = xcalloc(1, sizeof *call);
	call->run = r;
	if (st != NULL) {
		call->stage_id = st->id;
		call->attempt = st->attempt;
	}
	if (r != NULL)
		r->call = call;
	return (call);
}

/* The callback's run (NULL: the engine let go of it), the call freed. */
struct engine_run *
engine_call_end(struct engine_call *call)
{
	struct engine_run *r = call->run;

	if (r != NULL)
		r->call = NULL;
	free(call->what);
	if (call->free_data != NULL)
		call->free_data(call->data);
	else
		free(call->data);
	free(call);
	return (r);
}

/* --- Looking things up --------------------------------------------------- */

const struct config_app *
engine_run_app(struct engine_run *r)
{
	return (config_find_app(r->engine->config, r->app));
}

const struct config_environment *
engine_stage_env(struct engine_run *r, struct store_stage *st)
{
	const struct config_app *app;

	if ((app = engine_run_app(r)) == NULL)
		return (NULL);
	return (config_find_environment(app, st->environment));
}

/* The first stage not done (or without changes); NULL when all are. */
struct store_stage *
engine_current_stage(struct engine_run *r)
{
	struct store_stage *st;
	size_t		    i;

	for (i = 0; i < r->row->nstages; i++) {
		st = &r->row->stages[i];
		if (st->status != STORE_STAGE_DONE &&
		    st->status != STORE_STAGE_NO_CHANGES)
			return (st);
	}
	return (NULL);
}

/* Another run of the app is executing on this stage's stack. */
int
engine_stack_busy(struct engine_run *r, struct store_stage *st)
{
	struct engine_run  *o;
	struct store_stage *os;
	size_t		    i;

	/* An operator's action or a clean-up on it (engine-stack.c). */
	if (engine_stackop_busy(r->engine, r->app, st->environment))
		return (1);
	TAILQ_FOREACH(o, &r->engine->runs, entry) {
		if (o == r || o->row == NULL || strcmp(o->app, r->app) != 0)
			continue;
		for (i = 0; i < o->row->nstages; i++) {
			os = &o->row->stages[i];
			if (strcmp(os->environment, st->environment) != 0)
				continue;
			if (os->status == STORE_STAGE_EXECUTING ||
			    os->status == STORE_STAGE_WAITING_STACK ||
			    os->status == STORE_STAGE_WAITING_SERVICES)
				return (1);
		}
	}
	return (0);
}

/* In superseded mode, the id of a newer run of the app (0: none). */
int64_t
engine_newer_run(struct engine_run *r)
{
	const struct config_app *app = engine_run_app(r);
	struct engine_run	*o;

	if (app == NULL || app->mode != CONFIG_MODE_SUPERSEDED)
		return (0);
	for (o = TAILQ_NEXT(r, entry); o != NULL; o = TAILQ_NEXT(o, entry)) {
		if (strcmp(o->app, r->app) != 0)
			continue;
		/* A redeploy to one environment replaces nothing. */
		if (o->row != NULL && o->row->kind == STORE_RUN_ROLLBACK)
			continue;
		return (o->id);
	}
	return (0);
}

/* In queued mode, an older unfinished run of the app goes first. */
static int
engine_older_run(struct engine_run *r)
{
	struct engine_run *o;

	TAILQ_FOREACH(o, &r->engine->runs, entry) {
		if (o == r)
			break;
		if (strcmp(o->app, r->app) == 0)
			return (1);
	}
	return (0);
}

/* --- The state change ---------------------------------------------------- */

int
engine_txn_begin(struct engine_run *r)
{
	char *cause = NULL;

	if (store_begin(r->engine->store, &cause) != 0) {
		log_warnx("cannot begin a transition app=%s run=%lld: %s",
		    r->app, (long long)r->id, cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* Commits (ok) or rolls back; after a failure the run is reread at its
 * next step, as the store has it. */
int
engine_txn_end(struct engine_run *r, int ok)
{
	char *cause = NULL;

	if (ok && store_commit(r->engine->store, &cause) == 0) {
		engine_logs_flush(r, 1);
		return (0);
	}
	engine_logs_flush(r, 0);
	if (cause != NULL) {
		log_warnx("cannot commit a transition app=%s run=%lld: %s",
		    r->app, (long long)r->id, cause);
		free(cause);
	}
	store_rollback(r->engine->store);
	return (-1);
}

int
engine_audit_run(struct engine *e, int64_t run_id,
    const struct engine_actor *actor, const char *action, const char *detail)
{
	struct store_audit_in a;
	char		     *subject, *cause = NULL;
	int		      rc;

	subject = xasprintf("run %lld", (long long)run_id);
	memset(&a, 0, sizeof a);
	a.actor = actor != NULL && actor->user != NULL ? actor->user :
							 ENGINE_ACTOR;
	a.unix_user = actor != NULL ? actor->unix_user : NULL;
	a.action = action;
	a.subject = subject;
	a.run_id = run_id;
	a.detail = detail;
	if ((rc = store_append_audit(e->store, &a, &cause)) != 0) {
		log_warnx("cannot append to the audit log run=%lld: %s",
		    (long long)run_id, cause);
		free(cause);
	}
	free(subject);
	return (rc);
}

int
engine_audit(struct engine_run *r, const struct engine_actor *actor,
    const char *action, const char *detail)
{
	return (engine_audit_run(r->engine, r->id, actor, action, detail));
}

/*
 * Before an AWS mutation, or telling someone their decision is
 * recorded: the commits that led there are on disk (store_sync).
 */
int
engine_sync(struct engine *e)
{
	char *cause = NULL;

	if (store_sync(e->store, &cause) != 0) {
		log_warnx("cannot sync the database: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/*
 * Queues the messages of an event (notify.h) in the open transaction:
 * they commit with the transition that causes them, or not at all.
 */
int
engine_notify(struct engine *e, int64_t run_id, const struct store_stage *st,
    const char *event, const char *actor, const char *comment,
    const char *reason)
{
	struct notify_cause nc;
	char		   *cause = NULL;

	memset(&nc, 0, sizeof nc);
	nc.event = event;
	nc.run_id = run_id;
	if (st != NULL) {
		nc.stage_id = st->id;
		nc.attempt = st->attempt;
		nc.env = st->environment;
	}
	nc.actor = actor;
	nc.comment = comment;
	nc.reason = reason;
	if (notify_queue(e->store, e->config, &nc, &cause) != 0) {
		log_warnx("cannot queue the %s notification run=%lld: %s",
		    event, (long long)run_id, cause);
		free(cause);
		return (-1);
	}
	return (0);
}

void
engine_log_later(struct engine_run *r, char *line)
{
	r->logs = xreallocarray(r->logs, r->nlogs + 1, sizeof *r->logs);
	r->logs[r->nlogs++] = line;
}

static void
engine_logs_flush(struct engine_run *r, int committed)
{
	size_t i;

	for (i = 0; i < r->nlogs; i++) {
		if (committed)
			log_info("%s", r->logs[i]);
		else
			log_warnx("not committed: %s", r->logs[i]);
		free(r->logs[i]);
	}
	free(r->logs);
	r->logs = NULL;
	r->nlogs = 0;
}

/* The messages a stage's new status calls for. */
static int
engine_notify_enter(struct engine_run *r, struct store_stage *st,
    enum store_stage_status from)
{
	const char *event;

	switch (st->status) {
	case STORE_STAGE_AWAITING_APPROVAL:
		event = "approval_needed";
		break;
	case STORE_STAGE_AWAITING_GATE:
		event = "gate_needed";
		break;
	case STORE_STAGE_AWAITING_WINDOW:
		/* The approval's mail says when it will run. */
		event = "window_wait";
		break;
	case STORE_STAGE_FAILED:
		event = from == STORE_STAGE_CHECKING ? "checks_failed" :
						       "failed";
		break;
	case STORE_STAGE_EXPIRED:
		event = "failed";
		break;
	default:
		return (0);
	}
	return (
	    engine_notify(r->engine, r->id, st, event, NULL, NULL, st->reason));
}

/*
 * Writes a stage's new status (compare-and-set against st->status) in the
 * caller's transaction once the transition table allows it; st may be a
 * stage of another run than r (an automatic rollback marks the stage it
 * rolled back).  Only engine_enter and that mark call it; the caller
 * audits and updates st.
 */
int
engine_stage_set(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, const char *reason, char **cause)
{
	if ((engine_stage_moves(st->status) & (1u << to)) == 0) {
		log_warnx("bug: illegal transition refused app=%s run=%lld "
			  "env=%s stage %s -> %s",
		    r->app, (long long)st->run_id, st->environment,
		    store_stage_status_name(st->status),
		    store_stage_status_name(to));
		*cause = xasprintf("illegal transition of stage %s from %s "
				   "to %s",
		    st->environment, store_stage_status_name(st->status),
		    store_stage_status_name(to));
		return (-1);
	}
	return (store_set_stage_status(r->engine->store, st->id, st->status, to,
	    reason, cause));
}

/*
 * Whether the transition table (engine-states.c) forbids the move: a bug
 * in the engine, logged as one.
 */
static int
engine_illegal(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, enum store_run_status run_to)
{
	enum store_run_status run_from = r->row->status;

	if (st != NULL && to != 0 &&
	    (engine_stage_moves(st->status) & (1u << to)) == 0) {
		log_warnx("bug: illegal transition refused app=%s run=%lld "
			  "env=%s stage %s -> %s",
		    r->app, (long long)r->id, st->environment,
		    store_stage_status_name(st->status),
		    store_stage_status_name(to));
		return (-1);
	}
	if (run_to != 0 && run_to != run_from &&
	    (engine_run_moves(run_from) & (1u << run_to)) == 0) {
		log_warnx("bug: illegal transition refused app=%s run=%lld "
			  "run %s -> %s",
		    r->app, (long long)r->id, store_run_status_name(run_from),
		    store_run_status_name(run_to));
		return (-1);
	}
	return (0);
}

/*
 * An illegal move was asked for: nothing of it is written; instead the
 * stage (when it may still fail) and the run fail with the reason, in
 * the caller's transaction, so the run does not loop on the same bug.
 * -1 when even that is not possible (the caller rolls back).
 */
static int
engine_enter_failed(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, enum store_run_status run_to)
{
	enum store_stage_status sto = 0;
	enum store_run_status	rto = 0;
	char		       *reason;
	int			rc;

	if (st != NULL &&
	    (engine_stage_moves(st->status) & (1u << STORE_STAGE_FAILED)) != 0)
		sto = STORE_STAGE_FAILED;
	if ((engine_run_moves(r->row->status) & (1u << STORE_RUN_FAILED)) != 0)
		rto = STORE_RUN_FAILED;
	if (sto == 0 && rto == 0)
		return (-1);
	if (st != NULL && to != 0)
		reason = xasprintf("internal error: illegal transition of "
				   "stage %s from %s to %s",
		    st->environment, store_stage_status_name(st->status),
		    store_stage_status_name(to));
	else
		reason = xasprintf("internal error: illegal transition of "
				   "the run from %s to %s",
		    store_run_status_name(r->row->status),
		    store_run_status_name(run_to));
	rc = engine_enter(r, st, sto, rto, reason, NULL);
	free(reason);
	return (rc);
}

/*
 * The one function that changes a status: moves the stage (st not NULL,
 * to not 0) and the run (run_to not 0) inside the caller's transaction,
 * compare-and-set against the statuses the run was read with, appends
 * the audit entries and logs `old -> new`.  -1 when the store refused
 * (the caller rolls back).
 */
int
engine_enter(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, enum store_run_status run_to,
    const char *reason, const struct engine_actor *actor)
{
	struct store	       *s = r->engine->store;
	enum store_stage_status from;
	enum store_run_status	run_from;
	char		       *action, *cause = NULL;
	int			rc;

	if (engine_illegal(r, st, to, run_to) != 0)
		return (engine_enter_failed(r, st, to, run_to));
	if (st != NULL && to != 0) {
		from = st->status;
		if (engine_stage_set(r, st, to, reason, &cause) != 0)
			goto fail;
		action = xasprintf("stage %s %s -> %s", st->environment,
		    store_stage_status_name(from), store_stage_status_name(to));
		rc = engine_audit(r, actor, action, reason);
		free(action);
		if (rc != 0)
			return (-1);
		engine_log_later(r,
		    xasprintf("stage %s -> %s app=%s run=%lld "
			      "env=%s%s%s",
			store_stage_status_name(from),
			store_stage_status_name(to), r->app, (long long)r->id,
			st->environment, reason != NULL ? " reason=" : "",
			reason != NULL ? reason : ""));
		st->status = to;
		free(st->reason);
		st->reason = reason != NULL ? xstrdup(reason) : NULL;
		if (engine_notify_enter(r, st, from) != 0)
			return (-1);
	}
	if (run_to != 0) {
		run_from = r->row->status;
		if (store_set_run_status(s, r->id, run_from, run_to, reason,
			&cause) != 0)
			goto fail;
		action = xasprintf("run %s -> %s",
		    store_run_status_name(run_from),
		    store_run_status_name(run_to));
		rc = engine_audit(r, actor, action, reason);
		free(action);
		if (rc != 0)
			return (-1);
		engine_log_later(r,
		    xasprintf("run %s -> %s app=%s "
			      "run=%lld%s%s",
			store_run_status_name(run_from),
			store_run_status_name(run_to), r->app, (long long)r->id,
			reason != NULL ? " reason=" : "",
			reason != NULL ? reason : ""));
		r->row->status = run_to;
	}
	r->polls = 0;
	r->unreadable = 0;
	return (0);

fail:
	log_warnx("transition refused app=%s run=%lld: %s", r->app,
	    (long long)r->id, cause);
	free(cause);
	return (-1);
}

/* engine_enter in a transaction of its own. */
int
engine_move(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, enum store_run_status run_to,
    const char *reason)
{
	if (engine_txn_begin(r) != 0)
		return (-1);
	return (engine_txn_end(r,
	    engine_enter(r, st, to, run_to, reason, NULL) == 0));
}

/* Ends a run at a safe point (cancel, supersede): the stage and the run
 * in one transaction, then the change set that will never run goes. */
static void
engine_end_run(struct engine_run *r, struct store_stage *st,
    enum store_stage_status to, enum store_run_status run_to,
    const char *reason, const struct engine_actor *actor)
{
	enum store_stage_status was = st->status;

	if (engine_txn_begin(r) != 0) {
		engine_poll_later(r);
		return;
	}
	/* Ended while checking: the release was deployed all the same. */
	if (engine_txn_end(r,
		(was != STORE_STAGE_CHECKING ||
		    store_record_deployment(r->engine->store, st->id, NULL) ==
			0) &&
		    engine_enter(r, st, to, run_to, reason, actor) == 0) != 0) {
		engine_poll_later(r);
		return;
	}
	if (was == STORE_STAGE_CREATING_CHANGE_SET ||
	    was == STORE_STAGE_AWAITING_APPROVAL ||
	    was == STORE_STAGE_AWAITING_WINDOW || was == STORE_STAGE_EXECUTING)
		engine_delete_change_set(r, st);
	engine_schedule(r, 0);
}

/* --- The run-level step -------------------------------------------------- */

static int
engine_safe_point(struct store_stage *st)
{
	return (engine_stage_safe_point(st->status));
}

/* A pending cancellation or a newer run ends the run here; 1 if so. */
static int
engine_check_end(struct engine_run *r, struct store_stage *st)
{
	struct engine_actor actor;
	char		   *by = NULL, *why = NULL, *reason;
	int64_t		    newer;

	if (store_run_cancel_request(r->engine->store, r->id, &by, &why,
		NULL) == 0) {
		memset(&actor, 0, sizeof actor);
		actor.user = by;
		actor.via = "engine";
		reason = xasprintf("cancelled by %s%s%s", by,
		    why != NULL ? ": " : "", why != NULL ? why : "");
		engine_end_run(r, st, STORE_STAGE_CANCELLED,
		    STORE_RUN_CANCELLED, reason, &actor);
		free(reason);
		free(by);
		free(why);
		return (1);
	}
	if ((newer = engine_newer_run(r)) != 0) {
		reason = xasprintf("superseded by run %lld", (long long)newer);
		engine_end_run(r, st, STORE_STAGE_SUPERSEDED,
		    STORE_RUN_SUPERSEDED, reason, NULL);
		free(reason);
		return (1);
	}
	return (0);
}

static void
engine_step(struct engine_run *r)
{
	struct engine	   *e = r->engine;
	struct store_stage *st;
	char		   *cause = NULL, *reason;

	if (e->stopping || r->call != NULL)
		return;
	store_run_free(r->row);
	r->row = NULL;
	if (store_get_run(e->store, r->id, &r->row, &cause) != 0) {
		log_warnx("cannot read run app=%s run=%lld: %s", r->app,
		    (long long)r->id, cause);
		free(cause);
		engine_poll_later(r);
		return;
	}
	if (store_run_status_finished(r->row->status)) {
		log_debug(LOG_CAT_ENGINE,
		    "run finished app=%s run=%lld "
		    "status=%s",
		    r->app, (long long)r->id,
		    store_run_status_name(r->row->status));
		reason = xstrdup(r->app);
		engine_run_drop(r);
		engine_kick_all(e, reason); /* queued runs, busy stacks */
		free(reason);
		return;
	}
	if (r->row->nstages == 0) {
		if (engine_move(r, NULL, 0, STORE_RUN_FAILED, "no stages") != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		return;
	}
	if (engine_run_app(r) == NULL) {
		/* A reload dropped the app (by mistake?): the run waits for
		   it to come back, unless an operator cancels it. */
		if ((st = engine_current_stage(r)) != NULL &&
		    engine_safe_point(st) && engine_check_end(r, st))
			return;
		log_warnx("run waits: app %s is not configured app=%s "
			  "run=%lld",
		    r->app, r->app, (long long)r->id);
		return;
	}

	if (r->row->status == STORE_RUN_RECEIVED) {
		st = &r->row->stages[0];
		if (engine_check_end(r, st))
			return;
		if (engine_run_app(r)->mode == CONFIG_MODE_QUEUED &&
		    engine_older_run(r)) {
			/* Its turn comes when the older run ends. */
			log_debug(LOG_CAT_ENGINE, "run queued app=%s run=%lld",
			    r->app, (long long)r->id);
			return;
		}
		if (engine_move(r, NULL, 0, STORE_RUN_RUNNING, NULL) != 0) {
			engine_poll_later(r);
			return;
		}
	}

	if ((st = engine_current_stage(r)) == NULL) {
		if (engine_move(r, NULL, 0, STORE_RUN_SUCCEEDED, NULL) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		return;
	}
	if (store_stage_status_finished(st->status)) {
		/* A stage ended but its run did not (never by this engine):
		   end the run the same way. */
		if (engine_move(r, NULL, 0, STORE_RUN_FAILED,
			st->reason != NULL ? st->reason : "a stage failed") !=
		    0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		return;
	}
	if (engine_safe_point(st) && engine_check_end(r, st))
		return;
	engine_stage_step(r, st);
}

/* --- Life cycle ---------------------------------------------------------- */

static void
engine_wake_cb(uv_async_t *h)
{
	struct engine *e = h->data;

	engine_kick_all(e, NULL);
}

static void
engine_wake_closed_cb(uv_handle_t *h)
{
	engine_handle_closed(h->data);
}

static void
engine_syncer_closed_cb(void *arg)
{
	engine_handle_closed(arg);
}

struct engine *
engine_new(uv_loop_t *loop, struct store *store, struct aws_context *aws,
    const struct config *config)
{
	struct engine *e;
	const char    *v;

	e = xcalloc(1, sizeof *e);
	e->loop = loop;
	e->store = store;
	e->aws = aws;
	e->config = config;
	TAILQ_INIT(&e->runs);
	TAILQ_INIT(&e->stackops);
	e->syncer = syncer_new(loop, store);
	uv_async_init(loop, &e->wake, engine_wake_cb);
	e->wake.data = e;
	e->poll_base_ms = 1000;
	e->poll_max_ms = 30000;
	/* Tests shorten the polls (SHIPGATE_ENGINE_POLL_MS=20). */
	if ((v = getenv("SHIPGATE_ENGINE_POLL_MS")) != NULL && atoi(v) > 0)
		engine_set_poll(e, atoi(v), 0);
	return (e);
}

void
engine_set_poll(struct engine *e, int64_t base_ms, int64_t max_ms)
{
	e->poll_base_ms = base_ms > 0 ? base_ms : 1000;
	e->poll_max_ms = max_ms > 0 ? max_ms : 30 * e->poll_base_ms;
	if (e->poll_max_ms < e->poll_base_ms)
		e->poll_max_ms = e->poll_base_ms;
}

int
engine_start(struct engine *e, char **cause)
{
	struct store_runs_page *p;
	char		       *why = NULL;
	size_t			i;

	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if (store_unfinished_runs(e->store, &p, &why) != 0) {
		engine_fail(cause, ENGINE_ESTORE,
		    "cannot reload the "
		    "unfinished runs: %s",
		    why);
		free(why);
		return (ENGINE_ESTORE);
	}
	for (i = 0; i < p->n; i++)
		engine_run_add(e, p->runs[i].id, p->runs[i].app);
	engine_stackops_resume(e);
	log_info("engine started runs=%zu", p->n);
	store_runs_page_free(p);
	e->started = 1;
	return (0);
}

void
engine_reconfigure(struct engine *e, const struct config *config)
{
	e->config = config;
	engine_kick_all(e, NULL);
}

void
engine_stop(struct engine *e, void (*cb)(void *), void *arg)
{
	struct engine_run *r;

	if (e->stopping)
		return;
	e->stopping = 1;
	e->stop_cb = cb;
	e->stop_arg = arg;
	while ((r = TAILQ_FIRST(&e->runs)) != NULL) {
		uv_timer_stop(&r->timer);
		engine_run_drop(r);
	}
	engine_stackops_stop(e);
	e->closing++;
	uv_close((uv_handle_t *)&e->wake, engine_wake_closed_cb);
	e->closing++;
	syncer_close(e->syncer, engine_syncer_closed_cb, e);
}

void
engine_wake(struct engine *e)
{
	uv_async_send(&e->wake);
}

size_t
engine_active_runs(const struct engine *e)
{
	return (e->nruns);
}

/* --- Releases and runs --------------------------------------------------- */

/*
 * A release that failed validation gets a run in state `invalid`, with
 * the release's reason and no stage: the history shows it, and nothing
 * is ever deployed from it.  Handed over again, it keeps its one run.
 */
static int
engine_record_invalid(struct engine *e, const struct store_release *rel,
    int64_t *run_idp, char **cause)
{
	struct store_run_in in;
	char		   *why = NULL;
	int64_t		    run_id = 0;
	int		    rc = 0;

	if (store_release_run(e->store, rel->id, &run_id, &why) != 0) {
		rc = engine_fail(cause, ENGINE_ESTORE, "%s", why);
		goto out;
	}
	if (run_id != 0)
		goto done;
	memset(&in, 0, sizeof in);
	in.release_id = rel->id;
	in.kind = STORE_RUN_NORMAL;
	in.status = STORE_RUN_INVALID;
	in.reason = rel->reason != NULL ? rel->reason : "invalid release";
	if (store_begin(e->store, &why) != 0 ||
	    store_create_run(e->store, &in, &run_id, &why) != 0)
		goto fail;
	if (engine_audit_run(e, run_id, NULL, "release invalid", in.reason) !=
		0 ||
	    engine_notify(e, run_id, NULL, "release_invalid", NULL, NULL,
		in.reason) != 0 ||
	    store_commit(e->store, &why) != 0)
		goto fail;
	log_info("release invalid, not run app=%s release=%lld run=%lld: %s",
	    rel->app, (long long)rel->id, (long long)run_id, in.reason);
done:
	if (run_idp != NULL)
		*run_idp = run_id;
	goto out;
fail:
	store_rollback(e->store);
	rc = engine_fail(cause, ENGINE_ESTORE,
	    "cannot record invalid release "
	    "%lld: %s",
	    (long long)rel->id, why != NULL ? why : "unknown");
out:
	free(why);
	return (rc);
}

int
engine_submit_release(struct engine *e, int64_t release_id, int64_t *run_idp,
    char **cause)
{
	struct store_release	*rel = NULL;
	const struct config_app *app;
	struct store_stage_in	*stages = NULL;
	struct store_run_in	 in;
	struct engine_run	*r;
	char			*why = NULL, *detail;
	int64_t			 run_id = 0;
	size_t			 i;
	int			 rc = 0;

	if (run_idp != NULL)
		*run_idp = 0;
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if (store_get_release(e->store, release_id, &rel, &why) != 0) {
		rc = engine_fail(cause, ENGINE_ENOTFOUND, "%s", why);
		goto out;
	}
	if (rel->status == STORE_RELEASE_INVALID) {
		rc = engine_record_invalid(e, rel, run_idp, cause);
		goto out;
	}
	if (rel->status != STORE_RELEASE_VALID) {
		log_info("release not run app=%s release=%lld status=%s",
		    rel->app, (long long)release_id,
		    store_release_status_name(rel->status));
		goto out;
	}
	if ((app = config_find_app(e->config, rel->app)) == NULL) {
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "release %lld is of "
		    "app %s, which is not configured",
		    (long long)release_id, rel->app);
		goto out;
	}
	/* Handed over again (intake after a crash): the same run. */
	if (store_release_run(e->store, release_id, &run_id, &why) != 0) {
		rc = engine_fail(cause, ENGINE_ESTORE, "%s", why);
		goto out;
	}
	if (run_id != 0) {
		log_info("release has its run already app=%s release=%lld "
			 "run=%lld",
		    rel->app, (long long)release_id, (long long)run_id);
		if (run_idp != NULL)
			*run_idp = run_id;
		goto out;
	}
	stages = xcalloc(app->nenvironments, sizeof *stages);
	for (i = 0; i < app->nenvironments; i++) {
		stages[i].environment = app->environments[i].name;
		stages[i].required_approvals = app->environments[i]
						   .required_approvals;
	}
	memset(&in, 0, sizeof in);
	in.release_id = release_id;
	in.kind = STORE_RUN_NORMAL;
	in.stages = stages;
	in.nstages = app->nenvironments;
	if (store_begin(e->store, &why) != 0 ||
	    store_create_run(e->store, &in, &run_id, &why) != 0) {
		store_rollback(e->store);
		rc = engine_fail(cause, ENGINE_ESTORE,
		    "cannot create a run "
		    "of release %lld: %s",
		    (long long)release_id, why);
		goto out;
	}
	r = engine_run_add(e, run_id, rel->app);
	detail = xasprintf("release %lld version %s", (long long)release_id,
	    rel->version);
	rc = engine_audit(r, NULL, "run created", detail);
	free(detail);
	if (rc != 0 || store_commit(e->store, &why) != 0) {
		store_rollback(e->store);
		engine_run_drop(r);
		rc = engine_fail(cause, ENGINE_ESTORE,
		    "cannot create a run "
		    "of release %lld%s%s",
		    (long long)release_id, why != NULL ? ": " : "",
		    why != NULL ? why : "");
		goto out;
	}
	log_info("run created app=%s run=%lld release=%lld version=%s",
	    rel->app, (long long)run_id, (long long)release_id, rel->version);
	/* Older runs waiting at an approval or a gate see the newer one. */
	engine_kick_all(e, rel->app);
	if (run_idp != NULL)
		*run_idp = run_id;

out:
	free(why);
	free(stages);
	store_release_free(rel);
	return (rc);
}

/* --- Operators' and approvers' actions ----------------------------------- */

/* The user of an actor, or EFORBIDDEN. */
static int
engine_actor_user(struct engine *e, const struct engine_actor *actor,
    const struct config_user **up, char **cause)
{
	*up = NULL;
	if (actor == NULL || actor->user == NULL)
		return (engine_fail(cause, ENGINE_EFORBIDDEN, "no user given"));
	if ((*up = config_find_user(e->config, actor->user)) == NULL)
		return (engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s is not a "
		    "configured user",
		    actor->user));
	return (0);
}

/* See struct engine_actor. */
static const char *
engine_person(const struct engine_actor *actor)
{
	if (actor->via != NULL && strcmp(actor->via, "cli") == 0 &&
	    actor->person != NULL)
		return (actor->person);
	return (actor->user);
}

/* UTF-8 characters (not bytes): what a person typing counts. */
static size_t
engine_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/* Every action's comment, whichever way it came (CLI, portal, API). */
static int
engine_comment_ok(const char *comment, char **cause)
{
	if (comment != NULL && engine_chars(comment) > ENGINE_COMMENT_MAX)
		return (engine_fail(cause, ENGINE_EINVAL,
		    "the comment is too "
		    "long: at most %d characters",
		    ENGINE_COMMENT_MAX));
	return (0);
}

/* The app and environment an operator's action names, both configured. */
static int
engine_action_env(struct engine *e, const struct engine_action *a, char **cause)
{
	const struct config_app *app;

	if (a->app == NULL ||
	    (app = config_find_app(e->config, a->app)) == NULL)
		return (engine_fail(cause, ENGINE_ENOTFOUND, "no app %s",
		    a->app != NULL ? a->app : "given"));
	if (a->env == NULL || config_find_environment(app, a->env) == NULL)
		return (engine_fail(cause, ENGINE_ENOTFOUND,
		    "app %s has no "
		    "environment %s",
		    a->app, a->env != NULL ? a->env : "given"));
	return (0);
}

/*
 * The comment of an operator's action on a stack or an environment: one
 * that says why, and is fit to keep.
 */
static int
engine_comment_required(const char *comment, char **cause)
{
	if (comment == NULL || comment[strspn(comment, " \t\r\n")] == '\0')
		return (engine_fail(cause, ENGINE_EINVAL,
		    "a comment is "
		    "required: say why (-m COMMENT)"));
	return (engine_comment_ok(comment, cause));
}

static int
engine_in_groups(const struct config_user *u, const struct config_strings *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (config_user_in_group(u, g->items[i]))
			return (1);
	return (0);
}

static char *
engine_groups_text(const struct config_strings *g)
{
	char  *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < g->n; i++) {
		t = xasprintf("%s%s%s", s, i > 0 ? ", " : "", g->items[i]);
		free(s);
		s = t;
	}
	if (g->n == 0) {
		free(s);
		s = xstrdup("(no group configured)");
	}
	return (s);
}

static int
engine_check_operator(struct engine *e, const struct engine_actor *actor,
    const char *what, char **cause)
{
	const struct config_user *u;
	int			  rc;

	if ((rc = engine_actor_user(e, actor, &u, cause)) != 0)
		return (rc);
	if (!config_user_in_group(u, "operators"))
		return (engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s may not %s: "
		    "not in operators",
		    u->name, what));
	return (0);
}

static enum store_via
engine_via(const struct engine_actor *actor)
{
	if (actor->via != NULL && strcmp(actor->via, "portal") == 0)
		return (STORE_VIA_PORTAL);
	if (actor->via != NULL && strcmp(actor->via, "api") == 0)
		return (STORE_VIA_API);
	return (STORE_VIA_CLI);
}

const char *
engine_actor_via(struct engine *e, const struct engine_actor *actor)
{
	const char *signin;

	if (actor == NULL || actor->via == NULL)
		return ("cli");
	/* The control socket's peer is a Unix user, whoever they are. */
	if ((strcmp(actor->via, "portal") == 0 ||
		strcmp(actor->via, "api") == 0) &&
	    (signin = people_via(e->config->people, actor->user)) != NULL)
		return (signin);
	return (actor->via);
}

static int
engine_store_code(int rc)
{
	switch (rc) {
	case STORE_ENOTFOUND:
		return (ENGINE_ENOTFOUND);
	case STORE_ECONFLICT:
		return (ENGINE_ECONFLICT);
	case STORE_EINVAL:
		return (ENGINE_EINVAL);
	}
	return (ENGINE_ESTORE);
}

/* Reads a run for an action: ENOTFOUND when there is none. */
static int
engine_action_run(struct engine *e, int64_t run_id, struct store_run **rp,
    char **cause)
{
	char *why = NULL;
	int   rc;

	*rp = NULL;
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if ((rc = store_get_run(e->store, run_id, rp, &why)) != 0) {
		rc = engine_fail(cause, engine_store_code(rc), "%s", why);
		free(why);
	}
	return (rc);
}

static struct store_stage *
engine_row_stage(struct store_run *run, const char *env,
    enum store_stage_status want)
{
	size_t i;

	for (i = 0; i < run->nstages; i++) {
		if (env != NULL && strcmp(run->stages[i].environment, env) == 0)
			return (&run->stages[i]);
		if (env == NULL && run->stages[i].status == want)
			return (&run->stages[i]);
	}
	return (NULL);
}

/* Records a decision with its audit entry in one transaction. */
static int
engine_record_decision(struct engine *e, struct store_run *run,
    struct store_stage *st, int gate, enum store_decision decision,
    const struct engine_actor *actor, const char *comment, char **cause)
{
	struct store_approval_in a;
	struct store_audit_in	 au;
	const char		*event;
	char			*why = NULL, *prior = NULL, *subject, *detail;
	const char		*signin;
	int			 rc;

	/* One person, one voice, under whatever name. */
	rc = store_approval_by_person(e->store, st->id, st->attempt, gate,
	    engine_person(actor), &prior, &why);
	if (rc == 0) {
		if (strcmp(prior, actor->user) == 0)
			rc = engine_fail(cause, ENGINE_ECONFLICT,
			    "%s has "
			    "already decided on %s of run %lld",
			    prior, st->environment, (long long)run->id);
		else
			rc = engine_fail(cause, ENGINE_EFORBIDDEN,
			    "%s has "
			    "already decided on %s of run %lld as %s: a quorum "
			    "needs distinct people, not names",
			    engine_person(actor), st->environment,
			    (long long)run->id, prior);
		free(prior);
		return (rc);
	}
	if (rc != STORE_ENOTFOUND) {
		rc = engine_fail(cause, engine_store_code(rc), "%s", why);
		free(why);
		return (rc);
	}

	memset(&a, 0, sizeof a);
	a.stage_id = st->id;
	a.attempt = st->attempt;
	a.gate = gate;
	a.user = actor->user;
	a.person = engine_person(actor);
	a.decision = decision;
	a.comment = comment;
	a.via = engine_via(actor);
	/* A person the identity provider signed in: "via oidc" (or alb). */
	signin = a.via != STORE_VIA_CLI ? engine_actor_via(e, actor) : NULL;
	if (signin != NULL &&
	    (strcmp(signin, "oidc") == 0 || strcmp(signin, "alb") == 0))
		a.signin = signin;
	subject = xasprintf("run %lld", (long long)run->id);
	detail = xasprintf("%s attempt %d via %s%s%s", st->environment,
	    st->attempt, signin != NULL ? signin : store_via_name(a.via),
	    comment != NULL ? ": " : "", comment != NULL ? comment : "");
	memset(&au, 0, sizeof au);
	au.actor = actor->user;
	au.unix_user = actor->unix_user;
	au.action = store_decision_name(decision);
	au.subject = subject;
	au.run_id = run->id;
	au.detail = detail;
	/* An authorisation is followed by the next stage's own mail. */
	event = decision == STORE_DECISION_APPROVE ? "approved" :
		decision == STORE_DECISION_REJECT  ? "rejected" :
						     NULL;
	if ((rc = store_begin(e->store, &why)) == 0 &&
	    (rc = store_record_approval(e->store, &a, &why)) == 0 &&
	    (rc = store_append_audit(e->store, &au, &why)) == 0) {
		if (event != NULL && engine_notify(e, run->id, st, event,
					 actor->user, comment, NULL) != 0) {
			rc = STORE_EIO;
			why = xstrdup("cannot queue its notification");
		} else
			rc = store_commit(e->store, &why);
	}
	if (rc != 0) {
		store_rollback(e->store);
		rc = engine_fail(cause, engine_store_code(rc), "%s", why);
	} else {
		/* The person is told it is recorded: make it so. */
		(void)engine_sync(e);
		log_info("%s recorded app=%s run=%lld env=%s user=%s via=%s",
		    store_decision_name(decision), run->app, (long long)run->id,
		    st->environment, actor->user, store_via_name(a.via));
	}
	free(why);
	free(subject);
	free(detail);
	return (rc);
}

static void
engine_kick_run(struct engine *e, struct store_run *run)
{
	struct engine_run *r;

	if ((r = engine_find_run(e, run->id)) != NULL && r->call == NULL)
		engine_schedule(r, 0);
}

int
engine_approve(struct engine *e, int64_t run_id, const char *env,
    const struct engine_actor *actor, const char *comment, char **cause)
{
	const struct config_user	*u;
	const struct config_app		*app;
	const struct config_environment *ce;
	struct store_run		*run = NULL;
	struct store_stage		*st;
	char				*groups, *blocked = NULL;
	int				 rc;

	if ((rc = engine_actor_user(e, actor, &u, cause)) != 0)
		return (rc);
	if ((rc = engine_comment_ok(comment, cause)) != 0)
		return (rc);
	if ((rc = engine_action_run(e, run_id, &run, cause)) != 0)
		return (rc);
	if ((st = engine_row_stage(run, env, STORE_STAGE_AWAITING_APPROVAL)) ==
	    NULL) {
		rc = engine_fail(cause,
		    env != NULL ? ENGINE_EINVAL : ENGINE_ECONFLICT,
		    env != NULL ? "run %lld has no stage %s" :
				  "run %lld awaits no approval",
		    (long long)run_id, env);
		goto out;
	}
	if ((app = config_find_app(e->config, run->app)) == NULL ||
	    (ce = config_find_environment(app, st->environment)) == NULL) {
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "%s %s is not "
		    "configured",
		    run->app, st->environment);
		goto out;
	}
	if (!engine_in_groups(u, &ce->approvers)) {
		groups = engine_groups_text(&ce->approvers);
		rc = engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s may not approve "
		    "%s: not in %s",
		    u->name, st->environment, groups);
		free(groups);
		goto out;
	}
	if (!ce->allow_self_approval && perm_is_author(u, run->author)) {
		rc = engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s may not approve "
		    "%s: the release's author may not approve it there",
		    u->name, st->environment);
		goto out;
	}
	if (st->status != STORE_STAGE_AWAITING_APPROVAL ||
	    run->status != STORE_RUN_RUNNING) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld stage %s "
		    "is %s, not awaiting approval",
		    (long long)run_id, st->environment,
		    store_stage_status_name(st->status));
		goto out;
	}
	/* drift: block: not before an operator acknowledged the drift. */
	if ((rc = engine_drift_blocks(e, st, ce, &blocked)) != 0) {
		rc = rc < 0 ?
			 engine_fail(cause, ENGINE_ESTORE,
			     "cannot read the drift of %s", st->environment) :
			 engine_fail(cause, ENGINE_ECONFLICT,
			     "run %lld stage %s may not be approved: %s",
			     (long long)run_id, st->environment, blocked);
		free(blocked);
		goto out;
	}
	if ((rc = engine_record_decision(e, run, st, 0, STORE_DECISION_APPROVE,
		 actor, comment, cause)) != 0)
		goto out;
	engine_kick_run(e, run);
out:
	store_run_free(run);
	return (rc);
}

int
engine_reject(struct engine *e, int64_t run_id, const char *env,
    const struct engine_actor *actor, const char *comment, char **cause)
{
	const struct config_user	*u;
	const struct config_app		*app;
	const struct config_environment *ce;
	struct store_run		*run = NULL;
	struct store_stage		*st;
	const struct config_strings	*groups;
	char				*names;
	int				 rc, gate;

	if ((rc = engine_actor_user(e, actor, &u, cause)) != 0)
		return (rc);
	if ((rc = engine_comment_ok(comment, cause)) != 0)
		return (rc);
	if (comment == NULL || comment[strspn(comment, " \t\r\n")] == '\0')
		return (engine_fail(cause, ENGINE_EINVAL,
		    "a rejection needs a "
		    "comment saying why"));
	if ((rc = engine_action_run(e, run_id, &run, cause)) != 0)
		return (rc);
	st = engine_row_stage(run, env, STORE_STAGE_AWAITING_APPROVAL);
	if (st == NULL && env == NULL)
		st = engine_row_stage(run, NULL, STORE_STAGE_AWAITING_GATE);
	if (st == NULL) {
		rc = engine_fail(cause,
		    env != NULL ? ENGINE_EINVAL : ENGINE_ECONFLICT,
		    env != NULL ? "run %lld has no stage %s" :
				  "run %lld awaits no decision",
		    (long long)run_id, env);
		goto out;
	}
	if (run->status != STORE_RUN_RUNNING ||
	    (st->status != STORE_STAGE_AWAITING_APPROVAL &&
		st->status != STORE_STAGE_AWAITING_GATE)) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld stage %s "
		    "is %s, not awaiting a decision",
		    (long long)run_id, st->environment,
		    store_stage_status_name(st->status));
		goto out;
	}
	gate = st->status == STORE_STAGE_AWAITING_GATE;
	if ((app = config_find_app(e->config, run->app)) == NULL ||
	    (ce = config_find_environment(app, st->environment)) == NULL) {
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "%s %s is not "
		    "configured",
		    run->app, st->environment);
		goto out;
	}
	groups = gate ? &ce->gate : &ce->approvers;
	if (!engine_in_groups(u, groups) &&
	    !config_user_in_group(u, "operators")) {
		names = engine_groups_text(groups);
		rc = engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s may not reject "
		    "%s: not in %s or operators",
		    u->name, st->environment, names);
		free(names);
		goto out;
	}
	if ((rc = engine_record_decision(e, run, st, gate,
		 STORE_DECISION_REJECT, actor, comment, cause)) != 0)
		goto out;
	engine_kick_run(e, run);
out:
	store_run_free(run);
	return (rc);
}

int
engine_authorise(struct engine *e, int64_t run_id,
    const struct engine_actor *actor, const char *comment, char **cause)
{
	const struct config_user	*u;
	const struct config_app		*app;
	const struct config_environment *ce;
	struct store_run		*run = NULL;
	struct store_stage		*st;
	char				*names;
	int				 rc;

	if ((rc = engine_actor_user(e, actor, &u, cause)) != 0)
		return (rc);
	if ((rc = engine_comment_ok(comment, cause)) != 0)
		return (rc);
	if ((rc = engine_action_run(e, run_id, &run, cause)) != 0)
		return (rc);
	if (run->status != STORE_RUN_RUNNING ||
	    (st = engine_row_stage(run, NULL, STORE_STAGE_AWAITING_GATE)) ==
		NULL) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld awaits no "
		    "promotion gate",
		    (long long)run_id);
		goto out;
	}
	if ((app = config_find_app(e->config, run->app)) == NULL ||
	    (ce = config_find_environment(app, st->environment)) == NULL) {
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "%s %s is not "
		    "configured",
		    run->app, st->environment);
		goto out;
	}
	if (!engine_in_groups(u, &ce->gate)) {
		names = engine_groups_text(&ce->gate);
		rc = engine_fail(cause, ENGINE_EFORBIDDEN,
		    "%s may not "
		    "authorise promotion beyond %s: not in %s",
		    u->name, st->environment, names);
		free(names);
		goto out;
	}
	if ((rc = engine_record_decision(e, run, st, 1,
		 STORE_DECISION_AUTHORISE, actor, comment, cause)) != 0)
		goto out;
	engine_kick_run(e, run);
out:
	store_run_free(run);
	return (rc);
}

/* An operator's action recorded in the audit log, in its own
 * transaction or the caller's. */
static int
engine_action_audit(struct engine *e, int64_t run_id,
    const struct engine_actor *actor, const char *action, const char *detail,
    char **cause)
{
	struct store_audit_in au;
	char		     *subject, *text, *why = NULL;
	int		      rc;

	subject = xasprintf("run %lld", (long long)run_id);
	text = xasprintf("via %s%s%s", engine_actor_via(e, actor),
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	memset(&au, 0, sizeof au);
	au.actor = actor->user;
	au.unix_user = actor->unix_user;
	au.action = action;
	au.subject = subject;
	au.run_id = run_id;
	au.detail = text;
	if ((rc = store_append_audit(e->store, &au, &why)) != 0) {
		rc = engine_fail(cause, ENGINE_ESTORE, "%s", why);
		free(why);
	}
	free(subject);
	free(text);
	return (rc);
}

int
engine_cancel(struct engine *e, int64_t run_id,
    const struct engine_actor *actor, const char *reason, char **cause)
{
	struct engine_run *r;
	struct store_run  *run = NULL;
	char		  *why = NULL;
	int		   rc;

	if ((rc = engine_check_operator(e, actor, "cancel runs", cause)) != 0)
		return (rc);
	if ((rc = engine_comment_ok(reason, cause)) != 0)
		return (rc);
	if ((rc = engine_action_run(e, run_id, &run, cause)) != 0)
		return (rc);
	if (store_run_status_finished(run->status)) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld is %s "
		    "already",
		    (long long)run_id, store_run_status_name(run->status));
		goto out;
	}
	if (store_begin(e->store, &why) != 0 ||
	    store_request_cancel(e->store, run_id, actor->user, reason, &why) !=
		0 ||
	    engine_action_audit(e, run_id, actor, "cancel", reason, cause) !=
		0 ||
	    store_commit(e->store, &why) != 0) {
		store_rollback(e->store);
		if (why != NULL)
			rc = engine_fail(cause, ENGINE_ESTORE, "%s", why);
		else
			rc = ENGINE_ESTORE;
		goto out;
	}
	(void)engine_sync(e);
	log_info("cancel requested app=%s run=%lld user=%s", run->app,
	    (long long)run_id, actor->user);
	/* Checks may retry for minutes: stop them, the run ends at once. */
	if ((r = engine_find_run(e, run_id)) != NULL)
		engine_checks_cancel(r);
	engine_kick_run(e, run);
out:
	free(why);
	store_run_free(run);
	return (rc);
}

int
engine_retry(struct engine *e, int64_t run_id, const char *env,
    const struct engine_actor *actor, char **cause)
{
	struct store_run   *run = NULL;
	struct store_stage *st;
	struct engine_run  *r;
	char		   *why = NULL, *detail = NULL;
	int		    rc;

	if ((rc = engine_check_operator(e, actor, "retry stages", cause)) != 0)
		return (rc);
	if ((rc = engine_action_run(e, run_id, &run, cause)) != 0)
		return (rc);
	if ((st = engine_row_stage(run, env, STORE_STAGE_FAILED)) == NULL) {
		rc = engine_fail(cause,
		    env != NULL ? ENGINE_EINVAL : ENGINE_ECONFLICT,
		    env != NULL ? "run %lld has no stage %s" :
				  "run %lld has no failed stage",
		    (long long)run_id, env);
		goto out;
	}
	if (st->status != STORE_STAGE_FAILED ||
	    run->status != STORE_RUN_FAILED) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld stage %s "
		    "is %s: only a failed stage of a failed run is retried",
		    (long long)run_id, st->environment,
		    store_stage_status_name(st->status));
		goto out;
	}
	if (engine_find_run(e, run_id) != NULL) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld is still "
		    "being finished",
		    (long long)run_id);
		goto out;
	}
	/* The run comes back into memory with its row, and the one
	   transition puts the stage back to pending for a new attempt. */
	r = engine_run_add(e, run->id, run->app);
	r->row = run;
	run = NULL;
	st = engine_row_stage(r->row, st->environment, 0);
	detail = xasprintf("%s attempt %d", st->environment, st->attempt + 1);
	if (engine_txn_begin(r) != 0) {
		rc = engine_fail(cause, ENGINE_ESTORE, "the database is busy");
		goto out;
	}
	if (engine_action_audit(e, run_id, actor, "retry", detail, NULL) != 0 ||
	    store_stage_set_change_set(e->store, st->id, st->attempt + 1, NULL,
		&why) != 0 ||
	    store_stage_set_deadline(e->store, st->id, 0, &why) != 0 ||
	    engine_enter(r, st, STORE_STAGE_PENDING, STORE_RUN_RUNNING, NULL,
		actor) != 0 ||
	    engine_txn_end(r, 1) != 0) {
		store_rollback(e->store);
		rc = engine_fail(cause, ENGINE_ESTORE,
		    "cannot retry run "
		    "%lld%s%s",
		    (long long)run_id, why != NULL ? ": " : "",
		    why != NULL ? why : "");
	} else
		(void)engine_sync(e);
	engine_schedule(r, 0);
out:
	free(detail);
	free(why);
	store_run_free(run);
	return (rc);
}

int
engine_redeploy(struct engine *e, int64_t release_id, const char *env,
    const struct engine_actor *actor, int64_t *run_idp, char **cause)
{
	struct store_release		*rel = NULL;
	const struct config_app		*app;
	const struct config_environment *ce;
	struct store_stage_in		 stage;
	struct store_run_in		 in;
	struct engine_run		*r;
	char				*why = NULL, *detail;
	int64_t				 run_id = 0;
	int				 rc, deployed;

	if (run_idp != NULL)
		*run_idp = 0;
	if ((rc = engine_check_operator(e, actor, "redeploy", cause)) != 0)
		return (rc);
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if ((rc = store_get_release(e->store, release_id, &rel, &why)) != 0) {
		rc = engine_fail(cause, engine_store_code(rc), "%s", why);
		goto out;
	}
	if ((app = config_find_app(e->config, rel->app)) == NULL ||
	    env == NULL || (ce = config_find_environment(app, env)) == NULL) {
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "%s has no environment "
		    "%s",
		    rel->app, env != NULL ? env : "(none given)");
		goto out;
	}
	if (rel->status != STORE_RELEASE_VALID ||
	    store_release_deployed(e->store, release_id, &deployed, &why) !=
		0 ||
	    !deployed) {
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "release %lld (%s) "
		    "was never deployed: only an earlier successful release "
		    "is redeployed",
		    (long long)release_id,
		    rel->version != NULL ? rel->version : "invalid");
		goto out;
	}
	memset(&stage, 0, sizeof stage);
	stage.environment = ce->name;
	stage.required_approvals = ce->required_approvals;
	memset(&in, 0, sizeof in);
	in.release_id = release_id;
	in.kind = STORE_RUN_ROLLBACK;
	in.requested_by = actor->user;
	in.stages = &stage;
	in.nstages = 1;
	if (store_begin(e->store, &why) != 0 ||
	    store_create_run(e->store, &in, &run_id, &why) != 0) {
		store_rollback(e->store);
		rc = engine_fail(cause, ENGINE_ESTORE,
		    "cannot create the "
		    "redeploy run: %s",
		    why);
		goto out;
	}
	detail = xasprintf("release %lld version %s to %s",
	    (long long)release_id, rel->version, env);
	rc = engine_action_audit(e, run_id, actor, "redeploy", detail, cause);
	free(detail);
	if (rc != 0 || store_commit(e->store, &why) != 0) {
		store_rollback(e->store);
		rc = engine_fail(cause, ENGINE_ESTORE,
		    "cannot create the "
		    "redeploy run%s%s",
		    why != NULL ? ": " : "", why != NULL ? why : "");
		goto out;
	}
	(void)engine_sync(e);
	log_info("redeploy run created app=%s run=%lld release=%lld env=%s "
		 "user=%s",
	    rel->app, (long long)run_id, (long long)release_id, env,
	    actor->user);
	r = engine_run_add(e, run_id, rel->app);
	(void)r;
	if (run_idp != NULL)
		*run_idp = run_id;
out:
	free(why);
	store_release_free(rel);
	return (rc);
}

/* --- One action path ------------------------------------------------------ */

static const char *engine_action_names[] = {
	[ENGINE_APPROVE] = "approve",
	[ENGINE_REJECT] = "reject",
	[ENGINE_AUTHORISE] = "authorise",
	[ENGINE_CANCEL] = "cancel",
	[ENGINE_RETRY] = "retry",
	[ENGINE_REDEPLOY] = "redeploy",
	[ENGINE_CONTINUE_ROLLBACK] = "continue-rollback",
	[ENGINE_DELETE_FAILED_STACK] = "delete-failed-stack",
	[ENGINE_FREEZE] = "freeze",
	[ENGINE_UNFREEZE] = "unfreeze",
	[ENGINE_OVERRIDE] = "override",
	[ENGINE_ACK_DRIFT] = "ack-drift",
};

const char *
engine_action_name(enum engine_action_kind kind)
{
	if (kind < ENGINE_APPROVE || kind > ENGINE_ACK_DRIFT)
		return ("unknown");
	return (engine_action_names[kind]);
}

/* A logical id as CloudFormation spells one. */
static int
engine_logical_id_ok(const char *s)
{
	size_t n = strlen(s);

	return (n > 0 && n <= 255 &&
		strspn(s, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n);
}

/*
 * An operator's action on an environment's stuck stack: continue its
 * rollback (ContinueUpdateRollback, skipping resources) or delete a
 * stack whose first deployment rolled back.  Operators only, with a
 * comment saying why; carried out and waited on by engine-stack.c.
 */
static int
engine_stack_act(struct engine *e, const struct engine_action *a,
    const struct engine_actor *actor, char **cause)
{
	size_t i;
	int    rc;

	if ((rc = engine_check_operator(e, actor,
		 a->kind == ENGINE_CONTINUE_ROLLBACK ? "continue rollbacks" :
						       "delete failed stacks",
		 cause)) != 0)
		return (rc);
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if ((rc = engine_comment_required(a->comment, cause)) != 0)
		return (rc);
	if ((rc = engine_action_env(e, a, cause)) != 0)
		return (rc);
	if (a->nskip > 0 && a->kind != ENGINE_CONTINUE_ROLLBACK)
		return (engine_fail(cause, ENGINE_EINVAL,
		    "only "
		    "continue-rollback skips resources"));
	for (i = 0; i < a->nskip; i++)
		if (a->skip[i] == NULL || !engine_logical_id_ok(a->skip[i]))
			return (engine_fail(cause, ENGINE_EINVAL,
			    "not a "
			    "logical resource id: %s",
			    a->skip[i] != NULL ? a->skip[i] : "(none)"));
	return (
	    engine_stack_action(e, a->app, a->env, engine_action_name(a->kind),
		a->skip, a->nskip, actor, a->comment, cause));
}

/*
 * Deploy windows: freeze an environment until a time, lift its run-time
 * freezes, or let a stage awaiting its window start now.  Operators
 * only, with a comment saying why; recorded (and, for an override,
 * mailed to the environment's approvers) by engine-window.c.
 */
static int
engine_window_act(struct engine *e, const struct engine_action *a,
    const struct engine_actor *actor, char **cause)
{
	struct store_run   *run = NULL;
	struct store_stage *st;
	int		    rc;

	if ((rc = engine_check_operator(e, actor,
		 a->kind == ENGINE_FREEZE   ? "freeze environments" :
		 a->kind == ENGINE_UNFREEZE ? "lift freezes" :
					      "override deploy windows",
		 cause)) != 0)
		return (rc);
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is "
		    "stopping"));
	if ((rc = engine_comment_required(a->comment, cause)) != 0)
		return (rc);
	if (a->nskip > 0)
		return (engine_fail(cause, ENGINE_EINVAL,
		    "only "
		    "continue-rollback skips resources"));
	if (a->kind == ENGINE_OVERRIDE) {
		if (a->env == NULL)
			return (engine_fail(cause, ENGINE_EINVAL,
			    "override "
			    "needs the environment (--env ENV)"));
		if ((rc = engine_action_run(e, a->id, &run, cause)) != 0)
			return (rc);
		if ((st = engine_row_stage(run, a->env, 0)) == NULL)
			rc = engine_fail(cause, ENGINE_EINVAL,
			    "run %lld has "
			    "no stage %s",
			    (long long)a->id, a->env);
		else if (st->status != STORE_STAGE_AWAITING_WINDOW ||
			 run->status != STORE_RUN_RUNNING)
			rc = engine_fail(cause, ENGINE_ECONFLICT,
			    "run %lld "
			    "stage %s is %s, not awaiting its deploy window",
			    (long long)a->id, a->env,
			    store_stage_status_name(st->status));
		else if ((rc = engine_window_override(e, run, st, actor,
			      a->comment, cause)) == 0)
			engine_kick_run(e, run);
		store_run_free(run);
		return (rc);
	}
	if ((rc = engine_action_env(e, a, cause)) != 0)
		return (rc);
	if (a->kind == ENGINE_FREEZE && a->until <= store_now(e->store))
		return (engine_fail(cause, ENGINE_EINVAL,
		    "a freeze ends in "
		    "the future (--until)"));
	if ((rc = engine_window_freeze(e, a->app, a->env,
		 a->kind == ENGINE_FREEZE ? a->until : 0,
		 a->kind == ENGINE_UNFREEZE ? a->id : 0, actor, a->comment,
		 cause)) == 0)
		engine_kick_app(e, a->app);
	return (rc);
}

/*
 * drift: block: an operator acknowledges a stage's drift, with a comment
 * saying why it may be deployed over; audited (engine-drift.c).
 */
static int
engine_drift_act(struct engine *e, const struct engine_action *a,
    const struct engine_actor *actor, char **cause)
{
	struct store_run   *run = NULL;
	struct store_stage *st;
	int		    rc;

	if ((rc = engine_check_operator(e, actor, "acknowledge drift",
		 cause)) != 0)
		return (rc);
	if (e->stopping)
		return (engine_fail(cause, ENGINE_ECLOSING,
		    "the engine is stopping"));
	if ((rc = engine_comment_required(a->comment, cause)) != 0)
		return (rc);
	if (a->env == NULL)
		return (engine_fail(cause, ENGINE_EINVAL,
		    "ack-drift needs the environment (--env ENV)"));
	if ((rc = engine_action_run(e, a->id, &run, cause)) != 0)
		return (rc);
	if ((st = engine_row_stage(run, a->env, 0)) == NULL)
		rc = engine_fail(cause, ENGINE_EINVAL,
		    "run %lld has no stage %s", (long long)a->id, a->env);
	else if (run->status != STORE_RUN_RUNNING ||
		 st->status >= STORE_STAGE_DONE)
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld stage %s is %s: its drift no longer matters",
		    (long long)a->id, a->env,
		    store_stage_status_name(st->status));
	else if ((rc = engine_drift_ack(e, run, st, actor, a->comment,
		      cause)) == ENGINE_ECONFLICT) {
		free(*cause);
		rc = engine_fail(cause, ENGINE_ECONFLICT,
		    "run %lld stage %s has no drift left to acknowledge "
		    "(none found, or acknowledged already)",
		    (long long)a->id, a->env);
	} else if (rc == 0)
		engine_kick_run(e, run);
	store_run_free(run);
	return (rc);
}

int
engine_act(struct engine *e, struct engine_action *a, char **cause)
{
	struct engine_actor actor = a->actor;

	/* Only the control socket says who the person is (the peer):
	   elsewhere it is the user signed in. */
	if (actor.via == NULL || strcmp(actor.via, "cli") != 0)
		actor.person = actor.user;
	switch (a->kind) {
	case ENGINE_APPROVE:
		return (engine_approve(e, a->id, a->env, &actor, a->comment,
		    cause));
	case ENGINE_REJECT:
		return (
		    engine_reject(e, a->id, a->env, &actor, a->comment, cause));
	case ENGINE_AUTHORISE:
		return (engine_authorise(e, a->id, &actor, a->comment, cause));
	case ENGINE_CANCEL:
		return (engine_cancel(e, a->id, &actor, a->comment, cause));
	case ENGINE_RETRY:
		return (engine_retry(e, a->id, a->env, &actor, cause));
	case ENGINE_REDEPLOY:
		return (engine_redeploy(e, a->id, a->env, &actor, &a->new_run,
		    cause));
	case ENGINE_CONTINUE_ROLLBACK:
	case ENGINE_DELETE_FAILED_STACK:
		return (engine_stack_act(e, a, &actor, cause));
	case ENGINE_FREEZE:
	case ENGINE_UNFREEZE:
	case ENGINE_OVERRIDE:
		return (engine_window_act(e, a, &actor, cause));
	case ENGINE_ACK_DRIFT:
		return (engine_drift_act(e, a, &actor, cause));
	}
	return (engine_fail(cause, ENGINE_EINVAL, "no such action"));
}
