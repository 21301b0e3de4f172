/*
 * One AWS call: credentials, SigV4, the transport, and the SDKs'
 * standard retry mode (capped exponential backoff with full jitter;
 * retry throttling, transient errors and network failures; never other
 * 4xx; one immediate retry after correcting the clock on a skew error).
 */
#include <sys/random.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws-client.h"
#include "aws-creds.h"
#include "aws-error.h"
#include "aws-limit.h"
#include "aws-sign.h"
#include "log.h"
#include "wallclock.h"
#include "xmalloc.h"

#define AWS_CLIENT_BODY_MAX    (8 * 1024 * 1024)
#define AWS_CLIENT_MAX_HEADERS 24

/* The entry owns the names; stat, handed out by copy, only borrows them. */
struct aws_stat_entry {
	char		      *service;
	char		      *operation;
	struct aws_client_stat stat;
};

struct aws_client {
	uv_loop_t		 *loop;
	struct http_client	 *http;
	struct aws_creds	 *creds;
	struct aws_client_options opts;
	char			 *region;
	char			 *ca_file;
	struct aws_sign_cache	 *sign_cache;
	struct aws_sign_result	  sign_result;
	int64_t			  clock_offset_ms; /* server - local */
	struct aws_limiter	 *limiter;
	int64_t			  limit_wait_logged; /* ms */

	/* Pointers, since calls keep theirs while the list grows. */
	struct aws_stat_entry **stats;
	size_t			nstats;

	unsigned int	 calls; /* in flight */
	int		 freeing;
	struct aws_call *first;
};

enum aws_call_state {
	CALL_WAIT_TIMER, /* the first attempt, or a backoff */
	CALL_WAIT_CREDS,
	CALL_WAIT_HTTP,
	CALL_DONE,
};

struct aws_call {
	struct aws_client  *client;
	struct aws_call	   *prev, *next;
	enum aws_call_state state;
	uv_timer_t	    timer;

	const struct aws_service *service;
	char			 *operation;
	char			 *region;
	struct aws_creds	 *creds;
	char			 *method;
	char			 *url;	     /* endpoint + path + query */
	char			 *host;	     /* Host header value */
	char			 *sign_path; /* what the request line has */
	char			 *query;
	char			**headers; /* extra "Name: value" */
	size_t			  nheaders;
	char			 *content_type;
	void			 *body;
	size_t			  body_len;
	size_t			  body_max;
	int			  no_retry;
	int			  no_replay;
	long			  timeout_ms;
	char			 *limit_key;  /* service region credentials */
	int			  token_for;  /* the attempt holding one */
	int64_t			  held_since; /* ms; 0: not held */

	struct http_call      *http;
	int		       attempts;
	int		       skew_corrected;
	int		       cancelled;
	struct aws_stat_entry *stat;

	aws_reply_cb cb;
	void	    *arg;
};

static void aws_call_attempt(struct aws_call *);

const char *
aws_strerror(int error)
{
	switch (error) {
	case AWS_OK:
		return ("ok");
	case AWS_ENETWORK:
		return ("network error");
	case AWS_ETIMEOUT:
		return ("timeout");
	case AWS_ETLS:
		return ("TLS error");
	case AWS_EAWS:
		return ("AWS error");
	case AWS_EHTTP:
		return ("HTTP error");
	case AWS_ECREDS:
		return ("no credentials");
	case AWS_ECANCELLED:
		return ("cancelled");
	case AWS_ETOOLARGE:
		return ("reply too large");
	case AWS_EREPLY:
		return ("unreadable reply");
	case AWS_EINVAL:
		return ("invalid request");
	}
	return ("unknown error");
}

static int64_t
aws_client_now_ms(const struct aws_client *client)
{
	if (client->opts.now_ms != NULL)
		return (client->opts.now_ms());
	return (wallclock_ms());
}

struct aws_client *
aws_client_new(uv_loop_t *loop, struct http_client *http,
    struct aws_creds *default_creds, const struct aws_client_options *opts)
{
	struct aws_client *client;

	client = xcalloc(1, sizeof *client);
	client->loop = loop;
	client->http = http;
	client->creds = default_creds;
	if (opts != NULL)
		client->opts = *opts;
	client->region = xstrdup(
	    client->opts.region != NULL ? client->opts.region : "us-east-1");
	client->opts.region = client->region;
	if (client->opts.ca_file != NULL)
		client->ca_file = xstrdup(client->opts.ca_file);
	client->opts.ca_file = client->ca_file;
	if (client->opts.max_attempts <= 0)
		client->opts.max_attempts = 5;
	if (client->opts.backoff_base_ms <= 0)
		client->opts.backoff_base_ms = 1000;
	if (client->opts.backoff_max_ms <= 0)
		client->opts.backoff_max_ms = 20000;
	if (client->opts.timeout_ms <= 0)
		client->opts.timeout_ms = 60000;
	if (client->opts.connect_timeout_ms <= 0)
		client->opts.connect_timeout_ms = 10000;
	client->sign_cache = aws_sign_cache_new();
	aws_sign_result_init(&client->sign_result);
	client->limiter = aws_limiter_new();
	return (client);
}

static void
aws_client_release(struct aws_client *client)
{
	size_t i;

	aws_sign_cache_free(client->sign_cache);
	aws_sign_result_free(&client->sign_result);
	aws_limiter_free(client->limiter);
	for (i = 0; i < client->nstats; i++) {
		free(client->stats[i]->service);
		free(client->stats[i]->operation);
		free(client->stats[i]);
	}
	free(client->stats);
	free(client->region);
	free(client->ca_file);
	free(client);
}

void
aws_client_free(struct aws_client *client)
{
	struct aws_call *call;

	if (client == NULL)
		return;
	client->freeing = 1;
	for (call = client->first; call != NULL; call = call->next)
		aws_call_cancel(call);
	if (client->calls == 0)
		aws_client_release(client);
}

uv_loop_t *
aws_client_loop(struct aws_client *client)
{
	return (client->loop);
}

const char *
aws_client_region(const struct aws_client *client)
{
	return (client->region);
}

char *
aws_client_endpoint(const struct aws_client *client,
    const struct aws_service *service, const char *region)
{
	const char *override = NULL;

	if (client->opts.endpoint_override != NULL)
		override = client->opts.endpoint_override(service->name,
		    client->opts.endpoint_arg);
	return (aws_service_endpoint(service,
	    region != NULL ? region : client->region, override));
}

static struct aws_stat_entry *
aws_client_stat(struct aws_client *client, const char *service,
    const char *operation)
{
	struct aws_stat_entry *e;
	size_t		       i;

	for (i = 0; i < client->nstats; i++) {
		e = client->stats[i];
		if (strcmp(e->stat.service, service) == 0 &&
		    strcmp(e->stat.operation, operation) == 0)
			return (e);
	}
	client->stats = xreallocarray(client->stats, client->nstats + 1,
	    sizeof *client->stats);
	e = xcalloc(1, sizeof *e);
	client->stats[client->nstats++] = e;
	e->service = xstrdup(service);
	e->operation = xstrdup(operation);
	e->stat.service = e->service;
	e->stat.operation = e->operation;
	return (e);
}

size_t
aws_client_stats(const struct aws_client *client, struct aws_client_stat *out,
    size_t n)
{
	size_t i;

	for (i = 0; i < client->nstats && i < n; i++)
		out[i] = client->stats[i]->stat;
	return (client->nstats);
}

unsigned int
aws_client_busy(const struct aws_client *client)
{
	return (client->calls);
}

void
aws_client_stats_add(struct aws_client *to, const struct aws_client *from)
{
	const struct aws_client_stat *f;
	struct aws_stat_entry	     *e;
	size_t			      i;

	for (i = 0; i < from->nstats; i++) {
		f = &from->stats[i]->stat;
		e = aws_client_stat(to, f->service, f->operation);
		e->stat.calls += f->calls;
		e->stat.errors += f->errors;
		e->stat.retries += f->retries;
		e->stat.throttled += f->throttled;
		e->stat.limited += f->limited;
		e->stat.limited_ms += f->limited_ms;
	}
}

/*
 * Splits an endpoint URL into what the Host header and the signed path
 * need: "http://127.0.0.1:4599/base" gives host "127.0.0.1:4599" and
 * prefix "/base".  Returns -1 on a URL without scheme or host.
 */
static int
aws_split_endpoint(const char *endpoint, char **host, char **prefix)
{
	const char *p, *slash;

	if ((p = strstr(endpoint, "://")) == NULL ||
	    (strncmp(endpoint, "http://", 7) != 0 &&
		strncmp(endpoint, "https://", 8) != 0))
		return (-1);
	p += 3;
	if (*p == '\0' || *p == '/')
		return (-1);
	slash = strchr(p, '/');
	*host = slash != NULL ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
	*prefix = xstrdup(slash != NULL ? slash : "");
	return (0);
}

static void
aws_call_free(struct aws_call *call)
{
	size_t i;

	free(call->operation);
	free(call->region);
	free(call->limit_key);
	free(call->method);
	free(call->url);
	free(call->host);
	free(call->sign_path);
	free(call->query);
	for (i = 0; i < call->nheaders; i++)
		free(call->headers[i]);
	free(call->headers);
	free(call->content_type);
	if (call->body != NULL)
		explicit_bzero(call->body, call->body_len);
	free(call->body);
	free(call);
}

static void
aws_call_close_cb(uv_handle_t *handle)
{
	struct aws_call	  *call = handle->data;
	struct aws_client *client = call->client;

	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		client->first = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	aws_call_free(call);
	client->calls--;
	if (client->freeing && client->calls == 0)
		aws_client_release(client);
}

/* Hands the reply over and retires the call. */
static void
aws_call_finish(struct aws_call *call, struct aws_reply *reply)
{
	char *message = NULL;

	call->state = CALL_DONE;
	reply->attempts = call->attempts;
	if (reply->request_id == NULL)
		reply->request_id = reply->aws.request_id;
	if (reply->error != AWS_OK) {
		call->stat->stat.errors++;
		if (reply->message == NULL) {
			if (reply->error == AWS_EAWS)
				message = xasprintf("%s %s: %s: %s (request "
						    "%s)",
				    call->service->title, call->operation,
				    reply->aws.code, reply->aws.message,
				    *reply->request_id != '\0' ?
					reply->request_id :
					"unknown");
			else if (reply->error == AWS_EHTTP)
				message = xasprintf("%s %s: HTTP status %ld",
				    call->service->title, call->operation,
				    reply->status);
			else
				message = xasprintf("%s %s: %s",
				    call->service->title, call->operation,
				    aws_strerror(reply->error));
			reply->message = message;
		}
		log_debug(LOG_CAT_AWS,
		    "aws call failed service=%s op=%s "
		    "attempts=%d: %s",
		    call->service->name, call->operation, call->attempts,
		    reply->message);
	}
	call->cb(reply, call->arg);
	free(message);
	uv_close((uv_handle_t *)&call->timer, aws_call_close_cb);
}

static void
aws_call_finish_error(struct aws_call *call, int error, const char *detail)
{
	struct aws_reply reply;
	struct buf	 empty;
	char		*message = NULL;

	memset(&reply, 0, sizeof reply);
	buf_init(&empty, 0);
	reply.error = error;
	reply.body = &empty;
	reply.request_id = "";
	if (detail != NULL) {
		message = xasprintf("%s %s: %s: %s", call->service->title,
		    call->operation, aws_strerror(error), detail);
		reply.message = message;
	}
	aws_call_finish(call, &reply);
	free(message);
	buf_free(&empty);
}

static void
aws_call_timer_cb(uv_timer_t *timer)
{
	struct aws_call *call = timer->data;

	if (call->cancelled) {
		aws_call_finish_error(call, AWS_ECANCELLED, NULL);
		return;
	}
	aws_call_attempt(call);
}

/* Full jitter: a uniform delay in [0, min(max, base * 2^(attempt-1))]. */
static uint64_t
aws_call_backoff_ms(const struct aws_call *call)
{
	const struct aws_client_options *o = &call->client->opts;
	uint64_t			 cap, r;
	int				 shift;

	shift = call->attempts - 1;
	if (shift > 20)
		shift = 20;
	cap = (uint64_t)o->backoff_base_ms << shift;
	if (cap > (uint64_t)o->backoff_max_ms)
		cap = (uint64_t)o->backoff_max_ms;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint64_t)random();
	return (r % (cap + 1));
}

static void
aws_call_retry_later(struct aws_call *call, uint64_t delay_ms, const char *why)
{
	call->stat->stat.retries++;
	log_debug(LOG_CAT_AWS,
	    "aws call retry service=%s op=%s attempt=%d "
	    "delay_ms=%llu reason=%s",
	    call->service->name, call->operation, call->attempts + 1,
	    (unsigned long long)delay_ms, why);
	call->state = CALL_WAIT_TIMER;
	uv_timer_start(&call->timer, aws_call_timer_cb, delay_ms, 0);
}

static int
aws_http_error_to_aws(int error)
{
	switch (error) {
	case HTTP_ETIMEOUT:
		return (AWS_ETIMEOUT);
	case HTTP_ETLS:
		return (AWS_ETLS);
	case HTTP_ETOOLARGE:
		return (AWS_ETOOLARGE);
	case HTTP_ECANCELLED:
		return (AWS_ECANCELLED);
	default:
		return (AWS_ENETWORK);
	}
}

/*
 * The server's clock from its Date header ("Sun, 29 Nov 2026 08:00:00
 * GMT"), to correct ours after a skew error; 0 when absent or bad.
 */
static int64_t
aws_reply_date_ms(const struct http_headers *headers)
{
	const char *date;
	struct tm   tm;
	char	   *end;

	if ((date = http_headers_get(headers, "Date")) == NULL)
		return (0);
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(date, "%a, %d %b %Y %H:%M:%S", &tm)) == NULL)
		return (0);
	return ((int64_t)timegm(&tm) * 1000);
}

static const char *
aws_reply_request_id(const struct http_headers *headers)
{
	const char *id;

	if ((id = http_headers_get(headers, "x-amzn-RequestId")) == NULL &&
	    (id = http_headers_get(headers, "x-amz-request-id")) == NULL)
		id = http_headers_get(headers, "x-amzn-request-id");
	return (id);
}

/*
 * A reply that tells about the rate: a success, or a throttle.  The
 * first throttle on a key is logged, as the limit it starts.
 */
static void
aws_client_limit_reply(struct aws_call *call, int throttled)
{
	struct aws_client    *client = call->client;
	struct aws_limit_stat st;

	aws_limiter_reply(client->limiter, call->limit_key, throttled,
	    aws_client_now_ms(client));
	if (throttled &&
	    aws_limiter_get(client->limiter, call->limit_key, &st) == 0 &&
	    st.throttled == 1)
		log_warnx("AWS throttled %s %s: requests on %s limited to "
			  "%.1f/s from now on, the rate rising back as "
			  "replies succeed",
		    call->service->title, call->operation, call->limit_key,
		    st.rate);
}

static void
aws_call_http_cb(struct http_call *hc, struct http_result *res, void *arg)
{
	struct aws_call	      *call = arg;
	struct aws_reply       reply;
	struct aws_error_reply er;
	struct aws_error       err;
	int64_t		       server_ms;
	int		       error;

	call->http = NULL;
	if (call->cancelled || res->error == HTTP_ECANCELLED) {
		aws_call_finish_error(call, AWS_ECANCELLED, NULL);
		return;
	}
	if (res->error != HTTP_OK && call->no_replay && res->status >= 200 &&
	    res->status < 300) {
		/* The service said it did it; the rest of its reply was
		   lost.  Trying again would do it twice. */
		log_warnx("%s %s: HTTP %ld, then %s: taken as done",
		    call->service->title, call->operation, res->status,
		    res->message);
	} else if (res->error != HTTP_OK) {
		error = aws_http_error_to_aws(res->error);
		/* Connection failures and timeouts are worth another try. */
		if ((error == AWS_ENETWORK || error == AWS_ETIMEOUT) &&
		    !call->no_retry &&
		    call->attempts < call->client->opts.max_attempts) {
			aws_call_retry_later(call, aws_call_backoff_ms(call),
			    res->message);
			return;
		}
		aws_call_finish_error(call, error, res->message);
		return;
	}

	memset(&reply, 0, sizeof reply);
	reply.status = res->status;
	reply.headers = &res->headers;
	reply.body = &res->body;
	reply.request_id = "";
	if (res->status >= 200 && res->status < 300) {
		aws_limiter_reply(call->client->limiter, call->limit_key, 0,
		    aws_client_now_ms(call->client));
		reply.error = AWS_OK;
		reply.request_id = aws_reply_request_id(&res->headers);
		if (reply.request_id == NULL)
			reply.request_id = "";
		aws_call_finish(call, &reply);
		return;
	}

	memset(&er, 0, sizeof er);
	er.protocol = call->service->protocol;
	er.status = (int)res->status;
	er.body = res->body.data;
	er.body_len = res->body.len;
	er.error_type = http_headers_get(&res->headers, "x-amzn-ErrorType");
	er.query_error = http_headers_get(&res->headers, "x-amzn-query-error");
	er.request_id = aws_reply_request_id(&res->headers);
	er.server_date = (time_t)(aws_reply_date_ms(&res->headers) / 1000);
	er.now = (time_t)((aws_client_now_ms(call->client) +
			      call->client->clock_offset_ms) /
			  1000);
	aws_error_parse(&err, &er);
	/* A code of digits only is the status: no AWS error shape. */
	reply.error = strspn(err.code, "0123456789") == strlen(err.code) ?
			  AWS_EHTTP :
			  AWS_EAWS;
	snprintf(reply.aws.code, sizeof reply.aws.code, "%s", err.code);
	snprintf(reply.aws.message, sizeof reply.aws.message, "%s",
	    err.message);
	snprintf(reply.aws.request_id, sizeof reply.aws.request_id, "%s",
	    err.request_id != NULL ? err.request_id : "");
	reply.request_id = reply.aws.request_id;
	if (err.retry == AWS_RETRY_THROTTLING)
		call->stat->stat.throttled++;
	aws_client_limit_reply(call, err.retry == AWS_RETRY_THROTTLING);

	if (!call->no_retry &&
	    call->attempts < call->client->opts.max_attempts) {
		switch (err.retry) {
		case AWS_RETRY_CLOCK_SKEW:
			server_ms = aws_reply_date_ms(&res->headers);
			if (!call->skew_corrected && server_ms != 0) {
				call->skew_corrected = 1;
				call->client->clock_offset_ms =
				    server_ms - aws_client_now_ms(call->client);
				log_warnx("clock skew corrected service=%s "
					  "offset_ms=%lld",
				    call->service->name,
				    (long long)call->client->clock_offset_ms);
				aws_call_retry_later(call, 0, err.code);
				aws_error_clear(&err);
				return;
			}
			break;
		case AWS_RETRY_THROTTLING:
		case AWS_RETRY_TRANSIENT:
			aws_call_retry_later(call, aws_call_backoff_ms(call),
			    err.code);
			aws_error_clear(&err);
			return;
		default:
			break;
		}
	}
	aws_call_finish(call, &reply);
	aws_error_clear(&err);
}

static void aws_call_creds_cb(struct aws_creds *, int, const char *, void *);

/* Signs and sends one attempt. */
static void
aws_call_send(struct aws_call *call, const struct aws_credentials *creds)
{
	struct aws_client      *client = call->client;
	struct aws_sign_header	sh[AWS_CLIENT_MAX_HEADERS + 4];
	struct aws_sign_request sreq;
	struct aws_sign_params	params;
	struct aws_sign_result *sr = &client->sign_result;
	struct http_request	hreq;
	const char	       *hv[AWS_CLIENT_MAX_HEADERS + 12];
	/* Extra headers are copied twice: split to sign, joined to send. */
	char  *owned[2 * AWS_CLIENT_MAX_HEADERS + 12];
	char  *target = NULL, *cause = NULL, *colon;
	size_t nsh = 0, nhv = 0, nowned = 0, i;
	int    rc;

	memset(&sreq, 0, sizeof sreq);
	memset(&params, 0, sizeof params);
	sh[nsh++] = (struct aws_sign_header){ "Host", call->host };
	if (call->content_type != NULL)
		sh[nsh++] = (struct aws_sign_header){ "Content-Type",
			call->content_type };
	if (call->service->protocol == AWS_PROTOCOL_JSON) {
		target = xasprintf("%s.%s", call->service->target_prefix,
		    call->operation);
		sh[nsh++] = (struct aws_sign_header){ "X-Amz-Target", target };
	}
	/* Extra headers are signed too; split "Name: value" copies. */
	for (i = 0; i < call->nheaders && nsh < AWS_CLIENT_MAX_HEADERS; i++) {
		owned[nowned] = xstrdup(call->headers[i]);
		colon = strchr(owned[nowned], ':');
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		sh[nsh++] = (struct aws_sign_header){ owned[nowned], colon };
		nowned++;
	}
	sreq.method = call->method;
	sreq.path = call->sign_path;
	sreq.query = call->query;
	sreq.headers = sh;
	sreq.nheaders = nsh;
	sreq.body = call->body;
	sreq.body_len = call->body_len;
	params.creds.access_key_id = creds->access_key_id;
	params.creds.secret_access_key = creds->secret_access_key;
	params.creds.session_token = creds->session_token;
	params.region = call->region;
	params.service = call->service->signing_name;
	params.now = (time_t)((aws_client_now_ms(client) +
				  client->clock_offset_ms) /
			      1000);
	params.flags = call->service->sign_flags;
	if ((rc = aws_sign_headers(client->sign_cache, &sreq, &params, sr,
		 &cause)) != 0) {
		aws_call_finish_error(call, AWS_EINVAL,
		    cause != NULL ? cause : aws_sign_strerror(rc));
		goto out;
	}

	for (i = 0; i < nsh; i++) {
		owned[nowned] = xasprintf("%s: %s", sh[i].name, sh[i].value);
		hv[nhv++] = owned[nowned++];
	}
	for (i = 0; i < sr->nheaders; i++) {
		owned[nowned] = xasprintf("%s: %s", sr->headers[i].name,
		    sr->headers[i].value);
		hv[nhv++] = owned[nowned++];
	}
	hv[nhv++] = "User-Agent: shipgate/" PACKAGE_VERSION;
	hv[nhv++] = "Expect:";
	hv[nhv] = NULL;

	memset(&hreq, 0, sizeof hreq);
	hreq.method = call->method;
	hreq.url = call->url;
	hreq.headers = hv;
	hreq.body = call->body;
	hreq.body_len = call->body_len;
	hreq.body_max = call->body_max;
	hreq.timeout_ms = call->timeout_ms != 0 ? call->timeout_ms :
						  client->opts.timeout_ms;
	hreq.connect_timeout_ms = client->opts.connect_timeout_ms;
	hreq.ca_file = client->ca_file;

	call->attempts++;
	call->stat->stat.calls += call->attempts == 1;
	call->state = CALL_WAIT_HTTP;
	log_debug(LOG_CAT_AWS,
	    "aws call service=%s op=%s region=%s "
	    "attempt=%d",
	    call->service->name, call->operation, call->region, call->attempts);
	call->http = http_call_start(client->http, &hreq, aws_call_http_cb,
	    call, &cause);
	if (call->http == NULL)
		aws_call_finish_error(call, AWS_ENETWORK, cause);
out:
	/* The signed request holds the session token: wipe our copies. */
	for (i = 0; i < nowned; i++)
		freezero_str(owned[i]);
	free(target);
	free(cause);
}

static void
aws_call_creds_cb(struct aws_creds *creds, int error, const char *cause,
    void *arg)
{
	struct aws_call		     *call = arg;
	const struct aws_credentials *c;

	if (call->cancelled || error == AWS_CREDS_ECLOSED) {
		aws_call_finish_error(call, AWS_ECANCELLED, NULL);
		return;
	}
	if (error != 0) {
		aws_call_finish_error(call, AWS_ECREDS, cause);
		return;
	}
	/* Fresh credentials may still be short-lived; use them as they are. */
	if ((c = aws_creds_current(creds, aws_client_now_ms(call->client))) ==
	    NULL) {
		c = aws_creds_current(creds, INT64_MIN / 2);
		if (c == NULL) {
			aws_call_finish_error(call, AWS_ECREDS,
			    "the refreshed credentials are already expired");
			return;
		}
	}
	aws_call_send(call, c);
}

/*
 * The client-side rate limit: 0 when the attempt has its token, or 1
 * with the call's timer set to ask again when one should be there.
 */
static int
aws_call_limit(struct aws_call *call)
{
	struct aws_client *client = call->client;
	int64_t		   now = aws_client_now_ms(client), wait, held;

	wait = aws_limiter_acquire(client->limiter, call->limit_key, now);
	if (wait > 0) {
		if (call->held_since == 0) {
			call->held_since = now;
			call->stat->stat.limited++;
		}
		log_debug(LOG_CAT_AWS,
		    "aws call held service=%s op=%s wait_ms=%lld "
		    "(client-side rate limit after throttling)",
		    call->service->name, call->operation, (long long)wait);
		call->state = CALL_WAIT_TIMER;
		uv_timer_start(&call->timer, aws_call_timer_cb, (uint64_t)wait,
		    0);
		return (1);
	}
	call->token_for = call->attempts + 1;
	if (call->held_since != 0) {
		held = now > call->held_since ? now - call->held_since : 0;
		call->stat->stat.limited_ms += (uint64_t)held;
		call->held_since = 0;
		/* Said when the longest wait doubles: a few lines. */
		if (held > 2 * client->limit_wait_logged) {
			client->limit_wait_logged = held;
			log_info("AWS rate limit: a %s %s call waited %lld ms "
				 "on %s (the longest yet)",
			    call->service->title, call->operation,
			    (long long)held, call->limit_key);
		}
	}
	return (0);
}

static void
aws_call_attempt(struct aws_call *call)
{
	const struct aws_credentials *c;
	int			      rc;

	/* A token per attempt, retries included: they are requests too. */
	if (call->token_for != call->attempts + 1 && aws_call_limit(call) != 0)
		return;

	if ((c = aws_creds_current(call->creds,
		 aws_client_now_ms(call->client))) != NULL) {
		aws_call_send(call, c);
		return;
	}
	call->state = CALL_WAIT_CREDS;
	if ((rc = aws_creds_refresh(call->creds, aws_call_creds_cb, call)) != 0)
		aws_call_finish_error(call, AWS_ECREDS,
		    "the credentials "
		    "expired and their source cannot refresh them");
}

struct aws_call *
aws_client_call(struct aws_client *client, const struct aws_request *req,
    aws_reply_cb cb, void *arg, char **cause)
{
	struct aws_call *call;
	char		*endpoint = NULL, *prefix = NULL;
	const char	*path;
	size_t		 i, n;

	if (client->freeing) {
		*cause = xstrdup("the AWS client is closing");
		return (NULL);
	}
	if (req->service == NULL || req->operation == NULL) {
		*cause = xstrdup("no service or operation");
		return (NULL);
	}
	if (req->creds == NULL && client->creds == NULL) {
		*cause = xasprintf("%s %s: no credentials provider",
		    req->service->title, req->operation);
		return (NULL);
	}
	endpoint = req->endpoint != NULL ?
		       xstrdup(req->endpoint) :
		       aws_client_endpoint(client, req->service, req->region);
	if (endpoint == NULL) {
		*cause = xasprintf("%s %s: invalid region %s",
		    req->service->title, req->operation,
		    req->region != NULL ? req->region : client->region);
		return (NULL);
	}

	call = xcalloc(1, sizeof *call);
	if (aws_split_endpoint(endpoint, &call->host, &prefix) != 0) {
		*cause = xasprintf("%s %s: invalid endpoint %s",
		    req->service->title, req->operation, endpoint);
		free(endpoint);
		free(call);
		return (NULL);
	}
	for (n = 0; req->headers != NULL && req->headers[n] != NULL; n++) {
		/* Room for Host, Content-Type and X-Amz-Target as well:
		   aws_call_send signs at most AWS_CLIENT_MAX_HEADERS. */
		if (strchr(req->headers[n], ':') == NULL ||
		    n == AWS_CLIENT_MAX_HEADERS - 3) {
			*cause = xasprintf("%s %s: bad or too many headers",
			    req->service->title, req->operation);
			free(endpoint);
			free(prefix);
			free(call->host);
			free(call);
			return (NULL);
		}
	}
	call->client = client;
	call->service = req->service;
	call->operation = xstrdup(req->operation);
	call->region = xstrdup(
	    req->region != NULL ? req->region : client->region);
	call->creds = req->creds != NULL ? req->creds : client->creds;
	call->method = xstrdup(req->method != NULL ? req->method : "POST");
	path = req->path != NULL && *req->path != '\0' ? req->path : "/";
	call->sign_path = xasprintf("%s%s", prefix, path);
	call->query = req->query != NULL && *req->query != '\0' ?
			  xstrdup(req->query) :
			  NULL;
	call->url = xasprintf("%s%s%s%s", endpoint, path,
	    call->query != NULL ? "?" : "",
	    call->query != NULL ? call->query : "");
	if (n > 0) {
		call->headers = xcalloc(n, sizeof *call->headers);
		for (i = 0; i < n; i++)
			call->headers[i] = xstrdup(req->headers[i]);
		call->nheaders = n;
	}
	if (req->content_type != NULL)
		call->content_type = xstrdup(req->content_type);
	else if (req->service->protocol == AWS_PROTOCOL_QUERY)
		call->content_type = xstrdup(
		    "application/x-www-form-urlencoded;"
		    " charset=utf-8");
	else if (req->service->protocol == AWS_PROTOCOL_JSON)
		call->content_type = xasprintf("application/x-amz-json-%s",
		    req->service->json_version);
	else if (req->service->protocol == AWS_PROTOCOL_REST_JSON &&
		 req->body_len > 0)
		call->content_type = xstrdup("application/json");
	if (req->body_len > 0) {
		call->body = xmalloc(req->body_len);
		memcpy(call->body, req->body, req->body_len);
		call->body_len = req->body_len;
	}
	call->body_max = req->body_max != 0 ? req->body_max :
					      AWS_CLIENT_BODY_MAX;
	call->no_retry = req->no_retry;
	call->no_replay = req->no_replay;
	call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 0;
	call->stat = aws_client_stat(client, req->service->name,
	    req->operation);
	/* One account's limit is its credentials': a role per account. */
	call->limit_key = xasprintf("%s %s %s", req->service->name,
	    call->region,
	    call->creds != NULL ? aws_creds_source(call->creds) : "default");
	call->cb = cb;
	call->arg = arg;
	free(endpoint);
	free(prefix);

	/* The first attempt runs from the loop, never inside this call. */
	uv_timer_init(client->loop, &call->timer);
	call->timer.data = call;
	call->state = CALL_WAIT_TIMER;
	uv_timer_start(&call->timer, aws_call_timer_cb, 0, 0);
	call->next = client->first;
	if (client->first != NULL)
		client->first->prev = call;
	client->first = call;
	client->calls++;
	return (call);
}

void
aws_call_cancel(struct aws_call *call)
{
	if (call->cancelled || call->state == CALL_DONE)
		return;
	call->cancelled = 1;
	switch (call->state) {
	case CALL_WAIT_HTTP:
		if (call->http != NULL)
			http_call_cancel(call->http);
		break;
	case CALL_WAIT_TIMER:
		uv_timer_start(&call->timer, aws_call_timer_cb, 0, 0);
		break;
	default:
		/* The credentials callback sees the flag. */
		break;
	}
}

void
aws_query_init(struct buf *b, const struct aws_service *service,
    const char *action)
{
	buf_reset(b);
	buf_printf(b, "Action=%s&Version=%s", action, service->api_version);
}

void
aws_query_add(struct buf *b, const char *name, const char *value)
{
	buf_appends(b, "&");
	aws_sign_uri_encode_buf(b, name, strlen(name), 0);
	buf_appends(b, "=");
	aws_sign_uri_encode_buf(b, value, strlen(value), 0);
}

void
aws_query_addf(struct buf *b, const char *name, const char *fmt, ...)
{
	va_list ap;
	char   *value;

	va_start(ap, fmt);
	value = xvasprintf(fmt, ap);
	va_end(ap);
	aws_query_add(b, name, value);
	free(value);
}
