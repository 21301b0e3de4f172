/*
 * ECR: authorization tokens, manifests, image details (all pages) and
 * layer availability, as JSON 1.1 requests and typed replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "log.h"
#include "svc-ecr.h"
#include "xmalloc.h"

#define ECR_STR(doc, dst, ...) do {					\
	const char	*s_ = NULL;					\
	json_str_opt((doc), &s_, __VA_ARGS__);			\
	(dst) = s_ != NULL ? xstrdup(s_) : NULL;			\
} while (0)

#define ECR_STR_REQ(doc, dst, ...) do {					\
	const char	*s_ = NULL;					\
	if (json_str((doc), &s_, __VA_ARGS__) == 0)			\
		(dst) = xstrdup(s_);					\
} while (0)

struct ecr_op;
typedef int	(*ecr_parse_fn)(struct ecr_op *, const void *, size_t,
		    char **next, char **cause);
typedef void	(*ecr_finish_fn)(struct ecr_op *, const struct aws_reply *);

struct ecr_op {
	struct aws_client	*client;
	struct aws_creds	*creds;
	char			*region;
	const char		*operation;
	json_t			*request;
	char			*next_token;
	int			 pages;
	int			 secret;	/* wipe the reply's body */

	ecr_parse_fn		 parse;
	ecr_finish_fn		 finish;
	void			*result;
	void			(*result_free)(void *);
	union {
		ecr_auth_cb			auth;
		ecr_image_list_cb		images;
		ecr_image_detail_list_cb	details;
		ecr_layer_list_cb		layers;
	} cb;
	void			*arg;
};

static int	ecr_op_send(struct ecr_op *, char **);

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
	size_t		 n = strlen(s), i, o = 0, pad = 0;
	unsigned char	*out;
	int		 v[4], k;

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
ecr_load(struct json **doc, const void *data, size_t len,
    const char *operation, char **cause)
{
	char	*what;
	int	 rc;

	what = xasprintf("ECR %s reply", operation);
	rc = json_load(doc, data, len, NULL, what, cause);
	free(what);
	return (rc);
}

static int
ecr_done(struct json *doc, char **cause)
{
	int	rc = 0;

	if (json_error(doc) != NULL) {
		*cause = xstrdup(json_error(doc));
		rc = -1;
	}
	json_free(doc);
	return (rc);
}

int
ecr_parse_authorization_token(struct ecr_auth *a, const void *data,
    size_t len, char **cause)
{
	struct json	*doc;
	const char	*token = NULL;
	char		*plain = NULL, *colon;
	size_t		 n = 0, plen;

	if (ecr_load(&doc, data, len, "GetAuthorizationToken", cause) != 0)
		return (-1);
	json_arr(doc, &n, "authorizationData");
	if (json_error(doc) == NULL && n == 0)
		json_fail(doc, "ECR GetAuthorizationToken reply: "
		    "authorizationData: empty");
	if (json_error(doc) == NULL) {
		json_str(doc, &token, "authorizationData[0]."
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
			json_fail(doc, "ECR GetAuthorizationToken reply: "
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
	if (token != NULL)
		explicit_bzero((char *)token, strlen(token));
	return (ecr_done(doc, cause));
}

static void
ecr_parse_failures(struct json *doc, struct ecr_failure **v, size_t *nv,
    int layers)
{
	struct ecr_failure	*f;
	size_t			 n = 0, i;

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
	struct json		*doc;
	struct ecr_image	*img;
	size_t			 n = 0, i;

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
	struct ecr_image_detail	*d;
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
	struct json		*doc;
	struct ecr_layer	*y;
	const char		*avail;
	size_t			 n = 0, i;

	if (ecr_load(&doc, data, len, "BatchCheckLayerAvailability",
	    cause) != 0)
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
		json_str_opt(doc, &avail, "layers[%zu].layerAvailability",
		    i);
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
	size_t	i;

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
	size_t	i;

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
	size_t	i, t;

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
	size_t	i;

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

/* The operation machinery. */

static struct ecr_op *
ecr_op_new(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *operation)
{
	struct ecr_op	*op;

	op = xcalloc(1, sizeof *op);
	op->client = client;
	op->creds = creds;
	op->region = region != NULL ? xstrdup(region) : NULL;
	op->operation = operation;
	op->request = json_object();
	return (op);
}

static void
ecr_op_free(struct ecr_op *op)
{
	if (op->result != NULL && op->result_free != NULL)
		op->result_free(op->result);
	json_decref(op->request);
	free(op->next_token);
	free(op->region);
	free(op);
}

static void
ecr_op_fail(struct ecr_op *op, const struct aws_reply *last, int error,
    const char *what)
{
	struct aws_reply	 r;
	char			*message;

	memset(&r, 0, sizeof r);
	r.request_id = "";
	if (last != NULL) {
		r.status = last->status;
		r.attempts = last->attempts;
		r.request_id = last->request_id;
	}
	r.error = error;
	message = xasprintf("ECR %s: %s: %s (request %s)", op->operation,
	    aws_strerror(error), what, *r.request_id != '\0' ?
	    r.request_id : "unknown");
	r.message = message;
	log_debug(LOG_CAT_AWS, "ecr call failed op=%s: %s", op->operation,
	    message);
	op->finish(op, &r);
	free(message);
}

static void
ecr_op_reply_cb(struct aws_reply *reply, void *arg)
{
	struct ecr_op	*op = arg;
	char		*next = NULL, *cause = NULL;
	int		 rc;

	if (reply->error != AWS_OK) {
		op->finish(op, reply);
		goto done;
	}
	op->pages++;
	rc = op->parse(op, reply->body->data, reply->body->len, &next, &cause);
	if (op->secret && reply->body->data != NULL)
		explicit_bzero(reply->body->data, reply->body->len);
	if (rc != 0) {
		ecr_op_fail(op, reply, AWS_EREPLY, cause);
		goto done;
	}
	if (next != NULL) {
		if ((op->next_token != NULL &&
		    strcmp(op->next_token, next) == 0) ||
		    op->pages >= ECR_PAGES_MAX) {
			ecr_op_fail(op, reply, AWS_EREPLY, "nextToken repeats "
			    "itself or too many pages");
			goto done;
		}
		free(op->next_token);
		op->next_token = next;
		next = NULL;
		if (ecr_op_send(op, &cause) != 0) {
			ecr_op_fail(op, reply, AWS_ECANCELLED, cause);
			goto done;
		}
		return;
	}
	op->finish(op, reply);
done:
	free(next);
	free(cause);
	ecr_op_free(op);
}

static int
ecr_op_send(struct ecr_op *op, char **cause)
{
	struct aws_request	 req;
	char			*body;
	int			 rc = -1;

	if (op->next_token != NULL)
		json_object_set_new(op->request, "nextToken",
		    json_string(op->next_token));
	if ((body = json_dumps(op->request, JSON_COMPACT)) == NULL) {
		*cause = xasprintf("ECR %s: cannot encode the request (not "
		    "UTF-8?)", op->operation);
		return (-1);
	}
	memset(&req, 0, sizeof req);
	req.service = &aws_service_ecr;
	req.operation = op->operation;
	req.region = op->region;
	req.creds = op->creds;
	req.body = body;
	req.body_len = strlen(body);
	if (aws_client_call(op->client, &req, ecr_op_reply_cb, op,
	    cause) != NULL)
		rc = 0;
	free(body);
	return (rc);
}

static int
ecr_op_start(struct ecr_op *op, char **cause)
{
	char	*c = NULL;

	if (ecr_op_send(op, &c) != 0) {
		*cause = c;
		ecr_op_free(op);
		return (-1);
	}
	return (0);
}

static void *
ecr_op_take(struct ecr_op *op, const struct aws_reply *reply)
{
	void	*result;

	if (reply->error != AWS_OK)
		return (NULL);
	result = op->result;
	op->result = NULL;
	return (result);
}

/* Sets a string member; -1 when it is not UTF-8. */
static int
ecr_set(struct ecr_op *op, const char *key, const char *value)
{
	json_t	*s;

	if (value == NULL)
		return (0);
	if ((s = json_string(value)) == NULL)
		return (-1);
	json_object_set_new(op->request, key, s);
	return (0);
}

static json_t *
ecr_image_ids(const struct ecr_image_id *ids, size_t n)
{
	json_t	*a, *o;
	size_t	 i;

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

/* The repository members most calls share. */
static int
ecr_op_repository(struct ecr_op *op, const char *registry_id,
    const char *repository, char **cause)
{
	if (repository == NULL || *repository == '\0' ||
	    ecr_set(op, "repositoryName", repository) != 0 ||
	    ecr_set(op, "registryId", registry_id) != 0) {
		*cause = xasprintf("ECR %s: no or bad repository name",
		    op->operation);
		ecr_op_free(op);
		return (-1);
	}
	return (0);
}

/* GetAuthorizationToken. */

static int
ecr_auth_parse(struct ecr_op *op, const void *data, size_t len, char **next,
    char **cause)
{
	op->result = xcalloc(1, sizeof (struct ecr_auth));
	return (ecr_parse_authorization_token(op->result, data, len, cause));
}

static void
ecr_auth_result_free(void *p)
{
	ecr_auth_free(p);
}

static void
ecr_auth_finish(struct ecr_op *op, const struct aws_reply *reply)
{
	op->cb.auth(reply, ecr_op_take(op, reply), op->arg);
}

int
ecr_get_authorization_token(struct aws_client *client,
    struct aws_creds *creds, const char *region, ecr_auth_cb cb, void *arg,
    char **cause)
{
	struct ecr_op	*op;

	op = ecr_op_new(client, creds, region, "GetAuthorizationToken");
	op->secret = 1;
	op->parse = ecr_auth_parse;
	op->finish = ecr_auth_finish;
	op->result_free = ecr_auth_result_free;
	op->cb.auth = cb;
	op->arg = arg;
	return (ecr_op_start(op, cause));
}

/* BatchGetImage. */

static int
ecr_images_parse(struct ecr_op *op, const void *data, size_t len,
    char **next, char **cause)
{
	if (op->result == NULL)
		op->result = xcalloc(1, sizeof (struct ecr_image_list));
	return (ecr_parse_images(op->result, data, len, cause));
}

static void
ecr_images_result_free(void *p)
{
	ecr_image_list_free(p);
}

static void
ecr_images_finish(struct ecr_op *op, const struct aws_reply *reply)
{
	op->cb.images(reply, ecr_op_take(op, reply), op->arg);
}

int
ecr_batch_get_image(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *registry_id, const char *repository,
    const struct ecr_image_id *ids, size_t nids,
    const char * const *media_types, ecr_image_list_cb cb, void *arg,
    char **cause)
{
	struct ecr_op	*op;
	json_t		*a;
	size_t		 i;

	if (nids == 0) {
		*cause = xstrdup("ECR BatchGetImage: no image ids");
		return (-1);
	}
	op = ecr_op_new(client, creds, region, "BatchGetImage");
	if (ecr_op_repository(op, registry_id, repository, cause) != 0)
		return (-1);
	json_object_set_new(op->request, "imageIds", ecr_image_ids(ids, nids));
	if (media_types != NULL && media_types[0] != NULL) {
		a = json_array();
		for (i = 0; media_types[i] != NULL; i++)
			json_array_append_new(a, json_string(media_types[i]));
		json_object_set_new(op->request, "acceptedMediaTypes", a);
	}
	op->parse = ecr_images_parse;
	op->finish = ecr_images_finish;
	op->result_free = ecr_images_result_free;
	op->cb.images = cb;
	op->arg = arg;
	return (ecr_op_start(op, cause));
}

/* DescribeImages. */

static int
ecr_details_parse(struct ecr_op *op, const void *data, size_t len,
    char **next, char **cause)
{
	if (op->result == NULL)
		op->result = xcalloc(1, sizeof (struct ecr_image_detail_list));
	return (ecr_parse_image_details(op->result, data, len, next, cause));
}

static void
ecr_details_result_free(void *p)
{
	ecr_image_detail_list_free(p);
}

static void
ecr_details_finish(struct ecr_op *op, const struct aws_reply *reply)
{
	op->cb.details(reply, ecr_op_take(op, reply), op->arg);
}

int
ecr_describe_images(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *registry_id, const char *repository,
    const struct ecr_image_id *ids, size_t nids, ecr_image_detail_list_cb cb,
    void *arg, char **cause)
{
	struct ecr_op	*op;

	op = ecr_op_new(client, creds, region, "DescribeImages");
	if (ecr_op_repository(op, registry_id, repository, cause) != 0)
		return (-1);
	if (nids > 0)
		json_object_set_new(op->request, "imageIds",
		    ecr_image_ids(ids, nids));
	op->parse = ecr_details_parse;
	op->finish = ecr_details_finish;
	op->result_free = ecr_details_result_free;
	op->cb.details = cb;
	op->arg = arg;
	return (ecr_op_start(op, cause));
}

/* BatchCheckLayerAvailability. */

static int
ecr_layers_parse(struct ecr_op *op, const void *data, size_t len,
    char **next, char **cause)
{
	if (op->result == NULL)
		op->result = xcalloc(1, sizeof (struct ecr_layer_list));
	return (ecr_parse_layers(op->result, data, len, cause));
}

static void
ecr_layers_result_free(void *p)
{
	ecr_layer_list_free(p);
}

static void
ecr_layers_finish(struct ecr_op *op, const struct aws_reply *reply)
{
	op->cb.layers(reply, ecr_op_take(op, reply), op->arg);
}

int
ecr_batch_check_layer_availability(struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *registry_id,
    const char *repository, const char * const *digests, size_t n,
    ecr_layer_list_cb cb, void *arg, char **cause)
{
	struct ecr_op	*op;
	json_t		*a;
	size_t		 i;

	if (n == 0) {
		*cause = xstrdup("ECR BatchCheckLayerAvailability: no layer "
		    "digests");
		return (-1);
	}
	op = ecr_op_new(client, creds, region, "BatchCheckLayerAvailability");
	if (ecr_op_repository(op, registry_id, repository, cause) != 0)
		return (-1);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(digests[i]));
	json_object_set_new(op->request, "layerDigests", a);
	op->parse = ecr_layers_parse;
	op->finish = ecr_layers_finish;
	op->result_free = ecr_layers_result_free;
	op->cb.layers = cb;
	op->arg = arg;
	return (ecr_op_start(op, cause));
}
