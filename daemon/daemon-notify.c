/*
 * sd_notify glue, kept apart so nothing else cares whether libsystemd is
 * linked in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon-notify.h"
#include "log.h"

static void
daemon_notify_send(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	int rc;

	if ((rc = sd_notify(0, state)) < 0)
		log_warnx("sd_notify failed state=%s rc=%d", state, rc);
#else
	(void)state;
#endif
}

void
daemon_notify_ready(const char *status)
{
	char state[512];

	snprintf(state, sizeof state, "READY=1\nSTATUS=%s",
	    status != NULL ? status : "ready");
	daemon_notify_send(state);
}

void
daemon_notify_reloading(void)
{
#ifdef HAVE_LIBSYSTEMD
	struct timespec ts;
	char		state[128];

	/* Type=notify-reload wants the monotonic time with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
		(unsigned long long)ts.tv_nsec / 1000ULL);
	daemon_notify_send(state);
#endif
}

void
daemon_notify_stopping(void)
{
	daemon_notify_send("STOPPING=1");
}

void
daemon_notify_watchdog(void)
{
	daemon_notify_send("WATCHDOG=1");
}

uint64_t
daemon_notify_watchdog_usec(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (usec);
#endif
	return (0);
}
