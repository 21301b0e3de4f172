/*
 * The control socket's server end: accepts shipgatectl's connections on
 * the daemon's loop, reads newline-delimited JSON requests, answers the
 * read commands from the store and hands each action, as one struct
 * engine_action, to the daemon's handler (engine_act; see control.h).
 *
 * The wire protocol.  Every request is one JSON object on one line (at
 * most CONTROL_LINE_MAX bytes), with "command" and the command's fields;
 * an "id" (any JSON value) is echoed in the reply.  Every reply is one
 * JSON object on one line, in request order, with "ok": true and the
 * command's fields, or "ok": false, "error" (a name) and "detail" (a
 * sentence).  Times are UTC ISO 8601 strings ("2026-11-29T09:11:05Z"),
 * null when not reached; ids are integers.
 *
 *	runs	 [app] [env] [status] [limit 1..1000, 50] [before]
 *		 -> runs: [{id, release, app, version, author, source, kind,
 *		    status, reason, stage: {env, status} | null, created_at,
 *		    finished_at}], next_before: id | null
 *		    (source: {bucket, key, version_id, url}, the release's
 *		    S3 object, in runs and show)
 *	show	 run
 *		 -> run: {id, release, app, version, author, message, source,
 *		    kind,
 *		    status, reason, requested_by, rollback_of, created_at,
 *		    updated_at, finished_at, images: [...release.json's],
 *		    stages: [{id, env, position, status, reason, attempt,
 *		    required_approvals, change_set, change_set_arn, stack_id,
 *		    deadline_at, started_at, finished_at, duration_ms,
 *		    changes: [{action, logical_id, physical_id, type,
 *		    replacement, scope, details}], checks: [{check, step,
 *		    name, status, method, url, http_status, tries,
 *		    duration_ms, expectation, excerpt}], promotions:
 *		    [{image, reference, source_registry,
 *		    destination_registry, status, source_digest,
 *		    destination_digest, media_type, blobs_copied,
 *		    blobs_skipped, bytes_copied, bytes_skipped, duration_ms,
 *		    reason}], events: [{id, at, logical_id, physical_id,
 *		    type, status, reason, failed}] (newest first, at most
 *		    500), services: [{service, cluster, desired, running,
 *		    pending, failed, rollout_state, rollout_reason,
 *		    updated_at}]}],
 *		    approvals: [{env, attempt, gate, user, decision, comment,
 *		    via, at}], audit: [{id, at, actor, unix_user, action,
 *		    subject, detail}] (oldest first), audit_truncated,
 *		    notifications: [{id, channel, event, to, subject, status,
 *		    attempts, last_error, created_at, sent_at}]}
 *	approve	 run env [as] [comment]	-> run, env, as
 *	reject	 run env [as] comment	-> run, env, as
 *	authorise run [as] [comment]	-> run, as
 *	cancel	 run [as] [comment]	-> run, as
 *	retry	 run env [as]		-> run, env, as
 *	redeploy release env [as]	-> release, env, run (the new one), as
 *	continue_rollback app env comment [skip: [logical id...]] [as]
 *					-> app, env, as (ContinueUpdateRollback
 *					   on the environment's stuck stack,
 *					   carried out and waited on after)
 *	delete_failed_stack app env comment [as] -> app, env, as
 *					   (DeleteStack of a stack whose first
 *					   deployment rolled back)
 *	freeze	 app env until comment [as] -> app, env, as (no execution
 *					   starts there until `until`, unix
 *					   ms; operators)
 *	unfreeze app env comment [freeze] [as] -> app, env, as (lifts the
 *					   run-time freezes, or the one whose
 *					   id is `freeze`; operators; refused
 *					   when only shipgate.yaml's freeze
 *					   env)
 *	override run env comment [as]	-> run, env, as (a stage awaiting
 *					   its deploy window starts now;
 *					   operators)
 *	freezes	 app [env]		-> freezes: [{source, id, app, env,
 *					   from, until, reason, by, at}]
 *					   (shipgate.yaml's, source "config",
 *					   id, by and at null; and the
 *					   run-time ones, "runtime"; neither
 *					   lifted nor over, by start)
 *	stacks	 [app]			-> stuck: [{app, env, stack, status,
 *					   reason, run, since, action,
 *					   action_by, action_comment,
 *					   action_skip, action_at}]
 *	token_create user [label]	-> id, token (shown this once; only
 *					   its SHA-256 is stored)
 *	token_list			-> tokens: [{id, user, label,
 *					   created_by, created_at,
 *					   last_used_at, revoked_at}]
 *	token_revoke id			-> id
 *	sessions_list [user]		-> sessions: [{id, user, remote_addr,
 *					   created_at, last_seen_at,
 *					   expires_at}] (live ones only)
 *	sessions_revoke id | user	-> user, sessions (how many ended;
 *					   by user: every live session)
 *	people_list			-> people: [{name, email, groups,
 *					   source, first_seen, last_seen}]
 *					   (admins only)
 *	people_forget name		-> name, sessions, tokens (admins
 *					   only: the person's row, directory
 *					   entry, sessions and tokens go,
 *					   audited)
 *
 * Who may do what.  The peer is known by its uid (SO_PEERCRED, the
 * kernel's word), mapped to a shipgate user by the configuration
 * (users[].unix_uid, unix_user, or the same name).  Anyone who can open
 * the socket may read (runs, show).  A mapped peer acts as its user; "as"
 * naming another user is for admins only (root, or members of
 * control_admin_group), is audited as "X (uid N) acting as Y", and the
 * decision counts as the admin's own (the "person": mapped user, or
 * "uid N"): one person decides once per stage and quorum.  An unmapped
 * peer acts only if it is root.  Tokens and portal sessions: one's own
 * user's, or any user's for an admin (create, list, revoke).  Comments
 * are bounded by the handlers (ENGINE_COMMENT_MAX), token labels here
 * (CONTROL_LABEL_MAX).
 *
 * Errors: bad_request (not JSON, not an object, a field missing or of
 * the wrong type), unknown_command, too_long (the rest of the line is
 * skipped), busy (too many connections; the connection is closed),
 * not_implemented, and the handlers' invalid, not_found, forbidden,
 * conflict, store, closing, failed.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "log.h"
#include "people.h"
#include "run-json.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

#define CONTROL_READ_CHUNK 16384
/* Replies queued for a client past this: stop reading its requests. */
#define CONTROL_QUEUED_MAX (1024 * 1024)
#define CONTROL_AUDIT_MAX  1000

struct control_conn {
	struct control	    *control;
	uv_pipe_t	     pipe;
	uv_timer_t	     idle;	   /* closes a silent client */
	int		     open_handles; /* pipe, idle: freed at 0 */
	int		     has_uid;	   /* SO_PEERCRED answered */
	uid_t		     uid;	   /* the peer's real uid */
	char		    *unix_name;	   /* its passwd name, or NULL */
	char		    *unix_user;	   /* "name (uid N)", or NULL */
	struct buf	     in;	   /* unprocessed bytes */
	size_t		     start;	   /* of the next line in `in` */
	int		     discarding;   /* skipping a too long line */
	int		     reading;
	int		     closing;
	int		     close_after_write;
	size_t		     queued; /* reply bytes not yet sent */
	char		     rbuf[CONTROL_READ_CHUNK];
	struct control_conn *prev, *next;
};

struct control_write {
	uv_write_t	     req;
	struct control_conn *conn;
	size_t		     len;
	char		    *data;
};

struct control {
	uv_loop_t    *loop;
	uv_pipe_t     listener;
	char	     *path;
	struct store *store;
	int (*act)(void *, struct engine_action *, char **);
	void		    *arg;
	const struct config *config; /* NULL: none given */

	struct control_conn *conns;
	unsigned int	     nconns;
	uint64_t	     idle_ms;
	unsigned int	     handles; /* listener, conns */
	int		     closing;
	void (*close_cb)(void *);
	void *close_arg;
};

/* A command: a read or token command's function, or an action's kind
 * (control_action). */
struct control_command {
	const char *name;
	void (*fn)(struct control_conn *, json_t *, json_t *);
	enum engine_action_kind action;
};

static void control_conn_close(struct control_conn *);
static void control_conn_process(struct control_conn *);
static void control_conn_resume(struct control_conn *);
static void control_conn_busy(struct control_conn *);

const char *
control_error_name(int code)
{
	switch (code) {
	case ENGINE_EINVAL:
		return ("invalid");
	case ENGINE_ENOTFOUND:
		return ("not_found");
	case ENGINE_EFORBIDDEN:
		return ("forbidden");
	case ENGINE_ECONFLICT:
		return ("conflict");
	case ENGINE_ESTORE:
		return ("store");
	case ENGINE_ECLOSING:
		return ("closing");
	}
	return ("failed");
}

/* --- Replies ------------------------------------------------------------- */

static void control_fail(json_t *reply, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
control_fail(json_t *reply, const char *error, const char *fmt, ...)
{
	va_list ap;
	char   *detail;

	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	json_object_set_new(reply, "ok", json_false());
	json_object_set_new(reply, "error", json_string(error));
	json_object_set_new(reply, "detail", json_string(detail));
	free(detail);
}

static void
control_write_cb(uv_write_t *req, int status)
{
	struct control_write *w = req->data;
	struct control_conn  *conn = w->conn;

	conn->queued -= w->len;
	free(w->data);
	free(w);
	if (conn->closing)
		return;
	if (status < 0) {
		log_debug(LOG_CAT_ENGINE, "control: write failed: %s",
		    uv_strerror(status));
		control_conn_close(conn);
		return;
	}
	control_conn_busy(conn);
	if (!conn->reading && conn->queued <= CONTROL_QUEUED_MAX / 2)
		control_conn_resume(conn);
	if (!conn->closing && conn->close_after_write && conn->queued == 0)
		control_conn_close(conn);
}

static void
control_send(struct control_conn *conn, json_t *reply)
{
	struct control_write *w;
	uv_buf_t	      b;
	char		     *text;
	int		      rc;

	if (conn->closing)
		return;
	if ((text = json_dumps(reply, JSON_COMPACT)) == NULL) {
		log_warnx("control: cannot serialise a reply");
		text = xstrdup(
		    "{\"ok\": false, \"error\": \"failed\", "
		    "\"detail\": \"the reply could not be serialised\"}");
	}
	w = xcalloc(1, sizeof *w);
	w->conn = conn;
	w->data = xasprintf("%s\n", text);
	w->len = strlen(w->data);
	free(text);
	w->req.data = w;
	b = uv_buf_init(w->data, (unsigned int)w->len);
	conn->queued += w->len;
	if ((rc = uv_write(&w->req, (uv_stream_t *)&conn->pipe, &b, 1,
		 control_write_cb)) != 0) {
		conn->queued -= w->len;
		free(w->data);
		free(w);
		log_debug(LOG_CAT_ENGINE, "control: write failed: %s",
		    uv_strerror(rc));
		control_conn_close(conn);
	}
}

/* --- Request fields ------------------------------------------------------- */

/* A positive integer field; fails the reply when missing or wrong. */
static int
control_get_id(json_t *req, const char *key, int64_t *idp, json_t *reply)
{
	json_t *v = json_object_get(req, key);

	if (v == NULL || json_is_null(v)) {
		control_fail(reply, "bad_request", "\"%s\" is required", key);
		return (-1);
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		control_fail(reply, "bad_request",
		    "\"%s\" must be a positive "
		    "integer",
		    key);
		return (-1);
	}
	*idp = json_integer_value(v);
	return (0);
}

/*
 * A string field: required ones must be non-empty; an optional one
 * absent or null leaves *sp NULL.
 */
static int
control_get_str(json_t *req, const char *key, int required, const char **sp,
    json_t *reply)
{
	json_t *v = json_object_get(req, key);

	*sp = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return (0);
		control_fail(reply, "bad_request", "\"%s\" is required", key);
		return (-1);
	}
	if (!json_is_string(v)) {
		control_fail(reply, "bad_request", "\"%s\" must be a string",
		    key);
		return (-1);
	}
	if (required && json_string_length(v) == 0) {
		control_fail(reply, "bad_request", "\"%s\" must not be empty",
		    key);
		return (-1);
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		control_fail(reply, "bad_request", "\"%s\" holds a NUL", key);
		return (-1);
	}
	*sp = json_string_value(v);
	return (0);
}

/* A comment that says something: not only blanks. */
static int
control_blank(const char *s)
{
	if (s == NULL)
		return (1);
	for (; *s != '\0'; s++) {
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return (0);
	}
	return (1);
}

/* --- Read commands -------------------------------------------------------- */

static void
control_cmd_runs(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store		*s = conn->control->store;
	struct store_runs_filter f;
	struct store_runs_page	*page = NULL;
	json_t			*runs, *v;
	const char		*status;
	char			*cause = NULL;
	int			 rc;

	memset(&f, 0, sizeof f);
	if (control_get_str(req, "app", 0, &f.app, reply) != 0 ||
	    control_get_str(req, "env", 0, &f.environment, reply) != 0 ||
	    control_get_str(req, "status", 0, &status, reply) != 0)
		return;
	if (status != NULL &&
	    (f.status = store_run_status_from_name(status)) == 0) {
		control_fail(reply, "bad_request", "unknown run status \"%s\"",
		    status);
		return;
	}
	if ((v = json_object_get(req, "limit")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000) {
			control_fail(reply, "bad_request",
			    "\"limit\" must be "
			    "an integer from 1 to 1000");
			return;
		}
		f.limit = (int)json_integer_value(v);
	}
	if ((v = json_object_get(req, "before")) != NULL && !json_is_null(v) &&
	    control_get_id(req, "before", &f.before, reply) != 0)
		return;

	if ((rc = store_runs_page(s, &f, &page, &cause)) != 0) {
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	if ((runs = run_json_runs(s, page, &rc, &cause)) == NULL) {
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "runs", runs);
	json_object_set_new(reply, "next_before",
	    run_json_id(page->next_before));
out:
	store_runs_page_free(page);
	free(cause);
}

static void
control_cmd_show(struct control_conn *conn, json_t *req, json_t *reply)
{
	json_t *o;
	char   *cause = NULL;
	int64_t run_id;
	int	rc;

	if (control_get_id(req, "run", &run_id, reply) != 0)
		return;
	if ((o = run_json(conn->control->store, run_id, CONTROL_AUDIT_MAX, &rc,
		 &cause)) == NULL) {
		control_fail(reply,
		    rc == STORE_ENOTFOUND ? "not_found" : "store", "%s",
		    cause != NULL ? cause : "unknown");
		free(cause);
		return;
	}
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "run", o);
}

/* --- Actions -------------------------------------------------------------- */

/*
 * Text from a client for the log: at most 128 bytes, control characters
 * and quotes replaced, so that nobody can write a log line of their own.
 */
static char *
control_loggable(const char *s)
{
	char *t, *p;

	if (s == NULL)
		return (xstrdup("-"));
	t = xstrndup(s, 128);
	for (p = t; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
			*p = '?';
	}
	return (t);
}

/* The outcome of a handler, logged and put in the reply. */
static void
control_outcome(struct control_conn *conn, const char *command,
    const struct engine_actor *actor, int64_t id, int rc, char *cause,
    json_t *reply)
{
	char *as, *detail;

	as = control_loggable(actor->user);
	detail = control_loggable(cause);
	json_object_set_new(reply, "as", json_string(actor->user));
	if (rc == 0) {
		log_info("control: %s done id=%lld as=%s unix_user=%s", command,
		    (long long)id, as,
		    actor->unix_user != NULL ? actor->unix_user : "-");
		json_object_set_new(reply, "ok", json_true());
	} else {
		log_info("control: %s refused id=%lld as=%s unix_user=%s "
			 "error=%s detail=\"%s\"",
		    command, (long long)id, as,
		    actor->unix_user != NULL ? actor->unix_user : "-",
		    control_error_name(rc), detail);
		control_fail(reply, control_error_name(rc), "%s",
		    cause != NULL ? cause : control_error_name(rc));
	}
	free(as);
	free(detail);
	free(cause);
}

/*
 * Who the peer is: the shipgate user its Unix user maps to (NULL when
 * none), whether it is an admin (root, or a member of
 * control_admin_group), and the person a quorum counts.
 */
struct control_who {
	const struct config_user *me;
	int			  admin;
	char			 *person; /* "alice", "uid 6" */
	char			 *label;  /* for the audit */
};

static int
control_who(struct control_conn *conn, struct control_who *who, json_t *reply)
{
	const struct config *config = conn->control->config;

	memset(who, 0, sizeof *who);
	if (!conn->has_uid) {
		control_fail(reply, "forbidden",
		    "the control socket cannot "
		    "tell who you are (no peer credentials)");
		return (-1);
	}
	if (config != NULL)
		who->me = config_find_unix_user(config, (unsigned int)conn->uid,
		    conn->unix_name);
	who->admin = conn->uid == 0 ||
		     (who->me != NULL && config->control_admin_group != NULL &&
			 config_user_in_group(who->me,
			     config->control_admin_group));
	if (who->me != NULL)
		who->person = xstrdup(who->me->name);
	else
		who->person = xasprintf("uid %u", (unsigned int)conn->uid);
	who->label = xstrdup(conn->unix_user);
	return (0);
}

static void
control_who_free(struct control_who *who)
{
	free(who->person);
	free(who->label);
}

/*
 * May the peer act as user (NULL: as itself)?  Sets *userp to the user
 * acted as and records an impersonation in who->label ("root (uid 0)
 * acting as bob").  Fails the reply when not.
 */
static int
control_act_as(struct control_conn *conn, struct control_who *who,
    const char *user, const char **userp, json_t *reply)
{
	const struct config *config = conn->control->config;
	char		    *label;

	*userp = NULL;
	if (user == NULL) {
		if (who->me == NULL) {
			control_fail(reply, "forbidden",
			    "%s is no shipgate "
			    "user (map it with users[].unix_user or unix_uid "
			    "in the configuration), and only an admin may act "
			    "for others with --as",
			    conn->unix_user);
			return (-1);
		}
		*userp = who->me->name;
		return (0);
	}
	if (who->me != NULL && strcmp(who->me->name, user) == 0) {
		*userp = who->me->name;
		return (0);
	}
	if (!who->admin) {
		control_fail(reply, "forbidden",
		    "%s may not act as %s: --as "
		    "is for root and the members of control_admin_group (%s)",
		    conn->unix_user, user,
		    config != NULL && config->control_admin_group != NULL ?
			config->control_admin_group :
			"none configured");
		return (-1);
	}
	label = xasprintf("%s acting as %s", who->label, user);
	free(who->label);
	who->label = label;
	*userp = user;
	return (0);
}

static int
control_actor(struct control_conn *conn, json_t *req,
    struct engine_actor *actor, struct control_who *who, json_t *reply)
{
	const char *as;

	memset(actor, 0, sizeof *actor);
	if (control_get_str(req, "as", 0, &as, reply) != 0)
		return (-1);
	if (as != NULL && *as == '\0') {
		control_fail(reply, "bad_request", "\"as\" must not be empty");
		return (-1);
	}
	if (control_who(conn, who, reply) != 0)
		return (-1);
	if (control_act_as(conn, who, as, &actor->user, reply) != 0) {
		control_who_free(who);
		return (-1);
	}
	actor->via = "cli";
	actor->unix_user = who->label;
	actor->person = who->person;
	return (0);
}

/*
 * An action (approve, reject, authorise, cancel, retry, redeploy): its
 * fields (the run, or the release to redeploy; env but to authorise and
 * cancel; a comment but to retry and redeploy, required to reject), who
 * asks (control_actor), then the handler with the action as struct
 * engine_action, and the outcome in the reply.
 */
static void
control_action(struct control_conn *conn, json_t *req, json_t *reply,
    enum engine_action_kind kind)
{
	struct control	    *c = conn->control;
	struct engine_action a;
	struct control_who   who;
	const char	    *command = engine_action_name(kind);
	const char	    *idf = kind == ENGINE_REDEPLOY ? "release" : "run";
	char		    *cause = NULL;
	int		     env, comment, rc;

	env = kind != ENGINE_AUTHORISE && kind != ENGINE_CANCEL;
	comment = kind != ENGINE_RETRY && kind != ENGINE_REDEPLOY;
	memset(&a, 0, sizeof a);
	a.kind = kind;
	if (control_get_id(req, idf, &a.id, reply) != 0 ||
	    (env && control_get_str(req, "env", 1, &a.env, reply) != 0) ||
	    (comment &&
		control_get_str(req, "comment", 0, &a.comment, reply) != 0))
		return;
	if (kind == ENGINE_REJECT && control_blank(a.comment)) {
		control_fail(reply, "bad_request",
		    "a rejection needs a "
		    "comment");
		return;
	}
	if (kind == ENGINE_ACK_DRIFT && control_blank(a.comment)) {
		control_fail(reply, "bad_request",
		    "acknowledging drift needs a comment saying why");
		return;
	}
	if (kind == ENGINE_OVERRIDE && control_blank(a.comment)) {
		control_fail(reply, "bad_request",
		    "an override needs a "
		    "comment saying why");
		return;
	}
	if (c->act == NULL) {
		control_fail(reply, "not_implemented", "%s is not available",
		    command);
		return;
	}
	if (control_actor(conn, req, &a.actor, &who, reply) != 0)
		return;
	rc = c->act(c->arg, &a, &cause);
	control_outcome(conn, command, &a.actor, a.id, rc, cause, reply);
	control_who_free(&who);
	json_object_set_new(reply, idf, json_integer(a.id));
	if (env)
		json_object_set_new(reply, "env", json_string(a.env));
	if (kind == ENGINE_REDEPLOY && rc == 0)
		json_object_set_new(reply, "run", run_json_id(a.new_run));
}

/*
 * An action on an environment (continue-rollback, delete-failed-stack on
 * its stuck stack; freeze, unfreeze): app, env, a comment (required),
 * the resources to skip (continue-rollback), the end of a freeze, who
 * asks; the engine checks the rest.
 */
#define CONTROL_SKIP_MAX 32

static void
control_stack_action(struct control_conn *conn, json_t *req, json_t *reply,
    enum engine_action_kind kind)
{
	struct control	    *c = conn->control;
	struct engine_action a;
	struct control_who   who;
	const char	    *command = engine_action_name(kind);
	const char	    *skip[CONTROL_SKIP_MAX];
	json_t		    *v, *item;
	char		    *cause = NULL;
	size_t		     i;
	int		     rc;

	memset(&a, 0, sizeof a);
	a.kind = kind;
	if (control_get_str(req, "app", 1, &a.app, reply) != 0 ||
	    control_get_str(req, "env", 1, &a.env, reply) != 0 ||
	    control_get_str(req, "comment", 0, &a.comment, reply) != 0)
		return;
	if (control_blank(a.comment)) {
		control_fail(reply, "bad_request",
		    "%s needs a comment saying "
		    "why",
		    command);
		return;
	}
	if (kind == ENGINE_FREEZE &&
	    control_get_id(req, "until", &a.until, reply) != 0)
		return;
	if (kind == ENGINE_UNFREEZE &&
	    (v = json_object_get(req, "freeze")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			control_fail(reply, "bad_request",
			    "\"freeze\" is a "
			    "run-time freeze's id (shipgatectl freezes)");
			return;
		}
		a.id = (int64_t)json_integer_value(v);
	}
	if ((v = json_object_get(req, "skip")) != NULL) {
		if (!json_is_array(v) ||
		    json_array_size(v) > CONTROL_SKIP_MAX) {
			control_fail(reply, "bad_request",
			    "\"skip\" is an "
			    "array of at most %d logical resource ids",
			    CONTROL_SKIP_MAX);
			return;
		}
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				control_fail(reply, "bad_request",
				    "\"skip\" "
				    "holds strings");
				return;
			}
			skip[i] = json_string_value(item);
		}
		a.skip = skip;
		a.nskip = json_array_size(v);
	}
	if (c->act == NULL) {
		control_fail(reply, "not_implemented", "%s is not available",
		    command);
		return;
	}
	if (control_actor(conn, req, &a.actor, &who, reply) != 0)
		return;
	rc = c->act(c->arg, &a, &cause);
	control_outcome(conn, command, &a.actor, 0, rc, cause, reply);
	control_who_free(&who);
	json_object_set_new(reply, "app", json_string(a.app));
	json_object_set_new(reply, "env", json_string(a.env));
}

/* The freezes of an app, shipgate.yaml's and the run-time ones (anyone
 * may read). */
static void
control_cmd_freezes(struct control_conn *conn, json_t *req, json_t *reply)
{
	const struct config  *config = conn->control->config;
	struct store_freezes *l = NULL;
	const char	     *app, *env;
	char		     *cause = NULL;
	int64_t		      now;

	if (control_get_str(req, "app", 1, &app, reply) != 0 ||
	    control_get_str(req, "env", 0, &env, reply) != 0)
		return;
	now = store_now(conn->control->store);
	if (store_freezes(conn->control->store, app, env, now, &l, &cause) !=
	    0) {
		control_fail(reply, "store", "%s", cause);
		free(cause);
		return;
	}
	json_object_set_new(reply, "freezes",
	    run_json_freezes(config != NULL ? config_find_app(config, app) :
					      NULL,
		env, l, now));
	store_freezes_free(l);
	json_object_set_new(reply, "ok", json_true());
}

/* The environments held by a stuck stack (anyone may read). */
static void
control_cmd_stacks(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store_stack_holds *l = NULL;
	const char		 *app;
	json_t			 *a, *o;
	char			 *cause = NULL;
	size_t			  i;

	if (control_get_str(req, "app", 0, &app, reply) != 0)
		return;
	if (store_stack_holds(conn->control->store, app, &l, &cause) != 0) {
		control_fail(reply, "store", "%s", cause);
		free(cause);
		return;
	}
	a = json_array();
	for (i = 0; i < l->n; i++) {
		o = run_json_stack_hold(l->v[i]);
		json_array_append_new(a, o);
	}
	store_stack_holds_free(l);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "stuck", a);
}

/* --- API tokens ----------------------------------------------------------- */

/* UTF-8 characters, not bytes. */
static size_t
control_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

static void
control_token_audit(struct control_conn *conn, const char *actor,
    const char *unix_user, const char *action, int64_t id, const char *label)
{
	struct store_audit_in au;
	char		     *subject, *cause = NULL;

	subject = xasprintf("token %lld", (long long)id);
	memset(&au, 0, sizeof au);
	au.actor = actor;
	au.unix_user = unix_user;
	au.action = action;
	au.subject = subject;
	au.detail = label;
	if (store_append_audit(conn->control->store, &au, &cause) != 0)
		log_warnx("control: cannot audit %s of token %lld: %s", action,
		    (long long)id, cause);
	free(cause);
	free(subject);
}

/*
 * Audits what who did (action on subject, with detail) and commits the
 * transaction the caller began; when either fails, rolls it back and
 * fails the reply.  Returns 0 or -1.
 */
static int
control_audit_commit(struct control_conn *conn, struct control_who *who,
    const char *action, const char *subject, const char *detail, json_t *reply)
{
	struct store	     *s = conn->control->store;
	struct store_audit_in au;
	char		     *cause = NULL;
	int		      rc = -1;

	memset(&au, 0, sizeof au);
	au.actor = who->me != NULL ? who->me->name : "shipgated";
	au.unix_user = who->label;
	au.action = action;
	au.subject = subject;
	au.detail = detail;
	if (store_append_audit(s, &au, &cause) != 0 ||
	    store_commit(s, &cause) != 0) {
		store_rollback(s);
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	rc = 0;
out:
	free(cause);
	return (rc);
}

/* A token for one's own user, or for anyone by an admin. */
static void
control_cmd_token_create(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store	  *s = conn->control->store;
	struct control_who who;
	const char	  *user, *as, *label;
	char		   token[TOKEN_LEN + 1];
	unsigned char	   hash[TOKEN_HASH_LEN];
	char		  *cause = NULL;
	int64_t		   id;

	if (control_get_str(req, "user", 1, &user, reply) != 0 ||
	    control_get_str(req, "label", 0, &label, reply) != 0)
		return;
	if (label != NULL && control_chars(label) > CONTROL_LABEL_MAX) {
		control_fail(reply, "bad_request",
		    "the label is too long: at "
		    "most %d characters",
		    CONTROL_LABEL_MAX);
		return;
	}
	if (control_who(conn, &who, reply) != 0)
		return;
	if (control_act_as(conn, &who, user, &as, reply) != 0)
		goto out;
	if (conn->control->config != NULL &&
	    config_find_user(conn->control->config, user) == NULL) {
		control_fail(reply, "invalid", "%s is not a configured user",
		    user);
		goto out;
	}
	if (token_generate(token) != 0) {
		control_fail(reply, "failed", "no randomness to make a token");
		goto out;
	}
	token_hash(token, hash);
	if (store_token_create(s, hash, user, label, who.label, store_now(s),
		&id, &cause) != 0) {
		control_fail(reply, "store", "%s", cause);
		free(cause);
		explicit_bzero(token, sizeof token);
		goto out;
	}
	control_token_audit(conn, user, who.label, "token create", id, label);
	log_info("control: token created id=%lld user=%s unix_user=%s",
	    (long long)id, user, who.label);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "id", json_integer(id));
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "token", json_string(token));
	explicit_bzero(token, sizeof token);
out:
	control_who_free(&who);
}

/* An admin sees every token, a user their own. */
static void
control_cmd_token_list(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store_tokens *list = NULL;
	struct store_token  *t;
	struct control_who   who;
	json_t		    *a;
	char		    *cause = NULL;
	size_t		     i;

	if (control_who(conn, &who, reply) != 0)
		return;
	if (!who.admin && who.me == NULL) {
		control_fail(reply, "forbidden",
		    "%s is no shipgate user: it "
		    "has no tokens to list",
		    conn->unix_user);
		goto out;
	}
	if (store_token_list(conn->control->store, &list, &cause) != 0) {
		control_fail(reply, "store", "%s", cause);
		free(cause);
		goto out;
	}
	a = json_array();
	for (i = 0; i < list->n; i++) {
		t = &list->items[i];
		if (!who.admin && strcmp(t->user, who.me->name) != 0)
			continue;
		json_array_append_new(a,
		    json_pack("{s:I, s:o, s:o, s:o, s:o, "
			      "s:o, s:o}",
			"id", (json_int_t)t->id, "user", run_json_str(t->user),
			"label", run_json_str(t->label), "created_by",
			run_json_str(t->created_by), "created_at",
			run_json_time(t->created_at), "last_used_at",
			run_json_time(t->last_used_at), "revoked_at",
			run_json_time(t->revoked_at)));
	}
	store_tokens_free(list);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "tokens", a);
out:
	control_who_free(&who);
}

/* The token's owner of a token id, or NULL (caller frees). */
static char *
control_token_owner(struct store *s, int64_t id, char **cause)
{
	struct store_tokens *list = NULL;
	char		    *user = NULL;
	size_t		     i;

	if (store_token_list(s, &list, cause) != 0)
		return (NULL);
	for (i = 0; i < list->n; i++)
		if (list->items[i].id == id)
			user = xstrdup(list->items[i].user);
	store_tokens_free(list);
	return (user);
}

/* An admin revokes any token, a user their own. */
static void
control_cmd_token_revoke(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store	  *s = conn->control->store;
	struct control_who who;
	char		  *cause = NULL, *owner = NULL;
	int64_t		   id;
	int		   rc;

	if (control_get_id(req, "id", &id, reply) != 0)
		return;
	if (control_who(conn, &who, reply) != 0)
		return;
	if ((owner = control_token_owner(s, id, &cause)) == NULL &&
	    cause != NULL) {
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	if (owner == NULL && !who.admin && who.me == NULL) {
		control_fail(reply, "forbidden",
		    "%s is no shipgate user: it "
		    "has no tokens to revoke",
		    conn->unix_user);
		goto out;
	}
	if (owner != NULL && !who.admin &&
	    (who.me == NULL || strcmp(owner, who.me->name) != 0)) {
		control_fail(reply, "forbidden",
		    "%s may not revoke token %lld "
		    "of %s: only its user or an admin may",
		    conn->unix_user, (long long)id, owner);
		goto out;
	}
	if ((rc = store_token_revoke(s, id, store_now(s), &cause)) != 0) {
		control_fail(reply,
		    rc == STORE_ENOTFOUND ? "not_found" : "store", "%s", cause);
		goto out;
	}
	control_token_audit(conn, who.me != NULL ? who.me->name : "shipgated",
	    who.label, "token revoke", id, NULL);
	log_info("control: token revoked id=%lld unix_user=%s", (long long)id,
	    who.label);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "id", json_integer(id));
out:
	free(cause);
	free(owner);
	control_who_free(&who);
}

/* --- Portal sessions ------------------------------------------------------ */

/*
 * Whose sessions the peer may see or end: any user's for an admin,
 * else only its own.  *userp is the user to filter on (NULL: all).
 */
static int
control_session_scope(struct control_conn *conn, struct control_who *who,
    const char *user, const char **userp, json_t *reply)
{
	*userp = user;
	if (who->admin)
		return (0);
	if (who->me == NULL) {
		control_fail(reply, "forbidden",
		    "%s is no shipgate user: it "
		    "has no sessions",
		    conn->unix_user);
		return (-1);
	}
	if (user != NULL && strcmp(user, who->me->name) != 0) {
		control_fail(reply, "forbidden",
		    "%s may not see or end the "
		    "sessions of %s: only their user or an admin may",
		    conn->unix_user, user);
		return (-1);
	}
	*userp = who->me->name;
	return (0);
}

static void
control_cmd_sessions_list(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store		 *s = conn->control->store;
	struct store_sessions	 *list = NULL;
	struct store_session_row *r;
	struct control_who	  who;
	const char		 *user;
	json_t			 *a;
	char			 *cause = NULL;
	size_t			  i;

	if (control_get_str(req, "user", 0, &user, reply) != 0 ||
	    control_who(conn, &who, reply) != 0)
		return;
	if (control_session_scope(conn, &who, user, &user, reply) != 0)
		goto out;
	if (store_session_list(s, user, store_now(s), &list, &cause) != 0) {
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	a = json_array();
	for (i = 0; i < list->n; i++) {
		r = &list->items[i];
		json_array_append_new(a,
		    json_pack("{s:s, s:o, s:o, s:o, s:o, "
			      "s:o}",
			"id", r->id, "user", run_json_str(r->user),
			"remote_addr", run_json_str(r->remote_addr),
			"created_at", run_json_time(r->created_at),
			"last_seen_at", run_json_time(r->last_seen_at),
			"expires_at", run_json_time(r->expires_at)));
	}
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "sessions", a);
out:
	store_sessions_free(list);
	free(cause);
	control_who_free(&who);
}

/* One session by id, or every session of a user (tokens: token_revoke). */
static void
control_cmd_sessions_revoke(struct control_conn *conn, json_t *req,
    json_t *reply)
{
	struct store	  *s = conn->control->store;
	struct control_who who;
	const char	  *id, *user;
	char		  *cause = NULL, *owner = NULL, *subject = NULL;
	char		  *detail = NULL;
	int		   nsess = 0, rc;

	if (control_get_str(req, "id", 0, &id, reply) != 0 ||
	    control_get_str(req, "user", 0, &user, reply) != 0)
		return;
	if ((id == NULL) == (user == NULL)) {
		control_fail(reply, "bad_request",
		    "give either \"id\" or "
		    "\"user\"");
		return;
	}
	if (control_who(conn, &who, reply) != 0)
		return;
	if (user != NULL) {
		if (control_session_scope(conn, &who, user, &user, reply) != 0)
			goto out;
		if ((rc = store_begin(s, &cause)) != 0 ||
		    (rc = store_session_revoke_user(s, user, store_now(s),
			 &nsess, &cause)) != 0) {
			store_rollback(s);
			control_fail(reply, "store", "%s", cause);
			goto out;
		}
		owner = xstrdup(user);
		subject = xasprintf("user %s", user);
		detail = xasprintf("%d sessions ended", nsess);
	} else {
		/* Whose it is decides who may end it: look first. */
		if (!who.admin && who.me == NULL) {
			control_fail(reply, "forbidden",
			    "%s is no shipgate "
			    "user: it has no sessions",
			    conn->unix_user);
			goto out;
		}
		if ((rc = store_begin(s, &cause)) != 0 ||
		    (rc = store_session_revoke_id(s, id, store_now(s), &owner,
			 &cause)) != 0) {
			store_rollback(s);
			control_fail(reply,
			    rc == STORE_ENOTFOUND ? "not_found" : "store", "%s",
			    cause);
			goto out;
		}
		if (!who.admin && strcmp(owner, who.me->name) != 0) {
			store_rollback(s);
			control_fail(reply, "forbidden",
			    "%s may not end "
			    "session %s of %s: only its user or an admin may",
			    conn->unix_user, id, owner);
			goto out;
		}
		nsess = 1;
		subject = xasprintf("user %s", owner);
		detail = xasprintf("session %s ended", id);
	}
	if (control_audit_commit(conn, &who, "sessions end", subject, detail,
		reply) != 0)
		goto out;
	log_info("control: sessions ended user=%s sessions=%d unix_user=%s",
	    owner, nsess, who.label);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "user", json_string(owner));
	json_object_set_new(reply, "sessions", json_integer(nsess));
out:
	free(cause);
	free(owner);
	free(subject);
	free(detail);
	control_who_free(&who);
}

/* --- People an identity provider signed in ------------------------------ */

/* Who may see and forget them: an admin of the control socket. */
static int
control_people_admin(struct control_conn *conn, struct control_who *who,
    json_t *reply)
{
	if (who->admin)
		return (0);
	control_fail(reply, "forbidden",
	    "%s may not see or forget the "
	    "people signed in by the identity provider: only an admin may",
	    conn->unix_user);
	return (-1);
}

static void
control_cmd_people_list(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store	    *s = conn->control->store;
	struct store_people *list = NULL;
	struct store_person *p;
	struct control_who   who;
	json_t		    *a, *g;
	char		    *cause = NULL;
	size_t		     i, j;

	(void)req;
	if (control_who(conn, &who, reply) != 0)
		return;
	if (control_people_admin(conn, &who, reply) != 0)
		goto out;
	if (store_people_list(s, 0, &list, &cause) != 0) {
		control_fail(reply, "store", "%s", cause);
		goto out;
	}
	a = json_array();
	for (i = 0; i < list->n; i++) {
		p = &list->items[i];
		g = json_array();
		for (j = 0; p->groups[j] != NULL; j++)
			json_array_append_new(g, json_string(p->groups[j]));
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, "
			      "s:o}",
			"name", run_json_str(p->name), "email",
			run_json_str(p->email), "groups", g, "source",
			run_json_str(p->source), "first_seen",
			run_json_time(p->first_seen), "last_seen",
			run_json_time(p->last_seen)));
	}
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "people", a);
out:
	store_people_free(list);
	free(cause);
	control_who_free(&who);
}

/*
 * Forgets a person: the store's row, their sessions and API tokens
 * (ended at once, in the same transaction, audited: a token must not
 * come back to life when the provider signs them in again) and the directory's entry, so that no
 * mail reaches them until they sign in again.
 */
static void
control_cmd_people_forget(struct control_conn *conn, json_t *req, json_t *reply)
{
	struct store	    *s = conn->control->store;
	const struct config *config = conn->control->config;
	struct control_who   who;
	const char	    *name;
	char		    *cause = NULL, *subject = NULL;
	char		    *detail = NULL;
	int		     nsess = 0, ntok = 0, rc;

	if (control_get_str(req, "name", 1, &name, reply) != 0 ||
	    control_who(conn, &who, reply) != 0)
		return;
	if (control_people_admin(conn, &who, reply) != 0)
		goto out;
	if ((rc = store_begin(s, &cause)) != 0 ||
	    (rc = store_person_forget(s, name, &cause)) != 0 ||
	    (rc = store_session_revoke_user(s, name, store_now(s), &nsess,
		 &cause)) != 0 ||
	    (rc = store_token_revoke_user(s, name, store_now(s), &ntok,
		 &cause)) != 0) {
		store_rollback(s);
		control_fail(reply,
		    rc == STORE_ENOTFOUND ? "not_found" : "store", "%s", cause);
		goto out;
	}
	subject = xasprintf("person %s", name);
	detail = xasprintf("forgotten, %d sessions and %d tokens ended", nsess,
	    ntok);
	if (control_audit_commit(conn, &who, "person forget", subject, detail,
		reply) != 0)
		goto out;
	if (config != NULL)
		(void)people_forget(config->people, name);
	log_info("control: person forgotten name=%s sessions=%d tokens=%d "
		 "unix_user=%s",
	    name, nsess, ntok, who.label);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "name", json_string(name));
	json_object_set_new(reply, "sessions", json_integer(nsess));
	json_object_set_new(reply, "tokens", json_integer(ntok));
out:
	free(cause);
	free(subject);
	free(detail);
	control_who_free(&who);
}

static const struct control_command control_commands[] = {
	{ "runs", control_cmd_runs, 0 },
	{ "show", control_cmd_show, 0 },
	{ "approve", NULL, ENGINE_APPROVE },
	{ "reject", NULL, ENGINE_REJECT },
	{ "authorise", NULL, ENGINE_AUTHORISE },
	{ "cancel", NULL, ENGINE_CANCEL },
	{ "retry", NULL, ENGINE_RETRY },
	{ "redeploy", NULL, ENGINE_REDEPLOY },
	{ "continue_rollback", NULL, ENGINE_CONTINUE_ROLLBACK },
	{ "delete_failed_stack", NULL, ENGINE_DELETE_FAILED_STACK },
	{ "freeze", NULL, ENGINE_FREEZE },
	{ "unfreeze", NULL, ENGINE_UNFREEZE },
	{ "override", NULL, ENGINE_OVERRIDE },
	{ "ack_drift", NULL, ENGINE_ACK_DRIFT },
	{ "freezes", control_cmd_freezes, 0 },
	{ "stacks", control_cmd_stacks, 0 },
	{ "token_create", control_cmd_token_create, 0 },
	{ "token_list", control_cmd_token_list, 0 },
	{ "token_revoke", control_cmd_token_revoke, 0 },
	{ "sessions_list", control_cmd_sessions_list, 0 },
	{ "sessions_revoke", control_cmd_sessions_revoke, 0 },
	{ "people_list", control_cmd_people_list, 0 },
	{ "people_forget", control_cmd_people_forget, 0 },
};

/* One request line (without its newline): always one reply. */
static void
control_request(struct control_conn *conn, const char *line, size_t len)
{
	const struct control_command *cmd = NULL;
	json_error_t		      error;
	json_t			     *req, *reply, *v;
	const char		     *name;
	size_t			      i;

	reply = json_object();
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	if (req == NULL) {
		control_fail(reply, "bad_request", "not JSON: %s (column %d)",
		    error.text, error.column);
		goto out;
	}
	if (!json_is_object(req)) {
		control_fail(reply, "bad_request",
		    "a request is a JSON "
		    "object");
		goto out;
	}
	if ((v = json_object_get(req, "id")) != NULL)
		json_object_set(reply, "id", v);
	if ((v = json_object_get(req, "command")) == NULL ||
	    !json_is_string(v)) {
		control_fail(reply, "bad_request",
		    "\"command\" is required "
		    "(a string)");
		goto out;
	}
	name = json_string_value(v);
	for (i = 0; i < sizeof control_commands / sizeof *control_commands;
	     i++) {
		if (strcmp(control_commands[i].name, name) == 0) {
			cmd = &control_commands[i];
			break;
		}
	}
	if (cmd == NULL) {
		control_fail(reply, "unknown_command", "no command \"%.64s\"",
		    name);
		goto out;
	}
	json_object_set_new(reply, "command", json_string(cmd->name));
	if (cmd->action == ENGINE_CONTINUE_ROLLBACK ||
	    cmd->action == ENGINE_DELETE_FAILED_STACK ||
	    cmd->action == ENGINE_FREEZE || cmd->action == ENGINE_UNFREEZE)
		control_stack_action(conn, req, reply, cmd->action);
	else if (cmd->action != 0)
		control_action(conn, req, reply, cmd->action);
	else
		cmd->fn(conn, req, reply);
	if (json_object_get(reply, "ok") == NULL)
		control_fail(reply, "failed", "no reply"); /* a bug */
out:
	control_send(conn, reply);
	json_decref(reply);
	json_decref(req);
}

/* --- Connections ---------------------------------------------------------- */

static void
control_maybe_done(struct control *c)
{
	if (!c->closing || c->handles != 0)
		return;
	if (c->close_cb != NULL)
		c->close_cb(c->close_arg);
	free(c->path);
	free(c);
}

static void
control_listener_close_cb(uv_handle_t *h)
{
	struct control *c = h->data;

	c->handles--;
	control_maybe_done(c);
}

static void
control_conn_close_cb(uv_handle_t *h)
{
	struct control_conn *conn = h->data;
	struct control	    *c = conn->control;

	if (--conn->open_handles > 0)
		return;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		c->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	c->nconns--;
	buf_free(&conn->in);
	free(conn->unix_name);
	free(conn->unix_user);
	free(conn);
	c->handles--;
	control_maybe_done(c);
}

static void
control_conn_close(struct control_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = 1;
	uv_close((uv_handle_t *)&conn->pipe, control_conn_close_cb);
	uv_close((uv_handle_t *)&conn->idle, control_conn_close_cb);
}

static void
control_idle_cb(uv_timer_t *t)
{
	struct control_conn *conn = t->data;

	log_info("control: closing a silent connection unix_user=%s "
		 "after_ms=%llu",
	    conn->unix_user != NULL ? conn->unix_user : "-",
	    (unsigned long long)conn->control->idle_ms);
	control_conn_close(conn);
}

/* Something moved: the client has idle_ms again before it is closed. */
static void
control_conn_busy(struct control_conn *conn)
{
	if (!conn->closing)
		uv_timer_start(&conn->idle, control_idle_cb,
		    conn->control->idle_ms, 0);
}

static void
control_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct control_conn *conn = h->data;

	*b = uv_buf_init(conn->rbuf, sizeof conn->rbuf);
}

/*
 * Answers every complete line in `in`, unless the client has too many
 * replies to read: then reading stops until they are written.
 */
static void
control_conn_process(struct control_conn *conn)
{
	char  *line, *nl;
	size_t len;

	while (!conn->closing && conn->queued <= CONTROL_QUEUED_MAX) {
		line = conn->in.data + conn->start;
		len = conn->in.len - conn->start;
		if (len == 0 || (nl = memchr(line, '\n', len)) == NULL)
			break;
		conn->start += (size_t)(nl - line) + 1;
		if (conn->discarding) {
			conn->discarding = 0;
			continue;
		}
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > CONTROL_LINE_MAX) {
			json_t *reply = json_object();

			control_fail(reply, "too_long",
			    "a request is at most "
			    "%d bytes",
			    CONTROL_LINE_MAX);
			control_send(conn, reply);
			json_decref(reply);
			continue;
		}
		if (len > 0)
			control_request(conn, line, len);
	}
	if (conn->closing)
		return;
	/* Drop what was answered. */
	if (conn->start > 0) {
		memmove(conn->in.data, conn->in.data + conn->start,
		    conn->in.len - conn->start);
		conn->in.len -= conn->start;
		conn->in.data[conn->in.len] = '\0';
		conn->start = 0;
	}
	/* A line longer than allowed with no end in sight: answer now and
	 * skip the rest of it. */
	if (conn->in.len > CONTROL_LINE_MAX &&
	    memchr(conn->in.data, '\n', conn->in.len) == NULL) {
		json_t *reply = json_object();

		control_fail(reply, "too_long", "a request is at most %d bytes",
		    CONTROL_LINE_MAX);
		control_send(conn, reply);
		json_decref(reply);
		if (conn->discarding == 0)
			conn->discarding = 1;
		buf_reset(&conn->in);
	}
	if (conn->discarding && conn->in.len > 0 &&
	    memchr(conn->in.data, '\n', conn->in.len) == NULL)
		buf_reset(&conn->in);
}

static void
control_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
	struct control_conn *conn = stream->data;

	if (conn->closing)
		return;
	if (n < 0) {
		/* EOF: answer what came, then close once it is written. */
		uv_read_stop(stream);
		conn->reading = 0;
		if (n != UV_EOF)
			log_debug(LOG_CAT_ENGINE, "control: read failed: %s",
			    uv_strerror((int)n));
		if (n == UV_EOF && !conn->discarding && conn->in.len > 0 &&
		    buf_append(&conn->in, "\n", 1) == 0)
			control_conn_process(conn);
		if (conn->closing)
			return;
		conn->close_after_write = 1;
		if (conn->queued == 0)
			control_conn_close(conn);
		return;
	}
	if (n == 0)
		return;
	control_conn_busy(conn);
	if (buf_append(&conn->in, b->base, (size_t)n) != 0) {
		/* Cannot happen with the bounds kept by process(). */
		buf_reset(&conn->in);
		conn->start = 0;
		conn->discarding = 1;
	}
	control_conn_process(conn);
	if (!conn->closing && conn->queued > CONTROL_QUEUED_MAX) {
		uv_read_stop(stream);
		conn->reading = 0;
	}
}

/*
 * Answers the requests left waiting while the client caught up with its
 * replies, then reads again (unless it has said all it had to say).
 */
static void
control_conn_resume(struct control_conn *conn)
{
	if (conn->closing || conn->reading)
		return;
	control_conn_process(conn);
	if (conn->closing || conn->close_after_write ||
	    conn->queued > CONTROL_QUEUED_MAX)
		return;
	if (uv_read_start((uv_stream_t *)&conn->pipe, control_alloc_cb,
		control_read_cb) != 0) {
		control_conn_close(conn);
		return;
	}
	conn->reading = 1;
}

/*
 * The peer's real uid from SO_PEERCRED (the kernel's word, unlike
 * anything the client sends), its passwd name if any, and the label
 * the audit shows: "alice (uid 1000)", or "uid 64001" without a name.
 */
static void
control_peer_user(struct control_conn *conn)
{
	struct ucred  cred;
	struct passwd pw, *res = NULL;
	socklen_t     len = sizeof cred;
	uv_os_fd_t    fd;
	char	      pwbuf[4096];

	if (uv_fileno((uv_handle_t *)&conn->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return;
	conn->has_uid = 1;
	conn->uid = cred.uid;
	if (getpwuid_r(cred.uid, &pw, pwbuf, sizeof pwbuf, &res) == 0 &&
	    res != NULL) {
		conn->unix_name = xstrdup(res->pw_name);
		conn->unix_user = xasprintf("%s (uid %u)", res->pw_name,
		    (unsigned int)cred.uid);
	} else
		conn->unix_user = xasprintf("uid %u", (unsigned int)cred.uid);
	explicit_bzero(pwbuf, sizeof pwbuf);
}

static void
control_connection_cb(uv_stream_t *server, int status)
{
	struct control	    *c = server->data;
	struct control_conn *conn;
	json_t		    *reply;

	if (status < 0) {
		log_warnx("control: accept failed: %s", uv_strerror(status));
		return;
	}
	if (c->closing)
		return;
	conn = xcalloc(1, sizeof *conn);
	conn->control = c;
	buf_init(&conn->in, 2 * (CONTROL_LINE_MAX + CONTROL_READ_CHUNK));
	uv_pipe_init(c->loop, &conn->pipe, 0);
	conn->pipe.data = conn;
	uv_timer_init(c->loop, &conn->idle);
	conn->idle.data = conn;
	conn->open_handles = 2;
	control_conn_busy(conn);
	conn->next = c->conns;
	if (c->conns != NULL)
		c->conns->prev = conn;
	c->conns = conn;
	c->nconns++;
	c->handles++;
	if (uv_accept(server, (uv_stream_t *)&conn->pipe) != 0) {
		control_conn_close(conn);
		return;
	}
	if (c->nconns > 2 * CONTROL_CONNECTIONS_MAX) {
		control_conn_close(conn); /* a flood: no reply */
		return;
	}
	if (c->nconns > CONTROL_CONNECTIONS_MAX) {
		log_warnx("control: too many connections, refusing one "
			  "max=%d",
		    CONTROL_CONNECTIONS_MAX);
		reply = json_object();
		control_fail(reply, "busy",
		    "too many control connections "
		    "(at most %d)",
		    CONTROL_CONNECTIONS_MAX);
		conn->close_after_write = 1;
		control_send(conn, reply);
		json_decref(reply);
		return;
	}
	control_peer_user(conn);
	log_debug(LOG_CAT_ENGINE, "control: connection unix_user=%s",
	    conn->unix_user != NULL ? conn->unix_user : "-");
	control_conn_resume(conn);
}

/*
 * Whether something listens on path: 1 yes, 0 a stale socket (or
 * nothing), -1 with *cause when path cannot be used.
 */
static int
control_probe(const char *path, char **cause)
{
	struct sockaddr_un sun;
	struct stat	   sb;
	int		   fd, rc;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		*cause = xasprintf("%s exists and is not a socket", path);
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return (-1);
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (rc == 0) {
		*cause = xasprintf("another shipgated is listening on %s",
		    path);
		return (1);
	}
	if (errno == ECONNREFUSED)
		return (0);
	*cause = xasprintf("%s: %s", path, strerror(errno));
	return (-1);
}

struct control *
control_new(uv_loop_t *loop, const char *path, struct store *store,
    int (*act)(void *, struct engine_action *, char **), void *arg,
    char **cause)
{
	struct sockaddr_un sun;
	struct control	  *c;
	int		   fd, rc;

	*cause = NULL;
	if (path == NULL || *path == '\0') {
		*cause = xstrdup("no control socket path");
		return (NULL);
	}
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("control socket path too long (at most %zu "
				   "bytes): %s",
		    sizeof sun.sun_path - 1, path);
		return (NULL);
	}
	if ((rc = control_probe(path, cause)) != 0)
		return (NULL);
	if (unlink(path) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return (NULL);
	}

	/* Bound and listening before libuv knows of it, so that every
	 * failure up to uv_pipe_open is synchronous and leaves nothing. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return (NULL);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return (NULL);
	}
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		*cause = xasprintf("cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return (NULL);
	}

	c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->path = xstrdup(path);
	c->store = store;
	c->act = act;
	c->arg = arg;
	c->idle_ms = CONTROL_IDLE_MS;
	uv_pipe_init(loop, &c->listener, 0);
	c->listener.data = c;
	c->handles = 1;
	if ((rc = uv_pipe_open(&c->listener, fd)) != 0)
		close(fd);
	if (rc != 0 || (rc = uv_listen((uv_stream_t *)&c->listener, 16,
			    control_connection_cb)) != 0) {
		*cause = xasprintf("cannot listen on %s: %s", path,
		    uv_strerror(rc));
		unlink(path);
		/* Freed from the close callback, which calls no one back. */
		c->closing = 1;
		uv_close((uv_handle_t *)&c->listener,
		    control_listener_close_cb);
		return (NULL);
	}
	log_info("control socket listening path=%s", path);
	return (c);
}

void
control_set_idle_timeout(struct control *c, uint64_t ms)
{
	c->idle_ms = ms;
}

void
control_set_config(struct control *c, const struct config *config)
{
	c->config = config;
}

void
control_close(struct control *c, void (*cb)(void *), void *arg)
{
	struct control_conn *conn;

	if (c->closing)
		return;
	c->closing = 1;
	c->close_cb = cb;
	c->close_arg = arg;
	if (unlink(c->path) == -1 && errno != ENOENT)
		log_warn("control: cannot remove %s", c->path);
	uv_close((uv_handle_t *)&c->listener, control_listener_close_cb);
	for (conn = c->conns; conn != NULL; conn = conn->next)
		control_conn_close(conn);
}
