#!/bin/sh
# shipgatectl doctor against the fake AWS endpoint: every check passes on
# the demo sandbox; a missing bucket, a missing queue, a role in the wrong
# account and bad credentials each fail with AWS's own reason; and what a
# hand-made AWS set-up gets wrong (docs/aws-setup.md): a bucket notifying
# another queue, a queue without a redrive policy or whose policy admits
# another bucket, a role whose trust does not require the external id
# shipgate sends, an external id that does not match.
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
ok "doctor finds the queue's dead-letter queue" \
    grep -Eq "^billing: queue's dead-letter queue +pass +arn:aws:sqs:eu-west-1:000000000000:billing-drops-dlq after 10 receives" "$t_dir/out"
ok "doctor finds that the queue policy admits the bucket" \
    grep -Eq '^billing: queue policy admits bucket releases-billing +pass +S3 may send the events of releases-billing$' "$t_dir/out"
ok "doctor finds that the bucket notifies the configured queue" \
    grep -Eq '^billing: bucket releases-billing notifies the queue +pass +object creations under "drops/" go to arn:aws:sqs:eu-west-1:000000000000:billing-drops$' "$t_dir/out"
ok "doctor gets a token for each registry" \
    test "$(grep -Ec '^registry .* pass +token for' "$t_dir/out")" -eq 2
ok "doctor ends with a count" grep -q '^14 checks, 0 failed$' "$t_dir/out"
ok "doctor writes nothing to stderr when all is well" test ! -s "$t_dir/err"

"$SHIPGATECTL" -c "$cfg" --json doctor >"$t_dir/json"
ok "--json prints one object per check" \
    "$TEST_PYTHON" -c "import json,sys
rows=[json.loads(l) for l in open('$t_dir/json')]
sys.exit(0 if len(rows)==14 and all(r['result']=='pass' for r in rows) else 1)"

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

# The AWS side set up wrong by hand, one mistake at a time.
aws() {
	"$TEST_PYTHON" "$top_srcdir/tests/integration/doctor-aws.py" "$fake_url" "$1"
}
ok "the bucket is made to notify someone else's queue" aws notify-other
"$SHIPGATECTL" -c "$cfg" doctor >"$t_dir/out" 2>&1
ok "doctor fails when the bucket notifies another queue" test $? -eq 1
t_diag "$(grep notifies "$t_dir/out")"
ok "and names both queues" \
    grep -Eq '^billing: bucket releases-billing notifies the queue +FAIL +the bucket notifies arn:aws:sqs:eu-west-1:000000000000:someone-elses-queue, not the configured queue arn:aws:sqs:eu-west-1:000000000000:billing-drops$' "$t_dir/out"
ok "the bucket notifies the configured queue of a narrower prefix" \
    aws notify-narrow
"$SHIPGATECTL" -c "$cfg" doctor >"$t_dir/out" 2>&1
ok "doctor fails when the notification leaves releases out" test $? -eq 1
ok "and says why" \
    grep -Eq '^billing: bucket releases-billing notifies the queue +FAIL +the notification to arn:aws:sqs:eu-west-1:000000000000:billing-drops misses releases: its prefix filter leaves out the source prefix$' "$t_dir/out"
ok "the bucket notifies the configured queue again" aws notify-ours

ok "the queue loses its redrive policy" aws no-redrive
ok "the queue policy admits another bucket" aws policy-other
"$SHIPGATECTL" -c "$cfg" doctor >"$t_dir/out" 2>&1
ok "doctor fails on the queue's set-up" test $? -eq 1
t_diag "$(grep "queue" "$t_dir/out")"
ok "a queue without a redrive policy fails" \
    grep -Eq "^billing: queue's dead-letter queue +FAIL +no redrive policy" "$t_dir/out"
ok "a queue policy admitting another bucket fails" \
    grep -Eq '^billing: queue policy admits bucket releases-billing +FAIL +no statement lets s3.amazonaws.com sqs:SendMessage from arn:aws:s3:::releases-billing$' "$t_dir/out"
ok "the notification itself still passes" \
    grep -Eq '^billing: bucket releases-billing notifies the queue +pass' "$t_dir/out"

# External ids: int's role requires the one configured (good), stg's
# requires another (a mismatch), prod's requires none although shipgate
# sends one (a trust that does not protect).
setrole() {
	curl -sf -X POST -H 'Content-Type: application/json' \
	    -d "{\"role_arn\": \"arn:aws:iam::$1:role/shipgate-deployer\", $2}" \
	    "$fake_url/_fake/sts/role" >/dev/null
}
ok "the fake's int role requires billing-int" \
    setrole 111111111111 '"external_id": "billing-int"'
ok "the fake's stg role is trusted again, requiring billing-stg-expected" \
    setrole 222222222222 '"trusted": true, "external_id": "billing-stg-expected"'
awk '
	/role_arn: arn:aws:iam::111111111111:/ { print; print "        external_id: billing-int"; next }
	/role_arn: arn:aws:iam::222222222222:/ { print; print "        external_id: billing-stg-sent"; next }
	/role_arn: arn:aws:iam::333333333333:/ { print; print "        external_id: billing-prod"; next }
	{ print }' "$cfg" >"$t_dir/extid.yaml"
ok "the configuration with external ids is valid" \
    "$SHIPGATED" --check-config --config "$t_dir/extid.yaml"
"$SHIPGATECTL" -c "$t_dir/extid.yaml" doctor >"$t_dir/out" 2>&1
ok "doctor fails on the external ids" test $? -eq 1
t_diag "$(grep role "$t_dir/out")"
ok "a role requiring the external id sent passes both ways" \
    sh -c "grep -Eq '^billing/int: role .* pass +arn:aws:sts::111111111111:assumed-role/' '$t_dir/out' &&
           grep -Eq '^billing/int: role requires the external id +pass +assumed with it, refused without it and with another one$' '$t_dir/out'"
ok "an external id mismatch fails the role with AccessDenied" \
    grep -Eq '^billing/stg: role arn:.* +FAIL .*STS AssumeRole: AccessDenied' "$t_dir/out"
ok "and the trust row names the mismatch" \
    grep -Eq '^billing/stg: role requires the external id +FAIL +the role refuses the configured external id too: its trust requires another one' "$t_dir/out"
ok "a role that does not require the external id sent fails" \
    grep -Eq '^billing/prod: role requires the external id +FAIL +the role can be assumed without it: its trust policy must require sts:ExternalId' "$t_dir/out"
ok "the external ids never appear in the output" \
    sh -c "! grep -Eq 'billing-stg-sent|billing-stg-expected|doctor-probe' '$t_dir/out'"

AWS_SECRET_ACCESS_KEY=not/the/right/secret "$SHIPGATECTL" -c "$cfg" doctor \
    >"$t_dir/out" 2>&1
ok "bad credentials fail with SignatureDoesNotMatch" \
    grep -Eq '^credentials \(environment\) +FAIL .*SignatureDoesNotMatch' "$t_dir/out"
ok "the secret never appears in the output" \
    sh -c "! grep -q 'not/the/right/secret' '$t_dir/out'"
t_done
