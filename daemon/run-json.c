/*
 * Runs as JSON for shipgatectl runs and show, /api/v1/runs and
 * /api/v1/runs/{id} (run-json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "diff-text.h"
#include "run-json.h"
#include "store.h"
#include "xmalloc.h"

json_t *
run_json_str(const char *s)
{
	json_t *v;

	if (s == NULL || (v = json_string(s)) == NULL)
		return (json_null());
	return (v);
}

json_t *
run_json_time(int64_t ms)
{
	struct tm tm;
	time_t	  t;
	char	  s[64];

	if (ms <= 0)
		return (json_null());
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return (json_null());
	return (json_string(s));
}

json_t *
run_json_id(int64_t id)
{
	return (id > 0 ? json_integer(id) : json_null());
}

json_t *
run_json_text(const char *text)
{
	json_t *v;

	if (text == NULL || (v = json_loads(text, 0, NULL)) == NULL)
		return (json_null());
	return (v);
}

/* {"bucket", "key", "version_id", "url"}: the release's S3 object. */
static json_t *
run_json_source(const struct store_run *r)
{
	json_t *o;
	char   *url;

	if (r->source_bucket == NULL || r->source_key == NULL)
		return (json_null());
	url = xasprintf("s3://%s/%s", r->source_bucket, r->source_key);
	o = json_pack("{s:o, s:o, s:o, s:o}", "bucket",
	    run_json_str(r->source_bucket), "key", run_json_str(r->source_key),
	    "version_id", run_json_str(r->source_version_id), "url",
	    run_json_str(url));
	free(url);
	return (o != NULL ? o : json_null());
}

static json_t *
run_json_changes(const struct store_changes *changes)
{
	const struct store_change *c;
	json_t			  *a;
	size_t			   i;

	a = json_array();
	for (i = 0; i < changes->n; i++) {
		c = &changes->items[i];
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, "
			      "s:o, s:o}",
			"action", run_json_str(c->action), "logical_id",
			run_json_str(c->logical_id), "physical_id",
			run_json_str(c->physical_id), "type",
			run_json_str(c->resource_type), "replacement",
			run_json_str(c->replacement), "scope",
			run_json_text(c->scope), "details",
			run_json_text(c->details)));
	}
	return (a);
}

static json_t *
run_json_checks(const struct store_check_results *checks)
{
	const struct store_check_result *r;
	json_t				*a;
	size_t				 i;

	a = json_array();
	for (i = 0; i < checks->n; i++) {
		r = &checks->items[i];
		json_array_append_new(a,
		    json_pack("{s:o, s:i, s:o, s:o, s:o, "
			      "s:o, s:o, s:i, s:o, s:o, s:o}",
			"check", run_json_str(r->check_name), "step", r->step,
			"name", run_json_str(r->step_name), "status",
			run_json_str(r->status), "method",
			run_json_str(r->method), "url", run_json_str(r->url),
			"http_status",
			r->http_status > 0 ? json_integer(r->http_status) :
					     json_null(),
			"tries", r->tries, "duration_ms",
			r->duration_ms >= 0 ? json_integer(r->duration_ms) :
					      json_null(),
			"expectation", run_json_str(r->expectation), "excerpt",
			run_json_str(r->excerpt)));
	}
	return (a);
}

/* The image promotions of one stage. */
static json_t *
run_json_promotions(const struct store_promotions *promos, int64_t stage_id)
{
	const struct store_promotion *p;
	json_t			     *a;
	size_t			      i;

	a = json_array();
	for (i = 0; i < promos->n; i++) {
		p = &promos->items[i];
		if (p->stage_id != stage_id)
			continue;
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, "
			      "s:o, s:o, s:o, s:i, s:i, s:I, s:I, s:o, s:o}",
			"image", run_json_str(p->repository), "reference",
			run_json_str(p->reference), "source_registry",
			run_json_str(p->source_registry),
			"destination_registry",
			run_json_str(p->destination_registry), "status",
			run_json_str(p->status), "source_digest",
			run_json_str(p->source_digest), "destination_digest",
			run_json_str(p->destination_digest), "media_type",
			run_json_str(p->media_type), "blobs_copied",
			p->blobs_copied, "blobs_skipped", p->blobs_skipped,
			"bytes_copied", (json_int_t)p->bytes_copied,
			"bytes_skipped", (json_int_t)p->bytes_skipped,
			"duration_ms",
			p->started_at > 0 && p->finished_at > 0 ?
			    json_integer(p->finished_at - p->started_at) :
			    json_null(),
			"reason", run_json_str(p->reason)));
	}
	return (a);
}

/* What the attempt sends against the stack's (NoEcho: "****"). */
static json_t *
run_json_parameters(const struct store_stage_params *l)
{
	json_t *a = json_array();
	size_t	i;

	for (i = 0; l != NULL && i < l->n; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:o, s:o, s:s, s:b}", "name",
			l->items[i].name, "old",
			run_json_str(l->items[i].old_value), "new",
			run_json_str(l->items[i].new_value), "change",
			l->items[i].change, "no_echo", l->items[i].no_echo));
	return (a);
}

/* The stack when the stage started, and what shipgate had deployed
   there ("now running"). */
static json_t *
run_json_stack(struct store *s, const struct store_stage_stack *sk)
{
	struct store_approvals *ap = NULL;
	json_t		       *o, *prev, *who;
	size_t			i;

	if (sk == NULL)
		return (json_null());
	o = json_pack("{s:b, s:o, s:o}", "exists", sk->exists,
	    "last_updated_at",
	    sk->exists && sk->last_updated_at > 0 ?
		run_json_time(sk->last_updated_at) :
		json_null(),
	    "read_at", run_json_time(sk->read_at));
	if (sk->prev_run_id == 0) {
		json_object_set_new(o, "previous", json_null());
		json_object_set_new(o, "changed_outside",
		    json_boolean(sk->exists && sk->last_updated_at > 0));
		return (o);
	}
	who = json_array();
	if (store_run_approvals(s, sk->prev_run_id, &ap, NULL) == 0) {
		for (i = 0; i < ap->n; i++)
			if (ap->items[i].stage_id == sk->prev_stage_id &&
			    ap->items[i].gate == 0 &&
			    ap->items[i].decision == STORE_DECISION_APPROVE)
				json_array_append_new(who,
				    json_string(ap->items[i].user));
		store_approvals_free(ap);
	}
	prev = json_pack("{s:I, s:o, s:o, s:o}", "run",
	    (json_int_t)sk->prev_run_id, "version",
	    run_json_str(sk->prev_version), "deployed_at",
	    run_json_time(sk->prev_deployed_at), "approved_by", who);
	json_object_set_new(o, "previous", prev);
	json_object_set_new(o, "changed_outside",
	    json_boolean(sk->exists &&
			 sk->last_updated_at > sk->prev_deployed_at + 1000));
	return (o);
}

/* Unix ms with their milliseconds: "2026-11-29T10:59:44.123Z". */
static json_t *
run_json_time_ms(int64_t ms)
{
	struct tm tm;
	time_t	  t;
	char	  s[64], out[80];

	if (ms <= 0)
		return (json_null());
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return (json_null());
	snprintf(out, sizeof out, "%s.%03dZ", s, (int)(ms % 1000));
	return (json_string(out));
}

/* The stack events of the attempt (newest first) and its services'
 * deployments (sql/012_stage_progress.sql). */
static void
run_json_progress(json_t *o, const struct store_progress *p)
{
	const struct store_stage_event	 *e;
	const struct store_stage_service *v;
	json_t				 *a;
	size_t				  i;
	int				  failed;

	a = json_array();
	for (i = 0; i < p->nevents; i++) {
		e = &p->events[i];
		failed = e->status != NULL &&
			 strstr(e->status, "FAILED") != NULL;
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, "
			      "s:o, s:o, s:b}",
			"id", run_json_str(e->event_id), "at",
			run_json_time_ms(e->at), "logical_id",
			run_json_str(e->logical_id), "physical_id",
			run_json_str(e->physical_id), "type",
			run_json_str(e->resource_type), "status",
			run_json_str(e->status), "reason",
			run_json_str(e->reason), "failed", failed));
	}
	json_object_set_new(o, "events", a);
	a = json_array();
	for (i = 0; i < p->nservices; i++) {
		v = &p->services[i];
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:I, s:I, s:I, "
			      "s:I, s:o, s:o, s:o}",
			"service", run_json_str(v->service), "cluster",
			run_json_str(v->cluster), "desired",
			(json_int_t)v->desired, "running",
			(json_int_t)v->running, "pending",
			(json_int_t)v->pending, "failed", (json_int_t)v->failed,
			"rollout_state", run_json_str(v->rollout_state),
			"rollout_reason", run_json_str(v->rollout_reason),
			"updated_at", run_json_time(v->updated_at)));
	}
	json_object_set_new(o, "services", a);
}

/* The attempt's drift (issue 15); null when it was not looked at. */
static json_t *
run_json_drift(const struct store_drift *d)
{
	const struct store_drift_resource *r;
	const struct store_drift_property *p;
	json_t				  *o, *a, *ro, *pa;
	char				  *text;
	size_t				   i, j;

	if (d == NULL)
		return (json_null());
	o = json_object();
	json_object_set_new(o, "status", run_json_str(d->status));
	json_object_set_new(o, "reason", run_json_str(d->reason));
	json_object_set_new(o, "started_at", run_json_time(d->started_at));
	json_object_set_new(o, "finished_at", run_json_time(d->finished_at));
	json_object_set_new(o, "acknowledged",
	    d->ack_user == NULL ?
		json_null() :
		json_pack("{s:o, s:o, s:o}", "by", run_json_str(d->ack_user),
		    "comment", run_json_str(d->ack_comment), "at",
		    run_json_time(d->ack_at)));
	a = json_array();
	for (i = 0; i < d->nresources; i++) {
		r = &d->resources[i];
		pa = json_array();
		for (j = 0; j < r->nprops; j++) {
			p = &r->props[j];
			text = diff_drift_text(r->logical_id, p->path,
			    p->expected, p->actual, p->difference);
			json_array_append_new(pa,
			    json_pack("{s:o, s:o, s:o, s:o, s:b, s:o}", "path",
				run_json_str(p->path), "expected",
				run_json_str(p->expected), "actual",
				run_json_str(p->actual), "difference",
				run_json_str(p->difference), "masked",
				p->masked, "text", run_json_str(text)));
			free(text);
		}
		ro = json_pack("{s:o, s:o, s:o, s:o, s:o}", "logical_id",
		    run_json_str(r->logical_id), "physical_id",
		    run_json_str(r->physical_id), "resource_type",
		    run_json_str(r->resource_type), "status",
		    run_json_str(r->status), "properties", pa);
		json_array_append_new(a, ro);
	}
	json_object_set_new(o, "resources", a);
	return (o);
}

static json_t *
run_json_stage(struct store *s, const struct store_stage *st,
    const struct store_promotions *promos, int *rcp, char **cause)
{
	struct store_changes	    *changes = NULL;
	struct store_check_results  *checks = NULL;
	struct store_stage_params   *params = NULL;
	struct store_stage_stack    *stack = NULL;
	struct store_stage_template *tmpl = NULL;
	struct store_progress	    *progress = NULL;
	struct store_drift	    *drift = NULL;
	json_t			    *o = NULL;
	int64_t			     end;

	if ((*rcp = store_stage_changes(s, st->id, st->attempt, &changes,
		 cause)) != 0 ||
	    (*rcp = store_stage_check_results(s, st->id, st->attempt, &checks,
		 cause)) != 0 ||
	    (*rcp = store_stage_parameters(s, st->id, st->attempt, &params,
		 cause)) != 0)
		goto out;
	if ((*rcp = store_stage_stack(s, st->id, &stack, cause)) ==
	    STORE_ENOTFOUND) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		*rcp = 0;
	} else if (*rcp != 0)
		goto out;
	if ((*rcp = store_stage_template(s, st->id, st->attempt, &tmpl,
		 cause)) == STORE_ENOTFOUND) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		*rcp = 0;
	} else if (*rcp != 0)
		goto out;
	if ((*rcp = store_progress_get(s, st->id, st->attempt, &progress,
		 cause)) != 0)
		goto out;
	if ((*rcp = store_drift(s, st->id, st->attempt, &drift, cause)) ==
	    STORE_ENOTFOUND) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		*rcp = 0;
	} else if (*rcp != 0)
		goto out;
	o = json_object();
	json_object_set_new(o, "id", json_integer(st->id));
	json_object_set_new(o, "env", run_json_str(st->environment));
	json_object_set_new(o, "position", json_integer(st->position));
	json_object_set_new(o, "status",
	    json_string(store_stage_status_name(st->status)));
	json_object_set_new(o, "reason", run_json_str(st->reason));
	json_object_set_new(o, "attempt", json_integer(st->attempt));
	json_object_set_new(o, "required_approvals",
	    json_integer(st->required_approvals));
	json_object_set_new(o, "change_set", run_json_str(st->change_set_name));
	json_object_set_new(o, "change_set_arn",
	    run_json_str(st->change_set_arn));
	json_object_set_new(o, "stack_id", run_json_str(st->stack_id));
	json_object_set_new(o, "deadline_at", run_json_time(st->deadline_at));
	json_object_set_new(o, "started_at", run_json_time(st->started_at));
	json_object_set_new(o, "finished_at", run_json_time(st->finished_at));
	if (st->started_at > 0) {
		end = st->finished_at > 0 ? st->finished_at : store_now(s);
		json_object_set_new(o, "duration_ms",
		    json_integer(
			end > st->started_at ? end - st->started_at : 0));
	} else
		json_object_set_new(o, "duration_ms", json_null());
	json_object_set_new(o, "changes", run_json_changes(changes));
	json_object_set_new(o, "checks", run_json_checks(checks));
	json_object_set_new(o, "promotions",
	    run_json_promotions(promos, st->id));
	json_object_set_new(o, "stack", run_json_stack(s, stack));
	json_object_set_new(o, "parameters", run_json_parameters(params));
	json_object_set_new(o, "template",
	    tmpl == NULL ?
		json_null() :
		json_pack("{s:s, s:I, s:I, s:b}", "diff", tmpl->diff, "added",
		    (json_int_t)tmpl->added, "removed",
		    (json_int_t)tmpl->removed, "whole", tmpl->whole));
	json_object_set_new(o, "drift", run_json_drift(drift));
	run_json_progress(o, progress);
out:
	store_drift_free(drift);
	store_changes_free(changes);
	store_check_results_free(checks);
	store_stage_params_free(params);
	store_stage_stack_free(stack);
	store_stage_template_free(tmpl);
	store_progress_free(progress);
	return (o);
}

static json_t *
run_json_approvals(const struct store_approvals *approvals)
{
	const struct store_approval *ap;
	json_t			    *a;
	size_t			     i;

	a = json_array();
	for (i = 0; i < approvals->n; i++) {
		ap = &approvals->items[i];
		json_array_append_new(a,
		    json_pack("{s:o, s:i, s:b, s:o, s:s, "
			      "s:o, s:s, s:o, s:o}",
			"env", run_json_str(ap->environment), "attempt",
			ap->attempt, "gate", ap->gate, "user",
			run_json_str(ap->user), "decision",
			store_decision_name(ap->decision), "comment",
			run_json_str(ap->comment), "via",
			store_via_name(ap->via), "signin",
			run_json_str(ap->signin), "at",
			run_json_time(ap->decided_at)));
	}
	return (a);
}

/* Oldest first. */
static json_t *
run_json_audit(const struct store_audit_page *audit)
{
	const struct store_audit_entry *e;
	json_t			       *a;
	size_t				i;

	a = json_array();
	for (i = audit->n; i > 0; i--) {
		e = &audit->entries[i - 1];
		json_array_append_new(a,
		    json_pack("{s:I, s:o, s:o, s:o, s:o, "
			      "s:o, s:o}",
			"id", (json_int_t)e->id, "at", run_json_time(e->at),
			"actor", run_json_str(e->actor), "unix_user",
			run_json_str(e->unix_user), "action",
			run_json_str(e->action), "subject",
			run_json_str(e->subject), "detail",
			run_json_str(e->detail)));
	}
	return (a);
}

/* The fields a run's detail and its line in a list begin with. */
static void
run_json_identity(json_t *o, const struct store_run *r)
{
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "release", json_integer(r->release_id));
	json_object_set_new(o, "app", run_json_str(r->app));
	json_object_set_new(o, "version", run_json_str(r->version));
	json_object_set_new(o, "author", run_json_str(r->author));
}

/* Where the run's release came from and where the run stands. */
static void
run_json_standing(json_t *o, const struct store_run *r)
{
	json_object_set_new(o, "source", run_json_source(r));
	json_object_set_new(o, "kind",
	    json_string(store_run_kind_name(r->kind)));
	json_object_set_new(o, "status",
	    json_string(store_run_status_name(r->status)));
	json_object_set_new(o, "reason", run_json_str(r->reason));
}

/* What the run's transitions told people, and whether it went. */
static json_t *
run_json_outbox(const struct store_outbox_rows *outbox)
{
	const struct store_outbox_row *ob;
	json_t			      *a;
	size_t			       i;
	int			       email;

	a = json_array();
	for (i = 0; i < outbox->n; i++) {
		ob = &outbox->items[i];
		email = ob->channel != NULL &&
			strcmp(ob->channel, "email") == 0;
		json_array_append_new(a,
		    json_pack("{s:I, s:o, s:o, s:o, s:o, "
			      "s:o, s:i, s:o, s:o, s:o}",
			"id", (json_int_t)ob->id, "channel",
			run_json_str(ob->channel), "event",
			run_json_str(ob->event), "to",
			run_json_str(email ? ob->recipients : "(webhook)"),
			"subject", run_json_str(ob->subject), "status",
			run_json_str(ob->status), "attempts", ob->attempts,
			"last_error", run_json_str(ob->last_error),
			"created_at", run_json_time(ob->created_at), "sent_at",
			run_json_time(ob->sent_at)));
	}
	return (a);
}

/*
 * release.json's images, each with what intake pinned (docs/api.md):
 * digest, media_type, platforms, pinned_at, and tag_moved_to /
 * tag_moved_at when the tag names another digest since.
 */
static json_t *
run_json_images(json_t *images, const struct store_release_images *pins)
{
	json_t				 *a, *e;
	const struct store_release_image *pin;
	size_t				  i, j;

	if (!json_is_array(images))
		return (json_array());
	a = json_deep_copy(images);
	json_array_foreach(a, i, e) {
		if (!json_is_object(e))
			continue;
		pin = NULL;
		for (j = 0; pins != NULL && j < pins->n; j++)
			if ((size_t)pins->items[j].position == i)
				pin = &pins->items[j];
		json_object_set_new(e, "pinned", json_boolean(pin != NULL));
		if (pin == NULL)
			continue;
		json_object_set_new(e, "digest", run_json_str(pin->digest));
		json_object_set_new(e, "media_type",
		    run_json_str(pin->media_type));
		json_object_set_new(e, "platforms",
		    run_json_str(pin->platforms));
		json_object_set_new(e, "pinned_at",
		    run_json_time(pin->resolved_at));
		json_object_set_new(e, "tag_moved_to",
		    run_json_str(pin->moved_digest));
		json_object_set_new(e, "tag_moved_at",
		    pin->moved_digest != NULL ? run_json_time(pin->moved_at) :
						json_null());
	}
	return (a);
}

json_t *
run_json(struct store *s, int64_t run_id, size_t audit_max, int *rcp,
    char **cause)
{
	struct store_run	    *r = NULL;
	struct store_release	    *rel = NULL;
	struct store_approvals	    *approvals = NULL;
	struct store_audit_page	    *audit = NULL;
	struct store_promotions	    *promos = NULL;
	struct store_outbox_rows    *outbox = NULL;
	struct store_release_images *pins = NULL;
	json_t			    *o = NULL, *a, *v, *manifest;
	size_t			     i;

	if ((*rcp = store_get_run(s, run_id, &r, cause)) != 0 ||
	    (*rcp = store_get_release(s, r->release_id, &rel, cause)) != 0 ||
	    (*rcp = store_run_approvals(s, run_id, &approvals, cause)) != 0 ||
	    (*rcp = store_audit_page(s, run_id, 0, (int)audit_max, &audit,
		 cause)) != 0 ||
	    (*rcp = store_run_promotions(s, run_id, &promos, cause)) != 0 ||
	    (*rcp = store_outbox_run(s, run_id, &outbox, cause)) != 0 ||
	    (*rcp = store_release_images(s, r->release_id, &pins, cause)) != 0)
		goto out;

	o = json_object();
	run_json_identity(o, r);
	json_object_set_new(o, "message", run_json_str(r->message));
	run_json_standing(o, r);
	json_object_set_new(o, "requested_by", run_json_str(r->requested_by));
	json_object_set_new(o, "rollback_of", run_json_id(r->rollback_of));
	json_object_set_new(o, "created_at", run_json_time(r->created_at));
	json_object_set_new(o, "updated_at", run_json_time(r->updated_at));
	json_object_set_new(o, "finished_at", run_json_time(r->finished_at));
	manifest = run_json_text(rel->manifest);
	v = json_object_get(manifest, "images");
	json_object_set_new(o, "images", run_json_images(v, pins));
	json_decref(manifest);

	a = json_array();
	json_object_set_new(o, "stages", a);
	for (i = 0; i < r->nstages; i++) {
		if ((v = run_json_stage(s, &r->stages[i], promos, rcp,
			 cause)) == NULL) {
			json_decref(o);
			o = NULL;
			goto out;
		}
		json_array_append_new(a, v);
	}
	json_object_set_new(o, "approvals", run_json_approvals(approvals));
	json_object_set_new(o, "audit", run_json_audit(audit));
	json_object_set_new(o, "audit_truncated",
	    json_boolean(audit->next_before != 0));
	json_object_set_new(o, "notifications", run_json_outbox(outbox));
out:
	store_run_free(r);
	store_release_free(rel);
	store_approvals_free(approvals);
	store_audit_page_free(audit);
	store_promotions_free(promos);
	store_outbox_rows_free(outbox);
	store_release_images_free(pins);
	return (o);
}

/* One run of a list: the run's own fields and the stage it is at. */
static json_t *
run_json_summary(struct store *s, const struct store_run *r, int *rcp,
    char **cause)
{
	enum store_stage_status st_status;
	json_t		       *o;
	char		       *env;

	if ((*rcp = store_run_current_stage(s, r->id, &env, &st_status,
		 cause)) != 0)
		return (NULL);
	o = json_object();
	run_json_identity(o, r);
	run_json_standing(o, r);
	json_object_set_new(o, "stage",
	    env == NULL ? json_null() :
			  json_pack("{s:o, s:s}", "env", run_json_str(env),
			      "status", store_stage_status_name(st_status)));
	free(env);
	json_object_set_new(o, "created_at", run_json_time(r->created_at));
	json_object_set_new(o, "finished_at", run_json_time(r->finished_at));
	return (o);
}

json_t *
run_json_runs(struct store *s, const struct store_runs_page *page, int *rcp,
    char **cause)
{
	json_t *a, *o;
	size_t	i;

	*rcp = 0;
	a = json_array();
	for (i = 0; i < page->n; i++) {
		if ((o = run_json_summary(s, &page->runs[i], rcp, cause)) ==
		    NULL) {
			json_decref(a);
			return (NULL);
		}
		json_array_append_new(a, o);
	}
	return (a);
}

json_t *
run_json_stack_hold(const struct store_stack_hold *h)
{
	json_t	   *o, *skip;
	const char *p, *q;
	char	   *one;

	o = json_object();
	json_object_set_new(o, "app", run_json_str(h->app));
	json_object_set_new(o, "env", run_json_str(h->environment));
	json_object_set_new(o, "stack", run_json_str(h->stack));
	json_object_set_new(o, "status", run_json_str(h->stack_status));
	json_object_set_new(o, "reason", run_json_str(h->reason));
	json_object_set_new(o, "run", run_json_id(h->run_id));
	json_object_set_new(o, "since", run_json_time(h->since));
	json_object_set_new(o, "action", run_json_str(h->action));
	json_object_set_new(o, "action_by", run_json_str(h->action_by));
	json_object_set_new(o, "action_comment",
	    run_json_str(h->action_comment));
	skip = json_array();
	for (p = h->action_skip; p != NULL && *p != '\0'; p = q) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		q = p + strcspn(p, " ");
		one = xstrndup(p, (size_t)(q - p));
		json_array_append_new(skip, run_json_str(one));
		free(one);
	}
	json_object_set_new(o, "action_skip", skip);
	json_object_set_new(o, "action_at", run_json_time(h->action_at));
	return (o);
}

static int
run_json_freeze_cmp(const void *a, const void *b)
{
	json_int_t x, y;

	x = json_integer_value(json_object_get(*(json_t *const *)a, "from"));
	y = json_integer_value(json_object_get(*(json_t *const *)b, "from"));
	return (x < y ? -1 : x > y);
}

json_t *
run_json_freezes(const struct config_app *app, const char *env,
    const struct store_freezes *l, int64_t now)
{
	const struct config_environment *ce;
	json_t			       **v, *a;
	int64_t				 from, to;
	size_t				 i, j, n = 0, max;

	max = l != NULL ? l->n : 0;
	for (i = 0; app != NULL && i < app->nenvironments; i++)
		max += app->environments[i].nfreezes;
	v = xcalloc(max + 1, sizeof *v);
	for (i = 0; app != NULL && i < app->nenvironments; i++) {
		ce = &app->environments[i];
		if (env != NULL && strcmp(ce->name, env) != 0)
			continue;
		for (j = 0; j < ce->nfreezes; j++) {
			config_freeze_span(&ce->freezes[j], &from, &to);
			if (to <= now)
				continue;
			v[n++] = json_pack("{s:s, s:n, s:o, s:o, s:I, s:I, "
					   "s:o, s:n, s:n}",
			    "source", "config", "id", "app",
			    run_json_str(app->name), "env",
			    run_json_str(ce->name), "from", (json_int_t)from,
			    "until", (json_int_t)to, "reason",
			    run_json_str(ce->freezes[j].reason), "by", "at");
		}
	}
	for (i = 0; l != NULL && i < l->n; i++)
		v[n++] = json_pack("{s:s, s:I, s:o, s:o, s:I, s:I, s:o, s:o, "
				   "s:I}",
		    "source", "runtime", "id", (json_int_t)l->v[i].id, "app",
		    run_json_str(l->v[i].app), "env",
		    run_json_str(l->v[i].environment), "from",
		    (json_int_t)l->v[i].from_at, "until",
		    (json_int_t)l->v[i].until_at, "reason",
		    run_json_str(l->v[i].reason), "by",
		    run_json_str(l->v[i].created_by), "at",
		    (json_int_t)l->v[i].created_at);
	/* Stable enough: equal starts keep no promised order. */
	qsort(v, n, sizeof *v, run_json_freeze_cmp);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
	return (a);
}
