/*
 * ECR (JSON 1.1): what image promotion needs from a registry's API: a
 * login for the registry's OCI endpoint, manifests by tag or digest,
 * and which layers a repository already holds.  A DescribeImages reply
 * has a reader but no call: shipgated does not sign DescribeImages (not
 * in --list-operations, so no policy grants it).
 *
 * Calls.  Every ecr_* call with a callback either fails synchronously
 * (returns NULL with *cause set, the callback never called) or returns
 * the operation (aws-op.h: aws_op_cancel until the callback) and calls
 * its callback exactly once, from a later loop iteration.
 * creds and region may be NULL for the client's own; registry_id may be
 * NULL for the caller's account; inputs are copied.  The callback gets
 * the last call's aws_reply (error, status, aws, message, request_id)
 * and, on success only, a result it owns and frees with the matching
 * _free function.  A reply that cannot be read gives AWS_EREPLY.
 *
 * The registry password is a secret: it is never logged and
 * ecr_auth_free wipes it.
 */
#ifndef SHIPGATE_SVC_ECR_H
#define SHIPGATE_SVC_ECR_H

#include <stddef.h>
#include <time.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const ecr_operations[];

/* GetAuthorizationToken, decoded. */
struct ecr_auth {
	char	       *username;	/* "AWS" */
	char	       *password;	/* secret */
	char	       *proxy_endpoint; /* https://ACCOUNT.dkr.ecr... */
	struct timespec expires;
};

/* An image named by tag or digest (one may be NULL). */
struct ecr_image_id {
	const char *tag;
	const char *digest;
};

struct ecr_image {
	char *registry_id;
	char *repository;
	char *tag; /* NULL when asked by digest */
	char *digest;
	char *manifest;	  /* the manifest's exact text */
	char *media_type; /* imageManifestMediaType */
};

/* An image or layer ECR could not give. */
struct ecr_failure {
	char *tag;    /* images; NULL when none */
	char *digest; /* image or layer digest */
	char *code;   /* ImageNotFound, ... */
	char *reason;
};

struct ecr_image_list {
	struct ecr_image   *v;
	size_t		    n;
	struct ecr_failure *failures;
	size_t		    nfailures;
};

struct ecr_image_detail {
	char	       *registry_id;
	char	       *repository;
	char	       *digest;
	char	      **tags;
	size_t		ntags;
	long long	size; /* imageSizeInBytes */
	struct timespec pushed;
	char	       *media_type; /* NULL when absent */
};

struct ecr_image_detail_list {
	struct ecr_image_detail *v;
	size_t			 n;
};

struct ecr_layer {
	char	 *digest;
	int	  available; /* layerAvailability is
						   AVAILABLE */
	long long size;
	char	 *media_type; /* NULL when absent */
};

struct ecr_layer_list {
	struct ecr_layer   *v;
	size_t		    n;
	struct ecr_failure *failures; /* MissingLayerDigest, ... */
	size_t		    nfailures;
};

typedef void (
    *ecr_auth_cb)(const struct aws_reply *, struct ecr_auth *, void *arg);
typedef void (*ecr_image_list_cb)(const struct aws_reply *,
    struct ecr_image_list *, void *arg);
typedef void (*ecr_layer_list_cb)(const struct aws_reply *,
    struct ecr_layer_list *, void *arg);

struct aws_op *ecr_get_authorization_token(struct aws_client *,
    struct aws_creds *, const char *region, ecr_auth_cb, void *arg,
    char **cause);
/*
 * Manifests of nids images; media_types (NULL-terminated, may be NULL)
 * are the accepted manifest types.  Images that are not there come back
 * as failures, not as an error.
 */
struct aws_op *ecr_batch_get_image(struct aws_client *, struct aws_creds *,
    const char *region, const char *registry_id, const char *repository,
    const struct ecr_image_id *, size_t nids, const char *const *media_types,
    ecr_image_list_cb, void *arg, char **cause);
struct aws_op *ecr_batch_check_layer_availability(struct aws_client *,
    struct aws_creds *, const char *region, const char *registry_id,
    const char *repository, const char *const *digests, size_t n,
    ecr_layer_list_cb, void *arg, char **cause);

void ecr_auth_free(struct ecr_auth *);
void ecr_image_list_free(struct ecr_image_list *);
void ecr_image_detail_list_free(struct ecr_image_detail_list *);
void ecr_layer_list_free(struct ecr_layer_list *);

/* Pure readers of one reply (the fuzzer and tests use them too). */
int ecr_parse_authorization_token(struct ecr_auth *, const void *, size_t,
    char **cause);
int ecr_parse_images(struct ecr_image_list *, const void *, size_t,
    char **cause);
int ecr_parse_image_details(struct ecr_image_detail_list *, const void *,
    size_t, char **next_token, char **cause);
int ecr_parse_layers(struct ecr_layer_list *, const void *, size_t,
    char **cause);

/*
 * Strict base64 (RFC 4648, padding required): the decoded bytes,
 * NUL-terminated, in a buffer the caller wipes and frees, or NULL.
 */
char *ecr_base64_decode(const char *, size_t *lenp);

#endif
