#!/usr/bin/python3
"""The fake checks the signature before anything else, as AWS does: a badly
signed request that is also malformed gets the authentication error, never
a validation error, and is counted as rejected, never as a call.  The date
must be among the signed headers."""

import http.client
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402
import fakeaws_keys as K                                 # noqa: E402

from botocore.auth import SigV4Auth, S3SigV4Auth, S3SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest               # noqa: E402
from botocore.credentials import Credentials             # noqa: E402


def without_date(cls):
    """A signer that leaves x-amz-date out of SignedHeaders (the header is
    still sent, and the date is still in the string to sign)."""
    class Signer(cls):
        def headers_to_sign(self, request):
            h = cls.headers_to_sign(self, request)
            del h["x-amz-date"]
            return h
    return Signer


def send(fake, method, path, service, body=b"", headers=None,
         secret=K.SECRET_ACCESS_KEY, signer=None, sign=True):
    """(status, headers, body) of a hand-signed request."""
    url = "http://127.0.0.1:%d%s" % (fake.port, path)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        cls = signer or (S3SigV4Auth if service == "s3" else SigV4Auth)
        cls(Credentials(K.ACCESS_KEY_ID, secret), service, F.REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request(method, path, body=body, headers=dict(req.headers.items()))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def code_of(data):
    """The error code of an XML or JSON error body."""
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        return json.loads(text).get("__type", "").split("#")[-1]
    a = text.find("<Code>")
    return text[a + 6:text.find("</Code>")] if a >= 0 else text


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def json_hdr(target, version="1.1"):
    return {"Content-Type": "application/x-amz-json-%s" % version,
            "X-Amz-Target": target}


def main(t, fake):
    ecs = "AmazonEC2ContainerServiceV20141113."
    # Malformed requests, each with what a good signature gets and what a
    # bad one must get instead.
    cases = [
        ("cfn unknown Action", "POST", "/", "cloudformation",
         b"Action=NoSuchOperation&Version=2010-05-15", FORM,
         "InvalidAction", "SignatureDoesNotMatch"),
        ("cfn no Action", "POST", "/", "cloudformation", b"Version=2010-05-15", FORM,
         "MissingAction", "SignatureDoesNotMatch"),
        ("cfn bad number", "POST", "/", "cloudformation",
         b"Action=DescribeStackEvents&Version=2010-05-15&StackName=x&NextToken=a"
         b"&MaxResults=many", FORM, None, "SignatureDoesNotMatch"),
        ("ecs body not JSON", "POST", "/", "ecs", b"{not json",
         json_hdr(ecs + "DescribeClusters"), "SerializationException",
         "InvalidSignatureException"),
        ("ecs required member missing", "POST", "/", "ecs", b"{}",
         json_hdr(ecs + "DescribeServices"), "InvalidParameterException",
         "InvalidSignatureException"),
        ("ecs unknown operation", "POST", "/", "ecs", b"{}",
         json_hdr(ecs + "NoSuchOperation"), "UnknownOperationException",
         "InvalidSignatureException"),
        ("sqs json required member missing", "POST", "/", "sqs", b"{}",
         json_hdr("AmazonSQS.SendMessage", "1.0"), "MissingParameter",
         "SignatureDoesNotMatch"),
    ]
    fake.control("/_fake/calls", method="DELETE")
    fake.control("/_fake/rejected", method="DELETE")
    for name, method, path, svc, body, hdrs, good_code, bad_code in cases:
        if good_code is not None:
            s, h, d = send(fake, method, path, svc, body, hdrs)
            t.eq(code_of(d), good_code, "%s, well signed: %s" % (name, good_code))
        s, h, d = send(fake, method, path, svc, body, hdrs, secret=K.WRONG_SECRET)
        t.eq(code_of(d), bad_code, "%s, badly signed: %s, not a validation "
             "error" % (name, bad_code))
    s, h, d = send(fake, "POST", "/", "cloudformation",
                   b"Action=DescribeStacks&Version=2010-05-15", FORM, sign=False)
    t.eq(code_of(d), "MissingAuthenticationToken", "cfn unsigned: "
         "MissingAuthenticationToken")

    # Badly signed, well-formed calls that would change something.
    s, h, d = send(fake, "POST", "/", "sqs",
                   json.dumps({"QueueName": "never-made"}).encode(),
                   json_hdr("AmazonSQS.CreateQueue", "1.0"), secret=K.WRONG_SECRET)
    t.eq(code_of(d), "SignatureDoesNotMatch", "sqs CreateQueue badly signed refused")
    s, h, d = send(fake, "PUT", "/never-made-bucket", "s3", b"", None,
                   secret=K.WRONG_SECRET)
    t.eq((s, code_of(d)), (403, "SignatureDoesNotMatch"),
         "s3 CreateBucket badly signed: 403 SignatureDoesNotMatch")
    st = fake.control("/_fake/state")
    t.ok(all("never-made" not in json.dumps(v) for v in (st["sqs"], st["s3"])),
         "nothing a badly signed call asked for was made")

    calls = fake.control("/_fake/calls")
    t.eq(calls.get("sqs"), None, "no badly signed call counted as an SQS call")
    t.eq(calls.get("s3"), None, "... nor as an S3 call")
    t.ok("NoSuchOperation" not in json.dumps(calls) and
         "DescribeStackEvents" not in json.dumps(calls),
         "no call that failed validation is counted either", calls)
    rej = fake.control("/_fake/rejected")
    t.eq(rej["auth"].get("cloudformation"), {"SignatureDoesNotMatch": 3,
                                             "MissingAuthenticationToken": 1},
         "rejected: 3 badly signed and 1 unsigned CloudFormation requests")
    t.eq(rej["auth"].get("ecs"), {"InvalidSignatureException": 3},
         "rejected: 3 badly signed ECS requests")
    t.eq(rej["auth"].get("sqs"), {"SignatureDoesNotMatch": 2},
         "rejected: 2 badly signed SQS requests")
    t.eq(rej["auth"].get("s3"), {"SignatureDoesNotMatch": 1},
         "rejected: 1 badly signed S3 request")
    t.ok("rejected" in fake.control("/_fake/state"), "/_fake/state shows rejected")
    fake.control("/_fake/rejected", method="DELETE")
    t.eq(fake.control("/_fake/rejected"), {"auth": {}, "throttled": {}},
         "DELETE /_fake/rejected clears the counts")

    # -- the date must be signed
    s, h, d = send(fake, "POST", "/", "cloudformation",
                   b"Action=DescribeStacks&Version=2010-05-15", FORM)
    t.eq(s, 200, "cfn DescribeStacks with x-amz-date signed: 200")
    s, h, d = send(fake, "POST", "/", "cloudformation",
                   b"Action=DescribeStacks&Version=2010-05-15", FORM,
                   signer=without_date(SigV4Auth))
    t.eq((s, code_of(d)), (400, "IncompleteSignature"),
         "cfn: x-amz-date not signed: 400 IncompleteSignature")
    t.ok(b"X-Amz-Date" in d, "... the message names X-Amz-Date", d)
    s, h, d = send(fake, "POST", "/", "ecs", b"{}",
                   json_hdr(ecs + "DescribeClusters"), signer=without_date(SigV4Auth))
    t.eq((s, code_of(d)), (400, "IncompleteSignatureException"),
         "ecs: x-amz-date not signed: 400 IncompleteSignatureException")
    s, h, d = send(fake, "GET", "/", "s3", b"", None,
                   signer=without_date(S3SigV4Auth))
    t.eq((s, code_of(d)), (403, "AccessDenied"), "s3: x-amz-date not signed: "
         "403 AccessDenied")
    t.ok(b"x-amz-date" in d, "... HeadersNotSigned names x-amz-date", d)

    # Presigned: X-Amz-Date is in the signed query string; without it the
    # URL is refused, and changing it breaks the signature.
    fake.client("s3").create_bucket(
        Bucket="strict", CreateBucketConfiguration={"LocationConstraint": F.REGION})
    fake.client("s3").put_object(Bucket="strict", Key="k", Body=b"v")
    req = AWSRequest(method="GET", url="http://127.0.0.1:%d/strict/k" % fake.port)
    S3SigV4QueryAuth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "s3",
                     F.REGION, expires=300).add_auth(req)
    url = req.url
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)

    def get(u):
        p = urllib.parse.urlsplit(u)
        conn.request("GET", p.path + "?" + p.query)
        r = conn.getresponse()
        return r.status, r.read()
    s, d = get(url)
    t.eq((s, d), (200, b"v"), "presigned GET with X-Amz-Date: 200")
    q = [(k, v) for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)]
    nodate = [(k, v) for k, v in q if k != "X-Amz-Date"]
    s, d = get("/strict/k?" + urllib.parse.urlencode(nodate))
    t.eq((s, code_of(d)), (400, "AuthorizationQueryParametersError"),
         "presigned without X-Amz-Date: 400 AuthorizationQueryParametersError")
    moved = [(k, v[:-3] + ("00Z" if v[-3:] != "00Z" else "01Z"))
             if k == "X-Amz-Date" else (k, v) for k, v in q]
    s, d = get("/strict/k?" + urllib.parse.urlencode(moved))
    t.eq((s, code_of(d)), (403, "SignatureDoesNotMatch"),
         "presigned with another X-Amz-Date: 403 SignatureDoesNotMatch")
    conn.close()


if __name__ == "__main__":
    F.run(main)
