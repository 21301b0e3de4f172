"""S3 (REST-XML): buckets, objects, versioning, event notifications to SQS."""

import base64
import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, quote_plus, unquote
from xml.sax.saxutils import escape

import core
from core import AwsError, Response, iso, rand_alnum, rand_hex

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
OPERATIONS = set()   # S3 is routed by identify(), not by Action
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
VHOST_RE = re.compile(r"^(.+?)\.s3(?:[.-](?:[a-z0-9-]+))?\.amazonaws\.com$")
EVENTS = {
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated", "s3:TestEvent",
}
_seq_lock = threading.Lock()
_seq = [0]


class S3State(object):
    def __init__(self):
        self.buckets = {}


def st(state):
    return state.svc("s3", S3State)


def owner_id(account):
    return "A" + hashlib.sha256(account.encode()).hexdigest()[:13].upper()


def canonical_owner(account):
    return hashlib.sha256(("owner" + account).encode()).hexdigest()


def sequencer():
    with _seq_lock:
        _seq[0] += 1
        return "%018X" % ((int(time.time() * 1000) << 16) + (_seq[0] & 0xffff))


def split_target(req):
    """(bucket, key) from a virtual-host or path-style request."""
    host = req.host.split(":")[0].lower()
    m = VHOST_RE.match(host)
    bucket = None
    if m and not host.startswith("s3."):
        bucket = m.group(1)
    elif host.endswith(".localhost") and host != "localhost":
        bucket = host[:-len(".localhost")]
    path = req.path
    if bucket is not None:
        key = unquote(path[1:]) if len(path) > 1 else None
        return bucket, key
    parts = path[1:].split("/", 1)
    if not parts[0]:
        return None, None
    bucket = unquote(parts[0])
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] != "" else None
    return bucket, key


SUBRESOURCES_UNSUPPORTED = ("acl", "tagging", "cors", "lifecycle",
                            "website", "replication", "encryption", "logging",
                            "object-lock", "retention", "legal-hold", "torrent",
                            "restore", "select", "accelerate", "inventory",
                            "analytics", "metrics", "ownershipControls",
                            "publicAccessBlock", "intelligent-tiering", "requestPayment",
                            "attributes")


def identify(req):
    bucket, key = split_target(req)
    m = req.method
    for sub in SUBRESOURCES_UNSUPPORTED:
        if req.qhas(sub):
            return "Unsupported:" + sub
    if bucket is not None and key is None and m == "POST" and req.qhas("delete"):
        return "DeleteObjects"
    if bucket is not None and key is not None:
        if m == "POST" and req.qhas("uploads"):
            return "CreateMultipartUpload"
        if req.qhas("uploadId"):
            return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload",
                    "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(
                        m, "Unsupported:" + m)
    if req.qhas("uploads") or req.qhas("delete"):
        return "Unsupported:" + ("uploads" if req.qhas("uploads") else "delete")
    if bucket is None:
        return "ListBuckets" if m == "GET" else "Unsupported:" + m
    if key is None:
        if m == "PUT":
            if req.qhas("versioning"):
                return "PutBucketVersioning"
            if req.qhas("notification"):
                return "PutBucketNotificationConfiguration"
            if req.qhas("policy"):
                return "PutBucketPolicy"
            return "CreateBucket"
        if m == "GET":
            for sub, op in (("versioning", "GetBucketVersioning"),
                            ("notification", "GetBucketNotificationConfiguration"),
                            ("policy", "GetBucketPolicy"),
                            ("location", "GetBucketLocation"),
                            ("versions", "ListObjectVersions")):
                if req.qhas(sub):
                    return op
            if req.qget("list-type") == "2":
                return "ListObjectsV2"
            return "ListObjects"
        if m == "HEAD":
            return "HeadBucket"
        if m == "DELETE":
            return "DeleteBucketPolicy" if req.qhas("policy") else "DeleteBucket"
        return "Unsupported:" + m
    if m == "PUT":
        return "CopyObject" if req.header("x-amz-copy-source") else "PutObject"
    if m == "GET":
        return "GetObject"
    if m == "HEAD":
        return "HeadObject"
    if m == "DELETE":
        return "DeleteObject"
    return "Unsupported:" + m


def xml(body_inner):
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body_inner


def ok(body="", status=200, headers=None, req=None, ctype="application/xml"):
    h = [("x-amz-request-id", req.request_id), ("x-amz-id-2", core.s3_host_id())]
    h += headers or []
    r = Response(status, body, h, content_type=ctype if body else None)
    return r


def no_bucket(name):
    return AwsError("NoSuchBucket", "The specified bucket does not exist", 404,
                    extra={"BucketName": name})


def get_bucket(state, req, name, check_access=True):
    b = st(state).buckets.get(name)
    if b is None:
        raise no_bucket(name)
    if b["region"] != req.region:
        if req.header("Authorization") is None:
            raise AwsError("AuthorizationQueryParametersError",
                           "Error parsing the X-Amz-Credential parameter; the region "
                           "'%s' is wrong; expecting '%s'" % (req.region, b["region"]),
                           400, extra={"Region": b["region"]},
                           headers={"x-amz-bucket-region": b["region"]})
        raise AwsError("AuthorizationHeaderMalformed",
                       "The authorization header is malformed; the region '%s' is "
                       "wrong; expecting '%s'" % (req.region, b["region"]), 400,
                       extra={"Region": b["region"]},
                       headers={"x-amz-bucket-region": b["region"]})
    if check_access and b["owner"] != req.ident.account and not b.get("policy"):
        raise AwsError("AccessDenied", "Access Denied", 403)
    return b


def handle(state, req, op, params):
    if op.startswith("Unsupported:"):
        raise AwsError("NotImplemented", "A header you provided implies functionality "
                       "that is not implemented", 501)
    bucket, key = split_target(req)
    with state.lock:
        fn = globals()["op_" + op]
        return fn(state, req, bucket, key)


# ---------------------------------------------------------------- buckets

def op_ListBuckets(state, req, bucket, key):
    acct = req.ident.account
    items = "".join(
        "<Bucket><Name>%s</Name><CreationDate>%s</CreationDate></Bucket>"
        % (escape(n), iso(b["created"]))
        for n, b in sorted(st(state).buckets.items()) if b["owner"] == acct)
    body = xml('<ListAllMyBucketsResult xmlns="%s"><Owner><ID>%s</ID></Owner>'
               '<Buckets>%s</Buckets></ListAllMyBucketsResult>'
               % (NS, canonical_owner(acct), items))
    return ok(body, req=req)


def op_CreateBucket(state, req, bucket, key):
    if not BUCKET_RE.match(bucket) or ".." in bucket or \
            re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket):
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400,
                       extra={"BucketName": bucket})
    loc = None
    if req.body.strip():
        try:
            root = ET.fromstring(req.body)
        except ET.ParseError:
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or "
                           "did not validate against our published schema", 400)
        for el in root.iter():
            if el.tag.endswith("LocationConstraint"):
                loc = (el.text or "").strip() or None
    want = loc or "us-east-1"
    if want != req.region:
        raise AwsError("IllegalLocationConstraintException",
                       "The %s location constraint is incompatible for the region "
                       "specific endpoint this request was sent to." % (
                           loc if loc else "unspecified"), 400)
    b = st(state).buckets.get(bucket)
    if b is not None:
        if b["owner"] == req.ident.account:
            if b["region"] == "us-east-1" and want == "us-east-1":
                return ok("", req=req, headers=[("Location", "/" + bucket)])
            raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create "
                           "the named bucket succeeded and you already own it.", 409,
                           extra={"BucketName": bucket})
        raise AwsError("BucketAlreadyExists", "The requested bucket name is not "
                       "available. The bucket namespace is shared by all users of the "
                       "system. Please select a different name and try again.", 409,
                       extra={"BucketName": bucket})
    st(state).buckets[bucket] = {
        "name": bucket, "owner": req.ident.account, "region": want,
        "created": time.time(), "versioning": None, "notification": [],
        "policy": None, "objects": {},
    }
    loc_hdr = "/" + bucket if want == "us-east-1" else \
        "http://%s.s3.amazonaws.com/" % bucket
    return ok("", req=req, headers=[("Location", loc_hdr)])


def op_HeadBucket(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    return ok("", req=req, headers=[("x-amz-bucket-region", b["region"])])


def op_DeleteBucket(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    if any(b["objects"].values()):
        raise AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty",
                       409, extra={"BucketName": bucket})
    del st(state).buckets[bucket]
    return ok("", status=204, req=req)


def op_GetBucketLocation(state, req, bucket, key):
    b = st(state).buckets.get(bucket)
    if b is None:
        raise no_bucket(bucket)
    loc = "" if b["region"] == "us-east-1" else b["region"]
    return ok(xml('<LocationConstraint xmlns="%s">%s</LocationConstraint>' % (NS, loc)),
              req=req)


def op_PutBucketVersioning(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    try:
        root = ET.fromstring(req.body)
    except ET.ParseError:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)
    status = None
    for el in root.iter():
        if el.tag.endswith("Status"):
            status = (el.text or "").strip()
    if status not in ("Enabled", "Suspended"):
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)
    b["versioning"] = status
    return ok("", req=req)


def op_GetBucketVersioning(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    inner = "<Status>%s</Status>" % b["versioning"] if b["versioning"] else ""
    return ok(xml('<VersioningConfiguration xmlns="%s">%s</VersioningConfiguration>'
                  % (NS, inner)), req=req)


def op_PutBucketPolicy(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    try:
        json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first "
                       "byte must be '{'", 400)
    b["policy"] = req.body.decode("utf-8")
    return ok("", status=204, req=req)


def op_GetBucketPolicy(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    if not b["policy"]:
        raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                       extra={"BucketName": bucket})
    return ok(b["policy"], req=req, ctype="application/json")


def op_DeleteBucketPolicy(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    b["policy"] = None
    return ok("", status=204, req=req)


# ---------------------------------------------------------------- notifications

def _text(el, name):
    for c in el:
        if c.tag.split("}")[-1] == name:
            return (c.text or "").strip()
    return None


def op_PutBucketNotificationConfiguration(state, req, bucket, key):
    import sqs
    b = get_bucket(state, req, bucket)
    try:
        root = ET.fromstring(req.body) if req.body.strip() else None
    except ET.ParseError:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)
    configs = []
    bad = []
    if root is not None:
        for el in root:
            tag = el.tag.split("}")[-1]
            if tag in ("TopicConfiguration", "CloudFunctionConfiguration",
                       "LambdaFunctionConfiguration"):
                arn = _text(el, "Topic") or _text(el, "CloudFunction") or \
                    _text(el, "LambdaFunctionArn")
                bad.append((arn, "The destination is not supported by this endpoint"))
                continue
            if tag == "EventBridgeConfiguration":
                continue
            if tag != "QueueConfiguration":
                raise AwsError("MalformedXML", "The XML you provided was not well-formed "
                               "or did not validate against our published schema", 400)
            cid = _text(el, "Id") or base64.b64encode(rand_hex(24).encode()).decode()[:48]
            arn = _text(el, "Queue")
            events = [(c.text or "").strip() for c in el if c.tag.split("}")[-1] == "Event"]
            rules = []
            for f in el.iter():
                if f.tag.split("}")[-1] == "FilterRule":
                    rules.append({"Name": _text(f, "Name"), "Value": _text(f, "Value")})
            for ev in events:
                if ev not in EVENTS or ev == "s3:TestEvent":
                    raise AwsError("InvalidArgument", "The event is not supported for "
                                   "notifications", 400,
                                   extra={"ArgumentName": "Event", "ArgumentValue": ev})
            for r in rules:
                if (r["Name"] or "").lower() not in ("prefix", "suffix"):
                    raise AwsError("InvalidArgument", "filter rule name must be either "
                                   "prefix or suffix", 400,
                                   extra={"ArgumentName": "FilterRule.Name",
                                          "ArgumentValue": r["Name"]})
            q = sqs.queue_by_arn(state, arn) if arn else None
            if q is None:
                bad.append((arn, "The destination queue does not exist"))
            elif q["region"] != b["region"]:
                bad.append((arn, "The notification destination service region is not "
                           "valid for the bucket location constraint"))
            elif not sqs.admits_s3(q, "arn:aws:s3:::" + bucket, b["owner"]):
                bad.append((arn, "Permissions on the destination queue do not allow S3 "
                           "to publish notifications from this bucket"))
            configs.append({"Id": cid, "Queue": arn, "Events": events, "Filter": rules})
    if bad:
        extra = {}
        for i, (arn, why) in enumerate(bad, 1):
            extra["ArgumentName%d" % i] = arn
            extra["ArgumentValue%d" % i] = why
        raise AwsError("InvalidArgument", "Unable to validate the following destination "
                       "configurations", 400, extra=extra)
    old = set(c["Queue"] for c in b["notification"])
    b["notification"] = configs
    for arn in sorted(set(c["Queue"] for c in configs)):
        if arn in old:
            continue
        msg = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": iso(time.time()),
               "Bucket": bucket, "RequestId": rand_hex(16).upper(),
               "HostId": core.s3_host_id()}
        sqs.deliver(state, arn, json.dumps(msg))
    return ok("", req=req)


def op_GetBucketNotificationConfiguration(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    parts = ['<NotificationConfiguration xmlns="%s">' % NS]
    for c in b["notification"]:
        parts.append("<QueueConfiguration><Id>%s</Id><Queue>%s</Queue>"
                     % (escape(c["Id"]), escape(c["Queue"])))
        for e in c["Events"]:
            parts.append("<Event>%s</Event>" % escape(e))
        if c["Filter"]:
            parts.append("<Filter><S3Key>")
            for r in c["Filter"]:
                parts.append("<FilterRule><Name>%s</Name><Value>%s</Value></FilterRule>"
                             % (escape(r["Name"]), escape(r["Value"] or "")))
            parts.append("</S3Key></Filter>")
        parts.append("</QueueConfiguration>")
    parts.append("</NotificationConfiguration>")
    return ok(xml("".join(parts)), req=req)


def _matches(config, event_name, key):
    ok_ev = False
    for e in config["Events"]:
        if e == "s3:" + event_name or (e.endswith(":*") and
                                       ("s3:" + event_name).startswith(e[:-1])):
            ok_ev = True
    if not ok_ev:
        return False
    for r in config["Filter"]:
        n = r["Name"].lower()
        if n == "prefix" and not key.startswith(r["Value"] or ""):
            return False
        if n == "suffix" and not key.endswith(r["Value"] or ""):
            return False
    return True


def notify(state, req, b, event_name, obj):
    """Send the S3 event record (v2.1) to every matching queue."""
    import sqs
    for c in b["notification"]:
        if not _matches(c, event_name, obj["key"]):
            continue
        o = {"key": quote_plus(obj["key"], safe="/")}
        if event_name.startswith("ObjectCreated"):
            o["size"] = obj["size"]
            o["eTag"] = obj["etag"]
        if b["versioning"] == "Enabled" or (obj.get("version_id") not in (None, "null")):
            o["versionId"] = obj["version_id"]
        o["sequencer"] = sequencer()
        rec = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": b["region"],
            "eventTime": iso(time.time()),
            "eventName": event_name,
            "userIdentity": {"principalId": "AWS:" + req.ident.user_id},
            "requestParameters": {"sourceIPAddress": req.client_ip},
            "responseElements": {"x-amz-request-id": req.request_id,
                                 "x-amz-id-2": core.s3_host_id()},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": c["Id"],
                "bucket": {"name": b["name"],
                           "ownerIdentity": {"principalId": owner_id(b["owner"])},
                           "arn": "arn:aws:s3:::" + b["name"]},
                "object": o,
            },
        }
        sqs.deliver(state, c["Queue"], json.dumps({"Records": [rec]}))


# ---------------------------------------------------------------- objects

def _latest(b, key):
    vs = b["objects"].get(key)
    return vs[-1] if vs else None


def _find(b, key, version_id):
    vs = b["objects"].get(key) or []
    if version_id is None:
        o = vs[-1] if vs else None
        if o is None or o.get("delete_marker"):
            raise AwsError("NoSuchKey", "The specified key does not exist.", 404,
                           extra={"Key": key},
                           headers={"x-amz-delete-marker": "true"} if o else {})
        return o
    for o in vs:
        if o["version_id"] == version_id:
            if o.get("delete_marker"):
                raise AwsError("MethodNotAllowed", "The specified method is not allowed "
                               "against this resource.", 405,
                               headers={"x-amz-delete-marker": "true"})
            return o
    if version_id != "null" and not re.match(r"^[A-Za-z0-9._]{32}$", version_id):
        raise AwsError("InvalidArgument", "Invalid version id specified", 400,
                       extra={"ArgumentName": "versionId", "ArgumentValue": version_id})
    raise AwsError("NoSuchVersion", "The specified version does not exist.", 404,
                   extra={"Key": key, "VersionId": version_id})


def _store(b, key, data, ctype, meta):
    etag = hashlib.md5(data).hexdigest()
    vid = "null"
    if b["versioning"] == "Enabled":
        vid = rand_alnum(20, upper=False) + "." + rand_alnum(11, upper=False)
    o = {"key": key, "data": data, "etag": '"%s"' % etag, "size": len(data),
         "last_modified": time.time(), "version_id": vid,
         "content_type": ctype or "binary/octet-stream", "meta": meta}
    vs = b["objects"].setdefault(key, [])
    if vid == "null":
        vs[:] = [v for v in vs if v["version_id"] != "null"]
    vs.append(o)
    return o


def _obj_headers(b, o):
    h = [("ETag", o["etag"]), ("Last-Modified", core.http_date(o["last_modified"])),
         ("Content-Type", o["content_type"]), ("Accept-Ranges", "bytes")]
    if b["versioning"]:
        h.append(("x-amz-version-id", o["version_id"]))
    for k, v in o["meta"].items():
        h.append(("x-amz-meta-" + k, v))
    return h


def op_PutObject(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    if len(key.encode()) > 1024:
        raise AwsError("KeyTooLongError", "Your key is too long", 400)
    md5 = req.header("Content-MD5")
    if md5 is not None:
        try:
            want = base64.b64decode(md5, validate=True)
        except ValueError:
            want = b""
        if len(want) != 16:
            raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.",
                           400, extra={"Content-MD5": md5})
        if hashlib.md5(req.body).digest() != want:
            raise AwsError("BadDigest", "The Content-MD5 you specified did not match what "
                           "we received.", 400, extra={
                               "ExpectedDigest": want.hex(),
                               "CalculatedDigest": hashlib.md5(req.body).hexdigest()})
    meta = {}
    for k in req.headers.keys():
        if k.lower().startswith("x-amz-meta-"):
            meta[k.lower()[len("x-amz-meta-"):]] = req.headers[k]
    o = _store(b, key, req.body, req.header("Content-Type"), meta)
    h = [("ETag", o["etag"])]
    if b["versioning"]:
        h.append(("x-amz-version-id", o["version_id"]))
    notify(state, req, b, "ObjectCreated:Put", dict(o, etag=o["etag"].strip('"')))
    return ok("", req=req, headers=h)


def op_CopyObject(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    src = unquote(req.header("x-amz-copy-source"))
    src, _, q = src.partition("?versionId=")
    sb, _, sk = src.lstrip("/").partition("/")
    if not sb or not sk:
        raise AwsError("InvalidArgument", "Copy Source must mention the source bucket and "
                       "key: sourcebucket/sourcekey", 400,
                       extra={"ArgumentName": "x-amz-copy-source",
                              "ArgumentValue": req.header("x-amz-copy-source")})
    sbk = get_bucket(state, req, sb)
    so = _find(sbk, sk, q or None)
    meta = dict(so["meta"])
    ctype = so["content_type"]
    if (req.header("x-amz-metadata-directive") or "COPY").upper() == "REPLACE":
        meta = {k.lower()[11:]: req.headers[k] for k in req.headers.keys()
                if k.lower().startswith("x-amz-meta-")}
        ctype = req.header("Content-Type") or ctype
    o = _store(b, key, so["data"], ctype, meta)
    h = []
    if b["versioning"]:
        h.append(("x-amz-version-id", o["version_id"]))
    notify(state, req, b, "ObjectCreated:Copy", dict(o, etag=o["etag"].strip('"')))
    return ok(xml('<CopyObjectResult xmlns="%s"><LastModified>%s</LastModified>'
                  '<ETag>%s</ETag></CopyObjectResult>' % (NS, iso(o["last_modified"]),
                                                         escape(o["etag"]))),
              req=req, headers=h)


def _cond(req, o):
    inm = req.header("If-None-Match")
    if inm is not None and (inm.strip() == "*" or o["etag"] in
                            [x.strip() for x in inm.split(",")]):
        return 304
    im = req.header("If-Match")
    if im is not None and im.strip() != "*" and o["etag"] not in \
            [x.strip() for x in im.split(",")]:
        raise AwsError("PreconditionFailed", "At least one of the pre-conditions you "
                       "specified did not hold", 412, extra={"Condition": "If-Match"})
    return None


def op_GetObject(state, req, bucket, key, head=False):
    b = get_bucket(state, req, bucket)
    o = _find(b, key, req.qget("versionId"))
    h = _obj_headers(b, o)
    c = _cond(req, o)
    if c == 304:
        r = ok("", status=304, req=req, headers=[x for x in h if x[0] != "Content-Type"])
        r.head = True
        return r
    data = o["data"]
    status = 200
    rng = req.header("Range")
    if rng:
        m = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
        if m and (m.group(1) or m.group(2)):
            n = len(data)
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else n - 1
            else:
                start = max(0, n - int(m.group(2)))
                end = n - 1
            if start >= n:
                raise AwsError("InvalidRange", "The requested range is not satisfiable",
                               416, extra={"RangeRequested": rng,
                                           "ActualObjectSize": n})
            end = min(end, n - 1)
            data = data[start:end + 1]
            status = 206
            h.append(("Content-Range", "bytes %d-%d/%d" % (start, end, n)))
    r = Response(status, data, [("x-amz-request-id", req.request_id),
                                ("x-amz-id-2", core.s3_host_id())] + h)
    if head:
        r.head = True
        r.headers.append(("Content-Length", str(len(data))))
    return r


def op_HeadObject(state, req, bucket, key):
    try:
        return op_GetObject(state, req, bucket, key, head=True)
    except AwsError as e:
        e.extra = {}
        raise


def op_DeleteObject(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    vid = req.qget("versionId")
    vs = b["objects"].get(key) or []
    h = []
    if vid is not None:
        for o in list(vs):
            if o["version_id"] == vid:
                vs.remove(o)
                h.append(("x-amz-version-id", vid))
                if o.get("delete_marker"):
                    h.append(("x-amz-delete-marker", "true"))
        return ok("", status=204, req=req, headers=h)
    if b["versioning"] == "Enabled":
        marker = {"key": key, "delete_marker": True, "last_modified": time.time(),
                  "version_id": rand_alnum(20, upper=False) + "." +
                  rand_alnum(11, upper=False), "size": 0, "etag": ""}
        vs.append(marker)
        b["objects"][key] = vs
        h = [("x-amz-delete-marker", "true"), ("x-amz-version-id", marker["version_id"])]
        notify(state, req, b, "ObjectRemoved:DeleteMarkerCreated", marker)
    else:
        if vs:
            b["objects"][key] = [v for v in vs if v["version_id"] != "null"]
            notify(state, req, b, "ObjectRemoved:Delete",
                   {"key": key, "version_id": "null"})
    return ok("", status=204, req=req, headers=h)


def _enc(s, url):
    return escape(quote(s, safe="/~") if url else s)


def _listing(b, prefix, delimiter, start):
    """Sorted (key, object|None-for-common-prefix) after `start`."""
    keys = sorted(k for k, vs in b["objects"].items()
                  if vs and not vs[-1].get("delete_marker") and k.startswith(prefix))
    out = []
    seen = set()
    for k in keys:
        if delimiter:
            rest = k[len(prefix):]
            i = rest.find(delimiter)
            if i >= 0:
                cp = prefix + rest[:i + len(delimiter)]
                if cp in seen:
                    continue
                if start is not None and cp <= start:
                    continue
                seen.add(cp)
                out.append((cp, None))
                continue
        if start is not None and k <= start:
            continue
        out.append((k, b["objects"][k][-1]))
    return out


def _max_keys(req):
    mk = req.qget("max-keys")
    if mk is None:
        return 1000
    try:
        v = int(mk)
        if v < 0:
            raise ValueError
        return min(v, 1000)
    except ValueError:
        raise AwsError("InvalidArgument", "Provided max-keys not an integer or within "
                       "integer range", 400, extra={"ArgumentName": "max-keys",
                                                    "ArgumentValue": mk})


def op_ListObjectsV2(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    prefix = req.qget("prefix", "")
    delim = req.qget("delimiter")
    url = req.qget("encoding-type") == "url"
    if req.qget("encoding-type") not in (None, "url"):
        raise AwsError("InvalidArgument", "Invalid Encoding Method specified in Request",
                       400, extra={"ArgumentName": "encoding-type",
                                   "ArgumentValue": req.qget("encoding-type")})
    mk = _max_keys(req)
    token = req.qget("continuation-token")
    start = req.qget("start-after")
    if token is not None:
        try:
            start = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
            if not start.startswith("fk1:"):
                raise ValueError
            start = start[4:]
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidArgument", "The continuation token provided is "
                           "incorrect", 400, extra={"ArgumentName": "continuation-token"})
    items = _listing(b, prefix, delim, start)
    page = items[:mk]
    truncated = len(items) > mk
    parts = ['<ListBucketResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix>'
             % (NS, escape(bucket), _enc(prefix, url))]
    if delim:
        parts.append("<Delimiter>%s</Delimiter>" % _enc(delim, url))
    parts.append("<MaxKeys>%d</MaxKeys><KeyCount>%d</KeyCount>" % (mk, len(page)))
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
    if token is not None:
        parts.append("<ContinuationToken>%s</ContinuationToken>" % escape(token))
    if truncated and page:
        nt = base64.urlsafe_b64encode(("fk1:" + page[-1][0]).encode()).decode()
        parts.append("<NextContinuationToken>%s</NextContinuationToken>" % nt)
    if req.qget("start-after") is not None:
        parts.append("<StartAfter>%s</StartAfter>" % _enc(req.qget("start-after"), url))
    for k, o in page:
        if o is None:
            parts.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>"
                         % _enc(k, url))
        else:
            parts.append(_contents(b, k, o, url, req.qget("fetch-owner") == "true"))
    parts.append("</ListBucketResult>")
    return ok(xml("".join(parts)), req=req)


def _contents(b, k, o, url, owner):
    s = ("<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag>"
         "<Size>%d</Size>" % (_enc(k, url), iso(o["last_modified"]), escape(o["etag"]),
                              o["size"]))
    if owner:
        s += "<Owner><ID>%s</ID></Owner>" % canonical_owner(b["owner"])
    return s + "<StorageClass>STANDARD</StorageClass></Contents>"


def op_ListObjects(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    prefix = req.qget("prefix", "")
    delim = req.qget("delimiter")
    url = req.qget("encoding-type") == "url"
    mk = _max_keys(req)
    marker = req.qget("marker")
    items = _listing(b, prefix, delim, marker)
    page = items[:mk]
    truncated = len(items) > mk
    parts = ['<ListBucketResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix>'
             '<Marker>%s</Marker><MaxKeys>%d</MaxKeys>' % (
                 NS, escape(bucket), _enc(prefix, url), _enc(marker or "", url), mk)]
    if delim:
        parts.append("<Delimiter>%s</Delimiter>" % _enc(delim, url))
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
    if truncated and delim and page:
        parts.append("<NextMarker>%s</NextMarker>" % _enc(page[-1][0], url))
    for k, o in page:
        if o is None:
            parts.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>"
                         % _enc(k, url))
        else:
            parts.append(_contents(b, k, o, url, True))
    parts.append("</ListBucketResult>")
    return ok(xml("".join(parts)), req=req)


def op_ListObjectVersions(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    prefix = req.qget("prefix", "")
    url = req.qget("encoding-type") == "url"
    parts = ['<ListVersionsResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix>'
             '<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>'
             '<MaxKeys>1000</MaxKeys>' % (NS, escape(bucket), _enc(prefix, url))]
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append("<IsTruncated>false</IsTruncated>")
    for k in sorted(b["objects"]):
        if not k.startswith(prefix):
            continue
        vs = b["objects"][k]
        for i, o in enumerate(reversed(vs)):
            latest = "true" if i == 0 else "false"
            if o.get("delete_marker"):
                parts.append("<DeleteMarker><Key>%s</Key><VersionId>%s</VersionId>"
                             "<IsLatest>%s</IsLatest><LastModified>%s</LastModified>"
                             "</DeleteMarker>" % (_enc(k, url), o["version_id"], latest,
                                                  iso(o["last_modified"])))
            else:
                parts.append("<Version><Key>%s</Key><VersionId>%s</VersionId>"
                             "<IsLatest>%s</IsLatest><LastModified>%s</LastModified>"
                             "<ETag>%s</ETag><Size>%d</Size><StorageClass>STANDARD"
                             "</StorageClass></Version>" % (
                                 _enc(k, url), o["version_id"], latest,
                                 iso(o["last_modified"]), escape(o["etag"]), o["size"]))
    parts.append("</ListVersionsResult>")
    return ok(xml("".join(parts)), req=req)


# ---------------------------------------------------------------- multipart, batch delete

def _xml_root(req):
    try:
        return ET.fromstring(req.body)
    except ET.ParseError:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)


def _upload(b, key, req):
    uid = req.qget("uploadId")
    up = b.setdefault("uploads", {}).get(uid)
    if up is None or up["key"] != key:
        raise AwsError("NoSuchUpload", "The specified upload does not exist. The upload "
                       "ID may be invalid, or the upload may have been aborted or "
                       "completed.", 404, extra={"UploadId": uid})
    return uid, up


def op_CreateMultipartUpload(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    uid = rand_alnum(64, upper=False)
    meta = {k.lower()[11:]: req.headers[k] for k in req.headers.keys()
            if k.lower().startswith("x-amz-meta-")}
    b.setdefault("uploads", {})[uid] = {"key": key, "parts": {}, "meta": meta,
                                        "content_type": req.header("Content-Type"),
                                        "initiated": time.time()}
    return ok(xml('<InitiateMultipartUploadResult xmlns="%s"><Bucket>%s</Bucket>'
                  '<Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>'
                  % (NS, escape(bucket), escape(key), uid)), req=req)


def op_UploadPart(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    uid, up = _upload(b, key, req)
    try:
        n = int(req.qget("partNumber", ""))
        if not 1 <= n <= 10000:
            raise ValueError
    except ValueError:
        raise AwsError("InvalidArgument", "Part number must be an integer between 1 and "
                       "10000, inclusive", 400, extra={"ArgumentName": "partNumber",
                                                      "ArgumentValue": req.qget(
                                                          "partNumber")})
    etag = hashlib.md5(req.body).hexdigest()
    up["parts"][n] = {"data": req.body, "etag": '"%s"' % etag, "time": time.time()}
    return ok("", req=req, headers=[("ETag", '"%s"' % etag)])


def op_ListParts(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    uid, up = _upload(b, key, req)
    parts = "".join("<Part><PartNumber>%d</PartNumber><LastModified>%s</LastModified>"
                    "<ETag>%s</ETag><Size>%d</Size></Part>" % (
                        n, iso(p["time"]), escape(p["etag"]), len(p["data"]))
                    for n, p in sorted(up["parts"].items()))
    return ok(xml('<ListPartsResult xmlns="%s"><Bucket>%s</Bucket><Key>%s</Key>'
                  '<UploadId>%s</UploadId><IsTruncated>false</IsTruncated>%s'
                  '</ListPartsResult>' % (NS, escape(bucket), escape(key), uid, parts)),
              req=req)


def op_AbortMultipartUpload(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    uid, up = _upload(b, key, req)
    del b["uploads"][uid]
    return ok("", status=204, req=req)


def op_CompleteMultipartUpload(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    uid, up = _upload(b, key, req)
    root = _xml_root(req)
    want = []
    for el in root.iter():
        if el.tag.split("}")[-1] == "Part":
            n, e = _text(el, "PartNumber"), _text(el, "ETag")
            try:
                want.append((int(n), e))
            except (TypeError, ValueError):
                raise AwsError("MalformedXML", "The XML you provided was not well-formed "
                               "or did not validate against our published schema", 400)
    if not want:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)
    if [n for n, _ in want] != sorted(set(n for n, _ in want)):
        raise AwsError("InvalidPartOrder", "The list of parts was not in ascending order. "
                       "The parts list must be specified in order by part number.", 400,
                       extra={"UploadId": uid})
    data, digests = [], b""
    for i, (n, e) in enumerate(want):
        p = up["parts"].get(n)
        if p is None or (e or "").strip('"') != p["etag"].strip('"'):
            raise AwsError("InvalidPart", "One or more of the specified parts could not "
                           "be found. The part may not have been uploaded, or the "
                           "specified entity tag may not match the part's entity tag.",
                           400, extra={"UploadId": uid, "PartNumber": n, "ETag": e})
        if i < len(want) - 1 and len(p["data"]) < 5 * 1024 * 1024:
            raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the "
                           "minimum allowed object size.", 400,
                           extra={"UploadId": uid, "PartNumber": n,
                                  "ProposedSize": len(p["data"]),
                                  "MinSizeAllowed": 5 * 1024 * 1024})
        data.append(p["data"])
        digests += bytes.fromhex(p["etag"].strip('"'))
    o = _store(b, key, b"".join(data), up["content_type"], up["meta"])
    o["etag"] = '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(want))
    del b["uploads"][uid]
    h = []
    if b["versioning"]:
        h.append(("x-amz-version-id", o["version_id"]))
    notify(state, req, b, "ObjectCreated:CompleteMultipartUpload",
           dict(o, etag=o["etag"].strip('"')))
    return ok(xml('<CompleteMultipartUploadResult xmlns="%s"><Location>http://%s/%s/%s'
                  '</Location><Bucket>%s</Bucket><Key>%s</Key><ETag>%s</ETag>'
                  '</CompleteMultipartUploadResult>' % (
                      NS, escape(req.host), escape(bucket), escape(quote(key, safe="/")),
                      escape(bucket), escape(key), escape(o["etag"]))),
              req=req, headers=h)


def op_DeleteObjects(state, req, bucket, key):
    b = get_bucket(state, req, bucket)
    if req.header("Content-MD5") is None and req.header("x-amz-checksum-crc32") is None \
            and req.header("x-amz-sdk-checksum-algorithm") is None:
        raise AwsError("InvalidRequest", "Missing required header for this request: "
                       "Content-MD5", 400)
    root = _xml_root(req)
    quiet = (_text(root, "Quiet") or "").lower() == "true"
    objs = [c for c in root if c.tag.split("}")[-1] == "Object"]
    if len(objs) > 1000:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema", 400)
    parts = ['<DeleteResult xmlns="%s">' % NS]
    for el in objs:
        k, vid = _text(el, "Key"), _text(el, "VersionId")
        vs = b["objects"].get(k) or []
        if vid is not None:
            b["objects"][k] = [v for v in vs if v["version_id"] != vid]
        elif b["versioning"] == "Enabled":
            marker = {"key": k, "delete_marker": True, "last_modified": time.time(),
                      "version_id": rand_alnum(20, upper=False) + "." +
                      rand_alnum(11, upper=False), "size": 0, "etag": ""}
            vs.append(marker)
            b["objects"][k] = vs
            vid = None
            notify(state, req, b, "ObjectRemoved:DeleteMarkerCreated", marker)
        elif vs:
            b["objects"][k] = [v for v in vs if v["version_id"] != "null"]
            notify(state, req, b, "ObjectRemoved:Delete", {"key": k, "version_id": "null"})
        if not quiet:
            parts.append("<Deleted><Key>%s</Key>%s</Deleted>" % (
                escape(k or ""), "<VersionId>%s</VersionId>" % escape(vid) if vid else ""))
    parts.append("</DeleteResult>")
    return ok(xml("".join(parts)), req=req)


# ---------------------------------------------------------------- for other modules

def read_object(state, bucket, key):
    """Internal read (CloudFormation TemplateURL): data or None."""
    with state.lock:
        b = st(state).buckets.get(bucket)
        if b is None:
            return None
        vs = b["objects"].get(key)
        if not vs or vs[-1].get("delete_marker"):
            return None
        return vs[-1]["data"]


def setup_bucket(state, account, region, name, versioning=False):
    with state.lock:
        b = st(state).buckets.get(name)
        if b is None:
            b = {"name": name, "owner": account, "region": region,
                 "created": time.time(), "versioning": None, "notification": [],
                 "policy": None, "objects": {}}
            st(state).buckets[name] = b
        if versioning:
            b["versioning"] = "Enabled"
        return b


def dump(state):
    out = {}
    for n, b in st(state).buckets.items():
        out[n] = {"owner": b["owner"], "region": b["region"],
                  "versioning": b["versioning"], "notification": b["notification"],
                  "policy": bool(b["policy"]),
                  "objects": {k: [{"version_id": o["version_id"], "size": o["size"],
                                   "etag": o["etag"],
                                   "delete_marker": bool(o.get("delete_marker"))}
                                  for o in vs] for k, vs in b["objects"].items()}}
    return out
