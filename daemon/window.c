/*
 * Deploy windows and freezes (window.h): a reader of the tz database's
 * TZif files (RFC 8536: version 2+ data and the POSIX TZ footer) and the
 * pure computation of "may it start now, and if not, when".
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "window.h"
#include "xmalloc.h"

#define WINDOW_ZONE_MAX_FILE   (256 * 1024)
#define WINDOW_MAX_TRANSITIONS 4096
#define WINDOW_MAX_TYPES       256

/* A POSIX TZ rule's date: Mm.w.d at a time (seconds after local
 * midnight, may be negative or beyond a day). */
struct window_rule_date {
	int	month;
	int	week; /* 1-5, 5: the last */
	int	wday;
	int32_t time;
};

struct window_zone {
	char	*name;
	int64_t *times; /* transitions, ascending */
	uint8_t *idx;	/* their types */
	size_t	 ntimes;
	int32_t *offsets; /* of each type */
	size_t	 ntypes;
	/* The footer: after the last transition. */
	int			has_rule;   /* 0: the last type holds */
	int32_t			std_offset; /* east of UTC */
	int32_t			dst_offset;
	int			has_dst;
	struct window_rule_date start; /* in standard time */
	struct window_rule_date end;   /* in daylight time */
	char			std_abbr[16];
	char			dst_abbr[16];
};

static int
window_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/* --- Calendar: Howard Hinnant's civil algorithms, proleptic Gregorian. */

static int64_t
window_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

void
window_civil(int64_t z, int *year, int *month, int *day)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	*year = (int)(y + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

static int64_t
window_floor_div(int64_t a, int64_t b)
{
	return (a / b - (a % b != 0 && ((a < 0) != (b < 0))));
}

static int
window_month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return (29);
	return (days[m - 1]);
}

/* --- The POSIX TZ footer --------------------------------------------- */

static const char *
window_tz_abbr(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p == '<') {
		p++;
		while (*p != '\0' && *p != '>') {
			if (n + 1 < len)
				out[n++] = *p;
			p++;
		}
		if (*p != '>')
			return (NULL);
		p++;
	} else {
		while (isalpha((unsigned char)*p)) {
			if (n + 1 < len)
				out[n++] = *p;
			p++;
		}
		if (n < 3)
			return (NULL);
	}
	out[n] = '\0';
	return (p);
}

/* [+-]hh[:mm[:ss]] into seconds. */
static const char *
window_tz_time(const char *p, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0, n;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return (NULL);
	for (n = 0; isdigit((unsigned char)*p) && n < 3; n++)
		h = h * 10 + (*p++ - '0');
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]))
			return (NULL);
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (!isdigit((unsigned char)p[0]) ||
			    !isdigit((unsigned char)p[1]))
				return (NULL);
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	if (h > 167 || m > 59 || s > 59)
		return (NULL);
	*out = sign * (h * 3600 + m * 60 + s);
	return (p);
}

static const char *
window_tz_date(const char *p, struct window_rule_date *d)
{
	char *end;
	long  m, w, wd;

	/* Only the Mm.w.d form: the tz database writes no other today. */
	if (*p++ != 'M')
		return (NULL);
	m = strtol(p, &end, 10);
	if (end == p || *end != '.' || m < 1 || m > 12)
		return (NULL);
	p = end + 1;
	w = strtol(p, &end, 10);
	if (end == p || *end != '.' || w < 1 || w > 5)
		return (NULL);
	p = end + 1;
	wd = strtol(p, &end, 10);
	if (end == p || wd < 0 || wd > 6)
		return (NULL);
	p = end;
	d->month = (int)m;
	d->week = (int)w;
	d->wday = (int)wd;
	d->time = 7200;
	if (*p == '/' && (p = window_tz_time(p + 1, &d->time)) == NULL)
		return (NULL);
	return (p);
}

/* A footer we cannot read leaves the last transition's type in force:
 * zones whose rules need more are named as unsupported at load. */
static int
window_tz_rule(struct window_zone *z, const char *p)
{
	int32_t off;

	if ((p = window_tz_abbr(p, z->std_abbr, sizeof z->std_abbr)) == NULL ||
	    (p = window_tz_time(p, &off)) == NULL)
		return (-1);
	z->std_offset = -off;
	if (*p == '\0') {
		z->has_rule = 1;
		return (0);
	}
	if ((p = window_tz_abbr(p, z->dst_abbr, sizeof z->dst_abbr)) == NULL)
		return (-1);
	z->dst_offset = z->std_offset + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = window_tz_time(p, &off)) == NULL)
			return (-1);
		z->dst_offset = -off;
	}
	if (*p++ != ',' || (p = window_tz_date(p, &z->start)) == NULL ||
	    *p++ != ',' || (p = window_tz_date(p, &z->end)) == NULL ||
	    *p != '\0')
		return (-1);
	z->has_dst = 1;
	z->has_rule = 1;
	return (0);
}

/* The UTC instant (s) of a rule's date in year y, local at offset. */
static int64_t
window_rule_instant(const struct window_rule_date *d, int y, int32_t offset)
{
	int64_t first;
	int	wd1, day, mdays;

	first = window_days_from_civil(y, d->month, 1);
	wd1 = (int)(((first % 7) + 11) % 7); /* 1970-01-01: Thursday */
	day = 1 + (d->wday - wd1 + 7) % 7 + (d->week - 1) * 7;
	mdays = window_month_days(y, d->month);
	while (day > mdays)
		day -= 7;
	return ((first + day - 1) * 86400 + d->time - offset);
}

static int32_t
window_rule_offset(const struct window_zone *z, int64_t t)
{
	int64_t start, end;
	int	y, m, d;

	if (!z->has_dst)
		return (z->std_offset);
	window_civil(window_floor_div(t + z->std_offset, 86400), &y, &m, &d);
	start = window_rule_instant(&z->start, y, z->std_offset);
	end = window_rule_instant(&z->end, y, z->dst_offset);
	if (start < end)
		return (t >= start && t < end ? z->dst_offset : z->std_offset);
	/* The southern hemisphere: daylight time spans the new year. */
	return (t >= end && t < start ? z->std_offset : z->dst_offset);
}

/* --- TZif ------------------------------------------------------------ */

static uint32_t
window_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3]);
}

static int64_t
window_be64(const unsigned char *p)
{
	return ((int64_t)((uint64_t)window_be32(p) << 32 | window_be32(p + 4)));
}

int
window_zone_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0' || strlen(name) > 64 ||
	    *name == '/' || strstr(name, "..") != NULL)
		return (0);
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return (0);
	return (1);
}

struct window_zone *
window_zone_parse(const char *name, const unsigned char *data, size_t len,
    char **cause)
{
	struct window_zone  *z = NULL;
	const unsigned char *p, *end = data + len;
	uint32_t	     isutcnt, isstdcnt, leapcnt, timecnt, typecnt;
	uint32_t	     charcnt;
	size_t		     i, skip, footer;
	char		    *rule = NULL;

	if (len < 44 || memcmp(data, "TZif", 4) != 0 || data[4] < '2') {
		window_fail(cause,
		    "zone %s: not a TZif file of version 2 or "
		    "later",
		    name);
		goto fail;
	}
	/* Skip the version 1 block (32-bit times). */
	p = data + 20;
	isutcnt = window_be32(p);
	isstdcnt = window_be32(p + 4);
	leapcnt = window_be32(p + 8);
	timecnt = window_be32(p + 12);
	typecnt = window_be32(p + 16);
	charcnt = window_be32(p + 20);
	if (timecnt > WINDOW_MAX_TRANSITIONS || typecnt > WINDOW_MAX_TYPES ||
	    leapcnt > 1000 || charcnt > 1000 || isutcnt > WINDOW_MAX_TYPES ||
	    isstdcnt > WINDOW_MAX_TYPES)
		goto bad;
	skip = (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt +
	       (size_t)leapcnt * 8 + isstdcnt + isutcnt;
	if ((size_t)(end - (data + 44)) < skip + 44)
		goto bad;
	p = data + 44 + skip;
	if (memcmp(p, "TZif", 4) != 0)
		goto bad;
	isutcnt = window_be32(p + 20);
	isstdcnt = window_be32(p + 24);
	leapcnt = window_be32(p + 28);
	timecnt = window_be32(p + 32);
	typecnt = window_be32(p + 36);
	charcnt = window_be32(p + 40);
	if (timecnt > WINDOW_MAX_TRANSITIONS || typecnt == 0 ||
	    typecnt > WINDOW_MAX_TYPES || leapcnt > 1000 || charcnt > 1000 ||
	    isutcnt > WINDOW_MAX_TYPES || isstdcnt > WINDOW_MAX_TYPES)
		goto bad;
	p += 44;
	skip = (size_t)timecnt * 9 + (size_t)typecnt * 6 + charcnt +
	       (size_t)leapcnt * 12 + isstdcnt + isutcnt;
	if ((size_t)(end - p) < skip)
		goto bad;

	z = xcalloc(1, sizeof *z);
	z->name = xstrdup(name);
	z->ntimes = timecnt;
	z->ntypes = typecnt;
	z->times = xcalloc(timecnt + 1, sizeof *z->times);
	z->idx = xcalloc(timecnt + 1, 1);
	z->offsets = xcalloc(typecnt, sizeof *z->offsets);
	for (i = 0; i < timecnt; i++) {
		z->times[i] = window_be64(p + i * 8);
		if (i > 0 && z->times[i] <= z->times[i - 1])
			goto bad;
	}
	p += (size_t)timecnt * 8;
	for (i = 0; i < timecnt; i++) {
		z->idx[i] = p[i];
		if (p[i] >= typecnt)
			goto bad;
	}
	p += timecnt;
	for (i = 0; i < typecnt; i++) {
		z->offsets[i] = (int32_t)window_be32(p + i * 6);
		if (z->offsets[i] < -25 * 3600 || z->offsets[i] > 26 * 3600)
			goto bad;
	}
	p += skip - (size_t)timecnt * 9;

	/* The footer: "\nTZ\n". */
	if (p < end && *p == '\n') {
		for (footer = 1;
		     p + footer < end && p[footer] != '\n' && footer < 128;
		     footer++)
			;
		if (p + footer < end && p[footer] == '\n' && footer > 1) {
			rule = xstrndup((const char *)p + 1, footer - 1);
			if (window_tz_rule(z, rule) != 0) {
				window_fail(cause,
				    "zone %s: its rule \"%s\" is "
				    "not supported",
				    name, rule);
				goto fail;
			}
		}
	}
	free(rule);
	return (z);

bad:
	window_fail(cause, "zone %s: malformed TZif file", name);
fail:
	free(rule);
	window_zone_free(z);
	return (NULL);
}

struct window_zone *
window_zone_load(const char *name, char **cause)
{
	struct window_zone *z = NULL;
	struct stat	    sb;
	const char	   *dir;
	unsigned char	   *data = NULL;
	char		   *path = NULL;
	ssize_t		    n;
	size_t		    got = 0;
	int		    fd = -1;

	if (!window_zone_name_ok(name)) {
		window_fail(cause,
		    "\"%s\" is not a time zone name (write e.g. "
		    "Europe/Paris or UTC)",
		    name != NULL ? name : "");
		goto out;
	}
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	path = xasprintf("%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		window_fail(cause, "unknown time zone \"%s\" (%s: %s)", name,
		    path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > WINDOW_ZONE_MAX_FILE) {
		window_fail(cause, "time zone \"%s\": %s is not a zone file",
		    name, path);
		goto out;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, data + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			window_fail(cause, "time zone \"%s\": cannot read %s",
			    name, path);
			goto out;
		}
		got += (size_t)n;
	}
	z = window_zone_parse(name, data, got, cause);
out:
	if (fd != -1)
		close(fd);
	free(data);
	free(path);
	return (z);
}

void
window_zone_free(struct window_zone *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->times);
	free(z->idx);
	free(z->offsets);
	free(z);
}

const char *
window_zone_name(const struct window_zone *z)
{
	return (z->name);
}

int32_t
window_zone_offset(const struct window_zone *z, int64_t t)
{
	size_t lo, hi, mid;

	if (z == NULL)
		return (0); /* UTC */
	if (z->ntimes == 0 || t >= z->times[z->ntimes - 1]) {
		if (z->has_rule)
			return (window_rule_offset(z, t));
		if (z->ntimes == 0)
			return (z->offsets[0]);
		return (z->offsets[z->idx[z->ntimes - 1]]);
	}
	if (t < z->times[0])
		return (z->offsets[0]);
	/* The last transition at or before t. */
	lo = 0;
	hi = z->ntimes - 1;
	while (lo + 1 < hi) {
		mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return (z->offsets[z->idx[lo]]);
}

/* --- Local time ------------------------------------------------------ */

void
window_local_of(const struct window_zone *z, int64_t ms, struct window_local *l)
{
	int64_t t, local, days;

	t = window_floor_div(ms, 1000);
	l->offset = window_zone_offset(z, t);
	local = t + l->offset;
	days = window_floor_div(local, 86400);
	window_civil(days, &l->year, &l->month, &l->day);
	l->wday = (int)(((days % 7) + 11) % 7);
	l->minute = (int)((local - days * 86400) / 60);
}

int64_t
window_local_to_ms(const struct window_zone *z, int year, int month, int day,
    int minute)
{
	int64_t local, best = -1, cand, lo, hi, mid;
	int32_t offs[2];
	int	i;

	local = window_days_from_civil(year, month, day) * 86400 +
		(int64_t)minute * 60;
	/* The offsets in force a day before and a day after: zones change
	   at most twice a year. */
	offs[0] = window_zone_offset(z, local - 38 * 3600);
	offs[1] = window_zone_offset(z, local + 38 * 3600);
	for (i = 0; i < 2; i++) {
		cand = local - offs[i];
		if (window_zone_offset(z, cand) == offs[i] &&
		    (best == -1 || cand < best))
			best = cand;
	}
	if (best != -1 || offs[1] <= offs[0])
		return ((best != -1 ? best : local - offs[0]) * 1000);
	/* Skipped by the clocks going forward: the instant they jumped,
	   between local - offs[1] (before it) and local - offs[0]. */
	lo = local - offs[1];
	hi = local - offs[0];
	while (lo + 1 < hi) {
		mid = lo + (hi - lo) / 2;
		if (window_zone_offset(z, mid) == offs[0])
			lo = mid;
		else
			hi = mid;
	}
	return (hi * 1000);
}

void
window_format(const struct window_zone *z, int64_t ms, char *buf, size_t len)
{
	struct window_local l;
	int32_t		    off;

	window_local_of(z, ms, &l);
	off = l.offset < 0 ? -l.offset : l.offset;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d %s (UTC%c%02d:%02d)",
	    l.year, l.month, l.day, l.minute / 60, l.minute % 60,
	    z != NULL ? z->name : "UTC", l.offset < 0 ? '-' : '+',
	    (int)(off / 3600), (int)(off % 3600 / 60));
}

/*
 * Reads back what window_format wrote, at the start of s: the instant,
 * and *len the bytes it takes.  The stage's reason carries the next
 * opening as window_format's text; the portal reads the instant from it
 * to show it in the viewer's zone.
 */
int
window_parse_format(const char *s, int64_t *ms, size_t *len)
{
	char	    date[11];
	const char *p;
	int64_t	    days;
	int	    hh, mm, oh, om, sign;
	size_t	    i;

	for (i = 0; i < 10 && s[i] != '\0'; i++)
		date[i] = s[i];
	date[i] = '\0';
	if (i != 10 || window_parse_date(date, &days, NULL) != 0)
		return (-1);
	p = s + 10;
	if (p[0] != ' ' || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]) ||
	    p[6] != ' ')
		return (-1);
	hh = (p[1] - '0') * 10 + (p[2] - '0');
	mm = (p[4] - '0') * 10 + (p[5] - '0');
	if (hh > 23 || mm > 59)
		return (-1);
	p += 7;
	/* The zone's name: no spaces (tz database names have none). */
	while (*p != '\0' && *p != ' ')
		p++;
	if (strncmp(p, " (UTC", 5) != 0)
		return (-1);
	p += 5;
	if (*p != '+' && *p != '-')
		return (-1);
	sign = *p == '-' ? -1 : 1;
	if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    p[3] != ':' || !isdigit((unsigned char)p[4]) ||
	    !isdigit((unsigned char)p[5]) || p[6] != ')')
		return (-1);
	oh = (p[1] - '0') * 10 + (p[2] - '0');
	om = (p[4] - '0') * 10 + (p[5] - '0');
	if (oh > 23 || om > 59)
		return (-1);
	p += 7;
	*ms = ((days * 86400 + hh * 3600 + mm * 60) -
		  sign * (oh * 3600 + om * 60)) *
	      1000;
	*len = (size_t)(p - s);
	return (0);
}

/* --- Windows --------------------------------------------------------- */

static int
window_span_open(const struct window_span *w, int64_t ms)
{
	struct window_local l;

	window_local_of(w->zone, ms, &l);
	return ((w->days & (1u << l.wday)) != 0 && l.minute >= w->from &&
		l.minute < w->to);
}

int
window_is_open(const struct window_span *spans, size_t nspans,
    const struct window_freeze *freezes, size_t nfreezes, int64_t ms,
    const struct window_freeze **frozen)
{
	size_t i;

	if (frozen != NULL)
		*frozen = NULL;
	for (i = 0; i < nfreezes; i++) {
		if (ms >= freezes[i].from_ms && ms < freezes[i].to_ms) {
			if (frozen != NULL)
				*frozen = &freezes[i];
			return (0);
		}
	}
	if (nspans == 0)
		return (1);
	for (i = 0; i < nspans; i++)
		if (window_span_open(&spans[i], ms))
			return (1);
	return (0);
}

/*
 * Windows open and close on whole local minutes, and every zone in use
 * today is a whole number of minutes from UTC, so the first open minute
 * is found by walking minutes, jumping over freezes.  A year is half a
 * million steps at most; the engine asks only while a stage waits.
 */
int64_t
window_next_open(const struct window_span *spans, size_t nspans,
    const struct window_freeze *freezes, size_t nfreezes, int64_t ms)
{
	const struct window_freeze *f;
	int64_t			    t, limit = ms + WINDOW_HORIZON_MS;

	if (window_is_open(spans, nspans, freezes, nfreezes, ms, &f))
		return (ms);
	t = window_floor_div(ms, 60000) * 60000 + 60000;
	while (t <= limit) {
		if (window_is_open(spans, nspans, freezes, nfreezes, t, &f))
			return (t);
		if (f != NULL) {
			/* The freeze's end may fall within a minute. */
			t = f->to_ms;
			if (window_is_open(spans, nspans, freezes, nfreezes, t,
				&f))
				return (t);
			t = window_floor_div(t, 60000) * 60000 + 60000;
			continue;
		}
		t += 60000;
	}
	return (-1);
}

/* --- The configuration's words --------------------------------------- */

static const char *const window_day_names[] = { "sun", "mon", "tue", "wed",
	"thu", "fri", "sat" };

static int
window_day(const char *s, size_t len)
{
	int i;

	if (len != 3)
		return (-1);
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, window_day_names[i], 3) == 0)
			return (i);
	return (-1);
}

/* "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon" (wrapping), "daily". */
int
window_parse_days(const char *s, unsigned int *mask, char **cause)
{
	const char  *p = s, *comma, *dash, *end;
	unsigned int m = 0;
	int	     a, b;

	if (strcmp(s, "daily") == 0) {
		*mask = 0x7f;
		return (0);
	}
	while (*p != '\0') {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		dash = memchr(p, '-', (size_t)(end - p));
		if (dash != NULL) {
			a = window_day(p, (size_t)(dash - p));
			b = window_day(dash + 1, (size_t)(end - dash - 1));
		} else
			a = b = window_day(p, (size_t)(end - p));
		if (a == -1 || b == -1)
			return (window_fail(cause,
			    "invalid days \"%s\" (write "
			    "e.g. mon-fri, mon,wed,fri or daily)",
			    s));
		for (;;) {
			m |= 1u << a;
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
		p = comma != NULL ? comma + 1 : end;
		if (comma != NULL && *p == '\0')
			return (window_fail(cause, "invalid days \"%s\"", s));
	}
	if (m == 0)
		return (window_fail(cause, "invalid days \"%s\"", s));
	*mask = m;
	return (0);
}

/* "HH:MM", 00:00 to 24:00. */
int
window_parse_time(const char *s, int *minute, char **cause)
{
	int h, m;

	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		goto bad;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		goto bad;
	*minute = h * 60 + m;
	return (0);
bad:
	return (window_fail(cause,
	    "invalid time \"%s\" (write HH:MM, "
	    "00:00 to 24:00)",
	    s));
}

int
window_parse_date(const char *s, int64_t *days, char **cause)
{
	int y, m, d, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			goto bad;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > window_month_days(y, m))
		goto bad;
	*days = window_days_from_civil(y, m, d);
	return (0);
bad:
	return (
	    window_fail(cause, "invalid date \"%s\" (write YYYY-MM-DD)", s));
}
