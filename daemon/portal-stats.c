/*
 * "History at a glance": the delivery measures as small server-rendered
 * SVG charts with their figures as text, and as JSON (portal-stats.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "portal-stats.h"
#include "run-json.h"
#include "stats.h"
#include "store.h"
#include "tmpl.h"
#include "xmalloc.h"

#define DAY_MS (86400 * (int64_t)1000)

/* Colours of the steps (stats.h order), told apart also by position and
 * by the legend's text, never by colour alone. */
static const char *const portal_stats_colours[STATS_NSTEPS] = {
	"#6a1b9a", /* images */
	"#1565c0", /* change set */
	"#ef6c00", /* approval */
	"#9e9d24", /* window */
	"#2e7d32", /* executing */
	"#00838f", /* ECS */
	"#5d4037", /* checks */
	"#c2185b", /* gate */
};

int
portal_stats_days_ok(int64_t days)
{
	return (days == 30 || days == 90 || days == 365);
}

/* "3 d 4 h", "2 h 5 min", "4 min 10 s", "12 s", "850 ms". */
static void
portal_stats_duration(char *out, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(out, len, "none");
	else if (ms < 1000)
		snprintf(out, len, "%" PRId64 " ms", ms);
	else if (s < 60)
		snprintf(out, len, "%" PRId64 " s", s);
	else if (s < 3600)
		snprintf(out, len, "%" PRId64 " min %" PRId64 " s", s / 60,
		    s % 60);
	else if (s < 86400)
		snprintf(out, len, "%" PRId64 " h %" PRId64 " min", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(out, len, "%" PRId64 " d %" PRId64 " h", s / 86400,
		    (s % 86400) / 3600);
}

static void
portal_stats_date(char *out, size_t len, int64_t ms)
{
	time_t	  secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL)
		snprintf(out, len, "?");
	else
		strftime(out, len, "%Y-%m-%d", &tm);
}

static int
portal_stats_compute(struct store *s, const struct config *c,
    const struct config_app *app, int64_t from, int64_t to, struct stats **stp,
    char **cause)
{
	struct store_stats_rows *rows;
	const struct config_app *a;
	const char	       **envs = NULL;
	int64_t			 app_id;
	size_t			 i, j, nenvs = 0;
	int			 rc = 0;

	*stp = NULL;
	rows = store_stats_rows_new();
	for (i = 0; i < c->napps; i++) {
		a = &c->apps[i];
		if ((app != NULL && a != app) || a->nenvironments == 0)
			continue;
		for (j = 0; j < a->nenvironments; j++) {
			size_t k;

			for (k = 0; k < nenvs; k++)
				if (strcmp(envs[k], a->environments[j].name) ==
				    0)
					break;
			if (k < nenvs)
				continue;
			envs = xreallocarray(envs, nenvs + 1, sizeof *envs);
			envs[nenvs++] = a->environments[j].name;
		}
		rc = store_app_id(s, a->name, &app_id, cause);
		if (rc == STORE_ENOTFOUND) {
			free(*cause);
			*cause = NULL;
			rc = 0;
			continue;
		}
		if (rc != 0 || (rc = store_stats_add(s, rows, app_id,
				    a->environments[a->nenvironments - 1].name,
				    from, to, cause)) != 0)
			goto out;
	}
	*stp = stats_compute(from, to, rows->deps, rows->ndeps, rows->steps,
	    rows->nsteps, envs, nenvs);
out:
	free(envs);
	store_stats_rows_free(rows);
	return (rc);
}

/*
 * The measures read every run of the period (at one run a minute, 30
 * days are 130,000 stages: 0.1 s; 365 days, 0.3 s, most of it reading
 * the step times): too slow to compute for every page.  They are kept
 * here, for every portal thread, per app and period, for
 * PORTAL_STATS_TTL_MS: a page shows figures at most that old.  When an
 * entry is stale, one request computes it again while the others are
 * served the stale one, so a busy page never waits behind the
 * computation more than once.
 *
 * And so that no request waits for it at all, the portal's stats thread
 * (portal_stats_refresh) computes every app's periods when it starts
 * (the default one only when there are more than the cache holds), and
 * computes again, PORTAL_STATS_AHEAD_MS before they go
 * stale, the entries a request asked for in the last
 * PORTAL_STATS_KEEP_MS, a new day's period included: a request finds its
 * figures computed.  The medians and percentiles are exact (nearest
 * rank over every sample), which sums kept per week could not give.
 */
#define PORTAL_STATS_TTL_MS   (60 * 1000)
#define PORTAL_STATS_AHEAD_MS (20 * 1000)
#define PORTAL_STATS_KEEP_MS  (15 * 60 * 1000)
#define PORTAL_STATS_CACHE    32

struct portal_stats_cached {
	char	     *key; /* "APP DAYS"; NULL: free */
	struct stats *stats;
	int64_t	      from;  /* the period's start */
	int64_t	      at;    /* computed */
	int64_t	      asked; /* by a request, last */
	int	      refreshing;
};
/* A stats thread refreshes the entries (portal_stats_refresh): a request
   serves an entry its period's day has just left, until it is done. */
static int			  portal_stats_refresher;
static struct portal_stats_cached portal_stats_cache[PORTAL_STATS_CACHE];
static pthread_mutex_t		  portal_stats_lock = PTHREAD_MUTEX_INITIALIZER;
/* Signalled when a computation ends: the requests that found no figures
   yet wait for the one computing them rather than all computing the
   same (64 connections on a cold page would each read every run). */
static pthread_cond_t portal_stats_done = PTHREAD_COND_INITIALIZER;

/* Under the lock. */
static struct portal_stats_cached *
portal_stats_find(const char *key)
{
	size_t i;

	for (i = 0; i < PORTAL_STATS_CACHE; i++) {
		if (portal_stats_cache[i].key != NULL &&
		    strcmp(portal_stats_cache[i].key, key) == 0)
			return (&portal_stats_cache[i]);
	}
	return (NULL);
}

/* Under the lock: a free entry for key, else the oldest one's. */
static struct portal_stats_cached *
portal_stats_slot(const char *key, int64_t now)
{
	struct portal_stats_cached *e;
	size_t			    i;

	e = &portal_stats_cache[0];
	for (i = 0; i < PORTAL_STATS_CACHE; i++) {
		if (portal_stats_cache[i].key == NULL) {
			e = &portal_stats_cache[i];
			break;
		}
		if (portal_stats_cache[i].at < e->at)
			e = &portal_stats_cache[i];
	}
	free(e->key);
	stats_free(e->stats);
	e->key = xstrdup(key);
	e->stats = NULL;
	e->from = 0;
	e->at = now;
	e->asked = 0;
	e->refreshing = 0;
	return (e);
}

/* Under the lock: keeps a copy of st, in place of the oldest entry. */
static void
portal_stats_put(const char *key, const struct stats *st, int64_t from,
    int64_t now)
{
	struct portal_stats_cached *e;

	if ((e = portal_stats_find(key)) == NULL)
		e = portal_stats_slot(key, now);
	stats_free(e->stats);
	e->stats = stats_dup(st);
	e->from = from;
	e->at = now;
	e->refreshing = 0;
}

/* Under the lock: whether a request may be served e's figures. */
static int
portal_stats_usable(const struct portal_stats_cached *e, int64_t from,
    int64_t now)
{
	if (e == NULL || e->stats == NULL)
		return (0);
	if (e->from == from && now - e->at < PORTAL_STATS_TTL_MS)
		return (1);
	/* Stale: another request, or the stats thread, is computing it;
	   a day's change is the thread's to catch up with. */
	return (e->refreshing ||
		(portal_stats_refresher && now - e->at < PORTAL_STATS_TTL_MS));
}

/* Computes key's figures (the caller marked it refreshing) and keeps
 * them; the waiters are told. */
static int
portal_stats_fill(struct store *s, const struct config *c,
    const struct config_app *app, const char *key, int64_t from, int64_t to,
    int64_t now, const char *by, struct stats **stp, char **cause)
{
	struct portal_stats_cached *e;
	struct timespec		    t0, t1;
	int			    rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = portal_stats_compute(s, c, app, from, to, stp, cause);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug(LOG_CAT_PORTAL,
	    "portal: delivery measures computed key=\"%s\" by=%s "
	    "ms=%lld rc=%d",
	    key, by,
	    (long long)((t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000),
	    rc);
	pthread_mutex_lock(&portal_stats_lock);
	if (rc == 0)
		portal_stats_put(key, *stp, from, now);
	else if ((e = portal_stats_find(key)) != NULL) {
		e->refreshing = 0;
		if (e->stats == NULL) {
			free(e->key);
			e->key = NULL;
		}
	}
	pthread_cond_broadcast(&portal_stats_done);
	pthread_mutex_unlock(&portal_stats_lock);
	return (rc);
}

static void
portal_stats_period(int64_t now, int days, int64_t *from, int64_t *to)
{
	/* Whole days, so a reload within the day shows the same weeks. */
	*to = (now / DAY_MS + 1) * DAY_MS;
	*from = *to - (int64_t)days * DAY_MS;
}

void
portal_stats_refresher_set(int on)
{
	pthread_mutex_lock(&portal_stats_lock);
	portal_stats_refresher = on;
	pthread_mutex_unlock(&portal_stats_lock);
}

void
portal_stats_refresh(struct store *s, const struct config *c, int64_t now,
    int warm)
{
	static const int	    periods[] = { PORTAL_STATS_DAYS, 90, 365 };
	struct portal_stats_cached *e;
	const struct config_app	   *app;
	struct stats		   *st;
	char			   *key, *cause;
	int64_t			    from, to;
	size_t			    i, k;
	int			    due;

	for (i = 0; i <= c->napps; i++) {
		/* Every app, then the dashboard (NULL: every app summed). */
		app = i < c->napps ? &c->apps[i] : NULL;
		if (app != NULL && app->nenvironments == 0)
			continue;
		for (k = 0; k < sizeof periods / sizeof *periods; k++) {
			/* Warming: the three periods when the cache holds
			   them all, else the default one of as many as it
			   holds. */
			if (warm && (c->napps + 1) * 3 > PORTAL_STATS_CACHE &&
			    (k > 0 || i >= PORTAL_STATS_CACHE / 2))
				break;
			portal_stats_period(now, periods[k], &from, &to);
			key = xasprintf("%s %d", app != NULL ? app->name : "*",
			    periods[k]);
			pthread_mutex_lock(&portal_stats_lock);
			e = portal_stats_find(key);
			if (warm)
				due = e == NULL;
			else
				due = e != NULL && !e->refreshing &&
				      e->stats != NULL &&
				      now - e->asked < PORTAL_STATS_KEEP_MS &&
				      (e->from != from ||
					  now - e->at >=
					      PORTAL_STATS_TTL_MS -
						  PORTAL_STATS_AHEAD_MS);
			if (due) {
				if (e == NULL) {
					e = portal_stats_slot(key, now);
					/* Kept fresh a while: the first
					   visits after a start find it. */
					e->asked = now;
				}
				e->refreshing = 1;
			}
			pthread_mutex_unlock(&portal_stats_lock);
			cause = NULL;
			st = NULL;
			if (due && portal_stats_fill(s, c, app, key, from, to,
				       now, "stats-thread", &st, &cause) != 0)
				log_debug(LOG_CAT_PORTAL,
				    "portal: cannot compute the "
				    "delivery measures of %s: %s",
				    key, cause != NULL ? cause : "?");
			stats_free(st);
			free(cause);
			free(key);
		}
	}
}

int
portal_stats_load(struct store *s, const struct config *c,
    const struct config_app *app, int64_t now, int days, struct stats **stp,
    char **cause)
{
	struct portal_stats_cached *e;
	char			   *key;
	int64_t			    from, to;
	int			    rc;

	*stp = NULL;
	portal_stats_period(now, days, &from, &to);
	key = xasprintf("%s %d", app != NULL ? app->name : "*", days);
	pthread_mutex_lock(&portal_stats_lock);
	while ((e = portal_stats_find(key)) != NULL && e->stats == NULL &&
	       e->refreshing)
		pthread_cond_wait(&portal_stats_done, &portal_stats_lock);
	if (e != NULL)
		e->asked = now;
	if (portal_stats_usable(e, from, now)) {
		*stp = stats_dup(e->stats);
		pthread_mutex_unlock(&portal_stats_lock);
		free(key);
		return (0);
	}
	if (e == NULL) {
		e = portal_stats_slot(key, now);
		e->asked = now;
	}
	e->refreshing = 1;
	pthread_mutex_unlock(&portal_stats_lock);

	rc = portal_stats_fill(s, c, app, key, from, to, now, "request", stp,
	    cause);
	free(key);
	return (rc);
}

/* --- Charts -------------------------------------------------------- */

/*
 * The charts are data for the templates (web/app.html, dashboard.html,
 * run.html draw them as SVG): coordinates computed here, every value
 * escaped there as any other.
 */
#define STATS_W	      560 /* chart width */
#define STATS_WEEKS_H 80  /* the weekly bars' height */
#define STATS_TOP     14  /* room for the scale's label */
#define STATS_LABEL_W 80  /* environment names left of the bars */
#define STATS_ROW_H   18
#define STATS_GAP     6

static void
portal_stats_fmt(struct tmpl_data *d, const char *name, double v)
{
	tmpl_setf(d, name, "%.1f", v);
}

/* Deployments per week: a bar per week, good below, failed on top. */
static void
portal_stats_weeks(struct tmpl_data *d, const struct stats *st)
{
	struct tmpl_data *o;
	double		  bw, x, w;
	char		  date[16], lead[32];
	int		  max = 1, t, gh, fh;
	size_t		  i;

	for (i = 0; i < st->nweeks; i++) {
		t = st->weeks[i].good + st->weeks[i].failed;
		if (t > max)
			max = t;
	}
	tmpl_set_int(d, "weeks_w", STATS_W);
	tmpl_set_int(d, "weeks_h", STATS_WEEKS_H + STATS_TOP);
	tmpl_set_int(d, "weeks_max", max);
	bw = (double)STATS_W / (double)st->nweeks;
	w = bw - 2 > 1 ? bw - 2 : 1;
	for (i = 0; i < st->nweeks; i++) {
		o = tmpl_append(d, "weeks");
		gh = st->weeks[i].good * STATS_WEEKS_H / max;
		fh = st->weeks[i].failed * STATS_WEEKS_H / max;
		x = bw * (double)i + 1;
		portal_stats_date(date, sizeof date, st->weeks[i].from);
		portal_stats_duration(lead, sizeof lead,
		    st->weeks[i].lead_median);
		tmpl_set(o, "week", date);
		tmpl_set_int(o, "week_good", st->weeks[i].good);
		tmpl_set_int(o, "week_failed", st->weeks[i].failed);
		tmpl_set(o, "week_lead", lead);
		portal_stats_fmt(o, "x", x);
		portal_stats_fmt(o, "w", w);
		tmpl_set_int(o, "good_y", STATS_TOP + STATS_WEEKS_H - gh);
		tmpl_set_int(o, "good_h", gh);
		if (fh > 0) {
			struct tmpl_data *f = tmpl_object(o, "failed_bar");

			tmpl_set_int(f, "failed_y",
			    STATS_TOP + STATS_WEEKS_H - gh - fh);
			tmpl_set_int(f, "failed_h", fh);
		}
	}
}

/*
 * One horizontal bar per row (list `name` in d), a segment per step,
 * widths in proportion to time (the longest row fills the width), and
 * the same figures as table cells.  ms[row][step], -1: none.
 */
static void
portal_stats_bars(struct tmpl_data *d, const char *name,
    const char *const *labels, const int64_t (*ms)[STATS_NSTEPS], size_t nrows)
{
	struct tmpl_data *row, *o;
	int64_t		  total, max = 1;
	double		  x, sw;
	char		  dur[32];
	size_t		  r;
	int		  k, y;

	for (r = 0; r < nrows; r++) {
		total = 0;
		for (k = 0; k < STATS_NSTEPS; k++)
			total += ms[r][k] > 0 ? ms[r][k] : 0;
		if (total > max)
			max = total;
	}
	tmpl_setf(d, "bars_h", "%d",
	    (int)nrows * (STATS_ROW_H + STATS_GAP) + STATS_GAP);
	tmpl_set_int(d, "bars_w", STATS_W);
	tmpl_list(d, "steps_head");
	for (k = 0; k < STATS_NSTEPS; k++) {
		o = tmpl_append(d, "steps_head");
		tmpl_set(o, "step_label", stats_step_label((enum stats_step)k));
		tmpl_set(o, "step_fill", portal_stats_colours[k]);
	}
	tmpl_list(d, name);
	for (r = 0; r < nrows; r++) {
		row = tmpl_append(d, name);
		y = STATS_GAP + (int)r * (STATS_ROW_H + STATS_GAP);
		tmpl_set(row, "bar_env", labels[r]);
		tmpl_set_int(row, "bar_y", y);
		tmpl_set_int(row, "text_y", y + STATS_ROW_H - 5);
		tmpl_set_int(row, "bar_h", STATS_ROW_H);
		x = STATS_LABEL_W;
		for (k = 0; k < STATS_NSTEPS; k++) {
			o = tmpl_append(row, "cells");
			if (ms[r][k] < 0)
				continue;
			portal_stats_duration(dur, sizeof dur, ms[r][k]);
			tmpl_set(o, "cell", dur);
			if (ms[r][k] == 0)
				continue;
			sw = (double)(STATS_W - STATS_LABEL_W) *
			     (double)ms[r][k] / (double)max;
			o = tmpl_append(row, "segs");
			portal_stats_fmt(o, "seg_x", x);
			tmpl_setf(o, "seg_w", "%.2f", sw);
			tmpl_set(o, "seg_fill", portal_stats_colours[k]);
			tmpl_setf(o, "seg_title", "%s, %s: %s", labels[r],
			    stats_step_label((enum stats_step)k), dur);
			x += sw;
		}
	}
}

void
portal_stats_tmpl(struct tmpl_data *parent, const struct stats *st, int days,
    const char *prod_env)
{
	static const int  periods[] = { 30, 90, 365 };
	struct tmpl_data *d, *o;
	const char	**labels;
	int64_t(*ms)[STATS_NSTEPS];
	char   a[32], b[32];
	size_t i, e;
	int    k;

	d = tmpl_object(parent, "stats");
	for (i = 0; i < sizeof periods / sizeof *periods; i++) {
		o = tmpl_append(d, "periods");
		tmpl_set_int(o, "period", periods[i]);
		tmpl_set_bool(o, "current", periods[i] == days);
	}
	tmpl_set_int(d, "days", days);
	tmpl_set(d, "prod", prod_env != NULL ? prod_env : "Prod");
	tmpl_set_int(d, "good", st->good);
	tmpl_set_int(d, "failed", st->failed);
	tmpl_set_int(d, "deployments", st->deployments);
	portal_stats_fmt(d, "per_week", st->per_week);
	portal_stats_duration(a, sizeof a, st->lead_median);
	portal_stats_duration(b, sizeof b, st->lead_p90);
	tmpl_setf(d, "lead", "median %s, p90 %s", a, b);
	if (st->failure_rate < 0)
		tmpl_set(d, "rate", "none (no deployment)");
	else
		tmpl_setf(d, "rate", "%.1f%% (%d of %d)",
		    st->failure_rate * 100, st->failed, st->deployments);
	portal_stats_duration(a, sizeof a, st->restore_median);
	tmpl_setf(d, "restore", "median %s (%d restored, %d not yet)", a,
	    st->restores, st->unrestored);
	portal_stats_weeks(d, st);

	labels = xcalloc(st->nenvs + 1, sizeof *labels);
	ms = xcalloc(st->nenvs + 1, sizeof *ms);
	for (e = 0; e < st->nenvs; e++) {
		labels[e] = st->envs[e].environment;
		for (k = 0; k < STATS_NSTEPS; k++)
			ms[e][k] = st->envs[e].median[k];
	}
	portal_stats_bars(d, "bars", labels, (const int64_t(*)[STATS_NSTEPS])ms,
	    st->nenvs);
	free(ms);
	free(labels);
}

int
portal_stats_run_tmpl(struct tmpl_data *parent, struct store *s, int64_t run_id,
    int64_t now, char **cause)
{
	struct store_stats_rows *rows;
	const char	       **labels = NULL;
	int64_t(*ms)[STATS_NSTEPS] = NULL;
	size_t i, n = 0;
	int    k, rc;

	rows = store_stats_rows_new();
	if ((rc = store_stats_run(s, rows, run_id, now, cause)) != 0)
		goto out;
	/* Rows come in stage order: a new environment starts a new bar. */
	for (i = 0; i < rows->nsteps; i++) {
		const struct stats_step_time *t = &rows->steps[i];

		if (n == 0 || strcmp(labels[n - 1], t->environment) != 0) {
			labels = xreallocarray(labels, n + 1, sizeof *labels);
			ms = xreallocarray(ms, n + 1, sizeof *ms);
			labels[n] = t->environment;
			for (k = 0; k < STATS_NSTEPS; k++)
				ms[n][k] = -1;
			n++;
		}
		if ((k = stats_step_of_status(t->status)) < 0)
			continue;
		ms[n - 1][k] = (ms[n - 1][k] > 0 ? ms[n - 1][k] : 0) + t->ms;
	}
	if (n > 0)
		portal_stats_bars(tmpl_object(parent, "run_steps"), "bars",
		    labels, (const int64_t(*)[STATS_NSTEPS])ms, n);
out:
	free(ms);
	free(labels);
	store_stats_rows_free(rows);
	return (rc);
}

/* --- JSON ---------------------------------------------------------- */

static json_t *
portal_stats_ms(int64_t ms)
{
	return (ms < 0 ? json_null() : json_integer((json_int_t)ms));
}

json_t *
portal_stats_json(const struct stats *st, const char *app, const char *prod_env,
    int days)
{
	json_t *o, *weeks, *envs, *e, *med, *n;
	size_t	i;
	int	k;

	weeks = json_array();
	for (i = 0; i < st->nweeks; i++)
		json_array_append_new(weeks,
		    json_pack("{s:o, s:i, s:i, s:o}", "from",
			run_json_time(st->weeks[i].from), "deployments",
			st->weeks[i].good, "failed", st->weeks[i].failed,
			"lead_time_median_ms",
			portal_stats_ms(st->weeks[i].lead_median)));
	envs = json_array();
	for (i = 0; i < st->nenvs; i++) {
		med = json_object();
		n = json_object();
		for (k = 0; k < STATS_NSTEPS; k++) {
			json_object_set_new(med, stats_step_name(k),
			    portal_stats_ms(st->envs[i].median[k]));
			json_object_set_new(n, stats_step_name(k),
			    json_integer(st->envs[i].n[k]));
		}
		e = json_pack("{s:o, s:o, s:o}", "name",
		    run_json_str(st->envs[i].environment), "median_ms", med,
		    "samples", n);
		json_array_append_new(envs, e);
	}
	o = json_pack("{s:o, s:o, s:i, s:o, s:o}", "app", run_json_str(app),
	    "prod", run_json_str(prod_env), "days", days, "from",
	    run_json_time(st->from), "to", run_json_time(st->to));
	json_object_set_new(o, "deployment_frequency",
	    json_pack("{s:i, s:f}", "deployments", st->good, "per_week",
		st->per_week));
	json_object_set_new(o, "lead_time",
	    json_pack("{s:o, s:o, s:i}", "median_ms",
		portal_stats_ms(st->lead_median), "p90_ms",
		portal_stats_ms(st->lead_p90), "samples", st->good));
	json_object_set_new(o, "change_failure_rate",
	    json_pack("{s:o, s:i, s:i}", "rate",
		st->failure_rate < 0 ? json_null() :
				       json_real(st->failure_rate),
		"failed", st->failed, "deployments", st->deployments));
	json_object_set_new(o, "time_to_restore",
	    json_pack("{s:o, s:i, s:i}", "median_ms",
		portal_stats_ms(st->restore_median), "restored", st->restores,
		"unrestored", st->unrestored));
	json_object_set_new(o, "weeks", weeks);
	json_object_set_new(o, "environments", envs);
	return (o);
}
