/*
 * Durability without blocking the loop (syncer.h).
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "syncer.h"
#include "xmalloc.h"

struct syncer_waiter {
	TAILQ_ENTRY(syncer_waiter) entry;
	syncer_cb cb;
	void	 *arg;
	int64_t	  mark; /* durable once synced */
};
TAILQ_HEAD(syncer_waiters, syncer_waiter);

struct syncer {
	uv_loop_t	     *loop;
	struct store	     *store;
	struct syncer_waiters waiters;

	uv_work_t work; /* the fdatasync in flight */
	int	  busy;
	int	  fd;
	int64_t	  mark;	 /* what it makes durable */
	int	  error; /* its errno, or 0 */

	uv_timer_t kick;    /* answers from the loop */
	uv_timer_t probe;   /* while the disk is unwell */
	int	   probing; /* the sync in flight is one */
	int	   handles; /* open, until freed */
	int	   closing;
	void (*close_cb)(void *);
	void *close_arg;
};

/*
 * While a storage fault is set (store_fault), a commit and an fdatasync
 * are tried this often; the first that succeeds clears it.  Not in the
 * way of the loop ending (unreferenced).
 */
#define SYNCER_PROBE_MS 2000

static void syncer_kick(struct syncer *);

/* Answers the waiters whose mark is durable (all of them if !ok). */
static void
syncer_answer(struct syncer *y, int ok)
{
	struct syncer_waiters ready;
	struct syncer_waiter *w, *next;

	TAILQ_INIT(&ready);
	for (w = TAILQ_FIRST(&y->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (!ok || store_synced(y->store, w->mark)) {
			TAILQ_REMOVE(&y->waiters, w, entry);
			TAILQ_INSERT_TAIL(&ready, w, entry);
		}
	}
	/* A callback may wait again: the list is ours by now. */
	while ((w = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, w, entry);
		w->cb(w->arg, ok);
		free(w);
	}
}

static void
syncer_closed_cb(uv_handle_t *h)
{
	struct syncer *y = h->data;
	void (*cb)(void *) = y->close_cb;
	void *arg = y->close_arg;

	if (--y->handles > 0)
		return;
	free(y);
	if (cb != NULL)
		cb(arg);
}

static void
syncer_finish_close(struct syncer *y)
{
	syncer_answer(y, 0);
	uv_close((uv_handle_t *)&y->kick, syncer_closed_cb);
	uv_close((uv_handle_t *)&y->probe, syncer_closed_cb);
}

static void
syncer_work_cb(uv_work_t *req)
{
	struct syncer *y = req->data;

	/* fdatasync applies to the file, whoever else has it open. */
	y->error = fdatasync(y->fd) == -1 ? errno : 0;
}

static void
syncer_after_work_cb(uv_work_t *req, int status)
{
	struct syncer *y = req->data;
	int	       probing = y->probing;

	y->busy = 0;
	y->probing = 0;
	if (status == 0 && y->error == 0) {
		store_sync_end(y->store, y->mark);
		if (probing)
			store_fault_clear();
	} else if (status != 0) {
		log_warnx("cannot sync the database's log: %s",
		    uv_strerror(status));
	} else {
		/* Probes fail quietly: the fault was said once. */
		if (!probing)
			log_warnx("cannot sync the database's log: %s",
			    strerror(y->error));
		store_fault_set("cannot sync: %s", strerror(y->error));
	}
	if (y->closing) {
		syncer_finish_close(y);
		return;
	}
	syncer_answer(y, status == 0 && y->error == 0);
	syncer_kick(y);
}

/* Answers what is durable already; starts a sync for the rest. */
static void
syncer_kick(struct syncer *y)
{
	char *cause = NULL;
	int   rc;

	if (y->busy || y->closing || TAILQ_EMPTY(&y->waiters))
		return;
	if (store_sync_begin(y->store, &y->fd, &y->mark, &cause) != 0) {
		log_warnx("cannot sync the database's log: %s", cause);
		free(cause);
		syncer_answer(y, 0);
		return;
	}
	if (y->fd == -1) { /* nothing new since the last sync */
		syncer_answer(y, 1);
		return;
	}
	y->busy = 1;
	if ((rc = uv_queue_work(y->loop, &y->work, syncer_work_cb,
		 syncer_after_work_cb)) != 0) {
		y->busy = 0;
		log_warnx("cannot sync the database's log: %s",
		    uv_strerror(rc));
		syncer_answer(y, 0);
	}
}

static void
syncer_kick_cb(uv_timer_t *t)
{
	syncer_kick(t->data);
}

/* A commit, then its fdatasync off the loop, while the disk is unwell. */
static void
syncer_probe_cb(uv_timer_t *t)
{
	struct syncer *y = t->data;
	char	      *fault, *cause = NULL;
	int	       rc;

	if (y->busy || y->closing || (fault = store_fault()) == NULL)
		return;
	free(fault);
	if (store_probe(y->store, &y->fd, &y->mark, &cause) != 0) {
		/* A write that failed on the disk kept the fault set. */
		log_debug(LOG_CAT_STORE, "database probe failed: %s", cause);
		free(cause);
		return;
	}
	y->busy = 1;
	y->probing = 1;
	if ((rc = uv_queue_work(y->loop, &y->work, syncer_work_cb,
		 syncer_after_work_cb)) != 0) {
		y->busy = 0;
		y->probing = 0;
		log_warnx("cannot sync the database's log: %s",
		    uv_strerror(rc));
	}
}

struct syncer *
syncer_new(uv_loop_t *loop, struct store *store)
{
	struct syncer *y;

	y = xcalloc(1, sizeof *y);
	y->loop = loop;
	y->store = store;
	y->fd = -1;
	TAILQ_INIT(&y->waiters);
	y->work.data = y;
	uv_timer_init(loop, &y->kick);
	y->kick.data = y;
	uv_timer_init(loop, &y->probe);
	y->probe.data = y;
	uv_timer_start(&y->probe, syncer_probe_cb, SYNCER_PROBE_MS,
	    SYNCER_PROBE_MS);
	uv_unref((uv_handle_t *)&y->probe);
	y->handles = 2;
	return (y);
}

void
syncer_wait(struct syncer *y, syncer_cb cb, void *arg)
{
	struct syncer_waiter *w;

	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	w->mark = store_sync_mark(y->store);
	TAILQ_INSERT_TAIL(&y->waiters, w, entry);
	/* From the loop, after the caller returns; a sync in flight picks
	   the new waiters up when it ends. */
	if (!y->closing && !y->busy)
		uv_timer_start(&y->kick, syncer_kick_cb, 0, 0);
}

void
syncer_close(struct syncer *y, void (*cb)(void *), void *arg)
{
	if (y->closing)
		return;
	y->closing = 1;
	y->close_cb = cb;
	y->close_arg = arg;
	uv_timer_stop(&y->kick);
	uv_timer_stop(&y->probe);
	if (!y->busy)
		syncer_finish_close(y);
}
