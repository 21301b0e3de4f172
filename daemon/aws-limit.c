/*
 * The adaptive rate limit of AWS requests (aws-limit.h): a token bucket
 * per key whose rate follows CUBIC, the congestion control TCP uses,
 * with the constants of the SDKs' adaptive retry mode.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aws-limit.h"
#include "xmalloc.h"

/* CUBIC: the cut on a throttle, and how fast the rate grows back. */
#define AWS_LIMIT_BETA	0.7
#define AWS_LIMIT_SCALE 0.4
/* The measured rate: half-second buckets, the newest weighing 0.8. */
#define AWS_LIMIT_BUCKET_MS 500
#define AWS_LIMIT_SMOOTHING 0.8
/* Never slower than a request every two seconds. */
#define AWS_LIMIT_MIN_RATE 0.5
/* Never allowed more than twice what was measured. */
#define AWS_LIMIT_MAX_SCALE 2.0
/* Keys are service, region and credentials: a handful.  Past this many
   a new key is not limited rather than costing a search per request. */
#define AWS_LIMIT_MAX_KEYS 256

struct aws_limit_bucket {
	char   *key;
	int	enabled;
	double	rate;	  /* tokens per second */
	double	capacity; /* at most this many saved */
	double	tokens;
	int64_t last_ms; /* the last refill */

	double	 measured;     /* replies per second, smoothed */
	int64_t	 clock_bucket; /* the half-second counting */
	uint64_t clock_count;

	double	w_max; /* the rate when the last throttle came */
	double	k;     /* seconds from then to w_max again */
	int64_t last_fail_ms;

	uint64_t throttled;
};

struct aws_limiter {
	struct aws_limit_bucket *v;
	size_t			 n;
};

struct aws_limiter *
aws_limiter_new(void)
{
	return (xcalloc(1, sizeof(struct aws_limiter)));
}

void
aws_limiter_free(struct aws_limiter *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	free(l);
}

static struct aws_limit_bucket *
aws_limit_find(struct aws_limiter *l, const char *key, int64_t now_ms)
{
	struct aws_limit_bucket *b;
	size_t			 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return (&l->v[i]);
	if (l->n == AWS_LIMIT_MAX_KEYS)
		return (NULL);
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	b = &l->v[l->n++];
	memset(b, 0, sizeof *b);
	b->key = xstrdup(key);
	b->last_ms = now_ms;
	b->clock_bucket = now_ms / AWS_LIMIT_BUCKET_MS;
	b->last_fail_ms = now_ms;
	return (b);
}

/* Tokens earned since the last refill (none if the clock went back). */
static void
aws_limit_refill(struct aws_limit_bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * b->rate;
		if (b->tokens > b->capacity)
			b->tokens = b->capacity;
	}
	b->last_ms = now_ms;
}

static void
aws_limit_set_rate(struct aws_limit_bucket *b, double rate, int64_t now_ms)
{
	aws_limit_refill(b, now_ms);
	b->rate = rate > AWS_LIMIT_MIN_RATE ? rate : AWS_LIMIT_MIN_RATE;
	/* A burst of at most a second's worth, and at least one request. */
	b->capacity = rate >= 1 ? rate : 1;
	if (b->tokens > b->capacity)
		b->tokens = b->capacity;
}

/* Counts a reply; the smoothed rate moves once per half second. */
/*
 * The rate to cut from at a throttle: the smoothed one, or, before it
 * has a value (a burst within the first half second), the replies
 * counted so far over at least half a second.
 */
static double
aws_limit_measured(const struct aws_limit_bucket *b, int64_t now_ms)
{
	int64_t elapsed = now_ms - b->clock_bucket * AWS_LIMIT_BUCKET_MS;

	if (b->measured > 0)
		return (b->measured);
	if (elapsed < AWS_LIMIT_BUCKET_MS)
		elapsed = AWS_LIMIT_BUCKET_MS;
	return ((double)b->clock_count * 1000.0 / (double)elapsed);
}

static void
aws_limit_measure(struct aws_limit_bucket *b, int64_t now_ms)
{
	int64_t bucket = now_ms / AWS_LIMIT_BUCKET_MS;
	double	current;

	b->clock_count++;
	if (bucket <= b->clock_bucket)
		return;
	current = (double)b->clock_count / ((double)(bucket - b->clock_bucket) *
					       AWS_LIMIT_BUCKET_MS / 1000.0);
	b->measured = current * AWS_LIMIT_SMOOTHING +
		      b->measured * (1 - AWS_LIMIT_SMOOTHING);
	b->clock_count = 0;
	b->clock_bucket = bucket;
}

int64_t
aws_limiter_acquire(struct aws_limiter *l, const char *key, int64_t now_ms)
{
	struct aws_limit_bucket *b;
	int64_t			 wait;

	if ((b = aws_limit_find(l, key, now_ms)) == NULL || !b->enabled)
		return (0);
	aws_limit_refill(b, now_ms);
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return (0);
	}
	wait = (int64_t)ceil((1 - b->tokens) / b->rate * 1000.0);
	return (wait > 0 ? wait : 1);
}

void
aws_limiter_reply(struct aws_limiter *l, const char *key, int throttled,
    int64_t now_ms)
{
	struct aws_limit_bucket *b;
	double			 rate, dt;

	if ((b = aws_limit_find(l, key, now_ms)) == NULL)
		return;
	aws_limit_measure(b, now_ms);
	if (throttled) {
		b->throttled++;
		/* The rate that was too much: what was measured, or what we
		   allowed if that was less. */
		rate = aws_limit_measured(b, now_ms);
		if (b->enabled && b->rate < rate)
			rate = b->rate;
		b->w_max = rate;
		b->k = cbrt(b->w_max * (1 - AWS_LIMIT_BETA) / AWS_LIMIT_SCALE);
		b->last_fail_ms = now_ms;
		rate *= AWS_LIMIT_BETA;
		b->enabled = 1;
	} else {
		dt = (double)(now_ms - b->last_fail_ms) / 1000.0;
		rate = AWS_LIMIT_SCALE * pow(dt - b->k, 3) + b->w_max;
	}
	if (rate > AWS_LIMIT_MAX_SCALE * aws_limit_measured(b, now_ms))
		rate = AWS_LIMIT_MAX_SCALE * aws_limit_measured(b, now_ms);
	if (b->enabled)
		aws_limit_set_rate(b, rate, now_ms);
}

static void
aws_limit_stat_of(const struct aws_limit_bucket *b, struct aws_limit_stat *st)
{
	st->key = b->key;
	st->enabled = b->enabled;
	st->rate = b->enabled ? b->rate : 0;
	st->measured = b->measured;
	st->throttled = b->throttled;
}

int
aws_limiter_get(const struct aws_limiter *l, const char *key,
    struct aws_limit_stat *st)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0) {
			aws_limit_stat_of(&l->v[i], st);
			return (0);
		}
	return (-1);
}

size_t
aws_limiter_stats(const struct aws_limiter *l, struct aws_limit_stat *out,
    size_t n)
{
	size_t i;

	for (i = 0; i < l->n && i < n; i++)
		aws_limit_stat_of(&l->v[i], &out[i]);
	return (l->n);
}
