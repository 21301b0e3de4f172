/*
 * Calls from the portal's threads onto the daemon's libuv loop: the
 * portal never touches loop objects (the engine, the AWS client) itself;
 * it hands a function to the loop and waits for it.
 *
 * portal_bridge_call queues fn(arg), wakes the loop (uv_async_send) and
 * waits.  If the loop has not started fn within timeout_ms, fn is taken
 * back and never runs (PORTAL_BRIDGE_ETIMEDOUT); once started, the call
 * waits until fn returns (fns are short: a store transaction, a copy of
 * counters), so arg may live on the caller's stack.
 *
 * The bridge is made and closed on the loop.  portal_bridge_shutdown
 * (on the loop) fails every queued call and every later one with
 * PORTAL_BRIDGE_ECLOSED, so the portal's threads can be joined from the
 * loop without waiting for it; portal_bridge_close then closes the
 * uv_async handle and frees the bridge from its close callback.
 */
#ifndef SHIPGATE_PORTAL_BRIDGE_H
#define SHIPGATE_PORTAL_BRIDGE_H

#include <stdint.h>

#include <uv.h>

#define PORTAL_BRIDGE_ETIMEDOUT (-1)
#define PORTAL_BRIDGE_ECLOSED	(-2)

struct portal_bridge;

/* On the loop; NULL with *cause (caller frees) when libuv refuses. */
struct portal_bridge *portal_bridge_new(uv_loop_t *, char **cause);
/* From any thread but the loop's: 0 when fn ran. */
int portal_bridge_call(struct portal_bridge *, void (*fn)(void *), void *arg,
    int64_t timeout_ms);
/* On the loop: refuses calls from now on. */
void portal_bridge_shutdown(struct portal_bridge *);
/* On the loop, after shutdown and once no thread can call any more. */
void portal_bridge_close(struct portal_bridge *);

#endif
