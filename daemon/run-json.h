/*
 * A run as JSON: what the store holds about it (release, stages with
 * their change sets, check results and image promotions, decisions, the
 * audit trail, the notifications it caused), in the one shape that the
 * control socket (shipgatectl show) and the portal's API both answer.
 * The fields are listed at the top of control.c ("show").
 *
 * Times are UTC ISO 8601 strings, absent values null.  The caller owns
 * what comes back (json_decref).
 */
#ifndef SHIPGATE_RUN_JSON_H
#define SHIPGATE_RUN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct config_app;
struct store;
struct store_freezes;
struct store_run;
struct store_runs_page;
struct store_stack_hold;

/* Text, null for NULL (or for text that is not UTF-8). */
json_t *run_json_str(const char *);
/* Unix milliseconds as "2026-11-29T10:59:44Z", null for 0. */
json_t *run_json_time(int64_t ms);
/* An id, null for 0. */
json_t *run_json_id(int64_t);
/* JSON text kept in the store (a manifest, a change's details), or null. */
json_t *run_json_text(const char *);

/*
 * The run with everything above; at most audit_max audit entries (the
 * newest, listed oldest first; audit_truncated says when some were left
 * out).  NULL with *rcp (a STORE_E* code: STORE_ENOTFOUND for no such
 * run) and *cause (caller frees) when the store fails.
 */
json_t *run_json(struct store *, int64_t run_id, size_t audit_max, int *rcp,
    char **cause);

/*
 * A page of runs as the list answers it (shipgatectl runs and
 * /api/v1/runs): one summary object per run, with the stage it is at.
 * NULL with *rcp (a STORE_E* code) and *cause (caller frees) when the
 * store fails.
 */
json_t *run_json_runs(struct store *, const struct store_runs_page *, int *rcp,
    char **cause);

/*
 * An environment held by its stuck stack (shipgatectl stacks, the API):
 * {app, env, stack, status, reason, run, since, action, action_by,
 * action_comment, action_skip: [...], action_at}.
 */
json_t *run_json_stack_hold(const struct store_stack_hold *);

/*
 * An app's freezes in force or to come at now (env's alone when env is
 * not NULL), by start (shipgatectl freezes, the API): those of
 * shipgate.yaml (app may be NULL: none) and those operators added at run
 * time (l), each {source: "config" | "runtime", id (run-time: what
 * unfreeze --id takes; else null), app, env, from, until (unix ms),
 * reason, by, at (run-time: who added it and when, unix ms; else
 * null)}.
 */
json_t *run_json_freezes(const struct config_app *app, const char *env,
    const struct store_freezes *l, int64_t now);

#endif
