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
	char		*key;		/* role_arn \n external_id \n region */
	struct aws_creds *creds;
};

struct aws_context {
	uv_loop_t		*loop;
	struct http_client	*http;
	struct aws_client	*sts_client;	/* no default credentials:
						   the chain's own calls */
	struct aws_client	*client;
	struct aws_creds	*host;
	char			*region;
	struct config_endpoint	*endpoints;	/* copied: reloads free the
						   configuration */
	size_t			 nendpoints;
	struct aws_context_role	*roles;
	size_t			 nroles;

	void			(*close_cb)(void *);
	void			*close_arg;
};

static const char *
aws_context_endpoint_cb(const char *service, void *arg)
{
	struct aws_context	*ctx = arg;
	size_t			 i;

	for (i = 0; i < ctx->nendpoints; i++)
		if (strcmp(ctx->endpoints[i].service, service) == 0)
			return (ctx->endpoints[i].url);
	return (NULL);
}

struct aws_context *
aws_context_new(uv_loop_t *loop, const struct config *config, char **cause)
{
	struct aws_context		*ctx;
	struct aws_client_options	 opts;
	struct aws_creds_chain_options	 chain;
	size_t				 i;

	ctx = xcalloc(1, sizeof *ctx);
	ctx->loop = loop;
	ctx->region = xstrdup(config->aws.region);
	if (config->aws.nendpoints > 0) {
		ctx->endpoints = xcalloc(config->aws.nendpoints,
		    sizeof *ctx->endpoints);
		for (i = 0; i < config->aws.nendpoints; i++) {
			ctx->endpoints[i].service =
			    xstrdup(config->aws.endpoints[i].service);
			ctx->endpoints[i].url =
			    xstrdup(config->aws.endpoints[i].url);
		}
		ctx->nendpoints = config->aws.nendpoints;
	}
	ctx->http = http_client_new(loop);

	memset(&opts, 0, sizeof opts);
	opts.region = config->aws.region;
	opts.max_attempts = config->aws.max_attempts;
	opts.endpoint_override = aws_context_endpoint_cb;
	opts.endpoint_arg = ctx;
	ctx->sts_client = aws_client_new(loop, ctx->http, NULL, &opts);

	memset(&chain, 0, sizeof chain);
	chain.loop = loop;
	chain.http = ctx->http;
	chain.sts_client = ctx->sts_client;
	chain.session_name = "shipgate";
	if ((ctx->host = aws_creds_chain_new(&chain, cause)) == NULL) {
		aws_client_free(ctx->sts_client);
		ctx->sts_client = NULL;
		aws_context_close(ctx, NULL, NULL);
		return (NULL);
	}
	ctx->client = aws_client_new(loop, ctx->http, ctx->host, &opts);
	return (ctx);
}

struct aws_client *
aws_context_client(struct aws_context *ctx)
{
	return (ctx->client);
}

struct http_client *
aws_context_http(struct aws_context *ctx)
{
	return (ctx->http);
}

struct aws_creds *
aws_context_host_creds(struct aws_context *ctx)
{
	return (ctx->host);
}

const char *
aws_context_region(struct aws_context *ctx)
{
	return (ctx->region);
}

const char *
aws_context_env_region(struct aws_context *ctx,
    const struct config_environment *env)
{
	return (env->region != NULL ? env->region : ctx->region);
}

/* "shipgate-billing-stg", cut to STS's 64 characters. */
static char *
aws_context_session_name(const struct config_app *app,
    const struct config_environment *env)
{
	char	*name, *p;

	name = xasprintf("shipgate-%s-%s", app->name, env->name);
	if (strlen(name) > 64)
		name[64] = '\0';
	for (p = name; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_+=,.@-", *p) == NULL)
			*p = '-';
	return (name);
}

struct aws_creds *
aws_context_env_creds(struct aws_context *ctx, const struct config_app *app,
    const struct config_environment *env, char **cause)
{
	struct aws_creds_role_options	 ro;
	struct aws_context_role		*role;
	struct aws_creds		*creds;
	const char			*region;
	char				*key, *session, *source;
	size_t				 i;

	region = aws_context_env_region(ctx, env);
	key = xasprintf("%s\n%s\n%s", env->role_arn,
	    env->external_id != NULL ? env->external_id : "", region);
	for (i = 0; i < ctx->nroles; i++)
		if (strcmp(ctx->roles[i].key, key) == 0) {
			free(key);
			return (ctx->roles[i].creds);
		}
	session = aws_context_session_name(app, env);
	source = xasprintf("role %s", env->role_arn);
	memset(&ro, 0, sizeof ro);
	ro.role_arn = env->role_arn;
	ro.external_id = env->external_id;
	ro.session_name = session;
	ro.region = region;
	ro.source = source;
	creds = aws_creds_role_new(ctx->client, ctx->host, &ro, cause);
	free(session);
	free(source);
	if (creds == NULL) {
		free(key);
		return (NULL);
	}
	ctx->roles = xreallocarray(ctx->roles, ctx->nroles + 1,
	    sizeof *ctx->roles);
	role = &ctx->roles[ctx->nroles++];
	role->key = key;
	role->creds = creds;
	return (creds);
}

static void
aws_context_http_closed_cb(void *arg)
{
	struct aws_context	*ctx = arg;
	void			(*cb)(void *) = ctx->close_cb;
	void			*cb_arg = ctx->close_arg;
	size_t			 i;

	for (i = 0; i < ctx->nendpoints; i++) {
		free(ctx->endpoints[i].service);
		free(ctx->endpoints[i].url);
	}
	free(ctx->endpoints);
	free(ctx->region);
	free(ctx);
	if (cb != NULL)
		cb(cb_arg);
}

void
aws_context_close(struct aws_context *ctx, void (*cb)(void *), void *arg)
{
	size_t	i;

	ctx->close_cb = cb;
	ctx->close_arg = arg;
	/* Roles first: they hold calls on the client and the host's keys. */
	for (i = 0; i < ctx->nroles; i++) {
		aws_creds_free(ctx->roles[i].creds);
		free(ctx->roles[i].key);
	}
	free(ctx->roles);
	ctx->roles = NULL;
	ctx->nroles = 0;
	if (ctx->client != NULL)
		aws_client_free(ctx->client);
	aws_creds_free(ctx->host);
	if (ctx->sts_client != NULL)
		aws_client_free(ctx->sts_client);
	http_client_close(ctx->http, aws_context_http_closed_cb, ctx);
}
