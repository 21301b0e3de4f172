/*
 * The statuses of a run and of a stage: the engine's states.  Their
 * meaning, the moves between them and the step of each are the engine's
 * (engine-states.c, the transition table; docs in shipgated(8)).  They
 * live in this low header, not in engine.h, because the store keeps them
 * in its rows (struct store_run, struct store_stage) and the store is a
 * lower layer than the engine (ARCHITECTURE.md): both include this.
 * The names written to the database are the store's
 * (store_stage_status_name).
 */
#ifndef SHIPGATE_STATES_H
#define SHIPGATE_STATES_H

enum store_run_status {
	STORE_RUN_RECEIVED = 1,
	STORE_RUN_RUNNING,
	STORE_RUN_SUCCEEDED, /* the first finished state */
	STORE_RUN_FAILED,
	STORE_RUN_REJECTED,
	STORE_RUN_EXPIRED,
	STORE_RUN_SUPERSEDED,
	STORE_RUN_CANCELLED,
	STORE_RUN_INVALID,
};
#define STORE_RUN_STATUS_MAX STORE_RUN_INVALID

enum store_stage_status {
	STORE_STAGE_PENDING = 1,
	STORE_STAGE_PROMOTING,
	STORE_STAGE_CREATING_CHANGE_SET,
	STORE_STAGE_AWAITING_APPROVAL,
	STORE_STAGE_EXECUTING,
	STORE_STAGE_WAITING_STACK,
	STORE_STAGE_WAITING_SERVICES,
	STORE_STAGE_CHECKING,
	STORE_STAGE_AWAITING_GATE,
	STORE_STAGE_AWAITING_WINDOW, /* approved, outside its windows */
	STORE_STAGE_DONE,	     /* the first finished state */
	STORE_STAGE_NO_CHANGES,
	STORE_STAGE_FAILED,
	STORE_STAGE_REJECTED,
	STORE_STAGE_EXPIRED,
	STORE_STAGE_SUPERSEDED,
	STORE_STAGE_CANCELLED,
	STORE_STAGE_ROLLED_BACK,
};
#define STORE_STAGE_STATUS_MAX STORE_STAGE_ROLLED_BACK

#endif
