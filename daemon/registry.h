/*
 * A client for the OCI distribution API (/v2/), the protocol ECR, Docker
 * Hub's registry and Debian's docker-registry all speak: manifests, blobs
 * and blob uploads, on the daemon's loop through http.h.
 *
 * Authentication.  A registry is given an optional username and password.
 * They are sent as Basic credentials with every request until the
 * registry answers 401 with a `WWW-Authenticate: Bearer realm=...,
 * service=..., scope=...` challenge; from then on each request first gets
 * a token for its scope ("repository:NAME:pull" for GET and HEAD,
 * "repository:NAME:pull,push" otherwise) from the realm (with the Basic
 * credentials when there are any, anonymously otherwise), caches it until
 * it expires and sends it as `Authorization: Bearer`.  A request without
 * a streamed request body that meets a Bearer challenge is retried once
 * with a token.  Credentials and tokens go only to the host of the first
 * URL: redirects to storage hosts (blob GETs) are followed without them
 * (http.h).  Secrets are never logged and are wiped when freed.
 *
 * Calls.  Every registry_* call either fails synchronously (returns NULL
 * with *cause set; the callback is never called) or calls its done
 * callback exactly once, from the loop, never from inside the call that
 * started it.  The call handle is valid until the done callback returns.
 * Inputs are copied.  The reply is valid only during the callback.
 */
#ifndef SHIPGATE_REGISTRY_H
#define SHIPGATE_REGISTRY_H

#include <sys/types.h>

#include <stddef.h>

#include "http.h"

struct config_registry;
struct registry;
struct registry_call;

/* Errors.  An expected "absent" (404 on a HEAD) is REGISTRY_ENOTFOUND. */
#define REGISTRY_OK	    0
#define REGISTRY_EAUTH	    (-1)  /* 401: credentials refused */
#define REGISTRY_EDENIED    (-2)  /* 403 */
#define REGISTRY_ENOTFOUND  (-3)  /* 404: MANIFEST_UNKNOWN, ... */
#define REGISTRY_ESTATUS    (-4)  /* another unexpected status */
#define REGISTRY_EDIGEST    (-5)  /* content and digest differ */
#define REGISTRY_ESIZE	    (-6)  /* content and size differ */
#define REGISTRY_EREPLY	    (-7)  /* an unreadable reply */
#define REGISTRY_ENETWORK   (-8)  /* transport (http.h's errors) */
#define REGISTRY_EABORTED   (-9)  /* a stream callback aborted */
#define REGISTRY_ECANCELLED (-10) /* registry_call_cancel */

const char *registry_strerror(int); /* "unauthorized", ... */

/* The manifest types accepted (sent in Accept) and understood. */
#define REGISTRY_MT_OCI_INDEX	 "application/vnd.oci.image.index.v1+json"
#define REGISTRY_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define REGISTRY_MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"

#define REGISTRY_MANIFEST_MAX (4 * 1024 * 1024) /* as registries */
#define REGISTRY_DIGEST_SIZE  72		/* "sha256:" + 64 hex + NUL */

struct registry_options {
	const char *url;	    /* "https://host[:port]" */
	const char *username;	    /* NULL: anonymous */
	const char *password;	    /* secret */
	const char *ca_file;	    /* extra trust anchor, or NULL */
	long	    timeout_ms;	    /* unstreamed calls; 0: 60 s */
	long	    low_speed_time; /* s under 1 KiB/s; 0: 60 */
};

/*
 * What a call produced; which fields apply depends on the call (see
 * each).  Valid only during the done callback.
 */
struct registry_reply {
	int error; /* REGISTRY_OK, REGISTRY_E* */
	/* Human-readable, e.g. "401 UNAUTHORIZED: authentication required"
	   (the status and the registry's own error code and message). */
	const char		  *message;
	long			   status; /* 0 when none arrived */
	const struct http_headers *headers;
	const char		  *body; /* collected (manifests) */
	size_t			   body_len;
	const char		  *content_type; /* NULL when absent */
	const char		  *digest; /* Docker-Content-Digest, or NULL */
	long long		   length; /* Content-Length, -1 when absent */
	const char *location;		   /* uploads: absolute URL, or NULL */
	long long   bytes_sent;
	long long   bytes_received;
};

typedef void (*registry_done_cb)(struct registry_call *,
    const struct registry_reply *, void *arg);

/* NULL and *cause on a bad URL. */
struct registry *registry_new(struct http_client *,
    const struct registry_options *, char **cause);
/*
 * A registry of the configuration (`registries:`, not ECR): its URL, and
 * its username with the first line of password_file, read now (so a
 * rotated password is used by the next promotion) and wiped after use.
 */
struct registry *registry_new_config(struct http_client *,
    const struct config_registry *, char **cause);
/* Only when no call is in flight.  Wipes the secrets. */
void registry_free(struct registry *);
/* New credentials (an ECR login renewed); drops cached tokens. */
void registry_set_credentials(struct registry *, const char *username,
    const char *password);
/* "host[:port]" of the URL, for messages. */
const char *registry_name(const struct registry *);

/*
 * Manifests.  ref is a tag or a digest ("sha256:<64 hex>").
 * registry_manifest_get: 200 with the body (at most REGISTRY_MANIFEST_MAX),
 * content_type and digest (the one the registry sent, or NULL); every
 * type above is accepted.  When ref is a digest the body is checked
 * against it (REGISTRY_EDIGEST).  registry_manifest_head: 200 with digest,
 * content_type and length.  registry_manifest_put: the exact bytes with
 * their media type; 201 with the digest the registry computed.
 */
struct registry_call *registry_manifest_get(struct registry *,
    const char *repository, const char *ref, registry_done_cb, void *arg,
    char **cause);
struct registry_call *registry_manifest_head(struct registry *,
    const char *repository, const char *ref, registry_done_cb, void *arg,
    char **cause);
struct registry_call *registry_manifest_put(struct registry *,
    const char *repository, const char *ref, const char *media_type,
    const void *data, size_t len, registry_done_cb, void *arg, char **cause);

/*
 * Blobs.  registry_blob_head: 200 with length when present (or a
 * redirect to the registry's storage, not followed: status 3xx),
 * REGISTRY_ENOTFOUND when absent.  registry_blob_get: the body goes to
 * write_cb (http.h's rules: pieces of at most 16 KiB, HTTP_STREAM_PAUSE
 * and registry_call_resume for flow control); only a 2xx body is
 * streamed; redirects to storage are followed without credentials.
 */
struct registry_call *registry_blob_head(struct registry *,
    const char *repository, const char *digest, registry_done_cb, void *arg,
    char **cause);
struct registry_call *registry_blob_get(struct registry *,
    const char *repository, const char *digest, http_write_cb write_cb,
    void *stream_arg, registry_done_cb, void *arg, char **cause);

/*
 * Uploads.  registry_upload_start (POST .../blobs/uploads/): 202 with
 * location.  registry_upload_patch: len bytes from read_cb (http.h's
 * rules) sent to location as one chunk (PATCH, Content-Range when
 * offset > 0); 202 with the next location.  registry_upload_finish:
 * PUT to location with ?digest=; its body is len bytes from read_cb, or
 * none when read_cb is NULL (the data went by PATCH); 201 with digest.
 * The location given is the one the previous reply returned.
 */
struct registry_call *registry_upload_start(struct registry *,
    const char *repository, registry_done_cb, void *arg, char **cause);
struct registry_call *registry_upload_patch(struct registry *,
    const char *repository, const char *location, long long offset,
    long long len, http_read_cb read_cb, void *stream_arg, registry_done_cb,
    void *arg, char **cause);
struct registry_call *registry_upload_finish(struct registry *,
    const char *repository, const char *location, const char *digest,
    long long len, http_read_cb read_cb, void *stream_arg, registry_done_cb,
    void *arg, char **cause);

/*
 * Stops a call: its stream callbacks no longer run, and its done callback
 * comes from a later loop iteration with REGISTRY_ECANCELLED.
 */
void registry_call_cancel(struct registry_call *);
/* Resumes a stream paused with HTTP_STREAM_PAUSE. */
void registry_call_resume(struct registry_call *);

/* --- pure helpers (tests use them) ------------------------------------ */

/* A WWW-Authenticate challenge's scheme and parameters. */
struct registry_challenge {
	char *scheme; /* "Bearer", "Basic" */
	char *realm;
	char *service; /* NULL when absent */
	char *scope;   /* NULL when absent */
};

int  registry_parse_challenge(const char *, struct registry_challenge *);
void registry_challenge_free(struct registry_challenge *);
/* 1 if s is a repository name / a tag / a sha256 digest. */
int registry_valid_repository(const char *);
int registry_valid_tag(const char *);
int registry_valid_digest(const char *);
/* "sha256:<hex>" of data into out. */
void registry_digest(const void *, size_t, char out[REGISTRY_DIGEST_SIZE]);
/* The registry's JSON error body as "CODE: message"; NULL if none. */
char *registry_error_text(const char *, size_t);

#endif
