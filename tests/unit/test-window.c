/*
 * Deploy windows as tables: UTC offsets read from the system's tz
 * database (transitions and the POSIX footer beyond 2037), local times
 * on DST change days in Europe/Paris (last Sunday of March and October),
 * the next opening time with freezes, and the configuration's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "window.h"

/* "YYYY-MM-DDTHH:MM:SSZ" in unix ms (the test's own reading). */
static int64_t
utc(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t)timegm(&tm) * 1000);
}

static struct window_zone *
zone(const char *name)
{
	struct window_zone *z;
	char		   *cause = NULL;

	if ((z = window_zone_load(name, &cause)) == NULL) {
		tap_diag("%s", cause);
		abort(); /* a fixture that cannot start fails */
	}
	return (z);
}

static const struct {
	const char *zone;
	const char *at;
	int32_t	    offset;
} offsets[] = {
	{ "Europe/Paris", "2026-03-29T00:59:59Z", 3600 },
	{ "Europe/Paris", "2026-03-29T01:00:00Z", 7200 },
	{ "Europe/Paris", "2026-10-25T00:59:59Z", 7200 },
	{ "Europe/Paris", "2026-10-25T01:00:00Z", 3600 },
	{ "Europe/Paris", "2026-12-08T12:00:00Z", 3600 },
	/* Beyond the file's transitions: the footer's rule. */
	{ "Europe/Paris", "2040-03-25T00:59:59Z", 3600 },
	{ "Europe/Paris", "2040-03-25T01:00:00Z", 7200 },
	{ "Europe/Paris", "2040-10-28T00:59:59Z", 7200 },
	{ "Europe/Paris", "2040-10-28T01:00:00Z", 3600 },
	{ "America/New_York", "2026-03-08T06:59:59Z", -18000 },
	{ "America/New_York", "2026-03-08T07:00:00Z", -14400 },
	{ "America/New_York", "2041-03-10T07:00:00Z", -14400 },
	{ "America/New_York", "2041-03-10T06:59:59Z", -18000 },
	/* Southern hemisphere: summer across the new year. */
	{ "Australia/Sydney", "2026-01-15T00:00:00Z", 39600 },
	{ "Australia/Sydney", "2026-07-01T00:00:00Z", 36000 },
	{ "Australia/Sydney", "2045-01-15T00:00:00Z", 39600 },
	{ "Australia/Sydney", "2045-07-01T00:00:00Z", 36000 },
	{ "UTC", "2026-07-01T00:00:00Z", 0 },
	{ "Asia/Kolkata", "2026-07-01T00:00:00Z", 19800 },
};

/* Local time to UTC on the change days: a skipped time gives the
 * instant of the jump, a repeated one its first occurrence. */
static const struct {
	int	    y, m, d, minute;
	const char *want;
} locals[] = {
	{ 2026, 3, 28, 9 * 60, "2026-03-28T08:00:00Z" },
	{ 2026, 3, 29, 1 * 60 + 59, "2026-03-29T00:59:00Z" },
	{ 2026, 3, 29, 2 * 60 + 30, "2026-03-29T01:00:00Z" }, /* skipped */
	{ 2026, 3, 29, 3 * 60, "2026-03-29T01:00:00Z" },
	{ 2026, 3, 29, 9 * 60, "2026-03-29T07:00:00Z" },
	{ 2026, 10, 25, 2 * 60 + 30, "2026-10-25T00:30:00Z" }, /* twice */
	{ 2026, 10, 25, 3 * 60, "2026-10-25T02:00:00Z" },
	{ 2026, 10, 25, 9 * 60, "2026-10-25T08:00:00Z" },
	{ 2026, 12, 20, 0, "2026-12-19T23:00:00Z" },
	{ 2041, 3, 31, 2 * 60 + 30, "2041-03-31T01:00:00Z" }, /* footer */
};

#define MON_THU 0x1e
#define DAILY	0x7f
#define SUN	0x01

static const struct {
	const char  *name;
	unsigned int days;
	int	     from, to;
	const char  *now;
	const char  *want;   /* NULL: never (within the horizon) */
	int	     freeze; /* which freeze applies, see below */
} nexts[] = {
	{ "inside: now", MON_THU, 540, 1050, "2026-12-14T10:00:00Z",
	    "2026-12-14T10:00:00Z", 0 },
	{ "friday: next monday 09:00 CET", MON_THU, 540, 1050,
	    "2026-12-11T12:00:00Z", "2026-12-14T08:00:00Z", 0 },
	{ "at the closing minute: next day", MON_THU, 540, 1050,
	    "2026-12-14T16:30:00Z", "2026-12-15T08:00:00Z", 0 },
	{ "one minute before closing: now", MON_THU, 540, 1050,
	    "2026-12-14T16:29:00Z", "2026-12-14T16:29:00Z", 0 },
	{ "thursday night: next monday", MON_THU, 540, 1050,
	    "2026-12-17T20:00:00Z", "2026-12-21T08:00:00Z", 0 },
	{ "seconds: the next whole minute", DAILY, 540, 1050,
	    "2026-12-14T07:59:30Z", "2026-12-14T08:00:00Z", 0 },
	{ "spring forward: 02:00-04:00 opens at 03:00 CEST", DAILY, 120, 240,
	    "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", 0 },
	{ "spring forward: sunday 09:00 is 07:00Z", SUN, 540, 600,
	    "2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z", 0 },
	{ "fall back: sunday 09:00 is 08:00Z", SUN, 540, 600,
	    "2026-10-24T12:00:00Z", "2026-10-25T08:00:00Z", 0 },
	{ "fall back: 02:00-03:00 open at the first 02:00", DAILY, 120, 180,
	    "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", 0 },
	{ "fall back: the repeated hour is open too", DAILY, 120, 180,
	    "2026-10-25T01:30:00Z", "2026-10-25T01:30:00Z", 0 },
	{ "year-end freeze: the first monday after", MON_THU, 540, 1050,
	    "2026-12-21T10:00:00Z", "2027-01-04T08:00:00Z", 1 },
	{ "before the freeze: now", MON_THU, 540, 1050, "2026-12-17T10:00:00Z",
	    "2026-12-17T10:00:00Z", 1 },
	{ "freeze ending within a window: its end", MON_THU, 540, 1050,
	    "2026-12-14T09:00:00Z", "2026-12-14T10:17:30Z", 2 },
	{ "freeze over the horizon: never", MON_THU, 540, 1050,
	    "2026-12-14T09:00:00Z", NULL, 3 },
};

int
main(void)
{
	struct window_zone  *paris, *z;
	struct window_span   span;
	struct window_freeze freezes[4];
	struct window_local  l;
	char		    *cause = NULL, buf[128];
	unsigned int	     days;
	int64_t		     d, got;
	size_t		     i;
	int		     minute, y, m, dd;

	for (i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		z = zone(offsets[i].zone);
		is_int(window_zone_offset(z, utc(offsets[i].at) / 1000),
		    offsets[i].offset, "offset %s at %s", offsets[i].zone,
		    offsets[i].at);
		window_zone_free(z);
	}

	paris = zone("Europe/Paris");
	for (i = 0; i < sizeof locals / sizeof locals[0]; i++)
		is_int(window_local_to_ms(paris, locals[i].y, locals[i].m,
			   locals[i].d, locals[i].minute),
		    utc(locals[i].want), "Paris %04d-%02d-%02d %02d:%02d is %s",
		    locals[i].y, locals[i].m, locals[i].d,
		    locals[i].minute / 60, locals[i].minute % 60,
		    locals[i].want);

	window_local_of(paris, utc("2026-12-14T08:00:00Z"), &l);
	ok(l.year == 2026 && l.month == 12 && l.day == 14 && l.wday == 1 &&
		l.minute == 540 && l.offset == 3600,
	    "local time of a monday");
	window_format(paris, utc("2026-03-29T07:00:00Z"), buf, sizeof buf);
	is_str(buf, "2026-03-29 09:00 Europe/Paris (UTC+02:00)",
	    "formatted in summer time");
	window_format(NULL, utc("2026-03-29T07:00:00Z"), buf, sizeof buf);
	is_str(buf, "2026-03-29 07:00 UTC (UTC+00:00)", "no zone is UTC");
	{
		/* The portal reads the instant back from a reason. */
		static const char *const bad[] = { "2026-03-29 09:00",
			"2026-03-29 09:00 Europe/Paris",
			"2026-13-29 09:00 X "
			"(UTC+02:00)",
			"2026-03-29 9:00 X (UTC+02:00)",
			"2026-03-29 09:00 X (UTC02:00)", "" };
		struct window_zone	*ny = zone("America/New_York");
		size_t			 n, k;

		window_format(paris, utc("2026-03-29T07:00:00Z"), buf,
		    sizeof buf);
		n = strlen(buf);
		snprintf(buf + n, sizeof buf - n, ": year-end");
		ok(window_parse_format(buf, &got, &n) == 0 &&
			got == utc("2026-03-29T07:00:00Z") &&
			strcmp(buf + n, ": year-end") == 0,
		    "window_format's text read back, summer time");
		window_format(ny, utc("2026-12-14T15:30:00Z"), buf, sizeof buf);
		ok(window_parse_format(buf, &got, &n) == 0 &&
			got == utc("2026-12-14T15:30:00Z") && n == strlen(buf),
		    "window_format's text read back, west of UTC (%s)", buf);
		for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
			ok(window_parse_format(bad[k], &got, &n) == -1,
			    "not window_format's text: \"%s\"", bad[k]);
		window_zone_free(ny);
	}

	/* Freeze 1: the year-end freeze, 2026-12-20 to 2027-01-03 whole
	   days in Paris.  2: ends at 10:17:30Z.  3: longer than the
	   horizon. */
	memset(freezes, 0, sizeof freezes);
	freezes[1].from_ms = window_local_to_ms(paris, 2026, 12, 20, 0);
	freezes[1].to_ms = window_local_to_ms(paris, 2027, 1, 4, 0);
	freezes[2].from_ms = utc("2026-12-14T00:00:00Z");
	freezes[2].to_ms = utc("2026-12-14T10:17:30Z");
	freezes[3].from_ms = utc("2026-12-01T00:00:00Z");
	freezes[3].to_ms = utc("2028-12-01T00:00:00Z");
	for (i = 0; i < sizeof nexts / sizeof nexts[0]; i++) {
		span.days = nexts[i].days;
		span.from = nexts[i].from;
		span.to = nexts[i].to;
		span.zone = paris;
		got = window_next_open(&span, 1,
		    nexts[i].freeze != 0 ? &freezes[nexts[i].freeze] : NULL,
		    nexts[i].freeze != 0, utc(nexts[i].now));
		is_int(got, nexts[i].want != NULL ? utc(nexts[i].want) : -1,
		    "next opening: %s", nexts[i].name);
	}
	ok(window_is_open(NULL, 0, NULL, 0, utc("2026-12-13T03:00:00Z"), NULL),
	    "no windows: always open");
	ok(!window_is_open(NULL, 0, &freezes[1], 1, utc("2026-12-25T03:00:00Z"),
	       NULL),
	    "no windows: freezes hold");
	span.days = SUN;
	span.from = 0;
	span.to = 1440;
	ok(window_is_open(&span, 1, NULL, 0, utc("2026-12-13T22:59:00Z"),
	       NULL) &&
		!window_is_open(&span, 1, NULL, 0, utc("2026-12-13T23:00:00Z"),
		    NULL),
	    "24:00 closes at midnight");

	/* The configuration's words. */
	is_int(window_parse_days("mon-thu", &days, NULL), 0, "days mon-thu");
	is_int(days, MON_THU, "mon-thu is monday to thursday");
	window_parse_days("fri-mon", &days, NULL);
	is_int(days, 0x63, "fri-mon wraps over the weekend");
	window_parse_days("mon,wed,fri", &days, NULL);
	is_int(days, 0x2a, "a list of days");
	window_parse_days("daily", &days, NULL);
	is_int(days, DAILY, "daily");
	is_int(window_parse_days("mon-", &days, &cause), -1, "mon- refused");
	is_str(cause,
	    "invalid days \"mon-\" (write e.g. mon-fri, "
	    "mon,wed,fri or daily)",
	    "days error says what to write");
	free(cause);
	cause = NULL;
	ok(window_parse_days("mon,,tue", &days, NULL) == -1 &&
		window_parse_days("", &days, NULL) == -1 &&
		window_parse_days("monday", &days, NULL) == -1 &&
		window_parse_days("mon,", &days, NULL) == -1,
	    "bad days refused");
	ok(window_parse_time("09:00", &minute, NULL) == 0 && minute == 540,
	    "time 09:00");
	ok(window_parse_time("24:00", &minute, NULL) == 0 && minute == 1440,
	    "time 24:00");
	ok(window_parse_time("24:01", &minute, NULL) == -1 &&
		window_parse_time("9:00", &minute, NULL) == -1 &&
		window_parse_time("09:60", &minute, NULL) == -1,
	    "bad times");
	ok(window_parse_date("2028-02-29", &d, NULL) == 0, "leap day");
	window_civil(d, &y, &m, &dd);
	ok(y == 2028 && m == 2 && dd == 29, "date and days agree");
	ok(window_parse_date("2026-02-29", &d, NULL) == -1 &&
		window_parse_date("2026-1-01", &d, NULL) == -1,
	    "bad dates");

	ok(window_zone_load("Nowhere/City", &cause) == NULL, "unknown zone");
	ok(cause != NULL &&
		strstr(cause, "unknown time zone \"Nowhere/City\"") != NULL,
	    "unknown zone named");
	free(cause);
	cause = NULL;
	ok(window_zone_load("../../etc/passwd", &cause) == NULL &&
		cause != NULL,
	    "a path is not a zone name");
	free(cause);
	cause = NULL;
	ok(window_zone_parse("x", (const unsigned char *)"TZif2", 5, &cause) ==
		    NULL &&
		cause != NULL,
	    "a truncated file is refused");
	free(cause);

	window_zone_free(paris);
	return (tap_done());
}
