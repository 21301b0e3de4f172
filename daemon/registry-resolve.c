/*
 * A release's images resolved to digests in the app's registry
 * (registry-resolve.h): ECR's BatchGetImage for an ECR host, the OCI
 * manifest for any other, one image after another.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "aws-op.h"
#include "buf.h"
#include "config.h"
#include "registry-ecr.h"
#include "registry-resolve.h"
#include "registry.h"
#include "svc-ecr.h"
#include "xmalloc.h"

/* An image asked for, owned. */
struct resolve_name {
	char *repository;
	char *tag; /* NULL: by digest */
	char *digest;
};

struct registry_resolve {
	struct aws_context_hold *aws;
	char			*host;
	/* ECR's API (api) or the OCI registry (reg, logged in with ecr). */
	int		     api;
	struct aws_creds    *creds;
	char		     account[REGISTRY_ECR_ACCOUNT_SIZE];
	char		     region[REGISTRY_ECR_REGION_SIZE];
	struct registry	    *reg;
	struct registry_ecr *ecr; /* NULL: no login needed */

	struct resolve_name  *in;
	struct resolve_image *out;
	size_t		      n, next;

	struct aws_op	     *op; /* in flight, or */
	struct registry_call *call;
	int		      logging_in;
	int		      cancelled;

	resolve_cb cb;
	void	  *arg;
};

static const char *const resolve_types[] = { REGISTRY_MT_OCI_INDEX,
	REGISTRY_MT_OCI_MANIFEST, REGISTRY_MT_DOCKER_LIST,
	REGISTRY_MT_DOCKER_MANIFEST, NULL };

static void resolve_next(struct registry_resolve *);

static void
resolve_free(struct registry_resolve *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->in[i].repository);
		free(rs->in[i].tag);
		free(rs->in[i].digest);
		free(rs->out[i].digest);
		free(rs->out[i].media_type);
		free(rs->out[i].platforms);
	}
	free(rs->in);
	free(rs->out);
	registry_free(rs->reg);
	registry_ecr_free(rs->ecr);
	aws_context_release(rs->aws);
	free(rs->host);
	free(rs);
}

static void
resolve_finish(struct registry_resolve *rs, int error, const char *reason)
{
	struct resolve_result res;

	memset(&res, 0, sizeof res);
	res.error = rs->cancelled ? RESOLVE_ECANCELLED : error;
	res.reason = res.error == 0 ? NULL :
		     reason != NULL ? reason :
				      "cancelled";
	res.images = rs->out;
	res.n = rs->n;
	rs->cb(&res, rs->arg);
	resolve_free(rs);
}

/* "billing/web:1.4.2" or "billing/web@sha256:...". */
static char *
resolve_label(const struct resolve_name *im)
{
	if (im->tag != NULL)
		return (xasprintf("%s:%s", im->repository, im->tag));
	return (xasprintf("%s@%s", im->repository, im->digest));
}

static void
resolve_failf(struct registry_resolve *rs, int error, const char *what)
{
	char *name, *reason;

	name = resolve_label(&rs->in[rs->next]);
	reason = xasprintf("image %s %s %s: %s", name,
	    error == RESOLVE_EMISSING ? "is not in" : "could not be read from",
	    rs->host, what);
	resolve_finish(rs, error, reason);
	free(reason);
	free(name);
}

/* Records the image found; 0, or -1 when the answer does not fit. */
static int
resolve_found(struct registry_resolve *rs, const char *digest,
    const char *media_type, const void *manifest, size_t len)
{
	const struct resolve_name *im = &rs->in[rs->next];
	struct resolve_image	  *out = &rs->out[rs->next];
	char			   computed[REGISTRY_DIGEST_SIZE];

	if (manifest != NULL) {
		/* The manifest's own digest, whatever the reply claims. */
		registry_digest(manifest, len, computed);
		if (digest != NULL && strcmp(digest, computed) != 0) {
			resolve_failf(rs, RESOLVE_EFAIL,
			    "the manifest's digest "
			    "differs from the one the registry gave");
			return (-1);
		}
		digest = computed;
	}
	if (digest == NULL || !registry_valid_digest(digest)) {
		resolve_failf(rs, RESOLVE_EFAIL,
		    "no usable digest in the reply");
		return (-1);
	}
	if (im->digest != NULL && strcmp(im->digest, digest) != 0) {
		resolve_failf(rs, RESOLVE_EFAIL,
		    "the registry gave another "
		    "digest for it");
		return (-1);
	}
	out->found = 1;
	out->digest = xstrdup(digest);
	out->media_type = media_type != NULL ? xstrdup(media_type) : NULL;
	if (manifest != NULL && media_type != NULL)
		out->platforms = registry_resolve_platforms(manifest, len,
		    media_type);
	rs->next++;
	return (0);
}

/* --- ECR's API ----------------------------------------------------------- */

static void
resolve_ecr_cb(const struct aws_reply *reply, struct ecr_image_list *l,
    void *arg)
{
	struct registry_resolve *rs = arg;
	const struct ecr_image	*img;
	char			*what;

	rs->op = NULL;
	if (rs->cancelled || reply->error == AWS_ECANCELLED) {
		rs->cancelled = 1;
		resolve_finish(rs, RESOLVE_ECANCELLED, NULL);
		goto out;
	}
	if (reply->error == AWS_EAWS &&
	    strcmp(reply->aws.code, "RepositoryNotFoundException") == 0) {
		what = xasprintf("no repository %s (%s)",
		    rs->in[rs->next].repository, reply->message);
		resolve_failf(rs, RESOLVE_EMISSING, what);
		free(what);
		goto out;
	}
	if (reply->error != AWS_OK || l == NULL) {
		resolve_failf(rs, RESOLVE_EFAIL,
		    reply->message != NULL ? reply->message :
					     "ECR BatchGetImage failed");
		goto out;
	}
	if (l->n == 0) {
		if (l->nfailures > 0) {
			what = xasprintf("ECR BatchGetImage: %s: %s",
			    l->failures[0].code != NULL ? l->failures[0].code :
							  "failure",
			    l->failures[0].reason != NULL ?
				l->failures[0].reason :
				"");
			/* Only "not there" makes a release invalid. */
			resolve_failf(rs,
			    l->failures[0].code != NULL &&
				    (strcmp(l->failures[0].code,
					 "ImageNotFound") == 0 ||
					strcmp(l->failures[0].code,
					    "ImageTagDoesNotMatchDigest") ==
					    0) ?
				RESOLVE_EMISSING :
				RESOLVE_EFAIL,
			    what);
			free(what);
		} else
			resolve_failf(rs, RESOLVE_EFAIL,
			    "ECR BatchGetImage "
			    "returned neither the image nor a failure");
		goto out;
	}
	img = &l->v[0];
	if (img->manifest == NULL) {
		resolve_failf(rs, RESOLVE_EFAIL,
		    "ECR BatchGetImage returned "
		    "no manifest");
		goto out;
	}
	if (resolve_found(rs, img->digest, img->media_type, img->manifest,
		strlen(img->manifest)) == 0)
		resolve_next(rs);
out:
	ecr_image_list_free(l);
}

static int
resolve_ecr_start(struct registry_resolve *rs, char **cause)
{
	const struct resolve_name *im = &rs->in[rs->next];
	struct ecr_image_id	   id;

	id.tag = im->tag;
	id.digest = im->digest;
	rs->op = ecr_batch_get_image(aws_context_hold_client(rs->aws),
	    rs->creds, rs->region, rs->account, im->repository, &id, 1,
	    resolve_types, resolve_ecr_cb, rs, cause);
	return (rs->op != NULL ? 0 : -1);
}

/* --- An OCI registry ----------------------------------------------------- */

static void
resolve_oci_cb(struct registry_call *call, const struct registry_reply *rep,
    void *arg)
{
	struct registry_resolve *rs = arg;

	(void)call;
	rs->call = NULL;
	if (rs->cancelled || rep->error == REGISTRY_ECANCELLED) {
		rs->cancelled = 1;
		resolve_finish(rs, RESOLVE_ECANCELLED, NULL);
		return;
	}
	if (rep->error == REGISTRY_ENOTFOUND) {
		resolve_failf(rs, RESOLVE_EMISSING,
		    rep->message != NULL ? rep->message : "404 not found");
		return;
	}
	if (rep->error != REGISTRY_OK) {
		resolve_failf(rs, RESOLVE_EFAIL,
		    rep->message != NULL ? rep->message :
					   registry_strerror(rep->error));
		return;
	}
	if (resolve_found(rs, rep->digest, rep->content_type, rep->body,
		rep->body_len) == 0)
		resolve_next(rs);
}

static int
resolve_oci_start(struct registry_resolve *rs, char **cause)
{
	const struct resolve_name *im = &rs->in[rs->next];

	rs->call = registry_manifest_get(rs->reg, im->repository,
	    im->tag != NULL ? im->tag : im->digest, resolve_oci_cb, rs, cause);
	return (rs->call != NULL ? 0 : -1);
}

static void
resolve_login_cb(int error, const char *message,
    const struct registry_ecr_login *login, void *arg)
{
	struct registry_resolve *rs = arg;
	char			*what;

	rs->logging_in = 0;
	if (rs->cancelled) {
		resolve_finish(rs, RESOLVE_ECANCELLED, NULL);
		return;
	}
	if (error != 0 || login == NULL) {
		what = xasprintf("ECR login (GetAuthorizationToken) failed: %s",
		    message != NULL ? message : "no login");
		resolve_failf(rs, RESOLVE_EFAIL, what);
		free(what);
		return;
	}
	registry_ecr_apply(login, rs->reg);
	registry_ecr_free(rs->ecr);
	rs->ecr = NULL;
	resolve_next(rs);
}

/* --- The images ---------------------------------------------------------- */

static void
resolve_next(struct registry_resolve *rs)
{
	char *cause = NULL;
	int   rc;

	if (rs->next == rs->n) {
		resolve_finish(rs, RESOLVE_OK, NULL);
		return;
	}
	if (rs->api)
		rc = resolve_ecr_start(rs, &cause);
	else
		rc = resolve_oci_start(rs, &cause);
	if (rc != 0) {
		resolve_failf(rs, RESOLVE_EFAIL, cause);
		free(cause);
	}
}

/* The credentials for an ECR account: its environment's role, else the
   host's (as engine-promote.c). */
static struct aws_creds *
resolve_creds(struct aws_context *aws, const struct config_app *app,
    const struct config_environment *env, const char *account, char **cause)
{
	size_t i;

	if (env != NULL && env->account != NULL &&
	    strcmp(env->account, account) == 0)
		return (aws_context_env_creds(aws, app, env, cause));
	for (i = 0; i < app->nenvironments; i++) {
		env = &app->environments[i];
		if (env->account != NULL && strcmp(env->account, account) == 0)
			return (aws_context_env_creds(aws, app, env, cause));
	}
	return (aws_context_host_creds(aws));
}

struct registry_resolve *
registry_resolve_start(struct aws_context *aws, const struct config *config,
    const struct config_app *app, const struct config_environment *env,
    const char *host, const struct resolve_image_in *in, size_t n,
    resolve_cb cb, void *arg, char **cause)
{
	struct registry_resolve	     *rs;
	const struct config_registry *cr;
	struct registry_options	      o;
	char			     *url, *why = NULL;
	int			      ecr;
	size_t			      i;

	if (n == 0 || host == NULL) {
		*cause = xstrdup("no image or no registry to resolve");
		return (NULL);
	}
	rs = xcalloc(1, sizeof *rs);
	rs->aws = aws_context_hold(aws);
	rs->host = xstrdup(host);
	rs->cb = cb;
	rs->arg = arg;
	rs->n = n;
	rs->in = xcalloc(n, sizeof *rs->in);
	rs->out = xcalloc(n, sizeof *rs->out);
	for (i = 0; i < n; i++) {
		rs->in[i].repository = xstrdup(in[i].repository);
		rs->in[i].tag = in[i].tag != NULL ? xstrdup(in[i].tag) : NULL;
		rs->in[i].digest = in[i].tag == NULL && in[i].digest != NULL ?
				       xstrdup(in[i].digest) :
				       NULL;
		if (rs->in[i].tag == NULL && rs->in[i].digest == NULL) {
			*cause = xasprintf("image %s has neither a tag nor a "
					   "digest",
			    in[i].repository);
			goto fail;
		}
	}
	ecr = registry_ecr_host(host, rs->account, rs->region);
	cr = config_find_registry(config, host);
	if (ecr && cr == NULL)
		rs->api = 1;
	else if (cr != NULL && cr->username != NULL) {
		if ((rs->reg = registry_new_config(aws_context_http(aws), cr,
			 &why)) == NULL)
			goto fail_why;
		ecr = 0;
	} else {
		memset(&o, 0, sizeof o);
		url = cr != NULL ? xstrdup(cr->url) :
				   xasprintf("https://%s", host);
		o.url = url;
		rs->reg = registry_new(aws_context_http(aws), &o, &why);
		free(url);
		if (rs->reg == NULL)
			goto fail_why;
	}
	if (ecr && (rs->creds = resolve_creds(aws, app, env, rs->account,
			&why)) == NULL)
		goto fail_why;
	if (ecr && !rs->api) {
		rs->ecr = registry_ecr_new(aws_context_hold_client(rs->aws), 0);
		rs->logging_in = 1;
		if (registry_ecr_login(rs->ecr, rs->creds, rs->region,
			resolve_login_cb, rs, &why) != 0)
			goto fail_why;
		return (rs);
	}
	if ((rs->api ? resolve_ecr_start(rs, &why) :
		       resolve_oci_start(rs, &why)) != 0)
		goto fail_why;
	return (rs);

fail_why:
	*cause = xasprintf("registry %s: %s", host, why);
	free(why);
fail:
	resolve_free(rs);
	return (NULL);
}

void
registry_resolve_cancel(struct registry_resolve *rs)
{
	rs->cancelled = 1;
	if (rs->op != NULL)
		aws_op_cancel(rs->op);
	else if (rs->call != NULL)
		registry_call_cancel(rs->call);
	/* A login in flight ends by itself; its callback sees cancelled. */
}

/* --- Pure ---------------------------------------------------------------- */

char *
registry_resolve_platforms(const void *data, size_t len, const char *media_type)
{
	json_t	   *doc, *list, *d, *p;
	const char *os, *arch, *variant;
	struct buf  b;
	size_t	    i;
	char	   *s = NULL;

	if (strcmp(media_type, REGISTRY_MT_OCI_INDEX) != 0 &&
	    strcmp(media_type, REGISTRY_MT_DOCKER_LIST) != 0)
		return (NULL);
	if ((doc = json_loadb(data, len, 0, NULL)) == NULL)
		return (NULL);
	list = json_object_get(doc, "manifests");
	buf_init(&b, 4096);
	json_array_foreach(list, i, d) {
		p = json_object_get(d, "platform");
		os = json_string_value(json_object_get(p, "os"));
		arch = json_string_value(json_object_get(p, "architecture"));
		variant = json_string_value(json_object_get(p, "variant"));
		/* Attestations ("unknown/unknown") are not platforms. */
		if (os == NULL || arch == NULL || strcmp(os, "unknown") == 0)
			continue;
		if (variant != NULL)
			buf_printf(&b, "%s%s/%s/%s", b.len > 0 ? ", " : "", os,
			    arch, variant);
		else
			buf_printf(&b, "%s%s/%s", b.len > 0 ? ", " : "", os,
			    arch);
	}
	json_decref(doc);
	if (b.len > 0)
		s = buf_take(&b, NULL);
	buf_free(&b);
	return (s);
}
