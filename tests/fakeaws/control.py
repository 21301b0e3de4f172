"""The unsigned JSON control API under /_fake/ (see README.md)."""

import json

import cfn
import ecr
import ecs
import faults
import throttle
import s3
import ses
import sqs
import sts
from core import Response


def _json(obj, status=200):
    return Response(status, json.dumps(obj, indent=1, sort_keys=True, default=str),
                    content_type="application/json")


def dump(state):
    with state.lock:
        return {"config": state.config, "step_delay": state.step_delay,
                "calls": state.calls, "rejected": state.rejected,
                "throttle": state.buckets.describe(), "faults": state.faults,
                "sts": sts.dump(state), "s3": s3.dump(state), "sqs": sqs.dump(state),
                "cloudformation": cfn.dump(state), "ecs": ecs.dump(state),
                "ecr": ecr.dump(state), "ses": ses.sent(state)}


def setup(state, body):
    """Create resources in one account and region without signing."""
    acct = body.get("account")
    region = body.get("region") or "eu-west-1"
    if not acct or len(acct) != 12 or not acct.isdigit():
        raise ValueError("account: 12 digits required")
    out = {"buckets": [], "queues": [], "repositories": []}
    for b in body.get("buckets") or []:
        bk = s3.setup_bucket(state, acct, region, b["name"], b.get("versioning", False))
        out["buckets"].append(bk["name"])
    for q in body.get("queues") or []:
        qq = sqs.setup_queue(state, acct, region, q["name"], q.get("attributes"))
        out["queues"].append({"arn": qq["arn"],
                              "url": "http://127.0.0.1:%d/%s/%s" % (
                                  getattr(state, "endpoint_port", 0), acct, q["name"])})
    for n in body.get("notifications") or []:
        with state.lock:
            b = s3.st(state).buckets[n["bucket"]]
            arn = "arn:aws:sqs:%s:%s:%s" % (region, n.get("queue_account", acct),
                                            n["queue"])
            q = sqs.queue_by_arn(state, arn)
            if q is None:
                raise ValueError("queue %s does not exist" % arn)
            # S3 could not be configured so without a queue policy
            # admitting it: a queue that has none gets the usual one.
            if not q["attributes"].get("Policy"):
                q["attributes"]["Policy"] = sqs.admit_s3_policy(
                    q, "arn:aws:s3:::" + n["bucket"], b["owner"])
            rules = []
            if n.get("prefix"):
                rules.append({"Name": "Prefix", "Value": n["prefix"]})
            if n.get("suffix"):
                rules.append({"Name": "Suffix", "Value": n["suffix"]})
            b["notification"].append({"Id": n.get("id") or "shipgate-drops",
                                      "Queue": arn,
                                      "Events": n.get("events") or ["s3:ObjectCreated:*"],
                                      "Filter": rules})
    for r in body.get("repositories") or []:
        rr = ecr.setup_repo(state, acct, region, r["name"])
        if r.get("layers"):
            ecr.setup_layers(state, acct, region, r["name"], r["layers"])
        out["repositories"].append(rr["repositoryUri"])
    for obj in body.get("objects") or []:
        with state.lock:
            b = s3.st(state).buckets[obj["bucket"]]
            s3._store(b, obj["key"], obj.get("body", "").encode("utf-8"),
                      obj.get("content_type"), {})
    return out


def handle(state, req):
    path = req.path.rstrip("/")
    m = req.method
    try:
        body = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return _json({"error": "body is not JSON"}, 400)
    if not isinstance(body, dict):
        return _json({"error": "body must be a JSON object"}, 400)
    try:
        if path == "/_fake/health":
            return _json({"ok": True})
        if path == "/_fake/reset" and m == "POST":
            delay = state.step_delay
            state.reset()
            state.step_delay = delay
            return _json({"ok": True})
        if path == "/_fake/state":
            return _json(dump(state))
        if path == "/_fake/calls":
            with state.lock:
                if m == "DELETE":
                    state.calls = {}
                    return _json({"ok": True})
                return _json(state.calls)
        if path == "/_fake/rejected":
            with state.lock:
                if m == "DELETE":
                    state.rejected = {"auth": {}, "throttled": {}}
                    return _json({"ok": True})
                return _json(state.rejected)
        if path == "/_fake/throttle":
            with state.lock:
                if m == "POST":
                    rates = body.get("rates")
                    if rates is not None and not isinstance(rates, dict):
                        raise ValueError("rates: an object of FAMILY: "
                                         "{rate, burst} or null")
                    if body.get("defaults"):
                        state.buckets.configure(throttle.default_rates())
                    state.buckets.configure(rates, body.get("enabled"))
                return _json(state.buckets.describe())
        if path == "/_fake/timeline":
            with state.lock:
                if m == "POST":
                    state.timeline = []
                    return _json({"ok": True})
                events = state.timeline or []
                if m == "DELETE":
                    state.timeline = None
                    return _json({"ok": True})
                return Response(200, json.dumps({"events": [
                    {"t": e[0], "kind": e[1], "service": e[2], "operation": e[3],
                     "subject": e[4], "took": e[5]} for e in events]}),
                    content_type="application/json")
        if path == "/_fake/mail":
            if m == "DELETE":
                ses.clear(state)
                return _json({"ok": True})
            return _json({"messages": ses.sent(state)})
        if path == "/_fake/faults":
            if m == "POST":
                return _json(faults.add(state, body))
            if m == "DELETE":
                with state.lock:
                    state.faults = []
                return _json({"ok": True})
            with state.lock:
                return _json({"faults": state.faults})
        if path == "/_fake/config" and m == "POST":
            with state.lock:
                if "step_delay" in body:
                    state.step_delay = float(body["step_delay"])
                    state.retime(state.step_delay)
                if "page_size" in body:
                    state.config["page_size"].update(body["page_size"])
                if "regions" in body:
                    state.config["regions"] = body["regions"]
                if "ecs_rollout_steps" in body:
                    state.config["ecs_rollout_steps"] = int(body["ecs_rollout_steps"])
                return _json(dict(state.config, step_delay=state.step_delay))
        if path == "/_fake/sts/expire" and m == "POST":
            return _json(sts.control_expire(state, body))
        if path == "/_fake/sts/role" and m == "POST":
            return _json(sts.control_role(state, body))
        if path == "/_fake/cfn/fail-resource" and m == "POST":
            return _json(cfn.control_fail_resource(state, body))
        if path == "/_fake/cfn/fail-rollback" and m == "POST":
            return _json(cfn.control_fail_rollback(state, body))
        if path == "/_fake/cfn/fail-delete" and m == "POST":
            return _json(cfn.control_fail_delete(state, body))
        if path == "/_fake/cfn/fail-delete-change-set" and m == "POST":
            return _json(cfn.control_fail_change_set_delete(state, body))
        if path == "/_fake/cfn/update-stack" and m == "POST":
            return _json(cfn.control_update_stack(state, body))
        if path == "/_fake/cfn/drift" and m == "POST":
            return _json(cfn.control_drift(state, body))
        if path == "/_fake/cfn/drift-detection" and m == "POST":
            return _json(cfn.control_drift_detection(state, body))
        if path == "/_fake/cfn/no-changes" and m == "POST":
            return _json(cfn.control_no_changes(state, body))
        if path == "/_fake/cfn/executions":
            return _json(cfn.executions(state))
        if path == "/_fake/ecs/fail-deployment" and m == "POST":
            return _json(ecs.control_fail(state, body))
        if path == "/_fake/ecr/layers" and m == "POST":
            return _json({"layers": ecr.setup_layers(
                state, body["account"], body.get("region", "eu-west-1"),
                body["repository"], body.get("layers") or [])})
        if path == "/_fake/cfn/touch-stack" and m == "POST":
            # An update made outside shipgate (the console, another
            # tool): the stack's LastUpdatedTime moves to now.
            import time as _time
            with state.lock:
                hit = [x for x in cfn.st(state).stacks.values()
                       if x["name"] == body["stack"] and x["status"] != "DELETE_COMPLETE"]
                for x in hit:
                    x["updated"] = _time.time()
            if not hit:
                raise ValueError("no stack %s" % body["stack"])
            return _json({"touched": len(hit)})
        if path == "/_fake/ecr/tag" and m == "POST":
            return _json(ecr.setup_tag(
                state, body["account"], body.get("region", "eu-west-1"),
                body["repository"], body["tag"], body.get("seed"),
                bool(body.get("if_missing"))))
        if path == "/_fake/setup" and m == "POST":
            return _json(setup(state, body))
    except (ValueError, KeyError, TypeError) as e:
        return _json({"error": "bad request", "detail": str(e)}, 400)
    return _json({"error": "not found", "detail": "%s %s" % (m, req.path)}, 404)
