#!/usr/bin/python3
"""The fake's SigV4 check: good requests pass, every kind of bad one gets the
service's own error, through boto3 and through hand-signed requests."""

import datetime
import http.client
import json
import os
import sys
import time
import urllib.request
from unittest import mock

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402
import fakeaws_keys as K                                 # noqa: E402

from botocore.auth import SigV4Auth, S3SigV4Auth         # noqa: E402
from botocore.awsrequest import AWSRequest               # noqa: E402
from botocore.credentials import Credentials             # noqa: E402


def signed(fake, method, path, service, body=b"", headers=None, region=F.REGION,
           key=K.ACCESS_KEY_ID, secret=K.SECRET_ACCESS_KEY, token=None, host=None,
           when=None, s3=False):
    """Sign with botocore and send over http.client; (status, headers, body)."""
    url = "http://%s%s" % (host or "127.0.0.1:%d" % fake.port, path)
    headers = dict(headers or {})
    if host:
        headers["Host"] = host
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    creds = Credentials(key, secret, token)
    signer = (S3SigV4Auth if s3 else SigV4Auth)(creds, service, region)
    if when is not None:
        fixed = datetime.datetime.utcfromtimestamp(when)
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = fixed
            dt.datetime.strptime = datetime.datetime.strptime
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    hdrs = dict(req.headers.items())
    conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def main(t, fake):
    # -- boto3 through every family with the static key
    t.eq(fake.client("sts").get_caller_identity()["Account"], K.TOOLS_ACCOUNT,
         "static key: sts GetCallerIdentity answers the tools account")
    t.ok("QueueUrls" not in fake.client("sqs").list_queues(), "static key: sqs (query)")
    t.ok(fake.client("ecr").describe_repositories()["repositories"] == [],
         "static key: ecr (JSON 1.1)")
    t.ok("Stacks" in fake.client("cloudformation").describe_stacks(), "static key: cfn")
    t.ok("SendingEnabled" in fake.client("sesv2").get_account(), "static key: sesv2")
    t.ok("Buckets" in fake.client("s3").list_buckets(), "static key: s3")

    # -- a wrong secret: each service's spelling
    bad = fake.session(secret=K.WRONG_SECRET)
    t.raises(lambda: fake.client("sts", session=bad).get_caller_identity(),
             "SignatureDoesNotMatch", "wrong secret: sts SignatureDoesNotMatch 403", 403)
    t.raises(lambda: fake.client("cloudformation", session=bad).describe_stacks(),
             "SignatureDoesNotMatch", "wrong secret: cfn SignatureDoesNotMatch 403", 403)
    t.raises(lambda: fake.client("sqs", session=bad).list_queues(),
             "SignatureDoesNotMatch", "wrong secret: sqs SignatureDoesNotMatch 403", 403)
    t.raises(lambda: fake.client("s3", session=bad).list_buckets(),
             "SignatureDoesNotMatch", "wrong secret: s3 SignatureDoesNotMatch 403", 403)
    t.raises(lambda: fake.client("ecs", session=bad).describe_clusters(),
             "InvalidSignatureException", "wrong secret: ecs InvalidSignatureException 400",
             400)
    t.raises(lambda: fake.client("ecr", session=bad).describe_repositories(),
             "InvalidSignatureException", "wrong secret: ecr InvalidSignatureException")
    t.raises(lambda: fake.client("sesv2", session=bad).get_account(),
             "InvalidSignatureException", "wrong secret: sesv2 InvalidSignatureException 403",
             403)

    # -- an unknown access key
    unk = fake.session(key="AKIAUNKNOWNKEY000000")
    t.raises(lambda: fake.client("sts", session=unk).get_caller_identity(),
             "InvalidClientTokenId", "unknown key: sts InvalidClientTokenId 403", 403)
    t.raises(lambda: fake.client("s3", session=unk).list_buckets(),
             "InvalidAccessKeyId", "unknown key: s3 InvalidAccessKeyId 403", 403)
    t.raises(lambda: fake.client("ecs", session=unk).describe_clusters(),
             "UnrecognizedClientException", "unknown key: ecs UnrecognizedClientException")

    # -- S3 error body carries the canonical request for debugging
    st, h, body = signed(fake, "GET", "/", "s3", s3=True, secret=K.WRONG_SECRET)
    t.ok(st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body and
         b"<CanonicalRequest>" in body and b"<StringToSign>" in body,
         "s3 SignatureDoesNotMatch body has CanonicalRequest and StringToSign", body)

    # -- a wrong region: not a region at all, or not allowed by the fake's config
    t.raises(lambda: fake.client("sts", region="xx-nowhere-9").get_caller_identity(),
             "SignatureDoesNotMatch", "scope with an unknown region: sts refuses")
    fake.control("/_fake/config", {"regions": ["eu-west-1"]})
    t.raises(lambda: fake.client("cloudformation", region="us-east-1").describe_stacks(),
             "SignatureDoesNotMatch", "scope region not served: cfn SignatureDoesNotMatch")
    t.raises(lambda: fake.client("ecr", region="us-east-1").describe_repositories(),
             "InvalidSignatureException", "scope region not served: ecr refuses")
    fake.control("/_fake/config", {"regions": None})
    st, h, body = signed(fake, "POST", "/", "sts", body=b"Action=GetCallerIdentity&"
                         b"Version=2011-06-15", headers={
                             "Content-Type": "application/x-www-form-urlencoded"},
                         region="us-east-1", host="sts.eu-west-1.amazonaws.com")
    t.ok(st == 403 and b"Credential should be scoped to a valid region" in body,
         "scope region differs from the Host's region: refused", body)
    # A bucket answers from its own region only.
    s3 = fake.client("s3")
    s3.create_bucket(Bucket="sig-bucket",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    st, h, body = signed(fake, "GET", "/sig-bucket?list-type=2", "s3", s3=True,
                         region="us-east-2")
    t.ok(st == 400 and b"AuthorizationHeaderMalformed" in body and
         b"<Region>eu-west-1</Region>" in body and
         h.get("x-amz-bucket-region") == "eu-west-1",
         "s3 bucket in another region: AuthorizationHeaderMalformed with Region", body)

    # -- a wrong service in the scope
    st, h, body = signed(fake, "POST", "/", "ecs", body=b"{}", headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "Content-Type": "application/x-amz-json-1.1"})
    t.ok(st == 400 and json.loads(body)["__type"] == "UnknownOperationException",
         "ECR target signed for ecs: refused", body)

    # -- a skewed clock (10 minutes either way)
    for delta, what in ((-600, "past"), (600, "future")):
        st, h, body = signed(fake, "POST", "/", "sts",
                             body=b"Action=GetCallerIdentity&Version=2011-06-15",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             when=time.time() + delta)
        t.ok(st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body and
             (b"Signature expired" in body or b"Signature not yet current" in body),
             "sts: clock %s by 10 min: SignatureDoesNotMatch (signature expired)" % what,
             body)
    st, h, body = signed(fake, "POST", "/", "ecs", body=b"{}", headers={
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
        "Content-Type": "application/x-amz-json-1.1"}, when=time.time() - 600)
    j = json.loads(body)
    t.ok(st == 400 and j["__type"] == "InvalidSignatureException" and
         j["message"].startswith("Signature expired:") and
         h.get("x-amzn-errortype") == "InvalidSignatureException",
         "ecs: skewed clock: InvalidSignatureException + x-amzn-ErrorType", body)
    st, h, body = signed(fake, "GET", "/", "s3", s3=True, when=time.time() - 3600)
    t.ok(st == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body and
         b"<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" in body,
         "s3: clock an hour off: RequestTimeTooSkewed 403", body)
    st, h, body = signed(fake, "GET", "/", "s3", s3=True, when=time.time() - 240)
    t.eq(st, 200, "s3: clock 4 minutes off is accepted")

    # -- session tokens: missing, wrong, expired
    sess = fake.assume("111111111111")
    c = sess.get_credentials().get_frozen_credentials()
    t.raises(lambda: fake.client("sts", session=fake.session(c.access_key, c.secret_key))
             .get_caller_identity(), "InvalidClientTokenId",
             "temporary key without its session token: InvalidClientTokenId")
    t.raises(lambda: fake.client("s3", session=fake.session(c.access_key, c.secret_key,
                                                            "wrongtoken")).list_buckets(),
             "InvalidToken", "s3: wrong session token: InvalidToken")
    r = fake.control("/_fake/sts/expire", {"access_key_id": c.access_key})
    t.eq(r.get("expired"), 1, "control: expire one issued key")
    t.raises(lambda: fake.client("sts", session=sess).get_caller_identity(),
             "ExpiredToken", "sts: expired token: ExpiredToken")
    t.raises(lambda: fake.client("s3", session=sess).list_buckets(),
             "ExpiredToken", "s3: expired token: ExpiredToken 400", 400)
    t.raises(lambda: fake.client("ecs", session=sess).describe_clusters(),
             "ExpiredTokenException", "ecs: expired token: ExpiredTokenException")
    t.raises(lambda: fake.client("sesv2", session=sess).get_account(),
             "ExpiredTokenException", "sesv2: expired token: ExpiredTokenException")

    # -- no signature at all
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request("GET", "/sig-bucket?list-type=2")
    r = conn.getresponse()
    body = r.read()
    t.ok(r.status == 403 and b"<Code>AccessDenied</Code>" in body,
         "s3 without Authorization: AccessDenied 403", body)
    conn.request("POST", "/", body="Action=GetCallerIdentity&Version=2011-06-15",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    body = r.read()
    t.ok(r.status == 403 and b"MissingAuthenticationToken" in body,
         "sts without Authorization: MissingAuthenticationToken (same connection)", body)
    conn.close()

    # -- payload hash: S3 checks x-amz-content-sha256 against the body
    st, h, body = signed(fake, "PUT", "/sig-bucket/k1", "s3", s3=True, body=b"hello")
    t.eq(st, 200, "s3 PutObject hand-signed with the body's hash")
    req = AWSRequest(method="PUT", url="http://127.0.0.1:%d/sig-bucket/k2" % fake.port,
                     data=b"hello")
    S3SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "s3",
                F.REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request("PUT", "/sig-bucket/k2", body=b"HELLO", headers=dict(req.headers.items()))
    r = conn.getresponse()
    body = r.read()
    t.ok(r.status == 400 and b"XAmzContentSHA256Mismatch" in body,
         "s3: body differs from x-amz-content-sha256: XAmzContentSHA256Mismatch", body)
    st, h, body = signed(fake, "PUT", "/sig-bucket/k3", "s3", s3=True, body=b"abc",
                         headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    t.eq(st, 200, "s3: UNSIGNED-PAYLOAD is accepted")
    # Non-S3 services sign the body itself: a changed body fails.
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % fake.port,
                     data=b"Action=GetCallerIdentity&Version=2011-06-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "sts",
              F.REGION).add_auth(req)
    conn.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-16",
                 headers=dict(req.headers.items()))
    r = conn.getresponse()
    body = r.read()
    t.ok(r.status == 403 and b"SignatureDoesNotMatch" in body,
         "sts: body changed after signing: SignatureDoesNotMatch", body)
    conn.close()

    # -- an x-amz-* header that was not signed
    req = AWSRequest(method="GET", url="http://127.0.0.1:%d/sig-bucket/k1" % fake.port)
    S3SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "s3",
                F.REGION).add_auth(req)
    hdrs = dict(req.headers.items())
    hdrs["x-amz-meta-extra"] = "1"
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request("GET", "/sig-bucket/k1", headers=hdrs)
    r = conn.getresponse()
    body = r.read()
    t.ok(r.status == 403 and b"HeadersNotSigned" in body,
         "s3: unsigned x-amz-* header: AccessDenied HeadersNotSigned", body)
    conn.close()

    # -- presigned URLs (query-string auth)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sig-bucket",
                                                          "Key": "k1"}, ExpiresIn=60)
    with urllib.request.urlopen(url) as r:
        t.eq(r.read(), b"hello", "presigned GET works")
    try:
        urllib.request.urlopen(url.replace("k1?", "k3?"))
        t.ok(False, "presigned URL for another key refused")
    except urllib.error.HTTPError as e:
        t.ok(e.code == 403 and b"SignatureDoesNotMatch" in e.read(),
             "presigned URL edited to another key: SignatureDoesNotMatch")
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = datetime.datetime.utcnow() - \
            datetime.timedelta(seconds=120)
        old = s3.generate_presigned_url("get_object", Params={"Bucket": "sig-bucket",
                                                              "Key": "k1"}, ExpiresIn=60)
    try:
        urllib.request.urlopen(old)
        t.ok(False, "expired presigned URL refused")
    except urllib.error.HTTPError as e:
        b = e.read()
        t.ok(e.code == 403 and b"Request has expired" in b,
             "expired presigned URL: AccessDenied, Request has expired", b)
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "sig-bucket",
                                                          "Key": "up"}, ExpiresIn=60)
    rq = urllib.request.Request(put, data=b"uploaded", method="PUT")
    with urllib.request.urlopen(rq) as r:
        t.eq(r.status, 200, "presigned PUT works")
    t.eq(s3.get_object(Bucket="sig-bucket", Key="up")["Body"].read(), b"uploaded",
         "presigned PUT stored the body")

    # -- SigV2 is refused, as in every region opened since 2014
    s3v2 = fake.client("s3", signature_version="s3")
    t.raises(lambda: s3v2.list_objects(Bucket="sig-bucket"), "InvalidRequest",
             "SigV2 (header): InvalidRequest, please use AWS4-HMAC-SHA256")

    # -- virtual-host-style addressing
    st, h, body = signed(fake, "GET", "/k1", "s3", s3=True,
                         host="sig-bucket.s3.eu-west-1.amazonaws.com")
    t.ok(st == 200 and body == b"hello", "virtual-host-style GetObject", body)

    # -- keep-alive: many requests on one connection, Content-Length on each
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    good = True
    for i in range(5):
        req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % fake.port,
                         data=b"Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "sts",
                  F.REGION).add_auth(req)
        conn.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        r.read()
        good = good and r.status == 200 and r.getheader("Content-Length") is not None \
            and not r.will_close
    # HEAD error: headers only, the connection stays usable.
    req = AWSRequest(method="HEAD", url="http://127.0.0.1:%d/sig-bucket/none" % fake.port)
    S3SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "s3",
                F.REGION).add_auth(req)
    conn.request("HEAD", "/sig-bucket/none", headers=dict(req.headers.items()))
    r = conn.getresponse()
    r.read()
    good = good and r.status == 404
    conn.request("GET", "/_fake/health")
    r = conn.getresponse()
    good = good and r.status == 200 and json.loads(r.read())["ok"]
    conn.close()
    t.ok(good, "keep-alive: 5 signed requests, a HEAD 404 and more on one connection")


if __name__ == "__main__":
    F.run(main)
