#!/usr/bin/python3
"""Set up the demo sandbox on a running fake AWS endpoint, through boto3.

    sandbox.py --endpoint http://127.0.0.1:PORT [--region eu-west-1] [--quiet]

Creates, as conf/shipgate.example.yaml's example describes (see README.md):
  tools account 000000000000: bucket releases-billing (drops/ -> SQS),
      queue billing-drops (its dead-letter queue billing-drops-dlq, its
      policy admitting the bucket), bucket shipgate-artifacts
  111111111111 (int): ECR billing/web and billing/worker with images 1.4.1
      (deployed) and 1.4.2 (ready for a demo release), stack billing-int
  222222222222 (stg): stack billing-stg
  333333333333 (prod): empty ECR billing/web and billing/worker (the images
      are copied there), stack billing-prod
and prints a JSON summary on stdout.  Running it twice is harmless.
"""

import argparse
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, HERE)
import fakeaws_keys as K                                  # noqa: E402

import boto3                                              # noqa: E402
from botocore.config import Config                        # noqa: E402
from botocore.exceptions import ClientError               # noqa: E402

STACKS = [("int", "111111111111", "billing-int", "111111111111"),
          ("stg", "222222222222", "billing-stg", "333333333333"),
          ("prod", "333333333333", "billing-prod", "333333333333")]
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
TAGS = ("1.4.1", "1.4.2")      # 1.4.1 is deployed; 1.4.2 is ready for a release


class Sandbox(object):
    def __init__(self, endpoint, region):
        self.endpoint = endpoint
        self.region = region
        self.tools = boto3.session.Session(aws_access_key_id=K.ACCESS_KEY_ID,
                                           aws_secret_access_key=K.SECRET_ACCESS_KEY,
                                           region_name=region)
        self.cfg = Config(retries={"max_attempts": 5, "mode": "standard"},
                          signature_version="s3v4", s3={"addressing_style": "path"})

    def client(self, service, session=None):
        return (session or self.tools).client(service, endpoint_url=self.endpoint,
                                              config=self.cfg, region_name=self.region)

    def account(self, acct):
        c = self.client("sts").assume_role(
            RoleArn="arn:aws:iam::%s:role/shipgate-deployer" % acct,
            RoleSessionName="sandbox-setup")["Credentials"]
        return boto3.session.Session(aws_access_key_id=c["AccessKeyId"],
                                     aws_secret_access_key=c["SecretAccessKey"],
                                     aws_session_token=c["SessionToken"],
                                     region_name=self.region)

    def bucket(self, s3, name):
        try:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={
                "LocationConstraint": self.region})
        except ClientError as e:
            if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise

    def source(self):
        s3, sqs = self.client("s3"), self.client("sqs")
        self.bucket(s3, "releases-billing")
        self.bucket(s3, "shipgate-artifacts")
        # As aws/shipgate-tools.yaml sets it up: a dead-letter queue after
        # more receives than source.max_receives, and a policy letting
        # exactly the release bucket send (shipgatectl doctor checks both).
        dlq = sqs.create_queue(QueueName="billing-drops-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=[
            "QueueArn"])["Attributes"]["QueueArn"]
        q = sqs.create_queue(QueueName="billing-drops",
                             Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=q, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": 10}),
            "Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "ReleaseBucketEvents", "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::releases-billing"},
                    "StringEquals": {"aws:SourceAccount": K.TOOLS_ACCOUNT}}}]})})
        s3.put_bucket_notification_configuration(
            Bucket="releases-billing", NotificationConfiguration={"QueueConfigurations": [
                {"Id": "shipgate-drops", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                 "Filter": {"Key": {"FilterRules": [
                     {"Name": "prefix", "Value": "drops/"}]}}}]})
        # The configuration's s3:TestEvent is not a release: drain it.
        for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get(
                "Messages", []):
            if "s3:TestEvent" in m["Body"]:
                sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        return {"bucket": "releases-billing", "prefix": "drops/", "queue_url": q,
                "queue_arn": arn, "artifacts_bucket": "shipgate-artifacts"}

    def repos(self, session, with_images):
        ecr = self.client("ecr", session)
        out = {}
        for name in ("billing/web", "billing/worker"):
            try:
                ecr.create_repository(repositoryName=name)
            except ClientError as e:
                if e.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
                    raise
            uri = ecr.describe_repositories(repositoryNames=[name])[
                "repositories"][0]["repositoryUri"]
            out[name] = {"uri": uri, "images": {}}
            if with_images:
                for tag in TAGS:
                    out[name]["images"][tag] = self.image(ecr, name, tag)
        return out

    def image(self, ecr, name, tag):
        """Upload a small image's blobs and put its manifest; its digest."""
        blobs = []
        for data in (json.dumps({"architecture": "amd64", "os": "linux",
                                 "config": {"Cmd": [name, tag]}}).encode(),
                     ("layer of %s %s" % (name, tag)).encode() * 64):
            d = "sha256:" + hashlib.sha256(data).hexdigest()
            blobs.append((d, len(data)))
            if ecr.batch_check_layer_availability(repositoryName=name,
                                                  layerDigests=[d])["layers"]:
                continue
            up = ecr.initiate_layer_upload(repositoryName=name)
            ecr.upload_layer_part(repositoryName=name, uploadId=up["uploadId"],
                                  partFirstByte=0, partLastByte=len(data) - 1,
                                  layerPartBlob=data)
            ecr.complete_layer_upload(repositoryName=name, uploadId=up["uploadId"],
                                      layerDigests=[d])
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": DOCKER,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": blobs[0][1], "digest": blobs[0][0]},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": blobs[1][1], "digest": blobs[1][0]}]})
        try:
            img = ecr.put_image(repositoryName=name, imageManifest=manifest,
                                imageManifestMediaType=DOCKER, imageTag=tag)["image"]
            return img["imageId"]["imageDigest"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ImageAlreadyExistsException":
                raise
            return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()

    def stack(self, session, env, name, registry):
        cf = self.client("cloudformation", session)
        try:
            s = cf.describe_stacks(StackName=name)["Stacks"][0]
            if s["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE",
                                    "UPDATE_ROLLBACK_COMPLETE"):
                return s["StackId"]
        except ClientError:
            pass
        body = open(os.path.join(HERE, "sandbox-template.yaml")).read()
        r = cf.create_change_set(StackName=name, ChangeSetName="sandbox-initial",
                                 ChangeSetType="CREATE", TemplateBody=body,
                                 Description="initial stack of the demo sandbox",
                                 Parameters=[
                                     {"ParameterKey": "Environment", "ParameterValue": env},
                                     {"ParameterKey": "Registry",
                                      "ParameterValue": registry}])
        return r

    def wait(self, session, name, csid):
        cf = self.client("cloudformation", session)
        deadline = time.time() + 60
        while time.time() < deadline:
            if csid is not None:
                cs = cf.describe_change_set(ChangeSetName=csid)
                if cs["Status"] == "FAILED":
                    raise RuntimeError("%s: %s" % (name, cs["StatusReason"]))
                if cs["Status"] == "CREATE_COMPLETE":
                    cf.execute_change_set(ChangeSetName=csid,
                                          ClientRequestToken="sandbox-" + name)
                    csid = None
            else:
                s = cf.describe_stacks(StackName=name)["Stacks"][0]
                if s["StackStatus"] == "CREATE_COMPLETE":
                    return s["StackId"]
                if not s["StackStatus"].endswith("_IN_PROGRESS"):
                    raise RuntimeError("%s ended %s" % (name, s["StackStatus"]))
            time.sleep(0.1)
        raise RuntimeError("%s: timed out" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default=K.DEFAULT_REGION)
    ap.add_argument("--quiet", action="store_true", help="print nothing")
    a = ap.parse_args()
    sb = Sandbox(a.endpoint.rstrip("/"), a.region)
    out = {"endpoint": sb.endpoint, "region": a.region,
           "tools": {"account": K.TOOLS_ACCOUNT, "access_key_id": K.ACCESS_KEY_ID,
                     "secret_access_key": K.SECRET_ACCESS_KEY}}
    out["source"] = sb.source()
    sessions = {acct: sb.account(acct) for _, acct, _, _ in STACKS}
    out["registries"] = {"111111111111": sb.repos(sessions["111111111111"], True),
                         "333333333333": sb.repos(sessions["333333333333"], False)}
    pending = []
    for env, acct, name, registry in STACKS:
        r = sb.stack(sessions[acct], env, name, registry)
        pending.append((env, acct, name, r))
    out["stacks"] = {}
    for env, acct, name, r in pending:
        sid = r if isinstance(r, str) else sb.wait(sessions[acct], name, r["Id"])
        out["stacks"][env] = {"account": acct, "stack": name, "stack_id": sid,
                              "role_arn": "arn:aws:iam::%s:role/shipgate-deployer" % acct}
    if not a.quiet:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
