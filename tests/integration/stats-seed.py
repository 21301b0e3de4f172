#!/usr/bin/python3
"""Helpers of test-stats.sh (issue 16, the delivery measures).

    stats-seed.py seed DB NOW_MS EXPECTED.json
        add a year of billing's history to shipgated's (stopped) database,
        moving each stage through its statuses with the UPDATE shipgated
        makes (so the schema's trigger records the time per status), and
        write the measures this script computes itself from the history it
        made, for the periods of 30, 90 and 365 days ending at the next
        midnight UTC after NOW_MS.
    stats-seed.py compare EXPECTED.json DAYS API.json
        the API's answer matches the expected measures (exit 1 and say what
        differs otherwise)
    stats-seed.py page EXPECTED.json DAYS PAGE.html
        each SVG in the page parses as XML, the weekly chart has a bar
        group per week, and the figures are on the page as text
    stats-seed.py run-current PAGE.html
        the page of the run left waiting for Prod's approval (seed's
        running_run) counts that wait up to now: 3 d 0 h
    stats-seed.py backfill SQLDIR
        migration NNN_stage_times on a database made by the migrations before it, with
        a history in the audit log only: stage_times gets each stage's
        time per step from the transitions (exit 1 otherwise); the same
        for NNN_window_step and the time in awaiting_window
    stats-seed.py run-page DB RUN PAGE.html
        the run page's chart parses, and each step's time of the run's
        stages (read from stage_times here) is written beside it
"""

import json
import random
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True

DAY = 86400 * 1000
WEEK = 7 * DAY
MIN = 60 * 1000
HOUR = 60 * MIN
STEPS = ("images", "change_set", "approval", "window", "executing", "ecs",
         "checks", "gate")
STEP_OF = {"promoting": "images", "creating_change_set": "change_set",
           "awaiting_approval": "approval", "awaiting_window": "window",
           "executing": "executing",
           "waiting_stack": "executing", "waiting_services": "ecs",
           "checking": "checks", "awaiting_gate": "gate"}
LABEL = {"images": "images copied", "change_set": "change set",
         "approval": "waiting for approval", "executing": "executing",
         "ecs": "ECS services", "checks": "checks",
         "gate": "waiting at the gate",
         "window": "waiting for the deploy window"}


def rank(values, pct):
    """Nearest rank, in integers: ceil(pct * n / 100)."""
    if not values:
        return None
    v = sorted(values)
    r = max(1, -(-pct * len(v) // 100))
    return v[min(r, len(v)) - 1]


def duration(ms):
    """As the page writes a time (portal-stats.c)."""
    if ms is None:
        return "none"
    s = ms // 1000
    if ms < 1000:
        return "%d ms" % ms
    if s < 60:
        return "%d s" % s
    if s < 3600:
        return "%d min %d s" % (s // 60, s % 60)
    if s < 86400:
        return "%d h %d min" % (s // 3600, (s % 3600) // 60)
    return "%d d %d h" % (s // 86400, (s % 86400) // 3600)


class Seeder:
    def __init__(self, db, now):
        self.db = db
        self.now = now
        self.rnd = random.Random(16)
        self.stages = []        # (env, run created_at, {step: ms})
        self.prod = []          # (received, finished, status, executed, kind)

    def stage(self, run, pos, env, created, start, plan, end_status):
        """plan: [(status, ms)], then end_status.  Returns the end time."""
        db = self.db
        sid = db.execute(
            "INSERT INTO stages (run_id, position, environment, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?)",
            (run, pos, env, created, created)).lastrowid
        t = start
        steps = {}
        executed = False
        for status, ms in plan + [(end_status, 0)]:
            fin = status in ("done", "failed", "rejected", "rolled_back")
            db.execute(
                "UPDATE stages SET status = ?2, updated_at = ?3, "
                "started_at = coalesce(started_at, ?3), "
                "finished_at = CASE WHEN ?4 THEN ?3 END, "
                "executed_at = CASE WHEN ?2 = 'executing' THEN ?3 "
                "ELSE executed_at END WHERE id = ?1",
                (sid, status, t, fin))
            if status == "executing":
                executed = True
            if status in STEP_OF:
                k = STEP_OF[status]
                steps[k] = steps.get(k, 0) + ms
            # A write that is not a transition (a deadline) in between.
            db.execute("UPDATE stages SET deadline_at = ?2, updated_at = ?2 "
                       "WHERE id = ?1", (sid, t + ms // 2))
            t += ms
        self.stages.append((env, created, steps))
        return sid, t - 0, executed

    def run(self, app, release, received, kind, envs):
        """envs: [(env, plan, end_status)] in order; stops after a stage
        that did not end done."""
        created = received + MIN
        rid = self.db.execute(
            "INSERT INTO runs (release_id, app_id, kind, status, created_at, "
            "updated_at) VALUES (?, ?, ?, 'running', ?, ?)",
            (release, app, kind, created, created)).lastrowid
        t = created + 5000
        status = "succeeded"
        for pos, (env, plan, end) in enumerate(envs):
            sid, t, executed = self.stage(rid, pos, env, created, t, plan, end)
            if env == "prod":
                self.prod.append((received, t, end, executed, kind))
            if end != "done":
                status = "rejected" if end == "rejected" else "failed"
                for p2, (e2, _, _) in enumerate(envs[pos + 1:], pos + 1):
                    self.db.execute(
                        "INSERT INTO stages (run_id, position, environment, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                        (rid, p2, e2, created, created))
                break
        self.db.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, updated_at = ?3, "
            "reason = CASE WHEN ?2 <> 'succeeded' THEN 'seeded' END "
            "WHERE id = ?1", (rid, status, t))
        return rid, t

    def plan(self, env, outcome):
        r = self.rnd
        p = []
        if env == "stg":
            p.append(("promoting", r.randint(5, 90) * 1000))
        p.append(("creating_change_set", r.randint(10, 120) * 1000))
        p.append(("awaiting_approval", r.randint(1, 40 * 60) * MIN // 60))
        if outcome == "failed_cs":
            return p[:-1], "failed"
        if outcome == "rejected":
            return p, "rejected"
        # Approved outside STG's or Prod's deploy windows, or in a
        # freeze: the wait is a step of its own.
        if env != "int" and r.random() < 0.35:
            p.append(("awaiting_window", r.randint(1, 3 * 24 * 60) * MIN))
        p.append(("executing", r.randint(1, 20) * 1000))
        p.append(("waiting_stack", r.randint(30, 600) * 1000))
        if outcome == "failed":
            return p, "failed"
        p.append(("waiting_services", r.randint(30, 900) * 1000))
        p.append(("checking", r.randint(5, 120) * 1000))
        if outcome == "rolled_back":
            return p, "rolled_back"
        if env == "int":
            p.append(("awaiting_gate", r.randint(1, 30 * 60) * MIN // 60))
        return p, "done"

    def seed(self, n=160):
        db = self.db
        db.execute("INSERT OR IGNORE INTO apps (name, created_at, updated_at) "
                   "VALUES ('billing', 0, 0)")
        app = db.execute("SELECT id FROM apps WHERE name = 'billing'"
                         ).fetchone()[0]
        first = self.now - 390 * DAY
        step = (385 * DAY) // n
        releases = []
        for i in range(n):
            received = first + i * step + self.rnd.randint(0, HOUR)
            version = "3.%d.0" % i
            manifest = json.dumps({"version": version, "images": [],
                                   "parameters": {}})
            rel = db.execute(
                "INSERT INTO releases (app_id, bucket, key, version, message, "
                "author, manifest, status, received_at, updated_at) VALUES "
                "(?, 'releases-billing', ?, ?, 'seeded', 'alice', ?, 'valid', "
                "?, ?)", (app, "drops/%s.zip" % version, version, manifest,
                          received, received)).lastrowid
            releases.append(rel)
            x = self.rnd.random()
            prod = ("rejected_stg" if x < 0.08 else "failed" if x < 0.2 else
                    "rolled_back" if x < 0.26 else "failed_cs" if x < 0.3 else
                    "ok")
            envs = []
            for env in ("int", "stg", "prod"):
                outcome = "ok"
                if env == "stg" and prod == "rejected_stg":
                    outcome = "rejected"
                elif env == "prod" and prod != "rejected_stg":
                    outcome = prod
                envs.append((env,) + self.plan(env, outcome))
            _, end = self.run(app, rel, received, "normal", envs)
            # Half the Prod failures are restored by a rollback run (of
            # the release before): restores, not lead time.
            if prod in ("failed", "rolled_back") and i > 0 and i % 2 == 0:
                plan, _ = self.plan("prod", "ok")
                self.run(app, releases[-2], end + HOUR - MIN, "rollback",
                         [("prod", plan, "done")])

    def running(self):
        """A run still waiting for Prod's approval, entered 3 days and 30
        minutes ago: the run page counts that wait up to now.  Its
        earlier stages are not measured (the run is newer than any
        expected figure's stages would change: run_page checks it)."""
        db = self.db
        app = db.execute("SELECT id FROM apps WHERE name = 'billing'"
                         ).fetchone()[0]
        since = self.now - 3 * DAY - 30 * MIN
        rel = db.execute(
            "INSERT INTO releases (app_id, bucket, key, version, message, "
            "author, manifest, status, received_at, updated_at) VALUES "
            "(?, 'releases-billing', 'drops/9.9.9.zip', '9.9.9', 'waiting', "
            "'alice', '{}', 'valid', ?, ?)", (app, since - HOUR, since - HOUR)
        ).lastrowid
        run = db.execute(
            "INSERT INTO runs (release_id, app_id, status, created_at, "
            "updated_at) VALUES (?, ?, 'running', ?, ?)",
            (rel, app, since - HOUR, since - HOUR)).lastrowid
        for pos, env in enumerate(("int", "stg", "prod")):
            db.execute(
                "INSERT INTO stages (run_id, position, environment, status, "
                "created_at, updated_at, started_at, finished_at, status_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run, pos, env, "done" if env != "prod" else
                 "awaiting_approval", since - HOUR, since, since - HOUR,
                 since if env != "prod" else None, since))
        return run

    def expected(self, days):
        to = (self.now // DAY + 1) * DAY
        frm = to - days * DAY
        nweeks = -(-(to - frm) // WEEK)
        deps = [d for d in self.prod if frm <= d[1] < to and
                (d[2] in ("done", "rolled_back") or
                 (d[2] == "failed" and d[3]))]
        deps.sort(key=lambda d: (d[1], 0 if d[2] != "done" else 1))
        weeks = [{"deployments": 0, "failed": 0, "lead": []}
                 for _ in range(nweeks)]
        lead, restore, unrestored = [], [], 0
        for i, d in enumerate(deps):
            w = min((d[1] - frm) // WEEK, nweeks - 1)
            if d[2] != "done":
                weeks[w]["failed"] += 1
                nxt = [e for e in deps[i + 1:] if e[2] == "done"]
                if nxt:
                    restore.append(nxt[0][1] - d[1])
                else:
                    unrestored += 1
                continue
            weeks[w]["deployments"] += 1
            if d[4] != "rollback":
                lead.append(d[1] - d[0])
                weeks[w]["lead"].append(d[1] - d[0])
        good = sum(1 for d in deps if d[2] == "done")
        failed = len(deps) - good
        envs = []
        for env in ("int", "stg", "prod"):
            med, samples = {}, {}
            for k in STEPS:
                v = [st[k] for (e, c, st) in self.stages
                     if e == env and frm <= c < to and k in st]
                med[k] = rank(v, 50)
                samples[k] = len(v)
            envs.append({"name": env, "median_ms": med, "samples": samples})
        return {
            "days": days, "from_ms": frm, "to_ms": to,
            "deployments": good, "failed": failed, "all": len(deps),
            "per_week": good * WEEK / (to - frm),
            "lead_median": rank(lead, 50), "lead_p90": rank(lead, 90),
            "rate": failed / len(deps) if deps else None,
            "restore_median": rank(restore, 50), "restored": len(restore),
            "unrestored": unrestored,
            "weeks": [{"deployments": w["deployments"], "failed": w["failed"],
                       "lead_median": rank(w["lead"], 50)} for w in weeks],
            "environments": envs,
        }


def seed(path, now, out):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")
    s = Seeder(db, int(now))
    s.seed()
    running = s.running()
    db.execute("COMMIT")
    exp = {str(d): s.expected(d) for d in (30, 90, 365)}
    exp["running_run"] = running
    with open(out, "w") as f:
        json.dump(exp, f)
    # Enough history for the measures to mean something.
    e = exp["365"]
    assert e["deployments"] > 50 and e["failed"] > 5 and e["restored"] > 3, e


def compare(exp_path, days, api_path):
    e = json.load(open(exp_path))[days]
    a = json.load(open(api_path))
    bad = []

    def same(name, got, want):
        if isinstance(want, float) or isinstance(got, float):
            if got is None or want is None or abs(got - want) > 1e-9:
                if got != want:
                    bad.append("%s: %r, expected %r" % (name, got, want))
        elif got != want:
            bad.append("%s: %r, expected %r" % (name, got, want))

    same("days", a["days"], int(days))
    same("deployments", a["deployment_frequency"]["deployments"],
         e["deployments"])
    same("per_week", a["deployment_frequency"]["per_week"], e["per_week"])
    same("lead median", a["lead_time"]["median_ms"], e["lead_median"])
    same("lead p90", a["lead_time"]["p90_ms"], e["lead_p90"])
    same("failure rate", a["change_failure_rate"]["rate"], e["rate"])
    same("failed", a["change_failure_rate"]["failed"], e["failed"])
    same("all deployments", a["change_failure_rate"]["deployments"], e["all"])
    same("restore median", a["time_to_restore"]["median_ms"],
         e["restore_median"])
    same("restored", a["time_to_restore"]["restored"], e["restored"])
    same("unrestored", a["time_to_restore"]["unrestored"], e["unrestored"])
    same("weeks", len(a["weeks"]), len(e["weeks"]))
    for i, (wa, we) in enumerate(zip(a["weeks"], e["weeks"])):
        same("week %d deployments" % i, wa["deployments"], we["deployments"])
        same("week %d failed" % i, wa["failed"], we["failed"])
        same("week %d lead" % i, wa["lead_time_median_ms"], we["lead_median"])
    same("environments", [x["name"] for x in a["environments"]],
         [x["name"] for x in e["environments"]])
    for xa, xe in zip(a["environments"], e["environments"]):
        for k in STEPS:
            same("%s %s median" % (xe["name"], k), xa["median_ms"][k],
                 xe["median_ms"][k])
            same("%s %s samples" % (xe["name"], k), xa["samples"][k],
                 xe["samples"][k])
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


def svgs(html):
    found = re.findall(r"<svg\b.*?</svg>", html, re.S)
    return [ET.fromstring(s) for s in found]


def text_of(html):
    t = re.sub(r"<[^>]+>", " ", html)
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'),
                 ("&#39;", "'"), ("&amp;", "&")):
        t = t.replace(a, b)
    return re.sub(r"\s+", " ", t)


def page(exp_path, days, page_path):
    e = json.load(open(exp_path))[days]
    html = open(page_path).read()
    bad = []
    trees = svgs(html)      # raises if one is not well-formed
    ns = "{http://www.w3.org/2000/svg}"
    weeks = [t for t in trees if t.get("aria-labelledby") == "stats-weeks-t"]
    if len(weeks) != 1:
        bad.append("%d weekly charts" % len(weeks))
    else:
        groups = weeks[0].findall(ns + "g")
        if len(groups) != len(e["weeks"]):
            bad.append("%d week bars, expected %d" % (len(groups),
                                                      len(e["weeks"])))
    steps = [t for t in trees if t.get("aria-labelledby") == "stats-steps-t"]
    if len(steps) != 1:
        bad.append("%d step charts" % len(steps))
    text = text_of(html)
    want = ["%d good" % e["deployments"],
            "median %s, p90 %s" % (duration(e["lead_median"]),
                                   duration(e["lead_p90"])),
            "median %s (%d restored, %d not yet)" % (
                duration(e["restore_median"]), e["restored"],
                e["unrestored"])]
    if e["rate"] is not None:
        want.append("%.1f%% (%d of %d)" % (e["rate"] * 100, e["failed"],
                                          e["all"]))
    for x in e["environments"]:
        row = " ".join(duration(x["median_ms"][k])
                       if x["median_ms"][k] is not None else ""
                       for k in STEPS)
        want.append(re.sub(r"\s+", " ", "%s %s" % (x["name"], row)).strip())
    for w in want:
        if w not in text:
            bad.append("not on the page: %r" % w)
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


def run_page(db_path, run, page_path):
    db = sqlite3.connect(db_path)
    html = open(page_path).read()
    trees = [t for t in svgs(html) if t.get("aria-labelledby") ==
             "run-steps-t"]
    bad = [] if len(trees) == 1 else ["%d run charts" % len(trees)]
    text = text_of(html)
    rows = db.execute("SELECT s.environment, %s FROM stages s "
                      "JOIN stage_times t ON t.stage_id = s.id "
                      "WHERE s.run_id = ? ORDER BY s.position" %
                      ", ".join("%s_ms" % k for k in STEPS),
                      (int(run),)).fetchall()
    per = {}
    for row in rows:
        per[row[0]] = {k: ms for k, ms in zip(STEPS, row[1:])
                       if ms is not None}
    if not per:
        bad.append("run %s has no step times" % run)
    for env, d in per.items():
        for k, ms in d.items():
            w = "%s, %s: %s" % (env, LABEL[k], duration(ms))
            if not any(t.findtext("{http://www.w3.org/2000/svg}title") == w
                       for t in trees[0].iter(
                           "{http://www.w3.org/2000/svg}rect")):
                bad.append("no segment titled %r" % w)
        row = " ".join(duration(d[k]) if k in d else "" for k in STEPS)
        w = re.sub(r"\s+", " ", "%s %s" % (env, row)).strip()
        if w not in text:
            bad.append("not on the page: %r" % w)
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


def run_current(page_path):
    """The waiting run's page: Prod's approval counted up to now."""
    html = open(page_path).read()
    trees = [t for t in svgs(html) if t.get("aria-labelledby") ==
             "run-steps-t"]
    want = "prod, waiting for approval: 3 d 0 h"
    if len(trees) != 1 or not any(
            r.findtext("{http://www.w3.org/2000/svg}title") == want
            for r in trees[0].iter("{http://www.w3.org/2000/svg}rect")):
        print("no segment titled %r" % want, file=sys.stderr)
        return 1
    return 0


def backfill(sqldir):
    import glob
    import os
    files = sorted(glob.glob(os.path.join(sqldir, "[0-9][0-9][0-9]_*.sql")))
    # By name, not number: migrations merged beside it renumber it.
    times = [f for f in files if f.endswith("_stage_times.sql")]
    db = sqlite3.connect(":memory:")
    for f in files[:files.index(times[0])]:
        db.executescript(open(f).read())
    db.executescript("""
        INSERT INTO apps VALUES (1, 'billing', 0, 0);
        INSERT INTO releases (id, app_id, bucket, key, status, received_at,
            updated_at) VALUES (1, 1, 'b', 'k', 'received', 0, 0);
        INSERT INTO runs (id, release_id, app_id, created_at, updated_at)
            VALUES (7, 1, 1, 5, 5);
        INSERT INTO stages (id, run_id, position, environment, created_at,
            updated_at) VALUES (1, 7, 0, 'int', 5, 5), (2, 7, 1, 'prod', 5, 5);
    """)
    moves = [(10, "int", "pending", "creating_change_set"),
             (30, "int", "creating_change_set", "awaiting_approval"),
             (40, "prod", "pending", "promoting"),
             (100, "int", "awaiting_approval", "executing"),
             (150, "int", "executing", "waiting_stack"),
             (170, "int", "waiting_stack", "failed"),
             (175, "prod", "promoting", "creating_change_set"),
             (200, "int", "failed", "creating_change_set"),
             (260, "int", "creating_change_set", "awaiting_approval")]
    for at, env, frm, to in moves:
        db.execute("INSERT INTO audit (at, actor, action, subject, run_id) "
                   "VALUES (?, 'shipgated', ?, 'run 7', 7)",
                   (at, "stage %s %s -> %s" % (env, frm, to)))
    # Someone else's entry that looks like nothing the backfill reads.
    db.execute("INSERT INTO audit (at, actor, action, subject, run_id) "
               "VALUES (300, 'dave', 'cancel', 'run 7', 7)")
    db.executescript(open(times[0]).read())
    got = db.execute("SELECT stage_id, app_id, run_created_at, environment, "
                     "images_ms, change_set_ms, approval_ms, executing_ms, "
                     "ecs_ms, checks_ms, gate_ms FROM stage_times "
                     "ORDER BY stage_id").fetchall()
    # int: change set 20 + 60 (the retry), approval 70 (the open one,
    # still waiting, is not counted), executing 50 + 20; prod: images 135.
    want = [(1, 1, 5, "int", None, 80, 70, 70, None, None, None),
            (2, 1, 5, "prod", 135, None, None, None, None, None, None)]
    if got != want:
        print("stage_times %r, expected %r" % (got, want), file=sys.stderr)
        return 1
    return backfill_window(files)


def backfill_window(files):
    """Migration NNN_window_step on a database made by the migrations
    before it: the waits in awaiting_window read from the audit log,
    added to a stage's row or in a row of their own."""
    step = [f for f in files if f.endswith("_window_step.sql")]
    db = sqlite3.connect(":memory:")
    for f in files[:files.index(step[0])]:
        db.executescript(open(f).read())
    db.executescript("""
        INSERT INTO apps VALUES (1, 'billing', 0, 0);
        INSERT INTO releases (id, app_id, bucket, key, status, received_at,
            updated_at) VALUES (1, 1, 'b', 'k', 'received', 0, 0);
        INSERT INTO runs (id, release_id, app_id, created_at, updated_at)
            VALUES (7, 1, 1, 5, 5);
        INSERT INTO stages (id, run_id, position, environment, created_at,
            updated_at) VALUES (1, 7, 0, 'stg', 5, 5), (2, 7, 1, 'prod', 5, 5);
        INSERT INTO stage_times (app_id, run_created_at, stage_id,
            environment, approval_ms) VALUES (1, 5, 1, 'stg', 70);
    """)
    moves = [(10, "stg", "awaiting_approval", "awaiting_window"),
             (250, "stg", "awaiting_window", "executing"),
             (300, "prod", "awaiting_approval", "awaiting_window"),
             (340, "prod", "awaiting_window", "executing"),
             (400, "prod", "executing", "failed"),
             (410, "prod", "failed", "awaiting_window")]
    for at, env, frm, to in moves:
        db.execute("INSERT INTO audit (at, actor, action, subject, run_id) "
                   "VALUES (?, 'shipgated', ?, 'run 7', 7)",
                   (at, "stage %s %s -> %s" % (env, frm, to)))
    db.executescript(open(step[0]).read())
    got = db.execute("SELECT stage_id, environment, approval_ms, window_ms "
                     "FROM stage_times ORDER BY stage_id").fetchall()
    # stg: 240 beside its approval; prod: 40 (the wait still open is not
    # counted), a row of its own.
    want = [(1, "stg", 70, 240), (2, "prod", None, 40)]
    if got != want:
        print("window_step: stage_times %r, expected %r" % (got, want),
              file=sys.stderr)
        return 1
    # And the trigger counts a wait from now on.
    db.execute("UPDATE stages SET status = 'awaiting_window', "
               "updated_at = 1000 WHERE id = 2")
    db.execute("UPDATE stages SET status = 'executing', updated_at = 1600 "
               "WHERE id = 2")
    got = db.execute("SELECT window_ms FROM stage_times WHERE stage_id = 2"
                     ).fetchone()
    if got != (640,):
        print("window_step: the trigger made %r, expected (640,)" % (got,),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "seed" and len(sys.argv) == 5:
        seed(*sys.argv[2:])
    elif cmd == "compare" and len(sys.argv) == 5:
        sys.exit(compare(*sys.argv[2:]))
    elif cmd == "page" and len(sys.argv) == 5:
        sys.exit(page(*sys.argv[2:]))
    elif cmd == "run-current" and len(sys.argv) == 3:
        sys.exit(run_current(sys.argv[2]))
    elif cmd == "backfill" and len(sys.argv) == 3:
        sys.exit(backfill(sys.argv[2]))
    elif cmd == "run-page" and len(sys.argv) == 5:
        sys.exit(run_page(*sys.argv[2:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
