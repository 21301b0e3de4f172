/*
 * A client-side limit on the rate of AWS requests, per account, region
 * and service, shared by every run: what the SDKs' adaptive retry mode
 * does.  CloudFormation throttles DescribeStacks and DescribeChangeSet
 * per account and region at a few calls per second; retrying each call
 * on its own (standard mode) keeps the whole account at the limit, and
 * runs fail with "Rate exceeded" once their attempts are spent.
 *
 * Nothing is limited until the first throttling reply for a key.  Then
 * a token bucket fills at a rate cut to 0.7 of the rate measured when
 * the throttle came, and grows back along a cubic curve (slowly near
 * that rate, faster beyond it), never above twice the measured rate nor
 * below one request every two seconds.
 *
 * Pure: time comes in as an argument, so the tests drive it.  A request
 * that finds no token is told how long until one is there, and asks
 * again then: nothing is reserved, so when the rate grows back the
 * requests held go sooner (reservations made at the floor rate would
 * keep a burst of sixty waiting two minutes whatever happened next).
 */
#ifndef SHIPGATE_AWS_LIMIT_H
#define SHIPGATE_AWS_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct aws_limiter;

struct aws_limit_stat {
	const char *key;       /* "cloudformation eu-west-1 role arn:…" */
	int	    enabled;   /* a throttle was seen */
	double	    rate;      /* requests per second allowed now */
	double	    measured;  /* requests per second answered lately */
	uint64_t    throttled; /* throttling replies */
};

struct aws_limiter *aws_limiter_new(void);
void		    aws_limiter_free(struct aws_limiter *);
/*
 * Takes a token for a request on key at now_ms and returns 0, or takes
 * none and returns how many milliseconds until one should be there:
 * the request asks again then.
 */
int64_t aws_limiter_acquire(struct aws_limiter *, const char *key,
    int64_t now_ms);
/* A reply on key: throttled or not (other errors are not news about
   the rate, and are not reported). */
void aws_limiter_reply(struct aws_limiter *, const char *key, int throttled,
    int64_t now_ms);
/* The stat of one key: 0, or -1 when the key is not known. */
int aws_limiter_get(const struct aws_limiter *, const char *key,
    struct aws_limit_stat *);
/* Fills up to n stats (borrowing the keys); returns how many exist. */
size_t aws_limiter_stats(const struct aws_limiter *, struct aws_limit_stat *,
    size_t n);

#endif
