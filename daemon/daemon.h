/*
 * shipgated's life cycle on one libuv loop: open the store, start the
 * listeners and the engine, tell systemd we are ready, ping its watchdog
 * from the loop, re-read the configuration on SIGHUP (keeping the old one
 * when the new one is wrong), and on SIGTERM/SIGINT stop taking work, let
 * in-flight transitions commit, close the store and return.
 */
#ifndef SHIPGATE_DAEMON_H
#define SHIPGATE_DAEMON_H

struct config;

struct daemon_options {
	const char *config_path;
	int	    verbose; /* -v given: keep debug logging on reload */
};

/*
 * Runs until asked to stop.  Takes ownership of `config`.  Returns 0 after
 * a clean stop, 1 when start-up failed (the reason is logged).
 */
int daemon_run(struct config *config, const struct daemon_options *);

#endif
