#!/usr/bin/python3
# A webhook receiver for tests/unit/test-notify: stdlib only, 127.0.0.1
# only, a port the kernel picks (written to --port-file).  Each POST is
# kept as DIR/NNNN.json ({"path", "content_type", "body"}); the answer is
# 200, or 500 for the first --fail-first requests.  Stops on SIGTERM.
import argparse
import http.server
import json
import os
import signal
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args()
    state = {"n": 0}

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            state["n"] += 1
            if state["n"] <= a.fail_first:
                code = 500
            else:
                code = 200
                path = os.path.join(a.dir, "%04d.json" % state["n"])
                with open(path + ".tmp", "w") as f:
                    json.dump({"path": self.path,
                               "content_type": self.headers.get("Content-Type"),
                               "body": body}, f)
                os.rename(path + ".tmp", path)
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()
