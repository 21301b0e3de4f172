/*
 * What a release's images are, read once from the app's registry: each
 * image (repository:tag or repository@digest) resolved to the digest of
 * its manifest, with its media type and, for an index (a multi-platform
 * image), its platforms.  Intake pins a release's images with it, and
 * the engine reads the tags again to tell whether one moved since.
 *
 * How a registry is asked (as promotion reaches it, engine-promote.c):
 * - an ECR host (ACCOUNT.dkr.ecr.REGION.amazonaws.com) without a
 *   `registries:` entry: ECR's BatchGetImage in that account, with the
 *   credentials of the app's environment in that account (the role
 *   aws-context assumes), else the host's;
 * - any other host, or an ECR host a `registries:` entry maps to a URL:
 *   the manifest over the OCI distribution API (registry.h), with the
 *   entry's credentials, or an ECR login (GetAuthorizationToken) for an
 *   ECR host.
 *
 * Images are asked one after another.  The result says, per image, its
 * digest, or that it is missing (the repository or the tag is not
 * there: the release is invalid, and reason names the image); any other
 * failure (the registry unreachable, credentials refused, throttling)
 * is RESOLVE_EFAIL: nothing can be said about the release yet.
 *
 * registry_resolve_start either fails synchronously (NULL, *cause set,
 * no callback) or calls its callback exactly once from a later loop
 * iteration; the resolve is freed when the callback returns.
 */
#ifndef SHIPGATE_REGISTRY_RESOLVE_H
#define SHIPGATE_REGISTRY_RESOLVE_H

#include <stddef.h>

struct aws_context;
struct config;
struct config_app;
struct config_environment;
struct registry_resolve;

#define RESOLVE_OK 0
#define RESOLVE_EMISSING \
	(-1)			/* an image or repository is not
					   there */
#define RESOLVE_EFAIL	   (-2) /* could not tell: try again */
#define RESOLVE_ECANCELLED (-3)

struct resolve_image_in {
	const char *repository;
	const char *tag;    /* NULL: by digest */
	const char *digest; /* NULL: by tag */
};

struct resolve_image {
	int   found;
	char *digest;	  /* "sha256:<hex>"; NULL unless found */
	char *media_type; /* NULL when the registry gave none */
	/* "linux/amd64, linux/arm64/v8" for an index; NULL otherwise. */
	char *platforms;
};

struct resolve_result {
	int error; /* RESOLVE_* */
	/* NULL on success; names the image, the registry and what it said
	   ("image billing/web:1.4.9 is not in 1111....amazonaws.com:
	   ImageNotFound: ..."). */
	const char		   *reason;
	const struct resolve_image *images; /* n, in the order given */
	size_t			    n;
};

typedef void (*resolve_cb)(const struct resolve_result *, void *arg);

/*
 * Resolves n images of app's registry `host`.  env, when not NULL, is
 * the environment whose credentials are tried first for an ECR account.
 * Inputs are copied; config, app and env are used only during the call.
 */
struct registry_resolve *registry_resolve_start(struct aws_context *,
    const struct config *, const struct config_app *,
    const struct config_environment *, const char *host,
    const struct resolve_image_in *, size_t n, resolve_cb, void *arg,
    char **cause);
/* The callback still comes, from a later loop iteration, with
   RESOLVE_ECANCELLED. */
void registry_resolve_cancel(struct registry_resolve *);

/*
 * Pure.  The platforms of an index or manifest list ("os/arch[/variant]"
 * joined with ", "), or NULL when media_type is not an index or it names
 * none.  Unreadable JSON is NULL too.
 */
char *registry_resolve_platforms(const void *, size_t, const char *media_type);

#endif
