/*
 * Drift detection before an approval (issue 15).  When a stage whose
 * stack exists is about to name its change set (engine_name_change_set:
 * from pending, or promoting once the images are copied, when no other
 * run executes on the stack, which CloudFormation would refuse to
 * check), CloudFormation is asked to detect the stack's drift (DetectStackDrift); its detection
 * id is stored with the stage's attempt (stage_drifts, detecting) before
 * it is polled (DescribeStackDriftDetectionStatus), so a restarted
 * daemon polls the same detection.  Once complete, the resources found
 * MODIFIED or DELETED are read (DescribeStackResourceDrifts) and stored
 * with their property differences; then the stage goes on to its change
 * set.
 *
 * It never holds the run: past the environment's drift_timeout, or when
 * AWS refuses or errs, the attempt is recorded "not_checked" with the
 * reason and the stage goes on.  drift: off makes no call at all.
 *
 * Secrets: a property whose expected or actual value is, or holds, the
 * value of a NoEcho parameter this run knows (the values it sends: the
 * config's and the release's) is stored "****" on both sides (masked).
 * A NoEcho value this run does not know (a value deployed earlier and
 * changed since) cannot be recognised: shipgate.yaml(5) says so.
 *
 * drift: block refuses the approval of an attempt with drift until an
 * operator acknowledges it with a comment (engine_drift_ack, audited).
 */
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "config.h"
#include "diff-params.h"
#include "engine-int.h"
#include "log.h"
#include "release.h"
#include "store.h"
#include "svc-cfn.h"
#include "xmalloc.h"

#define ENGINE_DRIFT_MASK "****"
/* What a masked value is stored as (the rows only borrow it). */
static char engine_drift_mask[] = ENGINE_DRIFT_MASK;

static void
engine_drift_done(struct engine_run *r, int64_t stage_id, int attempt)
{
	r->drift_stage = stage_id;
	r->drift_attempt = attempt;
}

static const struct config_environment *
engine_drift_env(struct engine_run *r, const char *name)
{
	const struct config_app *app;

	if ((app = engine_run_app(r)) == NULL)
		return (NULL);
	return (config_find_environment(app, name));
}

/*
 * Polls the detection again with the engine's backoff, but never past
 * its deadline (then the step records it not checked): drift_timeout
 * bounds the wait, not drift_timeout plus a poll interval.
 */
static void
engine_drift_poll(struct engine_run *r, int64_t deadline)
{
	struct engine *e = r->engine;
	int64_t	       delay = e->poll_base_ms, left;
	unsigned int   i;

	for (i = 0; i < r->polls && delay < e->poll_max_ms; i++)
		delay *= 2;
	if (delay > e->poll_max_ms)
		delay = e->poll_max_ms;
	r->polls++;
	left = deadline - store_now(e->store);
	if (deadline > 0 && left < delay)
		delay = left > 0 ? left : 0;
	engine_schedule(r, delay);
}

/* The attempt's detection ended without a result: why, recorded. */
static void
engine_drift_not_checked(struct engine_run *r, int64_t stage_id, int attempt,
    const char *env, const char *reason)
{
	char *why = NULL;

	log_warnx("drift not checked app=%s run=%lld env=%s: %s", r->app,
	    (long long)r->id, env, reason);
	if (store_drift_finish(r->engine->store, stage_id, attempt,
		"not_checked", reason, NULL, 0, &why) != 0) {
		log_warnx("cannot record the drift app=%s run=%lld: %s", r->app,
		    (long long)r->id, why);
		free(why);
	}
	engine_drift_done(r, stage_id, attempt);
}

/* The NoEcho values this run sends ("****" and empty ones left out). */
static void
engine_drift_secrets(struct engine_run *r, const struct config_environment *env,
    struct config_strings *out)
{
	struct config_strings names = { NULL, 0 };
	struct config_kvs     kvs = { NULL, 0 };
	char		     *why = NULL;
	size_t		      i, j;

	out->items = NULL;
	out->n = 0;
	if (r->release == NULL ||
	    diff_no_echo_names(r->release->template_name, r->release->template,
		r->release->template_len, &names, &why) != 0 ||
	    engine_images_parameters(r, env, &kvs, &why) != 0) {
		free(why);
		diff_names_free(&names);
		return;
	}
	out->items = xcalloc(kvs.n + 1, sizeof *out->items);
	for (i = 0; i < kvs.n; i++) {
		if (kvs.items[i].value == NULL || *kvs.items[i].value == '\0' ||
		    strcmp(kvs.items[i].value, ENGINE_DRIFT_MASK) == 0)
			continue;
		for (j = 0; j < names.n; j++)
			if (strcmp(names.items[j], kvs.items[i].key) == 0)
				break;
		if (j < names.n)
			out->items[out->n++] = xstrdup(kvs.items[i].value);
	}
	release_kvs_free(&kvs);
	diff_names_free(&names);
}

static int
engine_drift_secret(const char *value, const struct config_strings *secrets)
{
	size_t i;

	if (value == NULL)
		return (0);
	for (i = 0; i < secrets->n; i++)
		if (strstr(value, secrets->items[i]) != NULL)
			return (1);
	return (0);
}

static void
engine_drifts_cb(const struct aws_reply *reply,
    struct cfn_resource_drift_list *l, void *arg)
{
	struct engine_call		     *call = arg;
	struct engine_run		     *r;
	const struct config_environment	     *env;
	struct store_drift_resource	     *v = NULL;
	struct store_drift_property	     *p;
	struct config_strings		      secrets = { NULL, 0 };
	const struct cfn_property_difference *d;
	char				     *why = NULL, *envname;
	int64_t				      stage_id = call->stage_id;
	int				      attempt = call->attempt;
	size_t				      i, j, n = 0;

	envname = call->what;
	call->what = NULL;
	if ((r = engine_call_end(call)) == NULL)
		goto out;
	if (reply->error != AWS_OK || l == NULL) {
		why = xasprintf("DescribeStackResourceDrifts: %s",
		    reply->message);
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		goto next;
	}
	if ((env = engine_drift_env(r, envname)) != NULL)
		engine_drift_secrets(r, env, &secrets);
	v = xcalloc(l->n + 1, sizeof *v);
	for (i = 0; i < l->n; i++) {
		v[n].logical_id = l->v[i].logical_id;
		v[n].physical_id = l->v[i].physical_id;
		v[n].resource_type = l->v[i].resource_type;
		v[n].status = l->v[i].status;
		v[n].props = xcalloc(l->v[i].ndiffs + 1, sizeof *v[n].props);
		for (j = 0; j < l->v[i].ndiffs; j++) {
			d = &l->v[i].diffs[j];
			p = &v[n].props[v[n].nprops++];
			p->path = d->path;
			p->difference = d->type;
			p->masked = engine_drift_secret(d->expected,
					&secrets) ||
				    engine_drift_secret(d->actual, &secrets);
			p->expected = p->masked ? engine_drift_mask :
						  d->expected;
			p->actual = p->masked ? engine_drift_mask : d->actual;
		}
		n++;
	}
	if (store_drift_finish(r->engine->store, stage_id, attempt,
		n > 0 ? "drifted" : "in_sync", NULL, v, n, &why) != 0) {
		log_warnx("cannot record the drift app=%s run=%lld: %s", r->app,
		    (long long)r->id, why);
		/* The step comes again and polls the detection anew. */
		engine_poll_later(r);
		goto out;
	}
	log_info("drift detected app=%s run=%lld env=%s resources=%zu", r->app,
	    (long long)r->id, envname, n);
	engine_drift_done(r, stage_id, attempt);
next:
	engine_schedule(r, 0);
out:
	for (i = 0; i < n; i++)
		free(v[i].props);
	free(v);
	for (i = 0; i < secrets.n; i++) {
		explicit_bzero(secrets.items[i], strlen(secrets.items[i]));
		free(secrets.items[i]);
	}
	free(secrets.items);
	free(why);
	free(envname);
	cfn_resource_drift_list_free(l);
}

/* The stack's drift resources, after a complete detection found drift. */
static void
engine_drift_resources(struct engine_run *r, int64_t stage_id, int attempt,
    const char *envname)
{
	const struct config_environment *env;
	struct engine_call		*call;
	struct aws_creds		*creds;
	struct store_stage		 st;
	char				*cause = NULL, *why;

	memset(&st, 0, sizeof st);
	st.id = stage_id;
	st.attempt = attempt;
	if ((env = engine_drift_env(r, envname)) == NULL ||
	    (creds = aws_context_env_creds(r->engine->aws, engine_run_app(r),
		 env, &cause)) == NULL) {
		why = xasprintf("cannot read the drifted resources: %s",
		    cause != NULL ? cause : "the environment is gone");
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		free(why);
		free(cause);
		engine_schedule(r, 0);
		return;
	}
	call = engine_call_new(r, &st);
	call->what = xstrdup(envname);
	if (cfn_describe_resource_drifts(aws_context_client(r->engine->aws),
		creds, aws_context_env_region(r->engine->aws, env), env->stack,
		engine_drifts_cb, call, &cause) == NULL) {
		engine_call_end(call);
		why = xasprintf("DescribeStackResourceDrifts: %s", cause);
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		free(why);
		free(cause);
		engine_schedule(r, 0);
	}
}

static void
engine_drift_status_cb(const struct aws_reply *reply,
    struct cfn_drift_status *ds, void *arg)
{
	struct engine_call *call = arg;
	struct engine_run  *r;
	char		   *why = NULL, *envname;
	int64_t		    stage_id = call->stage_id, deadline;
	int		    attempt = call->attempt;

	envname = call->what;
	call->what = NULL;
	deadline = call->data != NULL ? *(int64_t *)call->data : 0;
	if ((r = engine_call_end(call)) == NULL)
		goto out;
	if (reply->error != AWS_OK || ds == NULL) {
		why = xasprintf("DescribeStackDriftDetectionStatus: %s",
		    reply->message);
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		engine_schedule(r, 0);
		goto out;
	}
	switch (ds->state) {
	case CFN_DETECTION_IN_PROGRESS:
		/* The step polls again, until drift_timeout. */
		engine_drift_poll(r, deadline);
		break;
	case CFN_DETECTION_FAILED:
		why = xasprintf("CloudFormation's detection failed: %s",
		    ds->reason != NULL ? ds->reason : "no reason given");
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		engine_schedule(r, 0);
		break;
	case CFN_DETECTION_COMPLETE:
		if (strcmp(ds->stack_drift_status, "IN_SYNC") == 0) {
			if (store_drift_finish(r->engine->store, stage_id,
				attempt, "in_sync", NULL, NULL, 0, &why) != 0) {
				log_warnx("cannot record the drift app=%s "
					  "run=%lld: %s",
				    r->app, (long long)r->id, why);
				engine_poll_later(r);
				break;
			}
			log_info("no drift app=%s run=%lld env=%s", r->app,
			    (long long)r->id, envname);
			engine_drift_done(r, stage_id, attempt);
			engine_schedule(r, 0);
		} else if (strcmp(ds->stack_drift_status, "DRIFTED") == 0)
			engine_drift_resources(r, stage_id, attempt, envname);
		else {
			why = xasprintf("CloudFormation says the stack's drift "
					"is %s",
			    ds->stack_drift_status);
			engine_drift_not_checked(r, stage_id, attempt, envname,
			    why);
			engine_schedule(r, 0);
		}
		break;
	}
out:
	free(why);
	free(envname);
	cfn_drift_status_free(ds);
}

static void
engine_drift_ref_cb(const struct aws_reply *reply, struct cfn_drift_ref *ref,
    void *arg)
{
	struct engine_call *call = arg;
	struct engine_run  *r;
	char		   *why = NULL, *envname;
	int64_t		    stage_id = call->stage_id, timeout, now;
	int		    attempt = call->attempt;

	envname = call->what;
	call->what = NULL;
	timeout = call->data != NULL ? *(int64_t *)call->data : 0;
	if ((r = engine_call_end(call)) == NULL)
		goto out;
	if (reply->error != AWS_OK || ref == NULL) {
		why = xasprintf("DetectStackDrift: %s", reply->message);
		engine_drift_not_checked(r, stage_id, attempt, envname, why);
		engine_schedule(r, 0);
		goto out;
	}
	now = store_now(r->engine->store);
	if (store_drift_start(r->engine->store, stage_id, attempt,
		ref->detection_id, now, &why) != 0) {
		/* Not recorded: the step starts another detection. */
		log_warnx("cannot record the drift detection app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id, why);
		engine_poll_later(r);
		goto out;
	}
	log_info("drift detection started app=%s run=%lld env=%s id=%s", r->app,
	    (long long)r->id, envname, ref->detection_id);
	engine_drift_poll(r, now + timeout);
out:
	free(why);
	free(envname);
	cfn_drift_ref_free(ref);
}

int
engine_drift_check(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	struct store_stage_stack *sk = NULL;
	struct store_drift	 *d = NULL;
	struct engine_call	 *call;
	struct aws_creds	 *creds;
	const char		 *region;
	char			 *cause = NULL, *why = NULL;
	int64_t			  left;
	int			  rc;

	if (env->drift == CONFIG_DRIFT_OFF ||
	    (r->drift_stage == st->id && r->drift_attempt == st->attempt))
		return (0);
	/* A first deployment has no stack to drift. */
	if (store_stage_stack(r->engine->store, st->id, &sk, &cause) == 0 &&
	    !sk->exists) {
		store_stage_stack_free(sk);
		engine_drift_done(r, st->id, st->attempt);
		return (0);
	}
	store_stage_stack_free(sk);
	free(cause);
	cause = NULL;
	/* The NoEcho values to mask are the release's too. */
	if ((rc = engine_release_load(r, st, &cause)) != 0) {
		if (rc == 1)
			return (1);
		/* The stage's next step fails with the reason too. */
		why = xasprintf("the release could not be read: %s", cause);
		engine_drift_not_checked(r, st->id, st->attempt,
		    st->environment, why);
		free(why);
		free(cause);
		return (0);
	}
	rc = store_drift(r->engine->store, st->id, st->attempt, &d, &cause);
	if (rc != 0 && rc != STORE_ENOTFOUND) {
		log_warnx("cannot read the drift app=%s run=%lld: %s", r->app,
		    (long long)r->id, cause);
		free(cause);
		engine_poll_later(r);
		return (1);
	}
	free(cause);
	cause = NULL;
	if (d != NULL && strcmp(d->status, "detecting") != 0) {
		store_drift_free(d);
		engine_drift_done(r, st->id, st->attempt);
		return (0);
	}
	if (d != NULL) {
		left = d->started_at + env->drift_timeout_ms -
		       store_now(r->engine->store);
		if (left <= 0) {
			why = xasprintf("drift detection did not finish within "
					"%lld s",
			    (long long)(env->drift_timeout_ms / 1000));
			engine_drift_not_checked(r, st->id, st->attempt,
			    st->environment, why);
			free(why);
			store_drift_free(d);
			return (0);
		}
	}
	region = aws_context_env_region(r->engine->aws, env);
	if ((creds = aws_context_env_creds(r->engine->aws, engine_run_app(r),
		 env, &cause)) == NULL)
		goto fail;
	call = engine_call_new(r, st);
	call->what = xstrdup(st->environment);
	/* The detect call's: the timeout; the status call's: the deadline. */
	call->data = xmalloc(sizeof(int64_t));
	*(int64_t *)call->data = d == NULL ?
				     env->drift_timeout_ms :
				     d->started_at + env->drift_timeout_ms;
	if (d == NULL) {
		if (cfn_detect_stack_drift(aws_context_client(r->engine->aws),
			creds, region, env->stack, engine_drift_ref_cb, call,
			&cause) == NULL) {
			engine_call_end(call);
			goto fail;
		}
	} else if (cfn_describe_drift_status(aws_context_client(r->engine->aws),
		       creds, region, d->detection_id, engine_drift_status_cb,
		       call, &cause) == NULL) {
		engine_call_end(call);
		goto fail;
	}
	store_drift_free(d);
	return (1);
fail:
	why = xasprintf("%s: %s",
	    d == NULL ? "DetectStackDrift" :
			"DescribeStackDriftDetectionStatus",
	    cause);
	engine_drift_not_checked(r, st->id, st->attempt, st->environment, why);
	free(why);
	free(cause);
	store_drift_free(d);
	return (0);
}

int
engine_drift_blocks(struct engine *e, const struct store_stage *st,
    const struct config_environment *env, char **why)
{
	struct store_drift *d = NULL;
	char		   *cause = NULL;
	int		    rc;

	*why = NULL;
	if (env->drift != CONFIG_DRIFT_BLOCK)
		return (0);
	rc = store_drift(e->store, st->id, st->attempt, &d, &cause);
	free(cause);
	if (rc != 0)
		return (rc == STORE_ENOTFOUND ? 0 : -1);
	if (strcmp(d->status, "drifted") == 0 && d->ack_user == NULL) {
		*why = xasprintf("%zu resource%s of %s's stack changed outside "
				 "CloudFormation (drift: block): an operator "
				 "must acknowledge the drift first "
				 "(shipgatectl ack-drift RUN --env %s -m "
				 "COMMENT)",
		    d->nresources, d->nresources == 1 ? "" : "s",
		    st->environment, st->environment);
		rc = 1;
	}
	store_drift_free(d);
	return (rc);
}

int
engine_drift_ack(struct engine *e, struct store_run *run,
    struct store_stage *st, const struct engine_actor *actor,
    const char *comment, char **cause)
{
	struct store	     *s = e->store;
	struct store_audit_in a;
	char		     *subject, *detail, *why = NULL;
	int		      rc;

	subject = xasprintf("run %lld", (long long)run->id);
	detail = xasprintf("%s attempt %d via %s: %s", st->environment,
	    st->attempt, engine_actor_via(e, actor), comment);
	memset(&a, 0, sizeof a);
	a.actor = actor->user;
	a.unix_user = actor->unix_user;
	a.action = "ack-drift";
	a.subject = subject;
	a.run_id = run->id;
	a.detail = detail;
	if ((rc = store_begin(s, &why)) == 0 &&
	    (rc = store_drift_ack(s, st->id, st->attempt, actor->user, comment,
		 &why)) == 0 &&
	    (rc = store_append_audit(s, &a, &why)) == 0)
		rc = store_commit(s, &why);
	if (rc != 0) {
		store_rollback(s);
		*cause = xasprintf("%s",
		    why != NULL ? why : "the database failed");
		rc = rc == STORE_ENOTFOUND ? ENGINE_ECONFLICT : ENGINE_ESTORE;
		goto out;
	}
	(void)engine_sync(e);
	log_info("drift acknowledged app=%s run=%lld env=%s user=%s", run->app,
	    (long long)run->id, st->environment, actor->user);
out:
	free(subject);
	free(detail);
	free(why);
	return (rc);
}
