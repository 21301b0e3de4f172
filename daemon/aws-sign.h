/*
 * AWS Signature Version 4, pure: requests and credentials in, canonical
 * request, string to sign, signature and the headers (or query
 * parameters) to add out.  No I/O and no clock: the caller passes the
 * time.  Also SigV4's URI encoding; SHA-256 and hex are digest.h's.
 *
 * Ownership, in one place:
 * - Everything passed in (struct aws_sign_request, its headers, struct
 *   aws_sign_params and the credentials) is borrowed for the length of
 *   the call and never kept.
 * - Every string in a struct aws_sign_result belongs to that result: it
 *   stays valid until the next signing call with the same result, or
 *   aws_sign_result_free(), whichever comes first.  Copy what must live
 *   longer.  The result is reused from call to call without allocating
 *   once it has grown, and is wiped when freed (it holds the session
 *   token).
 * - struct aws_sign_cache (aws_sign_cache_new) is freed with
 *   aws_sign_cache_free, which wipes the secret and signing key it holds.
 * - aws_sign_uri_encode returns a string the caller frees with free(3).
 * - struct aws_sign_parsed is freed with aws_sign_parsed_free.
 * - *cause, when set, is a string the caller frees with free(3).
 *
 * Nothing here is thread-safe on shared objects: one cache and one result
 * per thread (the daemon signs on its loop thread only).
 */
#ifndef SHIPGATE_AWS_SIGN_H
#define SHIPGATE_AWS_SIGN_H

#include <stddef.h>
#include <time.h>

struct buf;

/* Error codes: 0 is success. */
#define AWS_SIGN_EINVAL	  (-1) /* bad argument (missing field, bad time) */
#define AWS_SIGN_EREQUEST (-2) /* request cannot be signed as given */
#define AWS_SIGN_EPARSE	  (-3) /* malformed request text */
#define AWS_SIGN_ETOOBIG  (-4) /* too many headers or parameters */
#define AWS_SIGN_ECRYPTO  (-5) /* libcrypto failed */

/* Hex SHA-256 and HMAC-SHA256 strings: 64 digits and a NUL. */
#define AWS_SIGN_HEX_SIZE 65
/* "20150830T123600Z" and a NUL. */
#define AWS_SIGN_AMZ_DATE_SIZE 17

#define AWS_SIGN_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define AWS_SIGN_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Limits on what one request may carry. */
#define AWS_SIGN_MAX_HEADERS 128
#define AWS_SIGN_MAX_PARAMS  1024
#define AWS_SIGN_MAX_EXPIRES 604800 /* seven days, AWS's maximum */

/*
 * Flags in struct aws_sign_params.  Service "s3" implies AWS_SIGN_S3;
 * other services normalise the path, URI-encode it (once more: the path
 * as sent is already encoded) and add no x-amz-content-sha256 header.
 */
#define AWS_SIGN_NO_NORMALIZE	  0x01 /* keep dot segments and "//" */
#define AWS_SIGN_NO_DOUBLE_ENCODE 0x02 /* sign the path as sent */
#define AWS_SIGN_CONTENT_SHA256	  0x04 /* add and sign x-amz-content-sha256 */
#define AWS_SIGN_OMIT_TOKEN	  0x08 /* add the session token unsigned */
#define AWS_SIGN_S3                                          \
	(AWS_SIGN_NO_NORMALIZE | AWS_SIGN_NO_DOUBLE_ENCODE | \
	    AWS_SIGN_CONTENT_SHA256)

/* Flag for aws_sign_uri_encode. */
#define AWS_SIGN_URI_KEEP_SLASH 0x01 /* leave '/' alone (paths) */

struct aws_sign_header {
	const char *name;
	const char *value;
};

/*
 * A request to sign.  Every header given is signed; it must include Host
 * and must not include Authorization or X-Amz-Date (the signer adds
 * them).  Add headers that must stay unsigned (User-Agent) afterwards.
 */
struct aws_sign_request {
	const char *method; /* "GET" */
	/*
	 * The path exactly as it goes on the request line, already
	 * percent-encoded: for S3, "/bucket/" followed by the key encoded
	 * with aws_sign_uri_encode(key, AWS_SIGN_URI_KEEP_SLASH).  NULL or
	 * "" means "/".
	 */
	const char *path;
	/*
	 * The raw query string without '?', as sent; NULL or "" for none.
	 * Each name and value is percent-decoded and encoded again for the
	 * canonical query, so pre-encoded and raw bytes sign alike; a '+'
	 * is a plus sign, not a space (build queries with
	 * aws_sign_uri_encode, which never writes '+').  A malformed
	 * escape ("%zz") is AWS_SIGN_EREQUEST.
	 */
	const char		     *query;
	const struct aws_sign_header *headers;
	size_t			      nheaders;
	/*
	 * The payload: payload_hash if set (hex SHA-256, or
	 * AWS_SIGN_UNSIGNED_PAYLOAD for a streamed S3 body), otherwise the
	 * SHA-256 of body/body_len is computed (NULL/0 is the empty body;
	 * for a presigned S3 URL it is UNSIGNED-PAYLOAD instead, as a URL
	 * cannot know its body).
	 */
	const void *body;
	size_t	    body_len;
	const char *payload_hash;
};

struct aws_sign_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL when none */
};

struct aws_sign_params {
	struct aws_sign_credentials creds;
	const char		   *region;  /* "eu-west-1" */
	const char		   *service; /* signing name: "sqs", "s3" */
	time_t			    now;     /* seconds since the epoch, UTC */
	unsigned int		    flags;   /* AWS_SIGN_* above */
	unsigned int		    expires; /* query signing: X-Amz-Expires */
};

/*
 * What signing produced.  Initialise with aws_sign_result_init (or zero
 * it), free with aws_sign_result_free.  headers[] are the headers to add
 * to the request, in this order: X-Amz-Security-Token, X-Amz-Date,
 * x-amz-content-sha256, Authorization, each only when it applies (query
 * signing adds none: see query).
 */
struct aws_sign_result {
	const char *canonical_request;
	const char *string_to_sign;
	const char *signed_headers; /* "host;x-amz-date" */
	const char *signature;	    /* 64 hex digits */
	const char *amz_date;	    /* "20150830T123600Z" */
	const char *authorization;  /* header signing; else NULL */
	/*
	 * Query signing: the whole query string to send, without '?': the
	 * request's own query as given, then X-Amz-Algorithm, -Credential,
	 * -Date, -SignedHeaders, -Expires, -Security-Token and -Signature.
	 * NULL after header signing.
	 */
	const char	      *query;
	struct aws_sign_header headers[4];
	size_t		       nheaders;

	/* Private. */
	char  *mem; /* outputs */
	size_t mem_len, mem_cap;
	char  *tmp; /* canonicalisation scratch */
	size_t tmp_len, tmp_cap;
	void  *ents; /* sort entries */
	size_t ents_cap;
};

void aws_sign_result_init(struct aws_sign_result *);
void aws_sign_result_free(struct aws_sign_result *);

/*
 * The signing-key cache and reusable digest contexts.  The key
 * (kDate -> kRegion -> kService -> kSigning) is derived once per UTC
 * date, region, service and credentials, and derived again when any of
 * them changes, such as at midnight UTC.  The cache holds a few keys (a
 * client signs for several services and roles in turn) and reuses the
 * slot of a past date's or the least recently used key.  Pass NULL to
 * the signing functions to sign without one (slower: the key is derived
 * each time).
 */
struct aws_sign_cache;

struct aws_sign_cache *aws_sign_cache_new(void);
void		       aws_sign_cache_free(struct aws_sign_cache *);
/* How many times the cache derived a signing key (tests, metrics). */
unsigned long aws_sign_cache_derivations(const struct aws_sign_cache *);

/*
 * Sign for an Authorization header (aws_sign_headers) or for a presigned
 * URL (aws_sign_query, which needs params->expires).  0 on success with
 * *result filled in; a negative AWS_SIGN_E* on failure, with *cause (if
 * cause is not NULL) set to a description the caller frees.  The
 * canonical request and string to sign are always available in the
 * result, for debugging signature mismatches; they hold no secret.
 */
int aws_sign_headers(struct aws_sign_cache *, const struct aws_sign_request *,
    const struct aws_sign_params *, struct aws_sign_result *, char **cause);
int aws_sign_query(struct aws_sign_cache *, const struct aws_sign_request *,
    const struct aws_sign_params *, struct aws_sign_result *, char **cause);

const char *aws_sign_strerror(int);

/* "YYYYMMDDTHHMMSSZ" for a time; 0, or AWS_SIGN_EINVAL if out of range. */
int aws_sign_amz_date(time_t, char out[AWS_SIGN_AMZ_DATE_SIZE]);

/*
 * URI-encode as SigV4 wants: A-Z a-z 0-9 - . _ ~ kept, every other byte
 * as %XX in upper case; '/' kept with AWS_SIGN_URI_KEEP_SLASH.
 * aws_sign_uri_encode returns a new string (free(3) it);
 * aws_sign_uri_encode_buf appends to a buffer and returns its error.
 */
char *aws_sign_uri_encode(const void *, size_t, int flags);
int   aws_sign_uri_encode_buf(struct buf *, const void *, size_t, int flags);

/*
 * Parse an HTTP/1.1-style request text ("GET /p?q HTTP/1.1", "Name:value"
 * lines, an empty line, the body), as the official SigV4 test suites and
 * debugging dumps write it.  LF or CRLF line ends; a line starting with
 * a space or tab continues the previous header (obs-fold, joined with
 * one space).  The request line's target may contain spaces.  The
 * request points into *parsed, which the caller frees with
 * aws_sign_parsed_free (also after a failure).  AWS_SIGN_EPARSE with a
 * cause on malformed text.
 */
struct aws_sign_parsed {
	struct aws_sign_request req;
	const char	       *version; /* "HTTP/1.1" */

	/* Private. */
	char		       *mem;
	struct aws_sign_header *hdrs;
};

int  aws_sign_parse_request(const char *, size_t, struct aws_sign_parsed *,
     char **cause);
void aws_sign_parsed_free(struct aws_sign_parsed *);

#endif
