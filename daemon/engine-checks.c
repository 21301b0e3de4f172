/*
 * The checking step of a stage and what follows a failed check: the
 * environment's checks (then the ones the release names, where the
 * environment allows them) run against its base_url once the ECS
 * services settled; every step's result is stored
 * with the stage's attempt; the stage is deployed when all pass and
 * failed otherwise.  Where the environment sets auto_rollback, the
 * failure also creates, in the same transaction, a rollback run of the
 * release that ran there before: its change set is executed without
 * approval, its checks run again, and when it ends well the failed
 * stage becomes rolled_back.
 *
 * A check run lives only in this process: after a restart the stage is
 * still checking and its checks run again from the start, replacing the
 * results of the interrupted run.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "checks.h"
#include "config.h"
#include "engine-int.h"
#include "log.h"
#include "release.h"
#include "xmalloc.h"

static int64_t
engine_checks_now(void *arg)
{
	return (store_now(arg));
}

/*
 * The checks of the stage: the environment's, then those the release
 * names that the environment does not.  -1 with *cause when a name is
 * not (or no longer) configured, or the release names a check the
 * environment does not allow.
 */
static int
engine_checks_list(struct engine_run *r, const struct config_environment *env,
    const struct config_check ***listp, size_t *np, char **cause)
{
	const struct config	    *config = r->engine->config;
	const struct config_check  **list;
	const struct config_check   *c;
	const struct config_strings *from[2];
	size_t			     i, j, k, n = 0, cap;

	from[0] = &env->checks;
	from[1] = r->release != NULL ? &r->release->checks : NULL;
	cap = env->checks.n + (from[1] != NULL ? from[1]->n : 0);
	list = xcalloc(cap + 1, sizeof *list);
	for (k = 0; k < 2; k++) {
		if (from[k] == NULL)
			continue;
		for (i = 0; i < from[k]->n; i++) {
			if ((c = config_find_check(config,
				 from[k]->items[i])) == NULL) {
				*cause = xasprintf("check %s named by the %s "
						   "is not configured",
				    from[k]->items[i],
				    k == 0 ? "environment" : "release");
				free(list);
				return (-1);
			}
			/*
			 * Intake refuses such a release; this holds for one
			 * taken in before the configuration changed: a
			 * check's secrets never go to an environment whose
			 * configuration does not name it.
			 */
			if (k == 1 &&
			    !config_environment_allows_check(env, c->name)) {
				*cause = xasprintf(
				    "check %s named by the "
				    "release is not allowed in %s (not in its "
				    "checks or release_checks): not run",
				    c->name, env->name);
				free(list);
				return (-1);
			}
			for (j = 0; j < n; j++)
				if (list[j] == c)
					break;
			if (j == n)
				list[n++] = c;
		}
	}
	*listp = list;
	*np = n;
	return (0);
}

/* The results as rows of check_results (strings borrowed from res). */
static struct store_check_result *
engine_checks_rows(const struct checks_result *res, size_t *np)
{
	const struct checks_check_result *c;
	const struct checks_step_result	 *sr;
	struct store_check_result	 *v, *row;
	size_t				  i, j, n = 0;
	/* The row type is also what the store hands out (owned, so not
	   const); it only reads these. */
	static char passed[] = "passed";
	static char failed[] = "failed";
	static char skipped[] = "skipped";

	for (i = 0; i < res->nchecks; i++)
		n += res->checks[i].nsteps;
	v = xcalloc(n + 1, sizeof *v);
	n = 0;
	for (i = 0; i < res->nchecks; i++) {
		c = &res->checks[i];
		for (j = 0; j < c->nsteps; j++) {
			sr = &c->steps[j];
			row = &v[n++];
			row->check_name = c->name;
			row->step = (int)j;
			row->step_name = sr->name;
			switch (sr->state) {
			case CHECKS_STEP_PASSED:
				row->status = passed;
				break;
			case CHECKS_STEP_FAILED:
				row->status = failed;
				row->expectation = sr->reason != NULL ?
						       sr->reason :
						       failed;
				break;
			default:
				row->status = skipped;
				break;
			}
			row->method = sr->method;
			row->url = sr->url;
			row->http_status = (int)sr->status;
			row->tries = sr->attempts;
			row->duration_ms = sr->attempts > 0 ? sr->total_ms : -1;
			row->excerpt = sr->excerpt;
			row->started_at = sr->started_at;
			row->finished_at = sr->finished_at;
		}
	}
	*np = n;
	return (v);
}

/*
 * After checks failed in an environment with auto_rollback: a rollback
 * run of the release that ran there before, created in the caller's
 * transaction.  *run_idp stays 0 when there is nothing to roll back to
 * (said in the audit log); -1 when the store failed.
 */
static int
engine_checks_rollback(struct engine_run *r, struct store_stage *st,
    int64_t *run_idp)
{
	struct store		*s = r->engine->store;
	struct store_deployment *dep = NULL;
	struct store_stage_in	 stage;
	struct store_run_in	 in;
	struct engine_actor	 actor;
	char			*why = NULL, *detail;
	int			 rc;

	*run_idp = 0;
	rc = store_current_deployment(s, r->row->app_id, st->environment, &dep,
	    &why);
	if (rc == STORE_ENOTFOUND ||
	    (rc == 0 && dep->release_id == r->row->release_id)) {
		free(why);
		store_deployment_free(dep);
		return (
		    engine_audit(r, NULL, "rollback",
			"auto_rollback: no "
			"earlier release ran in this environment, nothing to "
			"roll back to") == 0 ?
			0 :
			-1);
	}
	if (rc != 0) {
		log_warnx("cannot find the release to roll back to app=%s "
			  "run=%lld env=%s: %s",
		    r->app, (long long)r->id, st->environment, why);
		free(why);
		return (-1);
	}
	memset(&stage, 0, sizeof stage);
	stage.environment = st->environment;
	stage.required_approvals = 1;
	memset(&in, 0, sizeof in);
	in.release_id = dep->release_id;
	in.kind = STORE_RUN_ROLLBACK;
	in.rollback_of = r->id;
	in.stages = &stage;
	in.nstages = 1;
	if (store_create_run(s, &in, run_idp, &why) != 0) {
		log_warnx("cannot create the rollback run app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, why);
		free(why);
		store_deployment_free(dep);
		return (-1);
	}
	detail = xasprintf("auto_rollback: run %lld redeploys version %s "
			   "(release %lld) to %s",
	    (long long)*run_idp, dep->version != NULL ? dep->version : "?",
	    (long long)dep->release_id, st->environment);
	memset(&actor, 0, sizeof actor);
	actor.via = "engine";
	rc = engine_audit(r, &actor, "rollback", detail);
	engine_log_later(r,
	    xasprintf("automatic rollback app=%s run=%lld "
		      "env=%s rollback_run=%lld version=%s",
		r->app, (long long)r->id, st->environment, (long long)*run_idp,
		dep->version != NULL ? dep->version : "?"));
	free(detail);
	store_deployment_free(dep);
	return (rc == 0 ? 0 : -1);
}

static void
engine_checks_done_cb(struct checks_result *res, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	struct store_check_result	*rows = NULL;
	struct store			*s;
	char				*summary = NULL, *reason = NULL;
	char				*why = NULL;
	int64_t				 stage_id = call->stage_id;
	int64_t				 rollback_id = 0;
	int				 attempt = call->attempt, ok;
	size_t				 n;

	if ((r = engine_call_end(call)) == NULL)
		goto out; /* the engine let go of the run */
	r->checks = NULL;
	if (res->cancelled || r->row == NULL ||
	    (st = engine_current_stage(r)) == NULL || st->id != stage_id ||
	    st->attempt != attempt || st->status != STORE_STAGE_CHECKING ||
	    (env = engine_stage_env(r, st)) == NULL) {
		/* Cancelled (the run's next step says why) or moved on. */
		engine_schedule(r, 0);
		goto out;
	}
	s = r->engine->store;
	summary = checks_result_summary(res);
	rows = engine_checks_rows(res, &n);
	if (engine_txn_begin(r) != 0) {
		engine_poll_later(r);
		goto out;
	}
	ok = store_record_check_results(s, st->id, st->attempt, rows, n,
		 &why) == 0;
	if (why != NULL) {
		log_warnx("cannot record the check results app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, why);
		free(why);
	}
	ok = ok && engine_audit(r, NULL, "checks", summary) == 0;
	if (ok && res->passed)
		ok = engine_deployed(r, st, env, NULL) == 0;
	else if (ok) {
		reason = xasprintf("checks failed: %s", summary);
		ok = engine_enter(r, st, STORE_STAGE_FAILED, STORE_RUN_FAILED,
			 reason, NULL) == 0;
		if (ok && env->auto_rollback &&
		    r->row->kind != STORE_RUN_ROLLBACK)
			ok = engine_checks_rollback(r, st, &rollback_id) == 0;
	}
	if (engine_txn_end(r, ok) != 0) {
		engine_poll_later(r);
		goto out;
	}
	log_info("checks %s app=%s run=%lld env=%s ms=%lld: %s",
	    res->passed ? "passed" : "failed", r->app, (long long)r->id,
	    st->environment, res->ms, summary);
	if (rollback_id != 0)
		engine_run_add(r->engine, rollback_id, r->app);
	engine_schedule(r, 0);
out:
	free(rows);
	free(reason);
	free(summary);
	checks_result_free(res);
}

void
engine_step_checking(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	const struct config_check **list = NULL;
	struct checks_options	    opts;
	struct engine_call	   *call;
	char			   *cause = NULL, *detail, *fields;
	size_t			    n;
	int			    rc, ok;

	if ((rc = engine_release_load(r, st, &cause)) == 1)
		return; /* being read; the step comes again */
	if (rc != 0 || engine_checks_list(r, env, &list, &n, &cause) != 0) {
		engine_stage_fail(r, st, cause);
		free(cause);
		return;
	}
	if (n == 0) {
		free(list);
		detail = xasprintf("no checks configured for %s", env->name);
		if (engine_txn_begin(r) != 0) {
			free(detail);
			engine_poll_later(r);
			return;
		}
		ok = engine_audit(r, NULL, "checks", detail) == 0 &&
		     engine_deployed(r, st, env, NULL) == 0;
		if (engine_txn_end(r, ok) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		free(detail);
		return;
	}
	if (env->base_url == NULL) {
		free(list);
		engine_stage_fail(r, st,
		    "checks are configured but the "
		    "environment has no base_url to run them against");
		return;
	}
	fields = xasprintf("app=%s run=%lld env=%s", r->app, (long long)r->id,
	    st->environment);
	memset(&opts, 0, sizeof opts);
	opts.log_fields = fields;
	opts.now_ms = engine_checks_now;
	opts.now_arg = r->engine->store;
	call = engine_call_new(r, st);
	r->checks = checks_run(r->engine->loop,
	    aws_context_http(r->engine->aws), env->base_url, list, n, &opts,
	    engine_checks_done_cb, call, &cause);
	free(fields);
	free(list);
	if (r->checks == NULL) {
		engine_call_end(call);
		engine_stage_fail(r, st, cause);
		free(cause);
		return;
	}
	log_info("checks started app=%s run=%lld env=%s checks=%zu", r->app,
	    (long long)r->id, st->environment, n);
}

void
engine_checks_cancel(struct engine_run *r)
{
	if (r->checks != NULL)
		checks_cancel(r->checks);
}

/* Whether the run is an automatic rollback (executed without approval). */
int
engine_auto_rollback(const struct engine_run *r)
{
	return (r->row != NULL && r->row->kind == STORE_RUN_ROLLBACK &&
		r->row->rollback_of != 0);
}

/*
 * An automatic rollback run deployed its stage: the stage of the run
 * whose checks failed becomes rolled_back, in the caller's transaction.
 * Nothing to do when that stage is no longer failed (retried since).
 */
int
engine_mark_rolled_back(struct engine_run *r, struct store_stage *st)
{
	struct store	   *s = r->engine->store;
	struct store_run   *orig = NULL;
	struct store_stage *os = NULL;
	char		   *why = NULL, *reason = NULL;
	size_t		    i;
	int		    rc = -1;

	if (store_get_run(s, r->row->rollback_of, &orig, &why) != 0)
		goto out;
	for (i = 0; i < orig->nstages; i++)
		if (strcmp(orig->stages[i].environment, st->environment) == 0)
			os = &orig->stages[i];
	if (os == NULL || os->status != STORE_STAGE_FAILED) {
		rc = 0;
		goto out;
	}
	reason = xasprintf("rolled back: run %lld redeployed version %s "
			   "to %s%s%s",
	    (long long)r->id, r->row->version != NULL ? r->row->version : "?",
	    st->environment, os->reason != NULL ? " after " : "",
	    os->reason != NULL ? os->reason : "");
	if (engine_stage_set(r, os, STORE_STAGE_ROLLED_BACK, reason, &why) != 0)
		goto out;
	if (engine_audit_run(r->engine, orig->id, NULL,
		"stage failed -> rolled_back", reason) != 0)
		goto out;
	os->status = STORE_STAGE_ROLLED_BACK;
	if (engine_notify(r->engine, orig->id, os, "rolled_back", NULL, NULL,
		reason) != 0)
		goto out;
	engine_log_later(r, xasprintf("stage failed -> rolled_back app=%s "
				      "run=%lld env=%s rollback_run=%lld",
				r->app, (long long)orig->id, st->environment,
				(long long)r->id));
	rc = 0;
out:
	if (why != NULL) {
		log_warnx("cannot mark the rolled back stage app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->row->rollback_of, why);
		free(why);
	}
	free(reason);
	store_run_free(orig);
	return (rc);
}
