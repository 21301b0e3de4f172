/*
 * A small shipgated stand-in for shipgatectl's end-to-end test
 * (tests/integration/test-control.sh): the real control socket on a
 * loop, a seeded store and the fake handlers of control-fake.h, which
 * log each call to DIR/calls.log.
 *
 *	control-test-server DIR		socket DIR/control.sock, store
 *					DIR/shipgate.db; "ready" on stdout
 *
 * DIR/shipgate.yaml, when it loads, says who the peers are (users[]'s
 * unix_user and unix_uid, control_admin_group); the socket is made
 * usable by every uid, so that a test may connect as several.
 *
 * Stops on SIGTERM; exits 3 if a handle was left open.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "config.h"
#include "control-fake.h"
#include "control.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

struct server {
	struct control *control;
	uv_signal_t	sigterm;
};

static void
server_closed_cb(void *arg)
{
	struct server *sv = arg;

	uv_close((uv_handle_t *)&sv->sigterm, NULL);
}

static void
server_signal_cb(uv_signal_t *h, int signum)
{
	struct server *sv = h->data;

	uv_signal_stop(h);
	control_close(sv->control, server_closed_cb, sv);
}

int
main(int argc, char **argv)
{
	struct server	     sv;
	struct config_errors errors = { 0 };
	struct config	    *config;
	struct store	    *store;
	uv_loop_t	     loop;
	char  *dbpath, *sockpath, *logpath, *confpath, *cause = NULL;
	size_t i;
	int    rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: control-test-server DIR\n");
		return (2);
	}
	log_init("control-test-server");
	signal(SIGPIPE, SIG_IGN);
	dbpath = xasprintf("%s/shipgate.db", argv[1]);
	sockpath = xasprintf("%s/control.sock", argv[1]);
	logpath = xasprintf("%s/calls.log", argv[1]);
	if ((fake_call.log = fopen(logpath, "a")) == NULL) {
		perror(logpath);
		return (1);
	}
	if (fake_seed(dbpath, &store) != 0) {
		fprintf(stderr, "cannot seed %s\n", dbpath);
		return (1);
	}
	uv_loop_init(&loop);
	sv.control = control_new(&loop, sockpath, store, fake_act, NULL,
	    &cause);
	if (sv.control == NULL) {
		fprintf(stderr, "control_new: %s\n", cause);
		free(cause);
		store_close(store);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return (1);
	}
	/* Who the peers are, and a socket any uid may use (the test runs
	 * shipgatectl under several uids). */
	confpath = xasprintf("%s/shipgate.yaml", argv[1]);
	if ((config = config_load(confpath, &errors)) == NULL) {
		for (i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		config_errors_free(&errors);
	} else
		control_set_config(sv.control, config);
	free(confpath);
	chmod(sockpath, 0666);
	uv_signal_init(&loop, &sv.sigterm);
	sv.sigterm.data = &sv;
	uv_signal_start(&sv.sigterm, server_signal_cb, SIGTERM);
	printf("ready\n");
	fflush(stdout);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0) {
		fprintf(stderr, "a handle was left open\n");
		rc = 3;
	}
	store_close(store);
	if (config != NULL)
		config_free(config);
	fake_call_clear();
	fclose(fake_call.log);
	free(dbpath);
	free(sockpath);
	free(logpath);
	return (rc);
}
