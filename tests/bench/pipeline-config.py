#!/usr/bin/python3
"""The configuration of tests/bench/pipeline: N apps against the fake.

    pipeline-config.py --apps N --endpoint URL --dir DIR --listen HOST:PORT

Prints shipgated's YAML.  App i is named appNNN: source bucket
releases-appNNN (prefix drops/) and queue appNNN-drops in the tools
account; environments int, stg and prod in 111111111111, 222222222222 and
333333333333 with stacks appNNN-int/-stg/-prod (made by
pipeline-sandbox.py).  Like tests/integration/test-pipeline.sh: Int is
approved by the integrators, who then authorise promotion; STG by the
project team; Prod by one member of the project team (a quorum of
two needs two people, and the driver is one Unix user).  No
`registry:` (image promotion, issue 8, is not wired yet), no mail.  The
bucket listing runs every 10 minutes so that the queue, not the listing,
brings the releases in (the benchmark measures the queue's path).
"""

import argparse

# The demo's hashes (conf/demo.yaml); the benchmark never logs in.
HASH = ("$argon2id$v=19$m=65536,t=3,p=4$uLVMLi9BJyU3bV4x3eJTVA$"
        "MNrxisQWsnK9fFyz0Pex1HBgYeUtbDKm6l2tgpEyUuI")
ACCOUNTS = (("int", "111111111111"), ("stg", "222222222222"),
            ("prod", "333333333333"))


def app_name(i):
    return "app%03d" % i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", type=int, required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--listen", required=True)
    a = ap.parse_args()
    e = a.endpoint.rstrip("/")
    out = ["listen: %s" % a.listen,
           "public_url: http://%s" % a.listen,
           "database: %s/shipgate.db" % a.dir,
           "control_socket: %s/control.sock" % a.dir,
           "log_level: info",
           "aws:",
           "  region: eu-west-1",
           "  max_attempts: 3",
           "  endpoints:"]
    for s in ("s3", "sqs", "sts", "cloudformation", "ecs", "ecr", "sesv2"):
        out.append("    %s: %s" % (s, e))
    out.append("users:")
    for name, group in (("alice", "integrators"), ("bob", "project-team"),
                        ("carol", "project-team")):
        out.append('  - {name: %s, email: %s@bench.example, groups: [%s], '
                   'password_hash: "%s"}' % (name, name, group, HASH))
    out.append("apps:")
    for i in range(1, a.apps + 1):
        n = app_name(i)
        out += ["  - name: %s" % n,
                "    source:",
                "      bucket: releases-%s" % n,
                "      prefix: drops/",
                "      queue_url: %s/000000000000/%s-drops" % (e, n),
                "      poll_interval: 600s",
                "    mode: superseded",
                "    environments:"]
        for env, acct in ACCOUNTS:
            out += ["      - name: %s" % env,
                    '        account: "%s"' % acct,
                    "        role_arn: arn:aws:iam::%s:role/shipgate-deployer" % acct,
                    "        stack: %s-%s" % (n, env)]
            if env == "int":
                out += ["        approvers: [integrators]",
                        "        gate: [integrators]"]
            elif env == "stg":
                out += ["        approvers: [project-team]"]
            else:
                # One approval: the driver decides through the control
                # socket as one Unix user, and a quorum counts distinct
                # people (one uid is one person, issue 9), so a second
                # name would be refused.
                out += ["        approvers: [project-team]",
                        "        allow_self_approval: false"]
            out.append('        parameters: {Environment: %s, Registry: "111111111111"}'
                       % env)
    print("\n".join(out))


if __name__ == "__main__":
    main()
