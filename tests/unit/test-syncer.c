/*
 * syncer: callbacks once the commits are on disk, never from inside
 * syncer_wait, one fsync shared by the waiters of a burst, none when
 * nothing was committed, and ok 0 for the waiters left at close.
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

struct answer {
	int	 called;
	int	 ok;
};

static void
answer_cb(void *arg, int ok)
{
	struct answer	*a = arg;

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
	char		 dir[] = "/tmp/test-syncer.XXXXXX", *path, *cmd;
	struct store	*s = NULL;
	struct syncer	*y;
	struct answer	 a[4];
	uv_loop_t	 loop;
	uint64_t	 n0;
	int64_t		 id;
	int		 closed = 0;

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

	n0 = store_sync_count(s);
	store_upsert_app(s, "one", &id, NULL);
	syncer_wait(y, answer_cb, &a[0]);
	store_upsert_app(s, "two", &id, NULL);
	syncer_wait(y, answer_cb, &a[1]);
	is_int(a[0].called + a[1].called, 0,
	    "no callback from inside syncer_wait");
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(a[0].called == 1 && a[0].ok == 1 && a[1].called == 1 &&
	    a[1].ok == 1, "both waiters are told their commits are on disk");
	is_int((long long)(store_sync_count(s) - n0), 1,
	    "one fsync served the burst");
	ok(store_synced(s, store_sync_mark(s)), "the store says so too");

	n0 = store_sync_count(s);
	syncer_wait(y, answer_cb, &a[2]);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(a[2].called == 1 && a[2].ok == 1 &&
	    store_sync_count(s) == n0, "nothing committed since: answered "
	    "without an fsync");

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
