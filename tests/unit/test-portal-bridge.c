/*
 * The portal's bridge onto the loop: a call from another thread runs on
 * the loop's thread and waits for it; a call the loop does not take in
 * time is taken back and never runs; after shutdown calls fail at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "portal-bridge.h"
#include "tap.h"

struct job {
	pthread_t ran_on;
	int	  ran;
	int	  value;
};

struct caller {
	struct portal_bridge *bridge;
	struct job	      job;
	int64_t		      timeout_ms;
	int		      rc;
	uv_async_t	     *done; /* wakes the loop to stop */
};

static pthread_t loop_thread;

static void
job_cb(void *arg)
{
	struct job *j = arg;

	j->ran_on = pthread_self();
	j->ran++;
	j->value *= 2;
}

static void *
caller_main(void *arg)
{
	struct caller *c = arg;

	c->rc = portal_bridge_call(c->bridge, job_cb, &c->job, c->timeout_ms);
	if (c->done != NULL)
		uv_async_send(c->done);
	return (NULL);
}

static void
done_cb(uv_async_t *a)
{
	uv_close((uv_handle_t *)a, NULL);
}

int
main(void)
{
	uv_loop_t	      loop;
	uv_async_t	      done;
	struct portal_bridge *b;
	struct caller	      c;
	pthread_t	      t;
	char		     *cause = NULL;
	int		      i;

	uv_loop_init(&loop);
	loop_thread = pthread_self();
	b = portal_bridge_new(&loop, &cause);
	ok(b != NULL, "a bridge");

	/* The loop runs: the call is taken, on the loop's thread. */
	for (i = 0; i < 3; i++) {
		memset(&c, 0, sizeof c);
		c.bridge = b;
		c.job.value = 21;
		c.timeout_ms = 60000;
		c.done = &done;
		uv_async_init(&loop, &done, done_cb);
		pthread_create(&t, NULL, caller_main, &c);
		uv_run(&loop, UV_RUN_DEFAULT); /* until done closes */
		pthread_join(t, NULL);
		ok(c.rc == 0 && c.job.ran == 1 && c.job.value == 42,
		    "call %d ran once and returned its result", i + 1);
		ok(pthread_equal(c.job.ran_on, loop_thread),
		    "call %d ran on the loop's thread", i + 1);
	}

	/* The loop does not run: taken back, never run. */
	memset(&c, 0, sizeof c);
	c.bridge = b;
	c.timeout_ms = 50;
	pthread_create(&t, NULL, caller_main, &c);
	pthread_join(t, NULL);
	is_int(c.rc, PORTAL_BRIDGE_ETIMEDOUT, "not taken in time: timed out");
	uv_run(&loop, UV_RUN_NOWAIT);
	ok(c.job.ran == 0, "and it never runs afterwards");

	portal_bridge_shutdown(b);
	memset(&c, 0, sizeof c);
	c.bridge = b;
	c.timeout_ms = 60000;
	pthread_create(&t, NULL, caller_main, &c);
	pthread_join(t, NULL);
	is_int(c.rc, PORTAL_BRIDGE_ECLOSED, "after shutdown: refused at once");
	ok(c.job.ran == 0, "nothing ran");

	portal_bridge_close(b);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(uv_loop_close(&loop) == 0, "every handle closed");
	return (tap_done());
}
