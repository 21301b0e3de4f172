/*
 * What a stage's change set changes, in values (issue 15), for the
 * approver: when the stage starts, the stack as it runs is read
 * (DescribeStacks: its parameters, NoEcho ones masked by AWS, and its
 * LastUpdatedTime; then GetTemplate, Original) and kept with the stage
 * (stage_stacks); when the change set is created, the parameters it
 * sends are compared with them (diff-params.h), the release's template
 * with the deployed one (diff-text.h), and both stored with the attempt,
 * as its resource changes are.  Neither holds the run: a stack that cannot be read is
 * logged and the page says the parameters were not compared.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "config.h"
#include "diff-params.h"
#include "diff-text.h"
#include "engine-int.h"
#include "log.h"
#include "release.h"
#include "store.h"
#include "svc-cfn.h"
#include "xmalloc.h"

/* A stack being read: DescribeStacks, then GetTemplate. */
struct engine_stack_read {
	struct store_stage_stack sk;
	char			*env;
};

static void
engine_stack_read_free(void *arg)
{
	struct engine_stack_read *sr = arg;

	free(sr->sk.parameters);
	free(sr->sk.template);
	free(sr->sk.prev_version);
	free(sr->env);
	free(sr);
}

/* The read is over (stored or not): the step comes again. */
static void
engine_stack_read_end(struct engine_call *call, int store_it)
{
	struct engine_stack_read *sr = call->data;
	struct engine_run	 *r;
	char			 *why = NULL;
	int64_t			  stage_id = call->stage_id;
	int			  attempt = call->attempt;

	call->data = NULL;
	call->free_data = NULL;
	if ((r = engine_call_end(call)) == NULL)
		goto out;
	if (store_it && store_stage_set_stack(r->engine->store, stage_id,
			    &sr->sk, &why) != 0) {
		log_warnx("cannot record the stack app=%s run=%lld: %s", r->app,
		    (long long)r->id, why);
		free(why);
	}
	r->stack_stage = stage_id;
	r->stack_attempt = attempt;
	engine_schedule(r, 0);
out:
	engine_stack_read_free(sr);
}

static void
engine_template_read_cb(const struct aws_reply *reply, struct cfn_template *t,
    void *arg)
{
	struct engine_call	 *call = arg;
	struct engine_stack_read *sr = call->data;

	if (reply->error == AWS_OK && t != NULL) {
		sr->sk.template = t->body;
		sr->sk.template_len = t->len;
		t->body = NULL;
	} else if (call->run != NULL)
		log_warnx("cannot read the deployed template app=%s run=%lld:"
			  " %s; it will not be compared",
		    call->run->app, (long long)call->run->id, reply->message);
	cfn_template_free(t);
	engine_stack_read_end(call, 1);
}

static void
engine_stack_read_cb(const struct aws_reply *reply, struct cfn_stack_list *l,
    void *arg)
{
	struct engine_call		*call = arg;
	struct engine_stack_read	*sr = call->data;
	struct engine_run		*r = call->run;
	const struct config_app		*app;
	const struct config_environment *env;
	struct aws_creds		*creds;
	const struct cfn_stack		*stk;
	json_t				*params;
	char				*cause = NULL;
	size_t				 i;

	if (r == NULL) {
		engine_stack_read_end(call, 0);
		goto out;
	}
	if (reply->error == AWS_OK && l != NULL && l->n > 0) {
		stk = &l->v[0];
		sr->sk.exists = 1;
		params = json_object();
		for (i = 0; i < stk->nparameters; i++)
			json_object_set_new(params, stk->parameters[i].key,
			    stk->parameters[i].value != NULL ?
				json_string(stk->parameters[i].value) :
				json_null());
		sr->sk.parameters = json_dumps(params,
		    JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(params);
		sr->sk.last_updated_at = (int64_t)stk->last_updated.tv_sec *
					     1000 +
					 stk->last_updated.tv_nsec / 1000000;
	} else if (cfn_reply_stack_missing(reply)) {
		/* A first deployment: nothing deployed, an empty template. */
		sr->sk.template = xstrdup("");
		engine_stack_read_end(call, 1);
		goto out;
	} else {
		log_warnx("cannot read the stack before the stage app=%s "
			  "run=%lld: %s; its parameters will not be compared",
		    r->app, (long long)r->id, reply->message);
		engine_stack_read_end(call, 0);
		goto out;
	}
	/* The template as deployed, with the same credentials' rules. */
	if ((app = engine_run_app(r)) == NULL ||
	    (env = config_find_environment(app, sr->env)) == NULL ||
	    (creds = aws_context_env_creds(r->engine->aws, app, env, &cause)) ==
		NULL ||
	    cfn_get_template(aws_context_client(r->engine->aws), creds,
		aws_context_env_region(r->engine->aws, env), env->stack,
		engine_template_read_cb, call, &cause) == NULL) {
		log_warnx("cannot read the deployed template app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id,
		    cause != NULL ? cause : "the environment is gone");
		free(cause);
		engine_stack_read_end(call, 1);
	}
out:
	cfn_stack_list_free(l);
}

int
engine_stack_read(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	struct engine_call	 *call;
	struct engine_stack_read *sr;
	struct store_deployment	 *dep = NULL;
	struct aws_creds	 *creds;
	const char		 *region;
	char			 *cause = NULL;

	if (r->stack_stage == st->id && r->stack_attempt == st->attempt)
		return (0);
	region = aws_context_env_region(r->engine->aws, env);
	if ((creds = aws_context_env_creds(r->engine->aws, engine_run_app(r),
		 env, &cause)) == NULL)
		goto skip; /* the stage's own calls will say why */
	sr = xcalloc(1, sizeof *sr);
	sr->env = xstrdup(env->name);
	/* What shipgate deployed there last, for "now running". */
	if (store_current_deployment(r->engine->store, r->row->app_id,
		st->environment, &dep, &cause) == 0) {
		sr->sk.prev_run_id = dep->run_id;
		sr->sk.prev_stage_id = dep->stage_id;
		sr->sk.prev_version = dep->version != NULL ?
					  xstrdup(dep->version) :
					  NULL;
		sr->sk.prev_deployed_at = dep->deployed_at;
		store_deployment_free(dep);
	}
	free(cause);
	cause = NULL;
	call = engine_call_new(r, st);
	call->data = sr;
	call->free_data = engine_stack_read_free;
	if (cfn_describe_stacks(aws_context_client(r->engine->aws), creds,
		region, env->stack, engine_stack_read_cb, call,
		&cause) == NULL) {
		engine_call_end(call);
		goto skip;
	}
	return (1);
skip:
	log_warnx("cannot read the stack before the stage app=%s run=%lld: "
		  "%s",
	    r->app, (long long)r->id, cause);
	free(cause);
	r->stack_stage = st->id;
	r->stack_attempt = st->attempt;
	return (0);
}

/* The stack's parameters as stored (JSON) into kvs. */
static void
engine_stack_kvs(const char *text, struct config_kvs *kvs)
{
	json_t	   *o, *v;
	const char *k;
	size_t	    n = 0;

	kvs->items = NULL;
	kvs->n = 0;
	if (text == NULL || (o = json_loads(text, 0, NULL)) == NULL)
		return;
	kvs->items = xcalloc(json_object_size(o) + 1, sizeof *kvs->items);
	json_object_foreach(o, k, v) {
		if (!json_is_string(v))
			continue;
		kvs->items[n].key = xstrdup(k);
		kvs->items[n].value = xstrdup(json_string_value(v));
		n++;
	}
	kvs->n = n;
	json_decref(o);
}

/* The deployed template against the release's, stored with the attempt. */
static void
engine_template_record(struct engine_run *r, struct store_stage *st,
    const struct store_stage_stack *sk)
{
	struct store_stage_template t;
	struct diff_text	    d;
	char			   *why = NULL;

	if (sk->template == NULL)
		return; /* not read: the page says so */
	diff_text(sk->template, sk->template_len, r->release->template,
	    r->release->template_len, DIFF_TEXT_CONTEXT, &d);
	memset(&t, 0, sizeof t);
	t.diff = d.unified;
	t.added = (int64_t)d.added;
	t.removed = (int64_t)d.removed;
	t.whole = d.whole;
	if (store_set_stage_template(r->engine->store, st->id, st->attempt, &t,
		&why) != 0) {
		log_warnx("cannot record the template diff app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id, why);
		free(why);
	} else
		log_info("template compared app=%s run=%lld env=%s added=%zu "
			 "removed=%zu",
		    r->app, (long long)r->id, st->environment, d.added,
		    d.removed);
	diff_text_free(&d);
}

void
engine_params_record(struct engine_run *r, struct store_stage *st,
    const struct config_kvs *sent)
{
	struct store_stage_stack    *sk = NULL;
	struct store_stage_param_in *rows = NULL;
	struct config_kvs	     old = { NULL, 0 };
	struct diff_tparams	     tp;
	struct diff_params	     d;
	char			    *why = NULL;
	size_t			     i;
	int			     rc;

	memset(&tp, 0, sizeof tp);
	memset(&d, 0, sizeof d);
	rc = store_stage_stack(r->engine->store, st->id, &sk, &why);
	if (rc == STORE_ENOTFOUND)
		goto out; /* not read: nothing to compare with */
	if (rc != 0)
		goto fail;
	if (diff_template_params(r->release->template_name,
		r->release->template, r->release->template_len, &tp, &why) != 0)
		goto fail;
	engine_stack_kvs(sk->parameters, &old);
	diff_params(sk->exists ? &old : NULL, sent, &tp, &d);
	rows = xcalloc(d.n + 1, sizeof *rows);
	for (i = 0; i < d.n; i++) {
		rows[i].name = d.v[i].name;
		rows[i].old_value = d.v[i].old_value;
		rows[i].new_value = d.v[i].new_value;
		rows[i].change = diff_change_name(d.v[i].change);
		rows[i].no_echo = d.v[i].no_echo;
	}
	if (store_set_stage_parameters(r->engine->store, st->id, st->attempt,
		rows, d.n, &why) != 0)
		goto fail;
	engine_template_record(r, st, sk);
	log_info("parameters compared app=%s run=%lld env=%s changed=%zu "
		 "of=%zu",
	    r->app, (long long)r->id, st->environment, d.changed, d.n);
	goto out;
fail:
	log_warnx("cannot compare the parameters app=%s run=%lld env=%s: %s",
	    r->app, (long long)r->id, st->environment, why);
out:
	free(why);
	free(rows);
	diff_params_free(&d);
	diff_tparams_free(&tp);
	release_kvs_free(&old);
	store_stage_stack_free(sk);
}
