/*
 * The portal's identities: passwords, sessions (hashed, idle and
 * absolute expiry, revocation), CSRF tokens, sign-in rate limits, the
 * trusted proxy's header, API tokens.  Times are passed in: no clock.
 */
#include <pthread.h>
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
#include "token.h"
#include "xmalloc.h"

#define H  (3600LL * 1000)
#define T0 1795945265000LL

static struct config *
load(const char *hash)
{
	struct config_errors errors = { 0 };
	struct config	    *c;
	char		    *text;
	size_t		     i;

	text = xasprintf(
	    "listen: 127.0.0.1:8080\n"
	    "public_url: http://127.0.0.1:8080\n"
	    "database: /nonexistent/x.db\n"
	    "control_socket: /nonexistent/c.sock\n"
	    "trusted_proxies: [10.0.0.1, \"::1\", 192.168.4.0/22, "
	    "\"fd00:ab::/32\"]\n"
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
	    "        approvers: [integrators]\n",
	    hash);
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
	const struct config_user *alice, *bob;

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
	sqlite3	     *db;
	sqlite3_stmt *st;
	unsigned char want[32];
	int	      found_hash = 0, found_id = 0;

	token_hash(id, want);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return (0);
	if (sqlite3_prepare_v2(db,
		"SELECT id_hash, user_name, "
		"coalesce(remote_addr, '') FROM sessions",
		-1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (sqlite3_column_bytes(st, 0) == 32 &&
			    memcmp(sqlite3_column_blob(st, 0), want, 32) == 0)
				found_hash = 1;
			if (strstr((const char *)sqlite3_column_text(st, 1),
				id) != NULL ||
			    strstr((const char *)sqlite3_column_text(st, 2),
				id) != NULL)
				found_id = 1;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return (found_hash && !found_id);
}

static int
session_rows(const char *path)
{
	sqlite3	     *db;
	sqlite3_stmt *st;
	int	      n = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return (-1);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &st,
		NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return (n);
}

static void
test_sessions(const struct config *c, struct store *s, const char *path)
{
	char *id = NULL, *id2 = NULL, *user, *cause = NULL, *cookie;
	int   err, i, alive;

	ok(portal_session_new(s, c, "alice", "192.0.2.1", T0, &id, &cause) == 0,
	    "a session");
	ok(id != NULL && strlen(id) == PORTAL_SESSION_ID_LEN &&
		strspn(id, "0123456789abcdef") == PORTAL_SESSION_ID_LEN,
	    "its id: 64 hex digits (256 bits)");
	ok(portal_session_new(s, c, "alice", NULL, T0, &id2, &cause) == 0 &&
		strcmp(id, id2) != 0,
	    "a second one differs");
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
	for (i = 1; i < 48 && alive; i++) { /* every half hour */
		user = portal_session_user(s, c, id2, T0 + i * H / 2 - 1, &err);
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
	       T0, &err) == NULL &&
		err == 0,
	    "an unknown id");

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

	/* Issue 12: any new session (the trusted proxy's too, which never
	 * goes through the password form) purges the ended ones. */
	i = session_rows(path);
	ok(portal_session_new(s, c, "carol", NULL, T0 + 25 * H, &id, &cause) ==
		0,
	    "a session a day later");
	is_int(session_rows(path), 1, "the %d ended sessions are purged", i);
	freezero_str(id);
	ok(portal_session_new(s, c, "carol", NULL, T0 + 25 * H + 2 * H, &id,
	       &cause) == 0,
	    "two hours later (idle timeout: 1h)");
	is_int(session_rows(path), 1, "the idle one is purged too");
	freezero_str(id);
}

static void
test_csrf(void)
{
	char a[PORTAL_CSRF_LEN + 1], b[PORTAL_CSRF_LEN + 1];
	char sid1[] =
	    "1111111111111111111111111111111111111111111111111111111111111111";
	char sid2[] =
	    "2222222222222222222222222222222222222222222222222222222222222222";

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

struct rl_racer {
	struct portal_ratelimit *rl;
	pthread_barrier_t	*start;
	int			 passed;
};

static void *
rl_racer_main(void *arg)
{
	struct rl_racer *r = arg;

	pthread_barrier_wait(r->start);
	r->passed = portal_ratelimit_attempt(r->rl, "192.0.2.9", "bob", 5,
	    60000, T0, NULL);
	return (NULL);
}

static void
test_ratelimit(void)
{
	struct portal_ratelimit *rl;
	struct rl_racer		 racers[30];
	pthread_t		 th[30];
	pthread_barrier_t	 start;
	int64_t			 wait;
	int			 i, passed, refused;
	char			 key[32], *big;
	size_t			 bytes;

	rl = portal_ratelimit_new(0);
	for (i = 0; i < 3; i++)
		ok(portal_ratelimit_attempt(rl, "192.0.2.1", "bob", 3, 60000,
		       T0 + i * 1000, &wait),
		    "attempt %d allowed", i + 1);
	ok(!portal_ratelimit_attempt(rl, "192.0.2.2", "bob", 3, 60000,
	       T0 + 3000, &wait),
	    "the fourth within the window, from "
	    "elsewhere: the user is locked");
	is_int(wait, 57000, "until the oldest attempt leaves the window");
	ok(!portal_ratelimit_attempt(rl, "192.0.2.1", "carol", 3, 60000,
	       T0 + 3000, NULL),
	    "the address is locked for another user");
	ok(portal_ratelimit_attempt(rl, "192.0.2.3", "carol", 3, 60000,
	       T0 + 3000, NULL),
	    "another user from another address is not");
	ok(portal_ratelimit_attempt(rl, "192.0.2.1", "bob", 3, 60000,
	       T0 + 60000, &wait),
	    "a minute later: allowed again");
	ok(!portal_ratelimit_attempt(rl, "192.0.2.1", "bob", 3, 60000,
	       T0 + 60001, NULL),
	    "the two later attempts and a new one: locked");
	portal_ratelimit_success(rl, "192.0.2.1", "bob");
	ok(portal_ratelimit_attempt(rl, "192.0.2.1", "bob", 3, 60000,
	       T0 + 60002, NULL),
	    "cleared by a success");
	ok(portal_ratelimit_attempt(rl, "x", "y", 0, 60000, T0, NULL),
	    "attempts 0: no limit");
	portal_ratelimit_free(rl);

	/* Issue 12, item 4: junk from many addresses must not flush a
	 * locked user out (3,500 junk sign-ins from 700 addresses). */
	rl = portal_ratelimit_new(0);
	for (i = 0; i < 5; i++)
		portal_ratelimit_attempt(rl, "198.51.100.1", "alice", 5, 60000,
		    T0, NULL);
	ok(!portal_ratelimit_attempt(rl, "198.51.100.2", "alice", 5, 60000,
	       T0 + 1, NULL),
	    "alice is locked");
	refused = 0;
	for (i = 0; i < 3 * PORTAL_RATELIMIT_KEYS; i++) {
		snprintf(key, sizeof key, "junk%d", i);
		snprintf(key + 16, sizeof key - 16, "10.%d.%d.%d",
		    (i / 5) >> 16 & 255, (i / 5) >> 8 & 255, (i / 5) & 255);
		if (!portal_ratelimit_attempt(rl, key + 16, key, 5, 60000,
			T0 + 2 + i / 2000, NULL))
			refused++;
	}
	ok(refused == 0, "the junk is taken, evicting junk (%d refused)",
	    refused);
	ok(!portal_ratelimit_attempt(rl, "203.0.113.7", "alice", 5, 60000,
	       T0 + 1000, NULL),
	    "after %d junk sign-ins from %d addresses alice "
	    "is still locked",
	    3 * PORTAL_RATELIMIT_KEYS, 3 * PORTAL_RATELIMIT_KEYS / 5);
	ok(portal_ratelimit_attempt(rl, "203.0.113.8", "alice", 5, 60000,
	       T0 + 60000, NULL),
	    "until her window passes");
	portal_ratelimit_free(rl);

	/* A table full of locked keys refuses new ones, losing none. */
	rl = portal_ratelimit_new(4);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "u%d", i);
		portal_ratelimit_attempt(rl, "a", key, 1, 60000, T0, NULL);
		portal_ratelimit_success(rl, "a", NULL);
	}
	ok(!portal_ratelimit_attempt(rl, "b", "new", 1, 60000, T0 + 1, NULL),
	    "a full table of locked users: a new user is refused");
	ok(portal_ratelimit_size(rl, NULL) == 5, "nothing was evicted "
						 "(4 users, 1 address)");
	ok(portal_ratelimit_attempt(rl, "b", "new", 1, 60000, T0 + 60000, NULL),
	    "once the locks expire, room again");
	portal_ratelimit_free(rl);

	/* User names are bounded before anything is stored. */
	rl = portal_ratelimit_new(0);
	big = xmalloc(65 * 1024);
	memset(big, 'u', 65 * 1024 - 1);
	big[65 * 1024 - 1] = '\0';
	ok(!portal_ratelimit_attempt(rl, "a", big, 5, 60000, T0, NULL),
	    "a 64 KiB user name is refused");
	big[PORTAL_USER_NAME_MAX] = '\0';
	ok(portal_ratelimit_attempt(rl, "a", big, 5, 60000, T0, NULL),
	    "a 64-byte user name is taken");
	big[PORTAL_USER_NAME_MAX] = 'u';
	for (i = 0; i < 2 * PORTAL_RATELIMIT_KEYS; i++) {
		snprintf(big, 16, "%015d", i);
		big[15] = 'u';
		snprintf(key, sizeof key, "10.1.%d.%d", i >> 8 & 255, i & 255);
		portal_ratelimit_attempt(rl, key, big, 5, 60000, T0, NULL);
	}
	portal_ratelimit_size(rl, &bytes);
	ok(bytes < 2 * PORTAL_RATELIMIT_KEYS * 128,
	    "memory stays bounded "
	    "under a flood of long names (%zu bytes)",
	    bytes);
	free(big);
	portal_ratelimit_free(rl);

	/* 30 parallel wrong passwords: exactly the limit gets through. */
	rl = portal_ratelimit_new(0);
	pthread_barrier_init(&start, NULL, 30);
	for (i = 0; i < 30; i++) {
		racers[i].rl = rl;
		racers[i].start = &start;
		racers[i].passed = 0;
		pthread_create(&th[i], NULL, rl_racer_main, &racers[i]);
	}
	passed = 0;
	for (i = 0; i < 30; i++) {
		pthread_join(th[i], NULL);
		passed += racers[i].passed;
	}
	pthread_barrier_destroy(&start);
	is_int(passed, 5, "30 parallel attempts, a limit of 5: 5 evaluated");
	portal_ratelimit_free(rl);
}

static void
test_proxy(const struct config *c)
{
	const struct config_user *u;

	ok(portal_auth_proxy_trusted(c, "10.0.0.1"), "a trusted proxy");
	ok(portal_auth_proxy_trusted(c, "0:0::1"), "IPv6, as parsed");
	ok(portal_auth_proxy_trusted(c, "::ffff:10.0.0.1"),
	    "IPv4 mapped into IPv6");
	ok(!portal_auth_proxy_trusted(c, "10.0.0.2"), "another address");
	ok(!portal_auth_proxy_trusted(c, "garbage"), "not an address");
	ok(portal_auth_proxy_trusted(c, "192.168.7.200") &&
		portal_auth_proxy_trusted(c, "192.168.4.0"),
	    "an address in a trusted IPv4 network (/22)");
	ok(!portal_auth_proxy_trusted(c, "192.168.8.1") &&
		!portal_auth_proxy_trusted(c, "192.168.3.255"),
	    "an address just outside it");
	ok(portal_auth_proxy_trusted(c, "fd00:ab:9::1") &&
		!portal_auth_proxy_trusted(c, "fd00:ac::1"),
	    "an IPv6 network (/32)");
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
	char		     tok[TOKEN_LEN + 1], tok2[TOKEN_LEN + 1];
	unsigned char	     hash[32];
	char		    *user, *cause = NULL;
	int64_t		     id;
	int		     err;
	struct store_tokens *list = NULL;

	ok(token_generate(tok) == 0 && strlen(tok) == TOKEN_LEN &&
		strncmp(tok, "sgt_", 4) == 0,
	    "a token: sgt_ + 64 hex");
	ok(token_generate(tok2) == 0 && strcmp(tok, tok2) != 0,
	    "tokens differ");
	token_hash(tok, hash);
	ok(store_token_create(s, hash, "alice", "ci", "root", T0, &id,
	       &cause) == 0 &&
		id > 0,
	    "stored (its hash)");
	user = portal_token_user(s, tok, T0 + 1, &err);
	is_str(user, "alice", "the token acts as alice");
	free(user);
	ok(portal_token_user(s, tok2, T0, &err) == NULL && err == 0,
	    "an unknown token");
	tok[10] = 'Z';
	ok(portal_token_user(s, tok, T0, &err) == NULL && err == 0,
	    "a malformed token");
	ok(store_token_list(s, &list, &cause) == 0 && list->n == 1 &&
		list->items[0].last_used_at == T0 + 1,
	    "listed, its use noted");
	store_tokens_free(list);
	ok(store_token_revoke(s, id, T0 + 2, &cause) == 0, "revoked");
	tok[10] = tok2[10];
	token_hash(tok, hash);
	ok(store_token_revoke(s, id, T0 + 3, &cause) == STORE_ENOTFOUND,
	    "twice: not found");
	free(cause);
}

int
main(void)
{
	unsigned char  salt[16] = "shipgate-test-01";
	char	       hash[256], dir[] = "/tmp/test-portal-auth.XXXXXX";
	char	      *path = NULL, *cause = NULL;
	struct config *c;
	struct store  *s = NULL;

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
