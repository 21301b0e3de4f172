/*
 * ECR: authorization tokens, manifests and layer availability, as JSON
 * 1.1 requests and typed replies; the reader of a DescribeImages reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws-op.h"
#include "json.h"
#include "log.h"
#include "svc-ecr.h"
#include "xmalloc.h"

#define ECR_STR(doc, dst, ...)                           \
	do {                                             \
		const char *s_ = NULL;                   \
		json_str_opt((doc), &s_, __VA_ARGS__);   \
		(dst) = s_ != NULL ? xstrdup(s_) : NULL; \
	} while (0)

#define ECR_STR_REQ(doc, dst, ...)                          \
	do {                                                \
		const char *s_ = NULL;                      \
		if (json_str((doc), &s_, __VA_ARGS__) == 0) \
			(dst) = xstrdup(s_);                \
	} while (0)

/* Base64. */

static int
ecr_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

char *
ecr_base64_decode(const char *s, size_t *lenp)
{
	size_t	       n = strlen(s), i, o = 0, pad = 0;
	unsigned char *out;
	int	       v[4], k;

	if (n % 4 != 0)
		return (NULL);
	out = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = ecr_b64_value(s[i + k])) < 0)
				goto bad;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 |
						   v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	out[o] = '\0';
	if (lenp != NULL)
		*lenp = o;
	return ((char *)out);
bad:
	explicit_bzero(out, n / 4 * 3 + 1);
	free(out);
	return (NULL);
}

/* Readers. */

static int
ecr_load(struct json **doc, const void *data, size_t len, const char *operation,
    char **cause)
{
	char *what;
	int   rc;

	what = xasprintf("ECR %s reply", operation);
	rc = json_load(doc, data, len, NULL, what, cause);
	free(what);
	return (rc);
}

static int
ecr_done(struct json *doc, char **cause)
{
	int rc = 0;

	if (json_error(doc) != NULL) {
		*cause = xstrdup(json_error(doc));
		rc = -1;
	}
	json_free(doc);
	return (rc);
}

int
ecr_parse_authorization_token(struct ecr_auth *a, const void *data, size_t len,
    char **cause)
{
	struct json *doc;
	const char  *token = NULL;
	char	    *plain = NULL, *colon;
	size_t	     n = 0, plen;

	if (ecr_load(&doc, data, len, "GetAuthorizationToken", cause) != 0)
		return (-1);
	json_arr(doc, &n, "authorizationData");
	if (json_error(doc) == NULL && n == 0)
		json_fail(doc, "ECR GetAuthorizationToken reply: "
			       "authorizationData: empty");
	if (json_error(doc) == NULL) {
		json_str(doc, &token,
		    "authorizationData[0]."
		    "authorizationToken");
		ECR_STR(doc, a->proxy_endpoint,
		    "authorizationData[0].proxyEndpoint");
		json_time_opt(doc, &a->expires,
		    "authorizationData[0].expiresAt");
	}
	if (token != NULL) {
		plain = ecr_base64_decode(token, &plen);
		if (plain == NULL || strlen(plain) != plen ||
		    (colon = strchr(plain, ':')) == NULL)
			json_fail(doc,
			    "ECR GetAuthorizationToken reply: "
			    "authorizationData[0].authorizationToken: not "
			    "base64 of \"user:password\"");
		else {
			a->username = xstrndup(plain, (size_t)(colon - plain));
			a->password = xstrdup(colon + 1);
		}
		if (plain != NULL) {
			explicit_bzero(plain, strlen(plain));
			free(plain);
		}
	}
	/* The token text lives in the document: wipe it with the rest. */
	json_wipe_str(doc, token);
	return (ecr_done(doc, cause));
}

static void
ecr_parse_failures(struct json *doc, struct ecr_failure **v, size_t *nv,
    int layers)
{
	struct ecr_failure *f;
	size_t		    n = 0, i;

	json_arr_opt(doc, &n, "failures");
	if (n == 0)
		return;
	*v = xreallocarray(*v, *nv + n, sizeof **v);
	for (i = 0; i < n; i++) {
		f = &(*v)[(*nv)++];
		memset(f, 0, sizeof *f);
		if (layers)
			ECR_STR(doc, f->digest, "failures[%zu].layerDigest", i);
		else {
			ECR_STR(doc, f->tag, "failures[%zu].imageId.imageTag",
			    i);
			ECR_STR(doc, f->digest,
			    "failures[%zu].imageId.imageDigest", i);
		}
		ECR_STR(doc, f->code, "failures[%zu].failureCode", i);
		ECR_STR(doc, f->reason, "failures[%zu].failureReason", i);
	}
}

int
ecr_parse_images(struct ecr_image_list *l, const void *data, size_t len,
    char **cause)
{
	struct json	 *doc;
	struct ecr_image *img;
	size_t		  n = 0, i;

	if (ecr_load(&doc, data, len, "BatchGetImage", cause) != 0)
		return (-1);
	json_arr_opt(doc, &n, "images");
	if (n > 0)
		l->v = xreallocarray(l->v, l->n + n, sizeof *l->v);
	for (i = 0; i < n; i++) {
		img = &l->v[l->n++];
		memset(img, 0, sizeof *img);
		ECR_STR(doc, img->registry_id, "images[%zu].registryId", i);
		ECR_STR(doc, img->repository, "images[%zu].repositoryName", i);
		ECR_STR(doc, img->tag, "images[%zu].imageId.imageTag", i);
		ECR_STR_REQ(doc, img->digest, "images[%zu].imageId.imageDigest",
		    i);
		ECR_STR_REQ(doc, img->manifest, "images[%zu].imageManifest", i);
		ECR_STR(doc, img->media_type,
		    "images[%zu].imageManifestMediaType", i);
	}
	ecr_parse_failures(doc, &l->failures, &l->nfailures, 0);
	return (ecr_done(doc, cause));
}

int
ecr_parse_image_details(struct ecr_image_detail_list *l, const void *data,
    size_t len, char **next_token, char **cause)
{
	struct json		*doc;
	struct ecr_image_detail *d;
	const char		*next = NULL;
	size_t			 n = 0, i, t, nt;
	int			 rc;

	*next_token = NULL;
	if (ecr_load(&doc, data, len, "DescribeImages", cause) != 0)
		return (-1);
	json_arr_opt(doc, &n, "imageDetails");
	if (n > 0)
		l->v = xreallocarray(l->v, l->n + n, sizeof *l->v);
	for (i = 0; i < n; i++) {
		d = &l->v[l->n++];
		memset(d, 0, sizeof *d);
		ECR_STR(doc, d->registry_id, "imageDetails[%zu].registryId", i);
		ECR_STR(doc, d->repository, "imageDetails[%zu].repositoryName",
		    i);
		ECR_STR_REQ(doc, d->digest, "imageDetails[%zu].imageDigest", i);
		ECR_STR(doc, d->media_type,
		    "imageDetails[%zu].imageManifestMediaType", i);
		json_int_opt(doc, &d->size,
		    "imageDetails[%zu].imageSizeInBytes", i);
		json_time_opt(doc, &d->pushed,
		    "imageDetails[%zu].imagePushedAt", i);
		nt = 0;
		json_arr_opt(doc, &nt, "imageDetails[%zu].imageTags", i);
		if (nt > 0)
			d->tags = xcalloc(nt, sizeof *d->tags);
		for (t = 0; t < nt; t++)
			ECR_STR_REQ(doc, d->tags[d->ntags++],
			    "imageDetails[%zu].imageTags[%zu]", i, t);
	}
	json_str_opt(doc, &next, "nextToken");
	if (next != NULL && *next != '\0')
		*next_token = xstrdup(next);
	if ((rc = ecr_done(doc, cause)) != 0) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

int
ecr_parse_layers(struct ecr_layer_list *l, const void *data, size_t len,
    char **cause)
{
	struct json	 *doc;
	struct ecr_layer *y;
	const char	 *avail;
	size_t		  n = 0, i;

	if (ecr_load(&doc, data, len, "BatchCheckLayerAvailability", cause) !=
	    0)
		return (-1);
	json_arr_opt(doc, &n, "layers");
	if (n > 0)
		l->v = xreallocarray(l->v, l->n + n, sizeof *l->v);
	for (i = 0; i < n; i++) {
		y = &l->v[l->n++];
		memset(y, 0, sizeof *y);
		ECR_STR_REQ(doc, y->digest, "layers[%zu].layerDigest", i);
		ECR_STR(doc, y->media_type, "layers[%zu].mediaType", i);
		json_int_opt(doc, &y->size, "layers[%zu].layerSize", i);
		avail = NULL;
		json_str_opt(doc, &avail, "layers[%zu].layerAvailability", i);
		y->available = avail != NULL && strcmp(avail, "AVAILABLE") == 0;
	}
	ecr_parse_failures(doc, &l->failures, &l->nfailures, 1);
	return (ecr_done(doc, cause));
}

/* Freeing. */

void
ecr_auth_free(struct ecr_auth *a)
{
	if (a == NULL)
		return;
	freezero_str(a->username);
	freezero_str(a->password);
	free(a->proxy_endpoint);
	explicit_bzero(a, sizeof *a);
	free(a);
}

static void
ecr_failures_free(struct ecr_failure *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].tag);
		free(v[i].digest);
		free(v[i].code);
		free(v[i].reason);
	}
	free(v);
}

void
ecr_image_list_free(struct ecr_image_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].registry_id);
		free(l->v[i].repository);
		free(l->v[i].tag);
		free(l->v[i].digest);
		free(l->v[i].manifest);
		free(l->v[i].media_type);
	}
	free(l->v);
	ecr_failures_free(l->failures, l->nfailures);
	free(l);
}

void
ecr_image_detail_list_free(struct ecr_image_detail_list *l)
{
	size_t i, t;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].registry_id);
		free(l->v[i].repository);
		free(l->v[i].digest);
		free(l->v[i].media_type);
		for (t = 0; t < l->v[i].ntags; t++)
			free(l->v[i].tags[t]);
		free(l->v[i].tags);
	}
	free(l->v);
	free(l);
}

void
ecr_layer_list_free(struct ecr_layer_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].digest);
		free(l->v[i].media_type);
	}
	free(l->v);
	ecr_failures_free(l->failures, l->nfailures);
	free(l);
}

/* The operations: one row each, the parsers adapted to the engine. */

AWS_OP_RESULT_ONE(ecr_auth, struct ecr_auth, ecr_parse_authorization_token,
    ecr_auth_free, ecr_auth_cb)
AWS_OP_RESULT_ONE(ecr_images, struct ecr_image_list, ecr_parse_images,
    ecr_image_list_free, ecr_image_list_cb)
AWS_OP_RESULT_ONE(ecr_layers, struct ecr_layer_list, ecr_parse_layers,
    ecr_layer_list_free, ecr_layer_list_cb)

/* The token's reply holds the registry password: wiped once read. */
static const struct aws_op_desc ecr_op_get_authorization_token = {
	&aws_service_ecr, "GetAuthorizationToken", &ecr_auth_result, NULL, NULL,
	1, { "ecr:GetAuthorizationToken", AWS_ACCOUNT_REGISTRY, "*" }
};
static const struct aws_op_desc ecr_op_batch_get_image = { &aws_service_ecr,
	"BatchGetImage", &ecr_images_result, NULL, NULL, 0,
	{ "ecr:BatchGetImage", AWS_ACCOUNT_REGISTRY, "repository" } };
static const struct aws_op_desc ecr_op_batch_check_layer_availability = {
	&aws_service_ecr, "BatchCheckLayerAvailability", &ecr_layers_result,
	NULL, NULL, 0,
	{ "ecr:BatchCheckLayerAvailability", AWS_ACCOUNT_REGISTRY,
	    "repository" }
};

/* The ECR registries are the registry account's (images are read from
   and copied into them): every row names it. */
const struct aws_op_desc *const ecr_operations[] = {
	&ecr_op_get_authorization_token, &ecr_op_batch_get_image,
	&ecr_op_batch_check_layer_availability, NULL
};

/* Sets a string member; -1 when it is not UTF-8. */
static int
ecr_set(json_t *request, const char *key, const char *value)
{
	json_t *s;

	if (value == NULL)
		return (0);
	if ((s = json_string(value)) == NULL)
		return (-1);
	json_object_set_new(request, key, s);
	return (0);
}

static json_t *
ecr_image_ids(const struct ecr_image_id *ids, size_t n)
{
	json_t *a, *o;
	size_t	i;

	a = json_array();
	for (i = 0; i < n; i++) {
		o = json_object();
		if (ids[i].tag != NULL)
			json_object_set_new(o, "imageTag",
			    json_string(ids[i].tag));
		if (ids[i].digest != NULL)
			json_object_set_new(o, "imageDigest",
			    json_string(ids[i].digest));
		json_array_append_new(a, o);
	}
	return (a);
}

/* A call on a repository; NULL and *cause (nothing started) when the
   names are not usable. */
static struct aws_op *
ecr_op_repository(const struct aws_op_desc *d, struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *registry_id,
    const char *repository, char **cause)
{
	struct aws_op *op;

	op = aws_op_new(d, client, creds, region);
	if (repository == NULL || *repository == '\0' ||
	    ecr_set(aws_op_json(op), "repositoryName", repository) != 0 ||
	    ecr_set(aws_op_json(op), "registryId", registry_id) != 0) {
		*cause = xasprintf("ECR %s: no or bad repository name",
		    d->action);
		aws_op_free(op);
		return (NULL);
	}
	return (op);
}

struct aws_op *
ecr_get_authorization_token(struct aws_client *client, struct aws_creds *creds,
    const char *region, ecr_auth_cb cb, void *arg, char **cause)
{
	struct aws_op *op;

	op = aws_op_new(&ecr_op_get_authorization_token, client, creds, region);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
ecr_batch_get_image(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *registry_id, const char *repository,
    const struct ecr_image_id *ids, size_t nids, const char *const *media_types,
    ecr_image_list_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	json_t	      *a;
	size_t	       i;

	if (nids == 0) {
		*cause = xstrdup("ECR BatchGetImage: no image ids");
		return (NULL);
	}
	if ((op = ecr_op_repository(&ecr_op_batch_get_image, client, creds,
		 region, registry_id, repository, cause)) == NULL)
		return (NULL);
	json_object_set_new(aws_op_json(op), "imageIds",
	    ecr_image_ids(ids, nids));
	if (media_types != NULL && media_types[0] != NULL) {
		a = json_array();
		for (i = 0; media_types[i] != NULL; i++)
			json_array_append_new(a, json_string(media_types[i]));
		json_object_set_new(aws_op_json(op), "acceptedMediaTypes", a);
	}
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
ecr_batch_check_layer_availability(struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *registry_id,
    const char *repository, const char *const *digests, size_t n,
    ecr_layer_list_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	json_t	      *a;
	size_t	       i;

	if (n == 0) {
		*cause = xstrdup("ECR BatchCheckLayerAvailability: no layer "
				 "digests");
		return (NULL);
	}
	if ((op = ecr_op_repository(&ecr_op_batch_check_layer_availability,
		 client, creds, region, registry_id, repository, cause)) ==
	    NULL)
		return (NULL);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(digests[i]));
	json_object_set_new(aws_op_json(op), "layerDigests", a);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
