/*
 * libFuzzer target for the TZif reader (window.c): a zone file from the
 * system's tz database is trusted, but the reader must still refuse a
 * damaged one cleanly.  A zone that reads is then asked offsets, local
 * times and the next opening of a window, which must agree.
 */
#include <stdint.h>
#include <stdlib.h>

#include "window.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const int64_t times[] = { 0, 1797249600000LL, 2216419200000LL,
		-2000000000000LL, 4102444800000LL };
	struct window_zone  *z;
	struct window_local  l;
	struct window_span   span;
	char		    *cause = NULL, buf[128];
	int64_t		     ms, next;
	size_t		     i;

	z = window_zone_parse("fuzz", data, len, &cause);
	if (z == NULL) {
		check(cause != NULL);
		free(cause);
		return (0);
	}
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		window_local_of(z, times[i], &l);
		check(l.month >= 1 && l.month <= 12 && l.day >= 1 &&
		      l.day <= 31 && l.wday >= 0 && l.wday <= 6 &&
		      l.minute >= 0 && l.minute < 1440);
		window_format(z, times[i], buf, sizeof buf);
		ms = window_local_to_ms(z, l.year, l.month, l.day, l.minute);
		(void)ms;
		span.days = 1u << l.wday;
		span.from = 540;
		span.to = 600;
		span.zone = z;
		next = window_next_open(&span, 1, NULL, 0, times[i]);
		check(next == -1 ||
		      (next >= times[i] &&
			  window_is_open(&span, 1, NULL, 0, next, NULL)));
	}
	window_zone_free(z);
	return (0);
}
