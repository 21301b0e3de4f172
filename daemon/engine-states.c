/*
 * The engine's transition table: one row per stage state (its step, a
 * safe point or not, the states it may move to) and the moves of a run.
 * engine_enter (engine.c) refuses a move the table does not list, so a
 * new state is added here first: a row, its step in engine-stage.c (or a
 * file of its own), its name in store.c and states.h, its line in
 * shipgated(8)'s STATES (tests/unit/test-engine-states checks both).
 */
#include <stddef.h>

#include "engine-int.h"

#define B(s) (1u << (s))

/* How a stage that has not finished may end besides its own way: it
 * fails, or (at a safe point) a cancellation or a newer run ends it. */
#define ENDS                                                \
	(B(STORE_STAGE_FAILED) | B(STORE_STAGE_CANCELLED) | \
	    B(STORE_STAGE_SUPERSEDED))
/* After the deployment: the gate, or the end of the stage. */
#define DEPLOYED                                              \
	(B(STORE_STAGE_AWAITING_GATE) | B(STORE_STAGE_DONE) | \
	    B(STORE_STAGE_NO_CHANGES))

static const struct engine_state engine_states[STORE_STAGE_STATUS_MAX + 1] = {
	[STORE_STAGE_PENDING] = { engine_step_pending, 1,
	    B(STORE_STAGE_PROMOTING) | B(STORE_STAGE_CREATING_CHANGE_SET) |
		ENDS },
	[STORE_STAGE_PROMOTING] = { engine_step_promoting, 1,
	    B(STORE_STAGE_CREATING_CHANGE_SET) | ENDS },
	/* An empty change set (no changes, nothing to approve) is
	   deployed at once. */
	[STORE_STAGE_CREATING_CHANGE_SET] = { engine_step_creating, 1,
	    B(STORE_STAGE_AWAITING_APPROVAL) | B(STORE_STAGE_EXECUTING) |
		DEPLOYED | ENDS },
	[STORE_STAGE_AWAITING_APPROVAL] = { engine_step_approval, 1,
	    B(STORE_STAGE_EXECUTING) | B(STORE_STAGE_AWAITING_WINDOW) |
		DEPLOYED | B(STORE_STAGE_REJECTED) | B(STORE_STAGE_EXPIRED) |
		ENDS },
	/* The change set runs: no cancellation until the stack is done;
	   a change set no longer executable is created again. */
	[STORE_STAGE_EXECUTING] = { engine_step_executing, 0,
	    B(STORE_STAGE_WAITING_STACK) | B(STORE_STAGE_CREATING_CHANGE_SET) |
		B(STORE_STAGE_FAILED) },
	[STORE_STAGE_WAITING_STACK] = { engine_step_waiting_stack, 0,
	    B(STORE_STAGE_WAITING_SERVICES) | B(STORE_STAGE_FAILED) },
	[STORE_STAGE_WAITING_SERVICES] = { engine_step_waiting_services, 0,
	    B(STORE_STAGE_CHECKING) | B(STORE_STAGE_FAILED) },
	[STORE_STAGE_CHECKING] = { engine_step_checking, 1, DEPLOYED | ENDS },
	[STORE_STAGE_AWAITING_GATE] = { engine_step_gate, 1,
	    B(STORE_STAGE_DONE) | B(STORE_STAGE_NO_CHANGES) |
		B(STORE_STAGE_REJECTED) | B(STORE_STAGE_EXPIRED) | ENDS },
	/* Approved outside the environment's windows (or in a freeze):
	   executes when one opens or an operator overrides; the approval
	   still expires with approval_timeout (engine-window.c). */
	[STORE_STAGE_AWAITING_WINDOW] = { engine_step_window, 1,
	    B(STORE_STAGE_EXECUTING) | B(STORE_STAGE_EXPIRED) | ENDS },
	[STORE_STAGE_DONE] = { NULL, 0, 0 },
	[STORE_STAGE_NO_CHANGES] = { NULL, 0, 0 },
	/* A person's retry starts a new attempt; an automatic rollback
	   run marks it rolled back. */
	[STORE_STAGE_FAILED] = { NULL, 0,
	    B(STORE_STAGE_PENDING) | B(STORE_STAGE_ROLLED_BACK) },
	[STORE_STAGE_REJECTED] = { NULL, 0, 0 },
	[STORE_STAGE_EXPIRED] = { NULL, 0, 0 },
	[STORE_STAGE_SUPERSEDED] = { NULL, 0, 0 },
	[STORE_STAGE_CANCELLED] = { NULL, 0, 0 },
	[STORE_STAGE_ROLLED_BACK] = { NULL, 0, 0 },
};

/* A run is received (or, for an invalid release, created invalid), runs
 * its stages and ends as its current stage ends; a failed run is
 * retried. */
static const unsigned int engine_run_next[STORE_RUN_STATUS_MAX + 1] = {
	[STORE_RUN_RECEIVED] = B(STORE_RUN_RUNNING) | B(STORE_RUN_FAILED) |
			       B(STORE_RUN_CANCELLED) | B(STORE_RUN_SUPERSEDED),
	[STORE_RUN_RUNNING] = B(STORE_RUN_SUCCEEDED) | B(STORE_RUN_FAILED) |
			      B(STORE_RUN_REJECTED) | B(STORE_RUN_EXPIRED) |
			      B(STORE_RUN_CANCELLED) | B(STORE_RUN_SUPERSEDED),
	[STORE_RUN_FAILED] = B(STORE_RUN_RUNNING),
};

const struct engine_state *
engine_state(enum store_stage_status s)
{
	if ((int)s < STORE_STAGE_PENDING || s > STORE_STAGE_STATUS_MAX)
		return (NULL);
	return (&engine_states[s]);
}

unsigned int
engine_stage_moves(enum store_stage_status s)
{
	const struct engine_state *state;

	if ((state = engine_state(s)) == NULL)
		return (0);
	return (state->next);
}

int
engine_stage_safe_point(enum store_stage_status s)
{
	const struct engine_state *state;

	if ((state = engine_state(s)) == NULL)
		return (0);
	return (state->safe_point);
}

unsigned int
engine_run_moves(enum store_run_status s)
{
	if ((int)s < STORE_RUN_RECEIVED || s > STORE_RUN_STATUS_MAX)
		return (0);
	return (engine_run_next[s]);
}
