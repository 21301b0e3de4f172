"""botocore's half of tests/bench/sigv4: signs the same SQS ReceiveMessage
and S3 GetObject as bench-sigv4.c with botocore's SigV4Auth/S3SigV4Auth.

    sigv4_botocore.py --verify TIME   print both Authorization headers
    sigv4_botocore.py [SECONDS]       time each case for about SECONDS
"""
import datetime
import sys
import time
import types

import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "ASIAQEXAMPLEBENCH123"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
ROUNDS = 5
TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLETOKENaCWV1LXdlc3QtMSJHMEUCIQD6EXAMPLEVzE5"
    "DaxkEXAMPLEuB5B6HhZ9s8P3bEXAMPLEAiBiEXAMPLEa1b2c3d4e5f6g7h8i9j0k"
    "Kp8CCBMQAhoMMTIzNDU2Nzg5MDEyIgxEXAMPLE0123456789abcdefghijklmnop"
    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/EXAMPLEEXAMPLEEXA"
    "MPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAM"
    "PLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMP"
    "LEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPL"
    "EEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE=="
)
SQS_BODY = (
    b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/'
    b'shipgate-releases","AttributeNames":["All"],'
    b'"MessageSystemAttributeNames":["ApproximateReceiveCount",'
    b'"SentTimestamp"],"MaxNumberOfMessages":10,'
    b'"VisibilityTimeout":300,"WaitTimeSeconds":20}'
)


def cases():
    creds = Credentials(AKID, SECRET, TOKEN)
    sqs = AWSRequest(
        "POST",
        "https://sqs.eu-west-1.amazonaws.com/",
        data=SQS_BODY,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.ReceiveMessage",
        },
    )
    s3 = AWSRequest(
        "GET",
        "https://shipgate-artifacts.s3.eu-west-1.amazonaws.com"
        "/releases/billing/1.4.2/bundle.zip",
    )
    return [
        ("sqs", auth.SigV4Auth(creds, "sqs", REGION), sqs),
        ("s3", auth.S3SigV4Auth(creds, "s3", REGION), s3),
    ]


def verify(t):
    fixed = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    fixed = fixed.replace(tzinfo=None)

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    # Older botocore asks datetime.datetime.utcnow(), newer
    # get_current_datetime().
    real = auth.datetime
    real_get = getattr(auth, "get_current_datetime", None)
    auth.datetime = types.SimpleNamespace(datetime=Fixed)
    if real_get is not None:
        auth.get_current_datetime = lambda remove_tzinfo=True: fixed
    try:
        for name, signer, req in cases():
            signer.add_auth(req)
            print(name, req.headers["Authorization"])
    finally:
        auth.datetime = real
        if real_get is not None:
            auth.get_current_datetime = real_get


def bench(seconds):
    total = 0.0
    figures = []
    for name, signer, req in cases():
        # add_auth replaces the headers it added last time, as on a
        # retry.  CPU time, the best of ROUNDS rounds, as in bench-sigv4.c.
        per_s = 0.0
        for _ in range(ROUNDS):
            n = 0
            start = time.thread_time()
            while True:
                for _ in range(100):
                    signer.add_auth(req)
                n += 100
                elapsed = time.thread_time() - start
                if elapsed >= seconds / ROUNDS:
                    break
            per_s = max(per_s, n / elapsed)
        total += 1 / per_s
        figures.append(f"{name}_botocore_per_s={per_s:.0f}")
        print(f"{name:<4} botocore {per_s:10.0f} signatures/s")
    print(" ".join(figures + [f"botocore_per_s={len(figures) / total:.0f}"]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(int(sys.argv[2]))
    else:
        bench(float(sys.argv[1]) if len(sys.argv) == 2 else 1.0)


if __name__ == "__main__":
    main()
