/*
 * The AWS runtime shared by the daemon and shipgatectl doctor.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-client.h"
#include "aws-context.h"
#include "aws-creds-chain.h"
#include "aws-creds-role.h"
#include "aws-creds.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

struct aws_context_role {
	char		 *key; /* role_arn \n external_id \n region */
	struct aws_creds *creds;
};

/*
 * One version of the aws.* settings with the clients and credentials
 * made from them.  A reload that changes them makes a new one; the old
 * one is retired and freed once nothing uses it any more: no call in
 * flight on its clients and no hold (aws_context_hold).
 */
struct aws_context_gen {
	struct aws_context	*ctx;
	struct aws_client	*sts_client; /* no default credentials:
						   the chain's own calls */
	struct aws_client	*client;
	struct aws_creds	*host;
	char			*region;
	int			 max_attempts;
	char			*profile;   /* NULL: the chain's default */
	struct config_endpoint	*endpoints; /* copied: reloads free the
						   configuration */
	size_t			 nendpoints;
	struct aws_context_role *roles;
	size_t			 nroles;
	unsigned int		 holds;
	int			 orphan; /* freed but for its holds */
	struct aws_context_gen	*next;	 /* on the retired list */
};

struct aws_context {
	uv_loop_t	       *loop;
	struct http_client     *http;
	struct aws_context_gen *gen; /* new calls use this one */
	struct aws_context_gen *retired;
	uv_timer_t		sweep;	  /* frees retired versions */
	int			sweep_on; /* sweep initialised */
	int			closing;  /* handles still closing */

	void (*close_cb)(void *);
	void *close_arg;
};

/* How often retired settings are looked at, while there are any. */
#define AWS_CONTEXT_SWEEP_MS 1000

static const char *
aws_context_endpoint_cb(const char *service, void *arg)
{
	struct aws_context_gen *gen = arg;
	size_t			i;

	for (i = 0; i < gen->nendpoints; i++)
		if (strcmp(gen->endpoints[i].service, service) == 0)
			return (gen->endpoints[i].url);
	return (NULL);
}

/* Roles first: they hold calls on the client and the host's keys. */
static void
aws_context_gen_free(struct aws_context_gen *gen)
{
	size_t i;

	for (i = 0; i < gen->nroles; i++) {
		aws_creds_free(gen->roles[i].creds);
		free(gen->roles[i].key);
	}
	free(gen->roles);
	if (gen->client != NULL)
		aws_client_free(gen->client);
	if (gen->host != NULL)
		aws_creds_free(gen->host);
	if (gen->sts_client != NULL)
		aws_client_free(gen->sts_client);
	for (i = 0; i < gen->nendpoints; i++) {
		free(gen->endpoints[i].service);
		free(gen->endpoints[i].url);
	}
	free(gen->endpoints);
	free(gen->region);
	free(gen->profile);
	/*
	 * A hold may outlive the context: a promotion cancelled by the
	 * engine's stop is freed when its copies have stopped, which can
	 * be after the close.  Its release frees what is left.
	 */
	if (gen->holds > 0) {
		gen->roles = NULL;
		gen->nroles = 0;
		gen->client = gen->sts_client = NULL;
		gen->host = NULL;
		gen->endpoints = NULL;
		gen->nendpoints = 0;
		gen->region = gen->profile = NULL;
		gen->orphan = 1;
		return;
	}
	free(gen);
}

static struct aws_context_gen *
aws_context_gen_new(struct aws_context *ctx, const struct config *config,
    char **cause)
{
	struct aws_context_gen	      *gen;
	struct aws_client_options      opts;
	struct aws_creds_chain_options chain;
	size_t			       i;

	gen = xcalloc(1, sizeof *gen);
	gen->ctx = ctx;
	gen->region = xstrdup(config->aws.region);
	gen->max_attempts = config->aws.max_attempts;
	if (config->aws.profile != NULL)
		gen->profile = xstrdup(config->aws.profile);
	if (config->aws.nendpoints > 0) {
		gen->endpoints = xcalloc(config->aws.nendpoints,
		    sizeof *gen->endpoints);
		for (i = 0; i < config->aws.nendpoints; i++) {
			gen->endpoints[i].service = xstrdup(
			    config->aws.endpoints[i].service);
			gen->endpoints[i].url = xstrdup(
			    config->aws.endpoints[i].url);
		}
		gen->nendpoints = config->aws.nendpoints;
	}

	memset(&opts, 0, sizeof opts);
	opts.region = gen->region;
	opts.max_attempts = gen->max_attempts;
	opts.endpoint_override = aws_context_endpoint_cb;
	opts.endpoint_arg = gen;
	gen->sts_client = aws_client_new(ctx->loop, ctx->http, NULL, &opts);

	memset(&chain, 0, sizeof chain);
	chain.loop = ctx->loop;
	chain.http = ctx->http;
	chain.sts_client = gen->sts_client;
	chain.profile = gen->profile;
	chain.session_name = "shipgate";
	if ((gen->host = aws_creds_chain_new(&chain, cause)) == NULL) {
		aws_context_gen_free(gen);
		return (NULL);
	}
	gen->client = aws_client_new(ctx->loop, ctx->http, gen->host, &opts);
	return (gen);
}

/* Whether config's aws.* differ from the settings gen was made from. */
static int
aws_context_gen_differs(const struct aws_context_gen *gen,
    const struct config				     *config)
{
	const struct config_aws *a = &config->aws;
	size_t			 i;

	if (strcmp(gen->region, a->region) != 0 ||
	    gen->max_attempts != a->max_attempts ||
	    (gen->profile == NULL) != (a->profile == NULL) ||
	    (gen->profile != NULL && strcmp(gen->profile, a->profile) != 0) ||
	    gen->nendpoints != a->nendpoints)
		return (1);
	for (i = 0; i < a->nendpoints; i++)
		if (strcmp(gen->endpoints[i].service,
			a->endpoints[i].service) != 0 ||
		    strcmp(gen->endpoints[i].url, a->endpoints[i].url) != 0)
			return (1);
	return (0);
}

static int
aws_context_gen_busy(const struct aws_context_gen *gen)
{
	return (gen->holds > 0 || aws_client_busy(gen->client) > 0 ||
		aws_client_busy(gen->sts_client) > 0);
}

/*
 * From the loop, never from inside a call's callback: a retired version
 * whose last call is ending must not be freed under that call's feet.
 */
static void
aws_context_sweep_cb(uv_timer_t *handle)
{
	struct aws_context	*ctx = handle->data;
	struct aws_context_gen **pp, *gen;

	pp = &ctx->retired;
	while ((gen = *pp) != NULL) {
		if (aws_context_gen_busy(gen)) {
			pp = &gen->next;
			continue;
		}
		*pp = gen->next;
		log_debug(LOG_CAT_AWS, "retired AWS settings freed region=%s",
		    gen->region);
		aws_context_gen_free(gen);
	}
	if (ctx->retired == NULL)
		uv_timer_stop(&ctx->sweep);
}

struct aws_context *
aws_context_new(uv_loop_t *loop, const struct config *config, char **cause)
{
	struct aws_context *ctx;

	ctx = xcalloc(1, sizeof *ctx);
	ctx->loop = loop;
	ctx->http = http_client_new(loop);
	if ((ctx->gen = aws_context_gen_new(ctx, config, cause)) == NULL) {
		aws_context_close(ctx, NULL, NULL);
		return (NULL);
	}
	return (ctx);
}

int
aws_context_reconfigure(struct aws_context *ctx, const struct config *config,
    char **cause)
{
	struct aws_context_gen *gen;
	int			rc;

	if (!aws_context_gen_differs(ctx->gen, config))
		return (0);
	if ((gen = aws_context_gen_new(ctx, config, cause)) == NULL)
		return (-1);
	/* The counters of /metrics go on from where they were. */
	aws_client_stats_add(gen->client, ctx->gen->client);
	ctx->gen->next = ctx->retired;
	ctx->retired = ctx->gen;
	ctx->gen = gen;
	if (!ctx->sweep_on) {
		if ((rc = uv_timer_init(ctx->loop, &ctx->sweep)) != 0)
			fatalx("uv_timer_init: %s", uv_strerror(rc));
		ctx->sweep.data = ctx;
		ctx->sweep_on = 1;
	}
	if (!uv_is_active((uv_handle_t *)&ctx->sweep))
		uv_timer_start(&ctx->sweep, aws_context_sweep_cb,
		    AWS_CONTEXT_SWEEP_MS, AWS_CONTEXT_SWEEP_MS);
	return (1);
}

struct aws_context_hold {
	struct aws_context_gen *gen;
};

struct aws_context_hold *
aws_context_hold(struct aws_context *ctx)
{
	struct aws_context_hold *h;

	h = xcalloc(1, sizeof *h);
	h->gen = ctx->gen;
	h->gen->holds++;
	return (h);
}

void
aws_context_release(struct aws_context_hold *h)
{
	if (h == NULL)
		return;
	if (--h->gen->holds == 0 && h->gen->orphan)
		free(h->gen);
	free(h);
}

struct aws_client *
aws_context_hold_client(struct aws_context_hold *h)
{
	return (h->gen->client);
}

struct aws_client *
aws_context_client(struct aws_context *ctx)
{
	return (ctx->gen->client);
}

struct http_client *
aws_context_http(struct aws_context *ctx)
{
	return (ctx->http);
}

struct aws_creds *
aws_context_host_creds(struct aws_context *ctx)
{
	return (ctx->gen->host);
}

const char *
aws_context_region(struct aws_context *ctx)
{
	return (ctx->gen->region);
}

const char *
aws_context_env_region(struct aws_context *ctx,
    const struct config_environment	  *env)
{
	return (env->region != NULL ? env->region : ctx->gen->region);
}

/* "shipgate-billing-stg", cut to STS's 64 characters. */
static char *
aws_context_session_name(const struct config_app *app,
    const struct config_environment		 *env)
{
	char *name, *p;

	name = xasprintf("shipgate-%s-%s", app->name, env->name);
	if (strlen(name) > 64)
		name[64] = '\0';
	for (p = name; *p != '\0'; p++)
		if (strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789_+=,.@-",
			*p) == NULL)
			*p = '-';
	return (name);
}

struct aws_creds *
aws_context_env_creds(struct aws_context *ctx, const struct config_app *app,
    const struct config_environment *env, char **cause)
{
	struct aws_creds_role_options ro;
	struct aws_context_role	     *role;
	struct aws_creds	     *creds;
	struct aws_context_gen	     *gen = ctx->gen;
	const char		     *region;
	char			     *key, *session, *source;
	size_t			      i;

	region = aws_context_env_region(ctx, env);
	key = xasprintf("%s\n%s\n%s", env->role_arn,
	    env->external_id != NULL ? env->external_id : "", region);
	for (i = 0; i < gen->nroles; i++)
		if (strcmp(gen->roles[i].key, key) == 0) {
			free(key);
			return (gen->roles[i].creds);
		}
	session = aws_context_session_name(app, env);
	source = xasprintf("role %s", env->role_arn);
	memset(&ro, 0, sizeof ro);
	ro.role_arn = env->role_arn;
	ro.external_id = env->external_id;
	ro.session_name = session;
	ro.region = region;
	ro.source = source;
	creds = aws_creds_role_new(gen->client, gen->host, &ro, cause);
	free(session);
	free(source);
	if (creds == NULL) {
		free(key);
		return (NULL);
	}
	gen->roles = xreallocarray(gen->roles, gen->nroles + 1,
	    sizeof *gen->roles);
	role = &gen->roles[gen->nroles++];
	role->key = key;
	role->creds = creds;
	return (creds);
}

static void
aws_context_closed(struct aws_context *ctx)
{
	void (*cb)(void *) = ctx->close_cb;
	void *cb_arg = ctx->close_arg;

	if (--ctx->closing > 0)
		return;
	free(ctx);
	if (cb != NULL)
		cb(cb_arg);
}

static void
aws_context_http_closed_cb(void *arg)
{
	aws_context_closed(arg);
}

static void
aws_context_sweep_closed_cb(uv_handle_t *handle)
{
	aws_context_closed(handle->data);
}

void
aws_context_close(struct aws_context *ctx, void (*cb)(void *), void *arg)
{
	struct aws_context_gen *gen;

	ctx->close_cb = cb;
	ctx->close_arg = arg;
	if (ctx->gen != NULL)
		aws_context_gen_free(ctx->gen);
	ctx->gen = NULL;
	while ((gen = ctx->retired) != NULL) {
		ctx->retired = gen->next;
		aws_context_gen_free(gen);
	}
	ctx->closing = 1;
	if (ctx->sweep_on) {
		ctx->closing++;
		uv_close((uv_handle_t *)&ctx->sweep,
		    aws_context_sweep_closed_cb);
	}
	http_client_close(ctx->http, aws_context_http_closed_cb, ctx);
}
