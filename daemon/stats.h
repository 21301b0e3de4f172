/*
 * Delivery measures (issue 16, "History at a glance"): pure computation
 * from rows the store hands out, no I/O and no clock of its own (the
 * period is passed in), so tests are tables.
 *
 * The four measures, as GitLab's DORA page and the DevOps research
 * define them, over the deployments to the last ("Prod") environment
 * that finished inside the period [from, to):
 *  - deployment frequency: good Prod deployments, in all and per week;
 *  - lead time: from the release zip's arrival (releases.received_at) to
 *    its good Prod deployment's end, median and 90th percentile;
 *  - change failure rate: failed Prod deployments (failed after their
 *    change set was executed, rolled back, or whose checks failed) over
 *    all Prod deployments;
 *  - time to restore: from the end of a failed Prod deployment to the
 *    end of the next good one (median; failures not yet followed by a
 *    good deployment are counted as unrestored).
 * Percentiles are nearest-rank: the value at rank ceil(pct * n / 100) of
 * the n sorted values (the median of 1, 2, 3, 4 is 2).
 *
 * Where the time goes: the median, per environment and step, of the
 * time each stage spent in that step (a stage that never entered a step
 * is not counted for it).
 */
#ifndef SHIPGATE_STATS_H
#define SHIPGATE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The steps of a stage, in the order they happen. */
enum stats_step {
	STATS_STEP_IMAGES,     /* promoting: images copied */
	STATS_STEP_CHANGE_SET, /* creating_change_set */
	STATS_STEP_APPROVAL,   /* awaiting_approval */
	STATS_STEP_WINDOW,     /* awaiting_window: approved, a deploy
				  window or a freeze's end awaited */
	STATS_STEP_EXECUTING,  /* executing, waiting_stack */
	STATS_STEP_ECS,	       /* waiting_services */
	STATS_STEP_CHECKS,     /* checking */
	STATS_STEP_GATE,       /* awaiting_gate */
	STATS_NSTEPS
};

#define STATS_WEEK_MS  (7 * 86400 * (int64_t)1000)
#define STATS_DAYS_MAX 366

/* One Prod deployment (an input row). */
struct stats_deployment {
	int64_t received_at; /* the release zip's arrival */
	int64_t finished_at; /* the stage's end */
	int	failed;	     /* failed, rolled back, checks failed */
	int	rollback;    /* of a rollback run: no lead time
					   (it changes nothing new) */
};

/* The time one stage spent in a stage status, or in a step (then status
 * is stats_step_status's), an input row: one per stage and step. */
struct stats_step_time {
	const char *environment;
	const char *status; /* a stage status name */
	int64_t	    ms;
};

struct stats_week {
	int64_t from; /* ms since the epoch */
	int	good;
	int	failed;
	int64_t lead_median; /* -1: no good deployment */
};

struct stats_env_steps {
	char   *environment;
	int64_t median[STATS_NSTEPS]; /* -1: no sample */
	int	n[STATS_NSTEPS];      /* samples */
};

struct stats {
	int64_t			from, to;
	int			deployments; /* good + failed */
	int			good, failed;
	double			per_week; /* good / weeks of the period */
	int64_t			lead_median, lead_p90; /* -1: none */
	double			failure_rate;	       /* -1: no deployment */
	int64_t			restore_median;	       /* -1: none */
	int			restores, unrestored;
	struct stats_week      *weeks; /* oldest first */
	size_t			nweeks;
	struct stats_env_steps *envs; /* in the order given */
	size_t			nenvs;
};

/* A step's short name ("change_set") and its label ("change set"). */
const char *stats_step_name(enum stats_step);
const char *stats_step_label(enum stats_step);
/* The step a stage status counts in, or -1 (pending, done, ...); the
 * first status of a step (its name in struct stats_step_time). */
int	    stats_step_of_status(const char *status);
const char *stats_step_status(enum stats_step);

/* The nearest-rank percentile pct (1 to 100) of the n values of v (v is
 * sorted in place); -1 when n is 0. */
int64_t stats_percentile(int64_t *v, size_t n, int pct);

/*
 * Computes the measures of the period [from, to) (to - from a whole
 * number of days, at most STATS_DAYS_MAX).  deps: the Prod deployments,
 * any order, including those finished before `from` are ignored except
 * that none is needed; steps: the step times of the stages of the
 * period, any order; envs (nenvs names): the environments in deployment
 * order, one row each in the result (a step time of another environment
 * is ignored).  The caller frees with stats_free.
 */
struct stats *stats_compute(int64_t from, int64_t to,
    const struct stats_deployment *deps, size_t ndeps,
    const struct stats_step_time *steps, size_t nsteps, const char *const *envs,
    size_t nenvs);
/* A copy the caller frees with stats_free (the portal's cache hands
 * out copies). */
struct stats *stats_dup(const struct stats *);
void	      stats_free(struct stats *);

#endif
