/*
 * AWS credentials: a provider hands out the current credentials from its
 * cache and refreshes them before they expire, one refresh at a time
 * (callers that arrive during a refresh wait for it, they do not start
 * another).  Providers: static keys (tests), the SDKs' default chain
 * (environment, shared profile files, EC2 instance metadata with IMDSv2),
 * and roles assumed through STS (aws-creds-role.h, one layer up since it
 * calls STS through the client).
 *
 * Secrets live only inside the provider's cache and the requests being
 * signed; they are never logged and are wiped when replaced or freed.
 */
#ifndef SHIPGATE_AWS_CREDS_H
#define SHIPGATE_AWS_CREDS_H

#include <stdint.h>

struct aws_credentials {
	char   *access_key_id;
	char   *secret_access_key;
	char   *session_token; /* NULL when none */
	int64_t expires_ms;    /* unix ms; 0: never */
};

/* Wipes and frees the strings; the struct itself is the caller's. */
void aws_credentials_clear(struct aws_credentials *);

struct aws_creds;

/*
 * A provider's fetch: start getting fresh credentials and report with
 * aws_creds_fetched(), exactly once, from a later loop iteration (never
 * from inside fetch).  A provider whose credentials never expire has no
 * fetch (NULL).
 */
struct aws_creds_ops {
	const char *kind; /* "static", "environment", ... */
	void (*fetch)(struct aws_creds *, void *impl);
	/* Stop an in-flight fetch and free impl. */
	void (*free)(void *impl);
};

/* How early before expiry a refresh starts (the SDKs use 5-15 min). */
#define AWS_CREDS_REFRESH_MARGIN_MS (10 * 60 * 1000)

/*
 * Called once per refresh with 0 and the provider, or a negative code
 * and a message (valid during the callback only).
 */
typedef void (
    *aws_creds_cb)(struct aws_creds *, int error, const char *cause, void *arg);

#define AWS_CREDS_EFETCH  (-1) /* the source failed; see cause */
#define AWS_CREDS_ENONE	  (-2) /* no source has credentials */
#define AWS_CREDS_ECLOSED (-3) /* the provider was freed */

/*
 * For provider implementations: `impl` belongs to the provider from
 * now on (ops->free releases it); `initial` (may be NULL) is taken.
 */
struct aws_creds *aws_creds_new(const struct aws_creds_ops *, void *impl,
    const char *source, struct aws_credentials *initial);
/* The outcome of a fetch; `fresh` is taken (its strings) on success. */
void aws_creds_fetched(struct aws_creds *, int error, const char *cause,
    struct aws_credentials *fresh);

/*
 * The credentials to sign with now, when they stay valid for at least
 * the refresh margin after now_ms; NULL when a refresh is needed.  The
 * pointer is valid until the next refresh completes: sign with it at
 * once, do not keep it.
 */
const struct aws_credentials *aws_creds_current(struct aws_creds *,
    int64_t now_ms);
/*
 * Refreshes: cb is called exactly once, from a later loop iteration.
 * Concurrent callers share one fetch.  Fails synchronously (returns a
 * negative code and never calls cb) only for a provider that cannot
 * refresh (static keys).  A provider with credentials still valid past
 * now is still refreshed.
 */
int aws_creds_refresh(struct aws_creds *, aws_creds_cb, void *arg);
/* Where the credentials come from: "environment", "profile deploy",
   "instance metadata", "role arn:aws:iam::...". */
const char *aws_creds_source(const struct aws_creds *);
/* Waiters get AWS_CREDS_ECLOSED; the fetch in flight is stopped. */
void aws_creds_free(struct aws_creds *);

/* Keys that never expire (tests, and the environment's keys). */
struct aws_creds *aws_creds_static_new(const char *access_key_id,
    const char *secret_access_key, const char *session_token,
    const char *source);

#endif
