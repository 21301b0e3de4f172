/*
 * A tiny TAP producer for the C unit tests, read by automake's TAP
 * driver.  Header-only so each test program stays one file.
 *
 *	ok(cond, "name %d", i);
 *	is_str(got, want, "name");
 *	return (tap_done());
 */
#ifndef SHIPGATE_TAP_H
#define SHIPGATE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int	tap_count;
static int	tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int
ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return (cond);
}

__attribute__((format(printf, 3, 4), unused)) static int
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list	 ap;
	char	 name[512];
	int	 same;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	same = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);
	ok(same, "%s", name);
	if (!same) {
		printf("#   got:  %s\n", got ? got : "(null)");
		printf("#   want: %s\n", want ? want : "(null)");
	}
	return (same);
}

__attribute__((format(printf, 3, 4), unused)) static int
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list	 ap;
	char	 name[512];

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	ok(got == want, "%s", name);
	if (got != want)
		printf("#   got: %lld, want: %lld\n", got, want);
	return (got == want);
}

__attribute__((format(printf, 1, 2), unused)) static void
tap_skip_all(const char *fmt, ...)
{
	va_list	ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

__attribute__((format(printf, 1, 2), unused)) static void
tap_diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((unused)) static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return (tap_failed ? 1 : 0);
}

#endif
