/*
 * The store: shipgate's SQLite database, behind intent-level functions
 * ("record this release", "page of runs"); no SQL leaves store*.c.  The
 * schema is sql/NNN_name.sql, compiled in and applied by store_open.
 *
 * One struct store is one SQLite connection, used by one thread at a
 * time: the loop opens one, the portal thread opens its own on the same
 * file (WAL lets it read while the loop writes).
 *
 * Errors: 0 on success or a negative STORE_E* code; when cause is not
 * NULL a failure sets *cause to a sentence (naming what failed) the
 * caller frees.  Times are unix milliseconds (UTC) taken from the store's
 * clock (store_set_clock).  Ids are the database's positive int64 ids; 0
 * means "none" wherever an id is optional.
 *
 * Adding a function: see store-int.h (a static SQL string per query, the
 * statement cache, one exit per function).
 *
 * Ownership: strings passed in are copied by SQLite and stay the
 * caller's.  Structures returned through an out pointer belong to the
 * caller and are freed with the matching *_free function, which accepts
 * NULL; their strings are owned by the structure.  On failure nothing is
 * returned (the out pointer is set to NULL).
 */
#ifndef SHIPGATE_STORE_H
#define SHIPGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "states.h"

struct store;
struct store_runs_page;

#define STORE_EIO	(-1) /* SQLite failed: disk full, I/O error, ... */
#define STORE_ENOTDB	(-2) /* not a SQLite database, or corrupt */
#define STORE_ETOONEW	(-3) /* schema newer than this binary knows */
#define STORE_EMIGRATE	(-4) /* a migration failed and was rolled back */
#define STORE_ENOTFOUND (-5) /* no such row */
#define STORE_ECONFLICT \
	(-6)		  /* already there, or not in the state
				   the caller expected */
#define STORE_EINVAL (-7) /* a value the schema refuses */
#define STORE_EBUSY \
	(-8)		   /* locked by another connection for
				   longer than the busy timeout */
#define STORE_EMISUSE (-9) /* e.g. store_begin inside a transaction */

/* --- Opening ------------------------------------------------------------ */

/*
 * Opens (creating if needed, mode 0600) the database at path and brings
 * its schema to the latest version, each migration in its own
 * transaction.  A database whose schema is newer than this binary
 * (STORE_ETOONEW), that is not a database or is another program's
 * (STORE_ENOTDB) is refused and left untouched.  The connection runs in
 * WAL mode with synchronous=FULL (a commit is on disk when it returns),
 * foreign keys on, and waits up to 5 s for the other connection's lock.
 */
int store_open(const char *path, struct store **, char **cause);
/*
 * As store_open, but migrates no further than version (1 ..
 * store_schema_latest()).  For tests of upgrades and for tools; a store
 * opened below the latest version supports only the functions whose
 * tables exist.
 */
int store_open_version(const char *path, int version, struct store **,
    char **cause);
/* Finishes statements and closes the connection; NULL is fine.  An open
 * transaction is rolled back. */
void store_close(struct store *);

/* The version of the open database, and the latest this binary knows. */
int store_schema_version(struct store *);
int store_schema_latest(void);
/* The file name of migration version (1 .. latest), e.g. "001_init.sql". */
const char *store_migration_name(int version);

/* For /healthz: reads the database; fails with the reason (the storage
 * fault, if any). */
int store_health(struct store *, char **cause);

/*
 * The storage fault, process-wide (every connection to the database
 * shares the disk): set when a write or an fdatasync fails with an I/O
 * error or a full disk (logged once when it begins, and once when it is
 * cleared), cleared by the syncers once a probe succeeds.  While set,
 * the daemon takes no new work.  store_fault: a copy of the reason, or
 * NULL when healthy.
 */
void  store_fault_set(const char *, ...) __attribute__((format(printf, 1, 2)));
void  store_fault_clear(void);
char *store_fault(void);
/* A commit that writes to the log, then, like store_sync_begin, the log
 * to fdatasync (never -1 on success) and the mark it makes durable. */
int store_probe(struct store *, int *fdp, int64_t *markp, char **cause);

/* The clock used for every *_at the store writes.  Tests set a fixed one;
 * NULL restores the real clock. */
void	store_set_clock(struct store *, int64_t (*now_cb)(void *), void *);
int64_t store_now(struct store *);

/* --- Transactions ------------------------------------------------------- */

/*
 * Groups writes into one atomic, durable step: the engine writes a
 * transition, its audit entry and its outbox message together, and
 * commits before sending the next AWS request.  store_begin takes the
 * write lock at once (BEGIN IMMEDIATE), so a commit cannot fail on a
 * conflict with the other connection.  Transactions do not nest
 * (STORE_EMISUSE).  Without store_begin, each function below is its own
 * transaction.  After a failed write inside a transaction the caller
 * should roll back.
 */
/*
 * Commits are durable against a crash of the process at once, and
 * against power loss only after store_sync: call it before an action
 * outside the database that relies on what was committed (an AWS
 * mutation, a message sent, a reply telling someone their decision was
 * recorded).  It fsyncs the write-ahead log once for all the commits of
 * this connection since the last call, and costs nothing when there were
 * none.  Not inside a transaction.
 */
int store_sync(struct store *, char **cause);
/* How many fsyncs were made (tests, benchmarks). */
uint64_t store_sync_count(struct store *);
/*
 * The same in parts, for an fsync made off the loop (syncer.c): *fdp is
 * the log to fdatasync (-1: nothing to sync) and *markp what it makes
 * durable; after a successful fdatasync, store_sync_end(mark) on the
 * store's thread.  store_sync_mark is where the commits stand now, and
 * store_synced whether a mark is durable already.
 */
int  store_sync_begin(struct store *, int *fdp, int64_t *markp, char **cause);
void store_sync_end(struct store *, int64_t mark);
int64_t store_sync_mark(struct store *);
int	store_synced(struct store *, int64_t mark);
int	store_begin(struct store *, char **cause);
int	store_commit(struct store *, char **cause);
int	store_rollback(struct store *);
/*
 * A read snapshot: the reads between store_read_begin and store_read_end
 * see one state of the database and take SQLite's file locks once, not
 * once per statement (a portal page makes a dozen reads).  No writes in
 * between.  Not inside a transaction (STORE_EMISUSE); store_read_end
 * after a failed store_read_begin does nothing.
 */
int  store_read_begin(struct store *, char **cause);
void store_read_end(struct store *);

/* --- States (docs/states.md) --------------------------------------------- */

enum store_release_status {
	STORE_RELEASE_RECEIVED = 1,
	STORE_RELEASE_VALID,
	STORE_RELEASE_INVALID,
};

enum store_run_kind {
	STORE_RUN_NORMAL = 1,
	STORE_RUN_ROLLBACK,
};

/* The run and stage statuses are the engine's (states.h); the store
 * keeps them by name. */

/* Names as in the database and docs/states.md ("awaiting_approval"); the
 * name of an unknown value is "unknown".  *_from_name returns 0 for an
 * unknown name. */
const char		 *store_release_status_name(enum store_release_status);
const char		 *store_run_kind_name(enum store_run_kind);
const char		 *store_run_status_name(enum store_run_status);
const char		 *store_stage_status_name(enum store_stage_status);
enum store_release_status store_release_status_from_name(const char *);
enum store_run_kind	  store_run_kind_from_name(const char *);
enum store_run_status	  store_run_status_from_name(const char *);
enum store_stage_status	  store_stage_status_from_name(const char *);
int			  store_run_status_finished(enum store_run_status);
int			  store_stage_status_finished(enum store_stage_status);

/* --- Apps and the audit log --------------------------------------------- */

/* Records an app of the configuration (again, on every start or reload)
 * and returns its id. */
int store_upsert_app(struct store *, const char *name, int64_t *idp,
    char **cause);
/* The id of an app by name: STORE_ENOTFOUND if never recorded. */
int store_app_id(struct store *, const char *name, int64_t *idp, char **cause);

/* An entry to append: actor is a shipgate user or "shipgated"; unix_user
 * (may be NULL) the account behind a shipgatectl request; action a short
 * verb ("approve", "stage awaiting_approval -> executing"); subject what
 * it acted on ("run 42"); run_id links it to a run's trail (0: none). */
struct store_audit_in {
	const char *actor;
	const char *unix_user;
	const char *action;
	const char *subject;
	int64_t	    run_id;
	const char *detail;
};
int store_append_audit(struct store *, const struct store_audit_in *,
    char **cause);

struct store_audit_entry {
	int64_t id;
	int64_t at;
	char   *actor;
	char   *unix_user; /* may be NULL */
	char   *action;
	char   *subject;
	int64_t run_id; /* 0: none */
	char   *detail; /* may be NULL */
};
struct store_audit_page {
	struct store_audit_entry *entries; /* newest first */
	size_t			  n;
	int64_t next_before; /* pass as before for the next page;
					   0 when this is the last */
};
/* Entries newest first: of one run (run_id != 0) or all, with ids below
 * before (0: from the newest), at most limit (1 .. 1000). */
int  store_audit_page(struct store *, int64_t run_id, int64_t before, int limit,
     struct store_audit_page **, char **cause);
void store_audit_page_free(struct store_audit_page *);

/* --- Intake: seen objects and releases ---------------------------------- */

/*
 * Marks a source object as handled; *is_newp is 1 if it was not seen
 * before and 0 if it was (nothing is changed then).  revision is the
 * object's version id or ETag (see sql/001_init.sql).  release_id links
 * the release made from it (0: none, e.g. ignored).  Called in the
 * transaction that records the release, a duplicate is found by the
 * one that commits second.
 */
int store_mark_seen(struct store *, int64_t app_id, const char *bucket,
    const char *key, const char *revision, int64_t release_id, int *is_newp,
    char **cause);
/* Whether an object was seen, without marking it (to skip a download). */
int store_is_seen(struct store *, const char *bucket, const char *key,
    const char *revision, int *seenp, char **cause);

/* A release to record.  For an invalid one, reason says exactly why
 * (which file, field or limit) and the fields not read are NULL. */
struct store_release_in {
	int64_t			  app_id;
	const char		 *bucket;
	const char		 *key;
	const char		 *version_id; /* may be NULL */
	const char		 *etag;	      /* may be NULL */
	int64_t			  size;	      /* bytes; -1 unknown */
	const char		 *version;
	const char		 *message;
	const char		 *author;
	const char		 *manifest; /* release.json, valid JSON */
	enum store_release_status status;
	const char		 *reason;
};
int store_record_release(struct store *, const struct store_release_in *,
    int64_t *idp, char **cause);

struct store_release {
	int64_t			  id;
	int64_t			  app_id;
	char			 *app;
	char			 *bucket;
	char			 *key;
	char			 *version_id;
	char			 *etag;
	int64_t			  size; /* -1 unknown */
	char			 *version;
	char			 *message;
	char			 *author;
	char			 *manifest;
	enum store_release_status status;
	char			 *reason;
	int64_t			  received_at;
	int64_t			  updated_at;
};
int  store_get_release(struct store *, int64_t id, struct store_release **,
     char **cause);
void store_release_free(struct store_release *);

/* --- Runs and stages ---------------------------------------------------- */

/* A run to create with its stages, in deployment order. */
struct store_stage_in {
	const char *environment;
	int	    required_approvals; /* >= 1; 0 means 1 */
};
struct store_run_in {
	int64_t			     release_id;
	enum store_run_kind	     kind;	   /* 0 means normal */
	enum store_run_status	     status;	   /* 0 means received */
	const char		    *reason;	   /* for an invalid run */
	const char		    *requested_by; /* operator of a redeploy */
	int64_t			     rollback_of; /* run that failed; 0: none */
	const struct store_stage_in *stages;
	size_t			     nstages;
};
/* Creates the run and its pending stages in one transaction. */
int store_create_run(struct store *, const struct store_run_in *,
    int64_t *run_idp, char **cause);

struct store_stage {
	int64_t			id;
	int64_t			run_id;
	int			position; /* 0, 1, ...: deployment order */
	char		       *environment;
	enum store_stage_status status;
	char		       *reason; /* may be NULL */
	int			attempt;
	int			required_approvals;
	char		       *change_set_name; /* may be NULL */
	char		       *change_set_arn;	 /* may be NULL */
	char		       *stack_id;	 /* may be NULL */
	int64_t			deadline_at;	 /* 0: none */
	int64_t			created_at;
	int64_t			updated_at;
	int64_t			started_at;  /* 0: still pending */
	int64_t			finished_at; /* 0: not finished */
};

struct store_run {
	int64_t		      id;
	int64_t		      release_id;
	int64_t		      app_id;
	char		     *app;
	char		     *version; /* the release's; may be NULL */
	char		     *author;  /* may be NULL */
	char		     *message; /* may be NULL */
	enum store_run_kind   kind;
	enum store_run_status status;
	char		     *reason;	    /* may be NULL */
	char		     *requested_by; /* may be NULL */
	int64_t		      rollback_of;  /* 0: none */
	int64_t		      created_at;
	int64_t		      updated_at;
	int64_t		      finished_at; /* 0: not finished */
	/* The release's S3 object, so that every run (an invalid one
	   first) says which upload it was. */
	char		   *source_bucket;
	char		   *source_key;
	char		   *source_version_id; /* may be NULL */
	struct store_stage *stages;	       /* store_get_run only */
	size_t		    nstages;
};

/*
 * State changes, compare-and-set: the row must be in state from, or the
 * call fails with STORE_ECONFLICT and changes nothing (someone else
 * moved it: the caller reloads).  reason (may be NULL) replaces the
 * stored one.  Entering a finished state sets finished_at; leaving one
 * (a retried stage or run) clears it.  A stage leaving pending for the
 * first time gets started_at.
 */
int store_set_run_status(struct store *, int64_t run_id,
    enum store_run_status from, enum store_run_status to, const char *reason,
    char **cause);
int store_set_stage_status(struct store *, int64_t stage_id,
    enum store_stage_status from, enum store_stage_status to,
    const char *reason, char **cause);

/*
 * Stacks held stuck (sql/007_stack_holds.sql): an environment whose
 * stack no change set can run on (UPDATE_ROLLBACK_FAILED, or a first
 * deployment rolled back: ROLLBACK_COMPLETE) until an operator acts.
 * Setting a hold again replaces its status and reason and forgets an
 * action under way; store_stack_hold_action records one (STORE_ECONFLICT
 * when there is no hold or one is already under way);
 * store_stack_hold_action_end forgets it (the stack still held, with a
 * new status and reason when not NULL); clearing releases the
 * environment.  STORE_ENOTFOUND from _get when the stack is not held.
 */
struct store_stack_hold {
	char   *app;
	char   *environment;
	char   *stack;
	char   *stack_status;
	char   *reason;
	int64_t run_id; /* the run that found it, or 0 */
	int64_t since;
	char   *action; /* "continue-rollback", ..., or NULL */
	char   *action_by;
	char   *action_comment;
	char   *action_skip; /* resources to skip, spaces between */
	int64_t action_at;
};
struct store_stack_holds {
	struct store_stack_hold **v;
	size_t			  n;
};
int store_stack_hold_set(struct store *, const char *app, const char *env,
    const char *stack, const char *stack_status, const char *reason,
    int64_t run_id, char **cause);
int store_stack_hold_get(struct store *, const char *app, const char *env,
    struct store_stack_hold **, char **cause);
/* Every hold, or an app's (app not NULL), by app and environment. */
int  store_stack_holds(struct store *, const char *app,
     struct store_stack_holds **, char		 **cause);
int  store_stack_hold_action(struct store *, const char *app, const char *env,
     const char *action, const char *by, const char *comment, const char *skip,
     char **cause);
int  store_stack_hold_action_end(struct store *, const char *app,
     const char *env, const char *stack_status, const char *reason,
     char **cause);
int  store_stack_hold_clear(struct store *, const char *app, const char *env,
     char **cause);
void store_stack_hold_free(struct store_stack_hold *);
void store_stack_holds_free(struct store_stack_holds *);
/*
 * Live progress of an execution (sql/012_stage_progress.sql): the stack
 * events read since a stage's change set was executed and the ECS
 * deployments of its stack, kept per stage and attempt.
 * store_progress_add_events adds the events not yet kept (by EventId)
 * and keeps the newest STORE_PROGRESS_EVENTS_MAX of the attempt;
 * store_progress_set_service replaces a service's row, unless it says
 * the attempt's deployment FAILED (the rollback after it is not shown).
 * store_progress_get reads both (events newest first, services by name);
 * store_progress_newest_event is the newest kept event's time (0: none);
 * store_progress_service_arns the ECS services the kept events name.
 */
#define STORE_PROGRESS_EVENTS_MAX 500

struct store_stage_event {
	char   *event_id;
	int64_t at; /* Unix ms */
	char   *logical_id;
	char   *physical_id; /* may be NULL */
	char   *resource_type;
	char   *status;
	char   *reason; /* may be NULL */
};
struct store_stage_service {
	char   *service;
	char   *cluster; /* may be NULL */
	int64_t desired;
	int64_t running;
	int64_t pending;
	int64_t failed;
	char   *rollout_state;	/* may be NULL */
	char   *rollout_reason; /* may be NULL */
	int64_t updated_at;
};
struct store_progress {
	struct store_stage_event   *events; /* newest first */
	size_t			    nevents;
	struct store_stage_service *services;
	size_t			    nservices;
};
int  store_progress_add_events(struct store *, int64_t stage_id, int attempt,
     const struct store_stage_event *, size_t n, size_t *addedp, char **cause);
int  store_progress_set_service(struct store *, int64_t stage_id, int attempt,
     const struct store_stage_service *, char **cause);
int  store_progress_get(struct store *, int64_t stage_id, int attempt,
     struct store_progress **, char **cause);
int  store_progress_newest_event(struct store *, int64_t stage_id, int attempt,
     int64_t *atp, char **cause);
void store_progress_free(struct store_progress *);
/* The ECS services (ARNs) the kept events name; *arnsp the caller's. */
int store_progress_service_arns(struct store *, int64_t stage_id, int attempt,
    char ***arnsp, size_t *np, char **cause);
/* Why a stage waits, without a transition: the reason of a stage still
 * in status (nothing when it moved on or the reason is the same). */
int store_stage_set_reason(struct store *, int64_t stage_id,
    enum store_stage_status status, const char *reason, char **cause);
/* The stage's CREATE change set made its stack (it did not exist):
 * only such a stack, still empty, may be deleted by shipgate. */
int store_stage_set_stack_created(struct store *, int64_t stage_id,
    char **cause);
int store_stage_stack_created(struct store *, int64_t stage_id, int *created,
    char **cause);

/* One run with its stages in order. */
int  store_get_run(struct store *, int64_t run_id, struct store_run **,
     char **cause);
void store_run_free(struct store_run *);

/* Every run not finished (received or running), oldest first, with its
 * stages: what the engine reloads and reconciles with AWS on start. */
int store_unfinished_runs(struct store *, struct store_runs_page **,
    char **cause);

/* --- Approvals ----------------------------------------------------------- */

enum store_decision {
	STORE_DECISION_APPROVE = 1, /* a stage's change set */
	STORE_DECISION_REJECT,	    /* either; needs a comment */
	STORE_DECISION_AUTHORISE,   /* the promotion gate after a stage */
};
enum store_via {
	STORE_VIA_PORTAL = 1,
	STORE_VIA_API,
	STORE_VIA_CLI,
};
const char *store_decision_name(enum store_decision);
const char *store_via_name(enum store_via);

/* A decision on a stage's change set (gate 0) or on the promotion gate
 * after it (gate 1), for the stage's current change set (attempt).  The
 * caller has checked permissions; the store refuses a second decision
 * by the same user on the same stage, attempt and gate (STORE_ECONFLICT)
 * and a reject without a comment (STORE_EINVAL). */
struct store_approval_in {
	int64_t		    stage_id;
	int		    attempt;
	int		    gate;
	const char	   *user;
	enum store_decision decision;
	const char	   *comment; /* may be NULL but to reject */
	enum store_via	    via;
	/* Who decided: one person decides once per stage, attempt and
	 * kind, whatever name they act under (NULL: the user). */
	const char *person;
	/* "oidc" or "alb" for a person an identity provider signed in,
	 * NULL for a configured user (STORE_EINVAL otherwise). */
	const char *signin;
};
int store_record_approval(struct store *, const struct store_approval_in *,
    char **cause);
/*
 * The user under whose name person already decided on the stage's
 * attempt (gate or not): 0 with *userp (caller frees), STORE_ENOTFOUND
 * when person has not decided, or an error.
 */
int store_approval_by_person(struct store *, int64_t stage_id, int attempt,
    int gate, const char *person, char **userp, char **cause);
/* How many distinct users approved (or authorised, gate 1) the stage's
 * attempt: the quorum is the stage's required_approvals. */
int store_count_approvals(struct store *, int64_t stage_id, int attempt,
    int gate, int *np, char **cause);

/* --- Pages of runs ------------------------------------------------------- */

/* Filters for a page of runs; zero/NULL fields do not filter. */
struct store_runs_filter {
	const char	     *app;
	const char	     *environment; /* runs with a stage there */
	enum store_run_status status;
	const char	     *version;
	const char	     *author;
	int64_t		      since;  /* created_at >= since */
	int64_t		      until;  /* created_at < until */
	int64_t		      before; /* id < before: the next page */
	int		      limit;  /* 1 .. 1000; 0 means 50 */
};
struct store_runs_page {
	struct store_run *runs; /* newest first, without stages
					   (but from store_unfinished_runs) */
	size_t		  n;
	int64_t		  next_before; /* 0 when this is the last page */
};
int  store_runs_page(struct store *, const struct store_runs_filter *,
     struct store_runs_page **, char **cause);
void store_runs_page_free(struct store_runs_page *);

/* --- Queries for control and portal (store-query.c) --------------------- */

/*
 * Read-only views of one run for `shipgatectl show` and the portal's run
 * page: its resource changes, decisions and check results.  Lists come
 * back in one allocation the caller frees with the matching *_free
 * (NULL is fine); an empty list is n == 0, not an error.
 */

/* The stage a run is at: the first (by position) not done or without
 * changes, or the last one when all are.  *envp is NULL (and 0 returned)
 * when the run has no stages; the caller frees *envp. */
int store_run_current_stage(struct store *, int64_t run_id, char **envp,
    enum store_stage_status *statusp, char **cause);

/* One resource change of a stage's change set, as DescribeChangeSet
 * listed it (table stage_changes). */
struct store_change {
	int64_t stage_id;
	int	attempt;
	int	position;
	char   *action; /* Add, Modify, Remove, ... */
	char   *logical_id;
	char   *physical_id; /* may be NULL */
	char   *resource_type;
	char   *replacement; /* True, False, Conditional; may be NULL */
	char   *scope;	     /* JSON array text; may be NULL */
	char   *details;     /* JSON array text; may be NULL */
};
struct store_changes {
	struct store_change *items; /* by attempt, then position */
	size_t		     n;
};
/* The changes of a stage's attempt (attempt < 0: of every attempt). */
int  store_stage_changes(struct store *, int64_t stage_id, int attempt,
     struct store_changes **, char **cause);
void store_changes_free(struct store_changes *);

/* A recorded decision (table approvals). */
struct store_approval {
	int64_t		    id;
	int64_t		    stage_id;
	char		   *environment; /* the stage's */
	int		    attempt;
	int		    gate;
	char		   *user;
	enum store_decision decision;
	char		   *comment; /* may be NULL */
	enum store_via	    via;
	int64_t		    decided_at;
	char		   *signin; /* "oidc", "alb" or NULL */
};
struct store_approvals {
	struct store_approval *items; /* oldest first */
	size_t		       n;
};
/* Every decision on every stage of a run, oldest first. */
int  store_run_approvals(struct store *, int64_t run_id,
     struct store_approvals **, char	       **cause);
void store_approvals_free(struct store_approvals *);

/* One step of a check run (table check_results). */
struct store_check_result {
	int64_t stage_id;
	int	attempt;
	char   *check_name;
	int	step;
	char   *step_name;
	char   *status;	     /* passed, failed, skipped */
	char   *method;	     /* may be NULL */
	char   *url;	     /* may be NULL */
	int	http_status; /* 0: none */
	int	tries;
	int64_t duration_ms; /* -1: unknown */
	char   *expectation; /* the one that failed; may be NULL */
	char   *excerpt;     /* may be NULL */
	int64_t started_at;
	int64_t finished_at; /* 0: not finished */
};
struct store_check_results {
	struct store_check_result *items; /* by attempt, check, step */
	size_t			   n;
};
/* The check steps of a stage's attempt (attempt < 0: of every attempt). */
int  store_stage_check_results(struct store *, int64_t stage_id, int attempt,
     struct store_check_results **, char **cause);
void store_check_results_free(struct store_check_results *);
/* Replaces the check steps recorded for the stage's attempt with these
 * (a check run done again after a restart replaces its results); the
 * stage_id and attempt fields of v are not read. */
int store_record_check_results(struct store *, int64_t stage_id, int attempt,
    const struct store_check_result *, size_t n, char **cause);

/* --- intake: seen objects' fate, releases to hand over, failures ----- */

/* What a source object led to (store_seen_object). */
struct store_seen {
	int	seen;	    /* 0: never seen (the rest is 0) */
	int64_t release_id; /* 0: none (the object was ignored) */
	enum store_release_status release_status; /* 0 without one */
	int			  has_run; /* the engine made a run of it */
};
int store_seen_object(struct store *, const char *bucket, const char *key,
    const char *revision, struct store_seen *, char **cause);

/* The valid releases of an app that have no run (handed to the engine
 * but not taken, e.g. it failed or the daemon stopped in between),
 * oldest first, at most limit (1 .. 1000; 0: 100).  *idsp is the
 * caller's to free. */
int store_releases_without_run(struct store *, int64_t app_id, int limit,
    int64_t **idsp, size_t *np, char **cause);

/* A message (source "queue", message_id set) or an object ("listing")
 * intake gave up on.  One row per message (or per listed key): a second
 * record updates its count, reason and time.  The stored reason is
 * "message ID: reason" for a message. */
struct store_intake_failure_in {
	int64_t	    app_id;
	const char *source;	   /* "queue" or "listing"; NULL: queue */
	const char *bucket;	   /* may be NULL */
	const char *key;	   /* may be NULL (unparsable message) */
	const char *message_id;	   /* queue: the SQS message id */
	long	    receive_count; /* >= 1 */
	const char *reason;
};
int store_record_intake_failure(struct store *,
    const struct store_intake_failure_in *, char **cause);

struct store_intake_failure {
	int64_t id;
	int64_t app_id;
	char   *app;
	char   *source;
	char   *bucket; /* may be NULL */
	char   *key;	/* may be NULL */
	long	receive_count;
	char   *reason;
	int64_t at;
};
struct store_intake_failures {
	struct store_intake_failure *v; /* newest first */
	size_t			     n;
};
/* Of one app (app_id != 0) or all, at most limit (1 .. 1000; 0: 50). */
int  store_intake_failures(struct store *, int64_t app_id, int limit,
     struct store_intake_failures **, char **cause);
void store_intake_failures_free(struct store_intake_failures *);

/* --- Engine (daemon/store-engine.c) -------------------------------------- */

/*
 * What the pipeline engine records besides statuses: each stage's change
 * set (name first, before it is sent; then its id), deadlines, the
 * resource changes, what runs where, operators' cancellations and the
 * releases' templates.  Each call is its own transaction unless the
 * caller opened one with store_begin (the engine does, so these writes
 * commit with the transition they belong to).
 */

/* Starts attempt `attempt` of a stage with change set `name` (its id
 * and stack id are cleared until CloudFormation answers). */
int store_stage_set_change_set(struct store *, int64_t stage_id, int attempt,
    const char *name, char **cause);
/* The change set's id (ARN) and its stack's id as CloudFormation gave
 * them; either may be NULL to keep the stored value. */
int store_stage_set_change_set_id(struct store *, int64_t stage_id,
    const char *arn, const char *stack_id, char **cause);
/* The current wait's deadline (unix ms; 0: none). */
int store_stage_set_deadline(struct store *, int64_t stage_id,
    int64_t deadline_at, char **cause);
/* When the change set was sent for execution (0: not yet / cleared). */
int store_stage_set_executed_at(struct store *, int64_t stage_id, int64_t at,
    char **cause);
int store_stage_executed_at(struct store *, int64_t stage_id, int64_t *atp,
    char **cause);

/* A resource change of a change set; scope and details are JSON arrays
 * (may be NULL). */
struct store_change_in {
	const char *action;
	const char *logical_id;
	const char *physical_id; /* may be NULL */
	const char *resource_type;
	const char *replacement; /* may be NULL */
	const char *scope;
	const char *details;
};
/* Replaces the changes recorded for the stage's attempt with these. */
int store_record_stage_changes(struct store *, int64_t stage_id, int attempt,
    const struct store_change_in *, size_t n, char **cause);

/* (Read them back with store_stage_changes, above.) */

/* The first reject of a stage's attempt (gate 0: the change set; 1: the
 * promotion): STORE_ENOTFOUND when there is none.  user and comment
 * (may be NULL) are the caller's to free. */
int store_stage_rejection(struct store *, int64_t stage_id, int attempt,
    int gate, char **user, char **comment, char **cause);

/* Records that the stage's run's release now runs in the stage's
 * environment (once per stage: a replay changes nothing). */
int store_record_deployment(struct store *, int64_t stage_id, char **cause);

struct store_deployment {
	int64_t id;
	int64_t app_id;
	char   *environment;
	int64_t release_id;
	char   *version;
	int64_t run_id;
	int64_t stage_id;
	int64_t deployed_at;
};
/* What runs in an app's environment: its newest deployment, or
 * STORE_ENOTFOUND. */
int  store_current_deployment(struct store *, int64_t app_id,
     const char *environment, struct store_deployment **, char **cause);
void store_deployment_free(struct store_deployment *);
/* Whether the release was ever deployed (to any environment). */
int store_release_deployed(struct store *, int64_t release_id, int *yesp,
    char **cause);

/* An operator's cancellation of an unfinished run, carried out by the
 * engine at the run's next safe point.  The first request stays. */
int store_request_cancel(struct store *, int64_t run_id, const char *by,
    const char *reason, char **cause);
/* The pending request, or STORE_ENOTFOUND; the strings are the
 * caller's (reason may be NULL). */
int store_run_cancel_request(struct store *, int64_t run_id, char **by,
    char **reason, char **cause);

/* The first normal run made of a release (0: none yet), so a release
 * handed over twice makes one run. */
int store_release_run(struct store *, int64_t release_id, int64_t *run_idp,
    char **cause);

/* The template of a valid release (name and bytes), kept so every run
 * deploys what was validated.  Setting it twice keeps the first. */
int store_set_release_template(struct store *, int64_t release_id,
    const char *name, const void *body, size_t len, char **cause);
/* STORE_ENOTFOUND when none was kept.  *bodyp is NUL-terminated; both
 * strings are the caller's. */
int store_release_template(struct store *, int64_t release_id, char **namep,
    char **bodyp, size_t *lenp, char **cause);

/* --- Image promotions (daemon/store-promote.c) --------------------------- */

/*
 * One image of a stage's promotion (table image_promotions): copied
 * (digests equal, required) or failed (reason required).  Recorded
 * again (a copy run again after a restart), the row is replaced.  The
 * time is elapsed_ms before now (started_at) to now (finished_at).
 */
struct store_promotion_in {
	int64_t	    stage_id;
	const char *source_registry; /* host[:port] */
	const char *repository;
	const char *reference; /* tag or digest */
	const char *destination_registry;
	const char *media_type;		/* may be NULL */
	const char *source_digest;	/* NULL: not read */
	const char *destination_digest; /* NULL: not read */
	int	    failed;
	int	    blobs_copied;
	int	    blobs_skipped;
	int64_t	    bytes_copied;
	int64_t	    bytes_skipped;
	const char *reason; /* why it failed; a note */
	int64_t	    elapsed_ms;
};
int store_record_promotion(struct store *, const struct store_promotion_in *,
    char **cause);

struct store_promotion {
	int64_t id;
	int64_t stage_id;
	int64_t run_id;
	char   *environment; /* the stage's */
	char   *source_registry;
	char   *repository;
	char   *reference;
	char   *destination_registry;
	char   *media_type;	    /* may be NULL */
	char   *source_digest;	    /* may be NULL */
	char   *destination_digest; /* may be NULL */
	char   *status;		    /* copied, failed */
	int	blobs_copied;
	int	blobs_skipped;
	int64_t bytes_copied;
	int64_t bytes_skipped;
	char   *reason; /* may be NULL */
	int64_t started_at;
	int64_t finished_at;
};
struct store_promotions {
	struct store_promotion *items; /* by stage position, then id */
	size_t			n;
};
/* Every promotion of a run's stages. */
int  store_run_promotions(struct store *, int64_t run_id,
     struct store_promotions **, char		**cause);
void store_promotions_free(struct store_promotions *);
/*
 * A copy of the release's image into destination_registry made by a
 * stage other than not_stage_id (of any run of the release), or
 * STORE_ENOTFOUND.
 */
int  store_find_promotion(struct store *, int64_t release_id,
     const char *destination_registry, const char *repository,
     const char *reference, int64_t not_stage_id, struct store_promotion **,
     char **cause);
void store_promotion_free(struct store_promotion *);

/* --- Portal sessions and API tokens (daemon/store-session.c) ------------- */

/*
 * Browser sessions and API tokens (sql/002_portal.sql).  Only the
 * SHA-256 of a session id or token is stored (hash: 32 bytes); the
 * portal computes it.  Times are passed in (unix ms) so the portal's
 * expiry rules are tested with a fixed clock.
 */
#define STORE_HASH_LEN 32

int store_session_create(struct store *, const unsigned char *hash,
    const char *user, const char *remote_addr, int64_t now, int64_t expires_at,
    char **cause);

struct store_session {
	char   *user;
	char   *remote_addr; /* may be NULL */
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;
	int64_t revoked_at; /* 0: not revoked */
};
/* STORE_ENOTFOUND when no session has this hash. */
int  store_session_get(struct store *, const unsigned char *hash,
     struct store_session **, char			  **cause);
void store_session_free(struct store_session *);
/* Sets last_seen_at (idle expiry counts from it). */
int store_session_touch(struct store *, const unsigned char *hash, int64_t at,
    char **cause);
/* Signs out: revoked_at = at (STORE_ENOTFOUND when unknown). */
int store_session_revoke(struct store *, const unsigned char *hash, int64_t at,
    char **cause);
/* Deletes sessions that expired or were revoked before `before`;
 * *np (may be NULL) is how many. */
int store_session_purge(struct store *, int64_t before, int *np, char **cause);
/* Deletes sessions last used before `seen_before` (idle too long: of
 * no use either); *np as store_session_purge. */
int store_session_purge_idle(struct store *, int64_t seen_before, int *np,
    char **cause);

/* A new token for user; *idp its id. */
int store_token_create(struct store *, const unsigned char *hash,
    const char *user, const char *label, const char *created_by, int64_t now,
    int64_t *idp, char **cause);
/* The user of a token that is not revoked, and notes its use;
 * STORE_ENOTFOUND otherwise.  *userp is the caller's. */
int store_token_use(struct store *, const unsigned char *hash, int64_t now,
    char **userp, int64_t *idp, char **cause);
/* Revokes a token by id (STORE_ENOTFOUND: no such token, or revoked). */
int store_token_revoke(struct store *, int64_t id, int64_t now, char **cause);

struct store_token {
	int64_t id;
	char   *user;
	char   *label;
	char   *created_by; /* may be NULL */
	int64_t created_at;
	int64_t last_used_at; /* 0: never */
	int64_t revoked_at;   /* 0: not revoked */
};
struct store_tokens {
	struct store_token *items; /* by id */
	size_t		    n;
};
int  store_token_list(struct store *, struct store_tokens **, char **cause);
void store_tokens_free(struct store_tokens *);

/*
 * Ending a user's sign-ins (their password or groups changed, or an
 * operator asked): every live session, every token; *np (may be NULL)
 * says how many.
 */
int store_session_revoke_user(struct store *, const char *user, int64_t at,
    int *np, char **cause);
int store_token_revoke_user(struct store *, const char *user, int64_t at,
    int *np, char **cause);

/*
 * The live sessions (not revoked, not expired at now), of one user or
 * of all (user NULL), newest first.  A session is named by the first 16
 * hex digits of its id's SHA-256: enough to tell them apart, useless to
 * sign in with.
 */
#define STORE_SESSION_ID_LEN 16
struct store_session_row {
	char	id[STORE_SESSION_ID_LEN + 1];
	char   *user;
	char   *remote_addr; /* may be NULL */
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;
};
struct store_sessions {
	struct store_session_row *items;
	size_t			  n;
};
int  store_session_list(struct store *, const char *user, int64_t now,
     struct store_sessions **, char **cause);
void store_sessions_free(struct store_sessions *);
/* Revokes the live session named id; *userp (caller frees) is its user.
 * STORE_ENOTFOUND when no live session has that name. */
int store_session_revoke_id(struct store *, const char *id, int64_t at,
    char **userp, char **cause);

/* Aggregates for the portal's /metrics (daemon/store-session.c). */
struct store_metric_count {
	char   *label; /* a run status */
	int64_t n;
};
struct store_metric_sum {
	char   *environment;
	char   *label; /* stage status; decision */
	int64_t count;
	int64_t sum_ms;
};
struct store_metrics {
	struct store_metric_count *runs; /* by status */
	size_t			   nruns;
	/* finished stages: started_at to finished_at */
	struct store_metric_sum *stages;
	size_t			 nstages;
	/* decisions: change sets (gate 0) from the stage's start, gates
	 * from the stage's execution, to the decision */
	struct store_metric_sum *approvals;
	size_t			 napprovals;
};
int  store_metrics(struct store *, struct store_metrics **, char **cause);
void store_metrics_free(struct store_metrics *);

/* --- Notifications: the outbox (daemon/store-outbox.c) ------------------- */

/*
 * The transactional outbox (sql/003_notify_checks.sql): notify writes a
 * row in the transaction of the transition that causes it and sends it
 * from the loop afterwards.  Each call is its own transaction unless the
 * caller opened one.
 */
struct store_outbox_in {
	const char *channel; /* "email" or "webhook" */
	const char *event;
	const char *dedup_key;	/* the cause: a second row with the
					   same key is not written */
	int64_t	    run_id;	/* 0: none */
	int64_t	    release_id; /* 0: none */
	const char *recipients; /* "a@x, b@y", or the webhook's name */
	const char *subject;	/* email */
	const char *body_text;	/* email */
	const char *body_html;	/* email; may be NULL */
	const char *payload;	/* webhook: JSON */
};
/* INSERT OR IGNORE: *insertedp (may be NULL) is 1 when the row is new,
 * 0 when its dedup_key was there already.  Due at once. */
int store_outbox_queue(struct store *, const struct store_outbox_in *,
    int *insertedp, char **cause);
/* Whether a row with this dedup_key exists. */
int store_outbox_has(struct store *, const char *dedup_key, int *yesp,
    char **cause);

struct store_outbox_row {
	int64_t id;
	char   *channel;
	char   *event;
	char   *dedup_key;
	int64_t run_id;	    /* 0: none */
	int64_t release_id; /* 0: none */
	char   *recipients;
	char   *subject;   /* may be NULL */
	char   *body_text; /* may be NULL */
	char   *body_html; /* may be NULL */
	char   *payload;   /* may be NULL */
	char   *status;	   /* pending, sent, failed */
	int	attempts;
	int64_t next_attempt_at;
	char   *last_error; /* may be NULL */
	int64_t created_at;
	int64_t updated_at;
	int64_t sent_at; /* 0: not sent */
};
struct store_outbox_rows {
	struct store_outbox_row *items;
	size_t			 n;
};
/* Pending rows due at `now` (next_attempt_at <= now), oldest first, at
 * most limit (1 .. 1000), skipping the ids in `skip` (nskip of them:
 * those in flight). */
int store_outbox_due(struct store *, int64_t now, int limit,
    const int64_t *skip, size_t nskip, struct store_outbox_rows **,
    char **cause);
/* The earliest next_attempt_at after `after` of the pending rows (0:
 * none), and how many rows are pending (pendingp may be NULL). */
int store_outbox_next(struct store *, int64_t after, int64_t *atp,
    int64_t *pendingp, char **cause);
/* A pending row was sent: status sent, sent_at now, attempts + 1. */
int store_outbox_mark_sent(struct store *, int64_t id, char **cause);
/* An attempt failed: attempts + 1, last_error, and either retried at
 * next_at (pending) or, when next_at is 0, given up (failed). */
int store_outbox_mark_error(struct store *, int64_t id, const char *error,
    int64_t next_at, char **cause);
/* A run's rows (for the portal and shipgatectl show), oldest first;
 * without bodies or payloads. */
int  store_outbox_run(struct store *, int64_t run_id,
     struct store_outbox_rows **, char	    **cause);
void store_outbox_rows_free(struct store_outbox_rows *);
/* Rows by status, for /metrics and /healthz. */
int store_outbox_counts(struct store *, int64_t *pendingp, int64_t *sentp,
    int64_t *failedp, char **cause);

/* A stage waiting for people, for reminders: awaiting_approval (gate 0)
 * or awaiting_gate (gate 1), with since = when its approval_needed
 * (gate_needed) e-mail was queued for the current attempt. */
struct store_waiting_stage {
	int64_t stage_id;
	int64_t run_id;
	int	attempt;
	int	gate;
	int64_t since;
};
/* Stages waiting that have such an e-mail; *vp is the caller's. */
int store_outbox_waiting(struct store *, struct store_waiting_stage **vp,
    size_t *np, char **cause);

/* --- Portal pages (daemon/store-portal.c) -------------------------------- */

/*
 * Read-only views for the portal's dashboard, app and history pages,
 * each walking an index (store_portal_plan shows which).
 */

/* A stage of an unfinished run (received or running). */
struct store_active_stage {
	int64_t			run_id;
	char		       *app;
	char		       *version; /* may be NULL */
	char		       *author;	 /* may be NULL */
	enum store_run_kind	kind;
	int64_t			run_created_at;
	int64_t			stage_id;
	char		       *environment;
	int			position;
	enum store_stage_status status;
	int			attempt;
	int			required_approvals;
	int64_t			updated_at;
	int64_t			deadline_at; /* 0: none */
	/* Of the current attempt, for the stage's current decision: the
	 * promotion gate when awaiting_gate, the change set otherwise. */
	int approvals; /* approvals or authorisations */
	int decided;   /* the user given has decided */
};
struct store_active_stages {
	struct store_active_stage *items; /* oldest run first, then
						   by position */
	size_t			   n;
};
/* Every stage of every unfinished run; user (may be NULL) is the one
 * `decided` is about. */
int  store_active_stages(struct store *, const char *user,
     struct store_active_stages **, char	   **cause);
void store_active_stages_free(struct store_active_stages *);

/* What runs in an app's environment: as store_current_deployment, but
 * newest by id (the order deployments are recorded in), which the index
 * answers without sorting however many deployments there are. */
int store_newest_deployment(struct store *, int64_t app_id,
    const char *environment, struct store_deployment **, char **cause);

struct store_app_release {
	int64_t			  id;
	char			 *version; /* may be NULL (invalid) */
	char			 *author;  /* may be NULL */
	char			 *message; /* may be NULL */
	enum store_release_status status;
	char			 *reason; /* may be NULL */
	int64_t			  received_at;
	int64_t			  run_id;      /* its first normal run; 0 */
	char			 *deployed_to; /* environments it was ever
						   deployed to, space-separated
						   in deployment order; NULL:
						   never */
};
struct store_app_releases {
	struct store_app_release *items; /* newest first */
	size_t			  n;
	int64_t			  next_before; /* 0 on the last page */
};
/* An app's releases received before release `before` (0: the newest),
 * at most limit (1 .. 1000; 0: 50). */
int  store_app_releases(struct store *, int64_t app_id, int64_t before,
     int limit, struct store_app_releases **, char **cause);
void store_app_releases_free(struct store_app_releases *);

/* The stages of the runs given (a page of them), by run id then
 * position: one statement for the whole page. */
struct store_stage_brief {
	int64_t			run_id;
	char		       *environment;
	int			position;
	enum store_stage_status status;
};
struct store_stage_briefs {
	struct store_stage_brief *items;
	size_t			  n;
};
int  store_stages_of_runs(struct store *, const int64_t *run_ids, size_t n,
     struct store_stage_briefs **, char **cause);
void store_stage_briefs_free(struct store_stage_briefs *);

/* The environments a release was ever deployed to, space-separated in
 * deployment order (*envsp NULL: never); the caller frees *envsp.
 * Through runs_release and deployments' stage_id: no scan. */
int store_release_deployed_to(struct store *, int64_t release_id, char **envsp,
    char **cause);

/*
 * The cursor of the page of runs just newer than run `after` with the
 * same filters (f->before is ignored): pass *beforep as the filter's
 * before; 0 means that page is the first one (no cursor).
 */
int store_runs_newer(struct store *, const struct store_runs_filter *,
    int64_t after, int64_t *beforep, char **cause);

/*
 * Whether the database changed: two readings differ when any connection
 * committed a change in between (others: SQLite's data_version; own:
 * this connection's changes).  The portal caches what it rendered from a
 * reading and reuses it while the reading stays the same.
 */
struct store_version {
	int64_t others;
	int64_t own;
};
int store_data_version(struct store *, struct store_version *, char **cause);

/*
 * For tests: SQLite's EXPLAIN QUERY PLAN of a query, one line per step
 * ("SEARCH r USING INDEX runs_app (app_id=?)").  query is
 * "active_stages", "deployment", "stages_of_runs", "release_deployed_to",
 * "app_releases" (mask 1: with a cursor),
 * "runs_newer" or "runs_page" (mask: the filters, in the order of
 * struct store_runs_filter's fields).  *planp is the caller's.
 */
int store_portal_plan(struct store *, const char *query, unsigned int mask,
    char **planp, char **cause);

/* --- A release's pinned images (store-images.c, sql/008) --------------- */

struct store_release_image {
	int	position; /* in release.json's images */
	char   *registry;
	char   *repository;
	char   *tag;	    /* NULL: released by digest */
	char   *digest;	    /* pinned at intake */
	char   *media_type; /* may be NULL */
	char   *platforms;  /* NULL unless an index */
	char   *parameter;  /* images[].parameter, or NULL */
	int64_t resolved_at;
	char   *moved_digest; /* the tag's digest since, or NULL */
	int64_t moved_at;
};

struct store_release_images {
	struct store_release_image *items;
	size_t			    n;
};

struct store_release_image_in {
	int	    position;
	const char *registry;
	const char *repository;
	const char *tag;
	const char *digest;
	const char *media_type;
	const char *platforms;
	const char *parameter;
};
/* Records one image (in the transaction recording its release). */
int store_add_release_image(struct store *, int64_t release_id,
    const struct store_release_image_in *, char	  **cause);
/* The release's images in order; none for a release taken in before
   images were pinned. */
int  store_release_images(struct store *, int64_t release_id,
     struct store_release_images **, char	**cause);
void store_release_images_free(struct store_release_images *);
/* What the image's tag names now: NULL or the pinned digest clears
   moved_digest. */
int store_release_image_moved(struct store *, int64_t release_id, int position,
    const char *digest, char **cause);

/* --- What a stage changes: the stack before it, its parameters
 *     (store-images.c, sql/008) ---------------------------------------- */

struct store_stage_stack {
	int	exists;		 /* 0: a first deployment */
	char   *parameters;	 /* JSON {"Name": "value"}; NoEcho
					   values "****" as AWS gives them */
	int64_t last_updated_at; /* the stack's; 0: never */
	char *template;		 /* GetTemplate's; NULL: not read */
	size_t template_len;
	/* What shipgate had deployed there then; prev_run_id 0: none. */
	int64_t prev_run_id;
	int64_t prev_stage_id;
	char   *prev_version;
	int64_t prev_deployed_at;
	int64_t read_at;
};
/* Replaces the stage's record of its stack. */
int store_stage_set_stack(struct store *, int64_t stage_id,
    const struct store_stage_stack *, char	**cause);
/* STORE_ENOTFOUND when not read yet. */
int  store_stage_stack(struct store *, int64_t stage_id,
     struct store_stage_stack **, char	     **cause);
void store_stage_stack_free(struct store_stage_stack *);

struct store_stage_param {
	char *name;
	char *old_value; /* NULL: not set before */
	char *new_value; /* NULL: no longer set */
	char *change;	 /* added, modified, removed,
					   unchanged, hidden */
	int   no_echo;	 /* values are "****" */
};
struct store_stage_params {
	struct store_stage_param *items;
	size_t			  n;
};
struct store_stage_param_in {
	const char *name;
	const char *old_value;
	const char *new_value;
	const char *change;
	int	    no_echo;
};
/* Replaces the attempt's rows (in the caller's transaction or its own). */
int store_set_stage_parameters(struct store *, int64_t stage_id, int attempt,
    const struct store_stage_param_in *, size_t n, char **cause);
/* The attempt's rows in order; none when not recorded. */
int  store_stage_parameters(struct store *, int64_t stage_id, int attempt,
     struct store_stage_params **, char **cause);
void store_stage_params_free(struct store_stage_params *);

struct store_stage_template {
	char   *diff; /* unified; "" when the same */
	int64_t added;
	int64_t removed;
	int	whole;
};
int store_set_stage_template(struct store *, int64_t stage_id, int attempt,
    const struct store_stage_template *, char **cause);
/* STORE_ENOTFOUND when not recorded. */
int  store_stage_template(struct store *, int64_t stage_id, int attempt,
     struct store_stage_template **, char **cause);
void store_stage_template_free(struct store_stage_template *);
/* --- Drift found before an approval (store-drift.c, sql/013) --------- */

struct store_drift_property {
	char *path;
	char *expected; /* "****" when masked */
	char *actual;
	char *difference; /* ADD, REMOVE, NOT_EQUAL */
	int   masked;
};
struct store_drift_resource {
	char			    *logical_id;
	char			    *physical_id;
	char			    *resource_type;
	char			    *status; /* MODIFIED, DELETED */
	struct store_drift_property *props;
	size_t			     nprops;
};
struct store_drift {
	char			    *status; /* detecting, in_sync, drifted,
						not_checked */
	char			    *detection_id;
	int64_t			     started_at;
	int64_t			     finished_at; /* 0: not yet */
	char			    *reason;	  /* not_checked: why */
	char			    *ack_user;	  /* NULL: not acknowledged */
	char			    *ack_comment;
	int64_t			     ack_at;
	struct store_drift_resource *resources;
	size_t			     nresources;
};
/* A detection started (replaces the attempt's record). */
int store_drift_start(struct store *, int64_t stage_id, int attempt,
    const char *detection_id, int64_t started_at, char **cause);
/* Its end: status in_sync, drifted (with the resources) or not_checked
   (with the reason); started_at kept when a row exists. */
int store_drift_finish(struct store *, int64_t stage_id, int attempt,
    const char *status, const char *reason, const struct store_drift_resource *,
    size_t n, char **cause);
/* STORE_ENOTFOUND when the attempt was not checked. */
int  store_drift(struct store *, int64_t stage_id, int attempt,
     struct store_drift **, char **cause);
void store_drift_free(struct store_drift *);
/* An operator's acknowledgement; STORE_ENOTFOUND: no drift recorded, or
   acknowledged already. */
int store_drift_ack(struct store *, int64_t stage_id, int attempt,
    const char *user, const char *comment, char **cause);

/*
 * The rows the delivery measures are computed from (stats.h),
 * store-stats.c.  A set starts empty and each store_stats_add appends
 * one app's rows, so the dashboard sums apps whose last environments
 * have different names.  Environment and status strings are interned in
 * the set: the rows point into it, freed with it.
 */
struct stats_deployment;
struct stats_step_time;
struct store_stats_rows {
	struct stats_deployment *deps;
	size_t			 ndeps, capdeps;
	struct stats_step_time	*steps;
	size_t			 nsteps, capsteps;
	char		       **names; /* interned */
	size_t			 nnames;
};
struct store_stats_rows *store_stats_rows_new(void);
void			 store_stats_rows_free(struct store_stats_rows *);
/*
 * Appends app_id's deployments to environment prod_env that finished in
 * [from, to) (stages_finished), and the step times of its runs created
 * in [from, to) (stage_times' key).
 */
int store_stats_add(struct store *, struct store_stats_rows *, int64_t app_id,
    const char *prod_env, int64_t from, int64_t to, char **cause);
/*
 * The step times of one run's stages, in stage order, the current
 * status counted up to now for an unfinished stage (the run page's
 * timeline).
 */
int store_stats_run(struct store *, struct store_stats_rows *, int64_t run_id,
    int64_t now, char **cause);
/* --- People an identity provider signed in (daemon/store-people.c) ----- */

/*
 * The directory people.h keeps in memory, persisted (sql/010_people.sql)
 * so that a restart keeps it and mails reach people before they sign in
 * again.  groups are shipgate group names (no newline), NULL-terminated.
 */
struct store_person {
	char   *name;
	char   *email;	/* may be NULL */
	char  **groups; /* NULL-terminated */
	char   *source; /* "oidc", "alb" */
	int64_t first_seen;
	int64_t last_seen;
};
struct store_people {
	struct store_person *items; /* by name */
	size_t		     n;
};
/*
 * Records a sign-in of name at the store's now: a new person, or the
 * e-mail, groups and source replaced by these (the provider's latest)
 * and last_seen moved on.  STORE_EINVAL for an empty name, a group with
 * a newline or a source other than oidc and alb.
 */
int store_person_seen(struct store *, const char *name, const char *email,
    const char *const *groups, const char *source, char **cause);
/* Replaces name's groups, as a reload that no longer maps some does
 * (last_seen unchanged); STORE_ENOTFOUND when there is no such person. */
int store_person_set_groups(struct store *, const char *name,
    const char *const *groups, char **cause);
/* Every person (seen_since 0) or those seen at or after seen_since. */
int  store_people_list(struct store *, int64_t seen_since,
     struct store_people **, char	     **cause);
void store_people_free(struct store_people *);
/* Removes name; STORE_ENOTFOUND when there is no such person. */
int store_person_forget(struct store *, const char *name, char **cause);
/*
 * Deploy windows (sql/011_deploy_windows.sql).  Freezes added at run time
 * by an operator: store_freezes lists an app's (an environment's when env
 * is not NULL) that are neither lifted nor over at now, by start;
 * store_freeze_lift lifts an environment's (only freeze id when id is not
 * 0), *nlifted saying how many.
 * An override lets one attempt of a stage start outside its windows;
 * store_window_override gives its author (STORE_ENOTFOUND: none).
 */
struct store_freeze {
	int64_t id;
	char   *app;
	char   *environment;
	int64_t from_at;
	int64_t until_at;
	char   *reason;
	char   *created_by;
	int64_t created_at;
};
struct store_freezes {
	struct store_freeze *v;
	size_t		     n;
};
int store_freeze_add(struct store *, const char *app, const char *env,
    int64_t from_at, int64_t until_at, const char *reason, const char *user,
    char **cause);
int store_freezes(struct store *, const char *app, const char *env, int64_t now,
    struct store_freezes **, char **cause);
int store_freeze_lift(struct store *, const char *app, const char *env,
    int64_t id, const char *user, const char *comment, int *nlifted,
    char **cause);
void store_freezes_free(struct store_freezes *);
int  store_window_override_add(struct store *, int64_t stage_id, int attempt,
     const char *user, const char *comment, char **cause);
int  store_window_override(struct store *, int64_t stage_id, int attempt,
     char **userp, char **commentp, char **cause);

#endif
