"""Shared pieces of the fake AWS endpoint: state, errors, wire formats.

Internally every timestamp is a float (seconds since the epoch); the wire
serializers turn it into what each protocol sends (ISO 8601 for query XML,
epoch numbers for JSON).
"""

import base64
import datetime
import hashlib
import json
import random
import threading
import time
import uuid
from xml.sax.saxutils import escape

import botocore.loaders
import botocore.model


class AwsError(Exception):
    """An error reply.  `code` is the error code as the service spells it;
    `status` the HTTP status; `extra` more elements (S3) or fields (JSON)."""

    def __init__(self, code, message, status=400, sender=True, extra=None,
                 query_code=None, headers=None):
        Exception.__init__(self, "%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.extra = extra or {}
        self.query_code = query_code      # SQS: code of the query protocol
        self.headers = headers or {}


class Request(object):
    """One HTTP request as received."""

    def __init__(self, method, raw_path, headers, body, client_ip="127.0.0.1"):
        self.method = method
        self.raw_target = raw_path
        path, _, query = raw_path.partition("?")
        self.path = path
        self.query = query
        self.headers = headers            # email.message.Message
        self.body = body
        self.client_ip = client_ip
        self.qparams = parse_query(query)
        self.host = headers.get("Host", "")
        # Filled in by the dispatcher:
        self.service = None
        self.region = None
        self.operation = None
        self.ident = None                 # sigv4check.Identity
        self.request_id = new_request_id()
        self.form = None

    def header(self, name, default=None):
        v = self.headers.get(name)
        return default if v is None else v

    def qget(self, name, default=None):
        for k, v in self.qparams:
            if k == name:
                return v
        return default

    def qhas(self, name):
        return any(k == name for k, _ in self.qparams)


class Response(object):
    def __init__(self, status=200, body=b"", headers=None, content_type=None):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.fault = None                 # set by fault injection
        self.head = False                 # HEAD: send no body


def parse_query(query):
    """Split a raw query string into decoded (key, value) pairs.  '+' is
    kept literally (SigV4 canonicalises from percent-decoding only)."""
    from urllib.parse import unquote
    out = []
    if not query:
        return out
    for pair in query.split("&"):
        if pair == "":
            continue
        k, _, v = pair.partition("=")
        out.append((unquote(k), unquote(v)))
    return out


def parse_form(body):
    from urllib.parse import parse_qsl
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


# ---------------------------------------------------------------- time, ids

def now():
    return time.time()


def iso(ts):
    """2026-11-29T08:30:00.123Z"""
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def iso_noms(ts):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(ts):
    from email.utils import formatdate
    return formatdate(ts, usegmt=True)


def parse_iso(s):
    s = s.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%dT%H:%M:%S%z", "%Y%m%dT%H%M%SZ"):
        try:
            d = datetime.datetime.strptime(s, fmt)
            if d.tzinfo is None:
                d = d.replace(tzinfo=datetime.timezone.utc)
            return d.timestamp()
        except ValueError:
            pass
    return float(s)


_rng = random.Random()
_id_lock = threading.Lock()


def new_request_id():
    return str(uuid.uuid4())


def rand_hex(n):
    with _id_lock:
        return "".join(_rng.choice("0123456789abcdef") for _ in range(n))


def rand_alnum(n, upper=True):
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" if upper else \
        "abcdefghijklmnopqrstuvwxyz0123456789"
    with _id_lock:
        return "".join(_rng.choice(chars) for _ in range(n))


def s3_host_id():
    return base64.b64encode(hashlib.sha256(rand_hex(16).encode()).digest()
                            + b"\0\0\0\0").decode()


# ---------------------------------------------------------------- botocore models

_models = {}
_models_lock = threading.Lock()


def service_model(name):
    with _models_lock:
        m = _models.get(name)
        if m is None:
            loader = botocore.loaders.Loader()
            m = botocore.model.ServiceModel(
                loader.load_service_model(name, "service-2"), name)
            _models[name] = m
        return m


def known_regions():
    loader = botocore.loaders.Loader()
    ep = loader.load_data("endpoints")
    regions = set()
    for part in ep["partitions"]:
        regions.update(part.get("regions", {}).keys())
    return regions


# ---------------------------------------------------------------- query protocol

def _scalar_from_query(shape, text):
    t = shape.type_name
    if t in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise AwsError("ValidationError",
                           "Value '%s' is not a valid integer" % text)
    if t in ("float", "double"):
        return float(text)
    if t == "boolean":
        return text.lower() == "true"
    if t == "timestamp":
        return parse_iso(text)
    if t == "blob":
        return base64.b64decode(text)
    return text


def query_deserialize(shape, params, prefix=""):
    """Turn form parameters into a dict keyed by the model's member names,
    the inverse of botocore's QuerySerializer."""
    out = {}
    if shape is None:
        return out
    for name, mshape in shape.members.items():
        key = prefix + mshape.serialization.get("name", name)
        v = _query_value(mshape, params, key)
        if v is not None:
            out[name] = v
    return out


def _has_prefix(params, key):
    if key in params:
        return True
    kp = key + "."
    return any(k.startswith(kp) for k in params)


def _query_value(shape, params, key):
    t = shape.type_name
    if t == "structure":
        if not _has_prefix(params, key):
            return None
        return query_deserialize(shape, params, key + ".")
    if t == "list":
        if key in params and params[key] == "":
            return []
        if shape.serialization.get("flattened"):
            mname = shape.member.serialization.get("name")
            lp = ".".join(key.split(".")[:-1] + [mname]) if mname else key
        else:
            lp = key + "." + shape.member.serialization.get("name", "member")
        items = []
        i = 1
        while _has_prefix(params, "%s.%d" % (lp, i)):
            items.append(_query_value(shape.member, params, "%s.%d" % (lp, i)))
            i += 1
        return items if items else None
    if t == "map":
        fp = key if shape.serialization.get("flattened") else key + ".entry"
        ks = shape.key.serialization.get("name", "key")
        vs = shape.value.serialization.get("name", "value")
        m = {}
        i = 1
        while _has_prefix(params, "%s.%d" % (fp, i)):
            k = params.get("%s.%d.%s" % (fp, i, ks))
            v = _query_value(shape.value, params, "%s.%d.%s" % (fp, i, vs))
            if k is not None:
                m[k] = v
            i += 1
        return m if m else None
    if key not in params:
        return None
    return _scalar_from_query(shape, params[key])


def _xml_scalar(shape, value):
    t = shape.type_name
    if t == "timestamp":
        if isinstance(value, (int, float)):
            return iso(value)
        return str(value)
    if t == "boolean":
        return "true" if value else "false"
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode()
    return escape(str(value))


def xml_serialize(shape, value, tag):
    """Serialize `value` as element `tag` following `shape`, the way the
    query protocol (and botocore's QueryParser) lays it out."""
    t = shape.type_name
    if value is None:
        return ""
    if t == "structure":
        parts = ["<%s>" % tag]
        for name, mshape in shape.members.items():
            if name not in value or value[name] is None:
                continue
            v = value[name]
            if mshape.type_name == "list" and mshape.serialization.get("flattened"):
                mtag = mshape.member.serialization.get("name") or \
                    mshape.serialization.get("name", name)
                for item in v:
                    parts.append(xml_serialize(mshape.member, item, mtag))
                continue
            if mshape.type_name == "map" and mshape.serialization.get("flattened"):
                mtag = mshape.serialization.get("name", name)
                ks = mshape.key.serialization.get("name", "key")
                vs = mshape.value.serialization.get("name", "value")
                for k in v:
                    parts.append("<%s><%s>%s</%s>%s</%s>" % (
                        mtag, ks, escape(k), ks,
                        xml_serialize(mshape.value, v[k], vs), mtag))
                continue
            parts.append(xml_serialize(mshape, v, mshape.serialization.get("name", name)))
        parts.append("</%s>" % tag)
        return "".join(parts)
    if t == "list":
        mtag = shape.member.serialization.get("name", "member")
        return "<%s>%s</%s>" % (tag, "".join(
            xml_serialize(shape.member, item, mtag) for item in value), tag)
    if t == "map":
        ks = shape.key.serialization.get("name", "key")
        vs = shape.value.serialization.get("name", "value")
        return "<%s>%s</%s>" % (tag, "".join(
            "<entry><%s>%s</%s>%s</entry>" % (
                ks, escape(k), ks, xml_serialize(shape.value, value[k], vs))
            for k in value), tag)
    return "<%s>%s</%s>" % (tag, _xml_scalar(shape, value), tag)


def query_response(model, opname, result, request_id):
    op = model.operation_model(opname)
    ns = model.metadata.get("xmlNamespace", "")
    body = ['<?xml version="1.0" encoding="UTF-8"?>\n',
            '<%sResponse xmlns="%s">' % (opname, ns)]
    oshape = op.output_shape
    if oshape is not None:
        wrapper = oshape.serialization.get("resultWrapper", opname + "Result")
        inner = xml_serialize(oshape, result or {}, wrapper)
        body.append(inner)
    body.append("<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
                % request_id)
    body.append("</%sResponse>" % opname)
    return Response(200, "".join(body), [("x-amzn-RequestId", request_id)],
                    content_type="text/xml")


def query_error(model_ns, err, request_id):
    code = err.query_code or err.code
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
            '<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>'
            % (model_ns, "Sender" if err.sender else "Receiver", escape(code),
               escape(err.message), request_id))
    headers = [("x-amzn-RequestId", request_id)] + list(err.headers.items())
    return Response(err.status, body, headers, content_type="text/xml")


# ---------------------------------------------------------------- JSON protocols

class ShapeError(Exception):
    def __init__(self, kind, path, message):
        Exception.__init__(self, message)
        self.kind = kind          # "type" or "required"
        self.path = path


def json_validate(shape, value, path=""):
    """Check a decoded JSON input against its botocore shape, as the
    service's deserializer would: wrong types and missing required members
    raise ShapeError.  Unknown members are ignored."""
    if shape is None or value is None:
        return
    t = shape.type_name
    where = path or shape.name

    def bad(what):
        raise ShapeError("type", where, "Unexpected %s at %s: expected %s" % (
            type(value).__name__, where, what))
    if t == "structure":
        if not isinstance(value, dict):
            bad("a structure")
        for req in shape.required_members:
            if value.get(req) is None:
                raise ShapeError("required", req, "1 validation error detected: Value "
                                 "null at '%s' failed to satisfy constraint: Member must "
                                 "not be null" % (req[:1].lower() + req[1:]))
        for k, v in value.items():
            if k in shape.members:
                json_validate(shape.members[k], v, k)
    elif t == "list":
        if not isinstance(value, list):
            bad("a list")
        for v in value:
            json_validate(shape.member, v, where + ".member")
    elif t == "map":
        if not isinstance(value, dict):
            bad("a map")
        for v in value.values():
            json_validate(shape.value, v, where + ".value")
    elif t == "string":
        if not isinstance(value, str):
            bad("a string")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            bad("an integer")
    elif t in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad("a number")
    elif t == "boolean":
        if not isinstance(value, bool):
            bad("a boolean")
    elif t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            bad("a timestamp")
    elif t == "blob":
        if not isinstance(value, str):
            bad("base64 text")
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            raise ShapeError("type", where, "Invalid base64 at %s" % where)


def json_response(obj, request_id, version="1.1", status=200):
    ct = "application/x-amz-json-%s" % version if version else "application/json"
    return Response(status, json.dumps(obj), [("x-amzn-RequestId", request_id)],
                    content_type=ct)


def json_error(err, request_id, version="1.1"):
    body = {"__type": err.code, "message": err.message}
    body.update(err.extra)
    headers = [("x-amzn-RequestId", request_id),
               ("x-amzn-ErrorType", err.code.split("#")[-1])]
    if err.query_code:
        headers.append(("x-amzn-query-error", "%s;%s" % (
            err.query_code, "Sender" if err.sender else "Receiver")))
    headers += list(err.headers.items())
    ct = "application/x-amz-json-%s" % version
    return Response(err.status, json.dumps(body), headers, content_type=ct)


def restjson_error(err, request_id):
    body = {"message": err.message}
    body.update(err.extra)
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", err.code)]
    headers += list(err.headers.items())
    return Response(err.status, json.dumps(body), headers,
                    content_type="application/json")


def s3_error(err, request_id, head=False):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
             '<Message>%s</Message>' % (escape(err.code), escape(err.message))]
    for k, v in err.extra.items():
        parts.append("<%s>%s</%s>" % (k, escape(str(v)), k))
    parts.append("<RequestId>%s</RequestId><HostId>%s</HostId></Error>"
                 % (request_id, s3_host_id()))
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", s3_host_id())]
    headers += list(err.headers.items())
    r = Response(err.status, "".join(parts), headers, content_type="application/xml")
    r.head = head
    return r


# ---------------------------------------------------------------- state

class State(object):
    """All the fake's memory, behind one lock.  `cond` wakes long polls."""

    def __init__(self, step_delay=0.2, throttle_rates=None, throttle=True):
        import throttle as T
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.step_delay = step_delay
        self.config = {}
        # What /_fake/reset goes back to: the defaults and --throttle.
        self.throttle_rates = dict(T.default_rates(), **(throttle_rates or {}))
        self.throttle_enabled = throttle
        self.reset()

    def reset(self):
        with self.lock:
            self.services = {}            # name -> module state object
            self.calls = {}               # service -> op -> count
            # Refused before any work: never in `calls`.
            self.rejected = {"auth": {},  # service -> error code -> count
                             "throttled": {}}   # service -> op -> count
            import throttle as T
            self.buckets = T.Buckets(self.throttle_rates, self.throttle_enabled)
            self.timeline = None          # list of events while recording
            self.faults = []
            self.timers = []              # (due, seq, fn)
            self.timer_seq = 0
            self.config = {
                "page_size": {},          # "cloudformation:DescribeChangeSet" -> n
                "regions": None,          # None = every known region
                "ecs_rollout_steps": 2,
            }
            self.cond.notify_all()

    def svc(self, name, factory):
        s = self.services.get(name)
        if s is None:
            s = factory()
            self.services[name] = s
        return s

    def count_call(self, service, op):
        with self.lock:
            d = self.calls.setdefault(service, {})
            d[op] = d.get(op, 0) + 1

    def count_rejected(self, kind, service, what):
        with self.lock:
            d = self.rejected[kind].setdefault(service or "?", {})
            d[what] = d.get(what, 0) + 1

    def record(self, kind, service, op, subject, t, took=None):
        """A timeline event (only while /_fake/timeline records)."""
        with self.lock:
            if self.timeline is not None:
                self.timeline.append((t, kind, service, op, subject, took))

    def page_size(self, key, default):
        return int(self.config["page_size"].get(key, default))

    # Timed transitions: `fn()` runs under the lock once `delay` passed.
    def schedule(self, delay, fn):
        with self.lock:
            self.timer_seq += 1
            self.timers.append((time.time() + delay, self.timer_seq, fn))
            self.timers.sort(key=lambda t: (t[0], t[1]))

    def retime(self, delay):
        """After a step delay change: nothing waits longer than `delay`."""
        with self.lock:
            t = time.time()
            self.timers = sorted(((min(due, t + delay), seq, fn)
                                  for due, seq, fn in self.timers),
                                 key=lambda x: (x[0], x[1]))

    def advance(self):
        with self.lock:
            t = time.time()
            ran = False
            while self.timers and self.timers[0][0] <= t:
                _, _, fn = self.timers.pop(0)
                fn()
                ran = True
            if ran:
                self.cond.notify_all()


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def md5hex(data):
    return hashlib.md5(data).hexdigest()


def sha256hex(data):
    return hashlib.sha256(data).hexdigest()
