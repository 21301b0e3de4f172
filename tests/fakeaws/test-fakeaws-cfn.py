#!/usr/bin/python3
"""CloudFormation and ECS through boto3: change sets (computed Changes checked
against AWS's documented examples), execution, events, rollback on injected
failures, idempotency, pagination, errors; ECS services and deployments."""

import copy
import json
import os
import sys
import time

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402

ACCT = "111111111111"
APP = """AWSTemplateFormatVersion: 2010-09-09
Description: billing web
Parameters:
  ImageTag:
    Type: String
  Environment:
    Type: String
    Default: int
    AllowedValues: [int, stg, prod]
  DesiredCount:
    Type: Number
    Default: "2"
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterName: !Sub billing-${Environment}
  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: 7
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: billing-web
      Cpu: "256"
      Memory: "512"
      NetworkMode: awsvpc
      RequiresCompatibilities: [FARGATE]
      ContainerDefinitions:
        - Name: web
          Image: !Sub "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/billing/web:${ImageTag}"
          Essential: true
          PortMappings:
            - ContainerPort: 8080
          LogConfiguration:
            LogDriver: awslogs
            Options:
              awslogs-group: !Ref LogGroup
              awslogs-stream-prefix: web
  Service:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: web
      Cluster: !Ref Cluster
      LaunchType: FARGATE
      DesiredCount: !Ref DesiredCount
      TaskDefinition: !Ref TaskDef
      DeploymentConfiguration:
        MaximumPercent: 200
        MinimumHealthyPercent: 100
        DeploymentCircuitBreaker: {Enable: true, Rollback: true}
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: [subnet-1]
          AssignPublicIp: DISABLED
Outputs:
  ServiceName:
    Value: !GetAtt Service.Name
    Export:
      Name: !Sub ${AWS::StackName}-service
"""


def wait_cs(cf, csid, timeout=10):
    d = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = cf.describe_change_set(ChangeSetName=csid)
        if d["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return d
        time.sleep(0.03)
    return d


def wait_stack(cf, name, timeout=15):
    deadline = time.time() + timeout
    s = None
    while time.time() < deadline:
        s = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not s["StackStatus"].endswith("_IN_PROGRESS"):
            return s
        time.sleep(0.03)
    return s


def wait_gone(cf, csid, timeout=10):
    """Waits for an asynchronous DeleteChangeSet; the statuses seen."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            d = cf.describe_change_set(ChangeSetName=csid)
        except cf.exceptions.ChangeSetNotFoundException:
            return seen
        if not seen or seen[-1] != d["Status"]:
            seen.append(d["Status"])
        if d["Status"] == "DELETE_FAILED":
            return seen
        time.sleep(0.02)
    return seen


def hard_cases(t, fake, cf):
    """What real ECS deployments hit: a rollback that fails, a change set made
    obsolete by an update from elsewhere, an asynchronous DeleteChangeSet that
    fails."""
    prm = [{"ParameterKey": "ImageTag", "ParameterValue": "1"},
           {"ParameterKey": "Environment", "ParameterValue": "prod"}]
    r = cf.create_change_set(StackName="hard", ChangeSetName="c1", ChangeSetType="CREATE",
                             TemplateBody=APP, Parameters=prm)
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    t.eq(wait_stack(cf, "hard")["StackStatus"], "CREATE_COMPLETE", "hard: created")

    # -- DeleteChangeSet: DELETE_PENDING -> DELETE_IN_PROGRESS -> DELETE_COMPLETE
    prm[0]["ParameterValue"] = "2"
    r = cf.create_change_set(StackName="hard", ChangeSetName="d1", TemplateBody=APP,
                             Parameters=prm)
    wait_cs(cf, r["Id"])
    cf.delete_change_set(ChangeSetName=r["Id"])
    seen = wait_gone(cf, r["Id"])
    t.ok(seen[:1] == ["DELETE_PENDING"] and "DELETE_IN_PROGRESS" in seen and
         "DELETE_FAILED" not in seen, "DeleteChangeSet goes through its statuses", seen)
    t.ok("d1" not in [x["ChangeSetName"] for x in
                      cf.list_change_sets(StackName="hard")["Summaries"]],
         "a deleted change set leaves ListChangeSets")
    fake.control("/_fake/cfn/fail-delete-change-set", {"count": 1})
    r = cf.create_change_set(StackName="hard", ChangeSetName="d2", TemplateBody=APP,
                             Parameters=prm)
    wait_cs(cf, r["Id"])
    cf.delete_change_set(ChangeSetName=r["Id"])
    seen = wait_gone(cf, r["Id"])
    d = cf.describe_change_set(ChangeSetName=r["Id"])
    t.ok(seen[-1:] == ["DELETE_FAILED"] and d["StatusReason"],
         "an injected failure ends DELETE_FAILED with a reason", seen)
    cf.delete_change_set(ChangeSetName=r["Id"])
    t.ok(wait_gone(cf, r["Id"])[-1:] != ["DELETE_FAILED"],
         "a DELETE_FAILED change set can be deleted again")

    # -- the stack updated from elsewhere: the waiting change set is OBSOLETE
    r = cf.create_change_set(StackName="hard", ChangeSetName="o1", TemplateBody=APP,
                             Parameters=prm)
    wait_cs(cf, r["Id"])
    out = fake.control("/_fake/cfn/update-stack", {"account": ACCT, "stack": "hard"})
    t.eq(out["obsolete"], ["o1"], "update-stack names the change sets it made obsolete")
    d = cf.describe_change_set(ChangeSetName=r["Id"])
    t.ok(d["Status"] == "CREATE_COMPLETE" and d["ExecutionStatus"] == "OBSOLETE",
         "the change set is OBSOLETE", (d["Status"], d["ExecutionStatus"]))
    t.raises(lambda: cf.execute_change_set(ChangeSetName=r["Id"]), "InvalidChangeSetStatus",
             "an OBSOLETE change set cannot be executed")
    t.eq(wait_stack(cf, "hard")["StackStatus"], "UPDATE_COMPLETE",
         "the update from elsewhere ends UPDATE_COMPLETE")

    # -- a rollback that fails: UPDATE_ROLLBACK_FAILED, stuck until
    #    ContinueUpdateRollback
    fake.control("/_fake/cfn/fail-resource", {"stack": "hard", "logical_id": "Service",
                                              "reason": "Injected: tasks failed to start"})
    fake.control("/_fake/cfn/fail-rollback", {"stack": "hard", "logical_id": "Service",
                                              "count": 2,
                                              "reason": "Injected: old tasks do not "
                                                        "stabilise"})
    prm[0]["ParameterValue"] = "3"
    r = cf.create_change_set(StackName="hard", ChangeSetName="f1", TemplateBody=APP,
                             Parameters=prm)
    wait_cs(cf, r["Id"])
    t.raises(lambda: cf.continue_update_rollback(StackName="hard"), "ValidationError",
             "ContinueUpdateRollback on a healthy stack: ValidationError")
    cf.execute_change_set(ChangeSetName=r["Id"])
    s = wait_stack(cf, "hard")
    t.eq(s["StackStatus"], "UPDATE_ROLLBACK_FAILED", "the rollback fails")
    ev = cf.describe_stack_events(StackName="hard")["StackEvents"]
    fails = [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
             for e in ev if e["ResourceStatus"].endswith("_FAILED")]
    t.ok(fails[:3] == [("hard", "UPDATE_ROLLBACK_FAILED", "The following resource(s) "
                        "failed to update: [Service]. "),
                       ("Service", "UPDATE_FAILED", "Injected: old tasks do not stabilise"),
                       ("Service", "UPDATE_FAILED", "Injected: tasks failed to start")],
         "events: the update's failure and the rollback's, with their reasons", fails[:3])
    t.raises(lambda: cf.create_change_set(StackName="hard", ChangeSetName="f2",
                                          TemplateBody=APP, Parameters=prm),
             "ValidationError", "no change set on an UPDATE_ROLLBACK_FAILED stack")
    t.raises(lambda: cf.continue_update_rollback(StackName="hard",
                                                 ResourcesToSkip=["Cluster"]),
             "ValidationError", "only resources whose rollback failed can be skipped")
    cf.continue_update_rollback(StackName="hard", ClientRequestToken="cont-1")
    cf.continue_update_rollback(StackName="hard", ClientRequestToken="cont-1")
    t.eq(wait_stack(cf, "hard")["StackStatus"], "UPDATE_ROLLBACK_FAILED",
         "ContinueUpdateRollback tries again, and fails again (count 2)")
    cf.continue_update_rollback(StackName="hard", ClientRequestToken="cont-2")
    s = wait_stack(cf, "hard")
    t.eq(s["StackStatus"], "UPDATE_ROLLBACK_COMPLETE",
         "the third try puts the service back: UPDATE_ROLLBACK_COMPLETE")
    fake.control("/_fake/cfn/fail-resource", {"stack": "hard", "logical_id": "Service"})
    fake.control("/_fake/cfn/fail-rollback", {"stack": "hard", "logical_id": "Service"})
    prm[0]["ParameterValue"] = "4"
    r = cf.create_change_set(StackName="hard", ChangeSetName="f3", TemplateBody=APP,
                             Parameters=prm)
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    t.eq(wait_stack(cf, "hard")["StackStatus"], "UPDATE_ROLLBACK_FAILED",
         "stuck again")
    cf.continue_update_rollback(StackName="hard", ResourcesToSkip=["Service"])
    t.eq(wait_stack(cf, "hard")["StackStatus"], "UPDATE_ROLLBACK_COMPLETE",
         "ContinueUpdateRollback skipping the service completes")
    ev = cf.describe_stack_events(StackName="hard")["StackEvents"]
    t.ok(any(e["LogicalResourceId"] == "Service" and e["ResourceStatus"] ==
             "UPDATE_COMPLETE" and "skipped" in (e.get("ResourceStatusReason") or "")
             for e in ev[:8]), "the skipped resource is UPDATE_COMPLETE, marked skipped")
    fake.control("/_fake/cfn/fail-delete", {"stack": "hard", "logical_id": "Cluster",
                                            "reason": "Injected: cluster in use"})
    cf.delete_stack(StackName="hard")
    t.eq(wait_stack(cf, "hard")["StackStatus"], "DELETE_FAILED",
         "DeleteStack: an injected failure ends DELETE_FAILED")
    ev = cf.describe_stack_events(StackName="hard")["StackEvents"]
    t.ok([(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
          for e in ev[:2]] == [("hard", "DELETE_FAILED", "The following resource(s) "
                                "failed to delete: [Cluster]. "),
                               ("Cluster", "DELETE_FAILED", "Injected: cluster in use")],
         "its events name the resource and the reason")
    cf.delete_stack(StackName="hard")
    t.eq(wait_stack_gone(cf, "hard"), "DELETE_COMPLETE", "hard: deleted again")


def wait_stack_gone(cf, name, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s = cf.describe_stacks(StackName=name)["Stacks"][0]
        except cf.exceptions.ClientError:
            return "DELETE_COMPLETE"
        if s["StackStatus"] == "DELETE_COMPLETE":
            return "DELETE_COMPLETE"
        time.sleep(0.03)
    return s["StackStatus"]


def strip_phys(changes):
    out = copy.deepcopy(changes)
    for c in out:
        c["ResourceChange"].pop("PhysicalResourceId", None)
    return out


def doc_examples(t, fake, cf):
    """Replay AWS's documented change set samples on their base template."""
    d = F.shared()
    if not d:
        for i in range(5):
            t.skip("SHIPGATE_SHARED not set")
        return
    ex = os.path.join(d, "testdata/cfn/aws-examples")
    base = json.load(open(os.path.join(ex, "cfn-change-set-samples-base-template.json")))
    params = [{"ParameterKey": "Purpose", "ParameterValue": "testing"},
              {"ParameterKey": "KeyPairName", "ParameterValue": "MyKeyName"},
              {"ParameterKey": "InstanceType", "ParameterValue": "t2.micro"}]
    r = cf.create_change_set(StackName="SampleStack", ChangeSetName="initial",
                             ChangeSetType="CREATE", TemplateBody=json.dumps(base),
                             Parameters=params)
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    wait_stack(cf, "SampleStack")

    def compare(name, template, prm, example):
        want = json.load(open(os.path.join(ex, example)))
        r = cf.create_change_set(StackName="SampleStack", ChangeSetName=name,
                                 TemplateBody=json.dumps(template), Parameters=prm)
        got = wait_cs(cf, r["Id"])
        g = strip_phys(got["Changes"])
        w = strip_phys(want["Changes"])
        for c in g + w:   # Scope's order is not documented
            c["ResourceChange"]["Scope"] = sorted(c["ResourceChange"]["Scope"])
        t.eq(g, w, "Changes equal AWS's example %s" % example)
        cf.delete_change_set(ChangeSetName=r["Id"])
        return got

    tpl = copy.deepcopy(base)
    tpl["Resources"]["MyEC2Instance"]["Properties"]["Tags"][0]["Value"] = "test"
    compare("direct", tpl, params, "cfn-describe-change-set-direct-modification.json")
    p2 = copy.deepcopy(params)
    p2[0]["ParameterValue"] = "production"
    got = compare("param", base, p2, "cfn-describe-change-set-parameter-change.json")
    want = json.load(open(os.path.join(ex, "cfn-describe-change-set-parameter-change.json")))
    t.eq(got["Parameters"], want["Parameters"],
         "Parameters as in AWS's example (template order)")
    p3 = [{"ParameterKey": "Purpose", "ParameterValue": "production"},
          {"ParameterKey": "KeyPairName", "ParameterValue": "MyNewKeyName"},
          {"ParameterKey": "InstanceType", "ParameterValue": "t2.small"}]
    compare("multiple", base, p3, "cfn-describe-change-set-replacement.json")
    tpl = copy.deepcopy(base)
    del tpl["Resources"]["MyEC2Instance"]
    tpl["Resources"]["AutoScalingGroup"] = {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "Properties": {"LaunchConfigurationName": {"Ref": "LaunchConfig"},
                       "MinSize": "1", "MaxSize": "1",
                       "AvailabilityZones": {"Fn::GetAZs": ""}}}
    tpl["Resources"]["LaunchConfig"] = {
        "Type": "AWS::AutoScaling::LaunchConfiguration",
        "Properties": {"ImageId": "ami-8fcee4e5", "InstanceType": {"Ref": "InstanceType"},
                       "KeyName": {"Ref": "KeyPairName"}}}
    compare("addremove", tpl, params, "cfn-describe-change-set-add-remove.json")


def wait_drift(cf, did, timeout=10):
    """Polls the detection; returns (its last status, how many polls)."""
    deadline = time.time() + timeout
    n = 0
    while True:
        d = cf.describe_stack_drift_detection_status(StackDriftDetectionId=did)
        n += 1
        if d["DetectionStatus"] != "DETECTION_IN_PROGRESS" or time.time() > deadline:
            return d, n


def drift_checks(t, fake, cf):
    """The drift detection family, as AWS answers it."""
    t.eq(cf.describe_stacks(StackName="billing-int")["Stacks"][0]["DriftInformation"],
         {"StackDriftStatus": "NOT_CHECKED"}, "drift: NOT_CHECKED before any detection")
    did = cf.detect_stack_drift(StackName="billing-int")["StackDriftDetectionId"]
    d, n = wait_drift(cf, did)
    t.ok(d["DetectionStatus"] == "DETECTION_COMPLETE" and
         d["StackDriftStatus"] == "IN_SYNC" and d["DriftedStackResourceCount"] == 0
         and n == 3, "drift: in progress for two polls, then IN_SYNC", (d, n))
    t.eq(cf.describe_stack_resource_drifts(
        StackName="billing-int",
        StackResourceDriftStatusFilters=["MODIFIED", "DELETED"])["StackResourceDrifts"],
         [], "drift: no MODIFIED or DELETED resource when in sync")
    fake.control("/_fake/cfn/drift", {"account": ACCT, "stack": "billing-int",
                                      "resource": "Service", "property": "/DesiredCount",
                                      "value": 5})
    fake.control("/_fake/cfn/drift", {"account": ACCT, "stack": "billing-int",
                                      "resource": "LogGroup", "deleted": True})
    did = cf.detect_stack_drift(StackName="billing-int")["StackDriftDetectionId"]
    d, n = wait_drift(cf, did)
    t.ok(d["StackDriftStatus"] == "DRIFTED" and d["DriftedStackResourceCount"] == 2,
         "drift: a property changed by hand and a deleted resource: DRIFTED, 2", d)
    r = cf.describe_stack_resource_drifts(
        StackName="billing-int", StackResourceDriftStatusFilters=["MODIFIED", "DELETED"])
    got = {x["LogicalResourceId"]: x for x in r["StackResourceDrifts"]}
    t.eq(sorted(got), ["LogGroup", "Service"], "drift: the filters keep the drifted two")
    t.eq(got["Service"].get("PropertyDifferences"),
         [{"PropertyPath": "/DesiredCount", "ExpectedValue": "2", "ActualValue": "5",
           "DifferenceType": "NOT_EQUAL"}], "drift: the property's difference")
    t.ok(got["LogGroup"]["StackResourceDriftStatus"] == "DELETED" and
         "PropertyDifferences" not in got["LogGroup"], "drift: DELETED has no differences")
    t.eq(json.loads(got["Service"]["ActualProperties"])["DesiredCount"], 5,
         "drift: ActualProperties carries the actual value")
    p1 = cf.describe_stack_resource_drifts(
        StackName="billing-int", StackResourceDriftStatusFilters=["MODIFIED", "DELETED"],
        MaxResults=1)
    p2 = cf.describe_stack_resource_drifts(
        StackName="billing-int", StackResourceDriftStatusFilters=["MODIFIED", "DELETED"],
        MaxResults=1, NextToken=p1["NextToken"])
    t.ok(len(p1["StackResourceDrifts"]) == 1 and "NextToken" not in p2 and
         {p1["StackResourceDrifts"][0]["LogicalResourceId"],
          p2["StackResourceDrifts"][0]["LogicalResourceId"]} == {"LogGroup", "Service"},
         "drift: paged with NextToken")
    t.eq(cf.describe_stacks(StackName="billing-int")["Stacks"][0]["DriftInformation"][
        "StackDriftStatus"], "DRIFTED", "drift: DescribeStacks' DriftInformation")
    t.raises(lambda: cf.describe_stack_drift_detection_status(
        StackDriftDetectionId="nope"), "ValidationError",
        "drift: an unknown detection id is a ValidationError")
    fake.control("/_fake/cfn/drift-detection", {"mode": "never"})
    did = cf.detect_stack_drift(StackName="billing-int")["StackDriftDetectionId"]
    d, n = wait_drift(cf, did, timeout=0.3)
    t.eq(d["DetectionStatus"], "DETECTION_IN_PROGRESS", "drift: mode never stays in progress")
    fake.control("/_fake/cfn/drift-detection", {"mode": "fail", "running": True})
    d, n = wait_drift(cf, did)
    t.ok(d["DetectionStatus"] == "DETECTION_FAILED" and d.get("DetectionStatusReason"),
         "drift: mode fail (also for the one running): DETECTION_FAILED with a reason", d)
    fake.control("/_fake/cfn/drift-detection", {"mode": "normal", "polls": 2})
    for res in ("Service", "LogGroup"):
        fake.control("/_fake/cfn/drift", {"account": ACCT, "stack": "billing-int",
                                          "resource": res, "clear": True})


def main(t, fake):
    fake.control("/_fake/config", {"step_delay": 5})
    sess = fake.assume(ACCT)
    cf = fake.client("cloudformation", session=sess)
    ecs = fake.client("ecs", session=sess)

    # -- CREATE change set on a new stack
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="c0",
                                          TemplateBody=APP),
             "ValidationError", "UPDATE change set for a missing stack: ValidationError")
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="c1",
                             ChangeSetType="CREATE", TemplateBody=APP,
                             Description="first", ClientToken="tok-c1",
                             Tags=[{"Key": "app", "Value": "billing"}],
                             Parameters=[{"ParameterKey": "ImageTag",
                                          "ParameterValue": "1.0.0"}])
    t.ok(r["Id"].startswith("arn:aws:cloudformation:eu-west-1:%s:changeSet/c1/" % ACCT)
         and r["StackId"].startswith("arn:aws:cloudformation:eu-west-1:%s:stack/"
                                     "billing-int/" % ACCT), "CreateChangeSet ids")
    again = cf.create_change_set(StackName="billing-int", ChangeSetName="c1",
                                 ChangeSetType="CREATE", TemplateBody=APP,
                                 ClientToken="tok-c1", Parameters=[
                                     {"ParameterKey": "ImageTag", "ParameterValue": "1.0.0"}])
    t.eq(again["Id"], r["Id"], "CreateChangeSet with the same ClientToken: same change set")
    d = cf.describe_change_set(ChangeSetName=r["Id"])
    t.ok(d["Status"] in ("CREATE_PENDING", "CREATE_IN_PROGRESS") and
         d["ExecutionStatus"] == "UNAVAILABLE", "new change set starts pending", d["Status"])
    t.raises(lambda: cf.execute_change_set(ChangeSetName=r["Id"]), "InvalidChangeSetStatus",
             "ExecuteChangeSet before CREATE_COMPLETE: InvalidChangeSetStatus")
    t.eq(cf.describe_stacks(StackName="billing-int")["Stacks"][0]["StackStatus"],
         "REVIEW_IN_PROGRESS", "the new stack is in REVIEW_IN_PROGRESS")
    fake.control("/_fake/config", {"step_delay": 0.03})
    d = wait_cs(cf, r["Id"])
    t.ok(d["Status"] == "CREATE_COMPLETE" and d["ExecutionStatus"] == "AVAILABLE",
         "change set reaches CREATE_COMPLETE / AVAILABLE")
    t.eq([(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
          for c in d["Changes"]], [("Add", "Cluster"), ("Add", "LogGroup"),
                                   ("Add", "TaskDef"), ("Add", "Service")],
         "CREATE: every resource is an Add")
    t.eq(d["Parameters"], [{"ParameterKey": "ImageTag", "ParameterValue": "1.0.0"},
                           {"ParameterKey": "Environment", "ParameterValue": "int"},
                           {"ParameterKey": "DesiredCount", "ParameterValue": "2"}],
         "Parameters with defaults filled in")
    d0 = F.shared()
    if d0:
        ex = json.load(open(os.path.join(d0, "testdata/cfn/aws-examples/"
                                         "cfn-describe-change-set-cli.json")))
        ours = set(d) - {"ResponseMetadata", "IncludeNestedStacks", "NextToken"}
        want = set(k for k, v in ex.items() if v is not None) | {"Description", "Tags",
                                                                 "Parameters"}
        t.eq(sorted(ours), sorted(want), "DescribeChangeSet fields = AWS CLI example's "
             "(null ones absent)")
    else:
        t.skip("SHIPGATE_SHARED not set")

    ex0 = fake.control("/_fake/cfn/executions")
    cf.execute_change_set(ChangeSetName=r["Id"], ClientRequestToken="exec-1")
    cf.execute_change_set(ChangeSetName=r["Id"], ClientRequestToken="exec-1")
    t.raises(lambda: cf.execute_change_set(ChangeSetName=r["Id"],
                                           ClientRequestToken="exec-2"),
             "InvalidChangeSetStatus", "ExecuteChangeSet twice (new token): refused")
    ex = fake.control("/_fake/cfn/executions")[r["Id"]]
    t.eq((ex["calls"], ex["executions"]), (4, 1),
         "execute counters: 4 calls (one too early), 1 execution (same token is idempotent)")
    t.ok(r["Id"] in ex0, "execution counters exist from creation")
    s = wait_stack(cf, "billing-int")
    t.eq(s["StackStatus"], "CREATE_COMPLETE", "stack CREATE_COMPLETE")
    t.ok(s["Outputs"] == [{"OutputKey": "ServiceName", "OutputValue": "web",
                           "ExportName": "billing-int-service"}] and
         s["ChangeSetId"] == r["Id"] and s["Tags"] == [{"Key": "app", "Value": "billing"}],
         "DescribeStacks: outputs, change set id, tags", s)
    t.eq(cf.get_template(StackName="billing-int")["TemplateBody"], APP, "GetTemplate")
    drift_checks(t, fake, cf)
    ev = cf.describe_stack_events(StackName="billing-int")["StackEvents"]
    t.eq([e["ResourceStatus"] for e in ev if e["LogicalResourceId"] == "billing-int"],
         ["CREATE_COMPLETE", "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"],
         "stack events newest first")
    t.ok(all(e.get("ClientRequestToken") == "exec-1" for e in ev
             if e["ResourceStatus"] != "REVIEW_IN_PROGRESS"),
         "events carry the ClientRequestToken")
    if d0:
        exev = json.load(open(os.path.join(d0, "testdata/cfn/aws-examples/"
                                           "cfn-describe-stack-events-cli.json")))
        want = set(exev["StackEvents"][0])
        got = [e for e in ev if e["LogicalResourceId"] == "billing-int"][0]
        t.eq(sorted(set(got) - {"ClientRequestToken"}), sorted(want),
             "stack event fields = AWS CLI example's")
    else:
        t.skip("SHIPGATE_SHARED not set")

    # -- ECS objects made by the stack
    svc = ecs.describe_services(cluster="billing-int", services=["web"])["services"][0]
    td = svc["taskDefinition"]
    t.eq(td, "arn:aws:ecs:eu-west-1:%s:task-definition/billing-web:1" % ACCT,
         "DescribeServices: task definition ARN, revision 1")
    t.eq([(x["status"], x["rolloutState"]) for x in svc["deployments"]],
         [("PRIMARY", "COMPLETED")], "deployment COMPLETED once the stack is done")
    if d0:
        ex = json.load(open(os.path.join(d0, "testdata/cfn/aws-examples/"
                                         "ecs-describe-services-cli.json")))["services"][0]
        t.ok(set(ex) <= set(svc), "DescribeServices has every field of the CLI example",
             sorted(set(ex) - set(svc)))
        ex = json.load(open(os.path.join(d0, "testdata/cfn/aws-examples/"
                                         "ecs-update-service-rollout-in-progress-cli.json"))
                       )["service"]
        opt = {"roleArn", "platformFamily", "availabilityZoneRebalancing"}
        t.ok(set(ex) - opt <= set(svc), "service has the fields of the rollout example",
             sorted(set(ex) - opt - set(svc)))
        dep_ex = ex["deployments"][0]
        t.ok(set(dep_ex) - {"platformFamily"} <= set(svc["deployments"][0]),
             "deployment has the rollout example's fields",
             sorted(set(dep_ex) - set(svc["deployments"][0])))
    else:
        for i in range(3):
            t.skip("SHIPGATE_SHARED not set")
    tdd = ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]
    t.eq(tdd["containerDefinitions"][0]["image"],
         "%s.dkr.ecr.eu-west-1.amazonaws.com/billing/web:1.0.0" % ACCT,
         "DescribeTaskDefinition: the image from the template")
    t.ok(tdd["containerDefinitions"][0]["portMappings"][0]["containerPort"] == 8080 and
         tdd["cpu"] == "256" and tdd["containerDefinitions"][0]["essential"] is True,
         "task definition properties in the ECS API's shape", tdd)
    res = cf.describe_stack_resources(StackName="billing-int")["StackResources"]
    t.eq(sorted((x["LogicalResourceId"], x["ResourceStatus"]) for x in res),
         [("Cluster", "CREATE_COMPLETE"), ("LogGroup", "CREATE_COMPLETE"),
          ("Service", "CREATE_COMPLETE"), ("TaskDef", "CREATE_COMPLETE")],
         "DescribeStackResources")
    t.eq(ecs.list_services(cluster="billing-int")["serviceArns"],
         ["arn:aws:ecs:eu-west-1:%s:service/billing-int/web" % ACCT], "ListServices")
    t.eq(ecs.list_task_definitions(familyPrefix="billing-web")["taskDefinitionArns"], [td],
         "ListTaskDefinitions")
    t.eq(ecs.describe_clusters(clusters=["billing-int"])["clusters"][0]["status"],
         "ACTIVE", "DescribeClusters")
    t.raises(lambda: ecs.describe_services(cluster="nope", services=["web"]),
             "ClusterNotFoundException", "DescribeServices unknown cluster")
    r2 = ecs.describe_services(cluster="billing-int", services=["web", "ghost"])
    t.eq(r2["failures"][0]["reason"], "MISSING", "DescribeServices unknown service: MISSING")
    t.raises(lambda: ecs.describe_task_definition(taskDefinition="nope:9"),
             "ClientException", "DescribeTaskDefinition unknown: ClientException")

    # -- no changes
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="same",
                             TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "UsePreviousValue": True},
                                 {"ParameterKey": "Environment", "UsePreviousValue": True}])
    d = wait_cs(cf, r["Id"])
    t.ok(d["Status"] == "FAILED" and d["ExecutionStatus"] == "UNAVAILABLE" and
         d["StatusReason"] == "The submitted information didn't contain changes. Submit "
         "different information to create a change set.",
         "no changes: FAILED with AWS's exact reason", d.get("StatusReason"))
    t.raises(lambda: cf.execute_change_set(ChangeSetName=r["Id"]), "InvalidChangeSetStatus",
             "executing a FAILED change set: InvalidChangeSetStatus")

    # -- UPDATE with a new image: task definition replaced, service modified
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="v2",
                             TemplateBody=APP, Capabilities=["CAPABILITY_IAM"],
                             Parameters=[{"ParameterKey": "ImageTag",
                                          "ParameterValue": "1.1.0"},
                                         {"ParameterKey": "Environment",
                                          "UsePreviousValue": True}])
    d = wait_cs(cf, r["Id"])
    ch = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
          for c in d["Changes"]}
    t.eq(sorted(ch), ["Service", "TaskDef"], "image change touches TaskDef and Service")
    t.ok(ch["TaskDef"]["Action"] == "Modify" and ch["TaskDef"]["Replacement"] == "True" and
         {"Target": {"Attribute": "Properties", "Name": "ContainerDefinitions",
                     "RequiresRecreation": "Always"}, "Evaluation": "Static",
          "ChangeSource": "ParameterReference", "CausingEntity": "ImageTag"}
         in ch["TaskDef"]["Details"],
         "TaskDef: Replacement True, ContainerDefinitions Always, caused by ImageTag",
         ch["TaskDef"])
    t.ok(ch["Service"]["Replacement"] == "False" and
         {"Target": {"Attribute": "Properties", "Name": "TaskDefinition",
                     "RequiresRecreation": "Never"}, "Evaluation": "Static",
          "ChangeSource": "ResourceReference", "CausingEntity": "TaskDef"}
         in ch["Service"]["Details"],
         "Service: Modify, TaskDefinition via ResourceReference TaskDef", ch["Service"])
    t.eq(d["Parameters"][1], {"ParameterKey": "Environment", "ParameterValue": "int"},
         "UsePreviousValue resolves to the stack's value")
    fake.control("/_fake/config", {"page_size": {"cloudformation:DescribeChangeSet": 1}})
    pages, changes, tok = 0, [], None
    while True:
        kw = {"ChangeSetName": r["Id"]}
        if tok:
            kw["NextToken"] = tok
        p = cf.describe_change_set(**kw)
        pages += 1
        changes += p["Changes"]
        tok = p.get("NextToken")
        if not tok:
            break
    t.eq((pages, changes), (2, d["Changes"]), "DescribeChangeSet pages with NextToken")
    fake.control("/_fake/config", {"page_size": {"cloudformation:DescribeChangeSet": 100}})
    other = cf.create_change_set(StackName="billing-int", ChangeSetName="other",
                                 TemplateBody=APP, Parameters=[
                                     {"ParameterKey": "ImageTag", "ParameterValue": "9"}])
    wait_cs(cf, other["Id"])
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="other",
                                          TemplateBody=APP, Parameters=[
                                              {"ParameterKey": "ImageTag",
                                               "ParameterValue": "9"}]),
             "AlreadyExistsException", "CreateChangeSet name taken: AlreadyExistsException")
    names = [x["ChangeSetName"] for x in
             cf.list_change_sets(StackName="billing-int")["Summaries"]]
    t.ok({"v2", "other", "same", "c1"} <= set(names), "ListChangeSets", names)
    cf.execute_change_set(ChangeSetName=r["Id"], ClientRequestToken="exec-v2")
    time.sleep(0.15)
    s = cf.describe_stacks(StackName="billing-int")["Stacks"][0]
    t.ok(s["StackStatus"] == "UPDATE_IN_PROGRESS", "stack UPDATE_IN_PROGRESS", s["StackStatus"])
    t.raises(lambda: cf.describe_change_set(ChangeSetName="other", StackName="billing-int"),
             "ChangeSetNotFound", "executing deletes the stack's other change sets")
    seen = set()
    counts = set()     # (running, pending, desired) of the rolling deployment
    deadline = time.time() + 10
    while time.time() < deadline:
        sv = ecs.describe_services(cluster="billing-int", services=["web"])["services"][0]
        for dd in sv["deployments"]:
            seen.add((dd["status"], dd["rolloutState"]))
            if (dd["status"], dd["rolloutState"]) == ("PRIMARY", "IN_PROGRESS"):
                counts.add((dd["runningCount"], dd["pendingCount"], dd["desiredCount"]))
        st = cf.describe_stacks(StackName="billing-int")["Stacks"][0]["StackStatus"]
        if not st.endswith("IN_PROGRESS"):
            break
        time.sleep(0.02)
    t.eq(st, "UPDATE_COMPLETE", "stack UPDATE_COMPLETE")
    t.ok(("PRIMARY", "IN_PROGRESS") in seen and ("ACTIVE", "COMPLETED") in seen,
         "during the update: new PRIMARY IN_PROGRESS beside the old ACTIVE COMPLETED", seen)
    t.ok(any(p > 0 for _, p, _ in counts) and
         all(0 <= r < d and r + p <= d for r, p, d in counts),
         "while it rolls out, its tasks are pending then running, never more "
         "than desired", sorted(counts))
    sv = ecs.describe_services(cluster="billing-int", services=["web"])["services"][0]
    t.ok(sv["deployments"][0]["runningCount"] == sv["deployments"][0]["desiredCount"] and
         sv["deployments"][0]["pendingCount"] == 0, "once completed, all running",
         sv["deployments"][0])
    t.ok(sv["taskDefinition"].endswith("billing-web:2") and
         [(x["status"], x["rolloutState"]) for x in sv["deployments"]] ==
         [("PRIMARY", "COMPLETED")], "after the update: revision 2, one COMPLETED deployment")
    t.eq(ecs.describe_task_definition(taskDefinition="billing-web:1")["taskDefinition"][
        "status"], "INACTIVE", "the replaced revision is deregistered")
    ev = cf.describe_stack_events(StackName="billing-int")["StackEvents"]
    seq = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(ev)
           if e.get("ClientRequestToken") == "exec-v2"]
    t.eq(seq[0], ("billing-int", "UPDATE_IN_PROGRESS"), "update events start with the stack")
    t.ok(("billing-int", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") in seq and
         ("TaskDef", "DELETE_COMPLETE") in seq and
         seq[-1] == ("billing-int", "UPDATE_COMPLETE"),
         "cleanup deletes the old task definition, ends UPDATE_COMPLETE", seq)
    fake.control("/_fake/config", {"page_size": {"cloudformation:DescribeStackEvents": 5}})
    p = cf.get_paginator("describe_stack_events")
    allev = [e for page in p.paginate(StackName="billing-int") for e in page["StackEvents"]]
    t.eq(len(allev), len(ev), "DescribeStackEvents pages with NextToken (paginator)")
    fake.control("/_fake/config", {"page_size": {"cloudformation:DescribeStackEvents": 100}})

    # -- injected resource failure: UPDATE_ROLLBACK_COMPLETE with the reason
    fake.control("/_fake/cfn/fail-resource", {"stack": "billing-int",
                                              "logical_id": "Service",
                                              "reason": "Injected: quota exceeded"})
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="v3",
                             TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "1.2.0"},
                                 {"ParameterKey": "DesiredCount", "ParameterValue": "3"}])
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    s = wait_stack(cf, "billing-int")
    t.eq(s["StackStatus"], "UPDATE_ROLLBACK_COMPLETE", "injected failure: rolled back")
    ev = cf.describe_stack_events(StackName="billing-int")["StackEvents"]
    failed = [e for e in ev if e["ResourceStatus"] == "UPDATE_FAILED"]
    t.ok(failed and failed[0]["LogicalResourceId"] == "Service" and
         failed[0]["ResourceStatusReason"] == "Injected: quota exceeded",
         "UPDATE_FAILED event carries the failed resource's reason",
         [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
          for e in ev[:12]])
    rb = [e for e in ev if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"][0]
    t.eq(rb["ResourceStatusReason"], "The following resource(s) failed to update: "
         "[Service]. ", "UPDATE_ROLLBACK_IN_PROGRESS names the failed resource")
    t.eq(s["Parameters"][0]["ParameterValue"], "1.1.0", "rolled-back stack keeps old values")
    sv = ecs.describe_services(cluster="billing-int", services=["web"])["services"][0]
    t.ok(sv["taskDefinition"].endswith("billing-web:2"), "service back on revision 2",
         sv["taskDefinition"])
    t.eq(cf.describe_change_set(ChangeSetName=r["Id"])["ExecutionStatus"],
         "EXECUTE_FAILED", "the change set is EXECUTE_FAILED")

    # -- ECS circuit breaker: FAILED deployment and rollback
    fake.control("/_fake/ecs/fail-deployment", {"service": "web"})
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="v4",
                             TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "1.3.0"}])
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    seen = set()
    deadline = time.time() + 10
    while time.time() < deadline:
        sv = ecs.describe_services(cluster="billing-int", services=["web"])["services"][0]
        for dd in sv["deployments"]:
            seen.add((dd["status"], dd["rolloutState"]))
        st = cf.describe_stacks(StackName="billing-int")["Stacks"][0]["StackStatus"]
        if not st.endswith("IN_PROGRESS") and len(sv["deployments"]) == 1:
            break
        time.sleep(0.02)
    t.ok(("ACTIVE", "FAILED") in seen or ("PRIMARY", "FAILED") in seen,
         "circuit breaker: the new deployment goes FAILED", seen)
    t.eq(st, "UPDATE_ROLLBACK_COMPLETE", "circuit breaker failure rolls the stack back")
    ev = cf.describe_stack_events(StackName="billing-int")["StackEvents"]
    failed = [e for e in ev if e["ResourceStatus"] == "UPDATE_FAILED"][0]
    t.ok("Circuit Breaker" in failed["ResourceStatusReason"],
         "the failure names the circuit breaker", failed["ResourceStatusReason"])
    msgs = [e["message"] for e in sv["events"]]
    t.ok(any("deployment failed" in m for m in msgs) and
         any("rolling back" in m for m in msgs), "service events tell the story", msgs)
    t.ok(sv["taskDefinition"].endswith("billing-web:2") and
         sv["deployments"][0]["rolloutState"] == "COMPLETED",
         "service rolled back to revision 2", sv["taskDefinition"])

    # -- CancelUpdateStack rolls an update back
    t.raises(lambda: cf.cancel_update_stack(StackName="billing-int"), "ValidationError",
             "CancelUpdateStack when no update runs: ValidationError")
    fake.control("/_fake/config", {"step_delay": 0.3})
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="v5",
                             TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "1.5.0"}])
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    time.sleep(0.4)
    cf.cancel_update_stack(StackName="billing-int")
    fake.control("/_fake/config", {"step_delay": 0.03})
    s = wait_stack(cf, "billing-int")
    ev = cf.describe_stack_events(StackName="billing-int")["StackEvents"]
    rb = [e for e in ev if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"][0]
    t.ok(s["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE" and
         rb.get("ResourceStatusReason") == "User Initiated" and
         s["Parameters"][0]["ParameterValue"] == "1.1.0",
         "CancelUpdateStack: UPDATE_ROLLBACK_COMPLETE, User Initiated, old values",
         (s["StackStatus"], rb.get("ResourceStatusReason")))
    t.ok(any(e.get("ResourceStatusReason") == "Resource update cancelled" for e in ev[:12]),
         "the resource being updated fails with 'Resource update cancelled'")

    # -- errors at CreateChangeSet
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="bad1",
                                          TemplateBody="Resources: [oops"),
             "ValidationError", "malformed YAML: ValidationError (Template format error)")
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="bad2",
                                          TemplateBody=APP, Parameters=[
                                              {"ParameterKey": "Nope",
                                               "ParameterValue": "1"}]),
             "ValidationError", "unknown parameter: ValidationError")
    t.raises(lambda: cf.create_change_set(StackName="new-stack", ChangeSetName="bad3",
                                          ChangeSetType="CREATE", TemplateBody=APP),
             "ValidationError", "missing parameter value: ValidationError")
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="bad4",
                                          TemplateBody=APP, Parameters=[
                                              {"ParameterKey": "Environment",
                                               "ParameterValue": "dev"},
                                              {"ParameterKey": "ImageTag",
                                               "UsePreviousValue": True}]),
             "ValidationError", "value outside AllowedValues: ValidationError")
    iam = APP.replace("Resources:\n", "Resources:\n  Role:\n    Type: AWS::IAM::Role\n"
                      "    Properties:\n      RoleName: named\n"
                      "      AssumeRolePolicyDocument: {}\n", 1)
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="bad5",
                                          TemplateBody=iam, Capabilities=["CAPABILITY_IAM"],
                                          Parameters=[{"ParameterKey": "ImageTag",
                                                       "UsePreviousValue": True}]),
             "InsufficientCapabilitiesException",
             "named IAM role without CAPABILITY_NAMED_IAM: InsufficientCapabilities")
    big = APP + "#" + "x" * 52000 + "\n"
    t.raises(lambda: cf.create_change_set(StackName="billing-int", ChangeSetName="bad6",
                                          TemplateBody=big, Parameters=[
                                              {"ParameterKey": "ImageTag",
                                               "UsePreviousValue": True}]),
             "ValidationError", "TemplateBody over 51,200 bytes: ValidationError")
    t.raises(lambda: cf.describe_stacks(StackName="ghost"), "ValidationError",
             "DescribeStacks missing: ValidationError")
    t.raises(lambda: cf.describe_change_set(ChangeSetName="ghost", StackName="billing-int"),
             "ChangeSetNotFound", "DescribeChangeSet missing: ChangeSetNotFound")

    v = cf.validate_template(TemplateBody=APP)
    t.ok(v["Description"] == "billing web" and
         [x["ParameterKey"] for x in v["Parameters"]] ==
         ["ImageTag", "Environment", "DesiredCount"] and
         v["Parameters"][1]["DefaultValue"] == "int" and "Capabilities" not in v,
         "ValidateTemplate", v)
    v = cf.validate_template(TemplateBody=iam)
    t.eq(v.get("Capabilities"), ["CAPABILITY_NAMED_IAM"], "ValidateTemplate capabilities")
    t.raises(lambda: cf.validate_template(TemplateBody="Resources: {}"), "ValidationError",
             "ValidateTemplate refuses a template without resources")

    # -- TemplateURL from the fake's S3 (templates over 51,200 bytes)
    s3 = fake.client("s3")
    s3.create_bucket(Bucket="shipgate-artifacts",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="shipgate-artifacts", Key="billing/big.yaml", Body=big.encode())
    r = cf.create_change_set(StackName="billing-int", ChangeSetName="fromurl",
                             TemplateURL="%s/shipgate-artifacts/billing/big.yaml"
                             % fake.endpoint, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "2.0"}])
    d = wait_cs(cf, r["Id"])
    t.eq(d["Status"], "CREATE_COMPLETE", "CreateChangeSet with TemplateURL on the fake S3")
    t.raises(lambda: cf.create_change_set(
        StackName="billing-int", ChangeSetName="fromurl2",
        TemplateURL="https://shipgate-artifacts.s3.eu-west-1.amazonaws.com/missing.yaml"),
        "ValidationError", "TemplateURL to a missing object: ValidationError")
    cf.delete_change_set(ChangeSetName=r["Id"])
    d = cf.describe_change_set(ChangeSetName=r["Id"])
    t.ok(d["Status"] in ("DELETE_PENDING", "DELETE_IN_PROGRESS") and
         d["ExecutionStatus"] == "UNAVAILABLE",
         "DeleteChangeSet is asynchronous: DELETE_PENDING first", d["Status"])
    t.raises(lambda: cf.execute_change_set(ChangeSetName=r["Id"]), "InvalidChangeSetStatus",
             "a change set being deleted cannot be executed")
    t.raises(lambda: cf.delete_change_set(ChangeSetName=r["Id"]), "InvalidChangeSetStatus",
             "nor deleted again while it is")
    wait_gone(cf, r["Id"])
    t.raises(lambda: cf.describe_change_set(ChangeSetName=r["Id"]), "ChangeSetNotFound",
             "DeleteChangeSet: gone once DELETE_COMPLETE")

    # -- a failed creation ends ROLLBACK_COMPLETE and cannot be updated
    fake.control("/_fake/cfn/fail-resource", {"stack": "billing-new",
                                              "logical_id": "TaskDef"})
    r = cf.create_change_set(StackName="billing-new", ChangeSetName="c1",
                             ChangeSetType="CREATE", TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "1"},
                                 {"ParameterKey": "Environment", "ParameterValue": "stg"}])
    wait_cs(cf, r["Id"])
    cf.execute_change_set(ChangeSetName=r["Id"])
    s = wait_stack(cf, "billing-new")
    t.eq(s["StackStatus"], "ROLLBACK_COMPLETE", "failed creation: ROLLBACK_COMPLETE")
    t.raises(lambda: cf.create_change_set(StackName="billing-new", ChangeSetName="c2",
                                          TemplateBody=APP, Parameters=[
                                              {"ParameterKey": "ImageTag",
                                               "ParameterValue": "1"}]),
             "ValidationError", "a ROLLBACK_COMPLETE stack cannot be updated")
    cf.delete_stack(StackName="billing-new")
    deadline = time.time() + 10
    sid = s["StackId"]
    while time.time() < deadline:
        s = cf.describe_stacks(StackName=sid)["Stacks"][0]
        if s["StackStatus"] == "DELETE_COMPLETE":
            break
        time.sleep(0.03)
    t.eq(s["StackStatus"], "DELETE_COMPLETE", "DeleteStack: DELETE_COMPLETE by stack id")
    t.raises(lambda: cf.describe_stacks(StackName="billing-new"), "ValidationError",
             "a deleted stack is gone by name")
    r = cf.create_change_set(StackName="billing-new", ChangeSetName="c1",
                             ChangeSetType="CREATE", TemplateBody=APP, Parameters=[
                                 {"ParameterKey": "ImageTag", "ParameterValue": "1"},
                                 {"ParameterKey": "Environment", "ParameterValue": "stg"}])
    t.ok(r["StackId"] != sid, "the name can be used again: a new stack id")
    hard_cases(t, fake, cf)
    doc_examples(t, fake, fake.client("cloudformation"))


if __name__ == "__main__":
    # These checks poll stacks 20 times a second with retries off; the
    # token buckets have their own test (test-fakeaws-throttle.py).
    F.run(main, extra=["--throttle", "cloudformation:describe=off"])
