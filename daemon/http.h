/*
 * Generic HTTP(S) transport: libcurl's multi interface driven by the
 * daemon's libuv loop (one uv_poll per socket curl uses, one uv_timer for
 * curl's timeouts).  Used by the AWS client, the checks and image
 * promotion; nothing here knows about AWS.
 *
 * Life cycle.  One struct http_client per loop.  http_client_new()
 * initialises libcurl itself the first time it runs (curl_global_init,
 * once per process, guarded; main need not call it, and nobody calls
 * curl_global_cleanup: it is left to process exit).  It must be called
 * before any thread other than the loop's uses libcurl.
 * http_client_close() cancels every call still in flight (each gets its
 * done callback with HTTP_ECANCELLED), closes every libuv handle and frees
 * the client in the close callbacks, then calls its own callback: after
 * that the loop holds nothing of ours and uv_loop_close() succeeds.
 *
 * Calls.  http_call_start() either fails synchronously (returns NULL, sets
 * *cause, never calls the done callback) or calls the done callback
 * exactly once, always from the loop and never from inside
 * http_call_start(), http_call_cancel() or http_call_resume().  The call
 * handle is valid until the done callback returns.  The request is copied:
 * the caller may free it (and its strings) when http_call_start returns;
 * only `arg`, the callbacks and `cookies` must stay valid.
 *
 * Security.  TLS peer and host name verification are always on; there is
 * no option to turn them off (ca_file adds a private CA for tests and
 * private endpoints).  Credentials given as username/password are sent only
 * to the host, port and scheme of the first URL: libcurl drops them when a
 * redirect goes elsewhere (CURLOPT_UNRESTRICTED_AUTH stays off), and so
 * are Cookie or Authorization headers the caller passes in `headers`.
 * Redirects stay on http/https, and a chain that starts on https never
 * goes down to http.  HTTP/1.1 is used for every call (predictable pause
 * and flow control with streamed bodies).
 *
 * Proxies come from the environment, with libcurl's rules: `https_proxy`
 * or `HTTPS_PROXY` for https URLs, `http_proxy` (lower case ONLY: libcurl
 * ignores upper-case HTTP_PROXY on purpose, since a CGI environment lets a
 * client's "Proxy:" header set it) for http URLs, `all_proxy`/`ALL_PROXY`
 * for both, and `no_proxy`/`NO_PROXY` (comma-separated host names,
 * domains, addresses or "*") to go direct.  HTTP_F_NOPROXY ignores them all
 * for one call (EC2 instance metadata must never go through a proxy).
 */
#ifndef SHIPGATE_HTTP_H
#define SHIPGATE_HTTP_H

#include <sys/types.h>

#include <stddef.h>

#include <uv.h>

#include "buf.h"

struct http_client;
struct http_call;
struct http_cookies;

/* Errors, classified.  An HTTP status (404, 503) is not an error here. */
#define HTTP_OK		0
#define HTTP_ENETWORK	(-1) /* DNS, refused, reset, cut short */
#define HTTP_ETIMEOUT	(-2) /* connect, total or low-speed limit */
#define HTTP_ETLS	(-3) /* handshake, certificate, host name */
#define HTTP_ETOOLARGE	(-4) /* body over body_max, huge headers */
#define HTTP_EABORTED	(-5) /* a read or write callback aborted */
#define HTTP_ECANCELLED (-6) /* http_call_cancel, http_client_close */
#define HTTP_EPROTOCOL	(-7) /* bad reply, too many redirects, ... */
#define HTTP_EINVAL	(-8) /* a bad request (synchronous only) */
#define HTTP_EINTERNAL	(-9) /* anything else libcurl reports */

const char *http_strerror(int); /* "network", "timeout", ... */

/* Stream callbacks return a byte count (read), 0 (write: taken) or: */
#define HTTP_STREAM_ABORT (-1) /* fail the call with HTTP_EABORTED */
#define HTTP_STREAM_PAUSE (-2) /* stop until http_call_resume() */

/*
 * Supplies the request body: copy up to len bytes into dst and return how
 * many (0 at the end), or HTTP_STREAM_PAUSE (nothing taken; called again
 * after http_call_resume) or HTTP_STREAM_ABORT.
 */
typedef ssize_t (
    *http_read_cb)(struct http_call *, void *dst, size_t len, void *arg);
/*
 * Takes a piece of the response body (of the final response: bodies of
 * redirects libcurl follows are not passed on).  Return 0 when taken,
 * HTTP_STREAM_PAUSE when not taken (the same bytes come again after
 * http_call_resume), or HTTP_STREAM_ABORT.  Pieces are small (libcurl's
 * buffer, 16 KiB by default) so memory stays bounded; http_call_status
 * tells what the response is.
 */
typedef int (*http_write_cb)(struct http_call *, const void *data, size_t len,
    void *arg);

/* One header of a response, as received (value trimmed). */
struct http_header {
	char *name;
	char *value;
};

struct http_headers {
	struct http_header *v;
	size_t		    n;
	size_t		    bytes; /* bounded: HTTP_HEADERS_MAX */
};

#define HTTP_HEADERS_MAX	     (64 * 1024)
#define HTTP_BODY_MAX_DEFAULT	     (1024 * 1024)
#define HTTP_CONNECT_TIMEOUT_DEFAULT 10000 /* ms */

/* Case-insensitive lookup: the first value, or the nth (from 0); NULL. */
const char *http_headers_get(const struct http_headers *, const char *);
const char *http_headers_get_nth(const struct http_headers *, const char *,
    size_t);

/* Request flags. */
#define HTTP_F_COOKIES 0x1 /* cookie engine for this call's chain */
#define HTTP_F_NOPROXY 0x2 /* ignore proxy environment variables */
#define HTTP_F_STREAM_2XX \
	0x4 /* write_cb gets only 2xx bodies; others
					   are collected into result body */
#define HTTP_F_SECRET_URL \
	0x8 /* the URL is a secret (a webhook's
					   token): logged as "(secret URL)" */

struct http_request {
	const char *method; /* NULL: "GET"; upper-case token */
	const char *url;    /* http:// or https:// */
	/* "Name: value" strings, NULL-terminated; "Name:" drops a header
	   libcurl would add (e.g. "Expect:"). */
	const char *const *headers;

	/* Request body: from memory (copied), or streamed by read_cb. */
	const void  *body;
	size_t	     body_len;
	http_read_cb read_cb;
	long long    read_len; /* read_cb's total, or -1: chunked */

	/* Response body: collected (at most body_max bytes, 0: default)
	   or streamed to write_cb. */
	size_t	      body_max;
	http_write_cb write_cb;

	void *arg; /* for read_cb, write_cb */

	/* Time paused by a stream callback counts toward timeout_ms; a
	   paused download is exempt from the low-speed check. */
	long connect_timeout_ms; /* 0: the default */
	long timeout_ms;	 /* whole call; 0: none */
	long low_speed_limit;	 /* bytes/s, with: */
	long low_speed_time;	 /* seconds below it; 0: off */

	int max_redirects; /* 0: redirects are not followed */

	const char	    *username; /* basic auth, copied and wiped */
	const char	    *password;
	const char	    *ca_file; /* extra trust anchor (PEM) or NULL */
	struct http_cookies *cookies; /* jar shared across calls, or NULL */
	int		     flags;   /* HTTP_F_* */
};

struct http_timings { /* microseconds from the start */
	long long dns_us;
	long long connect_us;
	long long tls_us;
	long long first_byte_us;
	long long total_us;
};

/*
 * What a call produced.  Owned by the call and valid only during the done
 * callback; take the body with buf_take(&res->body, &len) to keep it.
 */
struct http_result {
	int		    error;	   /* HTTP_OK or HTTP_E* */
	const char	   *message;	   /* human-readable; "ok" on success */
	long		    status;	   /* final status, 0 if none arrived */
	struct http_headers headers;	   /* of the final response, in order */
	struct buf	    body;	   /* empty when streamed */
	const char	   *effective_url; /* last URL used ("" if unknown) */
	struct http_timings timings;
	long		    redirects; /* redirects followed */
	long		    connects;  /* new connections (0: one was reused) */
	long long	    bytes_sent;	    /* request body bytes */
	long long	    bytes_received; /* response body bytes */
	int		    curl_code;	    /* CURLcode, for debugging */
};

typedef void (
    *http_done_cb)(struct http_call *, struct http_result *, void *arg);
typedef void (*http_close_cb)(void *arg);

struct http_client *http_client_new(uv_loop_t *);
/* Asynchronous; see above.  The client must not be used afterwards. */
void http_client_close(struct http_client *, http_close_cb, void *arg);

/* NULL and *cause (caller frees) on a bad request or a closing client. */
struct http_call *http_call_start(struct http_client *,
    const struct http_request *, http_done_cb, void *arg, char **cause);
/*
 * Stops the call: none of its read/write callbacks runs after this
 * returns, and its done callback comes on a later loop iteration with
 * HTTP_ECANCELLED (even if the transfer had just completed).  Calling it
 * again, or from the call's own stream callbacks, is fine.
 */
void http_call_cancel(struct http_call *);
/*
 * Resumes a call paused by HTTP_STREAM_PAUSE, in both directions, on the
 * next loop iteration (so the stream callbacks are never re-entered from
 * here).  Harmless when the call is not paused.
 */
void http_call_resume(struct http_call *);
/* While the call runs: the status of the response so far. */
long http_call_status(const struct http_call *);

/*
 * A cookie jar kept in memory across calls (the checks of one run log in
 * once and reuse the session).  Calls that name the jar read and update
 * it; it follows libcurl's cookie rules (domain, path, secure, expiry).
 * Free it only when no call using it is in flight.
 */
struct http_cookies *http_cookies_new(void);
void		     http_cookies_free(struct http_cookies *);
/* Number of cookies held, and all of them as Netscape cookie-file lines
   (caller frees); for tests and debugging: values may be secrets. */
size_t http_cookies_count(struct http_cookies *);
char  *http_cookies_dump(struct http_cookies *);
void   http_cookies_clear(struct http_cookies *);

/*
 * SMTP through the same multi handle (one message, libcurl's smtp:// and
 * smtps://): the same contract as http_call_start (synchronous failure
 * or exactly one done callback; the request is copied).  In the result,
 * status is the server's last SMTP reply code.  With smtp:// and
 * starttls, STARTTLS is required (the call fails rather than send in
 * clear); TLS verification is always on.  The password is copied and
 * wiped; nothing here logs it.
 */
struct http_smtp_request {
	const char	  *url;	      /* smtp://host:port or smtps:// */
	const char	  *mail_from; /* addr-spec (MAIL FROM) */
	const char *const *rcpt;      /* addr-specs, NULL-terminated */
	const void	  *body;      /* the message, CRLF ends */
	size_t		   body_len;
	const char	  *username; /* or NULL: no AUTH */
	const char	  *password;
	int		   starttls;
	const char	  *ca_file;	       /* extra trust anchor or NULL */
	long		   connect_timeout_ms; /* 0: the default */
	long		   timeout_ms;	       /* 0: none */
};
struct http_call *http_smtp_start(struct http_client *,
    const struct http_smtp_request *, http_done_cb, void *arg, char **cause);

#endif
