/*
 * S3 (REST-XML): list a bucket (every page), read an object's metadata,
 * read an object under a size cap, and write an object from memory.
 *
 * Addressing: virtual-hosted URLs (https://BUCKET.s3.REGION.amazonaws
 * .com/KEY) on AWS, path-style (ENDPOINT/BUCKET/KEY) when the client has
 * an endpoint override for "s3" (the sandbox, VPC endpoints) or when the
 * bucket name is not a DNS label (dots, upper case).  Keys are
 * percent-encoded with aws_sign_uri_encode, '/' kept.
 *
 * Each call is an operation of aws-op.h: it either fails synchronously
 * (NULL, *cause set, the callback never called) or returns its handle
 * (aws_op_cancel until the callback) and calls its callback exactly once,
 * from a later loop iteration.  The callback gets the client's reply
 * (reply->error is AWS_OK or AWS_E*; reply->aws.code "NoSuchKey"...;
 * reply->message names service, operation, AWS code, message and request
 * id), valid during the callback, and on success only a result the callback
 * now owns and releases with its _free function (NULL on error).
 */
#ifndef SHIPGATE_SVC_S3_H
#define SHIPGATE_SVC_S3_H

#include <stddef.h>
#include <stdint.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const s3_operations[];

/* What every call names; region and creds NULL: the client's. */
struct s3_target {
	const char *bucket;
	const char *key; /* not for listing */
	/* GetObject: that version of the key (s3:GetObjectVersion); NULL
	   or "null" (an unversioned bucket's): the current object. */
	const char	 *version_id;
	const char	 *region;
	struct aws_creds *creds;
};

/*
 * The URL a call on the target uses (virtual-hosted or path-style, key
 * encoded), for logs and `shipgatectl doctor`; NULL and *cause on a bad
 * bucket, key or region.  key may be NULL (the bucket).  Caller frees.
 */
char *s3_url(struct aws_client *, const struct s3_target *, char **cause);

/* --- ListObjectsV2 ------------------------------------------------------ */

struct s3_object_summary {
	char	 *key;
	long long size;
	char	 *etag;		    /* with its quotes, as S3 */
	int64_t	  last_modified_ms; /* unix ms */
};

struct s3_object_list {
	struct s3_object_summary *v; /* in S3's (key) order */
	size_t			  n;
	unsigned int		  pages; /* ListObjectsV2 calls made */
};
void s3_object_list_free(struct s3_object_list *);

#define S3_LIST_MAX_DEFAULT 100000

struct s3_list_params {
	struct s3_target t;	    /* key unused */
	const char	*prefix;    /* NULL: the whole bucket */
	unsigned int	 page_size; /* max-keys; 0: S3's 1000 */
	/* More objects than this is an error (AWS_ETOOLARGE) naming the
	   limit: 0: S3_LIST_MAX_DEFAULT. */
	size_t max_total;
};

typedef void (
    *s3_list_cb)(const struct aws_reply *, struct s3_object_list *, void *arg);

/* Follows continuation tokens until the listing is complete. */
struct aws_op *s3_list_objects(struct aws_client *,
    const struct s3_list_params *, s3_list_cb, void *arg, char **cause);
/*
 * The pure reader of one ListObjectsV2 page (the call and the fuzzer use
 * it): adds the page's objects to l and sets *next to the continuation
 * token (caller frees; NULL on the last page).  0; -1 and *cause; -2 and
 * *cause when l would hold more than max_total objects.
 */
int s3_parse_list_page(struct s3_object_list *, const void *, size_t,
    size_t max_total, char **next, char **cause);

/* --- HeadObject, GetObject ---------------------------------------------- */

struct s3_metadata {
	char *name; /* "x-amz-meta-" removed, lower case */
	char *value;
};

struct s3_object_info {
	long long	    size;
	char		   *etag;
	char		   *version_id;	      /* NULL when not versioned */
	char		   *content_type;     /* NULL when absent */
	int64_t		    last_modified_ms; /* 0 when absent */
	struct s3_metadata *meta;
	size_t		    nmeta;
};
void s3_object_info_free(struct s3_object_info *);
/* A user metadata value by name (without "x-amz-meta-"), or NULL. */
const char *s3_object_info_meta(const struct s3_object_info *,
    const char *name);

typedef void (
    *s3_head_cb)(const struct aws_reply *, struct s3_object_info *, void *arg);

struct aws_op *s3_head_object(struct aws_client *, const struct s3_target *,
    s3_head_cb, void *arg, char **cause);

struct s3_object {
	struct s3_object_info info;
	char		     *data; /* NUL-terminated for text */
	size_t		      len;
};
void s3_object_free(struct s3_object *);

typedef void (
    *s3_get_cb)(const struct aws_reply *, struct s3_object *, void *arg);

/*
 * Reads the object whole when it has at most `cap` bytes (0: 8 MiB);
 * a larger one is AWS_ETOOLARGE with a message naming the cap, and is
 * not downloaded whole: the transfer stops at its Content-Length or once
 * max(cap, 64 KiB) bytes came (the floor leaves room for error replies).
 */
struct aws_op *s3_get_object(struct aws_client *, const struct s3_target *,
    size_t cap, s3_get_cb, void *arg, char **cause);

/* --- PutObject ---------------------------------------------------------- */

struct s3_put_params {
	struct s3_target t;
	const void	*data; /* copied */
	size_t		 len;
	const char	*content_type; /* NULL: binary/octet-stream */
	/* User metadata as name, value pairs, NULL-ended; may be NULL. */
	const char *const *metadata;
};

struct s3_put_result {
	char *etag;
	char *version_id; /* NULL when not versioned */
};
void s3_put_result_free(struct s3_put_result *);

typedef void (
    *s3_put_cb)(const struct aws_reply *, struct s3_put_result *, void *arg);

struct aws_op *s3_put_object(struct aws_client *, const struct s3_put_params *,
    s3_put_cb, void *arg, char **cause);

/* --- GetBucketNotificationConfiguration --------------------------------- */

enum s3_notify_kind {
	S3_NOTIFY_QUEUE,
	S3_NOTIFY_TOPIC,
	S3_NOTIFY_LAMBDA,
	S3_NOTIFY_EVENTBRIDGE,
};

/* One destination of the bucket's event notifications. */
struct s3_notify_config {
	enum s3_notify_kind kind;
	char		   *id;		 /* may be NULL */
	char		   *destination; /* ARN; NULL for EventBridge */
	char		  **events;	 /* "s3:ObjectCreated:*"... */
	size_t		    nevents;
	char		   *prefix; /* NULL: no prefix rule */
	char		   *suffix; /* NULL: no suffix rule */
};

struct s3_notification {
	struct s3_notify_config *v; /* in the reply's order */
	size_t			 n;
};
void s3_notification_free(struct s3_notification *);

typedef void (*s3_notification_cb)(const struct aws_reply *,
    struct s3_notification *, void *arg);

/* The bucket's notification configuration (shipgatectl doctor checks
 * that it sends the release events to the configured queue). */
struct aws_op *s3_get_bucket_notification(struct aws_client *,
    const struct s3_target *, s3_notification_cb, void *arg, char **cause);
/* The pure reader of its reply: fills n, or -1 and *cause.  n is freed
 * with s3_notification_free either way. */
int s3_parse_notification(struct s3_notification *, const void *, size_t,
    char **cause);

#endif
