"""SES v2 (REST-JSON): SendEmail with Simple or Raw content, GetAccount.
Sent messages are kept for tests (GET /_fake/mail)."""

import base64
import binascii
import email
import email.policy
import json
import time

import core
from core import AwsError, Response, rand_hex

OPERATIONS = set()


class SesState(object):
    def __init__(self):
        self.sent = []


def st(state):
    return state.svc("ses", SesState)


def identify(req):
    if req.path == "/v2/email/outbound-emails" and req.method == "POST":
        return "SendEmail"
    if req.path == "/v2/email/account" and req.method == "GET":
        return "GetAccount"
    return "Unknown"


def _bad(msg):
    return AwsError("BadRequestException", msg, 400)


def handle(state, req, op, params):
    if op == "Unknown":
        raise AwsError("NotFoundException", "Resource not found: %s %s" % (
            req.method, req.path), 404)
    if op == "GetAccount":
        return _json(req, {"DedicatedIpAutoWarmupEnabled": False,
                           "EnforcementStatus": "HEALTHY",
                           "ProductionAccessEnabled": True,
                           "SendQuota": {"Max24HourSend": 50000.0,
                                         "MaxSendRate": 14.0,
                                         "SentLast24Hours": float(len(st(state).sent))},
                           "SendingEnabled": True})
    try:
        p = json.loads(req.body.decode("utf-8")) if req.body else {}
    except (ValueError, UnicodeDecodeError):
        raise AwsError("BadRequestException", "Request body is not valid JSON", 400)
    if not isinstance(p, dict):
        raise _bad("Request body is not a JSON object")
    try:
        core.json_validate(core.service_model("sesv2").operation_model(
            "SendEmail").input_shape, p)
    except core.ShapeError as e:
        raise _bad(str(e))
    content = p.get("Content")
    if not content:
        raise _bad("Missing required field Content")
    dest = p.get("Destination") or {}
    to = list(dest.get("ToAddresses") or [])
    cc = list(dest.get("CcAddresses") or [])
    bcc = list(dest.get("BccAddresses") or [])
    sender = p.get("FromEmailAddress")
    msg = {"account": req.ident.account, "region": req.region, "time": time.time(),
           "reply_to": list(p.get("ReplyToAddresses") or []),
           "configuration_set": p.get("ConfigurationSetName"),
           "tags": p.get("EmailTags") or []}
    if "Simple" in content:
        s = content["Simple"]
        if not sender:
            raise _bad("Missing required field FromEmailAddress")
        if not (to or cc or bcc):
            raise _bad("Missing required field Destination")
        subj = (s.get("Subject") or {}).get("Data")
        if subj is None:
            raise _bad("Missing required field Subject")
        body = s.get("Body") or {}
        text = (body.get("Text") or {}).get("Data")
        html = (body.get("Html") or {}).get("Data")
        if text is None and html is None:
            raise _bad("Missing required field Body")
        msg.update({"kind": "simple", "from": sender, "to": to, "cc": cc, "bcc": bcc,
                    "subject": subj, "text": text, "html": html, "raw": None,
                    "headers": s.get("Headers") or []})
    elif "Raw" in content:
        data = (content["Raw"] or {}).get("Data")
        try:
            raw = base64.b64decode(data or "", validate=True)
        except (binascii.Error, ValueError):
            raise _bad("Invalid base64 in Content.Raw.Data")
        if not raw:
            raise _bad("Missing required field Data")
        if len(raw) > 40 * 1024 * 1024:
            raise AwsError("MessageRejected", "Message length is more than 40 MB", 400)
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if not sender:
            sender = m.get("From")
        if not sender:
            raise _bad("Missing required field FromEmailAddress")
        if not (to or cc or bcc):
            to = [str(a) for a in (m.get_all("To") or [])]
            cc = [str(a) for a in (m.get_all("Cc") or [])]
            bcc = [str(a) for a in (m.get_all("Bcc") or [])]
        if not (to or cc or bcc):
            raise _bad("Missing required field Destination")
        text = html = None
        for part in m.walk():
            if part.get_content_maintype() == "multipart":
                continue
            ct = part.get_content_type()
            if ct == "text/plain" and text is None:
                text = part.get_content()
            elif ct == "text/html" and html is None:
                html = part.get_content()
        msg.update({"kind": "raw", "from": sender, "to": to, "cc": cc, "bcc": bcc,
                    "subject": m.get("Subject"), "text": text, "html": html,
                    "raw": raw.decode("utf-8", "replace"), "headers": []})
    elif "Template" in content:
        raise _bad("Template content is not supported by this fake endpoint")
    else:
        raise _bad("Content must contain Simple, Raw or Template")
    if len(to) + len(cc) + len(bcc) > 50:
        raise AwsError("MessageRejected", "Recipient count exceeds 50.", 400)
    mid = "0102%s-%s-%s-%s-%s-000000" % (rand_hex(12), rand_hex(8), rand_hex(4),
                                         rand_hex(4), rand_hex(12))
    msg["message_id"] = mid
    with state.lock:
        st(state).sent.append(msg)
    return _json(req, {"MessageId": mid})


def _json(req, obj):
    return Response(200, json.dumps(obj), [("x-amzn-RequestId", req.request_id)],
                    content_type="application/json")


def sent(state):
    with state.lock:
        return list(st(state).sent)


def clear(state):
    with state.lock:
        st(state).sent = []
