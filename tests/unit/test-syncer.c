/*
 * syncer: callbacks once the commits are on disk, never from inside
 * syncer_wait, one fsync shared by the waiters of a burst, none when
 * nothing was committed, and ok 0 for the waiters left at close.  A
 * failed fdatasync (this file's own, below) sets the storage fault that
 * /healthz and the intake see, and a later probe clears it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "store.h"
#include "syncer.h"
#include "tap.h"
#include "xmalloc.h"

/* fdatasync for the syncer: fails with fail_errno while it is set. */
static int fail_errno;
static int sync_calls;

int
fdatasync(int fd)
{
	int e;

	__atomic_add_fetch(&sync_calls, 1, __ATOMIC_SEQ_CST);
	if ((e = __atomic_load_n(&fail_errno, __ATOMIC_SEQ_CST)) != 0) {
		errno = e;
		return (-1);
	}
	return (fsync(fd));
}

/* Runs the loop until pred holds, or 60 s (a guard, not a timing). */
struct until {
	int (*pred)(void *);
	void	  *arg;
	int	   held;
	uv_timer_t check, guard;
};

static void
until_check_cb(uv_timer_t *t)
{
	struct until *u = t->data;

	if (u->pred(u->arg)) {
		u->held = 1;
		uv_stop(t->loop);
	}
}

static void
until_guard_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void
until_closed_cb(uv_handle_t *h)
{
	(void)h;
}

static int
run_until(uv_loop_t *loop, int (*pred)(void *), void *arg)
{
	struct until u;

	memset(&u, 0, sizeof u);
	u.pred = pred;
	u.arg = arg;
	uv_timer_init(loop, &u.check);
	uv_timer_init(loop, &u.guard);
	u.check.data = u.guard.data = &u;
	uv_timer_start(&u.check, until_check_cb, 20, 20);
	uv_timer_start(&u.guard, until_guard_cb, 60000, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&u.check, until_closed_cb);
	uv_close((uv_handle_t *)&u.guard, until_closed_cb);
	uv_run(loop, UV_RUN_NOWAIT);
	return (u.held);
}

static int
more_syncs(void *arg)
{
	return (__atomic_load_n(&sync_calls, __ATOMIC_SEQ_CST) > *(int *)arg);
}

static int
fault_cleared(void *arg)
{
	char *f;

	(void)arg;
	if ((f = store_fault()) == NULL)
		return (1);
	free(f);
	return (0);
}

struct answer {
	int called;
	int ok;
};

static void
answer_cb(void *arg, int ok)
{
	struct answer *a = arg;

	a->called++;
	a->ok = ok;
}

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

int
main(void)
{
	char	       dir[] = "/tmp/test-syncer.XXXXXX", *path, *cmd;
	struct store  *s = NULL;
	struct syncer *y;
	struct answer  a[4], f[1];
	uv_loop_t      loop;
	uint64_t       n0;
	int64_t	       id;
	int	       closed = 0, calls, rc;
	char	      *fault, *cause;

	log_init("test-syncer");
	log_set_level(LOG_LEVEL_WARNING);
	if (mkdtemp(dir) == NULL) {
		tap_bail("mkdtemp: %s", strerror(errno));
	}
	path = xasprintf("%s/s.db", dir);
	if (store_open(path, &s, NULL) != 0) {
		tap_bail("cannot open %s", path);
	}
	uv_loop_init(&loop);
	y = syncer_new(&loop, s);
	memset(a, 0, sizeof a);
	memset(f, 0, sizeof f);

	n0 = store_sync_count(s);
	store_upsert_app(s, "one", &id, NULL);
	syncer_wait(y, answer_cb, &a[0]);
	store_upsert_app(s, "two", &id, NULL);
	syncer_wait(y, answer_cb, &a[1]);
	is_int(a[0].called + a[1].called, 0,
	    "no callback from inside syncer_wait");
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(a[0].called == 1 && a[0].ok == 1 && a[1].called == 1 && a[1].ok == 1,
	    "both waiters are told their commits are on disk");
	is_int((long long)(store_sync_count(s) - n0), 1,
	    "one fsync served the burst");
	ok(store_synced(s, store_sync_mark(s)), "the store says so too");

	n0 = store_sync_count(s);
	syncer_wait(y, answer_cb, &a[2]);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(a[2].called == 1 && a[2].ok == 1 && store_sync_count(s) == n0,
	    "nothing committed since: answered "
	    "without an fsync");

	/* The disk fails a sync: a storage fault, said to /healthz. */
	ok(store_fault() == NULL, "healthy at first");
	__atomic_store_n(&fail_errno, EIO, __ATOMIC_SEQ_CST);
	store_upsert_app(s, "four", &id, NULL);
	syncer_wait(y, answer_cb, &f[0]);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(f[0].called == 1 && f[0].ok == 0, "a failed sync: the waiter gets "
					     "ok 0");
	fault = store_fault();
	ok(fault != NULL &&
		strcmp(fault, "cannot sync: Input/output error") == 0,
	    "a failed sync sets the fault (%s)",
	    fault != NULL ? fault : "none");
	free(fault);
	cause = NULL;
	rc = store_health(s, &cause);
	ok(rc != 0 && cause != NULL &&
		strcmp(cause, "cannot sync: Input/output error") == 0,
	    "store_health fails with the reason (%s)",
	    cause != NULL ? cause : "none");
	free(cause);

	/* Probes go on while it fails, and change nothing. */
	calls = __atomic_load_n(&sync_calls, __ATOMIC_SEQ_CST);
	ok(run_until(&loop, more_syncs, &calls), "the syncer probes the "
						 "disk again on its own");
	fault = store_fault();
	ok(fault != NULL, "a failed probe keeps the fault");
	free(fault);

	/* The disk recovers: the next probe (a commit and a sync) clears
	   it, and a commit made meanwhile is durable. */
	__atomic_store_n(&fail_errno, 0, __ATOMIC_SEQ_CST);
	ok(run_until(&loop, fault_cleared, NULL), "a probe that succeeds "
						  "clears the fault");
	ok(store_health(s, NULL) == 0, "store_health is 0 again");
	ok(store_synced(s, store_sync_mark(s)),
	    "what was committed while "
	    "the sync failed is on disk now");

	store_upsert_app(s, "three", &id, NULL);
	syncer_wait(y, answer_cb, &a[3]);
	syncer_close(y, closed_cb, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(a[3].called == 1 && a[3].ok == 0, "a waiter left at close gets "
					     "ok 0, once");
	ok(closed, "the close callback comes");
	is_int(uv_loop_close(&loop), 0, "no handle left open");

	store_close(s);
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(cmd);
	free(path);
	return (tap_done());
}
