/*
 * OpenID Connect's relying party, without I/O: the provider's discovery
 * document, the sign-ins in progress (state, nonce, PKCE verifier), the
 * authorization and end-session URLs, the token endpoint's reply and
 * the person an ID token names.  The HTTP calls are the caller's
 * (portal-oidc.c, through the daemon's transport); the clock is passed
 * in (unix seconds).
 *
 * Nothing here logs, and no message quotes a code, a token or the
 * client secret.
 */
#ifndef SHIPGATE_OIDC_H
#define SHIPGATE_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include "jose.h"

struct config_oidc;
struct config_kvs;

#define OIDC_EDISCOVERY (-1) /* discovery document refused */
#define OIDC_ESTATE	(-2) /* unknown, used or expired state */
#define OIDC_ETOKEN	(-3) /* token endpoint's reply refused */
#define OIDC_ENOGROUP	(-4) /* no provider group maps to ours */
#define OIDC_ECLAIM	(-5) /* no user claim */

/* A discovery document is fetched again after this long. */
#define OIDC_DISCOVERY_TTL (24 * 3600)
/* A sign-in must come back from the provider within this long. */
#define OIDC_PENDING_TTL     600
#define OIDC_PENDING_MAX     1024
#define OIDC_MAX_DISCOVERY   (256 * 1024)
#define OIDC_MAX_TOKEN_REPLY (64 * 1024)

struct oidc_discovery {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *end_session_endpoint; /* NULL when none */
};

/*
 * Reads a discovery document: its issuer must be the configured one
 * exactly; every endpoint https (http only when the issuer is a
 * loopback address); code flow and S256 offered when it lists them.
 */
int oidc_discovery_parse(const char *, size_t, const char *issuer, int loopback,
    struct oidc_discovery *, char **cause);
void oidc_discovery_clear(struct oidc_discovery *);
/* ISSUER/.well-known/openid-configuration (caller frees). */
char *oidc_discovery_url(const char *issuer);

/* A sign-in in progress, made when the browser is sent away. */
struct oidc_login {
	char	state[48]; /* base64url of 32 random bytes */
	char	nonce[48];
	char	verifier[48]; /* PKCE code_verifier */
	char	next[256];    /* local path to go to afterwards */
	int64_t created;
};

/*
 * The sign-ins in progress: each state is taken once (a replayed
 * callback finds nothing), within OIDC_PENDING_TTL.  Thread-safe.  When
 * full, the oldest is dropped.
 */
struct oidc_pending;

struct oidc_pending *oidc_pending_new(void);
void		     oidc_pending_free(struct oidc_pending *);
/* A new sign-in (random state, nonce, verifier) kept and copied to out;
 * -1 when the kernel has no random bytes. */
int oidc_pending_start(struct oidc_pending *, const char *next, int64_t now,
    struct oidc_login *out);
/* Takes the sign-in of state out of the table: 0, or OIDC_ESTATE. */
int oidc_pending_take(struct oidc_pending *, const char *state, int64_t now,
    struct oidc_login *out);

/* The PKCE S256 challenge of a verifier (caller frees). */
char *oidc_pkce_challenge(const char *verifier);

/* Where the browser is sent to sign in (caller frees). */
char *oidc_authorize_url(const struct oidc_discovery *,
    const struct config_oidc *, const char *redirect_uri,
    const struct oidc_login *);
/* The token request's form body (caller wipes and frees): the code,
 * the verifier and the redirect URI; the client authenticates with
 * HTTP basic auth (client_secret_basic). */
char *oidc_token_form(const char *code, const char *redirect_uri,
    const char *verifier);
/*
 * The id_token of the token endpoint's JSON reply, in *id_token (caller
 * wipes and frees); the access and refresh tokens are not kept.
 */
int oidc_token_reply(const char *, size_t, long status, char **id_token,
    char **cause);
/* The provider's sign-out URL, or NULL when it has none. */
char *oidc_end_session_url(const struct oidc_discovery *, const char *client_id,
    const char *post_logout_uri);

/*
 * The person a verified token names: the user claim (*name) and e-mail
 * (the email claim, else the name), and the shipgate groups its
 * provider groups map to (*groups, NULL-terminated, strings of the
 * config; the caller frees the array).  OIDC_ECLAIM when the user claim
 * is missing or unusable, OIDC_ENOGROUP when no group maps (a message
 * for the person in *cause).
 */
int oidc_person(const struct jose_token *, const char *user_claim,
    const char *groups_claim, const struct config_kvs *map, const char **name,
    const char **email, const char ***groups, char **cause);

/* URL-encodes s for a query or a form (caller frees). */
char *oidc_urlencode(const char *);

#endif
