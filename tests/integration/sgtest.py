#!/usr/bin/python3
"""Helpers for the integration scripts (test-crash.sh, test-operator.sh):
read shipgatectl's JSON, the daemon's database (read-only) and the fake
AWS endpoint's counters; build and upload release zips.

    sgtest.py check EXPR [FILE]  exit 0 if EXPR is true; d is the JSON of
                                 FILE (default stdin), run is d['run'] if
                                 any, stage(env) its stage of that env
    sgtest.py get EXPR [FILE]    print EXPR
    sgtest.py reached DB RUN ENV STATUS
                                 exit 0 once the stage is at STATUS or past
                                 it, or the run has finished
    sgtest.py where DB RUN       the run's and stages' statuses, one line
    sgtest.py sql DB QUERY       print the rows, one per line, '|' between
    sgtest.py executions URL     ExecuteChangeSet per change set (the
                                 fake's /_fake/cfn/executions), one line each
    sgtest.py zip OUT [--app A] [--version V] [--tag T] [--author U]
                  [--checks C1,C2] [--override ENV:NAME=VALUE]
                                 a release zip (as drop-release.py), with
                                 release.json's app set to A, its checks
                                 C1, C2 and overrides.ENV.parameters.NAME
                                 set to VALUE (one override)
    sgtest.py put URL KEY FILE   upload FILE to releases-billing/KEY
    sgtest.py post URL PATH JSON POST to the fake's control API
    sgtest.py visibility URL SECONDS
                                 the billing-drops queue's VisibilityTimeout
    sgtest.py crash-report SHOW EXEC
                                 test-crash.sh's final checks, one per line
                                 ("ok NAME" or "not ok NAME: why")

The database is opened read-only (mode=ro): it never writes it.
"""

import importlib.util
import io
import json
import os
import sqlite3
import sys
import urllib.request
import zipfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
FAKEAWS = os.path.join(HERE, "..", "fakeaws")

ORDER = ["pending", "promoting", "creating_change_set", "awaiting_approval",
         "executing", "waiting_stack", "waiting_services", "checking",
         "awaiting_gate"]


def load(path):
    if path is None or path == "-":
        return json.load(sys.stdin)
    with open(path) as f:
        return json.load(f)


def env_of(d):
    run = d.get("run") if isinstance(d, dict) else None

    def stage(name):
        for s in (run or {}).get("stages", []):
            if s["env"] == name:
                return s
        return {}
    return {"d": d, "run": run, "stage": stage}


def db(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    c.execute("PRAGMA busy_timeout = 10000")
    return c


def rank(status):
    return ORDER.index(status) if status in ORDER else 100


def cmd_reached(path, run, env, status):
    c = db(path)
    r = c.execute("SELECT status FROM runs WHERE id = ?", (int(run),)).fetchone()
    s = c.execute("SELECT status FROM stages WHERE run_id = ? AND "
                  "environment = ?", (int(run), env)).fetchone()
    c.close()
    if r is None or s is None:
        return 1
    if r[0] not in ("received", "running"):
        return 0
    return 0 if rank(s[0]) >= rank(status) else 1


def cmd_where(path, run):
    c = db(path)
    r = c.execute("SELECT status FROM runs WHERE id = ?", (int(run),)).fetchone()
    st = c.execute("SELECT environment, status, attempt FROM stages WHERE "
                   "run_id = ? ORDER BY position", (int(run),)).fetchall()
    c.close()
    print("run=%s %s" % (r[0] if r else "-", " ".join(
        "%s=%s/a%d" % s for s in st)))
    return 0


def cmd_sql(path, query):
    c = db(path)
    for row in c.execute(query):
        print("|".join("" if v is None else str(v) for v in row))
    c.close()
    return 0


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def cmd_executions(url):
    d = fetch(url.rstrip("/") + "/_fake/cfn/executions")
    for arn, v in sorted(d.items(), key=lambda kv: kv[1].get("name", "")):
        print("%s %s calls=%s executions=%s" % (v.get("stack"), v.get("name"),
              v.get("calls"), v.get("executions")))
    return 0


def release_zip(app, version, tag, author, checks=None, override=None):
    spec = importlib.util.spec_from_file_location(
        "drop_release", os.path.join(FAKEAWS, "drop-release.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.release_zip(version, "A release from the tests", author, tag, {})
    if app == "billing" and checks is None and override is None:
        return data
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "release.json":
                m = json.loads(body)
                m["app"] = app
                if checks is not None:
                    m["checks"] = [c for c in checks.split(",") if c]
                if override is not None:
                    env, kv = override.split(":", 1)
                    name, value = kv.split("=", 1)
                    m["overrides"] = {env: {"parameters": {name: value}}}
                body = json.dumps(m, indent=2).encode()
            z.writestr(info, body)
    return out.getvalue()


def cmd_zip(args):
    out, opts = args[0], dict(zip(args[1::2], args[2::2]))
    version = opts.get("--version", "9.9.9")
    data = release_zip(opts.get("--app", "billing"), version,
                       opts.get("--tag", "1.4.2"), opts.get("--author", "alice"),
                       opts.get("--checks"), opts.get("--override"))
    with open(out, "wb") as f:
        f.write(data)
    return 0


def cmd_put(url, key, path):
    import boto3
    from botocore.config import Config
    sys.path.insert(0, FAKEAWS)
    import fakeaws_keys as K
    s3 = boto3.client("s3", endpoint_url=url, region_name=K.DEFAULT_REGION,
                      aws_access_key_id=K.ACCESS_KEY_ID,
                      aws_secret_access_key=K.SECRET_ACCESS_KEY,
                      config=Config(signature_version="s3v4",
                                    s3={"addressing_style": "path"},
                                    retries={"max_attempts": 1}))
    with open(path, "rb") as f:
        data = f.read()
    # As drop-release.py: the images' tags are pushed before the zip.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            man = z.read("release.json")
    except (zipfile.BadZipFile, KeyError):
        man = None
    if man is not None and os.environ.get("SGTEST_NO_PUSH") is None:
        spec = importlib.util.spec_from_file_location(
            "drop_release", os.path.join(FAKEAWS, "drop-release.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        try:
            mod.push_images(url, man)
        except ValueError:
            pass            # not a release.json we can read: as it is
    r = s3.put_object(Bucket="releases-billing", Key=key, Body=data,
                      ContentType="application/zip")
    print("%s %s" % (key, r["ETag"]))
    return 0


def cmd_visibility(url, seconds):
    import boto3
    sys.path.insert(0, FAKEAWS)
    import fakeaws_keys as K
    sqs = boto3.client("sqs", endpoint_url=url, region_name=K.DEFAULT_REGION,
                       aws_access_key_id=K.ACCESS_KEY_ID,
                       aws_secret_access_key=K.SECRET_ACCESS_KEY)
    q = sqs.get_queue_url(QueueName="billing-drops")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=q,
                             Attributes={"VisibilityTimeout": str(seconds)})
    return 0


def cmd_post(url, path, body):
    req = urllib.request.Request(url.rstrip("/") + path, data=body.encode(),
                                 method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        sys.stdout.write(r.read().decode() + "\n")
    return 0


# --- test-crash.sh's final checks --------------------------------------------

def crash_report(show_path, exec_path):
    run = load(show_path)["run"]
    ex = load(exec_path)
    lines = []

    def check(name, cond, why=""):
        lines.append("ok %s" % name if cond else "not ok %s: %s" % (name, why))

    # Executions: each stack's one change set, executed once, first attempt.
    vals = list(ex.values())
    over = [v for v in vals if int(v.get("executions", 0)) > 1]
    check("no change set executed twice", not over, json.dumps(over))
    done = sorted((v["stack"], v["name"]) for v in vals
                  if int(v.get("executions", 0)) == 1 and
                  v["name"].startswith("shipgate-"))
    want = [("billing-int", "shipgate-billing-int-r1-a0"),
            ("billing-prod", "shipgate-billing-prod-r1-a0"),
            ("billing-stg", "shipgate-billing-stg-r1-a0")]
    check("each stack executed its first change set, once", done == want,
          "executed: %s" % done)

    # Stages as without a crash.
    st = [(s["env"], s["status"], s["attempt"]) for s in run["stages"]]
    check("every stage done at its first attempt",
          st == [("int", "done", 0), ("stg", "done", 0), ("prod", "done", 0)],
          str(st))

    # Approvals: each one given is there, once.
    got = sorted((a["env"], a["user"], a["decision"], bool(a["gate"]))
                 for a in run["approvals"])
    want = sorted([("int", "alice", "approve", False),
                   ("int", "alice", "authorise", True),
                   ("stg", "bob", "approve", False),
                   ("prod", "bob", "approve", False),
                   ("prod", "carol", "approve", False)])
    check("every approval recorded, once", got == want, str(got))

    # The audit trail: ordered, each transition once, chained per stage.
    audit = run["audit"]
    ids = [a["id"] for a in audit]
    check("audit entries in order", ids == sorted(ids) and
          len(set(ids)) == len(ids), str(ids))
    check("audit not truncated", not run.get("audit_truncated"))
    actions = [a["action"] for a in audit]
    for once in ("run created", "run received -> running",
                 "run running -> succeeded"):
        check("audit has '%s' once" % once, actions.count(once) == 1,
              "%d times" % actions.count(once))
    for env, gate in (("int", True), ("stg", False), ("prod", False)):
        chain = ["pending", "creating_change_set", "awaiting_approval",
                 "executing", "waiting_stack", "waiting_services",
                 "checking"] + (["awaiting_gate"] if gate else []) + ["done"]
        want = ["stage %s %s -> %s" % (env, a, b)
                for a, b in zip(chain, chain[1:])]
        got = [a for a in actions if a.startswith("stage %s " % env)]
        check("audit: %s's transitions once each, in order" % env,
              got == want, "got %s" % got)
    dec = sorted((a["actor"], a["action"], (a["detail"] or "").split(" ")[0])
                 for a in audit if a["action"] in ("approve", "authorise"))
    want = sorted([("alice", "approve", "int"), ("alice", "authorise", "int"),
                   ("bob", "approve", "stg"), ("bob", "approve", "prod"),
                   ("carol", "approve", "prod")])
    check("audit: every decision with its actor, once", dec == want, str(dec))
    for line in lines:
        print(line)
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd in ("check", "get"):
        ns = env_of(load(args[1] if len(args) > 1 else None))
        v = eval("(%s\n)" % args[0].strip(), ns)
        if cmd == "get":
            print(v if isinstance(v, str) else json.dumps(v))
            return 0
        return 0 if v else 1
    if cmd == "reached":
        return cmd_reached(*args)
    if cmd == "where":
        return cmd_where(*args)
    if cmd == "sql":
        return cmd_sql(*args)
    if cmd == "executions":
        return cmd_executions(*args)
    if cmd == "zip":
        return cmd_zip(args)
    if cmd == "put":
        return cmd_put(*args)
    if cmd == "visibility":
        return cmd_visibility(*args)
    if cmd == "post":
        return cmd_post(*args)
    if cmd == "crash-report":
        return crash_report(*args)
    sys.stderr.write("sgtest.py: unknown command %s\n" % cmd)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, sqlite3.Error, ValueError, KeyError) as e:
        sys.stderr.write("sgtest.py: %s\n" % e)
        sys.exit(1)
