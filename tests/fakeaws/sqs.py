"""SQS: JSON 1.0 (X-Amz-Target: AmazonSQS.*) and the older query protocol.

Both arrive here as dicts keyed by the API's member names.  Long polling
waits on the state's condition and returns as soon as a message arrives.
"""

import base64
import fnmatch
import hashlib
import json
import re
import struct
import time
import uuid
from urllib.parse import urlsplit

from core import AwsError, rand_alnum

OPERATIONS = {"CreateQueue", "GetQueueUrl", "SendMessage", "SendMessageBatch",
              "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
              "ChangeMessageVisibility", "GetQueueAttributes", "SetQueueAttributes",
              "DeleteQueue", "PurgeQueue", "ListQueues"}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ARN_RE = re.compile(r"^arn:aws:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})$")
DEFAULTS = {"VisibilityTimeout": "30", "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "345600", "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true"}
SETTABLE = {"VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
            "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "Policy",
            "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
            "RedriveAllowPolicy"}
RANGES = {"VisibilityTimeout": (0, 43200), "MaximumMessageSize": (1024, 262144),
          "MessageRetentionPeriod": (60, 1209600), "DelaySeconds": (0, 900),
          "ReceiveMessageWaitTimeSeconds": (0, 20)}

# (JSON __type suffix, query code, status)
ERRORS = {
    "NonExistentQueue": ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueAlreadyExists": ("QueueNameExists", "QueueAlreadyExists", 400),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400),
    "MessageNotInflight": ("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400),
    "InvalidParameterValue": ("InvalidParameterValueException", "InvalidParameterValue", 400),
    "InvalidAttributeName": ("InvalidAttributeName", "InvalidAttributeName", 400),
    "MissingParameter": ("MissingParameter", "MissingParameter", 400),
    "AccessDenied": ("AccessDenied", "AccessDenied", 403),
    "PurgeQueueInProgress": ("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    "EmptyBatchRequest": ("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "TooManyEntriesInBatchRequest": ("TooManyEntriesInBatchRequest",
                                     "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    "BatchEntryIdsNotDistinct": ("BatchEntryIdsNotDistinct",
                                 "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "InvalidBatchEntryId": ("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400),
}


def err(name, message, req):
    jt, qc, status = ERRORS[name]
    if req is not None and core_is_json(req):
        return AwsError("com.amazonaws.sqs#" + jt, message, status, query_code=qc)
    return AwsError(qc, message, status)


def core_is_json(req):
    return bool(req.header("X-Amz-Target")) or "json" in req.header("Content-Type", "")


class SqsState(object):
    def __init__(self):
        self.queues = {}      # (account, region, name) -> queue
        self.handles = {}     # receipt handle -> (queue key, message id, generation)


def st(state):
    return state.svc("sqs", SqsState)


def _arn(region, acct, name):
    return "arn:aws:sqs:%s:%s:%s" % (region, acct, name)


def queue_by_arn(state, arn):
    m = ARN_RE.match(arn or "")
    if not m:
        return None
    region, acct, name = m.groups()
    return st(state).queues.get((acct, region, name))


def _values(v):
    return v if isinstance(v, list) else [v]


def _matches(patterns, value, glob, fold=False):
    for p in _values(patterns):
        if not isinstance(p, str):
            continue
        a, b = (p.lower(), value.lower()) if fold else (p, value)
        if (fnmatch.fnmatchcase(b, a) if glob else a == b):
            return True
    return False


def _s3_statement_applies(s, q, bucket_arn, bucket_account):
    """Whether a queue policy statement covers S3 sending the events of
    bucket_arn: action, principal, resource, and the aws:SourceArn and
    aws:SourceAccount conditions (other condition keys hold)."""
    if not _matches(s.get("Action", []), "sqs:SendMessage", True, True):
        return False
    p = s.get("Principal")
    if not (p == "*" or isinstance(p, dict) and (
            _matches(p.get("Service", []), "s3.amazonaws.com", False, True) or
            _matches(p.get("AWS", []), "*", False))):
        return False
    if "Resource" in s and not _matches(s["Resource"], q["arn"], True):
        return False
    for op, block in (s.get("Condition") or {}).items():
        if not isinstance(block, dict):
            continue
        glob = op in ("ArnLike", "StringLike")
        if op not in ("ArnEquals", "ArnLike", "StringEquals", "StringLike"):
            continue
        for key, v in block.items():
            k = key.lower()
            if k == "aws:sourcearn" and not _matches(v, bucket_arn, glob):
                return False
            if k == "aws:sourceaccount" and not _matches(v, bucket_account, glob):
                return False
    return True


def admits_s3(q, bucket_arn, bucket_account):
    """What S3 checks when a notification to queue q is configured: the
    queue's policy lets s3.amazonaws.com send it the bucket's events and no
    Deny refuses them.  No policy: nothing admits S3."""
    try:
        doc = json.loads(q["attributes"].get("Policy") or "null")
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    allowed = False
    for s in _values(doc.get("Statement") or []):
        if not isinstance(s, dict) or not _s3_statement_applies(
                s, q, bucket_arn, bucket_account):
            continue
        if s.get("Effect") == "Deny":
            return False
        if s.get("Effect") == "Allow":
            allowed = True
    return allowed


def admit_s3_policy(q, bucket_arn, bucket_account):
    """The queue policy aws/shipgate-tools.yaml writes (the control API's
    set-up gives it to a queue it notifies that has none)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": q["arn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn},
                      "StringEquals": {"aws:SourceAccount": bucket_account}}}]})


def _queue_url(req, q):
    host = req.host if req is not None and req.host else "127.0.0.1"
    return "http://%s/%s/%s" % (host, q["account"], q["name"])


def _new_queue(acct, region, name, attrs):
    t = time.time()
    a = dict(DEFAULTS)
    a.update(attrs)
    return {"name": name, "account": acct, "region": region,
            "arn": _arn(region, acct, name), "attributes": a, "created": t,
            "modified": t, "messages": [], "purged_at": 0, "tags": {}}


def _validate_attrs(state, region, attrs, req):
    for k, v in attrs.items():
        if k not in SETTABLE:
            if k == "FifoQueue":
                raise err("InvalidAttributeName", "FIFO queues are not supported by "
                          "this fake endpoint.", req)
            raise err("InvalidAttributeName", "Unknown Attribute %s." % k, req)
        if k in RANGES:
            lo, hi = RANGES[k]
            try:
                n = int(v)
            except ValueError:
                n = None
            if n is None or n < lo or n > hi:
                raise err("InvalidParameterValue", "Invalid value for the parameter %s."
                          % k, req)
        if k == "RedrivePolicy" and v != "":
            try:
                rp = json.loads(v)
                tgt = rp["deadLetterTargetArn"]
                mrc = int(rp["maxReceiveCount"])
            except (ValueError, KeyError, TypeError):
                raise err("InvalidParameterValue", "Value %s for parameter RedrivePolicy "
                          "is invalid. Reason: Redrive policy is not a valid JSON map."
                          % v, req)
            if mrc < 1 or mrc > 1000:
                raise err("InvalidParameterValue", "Value %s for parameter RedrivePolicy "
                          "is invalid. Reason: Invalid value for maxReceiveCount: %d, "
                          "valid values are from 1 to 1000 both inclusive." % (v, mrc), req)
            if queue_by_arn(state, tgt) is None:
                raise err("InvalidParameterValue", "Value %s for parameter RedrivePolicy "
                          "is invalid. Reason: Dead letter target does not exist." % v, req)


def _get_queue(state, req, p):
    url = p.get("QueueUrl")
    path = urlsplit(url).path if url else req.path
    parts = [x for x in path.split("/") if x]
    if len(parts) != 2 or not re.match(r"^\d{12}$", parts[0]):
        if url is None:
            raise err("MissingParameter", "The request must contain the parameter "
                      "QueueUrl.", req)
        raise err("NonExistentQueue", "The specified queue does not exist.", req)
    acct, name = parts
    q = st(state).queues.get((acct, req.region, name))
    if q is None:
        raise err("NonExistentQueue", "The specified queue does not exist.", req)
    if acct != req.ident.account and not q["attributes"].get("Policy"):
        raise err("AccessDenied", "Access to the resource %s is denied." % url, req)
    return q


def md5_attrs(attrs):
    """MD5OfMessageAttributes as SQS computes it."""
    h = hashlib.md5()

    def put(b):
        h.update(struct.pack(">I", len(b)))
        h.update(b)
    for name in sorted(attrs):
        a = attrs[name]
        put(name.encode())
        put(a["DataType"].encode())
        if "StringValue" in a and a["StringValue"] is not None:
            h.update(b"\x01")
            put(a["StringValue"].encode())
        else:
            bv = a.get("BinaryValue") or b""
            if isinstance(bv, str):
                bv = base64.b64decode(bv)
            h.update(b"\x02")
            put(bv)
    return h.hexdigest()


def _norm_attrs(attrs, req):
    out = {}
    for name, a in (attrs or {}).items():
        dt = a.get("DataType")
        if not dt:
            raise err("InvalidParameterValue", "The message attribute '%s' must contain "
                      "non-empty message attribute type." % name, req)
        b = {"DataType": dt}
        if dt.startswith("Binary"):
            bv = a.get("BinaryValue")
            if isinstance(bv, str):
                try:
                    bv = base64.b64decode(bv, validate=True)
                except ValueError:
                    raise err("InvalidParameterValue", "The message attribute '%s' has "
                              "an invalid binary value." % name, req)
            b["BinaryValue"] = bv or b""
        else:
            if a.get("StringValue") is None:
                raise err("InvalidParameterValue", "The message attribute '%s' must "
                          "contain non-empty message attribute value for message "
                          "attribute type '%s'." % (name, dt), req)
            b["StringValue"] = a["StringValue"]
        out[name] = b
    if len(out) > 10:
        raise err("InvalidParameterValue", "Number of message attributes [%d] exceeds "
                  "the allowed maximum [10]." % len(out), req)
    return out


def _enqueue(state, q, body, attrs=None, delay=None, sender="AIDASHIPGATETEST0001"):
    now = time.time()
    if delay is None:
        delay = int(q["attributes"].get("DelaySeconds", "0"))
    m = {"id": str(uuid.uuid4()), "body": body,
         "md5": hashlib.md5(body.encode("utf-8")).hexdigest(),
         "attrs": attrs or {}, "sent": now, "visible_at": now + delay,
         "receive_count": 0, "first_receive": None, "gen": 0, "sender": sender}
    q["messages"].append(m)
    state.cond.notify_all()
    return m


def deliver(state, arn, body):
    """Internal send (S3 event notifications).  Returns False if no queue."""
    with state.lock:
        q = queue_by_arn(state, arn)
        if q is None:
            return False
        m = _enqueue(state, q, body, sender="AIDAS3NOTIFICATIONS01")
        state.record("enqueue", "sqs", "S3Event", arn, m["sent"])
        return True


def _check_body(body, req):
    if body is None:
        raise err("MissingParameter", "The request must contain the parameter "
                  "MessageBody.", req)
    if body == "":
        raise err("MissingParameter", "The request must contain the parameter "
                  "MessageBody.", req)
    if len(body.encode("utf-8")) > 262144:
        raise err("InvalidParameterValue", "One or more parameters are invalid. Reason: "
                  "Message must be shorter than 262144 bytes.", req)
    for ch in body:
        c = ord(ch)
        if not (c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD
                or 0x10000 <= c <= 0x10FFFF):
            raise err("InvalidParameterValue", "Invalid binary character '#x%X' was "
                      "found in the message body, the set of allowed characters is "
                      "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 "
                      "to #x10FFFF" % c, req)


def _msg_out(m, handle, attr_names, mattr_names, json_mode):
    out = {"MessageId": m["id"], "ReceiptHandle": handle, "MD5OfBody": m["md5"],
           "Body": m["body"]}
    names = set(attr_names or [])
    allattrs = {"SenderId": m["sender"], "SentTimestamp": str(int(m["sent"] * 1000)),
                "ApproximateReceiveCount": str(m["receive_count"]),
                "ApproximateFirstReceiveTimestamp": str(int(m["first_receive"] * 1000))}
    if names:
        sel = allattrs if "All" in names else \
            {k: v for k, v in allattrs.items() if k in names}
        if sel:
            out["Attributes"] = sel
    if mattr_names and m["attrs"]:
        sel = {}
        for k, v in m["attrs"].items():
            for pat in mattr_names:
                if pat in ("All", ".*") or pat == k or \
                        (pat.endswith(".*") and k.startswith(pat[:-1])):
                    sel[k] = v
        if sel:
            if json_mode:
                sel = {k: ({"DataType": v["DataType"],
                            "BinaryValue": base64.b64encode(v["BinaryValue"]).decode()}
                           if "BinaryValue" in v else dict(v)) for k, v in sel.items()}
            out["MessageAttributes"] = sel
            out["MD5OfMessageAttributes"] = md5_attrs(
                {k: m["attrs"][k] for k in sel})
    return out


def handle(state, req, op, p):
    with state.lock:
        return globals()["op_" + op](state, req, p)


def op_CreateQueue(state, req, p):
    name = p.get("QueueName")
    if not name:
        raise err("MissingParameter", "The request must contain the parameter QueueName.",
                  req)
    if name.endswith(".fifo"):
        raise err("InvalidParameterValue", "FIFO queues are not supported by this fake "
                  "endpoint.", req)
    if not NAME_RE.match(name):
        raise err("InvalidParameterValue", "Can only include alphanumeric characters, "
                  "hyphens, or underscores. 1 to 80 in length", req)
    attrs = p.get("Attributes") or {}
    _validate_attrs(state, req.region, attrs, req)
    key = (req.ident.account, req.region, name)
    q = st(state).queues.get(key)
    if q is not None:
        for k, v in attrs.items():
            if q["attributes"].get(k, DEFAULTS.get(k)) != v:
                raise err("QueueAlreadyExists", "A queue already exists with the same "
                          "name and a different value for attribute %s" % k, req)
        return {"QueueUrl": _queue_url(req, q)}
    q = _new_queue(req.ident.account, req.region, name, attrs)
    q["tags"] = dict(p.get("tags") or {})
    st(state).queues[key] = q
    return {"QueueUrl": _queue_url(req, q)}


def op_GetQueueUrl(state, req, p):
    name = p.get("QueueName")
    if not name:
        raise err("MissingParameter", "The request must contain the parameter QueueName.",
                  req)
    acct = p.get("QueueOwnerAWSAccountId") or req.ident.account
    q = st(state).queues.get((acct, req.region, name))
    if q is None:
        raise err("NonExistentQueue", "The specified queue does not exist.", req)
    if acct != req.ident.account and not q["attributes"].get("Policy"):
        raise err("NonExistentQueue", "The specified queue does not exist.", req)
    return {"QueueUrl": _queue_url(req, q)}


def op_ListQueues(state, req, p):
    prefix = p.get("QueueNamePrefix") or ""
    qs = sorted(n for (a, r, n) in st(state).queues
                if a == req.ident.account and r == req.region and n.startswith(prefix))
    urls = [_queue_url(req, st(state).queues[(req.ident.account, req.region, n)])
            for n in qs]
    mr = p.get("MaxResults")
    start = 0
    if p.get("NextToken"):
        try:
            start = int(base64.b64decode(p["NextToken"]).decode())
        except (ValueError, UnicodeDecodeError):
            raise err("InvalidParameterValue", "Invalid NextToken value.", req)
    out = {}
    if mr:
        page = urls[start:start + mr]
        if start + mr < len(urls):
            out["NextToken"] = base64.b64encode(str(start + mr).encode()).decode()
    else:
        page = urls[:1000]
    if page:
        out["QueueUrls"] = page
    return out


def op_DeleteQueue(state, req, p):
    q = _get_queue(state, req, p)
    del st(state).queues[(q["account"], q["region"], q["name"])]
    return {}


def op_PurgeQueue(state, req, p):
    q = _get_queue(state, req, p)
    if time.time() - q["purged_at"] < 60:
        raise err("PurgeQueueInProgress", "Only one PurgeQueue operation on %s is allowed "
                  "every 60 seconds." % q["name"], req)
    q["purged_at"] = time.time()
    q["messages"] = []
    return {}


def _attributes(q):
    now = time.time()
    a = dict(q["attributes"])
    a["QueueArn"] = q["arn"]
    a["CreatedTimestamp"] = str(int(q["created"]))
    a["LastModifiedTimestamp"] = str(int(q["modified"]))
    vis = sum(1 for m in q["messages"] if m["visible_at"] <= now and m["receive_count"] == 0
              or (m["visible_at"] <= now and m["receive_count"] > 0))
    inflight = sum(1 for m in q["messages"] if m["visible_at"] > now and m["receive_count"] > 0)
    delayed = sum(1 for m in q["messages"] if m["visible_at"] > now and m["receive_count"] == 0)
    a["ApproximateNumberOfMessages"] = str(vis)
    a["ApproximateNumberOfMessagesNotVisible"] = str(inflight)
    a["ApproximateNumberOfMessagesDelayed"] = str(delayed)
    if a.get("RedrivePolicy") == "":
        del a["RedrivePolicy"]
    return a


def op_GetQueueAttributes(state, req, p):
    q = _get_queue(state, req, p)
    names = p.get("AttributeNames") or []
    a = _attributes(q)
    if "All" in names:
        return {"Attributes": a}
    out = {}
    for n in names:
        if n not in a and n not in SETTABLE and n not in (
                "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp",
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"):
            raise err("InvalidAttributeName", "Unknown Attribute %s." % n, req)
        if n in a:
            out[n] = a[n]
    return {"Attributes": out} if out else {}


def op_SetQueueAttributes(state, req, p):
    q = _get_queue(state, req, p)
    attrs = p.get("Attributes") or {}
    _validate_attrs(state, q["region"], attrs, req)
    q["attributes"].update(attrs)
    q["modified"] = time.time()
    return {}


def op_SendMessage(state, req, p):
    q = _get_queue(state, req, p)
    body = p.get("MessageBody")
    _check_body(body, req)
    attrs = _norm_attrs(p.get("MessageAttributes"), req)
    d = p.get("DelaySeconds")
    if d is not None and (d < 0 or d > 900):
        raise err("InvalidParameterValue", "Value %s for parameter DelaySeconds is "
                  "invalid. Reason: DelaySeconds must be >= 0 and <= 900." % d, req)
    m = _enqueue(state, q, body, attrs, d, sender=req.ident.user_id.split(":")[0])
    out = {"MessageId": m["id"], "MD5OfMessageBody": m["md5"]}
    if attrs:
        out["MD5OfMessageAttributes"] = md5_attrs(attrs)
    return out


def _batch_check(entries, req):
    if not entries:
        raise err("EmptyBatchRequest", "There should be at least one "
                  "SendMessageBatchRequestEntry in the request.", req)
    if len(entries) > 10:
        raise err("TooManyEntriesInBatchRequest", "Maximum number of entries per request "
                  "are 10. You have sent %d." % len(entries), req)
    ids = [e.get("Id") for e in entries]
    if len(set(ids)) != len(ids):
        raise err("BatchEntryIdsNotDistinct", "Id %s repeated." % ids[0], req)
    for i in ids:
        if not i or not re.match(r"^[A-Za-z0-9_-]{1,80}$", i):
            raise err("InvalidBatchEntryId", "A batch entry id can only contain "
                      "alphanumeric characters, hyphens and underscores. It can be at "
                      "most 80 letters long.", req)


def op_SendMessageBatch(state, req, p):
    q = _get_queue(state, req, p)
    entries = p.get("Entries") or []
    _batch_check(entries, req)
    ok, failed = [], []
    for e in entries:
        try:
            _check_body(e.get("MessageBody"), req)
            attrs = _norm_attrs(e.get("MessageAttributes"), req)
        except AwsError as x:
            failed.append({"Id": e["Id"], "SenderFault": True,
                           "Code": x.query_code or x.code, "Message": x.message})
            continue
        m = _enqueue(state, q, e["MessageBody"], attrs, e.get("DelaySeconds"),
                     sender=req.ident.user_id.split(":")[0])
        r = {"Id": e["Id"], "MessageId": m["id"], "MD5OfMessageBody": m["md5"]}
        if attrs:
            r["MD5OfMessageAttributes"] = md5_attrs(attrs)
        ok.append(r)
    return {"Successful": ok, "Failed": failed}


def _redrive(state, q, m):
    """True if `m` moved to the dead-letter queue instead of being received."""
    rp = q["attributes"].get("RedrivePolicy")
    if not rp:
        return False
    try:
        rp = json.loads(rp)
        mrc = int(rp["maxReceiveCount"])
    except (ValueError, KeyError, TypeError):
        return False
    if m["receive_count"] < mrc:
        return False
    dlq = queue_by_arn(state, rp["deadLetterTargetArn"])
    q["messages"].remove(m)
    if dlq is not None:
        m2 = dict(m)
        m2["visible_at"] = time.time()
        m2["gen"] += 1
        dlq["messages"].append(m2)
    return True


def op_ReceiveMessage(state, req, p):
    q = _get_queue(state, req, p)
    n = p.get("MaxNumberOfMessages", 1)
    if n < 1 or n > 10:
        raise err("InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is "
                  "invalid. Reason: Must be between 1 and 10, if provided." % n, req)
    wait = p.get("WaitTimeSeconds")
    if wait is None:
        wait = int(q["attributes"].get("ReceiveMessageWaitTimeSeconds", "0"))
    if wait < 0 or wait > 20:
        raise err("InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is "
                  "invalid. Reason: Must be >= 0 and <= 20, if provided." % wait, req)
    vt = p.get("VisibilityTimeout")
    if vt is None:
        vt = int(q["attributes"]["VisibilityTimeout"])
    if vt < 0 or vt > 43200:
        raise err("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is "
                  "invalid. Reason: Must be >= 0 and <= 43200, if provided." % vt, req)
    attr_names = list(p.get("AttributeNames") or []) + \
        list(p.get("MessageSystemAttributeNames") or [])
    mattr_names = p.get("MessageAttributeNames") or []
    json_mode = core_is_json(req)
    deadline = time.time() + wait
    key = (q["account"], q["region"], q["name"])
    while True:
        now = time.time()
        got = []
        for m in list(q["messages"]):
            if len(got) >= n:
                break
            if m["visible_at"] > now:
                continue
            if _redrive(state, q, m):
                continue
            m["receive_count"] += 1
            if m["first_receive"] is None:
                m["first_receive"] = now
            m["visible_at"] = now + vt
            m["gen"] += 1
            h = base64.b64encode(("%s#%s#%d#%s" % (q["name"], m["id"], m["gen"],
                                                   rand_alnum(24))).encode()).decode()
            st(state).handles[h] = (key, m["id"], m["gen"])
            got.append(_msg_out(m, h, attr_names, mattr_names, json_mode))
        if got:
            return {"Messages": got}
        remaining = deadline - time.time()
        if remaining <= 0:
            return {}
        nxt = min([m["visible_at"] for m in q["messages"]] + [deadline])
        state.cond.wait(max(0.01, min(remaining, nxt - time.time(), 0.5)))
        if st(state).queues.get(key) is not q:
            raise err("NonExistentQueue", "The specified queue does not exist.", req)


def _resolve_handle(state, req, q, h):
    ent = st(state).handles.get(h or "")
    if ent is None or ent[0] != (q["account"], q["region"], q["name"]):
        raise err("ReceiptHandleIsInvalid", 'The input receipt handle "%s" is not a valid '
                  'receipt handle.' % h, req)
    for m in q["messages"]:
        if m["id"] == ent[1]:
            return m, ent[2]
    return None, ent[2]


def op_DeleteMessage(state, req, p):
    q = _get_queue(state, req, p)
    m, gen = _resolve_handle(state, req, q, p.get("ReceiptHandle"))
    if m is not None and m["gen"] == gen:
        q["messages"].remove(m)
    return {}


def op_DeleteMessageBatch(state, req, p):
    q = _get_queue(state, req, p)
    entries = p.get("Entries") or []
    _batch_check(entries, req)
    ok, failed = [], []
    for e in entries:
        try:
            m, gen = _resolve_handle(state, req, q, e.get("ReceiptHandle"))
        except AwsError as x:
            failed.append({"Id": e["Id"], "SenderFault": True,
                           "Code": x.query_code or x.code, "Message": x.message})
            continue
        if m is not None and m["gen"] == gen:
            q["messages"].remove(m)
        ok.append({"Id": e["Id"]})
    return {"Successful": ok, "Failed": failed}


def op_ChangeMessageVisibility(state, req, p):
    q = _get_queue(state, req, p)
    vt = p.get("VisibilityTimeout")
    if vt is None:
        raise err("MissingParameter", "The request must contain the parameter "
                  "VisibilityTimeout.", req)
    if vt < 0 or vt > 43200:
        raise err("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is "
                  "invalid. Reason: Must be >= 0 and <= 43200, if provided." % vt, req)
    m, gen = _resolve_handle(state, req, q, p.get("ReceiptHandle"))
    now = time.time()
    if m is None or m["gen"] != gen or m["visible_at"] <= now:
        raise err("MessageNotInflight", "Message does not exist or is not available for "
                  "visibility timeout change.", req)
    m["visible_at"] = now + vt
    if vt == 0:
        state.cond.notify_all()
    return {}


def setup_queue(state, account, region, name, attrs=None):
    with state.lock:
        key = (account, region, name)
        q = st(state).queues.get(key)
        if q is None:
            q = _new_queue(account, region, name, attrs or {})
            st(state).queues[key] = q
        return q


def dump(state):
    out = {}
    now = time.time()
    for (a, r, n), q in st(state).queues.items():
        out["%s/%s/%s" % (a, r, n)] = {
            "arn": q["arn"], "attributes": q["attributes"],
            "messages": [{"id": m["id"], "body": m["body"],
                          "receive_count": m["receive_count"],
                          "visible": m["visible_at"] <= now} for m in q["messages"]]}
    return out
