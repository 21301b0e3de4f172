#!/usr/bin/python3
"""Drop a release of the sandbox's billing app into its bucket, as an
integrator's build would: a zip with release.json and the sandbox's
template, put under drops/ (the bucket notifies the queue).

    drop-release.py --endpoint http://127.0.0.1:PORT --version 1.4.2 \\
        [--message TEXT] [--author alice] [--tag TAG] [--key drops/x.zip] \\
        [--param Name=Value ...] [--image-parameter billing/web=WebImage]
        [--noecho-parameter DbPassword]
        [--zip-only FILE] [--no-push]

Prints the object's key and ETag.  --zip-only writes the zip to FILE and
uploads nothing.  As a build pushes its images before it drops the zip,
the images' tags are made in the fake ECR of the Int account
(111111111111) when they are not there yet (POST /_fake/ecr/tag with
if_missing); --no-push leaves the registry as it is (a missing tag stays
missing: shipgate refuses the release at intake).
"""

import argparse
import io
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import fakeaws_keys as K                                  # noqa: E402


def release_zip(version, message, author, tag, params, image_params=None,
                noecho=()):
    manifest = {
        "app": "billing",
        "version": version,
        "message": message,
        "author": author,
        "template": "template.yaml",
        "images": [{"repository": "billing/web", "tag": tag},
                   {"repository": "billing/worker", "tag": tag}],
        "parameters": dict({"ImageTag": tag}, **params),
    }
    with open(os.path.join(HERE, "sandbox-template.yaml"), "rb") as f:
        template = f.read()
    # images[].parameter: the template declares the parameter (a string
    # the demo's tasks do not use: they name the tag).
    for param in noecho:
        template = template.replace(
            b"Parameters:\n", b"Parameters:\n  %s:\n    Type: String\n"
            b"    NoEcho: true\n    Default: \"\"\n" % param.encode(), 1)
    for repo, param in (image_params or {}).items():
        for img in manifest["images"]:
            if img["repository"] == repo:
                img["parameter"] = param
        template = template.replace(
            b"Parameters:\n", b"Parameters:\n  %s:\n    Type: String\n"
            b"    Default: \"\"\n" % param.encode(), 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("release.json", json.dumps(manifest, indent=2))
        z.writestr("template.yaml", template)
    return out.getvalue()


def push_images(endpoint, manifest_json, account="111111111111",
                region="eu-west-1"):
    """Make the tags manifest_json's images name in the fake ECR, unless
    there; repositories the fake does not have are left alone."""
    import urllib.error
    import urllib.request
    try:
        images = json.loads(manifest_json).get("images") or []
        images = [(i["repository"], i["tag"]) for i in images
                  if isinstance(i, dict) and isinstance(i.get("repository"), str)
                  and isinstance(i.get("tag"), str)]
    except (ValueError, AttributeError, TypeError):
        return                  # a broken release.json: nothing to push
    for repository, tag in images:
        body = json.dumps({"account": account, "region": region,
                           "repository": repository, "tag": tag,
                           "if_missing": True}).encode()
        req = urllib.request.Request(endpoint.rstrip("/") + "/_fake/ecr/tag",
                                     data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10).read()
        except urllib.error.HTTPError as e:
            if e.code != 400:       # 400: no such repository here
                raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint")
    ap.add_argument("--region", default=K.DEFAULT_REGION)
    ap.add_argument("--version", required=True)
    ap.add_argument("--message", default="A release from the sandbox")
    ap.add_argument("--author", default="alice")
    ap.add_argument("--tag", help="image tag (default: the version)")
    ap.add_argument("--key", help="object key (default drops/billing-VERSION.zip)")
    ap.add_argument("--param", action="append", default=[],
                    help="a stack parameter, Name=Value")
    ap.add_argument("--image-parameter", action="append", default=[],
                    metavar="REPOSITORY=PARAMETER",
                    help="images[].parameter of that image (declared in the "
                    "template too)")
    ap.add_argument("--noecho-parameter", action="append", default=[],
                    metavar="NAME", help="a NoEcho parameter the template "
                    "declares (its value set by the configuration)")
    ap.add_argument("--zip-only", metavar="FILE")
    ap.add_argument("--no-push", action="store_true",
                    help="do not make the images' tags in the fake ECR")
    a = ap.parse_args()
    params = dict(p.split("=", 1) for p in a.param)
    data = release_zip(a.version, a.message, a.author, a.tag or a.version, params,
                       dict(p.split("=", 1) for p in a.image_parameter),
                       a.noecho_parameter)
    if a.zip_only:
        with open(a.zip_only, "wb") as f:
            f.write(data)
        return 0
    if not a.endpoint:
        ap.error("--endpoint is required unless --zip-only")
    if not a.no_push:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            push_images(a.endpoint, z.read("release.json"), region=a.region)
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name=a.region,
                      aws_access_key_id=K.ACCESS_KEY_ID,
                      aws_secret_access_key=K.SECRET_ACCESS_KEY,
                      config=Config(signature_version="s3v4",
                                    s3={"addressing_style": "path"}))
    key = a.key or "drops/billing-%s.zip" % a.version
    r = s3.put_object(Bucket="releases-billing", Key=key, Body=data,
                      ContentType="application/zip")
    print("%s %s" % (key, r["ETag"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
