#!/bin/sh
# shipgatectl doctor against the fake AWS endpoint: every check passes on
# the demo sandbox; a missing bucket, a missing queue, a role in the wrong
# account and bad credentials each fail with AWS's own reason.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake || { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1
ok "the sandbox is set up" test $? -eq 0

cfg="$t_dir/demo.yaml"
t_demo_config "$cfg"
"$SHIPGATECTL" -c "$cfg" doctor >"$t_dir/out" 2>"$t_dir/err"
ok "doctor passes on the sandbox (exit 0)" test $? -eq 0
t_diag "$(cat "$t_dir/out")"
ok "doctor names the credentials' source" \
    grep -Eq '^credentials \(environment\) +pass +arn:aws:iam::000000000000:' "$t_dir/out"
for env in int:111111111111 stg:222222222222 prod:333333333333; do
	e=${env%%:*}
	acct=${env#*:}
	ok "doctor assumes the $e role into account $acct" \
	    grep -Eq "^billing/$e: role .* pass +arn:aws:sts::$acct:assumed-role/shipgate-deployer/shipgate-billing-$e" "$t_dir/out"
	ok "doctor describes the $e stack" \
	    grep -Eq "^billing/$e: stack billing-$e +pass" "$t_dir/out"
done
ok "doctor reads the bucket and the queue" \
    sh -c "grep -Eq '^billing: bucket releases-billing +pass' '$t_dir/out' &&
           grep -Eq '^billing: queue .* +pass +reachable' '$t_dir/out'"
ok "doctor gets a token for each registry" \
    test "$(grep -Ec '^registry .* pass +token for' "$t_dir/out")" -eq 2
ok "doctor ends with a count" grep -q '^11 checks, 0 failed$' "$t_dir/out"
ok "doctor writes nothing to stderr when all is well" test ! -s "$t_dir/err"

"$SHIPGATECTL" -c "$cfg" --json doctor >"$t_dir/json"
ok "--json prints one object per check" \
    "$TEST_PYTHON" -c "import json,sys
rows=[json.loads(l) for l in open('$t_dir/json')]
sys.exit(0 if len(rows)==11 and all(r['result']=='pass' for r in rows) else 1)"

# What goes wrong, each named.  The stg role stops trusting us.
curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"role_arn": "arn:aws:iam::222222222222:role/shipgate-deployer", "trusted": false}' \
    "$fake_url/_fake/sts/role" >/dev/null
ok "the fake is told to refuse the stg role" test $? -eq 0
sed -e 's|bucket: releases-billing|bucket: no-such-bucket|' \
    -e 's|/billing-drops|/no-such-queue|' \
    "$cfg" >"$t_dir/broken.yaml"
"$SHIPGATECTL" -c "$t_dir/broken.yaml" doctor >"$t_dir/out" 2>&1
ok "doctor exits 1 when a check fails" test $? -eq 1
t_diag "$(cat "$t_dir/out")"
ok "a missing bucket fails with NoSuchBucket" \
    grep -Eq '^billing: bucket no-such-bucket +FAIL .*NoSuchBucket' "$t_dir/out"
ok "a missing queue fails with the queue's error" \
    grep -Eq '^billing: queue .*no-such-queue +FAIL .*(NonExistentQueue|QueueDoesNotExist)' "$t_dir/out"
ok "a role that cannot be assumed fails with AccessDenied" \
    grep -Eq '^billing/stg: role .* FAIL .*STS AssumeRole: AccessDenied' "$t_dir/out"
ok "the stack behind that role fails too, naming the role" \
    grep -Eq '^billing/stg: stack billing-stg +FAIL .*AccessDenied' "$t_dir/out"
ok "the other checks still pass" \
    grep -Eq '^billing/int: stack billing-int +pass' "$t_dir/out"

AWS_SECRET_ACCESS_KEY=not/the/right/secret "$SHIPGATECTL" -c "$cfg" doctor \
    >"$t_dir/out" 2>&1
ok "bad credentials fail with SignatureDoesNotMatch" \
    grep -Eq '^credentials \(environment\) +FAIL .*SignatureDoesNotMatch' "$t_dir/out"
ok "the secret never appears in the output" \
    sh -c "! grep -q 'not/the/right/secret' '$t_dir/out'"
t_done
