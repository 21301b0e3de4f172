/*
 * Deploy windows in the engine: an approved stage outside its
 * environment's windows, or in a freeze (the configuration's or one an
 * operator added), waits in awaiting_window and starts executing when a
 * window opens, or at once when an operator overrides.  The computation
 * is window.c's; this file gathers its inputs and makes the moves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine-int.h"
#include "log.h"
#include "mail.h"
#include "window.h"
#include "xmalloc.h"

/* The environment's windows and freezes at now, for window.c. */
struct engine_window {
	struct window_span   *spans;
	size_t		      nspans;
	struct window_freeze *freezes;
	size_t		      nfreezes;
	struct store_freezes *stored;
};

static void
engine_window_clear(struct engine_window *w)
{
	free(w->spans);
	free(w->freezes);
	store_freezes_free(w->stored);
	memset(w, 0, sizeof *w);
}

static int
engine_window_load(struct engine_run *r, const struct config_environment *env,
    const char *environment, int64_t now, struct engine_window *w)
{
	const struct config_freeze *cf;
	struct window_freeze	   *f;
	char			   *cause = NULL;
	size_t			    i;

	memset(w, 0, sizeof *w);
	if (store_freezes(r->engine->store, r->app, environment, now,
		&w->stored, &cause) != 0) {
		log_warnx("cannot read the freezes app=%s run=%lld: %s", r->app,
		    (long long)r->id, cause);
		free(cause);
		return (-1);
	}
	w->spans = xcalloc(env->nwindows + 1, sizeof *w->spans);
	for (i = 0; i < env->nwindows; i++) {
		w->spans[i].days = env->windows[i].day_mask;
		w->spans[i].from = env->windows[i].from_minute;
		w->spans[i].to = env->windows[i].to_minute;
		w->spans[i].zone = env->windows[i].zone.tz;
	}
	w->nspans = env->nwindows;
	w->freezes = xcalloc(env->nfreezes + w->stored->n + 1,
	    sizeof *w->freezes);
	for (i = 0; i < env->nfreezes; i++) {
		cf = &env->freezes[i];
		f = &w->freezes[w->nfreezes++];
		config_freeze_span(cf, &f->from_ms, &f->to_ms);
		f->reason = cf->reason;
	}
	for (i = 0; i < w->stored->n; i++) {
		f = &w->freezes[w->nfreezes++];
		f->from_ms = w->stored->v[i].from_at;
		f->to_ms = w->stored->v[i].until_at;
		f->reason = w->stored->v[i].reason;
	}
	return (0);
}

/* An instant as people of the environment read it: in its first
 * window's zone (else UTC), with the offset. */
static void
engine_window_time(const struct config_environment *env, int64_t ms, char *buf,
    size_t len)
{
	window_format(env->nwindows > 0 ? env->windows[0].zone.tz : NULL, ms,
	    buf, len);
}

/*
 * Whether st may start executing now: 1, or 0 with *why (what closes it
 * and when it opens, the caller frees) and *next (ms, -1: no opening
 * within a year); -1 when the store cannot be read.
 */
int
engine_window_check(struct engine_run *r, const struct store_stage *st,
    const struct config_environment *env, int64_t now, int64_t *next,
    char **why)
{
	struct engine_window	    w;
	const struct window_freeze *frozen;
	char			    at[96], *closed;

	*why = NULL;
	*next = now;
	if (engine_window_load(r, env, st->environment, now, &w) != 0)
		return (-1);
	if (window_is_open(w.spans, w.nspans, w.freezes, w.nfreezes, now,
		&frozen)) {
		engine_window_clear(&w);
		return (1);
	}
	if (frozen != NULL) {
		engine_window_time(env, frozen->to_ms, at, sizeof at);
		closed = xasprintf("frozen until %s: %s", at, frozen->reason);
	} else
		closed = xstrdup("outside the deploy windows");
	*next = window_next_open(w.spans, w.nspans, w.freezes, w.nfreezes, now);
	if (*next == -1)
		*why = xasprintf("%s: no deploy window opens within a year",
		    closed);
	else {
		engine_window_time(env, *next, at, sizeof at);
		*why = xasprintf("%s: " MAIL_WINDOW_WHEN "%s", closed, at);
	}
	free(closed);
	engine_window_clear(&w);
	return (0);
}

void
engine_step_window(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	struct store	   *s = r->engine->store;
	struct engine_actor actor;
	char		   *user = NULL, *comment = NULL, *why = NULL;
	char		   *reason = NULL, *cause = NULL;
	int64_t		    now, next, wait;
	int		    open, ok, rc;

	now = store_now(s);
	memset(&actor, 0, sizeof actor);
	rc = store_window_override(s, st->id, st->attempt, &user, &comment,
	    &cause);
	if (rc == 0) {
		actor.user = user;
		actor.via = "engine";
		reason = xasprintf("deploy window overridden by %s: %s", user,
		    comment);
		open = 1;
	} else if (rc == STORE_ENOTFOUND) {
		if ((open = engine_window_check(r, st, env, now, &next,
			 &why)) == 1)
			reason = xstrdup("the deploy window opened");
	} else {
		log_warnx("cannot read the window override app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id, cause);
		open = -1;
	}
	if (open == -1) {
		engine_poll_later(r);
		goto out;
	}
	if (open) {
		if (engine_txn_begin(r) != 0) {
			engine_poll_later(r);
			goto out;
		}
		ok = store_stage_set_deadline(s, st->id, 0, NULL) == 0 &&
		     engine_enter(r, st, STORE_STAGE_EXECUTING, 0, reason,
			 user != NULL ? &actor : NULL) == 0;
		if (engine_txn_end(r, ok) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		goto out;
	}
	/* The approval's time still runs out while the window is shut. */
	if (st->deadline_at != 0 && now >= st->deadline_at) {
		free(reason);
		reason = xasprintf(
		    "no deploy window opened within "
		    "approval_timeout (%lld s) after the approval was asked",
		    (long long)(env->approval_timeout_ms / 1000));
		if (engine_move(r, st, STORE_STAGE_EXPIRED, STORE_RUN_EXPIRED,
			reason) == 0) {
			engine_delete_change_set(r, st);
			engine_schedule(r, 0);
		} else
			engine_poll_later(r);
		goto out;
	}
	/* A freeze added or lifted meanwhile changes what it waits for. */
	if (st->reason == NULL || strcmp(st->reason, why) != 0) {
		if (store_stage_set_reason(s, st->id, st->status, why,
			&cause) != 0) {
			log_warnx("cannot record why the stage waits app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, cause);
		} else {
			log_info("run waits app=%s run=%lld env=%s: %s", r->app,
			    (long long)r->id, st->environment, why);
			free(st->reason);
			st->reason = xstrdup(why);
		}
	}
	/* Wake at the opening, the deadline, or poll_max (a freeze added
	   or an override wakes the run too). */
	wait = r->engine->poll_max_ms;
	if (next != -1 && next - now < wait)
		wait = next - now;
	if (st->deadline_at != 0 && st->deadline_at - now + 1 < wait)
		wait = st->deadline_at - now + 1;
	engine_schedule(r, wait > 0 ? wait : 0);
out:
	free(user);
	free(comment);
	free(why);
	free(reason);
	free(cause);
}

/* --- Operators' actions ------------------------------------------------ */

static int
engine_window_store_code(int rc)
{
	return (rc == STORE_ENOTFOUND ? ENGINE_ENOTFOUND : ENGINE_ESTORE);
}

/*
 * The first of env's configuration freezes in force or to come at now,
 * or NULL: those are shipgate.yaml's, which no command lifts.
 */
static const struct config_freeze *
engine_window_config_freeze(const struct config_environment *, int64_t,
    int64_t *);

/*
 * An unfreeze that lifted nothing: 0 when nothing was frozen at run time
 * either (recorded all the same: the operator asked), ENGINE_ENOTFOUND
 * for a freeze id that is not one in force, ENGINE_ECONFLICT when what
 * freezes env is shipgate.yaml's, saying so.
 */
static int
engine_window_unlifted(const struct config_environment *ce, const char *env,
    int64_t freeze_id, int64_t now, char **cause)
{
	const struct config_freeze *cf;
	int64_t			    to;
	char			    at[96];

	if (freeze_id != 0) {
		*cause = xasprintf("no run-time freeze %lld in force or to "
				   "come in %s (see shipgatectl freezes)",
		    (long long)freeze_id, env);
		return (ENGINE_ENOTFOUND);
	}
	if ((cf = engine_window_config_freeze(ce, now, &to)) == NULL)
		return (0);
	engine_window_time(ce, to, at, sizeof at);
	*cause = xasprintf("%s has no run-time freeze to lift; its freeze "
			   "until %s (%s) is shipgate.yaml's: edit the "
			   "file's freezes and reload shipgated to lift it",
	    env, at, cf->reason);
	return (ENGINE_ECONFLICT);
}

static const struct config_freeze *
engine_window_config_freeze(const struct config_environment *ce, int64_t now,
    int64_t *to_ms)
{
	int64_t from;
	size_t	i;

	for (i = 0; ce != NULL && i < ce->nfreezes; i++) {
		config_freeze_span(&ce->freezes[i], &from, to_ms);
		if (*to_ms > now)
			return (&ce->freezes[i]);
	}
	return (NULL);
}

int
engine_window_freeze(struct engine *e, const char *app, const char *env,
    int64_t until, int64_t freeze_id, const struct engine_actor *actor,
    const char *comment, char **cause)
{
	struct store			*s = e->store;
	struct store_audit_in		 a;
	const struct config_app		*ca;
	const struct config_environment *ce;
	char				*subject, *detail, *why = NULL, at[96];
	int				 rc, n = 0, refused = 0;

	ca = config_find_app(e->config, app);
	ce = ca != NULL ? config_find_environment(ca, env) : NULL;
	if (until != 0 && ce != NULL)
		engine_window_time(ce, until, at, sizeof at);
	else
		snprintf(at, sizeof at, "%lld", (long long)until);
	subject = xasprintf("environment %s of %s", env, app);
	if (until != 0)
		detail = xasprintf("via %s: until %s: %s",
		    actor->via != NULL ? actor->via : "cli", at, comment);
	else if (freeze_id != 0)
		detail = xasprintf("via %s: freeze %lld: %s",
		    actor->via != NULL ? actor->via : "cli",
		    (long long)freeze_id, comment);
	else
		detail = xasprintf("via %s: %s",
		    actor->via != NULL ? actor->via : "cli", comment);
	memset(&a, 0, sizeof a);
	a.actor = actor->user;
	a.unix_user = actor->unix_user;
	a.action = until != 0 ? "freeze" : "unfreeze";
	a.subject = subject;
	a.detail = detail;
	if ((rc = store_begin(s, &why)) == 0 &&
	    (rc = until != 0 ? store_freeze_add(s, app, env, store_now(s),
				   until, comment, actor->user, &why) :
			       store_freeze_lift(s, app, env, freeze_id,
				   actor->user, comment, &n, &why)) == 0 &&
	    (until != 0 || n > 0 ||
		(refused = engine_window_unlifted(ce, env, freeze_id,
		     store_now(s), cause)) == 0) &&
	    (rc = store_append_audit(s, &a, &why)) == 0)
		rc = store_commit(s, &why);
	if (refused != 0) {
		store_rollback(s);
		rc = refused;
		goto out;
	}
	if (rc != 0) {
		store_rollback(s);
		*cause = xasprintf("%s", why != NULL ? why :
						       "the database "
						       "failed");
		rc = engine_window_store_code(rc);
		goto out;
	}
	if (until == 0 && n == 0) {
		/* Recorded all the same: the operator asked. */
		log_info("unfreeze with nothing to lift app=%s env=%s user=%s",
		    app, env, actor->user);
	}
	(void)engine_sync(e);
	log_info("%s app=%s env=%s user=%s%s%s", a.action, app, env,
	    actor->user, until != 0 ? " until=" : "", until != 0 ? at : "");
out:
	free(subject);
	free(detail);
	free(why);
	return (rc);
}

int
engine_window_override(struct engine *e, struct store_run *run,
    struct store_stage *st, const struct engine_actor *actor,
    const char *comment, char **cause)
{
	struct store	     *s = e->store;
	struct store_audit_in a;
	char		     *subject, *detail, *why = NULL;
	int		      rc;

	subject = xasprintf("run %lld", (long long)run->id);
	detail = xasprintf("%s attempt %d via %s: %s", st->environment,
	    st->attempt, actor->via != NULL ? actor->via : "cli", comment);
	memset(&a, 0, sizeof a);
	a.actor = actor->user;
	a.unix_user = actor->unix_user;
	a.action = "override";
	a.subject = subject;
	a.run_id = run->id;
	a.detail = detail;
	/* The approvers hear of it in the same transaction. */
	if ((rc = store_begin(s, &why)) == 0 &&
	    (rc = store_window_override_add(s, st->id, st->attempt, actor->user,
		 comment, &why)) == 0 &&
	    (rc = store_append_audit(s, &a, &why)) == 0) {
		if (engine_notify(e, run->id, st, "window_override",
			actor->user, comment, st->reason) != 0) {
			rc = STORE_EIO;
			why = xstrdup("cannot queue its notification");
		} else
			rc = store_commit(s, &why);
	}
	if (rc != 0) {
		store_rollback(s);
		*cause = xasprintf("%s", why != NULL ? why :
						       "the database "
						       "failed");
		rc = engine_window_store_code(rc);
		goto out;
	}
	(void)engine_sync(e);
	log_info("override recorded app=%s run=%lld env=%s user=%s", run->app,
	    (long long)run->id, st->environment, actor->user);
out:
	free(subject);
	free(detail);
	free(why);
	return (rc);
}
