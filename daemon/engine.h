/*
 * The pipeline engine: one explicit state machine per run, every
 * transition one committed SQLite transaction (with its audit entry)
 * written before the AWS mutation it leads to, so a crash at any point
 * resumes by reconciling with AWS (describe, never create or execute
 * twice).  It runs on the daemon's loop and owns every unfinished run.
 *
 * A run is a release going through the app's environments in order; a
 * stage is one environment of a run (docs/states.md names the
 * states).  Per stage: promote images (environments with a registry),
 * create and describe a change set, wait for approval, execute, wait for
 * the stack and the ECS services, run the checks, and after an
 * environment with a `gate`, wait for the promotion to be authorised.
 *
 * Decisions (approve, reject, authorise, cancel, retry, redeploy) come
 * from shipgatectl through the control socket and from the portal's
 * pages and API, whose threads hand each one to the loop through the
 * bridge (portal-bridge.h): each is one struct engine_action given to
 * engine_act, on the loop.
 *
 * Errors: 0 or a negative ENGINE_E* (the only error codes of an action,
 * on every path); human detail in *cause (caller frees), worded for the
 * person who asked ("bob may not approve prod: not in project-team").
 */
#ifndef SHIPGATE_ENGINE_H
#define SHIPGATE_ENGINE_H

#include <stdint.h>

#include <uv.h>

/* The run and stage states (states.h: low, as the store keeps them). */
#include "states.h"

struct aws_context;
struct config;
struct store;

#define ENGINE_EINVAL	  (-1) /* bad argument: no such env, ... */
#define ENGINE_ENOTFOUND  (-2) /* no such run or release */
#define ENGINE_EFORBIDDEN (-3) /* the actor may not do this */
#define ENGINE_ECONFLICT  (-4) /* not in a state that allows it */
#define ENGINE_ESTORE	  (-5) /* the database failed */
#define ENGINE_ECLOSING	  (-6) /* the engine is stopping */

const char *engine_strerror(int);

/* Who asks: a configured user, and how (for the audit log). */
struct engine_actor {
	const char *user;      /* config user name ("alice") */
	const char *via;       /* "cli", "portal", "api", "engine" */
	const char *unix_user; /* the caller's Unix user, or NULL */
	/*
	 * The person behind the action: a quorum counts people, not names.
	 * Read only when via is "cli" (the control socket sets it: the
	 * peer's mapped user, or "uid N"); elsewhere the user signed in is
	 * the person.
	 */
	const char *person;
};

/* Comments (approve, reject, cancel, ...) are at most this many
 * characters; longer ones are refused (ENGINE_EINVAL). */
#define ENGINE_COMMENT_MAX 2000

struct engine;

/*
 * Borrowed for the engine's life: loop, store, aws.  The configuration is
 * borrowed until engine_reconfigure gives a new one.
 */
struct engine *engine_new(uv_loop_t *, struct store *, struct aws_context *,
    const struct config *);
/*
 * Reloads every unfinished run from the store and reconciles it with AWS
 * before going on.  0, or a negative code when the store cannot be read.
 */
int engine_start(struct engine *, char **cause);
/* A new configuration after SIGHUP; runs keep going with it. */
void engine_reconfigure(struct engine *, const struct config *);
/*
 * Stops taking work: no new AWS mutation starts, transitions being
 * committed finish, handles close; then cb (once) and the engine is
 * freed.
 */
void engine_stop(struct engine *, void (*cb)(void *), void *arg);
/* Thread-safe (uv_async): the store changed under us (portal). */
void engine_wake(struct engine *);

/*
 * Intake hands over a release it has stored (valid or invalid).  A valid
 * release gets a run (superseding or queueing per the app's mode); an
 * invalid one is only recorded.  *run_id is 0 when no run was created;
 * a release handed over again gets its existing run's id.  The template
 * deployed is the one kept with store_set_release_template (intake keeps
 * it with the release); without one the engine reads the zip from the
 * release's bucket once, validates it again and keeps its template.
 */
int engine_submit_release(struct engine *, int64_t release_id, int64_t *run_id,
    char **cause);

/* Operator and approver actions.  Each is checked against the config's
 * groups (approvers, gate, operators), recorded with the audit entry in
 * one transaction, and acted on from the loop afterwards. */
int engine_approve(struct engine *, int64_t run_id, const char *env,
    const struct engine_actor *, const char *comment, char **cause);
int engine_reject(struct engine *, int64_t run_id, const char *env,
    const struct engine_actor *, const char *comment, char **cause);
int engine_authorise(struct engine *, int64_t run_id,
    const struct engine_actor *, const char *comment, char **cause);
int engine_cancel(struct engine *, int64_t run_id, const struct engine_actor *,
    const char *reason, char **cause);
int engine_retry(struct engine *, int64_t run_id, const char *env,
    const struct engine_actor *, char **cause);
int engine_redeploy(struct engine *, int64_t release_id, const char *env,
    const struct engine_actor *, int64_t *run_id, char **cause);

/*
 * A person's decision, the one way it reaches the engine: the control
 * socket, the portal's pages and the API each fill one and hand it to
 * engine_act on the loop.  The strings are borrowed for the call.
 */
enum engine_action_kind {
	ENGINE_APPROVE = 1,
	ENGINE_REJECT,
	ENGINE_AUTHORISE,
	ENGINE_CANCEL,
	ENGINE_RETRY,
	ENGINE_REDEPLOY,
	ENGINE_CONTINUE_ROLLBACK, /* an environment's stuck stack */
	ENGINE_DELETE_FAILED_STACK,
	ENGINE_FREEZE,	  /* an environment, until a time */
	ENGINE_UNFREEZE,  /* lifts its run-time freezes */
	ENGINE_OVERRIDE,  /* a stage awaiting its window */
	ENGINE_ACK_DRIFT, /* a stage's drift (drift: block), operators */
};
struct engine_action {
	enum engine_action_kind kind;
	int64_t			id;	 /* the run; redeploy: the release;
					    unfreeze: one run-time freeze
					    (0: all of env's) */
	const char	       *env;	 /* approve, reject, retry, redeploy */
	const char	       *comment; /* cancel: the reason; NULL but to
					     reject */
	struct engine_actor	actor;
	int64_t			new_run; /* set by redeploy */
	/* continue-rollback, delete-failed-stack: the app (with env) and
	   the resources to skip (logical ids; continue-rollback only). */
	const char	  *app;
	const char *const *skip;
	size_t		   nskip;
	/* freeze (app, env, comment: the reason): its end, unix ms. */
	int64_t until;
};

/* "approve", "reject", "authorise", "cancel", "retry", "redeploy",
 * "continue-rollback", "delete-failed-stack", "freeze", "unfreeze",
 * "override", "ack-drift"; "unknown" for any other value. */
const char *engine_action_name(enum engine_action_kind);
/* Carries out the action (one of the functions above); 0 or ENGINE_E*
 * with *cause. */
int engine_act(struct engine *, struct engine_action *, char **cause);

/*
 * How often AWS is polled while a run waits (change set, stack,
 * services): base_ms at first, doubling up to max_ms (0: 30 times the
 * base).  The default is 1 s up to 30 s; tests use a few milliseconds
 * (also through SHIPGATE_ENGINE_POLL_MS in the environment).
 */
void engine_set_poll(struct engine *, int64_t base_ms, int64_t max_ms);

/*
 * The transition table (engine-states.c), for the docs and the tests:
 * the states a stage or a run may move to, as a mask of 1u << state, and
 * whether a stage state is a safe point (a cancellation or a newer run
 * ends the run there).  engine_enter refuses any other move.
 */
unsigned int engine_stage_moves(enum store_stage_status);
unsigned int engine_run_moves(enum store_run_status);
int	     engine_stage_safe_point(enum store_stage_status);

/* How many runs are in memory (unfinished), for /healthz and tests. */
size_t engine_active_runs(const struct engine *);

#endif
