/*
 * A run's pinned images (issue 15).  Intake resolved every image of the
 * release to a digest (registry-resolve.h, release_images); the run
 * deploys those digests whatever the tags say later:
 * - before a stage asks anything of AWS, the tags are read again in the
 *   app's registry; a tag that names another digest now is recorded
 *   (release_images.moved_digest) for the page and the mail, and the run
 *   goes on with the pinned digest.  A registry that cannot be read then
 *   does not hold the run (the pinned digests need no registry): it is
 *   logged;
 * - promotion copies the pinned digest (engine-promote.c);
 * - images[].parameter receives "repository@digest" (the change set's
 *   parameters, engine-stage.c).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine-int.h"
#include "log.h"
#include "registry-resolve.h"
#include "release.h"
#include "store.h"
#include "xmalloc.h"

struct engine_recheck {
	struct engine_call	    *call;
	struct store_release_images *images;
	size_t			    *map; /* asked k: images' i */
	int64_t			     release_id;
};

static void
engine_recheck_free(void *arg)
{
	struct engine_recheck *rc = arg;

	store_release_images_free(rc->images);
	free(rc->map);
	free(rc);
}

static void
engine_recheck_cb(const struct resolve_result *res, void *arg)
{
	struct engine_recheck		 *rc = arg;
	struct engine_call		 *call = rc->call;
	struct engine_run		 *r;
	const struct store_release_image *im;
	const char			 *now;
	char				 *why = NULL;
	int64_t				  stage_id = call->stage_id;
	int				  attempt = call->attempt;
	size_t				  i;

	/* rc is the call's data: read everything before it ends. */
	call->data = NULL;
	call->free_data = NULL;
	if ((r = engine_call_end(call)) == NULL)
		goto out;
	if (res->error == RESOLVE_ECANCELLED)
		goto schedule;
	if (res->error != RESOLVE_OK)
		log_warnx(
		    "cannot read the release's tags again app=%s run=%lld:"
		    " %s; the run deploys the digests pinned at intake",
		    r->app, (long long)r->id, res->reason);
	for (i = 0; res->error == RESOLVE_OK && i < res->n; i++) {
		im = &rc->images->items[rc->map[i]];
		now = res->images[i].digest;
		if (now != NULL && strcmp(now, im->digest) == 0)
			now = NULL;
		if (now != NULL && (im->moved_digest == NULL ||
				       strcmp(im->moved_digest, now) != 0))
			log_warnx("image tag moved app=%s run=%lld image=%s:%s "
				  "pinned=%s now=%s",
			    r->app, (long long)r->id, im->repository, im->tag,
			    im->digest, now);
		if (store_release_image_moved(r->engine->store, rc->release_id,
			im->position, now, &why) != 0) {
			log_warnx("cannot record the image's tag app=%s "
				  "run=%lld: %s",
			    r->app, (long long)r->id, why);
			free(why);
			why = NULL;
		}
	}
	r->images_stage = stage_id;
	r->images_attempt = attempt;
schedule:
	engine_schedule(r, 0);
out:
	engine_recheck_free(rc);
}

int
engine_images_recheck(struct engine_run *r, struct store_stage *st)
{
	const struct config_app	    *app = engine_run_app(r);
	struct store_release_images *l = NULL;
	struct engine_recheck	    *rc;
	struct resolve_image_in	    *ims = NULL;
	size_t			    *map = NULL;
	char			    *why = NULL;
	size_t			     i, n = 0;

	if (r->images_stage == st->id && r->images_attempt == st->attempt)
		return (0);
	if (app == NULL || app->registry == NULL ||
	    store_release_images(r->engine->store, r->row->release_id, &l,
		&why) != 0 ||
	    l->n == 0)
		goto done;
	ims = xcalloc(l->n, sizeof *ims);
	map = xcalloc(l->n, sizeof *map);
	for (i = 0; i < l->n; i++) {
		if (l->items[i].tag == NULL)
			continue; /* a digest does not move */
		ims[n].repository = l->items[i].repository;
		ims[n].tag = l->items[i].tag;
		map[n++] = i;
	}
	if (n == 0)
		goto done;
	rc = xcalloc(1, sizeof *rc);
	rc->images = l;
	rc->map = map;
	map = NULL;
	rc->release_id = r->row->release_id;
	rc->call = engine_call_new(r, st);
	rc->call->data = rc;
	rc->call->free_data = engine_recheck_free;
	if (registry_resolve_start(r->engine->aws, r->engine->config, app,
		engine_stage_env(r, st), app->registry, ims, n,
		engine_recheck_cb, rc, &why) == NULL) {
		/* The call's data goes with it. */
		engine_call_end(rc->call);
		l = NULL;
		goto done;
	}
	free(ims);
	return (1);

done:
	free(map);
	if (why != NULL) {
		log_warnx("cannot read the release's tags again app=%s "
			  "run=%lld: %s",
		    r->app, (long long)r->id, why);
		free(why);
	}
	free(ims);
	store_release_images_free(l);
	r->images_stage = st->id;
	r->images_attempt = st->attempt;
	return (0);
}

int
engine_images_parameters(struct engine_run *r,
    const struct config_environment *env, struct config_kvs *kvs, char **cause)
{
	struct store_release_images *l = NULL;
	const char		   **pinned;
	char			    *why = NULL;
	size_t			     i, j;

	if (store_release_images(r->engine->store, r->row->release_id, &l,
		&why) != 0) {
		*cause = xasprintf("cannot read the release's images: %s", why);
		free(why);
		return (-1);
	}
	pinned = xcalloc(r->release->nimages + 1, sizeof *pinned);
	for (i = 0; i < l->n; i++) {
		j = (size_t)l->items[i].position;
		if (j < r->release->nimages &&
		    strcmp(l->items[i].repository,
			r->release->images[j].repository) == 0)
			pinned[j] = l->items[i].digest;
	}
	release_image_parameters(r->release, env->name, pinned,
	    &env->parameters, &env->release_may_set, kvs);
	free(pinned);
	store_release_images_free(l);
	return (0);
}
