/*
 * The portal's identities: passwords (argon2id), browser sessions, CSRF
 * tokens, sign-in rate limits, the trusted proxy's identity header and
 * API tokens.  The functions that touch the store take the portal
 * thread's connection and the time (unix ms), so the rules are tested
 * with a fixed clock.
 *
 * Sessions: a 256-bit random id, sent as the cookie "sg_session" (64 hex
 * characters), stored as its SHA-256 only.  A session ends at its
 * absolute expiry (created + session_lifetime), after session_idle_timeout
 * without a request, or when revoked (sign-out).
 *
 * CSRF: the token of a session is HMAC-SHA256(key = session id,
 * "shipgate csrf") in hex: bound to the session, unforgeable without its
 * id (which only the HttpOnly cookie holds), stateless, and still valid
 * after a restart.
 *
 * API tokens (token.h): "sgt_" + 64 hex characters, stored as the
 * SHA-256 of the whole string, acting as their user.
 */
#ifndef SHIPGATE_PORTAL_AUTH_H
#define SHIPGATE_PORTAL_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct config_user;
struct store;

#define PORTAL_SESSION_COOKIE "sg_session"
#define PORTAL_SESSION_ID_LEN 64 /* hex characters */
#define PORTAL_CSRF_LEN	      64

/* 0 when password matches the user's argon2id hash; -1 otherwise (also
 * for a user without a hash).  user may be NULL: a hash is still
 * computed, so an unknown name takes as long as a wrong password. */
int portal_auth_password(const struct config_user *, const char *password);

/*
 * A new session for user: *idp (caller frees with freezero_str) is the
 * cookie's value; the sessions that ended are deleted on the way.
 * Returns 0 or a STORE_E* code with *cause.
 */
int portal_session_new(struct store *, const struct config *, const char *user,
    const char *remote_addr, int64_t now, char **idp, char **cause);
/*
 * The user of a live session (caller frees), or NULL: unknown, revoked,
 * expired or idle too long.  A live session's last use is noted (at
 * most once every PORTAL_SESSION_TOUCH_MS).  *store_err is set to a
 * negative STORE_E* code when the store failed (then NULL is returned
 * and the caller answers 503), else 0.
 */
#define PORTAL_SESSION_TOUCH_MS (60 * 1000)
char *portal_session_user(struct store *, const struct config *, const char *id,
    int64_t now, int *store_err);
/* Signs the session out (revoked in the store).  0 or STORE_E*. */
int portal_session_revoke(struct store *, const char *id, int64_t now);
/* The Set-Cookie value for a session id (NULL id: one that deletes the
 * cookie); Secure when public_url is https or TLS is served. */
char *portal_session_cookie(const struct config *, const char *id, int secure);

/* The CSRF token of a session id, in out (PORTAL_CSRF_LEN + 1 bytes). */
void portal_csrf_token(const char *session_id, char *out);
/* 1 when token is the session's (constant time); 0 otherwise or NULL. */
int portal_csrf_check(const char *session_id, const char *token);

/*
 * Sign-in attempts, per client address and per user name, in two
 * tables of max_keys entries each: a key with `attempts` attempts
 * within `window_ms` is locked until the oldest of them leaves the
 * window.  An attempt is counted before the password is checked (so
 * parallel attempts cannot pass together) and a successful sign-in
 * clears both keys.  A locked key is never forgotten for a new one;
 * when a table holds only locked keys, a new key is refused.
 * Thread-safe.
 */
#define PORTAL_RATELIMIT_KEYS 4096 /* per table, by default */
#define PORTAL_USER_NAME_MAX  64   /* bytes; longer names are no user's */
struct portal_ratelimit;
struct portal_ratelimit *portal_ratelimit_new(size_t max_keys);
void			 portal_ratelimit_free(struct portal_ratelimit *);
/*
 * 1 when addr (and user, when not NULL) may try now, the attempt being
 * counted already; 0 when refused: locked, no room for a new key, or a
 * user name longer than PORTAL_USER_NAME_MAX (nothing stored then).
 * *retry_ms: how long to wait.
 */
int portal_ratelimit_attempt(struct portal_ratelimit *, const char *addr,
    const char *user, int attempts, int64_t window_ms, int64_t now,
    int64_t *retry_ms);
/* A successful sign-in clears both keys (user may be NULL). */
void portal_ratelimit_success(struct portal_ratelimit *, const char *addr,
    const char *user);
/* Keys held in both tables; *bytesp (may be NULL): memory they use. */
size_t portal_ratelimit_size(struct portal_ratelimit *, size_t *bytesp);
/* Whether addr (the peer's numeric address) is one of trusted_proxies
 * (addresses compared as parsed, so "::1" and "0:0::1" are one). */
int portal_auth_proxy_trusted(const struct config *, const char *addr);
/*
 * The configured user a trusted proxy names in identity_header (by
 * user name or e-mail address, case-insensitive for e-mail), or NULL:
 * no identity_header configured, the peer not trusted, no such user.
 */
const struct config_user *portal_auth_proxy_user(const struct config *,
    const char *peer_addr, const char *header_value);

/* The user of an "Authorization: Bearer ..." token (caller frees), or
 * NULL (*store_err as portal_session_user). */
char *portal_token_user(struct store *, const char *token, int64_t now,
    int *store_err);

#endif
