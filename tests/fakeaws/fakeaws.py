#!/usr/bin/python3
"""A fake AWS endpoint for shipgate's tests and demo sandbox.

    fakeaws.py --port 0 --port-file FILE --pid-file FILE
               [--step-delay SECONDS] [--state-dump FILE]
               [--throttle FAMILY=RATE[/BURST]]... [--no-throttle] [--verbose]

Listens on 127.0.0.1 only.  Every AWS request must carry a valid SigV4
signature (see README.md); /_fake/ is an unsigned JSON control API.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import control                                       # noqa: E402
import core                                          # noqa: E402
import faults                                        # noqa: E402
import sigv4check                                    # noqa: E402
import throttle                                      # noqa: E402
import sts, s3, sqs, cfn, ecs, ecr, ses              # noqa: E402,E401
from core import AwsError, Request, Response         # noqa: E402

SERVICES = {"s3": s3, "sqs": sqs, "sts": sts, "cloudformation": cfn,
            "ecs": ecs, "ecr": ecr, "ses": ses}
MODEL_NAMES = {"sts": "sts", "cloudformation": "cloudformation", "sqs": "sqs",
               "ecs": "ecs", "ecr": "ecr"}
_REGIONS = None


def known_regions():
    global _REGIONS
    if _REGIONS is None:
        _REGIONS = core.known_regions()
    return _REGIONS


def guess_service(req):
    """For unsigned requests: pick the service from what the request looks like,
    so the error has the right shape."""
    target = req.header("X-Amz-Target", "")
    if target.startswith("AmazonSQS."):
        return "sqs"
    if target.startswith("AmazonEC2ContainerServiceV"):
        return "ecs"
    if target.startswith("AmazonEC2ContainerRegistry"):
        return "ecr"
    if req.path.startswith("/v2/email/"):
        return "ses"
    if req.method == "POST" and "x-www-form-urlencoded" in req.header("Content-Type", ""):
        try:
            form = core.parse_form(req.body)
        except UnicodeDecodeError:
            form = {}
        act = form.get("Action", "")
        if act in ("AssumeRole", "GetCallerIdentity"):
            return "sts"
        if "QueueUrl" in form or "QueueName" in form:
            return "sqs"
        return "cloudformation"
    return "s3"


def error_response(family, service, err, req):
    rid = req.request_id
    if family == "s3":
        return core.s3_error(err, rid, head=(req.method == "HEAD"))
    if family in ("query", "sqsquery"):
        ns = core.service_model(MODEL_NAMES.get(service, "sts")).metadata.get(
            "xmlNamespace", "")
        return core.query_error(ns, err, rid)
    if family == "sqsjson":
        return core.json_error(err, rid, "1.0")
    if family == "json":
        return core.json_error(err, rid, "1.1")
    return core.restjson_error(err, rid)


def rejected(state, family, service, err, req):
    """An authentication failure: counted under /_fake/rejected."""
    state.count_rejected("auth", service, err.query_code or err.code)
    return error_response(family, service, err, req)


def parse_operation(service, family, req):
    """(operation name, params) of a query/JSON request."""
    mod = SERVICES[service]
    if family in ("query", "sqsquery"):
        form = dict(req.qparams)
        if req.method == "POST":
            try:
                form.update(core.parse_form(req.body))
            except UnicodeDecodeError:
                raise AwsError("MalformedQueryString", "Body is not UTF-8", 400)
        req.form = form
        op = form.get("Action")
        model = core.service_model(MODEL_NAMES[service])
        if not op:
            raise AwsError("MissingAction", "Missing Action", 400)
        if op not in model.operation_names or op not in mod.OPERATIONS:
            raise AwsError("InvalidAction", "Could not find operation %s for version %s"
                           % (op, model.api_version), 400)
        params = core.query_deserialize(model.operation_model(op).input_shape, form)
        return op, params
    if family in ("json", "sqsjson"):
        target = req.header("X-Amz-Target", "")
        prefix, _, op = target.partition(".")
        want = "AmazonSQS" if service == "sqs" else \
            core.service_model(MODEL_NAMES[service]).metadata.get("targetPrefix")
        if prefix != want or op not in mod.OPERATIONS:
            raise AwsError("UnknownOperationException" if service != "sqs"
                           else "com.amazonaws.sqs#InvalidAction",
                           "Unknown operation %s" % target if service != "sqs"
                           else "The action %s is not valid for this endpoint." % op,
                           400, query_code="InvalidAction" if service == "sqs" else None)
        try:
            params = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise AwsError("SerializationException", "Start of structure or map found "
                           "where not expected.", 400)
        if not isinstance(params, dict):
            raise AwsError("SerializationException", "Start of list found where not "
                           "expected", 400)
        shape = core.service_model(MODEL_NAMES[service]).operation_model(op).input_shape
        try:
            core.json_validate(shape, params)
        except core.ShapeError as e:
            if e.kind == "type":
                raise AwsError("SerializationException", str(e), 400)
            if service == "sqs":
                raise AwsError("com.amazonaws.sqs#MissingParameter", "The request must "
                               "contain the parameter %s." % e.path, 400,
                               query_code="MissingParameter")
            raise AwsError("InvalidParameterException", str(e), 400)
        return op, params
    return mod.identify(req), None


def dispatch(state, req):
    """Returns (Response, fault or None); a call is on the timeline."""
    t0 = time.time()
    try:
        return _dispatch(state, req)
    finally:
        if state.timeline is not None and req.operation is not None:
            state.record("call", req.service, req.operation,
                         call_subject(req), t0, time.time() - t0)


def call_subject(req):
    """What a call is about, for the timeline: the stack, the queue, the
    S3 path."""
    if req.service == "s3":
        return req.path.split("?", 1)[0]
    p = getattr(req, "params", None) or {}
    for k in ("StackName", "QueueUrl", "ChangeSetName", "RoleArn", "cluster"):
        if isinstance(p.get(k), str):
            return p[k]
    return ""


def _dispatch(state, req):
    state.advance()
    if req.path.startswith("/_fake/") or req.path == "/_fake":
        return control.handle(state, req), None
    pa = sigv4check.parse_auth(req)
    if pa is None or pa.service is None:
        service = guess_service(req)
        family = sigv4check.family_of(service, req)
        kind = "missing" if pa is None else (pa.error or "malformed")
        return rejected(state, family, service,
                        sigv4check.auth_error(family, kind), req), None
    service = pa.service
    if service not in SERVICES:
        guess = guess_service(req)
        family = sigv4check.family_of(guess, req)
        return rejected(state, family, guess, sigv4check.auth_error(
            family, "service", "Credential should be scoped to correct service: '%s'. "
            % guess if family != "s3" else
            "The authorization header is malformed; incorrect service \"%s\". "
            "This endpoint belongs to \"%s\"." % (service, guess)), req), None
    family = sigv4check.family_of(service, req)
    req.service = service
    req.region = pa.region
    if service == "s3":
        req.request_id = core.rand_hex(16).upper()
    # The signature first, as AWS: a badly signed request gets an
    # authentication error whatever its body says, and is counted as
    # rejected, never as a call.
    regions = state.config.get("regions")
    regions = set(regions) if regions else known_regions()
    try:
        req.ident = sigv4check.verify(
            req, pa, family, lambda k: sts.lookup_key(state, k), time.time(), regions)
    except AwsError as e:
        return rejected(state, family, service, e, req), None
    fault = None
    try:
        op, params = parse_operation(service, family, req)
        req.operation = op
        req.params = params
        with state.lock:
            ok = state.buckets.take(req.ident.account, req.region, service, op)
        if not ok:
            state.count_rejected("throttled", service, op)
            return error_response(family, service, faults.error_for(
                {"mode": "throttle"}, family), req), None
        state.count_call(service, op)
        fault = faults.pick(state, service, op)
        if fault is not None:
            faults.before(fault)
            err = faults.error_for(fault, family)
            if err is not None:
                return error_response(family, service, err, req), fault
            if fault["mode"] == "drop" and not fault.get("after"):
                return None, fault
        mod = SERVICES[service]
        result = mod.handle(state, req, op, params)
        if isinstance(result, Response):
            resp = result
        elif family in ("query", "sqsquery"):
            resp = core.query_response(core.service_model(MODEL_NAMES[service]), op,
                                       result, req.request_id)
        elif family == "sqsjson":
            resp = core.json_response(result or {}, req.request_id, "1.0")
        else:
            resp = core.json_response(result or {}, req.request_id, "1.1")
        return resp, fault
    except AwsError as e:
        return error_response(family, service, e, req), fault


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonS3"      # some services say so; harmless elsewhere
    sys_version = ""
    verbose = False

    def version_string(self):
        return self.server_version

    def setup(self):
        # A reply's headers and body are two writes: without TCP_NODELAY
        # the body waits for the client's delayed ACK (~40 ms a call).
        BaseHTTPRequestHandler.setup(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("fakeaws: %s - %s\n" % (self.address_string(), fmt % args))

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _serve(self):
        state = self.server.state
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(self.command, self.path, self.headers, body, self.client_address[0])
        try:
            resp, fault = dispatch(state, req)
        except Exception:
            traceback.print_exc()
            err = AwsError("InternalError", "We encountered an internal error. "
                           "Please try again.", 500, sender=False)
            resp, fault = error_response("s3" if req.service in (None, "s3") else
                                         sigv4check.family_of(req.service, req),
                                         req.service or "s3", err, req), None
        if resp is None:                     # dropped connection
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None:
            if fault["mode"] == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault["mode"] == "malformed":
                resp.body = faults.malformed_body(resp)
        self.send_response(resp.status)
        have = set()
        for k, v in resp.headers:
            self.send_header(k, v)
            have.add(k.lower())
        if "content-length" not in have:
            self.send_header("Content-Length", str(len(resp.body)))
        if self.command == "HEAD" or resp.head:
            self.end_headers()
            return
        self.end_headers()
        if fault is not None and fault["mode"] == "truncate":
            self.wfile.write(resp.body[:max(1, len(resp.body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(resp.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake AWS endpoint for shipgate tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--step-delay", type=float, default=0.2,
                    help="seconds per CloudFormation/ECS state step (default 0.2)")
    ap.add_argument("--state-dump", help="write the state as JSON here on exit")
    ap.add_argument("--throttle", action="append", default=[],
                    metavar="FAMILY=RATE[/BURST]",
                    help="a token bucket's rate a second and burst, e.g. "
                    "cloudformation:describe=2/4 (RATE off: not metered)")
    ap.add_argument("--no-throttle", action="store_true",
                    help="no token bucket throttling at all")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    rates = {}
    for opt in a.throttle:
        try:
            fam, v = throttle.parse_option(opt)
        except ValueError as e:
            ap.error(str(e))
        rates[fam] = v
    state = core.State(step_delay=a.step_delay, throttle_rates=rates,
                       throttle=not a.no_throttle)
    Handler.verbose = a.verbose
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = state
    port = srv.server_address[1]
    state.endpoint_port = port

    def ticker():
        while True:
            time.sleep(0.05)
            try:
                state.advance()
            except Exception:
                traceback.print_exc()
    threading.Thread(target=ticker, daemon=True).start()

    def stop(signum, frame):
        if a.state_dump:
            try:
                write_atomic(a.state_dump, json.dumps(control.dump(state), indent=1,
                                                      default=str))
            except Exception:
                traceback.print_exc()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if a.pid_file:
        write_atomic(a.pid_file, "%d\n" % os.getpid())
    if a.port_file:
        write_atomic(a.port_file, "%d\n" % port)
    print("fakeaws listening on 127.0.0.1:%d" % port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
