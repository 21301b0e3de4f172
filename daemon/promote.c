/*
 * Image promotion: per image, read the manifests (an index's children
 * too), copy the blobs the destination lacks through bounded rings (up to
 * parallel_blobs at a time), push the manifests children first, tag, and
 * read the destination's digest back.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "digest.h"
#include "log.h"
#include "promote.h"
#include "registry.h"
#include "xmalloc.h"

#define PROMOTE_DEPTH_MAX     3 /* index → index → manifest */
#define PROMOTE_MANIFESTS_MAX 1024
#define PROMOTE_BLOBS_MAX     65536
#define PROMOTE_BLOB_ATTEMPTS 3 /* network errors, 5xx, 429 */

enum promote_phase {
	PROMOTE_FETCH,	   /* reading manifests */
	PROMOTE_BLOBS,	   /* copying blobs */
	PROMOTE_PUSH,	   /* pushing manifests by digest */
	PROMOTE_TAG_CHECK, /* where the tag points now */
	PROMOTE_TAG,	   /* pushing the top manifest by tag */
	PROMOTE_VERIFY,	   /* reading the destination's digest */
};

/* A manifest to read (descriptor), then read. */
struct promote_manifest {
	char	 *digest; /* expected (children), read */
	long long size;	  /* expected, -1 for the top */
	int	  depth;
	char	 *media_type;
	char	 *data;
	size_t	  len;
};

struct promote_blob {
	char	 *digest;
	long long size;
};

/* One blob on its way: HEAD, POST, then GET into a ring and PATCH/PUT. */
struct promote_stream {
	struct promote	      *p;
	struct promote_blob   *blob;
	struct promote_stream *next;

	struct registry_call *call; /* HEAD, POST, final PUT */
	struct registry_call *get;
	struct registry_call *put; /* PATCH, monolithic PUT */
	char		     *location;

	char		     *ring;
	size_t		      cap;
	size_t		      start; /* first byte held */
	size_t		      held;
	long long	      received;
	long long	      sent;
	struct digest_sha256 *sha;
	int		      get_paused;
	int		      put_paused;
	int		      get_done;
	int		      verified;
	int		      put_done;
	int		      failed;
	int		      finishing;
	int		      attempt; /* from 1 */
	int		      retry;   /* to start again */
};

/* The promotion's own copy of a struct promote_image. */
struct promote_copy {
	char *repository;
	char *reference;
	char *destination_repository; /* never NULL */
	char *destination_tag;	      /* NULL: by digest */
};

struct promote {
	struct registry	      *src;
	struct registry	      *dst;
	struct promote_options o;
	struct promote_copy   *images;
	struct promote_result *results;
	size_t		       n;
	size_t		       cur;
	promote_done_cb	       done_cb;
	void		      *arg;
	int		       cancelled;

	/* The image being copied. */
	enum promote_phase	 phase;
	struct timespec		 started;
	const char		*dst_repo;
	const char		*dst_tag; /* NULL: by digest only */
	struct promote_manifest *manifests;
	size_t			 nmanifests;
	size_t			 fetched;
	size_t			 pushed;
	struct promote_blob	*blobs;
	size_t			 nblobs;
	size_t			 next_blob;
	struct promote_stream	*streams;
	int			 active;
	struct registry_call	*call; /* manifests' */
	int			 error;
	char			*reason;
};

static void promote_image_begin(struct promote *);
static void promote_image_end(struct promote *);
static void promote_fetch_next(struct promote *);
static void promote_blobs_next(struct promote *);
static void promote_push_next(struct promote *);
static void promote_tag_check_cb(struct registry_call *,
    const struct registry_reply *, void *);
static void promote_stream_done(struct promote_stream *);
static int  promote_stream_head(struct promote_stream *);

const char *
promote_strerror(int error)
{
	if (error == PROMOTE_EMANIFEST)
		return ("unsupported manifest");
	if (error == PROMOTE_EMISMATCH)
		return ("destination digest differs");
	return (registry_strerror(error));
}

static long long
promote_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((long long)(t.tv_sec - t0->tv_sec) * 1000 +
		(t.tv_nsec - t0->tv_nsec) / 1000000);
}

static const char *
promote_name(struct promote *p)
{
	return (p->results[p->cur].repository);
}

/* The image's first error wins; later ones only go to the debug log. */
static void promote_fail(struct promote *p, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
promote_fail(struct promote *p, int error, const char *fmt, ...)
{
	struct promote_copy *im = &p->images[p->cur];
	va_list		     ap;
	char		    *what;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	if (p->error != 0) {
		log_debug(LOG_CAT_HTTP, "promotion: also %s", what);
		free(what);
		return;
	}
	p->error = error;
	p->reason = xasprintf("image %s%s%s: %s", im->repository,
	    registry_valid_digest(im->reference) ? "@" : ":", im->reference,
	    what);
	free(what);
}

static int
promote_is_index(const char *mt)
{
	return (strcmp(mt, REGISTRY_MT_OCI_INDEX) == 0 ||
		strcmp(mt, REGISTRY_MT_DOCKER_LIST) == 0);
}

static int
promote_is_manifest(const char *mt)
{
	return (strcmp(mt, REGISTRY_MT_OCI_MANIFEST) == 0 ||
		strcmp(mt, REGISTRY_MT_DOCKER_MANIFEST) == 0);
}

/* --- start and end ------------------------------------------------------- */

struct promote *
promote_start(struct registry *src, struct registry *dst,
    const struct promote_image *images, size_t n,
    const struct promote_options *o, promote_done_cb done_cb, void *arg,
    char **cause)
{
	struct promote		   *p;
	const struct promote_image *im;
	size_t			    i;

	if (n == 0 || done_cb == NULL) {
		*cause = xstrdup("no image to promote or no callback");
		return (NULL);
	}
	for (i = 0; i < n; i++) {
		im = &images[i];
		if (!registry_valid_repository(im->repository) ||
		    (im->destination_repository != NULL &&
			!registry_valid_repository(
			    im->destination_repository))) {
			*cause = xasprintf("image %zu: bad repository name", i);
			return (NULL);
		}
		if (im->reference == NULL ||
		    (!registry_valid_tag(im->reference) &&
			!registry_valid_digest(im->reference))) {
			*cause = xasprintf("image %s: bad tag or digest",
			    im->repository);
			return (NULL);
		}
		if (im->destination_tag != NULL &&
		    !registry_valid_tag(im->destination_tag)) {
			*cause = xasprintf("image %s: bad destination tag",
			    im->repository);
			return (NULL);
		}
	}

	p = xcalloc(1, sizeof *p);
	p->src = src;
	p->dst = dst;
	if (o != NULL)
		p->o = *o;
	if (p->o.parallel_blobs <= 0)
		p->o.parallel_blobs = PROMOTE_PARALLEL_DEFAULT;
	if (p->o.buffer_size < 64 * 1024)
		p->o.buffer_size = p->o.buffer_size == 0 ?
				       PROMOTE_BUFFER_DEFAULT :
				       64 * 1024;
	p->done_cb = done_cb;
	p->arg = arg;
	p->n = n;
	p->images = xcalloc(n, sizeof *p->images);
	p->results = xcalloc(n, sizeof *p->results);
	for (i = 0; i < n; i++) {
		im = &images[i];
		p->images[i].repository = xstrdup(im->repository);
		p->images[i].reference = xstrdup(im->reference);
		p->images[i].destination_repository = xstrdup(
		    im->destination_repository != NULL ?
			im->destination_repository :
			im->repository);
		if (im->destination_tag != NULL)
			p->images[i].destination_tag = xstrdup(
			    im->destination_tag);
		else if (registry_valid_tag(im->reference))
			p->images[i].destination_tag = xstrdup(im->reference);
		p->results[i].repository = xstrdup(im->repository);
		p->results[i].reference = xstrdup(im->reference);
		p->results[i].destination_repository = xstrdup(
		    p->images[i].destination_repository);
	}

	/* Only the first image's first call can fail synchronously here. */
	promote_image_begin(p);
	if (p->call == NULL) {
		*cause = p->reason != NULL ?
			     xstrdup(p->reason) :
			     xstrdup("the copy could not start");
		p->cur = n;
		p->done_cb = NULL;
		promote_image_end(p);
		return (NULL);
	}
	return (p);
}

static void
promote_image_reset(struct promote *p)
{
	size_t i;

	for (i = 0; i < p->nmanifests; i++) {
		free(p->manifests[i].digest);
		free(p->manifests[i].media_type);
		free(p->manifests[i].data);
	}
	free(p->manifests);
	p->manifests = NULL;
	p->nmanifests = p->fetched = p->pushed = 0;
	for (i = 0; i < p->nblobs; i++)
		free(p->blobs[i].digest);
	free(p->blobs);
	p->blobs = NULL;
	p->nblobs = p->next_blob = 0;
	p->error = 0;
	free(p->reason);
	p->reason = NULL;
}

static void
promote_free(struct promote *p)
{
	size_t i;

	promote_image_reset(p);
	for (i = 0; i < p->n; i++) {
		free(p->images[i].repository);
		free(p->images[i].reference);
		free(p->images[i].destination_repository);
		free(p->images[i].destination_tag);
		free(p->results[i].repository);
		free(p->results[i].reference);
		free(p->results[i].destination_repository);
		free(p->results[i].destination_reference);
		free(p->results[i].media_type);
		free(p->results[i].source_digest);
		free(p->results[i].destination_digest);
		free(p->results[i].reason);
	}
	free(p->images);
	free(p->results);
	free(p);
}

static void
promote_image_begin(struct promote *p)
{
	struct promote_copy   *im = &p->images[p->cur];
	struct promote_result *r = &p->results[p->cur];

	promote_image_reset(p);
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	p->phase = PROMOTE_FETCH;
	p->dst_repo = im->destination_repository;
	p->dst_tag = im->destination_tag;
	r->destination_reference = xstrdup(
	    p->dst_tag != NULL ? p->dst_tag : im->reference);
	if (p->cancelled) {
		promote_fail(p, REGISTRY_ECANCELLED, "cancelled");
		promote_image_end(p);
		return;
	}
	log_info("promotion started image=%s ref=%s from=%s to=%s/%s:%s",
	    im->repository, im->reference, registry_name(p->src),
	    registry_name(p->dst), p->dst_repo, r->destination_reference);
	p->manifests = xcalloc(1, sizeof *p->manifests);
	p->manifests[0].digest = registry_valid_digest(im->reference) ?
				     xstrdup(im->reference) :
				     NULL;
	p->manifests[0].size = -1;
	p->nmanifests = 1;
	promote_fetch_next(p);
}

/* The image is over (every call done): record it and go on. */
static void
promote_image_end(struct promote *p)
{
	struct promote_result *r;

	if (p->cur < p->n) {
		r = &p->results[p->cur];
		r->error = p->error;
		r->reason = p->reason;
		p->reason = NULL;
		r->elapsed_ms = promote_ms_since(&p->started);
		if (r->error == 0)
			log_info(
			    "promotion done image=%s digest=%s "
			    "blobs_copied=%d blobs_skipped=%d bytes_copied=%lld"
			    " bytes_skipped=%lld ms=%lld",
			    r->repository, r->source_digest, r->blobs_copied,
			    r->blobs_skipped, r->bytes_copied, r->bytes_skipped,
			    r->elapsed_ms);
		else
			log_warnx("promotion failed: %s", r->reason);
		if (p->o.image_cb != NULL)
			p->o.image_cb(p, r, p->o.image_arg);
		if (++p->cur < p->n) {
			promote_image_begin(p);
			return;
		}
	}
	if (p->done_cb != NULL)
		p->done_cb(p, p->results, p->n, p->arg);
	promote_free(p);
}

void
promote_cancel(struct promote *p)
{
	struct promote_stream *s;

	if (p->cancelled)
		return;
	p->cancelled = 1;
	promote_fail(p, REGISTRY_ECANCELLED, "cancelled");
	if (p->call != NULL)
		registry_call_cancel(p->call);
	for (s = p->streams; s != NULL; s = s->next) {
		s->failed = 1;
		if (s->call != NULL)
			registry_call_cancel(s->call);
		if (s->get != NULL)
			registry_call_cancel(s->get);
		if (s->put != NULL)
			registry_call_cancel(s->put);
	}
}

/* --- manifests ----------------------------------------------------------- */

static void
promote_add_manifest(struct promote *p, const char *digest, long long size,
    int depth)
{
	struct promote_manifest *m;
	size_t			 i;

	for (i = 0; i < p->nmanifests; i++) {
		if (p->manifests[i].digest != NULL &&
		    strcmp(p->manifests[i].digest, digest) == 0)
			return;
	}
	p->manifests = xreallocarray(p->manifests, p->nmanifests + 1,
	    sizeof *p->manifests);
	m = &p->manifests[p->nmanifests++];
	memset(m, 0, sizeof *m);
	m->digest = xstrdup(digest);
	m->size = size;
	m->depth = depth;
}

static void
promote_add_blob(struct promote *p, const char *digest, long long size)
{
	size_t i;

	for (i = 0; i < p->nblobs; i++) {
		if (strcmp(p->blobs[i].digest, digest) == 0)
			return;
	}
	p->blobs = xreallocarray(p->blobs, p->nblobs + 1, sizeof *p->blobs);
	p->blobs[p->nblobs].digest = xstrdup(digest);
	p->blobs[p->nblobs].size = size;
	p->nblobs++;
}

/* A descriptor's digest and size; 0, or -1 when unusable. */
static int
promote_descriptor(json_t *d, const char **digest, long long *size)
{
	json_t *sz = json_object_get(d, "size");

	*digest = json_string_value(json_object_get(d, "digest"));
	if (*digest == NULL || !registry_valid_digest(*digest) ||
	    !json_is_integer(sz) || json_integer_value(sz) < 0)
		return (-1);
	*size = (long long)json_integer_value(sz);
	return (0);
}

static void
promote_refs_add(struct promote_refs *refs, const char *digest, long long size)
{
	refs->v = xreallocarray(refs->v, refs->n + 1, sizeof *refs->v);
	refs->v[refs->n].digest = xstrdup(digest);
	refs->v[refs->n].size = size;
	refs->n++;
}

void
promote_refs_free(struct promote_refs *refs)
{
	size_t i;

	for (i = 0; i < refs->n; i++)
		free(refs->v[i].digest);
	free(refs->v);
	memset(refs, 0, sizeof *refs);
}

int
promote_parse_manifest(const void *data, size_t len, const char *media_type,
    struct promote_refs *refs, char **cause)
{
	json_t	   *doc, *list, *d, *urls;
	const char *digest, *mt;
	long long   size;
	size_t	    i;
	int	    rc = -1;

	memset(refs, 0, sizeof *refs);
	if ((doc = json_loadb(data, len, 0, NULL)) == NULL ||
	    !json_is_object(doc)) {
		*cause = xstrdup("not a JSON object");
		goto out;
	}
	mt = json_string_value(json_object_get(doc, "mediaType"));
	if (mt != NULL && strcmp(mt, media_type) != 0) {
		*cause = xasprintf("served as %s but says %s", media_type, mt);
		goto out;
	}
	if (promote_is_index(media_type)) {
		refs->index = 1;
		list = json_object_get(doc, "manifests");
		if (!json_is_array(list)) {
			*cause = xstrdup("an index without a manifest list");
			goto out;
		}
		json_array_foreach(list, i, d) {
			if (promote_descriptor(d, &digest, &size) != 0 ||
			    i >= PROMOTE_MANIFESTS_MAX) {
				*cause = xasprintf("index entry %zu has no "
						   "usable digest and size",
				    i);
				goto out;
			}
			promote_refs_add(refs, digest, size);
		}
		rc = 0;
		goto out;
	}
	if (!promote_is_manifest(media_type)) {
		*cause = xasprintf("media type \"%s\" is not an OCI or Docker "
				   "schema 2 manifest or index",
		    media_type);
		goto out;
	}
	if (promote_descriptor(json_object_get(doc, "config"), &digest,
		&size) != 0) {
		*cause = xstrdup("no usable config");
		goto out;
	}
	promote_refs_add(refs, digest, size);
	list = json_object_get(doc, "layers");
	if (!json_is_array(list)) {
		*cause = xstrdup("no layers");
		goto out;
	}
	json_array_foreach(list, i, d) {
		if (promote_descriptor(d, &digest, &size) != 0 ||
		    i >= PROMOTE_BLOBS_MAX) {
			*cause = xasprintf("layer %zu has no usable digest and "
					   "size",
			    i);
			goto out;
		}
		/* Foreign (non-distributable) layers live at their URLs. */
		urls = json_object_get(d, "urls");
		if (json_is_array(urls) && json_array_size(urls) > 0)
			continue;
		promote_refs_add(refs, digest, size);
	}
	rc = 0;
out:
	if (rc != 0)
		promote_refs_free(refs);
	json_decref(doc);
	return (rc);
}

/* Reads one manifest: its children or its blobs.  0, or -1 (failed). */
static int
promote_parse(struct promote *p, size_t mi)
{
	struct promote_refs refs;
	char		   *cause = NULL, *digest;
	int		    depth = p->manifests[mi].depth;
	size_t		    i;

	/* The array grows below: keep what is needed of this entry. */
	digest = xstrdup(p->manifests[mi].digest);
	if (promote_parse_manifest(p->manifests[mi].data, p->manifests[mi].len,
		p->manifests[mi].media_type, &refs, &cause) != 0) {
		promote_fail(p, PROMOTE_EMANIFEST, "manifest %s: %s", digest,
		    cause);
		free(cause);
		free(digest);
		return (-1);
	}
	if (refs.index && depth + 1 >= PROMOTE_DEPTH_MAX) {
		promote_fail(p, PROMOTE_EMANIFEST,
		    "manifest %s: indexes "
		    "nested too deep",
		    digest);
		promote_refs_free(&refs);
		free(digest);
		return (-1);
	}
	for (i = 0; i < refs.n; i++) {
		if (refs.index)
			promote_add_manifest(p, refs.v[i].digest,
			    refs.v[i].size, depth + 1);
		else
			promote_add_blob(p, refs.v[i].digest, refs.v[i].size);
	}
	promote_refs_free(&refs);
	free(digest);
	if (p->nmanifests > PROMOTE_MANIFESTS_MAX ||
	    p->nblobs > PROMOTE_BLOBS_MAX) {
		promote_fail(p, PROMOTE_EMANIFEST,
		    "too many manifests or "
		    "blobs");
		return (-1);
	}
	return (0);
}

/* The mediaType a manifest names itself ("" when none). */
static char *
promote_own_type(const char *data, size_t len)
{
	json_t	   *doc;
	const char *mt;
	char	   *out;

	doc = json_loadb(data, len, 0, NULL);
	mt = json_string_value(json_object_get(doc, "mediaType"));
	out = xstrdup(mt != NULL ? mt : "");
	json_decref(doc);
	return (out);
}

static void
promote_manifest_cb(struct registry_call *call,
    const struct registry_reply *reply, void *arg)
{
	struct promote		*p = arg;
	struct promote_manifest *m = &p->manifests[p->fetched];
	struct promote_result	*r = &p->results[p->cur];
	char			 digest[REGISTRY_DIGEST_SIZE];
	size_t			 len;

	(void)call;
	p->call = NULL;
	if (reply->error != REGISTRY_OK) {
		promote_fail(p, reply->error, "%s", reply->message);
		goto fail;
	}
	registry_digest(reply->body, reply->body_len, digest);
	if (m->digest != NULL && strcmp(m->digest, digest) != 0) {
		promote_fail(p, REGISTRY_EDIGEST,
		    "manifest %s: the bytes read "
		    "hash to %s",
		    m->digest, digest);
		goto fail;
	}
	if (reply->digest != NULL && strcmp(reply->digest, digest) != 0) {
		promote_fail(p, REGISTRY_EDIGEST,
		    "manifest: %s says %s, the "
		    "bytes hash to %s",
		    registry_name(p->src), reply->digest, digest);
		goto fail;
	}
	if (m->size >= 0 && (long long)reply->body_len != m->size) {
		promote_fail(p, REGISTRY_ESIZE,
		    "manifest %s: %zu bytes, the "
		    "index says %lld",
		    digest, reply->body_len, m->size);
		goto fail;
	}
	len = reply->content_type != NULL ? strcspn(reply->content_type, "; ") :
					    0;
	m->media_type = xstrndup(reply->content_type != NULL ?
				     reply->content_type :
				     "",
	    len);
	if (!promote_is_index(m->media_type) &&
	    !promote_is_manifest(m->media_type)) {
		/* A registry serving a generic type: the manifest's own. */
		free(m->media_type);
		m->media_type = promote_own_type(reply->body, reply->body_len);
	}
	if (!promote_is_index(m->media_type) &&
	    !promote_is_manifest(m->media_type)) {
		promote_fail(p, PROMOTE_EMANIFEST,
		    "manifest %s has media type "
		    "\"%s\", not an OCI or Docker schema 2 manifest or index",
		    digest, m->media_type);
		goto fail;
	}
	if (m->digest == NULL)
		m->digest = xstrdup(digest);
	m->data = xmalloc(reply->body_len);
	memcpy(m->data, reply->body, reply->body_len);
	m->len = reply->body_len;
	if (p->fetched == 0) {
		r->source_digest = xstrdup(digest);
		r->media_type = xstrdup(m->media_type);
	}
	if (promote_parse(p, p->fetched) != 0)
		goto fail;
	p->fetched++;
	promote_fetch_next(p);
	return;
fail:
	promote_image_end(p);
}

static void
promote_fetch_next(struct promote *p)
{
	struct promote_copy	*im = &p->images[p->cur];
	struct promote_manifest *m;
	char			*cause = NULL;

	if (p->cancelled) {
		promote_fail(p, REGISTRY_ECANCELLED, "cancelled");
		promote_image_end(p);
		return;
	}
	if (p->fetched == p->nmanifests) {
		p->phase = PROMOTE_BLOBS;
		promote_blobs_next(p);
		return;
	}
	m = &p->manifests[p->fetched];
	p->call = registry_manifest_get(p->src, im->repository,
	    m->digest != NULL ? m->digest : im->reference, promote_manifest_cb,
	    p, &cause);
	if (p->call == NULL) {
		promote_fail(p, REGISTRY_ENETWORK, "manifest: %s", cause);
		free(cause);
		if (p->cur > 0 || p->fetched > 0 || p->done_cb == NULL)
			promote_image_end(p);
		/* else promote_start reports it synchronously */
	}
}

/* --- blobs --------------------------------------------------------------- */

static void
promote_stream_abort(struct promote_stream *s)
{
	s->failed = 1;
	if (s->get != NULL)
		registry_call_cancel(s->get);
	if (s->put != NULL)
		registry_call_cancel(s->put);
	if (s->call != NULL)
		registry_call_cancel(s->call);
}

static void promote_stream_fail(struct promote_stream *s, int error,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
promote_stream_fail(struct promote_stream *s, int error, const char *fmt, ...)
{
	va_list ap;
	char   *what;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	promote_fail(s->p, error, "blob %s: %s", s->blob->digest, what);
	free(what);
	promote_stream_abort(s);
}

/* A registry's reply: its message names the call and the blob. */
static void
promote_stream_fail_reply(struct promote_stream *s,
    const struct registry_reply			*reply)
{
	struct promote *p = s->p;
	int		transient;

	/* A transient failure starts the blob again, at once (a new
	   upload: registries drop abandoned ones). */
	transient = reply->error == REGISTRY_ENETWORK ||
		    (reply->error == REGISTRY_ESTATUS &&
			(reply->status >= 500 || reply->status == 429));
	if (transient && s->attempt < PROMOTE_BLOB_ATTEMPTS && !p->cancelled &&
	    p->error == 0) {
		log_info("promotion retrying a blob image=%s blob=%s "
			 "attempt=%d: %s",
		    promote_name(p), s->blob->digest, s->attempt + 1,
		    reply->message);
		s->retry = 1;
	} else
		promote_fail(p, reply->error, "%s", reply->message);
	promote_stream_abort(s);
}

/* The GET's body: into the ring, hashed on the way. */
static int
promote_get_write_cb(struct http_call *http, const void *data, size_t len,
    void *arg)
{
	struct promote_stream *s = arg;
	size_t		       end, first;

	(void)http;
	if (s->failed)
		return (HTTP_STREAM_ABORT);
	if (s->received + (long long)len > s->blob->size) {
		promote_stream_fail(s, REGISTRY_ESIZE,
		    "%s sent more than the "
		    "manifest's %lld bytes",
		    registry_name(s->p->src), s->blob->size);
		return (HTTP_STREAM_ABORT);
	}
	if (s->cap - s->held < len) {
		s->get_paused = 1;
		return (HTTP_STREAM_PAUSE);
	}
	end = (s->start + s->held) % s->cap;
	first = s->cap - end < len ? s->cap - end : len;
	memcpy(s->ring + end, data, first);
	memcpy(s->ring, (const char *)data + first, len - first);
	s->held += len;
	s->received += (long long)len;
	digest_sha256_update(s->sha, data, len);
	if (s->put_paused && s->put != NULL) {
		s->put_paused = 0;
		registry_call_resume(s->put);
	}
	return (0);
}

/* The upload's body: from the ring, the last byte only once checked. */
static ssize_t
promote_put_read_cb(struct http_call *http, void *dst, size_t len, void *arg)
{
	struct promote_stream *s = arg;
	size_t		       n, first;
	long long	       allowed;

	(void)http;
	if (s->failed)
		return (HTTP_STREAM_ABORT);
	n = s->held < len ? s->held : len;
	if (!s->verified) {
		allowed = s->blob->size - 1 - s->sent;
		if (allowed < 0)
			allowed = 0;
		if ((long long)n > allowed)
			n = (size_t)allowed;
	}
	if (n == 0) {
		if (s->verified && s->sent == s->blob->size)
			return (0);
		s->put_paused = 1;
		return (HTTP_STREAM_PAUSE);
	}
	first = s->cap - s->start < n ? s->cap - s->start : n;
	memcpy(dst, s->ring + s->start, first);
	memcpy((char *)dst + first, s->ring, n - first);
	s->start = (s->start + n) % s->cap;
	s->held -= n;
	s->sent += (long long)n;
	if (s->get_paused && s->get != NULL) {
		s->get_paused = 0;
		registry_call_resume(s->get);
	}
	return ((ssize_t)n);
}

static void
promote_stream_check(struct promote_stream *s)
{
	if (s->get != NULL || s->put != NULL || s->call != NULL)
		return;
	promote_stream_done(s);
}

static void
promote_finish_cb(struct registry_call *call,
    const struct registry_reply *reply, void *arg)
{
	struct promote_stream *s = arg;

	(void)call;
	s->call = NULL;
	if (!s->failed && reply->error != REGISTRY_OK)
		promote_stream_fail_reply(s, reply);
	else if (!s->failed && reply->digest != NULL &&
		 strcmp(reply->digest, s->blob->digest) != 0)
		promote_stream_fail(s, REGISTRY_EDIGEST, "%s stored it as %s",
		    registry_name(s->p->dst), reply->digest);
	s->put_done = 1;
	promote_stream_check(s);
}

/* Both halves are over: the final PUT (after a PATCH), or the end. */
static void
promote_stream_both(struct promote_stream *s)
{
	struct promote *p = s->p;
	char	       *cause = NULL;

	if (s->failed || s->get != NULL || s->put != NULL)
		return;
	if (p->o.monolithic || s->put_done)
		return;
	if (!s->verified || s->sent != s->blob->size) {
		promote_stream_fail(s, REGISTRY_ESIZE,
		    "%lld of %lld bytes "
		    "sent",
		    s->sent, s->blob->size);
		return;
	}
	s->call = registry_upload_finish(p->dst, p->dst_repo, s->location,
	    s->blob->digest, 0, NULL, NULL, promote_finish_cb, s, &cause);
	if (s->call == NULL) {
		promote_stream_fail(s, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
	}
}

static void
promote_get_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct promote_stream *s = arg;
	char		       hex[DIGEST_SHA256_HEX_SIZE];

	(void)call;
	s->get = NULL;
	s->get_done = 1;
	if (s->failed)
		goto out;
	if (reply->error != REGISTRY_OK) {
		promote_stream_fail_reply(s, reply);
		goto out;
	}
	if (s->received != s->blob->size) {
		promote_stream_fail(s, REGISTRY_ESIZE,
		    "%s sent %lld bytes, "
		    "the manifest says %lld",
		    registry_name(s->p->src), s->received, s->blob->size);
		goto out;
	}
	digest_sha256_final(s->sha, hex);
	if (strcmp(hex, s->blob->digest + 7) != 0) {
		promote_stream_fail(s, REGISTRY_EDIGEST,
		    "the bytes from %s "
		    "hash to sha256:%s",
		    registry_name(s->p->src), hex);
		goto out;
	}
	s->verified = 1;
	if (s->put_paused && s->put != NULL) {
		s->put_paused = 0;
		registry_call_resume(s->put);
	}
out:
	promote_stream_both(s);
	promote_stream_check(s);
}

static void
promote_put_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct promote_stream *s = arg;

	(void)call;
	s->put = NULL;
	if (s->failed)
		goto out;
	if (reply->error != REGISTRY_OK) {
		promote_stream_fail_reply(s, reply);
		goto out;
	}
	if (s->p->o.monolithic) {
		s->put_done = 1;
		if (reply->digest != NULL &&
		    strcmp(reply->digest, s->blob->digest) != 0)
			promote_stream_fail(s, REGISTRY_EDIGEST,
			    "%s stored it "
			    "as %s",
			    registry_name(s->p->dst), reply->digest);
	} else {
		free(s->location);
		s->location = reply->location != NULL ?
				  xstrdup(reply->location) :
				  NULL;
		if (s->location == NULL)
			promote_stream_fail(s, REGISTRY_EREPLY,
			    "%s gave no "
			    "upload location after PATCH",
			    registry_name(s->p->dst));
	}
out:
	promote_stream_both(s);
	promote_stream_check(s);
}

static void
promote_post_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct promote_stream *s = arg;
	struct promote	      *p = s->p;
	char		      *cause = NULL;

	(void)call;
	s->call = NULL;
	if (s->failed)
		goto out;
	if (reply->error != REGISTRY_OK || reply->location == NULL) {
		promote_stream_fail(s,
		    reply->error != REGISTRY_OK ? reply->error :
						  REGISTRY_EREPLY,
		    "%s",
		    reply->error != REGISTRY_OK ? reply->message :
						  "no upload location");
		goto out;
	}
	s->location = xstrdup(reply->location);
	s->ring = xmalloc(p->o.buffer_size);
	s->cap = p->o.buffer_size;
	s->sha = digest_sha256_new();
	if (p->o.monolithic)
		s->put = registry_upload_finish(p->dst, p->dst_repo,
		    s->location, s->blob->digest, s->blob->size,
		    promote_put_read_cb, s, promote_put_cb, s, &cause);
	else
		s->put = registry_upload_patch(p->dst, p->dst_repo, s->location,
		    0, s->blob->size, promote_put_read_cb, s, promote_put_cb, s,
		    &cause);
	if (s->put == NULL) {
		promote_stream_fail(s, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
		goto out;
	}
	s->get = registry_blob_get(p->src, p->images[p->cur].repository,
	    s->blob->digest, promote_get_write_cb, s, promote_get_cb, s,
	    &cause);
	if (s->get == NULL) {
		promote_stream_fail(s, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
	}
out:
	promote_stream_check(s);
}

static void
promote_head_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct promote_stream *s = arg;
	struct promote	      *p = s->p;
	struct promote_result *r = &p->results[p->cur];
	char		      *cause = NULL;

	(void)call;
	s->call = NULL;
	if (s->failed)
		goto out;
	if (reply->error == REGISTRY_OK) {
		/* Content-addressed: there is all that matters. */
		r->blobs_skipped++;
		r->bytes_skipped += s->blob->size;
		s->finishing = 1;
		goto out;
	}
	if (reply->error != REGISTRY_ENOTFOUND) {
		promote_stream_fail_reply(s, reply);
		goto out;
	}
	s->call = registry_upload_start(p->dst, p->dst_repo, promote_post_cb, s,
	    &cause);
	if (s->call == NULL) {
		promote_stream_fail(s, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
	}
out:
	promote_stream_check(s);
}

static void
promote_stream_done(struct promote_stream *s)
{
	struct promote	       *p = s->p;
	struct promote_result  *r = &p->results[p->cur];
	struct promote_stream **sp;
	int			attempt;

	if (s->retry && !p->cancelled && p->error == 0) {
		free(s->location);
		free(s->ring);
		if (s->sha != NULL)
			digest_sha256_free(s->sha);
		attempt = s->attempt;
		memset(&s->call, 0,
		    sizeof *s - offsetof(struct promote_stream, call));
		s->attempt = attempt + 1;
		r->blob_retries++;
		promote_stream_head(s);
		return;
	}
	if (!s->failed && !s->finishing) {
		r->blobs_copied++;
		r->bytes_copied += s->blob->size;
		log_debug(LOG_CAT_HTTP,
		    "promotion blob copied image=%s "
		    "blob=%s bytes=%lld",
		    promote_name(p), s->blob->digest, s->blob->size);
	}
	for (sp = &p->streams; *sp != NULL; sp = &(*sp)->next) {
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	}
	free(s->location);
	free(s->ring);
	if (s->sha != NULL)
		digest_sha256_free(s->sha);
	free(s);
	p->active--;
	promote_blobs_next(p);
}

/* Looks for the blob at the destination; -1 when that failed at once
   (the stream is over, and p may be too). */
static int
promote_stream_head(struct promote_stream *s)
{
	struct promote *p = s->p;
	char	       *cause = NULL;

	s->call = registry_blob_head(p->dst, p->dst_repo, s->blob->digest,
	    promote_head_cb, s, &cause);
	if (s->call == NULL) {
		promote_stream_fail(s, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
		promote_stream_check(s);
		return (-1);
	}
	return (0);
}

static void
promote_blobs_next(struct promote *p)
{
	struct promote_stream *s;

	while (p->error == 0 && !p->cancelled &&
	       p->active < p->o.parallel_blobs && p->next_blob < p->nblobs) {
		s = xcalloc(1, sizeof *s);
		s->p = p;
		s->blob = &p->blobs[p->next_blob++];
		s->next = p->streams;
		s->attempt = 1;
		p->streams = s;
		p->active++;
		if (promote_stream_head(s) != 0)
			return;
	}
	if (p->active > 0)
		return;
	if (p->error != 0 || p->cancelled) {
		if (p->error == 0)
			promote_fail(p, REGISTRY_ECANCELLED, "cancelled");
		promote_image_end(p);
		return;
	}
	if (p->next_blob < p->nblobs)
		return;
	/* Children were read after their index: push from the end. */
	p->phase = PROMOTE_PUSH;
	p->pushed = 0;
	promote_push_next(p);
}

/* --- manifests out ------------------------------------------------------- */

static void
promote_verify_cb(struct registry_call *call,
    const struct registry_reply *reply, void *arg)
{
	struct promote	      *p = arg;
	struct promote_result *r = &p->results[p->cur];

	(void)call;
	p->call = NULL;
	if (reply->error != REGISTRY_OK) {
		promote_fail(p, reply->error, "reading back %s: %s",
		    r->destination_reference, reply->message);
	} else if (reply->digest == NULL) {
		promote_fail(p, REGISTRY_EREPLY, "%s sent no digest for %s/%s",
		    registry_name(p->dst), p->dst_repo,
		    r->destination_reference);
	} else {
		r->destination_digest = xstrdup(reply->digest);
		if (strcmp(reply->digest, r->source_digest) != 0)
			promote_fail(p, PROMOTE_EMISMATCH,
			    "%s has %s/%s at "
			    "%s, the source at %s",
			    registry_name(p->dst), p->dst_repo,
			    r->destination_reference, reply->digest,
			    r->source_digest);
	}
	promote_image_end(p);
}

static void
promote_push_cb(struct registry_call *call, const struct registry_reply *reply,
    void *arg)
{
	struct promote		*p = arg;
	struct promote_manifest *m;

	(void)call;
	p->call = NULL;
	m = p->phase == PROMOTE_TAG ?
		&p->manifests[0] :
		&p->manifests[p->nmanifests - 1 - p->pushed];
	if (reply->error != REGISTRY_OK) {
		promote_fail(p, reply->error, "pushing manifest %s%s%s: %s",
		    m->digest, p->phase == PROMOTE_TAG ? " as " : "",
		    p->phase == PROMOTE_TAG ? p->dst_tag : "", reply->message);
		promote_image_end(p);
		return;
	}
	if (reply->digest != NULL && strcmp(reply->digest, m->digest) != 0) {
		promote_fail(p, PROMOTE_EMISMATCH,
		    "manifest %s: %s stored it "
		    "as %s",
		    m->digest, registry_name(p->dst), reply->digest);
		promote_image_end(p);
		return;
	}
	if (p->phase == PROMOTE_PUSH) {
		p->pushed++;
		p->results[p->cur].manifests++;
	} else if (p->phase == PROMOTE_TAG)
		p->results[p->cur].tagged = 1;
	promote_push_next(p);
}

static void
promote_tag_check_cb(struct registry_call *call,
    const struct registry_reply *reply, void *arg)
{
	struct promote	      *p = arg;
	struct promote_result *r = &p->results[p->cur];

	(void)call;
	p->call = NULL;
	if (reply->error == REGISTRY_OK && reply->digest != NULL &&
	    strcmp(reply->digest, r->source_digest) == 0) {
		/* That is also the check that the destination has it. */
		r->destination_digest = xstrdup(reply->digest);
		promote_image_end(p);
		return;
	}
	if (reply->error != REGISTRY_OK && reply->error != REGISTRY_ENOTFOUND) {
		promote_fail(p, reply->error, "%s", reply->message);
		promote_image_end(p);
		return;
	}
	promote_push_next(p);
}

static void
promote_push_next(struct promote *p)
{
	struct promote_result	*r = &p->results[p->cur];
	struct promote_manifest *m;
	char			*cause = NULL;

	if (p->cancelled) {
		promote_fail(p, REGISTRY_ECANCELLED, "cancelled");
		promote_image_end(p);
		return;
	}
	if (p->phase == PROMOTE_PUSH && p->pushed < p->nmanifests) {
		m = &p->manifests[p->nmanifests - 1 - p->pushed];
		p->call = registry_manifest_put(p->dst, p->dst_repo, m->digest,
		    m->media_type, m->data, m->len, promote_push_cb, p, &cause);
	} else if (p->phase == PROMOTE_PUSH && p->dst_tag != NULL) {
		/* A tag already on the digest is left alone (immutable
		   tags refuse even the same manifest again). */
		p->phase = PROMOTE_TAG_CHECK;
		p->call = registry_manifest_head(p->dst, p->dst_repo,
		    p->dst_tag, promote_tag_check_cb, p, &cause);
	} else if (p->phase == PROMOTE_TAG_CHECK) {
		p->phase = PROMOTE_TAG;
		m = &p->manifests[0];
		p->call = registry_manifest_put(p->dst, p->dst_repo, p->dst_tag,
		    m->media_type, m->data, m->len, promote_push_cb, p, &cause);
	} else {
		p->phase = PROMOTE_VERIFY;
		p->call = registry_manifest_head(p->dst, p->dst_repo,
		    r->destination_reference, promote_verify_cb, p, &cause);
	}
	if (p->call == NULL) {
		promote_fail(p, REGISTRY_ENETWORK, "%s", cause);
		free(cause);
		promote_image_end(p);
	}
}
