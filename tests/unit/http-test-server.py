#!/usr/bin/python3
# The HTTP peer of tests/unit/test-http: stdlib only, 127.0.0.1 only, on
# ports the kernel picks.  Runs four listeners:
#   main   - the endpoints below, HTTP/1.1 keep-alive
#   other  - the same endpoints on another port (another "host" for curl)
#   proxy  - a forward proxy: answers absolute-form requests itself and
#            tunnels CONNECT to 127.0.0.1 only; counts what it did
#   tls    - the endpoints over TLS with a certificate for IP 127.0.0.1
#            signed by a CA made here with openssl (0 when it is missing)
# and prints one line: "main=P other=P proxy=P tls=P ca=PATH".
# It exits on SIGTERM or when its stdin closes (the test died).
#
# Endpoints (any method):
#   /echo            body = request body; X-Echo-Method, X-Echo-Path,
#                    X-Echo-Req-<name> per request header, X-Multi twice
#   /status?code=N   that status
#   /redirect?n=K[&to=URL][&code=C]  K redirects, then to URL (/echo)
#   /big?size=N[&chunked=1]  N bytes of the pattern byte(i) = i % 251
#   /upload          reads the body (length or chunked), checks the
#                    pattern, answers "len=N ok=0|1"
#   /stall?s=S       answers after S seconds
#   /drip?n=N&ms=M   N body bytes, one every M ms
#   /cookie/set?name=N&value=V[&next=PATH]  Set-Cookie, 302 to next
#   /cookie/get      body = the Cookie header
#   /headers?n=N     N padding headers of about 70 bytes
#   /close           answers with Connection: close
#   /stats           "connections=N proxied=N tunnels=N"
# Every response carries X-Conn-Id: the number of the TCP connection.
import http.server
import os
import select
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PATTERN = bytes(i % 251 for i in range(251 * 1024))
lock = threading.Lock()
stats = {"connections": 0, "proxied": 0, "tunnels": 0}
tmpdir = tempfile.mkdtemp(prefix="shipgate-http-test-")


def bump(key):
    with lock:
        stats[key] += 1
        return stats[key]


def pattern(offset, n):
    """n bytes of the pattern starting at offset, in pieces."""
    while n > 0:
        start = offset % 251
        k = min(n, len(PATTERN) - start)
        yield PATTERN[start:start + k]
        offset += k
        n -= k


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and delayed ACKs cost 40 ms a response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = bump("connections")

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", headers=(), length=True):
        self.send_response(code)
        self.send_header("X-Conn-Id", str(self.conn_id))
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def body_pieces(self):
        """The request body, piece by piece (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left > 0:
                    piece = self.rfile.read(min(left, 1 << 18))
                    if not piece:
                        raise ConnectionError("short chunk")
                    left -= len(piece)
                    yield piece
                self.rfile.readline(16)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                piece = self.rfile.read(min(left, 1 << 18))
                if not piece:
                    raise ConnectionError("short body")
                left -= len(piece)
                yield piece

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path == "/upload":
            n, good = 0, True
            for piece in self.body_pieces():
                if good:
                    want = b"".join(pattern(n, len(piece)))
                    good = want == piece
                n += len(piece)
            self.reply(200, b"len=%d ok=%d" % (n, good))
            return
        body = b"".join(self.body_pieces())
        if path == "/echo":
            hdrs = [("X-Echo-Method", self.command), ("X-Echo-Path", self.path),
                    ("X-Multi", "a"), ("X-Multi", "b")]
            for k, v in self.headers.items():
                hdrs.append(("X-Echo-Req-" + k.lower(), v))
            self.reply(200, body, hdrs)
        elif path == "/status":
            self.reply(int(q.get("code", "200")), b"status body")
        elif path == "/redirect":
            n = int(q.get("n", "1"))
            to = q.get("to", "/echo")
            if n > 1:
                qs = urllib.parse.urlencode({"n": n - 1, "to": to,
                                             "code": q.get("code", "302")})
                to = "/redirect?" + qs
            self.reply(int(q.get("code", "302")), b"moved",
                       [("Location", to)])
        elif path == "/big":
            size = int(q.get("size", "0"))
            if self.command == "HEAD":
                self.reply(200, b"", [("Content-Length", str(size))],
                           length=False)
            elif q.get("chunked"):
                self.send_response(200)
                self.send_header("X-Conn-Id", str(self.conn_id))
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in pattern(0, size):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_response(200)
                self.send_header("X-Conn-Id", str(self.conn_id))
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for piece in pattern(0, size):
                    self.wfile.write(piece)
        elif path == "/stall":
            time.sleep(float(q.get("s", "10")))
            self.reply(200, b"late")
        elif path == "/drip":
            n, ms = int(q.get("n", "10")), int(q.get("ms", "100"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for _ in range(n):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(ms / 1000)
        elif path == "/cookie/set":
            cookie = "%s=%s; Path=/" % (q.get("name", "a"), q.get("value", "1"))
            if "next" in q:
                self.reply(302, b"", [("Set-Cookie", cookie),
                                      ("Location", q["next"])])
            else:
                self.reply(200, b"set", [("Set-Cookie", cookie)])
        elif path == "/cookie/get":
            self.reply(200, self.headers.get("Cookie", "").encode())
        elif path == "/headers":
            n = int(q.get("n", "10"))
            self.reply(200, b"padded", [("X-Pad-%d" % i, "p" * 60)
                                        for i in range(n)])
        elif path == "/close":
            self.reply(200, b"bye", [("Connection", "close")])
            self.close_connection = True
        elif path == "/stats":
            with lock:
                text = "connections=%d proxied=%d tunnels=%d" % (
                    stats["connections"], stats["proxied"], stats["tunnels"])
            self.reply(200, text.encode())
        else:
            self.reply(404, b"no such endpoint")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        body = b"".join(Handler.body_pieces(self))
        if not self.path.startswith("http://"):
            self.send_error(400)
            return
        bump("proxied")
        text = b"proxied %s %s" % (self.command.encode(), self.path.encode())
        self.send_response(200)
        self.send_header("X-Proxied", "1")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)
        del body

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        if host != "127.0.0.1":
            self.send_error(403)
            return
        bump("tunnels")
        up = socket.create_connection((host, int(port)))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        peers = [self.connection, up]
        try:
            while True:
                ready, _, _ = select.select(peers, [], [], 10)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            up.close()
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True
    tls = None

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass


def make_certs():
    """A CA and a server certificate for IP 127.0.0.1; None if no openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    ca_key, ca = os.path.join(tmpdir, "ca.key"), os.path.join(tmpdir, "ca.pem")
    key, csr = os.path.join(tmpdir, "srv.key"), os.path.join(tmpdir, "srv.csr")
    crt, ext = os.path.join(tmpdir, "srv.pem"), os.path.join(tmpdir, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [openssl, "req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=shipgate test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req"] + ec + ["-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext],
    ]
    for cmd in steps:
        if subprocess.run(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx, ca


def start(handler, tls=None):
    srv = Server(("127.0.0.1", 0), handler)
    srv.tls = tls
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def leave(*_):
    shutil.rmtree(tmpdir, ignore_errors=True)
    os._exit(0)


def main():
    signal.signal(signal.SIGTERM, leave)
    main_srv = start(Handler)
    other = start(Handler)
    proxy = start(ProxyHandler)
    certs = make_certs()
    tls_port, ca = 0, "-"
    if certs is not None:
        tls_port = start(Handler, certs[0]).server_address[1]
        ca = certs[1]
    print("main=%d other=%d proxy=%d tls=%d ca=%s" % (
        main_srv.server_address[1], other.server_address[1],
        proxy.server_address[1], tls_port, ca), flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    leave()


if __name__ == "__main__":
    main()
