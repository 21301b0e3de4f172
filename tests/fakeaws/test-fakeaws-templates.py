#!/usr/bin/python3
"""The fake parses every CloudFormation template in ../shared (real-world
templates with short tags), and turns each into a CREATE change set."""

import os
import sys
import time

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402
import cfntemplate as T                                  # noqa: E402


def params_for(doc):
    out = []
    for name, spec in (doc.get("Parameters") or {}).items():
        if "Default" in spec:
            continue
        v = "x"
        if spec.get("AllowedValues"):
            v = spec["AllowedValues"][0]
        elif spec.get("Type", "").startswith("List<") or \
                spec.get("Type") == "CommaDelimitedList":
            v = "a,b"
        elif spec.get("Type") == "Number":
            v = "1"
        out.append({"ParameterKey": name, "ParameterValue": v})
    return out


def main(t, fake):
    shared = F.shared()
    d = os.path.join(shared, "testdata", "cfn", "templates")
    files = sorted(os.listdir(d))
    cf = fake.client("cloudformation")
    fake.control("/_fake/config", {"step_delay": 0.01})
    docs = {}
    for i, f in enumerate(files):
        text = open(os.path.join(d, f), encoding="utf-8").read()
        if f.endswith(".params.json"):
            try:
                T.load(text)
                t.ok(False, "%s is not a template: refused" % f)
            except T.TemplateError as e:
                t.ok(str(e).startswith("Template format error"),
                     "%s is not a template: refused" % f, str(e))
            continue
        try:
            doc = T.load(text)
            docs[f] = doc
            t.ok(len(doc["Resources"]) > 0, "parses %s (%d resources)" % (
                f, len(doc["Resources"])))
        except T.TemplateError as e:
            t.ok(False, "parses %s" % f, str(e))
            continue
        r = cf.create_change_set(StackName="tpl%d" % i, ChangeSetName="c1",
                                 ChangeSetType="CREATE", TemplateBody=text,
                                 Parameters=params_for(doc),
                                 Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
                                               "CAPABILITY_AUTO_EXPAND"])
        deadline = time.time() + 10
        while True:
            cs = cf.describe_change_set(ChangeSetName=r["Id"])
            if cs["Status"] in ("CREATE_COMPLETE", "FAILED") or time.time() > deadline:
                break
            time.sleep(0.02)
        adds = [c for c in cs.get("Changes", []) if c["ResourceChange"]["Action"] == "Add"]
        t.ok(cs["Status"] == "CREATE_COMPLETE" and len(adds) > 0,
             "CREATE change set for %s: %d Adds" % (f, len(adds)), cs.get("StatusReason"))
    y = [f for f in docs if f.endswith("private-subnet-public-service.yaml")]
    j = [f for f in docs if f.endswith("private-subnet-public-service.json")]
    if y and j:
        t.ok(docs[y[0]] == docs[j[0]], "the YAML and JSON forms load to the same tree")
    # Short tags map to their long forms.
    doc = T.load("Parameters:\n  Y: {Type: String}\nConditions:\n  Cond: !Equals [a, b]\n"
                 "Resources:\n  B:\n    Type: X\n  A:\n    Type: X\n    Properties:\n"
                 "      P: !GetAtt B.Outputs.C\n      Q: !Sub [ '${X}', {X: !Ref Y} ]\n"
                 "      R: !If [Cond, !Ref 'AWS::NoValue', 1]\n"
                 "      S: !ImportValue\n        Fn::Join: [':', [a, b]]\n"
                 "      V: 2010-09-09\n      W: True\n")
    p = doc["Resources"]["A"]["Properties"]
    t.eq(p, {"P": {"Fn::GetAtt": ["B", "Outputs.C"]},
             "Q": {"Fn::Sub": ["${X}", {"X": {"Ref": "Y"}}]},
             "R": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, "1"]},
             "S": {"Fn::ImportValue": {"Fn::Join": [":", ["a", "b"]]}},
             "V": "2010-09-09", "W": "true"},
         "short tags become long forms; dates stay strings")
    for text, what in (("Resources:\n  A:\n    Type: X\n    Properties: {P: !Ref Nope}\n",
                        "Ref"),
                       ("Resources:\n  A:\n    Type: X\n    Properties: {P: !Sub '${Nope}'}\n",
                        "${}"),
                       ("Parameters: {P: {Type: String}}\nResources:\n  A:\n    Type: X\n"
                        "    Properties: {P: !GetAtt P.Arn}\n", "GetAtt of a parameter"),
                       ("Resources:\n  A:\n    Type: X\n    DependsOn: Nope\n",
                        "DependsOn")):
        try:
            T.load(text)
            t.ok(False, "unresolved %s refused" % what)
        except T.TemplateError as e:
            t.ok("Unresolved resource dependencies" in str(e), "unresolved %s refused"
                 % what, str(e))


if __name__ == "__main__":
    if not F.shared():
        F.skip_all("SHIPGATE_SHARED (../shared test data) is absent")
    # Each change set is polled every 20 ms, far above the describe rate
    # the fake assumes for AWS (5/s): this test is about templates, and
    # the token buckets have their own (test-fakeaws-throttle.py).
    F.run(main, extra=["--throttle", "cloudformation:describe=off"])
