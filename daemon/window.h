/*
 * Deploy windows and freezes: when an approved stage may start executing.
 * Pure computation over a time zone read once from the system's tz
 * database (TZif files under /usr/share/zoneinfo, or $TZDIR).
 *
 * Why not setenv("TZ") + tzset + localtime_r: TZ is process-global and the
 * portal's threads read the environment and the C library's zone at the
 * same time; changing it under them is a data race.  A zone here is a
 * value: its transitions and the POSIX rule of its footer (RFC 8536), so
 * "what is the local time in Europe/Paris at this instant" is a function
 * of its arguments, testable with tables, DST days included.
 */
#ifndef SHIPGATE_WINDOW_H
#define SHIPGATE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct window_zone;

/* Reads zone NAME (e.g. "Europe/Paris", "UTC") from $TZDIR or
 * /usr/share/zoneinfo.  NULL with *cause when the name is not a zone
 * name or its file is missing or unreadable. */
struct window_zone *window_zone_load(const char *name, char **cause);
/* The same from a TZif file's bytes (pure: the fuzzer's and tests'). */
struct window_zone *window_zone_parse(const char *name,
    const unsigned char *data, size_t len, char **cause);
void		    window_zone_free(struct window_zone *);
const char	   *window_zone_name(const struct window_zone *);
/* The UTC offset in seconds at unix time t (seconds).  Here and in the
 * local time functions below, a NULL zone is UTC. */
int32_t window_zone_offset(const struct window_zone *, int64_t t);

/* A local date and time. */
struct window_local {
	int	year;
	int	month;	/* 1-12 */
	int	day;	/* 1-31 */
	int	wday;	/* 0 Sunday .. 6 Saturday */
	int	minute; /* of the day, 0-1439 */
	int32_t offset; /* seconds east of UTC */
};
void window_local_of(const struct window_zone *, int64_t ms,
    struct window_local *);
/* The first instant (ms) whose local time is at or after the given local
 * date and minute: a time skipped by a DST change gives the instant the
 * clocks jumped, a repeated one its first occurrence. */
int64_t window_local_to_ms(const struct window_zone *, int year, int month,
    int day, int minute);
/* "2026-03-30 09:00 CEST (UTC+02:00)" style, into buf. */
void window_format(const struct window_zone *, int64_t ms, char *buf,
    size_t len);
/* Reads window_format's text at the start of s: 0 with the instant and
 * *len the bytes it takes, or -1 (pure: the portal's). */
int window_parse_format(const char *s, int64_t *ms, size_t *len);

/* One opening: on days (bit 0 Sunday .. bit 6 Saturday), from minute
 * `from` to minute `to` (exclusive, up to 1440) of the day, local time in
 * zone. */
struct window_span {
	unsigned int		  days;
	int			  from;
	int			  to;
	const struct window_zone *zone;
};

/* No execution may start in [from_ms, to_ms). */
struct window_freeze {
	int64_t	    from_ms;
	int64_t	    to_ms;
	const char *reason;
};

/* How far window_next_open looks ahead. */
#define WINDOW_HORIZON_MS (400LL * 24 * 3600 * 1000)

/* Whether an execution may start at ms: inside one of spans (none: any
 * time) and inside no freeze.  *frozen (may be NULL) is set to the freeze
 * that closes it, if one does. */
int window_is_open(const struct window_span *, size_t,
    const struct window_freeze *, size_t, int64_t ms,
    const struct window_freeze **frozen);
/* The first instant at or after ms (to the minute) when an execution may
 * start; -1 when there is none within WINDOW_HORIZON_MS. */
int64_t window_next_open(const struct window_span *, size_t,
    const struct window_freeze *, size_t, int64_t ms);

/* Parsers of the configuration's words.  0, or -1 (and *cause). */
int window_parse_days(const char *, unsigned int *, char **cause);
int window_parse_time(const char *, int *minute, char **cause);
/* YYYY-MM-DD into days since 1970-01-01. */
int window_parse_date(const char *, int64_t *days, char **cause);
/* days since 1970-01-01 into its date. */
void window_civil(int64_t days, int *year, int *month, int *day);
int  window_zone_name_ok(const char *);

#endif
