/*
 * The portal: shipgated's web server (pages, /api/v1, /healthz,
 * /metrics) on libmicrohttpd, in its own threads (an internal epoll
 * thread pool), each thread with its own store connection.  It never
 * calls AWS and never touches the loop's objects but through the bridge
 * (portal-bridge.h): the engine's actions (so the engine's permission
 * checks, quorum, self-approval rule and audit apply), the AWS call
 * counters and the loop's liveness.
 *
 * Routes (web/README.md is the pages' contract):
 *	GET  /login, POST /login (user, password)	sign in
 *	POST /logout (csrf)				sign out
 *	GET  /, /runs, /runs/{id}, /apps/{name}, /audit	pages (signed in)
 *	POST /runs/{id}/approve   (csrf, env, comment)
 *	POST /runs/{id}/reject    (csrf, env, comment: required)
 *	POST /runs/{id}/authorise (csrf, comment)
 *	POST /runs/{id}/cancel    (csrf, comment, confirm)
 *	POST /runs/{id}/retry     (csrf, env, confirm)
 *	POST /releases/{id}/redeploy (csrf, env, confirm)
 *		each answers 303 to /runs/{id}?notice=... (the new run for
 *		redeploy) or re-renders the run (app) page with the error;
 *		confirm must be present (any value) for cancel, retry and
 *		redeploy, else the page asks again with the error
 *		"Please confirm."
 *	GET  /static/...				web assets
 *	GET  /api/v1/...  (docs/api.md)			JSON
 *	GET  /healthz, /metrics
 * Every POST from a browser carries the session's CSRF token (field
 * csrf; for /api/v1 with a session cookie, the X-CSRF-Token header) and,
 * when the browser sends Origin or Referer, it must be this site's.
 */
#ifndef SHIPGATE_PORTAL_H
#define SHIPGATE_PORTAL_H

#include <stdint.h>

#include <uv.h>

struct aws_context;
struct buf;
struct config;
struct engine;
struct engine_action;

/* Threads in the pool, each with its own store connection. */
#define PORTAL_THREADS 4
/* How long a request waits for the loop to take a call. */
#define PORTAL_BRIDGE_TIMEOUT_MS 10000
/* libmicrohttpd's idle timeout, which restarts on every byte: a reply
 * read too slowly ends after it.  A request's head and body have
 * deadlines of their own (portal.request_timeout, portal.body_min_rate),
 * kept by the portal's connection watch thread. */
#define PORTAL_CONNECTION_TIMEOUT_S 30
/* Memory per connection: bounds the request line and headers. */
#define PORTAL_CONNECTION_MEMORY (64 * 1024)

/* What the portal borrows from the daemon, for its whole life; used on
 * the loop only (through the bridge). */
struct portal_deps {
	uv_loop_t *loop;
	/* The one action handler (engine_act, as the control socket's). */
	int (*act)(void *, struct engine_action *, char **);
	void		   *act_arg;
	struct aws_context *aws;    /* may be NULL */
	struct engine	   *engine; /* may be NULL */
};

struct portal;

/*
 * On the loop: listens on config->listen (HTTPS when tls_certificate and
 * tls_key are set; both files are read now) and serves.  The config is
 * borrowed until portal_reconfigure gives another.  NULL with *cause
 * (caller frees) when the address cannot be bound or a file read.
 */
struct portal *portal_new(const struct portal_deps *, const struct config *,
    char **cause);
/*
 * From a request's thread, through the bridge, for the handlers
 * (portal-api.c, the pages): the engine's action (0 or an ENGINE_E*
 * code with *cause); whether the loop answers within a
 * second; /metrics' AWS and loop lines, appended to out.
 */
int  portal_action(struct portal *, struct engine_action *, char **cause);
int  portal_loop_alive(struct portal *);
void portal_loop_metrics(struct portal *, struct buf *out);
/*
 * On the loop, after a reload: requests from now on use config; old
 * (the previous one, which the caller hands over) is freed by the portal
 * once no request in flight uses it.  listen and tls need a restart.
 */
void portal_reconfigure(struct portal *, const struct config *new,
    struct config *old);
/* On the loop: the engine once there is one (a daemon that started
 * on a full disk starts its portal first, to answer /healthz). */
void portal_set_engine(struct portal *, struct engine *);
/* On the loop: stops serving, waits for the requests in flight (their
 * loop calls fail), closes the store connections; frees the portal. */
void portal_stop(struct portal *);

#endif
