#!/usr/bin/python3
"""ECR and SES v2 through boto3."""

import base64
import hashlib
import json
import os
import sys
import time
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402

DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def blob(ecr, repo, data):
    up = ecr.initiate_layer_upload(repositoryName=repo)
    ecr.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"], partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    ecr.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                              layerDigests=[d])
    return d


def manifest(config, layer, csize, lsize):
    return json.dumps({"schemaVersion": 2, "mediaType": DOCKER,
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "size": csize, "digest": config},
                       "layers": [{"mediaType":
                                   "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                   "size": lsize, "digest": layer}]}, indent=3)


def main(t, fake):
    sess = fake.assume("333333333333")
    ecr = fake.client("ecr", session=sess)
    r = ecr.create_repository(repositoryName="billing/web")["repository"]
    t.ok(r["repositoryUri"] == "333333333333.dkr.ecr.eu-west-1.amazonaws.com/billing/web"
         and r["repositoryArn"] == "arn:aws:ecr:eu-west-1:333333333333:repository/billing/web",
         "CreateRepository: URI and ARN in the role's account", r)
    t.raises(lambda: ecr.create_repository(repositoryName="billing/web"),
             "RepositoryAlreadyExistsException", "CreateRepository twice")
    t.raises(lambda: ecr.create_repository(repositoryName="Bad/Name"),
             "InvalidParameterException", "CreateRepository bad name")
    t.eq([x["repositoryName"] for x in ecr.describe_repositories()["repositories"]],
         ["billing/web"], "DescribeRepositories")
    t.raises(lambda: ecr.describe_repositories(repositoryNames=["nope"]),
             "RepositoryNotFoundException", "DescribeRepositories missing")

    cfg, layer = b'{"architecture":"amd64"}', b"layer-bytes" * 100
    cd = blob(ecr, "billing/web", cfg)
    ld = blob(ecr, "billing/web", layer)
    t.raises(lambda: blob(ecr, "billing/web", layer), "LayerAlreadyExistsException",
             "CompleteLayerUpload of a known layer: LayerAlreadyExistsException")
    up = ecr.initiate_layer_upload(repositoryName="billing/web")
    ecr.upload_layer_part(repositoryName="billing/web", uploadId=up["uploadId"],
                          partFirstByte=0, partLastByte=2, layerPartBlob=b"abc")
    t.raises(lambda: ecr.complete_layer_upload(repositoryName="billing/web",
                                               uploadId=up["uploadId"],
                                               layerDigests=["sha256:" + "0" * 64]),
             "InvalidLayerException", "CompleteLayerUpload wrong digest: InvalidLayerException")
    c = ecr.batch_check_layer_availability(repositoryName="billing/web",
                                           layerDigests=[cd, ld, "sha256:" + "1" * 64])
    t.ok([x["layerDigest"] for x in c["layers"]] == [cd, ld] and
         c["layers"][1]["layerSize"] == len(layer) and
         c["failures"][0]["failureCode"] == "MissingLayerDigest",
         "BatchCheckLayerAvailability: two AVAILABLE, one MissingLayerDigest", c)

    m = manifest(cd, ld, len(cfg), len(layer))
    digest = "sha256:" + hashlib.sha256(m.encode()).hexdigest()
    bad = manifest(cd, "sha256:" + "2" * 64, len(cfg), 1)
    t.raises(lambda: ecr.put_image(repositoryName="billing/web", imageManifest=bad,
                                   imageTag="x"), "LayersNotFoundException",
             "PutImage with an unknown layer: LayersNotFoundException")
    p = ecr.put_image(repositoryName="billing/web", imageManifest=m, imageTag="1.4.2",
                      imageManifestMediaType=DOCKER)["image"]
    t.ok(p["imageId"] == {"imageDigest": digest, "imageTag": "1.4.2"} and
         p["imageManifestMediaType"] == DOCKER, "PutImage: digest of the manifest bytes", p)
    t.raises(lambda: ecr.put_image(repositoryName="billing/web", imageManifest=m,
                                   imageTag="1.4.2"), "ImageAlreadyExistsException",
             "PutImage same tag and digest: ImageAlreadyExistsException")
    ecr.put_image(repositoryName="billing/web", imageManifest=m, imageTag="latest")
    t.raises(lambda: ecr.put_image(repositoryName="billing/web", imageManifest=m,
                                   imageDigest="sha256:" + "3" * 64),
             "ImageDigestDoesNotMatchException", "PutImage with a wrong imageDigest")
    g = ecr.batch_get_image(repositoryName="billing/web",
                            imageIds=[{"imageTag": "1.4.2"}, {"imageTag": "nope"},
                                      {"imageDigest": digest, "imageTag": "other"}],
                            acceptedMediaTypes=[DOCKER])
    t.ok(len(g["images"]) == 1 and g["images"][0]["imageManifest"] == m and
         g["images"][0]["imageId"]["imageDigest"] == digest,
         "BatchGetImage returns the manifest text byte for byte")
    t.eq(sorted(f["failureCode"] for f in g["failures"]),
         ["ImageNotFound", "ImageTagDoesNotMatchDigest"], "BatchGetImage failures")
    dd = ecr.describe_images(repositoryName="billing/web")["imageDetails"]
    t.ok(len(dd) == 1 and sorted(dd[0]["imageTags"]) == ["1.4.2", "latest"] and
         dd[0]["imageSizeInBytes"] == len(cfg) + len(layer) and
         dd[0]["imageManifestMediaType"] == DOCKER and "imagePushedAt" in dd[0],
         "DescribeImages: tags, size, media type, push time", dd)
    t.raises(lambda: ecr.describe_images(repositoryName="billing/web",
                                         imageIds=[{"imageTag": "nope"}]),
             "ImageNotFoundException", "DescribeImages unknown tag: ImageNotFoundException")
    idx = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": DOCKER, "digest": digest, "size": len(m),
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    ecr.put_image(repositoryName="billing/web", imageManifest=idx, imageTag="multi")
    g = ecr.batch_get_image(repositoryName="billing/web", imageIds=[{"imageTag": "multi"}])
    t.eq(g["images"][0]["imageManifestMediaType"], INDEX, "PutImage of an OCI index")
    t.ok(len(ecr.list_images(repositoryName="billing/web")["imageIds"]) == 3, "ListImages")
    t.raises(lambda: fake.client("ecr").describe_images(repositoryName="billing/web",
                                                        registryId="333333333333"),
             "AccessDeniedException", "another account's repository: AccessDeniedException")

    t.raises(lambda: ecr.get_repository_policy(repositoryName="billing/web"),
             "RepositoryPolicyNotFoundException", "GetRepositoryPolicy none")
    ecr.set_repository_policy(repositoryName="billing/web", policyText=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    t.ok("Statement" in ecr.get_repository_policy(repositoryName="billing/web")[
        "policyText"], "Set/GetRepositoryPolicy")
    t.eq(len(fake.client("ecr").describe_images(repositoryName="billing/web",
                                                 registryId="333333333333")[
        "imageDetails"]), 2, "with a repository policy another account can read")
    a = ecr.get_authorization_token()["authorizationData"][0]
    user, _, pw = base64.b64decode(a["authorizationToken"]).decode().partition(":")
    t.ok(user == "AWS" and len(pw) > 20, "GetAuthorizationToken: base64 AWS:<password>")
    exp = a["expiresAt"].timestamp()
    t.ok(time.time() + 11 * 3600 < exp < time.time() + 13 * 3600,
         "expiresAt about 12 hours ahead")
    t.eq(a["proxyEndpoint"], "https://333333333333.dkr.ecr.eu-west-1.amazonaws.com",
         "proxyEndpoint")
    shared = F.shared()
    if shared:
        ex = json.load(open(os.path.join(shared, "testdata/cfn/aws-examples/"
                                         "ecr-get-authorization-token-cli.json")))
        t.eq(sorted(a), sorted(ex["authorizationData"][0]),
             "authorizationData fields = AWS CLI example's")
    else:
        t.skip("SHIPGATE_SHARED not set")
    st = fake.control("/_fake/state")
    t.ok(any(x["password"] == pw for x in st["ecr"]["tokens"]),
         "control: issued registry passwords are readable")
    r = ecr.batch_delete_image(repositoryName="billing/web",
                               imageIds=[{"imageTag": "latest"}, {"imageTag": "ghost"}])
    t.ok(r["imageIds"] == [{"imageDigest": digest, "imageTag": "latest"}] and
         r["failures"][0]["failureCode"] == "ImageNotFound",
         "BatchDeleteImage untags; unknown tag is a failure", r)
    t.raises(lambda: ecr.delete_repository(repositoryName="billing/web"),
             "RepositoryNotEmptyException", "DeleteRepository not empty")
    ecr.delete_repository(repositoryName="billing/web", force=True)
    t.raises(lambda: ecr.describe_images(repositoryName="billing/web"),
             "RepositoryNotFoundException", "DeleteRepository force")

    # -- SES v2
    ses = fake.client("sesv2")
    r = ses.send_email(FromEmailAddress="shipgate <deploy@example.com>",
                       Destination={"ToAddresses": ["bob@client.example"],
                                    "CcAddresses": ["carol@client.example"]},
                       ReplyToAddresses=["ops@example.com"],
                       Content={"Simple": {"Subject": {"Data": "Approve billing 1.4.2"},
                                           "Body": {"Text": {"Data": "Please approve."},
                                                    "Html": {"Data": "<p>Please</p>"}}}})
    t.ok(r["MessageId"].startswith("0102"), "SendEmail Simple gives a MessageId")
    msg = MIMEMultipart("alternative")
    msg["From"] = "deploy@example.com"
    msg["To"] = "dave@client.example"
    msg["Subject"] = "Raw one"
    msg.attach(MIMEText("plain body", "plain"))
    msg.attach(MIMEText("<b>html</b>", "html"))
    r2 = ses.send_email(Content={"Raw": {"Data": msg.as_bytes()}})
    mail = fake.control("/_fake/mail")["messages"]
    t.eq(len(mail), 2, "control: both messages readable")
    a, b = mail
    t.ok(a["from"] == "shipgate <deploy@example.com>" and a["to"] == ["bob@client.example"]
         and a["cc"] == ["carol@client.example"] and a["subject"] == "Approve billing 1.4.2"
         and a["text"] == "Please approve." and a["html"] == "<p>Please</p>" and
         a["reply_to"] == ["ops@example.com"] and a["message_id"] == r["MessageId"] and
         a["account"] == "000000000000", "Simple message stored field by field", a)
    t.ok(b["kind"] == "raw" and b["to"] == ["dave@client.example"] and
         b["subject"] == "Raw one" and b["text"].strip() == "plain body" and
         "Subject: Raw one" in b["raw"] and b["message_id"] == r2["MessageId"],
         "Raw message: recipients and parts from the MIME text", b)
    t.raises(lambda: ses.send_email(FromEmailAddress="a@example.com",
                                    Destination={"ToAddresses": ["b@example.com"]},
                                    Content={"Simple": {"Subject": {"Data": "s"},
                                                        "Body": {}}}),
             "BadRequestException", "SendEmail without a body: BadRequestException")
    t.raises(lambda: ses.send_email(FromEmailAddress="a@example.com",
                                    Destination={"ToAddresses": ["b%d@example.com" % i
                                                                 for i in range(51)]},
                                    Content={"Simple": {"Subject": {"Data": "s"},
                                                        "Body": {"Text": {"Data": "x"}}}}),
             "MessageRejected", "SendEmail to 51 recipients: MessageRejected")
    fake.control("/_fake/mail", method="DELETE")
    t.eq(fake.control("/_fake/mail")["messages"], [], "control: mail cleared")


if __name__ == "__main__":
    F.run(main)
