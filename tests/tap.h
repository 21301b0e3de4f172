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
#include <stdlib.h>
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

/*
 * SHIPGATE_REQUIRE_ALL=1 (scripts/check sets it, so CI does) turns every
 * skip into a failure: CI has everything installed, so a skip there can
 * only hide breakage.
 */
__attribute__((unused)) static int
tap_require_all(void)
{
	const char	*s = getenv("SHIPGATE_REQUIRE_ALL");

	return (s != NULL && *s != '\0' && strcmp(s, "0") != 0);
}

/*
 * The test cannot go on (a fixture that did not start, a temporary
 * directory that could not be made): automake's TAP driver counts
 * "Bail out!" as an ERROR.  Never a skip.
 */
__attribute__((format(printf, 1, 2), noreturn, unused)) static void
tap_bail(const char *fmt, ...)
{
	va_list	ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/*
 * Only for something a user's clone may legitimately lack (../shared,
 * i.e. $SHIPGATE_SHARED; an optional tool scripts/install-deps installs):
 * skips the whole program, or bails out under SHIPGATE_REQUIRE_ALL.
 * Does not return.
 */
__attribute__((format(printf, 1, 2), noreturn, unused)) static void
tap_skip_all(const char *fmt, ...)
{
	va_list	ap;
	char	why[512];

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (tap_require_all())
		tap_bail("%s (SHIPGATE_REQUIRE_ALL is set: required)", why);
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

/* One skipped check, under the same rule as tap_skip_all. */
__attribute__((format(printf, 1, 2), unused)) static void
tap_skip(const char *fmt, ...)
{
	va_list	ap;
	char	why[512];

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	tap_count++;
	if (tap_require_all()) {
		printf("not ok %d - %s (SHIPGATE_REQUIRE_ALL is set: "
		    "required)\n", tap_count, why);
		tap_failed++;
	} else
		printf("ok %d # SKIP %s\n", tap_count, why);
	fflush(stdout);
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
