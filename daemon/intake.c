/*
 * Release intake: S3 event notifications from each app's SQS queue, and
 * a listing of its bucket every poll_interval, turned into recorded
 * releases handed to the engine.  intake.h has the rules (once only, at
 * least once, poison messages).
 *
 * Per app, one object is read at a time, from one FIFO fed by both the
 * queue and the listing: the dedupe check, the download, the validation
 * and the commit of one object never interleave with another's, and the
 * commit of a duplicate (seen_objects' UNIQUE) rolls back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-context.h"
#include "aws-op.h"
#include "config.h"
#include "diff-params.h"
#include "intake.h"
#include "json.h"
#include "log.h"
#include "registry-resolve.h"
#include "release.h"
#include "store.h"
#include "svc-s3.h"
#include "svc-sqs.h"
#include "syncer.h"
#include "xmalloc.h"

#define INTAKE_BODY_MAX	      (256 * 1024) /* SQS's largest message */
#define INTAKE_BODY_DEPTH     16
#define INTAKE_MAX_MESSAGES   10
#define INTAKE_VISIBILITY_MAX 900
#define INTAKE_RESUBMIT_MAX   100 /* releases per listing */
#define INTAKE_FAULT_WAIT_MS \
	1000 /* looks again whether a storage
						   fault cleared */

struct intake_app;

/* A received message: done when its objects are. */
struct intake_msg {
	struct intake_app *app;
	char		  *message_id;
	char		  *receipt_handle;
	long		   receive_count;
	size_t		   pending; /* objects not done */
	int		   failed;
	char		  *reason; /* the first failure */
	char		  *bucket; /* of the failure; or NULL */
	char		  *key;
};

/* An object to read, from a message (msg) or a listing (msg NULL). */
struct intake_obj {
	struct intake_obj *next;
	struct intake_msg *msg;
	char		  *bucket;
	char		  *key;
	char		  *etag;       /* unquoted; may be NULL */
	char		  *version_id; /* may be NULL */
	long long	   size;       /* -1: unknown */
};

/* A listed key that keeps failing. */
struct intake_listed_failure {
	char *key;
	long  count;
};

struct intake_app {
	struct intake	  *in;
	struct intake_app *next;
	char		  *name;
	char		  *bucket;
	char		  *prefix;
	char		  *queue_url; /* NULL: listing only */
	int64_t		   poll_interval_ms;
	int		   max_receives;
	int64_t		   app_id; /* 0: not recorded yet (a
						   storage fault at start) */

	int	     dead; /* stopping: finish nothing */
	unsigned int refs; /* calls and handles out */

	uv_timer_t     poll_timer;
	uv_timer_t     list_timer;
	struct aws_op *receive;
	struct aws_op *list;
	struct aws_op *get;

	struct intake_obj	*head, *tail; /* objects to read */
	struct intake_obj	*cur;	      /* being read */
	struct registry_resolve *resolve;     /* cur's images */
	struct intake_pending	*pending;

	size_t	     msgs_open; /* of the last receive */
	int	     batch_failed;
	unsigned int poll_errors;
	int	     listing; /* its objects are queued */
	size_t	     list_pending;
	unsigned int list_errors;

	struct intake_listed_failure *lfail;
	size_t			      nlfail;
};

struct intake {
	uv_loop_t	    *loop;
	struct store	    *store;
	struct aws_context  *aws;
	const struct config *config;
	intake_release_cb    cb;
	void		    *cb_arg;
	struct intake_timing timing;
	struct intake_stats  stats;
	struct intake_app   *apps;   /* live and dying */
	struct syncer	    *syncer; /* made on first use */
	int		     started;
	int		     stopping;
	void (*stop_cb)(void *);
	void *stop_arg;
};

static void intake_app_pump(struct intake_app *);
static void intake_app_kill(struct intake_app *);
static void intake_poll_schedule(struct intake_app *, int64_t);
static void intake_list_schedule(struct intake_app *, int64_t);

/* --- helpers ------------------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

char *
intake_decode_key(const char *s)
{
	char *out, *p;
	int   hi, lo;

	out = p = xmalloc(strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s == '+')
			*p++ = ' ';
		else if (*s == '%') {
			if ((hi = hexval((unsigned char)s[1])) < 0 ||
			    (lo = hexval((unsigned char)s[2])) < 0 ||
			    (hi == 0 && lo == 0)) {
				free(out);
				return (NULL);
			}
			*p++ = (char)(hi << 4 | lo);
			s += 2;
		} else
			*p++ = *s;
	}
	*p = '\0';
	return (out);
}

/* An ETag without its quotes (S3's listings quote it, events do not). */
static char *
etag_bare(const char *etag)
{
	size_t len;

	if (etag == NULL || *etag == '\0')
		return (NULL);
	len = strlen(etag);
	if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"')
		return (xasprintf("%.*s", (int)(len - 2), etag + 1));
	return (xstrdup(etag));
}

static int
key_wanted(const struct intake_app *app, const char *key)
{
	size_t len = strlen(key), plen = strlen(app->prefix);

	if (strncmp(key, app->prefix, plen) != 0)
		return (0);
	return (len > plen + 4 && strcmp(key + len - 4, ".zip") == 0);
}

static int64_t
backoff_ms(const struct intake *in, unsigned int errors)
{
	int64_t d = in->timing.backoff_min_ms;

	if (errors == 0)
		return (0);
	while (--errors > 0 && d < in->timing.backoff_max_ms)
		d *= 2;
	return (d < in->timing.backoff_max_ms ? d : in->timing.backoff_max_ms);
}

static const struct config_app *
app_config(const struct intake_app *app)
{
	return (config_find_app(app->in->config, app->name));
}

static void
obj_free(struct intake_obj *obj)
{
	if (obj == NULL)
		return;
	free(obj->bucket);
	free(obj->key);
	free(obj->etag);
	free(obj->version_id);
	free(obj);
}

static void
msg_free(struct intake_msg *msg)
{
	free(msg->message_id);
	free(msg->receipt_handle);
	free(msg->reason);
	free(msg->bucket);
	free(msg->key);
	free(msg);
}

/* Stopped: every app freed and the syncer closed. */
static void
intake_stop_done(struct intake *in)
{
	if (!in->stopping || in->apps != NULL || in->syncer != NULL)
		return;
	if (in->stop_cb != NULL)
		in->stop_cb(in->stop_arg);
	free(in);
}

static void
app_free(struct intake_app *app)
{
	struct intake	   *in = app->in;
	struct intake_app **pp;
	size_t		    i;

	for (pp = &in->apps; *pp != NULL; pp = &(*pp)->next)
		if (*pp == app) {
			*pp = app->next;
			break;
		}
	for (i = 0; i < app->nlfail; i++)
		free(app->lfail[i].key);
	free(app->lfail);
	free(app->name);
	free(app->bucket);
	free(app->prefix);
	free(app->queue_url);
	free(app);

	intake_stop_done(in);
}

/* Drops one reference; a dead app with none left is freed. */
static void
app_unref(struct intake_app *app)
{
	if (app->refs > 0)
		app->refs--;
	if (app->dead && app->refs == 0)
		app_free(app);
}

static void
app_timer_closed_cb(uv_handle_t *h)
{
	app_unref(h->data);
}

/* --- messages: delete, fail ---------------------------------------------- */

static void
msg_deleted_cb(const struct aws_reply *reply, void *arg)
{
	struct intake_app *app = arg;

	if (reply->error != AWS_OK && reply->error != AWS_ECANCELLED)
		log_warnx("cannot delete a message app=%s: %s (it will come "
			  "back and be found a duplicate)",
		    app->name, reply->message);
	else if (reply->error == AWS_OK)
		app->in->stats.deleted++;
	app_unref(app);
}

struct msg_delete {
	struct intake_app *app;
	char		  *receipt_handle;
};

static void
msg_synced_cb(void *arg, int ok)
{
	struct msg_delete *d = arg;
	struct intake_app *app = d->app;
	struct sqs_queue   q;
	char		  *cause = NULL;

	if (!ok || app->dead) {
		/* It comes back, and its object is found seen. */
		if (!ok)
			log_warnx("the database could not be synced, the "
				  "message stays app=%s",
			    app->name);
		goto out;
	}
	memset(&q, 0, sizeof q);
	q.url = app->queue_url;
	q.creds = aws_context_host_creds(app->in->aws);
	if (sqs_delete_message(aws_context_client(app->in->aws), &q,
		d->receipt_handle, msg_deleted_cb, app, &cause) == NULL) {
		log_warnx("cannot delete a message app=%s: %s", app->name,
		    cause);
		free(cause);
		goto out;
	}
	app->refs++;
out:
	free(d->receipt_handle);
	free(d);
	app_unref(app);
}

/* The release is on disk before its message goes (the sync runs off the
 * loop, shared with the other apps' messages). */
static void
msg_delete(struct intake_app *app, const char *receipt_handle)
{
	struct msg_delete *d;

	if (app->in->syncer == NULL)
		app->in->syncer = syncer_new(app->in->loop, app->in->store);
	d = xcalloc(1, sizeof *d);
	d->app = app;
	d->receipt_handle = xstrdup(receipt_handle);
	app->refs++;
	syncer_wait(app->in->syncer, msg_synced_cb, d);
}

static void
msg_visibility_cb(const struct aws_reply *reply, void *arg)
{
	struct intake_app *app = arg;

	if (reply->error != AWS_OK && reply->error != AWS_ECANCELLED)
		log_debug(LOG_CAT_AWS,
		    "cannot change a message's visibility "
		    "app=%s: %s",
		    app->name, reply->message);
	app_unref(app);
}

/* A failed message comes back after a delay growing with its receives. */
static void
msg_retry_later(struct intake_app *app, struct intake_msg *msg)
{
	struct sqs_queue q;
	char		*cause = NULL;
	long		 secs = app->in->timing.retry_visibility_s;
	long		 n;

	for (n = msg->receive_count;
	     n > 1 && secs > 0 && secs < INTAKE_VISIBILITY_MAX; n--)
		secs *= 2;
	if (secs > INTAKE_VISIBILITY_MAX)
		secs = INTAKE_VISIBILITY_MAX;
	memset(&q, 0, sizeof q);
	q.url = app->queue_url;
	q.creds = aws_context_host_creds(app->in->aws);
	if (sqs_change_message_visibility(aws_context_client(app->in->aws), &q,
		msg->receipt_handle, (int)secs, msg_visibility_cb, app,
		&cause) == NULL) {
		log_debug(LOG_CAT_AWS,
		    "cannot change a message's visibility "
		    "app=%s: %s",
		    app->name, cause);
		free(cause);
		return;
	}
	app->refs++;
}

static void
msg_fail(struct intake_msg *msg, const char *bucket, const char *key,
    const char *reason)
{
	msg->failed = 1;
	if (msg->reason == NULL) {
		msg->reason = xstrdup(reason);
		msg->bucket = bucket != NULL ? xstrdup(bucket) : NULL;
		msg->key = key != NULL ? xstrdup(key) : NULL;
	}
}

/*
 * One message of the last receive is done (or the receive's own
 * reference): after the last, poll again, later if one failed.
 */
static void
batch_unref(struct intake_app *app)
{
	if (app->msgs_open == 0 || --app->msgs_open > 0 || app->dead)
		return;
	if (app->batch_failed)
		app->poll_errors++;
	else
		app->poll_errors = 0;
	app->batch_failed = 0;
	intake_poll_schedule(app, backoff_ms(app->in, app->poll_errors));
}

/* Every object of the message is done: delete it, or leave it. */
static void
msg_finish(struct intake_msg *msg)
{
	struct intake_app	      *app = msg->app;
	struct intake		      *in = app->in;
	struct store_intake_failure_in f;
	char			      *cause = NULL;

	if (app->dead)
		goto out;
	if (!msg->failed)
		msg_delete(app, msg->receipt_handle);
	else {
		in->stats.failures++;
		app->batch_failed = 1;
		log_warnx("message left in the queue app=%s message=%s "
			  "receives=%ld key=%s: %s",
		    app->name, msg->message_id, msg->receive_count,
		    msg->key != NULL ? msg->key : "-", msg->reason);
		if (msg->receive_count >= app->max_receives) {
			memset(&f, 0, sizeof f);
			f.app_id = app->app_id;
			f.source = "queue";
			f.bucket = msg->bucket;
			f.key = msg->key;
			f.message_id = msg->message_id;
			f.receive_count = msg->receive_count;
			f.reason = msg->reason;
			if (store_record_intake_failure(in->store, &f,
				&cause) != 0) {
				log_warnx("cannot record an intake failure "
					  "app=%s message=%s: %s",
				    app->name, msg->message_id, cause);
				free(cause);
			} else
				log_warnx(
				    "poison message recorded app=%s "
				    "message=%s receives=%ld: left to the "
				    "queue's dead-letter policy",
				    app->name, msg->message_id,
				    msg->receive_count);
		}
		msg_retry_later(app, msg);
	}
out:
	msg_free(msg);
	batch_unref(app);
}

/* --- objects ------------------------------------------------------------- */

static void
listed_failure(struct intake_app *app, const struct intake_obj *obj,
    const char *reason)
{
	struct store_intake_failure_in f;
	struct intake_listed_failure  *lf = NULL;
	char			      *cause = NULL;
	size_t			       i;

	log_warnx("listed object not read app=%s key=%s: %s", app->name,
	    obj->key, reason);
	for (i = 0; i < app->nlfail; i++)
		if (strcmp(app->lfail[i].key, obj->key) == 0)
			lf = &app->lfail[i];
	if (lf == NULL) {
		app->lfail = xreallocarray(app->lfail, app->nlfail + 1,
		    sizeof *app->lfail);
		lf = &app->lfail[app->nlfail++];
		lf->key = xstrdup(obj->key);
		lf->count = 0;
	}
	if (++lf->count < app->max_receives)
		return;
	memset(&f, 0, sizeof f);
	f.app_id = app->app_id;
	f.source = "listing";
	f.bucket = obj->bucket;
	f.key = obj->key;
	f.receive_count = lf->count;
	f.reason = reason;
	if (store_record_intake_failure(app->in->store, &f, &cause) != 0) {
		log_warnx("cannot record an intake failure app=%s key=%s: %s",
		    app->name, obj->key, cause);
		free(cause);
	}
}

static void
list_finish(struct intake_app *app)
{
	const struct config_app *capp;

	app->listing = 0;
	if (app->dead)
		return;
	if ((capp = app_config(app)) != NULL)
		app->poll_interval_ms = capp->poll_interval_ms;
	intake_list_schedule(app, app->poll_interval_ms);
}

/* The object is done (ok or not); the worker moves on. */
static void
obj_done(struct intake_app *app, struct intake_obj *obj, int ok,
    const char *reason)
{
	struct intake_msg *msg = obj->msg;

	if (msg != NULL) {
		if (!ok)
			msg_fail(msg, obj->bucket, obj->key, reason);
		if (--msg->pending == 0)
			msg_finish(msg);
	} else {
		if (!ok) {
			app->in->stats.failures++;
			if (!app->dead)
				listed_failure(app, obj, reason);
		}
		if (app->list_pending > 0 && --app->list_pending == 0)
			list_finish(app);
	}
	if (app->cur == obj)
		app->cur = NULL;
	obj_free(obj);
}

/* Hands a release over; 0 if the callback took it. */
static int
hand_over(struct intake_app *app, int64_t release_id, char **reason)
{
	struct intake *in = app->in;

	if (in->cb(release_id, in->cb_arg) == 0)
		return (0);
	*reason = xasprintf("release %lld was recorded but not taken by the "
			    "engine",
	    (long long)release_id);
	return (-1);
}

/*
 * An object already handled: a message's duplicate hands over its
 * release again when no run came of it; a listing leaves that to the
 * pass over releases without a run.
 */
static void
obj_seen(struct intake_app *app, struct intake_obj *obj,
    const struct store_seen *seen)
{
	char *reason = NULL;
	int   ok = 1;

	app->in->stats.duplicates++;
	log_debug(LOG_CAT_ENGINE,
	    "object already seen app=%s key=%s "
	    "release=%lld",
	    app->name, obj->key, (long long)seen->release_id);
	if (obj->msg != NULL && seen->release_id != 0 && !seen->has_run)
		ok = hand_over(app, seen->release_id, &reason) == 0;
	obj_done(app, obj, ok, reason);
	free(reason);
}

/*
 * release.json as stored: the values of the parameters its template
 * declares NoEcho masked (release_mask_manifest).  0, or -1 with *cause
 * when the template's parameters cannot be read (nothing is recorded
 * rather than a secret in clear).
 */
static int
intake_mask_manifest(const struct release *rel, char **out, char **cause)
{
	struct config_strings names = { NULL, 0 };
	char		     *why = NULL;
	size_t		      n;

	if (rel->template != NULL &&
	    diff_no_echo_names(rel->template_name, rel->template,
		rel->template_len, &names, &why) != 0) {
		*cause = xasprintf("%s: %s", rel->template_name, why);
		free(why);
		return (-1);
	}
	n = release_mask_manifest(rel, &names, out);
	if (n > 0)
		log_info("NoEcho values masked in the stored release.json "
			 "app=%s version=%s masked=%zu",
		    rel->app, rel->version, n);
	diff_names_free(&names);
	return (0);
}

/*
 * Records the release (valid, or invalid with rel_err's reason) and marks
 * the object seen, in one transaction; a duplicate found by the mark
 * rolls back.  0, 1 for a duplicate, -1 with *reason on a store error.
 */
static int
record_release(struct intake_app *app, struct intake_obj *obj,
    const char *revision, const char *etag, const char *version_id,
    long long size, const struct release *rel, const char *registry,
    const struct resolve_image *images, const char *invalid, int64_t *idp,
    char **reason)
{
	struct store_release_image_in im;
	size_t			      i;
	struct store		     *s = app->in->store;
	struct store_release_in	      r;
	char			     *cause = NULL, *masked = NULL;
	int64_t			      id = 0;
	int			      is_new = 0, dummy, rc = -1;

	memset(&r, 0, sizeof r);
	r.app_id = app->app_id;
	r.bucket = obj->bucket;
	r.key = obj->key;
	r.version_id = version_id;
	r.etag = etag;
	r.size = size;
	/* A release refused for its images was read: its version and
	   author are known (the author is told). */
	if (rel != NULL) {
		r.version = rel->version;
		r.message = rel->message;
		r.author = rel->author;
		/* NoEcho values release.json sets are kept masked: the
		   engine reads them from the zip when it sends them. */
		if (intake_mask_manifest(rel, &masked, &cause) != 0)
			goto fail;
		r.manifest = masked;
	}
	if (invalid == NULL)
		r.status = STORE_RELEASE_VALID;
	else {
		r.status = STORE_RELEASE_INVALID;
		r.reason = invalid;
	}
	if (store_begin(s, &cause) != 0)
		goto fail;
	if (store_record_release(s, &r, &id, &cause) != 0 ||
	    store_mark_seen(s, app->app_id, obj->bucket, obj->key, revision, id,
		&is_new, &cause) != 0)
		goto rollback;
	/*
	 * The validated template goes with the release, so the engine
	 * deploys exactly these bytes without reading the zip again.
	 */
	if (is_new && rel != NULL && invalid == NULL &&
	    store_set_release_template(s, id, rel->template_name, rel->template,
		rel->template_len, &cause) != 0)
		goto rollback;
	if (!is_new) {
		store_rollback(s);
		rc = 1;
		goto out;
	}
	/* The images as found now: the run deploys these digests. */
	for (i = 0; rel != NULL && invalid == NULL && images != NULL &&
		    i < rel->nimages;
	     i++) {
		memset(&im, 0, sizeof im);
		im.position = (int)i;
		im.registry = registry;
		im.repository = rel->images[i].repository;
		im.tag = rel->images[i].tag;
		im.digest = images[i].digest;
		im.media_type = images[i].media_type;
		im.platforms = images[i].platforms;
		im.parameter = rel->images[i].parameter;
		if (store_add_release_image(s, id, &im, &cause) != 0)
			goto rollback;
	}
	if (etag != NULL && strcmp(etag, revision) != 0 &&
	    store_mark_seen(s, app->app_id, obj->bucket, obj->key, etag, id,
		&dummy, &cause) != 0)
		goto rollback;
	if (store_commit(s, &cause) != 0)
		goto rollback;
	*idp = id;
	rc = 0;
	goto out;

rollback:
	store_rollback(s);
fail:
	*reason = xasprintf("cannot record the release: %s", cause);
	free(cause);
out:
	free(masked);
	return (rc);
}

/* A valid release whose images are being resolved (registry-resolve.h). */
struct intake_pending {
	struct intake_app *app; /* holds a reference */
	struct intake_obj *obj; /* NULL once the app died */
	char		  *revision;
	char		  *etag;
	char		  *version_id;
	long long	   size;
	struct release	  *rel;
	char		  *registry;
};

static void
pending_free(struct intake_pending *p)
{
	free(p->revision);
	free(p->etag);
	free(p->version_id);
	free(p->registry);
	release_free(p->rel);
	free(p);
}

/*
 * Records the release (valid with its resolved images, or invalid), and
 * hands it over; the object is done.
 */
static void
obj_record(struct intake_app *app, struct intake_obj *obj, const char *revision,
    const char *etag, const char *version_id, long long size,
    const struct release *rel, const char *registry,
    const struct resolve_image *images, const char *invalid)
{
	struct intake	 *in = app->in;
	struct store_seen seen;
	char		 *reason = NULL, *cause = NULL;
	int64_t		  id = 0;
	int		  rc, ok = 0, dup = 0;

	memset(&seen, 0, sizeof seen);
	rc = record_release(app, obj, revision, etag, version_id, size, rel,
	    registry, images, invalid, &id, &reason);
	if (rc == 1) {
		/* Committed by another path first. */
		if (store_seen_object(in->store, obj->bucket, obj->key,
			revision, &seen, &cause) != 0)
			reason = xasprintf("store: %s", cause);
		else
			dup = 1;
		goto out;
	}
	if (rc != 0)
		goto out;
	in->stats.releases++;
	if (invalid == NULL)
		log_info("release recorded app=%s release=%lld version=%s "
			 "key=%s images=%s",
		    app->name, (long long)id, rel->version, obj->key,
		    images != NULL ? "pinned" :
				     "not pinned (the app has no registry)");
	else
		log_warnx("invalid release recorded app=%s release=%lld "
			  "key=%s: %s",
		    app->name, (long long)id, obj->key, invalid);
	ok = hand_over(app, id, &reason) == 0;
out:
	free(cause);
	if (dup)
		obj_seen(app, obj, &seen);
	else
		obj_done(app, obj, ok, reason);
	free(reason);
}

static void
obj_resolved_cb(const struct resolve_result *res, void *arg)
{
	struct intake_pending *p = arg;
	struct intake_obj     *obj = p->obj;
	struct intake_app     *app = p->app;
	char		      *reason;

	if (obj == NULL) { /* the app died meanwhile */
		pending_free(p);
		app_unref(app);
		return;
	}
	app->resolve = NULL;
	app->pending = NULL;
	if (app->dead || res->error == RESOLVE_ECANCELLED)
		;
	else if (res->error == RESOLVE_EMISSING)
		/* Before any change set: the release is invalid. */
		obj_record(app, obj, p->revision, p->etag, p->version_id,
		    p->size, p->rel, NULL, NULL, res->reason);
	else if (res->error != RESOLVE_OK) {
		reason = xasprintf("the release's images could not be "
				   "checked: %s",
		    res->reason);
		log_warnx("release not taken yet app=%s key=%s: %s", app->name,
		    obj->key, reason);
		obj_done(app, obj, 0, reason);
		free(reason);
	} else
		obj_record(app, obj, p->revision, p->etag, p->version_id,
		    p->size, p->rel, p->registry, res->images, NULL);
	pending_free(p);
	intake_app_pump(app);
	app_unref(app);
}

/*
 * Starts resolving a valid release's images in the app's registry; 1 if
 * under way (the object is done from obj_resolved_cb), 0 if the object
 * was done at once.
 */
static int
obj_resolve(struct intake_app *app, struct intake_obj *obj,
    const struct config_app *capp, const char *revision, const char *etag,
    const char *version_id, long long size, struct release **relp)
{
	struct intake_pending	*p;
	struct resolve_image_in *ims;
	struct release		*rel = *relp;
	char			*cause = NULL, *reason;
	size_t			 i;

	ims = xcalloc(rel->nimages, sizeof *ims);
	for (i = 0; i < rel->nimages; i++) {
		ims[i].repository = rel->images[i].repository;
		ims[i].tag = rel->images[i].tag;
		ims[i].digest = rel->images[i].digest;
	}
	p = xcalloc(1, sizeof *p);
	p->obj = obj;
	p->revision = xstrdup(revision);
	p->etag = etag != NULL ? xstrdup(etag) : NULL;
	p->version_id = version_id != NULL ? xstrdup(version_id) : NULL;
	p->size = size;
	p->registry = xstrdup(capp->registry);
	p->app = app;
	app->resolve = registry_resolve_start(app->in->aws, app->in->config,
	    capp, NULL, capp->registry, ims, rel->nimages, obj_resolved_cb, p,
	    &cause);
	free(ims);
	if (app->resolve == NULL) {
		pending_free(p);
		reason = xasprintf("the release's images could not be "
				   "checked: %s",
		    cause);
		free(cause);
		obj_done(app, obj, 0, reason);
		free(reason);
		return (0);
	}
	p->rel = rel;
	*relp = NULL;
	app->pending = p;
	app->refs++;
	return (1);
}

/*
 * The object's bytes are here (data NULL: too large, invalid already):
 * validate, resolve the images, record, hand over.
 */
static void
obj_read(struct intake_app *app, struct intake_obj *obj, const char *data,
    size_t len, const char *etag_quoted, const char *version_id,
    const char *too_large)
{
	struct intake		*in = app->in;
	const struct config_app *capp;
	struct release_limits	 limits;
	struct release_error	 err;
	struct release		*rel = NULL;
	struct store_seen	 seen;
	char			*etag, *reason = NULL, *cause = NULL;
	const char		*revision, *src_revision;
	const char		*invalid = NULL;
	long long		 size;

	memset(&err, 0, sizeof err);
	memset(&seen, 0, sizeof seen);
	etag = etag_bare(etag_quoted);
	if (etag == NULL && obj->etag != NULL)
		etag = xstrdup(obj->etag);
	if (version_id == NULL)
		version_id = obj->version_id;
	revision = version_id != NULL ? version_id : etag;
	if (revision == NULL) {
		reason = xstrdup("S3 gave neither a version id nor an ETag");
		goto done;
	}
	src_revision = obj->version_id != NULL ? obj->version_id : obj->etag;
	if (src_revision == NULL || strcmp(revision, src_revision) != 0) {
		/* Another revision than the event or listing named. */
		if (store_seen_object(in->store, obj->bucket, obj->key,
			revision, &seen, &cause) != 0) {
			reason = xasprintf("store: %s", cause);
			goto done;
		}
		if (seen.seen) {
			obj_seen(app, obj, &seen);
			goto out;
		}
	}

	if ((capp = app_config(app)) == NULL) {
		reason = xstrdup("the app is no longer configured");
		goto done;
	}
	release_limits_from_app(&limits, capp);
	size = data != NULL ? (long long)len : obj->size;
	if (data == NULL)
		invalid = too_large;
	else if (release_read(&rel, data, len, app->name, &limits, &err) != 0 ||
		 release_check_app(rel, capp, &err) != 0) {
		release_free(rel);
		rel = NULL;
		invalid = err.reason != NULL ? err.reason : "invalid release";
	}
	/* Images are pinned where the app's registry is known. */
	if (invalid == NULL && capp->registry != NULL) {
		obj_resolve(app, obj, capp, revision, etag, version_id, size,
		    &rel);
		goto out;
	}
	obj_record(app, obj, revision, etag, version_id, size, rel, NULL, NULL,
	    invalid);
	goto out;

done:
	obj_done(app, obj, 0, reason);
out:
	release_free(rel);
	release_error_clear(&err);
	free(etag);
	free(cause);
	free(reason);
}

static void
obj_get_cb(const struct aws_reply *reply, struct s3_object *o, void *arg)
{
	struct intake_app	*app = arg;
	struct intake_obj	*obj = app->cur;
	const struct config_app *capp;
	char			*msg;

	app->get = NULL;
	if (app->dead) {
		s3_object_free(o);
		app_unref(app);
		return;
	}
	if (reply->error == AWS_ETOOLARGE) {
		capp = app_config(app);
		msg = xasprintf("zip: more than the %llu bytes allowed "
				"(limits.zip_size)",
		    capp != NULL ? (unsigned long long)capp->limit_zip_size :
				   0ULL);
		obj_read(app, obj, NULL, 0, NULL, NULL, msg);
		free(msg);
	} else if (reply->error == AWS_EAWS &&
		   strcmp(reply->aws.code, "NoSuchKey") == 0) {
		app->in->stats.ignored++;
		log_info("object gone before it was read app=%s key=%s",
		    app->name, obj->key);
		obj_done(app, obj, 1, NULL);
	} else if (reply->error != AWS_OK)
		obj_done(app, obj, 0, reply->message);
	else
		obj_read(app, obj, o->data, o->len, o->info.etag,
		    o->info.version_id, NULL);
	s3_object_free(o);
	intake_app_pump(app);
	app_unref(app);
}

/*
 * Starts on an object: 1 if a download is under way, 0 if the object was
 * done at once (already seen, too large, a failure).
 */
static int
obj_start(struct intake_app *app, struct intake_obj *obj)
{
	struct intake		*in = app->in;
	const struct config_app *capp;
	struct store_seen	 seen;
	struct s3_target	 t;
	char			*cause = NULL, *reason, *msg;
	const char		*revision;
	uint64_t		 cap;

	revision = obj->version_id != NULL ? obj->version_id : obj->etag;
	if (revision != NULL) {
		if (store_seen_object(in->store, obj->bucket, obj->key,
			revision, &seen, &cause) != 0) {
			reason = xasprintf("store: %s", cause);
			free(cause);
			obj_done(app, obj, 0, reason);
			free(reason);
			return (0);
		}
		if (seen.seen) {
			obj_seen(app, obj, &seen);
			return (0);
		}
	}
	if ((capp = app_config(app)) == NULL) {
		obj_done(app, obj, 0, "the app is no longer configured");
		return (0);
	}
	cap = capp->limit_zip_size;
	if (obj->size >= 0 && revision != NULL && cap > 0 &&
	    (uint64_t)obj->size > cap) {
		msg = xasprintf("zip: %lld bytes, more than the %llu bytes "
				"allowed (limits.zip_size)",
		    obj->size, (unsigned long long)cap);
		obj_read(app, obj, NULL, 0, NULL, NULL, msg);
		free(msg);
		return (0);
	}

	memset(&t, 0, sizeof t);
	t.bucket = obj->bucket;
	t.key = obj->key;
	t.creds = aws_context_host_creds(in->aws);
	app->get = s3_get_object(aws_context_client(in->aws), &t,
	    cap > SIZE_MAX ? SIZE_MAX : (size_t)cap, obj_get_cb, app, &cause);
	if (app->get == NULL) {
		reason = xasprintf("GetObject: %s", cause);
		free(cause);
		obj_done(app, obj, 0, reason);
		free(reason);
		return (0);
	}
	app->refs++;
	return (1);
}

/* Reads queued objects one at a time. */
static void
intake_app_pump(struct intake_app *app)
{
	struct intake_obj *obj;

	while (!app->dead && app->cur == NULL && app->head != NULL) {
		obj = app->head;
		if ((app->head = obj->next) == NULL)
			app->tail = NULL;
		obj->next = NULL;
		app->cur = obj;
		if (obj_start(app, obj))
			break;
	}
}

static void
obj_enqueue(struct intake_app *app, struct intake_obj *obj)
{
	if (app->tail != NULL)
		app->tail->next = obj;
	else
		app->head = obj;
	app->tail = obj;
}

/* --- the queue ----------------------------------------------------------- */

/*
 * Reads one S3 event record into an object to read; 0 with *objp NULL
 * for a record that is not for us, -1 with *reason when malformed.
 */
static int
parse_record(struct intake_app *app, struct json *doc, size_t i,
    struct intake_obj **objp, char **reason)
{
	const char *name = NULL, *bucket = NULL, *key = NULL;
	const char *etag = NULL, *version = NULL;
	long long   size = -1;
	char	   *decoded;

	*objp = NULL;
	json_str(doc, &name, "Records[%zu].eventName", i);
	if (json_error(doc) != NULL)
		goto bad;
	if (strncmp(name, "ObjectCreated:", 14) != 0) {
		log_debug(LOG_CAT_ENGINE, "event ignored app=%s event=%s",
		    app->name, name);
		return (0);
	}
	json_str(doc, &bucket, "Records[%zu].s3.bucket.name", i);
	json_str(doc, &key, "Records[%zu].s3.object.key", i);
	json_int_opt(doc, &size, "Records[%zu].s3.object.size", i);
	json_str_opt(doc, &etag, "Records[%zu].s3.object.eTag", i);
	json_str_opt(doc, &version, "Records[%zu].s3.object.versionId", i);
	if (json_error(doc) != NULL)
		goto bad;
	if ((decoded = intake_decode_key(key)) == NULL) {
		*reason = xasprintf("Records[%zu].s3.object.key: bad "
				    "percent-encoding",
		    i);
		return (-1);
	}
	if (strcmp(bucket, app->bucket) != 0) {
		log_info("event for another bucket ignored app=%s bucket=%s "
			 "key=%s",
		    app->name, bucket, decoded);
		free(decoded);
		return (0);
	}
	if (!key_wanted(app, decoded)) {
		log_info("object ignored app=%s key=%s: not a .zip under "
			 "prefix \"%s\"",
		    app->name, decoded, app->prefix);
		free(decoded);
		return (0);
	}
	*objp = xcalloc(1, sizeof **objp);
	(*objp)->bucket = xstrdup(bucket);
	(*objp)->key = decoded;
	(*objp)->etag = etag_bare(etag);
	(*objp)->version_id = version != NULL && *version != '\0' ?
				  xstrdup(version) :
				  NULL;
	(*objp)->size = size;
	return (0);

bad:
	*reason = xstrdup(json_error(doc));
	return (-1);
}

/*
 * Parses a message body: the objects to read (NULL-ended list in
 * *headp), *test set for s3:TestEvent; -1 with *reason when unreadable.
 * An S3 event sent through SNS (a Notification whose Message is the
 * event) is unwrapped.
 */
static int
parse_body(struct intake_app *app, const char *body, int *testp,
    struct intake_obj **headp, size_t *np, char **reason)
{
	struct json_limits limits;
	struct json	  *doc = NULL, *inner = NULL, *d;
	struct intake_obj *obj, *tail = NULL;
	const char	  *event = NULL, *type = NULL, *message = NULL;
	char		  *cause = NULL;
	size_t		   n, i;
	int		   rc = -1;

	*testp = 0;
	*headp = NULL;
	*np = 0;
	limits.max_size = INTAKE_BODY_MAX;
	limits.max_depth = INTAKE_BODY_DEPTH;
	if (json_load(&doc, body, strlen(body), &limits, "S3 event", &cause) !=
	    0) {
		*reason = cause;
		return (-1);
	}
	d = doc;
	if (json_str_opt(doc, &type, "Type") == 1 &&
	    strcmp(type, "Notification") == 0 &&
	    json_str_opt(doc, &message, "Message") == 1) {
		if (json_load(&inner, message, strlen(message), &limits,
			"S3 event in an SNS notification", &cause) != 0) {
			*reason = cause;
			goto out;
		}
		d = inner;
	}
	if (json_is_array(json_root(d))) {
		*reason = xstrdup("S3 event: not an object");
		goto out;
	}
	if (json_str_opt(d, &event, "Event") == 1 &&
	    strcmp(event, "s3:TestEvent") == 0) {
		*testp = 1;
		rc = 0;
		goto out;
	}
	if (json_arr(d, &n, "Records") != 0) {
		*reason = xstrdup(json_error(d));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (parse_record(app, d, i, &obj, reason) != 0)
			goto out;
		if (obj == NULL) {
			app->in->stats.ignored++;
			continue;
		}
		if (tail != NULL)
			tail->next = obj;
		else
			*headp = obj;
		tail = obj;
		(*np)++;
	}
	rc = 0;
out:
	if (rc != 0) {
		while ((obj = *headp) != NULL) {
			*headp = obj->next;
			obj_free(obj);
		}
		*np = 0;
	}
	json_free(inner);
	json_free(doc);
	return (rc);
}

static void
handle_message(struct intake_app *app, struct sqs_message *m)
{
	struct intake_msg *msg;
	struct intake_obj *head = NULL, *obj;
	char		  *reason = NULL;
	size_t		   n = 0;
	int		   test = 0;

	app->in->stats.messages++;
	msg = xcalloc(1, sizeof *msg);
	msg->app = app;
	msg->message_id = xstrdup(m->message_id != NULL ? m->message_id : "");
	msg->receipt_handle = xstrdup(m->receipt_handle);
	msg->receive_count = m->receive_count > 0 ? m->receive_count : 1;
	app->msgs_open++;

	if (m->body == NULL ||
	    parse_body(app, m->body, &test, &head, &n, &reason) != 0) {
		msg_fail(msg, NULL, NULL,
		    reason != NULL ? reason : "empty message");
		free(reason);
		msg_finish(msg);
		return;
	}
	if (test || n == 0) {
		if (test)
			log_info("s3:TestEvent deleted app=%s", app->name);
		else
			app->in->stats.ignored++;
		msg_finish(msg);
		return;
	}
	msg->pending = n;
	while ((obj = head) != NULL) {
		head = obj->next;
		obj->next = NULL;
		obj->msg = msg;
		obj_enqueue(app, obj);
	}
}

static void
receive_cb(const struct aws_reply *reply, struct sqs_messages *msgs, void *arg)
{
	struct intake_app *app = arg;
	size_t		   i;

	app->receive = NULL;
	if (app->dead) {
		sqs_messages_free(msgs);
		app_unref(app);
		return;
	}
	if (reply->error != AWS_OK) {
		app->poll_errors++;
		log_warnx("cannot receive messages app=%s: %s", app->name,
		    reply->message);
		intake_poll_schedule(app,
		    backoff_ms(app->in, app->poll_errors));
		app_unref(app);
		return;
	}
	if (msgs == NULL || msgs->n == 0) {
		app->poll_errors = 0;
		intake_poll_schedule(app, 0);
	} else {
		app->batch_failed = 0;
		app->msgs_open++; /* until every message is in */
		for (i = 0; i < msgs->n; i++)
			handle_message(app, &msgs->v[i]);
		batch_unref(app);
		intake_app_pump(app);
	}
	sqs_messages_free(msgs);
	app_unref(app);
}

/*
 * Whether the app is recorded, recording it now if a storage fault kept
 * app_start from it (the daemon started on a full disk): nothing is
 * received or listed for it before.
 */
static int
app_recorded(struct intake_app *app)
{
	char *cause = NULL;

	if (app->app_id != 0)
		return (1);
	if (store_upsert_app(app->in->store, app->name, &app->app_id, &cause) !=
	    0) {
		log_debug(LOG_CAT_STORE, "intake app=%s not recorded yet: %s",
		    app->name, cause);
		free(cause);
		app->app_id = 0;
		return (0);
	}
	log_info("intake app=%s recorded: the database is usable again",
	    app->name);
	return (1);
}

static void
poll_timer_cb(uv_timer_t *t)
{
	struct intake_app	 *app = t->data;
	struct sqs_receive_params p;
	char			 *cause = NULL, *fault;

	if (app->dead || app->receive != NULL || app->queue_url == NULL)
		return;
	/* No new work while the disk is unwell (store_fault, logged by the
	   store): the messages wait in the queue. */
	if ((fault = store_fault()) != NULL || !app_recorded(app)) {
		free(fault);
		intake_poll_schedule(app, INTAKE_FAULT_WAIT_MS);
		return;
	}
	memset(&p, 0, sizeof p);
	p.q.url = app->queue_url;
	p.q.creds = aws_context_host_creds(app->in->aws);
	p.wait_seconds = app->in->timing.wait_seconds;
	p.max_messages = INTAKE_MAX_MESSAGES;
	p.visibility_timeout = -1;
	app->receive = sqs_receive_message(aws_context_client(app->in->aws), &p,
	    receive_cb, app, &cause);
	if (app->receive == NULL) {
		app->poll_errors++;
		log_warnx("cannot receive messages app=%s: %s", app->name,
		    cause);
		free(cause);
		intake_poll_schedule(app,
		    backoff_ms(app->in, app->poll_errors));
		return;
	}
	app->refs++;
}

static void
intake_poll_schedule(struct intake_app *app, int64_t delay_ms)
{
	if (app->dead || app->queue_url == NULL)
		return;
	uv_timer_start(&app->poll_timer, poll_timer_cb,
	    delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

/* --- the listing --------------------------------------------------------- */

/* Valid releases without a run: hand them over again. */
static void
resubmit_pending(struct intake_app *app)
{
	struct intake *in = app->in;
	int64_t	      *ids = NULL;
	size_t	       n = 0, i;
	char	      *cause = NULL;

	if (store_releases_without_run(in->store, app->app_id,
		INTAKE_RESUBMIT_MAX, &ids, &n, &cause) != 0) {
		log_warnx("cannot list releases without a run app=%s: %s",
		    app->name, cause);
		free(cause);
		return;
	}
	for (i = 0; i < n && !app->dead; i++) {
		log_info("release handed over again app=%s release=%lld",
		    app->name, (long long)ids[i]);
		if (in->cb(ids[i], in->cb_arg) != 0)
			log_warnx("release not taken app=%s release=%lld",
			    app->name, (long long)ids[i]);
	}
	free(ids);
}

static void
list_cb(const struct aws_reply *reply, struct s3_object_list *l, void *arg)
{
	struct intake_app	 *app = arg;
	struct intake		 *in = app->in;
	struct s3_object_summary *o;
	struct intake_obj	 *obj;
	char			 *etag, *cause = NULL;
	int			  seen;
	size_t			  i, n = 0;

	app->list = NULL;
	if (app->dead) {
		s3_object_list_free(l);
		app_unref(app);
		return;
	}
	if (reply->error != AWS_OK) {
		app->list_errors++;
		in->stats.failures++;
		log_warnx("cannot list the bucket app=%s bucket=%s: %s",
		    app->name, app->bucket, reply->message);
		intake_list_schedule(app,
		    backoff_ms(in, app->list_errors) < app->poll_interval_ms ?
			backoff_ms(in, app->list_errors) :
			app->poll_interval_ms);
		app_unref(app);
		return;
	}
	app->list_errors = 0;
	in->stats.listings++;
	resubmit_pending(app);
	app->listing = 1;
	app->list_pending = 1; /* until every object is queued */
	for (i = 0; l != NULL && i < l->n && !app->dead; i++) {
		o = &l->v[i];
		if (!key_wanted(app, o->key))
			continue;
		etag = etag_bare(o->etag);
		seen = 0;
		if (etag != NULL && store_is_seen(in->store, app->bucket,
					o->key, etag, &seen, &cause) != 0) {
			log_warnx("store: %s", cause);
			free(cause);
			cause = NULL;
		}
		if (seen) {
			free(etag);
			continue;
		}
		obj = xcalloc(1, sizeof *obj);
		obj->bucket = xstrdup(app->bucket);
		obj->key = xstrdup(o->key);
		obj->etag = etag;
		obj->size = o->size;
		obj_enqueue(app, obj);
		app->list_pending++;
		n++;
	}
	if (n > 0)
		log_info("listing found new objects app=%s objects=%zu",
		    app->name, n);
	if (--app->list_pending == 0)
		list_finish(app);
	s3_object_list_free(l);
	intake_app_pump(app);
	app_unref(app);
}

static void
list_timer_cb(uv_timer_t *t)
{
	struct intake_app    *app = t->data;
	struct s3_list_params p;
	char		     *cause = NULL, *fault;

	if (app->dead || app->list != NULL || app->listing)
		return;
	/* Nor a listing's new objects while the disk is unwell. */
	if ((fault = store_fault()) != NULL || !app_recorded(app)) {
		free(fault);
		intake_list_schedule(app, INTAKE_FAULT_WAIT_MS);
		return;
	}
	memset(&p, 0, sizeof p);
	p.t.bucket = app->bucket;
	p.t.creds = aws_context_host_creds(app->in->aws);
	p.prefix = *app->prefix != '\0' ? app->prefix : NULL;
	app->list = s3_list_objects(aws_context_client(app->in->aws), &p,
	    list_cb, app, &cause);
	if (app->list == NULL) {
		app->list_errors++;
		log_warnx("cannot list the bucket app=%s: %s", app->name,
		    cause);
		free(cause);
		intake_list_schedule(app, app->poll_interval_ms);
		return;
	}
	app->refs++;
}

static void
intake_list_schedule(struct intake_app *app, int64_t delay_ms)
{
	if (app->dead)
		return;
	uv_timer_start(&app->list_timer, list_timer_cb,
	    delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

/* --- apps ---------------------------------------------------------------- */

static int
app_same_source(const struct intake_app *app, const struct config_app *c)
{
	if (strcmp(app->bucket, c->source_bucket) != 0 ||
	    strcmp(app->prefix,
		c->source_prefix != NULL ? c->source_prefix : "") != 0)
		return (0);
	if ((app->queue_url == NULL) != (c->source_queue_url == NULL))
		return (0);
	return (app->queue_url == NULL ||
		strcmp(app->queue_url, c->source_queue_url) == 0);
}

/* Starts reading an app's source; 0 or a STORE_E* code. */
static int
app_start(struct intake *in, const struct config_app *c, char **cause)
{
	struct intake_app *app;
	int64_t		   id = 0;
	char		  *fault, *why = NULL;
	int		   rc;

	/* On a full disk the app is recorded later (app_recorded): the
	   daemon starts and says why it takes no work, rather than exit. */
	if ((rc = store_upsert_app(in->store, c->name, &id, &why)) != 0) {
		if ((fault = store_fault()) == NULL) {
			*cause = why;
			return (rc);
		}
		log_warnx("intake app=%s waits for the database: %s", c->name,
		    why);
		free(fault);
		free(why);
		id = 0;
	}
	app = xcalloc(1, sizeof *app);
	app->in = in;
	app->name = xstrdup(c->name);
	app->bucket = xstrdup(c->source_bucket);
	app->prefix = xstrdup(c->source_prefix != NULL ? c->source_prefix : "");
	app->queue_url = c->source_queue_url != NULL ?
			     xstrdup(c->source_queue_url) :
			     NULL;
	app->poll_interval_ms = c->poll_interval_ms > 0 ? c->poll_interval_ms :
							  60000;
	app->max_receives = c->max_receives > 0 ? c->max_receives : 5;
	app->app_id = id;
	uv_timer_init(in->loop, &app->poll_timer);
	uv_timer_init(in->loop, &app->list_timer);
	app->poll_timer.data = app;
	app->list_timer.data = app;
	app->refs = 2;
	app->next = in->apps;
	in->apps = app;

	log_info("intake started app=%s bucket=%s prefix=%s queue=%s",
	    app->name, app->bucket, app->prefix,
	    app->queue_url != NULL ? app->queue_url : "-");
	intake_poll_schedule(app, 0);
	intake_list_schedule(app, in->timing.first_list_ms);
	return (0);
}

/* Stops an app: cancels its calls, closes its timers, drops its queue. */
static void
intake_app_kill(struct intake_app *app)
{
	struct intake_obj *obj;
	struct intake_msg *msg;

	if (app->dead)
		return;
	app->dead = 1;
	while ((obj = app->head) != NULL) {
		app->head = obj->next;
		if ((msg = obj->msg) != NULL && --msg->pending == 0)
			msg_free(msg);
		obj_free(obj);
	}
	app->tail = NULL;
	if (app->cur != NULL) {
		/* The download's callback comes with AWS_ECANCELLED. */
		obj = app->cur;
		app->cur = NULL;
		if ((msg = obj->msg) != NULL && --msg->pending == 0)
			msg_free(msg);
		obj_free(obj);
	}
	if (app->receive != NULL)
		aws_op_cancel(app->receive);
	if (app->get != NULL)
		aws_op_cancel(app->get);
	if (app->pending != NULL) {
		/* Its callback comes with RESOLVE_ECANCELLED. */
		app->pending->obj = NULL;
		app->pending = NULL;
		registry_resolve_cancel(app->resolve);
		app->resolve = NULL;
	}
	if (app->list != NULL)
		aws_op_cancel(app->list);
	uv_timer_stop(&app->poll_timer);
	uv_timer_stop(&app->list_timer);
	uv_close((uv_handle_t *)&app->poll_timer, app_timer_closed_cb);
	uv_close((uv_handle_t *)&app->list_timer, app_timer_closed_cb);
}

/* --- the intake ---------------------------------------------------------- */

struct intake *
intake_new(uv_loop_t *loop, struct store *store, struct aws_context *aws,
    const struct config *config, intake_release_cb cb, void *arg)
{
	struct intake *in;

	in = xcalloc(1, sizeof *in);
	in->loop = loop;
	in->store = store;
	in->aws = aws;
	in->config = config;
	in->cb = cb;
	in->cb_arg = arg;
	in->timing.first_list_ms = 2000;
	in->timing.backoff_min_ms = 1000;
	in->timing.backoff_max_ms = 60000;
	in->timing.wait_seconds = SQS_WAIT_MAX;
	in->timing.retry_visibility_s = 10;
	return (in);
}

void
intake_set_timing(struct intake *in, const struct intake_timing *t)
{
	in->timing = *t;
	if (in->timing.backoff_min_ms <= 0)
		in->timing.backoff_min_ms = 1;
	if (in->timing.backoff_max_ms < in->timing.backoff_min_ms)
		in->timing.backoff_max_ms = in->timing.backoff_min_ms;
	if (in->timing.wait_seconds < 0 ||
	    in->timing.wait_seconds > SQS_WAIT_MAX)
		in->timing.wait_seconds = SQS_WAIT_MAX;
	if (in->timing.retry_visibility_s < 0)
		in->timing.retry_visibility_s = 0;
}

int
intake_start(struct intake *in, char **cause)
{
	size_t i;
	int    rc;

	if (in->started)
		return (0);
	in->started = 1;
	for (i = 0; i < in->config->napps; i++)
		if ((rc = app_start(in, &in->config->apps[i], cause)) != 0)
			return (rc);
	return (0);
}

void
intake_reconfigure(struct intake *in, const struct config *config)
{
	const struct config_app *c;
	struct intake_app	*app, *next;
	char			*cause = NULL;
	size_t			 i;
	int			 found;

	in->config = config;
	if (!in->started || in->stopping)
		return;
	for (app = in->apps; app != NULL; app = next) {
		next = app->next;
		if (app->dead)
			continue;
		c = config_find_app(config, app->name);
		if (c == NULL || !app_same_source(app, c)) {
			log_info("intake stopped app=%s: %s", app->name,
			    c == NULL ? "no longer configured" :
					"its source changed");
			intake_app_kill(app);
			continue;
		}
		app->poll_interval_ms = c->poll_interval_ms > 0 ?
					    c->poll_interval_ms :
					    60000;
		app->max_receives = c->max_receives > 0 ? c->max_receives : 5;
	}
	for (i = 0; i < config->napps; i++) {
		c = &config->apps[i];
		found = 0;
		for (app = in->apps; app != NULL; app = app->next)
			if (!app->dead && strcmp(app->name, c->name) == 0)
				found = 1;
		if (found)
			continue;
		if (app_start(in, c, &cause) != 0) {
			log_warnx("cannot start intake app=%s: %s", c->name,
			    cause);
			free(cause);
			cause = NULL;
		}
	}
}

static void
intake_syncer_closed_cb(void *arg)
{
	struct intake *in = arg;

	in->syncer = NULL;
	intake_stop_done(in);
}

void
intake_stop(struct intake *in, void (*cb)(void *), void *arg)
{
	struct intake_app *app;

	in->stopping = 1;
	in->stop_cb = cb;
	in->stop_arg = arg;
	/* Waiting deletes are dropped (their messages come back). */
	if (in->syncer != NULL)
		syncer_close(in->syncer, intake_syncer_closed_cb, in);
	for (app = in->apps; app != NULL; app = app->next)
		intake_app_kill(app);
	intake_stop_done(in);
}

void
intake_stats(const struct intake *in, struct intake_stats *st)
{
	*st = in->stats;
}
