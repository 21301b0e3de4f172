/*
 * The HTTP transport against tests/unit/http-test-server.py on 127.0.0.1:
 * methods, keep-alive, limits, errors, redirects and credentials, cookies,
 * streaming with back-pressure, cancellation, proxies, TLS, and a clean
 * close (every handle closed, uv_loop_close() == 0).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

static uv_loop_t	   loop;
static struct http_client *client;
static pid_t		   server_pid = -1;
static int		   server_stdin = -1;
static int		   port_main, port_other, port_proxy, port_tls;
static char		   ca_path[PATH_MAX];
static char		   base[64], base_other[64], base_tls[64];

/* What a done callback saw, kept after the call is gone. */
struct outcome {
	int		    ndone;
	int		    error;
	long		    status;
	char		   *message;
	char		   *body;
	size_t		    body_len;
	struct http_headers h;
	char		   *url;
	long		    redirects;
	long		    connects;
	long long	    sent;
	long long	    received;
};

static void
outcome_free(struct outcome *o)
{
	size_t i;

	free(o->message);
	free(o->body);
	free(o->url);
	for (i = 0; i < o->h.n; i++) {
		free(o->h.v[i].name);
		free(o->h.v[i].value);
	}
	free(o->h.v);
	memset(o, 0, sizeof *o);
}

static const char *
hdr(struct outcome *o, const char *name)
{
	const char *v = http_headers_get(&o->h, name);

	return (v != NULL ? v : "");
}

static void
done_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct outcome *o = arg;
	size_t		i;

	o->ndone++;
	if (o->ndone > 1)
		return;
	o->error = res->error;
	o->status = res->status;
	o->message = xstrdup(res->message);
	o->body = buf_take(&res->body, &o->body_len);
	o->url = xstrdup(res->effective_url);
	o->redirects = res->redirects;
	o->connects = res->connects;
	o->sent = res->bytes_sent;
	o->received = res->bytes_received;
	o->h.n = res->headers.n;
	o->h.v = xcalloc(res->headers.n + 1, sizeof *o->h.v);
	for (i = 0; i < res->headers.n; i++) {
		o->h.v[i].name = xstrdup(res->headers.v[i].name);
		o->h.v[i].value = xstrdup(res->headers.v[i].value);
	}
}

static void
wait_for(int *counter, int n)
{
	while (*counter < n)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Runs one request to its end. */
static int
fetch(const struct http_request *req, struct outcome *o)
{
	struct http_call *call;
	char		 *cause = NULL;

	memset(o, 0, sizeof *o);
	call = http_call_start(client, req, done_cb, o, &cause);
	if (call == NULL) {
		tap_diag("start failed: %s", cause);
		free(cause);
		o->error = HTTP_EINVAL;
		return (-1);
	}
	wait_for(&o->ndone, 1);
	if (o->error != HTTP_OK)
		tap_diag("call %s: %s: %s", req->url, http_strerror(o->error),
		    o->message);
	return (0);
}

static char *
url(const char *b, const char *path)
{
	return (xasprintf("%s%s", b, path));
}

/* --- the server ------------------------------------------------------- */

static int
server_start(void)
{
	int	    out[2], in[2];
	const char *srcdir, *py;
	char	   *script, line[PATH_MAX + 128];
	FILE	   *f;

	srcdir = getenv("top_srcdir");
	py = getenv("TEST_PYTHON");
	script = xasprintf("%s/tests/unit/http-test-server.py",
	    srcdir != NULL ? srcdir : ".");
	if (pipe(out) == -1 || pipe(in) == -1)
		return (-1);
	if ((server_pid = fork()) == -1)
		return (-1);
	if (server_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(py != NULL ? py : "/usr/bin/python3", "python3", script,
		    (char *)NULL);
		_exit(127);
	}
	free(script);
	close(in[0]);
	close(out[1]);
	server_stdin = in[1];
	if ((f = fdopen(out[0], "r")) == NULL)
		return (-1);
	if (fgets(line, sizeof line, f) == NULL ||
	    sscanf(line, "main=%d other=%d proxy=%d tls=%d ca=%4095s",
		&port_main, &port_other, &port_proxy, &port_tls,
		ca_path) != 5) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port_main);
	snprintf(base_other, sizeof base_other, "http://127.0.0.1:%d",
	    port_other);
	snprintf(base_tls, sizeof base_tls, "https://127.0.0.1:%d", port_tls);
	return (0);
}

static void
server_stop(void)
{
	int status;

	if (server_pid <= 0)
		return;
	kill(server_pid, SIGTERM);
	waitpid(server_pid, &status, 0);
	close(server_stdin);
	server_pid = -1;
}

/* --- round trips ------------------------------------------------------ */

static void
test_methods(void)
{
	struct http_request req;
	struct outcome	    o;
	const char	   *hdrs[] = { "X-Test: one", "Accept:", NULL };
	char		   *u = url(base, "/echo?q=1");

	memset(&req, 0, sizeof req);
	req.url = u;
	req.headers = hdrs;
	fetch(&req, &o);
	is_int(o.error, HTTP_OK, "GET: no error");
	is_int(o.status, 200, "GET: status 200");
	is_str(hdr(&o, "X-Echo-Method"), "GET", "GET: method");
	is_str(hdr(&o, "x-echo-path"), "/echo?q=1",
	    "GET: path and query; "
	    "case-insensitive lookup");
	is_str(hdr(&o, "X-Echo-Req-x-test"), "one", "GET: request header sent");
	ok(http_headers_get(&o.h, "X-Echo-Req-accept") == NULL,
	    "GET: \"Accept:\" drops a default header");
	is_str(http_headers_get_nth(&o.h, "X-MULTI", 0), "a",
	    "multi-valued header: first");
	is_str(http_headers_get_nth(&o.h, "x-multi", 1), "b",
	    "multi-valued header: second");
	ok(http_headers_get_nth(&o.h, "x-multi", 2) == NULL,
	    "multi-valued header: no third");
	is_int((long long)o.body_len, 0, "GET: empty body");
	is_str(o.url, u, "GET: effective URL");
	is_str(o.message, "ok", "GET: message");
	outcome_free(&o);

	req.headers = NULL;
	req.method = "POST";
	req.body = "hello world";
	req.body_len = 11;
	fetch(&req, &o);
	ok(o.status == 200 && strcmp(hdr(&o, "X-Echo-Method"), "POST") == 0,
	    "POST: status and method");
	is_str(o.body, "hello world", "POST: body round trip");
	is_str(hdr(&o, "X-Echo-Req-content-length"), "11",
	    "POST: Content-Length");
	is_int(o.sent, 11, "POST: bytes sent");
	is_int(o.received, 11, "POST: bytes received");
	outcome_free(&o);

	req.method = "PUT";
	req.body = "put body";
	req.body_len = 8;
	fetch(&req, &o);
	ok(o.status == 200 && strcmp(hdr(&o, "X-Echo-Method"), "PUT") == 0 &&
		o.body != NULL && strcmp(o.body, "put body") == 0,
	    "PUT: method and body");
	outcome_free(&o);

	req.method = "PATCH";
	req.body = "{}";
	req.body_len = 2;
	fetch(&req, &o);
	ok(strcmp(hdr(&o, "X-Echo-Method"), "PATCH") == 0 && o.body != NULL &&
		strcmp(o.body, "{}") == 0,
	    "PATCH with a body");
	outcome_free(&o);

	req.method = "DELETE";
	req.body = NULL;
	req.body_len = 0;
	fetch(&req, &o);
	ok(o.status == 200 && strcmp(hdr(&o, "X-Echo-Method"), "DELETE") == 0,
	    "DELETE: method");
	outcome_free(&o);

	req.method = "POST";
	fetch(&req, &o);
	ok(strcmp(hdr(&o, "X-Echo-Method"), "POST") == 0 &&
		strcmp(hdr(&o, "X-Echo-Req-content-length"), "0") == 0,
	    "POST without a body sends Content-Length: 0");
	outcome_free(&o);
	free(u);

	u = url(base, "/big?size=12345");
	req.url = u;
	req.method = "HEAD";
	fetch(&req, &o);
	ok(o.status == 200 && o.body_len == 0 &&
		strcmp(hdr(&o, "Content-Length"), "12345") == 0,
	    "HEAD: headers, no body");
	outcome_free(&o);
	free(u);

	u = url(base, "/status?code=503");
	req.url = u;
	req.method = NULL;
	fetch(&req, &o);
	ok(o.error == HTTP_OK && o.status == 503,
	    "a 503 is a status, not a transport error");
	is_str(o.body, "status body", "the error body is kept");
	outcome_free(&o);
	free(u);
}

static void
test_sync_failures(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *cause = NULL;

	memset(&o, 0, sizeof o);
	memset(&req, 0, sizeof req);
	req.url = "ftp://127.0.0.1/x";
	ok(http_call_start(client, &req, done_cb, &o, &cause) == NULL &&
		cause != NULL,
	    "an ftp URL is refused synchronously");
	free(cause);
	cause = NULL;
	req.url = base;
	req.method = "GET";
	req.body = "x";
	req.body_len = 1;
	ok(http_call_start(client, &req, done_cb, &o, &cause) == NULL,
	    "a GET with a body is refused");
	free(cause);
	cause = NULL;
	req.body = NULL;
	req.method = "get me";
	ok(http_call_start(client, &req, done_cb, &o, &cause) == NULL,
	    "a bad method name is refused");
	free(cause);
	uv_run(&loop, UV_RUN_NOWAIT);
	is_int(o.ndone, 0, "a refused call never calls back");
}

static void
test_keepalive(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *u = url(base, "/echo"), *conn = NULL;
	int		    i, same = 1, reused = 1;

	memset(&req, 0, sizeof req);
	req.url = u;
	for (i = 0; i < 6; i++) {
		fetch(&req, &o);
		if (i == 0)
			conn = xstrdup(hdr(&o, "X-Conn-Id"));
		else {
			if (strcmp(conn, hdr(&o, "X-Conn-Id")) != 0)
				same = 0;
			if (o.connects != 0)
				reused = 0;
		}
		outcome_free(&o);
	}
	ok(same, "6 sequential calls: one TCP connection on the server");
	ok(reused, "calls 2-6 opened no connection of their own");
	free(conn);
	free(u);
}

/* Many connections closed by the server: fd numbers get reused while
   older poll handles are still closing. */
static void
test_fd_reuse(void)
{
	struct http_request req;
	struct outcome	    o[12];
	struct http_call   *calls[12];
	char		   *u = url(base, "/close");
	int		    i, round, good = 1, ndone;

	memset(&req, 0, sizeof req);
	req.url = u;
	for (round = 0; round < 3; round++) {
		memset(o, 0, sizeof o);
		for (i = 0; i < 12; i++)
			calls[i] = http_call_start(client, &req, done_cb, &o[i],
			    NULL);
		do {
			uv_run(&loop, UV_RUN_ONCE);
			for (ndone = 0, i = 0; i < 12; i++)
				ndone += o[i].ndone;
		} while (ndone < 12);
		for (i = 0; i < 12; i++) {
			if (calls[i] == NULL || o[i].ndone != 1 ||
			    o[i].status != 200)
				good = 0;
			outcome_free(&o[i]);
		}
	}
	ok(good, "36 calls on connections the server closes, 12 at a time");
	free(u);
}

/* --- limits and errors ------------------------------------------------ */

static void
test_errors(void)
{
	struct http_request req;
	struct outcome	    o;
	struct sockaddr_in  sin;
	socklen_t	    slen = sizeof sin;
	char		   *u;
	int		    s;

	memset(&req, 0, sizeof req);
	u = url(base, "/big?size=100000");
	req.url = u;
	req.body_max = 1000;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETOOLARGE, "body over the maximum (length known)");
	tap_diag("message: %s", o.message);
	outcome_free(&o);
	free(u);
	u = url(base, "/big?size=100000&chunked=1");
	req.url = u;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETOOLARGE, "body over the maximum (chunked)");
	ok(o.body_len == 0, "nothing of it is handed over");
	outcome_free(&o);
	req.body_max = 100000;
	fetch(&req, &o);
	ok(o.error == HTTP_OK && o.body_len == 100000,
	    "a body of exactly the maximum is fine");
	outcome_free(&o);
	free(u);
	req.body_max = 0;

	/* A bound socket that does not listen: refused, and no race. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&sin, sizeof sin);
	getsockname(s, (struct sockaddr *)&sin, &slen);
	u = xasprintf("http://127.0.0.1:%d/", ntohs(sin.sin_port));
	req.url = u;
	fetch(&req, &o);
	is_int(o.error, HTTP_ENETWORK, "connection refused: network error");
	ok(o.status == 0, "no status");
	outcome_free(&o);
	close(s);
	free(u);

	u = url(base, "/stall?s=5");
	req.url = u;
	req.timeout_ms = 300;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETIMEOUT, "a stalled server: timeout");
	outcome_free(&o);
	free(u);
	req.timeout_ms = 0;

	u = url(base, "/drip?n=40&ms=100");
	req.url = u;
	req.low_speed_limit = 1000;
	req.low_speed_time = 1;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETIMEOUT,
	    "a server below the low-speed limit: "
	    "timeout");
	outcome_free(&o);
	free(u);
}

/* --- redirects and credentials ---------------------------------------- */

static void
test_redirects(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *u, *to;
	const char	   *hdrs[] = { "X-Api-Key: k", NULL };
	const char *secret_hdrs[] = { "Authorization: Bearer t", "Cookie: c=1",
		NULL };

	memset(&req, 0, sizeof req);
	u = url(base, "/redirect?n=3");
	req.url = u;
	req.max_redirects = 5;
	fetch(&req, &o);
	ok(o.error == HTTP_OK && o.status == 200, "3 redirects followed");
	is_int(o.redirects, 3, "redirect count");
	ok(strstr(o.url, "/echo") != NULL, "effective URL is the last one");
	outcome_free(&o);
	req.max_redirects = 2;
	fetch(&req, &o);
	is_int(o.error, HTTP_EPROTOCOL, "over the redirect maximum: protocol");
	outcome_free(&o);
	req.max_redirects = 0;
	fetch(&req, &o);
	ok(o.error == HTTP_OK && o.status == 302 &&
		strstr(hdr(&o, "Location"), "/redirect?n=2") != NULL,
	    "not following: the 302 and its Location");
	outcome_free(&o);
	free(u);

	u = url(base, "/redirect?n=1&code=307");
	req.url = u;
	req.method = "POST";
	req.body = "rewound";
	req.body_len = 7;
	req.max_redirects = 3;
	fetch(&req, &o);
	ok(o.status == 200 && strcmp(hdr(&o, "X-Echo-Method"), "POST") == 0 &&
		o.body != NULL && strcmp(o.body, "rewound") == 0,
	    "307: the body from memory is sent again");
	outcome_free(&o);
	free(u);
	req.method = NULL;
	req.body = NULL;
	req.body_len = 0;

	/* Credentials: kept on the same host, dropped for another port. */
	req.username = "user";
	req.password = "pass";
	u = url(base, "/redirect?n=2");
	req.url = u;
	fetch(&req, &o);
	is_str(hdr(&o, "X-Echo-Req-authorization"), "Basic dXNlcjpwYXNz",
	    "basic auth kept across a same-host redirect");
	outcome_free(&o);
	free(u);
	to = url(base_other, "/echo");
	u = xasprintf("%s/redirect?n=1&to=%s", base, to);
	req.url = u;
	req.headers = hdrs;
	fetch(&req, &o);
	ok(o.status == 200 && strstr(o.url, to) != NULL,
	    "redirected to another host:port");
	ok(http_headers_get(&o.h, "X-Echo-Req-authorization") == NULL,
	    "credentials not forwarded to another host:port");
	is_str(hdr(&o, "X-Echo-Req-x-api-key"), "k",
	    "(other custom headers still are)");
	outcome_free(&o);

	/* The same for Authorization and Cookie headers set by hand. */
	req.username = NULL;
	req.password = NULL;
	req.headers = secret_hdrs;
	fetch(&req, &o);
	ok(o.status == 200 && strstr(o.url, to) != NULL &&
		http_headers_get(&o.h, "X-Echo-Req-authorization") == NULL &&
		http_headers_get(&o.h, "X-Echo-Req-cookie") == NULL,
	    "custom Authorization and Cookie headers not forwarded either");
	outcome_free(&o);
	free(u);
	u = url(base, "/redirect?n=1");
	req.url = u;
	fetch(&req, &o);
	ok(strcmp(hdr(&o, "X-Echo-Req-authorization"), "Bearer t") == 0 &&
		strcmp(hdr(&o, "X-Echo-Req-cookie"), "c=1") == 0,
	    "... but kept on the same host");
	outcome_free(&o);
	free(u);
	free(to);
}

/* --- cookies ---------------------------------------------------------- */

static void
test_cookies(void)
{
	struct http_request  req;
	struct outcome	     o;
	struct http_cookies *jar, *other;
	char		    *u, *dump;

	jar = http_cookies_new();
	other = http_cookies_new();
	memset(&req, 0, sizeof req);
	u = url(base, "/cookie/set?name=sid&value=abc123");
	req.url = u;
	req.cookies = jar;
	fetch(&req, &o);
	ok(o.status == 200, "a cookie is set");
	outcome_free(&o);
	free(u);
	is_int((long long)http_cookies_count(jar), 1, "the jar holds it");
	dump = http_cookies_dump(jar);
	ok(strstr(dump, "sid\tabc123") != NULL, "the dump shows it");
	free(dump);

	u = url(base, "/cookie/get");
	req.url = u;
	fetch(&req, &o);
	is_str(o.body, "sid=abc123", "a later call with the jar sends it");
	outcome_free(&o);
	req.cookies = other;
	fetch(&req, &o);
	is_str(o.body, "", "another jar does not");
	outcome_free(&o);
	req.cookies = NULL;
	fetch(&req, &o);
	is_str(o.body, "", "no jar, no cookie");
	outcome_free(&o);
	free(u);

	u = url(base, "/cookie/set?name=x&value=y&next=/cookie/get");
	req.url = u;
	req.max_redirects = 2;
	req.flags = HTTP_F_COOKIES;
	fetch(&req, &o);
	is_str(o.body, "x=y",
	    "HTTP_F_COOKIES: a cookie set on a redirect "
	    "is sent to its target");
	outcome_free(&o);
	req.flags = 0;
	fetch(&req, &o);
	is_str(o.body, "", "without the flag it is not");
	outcome_free(&o);
	free(u);

	http_cookies_clear(jar);
	is_int((long long)http_cookies_count(jar), 0, "clear empties the jar");
	http_cookies_free(jar);
	http_cookies_free(other);
}

/* --- streaming -------------------------------------------------------- */

#define STREAM_SIZE (64LL * 1024 * 1024)

struct stream {
	struct http_call *call;
	uv_timer_t	  resume;
	long long	  offset;
	size_t		  max_piece;
	int		  pieces;
	int		  pauses;
	int		  bad;
	int		  pause_every;
	int		  cancel_after;
	int		  after_cancel; /* callbacks after cancel */
	int		  cancelled;
};

static void
stream_resume_cb(uv_timer_t *t)
{
	struct stream *st = t->data;

	http_call_resume(st->call);
}

static void
stream_init(struct stream *st)
{
	memset(st, 0, sizeof *st);
	uv_timer_init(&loop, &st->resume);
	st->resume.data = st;
}

static void
stream_fini(struct stream *st)
{
	int closed = 0;

	st->resume.data = &closed;
	uv_close((uv_handle_t *)&st->resume, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

static int
check_pattern(const unsigned char *p, size_t len, long long offset)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != (unsigned char)((offset + (long long)i) % 251))
			return (0);
	}
	return (1);
}

static void
fill_pattern(unsigned char *p, size_t len, long long offset)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((offset + (long long)i) % 251);
}

static int
stream_write_cb(struct http_call *call, const void *data, size_t len, void *arg)
{
	struct stream *st = arg;

	if (st->cancelled) {
		st->after_cancel++;
		return (0);
	}
	st->pieces++;
	if (st->cancel_after > 0 && st->pieces == st->cancel_after) {
		http_call_cancel(call);
		st->cancelled = 1;
		return (0);
	}
	if (st->pause_every > 0 && st->pieces % st->pause_every == 0) {
		/* Not taken: the same bytes come again after resume. */
		st->pauses++;
		st->call = call;
		uv_timer_start(&st->resume, stream_resume_cb, 1, 0);
		return (HTTP_STREAM_PAUSE);
	}
	if (len > st->max_piece)
		st->max_piece = len;
	if (http_call_status(call) != 200 ||
	    !check_pattern(data, len, st->offset))
		st->bad++;
	st->offset += (long long)len;
	return (0);
}

static ssize_t
stream_read_cb(struct http_call *call, void *dst, size_t len, void *arg)
{
	struct stream *st = arg;
	long long      left = STREAM_SIZE - st->offset;

	st->pieces++;
	if (st->pause_every > 0 && st->pieces % st->pause_every == 0) {
		st->pauses++;
		st->call = call;
		uv_timer_start(&st->resume, stream_resume_cb, 1, 0);
		return (HTTP_STREAM_PAUSE);
	}
	if (len > st->max_piece)
		st->max_piece = len;
	if ((long long)len > left)
		len = (size_t)left;
	fill_pattern(dst, len, st->offset);
	st->offset += (long long)len;
	return ((ssize_t)len);
}

static void
test_stream_download(void)
{
	struct http_request req;
	struct outcome	    o;
	struct stream	    st;
	char		   *u;

	stream_init(&st);
	st.pause_every = 64;
	u = xasprintf("%s/big?size=%lld", base, STREAM_SIZE);
	memset(&req, 0, sizeof req);
	req.url = u;
	req.write_cb = stream_write_cb;
	req.arg = &st;
	req.body_max = 1024; /* not used for a streamed body */
	fetch(&req, &o);
	is_int(o.error, HTTP_OK, "64 MiB download: no error");
	is_int(st.offset, STREAM_SIZE, "64 MiB download: every byte, in order");
	is_int(o.received, STREAM_SIZE, "bytes received");
	is_int(st.bad, 0, "the pattern checks out");
	ok(st.pauses > 10,
	    "the write callback paused and was resumed "
	    "(%d times)",
	    st.pauses);
	ok(st.max_piece <= 64 * 1024, "the largest piece is small (%zu bytes)",
	    st.max_piece);
	ok(o.body_len == 0, "nothing collected in memory");
	outcome_free(&o);
	free(u);
	stream_fini(&st);
}

static void
test_stream_upload(void)
{
	struct http_request req;
	struct outcome	    o;
	struct stream	    st;
	char		   *u, *want;

	stream_init(&st);
	st.pause_every = 64;
	u = url(base, "/upload");
	memset(&req, 0, sizeof req);
	req.url = u;
	req.method = "PUT";
	req.read_cb = stream_read_cb;
	req.read_len = STREAM_SIZE;
	req.arg = &st;
	fetch(&req, &o);
	want = xasprintf("len=%lld ok=1", STREAM_SIZE);
	is_str(o.body, want, "64 MiB upload (known length) arrives whole");
	ok(st.pauses > 10,
	    "the read callback paused and was resumed "
	    "(%d times)",
	    st.pauses);
	ok(st.max_piece <= 1024 * 1024,
	    "the largest read is small "
	    "(%zu bytes)",
	    st.max_piece);
	is_int(o.sent, STREAM_SIZE, "bytes sent");
	outcome_free(&o);
	free(want);
	stream_fini(&st);

	/* Unknown length: chunked, with POST. */
	stream_init(&st);
	st.offset = STREAM_SIZE - 3 * 1024 * 1024 - 17;
	req.method = "POST";
	req.read_len = -1;
	fetch(&req, &o);
	ok(o.body != NULL && strncmp(o.body, "len=3145745 ok=", 15) == 0,
	    "chunked upload of unknown length arrives whole");
	outcome_free(&o);
	free(u);
	stream_fini(&st);
}

/*
 * Issue 8's shape: a download piped into an upload through a small ring,
 * with back-pressure both ways.
 */
#define PIPE_SIZE (8LL * 1024 * 1024)
#define RING	  (64 * 1024)

struct pipe {
	unsigned char	  ring[RING];
	size_t		  head, used;
	struct http_call *dl, *ul;
	int		  dl_paused, ul_paused, dl_done;
	struct outcome	  od, ou;
};

static int
pipe_write_cb(struct http_call *call, const void *data, size_t len, void *arg)
{
	struct pipe *p = arg;
	size_t	     i, tail;

	if (RING - p->used < len) {
		p->dl_paused = 1;
		return (HTTP_STREAM_PAUSE);
	}
	for (i = 0; i < len; i++) {
		tail = (p->head + p->used + i) % RING;
		p->ring[tail] = ((const unsigned char *)data)[i];
	}
	p->used += len;
	if (p->ul_paused) {
		p->ul_paused = 0;
		http_call_resume(p->ul);
	}
	return (0);
}

static ssize_t
pipe_read_cb(struct http_call *call, void *dst, size_t len, void *arg)
{
	struct pipe *p = arg;
	size_t	     i, n;

	if (p->used == 0) {
		if (p->dl_done)
			return (0);
		p->ul_paused = 1;
		return (HTTP_STREAM_PAUSE);
	}
	n = len < p->used ? len : p->used;
	for (i = 0; i < n; i++)
		((unsigned char *)dst)[i] = p->ring[(p->head + i) % RING];
	p->head = (p->head + n) % RING;
	p->used -= n;
	if (p->dl_paused) {
		p->dl_paused = 0;
		http_call_resume(p->dl);
	}
	return ((ssize_t)n);
}

/* The download is over: the upload may need waking to see the end. */
static void
pipe_dl_done_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct pipe *p = arg;

	done_cb(call, res, &p->od);
	p->dl_done = 1;
	if (p->ul_paused) {
		p->ul_paused = 0;
		http_call_resume(p->ul);
	}
}

static void
test_pipe(void)
{
	struct http_request dreq, ureq;
	struct pipe	   *p;
	char		   *du, *uu, *want;

	p = xcalloc(1, sizeof *p);
	du = xasprintf("%s/big?size=%lld", base, PIPE_SIZE);
	uu = url(base_other, "/upload");
	memset(&dreq, 0, sizeof dreq);
	dreq.url = du;
	dreq.write_cb = pipe_write_cb;
	dreq.arg = p;
	memset(&ureq, 0, sizeof ureq);
	ureq.url = uu;
	ureq.method = "PUT";
	ureq.read_cb = pipe_read_cb;
	ureq.read_len = PIPE_SIZE;
	ureq.arg = p;
	p->dl = http_call_start(client, &dreq, pipe_dl_done_cb, p, NULL);
	p->ul = http_call_start(client, &ureq, done_cb, &p->ou, NULL);
	ok(p->dl != NULL && p->ul != NULL, "pipe: both calls start");
	while (p->od.ndone == 0 || p->ou.ndone == 0)
		uv_run(&loop, UV_RUN_ONCE);
	want = xasprintf("len=%lld ok=1", PIPE_SIZE);
	ok(p->od.error == HTTP_OK && p->ou.error == HTTP_OK,
	    "pipe: both succeed");
	is_str(p->ou.body, want, "pipe: 8 MiB went through a 64 KiB ring");
	outcome_free(&p->od);
	outcome_free(&p->ou);
	free(want);
	free(du);
	free(uu);
	free(p);
}

/* Counts pieces; aborts on the first when told to. */
struct counter {
	int    pieces;
	size_t bytes;
	int    abort;
};

static int
count_write_cb(struct http_call *call, const void *data, size_t len, void *arg)
{
	struct counter *c = arg;

	c->pieces++;
	c->bytes += len;
	return (c->abort ? HTTP_STREAM_ABORT : 0);
}

static ssize_t
abort_read_cb(struct http_call *call, void *dst, size_t len, void *arg)
{
	return (HTTP_STREAM_ABORT);
}

static void
test_stream_edges(void)
{
	struct http_request req;
	struct outcome	    o;
	struct counter	    c;
	char		   *u;

	memset(&req, 0, sizeof req);
	memset(&c, 0, sizeof c);
	u = url(base, "/status?code=404");
	req.url = u;
	req.write_cb = count_write_cb;
	req.arg = &c;
	req.flags = HTTP_F_STREAM_2XX;
	fetch(&req, &o);
	ok(o.status == 404 && c.pieces == 0 && o.body != NULL &&
		strcmp(o.body, "status body") == 0,
	    "HTTP_F_STREAM_2XX: a 404 body is collected, not streamed");
	outcome_free(&o);
	req.flags = 0;
	fetch(&req, &o);
	ok(o.status == 404 && c.bytes == 11 && o.body_len == 0,
	    "without it the 404 body is streamed");
	outcome_free(&o);
	free(u);

	u = url(base, "/big?size=100000");
	req.url = u;
	c.abort = 1;
	fetch(&req, &o);
	is_int(o.error, HTTP_EABORTED, "a write callback aborts the call");
	outcome_free(&o);
	free(u);

	u = url(base, "/upload");
	memset(&req, 0, sizeof req);
	req.url = u;
	req.method = "PUT";
	req.read_cb = abort_read_cb;
	req.read_len = 1000;
	fetch(&req, &o);
	is_int(o.error, HTTP_EABORTED, "a read callback aborts the call");
	outcome_free(&o);
	free(u);

	memset(&req, 0, sizeof req);
	u = url(base, "/headers?n=20");
	req.url = u;
	fetch(&req, &o);
	ok(o.status == 200 && http_headers_get(&o.h, "x-pad-19") != NULL,
	    "20 extra headers are kept");
	outcome_free(&o);
	free(u);
	u = url(base, "/headers?n=2000");
	req.url = u;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETOOLARGE, "140 KB of headers: too large");
	outcome_free(&o);
	free(u);
}

/* --- cancellation ----------------------------------------------------- */

static void
cancel_timer_cb(uv_timer_t *t)
{
	http_call_cancel(t->data);
}

struct nested {
	struct outcome inner;
	int	       started;
};

static int
nested_write_cb(struct http_call *call, const void *data, size_t len, void *arg)
{
	struct nested	   *n = arg;
	struct http_request req;

	if (!n->started) {
		/* A call started from inside a curl callback. */
		memset(&req, 0, sizeof req);
		req.url = base;
		n->started = http_call_start(client, &req, done_cb, &n->inner,
				 NULL) != NULL;
	}
	return (0);
}

static void
test_cancel(void)
{
	struct http_request req;
	struct outcome	    o;
	struct http_call   *call;
	struct stream	    st;
	struct nested	    n;
	uv_timer_t	    t;
	char		   *u;

	memset(&req, 0, sizeof req);
	u = url(base, "/stall?s=5");
	req.url = u;
	memset(&o, 0, sizeof o);
	call = http_call_start(client, &req, done_cb, &o, NULL);
	uv_timer_init(&loop, &t);
	t.data = call;
	uv_timer_start(&t, cancel_timer_cb, 50, 0);
	wait_for(&o.ndone, 1);
	is_int(o.error, HTTP_ECANCELLED, "cancel in flight: cancelled");
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	is_int(o.ndone, 1, "cancel in flight: called back once");
	outcome_free(&o);

	memset(&o, 0, sizeof o);
	call = http_call_start(client, &req, done_cb, &o, NULL);
	http_call_cancel(call);
	is_int(o.ndone, 0, "cancel does not call back from inside itself");
	http_call_cancel(call);
	wait_for(&o.ndone, 1);
	is_int(o.error, HTTP_ECANCELLED, "cancel before the loop ran");
	uv_run(&loop, UV_RUN_NOWAIT);
	is_int(o.ndone, 1, "cancelled twice, called back once");
	outcome_free(&o);
	free(u);

	stream_init(&st);
	st.cancel_after = 3;
	u = xasprintf("%s/big?size=%d", base, 8 * 1024 * 1024);
	req.url = u;
	req.write_cb = stream_write_cb;
	req.arg = &st;
	fetch(&req, &o);
	is_int(o.error, HTTP_ECANCELLED, "cancel from the write callback");
	is_int(st.after_cancel, 0, "no write callback after cancel");
	outcome_free(&o);
	stream_fini(&st);
	free(u);

	/* A call started inside another call's write callback. */
	memset(&n, 0, sizeof n);
	u = url(base, "/big?size=1000");
	req.url = u;
	req.write_cb = nested_write_cb;
	req.arg = &n;
	fetch(&req, &o);
	wait_for(&n.inner.ndone, 1);
	ok(o.error == HTTP_OK && n.started && n.inner.error == HTTP_OK &&
		n.inner.status == 404,
	    "a call started from a stream callback runs");
	outcome_free(&o);
	outcome_free(&n.inner);
	free(u);
}

/* --- proxies ---------------------------------------------------------- */

static const char *proxy_vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
	"HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", NULL };

static void
proxy_env_clear(void)
{
	int i;

	for (i = 0; proxy_vars[i] != NULL; i++)
		unsetenv(proxy_vars[i]);
}

static long
server_stat(const char *name)
{
	struct http_request req;
	struct outcome	    o;
	char		   *u = url(base, "/stats"), *key, *p;
	long		    v = -1;

	memset(&req, 0, sizeof req);
	req.url = u;
	req.flags = HTTP_F_NOPROXY;
	fetch(&req, &o);
	key = xasprintf("%s=", name);
	if (o.body != NULL && (p = strstr(o.body, key)) != NULL)
		v = strtol(p + strlen(key), NULL, 10);
	free(key);
	outcome_free(&o);
	free(u);
	return (v);
}

static void
test_proxy(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *proxy, *u;
	long		    before;

	proxy = xasprintf("http://127.0.0.1:%d", port_proxy);
	u = url(base, "/echo");
	memset(&req, 0, sizeof req);
	req.url = u;

	setenv("http_proxy", proxy, 1);
	before = server_stat("proxied");
	fetch(&req, &o);
	ok(strcmp(hdr(&o, "X-Proxied"), "1") == 0 && o.body != NULL &&
		strncmp(o.body, "proxied GET http://127.0.0.1:", 29) == 0,
	    "http_proxy: the call goes through the proxy");
	outcome_free(&o);
	is_int(server_stat("proxied"), before + 1, "the proxy counted it");

	req.flags = HTTP_F_NOPROXY;
	fetch(&req, &o);
	ok(http_headers_get(&o.h, "X-Proxied") == NULL &&
		strcmp(hdr(&o, "X-Echo-Method"), "GET") == 0,
	    "HTTP_F_NOPROXY: direct");
	outcome_free(&o);
	req.flags = 0;

	setenv("NO_PROXY", "example.com,127.0.0.1", 1);
	fetch(&req, &o);
	ok(http_headers_get(&o.h, "X-Proxied") == NULL &&
		strcmp(hdr(&o, "X-Echo-Method"), "GET") == 0,
	    "NO_PROXY lists the host: direct");
	outcome_free(&o);

	proxy_env_clear();
	setenv("HTTP_PROXY", proxy, 1);
	fetch(&req, &o);
	ok(http_headers_get(&o.h, "X-Proxied") == NULL,
	    "upper-case HTTP_PROXY is ignored (libcurl's rule, documented)");
	outcome_free(&o);
	proxy_env_clear();
	free(u);

	if (port_tls == 0) {
		tap_skip("openssl missing: no HTTPS_PROXY test");
	} else {
		setenv("HTTPS_PROXY", proxy, 1);
		before = server_stat("tunnels");
		u = url(base_tls, "/echo");
		req.url = u;
		req.ca_file = ca_path;
		fetch(&req, &o);
		ok(o.status == 200 && server_stat("tunnels") == before + 1,
		    "HTTPS_PROXY: https goes through a CONNECT tunnel");
		outcome_free(&o);
		free(u);
		proxy_env_clear();
	}
	free(proxy);
}

/* --- TLS -------------------------------------------------------------- */

static void
test_tls(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *u;

	if (port_tls == 0) {
		tap_skip("openssl missing: no TLS tests");
		return;
	}
	memset(&req, 0, sizeof req);
	u = url(base_tls, "/echo");
	req.url = u;
	fetch(&req, &o);
	is_int(o.error, HTTP_ETLS, "a private CA is refused by default");
	outcome_free(&o);
	req.ca_file = ca_path;
	fetch(&req, &o);
	ok(o.error == HTTP_OK && o.status == 200,
	    "with its CA configured, the server is trusted");
	outcome_free(&o);
	free(u);

	u = xasprintf("https://localhost:%d/echo", port_tls);
	req.url = u;
	fetch(&req, &o);
	ok(o.error == HTTP_ETLS || o.error == HTTP_ENETWORK,
	    "a name the certificate does not carry is refused");
	outcome_free(&o);
	free(u);

	/* https never goes down to http on a redirect. */
	u = xasprintf("%s/redirect?n=1&to=%s/echo", base_tls, base);
	req.url = u;
	req.max_redirects = 2;
	fetch(&req, &o);
	ok(o.error == HTTP_EPROTOCOL, "no redirect from https to http");
	outcome_free(&o);
	free(u);
}

/* --- closing ---------------------------------------------------------- */

static void
close_cb(void *arg)
{
	(*(int *)arg)++;
}

static void
test_close(void)
{
	struct http_request req;
	struct outcome	    o;
	char		   *u = url(base, "/stall?s=5");
	int		    closed = 0;

	memset(&req, 0, sizeof req);
	req.url = u;
	memset(&o, 0, sizeof o);
	ok(http_call_start(client, &req, done_cb, &o, NULL) != NULL,
	    "a call in flight at close");
	uv_run(&loop, UV_RUN_NOWAIT);
	http_client_close(client, close_cb, &closed);
	ok(o.ndone == 0 && closed == 0, "close calls back later");
	wait_for(&closed, 1);
	is_int(o.ndone, 1, "the call in flight was called back once");
	is_int(o.error, HTTP_ECANCELLED, "... cancelled");
	outcome_free(&o);
	free(u);
	client = NULL;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test-http");
	proxy_env_clear();
	if (server_start() != 0) {
		server_stop();
		tap_bail("cannot start http-test-server.py");
	}
	uv_loop_init(&loop);
	client = http_client_new(&loop);

	test_methods();
	test_sync_failures();
	test_keepalive();
	test_fd_reuse();
	test_errors();
	test_redirects();
	test_cookies();
	test_stream_download();
	test_stream_upload();
	test_pipe();
	test_stream_edges();
	test_cancel();
	test_proxy();
	test_tls();
	test_close();

	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0,
	    "every handle closed: "
	    "uv_loop_close() == 0");
	server_stop();
	return (tap_done());
}
