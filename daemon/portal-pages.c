/*
 * The portal's HTML pages (see portal-pages.h): each renderer reads the
 * store, builds a tmpl_data tree and renders its template (web/NAME.html)
 * into a body, then the layout around it.  Values go into the tree as
 * plain text, so the template engine escapes them all; the only markup
 * handed over with tmpl_set_markup is a body this file rendered.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "diff-text.h"
#include "mail.h"
#include "perm.h"
#include "portal-pages.h"
#include "portal-stats.h"
#include "run-json.h"
#include "stats.h"
#include "store.h"
#include "tmpl.h"
#include "web-files.h"
#include "window.h"
#include "xmalloc.h"

#define PAGES_RUNS_LIMIT      50
#define PAGES_AUDIT_LIMIT     100
#define PAGES_RUN_AUDIT_LIMIT 500
#define PAGES_RELEASES_LIMIT  50
#define PAGES_DETAIL_MAX      64 /* property changes shown per resource */

/* --- Helpers ---------------------------------------------------------------- */

/*
 * A time as <time>'s parts under name: iso (datetime), title, text.  The
 * text is to the minute, the title to the second; with seconds, both are
 * to the second.
 */
static void
pages_time_at(struct tmpl_data *d, const char *name, int64_t ms, int seconds)
{
	struct tmpl_data *t;
	struct tm	  tm;
	time_t		  secs;
	char		  iso[32], text[32], title[48];

	if (ms <= 0)
		return;
	secs = (time_t)(ms / 1000);
	if (gmtime_r(&secs, &tm) == NULL)
		return;
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (seconds) {
		strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
		snprintf(title, sizeof title, "%s", text);
	} else {
		strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
		strftime(title, sizeof title, "UTC %Y-%m-%d %H:%M:%S", &tm);
	}
	t = tmpl_object(d, name);
	tmpl_set(t, "iso", iso);
	tmpl_set(t, "title", title);
	tmpl_set(t, "text", text);
}

static void
pages_time(struct tmpl_data *d, const char *name, int64_t ms)
{
	pages_time_at(d, name, ms, 0);
}

/*
 * The next opening named in an awaiting_window stage's reason (the
 * engine writes it with window_format, in the environment's zone): the
 * text around it and the instant, so the page has it as <time> that its
 * script shows in the viewer's zone; the environment's text stays for a
 * browser without JavaScript.
 */
static void
pages_window_next(struct tmpl_data *d, const char *reason)
{
	struct tmpl_data *o;
	const char	 *when;
	struct tm	  tm;
	time_t		  secs;
	int64_t		  ms;
	size_t		  len, head;
	char		  iso[32];

	if (reason == NULL || (when = strstr(reason, MAIL_WINDOW_WHEN)) == NULL)
		return;
	head = (size_t)(when - reason) + strlen(MAIL_WINDOW_WHEN);
	if (window_parse_format(reason + head, &ms, &len) != 0)
		return;
	secs = (time_t)(ms / 1000);
	if (gmtime_r(&secs, &tm) == NULL)
		return;
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = tmpl_object(d, "window_next");
	tmpl_setn(o, "window_before", reason, head);
	tmpl_set(o, "window_iso", iso);
	tmpl_setn(o, "window_text", reason + head, len);
	tmpl_set(o, "window_after", reason + head + len);
}

/* "2 h 5 min", "3 min 20 s", "12 s", "0.4 s". */
static void
pages_duration(struct tmpl_data *d, const char *name, int64_t ms)
{
	int64_t s;

	if (ms < 0)
		return;
	s = ms / 1000;
	if (ms < 1000)
		tmpl_setf(d, name, "%.1f s", (double)ms / 1000.0);
	else if (s < 60)
		tmpl_setf(d, name, "%lld s", (long long)s);
	else if (s < 3600)
		tmpl_setf(d, name, "%lld min %lld s", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		tmpl_setf(d, name, "%lld h %lld min", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		tmpl_setf(d, name, "%lld d %lld h", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

static int
pages_fail(char **cause, int rc, char *why)
{
	if (cause != NULL) {
		*cause = why;
		why = NULL;
	}
	free(why);
	return (rc < 0 ? rc : -1);
}

/* Appends "name=value" percent-encoded to a query string. */
static void
pages_query_add(struct buf *q, const char *name, const char *value)
{
	static const char    hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	if (value == NULL || *value == '\0')
		return;
	buf_appends(q, q->len > 0 ? "&" : "");
	buf_appends(q, name);
	buf_appends(q, "=");
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			buf_append(q, p, 1);
		else
			buf_printf(q, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/*
 * Renders the layout with body template `template` (and d) inside it,
 * into out.  Returns status, or a negative value with *cause.
 */
static int
pages_render(const struct page_ctx *ctx, const char *template,
    const char *title, const char *nav, struct tmpl_data *d, const char *notice,
    const char *error, int status, struct buf *out, char **cause)
{
	struct tmpl_data *l;
	char		 *why = NULL, navname[32];
	int		  rc;

	if (ctx->user != NULL)
		tmpl_set(d, "user", ctx->user);
	if (ctx->csrf != NULL)
		tmpl_set(d, "csrf", ctx->csrf);
	l = tmpl_new();
	tmpl_set(l, "title", title);
	tmpl_set(l, "page", template);
	if (ctx->user != NULL)
		tmpl_set(l, "user", ctx->user);
	if (ctx->csrf != NULL)
		tmpl_set(l, "csrf", ctx->csrf);
	if (nav != NULL) {
		snprintf(navname, sizeof navname, "nav_%s", nav);
		tmpl_set_bool(l, navname, 1);
	}
	tmpl_set(l, "notice", notice);
	tmpl_set(l, "error", error);
	tmpl_set_template(l, "body", template, d);
	rc = tmpl_render("layout.html", l, out, &why);
	tmpl_free(l);
	if (rc != 0)
		return (pages_fail(cause, rc, why));
	return (status);
}

static const char *
pages_status_text(int status)
{
	switch (status) {
	case 400:
		return ("Bad request");
	case 401:
		return ("Sign-in required");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not found");
	case 405:
		return ("Method not allowed");
	case 409:
		return ("Conflict");
	case 413:
		return ("Request too large");
	case 429:
		return ("Too many requests");
	case 500:
		return ("Internal error");
	case 503:
		return ("Unavailable");
	}
	return ("Error");
}

/* The environments of every configured app, each name once. */
static void
pages_env_options(const struct config *c, struct tmpl_data *d, const char *list,
    const char *selected)
{
	struct tmpl_data *o;
	size_t		  i, j, k;
	int		  seen, found = 0;

	for (i = 0; c != NULL && i < c->napps; i++) {
		for (j = 0; j < c->apps[i].nenvironments; j++) {
			const char *name = c->apps[i].environments[j].name;

			seen = 0;
			for (k = 0; k < i && !seen; k++)
				seen = config_find_environment(&c->apps[k],
					   name) != NULL;
			for (k = 0; k < j && !seen; k++)
				seen = strcmp(c->apps[i].environments[k].name,
					   name) == 0;
			if (seen)
				continue;
			o = tmpl_append(d, list);
			tmpl_set(o, "value", name);
			if (selected != NULL && strcmp(selected, name) == 0) {
				tmpl_set_bool(o, "selected", 1);
				found = 1;
			}
		}
	}
	if (selected != NULL && *selected != '\0' && !found) {
		o = tmpl_append(d, list);
		tmpl_set(o, "value", selected);
		tmpl_set_bool(o, "selected", 1);
	}
}

/* --- Sign-in and errors -------------------------------------------------------- */

int
pages_login(const struct page_ctx *ctx, const char *error, struct buf *out,
    char **cause)
{
	struct page_ctx	  anon = *ctx;
	struct tmpl_data *d;
	int		  rc;

	anon.user = NULL; /* no header forms on the sign-in page */
	d = tmpl_new();
	tmpl_set_bool(d, "oidc",
	    ctx->config != NULL && ctx->config->oidc.issuer != NULL);
	rc = pages_render(&anon, "login.html", "Sign in", NULL, d, NULL, error,
	    200, out, cause);
	tmpl_free(d);
	return (rc);
}

int
pages_error(const struct page_ctx *ctx, int status, const char *message,
    struct buf *out)
{
	struct tmpl_data *d;
	char		 *cause = NULL, title[64];
	int		  rc;

	d = tmpl_new();
	snprintf(title, sizeof title, "%d %s", status,
	    pages_status_text(status));
	tmpl_set(d, "heading", title);
	tmpl_set(d, "message", message);
	tmpl_set_bool(d, "signin", status == 401);
	rc = pages_render(ctx, "error.html", title, NULL, d, NULL, NULL, status,
	    out, &cause);
	free(cause);
	tmpl_free(d);
	return (rc);
}

static int pages_stats(const struct page_ctx *, const struct config_app *,
    const char *, struct tmpl_data *, char **);

/* --- Dashboard ------------------------------------------------------------------ */

/* What `user` may do now about an active stage: "approve ENV",
 * "authorise promotion", or NULL. */
static const char *
pages_waiting_action(const struct page_ctx *ctx,
    const struct store_active_stage	   *a)
{
	if (ctx->user == NULL || a->decided)
		return (NULL);
	if (a->status == STORE_STAGE_AWAITING_APPROVAL &&
	    perm_may_approve(ctx->config, ctx->user, a->app, a->environment,
		a->author, NULL))
		return ("approve");
	if (a->status == STORE_STAGE_AWAITING_GATE &&
	    perm_may_authorise(ctx->config, ctx->user, a->app, a->environment,
		NULL))
		return ("authorise");
	return (NULL);
}

/* The environments of a configured app: what runs there, what is on
 * its way. */
/*
 * An environment held by its stuck stack (engine-stack.c): marked in its
 * row ("stuck"), and listed in "holds" with what happened and, for an
 * operator, the form of the way out (continue-rollback, or
 * delete-failed-stack), a comment required.
 */
static int
pages_env_stuck(const struct page_ctx *ctx, const struct config_app *app,
    const char *env, struct tmpl_data *d, struct tmpl_data *row, char **cause)
{
	struct store_stack_hold *h = NULL;
	struct tmpl_data	*o, *f;
	char			*why = NULL;
	int			 rc, cont;

	rc = store_stack_hold_get(ctx->store, app->name, env, &h, &why);
	if (rc == STORE_ENOTFOUND) {
		free(why);
		return (0);
	}
	if (rc != 0)
		return (pages_fail(cause, rc, why));
	o = tmpl_object(row, "stuck");
	tmpl_set(o, "stack_status", h->stack_status);
	o = tmpl_append(d, "holds");
	tmpl_set(o, "hold_app", app->name);
	tmpl_set(o, "hold_env", env);
	tmpl_set(o, "stack", h->stack);
	tmpl_set(o, "stack_status", h->stack_status);
	tmpl_set(o, "hold_reason", h->reason);
	pages_time(o, "since", h->since);
	if (h->run_id != 0)
		tmpl_set_int(o, "hold_run", h->run_id);
	if (h->action != NULL) {
		f = tmpl_object(o, "under_way");
		tmpl_set(f, "action", h->action);
		tmpl_set(f, "action_by", h->action_by);
		tmpl_set(f, "action_comment", h->action_comment);
	} else if (ctx->user != NULL && perm_is_operator(ctx->config, ctx->user,
					    "continue rollbacks", NULL)) {
		cont = strcmp(h->stack_status, "UPDATE_ROLLBACK_FAILED") == 0;
		f = tmpl_object(o, "form");
		tmpl_set(f, "verb",
		    cont ? "continue-rollback" : "delete-failed-stack");
		tmpl_set(f, "label",
		    cont ? "Continue the rollback" : "Delete the failed stack");
		tmpl_set_bool(f, "skip", cont);
	}
	store_stack_hold_free(h);
	return (0);
}

static int
pages_env_rows(const struct page_ctx *ctx, const struct config_app *app,
    const struct store_active_stages *active, struct tmpl_data *d, char **cause)
{
	struct store_deployment *dep;
	struct tmpl_data	*row, *o;
	int64_t			 app_id = 0;
	char			*why = NULL;
	size_t			 i, j;
	int			 rc;

	rc = store_app_id(ctx->store, app->name, &app_id, &why);
	if (rc != 0 && rc != STORE_ENOTFOUND)
		return (pages_fail(cause, rc, why));
	free(why);
	why = NULL;
	tmpl_list(d, "envs");
	tmpl_list(d, "holds");
	for (i = 0; i < app->nenvironments; i++) {
		const struct config_environment *ce = &app->environments[i];

		row = tmpl_append(d, "envs");
		tmpl_set(row, "env", ce->name);
		dep = NULL;
		if (app_id != 0) {
			rc = store_newest_deployment(ctx->store, app_id,
			    ce->name, &dep, &why);
			if (rc != 0 && rc != STORE_ENOTFOUND)
				return (pages_fail(cause, rc, why));
			free(why);
			why = NULL;
		}
		if (dep != NULL) {
			o = tmpl_object(row, "deployed");
			tmpl_set(o, "version", dep->version);
			tmpl_set_int(o, "run_id", dep->run_id);
			tmpl_set_int(o, "release_id", dep->release_id);
			pages_time(o, "at", dep->deployed_at);
			store_deployment_free(dep);
		}
		for (j = 0; active != NULL && j < active->n; j++) {
			const struct store_active_stage *a = &active->items[j];

			if (strcmp(a->app, app->name) != 0 ||
			    strcmp(a->environment, ce->name) != 0 ||
			    a->status == STORE_STAGE_PENDING ||
			    store_stage_status_finished(a->status))
				continue;
			o = tmpl_append(row, "active");
			tmpl_set_int(o, "run_id", a->run_id);
			tmpl_set(o, "version", a->version);
			tmpl_set(o, "status",
			    store_stage_status_name(a->status));
		}
		if ((rc = pages_env_stuck(ctx, app, ce->name, d, row, cause)) !=
		    0)
			return (rc);
	}
	return (0);
}

int
pages_dashboard(const struct page_ctx *ctx, struct buf *out, char **cause)
{
	const struct config	   *c = ctx->config;
	struct store_active_stages *active = NULL;
	struct tmpl_data	   *d, *o, *app;
	const char		   *what;
	char			   *why = NULL;
	size_t			    i;
	int			    rc;

	d = tmpl_new();
	if ((rc = store_active_stages(ctx->store, ctx->user, &active, &why)) !=
	    0) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	tmpl_list(d, "waiting");
	for (i = 0; i < active->n; i++) {
		const struct store_active_stage *a = &active->items[i];

		if ((what = pages_waiting_action(ctx, a)) == NULL)
			continue;
		o = tmpl_append(d, "waiting");
		tmpl_set_int(o, "run_id", a->run_id);
		tmpl_set(o, "app", a->app);
		tmpl_set(o, "version", a->version != NULL ? a->version : "");
		tmpl_set(o, "env", a->environment);
		if (strcmp(what, "approve") == 0) {
			tmpl_setf(o, "label", "%s %s: approve %s", a->app,
			    a->version != NULL ? a->version : "",
			    a->environment);
			if (a->required_approvals > 1) {
				tmpl_setf(o, "quorum", "%d of %d approvals",
				    a->approvals, a->required_approvals);
			}
		} else
			tmpl_setf(o, "label", "%s %s: authorise promotion",
			    a->app, a->version != NULL ? a->version : "");
		pages_time(o, "since", a->updated_at);
	}
	tmpl_list(d, "apps");
	for (i = 0; c != NULL && i < c->napps; i++) {
		app = tmpl_append(d, "apps");
		tmpl_set(app, "app", c->apps[i].name);
		if ((rc = pages_env_rows(ctx, &c->apps[i], active, app,
			 cause)) != 0)
			goto out;
	}
	if ((rc = pages_stats(ctx, NULL, "/", d, cause)) != 0)
		goto out;
	rc = pages_render(ctx, "dashboard.html", "Dashboard", "dashboard", d,
	    NULL, NULL, 200, out, cause);
out:
	store_active_stages_free(active);
	tmpl_free(d);
	return (rc);
}

/* --- Rendered bodies kept per portal thread ------------------------------------ */

/*
 * The history's body is the same for every user and changes only when
 * the database does: each portal thread keeps the last few it rendered,
 * with the database's version then (store_data_version), and reuses one
 * while both the query and the version are the same.  A thread's cache
 * is freed when the thread ends.
 */
#define PAGES_CACHE_SIZE 8

struct pages_cached {
	struct store	    *store;
	struct store_version version;
	char		    *key;
	char		    *body;
	size_t		     len;
};
struct pages_cache {
	struct pages_cached e[PAGES_CACHE_SIZE];
	unsigned int	    next;
};

static pthread_key_t  pages_cache_key;
static pthread_once_t pages_cache_once = PTHREAD_ONCE_INIT;

static void
pages_cache_free(void *arg)
{
	struct pages_cache *c = arg;
	size_t		    i;

	if (c == NULL)
		return;
	for (i = 0; i < PAGES_CACHE_SIZE; i++) {
		free(c->e[i].key);
		free(c->e[i].body);
	}
	free(c);
}

static void
pages_cache_init(void)
{
	pthread_key_create(&pages_cache_key, pages_cache_free);
}

static struct pages_cache *
pages_cache_get(void)
{
	struct pages_cache *c;

	pthread_once(&pages_cache_once, pages_cache_init);
	if ((c = pthread_getspecific(pages_cache_key)) == NULL) {
		c = xcalloc(1, sizeof *c);
		pthread_setspecific(pages_cache_key, c);
	}
	return (c);
}

void
pages_cache_clear(void)
{
	pthread_once(&pages_cache_once, pages_cache_init);
	pages_cache_free(pthread_getspecific(pages_cache_key));
	pthread_setspecific(pages_cache_key, NULL);
}

static const struct pages_cached *
pages_cache_find(struct store *store, const struct store_version *v,
    const char *key)
{
	struct pages_cache *c = pages_cache_get();
	size_t		    i;

	for (i = 0; i < PAGES_CACHE_SIZE; i++) {
		if (c->e[i].key != NULL && c->e[i].store == store &&
		    c->e[i].version.others == v->others &&
		    c->e[i].version.own == v->own &&
		    strcmp(c->e[i].key, key) == 0)
			return (&c->e[i]);
	}
	return (NULL);
}

static void
pages_cache_put(struct store *store, const struct store_version *v,
    const char *key, const char *body, size_t len)
{
	struct pages_cache  *c = pages_cache_get();
	struct pages_cached *e;

	e = &c->e[c->next++ % PAGES_CACHE_SIZE];
	free(e->key);
	free(e->body);
	e->store = store;
	e->version = *v;
	e->key = xstrdup(key);
	e->body = xmalloc(len + 1);
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->len = len;
}

/* The layout around a body already rendered (markup this file made). */
static int
pages_render_body(const struct page_ctx *ctx, const char *template,
    const char *title, const char *nav, const char *body, size_t len,
    const char *error, int status, struct buf *out, char **cause)
{
	struct tmpl_data *l;
	char		 *why = NULL, navname[32];
	int		  rc;

	l = tmpl_new();
	tmpl_set(l, "title", title);
	tmpl_set(l, "page", template);
	if (ctx->user != NULL)
		tmpl_set(l, "user", ctx->user);
	if (ctx->csrf != NULL)
		tmpl_set(l, "csrf", ctx->csrf);
	if (nav != NULL) {
		snprintf(navname, sizeof navname, "nav_%s", nav);
		tmpl_set_bool(l, navname, 1);
	}
	tmpl_set(l, "error", error);
	tmpl_set_markup(l, "body", body, len);
	rc = tmpl_render("layout.html", l, out, &why);
	tmpl_free(l);
	if (rc != 0)
		return (pages_fail(cause, rc, why));
	return (status);
}

/*
 * "History at a glance" (portal-stats.h) as d's "stats": of app, or of
 * every app summed (NULL).  A store error fails the page.
 */
static int
pages_stats(const struct page_ctx *ctx, const struct config_app *app,
    const char *base, struct tmpl_data *d, char **cause)
{
	struct stats *st = NULL;
	char	     *why = NULL;
	int	      rc, days;

	if (ctx->config == NULL || (app != NULL && app->nenvironments == 0))
		return (0);
	days = ctx->stats_days != 0 ? ctx->stats_days : PORTAL_STATS_DAYS;
	if ((rc = portal_stats_load(ctx->store, ctx->config, app, ctx->now_ms,
		 days, &st, &why)) != 0)
		return (pages_fail(cause, rc, why));
	portal_stats_tmpl(d, st, days,
	    app != NULL ? app->environments[app->nenvironments - 1].name :
			  NULL);
	tmpl_set(d, "stats_base", base);
	stats_free(st);
	return (0);
}

/* --- History -------------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
pages_days(int64_t y, int m, int dd)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

/*
 * "YYYY-MM-DD" (a whole day: *msp is its start, *endp the next day's) or
 * "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC; *endp = *msp).  -1 if malformed.
 */
static int
pages_parse_date(const char *s, int64_t *msp, int64_t *endp)
{
	int		 y, mo, dd, h = 0, mi = 0, sec = 0, n = 0, len;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	len = (int)strlen(s);
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &dd, &n) != 3 || n != 10)
		return (-1);
	if (len > 10) {
		n = 0;
		if ((s[10] != 'T' && s[10] != ' ') ||
		    sscanf(s + 11, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
			return (-1);
		n += 11;
		if (s[n] == ':') {
			if (sscanf(s + n + 1, "%2d", &sec) != 1 || len < n + 3)
				return (-1);
			n += 3;
		}
		if (s[n] == 'Z')
			n++;
		if (n != len)
			return (-1);
	}
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || dd < 1 ||
	    dd > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60 || h < 0 ||
	    mi < 0 || sec < 0)
		return (-1);
	*msp = ((pages_days(y, mo, dd) * 86400) + h * 3600 + mi * 60 + sec) *
	       1000;
	*endp = len > 10 ? *msp : *msp + 86400 * 1000LL;
	return (0);
}

/*
 * The stage a run is at, as store_run_current_stage says: the first by
 * position not done (nor done without changes), else the last one.
 */
static const struct store_stage_brief *
pages_current_stage(const struct store_stage_briefs *l, int64_t run_id)
{
	const struct store_stage_brief *last = NULL;
	size_t				i;

	for (i = 0; l != NULL && i < l->n; i++) {
		if (l->items[i].run_id != run_id)
			continue;
		if (l->items[i].status != STORE_STAGE_DONE &&
		    l->items[i].status != STORE_STAGE_NO_CHANGES)
			return (&l->items[i]);
		last = &l->items[i];
	}
	return (last);
}

static const char *
pages_nonempty(const char *s)
{
	return (s != NULL && *s != '\0' ? s : NULL);
}

int
pages_runs(const struct page_ctx *ctx, const struct page_runs_query *q,
    struct buf *out, char **cause)
{
	const struct config	       *c = ctx->config;
	struct store_runs_filter	f;
	struct store_runs_page	       *page = NULL;
	struct store_stage_briefs      *stages = NULL;
	const struct store_stage_brief *cur;
	struct tmpl_data	       *d, *o;
	struct buf			qs, body;
	struct store_version		version;
	const struct pages_cached      *hit;
	const char		       *error = NULL;
	char			       *why = NULL, *key = NULL;
	int64_t				start, end, before, *ids = NULL;
	size_t				i;
	int				rc, status = 200, found;

	d = tmpl_new();
	buf_init(&qs, 8192);
	memset(&f, 0, sizeof f);
	f.app = pages_nonempty(q->app);
	f.environment = pages_nonempty(q->env);
	f.version = pages_nonempty(q->version);
	f.author = pages_nonempty(q->author);
	f.limit = PAGES_RUNS_LIMIT;
	if (pages_nonempty(q->status) != NULL &&
	    (f.status = store_run_status_from_name(q->status)) == 0)
		error = "Status is not a run status.";
	if (pages_nonempty(q->from) != NULL) {
		if (pages_parse_date(q->from, &start, &end) != 0)
			error = "From is not a date (YYYY-MM-DD).";
		else
			f.since = start;
	}
	if (pages_nonempty(q->to) != NULL) {
		if (pages_parse_date(q->to, &start, &end) != 0)
			error = "To is not a date (YYYY-MM-DD).";
		else
			f.until = end;
	}

	pages_query_add(&qs, "app", f.app);
	pages_query_add(&qs, "env", f.environment);
	pages_query_add(&qs, "status", pages_nonempty(q->status));
	pages_query_add(&qs, "version", f.version);
	pages_query_add(&qs, "author", f.author);
	pages_query_add(&qs, "from", pages_nonempty(q->from));
	pages_query_add(&qs, "to", pages_nonempty(q->to));
	if (error == NULL) {
		if ((rc = store_data_version(ctx->store, &version, &why)) !=
		    0) {
			rc = pages_fail(cause, rc, why);
			goto out;
		}
		key = xasprintf("runs?%s#%lld#%lld",
		    qs.data != NULL ? qs.data : "", (long long)q->before,
		    (long long)q->after);
		if ((hit = pages_cache_find(ctx->store, &version, key)) !=
		    NULL) {
			rc = pages_render_body(ctx, "runs.html", "History",
			    "runs", hit->body, hit->len, NULL, 200, out, cause);
			goto out;
		}
	}

	/* The form, as submitted. */
	tmpl_set(d, "f_version", q->version);
	tmpl_set(d, "f_author", q->author);
	tmpl_set(d, "f_from", q->from);
	tmpl_set(d, "f_to", q->to);
	found = 0;
	for (i = 0; c != NULL && i < c->napps; i++) {
		o = tmpl_append(d, "app_options");
		tmpl_set(o, "value", c->apps[i].name);
		if (f.app != NULL && strcmp(f.app, c->apps[i].name) == 0) {
			tmpl_set_bool(o, "selected", 1);
			found = 1;
		}
	}
	if (f.app != NULL && !found) {
		o = tmpl_append(d, "app_options");
		tmpl_set(o, "value", f.app);
		tmpl_set_bool(o, "selected", 1);
	}
	pages_env_options(c, d, "env_options", f.environment);
	for (i = 1; i <= STORE_RUN_STATUS_MAX; i++) {
		o = tmpl_append(d, "status_options");
		tmpl_set(o, "value", store_run_status_name(i));
		if (f.status == (enum store_run_status)i)
			tmpl_set_bool(o, "selected", 1);
	}

	tmpl_list(d, "runs");
	if (error != NULL) {
		status = 400;
		goto render;
	}
	if (q->after > 0) {
		if ((rc = store_runs_newer(ctx->store, &f, q->after, &before,
			 &why)) != 0) {
			rc = pages_fail(cause, rc, why);
			goto out;
		}
		f.before = before;
	} else
		f.before = q->before > 0 ? q->before : 0;
	if ((rc = store_runs_page(ctx->store, &f, &page, &why)) != 0) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	ids = xcalloc(page->n + 1, sizeof *ids);
	for (i = 0; i < page->n; i++)
		ids[i] = page->runs[i].id;
	if ((rc = store_stages_of_runs(ctx->store, ids, page->n, &stages,
		 &why)) != 0) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	for (i = 0; i < page->n; i++) {
		const struct store_run *r = &page->runs[i];

		o = tmpl_append(d, "runs");
		tmpl_set_int(o, "id", r->id);
		tmpl_set(o, "app", r->app);
		tmpl_set(o, "version", r->version);
		tmpl_set(o, "author", r->author);
		tmpl_set(o, "source_bucket", r->source_bucket);
		tmpl_set(o, "source_key", r->source_key);
		tmpl_set(o, "source_version", r->source_version_id);
		tmpl_set(o, "status", store_run_status_name(r->status));
		tmpl_set_bool(o, "rollback", r->kind == STORE_RUN_ROLLBACK);
		pages_time(o, "created", r->created_at);
		if (r->finished_at > 0)
			pages_duration(o, "duration",
			    r->finished_at - r->created_at);
		if ((cur = pages_current_stage(stages, r->id)) != NULL) {
			tmpl_set(o, "stage_env", cur->environment);
			tmpl_set(o, "stage_status",
			    store_stage_status_name(cur->status));
		}
	}
	if (page->next_before != 0)
		tmpl_setf(d, "older", "/runs?%s%sbefore=%lld",
		    qs.data != NULL ? qs.data : "", qs.len > 0 ? "&" : "",
		    (long long)page->next_before);
	if (f.before != 0 && page->n > 0)
		tmpl_setf(d, "newer", "/runs?%s%safter=%lld",
		    qs.data != NULL ? qs.data : "", qs.len > 0 ? "&" : "",
		    (long long)page->runs[0].id);
	tmpl_set_bool(d, "filtered", qs.len > 0);
render:
	if (error != NULL) {
		rc = pages_render(ctx, "runs.html", "History", "runs", d, NULL,
		    error, status, out, cause);
		goto out;
	}
	buf_init(&body, out->max);
	if ((rc = tmpl_render("runs.html", d, &body, &why)) != 0) {
		buf_free(&body);
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	pages_cache_put(ctx->store, &version, key, body.data, body.len);
	rc = pages_render_body(ctx, "runs.html", "History", "runs", body.data,
	    body.len, NULL, status, out, cause);
	buf_free(&body);
out:
	free(key);
	store_stage_briefs_free(stages);
	free(ids);
	store_runs_page_free(page);
	buf_free(&qs);
	tmpl_free(d);
	return (rc);
}

/* The run's "where the time went" chart (portal-stats.h) as d's
 * "run_steps". */
static int
pages_run_steps(const struct page_ctx *ctx, int64_t run_id, struct tmpl_data *d,
    char **cause)
{
	char *why = NULL;
	int   rc;

	if ((rc = portal_stats_run_tmpl(d, ctx->store, run_id, ctx->now_ms,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	return (0);
}

/* --- One run ------------------------------------------------------------------- */

/* The property-level details of a resource change (DescribeChangeSet's
 * Details array), one line each. */
static void
pages_change_details(struct tmpl_data *row, const char *details)
{
	json_t		 *a, *e, *target;
	const char	 *attr, *name, *recreate, *source, *causing, *eval;
	struct tmpl_data *o;
	size_t		  i;

	if (details == NULL || (a = json_loads(details, 0, NULL)) == NULL)
		return;
	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	json_array_foreach(a, i, e) {
		if (i >= PAGES_DETAIL_MAX) {
			tmpl_setf(row, "details_more", "%zu more",
			    json_array_size(a) - i);
			break;
		}
		/* AWS nests the target; the engine stores it flat. */
		if ((target = json_object_get(e, "Target")) == NULL)
			target = e;
		attr = json_string_value(json_object_get(target, "Attribute"));
		name = json_string_value(json_object_get(target, "Name"));
		recreate = json_string_value(
		    json_object_get(target, "RequiresRecreation"));
		source = json_string_value(json_object_get(e, "ChangeSource"));
		causing = json_string_value(
		    json_object_get(e, "CausingEntity"));
		eval = json_string_value(json_object_get(e, "Evaluation"));
		o = tmpl_append(row, "details");
		if (attr != NULL || name != NULL)
			tmpl_setf(o, "target", "%s%s%s",
			    attr != NULL ? attr : "",
			    attr != NULL && name != NULL ? "." : "",
			    name != NULL ? name : "");
		if (recreate != NULL && strcmp(recreate, "Never") != 0) {
			tmpl_setf(o, "recreation", "recreation: %s", recreate);
			if (strcmp(recreate, "Always") == 0)
				tmpl_set_bool(o, "recreates", 1);
		}
		if (source != NULL)
			tmpl_setf(o, "source", "%s%s%s%s%s", source,
			    causing != NULL ? " (" : "",
			    causing != NULL ? causing : "",
			    causing != NULL ? ")" : "",
			    eval != NULL && strcmp(eval, "Dynamic") == 0 ?
				", dynamic" :
				"");
	}
	json_decref(a);
}

static int
pages_stage_changes(const struct page_ctx *ctx, const struct store_stage *st,
    struct tmpl_data *s, char **cause)
{
	struct store_changes *l = NULL;
	struct tmpl_data     *o;
	char		     *why = NULL;
	size_t		      i, nrepl = 0;
	int		      rc;

	if ((rc = store_stage_changes(ctx->store, st->id, st->attempt, &l,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	tmpl_list(s, "changes");
	for (i = 0; i < l->n; i++) {
		const struct store_change *c = &l->items[i];

		o = tmpl_append(s, "changes");
		tmpl_set(o, "action", c->action);
		tmpl_set(o, "logical_id", c->logical_id);
		tmpl_set(o, "type", c->resource_type);
		tmpl_set(o, "physical_id", c->physical_id);
		tmpl_set(o, "replacement", c->replacement);
		if (c->replacement != NULL &&
		    strcmp(c->replacement, "True") == 0) {
			tmpl_set(o, "class", "replacement");
			nrepl++;
		} else if (c->replacement != NULL &&
			   strcmp(c->replacement, "Conditional") == 0)
			tmpl_set(o, "class", "conditional");
		pages_change_details(o, c->details);
	}
	tmpl_set_bool(s, "has_changes", l->n > 0);
	if (nrepl > 0)
		tmpl_setf(s, "replacements", "%zu resource%s replaced", nrepl,
		    nrepl > 1 ? "s" : "");
	store_changes_free(l);
	return (0);
}

/*
 * What ran in the environment when the stage started, from shipgate's
 * own history (the deployment, its run and who approved it), and whether
 * the stack was updated since by something other than shipgate (its
 * LastUpdatedTime later than that deployment).
 */
static int
pages_now_running(const struct page_ctx *ctx, const struct store_stage *st,
    const struct store_stage_stack *sk, struct tmpl_data *s, char **cause)
{
	struct store_approvals *ap = NULL;
	struct tmpl_data       *o;
	struct buf		who;
	char		       *why = NULL, *names;
	size_t			i;
	int			rc;

	o = tmpl_object(s, "now_running");
	tmpl_set(o, "now_env", st->environment);
	if (!sk->exists) {
		tmpl_set_bool(o, "no_stack", 1);
		return (0);
	}
	pages_time(o, "stack_updated", sk->last_updated_at);
	if (sk->prev_run_id == 0) {
		tmpl_set_bool(o, "never", 1);
		return (0);
	}
	if ((rc = store_run_approvals(ctx->store, sk->prev_run_id, &ap,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	buf_init(&who, 4096);
	for (i = 0; i < ap->n; i++)
		if (ap->items[i].stage_id == sk->prev_stage_id &&
		    ap->items[i].gate == 0 &&
		    ap->items[i].decision == STORE_DECISION_APPROVE)
			buf_printf(&who, "%s%s", who.len > 0 ? ", " : "",
			    ap->items[i].user);
	names = buf_take(&who, NULL);
	buf_free(&who);
	tmpl_set(o, "prev_version", sk->prev_version);
	tmpl_set_int(o, "prev_run", sk->prev_run_id);
	pages_time(o, "prev_deployed", sk->prev_deployed_at);
	tmpl_set(o, "approved_by", *names != '\0' ? names : NULL);
	/* A second's slack: AWS's and shipgate's clocks are not one. */
	if (sk->last_updated_at > sk->prev_deployed_at + 1000)
		tmpl_set_bool(o, "changed_outside", 1);
	free(names);
	store_approvals_free(ap);
	return (0);
}

/*
 * The parameters the attempt sends against the stack's (issue 15):
 * changed rows shown, unchanged ones folded.  NoEcho values were never
 * stored: the rows say "****".
 */
static int
pages_stage_parameters(const struct page_ctx *ctx, const struct store_stage *st,
    struct tmpl_data *s, char **cause)
{
	struct store_stage_params *l = NULL;
	struct store_stage_stack  *sk = NULL;
	struct tmpl_data	  *o;
	char			  *why = NULL;
	size_t			   i, changed = 0, same = 0;
	int			   rc;

	if ((rc = store_stage_parameters(ctx->store, st->id, st->attempt, &l,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	rc = store_stage_stack(ctx->store, st->id, &sk, &why);
	if (rc != 0 && rc != STORE_ENOTFOUND) {
		store_stage_params_free(l);
		return (pages_fail(cause, rc, why));
	}
	free(why);
	tmpl_list(s, "params_changed");
	tmpl_list(s, "params_unchanged");
	for (i = 0; i < l->n; i++) {
		const struct store_stage_param *p = &l->items[i];

		if (strcmp(p->change, "unchanged") == 0) {
			o = tmpl_append(s, "params_unchanged");
			same++;
		} else {
			o = tmpl_append(s, "params_changed");
			changed++;
		}
		tmpl_set(o, "name", p->name);
		tmpl_set(o, "old", p->old_value);
		tmpl_set(o, "new", p->new_value);
		tmpl_set(o, "change", p->change);
		tmpl_set_bool(o, "no_echo", p->no_echo);
	}
	tmpl_set_bool(s, "has_parameters", l->n > 0);
	tmpl_set_bool(s, "first_deployment", sk != NULL && !sk->exists);
	/* Started, but the stack could not be read (AWS failed then). */
	tmpl_set_bool(s, "params_unknown",
	    l->n == 0 && sk == NULL && st->status != STORE_STAGE_PENDING &&
		st->change_set_name != NULL);
	if (sk != NULL &&
	    (rc = pages_now_running(ctx, st, sk, s, cause)) != 0) {
		store_stage_params_free(l);
		store_stage_stack_free(sk);
		return (rc);
	}
	tmpl_setf(s, "params_summary", "%zu changed, %zu unchanged", changed,
	    same);
	store_stage_params_free(l);
	store_stage_stack_free(sk);
	return (0);
}

#define PAGES_DIFF_LINES_MAX 2000 /* template diff lines shown */

/*
 * The deployed template against the release's: the unified diff with
 * each line's old and new numbers, folded under the change set (the API
 * has it whole).
 */
static int
pages_stage_template(const struct page_ctx *ctx, const struct store_stage *st,
    struct tmpl_data *s, char **cause)
{
	struct store_stage_template *t = NULL;
	struct tmpl_data	    *o, *d;
	const char		    *p, *nl;
	char			    *why = NULL, *text;
	size_t			     oldno = 0, newno = 0, a, b, n = 0;
	size_t			     more = 0;
	int			     rc;

	rc = store_stage_template(ctx->store, st->id, st->attempt, &t, &why);
	if (rc == STORE_ENOTFOUND) {
		free(why);
		return (0);
	}
	if (rc != 0)
		return (pages_fail(cause, rc, why));
	d = tmpl_object(s, "template");
	tmpl_setf(d, "template_summary", "%lld line%s added, %lld removed%s",
	    (long long)t->added, t->added == 1 ? "" : "s",
	    (long long)t->removed,
	    t->whole ? " (too different: replaced "
		       "whole)" :
		       "");
	tmpl_set_bool(d, "same", t->diff[0] == '\0');
	tmpl_list(d, "lines");
	for (p = t->diff; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		if (n >= PAGES_DIFF_LINES_MAX) {
			more++;
			if (nl[1] == '\0')
				break;
			continue;
		}
		text = xstrndup(p, (size_t)(nl - p) + (*nl == '\n' ? 0 : 1));
		o = tmpl_append(d, "lines");
		if (*p == '@') {
			if (sscanf(p, "@@ -%zu,%*u +%zu,", &a, &b) == 2) {
				oldno = a;
				newno = b;
			}
			tmpl_set(o, "class", "hunk");
			tmpl_set(o, "text", text);
		} else {
			tmpl_set(o, "class",
			    *p == '+' ? "add" :
			    *p == '-' ? "del" :
					"same");
			if (*p != '+')
				tmpl_setf(o, "ln_old", "%zu", oldno++);
			if (*p != '-')
				tmpl_setf(o, "ln_new", "%zu", newno++);
			tmpl_set(o, "text", text);
		}
		free(text);
		n++;
		if (nl[1] == '\0')
			break;
	}
	if (more > 0)
		tmpl_setf(d, "more",
		    "%zu more lines: the whole diff is in the "
		    "API",
		    more);
	store_stage_template_free(t);
	return (0);
}

/*
 * The attempt's drift (issue 15): each property changed outside
 * CloudFormation ("WebService DesiredCount: 2 → 5, ..."), each resource
 * deleted, "no drift", or why it was not checked; with drift: block, the
 * operators' form to acknowledge it.
 */
static int
pages_stage_drift(const struct page_ctx *ctx, const struct store_run *run,
    const struct store_stage *st, struct tmpl_data *s, char **cause)
{
	const struct config_app		*app;
	const struct config_environment *env = NULL;
	struct store_drift		*d = NULL;
	struct tmpl_data		*o, *li;
	char				*why = NULL, *text;
	size_t				 i, j, n = 0;
	int				 rc, block;

	rc = store_drift(ctx->store, st->id, st->attempt, &d, &why);
	if (rc == STORE_ENOTFOUND) {
		free(why);
		return (0);
	}
	if (rc != 0)
		return (pages_fail(cause, rc, why));
	if ((app = config_find_app(ctx->config, run->app)) != NULL)
		env = config_find_environment(app, st->environment);
	block = env != NULL && env->drift == CONFIG_DRIFT_BLOCK;
	o = tmpl_object(s, "drift");
	tmpl_set_bool(o, "detecting", strcmp(d->status, "detecting") == 0);
	tmpl_set_bool(o, "in_sync", strcmp(d->status, "in_sync") == 0);
	tmpl_set_bool(o, "not_checked", strcmp(d->status, "not_checked") == 0);
	tmpl_set(o, "reason",
	    d->reason != NULL ? d->reason : "no reason given");
	tmpl_list(o, "drift_items");
	for (i = 0; i < d->nresources; i++) {
		const struct store_drift_resource *r = &d->resources[i];

		if (strcmp(r->status, "DELETED") == 0) {
			li = tmpl_append(o, "drift_items");
			tmpl_set(li, "kind", "deleted");
			tmpl_setf(li, "text",
			    "%s (%s) deleted outside CloudFormation",
			    r->logical_id, r->resource_type);
			n++;
			continue;
		}
		for (j = 0; j < r->nprops; j++) {
			li = tmpl_append(o, "drift_items");
			tmpl_set(li, "kind", "modified");
			text = diff_drift_text(r->logical_id, r->props[j].path,
			    r->props[j].expected, r->props[j].actual,
			    r->props[j].difference);
			tmpl_set(li, "text", text);
			free(text);
		}
		if (r->nprops == 0) {
			li = tmpl_append(o, "drift_items");
			tmpl_set(li, "kind", "modified");
			tmpl_setf(li, "text",
			    "%s (%s) modified outside CloudFormation",
			    r->logical_id, r->resource_type);
		}
		n++;
	}
	if (strcmp(d->status, "drifted") == 0)
		tmpl_setf(o, "drift_summary",
		    "%zu resource%s changed outside CloudFormation", n,
		    n == 1 ? "" : "s");
	if (d->ack_user != NULL) {
		tmpl_set_bool(o, "acked", 1);
		tmpl_set(o, "ack_user", d->ack_user);
		tmpl_set(o, "ack_comment", d->ack_comment);
	} else if (block && strcmp(d->status, "drifted") == 0 &&
		   run->status == STORE_RUN_RUNNING &&
		   st->status < STORE_STAGE_DONE) {
		tmpl_set_bool(o, "blocking", 1);
		if (ctx->user != NULL &&
		    perm_is_operator(ctx->config, ctx->user, "ack-drift", NULL))
			tmpl_set_bool(o, "ack_form", 1);
	}
	store_drift_free(d);
	return (0);
}

static int
pages_stage_checks(const struct page_ctx *ctx, const struct store_stage *st,
    struct tmpl_data *s, char **cause)
{
	struct store_check_results *l = NULL;
	struct tmpl_data	   *o;
	char			   *why = NULL;
	size_t			    i;
	int			    rc;

	if ((rc = store_stage_check_results(ctx->store, st->id, st->attempt, &l,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	for (i = 0; i < l->n; i++) {
		const struct store_check_result *c = &l->items[i];

		o = tmpl_append(s, "checks");
		tmpl_set(o, "check", c->check_name);
		tmpl_set(o, "step", c->step_name);
		tmpl_set(o, "status", c->status);
		tmpl_set_bool(o, "failed", strcmp(c->status, "failed") == 0);
		if (c->url != NULL)
			tmpl_setf(o, "request", "%s %s",
			    c->method != NULL ? c->method : "GET", c->url);
		if (c->http_status != 0)
			tmpl_set_int(o, "http_status", c->http_status);
		tmpl_set_int(o, "tries", c->tries);
		pages_duration(o, "check_took", c->duration_ms);
		tmpl_set(o, "expectation", c->expectation);
		tmpl_set(o, "excerpt", c->excerpt);
	}
	store_check_results_free(l);
	return (0);
}

/* As pages_time, to the second (a stack's events come seconds apart). */
static void
pages_time_seconds(struct tmpl_data *d, const char *name, int64_t ms)
{
	pages_time_at(d, name, ms, 1);
}

/* The stack events the run page lists; the rest is in the API. */
#define PAGES_EVENTS_MAX 100

/*
 * A stage's live progress (issue 16): one line per ECS service (running
 * out of desired as a <progress> bar) and the stack's events, newest
 * first, a failed one marked.  portal.js redraws both from the API while
 * the run goes on; without it the page shows the state it was made with.
 */
static int
pages_stage_progress(const struct page_ctx *ctx, const struct store_stage *st,
    struct tmpl_data *s, char **cause)
{
	struct store_progress *p = NULL;
	struct tmpl_data      *o;
	char		      *why = NULL;
	size_t		       i;
	int		       rc;

	if ((rc = store_progress_get(ctx->store, st->id, st->attempt, &p,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	for (i = 0; i < p->nservices; i++) {
		const struct store_stage_service *v = &p->services[i];

		o = tmpl_append(s, "services");
		tmpl_set(o, "service", v->service);
		tmpl_set_int(o, "desired", v->desired);
		tmpl_set_int(o, "running",
		    v->running > v->desired ? v->desired : v->running);
		tmpl_setf(o, "counts",
		    "%lld/%lld running, %lld pending, "
		    "%lld failed",
		    (long long)v->running, (long long)v->desired,
		    (long long)v->pending, (long long)v->failed);
		tmpl_set(o, "rollout",
		    v->rollout_state != NULL ? v->rollout_state : "unknown");
		tmpl_set(o, "rollout_reason", v->rollout_reason);
		tmpl_set_bool(o, "failed",
		    v->rollout_state != NULL &&
			strcmp(v->rollout_state, "FAILED") == 0);
	}
	for (i = 0; i < p->nevents && i < PAGES_EVENTS_MAX; i++) {
		const struct store_stage_event *e = &p->events[i];

		o = tmpl_append(s, "events");
		pages_time_seconds(o, "at", e->at);
		tmpl_set(o, "logical_id", e->logical_id);
		tmpl_set(o, "type", e->resource_type);
		tmpl_set(o, "status", e->status);
		tmpl_set(o, "reason", e->reason);
		tmpl_set_bool(o, "failed",
		    e->status != NULL && strstr(e->status, "FAILED") != NULL);
	}
	if (p->nevents > PAGES_EVENTS_MAX)
		tmpl_setf(s, "events_more",
		    "%zu older events: see "
		    "/api/v1/runs/%lld.",
		    p->nevents - PAGES_EVENTS_MAX, (long long)st->run_id);
	store_progress_free(p);
	return (0);
}

/* Who may do what on a stage, and the forms for it. */
static void
pages_stage_actions(const struct page_ctx *ctx, const struct store_run *run,
    const struct store_stage *st, const struct store_approvals *ap,
    struct tmpl_data *s)
{
	char  *reason = NULL;
	int    decided = 0, n = 0, may_approve, may_reject, gate;
	size_t i;

	gate = st->status == STORE_STAGE_AWAITING_GATE;
	for (i = 0; ap != NULL && i < ap->n; i++) {
		if (ap->items[i].stage_id != st->id ||
		    ap->items[i].attempt != st->attempt ||
		    ap->items[i].gate != gate)
			continue;
		if (ap->items[i].decision != STORE_DECISION_REJECT)
			n++;
		if (ctx->user != NULL &&
		    strcmp(ap->items[i].user, ctx->user) == 0)
			decided = 1;
	}
	if (st->status == STORE_STAGE_AWAITING_APPROVAL &&
	    st->required_approvals > 1)
		tmpl_setf(s, "quorum", "%d of %d approvals", n,
		    st->required_approvals);
	if (ctx->user == NULL || run->status != STORE_RUN_RUNNING)
		goto operator;
	if (st->status == STORE_STAGE_AWAITING_APPROVAL) {
		may_approve = perm_may_approve(ctx->config, ctx->user, run->app,
		    st->environment, run->author, &reason);
		may_reject = perm_may_reject(ctx->config, ctx->user, run->app,
		    st->environment, 0, NULL);
		if (decided)
			tmpl_set(s, "decided",
			    "You have decided on this "
			    "change set.");
		else if (may_approve || may_reject) {
			tmpl_set_bool(s, "decide", 1);
			tmpl_set_bool(s, "may_approve", may_approve);
			tmpl_set_bool(s, "may_reject", may_reject);
		}
		/* Refused though in the approvers' groups: say why (the
		 * self-approval rule). */
		if (!may_approve && !decided && reason != NULL &&
		    strstr(reason, "author") != NULL)
			tmpl_set(s, "refusal", reason);
		free(reason);
		reason = NULL;
	} else if (gate) {
		if (decided)
			tmpl_set(s, "decided",
			    "You have decided on the "
			    "promotion.");
		else {
			tmpl_set_bool(s, "gate_authorise",
			    perm_may_authorise(ctx->config, ctx->user, run->app,
				st->environment, NULL));
			tmpl_set_bool(s, "gate_reject",
			    perm_may_reject(ctx->config, ctx->user, run->app,
				st->environment, 1, NULL));
			tmpl_set_bool(s, "gate_form",
			    perm_may_authorise(ctx->config, ctx->user, run->app,
				st->environment, NULL) ||
				perm_may_reject(ctx->config, ctx->user,
				    run->app, st->environment, 1, NULL));
		}
	}
	operator: if (ctx->user != NULL && st->status == STORE_STAGE_FAILED &&
		      run->status == STORE_RUN_FAILED &&
		      perm_is_operator(ctx->config, ctx->user, "retry", NULL))
		      tmpl_set_bool(s, "retry", 1);
	if (ctx->user != NULL && st->status == STORE_STAGE_AWAITING_WINDOW &&
	    run->status == STORE_RUN_RUNNING &&
	    perm_is_operator(ctx->config, ctx->user, "override", NULL))
		tmpl_set_bool(s, "override", 1);
}

/*
 * The release's images (release.json) with the digest intake pinned
 * (release_images), its platforms, a tag that moved since (in red), and
 * where promotions copied it.  A release taken in before images were
 * pinned shows the digest its promotions read.
 */
static void
pages_images(const struct store_release *rel,
    const struct store_release_images *pins, const struct store_promotions *pr,
    struct tmpl_data *d)
{
	json_t				 *m, *images, *e;
	const char			 *repo, *tag, *digest;
	const struct store_release_image *pin;
	struct tmpl_data		 *o, *p, *w;
	size_t				  i, j;

	tmpl_list(d, "images");
	if (rel == NULL || rel->manifest == NULL ||
	    (m = json_loads(rel->manifest, 0, NULL)) == NULL)
		return;
	images = json_object_get(m, "images");
	json_array_foreach(images, i, e) {
		repo = json_string_value(json_object_get(e, "repository"));
		tag = json_string_value(json_object_get(e, "tag"));
		digest = json_string_value(json_object_get(e, "digest"));
		if (repo == NULL)
			continue;
		pin = NULL;
		for (j = 0; pins != NULL && j < pins->n; j++)
			if ((size_t)pins->items[j].position == i &&
			    strcmp(pins->items[j].repository, repo) == 0)
				pin = &pins->items[j];
		o = tmpl_append(d, "images");
		tmpl_set(o, "repository", repo);
		tmpl_set(o, "reference", tag != NULL ? tag : digest);
		if (pin != NULL) {
			digest = pin->digest;
			tmpl_set_bool(o, "pinned", 1);
			tmpl_set(o, "platforms", pin->platforms);
			tmpl_set(o, "parameter", pin->parameter);
			if (pin->moved_digest != NULL) {
				w = tmpl_object(o, "moved");
				tmpl_set(w, "image", repo);
				tmpl_set(w, "tag", tag);
				tmpl_set(w, "now", pin->moved_digest);
			}
		}
		for (j = 0; pr != NULL && j < pr->n; j++) {
			const struct store_promotion *x = &pr->items[j];

			if (strcmp(x->repository, repo) != 0 ||
			    strcmp(x->reference, tag != NULL	? tag :
						 digest != NULL ? digest :
								  "") != 0)
				continue;
			if (digest == NULL && x->source_digest != NULL)
				digest = x->source_digest;
			p = tmpl_append(o, "promotions");
			tmpl_set(p, "env", x->environment);
			tmpl_set(p, "registry", x->destination_registry);
			tmpl_set(p, "status", x->status);
			tmpl_set(p, "promo_reason", x->reason);
		}
		tmpl_set(o, "digest", digest);
	}
	json_decref(m);
}

static void
pages_audit_rows(const struct store_audit_page *a, struct tmpl_data *d,
    int with_run)
{
	struct tmpl_data *o;
	size_t		  i;

	tmpl_list(d, "audit");
	for (i = 0; a != NULL && i < a->n; i++) {
		const struct store_audit_entry *e = &a->entries[i];

		o = tmpl_append(d, "audit");
		pages_time(o, "at", e->at);
		if (e->unix_user != NULL)
			tmpl_setf(o, "actor", "%s (%s)", e->actor,
			    e->unix_user);
		else
			tmpl_set(o, "actor", e->actor);
		tmpl_set(o, "action", e->action);
		tmpl_set(o, "subject", e->subject);
		tmpl_set(o, "detail", e->detail);
		if (with_run && e->run_id != 0)
			tmpl_set_int(o, "run_id", e->run_id);
	}
}

/* An operator may redeploy a release once deployed, to any of its app's
 * environments: a rollback run (engine_redeploy). */
static int
pages_run_redeploy(const struct page_ctx *ctx, const struct store_run *run,
    const struct store_release *rel, struct tmpl_data *d, char **cause)
{
	const struct config_app *app;
	struct tmpl_data	*o;
	char			*envs = NULL, *why = NULL;
	size_t			 i;
	int			 rc;

	if (ctx->user == NULL || rel == NULL ||
	    rel->status != STORE_RELEASE_VALID ||
	    (app = config_find_app(ctx->config, run->app)) == NULL ||
	    !perm_is_operator(ctx->config, ctx->user, "redeploy", NULL))
		return (0);
	if ((rc = store_release_deployed_to(ctx->store, rel->id, &envs,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	if (envs == NULL)
		return (0);
	tmpl_set(d, "deployed_to", envs);
	for (i = 0; i < app->nenvironments; i++) {
		o = tmpl_append(d, "redeploy");
		tmpl_set(o, "env", app->environments[i].name);
	}
	free(envs);
	return (0);
}

int
pages_run(const struct page_ctx *ctx, int64_t run_id, const char *notice,
    const char *error, struct buf *out, char **cause)
{
	struct store_run	    *run = NULL;
	struct store_release	    *rel = NULL;
	struct store_approvals	    *ap = NULL;
	struct store_promotions	    *pr = NULL;
	struct store_release_images *pins = NULL;
	struct store_audit_page	    *audit = NULL;
	struct tmpl_data	    *d, *s, *o;
	char			    *why = NULL, *by = NULL, *reason = NULL;
	char			     title[256];
	size_t			     i, j;
	int			     rc, finished;

	d = tmpl_new();
	/* A dozen reads: one snapshot (if none, each its own). */
	if (store_read_begin(ctx->store, &why) != 0) {
		free(why);
		why = NULL;
	}
	if ((rc = store_get_run(ctx->store, run_id, &run, &why)) != 0) {
		if (rc == STORE_ENOTFOUND) {
			free(why);
			tmpl_free(d);
			store_read_end(ctx->store);
			return (pages_error(ctx, 404, "No such run.", out));
		}
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	if ((rc = store_get_release(ctx->store, run->release_id, &rel, &why)) !=
		0 ||
	    (rc = store_run_approvals(ctx->store, run_id, &ap, &why)) != 0 ||
	    (rc = store_run_promotions(ctx->store, run_id, &pr, &why)) != 0 ||
	    (rc = store_release_images(ctx->store, run->release_id, &pins,
		 &why)) != 0 ||
	    (rc = store_audit_page(ctx->store, run_id, 0, PAGES_RUN_AUDIT_LIMIT,
		 &audit, &why)) != 0) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	rc = store_run_cancel_request(ctx->store, run_id, &by, &reason, &why);
	if (rc != 0 && rc != STORE_ENOTFOUND) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	free(why);
	why = NULL;

	tmpl_set_int(d, "id", run->id);
	tmpl_set(d, "app", run->app);
	tmpl_set(d, "version",
	    run->version != NULL ? run->version : "(no version)");
	tmpl_set(d, "message", run->message);
	tmpl_set(d, "author", run->author);
	tmpl_set(d, "status", store_run_status_name(run->status));
	tmpl_set(d, "reason", run->reason);
	tmpl_set_int(d, "release_id", run->release_id);
	finished = store_run_status_finished(run->status);
	tmpl_set_bool(d, "live", !finished);
	if (run->kind == STORE_RUN_ROLLBACK) {
		o = tmpl_object(d, "rollback");
		tmpl_set(o, "requested_by", run->requested_by);
		if (run->rollback_of != 0)
			tmpl_set_int(o, "rollback_of", run->rollback_of);
	}
	pages_time(d, "created", run->created_at);
	pages_time(d, "finished", run->finished_at);
	pages_duration(d, "duration",
	    (finished ? run->finished_at : ctx->now_ms) - run->created_at);
	if (rel != NULL) {
		tmpl_set(d, "key", rel->key);
		tmpl_set(d, "bucket", rel->bucket);
		tmpl_set(d, "version_id", rel->version_id);
		pages_time(d, "received", rel->received_at);
	}
	if (by != NULL) {
		o = tmpl_object(d, "cancel_requested");
		tmpl_set(o, "by", by);
		tmpl_set(o, "cancel_reason", reason);
	}
	pages_images(rel, pins, pr, d);

	tmpl_list(d, "stages");
	for (i = 0; i < run->nstages; i++) {
		const struct store_stage *st = &run->stages[i];

		s = tmpl_append(d, "stages");
		tmpl_set(s, "env", st->environment);
		tmpl_set(s, "stage_status",
		    store_stage_status_name(st->status));
		tmpl_set(s, "stage_reason", st->reason);
		if (st->status == STORE_STAGE_AWAITING_WINDOW)
			pages_window_next(s, st->reason);
		tmpl_set_int(s, "attempt", st->attempt);
		tmpl_set_bool(s, "retried", st->attempt > 0);
		tmpl_set(s, "change_set", st->change_set_name);
		tmpl_set(s, "stack", st->stack_id);
		pages_time(s, "started", st->started_at);
		pages_time(s, "finished_at", st->finished_at);
		if (st->status == STORE_STAGE_AWAITING_APPROVAL ||
		    st->status == STORE_STAGE_AWAITING_GATE)
			pages_time(s, "deadline", st->deadline_at);
		if (st->started_at > 0)
			pages_duration(s, "took",
			    (st->finished_at > 0 ? st->finished_at :
				finished	 ? run->finished_at :
						   ctx->now_ms) -
				st->started_at);
		if ((rc = pages_stage_changes(ctx, st, s, cause)) != 0 ||
		    (rc = pages_stage_parameters(ctx, st, s, cause)) != 0 ||
		    (rc = pages_stage_template(ctx, st, s, cause)) != 0 ||
		    (rc = pages_stage_drift(ctx, run, st, s, cause)) != 0 ||
		    (rc = pages_stage_progress(ctx, st, s, cause)) != 0 ||
		    (rc = pages_stage_checks(ctx, st, s, cause)) != 0)
			goto out;
		for (j = 0; pr != NULL && j < pr->n; j++) {
			if (pr->items[j].stage_id != st->id)
				continue;
			o = tmpl_append(s, "promotions");
			tmpl_setf(o, "image", "%s:%s", pr->items[j].repository,
			    pr->items[j].reference);
			tmpl_set(o, "registry",
			    pr->items[j].destination_registry);
			tmpl_set(o, "status", pr->items[j].status);
			tmpl_set(o, "digest", pr->items[j].destination_digest);
			tmpl_set(o, "promo_reason", pr->items[j].reason);
		}
		pages_stage_actions(ctx, run, st, ap, s);
	}

	tmpl_list(d, "approvals");
	for (i = 0; ap != NULL && i < ap->n; i++) {
		const struct store_approval *a = &ap->items[i];

		o = tmpl_append(d, "approvals");
		tmpl_set(o, "env", a->environment);
		tmpl_set(o, "decision", store_decision_name(a->decision));
		tmpl_set_bool(o, "rejected",
		    a->decision == STORE_DECISION_REJECT);
		tmpl_set(o, "what", a->gate ? "promotion" : "change set");
		tmpl_set(o, "who", a->user);
		pages_time(o, "at", a->decided_at);
		tmpl_set(o, "comment", a->comment);
		/* "portal, oidc": the channel, then the provider's sign-in. */
		if (a->signin != NULL)
			tmpl_setf(o, "via", "%s, %s", store_via_name(a->via),
			    a->signin);
		else
			tmpl_set(o, "via", store_via_name(a->via));
		tmpl_set_int(o, "attempt", a->attempt);
	}
	pages_audit_rows(audit, d, 0);
	if (audit != NULL && audit->next_before != 0)
		tmpl_setf(d, "audit_more",
		    "Only the newest %d entries are "
		    "shown.",
		    PAGES_RUN_AUDIT_LIMIT);

	if (ctx->user != NULL && !finished && by == NULL &&
	    perm_is_operator(ctx->config, ctx->user, "cancel", NULL))
		tmpl_set_bool(d, "may_cancel", 1);
	if ((rc = pages_run_redeploy(ctx, run, rel, d, cause)) != 0)
		goto out;

	if ((rc = pages_run_steps(ctx, run_id, d, cause)) != 0)
		goto out;
	snprintf(title, sizeof title, "%s %s", run->app,
	    run->version != NULL ? run->version : "");
	rc = pages_render(ctx, "run.html", title, "runs", d, notice, error, 200,
	    out, cause);
out:
	store_read_end(ctx->store);
	free(by);
	free(reason);
	store_audit_page_free(audit);
	store_promotions_free(pr);
	store_release_images_free(pins);
	store_approvals_free(ap);
	store_release_free(rel);
	store_run_free(run);
	tmpl_free(d);
	return (rc);
}

/* --- One app ------------------------------------------------------------------- */

/*
 * The app's freezes in force or to come (shipgate.yaml's and the
 * run-time ones, as shipgatectl freezes lists them), and for operators
 * the forms to add one to an environment and to lift each run-time one
 * (POST /apps/APP/freezes/ENV/{freeze,unfreeze}, portal.c).
 */
static int
pages_app_freezes(const struct page_ctx *ctx, const struct config_app *app,
    struct tmpl_data *d, char **cause)
{
	struct store_freezes *l = NULL;
	struct tmpl_data     *o;
	const char	     *source;
	json_t		     *a, *f;
	char		     *why = NULL;
	size_t		      i;
	int rc, operator;

	if ((rc = store_freezes(ctx->store, app->name, NULL, ctx->now_ms, &l,
		 &why)) != 0)
		return (pages_fail(cause, rc, why));
	operator= ctx->user != NULL &&
	    perm_is_operator(ctx->config, ctx->user, "freeze", NULL);
	a = run_json_freezes(app, NULL, l, ctx->now_ms);
	store_freezes_free(l);
	tmpl_list(d, "freezes");
	json_array_foreach(a, i, f) {
		source = json_string_value(json_object_get(f, "source"));
		o = tmpl_append(d, "freezes");
		tmpl_set(o, "freeze_env",
		    json_string_value(json_object_get(f, "env")));
		tmpl_set(o, "freeze_reason",
		    json_string_value(json_object_get(f, "reason")));
		pages_time(o, "freeze_from",
		    json_integer_value(json_object_get(f, "from")));
		pages_time(o, "freeze_until",
		    json_integer_value(json_object_get(f, "until")));
		if (source != NULL && strcmp(source, "config") == 0) {
			tmpl_set_bool(o, "from_config", 1);
			continue;
		}
		tmpl_set_int(o, "freeze_id",
		    json_integer_value(json_object_get(f, "id")));
		tmpl_set(o, "freeze_by",
		    json_string_value(json_object_get(f, "by")));
		pages_time(o, "freeze_at",
		    json_integer_value(json_object_get(f, "at")));
		tmpl_set_bool(o, "may_lift", operator);
	}
	json_decref(a);
	if (operator) {
		o = tmpl_object(d, "freeze_form");
		tmpl_set(o, "freeze_app", app->name);
		for (i = 0; i < app->nenvironments; i++)
			tmpl_set(tmpl_append(o, "freeze_envs"), "option",
			    app->environments[i].name);
	}
	return (0);
}

int
pages_app(const struct page_ctx *ctx, const char *name, const char *notice,
    const char *error, struct buf *out, char **cause)
{
	const struct config_app	   *app;
	struct store_active_stages *active = NULL;
	struct store_app_releases  *rels = NULL;
	struct tmpl_data	   *d, *o, *e;
	int64_t			    app_id = 0;
	char			   *why = NULL;
	size_t			    i, j;
	int rc, operator;

	d = tmpl_new();
	app = ctx->config != NULL ? config_find_app(ctx->config, name) : NULL;
	rc = store_app_id(ctx->store, name, &app_id, &why);
	if (rc != 0 && rc != STORE_ENOTFOUND) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	free(why);
	why = NULL;
	if (app == NULL && app_id == 0) {
		tmpl_free(d);
		return (pages_error(ctx, 404, "No such app.", out));
	}
	tmpl_set(d, "app", name);
	tmpl_set_bool(d, "configured", app != NULL);
	if (app != NULL) {
		if ((rc = store_active_stages(ctx->store, ctx->user, &active,
			 &why)) != 0) {
			rc = pages_fail(cause, rc, why);
			goto out;
		}
		if ((rc = pages_env_rows(ctx, app, active, d, cause)) != 0 ||
		    (rc = pages_app_freezes(ctx, app, d, cause)) != 0)
			goto out;
	}
	tmpl_list(d, "releases");
	if (app_id != 0) {
		if ((rc = store_app_releases(ctx->store, app_id, 0,
			 PAGES_RELEASES_LIMIT, &rels, &why)) != 0) {
			rc = pages_fail(cause, rc, why);
			goto out;
		}
	}
	operator= ctx->user != NULL &&
	    perm_is_operator(ctx->config, ctx->user, "redeploy", NULL);
	for (i = 0; rels != NULL && i < rels->n; i++) {
		const struct store_app_release *r = &rels->items[i];

		o = tmpl_append(d, "releases");
		tmpl_set_int(o, "release_id", r->id);
		tmpl_set(o, "version", r->version);
		tmpl_set(o, "author", r->author);
		tmpl_set(o, "message", r->message);
		tmpl_set(o, "release_status",
		    store_release_status_name(r->status));
		tmpl_set(o, "release_reason", r->reason);
		pages_time(o, "received", r->received_at);
		if (r->run_id != 0)
			tmpl_set_int(o, "run_id", r->run_id);
		tmpl_set(o, "deployed_to", r->deployed_to);
		if (!operator|| app == NULL || r->deployed_to == NULL ||
		     r->status != STORE_RELEASE_VALID)
			continue;
		for (j = 0; j < app->nenvironments; j++) {
			e = tmpl_append(o, "redeploy");
			tmpl_set(e, "env", app->environments[j].name);
		}
	}
	if (rels != NULL && rels->next_before != 0)
		tmpl_setf(d, "releases_more",
		    "Only the newest %d releases are "
		    "shown.",
		    PAGES_RELEASES_LIMIT);
	if (app != NULL) {
		char *base = xasprintf("/apps/%s", name);

		rc = pages_stats(ctx, app, base, d, cause);
		free(base);
		if (rc != 0)
			goto out;
	}
	rc = pages_render(ctx, "app.html", name, NULL, d, notice, error, 200,
	    out, cause);
out:
	store_app_releases_free(rels);
	store_active_stages_free(active);
	tmpl_free(d);
	return (rc);
}

/* --- The audit log ---------------------------------------------------------------- */

int
pages_audit(const struct page_ctx *ctx, int64_t before, struct buf *out,
    char **cause)
{
	struct store_audit_page *a = NULL;
	struct tmpl_data	*d;
	char			*why = NULL;
	int			 rc;

	d = tmpl_new();
	if ((rc = store_audit_page(ctx->store, 0, before > 0 ? before : 0,
		 PAGES_AUDIT_LIMIT, &a, &why)) != 0) {
		rc = pages_fail(cause, rc, why);
		goto out;
	}
	pages_audit_rows(a, d, 1);
	if (a->next_before != 0)
		tmpl_setf(d, "older", "/audit?before=%lld",
		    (long long)a->next_before);
	if (before > 0)
		tmpl_set(d, "newest", "/audit");
	rc = pages_render(ctx, "audit.html", "Audit log", "audit", d, NULL,
	    NULL, 200, out, cause);
out:
	store_audit_page_free(a);
	tmpl_free(d);
	return (rc);
}

/* --- Static files ------------------------------------------------------------------ */

static const struct {
	const char *path;
	const char *file;
	const char *type;
} web_asset_table[] = {
	{ "/static/portal.css", "portal.css", "text/css; charset=utf-8" },
	{ "/static/portal.js", "portal.js", "text/javascript; charset=utf-8" },
};
#define WEB_NASSETS (sizeof web_asset_table / sizeof web_asset_table[0])
static struct web_asset web_assets[WEB_NASSETS];
static pthread_once_t	web_assets_once = PTHREAD_ONCE_INIT;

static void
web_assets_init(void)
{
	const struct web_file *f;
	size_t		       i;

	for (i = 0; i < WEB_NASSETS; i++) {
		if ((f = web_file_find(web_asset_table[i].file)) == NULL)
			continue;
		web_assets[i].path = web_asset_table[i].path;
		web_assets[i].content_type = web_asset_table[i].type;
		web_assets[i].data = f->data;
		web_assets[i].size = f->size;
		web_assets[i].etag = f->etag;
	}
}

const struct web_asset *
web_asset_find(const char *path)
{
	size_t i;

	pthread_once(&web_assets_once, web_assets_init);
	for (i = 0; i < WEB_NASSETS; i++)
		if (web_assets[i].path != NULL &&
		    strcmp(web_assets[i].path, path) == 0)
			return (&web_assets[i]);
	return (NULL);
}
