/*
 * The delivery measures drawn (issue 16): the app page's and the
 * dashboard's "History at a glance", the run page's timeline, and
 * GET /api/v1/apps/{app}/stats?days=N (docs/api.md).  Charts are small
 * SVG the templates draw from the coordinates computed here, readable
 * without JavaScript, each with its figures as text beside it for
 * screen readers.  Rows come from store-stats.c,
 * the computation from stats.c.
 */
#ifndef SHIPGATE_PORTAL_STATS_H
#define SHIPGATE_PORTAL_STATS_H

#include <stdint.h>

#include <jansson.h>


struct config;
struct config_app;
struct portal_req;
struct portal_reply;
struct stats;
struct store;
struct tmpl_data;

#define PORTAL_STATS_DAYS 30 /* the period when none is asked */

/* Whether days is a period the pages offer (30, 90, 365). */
int portal_stats_days_ok(int64_t days);

/*
 * The measures of app (configured: its last environment is Prod; NULL:
 * every configured app summed, the dashboard) over the `days` days
 * before now.  *stp is the caller's (stats_free).  0 or a STORE_E* code
 * with *cause.
 */
int portal_stats_load(struct store *, const struct config *,
    const struct config_app *app, int64_t now, int days, struct stats **stp,
    char **cause);

/*
 * The portal's stats thread: portal_stats_refresh computes, with that
 * thread's own store connection, the entries due (warm: every app's
 * periods and the dashboard's, when it starts; else those asked
 * for lately, before they go stale or when the day changes), so that
 * requests find them computed.  portal_stats_refresher_set(1) while it
 * runs: requests then leave the day's change to it.
 */
void portal_stats_refresh(struct store *, const struct config *, int64_t now,
    int warm);
void portal_stats_refresher_set(int on);

/* The measures as d's object "stats" for the templates' "History at a
 * glance" (web/app.html, web/dashboard.html). */
void portal_stats_tmpl(struct tmpl_data *d, const struct stats *, int days,
    const char *prod_env);
/* The run page's chart of run_id's stages as d's object "run_steps"
 * (nothing when no stage has a step time yet). */
int portal_stats_run_tmpl(struct tmpl_data *d, struct store *, int64_t run_id,
    int64_t now, char **cause);

/* The measures as GET /api/v1/apps/{app}/stats answers (docs/api.md). */
json_t *portal_stats_json(const struct stats *, const char *app,
    const char *prod_env, int days);

#endif
