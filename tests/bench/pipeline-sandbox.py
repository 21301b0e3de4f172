#!/usr/bin/python3
"""The sandbox of tests/bench/pipeline: N apps on a running fake.

    pipeline-sandbox.py --endpoint URL --apps N setup
    pipeline-sandbox.py --endpoint URL --apps N drop [--version V]

setup: for each app appNNN (see pipeline-config.py), in the tools account
bucket releases-appNNN whose drops/ objects notify queue appNNN-drops
(made through the fake's unsigned /_fake/setup: no test event), and the
stacks appNNN-int, -stg and -prod in 111111111111, 222222222222 and
333333333333, made from tests/fakeaws/sandbox-template.yaml with "billing"
renamed appNNN (each app its own ECS cluster and service), through signed
CloudFormation change sets, many at a time.

drop: puts every app's release zip (release.json and its template) under
drops/ at once, from a pool of threads, as N integrators' builds would.
Prints the number of objects put.
"""

import argparse
import io
import json
import os
import sys
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakeaws")
sys.dont_write_bytecode = True
sys.path.insert(0, FAKE)
import fakeaws_keys as K                                  # noqa: E402

import boto3                                              # noqa: E402
from botocore.config import Config                        # noqa: E402

ACCOUNTS = (("int", "111111111111"), ("stg", "222222222222"),
            ("prod", "333333333333"))
TOOLS = "000000000000"


def app_name(i):
    return "app%03d" % i


def template(app):
    with open(os.path.join(FAKE, "sandbox-template.yaml")) as f:
        return f.read().replace("billing", app)


class Sandbox(object):
    def __init__(self, endpoint, region, apps):
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.apps = apps
        self.cfg = Config(retries={"max_attempts": 8, "mode": "standard"},
                          signature_version="s3v4", s3={"addressing_style": "path"},
                          max_pool_connections=32)
        self.tools = boto3.session.Session(
            aws_access_key_id=K.ACCESS_KEY_ID,
            aws_secret_access_key=K.SECRET_ACCESS_KEY, region_name=region)
        self.cfs = {}

    def client(self, service, session=None):
        return (session or self.tools).client(service, endpoint_url=self.endpoint,
                                              config=self.cfg, region_name=self.region)

    def control(self, path, body):
        req = urllib.request.Request(self.endpoint + path,
                                     data=json.dumps(body).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read().decode())

    def sources(self):
        names = [app_name(i) for i in range(1, self.apps + 1)]
        self.control("/_fake/setup", {
            "account": TOOLS, "region": self.region,
            "buckets": [{"name": "releases-" + n} for n in names],
            "queues": [{"name": n + "-drops",
                        "attributes": {"VisibilityTimeout": "60"}} for n in names],
            "notifications": [{"bucket": "releases-" + n, "queue": n + "-drops",
                               "prefix": "drops/", "id": "shipgate-drops"}
                              for n in names]})

    def cf(self, acct):
        """A CloudFormation client in the account (made in the main
        thread: sessions are not thread-safe, clients are)."""
        if acct not in self.cfs:
            c = self.client("sts").assume_role(
                RoleArn="arn:aws:iam::%s:role/shipgate-deployer" % acct,
                RoleSessionName="bench-setup")["Credentials"]
            s = boto3.session.Session(aws_access_key_id=c["AccessKeyId"],
                                      aws_secret_access_key=c["SecretAccessKey"],
                                      aws_session_token=c["SessionToken"],
                                      region_name=self.region)
            self.cfs[acct] = self.client("cloudformation", s)
        return self.cfs[acct]

    def stack(self, app, env, acct):
        cf = self.cf(acct)
        name = "%s-%s" % (app, env)
        try:
            s = cf.describe_stacks(StackName=name)["Stacks"][0]
            if s["StackStatus"] == "CREATE_COMPLETE":
                return
        except cf.exceptions.ClientError:
            pass
        cs = cf.create_change_set(
            StackName=name, ChangeSetName="bench-initial", ChangeSetType="CREATE",
            TemplateBody=template(app), Parameters=[
                {"ParameterKey": "Environment", "ParameterValue": env},
                {"ParameterKey": "Registry", "ParameterValue": "111111111111"}])["Id"]
        deadline = time.time() + 600
        while time.time() < deadline:
            st = cf.describe_change_set(ChangeSetName=cs)
            if st["Status"] == "FAILED":
                raise RuntimeError("%s: %s" % (name, st.get("StatusReason")))
            if st["Status"] == "CREATE_COMPLETE":
                break
            time.sleep(0.2)
        cf.execute_change_set(ChangeSetName=cs, ClientRequestToken="bench-" + name)
        while time.time() < deadline:
            s = cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            if s == "CREATE_COMPLETE":
                return
            if not s.endswith("_IN_PROGRESS"):
                raise RuntimeError("%s ended %s" % (name, s))
            time.sleep(0.2)
        raise RuntimeError("%s: timed out" % name)

    def setup(self):
        self.sources()
        for _, acct in ACCOUNTS:
            self.cf(acct)
        jobs = [(app_name(i), env, acct) for i in range(1, self.apps + 1)
                for env, acct in ACCOUNTS]
        with ThreadPoolExecutor(16) as pool:
            for f in [pool.submit(self.stack, *j) for j in jobs]:
                f.result()

    def drop(self, version):
        s3 = self.client("s3")
        zips = [(app_name(i), release_zip(app_name(i), version))
                for i in range(1, self.apps + 1)]
        start = threading.Barrier(min(32, len(zips)))

        def put(job):
            app, data = job
            s3.put_object(Bucket="releases-" + app, Key="drops/%s-%s.zip" % (app, version),
                          Body=data, ContentType="application/zip")
        with ThreadPoolExecutor(32) as pool:
            # Warm the pool's connections first, then put them all.
            list(pool.map(lambda _: (s3.head_bucket(Bucket="releases-app001"),
                                     start.wait()), range(min(32, len(zips)))))
            list(pool.map(put, zips))
        return len(zips)


def release_zip(app, version):
    manifest = {"app": app, "version": version,
                "message": "benchmark release of %s" % app, "author": "alice",
                "template": "template.yaml",
                "images": [{"repository": app + "/web", "tag": version}],
                "parameters": {"ImageTag": version}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("release.json", json.dumps(manifest, indent=2))
        z.writestr("template.yaml", template(app))
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default=K.DEFAULT_REGION)
    ap.add_argument("--apps", type=int, required=True)
    ap.add_argument("--version", default="2.0.0")
    ap.add_argument("what", choices=("setup", "drop"))
    a = ap.parse_args()
    sb = Sandbox(a.endpoint, a.region, a.apps)
    if a.what == "setup":
        sb.setup()
    else:
        print(sb.drop(a.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
