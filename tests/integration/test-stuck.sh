#!/bin/sh
# CloudFormation's hard cases through the real daemon, shipgatectl, the
# API and the portal: a rollback that fails leaves the Int stack in
# UPDATE_ROLLBACK_FAILED; the stage fails naming every failed resource;
# Int shows as stuck (shipgatectl stacks, /api/v1/stacks, /api/v1/apps,
# the app page and the dashboard); the next release waits, saying why,
# instead of failing; continue-rollback is refused without a comment or
# to a non-operator; the portal's button (an operator, a comment)
# continues the rollback, which the daemon waits on and audits; then the
# waiting release goes on.
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
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
