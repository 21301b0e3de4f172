/*
 * The delivery measures (stats.c) on a hand-computed history: two weeks
 * of Prod deployments, the step times of two environments, and the
 * nearest-rank percentiles.
 */
#include <stdint.h>
#include <string.h>

#include "stats.h"
#include "tap.h"

#define H (3600 * (int64_t)1000)
#define D (24 * H)

int
main(void)
{
	/* received, finished, failed, rollback */
	static const struct stats_deployment deps[] = {
		{ 1 * D, 2 * D, 1, 0 },		/* b: failed, week 0 */
		{ 0, 10 * H, 0, 0 },		/* a: lead 10 h */
		{ 2 * D, 2 * D + 3 * H, 0, 1 }, /* c: rollback, restores b */
		{ 3 * D, 5 * D, 0, 0 },		/* d: lead 2 d */
		{ 8 * D, 9 * D, 1, 0 },		/* e: failed, week 1 */
		{ 9 * D, 10 * D, 1, 0 },	/* f: failed */
		{ 9 * D, 12 * D, 0, 0 },	/* g: lead 3 d, restores e, f */
		{ 12 * D, 13 * D, 1, 0 },	/* h: failed, not restored */
		{ 14 * D, 15 * D, 0, 0 },	/* after the period */
		{ -2 * D, -1, 1, 0 },		/* before it */
	};
	static const struct stats_step_time steps[] = {
		{ "int", "creating_change_set", 10 },
		{ "int", "creating_change_set", 30 },
		{ "int", "creating_change_set", 20 },
		{ "int", "awaiting_approval", 100 },
		{ "int", "waiting_stack", 7 },
		{ "int", "pending", 1000 },
		{ "int", "done", 1000 },
		{ "stg", "awaiting_approval", 1000 },
		{ "prod", "executing", 5 },
		{ "prod", "awaiting_gate", -3 },
	};
	static const char *const envs[] = { "int", "prod" };
	struct stats		*st;
	int64_t			 v[70];
	size_t			 i;

	for (i = 0; i < 70; i++)
		v[i] = (int64_t)(70 - i);
	is_int(stats_percentile(v, 70, 90), 63,
	    "p90 of 1..70 is rank 63, "
	    "not the 64 of 0.9 * 70 in floating point");
	is_int(stats_percentile(v, 4, 50), 2, "median of 1..4 is 2");
	is_int(stats_percentile(v, 1, 90), 1, "p90 of one value is it");
	is_int(stats_percentile(v, 0, 50), -1, "no value: -1");
	is_int(stats_step_of_status("waiting_stack"), STATS_STEP_EXECUTING,
	    "waiting_stack counts as executing");
	is_int(stats_step_of_status("awaiting_window"), STATS_STEP_WINDOW,
	    "awaiting_window is the window step");
	is_str(stats_step_name(STATS_STEP_WINDOW), "window",
	    "the window step's name");
	is_int(STATS_STEP_WINDOW, STATS_STEP_APPROVAL + 1,
	    "the window step comes after the approval");
	is_int(stats_step_of_status("done"), -1, "done is no step");
	is_int(stats_step_of_status(NULL), -1, "NULL is no step");
	is_str(stats_step_status(STATS_STEP_ECS), "waiting_services",
	    "the ECS step's status");
	is_str(stats_step_name(STATS_STEP_GATE), "gate", "the gate's name");

	st = stats_compute(0, 14 * D, deps, sizeof deps / sizeof *deps, steps,
	    sizeof steps / sizeof *steps, envs, 2);
	is_int(st->good, 4, "good deployments: a, c, d, g");
	is_int(st->failed, 4, "failed: b, e, f, h");
	is_int(st->deployments, 8, "deployments in the period");
	ok(st->per_week > 1.999 && st->per_week < 2.001,
	    "4 good in two weeks: 2 a week (%f)", st->per_week);
	ok(st->failure_rate > 0.499 && st->failure_rate < 0.501,
	    "change failure rate 4 of 8 (%f)", st->failure_rate);
	is_int(st->lead_median, 2 * D,
	    "lead time median: 2 d (rollback c "
	    "has none)");
	is_int(st->lead_p90, 3 * D, "lead time p90: 3 d");
	is_int(st->restores, 3, "b, e, f restored");
	is_int(st->unrestored, 1, "h not yet");
	is_int(st->restore_median, 2 * D, "restore median of 3 h, 3 d, 2 d");
	is_int((long long)st->nweeks, 2, "two weeks");
	is_int(st->weeks[0].from, 0, "week 0 starts the period");
	is_int(st->weeks[1].from, 7 * D, "week 1 a week later");
	is_int(st->weeks[0].good, 3, "week 0: a, c, d");
	is_int(st->weeks[0].failed, 1, "week 0: b failed");
	is_int(st->weeks[0].lead_median, 10 * H,
	    "week 0 lead: 10 h of "
	    "10 h, 2 d");
	is_int(st->weeks[1].good, 1, "week 1: g");
	is_int(st->weeks[1].failed, 3, "week 1: e, f, h failed");
	is_int(st->weeks[1].lead_median, 3 * D, "week 1 lead: 3 d");

	is_int((long long)st->nenvs, 2, "a row per environment asked");
	is_str(st->envs[0].environment, "int", "int first");
	is_int(st->envs[0].median[STATS_STEP_CHANGE_SET], 20,
	    "int change set median of 10, 30, 20");
	is_int(st->envs[0].n[STATS_STEP_CHANGE_SET], 3, "three samples");
	is_int(st->envs[0].median[STATS_STEP_APPROVAL], 100, "int approval");
	is_int(st->envs[0].median[STATS_STEP_EXECUTING], 7,
	    "int executing from waiting_stack");
	is_int(st->envs[0].median[STATS_STEP_GATE], -1, "int: no gate time");
	is_int(st->envs[0].n[STATS_STEP_GATE], 0, "no gate sample");
	is_int(st->envs[1].median[STATS_STEP_EXECUTING], 5, "prod executing");
	is_int(st->envs[1].median[STATS_STEP_GATE], 0,
	    "a negative time (a clock stepped back) counts as 0");
	is_int(st->envs[1].median[STATS_STEP_APPROVAL], -1,
	    "stg's approval is not prod's");
	stats_free(st);

	/* A failure and a good deployment in the same millisecond: the
	 * failure first, restored at once; nothing at all: no figures. */
	{
		static const struct stats_deployment same[] = {
			{ 0, 5 * H, 0, 0 },
			{ 0, 5 * H, 1, 0 },
		};

		st = stats_compute(0, 7 * D, same, 2, NULL, 0, NULL, 0);
		is_int(st->restore_median, 0, "restored in the same ms: 0");
		is_int(st->unrestored, 0, "nothing left unrestored");
		stats_free(st);
		st = stats_compute(0, 30 * D, NULL, 0, NULL, 0, NULL, 0);
		is_int((long long)st->nweeks, 5,
		    "30 days: five weeks, the "
		    "last partial");
		ok(st->failure_rate < 0, "no deployment: no failure rate");
		is_int(st->lead_median, -1, "no lead time");
		is_int(st->restore_median, -1, "no restore time");
		stats_free(st);
	}
	return (tap_done());
}
