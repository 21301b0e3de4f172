/*
 * The portal's OpenID Connect sign-in (auth.oidc): the request threads'
 * side of the authorization code flow.  The HTTP calls (discovery
 * document, key set, token endpoint) go through the daemon's transport
 * on the loop: a request thread hands the call over through the bridge
 * and waits for its end (at most PORTAL_OIDC_TIMEOUT_MS).
 *
 * The discovery document is fetched at the first sign-in, again once a
 * day and when its issuer changed in a reload; the key set with it, and
 * again (at most once a minute, jose_cache) for a token whose kid it
 * does not hold.  Codes, tokens and the client secret are never logged,
 * shown or stored; the client secret is read from its file for each
 * token call and wiped after it.
 */
#ifndef SHIPGATE_PORTAL_OIDC_H
#define SHIPGATE_PORTAL_OIDC_H

#include <stdint.h>

struct config;
struct config_user;
struct http_client;
struct portal_bridge;
struct portal_oidc;

#define PORTAL_OIDC_TIMEOUT_MS 15000

#define PORTAL_OIDC_LOGIN_PATH	  "/auth/oidc/login"
#define PORTAL_OIDC_CALLBACK_PATH "/auth/oidc/callback"

/* http may be NULL (no transport: every sign-in fails, saying so). */
struct portal_oidc *portal_oidc_new(struct portal_bridge *,
    struct http_client *);
/*
 * Wakes the request threads waiting for a call (they fail at once), so
 * that the portal's threads can be joined while the loop is busy
 * stopping them (its calls cannot end then).  portal_oidc_free comes
 * after the threads are joined.
 */
void portal_oidc_shutdown(struct portal_oidc *);
void portal_oidc_free(struct portal_oidc *);

/*
 * Where to send the browser to sign in (caller frees), with a new
 * sign-in kept for the callback; next is where to go afterwards.  NULL
 * and *cause when the provider cannot be reached.
 */
char *portal_oidc_begin(struct portal_oidc *, const struct config *,
    const char *next, int64_t now, char **cause);

/*
 * The callback: state, code and error from the query.  0 with the
 * person (*userp, valid for the process's life) and where to go
 * (*nextp, caller frees); else an HTTP status (400: a bad or replayed
 * request; 403: refused, *cause for the person to read; 502: the
 * provider failed) and *cause.  *logp (caller frees) is what to log,
 * naming no secret.  *persistp: the caller should record the sign-in
 * in the store (people_set).
 */
int portal_oidc_finish(struct portal_oidc *, const struct config *,
    const char *state, const char *code, const char *error, int64_t now,
    const struct config_user **userp, int *persistp, char **nextp, char **cause,
    char **logp);

/* The provider's sign-out URL, back to public_url (caller frees), or
 * NULL when the provider has none or is unknown yet. */
char *portal_oidc_logout_url(struct portal_oidc *, const struct config *);

/*
 * auth.alb: the person an AWS Application Load Balancer's
 * x-amzn-oidc-data header names (the caller checked that the peer is
 * one of trusted_proxies).  The header's kid selects the public key,
 * fetched from key_url/KID (a PEM) once and kept; a kid whose fetch
 * failed is not fetched again within a minute.  0 and *userp (valid for
 * the process's life) and *persistp (as portal_oidc_finish's); -1 and
 * *cause (for the log: no secret in it) when the header is missing or
 * does not verify.
 */
#define PORTAL_ALB_KEYS	   16
#define PORTAL_ALB_KID_MAX 128
int portal_alb_person(struct portal_oidc *, const struct config *,
    const char *header, int64_t now, const struct config_user **userp,
    int *persistp, char **cause);

#endif
