#!/usr/bin/python3
# A tiny EC2 instance metadata (IMDSv2) stand-in for tests/unit/test-aws-creds:
# stdlib only, 127.0.0.1 only, on a port the kernel picks.  Prints one line,
# "port=P", then serves until SIGTERM or until its stdin closes.
#
#   imds-test-server.py CREDS_FILE [ROLE]
#
#   PUT /latest/api/token        needs X-aws-ec2-metadata-token-ttl-seconds
#                                (1-21600), answers a new token
#   GET /latest/meta-data/iam/security-credentials/        the role name
#   GET /latest/meta-data/iam/security-credentials/ROLE    CREDS_FILE's JSON,
#                                read again on every request
#   GET /_stats                  "tokens=N creds=N refused=N" (no token needed)
# Every other GET needs a valid X-aws-ec2-metadata-token (else 401, as IMDSv2
# does); a request with X-Forwarded-For is refused (403), as IMDS does.
import http.server
import os
import secrets
import sys
import threading

CREDS_FILE = sys.argv[1]
ROLE = sys.argv[2] if len(sys.argv) > 2 else "shipgate-host"
TOKENS = set()
STATS = {"tokens": 0, "creds": 0, "refused": 0}
LOCK = threading.Lock()
PREFIX = "/latest/meta-data/iam/security-credentials/"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, status, why):
        with LOCK:
            STATS["refused"] += 1
        self.reply(status, why)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.headers.get("X-Forwarded-For"):
            return self.refuse(403, "Forbidden")
        if self.path != "/latest/api/token":
            return self.refuse(404, "Not Found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.refuse(400, "Bad Request")
        tok = secrets.token_urlsafe(32)
        with LOCK:
            TOKENS.add(tok)
            STATS["tokens"] += 1
        self.reply(200, tok)

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                return self.reply(200, "tokens=%(tokens)d creds=%(creds)d "
                                  "refused=%(refused)d" % STATS)
        if self.headers.get("X-Forwarded-For"):
            return self.refuse(403, "Forbidden")
        with LOCK:
            valid = self.headers.get("X-aws-ec2-metadata-token") in TOKENS
        if not valid:
            return self.refuse(401, "Unauthorized")
        if self.path == PREFIX:
            return self.reply(200, ROLE)
        if self.path == PREFIX + ROLE:
            with open(CREDS_FILE) as f:
                body = f.read()
            with LOCK:
                STATS["creds"] += 1
            return self.reply(200, body)
        return self.refuse(404, "Not Found")


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdout.write("port=%d\n" % srv.server_address[1])
    sys.stdout.flush()
    # Exit when the test goes away (stdin closed) or on SIGTERM.
    try:
        while sys.stdin.read(1):
            pass
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
