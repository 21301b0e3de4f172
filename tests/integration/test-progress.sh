#!/bin/sh
# Live progress (issue 16): while a stage executes, the daemon keeps the
# stack's events and the ECS services' deployments with the stage's
# attempt; the run JSON carries them and `shipgatectl show --follow`
# prints transitions, events and progress as they happen, exiting 0 when
# the run succeeded and 1 when it failed (an ECS deployment the circuit
# breaker stopped).
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.1 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
# Tasks come up over four looks, so that the progress moves.
sgtest post "$fake_url" /_fake/config '{"ecs_rollout_steps": 4}' >/dev/null ||
    { echo "Bail out! the fake refused its configuration"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
export SHIPGATE_ENGINE_POLL_MS=100
export SHIPGATECTL_FOLLOW_INTERVAL_MS=100
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
stage_is() {
	ctl --json show "$1" 2>/dev/null | sgtest check \
	    "stage('$2').get('status') == '$3'"
}
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag "$1" \
	    --message "release $1" >>"$t_dir/drop.out"
}

# --- A run followed to its success ----------------------------------------
drop 2.0.0
ok "run 1 waits for the Int approval" t_wait_for 60 stage_is 1 int awaiting_approval
ctl show 1 --follow >"$t_dir/follow1.txt" 2>"$t_dir/follow1.err" &
follow1=$!
t_pids="$t_pids $follow1"
ctl approve 1 --env int --as alice >/dev/null
ok "Int approved" test $? -eq 0
ok "Int waits at the gate" t_wait_for 60 stage_is 1 int awaiting_gate
ctl authorise 1 --as alice >/dev/null &&
    t_wait_for 60 stage_is 1 stg awaiting_approval &&
    ctl approve 1 --env stg --as bob >/dev/null &&
    t_wait_for 60 stage_is 1 prod awaiting_approval &&
    ctl approve 1 --env prod --as bob >/dev/null &&
    t_api_approve "$cfg" 1 prod carol
ok "STG and Prod approved" test $? -eq 0
ok "show --follow exits when the run ends" t_wait_for 120 t_dead "$follow1"
t_alive "$follow1" && kill "$follow1"
wait "$follow1"
ok "show --follow exits 0: the run succeeded" test $? -eq 0
t_diag "$(head -n 60 "$t_dir/follow1.txt")"
ok "it printed the stage transitions" \
    sh -c "grep -Eq '^int: ([a-z_]+ -> )?(executing|waiting_stack)\$' '$t_dir/follow1.txt' &&
           grep -Eq '^int: [a-z_]+ -> awaiting_gate\$' '$t_dir/follow1.txt' &&
           grep -Eq '^prod: [a-z_]+ -> done\$' '$t_dir/follow1.txt'"
ok "it printed the stack's events as they came, one resource at a time" \
    sh -c "grep -Eq '^  [0-9:]{8} WebService AWS::ECS::Service UPDATE_IN_PROGRESS' '$t_dir/follow1.txt' &&
           grep -Eq '^  [0-9:]{8} WebService AWS::ECS::Service UPDATE_COMPLETE' '$t_dir/follow1.txt' &&
           grep -Eq '^  [0-9:]{8} billing-int AWS::CloudFormation::Stack UPDATE_COMPLETE\$' '$t_dir/follow1.txt'"
ok "it printed the service's deployment moving: tasks pending, then all running" \
    sh -c "grep -Eq '^  service [^ ]+: 0/[1-9][0-9]* running \\[-+\\] [1-9][0-9]* pending, 0 failed, IN_PROGRESS' '$t_dir/follow1.txt' &&
           grep -Eq '^  service [^ ]+: ([1-9][0-9]*)/\\1 running \\[#+\\] 0 pending, 0 failed, COMPLETED' '$t_dir/follow1.txt'"
ok "and the run's end" grep -q '^run 1: running -> succeeded' "$t_dir/follow1.txt"
ok "nothing on stderr" test ! -s "$t_dir/follow1.err"

ctl --json show 1 >"$t_dir/show1.json"
ok "the run JSON keeps each stage's stack events, newest first" \
    sgtest check "all(len(stage(e)['events']) >= 4 for e in ('int', 'stg', 'prod')) and
    stage('int')['events'][0]['status'] == 'UPDATE_COMPLETE' and
    stage('int')['events'][0]['type'] == 'AWS::CloudFormation::Stack' and
    [e['at'] for e in stage('int')['events']] == sorted(
        [e['at'] for e in stage('int')['events']], reverse=True) and
    not any(e['failed'] for e in stage('int')['events'])" "$t_dir/show1.json"
ok "and the services' deployments, completed" \
    sgtest check "all(len(stage(e)['services']) == 1 and
    stage(e)['services'][0]['rollout_state'] == 'COMPLETED' and
    stage(e)['services'][0]['running'] == stage(e)['services'][0]['desired'] > 0
    for e in ('int', 'stg', 'prod'))" "$t_dir/show1.json"
ctl show 1 >"$t_dir/show1.txt"
ok "show prints each service's progress and the events" \
    sh -c "grep -Eq '^    service [^ ]+: ([1-9][0-9]*)/\\1 running \\[##########\\]' '$t_dir/show1.txt' &&
           grep -q '^    stack events (newest first):' '$t_dir/show1.txt'"

# --- A run whose ECS deployment fails --------------------------------------
sgtest post "$fake_url" /_fake/ecs/fail-deployment '{"count": 1}' >/dev/null
ok "an ECS deployment failure is injected" test $? -eq 0
drop 2.0.1
ok "run 2 waits for the Int approval" t_wait_for 60 stage_is 2 int awaiting_approval
ctl show 2 --follow >"$t_dir/follow2.txt" 2>"$t_dir/follow2.err" &
follow2=$!
t_pids="$t_pids $follow2"
ctl approve 2 --env int --as alice >/dev/null
ok "Int approved" test $? -eq 0
ok "show --follow exits when the run fails" t_wait_for 120 t_dead "$follow2"
t_alive "$follow2" && kill "$follow2"
wait "$follow2"
ok "show --follow exits 1: the run failed" test $? -eq 1
t_diag "$(cat "$t_dir/follow2.txt")"
ok "it printed the failed resource's event, marked, with CloudFormation's reason" \
    grep -Eq '^  [0-9:]{8} WebService AWS::ECS::Service UPDATE_FAILED: .*Circuit Breaker.*<-- FAILED$' \
    "$t_dir/follow2.txt"
ok "it printed the failed deployment, with ECS's reason" \
    grep -Eq '^  service [^ ]+: .* [1-9][0-9]* failed, FAILED: ECS deployment circuit breaker' \
    "$t_dir/follow2.txt"
ok "and the run's end" grep -q '^run 2: running -> failed' "$t_dir/follow2.txt"
ctl --json show 2 >"$t_dir/show2.json"
ok "the run JSON marks the failed event and the failed deployment" \
    sgtest check "any(e['failed'] and e['status'] == 'UPDATE_FAILED' and
    e['logical_id'] == 'WebService' for e in stage('int')['events']) and
    stage('int')['services'][0]['rollout_state'] == 'FAILED'" "$t_dir/show2.json"

ctl --json show 1 --follow >"$t_dir/follow-json.txt" 2>&1
ok "--json show --follow of a finished run exits 0 (it succeeded)" test $? -eq 0
json_once() {
	test "$(wc -l <"$t_dir/follow-json.txt")" -eq 1 &&
	    sgtest check "run['status'] == 'succeeded' and
	    len(stage('int')['events']) > 0" "$t_dir/follow-json.txt"
}
ok "and prints its JSON once, with the events" json_once
ctl show 2 --follow >/dev/null 2>&1
ok "show --follow of a finished failed run exits 1 at once" test $? -eq 1

# --- Following across a daemon restart ------------------------------------
drop 2.0.2
ok "run 3 waits for the Int approval" t_wait_for 60 stage_is 3 int awaiting_approval
ctl show 3 --follow >"$t_dir/follow3.txt" 2>"$t_dir/follow3.err" &
follow3=$!
t_pids="$t_pids $follow3"
sleep 0.5
t_stop "$daemon_pid"
ok "shipgated stops while run 3 is followed" test $? -eq 0
sleep 0.5
ok "show --follow waits for it" t_alive "$follow3"
t_start_daemon "$cfg"
ready_twice() {
	test "$(grep -c 'shipgated info: ready ' "$t_dir/shipgated.log")" -ge 2 &&
	    test -S "$t_dir/control.sock"
}
ok "shipgated is ready again" t_wait_for 30 ready_twice
ctl cancel 3 --as dave -m 'not today' >/dev/null
ok "run 3 is cancelled" test $? -eq 0
ok "show --follow exits when the run ends" t_wait_for 60 t_dead "$follow3"
# Never wait on one that goes on: its test failed above.
t_alive "$follow3" && kill "$follow3"
wait "$follow3"
ok "show --follow exits 1: the run was cancelled" test $? -eq 1
t_diag "$(cat "$t_dir/follow3.err")"
ok "it said it tried again while the daemon was away, and went on" \
    sh -c "grep -q 'trying again' '$t_dir/follow3.err' &&
           grep -q '^run 3: running -> cancelled' '$t_dir/follow3.txt'"

ctl show 999 --follow >/dev/null 2>"$t_dir/err"
ok "following a run that does not exist exits 1, saying so" \
    sh -c "test $? -eq 1 && grep -qi 'not found\\|no run' '$t_dir/err'"
ctl show 1 --follow --status x >/dev/null 2>&1
ok "show --follow takes no other option (exit 2)" test $? -eq 2

ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
