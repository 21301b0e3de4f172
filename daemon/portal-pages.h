/*
 * The portal's HTML pages: each function renders one whole page (layout,
 * header with the Sign out form, the page's body) from the store into
 * out, through the template engine (tmpl.h), so every value from a
 * release, a user or AWS is HTML-escaped.  The templates are web/NAME.html,
 * compiled into the daemon by web/embed.sh; the names the browser tests
 * rely on are in web/README.md.
 *
 * Threading: called on the portal thread with that thread's own store
 * connection (page_ctx.store); nothing here touches the loop or AWS.
 *
 * Return value: the HTTP status to send with the page (200, 400, 404...),
 * always with a complete page in out; or a negative value when the
 * store failed (or the page outgrew out's maximum): out then holds
 * nothing useful, *cause (if cause is not NULL; the caller frees) says
 * why, and the caller sends pages_error(ctx, 500, ...) instead.  out must
 * be initialised by the caller (buf_init with a maximum, 4 MiB is ample);
 * the functions append to it.
 *
 * Forms on the pages, all method POST, all with the hidden field `csrf`
 * (ctx->csrf) and handled by the portal server (portal.c):
 *	POST /login		user, password (and csrf when ctx->csrf is
 *				set)
 *	POST /logout		csrf
 *	POST /runs/{id}/approve	csrf, env, comment (optional)
 *	POST /runs/{id}/reject	csrf, env, comment (required; a reject at
 *				the promotion gate carries the stage's env
 *				too)
 *	POST /runs/{id}/authorise  csrf, env, comment (optional), confirm=yes
 *	POST /runs/{id}/cancel	csrf, comment (the reason, optional),
 *				confirm=yes
 *	POST /runs/{id}/retry	csrf, env, confirm=yes
 *	POST /releases/{id}/redeploy  csrf, env, confirm=yes
 * The Confirm checkboxes are `required` (the browser asks first); one
 * not ticked is the server's to refuse: it renders the page again with
 * its error.  After an action the server redirects (303) to the run
 * page or renders it with `notice`/`error` set: both are shown escaped,
 * error in role=alert.  The approve and reject buttons share one form
 * (reject by formaction), so one Comment serves both.
 *
 * Which buttons show is decided with the config's groups, as the engine
 * decides (perm.h): approvers of an environment, its gate group,
 * operators (cancel, retry, redeploy).  Showing a button grants nothing:
 * the server and the engine check again.
 */
#ifndef SHIPGATE_PORTAL_PAGES_H
#define SHIPGATE_PORTAL_PAGES_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct store;

/* What every page needs, filled by the portal server per request. */
struct page_ctx {
	const struct config *config;
	struct store	    *store;	 /* the portal thread's own
						   connection */
	const char	    *user;	 /* signed-in user, or NULL */
	const char	    *csrf;	 /* token for forms, or NULL */
	int64_t		     now_ms;	 /* unix ms, UTC */
	int		     stats_days; /* ?days= of the app page and
						   the dashboard (30, 90, 365);
						   0: PORTAL_STATS_DAYS */
};

/*
 * The history page's query string, as received (URL-decoded, not
 * validated: NULL or "" means "no filter").  status is a run status name
 * (docs/states.md); from and to are dates YYYY-MM-DD (UTC; `to` is
 * inclusive) or full ISO 8601 times; before/after are the cursors of the
 * Older/Newer links (run ids; 0: none).  A value that does not parse
 * makes the page 400 with the reason in role=alert, the form kept.
 */
struct page_runs_query {
	const char *app;
	const char *env;
	const char *status;
	const char *version;
	const char *author;
	const char *from;
	const char *to;
	int64_t	    before; /* ?before=ID: runs older than ID */
	int64_t	    after;  /* ?after=ID: the page newer than ID */
};

/* GET /login (and POST /login that failed: error in role=alert). */
int pages_login(const struct page_ctx *, const char *error, struct buf *out,
    char **cause);
/* GET /: "Waiting for you" then each configured app's environments. */
int pages_dashboard(const struct page_ctx *, struct buf *out, char **cause);
/* GET /runs?app=&env=&status=&version=&author=&from=&to=&before=&after= */
int pages_runs(const struct page_ctx *, const struct page_runs_query *,
    struct buf *out, char **cause);
/* GET /runs/{id}: 404 page when there is no such run.  notice and error
 * (may be NULL) report the outcome of an action. */
int pages_run(const struct page_ctx *, int64_t run_id, const char *notice,
    const char *error, struct buf *out, char **cause);
/* GET /apps/{name}: 404 page when the app is neither configured nor
 * recorded. */
int pages_app(const struct page_ctx *, const char *app, const char *notice,
    const char *error, struct buf *out, char **cause);
/* GET /audit?before=ID: 100 entries a page, newest first. */
int pages_audit(const struct page_ctx *, int64_t before, struct buf *out,
    char **cause);
/*
 * Any error page (400, 403, 404, 405, 413, 500, ...): the status's name
 * as heading and message (escaped) in role=alert.  Returns status, or a
 * negative value only if out is full.  Needs no store (ctx->store may be
 * NULL, ctx->config too).  For 403 CSRF refusals pass the message
 * "Invalid or missing CSRF token." (web/README.md).
 */
int pages_error(const struct page_ctx *, int status, const char *message,
    struct buf *out);

/*
 * The history's table is kept per thread (a few queries' worth) with
 * the database's version, and reused until the database changes.  A
 * thread's cache is freed when the thread exits; pages_cache_clear
 * frees the calling thread's now (tests).
 */
void pages_cache_clear(void);

/* The static files under /static/ (portal.css, portal.js). */
struct web_asset {
	const char *path;	  /* "/static/portal.css" */
	const char *content_type; /* "text/css; charset=utf-8" */
	const char *data;
	size_t	    size;
	const char *etag; /* quoted, from the content's hash */
};
/* The asset at path ("/static/portal.css"), or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
