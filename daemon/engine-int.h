/*
 * What the engine's files share: engine.c (life cycle, the state
 * change, operator actions), engine-states.c (the transition table), engine-stage.c (each stage state's step
 * against AWS), engine-promote.c (the images) and engine-checks.c (the
 * checking step, auto rollback); nobody else includes this header.
 */
#ifndef SHIPGATE_ENGINE_INT_H
#define SHIPGATE_ENGINE_INT_H

#include <sys/queue.h>

#include <stdint.h>

#include <uv.h>

#include "engine.h"
#include "store.h"

struct cfn_stack_event_list;
struct ecs_service_list;
struct checks_run;
struct engine_stackop;
struct syncer;
struct config_app;
struct config_kvs;
struct config_environment;
struct engine_call;
struct release;

/*
 * A run in memory: its row as last read, its one timer and its one AWS
 * call in flight (a run never has two).  Everything that matters is in
 * the store; this is what the loop needs to drive it.
 */
struct engine_run {
	TAILQ_ENTRY(engine_run) entry;
	struct engine	 *engine;
	int64_t		  id;
	char		 *app;
	struct store_run *row; /* reread at every step */

	uv_timer_t	    timer;	/* freed in its close cb */
	struct engine_call *call;	/* in flight, or NULL */
	unsigned int	    polls;	/* since the last transition */
	unsigned int	    unreadable; /* unreadable replies since
						   the last transition */
	int		    timer_armed;

	char **logs; /* transitions of the open
						   transaction, logged once
						   it commits */
	size_t nlogs;

	struct release *release; /* manifest and template,
						   read on first need */
	/* What this process learnt since it started (a restart forgets it
	   and asks AWS again). */
	int64_t		   described_stage; /* change set of this
							   stage/attempt seen */
	int		   described_attempt;
	int64_t		   fresh_stage; /* named by this process and
						   nothing sent yet */
	int		   fresh_attempt;
	int64_t		   promoted_stage; /* images copied for
							   this stage/attempt */
	int		   promoted_attempt;
	int64_t		   images_stage; /* tags read again for
						   this stage/attempt */
	int		   images_attempt;
	int64_t		   stack_stage; /* the stack read for this
						   stage/attempt */
	int		   stack_attempt;
	int64_t		   drift_stage; /* drift recorded for this
						   stage/attempt */
	int		   drift_attempt;
	struct checks_run *checks; /* in flight (with call), or
						   NULL */
};
TAILQ_HEAD(engine_runs, engine_run);
TAILQ_HEAD(engine_stackops, engine_stackop);

struct engine {
	uv_loop_t	      *loop;
	struct store	      *store;
	struct syncer	      *syncer; /* before AWS mutations */
	struct aws_context    *aws;
	const struct config   *config;
	struct engine_runs     runs; /* by id, oldest first */
	size_t		       nruns;
	struct engine_stackops stackops; /* engine-stack.c */
	uv_async_t	       wake;
	int		       started;
	int		       stopping;
	unsigned int	       closing; /* handles not yet closed */
	void (*stop_cb)(void *);
	void   *stop_arg;
	int64_t poll_base_ms;
	int64_t poll_max_ms;
};

/* An AWS call of a run: the callback finds the run through it, unless
 * the engine let go of it (stopping), then it only frees it. */
struct engine_call {
	struct engine_run *run; /* NULL: detached */
	int64_t		   stage_id;
	int		   attempt;
	char		  *what;   /* for a fire-and-forget call */
	void		  *data;   /* call-specific, freed by it */
	void (*free_data)(void *); /* NULL: free() */
};

/* engine.c */
int engine_enter(struct engine_run *, struct store_stage *,
    enum store_stage_status, enum store_run_status, const char *reason,
    const struct engine_actor *);
int engine_stage_set(struct engine_run *, struct store_stage *,
    enum store_stage_status, const char *reason, char **cause);
int engine_txn_begin(struct engine_run *);
int engine_txn_end(struct engine_run *, int ok);
int engine_move(struct engine_run *, struct store_stage *,
    enum store_stage_status, enum store_run_status, const char *reason);
int engine_audit(struct engine_run *, const struct engine_actor *,
    const char *action, const char *detail);
/*
 * How an actor came, for the audit log's "via": "oidc" or "alb" for a
 * person an identity provider signed in (through the portal or the
 * API), else the channel ("portal", "api", "cli", "engine").
 */
const char *engine_actor_via(struct engine *, const struct engine_actor *);
/* The same for any run (NULL actor: shipgated itself). */
int engine_audit_run(struct engine *, int64_t run_id,
    const struct engine_actor *, const char *action, const char *detail);
int engine_sync(struct engine *);
int engine_notify(struct engine *, int64_t run_id, const struct store_stage *,
    const char *event, const char *actor, const char *comment,
    const char *reason);
/* A line (taken) to log once the open transaction commits. */
void		   engine_log_later(struct engine_run *, char *line);
struct engine_run *engine_run_add(struct engine *, int64_t id, const char *app);
void		   engine_schedule(struct engine_run *, int64_t delay_ms);
/* Steps every run of the app not waiting for a reply. */
void engine_kick_app(struct engine *, const char *app);
/* A handle of the engine closed (engine_stop waits for them all). */
void		    engine_handle_closed(struct engine *);
void		    engine_poll_later(struct engine_run *);
struct engine_call *engine_call_new(struct engine_run *, struct store_stage *);
struct engine_run  *engine_call_end(struct engine_call *);
const struct config_app		*engine_run_app(struct engine_run *);
const struct config_environment *engine_stage_env(struct engine_run *,
    struct store_stage *);
struct store_stage		*engine_current_stage(struct engine_run *);
int	engine_stack_busy(struct engine_run *, struct store_stage *);
int64_t engine_newer_run(struct engine_run *);

/*
 * engine-states.c: the transition table, one row per stage state: its
 * step (NULL for a finished state), whether a cancellation or a newer
 * run may end the run there (a safe point: no AWS mutation is under
 * way), and the states it may move to.
 */
struct engine_state {
	void (*step)(struct engine_run *, struct store_stage *,
	    const struct config_environment *);
	int	     safe_point;
	unsigned int next; /* 1u << each state it may enter */
};
const struct engine_state *engine_state(enum store_stage_status);

/* engine-stage.c: one step of the current stage per status (the table's
 * step of its state). */
void engine_stage_step(struct engine_run *, struct store_stage *);
void engine_step_pending(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_creating(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_approval(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_executing(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_waiting_stack(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_waiting_services(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_step_gate(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_delete_change_set(struct engine_run *, struct store_stage *);
void engine_release_drop(struct engine_run *);
void engine_stage_fail(struct engine_run *, struct store_stage *,
    const char *reason);
/* 0 when r->release is ready, 1 when it is being read (the step comes
 * again), -1 with *cause when it cannot be deployed. */
int  engine_release_load(struct engine_run *, struct store_stage *,
     char **cause);
void engine_name_change_set(struct engine_run *, struct store_stage *);
/* Records that the stage's release runs in its environment, then the
 * gate or the end of the stage, in the caller's transaction. */
int engine_deployed(struct engine_run *, struct store_stage *,
    const struct config_environment *, const char *no_changes);

/* engine-checks.c: checking, and the automatic rollback after it. */
void engine_step_checking(struct engine_run *, struct store_stage *,
    const struct config_environment *);
void engine_checks_cancel(struct engine_run *);
int  engine_auto_rollback(const struct engine_run *);
int  engine_mark_rolled_back(struct engine_run *, struct store_stage *);

/* engine-window.c: deploy windows and freezes.  engine_window_check:
 * 1 when st may start executing at now, 0 with *why (caller frees) and
 * *next (the opening, ms; -1: none within a year), -1 on a store
 * error. */
int  engine_window_check(struct engine_run *, const struct store_stage *,
     const struct config_environment *, int64_t now, int64_t *next, char **why);
void engine_step_window(struct engine_run *, struct store_stage *,
    const struct config_environment *);
/* An operator's freeze of app's env until `until` (ms), or (until 0)
 * the lifting of its run-time freezes (freeze_id alone when not 0;
 * refused when only shipgate.yaml's freeze it); an override of st's
 * windows.
 * Checked by the caller (engine.c); recorded with the audit entry in one
 * transaction.  0 or ENGINE_E* with *cause. */
int engine_window_freeze(struct engine *, const char *app, const char *env,
    int64_t until, int64_t freeze_id, const struct engine_actor *,
    const char *comment, char **cause);
int engine_window_override(struct engine *, struct store_run *,
    struct store_stage *, const struct engine_actor *, const char *comment,
    char **cause);

/* engine-promote.c: promoting (the release's images into the
 * environment's registry). */
/* engine-images.c: the pinned images.  engine_images_recheck: 1 when the
   tags are being read again (the step comes again), 0 to go on. */
int engine_images_recheck(struct engine_run *, struct store_stage *);
/* The change set's parameters with images[].parameter's pinned
   references (r->release loaded); 0, or -1 with *cause. */
int engine_images_parameters(struct engine_run *,
    const struct config_environment *, struct config_kvs *, char **cause);
/* engine-diff.c: the stack as it runs, read when the stage starts (1:
   being read, the step comes again); the parameters the change set
   sends compared with it, stored with the attempt. */
int  engine_stack_read(struct engine_run *, struct store_stage *,
     const struct config_environment *);
void engine_params_record(struct engine_run *, struct store_stage *,
    const struct config_kvs *sent);
void engine_step_promoting(struct engine_run *, struct store_stage *,
    const struct config_environment *);
/*
 * engine-drift.c: drift detection before the approval.
 * engine_drift_check: 1 while a detection is under way (the step comes
 * again), 0 to go on (recorded, not checked, or drift: off).
 * engine_drift_blocks: 1 with *why (caller frees) when drift: block
 * refuses st's approval (drift not acknowledged), 0 when it may go on,
 * -1 on a store error.  engine_drift_ack: an operator's acknowledgement
 * with the audit entry, in one transaction; 0 or ENGINE_E* with *cause.
 */
int engine_drift_check(struct engine_run *, struct store_stage *,
    const struct config_environment *);
int engine_drift_blocks(struct engine *, const struct store_stage *,
    const struct config_environment *, char **why);
int engine_drift_ack(struct engine *, struct store_run *, struct store_stage *,
    const struct engine_actor *, const char *comment, char **cause);

/*
 * engine-progress.c: an execution's progress kept with the stage's
 * attempt (stack events, the ECS deployments; since: the execution's
 * time, ms).  Failures are logged: the stage goes on.
 */
void engine_progress_events(struct engine_run *, const struct store_stage *,
    const struct cfn_stack_event_list *);
void engine_progress_services(struct engine_run *, const struct store_stage *,
    const struct ecs_service_list *, int64_t since);

/*
 * engine-stack.c: stacks held stuck (UPDATE_ROLLBACK_FAILED,
 * ROLLBACK_COMPLETE) and the operators' actions on them; the empty
 * stack of a CREATE change set that never ran.
 */
int   engine_hold_status(const char *stack_status);
int   engine_hold_wait(struct engine_run *, struct store_stage *);
void  engine_hold_record(struct engine_run *, struct store_stage *,
     const char *stack, const char *stack_status, const char *reason, int fail);
char *engine_failed_resources(const struct cfn_stack_event_list *);
void  engine_stack_cleanup(struct engine_run *, struct store_stage *);
int   engine_stackop_busy(struct engine *, const char *app, const char *env);
int   engine_stack_action(struct engine *, const char *app, const char *env,
      const char *action, const char *const *skip, size_t nskip,
      const struct engine_actor *, const char *comment, char **cause);
void  engine_stackops_resume(struct engine *);
void  engine_stackops_stop(struct engine *);

/* The reason of a stage whose change set changes nothing: the stage
 * ends as no_changes instead of done (see engine-stage.c). */
#define ENGINE_NO_CHANGES_REASON "no changes: "

#endif
