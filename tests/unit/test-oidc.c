/*
 * oidc.c and people.c: the discovery document, sign-ins in progress
 * (state taken once: a replayed callback or a used code's state finds
 * nothing), PKCE (RFC 7636's example), the URLs, the token reply, the
 * person and their groups, and the directory of such people.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "jose.h"
#include "oidc.h"
#include "people.h"
#include "tap.h"
#include "xmalloc.h"

#define ISS "http://127.0.0.1:4000"

static const char *disc_ok = "{\"issuer\":\"" ISS
			     "\",\"authorization_endpoint\":\"" ISS "/auth\","
			     "\"token_endpoint\":\"" ISS
			     "/token\",\"jwks_uri\":\"" ISS "/jwks\","
			     "\"end_session_endpoint\":\"" ISS "/session/end\","
			     "\"response_types_supported\":[\"code\"],"
			     "\"code_challenge_methods_supported\":[\"S256\"]}";

static int
disc(const char *doc, int loopback, char **cause)
{
	struct oidc_discovery d;
	int		      rc;

	free(*cause);
	*cause = NULL;
	rc = oidc_discovery_parse(doc, strlen(doc), ISS, loopback, &d, cause);
	oidc_discovery_clear(&d);
	return (rc);
}

/* A reload that maps "ops" only (and nothing signed in by alb). */
static int
test_keep_ops(const void *arg, const char *via, const char *group)
{
	(void)arg;
	return (strcmp(via, "oidc") == 0 && strcmp(group, "ops") == 0);
}

static void
test_count_mail(void *arg, const char *email)
{
	(void)email;
	(*(int *)arg)++;
}

int
main(void)
{
	struct oidc_discovery	  d;
	struct oidc_pending	 *pend;
	struct oidc_login	  l, l2, got;
	struct config_oidc	  o;
	struct config_kvs	  map;
	struct config_kv	  kv[2];
	struct jose_token	  t;
	struct people		 *pp;
	int			  persist, nmail;
	const struct config_user *u, *u2;
	const char		 *name, *email, **groups;
	const char *const	  g1[] = { "team", NULL };
	const char *const	  g2[] = { "ops", NULL };
	const char *const	  g12[] = { "team", "ops", NULL };
	char			**lost;
	size_t			  i;
	char			 *cause = NULL, *s, *idt;
	char			  s_openid[] = "openid", s_email[] = "email";
	char			 *scopes[] = { s_openid, s_email, NULL };
	char			  k0[] = "idp-approvers", v0[] = "team";
	char			  k1[] = "idp-ops", v1[] = "ops";
	char			  client[] = "ship gate";
	int			  rc;

	/* Discovery. */
	ok(oidc_discovery_parse(disc_ok, strlen(disc_ok), ISS, 1, &d, &cause) ==
		0,
	    "discovery document read");
	is_str(d.token_endpoint, ISS "/token", "token endpoint");
	is_str(d.end_session_endpoint, ISS "/session/end", "end session");
	rc = disc(disc_ok, 0, &cause);
	ok(rc == OIDC_EDISCOVERY,
	    "http endpoints refused for a non-loopback issuer: %s", cause);
	s = xstrdup(disc_ok);
	memcpy(strstr(s, "4000"), "4001", 4);
	rc = disc(s, 1, &cause);
	ok(rc == OIDC_EDISCOVERY && strstr(cause, "issuer"),
	    "another issuer refused: %s", cause);
	free(s);
	rc = disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS
		  "/a\",\"token_endpoint\":\"" ISS "/t\",\"jwks_uri\":\"" ISS
		  "/j\",\"code_challenge_methods_supported\":[\"plain\"]}",
	    1, &cause);
	ok(rc == OIDC_EDISCOVERY, "a provider without S256 refused: %s", cause);
	rc = disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS
		  "/a\",\"jwks_uri\":\"" ISS "/j\"}",
	    1, &cause);
	ok(rc == OIDC_EDISCOVERY, "no token endpoint refused: %s", cause);
	ok(disc("[1]", 1, &cause) == OIDC_EDISCOVERY, "not an object");
	s = oidc_discovery_url(ISS "/");
	is_str(s, ISS "/.well-known/openid-configuration", "discovery URL");
	free(s);

	/* PKCE: RFC 7636, appendix B. */
	s = oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	is_str(s, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	    "S256 challenge of RFC 7636's verifier");
	free(s);

	/* Sign-ins in progress. */
	pend = oidc_pending_new();
	ok(oidc_pending_start(pend, "/runs/4", 1000, &l) == 0 &&
		strlen(l.state) == 43 && strlen(l.nonce) == 43 &&
		strlen(l.verifier) == 43,
	    "state, nonce and verifier of 256 bits");
	ok(oidc_pending_start(pend, "//evil.example.com/", 1000, &l2) == 0 &&
		strcmp(l2.next, "/") == 0,
	    "a next that leaves the site is /");
	ok(strcmp(l.state, l2.state) != 0 && strcmp(l.nonce, l2.nonce) != 0,
	    "two sign-ins have their own state and nonce");
	ok(oidc_pending_take(pend, "nope", 1001, &got) == OIDC_ESTATE,
	    "state mismatch: an unknown state is refused");
	ok(oidc_pending_take(pend, l.state, 1001, &got) == 0 &&
		strcmp(got.nonce, l.nonce) == 0 &&
		strcmp(got.verifier, l.verifier) == 0 &&
		strcmp(got.next, "/runs/4") == 0,
	    "the state gives its sign-in");
	ok(oidc_pending_take(pend, l.state, 1002, &got) == OIDC_ESTATE,
	    "the same state again (a replayed callback, a reused code) is "
	    "refused");
	ok(oidc_pending_take(pend, l2.state, 1000 + OIDC_PENDING_TTL + 1,
	       &got) == OIDC_ESTATE,
	    "a sign-in older than %d s is refused", OIDC_PENDING_TTL);
	oidc_pending_free(pend);

	/* The URLs. */
	memset(&o, 0, sizeof o);
	o.client_id = client;
	o.scopes.items = scopes;
	o.scopes.n = 2;
	s = oidc_authorize_url(&d, &o,
	    "https://sg.example.com/auth/oidc/"
	    "callback",
	    &l);
	ok(strncmp(s,
	       ISS "/auth?response_type=code&client_id=ship%20gate"
		   "&redirect_uri=https%3A%2F%2Fsg.example.com%2Fauth%2Foidc%2F"
		   "callback&scope=openid%20email&state=",
	       142) == 0,
	    "authorization URL: %s", s);
	ok(strstr(s, l.nonce) != NULL && strstr(s, l.verifier) == NULL &&
		strstr(s, "&code_challenge_method=S256") != NULL,
	    "it carries the nonce and the challenge, never the verifier");
	free(s);
	s = oidc_token_form("c&d", "https://x/cb", "v1");
	is_str(s,
	    "grant_type=authorization_code&code=c%26d&redirect_uri="
	    "https%3A%2F%2Fx%2Fcb&code_verifier=v1",
	    "token form");
	free(s);
	s = oidc_end_session_url(&d, "sg", "https://sg.example.com/");
	is_str(s,
	    ISS "/session/end?client_id=sg&post_logout_redirect_uri="
		"https%3A%2F%2Fsg.example.com%2F",
	    "end-session URL");
	free(s);
	free(d.end_session_endpoint);
	d.end_session_endpoint = NULL;
	ok(oidc_end_session_url(&d, "sg", "/") == NULL,
	    "no end-session URL without the endpoint");
	oidc_discovery_clear(&d);

	/* The token endpoint's reply. */
	s = xstrdup("{\"access_token\":\"at-secret\",\"id_token\":\"a.b.c\","
		    "\"token_type\":\"Bearer\",\"refresh_token\":\"rt\"}");
	free(cause);
	cause = NULL;
	ok(oidc_token_reply(s, strlen(s), 200, &idt, &cause) == 0 &&
		strcmp(idt, "a.b.c") == 0,
	    "id_token taken from the reply");
	free(idt);
	free(s);
	s = xstrdup("{\"error\":\"invalid_grant\",\"error_description\":"
		    "\"grant request is invalid\"}");
	rc = oidc_token_reply(s, strlen(s), 400, &idt, &cause);
	ok(rc == OIDC_ETOKEN && idt == NULL && cause != NULL &&
		strstr(cause, "400 invalid_grant") != NULL,
	    "a used code's reply is refused: %s", cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;
	s = xstrdup("{\"access_token\":\"at\"}");
	rc = oidc_token_reply(s, strlen(s), 200, &idt, &cause);
	ok(rc == OIDC_ETOKEN, "a reply without id_token is refused: %s",
	    cause ? cause : "");
	free(s);
	free(cause);
	cause = NULL;

	/* The person. */
	kv[0].key = k0;
	kv[0].value = v0;
	kv[1].key = k1;
	kv[1].value = v1;
	map.items = kv;
	map.n = 2;
	memset(&t, 0, sizeof t);
	t.claims = json_loads(
	    "{\"email\":\"alice@example.com\",\"groups\":"
	    "[\"idp-approvers\",\"idp-other\"],\"preferred_username\":"
	    "\"alice\"}",
	    0, NULL);
	ok(oidc_person(&t, "email", "groups", &map, &name, &email, &groups,
	       &cause) == 0 &&
		strcmp(name, "alice@example.com") == 0 && groups[0] != NULL &&
		strcmp(groups[0], "team") == 0 && groups[1] == NULL,
	    "alice maps to team");
	free(groups);
	ok(oidc_person(&t, "preferred_username", "groups", &map, &name, &email,
	       &groups, &cause) == 0 &&
		strcmp(name, "alice") == 0 &&
		strcmp(email, "alice@example.com") == 0,
	    "another user claim, the e-mail kept");
	free(groups);
	rc = oidc_person(&t, "sub", "groups", &map, &name, &email, &groups,
	    &cause);
	ok(rc == OIDC_ECLAIM, "no user claim: %s", cause ? cause : "");
	free(cause);
	cause = NULL;
	json_decref(t.claims);
	t.claims = json_loads("{\"email\":\"eve@example.com\",\"groups\":"
			      "[\"idp-other\"]}",
	    0, NULL);
	rc = oidc_person(&t, "email", "groups", &map, &name, &email, &groups,
	    &cause);
	ok(rc == OIDC_ENOGROUP && groups == NULL && cause != NULL &&
		strstr(cause, "none of your groups") != NULL,
	    "groups that map to nothing: %s", cause ? cause : "");
	free(cause);
	cause = NULL;
	json_decref(t.claims);

	/* The directory. */
	pp = people_new(2);
	ok(people_set(pp, "alice@example.com", "alice@example.com", g1, "oidc",
	       1000, &u, &persist, &cause) == 0 &&
		u != NULL && strcmp(u->groups.items[0], "team") == 0 && persist,
	    "a person registered, to be written to the store");
	ok(people_find(pp, "alice@example.com") == u, "and found");
	ok(people_set(pp, "alice@example.com", "alice@example.com", g1, "oidc",
	       2000, &u2, &persist, &cause) == 0 &&
		u2 == u && !persist,
	    "the same sign-in again: the same entry, no write yet");
	ok(people_set(pp, "alice@example.com", "alice@example.com", g1, "oidc",
	       2000 + PEOPLE_PERSIST_MS, &u2, &persist, &cause) == 0 &&
		u2 == u && persist,
	    "the same sign-in an hour later: written again (last seen)");
	ok(people_set(pp, "alice@example.com", "alice@example.com", g2, "oidc",
	       3000 + PEOPLE_PERSIST_MS, &u2, &persist, &cause) == 0 &&
		u2 != u && persist &&
		people_find(pp, "alice@example.com") == u2 &&
		strcmp(u->groups.items[0], "team") == 0,
	    "new groups: a new entry, written, the old one still readable");
	is_str(people_via(pp, "alice@example.com"), "oidc", "via oidc");
	people_unpersisted(pp, "alice@example.com");
	ok(people_set(pp, "alice@example.com", "alice@example.com", g2, "oidc",
	       3001 + PEOPLE_PERSIST_MS, &u2, &persist, &cause) == 0 &&
		persist,
	    "a write the store refused is asked again at once");
	nmail = 0;
	people_mail_group(pp, "team", 0, test_count_mail, &nmail);
	ok(nmail == 0, "groups replaced: no longer mailed as team");
	people_mail_group(pp, g2[0], 0, test_count_mail, &nmail);
	ok(nmail == 1, "mailed as %s", g2[0]);
	nmail = 0;
	people_mail_group(pp, g2[0], 4000 + PEOPLE_PERSIST_MS, test_count_mail,
	    &nmail);
	ok(nmail == 0, "not seen since: not mailed");
	ok(people_forget(pp, "alice@example.com") == 0 &&
		people_find(pp, "alice@example.com") == NULL &&
		people_forget(pp, "alice@example.com") == PEOPLE_EINVAL,
	    "a forgotten person is no longer found");
	people_mail_group(pp, g2[0], 0, test_count_mail, &nmail);
	ok(nmail == 0, "nor mailed");
	rc = people_set(pp, "bob", "bob@example.com", g1, "oidc", 1, &u2, NULL,
	    &cause);
	ok(rc == PEOPLE_EFULL, "a full directory refuses: %s",
	    cause ? cause : "");
	free(cause);
	cause = NULL;
	ok(people_find(pp, "bob") == NULL && people_find(NULL, "x") == NULL,
	    "unknown people are not found");
	people_free(pp);

	/* A reload takes away the groups no longer mapped. */
	pp = people_new(0);
	ok(people_set(pp, "ann", "ann@example.com", g12, "oidc", 1, &u, NULL,
	       NULL) == 0 &&
		people_set(pp, "oleg", NULL, g2, "oidc", 1, &u, NULL, NULL) ==
		    0 &&
		people_set(pp, "tim", NULL, g1, "oidc", 1, &u, NULL, NULL) ==
		    0 &&
		people_set(pp, "al", NULL, g2, "alb", 1, &u, NULL, NULL) == 0,
	    "four people");
	lost = people_restrict(pp, test_keep_ops, NULL);
	ok(lost != NULL && lost[0] != NULL && strcmp(lost[0], "ann") == 0 &&
		lost[1] != NULL && strcmp(lost[1], "tim") == 0 &&
		lost[2] != NULL && strcmp(lost[2], "al") == 0 &&
		lost[3] == NULL,
	    "ann, tim and al lost a group; oleg did not");
	for (i = 0; lost != NULL && lost[i] != NULL; i++)
		free(lost[i]);
	free(lost);
	u = people_find(pp, "ann");
	ok(u != NULL && u->groups.n == 1 &&
		strcmp(u->groups.items[0], "ops") == 0 &&
		strcmp(u->email, "ann@example.com") == 0,
	    "ann keeps ops only, and her e-mail");
	ok(people_find(pp, "oleg") != NULL && people_find(pp, "tim") == NULL &&
		people_find(pp, "al") == NULL,
	    "oleg is unchanged; tim (no group left) and al (alb no longer "
	    "set up) are forgotten");
	lost = people_restrict(pp, test_keep_ops, NULL);
	ok(lost != NULL && lost[0] == NULL, "a second pass takes nothing");
	free(lost);
	people_free(pp);
	free(cause);
	return (tap_done());
}
