/*
 * Delivery measures from the store's rows (stats.h): sorting and
 * counting, nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "xmalloc.h"

static const struct {
	const char *name;
	const char *label;
} stats_steps[STATS_NSTEPS] = {
	{ "images", "images copied" },
	{ "change_set", "change set" },
	{ "approval", "waiting for approval" },
	{ "window", "waiting for the deploy window" },
	{ "executing", "executing" },
	{ "ecs", "ECS services" },
	{ "checks", "checks" },
	{ "gate", "waiting at the gate" },
};

/* Which stage statuses count in which step (states.h's names). */
static const struct {
	const char     *status;
	enum stats_step step;
} stats_status_steps[] = {
	{ "promoting", STATS_STEP_IMAGES },
	{ "creating_change_set", STATS_STEP_CHANGE_SET },
	{ "awaiting_approval", STATS_STEP_APPROVAL },
	{ "awaiting_window", STATS_STEP_WINDOW },
	{ "executing", STATS_STEP_EXECUTING },
	{ "waiting_stack", STATS_STEP_EXECUTING },
	{ "waiting_services", STATS_STEP_ECS },
	{ "checking", STATS_STEP_CHECKS },
	{ "awaiting_gate", STATS_STEP_GATE },
};

const char *
stats_step_name(enum stats_step step)
{
	return ((unsigned)step < STATS_NSTEPS ? stats_steps[step].name : "");
}

const char *
stats_step_label(enum stats_step step)
{
	return ((unsigned)step < STATS_NSTEPS ? stats_steps[step].label : "");
}

int
stats_step_of_status(const char *status)
{
	size_t i;

	if (status == NULL)
		return (-1);
	for (i = 0; i < sizeof stats_status_steps / sizeof *stats_status_steps;
	     i++) {
		if (strcmp(stats_status_steps[i].status, status) == 0)
			return ((int)stats_status_steps[i].step);
	}
	return (-1);
}

const char *
stats_step_status(enum stats_step step)
{
	size_t i;

	for (i = 0; i < sizeof stats_status_steps / sizeof *stats_status_steps;
	     i++) {
		if (stats_status_steps[i].step == step)
			return (stats_status_steps[i].status);
	}
	return ("");
}

static int
stats_cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

int64_t
stats_percentile(int64_t *v, size_t n, int pct)
{
	size_t rank;

	if (n == 0)
		return (-1);
	qsort(v, n, sizeof *v, stats_cmp_int64);
	/* ceil(pct * n / 100) in integers: 90% of 70 is rank 63, which
	 * 0.9 * 70 in floating point would make 64. */
	rank = ((size_t)pct * n + 99) / 100;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (v[rank - 1]);
}

/* Deployments by end time, so "the next good one" is a walk forward. */
static int
stats_cmp_deployment(const void *a, const void *b)
{
	const struct stats_deployment *x = *(
	    const struct stats_deployment *const *)a;
	const struct stats_deployment *y = *(
	    const struct stats_deployment *const *)b;

	if (x->finished_at != y->finished_at)
		return (x->finished_at < y->finished_at ? -1 : 1);
	/* At the same millisecond a failure comes first: restored at 0. */
	return (y->failed - x->failed);
}

static void
stats_deployments(struct stats *st, const struct stats_deployment *deps,
    size_t ndeps)
{
	const struct stats_deployment **in;
	int64_t			       *lead, *restore, **wlead;
	size_t				n = 0, nlead = 0, nrestore = 0, i, j, w;
	size_t			       *nwlead;

	in = xcalloc(ndeps + 1, sizeof *in);
	lead = xcalloc(ndeps + 1, sizeof *lead);
	restore = xcalloc(ndeps + 1, sizeof *restore);
	wlead = xcalloc(st->nweeks, sizeof *wlead);
	nwlead = xcalloc(st->nweeks, sizeof *nwlead);
	for (w = 0; w < st->nweeks; w++)
		wlead[w] = xcalloc(ndeps + 1, sizeof **wlead);
	for (i = 0; i < ndeps; i++) {
		if (deps[i].finished_at >= st->from &&
		    deps[i].finished_at < st->to)
			in[n++] = &deps[i];
	}
	qsort(in, n, sizeof *in, stats_cmp_deployment);
	for (i = 0; i < n; i++) {
		w = (size_t)((in[i]->finished_at - st->from) / STATS_WEEK_MS);
		if (w >= st->nweeks)
			w = st->nweeks - 1;
		st->deployments++;
		if (in[i]->failed) {
			st->failed++;
			st->weeks[w].failed++;
			for (j = i + 1; j < n && in[j]->failed; j++)
				;
			if (j < n)
				restore[nrestore++] = in[j]->finished_at -
						      in[i]->finished_at;
			else
				st->unrestored++;
			continue;
		}
		st->good++;
		st->weeks[w].good++;
		if (in[i]->rollback)
			continue;
		lead[nlead] = in[i]->finished_at - in[i]->received_at;
		if (lead[nlead] < 0)
			lead[nlead] = 0;
		wlead[w][nwlead[w]++] = lead[nlead];
		nlead++;
	}
	st->per_week = (double)st->good * (double)STATS_WEEK_MS /
		       (double)(st->to - st->from);
	st->failure_rate = st->deployments > 0 ?
			       (double)st->failed / (double)st->deployments :
			       -1;
	st->lead_median = stats_percentile(lead, nlead, 50);
	st->lead_p90 = stats_percentile(lead, nlead, 90);
	st->restores = (int)nrestore;
	st->restore_median = stats_percentile(restore, nrestore, 50);
	for (w = 0; w < st->nweeks; w++) {
		st->weeks[w].lead_median = stats_percentile(wlead[w], nwlead[w],
		    50);
		free(wlead[w]);
	}
	free(wlead);
	free(nwlead);
	free(restore);
	free(lead);
	free(in);
}

/* One pass puts each sample in its (environment, step) cell, then
 * each cell is sorted once. */
static void
stats_steps_compute(struct stats *st, const struct stats_step_time *steps,
    size_t nsteps, const char *const *envs)
{
	int64_t *v;
	size_t	*cell, *start, *fill, ncells, c, e, i;
	int	 k;

	ncells = st->nenvs * STATS_NSTEPS;
	cell = xcalloc(nsteps + 1, sizeof *cell);
	start = xcalloc(ncells + 1, sizeof *start);
	fill = xcalloc(ncells + 1, sizeof *fill);
	v = xcalloc(nsteps + 1, sizeof *v);
	for (i = 0; i < nsteps; i++) {
		cell[i] = ncells;
		if ((k = stats_step_of_status(steps[i].status)) < 0 ||
		    steps[i].environment == NULL)
			continue;
		for (e = 0; e < st->nenvs; e++) {
			if (strcmp(steps[i].environment, envs[e]) == 0)
				break;
		}
		if (e == st->nenvs)
			continue;
		cell[i] = e * STATS_NSTEPS + (size_t)k;
		start[cell[i] + 1]++;
	}
	for (c = 0; c < ncells; c++)
		start[c + 1] += start[c];
	for (i = 0; i < nsteps; i++) {
		if ((c = cell[i]) == ncells)
			continue;
		v[start[c] + fill[c]++] = steps[i].ms < 0 ? 0 : steps[i].ms;
	}
	for (e = 0; e < st->nenvs; e++) {
		st->envs[e].environment = xstrdup(envs[e]);
		for (k = 0; k < STATS_NSTEPS; k++) {
			c = e * STATS_NSTEPS + (size_t)k;
			st->envs[e].n[k] = (int)fill[c];
			st->envs[e].median[k] = stats_percentile(v + start[c],
			    fill[c], 50);
		}
	}
	free(v);
	free(fill);
	free(start);
	free(cell);
}

struct stats *
stats_compute(int64_t from, int64_t to, const struct stats_deployment *deps,
    size_t ndeps, const struct stats_step_time *steps, size_t nsteps,
    const char *const *envs, size_t nenvs)
{
	struct stats *st;
	size_t	      w;

	st = xcalloc(1, sizeof *st);
	st->from = from;
	st->to = to > from ? to : from + 1;
	st->nweeks = (size_t)((st->to - st->from + STATS_WEEK_MS - 1) /
			      STATS_WEEK_MS);
	st->weeks = xcalloc(st->nweeks, sizeof *st->weeks);
	for (w = 0; w < st->nweeks; w++)
		st->weeks[w].from = from + (int64_t)w * STATS_WEEK_MS;
	stats_deployments(st, deps, ndeps);
	st->nenvs = nenvs;
	st->envs = xcalloc(nenvs + 1, sizeof *st->envs);
	stats_steps_compute(st, steps, nsteps, envs);
	return (st);
}

struct stats *
stats_dup(const struct stats *st)
{
	struct stats *c;
	size_t	      e;

	c = xmalloc(sizeof *c);
	*c = *st;
	c->weeks = xcalloc(st->nweeks + 1, sizeof *c->weeks);
	memcpy(c->weeks, st->weeks, st->nweeks * sizeof *c->weeks);
	c->envs = xcalloc(st->nenvs + 1, sizeof *c->envs);
	for (e = 0; e < st->nenvs; e++) {
		c->envs[e] = st->envs[e];
		c->envs[e].environment = xstrdup(st->envs[e].environment);
	}
	return (c);
}

void
stats_free(struct stats *st)
{
	size_t e;

	if (st == NULL)
		return;
	for (e = 0; e < st->nenvs; e++)
		free(st->envs[e].environment);
	free(st->envs);
	free(st->weeks);
	free(st);
}
