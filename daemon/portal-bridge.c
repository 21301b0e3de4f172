/*
 * Calls from the portal's threads onto the loop (see portal-bridge.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "portal-bridge.h"
#include "xmalloc.h"

enum portal_job_state {
	PORTAL_JOB_QUEUED,
	PORTAL_JOB_RUNNING,
	PORTAL_JOB_DONE,
	PORTAL_JOB_FAILED, /* the bridge shut down first */
};

struct portal_job {
	void (*fn)(void *);
	void		     *arg;
	enum portal_job_state state;
	struct portal_job    *next;
};

struct portal_bridge {
	uv_async_t	   async;
	pthread_mutex_t	   lock;
	pthread_cond_t	   cond; /* a job's state changed */
	struct portal_job *head, *tail;
	int		   closed;
};

static void
portal_bridge_async_cb(uv_async_t *async)
{
	struct portal_bridge *b = async->data;
	struct portal_job    *job;

	pthread_mutex_lock(&b->lock);
	while ((job = b->head) != NULL) {
		b->head = job->next;
		if (b->head == NULL)
			b->tail = NULL;
		job->state = PORTAL_JOB_RUNNING;
		pthread_mutex_unlock(&b->lock);
		job->fn(job->arg);
		pthread_mutex_lock(&b->lock);
		job->state = PORTAL_JOB_DONE;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
}

struct portal_bridge *
portal_bridge_new(uv_loop_t *loop, char **cause)
{
	struct portal_bridge *b;
	pthread_condattr_t    attr;
	int		      rc;

	b = xcalloc(1, sizeof *b);
	if ((rc = uv_async_init(loop, &b->async, portal_bridge_async_cb)) !=
	    0) {
		*cause = xasprintf("uv_async_init: %s", uv_strerror(rc));
		free(b);
		return (NULL);
	}
	b->async.data = b;
	/* Waiting for calls is no reason for the loop to keep running. */
	uv_unref((uv_handle_t *)&b->async);
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &attr);
	pthread_condattr_destroy(&attr);
	return (b);
}

/* Removes a queued job; 1 if it was there. */
static int
portal_bridge_unqueue(struct portal_bridge *b, struct portal_job *job)
{
	struct portal_job **pp, *prev = NULL;

	for (pp = &b->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != job)
			continue;
		*pp = job->next;
		if (b->tail == job)
			b->tail = prev;
		return (1);
	}
	return (0);
}

int
portal_bridge_call(struct portal_bridge *b, void (*fn)(void *), void *arg,
    int64_t timeout_ms)
{
	struct portal_job job;
	struct timespec	  deadline;
	int		  rc = 0;

	memset(&job, 0, sizeof job);
	job.fn = fn;
	job.arg = arg;
	job.state = PORTAL_JOB_QUEUED;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&b->lock);
	if (b->closed) {
		pthread_mutex_unlock(&b->lock);
		return (PORTAL_BRIDGE_ECLOSED);
	}
	if (b->tail != NULL)
		b->tail->next = &job;
	else
		b->head = &job;
	b->tail = &job;
	uv_async_send(&b->async);
	while (
	    job.state == PORTAL_JOB_QUEUED || job.state == PORTAL_JOB_RUNNING) {
		if (job.state == PORTAL_JOB_RUNNING) {
			pthread_cond_wait(&b->cond, &b->lock);
			continue;
		}
		if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) ==
			ETIMEDOUT &&
		    job.state == PORTAL_JOB_QUEUED) {
			portal_bridge_unqueue(b, &job);
			rc = PORTAL_BRIDGE_ETIMEDOUT;
			break;
		}
	}
	if (job.state == PORTAL_JOB_FAILED)
		rc = PORTAL_BRIDGE_ECLOSED;
	pthread_mutex_unlock(&b->lock);
	return (rc);
}

void
portal_bridge_shutdown(struct portal_bridge *b)
{
	struct portal_job *job;

	pthread_mutex_lock(&b->lock);
	b->closed = 1;
	while ((job = b->head) != NULL) {
		b->head = job->next;
		job->state = PORTAL_JOB_FAILED;
	}
	b->tail = NULL;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void
portal_bridge_close_cb(uv_handle_t *h)
{
	struct portal_bridge *b = h->data;

	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

void
portal_bridge_close(struct portal_bridge *b)
{
	portal_bridge_shutdown(b);
	uv_close((uv_handle_t *)&b->async, portal_bridge_close_cb);
}
