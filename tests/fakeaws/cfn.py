"""CloudFormation (query protocol): stacks and change sets on a time-based
state machine.  Every transition happens `state.step_delay` seconds after
the previous one."""

import base64
import copy
import json
import re
import time
import uuid
from urllib.parse import urlsplit, unquote

import cfntemplate as T
import ecs
import s3
from core import AwsError, rand_alnum

OPERATIONS = {"CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet",
              "DeleteChangeSet", "ListChangeSets", "DescribeStacks",
              "DescribeStackEvents", "GetTemplate", "DescribeStackResources",
              "DeleteStack", "ValidateTemplate", "CancelUpdateStack",
              "ContinueUpdateRollback", "DetectStackDrift",
              "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"}
NO_CHANGES = ("The submitted information didn't contain changes. Submit different "
              "information to create a change set.")
# What some CloudFormation front ends answer at once, instead of NO_CHANGES.
NO_UPDATES = "No updates are to be performed."
NO_CHANGES_ANSWERS = ("aws", "failed", "error")
NAME_RE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
IN_PROGRESS = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS",
               "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
               "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_IN_PROGRESS")
BODY_MAX = 51200
URL_MAX = 1000000


class CfnState(object):
    def __init__(self):
        self.stacks = {}          # stack id -> stack
        self.names = {}           # (acct, region, name) -> live stack id
        self.change_sets = {}     # change set id -> change set
        self.fail_resources = []  # injected failures
        # Injected failures of a rollback: the resource cannot be put
        # back, the stack ends UPDATE_ROLLBACK_FAILED.  POST
        # /_fake/cfn/fail-rollback.
        self.fail_rollbacks = []
        # Injected failures of DeleteStack: the resource cannot be
        # deleted, the stack ends DELETE_FAILED.  POST
        # /_fake/cfn/fail-delete.
        self.fail_deletes = []
        # DeleteChangeSet runs DELETE_PENDING -> DELETE_IN_PROGRESS ->
        # DELETE_COMPLETE, as on AWS; this many of the next deletions end
        # DELETE_FAILED instead.  POST /_fake/cfn/fail-delete-change-set.
        self.fail_change_set_deletes = 0
        self.executions = {}      # change set id -> {"calls", "executions", ...}
        # An update that changes nothing: "aws" (a FAILED change set when
        # template, parameters, outputs and tags are the same), "failed"
        # (the same, tags not compared), "error" (CreateChangeSet refused
        # with NO_UPDATES, tags not compared).  POST /_fake/cfn/no-changes.
        self.no_changes = "aws"
        # Drift detections by id (DetectStackDrift), and how the next ones
        # behave: "normal" (DETECTION_COMPLETE after `polls` status
        # reads), "never" (DETECTION_IN_PROGRESS for ever) or "fail"
        # (DETECTION_FAILED).  POST /_fake/cfn/drift-detection.
        self.detections = {}
        self.detection_mode = "normal"
        self.detection_polls = 2


def st(state):
    return state.svc("cloudformation", CfnState)


def verr(msg):
    return AwsError("ValidationError", msg, 400)


def handle(state, req, op, p):
    with state.lock:
        return globals()["op_" + op](state, req, p)


# ---------------------------------------------------------------- look-ups

def _stack(state, req, name_or_id, must=True, live_only=False):
    s = st(state)
    if name_or_id and name_or_id.startswith("arn:"):
        stk = s.stacks.get(name_or_id)
        if stk is not None and (stk["account"] != req.ident.account or
                                stk["region"] != req.region):
            stk = None
    else:
        sid = s.names.get((req.ident.account, req.region, name_or_id))
        stk = s.stacks.get(sid) if sid else None
    if stk is None and must:
        raise verr("Stack with id %s does not exist" % name_or_id)
    return stk


def _change_set(state, req, p):
    name = p.get("ChangeSetName")
    s = st(state)
    if name and name.startswith("arn:"):
        cs = s.change_sets.get(name)
        if cs is not None and (cs["account"] != req.ident.account or
                               cs["region"] != req.region):
            cs = None
    else:
        if not p.get("StackName"):
            raise verr("StackName must be specified if ChangeSetName is not specified "
                       "as an ARN.")
        stk = _stack(state, req, p["StackName"], must=False)
        cs = None
        if stk is not None:
            for cid in stk["change_sets"]:
                c = s.change_sets.get(cid)
                if c is not None and c["name"] == name:
                    cs = c
    if cs is None or cs.get("deleted"):
        raise AwsError("ChangeSetNotFound", "ChangeSet [%s] does not exist" % name, 404)
    return cs


def _page(state, req, op, items, token, default=100):
    n = state.page_size("cloudformation:" + op, default)
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token).decode().split(":")[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise verr("Invalid NextToken")
    page = items[start:start + n]
    nxt = None
    if start + n < len(items):
        nxt = base64.b64encode(("%s:%d" % (op, start + n)).encode()).decode()
    return page, nxt


# ---------------------------------------------------------------- templates, parameters

def _template_text(state, req, p, stack):
    body, url = p.get("TemplateBody"), p.get("TemplateURL")
    prev = p.get("UsePreviousTemplate")
    if sum(1 for x in (body, url, prev) if x) != 1:
        if not (body or url or prev):
            raise verr("Either Template URL or Template Body must be specified.")
        raise verr("Specify exactly one of TemplateBody, TemplateURL or "
                   "UsePreviousTemplate.")
    if prev:
        if stack is None or stack["doc"] is None:
            raise verr("UsePreviousTemplate is not supported for a stack that does not "
                       "exist yet.")
        return stack["template"]
    if body is not None:
        if len(body.encode("utf-8")) > BODY_MAX:
            raise verr("1 validation error detected: Value '%s...' at 'templateBody' "
                       "failed to satisfy constraint: Member must have length less than "
                       "or equal to %d" % (body[:20], BODY_MAX))
        return body
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise verr("TemplateURL must be a supported URL.")
    host = parts.hostname or ""
    m = s3.VHOST_RE.match(host)
    if m and not host.startswith("s3."):
        bucket, key = m.group(1), unquote(parts.path[1:])
    else:
        bp = parts.path[1:].split("/", 1)
        if len(bp) != 2 or not bp[1]:
            raise verr("TemplateURL must be a supported URL.")
        bucket, key = unquote(bp[0]), unquote(bp[1])
    data = s3.read_object(state, bucket, key)
    if data is None:
        raise verr("S3 error: The specified key does not exist.")
    if len(data) > URL_MAX:
        raise verr("Template may not exceed %d bytes in size." % URL_MAX)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise verr("Template format error: unsupported encoding")


def _param_values(doc, given, prev):
    tparams = doc.get("Parameters") or {}
    gmap = {}
    for g in given or []:
        gmap[g.get("ParameterKey")] = g
    unknown = [k for k in gmap if k not in tparams]
    if unknown:
        raise verr("Parameters: [%s] do not exist in the template" % ", ".join(unknown))
    values, missing = {}, []
    for name, spec in tparams.items():
        g = gmap.get(name)
        if g is not None and g.get("UsePreviousValue"):
            if prev is None or name not in prev:
                raise verr("Invalid input for parameter key %s. Cannot specify "
                           "usePreviousValue as true for a parameter key not in the "
                           "previous template" % name)
            if g.get("ParameterValue") is not None:
                raise verr("Invalid input for parameter key %s. Cannot specify "
                           "usePreviousValue as true and non empty value for a "
                           "parameter" % name)
            values[name] = prev[name]
        elif g is not None and g.get("ParameterValue") is not None:
            values[name] = g["ParameterValue"]
        elif "Default" in spec:
            d = spec["Default"]
            values[name] = ",".join(d) if isinstance(d, list) else d
        else:
            missing.append(name)
    if missing:
        raise verr("Parameters: [%s] must have values" % ", ".join(missing))
    for name, spec in tparams.items():
        v = values[name]
        av = spec.get("AllowedValues")
        if av is not None and v not in av:
            raise verr("Parameter '%s' must be one of AllowedValues" % name)
        pat = spec.get("AllowedPattern")
        if pat and not re.fullmatch(pat, v):
            raise verr("Parameter '%s' must match pattern %s" % (name, pat))
        if spec.get("Type") == "Number":
            try:
                float(v)
            except ValueError:
                raise verr("Parameter '%s' must be a number." % name)
    return values


def _ctx(state, stk_name, stk_id, acct, region, doc, values, resources=None):
    tparams = doc.get("Parameters") or {}
    pv = {}
    for k, v in values.items():
        t = tparams.get(k, {}).get("Type", "String")
        pv[k] = v.split(",") if (t.startswith("List<") or t == "CommaDelimitedList" or
                                 t.startswith("AWS::SSM::Parameter::Value<List")) else v
    pseudo = {"AWS::Region": region, "AWS::AccountId": acct, "AWS::StackName": stk_name,
              "AWS::StackId": stk_id, "AWS::Partition": "aws",
              "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": []}
    res = resources if resources is not None else {}

    def ref(name):
        r = res.get(name)
        return r["physical"] if r else "%s-%s" % (stk_name, name)

    def att(name, attr):
        r = res.get(name)
        phys = r["physical"] if r else "%s-%s" % (stk_name, name)
        t = doc["Resources"].get(name, {}).get("Type", "")
        if r and attr in r.get("attrs", {}):
            return r["attrs"][attr]
        if attr == "Arn":
            return phys if phys.startswith("arn:") else "arn:aws:%s:%s:%s:%s" % (
                t.split("::")[1].lower() if "::" in t else "x", region, acct, phys)
        return "%s.%s" % (phys, attr)

    def imp(name):
        for s in st(state).stacks.values():
            if s["account"] == acct and s["region"] == region and not s.get("deleted"):
                for o in s.get("outputs") or []:
                    if o.get("ExportName") == name:
                        return o["OutputValue"]
        return "imported:%s" % name
    return T.Context(doc, pv, pseudo, ref, att, imp)


def _public_params(doc, values):
    out = []
    tparams = doc.get("Parameters") or {}
    for k in tparams:
        v = values.get(k)
        if tparams[k].get("NoEcho") in ("true", True):
            v = "****"
        out.append({"ParameterKey": k, "ParameterValue": v})
    return out


# ---------------------------------------------------------------- events

def _event(stk, logical, rtype, status, reason=None, physical=None, props=None,
           token=None):
    e = {"StackId": stk["id"], "EventId": str(uuid.uuid4()), "StackName": stk["name"],
         "LogicalResourceId": logical, "ResourceType": rtype, "Timestamp": time.time(),
         "ResourceStatus": status}
    if physical is not None:
        e["PhysicalResourceId"] = physical
    if reason:
        e["ResourceStatusReason"] = reason
    if props is not None:
        e["ResourceProperties"] = json.dumps(props)
    if token:
        e["ClientRequestToken"] = token
    stk["events"].insert(0, e)
    if logical == stk["name"] and rtype == "AWS::CloudFormation::Stack":
        stk["status"] = status
        stk["status_reason"] = reason


def _stack_event(stk, status, reason=None, token=None):
    _event(stk, stk["name"], "AWS::CloudFormation::Stack", status, reason,
           physical=stk["id"], token=token)


# ---------------------------------------------------------------- CreateChangeSet

def op_CreateChangeSet(state, req, p):
    acct, region = req.ident.account, req.region
    sname = p.get("StackName") or ""
    csname = p.get("ChangeSetName") or ""
    if not NAME_RE.match(sname) and not sname.startswith("arn:"):
        raise verr("1 validation error detected: Value '%s' at 'stackName' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: "
                   "([a-zA-Z][-a-zA-Z0-9]*)|(arn:\\b(aws|aws-us-gov|aws-cn)\\b:[-a-zA-Z0-9:/._+]*)"
                   % sname)
    if not NAME_RE.match(csname):
        raise verr("1 validation error detected: Value '%s' at 'changeSetName' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: "
                   "[a-zA-Z][-a-zA-Z0-9]*" % csname)
    cstype = p.get("ChangeSetType") or "UPDATE"
    if cstype not in ("CREATE", "UPDATE", "IMPORT"):
        raise verr("1 validation error detected: Value '%s' at 'changeSetType' failed to "
                   "satisfy constraint: Member must satisfy enum value set: [IMPORT, "
                   "UPDATE, CREATE]" % cstype)
    if cstype == "IMPORT":
        raise verr("IMPORT change sets are not supported by this fake endpoint.")
    stk = _stack(state, req, sname, must=False)
    # Idempotency: same ClientToken and name -> the same change set.
    if p.get("ClientToken") and stk is not None:
        for cid in stk["change_sets"]:
            c = st(state).change_sets.get(cid)
            if c and c["name"] == csname and c.get("client_token") == p["ClientToken"] \
                    and not c.get("deleted"):
                return {"Id": c["id"], "StackId": stk["id"]}
    if cstype == "CREATE":
        if stk is not None and stk["status"] != "REVIEW_IN_PROGRESS":
            raise verr("Stack [%s] already exists and cannot be created again with the "
                       "changeSet [%s]." % (sname, csname))
    else:
        if stk is None:
            raise verr("Stack [%s] does not exist" % sname)
        if stk["status"] == "REVIEW_IN_PROGRESS":
            raise verr("Stack:%s is in REVIEW_IN_PROGRESS state and can not be updated."
                       % stk["id"])
    if stk is not None and (stk["status"] in IN_PROGRESS or
                            stk["status"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
                                              "UPDATE_ROLLBACK_FAILED",
                                              "DELETE_COMPLETE")):
        raise verr("Stack:%s is in %s state and can not be updated." % (
            stk["id"], stk["status"]))
    if stk is not None:
        for cid in stk["change_sets"]:
            c = st(state).change_sets.get(cid)
            if c and c["name"] == csname and not c.get("deleted"):
                raise AwsError("AlreadyExistsException", "ChangeSet %s already exists"
                               % csname, 400)
    text = _template_text(state, req, p, stk)
    try:
        doc = T.load(text)
    except T.TemplateError as e:
        raise verr(str(e))
    have = set(p.get("Capabilities") or [])
    need = T.required_capabilities(doc)
    if "CAPABILITY_NAMED_IAM" in have:
        have.add("CAPABILITY_IAM")
    missing = sorted(c for c in need if c not in have)
    if missing:
        raise AwsError("InsufficientCapabilitiesException",
                       "Requires capabilities : [%s]" % ", ".join(missing), 400)
    prev = stk["params"] if stk is not None and stk["doc"] is not None else None
    values = _param_values(doc, p.get("Parameters"), prev)

    new_stack = stk is None
    if new_stack:
        sid = "arn:aws:cloudformation:%s:%s:stack/%s/%s" % (region, acct, sname,
                                                             uuid.uuid4())
        stk = {"id": sid, "name": sname, "account": acct, "region": region,
               "status": "REVIEW_IN_PROGRESS", "status_reason": None,
               "created": time.time(), "updated": None, "template": None, "doc": None,
               "params": {}, "capabilities": [], "tags": [], "outputs": [],
               "resources": {}, "events": [], "change_set_id": None,
               "change_sets": [], "description": None, "notification_arns": []}
        st(state).stacks[sid] = stk
        st(state).names[(acct, region, sname)] = sid
        _stack_event(stk, "REVIEW_IN_PROGRESS", "User Initiated")
    csid = "arn:aws:cloudformation:%s:%s:changeSet/%s/%s" % (region, acct, csname,
                                                              uuid.uuid4())
    new_ctx = _ctx(state, stk["name"], stk["id"], acct, region, doc, values)
    old_doc = stk["doc"]
    old_ctx = _ctx(state, stk["name"], stk["id"], acct, region, old_doc, stk["params"],
                   stk["resources"]) if old_doc else None
    changed = set(k for k in values if old_doc is None or stk["params"].get(k) != values[k])
    tags = p.get("Tags")
    pending_reason = None
    try:
        changes = T.diff(old_doc, old_ctx,
                         {k: r["physical"] for k, r in stk["resources"].items()},
                         doc, new_ctx, changed)
        if old_doc is not None and not changes:
            same_outputs = (old_doc.get("Outputs") or {}) == (doc.get("Outputs") or {})
            same_params = stk["params"] == values
            answer = st(state).no_changes
            same_tags = tags is None or tags == stk["tags"] or answer != "aws"
            if same_outputs and same_params and answer == "error":
                raise verr(NO_UPDATES)
            if same_outputs and same_params and same_tags:
                pending_reason = NO_CHANGES
    except T.TemplateError as e:
        changes = []
        pending_reason = str(e)
    cs = {"id": csid, "name": csname, "stack_id": stk["id"], "stack_name": stk["name"],
          "account": acct, "region": region, "type": cstype, "status": "CREATE_PENDING",
          "execution_status": "UNAVAILABLE", "status_reason": None,
          "created": time.time(), "description": p.get("Description"),
          "values": values, "doc": doc, "template": text,
          "capabilities": list(p.get("Capabilities") or []),
          "tags": tags if tags is not None else list(stk["tags"]),
          "changes": changes, "client_token": p.get("ClientToken"),
          "exec_token": None, "notification_arns": list(p.get("NotificationARNs") or []),
          "deleted": False}
    st(state).change_sets[csid] = cs
    stk["change_sets"].append(csid)
    st(state).executions[csid] = {"calls": 0, "executions": 0, "stack": stk["name"],
                                  "account": acct, "region": region, "name": csname}
    def gone():
        return cs["deleted"] or cs["status"].startswith("DELETE_")

    def gen():
        yield state.step_delay
        if gone():
            return
        cs["status"] = "CREATE_IN_PROGRESS"
        yield state.step_delay
        if gone():
            return
        if pending_reason:
            cs["status"] = "FAILED"
            cs["status_reason"] = pending_reason
            cs["execution_status"] = "UNAVAILABLE"
        else:
            cs["status"] = "CREATE_COMPLETE"
            cs["execution_status"] = "AVAILABLE"
    ecs.drive(state, gen())
    return {"Id": csid, "StackId": stk["id"]}


def op_DescribeChangeSet(state, req, p):
    cs = _change_set(state, req, p)
    changes, nxt = _page(state, req, "DescribeChangeSet", cs["changes"], p.get("NextToken"))
    out = {"ChangeSetName": cs["name"], "ChangeSetId": cs["id"], "StackId": cs["stack_id"],
           "StackName": cs["stack_name"], "Description": cs["description"],
           "Parameters": _public_params(cs["doc"], cs["values"]),
           "CreationTime": cs["created"], "ExecutionStatus": cs["execution_status"],
           "Status": cs["status"], "StatusReason": cs["status_reason"],
           "NotificationARNs": cs["notification_arns"], "RollbackConfiguration": {},
           "Capabilities": cs["capabilities"], "Tags": cs["tags"] or None,
           "Changes": changes, "IncludeNestedStacks": False}
    if nxt:
        out["NextToken"] = nxt
    return {k: v for k, v in out.items() if v is not None}


def _summary(cs):
    x = {"StackId": cs["stack_id"], "StackName": cs["stack_name"], "ChangeSetId": cs["id"],
         "ChangeSetName": cs["name"], "ExecutionStatus": cs["execution_status"],
         "Status": cs["status"], "CreationTime": cs["created"],
         "IncludeNestedStacks": False}
    if cs["status_reason"]:
        x["StatusReason"] = cs["status_reason"]
    if cs["description"]:
        x["Description"] = cs["description"]
    return x


def op_ListChangeSets(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    items = [_summary(st(state).change_sets[c]) for c in stk["change_sets"]
             if not st(state).change_sets[c].get("deleted")]
    page, nxt = _page(state, req, "ListChangeSets", items, p.get("NextToken"))
    out = {"Summaries": page}
    if nxt:
        out["NextToken"] = nxt
    return out


def op_DeleteChangeSet(state, req, p):
    """Asynchronous, as on AWS: the change set is DELETE_PENDING, then
    DELETE_IN_PROGRESS, then DELETE_COMPLETE and gone (or DELETE_FAILED,
    when injected: it may be deleted again)."""
    cs = _change_set(state, req, p)
    if cs["execution_status"] in ("EXECUTE_IN_PROGRESS",):
        raise AwsError("InvalidChangeSetStatus", "Cannot delete ChangeSet in status %s"
                       % cs["execution_status"], 400)
    if cs["status"] in ("DELETE_PENDING", "DELETE_IN_PROGRESS"):
        raise AwsError("InvalidChangeSetStatus", "Cannot delete ChangeSet in status %s"
                       % cs["status"], 400)
    s = st(state)
    fail = s.fail_change_set_deletes > 0
    if fail:
        s.fail_change_set_deletes -= 1
    cs["status"] = "DELETE_PENDING"
    cs["status_reason"] = None
    cs["execution_status"] = "UNAVAILABLE"

    def gen():
        yield state.step_delay
        if cs["deleted"]:
            return
        cs["status"] = "DELETE_IN_PROGRESS"
        yield state.step_delay
        if cs["deleted"]:
            return
        if fail:
            cs["status"] = "DELETE_FAILED"
            cs["status_reason"] = "Injected failure: the change set could not be deleted"
            return
        cs["status"] = "DELETE_COMPLETE"
        cs["deleted"] = True
    ecs.drive(state, gen())
    return {}


def op_DescribeStacks(state, req, p):
    name = p.get("StackName")
    if name:
        stk = _stack(state, req, name)
        stacks = [stk]
    else:
        stacks = [s for s in st(state).stacks.values()
                  if s["account"] == req.ident.account and s["region"] == req.region
                  and not s.get("deleted")]
    items = [_stack_out(s) for s in stacks]
    page, nxt = _page(state, req, "DescribeStacks", items, p.get("NextToken"))
    out = {"Stacks": page}
    if nxt:
        out["NextToken"] = nxt
    return out


def _stack_out(s):
    x = {"StackId": s["id"], "StackName": s["name"], "CreationTime": s["created"],
         "StackStatus": s["status"], "DisableRollback": False,
         "NotificationARNs": s["notification_arns"], "RollbackConfiguration": {},
         "Tags": s["tags"], "EnableTerminationProtection": False,
         "DriftInformation": _drift_information(s)}
    if s["doc"] is not None:
        x["Parameters"] = _public_params(s["doc"], s["params"])
        x["Capabilities"] = s["capabilities"]
        if s["doc"].get("Description"):
            x["Description"] = s["doc"]["Description"]
    if s["change_set_id"]:
        x["ChangeSetId"] = s["change_set_id"]
    if s["updated"]:
        x["LastUpdatedTime"] = s["updated"]
    if s["status_reason"] and s["status"] != "REVIEW_IN_PROGRESS":
        x["StackStatusReason"] = s["status_reason"]
    if s["outputs"]:
        x["Outputs"] = s["outputs"]
    return x


def op_DescribeStackEvents(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    page, nxt = _page(state, req, "DescribeStackEvents", stk["events"], p.get("NextToken"))
    out = {"StackEvents": page}
    if nxt:
        out["NextToken"] = nxt
    return out


def op_GetTemplate(state, req, p):
    if p.get("ChangeSetName"):
        cs = _change_set(state, req, p)
        return {"TemplateBody": cs["template"], "StagesAvailable": ["Original", "Processed"]}
    stk = _stack(state, req, p.get("StackName"))
    return {"TemplateBody": stk["template"] or "",
            "StagesAvailable": ["Original", "Processed"]}


def op_DescribeStackResources(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    out = []
    for name, r in stk["resources"].items():
        out.append({"StackName": stk["name"], "StackId": stk["id"],
                    "LogicalResourceId": name, "PhysicalResourceId": r["physical"],
                    "ResourceType": r["type"], "Timestamp": r.get("updated", stk["created"]),
                    "ResourceStatus": r.get("status", "CREATE_COMPLETE")})
    return {"StackResources": out}


# ---------------------------------------------------------------- drift detection

# As AWS: a detection is refused while the stack is being changed.
DRIFT_REFUSED = IN_PROGRESS + ("REVIEW_IN_PROGRESS",)


def _drift_information(stk):
    d = stk.get("drift_status")
    if d is None:
        return {"StackDriftStatus": "NOT_CHECKED"}
    return {"StackDriftStatus": d, "LastCheckTimestamp": stk["drift_checked"]}


def _drift_updated(stk, logical, prior, props, replace):
    """An execution set the resource's properties anew: a replaced or
    created resource has no drift left, an updated one none on the
    properties the update changed (the others stay drifted, as on AWS)."""
    drift = stk.setdefault("drift", {})
    d = drift.get(logical)
    if d is None:
        return
    if replace or prior is None or d.get("deleted"):
        drift.pop(logical, None)
        return
    old = prior.get("props") or {}
    for path in list(d["props"]):
        key = path.strip("/").split("/")[0]
        if old.get(key) != props.get(key):
            d["props"].pop(path)
    if not d["props"]:
        drift.pop(logical, None)


def _prop_at(props, path):
    """The value at a PropertyPath (/A/0/B), or None."""
    cur = props
    for part in path.strip("/").split("/"):
        if isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                return None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


def _drift_text(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _drift_results(stk):
    """Each resource of the stack as a detection finds it now."""
    out = []
    drift = stk.get("drift") or {}
    now = time.time()
    for logical, r in stk["resources"].items():
        d = drift.get(logical)
        expected = r.get("props") or {}
        x = {"StackId": stk["id"], "LogicalResourceId": logical,
             "PhysicalResourceId": r["physical"], "ResourceType": r["type"],
             "ExpectedProperties": json.dumps(expected, sort_keys=True, default=str),
             "Timestamp": now}
        if d is None:
            x["StackResourceDriftStatus"] = "IN_SYNC"
            x["ActualProperties"] = x["ExpectedProperties"]
        elif d.get("deleted"):
            x["StackResourceDriftStatus"] = "DELETED"
        else:
            actual = copy.deepcopy(expected)
            diffs = []
            for path, value in sorted(d["props"].items()):
                want = _prop_at(expected, path)
                if value is None:
                    diffs.append({"PropertyPath": path, "ExpectedValue": _drift_text(want),
                                  "ActualValue": "null", "DifferenceType": "REMOVE"})
                else:
                    diffs.append({"PropertyPath": path,
                                  "ExpectedValue": "null" if want is None else _drift_text(want),
                                  "ActualValue": _drift_text(value),
                                  "DifferenceType": "ADD" if want is None else "NOT_EQUAL"})
                key = path.strip("/").split("/")[0]
                if "/" not in path.strip("/"):
                    if value is None:
                        actual.pop(key, None)
                    else:
                        actual[key] = value
            x["StackResourceDriftStatus"] = "MODIFIED"
            x["PropertyDifferences"] = diffs
            x["ActualProperties"] = json.dumps(actual, sort_keys=True, default=str)
        out.append(x)
    return out


def op_DetectStackDrift(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    if stk["status"] in DRIFT_REFUSED or stk.get("deleted"):
        raise verr("Drift detection is not supported for stack [%s] in status %s"
                   % (stk["name"], stk["status"]))
    s = st(state)
    did = str(uuid.uuid4())
    s.detections[did] = {"stack": stk["id"], "account": req.ident.account,
                         "region": req.region, "mode": s.detection_mode,
                         "polls": s.detection_polls, "status": "DETECTION_IN_PROGRESS",
                         "started": time.time(), "stack_drift": None, "count": None}
    return {"StackDriftDetectionId": did}


def op_DescribeStackDriftDetectionStatus(state, req, p):
    s = st(state)
    did = p.get("StackDriftDetectionId") or ""
    d = s.detections.get(did)
    if d is None or d["account"] != req.ident.account or d["region"] != req.region:
        raise verr("Stack drift detection with id %s does not exist" % did)
    stk = s.stacks[d["stack"]]
    if d["status"] == "DETECTION_IN_PROGRESS":
        if d["mode"] == "fail":
            d["status"] = "DETECTION_FAILED"
            d["reason"] = ("Failed to detect drift on resources [%s]: injected failure"
                           % ", ".join(sorted(stk["resources"])))
        elif d["mode"] == "normal":
            if d["polls"] > 0:
                d["polls"] -= 1
            else:
                results = _drift_results(stk)
                drifted = [x for x in results
                           if x["StackResourceDriftStatus"] != "IN_SYNC"]
                d["status"] = "DETECTION_COMPLETE"
                d["stack_drift"] = "DRIFTED" if drifted else "IN_SYNC"
                d["count"] = len(drifted)
                stk["drift_status"] = d["stack_drift"]
                stk["drift_checked"] = time.time()
                stk["drift_results"] = results
    out = {"StackId": stk["id"], "StackDriftDetectionId": did,
           "DetectionStatus": d["status"], "Timestamp": d["started"]}
    if d["status"] == "DETECTION_COMPLETE":
        out["StackDriftStatus"] = d["stack_drift"]
        out["DriftedStackResourceCount"] = d["count"]
    if d["status"] == "DETECTION_FAILED":
        out["StackDriftStatus"] = "UNKNOWN"
        out["DetectionStatusReason"] = d["reason"]
    return out


def op_DescribeStackResourceDrifts(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    want = set(p.get("StackResourceDriftStatusFilters") or [])
    bad = want - {"IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED", "UNKNOWN"}
    if bad:
        raise verr("1 validation error detected: Value at 'stackResourceDriftStatusFilters' "
                   "failed to satisfy constraint")
    n = p.get("MaxResults")
    if n is not None and not 1 <= int(n) <= 100:
        raise verr("1 validation error detected: Value '%s' at 'maxResults' failed to "
                   "satisfy constraint: Member must have value between 1 and 100" % n)
    items = [x for x in stk.get("drift_results") or []
             if not want or x["StackResourceDriftStatus"] in want]
    page, nxt = _page(state, req, "DescribeStackResourceDrifts", items,
                      p.get("NextToken"), default=int(n) if n else 100)
    out = {"StackResourceDrifts": page}
    if nxt:
        out["NextToken"] = nxt
    return out


def control_drift(state, body):
    """A resource changed "by hand" (the console): a property's actual
    value (path "/DesiredCount", value null: removed) or the resource
    deleted ("deleted": true); "clear": true puts it back."""
    acct = body.get("account")
    region = body.get("region") or "eu-west-1"
    name = body.get("stack")
    logical = body.get("resource")
    if not acct or not name or not logical:
        raise ValueError("account, stack and resource are required")
    with state.lock:
        s = st(state)
        sid = s.names.get((acct, region, name))
        stk = s.stacks.get(sid) if sid else None
        if stk is None:
            raise ValueError("stack %s does not exist in %s/%s" % (name, acct, region))
        if logical not in stk["resources"]:
            raise ValueError("stack %s has no resource %s" % (name, logical))
        drift = stk.setdefault("drift", {})
        if body.get("clear"):
            drift.pop(logical, None)
        elif body.get("deleted"):
            drift[logical] = {"deleted": True, "props": {}}
        else:
            path = body.get("property")
            if not path:
                raise ValueError("property (a path such as /DesiredCount) is required")
            if not path.startswith("/"):
                path = "/" + path
            d = drift.setdefault(logical, {"deleted": False, "props": {}})
            d["props"][path] = body.get("value")
        return {"stack": stk["id"], "drift": drift}


def control_drift_detection(state, body):
    mode = body.get("mode", "normal")
    if mode not in ("normal", "never", "fail"):
        raise ValueError("mode: normal, never or fail")
    with state.lock:
        s = st(state)
        s.detection_mode = mode
        if "polls" in body:
            s.detection_polls = int(body["polls"])
        if body.get("running"):
            # Also the detections under way now (a daemon restarted
            # while one ran finds it finished, or failed).
            for d in s.detections.values():
                if d["status"] == "DETECTION_IN_PROGRESS":
                    d["mode"] = mode
                    d["polls"] = s.detection_polls
        return {"mode": s.detection_mode, "polls": s.detection_polls,
                "detections": len(s.detections)}


# ---------------------------------------------------------------- ExecuteChangeSet

def op_ExecuteChangeSet(state, req, p):
    cs = _change_set(state, req, p)
    ex = st(state).executions.setdefault(cs["id"], {"calls": 0, "executions": 0})
    ex["calls"] += 1
    token = p.get("ClientRequestToken")
    if token and cs["exec_token"] == token:
        return {}                      # the same request again: idempotent
    if cs["status"] != "CREATE_COMPLETE":
        raise AwsError("InvalidChangeSetStatus", "ChangeSet [%s] cannot be executed in its "
                       "current status of [%s]" % (cs["id"], cs["status"]), 400)
    if cs["execution_status"] != "AVAILABLE":
        raise AwsError("InvalidChangeSetStatus", "ChangeSet [%s] cannot be executed in its "
                       "current execution status of [%s]" % (cs["id"],
                                                            cs["execution_status"]), 400)
    stk = st(state).stacks[cs["stack_id"]]
    if stk["status"] in IN_PROGRESS:
        raise verr("Stack:%s is in %s state and can not be updated." % (stk["id"],
                                                                        stk["status"]))
    cs["exec_token"] = token
    cs["execution_status"] = "EXECUTE_IN_PROGRESS"
    ex["executions"] += 1
    # Executing a change set deletes the stack's other change sets.
    for cid in stk["change_sets"]:
        if cid != cs["id"]:
            st(state).change_sets[cid]["deleted"] = True
    ecs.drive(state, _run(state, stk, cs, token))
    return {}


def _take_failure(state, stk, logical, rules=None):
    if rules is None:
        rules = st(state).fail_resources
    for f in rules:
        if f["account"] in ("*", stk["account"]) and f["region"] in ("*", stk["region"]) \
                and f["stack"] in ("*", stk["name"]) and f["logical_id"] == logical:
            f["count"] -= 1
            if f["count"] <= 0:
                rules.remove(f)
            return f["reason"]
    return None


def _gen_name(stk, logical, lower=False):
    n = "%s-%s-%s" % (stk["name"], logical, rand_alnum(12))
    return n.lower() if lower else n


NAME_PROPS = {"AWS::IAM::Role": "RoleName", "AWS::Logs::LogGroup": "LogGroupName",
              "AWS::S3::Bucket": "BucketName", "AWS::SQS::Queue": "QueueName",
              "AWS::ECR::Repository": "RepositoryName",
              "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
              "AWS::SecretsManager::Secret": "Name", "AWS::Lambda::Function": "FunctionName"}


def _create_physical(state, stk, logical, rtype, props, old=None):
    """Make the resource (ECS ones for real); returns (physical, attrs, ecs dep)."""
    acct, region = stk["account"], stk["region"]
    if rtype == "AWS::ECS::Cluster":
        name = props.get("ClusterName") or _gen_name(stk, logical)
        c = ecs.ensure_cluster(state, acct, region, name)
        return name, {"Arn": c["clusterArn"]}, None
    if rtype == "AWS::ECS::TaskDefinition":
        fam = props.get("Family")
        if not fam and old and old.get("attrs", {}).get("Family"):
            fam = old["attrs"]["Family"]
        fam = fam or "%s%s" % (stk["name"], logical)
        arn = ecs.register_taskdef(state, acct, region, fam, props)
        return arn, {"TaskDefinitionArn": arn, "Family": fam}, None
    if rtype == "AWS::ECS::Service":
        pr = dict(props)
        name = pr.get("ServiceName") or (old["attrs"]["Name"] if old else
                                         _gen_name(stk, logical))
        pr["ServiceName"] = name
        before = None
        svc0 = None
        cl = (pr.get("Cluster") or "default").rsplit("/", 1)[-1]
        svc0 = ecs.find_service(state, acct, region, cl, name)
        if svc0 is not None and svc0["deployments"]:
            before = svc0["deployments"][0]
        svc = ecs.upsert_service(state, acct, region, pr)
        dep = svc["deployments"][0] if svc["deployments"] and \
            svc["deployments"][0] is not before else None
        return svc["serviceArn"], {"Name": name, "ServiceArn": svc["serviceArn"],
                                   "Cluster": cl}, dep
    np = NAME_PROPS.get(rtype)
    name = props.get(np) if np else None
    if not isinstance(name, str) or not name:
        name = old["physical"] if old else _gen_name(stk, logical,
                                                     lower=rtype == "AWS::S3::Bucket")
    return name, {}, None


def _delete_physical(state, stk, r):
    t = r["type"]
    if t == "AWS::ECS::Service":
        svc = ecs.find_service(state, stk["account"], stk["region"],
                               r["attrs"].get("Cluster", "default"), r["attrs"]["Name"])
        if svc is not None:
            ecs.delete_service(state, svc)
    elif t == "AWS::ECS::TaskDefinition":
        ecs.deregister_taskdef(state, r["physical"])
    elif t == "AWS::ECS::Cluster":
        ecs.delete_cluster(state, stk["account"], stk["region"], r["physical"])


def _outputs(ctx, doc):
    out = []
    for k, o in (doc.get("Outputs") or {}).items():
        if o.get("Condition") and not ctx.condition(o["Condition"]):
            continue
        try:
            v = ctx.eval(o.get("Value"))
        except T.TemplateError:
            v = ""
        x = {"OutputKey": k, "OutputValue": ctx._str(v)}
        if o.get("Description"):
            x["Description"] = o["Description"]
        if isinstance(o.get("Export"), dict):
            try:
                x["ExportName"] = ctx._str(ctx.eval(o["Export"].get("Name")))
            except T.TemplateError:
                pass
        out.append(x)
    return out


def _run(state, stk, cs, token):
    """The execution, as a generator of delays."""
    creating = stk["doc"] is None
    verb = "CREATE" if creating else "UPDATE"
    old = {"doc": stk["doc"], "template": stk["template"], "params": stk["params"],
           "resources": copy.deepcopy(stk["resources"]), "outputs": stk["outputs"],
           "tags": stk["tags"], "capabilities": stk["capabilities"]}
    doc, values = cs["doc"], cs["values"]
    res = copy.deepcopy(stk["resources"])
    ctx = _ctx(state, stk["name"], stk["id"], stk["account"], stk["region"], doc, values, res)
    actions = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in cs["changes"]}
    _stack_event(stk, verb + "_IN_PROGRESS", "User Initiated", token=token)
    yield state.step_delay
    done = []          # (logical, action, old resource or None)
    failed = None
    stk["cancel"] = False
    for logical in T.order(doc, [n for n in T.active_resources(ctx)]):
        rc = actions.get(logical)
        if rc is None:
            continue
        rtype = rc["ResourceType"]
        if stk.get("cancel"):
            failed = (logical, rtype, "Resource update cancelled")
            break
        try:
            props = ctx.eval(doc["Resources"][logical].get("Properties") or {})
        except T.TemplateError as e:
            props = {}
            failed = (logical, rtype, str(e))
        prior = res.get(logical)
        replace = rc["Action"] == "Add" or rc.get("Replacement") == "True"
        st_in = "CREATE_IN_PROGRESS" if rc["Action"] == "Add" else "UPDATE_IN_PROGRESS"
        _event(stk, logical, rtype, st_in, None, physical=prior["physical"] if prior
               else "", props=props, token=token)
        yield state.step_delay
        if failed is None and stk.get("cancel"):
            failed = (logical, rtype, "Resource update cancelled")
        if failed is None:
            reason = _take_failure(state, stk, logical)
            if reason:
                failed = (logical, rtype, reason)
        if failed is not None:
            break
        if rc["Action"] == "Add":
            phys, attrs, dep = _create_physical(state, stk, logical, rtype, props)
            _event(stk, logical, rtype, "CREATE_IN_PROGRESS", "Resource creation Initiated",
                   physical=phys, props=props, token=token)
        elif replace:
            _event(stk, logical, rtype, "UPDATE_IN_PROGRESS",
                   "Requested update requires the creation of a new physical resource; "
                   "hence creating one.", physical=prior["physical"], props=props,
                   token=token)
            phys, attrs, dep = _create_physical(state, stk, logical, rtype, props,
                                                old=prior if rtype ==
                                                "AWS::ECS::TaskDefinition" else None)
        else:
            phys, attrs, dep = _create_physical(state, stk, logical, rtype, props, old=prior)
        res[logical] = {"type": rtype, "physical": phys, "attrs": attrs, "props": props,
                        "status": verb + "_COMPLETE", "updated": time.time()}
        _drift_updated(stk, logical, prior, props, replace)
        done.append((logical, rc["Action"], replace, prior))
        while dep is not None and dep["rolloutState"] == "IN_PROGRESS" and \
                not stk.get("cancel"):
            yield state.step_delay
        if stk.get("cancel"):
            failed = (logical, rtype, "Resource update cancelled")
            break
        if dep is not None and dep["rolloutState"] == "FAILED":
            failed = (logical, rtype, "Error occurred during operation 'ECS Deployment "
                      "Circuit Breaker was triggered'.")
            break
        _event(stk, logical, rtype, "CREATE_COMPLETE" if rc["Action"] == "Add"
               else "UPDATE_COMPLETE", None, physical=phys, props=props, token=token)
        yield state.step_delay
    if failed is None and stk.get("cancel"):
        failed = (None, None, None)
    if failed is not None:
        yield from _rollback(state, stk, cs, token, old, res, done, failed, creating)
        return
    stk.update({"doc": doc, "template": cs["template"], "params": values,
                "resources": res, "tags": cs["tags"], "capabilities": cs["capabilities"],
                "updated": None if creating else time.time(), "change_set_id": cs["id"]})
    stk["outputs"] = _outputs(ctx, doc)
    removes = [c for c in cs["changes"] if c["ResourceChange"]["Action"] == "Remove"]
    replaced = [(lg, pr) for lg, act, rep, pr in done if rep and pr is not None]
    if not creating:
        _stack_event(stk, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", token=token)
        yield state.step_delay
        for lg, pr in replaced:
            _event(stk, lg, pr["type"], "DELETE_IN_PROGRESS", physical=pr["physical"],
                   token=token)
            _delete_physical(state, stk, pr)
            yield state.step_delay
            _event(stk, lg, pr["type"], "DELETE_COMPLETE", physical=pr["physical"],
                   token=token)
        for c in reversed(removes):
            lg = c["ResourceChange"]["LogicalResourceId"]
            r = res.pop(lg, None)
            if r is None:
                continue
            _event(stk, lg, r["type"], "DELETE_IN_PROGRESS", physical=r["physical"],
                   token=token)
            _delete_physical(state, stk, r)
            yield state.step_delay
            _event(stk, lg, r["type"], "DELETE_COMPLETE", physical=r["physical"],
                   token=token)
    cs["execution_status"] = "EXECUTE_COMPLETE"
    _stack_event(stk, verb + "_COMPLETE", token=token)


def _rollback(state, stk, cs, token, old, res, done, failed, creating):
    logical, rtype, reason = failed
    prior = old["resources"].get(logical)
    if logical is not None:
        _event(stk, logical, rtype, "CREATE_FAILED" if prior is None else "UPDATE_FAILED",
               reason, physical=(res.get(logical) or prior or {}).get("physical", ""),
               token=token)
    if stk.get("cancel") and not creating:
        _stack_event(stk, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated", token=token)
    elif creating:
        _stack_event(stk, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to "
                     "create: [%s]. Rollback requested by user." % logical, token=token)
    else:
        _stack_event(stk, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) "
                     "failed to update: [%s]. " % logical, token=token)
    yield state.step_delay
    # What to put back (the failed resource first, then the modified ones,
    # newest first) and what to delete once the stack is back.
    items, to_delete = [], []
    if logical is not None and prior is not None and \
            not any(x[0] == logical for x in done):
        items.append((logical, prior, False, False))
    for lg, act, rep, pr in reversed(done):
        cur = res.get(lg)
        if act == "Add" or pr is None:
            if cur is not None:
                to_delete.append((lg, cur))
            continue
        if rep:
            to_delete.append((lg, cur))
        items.append((lg, pr, rep, pr["type"] == "AWS::ECS::Service" and not rep))
    if creating:
        for lg, r in to_delete:
            _event(stk, lg, r["type"], "DELETE_IN_PROGRESS", physical=r["physical"],
                   token=token)
            _delete_physical(state, stk, r)
            yield state.step_delay
            _event(stk, lg, r["type"], "DELETE_COMPLETE", physical=r["physical"],
                   token=token)
        stk["resources"] = {}
        cs["execution_status"] = "EXECUTE_FAILED"
        _stack_event(stk, "ROLLBACK_COMPLETE", token=token)
        return
    cs["execution_status"] = "EXECUTE_FAILED"
    rb = {"old": old, "items": items, "to_delete": to_delete, "failed": []}
    yield from _put_back(state, stk, rb, token, ())


def _put_back(state, stk, rb, token, skip):
    """The update rollback from where it is: each resource put back (or
    skipped), then the cleanup.  A resource that cannot be put back (an
    injected rollback failure) leaves the stack UPDATE_ROLLBACK_FAILED with
    what is left in stk["rollback"], for ContinueUpdateRollback."""
    while rb["items"]:
        lg, pr, rep, upsert = rb["items"][0]
        if lg in skip:
            _event(stk, lg, pr["type"], "UPDATE_COMPLETE", "Resource skipped during "
                   "UpdateRollback", physical=pr["physical"], token=token)
            rb["items"].pop(0)
            continue
        _event(stk, lg, pr["type"], "UPDATE_IN_PROGRESS", physical=pr["physical"],
               token=token)
        yield state.step_delay
        reason = _take_failure(state, stk, lg, st(state).fail_rollbacks)
        if reason:
            _event(stk, lg, pr["type"], "UPDATE_FAILED", reason, physical=pr["physical"],
                   token=token)
            rb["failed"] = [lg]
            stk["rollback"] = rb
            _stack_event(stk, "UPDATE_ROLLBACK_FAILED", "The following resource(s) "
                         "failed to update: [%s]. " % lg, token=token)
            return
        if upsert:
            _create_physical(state, stk, lg, pr["type"], pr["props"], old=pr)
        _event(stk, lg, pr["type"], "UPDATE_COMPLETE", physical=pr["physical"],
               token=token)
        rb["items"].pop(0)
    stk.pop("rollback", None)
    _stack_event(stk, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", token=token)
    yield state.step_delay
    for lg, r in rb["to_delete"]:
        _event(stk, lg, r["type"], "DELETE_IN_PROGRESS", physical=r["physical"],
               token=token)
        _delete_physical(state, stk, r)
        yield state.step_delay
        _event(stk, lg, r["type"], "DELETE_COMPLETE", physical=r["physical"],
               token=token)
    stk["resources"] = rb["old"]["resources"]
    stk["updated"] = time.time()
    _stack_event(stk, "UPDATE_ROLLBACK_COMPLETE", token=token)


def op_ContinueUpdateRollback(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    token = p.get("ClientRequestToken")
    if token and token == stk.get("continue_token"):
        return {}                      # the same request again
    if stk["status"] != "UPDATE_ROLLBACK_FAILED" or stk.get("rollback") is None:
        raise verr("Stack %s is in %s state and cannot continue its rollback: "
                   "ContinueUpdateRollback needs UPDATE_ROLLBACK_FAILED"
                   % (stk["id"], stk["status"]))
    rb = stk["rollback"]
    skip = list(p.get("ResourcesToSkip") or [])
    bad = [x for x in skip if x not in rb["failed"]]
    if bad:
        raise verr("Resources [%s] cannot be skipped: only resources in UPDATE_FAILED "
                   "because the rollback failed can be (they are: [%s])"
                   % (", ".join(bad), ", ".join(rb["failed"])))
    stk["continue_token"] = token

    def gen():
        _stack_event(stk, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated", token=token)
        yield state.step_delay
        yield from _put_back(state, stk, rb, token, set(skip))
    ecs.drive(state, gen())
    return {}


def op_ValidateTemplate(state, req, p):
    text = _template_text(state, req, p, None)
    try:
        doc = T.load(text)
    except T.TemplateError as e:
        raise verr(str(e))
    params = []
    for k, spec in (doc.get("Parameters") or {}).items():
        x = {"ParameterKey": k, "NoEcho": spec.get("NoEcho") in ("true", True)}
        if "Default" in spec:
            d = spec["Default"]
            x["DefaultValue"] = ",".join(d) if isinstance(d, list) else d
        if spec.get("Description"):
            x["Description"] = spec["Description"]
        params.append(x)
    out = {"Parameters": params}
    if doc.get("Description"):
        out["Description"] = doc["Description"]
    caps = sorted(T.required_capabilities(doc) - {"CAPABILITY_AUTO_EXPAND"})
    if caps:
        out["Capabilities"] = caps
        out["CapabilitiesReason"] = ("The following resource(s) require capabilities: "
                                     "[%s]" % ", ".join(sorted(set(
                                         r["Type"] for r in doc["Resources"].values()
                                         if r["Type"].startswith("AWS::IAM::")))))
    tr = doc.get("Transform")
    if tr:
        out["DeclaredTransforms"] = tr if isinstance(tr, list) else [tr]
    return out


def op_CancelUpdateStack(state, req, p):
    stk = _stack(state, req, p.get("StackName"))
    if stk["status"] != "UPDATE_IN_PROGRESS":
        raise verr("CancelUpdateStack cannot be called from current stack status")
    if p.get("ClientRequestToken") and p["ClientRequestToken"] == stk.get("cancel_token"):
        return {}
    stk["cancel"] = True
    stk["cancel_token"] = p.get("ClientRequestToken")
    return {}


def op_DeleteStack(state, req, p):
    stk = _stack(state, req, p.get("StackName"), must=False)
    if stk is None or stk["status"] in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE"):
        return {}                      # AWS: deleting what is gone succeeds
    if stk["status"] in IN_PROGRESS:
        raise verr("Stack [%s] cannot be deleted while in status %s" % (
            stk["name"], stk["status"]))
    token = p.get("ClientRequestToken")

    def gen():
        _stack_event(stk, "DELETE_IN_PROGRESS", "User Initiated", token=token)
        yield state.step_delay
        doc = stk["doc"]
        names = T.order(doc, list(stk["resources"])) if doc else list(stk["resources"])
        for lg in reversed(names):
            r = stk["resources"][lg]
            _event(stk, lg, r["type"], "DELETE_IN_PROGRESS", physical=r["physical"],
                   token=token)
            yield state.step_delay
            reason = _take_failure(state, stk, lg, st(state).fail_deletes)
            if reason:
                _event(stk, lg, r["type"], "DELETE_FAILED", reason,
                       physical=r["physical"], token=token)
                _stack_event(stk, "DELETE_FAILED", "The following resource(s) failed "
                             "to delete: [%s]. " % lg, token=token)
                return
            _delete_physical(state, stk, r)
            del stk["resources"][lg]
            _event(stk, lg, r["type"], "DELETE_COMPLETE", physical=r["physical"],
                   token=token)
        stk["resources"] = {}
        for cid in stk["change_sets"]:
            st(state).change_sets[cid]["deleted"] = True
        _stack_event(stk, "DELETE_COMPLETE", token=token)
        stk["deleted"] = True
        key = (stk["account"], stk["region"], stk["name"])
        if st(state).names.get(key) == stk["id"]:
            del st(state).names[key]
    ecs.drive(state, gen())
    return {}


# ---------------------------------------------------------------- control API

def control_fail_resource(state, body):
    if not body.get("logical_id"):
        raise ValueError("logical_id is required")
    with state.lock:
        f = {"account": body.get("account", "*"), "region": body.get("region", "*"),
             "stack": body.get("stack", "*"), "logical_id": body["logical_id"],
             "count": int(body.get("count", 1)),
             "reason": body.get("reason") or (
                 "Resource handler returned message: \"Injected failure for %s\" "
                 "(RequestToken: %s, HandlerErrorCode: GeneralServiceException)"
                 % (body["logical_id"], uuid.uuid4()))}
        st(state).fail_resources.append(f)
        return f


def control_fail_rollback(state, body):
    """The rollback of an update cannot put logical_id back: the stack
    ends UPDATE_ROLLBACK_FAILED (count times; ContinueUpdateRollback tries
    again)."""
    if not body.get("logical_id"):
        raise ValueError("logical_id is required")
    with state.lock:
        f = {"account": body.get("account", "*"), "region": body.get("region", "*"),
             "stack": body.get("stack", "*"), "logical_id": body["logical_id"],
             "count": int(body.get("count", 1)),
             "reason": body.get("reason") or (
                 "Resource handler returned message: \"Service was unable to place "
                 "a task: the old task definition cannot stabilise (injected rollback "
                 "failure of %s)\" (RequestToken: %s, HandlerErrorCode: "
                 "NotStabilized)" % (body["logical_id"], uuid.uuid4()))}
        st(state).fail_rollbacks.append(f)
        return f


def control_fail_delete(state, body):
    """DeleteStack cannot delete logical_id: the stack ends DELETE_FAILED
    (count times); it may be deleted again."""
    if not body.get("logical_id"):
        raise ValueError("logical_id is required")
    with state.lock:
        f = {"account": body.get("account", "*"), "region": body.get("region", "*"),
             "stack": body.get("stack", "*"), "logical_id": body["logical_id"],
             "count": int(body.get("count", 1)),
             "reason": body.get("reason") or (
                 "Resource handler returned message: \"The resource is in use "
                 "(injected deletion failure of %s)\" (RequestToken: %s, "
                 "HandlerErrorCode: ResourceConflict)" % (body["logical_id"],
                                                          uuid.uuid4()))}
        st(state).fail_deletes.append(f)
        return f


def control_fail_change_set_delete(state, body):
    with state.lock:
        st(state).fail_change_set_deletes = int(body.get("count", 1))
        return {"count": st(state).fail_change_set_deletes}


def control_update_stack(state, body):
    """The stack updated from elsewhere (a person in the console, another
    tool): its events say so, and every change set still waiting on it
    becomes OBSOLETE, as on AWS."""
    acct = body.get("account")
    region = body.get("region") or "eu-west-1"
    name = body.get("stack")
    if not acct or not name:
        raise ValueError("account and stack are required")
    with state.lock:
        s = st(state)
        sid = s.names.get((acct, region, name))
        stk = s.stacks.get(sid) if sid else None
        if stk is None:
            raise ValueError("stack %s does not exist in %s/%s" % (name, acct, region))
        if stk["status"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE",
                                 "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"):
            raise ValueError("stack %s is %s: it cannot be updated" % (
                name, stk["status"]))
        obsolete = []
        for cid in stk["change_sets"]:
            c = s.change_sets.get(cid)
            if c and not c["deleted"] and c["execution_status"] in ("AVAILABLE",
                                                                    "UNAVAILABLE") \
                    and c["status"] in ("CREATE_PENDING", "CREATE_IN_PROGRESS",
                                        "CREATE_COMPLETE"):
                c["execution_status"] = "OBSOLETE"
                obsolete.append(c["name"])
        _stack_event(stk, "UPDATE_IN_PROGRESS", "User Initiated")

        def gen():
            yield state.step_delay
            _stack_event(stk, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            yield state.step_delay
            stk["updated"] = time.time()
            stk["change_set_id"] = None
            _stack_event(stk, "UPDATE_COMPLETE")
        ecs.drive(state, gen())
        return {"stack": stk["id"], "obsolete": obsolete}


def control_no_changes(state, body):
    answer = body.get("answer")
    if answer not in NO_CHANGES_ANSWERS:
        raise ValueError("answer: one of %s" % ", ".join(NO_CHANGES_ANSWERS))
    with state.lock:
        st(state).no_changes = answer
        return {"answer": answer}


def executions(state):
    with state.lock:
        return {k: dict(v) for k, v in st(state).executions.items()}


def dump(state):
    s = st(state)
    return {"stacks": {sid: {"name": x["name"], "status": x["status"],
                             "params": x["params"],
                             "resources": {k: r["physical"] for k, r in
                                           x["resources"].items()},
                             "change_sets": x["change_sets"]}
                       for sid, x in s.stacks.items()},
            "change_sets": {cid: {"name": c["name"], "status": c["status"],
                                  "execution_status": c["execution_status"],
                                  "status_reason": c["status_reason"],
                                  "deleted": c["deleted"], "changes": c["changes"],
                                  "stack": c.get("stack_name"),
                                  "parameters": c.get("values")}
                            for cid, c in s.change_sets.items()},
            "executions": s.executions, "fail_resources": s.fail_resources,
            "fail_rollbacks": s.fail_rollbacks}
