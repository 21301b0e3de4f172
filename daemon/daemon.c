/*
 * The daemon's life cycle: start-up errors are fatal with a clear message;
 * once serving, errors are contained and logged; a failed reload keeps the
 * old configuration.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "aws-context.h"
#include "config.h"
#include "control.h"
#include "daemon-notify.h"
#include "daemon.h"
#include "engine.h"
#include "intake.h"
#include "log.h"
#include "people.h"
#include "notify.h"
#include "portal.h"
#include "store.h"
#include "xmalloc.h"

struct daemon {
	uv_loop_t		     loop;
	const struct daemon_options *options;
	struct config		    *config;
	struct store		    *store;
	struct aws_context	    *aws;
	struct notify		    *notify;
	struct engine		    *engine;
	struct intake		    *intake;
	struct control		    *control;
	struct portal		    *portal;
	/* People the identity provider signed in: outlives every config. */
	struct people *people;
	int	       closing; /* parts still closing */

	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_timer_t  watchdog;
	int	    watchdog_on;
	uv_timer_t  reopen; /* started on a full
							   disk: the store */
	int	    reopen_on;
	char	   *reopen_why; /* its last failure */
	int	    stopping;
	int	    failed; /* exit 1 */
};

/* While the database cannot be opened (a full disk), tried this often. */
#define DAEMON_REOPEN_MS 2000

static void daemon_stop(struct daemon *, const char *why);

static void
daemon_apply_logging(const struct daemon *d)
{
	if (d->options->verbose) {
		log_set_level(LOG_LEVEL_DEBUG);
		log_set_debug(d->config->log_debug != 0 ? d->config->log_debug :
							  LOG_CAT_ALL);
		return;
	}
	log_set_level(d->config->log_level);
	log_set_debug(
	    d->config->log_debug != 0 ? d->config->log_debug : LOG_CAT_ALL);
}

/* What the configuration allowed against advice, said at each load. */
static void
daemon_warn_config(const struct config *c)
{
	if (c->mail.transport == CONFIG_MAIL_SMTP &&
	    config_mail_plaintext_auth(&c->mail))
		log_warnx("mail: the SMTP password is sent without TLS "
			  "(allow_plaintext_auth: true) user=%s",
		    c->mail.smtp_username);
}

/*
 * Settings that need a restart are named, so an operator who changed
 * them is not surprised that nothing happened.
 */
static void
daemon_warn_restart_needed(const struct config *old, const struct config *new)
{
	if (strcmp(old->database, new->database) != 0)
		log_warnx("configuration reload: database changed, "
			  "restart to use it old=%s new=%s",
		    old->database, new->database);
	if (strcmp(old->listen, new->listen) != 0)
		log_warnx("configuration reload: listen changed, "
			  "restart to use it old=%s new=%s",
		    old->listen, new->listen);
	if ((old->tls_certificate == NULL) != (new->tls_certificate == NULL) ||
	    (old->tls_certificate != NULL &&
		(strcmp(old->tls_certificate, new->tls_certificate) != 0 ||
		    strcmp(old->tls_key, new->tls_key) != 0)))
		log_warnx("configuration reload: tls changed, restart to use "
			  "it");
	if (strcmp(old->control_socket, new->control_socket) != 0)
		log_warnx("configuration reload: control_socket changed, "
			  "restart to use it old=%s new=%s",
		    old->control_socket, new->control_socket);
}

/*
 * Audits that shipgated ended someone's sign-ins (subject and detail,
 * taken and freed) and commits the transaction the caller began.
 * Returns 0, or -1 with *cause set, for the caller to roll back.
 */
static int
daemon_signins_ended(struct daemon *d, char *subject, char *detail,
    char **cause)
{
	struct store_audit_in au;
	int		      rc = 0;

	memset(&au, 0, sizeof au);
	au.actor = "shipgated";
	au.action = "sign-ins end";
	au.subject = subject;
	au.detail = detail;
	if (store_append_audit(d->store, &au, cause) != 0 ||
	    store_commit(d->store, cause) != 0)
		rc = -1;
	free(subject);
	free(detail);
	return (rc);
}

/*
 * A user whose password changed, or who lost a group, is signed out
 * everywhere: a session or a token made under the old credentials must
 * not outlive them (a leaked password is changed to lock its holder
 * out; a group is removed to take a right away).
 */
static void
daemon_end_credentials(struct daemon *d, const struct config *old,
    const struct config *new)
{
	const struct config_user *u;
	char			 *cause = NULL;
	int64_t			  now;
	size_t			  i;
	int			  nsess, ntok;

	if (d->store == NULL)
		return;
	now = store_now(d->store);
	for (i = 0; i < old->nusers; i++) {
		u = &old->users[i];
		if (!config_user_credentials_changed(u,
			config_find_user(new, u->name)))
			continue;
		nsess = ntok = 0;
		if (store_begin(d->store, &cause) != 0 ||
		    store_session_revoke_user(d->store, u->name, now, &nsess,
			&cause) != 0 ||
		    store_token_revoke_user(d->store, u->name, now, &ntok,
			&cause) != 0)
			goto fail;
		if (daemon_signins_ended(d, xasprintf("user %s", u->name),
			xasprintf("password or groups changed: %d sessions and "
				  "%d tokens ended",
			    nsess, ntok),
			&cause) != 0)
			goto fail;
		if (nsess > 0 || ntok > 0)
			log_info("configuration reload: sign-ins ended user=%s "
				 "sessions=%d tokens=%d",
			    u->name, nsess, ntok);
		continue;
fail:
		store_rollback(d->store);
		log_warnx("configuration reload: cannot end the sign-ins of "
			  "user=%s: %s",
		    u->name, cause != NULL ? cause : "unknown");
		free(cause);
		cause = NULL;
	}
}

static int
daemon_map_has(const struct config_kvs *map, const char *group)
{
	size_t i;

	for (i = 0; i < map->n; i++)
		if (strcmp(map->items[i].value, group) == 0)
			return (1);
	return (0);
}

static int
daemon_people_keep(const void *arg, const char *via, const char *group)
{
	const struct config *c = arg;

	if (strcmp(via, "oidc") == 0)
		return (c->oidc.issuer != NULL &&
			daemon_map_has(&c->oidc.groups, group));
	return (c->alb.arn != NULL && daemon_map_has(&c->alb.groups, group));
}

/*
 * A person an identity provider signed in who loses a group because the
 * new configuration no longer maps it (or no longer signs in that way)
 * is signed out everywhere, as a configured user who loses a group is.
 */
static void
daemon_restrict_people(struct daemon *d, const struct config *new)
{
	const struct config_user *u;
	char			**lost, *cause = NULL;
	int64_t			  now;
	size_t			  i;
	int			  nsess, ntok;

	lost = people_restrict(d->people, daemon_people_keep, new);
	for (i = 0; lost[i] != NULL; i++) {
		nsess = ntok = 0;
		if (d->store == NULL)
			goto next;
		now = store_now(d->store);
		if (store_begin(d->store, &cause) != 0 ||
		    store_session_revoke_user(d->store, lost[i], now, &nsess,
			&cause) != 0 ||
		    store_token_revoke_user(d->store, lost[i], now, &ntok,
			&cause) != 0)
			goto fail;
		/* people list says what they have now; one left with no
		 * group keeps its row, which the next start skips. */
		if ((u = people_find(d->people, lost[i])) != NULL &&
		    store_person_set_groups(d->store, lost[i],
			(const char *const *)u->groups.items, &cause) != 0)
			goto fail;
		if (daemon_signins_ended(d, xasprintf("person %s", lost[i]),
			xasprintf("groups no longer mapped: %d sessions and %d "
				  "tokens ended",
			    nsess, ntok),
			&cause) != 0)
			goto fail;
next:
		log_info("configuration reload: groups no longer mapped "
			 "person=%s sessions=%d tokens=%d",
		    lost[i], nsess, ntok);
		free(lost[i]);
		continue;
fail:
		store_rollback(d->store);
		log_warnx("configuration reload: cannot end the sign-ins of "
			  "person=%s: %s",
		    lost[i], cause != NULL ? cause : "unknown");
		free(cause);
		cause = NULL;
		free(lost[i]);
	}
	free(lost);
}

static void
daemon_reload(struct daemon *d)
{
	struct config_errors errors = { 0 };
	struct config *new;
	char  *cause = NULL;
	size_t i;
	int    rc = 0;

	daemon_notify_reloading();
	log_info("reloading configuration path=%s", d->options->config_path);
	new = config_load(d->options->config_path, &errors);
	if (new != NULL)
		new->people = d->people;
	if (new == NULL) {
		for (i = 0; i < errors.n; i++)
			log_err("%s", errors.lines[i]);
		log_err("configuration reload failed, keeping the running "
			"configuration errors=%zu path=%s",
		    errors.n, d->options->config_path);
		config_errors_free(&errors);
		daemon_notify_ready("running (reload failed, old "
				    "configuration kept)");
		return;
	}
	/*
	 * aws.* first: it is the one part that can still refuse the new
	 * configuration (a profile that is not there), and a refused
	 * reload changes nothing.
	 */
	if (d->aws != NULL &&
	    (rc = aws_context_reconfigure(d->aws, new, &cause)) < 0) {
		log_err("configuration reload failed, keeping the running "
			"configuration: cannot use the new aws settings: %s "
			"path=%s",
		    cause, d->options->config_path);
		free(cause);
		config_free(new);
		daemon_notify_ready("running (reload failed, old "
				    "configuration kept)");
		return;
	}
	if (rc > 0)
		log_info("configuration reload: aws settings applied, new "
			 "calls use them region=%s max_attempts=%d profile=%s "
			 "endpoints=%zu",
		    new->aws.region, new->aws.max_attempts,
		    new->aws.profile != NULL ? new->aws.profile : "-",
		    new->aws.nendpoints);
	daemon_warn_restart_needed(d->config, new);
	daemon_warn_config(new);
	daemon_end_credentials(d, d->config, new);
	daemon_restrict_people(d, new);
	if (d->notify != NULL)
		notify_reconfigure(d->notify, new);
	if (d->engine != NULL)
		engine_reconfigure(d->engine, new);
	if (d->intake != NULL)
		intake_reconfigure(d->intake, new);
	if (d->control != NULL)
		control_set_config(d->control, new);
	/* The portal frees the old config once its requests are done. */
	if (d->portal != NULL)
		portal_reconfigure(d->portal, new, d->config);
	else
		config_free(d->config);
	d->config = new;
	daemon_apply_logging(d);
	log_info("configuration reloaded apps=%zu users=%zu", new->napps,
	    new->nusers);
	daemon_notify_ready("running");
}

static void
daemon_signal_cb(uv_signal_t *handle, int signum)
{
	struct daemon *d = handle->data;

	switch (signum) {
	case SIGHUP:
		if (!d->stopping)
			daemon_reload(d);
		break;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	}
}

static void
daemon_watchdog_cb(uv_timer_t *handle)
{
	daemon_notify_watchdog();
}

static void
daemon_close_cb(uv_handle_t *handle)
{
	/* Handles live inside struct daemon: nothing to free. */
}

static void
daemon_aws_closed_cb(void *arg)
{
	struct daemon *d = arg;

	d->aws = NULL;
}

static void
daemon_notify_closed_cb(void *arg)
{
	struct daemon *d = arg;

	d->notify = NULL;
	if (d->aws != NULL)
		aws_context_close(d->aws, daemon_aws_closed_cb, d);
}

/*
 * The parts close in any order; then the sender of notifications (the
 * engine queues messages until it is closed), and the AWS context last,
 * since they all have calls on it until they are closed.
 */
static void
daemon_part_closed_cb(void *arg)
{
	struct daemon *d = arg;

	if (--d->closing > 0)
		return;
	d->engine = NULL;
	d->intake = NULL;
	d->control = NULL;
	if (d->notify != NULL)
		notify_stop(d->notify, daemon_notify_closed_cb, d);
	else
		daemon_notify_closed_cb(d);
}

static void
daemon_close_parts(struct daemon *d)
{
	d->closing = 1; /* held until every part has been asked */
	/* The portal first: it calls the engine through the loop. */
	if (d->portal != NULL) {
		portal_stop(d->portal);
		d->portal = NULL;
	}
	if (d->control != NULL) {
		d->closing++;
		control_close(d->control, daemon_part_closed_cb, d);
	}
	if (d->intake != NULL) {
		d->closing++;
		intake_stop(d->intake, daemon_part_closed_cb, d);
	}
	if (d->engine != NULL) {
		d->closing++;
		engine_stop(d->engine, daemon_part_closed_cb, d);
	}
	daemon_part_closed_cb(d);
}

static void
daemon_close_handle(uv_handle_t *handle)
{
	if (handle->loop != NULL && !uv_is_closing(handle))
		uv_close(handle, daemon_close_cb);
}

/*
 * Stops taking new work.  Subsystems finish what they are committing and
 * close their handles; the loop then runs out and daemon_run returns.
 */
static void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	daemon_notify_stopping();
	log_info("stopping reason=%s", why);
	daemon_close_handle((uv_handle_t *)&d->sigterm);
	daemon_close_handle((uv_handle_t *)&d->sigint);
	daemon_close_handle((uv_handle_t *)&d->sighup);
	if (d->watchdog_on)
		daemon_close_handle((uv_handle_t *)&d->watchdog);
	if (d->reopen_on)
		daemon_close_handle((uv_handle_t *)&d->reopen);
	daemon_close_parts(d);
}

/* Intake hands each recorded release to the engine. */
static int
daemon_release_cb(int64_t release_id, void *arg)
{
	struct daemon *d = arg;
	int64_t	       run_id = 0;
	char	      *cause = NULL;
	int	       rc;

	if (d->engine == NULL || d->stopping)
		return (-1);
	if ((rc = engine_submit_release(d->engine, release_id, &run_id,
		 &cause)) != 0)
		log_warnx("release not taken release=%lld: %s",
		    (long long)release_id,
		    cause != NULL ? cause : engine_strerror(rc));
	free(cause);
	return (rc);
}

/*
 * The one action handler of the control socket and the portal: a
 * person's decision goes to the engine as it is.
 */
static int
daemon_act_cb(void *arg, struct engine_action *a, char **cause)
{
	struct daemon *d = arg;

	if (d->engine == NULL)
		return (ENGINE_ECLOSING);
	return (engine_act(d->engine, a, cause));
}

static int
daemon_start_aws(struct daemon *d)
{
	char *cause = NULL;

	if ((d->aws = aws_context_new(&d->loop, d->config, &cause)) == NULL) {
		log_err("cannot set up AWS access: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

static int
daemon_start_portal(struct daemon *d)
{
	struct portal_deps deps;
	char		  *cause = NULL;

	memset(&deps, 0, sizeof deps);
	deps.loop = &d->loop;
	deps.act = daemon_act_cb;
	deps.act_arg = d;
	deps.aws = d->aws;
	deps.engine = d->engine;
	if ((d->portal = portal_new(&deps, d->config, &cause)) == NULL) {
		log_err("cannot start the portal listen=%s: %s",
		    d->config->listen, cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* The parts that work on the store, in dependency order; start-up
   failures are fatal. */
/*
 * The people the identity provider or the load balancer signed in
 * before, from the store: they stay signed in across a restart and the
 * mails of their groups reach them.  A configured user's name is
 * theirs alone (as at sign-in).
 */
static int
daemon_load_people(struct daemon *d)
{
	struct store_people	 *l = NULL;
	struct store_person	 *p;
	const struct config_user *u;
	const struct config_kvs	 *map;
	char			 *cause = NULL;
	size_t			  i, j, k, n = 0;

	if (store_people_list(d->store, 0, &l, &cause) != 0) {
		log_err("cannot read the people: %s", cause);
		free(cause);
		return (-1);
	}
	for (i = 0; i < l->n; i++) {
		p = &l->items[i];
		/* A configured user, or someone signed in meanwhile (the
		 * store came late: a storage fault at start) whose sign-in
		 * is newer than the store's. */
		if (config_find_user(d->config, p->name) != NULL)
			continue;
		/* Only what the configuration still maps to: a group whose
		 * mapping was taken away is not kept until the next sign-in,
		 * and nobody comes back through a sign-in no longer set up. */
		map = strcmp(p->source, "oidc") == 0 ?
			  (d->config->oidc.issuer != NULL ?
				  &d->config->oidc.groups :
				  NULL) :
			  (d->config->alb.arn != NULL ? &d->config->alb.groups :
							NULL);
		if (map == NULL)
			continue;
		for (j = k = 0; p->groups[j] != NULL; j++) {
			if (daemon_map_has(map, p->groups[j]))
				p->groups[k++] = p->groups[j];
			else
				free(p->groups[j]);
		}
		p->groups[k] = NULL;
		if (k == 0)
			continue;
		if (people_set(d->people, p->name, p->email,
			(const char *const *)p->groups, p->source, p->last_seen,
			&u, NULL, &cause) != 0) {
			log_warnx("person %s not loaded: %s", p->name, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		n++;
	}
	log_info("people loaded n=%zu", n);
	store_people_free(l);
	return (0);
}

static int
daemon_start_work(struct daemon *d)
{
	char *cause = NULL;
	int   rc = -1;

	if (daemon_load_people(d) != 0)
		goto out;
	d->notify = notify_new(&d->loop, d->store, d->aws, d->config);
	if (notify_start(d->notify, &cause) != 0) {
		log_err("cannot start the notifications: %s", cause);
		goto out;
	}
	d->engine = engine_new(&d->loop, d->store, d->aws, d->config);
	if (engine_start(d->engine, &cause) != 0) {
		log_err("cannot resume the unfinished runs: %s", cause);
		goto out;
	}
	d->intake = intake_new(&d->loop, d->store, d->aws, d->config,
	    daemon_release_cb, d);
	if (intake_start(d->intake, &cause) != 0) {
		log_err("cannot start the intake: %s", cause);
		goto out;
	}
	d->control = control_new(&d->loop, d->config->control_socket, d->store,
	    daemon_act_cb, d, &cause);
	if (d->control == NULL) {
		log_err("cannot open the control socket path=%s: %s",
		    d->config->control_socket, cause);
		goto out;
	}
	control_set_config(d->control, d->config);
	rc = 0;
out:
	free(cause);
	return (rc);
}

static void
daemon_ready(struct daemon *d)
{
	log_info("ready version=%s config=%s database=%s apps=%zu "
		 "control=%s runs=%zu",
	    PACKAGE_VERSION, d->options->config_path, d->config->database,
	    d->config->napps, d->config->control_socket,
	    engine_active_runs(d->engine));
	daemon_notify_ready("running");
}

/*
 * Started on a full disk (the database could not be opened): tried again
 * until it opens, then the rest starts.  Meanwhile the portal answers
 * /healthz 503 with the storage fault, and nothing else runs.
 */
static void
daemon_reopen_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;
	char	      *cause = NULL;

	if (d->stopping || d->store != NULL)
		return;
	if (store_open(d->config->database, &d->store, &cause) != 0) {
		if (cause == NULL)
			cause = xstrdup("unknown error");
		/* Said again only when the reason changes (the disk has
		   room now, but the file is damaged). */
		if (d->reopen_why == NULL || strcmp(d->reopen_why, cause) != 0)
			log_warnx("database still cannot be opened path=%s: "
				  "%s",
			    d->config->database, cause);
		free(d->reopen_why);
		d->reopen_why = cause;
		return;
	}
	uv_timer_stop(&d->reopen);
	log_info("database opened path=%s: starting", d->config->database);
	if (daemon_start_work(d) != 0) {
		d->failed = 1;
		daemon_stop(d, "start-up failed");
		return;
	}
	portal_set_engine(d->portal, d->engine);
	daemon_ready(d);
}

static int
daemon_start_signals(struct daemon *d)
{
	struct {
		uv_signal_t *handle;
		int	     signum;
	} table[] = {
		{ &d->sigterm, SIGTERM },
		{ &d->sigint, SIGINT },
		{ &d->sighup, SIGHUP },
	};
	size_t i;
	int    rc;

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		if ((rc = uv_signal_init(&d->loop, table[i].handle)) != 0 ||
		    (rc = uv_signal_start(table[i].handle, daemon_signal_cb,
			 table[i].signum)) != 0) {
			log_err("cannot watch signal %d: %s", table[i].signum,
			    uv_strerror(rc));
			return (-1);
		}
		table[i].handle->data = d;
	}
	return (0);
}

static int
daemon_start_watchdog(struct daemon *d)
{
	uint64_t usec, ms;
	int	 rc;

	if ((usec = daemon_notify_watchdog_usec()) == 0)
		return (0);
	/* Ping twice per interval, as sd_watchdog_enabled(3) advises. */
	ms = usec / 2000;
	if (ms == 0)
		ms = 1;
	if ((rc = uv_timer_init(&d->loop, &d->watchdog)) != 0 ||
	    (rc = uv_timer_start(&d->watchdog, daemon_watchdog_cb, 0, ms)) !=
		0) {
		log_err("cannot start the watchdog timer: %s", uv_strerror(rc));
		return (-1);
	}
	d->watchdog_on = 1;
	log_info("watchdog on interval_ms=%llu", (unsigned long long)ms);
	return (0);
}

int
daemon_run(struct config *config, const struct daemon_options *options)
{
	struct daemon d;
	char	     *cause = NULL, *fault;
	int	      rc, status = 1;

	memset(&d, 0, sizeof d);
	d.options = options;
	d.config = config;
	d.people = people_new(PEOPLE_MAX_DEFAULT);
	d.config->people = d.people;
	daemon_apply_logging(&d);
	daemon_warn_config(d.config);

	/* A peer that goes away must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	if ((rc = uv_loop_init(&d.loop)) != 0) {
		log_err("cannot create the event loop: %s", uv_strerror(rc));
		config_free(d.config);
		people_free(d.people);
		return (1);
	}
	if (store_open(d.config->database, &d.store, &cause) != 0) {
		/* A storage fault (a full disk, an I/O error) passes: wait
		   for it.  Anything else (a damaged file, a newer schema,
		   permissions) does not get better by waiting. */
		if ((fault = store_fault()) == NULL) {
			log_err("cannot open the database path=%s: %s",
			    d.config->database,
			    cause != NULL ? cause : "unknown error");
			goto out;
		}
		log_warnx("cannot open the database path=%s: %s; waiting for "
			  "the disk, /healthz answers 503 until then",
		    d.config->database, cause != NULL ? cause : fault);
		free(fault);
		d.reopen_why = cause; /* said: not again at each try */
		cause = NULL;
	}
	if (daemon_start_signals(&d) != 0 || daemon_start_watchdog(&d) != 0 ||
	    daemon_start_aws(&d) != 0 ||
	    (d.store != NULL && daemon_start_work(&d) != 0) ||
	    daemon_start_portal(&d) != 0) {
		daemon_stop(&d, "start-up failed");
		uv_run(&d.loop, UV_RUN_DEFAULT);
		goto out;
	}
	if (d.store != NULL)
		daemon_ready(&d);
	else {
		if ((rc = uv_timer_init(&d.loop, &d.reopen)) != 0) {
			log_err("cannot start the database timer: %s",
			    uv_strerror(rc));
			daemon_stop(&d, "start-up failed");
			uv_run(&d.loop, UV_RUN_DEFAULT);
			goto out;
		}
		d.reopen.data = &d;
		d.reopen_on = 1;
		uv_timer_start(&d.reopen, daemon_reopen_cb, DAEMON_REOPEN_MS,
		    DAEMON_REOPEN_MS);
		/* Started, and saying why it does nothing: systemd would
		   otherwise kill and restart it in a loop. */
		daemon_notify_ready("waiting for the database (storage "
				    "fault)");
	}

	uv_run(&d.loop, UV_RUN_DEFAULT);
	status = d.failed ? 1 : 0;
out:
	free(cause);
	free(d.reopen_why);
	if (d.store != NULL)
		store_close(d.store);
	if ((rc = uv_loop_close(&d.loop)) != 0) {
		/* A handle left open is a bug; say so rather than hide it. */
		log_err("event loop closed with open handles: %s",
		    uv_strerror(rc));
		status = 1;
	}
	config_free(d.config);
	people_free(d.people);
	if (status == 0)
		log_info("stopped");
	return (status);
}
