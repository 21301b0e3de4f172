/*
 * The control socket: shipgated's end of shipgatectl.  A Unix stream
 * socket (control_socket in the config, mode 0660: who may use it is
 * decided by its file permissions) on the daemon's loop, speaking
 * newline-delimited JSON: one request object per line, one reply object
 * per line, in order.
 *
 *	{"command": "approve", "run": 42, "env": "stg", "as": "bob",
 *	 "comment": "ok"}
 *	{"ok": true, "command": "approve", "run": 42, "env": "stg"}
 *	{"ok": false, "error": "forbidden",
 *	 "detail": "bob may not approve prod: not in project-team"}
 *
 * Read commands (runs, show) are answered from the store; actions
 * (approve, reject, authorise, cancel, retry, redeploy) go, each as one
 * struct engine_action, to the handler the daemon gives (engine_act),
 * with the actor {the user the peer's uid maps to, or "as" for an admin;
 * via "cli"; the peer's Unix user and uid from SO_PEERCRED; the person}
 * for the audit log and the quorum.
 * The wire protocol and who may do what are described at the top of
 * control.c.
 *
 * Lines are bounded (CONTROL_LINE_MAX), so are connections
 * (CONTROL_CONNECTIONS_MAX, each closed after CONTROL_IDLE_MS of
 * silence); a bad request gets an error reply and the
 * connection stays usable; a client that does not read its replies is
 * not read from until it does, and never blocks the loop.
 */
#ifndef SHIPGATE_CONTROL_H
#define SHIPGATE_CONTROL_H

#include <stdint.h>

#include <uv.h>

struct store;

#define CONTROL_LINE_MAX	(64 * 1024)
#define CONTROL_CONNECTIONS_MAX 32
/* A client that neither sends nor reads for this long is closed, so
 * that forgotten ones cannot hold every connection. */
#define CONTROL_IDLE_MS (5 * 60 * 1000)
/* An API token's label, in characters. */
#define CONTROL_LABEL_MAX 100

/*
 * An action's outcome is 0 or an ENGINE_E* code (engine.h), named on the
 * wire by control_error_name: "invalid", "not_found", "forbidden",
 * "conflict", "store", "closing"; "failed" for any other code.
 */
const char *control_error_name(int);

/*
 * The one handler of the actions (approve, reject, authorise, cancel,
 * retry, redeploy), called on the loop with the person's decision as
 * struct engine_action: its actor is {the user the peer's uid maps to,
 * or "as" for an admin; via "cli"; the peer's Unix user ("root (uid 0)
 * acting as bob"); the person: the mapped user or "uid N"}.  It returns
 * 0 or an ENGINE_E* code with the reason in *cause (worded for the
 * person who asked; the control socket frees it); the strings are valid
 * for the call only; redeploy sets new_run.  The daemon's is engine_act.
 */
struct engine_action;

struct control;

/*
 * Listens on path on the loop (mode 0660).  A socket file left by a
 * daemon that is gone is replaced; when another process listens there,
 * or path is something other than a socket, control_new refuses (NULL,
 * *cause says why, the caller frees it) and leaves it alone.  Failures
 * are synchronous (should libuv refuse the bound socket, its handle is
 * already closing: the loop must run once more to free it).  The loop,
 * the store and the handler (with arg) are borrowed until control_close
 * has called back.
 * Without a handler (act NULL) the actions answer "not_implemented".
 */
struct control *control_new(uv_loop_t *, const char *path, struct store *,
    int (*act)(void *arg, struct engine_action *, char **cause), void *arg,
    char **cause);
/*
 * The users, their Unix users and control_admin_group: who the peer is
 * (see control.c's "Who may do what").  Borrowed until the next call;
 * without one only root may act (with --as), the others read.
 */
struct config;
void control_set_config(struct control *, const struct config *);
/* Changes CONTROL_IDLE_MS, from each connection's next activity (tests). */
void control_set_idle_timeout(struct control *, uint64_t ms);
/*
 * Stops listening, removes the socket file, drops every connection
 * (replies not yet written are lost), and once every handle is closed
 * calls cb (if not NULL) and frees the control.  Never calls back from
 * inside control_close.
 */
void control_close(struct control *, void (*cb)(void *), void *arg);

#endif
