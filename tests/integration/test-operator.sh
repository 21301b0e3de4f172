#!/bin/sh
# The operator's and approvers' actions through shipgatectl against the
# real daemon and the fake AWS endpoint: permissions (exit 1, the group
# named), rejection (a comment required: exit 2 without), a successful
# release, a stack failure shown with its resource and reason and retried,
# superseding at the gate and at an approval, cancel (the change set
# deleted), redeploy of an earlier release as a rollback run, the same
# release redeployed again with each of CloudFormation's three answers to
# an update that changes nothing (all are "no changes"), an invalid
# zip recorded with its reason and never deployed (its S3 object named in
# runs, show, the API and the portal), and one object dropped
# twice making one release.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# As test-pipeline.sh: no image promotion, Int's registry everywhere.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
db="$t_dir/shipgate.db"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '

sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
# ctl ARGS...: shipgatectl, its output in $t_dir/out and err, $rc.
ctl() {
	"$SHIPGATECTL" -c "$cfg" "$@" >"$t_dir/out" 2>"$t_dir/err"
	rc=$?
}
out_has() { grep -Eq -- "$1" "$t_dir/out"; }
err_has() { grep -Eq -- "$1" "$t_dir/err"; }
# wait_until SECONDS COMMAND...: retry against the clock.
wait_until() {
	w_end=$(($(date +%s) + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$w_end" ] || return 1
		sleep 0.1
	done
}
# show_check RUN EXPR: EXPR holds on `shipgatectl --json show RUN`
# (run, stage(env): see sgtest.py).
show_check() {
	"$SHIPGATECTL" -c "$cfg" --json show "$1" 2>/dev/null |
	    sgtest check "$2" -
}
stage_is() { show_check "$1" "stage('$2')['status'] == '$3'"; }
run_is() { show_check "$1" "run['status'] == '$2'"; }
# fake_check EXPR: EXPR holds on the fake's /_fake/state.
fake_check() {
	curl -sf "$fake_url/_fake/state" | sgtest check "$1" -
}
cs_deleted() {
	fake_check "any(c['name'] == '$1' and c['deleted']
	    for c in d['cloudformation']['change_sets'].values())"
}
cfn_calls() {
	curl -sf "$fake_url/_fake/calls" |
	    sgtest get "d.get('cloudformation', {}).get('$1', 0)" -
}
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag 1.4.2 \
	    --param "DesiredCount=$2" --message "release $1" \
	    >>"$t_dir/drop.out" 2>&1
}

# --- Permissions and rejection -------------------------------------------
drop 1.5.0 2
ok "run 1 waits for the Int approval" t_wait_for 60 stage_is 1 int awaiting_approval
ctl approve 1 --env int --as bob
ok "bob may not approve Int: exit 1" test "$rc" -eq 1
ok "the refusal names the group" err_has 'bob may not approve int: not in integrators'
ctl cancel 1 --as carol -m 'not mine'
ok "carol may not cancel: exit 1" test "$rc" -eq 1
ok "the refusal names the operators group" err_has 'carol.*not in operators'
ctl approve 1 --env int --as mallory
ok "an unknown user is refused: exit 1" test "$rc" -eq 1
ok "the refusal says so" err_has 'mallory is not a configured user'
ctl reject 1 --env int --as alice
ok "reject without -m is a usage error: exit 2" test "$rc" -eq 2
ok "it says a comment is needed" err_has 'reject needs -m'
ctl reject 1 --env int --as alice -m '   '
ok "a blank comment is refused too: exit 2" test "$rc" -eq 2
ok "nothing was recorded: Int still waits" \
    show_check 1 "stage('int')['status'] == 'awaiting_approval' and
    not run['approvals']"
ctl reject 1 --env int --as alice -m 'Totals are off by a cent'
ok "alice rejects with a comment" test "$rc" -eq 0
ok "the run ends rejected" t_wait_for 60 run_is 1 rejected
ok "Int is rejected, STG and Prod never started" \
    show_check 1 "[s['status'] for s in run['stages']] ==
    ['rejected', 'pending', 'pending']"
ctl show 1
t_diag "$(grep -Ei 'reason|reject' "$t_dir/out")"
ok "show says who rejected and why" \
    sh -c "grep -q 'alice' '$t_dir/out' && grep -q 'Totals are off by a cent' '$t_dir/out'"
ok "the rejection is recorded with its comment" \
    show_check 1 "[(a['user'], a['decision'], a['comment'])
    for a in run['approvals']] == [('alice', 'reject', 'Totals are off by a cent')]"
ok "the rejected change set is deleted" \
    wait_until 60 cs_deleted shipgate-billing-int-r1-a0

# --- A successful release (redeployed later) ------------------------------
drop 1.5.1 3
ok "run 2 waits for the Int approval" t_wait_for 60 stage_is 2 int awaiting_approval
ctl approve 2 --env int --as alice
ok "Int approved" test "$rc" -eq 0
ok "run 2 waits at the gate" wait_until 60 stage_is 2 int awaiting_gate
ctl authorise 2 --as bob
ok "bob may not authorise promotion: exit 1, the group named" \
    sh -c "test $rc -eq 1 && grep -q 'not in integrators' '$t_dir/err'"
ctl authorise 2 --as alice
ok "alice authorises promotion" test "$rc" -eq 0
ok "STG waits for its approval" wait_until 60 stage_is 2 stg awaiting_approval
ctl approve 2 --env stg --as bob
ok "STG approved" test "$rc" -eq 0
ok "Prod waits for its approvals" wait_until 60 stage_is 2 prod awaiting_approval
ctl approve 2 --env prod --as bob
# A second person: carol herself, through the API (the Unix user running
# this test counts once, whatever --as says).
t_api_approve "$cfg" 2 prod carol
rc=$?
ok "Prod approved twice" test "$rc" -eq 0
ok "run 2 succeeds" wait_until 90 run_is 2 succeeded

# --- A failed stage, its reason shown, retried -----------------------------
sgtest post "$fake_url" /_fake/cfn/fail-resource '{"logical_id": "WebService",
    "stack": "billing-int", "count": 1,
    "reason": "Resource handler returned message: tasks failed to start"}' \
    >/dev/null
ok "a failure of the Int service is injected" test $? -eq 0
drop 1.5.2 4
ok "run 3 waits for the Int approval" wait_until 60 stage_is 3 int awaiting_approval
# A slower fake while Int fails, and the retry at once: the stack may
# still be rolling back when the new change set is asked for (the daemon
# then tries again until CloudFormation takes it; the count is a diag).
sgtest post "$fake_url" /_fake/config '{"step_delay": 0.3}' >/dev/null
ctl approve 3 --env int --as alice
ok "run 3 fails" wait_until 90 run_is 3 failed
ok "its Int stage failed" stage_is 3 int failed
ctl show 3
t_diag "$(grep -Ei 'fail' "$t_dir/out")"
ok "show names the failed resource and its reason" \
    sh -c "grep -q 'WebService' '$t_dir/out' &&
    grep -q 'Resource handler returned message: tasks failed to start' '$t_dir/out'"
ctl retry 3 --env int --as dave
ok "dave retries Int" test "$rc" -eq 0
ctl retry 3 --env int --as bob
ok "bob may not retry: exit 1, operators named" \
    sh -c "test $rc -eq 1 && grep -q 'not in operators' '$t_dir/err'"
ctl retry 3 --env stg --as dave
ok "STG is not a failed stage: not retried (exit 1)" test "$rc" -eq 1
ok "a new change set waits for approval" \
    wait_until 60 show_check 3 "stage('int')['status'] == 'awaiting_approval' and
    stage('int')['attempt'] == 1 and run['status'] == 'running'"
sgtest post "$fake_url" /_fake/config '{"step_delay": 0.05}' >/dev/null
t_diag "CreateChangeSet refused while the stack rolled back:\
 $(grep -c 'state and can not be updated' "$t_dir/shipgated.log")"
ctl approve 3 --env int --as alice
ok "the retried stage is approved" test "$rc" -eq 0
ok "the retry deploys Int: run 3 waits at the gate" \
    wait_until 60 stage_is 3 int awaiting_gate
executed_once() {
	sgtest executions "$fake_url" >"$t_dir/exec.txt" &&
	    grep -q "$1 calls=1 executions=1" "$t_dir/exec.txt"
}
executed_once shipgate-billing-int-r3-a0 &&
    executed_once shipgate-billing-int-r3-a1
ok "the failed and the retried change set each ran once" test $? -eq 0

# --- Superseding: at the gate, then at an approval ------------------------
drop 1.5.3 5
ok "a newer release supersedes run 3 waiting at the gate" \
    wait_until 60 run_is 3 superseded
ok "run 4 waits for the Int approval" wait_until 60 stage_is 4 int awaiting_approval
drop 1.5.4 6
ok "a newer release supersedes run 4 waiting for approval" \
    wait_until 60 run_is 4 superseded
ok "run 4's stage is superseded, the reason names run 5" \
    show_check 4 "stage('int')['status'] == 'superseded' and
    'run 5' in (run['reason'] or '')"
ok "run 4's change set is deleted" wait_until 60 cs_deleted shipgate-billing-int-r4-a0
sgtest executions "$fake_url" >"$t_dir/exec.txt"
ok "run 4's change set was never executed" \
    grep -q 'shipgate-billing-int-r4-a0 calls=0 executions=0' "$t_dir/exec.txt"

# --- Cancel ---------------------------------------------------------------
ok "run 5 waits for the Int approval" wait_until 60 stage_is 5 int awaiting_approval
deletes=$(cfn_calls DeleteChangeSet)
ctl cancel 5 --as dave -m 'wrong build'
ok "dave, an operator, cancels run 5" test "$rc" -eq 0
ok "run 5 ends cancelled" wait_until 60 run_is 5 cancelled
ok "show says who cancelled it" sh -c "
    '$SHIPGATECTL' -c '$cfg' show 5 >'$t_dir/show5' 2>&1 &&
    grep -q dave '$t_dir/show5' && grep -q 'wrong build' '$t_dir/show5'"
ok "its change set is deleted (DeleteChangeSet called)" \
    wait_until 60 test "$(cfn_calls DeleteChangeSet)" -gt "$deletes"
ok "the fake no longer has it" wait_until 60 cs_deleted shipgate-billing-int-r5-a0
ctl cancel 5 --as dave
ok "a finished run cannot be cancelled again: exit 1" test "$rc" -eq 1

# --- Redeploy an earlier release ------------------------------------------
ctl redeploy 2 --env int --as bob
ok "bob may not redeploy: exit 1, operators named" \
    sh -c "test $rc -eq 1 && grep -q 'not in operators' '$t_dir/err'"
ctl redeploy 1 --env int --as dave
ok "a release never deployed is not redeployed: exit 1" \
    sh -c "test $rc -eq 1 && grep -q 'never deployed' '$t_dir/err'"
ctl redeploy 2 --env int --as dave
ok "dave redeploys release 2 to Int" test "$rc" -eq 0
rb=$(sed -n 's/.* as run \([0-9]*\) .*/\1/p' "$t_dir/out")
t_diag "$(cat "$t_dir/out")"
ok "a new run of kind rollback, for Int only, requested by dave" \
    show_check "${rb:-0}" "run['kind'] == 'rollback' and run['version'] == '1.5.1'
    and run['requested_by'] == 'dave' and
    [s['env'] for s in run['stages']] == ['int']"
ok "the rollback waits for the Int approval" \
    wait_until 60 stage_is "${rb:-0}" int awaiting_approval
ctl approve "${rb:-0}" --env int --as alice
ok "the rollback run succeeds (no gate on a rollback)" \
    wait_until 60 run_is "${rb:-0}" succeeded
ok "Int runs release 2's parameters again" \
    fake_check "any(s['name'] == 'billing-int' and
    s['status'].endswith('COMPLETE') and s['params'].get('DesiredCount') == '3'
    for s in d['cloudformation']['stacks'].values())"

# --- An unchanged release redeployed: no changes, whatever the answer ------
# Release 2 is what Int runs now.  CloudFormation answers an update that
# changes nothing with an empty change set (aws), a FAILED one that
# "didn't contain changes" (failed), or, as some front ends do, at once
# with ValidationError "No updates are to be performed." (error).
no_changes_run() {
	sgtest post "$fake_url" /_fake/cfn/no-changes "{\"answer\": \"$1\"}" \
	    >/dev/null || return 1
	ctl redeploy 2 --env int --as dave
	[ "$rc" -eq 0 ] || return 1
	nc=$(sed -n 's/.* as run \([0-9]*\) .*/\1/p' "$t_dir/out")
	[ -n "$nc" ]
}
for answer in aws failed error; do
	case $answer in
	aws) words='changes no resource' ;;
	failed) words="didn't contain changes" ;;
	error) words='No updates are to be performed.' ;;
	esac
	nc=0
	ok "$answer: the unchanged release 2 is redeployed to Int" \
	    no_changes_run "$answer"
	ok "$answer: Int asks for an approval of no changes, CloudFormation's words kept" \
	    wait_until 60 show_check "$nc" "stage('int')['status'] ==
	    'awaiting_approval' and
	    (stage('int')['reason'] or '').startswith('no changes: ') and
	    \"$words\" in stage('int')['reason']"
	ctl approve "$nc" --env int --as alice
	ok "$answer: the run succeeds, Int ends with no changes" \
	    wait_until 60 show_check "$nc" "run['status'] == 'succeeded' and
	    stage('int')['status'] == 'no_changes'"
	sgtest executions "$fake_url" >"$t_dir/exec.txt"
	ok "$answer: nothing was executed" \
	    sh -c "! grep -q 'shipgate-billing-int-r$nc-a0 calls=[1-9]' '$t_dir/exec.txt'"
done
ok "error: no change set was made for the refused update" \
    fake_check "not any(c['name'] == 'shipgate-billing-int-r$nc-a0'
    for c in d['cloudformation']['change_sets'].values())"
sgtest post "$fake_url" /_fake/cfn/no-changes '{"answer": "aws"}' >/dev/null

# --- An invalid zip --------------------------------------------------------
creates=$(cfn_calls CreateChangeSet)
sgtest zip "$t_dir/payroll.zip" --app payroll --version 1.5.6 &&
    sgtest put "$fake_url" drops/payroll-1.5.6.zip "$t_dir/payroll.zip" \
    >/dev/null
ok "a zip naming another app is dropped" test $? -eq 0
invalid_recorded() {
	test "$(sgtest sql "$db" "SELECT status FROM releases
	    WHERE key = 'drops/payroll-1.5.6.zip'")" = invalid
}
ok "it is recorded as an invalid release" wait_until 60 invalid_recorded
reason=$(sgtest sql "$db" "SELECT reason FROM releases
    WHERE key = 'drops/payroll-1.5.6.zip'")
t_diag "reason: $reason"
case $reason in
*'app: "payroll"'*) has_app=yes ;;
*) has_app=no ;;
esac
ok "with its reason: the app it names" test "$has_app" = yes
ctl --json runs
ok "no run deploys it" \
    sgtest check "not [r for r in d['runs'] if r['version'] == '1.5.6' and
    r['status'] != 'invalid']" "$t_dir/out"
ok "nothing was deployed (no CreateChangeSet)" \
    test "$(cfn_calls CreateChangeSet)" -eq "$creates"
# docs/states.md: a release that fails validation gets a run "invalid"
# that never runs; issue 5: it "shows in the history" with its reason.
ctl --json runs --status invalid
ok "runs (the history) shows the invalid release with its reason" \
    sgtest check "any('payroll' in (r['reason'] or '') for r in d['runs'])" \
    "$t_dir/out"

# Which upload was refused: its bucket and key, wherever the run shows.
obj='s3://releases-billing/drops/payroll-1.5.6.zip'
ok "runs --json gives the refused object's bucket and key" \
    sgtest check "any(r['status'] == 'invalid' and r['source'] and
    r['source']['bucket'] == 'releases-billing' and
    r['source']['key'] == 'drops/payroll-1.5.6.zip' and
    r['source']['url'] == '$obj' for r in d['runs'])" "$t_dir/out"
inv=$(sgtest get "[r['id'] for r in d['runs']
    if 'payroll' in (r['reason'] or '')][0]" "$t_dir/out")
ctl runs --status invalid
ok "runs names the refused object" out_has "$obj"
ctl show "${inv:-0}"
ok "show names the refused object" out_has "^  source: +$obj\$"
ok "show --json: run.source" \
    show_check "${inv:-0}" "run['source']['key'] == 'drops/payroll-1.5.6.zip'
    and run['source']['bucket'] == 'releases-billing'"
ctl show 2
ok "a valid run names its object too" \
    out_has '^  source: +s3://releases-billing/drops/'
base="http://$(sed -n 's/^listen: //p' "$cfg")"
jar="$t_dir/cookies"
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode user=dave \
    --data-urlencode password=demo "$base/login"
curl -s -b "$jar" "$base/api/v1/runs/${inv:-0}" >"$t_dir/api.json"
ok "/api/v1/runs/ID gives the refused object" \
    sgtest check "d['run']['source']['url'] == '$obj' if 'run' in d else
    d['source']['url'] == '$obj'" "$t_dir/api.json"
curl -s -b "$jar" "$base/runs?status=invalid" >"$t_dir/history.html"
ok "the portal's history names the refused object" \
    grep -q "$obj" "$t_dir/history.html"
curl -s -b "$jar" "$base/runs/${inv:-0}" >"$t_dir/run.html"
ok "the run's page names it" grep -q "$obj" "$t_dir/run.html"

# --- One object dropped twice ---------------------------------------------
sgtest zip "$t_dir/dup.zip" --version 1.5.7 &&
    sgtest put "$fake_url" drops/dup.zip "$t_dir/dup.zip" >/dev/null &&
    sgtest put "$fake_url" drops/dup.zip "$t_dir/dup.zip" >/dev/null
ok "the same zip is put twice under one key" test $? -eq 0
queue_empty() {
	fake_check "all(not q['messages'] for k, q in d['sqs'].items()
	    if k.endswith('/billing-drops'))"
}
one_run() {
	"$SHIPGATECTL" -c "$cfg" --json runs 2>/dev/null |
	    sgtest check "len([r for r in d['runs'] if r['version'] == '1.5.7']) == 1" -
}
ok "a run is made of it" wait_until 60 one_run
ok "both events are handled (the queue is empty)" wait_until 60 queue_empty
ok "one run only" one_run
ok "one release only" test "$(sgtest sql "$db" "SELECT count(*) FROM releases
    WHERE key = 'drops/dup.zip'")" = 1

ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
