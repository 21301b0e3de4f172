/*
 * A stage's step 1 for an environment with its own `registry`: copy the
 * release's images there (promote.h) from the app's registry, digest
 * for digest, one image_promotions row per image; then the stage goes
 * on to its change set.  An image the release already copied into that
 * registry (an earlier stage: STG into the Prod account's registry,
 * then Prod pulling from the same) is not copied again: its row says
 * so.  After a restart in `promoting` the copy simply runs again (blobs
 * present are skipped, tags are idempotent).
 *
 * Registries: a `registries:` entry with a username is reached with its
 * own credentials (registry_new_config).  Any other host at its entry's
 * url (or https://HOST); an ECR host (ACCOUNT.dkr.ecr.REGION...) logs in
 * with GetAuthorizationToken in its account: through the role of the
 * app's environment in that account (the stage's own first), else with
 * the host's credentials.  Logins are cached for one promotion only.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "config.h"
#include "engine-int.h"
#include "log.h"
#include "promote.h"
#include "registry-ecr.h"
#include "registry.h"
#include "release.h"
#include "store.h"
#include "xmalloc.h"

struct engine_promo_side {
	char		 *host;
	struct registry	 *reg;
	int		  ecr; /* needs a login */
	int		  logged_in;
	struct aws_creds *creds;
	char		  region[REGISTRY_ECR_REGION_SIZE];
};

/* An image's names, owned by the promotion. */
struct engine_promo_name {
	char *repository;
	char *reference;
	char *tag;   /* at the destination, or NULL */
	char *shown; /* as release.json names it */
};

struct engine_promo {
	struct engine_call *call;
	/* The logins' client and credentials outlive a reload. */
	struct aws_context_hold	 *aws;
	struct registry_ecr	 *ecr;
	struct engine_promo_side  src, dst;
	struct promote_image	 *images; /* borrow from names */
	struct engine_promo_name *names;
	size_t			  nimages;
	int			  parallel;
	int			  unrecorded; /* rows the store refused */
};

static void engine_promo_next(struct engine_promo *);

static void
engine_promo_free(struct engine_promo *pr)
{
	size_t i;

	registry_ecr_free(pr->ecr);
	aws_context_release(pr->aws);
	registry_free(pr->src.reg);
	registry_free(pr->dst.reg);
	free(pr->src.host);
	free(pr->dst.host);
	for (i = 0; i < pr->nimages; i++) {
		free(pr->names[i].repository);
		free(pr->names[i].reference);
		free(pr->names[i].tag);
		free(pr->names[i].shown);
	}
	free(pr->names);
	free(pr->images);
	free(pr);
}

/*
 * The promotion's run and stage when its call ends; NULL when the engine
 * let go of the run or the run moved on (the promotion is then only
 * freed).
 */
static struct engine_run *
engine_promo_end(struct engine_promo *pr, struct store_stage **stp)
{
	struct engine_run  *r;
	struct store_stage *st;
	int64_t		    stage_id = pr->call->stage_id;
	int		    attempt = pr->call->attempt;

	*stp = NULL;
	if ((r = engine_call_end(pr->call)) == NULL)
		return (NULL);
	if (r->row == NULL || (st = engine_current_stage(r)) == NULL ||
	    st->id != stage_id || st->attempt != attempt ||
	    st->status != STORE_STAGE_PROMOTING) {
		engine_schedule(r, 0);
		return (NULL);
	}
	*stp = st;
	return (r);
}

static void
engine_promo_fail(struct engine_promo *pr, const char *reason)
{
	struct engine_run  *r;
	struct store_stage *st;

	if ((r = engine_promo_end(pr, &st)) != NULL)
		engine_stage_fail(r, st, reason);
	engine_promo_free(pr);
}

/* --- Registries ---------------------------------------------------------- */

/* The credentials for an ECR registry of account: the role of the app's
 * environment in that account (env first), else the host's. */
static struct aws_creds *
engine_promo_creds(struct engine_run *r, const struct config_environment *env,
    const char *account, char **cause)
{
	const struct config_app *app = engine_run_app(r);
	size_t			 i;

	if (env != NULL && env->account != NULL &&
	    strcmp(env->account, account) == 0)
		return (aws_context_env_creds(r->engine->aws, app, env, cause));
	for (i = 0; i < app->nenvironments; i++) {
		env = &app->environments[i];
		if (env->account != NULL && strcmp(env->account, account) == 0)
			return (aws_context_env_creds(r->engine->aws, app, env,
			    cause));
	}
	return (aws_context_host_creds(r->engine->aws));
}

static int
engine_promo_side(struct engine_run *r, const struct config_environment *env,
    const char *host, struct engine_promo_side *side, char **cause)
{
	const struct config_registry *cr;
	struct registry_options	      o;
	char			      account[REGISTRY_ECR_ACCOUNT_SIZE];
	char			     *url, *why = NULL;

	side->host = xstrdup(host);
	cr = config_find_registry(r->engine->config, host);
	if (cr != NULL && cr->username != NULL) {
		side->reg = registry_new_config(aws_context_http(
						    r->engine->aws),
		    cr, &why);
		goto out;
	}
	memset(&o, 0, sizeof o);
	url = cr != NULL ? xstrdup(cr->url) : xasprintf("https://%s", host);
	o.url = url;
	side->reg = registry_new(aws_context_http(r->engine->aws), &o, &why);
	free(url);
	if (side->reg == NULL ||
	    !registry_ecr_host(host, account, side->region))
		goto out;
	side->ecr = 1;
	if ((side->creds = engine_promo_creds(r, env, account, &why)) == NULL) {
		registry_free(side->reg);
		side->reg = NULL;
	}
out:
	if (side->reg == NULL) {
		*cause = xasprintf("registry %s: %s", host, why);
		free(why);
		return (-1);
	}
	return (0);
}

/* --- The copy ------------------------------------------------------------ */

static void
engine_promo_image_cb(struct promote *p, const struct promote_result *res,
    void *arg)
{
	struct engine_promo	 *pr = arg;
	struct engine_run	 *r = pr->call->run;
	struct store_promotion_in in;
	char			 *why = NULL;
	size_t			  i;

	(void)p;
	if (r == NULL)
		return; /* the engine let go: the store may be gone */
	memset(&in, 0, sizeof in);
	in.stage_id = pr->call->stage_id;
	in.source_registry = pr->src.host;
	in.repository = res->repository;
	/* Recorded as release.json names it (its tag), copied by digest. */
	in.reference = res->reference;
	for (i = 0; i < pr->nimages; i++)
		if (strcmp(pr->names[i].repository, res->repository) == 0 &&
		    strcmp(pr->names[i].reference, res->reference) == 0)
			in.reference = pr->names[i].shown;
	in.destination_registry = pr->dst.host;
	in.media_type = res->media_type;
	in.source_digest = res->source_digest;
	in.destination_digest = res->destination_digest;
	in.failed = res->error != 0;
	in.blobs_copied = res->blobs_copied;
	in.blobs_skipped = res->blobs_skipped;
	in.bytes_copied = res->bytes_copied;
	in.bytes_skipped = res->bytes_skipped;
	in.reason = res->error == 0	? NULL :
		    res->reason != NULL ? res->reason :
					  promote_strerror(res->error);
	in.elapsed_ms = res->elapsed_ms;
	if (store_record_promotion(r->engine->store, &in, &why) != 0) {
		log_warnx("cannot record the promotion app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
		pr->unrecorded++;
	}
}

static void
engine_promo_done_cb(struct promote *p, const struct promote_result *res,
    size_t n, void *arg)
{
	struct engine_promo	    *pr = arg;
	struct engine_run	    *r;
	struct store_stage	    *st;
	const struct promote_result *first = NULL;
	char			    *reason;
	size_t			     i, failed = 0;

	(void)p;
	for (i = 0; i < n; i++) {
		if (res[i].error != 0 && failed++ == 0)
			first = &res[i];
	}
	if ((r = engine_promo_end(pr, &st)) == NULL)
		goto out;
	if (first != NULL && first->error == REGISTRY_ECANCELLED) {
		engine_poll_later(r); /* run it again */
		goto out;
	}
	if (first != NULL) {
		reason = xasprintf("image promotion to %s failed (%zu of %zu "
				   "images): %s",
		    pr->dst.host, failed, n,
		    first->reason != NULL ? first->reason :
					    promote_strerror(first->error));
		engine_stage_fail(r, st, reason);
		free(reason);
		goto out;
	}
	if (pr->unrecorded > 0) {
		engine_poll_later(r); /* copy (skip) and record again */
		goto out;
	}
	log_info("images promoted app=%s run=%lld env=%s images=%zu to=%s",
	    r->app, (long long)r->id, st->environment, n, pr->dst.host);
	r->promoted_stage = st->id;
	r->promoted_attempt = st->attempt;
	engine_schedule(r, 0);
out:
	/* No registry call is in flight once done_cb comes. */
	engine_promo_free(pr);
}

static void
engine_promo_start(struct engine_promo *pr)
{
	struct promote_options o;
	char		      *cause = NULL, *reason;

	memset(&o, 0, sizeof o);
	o.parallel_blobs = pr->parallel;
	o.image_cb = engine_promo_image_cb;
	o.image_arg = pr;
	if (promote_start(pr->src.reg, pr->dst.reg, pr->images, pr->nimages, &o,
		engine_promo_done_cb, pr, &cause) == NULL) {
		reason = xasprintf("image promotion to %s: %s", pr->dst.host,
		    cause);
		engine_promo_fail(pr, reason);
		free(reason);
		free(cause);
	}
}

static void
engine_promo_login_cb(int error, const char *message,
    const struct registry_ecr_login *login, void *arg)
{
	struct engine_promo	 *pr = arg;
	struct engine_promo_side *side;
	char			 *reason;

	side = !pr->src.logged_in && pr->src.ecr ? &pr->src : &pr->dst;
	if (pr->call->run == NULL) {
		engine_promo_fail(pr, NULL);
		return;
	}
	if (error != 0 || login == NULL) {
		reason = xasprintf("ECR login for %s (GetAuthorizationToken) "
				   "failed: %s",
		    side->host, message);
		engine_promo_fail(pr, reason);
		free(reason);
		return;
	}
	registry_ecr_apply(login, side->reg);
	side->logged_in = 1;
	engine_promo_next(pr);
}

/* The next ECR login, or the copy once they are all done. */
static void
engine_promo_next(struct engine_promo *pr)
{
	struct engine_promo_side *side = NULL;
	char			 *cause = NULL, *reason;

	if (pr->src.ecr && !pr->src.logged_in)
		side = &pr->src;
	else if (pr->dst.ecr && !pr->dst.logged_in)
		side = &pr->dst;
	if (side == NULL) {
		engine_promo_start(pr);
		return;
	}
	if (registry_ecr_login(pr->ecr, side->creds, side->region,
		engine_promo_login_cb, pr, &cause) != 0) {
		reason = xasprintf("ECR login for %s: %s", side->host, cause);
		engine_promo_fail(pr, reason);
		free(reason);
		free(cause);
	}
}

/* --- The step ------------------------------------------------------------ */

/* Records that an image is in the registry already; 0, or -1 (logged). */
static int
engine_promo_note(struct engine_run *r, struct store_stage *st,
    const char *source, const char *destination,
    const struct store_promotion *done)
{
	struct store_promotion_in in;
	char			 *note, *why = NULL;
	int			  rc;

	note = xasprintf("not copied again: copied into %s for %s (run %lld)",
	    destination, done->environment, (long long)done->run_id);
	memset(&in, 0, sizeof in);
	in.stage_id = st->id;
	in.source_registry = source;
	in.repository = done->repository;
	in.reference = done->reference;
	in.destination_registry = destination;
	in.media_type = done->media_type;
	in.source_digest = done->source_digest;
	in.destination_digest = done->destination_digest;
	in.reason = note;
	rc = store_record_promotion(r->engine->store, &in, &why);
	if (rc != 0) {
		log_warnx("cannot record the promotion app=%s run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
	} else
		log_info("image not copied again app=%s run=%lld env=%s "
			 "image=%s:%s to=%s",
		    r->app, (long long)r->id, st->environment, done->repository,
		    done->reference, destination);
	free(note);
	return (rc == 0 ? 0 : -1);
}

/* The digest intake pinned for image i, or NULL (none recorded). */
static const char *
engine_promo_pin(const struct store_release_images *pins, size_t i,
    const struct release_image *im)
{
	size_t j;

	for (j = 0; pins != NULL && j < pins->n; j++)
		if ((size_t)pins->items[j].position == i &&
		    strcmp(pins->items[j].repository, im->repository) == 0)
			return (pins->items[j].digest);
	return (NULL);
}

void
engine_step_promoting(struct engine_run *r, struct store_stage *st,
    const struct config_environment *env)
{
	const struct config_app	    *app = engine_run_app(r);
	const struct release_image  *im;
	struct engine_promo	    *pr = NULL;
	struct store_promotion	    *done = NULL;
	struct store_release_images *pins = NULL;
	const char		    *ref, *pin;
	char			    *cause = NULL, *why = NULL;
	size_t			     i;
	int			     rc;

	if (r->promoted_stage == st->id && r->promoted_attempt == st->attempt) {
		engine_name_change_set(r, st);
		return;
	}
	if (app->registry == NULL) {
		cause = xasprintf("%s pulls images from %s but app %s has no "
				  "registry to copy them from",
		    env->name, env->registry, app->name);
		engine_stage_fail(r, st, cause);
		goto out;
	}
	if (strcmp(app->registry, env->registry) == 0) {
		r->promoted_stage = st->id; /* where they are already */
		r->promoted_attempt = st->attempt;
		engine_name_change_set(r, st);
		goto out;
	}
	if ((rc = engine_release_load(r, st, &cause)) != 0) {
		if (rc < 0)
			engine_stage_fail(r, st, cause);
		goto out;
	}
	if (store_release_images(r->engine->store, r->row->release_id, &pins,
		&why) != 0) {
		log_warnx("cannot read the release's images app=%s run=%lld: "
			  "%s",
		    r->app, (long long)r->id, why);
		engine_poll_later(r);
		goto out;
	}
	pr = xcalloc(1, sizeof *pr);
	/* Before the sides take their credentials from the same settings. */
	pr->aws = aws_context_hold(r->engine->aws);
	pr->images = xcalloc(r->release->nimages, sizeof *pr->images);
	pr->names = xcalloc(r->release->nimages, sizeof *pr->names);
	for (i = 0; i < r->release->nimages; i++) {
		im = &r->release->images[i];
		ref = im->tag != NULL ? im->tag : im->digest;
		/* The digest pinned at intake, whatever the tag says now. */
		pin = engine_promo_pin(pins, i, im);
		rc = store_find_promotion(r->engine->store, r->row->release_id,
		    env->registry, im->repository, ref, st->id, &done, &why);
		if (rc == 0) {
			rc = engine_promo_note(r, st, app->registry,
			    env->registry, done);
			store_promotion_free(done);
			done = NULL;
			if (rc != 0) {
				engine_poll_later(r);
				goto out;
			}
			continue;
		}
		if (rc != STORE_ENOTFOUND) {
			log_warnx("cannot read the promotions app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			engine_poll_later(r);
			goto out;
		}
		pr->names[pr->nimages].repository = xstrdup(im->repository);
		pr->names[pr->nimages].reference = xstrdup(
		    pin != NULL ? pin : ref);
		pr->names[pr->nimages].shown = xstrdup(ref);
		if (pin != NULL && im->tag != NULL)
			pr->names[pr->nimages].tag = xstrdup(im->tag);
		pr->images[pr->nimages].repository = pr->names[pr->nimages]
							 .repository;
		pr->images[pr->nimages].reference = pr->names[pr->nimages]
							.reference;
		pr->images[pr->nimages].destination_tag = pr->names[pr->nimages]
							      .tag;
		pr->nimages++;
	}
	if (pr->nimages == 0) {
		r->promoted_stage = st->id;
		r->promoted_attempt = st->attempt;
		engine_name_change_set(r, st);
		goto out;
	}
	if (engine_promo_side(r, NULL, app->registry, &pr->src, &cause) != 0 ||
	    engine_promo_side(r, env, env->registry, &pr->dst, &cause) != 0) {
		engine_stage_fail(r, st, cause);
		goto out;
	}
	pr->parallel = r->engine->config->promotion_parallel_blobs;
	pr->ecr = registry_ecr_new(aws_context_hold_client(pr->aws), 0);
	pr->call = engine_call_new(r, st);
	log_info("promoting images app=%s run=%lld env=%s images=%zu from=%s "
		 "to=%s",
	    r->app, (long long)r->id, st->environment, pr->nimages,
	    pr->src.host, pr->dst.host);
	engine_promo_next(pr);
	pr = NULL;
out:
	if (pr != NULL)
		engine_promo_free(pr);
	store_release_images_free(pins);
	free(why);
	free(cause);
}
