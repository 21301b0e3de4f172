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

/*
 * n requests made at t that ask again whenever told to wait, each reply
 * a success (a throttle on the reply when throttle_first and it is the
 * first); sent[i] is when request i went.  Ties go in the order asked,
 * as libuv runs timers due at the same time.
 */
static void
drain(struct aws_limiter *l, const char *key, int n, int64_t t,
    int throttle_first, int64_t *sent)
{
	int64_t next[64], now, w;
	int	i, left = n, pick, first = 1;

	for (i = 0; i < n; i++) {
		next[i] = t;
		sent[i] = -1;
	}
	while (left > 0) {
		pick = -1;
		for (i = 0; i < n; i++)
			if (sent[i] < 0 && (pick < 0 || next[i] < next[pick]))
				pick = i;
		now = next[pick];
		if ((w = aws_limiter_acquire(l, key, now)) > 0) {
			next[pick] = now + w;
			continue;
		}
		sent[pick] = now;
		left--;
		aws_limiter_reply(l, key, throttle_first && first, now + 20);
		first = 0;
	}
}

int
main(void)
{
	struct aws_limiter   *l = aws_limiter_new();
	struct aws_limit_stat st;
	int64_t		      t, w, prev, held = 0, sent[64];
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

	/*
	 * Twenty requests at once, each asking again when told: the first
	 * after 1/rate (the bucket was empty), then in the order they
	 * asked; as their replies succeed the rate grows, so the last is
	 * out sooner than 20/rate, never faster than twice the measured
	 * rate (10/s) allows.
	 */
	drain(l, KEY, 20, t, 0, sent);
	bad = 0;
	for (i = 1; i < 20; i++)
		bad += sent[i] <= sent[i - 1];
	ok(sent[0] - t >= (int64_t)(1000 / r0) - 1 &&
		sent[0] - t <= (int64_t)(1000 / r0) + 1,
	    "the first of 20 requests at once leaves after 1/rate (%lld ms)",
	    (long long)(sent[0] - t));
	ok(bad == 0, "they leave one at a time, in the order they asked");
	ok(sent[19] - t <= (int64_t)(20 / r0 * 1000) + 2 &&
		sent[19] - t >= 1000,
	    "the twentieth leaves within 20/rate and no sooner than 20 "
	    "requests at 20/s (%lld ms)",
	    (long long)(sent[19] - t));
	t = sent[19];

	/* Once they are gone, requests under the rate go at once. */
	t += 1000;
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

	/*
	 * A burst in the first half second, throttled at once: the cut is
	 * from the burst's own rate, not from nothing (which would hold
	 * sixty requests at the floor, two minutes).
	 */
	aws_limiter_free(l);
	l = aws_limiter_new();
	for (i = 0; i < 60; i++) {
		aws_limiter_acquire(l, KEY, T0 + i);
		aws_limiter_reply(l, KEY, 0, T0 + 100 + i);
	}
	aws_limiter_reply(l, KEY, 1, T0 + 200);
	ok(rate_of(l, KEY) > 50,
	    "a throttle within the first half second cuts from the burst's "
	    "rate (%.1f/s)",
	    rate_of(l, KEY));

	/*
	 * Held requests go sooner when the rate grows back: 60 requests
	 * held at a low rate finish well before 60/rate.
	 */
	aws_limiter_free(l);
	l = aws_limiter_new();
	t = drive(l, KEY, 2, T0, 5000, NULL);
	aws_limiter_reply(l, KEY, 1, t);
	r0 = rate_of(l, KEY);
	drain(l, KEY, 60, t, 0, sent);
	ok(sent[59] - t < (int64_t)(60 / r0 * 1000) / 2,
	    "60 requests held at %.1f/s all left in %lld ms, under half of "
	    "60/rate (%lld ms): the rate grew back meanwhile",
	    r0, (long long)(sent[59] - t), (long long)(60 / r0 * 1000));

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
