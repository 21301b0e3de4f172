#!/usr/bin/python3
"""Hostile clients for test-portal-slow.sh, bounded in count and time.

slowloris HOST:PORT --addresses N --per-address M --seconds S
    N*M connections from 127.0.1.1..127.0.1.N, each sending a request
    head one byte a second (never finished); a connection the server
    closes is opened again.  At the end prints a JSON line: connections
    opened, closed by the server, the longest a trickling connection
    lived, the most held at once.

junk HOST:PORT --addresses N --per-address M
    M sign-ins without a password, each with a new user name, from each
    of N addresses (127.0.2.x, 127.0.3.x, ...).  Prints the statuses.

longnames HOST:PORT --addresses N --per-address M --size BYTES
    M sign-ins with a user name of BYTES bytes (and no password: no
    hash to wait for) from each of N addresses (127.10.x.y, or
    127.BASE.x.y with --base).

Sign-ins stop after --seconds (default 60) whatever is left.
"""
import argparse
import http.client
import json
import select
import socket
import sys
import time
import urllib.parse


def addr_of(base, i):
    """The i-th address (from 1) of 127.base.0.0/16."""
    return "127.%d.%d.%d" % (base, (i - 1) // 254, (i - 1) % 254 + 1)


def slowloris(host, port, n, m, seconds):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: a\r\n" * 1000
    socks = {}          # socket -> [address, opened at, bytes sent]
    opened = closed = 0
    longest = 0.0
    most = 0
    reopen = []
    end = time.monotonic() + seconds

    def connect(a):
        nonlocal opened
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((a, 0))
            s.connect_ex((host, port))
        except OSError:
            s.close()
            return
        socks[s] = [a, time.monotonic(), 0]
        opened += 1

    for i in range(1, n + 1):
        for _ in range(m):
            connect(addr_of(1, i))
    next_tick = time.monotonic()
    while time.monotonic() < end:
        most = max(most, len(socks))
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                continue    # an answer (a 4xx); the end comes next
            a, t0, _ = socks.pop(s)
            s.close()
            closed += 1
            longest = max(longest, time.monotonic() - t0)
            reopen.append(a)
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            # Reopened once a second, as a patient attacker would.
            for a in reopen:
                connect(a)
            reopen.clear()
            for s, st in list(socks.items()):
                try:
                    s.send(head[st[2]:st[2] + 1])
                    st[2] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    pass    # seen as closed by recv above
    for s, st in socks.items():
        s.close()
    print(json.dumps({"opened": opened, "closed_by_server": closed,
                      "longest": round(longest, 2), "most": most}))


def signins(host, port, n, m, base, make_body, seconds):
    statuses = {}
    end = time.monotonic() + seconds
    for i in range(1, n + 1):
        if time.monotonic() >= end:
            statuses["unsent"] = statuses.get("unsent", 0) + m
            continue
        a = addr_of(base, i)
        c = http.client.HTTPConnection(host, port, timeout=30,
                                       source_address=(a, 0))
        for j in range(m):
            body = make_body(i, j)
            try:
                c.request("POST", "/login", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
                r = c.getresponse()
                r.read()
                st = r.status
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
            except (OSError, http.client.HTTPException):
                st = 0
                c.close()
            statuses[st] = statuses.get(st, 0) + 1
        c.close()
    print(json.dumps({str(k): v for k, v in
                      sorted(statuses.items(), key=lambda kv: str(kv[0]))}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["slowloris", "junk", "longnames"])
    ap.add_argument("target")
    ap.add_argument("--addresses", type=int, default=40)
    ap.add_argument("--per-address", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--size", type=int, default=60000)
    ap.add_argument("--base", type=int, default=0,
                    help="second octet of the addresses (sign-ins)")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    # Bounded whatever the arguments say.
    n = min(a.addresses, 2000)
    m = min(a.per_address, 32)
    if a.mode == "slowloris":
        slowloris(host, int(port), n, m, min(a.seconds, 60))
    elif a.mode == "junk":
        signins(host, int(port), n, m, a.base or 2,
                lambda i, j: "user=junk-%d-%d" % (i, j), min(a.seconds, 120))
    else:
        name = urllib.parse.quote("u" * min(a.size, 65536))
        signins(host, int(port), n, m, a.base or 10,
                lambda i, j: "user=%s%d-%d" % (name, i, j),
                min(a.seconds, 120))
    return 0


if __name__ == "__main__":
    sys.exit(main())
