#!/usr/bin/python3
"""Test images and a tampering proxy for the registry and promotion tests.

  registry-fixture.py oci DIR --tag T [--layers N] [--size BYTES]
        [--arch amd64,arm64] [--seed S]
      Writes an OCI image layout in DIR (oci-layout, index.json, blobs/):
      one image (an OCI manifest) or, with several architectures, an OCI
      index of one manifest per platform.  Layers are gzip streams (stored
      blocks, so fast) of random bytes: valid gzip, so skopeo pushes them
      as they are.  Prints the top digest and every blob digest.

  registry-fixture.py proxy --upstream URL --port-file F
        [--flip DIGEST] [--grow DIGEST] [--fail-once DIGEST] [--deny-push]
        [--redirect-blobs] [--plain-manifests] [--bearer USER:PASS]
      An HTTP proxy on 127.0.0.1 (a free port, written to F) in front of a
      registry.  --flip: the body of any GET of blob DIGEST has one byte
      flipped on its way; --grow: one byte more; --fail-once: the first
      GET of it is answered 503.  --deny-push: 403 DENIED
      for every method but GET and HEAD.  --redirect-blobs: a blob GET, and
      a HEAD of a blob the upstream holds, are answered 307 to
      http://localhost:PORT/_storage/... (another host name, as a
      registry's storage), which refuses (403) any request carrying an
      Authorization header.  --plain-manifests: manifests are served as
      application/json (the manifest's own mediaType must be used).
      --bearer: the proxy demands Bearer tokens
      (401 with WWW-Authenticate: Bearer realm=.../token,service=...,
      scope=...); /token hands one out to USER:PASS (Basic) and the proxy
      forwards to the upstream without credentials.
      --ecr-login FAKE_URL,ACCOUNT: as an ECR registry of ACCOUNT, every
      request must carry Basic "AWS:<password>" with a password the fake
      AWS endpoint at FAKE_URL issued (GetAuthorizationToken) in that
      account (read from its /_fake/state), else 401; forwarded to the
      upstream without credentials.
      --slow-blobs SECONDS: every blob GET waits that long first (a copy
      that can be interrupted).
"""

import argparse
import base64
import gzip
import hashlib
import http.client
import http.server
import json
import os
import random
import secrets
import socketserver
import sys
import time
import urllib.parse
import urllib.request


def write_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def cmd_oci(a):
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    arches = a.arch.split(",")
    printed = []
    manifests = []
    for arch in arches:
        layers = []
        diff_ids = []
        for i in range(a.layers):
            raw = rng.randbytes(a.size)
            gz = gzip.compress(raw, compresslevel=0, mtime=0)
            layers.append({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": write_blob(a.dir, gz), "size": len(gz)})
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            printed.append(layers[-1]["digest"])
        config = json.dumps({
            "architecture": arch, "os": "linux",
            "config": {"Labels": {"seed": str(a.seed)}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }, sort_keys=True).encode()
        cdesc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                 "digest": write_blob(a.dir, config), "size": len(config)}
        printed.append(cdesc["digest"])
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cdesc, "layers": layers}, indent=3).encode()
        mdesc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": write_blob(a.dir, manifest),
                 "size": len(manifest),
                 "platform": {"architecture": arch, "os": "linux"}}
        manifests.append(mdesc)
    if len(arches) > 1:
        index = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests}, indent=2).encode()
        top = {"mediaType": "application/vnd.oci.image.index.v1+json",
               "digest": write_blob(a.dir, index), "size": len(index)}
    else:
        top = dict(manifests[0])
        del top["platform"]
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    with open(os.path.join(a.dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    print("top=" + top["digest"])
    for m in manifests:
        print("manifest=" + m["digest"])
    for d in printed:
        print("blob=" + d)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    flip = None
    grow = None
    fail_once = None
    failed = set()
    deny_push = False
    redirect_blobs = False
    plain_manifests = False
    bearer = None
    tokens = set()
    ecr_login = None
    ecr_passwords = set()
    slow_blobs = 0.0

    def log_message(self, fmt, *args):
        pass

    def challenge(self):
        path = urllib.parse.urlsplit(self.path).path
        parts = path.split("/")
        scope = ""
        for key in ("manifests", "blobs"):
            if key in parts:
                repo = "/".join(parts[2:parts.index(key)])
                act = "pull" if self.command in ("GET", "HEAD") else \
                    "pull,push"
                scope = ',scope="repository:%s:%s"' % (repo, act)
        host = "http://127.0.0.1:%d" % self.server.server_address[1]
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"token please"}]}'
        self.send_response(401)
        self.send_header("WWW-Authenticate",
                         'Bearer realm="%s/token",service="fixture"%s' %
                         (host, scope))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def ecr_ok(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        if user != "AWS":
            return False
        if pw not in Proxy.ecr_passwords:
            fake, acct = self.ecr_login.split(",")
            with urllib.request.urlopen(fake + "/_fake/state",
                                        timeout=10) as r:
                state = json.load(r)
            Proxy.ecr_passwords = {
                t["password"] for t in state["ecr"]["tokens"]
                if t["registry"] == acct}
        return pw in Proxy.ecr_passwords

    def token(self):
        want = "Basic " + base64.b64encode(self.bearer.encode()).decode()
        if self.headers.get("Authorization") != want:
            body = b'{"errors":[{"code":"DENIED","message":"bad login"}]}'
            self.send_response(401)
        else:
            t = secrets.token_hex(16)
            Proxy.tokens.add(t)
            body = json.dumps({"token": t, "expires_in": 300}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def forward(self):
        path = urllib.parse.urlsplit(self.path).path
        if (self.fail_once and self.command == "GET" and
                path.endswith("/blobs/" + self.fail_once) and
                path not in Proxy.failed):
            Proxy.failed.add(path)
            return self.reply(503, b'{"errors":[{"code":"UNAVAILABLE",'
                              b'"message":"try again"}]}',
                              [("Content-Type", "application/json")])
        if self.deny_push and self.command not in ("GET", "HEAD"):
            return self.reply(403, b'{"errors":[{"code":"DENIED",'
                              b'"message":"requested access to the '
                              b'resource is denied"}]}',
                              [("Content-Type", "application/json")])
        if path.startswith("/_storage/"):
            if "Authorization" in self.headers:
                return self.reply(403, b"credentials sent to storage")
            self.path = path[len("/_storage"):]
        elif (self.redirect_blobs and self.command == "GET" and
              "/blobs/sha256:" in path):
            return self.reply(307, b"", [(
                "Location", "http://localhost:%d/_storage%s?X-Sig=abc" %
                (self.server.server_address[1], path))])
        if self.bearer is not None:
            if self.path.startswith("/token"):
                return self.token()
            auth = self.headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") and auth[7:] in Proxy.tokens):
                return self.challenge()
        if self.ecr_login is not None and not self.ecr_ok():
            self.close_connection = True    # the body is not read
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED",'
                              b'"message":"not an ECR login of this '
                              b'account"}]}',
                              [("Content-Type", "application/json"),
                               ("WWW-Authenticate",
                                'Basic realm="fixture-ecr"')])
        if (self.slow_blobs and self.command == "GET" and
                "/blobs/sha256:" in path):
            time.sleep(self.slow_blobs)
        length = self.headers.get("Content-Length")
        body = None
        chunked = self.headers.get("Transfer-Encoding", "") == "chunked"
        if length is not None:
            body = self.rfile.read(int(length))
        elif chunked:
            body = b""
            while True:
                n = int(self.rfile.readline().strip().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(n)
                self.rfile.readline()
        u = urllib.parse.urlsplit(self.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "transfer-encoding",
                                        "connection", "authorization",
                                        "content-length")}
        if (self.bearer is None and self.ecr_login is None and
                "Authorization" in self.headers):
            headers["Authorization"] = self.headers["Authorization"]
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read() if self.command != "HEAD" else b""
        if (self.redirect_blobs and self.command == "HEAD" and
                r.status == 200 and "/blobs/sha256:" in path):
            conn.close()
            return self.reply(307, b"", [(
                "Location", "http://localhost:%d/_storage%s?X-Sig=abc" %
                (self.server.server_address[1], path))])
        if (self.flip and self.command == "GET" and r.status == 200 and
                self.path.endswith("/blobs/" + self.flip) and data):
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:]
        if (self.grow and self.command == "GET" and r.status == 200 and
                self.path.endswith("/blobs/" + self.grow)):
            data += b"!"
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("transfer-encoding", "connection",
                             "content-length"):
                continue
            if (k.lower() == "content-type" and self.plain_manifests and
                    "/manifests/" in path):
                v = "application/json"
            if k.lower() == "location":
                v = v.replace(self.upstream,
                              "http://127.0.0.1:%d" %
                              self.server.server_address[1])
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length",
                             r.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def cmd_proxy(a):
    Proxy.upstream = a.upstream.rstrip("/")
    Proxy.flip = a.flip
    Proxy.grow = a.grow
    Proxy.fail_once = a.fail_once
    Proxy.deny_push = a.deny_push
    Proxy.redirect_blobs = a.redirect_blobs
    Proxy.plain_manifests = a.plain_manifests
    Proxy.bearer = a.bearer
    Proxy.ecr_login = a.ecr_login
    Proxy.slow_blobs = a.slow_blobs
    srv = Server(("127.0.0.1", 0), Proxy)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("oci")
    o.add_argument("dir")
    o.add_argument("--tag", required=True)
    o.add_argument("--layers", type=int, default=2)
    o.add_argument("--size", type=int, default=65536)
    o.add_argument("--arch", default="amd64")
    o.add_argument("--seed", type=int, default=1)
    x = sub.add_parser("proxy")
    x.add_argument("--upstream", required=True)
    x.add_argument("--port-file", required=True)
    x.add_argument("--flip")
    x.add_argument("--grow")
    x.add_argument("--fail-once")
    x.add_argument("--deny-push", action="store_true")
    x.add_argument("--redirect-blobs", action="store_true")
    x.add_argument("--plain-manifests", action="store_true")
    x.add_argument("--bearer")
    x.add_argument("--ecr-login")
    x.add_argument("--slow-blobs", type=float, default=0.0)
    a = p.parse_args()
    if a.cmd == "oci":
        cmd_oci(a)
    else:
        cmd_proxy(a)


if __name__ == "__main__":
    sys.exit(main())
