"""Fault injection: rules set through POST /_fake/faults.

A rule: {"service": "sqs" | "*", "operation": "ReceiveMessage" | "*",
         "mode": "throttle" | "error500" | "error503" | "error" | "delay" |
                 "drop" | "truncate" | "malformed",
         "count": N (next N matching calls; default 1) | "rate": 0.0-1.0,
         "delay": seconds (mode delay; or before any other mode),
         "after": true (drop: run the operation, then drop the reply),
         "status": int, "code": str, "message": str (mode error)}
"""

import random
import time

from core import AwsError

THROTTLE = {
    "s3": ("SlowDown", 503, "Please reduce your request rate."),
    "query": ("Throttling", 400, "Rate exceeded"),
    "sqsquery": ("RequestThrottled", 400, "Rate exceeded"),
    "sqsjson": ("com.amazonaws.sqs#RequestThrottled", 400, "Rate exceeded"),
    "json": ("ThrottlingException", 400, "Rate exceeded"),
    "restjson": ("TooManyRequestsException", 429, "Too Many Requests"),
}
E500 = {
    "s3": ("InternalError", "We encountered an internal error. Please try again."),
    "query": ("InternalFailure", "An internal error occurred."),
    "sqsquery": ("InternalFailure", "An internal error occurred."),
    "sqsjson": ("com.amazonaws.sqs#InternalFailure", "An internal error occurred."),
    "json": ("ServerException", "An internal error occurred."),
    "restjson": ("InternalFailure", "An internal error occurred."),
}
E503 = {
    "s3": ("ServiceUnavailable", "Please reduce your request rate."),
    "query": ("ServiceUnavailable", "Service is unavailable."),
    "sqsquery": ("ServiceUnavailable", "Service is unavailable."),
    "sqsjson": ("com.amazonaws.sqs#ServiceUnavailable", "Service is unavailable."),
    "json": ("ServiceUnavailableException", "Service is unavailable."),
    "restjson": ("ServiceUnavailableException", "Service is unavailable."),
}
MODES = ("throttle", "error500", "error503", "error", "delay", "drop",
         "truncate", "malformed")
_rng = random.Random()
_next_id = [0]


def add(state, rule):
    mode = rule.get("mode")
    if mode not in MODES:
        raise ValueError("mode must be one of %s" % ", ".join(MODES))
    r = {"service": rule.get("service", "*"), "operation": rule.get("operation", "*"),
         "mode": mode, "delay": float(rule.get("delay", 0)),
         "after": bool(rule.get("after", False)), "status": rule.get("status"),
         "code": rule.get("code"), "message": rule.get("message"),
         "fired": 0}
    if "rate" in rule:
        r["rate"] = float(rule["rate"])
        r["count"] = rule.get("count")
    else:
        r["count"] = int(rule.get("count", 1))
    if mode == "delay" and r["delay"] <= 0:
        raise ValueError("mode delay needs delay > 0")
    with state.lock:
        _next_id[0] += 1
        r["id"] = _next_id[0]
        state.faults.append(r)
    return dict(r)


def pick(state, service, op):
    with state.lock:
        for r in list(state.faults):
            if r["service"] not in ("*", service) or r["operation"] not in ("*", op):
                continue
            if "rate" in r and _rng.random() >= r["rate"]:
                continue
            r["fired"] += 1
            if r.get("count") is not None:
                r["count"] -= 1
                if r["count"] <= 0:
                    state.faults.remove(r)
            return dict(r)
    return None


def before(fault):
    if fault["delay"] > 0:
        time.sleep(fault["delay"])


def error_for(fault, family):
    m = fault["mode"]
    if m == "throttle":
        code, status, msg = THROTTLE[family]
        e = AwsError(code, msg, fault.get("status") or status)
    elif m == "error500":
        code, msg = E500[family]
        e = AwsError(code, msg, fault.get("status") or 500, sender=False)
    elif m == "error503":
        code, msg = E503[family]
        e = AwsError(code, msg, fault.get("status") or 503, sender=False)
    elif m == "error":
        e = AwsError(fault.get("code") or "InternalFailure",
                     fault.get("message") or "Injected failure",
                     int(fault.get("status") or 500),
                     sender=int(fault.get("status") or 500) < 500)
    else:
        return None
    if family == "sqsjson":
        e.query_code = e.code.split("#")[-1]
    return e


def malformed_body(resp):
    ct = ""
    for k, v in resp.headers:
        if k.lower() == "content-type":
            ct = v
    if "json" in ct:
        return b'{"broken": [1, 2, '
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<Broken><Unclosed>'
