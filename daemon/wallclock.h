/*
 * The wall clock in unix milliseconds (UTC), the unit of every stored
 * time, AWS credential expiry and the portal's sessions.  Code that
 * takes its clock as an argument (the store, the AWS client, the
 * checks) falls back to this one.
 */
#ifndef SHIPGATE_WALLCLOCK_H
#define SHIPGATE_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

/* Now. */
int64_t wallclock_ms(void);
/* A time as unix milliseconds (the nanoseconds truncated). */
int64_t wallclock_ms_of(const struct timespec *);

#endif
