/*
 * The portal's OpenID Connect sign-in (portal-oidc.h).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "jose.h"
#include "oidc.h"
#include "people.h"
#include "portal-bridge.h"
#include "portal-oidc.h"
#include "xmalloc.h"

struct portal_oidc {
	struct portal_bridge *bridge;
	struct http_client   *http;
	pthread_mutex_t	      lock;
	/* Under lock: */
	struct oidc_discovery disc;
	int64_t		      disc_fetched; /* unix s; 0: never */
	struct jose_cache     keys;
	struct oidc_pending  *pending;
	/* Request threads waiting for a call, woken by the shutdown. */
	LIST_HEAD(, po_fetch) waiting;
	int stopping;
	/* auth.alb: the load balancer's public keys, by kid. */
	struct po_alb_key {
		char		    kid[PORTAL_ALB_KID_MAX + 1];
		struct jose_keyset *set; /* NULL: the fetch failed */
		int64_t		    at;	 /* fetched or failed, unix s */
	} alb[PORTAL_ALB_KEYS];
};

/*
 * One HTTP call made on the loop for a request thread that waits.  If
 * the thread stops waiting (timeout), the done callback frees it.
 */
struct po_fetch {
	pthread_mutex_t lock;
	pthread_cond_t	cond;
	int		done;
	int		abandoned;
	int		stopped;    /* portal_oidc_shutdown */
	LIST_ENTRY(po_fetch) entry; /* po->waiting, under its lock */
	struct http_client *http;
	/* The request (owned until the loop has started it). */
	const char *method;
	char	   *url;
	char	   *body;
	size_t	    body_len;
	size_t	    body_max;
	char	   *username;
	char	   *password;
	/* The result. */
	int    error;
	long   status;
	char  *reply;
	size_t reply_len;
	char  *message;
};

static void
po_fetch_free(struct po_fetch *f)
{
	free(f->url);
	if (f->body != NULL) {
		explicit_bzero(f->body, f->body_len);
		free(f->body);
	}
	free(f->username);
	freezero_str(f->password);
	if (f->reply != NULL) {
		explicit_bzero(f->reply, f->reply_len);
		free(f->reply);
	}
	free(f->message);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* Ends the fetch: wakes the thread, or frees it when none waits. */
static void
po_fetch_end(struct po_fetch *f)
{
	int abandoned;

	pthread_mutex_lock(&f->lock);
	f->done = 1;
	abandoned = f->abandoned;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (abandoned)
		po_fetch_free(f);
}

static void
po_fetch_done_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct po_fetch *f = arg;

	f->error = res->error;
	f->status = res->status;
	f->message = xstrdup(res->message != NULL ? res->message : "");
	if (res->error == HTTP_OK)
		f->reply = buf_take(&res->body, &f->reply_len);
	po_fetch_end(f);
}

/* On the loop, through the bridge. */
static void
po_fetch_start_cb(void *arg)
{
	struct po_fetch		*f = arg;
	struct http_request	 req;
	static const char *const form_headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		NULL,
	};
	static const char *const get_headers[] = {
		"Accept: application/json",
		NULL,
	};
	char *cause = NULL;

	memset(&req, 0, sizeof req);
	req.method = f->method;
	req.url = f->url;
	req.headers = f->body != NULL ? form_headers : get_headers;
	req.body = f->body;
	req.body_len = f->body_len;
	req.body_max = f->body_max;
	req.timeout_ms = PORTAL_OIDC_TIMEOUT_MS - 1000;
	req.username = f->username;
	req.password = f->password;
	if (f->http == NULL || http_call_start(f->http, &req, po_fetch_done_cb,
				   f, &cause) == NULL) {
		f->error = HTTP_EINVAL;
		f->message = cause != NULL ? cause :
					     xstrdup("no HTTP transport");
		po_fetch_end(f);
		return;
	}
	free(cause);
}

/*
 * Fetches url (a form POST when body is not NULL, with basic auth when
 * username is set) and waits.  0 with the status and body (caller wipes
 * and frees); -1 with *cause.
 */
static int
po_fetch(struct portal_oidc *po, const char *url, const char *body,
    const char *username, const char *password, size_t max, long *status,
    char **reply, size_t *reply_len, char **cause)
{
	struct po_fetch *f;
	struct timespec	 until;
	int		 rc = -1, waited = 0;

	*reply = NULL;
	*reply_len = 0;
	f = xcalloc(1, sizeof *f);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->http = po->http;
	f->method = body != NULL ? "POST" : "GET";
	f->url = xstrdup(url);
	if (body != NULL) {
		f->body = xstrdup(body);
		f->body_len = strlen(body);
	}
	f->body_max = max;
	f->username = username != NULL ? xstrdup(username) : NULL;
	f->password = password != NULL ? xstrdup(password) : NULL;
	if (portal_bridge_call(po->bridge, po_fetch_start_cb, f,
		PORTAL_OIDC_TIMEOUT_MS) != 0) {
		*cause = xstrdup("shipgated is busy or stopping");
		po_fetch_free(f);
		return (-1);
	}
	pthread_mutex_lock(&po->lock);
	if (po->stopping)
		f->stopped = 1;
	LIST_INSERT_HEAD(&po->waiting, f, entry);
	pthread_mutex_unlock(&po->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PORTAL_OIDC_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&f->lock);
	while (!f->done && !f->stopped && !waited)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &until) ==
		    ETIMEDOUT)
			waited = 1;
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_lock(&po->lock);
	LIST_REMOVE(f, entry);
	pthread_mutex_unlock(&po->lock);
	pthread_mutex_lock(&f->lock);
	if (!f->done) {
		/* The loop's callback frees it when the call ends. */
		f->abandoned = 1;
		pthread_mutex_unlock(&f->lock);
		*cause = f->stopped ?
			     xasprintf("%s: shipgated is stopping", url) :
			     xasprintf("%s: no answer within %d s", url,
				 PORTAL_OIDC_TIMEOUT_MS / 1000);
		return (-1);
	}
	pthread_mutex_unlock(&f->lock);
	if (f->error != HTTP_OK)
		*cause = xasprintf("%s: %s (%s)", url, http_strerror(f->error),
		    f->message != NULL ? f->message : "");
	else {
		*status = f->status;
		*reply = f->reply;
		*reply_len = f->reply_len;
		f->reply = NULL;
		rc = 0;
	}
	po_fetch_free(f);
	return (rc);
}

struct portal_oidc *
portal_oidc_new(struct portal_bridge *bridge, struct http_client *http)
{
	struct portal_oidc *po;

	po = xcalloc(1, sizeof *po);
	po->bridge = bridge;
	po->http = http;
	pthread_mutex_init(&po->lock, NULL);
	LIST_INIT(&po->waiting);
	po->pending = oidc_pending_new();
	return (po);
}

void
portal_oidc_shutdown(struct portal_oidc *po)
{
	struct po_fetch *f;

	if (po == NULL)
		return;
	pthread_mutex_lock(&po->lock);
	po->stopping = 1;
	LIST_FOREACH(f, &po->waiting, entry) {
		pthread_mutex_lock(&f->lock);
		f->stopped = 1;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&po->lock);
}

void
portal_oidc_free(struct portal_oidc *po)
{
	size_t i;

	if (po == NULL)
		return;
	oidc_discovery_clear(&po->disc);
	jose_cache_clear(&po->keys);
	oidc_pending_free(po->pending);
	for (i = 0; i < PORTAL_ALB_KEYS; i++)
		jose_keyset_free(po->alb[i].set);
	pthread_mutex_destroy(&po->lock);
	free(po);
}

static void
po_free_reply(char *reply, size_t len)
{
	if (reply != NULL) {
		explicit_bzero(reply, len);
		free(reply);
	}
}

/* Fetches the key set at jwks_uri into the cache. */
static int
po_fetch_keys(struct portal_oidc *po, const char *jwks_uri, int64_t now,
    char **cause)
{
	struct jose_keyset *set = NULL;
	char		   *reply = NULL;
	size_t		    len;
	long		    status = 0;
	int		    rc = -1;

	if (po_fetch(po, jwks_uri, NULL, NULL, NULL, JOSE_MAX_JWKS, &status,
		&reply, &len, cause) != 0)
		return (-1);
	if (status != 200) {
		*cause = xasprintf("%s: HTTP %ld", jwks_uri, status);
		goto out;
	}
	if (jose_keyset_parse(&set, reply, len, cause) != 0)
		goto out;
	pthread_mutex_lock(&po->lock);
	jose_cache_set(&po->keys, set, now);
	pthread_mutex_unlock(&po->lock);
	rc = 0;
out:
	po_free_reply(reply, len);
	return (rc);
}

/* The discovery document, fetched when absent, stale, of another
 * issuer or when forced (with its key set); a copy of it in *d (caller
 * clears). */
static int
po_discovery(struct portal_oidc *po, const struct config *c, int64_t now,
    int force, struct oidc_discovery *d, char **cause)
{
	const struct config_oidc *o = &c->oidc;
	struct oidc_discovery	  fresh;
	char			 *url, *reply = NULL;
	size_t			  len = 0;
	long			  status = 0;
	int			  rc = -1, stale;

	memset(d, 0, sizeof *d);
	pthread_mutex_lock(&po->lock);
	stale = force || po->disc.issuer == NULL ||
		strcmp(po->disc.issuer, o->issuer) != 0 ||
		now - po->disc_fetched >= OIDC_DISCOVERY_TTL;
	if (!stale) {
		d->issuer = xstrdup(po->disc.issuer);
		d->authorization_endpoint = xstrdup(
		    po->disc.authorization_endpoint);
		d->token_endpoint = xstrdup(po->disc.token_endpoint);
		d->jwks_uri = xstrdup(po->disc.jwks_uri);
		d->end_session_endpoint =
		    po->disc.end_session_endpoint != NULL ?
			xstrdup(po->disc.end_session_endpoint) :
			NULL;
	}
	pthread_mutex_unlock(&po->lock);
	if (!stale)
		return (0);

	url = oidc_discovery_url(o->issuer);
	if (po_fetch(po, url, NULL, NULL, NULL, OIDC_MAX_DISCOVERY, &status,
		&reply, &len, cause) != 0)
		goto out;
	if (status != 200) {
		*cause = xasprintf("%s: HTTP %ld", url, status);
		goto out;
	}
	if (oidc_discovery_parse(reply, len, o->issuer, o->loopback, &fresh,
		cause) != 0)
		goto out;
	/* A new document: its key set with it. */
	if (po_fetch_keys(po, fresh.jwks_uri, now, cause) != 0) {
		oidc_discovery_clear(&fresh);
		goto out;
	}
	pthread_mutex_lock(&po->lock);
	oidc_discovery_clear(&po->disc);
	po->disc = fresh;
	po->disc_fetched = now;
	d->issuer = xstrdup(fresh.issuer);
	d->authorization_endpoint = xstrdup(fresh.authorization_endpoint);
	d->token_endpoint = xstrdup(fresh.token_endpoint);
	d->jwks_uri = xstrdup(fresh.jwks_uri);
	d->end_session_endpoint = fresh.end_session_endpoint != NULL ?
				      xstrdup(fresh.end_session_endpoint) :
				      NULL;
	pthread_mutex_unlock(&po->lock);
	rc = 0;
out:
	po_free_reply(reply, len);
	free(url);
	return (rc);
}

static char *
po_redirect_uri(const struct config *c, const char *path)
{
	size_t len = strlen(c->public_url);

	while (len > 0 && c->public_url[len - 1] == '/')
		len--;
	return (xasprintf("%.*s%s", (int)len, c->public_url, path));
}

char *
portal_oidc_begin(struct portal_oidc *po, const struct config *c,
    const char *next, int64_t now, char **cause)
{
	struct oidc_discovery d;
	struct oidc_login     l;
	char		     *redirect, *url;

	if (po_discovery(po, c, now, 0, &d, cause) != 0)
		return (NULL);
	if (oidc_pending_start(po->pending, next, now, &l) != 0) {
		*cause = xstrdup("no random bytes");
		oidc_discovery_clear(&d);
		return (NULL);
	}
	redirect = po_redirect_uri(c, PORTAL_OIDC_CALLBACK_PATH);
	url = oidc_authorize_url(&d, &c->oidc, redirect, &l);
	explicit_bzero(&l, sizeof l);
	free(redirect);
	oidc_discovery_clear(&d);
	return (url);
}

/* The client secret: the file's first line. */
static char *
po_client_secret(const char *path, char **cause)
{
	FILE *f;
	char  line[4096], *s;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("client_secret_file %s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	if (fgets(line, sizeof line, f) == NULL) {
		fclose(f);
		*cause = xasprintf("client_secret_file %s: empty", path);
		return (NULL);
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	s = xstrdup(line);
	explicit_bzero(line, sizeof line);
	return (s);
}

int
portal_oidc_finish(struct portal_oidc *po, const struct config *c,
    const char *state, const char *code, const char *error, int64_t now,
    const struct config_user **userp, int *persistp, char **nextp, char **cause,
    char **logp)
{
	const struct config_oidc *o = &c->oidc;
	struct oidc_discovery	  d;
	struct oidc_login	  l;
	struct jose_expect	  exp;
	struct jose_token	  tok;
	struct jose_header	  h;
	char			 *redirect = NULL, *form = NULL;
	char			 *secret = NULL, *reply = NULL;
	char			 *id_token = NULL, *why = NULL;
	const char		 *name, *email, **groups = NULL;
	size_t			  len = 0;
	long			  status = 0;
	int			  rc, look;

	*userp = NULL;
	*nextp = NULL;
	*cause = NULL;
	*logp = NULL;
	memset(&d, 0, sizeof d);
	memset(&tok, 0, sizeof tok);
	memset(&h, 0, sizeof h);
	if (oidc_pending_take(po->pending, state, now, &l) != 0) {
		*cause = xstrdup("This sign-in is unknown, expired or already "
				 "used: sign in again.");
		*logp = xstrdup("unknown, expired or used state");
		return (400);
	}
	if (error != NULL) {
		/* The provider's error code (RFC 6749 4.1.2.1), as the
		 * browser brought it: only a code's characters are logged. */
		*cause = xstrdup("The identity provider did not sign you in.");
		len = strspn(error, "abcdefghijklmnopqrstuvwxyz_");
		*logp = xasprintf("the provider answered error=%.*s",
		    (int)(len < 64 ? len : 64), error);
		len = 0;
		rc = 403;
		goto out;
	}
	if (code == NULL || *code == '\0' || strlen(code) > 4096) {
		*cause = xstrdup("The identity provider gave no code.");
		*logp = xstrdup("no code in the callback");
		rc = 400;
		goto out;
	}
	if (po_discovery(po, c, now, 0, &d, &why) != 0) {
		*cause = xstrdup("The identity provider cannot be reached: try "
				 "again later.");
		*logp = why;
		why = NULL;
		rc = 502;
		goto out;
	}
	if ((secret = po_client_secret(o->client_secret_file, &why)) == NULL) {
		*cause = xstrdup("shipgate cannot read its client secret.");
		*logp = why;
		why = NULL;
		rc = 502;
		goto out;
	}
	redirect = po_redirect_uri(c, PORTAL_OIDC_CALLBACK_PATH);
	form = oidc_token_form(code, redirect, l.verifier);
	if (po_fetch(po, d.token_endpoint, form, o->client_id, secret,
		OIDC_MAX_TOKEN_REPLY, &status, &reply, &len, &why) != 0) {
		*cause = xstrdup("The identity provider cannot be reached: try "
				 "again later.");
		*logp = why;
		why = NULL;
		rc = 502;
		goto out;
	}
	if (oidc_token_reply(reply, len, status, &id_token, &why) != 0) {
		*cause = xstrdup("The identity provider refused the sign-in "
				 "(a code is good once): sign in again.");
		*logp = why;
		why = NULL;
		rc = 403;
		goto out;
	}
	if (jose_peek(id_token, strlen(id_token), &h, &why) != 0) {
		*cause = xstrdup("The identity provider's token is not "
				 "valid.");
		*logp = why;
		why = NULL;
		rc = 403;
		goto out;
	}
	pthread_mutex_lock(&po->lock);
	look = jose_cache_lookup(&po->keys, h.kid, now);
	pthread_mutex_unlock(&po->lock);
	/* A kid never seen: the provider rotated its keys; the document
	 * and its key set again (at most once a minute, jose_cache). */
	if (look == JOSE_CACHE_REFETCH)
		oidc_discovery_clear(&d);
	if (look == JOSE_CACHE_REFETCH &&
	    po_discovery(po, c, now, 1, &d, &why) != 0) {
		*cause = xstrdup("The identity provider cannot be reached: try "
				 "again later.");
		*logp = why;
		why = NULL;
		rc = 502;
		goto out;
	}
	memset(&exp, 0, sizeof exp);
	exp.issuer = o->issuer;
	exp.audience = o->client_id;
	exp.nonce = l.nonce;
	exp.now = now;
	pthread_mutex_lock(&po->lock);
	rc = jose_verify_id_token(po->keys.keys, id_token, strlen(id_token),
	    &exp, &tok, &why);
	pthread_mutex_unlock(&po->lock);
	if (rc != 0) {
		*cause = xstrdup("The identity provider's token is not "
				 "valid.");
		*logp = why;
		why = NULL;
		rc = 403;
		goto out;
	}
	if (oidc_person(&tok, o->user_claim, o->groups_claim, &o->groups, &name,
		&email, &groups, cause) != 0) {
		*logp = xstrdup(*cause);
		rc = 403;
		goto out;
	}
	/* A configured user's name is theirs alone: config users win. */
	if (config_find_user(c, name) != NULL &&
	    people_find(c->people, name) != config_find_user(c, name)) {
		*cause =
		    xasprintf("\"%s\" is the name of a user configured "
			      "in shipgate: sign in with that user's password.",
			name);
		*logp = xasprintf("user claim %s is a configured user's name",
		    name);
		rc = 403;
		goto out;
	}
	if (c->people == NULL ||
	    people_set(c->people, name, email, groups, "oidc", now * 1000,
		userp, persistp, &why) != 0) {
		*cause = xstrdup("shipgate cannot sign you in now.");
		*logp = why != NULL ? why : xstrdup("no directory of people");
		why = NULL;
		rc = 503;
		goto out;
	}
	*nextp = xstrdup(l.next);
	rc = 0;
out:
	explicit_bzero(&l, sizeof l);
	free(groups);
	jose_token_clear(&tok);
	jose_header_clear(&h);
	oidc_discovery_clear(&d);
	free(redirect);
	freezero_str(form);
	freezero_str(secret);
	po_free_reply(reply, len);
	freezero_str(id_token);
	free(why);
	return (rc);
}

char *
portal_oidc_logout_url(struct portal_oidc *po, const struct config *c)
{
	char *back, *url = NULL;

	back = po_redirect_uri(c, "/");
	pthread_mutex_lock(&po->lock);
	if (po->disc.issuer != NULL &&
	    strcmp(po->disc.issuer, c->oidc.issuer) == 0)
		url = oidc_end_session_url(&po->disc, c->oidc.client_id, back);
	pthread_mutex_unlock(&po->lock);
	free(back);
	return (url);
}

/* --- auth.alb ------------------------------------------------------------ */

static int
po_alb_kid_ok(const char *kid)
{
	size_t len;

	if (kid == NULL || (len = strlen(kid)) == 0 || len > PORTAL_ALB_KID_MAX)
		return (0);
	return (
	    strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-_") == len);
}

/* The slot of kid (under lock), or NULL. */
static struct po_alb_key *
po_alb_find(struct portal_oidc *po, const char *kid)
{
	size_t i;

	for (i = 0; i < PORTAL_ALB_KEYS; i++)
		if (po->alb[i].kid[0] != '\0' &&
		    strcmp(po->alb[i].kid, kid) == 0)
			return (&po->alb[i]);
	return (NULL);
}

/* Keeps what a fetch of kid gave (set NULL: it failed). */
static void
po_alb_keep(struct portal_oidc *po, const char *kid, struct jose_keyset *set,
    int64_t now)
{
	struct po_alb_key *k;
	size_t		   i;

	pthread_mutex_lock(&po->lock);
	if ((k = po_alb_find(po, kid)) == NULL) {
		/* A free slot, else the oldest. */
		k = &po->alb[0];
		for (i = 0; i < PORTAL_ALB_KEYS; i++) {
			if (po->alb[i].kid[0] == '\0') {
				k = &po->alb[i];
				break;
			}
			if (po->alb[i].at < k->at)
				k = &po->alb[i];
		}
		jose_keyset_free(k->set);
		k->set = NULL;
		snprintf(k->kid, sizeof k->kid, "%s", kid);
	}
	if (set != NULL || k->set == NULL) {
		jose_keyset_free(k->set);
		k->set = set;
	} else
		jose_keyset_free(set);
	k->at = now;
	pthread_mutex_unlock(&po->lock);
}

int
portal_alb_person(struct portal_oidc *po, const struct config *c,
    const char *header, int64_t now, const struct config_user **userp,
    int *persistp, char **cause)
{
	const struct config_alb *a = &c->alb;
	struct po_alb_key	*k;
	struct jose_header	 h;
	struct jose_token	 tok;
	struct jose_keyset	*set = NULL;
	const char		*name, *email, **groups = NULL;
	char			*url = NULL, *reply = NULL, *why = NULL;
	size_t			 len = 0, base;
	long			 status = 0;
	int			 rc = -1, have, recent;

	*userp = NULL;
	*cause = NULL;
	memset(&h, 0, sizeof h);
	memset(&tok, 0, sizeof tok);
	if (header == NULL || *header == '\0') {
		*cause = xstrdup("no x-amzn-oidc-data header");
		return (-1);
	}
	if (jose_peek(header, strlen(header), &h, cause) != 0)
		return (-1);
	if (!po_alb_kid_ok(h.kid)) {
		*cause = xstrdup("ALB token: no usable kid");
		goto out;
	}
	pthread_mutex_lock(&po->lock);
	k = po_alb_find(po, h.kid);
	have = k != NULL && k->set != NULL;
	recent = k != NULL && k->set == NULL &&
		 now - k->at < JOSE_REFETCH_MIN && now >= k->at;
	pthread_mutex_unlock(&po->lock);
	if (recent) {
		*cause = xasprintf("ALB token: key %s could not be fetched a "
				   "moment ago",
		    h.kid);
		goto out;
	}
	if (!have) {
		base = strlen(a->key_url);
		while (base > 0 && a->key_url[base - 1] == '/')
			base--;
		url = xasprintf("%.*s/%s", (int)base, a->key_url, h.kid);
		if (po_fetch(po, url, NULL, NULL, NULL, 16384, &status, &reply,
			&len, &why) != 0 ||
		    status != 200 ||
		    jose_keyset_from_pem(&set, h.kid, reply, len, &why) != 0) {
			if (why != NULL)
				*cause = xasprintf("ALB token: key %s: %s",
				    h.kid, why);
			else
				*cause = xasprintf("ALB token: key %s: %s "
						   "gave HTTP %ld",
				    h.kid, url, status);
			po_alb_keep(po, h.kid, NULL, now);
			goto out;
		}
		po_alb_keep(po, h.kid, set, now);
		set = NULL;
	}
	pthread_mutex_lock(&po->lock);
	k = po_alb_find(po, h.kid);
	if (k == NULL || k->set == NULL) {
		pthread_mutex_unlock(&po->lock);
		*cause = xasprintf("ALB token: key %s is gone", h.kid);
		goto out;
	}
	rc = jose_verify_alb(k->set, header, strlen(header), a->arn, now, &tok,
	    cause);
	pthread_mutex_unlock(&po->lock);
	if (rc != 0) {
		rc = -1;
		goto out;
	}
	rc = -1;
	if (oidc_person(&tok, a->user_claim, a->groups_claim, &a->groups, &name,
		&email, &groups, cause) != 0)
		goto out;
	if (config_find_user(c, name) != NULL &&
	    people_find(c->people, name) != config_find_user(c, name)) {
		*cause = xasprintf("the ALB's user %s is the name of a "
				   "configured user",
		    name);
		goto out;
	}
	if (c->people == NULL) {
		*cause = xstrdup("no directory of people");
		goto out;
	}
	if (people_set(c->people, name, email, groups, "alb", now * 1000, userp,
		persistp, cause) != 0)
		goto out;
	rc = 0;
out:
	free(groups);
	jose_token_clear(&tok);
	jose_header_clear(&h);
	jose_keyset_free(set);
	po_free_reply(reply, len);
	free(url);
	free(why);
	return (rc);
}
