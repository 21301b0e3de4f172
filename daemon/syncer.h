/*
 * Durability without blocking the loop.  syncer_wait calls back once
 * every commit made so far on the store is on disk (store_sync's
 * promise): the fdatasync of the write-ahead log runs on libuv's thread
 * pool while the loop goes on, and the waiters that come meanwhile share
 * the next one, so a burst of transitions costs one or two fsyncs, not
 * one each.
 *
 * The callback comes exactly once, from the loop, never from inside
 * syncer_wait: ok 1 when durable, 0 when the sync failed (logged) or the
 * syncer is closing.
 */
#ifndef SHIPGATE_SYNCER_H
#define SHIPGATE_SYNCER_H

#include <uv.h>

struct store;
struct syncer;

typedef void (*syncer_cb)(void *arg, int ok);

/* The store is borrowed and used on the loop's thread only. */
struct syncer *syncer_new(uv_loop_t *, struct store *);
void	       syncer_wait(struct syncer *, syncer_cb, void *arg);
/*
 * Waiters not yet answered get ok 0 (from inside syncer_close when no
 * sync is in flight, else when it ends); then cb (once, from the loop)
 * and the syncer is freed.
 */
void syncer_close(struct syncer *, void (*cb)(void *), void *arg);

#endif
