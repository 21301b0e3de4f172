/*
 * ECR logins for the registry client: GetAuthorizationToken with an
 * account's credentials (for an environment, the role aws-context assumes
 * in its account) gives the Basic username ("AWS") and password for that
 * account's registry, valid 12 hours.  Logins are cached per credentials
 * and region until `margin` seconds before they expire, so a promotion
 * asks once and a long one never uses a password about to lapse.
 *
 * registry_ecr_login either fails synchronously (-1, *cause set, no
 * callback) or calls its callback exactly once from a later loop
 * iteration (a cached login too).  The login passed to the callback is
 * valid during the callback only; its password is a secret (never
 * logged, wiped when dropped from the cache).
 */
#ifndef SHIPGATE_REGISTRY_ECR_H
#define SHIPGATE_REGISTRY_ECR_H

#include <time.h>

#include "aws-op.h" /* struct aws_grant */

struct aws_client;
struct aws_creds;
struct registry;
struct registry_ecr;

/*
 * The IAM actions ECR checks for the registry API calls of an image copy
 * (they are not aws-op operations), for --list-operations; ended by a
 * row whose action is NULL.
 */
extern const struct aws_grant registry_ecr_grants[];

#define REGISTRY_ECR_MARGIN_DEFAULT (15 * 60) /* s */
#define REGISTRY_ECR_ACCOUNT_SIZE   13	      /* 12 digits + NUL */
#define REGISTRY_ECR_REGION_SIZE    32

struct registry_ecr_login {
	const char *username;
	const char *password; /* secret */
	const char *endpoint; /* https://ACCT.dkr... */
	time_t	    expires;
	int	    cached; /* 1: no call was made */
};

/* error is 0 or an AWS_E* code (aws-client.h), with message. */
typedef void (*registry_ecr_cb)(int error, const char *message,
    const struct registry_ecr_login *, void	      *arg);

/* margin_s: 0 for the default. */
struct registry_ecr *registry_ecr_new(struct aws_client *, int margin_s);
/* Only when no login is in flight; wipes the cached passwords. */
void registry_ecr_free(struct registry_ecr *);

/* creds NULL: the client's own; region NULL: the client's. */
int registry_ecr_login(struct registry_ecr *, struct aws_creds *,
    const char *region, registry_ecr_cb, void *arg, char **cause);
/* Uses a login on a registry (registry_set_credentials). */
void registry_ecr_apply(const struct registry_ecr_login *, struct registry *);
/*
 * 1 if host ("host" or "host:port") is an ECR registry,
 * ACCOUNT.dkr.ecr.REGION.amazonaws.com (or .amazonaws.com.cn), with its
 * account and region; else 0.  Pure.
 */
int registry_ecr_host(const char *host, char account[REGISTRY_ECR_ACCOUNT_SIZE],
    char region[REGISTRY_ECR_REGION_SIZE]);
/* Logins cached now (tests). */
int registry_ecr_cached(const struct registry_ecr *);

#endif
