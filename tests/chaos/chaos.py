#!/usr/bin/python3
"""The chaos campaign: shipgated under a long random mix of crashes and
faults, then its promises checked (tests/chaos/README.md).

    chaos.py --builddir DIR [--srcdir DIR] [--seed N] [--seconds S]
             [--apps M] [--releases N] [--kill-min S] [--kill-max S]
             [--fault-rate R] [--drain S] [--no-storage] [--keep]

Reproducible from its seed (printed first): the drops, the decisions,
the kills, the fault rules and the storage faults are all drawn from
it.  What it cannot fix is the interleaving of the daemon's calls with
the fake's random faults, so two runs of one seed differ in detail.

Prints TAP: one line per invariant, the figures as comments, and the
seed again in the last comment.  Exit 0 only if every line is ok.
"""

import argparse
import http.client
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
SRCDIR = os.path.normpath(os.path.join(HERE, "..", ".."))
FAKE = os.path.join(SRCDIR, "tests", "fakeaws")
sys.path.insert(0, FAKE)
import fakeaws_keys as K                                  # noqa: E402

ACCOUNTS = (("int", "111111111111"), ("stg", "222222222222"),
            ("prod", "333333333333"))
HASH = ("$argon2id$v=19$m=65536,t=3,p=4$uLVMLi9BJyU3bV4x3eJTVA$"
        "MNrxisQWsnK9fFyz0Pex1HBgYeUtbDKm6l2tgpEyUuI")
USERS = (("alice", "integrators"), ("bob", "project-team"),
         ("carol", "project-team"))
TERMINAL = ("succeeded", "failed", "rejected", "expired", "superseded",
            "cancelled", "invalid")
# The fault mix: each mode's share of all calls (20 % in all by default).
MIX = (("throttle", {}, 0.20), ("error500", {}, 0.15), ("error503", {}, 0.15),
       ("drop", {}, 0.125), ("drop", {"after": True}, 0.125),
       ("truncate", {}, 0.10), ("malformed", {}, 0.10),
       ("delay", {"delay": 2.0}, 0.05))

T0 = time.time()


def diag(msg):
    sys.stdout.write("# [%6.1f] %s\n" % (time.time() - T0, msg))
    sys.stdout.flush()


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def app_name(i):
    return "app%03d" % i


class Fake(object):
    def __init__(self, tmp):
        self.tmp = tmp
        pf = os.path.join(tmp, "fake.port")
        self.log = open(os.path.join(tmp, "fake.log"), "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(FAKE, "fakeaws.py"), "--port",
             "0", "--port-file", pf, "--step-delay", "0.05"],
            stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 60
        while not (os.path.exists(pf) and os.path.getsize(pf) > 0):
            if time.time() > end or self.proc.poll() is not None:
                raise RuntimeError("the fake AWS endpoint did not start")
            time.sleep(0.05)
        with open(pf) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read().strip())

    def call(self, path, method="GET", body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read().decode() or "null")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_config(path, tmp, fake_url, listen, apps):
    e = fake_url
    out = ["listen: %s" % listen,
           "public_url: http://%s" % listen,
           "database: %s/shipgate.db" % tmp,
           "control_socket: %s/control.sock" % tmp,
           "log_level: info",
           "aws:",
           "  region: eu-west-1",
           "  max_attempts: 3",
           "  endpoints:"]
    for s in ("s3", "sqs", "sts", "cloudformation", "ecs", "ecr", "sesv2"):
        out.append("    %s: %s" % (s, e))
    out += ["mail:",
            '  from: "shipgate chaos <shipgate@chaos.invalid>"',
            "  ses: {}",
            "users:"]
    for name, group in USERS:
        out.append('  - {name: %s, email: %s@chaos.example, groups: [%s], '
                   'password_hash: "%s"}' % (name, name, group, HASH))
    out.append("apps:")
    for i in range(1, apps + 1):
        n = app_name(i)
        out += ["  - name: %s" % n,
                "    source:",
                "      bucket: releases-%s" % n,
                "      prefix: drops/",
                "      queue_url: %s/000000000000/%s-drops" % (e, n),
                # The listing finds what a lost message did not bring.
                "      poll_interval: 30s",
                "    mode: superseded",
                "    environments:"]
        for env, acct in ACCOUNTS:
            out += ["      - name: %s" % env,
                    '        account: "%s"' % acct,
                    "        role_arn: arn:aws:iam::%s:role/shipgate-deployer"
                    % acct,
                    "        stack: %s-%s" % (n, env)]
            if env == "int":
                out += ["        approvers: [integrators]",
                        "        gate: [integrators]"]
            elif env == "stg":
                out += ["        approvers: [project-team]"]
            else:
                out += ["        approvers: [project-team]",
                        "        required_approvals: 2",
                        "        allow_self_approval: false"]
            out.append('        parameters: {Environment: %s, Registry: '
                       '"111111111111"}' % env)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    os.chmod(path, 0o600)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Storage(object):
    """The storage faults' switches, read by the daemon's start too."""

    def __init__(self, tmp):
        self.failsync_file = os.path.join(tmp, "failsync.on")
        self.disk_full = False
        self.lock = threading.Lock()

    def failsync(self, on):
        if on:
            open(self.failsync_file, "w").close()
        elif os.path.exists(self.failsync_file):
            os.unlink(self.failsync_file)


class Daemon(object):
    """shipgated in the foreground; its output through a pipe (a file
    size limit must not silence its log) copied to shipgated.log."""

    def __init__(self, a, tmp, cfg, fake_url, storage, shim):
        self.bin = os.path.join(a.builddir, "daemon", "shipgated")
        self.ctl = os.path.join(a.builddir, "daemon", "shipgatectl")
        self.cfg = cfg
        self.storage = storage
        self.logpath = os.path.join(tmp, "shipgated.log")
        self.log = open(self.logpath, "ab")
        self.loglock = threading.Lock()
        self.proc = None
        self.starts = 0
        self.start_times = []     # time.time() of each start
        self.exits = []           # unexpected exits: (time, code)
        env = dict(os.environ)
        env.update({"AWS_ACCESS_KEY_ID": K.ACCESS_KEY_ID,
                    "AWS_SECRET_ACCESS_KEY": K.SECRET_ACCESS_KEY,
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "SHIPGATE_ENGINE_POLL_MS": "200"})
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(k, None)
        self.ctl_env = dict(env)
        if shim:
            env["LD_PRELOAD"] = shim
            env["FAILSYNC_FILE"] = storage.failsync_file
            # ASan wants to come first; the shim only wraps two calls.
            env["ASAN_OPTIONS"] = ((env.get("ASAN_OPTIONS", "") + ":")
                                   .lstrip(":") + "verify_asan_link_order=0")
        self.env = env
        self.lines = []           # (time, line) since start, bounded
        self.ready = threading.Event()
        self.startlock = threading.Lock()

    def _preexec(self):
        # A full disk is EFBIG past the limit, not a fatal signal.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if self.storage.disk_full:
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (1, resource.RLIM_INFINITY))
        os.setsid()

    def _pump(self, proc):
        for raw in iter(proc.stdout.readline, b""):
            with self.loglock:
                self.log.write(raw)
                self.log.flush()
            line = raw.decode(errors="replace")
            if " ready " in line or line.rstrip().endswith(" ready"):
                self.ready.set()

    def start(self):
        self.ready.clear()
        self.proc = subprocess.Popen(
            [self.bin, "--foreground", "--config", self.cfg],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env,
            preexec_fn=self._preexec)
        self.starts += 1
        self.start_times.append(time.time())
        threading.Thread(target=self._pump, args=(self.proc,),
                         daemon=True).start()

    def start_if_down(self):
        # The killer and the keeper both start it: never two at once.
        with self.startlock:
            if not self.alive():
                self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode if self.proc else None

    def note(self, msg):
        with self.loglock:
            self.log.write(("=== chaos: %s\n" % msg).encode())
            self.log.flush()

    def shipgatectl(self, *args, timeout=60):
        try:
            p = subprocess.run([self.ctl, "-c", self.cfg] + list(args),
                               stdin=subprocess.DEVNULL, capture_output=True,
                               env=self.ctl_env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return (-1, "", "timeout")
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))


def db_ro(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    c.execute("PRAGMA busy_timeout = 10000")
    return c


class Chaos(object):
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.tmp = tempfile.mkdtemp(prefix="shipgate-chaos.")
        self.stop_chaos = threading.Event()
        self.stop_all = threading.Event()
        self.figs = {"kills": 0, "restarts_delayed": 0, "drops": 0,
                     "drop_retries": 0, "stack_failures": 0,
                     "ecs_failures": 0, "disk_full": 0, "failsync": 0,
                     "decisions_ok": 0, "decisions_refused": 0,
                     "decisions_unknown": 0, "cli": 0, "api": 0,
                     "wrong_user_tries": 0, "repeat_tries": 0}
        self.flock = threading.Lock()
        self.dropped = []         # (app, version, key)
        self.accepted = []        # decisions the daemon said it took
        self.violations = []      # found while running: (name, why)
        self.storage_obs = []     # per storage fault: what was seen
        self.scheduled = {}       # key -> (times given, when done)
        self.tokens = {}

    def bump(self, k, n=1):
        with self.flock:
            self.figs[k] = self.figs.get(k, 0) + n

    # --- set-up ------------------------------------------------------------

    def shim(self):
        src = os.path.join(HERE, "failsync.c")
        out = os.path.join(self.tmp, "failsync.so")
        cc = os.environ.get("CC", "cc").split()
        r = subprocess.run(cc + ["-shared", "-fPIC", "-O2", "-o", out, src,
                                 "-ldl"], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("cannot build failsync.so: %s" %
                               r.stderr.decode(errors="replace"))
        return out

    def setup(self):
        a = self.a
        self.fake = Fake(self.tmp)
        diag("fake AWS endpoint at %s" % self.fake.url)
        sb = load_module("pipeline_sandbox", os.path.join(
            SRCDIR, "tests", "bench", "pipeline-sandbox.py"))
        self.sbmod = sb
        self.sandbox = sb.Sandbox(self.fake.url, K.DEFAULT_REGION, a.apps)
        self.sandbox.setup()
        diag("sandbox: %d apps, %d stacks" % (a.apps, 3 * a.apps))
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.cfg = os.path.join(self.tmp, "shipgate.yaml")
        write_config(self.cfg, self.tmp, self.fake.url,
                     "127.0.0.1:%d" % self.port, a.apps)
        self.db = os.path.join(self.tmp, "shipgate.db")
        self.storage = Storage(self.tmp)
        shim = self.shim() if a.storage else None
        self.d = Daemon(a, self.tmp, self.cfg, self.fake.url, self.storage,
                        shim)
        self.d.start()
        if not self.d.ready.wait(120):
            raise RuntimeError("shipgated did not get ready")
        for user, _ in USERS:
            rc, out, err = self.d.shipgatectl("token", "create", user,
                                              "--label", "chaos")
            if rc != 0:
                raise RuntimeError("token create %s: %s" % (user, err))
            self.tokens[user] = out.strip().split()[-1]
        import boto3
        from botocore.config import Config
        self.s3 = boto3.client(
            "s3", endpoint_url=self.fake.url, region_name=K.DEFAULT_REGION,
            aws_access_key_id=K.ACCESS_KEY_ID,
            aws_secret_access_key=K.SECRET_ACCESS_KEY,
            config=Config(signature_version="s3v4",
                          s3={"addressing_style": "path"},
                          retries={"max_attempts": 10, "mode": "standard"},
                          connect_timeout=10, read_timeout=30))

    # --- the plan ----------------------------------------------------------

    def plan_drops(self):
        a, rng = self.a, self.rng
        span = a.seconds * 0.7
        times = sorted(rng.uniform(0, span) for _ in range(a.releases))
        plan, versions, last = [], {}, None
        for t in times:
            # Some drops follow the last one's app: they supersede it.
            if last is not None and rng.random() < 0.25:
                app = last
            else:
                app = app_name(rng.randint(1, a.apps))
            versions[app] = versions.get(app, 0) + 1
            plan.append((t, app, "2.%d.0" % versions[app]))
            last = app
        return plan

    # --- the actors --------------------------------------------------------

    def dropper(self, plan, start):
        for t, app, version in plan:
            while not self.stop_all.is_set() and time.time() < start + t:
                time.sleep(0.05)
            if self.stop_all.is_set():
                return
            data = self.sbmod.release_zip(app, version)
            key = "drops/%s-%s.zip" % (app, version)
            for attempt in range(20):
                try:
                    self.s3.put_object(Bucket="releases-" + app, Key=key,
                                       Body=data,
                                       ContentType="application/zip")
                    break
                except Exception as e:          # noqa: BLE001
                    self.bump("drop_retries")
                    diag("drop %s: %s (again)" % (key, e))
                    time.sleep(1)
            else:
                self.violations.append(("drop", "could not put %s" % key))
                continue
            self.dropped.append((app, version, key))
            self.bump("drops")

    def killer(self, rng):
        while not self.stop_chaos.wait(rng.uniform(self.a.kill_min,
                                                   self.a.kill_max)):
            pause = 0 if rng.random() < 0.5 else rng.uniform(1, 8)
            self.d.note("kill -9 (restart after %.1f s)" % pause)
            self.d.kill9()
            self.bump("kills")
            if pause:
                self.bump("restarts_delayed")
                self.stop_chaos.wait(pause)
            self.d.start_if_down()

    def keeper(self):
        """Starts the daemon again when it exits by itself (a start
        refused on a full disk, a crash): noted, it is a finding."""
        while not self.stop_all.wait(1):
            p = self.d.proc
            if p is not None and p.poll() is not None and \
                    p.returncode != -signal.SIGKILL:
                self.d.exits.append((round(time.time() - T0, 1),
                                     p.returncode, self.storage.disk_full or
                                     os.path.exists(
                                         self.storage.failsync_file)))
                diag("shipgated exited by itself (%s); started again" %
                     p.returncode)
                time.sleep(1)
                if self.d.proc is p:
                    self.d.start_if_down()

    def failer(self, rng):
        """Stack failures and ECS circuit-breaker rollbacks, now and then."""
        while not self.stop_chaos.wait(rng.uniform(8, 25)):
            app = app_name(rng.randint(1, self.a.apps))
            env, acct = ACCOUNTS[rng.randint(0, 2)]
            try:
                if rng.random() < 0.5:
                    self.fake.call("/_fake/cfn/fail-resource", "POST", {
                        "logical_id": "LogGroup", "stack": "%s-%s" % (app, env),
                        "reason": "chaos: resource failed", "count": 1})
                    self.bump("stack_failures")
                else:
                    self.fake.call("/_fake/ecs/fail-deployment", "POST", {
                        "service": "web", "account": acct, "count": 1})
                    self.bump("ecs_failures")
            except (OSError, urllib.error.URLError) as e:
                diag("failer: %s" % e)

    def healthz(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            c.request("GET", "/healthz")
            r = c.getresponse()
            body = r.read().decode(errors="replace").strip()
            c.close()
            return r.status, body
        except OSError as e:
            return None, str(e)

    def storage_faults(self, rng):
        while not self.stop_chaos.wait(rng.uniform(20, 50)):
            kind = "disk_full" if rng.random() < 0.5 else "failsync"
            hold = rng.uniform(6, 15)
            start_log = os.path.getsize(self.d.logpath)
            obs = {"kind": kind, "at": round(time.time() - T0, 1),
                   "codes": {}, "reasons": set(), "recovered": None}
            self.d.note("storage fault %s on for %.1f s" % (kind, hold))
            if kind == "disk_full":
                self.storage.disk_full = True
                if self.d.alive():
                    try:
                        resource.prlimit(self.d.proc.pid,
                                         resource.RLIMIT_FSIZE,
                                         (1, resource.RLIM_INFINITY))
                    except OSError as e:
                        diag("prlimit: %s" % e)
            else:
                self.storage.failsync(True)
            self.bump(kind)
            end = time.time() + hold
            while time.time() < end and not self.stop_all.is_set():
                code, body = self.healthz()
                obs["codes"][code] = obs["codes"].get(code, 0) + 1
                if code == 503:
                    obs["reasons"].add(body[:120])
                time.sleep(0.5)
            self.storage.disk_full = False
            if self.d.alive():
                try:
                    resource.prlimit(self.d.proc.pid, resource.RLIMIT_FSIZE,
                                     (resource.RLIM_INFINITY,
                                      resource.RLIM_INFINITY))
                except OSError:
                    pass
            self.storage.failsync(False)
            self.d.note("storage fault %s off" % kind)
            t = time.time()
            while time.time() < t + 60 and not self.stop_all.is_set():
                code, _ = self.healthz()
                if code == 200:
                    obs["recovered"] = round(time.time() - t, 1)
                    break
                time.sleep(0.5)
            with open(self.d.logpath, "rb") as f:
                f.seek(start_log)
                text = f.read().decode(errors="replace")
            obs["log"] = [ln for ln in text.splitlines()
                          if re.search(r"sync|disk|full|database|storage|"
                                       r"EFBIG|too large|I/O", ln, re.I)][:5]
            obs["said"] = "database unusable" in text
            obs["back"] = "database usable again" in text
            obs["reasons"] = sorted(obs["reasons"])
            self.storage_obs.append(obs)
            diag("storage fault %s: healthz %s, back to 200 after %s s" % (
                kind, obs["codes"], obs["recovered"]))

    def decide(self, key, n, run, env, status, attempt, required):
        try:
            self._decide(key, n, run, env, status, attempt, required)
        finally:
            self.scheduled[key] = (n + 1, time.time())

    def _decide(self, key, n, run, env, status, attempt, required):
        """The decisions for a stage waiting, by the right users, each
        after its own delay, through the CLI or the API."""
        r = random.Random("%d:%s:%d" % (self.a.seed, key, n))
        acts = []
        if status == "awaiting_gate":
            if r.random() < 0.95:
                acts.append(("alice", "authorise"))
            else:
                acts.append(("alice", "reject"))
        elif env == "int":
            acts.append(("alice", "approve" if r.random() < 0.93
                         else "reject"))
        elif env == "stg":
            acts.append((r.choice(["bob", "carol"]),
                         "approve" if r.random() < 0.95 else "reject"))
        else:
            for u in ("bob", "carol")[:max(required, 1)]:
                acts.append((u, "approve" if r.random() < 0.96
                             else "reject"))
        if r.random() < 0.1:
            acts.append(acts[0])                  # again: refused
            self.bump("repeat_tries")
        if r.random() < 0.05:
            wrong = "bob" if env == "int" else "alice"
            acts.insert(0, (wrong, "approve" if status != "awaiting_gate"
                            else "authorise", "wrong"))
            self.bump("wrong_user_tries")
        for act in acts:
            if self.stop_all.wait(r.uniform(0, 6)):
                return
            user, decision = act[0], act[1]
            via = "cli" if r.random() < 0.5 else "api"
            ok, why = self.give(via, run, env, user, decision)
            if ok is True:
                if len(act) > 2:
                    self.violations.append((
                        "wrong user accepted", "%s %s run %d %s" % (
                            user, decision, run, env)))
                self.accepted.append({"run": run, "env": env, "user": user,
                                      "decision": decision, "via": via,
                                      "gate": status == "awaiting_gate",
                                      "attempt": attempt})
                self.bump("decisions_ok")
            elif ok is False:
                self.bump("decisions_refused")
            else:
                self.bump("decisions_unknown")

    def give(self, via, run, env, user, decision):
        comment = "chaos %s by %s" % (decision, user)
        self.bump(via)
        if via == "cli":
            args = [decision, str(run)]
            if decision != "authorise":
                args += ["--env", env]
            args += ["--as", user, "-m", comment]
            rc, out, err = self.d.shipgatectl(*args)
            if rc == 0:
                return True, ""
            # 1: refused by the daemon; other codes: it did not answer.
            if rc == 1 and "connect" not in err and "control socket" \
                    not in err and "closed" not in err:
                return False, err.strip()
            return None, err.strip()
        body = {"comment": comment}
        if decision != "authorise":
            body["env"] = env
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=60)
            c.request("POST", "/api/v1/runs/%d/%s" % (run, decision),
                      body=json.dumps(body), headers={
                          "Authorization": "Bearer " + self.tokens[user],
                          "Content-Type": "application/json"})
            resp = c.getresponse()
            text = resp.read().decode(errors="replace")
            c.close()
        except OSError as e:
            return None, str(e)
        if resp.status == 200:
            return True, ""
        if resp.status in (400, 403, 404, 409, 422):
            return False, text
        return None, text

    def approver(self):
        while not self.stop_all.wait(0.7):
            try:
                c = db_ro(self.db)
                rows = c.execute(
                    "SELECT s.id, s.run_id, s.environment, s.status, "
                    "s.attempt, s.required_approvals FROM stages s JOIN "
                    "runs r ON r.id = s.run_id WHERE r.status = 'running' "
                    "AND s.status IN ('awaiting_approval', "
                    "'awaiting_gate')").fetchall()
                c.close()
            except sqlite3.Error:
                continue
            now = time.time()
            for sid, run, env, status, attempt, req in rows:
                key = "%d:%d:%s" % (sid, attempt, status)
                # Still waiting well after its decisions were given (one
                # was lost with a kill, or refused on a full disk): the
                # people try again, as they would.
                n, done = self.scheduled.get(key, (0, 0))
                if done is None or (n and now - done < 20):
                    continue
                self.scheduled[key] = (n + 1, None)
                threading.Thread(target=self.decide, args=(
                    key, n, run, env, status, attempt, req),
                    daemon=True).start()

    # --- the campaign ------------------------------------------------------

    def faults_on(self):
        left, ids = 1.0, []
        for mode, extra, share in MIX:
            p = self.a.fault_rate * share
            # Rules are tried in order: each one's rate is of what the
            # ones before it let through, so that the shares hold.
            rule = dict({"service": "*", "operation": "*", "mode": mode,
                         "rate": p / left}, **extra)
            ids.append(self.fake.call("/_fake/faults", "POST", rule)["id"])
            left -= p

    def faults_fired(self):
        out = {}
        for r in self.fake.call("/_fake/faults")["faults"]:
            name = r["mode"] + ("-after" if r.get("after") else "")
            out[name] = out.get(name, 0) + r.get("fired", 0)
        return out

    def unfinished(self):
        c = db_ro(self.db)
        n = c.execute("SELECT count(*) FROM runs WHERE status IN "
                      "('received', 'running')").fetchone()[0]
        rel = c.execute("SELECT count(*) FROM releases").fetchone()[0]
        pend = c.execute("SELECT count(*) FROM outbox WHERE status = "
                         "'pending'").fetchone()[0]
        c.close()
        return n, rel, pend

    def run(self):
        a = self.a
        self.setup()
        plan = self.plan_drops()
        seeds = [self.rng.randrange(1 << 30) for _ in range(3)]
        self.faults_on()
        diag("chaos for %d s: %d releases over %d apps, kills every "
             "%g-%g s, faults at %.0f %%" % (a.seconds, a.releases, a.apps,
                                            a.kill_min, a.kill_max,
                                            a.fault_rate * 100))
        start = time.time()
        threads = [threading.Thread(target=self.dropper, args=(plan, start)),
                   threading.Thread(target=self.killer,
                                    args=(random.Random(seeds[0]),)),
                   threading.Thread(target=self.failer,
                                    args=(random.Random(seeds[1]),)),
                   threading.Thread(target=self.approver),
                   threading.Thread(target=self.keeper)]
        if a.storage:
            threads.append(threading.Thread(target=self.storage_faults,
                                            args=(random.Random(seeds[2]),)))
        for t in threads:
            t.daemon = True
            t.start()
        self.stop_chaos.wait(a.seconds)
        self.stop_chaos.set()
        threads[0].join()                          # every drop is in
        self.fired = self.faults_fired()
        self.fake.call("/_fake/faults", "DELETE")
        self.storage.disk_full = False
        self.storage.failsync(False)
        for t in threads[1:3] + threads[5:]:
            t.join()
        if self.d.alive():
            try:
                resource.prlimit(self.d.proc.pid, resource.RLIMIT_FSIZE,
                                 (resource.RLIM_INFINITY,
                                  resource.RLIM_INFINITY))
            except OSError:
                pass
        else:
            self.d.start_if_down()
        self.d.note("chaos over: draining")
        diag("chaos over after %.0f s; faults and kills stopped, draining"
             % (time.time() - start))
        # The drain: every release in, every run finished, every mail
        # out, within a bound.
        end = time.time() + a.drain
        want = len(self.dropped)
        while time.time() < end:
            try:
                n, rel, pend = self.unfinished()
            except sqlite3.Error:
                n, rel, pend = -1, -1, -1
            if n == 0 and rel >= want and pend == 0:
                break
            time.sleep(2)
        diag("drained in %.0f s (unfinished runs %d, releases %d of %d, "
             "mail pending %d)" % (a.drain - (end - time.time()), n, rel,
                                   want, pend))
        time.sleep(3)                              # the last mail's reply
        self.stop_all.set()
        self.stop_rc = self.d.stop()
        self.mail = self.fake.call("/_fake/mail")["messages"]
        self.execs = self.fake.call("/_fake/cfn/executions")
        self.fake.stop()
        self.wall = time.time() - T0
        return self.check()

    # --- the invariants ----------------------------------------------------

    def check(self):
        copy = os.path.join(self.tmp, "check.db")
        src = sqlite3.connect(self.db)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        c = dst
        results = []

        def inv(name, bad):
            results.append((name, bad))

        q = lambda sql, *p: c.execute(sql, p).fetchall()     # noqa: E731
        runs = {r[0]: r for r in q(
            "SELECT r.id, r.release_id, r.status, r.reason, r.kind, a.name, "
            "r.version FROM runs r JOIN apps a ON a.id = r.app_id")}
        stages = q("SELECT id, run_id, environment, status, reason, attempt, "
                   "required_approvals FROM stages")
        st_by = {(s[1], s[2]): s for s in stages}

        # 1. Every release dropped: one release, one run, one end.
        bad = []
        for app, version, key in self.dropped:
            rel = q("SELECT id, status FROM releases WHERE key = ? AND "
                    "bucket = ?", key, "releases-" + app)
            if len(rel) != 1:
                bad.append("%s: %d releases" % (key, len(rel)))
                continue
            rr = [r for r in runs.values() if r[1] == rel[0][0] and
                  r[4] == "normal"]
            if rel[0][1] == "invalid" and not rr:
                continue
            if len(rr) != 1:
                bad.append("%s: %d runs" % (key, len(rr)))
            elif rr[0][2] not in TERMINAL:
                bad.append("%s: run %d still %s" % (key, rr[0][0], rr[0][2]))
        for rid, r in runs.items():
            ends = q("SELECT action FROM audit WHERE run_id = ? AND action "
                     "LIKE 'run % -> %'", rid)
            ends = [e for (e,) in ends if e.split(" -> ")[1] in TERMINAL]
            # An invalid release's run is created invalid, with one
            # "release invalid" row (engine.c), not a transition.
            ends += [a for (a,) in q("SELECT action FROM audit WHERE "
                                     "run_id = ? AND action = 'release "
                                     "invalid'", rid)]
            if r[2] in TERMINAL and len(ends) != 1:
                bad.append("run %d: %d terminal transitions %s" % (
                    rid, len(ends), ends))
        inv("every release reached exactly one terminal state", bad)

        # 2. No change set executed twice.
        bad = ["%s %s: executed %s times" % (v.get("stack"), v.get("name"),
                                             v.get("executions"))
               for v in self.execs.values() if int(v.get("executions", 0)) > 1]
        inv("no change set executed twice", bad)

        # 3. No execution without a recorded quorum.
        bad = []
        nexec = 0
        for v in self.execs.values():
            if int(v.get("executions", 0)) < 1:
                continue
            m = re.match(r"^shipgate-(.+)-(\w+)-r(\d+)-a(\d+)$",
                         v.get("name", ""))
            if not m:
                continue
            nexec += 1
            env, run, att = m.group(2), int(m.group(3)), int(m.group(4))
            s = st_by.get((run, env))
            if s is None:
                bad.append("%s: no such stage" % v["name"])
                continue
            users = {u for (u,) in q(
                "SELECT user_name FROM approvals WHERE stage_id = ? AND "
                "attempt = ? AND gate = 0 AND decision = 'approve'",
                s[0], att)}
            rej = q("SELECT count(*) FROM approvals WHERE stage_id = ? AND "
                    "attempt = ? AND gate = 0 AND decision = 'reject'",
                    s[0], att)[0][0]
            allowed = {"int": {"alice"}}.get(env, {"bob", "carol"})
            if len(users & allowed) < s[6] or rej:
                bad.append("%s: approvals %s, rejections %d, %d needed" % (
                    v["name"], sorted(users), rej, s[6]))
        self.figs["executions"] = nexec
        inv("no execution without a recorded approval quorum", bad)

        # 4. Every decision the daemon took is recorded once, audited once.
        bad = []
        for d in self.accepted:
            s = st_by.get((d["run"], d["env"]))
            if s is None:
                bad.append("%s: no stage" % d)
                continue
            rows = q("SELECT attempt, via FROM approvals WHERE stage_id = ? "
                     "AND user_name = ? AND decision = ? AND gate = ? AND "
                     "attempt >= ?", s[0], d["user"], d["decision"],
                     1 if d["gate"] or d["decision"] == "authorise" else 0,
                     d["attempt"])
            if d["decision"] == "reject" and not rows:
                rows = q("SELECT attempt, via FROM approvals WHERE "
                         "stage_id = ? AND user_name = ? AND decision = "
                         "'reject' AND attempt >= ?", s[0], d["user"],
                         d["attempt"])
            if len(rows) != 1:
                bad.append("run %d %s %s %s: %d rows" % (
                    d["run"], d["env"], d["user"], d["decision"], len(rows)))
        for (sid, run, env, att, user, dec, via) in q(
                "SELECT a.stage_id, s.run_id, s.environment, a.attempt, "
                "a.user_name, a.decision, a.via FROM approvals a JOIN stages "
                "s ON s.id = a.stage_id"):
            n = q("SELECT count(*) FROM audit WHERE run_id = ? AND actor = ? "
                  "AND action = ? AND (detail = ? OR detail LIKE ?)", run,
                  user, dec, "%s attempt %d via %s" % (env, att, via),
                  "%s attempt %d via %s: %%" % (env, att, via))[0][0]
            if n != 1:
                bad.append("run %d %s %s %s: %d audit rows" % (
                    run, env, user, dec, n))
        inv("every approval and decision recorded once, audited once", bad)

        # 5. Every transition has its audit row: the audit chains from
        # the first state to the one in the database.
        bad = []
        for rid, r in runs.items():
            acts = [a for (a,) in q("SELECT action FROM audit WHERE run_id = "
                                    "? ORDER BY id", rid)]
            chain = [a[4:].split(" -> ") for a in acts
                     if a.startswith("run ") and " -> " in a]
            cur = "received"
            if "release invalid" in acts:
                chain = [("received", "invalid")] + chain
            for frm, to in chain:
                if frm != cur:
                    bad.append("run %d: %s -> %s after %s" % (rid, frm, to,
                                                              cur))
                cur = to
            if cur != r[2]:
                bad.append("run %d is %s, its audit ends at %s" % (
                    rid, r[2], cur))
            for s in [s for s in stages if s[1] == rid]:
                pre = "stage %s " % s[2]
                cur = "pending"
                for a in acts:
                    if not a.startswith(pre) or " -> " not in a:
                        continue
                    frm, to = a[len(pre):].split(" -> ")
                    if frm != cur:
                        bad.append("run %d %s: %s -> %s after %s" % (
                            rid, s[2], frm, to, cur))
                    cur = to
                if cur != s[3]:
                    bad.append("run %d %s is %s, its audit ends at %s" % (
                        rid, s[2], s[3], cur))
        inv("every transition has its audit row", bad[:50])

        # 6. Every mail cause queued and sent (duplicates counted).
        bad = []
        for (rid, a) in q("SELECT run_id, action FROM audit WHERE action "
                          "LIKE 'stage % -> awaiting_approval' OR action "
                          "LIKE 'stage % -> awaiting_gate'"):
            env = a.split(" ")[1]
            s = st_by.get((rid, env))
            ev = "gate_needed" if a.endswith("gate") else "approval_needed"
            n = q("SELECT count(*) FROM outbox WHERE channel = 'email' AND "
                  "dedup_key LIKE ?", "%s stage=%d %%" % (ev, s[0]))[0][0]
            if n < 1:
                bad.append("run %d %s: no %s mail" % (rid, env, ev))
        ids = {}
        times = {}
        for m in self.mail:
            mm = re.search(r"Message-ID: <shipgate\.(\d+)\.", m.get("raw") or "",
                           re.I)
            if mm:
                ids[int(mm.group(1))] = ids.get(int(mm.group(1)), 0) + 1
                times.setdefault(int(mm.group(1)), []).append(
                    m.get("time") or 0)
        # Each copy after the first: sent again by a later process (a
        # kill between SES taking it and its record) or by the same one
        # (SES's reply lost: the connection dropped after it took it).
        restart = lost = 0
        for ts in times.values():
            ts.sort()
            for t0, t1 in zip(ts, ts[1:]):
                if any(t0 < st <= t1 for st in self.d.start_times):
                    restart += 1
                else:
                    lost += 1
        self.figs["mail_dup_restart"] = restart
        self.figs["mail_dup_reply_lost"] = lost
        # SES's replies cut or garbled after its 200: sent, not retried.
        with open(self.d.logpath, "rb") as f:
            self.figs["mail_taken_as_sent"] = len(re.findall(
                rb"SES SendEmail: HTTP \d+ but .*: taken as sent", f.read()))
        self.figs["mail_message_ids"] = len(ids)
        rows = q("SELECT id, status, event, last_error FROM outbox WHERE "
                 "channel = 'email'")
        for oid, status, ev, err in rows:
            if ids.get(oid, 0) < 1:
                bad.append("outbox %d (%s) %s, never received: %s" % (
                    oid, ev, status, err))
        self.figs["mails"] = len(rows)
        self.figs["mail_duplicates"] = sum(n - 1 for n in ids.values()
                                           if n > 1)
        inv("every mail cause sent at least once", bad[:50])

        # 7. Nothing stuck or failed without a reason a person can see.
        bad = []
        for rid, r in runs.items():
            sts = [s for s in stages if s[1] == rid]
            if r[2] in ("received", "running"):
                if not r[3] and not any(s[4] for s in sts):
                    bad.append("run %d %s, no reason" % (rid, r[2]))
            if r[2] == "failed" and not r[3] and not any(
                    s[4] for s in sts if s[3] == "failed"):
                bad.append("run %d failed, no reason" % rid)
        inv("no run stuck or failed without a reason a person can see", bad)

        # 8. Found while it ran (wrong user accepted, a drop lost).
        inv("nothing went wrong while it ran",
            ["%s: %s" % v for v in self.violations])

        # 9. Storage faults (observed, see README).
        if self.a.storage:
            bad = []
            for o in self.storage_obs:
                if o["recovered"] is None:
                    bad.append("%s at %s: /healthz not 200 within 60 s after"
                               % (o["kind"], o["at"]))
            inv("the daemon goes on when a storage fault clears", bad)

            # 10. It says so: a 503 with the reason while the disk fails
            # (a fault met by no write or sync goes unseen, so one is
            # enough), and a log line saying why.
            bad = []
            seen = [o for o in self.storage_obs if o["codes"].get(503)]
            if len(self.storage_obs) >= 2 and not seen:
                bad.append("no storage fault of %d answered 503 on /healthz"
                           % len(self.storage_obs))
            for o in seen:
                for r in o["reasons"]:
                    if not r.startswith("database: cannot "):
                        bad.append("%s at %s: 503 without the reason: %r"
                                   % (o["kind"], o["at"], r))
                if not o["said"]:
                    bad.append("%s at %s: 503 but the log does not say why"
                               % (o["kind"], o["at"]))
            inv("/healthz answers 503 with the reason during a storage "
                "fault", bad)

        by = {}
        for r in runs.values():
            by[r[2]] = by.get(r[2], 0) + 1
        self.figs["runs"] = by
        # Why runs failed, shortened: injected stack and ECS failures are
        # expected, anything else is worth a look.
        why = {}
        for r in runs.values():
            if r[2] == "failed":
                k = re.sub(r"\d+", "N", (r[3] or "(none)"))[:90]
                why[k] = why.get(k, 0) + 1
        self.figs["failed_why"] = why
        c.close()
        return results

    def report(self, results):
        f = self.figs
        diag("seed=%d apps=%d releases=%d (dropped %d) seconds=%d" % (
            self.a.seed, self.a.apps, self.a.releases, f["drops"],
            self.a.seconds))
        diag("runs by status: %s" % json.dumps(f.get("runs", {}),
                                               sort_keys=True))
        for k, n in sorted(f.get("failed_why", {}).items()):
            diag("  failed %d: %s" % (n, k))
        diag("kills=%d (restarts after a pause %d), unexpected exits=%s" % (
            f["kills"], f["restarts_delayed"], self.d.exits))
        diag("faults fired: %s" % json.dumps(self.fired, sort_keys=True))
        diag("stack failures injected=%d, ECS deployment failures=%d" % (
            f["stack_failures"], f["ecs_failures"]))
        diag("decisions: taken %d, refused %d, unanswered %d (cli %d, api "
             "%d; wrong-user tries %d, repeats %d)" % (
                 f["decisions_ok"], f["decisions_refused"],
                 f["decisions_unknown"], f["cli"], f["api"],
                 f["wrong_user_tries"], f["repeat_tries"]))
        diag("change sets executed=%s, mails=%s, mail duplicates=%s "
             "(after a restart %s, SES's reply lost %s; distinct "
             "Message-IDs received %s; SES replies cut or garbled after "
             "its 200, taken as sent %s)" % (
                 f.get("executions"), f.get("mails"),
                 f.get("mail_duplicates"), f.get("mail_dup_restart"),
                 f.get("mail_dup_reply_lost"), f.get("mail_message_ids"),
                 f.get("mail_taken_as_sent")))
        if self.a.storage:
            diag("storage faults: disk full %d, failing fdatasync %d" % (
                f["disk_full"], f["failsync"]))
            for o in self.storage_obs:
                diag("  %s at %ss: healthz %s %s; 200 again after %s s; "
                     "log said unusable %s, usable again %s: %s" % (
                         o["kind"], o["at"], o["codes"], o["reasons"],
                         o["recovered"], o["said"], o["back"],
                         " | ".join(o["log"])[:300]))
        nbad = sum(len(b) for _, b in results)
        diag("invariant violations=%d wall=%.0f s daemon's stop=%s" % (
            nbad, self.wall, self.stop_rc))
        print("1..%d" % len(results))
        for i, (name, bad) in enumerate(results, 1):
            print("%sok %d - %s" % ("not " if bad else "", i, name))
            for b in bad[:20]:
                print("#   %s" % b)
        diag("seed=%d (again: chaos.py --seed %d ...)" % (self.a.seed,
                                                          self.a.seed))
        return 0 if nbad == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--seconds", type=int, default=1800)
    ap.add_argument("--apps", type=int, default=20)
    ap.add_argument("--releases", type=int, default=200)
    ap.add_argument("--kill-min", type=float, default=5)
    ap.add_argument("--kill-max", type=float, default=40)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--drain", type=int, default=900)
    ap.add_argument("--no-storage", dest="storage", action="store_false")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "big") & 0x7fffffff
    print("# chaos: seed=%d" % a.seed)
    sys.stdout.flush()
    ch = Chaos(a)
    rc = 1
    try:
        rc = ch.report(ch.run())
    except Exception as e:                          # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("Bail out! %s (seed %d)" % (e, a.seed))
    finally:
        ch.stop_chaos.set()
        ch.stop_all.set()
        if getattr(ch, "d", None) is not None:
            ch.d.stop()
        if getattr(ch, "fake", None) is not None:
            ch.fake.stop()
        if a.keep or rc != 0:
            print("# kept %s" % ch.tmp)
        else:
            shutil.rmtree(ch.tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
