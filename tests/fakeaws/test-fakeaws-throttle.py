#!/usr/bin/python3
"""Throttling at AWS's rates: a token bucket per account, region and API
family refuses calls beyond its burst in each protocol's own throttling
error, counts them as throttled (never as calls), refills at its rate, and
is set through the control API or --throttle.  The checks count calls;
none depends on how fast this machine is, except the refill, which sleeps
for longer than a token takes."""

import os
import sys
import time

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402

from botocore.exceptions import ClientError              # noqa: E402


def attempt(fn):
    """None when the call succeeds, else (error code, HTTP status)."""
    try:
        fn()
        return None
    except ClientError as e:
        return (e.response["Error"]["Code"],
                e.response["ResponseMetadata"].get("HTTPStatusCode"))


def burst(fn, n):
    """(successes, list of errors) of n calls in a row."""
    errs = [r for r in (attempt(fn) for _ in range(n)) if r is not None]
    return n - len(errs), errs


def rates(fake, body):
    return fake.control("/_fake/throttle", body)


def main(t, fake):
    d = fake.control("/_fake/throttle")
    cfd = d["rates"]["cloudformation:describe"]
    t.ok(d["enabled"] and 1 <= cfd["rate"] <= 10,
         "default: CloudFormation describe calls metered at a few a second "
         "(%s/s, burst %s)" % (cfd["rate"], cfd["burst"]))
    t.ok(d["rates"].get("s3:describe") is None and
         d["rates"].get("sqs:mutate") is None, "default: S3 and SQS not metered")

    cf = fake.client("cloudformation")
    # A rate this low adds no token while the test runs: counts are exact.
    rates(fake, {"rates": {"cloudformation:describe": {"rate": 0.001, "burst": 3}}})
    fake.control("/_fake/calls", method="DELETE")
    fake.control("/_fake/rejected", method="DELETE")
    ok, errs = burst(cf.describe_stacks, 5)
    t.eq(ok, 3, "burst 3: 3 of 5 DescribeStacks go through")
    t.eq(errs, [("Throttling", 400)] * 2, "... 2 get 400 Throttling (query shape)")
    t.eq(fake.control("/_fake/calls")["cloudformation"], {"DescribeStacks": 3},
         "calls count only the 3 that ran")
    t.eq(fake.control("/_fake/rejected")["throttled"],
         {"cloudformation": {"DescribeStacks": 2}}, "rejected counts 2 throttled")
    t.ok(attempt(lambda: cf.describe_stack_events(StackName="none"))
         == ("Throttling", 400), "the bucket is the family's: DescribeStackEvents "
         "is throttled too")
    t.ok(attempt(lambda: cf.delete_stack(StackName="none")) is None,
         "another family (cloudformation:mutate) is not")
    us = fake.client("cloudformation", region="us-east-1")
    t.eq(burst(us.describe_stacks, 4)[0], 3, "another region has its own bucket")
    other = fake.assume("111111111111")
    cf2 = fake.client("cloudformation", session=other)
    t.eq(burst(cf2.describe_stacks, 4)[0], 3, "another account has its own bucket")

    # The refill: at 20 a second, a token is back within 50 ms.
    rates(fake, {"rates": {"cloudformation:describe": {"rate": 20, "burst": 1}}})
    t.ok(attempt(cf.describe_stacks) is None, "rate 20, burst 1: one call")
    t.ok(attempt(cf.describe_stacks) == ("Throttling", 400), "... the next at once "
         "is throttled")
    time.sleep(0.3)
    t.ok(attempt(cf.describe_stacks) is None, "... after 0.3 s a token is back")
    # Never more than the rate allows, however fast the calls come.
    t0 = time.monotonic()
    n, _ = burst(cf.describe_stacks, 60)
    took = time.monotonic() - t0
    t.ok(n <= 1 + 20 * took + 1, "60 calls in %.2f s: %d went through, at most "
         "burst + 20/s" % (took, n))

    # Each protocol's own throttling reply.
    r = fake.control("/_fake/throttle", {"rates": {"sqs:mutate": {"rate": 1,
                                                                  "burst": 0}}})
    t.eq(r.get("_status"), 400, "a burst below 1 is refused")
    rates(fake, {"rates": {f: {"rate": 0.001, "burst": 1} for f in (
        "ecs:describe", "ecr:describe", "s3:describe", "sqs:describe",
        "ses:describe", "sqs:mutate")}})
    for name, fn, want in (
            ("ecs (JSON 1.1)", fake.client("ecs").describe_clusters,
             ("ThrottlingException", 400)),
            ("ecr (JSON 1.1)", fake.client("ecr").describe_repositories,
             ("ThrottlingException", 400)),
            ("s3 (REST-XML)", fake.client("s3").list_buckets, ("SlowDown", 503)),
            ("sqs (query)", fake.client("sqs").list_queues,
             ("RequestThrottled", 400)),
            ("sesv2 (REST-JSON)", fake.client("sesv2").get_account,
             ("TooManyRequestsException", 429))):
        errs = burst(fn, 2)[1]
        t.eq(errs, [want], "%s: the second call gets %s %d" % (name, want[0], want[1]))
    sqsj = fake.sqs_json_client()
    t.eq(attempt(sqsj.list_queues), ("RequestThrottled", 400),
         "sqs (JSON 1.0): RequestThrottled, the query code botocore reads")
    sq = fake.client("sqs")
    t.ok(attempt(lambda: sq.create_queue(QueueName="made")) is None,
         "sqs:mutate burst 1: the first CreateQueue runs")
    t.eq(attempt(lambda: sq.create_queue(QueueName="throttled")),
         ("RequestThrottled", 400), "... the second is throttled")
    t.ok("throttled" not in str(fake.control("/_fake/state")["sqs"]),
         "a throttled call does nothing")

    # Off, then back to the defaults; reset goes back to them too.
    rates(fake, {"enabled": False})
    t.eq(burst(cf.describe_stacks, 10)[0], 10, "enabled false: nothing throttled")
    d = rates(fake, {"enabled": True, "defaults": True})
    t.eq(d["rates"]["cloudformation:describe"], cfd, "defaults: restored")
    rates(fake, {"rates": {"cloudformation:describe": None}})
    t.eq(burst(cf.describe_stacks, 50)[0], 50, "a family set to null is not metered")
    fake.control("/_fake/reset", {})
    t.eq(fake.control("/_fake/throttle")["rates"]["cloudformation:describe"], cfd,
         "reset: the defaults again")

    # --throttle on the command line: the figures a test starts the fake with.
    f2 = F.Fake(extra=["--throttle", "cloudformation:describe=0/2"])
    try:
        t.eq(f2.control("/_fake/throttle")["rates"]["cloudformation:describe"],
             {"rate": 0.0, "burst": 2.0}, "--throttle FAMILY=0/2 sets the bucket")
        c = f2.client("cloudformation")
        t.eq(burst(c.describe_stacks, 4)[0], 2, "... 2 of 4 calls go through")
        f2.control("/_fake/reset", {})
        t.eq(burst(c.describe_stacks, 4)[0], 2, "... and reset keeps --throttle's "
             "figures")
    finally:
        f2.stop()
        f2.cleanup()
    f3 = F.Fake(extra=["--no-throttle"])
    try:
        c = f3.client("cloudformation")
        t.eq(burst(c.describe_stacks, 60)[0], 60, "--no-throttle: nothing throttled")
    finally:
        f3.stop()
        f3.cleanup()


if __name__ == "__main__":
    F.run(main)
