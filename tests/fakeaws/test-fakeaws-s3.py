#!/usr/bin/python3
"""S3 through boto3: buckets, objects, listing, versioning, errors, and the
event notifications to SQS checked field by field against AWS's example."""

import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402


def shape(v):
    """The structure of a JSON value: keys and scalar types, not values."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    return type(v).__name__


def admit(sqs, q, arn, *buckets):
    """The queue policy S3 needs before it notifies q (as
    aws/shipgate-tools.yaml writes it)."""
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnLike": {"aws:SourceArn": [
                "arn:aws:s3:::" + b for b in buckets]}}}]})})


def main(t, fake):
    s3 = fake.client("s3")
    sqs = fake.client("sqs")
    cfg = {"LocationConstraint": "eu-west-1"}

    r = s3.create_bucket(Bucket="releases-billing", CreateBucketConfiguration=cfg)
    t.eq(r["ResponseMetadata"]["HTTPStatusCode"], 200, "CreateBucket")
    t.raises(lambda: s3.create_bucket(Bucket="releases-billing",
                                      CreateBucketConfiguration=cfg),
             "BucketAlreadyOwnedByYou", "CreateBucket again: BucketAlreadyOwnedByYou 409", 409)
    other = fake.assume("111111111111")
    t.raises(lambda: fake.client("s3", session=other).create_bucket(
        Bucket="releases-billing", CreateBucketConfiguration=cfg),
        "BucketAlreadyExists", "CreateBucket taken by another account: BucketAlreadyExists")
    t.raises(lambda: s3.create_bucket(Bucket="Bad_Name", CreateBucketConfiguration=cfg),
             "InvalidBucketName", "CreateBucket bad name: InvalidBucketName")
    t.raises(lambda: s3.create_bucket(Bucket="wrong-region-bucket",
                                      CreateBucketConfiguration={
                                          "LocationConstraint": "us-west-2"}),
             "IllegalLocationConstraintException",
             "CreateBucket constraint != endpoint region: IllegalLocationConstraintException")
    t.eq(s3.head_bucket(Bucket="releases-billing")["ResponseMetadata"]["HTTPHeaders"]
         ["x-amz-bucket-region"], "eu-west-1", "HeadBucket gives x-amz-bucket-region")
    t.raises(lambda: s3.head_bucket(Bucket="no-such-bucket"), "404",
             "HeadBucket missing: 404 (no body)")
    t.eq(s3.get_bucket_location(Bucket="releases-billing")["LocationConstraint"],
         "eu-west-1", "GetBucketLocation")
    t.ok(any(b["Name"] == "releases-billing" for b in s3.list_buckets()["Buckets"]),
         "ListBuckets lists the bucket")
    t.raises(lambda: fake.client("s3", session=other).list_objects_v2(
        Bucket="releases-billing"), "AccessDenied",
        "another account without a bucket policy: AccessDenied")

    # -- objects
    body = b"zip bytes \x00\x01"
    r = s3.put_object(Bucket="releases-billing", Key="notes/a.txt", Body=body,
                      ContentType="text/plain", Metadata={"app": "billing"})
    t.eq(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest(), "PutObject ETag is the MD5")
    g = s3.get_object(Bucket="releases-billing", Key="notes/a.txt")
    t.ok(g["Body"].read() == body and g["ContentType"] == "text/plain" and
         g["Metadata"] == {"app": "billing"} and g["ContentLength"] == len(body),
         "GetObject returns body, type, metadata, length")
    h = s3.head_object(Bucket="releases-billing", Key="notes/a.txt")
    t.eq((h["ContentLength"], h["ETag"]), (len(body), r["ETag"]), "HeadObject")
    g = s3.get_object(Bucket="releases-billing", Key="notes/a.txt", Range="bytes=0-2")
    t.eq((g["Body"].read(), g["ContentRange"]), (b"zip", "bytes 0-2/%d" % len(body)),
         "GetObject Range: 206 with Content-Range")
    t.raises(lambda: s3.get_object(Bucket="releases-billing", Key="nope"), "NoSuchKey",
             "GetObject missing: NoSuchKey 404", 404)
    t.raises(lambda: s3.head_object(Bucket="releases-billing", Key="nope"), "404",
             "HeadObject missing: 404")
    t.raises(lambda: s3.get_object(Bucket="no-such-bucket", Key="x"), "NoSuchBucket",
             "GetObject in a missing bucket: NoSuchBucket")
    t.raises(lambda: s3.put_object(Bucket="releases-billing", Key="bad", Body=b"x",
                                   ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="),
             "BadDigest", "PutObject with a wrong Content-MD5: BadDigest")
    s3.copy_object(Bucket="releases-billing", Key="notes/copy.txt",
                   CopySource={"Bucket": "releases-billing", "Key": "notes/a.txt"})
    t.eq(s3.get_object(Bucket="releases-billing", Key="notes/copy.txt")["Body"].read(),
         body, "CopyObject")
    s3.delete_object(Bucket="releases-billing", Key="notes/copy.txt")
    t.raises(lambda: s3.get_object(Bucket="releases-billing", Key="notes/copy.txt"),
             "NoSuchKey", "DeleteObject removes the object")

    # -- listing with pagination, prefix, delimiter, url encoding
    for i in range(7):
        s3.put_object(Bucket="releases-billing", Key="list/k%02d with space" % i, Body=b"x")
    keys, token, pages = [], None, 0
    while True:
        kw = {"Bucket": "releases-billing", "Prefix": "list/", "MaxKeys": 3}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        pages += 1
        keys += [c["Key"] for c in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    t.eq((pages, keys), (3, ["list/k%02d with space" % i for i in range(7)]),
         "ListObjectsV2: 3 pages of max 3 with continuation tokens, keys decoded")
    r = s3.list_objects_v2(Bucket="releases-billing", Delimiter="/")
    t.eq(sorted(p["Prefix"] for p in r.get("CommonPrefixes", [])), ["list/", "notes/"],
         "ListObjectsV2 with a delimiter gives CommonPrefixes")
    r = s3.list_objects_v2(Bucket="releases-billing", Prefix="list/", StartAfter="list/k04 with space")
    t.eq(r["KeyCount"], 2, "ListObjectsV2 StartAfter")
    t.raises(lambda: s3.list_objects_v2(Bucket="releases-billing",
                                        ContinuationToken="garbage"),
             "InvalidArgument", "ListObjectsV2 bad continuation token: InvalidArgument")
    r = s3.list_objects(Bucket="releases-billing", Prefix="list/", MaxKeys=100)
    t.eq(len(r["Contents"]), 7, "ListObjects (v1)")

    # -- versioning
    s3.create_bucket(Bucket="versioned-bucket", CreateBucketConfiguration=cfg)
    s3.put_bucket_versioning(Bucket="versioned-bucket",
                             VersioningConfiguration={"Status": "Enabled"})
    t.eq(s3.get_bucket_versioning(Bucket="versioned-bucket")["Status"], "Enabled",
         "GetBucketVersioning")
    v1 = s3.put_object(Bucket="versioned-bucket", Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="versioned-bucket", Key="k", Body=b"two")["VersionId"]
    t.ok(v1 and v2 and v1 != v2, "PutObject in a versioned bucket returns VersionIds")
    t.eq(s3.get_object(Bucket="versioned-bucket", Key="k", VersionId=v1)["Body"].read(),
         b"one", "GetObject by VersionId")
    t.raises(lambda: s3.get_object(Bucket="versioned-bucket", Key="k",
                                   VersionId="A" * 32), "NoSuchVersion",
             "GetObject unknown version: NoSuchVersion")
    d = s3.delete_object(Bucket="versioned-bucket", Key="k")
    t.ok(d.get("DeleteMarker") is True, "DeleteObject on versioned bucket: delete marker")
    t.raises(lambda: s3.get_object(Bucket="versioned-bucket", Key="k"), "NoSuchKey",
             "latest is a delete marker: NoSuchKey")
    vs = s3.list_object_versions(Bucket="versioned-bucket")
    t.eq((len(vs.get("Versions", [])), len(vs.get("DeleteMarkers", []))), (2, 1),
         "ListObjectVersions")

    # -- bucket policy (lets another account in)
    s3.put_bucket_policy(Bucket="releases-billing", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    t.ok("Policy" in s3.get_bucket_policy(Bucket="releases-billing"), "GetBucketPolicy")
    t.eq(fake.client("s3", session=other).list_objects_v2(
        Bucket="releases-billing", Prefix="notes/")["KeyCount"], 1,
        "another account with a bucket policy can list")
    t.raises(lambda: s3.get_bucket_policy(Bucket="versioned-bucket"),
             "NoSuchBucketPolicy", "GetBucketPolicy none: NoSuchBucketPolicy")
    s3.create_bucket(Bucket="policy-bucket", CreateBucketConfiguration=cfg)
    s3.put_bucket_policy(Bucket="policy-bucket", Policy="{}")
    s3.delete_bucket_policy(Bucket="policy-bucket")
    t.raises(lambda: s3.get_bucket_policy(Bucket="policy-bucket"),
             "NoSuchBucketPolicy", "DeleteBucketPolicy")
    t.raises(lambda: s3.put_bucket_policy(Bucket="policy-bucket", Policy="not json"),
             "MalformedPolicy", "PutBucketPolicy not JSON: MalformedPolicy")

    # -- event notifications
    q = sqs.create_queue(QueueName="billing-drops")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    t.raises(lambda: s3.put_bucket_notification_configuration(
        Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn + "-missing", "Events": ["s3:ObjectCreated:*"]}]}),
        "InvalidArgument", "notification to a missing queue: InvalidArgument")
    t.raises(lambda: s3.put_bucket_notification_configuration(
        Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectEaten:*"]}]}),
        "InvalidArgument", "notification with an unknown event: InvalidArgument")
    # S3 checks that the queue's policy lets it send the bucket's events.
    from botocore.exceptions import ClientError
    try:
        s3.put_bucket_notification_configuration(
            Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        t.ok(False, "notification to a queue without a policy: InvalidArgument")
    except ClientError as e:
        t.ok(e.response["Error"]["Code"] == "InvalidArgument" and
             "do not allow S3 to publish" in str(e.response["Error"]),
             "notification to a queue without a policy: InvalidArgument naming "
             "the permissions", str(e.response["Error"]))
    admit(sqs, q, arn, "releases-other")
    t.raises(lambda: s3.put_bucket_notification_configuration(
        Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}),
        "InvalidArgument", "notification to a queue admitting another bucket: "
        "InvalidArgument")
    admit(sqs, q, arn, "releases-billing", "versioned-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
            {"Id": "shipgate-drops", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "drops/"},
                                                {"Name": "suffix", "Value": ".zip"}]}}}]})
    nc = s3.get_bucket_notification_configuration(Bucket="releases-billing")
    qc = nc["QueueConfigurations"][0]
    t.ok(qc["Id"] == "shipgate-drops" and qc["QueueArn"] == arn and
         qc["Events"] == ["s3:ObjectCreated:*"] and
         len(qc["Filter"]["Key"]["FilterRules"]) == 2,
         "GetBucketNotificationConfiguration round-trips")
    m = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2)["Messages"]
    test_event = json.loads(m[0]["Body"])
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m[0]["ReceiptHandle"])
    ex_dir = F.shared()
    if ex_dir:
        ex = json.load(open(os.path.join(ex_dir, "testdata/cfn/aws-examples/"
                                         "s3-test-event.json")))
        t.eq(shape(test_event), shape(ex), "s3:TestEvent has the fields of AWS's example")
    else:
        t.skip("SHIPGATE_SHARED not set")
    t.ok(test_event["Event"] == "s3:TestEvent" and test_event["Bucket"] ==
         "releases-billing" and "Records" not in test_event,
         "s3:TestEvent names the bucket and has no Records")

    s3.put_object(Bucket="releases-billing", Key="drops/other.txt", Body=b"x")
    key = "drops/billing 1.4.2+build.zip"
    data = b"PK\x03\x04 release"
    put = s3.put_object(Bucket="releases-billing", Key=key, Body=data)
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2,
                               MaxNumberOfMessages=10)["Messages"]
    t.eq(len(msgs), 1, "only the object matching prefix and suffix notifies")
    ev = json.loads(msgs[0]["Body"])
    rec = ev["Records"][0]
    if ex_dir:
        ex = json.load(open(os.path.join(ex_dir, "testdata/cfn/aws-examples/"
                                         "s3-event-objectcreated-put-v2.1.json")))
        exr = ex["Records"][0]
        ours = shape(rec)
        del exr["s3"]["object"]["versionId"]   # present only on versioned buckets
        t.eq(ours, shape(exr), "event record has exactly the fields and types of "
             "AWS's ObjectCreated:Put example (unversioned bucket)")
        t.eq(list(rec.keys()), list(exr.keys()), "event record keys in AWS's order")
    else:
        t.skip("SHIPGATE_SHARED not set")
        t.skip("SHIPGATE_SHARED not set")
    o = rec["s3"]["object"]
    t.eq(rec["eventVersion"], "2.1", "eventVersion 2.1")
    t.eq(rec["eventSource"], "aws:s3", "eventSource aws:s3")
    t.eq(rec["awsRegion"], "eu-west-1", "awsRegion is the bucket's")
    t.eq(rec["eventName"], "ObjectCreated:Put", "eventName ObjectCreated:Put (no s3:)")
    t.ok(rec["eventTime"].endswith("Z") and len(rec["eventTime"]) == 24,
         "eventTime is ISO 8601 with milliseconds")
    t.eq(rec["s3"]["bucket"]["name"], "releases-billing", "s3.bucket.name")
    t.eq(rec["s3"]["bucket"]["arn"], "arn:aws:s3:::releases-billing", "s3.bucket.arn")
    t.eq(rec["s3"]["configurationId"], "shipgate-drops", "s3.configurationId")
    t.eq(o["key"], "drops/billing+1.4.2%2Bbuild.zip", "s3.object.key is URL-encoded")
    t.eq(o["size"], len(data), "s3.object.size is a number")
    t.eq(o["eTag"], hashlib.md5(data).hexdigest(), "s3.object.eTag (no quotes)")
    t.eq(o["eTag"], put["ETag"].strip('"'), "s3.object.eTag matches PutObject's ETag")
    t.ok("versionId" not in o, "no versionId on an unversioned bucket")
    t.ok(isinstance(o["sequencer"], str) and len(o["sequencer"]) >= 16,
         "s3.object.sequencer is a hex string")
    t.eq(rec["responseElements"]["x-amz-request-id"],
         put["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"],
         "responseElements x-amz-request-id is PutObject's request id")

    # A versioned bucket's events carry versionId, and sequencers grow per key.
    s3.put_bucket_notification_configuration(
        Bucket="versioned-bucket", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"]}]})
    sqs.purge_queue(QueueUrl=q)
    p1 = s3.put_object(Bucket="versioned-bucket", Key="drops/x.zip", Body=b"1")
    p2 = s3.put_object(Bucket="versioned-bucket", Key="drops/x.zip", Body=b"2")
    got = []
    for _ in range(4):
        for mm in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1,
                                      MaxNumberOfMessages=10).get("Messages", []):
            b = json.loads(mm["Body"])
            if "Records" in b:
                got.append(b["Records"][0]["s3"]["object"])
        if len(got) >= 2:
            break
    t.eq([g["versionId"] for g in got], [p1["VersionId"], p2["VersionId"]],
         "versioned bucket: events carry versionId")
    t.ok(len(got) == 2 and int(got[0]["sequencer"], 16) < int(got[1]["sequencer"], 16),
         "sequencer increases for later events of the same key")

    # -- multipart upload (what the AWS CLI does for large release zips)
    big = os.urandom(5 * 1024 * 1024) + b"tail" * 1000
    from boto3.s3.transfer import TransferConfig
    import io
    q2 = sqs.create_queue(QueueName="mp-events")["QueueUrl"]
    arn2 = sqs.get_queue_attributes(QueueUrl=q2, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="mp-bucket", CreateBucketConfiguration=cfg)
    admit(sqs, q2, arn2, "mp-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="mp-bucket", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn2, "Events": ["s3:ObjectCreated:*",
                                          "s3:ObjectRemoved:*"]}]})
    s3.upload_fileobj(io.BytesIO(big), "mp-bucket", "drops/big.zip",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                            multipart_chunksize=5 * 1024 * 1024,
                                            use_threads=False))
    h = s3.head_object(Bucket="mp-bucket", Key="drops/big.zip")
    parts = [hashlib.md5(big[:5 * 1024 * 1024]).digest(),
             hashlib.md5(big[5 * 1024 * 1024:]).digest()]
    t.ok(h["ContentLength"] == len(big) and h["ETag"] == '"%s-2"' %
         hashlib.md5(b"".join(parts)).hexdigest(),
         "multipart upload: size and the multipart ETag (md5 of md5s, -2)", h["ETag"])
    t.eq(s3.get_object(Bucket="mp-bucket", Key="drops/big.zip")["Body"].read(), big,
         "multipart upload: the object is the parts joined")
    evs = []
    for _ in range(3):
        for mm in sqs.receive_message(QueueUrl=q2, WaitTimeSeconds=1,
                                      MaxNumberOfMessages=10).get("Messages", []):
            b_ = json.loads(mm["Body"])
            if "Records" in b_:
                evs.append(b_["Records"][0])
        if evs:
            break
    t.ok(evs and evs[0]["eventName"] == "ObjectCreated:CompleteMultipartUpload" and
         evs[0]["s3"]["object"]["size"] == len(big),
         "multipart upload notifies ObjectCreated:CompleteMultipartUpload",
         evs[:1])
    up = s3.create_multipart_upload(Bucket="mp-bucket", Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket="mp-bucket", Key="small", UploadId=up, PartNumber=1,
                        Body=b"a")["ETag"]
    e2 = s3.upload_part(Bucket="mp-bucket", Key="small", UploadId=up, PartNumber=2,
                        Body=b"b")["ETag"]
    t.eq(len(s3.list_parts(Bucket="mp-bucket", Key="small", UploadId=up)["Parts"]), 2,
         "ListParts")
    t.raises(lambda: s3.complete_multipart_upload(
        Bucket="mp-bucket", Key="small", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}),
        "EntityTooSmall", "CompleteMultipartUpload with a small first part: EntityTooSmall")
    t.raises(lambda: s3.complete_multipart_upload(
        Bucket="mp-bucket", Key="small", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]}),
        "InvalidPartOrder", "parts out of order: InvalidPartOrder")
    s3.abort_multipart_upload(Bucket="mp-bucket", Key="small", UploadId=up)
    t.raises(lambda: s3.upload_part(Bucket="mp-bucket", Key="small", UploadId=up,
                                    PartNumber=3, Body=b"c"), "NoSuchUpload",
             "AbortMultipartUpload: the upload is gone (NoSuchUpload)")

    # -- DeleteObjects
    r = s3.delete_objects(Bucket="mp-bucket", Delete={"Objects": [
        {"Key": "drops/big.zip"}, {"Key": "never-there"}]})
    t.eq(sorted(d["Key"] for d in r["Deleted"]), ["drops/big.zip", "never-there"],
         "DeleteObjects reports every key deleted")
    t.raises(lambda: s3.head_object(Bucket="mp-bucket", Key="drops/big.zip"), "404",
             "DeleteObjects removed the object")
    evs = []
    for _ in range(3):
        for mm in sqs.receive_message(QueueUrl=q2, WaitTimeSeconds=1,
                                      MaxNumberOfMessages=10).get("Messages", []):
            b_ = json.loads(mm["Body"])
            if "Records" in b_:
                evs.append(b_["Records"][0]["eventName"])
        if evs:
            break
    t.eq(evs, ["ObjectRemoved:Delete"], "DeleteObjects notifies ObjectRemoved:Delete")

    # -- bucket deletion
    t.raises(lambda: s3.delete_bucket(Bucket="releases-billing"), "BucketNotEmpty",
             "DeleteBucket not empty: BucketNotEmpty")
    s3.create_bucket(Bucket="empty-bucket", CreateBucketConfiguration=cfg)
    s3.delete_bucket(Bucket="empty-bucket")
    t.raises(lambda: s3.head_bucket(Bucket="empty-bucket"), "404", "DeleteBucket")
    t.raises(lambda: s3.get_bucket_acl(Bucket="releases-billing"), "NotImplemented",
             "unsupported sub-resource: NotImplemented 501")


if __name__ == "__main__":
    F.run(main)
