/*
 * Everything shipgate needs to reach AWS, built from the configuration
 * (again on a reload that changes aws.*): the HTTP transport, the client (standard retries,
 * endpoint overrides from `aws.endpoints`), the host's credentials (the
 * SDKs' default chain) and, per environment, a provider that assumes the
 * environment's role (cached by role, external id and region, so every
 * call to one account shares one set of temporary credentials).
 */
#ifndef SHIPGATE_AWS_CONTEXT_H
#define SHIPGATE_AWS_CONTEXT_H

#include <uv.h>

struct config;
struct config_app;
struct config_environment;
struct aws_client;
struct aws_creds;
struct http_client;

struct aws_context;

/* NULL and *cause (caller frees) when the credentials chain is unusable. */
struct aws_context *aws_context_new(uv_loop_t *, const struct config *,
    char **cause);
/*
 * Stops every call in flight (their callbacks come with
 * AWS_ECANCELLED), closes the transport's handles, frees everything,
 * then calls cb.  Run the loop until cb has been called.
 */
void aws_context_close(struct aws_context *, void (*cb)(void *), void *arg);
/*
 * A reload: when config's aws.* (region, max_attempts, profile,
 * endpoints) differ from the running ones, makes new clients and
 * credentials from them for every call started from now on; calls in
 * flight finish on the old ones, which are freed once their last call
 * has ended and nothing holds them.  1 when applied, 0 when nothing
 * changed, -1 and *cause (caller frees) when the new settings cannot be
 * used (a profile that is not there): the running ones are kept.
 */
int aws_context_reconfigure(struct aws_context *, const struct config *,
    char **cause);
/*
 * For work that keeps a client or credentials across several calls (a
 * promotion's registry logins): the settings in use now stay alive
 * until the hold is released, whatever reloads happen meanwhile.  A
 * hold may be released after aws_context_close (its client is gone by
 * then, as every client is).
 */
struct aws_context_hold;
struct aws_context_hold *aws_context_hold(struct aws_context *);
void			 aws_context_release(struct aws_context_hold *);
struct aws_client	*aws_context_hold_client(struct aws_context_hold *);

/*
 * These give the settings in use now: take them when a call starts, not
 * once for good, so that a reload reaches the next call.
 */
struct aws_client  *aws_context_client(struct aws_context *);
struct http_client *aws_context_http(struct aws_context *);
struct aws_creds   *aws_context_host_creds(struct aws_context *);
/*
 * The credentials of an environment's account (AssumeRole with the
 * host's), created on first use; NULL and *cause on a bad role.
 */
struct aws_creds *aws_context_env_creds(struct aws_context *,
    const struct config_app *, const struct config_environment *, char **cause);
/* The environment's region: its own, or aws.region. */
const char *aws_context_env_region(struct aws_context *,
    const struct config_environment *);
const char *aws_context_region(struct aws_context *);

#endif
