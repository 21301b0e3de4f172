/*
 * A credentials provider that assumes an IAM role through STS with a
 * base provider's credentials, caches the temporary credentials and
 * refreshes them before they expire (AWS_CREDS_REFRESH_MARGIN_MS); the
 * callers that arrive during a refresh share its one AssumeRole call
 * (aws-creds.c).  Role chains (a profile's role assumed from another
 * role) stack providers: the base of one is the next one down.
 *
 * It sits above aws-creds.c since it calls STS through the client.
 */
#ifndef SHIPGATE_AWS_CREDS_ROLE_H
#define SHIPGATE_AWS_CREDS_ROLE_H

#include "aws-client.h"
#include "aws-creds.h"

struct aws_creds_role_options {
	const char *role_arn;
	const char *external_id; /* NULL: none */
	/* "shipgate-billing-stg": [\w+=,.@-]{2,64}, checked here. */
	const char *session_name;
	int	    duration_seconds; /* 0: STS's default (3600) */
	const char *region;	      /* STS region; NULL: client's */
	/* When set, the role provider owns `base` and frees it. */
	int own_base;
	/* The provider's source for logs; NULL: "role ARN". */
	const char *source;
};

/*
 * The client makes the AssumeRole calls with `base`'s credentials (its
 * own default credentials are not used, so a client created without
 * any will do).  The client and base (unless owned) must outlive the
 * provider.  Returns NULL and *cause on a bad ARN or session name (an
 * owned base is freed then too).
 */
struct aws_creds *aws_creds_role_new(struct aws_client *,
    struct aws_creds *base, const struct aws_creds_role_options *,
    char	    **cause);

#endif
