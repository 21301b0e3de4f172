/*
 * OpenID Connect's relying party, without I/O (oidc.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "digest.h"
#include "jose.h"
#include "json.h"
#include "oidc.h"
#include "token.h"
#include "xmalloc.h"

static int oidc_fail(char **cause, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
oidc_fail(char **cause, int error, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (error);
}

char *
oidc_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char		 *out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return (out);
}

char *
oidc_discovery_url(const char *issuer)
{
	size_t len = strlen(issuer);

	/* "https://idp/realms/x/" and "https://idp/realms/x" alike. */
	while (len > 0 && issuer[len - 1] == '/')
		len--;
	return (xasprintf("%.*s/.well-known/openid-configuration", (int)len,
	    issuer));
}

void
oidc_discovery_clear(struct oidc_discovery *d)
{
	free(d->issuer);
	free(d->authorization_endpoint);
	free(d->token_endpoint);
	free(d->jwks_uri);
	free(d->end_session_endpoint);
	memset(d, 0, sizeof *d);
}

static int
oidc_url_ok(const char *s, int loopback)
{
	size_t i;

	if (strncmp(s, "https://", 8) != 0 &&
	    !(loopback && strncmp(s, "http://", 7) == 0))
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return (0);
	return (strchr(s, '#') == NULL);
}

/* 1 when the array names value, or when the array is absent. */
static int
oidc_offers(json_t *doc, const char *key, const char *value)
{
	json_t *a, *v;
	size_t	i;

	if ((a = json_object_get(doc, key)) == NULL || !json_is_array(a))
		return (1);
	json_array_foreach(a, i, v) {
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), value) == 0)
			return (1);
	}
	return (0);
}

int
oidc_discovery_parse(const char *buf, size_t len, const char *issuer,
    int loopback, struct oidc_discovery *d, char **cause)
{
	static const char *keys[] = { "authorization_endpoint",
		"token_endpoint", "jwks_uri" };
	json_t		  *doc = NULL;
	json_error_t	   e;
	const char	  *v[3], *iss, *end;
	size_t		   i;
	int		   error;

	memset(d, 0, sizeof *d);
	if (len > OIDC_MAX_DISCOVERY || !json_nesting_within(buf, len, 16) ||
	    (doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_object(doc)) {
		error = oidc_fail(cause, OIDC_EDISCOVERY,
		    "discovery "
		    "document: not a JSON object");
		goto out;
	}
	iss = json_string_value(json_object_get(doc, "issuer"));
	if (iss == NULL || strcmp(iss, issuer) != 0) {
		error = oidc_fail(cause, OIDC_EDISCOVERY,
		    "discovery "
		    "document: issuer is not the configured %s",
		    issuer);
		goto out;
	}
	for (i = 0; i < 3; i++) {
		v[i] = json_string_value(json_object_get(doc, keys[i]));
		if (v[i] == NULL || !oidc_url_ok(v[i], loopback)) {
			error = oidc_fail(cause, OIDC_EDISCOVERY,
			    "discovery "
			    "document: %s missing or not an https:// URL",
			    keys[i]);
			goto out;
		}
	}
	end = json_string_value(json_object_get(doc, "end_session_endpoint"));
	if (end != NULL && !oidc_url_ok(end, loopback)) {
		error = oidc_fail(cause, OIDC_EDISCOVERY,
		    "discovery "
		    "document: end_session_endpoint is not an https:// URL");
		goto out;
	}
	if (!oidc_offers(doc, "response_types_supported", "code") ||
	    !oidc_offers(doc, "code_challenge_methods_supported", "S256")) {
		error = oidc_fail(cause, OIDC_EDISCOVERY,
		    "discovery "
		    "document: the provider offers no code flow with PKCE "
		    "S256");
		goto out;
	}
	if (!oidc_offers(doc, "id_token_signing_alg_values_supported",
		"RS256") &&
	    !oidc_offers(doc, "id_token_signing_alg_values_supported",
		"ES256")) {
		error = oidc_fail(cause, OIDC_EDISCOVERY,
		    "discovery "
		    "document: the provider signs ID tokens with neither "
		    "RS256 nor ES256");
		goto out;
	}
	d->issuer = xstrdup(iss);
	d->authorization_endpoint = xstrdup(v[0]);
	d->token_endpoint = xstrdup(v[1]);
	d->jwks_uri = xstrdup(v[2]);
	d->end_session_endpoint = end != NULL ? xstrdup(end) : NULL;
	error = 0;
out:
	if (doc != NULL)
		json_decref(doc);
	return (error);
}

struct oidc_pending {
	pthread_mutex_t	  lock;
	struct oidc_login v[OIDC_PENDING_MAX];
	size_t		  n;
};

struct oidc_pending *
oidc_pending_new(void)
{
	struct oidc_pending *p;

	p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	return (p);
}

void
oidc_pending_free(struct oidc_pending *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	explicit_bzero(p, sizeof *p);
	free(p);
}

static int
oidc_random(char *out, size_t size)
{
	unsigned char raw[32];
	char	     *s;

	if (token_random(raw, sizeof raw) != 0)
		return (-1);
	s = jose_base64url(raw, sizeof raw);
	explicit_bzero(raw, sizeof raw);
	snprintf(out, size, "%s", s);
	freezero_str(s);
	return (0);
}

/* Drops the entries older than the TTL (under the lock). */
static void
oidc_pending_expire(struct oidc_pending *p, int64_t now)
{
	size_t i = 0;

	while (i < p->n) {
		if (now - p->v[i].created > OIDC_PENDING_TTL ||
		    now < p->v[i].created - 60) {
			p->v[i] = p->v[--p->n];
			explicit_bzero(&p->v[p->n], sizeof p->v[p->n]);
		} else
			i++;
	}
}

int
oidc_pending_start(struct oidc_pending *p, const char *next, int64_t now,
    struct oidc_login *out)
{
	size_t i, oldest;

	memset(out, 0, sizeof *out);
	if (oidc_random(out->state, sizeof out->state) != 0 ||
	    oidc_random(out->nonce, sizeof out->nonce) != 0 ||
	    oidc_random(out->verifier, sizeof out->verifier) != 0)
		return (-1);
	snprintf(out->next, sizeof out->next, "%s",
	    next != NULL && next[0] == '/' && next[1] != '/' &&
		    next[1] != '\\' && strlen(next) < sizeof out->next ?
		next :
		"/");
	out->created = now;
	pthread_mutex_lock(&p->lock);
	oidc_pending_expire(p, now);
	if (p->n == OIDC_PENDING_MAX) {
		for (i = 1, oldest = 0; i < p->n; i++)
			if (p->v[i].created < p->v[oldest].created)
				oldest = i;
		p->v[oldest] = p->v[--p->n];
	}
	p->v[p->n++] = *out;
	pthread_mutex_unlock(&p->lock);
	return (0);
}

int
oidc_pending_take(struct oidc_pending *p, const char *state, int64_t now,
    struct oidc_login *out)
{
	size_t i;
	int    rc = OIDC_ESTATE;

	memset(out, 0, sizeof *out);
	if (state == NULL || *state == '\0' || strlen(state) >= 48)
		return (OIDC_ESTATE);
	pthread_mutex_lock(&p->lock);
	oidc_pending_expire(p, now);
	for (i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].state, state) == 0) {
			*out = p->v[i];
			p->v[i] = p->v[--p->n];
			explicit_bzero(&p->v[p->n], sizeof p->v[p->n]);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return (rc);
}

char *
oidc_pkce_challenge(const char *verifier)
{
	unsigned char sum[DIGEST_SHA256_LEN];

	if (digest_sha256(verifier, strlen(verifier), sum) != 0)
		return (NULL);
	return (jose_base64url(sum, sizeof sum));
}

char *
oidc_authorize_url(const struct oidc_discovery *d, const struct config_oidc *o,
    const char *redirect_uri, const struct oidc_login *l)
{
	char  *scope, *t, *challenge, *e_client, *e_redirect, *e_scope, *url;
	size_t i;

	scope = xstrdup("");
	for (i = 0; i < o->scopes.n; i++) {
		t = xasprintf("%s%s%s", scope, i > 0 ? " " : "",
		    o->scopes.items[i]);
		free(scope);
		scope = t;
	}
	challenge = oidc_pkce_challenge(l->verifier);
	e_client = oidc_urlencode(o->client_id);
	e_redirect = oidc_urlencode(redirect_uri);
	e_scope = oidc_urlencode(scope);
	url = xasprintf("%s%sresponse_type=code&client_id=%s&redirect_uri=%s"
			"&scope=%s&state=%s&nonce=%s&code_challenge=%s"
			"&code_challenge_method=S256",
	    d->authorization_endpoint,
	    strchr(d->authorization_endpoint, '?') != NULL ? "&" : "?",
	    e_client, e_redirect, e_scope, l->state, l->nonce,
	    challenge != NULL ? challenge : "");
	free(challenge);
	free(e_client);
	free(e_redirect);
	free(e_scope);
	free(scope);
	return (url);
}

char *
oidc_token_form(const char *code, const char *redirect_uri,
    const char *verifier)
{
	char *e_code, *e_redirect, *form;

	e_code = oidc_urlencode(code);
	e_redirect = oidc_urlencode(redirect_uri);
	form = xasprintf("grant_type=authorization_code&code=%s"
			 "&redirect_uri=%s&code_verifier=%s",
	    e_code, e_redirect, verifier);
	freezero_str(e_code);
	free(e_redirect);
	return (form);
}

int
oidc_token_reply(const char *buf, size_t len, long status, char **id_token,
    char **cause)
{
	json_t	    *doc = NULL;
	json_error_t e;
	const char  *tok, *err, *type;
	int	     rc;

	*id_token = NULL;
	if (len > OIDC_MAX_TOKEN_REPLY || !json_nesting_within(buf, len, 16) ||
	    (doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_object(doc)) {
		rc = oidc_fail(cause, OIDC_ETOKEN,
		    "token endpoint: HTTP "
		    "%ld, not a JSON object",
		    status);
		goto out;
	}
	if (status != 200) {
		/* error is an ASCII code from RFC 6749, never a secret. */
		err = json_string_value(json_object_get(doc, "error"));
		rc = oidc_fail(cause, OIDC_ETOKEN,
		    "token endpoint: HTTP %ld "
		    "%.64s",
		    status, err != NULL ? err : "");
		goto out;
	}
	type = json_string_value(json_object_get(doc, "token_type"));
	if (type != NULL && strcasecmp(type, "Bearer") != 0 &&
	    strcasecmp(type, "DPoP") != 0) {
		rc = oidc_fail(cause, OIDC_ETOKEN,
		    "token endpoint: "
		    "unexpected token_type");
		goto out;
	}
	if ((tok = json_string_value(json_object_get(doc, "id_token"))) ==
	    NULL) {
		rc = oidc_fail(cause, OIDC_ETOKEN,
		    "token endpoint: no "
		    "id_token in the reply (is openid in the scopes?)");
		goto out;
	}
	*id_token = xstrdup(tok);
	rc = 0;
out:
	if (doc != NULL) {
		/* The tokens the reply carried: not left in freed memory. */
		const char *k;
		json_t	   *v;

		json_object_foreach(doc, k, v) {
			if (!json_is_string(v))
				continue;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
			explicit_bzero((char *)json_string_value(v),
			    json_string_length(v));
#pragma GCC diagnostic pop
		}
		json_decref(doc);
	}
	return (rc);
}

char *
oidc_end_session_url(const struct oidc_discovery *d, const char *client_id,
    const char *post_logout_uri)
{
	char *e_client, *e_uri, *url;

	if (d->end_session_endpoint == NULL)
		return (NULL);
	e_client = oidc_urlencode(client_id);
	e_uri = oidc_urlencode(post_logout_uri);
	url = xasprintf("%s%sclient_id=%s&post_logout_redirect_uri=%s",
	    d->end_session_endpoint,
	    strchr(d->end_session_endpoint, '?') != NULL ? "&" : "?", e_client,
	    e_uri);
	free(e_client);
	free(e_uri);
	return (url);
}

int
oidc_person(const struct jose_token *t, const char *user_claim,
    const char *groups_claim, const struct config_kvs *map, const char **name,
    const char **email, const char ***groups, char **cause)
{
	const char **pg = NULL, *n, *m;
	const char  *c;
	int	     npg;

	*name = *email = NULL;
	*groups = NULL;
	n = jose_claim_str(t, user_claim);
	if (n == NULL || *n == '\0' || strlen(n) > 256) {
		return (oidc_fail(cause, OIDC_ECLAIM,
		    "The identity "
		    "provider's token has no \"%s\" claim naming you: ask "
		    "its administrators to release it to shipgate.",
		    user_claim));
	}
	for (c = n; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return (oidc_fail(cause, OIDC_ECLAIM,
			    "The \"%s\" "
			    "claim has control characters.",
			    user_claim));
	m = jose_claim_str(t, "email");
	if (m == NULL || strchr(m, '@') == NULL)
		m = n;
	if ((npg = jose_claim_groups(t, groups_claim, &pg)) < 0)
		return (oidc_fail(cause, OIDC_ECLAIM,
		    "The \"%s\" claim is "
		    "not a list of groups.",
		    groups_claim));
	if (config_map_groups(map, pg, groups) == 0) {
		free(pg);
		free(*groups);
		*groups = NULL;
		return (oidc_fail(cause, OIDC_ENOGROUP,
		    "You (%s) signed in "
		    "with the identity provider, but none of your groups "
		    "there gives access to shipgate: ask for one of the "
		    "groups its configuration maps.",
		    n));
	}
	free(pg);
	*name = n;
	*email = m;
	return (0);
}
