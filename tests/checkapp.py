#!/usr/bin/python3
"""A small web application for the non-regression checks' tests.

A login form, a session cookie, a second page that shows the user's name,
a JSON endpoint, and switches that make it misbehave.  Listens on
127.0.0.1 on a port the kernel picks; prints "port=N" on stdout (and
writes N to --port-file) once ready; stops on SIGTERM.

  GET  /login          200, the form
  POST /login          login+password: right: 302 to /account with a
                       session cookie; wrong: 200 with an error page that
                       repeats the login given
  GET  /account        with a session: 200 "Jean Dupont"; else 302 /login
  GET  /api/me         with a session: 200 JSON {"user": {...}}; else 401
  POST /echo           200, echoes the request body (to test masking)
  POST /_app/mode      JSON {"mode": M, "n": N, "delay_ms": D}, where M is
                       normal, wrong-name, error (500 on /account), slow
                       (/account sleeps D ms first), loop (/account
                       redirects in a circle) or warmup (the first N
                       requests answer 503); resets the counters
  GET  /_app/stats     JSON counters: requests, logins, accounts
"""
import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = "Jean Dupont"


class State:
    def __init__(self, login, password):
        self.login = login
        self.password = password
        self.sessions = set()
        self.lock = threading.Lock()
        self.reset("normal", 0, 0)

    def reset(self, mode, n, delay_ms):
        with self.lock:
            self.mode = mode
            self.warmup_left = n
            self.delay_ms = delay_ms
            self.stats = {"requests": 0, "logins": 0, "accounts": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "checkapp"
    # One write per answer (flushed after each request), no Nagle: no
    # delayed-ACK stalls on keep-alive connections.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        pass

    def send(self, status, body, ctype="text/html; charset=utf-8",
             headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def redirect(self, where, headers=()):
        self.send(302, "", headers=[("Location", where)] + list(headers))

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def session(self):
        st = self.server.state
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "session" and v in st.sessions:
                return True
        return False

    def gate(self):
        """Counts the request; False when it was answered (warming up)."""
        st = self.server.state
        with st.lock:
            st.stats["requests"] += 1
            if st.mode == "warmup" and st.warmup_left > 0:
                st.warmup_left -= 1
                warming = True
            else:
                warming = False
        if warming:
            self.send(503, "warming up\n", "text/plain")
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_app/stats":
            with st.lock:
                self.send(200, json.dumps(st.stats), "application/json")
            return
        if not self.gate():
            return
        if path == "/login":
            self.send(200, "<html><body><form method=post action=/login>"
                      "<input name=login><input type=password "
                      "name=password></form></body></html>\n")
        elif path == "/account":
            with st.lock:
                st.stats["accounts"] += 1
                mode, delay = st.mode, st.delay_ms
            if mode == "slow":
                time.sleep(delay / 1000.0)
            if mode == "loop":
                self.redirect("/loop/1")
            elif not self.session():
                self.redirect("/login")
            elif mode == "error":
                self.send(500, "<html><body>Internal error\n"
                          "\x01\x02</body></html>\n")
            elif mode == "wrong-name":
                self.send(200, "<html><body><h1>Jean Martin</h1>"
                          "</body></html>\n")
            else:
                self.send(200, "<html><body><h1>%s</h1></body></html>\n"
                          % NAME, headers=[("X-User", "42")])
        elif path.startswith("/loop/"):
            i = path[len("/loop/"):]
            self.redirect("/loop/2" if i == "1" else "/loop/1")
        elif path == "/api/me":
            if not self.session():
                self.send(401, json.dumps({"error": "not signed in"}),
                          "application/json")
                return
            with st.lock:
                wrong = st.mode == "wrong-name"
            me = {"user": {"name": "Jean Martin" if wrong else NAME,
                           "login": st.login, "id": 42, "admin": False,
                           "ratio": 0.5, "tags": ["a/b", "c~d"]},
                  "odd": {"a/b": 1, "m~n": {"": "empty key"}}}
            self.send(200, json.dumps(me), "application/json")
        else:
            self.send(404, "not found\n", "text/plain")

    def do_POST(self):
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        data = self.body()
        if path == "/_app/mode":
            req = json.loads(data or b"{}")
            st.reset(req.get("mode", "normal"), int(req.get("n", 0)),
                     int(req.get("delay_ms", 0)))
            self.send(200, "{}", "application/json")
            return
        if not self.gate():
            return
        if path == "/login":
            form = urllib.parse.parse_qs(data.decode("utf-8", "replace"))
            login = form.get("login", [""])[0]
            password = form.get("password", [""])[0]
            with st.lock:
                st.stats["logins"] += 1
            if login == st.login and password == st.password:
                sid = secrets.token_hex(16)
                st.sessions.add(sid)
                self.redirect("/account", [(
                    "Set-Cookie", "session=%s; Path=/; HttpOnly" % sid)])
            else:
                self.send(200, "<html><body><p>Unknown login %s or wrong "
                          "password.</p></body></html>\n" % login)
        elif path == "/echo":
            self.send(200, data, "text/plain",
                      headers=[("X-Echo-Length", str(len(data)))])
        else:
            self.send(404, "not found\n", "text/plain")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--login", default="jdupont")
    ap.add_argument("--password-file", required=True,
                    help="the right password (file, final newline dropped)")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.read()
    if password.endswith("\n"):
        password = password[:-1]

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args.login, password)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("port=%d" % port, flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
