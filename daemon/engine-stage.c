/*
 * One step of a stage, by its status, against AWS: create and describe
 * the change set, wait for decisions, execute, wait for the stack and
 * its ECS services, the checks, the promotion gate.  Each step makes at
 * most one AWS call; its callback records what it learnt (a transition
 * committed before the next mutation is sent) and schedules the next
 * step.  A step after a restart is the same step: it describes before
 * it creates or executes.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws-context.h"
#include "config.h"
#include "diff-params.h"
#include "engine-int.h"
#include "log.h"
#include "release.h"
#include "svc-cfn.h"
#include "svc-ecs.h"
#include "svc-s3.h"
#include "syncer.h"
#include "xmalloc.h"

#define ENGINE_EVENTS_MAX 1000 /* stack events read per look */

static void engine_create_change_set(struct engine_run *, struct store_stage *);
static void engine_create_synced(struct engine_run *, struct store_stage *);
static void engine_execute_synced(struct engine_run *, struct store_stage *);

/* --- Helpers ------------------------------------------------------------- */

static struct aws_client *
engine_client(struct engine_run *r)
{
	return (aws_context_client(r->engine->aws));
}

/* The environment's credentials and region; NULL when the role cannot
 * be used (the stage fails with the reason). */
static struct aws_creds *
engine_creds(struct engine_run *r, const struct config_environment *env,
    const char **regionp, char **cause)
{
	*regionp = aws_context_env_region(r->engine->aws, env);
	return (aws_context_env_creds(r->engine->aws, engine_run_app(r), env,
	    cause));
}

/* Ends the stage and the run as failed, with the reason. */
void
engine_stage_fail(struct engine_run *r, struct store_stage *st,
    const char *reason)
{
	if (engine_move(r, st, STORE_STAGE_FAILED, STORE_RUN_FAILED, reason) !=
	    0)
		engine_poll_later(r);
	else
		engine_schedule(r, 0);
}

/* A failure that is worth trying again (network, 5xx, throttling after
 * the client's own retries) rather than failing the stage. */
static int
engine_transient(const struct aws_reply *reply)
{
	/* Another operation on the stack: wait for it to end. */
	if (reply->error == AWS_EAWS &&
	    strstr(reply->aws.message,
		"_IN_PROGRESS state and can not be updated") != NULL)
		return (1);
	if (reply->error == AWS_EAWS || reply->error == AWS_EHTTP)
		return (reply->status >= 500 || reply->status == 429 ||
			strstr(reply->aws.code, "Throttl") != NULL);
	return (reply->error != AWS_EREPLY && reply->error != AWS_EINVAL);
}

/*
 * A reply cut short or garbled on the way (a proxy, a reset) says
 * nothing about the call: every call the engine makes is a read or
 * carries its idempotency token, so it is asked again, a few times in
 * one state, before an endpoint that only ever answers garbage fails the
 * stage.  An error status without AWS's error shape is one too: AWS
 * always says which error, so a 4xx whose body cannot be read (a 404
 * ChangeSetNotFound cut in half) may be the answer the engine expects
 * and must not fail the stage as an unknown error.
 */
#define ENGINE_UNREADABLE_MAX 5

static int
engine_unreadable(const struct aws_reply *reply)
{
	return (reply->error == AWS_EREPLY || reply->error == AWS_EHTTP);
}

static void
engine_call_failed(struct engine_run *r, struct store_stage *st,
    const struct aws_reply *reply, const char *what)
{
	char *reason;

	if (engine_transient(reply) ||
	    (engine_unreadable(reply) &&
		++r->unreadable <= ENGINE_UNREADABLE_MAX)) {
		log_warnx("%s failed, trying again app=%s run=%lld env=%s: %s",
		    what, r->app, (long long)r->id, st->environment,
		    reply->message);
		engine_poll_later(r);
		return;
	}
	reason = xasprintf("%s failed: %s", what, reply->message);
	engine_stage_fail(r, st, reason);
	free(reason);
}

/* The stage of a callback: the run's current one, if it is still the
 * stage and attempt the call was made for. */
static struct store_stage *
engine_call_stage(struct engine_run *r, int64_t stage_id, int attempt)
{
	struct store_stage *st;

	if (r->row == NULL || (st = engine_current_stage(r)) == NULL ||
	    st->id != stage_id || st->attempt != attempt) {
		engine_schedule(r, 0);
		return (NULL);
	}
	return (st);
}

/*
 * The start of an AWS call's callback: the run and stage it was made
 * for, and (envp not NULL) the stage's environment; the call is freed.
 * -1 when there is none any more: the engine let go of the run, the
 * stage moved on or a reload dropped the environment (the run steps
 * again, and waits).
 */
static int
engine_call_back(struct engine_call *call, struct engine_run **rp,
    struct store_stage **stp, const struct config_environment **envp)
{
	int64_t				 stage_id = call->stage_id;
	int				 attempt = call->attempt;
	const struct config_environment *env;

	if ((*rp = engine_call_end(call)) == NULL)
		return (-1);
	if ((*stp = engine_call_stage(*rp, stage_id, attempt)) == NULL)
		return (-1);
	if (envp == NULL)
		return (0);
	if ((env = engine_stage_env(*rp, *stp)) == NULL) {
		engine_schedule(*rp, 0);
		return (-1);
	}
	*envp = env;
	return (0);
}

/* What an AWS call of the stage is made with. */
struct engine_aws {
	struct aws_client *client;
	struct aws_creds  *creds;
	const char	  *region;
};

/*
 * Before an AWS call of the stage: the environment's credentials and
 * the call's record (the run's one call).  NULL when the credentials
 * cannot be had: the stage has failed with the reason.
 */
static struct engine_call *
engine_call_begin(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, struct engine_aws *a)
{
	char *cause = NULL;

	if ((a->creds = engine_creds(r, env, &a->region, &cause)) == NULL) {
		engine_stage_fail(r, st, cause);
		free(cause);
		return (NULL);
	}
	a->client = engine_client(r);
	return (engine_call_new(r, st));
}

/*
 * After the call's start function (op the handle it returned): when the
 * call did not start (NULL), its record goes (with its data) and the
 * stage fails with *cause; -1 then.  The engine never cancels a call it
 * started (a stopping run waits for its replies), so the handle is only
 * tested.
 */
static int
engine_call_started(struct engine_run *r, struct store_stage *st,
    struct engine_call *call, const struct aws_op *op, char **cause)
{
	if (op != NULL)
		return (0);
	engine_call_end(call);
	engine_stage_fail(r, st, *cause);
	free(*cause);
	*cause = NULL;
	return (-1);
}

struct engine_after {
	void (*fn)(struct engine_run *, struct store_stage *);
};

static void
engine_synced_cb(void *arg, int ok)
{
	struct engine_call  *call = arg;
	struct engine_after *after = call->data;
	struct engine_run   *r;
	struct store_stage  *st;
	void (*fn)(struct engine_run *, struct store_stage *);

	fn = after->fn;
	if (engine_call_back(call, &r, &st, NULL) != 0)
		goto out;
	if (!ok)
		engine_poll_later(r);
	else
		fn(r, st);
out:
	return;
}

/*
 * fn(r, st) once the commits that lead to it are on disk: an AWS
 * mutation follows.  The fsync runs off the loop, shared with the other
 * runs' (syncer.h); the run counts as busy meanwhile.
 */
static void
engine_after_sync(struct engine_run *r, struct store_stage *st,
    void (*fn)(struct engine_run *, struct store_stage *))
{
	struct engine_call  *call;
	struct engine_after *after;

	call = engine_call_new(r, st);
	after = xcalloc(1, sizeof *after);
	after->fn = fn;
	call->data = after;
	syncer_wait(r->engine->syncer, engine_synced_cb, call);
}

static int
engine_no_changes(const struct store_stage *st)
{
	return (
	    st->reason != NULL && strncmp(st->reason, ENGINE_NO_CHANGES_REASON,
				      strlen(ENGINE_NO_CHANGES_REASON)) == 0);
}

static void
engine_delete_cb(const struct aws_reply *reply, void *arg)
{
	struct engine_call *call = arg;

	/* DeleteChangeSet is asynchronous: a deletion already under way
	   (InvalidChangeSetStatus) is as good as this one. */
	if (reply->error == AWS_EAWS &&
	    strcmp(reply->aws.code, "InvalidChangeSetStatus") == 0 &&
	    strstr(reply->aws.message, "DELETE_") != NULL)
		log_info("change set already being deleted %s", call->what);
	else if (reply->error != AWS_OK && !cfn_reply_change_set_missing(reply))
		log_warnx("cannot delete change set %s: %s", call->what,
		    reply->message);
	else
		log_info("change set deletion requested %s", call->what);
	engine_call_end(call);
}

/* Deletes the stage's change set, after the transition that abandons
 * it; nobody waits for the answer. */
void
engine_delete_change_set(struct engine_run *r, struct store_stage *st)
{
	const struct config_environment *env;
	struct engine_call		*call;
	struct aws_creds		*creds;
	const char			*region, *cs;
	char				*cause = NULL;

	if (st->change_set_name == NULL ||
	    (env = engine_stage_env(r, st)) == NULL)
		return;
	if ((creds = engine_creds(r, env, &region, &cause)) == NULL) {
		log_warnx("cannot delete change set %s: %s",
		    st->change_set_name, cause);
		free(cause);
		return;
	}
	cs = st->change_set_arn != NULL ? st->change_set_arn :
					  st->change_set_name;
	/* The end of the run is on disk before its change set goes. */
	if (engine_sync(r->engine) != 0)
		return;
	call = engine_call_new(NULL, st);
	call->what = xasprintf("%s app=%s run=%lld env=%s", st->change_set_name,
	    r->app, (long long)r->id, st->environment);
	if (cfn_delete_change_set(engine_client(r), creds, region,
		st->change_set_arn != NULL ? NULL : env->stack, cs,
		engine_delete_cb, call, &cause) == NULL) {
		log_warnx("cannot delete change set %s: %s", call->what, cause);
		free(cause);
		engine_call_end(call);
		return;
	}
	/* A CREATE change set that never ran leaves its stack empty in
	   REVIEW_IN_PROGRESS: it goes too (engine-stack.c). */
	engine_stack_cleanup(r, st);
}

/* --- The release: manifest and template ---------------------------------- */

void
engine_release_drop(struct engine_run *r)
{
	release_free(r->release);
	r->release = NULL;
}

/*
 * The run's release with its template: from the store, or (once) from
 * the zip in the bucket when intake kept no template.  A release whose
 * stored release.json has NoEcho values masked (release_masked) is read
 * from the zip again, its ETag checked and its manifest masked anew
 * compared with the stored one (the template stays the one stored): the
 * values live only in the bucket and in this run's memory, so a restart
 * reads them again.  0 when ready, 1
 * when a download was started (the step comes again), -1 with *cause
 * when the release cannot be deployed.
 */
static int engine_release_fetch(struct engine_run *, struct store_stage *,
    struct store_release *, int, char **);

int
engine_release_load(struct engine_run *r, struct store_stage *st, char **cause)
{
	const struct config_app *app = engine_run_app(r);
	struct store_release	*srel = NULL;
	struct release_limits	 limits;
	struct release_error	 err = { 0, NULL };
	struct release		*rel = NULL;
	char			*why = NULL, *name = NULL, *body = NULL;
	size_t			 len;
	int			 rc = -1;

	if (r->release != NULL)
		return (0);
	if (store_get_release(r->engine->store, r->row->release_id, &srel,
		&why) != 0) {
		*cause = xasprintf("cannot read the release: %s", why);
		goto out;
	}
	if (srel->manifest == NULL) {
		*cause = xasprintf("release %lld has no manifest",
		    (long long)srel->id);
		goto out;
	}
	release_limits_from_app(&limits, app);
	if (release_parse_manifest(&rel, srel->manifest, strlen(srel->manifest),
		app->name, &limits, &err) != 0) {
		*cause = xasprintf("the release's manifest: %s", err.reason);
		goto out;
	}
	switch (store_release_template(r->engine->store, srel->id, &name, &body,
	    &len, &why)) {
	case 0:
		if (release_masked(rel)) {
			rc = engine_release_fetch(r, st, srel, 1, cause);
			break;
		}
		free(rel->template);
		rel->template = body;
		rel->template_len = len;
		body = NULL;
		r->release = rel;
		rel = NULL;
		rc = 0;
		break;
	case STORE_ENOTFOUND:
		rc = engine_release_fetch(r, st, srel, 0, cause);
		break;
	default:
		*cause = xasprintf("cannot read the release's template: %s",
		    why);
		break;
	}
out:
	free(why);
	free(name);
	free(body);
	release_free(rel);
	release_error_clear(&err);
	store_release_free(srel);
	return (rc);
}

struct engine_fetch {
	int64_t release_id;
	char   *etag;
	char   *masked; /* the stored release.json, when its
					   NoEcho values are wanted */
};

/* ETags compare without their quotes (intake keeps them bare). */
static int
engine_etag_equal(const char *a, const char *b)
{
	size_t la, lb;

	if (*a == '"')
		a++;
	if (*b == '"')
		b++;
	la = strcspn(a, "\"");
	lb = strcspn(b, "\"");
	return (la == lb && strncmp(a, b, la) == 0);
}

/* Two JSON texts of the same value (release.json masked by intake or
 * by an operator's hand: the spacing and order may differ). */
static int
engine_same_json(const char *a, const char *b)
{
	json_t *ja, *jb;
	int	same;

	ja = json_loads(a, 0, NULL);
	jb = json_loads(b, 0, NULL);
	same = ja != NULL && jb != NULL && json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return (same);
}

static void
engine_zip_cb(const struct aws_reply *reply, struct s3_object *obj, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_fetch		*f = call->data;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	struct release_limits		 limits;
	struct release_error		 err = { 0, NULL };
	struct release			*rel = NULL;
	struct config_strings		 names = { NULL, 0 };
	int64_t				 release_id = f->release_id;
	char				*etag = f->etag, *masked = f->masked;
	char				*why = NULL, *reason, *again = NULL;
	char				*tname = NULL, *tbody = NULL;
	size_t				 tlen = 0;

	f->etag = NULL;
	f->masked = NULL;
	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out; /* a reload dropped the environment: wait */
	if (reply->error != AWS_OK) {
		engine_call_failed(r, st, reply,
		    masked != NULL ? "reading "
				     "the release zip for its NoEcho values" :
				     "reading the "
				     "release zip");
		goto out;
	}
	if (etag != NULL && obj->info.etag != NULL &&
	    !engine_etag_equal(etag, obj->info.etag)) {
		engine_stage_fail(r, st,
		    "the release zip was replaced in its "
		    "bucket since it was received (ETag differs)");
		goto out;
	}
	release_limits_from_app(&limits, engine_run_app(r));
	if (release_read(&rel, obj->data, obj->len, r->app, &limits, &err) !=
	    0) {
		reason = xasprintf("the release zip: %s", err.reason);
		engine_stage_fail(r, st, reason);
		free(reason);
		goto out;
	}
	if (masked != NULL) {
		/* The same release.json as received, values aside: kept
		   in this run's memory only. */
		if (diff_no_echo_names(rel->template_name, rel->template,
			rel->template_len, &names, &why) == 0)
			release_mask_manifest(rel, &names, &again);
		if (again == NULL || !engine_same_json(again, masked)) {
			engine_stage_fail(r, st,
			    "the release zip in its bucket "
			    "is not the release received (its release.json "
			    "differs)");
			goto out;
		}
		/* The template kept at intake is the one deployed (and
		   compared for the approver), whatever the zip holds. */
		if (store_release_template(r->engine->store, release_id, &tname,
			&tbody, &tlen, &why) != 0) {
			log_warnx("cannot read the release's template app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			engine_poll_later(r);
			goto out;
		}
		free(rel->template);
		rel->template = tbody;
		rel->template_len = tlen;
		tbody = NULL;
		log_info("NoEcho values read from the release zip app=%s "
			 "run=%lld",
		    r->app, (long long)r->id);
		if (r->release == NULL) {
			r->release = rel;
			rel = NULL;
		}
		engine_schedule(r, 0);
		goto out;
	}
	if (store_set_release_template(r->engine->store, release_id,
		rel->template_name, rel->template, rel->template_len,
		&why) != 0) {
		log_warnx("cannot keep the template app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		engine_poll_later(r);
		goto out;
	}
	engine_schedule(r, 0);
out:
	free(why);
	free(etag);
	free(masked);
	free(again);
	free(tname);
	free(tbody);
	diff_names_free(&names);
	release_free(rel);
	release_error_clear(&err);
	s3_object_free(obj);
}

static int
engine_release_fetch(struct engine_run *r, struct store_stage *st,
    struct store_release *srel, int values, char **cause)
{
	const struct config_app *app = engine_run_app(r);
	struct engine_call	*call;
	struct engine_fetch	*f;
	struct s3_target	 t;

	memset(&t, 0, sizeof t);
	t.bucket = srel->bucket;
	t.key = srel->key;
	/* The version read at intake, not whatever the key holds now: a
	   zip replaced since is not what was validated and approved. */
	t.version_id = srel->version_id;
	call = engine_call_new(r, st);
	f = xcalloc(1, sizeof *f);
	f->release_id = srel->id;
	f->etag = srel->etag != NULL ? xstrdup(srel->etag) : NULL;
	f->masked = values ? xstrdup(srel->manifest) : NULL;
	call->data = f;
	if (s3_get_object(engine_client(r), &t, (size_t)app->limit_zip_size,
		engine_zip_cb, call, cause) == NULL) {
		free(f->etag);
		free(f->masked);
		engine_call_end(call);
		return (-1);
	}
	log_info("reading the release zip app=%s run=%lld s3://%s/%s%s%s",
	    r->app, (long long)r->id, srel->bucket, srel->key,
	    srel->version_id != NULL ? " version=" : "",
	    srel->version_id != NULL ? srel->version_id : "");
	return (1);
}

/* --- pending: promotion, then the change set's name ---------------------- */

/* The stage's change set was just named here and nothing was sent: the
 * next step creates it without describing it first (after a failure or
 * a restart it describes again). */
static void
engine_fresh(struct engine_run *r, struct store_stage *st)
{
	r->fresh_stage = st->id;
	r->fresh_attempt = st->attempt;
}

void
engine_step_pending(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	/* What the tags name now, for the page and the mail. */
	if (engine_images_recheck(r, st))
		return;
	/* The stack as it runs, to compare the parameters with. */
	if (engine_stack_read(r, st, env))
		return;
	if (env->registry != NULL) {
		/* The images first (engine-promote.c). */
		if (engine_move(r, st, STORE_STAGE_PROMOTING, 0, NULL) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		return;
	}
	engine_name_change_set(r, st);
}

/* pending (or promoting, the images copied): the change set's name is
 * recorded, then creating_change_set. */
void
engine_name_change_set(struct engine_run *r, struct store_stage *st)
{
	const struct config_environment *env;
	char				*name, *why = NULL;
	int				 ok;

	if (engine_stack_busy(r, st)) {
		log_debug(LOG_CAT_ENGINE, "stack busy app=%s run=%lld env=%s",
		    r->app, (long long)r->id, st->environment);
		engine_poll_later(r);
		return;
	}
	/* A stuck stack: wait, saying why, for an operator. */
	if (engine_hold_wait(r, st))
		return;
	/* The stack's drift, for the approver (engine-drift.c): here, once
	   no other run changes the stack, so that the detection sees it
	   settled (CloudFormation refuses one on a stack being updated). */
	if ((env = engine_stage_env(r, st)) != NULL &&
	    engine_drift_check(r, st, env))
		return;
	/* The name is recorded before anything is sent: after a crash the
	   step describes this name before creating anything. */
	name = release_change_set_name(r->app, (long long)r->id,
	    st->environment, st->attempt);
	if (engine_txn_begin(r) != 0) {
		free(name);
		engine_poll_later(r);
		return;
	}
	ok = store_stage_set_change_set(r->engine->store, st->id, st->attempt,
		 name, &why) == 0 &&
	     store_stage_set_deadline(r->engine->store, st->id, 0, &why) == 0 &&
	     engine_enter(r, st, STORE_STAGE_CREATING_CHANGE_SET, 0, NULL,
		 NULL) == 0;
	if (why != NULL) {
		log_warnx("cannot record the change set app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
	}
	free(name);
	if (engine_txn_end(r, ok) != 0)
		engine_poll_later(r);
	else {
		engine_fresh(r, st);
		engine_schedule(r, 0);
	}
}

/* --- After the deployment: deployments, gate ----------------------------- */

/* Whether a promotion gate follows this stage. */
static int
engine_gate_after(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	return (env->gate.n > 0 && r->row->kind != STORE_RUN_ROLLBACK &&
		(size_t)st->position + 1 < r->row->nstages);
}

/*
 * The stage's release now runs in the environment: record it, then the
 * gate or the end of the stage, in the caller's transaction.
 */
int
engine_deployed(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, const char *no_changes)
{
	struct store *s = r->engine->store;
	char	     *why = NULL;
	int	      rc = -1;

	if (store_record_deployment(s, st->id, &why) != 0)
		goto out;
	if (engine_auto_rollback(r) && engine_mark_rolled_back(r, st) != 0)
		goto out;
	if (engine_notify(r->engine, r->id, st, "deployed", NULL, NULL,
		no_changes) != 0)
		goto out;
	if (engine_gate_after(r, st, env)) {
		if (store_stage_set_deadline(s, st->id,
			store_now(s) + env->approval_timeout_ms, &why) != 0)
			goto out;
		rc = engine_enter(r, st, STORE_STAGE_AWAITING_GATE, 0,
		    no_changes, NULL);
	} else {
		if (store_stage_set_deadline(s, st->id, 0, &why) != 0)
			goto out;
		rc = engine_enter(r, st,
		    no_changes != NULL ? STORE_STAGE_NO_CHANGES :
					 STORE_STAGE_DONE,
		    0, no_changes, NULL);
	}
out:
	if (why != NULL) {
		log_warnx("cannot record the deployment app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
	}
	return (rc);
}

/* --- creating_change_set ------------------------------------------------- */

static char *
engine_json_scope(const struct cfn_resource_change *c)
{
	json_t *a;
	char   *s;
	size_t	i;

	a = json_array();
	for (i = 0; i < c->nscope; i++)
		json_array_append_new(a, json_string(c->scope[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return (s);
}

static void
engine_json_set(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

static char *
engine_json_details(const struct cfn_resource_change *c)
{
	const struct cfn_change_detail *d;
	json_t			       *a, *o;
	char			       *s;
	size_t				i;

	a = json_array();
	for (i = 0; i < c->ndetails; i++) {
		d = &c->details[i];
		o = json_object();
		engine_json_set(o, "Attribute", d->target_attribute);
		engine_json_set(o, "Name", d->target_name);
		engine_json_set(o, "RequiresRecreation",
		    d->requires_recreation);
		engine_json_set(o, "Evaluation", d->evaluation);
		engine_json_set(o, "ChangeSource", d->change_source);
		engine_json_set(o, "CausingEntity", d->causing_entity);
		json_array_append_new(a, o);
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return (s);
}

/* The change set is ready (or changes nothing): its changes and the
 * next state in one transaction. */
static void
engine_change_set_ready(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, const struct cfn_change_set *cs,
    int empty)
{
	struct store		 *s = r->engine->store;
	struct store_change_in	 *in;
	char			**scopes, **details; /* in's, owned */
	char			 *why = NULL, *reason = NULL, *summary;
	struct cfn_change_summary sum;
	size_t			  i, n = 0;
	int			  ok;

	in = xcalloc(cs->nchanges + 1, sizeof *in);
	scopes = xcalloc(cs->nchanges + 1, sizeof *scopes);
	details = xcalloc(cs->nchanges + 1, sizeof *details);
	for (i = 0; i < cs->nchanges; i++) {
		if (cs->changes[i].logical_id == NULL)
			continue; /* not a resource change */
		in[n].action = cs->changes[i].action_text;
		in[n].logical_id = cs->changes[i].logical_id;
		in[n].physical_id = cs->changes[i].physical_id;
		in[n].resource_type = cs->changes[i].resource_type;
		in[n].replacement = cs->changes[i].replacement_text;
		scopes[n] = engine_json_scope(&cs->changes[i]);
		details[n] = engine_json_details(&cs->changes[i]);
		in[n].scope = scopes[n];
		in[n].details = details[n];
		n++;
	}
	if (empty)
		reason = xasprintf("%s%s", ENGINE_NO_CHANGES_REASON,
		    cs->status_reason != NULL ?
			cs->status_reason :
			"the change set changes no resource (only the stack's "
			"tags, parameters or outputs would change)");
	if (engine_txn_begin(r) != 0) {
		ok = -1;
		goto out;
	}
	ok = store_record_stage_changes(s, st->id, st->attempt, in, n, &why) ==
	     0;
	if (ok && empty &&
	    (!env->approve_no_changes || engine_auto_rollback(r)))
		ok = engine_deployed(r, st, env, reason) == 0;
	else if (ok && engine_auto_rollback(r)) {
		/* The environment's own auto_rollback asked for it: waiting
		   for an approval would leave the failed version running. */
		free(reason);
		reason = xasprintf("automatic rollback of run %lld: executed "
				   "without approval",
		    (long long)r->row->rollback_of);
		ok = store_stage_set_deadline(s, st->id, 0, &why) == 0 &&
		     engine_enter(r, st, STORE_STAGE_EXECUTING, 0, reason,
			 NULL) == 0;
	} else if (ok) {
		ok = store_stage_set_deadline(s, st->id,
			 store_now(s) + env->approval_timeout_ms, &why) == 0 &&
		     engine_enter(r, st, STORE_STAGE_AWAITING_APPROVAL, 0,
			 reason, NULL) == 0;
	}
	if (why != NULL)
		log_warnx("cannot record the changes app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
	ok = engine_txn_end(r, ok) == 0;
	if (ok) {
		cfn_change_summary_init(&sum, cs);
		summary = cfn_change_summary_text(&sum, cs);
		log_info("change set ready app=%s run=%lld env=%s name=%s "
			 "changes=\"%s\"",
		    r->app, (long long)r->id, st->environment,
		    st->change_set_name, summary);
		free(summary);
		cfn_change_summary_clear(&sum);
	}
out:
	for (i = 0; i < n; i++) {
		free(scopes[i]);
		free(details[i]);
	}
	free(scopes);
	free(details);
	free(in);
	free(reason);
	free(why);
	if (ok)
		engine_schedule(r, 0);
	else
		engine_poll_later(r);
}

/*
 * Resource changes in a change set.  One without any is treated as
 * having no changes: the stack's tags (which name the run) would change
 * at every run, so CloudFormation's own "didn't contain changes" never
 * comes for a release deployed again as it is.
 */
static size_t
engine_resource_changes(const struct cfn_change_set *cs)
{
	size_t i, n = 0;

	for (i = 0; i < cs->nchanges; i++)
		if (cs->changes[i].logical_id != NULL)
			n++;
	return (n);
}

static void
engine_change_set_cb(const struct aws_reply *reply, struct cfn_change_set *cs,
    void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	enum cfn_change_set_state	 state;
	char				*reason, *why = NULL;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		if (cfn_reply_change_set_missing(reply) ||
		    cfn_reply_stack_missing(reply)) {
			/* Never created (or deleted by another execution on
			   the stack): create it now. */
			r->described_stage = 0;
			engine_create_change_set(r, st);
		} else
			engine_call_failed(r, st, reply,
			    "describing the change set");
		goto out;
	}
	r->described_stage = st->id;
	r->described_attempt = st->attempt;
	if (st->change_set_arn == NULL && cs->id != NULL) {
		if (store_stage_set_change_set_id(r->engine->store, st->id,
			cs->id, cs->stack_id, &why) != 0) {
			log_warnx("cannot record the change set id app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			free(why);
		} else {
			st->change_set_arn = xstrdup(cs->id);
			free(st->stack_id);
			st->stack_id = cs->stack_id != NULL ?
					   xstrdup(cs->stack_id) :
					   NULL;
		}
	}
	state = cfn_change_set_state(cs->status);
	if (state == CFN_CHANGE_SET_CREATED)
		engine_change_set_ready(r, st, env, cs,
		    engine_resource_changes(cs) == 0);
	else if (cfn_change_set_is_empty(cs))
		engine_change_set_ready(r, st, env, cs, 1);
	else if (state != CFN_CHANGE_SET_OTHER) {
		reason = xasprintf("change set %s is %s: %s",
		    st->change_set_name, cs->status,
		    cs->status_reason != NULL ? cs->status_reason :
						"no reason given");
		engine_stage_fail(r, st, reason);
		free(reason);
	} else
		engine_poll_later(r);
out:
	cfn_change_set_free(cs);
}

static void
engine_describe_change_set(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, cfn_change_set_cb cb)
{
	struct engine_call *call;
	struct engine_aws   a;
	char		   *cause = NULL;

	if ((call = engine_call_begin(r, st, env, &a)) == NULL)
		return;
	engine_call_started(r, st, call,
	    cfn_describe_change_set(a.client, a.creds, a.region,
		st->change_set_arn != NULL ? NULL : env->stack,
		st->change_set_arn != NULL ? st->change_set_arn :
					     st->change_set_name,
		cb, call, &cause),
	    &cause);
}

/* What CreateChangeSet needs across its calls (stack, template upload). */
struct engine_create {
	enum cfn_change_set_type type;
	char			*template_url;
};

/*
 * CreateChangeSet answered at once that nothing would change: the same
 * as a FAILED change set saying so, with CloudFormation's words as the
 * reason.
 */
static void
engine_created_empty(struct engine_run *r, struct store_stage *st,
    const struct aws_reply *reply)
{
	const struct config_environment *env;
	struct cfn_change_set		 cs;

	if ((env = engine_stage_env(r, st)) == NULL) {
		engine_schedule(r, 0);
		return;
	}
	log_info("change set refused, nothing to change app=%s run=%lld "
		 "env=%s name=%s: %s",
	    r->app, (long long)r->id, st->environment, st->change_set_name,
	    reply->aws.message);
	memset(&cs, 0, sizeof cs);
	cs.status = xstrdup("FAILED");
	cs.status_reason = xstrdup(reply->aws.message);
	engine_change_set_ready(r, st, env, &cs, 1);
	free(cs.status);
	free(cs.status_reason);
}

/* The stuck status a refusal names ("Stack:... is in
 * UPDATE_ROLLBACK_FAILED state and can not be updated."), or NULL. */
static const char *
engine_refused_held(const struct aws_reply *reply)
{
	if (reply->error != AWS_EAWS)
		return (NULL);
	if (strstr(reply->aws.message, " UPDATE_ROLLBACK_FAILED state") != NULL)
		return ("UPDATE_ROLLBACK_FAILED");
	if (strstr(reply->aws.message, " ROLLBACK_COMPLETE state") != NULL &&
	    strstr(reply->aws.message, "UPDATE_ROLLBACK_COMPLETE") == NULL)
		return ("ROLLBACK_COMPLETE");
	return (NULL);
}

static void
engine_created_cb(const struct aws_reply *reply, struct cfn_change_set_ref *ref,
    void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	const char			*held;
	char				*why = NULL, *reason;

	if (engine_call_back(call, &r, &st, NULL) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		if (reply->error == AWS_EAWS &&
		    strcmp(reply->aws.code, "AlreadyExistsException") == 0) {
			r->described_stage = st->id;
			r->described_attempt = st->attempt;
			engine_poll_later(r);
		} else if (cfn_reply_no_changes(reply))
			engine_created_empty(r, st, reply);
		else if ((held = engine_refused_held(reply)) != NULL &&
			 (env = engine_stage_env(r, st)) != NULL) {
			/* Stuck, by shipgate's hand or another's: wait for
			   an operator. */
			reason = xasprintf("CreateChangeSet refused: %s",
			    reply->aws.message);
			engine_hold_record(r, st, env->stack, held, reason, 0);
			free(reason);
		} else
			engine_call_failed(r, st, reply,
			    "creating the change set");
		goto out;
	}
	if (store_stage_set_change_set_id(r->engine->store, st->id, ref->id,
		ref->stack_id, &why) != 0) {
		log_warnx("cannot record the change set id app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id, why);
		free(why);
	}
	log_info("change set created app=%s run=%lld env=%s name=%s", r->app,
	    (long long)r->id, st->environment, st->change_set_name);
	r->described_stage = st->id;
	r->described_attempt = st->attempt;
	engine_poll_later(r);
out:
	cfn_change_set_ref_free(ref);
}

static void
engine_send_create(struct engine_run *r, struct store_stage *st,
    enum cfn_change_set_type type, const char *template_url)
{
	const struct config_environment	  *env = engine_stage_env(r, st);
	struct release			  *rel = r->release;
	struct cfn_create_change_set_input in;
	struct cfn_parameter_input	  *params = NULL;
	struct cfn_tag_input		   tags[3];
	struct config_kvs		   kvs = { NULL, 0 };
	struct engine_call		  *call;
	struct engine_aws		   a;
	char				  *desc, *token, *run_text;
	char				  *cause = NULL;
	size_t				   i;

	if (env == NULL) {
		engine_stage_fail(r, st,
		    "the environment is no longer "
		    "configured");
		return;
	}
	/* The store may fail for a moment: the step comes again. */
	if (engine_images_parameters(r, env, &kvs, &cause) != 0) {
		log_warnx("app=%s run=%lld: %s", r->app, (long long)r->id,
		    cause);
		free(cause);
		engine_poll_later(r);
		return;
	}
	if ((call = engine_call_begin(r, st, env, &a)) == NULL) {
		release_kvs_free(&kvs);
		return;
	}
	engine_params_record(r, st, &kvs);
	params = xcalloc(kvs.n + 1, sizeof *params);
	for (i = 0; i < kvs.n; i++) {
		params[i].key = kvs.items[i].key;
		params[i].value = kvs.items[i].value;
	}
	run_text = xasprintf("%lld", (long long)r->id);
	tags[0].key = "shipgate:run";
	tags[0].value = run_text;
	tags[1].key = "shipgate:version";
	tags[1].value = rel->version;
	tags[2].key = "shipgate:app";
	tags[2].value = r->app;
	desc = release_change_set_description(rel->version, rel->message);
	token = xasprintf("shipgate-%lld-%lld-%d", (long long)r->id,
	    (long long)st->id, st->attempt);

	memset(&in, 0, sizeof in);
	in.stack_name = env->stack;
	in.change_set_name = st->change_set_name;
	in.type = type;
	in.description = desc;
	if (template_url != NULL)
		in.template_url = template_url;
	else
		in.template_body = rel->template;
	in.parameters = params;
	in.nparameters = kvs.n;
	in.tags = tags;
	in.ntags = 3;
	in.capabilities = CFN_CAPABILITY_IAM | CFN_CAPABILITY_NAMED_IAM |
			  CFN_CAPABILITY_AUTO_EXPAND;
	in.client_token = token;
	engine_call_started(r, st, call,
	    cfn_create_change_set(a.client, a.creds, a.region, &in,
		engine_created_cb, call, &cause),
	    &cause);
	free(params);
	release_kvs_free(&kvs);
	free(run_text);
	free(desc);
	free(token);
}

static void
engine_template_put_cb(const struct aws_reply *reply, struct s3_put_result *res,
    void *arg)
{
	struct engine_call	*call = arg;
	struct engine_create	*c = call->data;
	struct engine_run	*r;
	struct store_stage	*st;
	enum cfn_change_set_type type = c->type;
	char			*url = c->template_url;

	c->template_url = NULL;
	if (engine_call_back(call, &r, &st, NULL) != 0)
		goto out;
	if (reply->error != AWS_OK)
		engine_call_failed(r, st, reply, "uploading the template");
	else
		engine_send_create(r, st, type, url);
out:
	free(url);
	s3_put_result_free(res);
}

/* Templates over CloudFormation's inline limit go to the artifacts
 * bucket first and are passed by URL. */
static void
engine_put_template(struct engine_run *r, struct store_stage *st,
    enum cfn_change_set_type type)
{
	const struct config_app *app = engine_run_app(r);
	struct s3_put_params	 p;
	struct engine_call	*call;
	struct engine_create	*c;
	char			*key, *url, *cause = NULL;

	if (app->artifacts_bucket == NULL) {
		engine_stage_fail(r, st,
		    "the template is larger than "
		    "CloudFormation's 51,200 bytes inline and the app has no "
		    "artifacts bucket to pass it by URL");
		return;
	}
	key = xasprintf("%s%s/run-%lld/%s-%d/%s", app->artifacts_prefix, r->app,
	    (long long)r->id, st->environment, st->attempt,
	    r->release->template_name);
	memset(&p, 0, sizeof p);
	p.t.bucket = app->artifacts_bucket;
	p.t.key = key;
	p.data = r->release->template;
	p.len = r->release->template_len;
	p.content_type = "text/plain";
	if ((url = s3_url(engine_client(r), &p.t, &cause)) == NULL) {
		engine_stage_fail(r, st, cause);
		free(cause);
		free(key);
		return;
	}
	call = engine_call_new(r, st);
	c = xcalloc(1, sizeof *c);
	c->type = type;
	c->template_url = url;
	call->data = c;
	if (s3_put_object(engine_client(r), &p, engine_template_put_cb, call,
		&cause) == NULL) {
		free(c->template_url);
		engine_call_end(call);
		engine_stage_fail(r, st, cause);
		free(cause);
	}
	free(key);
}

static void
engine_stack_type_cb(const struct aws_reply *reply,
    struct cfn_stack_list *stacks, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	enum cfn_change_set_type	 type = CFN_CHANGE_SET_UPDATE;
	char				*reason, *why = NULL;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out; /* a reload dropped the environment: wait */
	if (reply->error != AWS_OK && !cfn_reply_stack_missing(reply)) {
		engine_call_failed(r, st, reply, "describing the stack");
		goto out;
	}
	if (reply->error == AWS_OK && stacks->n > 0 &&
	    engine_hold_status(stacks->v[0].status)) {
		/* Stuck before this run came (a restart, another tool): no
		   change set can run on it; wait for an operator. */
		reason = xasprintf("stack %s is %s%s%s", env->stack,
		    stacks->v[0].status,
		    stacks->v[0].status_reason != NULL ? ": " : "",
		    stacks->v[0].status_reason != NULL ?
			stacks->v[0].status_reason :
			"");
		engine_hold_record(r, st, env->stack, stacks->v[0].status,
		    reason, 0);
		free(reason);
		goto out;
	}
	/* A stack that never had a change set executed is created; one
	   that does not exist is made by this stage's change set (only
	   such a stack is deleted when the run ends unexecuted). */
	if (reply->error != AWS_OK || stacks->n == 0) {
		if (store_stage_set_stack_created(r->engine->store, st->id,
			&why) != 0) {
			log_warnx("cannot record the new stack app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			free(why);
		}
		type = CFN_CHANGE_SET_CREATE;
	} else if (strcmp(stacks->v[0].status, "REVIEW_IN_PROGRESS") == 0)
		type = CFN_CHANGE_SET_CREATE;
	if (release_template_inline(r->release))
		engine_send_create(r, st, type, NULL);
	else
		engine_put_template(r, st, type);
out:
	cfn_stack_list_free(stacks);
}

static void
engine_create_change_set(struct engine_run *r, struct store_stage *st)
{
	char *cause = NULL;

	switch (engine_release_load(r, st, &cause)) {
	case 0:
		break;
	case 1:
		return;
	default:
		engine_stage_fail(r, st, cause);
		free(cause);
		return;
	}
	/* The change set's name is on disk before it is created. */
	engine_after_sync(r, st, engine_create_synced);
}

static void
engine_create_synced(struct engine_run *r, struct store_stage *st)
{
	const struct config_environment *env;
	struct engine_call		*call;
	struct engine_aws		 a;
	char				*cause = NULL;

	if ((env = engine_stage_env(r, st)) == NULL) {
		engine_schedule(r, 0); /* a reload dropped it: wait */
		return;
	}
	if ((call = engine_call_begin(r, st, env, &a)) == NULL)
		return;
	engine_call_started(r, st, call,
	    cfn_describe_stacks(a.client, a.creds, a.region, env->stack,
		engine_stack_type_cb, call, &cause),
	    &cause);
}

/* --- awaiting_approval, awaiting_gate ------------------------------------ */

/* Rejected, approved (quorum), expired, or still waiting. */
static void
engine_step_decision(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, int gate)
{
	struct store	   *s = r->engine->store;
	struct engine_actor actor;
	char		   *user = NULL, *comment = NULL, *reason;
	int64_t		    now, wait, next;
	int		    n, quorum, ok, open;

	if (store_stage_rejection(s, st->id, st->attempt, gate, &user, &comment,
		NULL) == 0) {
		memset(&actor, 0, sizeof actor);
		actor.user = user;
		actor.via = "engine";
		reason = xasprintf("rejected by %s: %s", user,
		    comment != NULL ? comment : "");
		if (engine_txn_begin(r) == 0 &&
		    engine_txn_end(r,
			engine_enter(r, st, STORE_STAGE_REJECTED,
			    STORE_RUN_REJECTED, reason, &actor) == 0) == 0) {
			if (!gate)
				engine_delete_change_set(r, st);
			engine_schedule(r, 0);
		} else
			engine_poll_later(r);
		free(reason);
		free(user);
		free(comment);
		return;
	}
	if (store_count_approvals(s, st->id, st->attempt, gate, &n, NULL) !=
	    0) {
		engine_poll_later(r);
		return;
	}
	quorum = gate ?
		     1 :
		     (st->required_approvals > 0 ? st->required_approvals : 1);
	if (n >= quorum) {
		if (engine_txn_begin(r) != 0) {
			engine_poll_later(r);
			return;
		}
		if (gate)
			ok = store_stage_set_deadline(s, st->id, 0, NULL) ==
				 0 &&
			     engine_enter(r, st,
				 engine_no_changes(st) ?
				     STORE_STAGE_NO_CHANGES :
				     STORE_STAGE_DONE,
				 0, st->reason, NULL) == 0;
		else if (engine_no_changes(st)) {
			reason = xstrdup(st->reason);
			ok = engine_deployed(r, st, env, reason) == 0;
			free(reason);
		} else if ((open = engine_window_check(r, st, env, store_now(s),
				&next, &reason)) == 0) {
			/* Approved outside the windows: the approval's
			   deadline keeps running (engine-window.c). */
			ok = engine_enter(r, st, STORE_STAGE_AWAITING_WINDOW, 0,
				 reason, NULL) == 0;
			free(reason);
		} else
			ok = open == 1 &&
			     store_stage_set_deadline(s, st->id, 0, NULL) ==
				 0 &&
			     engine_enter(r, st, STORE_STAGE_EXECUTING, 0, NULL,
				 NULL) == 0;
		if (engine_txn_end(r, ok) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		return;
	}
	now = store_now(s);
	if (st->deadline_at != 0 && now >= st->deadline_at) {
		reason = xasprintf("%s not given within approval_timeout "
				   "(%lld s): %d of %d",
		    gate ? "promotion authorisation" : "approval",
		    (long long)(env->approval_timeout_ms / 1000), n, quorum);
		if (engine_move(r, st, STORE_STAGE_EXPIRED, STORE_RUN_EXPIRED,
			reason) == 0) {
			if (!gate)
				engine_delete_change_set(r, st);
			engine_schedule(r, 0);
		} else
			engine_poll_later(r);
		free(reason);
		return;
	}
	/* Decisions wake the run; the deadline is looked at again in time
	   (and at least every poll_max, in case a wake was lost). */
	wait = r->engine->poll_max_ms;
	if (st->deadline_at != 0 && st->deadline_at - now + 1 < wait)
		wait = st->deadline_at - now + 1;
	engine_schedule(r, wait);
}

/* --- executing ----------------------------------------------------------- */

/* The change set can no longer run (the stack changed under it): a new
 * attempt with a new change set, approval asked again. */
static void
engine_recreate(struct engine_run *r, struct store_stage *st,
    const char *why_text)
{
	struct store *s = r->engine->store;
	char	     *name, *reason, *why = NULL;
	int	      ok;

	name = release_change_set_name(r->app, (long long)r->id,
	    st->environment, st->attempt + 1);
	reason = xasprintf("change set %s is no longer executable (%s): "
			   "recreated as %s, approval asked again",
	    st->change_set_name, why_text, name);
	if (engine_txn_begin(r) != 0) {
		engine_poll_later(r);
		goto out;
	}
	ok = store_stage_set_change_set(s, st->id, st->attempt + 1, name,
		 &why) == 0 &&
	     engine_enter(r, st, STORE_STAGE_CREATING_CHANGE_SET, 0, reason,
		 NULL) == 0;
	if (engine_txn_end(r, ok) != 0)
		engine_poll_later(r);
	else {
		r->fresh_stage = st->id;
		r->fresh_attempt = st->attempt + 1;
		engine_schedule(r, 0);
	}
out:
	free(why);
	free(name);
	free(reason);
}

/* The change set was executed: wait for the stack, bounded. */
static void
engine_executed(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	struct store *s = r->engine->store;
	int64_t	      at = 0;
	int	      ok;

	if (engine_txn_begin(r) != 0) {
		engine_poll_later(r);
		return;
	}
	ok = store_stage_executed_at(s, st->id, &at, NULL) == 0 &&
	     (at != 0 || store_stage_set_executed_at(s, st->id, store_now(s),
			     NULL) == 0) &&
	     store_stage_set_deadline(s, st->id,
		 store_now(s) + env->deploy_timeout_ms, NULL) == 0 &&
	     engine_enter(r, st, STORE_STAGE_WAITING_STACK, 0, NULL, NULL) == 0;
	if (engine_txn_end(r, ok) != 0)
		engine_poll_later(r);
	else
		engine_schedule(r, 0);
}

static void
engine_execute_cb(const struct aws_reply *reply, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error == AWS_OK) {
		log_info("change set executed app=%s run=%lld env=%s name=%s",
		    r->app, (long long)r->id, st->environment,
		    st->change_set_name);
		engine_executed(r, st, env);
	} else if (reply->error == AWS_EAWS &&
		   (strcmp(reply->aws.code, "InvalidChangeSetStatus") == 0 ||
		       cfn_reply_change_set_missing(reply) ||
		       strstr(reply->aws.message,
			   "state and can not be updated") != NULL)) {
		/* Describe again: executed, stale, or the stack is busy. */
		log_info("change set not executed app=%s run=%lld env=%s: %s",
		    r->app, (long long)r->id, st->environment, reply->message);
		engine_poll_later(r);
	} else
		engine_call_failed(r, st, reply, "executing the change set");
out:
	return;
}

static void
engine_execute(struct engine_run *r, struct store_stage *st)
{
	struct store *s = r->engine->store;
	char	     *cause = NULL;

	/* Committed before the mutation: the stack events read later are
	   those after this time. */
	if (store_stage_set_executed_at(s, st->id, store_now(s), &cause) != 0) {
		log_warnx("cannot record the execution app=%s run=%lld: %s",
		    r->app, (long long)r->id, cause);
		free(cause);
		engine_poll_later(r);
		return;
	}
	engine_after_sync(r, st, engine_execute_synced);
}

static void
engine_execute_synced(struct engine_run *r, struct store_stage *st)
{
	const struct config_environment *env;
	struct engine_call		*call;
	struct engine_aws		 a;
	char				*token, *cause = NULL;

	if ((env = engine_stage_env(r, st)) == NULL) {
		engine_schedule(r, 0);
		return;
	}
	if ((call = engine_call_begin(r, st, env, &a)) == NULL)
		return;
	token = xasprintf("shipgate-%lld-%lld-%d-execute", (long long)r->id,
	    (long long)st->id, st->attempt);
	engine_call_started(r, st, call,
	    cfn_execute_change_set(a.client, a.creds, a.region,
		st->change_set_arn != NULL ? NULL : env->stack,
		st->change_set_arn != NULL ? st->change_set_arn :
					     st->change_set_name,
		token, engine_execute_cb, call, &cause),
	    &cause);
	free(token);
}

static void
engine_stack_executed_cb(const struct aws_reply *reply,
    struct cfn_stack_list *stacks, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK && !cfn_reply_stack_missing(reply)) {
		engine_call_failed(r, st, reply, "describing the stack");
		goto out;
	}
	if (reply->error == AWS_OK && stacks->n > 0 &&
	    stacks->v[0].change_set_id != NULL && st->change_set_arn != NULL &&
	    strcmp(stacks->v[0].change_set_id, st->change_set_arn) == 0)
		engine_executed(r, st, env);
	else
		engine_recreate(r, st, "it was deleted: the stack changed");
out:
	cfn_stack_list_free(stacks);
}

static void
engine_exec_describe_cb(const struct aws_reply *reply,
    struct cfn_change_set *cs, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	struct engine_aws		 a;
	enum cfn_execution_state	 x;
	char				*cause = NULL;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		if (!cfn_reply_change_set_missing(reply)) {
			engine_call_failed(r, st, reply,
			    "describing the change set");
			goto out;
		}
		/* Gone: executed (its stack says so) or deleted. */
		if ((call = engine_call_begin(r, st, env, &a)) != NULL)
			engine_call_started(r, st, call,
			    cfn_describe_stacks(a.client, a.creds, a.region,
				env->stack, engine_stack_executed_cb, call,
				&cause),
			    &cause);
		goto out;
	}
	x = cfn_execution_state(cs->execution_status);
	if (x == CFN_EXECUTION_AVAILABLE)
		engine_execute(r, st);
	else if (x == CFN_EXECUTION_STARTED)
		engine_executed(r, st, env); /* before a crash */
	else if (x == CFN_EXECUTION_OBSOLETE ||
		 (x == CFN_EXECUTION_UNAVAILABLE &&
		     cfn_change_set_state(cs->status) ==
			 CFN_CHANGE_SET_CREATED))
		engine_recreate(r, st, "the stack changed");
	else
		engine_poll_later(r);
out:
	cfn_change_set_free(cs);
}

/* --- waiting_stack ------------------------------------------------------- */

static void
engine_failure_events_cb(const struct aws_reply *reply,
    struct cfn_stack_event_list *events, void *arg)
{
	struct engine_call	     *call = arg;
	const struct cfn_stack_event *ev = NULL;
	struct engine_run	     *r;
	struct store_stage	     *st;
	char			     *status = call->data, *reason;
	char			     *sp, *failed;

	call->data = NULL; /* "STACK STATUS", ours now */
	if (engine_call_back(call, &r, &st, NULL) != 0)
		goto out;
	if (reply->error == AWS_OK)
		engine_progress_events(r, st, events);
	if ((sp = strrchr(status, ' ')) != NULL && engine_hold_status(sp + 1)) {
		/* No change set can run on the stack until an operator
		   acts: every failed resource, the first first. */
		failed = reply->error == AWS_OK ?
			     engine_failed_resources(events) :
			     NULL;
		reason = xasprintf("stack %s: %s", status,
		    failed != NULL ? failed :
				     "no failed resource found in its events");
		*sp = '\0';
		engine_hold_record(r, st, status, sp + 1, reason, 1);
		free(reason);
		free(failed);
		goto out;
	}
	if (reply->error == AWS_OK)
		ev = cfn_stack_events_first_failure(events);
	if (ev != NULL)
		reason = xasprintf("stack %s: %s (%s) %s: %s", status,
		    ev->logical_id, ev->resource_type, ev->status,
		    ev->status_reason != NULL ? ev->status_reason :
						"no reason given");
	else
		reason = xasprintf("stack %s (no failed resource found in its "
				   "events%s%s)",
		    status, reply->error != AWS_OK ? ": " : "",
		    reply->error != AWS_OK ? reply->message : "");
	engine_stage_fail(r, st, reason);
	free(reason);
out:
	free(status);
	cfn_stack_event_list_free(events);
}

/*
 * The stack's events of this execution, newest first; with newer, only
 * those since the newest kept (engine-progress.c): a poll reads the
 * pages until the previous poll's newest event.
 */
static void
engine_stack_events(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, cfn_stack_event_list_cb cb,
    void *data, int newer)
{
	struct cfn_stack_events_bounds b;
	struct engine_call	      *call;
	struct engine_aws	       a;
	char			      *cause = NULL;
	int64_t			       at = 0, kept = 0;

	/* Without the execution's time the events of older executions
	   would count: the store is asked again later. */
	if (store_stage_executed_at(r->engine->store, st->id, &at, &cause) !=
	    0) {
		log_warnx("cannot read the execution time app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, cause);
		free(cause);
		free(data);
		engine_poll_later(r);
		return;
	}
	if (newer && store_progress_newest_event(r->engine->store, st->id,
			 st->attempt, &kept, &cause) != 0) {
		log_warnx("cannot read the kept stack events app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, cause);
		free(cause);
		cause = NULL;
		kept = 0;
	}
	if ((call = engine_call_begin(r, st, env, &a)) == NULL) {
		free(data);
		return;
	}
	call->data = data;
	memset(&b, 0, sizeof b);
	b.max_events = ENGINE_EVENTS_MAX;
	if (at > 0) {
		at -= 1000; /* the execution's events, not older ones */
		/* The events of the same millisecond as the newest kept
		   are read again, and kept once (by their id). */
		if (kept > at)
			at = kept;
		b.since.tv_sec = at / 1000;
		b.since.tv_nsec = (at % 1000) * 1000000;
	}
	engine_call_started(r, st, call,
	    cfn_describe_stack_events(a.client, a.creds, a.region,
		st->stack_id != NULL ? st->stack_id : env->stack, &b, cb, call,
		&cause),
	    &cause);
}

static int
engine_deadline_passed(struct engine_run *r, struct store_stage *st)
{
	return (st->deadline_at != 0 &&
		store_now(r->engine->store) >= st->deadline_at);
}

static void
engine_stack_cb(const struct aws_reply *reply, struct cfn_stack_list *stacks,
    void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	const char			*status;
	char				*reason;
	enum cfn_stack_state		 state;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		if (cfn_reply_stack_missing(reply))
			engine_stage_fail(r, st, "the stack no longer exists");
		else
			engine_call_failed(r, st, reply,
			    "describing the stack");
		goto out;
	}
	if (stacks->n == 0) {
		engine_stage_fail(r, st, "the stack no longer exists");
		goto out;
	}
	status = stacks->v[0].status;
	state = cfn_stack_state(status);
	if (state == CFN_STACK_OK) {
		if (engine_move(r, st, STORE_STAGE_WAITING_SERVICES, 0, NULL) !=
		    0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
	} else if ((state == CFN_STACK_ROLLBACK || state == CFN_STACK_FAILED) &&
		   cfn_stack_status_final(status)) {
		engine_stack_events(r, st, env, engine_failure_events_cb,
		    xasprintf("%s %s", env->stack, status), 0);
	} else if (engine_deadline_passed(r, st)) {
		reason = xasprintf(
		    "the stack did not finish within "
		    "deploy_timeout (%lld s): still %s; shipgate stopped "
		    "waiting, CloudFormation goes on",
		    (long long)(env->deploy_timeout_ms / 1000), status);
		engine_stage_fail(r, st, reason);
		free(reason);
	} else {
		/* Still going, or rolling back: the stage ends with the
		   rollback's outcome (a rollback that fails holds the
		   stack), and the next run finds the stack idle. */
		engine_poll_later(r);
	}
out:
	cfn_stack_list_free(stacks);
}

/* --- waiting_services ---------------------------------------------------- */

/* The ECS services an execution touched: their ARNs (physical ids)
 * "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME", from its events. */
struct engine_services {
	char **arns;
	size_t n;
	size_t next; /* first ARN not yet looked at */
};

/* Takes void * to be an engine_call's free_data. */
static void
engine_services_free(void *arg)
{
	struct engine_services *sv = arg;
	size_t			i;

	if (sv == NULL)
		return;
	for (i = 0; i < sv->n; i++)
		free(sv->arns[i]);
	free(sv->arns);
	free(sv);
}

/* "service/CLUSTER/NAME" -> CLUSTER (caller frees); NULL for an old
 * style ARN without the cluster. */
static char *
engine_service_cluster(const char *arn)
{
	const char *p, *q;

	if ((p = strstr(arn, ":service/")) == NULL)
		return (NULL);
	p += 9;
	if ((q = strchr(p, '/')) == NULL)
		return (NULL);
	return (xstrndup(p, (size_t)(q - p)));
}

static void engine_describe_services(struct engine_run *, struct store_stage *,
    const struct config_environment *, struct engine_services *,
    ecs_service_list_cb);

/* One service's verdict: 1 settled, 0 still rolling out, -1 failed. */
static int
engine_service_settled(const struct ecs_service *svc, int64_t since,
    char **reason)
{
	const struct ecs_deployment *d, *p;
	int64_t			     created;
	size_t			     i;

	for (i = 0; i < svc->ndeployments; i++) {
		d = &svc->deployments[i];
		created = (int64_t)d->created.tv_sec * 1000 +
			  d->created.tv_nsec / 1000000;
		if (d->rollout_state != NULL &&
		    strcmp(d->rollout_state, "FAILED") == 0 &&
		    created >= since) {
			*reason = xasprintf("ECS service %s: deployment %s "
					    "failed%s%s",
			    svc->name, d->id,
			    d->rollout_state_reason != NULL ? ": " : "",
			    d->rollout_state_reason != NULL ?
				d->rollout_state_reason :
				"");
			return (-1);
		}
	}
	/* Removed or replaced by the change set: nothing to wait for. */
	if (svc->status != NULL && strcmp(svc->status, "ACTIVE") != 0)
		return (1);
	if ((p = ecs_service_primary(svc)) == NULL)
		return (0);
	if (p->rollout_state != NULL)
		return (strcmp(p->rollout_state, "COMPLETED") == 0);
	/* No rollout state (old API): one deployment at its count. */
	return (svc->ndeployments == 1 && p->running == p->desired);
}

static void
engine_services_cb(const struct aws_reply *reply, struct ecs_service_list *list,
    void *arg)
{
	struct engine_call		*call = arg;
	struct engine_services		*sv = call->data;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	char				*reason = NULL;
	int64_t				 since = 0;
	size_t				 i;
	int				 settled = 1, v;

	call->data = NULL;
	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		engine_call_failed(r, st, reply, "describing the ECS services");
		goto out;
	}
	/* Without the execution's time an older deployment would pass
	   for this one: the store is asked again later. */
	if (store_stage_executed_at(r->engine->store, st->id, &since,
		&reason) != 0) {
		log_warnx("cannot read the execution time app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, reason);
		free(reason);
		engine_poll_later(r);
		goto out;
	}
	since -= 1000;
	engine_progress_services(r, st, list, since);
	for (i = 0; i < list->n; i++) {
		if ((v = engine_service_settled(&list->v[i], since, &reason)) <
		    0) {
			engine_stage_fail(r, st, reason);
			free(reason);
			goto out;
		}
		if (v == 0)
			settled = 0;
	}
	if (!settled) {
		if (engine_deadline_passed(r, st)) {
			reason = xasprintf("the ECS services did not settle "
					   "within deploy_timeout (%lld s)",
			    (long long)(env->deploy_timeout_ms / 1000));
			engine_stage_fail(r, st, reason);
			free(reason);
		} else
			engine_poll_later(r);
		goto out;
	}
	if (sv->next < sv->n) {
		/* The next cluster's services. */
		engine_describe_services(r, st, env, sv, engine_services_cb);
		sv = NULL;
	} else if (engine_move(r, st, STORE_STAGE_CHECKING, 0, NULL) != 0)
		engine_poll_later(r);
	else
		engine_schedule(r, 0);
out:
	engine_services_free(sv);
	ecs_service_list_free(list);
}

/* Describes the services of one cluster (from sv->next on); takes sv. */
static void
engine_describe_services(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env, struct engine_services *sv,
    ecs_service_list_cb cb)
{
	struct engine_call *call;
	struct engine_aws   a;
	const char	  **names;
	char		   *cluster, *other, *cause = NULL;
	size_t		    i, n = 0;

	if ((call = engine_call_begin(r, st, env, &a)) == NULL) {
		engine_services_free(sv);
		return;
	}
	cluster = engine_service_cluster(sv->arns[sv->next]);
	names = xcalloc(sv->n + 1, sizeof *names);
	for (i = sv->next; i < sv->n; i++) {
		other = engine_service_cluster(sv->arns[i]);
		if ((cluster == NULL && other == NULL) ||
		    (cluster != NULL && other != NULL &&
			strcmp(cluster, other) == 0)) {
			/* Group this cluster's services at sv->next. */
			names[n++] = sv->arns[i];
			if (i != sv->next + n - 1) {
				char *t = sv->arns[sv->next + n - 1];

				sv->arns[sv->next + n - 1] = sv->arns[i];
				sv->arns[i] = t;
				names[n - 1] = sv->arns[sv->next + n - 1];
			}
		}
		free(other);
	}
	sv->next += n;
	call->data = sv;
	call->free_data = engine_services_free;
	engine_call_started(r, st, call,
	    ecs_describe_services(a.client, a.creds, a.region, cluster, names,
		cb, call, &cause),
	    &cause);
	free(names);
	free(cluster);
}

static void
engine_service_events_cb(const struct aws_reply *reply,
    struct cfn_stack_event_list *events, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	const struct cfn_stack_event	*ev;
	struct engine_services		*sv;
	size_t				 i, j;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK) {
		engine_call_failed(r, st, reply, "reading the stack events");
		goto out;
	}
	engine_progress_events(r, st, events);
	sv = xcalloc(1, sizeof *sv);
	for (i = 0; i < events->n; i++) {
		ev = &events->v[i];
		if (ev->resource_type == NULL ||
		    strcmp(ev->resource_type, "AWS::ECS::Service") != 0 ||
		    ev->physical_id == NULL ||
		    strstr(ev->physical_id, ":service/") == NULL)
			continue;
		for (j = 0; j < sv->n; j++)
			if (strcmp(sv->arns[j], ev->physical_id) == 0)
				break;
		if (j < sv->n)
			continue;
		sv->arns = xreallocarray(sv->arns, sv->n + 1, sizeof *sv->arns);
		sv->arns[sv->n++] = xstrdup(ev->physical_id);
	}
	if (sv->n == 0) {
		engine_services_free(sv);
		if (engine_move(r, st, STORE_STAGE_CHECKING, 0, NULL) != 0)
			engine_poll_later(r);
		else
			engine_schedule(r, 0);
		goto out;
	}
	engine_describe_services(r, st, env, sv, engine_services_cb);
out:
	cfn_stack_event_list_free(events);
}

/* --- Dispatch ------------------------------------------------------------ */

/* --- One step per state (the rows of engine-states.c) -------------------- */

void
engine_step_creating(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	if (st->change_set_name == NULL) {
		engine_stage_fail(r, st, "no change set name recorded");
		return;
	}
	if (engine_hold_wait(r, st))
		return;
	if (r->fresh_stage == st->id && r->fresh_attempt == st->attempt) {
		r->fresh_stage = 0;
		engine_create_change_set(r, st);
		return;
	}
	engine_describe_change_set(r, st, env, engine_change_set_cb);
}

void
engine_step_approval(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	engine_step_decision(r, st, env, 0);
}

void
engine_step_executing(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	if (engine_stack_busy(r, st)) {
		engine_poll_later(r);
		return;
	}
	if (engine_hold_wait(r, st))
		return;
	engine_describe_change_set(r, st, env, engine_exec_describe_cb);
}

static void
engine_describe_stack(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	struct engine_call *call;
	struct engine_aws   a;
	char		   *cause = NULL;

	if ((call = engine_call_begin(r, st, env, &a)) == NULL)
		return;
	engine_call_started(r, st, call,
	    cfn_describe_stacks(a.client, a.creds, a.region,
		st->stack_id != NULL ? st->stack_id : env->stack,
		engine_stack_cb, call, &cause),
	    &cause);
}

/*
 * While the stack updates, the deployments of the ECS services its
 * events named so far (CloudFormation waits on them: this is where they
 * roll out), kept for people; then the stack's status.  Reading them
 * fails only this look.
 */
static void
engine_progress_services_cb(const struct aws_reply *reply,
    struct ecs_service_list *list, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_services		*sv = call->data;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	char				*cause = NULL;
	int64_t				 since = 0;

	call->data = NULL;
	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error != AWS_OK)
		log_warnx("cannot describe the ECS services app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, reply->message);
	else {
		if (store_stage_executed_at(r->engine->store, st->id, &since,
			&cause) != 0) {
			free(cause);
			since = 0;
		}
		engine_progress_services(r, st, list, since - 1000);
		if (sv->next < sv->n) {
			engine_describe_services(r, st, env, sv,
			    engine_progress_services_cb);
			sv = NULL;
			goto out;
		}
	}
	engine_describe_stack(r, st, env);
out:
	engine_services_free(sv);
	ecs_service_list_free(list);
}

/* A poll's new stack events kept, then the services' deployments and
 * the stack's status: the events are for people, so a failure to read
 * them only waits for the next look. */
static void
engine_progress_events_cb(const struct aws_reply *reply,
    struct cfn_stack_event_list *events, void *arg)
{
	struct engine_call		*call = arg;
	struct engine_run		*r;
	struct store_stage		*st;
	const struct config_environment *env;
	struct engine_services		*sv;
	char				*cause = NULL;

	if (engine_call_back(call, &r, &st, &env) != 0)
		goto out;
	if (reply->error == AWS_OK)
		engine_progress_events(r, st, events);
	else
		log_warnx("cannot read the stack events app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, reply->message);
	sv = xcalloc(1, sizeof *sv);
	if (store_progress_service_arns(r->engine->store, st->id, st->attempt,
		&sv->arns, &sv->n, &cause) != 0) {
		log_warnx("cannot read the kept stack events app=%s run=%lld "
			  "env=%s: %s",
		    r->app, (long long)r->id, st->environment, cause);
		free(cause);
	}
	if (sv->n > 0)
		engine_describe_services(r, st, env, sv,
		    engine_progress_services_cb);
	else {
		engine_services_free(sv);
		engine_describe_stack(r, st, env);
	}
out:
	cfn_stack_event_list_free(events);
}

void
engine_step_waiting_stack(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	engine_stack_events(r, st, env, engine_progress_events_cb, NULL, 1);
}

void
engine_step_waiting_services(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	engine_stack_events(r, st, env, engine_service_events_cb, NULL, 0);
}

void
engine_step_gate(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	engine_step_decision(r, st, env, 1);
}

/* The step of the stage's state, from the transition table. */
void
engine_stage_step(struct engine_run *r, struct store_stage *st)
{
	const struct config_environment *env;
	const struct engine_state	*state;

	if ((env = engine_stage_env(r, st)) == NULL) {
		/* As for an app, the run waits for a reload to bring the
		   environment back (or an operator to cancel it). */
		log_warnx("run waits: environment %s is not configured "
			  "app=%s run=%lld",
		    st->environment, r->app, (long long)r->id);
		return;
	}
	if ((state = engine_state(st->status)) != NULL && state->step != NULL)
		state->step(r, st, env);
}
