#!/bin/sh
# The daemon survives strict throttling: with the fake's CloudFormation and
# ECS token buckets at one call a second per account (far below the
# defaults, tests/fakeaws/README.md), a release still goes through Int,
# STG and Prod, each change set executed exactly once, and the fake did
# throttle the daemon on the way (else this proves nothing).
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 || t_bail "the fake AWS endpoint did not start"
# The sandbox is built at the default rates; the daemon meets the strict ones.
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || t_bail "sandbox set-up failed"

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# As test-pipeline.sh: no registry behind the sandbox's ECR host names.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
export SHIPGATE_ENGINE_POLL_MS=100

strict='{"rates": {
  "cloudformation:describe": {"rate": 1, "burst": 2},
  "cloudformation:mutate": {"rate": 1, "burst": 2},
  "ecs:describe": {"rate": 1, "burst": 2},
  "ecs:mutate": {"rate": 1, "burst": 2}}}'
ok "the fake takes the strict rates" \
    sh -c '"$1" "$2" post "$3" /_fake/throttle "$4" >/dev/null' sh \
    "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$fake_url" "$strict"
curl -sf -X DELETE "$fake_url/_fake/rejected" >/dev/null

t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
stage_is() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
run = json.load(sys.stdin)['run']
st = [s for s in run['stages'] if s['env'] == '$2']
sys.exit(0 if st and st[0]['status'] == '$3' else 1)"
}
run_is() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
sys.exit(0 if json.load(sys.stdin)['run']['status'] == '$2' else 1)"
}

"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.2 --tag 1.4.2 >"$t_dir/drop.out"
ok "the release zip is dropped in the bucket" test $? -eq 0
ok "a run waits for the Int approval" t_wait_for 120 stage_is 1 int awaiting_approval
ctl approve 1 --env int --as alice -m 'throttled' >/dev/null
ok "Int is approved" test $? -eq 0
ok "Int is deployed and waits at the gate" t_wait_for 120 stage_is 1 int awaiting_gate
ctl authorise 1 --as alice >/dev/null
ok "promotion is authorised" test $? -eq 0
ok "STG waits for its approval" t_wait_for 120 stage_is 1 stg awaiting_approval
ctl approve 1 --env stg --as bob >/dev/null
ok "STG is approved" test $? -eq 0
ok "Prod waits for its approvals" t_wait_for 120 stage_is 1 prod awaiting_approval
ctl approve 1 --env prod --as bob >/dev/null && t_api_approve "$cfg" 1 prod carol
ok "Prod is approved twice" test $? -eq 0
ok "the run succeeds under strict throttling" t_wait_for 180 run_is 1 succeeded
ctl --json show 1 >"$t_dir/show.json" 2>&1
t_diag "$("$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" where \
    "$t_dir/shipgate.db" 1 2>/dev/null)"

curl -sf "$fake_url/_fake/rejected" >"$t_dir/rejected.json"
t_diag "rejected: $(tr -d '\n' <"$t_dir/rejected.json")"
ok "the fake throttled the daemon's CloudFormation calls" \
    "$TEST_PYTHON" -c "
import json, sys
r = json.load(open('$t_dir/rejected.json'))
sys.exit(0 if sum(r['throttled'].get('cloudformation', {}).values()) > 0 else 1)"
ok "no call was refused for its signature" \
    "$TEST_PYTHON" -c "
import json, sys
sys.exit(0 if json.load(open('$t_dir/rejected.json'))['auth'] == {} else 1)"
curl -sf "$fake_url/_fake/cfn/executions" >"$t_dir/exec.json"
ok "each of shipgate's three change sets was executed exactly once" \
    "$TEST_PYTHON" -c "
import json, sys
v = [x for x in json.load(open('$t_dir/exec.json')).values()
     if x['name'].startswith('shipgate-')]
sys.exit(0 if len(v) == 3 and all(x.get('executions') == 1 for x in v) else 1)"
# The client-side limit (aws-limit.c) took over after the first throttle:
# said once per key in the log, and calls held back are counted.
ok "the daemon says it limits its CloudFormation requests after a throttle" \
    t_log_has 'AWS throttled CloudFormation .*limited to'
listen=$(sed -n 's/.*portal listening listen=\([^ ]*\).*/\1/p' "$t_dir/shipgated.log" | head -1)
curl -sf "http://$listen/metrics" >"$t_dir/metrics" 2>/dev/null
t_diag "$(grep '^shipgate_aws_limited_total{service="cloudformation"' "$t_dir/metrics" | tr '\n' ' ')"
ok "/metrics counts CloudFormation calls held back by the limit" \
    awk '/^shipgate_aws_limited_total\{service="cloudformation"/ { n += $2 } END { exit n > 0 ? 0 : 1 }' "$t_dir/metrics"
ok "/metrics counts the time they were held" \
    awk '/^shipgate_aws_limited_milliseconds_total\{service="cloudformation"/ { n += $2 } END { exit n > 0 ? 0 : 1 }' "$t_dir/metrics"
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
