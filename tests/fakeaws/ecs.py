"""ECS (JSON 1.1): clusters, task definitions and services that CloudFormation
stacks create, with deployments that roll out over time (or fail and roll
back through the circuit breaker when a test asks)."""

import random
import re
import time
import uuid

from core import AwsError

OPERATIONS = {"DescribeServices", "DescribeTaskDefinition", "DescribeClusters",
              "ListServices", "ListTaskDefinitions"}
INT_KEYS = {"cpu", "memory", "memoryReservation", "containerPort", "hostPort",
            "startTimeout", "stopTimeout", "softLimit", "hardLimit", "interval",
            "timeout", "retries", "startPeriod", "sizeInGiB", "size", "weight", "base",
            "maximumPercent", "minimumHealthyPercent", "desiredCount"}
BOOL_KEYS = {"essential", "readonlyRootFilesystem", "privileged", "interactive",
             "pseudoTerminal", "disableNetworking", "initProcessEnabled", "readOnly",
             "enable", "rollback"}
FREE_MAPS = {"Options", "DockerLabels", "DriverOpts", "Labels", "SecretOptions"}


class EcsState(object):
    def __init__(self):
        self.clusters = {}      # (acct, region, name) -> cluster
        self.taskdefs = {}      # (acct, region, family) -> [revision dicts]
        self.services = {}      # (acct, region, cluster, name) -> service
        self.fail_next = []     # [{"account","region","service","count"}]


def st(state):
    return state.svc("ecs", EcsState)


def camel(node, parent=None):
    """CloudFormation's PascalCase properties -> the ECS API's camelCase."""
    if isinstance(node, dict):
        if parent in FREE_MAPS:
            return dict(node)
        out = {}
        for k, v in node.items():
            nk = k[:1].lower() + k[1:]
            out[nk] = camel(v, k)
        return out
    if isinstance(node, list):
        return [camel(x, parent) for x in node]
    if isinstance(node, str) and parent is not None:
        p = parent[:1].lower() + parent[1:]
        if p in INT_KEYS and re.match(r"^-?\d+$", node):
            return int(node)
        if p in BOOL_KEYS and node.lower() in ("true", "false"):
            return node.lower() == "true"
    return node


def _cluster_arn(acct, region, name):
    return "arn:aws:ecs:%s:%s:cluster/%s" % (region, acct, name)


def ensure_cluster(state, acct, region, name):
    key = (acct, region, name)
    c = st(state).clusters.get(key)
    if c is None:
        c = {"clusterArn": _cluster_arn(acct, region, name), "clusterName": name,
             "status": "ACTIVE", "registeredContainerInstancesCount": 0,
             "runningTasksCount": 0, "pendingTasksCount": 0, "activeServicesCount": 0,
             "statistics": [], "tags": [], "settings": [], "capacityProviders": [],
             "defaultCapacityProviderStrategy": []}
        st(state).clusters[key] = c
    elif c["status"] != "ACTIVE":
        c["status"] = "ACTIVE"
    return c


def delete_cluster(state, acct, region, name):
    c = st(state).clusters.get((acct, region, name))
    if c is not None:
        c["status"] = "INACTIVE"


def register_taskdef(state, acct, region, family, props):
    """A new revision from CloudFormation properties; returns its ARN."""
    revs = st(state).taskdefs.setdefault((acct, region, family), [])
    rev = len(revs) + 1
    td = camel({k: v for k, v in props.items() if k not in ("Family", "Tags")})
    td.update({"taskDefinitionArn": "arn:aws:ecs:%s:%s:task-definition/%s:%d"
               % (region, acct, family, rev), "family": family, "revision": rev,
               "status": "ACTIVE", "registeredAt": time.time(),
               "registeredBy": "arn:aws:sts::%s:assumed-role/cloudformation" % acct})
    for k in ("cpu", "memory"):
        if k in td:
            td[k] = str(td[k])
    td.setdefault("containerDefinitions", [])
    td.setdefault("volumes", [])
    td.setdefault("placementConstraints", [])
    td.setdefault("requiresAttributes", [])
    td.setdefault("compatibilities", ["EC2", "FARGATE"] if td.get("networkMode") ==
                  "awsvpc" else ["EC2"])
    for c in td["containerDefinitions"]:
        c.setdefault("essential", True)
        c.setdefault("portMappings", [])
        c.setdefault("environment", [])
        c.setdefault("mountPoints", [])
        c.setdefault("volumesFrom", [])
    revs.append(td)
    return td["taskDefinitionArn"]


def deregister_taskdef(state, arn):
    td = find_taskdef(state, arn)
    if td is not None:
        td["status"] = "INACTIVE"
        td["deregisteredAt"] = time.time()


def find_taskdef(state, ref, acct=None, region=None):
    m = re.match(r"^arn:aws:ecs:([^:]+):(\d{12}):task-definition/([^:]+):(\d+)$", ref or "")
    if m:
        region, acct, fam, rev = m.group(1), m.group(2), m.group(3), int(m.group(4))
    else:
        fam, _, rev = (ref or "").partition(":")
        rev = int(rev) if rev.isdigit() else None
    revs = st(state).taskdefs.get((acct, region, fam)) or []
    if rev is None:
        act = [t for t in revs if t["status"] == "ACTIVE"]
        return act[-1] if act else None
    return revs[rev - 1] if 0 < rev <= len(revs) else None


def _deployment(svc, taskdef, status="PRIMARY"):
    now = time.time()
    d = {"id": "ecs-svc/%019d" % random.randrange(10 ** 18, 10 ** 19),
         "status": status, "taskDefinition": taskdef,
         "desiredCount": svc["desiredCount"], "pendingCount": 0, "runningCount": 0,
         "failedTasks": 0, "createdAt": now, "updatedAt": now,
         "rolloutState": "IN_PROGRESS"}
    d["rolloutStateReason"] = "ECS deployment %s in progress." % d["id"]
    if svc.get("launchType"):
        d["launchType"] = svc["launchType"]
    if svc.get("platformVersion"):
        d["platformVersion"] = svc["platformVersion"]
    if svc.get("networkConfiguration"):
        d["networkConfiguration"] = svc["networkConfiguration"]
    if svc.get("capacityProviderStrategy"):
        d["capacityProviderStrategy"] = svc["capacityProviderStrategy"]
    return d


def _event(svc, message):
    svc["events"].insert(0, {"id": str(uuid.uuid4()), "createdAt": time.time(),
                             "message": message})
    del svc["events"][100:]


def _take_failure(state, acct, region, name):
    for f in st(state).fail_next:
        if f["account"] in (acct, "*") and f["region"] in (region, "*") and \
                f["service"] in (name, "*"):
            f["count"] -= 1
            if f["count"] <= 0:
                st(state).fail_next.remove(f)
            return True
    return False


def upsert_service(state, acct, region, props, old=None):
    """Create or update a service from CloudFormation properties.
    Returns the service; a new deployment starts rolling out."""
    p = camel(props)
    cluster = p.get("cluster") or "default"
    if cluster.startswith("arn:"):
        cluster = cluster.rsplit("/", 1)[-1]
    ensure_cluster(state, acct, region, cluster)
    name = p.get("serviceName")
    key = (acct, region, cluster, name)
    svc = st(state).services.get(key)
    dc = p.get("deploymentConfiguration") or {}
    cb = dc.get("deploymentCircuitBreaker") or {"enable": False, "rollback": False}
    conf = {"deploymentCircuitBreaker": {"enable": bool(cb.get("enable")),
                                         "rollback": bool(cb.get("rollback"))},
            "maximumPercent": dc.get("maximumPercent", 200),
            "minimumHealthyPercent": dc.get("minimumHealthyPercent", 100)}
    if dc.get("alarms"):
        conf["alarms"] = dc["alarms"]
    desired = p.get("desiredCount", 1)
    if svc is None or svc["status"] != "ACTIVE":
        now = time.time()
        svc = {"serviceArn": "arn:aws:ecs:%s:%s:service/%s/%s" % (region, acct, cluster,
                                                                  name),
               "serviceName": name, "clusterArn": _cluster_arn(acct, region, cluster),
               "loadBalancers": p.get("loadBalancers") or [],
               "serviceRegistries": p.get("serviceRegistries") or [],
               "status": "ACTIVE", "desiredCount": desired, "runningCount": 0,
               "pendingCount": 0, "taskDefinition": p.get("taskDefinition"),
               "deploymentConfiguration": conf, "deployments": [], "events": [],
               "createdAt": now, "placementConstraints": p.get("placementConstraints") or [],
               "placementStrategy": p.get("placementStrategies") or [],
               "schedulingStrategy": p.get("schedulingStrategy") or "REPLICA",
               "deploymentController": p.get("deploymentController") or {"type": "ECS"},
               "createdBy": "arn:aws:iam::%s:role/cloudformation" % acct,
               "enableECSManagedTags": bool(p.get("enableECSManagedTags", False)),
               "propagateTags": p.get("propagateTags") or "NONE",
               "enableExecuteCommand": bool(p.get("enableExecuteCommand", False))}
        if p.get("launchType"):
            svc["launchType"] = p["launchType"]
            if p["launchType"] == "FARGATE":
                svc["platformVersion"] = p.get("platformVersion") or "LATEST"
                svc["platformFamily"] = "Linux"
        if p.get("capacityProviderStrategy"):
            svc["capacityProviderStrategy"] = p["capacityProviderStrategy"]
        if p.get("networkConfiguration"):
            svc["networkConfiguration"] = p["networkConfiguration"]
        svc["healthCheckGracePeriodSeconds"] = int(p.get("healthCheckGracePeriodSeconds")
                                                    or 0)
        if p.get("role"):
            svc["roleArn"] = p["role"]
        st(state).services[key] = svc
        c = ensure_cluster(state, acct, region, cluster)
        c["activeServicesCount"] += 1
        start_deployment(state, svc, p.get("taskDefinition"), acct, region)
        return svc
    svc["desiredCount"] = desired
    svc["deploymentConfiguration"] = conf
    if p.get("networkConfiguration"):
        svc["networkConfiguration"] = p["networkConfiguration"]
    svc["loadBalancers"] = p.get("loadBalancers") or []
    if p.get("taskDefinition") != svc["taskDefinition"] or \
            p.get("forceNewDeployment") or props.get("ForceNewDeployment"):
        start_deployment(state, svc, p.get("taskDefinition"), acct, region)
    return svc


def start_deployment(state, svc, taskdef, acct, region, rollback_of=None):
    """A new PRIMARY deployment; it rolls out over `ecs_rollout_steps` steps."""
    for d in svc["deployments"]:
        if d["status"] == "PRIMARY":
            d["status"] = "ACTIVE"
    prev_td = svc["taskDefinition"]
    svc["taskDefinition"] = taskdef
    dep = _deployment(svc, taskdef)
    svc["deployments"].insert(0, dep)
    fail = rollback_of is None and _take_failure(state, acct, region, svc["serviceName"])
    steps = int(state.config.get("ecs_rollout_steps", 2))

    def gen():
        for i in range(steps):
            yield state.step_delay
            if dep not in svc["deployments"]:
                return
            # Tasks come up a few at a time, as ECS starts them: pending
            # first, then running (what the live progress draws).
            if fail:
                dep["pendingCount"] = 0
            else:
                want = svc["desiredCount"]
                dep["runningCount"] = want * i // steps
                dep["pendingCount"] = want - dep["runningCount"]
            dep["updatedAt"] = time.time()
            if fail:
                dep["failedTasks"] += max(1, svc["desiredCount"])
                _event(svc, "(service %s) has started %d tasks: (task %s)." % (
                    svc["serviceName"], 1, uuid.uuid4().hex))
        yield state.step_delay
        if dep not in svc["deployments"]:
            return
        if fail:
            dep["rolloutState"] = "FAILED"
            dep["rolloutStateReason"] = ("ECS deployment circuit breaker: tasks failed to "
                                         "start.")
            dep["updatedAt"] = time.time()
            _event(svc, "(service %s) (deployment %s) deployment failed: tasks failed to "
                   "start." % (svc["serviceName"], dep["id"]))
            cbr = svc["deploymentConfiguration"]["deploymentCircuitBreaker"]
            if cbr["enable"] and cbr["rollback"]:
                good = [d for d in svc["deployments"] if d is not dep and
                        d["rolloutState"] == "COMPLETED"]
                target = good[0]["taskDefinition"] if good else prev_td
                _event(svc, "(service %s) rolling back to deployment %s." % (
                    svc["serviceName"], good[0]["id"] if good else "previous"))
                start_deployment(state, svc, target, acct, region, rollback_of=dep)
            return
        dep["rolloutState"] = "COMPLETED"
        dep["rolloutStateReason"] = "ECS deployment %s completed." % dep["id"]
        dep["runningCount"] = dep["desiredCount"] = svc["desiredCount"]
        dep["pendingCount"] = 0
        dep["updatedAt"] = time.time()
        svc["deployments"] = [dep]
        svc["runningCount"] = svc["desiredCount"]
        svc["pendingCount"] = 0
        _event(svc, "(service %s) (deployment %s) deployment completed." % (
            svc["serviceName"], dep["id"]))
        _event(svc, "(service %s) has reached a steady state." % svc["serviceName"])
    drive(state, gen())
    return dep


def drive(state, gen):
    """Run a generator of delays on the state's timers."""
    try:
        d = next(gen)
    except StopIteration:
        return
    state.schedule(d, lambda: drive(state, gen))


def delete_service(state, svc):
    svc["status"] = "INACTIVE"
    svc["desiredCount"] = 0
    svc["runningCount"] = 0


def deployment_outcome(svc, dep_id):
    """IN_PROGRESS / COMPLETED / FAILED of a deployment (by id)."""
    for d in svc["deployments"]:
        if d["id"] == dep_id:
            return d["rolloutState"]
    # Removed: a newer deployment completed (ours completed before) or a
    # rollback replaced a failed one.
    return "GONE"


def find_service(state, acct, region, cluster, name):
    return st(state).services.get((acct, region, cluster, name))


# ---------------------------------------------------------------- API

def _cluster_name(p):
    c = p.get("cluster") or "default"
    return c.rsplit("/", 1)[-1] if c.startswith("arn:") else c


def handle(state, req, op, p):
    with state.lock:
        return globals()["op_" + op](state, req, p)


def _pub(svc):
    return {k: v for k, v in svc.items()}


def op_DescribeServices(state, req, p):
    names = p.get("services")
    if not names:
        raise AwsError("InvalidParameterException", "Services cannot be empty.")
    if len(names) > 10:
        raise AwsError("InvalidParameterException", "Services cannot contain more than "
                       "10 elements.")
    acct, region = req.ident.account, req.region
    cname = _cluster_name(p)
    c = st(state).clusters.get((acct, region, cname))
    if c is None:
        raise AwsError("ClusterNotFoundException", "Cluster not found.")
    out, failures = [], []
    for n in names:
        sname = n.rsplit("/", 1)[-1] if n.startswith("arn:") else n
        svc = st(state).services.get((acct, region, cname, sname))
        if svc is None:
            failures.append({"arn": n if n.startswith("arn:") else
                             "arn:aws:ecs:%s:%s:service/%s/%s" % (region, acct, cname, n),
                             "reason": "MISSING"})
        else:
            out.append(_pub(svc))
    return {"services": out, "failures": failures}


def op_DescribeTaskDefinition(state, req, p):
    ref = p.get("taskDefinition")
    if not ref:
        raise AwsError("ClientException", "TaskDefinition cannot be empty.")
    td = find_taskdef(state, ref, req.ident.account, req.region)
    if td is None or (ref.startswith("arn:") and ":%s:" % req.ident.account not in ref):
        raise AwsError("ClientException", "Unable to describe task definition.")
    return {"taskDefinition": dict(td), "tags": []}


def op_DescribeClusters(state, req, p):
    names = p.get("clusters") or ["default"]
    out, failures = [], []
    for n in names:
        cname = n.rsplit("/", 1)[-1] if n.startswith("arn:") else n
        c = st(state).clusters.get((req.ident.account, req.region, cname))
        if c is None:
            failures.append({"arn": _cluster_arn(req.ident.account, req.region, cname),
                             "reason": "MISSING"})
        else:
            out.append(dict(c))
    return {"clusters": out, "failures": failures}


def op_ListServices(state, req, p):
    cname = _cluster_name(p)
    if (req.ident.account, req.region, cname) not in st(state).clusters:
        raise AwsError("ClusterNotFoundException", "Cluster not found.")
    arns = [s["serviceArn"] for (a, r, c, n), s in sorted(st(state).services.items())
            if a == req.ident.account and r == req.region and c == cname and
            s["status"] == "ACTIVE"]
    return {"serviceArns": arns}


def op_ListTaskDefinitions(state, req, p):
    fam = p.get("familyPrefix")
    arns = []
    for (a, r, f), revs in sorted(st(state).taskdefs.items()):
        if a == req.ident.account and r == req.region and (not fam or f.startswith(fam)):
            arns += [t["taskDefinitionArn"] for t in revs if t["status"] ==
                     (p.get("status") or "ACTIVE")]
    return {"taskDefinitionArns": arns}


def control_fail(state, body):
    with state.lock:
        st(state).fail_next.append({"account": body.get("account", "*"),
                                    "region": body.get("region", "*"),
                                    "service": body.get("service", "*"),
                                    "count": int(body.get("count", 1))})
        return {"pending": len(st(state).fail_next)}


def dump(state):
    s = st(state)
    return {"clusters": {"/".join(k): v["status"] for k, v in s.clusters.items()},
            "taskdefs": {"/".join(k): [t["taskDefinitionArn"] for t in v]
                         for k, v in s.taskdefs.items()},
            "services": {"/".join(k): {"taskDefinition": v["taskDefinition"],
                                       "status": v["status"],
                                       "deployments": [(d["id"], d["status"],
                                                        d["rolloutState"])
                                                       for d in v["deployments"]]}
                         for k, v in s.services.items()},
            "fail_next": s.fail_next}
