/*
 * Notifications: rendering into the outbox (notify_queue, inside the
 * caller's transaction) and the sender on the loop (SES v2, SMTP,
 * webhooks), with retries, give-up and reminders.  See notify.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "aws-client.h"
#include "aws-context.h"
#include "buf.h"
#include "config.h"
#include "diff-text.h"
#include "http.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "people.h"
#include "store.h"
#include "svc-sesv2.h"
#include "webhook.h"
#include "xmalloc.h"

#define NOTIFY_INFLIGHT_MAX    4       /* sends at once */
#define NOTIFY_BACKOFF_BASE_MS 30000   /* first retry after 30 s */
#define NOTIFY_BACKOFF_MAX_MS  3600000 /* at most 1 h apart */
#define NOTIFY_TICK_MS \
	60000 /* look again at least this
						   often (reminders) */
#define NOTIFY_REMINDER_SCAN_MS 30000
#define NOTIFY_REPLACEMENTS_MAX 20 /* named in a mail */
#define NOTIFY_FAILED_STEPS_MAX 10
#define NOTIFY_SMTP_TIMEOUT_MS	60000
#define NOTIFY_PASSWORD_MAX	1024
#define NOTIFY_RCPTS_MAX	50 /* per message (SES's limit) */
#define NOTIFY_UNMARKED_MAX	64 /* sent, mark to write again */
#define NOTIFY_FAULT_MS \
	2000 /* look again while the disk
						   is unwell */
#define NOTIFY_STOP_WAIT_MS \
	5000 /* for sends in flight, at a
						   stop */

struct notify_send {
	struct notify	   *n; /* NULL: detached (stopped) */
	struct notify_send *prev, *next;
	int64_t		    id;
	int		    attempts; /* before this one */
	char		   *event;
	char		   *channel;
	char		   *recipients;
	struct http_call   *call; /* SMTP, webhook */
};

struct notify {
	uv_loop_t	    *loop;
	struct store	    *store;
	struct aws_context  *aws;
	const struct config *config;
	uv_timer_t	     timer;
	uv_async_t	     async;    /* notify_queue's wake */
	int		     nhandles; /* open: timer, async */
	int		     started;
	int		     stopping;
	int		     finishing; /* handles closing */
	int		     in_pass;
	void (*stop_cb)(void *);
	void		   *stop_arg;
	struct notify_send *sends;
	size_t		    nsends;
	int64_t		    last_reminder_scan;
	int64_t		    backoff_base_ms;
	char		   *ca_file; /* tests: SMTP's private CA */
	/* Sent, but the mark failed (a busy database): marked again at
	   each pass and never picked to send meanwhile. */
	int64_t unmarked[NOTIFY_UNMARKED_MAX];
	size_t	nunmarked;

	pthread_mutex_t	    lock; /* stats */
	struct notify_stats stats;
};

static void notify_schedule(struct notify *, uint64_t);
static void notify_timer_cb(uv_timer_t *);
static void notify_stop_finish(struct notify *);

/*
 * The sender of this process, woken by notify_queue when it wrote rows
 * (from any thread: uv_async_send).  The wake runs on a later loop
 * iteration, after the caller's commit; rows of a transaction rolled back
 * are simply not found.
 */
static pthread_mutex_t notify_global_lock = PTHREAD_MUTEX_INITIALIZER;
static struct notify  *notify_global;

static void
notify_global_wake(void)
{
	pthread_mutex_lock(&notify_global_lock);
	if (notify_global != NULL)
		uv_async_send(&notify_global->async);
	pthread_mutex_unlock(&notify_global_lock);
}

/* --- recipients ----------------------------------------------------------- */

struct notify_rcpts {
	char **v;
	size_t n;
};

static void
notify_rcpt_add(struct notify_rcpts *r, const char *addr)
{
	char  *spec;
	size_t i;

	if (addr == NULL || (spec = mail_addr_spec(addr)) == NULL)
		return;
	/* A recipient list is "addr, addr": refuse what would split it. */
	if (strchr(spec, ',') != NULL) {
		free(spec);
		return;
	}
	for (i = 0; i < r->n; i++) {
		if (strcasecmp(r->v[i], spec) == 0) {
			free(spec);
			return;
		}
	}
	r->v = xreallocarray(r->v, r->n + 1, sizeof *r->v);
	r->v[r->n++] = spec;
}

static void
notify_rcpts_free(struct notify_rcpts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof *r);
}

static void
notify_rcpt_person_cb(void *arg, const char *email)
{
	notify_rcpt_add(arg, email);
}

/*
 * Users in any of the groups; the people an identity provider signed in
 * to them within auth.*.remember_days; and the groups' own addresses
 * (top-level groups:), which reach those it has not signed in yet.
 */
static void
notify_rcpt_groups(struct notify_rcpts *r, const struct config *c,
    const struct config_strings *groups, int64_t now)
{
	const struct config_group *g;
	size_t			   i, j;

	for (i = 0; i < c->nusers; i++)
		for (j = 0; j < groups->n; j++)
			if (config_user_in_group(&c->users[i],
				groups->items[j])) {
				notify_rcpt_add(r, c->users[i].email);
				break;
			}
	for (j = 0; j < groups->n; j++) {
		people_mail_group(c->people, groups->items[j],
		    now - config_people_remember_ms(c), notify_rcpt_person_cb,
		    r);
		if ((g = config_find_group(c, groups->items[j])) != NULL)
			for (i = 0; i < g->mail.n; i++)
				notify_rcpt_add(r, g->mail.items[i]);
	}
}

/* The author: a configured user's name, or an e-mail address. */
static void
notify_rcpt_author(struct notify_rcpts *r, const struct config *c,
    const char *author)
{
	const struct config_user *u;

	if (author == NULL || *author == '\0')
		return;
	if ((u = config_find_user(c, author)) != NULL)
		notify_rcpt_add(r, u->email);
	else if (strchr(author, '@') != NULL && strchr(author, '<') == NULL)
		notify_rcpt_add(r, author);
}

static void
notify_rcpt_remove(struct notify_rcpts *r, const char *addr)
{
	char  *spec;
	size_t i;

	if (addr == NULL || (spec = mail_addr_spec(addr)) == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		if (strcasecmp(r->v[i], spec) != 0)
			continue;
		free(r->v[i]);
		memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof *r->v);
		r->n--;
		break;
	}
	free(spec);
}

/* A reminder goes to those who have not decided yet. */
static int
notify_rcpt_undecided(struct notify_rcpts *r, struct store *s,
    const struct config *c, const struct notify_cause *nc, char **cause)
{
	struct store_approvals	 *a = NULL;
	const struct config_user *u;
	size_t			  i;
	int			  rc;

	if ((rc = store_run_approvals(s, nc->run_id, &a, cause)) != 0)
		return (rc);
	for (i = 0; i < a->n; i++) {
		if (a->items[i].stage_id != nc->stage_id ||
		    a->items[i].attempt != nc->attempt ||
		    a->items[i].gate != (nc->gate ? 1 : 0) ||
		    (u = config_find_user(c, a->items[i].user)) == NULL)
			continue;
		notify_rcpt_remove(r, u->email);
	}
	store_approvals_free(a);
	return (0);
}

static char *
notify_rcpts_join(const struct notify_rcpts *r)
{
	struct buf b;
	size_t	   i;

	buf_init(&b, SIZE_MAX / 2);
	for (i = 0; i < r->n; i++)
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", r->v[i]);
	return (buf_take(&b, NULL));
}

/* "a, b" -> NULL-terminated array (caller frees the array and its
   strings with notify_split_free). */
static char **
notify_split(const char *s)
{
	char **v = NULL, *copy, *p, *tok;
	size_t n = 0;

	copy = xstrdup(s != NULL ? s : "");
	for (p = copy; (tok = strsep(&p, ",")) != NULL;) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		v = xreallocarray(v, n + 2, sizeof *v);
		v[n++] = xstrdup(tok);
	}
	free(copy);
	if (v == NULL)
		v = xcalloc(1, sizeof *v);
	v[n] = NULL;
	return (v);
}

static void
notify_split_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* --- queueing ------------------------------------------------------------- */

static int
notify_event_known(const char *ev)
{
	static const char *const events[] = { "approval_needed", "gate_needed",
		"reminder", "approved", "rejected", "deployed", "failed",
		"release_invalid", "checks_failed", "rolled_back",
		"window_wait", "window_override" };
	size_t			 i;

	for (i = 0; i < sizeof events / sizeof events[0]; i++)
		if (strcmp(ev, events[i]) == 0)
			return (1);
	return (0);
}

static char *
notify_dedup_key(const struct notify_cause *nc, const char *ev)
{
	char *key, *k;

	if (nc->reminder_n > 0)
		return (xasprintf("reminder%s stage=%lld attempt=%d n=%d",
		    nc->gate ? " gate" : "", (long long)nc->stage_id,
		    nc->attempt, nc->reminder_n));
	if (nc->stage_id != 0)
		key = xasprintf("%s stage=%lld attempt=%d", ev,
		    (long long)nc->stage_id, nc->attempt);
	else if (nc->run_id != 0)
		key = xasprintf("%s run=%lld", ev, (long long)nc->run_id);
	else
		key = xasprintf("%s release=%lld", ev,
		    (long long)nc->release_id);
	/* Every approver's decision is its own message. */
	if (nc->actor != NULL &&
	    (strcmp(ev, "approved") == 0 || strcmp(ev, "rejected") == 0)) {
		k = mail_header_clean(nc->actor);
		free(key);
		key = xasprintf("%s stage=%lld attempt=%d by=%s", ev,
		    (long long)nc->stage_id, nc->attempt, k);
		free(k);
	}
	return (key);
}

/* The change set's summary into the facts; names owned by *names. */
static int
notify_changes(struct store *s, int64_t stage_id, int attempt,
    struct mail_facts *f, char ***names, char **cause)
{
	struct store_changes *ch = NULL;
	const char	     *a;
	size_t		      i, n = 0;
	int		      rc;

	*names = NULL;
	if ((rc = store_stage_changes(s, stage_id, attempt, &ch, cause)) != 0)
		return (rc);
	f->has_changes = 1;
	*names = xcalloc(NOTIFY_REPLACEMENTS_MAX + 1, sizeof **names);
	for (i = 0; i < ch->n; i++) {
		a = ch->items[i].action != NULL ? ch->items[i].action : "";
		if (strcmp(a, "Add") == 0)
			f->n_add++;
		else if (strcmp(a, "Modify") == 0)
			f->n_modify++;
		else if (strcmp(a, "Remove") == 0)
			f->n_remove++;
		else
			f->n_other++;
		if (ch->items[i].replacement == NULL ||
		    (strcmp(ch->items[i].replacement, "True") != 0 &&
			strcmp(ch->items[i].replacement, "Conditional") != 0))
			continue;
		f->n_replacements++;
		if (n < NOTIFY_REPLACEMENTS_MAX)
			(*names)[n++] = xasprintf("%s (%s)%s",
			    ch->items[i].logical_id, ch->items[i].resource_type,
			    strcmp(ch->items[i].replacement, "True") == 0 ?
				"" :
				", may be replaced");
	}
	f->replacements = (const char *const *)*names;
	store_changes_free(ch);
	return (0);
}

static int
notify_failed_steps(struct store *s, int64_t stage_id, int attempt,
    struct mail_facts *f, char ***steps, char **cause)
{
	struct store_check_results *cr = NULL;
	struct store_check_result  *r;
	size_t			    i, n = 0;
	int			    rc;

	*steps = NULL;
	rc = store_stage_check_results(s, stage_id, attempt, &cr, cause);
	if (rc != 0)
		return (rc);
	*steps = xcalloc(NOTIFY_FAILED_STEPS_MAX + 1, sizeof **steps);
	for (i = 0; i < cr->n && n < NOTIFY_FAILED_STEPS_MAX; i++) {
		r = &cr->items[i];
		if (r->status == NULL || strcmp(r->status, "failed") != 0)
			continue;
		(*steps)[n++] = xasprintf("%s / %s: %s", r->check_name,
		    r->step_name,
		    r->expectation != NULL ? r->expectation : "failed");
	}
	f->failed_steps = (const char *const *)*steps;
	store_check_results_free(cr);
	return (0);
}

/* The release's images whose tag moved since intake into the facts;
   the lines owned by *lines. */
static int
notify_moved_images(struct store *s, int64_t release_id, struct mail_facts *f,
    char ***lines, char **cause)
{
	struct store_release_images *l = NULL;
	size_t			     i, n = 0;
	int			     rc;

	*lines = NULL;
	if ((rc = store_release_images(s, release_id, &l, cause)) != 0)
		return (rc);
	*lines = xcalloc(l->n + 1, sizeof **lines);
	for (i = 0; i < l->n; i++)
		if (l->items[i].moved_digest != NULL && l->items[i].tag != NULL)
			(*lines)[n++] = xasprintf("%s:%s now points to %s "
						  "(pinned: %s)",
			    l->items[i].repository, l->items[i].tag,
			    l->items[i].moved_digest, l->items[i].digest);
	f->moved_images = (const char *const *)*lines;
	store_release_images_free(l);
	return (0);
}

/* The attempt's parameter changes into the facts ("Name: old -> new");
   the lines owned by *lines.  NoEcho values were never stored. */
static int
notify_param_changes(struct store *s, int64_t stage_id, int attempt,
    struct mail_facts *f, char ***lines, char **cause)
{
	struct store_stage_params      *l = NULL;
	const struct store_stage_param *p;
	size_t				i, n = 0;
	int				rc;

	*lines = NULL;
	if ((rc = store_stage_parameters(s, stage_id, attempt, &l, cause)) != 0)
		return (rc);
	*lines = xcalloc(l->n + 1, sizeof **lines);
	for (i = 0; i < l->n; i++) {
		p = &l->items[i];
		if (strcmp(p->change, "unchanged") == 0) {
			f->params_unchanged++;
			continue;
		}
		(*lines)[n++] = xasprintf("%s: %s \xe2\x86\x92 %s%s", p->name,
		    p->old_value != NULL ? p->old_value : "(not set)",
		    p->new_value != NULL ? p->new_value : "(not set)",
		    strcmp(p->change, "hidden") == 0 ?
			" (NoEcho: whether it "
			"changes cannot be told)" :
			"");
	}
	f->param_changes = (const char *const *)*lines;
	store_stage_params_free(l);
	return (0);
}

/* The template's line counts into the facts (none when not compared). */
static int
notify_template(struct store *s, int64_t stage_id, int attempt,
    struct mail_facts *f, char **cause)
{
	struct store_stage_template *t = NULL;
	int			     rc;

	rc = store_stage_template(s, stage_id, attempt, &t, cause);
	if (rc == STORE_ENOTFOUND) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		return (0);
	}
	if (rc != 0)
		return (rc);
	f->has_template = 1;
	f->template_added = (long long)t->added;
	f->template_removed = (long long)t->removed;
	store_stage_template_free(t);
	return (0);
}

#define NOTIFY_DRIFT_LINES 3 /* drifted properties named in a mail */

/* The attempt's drift in one line for the facts (*line owned; NULL when
   it was not looked at): a count and the first few, the rest on the
   page. */
static int
notify_drift(struct store *s, int64_t stage_id, int attempt, int block,
    struct mail_facts *f, char **line, char **cause)
{
	struct store_drift *d = NULL;
	struct buf	    b;
	char		   *t;
	size_t		    i, j, named = 0, more = 0;
	int		    rc;

	*line = NULL;
	rc = store_drift(s, stage_id, attempt, &d, cause);
	if (rc == STORE_ENOTFOUND) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		return (0);
	}
	if (rc != 0)
		return (rc);
	if (strcmp(d->status, "in_sync") == 0)
		*line = xstrdup("none: the stack is as CloudFormation deployed "
				"it");
	else if (strcmp(d->status, "detecting") == 0)
		*line = xstrdup("being detected (see the page)");
	else if (strcmp(d->status, "not_checked") == 0)
		*line = xasprintf("not checked: %s",
		    d->reason != NULL ? d->reason : "no reason given");
	else {
		buf_init(&b, SIZE_MAX / 2);
		buf_printf(&b, "%zu resource%s changed outside CloudFormation",
		    d->nresources, d->nresources == 1 ? "" : "s");
		for (i = 0; i < d->nresources; i++) {
			const struct store_drift_resource *r = &d->resources[i];

			for (j = 0; j < r->nprops || j == 0; j++) {
				if (named == NOTIFY_DRIFT_LINES) {
					more++;
					if (r->nprops == 0)
						break;
					continue;
				}
				if (strcmp(r->status, "DELETED") == 0 ||
				    r->nprops == 0)
					t = xasprintf("%s %s", r->logical_id,
					    strcmp(r->status, "DELETED") == 0 ?
						"deleted" :
						"modified");
				else
					t = diff_drift_text(r->logical_id,
					    r->props[j].path,
					    r->props[j].expected,
					    r->props[j].actual,
					    r->props[j].difference);
				buf_printf(&b, "%s %s", named == 0 ? ":" : ";",
				    t);
				free(t);
				named++;
				if (r->nprops == 0)
					break;
			}
		}
		if (more > 0)
			buf_printf(&b, "; and %zu more on the page", more);
		if (d->ack_user != NULL)
			buf_printf(&b, " (acknowledged by %s)", d->ack_user);
		else if (block)
			buf_appends(&b, " (drift: block: an operator must "
					"acknowledge it before the approval)");
		*line = buf_take(&b, NULL);
		buf_free(&b);
	}
	f->drift = *line;
	store_drift_free(d);
	return (0);
}

static void
notify_names_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Whether the webhook wants the event: all when its list is empty; the
   config calls release_invalid "release_rejected". */
static int
notify_has_event(const struct config_webhook *w, const char *ev)
{
	size_t i;

	if (w->events.n == 0)
		return (1);
	for (i = 0; i < w->events.n; i++)
		if (strcmp(w->events.items[i], ev) == 0 ||
		    (strcmp(ev, "release_invalid") == 0 &&
			strcmp(w->events.items[i], "release_rejected") == 0))
			return (1);
	return (0);
}

int
notify_queue(struct store *s, const struct config *c,
    const struct notify_cause *nc, char **cause)
{
	struct store_run		*run = NULL;
	struct store_release		*rel = NULL;
	const struct config_app		*app = NULL;
	const struct config_environment *env = NULL;
	struct notify_rcpts		 rcpts, part;
	struct mail_facts		 f;
	struct mail_content		 mc;
	struct store_outbox_in		 in;
	char			       **names = NULL, **steps = NULL;
	char			       **moved = NULL, **pchanges = NULL;
	char				*drift = NULL;
	char				*key = NULL, *wkey, *link = NULL;
	char				*pkey = NULL;
	char				*object = NULL, *to = NULL, *payload;
	const char			*ev, *envname = NULL, *appname;
	int64_t				 release_id, now;
	size_t				 i, first;
	int				 rc = 0, ins, queued = 0;

	memset(&rcpts, 0, sizeof rcpts);
	memset(&mc, 0, sizeof mc);
	memset(&f, 0, sizeof f);
	ev = nc->reminder_n > 0 ? "reminder" : nc->event;
	if (ev == NULL || !notify_event_known(ev)) {
		/* Not worth failing the caller's transition for. */
		log_warnx("notify: no message for event \"%s\"",
		    ev != NULL ? ev : "(null)");
		return (0);
	}

	if (c->mail.transport == CONFIG_MAIL_NONE && c->nwebhooks == 0)
		return (0); /* nobody to tell: read nothing */

	if (nc->run_id != 0 &&
	    (rc = store_get_run(s, nc->run_id, &run, cause)) != 0)
		goto out;
	release_id = nc->release_id != 0 ? nc->release_id :
		     run != NULL	 ? run->release_id :
					   0;
	if (release_id != 0 &&
	    (rc = store_get_release(s, release_id, &rel, cause)) != 0)
		goto out;
	envname = nc->env;
	if (envname == NULL && run != NULL && nc->stage_id != 0)
		for (i = 0; i < run->nstages; i++)
			if (run->stages[i].id == nc->stage_id)
				envname = run->stages[i].environment;
	appname = run != NULL ? run->app : rel != NULL ? rel->app : NULL;
	if (appname != NULL && (app = config_find_app(c, appname)) != NULL &&
	    envname != NULL)
		env = config_find_environment(app, envname);

	f.event = ev;
	f.app = appname;
	f.version = rel != NULL ? rel->version :
		    run != NULL ? run->version :
				  NULL;
	f.message = rel != NULL ? rel->message :
		    run != NULL ? run->message :
				  NULL;
	f.author = rel != NULL ? rel->author : run != NULL ? run->author : NULL;
	f.env = envname;
	f.actor = nc->actor;
	f.comment = nc->comment;
	f.reason = nc->reason;
	f.gate = nc->gate;
	f.reminder_n = nc->reminder_n;
	f.run_id = nc->run_id;
	f.rollback = run != NULL && run->kind == STORE_RUN_ROLLBACK;
	if (rel != NULL && rel->bucket != NULL)
		object = xasprintf("s3://%s/%s", rel->bucket, rel->key);
	f.object = object;
	if (nc->run_id != 0 && c->public_url != NULL) {
		link = xasprintf("%.*s/runs/%lld",
		    (int)(strlen(c->public_url) -
			  (c->public_url[0] != '\0' &&
			      c->public_url[strlen(c->public_url) - 1] == '/')),
		    c->public_url, (long long)nc->run_id);
		f.link = link;
	}
	if (nc->stage_id != 0 && !nc->gate &&
	    (strcmp(ev, "approval_needed") == 0 ||
		strcmp(ev, "reminder") == 0 || strcmp(ev, "approved") == 0 ||
		strcmp(ev, "rejected") == 0 || strcmp(ev, "deployed") == 0) &&
	    (rc = notify_changes(s, nc->stage_id, nc->attempt, &f, &names,
		 cause)) != 0)
		goto out;
	if (release_id != 0 && nc->stage_id != 0 && !nc->gate &&
	    (strcmp(ev, "approval_needed") == 0 ||
		strcmp(ev, "reminder") == 0) &&
	    (rc = notify_moved_images(s, release_id, &f, &moved, cause)) != 0)
		goto out;
	if (nc->stage_id != 0 && !nc->gate &&
	    (strcmp(ev, "approval_needed") == 0 ||
		strcmp(ev, "reminder") == 0) &&
	    (rc = notify_param_changes(s, nc->stage_id, nc->attempt, &f,
		 &pchanges, cause)) != 0)
		goto out;
	if (f.param_changes != NULL && (rc = notify_template(s, nc->stage_id,
					    nc->attempt, &f, cause)) != 0)
		goto out;
	if (f.param_changes != NULL &&
	    (rc = notify_drift(s, nc->stage_id, nc->attempt,
		 env != NULL && env->drift == CONFIG_DRIFT_BLOCK, &f, &drift,
		 cause)) != 0)
		goto out;
	if (nc->stage_id != 0 && strcmp(ev, "checks_failed") == 0 &&
	    (rc = notify_failed_steps(s, nc->stage_id, nc->attempt, &f, &steps,
		 cause)) != 0)
		goto out;

	if (mail_render(&f, &mc, cause) != 0) {
		rc = STORE_EINVAL;
		goto out;
	}
	key = notify_dedup_key(nc, ev);

	/* The e-mail. */
	now = store_now(s);
	if (c->mail.transport != CONFIG_MAIL_NONE) {
		if (strcmp(ev, "approval_needed") == 0 ||
		    (strcmp(ev, "reminder") == 0 && !nc->gate)) {
			if (env != NULL)
				notify_rcpt_groups(&rcpts, c, &env->approvers,
				    now);
		} else if (strcmp(ev, "gate_needed") == 0 ||
			   strcmp(ev, "reminder") == 0) {
			if (env != NULL)
				notify_rcpt_groups(&rcpts, c, &env->gate, now);
		} else if (strcmp(ev, "release_invalid") == 0)
			notify_rcpt_author(&rcpts, c, f.author);
		else {
			notify_rcpt_author(&rcpts, c, f.author);
			if (env != NULL)
				notify_rcpt_groups(&rcpts, c, &env->approvers,
				    now);
			else if (app != NULL)
				for (i = 0; i < app->nenvironments; i++)
					notify_rcpt_groups(&rcpts, c,
					    &app->environments[i].approvers,
					    now);
		}
	}
	if (nc->reminder_n > 0 && rcpts.n > 0 && nc->run_id != 0 &&
	    (rc = notify_rcpt_undecided(&rcpts, s, c, nc, cause)) != 0)
		goto out;
	/* One row per NOTIFY_RCPTS_MAX recipients (SES takes 50). */
	for (first = 0; first < rcpts.n; first += NOTIFY_RCPTS_MAX) {
		part = rcpts;
		part.v += first;
		part.n = rcpts.n - first < NOTIFY_RCPTS_MAX ? rcpts.n - first :
							      NOTIFY_RCPTS_MAX;
		free(to);
		to = notify_rcpts_join(&part);
		free(pkey);
		pkey = first == 0 ? xstrdup(key) :
				    xasprintf("%s part=%zu", key,
					first / NOTIFY_RCPTS_MAX + 1);
		memset(&in, 0, sizeof in);
		in.channel = "email";
		in.event = ev;
		in.dedup_key = pkey;
		in.run_id = nc->run_id;
		in.release_id = release_id;
		in.recipients = to;
		in.subject = mc.subject;
		in.body_text = mc.text;
		in.body_html = mc.html;
		if ((rc = store_outbox_queue(s, &in, &ins, cause)) != 0)
			goto out;
		if (ins) {
			log_info("notification queued event=%s key=\"%s\" "
				 "to=\"%s\"",
			    ev, pkey, to);
			queued++;
		}
	}

	/* The webhooks. */
	for (i = 0; i < c->nwebhooks; i++) {
		if (c->webhooks[i].url_file == NULL ||
		    !notify_has_event(&c->webhooks[i], ev))
			continue;
		wkey = xasprintf("%s webhook=%s", key, c->webhooks[i].url_file);
		payload = webhook_payload(&f, mc.subject);
		memset(&in, 0, sizeof in);
		in.channel = "webhook";
		in.event = ev;
		in.dedup_key = wkey;
		in.run_id = nc->run_id;
		in.release_id = release_id;
		in.recipients = c->webhooks[i].url_file;
		in.payload = payload;
		rc = store_outbox_queue(s, &in, &ins, cause);
		if (rc == 0 && ins) {
			log_info("notification queued event=%s key=\"%s\"", ev,
			    wkey);
			queued++;
		}
		free(payload);
		free(wkey);
		if (rc != 0)
			goto out;
	}
out:
	if (rc == 0 && queued > 0)
		notify_global_wake();
	notify_rcpts_free(&rcpts);
	mail_content_free(&mc);
	notify_names_free(names);
	notify_names_free(steps);
	notify_names_free(moved);
	notify_names_free(pchanges);
	free(drift);
	store_run_free(run);
	store_release_free(rel);
	free(key);
	free(pkey);
	free(link);
	free(object);
	free(to);
	return (rc);
}

/* --- the sender ----------------------------------------------------------- */

static void
notify_async_cb(uv_async_t *a)
{
	notify_schedule(a->data, 0);
}

struct notify *
notify_new(uv_loop_t *loop, struct store *s, struct aws_context *aws,
    const struct config *c)
{
	struct notify *n;
	const char    *v;

	n = xcalloc(1, sizeof *n);
	n->loop = loop;
	n->store = s;
	n->aws = aws;
	n->config = c;
	n->backoff_base_ms = NOTIFY_BACKOFF_BASE_MS;
	/* Tests shorten the first retry (SHIPGATE_NOTIFY_RETRY_MS=200). */
	if ((v = getenv("SHIPGATE_NOTIFY_RETRY_MS")) != NULL && atoi(v) > 0)
		n->backoff_base_ms = atoi(v);
	pthread_mutex_init(&n->lock, NULL);
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	uv_async_init(loop, &n->async, notify_async_cb);
	n->async.data = n;
	n->nhandles = 2;
	pthread_mutex_lock(&notify_global_lock);
	notify_global = n;
	pthread_mutex_unlock(&notify_global_lock);
	return (n);
}

void
notify_set_ca_file(struct notify *n, const char *path)
{
	free(n->ca_file);
	n->ca_file = path != NULL ? xstrdup(path) : NULL;
}

void
notify_stats(struct notify *n, struct notify_stats *st)
{
	pthread_mutex_lock(&n->lock);
	*st = n->stats;
	pthread_mutex_unlock(&n->lock);
}

static void
notify_send_unlink(struct notify *n, struct notify_send *ns)
{
	if (ns->prev != NULL)
		ns->prev->next = ns->next;
	else
		n->sends = ns->next;
	if (ns->next != NULL)
		ns->next->prev = ns->prev;
	ns->prev = ns->next = NULL;
	n->nsends--;
}

static void
notify_send_free(struct notify_send *ns)
{
	free(ns->event);
	free(ns->channel);
	free(ns->recipients);
	free(ns);
}

static int64_t
notify_backoff(struct notify *n, int attempts)
{
	int64_t d = n->backoff_base_ms;

	while (--attempts > 0 && d < NOTIFY_BACKOFF_MAX_MS)
		d *= 2;
	return (d < NOTIFY_BACKOFF_MAX_MS ? d : NOTIFY_BACKOFF_MAX_MS);
}

/* A send finished (error NULL: accepted); ns is freed here. */
static void
notify_send_end(struct notify_send *ns, const char *error, int permanent)
{
	struct notify *n = ns->n;
	char	      *cause = NULL;
	int64_t	       next_at;
	int	       attempts = ns->attempts + 1;

	if (n == NULL) { /* stopped meanwhile: stays pending */
		notify_send_free(ns);
		return;
	}
	notify_send_unlink(n, ns);
	if (error == NULL) {
		/* Marked at once, in its own transaction: a crash before
		   this commit sends the message once more. */
		if (store_outbox_mark_sent(n->store, ns->id, &cause) != 0) {
			log_warnx("notification sent but not marked id=%lld: "
				  "%s",
			    (long long)ns->id, cause);
			free(cause);
			if (n->nunmarked < NOTIFY_UNMARKED_MAX)
				n->unmarked[n->nunmarked++] = ns->id;
		} else
			log_info("notification sent id=%lld event=%s "
				 "channel=%s attempts=%d",
			    (long long)ns->id, ns->event, ns->channel,
			    attempts);
		pthread_mutex_lock(&n->lock);
		n->stats.sent++;
		pthread_mutex_unlock(&n->lock);
	} else if (attempts >= NOTIFY_MAX_ATTEMPTS || permanent) {
		if (store_outbox_mark_error(n->store, ns->id, error, 0,
			&cause) != 0) {
			log_warnx("notification failed id=%lld: %s",
			    (long long)ns->id, cause);
			free(cause);
		}
		log_warnx("notification given up id=%lld event=%s channel=%s "
			  "attempts=%d error=\"%s\"",
		    (long long)ns->id, ns->event, ns->channel, attempts, error);
		pthread_mutex_lock(&n->lock);
		n->stats.failed++;
		pthread_mutex_unlock(&n->lock);
	} else {
		next_at = store_now(n->store) + notify_backoff(n, attempts);
		if (store_outbox_mark_error(n->store, ns->id, error, next_at,
			&cause) != 0) {
			log_warnx("notification error not recorded id=%lld: "
				  "%s",
			    (long long)ns->id, cause);
			free(cause);
		}
		log_notice("notification will be retried id=%lld event=%s "
			   "channel=%s attempts=%d in_s=%lld error=\"%s\"",
		    (long long)ns->id, ns->event, ns->channel, attempts,
		    (long long)notify_backoff(n, attempts) / 1000, error);
		pthread_mutex_lock(&n->lock);
		n->stats.retried++;
		pthread_mutex_unlock(&n->lock);
	}
	notify_send_free(ns);
	if (!n->stopping)
		notify_schedule(n, 0);
	else if (n->nsends == 0 && !n->finishing)
		notify_stop_finish(n); /* the last one notify_stop waited for */
}

/* A failed send is tried again later, unless it can never succeed. */
static void
notify_send_done(struct notify_send *ns, const char *error)
{
	notify_send_end(ns, error, 0);
}

static void
notify_ses_cb(const struct aws_reply *reply, const char *message_id, void *arg)
{
	struct notify_send *ns = arg;

	if (reply->error == AWS_OK) {
		log_debug(LOG_CAT_AWS, "ses accepted id=%lld message_id=%s",
		    (long long)ns->id, message_id != NULL ? message_id : "");
		notify_send_done(ns, NULL);
	} else
		/* A 4xx but throttling (MessageRejected, a sender not
		   verified, a bad address) fails the same way every time. */
		notify_send_end(ns,
		    reply->message != NULL ? reply->message :
					     "SES SendEmail failed",
		    reply->error == AWS_EAWS && reply->status >= 400 &&
			reply->status < 500 && reply->status != 429 &&
			strstr(reply->aws.code, "Throttl") == NULL &&
			strstr(reply->aws.code, "TooMany") == NULL);
}

static void
notify_http_cb(struct http_call *call, struct http_result *res, void *arg)
{
	struct notify_send *ns = arg;
	char		   *e;

	ns->call = NULL;
	if (res->error != HTTP_OK) {
		e = xasprintf("%s: %s", http_strerror(res->error),
		    res->message);
		notify_send_done(ns, e);
		free(e);
	} else if (strcmp(ns->channel, "webhook") == 0 &&
		   (res->status < 200 || res->status > 299)) {
		e = xasprintf("the webhook answered HTTP %ld", res->status);
		/* A wrong URL or a payload refused does not get better. */
		notify_send_end(ns, e,
		    res->status >= 400 && res->status < 500 &&
			res->status != 408 && res->status != 429);
		free(e);
	} else
		notify_send_done(ns, NULL);
}

/* The SMTP password, read now from its file (first line). */
static char *
notify_read_password(const char *path, char **cause)
{
	FILE *fp;
	char  line[NOTIFY_PASSWORD_MAX + 2], *p;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("cannot read the SMTP password_file %s: %s",
		    path, strerror(errno));
		return (NULL);
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	p = xstrdup(line);
	explicit_bzero(line, sizeof line);
	return (p);
}

/* Starts one row's send; 0, or -1 with *cause (a synchronous failure). */
static int
notify_send_start(struct notify *n, struct notify_send *ns,
    const struct store_outbox_row *row, char **cause)
{
	const struct config	*c = n->config;
	struct mail_message	 m;
	struct sesv2_email	 e;
	struct http_smtp_request sr;
	char		       **to = NULL, *msg = NULL, *from = NULL;
	char			*mid = NULL, *password = NULL, *url = NULL;
	const char		*domain, *region;
	size_t			 len;
	int			 rc = -1;

	if (strcmp(row->channel, "webhook") == 0) {
		if (row->payload == NULL) {
			*cause = xstrdup("no payload");
			goto out;
		}
		if ((url = webhook_read_url(row->recipients, cause)) == NULL)
			goto out;
		ns->call = webhook_post(aws_context_http(n->aws), url,
		    row->payload, notify_http_cb, ns, cause);
		rc = ns->call != NULL ? 0 : -1;
		goto out;
	}

	if (c->mail.transport == CONFIG_MAIL_NONE || c->mail.from == NULL) {
		*cause = xstrdup("mail is not configured");
		goto out;
	}
	if ((from = mail_addr_spec(c->mail.from)) == NULL) {
		*cause = xasprintf("mail.from is not an address: %s",
		    c->mail.from);
		goto out;
	}
	domain = strchr(from, '@') + 1;
	mid = xasprintf("<shipgate.%lld.%lld@%s>", (long long)row->id,
	    (long long)row->created_at, domain);
	to = notify_split(row->recipients);
	memset(&m, 0, sizeof m);
	m.from = c->mail.from;
	m.to = (const char *const *)to;
	m.subject = row->subject;
	m.text = row->body_text;
	m.html = row->body_html;
	m.date_ms = row->created_at;
	m.message_id = mid;
	if ((msg = mail_build(&m, &len, cause)) == NULL)
		goto out;

	if (c->mail.transport == CONFIG_MAIL_SES) {
		memset(&e, 0, sizeof e);
		e.from = c->mail.from;
		e.to = (const char *const *)to;
		e.raw = msg;
		e.raw_len = len;
		region = c->mail.ses_region != NULL ?
			     c->mail.ses_region :
			     aws_context_region(n->aws);
		if (sesv2_send_email(aws_context_client(n->aws),
			aws_context_host_creds(n->aws), region, &e,
			notify_ses_cb, ns, cause) != NULL)
			rc = 0;
		goto out;
	}

	memset(&sr, 0, sizeof sr);
	sr.url = c->mail.smtp_url;
	sr.mail_from = from;
	sr.rcpt = (const char *const *)to;
	sr.body = msg;
	sr.body_len = len;
	sr.starttls = c->mail.smtp_starttls;
	sr.ca_file = n->ca_file;
	sr.timeout_ms = NOTIFY_SMTP_TIMEOUT_MS;
	if (c->mail.smtp_username != NULL) {
		if ((password = notify_read_password(c->mail.smtp_password_file,
			 cause)) == NULL)
			goto out;
		sr.username = c->mail.smtp_username;
		sr.password = password;
	}
	ns->call = http_smtp_start(aws_context_http(n->aws), &sr,
	    notify_http_cb, ns, cause);
	rc = ns->call != NULL ? 0 : -1;
out:
	notify_split_free(to);
	free(msg);
	free(from);
	free(mid);
	freezero_str(password);
	freezero_str(url);
	return (rc);
}

/* Queues the reminders that are due, each in its own transaction. */
static void
notify_reminders(struct notify *n, int64_t now)
{
	const struct config	   *c = n->config;
	struct store_waiting_stage *v = NULL;
	struct notify_cause	    nc;
	char			   *cause = NULL, *key;
	size_t			    i, nv;
	int64_t			    k;
	int			    yes;

	if (c->mail.transport == CONFIG_MAIL_NONE ||
	    c->mail.remind_every_ms <= 0)
		return;
	if (n->last_reminder_scan != 0 &&
	    now - n->last_reminder_scan < NOTIFY_REMINDER_SCAN_MS &&
	    now >= n->last_reminder_scan)
		return;
	n->last_reminder_scan = now;
	if (store_outbox_waiting(n->store, &v, &nv, &cause) != 0) {
		log_warnx("reminders: %s", cause);
		free(cause);
		return;
	}
	for (i = 0; i < nv; i++) {
		k = (now - v[i].since) / c->mail.remind_every_ms;
		if (k < 1)
			continue;
		if (k > 100000)
			k = 100000;
		key = xasprintf("reminder%s stage=%lld attempt=%d n=%d",
		    v[i].gate ? " gate" : "", (long long)v[i].stage_id,
		    v[i].attempt, (int)k);
		if (store_outbox_has(n->store, key, &yes, &cause) != 0 || yes) {
			free(key);
			if (cause != NULL) {
				log_warnx("reminders: %s", cause);
				free(cause);
				cause = NULL;
			}
			continue;
		}
		free(key);
		memset(&nc, 0, sizeof nc);
		nc.event = "reminder";
		nc.run_id = v[i].run_id;
		nc.stage_id = v[i].stage_id;
		nc.attempt = v[i].attempt;
		nc.reminder_n = (int)k;
		nc.gate = v[i].gate;
		if (store_begin(n->store, &cause) != 0) {
			log_warnx("reminders: %s", cause);
			free(cause);
			cause = NULL;
			continue;
		}
		if (notify_queue(n->store, c, &nc, &cause) != 0 ||
		    store_commit(n->store, &cause) != 0) {
			store_rollback(n->store);
			log_warnx("reminder not queued stage=%lld: %s",
			    (long long)v[i].stage_id, cause);
			free(cause);
			cause = NULL;
		}
	}
	free(v);
}

/* One pass: reminders, then the due rows; then the timer. */
static void
notify_pass(struct notify *n)
{
	struct store_outbox_rows *rows = NULL;
	struct notify_send	 *ns;
	int64_t skip[NOTIFY_INFLIGHT_MAX + NOTIFY_UNMARKED_MAX];
	int64_t now, next_at, pending, delay;
	size_t	i, nskip = 0;
	char   *cause = NULL, *fault;
	int	slots, more, rc;

	if (n->stopping || n->in_pass)
		return;
	/*
	 * No send while the database cannot record one: a message that
	 * went out and could not be marked goes again after a restart
	 * (kill -9 during a full disk).  The syncer's probe clears the
	 * fault; the timer looks again until then.
	 */
	if ((fault = store_fault()) != NULL) {
		free(fault);
		uv_timer_start(&n->timer, notify_timer_cb, NOTIFY_FAULT_MS, 0);
		return;
	}
	n->in_pass = 1;
	now = store_now(n->store);
	for (i = 0; i < n->nunmarked;) {
		rc = store_outbox_mark_sent(n->store, n->unmarked[i], &cause);
		if (rc == 0 || rc == STORE_ECONFLICT) { /* done, or gone */
			log_info("notification sent id=%lld (marked late)",
			    (long long)n->unmarked[i]);
			free(cause);
			cause = NULL;
			n->unmarked[i] = n->unmarked[--n->nunmarked];
			continue;
		}
		free(cause);
		cause = NULL;
		skip[nskip++] = n->unmarked[i++];
	}
	notify_reminders(n, now);

	slots = NOTIFY_INFLIGHT_MAX - (int)n->nsends;
	if (slots > 0) {
		for (ns = n->sends; ns != NULL; ns = ns->next)
			skip[nskip++] = ns->id;
		if (store_outbox_due(n->store, now, slots, skip, nskip, &rows,
			&cause) != 0) {
			log_warnx("notifications: %s", cause);
			free(cause);
			cause = NULL;
		}
	}
	/* A message goes only once its row (and the transition that
	   queued it) is on disk: power loss cannot make it go twice. */
	if (rows != NULL && rows->n > 0 && store_sync(n->store, &cause) != 0) {
		log_warnx("notifications wait: %s", cause);
		free(cause);
		cause = NULL;
		store_outbox_rows_free(rows);
		rows = NULL;
	}
	for (i = 0; rows != NULL && i < rows->n; i++) {
		ns = xcalloc(1, sizeof *ns);
		ns->n = n;
		ns->id = rows->items[i].id;
		ns->attempts = rows->items[i].attempts;
		ns->event = xstrdup(rows->items[i].event);
		ns->channel = xstrdup(rows->items[i].channel);
		ns->recipients = xstrdup(rows->items[i].recipients);
		ns->next = n->sends;
		if (n->sends != NULL)
			n->sends->prev = ns;
		n->sends = ns;
		n->nsends++;
		if (notify_send_start(n, ns, &rows->items[i], &cause) != 0) {
			/* Counted as a failed attempt, retried later. */
			notify_send_done(ns, cause);
			free(cause);
			cause = NULL;
		}
	}
	/* A full batch: more may be due (rows in flight are not: their
	   end asks for a pass). */
	more = rows != NULL && rows->n == (size_t)slots;
	store_outbox_rows_free(rows);

	delay = NOTIFY_TICK_MS;
	if (store_outbox_next(n->store, now, &next_at, &pending, &cause) != 0) {
		log_warnx("notifications: %s", cause);
		free(cause);
	} else {
		pthread_mutex_lock(&n->lock);
		n->stats.pending = pending;
		pthread_mutex_unlock(&n->lock);
		if (next_at != 0) {
			delay = next_at - store_now(n->store);
			if (delay < 0)
				delay = 0;
			if (delay > NOTIFY_TICK_MS)
				delay = NOTIFY_TICK_MS;
		}
	}
	if (more && n->nsends < NOTIFY_INFLIGHT_MAX)
		delay = 0;
	n->in_pass = 0;
	/* notify_send_done may have asked for a pass meanwhile: the timer
	   below replaces it, and is 0 when rows are due. */
	notify_schedule(n, (uint64_t)delay);
}

static void
notify_timer_cb(uv_timer_t *t)
{
	notify_pass(t->data);
}

static void
notify_schedule(struct notify *n, uint64_t delay)
{
	if (n->stopping || !n->started)
		return;
	if (n->in_pass)
		return; /* the pass schedules on its way out */
	uv_timer_start(&n->timer, notify_timer_cb, delay, 0);
}

int
notify_start(struct notify *n, char **cause)
{
	if (n->started) {
		*cause = xstrdup("notify: started twice");
		return (-1);
	}
	n->started = 1;
	notify_schedule(n, 0);
	return (0);
}

void
notify_wake(struct notify *n)
{
	notify_schedule(n, 0);
}

void
notify_reconfigure(struct notify *n, const struct config *c)
{
	n->config = c;
	n->last_reminder_scan = 0;
	notify_schedule(n, 0);
}

static void
notify_closed_cb(uv_handle_t *h)
{
	struct notify *n = h->data;
	void (*cb)(void *) = n->stop_cb;
	void *arg = n->stop_arg;

	if (--n->nhandles > 0)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n->ca_file);
	free(n);
	if (cb != NULL)
		cb(arg);
}

static void
notify_stop_finish(struct notify *n)
{
	struct notify_send *ns;

	n->finishing = 1;
	/* Sends still in flight are detached: their rows stay pending (sent
	   again after the next start if they went through meanwhile). */
	while ((ns = n->sends) != NULL) {
		notify_send_unlink(n, ns);
		ns->n = NULL;
		if (ns->call != NULL)
			http_call_cancel(ns->call);
	}
	uv_timer_stop(&n->timer);
	uv_close((uv_handle_t *)&n->timer, notify_closed_cb);
	uv_close((uv_handle_t *)&n->async, notify_closed_cb);
}

static void
notify_stop_timer_cb(uv_timer_t *t)
{
	struct notify *n = t->data;

	if (n->nsends > 0)
		log_warnx("notifications: %zu sends still in flight at the "
			  "stop, sent again after the next start if they went "
			  "through",
		    n->nsends);
	notify_stop_finish(n);
}

void
notify_stop(struct notify *n, void (*cb)(void *), void *arg)
{
	if (n->stopping)
		return;
	n->stopping = 1;
	n->stop_cb = cb;
	n->stop_arg = arg;
	pthread_mutex_lock(&notify_global_lock);
	if (notify_global == n)
		notify_global = NULL;
	pthread_mutex_unlock(&notify_global_lock);
	uv_timer_stop(&n->timer);
	if (n->nsends == 0) {
		notify_stop_finish(n);
		return;
	}
	/* A message that went out is marked sent, rather than sent again
	   after the restart: its answer is waited for, a little. */
	log_info("notifications: waiting for %zu sends in flight", n->nsends);
	uv_timer_start(&n->timer, notify_stop_timer_cb, NOTIFY_STOP_WAIT_MS, 0);
}
