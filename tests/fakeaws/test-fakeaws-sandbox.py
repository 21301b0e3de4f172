#!/usr/bin/python3
"""sandbox.py sets the demo sandbox up on a fresh fake, twice without harm."""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402


def main(t, fake):
    fake.control("/_fake/config", {"step_delay": 0.02})
    cmd = [sys.executable, os.path.join(F.HERE, "sandbox.py"), "--endpoint", fake.endpoint]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    t.eq(r.returncode, 0, "sandbox.py exits 0", )
    if r.returncode:
        print("# " + r.stderr.replace("\n", "\n# "))
        return
    out = json.loads(r.stdout)
    t.eq(out["source"]["queue_url"], fake.endpoint + "/000000000000/billing-drops",
         "summary names the queue URL")
    r2 = subprocess.run(cmd + ["--quiet"], capture_output=True, text=True, timeout=120)
    t.ok(r2.returncode == 0 and r2.stdout == "", "running it again is harmless", r2.stderr)

    s3, sqs = fake.client("s3"), fake.client("sqs")
    s3.put_object(Bucket="releases-billing", Key="drops/billing-1.4.2.zip", Body=b"PK")
    m = sqs.receive_message(QueueUrl=out["source"]["queue_url"], WaitTimeSeconds=2,
                            MaxNumberOfMessages=10).get("Messages", [])
    t.ok(len(m) == 1 and json.loads(m[0]["Body"])["Records"][0]["s3"]["object"]["key"]
         == "drops/billing-1.4.2.zip",
         "a drop in releases-billing/drops/ reaches billing-drops (test event drained)")
    t.ok("Buckets" in s3.list_buckets() and
         {"releases-billing", "shipgate-artifacts"} <=
         set(b["Name"] for b in s3.list_buckets()["Buckets"]), "both buckets exist")
    for env, acct, stack in (("int", "111111111111", "billing-int"),
                             ("stg", "222222222222", "billing-stg"),
                             ("prod", "333333333333", "billing-prod")):
        sess = fake.assume(acct)
        s = fake.client("cloudformation", session=sess).describe_stacks(
            StackName=stack)["Stacks"][0]
        t.eq(s["StackStatus"], "CREATE_COMPLETE", "%s: stack %s CREATE_COMPLETE" %
             (env, stack))
        svc = fake.client("ecs", session=sess).describe_services(
            cluster="billing-" + env, services=["web"])["services"][0]
        td = fake.client("ecs", session=sess).describe_task_definition(
            taskDefinition=svc["taskDefinition"])["taskDefinition"]
        reg = "111111111111" if env == "int" else "333333333333"
        t.eq(td["containerDefinitions"][0]["image"],
             "%s.dkr.ecr.eu-west-1.amazonaws.com/billing/web:1.4.1" % reg,
             "%s: service runs billing/web:1.4.1 from %s" % (env, reg))
    ecr = fake.client("ecr", session=fake.assume("111111111111"))
    for repo in ("billing/web", "billing/worker"):
        tags = sorted(t_ for d in ecr.describe_images(repositoryName=repo)["imageDetails"]
                      for t_ in d.get("imageTags", []))
        t.eq(tags, ["1.4.1", "1.4.2"], "int registry %s has 1.4.1 and 1.4.2" % repo)
    ecr3 = fake.client("ecr", session=fake.assume("333333333333"))
    t.eq(len(ecr3.describe_repositories()["repositories"]), 2,
         "prod registry has both repositories (empty)")


if __name__ == "__main__":
    F.run(main)
