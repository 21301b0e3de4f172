/*
 * The portal's request parsing: query strings and urlencoded forms,
 * Cookie headers, request paths, origins and ISO 8601 times.  Pure and
 * bounded: every function takes outside bytes with their length, never
 * trusts a NUL, allocates with xmalloc and returns a negative value on
 * anything malformed (a bad %-escape, a NUL byte, too many fields), so
 * the caller answers 400.  Fuzzed by tests/fuzz/fuzz-portal-http.c.
 */
#ifndef SHIPGATE_PORTAL_HTTP_H
#define SHIPGATE_PORTAL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define PORTAL_HTTP_FIELDS_MAX	 64 /* fields in one form or query */
#define PORTAL_HTTP_SEGMENTS_MAX 8  /* segments in one path */

/* Decoded form or query fields, in order; a name may repeat. */
struct portal_kv {
	char *key;
	char *value;
};
struct portal_form {
	struct portal_kv *items;
	size_t		  n;
};

/*
 * Decodes %XX and (plus_is_space) '+' of len bytes; the result is
 * NUL-terminated in *outp (caller frees).  -1 on a bad escape or a
 * decoded NUL byte (nothing is returned then).
 */
int portal_http_decode(const char *in, size_t len, int plus_is_space,
    char **outp);

/*
 * "a=1&b=x+y&c" (a query string without its '?', or an
 * application/x-www-form-urlencoded body) into form, which the caller
 * zeroes first and frees with portal_form_free.  Empty pairs ("&&") are
 * skipped; a key without '=' gets the value "".  -1 (form left empty) on
 * a malformed escape, a NUL or more than max fields (0: the default
 * PORTAL_HTTP_FIELDS_MAX).
 */
int portal_form_parse(const char *data, size_t len, size_t max,
    struct portal_form *);
/* The first value of key, or NULL. */
const char *portal_form_get(const struct portal_form *, const char *key);
void	    portal_form_free(struct portal_form *);

/*
 * The value of cookie name in a Cookie header ("a=1; sid=abc"), or
 * NULL (and 0) when absent; -1 when the header is malformed.  The value
 * is returned as sent (no decoding; surrounding quotes removed), in
 * *valuep (caller frees).
 */
int portal_cookie_get(const char *header, size_t len, const char *name,
    char **valuep);

/*
 * A request path ("/runs/42/approve"), as libmicrohttpd hands it over
 * (already %-decoded, once), split into segments: segs[0] = "runs", ...
 * A trailing '/' is allowed ("/runs/" is "/runs"); "/" has no segment.
 * -1 when the path does not start with '/', has an empty segment
 * ("//"), a "." or ".." segment, a '%' (an escape sent escaped: never
 * decoded twice), a control character, or more than
 * PORTAL_HTTP_SEGMENTS_MAX segments.
 */
struct portal_path {
	char  *segs[PORTAL_HTTP_SEGMENTS_MAX];
	size_t n;
};
int  portal_path_parse(const char *path, size_t len, struct portal_path *);
void portal_path_free(struct portal_path *);

/*
 * Whether s may be the target of the redirect after sign-in (the
 * "next" field): a path of this site, one '/' then neither '/' nor
 * '\\' ("//host" and "/\\host" name another site), no control
 * character, shorter than PORTAL_LOCAL_PATH_MAX.  1 or 0.
 */
#define PORTAL_LOCAL_PATH_MAX 1024
int portal_local_path(const char *s);
/* A positive decimal id ("42"; no sign, no leading zero, < 2^63), or -1. */
int portal_parse_id(const char *, int64_t *idp);

/*
 * The origin ("scheme://host[:port]", lower-cased scheme and host) of
 * an absolute http(s) URL such as a Referer or public_url; NULL when the
 * URL is not one.  The default port (80, 443) is dropped.
 */
char *portal_origin_of(const char *url);
/* Whether an Origin header value names origin (both through
 * portal_origin_of). */
int portal_origin_equal(const char *a, const char *b);

/* Unix ms as "2026-11-29T09:11:05Z" into out (at least 25 bytes). */
void portal_iso_time(int64_t ms, char *out, size_t size);

/* Constant-time comparison of two NUL-terminated strings. */
int portal_secure_equal(const char *a, const char *b);

#endif
