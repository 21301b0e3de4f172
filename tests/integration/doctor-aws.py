#!/usr/bin/python3
"""Breaks (and mends) the sandbox's release bucket and queue the way a
person setting up AWS by hand does, through the fake's signed API, for
test-doctor.sh:

    doctor-aws.py URL notify-other     the bucket notifies another queue
    doctor-aws.py URL notify-ours      ... the configured one again
    doctor-aws.py URL notify-narrow    ... of drops/billing/ only (narrower)
    doctor-aws.py URL no-redrive       the queue loses its redrive policy
    doctor-aws.py URL policy-other     the queue policy admits another bucket
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "fakeaws"))
import fakeaws_keys as K                                  # noqa: E402
import boto3                                              # noqa: E402
from botocore.config import Config                        # noqa: E402


def client(url, service):
    return boto3.client(service, endpoint_url=url, region_name=K.DEFAULT_REGION,
                        aws_access_key_id=K.ACCESS_KEY_ID,
                        aws_secret_access_key=K.SECRET_ACCESS_KEY,
                        config=Config(signature_version="s3v4",
                                      s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def notify(url, queue, prefix="drops/"):
    s3, sqs = client(url, "s3"), client(url, "sqs")
    q = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # S3 refuses a destination whose policy does not admit the bucket.
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {
                "aws:SourceArn": "arn:aws:s3:::releases-billing"}}}]})})
    s3.put_bucket_notification_configuration(
        Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
            {"Id": "shipgate-drops", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [
                 {"Name": "prefix", "Value": prefix}]}}}]})
    # The configuration's s3:TestEvent is not a release: drain it.
    for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get(
            "Messages", []):
        if "s3:TestEvent" in m["Body"]:
            sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])


def main():
    url, what = sys.argv[1], sys.argv[2]
    sqs = client(url, "sqs")
    q = sqs.get_queue_url(QueueName="billing-drops")["QueueUrl"]
    if what == "notify-other":
        notify(url, "someone-elses-queue")
    elif what == "notify-ours":
        notify(url, "billing-drops")
    elif what == "notify-narrow":
        notify(url, "billing-drops", "drops/billing/")
    elif what == "no-redrive":
        sqs.set_queue_attributes(QueueUrl=q, Attributes={"RedrivePolicy": ""})
    elif what == "policy-other":
        arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": arn,
                "Condition": {"ArnLike": {
                    "aws:SourceArn": "arn:aws:s3:::releases-payroll"}}}]})})
    else:
        sys.exit("doctor-aws.py: unknown %s" % what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
