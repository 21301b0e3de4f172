#!/usr/bin/python3
"""Malformed requests get AWS's 4xx errors from the fake, never a 500 or a
Python traceback: wrong JSON types, bad base64, bad XML, bad templates,
broken auth headers."""

import http.client
import os
import sys

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402
import fakeaws_keys as K                                 # noqa: E402

from botocore.auth import SigV4Auth, S3SigV4Auth         # noqa: E402
from botocore.awsrequest import AWSRequest               # noqa: E402
from botocore.credentials import Credentials             # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNS = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}


def js(target, v="1.1"):
    return {"Content-Type": "application/x-amz-json-%s" % v, "X-Amz-Target": target}


ECS = "AmazonEC2ContainerServiceV20141113."
ECR = "AmazonEC2ContainerRegistry_V20150921."
Q = "http://x/000000000000/q2"
CASES = [
    # (method, path, body, headers, signing service, expected status, code in body)
    ("POST", "/", b"Action=CreateChangeSet&StackName=x&ChangeSetName=y&"
     b"Parameters.member.x.ParameterKey=a", FORM, "cloudformation", 400, b"ValidationError"),
    ("POST", "/", b"Action=CreateChangeSet&StackName=x&ChangeSetName=y&ChangeSetType=CREATE"
     b"&TemplateBody=%7B%7D", FORM, "cloudformation", 400, b"Template format error"),
    ("POST", "/", b"Action=CreateChangeSet&StackName=x&ChangeSetName=y&ChangeSetType=CREATE"
     b"&TemplateBody=Resources%3A%0A%20%20A%3A%20%21Ref", FORM, "cloudformation", 400,
     b"Every Resources object must contain a Type"),
    ("POST", "/", b"Action=CreateChangeSet&StackName=x&ChangeSetName=y&ChangeSetType=CREATE"
     b"&TemplateBody=Resources%3A%0A%20%20A%3A%0A%20%20%20%20Type%3A%20X%0A%20%20%20%20"
     b"Properties%3A%20%7BP%3A%20%21Ref%20Nope%7D", FORM, "cloudformation", 400,
     b"Unresolved resource dependencies [Nope]"),
    ("POST", "/", b"Action=CreateChangeSet&StackName=x&ChangeSetName=y&ChangeSetType=CREATE"
     b"&TemplateBody=%7B",
     FORM, "cloudformation", 400, b"JSON not well-formed"),
    ("POST", "/", b"Action=DescribeStackEvents&StackName=x&NextToken=zzz", FORM,
     "cloudformation", 400, b"ValidationError"),
    ("POST", "/", b"Action=AssumeRole&DurationSeconds=abc&RoleArn=arn:aws:iam::111111111111:"
     b"role/x&RoleSessionName=ab", FORM, "sts", 400, b"ValidationError"),
    ("POST", "/", b"Action=AssumeRole", FORM, "sts", 400, b"ValidationError"),
    ("POST", "/", b"Action=Nope", FORM, "sts", 400, b"InvalidAction"),
    ("POST", "/", b"\xff\xfe", FORM, "sts", 400, b"MalformedQueryString"),
    ("POST", "/", b"[1,2]", js(ECS + "DescribeServices"), "ecs", 400,
     b"SerializationException"),
    ("POST", "/", b"{not json", js(ECS + "DescribeServices"), "ecs", 400,
     b"SerializationException"),
    ("POST", "/", b'{"services": "web"}', js(ECS + "DescribeServices"), "ecs", 400,
     b"SerializationException"),
    ("POST", "/", b"{}", js(ECS + "DescribeServices"), "ecs", 400,
     b"InvalidParameterException"),
    ("POST", "/", b"{}", js(ECS + "Nope"), "ecs", 400, b"UnknownOperationException"),
    ("POST", "/", b'{"repositoryName": 5, "imageManifest": "{}"}', js(ECR + "PutImage"),
     "ecr", 400, b"SerializationException"),
    ("POST", "/", b'{"repositoryName": "a", "uploadId": "x", "partFirstByte": 0, '
     b'"partLastByte": 1, "layerPartBlob": "!!"}', js(ECR + "UploadLayerPart"), "ecr", 400,
     b"SerializationException"),
    ("POST", "/", b'{"QueueUrl": 7, "MessageBody": 5}', js("AmazonSQS.SendMessage", "1.0"),
     "sqs", 400, b"SerializationException"),
    ("POST", "/", b'{"QueueName": "q2"}', js("AmazonSQS.CreateQueue", "1.0"), "sqs", 200,
     b"QueueUrl"),
    ("POST", "/", b'{"QueueUrl": "%s", "MaxNumberOfMessages": "5"}' % Q.encode(),
     js("AmazonSQS.ReceiveMessage", "1.0"), "sqs", 400, b"SerializationException"),
    ("POST", "/", b'{"QueueUrl": "%s", "MessageBody": "x", "MessageAttributes": {"a": '
     b'{"DataType": "Binary", "BinaryValue": "!!notb64"}}}' % Q.encode(),
     js("AmazonSQS.SendMessage", "1.0"), "sqs", 400, b"SerializationException"),
    ("POST", "/", b'{"QueueUrl": "%s", "Attributes": {"RedrivePolicy": "[1]"}}' % Q.encode(),
     js("AmazonSQS.SetQueueAttributes", "1.0"), "sqs", 400, b"InvalidParameterValue"),
    ("POST", "/", b'{"QueueUrl": "%s"}' % Q.encode(), js("AmazonSQS.SendMessage", "1.0"),
     "sqs", 400, b"MissingParameter"),
    ("POST", "/", b"Action=SendMessage&QueueUrl=%s&MessageBody=" % Q.encode(), FORM, "sqs",
     400, b"MissingParameter"),
    ("POST", "/v2/email/outbound-emails", b'{"Content": "x"}',
     {"Content-Type": "application/json"}, "ses", 400, b"Unexpected"),
    ("POST", "/v2/email/outbound-emails", b'{"Content": {"Raw": {"Data": "!!!"}}}',
     {"Content-Type": "application/json"}, "ses", 400, b"base64"),
    ("GET", "/v2/email/nothing", b"", {}, "ses", 404, b"Resource not found"),
    ("PUT", "/okbucket", b"<CreateBucketConfiguration><LocationConstraint>eu-west-1"
     b"</LocationConstraint></CreateBucketConfiguration>", UNS, "s3", 200, b""),
    ("PUT", "/okbucket/k", b"data", UNS, "s3", 200, b""),
    ("PUT", "/okbucket?notification", b"<NotificationConfiguration><QueueConfiguration>"
     b"<Queue>x</Queue></QueueConfiguration></NotificationConfiguration>", UNS, "s3", 400,
     b"InvalidArgument"),
    ("PUT", "/okbucket?notification", b"<bad", UNS, "s3", 400, b"MalformedXML"),
    ("PUT", "/okbucket?versioning", b"<VersioningConfiguration><Status>Maybe</Status>"
     b"</VersioningConfiguration>", UNS, "s3", 400, b"MalformedXML"),
    ("GET", "/okbucket/k?versionId=zz", b"", UNS, "s3", 400, b"InvalidArgument"),
    ("PUT", "/okbucket/k3", b"", dict(UNS, **{"x-amz-copy-source": "/okbucket"}), "s3", 400,
     b"InvalidArgument"),
    ("GET", "/okbucket?list-type=2&max-keys=abc", b"", UNS, "s3", 400, b"InvalidArgument"),
    ("GET", "/okbucket/k", b"", dict(UNS, Range="bytes=zz"), "s3", 200, b"data"),
    ("GET", "/okbucket/k", b"", dict(UNS, Range="bytes=100-"), "s3", 416, b"InvalidRange"),
    # "s3raw": signed with the header's value as the payload hash
    ("PUT", "/okbucket/k", b"x", {"X-Amz-Content-SHA256": "nothex"}, "s3raw", 400,
     b"InvalidArgument"),
    ("PUT", "/okbucket/k", b"x", {"X-Amz-Content-SHA256":
                                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, "s3raw", 501,
     b"NotImplemented"),
    ("GET", "/", b"", {"Authorization": "AWS4-HMAC-SHA256 garbage"}, None, 400,
     b"AuthorizationHeaderMalformed"),
    ("GET", "/", b"", {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIASHIPGATETEST0001/"
                       "2026/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00"},
     None, 400, b"AuthorizationHeaderMalformed"),
    ("GET", "/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=zz", b"", {}, None, 400,
     b"AuthorizationQueryParametersError"),
    ("POST", "/", b"{}", {"X-Amz-Target": ECS + "DescribeClusters",
                          "Content-Type": "application/x-amz-json-1.1",
                          "Authorization": "AWS4-HMAC-SHA256 Credential=AKIASHIPGATETEST0001"
                          "/20260101/eu-west-1/lambda/aws4_request, SignedHeaders=host, "
                          "Signature=00"}, None, 400, b"scoped to correct service"),
]


def main(t, fake):
    for method, path, body, headers, service, status, want in CASES:
        h = dict(headers)
        if service:
            req = AWSRequest(method=method, url=fake.endpoint + path, data=body, headers=h)
            signer = S3SigV4Auth if service == "s3" else SigV4Auth
            signer(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY),
                   "s3" if service == "s3raw" else service, F.REGION).add_auth(req)
            h = dict(req.headers.items())
        c = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        got = r.read()
        c.close()
        t.ok(r.status == status and want in got, "%s %s %s: %d %s" % (
            service or "unsigned", method, body[:40] or path[:40], status,
            want.decode()), "%d %s" % (r.status, got[:300]))
    # A chunked request body (Transfer-Encoding: chunked) is read whole.
    req = AWSRequest(method="PUT", url=fake.endpoint + "/okbucket/chunked", data=b"",
                     headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
                              "Transfer-Encoding": "chunked"})
    SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "s3",
              F.REGION).add_auth(req)
    c = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    c.request("PUT", "/okbucket/chunked", body=iter([b"hello ", b"chunked ", b"world"]),
              headers=dict(req.headers.items()), encode_chunked=True)
    r = c.getresponse()
    r.read()
    c.close()
    s3 = fake.client("s3")
    t.ok(r.status == 200 and s3.get_object(Bucket="okbucket", Key="chunked")["Body"]
         .read() == b"hello chunked world", "chunked PUT body stored whole", r.status)
    log = fake.stop()
    t.ok("Traceback" not in log, "no traceback in the fake's log")


if __name__ == "__main__":
    F.run(main)
