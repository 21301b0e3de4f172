/*
 * HTTP transport: libcurl's multi-socket interface on the libuv loop.
 * curl tells us which sockets to watch (socket_cb) and when to wake it
 * (timer_cb); the loop tells curl what happened (curl_multi_socket_action)
 * and we reap finished transfers (curl_multi_info_read) after every action.
 *
 * Re-entrancy: libcurl forbids calling most multi functions from inside
 * its callbacks, and our users' stream callbacks run inside libcurl.  So
 * cancel, resume, and calls started from inside curl only set flags and
 * arm the client's `work` timer (0 ms); work_cb then does them from the
 * loop, where nothing of curl's is on the stack.
 *
 * No CURLSH at the client level: the easy handles of one multi handle
 * already share its connection cache and DNS cache.  The only share is a
 * cookie jar's (struct http_cookies), which lives across calls.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <uv.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* libcurl's receive buffer for a collected answer (its minimum is 1 KiB). */
#define HTTP_RECV_BUFFER 4096

/* A socket curl asked us to watch; freed in its close callback. */
struct http_sock {
	uv_poll_t	    poll;
	struct http_client *client;
	struct http_sock   *prev, *next; /* client's open sockets */
	curl_socket_t	    fd;
};

struct http_call {
	struct http_client *client;
	struct http_call   *prev, *next; /* client's list */
	CURL		   *easy;
	struct curl_slist  *hdrs;
	char		    errbuf[CURL_ERROR_SIZE];

	http_done_cb  done_cb;
	void	     *done_arg;
	http_read_cb  read_cb;
	http_write_cb write_cb;
	void	     *arg;
	int	      flags;

	char  *body; /* request body from memory */
	size_t body_len;
	size_t body_off;
	char  *username;
	char  *password;
	char  *method;
	char  *log_url; /* URL without its query */

	long		    status; /* of the response in progress */
	struct http_headers headers;
	int		    headers_overflow;
	struct buf	    body_in;
	int		    body_overflow;
	int		    stream_aborted;
	long long	    bytes_sent;
	long long	    bytes_received;

	int in_multi;	 /* added to the multi handle */
	int add_pending; /* to add from work_cb */
	int cancelled;
	int resume_pending;

	struct curl_slist *rcpts; /* SMTP: RCPT TO addresses */
};

struct http_client {
	uv_loop_t	 *loop;
	CURLM		 *multi;
	uv_timer_t	  timer;    /* curl's timeout */
	uv_timer_t	  work;	    /* deferred cancel/resume/add */
	int		  nhandles; /* open libuv handles */
	int		  in_curl;  /* depth inside libcurl */
	int		  closing;
	int		  multi_gone;
	http_close_cb	  close_cb;
	void		 *close_arg;
	struct http_call *calls; /* in flight */
	struct http_call *calls_tail;
	struct http_sock *socks; /* polled for curl */
};

struct http_cookies {
	CURLSH *share;
};

static uv_once_t http_global_once = UV_ONCE_INIT;
static CURLcode	 http_global_rc;

static void http_check_info(struct http_client *);
static void http_work_arm(struct http_client *);
static void http_client_finish_close(struct http_client *);

static void
http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *
http_strerror(int error)
{
	switch (error) {
	case HTTP_OK:
		return ("none");
	case HTTP_ENETWORK:
		return ("network");
	case HTTP_ETIMEOUT:
		return ("timeout");
	case HTTP_ETLS:
		return ("tls");
	case HTTP_ETOOLARGE:
		return ("too large");
	case HTTP_EABORTED:
		return ("aborted");
	case HTTP_ECANCELLED:
		return ("cancelled");
	case HTTP_EPROTOCOL:
		return ("protocol");
	case HTTP_EINVAL:
		return ("invalid request");
	default:
		return ("internal");
	}
}

/* --- headers ---------------------------------------------------------- */

static void
http_headers_clear(struct http_headers *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof *h);
}

const char *
http_headers_get_nth(const struct http_headers *h, const char *name, size_t nth)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name) != 0)
			continue;
		if (nth-- == 0)
			return (h->v[i].value);
	}
	return (NULL);
}

const char *
http_headers_get(const struct http_headers *h, const char *name)
{
	return (http_headers_get_nth(h, name, 0));
}

static char *
http_trim(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			      s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	return (xstrndup(s, len));
}

/*
 * One header line from curl (status lines and the blank line included).
 * A status line starts a new response (a 100 Continue, a redirect, an
 * auth round): headers kept are those of the last response only.
 */
static size_t
http_header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct http_call    *call = arg;
	struct http_headers *h = &call->headers;
	struct http_header  *last;
	size_t		     len = size * nitems;
	const char	    *colon;
	char		    *more, *joined;
	long		     status;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		http_headers_clear(h);
		more = memchr(data, ' ', len);
		status = 0;
		if (more != NULL && (size_t)(more - data) + 4 <= len &&
		    more[1] >= '1' && more[1] <= '9' && more[2] >= '0' &&
		    more[2] <= '9' && more[3] >= '0' && more[3] <= '9')
			status = (more[1] - '0') * 100 + (more[2] - '0') * 10 +
				 (more[3] - '0');
		call->status = status;
		return (len);
	}
	if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n'))
		return (len);
	if (h->bytes + len > HTTP_HEADERS_MAX) {
		call->headers_overflow = 1;
		return (0); /* CURLE_WRITE_ERROR */
	}
	h->bytes += len;
	if ((data[0] == ' ' || data[0] == '\t') && h->n > 0) {
		/* An obsolete folded continuation of the previous value. */
		last = &h->v[h->n - 1];
		more = http_trim(data, len);
		joined = xasprintf("%s %s", last->value, more);
		free(more);
		free(last->value);
		last->value = joined;
		return (len);
	}
	colon = memchr(data, ':', len);
	if (colon == NULL || colon == data)
		return (len); /* not a header: ignore */
	h->v = xreallocarray(h->v, h->n + 1, sizeof *h->v);
	h->v[h->n].name = http_trim(data, (size_t)(colon - data));
	h->v[h->n].value = http_trim(colon + 1,
	    len - (size_t)(colon - data) - 1);
	h->n++;
	return (len);
}

/* --- bodies ----------------------------------------------------------- */

static size_t
http_read_curl_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	struct http_call *call = arg;
	size_t		  len = size * nitems;
	ssize_t		  n;

	if (call->cancelled)
		return (CURL_READFUNC_ABORT);
	if (call->read_cb == NULL) {
		if (len > call->body_len - call->body_off)
			len = call->body_len - call->body_off;
		memcpy(dst, call->body + call->body_off, len);
		call->body_off += len;
		call->bytes_sent += (long long)len;
		return (len);
	}
	n = call->read_cb(call, dst, len, call->arg);
	if (call->cancelled)
		return (CURL_READFUNC_ABORT);
	if (n == HTTP_STREAM_PAUSE)
		return (CURL_READFUNC_PAUSE);
	if (n < 0 || (size_t)n > len) {
		call->stream_aborted = 1;
		return (CURL_READFUNC_ABORT);
	}
	call->bytes_sent += n;
	return ((size_t)n);
}

/* Rewinds a body from memory (redirects with 307/308, retried sends). */
static int
http_seek_curl_cb(void *arg, curl_off_t offset, int origin)
{
	struct http_call *call = arg;

	if (call->read_cb != NULL)
		return (CURL_SEEKFUNC_CANTSEEK);
	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > call->body_len)
		return (CURL_SEEKFUNC_FAIL);
	call->body_off = (size_t)offset;
	call->bytes_sent = offset;
	return (CURL_SEEKFUNC_OK);
}

static size_t
http_write_curl_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct http_call *call = arg;
	size_t		  len = size * nitems;
	int		  rc;

	if (call->cancelled)
		return (0);
	if (call->write_cb != NULL &&
	    (!(call->flags & HTTP_F_STREAM_2XX) ||
		(call->status >= 200 && call->status < 300))) {
		rc = call->write_cb(call, data, len, call->arg);
		if (call->cancelled)
			return (0);
		if (rc == HTTP_STREAM_PAUSE)
			return (CURL_WRITEFUNC_PAUSE);
		if (rc != 0) {
			call->stream_aborted = 1;
			return (0);
		}
		call->bytes_received += (long long)len;
		return (len);
	}
	if (buf_append(&call->body_in, data, len) != 0) {
		call->body_overflow = 1;
		return (0);
	}
	call->bytes_received += (long long)len;
	return (len);
}

/* --- the loop side: sockets and timers -------------------------------- */

/* Timers' data is the client, polls' is their struct http_sock. */
static void
http_handle_closed_cb(uv_handle_t *handle)
{
	struct http_client *client;
	struct http_sock   *sock;

	if (handle->type == UV_POLL) {
		sock = handle->data;
		client = sock->client;
		free(sock);
	} else
		client = handle->data;
	client->nhandles--;
	if (client->closing && client->multi_gone && client->nhandles == 0)
		http_client_finish_close(client);
}

static void
http_socket_action(struct http_client *client, curl_socket_t fd, int ev)
{
	int running;

	client->in_curl++;
	curl_multi_socket_action(client->multi, fd, ev, &running);
	client->in_curl--;
	http_check_info(client);
}

static void
http_poll_cb(uv_poll_t *poll, int status, int events)
{
	struct http_sock *sock = poll->data;
	int		  ev = 0;

	/* On an error libuv has stopped the handle; curl decides what next
	   and its socket callback starts it again or removes it. */
	if (status < 0)
		ev = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			ev |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			ev |= CURL_CSELECT_OUT;
	}
	http_socket_action(sock->client, sock->fd, ev);
}

static void
http_sock_close(struct http_sock *sock)
{
	struct http_client *client = sock->client;

	if (sock->prev != NULL)
		sock->prev->next = sock->next;
	else
		client->socks = sock->next;
	if (sock->next != NULL)
		sock->next->prev = sock->prev;
	/* uv_close stops polling now, before curl closes the fd: a new
	   socket reusing the number gets a fresh handle of its own. */
	uv_close((uv_handle_t *)&sock->poll, http_handle_closed_cb);
}

/*
 * curl says what to watch on a socket.  socketp is our struct http_sock,
 * attached with curl_multi_assign the first time curl shows the socket;
 * after CURL_POLL_REMOVE curl forgets it, so a reused fd number arrives
 * with socketp NULL and gets a new handle.
 */
static int
http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct http_client *client = userp;
	struct http_sock   *sock = socketp;
	int		    events = 0, rc;

	if (what == CURL_POLL_REMOVE) {
		if (sock != NULL)
			http_sock_close(sock);
		return (0);
	}
	if (sock == NULL) {
		sock = xcalloc(1, sizeof *sock);
		sock->client = client;
		sock->fd = fd;
		if ((rc = uv_poll_init_socket(client->loop, &sock->poll, fd)) !=
		    0) {
			log_warnx("http: cannot poll socket fd=%d: %s", (int)fd,
			    uv_strerror(rc));
			free(sock);
			return (-1);
		}
		sock->poll.data = sock;
		client->nhandles++;
		sock->next = client->socks;
		if (client->socks != NULL)
			client->socks->prev = sock;
		client->socks = sock;
		curl_multi_assign(client->multi, fd, sock);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (events == 0)
		rc = uv_poll_stop(&sock->poll);
	else
		rc = uv_poll_start(&sock->poll, events, http_poll_cb);
	if (rc != 0) {
		log_warnx("http: cannot poll socket fd=%d: %s", (int)fd,
		    uv_strerror(rc));
		return (-1);
	}
	return (0);
}

static void
http_timer_cb(uv_timer_t *timer)
{
	http_socket_action(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

/* curl wants to be woken in timeout_ms (0: as soon as possible, on the
   next loop iteration, never from here), or not at all (-1). */
static int
http_timer_curl_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *client = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&client->timer);
	else
		uv_timer_start(&client->timer, http_timer_cb,
		    (uint64_t)timeout_ms, 0);
	return (0);
}

/* --- finishing a call ------------------------------------------------- */

static int
http_classify(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return (HTTP_OK);
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
#if LIBCURL_VERSION_NUM >= 0x074900
	case CURLE_PROXY:
#endif
		return (HTTP_ENETWORK);
	case CURLE_OPERATION_TIMEDOUT:
		return (HTTP_ETIMEOUT);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return (HTTP_ETLS);
	case CURLE_FILESIZE_EXCEEDED:
		return (HTTP_ETOOLARGE);
	case CURLE_ABORTED_BY_CALLBACK:
		return (HTTP_EABORTED);
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_RANGE_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP_RETURNED_ERROR:
		return (HTTP_EPROTOCOL);
	default:
		return (HTTP_EINTERNAL);
	}
}

static long long
http_info_time(CURL *easy, CURLINFO info)
{
	curl_off_t t = 0;

	if (curl_easy_getinfo(easy, info, &t) != CURLE_OK)
		return (0);
	return ((long long)t);
}

static void
http_call_free(struct http_call *call)
{
	struct curl_slist *l;

	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	/* Request headers may carry secrets (session tokens): wipe them. */
	for (l = call->hdrs; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(call->hdrs);
	curl_slist_free_all(call->rcpts);
	http_headers_clear(&call->headers);
	buf_free(&call->body_in);
	/* So may the body (a check's login form): wipe it too. */
	if (call->body != NULL)
		explicit_bzero(call->body, call->body_len);
	free(call->body);
	freezero_str(call->username);
	freezero_str(call->password);
	free(call->method);
	free(call->log_url);
	free(call);
}

/*
 * Reports the call to its owner and frees it.  Runs only from the loop
 * (check_info or work_cb), never inside a curl callback.
 */
static void
http_call_finish(struct http_call *call, CURLcode cc)
{
	struct http_client *client = call->client;
	struct http_result  res;
	char		   *msg = NULL;
	char		   *url = NULL;
	long		    l;

	memset(&res, 0, sizeof res);
	if (call->in_multi) {
		curl_multi_remove_handle(client->multi, call->easy);
		call->in_multi = 0;
	}
	res.curl_code = (int)cc;
	if (call->cancelled) {
		res.error = HTTP_ECANCELLED;
		res.message = "cancelled";
	} else if (call->body_overflow) {
		res.error = HTTP_ETOOLARGE;
		msg = xasprintf("response body larger than %zu bytes",
		    call->body_in.max);
	} else if (call->headers_overflow) {
		res.error = HTTP_ETOOLARGE;
		msg = xasprintf("response headers larger than %d bytes",
		    HTTP_HEADERS_MAX);
	} else if (call->stream_aborted) {
		res.error = HTTP_EABORTED;
		res.message = "aborted by a stream callback";
	} else {
		res.error = http_classify(cc);
		if (cc == CURLE_OK)
			res.message = "ok";
		else if (cc == CURLE_FILESIZE_EXCEEDED)
			msg = xasprintf("response body larger than %zu bytes",
			    call->body_in.max);
		else if (call->errbuf[0] != '\0')
			res.message = call->errbuf;
		else
			res.message = curl_easy_strerror(cc);
	}
	if (msg != NULL)
		res.message = msg;

	if (curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &l) ==
		CURLE_OK &&
	    l != 0)
		res.status = l;
	else
		res.status = call->status;
	res.headers = call->headers;
	memset(&call->headers, 0, sizeof call->headers);
	res.body = call->body_in;
	buf_init(&call->body_in, 0);
	if (curl_easy_getinfo(call->easy, CURLINFO_EFFECTIVE_URL, &url) ==
		CURLE_OK &&
	    url != NULL)
		res.effective_url = url;
	else
		res.effective_url = "";
	res.timings.dns_us = http_info_time(call->easy,
	    CURLINFO_NAMELOOKUP_TIME_T);
	res.timings.connect_us = http_info_time(call->easy,
	    CURLINFO_CONNECT_TIME_T);
	res.timings.tls_us = http_info_time(call->easy,
	    CURLINFO_APPCONNECT_TIME_T);
	res.timings.first_byte_us = http_info_time(call->easy,
	    CURLINFO_STARTTRANSFER_TIME_T);
	res.timings.total_us = http_info_time(call->easy,
	    CURLINFO_TOTAL_TIME_T);
	if (curl_easy_getinfo(call->easy, CURLINFO_REDIRECT_COUNT, &l) ==
	    CURLE_OK)
		res.redirects = l;
	if (curl_easy_getinfo(call->easy, CURLINFO_NUM_CONNECTS, &l) ==
	    CURLE_OK)
		res.connects = l;
	res.bytes_sent = call->bytes_sent;
	res.bytes_received = call->bytes_received;

	log_debug(LOG_CAT_HTTP,
	    "http call done method=%s url=%s status=%ld "
	    "error=%s connects=%ld ms=%lld",
	    call->method, call->log_url, res.status, http_strerror(res.error),
	    res.connects, res.timings.total_us / 1000);

	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		client->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	else
		client->calls_tail = call->prev;

	call->done_cb(call, &res, call->done_arg);

	http_headers_clear(&res.headers);
	buf_free(&res.body);
	free(msg);
	http_call_free(call);
	if (client->closing && client->calls == NULL)
		http_work_arm(client);
}

/* Drains curl's finished transfers; after every action (curl's rule). */
static void
http_check_info(struct http_client *client)
{
	CURLMsg		 *msg;
	struct http_call *call;
	CURLcode	  cc;
	int		  left;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		cc = msg->data.result;
		call = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &call);
		if (call != NULL)
			http_call_finish(call, cc);
	}
}

/* --- deferred work: cancel, resume, add, close ------------------------ */

static void
http_work_cb(uv_timer_t *timer)
{
	struct http_client *client = timer->data;
	struct http_call   *call, *next;
	struct http_sock   *sock;
	CURLMcode	    mc;

	for (call = client->calls; call != NULL; call = next) {
		next = call->next;
		if (call->cancelled) {
			http_call_finish(call, CURLE_ABORTED_BY_CALLBACK);
			continue;
		}
		if (call->add_pending) {
			call->add_pending = 0;
			mc = curl_multi_add_handle(client->multi, call->easy);
			if (mc != CURLM_OK) {
				snprintf(call->errbuf, sizeof call->errbuf,
				    "%s", curl_multi_strerror(mc));
				http_call_finish(call, CURLE_FAILED_INIT);
				continue;
			}
			call->in_multi = 1;
		}
		if (call->resume_pending && call->in_multi) {
			call->resume_pending = 0;
			client->in_curl++;
			curl_easy_pause(call->easy, CURLPAUSE_CONT);
			client->in_curl--;
		}
	}
	http_check_info(client);

	if (!client->closing || client->calls != NULL || client->multi_gone)
		return;
	/* Last: the multi handle (which removes its sockets through
	   socket_cb), any socket it left, then our timers. */
	client->multi_gone = 1;
	client->in_curl++;
	curl_multi_cleanup(client->multi);
	client->in_curl--;
	client->multi = NULL;
	while ((sock = client->socks) != NULL)
		http_sock_close(sock);
	uv_close((uv_handle_t *)&client->timer, http_handle_closed_cb);
	uv_close((uv_handle_t *)&client->work, http_handle_closed_cb);
}

static void
http_work_arm(struct http_client *client)
{
	if (!client->multi_gone)
		uv_timer_start(&client->work, http_work_cb, 0, 0);
}

static void
http_client_finish_close(struct http_client *client)
{
	http_close_cb cb = client->close_cb;
	void	     *arg = client->close_arg;

	free(client);
	if (cb != NULL)
		cb(arg);
}

/* --- the client ------------------------------------------------------- */

struct http_client *
http_client_new(uv_loop_t *loop)
{
	struct http_client *client;

	uv_once(&http_global_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		fatalx("curl_global_init: %s",
		    curl_easy_strerror(http_global_rc));

	client = xcalloc(1, sizeof *client);
	client->loop = loop;
	if ((client->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION,
	    http_socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_curl_cb);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);

	uv_timer_init(loop, &client->timer);
	client->timer.data = client;
	client->nhandles++;
	uv_timer_init(loop, &client->work);
	client->work.data = client;
	client->nhandles++;
	return (client);
}

void
http_client_close(struct http_client *client, http_close_cb cb, void *arg)
{
	struct http_call *call;

	if (client->closing)
		fatalx("%s: client closed twice", __func__);
	client->closing = 1;
	client->close_cb = cb;
	client->close_arg = arg;
	for (call = client->calls; call != NULL; call = call->next)
		call->cancelled = 1;
	http_work_arm(client);
}

/* --- calls ------------------------------------------------------------ */

static int
http_method_valid(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++) {
		if (m[i] < 'A' || m[i] > 'Z')
			return (0);
	}
	return (i > 0 && i <= 16);
}

struct http_call *
http_call_start(struct http_client *client, const struct http_request *req,
    http_done_cb done_cb, void *arg, char **cause)
{
	struct http_call  *call = NULL;
	struct curl_slist *l;
	const char	  *method, *err = NULL;
	size_t		   i;
	long long	   len;
	int		   https, rc = 0, has_body;
	CURLMcode	   mc;

	if (client->closing)
		err = "the HTTP client is closing";
	else if (req->url == NULL || done_cb == NULL)
		err = "no URL or no done callback";
	else if (strncasecmp(req->url, "https://", 8) != 0 &&
		 strncasecmp(req->url, "http://", 7) != 0)
		err = "the URL is not http:// or https://";
	else if (req->body != NULL && req->read_cb != NULL)
		err = "both a body and a read callback";
	else if (req->read_cb != NULL && req->read_len < -1)
		err = "a negative body length";
	else if (req->max_redirects < 0)
		err = "a negative redirect maximum";
	if (err != NULL)
		goto fail;
	method = req->method != NULL ? req->method : "GET";
	has_body = req->body != NULL || req->read_cb != NULL;
	if (!http_method_valid(method))
		err = "a bad method name";
	else if (has_body &&
		 (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
		err = "a body with GET or HEAD";
	if (err != NULL)
		goto fail;

	call = xcalloc(1, sizeof *call);
	call->client = client;
	call->done_cb = done_cb;
	call->done_arg = arg;
	call->read_cb = req->read_cb;
	call->write_cb = req->write_cb;
	call->arg = req->arg;
	call->flags = req->flags;
	call->method = xstrdup(method);
	call->log_url = xstrndup(req->url, strcspn(req->url, "?#"));
	if (req->flags & HTTP_F_SECRET_URL) {
		free(call->log_url);
		call->log_url = xstrdup("(secret URL)");
	}
	buf_init(&call->body_in,
	    req->body_max != 0 ? req->body_max : HTTP_BODY_MAX_DEFAULT);
	if (req->body != NULL && req->body_len > 0) {
		call->body = xmalloc(req->body_len);
		memcpy(call->body, req->body, req->body_len);
		call->body_len = req->body_len;
	}
	len = req->read_cb != NULL ? req->read_len : (long long)call->body_len;
	if ((call->easy = curl_easy_init()) == NULL) {
		err = "curl_easy_init failed";
		goto fail;
	}
	https = strncasecmp(req->url, "https://", 8) == 0;

#define SET(opt, val) rc |= (int)curl_easy_setopt(call->easy, opt, val)
	SET(CURLOPT_URL, req->url);
	/* Send the path as given: "/../" and "/./" are part of S3 keys, and
	   signed requests must not be rewritten after signing. */
	SET(CURLOPT_PATH_AS_IS, 1L);
	SET(CURLOPT_PRIVATE, call);
	SET(CURLOPT_ERRORBUFFER, call->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "shipgate/" PACKAGE_VERSION);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS,
	    https ? (long)CURLPROTO_HTTPS :
		    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* Verification is not optional. */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
	SET(CURLOPT_UNRESTRICTED_AUTH, 0L);

	SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	SET(CURLOPT_HEADERDATA, call);
	SET(CURLOPT_WRITEFUNCTION, http_write_curl_cb);
	SET(CURLOPT_WRITEDATA, call);
	SET(CURLOPT_READFUNCTION, http_read_curl_cb);
	SET(CURLOPT_READDATA, call);
	SET(CURLOPT_SEEKFUNCTION, http_seek_curl_cb);
	SET(CURLOPT_SEEKDATA, call);
	/*
	 * A body from memory gains nothing from libcurl's 64 KiB upload
	 * buffer, and a daemon with one long poll per app keeps hundreds of
	 * calls in flight: the minimum (16 KiB) saves 48 KiB each.  Streamed
	 * uploads (image layers) keep the default for throughput.
	 */
	if (req->read_cb == NULL)
		SET(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	/*
	 * Likewise the receive buffer (16 KiB by default, allocated with
	 * the handle): a collected answer is an API's reply of a few KiB,
	 * often a long poll waiting with nothing to read.  Streamed
	 * downloads keep the default.
	 */
	if (req->write_cb == NULL)
		SET(CURLOPT_BUFFERSIZE, (long)HTTP_RECV_BUFFER);
	/* A declared length over the maximum fails before the body comes. */
	if (req->write_cb == NULL && call->body_in.max <= (size_t)INT64_MAX)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->body_in.max);

	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ?
					   req->connect_timeout_ms :
					   (long)HTTP_CONNECT_TIMEOUT_DEFAULT);
	if (req->timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->low_speed_limit > 0 && req->low_speed_time > 0) {
		SET(CURLOPT_LOW_SPEED_LIMIT, req->low_speed_limit);
		SET(CURLOPT_LOW_SPEED_TIME, req->low_speed_time);
	}
	if (req->max_redirects > 0) {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)req->max_redirects);
	}
	if (req->username != NULL) {
		call->username = xstrdup(req->username);
		call->password = xstrdup(
		    req->password != NULL ? req->password : "");
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, call->username);
		SET(CURLOPT_PASSWORD, call->password);
	}
	if (req->cookies != NULL) {
		SET(CURLOPT_SHARE, req->cookies->share);
		SET(CURLOPT_COOKIEFILE, "");
	} else if (req->flags & HTTP_F_COOKIES)
		SET(CURLOPT_COOKIEFILE, "");
	if (req->flags & HTTP_F_NOPROXY)
		SET(CURLOPT_PROXY, "");
	/* A proxy's "200 Connection established" is not the response. */
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);

	if (strcmp(method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (has_body || strcmp(method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		if (strcmp(method, "PUT") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else
		SET(CURLOPT_CUSTOMREQUEST, method);

	if (len < 0) {
		l = curl_slist_append(call->hdrs, "Transfer-Encoding: chunked");
		if (l == NULL)
			fatalx("%s: out of memory", __func__);
		call->hdrs = l;
	}
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		l = curl_slist_append(call->hdrs, req->headers[i]);
		if (l == NULL)
			fatalx("%s: out of memory", __func__);
		call->hdrs = l;
	}
	if (call->hdrs != NULL)
		SET(CURLOPT_HTTPHEADER, call->hdrs);
#undef SET
	if (rc != 0) {
		err = "an option libcurl refused";
		goto fail;
	}

	if (client->calls_tail != NULL) {
		client->calls_tail->next = call;
		call->prev = client->calls_tail;
	} else
		client->calls = call;
	client->calls_tail = call;

	if (client->in_curl > 0) {
		/* Started from inside a curl callback: add from the loop. */
		call->add_pending = 1;
		http_work_arm(client);
	} else {
		mc = curl_multi_add_handle(client->multi, call->easy);
		if (mc != CURLM_OK) {
			/* Not started: unlink and fail synchronously. */
			client->calls_tail = call->prev;
			if (call->prev != NULL)
				call->prev->next = NULL;
			else
				client->calls = NULL;
			err = curl_multi_strerror(mc);
			goto fail;
		}
		call->in_multi = 1;
	}
	log_debug(LOG_CAT_HTTP, "http call start method=%s url=%s",
	    call->method, call->log_url);
	return (call);

fail:
	if (cause != NULL)
		*cause = xasprintf("http request %s: %s",
		    req->url != NULL ? req->url : "(no URL)", err);
	if (call != NULL)
		http_call_free(call);
	return (NULL);
}

void
http_call_cancel(struct http_call *call)
{
	if (call->cancelled)
		return;
	call->cancelled = 1;
	http_work_arm(call->client);
}

void
http_call_resume(struct http_call *call)
{
	call->resume_pending = 1;
	http_work_arm(call->client);
}

long
http_call_status(const struct http_call *call)
{
	return (call->status);
}

/* --- cookie jars ------------------------------------------------------ */

struct http_cookies *
http_cookies_new(void)
{
	struct http_cookies *jar;

	uv_once(&http_global_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		fatalx("curl_global_init: %s",
		    curl_easy_strerror(http_global_rc));
	jar = xcalloc(1, sizeof *jar);
	if ((jar->share = curl_share_init()) == NULL)
		fatalx("curl_share_init failed");
	if (curl_share_setopt(jar->share, CURLSHOPT_SHARE,
		CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
		fatalx("curl_share_setopt failed");
	return (jar);
}

void
http_cookies_free(struct http_cookies *jar)
{
	if (jar == NULL)
		return;
	if (curl_share_cleanup(jar->share) != CURLSHE_OK)
		fatalx("%s: cookie jar freed while a call uses it", __func__);
	free(jar);
}

/* The cookie list through a throw-away easy handle attached to the jar. */
static struct curl_slist *
http_cookies_list(struct http_cookies *jar)
{
	CURL		  *easy;
	struct curl_slist *list = NULL;

	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if (curl_easy_setopt(easy, CURLOPT_SHARE, jar->share) != CURLE_OK ||
	    curl_easy_getinfo(easy, CURLINFO_COOKIELIST, &list) != CURLE_OK)
		list = NULL;
	curl_easy_cleanup(easy);
	return (list);
}

size_t
http_cookies_count(struct http_cookies *jar)
{
	struct curl_slist *list, *l;
	size_t		   n = 0;

	list = http_cookies_list(jar);
	for (l = list; l != NULL; l = l->next)
		n++;
	curl_slist_free_all(list);
	return (n);
}

char *
http_cookies_dump(struct http_cookies *jar)
{
	struct curl_slist *list, *l;
	struct buf	   b;
	char		  *s;

	buf_init(&b, SIZE_MAX / 2);
	list = http_cookies_list(jar);
	for (l = list; l != NULL; l = l->next)
		buf_printf(&b, "%s\n", l->data);
	curl_slist_free_all(list);
	s = buf_take(&b, NULL);
	return (s);
}

void
http_cookies_clear(struct http_cookies *jar)
{
	CURL *easy;

	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(easy, CURLOPT_SHARE, jar->share);
	curl_easy_setopt(easy, CURLOPT_COOKIELIST, "ALL");
	curl_easy_cleanup(easy);
}

/* --- SMTP: one message through the same multi handle ------------------ */

struct http_call *
http_smtp_start(struct http_client *client, const struct http_smtp_request *req,
    http_done_cb done_cb, void *arg, char **cause)
{
	struct http_call  *call = NULL;
	struct curl_slist *l;
	const char	  *err = NULL;
	char		  *s;
	size_t		   i;
	int		   rc = 0, smtps;
	CURLMcode	   mc;

	if (client->closing)
		err = "the HTTP client is closing";
	else if (req->url == NULL || done_cb == NULL)
		err = "no URL or no done callback";
	else if (strncasecmp(req->url, "smtp://", 7) != 0 &&
		 strncasecmp(req->url, "smtps://", 8) != 0)
		err = "the URL is not smtp:// or smtps://";
	else if (req->mail_from == NULL || req->rcpt == NULL ||
		 req->rcpt[0] == NULL)
		err = "no sender or no recipient";
	else if (req->body == NULL || req->body_len == 0)
		err = "no message";
	if (err != NULL)
		goto fail;
	smtps = strncasecmp(req->url, "smtps://", 8) == 0;

	call = xcalloc(1, sizeof *call);
	call->client = client;
	call->done_cb = done_cb;
	call->done_arg = arg;
	call->method = xstrdup("SMTP");
	call->log_url = xstrndup(req->url, strcspn(req->url, "?#"));
	buf_init(&call->body_in, 64 * 1024);
	call->body = xmalloc(req->body_len);
	memcpy(call->body, req->body, req->body_len);
	call->body_len = req->body_len;
	for (i = 0; req->rcpt[i] != NULL; i++) {
		s = xasprintf("<%s>", req->rcpt[i]);
		l = curl_slist_append(call->rcpts, s);
		free(s);
		if (l == NULL)
			fatalx("%s: out of memory", __func__);
		call->rcpts = l;
	}
	if ((call->easy = curl_easy_init()) == NULL) {
		err = "curl_easy_init failed";
		goto fail;
	}

#define SET(opt, val) rc |= (int)curl_easy_setopt(call->easy, opt, val)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PRIVATE, call);
	SET(CURLOPT_ERRORBUFFER, call->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
	/* smtp:// with starttls: STARTTLS required, never in clear. */
	if (!smtps && req->starttls)
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	SET(CURLOPT_MAIL_FROM, req->mail_from);
	SET(CURLOPT_MAIL_RCPT, call->rcpts);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_len);
	SET(CURLOPT_READFUNCTION, http_read_curl_cb);
	SET(CURLOPT_READDATA, call);
	SET(CURLOPT_WRITEFUNCTION, http_write_curl_cb);
	SET(CURLOPT_WRITEDATA, call);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ?
					   req->connect_timeout_ms :
					   (long)HTTP_CONNECT_TIMEOUT_DEFAULT);
	if (req->timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->username != NULL) {
		call->username = xstrdup(req->username);
		call->password = xstrdup(
		    req->password != NULL ? req->password : "");
		SET(CURLOPT_USERNAME, call->username);
		SET(CURLOPT_PASSWORD, call->password);
	}
	/* Proxies are for HTTP: mail goes direct. */
	SET(CURLOPT_PROXY, "");
#undef SET
	if (rc != 0) {
		err = "an option libcurl refused";
		goto fail;
	}

	if (client->calls_tail != NULL) {
		client->calls_tail->next = call;
		call->prev = client->calls_tail;
	} else
		client->calls = call;
	client->calls_tail = call;

	if (client->in_curl > 0) {
		call->add_pending = 1;
		http_work_arm(client);
	} else {
		mc = curl_multi_add_handle(client->multi, call->easy);
		if (mc != CURLM_OK) {
			client->calls_tail = call->prev;
			if (call->prev != NULL)
				call->prev->next = NULL;
			else
				client->calls = NULL;
			err = curl_multi_strerror(mc);
			goto fail;
		}
		call->in_multi = 1;
	}
	log_debug(LOG_CAT_HTTP, "smtp call start url=%s rcpts=%zu",
	    call->log_url, i);
	return (call);

fail:
	if (cause != NULL)
		*cause = xasprintf("smtp %s: %s",
		    req->url != NULL ? req->url : "(no URL)", err);
	if (call != NULL)
		http_call_free(call);
	return (NULL);
}
