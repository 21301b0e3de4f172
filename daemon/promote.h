/*
 * Image promotion: copy images from one registry to another, digest for
 * digest, over the OCI distribution API (registry.h).
 *
 * For each image (repository:tag or repository@digest) the manifest is
 * read with every accepted type (OCI index and manifest, Docker list and
 * schema 2); for an index or list, every platform's manifest.  Each blob
 * (configs and layers, once per image) is looked for at the destination
 * (HEAD) and skipped when there; otherwise it is streamed from the source
 * into an upload at the destination (POST, then one PATCH and an empty
 * PUT with the digest, as docker push does; or a single PUT with
 * `monolithic`), its sha256 checked while it streams.  The last byte is
 * held back until the whole blob has been checked, so a corrupted blob
 * never completes an upload.  Memory is bounded (a ring of buffer_size
 * per blob in flight) and nothing touches the disk.  Then the manifests
 * are pushed, exact bytes with their own media type, children before the
 * index, by digest; then the tag (unless it already names that digest);
 * then the destination's digest is read back and must equal the
 * source's.  A copy cut short (a crash, a failure) is resumed by running
 * it again: blobs already there are skipped.
 *
 * Images are copied one after another, each with up to parallel_blobs
 * blobs at a time.  A blob whose copy meets a network error, a 5xx or a
 * 429 starts again at once, up to 3 attempts in all.  A failed image
 * does not stop the others.
 *
 * promote_start either fails synchronously (NULL, *cause set, no
 * callback) or calls done_cb exactly once, from a later loop iteration,
 * with one result per image in the order given.  Results are valid only
 * during the callbacks (done_cb, image_cb); the promotion is freed when
 * done_cb returns.  The registries must outlive the promotion.
 *
 * In the engine (stage step 1, environments with a `registry`): one
 * promote_start per stage with the release's images (release_image:
 * repository, tag or digest), source and destination registries from
 * registry_new_config (configured registries) or registry_new plus an
 * ECR login (registry-ecr.h, the account's credentials from
 * aws-context), parallel_blobs from promotion_parallel_blobs, and each
 * result recorded in image_promotions.
 */
#ifndef SHIPGATE_PROMOTE_H
#define SHIPGATE_PROMOTE_H

#include <stddef.h>

struct registry;
struct promote;

/* Errors: the registry's (registry.h's REGISTRY_E*), and: */
#define PROMOTE_EMANIFEST (-20) /* unreadable, unsupported */
#define PROMOTE_EMISMATCH (-21) /* destination digest differs */

const char *promote_strerror(int);

struct promote_image {
	const char *repository;		    /* at the source */
	const char *reference;		    /* tag, or "sha256:..." */
	const char *destination_repository; /* NULL: the same */
	/* NULL: the source's tag; with a digest reference, no tag (the
	   image is pushed by digest only). */
	const char *destination_tag;
};

struct promote_result {
	char *repository;
	char *reference;
	char *destination_repository;
	char *destination_reference; /* tag or digest */
	char *media_type;	     /* the top one's */
	char *source_digest;	     /* NULL: not read */
	char *destination_digest;    /* read back, NULL */
	int   error;		     /* 0, REGISTRY_E*,
						   PROMOTE_E* */
	/* Names the image, the blob or manifest, the registry and what it
	   said; NULL on success. */
	char	 *reason;
	int	  manifests; /* pushed, all */
	int	  tagged;    /* 0: the tag was on the
						   digest already */
	int	  blobs_copied;
	int	  blobs_skipped; /* already there */
	int	  blob_retries;	 /* after failures */
	long long bytes_copied;
	long long bytes_skipped;
	long long elapsed_ms;
};

typedef void (*promote_image_cb)(struct promote *,
    const struct promote_result *, void *arg);
typedef void (*promote_done_cb)(struct promote *, const struct promote_result *,
    size_t n, void *arg);

struct promote_options {
	int    parallel_blobs; /* 0: 4 */
	size_t buffer_size;    /* per blob; 0: 1M */
	int    monolithic;     /* one PUT, body */
	/* Called after each image (e.g. to record it), or NULL. */
	promote_image_cb image_cb;
	void		*image_arg;
};

#define PROMOTE_PARALLEL_DEFAULT 4
#define PROMOTE_BUFFER_DEFAULT	 (1024 * 1024)

/* --- pure: what a manifest refers to (tests and fuzzers use it) ----- */

struct promote_ref {
	char	 *digest;
	long long size;
};

struct promote_refs {
	int		    index; /* 1: an index's manifests */
	struct promote_ref *v;	   /* or config, layers */
	size_t		    n;
};

/*
 * Reads a manifest served as media_type (one of registry.h's four):
 * an index's entries, or a manifest's config and layers (foreign layers,
 * those with `urls`, left out).  0, or -1 with *cause.
 */
int  promote_parse_manifest(const void *, size_t, const char *media_type,
     struct promote_refs *, char **cause);
void promote_refs_free(struct promote_refs *);

struct promote *promote_start(struct registry *source,
    struct registry *destination, const struct promote_image *, size_t n,
    const struct promote_options *, promote_done_cb, void *arg, char **cause);
/*
 * Stops the copy: calls in flight are cancelled; done_cb still comes,
 * from a later loop iteration, the images not finished with
 * REGISTRY_ECANCELLED.
 */
void promote_cancel(struct promote *);

#endif
