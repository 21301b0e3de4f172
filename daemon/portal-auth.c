/*
 * The portal's identities (see portal-auth.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <argon2.h>
#include <openssl/crypto.h>

#include "config.h"
#include "digest.h"
#include "portal-auth.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/* Verified when the user is unknown, so that a wrong name costs as
 * much as a wrong password ("x" with the demo's parameters). */
static const char portal_dummy_hash[] =
    "$argon2id$v=19$m=65536,t=3,p=4$c2hpcGdhdGVkdW1teXNhbHQ"
    "$9/hf4SbsL2+8b1ZTkIVR6x1nS1kBYb2fOQ4lkLq0bUo";

int
portal_auth_password(const struct config_user *u, const char *password)
{
	const char *hash;
	int	    rc;

	if (password == NULL)
		password = "";
	hash = u != NULL && u->password_hash != NULL ? u->password_hash :
						       portal_dummy_hash;
	rc = argon2id_verify(hash, password, strlen(password));
	if (u == NULL || u->password_hash == NULL)
		return (-1);
	return (rc == ARGON2_OK ? 0 : -1);
}

int
portal_session_new(struct store *s, const struct config *c, const char *user,
    const char *remote_addr, int64_t now, char **idp, char **cause)
{
	unsigned char raw[32], hash[32];
	char	     *id;
	int	      rc;

	*idp = NULL;
	if (token_random(raw, sizeof raw) != 0) {
		if (cause != NULL)
			*cause = xasprintf("no randomness: %s",
			    strerror(errno));
		return (STORE_EIO);
	}
	id = xmalloc(PORTAL_SESSION_ID_LEN + 1);
	digest_hex(raw, sizeof raw, id);
	explicit_bzero(raw, sizeof raw);
	token_hash(id, hash);
	rc = store_session_create(s, hash, user, remote_addr, now,
	    now + c->session_lifetime_ms, cause);
	if (rc != 0) {
		freezero_str(id);
		return (rc);
	}
	/*
	 * Sessions that ended (expired, revoked or idle too long) are of
	 * no use: deleted whenever one is made, by a password or by the
	 * trusted proxy's header alike, which makes one for every request
	 * of a client without cookies (a failure only delays it).
	 */
	(void)store_session_purge(s, now, NULL, NULL);
	(void)store_session_purge_idle(s, now - c->session_idle_timeout_ms,
	    NULL, NULL);
	*idp = id;
	return (0);
}

/* A session id as the cookie carries it: 64 lower-case hex digits. */
static int
portal_session_id_valid(const char *id)
{
	size_t i;

	if (id == NULL)
		return (0);
	for (i = 0; id[i] != '\0'; i++) {
		if (i >= PORTAL_SESSION_ID_LEN ||
		    !((id[i] >= '0' && id[i] <= '9') ||
			(id[i] >= 'a' && id[i] <= 'f')))
			return (0);
	}
	return (i == PORTAL_SESSION_ID_LEN);
}

char *
portal_session_user(struct store *s, const struct config *c, const char *id,
    int64_t now, int *store_err)
{
	struct store_session *sess = NULL;
	unsigned char	      hash[32];
	char		     *user = NULL;
	int		      rc;

	*store_err = 0;
	if (!portal_session_id_valid(id))
		return (NULL);
	token_hash(id, hash);
	if ((rc = store_session_get(s, hash, &sess, NULL)) != 0) {
		if (rc != STORE_ENOTFOUND)
			*store_err = rc;
		return (NULL);
	}
	if (sess->revoked_at != 0 || now >= sess->expires_at ||
	    now - sess->last_seen_at >= c->session_idle_timeout_ms ||
	    config_find_user(c, sess->user) == NULL)
		goto out;
	if (now - sess->last_seen_at >= PORTAL_SESSION_TOUCH_MS &&
	    (rc = store_session_touch(s, hash, now, NULL)) != 0) {
		*store_err = rc;
		goto out;
	}
	user = sess->user;
	sess->user = NULL;
out:
	store_session_free(sess);
	return (user);
}

int
portal_session_revoke(struct store *s, const char *id, int64_t now)
{
	unsigned char hash[32];

	if (!portal_session_id_valid(id))
		return (STORE_ENOTFOUND);
	token_hash(id, hash);
	return (store_session_revoke(s, hash, now, NULL));
}

char *
portal_session_cookie(const struct config *c, const char *id, int secure)
{
	if (c->public_url != NULL &&
	    strncasecmp(c->public_url, "https://", 8) == 0)
		secure = 1;
	if (id == NULL)
		return (xasprintf("%s=; Path=/; HttpOnly; SameSite=Strict; "
				  "Max-Age=0%s",
		    PORTAL_SESSION_COOKIE, secure ? "; Secure" : ""));
	return (xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
	    PORTAL_SESSION_COOKIE, id, secure ? "; Secure" : ""));
}

void
portal_csrf_token(const char *session_id, char *out)
{
	static const char msg[] = "shipgate csrf";
	unsigned char	  mac[DIGEST_SHA256_LEN];

	digest_hmac_sha256(session_id, strlen(session_id), msg, sizeof msg - 1,
	    mac);
	digest_hex(mac, sizeof mac, out);
}

int
portal_csrf_check(const char *session_id, const char *token)
{
	char want[PORTAL_CSRF_LEN + 1];
	int  ok;

	if (session_id == NULL || token == NULL ||
	    strlen(token) != PORTAL_CSRF_LEN)
		return (0);
	portal_csrf_token(session_id, want);
	ok = CRYPTO_memcmp(want, token, PORTAL_CSRF_LEN) == 0;
	explicit_bzero(want, sizeof want);
	return (ok);
}

/* --- Rate limits --------------------------------------------------------- */

/*
 * Two tables, one for addresses and one for user names, so that junk
 * from many addresses never pushes a user's lock-out out (nor the
 * reverse).  A locked entry stays until its failures leave the window;
 * when a table is full, only an unlocked entry is forgotten, and when
 * every entry is locked a new key is refused (the attempt too): the
 * table stays bounded and no lock-out is lost.
 */
struct portal_rl_entry {
	char	*key;
	int64_t *fails; /* times, oldest first */
	int	 nfails;
	int64_t	 last;
};

struct portal_rl_table {
	struct portal_rl_entry *v;
	size_t			n;
};

struct portal_ratelimit {
	pthread_mutex_t	       lock;
	struct portal_rl_table addrs;
	struct portal_rl_table users;
	size_t		       max_keys; /* per table */
};

struct portal_ratelimit *
portal_ratelimit_new(size_t max_keys)
{
	struct portal_ratelimit *rl;

	rl = xcalloc(1, sizeof *rl);
	pthread_mutex_init(&rl->lock, NULL);
	rl->max_keys = max_keys != 0 ? max_keys : PORTAL_RATELIMIT_KEYS;
	return (rl);
}

static void
portal_rl_entry_free(struct portal_rl_entry *e)
{
	free(e->key);
	free(e->fails);
}

static void
portal_rl_table_free(struct portal_rl_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		portal_rl_entry_free(&t->v[i]);
	free(t->v);
}

void
portal_ratelimit_free(struct portal_ratelimit *rl)
{
	if (rl == NULL)
		return;
	portal_rl_table_free(&rl->addrs);
	portal_rl_table_free(&rl->users);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static struct portal_rl_entry *
portal_rl_find(struct portal_rl_table *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].key, key) == 0)
			return (&t->v[i]);
	}
	return (NULL);
}

/* Forgets the failures that left the window. */
static void
portal_rl_expire(struct portal_rl_entry *e, int64_t window_ms, int64_t now)
{
	int i = 0;

	while (i < e->nfails && now - e->fails[i] >= window_ms)
		i++;
	if (i > 0) {
		memmove(e->fails, e->fails + i,
		    (size_t)(e->nfails - i) * sizeof *e->fails);
		e->nfails -= i;
	}
}

/* Called locked: 1 when e (NULL: no entry yet) may try now. */
static int
portal_rl_open(struct portal_rl_entry *e, int attempts, int64_t window_ms,
    int64_t now, int64_t *retry_ms)
{
	int64_t wait;

	if (e == NULL)
		return (1);
	portal_rl_expire(e, window_ms, now);
	if (e->nfails < attempts)
		return (1);
	wait = e->fails[e->nfails - attempts] + window_ms - now;
	if (retry_ms != NULL && wait > *retry_ms)
		*retry_ms = wait;
	return (0);
}

/*
 * Called locked: a place for key, or NULL when the table is full of
 * locked entries.  Entries without a failure left are dropped on the
 * way; then the least recently used unlocked one makes room.
 */
static struct portal_rl_entry *
portal_rl_insert(struct portal_ratelimit *rl, struct portal_rl_table *t,
    const char *key, int attempts, int64_t window_ms, int64_t now)
{
	struct portal_rl_entry *e;
	size_t			i, victim = SIZE_MAX;

	if (t->n >= rl->max_keys) {
		for (i = 0; i < t->n;) {
			portal_rl_expire(&t->v[i], window_ms, now);
			if (t->v[i].nfails == 0) {
				portal_rl_entry_free(&t->v[i]);
				t->v[i] = t->v[--t->n];
				continue;
			}
			if (t->v[i].nfails < attempts &&
			    (victim == SIZE_MAX ||
				t->v[i].last < t->v[victim].last))
				victim = i;
			i++;
		}
		if (t->n >= rl->max_keys) {
			if (victim == SIZE_MAX)
				return (NULL);
			portal_rl_entry_free(&t->v[victim]);
			t->v[victim] = t->v[--t->n];
		}
	}
	t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
	e = &t->v[t->n++];
	memset(e, 0, sizeof *e);
	e->key = xstrdup(key);
	e->fails = xcalloc((size_t)attempts, sizeof *e->fails);
	return (e);
}

/* Called locked: notes a failure at now in e (open: below attempts). */
static void
portal_rl_note(struct portal_rl_entry *e, int attempts, int64_t now)
{
	if (e->nfails >= attempts) { /* fewer attempts after a reload */
		memmove(e->fails, e->fails + (e->nfails - attempts + 1),
		    (size_t)(attempts - 1) * sizeof *e->fails);
		e->nfails = attempts - 1;
	}
	e->fails = xreallocarray(e->fails, (size_t)attempts, sizeof *e->fails);
	e->fails[e->nfails++] = now;
	e->last = now;
}

int
portal_ratelimit_attempt(struct portal_ratelimit *rl, const char *addr,
    const char *user, int attempts, int64_t window_ms, int64_t now,
    int64_t *retry_ms)
{
	struct portal_rl_entry *ea, *eu = NULL;
	int			ok = 0;

	if (retry_ms != NULL)
		*retry_ms = 0;
	if (attempts <= 0)
		return (1);
	if (user != NULL && strlen(user) > PORTAL_USER_NAME_MAX)
		return (0);
	pthread_mutex_lock(&rl->lock);
	ea = portal_rl_find(&rl->addrs, addr);
	if (user != NULL)
		eu = portal_rl_find(&rl->users, user);
	/* Both are looked at, so *retry_ms is the longer wait. */
	ok = portal_rl_open(ea, attempts, window_ms, now, retry_ms);
	ok = portal_rl_open(eu, attempts, window_ms, now, retry_ms) && ok;
	if (!ok)
		goto out;
	/* Counted now, before the password is checked: attempts in
	 * parallel cannot all pass the check above. */
	if (ea == NULL && (ea = portal_rl_insert(rl, &rl->addrs, addr, attempts,
			       window_ms, now)) == NULL) {
		ok = 0;
		goto out;
	}
	if (user != NULL && eu == NULL &&
	    (eu = portal_rl_insert(rl, &rl->users, user, attempts, window_ms,
		 now)) == NULL) {
		ok = 0;
		goto out;
	}
	portal_rl_note(ea, attempts, now);
	if (eu != NULL)
		portal_rl_note(eu, attempts, now);
out:
	if (!ok && retry_ms != NULL && *retry_ms <= 0)
		*retry_ms = window_ms;
	pthread_mutex_unlock(&rl->lock);
	return (ok);
}

static void
portal_rl_remove(struct portal_rl_table *t, const char *key)
{
	struct portal_rl_entry *e;

	if (key != NULL && (e = portal_rl_find(t, key)) != NULL) {
		portal_rl_entry_free(e);
		*e = t->v[--t->n];
	}
}

void
portal_ratelimit_success(struct portal_ratelimit *rl, const char *addr,
    const char *user)
{
	pthread_mutex_lock(&rl->lock);
	portal_rl_remove(&rl->addrs, addr);
	portal_rl_remove(&rl->users, user);
	pthread_mutex_unlock(&rl->lock);
}

size_t
portal_ratelimit_size(struct portal_ratelimit *rl, size_t *bytesp)
{
	struct portal_rl_table *t[2] = { &rl->addrs, &rl->users };
	size_t			i, k, n = 0, bytes = 0;

	pthread_mutex_lock(&rl->lock);
	for (k = 0; k < 2; k++) {
		n += t[k]->n;
		bytes += t[k]->n * sizeof *t[k]->v;
		for (i = 0; i < t[k]->n; i++)
			bytes += strlen(t[k]->v[i].key) + 1 +
				 (size_t)t[k]->v[i].nfails * sizeof(int64_t);
	}
	pthread_mutex_unlock(&rl->lock);
	if (bytesp != NULL)
		*bytesp = bytes;
	return (n);
}

/* --- Trusted proxy -------------------------------------------------------- */

/* An address as 16 bytes (IPv4 mapped into IPv6), or -1. */
static int
portal_addr_parse(const char *s, unsigned char out[16])
{
	struct in_addr a4;

	if (s == NULL)
		return (-1);
	if (inet_pton(AF_INET6, s, out) == 1)
		return (0);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return (0);
	}
	return (-1);
}

/*
 * An address or network ("10.0.0.0/8", "fd00::/8") as 16 bytes and the
 * prefix length over them (128 for an address), or -1.
 */
static int
portal_net_parse(const char *s, unsigned char out[16], int *bits)
{
	char	    addr[64];
	const char *slash;
	char	   *end;
	size_t	    len;
	long	    n;
	int	    v4;

	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len >= sizeof addr)
		return (-1);
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (portal_addr_parse(addr, out) != 0)
		return (-1);
	v4 = strchr(addr, ':') == NULL;
	*bits = 128;
	if (slash != NULL) {
		n = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || n < 0 ||
		    n > (v4 ? 32 : 128))
			return (-1);
		*bits = (int)n + (v4 ? 96 : 0);
	}
	return (0);
}

int
portal_auth_proxy_trusted(const struct config *c, const char *addr)
{
	unsigned char a[16], b[16], mask;
	size_t	      i;
	int	      bits, full;

	if (portal_addr_parse(addr, a) != 0)
		return (0);
	for (i = 0; i < c->trusted_proxies.n; i++) {
		if (portal_net_parse(c->trusted_proxies.items[i], b, &bits) !=
		    0)
			continue;
		full = bits / 8;
		if (memcmp(a, b, (size_t)full) != 0)
			continue;
		if (bits % 8 != 0) {
			mask = (unsigned char)(0xff << (8 - bits % 8));
			if ((a[full] & mask) != (b[full] & mask))
				continue;
		}
		return (1);
	}
	return (0);
}

const struct config_user *
portal_auth_proxy_user(const struct config *c, const char *peer_addr,
    const char *value)
{
	const struct config_user *u;
	size_t			  i;

	if (c->identity_header == NULL || value == NULL || *value == '\0' ||
	    !portal_auth_proxy_trusted(c, peer_addr))
		return (NULL);
	if ((u = config_find_user(c, value)) != NULL)
		return (u);
	for (i = 0; i < c->nusers; i++) {
		if (c->users[i].email != NULL &&
		    strcasecmp(c->users[i].email, value) == 0)
			return (&c->users[i]);
	}
	return (NULL);
}

/* --- API tokens ----------------------------------------------------------- */

char *
portal_token_user(struct store *s, const char *token, int64_t now,
    int *store_err)
{
	unsigned char hash[TOKEN_HASH_LEN];
	char	     *user = NULL;
	int	      rc;

	*store_err = 0;
	if (!token_well_formed(token))
		return (NULL);
	token_hash(token, hash);
	if ((rc = store_token_use(s, hash, now, &user, NULL, NULL)) != 0) {
		if (rc != STORE_ENOTFOUND)
			*store_err = rc;
		return (NULL);
	}
	return (user);
}
