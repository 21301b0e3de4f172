#!/usr/bin/python3
"""Least privilege, proven from the code (issue 18).

    aws-policy.py --shipgated PATH [--templates DIR]

Reads aws/shipgate-tools.yaml and aws/shipgate-deployer.yaml as
CloudFormation YAML (short intrinsic tags included) and checks, printing TAP:

- every Ref, GetAtt, Sub variable, condition name and DependsOn resolves
  to a parameter, resource, condition or pseudo-parameter;
- the operations `shipgated --list-operations` prints (one line per AWS
  operation the daemon can sign: ACTION<TAB>ACCOUNT<TAB>RESOURCE) are
  exactly what the roles grant: the bastion's role (tools template) for the
  tools account, the deployer role's own policy (deployer template) for
  the environment and registry accounts.  An action granted that the
  daemon never calls fails; an operation called that no policy grants
  fails.  Actions that need no grant (NO_GRANT) are named with why, and
  so are those AWS makes with the role's credentials for shipgated
  (IMPLIED: CloudFormation reading a TemplateURL), granted through
  CloudFormation only;
- what the deployer role lets CloudFormation do on its behalf while it
  executes a change set is only ON_BEHALF, and only through CloudFormation
  (an aws:CalledVia condition on each statement);
- no statement has Resource "*" unless AWS has no resource-level
  permission for every action in it (STAR_OK, each with its reason), no
  Allow has an action wildcard, and a statement's resources are of the
  kind the operation touches;
- the deployer role's trust names one principal and requires the
  external id.

The operation list comes from the binary, never from a file here: the
policy cannot silently rot when an issue adds a call.
"""

import argparse
import copy
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

# Operations shipgated makes that IAM does not authorise.
NO_GRANT = {
    "sts:GetCallerIdentity": "AWS answers it for any valid credentials; "
                             "no policy can allow or deny it",
}

# Actions that take no resource ARN in IAM (the Service Authorization
# Reference lists no resource type for them): a statement may name "*".
STAR_OK = {
    "ecr:GetAuthorizationToken": "the token is for the account's registry, "
                                 "not for a repository",
    "ecs:RegisterTaskDefinition": "a task definition that does not exist "
                                  "yet has no ARN to name",
    "ecs:DeregisterTaskDefinition": "ECS authorises it on no resource type",
    "ecs:DescribeTaskDefinition": "ECS authorises it on no resource type",
    "cloudformation:DescribeStackDriftDetectionStatus":
        "CloudFormation authorises it on no resource type (it takes a "
        "detection id, not a stack)",
}

# What CloudFormation does with the deployer role's credentials while it
# executes a change set on an ECS service stack (the stack's own
# resources, not calls of shipgated): allowed only with aws:CalledVia
# cloudformation.amazonaws.com.
ON_BEHALF = {
    "ecs:RegisterTaskDefinition": "a new revision of the service's task "
                                  "definition",
    "ecs:DeregisterTaskDefinition": "the revision the update replaced",
    "ecs:DescribeTaskDefinition": "CloudFormation reads the revision back",
    "ecs:CreateService": "the stack's first deployment",
    "ecs:UpdateService": "every later deployment",
    "ecs:DeleteService": "a service the template no longer has",
    "iam:PassRole": "the task and execution roles named in the task "
                    "definition (iam:PassedToService ecs-tasks)",
    "s3:GetObject": "a template over 51,200 bytes, read from the artifacts "
                    "bucket by TemplateURL with the caller's credentials",
}

# Operations of the list that AWS makes with the deployer role's
# credentials for shipgated, not shipgated itself: granted through
# CloudFormation only (they are in ON_BEHALF too).
IMPLIED = {
    "s3:GetObject": "CloudFormation reads a TemplateURL with the "
                    "credentials of the CreateChangeSet call",
}

ACCOUNTS = {"tools", "environment", "registry"}
# The kinds as shipgated spells them (aws-op.h's struct aws_grant); a
# template's ARN is read as one of these too (kind_of).
KINDS = {"stack", "change-set", "object", "bucket", "queue", "repository",
         "role", "identity", "service", "*"}
# An operation on a change set is authorised on its stack's ARN.
KIND_GRANTED_BY = {"change-set": {"change-set", "stack"}}

PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue",
          "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName",
          "AWS::URLSuffix"}

CALLED_VIA_CFN = "cloudformation.amazonaws.com"

# ------------------------------------------------------------------ TAP

_n = 0
_failed = 0


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print("ok %d - %s" % (_n, name))
    else:
        _failed += 1
        print("not ok %d - %s" % (_n, name))
        for line in (diag or "").splitlines():
            print("# " + line)
    sys.stdout.flush()
    return cond


def bail(why):
    print("Bail out! " + why)
    sys.exit(1)


# ------------------------------------------------- CloudFormation YAML

class Fn(object):
    """An intrinsic function: name ("Ref", "Fn::Sub"...) and its operand."""

    def __init__(self, name, value):
        self.name = name
        self.value = value

    def __repr__(self):
        return "%s(%r)" % (self.name, self.value)


SHORT = ["Ref", "Sub", "GetAtt", "If", "Join", "Select", "Split",
         "Equals", "Not", "And", "Or", "Condition", "FindInMap", "Base64",
         "GetAZs", "ImportValue", "Cidr", "Transform", "Length",
         "ToJsonString"]


class CfnLoader(yaml.SafeLoader):
    pass


def _make(tag):
    name = tag if tag in ("Ref", "Condition") else "Fn::" + tag

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            v = loader.construct_scalar(node)
            if tag == "GetAtt":
                v = v.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            v = loader.construct_sequence(node, deep=True)
        else:
            v = loader.construct_mapping(node, deep=True)
        return Fn(name, v)
    return construct


for _t in SHORT:
    CfnLoader.add_constructor("!" + _t, _make(_t))


def load(path):
    with open(path) as f:
        doc = yaml.load(f, Loader=CfnLoader)
    return to_fn(doc)


def to_fn(v):
    """The long forms ({"Ref": x}, {"Fn::Sub": ...}) as Fn too."""
    if isinstance(v, dict):
        if len(v) == 1:
            k = next(iter(v))
            if k == "Ref" or k == "Condition" and not isinstance(
                    v[k], (dict, list)) or k.startswith("Fn::"):
                inner = to_fn(v[k])
                if k == "Fn::GetAtt" and isinstance(inner, str):
                    inner = inner.split(".", 1)
                return Fn(k, inner)
        return {k: to_fn(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_fn(x) for x in v]
    if isinstance(v, Fn):
        return Fn(v.name, to_fn(v.value))
    return v


def walk(v, path=()):
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            for r in walk(x, path + (str(k),)):
                yield r
    elif isinstance(v, list):
        for i, x in enumerate(v):
            for r in walk(x, path + (str(i),)):
                yield r
    elif isinstance(v, Fn):
        for r in walk(v.value, path + (v.name,)):
            yield r


SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def sub_vars(s):
    """The variables of a Sub string (${!X} is a literal ${X})."""
    return [m.group(1) for m in SUB_VAR.finditer(s)
            if not m.group(1).startswith("!")]


def unresolved(t):
    """Every reference of template t that names nothing: a list of text."""
    params = set((t.get("Parameters") or {}).keys())
    res = t.get("Resources") or {}
    conds = set((t.get("Conditions") or {}).keys())
    names = params | set(res.keys()) | PSEUDO
    bad = []
    for path, v in walk(t):
        where = "/".join(path)
        if not isinstance(v, Fn):
            continue
        if v.name == "Ref":
            if v.value not in names:
                bad.append("%s: Ref %s" % (where, v.value))
        elif v.name == "Fn::GetAtt":
            r = v.value[0] if isinstance(v.value, list) and v.value else None
            if r not in res:
                bad.append("%s: GetAtt %s" % (where, v.value))
        elif v.name == "Fn::Sub":
            local = set()
            s = v.value
            if isinstance(s, list):
                s, local = s[0], set((s[1] or {}).keys())
            if not isinstance(s, str):
                bad.append("%s: Sub of %r" % (where, s))
                continue
            for var in sub_vars(s):
                base = var.split(".", 1)[0] if "." in var and \
                    var.split(".", 1)[0] in res else var
                if var not in local and base not in names:
                    bad.append("%s: Sub variable ${%s}" % (where, var))
        elif v.name == "Fn::If":
            if not isinstance(v.value, list) or len(v.value) != 3 or \
                    v.value[0] not in conds:
                bad.append("%s: If %r" % (where, v.value))
        elif v.name == "Condition":
            if v.value not in conds:
                bad.append("%s: Condition %s" % (where, v.value))
    for name, r in res.items():
        c = r.get("Condition")
        if c is not None and c not in conds:
            bad.append("Resources/%s: Condition %s" % (name, c))
        dep = r.get("DependsOn") or []
        for d in [dep] if isinstance(dep, str) else dep:
            if d not in res:
                bad.append("Resources/%s: DependsOn %s" % (name, d))
    for name, o in (t.get("Outputs") or {}).items():
        c = o.get("Condition")
        if c is not None and c not in conds:
            bad.append("Outputs/%s: Condition %s" % (name, c))
    return bad


# -------------------------------------------------------------- policies

def branches(v):
    """A value with its Fn::If expanded: every alternative (NoValue
    dropped), so that what a policy may grant under any parameters is
    checked."""
    if isinstance(v, Fn) and v.name == "Fn::If":
        out = []
        for alt in v.value[1:]:
            out.extend(branches(alt))
        return out
    if v is None or (isinstance(v, Fn) and v.name == "Ref" and
                     v.value == "AWS::NoValue"):
        return []
    return [v]


def as_list(v):
    out = []
    for b in branches(v):
        if isinstance(b, list):
            for x in b:
                out.extend(branches(x))
        else:
            out.append(b)
    return out


def statements(doc):
    out = []
    for d in branches(doc):
        if not isinstance(d, dict):
            continue
        for s in as_list(d.get("Statement")):
            if isinstance(s, dict):
                out.append(s)
    return out


def identity_policies(t):
    """(name, statement) of every policy a role of t gets: the roles'
    inline policies, managed policies and AWS::IAM::Policy."""
    out = []
    for name, r in (t.get("Resources") or {}).items():
        props = r.get("Properties") or {}
        typ = r.get("Type")
        if typ == "AWS::IAM::Role":
            for p in as_list(props.get("Policies")):
                pname = p.get("PolicyName")
                for s in statements(p.get("PolicyDocument")):
                    out.append(("%s/%s" % (name, pname), s))
        elif typ in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            for s in statements(props.get("PolicyDocument")):
                out.append((name, s))
    return out


def resource_policies(t):
    out = []
    for name, r in (t.get("Resources") or {}).items():
        props = r.get("Properties") or {}
        if r.get("Type") in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
            for s in statements(props.get("PolicyDocument")):
                out.append((name, s))
    return out


def actions(s):
    return [a for a in as_list(s.get("Action")) if isinstance(a, str)]


def called_via_cfn(s):
    c = s.get("Condition") or {}
    for b in branches(c):
        if not isinstance(b, dict):
            continue
        for op, kv in b.items():
            if "StringEquals" not in op or not isinstance(kv, dict):
                continue
            v = kv.get("aws:CalledVia")
            if v == CALLED_VIA_CFN or (isinstance(v, list) and
                                       v == [CALLED_VIA_CFN]):
                return True
    return False


def sub_text(v):
    if isinstance(v, Fn) and v.name == "Fn::Sub":
        return v.value[0] if isinstance(v.value, list) else v.value
    return None


def kind_of(v, t):
    """The kind of resource an expression names (KINDS), or None."""
    if v == "*":
        return "*"
    res = t.get("Resources") or {}
    if isinstance(v, Fn) and v.name == "Fn::GetAtt":
        typ = (res.get(v.value[0]) or {}).get("Type")
        return {"AWS::S3::Bucket": "bucket", "AWS::SQS::Queue": "queue",
                "AWS::IAM::Role": "role"}.get(typ)
    if isinstance(v, Fn) and v.name == "Ref":
        p = v.value
        if p.endswith("RoleArns") or p.endswith("RoleArn"):
            return "role"
        return None
    s = sub_text(v) if not isinstance(v, str) else v
    if s is None:
        return None
    if ":s3:::" in s or re.match(r"^\$\{[A-Za-z]+\.Arn\}", s):
        if re.match(r"^\$\{([A-Za-z]+)\.Arn\}", s):
            base = re.match(r"^\$\{([A-Za-z]+)\.Arn\}", s).group(1)
            typ = (res.get(base) or {}).get("Type")
            if typ == "AWS::S3::Bucket":
                return "object" if "/" in s else "bucket"
            return None
        return "object" if "/" in s.split(":s3:::", 1)[1] else "bucket"
    for pat, kind in ((":changeSet/", "change-set"), (":stack/", "stack"),
                      (":repository/", "repository"), (":sqs:", "queue"),
                      (":role/", "role"), (":identity/", "identity"),
                      (":service/", "service")):
        if pat in s:
            return kind
    return None


def resources(s):
    return as_list(s.get("Resource"))


# -------------------------------------------------------------- the list

def list_operations(shipgated):
    try:
        p = subprocess.run([shipgated, "--list-operations"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
    except OSError as e:
        bail("cannot run %s: %s" % (shipgated, e))
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        bail("`%s --list-operations` exited %d (%s): this test needs the "
             "daemon's list of the AWS operations it signs" % (
                 shipgated, p.returncode, err[0][:200] if err else
                 "nothing on stderr"))
    ops = []
    bad = []
    for n, line in enumerate(p.stdout.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) != 3 or not re.match(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$",
                                        f[0]) or f[1] not in ACCOUNTS or \
                f[2] not in KINDS:
            bad.append("line %d: %r" % (n, line))
            continue
        ops.append(tuple(f))
    return ops, bad


# ------------------------------------------------------------------ main

def fmt(xs):
    return "\n".join(sorted(xs)) or "(none)"


def compare(label, granted, called, implied=()):
    """Two findings: granted but never called, called but not granted.
    granted: what the role's own policy allows; implied: what AWS checks
    on the role's behalf (the ON_BEHALF statements), which may also be
    what an operation of the list needs."""
    g, c = set(granted), set(called)
    return [("%s: every action granted is one shipgated calls" % label,
             sorted(g - c), "granted but never called"),
            ("%s: every operation shipgated calls is granted" % label,
             sorted(c - g - set(implied)), "called but not granted")]


def kind_problems(ops, stmts, t):
    """Each operation's resource kind is what its granting statements
    name."""
    bad = []
    for action, _acct, kind in ops:
        if action in NO_GRANT:
            continue
        for name, s in stmts:
            if action not in actions(s):
                continue
            for r in resources(s):
                k = kind_of(r, t)
                if k is None:
                    bad.append("%s in %s: cannot tell what %r names" % (
                        action, name, r))
                elif k == "*":
                    continue        # the STAR_OK finding judges it
                elif kind != "*" and k not in KIND_GRANTED_BY.get(
                        kind, {kind}):
                    bad.append("%s in %s: granted on a %s, shipgated "
                               "calls it on a %s" % (action, name, k, kind))
    return bad


def findings(t, ops):
    """What the policies of templates t get wrong against the operation
    list: (what should hold, problems, what a problem is), in order."""
    out = []
    tools_ops = [o for o in ops if o[1] == "tools"]
    env_ops = [o for o in ops if o[1] in ("environment", "registry")]

    def need(os_):
        return set(o[0] for o in os_ if o[0] not in NO_GRANT)

    # The bastion's role: every identity policy of the tools template.
    tools_stmts = identity_policies(t["tools"])
    tools_granted = [x for _n, s in tools_stmts if s.get("Effect") == "Allow"
                     for x in actions(s)]
    out += compare("tools account (bastion role)", tools_granted,
                   need(tools_ops))
    out.append(("tools account: each action is granted on the kind of "
                "resource it touches",
                kind_problems(tools_ops, tools_stmts, t["tools"]), ""))

    # The deployer role: its own calls, and CloudFormation's on its behalf.
    dep_stmts = identity_policies(t["deployer"])
    own = [(n, s) for n, s in dep_stmts if not called_via_cfn(s)]
    via = [(n, s) for n, s in dep_stmts if called_via_cfn(s)]
    own_granted = [x for _n, s in own if s.get("Effect") == "Allow"
                   for x in actions(s)]
    via_granted = set(x for _n, s in via for x in actions(s))
    out += compare("environment and registry accounts (deployer role)",
                   own_granted, need(env_ops), via_granted & set(IMPLIED))
    out.append(("deployer role: each action is granted on the kind of "
                "resource it touches",
                kind_problems(env_ops, dep_stmts, t["deployer"]), ""))
    out.append(("what CloudFormation may do on the deployer's behalf is "
                "the documented list, each only through CloudFormation",
                ["granted, not documented: " + x
                 for x in sorted(via_granted - set(ON_BEHALF))] +
                ["documented, not granted: " + x
                 for x in sorted(set(ON_BEHALF) - via_granted)], ""))
    out.append(("no on-behalf action is also granted without aws:CalledVia",
                sorted(set(own_granted) & (set(ON_BEHALF) -
                                           need(env_ops))), ""))

    # Resource "*" and wildcards, in every policy of both templates.
    star, wild, noeffect = [], [], []
    for k in sorted(t):
        for name, s in identity_policies(t[k]) + resource_policies(t[k]):
            if s.get("Effect") not in ("Allow", "Deny"):
                noeffect.append("%s: %r" % (name, s))
            if "*" in resources(s) or "NotResource" in s:
                for x in actions(s):
                    if x not in STAR_OK:
                        star.append("%s in %s/%s" % (x, k, name))
            if s.get("Effect") == "Allow" and ("NotAction" in s or any(
                    "*" in x for x in actions(s))):
                wild.append("%s/%s: %r" % (k, name, actions(s)))
    out.append(("Resource \"*\" only for actions with no resource-level "
                "permission (%s)" % ", ".join(sorted(STAR_OK)), star, ""))
    out.append(("no Allow grants an action wildcard or NotAction", wild, ""))
    out.append(("every statement says Allow or Deny", noeffect, ""))
    unused_star = set(STAR_OK) - set(
        x for k in t for _n, s in identity_policies(t[k])
        if "*" in resources(s) for x in actions(s))
    out.append(("every action of the Resource \"*\" list is used",
                sorted(unused_star), ""))

    # Resource policies admit principals, never everyone, when they allow.
    open_allow = []
    for k in sorted(t):
        for name, s in resource_policies(t[k]):
            if s.get("Effect") == "Allow" and s.get("Principal") in (
                    "*", {"AWS": "*"}):
                open_allow.append("%s/%s" % (k, name))
    out.append(("no bucket or queue policy allows everyone", open_allow, ""))

    # The deployer's trust: the bastion's role, with the external id.
    role = [r for r in t["deployer"]["Resources"].values()
            if r.get("Type") == "AWS::IAM::Role"]
    trust = statements(role[0]["Properties"]["AssumeRolePolicyDocument"]) \
        if len(role) == 1 else []
    bad = [] if trust else ["no trust policy"]
    for s in trust:
        p = s.get("Principal") or {}
        cond = (s.get("Condition") or {}).get("StringEquals") or {}
        if s.get("Effect") != "Allow" or p == "*" or \
                not isinstance(p, dict) or list(p.keys()) != ["AWS"] or \
                p["AWS"] == "*" or "sts:ExternalId" not in cond or \
                actions(s) != ["sts:AssumeRole"]:
            bad.append(repr(s))
    out.append(("the deployer role trusts one principal, and only with the "
                "external id", bad, ""))

    # The queue policy lets exactly the release bucket send.
    qp = [s for n, s in resource_policies(t["tools"])
          if t["tools"]["Resources"][n]["Type"] == "AWS::SQS::QueuePolicy"]
    good = len(qp) == 1 and qp[0].get("Principal") == {
        "Service": "s3.amazonaws.com"} and actions(qp[0]) == [
        "sqs:SendMessage"] and "aws:SourceArn" in (
        (qp[0].get("Condition") or {}).get("ArnEquals") or {})
    out.append(("the queue policy admits S3 for the release bucket only "
                "(aws:SourceArn)", [] if good else [repr(qp)], ""))
    return out


def plant(t):
    """A copy of the templates with mistakes the findings must catch: the
    bastion may also delete any object, the deployer no longer reads ECS
    services."""
    t = copy.deepcopy(t)
    pol = t["tools"]["Resources"]["BastionAppPolicy"]["Properties"]
    pol["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"})
    for r in t["deployer"]["Resources"].values():
        for p in as_list((r.get("Properties") or {}).get("Policies")):
            st = p["PolicyDocument"]["Statement"]
            st[:] = [x for x in st if not (isinstance(x, dict) and
                                           x.get("Sid") == "ReadServices")]
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shipgated", required=True)
    ap.add_argument("--templates", default=os.path.join(
        HERE, "..", "..", "aws"))
    a = ap.parse_args()

    paths = {"tools": os.path.join(a.templates, "shipgate-tools.yaml"),
             "deployer": os.path.join(a.templates, "shipgate-deployer.yaml")}
    t = {}
    for k, p in sorted(paths.items()):
        try:
            t[k] = load(p)
            good = isinstance(t[k], dict) and "Resources" in t[k]
            why = "no Resources"
        except (OSError, yaml.YAMLError) as e:
            good, why = False, str(e)
        ok(good, "%s parses as CloudFormation YAML" % os.path.basename(p),
           why)
        if not good:
            bail("cannot read %s" % p)
    for k in sorted(t):
        bad = unresolved(t[k])
        ok(not bad, "every reference in %s resolves to a parameter, "
           "resource, condition or pseudo-parameter" %
           os.path.basename(paths[k]), "\n".join(bad))
    # The check itself catches a dangling reference.
    planted = load(paths["tools"])
    planted["Outputs"]["Planted"] = {"Value": Fn("Fn::Sub", "${NoSuchThing}")}
    ok(len(unresolved(planted)) == 1 and
       unresolved(planted)[0].endswith("Sub variable ${NoSuchThing}"),
       "a planted dangling ${NoSuchThing} is caught", repr(unresolved(planted)))

    ops, bad = list_operations(a.shipgated)
    ok(not bad and ops, "`shipgated --list-operations` prints ACTION, "
       "ACCOUNT (tools|environment|registry) and RESOURCE per line",
       "\n".join(bad) or "no line")
    print("# %d operations listed" % len(ops))

    for what, problems, label in findings(t, ops):
        ok(not problems, what, (label + ":\n" if label else "") +
           "\n".join(problems))

    # The findings themselves catch planted mistakes.
    got = dict((w, p) for w, p, _l in findings(plant(t), ops))
    caught = [
        "s3:DeleteObject" in got["tools account (bastion role): every "
                                 "action granted is one shipgated calls"],
        any(x.startswith("s3:DeleteObject ") for x in got[
            "Resource \"*\" only for actions with no resource-level "
            "permission (%s)" % ", ".join(sorted(STAR_OK))]),
        "ecs:DescribeServices" in got[
            "environment and registry accounts (deployer role): every "
            "operation shipgated calls is granted"]
        or "ecs:DescribeServices" not in [o[0] for o in ops],
    ]
    ok(all(caught), "a planted extra grant, Resource \"*\" and missing "
       "grant are caught", repr(caught))

    print("1..%d" % _n)
    return 1 if _failed else 0


if __name__ == "__main__":
    sys.exit(main())
