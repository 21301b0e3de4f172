/*
 * The OCI distribution API on http.h: each call builds its URL and
 * headers, gets a Bearer token first when the registry asked for one, and
 * turns the HTTP result into a registry_reply with the registry's own
 * error text.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "digest.h"
#include "log.h"
#include "registry.h"
#include "xmalloc.h"

#define REGISTRY_TOKEN_MAX	   (64 * 1024)
#define REGISTRY_ERROR_MAX	   (64 * 1024)
#define REGISTRY_TIMEOUT_DEFAULT   60000
#define REGISTRY_LOW_SPEED_DEFAULT 60
#define REGISTRY_TOKEN_TTL_DEFAULT 60 /* s, when expires_in is absent */
#define REGISTRY_TOKEN_MARGIN	   10 /* s: renewed that early */
#define REGISTRY_MAX_REDIRECTS	   5
#define REGISTRY_HEADERS	   8

static const char registry_accept[] = "Accept: " REGISTRY_MT_OCI_INDEX
				      ", " REGISTRY_MT_OCI_MANIFEST
				      ", " REGISTRY_MT_DOCKER_LIST
				      ", " REGISTRY_MT_DOCKER_MANIFEST;

struct registry_token {
	char		      *scope;
	char		      *token;	/* secret */
	long long	       expires; /* monotonic s */
	struct registry_token *next;
};

struct registry {
	struct http_client *http;
	char		   *url;
	char		   *name;
	char		   *username;
	char		   *password; /* secret */
	char		   *ca_file;
	long		    timeout_ms;
	long		    low_speed_time;

	int		       bearer; /* a Bearer challenge seen */
	char		      *realm;
	char		      *service;
	struct registry_token *tokens;
};

struct registry_call {
	struct registry *reg;
	char		*method;
	char		*url;
	char		*scope;
	char		*what; /* for messages */
	char		*headers[REGISTRY_HEADERS];
	size_t		 nheaders;
	char		*body;
	size_t		 body_len;
	http_read_cb	 read_cb;
	http_write_cb	 write_cb;
	void		*stream_arg;
	long long	 read_len;
	size_t		 body_max;
	int		 stream;       /* no total timeout */
	int		 redirect_ok;  /* a 3xx is an answer */
	char		*check_digest; /* GET by digest */

	registry_done_cb done_cb;
	void		*arg;

	struct http_call *http;
	struct http_call *token_http;
	int		  retried;
	int		  cancelled;
};

static int registry_send(struct registry_call *, char **);

const char *
registry_strerror(int error)
{
	switch (error) {
	case REGISTRY_OK:
		return ("ok");
	case REGISTRY_EAUTH:
		return ("unauthorized");
	case REGISTRY_EDENIED:
		return ("denied");
	case REGISTRY_ENOTFOUND:
		return ("not found");
	case REGISTRY_ESTATUS:
		return ("unexpected status");
	case REGISTRY_EDIGEST:
		return ("digest mismatch");
	case REGISTRY_ESIZE:
		return ("size mismatch");
	case REGISTRY_EREPLY:
		return ("unreadable reply");
	case REGISTRY_ENETWORK:
		return ("network");
	case REGISTRY_EABORTED:
		return ("aborted");
	case REGISTRY_ECANCELLED:
		return ("cancelled");
	}
	return ("unknown error");
}

static long long
registry_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec);
}

/* --- pure helpers -------------------------------------------------------- */

int
registry_valid_repository(const char *s)
{
	size_t i, len;

	/* Path components of [a-z0-9] with ".", "_", "__", "-" inside. */
	if (s == NULL || (len = strlen(s)) == 0 || len > 255)
		return (0);
	for (i = 0; i < len; i++) {
		if (islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]))
			continue;
		if (strchr("._-/", s[i]) == NULL)
			return (0);
		if (i == 0 || i == len - 1)
			return (0);
		if (s[i] == '/' && strchr("._-/", s[i - 1]) != NULL)
			return (0);
		if (s[i] != '/' && s[i - 1] == '/')
			return (0);
	}
	return (1);
}

int
registry_valid_tag(const char *s)
{
	size_t i, len;

	if (s == NULL || (len = strlen(s)) == 0 || len > 128)
		return (0);
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return (0);
	for (i = 1; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_.-", s[i]) == NULL)
			return (0);
	}
	return (1);
}

int
registry_valid_digest(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
		return (0);
	for (i = 7; i < 71; i++) {
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return (0);
	}
	return (1);
}

void
registry_digest(const void *data, size_t len, char out[REGISTRY_DIGEST_SIZE])
{
	char hex[DIGEST_SHA256_HEX_SIZE];

	digest_sha256_hex(data, len, hex);
	snprintf(out, REGISTRY_DIGEST_SIZE, "sha256:%s", hex);
}

char *
registry_error_text(const char *body, size_t len)
{
	json_t	   *doc, *errors, *e;
	const char *code, *message;
	struct buf  b;
	size_t	    i;
	char	   *out = NULL;

	if (body == NULL || len == 0)
		return (NULL);
	if ((doc = json_loadb(body, len, 0, NULL)) == NULL)
		return (NULL);
	errors = json_object_get(doc, "errors");
	buf_init(&b, 1024);
	json_array_foreach(errors, i, e) {
		code = json_string_value(json_object_get(e, "code"));
		message = json_string_value(json_object_get(e, "message"));
		if (code == NULL && message == NULL)
			continue;
		if (b.len > 0)
			(void)buf_appends(&b, "; ");
		(void)buf_printf(&b, "%s%s%s", code != NULL ? code : "",
		    code != NULL && message != NULL ? ": " : "",
		    message != NULL ? message : "");
	}
	if (b.len > 0)
		out = buf_take(&b, NULL);
	buf_free(&b);
	json_decref(doc);
	return (out);
}

void
registry_challenge_free(struct registry_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

/*
 * `Bearer realm="https://auth/token",service="reg",scope="a:b:pull,push"`:
 * the scheme, then name=value pairs separated by commas, values quoted
 * (with backslash escapes) or bare tokens.  0, or -1 when unreadable.
 */
int
registry_parse_challenge(const char *s, struct registry_challenge *c)
{
	const char *p = s, *start;
	char	   *name, *value, **dst;
	struct buf  v;

	memset(c, 0, sizeof *c);
	if (s == NULL)
		return (-1);
	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (p == start)
		return (-1);
	c->scheme = xstrndup(start, (size_t)(p - start));
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != '=' && *p != ',' && *p != ' ')
			p++;
		if (*p != '=' || p == start)
			goto bad;
		name = xstrndup(start, (size_t)(p - start));
		p++;
		buf_init(&v, 8192);
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (buf_append(&v, p, 1) != 0)
					break;
			}
			if (*p != '"') {
				free(name);
				buf_free(&v);
				goto bad;
			}
			p++;
		} else {
			start = p;
			while (*p != '\0' && *p != ',' && *p != ' ')
				p++;
			(void)buf_append(&v, start, (size_t)(p - start));
		}
		(void)buf_append(&v, "", 0);
		value = buf_take(&v, NULL);
		dst = NULL;
		if (strcasecmp(name, "realm") == 0)
			dst = &c->realm;
		else if (strcasecmp(name, "service") == 0)
			dst = &c->service;
		else if (strcasecmp(name, "scope") == 0)
			dst = &c->scope;
		if (dst != NULL) {
			free(*dst);
			*dst = value;
		} else
			free(value);
		free(name);
	}
	return (0);
bad:
	registry_challenge_free(c);
	return (-1);
}

static void
registry_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			(void)buf_append(b, s, 1);
		else
			(void)buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

/* --- the registry -------------------------------------------------------- */

struct registry *
registry_new(struct http_client *http, const struct registry_options *o,
    char **cause)
{
	struct registry *reg;
	const char	*host;
	size_t		 len;

	if (o->url == NULL || (strncmp(o->url, "https://", 8) != 0 &&
				  strncmp(o->url, "http://", 7) != 0)) {
		*cause = xstrdup("the registry URL is not http:// or https://");
		return (NULL);
	}
	host = strstr(o->url, "://") + 3;
	len = strcspn(host, "/?#");
	if (len == 0 || (host[len] != '\0' && strcmp(host + len, "/") != 0)) {
		*cause = xasprintf("the registry URL %s has a path", o->url);
		return (NULL);
	}
	reg = xcalloc(1, sizeof *reg);
	reg->http = http;
	reg->url = xstrndup(o->url, (size_t)(host - o->url) + len);
	reg->name = xstrndup(host, len);
	if (o->username != NULL) {
		reg->username = xstrdup(o->username);
		reg->password = xstrdup(o->password != NULL ? o->password : "");
	}
	if (o->ca_file != NULL)
		reg->ca_file = xstrdup(o->ca_file);
	reg->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
					      REGISTRY_TIMEOUT_DEFAULT;
	reg->low_speed_time = o->low_speed_time > 0 ?
				  o->low_speed_time :
				  REGISTRY_LOW_SPEED_DEFAULT;
	return (reg);
}

static void
registry_tokens_free(struct registry *reg)
{
	struct registry_token *t, *next;

	for (t = reg->tokens; t != NULL; t = next) {
		next = t->next;
		free(t->scope);
		freezero_str(t->token);
		free(t);
	}
	reg->tokens = NULL;
}

struct registry *
registry_new_config(struct http_client *http, const struct config_registry *cr,
    char **cause)
{
	struct registry_options o;
	struct registry	       *reg = NULL;
	struct buf		secret;
	char			chunk[4096];
	FILE		       *f = NULL;
	size_t			n;

	memset(&o, 0, sizeof o);
	buf_init(&secret, 64 * 1024);
	o.url = cr->url;
	if (cr->username != NULL && cr->password_file != NULL) {
		if ((f = fopen(cr->password_file, "r")) == NULL) {
			*cause = xasprintf("%s: %s", cr->password_file,
			    strerror(errno));
			goto out;
		}
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
			if (buf_append(&secret, chunk, n) != 0) {
				*cause = xasprintf("%s: too long",
				    cr->password_file);
				goto out;
			}
		}
		if (ferror(f)) {
			*cause = xasprintf("%s: read error", cr->password_file);
			goto out;
		}
		(void)buf_append(&secret, "", 0);
		/* The first line is the password. */
		secret.data[strcspn(secret.data, "\r\n")] = '\0';
		o.username = cr->username;
		o.password = secret.data;
	}
	reg = registry_new(http, &o, cause);
out:
	if (f != NULL)
		fclose(f);
	explicit_bzero(chunk, sizeof chunk);
	buf_free_secret(&secret);
	return (reg);
}

void
registry_free(struct registry *reg)
{
	if (reg == NULL)
		return;
	registry_tokens_free(reg);
	free(reg->url);
	free(reg->name);
	free(reg->username);
	freezero_str(reg->password);
	free(reg->ca_file);
	free(reg->realm);
	free(reg->service);
	free(reg);
}

void
registry_set_credentials(struct registry *reg, const char *username,
    const char *password)
{
	free(reg->username);
	freezero_str(reg->password);
	reg->username = reg->password = NULL;
	if (username != NULL) {
		reg->username = xstrdup(username);
		reg->password = xstrdup(password != NULL ? password : "");
	}
	registry_tokens_free(reg);
}

const char *
registry_name(const struct registry *reg)
{
	return (reg->name);
}

static struct registry_token *
registry_token_find(struct registry *reg, const char *scope)
{
	struct registry_token *t;
	long long	       now = registry_now();

	for (t = reg->tokens; t != NULL; t = t->next) {
		if (strcmp(t->scope, scope) == 0 && t->expires > now)
			return (t);
	}
	return (NULL);
}

static void
registry_token_drop(struct registry *reg, const char *scope)
{
	struct registry_token **tp, *t;

	for (tp = &reg->tokens; (t = *tp) != NULL;) {
		if (strcmp(t->scope, scope) == 0) {
			*tp = t->next;
			free(t->scope);
			freezero_str(t->token);
			free(t);
		} else
			tp = &t->next;
	}
}

/* --- calls --------------------------------------------------------------- */

static void
registry_call_free(struct registry_call *call)
{
	size_t i;

	free(call->method);
	free(call->url);
	free(call->scope);
	free(call->what);
	for (i = 0; i < call->nheaders; i++)
		freezero_str(call->headers[i]);
	free(call->body);
	free(call->check_digest);
	free(call);
}

static void
registry_call_header(struct registry_call *call, char *h)
{
	if (call->nheaders >= REGISTRY_HEADERS - 1)
		fatalx("%s: too many headers", __func__);
	call->headers[call->nheaders++] = h;
}

static struct registry_call *
registry_call_new(struct registry *reg, const char *method,
    const char *repository, const char *path, registry_done_cb done_cb,
    void *arg, char **cause)
{
	struct registry_call *call;

	if (!registry_valid_repository(repository)) {
		*cause = xasprintf("bad repository name \"%s\"", repository);
		return (NULL);
	}
	call = xcalloc(1, sizeof *call);
	call->reg = reg;
	call->method = xstrdup(method);
	if (path != NULL)
		call->url = xasprintf("%s/v2/%s/%s", reg->url, repository,
		    path);
	call->scope = xasprintf("repository:%s:%s", repository,
	    strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ?
		"pull" :
		"pull,push");
	call->done_cb = done_cb;
	call->arg = arg;
	return (call);
}

static int
registry_map_status(long status)
{
	if (status == 401)
		return (REGISTRY_EAUTH);
	if (status == 403)
		return (REGISTRY_EDENIED);
	if (status == 404)
		return (REGISTRY_ENOTFOUND);
	return (REGISTRY_ESTATUS);
}

static int
registry_map_http(int error)
{
	if (error == HTTP_ECANCELLED)
		return (REGISTRY_ECANCELLED);
	if (error == HTTP_EABORTED)
		return (REGISTRY_EABORTED);
	if (error == HTTP_ETOOLARGE)
		return (REGISTRY_ESIZE);
	return (REGISTRY_ENETWORK);
}

static void
registry_finish(struct registry_call *call, struct registry_reply *reply)
{
	call->done_cb(call, reply, call->arg);
	registry_call_free(call);
}

/* Ends the call early, without a reply from the registry. */
static void
registry_fail(struct registry_call *call, int error, const char *message)
{
	struct registry_reply reply;

	memset(&reply, 0, sizeof reply);
	reply.error = error;
	reply.message = message;
	reply.length = -1;
	registry_finish(call, &reply);
}

static void
registry_token_done_cb(struct http_call *http, struct http_result *res,
    void *arg)
{
	struct registry_call  *call = arg;
	struct registry	      *reg = call->reg;
	struct registry_token *t;
	json_t		      *doc = NULL;
	const char	      *token;
	json_int_t	       ttl;
	char		      *msg = NULL, *cause = NULL, *text;
	int		       error = REGISTRY_OK;

	(void)http;
	call->token_http = NULL;
	if (call->cancelled) {
		registry_fail(call, REGISTRY_ECANCELLED, "cancelled");
		return;
	}
	if (res->error != HTTP_OK) {
		error = registry_map_http(res->error);
		msg = xasprintf("token from %s: %s", reg->realm, res->message);
		goto out;
	}
	if (res->status != 200) {
		error = registry_map_status(res->status);
		if (error == REGISTRY_ENOTFOUND)
			error = REGISTRY_EAUTH;
		text = registry_error_text(res->body.data, res->body.len);
		msg = xasprintf("token from %s: %ld%s%s", reg->realm,
		    res->status, text != NULL ? " " : "",
		    text != NULL ? text : "");
		free(text);
		goto out;
	}
	doc = json_loadb(res->body.data, res->body.len, 0, NULL);
	token = json_string_value(json_object_get(doc, "token"));
	if (token == NULL)
		token = json_string_value(json_object_get(doc, "access_token"));
	if (token == NULL || *token == '\0') {
		error = REGISTRY_EREPLY;
		msg = xasprintf("token from %s: no token in the reply",
		    reg->realm);
		goto out;
	}
	ttl = json_integer_value(json_object_get(doc, "expires_in"));
	if (ttl <= 0)
		ttl = REGISTRY_TOKEN_TTL_DEFAULT;
	registry_token_drop(reg, call->scope);
	t = xcalloc(1, sizeof *t);
	t->scope = xstrdup(call->scope);
	t->token = xstrdup(token);
	t->expires = registry_now() + (long long)ttl -
		     (ttl > 2 * REGISTRY_TOKEN_MARGIN ? REGISTRY_TOKEN_MARGIN :
							0);
	t->next = reg->tokens;
	reg->tokens = t;
	if (registry_send(call, &cause) != 0) {
		error = REGISTRY_EREPLY;
		msg = cause;
		cause = NULL;
	}
out:
	if (doc != NULL) {
		/* The token is a secret: jansson's copy goes with doc. */
		json_decref(doc);
	}
	buf_free_secret(&res->body);
	if (error != REGISTRY_OK)
		registry_fail(call, error, msg);
	free(msg);
	free(cause);
}

static int
registry_token_start(struct registry_call *call, char **cause)
{
	struct registry	   *reg = call->reg;
	struct http_request req;
	struct buf	    url;
	int		    rc = 0;

	buf_init(&url, 16384);
	(void)buf_appends(&url, reg->realm);
	(void)buf_appends(&url, strchr(reg->realm, '?') != NULL ? "&" : "?");
	if (reg->service != NULL) {
		(void)buf_appends(&url, "service=");
		registry_escape(&url, reg->service);
		(void)buf_appends(&url, "&");
	}
	(void)buf_appends(&url, "scope=");
	registry_escape(&url, call->scope);
	memset(&req, 0, sizeof req);
	req.url = url.data;
	req.username = reg->username;
	req.password = reg->password;
	req.ca_file = reg->ca_file;
	req.timeout_ms = reg->timeout_ms;
	req.body_max = REGISTRY_TOKEN_MAX;
	req.max_redirects = REGISTRY_MAX_REDIRECTS;
	log_debug(LOG_CAT_HTTP, "registry token realm=%s scope=%s", reg->realm,
	    call->scope);
	call->token_http = http_call_start(reg->http, &req,
	    registry_token_done_cb, call, cause);
	if (call->token_http == NULL)
		rc = -1;
	buf_free(&url);
	return (rc);
}

static void
registry_http_done_cb(struct http_call *http, struct http_result *res,
    void *arg)
{
	struct registry_call	 *call = arg;
	struct registry		 *reg = call->reg;
	struct registry_reply	  reply;
	struct registry_challenge ch;
	const char		 *h, *loc;
	char			  digest[REGISTRY_DIGEST_SIZE];
	char			 *text = NULL, *msg = NULL;
	char			 *location = NULL;
	char			 *cause = NULL;
	const char		 *cl;

	(void)http;
	call->http = NULL;
	if (call->cancelled) {
		registry_fail(call, REGISTRY_ECANCELLED, "cancelled");
		return;
	}
	memset(&reply, 0, sizeof reply);
	reply.status = res->status;
	reply.headers = &res->headers;
	reply.body = res->body.data;
	reply.body_len = res->body.len;
	reply.content_type = http_headers_get(&res->headers, "Content-Type");
	reply.digest = http_headers_get(&res->headers, "Docker-Content-Digest");
	cl = http_headers_get(&res->headers, "Content-Length");
	reply.length = cl != NULL ? strtoll(cl, NULL, 10) : -1;
	reply.bytes_sent = res->bytes_sent;
	reply.bytes_received = res->bytes_received;

	if (res->error != HTTP_OK) {
		reply.error = registry_map_http(res->error);
		msg = xasprintf("%s: %s", call->what, res->message);
		reply.message = msg;
		goto out;
	}

	/* A Bearer challenge: get a token and try once more. */
	if (res->status == 401 &&
	    (h = http_headers_get(&res->headers, "WWW-Authenticate")) != NULL &&
	    registry_parse_challenge(h, &ch) == 0) {
		if (strcasecmp(ch.scheme, "Bearer") == 0 && ch.realm != NULL &&
		    !call->retried && call->read_cb == NULL &&
		    (strncmp(ch.realm, "https://", 8) == 0 ||
			strncmp(ch.realm, "http://", 7) == 0)) {
			reg->bearer = 1;
			free(reg->realm);
			free(reg->service);
			reg->realm = ch.realm;
			reg->service = ch.service;
			ch.realm = ch.service = NULL;
			registry_challenge_free(&ch);
			registry_token_drop(reg, call->scope);
			call->retried = 1;
			if (registry_send(call, &cause) == 0)
				return;
			reply.error = REGISTRY_EAUTH;
			msg = xasprintf("%s: %s", call->what, cause);
			reply.message = msg;
			free(cause);
			goto out;
		}
		registry_challenge_free(&ch);
	}

	if ((res->status < 200 || res->status > 299) &&
	    !(call->redirect_ok && res->status >= 300 && res->status <= 399)) {
		reply.error = registry_map_status(res->status);
		text = registry_error_text(res->body.data, res->body.len);
		msg = xasprintf("%s: %ld %s", call->what, res->status,
		    text != NULL ? text : registry_strerror(reply.error));
		reply.message = msg;
		goto out;
	}
	if (call->check_digest != NULL) {
		registry_digest(res->body.data, res->body.len, digest);
		if (strcmp(digest, call->check_digest) != 0) {
			reply.error = REGISTRY_EDIGEST;
			msg = xasprintf("%s: the manifest's bytes hash to %s",
			    call->what, digest);
			reply.message = msg;
			goto out;
		}
	}
	if ((loc = http_headers_get(&res->headers, "Location")) != NULL) {
		if (strncmp(loc, "https://", 8) == 0 ||
		    strncmp(loc, "http://", 7) == 0)
			location = xstrdup(loc);
		else
			location = xasprintf("%s%s%s", reg->url,
			    *loc == '/' ? "" : "/", loc);
		reply.location = location;
	}
	reply.message = "ok";
out:
	registry_finish(call, &reply);
	free(text);
	free(msg);
	free(location);
}

static int
registry_send(struct registry_call *call, char **cause)
{
	struct registry	      *reg = call->reg;
	struct registry_token *t = NULL;
	struct http_request    req;
	const char	      *headers[REGISTRY_HEADERS + 1];
	char		      *auth = NULL;
	size_t		       i, n = 0;

	if (reg->bearer) {
		if ((t = registry_token_find(reg, call->scope)) == NULL)
			return (registry_token_start(call, cause));
		auth = xasprintf("Authorization: Bearer %s", t->token);
	}
	for (i = 0; i < call->nheaders; i++)
		headers[n++] = call->headers[i];
	if (auth != NULL)
		headers[n++] = auth;
	headers[n] = NULL;

	memset(&req, 0, sizeof req);
	req.method = call->method;
	req.url = call->url;
	req.headers = headers;
	req.body = call->body;
	req.body_len = call->body_len;
	req.read_cb = call->read_cb;
	req.read_len = call->read_len;
	req.write_cb = call->write_cb;
	req.arg = call->stream_arg;
	req.body_max = call->body_max;
	req.ca_file = reg->ca_file;
	if (call->stream) {
		req.low_speed_limit = 1024;
		req.low_speed_time = reg->low_speed_time;
	} else
		req.timeout_ms = reg->timeout_ms;
	if (strcmp(call->method, "GET") == 0)
		req.max_redirects = REGISTRY_MAX_REDIRECTS;
	if (!reg->bearer && reg->username != NULL) {
		req.username = reg->username;
		req.password = reg->password;
	}
	if (call->write_cb != NULL)
		req.flags |= HTTP_F_STREAM_2XX;
	log_debug(LOG_CAT_HTTP, "registry %s %s", call->method, call->what);
	call->http = http_call_start(reg->http, &req, registry_http_done_cb,
	    call, cause);
	freezero_str(auth);
	return (call->http != NULL ? 0 : -1);
}

static struct registry_call *
registry_start(struct registry_call *call, char **cause)
{
	/* The body may have gone by stream: no Expect: 100-continue wait. */
	registry_call_header(call, xstrdup("Expect:"));
	if (registry_send(call, cause) != 0) {
		registry_call_free(call);
		return (NULL);
	}
	return (call);
}

void
registry_call_cancel(struct registry_call *call)
{
	call->cancelled = 1;
	if (call->http != NULL)
		http_call_cancel(call->http);
	if (call->token_http != NULL)
		http_call_cancel(call->token_http);
}

void
registry_call_resume(struct registry_call *call)
{
	if (call->http != NULL)
		http_call_resume(call->http);
}

/* --- manifests ----------------------------------------------------------- */

static int
registry_check_ref(const char *ref, char **cause)
{
	if (registry_valid_tag(ref) || registry_valid_digest(ref))
		return (0);
	*cause = xasprintf("bad tag or digest \"%s\"", ref != NULL ? ref : "");
	return (-1);
}

static struct registry_call *
registry_manifest_call(struct registry *reg, const char *method,
    const char *repository, const char *ref, registry_done_cb done_cb,
    void *arg, char **cause)
{
	struct registry_call *call;
	char		     *path;

	if (registry_check_ref(ref, cause) != 0)
		return (NULL);
	path = xasprintf("manifests/%s", ref);
	call = registry_call_new(reg, method, repository, path, done_cb, arg,
	    cause);
	free(path);
	if (call != NULL)
		call->what = xasprintf("%s %s/%s%s%s", method, reg->name,
		    repository, registry_valid_digest(ref) ? "@" : ":", ref);
	return (call);
}

struct registry_call *
registry_manifest_get(struct registry *reg, const char *repository,
    const char *ref, registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	call = registry_manifest_call(reg, "GET", repository, ref, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	registry_call_header(call, xstrdup(registry_accept));
	call->body_max = REGISTRY_MANIFEST_MAX;
	if (registry_valid_digest(ref))
		call->check_digest = xstrdup(ref);
	return (registry_start(call, cause));
}

struct registry_call *
registry_manifest_head(struct registry *reg, const char *repository,
    const char *ref, registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	call = registry_manifest_call(reg, "HEAD", repository, ref, done_cb,
	    arg, cause);
	if (call == NULL)
		return (NULL);
	registry_call_header(call, xstrdup(registry_accept));
	return (registry_start(call, cause));
}

struct registry_call *
registry_manifest_put(struct registry *reg, const char *repository,
    const char *ref, const char *media_type, const void *data, size_t len,
    registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	if (media_type == NULL || strchr(media_type, '\n') != NULL ||
	    strchr(media_type, '\r') != NULL || len == 0 ||
	    len > REGISTRY_MANIFEST_MAX) {
		*cause = xstrdup("a manifest needs a media type and 1 byte "
				 "to 4 MiB");
		return (NULL);
	}
	call = registry_manifest_call(reg, "PUT", repository, ref, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	registry_call_header(call, xasprintf("Content-Type: %s", media_type));
	call->body = xmalloc(len);
	memcpy(call->body, data, len);
	call->body_len = len;
	call->body_max = REGISTRY_ERROR_MAX;
	return (registry_start(call, cause));
}

/* --- blobs --------------------------------------------------------------- */

static struct registry_call *
registry_blob_call(struct registry *reg, const char *method,
    const char *repository, const char *digest, registry_done_cb done_cb,
    void *arg, char **cause)
{
	struct registry_call *call;
	char		     *path;

	if (!registry_valid_digest(digest)) {
		*cause = xasprintf("bad blob digest \"%s\"",
		    digest != NULL ? digest : "");
		return (NULL);
	}
	path = xasprintf("blobs/%s", digest);
	call = registry_call_new(reg, method, repository, path, done_cb, arg,
	    cause);
	free(path);
	if (call != NULL)
		call->what = xasprintf("%s %s/%s blob %s", method, reg->name,
		    repository, digest);
	return (call);
}

struct registry_call *
registry_blob_head(struct registry *reg, const char *repository,
    const char *digest, registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	call = registry_blob_call(reg, "HEAD", repository, digest, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	/* A registry sends its storage's URL only for a blob it holds (and
	   a URL presigned for GET would refuse a HEAD): not followed. */
	call->redirect_ok = 1;
	return (registry_start(call, cause));
}

struct registry_call *
registry_blob_get(struct registry *reg, const char *repository,
    const char *digest, http_write_cb write_cb, void *stream_arg,
    registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	if (write_cb == NULL) {
		*cause = xstrdup("a blob GET needs a write callback");
		return (NULL);
	}
	call = registry_blob_call(reg, "GET", repository, digest, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	call->write_cb = write_cb;
	call->stream_arg = stream_arg;
	call->stream = 1;
	call->body_max = REGISTRY_ERROR_MAX;
	return (registry_start(call, cause));
}

/* --- uploads ------------------------------------------------------------- */

struct registry_call *
registry_upload_start(struct registry *reg, const char *repository,
    registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	call = registry_call_new(reg, "POST", repository, "blobs/uploads/",
	    done_cb, arg, cause);
	if (call == NULL)
		return (NULL);
	call->what = xasprintf("POST %s/%s upload", reg->name, repository);
	/* An empty POST: libcurl sends Content-Length: 0. */
	call->body_max = REGISTRY_ERROR_MAX;
	return (registry_start(call, cause));
}

static int
registry_check_location(const struct registry *reg, const char *location,
    char **cause)
{
	(void)reg;
	if (location == NULL ||
	    (strncmp(location, "https://", 8) != 0 &&
		strncmp(location, "http://", 7) != 0) ||
	    strpbrk(location, " \r\n") != NULL) {
		*cause = xstrdup("the upload location is not an absolute URL");
		return (-1);
	}
	return (0);
}

struct registry_call *
registry_upload_patch(struct registry *reg, const char *repository,
    const char *location, long long offset, long long len, http_read_cb read_cb,
    void *stream_arg, registry_done_cb done_cb, void *arg, char **cause)
{
	struct registry_call *call;

	if (registry_check_location(reg, location, cause) != 0)
		return (NULL);
	if (read_cb == NULL || len < 0 || offset < 0) {
		*cause = xstrdup("a PATCH needs a read callback and a length");
		return (NULL);
	}
	call = registry_call_new(reg, "PATCH", repository, NULL, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	call->url = xstrdup(location);
	call->what = xasprintf("PATCH %s/%s upload", reg->name, repository);
	registry_call_header(call,
	    xstrdup("Content-Type: application/octet-stream"));
	if (offset > 0 && len > 0)
		registry_call_header(call, xasprintf("Content-Range: %lld-%lld",
					       offset, offset + len - 1));
	call->read_cb = read_cb;
	call->read_len = len;
	call->stream_arg = stream_arg;
	call->stream = 1;
	call->body_max = REGISTRY_ERROR_MAX;
	return (registry_start(call, cause));
}

struct registry_call *
registry_upload_finish(struct registry *reg, const char *repository,
    const char *location, const char *digest, long long len,
    http_read_cb read_cb, void *stream_arg, registry_done_cb done_cb, void *arg,
    char **cause)
{
	struct registry_call *call;

	if (registry_check_location(reg, location, cause) != 0)
		return (NULL);
	if (!registry_valid_digest(digest)) {
		*cause = xstrdup("an upload needs a sha256 digest");
		return (NULL);
	}
	if (read_cb != NULL && len < 0) {
		*cause = xstrdup("a streamed PUT needs a length");
		return (NULL);
	}
	call = registry_call_new(reg, "PUT", repository, NULL, done_cb, arg,
	    cause);
	if (call == NULL)
		return (NULL);
	/* "sha256:hex": the colon is percent-encoded in the query. */
	call->url = xasprintf("%s%sdigest=sha256%%3A%s", location,
	    strchr(location, '?') != NULL ? "&" : "?", digest + 7);
	call->what = xasprintf("PUT %s/%s blob %s", reg->name, repository,
	    digest);
	registry_call_header(call,
	    xstrdup("Content-Type: application/octet-stream"));
	if (read_cb != NULL) {
		call->read_cb = read_cb;
		call->read_len = len;
		call->stream_arg = stream_arg;
		call->stream = 1;
	}
	call->body_max = REGISTRY_ERROR_MAX;
	return (registry_start(call, cause));
}
