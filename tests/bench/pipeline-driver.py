#!/usr/bin/python3
"""The driver and the figures of tests/bench/pipeline.

    pipeline-driver.py --apps N --endpoint URL --socket PATH --log FILE \\
        --pid PID [--timeout S] [--idle S]

With shipgated running (PID, its log in FILE, its control socket PATH)
on the sandbox of pipeline-sandbox.py: measures the daemon's idle CPU for
--idle seconds, starts the fake's timeline, drops N releases at once,
and gives every decision as soon as the daemon asks for it, by following
its log ("stage X -> awaiting_approval app=A run=R env=E"): Int approved
by alice and authorised by alice at the gate, STG and Prod approved by
bob (one Unix user is one person: no quorum of two), through one
connection to the control socket speaking its newline-delimited JSON
(daemon/control.c), requests pipelined.  No polling of the daemon: the
driver costs it only the decisions.

When every run has finished (or --timeout), prints a report and, last,
the figures as key=value.  The delay of an app is from the fake's
enqueueing of its S3 event to the fake's reading of its first
CreateChangeSet (both from GET /_fake/timeline, one clock); it is split
into the fake's part (the long poll's reply, the service time of the
app's calls on the way) and the rest (the daemon, and the sockets).
"""

import argparse
import importlib.util
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True

STAGE_RE = re.compile(r"stage (\w+) -> (\w+) app=(\S+) run=(\d+) env=(\w+)")
RUN_RE = re.compile(r"run (\w+) -> (\w+) app=(\S+) run=(\d+)")
TICKS = os.sysconf("SC_CLK_TCK")


def load_sandbox():
    spec = importlib.util.spec_from_file_location(
        "pipeline_sandbox", os.path.join(HERE, "pipeline-sandbox.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cpu_seconds(pid):
    """utime + stime of the process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Control(object):
    """One connection to the control socket; replies read by a thread."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.lock = threading.Lock()
        self.next_id = 0
        self.sent = 0
        self.answered = 0
        self.errors = []
        self.done = threading.Condition()

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s
        threading.Thread(target=self._reader, args=(s,), daemon=True).start()

    def _reader(self, s):
        buf = b""
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                rep = json.loads(line)
                with self.done:
                    self.answered += 1
                    if not rep.get("ok"):
                        self.errors.append(rep)
                    self.done.notify_all()
        with self.lock:
            if self.sock is s:
                self.sock = None

    def send(self, req):
        with self.lock:
            self.next_id += 1
            req["id"] = self.next_id
            data = (json.dumps(req) + "\n").encode()
            for attempt in (0, 1):
                if self.sock is None:
                    self._connect()
                try:
                    self.sock.sendall(data)
                    break
                except OSError:
                    self.sock = None
                    if attempt:
                        raise
            self.sent += 1

    def wait_all(self, timeout):
        end = time.time() + timeout
        with self.done:
            while self.answered < self.sent and time.time() < end:
                self.done.wait(0.1)


def follow(path, stop):
    """The lines appended to a file, as they come."""
    with open(path, "r", errors="replace") as f:
        f.seek(0, os.SEEK_END)
        part = ""
        while not stop.is_set():
            chunk = f.readline()
            if not chunk:
                time.sleep(0.005)
                continue
            part += chunk
            if part.endswith("\n"):
                yield part
                part = ""


def fake(endpoint, path, method="GET"):
    req = urllib.request.Request(endpoint + path, method=method,
                                 data=b"{}" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read().decode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", type=int, required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--dump", help="write the fake's timeline here (JSON)")
    a = ap.parse_args()
    endpoint = a.endpoint.rstrip("/")
    n = a.apps
    pid = a.pid
    sandbox = load_sandbox().Sandbox(endpoint, "eu-west-1", n)
    ctl = Control(a.socket)

    # The daemon's idle cost (long polls of N queues, timers).
    c0 = cpu_seconds(pid)
    time.sleep(a.idle)
    idle_rate = (cpu_seconds(pid) - c0) / a.idle

    stop = threading.Event()
    lines = follow(a.log, stop)
    fake(endpoint, "/_fake/timeline", "POST")
    finished = {}             # run -> status
    asked = {}                # (run, env, status) -> time seen
    lag = []                  # log line seen -> decision sent
    state = {"first_fail": None}

    def watch():
        for line in lines:
            m = STAGE_RE.search(line)
            if m:
                _, to, app, run, env = m.groups()
                run = int(run)
                key = (run, env, to)
                if key in asked:
                    continue
                t = time.time()
                if to == "awaiting_approval":
                    users = {"int": ["alice"], "stg": ["bob"],
                             "prod": ["bob"]}[env]
                    for u in users:
                        ctl.send({"command": "approve", "run": run, "env": env,
                                  "as": u})
                elif to == "awaiting_gate":
                    ctl.send({"command": "authorise", "run": run, "as": "alice"})
                else:
                    continue
                asked[key] = t
                lag.append(time.time() - t)
                continue
            m = RUN_RE.search(line)
            if m:
                _, to, app, run = m.groups()
                if to in ("succeeded", "failed", "cancelled", "superseded"):
                    finished[int(run)] = to
                    if to != "succeeded" and state["first_fail"] is None:
                        state["first_fail"] = line.strip()
                    if len(finished) >= n:
                        return
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(0.2)           # the watcher is at the log's end

    rss_idle_kb = status_kb(pid, "VmRSS")
    cpu_start = cpu_seconds(pid)
    t_start = time.time()
    sandbox.drop("2.0.0")
    t_dropped = time.time()
    watcher.join(a.timeout)
    t_end = time.time()
    cpu_end = cpu_seconds(pid)
    stop.set()
    ctl.wait_all(10)
    hwm_kb = status_kb(pid, "VmHWM")
    rss_kb = status_kb(pid, "VmRSS")
    events = fake(endpoint, "/_fake/timeline")["events"]
    fake(endpoint, "/_fake/timeline", "DELETE")
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump(events, f)

    succeeded = sum(1 for s in finished.values() if s == "succeeded")
    wall = t_end - t_start
    cpu = cpu_end - cpu_start
    per_run = cpu / succeeded * 1000 if succeeded else float("nan")
    idle_part = idle_rate * wall
    per_run_busy = ((cpu - idle_part) / succeeded * 1000 if succeeded
                    else float("nan"))

    # Delays, per app, on the fake's clock.
    enq, ccs, recv = {}, {}, {}
    per_app_calls = {}
    took_all, by_op = [], {}
    for e in events:
        if e["kind"] == "enqueue":
            app = e["subject"].rsplit(":", 1)[1][:-len("-drops")]
            enq.setdefault(app, e["t"])
            continue
        op = "%s:%s" % (e["service"], e["operation"])
        if op != "sqs:ReceiveMessage":
            took_all.append(e["took"])
            by_op.setdefault(op, []).append(e["took"])
        subj = e["subject"] or ""
        m = re.search(r"(app\d{3,})", subj)
        if not m:
            continue
        app = m.group(1)
        if op == "sqs:ReceiveMessage":
            recv.setdefault(app, []).append((e["t"], e["t"] + e["took"]))
        elif op == "cloudformation:CreateChangeSet" and subj.endswith("-int"):
            if app in enq and e["t"] >= enq[app] and app not in ccs:
                ccs[app] = e["t"]
        else:
            per_app_calls.setdefault(app, []).append((e["t"], e["took"]))
    delays, fake_part, rest = [], [], []
    for app, t0 in enq.items():
        if app not in ccs:
            continue
        d = ccs[app] - t0
        delays.append(d * 1000)
        # The long poll that returned the message: the first to end after it.
        ends = [end for (_, end) in recv.get(app, []) if end >= t0]
        r_end = min(ends) if ends else t0
        # The time some call of the app was inside the fake (a union: the
        # intake's DeleteMessage runs beside the engine's calls).
        spans = sorted((t, min(t + took, ccs[app]))
                       for (t, took) in per_app_calls.get(app, [])
                       if r_end <= t < ccs[app])
        served, cur = 0.0, r_end
        for (b, e) in spans:
            b = max(b, cur)
            if e > b:
                served += e - b
                cur = e
        fp = (r_end - t0) + served
        fake_part.append(fp * 1000)
        rest.append((d - fp) * 1000)

    p = lambda v, q: pct(v, q)
    print("pipeline benchmark: %d apps, one release each, three environments"
          % n)
    print("  runs succeeded        %d of %d (finished %d)%s" % (
        succeeded, n, len(finished),
        "" if state["first_fail"] is None else "; first failure: " +
        state["first_fail"]))
    print("  wall time             %.1f s (drop of %d zips: %.1f s)" % (
        wall, n, t_dropped - t_start))
    print("  daemon CPU            %.2f s in all: %.1f ms per run "
          "(goal < 20 ms)" % (cpu, per_run))
    print("    idle cost           %.1f ms/s before the drop (long polls of "
          "%d queues); without it %.1f ms per run" % (
              idle_rate * 1000, n, per_run_busy))
    print("  daemon peak RSS       %.1f MB (VmHWM; %.1f MB before the drop, "
          "%.1f MB at the end) (goal < 40 MB)" % (
              hwm_kb / 1024.0, rss_idle_kb / 1024.0, rss_kb / 1024.0))
    print("  delay S3 event on the queue -> CreateChangeSet (fake's clock), "
          "%d apps:" % len(delays))
    print("    total               p50 %.1f ms  p99 %.1f ms  max %.1f ms "
          "(goal p99 < 50 ms)" % (p(delays, 50), p(delays, 99),
                                  max(delays) if delays else float("nan")))
    print("    fake's part         p50 %.1f ms  p99 %.1f ms (long poll "
          "reply + service time of the app's calls on the way)" % (
              p(fake_part, 50), p(fake_part, 99)))
    print("    the rest            p50 %.1f ms  p99 %.1f ms (the daemon, its "
          "loop's queue, the sockets, the fake's HTTP framing)" % (
        p(rest, 50), p(rest, 99)))
    print("  fake's service time   p50 %.1f ms  p99 %.1f ms over %d calls "
          "(long polls excluded)" % (p(took_all, 50) * 1000,
                                     p(took_all, 99) * 1000, len(took_all)))
    for op in sorted(by_op, key=lambda o: -len(by_op[o]))[:8]:
        v = by_op[op]
        print("    %-34s %6d calls  p50 %.1f ms  p99 %.1f ms" % (
            op, len(v), p(v, 50) * 1000, p(v, 99) * 1000))
    print("  decisions sent        %d (answers %d, refused %d)%s" % (
        ctl.sent, ctl.answered, len(ctl.errors),
        "" if not ctl.errors else ": " + json.dumps(ctl.errors[0])))
    # Throttling (PIPELINE_THROTTLE=1): the replies the fake throttled,
    # and the longest wait the daemon's client-side limit gave a call.
    try:
        rej = fake(a.endpoint, "/_fake/rejected").get("throttled", {})
    except Exception:
        rej = {}
    throttled = sum(sum(v.values()) for v in rej.values())
    wait_max = 0
    with open(a.log, errors="replace") as f:
        for line in f:
            m = re.search(r"AWS rate limit: .* waited (\d+) ms", line)
            if m:
                wait_max = max(wait_max, int(m.group(1)))
    print("  throttled replies     %d (%s); longest wait the limit gave: "
          "%d ms" % (throttled, ", ".join(
              "%s %s %d" % (svc, op, c) for svc, ops in sorted(rej.items())
              for op, c in sorted(ops.items())) or "none", wait_max))
    print("cpu_ms_per_run=%.2f cpu_ms_per_run_busy=%.2f peak_rss_mb=%.1f "
          "delay_p50_ms=%.1f delay_p99_ms=%.1f daemon_delay_p50_ms=%.1f "
          "daemon_delay_p99_ms=%.1f fake_service_p50_ms=%.2f "
          "fake_service_p99_ms=%.2f idle_rss_mb=%.1f runs=%d apps=%d "
          "wall_s=%.1f throttled=%d limit_wait_max_ms=%d" % (
              per_run, per_run_busy, hwm_kb / 1024.0, p(delays, 50),
              p(delays, 99), p(rest, 50), p(rest, 99),
              p(took_all, 50) * 1000, p(took_all, 99) * 1000,
              rss_idle_kb / 1024.0, succeeded, n, wall, throttled,
              wait_max))
    return 0 if succeeded == n else 1


if __name__ == "__main__":
    sys.exit(main())
