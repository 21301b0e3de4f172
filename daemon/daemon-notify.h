/*
 * Service manager notifications (sd_notify): READY=1, STOPPING=1,
 * RELOADING=1, WATCHDOG=1 and STATUS=.  Without libsystemd, or outside
 * systemd (no NOTIFY_SOCKET), every call is a harmless no-op.
 */
#ifndef SHIPGATE_DAEMON_NOTIFY_H
#define SHIPGATE_DAEMON_NOTIFY_H

#include <stdint.h>

void daemon_notify_ready(const char *status);
void daemon_notify_reloading(void);
void daemon_notify_stopping(void);
void daemon_notify_watchdog(void);
/*
 * The watchdog interval systemd asked for (WATCHDOG_USEC), in
 * microseconds, or 0 when there is none.
 */
uint64_t daemon_notify_watchdog_usec(void);

#endif
