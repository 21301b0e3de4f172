#!/usr/bin/python3
"""Helpers of tests/bench/portal.

    portal-seed.py seed DB N     add N finished runs of the app billing
                                 (three stages each, int/stg/prod) to
                                 shipgated's database, in one transaction;
                                 the newest 200 also get a change set (its
                                 details as the engine stores them),
                                 approvals, a deployment and audit entries,
                                 as the run page shows them; every stage
                                 its time per step (stage_times), as
                                 the app page's charts read.  Prints the
                                 newest run's id.
    portal-seed.py login URL USER PASSWORD
                                 sign in through the portal's form; prints
                                 the Cookie header value (name=value)

The database must have been created (migrated) by shipgated, which must
not be running while it is seeded.
"""

import http.client
import json
import re
import sqlite3
import sys
import urllib.parse

sys.dont_write_bytecode = True

ENVS = ("int", "stg", "prod")
AUTHORS = ("alice", "erin", "frank", "grace")
WORDS = ("invoice rounding", "credit notes", "VAT on refunds",
         "PDF export", "dunning letters", "currency table",
         "late fees", "statement layout", "SEPA mandates", "audit export")
DETAILED = 200
# images, change set, approval, executing, ECS, checks, gate (ms)
STEPS = {
    "done": (None, 2000, 6000, 3000, 2000, 1000, None),
    "failed": (None, 2000, 6000, 6000, None, None, None),
    "rejected": (None, 2000, 12000, None, None, None, None),
    "superseded": (None, 2000, 12000, None, None, None, None),
}


def seed(path, n):
    n = int(n)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")
    now = int(db.execute("SELECT CAST(strftime('%s','now') AS INTEGER) * 1000")
              .fetchone()[0])
    db.execute("INSERT OR IGNORE INTO apps (name, created_at, updated_at) "
               "VALUES ('billing', ?1, ?1)", (now - n * 60000 - 3600000,))
    app = db.execute("SELECT id FROM apps WHERE name = 'billing'").fetchone()[0]
    rid0 = (db.execute("SELECT coalesce(max(id), 0) FROM releases").fetchone()[0])
    run0 = (db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0])
    st0 = (db.execute("SELECT coalesce(max(id), 0) FROM stages").fetchone()[0])
    releases, runs, stages = [], [], []
    changes, approvals, deployments, audit = [], [], [], []
    steps = []
    for i in range(n):
        rid, run, t = rid0 + i + 1, run0 + i + 1, now - (n - i) * 60000
        version = "2.%d.%d" % (i // 100, i % 100)
        author = AUTHORS[i % len(AUTHORS)]
        msg = "Fix %s (#%d)" % (WORDS[i % len(WORDS)], 1000 + i)
        manifest = json.dumps({
            "app": "billing", "version": version, "message": msg,
            "author": author, "template": "template.yaml",
            "images": [{"repository": "billing/web", "tag": version},
                       {"repository": "billing/worker", "tag": version}],
            "parameters": {"ImageTag": version}})
        releases.append((rid, app, "releases-billing",
                         "drops/billing-%s.zip" % version, '"%032x"' % i,
                         4096 + i % 512, version, msg, author, manifest, t))
        k = i % 20
        if k < 16:
            status, reason, sts = "succeeded", None, ("done", "done", "done")
        elif k < 18:
            status, reason = "superseded", "superseded by run %d" % (run + 1)
            sts = ("superseded", "pending", "pending")
        elif k == 18:
            status, reason = "rejected", "rejected by alice at int"
            sts = ("rejected", "pending", "pending")
        else:
            status, reason = "failed", "stack update failed at stg"
            sts = ("done", "failed", "pending")
        fin = t + 45000
        runs.append((run, rid, app, version, author, status, reason, t, fin))
        for pos, (env, s) in enumerate(zip(ENVS, sts)):
            sid = st0 + 3 * i + pos + 1
            started = None if s == "pending" else t + pos * 15000
            finished = None if s == "pending" else t + pos * 15000 + 14000
            stages.append((sid, run, pos, env, s,
                           "stack update failed" if s == "failed" else None,
                           2 if env == "prod" else 1,
                           "shipgate-billing-%s-r%d-a0" % (env, run),
                           t, fin, started, finished))
            # The time per step (migration 009's stage_times), which
            # the app page's "History at a glance" reads: 14 s in all.
            if s in STEPS:
                steps.append((app, t, sid, env) + STEPS[s])
            if i < n - DETAILED or s == "pending":
                continue
            for p, (act, lid, typ, repl) in enumerate((
                    ("Modify", "WebTask", "AWS::ECS::TaskDefinition", "True"),
                    ("Modify", "WebService", "AWS::ECS::Service", "False"),
                    ("Modify", "WorkerTask", "AWS::ECS::TaskDefinition", "True"),
                    ("Modify", "WorkerService", "AWS::ECS::Service", "False"))):
                changes.append((sid, 0, p, act, lid,
                                "billing-%s-%s-%d" % (env, lid, run), typ, repl,
                                json.dumps(["Properties"]),
                                json.dumps([{
                                    "Attribute": "Properties",
                                    "Name": "ContainerDefinitions",
                                    "RequiresRecreation": "Always",
                                    "Evaluation": "Static",
                                    "ChangeSource": "ParameterReference",
                                    "CausingEntity": "ImageTag"}])))
            users = ("alice",) if env == "int" else ("bob", "carol")[
                :2 if env == "prod" else 1]
            for u in users:
                dec = "reject" if s == "rejected" else "approve"
                approvals.append((sid, 0, 0, u, dec,
                                  "looks right" if dec == "approve"
                                  else "totals are off", t + pos * 15000 + 2000))
            if s == "done":
                deployments.append((app, env, rid, run, sid,
                                    t + pos * 15000 + 14000))
            audit.append((t + pos * 15000, "shipgated",
                          "stage %s pending -> creating_change_set" % env,
                          "run %d" % run, run, None))
            audit.append((t + pos * 15000 + 14000, "shipgated",
                          "stage %s awaiting_approval -> %s" % (env, s),
                          "run %d" % run, run, None))
    db.executemany(
        "INSERT INTO releases (id, app_id, bucket, key, etag, size, version, "
        "message, author, manifest, status, received_at, updated_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'valid', ?11, ?11)",
        releases)
    db.executemany(
        "INSERT INTO runs (id, release_id, app_id, version, author, kind, "
        "status, reason, created_at, updated_at, finished_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, 'normal', ?6, ?7, ?8, ?9, ?9)", runs)
    db.executemany(
        "INSERT INTO stages (id, run_id, position, environment, status, "
        "reason, required_approvals, change_set_name, created_at, "
        "updated_at, started_at, finished_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", stages)
    db.executemany(
        "INSERT INTO stage_changes (stage_id, attempt, position, action, "
        "logical_id, physical_id, resource_type, replacement, scope, "
        "details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", changes)
    db.executemany(
        "INSERT INTO approvals (stage_id, attempt, gate, user_name, "
        "decision, comment, via, decided_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, 'portal', ?7)", approvals)
    db.executemany(
        "INSERT INTO deployments (app_id, environment, release_id, run_id, "
        "stage_id, deployed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", deployments)
    db.executemany(
        "INSERT INTO stage_times (app_id, run_created_at, stage_id, "
        "environment, images_ms, change_set_ms, approval_ms, executing_ms, "
        "ecs_ms, checks_ms, gate_ms) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", steps)
    db.executemany(
        "INSERT INTO audit (at, actor, action, subject, run_id, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", audit)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    print(run0 + n)
    return 0


def login(url, user, password):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", "/login")
    r = c.getresponse()
    page = r.read().decode("utf-8", "replace")
    fields = {"user": user, "password": password}
    m = re.search(r'name="csrf"\s+value="([^"]*)"', page) or \
        re.search(r'value="([^"]*)"\s+name="csrf"', page)
    if m:
        fields["csrf"] = m.group(1)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Origin": "%s://%s" % (u.scheme, u.netloc),
               "Referer": url.rstrip("/") + "/login"}
    pre = r.getheader("Set-Cookie")
    if pre:
        headers["Cookie"] = pre.split(";", 1)[0]
    c.request("POST", "/login", body=urllib.parse.urlencode(fields),
              headers=headers)
    r = c.getresponse()
    r.read()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie" and v.startswith("sg_session=") and \
                not v.startswith("sg_session=;"):
            print(v.split(";", 1)[0])
            return 0
    sys.stderr.write("portal-seed.py: sign-in failed: %d %s\n" %
                     (r.status, r.getheaders()))
    return 1


def main(argv):
    if len(argv) >= 4 and argv[1] == "seed":
        return seed(argv[2], argv[3])
    if len(argv) >= 5 and argv[1] == "login":
        return login(argv[2], argv[3], argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
