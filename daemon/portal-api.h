/*
 * The portal's JSON API (/api/v1, docs/api.md), /healthz and
 * /metrics, and the request/reply shapes portal.c hands its handlers.
 *
 * /api/v1 (a signed-in session or "Authorization: Bearer TOKEN"):
 *	GET  /api/v1/apps		-> {apps: [{name, environments:
 *		[{name, approvers, gate, required_approvals, deployed:
 *		{version, release, run, at} | null}]}]}
 *	GET  /api/v1/runs?app=&env=&status=&version=&author=&limit=&before=
 *		-> {runs: [...], next_before}	(shapes as shipgatectl's)
 *	GET  /api/v1/runs/{id}		-> {run: {..., stages, approvals,
 *		audit}}
 *	POST /api/v1/runs/{id}/approve	 {"env", "comment"}
 *	POST /api/v1/runs/{id}/reject	 {"env", "comment"}
 *	POST /api/v1/runs/{id}/authorise {"comment"}
 *	POST /api/v1/runs/{id}/cancel	 {"comment"}
 *	POST /api/v1/runs/{id}/retry	 {"env"}
 *	POST /api/v1/releases/{id}/redeploy {"env"}	-> {run}
 *	GET  /api/v1/me			-> {user, groups, csrf}
 *	GET  /api/v1/apps/{app}/stats?days=N -> the delivery measures
 *		(portal-stats.h)
 * Errors: {"error": NAME, "detail": SENTENCE} with 400 (bad_request,
 * invalid), 401 (unauthenticated), 403 (forbidden), 404 (not_found), 409
 * (conflict), 503 (store, closing, busy).  Times are ISO 8601 UTC.
 */
#ifndef SHIPGATE_PORTAL_API_H
#define SHIPGATE_PORTAL_API_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "portal-http.h"

struct config;
struct portal;
struct store;

/* One request as portal.c parsed it. */
struct portal_req {
	struct portal		 *portal;
	const struct config	 *config;
	struct store		 *store;  /* this thread's */
	const char		 *method; /* "GET", "POST", ... */
	const struct portal_path *path;
	const struct portal_form *query;
	const char		 *body; /* NUL-terminated */
	size_t			  body_len;
	const char		 *user; /* NULL: nobody signed in */
	const char		 *csrf; /* the session's, or NULL */
	int64_t			  now;
	int64_t			  id; /* the route's {id}, or 0 */
};

/* What to answer; portal.c adds the security headers. */
struct portal_reply {
	int	    status;
	const char *content_type; /* static string */
	struct buf  body;
	char	   *location; /* for 3xx; freed by portal.c */
	char	   *set_cookie;
	int	    cacheable; /* static assets */
};

/* The engine's actions are struct engine_action (engine.h); portal_action
 * (portal.h) runs one on the loop through the bridge. */

/* An error reply {"error", "detail"} with the status. */
void portal_api_error(struct portal_reply *, int status, const char *error,
    const char *detail);
/* The HTTP status for an ENGINE_E* code, and its name. */
int portal_api_status(int code);

/*
 * The /api/v1 handlers, called by portal.c's route table once the path
 * matched (q->id is the path's {id}) and the caller is signed in and,
 * for a POST from a browser, proved its CSRF token.
 */
void portal_api_apps(const struct portal_req *, struct portal_reply *);
void portal_api_me(const struct portal_req *, struct portal_reply *);
void portal_api_runs(const struct portal_req *, struct portal_reply *);
void portal_api_run(const struct portal_req *, struct portal_reply *);
void portal_api_run_action(const struct portal_req *, struct portal_reply *);
void portal_api_redeploy(const struct portal_req *, struct portal_reply *);
/* GET /api/v1/stacks; POST /api/v1/apps/APP/environments/ENV/VERB
 * (continue-rollback, delete-failed-stack): stuck stacks. */
void portal_api_stacks(const struct portal_req *, struct portal_reply *);
void portal_api_app_stats(const struct portal_req *, struct portal_reply *);
/* GET /api/v1/apps/APP/freezes[?env=ENV]: shipgatectl freezes's list. */
void portal_api_app_freezes(const struct portal_req *, struct portal_reply *);
void portal_api_stack_action(const struct portal_req *, struct portal_reply *);
void portal_healthz(const struct portal_req *, struct portal_reply *);
void portal_metrics(const struct portal_req *, struct portal_reply *);

/* Reply bodies are at most this big. */
#define PORTAL_REPLY_MAX (16 * 1024 * 1024)

#endif
