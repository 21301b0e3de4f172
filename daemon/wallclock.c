/*
 * The wall clock in unix milliseconds (wallclock.h).
 */
#include <stdint.h>
#include <time.h>

#include "wallclock.h"

int64_t
wallclock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (wallclock_ms_of(&ts));
}

int64_t
wallclock_ms_of(const struct timespec *ts)
{
	return ((int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000);
}
