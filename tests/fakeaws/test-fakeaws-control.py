#!/usr/bin/python3
"""The control API: STS role settings and token expiry, call counts, reset,
state dump, set-up helpers, and fault injection as boto3 sees it."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402
import fakeaws_keys as K                                 # noqa: E402


def main(t, fake):
    sts = fake.client("sts")
    # -- STS AssumeRole details
    r = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/shipgate-deployer",
                        RoleSessionName="shipgate", DurationSeconds=900)
    c = r["Credentials"]
    t.ok(c["AccessKeyId"].startswith("ASIA") and c["SessionToken"] and
         880 < c["Expiration"].timestamp() - time.time() <= 901,
         "AssumeRole: ASIA key, session token, DurationSeconds honoured")
    t.eq(r["AssumedRoleUser"]["Arn"],
         "arn:aws:sts::222222222222:assumed-role/shipgate-deployer/shipgate",
         "AssumedRoleUser.Arn")
    who = fake.client("sts", session=fake.session(c["AccessKeyId"], c["SecretAccessKey"],
                                                  c["SessionToken"])).get_caller_identity()
    t.eq((who["Account"], who["Arn"]), ("222222222222", r["AssumedRoleUser"]["Arn"]),
         "temporary keys act in the role's account")
    r = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/x", RoleSessionName="sess")
    t.ok(3590 < r["Credentials"]["Expiration"].timestamp() - time.time() <= 3601,
         "AssumeRole default duration 3600 s")
    t.raises(lambda: sts.assume_role(RoleArn="arn:aws:iam::12:role/x",
                                     RoleSessionName="sess"), "ValidationError",
             "AssumeRole bad ARN: ValidationError")
    t.raises(lambda: sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/x",
                                     RoleSessionName="sess", DurationSeconds=7200),
             "ValidationError", "DurationSeconds over the role's maximum: ValidationError")
    fake.control("/_fake/sts/role", {"role_arn": "arn:aws:iam::333333333333:role/d",
                                     "external_id": "billing-prod",
                                     "max_session_duration": 7200})
    t.raises(lambda: sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/d",
                                     RoleSessionName="sess"), "AccessDenied",
             "role needing an ExternalId, none given: AccessDenied")
    r = sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/d", RoleSessionName="sess",
                        ExternalId="billing-prod", DurationSeconds=7200)
    t.ok(r["Credentials"]["AccessKeyId"].startswith("ASIA"),
         "with the ExternalId and a raised maximum: granted")
    fake.control("/_fake/sts/role", {"role_arn": "arn:aws:iam::333333333333:role/no",
                                     "trusted": False})
    t.raises(lambda: sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/no",
                                     RoleSessionName="sess"), "AccessDenied",
             "untrusted role: AccessDenied")
    r = fake.control("/_fake/sts/expire", {"role_arn": "arn:aws:iam::333333333333:role/d",
                                           "in_seconds": 0})
    t.eq(r["expired"], 1, "control: expire the keys of one role")

    # -- call counts, per service and operation
    fake.control("/_fake/calls", method="DELETE")
    sqs = fake.client("sqs")
    q = sqs.create_queue(QueueName="counted")["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=q, MessageBody="x")
    calls = fake.control("/_fake/calls")
    t.eq(calls.get("sqs"), {"CreateQueue": 1, "SendMessage": 3},
         "call counts per service/operation")

    # -- the timeline: calls and S3 events with their times, while recording
    t.eq(fake.control("/_fake/timeline")["events"], [], "timeline: empty when off")
    fake.control("/_fake/timeline", {})
    before = time.time()
    sqs.send_message(QueueUrl=q, MessageBody="x")
    fake.control("/_fake/setup", {"account": K.TOOLS_ACCOUNT,
                                  "buckets": [{"name": "timeline-bucket"}],
                                  "queues": [{"name": "timeline-q"}],
                                  "notifications": [{"bucket": "timeline-bucket",
                                                     "queue": "timeline-q"}]})
    fake.client("s3").put_object(Bucket="timeline-bucket", Key="k", Body=b"z")
    ev = fake.control("/_fake/timeline")["events"]
    t.eq([(e["kind"], e["service"], e["operation"]) for e in ev],
         [("call", "sqs", "SendMessage"), ("enqueue", "sqs", "S3Event"),
          ("call", "s3", "PutObject")],
         "timeline: each call and the S3 event, in order")
    t.ok(ev[0]["subject"] == q and ev[1]["subject"].endswith(":timeline-q") and
         ev[2]["subject"] == "/timeline-bucket/k", "timeline: subjects", ev)
    t.ok(before <= ev[0]["t"] <= ev[1]["t"] <= time.time() and
         ev[0]["took"] >= 0 and ev[1]["took"] is None,
         "timeline: times and service times", ev)
    fake.control("/_fake/timeline", method="DELETE")
    sqs.send_message(QueueUrl=q, MessageBody="x")
    t.eq(fake.control("/_fake/timeline")["events"], [], "timeline: stopped")

    # -- fault injection as boto3 sees it (retries off)
    s3 = fake.client("s3")
    s3.create_bucket(Bucket="fault-bucket",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    ecr = fake.client("ecr")
    cf = fake.client("cloudformation")
    ses = fake.client("sesv2")
    cases = [
        ("s3", "ListObjectsV2", lambda: s3.list_objects_v2(Bucket="fault-bucket"),
         "SlowDown", 503),
        ("sqs", "SendMessage", lambda: sqs.send_message(QueueUrl=q, MessageBody="x"),
         "RequestThrottled", 400),
        ("sts", "GetCallerIdentity", lambda: sts.get_caller_identity(), "Throttling", 400),
        ("cloudformation", "DescribeStacks", lambda: cf.describe_stacks(), "Throttling",
         400),
        ("ecr", "DescribeRepositories", lambda: ecr.describe_repositories(),
         "ThrottlingException", 400),
        ("ses", "GetAccount", lambda: ses.get_account(), "TooManyRequestsException", 429),
    ]
    for svc, op, fn, code, status in cases:
        fake.control("/_fake/faults", {"service": svc, "operation": op,
                                       "mode": "throttle", "count": 1})
        t.raises(fn, code, "throttle %s %s: %s %d" % (svc, op, code, status), status)
        try:
            fn()
            t.ok(True, "%s %s: works again after count 1" % (svc, op))
        except Exception as e:
            t.ok(False, "%s %s: works again after count 1" % (svc, op), e)
    js = fake.sqs_json_client()
    fake.control("/_fake/faults", {"service": "sqs", "mode": "throttle"})
    t.raises(lambda: js.send_message(QueueUrl=q, MessageBody="x"), "RequestThrottled",
             "throttle SQS JSON: RequestThrottled (x-amzn-query-error)")
    for mode, code, status in (("error500", "InternalFailure", 500),
                               ("error503", "ServiceUnavailable", 503)):
        fake.control("/_fake/faults", {"service": "sts", "mode": mode})
        t.raises(lambda: sts.get_caller_identity(), code, "sts %s: %s" % (mode, code),
                 status)
    fake.control("/_fake/faults", {"service": "s3", "mode": "error500"})
    t.raises(lambda: s3.list_objects_v2(Bucket="fault-bucket"), "InternalError",
             "s3 error500: InternalError", 500)
    fake.control("/_fake/faults", {"service": "ecs", "mode": "error", "status": 400,
                                   "code": "AccessDeniedException", "message": "nope"})
    t.raises(lambda: fake.client("ecs").describe_clusters(), "AccessDeniedException",
             "custom error: code and status as given", 400)

    # Dropped connection, truncated and malformed bodies.
    from botocore.exceptions import (ConnectionClosedError, EndpointConnectionError,
                                     IncompleteReadError)
    from botocore.parsers import ResponseParserError
    fake.control("/_fake/faults", {"service": "sts", "mode": "drop"})
    try:
        sts.get_caller_identity()
        t.ok(False, "drop: boto3 sees a closed connection")
    except (ConnectionClosedError, EndpointConnectionError) as e:
        t.ok(True, "drop: boto3 sees a closed connection (%s)" % type(e).__name__)
    fake.control("/_fake/faults", {"service": "ecr", "mode": "malformed"})
    try:
        r = ecr.describe_repositories()
        t.ok("repositories" not in r,
             "malformed JSON body: boto3 gets no data (it keeps the text as a message)", r)
    except ResponseParserError:
        t.ok(True, "malformed JSON body: boto3 fails to parse")
    fake.control("/_fake/faults", {"service": "sts", "mode": "malformed"})
    try:
        sts.get_caller_identity()
        t.ok(False, "malformed XML body: boto3 fails to parse")
    except ResponseParserError:
        t.ok(True, "malformed XML body: boto3 fails to parse")
    s3.put_object(Bucket="fault-bucket", Key="big", Body=b"x" * 10000)
    fake.control("/_fake/faults", {"service": "s3", "operation": "GetObject",
                                   "mode": "truncate"})
    try:
        s3.get_object(Bucket="fault-bucket", Key="big")["Body"].read()
        t.ok(False, "truncated body: boto3 notices")
    except (IncompleteReadError, ConnectionClosedError, Exception) as e:
        t.ok("ncomplete" in type(e).__name__ or "ncomplete" in str(e) or
             "Connection" in type(e).__name__,
             "truncated body: boto3 notices (%s)" % type(e).__name__)
    # Truncation after the operation ran: the side effect happened.
    fake.control("/_fake/faults", {"service": "sqs", "operation": "SendMessage",
                                   "mode": "truncate"})
    before = int(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    try:
        sqs.send_message(QueueUrl=q, MessageBody="x")
    except Exception:
        pass
    after = int(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    t.eq(after, before + 1, "truncate: the operation itself ran")
    fake.control("/_fake/faults", {"service": "sts", "mode": "delay", "delay": 0.6})
    t0 = time.time()
    sts.get_caller_identity()
    took = time.time() - t0
    t.ok(took >= 0.6, "delay: the reply comes late (%.2fs)" % took)
    t.eq(fake.control("/_fake/faults")["faults"], [], "count-based faults are used up")

    # With retries on, boto3 retries the throttled calls and succeeds.
    fake.control("/_fake/faults", {"service": "sts", "operation": "GetCallerIdentity",
                                   "mode": "throttle", "count": 2})
    fake.control("/_fake/calls", method="DELETE")
    r = fake.client("sts", retries=4).get_caller_identity()
    t.eq(r["ResponseMetadata"]["RetryAttempts"], 2, "boto3 retried twice after throttling")
    t.eq(fake.control("/_fake/calls")["sts"]["GetCallerIdentity"], 3,
         "the fake counted 3 calls")
    # A rate: about half fail.
    fake.control("/_fake/faults", {"service": "sts", "mode": "throttle", "rate": 0.5})
    fails = 0
    for _ in range(20):
        try:
            sts.get_caller_identity()
        except Exception:
            fails += 1
    t.ok(1 <= fails <= 19, "rate 0.5: some calls fail (%d of 20)" % fails)
    fake.control("/_fake/faults", method="DELETE")
    t.ok(sts.get_caller_identity()["Account"] == K.TOOLS_ACCOUNT, "faults cleared")
    t.eq(fake.control("/_fake/faults", {"mode": "nonsense"}).get("_status"), 400,
         "control: a bad fault rule is refused with 400")

    # -- set-up helper, state dump, reset
    r = fake.control("/_fake/setup", {
        "account": "111111111111", "region": "eu-west-1",
        "buckets": [{"name": "setup-bucket"}], "queues": [{"name": "setup-q"}],
        "notifications": [{"bucket": "setup-bucket", "queue": "setup-q",
                           "prefix": "drops/"}],
        "repositories": [{"name": "billing/worker"}]})
    t.ok(r["buckets"] == ["setup-bucket"] and
         r["queues"][0]["arn"] == "arn:aws:sqs:eu-west-1:111111111111:setup-q",
         "control: setup creates resources in an account", r)
    s = fake.assume("111111111111")
    fake.client("s3", session=s).put_object(Bucket="setup-bucket", Key="drops/a.zip",
                                            Body=b"z")
    q2 = fake.client("sqs", session=s).get_queue_url(QueueName="setup-q")["QueueUrl"]
    m = fake.client("sqs", session=s).receive_message(QueueUrl=q2, WaitTimeSeconds=2)
    t.ok(json.loads(m["Messages"][0]["Body"])["Records"][0]["s3"]["object"]["key"] ==
         "drops/a.zip", "setup's notification delivers S3 events")
    st = fake.control("/_fake/state")
    t.ok("setup-bucket" in st["s3"] and "111111111111/eu-west-1/setup-q" in st["sqs"],
         "control: state dump")
    fake.control("/_fake/reset", {})
    st = fake.control("/_fake/state")
    t.ok(st["s3"] == {} and st["sqs"] == {} and st["calls"] == {}, "control: reset")
    t.eq(fake.control("/_fake/nothing").get("_status"), 404, "control: unknown path 404")
    t.ok(sts.get_caller_identity()["Account"] == K.TOOLS_ACCOUNT,
         "static key still works after reset")

    # -- the command line: pid file, port file, state dump on SIGTERM
    import signal
    extra = F.Fake(extra=["--state-dump", "STATE"])   # relative: see below
    try:
        pid = int(open(os.path.join(extra.dir, "pid")).read())
        t.eq(pid, extra.proc.pid, "--pid-file holds the PID")
        t.ok(open(os.path.join(extra.dir, "port")).read().endswith("\n"),
             "--port-file holds the port and a newline")
        extra.control("/_fake/setup", {"account": "111111111111",
                                       "buckets": [{"name": "dumped-bucket"}]})
        os.kill(pid, signal.SIGTERM)
        extra.proc.wait(10)
        t.eq(extra.proc.returncode, 0, "SIGTERM: exit status 0")
    finally:
        log = extra.stop()
    dump = json.load(open(os.path.join(extra.dir, "STATE")))
    t.ok("dumped-bucket" in dump["s3"], "--state-dump written on SIGTERM")
    t.ok("fakeaws listening on 127.0.0.1:%d" % extra.port in log,
         "prints its address on stdout")
    extra.cleanup()


def images(t, fake):
    """POST /_fake/ecr/tag as ECR's API sees it (issue 15)."""
    fake.control("/_fake/setup", {"account": K.TOOLS_ACCOUNT,
                                  "repositories": [{"name": "app/web"}]})
    ecr = fake.client("ecr")
    r = fake.control("/_fake/ecr/tag", {"account": K.TOOLS_ACCOUNT,
                                        "repository": "app/web", "tag": "1.0",
                                        "seed": "a"})
    first = r["digest"]
    t.ok(first.startswith("sha256:") and r["moved_from"] is None,
         "ecr/tag: a new image under the tag, its digest")
    got = ecr.batch_get_image(repositoryName="app/web", imageIds=[{"imageTag": "1.0"}])
    t.eq(got["images"][0]["imageId"]["imageDigest"], first,
         "BatchGetImage by tag gives that digest")
    import hashlib
    t.eq("sha256:" + hashlib.sha256(got["images"][0]["imageManifest"].encode())
         .hexdigest(), first, "the digest is the manifest's sha256")
    got = ecr.batch_get_image(repositoryName="app/web", imageIds=[{"imageDigest": first}])
    t.eq(len(got["images"]), 1, "BatchGetImage by digest")
    r = fake.control("/_fake/ecr/tag", {"account": K.TOOLS_ACCOUNT,
                                        "repository": "app/web", "tag": "1.0",
                                        "if_missing": True})
    t.eq((r["digest"], r["moved_from"]), (first, None),
         "ecr/tag if_missing: a tag already there is left alone")
    r = fake.control("/_fake/ecr/tag", {"account": K.TOOLS_ACCOUNT,
                                        "repository": "app/web", "tag": "1.0",
                                        "seed": "b"})
    t.ok(r["digest"] != first and r["moved_from"] == first,
         "ecr/tag again: the tag moves to another image")
    d = ecr.describe_images(repositoryName="app/web", imageIds=[{"imageDigest": first}])
    t.eq(d["imageDetails"][0].get("imageTags"), None,
         "the old image keeps no tag (DescribeImages)")
    got = ecr.batch_get_image(repositoryName="app/web", imageIds=[{"imageTag": "2.0"}])
    t.eq(got["failures"][0]["failureCode"], "ImageNotFound",
         "a tag never pushed: BatchGetImage's failure ImageNotFound")
    t.eq(fake.control("/_fake/ecr/tag", {"account": K.TOOLS_ACCOUNT,
                                         "repository": "no/such", "tag": "1"})
         .get("_status"), 400, "ecr/tag on a repository that does not exist: 400")
    t.eq(fake.control("/_fake/cfn/touch-stack", {"stack": "no-such-stack"})
         .get("_status"), 400, "cfn/touch-stack on no stack: 400")


def everything(t, fake):
    main(t, fake)
    images(t, fake)


if __name__ == "__main__":
    F.run(everything)
