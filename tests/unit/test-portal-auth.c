/*
 * The portal's identities: passwords, sessions (hashed, idle and
 * absolute expiry, revocation), CSRF tokens, sign-in rate limits, the
 * trusted proxy's header, API tokens.  Times are passed in: no clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <sqlite3.h>

#include "config.h"
#include "portal-auth.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

#define H	(3600LL * 1000)
#define T0	1795945265000LL

static struct config *
load(const char *hash)
{
	struct config_errors	 errors = { 0 };
	struct config		*c;
	char			*text;
	size_t			 i;

	text = xasprintf(
	    "listen: 127.0.0.1:8080\n"
	    "public_url: http://127.0.0.1:8080\n"
	    "database: /nonexistent/x.db\n"
	    "control_socket: /nonexistent/c.sock\n"
	    "trusted_proxies: [10.0.0.1, \"::1\"]\n"
	    "identity_header: X-Forwarded-Email\n"
	    "aws: {region: eu-west-1}\n"
	    "portal: {session_idle_timeout: 1h, session_lifetime: 24h}\n"
	    "users:\n"
	    "  - {name: alice, email: Alice@X.example, groups: [integrators],"
	    " password_hash: \"%s\"}\n"
	    "  - {name: bob, email: bob@x.example, groups: [project-team]}\n"
	    "apps:\n"
	    "  - name: billing\n"
	    "    source: {bucket: billing-drops}\n"
	    "    environments:\n"
	    "      - name: int\n"
	    "        account: \"111111111111\"\n"
	    "        role_arn: arn:aws:iam::111111111111:role/r\n"
	    "        stack: billing-int\n"
	    "        approvers: [integrators]\n", hash);
	c = config_load_buffer("auth.yaml", text, strlen(text), &errors);
	for (i = 0; i < errors.n; i++)
		tap_diag("%s", errors.lines[i]);
	config_errors_free(&errors);
	free(text);
	return (c);
}

static void
test_password(const struct config *c)
{
	const struct config_user	*alice, *bob;

	alice = config_find_user(c, "alice");
	bob = config_find_user(c, "bob");
	ok(portal_auth_password(alice, "s3cret") == 0, "the right password");
	ok(portal_auth_password(alice, "s3cres") != 0, "a wrong one");
	ok(portal_auth_password(alice, "") != 0, "an empty one");
	ok(portal_auth_password(alice, NULL) != 0, "none");
	ok(portal_auth_password(bob, "s3cret") != 0, "a user without a hash");
	ok(portal_auth_password(NULL, "s3cret") != 0, "an unknown user");
}

/* Whether the database holds the id itself anywhere in sessions. */
static int
stored_as_hash(const char *path, const char *id)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	unsigned char	 want[32];
	int		 found_hash = 0, found_id = 0;

	portal_auth_hash(id, want);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return (0);
	if (sqlite3_prepare_v2(db, "SELECT id_hash, user_name, "
	    "coalesce(remote_addr, '') FROM sessions", -1, &st, NULL) ==
	    SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (sqlite3_column_bytes(st, 0) == 32 &&
			    memcmp(sqlite3_column_blob(st, 0), want, 32) == 0)
				found_hash = 1;
			if (strstr((const char *)sqlite3_column_text(st, 1),
			    id) != NULL || strstr((const char *)
			    sqlite3_column_text(st, 2), id) != NULL)
				found_id = 1;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return (found_hash && !found_id);
}

static void
test_sessions(const struct config *c, struct store *s, const char *path)
{
	char	*id = NULL, *id2 = NULL, *user, *cause = NULL, *cookie;
	int	 err, i, alive;

	ok(portal_session_new(s, c, "alice", "192.0.2.1", T0, &id,
	    &cause) == 0, "a session");
	ok(id != NULL && strlen(id) == PORTAL_SESSION_ID_LEN &&
	    strspn(id, "0123456789abcdef") == PORTAL_SESSION_ID_LEN,
	    "its id: 64 hex digits (256 bits)");
	ok(portal_session_new(s, c, "alice", NULL, T0, &id2, &cause) == 0 &&
	    strcmp(id, id2) != 0, "a second one differs");
	ok(stored_as_hash(path, id), "stored as its SHA-256 only");

	user = portal_session_user(s, c, id, T0 + 1000, &err);
	is_str(user, "alice", "the session names its user");
	free(user);
	ok(err == 0, "no store error");
	/* Idle: used at T0 + 50 min (noted), alive at T0 + 1 h 40 min. */
	user = portal_session_user(s, c, id, T0 + 50 * 60 * 1000, &err);
	ok(user != NULL, "used after 50 minutes");
	free(user);
	user = portal_session_user(s, c, id, T0 + 100 * 60 * 1000, &err);
	ok(user != NULL, "the use was noted: alive 50 minutes later");
	free(user);
	user = portal_session_user(s, c, id2, T0 + H, &err);
	ok(user == NULL && err == 0, "idle for an hour: ended");
	/* Absolute: 24 h even when used all along. */
	user = portal_session_user(s, c, id, T0 + 23 * H + 59 * 60 * 1000,
	    &err);
	ok(user == NULL, "idle 22 hours: ended");
	free(id2);
	id2 = NULL;
	ok(portal_session_new(s, c, "alice", NULL, T0, &id2, &cause) == 0,
	    "another session");
	alive = 1;
	for (i = 1; i < 48 && alive; i++) {	/* every half hour */
		user = portal_session_user(s, c, id2, T0 + i * H / 2 - 1,
		    &err);
		alive = user != NULL;
		free(user);
	}
	ok(alive, "used every half hour: alive for 24 hours");
	user = portal_session_user(s, c, id2, T0 + 24 * H, &err);
	ok(user == NULL, "24 hours after sign-in: ended even if used");

	freezero_str(id2);
	id2 = NULL;
	ok(portal_session_new(s, c, "bob", NULL, T0, &id2, &cause) == 0,
	    "bob's session");
	user = portal_session_user(s, c, id2, T0 + 1, &err);
	is_str(user, "bob", "bob");
	free(user);
	ok(portal_session_revoke(s, id2, T0 + 2) == 0, "signed out");
	user = portal_session_user(s, c, id2, T0 + 3, &err);
	ok(user == NULL, "a revoked session is over");
	ok(portal_session_revoke(s, "nothex", T0) != 0,
	    "revoking garbage: refused");
	ok(portal_session_user(s, c, "zz", T0, &err) == NULL && err == 0,
	    "a malformed id: nobody, no store query");
	ok(portal_session_user(s, c, NULL, T0, &err) == NULL, "no id");
	ok(portal_session_user(s, c,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    T0, &err) == NULL && err == 0, "an unknown id");

	cookie = portal_session_cookie(c, "abc", 0);
	is_str(cookie, "sg_session=abc; Path=/; HttpOnly; SameSite=Strict",
	    "the cookie over http");
	free(cookie);
	cookie = portal_session_cookie(c, "abc", 1);
	ok(strstr(cookie, "; Secure") != NULL, "Secure when served by TLS");
	free(cookie);
	cookie = portal_session_cookie(c, NULL, 0);
	ok(strstr(cookie, "Max-Age=0") != NULL, "a deleting cookie");
	free(cookie);
	freezero_str(id);
	freezero_str(id2);
}

static void
test_csrf(void)
{
	char	 a[PORTAL_CSRF_LEN + 1], b[PORTAL_CSRF_LEN + 1];
	char	 sid1[] = "1111111111111111111111111111111111111111111111111111111111111111";
	char	 sid2[] = "2222222222222222222222222222222222222222222222222222222222222222";

	portal_csrf_token(sid1, a);
	portal_csrf_token(sid2, b);
	ok(strlen(a) == PORTAL_CSRF_LEN, "64 hex digits");
	ok(strcmp(a, b) != 0, "bound to the session");
	ok(strstr(a, sid1) == NULL, "not the session id");
	ok(portal_csrf_check(sid1, a), "its own session's token passes");
	ok(!portal_csrf_check(sid2, a), "another session's token fails");
	a[5] ^= 1;
	ok(!portal_csrf_check(sid1, a), "a changed token fails");
	ok(!portal_csrf_check(sid1, ""), "empty");
	ok(!portal_csrf_check(sid1, NULL), "missing");
	ok(!portal_csrf_check(NULL, b), "no session");
}

static void
test_ratelimit(void)
{
	struct portal_ratelimit	*rl;
	int64_t			 wait;
	int			 i;
	char			 key[32];

	rl = portal_ratelimit_new();
	for (i = 0; i < 3; i++) {
		ok(portal_ratelimit_allowed(rl, "user bob", 3, 60000,
		    T0 + i * 1000, &wait), "attempt %d allowed", i + 1);
		portal_ratelimit_failed(rl, "user bob", 3, 60000,
		    T0 + i * 1000);
	}
	ok(!portal_ratelimit_allowed(rl, "user bob", 3, 60000, T0 + 3000,
	    &wait), "the fourth within the window: locked");
	is_int(wait, 57000, "until the oldest failure leaves the window");
	ok(portal_ratelimit_allowed(rl, "user carol", 3, 60000, T0 + 3000,
	    NULL), "another key is not");
	ok(portal_ratelimit_allowed(rl, "user bob", 3, 60000, T0 + 60000,
	    &wait), "a minute later: allowed again");
	portal_ratelimit_failed(rl, "user bob", 3, 60000, T0 + 60000);
	ok(!portal_ratelimit_allowed(rl, "user bob", 3, 60000, T0 + 60001,
	    NULL), "the two later failures and a new one: locked");
	portal_ratelimit_clear(rl, "user bob");
	ok(portal_ratelimit_allowed(rl, "user bob", 3, 60000, T0 + 60002,
	    NULL), "cleared by a success");
	ok(portal_ratelimit_allowed(rl, "x", 0, 60000, T0, NULL),
	    "attempts 0: no limit");
	for (i = 0; i < PORTAL_RATELIMIT_KEYS + 10; i++) {
		snprintf(key, sizeof key, "addr %d", i);
		portal_ratelimit_failed(rl, key, 1, 60000, T0 + i);
	}
	ok(portal_ratelimit_allowed(rl, "addr 0", 1, 60000, T0 + 20000,
	    NULL), "the table is bounded: the oldest keys forgotten");
	ok(!portal_ratelimit_allowed(rl, "addr 4100", 1, 60000, T0 + 20000,
	    NULL), "recent keys kept");
	portal_ratelimit_free(rl);
}

static void
test_proxy(const struct config *c)
{
	const struct config_user	*u;

	ok(portal_auth_proxy_trusted(c, "10.0.0.1"), "a trusted proxy");
	ok(portal_auth_proxy_trusted(c, "0:0::1"), "IPv6, as parsed");
	ok(portal_auth_proxy_trusted(c, "::ffff:10.0.0.1"),
	    "IPv4 mapped into IPv6");
	ok(!portal_auth_proxy_trusted(c, "10.0.0.2"), "another address");
	ok(!portal_auth_proxy_trusted(c, "garbage"), "not an address");
	u = portal_auth_proxy_user(c, "10.0.0.1", "alice@x.example");
	ok(u != NULL && strcmp(u->name, "alice") == 0,
	    "the e-mail names alice (case-insensitive)");
	u = portal_auth_proxy_user(c, "10.0.0.1", "bob");
	ok(u != NULL && strcmp(u->name, "bob") == 0, "a user name works too");
	ok(portal_auth_proxy_user(c, "192.0.2.9", "alice@x.example") == NULL,
	    "the header from an untrusted peer is ignored");
	ok(portal_auth_proxy_user(c, "10.0.0.1", "eve@x.example") == NULL,
	    "an unknown user");
	ok(portal_auth_proxy_user(c, "10.0.0.1", "") == NULL, "empty");
}

static void
test_tokens(struct store *s)
{
	char		 tok[PORTAL_TOKEN_LEN + 1], tok2[PORTAL_TOKEN_LEN + 1];
	unsigned char	 hash[32];
	char		*user, *cause = NULL;
	int64_t		 id;
	int		 err;
	struct store_tokens *list = NULL;

	ok(portal_token_generate(tok) == 0 && strlen(tok) == PORTAL_TOKEN_LEN &&
	    strncmp(tok, "sgt_", 4) == 0, "a token: sgt_ + 64 hex");
	ok(portal_token_generate(tok2) == 0 && strcmp(tok, tok2) != 0,
	    "tokens differ");
	portal_auth_hash(tok, hash);
	ok(store_token_create(s, hash, "alice", "ci", "root", T0, &id,
	    &cause) == 0 && id > 0, "stored (its hash)");
	user = portal_token_user(s, tok, T0 + 1, &err);
	is_str(user, "alice", "the token acts as alice");
	free(user);
	ok(portal_token_user(s, tok2, T0, &err) == NULL && err == 0,
	    "an unknown token");
	tok[10] = 'Z';
	ok(portal_token_user(s, tok, T0, &err) == NULL && err == 0,
	    "a malformed token");
	ok(store_token_list(s, &list, &cause) == 0 && list->n == 1 &&
	    list->items[0].last_used_at == T0 + 1, "listed, its use noted");
	store_tokens_free(list);
	ok(store_token_revoke(s, id, T0 + 2, &cause) == 0, "revoked");
	tok[10] = tok2[10];
	portal_auth_hash(tok, hash);
	ok(store_token_revoke(s, id, T0 + 3, &cause) == STORE_ENOTFOUND,
	    "twice: not found");
	free(cause);
}

int
main(void)
{
	unsigned char	 salt[16] = "shipgate-test-01";
	char		 hash[256], dir[] = "/tmp/test-portal-auth.XXXXXX";
	char		*path = NULL, *cause = NULL;
	struct config	*c;
	struct store	*s = NULL;

	if (argon2id_hash_encoded(1, 1024, 1, "s3cret", 6, salt, sizeof salt,
	    32, hash, sizeof hash) != ARGON2_OK)
		tap_bail("argon2 cannot hash");
	if ((c = load(hash)) == NULL) {
		ok(0, "the test's config loads");
		return (tap_done());
	}
	test_password(c);
	test_csrf();
	test_ratelimit();
	test_proxy(c);
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	path = xasprintf("%s/auth.db", dir);
	if (store_open(path, &s, &cause) != 0) {
		ok(0, "the store opens: %s", cause);
		free(cause);
	} else {
		test_sessions(c, s, path);
		test_tokens(s);
		store_close(s);
	}
	unlink(path);
	free(path);
	path = xasprintf("%s/auth.db-wal", dir);
	unlink(path);
	free(path);
	path = xasprintf("%s/auth.db-shm", dir);
	unlink(path);
	free(path);
	rmdir(dir);
	config_free(c);
	return (tap_done());
}
