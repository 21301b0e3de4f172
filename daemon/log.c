/*
 * The one place that writes log lines.  A line is formatted whole and
 * written with one write(2) so lines from the portal thread and the loop
 * never interleave.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char    *log_progname = "shipgate";
static enum log_level log_level = LOG_LEVEL_INFO;
static unsigned int   log_categories = LOG_CAT_ALL;
static int	      log_journal;
static int	      log_syslog;

static const struct {
	const char    *name;
	enum log_level level;
} log_levels[] = {
	{ "err", LOG_LEVEL_ERR },
	{ "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};

static const struct {
	const char	 *name;
	enum log_category category;
} log_category_names[] = {
	{ "aws", LOG_CAT_AWS },
	{ "http", LOG_CAT_HTTP },
	{ "engine", LOG_CAT_ENGINE },
	{ "store", LOG_CAT_STORE },
	{ "portal", LOG_CAT_PORTAL },
	{ "config", LOG_CAT_CONFIG },
	{ "all", LOG_CAT_ALL },
};

/*
 * JOURNAL_STREAM holds "dev:ino" of the stream journald gave us; it is
 * only ours if stderr is still that stream (a child may inherit the
 * variable with stderr redirected elsewhere).
 */
static int
log_stderr_is_journal(void)
{
	const char	  *env;
	struct stat	   sb;
	unsigned long long dev, ino;

	if ((env = getenv("JOURNAL_STREAM")) == NULL)
		return (0);
	if (sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return (0);
	if (fstat(STDERR_FILENO, &sb) == -1)
		return (0);
	return ((unsigned long long)sb.st_dev == dev &&
		(unsigned long long)sb.st_ino == ino);
}

void
log_init(const char *progname)
{
	if (progname != NULL)
		log_progname = progname;
	log_journal = log_stderr_is_journal();
}

void
log_use_syslog(void)
{
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_debug(unsigned int categories)
{
	log_categories = categories;
}

int
log_level_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return (log_levels[i].level);
	return (-1);
}

const char *
log_level_name(enum log_level level)
{
	size_t i;

	for (i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
		if (log_levels[i].level == level)
			return (log_levels[i].name);
	return (NULL);
}

int
log_category_from_name(const char *name)
{
	size_t i;

	for (i = 0;
	     i < sizeof log_category_names / sizeof log_category_names[0]; i++)
		if (strcasecmp(name, log_category_names[i].name) == 0)
			return (log_category_names[i].category);
	return (-1);
}

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char		line[8192], stamp[40];
	struct timespec ts;
	struct tm	tm;
	int		n, m;
	size_t		len;

	if (level > log_level)
		return;
	if (log_syslog)
		n = 0;
	else if (log_journal)
		n = snprintf(line, sizeof line, "<%d>", (int)level);
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof line, "%s.%03ldZ %s %s: ", stamp,
		    ts.tv_nsec / 1000000, log_progname, log_level_name(level));
	}
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (m < 0)
		m = 0;
	len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2; /* truncated, still one line */
	if (suffix != NULL) {
		m = snprintf(line + len, sizeof line - len, ": %s", suffix);
		if (m > 0)
			len += (size_t)m;
		if (len > sizeof line - 2)
			len = sizeof line - 2;
	}
	if (log_syslog) {
		line[len] = '\0';
		syslog((int)level, "%s", line);
		return;
	}
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, NULL, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_NOTICE, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

int
log_debug_enabled(enum log_category category)
{
	return (
	    log_level >= LOG_LEVEL_DEBUG && (log_categories & category) != 0);
}

void
log_debug(enum log_category category, const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_enabled(category))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
