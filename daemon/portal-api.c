/*
 * The portal's JSON API, /healthz and /metrics (see portal-api.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "control.h"
#include "engine.h"
#include "portal-api.h"
#include "portal-stats.h"
#include "stats.h"
#include "portal.h"
#include "run-json.h"
#include "store.h"
#include "xmalloc.h"

#define PORTAL_API_AUDIT_MAX 1000

void
portal_api_error(struct portal_reply *r, int status, const char *error,
    const char *detail)
{
	json_t *o;
	char   *text;

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	o = json_pack("{s:s, s:s}", "error", error, "detail",
	    detail != NULL ? detail : error);
	if (o == NULL) /* not UTF-8 */
		o = json_pack("{s:s, s:s}", "error", error, "detail", error);
	text = json_dumps(o, JSON_COMPACT);
	buf_appends(&r->body, text);
	buf_appends(&r->body, "\n");
	free(text);
	json_decref(o);
}

int
portal_api_status(int code)
{
	switch (code) {
	case ENGINE_EINVAL:
		return (400);
	case ENGINE_ENOTFOUND:
		return (404);
	case ENGINE_EFORBIDDEN:
		return (403);
	case ENGINE_ECONFLICT:
		return (409);
	default:
		return (503);
	}
}

static void
portal_api_json(struct portal_reply *r, int status, json_t *o)
{
	char *text;

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL || buf_appends(&r->body, text) != 0 ||
	    buf_appends(&r->body, "\n") != 0)
		portal_api_error(r, 500, "failed", "reply too large");
	free(text);
	json_decref(o);
}

static json_t *
portal_api_strings(const struct config_strings *g)
{
	json_t *a = json_array();
	size_t	i;

	for (i = 0; i < g->n; i++)
		json_array_append_new(a, run_json_str(g->items[i]));
	return (a);
}

static void
portal_api_store_error(struct portal_reply *r, int rc, const char *cause)
{
	if (rc == STORE_ENOTFOUND)
		portal_api_error(r, 404, "not_found", cause);
	else
		portal_api_error(r, 503, "store", cause);
}

/* --- Reads --------------------------------------------------------------- */

/* An environment's "stuck": its hold (run_json_stack_hold), or null. */
static int
portal_api_stuck(const struct portal_req *q, const char *app, const char *env,
    json_t *e, char **cause)
{
	struct store_stack_hold *h = NULL;
	int			 rc;

	rc = store_stack_hold_get(q->store, app, env, &h, cause);
	if (rc == STORE_ENOTFOUND) {
		free(*cause);
		*cause = NULL;
		json_object_set_new(e, "stuck", json_null());
		return (0);
	}
	if (rc != 0)
		return (rc);
	json_object_set_new(e, "stuck", run_json_stack_hold(h));
	store_stack_hold_free(h);
	return (0);
}

void
portal_api_apps(const struct portal_req *q, struct portal_reply *r)
{
	const struct config		*c = q->config;
	const struct config_app		*app;
	const struct config_environment *ce;
	struct store_deployment		*d;
	json_t				*apps, *o, *envs, *e;
	char				*cause = NULL;
	int64_t				 app_id;
	size_t				 i, j;
	int				 rc;

	apps = json_array();
	for (i = 0; i < c->napps; i++) {
		app = &c->apps[i];
		rc = store_app_id(q->store, app->name, &app_id, &cause);
		if (rc != 0 && rc != STORE_ENOTFOUND)
			goto fail;
		free(cause);
		cause = NULL;
		envs = json_array();
		for (j = 0; j < app->nenvironments; j++) {
			ce = &app->environments[j];
			e = json_pack("{s:o, s:o, s:o, s:i}", "name",
			    run_json_str(ce->name), "approvers",
			    portal_api_strings(&ce->approvers), "gate",
			    portal_api_strings(&ce->gate), "required_approvals",
			    ce->required_approvals);
			d = NULL;
			if (rc == 0 &&
			    (rc = store_current_deployment(q->store, app_id,
				 ce->name, &d, &cause)) != 0 &&
			    rc != STORE_ENOTFOUND) {
				json_decref(e);
				json_decref(envs);
				goto fail;
			}
			rc = 0;
			free(cause);
			cause = NULL;
			if (d != NULL)
				json_object_set_new(e, "deployed",
				    json_pack("{s:o, s:I, s:I, s:o}", "version",
					run_json_str(d->version), "release",
					(json_int_t)d->release_id, "run",
					(json_int_t)d->run_id, "at",
					run_json_time(d->deployed_at)));
			else
				json_object_set_new(e, "deployed", json_null());
			store_deployment_free(d);
			if (portal_api_stuck(q, app->name, ce->name, e,
				&cause) != 0) {
				json_decref(e);
				json_decref(envs);
				goto fail;
			}
			json_array_append_new(envs, e);
		}
		o = json_pack("{s:o, s:o}", "name", run_json_str(app->name),
		    "environments", envs);
		json_array_append_new(apps, o);
	}
	portal_api_json(r, 200, json_pack("{s:o}", "apps", apps));
	return;
fail:
	json_decref(apps);
	portal_api_error(r, 503, "store", cause);
	free(cause);
}

static int
portal_api_query_id(const struct portal_req *q, const char *key, int64_t *idp,
    struct portal_reply *r)
{
	const char *v = portal_form_get(q->query, key);
	char	   *msg;

	*idp = 0;
	if (v == NULL || *v == '\0')
		return (0);
	if (portal_parse_id(v, idp) != 0) {
		msg = xasprintf("\"%s\" must be a positive integer", key);
		portal_api_error(r, 400, "bad_request", msg);
		free(msg);
		return (-1);
	}
	return (0);
}

static const char *
portal_api_query_str(const struct portal_req *q, const char *key)
{
	const char *v = portal_form_get(q->query, key);

	return (v != NULL && *v != '\0' ? v : NULL);
}

void
portal_api_runs(const struct portal_req *q, struct portal_reply *r)
{
	struct store_runs_filter f;
	struct store_runs_page	*page = NULL;
	const char		*status;
	json_t			*runs;
	char			*cause = NULL;
	int64_t			 limit;
	int			 rc;

	memset(&f, 0, sizeof f);
	f.app = portal_api_query_str(q, "app");
	f.environment = portal_api_query_str(q, "env");
	f.version = portal_api_query_str(q, "version");
	f.author = portal_api_query_str(q, "author");
	if ((status = portal_api_query_str(q, "status")) != NULL &&
	    (f.status = store_run_status_from_name(status)) == 0) {
		portal_api_error(r, 400, "bad_request", "unknown run status");
		return;
	}
	if (portal_api_query_id(q, "before", &f.before, r) != 0 ||
	    portal_api_query_id(q, "limit", &limit, r) != 0)
		return;
	if (limit > 1000) {
		portal_api_error(r, 400, "bad_request",
		    "\"limit\" must be "
		    "from 1 to 1000");
		return;
	}
	f.limit = (int)limit;
	if ((rc = store_runs_page(q->store, &f, &page, &cause)) != 0) {
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	if ((runs = run_json_runs(q->store, page, &rc, &cause)) == NULL) {
		store_runs_page_free(page);
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	portal_api_json(r, 200,
	    json_pack("{s:o, s:o}", "runs", runs, "next_before",
		run_json_id(page->next_before)));
	store_runs_page_free(page);
}

void
portal_api_run(const struct portal_req *q, struct portal_reply *r)
{
	json_t *o;
	char   *cause = NULL;
	int	rc;

	if ((o = run_json(q->store, q->id, PORTAL_API_AUDIT_MAX, &rc,
		 &cause)) == NULL) {
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	portal_api_json(r, 200, json_pack("{s:o}", "run", o));
}

void
portal_api_me(const struct portal_req *q, struct portal_reply *r)
{
	const struct config_user *u;

	u = config_find_user(q->config, q->user);
	portal_api_json(r, 200,
	    json_pack("{s:s, s:o, s:o}", "user", q->user, "groups",
		u != NULL ? portal_api_strings(&u->groups) : json_array(),
		"csrf", run_json_str(q->csrf)));
}

/* --- Actions -------------------------------------------------------------- */

static void
portal_api_act(const struct portal_req *q, enum engine_action_kind kind,
    int64_t id, struct portal_reply *r)
{
	struct engine_action act;
	json_error_t	     jerr;
	json_t		    *body = NULL, *v;
	const char	    *env = NULL, *comment = NULL;
	char		    *cause = NULL, *msg;
	int		     rc;

	if (q->body_len > 0) {
		body = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES,
		    &jerr);
		if (body == NULL || !json_is_object(body)) {
			msg = xasprintf("the body must be a JSON object%s%s",
			    body == NULL ? ": " : "",
			    body == NULL ? jerr.text : "");
			portal_api_error(r, 400, "bad_request", msg);
			free(msg);
			goto out;
		}
	}
	if ((v = json_object_get(body, "env")) != NULL) {
		if (!json_is_string(v)) {
			portal_api_error(r, 400, "bad_request",
			    "\"env\" must be a string");
			goto out;
		}
		env = json_string_value(v);
	}
	if ((v = json_object_get(body, "comment")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_string(v)) {
			portal_api_error(r, 400, "bad_request",
			    "\"comment\" must be a string");
			goto out;
		}
		comment = json_string_value(v);
	}
	if (env == NULL &&
	    (kind == ENGINE_APPROVE || kind == ENGINE_RETRY ||
		kind == ENGINE_REDEPLOY || kind == ENGINE_OVERRIDE ||
		kind == ENGINE_ACK_DRIFT)) {
		portal_api_error(r, 400, "bad_request", "\"env\" is required");
		goto out;
	}
	if ((kind == ENGINE_REJECT || kind == ENGINE_OVERRIDE ||
		kind == ENGINE_ACK_DRIFT) &&
	    (comment == NULL || comment[strspn(comment, " \t\r\n")] == '\0')) {
		portal_api_error(r, 400, "invalid",
		    kind == ENGINE_REJECT ?
			"A comment is required to reject." :
		    kind == ENGINE_OVERRIDE ?
			"A comment is required to override: say why." :
			"A comment is required to acknowledge drift: say why.");
		goto out;
	}
	memset(&act, 0, sizeof act);
	act.kind = kind;
	act.id = id;
	act.env = env;
	act.comment = comment;
	act.actor.user = q->user;
	act.actor.via = "api";
	if ((rc = portal_action(q->portal, &act, &cause)) != 0) {
		portal_api_error(r, portal_api_status(rc),
		    control_error_name(rc), cause);
		goto out;
	}
	if (kind == ENGINE_REDEPLOY)
		portal_api_json(r, 200,
		    json_pack("{s:b, s:I, s:I}", "ok", 1, "release",
			(json_int_t)id, "run", (json_int_t)act.new_run));
	else
		portal_api_json(r, 200,
		    json_pack("{s:b, s:I}", "ok", 1, "run", (json_int_t)id));
out:
	free(cause);
	json_decref(body);
}

static const struct {
	const char	       *name;
	enum engine_action_kind kind;
} portal_api_actions[] = {
	{ "approve", ENGINE_APPROVE },
	{ "reject", ENGINE_REJECT },
	{ "authorise", ENGINE_AUTHORISE },
	{ "cancel", ENGINE_CANCEL },
	{ "retry", ENGINE_RETRY },
	{ "override", ENGINE_OVERRIDE },
	{ "ack-drift", ENGINE_ACK_DRIFT },
};

/* POST /api/v1/runs/{id}/VERB */
void
portal_api_run_action(const struct portal_req *q, struct portal_reply *r)
{
	size_t i;

	for (i = 0; i < sizeof portal_api_actions / sizeof *portal_api_actions;
	     i++) {
		if (strcmp(q->path->segs[4], portal_api_actions[i].name) == 0) {
			portal_api_act(q, portal_api_actions[i].kind, q->id, r);
			return;
		}
	}
	portal_api_error(r, 404, "not_found", "no such action");
}

/* POST /api/v1/releases/{id}/redeploy */
void
portal_api_redeploy(const struct portal_req *q, struct portal_reply *r)
{
	portal_api_act(q, ENGINE_REDEPLOY, q->id, r);
}

/* GET /api/v1/stacks: the environments held by a stuck stack. */
void
portal_api_stacks(const struct portal_req *q, struct portal_reply *r)
{
	struct store_stack_holds *l = NULL;
	json_t			 *a;
	char			 *cause = NULL;
	size_t			  i;
	int			  rc;

	if ((rc = store_stack_holds(q->store, NULL, &l, &cause)) != 0) {
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	a = json_array();
	for (i = 0; i < l->n; i++)
		json_array_append_new(a, run_json_stack_hold(l->v[i]));
	store_stack_holds_free(l);
	portal_api_json(r, 200, json_pack("{s:o}", "stuck", a));
}

/*
 * POST /api/v1/apps/APP/environments/ENV/{continue-rollback,
 * delete-failed-stack,freeze,unfreeze}: body {"comment": "why"
 * (required), "skip": ["LogicalId", ...] (continue-rollback), "until":
 * unix ms (freeze), "id": one run-time freeze (unfreeze; without: all
 * of env's)}.
 */
#define PORTAL_API_SKIP_MAX 32

void
portal_api_stack_action(const struct portal_req *q, struct portal_reply *r)
{
	struct engine_action act;
	json_error_t	     jerr;
	json_t		    *body = NULL, *v, *item;
	const char	    *verb = q->path->segs[6];
	const char	    *skip[PORTAL_API_SKIP_MAX];
	char		    *cause = NULL;
	size_t		     i;
	int		     rc;

	memset(&act, 0, sizeof act);
	if (q->path->n != 7 || strcmp(q->path->segs[4], "environments") != 0) {
		portal_api_error(r, 404, "not_found", "no such route");
		return;
	}
	if (strcmp(verb, "continue-rollback") == 0)
		act.kind = ENGINE_CONTINUE_ROLLBACK;
	else if (strcmp(verb, "delete-failed-stack") == 0)
		act.kind = ENGINE_DELETE_FAILED_STACK;
	else if (strcmp(verb, "freeze") == 0)
		act.kind = ENGINE_FREEZE;
	else if (strcmp(verb, "unfreeze") == 0)
		act.kind = ENGINE_UNFREEZE;
	else {
		portal_api_error(r, 404, "not_found", "no such action");
		return;
	}
	body = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		portal_api_error(r, 400, "bad_request",
		    "the body must be a "
		    "JSON object with a \"comment\"");
		goto out;
	}
	if ((v = json_object_get(body, "comment")) == NULL ||
	    !json_is_string(v) ||
	    json_string_value(v)[strspn(json_string_value(v), " \t\r\n")] ==
		'\0') {
		portal_api_error(r, 400, "invalid",
		    "A comment is required: "
		    "say why.");
		goto out;
	}
	act.comment = json_string_value(v);
	if (act.kind == ENGINE_FREEZE) {
		if ((v = json_object_get(body, "until")) == NULL ||
		    !json_is_integer(v) || json_integer_value(v) <= 0) {
			portal_api_error(r, 400, "bad_request",
			    "\"until\" is "
			    "required: the freeze's end, unix milliseconds");
			goto out;
		}
		act.until = json_integer_value(v);
	}
	if (act.kind == ENGINE_UNFREEZE &&
	    (v = json_object_get(body, "id")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			portal_api_error(r, 400, "bad_request",
			    "\"id\" is a "
			    "run-time freeze's id (GET .../freezes)");
			goto out;
		}
		act.id = json_integer_value(v);
	}
	if ((v = json_object_get(body, "skip")) != NULL) {
		if (!json_is_array(v) ||
		    json_array_size(v) > PORTAL_API_SKIP_MAX) {
			portal_api_error(r, 400, "bad_request",
			    "\"skip\" is "
			    "an array of at most 32 logical resource ids");
			goto out;
		}
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				portal_api_error(r, 400, "bad_request",
				    "\"skip\" holds strings");
				goto out;
			}
			skip[i] = json_string_value(item);
		}
		act.skip = skip;
		act.nskip = json_array_size(v);
	}
	act.app = q->path->segs[3];
	act.env = q->path->segs[5];
	act.actor.user = q->user;
	act.actor.via = "api";
	if ((rc = portal_action(q->portal, &act, &cause)) != 0) {
		portal_api_error(r, portal_api_status(rc),
		    control_error_name(rc), cause);
		goto out;
	}
	portal_api_json(r, 200,
	    json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "app", act.app, "env",
		act.env, "action", verb));
out:
	free(cause);
	json_decref(body);
}

/* --- Operations ----------------------------------------------------------- */

void
portal_healthz(const struct portal_req *q, struct portal_reply *r)
{
	char *cause = NULL, *msg;

	r->content_type = "text/plain; charset=utf-8";
	buf_reset(&r->body);
	if (store_health(q->store, &cause) != 0) {
		r->status = 503;
		msg = xasprintf("database: %s\n",
		    cause != NULL ? cause : "unusable");
		buf_appends(&r->body, msg);
		free(msg);
		free(cause);
		return;
	}
	if (!portal_loop_alive(q->portal)) {
		r->status = 503;
		buf_appends(&r->body, "loop: not answering\n");
		return;
	}
	r->status = 200;
	buf_appends(&r->body, "ok\n");
}

/* A Prometheus label value: \, " and newlines escaped. */
static void
portal_metric_label(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_appends(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

static void
portal_metric_sums(struct buf *b, const char *name, const char *help,
    const char *label, const struct store_metric_sum *v, size_t n)
{
	size_t i;

	buf_printf(b, "# HELP %s %s\n# TYPE %s summary\n", name, help, name);
	for (i = 0; i < n; i++) {
		buf_printf(b, "%s_sum{env=\"", name);
		portal_metric_label(b, v[i].environment);
		buf_printf(b, "\",%s=\"", label);
		portal_metric_label(b, v[i].label);
		buf_printf(b, "\"} %.3f\n", (double)v[i].sum_ms / 1000.0);
		buf_printf(b, "%s_count{env=\"", name);
		portal_metric_label(b, v[i].environment);
		buf_printf(b, "\",%s=\"", label);
		portal_metric_label(b, v[i].label);
		buf_printf(b, "\"} %lld\n", (long long)v[i].count);
	}
}

/* The outbox's messages by status: a failed one is someone not told. */
static void
portal_outbox_metrics(const struct portal_req *q, struct buf *b)
{
	int64_t pending, sent, failed;

	if (store_outbox_counts(q->store, &pending, &sent, &failed, NULL) != 0)
		return;
	buf_appends(b, "# HELP shipgate_notifications Messages (e-mail, "
		       "webhooks) in the outbox by status.\n"
		       "# TYPE shipgate_notifications gauge\n");
	buf_printf(b, "shipgate_notifications{status=\"pending\"} %lld\n",
	    (long long)pending);
	buf_printf(b, "shipgate_notifications{status=\"sent\"} %lld\n",
	    (long long)sent);
	buf_printf(b, "shipgate_notifications{status=\"failed\"} %lld\n",
	    (long long)failed);
}

void
portal_metrics(const struct portal_req *q, struct portal_reply *r)
{
	struct store_metrics *m = NULL;
	struct buf	     *b = &r->body;
	char		     *cause = NULL;
	size_t		      i;

	buf_reset(b);
	if (store_metrics(q->store, &m, &cause) != 0) {
		r->status = 503;
		r->content_type = "text/plain; charset=utf-8";
		buf_printf(b, "database: %s\n", cause);
		free(cause);
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_appends(b, "# HELP shipgate_runs Runs by status.\n"
		       "# TYPE shipgate_runs gauge\n");
	for (i = 0; i < m->nruns; i++) {
		buf_appends(b, "shipgate_runs{status=\"");
		portal_metric_label(b, m->runs[i].label);
		buf_printf(b, "\"} %lld\n", (long long)m->runs[i].n);
	}
	portal_metric_sums(b, "shipgate_stage_duration_seconds",
	    "Finished stages, from start to end, by environment and status.",
	    "status", m->stages, m->nstages);
	portal_metric_sums(b, "shipgate_approval_wait_seconds",
	    "Decisions, from the stage's start (the gate: its execution) to "
	    "the decision, by environment and decision.",
	    "decision", m->approvals, m->napprovals);
	store_metrics_free(m);
	portal_outbox_metrics(q, b);
	portal_loop_metrics(q->portal, b);
}

/* GET /api/v1/apps/{app}/stats?days=N (portal-stats.h) */
void
portal_api_app_stats(const struct portal_req *q, struct portal_reply *r)
{
	const struct config_app *app;
	const char		*v;
	struct stats		*st = NULL;
	char			*cause = NULL, *end;
	long			 days = PORTAL_STATS_DAYS;
	int			 rc;

	app = config_find_app(q->config, q->path->segs[3]);
	if (app == NULL || app->nenvironments == 0) {
		portal_api_error(r, 404, "not_found",
		    "no such app in the "
		    "configuration");
		return;
	}
	if ((v = portal_form_get(q->query, "days")) != NULL && *v != '\0') {
		days = strtol(v, &end, 10);
		if (*end != '\0' || days < 1 || days > STATS_DAYS_MAX) {
			portal_api_error(r, 400, "bad_request",
			    "\"days\" must "
			    "be a whole number of days from 1 to 366");
			return;
		}
	}
	if ((rc = portal_stats_load(q->store, q->config, app, q->now, (int)days,
		 &st, &cause)) != 0) {
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	portal_api_json(r, 200,
	    portal_stats_json(st, app->name,
		app->environments[app->nenvironments - 1].name, (int)days));
	stats_free(st);
}

/* GET /api/v1/apps/{app}/freezes[?env=ENV]: shipgate.yaml's freezes and
 * the run-time ones in force or to come, as shipgatectl freezes. */
void
portal_api_app_freezes(const struct portal_req *q, struct portal_reply *r)
{
	const struct config_app *app;
	struct store_freezes	*l = NULL;
	const char		*env;
	char			*cause = NULL;
	int			 rc;

	app = config_find_app(q->config, q->path->segs[3]);
	if (app == NULL) {
		portal_api_error(r, 404, "not_found",
		    "no such app in the "
		    "configuration");
		return;
	}
	env = portal_form_get(q->query, "env");
	if (env != NULL && *env == '\0')
		env = NULL;
	if (env != NULL && config_find_environment(app, env) == NULL) {
		portal_api_error(r, 404, "not_found",
		    "no such environment "
		    "of the app");
		return;
	}
	if ((rc = store_freezes(q->store, app->name, env, q->now, &l,
		 &cause)) != 0) {
		portal_api_store_error(r, rc, cause);
		free(cause);
		return;
	}
	portal_api_json(r, 200,
	    json_pack("{s:o}", "freezes",
		run_json_freezes(app, env, l, q->now)));
	store_freezes_free(l);
}
