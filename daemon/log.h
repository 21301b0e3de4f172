/*
 * Logging: one line per event, a message first and then key=value fields
 * ("change set created app=billing run=42 env=stg").  Under systemd
 * (JOURNAL_STREAM names our stderr) lines carry <N> priority prefixes for
 * journald; otherwise a UTC timestamp and the level name.  Safe to call
 * from any thread.
 */
#ifndef SHIPGATE_LOG_H
#define SHIPGATE_LOG_H

#include <stdarg.h>

/* Levels use syslog's numbers, which journald's <N> prefixes expect. */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Debug categories, switched on one by one (config `log_debug:`, -v). */
enum log_category {
	LOG_CAT_AWS = 1 << 0,
	LOG_CAT_HTTP = 1 << 1,
	LOG_CAT_ENGINE = 1 << 2,
	LOG_CAT_STORE = 1 << 3,
	LOG_CAT_PORTAL = 1 << 4,
	LOG_CAT_CONFIG = 1 << 5,
	LOG_CAT_ALL = 0xff,
};

void log_init(const char *progname);
/* After detaching from the terminal: lines go to syslog(3). */
void log_use_syslog(void);
void log_set_level(enum log_level);
void log_set_debug(unsigned int categories);
/* Name <-> value; -1 or NULL when unknown. */
int	    log_level_from_name(const char *);
const char *log_level_name(enum log_level);
int	    log_category_from_name(const char *);

/* log_warn and fatal append ": strerror(errno)". */
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(enum log_category, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int  log_debug_enabled(enum log_category);
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
