/*
 * The client-side AWS rate limit (aws-limit.c), driven with a clock of
 * our own: nothing held before a throttle, the cut to 0.7 of the rate
 * measured, requests then spaced by the rate in the order they asked,
 * the cubic growth back, the floor, and keys kept apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-limit.h"
#include "tap.h"

#define T0  1800000000000LL
#define KEY "cloudformation eu-west-1 role arn:aws:iam::111111111111:role/a"

/* Requests at a steady rate for a while, each answered at once. */
static int64_t
drive(struct aws_limiter *l, const char *key, double per_s, int64_t from,
    int64_t ms, int64_t *held)
{
	int64_t t, step = (int64_t)(1000.0 / per_s), wait;

	for (t = from; t < from + ms; t += step) {
		wait = aws_limiter_acquire(l, key, t);
		if (held != NULL)
			*held += wait;
		aws_limiter_reply(l, key, 0, t + wait);
	}
	return (t);
}

static double
rate_of(struct aws_limiter *l, const char *key)
{
	struct aws_limit_stat st;

	if (aws_limiter_get(l, key, &st) != 0)
		return (-1);
	return (st.rate);
}

int
main(void)
{
	struct aws_limiter   *l = aws_limiter_new();
	struct aws_limit_stat st;
	int64_t		      t, w, prev, held = 0, waits[20];
	double		      r, r0, rprev;
	int		      i, bad;
	char		      key[64];

	/* Before any throttle: nothing is held, however fast. */
	bad = 0;
	for (i = 0; i < 1000; i++)
		bad += aws_limiter_acquire(l, KEY, T0) != 0;
	ok(bad == 0, "before a throttle, 1,000 requests in one instant go "
		     "at once");
	t = drive(l, KEY, 10, T0, 5000, &held);
	ok(held == 0, "10 requests a second for 5 s: none held");
	ok(aws_limiter_get(l, KEY, &st) == 0 && !st.enabled && st.rate == 0,
	    "the key is known, not limited");
	ok(st.measured > 9 && st.measured < 11,
	    "the measured rate is about 10/s (%.2f)", st.measured);

	/* A throttle: the rate is cut to 0.7 of what was measured. */
	aws_limiter_reply(l, KEY, 1, t);
	ok(aws_limiter_get(l, KEY, &st) == 0 && st.enabled && st.throttled == 1,
	    "a throttle starts the limit");
	ok(st.rate > 0.7 * 9 && st.rate < 0.7 * 11,
	    "the rate is cut to 0.7 of the measured one (%.2f of %.2f)",
	    st.rate, st.measured);
	r0 = st.rate;

	/* Twenty requests at once leave one every 1/rate, in order. */
	for (i = 0; i < 20; i++)
		waits[i] = aws_limiter_acquire(l, KEY, t);
	bad = 0;
	for (i = 1; i < 20; i++) {
		w = waits[i] - waits[i - 1];
		if (w < (int64_t)(1000 / r0) - 2 ||
		    w > (int64_t)(1000 / r0) + 2)
			bad++;
	}
	ok(waits[0] > 0 && bad == 0,
	    "20 requests at once are spaced by 1/rate (%lld ms, then "
	    "+%lld ms each)",
	    (long long)waits[0], (long long)(waits[1] - waits[0]));
	ok(waits[19] > 2500 && waits[19] < 3200,
	    "the twentieth waits about 20/rate (%lld ms)",
	    (long long)waits[19]);
	ok(aws_limiter_get(l, KEY, &st) == 0 && st.held == 20 &&
		st.wait_max_ms == waits[19],
	    "held requests and the longest wait are counted");

	/* Once the debt is paid, requests at the allowed rate go at once. */
	t += waits[19] + 1000;
	for (i = 0; i < 20; i++)
		aws_limiter_reply(l, KEY, 0, t);
	bad = 0;
	for (i = 0; i < 5; i++) {
		w = aws_limiter_acquire(l, KEY, t + i * 1000);
		bad += w != 0;
		aws_limiter_reply(l, KEY, 0, t + i * 1000);
	}
	ok(bad == 0, "one request a second, under the rate, is never held");

	/*
	 * The rate grows back while demand (20/s) is above it: slowly at
	 * first, then past the rate that was throttled.
	 */
	r = rate_of(l, KEY);
	for (i = 0; i < 40; i++)
		t = drive(l, KEY, 20, t, 500, NULL);
	rprev = rate_of(l, KEY);
	ok(rprev > r0 && rprev > r,
	    "it rose above the cut rate (%.2f/s > "
	    "%.2f/s) after 20 s",
	    rprev, r0);
	aws_limiter_get(l, KEY, &st);
	ok(st.rate <= 2 * st.measured + 1e-9,
	    "never above twice the measured rate (%.2f, measured %.2f)",
	    st.rate, st.measured);

	/* A second throttle cuts again, from what was allowed. */
	r = rate_of(l, KEY);
	aws_limiter_reply(l, KEY, 1, t);
	aws_limiter_get(l, KEY, &st);
	ok(st.throttled == 2 && st.rate < r && st.rate <= 0.7 * r + 1e-9,
	    "a second throttle cuts the rate to 0.7 of what was allowed at "
	    "most (%.2f -> %.2f)",
	    r, st.rate);

	/* Throttles in a row never stop requests: the floor is 0.5/s. */
	for (i = 0; i < 50; i++)
		aws_limiter_reply(l, KEY, 1, t + i);
	ok(rate_of(l, KEY) >= 0.5, "the rate stays at 0.5/s at least (%.2f)",
	    rate_of(l, KEY));
	w = aws_limiter_acquire(l, KEY, t + 10 * 60 * 1000);
	ok(w <= 2000,
	    "after a quiet while a request waits at most 2 s "
	    "(%lld ms)",
	    (long long)w);

	/* Keys are apart: another account, region or service is free. */
	ok(aws_limiter_acquire(l,
	       "cloudformation eu-west-1 role "
	       "arn:aws:iam::222222222222:role/a",
	       t) == 0 &&
		aws_limiter_acquire(l,
		    "ecs eu-west-1 role arn:aws:iam::111111111111:role/a",
		    t) == 0 &&
		aws_limiter_acquire(l,
		    "cloudformation us-east-1 role "
		    "arn:aws:iam::111111111111:role/a",
		    t) == 0,
	    "another account, service or region is not held");

	/* A clock that goes back is no credit and no crash. */
	prev = aws_limiter_acquire(l, KEY, t + 20 * 60 * 1000);
	w = aws_limiter_acquire(l, KEY, t - 60 * 1000);
	ok(prev >= 0 && w >= 0 && w < 10000,
	    "a clock going back gives a bounded wait "
	    "(%lld ms)",
	    (long long)w);

	/* Past 256 keys, a new key is not limited (and not stored). */
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof key, "svc%d eu-west-1 default", i);
		aws_limiter_reply(l, key, 1, t);
	}
	ok(aws_limiter_stats(l, NULL, 0) == 256,
	    "at most 256 keys are kept (%zu)", aws_limiter_stats(l, NULL, 0));
	ok(aws_limiter_acquire(l, "svc299 eu-west-1 default", t) == 0 &&
		aws_limiter_get(l, "svc299 eu-west-1 default", &st) == -1,
	    "a key past the cap goes unlimited");

	aws_limiter_free(l);
	return (tap_done());
}
