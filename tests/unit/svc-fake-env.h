/*
 * A loop, an HTTP transport and an AWS client pointed at the fake AWS
 * endpoint, for the service modules' tests.  Header-only.
 *
 *	struct svc_env env;
 *	if (svc_env_start(&env, args) != 0) ... fail
 *	... start calls; svc_env_wait(&env, &done);
 *	is_int(svc_env_stop(&env), 0, "uv_loop_close() == 0");
 */
#ifndef SHIPGATE_TEST_SVC_FAKE_ENV_H
#define SHIPGATE_TEST_SVC_FAKE_ENV_H

#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "aws-client.h"
#include "aws-creds.h"
#include "fakeaws.h"
#include "http.h"

struct svc_env {
	uv_loop_t	    loop;
	struct http_client *http;
	struct aws_client  *client;
	struct aws_creds   *creds;
	struct fakeaws	    fake;
	int		    starting;  /* inside a call's start */
	int		    reentered; /* callbacks from inside it */
	int		    stuck;     /* the loop ran dry */
};

static const char *
svc_env_endpoint(const char *service, void *arg)
{
	struct svc_env *env = arg;

	(void)service;
	return (env->fake.url);
}

static __attribute__((unused)) int
svc_env_start(struct svc_env *env, const char *const *args)
{
	struct aws_client_options opts;

	memset(env, 0, sizeof *env);
	if (fakeaws_start_args(&env->fake, args) != 0)
		return (-1);
	uv_loop_init(&env->loop);
	env->http = http_client_new(&env->loop);
	env->creds = aws_creds_static_new(FAKEAWS_ACCESS_KEY_ID,
	    FAKEAWS_SECRET_KEY, NULL, "test");
	memset(&opts, 0, sizeof opts);
	opts.region = FAKEAWS_REGION;
	opts.max_attempts = 3;
	opts.backoff_base_ms = 5;
	opts.backoff_max_ms = 50;
	opts.timeout_ms = 20000;
	opts.endpoint_override = svc_env_endpoint;
	opts.endpoint_arg = env;
	env->client = aws_client_new(&env->loop, env->http, env->creds, &opts);
	return (0);
}

/* Runs the loop until *flag is set (or nothing is left to run). */
static __attribute__((unused)) void
svc_env_wait(struct svc_env *env, const int *flag)
{
	while (!*flag) {
		if (uv_run(&env->loop, UV_RUN_ONCE) == 0 && !*flag) {
			env->stuck++;
			return;
		}
	}
}

/* Marks a callback; counts it if it came from inside its start. */
static __attribute__((unused)) void
svc_env_called(struct svc_env *env)
{
	if (env->starting)
		env->reentered++;
}

static void
svc_env_closed_cb(void *arg)
{
	*(int *)arg = 1;
}

/* Frees everything; returns uv_loop_close()'s result. */
static __attribute__((unused)) int
svc_env_stop(struct svc_env *env)
{
	int closed = 0, rc;

	aws_client_free(env->client);
	while (uv_run(&env->loop, UV_RUN_NOWAIT) != 0)
		;
	http_client_close(env->http, svc_env_closed_cb, &closed);
	while (!closed)
		if (uv_run(&env->loop, UV_RUN_ONCE) == 0)
			break;
	aws_creds_free(env->creds);
	rc = uv_loop_close(&env->loop);
	fakeaws_stop(&env->fake);
	return (rc);
}

static __attribute__((unused)) void
svc_env_sleep_ms(long ms)
{
	usleep((useconds_t)ms * 1000);
}

#endif
