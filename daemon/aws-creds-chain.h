/*
 * The SDKs' default credentials chain, in their order:
 *
 *  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *     optionally AWS_SESSION_TOKEN;
 *  2. the shared files: profile AWS_PROFILE (or "default") from
 *     AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE (defaults
 *     ~/.aws/credentials and ~/.aws/config), resolved by aws-profile.c:
 *     static keys, or roles (role_arn with source_profile, or with
 *     credential_source Environment / Ec2InstanceMetadata) assumed through
 *     STS by stacked aws-creds-role providers;
 *  3. EC2 instance metadata, IMDSv2 (a token PUT, then the instance
 *     role's credentials), never through a proxy, with short timeouts;
 *     endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *     http://169.254.169.254), off when AWS_EC2_METADATA_DISABLED=true.
 *
 * The environment and the files are read once, when the chain is made;
 * the provider returned is the first source that has credentials
 * (instance metadata is only asked when credentials are first needed).
 * Its source names it ("environment", "profile deploy", "profile deploy
 * role arn:...", "instance metadata") without any secret;
 * aws-creds.c logs it once, on the first success.
 */
#ifndef SHIPGATE_AWS_CREDS_CHAIN_H
#define SHIPGATE_AWS_CREDS_CHAIN_H

#include <uv.h>

#include "aws-client.h"
#include "aws-creds.h"
#include "http.h"

struct aws_creds_chain_options {
	uv_loop_t	   *loop;
	struct http_client *http; /* for instance metadata */
	/*
	 * For the AssumeRole calls of profile roles (made with explicit
	 * credentials: a client without default credentials will do).
	 * NULL: a profile with a role is an error.
	 */
	struct aws_client *sts_client;
	const char	  *profile; /* NULL: $AWS_PROFILE/default */
	/* For profile roles without role_session_name; NULL: "shipgate". */
	const char *session_name;
	long	    imds_timeout_ms; /* per request; 0: 1000 */
};

/*
 * Returns the provider of the first source with credentials, or NULL
 * and *cause when none has any or a source is broken (a profile named
 * but absent, a malformed file, credential_source Environment without
 * the variables).  Free it with aws_creds_free before the client and
 * the HTTP client it uses.
 */
struct aws_creds *aws_creds_chain_new(const struct aws_creds_chain_options *,
    char **cause);

/*
 * The instance metadata provider on its own.  endpoint NULL: the
 * environment's or the default.  Always succeeds; fetches fail with a
 * cause naming the step (token, role name, credentials).
 */
struct aws_creds *aws_creds_imds_new(uv_loop_t *, struct http_client *,
    const char *endpoint, long timeout_ms);

#endif
