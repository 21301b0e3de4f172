#!/bin/sh
# CloudFormation's hard cases through the real daemon, shipgatectl, the
# API and the portal: a rollback that fails leaves the Int stack in
# UPDATE_ROLLBACK_FAILED; the stage fails naming every failed resource;
# Int shows as stuck (shipgatectl stacks, /api/v1/stacks, /api/v1/apps,
# the app page and the dashboard); the next release waits, saying why,
# instead of failing; continue-rollback is refused without a comment or
# to a non-operator; the portal's button (an operator, a comment)
# continues the rollback, which the daemon waits on and audits; then the
# waiting release goes on.  Then STG's first deployment fails, leaving
# its stack in ROLLBACK_COMPLETE: the reason says it must be deleted, a
# retry waits, delete-failed-stack deletes it (waited on, audited) and
# the retried stage creates it again.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '

sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
ctl() {
	"$SHIPGATECTL" -c "$cfg" "$@" >"$t_dir/out" 2>"$t_dir/err"
	rc=$?
}
out_has() { grep -Eq -- "$1" "$t_dir/out"; }
err_has() { grep -Eq -- "$1" "$t_dir/err"; }
wait_until() {
	w_end=$(($(date +%s) + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$w_end" ] || return 1
		sleep 0.1
	done
}
show_check() {
	"$SHIPGATECTL" -c "$cfg" --json show "$1" 2>/dev/null |
	    sgtest check "$2" -
}
stage_is() { show_check "$1" "stage('$2')['status'] == '$3'"; }
run_is() { show_check "$1" "run['status'] == '$2'"; }
stuck_none() {
	"$SHIPGATECTL" -c "$cfg" stacks 2>/dev/null | grep -q 'no stack is stuck'
}
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag 1.4.2 \
	    --param "DesiredCount=$2" --message "release $1" \
	    >>"$t_dir/drop.out" 2>&1
}
base="http://$(sed -n 's/^listen: //p' "$cfg")"
jar="$t_dir/cookies"
page() { curl -s -b "$jar" "$base$1" >"$t_dir/page"; }
page_has() { grep -Eq -- "$1" "$t_dir/page"; }

# --- A rollback that fails --------------------------------------------------
sgtest post "$fake_url" /_fake/cfn/fail-resource '{"logical_id": "WebService",
    "stack": "billing-int", "reason": "tasks failed to start"}' >/dev/null &&
sgtest post "$fake_url" /_fake/cfn/fail-rollback '{"logical_id": "WebService",
    "stack": "billing-int", "reason": "old tasks do not stabilise"}' >/dev/null
ok "an update failure and a rollback failure are injected" test $? -eq 0
drop 1.5.0 2
ok "run 1 waits for the Int approval" t_wait_for 60 stage_is 1 int awaiting_approval
ctl approve 1 --env int --as alice
ok "run 1 fails" wait_until 90 run_is 1 failed
ctl show 1
t_diag "$(grep -E 'UPDATE_ROLLBACK_FAILED' "$t_dir/out" | head -2)"
ok "show names the stuck stack and both failures, the first first" \
    show_check 1 "'UPDATE_ROLLBACK_FAILED' in stage('int')['reason'] and
    0 <= stage('int')['reason'].find('tasks failed to start') <
    stage('int')['reason'].find('old tasks do not stabilise')"
ctl stacks
ok "shipgatectl stacks: Int is stuck" \
    out_has '^billing int: stack billing-int is UPDATE_ROLLBACK_FAILED'
ok "and says what to do" out_has 'shipgatectl continue-rollback billing int'
ctl --json stacks
ok "stacks --json: app, env, status, the run that found it" \
    sgtest check "[(h['app'], h['env'], h['status'], h['run'])
    for h in d['stuck']] == [('billing', 'int', 'UPDATE_ROLLBACK_FAILED', 1)]" \
    "$t_dir/out"

# --- The next release waits ---------------------------------------------------
drop 1.5.1 3
ok "run 2 waits, saying why, instead of failing" \
    wait_until 60 show_check 2 "stage('int')['status'] == 'pending' and
    run['status'] == 'running' and 'waiting: stack billing-int is stuck'
    in (stage('int')['reason'] or '')"

# --- Shown in the portal and the API ----------------------------------------
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode user=dave \
    --data-urlencode password=demo "$base/login"
page /api/v1/stacks
ok "/api/v1/stacks lists Int" sgtest check "[(h['app'], h['env'], h['status'])
    for h in d['stuck']] == [('billing', 'int', 'UPDATE_ROLLBACK_FAILED')]" \
    "$t_dir/page"
page /api/v1/apps
ok "/api/v1/apps: Int's stuck, STG's null" sgtest check "[(e['name'],
    e['stuck'] and e['stuck']['status']) for e in d['apps'][0]['environments']]
    == [('int', 'UPDATE_ROLLBACK_FAILED'), ('stg', None), ('prod', None)]" \
    "$t_dir/page"
page /
ok "the dashboard shows Int stuck" page_has 'int is stuck</a>: stack billing-int'
page /apps/billing
ok "the app page shows Int stuck, with the reason" \
    sh -c "grep -q 'stuck: UPDATE_ROLLBACK_FAILED' '$t_dir/page' &&
    grep -q 'old tasks do not stabilise' '$t_dir/page'"
ok "and, to an operator, the button" \
    page_has 'action="/apps/billing/stacks/int/continue-rollback"'
csrf=$(curl -s -b "$jar" "$base/api/v1/me" | sgtest get "d['csrf']" -)

# --- Refused: no comment, not an operator -----------------------------------
ctl continue-rollback billing int --as dave
ok "continue-rollback without -m: exit 2" test "$rc" -eq 2
ctl continue-rollback billing int --as bob -m 'fixed'
ok "bob may not: exit 1, operators named" \
    sh -c "test $rc -eq 1 && grep -q 'not in operators' '$t_dir/err'"
ctl delete-failed-stack billing int --as dave -m 'bin it'
ok "delete-failed-stack does not apply to UPDATE_ROLLBACK_FAILED: exit 1" \
    sh -c "test $rc -eq 1 && grep -q 'continue-rollback applies' '$t_dir/err'"
code=$(curl -s -o "$t_dir/page" -w '%{http_code}' -b "$jar" \
    --data-urlencode "csrf=$csrf" --data-urlencode confirm=yes \
    --data-urlencode 'comment=  ' "$base/apps/billing/stacks/int/continue-rollback")
ok "the portal's button without a comment: 400, it says so" \
    sh -c "[ '$code' = 400 ] && grep -q 'A comment is required' '$t_dir/page'"
nothing_started() { ctl stacks; ! out_has 'under way'; }
ok "nothing was started" nothing_started

# --- The portal's button continues the rollback -------------------------------
code=$(curl -s -o "$t_dir/page" -w '%{http_code}' -b "$jar" \
    --data-urlencode "csrf=$csrf" --data-urlencode confirm=yes \
    --data-urlencode 'comment=the old task definition was fixed by hand' \
    "$base/apps/billing/stacks/int/continue-rollback")
ok "dave presses the button with a comment: redirected to the app page" \
    test "$code" = 303
ok "the rollback is waited on until UPDATE_ROLLBACK_COMPLETE: Int no longer stuck" \
    wait_until 60 stuck_none
ok "CloudFormation was asked once" test "$(curl -sf "$fake_url/_fake/calls" |
    sgtest get "d['cloudformation'].get('ContinueUpdateRollback', 0)" -)" = 1
ok "the fake's stack is UPDATE_ROLLBACK_COMPLETE" sh -c "curl -sf '$fake_url/_fake/state' |
    '$TEST_PYTHON' '$top_srcdir/tests/integration/sgtest.py' check \"[s['status']
    for s in d['cloudformation']['stacks'].values() if s['name'] ==
    'billing-int'] == ['UPDATE_ROLLBACK_COMPLETE']\" -"
ok "the request and its end are audited, with who, how and why" \
    show_check 1 "[(a['actor'], a['action']) for a in run['audit']
    if 'continue-rollback' in a['action']] == [('dave', 'continue-rollback'),
    ('shipgated', 'continue-rollback done')] and
    any('via portal: the old task definition was fixed by hand' ==
    a['detail'] for a in run['audit'])"
ok "run 2 goes on: it waits for the Int approval" \
    wait_until 60 stage_is 2 int awaiting_approval
ctl approve 2 --env int --as alice
ok "and deploys Int" wait_until 90 stage_is 2 int awaiting_gate
# --- A first deployment that fails: ROLLBACK_COMPLETE, delete-failed-stack ---
# STG's stack goes (as if STG were new), so run 2's STG stage creates it.
"$TEST_PYTHON" - "$fake_url" "$top_srcdir/tests/fakeaws" <<'EOF' >"$t_dir/del.out" 2>&1
import sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[2])
import boto3
import fakeaws_keys as K
kw = {"endpoint_url": sys.argv[1], "region_name": "eu-west-1"}
sts = boto3.client("sts", aws_access_key_id=K.ACCESS_KEY_ID,
                   aws_secret_access_key=K.SECRET_ACCESS_KEY, **kw)
c = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/test",
                    RoleSessionName="test-stuck")["Credentials"]
cf = boto3.client("cloudformation", aws_access_key_id=c["AccessKeyId"],
                  aws_secret_access_key=c["SecretAccessKey"],
                  aws_session_token=c["SessionToken"], **kw)
sid = cf.describe_stacks(StackName="billing-stg")["Stacks"][0]["StackId"]
cf.delete_stack(StackName="billing-stg")
for i in range(600):
    st = cf.describe_stacks(StackName=sid)["Stacks"][0]["StackStatus"]
    if st == "DELETE_COMPLETE":
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
EOF
ok "STG's stack is deleted (STG is new again)" test $? -eq 0
sgtest post "$fake_url" /_fake/cfn/fail-resource '{"logical_id": "WebService",
    "stack": "billing-stg", "reason": "no capacity in the cluster"}' >/dev/null
ctl authorise 2 --as alice
ok "run 2 is authorised; STG's CREATE change set awaits approval" \
    wait_until 60 stage_is 2 stg awaiting_approval
ctl approve 2 --env stg --as bob
ok "STG's first deployment fails" wait_until 90 run_is 2 failed
ok "the reason says the stack must be deleted first, and how" \
    show_check 2 "'ROLLBACK_COMPLETE' in stage('stg')['reason'] and
    'no capacity in the cluster' in stage('stg')['reason'] and
    'shipgatectl delete-failed-stack billing stg' in stage('stg')['reason']"
ctl retry 2 --env stg --as dave
ok "a retry of STG waits, saying why, instead of failing" \
    wait_until 60 show_check 2 "stage('stg')['status'] == 'pending' and
    'delete-failed-stack billing stg' in (stage('stg')['reason'] or '')"
ctl continue-rollback billing stg --as dave -m 'try'
ok "continue-rollback does not apply to ROLLBACK_COMPLETE: exit 1" \
    sh -c "test $rc -eq 1 && grep -q 'delete-failed-stack does' '$t_dir/err'"
ctl delete-failed-stack billing stg --as dave
ok "delete-failed-stack without -m: exit 2" test "$rc" -eq 2
ctl delete-failed-stack billing stg --as dave -m 'capacity added; start STG afresh'
ok "dave deletes the failed stack" test "$rc" -eq 0
ok "it is waited on until DELETE_COMPLETE: STG no longer stuck" \
    wait_until 60 stuck_none
ok "audited" show_check 2 "[a['action'] for a in run['audit']
    if 'delete-failed-stack' in a['action']] ==
    ['delete-failed-stack', 'delete-failed-stack done']"
ok "the retried STG creates its stack again and awaits approval" \
    wait_until 60 stage_is 2 stg awaiting_approval
ctl approve 2 --env stg --as bob
ok "and deploys STG" wait_until 90 stage_is 2 prod awaiting_approval

ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
