/*
 * S3 over REST-XML: ListObjectsV2 (every page), HeadObject, GetObject
 * under a cap, PutObject, GetBucketNotificationConfiguration.  Replies
 * are read with xml (listing, notifications) or from headers (object
 * metadata).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "aws-op.h"
#include "aws-services.h"
#include "aws-sign.h"
#include "buf.h"
#include "log.h"
#include "svc-s3.h"
#include "xmalloc.h"
#include "xml.h"

#define S3_GET_CAP_DEFAULT (8 * 1024 * 1024)
#define S3_GET_BODY_FLOOR  (64 * 1024) /* room for error replies */
#define S3_LIST_REPLY_MAX  (16 * 1024 * 1024)
#define S3_SMALL_REPLY_MAX (64 * 1024)
#define S3_KEY_MAX	   1024
#define S3_MAX_METADATA	   32

/* ------------------------------------------------------------ addressing */

/* A bucket name usable as a DNS label in a TLS host name. */
static int
s3_bucket_dns_ok(const char *b)
{
	size_t len = strlen(b), i;

	if (len < 3 || len > 63)
		return (0);
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)b[i]) &&
		    !isdigit((unsigned char)b[i]) && b[i] != '-')
			return (0);
	return (b[0] != '-' && b[len - 1] != '-');
}

/*
 * The endpoint and the encoded path of a bucket or object: 0, or -1
 * with *cause.
 */
static int
s3_address(struct aws_client *client, const struct s3_target *t, int need_key,
    const char *op, char **endpoint, char **path, char **cause)
{
	const char *region;
	char	   *def = NULL, *cur = NULL, *ekey = NULL, *ebucket;
	int	    rc = -1;

	*endpoint = *path = NULL;
	if (t->bucket == NULL || *t->bucket == '\0' ||
	    strlen(t->bucket) > 255 || strchr(t->bucket, '/') != NULL) {
		*cause = xasprintf("S3 %s: invalid bucket name \"%s\"", op,
		    t->bucket != NULL ? t->bucket : "");
		return (-1);
	}
	if (need_key && (t->key == NULL || *t->key == '\0' ||
			    strlen(t->key) > S3_KEY_MAX)) {
		*cause = xasprintf("S3 %s: invalid key in bucket %s", op,
		    t->bucket);
		return (-1);
	}
	region = t->region != NULL ? t->region : aws_client_region(client);
	def = aws_service_endpoint(&aws_service_s3, region, NULL);
	cur = aws_client_endpoint(client, &aws_service_s3, region);
	if (cur == NULL) {
		*cause = xasprintf("S3 %s: invalid region %s", op, region);
		goto out;
	}
	if (need_key)
		ekey = aws_sign_uri_encode(t->key, strlen(t->key),
		    AWS_SIGN_URI_KEEP_SLASH);
	if (def != NULL && strcmp(def, cur) == 0 &&
	    s3_bucket_dns_ok(t->bucket) && strncmp(cur, "https://", 8) == 0) {
		*endpoint = xasprintf("https://%s.%s", t->bucket, cur + 8);
		*path = xasprintf("/%s", ekey != NULL ? ekey : "");
	} else {
		ebucket = aws_sign_uri_encode(t->bucket, strlen(t->bucket), 0);
		*endpoint = cur;
		cur = NULL;
		*path = xasprintf("/%s%s%s", ebucket, ekey != NULL ? "/" : "",
		    ekey != NULL ? ekey : "");
		free(ebucket);
	}
	rc = 0;
out:
	free(def);
	free(cur);
	free(ekey);
	return (rc);
}

char *
s3_url(struct aws_client *client, const struct s3_target *t, char **cause)
{
	char *endpoint, *path, *url;

	if (s3_address(client, t, t->key != NULL, "URL", &endpoint, &path,
		cause) != 0)
		return (NULL);
	url = xasprintf("%s%s", endpoint, path);
	free(endpoint);
	free(path);
	return (url);
}


static int64_t
s3_http_date_ms(const char *s)
{
	struct tm tm;

	if (s == NULL)
		return (0);
	memset(&tm, 0, sizeof tm);
	if (strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) == NULL)
		return (0);
	return ((int64_t)timegm(&tm) * 1000);
}

/* Calls cb with a reply turned into an error of ours. */
static char *s3_message(const char *op, const struct aws_reply *reply,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "S3 GetObject: <detail> (request ID)". */
static char *
s3_message(const char *op, const struct aws_reply *reply, const char *fmt, ...)
{
	va_list ap;
	char   *detail, *msg;

	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	msg = xasprintf("S3 %s: %s (request %s)", op, detail,
	    reply->request_id != NULL && *reply->request_id != '\0' ?
		reply->request_id :
		"unknown");
	free(detail);
	return (msg);
}

/* --------------------------------------------------------- object info */

static void
s3_info_clear(struct s3_object_info *info)
{
	size_t i;

	free(info->etag);
	free(info->version_id);
	free(info->content_type);
	for (i = 0; i < info->nmeta; i++) {
		free(info->meta[i].name);
		free(info->meta[i].value);
	}
	free(info->meta);
	memset(info, 0, sizeof *info);
}

void
s3_object_info_free(struct s3_object_info *info)
{
	if (info == NULL)
		return;
	s3_info_clear(info);
	free(info);
}

const char *
s3_object_info_meta(const struct s3_object_info *info, const char *name)
{
	size_t i;

	for (i = 0; i < info->nmeta; i++)
		if (strcasecmp(info->meta[i].name, name) == 0)
			return (info->meta[i].value);
	return (NULL);
}

void
s3_object_free(struct s3_object *o)
{
	if (o == NULL)
		return;
	s3_info_clear(&o->info);
	free(o->data);
	free(o);
}

void
s3_put_result_free(struct s3_put_result *r)
{
	if (r == NULL)
		return;
	free(r->etag);
	free(r->version_id);
	free(r);
}

static char *
s3_header_dup(const struct http_headers *h, const char *name)
{
	const char *v;

	if (h == NULL || (v = http_headers_get(h, name)) == NULL)
		return (NULL);
	return (xstrdup(v));
}

/* Fills info from a HeadObject or GetObject reply's headers. */
static void
s3_info_from_headers(struct s3_object_info *info, const struct http_headers *h,
    long long size)
{
	const char *v;
	char	   *c;
	long long   n;
	size_t	    i;

	memset(info, 0, sizeof *info);
	info->size = size;
	if (size < 0 && h != NULL &&
	    (v = http_headers_get(h, "Content-Length")) != NULL &&
	    xml_parse_int(v, &n) == 0 && n >= 0)
		info->size = n;
	info->etag = s3_header_dup(h, "ETag");
	if (info->etag == NULL)
		info->etag = xstrdup("");
	info->version_id = s3_header_dup(h, "x-amz-version-id");
	if (info->version_id != NULL && strcmp(info->version_id, "null") == 0) {
		free(info->version_id);
		info->version_id = NULL;
	}
	info->content_type = s3_header_dup(h, "Content-Type");
	if (h != NULL)
		info->last_modified_ms = s3_http_date_ms(
		    http_headers_get(h, "Last-Modified"));
	for (i = 0; h != NULL && i < h->n; i++) {
		if (strncasecmp(h->v[i].name, "x-amz-meta-", 11) != 0 ||
		    info->nmeta == S3_MAX_METADATA)
			continue;
		info->meta = xreallocarray(info->meta, info->nmeta + 1,
		    sizeof *info->meta);
		info->meta[info->nmeta].name = xstrdup(h->v[i].name + 11);
		info->meta[info->nmeta].value = xstrdup(h->v[i].value);
		for (c = info->meta[info->nmeta].name; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		info->nmeta++;
	}
}

/* ------------------------------------------------------------ readers */

/*
 * What the readers and the error hooks of a call read: its bounds and
 * what it is on ("bucket/key", "bucket/prefix"), for messages.  Flat, as
 * aws_op_params copies it.
 */
struct s3_params {
	size_t cap;	  /* GetObject */
	size_t max_total; /* ListObjectsV2 */
	char   what[];
};

static void
s3_params(struct aws_op *op, size_t cap, size_t max_total, const char *bucket,
    const char *rest)
{
	struct s3_params *p;
	char		 *what;
	size_t		  len;

	what = xasprintf("%s/%s", bucket, rest != NULL ? rest : "");
	len = sizeof *p + strlen(what) + 1;
	p = xcalloc(1, len);
	p->cap = cap;
	p->max_total = max_total;
	memcpy(p->what, what, strlen(what) + 1);
	aws_op_params(op, p, len);
	free(p);
	free(what);
}

/*
 * HEAD replies have no body, so an error has no code but its status:
 * name it as the SDKs do.
 */
static void
s3_head_error(const void *params, struct aws_reply *r, char **message)
{
	const struct s3_params *p = params;
	const char	       *code = NULL, *text = NULL;

	if (r->error == AWS_EHTTP && r->status == 404) {
		code = "NotFound";
		text = "no such object";
	} else if (r->error == AWS_EHTTP && r->status == 403) {
		code = "Forbidden";
		text = "access denied";
	} else if (r->error == AWS_EHTTP && r->status == 400) {
		code = "BadRequest";
		text = "bad request";
	}
	if (code == NULL)
		return;
	r->error = AWS_EAWS;
	snprintf(r->aws.code, sizeof r->aws.code, "%s", code);
	snprintf(r->aws.message, sizeof r->aws.message, "%s", text);
	*message = s3_message("HeadObject", r, "%s: %s: %s", code, p->what,
	    text);
	r->message = *message;
}

static int
s3_head_read(void *result, const void *params, struct aws_reply *reply,
    char **cause)
{
	(void)params;
	(void)cause;
	s3_info_from_headers(result, reply->headers, -1);
	return (0);
}

/* ------------------------------------------------------------- GetObject */

/*
 * Whether a GetObject body matches its ETag.  A single-part object's
 * ETag is the body's MD5, unless SSE-KMS or SSE-C encrypts it; others
 * (multipart: "...-N") cannot be checked and pass.  A body garbled on
 * the way with a length that fits is caught here, as SQS's MD5OfBody
 * catches a message's, instead of being read as a broken release.
 */
static int
s3_body_matches(const struct http_headers *h, const char *body, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0, i;
	char	      hex[2 * EVP_MAX_MD_SIZE + 1];
	const char   *etag, *sse;
	size_t	      n;

	if (h == NULL || (etag = http_headers_get(h, "ETag")) == NULL)
		return (1);
	if ((sse = http_headers_get(h, "x-amz-server-side-encryption")) !=
		NULL &&
	    strncmp(sse, "aws:kms", 7) == 0)
		return (1);
	if (http_headers_get(h, "x-amz-server-side-encryption-customer-"
				"algorithm") != NULL)
		return (1);
	if (*etag == '"')
		etag++;
	n = strspn(etag, "0123456789abcdefABCDEF");
	if (n != 32 || (etag[n] != '\0' && etag[n] != '"'))
		return (1);
	if (EVP_Digest(body != NULL ? body : "", len, md, &mdlen, EVP_md5(),
		NULL) != 1)
		return (1);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return (strncasecmp(hex, etag, 32) == 0);
}


/* A body over the cap that the client stopped reading. */
static void
s3_get_error(const void *params, struct aws_reply *r, char **message)
{
	const struct s3_params *p = params;

	if (r->error != AWS_ETOOLARGE)
		return;
	*message = s3_message("GetObject", r,
	    "%s is larger than the cap of "
	    "%zu bytes",
	    p->what, p->cap);
	r->message = *message;
}

static int
s3_get_read(void *result, const void *params, struct aws_reply *reply,
    char **cause)
{
	const struct s3_params *p = params;
	struct s3_object       *o = result;

	if (reply->body->len > p->cap) {
		*cause = xasprintf("%s is larger than the cap of %zu bytes",
		    p->what, p->cap);
		return (-2);
	}
	if (!s3_body_matches(reply->headers, reply->body->data,
		reply->body->len)) {
		*cause = xasprintf("%s does not match its ETag (garbled on the "
				   "way)",
		    p->what);
		return (-1);
	}
	s3_info_from_headers(&o->info, reply->headers,
	    (long long)reply->body->len);
	if (reply->body->data != NULL)
		o->data = buf_take(reply->body, &o->len);
	else
		o->data = xstrdup("");
	o->info.size = (long long)o->len;
	return (0);
}

static int
s3_put_read(void *result, const void *params, struct aws_reply *reply,
    char **cause)
{
	struct s3_put_result *r = result;

	(void)params;
	(void)cause;
	r->etag = s3_header_dup(reply->headers, "ETag");
	if (r->etag == NULL)
		r->etag = xstrdup("");
	r->version_id = s3_header_dup(reply->headers, "x-amz-version-id");
	return (0);
}

void
s3_object_list_free(struct s3_object_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].etag);
	}
	free(l->v);
	free(l);
}


static char *
s3_url_decode(const char *s)
{
	char *out, *o;
	int   hi, lo;

	o = out = xmalloc(strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2])) {
				free(out);
				return (NULL);
			}
			hi = isdigit((unsigned char)s[1]) ?
				 s[1] - '0' :
				 tolower((unsigned char)s[1]) - 'a' + 10;
			lo = isdigit((unsigned char)s[2]) ?
				 s[2] - '0' :
				 tolower((unsigned char)s[2]) - 'a' + 10;
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	if (strlen(out) != (size_t)(o - out)) { /* %00 */
		free(out);
		return (NULL);
	}
	return (out);
}

int
s3_parse_list_page(struct s3_object_list *l, const void *data, size_t len,
    size_t max_total, char **next, char **cause)
{
	struct xml		 *doc = NULL;
	const struct xml_node	 *root, *c;
	struct s3_object_summary *s;
	const char		 *key, *etag, *token;
	long long		  size;
	struct timespec		  mtime;
	int			  truncated, rc = -1;

	*next = NULL;
	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	root = xml_root(doc);
	if (strcmp(xml_name(root), "ListBucketResult") != 0) {
		*cause = xasprintf("not a ListBucketResult but %s",
		    xml_name(root));
		goto out;
	}
	if (xml_get_bool(root, "IsTruncated", &truncated, cause) != 0)
		goto out;
	for (c = xml_find(root, "Contents"); c != NULL; c = xml_next(c)) {
		if (xml_get_text(c, "Key", &key, cause) != 0 ||
		    xml_get_int(c, "Size", &size, cause) != 0 ||
		    xml_get_time(c, "LastModified", &mtime, cause) != 0)
			goto out;
		if ((etag = xml_find_text(c, "ETag")) == NULL)
			etag = "";
		if (l->n == max_total) {
			*cause = xasprintf("more than %zu objects", max_total);
			rc = -2;
			goto out;
		}
		/* Room doubles from 64: grow when n is 0, 64, 128... */
		if (l->n == 0 || (l->n >= 64 && (l->n & (l->n - 1)) == 0))
			l->v = xreallocarray(l->v, l->n == 0 ? 64 : l->n * 2,
			    sizeof *l->v);
		s = &l->v[l->n];
		memset(s, 0, sizeof *s);
		if ((s->key = s3_url_decode(key)) == NULL) {
			*cause = xasprintf("bad key encoding: %s", key);
			goto out;
		}
		s->etag = xstrdup(etag);
		s->size = size;
		s->last_modified_ms = (int64_t)mtime.tv_sec * 1000 +
				      mtime.tv_nsec / 1000000;
		l->n++;
	}
	if (truncated) {
		if ((token = xml_find_text(root, "NextContinuationToken")) ==
			NULL ||
		    *token == '\0') {
			*cause = xstrdup("truncated listing without a "
					 "NextContinuationToken");
			goto out;
		}
		*next = xstrdup(token);
	}
	rc = 0;
out:
	xml_free(doc);
	return (rc);
}


/* A page of the listing, counted, its bound named with where it is. */
static int
s3_list_parse_op(void *result, const void *params, const void *data, size_t len,
    char **next, char **cause)
{
	const struct s3_params *p = params;
	struct s3_object_list  *l = result;
	char		       *c;
	int			rc;

	l->pages++;
	rc = s3_parse_list_page(l, data, len, p->max_total, next, cause);
	if (rc == -2) {
		c = xasprintf("%s under %s", *cause, p->what);
		free(*cause);
		*cause = c;
	}
	return (rc);
}

/* ------------------------------------------- bucket notification */

#define S3_NOTIFY_EVENTS_MAX 64

void
s3_notification_free(struct s3_notification *n)
{
	struct s3_notify_config *c;
	size_t			 i, j;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++) {
		c = &n->v[i];
		free(c->id);
		free(c->destination);
		for (j = 0; j < c->nevents; j++)
			free(c->events[j]);
		free(c->events);
		free(c->prefix);
		free(c->suffix);
	}
	free(n->v);
	free(n);
}

/* One configuration element; 0, or -1 and *cause. */
static int
s3_notify_read(struct s3_notify_config *c, const struct xml_node *el,
    const char *dest_name, char **cause)
{
	const struct xml_node *e;
	const char	      *name, *value;

	if ((value = xml_find_text(el, "Id")) != NULL)
		c->id = xstrdup(value);
	if (dest_name != NULL) {
		if ((value = xml_find_text(el, dest_name)) == NULL ||
		    *value == '\0') {
			*cause = xasprintf("%s without %s", xml_name(el),
			    dest_name);
			return (-1);
		}
		c->destination = xstrdup(value);
	}
	for (e = xml_find(el, "Event"); e != NULL; e = xml_next(e)) {
		if (c->nevents == S3_NOTIFY_EVENTS_MAX) {
			*cause = xasprintf("%s with more than %d events",
			    xml_name(el), S3_NOTIFY_EVENTS_MAX);
			return (-1);
		}
		c->events = xreallocarray(c->events, c->nevents + 1,
		    sizeof *c->events);
		c->events[c->nevents++] = xstrdup(xml_text(e));
	}
	for (e = xml_find(el, "Filter/S3Key/FilterRule"); e != NULL;
	     e = xml_next(e)) {
		name = xml_find_text(e, "Name");
		value = xml_find_text(e, "Value");
		if (name == NULL || value == NULL) {
			*cause = xasprintf("%s: a FilterRule without Name or "
					   "Value",
			    xml_name(el));
			return (-1);
		}
		if (strcasecmp(name, "prefix") == 0) {
			free(c->prefix);
			c->prefix = xstrdup(value);
		} else if (strcasecmp(name, "suffix") == 0) {
			free(c->suffix);
			c->suffix = xstrdup(value);
		} else {
			*cause = xasprintf("%s: unknown filter rule \"%s\"",
			    xml_name(el), name);
			return (-1);
		}
	}
	return (0);
}

int
s3_parse_notification(struct s3_notification *n, const void *data, size_t len,
    char **cause)
{
	struct xml	      *doc = NULL;
	const struct xml_node *root, *el;
	const char	      *name, *dest;
	enum s3_notify_kind    kind;
	int		       rc = -1;

	if (xml_parse(&doc, data, len, NULL, cause) != 0)
		goto out;
	root = xml_root(doc);
	if (strcmp(xml_name(root), "NotificationConfiguration") != 0) {
		*cause = xasprintf("not a NotificationConfiguration but %s",
		    xml_name(root));
		goto out;
	}
	for (el = xml_first_child(root); el != NULL;
	     el = xml_next_sibling(el)) {
		name = xml_name(el);
		if (strcmp(name, "QueueConfiguration") == 0) {
			kind = S3_NOTIFY_QUEUE;
			dest = "Queue";
		} else if (strcmp(name, "TopicConfiguration") == 0) {
			kind = S3_NOTIFY_TOPIC;
			dest = "Topic";
		} else if (strcmp(name, "CloudFunctionConfiguration") == 0) {
			kind = S3_NOTIFY_LAMBDA;
			dest = "CloudFunction";
		} else if (strcmp(name, "LambdaFunctionConfiguration") == 0) {
			kind = S3_NOTIFY_LAMBDA;
			dest = "LambdaFunctionArn";
		} else if (strcmp(name, "EventBridgeConfiguration") == 0) {
			kind = S3_NOTIFY_EVENTBRIDGE;
			dest = NULL;
		} else
			continue; /* a newer kind: not ours to judge */
		n->v = xreallocarray(n->v, n->n + 1, sizeof *n->v);
		memset(&n->v[n->n], 0, sizeof n->v[n->n]);
		n->v[n->n].kind = kind;
		if (s3_notify_read(&n->v[n->n++], el, dest, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	xml_free(doc);
	return (rc);
}

/* ------------------------------------------------------------ operations */

AWS_OP_RESULT_READ(s3_head, struct s3_object_info, s3_head_read, s3_head_error,
    s3_object_info_free, s3_head_cb)
AWS_OP_RESULT_READ(s3_get, struct s3_object, s3_get_read, s3_get_error,
    s3_object_free, s3_get_cb)
AWS_OP_RESULT_READ(s3_put, struct s3_put_result, s3_put_read, NULL,
    s3_put_result_free, s3_put_cb)
AWS_OP_RESULT_ONE(s3_notification, struct s3_notification,
    s3_parse_notification, s3_notification_free, s3_notification_cb)
AWS_OP_GLUE(s3_list, struct s3_object_list, s3_object_list_free, s3_list_cb)
static const struct aws_op_result s3_list_result = { s3_list_parse_op,
	sizeof(struct s3_object_list), s3_list_free_op, s3_list_deliver, NULL,
	NULL };

/*
 * The buckets are the tools account's: the releases' source bucket and
 * the artifacts bucket CloudFormation reads large templates from.
 * HeadObject needs s3:GetObject, ListObjectsV2 s3:ListBucket.
 */
static const struct aws_op_desc s3_op_list_objects = { &aws_service_s3,
	"ListObjectsV2", &s3_list_result, "continuation-token", NULL, 0,
	{ "s3:ListBucket", AWS_ACCOUNT_TOOLS, "bucket" } };
static const struct aws_op_desc s3_op_head_object = { &aws_service_s3,
	"HeadObject", &s3_head_result, NULL, NULL, 0,
	{ "s3:GetObject", AWS_ACCOUNT_TOOLS, "object" } };
static const struct aws_op_desc s3_op_get_object = { &aws_service_s3,
	"GetObject", &s3_get_result, NULL, NULL, 0,
	{ "s3:GetObject", AWS_ACCOUNT_TOOLS, "object" } };
/* A version named is a grant of its own in IAM. */
static const struct aws_op_desc s3_op_get_object_version = { &aws_service_s3,
	"GetObject", &s3_get_result, NULL, NULL, 0,
	{ "s3:GetObjectVersion", AWS_ACCOUNT_TOOLS, "object" } };
static const struct aws_op_desc s3_op_put_object = { &aws_service_s3,
	"PutObject", &s3_put_result, NULL, NULL, 0,
	{ "s3:PutObject", AWS_ACCOUNT_TOOLS, "object" } };
/* IAM spells the action without "Configuration". */
static const struct aws_op_desc s3_op_get_bucket_notification = {
	&aws_service_s3, "GetBucketNotificationConfiguration",
	&s3_notification_result, NULL, NULL, 0,
	{ "s3:GetBucketNotification", AWS_ACCOUNT_TOOLS, "bucket" }
};

const struct aws_op_desc *const s3_operations[] = { &s3_op_list_objects,
	&s3_op_head_object, &s3_op_get_object, &s3_op_get_object_version,
	&s3_op_put_object, &s3_op_get_bucket_notification, NULL };

/*
 * An op on a bucket or an object, addressed; NULL and *cause when the
 * target is not usable.
 */
static struct aws_op *
s3_op(const struct aws_op_desc *d, struct aws_client *client,
    const struct s3_target *t, int need_key, const char *method, char **cause)
{
	struct aws_op *op;
	char	      *endpoint, *path;

	if (s3_address(client, t, need_key, d->action, &endpoint, &path,
		cause) != 0)
		return (NULL);
	op = aws_op_new(d, client, t->creds, t->region);
	aws_op_rest(op, method, endpoint, path);
	free(endpoint);
	free(path);
	return (op);
}

/* ------------------------------------------------------------ HeadObject */

struct aws_op *
s3_head_object(struct aws_client *client, const struct s3_target *t,
    s3_head_cb cb, void *arg, char **cause)
{
	struct aws_op *op;

	if ((op = s3_op(&s3_op_head_object, client, t, 1, "HEAD", cause)) ==
	    NULL)
		return (NULL);
	aws_op_limits(op, S3_SMALL_REPLY_MAX, 0);
	s3_params(op, 0, 0, t->bucket, t->key);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* ------------------------------------------------------------- GetObject */

struct aws_op *
s3_get_object(struct aws_client *client, const struct s3_target *t, size_t cap,
    s3_get_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	int	       versioned;

	versioned = t->version_id != NULL && *t->version_id != '\0' &&
		    strcmp(t->version_id, "null") != 0;
	if ((op = s3_op(versioned ? &s3_op_get_object_version :
				    &s3_op_get_object,
		 client, t, 1, "GET", cause)) == NULL)
		return (NULL);
	if (versioned) {
		buf_appends(aws_op_query(op), "versionId=");
		aws_sign_uri_encode_buf(aws_op_query(op), t->version_id,
		    strlen(t->version_id), 0);
	}
	if (cap == 0)
		cap = S3_GET_CAP_DEFAULT;
	aws_op_limits(op, cap < S3_GET_BODY_FLOOR ? S3_GET_BODY_FLOOR : cap, 0);
	s3_params(op, cap, 0, t->bucket, t->key);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* ------------------------------------------------------------- PutObject */

static int
s3_meta_name_ok(const char *name)
{
	size_t len = strlen(name);

	return (
	    len > 0 && len < 100 &&
	    strspn(name,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
		len);
}

static int
s3_meta_value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return (0);
	return (1);
}


struct aws_op *
s3_put_object(struct aws_client *client, const struct s3_put_params *p,
    s3_put_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	char	      *line;
	size_t	       n = 0, i;

	for (i = 0; p->metadata != NULL && p->metadata[i] != NULL; i += 2) {
		if (p->metadata[i + 1] == NULL || n == S3_MAX_METADATA / 2 ||
		    !s3_meta_name_ok(p->metadata[i]) ||
		    !s3_meta_value_ok(p->metadata[i + 1])) {
			*cause = xasprintf("S3 PutObject: bad or too much "
					   "metadata for %s/%s",
			    p->t.bucket, p->t.key);
			return (NULL);
		}
		n++;
	}
	if ((op = s3_op(&s3_op_put_object, client, &p->t, 1, "PUT", cause)) ==
	    NULL)
		return (NULL);
	for (i = 0; p->metadata != NULL && p->metadata[i] != NULL; i += 2) {
		line = xasprintf("x-amz-meta-%s: %s", p->metadata[i],
		    p->metadata[i + 1]);
		aws_op_header(op, line);
		free(line);
	}
	aws_op_payload(op, p->data, p->len,
	    p->content_type != NULL ? p->content_type : "binary/octet-stream");
	aws_op_limits(op, S3_SMALL_REPLY_MAX, 0);
	s3_params(op, 0, 0, p->t.bucket, p->t.key);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* --------------------------------------------------------- ListObjectsV2 */

/* Every page: the op follows NextContinuationToken. */
struct aws_op *
s3_list_objects(struct aws_client *client, const struct s3_list_params *p,
    s3_list_cb cb, void *arg, char **cause)
{
	struct aws_op	*op;
	struct s3_target t = p->t;
	struct buf	*q;

	t.key = NULL;
	if ((op = s3_op(&s3_op_list_objects, client, &t, 0, "GET", cause)) ==
	    NULL)
		return (NULL);
	if (p->page_size > 1000) {
		*cause = xasprintf("S3 ListObjectsV2: page size %u over 1000",
		    p->page_size);
		aws_op_free(op);
		return (NULL);
	}
	q = aws_op_query(op);
	buf_appends(q, "encoding-type=url&list-type=2");
	if (p->page_size != 0)
		buf_printf(q, "&max-keys=%u", p->page_size);
	if (p->prefix != NULL && *p->prefix != '\0') {
		buf_appends(q, "&prefix=");
		aws_sign_uri_encode_buf(q, p->prefix, strlen(p->prefix), 0);
	}
	aws_op_limits(op, S3_LIST_REPLY_MAX, 0);
	s3_params(op, 0, p->max_total != 0 ? p->max_total : S3_LIST_MAX_DEFAULT,
	    t.bucket, p->prefix);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* ------------------------------------ GetBucketNotificationConfiguration */

struct aws_op *
s3_get_bucket_notification(struct aws_client *client, const struct s3_target *t,
    s3_notification_cb cb, void *arg, char **cause)
{
	struct aws_op	*op;
	struct s3_target bt = *t;

	bt.key = NULL;
	if ((op = s3_op(&s3_op_get_bucket_notification, client, &bt, 0, "GET",
		 cause)) == NULL)
		return (NULL);
	buf_appends(aws_op_query(op), "notification");
	aws_op_limits(op, S3_SMALL_REPLY_MAX, 0);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
