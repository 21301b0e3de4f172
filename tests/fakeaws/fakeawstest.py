"""Helpers for the fake's own tests: TAP output, starting and stopping a fake
on a free port, boto3 clients for it, and the control API."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fakeaws_keys as K                                  # noqa: E402

REGION = K.DEFAULT_REGION


class Tap(object):
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("# " + line, flush=True)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def raises(self, fn, code, name, status=None):
        """fn() must raise botocore ClientError with this error code."""
        from botocore.exceptions import ClientError
        try:
            fn()
        except ClientError as e:
            c = e.response["Error"]["Code"]
            s = e.response["ResponseMetadata"].get("HTTPStatusCode")
            good = c == code and (status is None or s == status)
            return self.ok(good, name, "got %s (HTTP %s): %s" % (
                c, s, e.response["Error"].get("Message")))
        except Exception as e:
            return self.ok(False, name, "raised %r" % e)
        return self.ok(False, name, "no error raised")

    def skip(self, why):
        """One skipped check, only for what a user's clone may lack
        (../shared): a failure under SHIPGATE_REQUIRE_ALL (tests/tap.h)."""
        self.n += 1
        if require_all():
            print("not ok %d - %s (SHIPGATE_REQUIRE_ALL is set: required)"
                  % (self.n, why), flush=True)
            self.failed += 1
        else:
            print("ok %d # SKIP %s" % (self.n, why), flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def require_all():
    """SHIPGATE_REQUIRE_ALL=1 (scripts/check, CI): every skip fails."""
    return os.environ.get("SHIPGATE_REQUIRE_ALL", "") not in ("", "0")


def skip_all(why):
    """The whole script skipped, under the same rule as Tap.skip."""
    if require_all():
        print("Bail out! %s (SHIPGATE_REQUIRE_ALL is set: required)" % why,
              flush=True)
        sys.exit(1)
    print("1..0 # SKIP %s" % why, flush=True)
    sys.exit(0)


class Fake(object):
    """A fakeaws.py process on a free port."""

    def __init__(self, step_delay=0.05, extra=()):
        self.dir = tempfile.mkdtemp(prefix="fakeaws-test-")
        self._cache = {}
        pf = os.path.join(self.dir, "port")
        pid = os.path.join(self.dir, "pid")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fakeaws.py"), "--port", "0",
             "--port-file", pf, "--pid-file", pid, "--step-delay", str(step_delay)]
            + list(extra), stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 20
        while not os.path.exists(pf):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("fakeaws did not start: " +
                                   open(os.path.join(self.dir, "log")).read())
            time.sleep(0.02)
        self.port = int(open(pf).read())
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def stop(self):
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.log.close()
        log = open(os.path.join(self.dir, "log")).read()
        if "Traceback" in log:
            print("# fakeaws log had a traceback:")
            for line in log.splitlines():
                print("# " + line)
        return log

    def cleanup(self):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def control(self, path, body=None, method=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data,
                                     method=method or ("POST" if data is not None
                                                       else "GET"))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return {"_status": e.code, **json.loads(e.read().decode())}

    def session(self, key=K.ACCESS_KEY_ID, secret=K.SECRET_ACCESS_KEY, token=None,
                region=REGION, botocore_session=None):
        import boto3
        return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                     aws_session_token=token, region_name=region,
                                     botocore_session=botocore_session)

    def sqs_json_client(self, session=None, retries=0):
        """An SQS client speaking JSON 1.0 (X-Amz-Target: AmazonSQS.*), the
        protocol current SDKs use: botocore's query model turned into JSON."""
        import botocore.session
        from botocore.config import Config
        bs = botocore.session.get_session()
        loader = bs.get_component("data_loader")
        model = loader.load_service_model("sqs", "service-2")
        model = json.loads(json.dumps(model))
        model["metadata"].update({"protocol": "json", "jsonVersion": "1.0",
                                  "targetPrefix": "AmazonSQS"})

        def strip(node):
            if isinstance(node, dict):
                for k in ("locationName", "flattened", "resultWrapper"):
                    node.pop(k, None)
                for v in node.values():
                    strip(v)
            elif isinstance(node, list):
                for v in node:
                    strip(v)
        strip(model["shapes"])
        for op in model["operations"].values():
            if "output" in op:
                op["output"].pop("resultWrapper", None)
        d = os.path.join(self.dir, "models", "sqs", model["metadata"]["apiVersion"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "service-2.json"), "w") as f:
            json.dump(model, f)
        loader.search_paths.insert(0, os.path.join(self.dir, "models"))
        creds = (session or self.session()).get_credentials().get_frozen_credentials()
        sess = self.session(creds.access_key, creds.secret_key, creds.token,
                            botocore_session=bs)
        cfg = Config(retries={"total_max_attempts": retries + 1, "mode": "standard"},
                     read_timeout=30)
        return sess.client("sqs", endpoint_url=self.endpoint, config=cfg,
                           region_name=REGION)

    def client(self, service, retries=0, session=None, region=REGION, **kw):
        """A boto3 client on the fake (retries off by default); cached."""
        key = (service, retries, id(session) if session else None, region,
               tuple(sorted(kw.items())))
        c = self._cache.get(key)
        if c is None:
            c = self._client(service, retries, session, region, **kw)
            self._cache[key] = (c, session)   # keep the session alive
            return c
        return c[0]

    def _client(self, service, retries=0, session=None, region=REGION, **kw):
        from botocore.config import Config
        if service == "s3":
            kw.setdefault("signature_version", "s3v4")
        cfg = Config(retries={"total_max_attempts": retries + 1, "mode": "standard"},
                     connect_timeout=5, read_timeout=30,
                     s3={"addressing_style": "path"}, **kw)
        sess = session or self.session(region=region)
        return sess.client(service, endpoint_url=self.endpoint, config=cfg,
                           region_name=region)

    def assume(self, account, role="shipgate-deployer", region=REGION, **extra):
        sts = self.client("sts", region=region)
        r = sts.assume_role(RoleArn="arn:aws:iam::%s:role/%s" % (account, role),
                            RoleSessionName="test", **extra)
        c = r["Credentials"]
        return self.session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                            region=region)


def shared():
    """$SHIPGATE_SHARED if it holds the CloudFormation test data, else None."""
    d = os.environ.get("SHIPGATE_SHARED")
    if d and os.path.isdir(os.path.join(d, "testdata", "cfn")):
        return d
    return None


def run(main, extra=()):
    """Run `main(tap, fake)`; print the plan; exit 1 on any failure.
    `extra`: more arguments for fakeaws.py."""
    tap = Tap()
    fake = None
    try:
        fake = Fake(extra=extra)
        main(tap, fake)
    except Exception:
        tap.ok(False, "test script raised", traceback.format_exc())
    finally:
        if fake is not None:
            fake.stop()
            fake.cleanup()
    sys.exit(tap.done())


def wait_for(fn, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(interval)
