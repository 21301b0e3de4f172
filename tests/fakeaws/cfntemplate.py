"""CloudFormation templates: parsing (JSON, YAML with short tags), intrinsic
function evaluation, and the resource diff behind a change set's Changes."""

import base64
import json
import re

import yaml

SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
            "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs",
            "Globals"}
NOVALUE = object()


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------- loading

class _Loader(yaml.SafeLoader):
    pass


# CloudFormation reads unquoted dates as strings: drop the timestamp resolver.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _construct(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _tag(loader, suffix, node):
    value = _construct(loader, node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        res, _, attr = value.partition(".")
        return {"Fn::GetAtt": [res, attr]}
    return {"Fn::" + suffix: value}


_Loader.add_multi_constructor("!", _tag)


def _norm(v):
    """Scalars as CloudFormation sees them: strings (true/false lower-case)."""
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return v


def load(text):
    """Parse a template; raise TemplateError("Template format error: ...")."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateError("Template format error: unsupported encoding")
    s = text.lstrip()
    if s.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise TemplateError("Template format error: JSON not well-formed. (line %d, "
                                "column %d)" % (getattr(e, "lineno", 0),
                                                getattr(e, "colno", 0)))
    else:
        try:
            doc = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            if mark is not None:
                raise TemplateError("Template format error: YAML not well-formed. (line "
                                    "%d, column %d)" % (mark.line + 1, mark.column + 1))
            raise TemplateError("Template format error: YAML not well-formed.")
    if not isinstance(doc, dict):
        raise TemplateError("Template format error: not a valid template")
    doc = _norm(doc)
    validate(doc)
    return doc


def validate(doc):
    for k in doc:
        if k not in SECTIONS or (k == "Globals" and "Transform" not in doc):
            raise TemplateError("Template format error: Invalid template property or "
                                "properties [%s]" % k)
    res = doc.get("Resources")
    if not isinstance(res, dict) or not res:
        raise TemplateError("Template format error: At least one Resources member must "
                            "be defined.")
    for name, r in res.items():
        if not re.match(r"^[A-Za-z0-9]+$", name):
            raise TemplateError("Template format error: Resource name %s is "
                                "non alphanumeric." % name)
        if not isinstance(r, dict) or "Type" not in r:
            raise TemplateError("Template format error: [/Resources/%s] Every Resources "
                                "object must contain a Type member." % name)
        if not isinstance(r.get("Properties", {}), dict):
            raise TemplateError("Template error: [/Resources/%s/Properties] must be an "
                                "object" % name)
    params = doc.get("Parameters") or {}
    if not isinstance(params, dict):
        raise TemplateError("Template format error: Parameters must be an object")
    # Every Ref, Fn::GetAtt, ${} and DependsOn must name something.
    known = set(params) | set(res)
    unresolved = []
    for name, r in res.items():
        deps = r.get("DependsOn")
        deps = [deps] if isinstance(deps, str) else (deps or [])
        for d in deps:
            if d not in res and d not in unresolved:
                unresolved.append(d)
        for kind, ref, attr in sorted(refs(r.get("Properties") or {}),
                                      key=lambda x: (x[1], x[2] or "")):
            if ref.startswith("AWS::"):
                continue
            if (ref not in known or (attr is not None and ref not in res)) and \
                    ref not in unresolved:
                unresolved.append(ref)
    if unresolved:
        raise TemplateError("Template format error: Unresolved resource dependencies "
                            "[%s] in the Resources block of the template"
                            % ", ".join(unresolved))
    for name, o in (doc.get("Outputs") or {}).items():
        for kind, ref, attr in refs(o if isinstance(o, dict) else {}):
            if not ref.startswith("AWS::") and (ref not in known or
                                               (attr is not None and ref not in res)):
                raise TemplateError("Template format error: Unresolved resource "
                                    "dependencies [%s] in the Outputs block of the "
                                    "template" % ref)
    for name, p in params.items():
        if not isinstance(p, dict) or "Type" not in p:
            raise TemplateError("Template format error: Every Parameters object must "
                                "contain a Type member.")
    for section in ("Outputs", "Conditions", "Mappings"):
        if section in doc and not isinstance(doc[section], dict):
            raise TemplateError("Template format error: %s must be an object" % section)


def required_capabilities(doc):
    caps = set()
    for r in doc["Resources"].values():
        t = r.get("Type", "")
        props = r.get("Properties") or {}
        if t.startswith("AWS::IAM::"):
            named = any(k in props for k in ("RoleName", "UserName", "GroupName",
                                             "ManagedPolicyName", "InstanceProfileName"))
            caps.add("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
    if doc.get("Transform"):
        caps.add("CAPABILITY_AUTO_EXPAND")
    if "CAPABILITY_NAMED_IAM" in caps:
        caps.discard("CAPABILITY_IAM")
    return caps


# ---------------------------------------------------------------- references

def refs(node, out=None):
    """Names a value depends on: ("param"|"res", name, attr-or-None)."""
    if out is None:
        out = set()
    if isinstance(node, dict):
        if len(node) == 1:
            k, v = next(iter(node.items()))
            if k == "Ref" and isinstance(v, str):
                out.add(("ref", v, None))
                return out
            if k == "Fn::GetAtt":
                if isinstance(v, list) and v and isinstance(v[0], str):
                    out.add(("ref", v[0], v[1] if len(v) > 1 and
                             isinstance(v[1], str) else None))
                elif isinstance(v, str):
                    a, _, b = v.partition(".")
                    out.add(("ref", a, b))
                return out
            if k == "Fn::Sub":
                s = v[0] if isinstance(v, list) and v else v
                local = set(v[1].keys()) if isinstance(v, list) and len(v) > 1 and \
                    isinstance(v[1], dict) else set()
                if isinstance(s, str):
                    for m in re.finditer(r"\$\{([^!}][^}]*)\}", s):
                        name, _, attr = m.group(1).partition(".")
                        if name not in local:
                            out.add(("ref", name, attr or None))
                if isinstance(v, list) and len(v) > 1:
                    refs(v[1], out)
                return out
        for x in node.values():
            refs(x, out)
    elif isinstance(node, list):
        for x in node:
            refs(x, out)
    return out


def depends(doc, name):
    r = doc["Resources"][name]
    deps = set()
    for kind, n, _ in refs(r.get("Properties") or {}):
        if n in doc["Resources"]:
            deps.add(n)
    d = r.get("DependsOn")
    if isinstance(d, str):
        deps.add(d)
    elif isinstance(d, list):
        deps.update(x for x in d if isinstance(x, str))
    deps.discard(name)
    return deps & set(doc["Resources"])


def order(doc, names):
    """Topological order of `names` (creation order); cycles fall back to
    template order."""
    names = [n for n in doc["Resources"] if n in names]
    done, out = set(), []
    progress = True
    while len(out) < len(names) and progress:
        progress = False
        for n in names:
            if n in done:
                continue
            if all(d in done or d not in names for d in depends(doc, n)):
                out.append(n)
                done.add(n)
                progress = True
    out += [n for n in names if n not in done]
    return out


# ---------------------------------------------------------------- evaluation

class Context(object):
    def __init__(self, doc, params, pseudo, resource_ref=None, resource_att=None,
                 import_value=None):
        self.doc = doc
        self.params = params           # name -> str or list
        self.pseudo = pseudo           # "AWS::Region" -> value
        self.resource_ref = resource_ref or (lambda n: n)
        self.resource_att = resource_att or (lambda n, a: "%s.%s" % (n, a))
        self.import_value = import_value or (lambda n: "imported:%s" % n)
        self._conds = {}

    def condition(self, name):
        if name not in self._conds:
            conds = self.doc.get("Conditions") or {}
            if name not in conds:
                raise TemplateError("Template format error: Unresolved dependencies "
                                    "[%s]. Cannot reference resources in the Conditions "
                                    "block of the template" % name)
            self._conds[name] = None
            self._conds[name] = bool(self.eval(conds[name]))
        v = self._conds[name]
        return bool(v)

    def active(self, res_name):
        c = self.doc["Resources"][res_name].get("Condition")
        return True if c is None else self.condition(c)

    def eval(self, node):
        v = self._eval(node)
        return v

    def _eval(self, node):
        if isinstance(node, list):
            out = []
            for x in node:
                y = self._eval(x)
                if y is not NOVALUE:
                    out.append(y)
            return out
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            k, v = next(iter(node.items()))
            if k == "Ref":
                return self._ref(v)
            if k == "Condition" and isinstance(v, str):
                return self.condition(v)
            if k.startswith("Fn::"):
                return self._fn(k[4:], v)
        out = {}
        for k, x in node.items():
            y = self._eval(x)
            if y is not NOVALUE:
                out[k] = y
        return out

    def _ref(self, name):
        if name == "AWS::NoValue":
            return NOVALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.doc["Resources"]:
            return self.resource_ref(name)
        raise TemplateError("Template format error: Unresolved resource dependencies "
                            "[%s] in the Resources block of the template" % name)

    def _str(self, v):
        if isinstance(v, list):
            return ",".join(self._str(x) for x in v)
        if isinstance(v, bool):
            return "true" if v else "false"
        return "" if v is None or v is NOVALUE else str(v)

    def _fn(self, fn, v):
        if fn == "GetAtt":
            if isinstance(v, str):
                a, _, b = v.partition(".")
                v = [a, b]
            v = [self._eval(x) for x in v]
            return self.resource_att(v[0], v[1] if len(v) > 1 else "")
        if fn == "Sub":
            if isinstance(v, list):
                s, env = v[0], {k: self._eval(x) for k, x in (v[1] if len(v) > 1
                                                               else {}).items()}
            else:
                s, env = v, {}

            def rep(m):
                inner = m.group(1)
                if inner.startswith("!"):
                    return "${" + inner[1:] + "}"
                if inner in env:
                    return self._str(env[inner])
                name, _, attr = inner.partition(".")
                if attr and name in self.doc["Resources"]:
                    return self._str(self.resource_att(name, attr))
                return self._str(self._ref(inner))
            return re.sub(r"\$\{([^}]*)\}", rep, self._str(s))
        if fn == "Join":
            d, items = v[0], self._eval(v[1])
            if not isinstance(items, list):
                items = [items]
            return self._str(d).join(self._str(x) for x in items)
        if fn == "Select":
            i, items = self._eval(v[0]), self._eval(v[1])
            if isinstance(items, str):
                items = items.split(",")
            try:
                return items[int(i)]
            except (IndexError, ValueError, TypeError):
                raise TemplateError("Template error: Fn::Select cannot select nonexistent "
                                    "value at index %s" % i)
        if fn == "Split":
            d, s = v[0], self._eval(v[1])
            return self._str(s).split(d)
        if fn == "If":
            c = v[0]
            return self._eval(v[1] if self.condition(c) else v[2])
        if fn == "Equals":
            a, b = self._eval(v[0]), self._eval(v[1])
            return self._str(a) == self._str(b)
        if fn == "Not":
            return not self._truth(v[0])
        if fn == "And":
            return all(self._truth(x) for x in v)
        if fn == "Or":
            return any(self._truth(x) for x in v)
        if fn == "FindInMap":
            m, k1, k2 = [self._eval(x) for x in v[:3]]
            try:
                return self.doc["Mappings"][m][k1][k2]
            except (KeyError, TypeError):
                raise TemplateError("Template error: Unable to get mapping for %s::%s::%s"
                                    % (m, k1, k2))
        if fn == "ImportValue":
            return self.import_value(self._str(self._eval(v)))
        if fn == "Base64":
            return base64.b64encode(self._str(self._eval(v)).encode()).decode()
        if fn == "GetAZs":
            r = self._str(self._eval(v)) or self.pseudo.get("AWS::Region", "us-east-1")
            return [r + "a", r + "b", r + "c"]
        if fn == "Cidr":
            n = int(self._eval(v[1]))
            return ["10.0.%d.0/24" % i for i in range(n)]
        if fn == "Length":
            x = self._eval(v)
            return len(x) if isinstance(x, list) else 1
        if fn == "ToJsonString":
            return json.dumps(self._eval(v), sort_keys=True)
        # Fn::Transform and others: keep the node as an opaque value.
        return {"Fn::" + fn: v}

    def _truth(self, x):
        if isinstance(x, dict) and "Condition" in x and len(x) == 1:
            return self.condition(x["Condition"])
        y = self._eval(x)
        if isinstance(y, str):
            return y.lower() == "true"
        return bool(y)


def active_resources(ctx):
    return [n for n in ctx.doc["Resources"] if ctx.active(n)]


# ---------------------------------------------------------------- replacement table

ALWAYS = "Always"
COND = "Conditionally"
NEVER = "Never"
# Properties whose change replaces the resource (a small, hand-kept table).
REPLACE = {
    "AWS::ECS::TaskDefinition": {"*": ALWAYS, "Tags": NEVER},
    "AWS::ECS::Service": {"ServiceName": ALWAYS, "Cluster": ALWAYS, "LaunchType": ALWAYS,
                          "Role": ALWAYS, "SchedulingStrategy": ALWAYS,
                          "DeploymentController": ALWAYS},
    "AWS::ECS::Cluster": {"ClusterName": ALWAYS},
    "AWS::EC2::Instance": {"KeyName": ALWAYS, "ImageId": ALWAYS, "InstanceType": COND,
                           "AvailabilityZone": ALWAYS, "SubnetId": ALWAYS,
                           "UserData": COND, "SecurityGroups": ALWAYS},
    "AWS::S3::Bucket": {"BucketName": ALWAYS, "ObjectLockEnabled": ALWAYS},
    "AWS::SQS::Queue": {"QueueName": ALWAYS, "FifoQueue": ALWAYS},
    "AWS::IAM::Role": {"RoleName": ALWAYS, "Path": ALWAYS},
    "AWS::IAM::Policy": {},
    "AWS::Logs::LogGroup": {"LogGroupName": ALWAYS, "KmsKeyId": NEVER},
    "AWS::ECR::Repository": {"RepositoryName": ALWAYS},
    "AWS::Lambda::Function": {"FunctionName": ALWAYS, "PackageType": ALWAYS},
    "AWS::ElasticLoadBalancingV2::TargetGroup": {"Name": ALWAYS, "Port": ALWAYS,
                                                 "Protocol": ALWAYS, "VpcId": ALWAYS,
                                                 "TargetType": ALWAYS},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name": ALWAYS, "Scheme": ALWAYS,
                                                  "Type": ALWAYS},
    "AWS::ElasticLoadBalancingV2::ListenerRule": {"ListenerArn": ALWAYS},
    "AWS::EC2::SecurityGroup": {"GroupDescription": ALWAYS, "GroupName": ALWAYS,
                                "VpcId": ALWAYS},
    "AWS::SecretsManager::Secret": {"Name": ALWAYS},
}
RESOURCE_ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy",
                       "UpdateReplacePolicy")


def requires_recreation(rtype, prop):
    t = REPLACE.get(rtype, {})
    if prop in t:
        return t[prop]
    return t.get("*", NEVER)


def _target(rtype, prop):
    if prop == "Tags":
        return {"Attribute": "Tags", "RequiresRecreation": NEVER}
    return {"Attribute": "Properties", "Name": prop,
            "RequiresRecreation": requires_recreation(rtype, prop)}


def diff(old_doc, old_ctx, old_phys, new_doc, new_ctx, changed_params):
    """ResourceChange list (AWS shapes) from the old stack to the new template.

    old_doc/old_ctx may be None (a new stack).  old_phys: logical -> physical
    id.  changed_params: set of parameter names whose value changed."""
    new_active = active_resources(new_ctx)
    old_active = active_resources(old_ctx) if old_doc else []
    changes = []
    replaced = set()
    modify = {}
    for name in new_active:
        nr = new_doc["Resources"][name]
        if name not in old_active:
            changes.append(("Add", name, nr["Type"], None))
            replaced.add(name)
            continue
        orr = old_doc["Resources"][name]
        if orr["Type"] != nr["Type"]:
            raise TemplateError("Update of resource type is not permitted. The new "
                                "template modifies resource type of the following "
                                "resources: [%s]" % name)
        details = []
        op = orr.get("Properties") or {}
        np = nr.get("Properties") or {}
        for prop in _ordered_keys(op, np):
            if op.get(prop) != np.get(prop):
                details.append({"Target": _target(nr["Type"], prop),
                                "Evaluation": "Static",
                                "ChangeSource": "DirectModification"})
        for attr in RESOURCE_ATTRIBUTES:
            if orr.get(attr) != nr.get(attr):
                details.append({"Target": {"Attribute": attr,
                                           "RequiresRecreation": NEVER},
                                "Evaluation": "Static",
                                "ChangeSource": "DirectModification"})
        # Properties that reference a parameter whose value changed: a dynamic
        # direct modification, then the static parameter references.
        dyns, statics = [], []
        for prop in np:
            for kind, ref, _ in sorted(refs(np[prop]), key=lambda x: (x[1], x[2] or "")):
                if ref in changed_params:
                    t = _target(nr["Type"], prop)
                    dyn = {"Target": t, "Evaluation": "Dynamic",
                           "ChangeSource": "DirectModification"}
                    if dyn not in dyns:
                        dyns.append(dyn)
                    statics.append({"Target": t, "Evaluation": "Static",
                                    "ChangeSource": "ParameterReference",
                                    "CausingEntity": ref})
        details = details + dyns + statics
        modify[name] = details
    # Propagate replacements to resources that reference them.
    for name, details in modify.items():
        if _replacement(details) == "True":
            replaced.add(name)
    again = True
    while again:
        again = False
        for name in new_active:
            if name not in modify:
                continue
            nr = new_doc["Resources"][name]
            details = modify[name]
            for prop, val in (nr.get("Properties") or {}).items():
                for kind, ref, attr in sorted(refs(val), key=lambda x: (x[1], x[2] or "")):
                    if ref == name or ref not in replaced:
                        continue
                    d = {"Target": _target(nr["Type"], prop), "Evaluation": "Static",
                         "ChangeSource": "ResourceAttribute" if attr else
                         "ResourceReference",
                         "CausingEntity": ref + ("." + attr if attr else "")}
                    if d in details:
                        continue
                    details.append(d)
                    if _replacement(details) == "True" and name not in replaced:
                        replaced.add(name)
                        again = True
    out = []
    for kind, name, rtype, _ in changes:
        out.append({"Type": "Resource", "ResourceChange": {
            "Action": "Add", "LogicalResourceId": name, "ResourceType": rtype,
            "Scope": [], "Details": []}})
    for name in new_active:
        if name in modify and modify[name]:
            details = modify[name]
            scope = []
            for d in details:
                a = d["Target"]["Attribute"]
                if a not in scope:
                    scope.append(a)
            out.append({"Type": "Resource", "ResourceChange": {
                "Action": "Modify", "LogicalResourceId": name,
                "PhysicalResourceId": old_phys.get(name, name),
                "ResourceType": new_doc["Resources"][name]["Type"],
                "Replacement": _replacement(details), "Scope": scope,
                "Details": details}})
    for name in old_active:
        if name not in new_active:
            out.append({"Type": "Resource", "ResourceChange": {
                "Action": "Remove", "LogicalResourceId": name,
                "PhysicalResourceId": old_phys.get(name, name),
                "ResourceType": old_doc["Resources"][name]["Type"],
                "Scope": [], "Details": []}})
    # Stable order: as the new template lists them, removals last.
    pos = {n: i for i, n in enumerate(new_doc["Resources"])}
    out.sort(key=lambda c: (c["ResourceChange"]["Action"] == "Remove",
                            pos.get(c["ResourceChange"]["LogicalResourceId"], 1 << 30)))
    return out


def _ordered_keys(a, b):
    keys = list(a)
    keys += [k for k in b if k not in a]
    return keys


def _replacement(details):
    rr = [d["Target"].get("RequiresRecreation") for d in details]
    if ALWAYS in rr:
        return "True"
    if COND in rr:
        return "Conditionally"
    return "False"
