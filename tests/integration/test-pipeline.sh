#!/bin/sh
# A release through the whole pipeline with the real daemon, the fake AWS
# endpoint and shipgatectl: the zip dropped in the bucket reaches the
# daemon through the S3 event on SQS; Int is approved by the integrator,
# who then authorises promotion; STG by the project team; Prod needs two
# distinct approvers and refuses the author.  Nothing is executed twice.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# No registry runs behind the sandbox's ECR host names: environments
# without their own registry deploy the integration registry's images
# (test-promotion.sh covers the copy, with two local registries).
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
export SHIPGATE_ENGINE_POLL_MS=100
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
# stage_is RUN ENV STATUS: the stage has that status.
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
    --endpoint "$fake_url" --version 1.4.2 --tag 1.4.2 \
    --message 'Fix invoice rounding on credit notes' >"$t_dir/drop.out"
ok "the release zip is dropped in the bucket" test $? -eq 0

ok "a run appears and waits for the Int approval" \
    t_wait_for 60 stage_is 1 int awaiting_approval
ctl show 1 >"$t_dir/show.txt" 2>&1
t_diag "$(head -n 40 "$t_dir/show.txt")"
ok "show names the version and the integrator's message" \
    sh -c "grep -q '1.4.2' '$t_dir/show.txt' &&
           grep -q 'Fix invoice rounding on credit notes' '$t_dir/show.txt'"
ok "show lists the change set's resources" grep -q 'WebTask' "$t_dir/show.txt"

ctl approve 1 --env int --as bob -m 'not mine to approve' >/dev/null \
    2>"$t_dir/err"
ok "the project team may not approve Int (exit 1)" test $? -eq 1
ok "the refusal says why" grep -q 'bob' "$t_dir/err"

ctl approve 1 --env int --as alice -m 'looks good' >/dev/null
ok "the integrator approves Int" test $? -eq 0
ok "Int is deployed and waits at the promotion gate" \
    t_wait_for 60 stage_is 1 int awaiting_gate
ctl authorise 1 --as alice -m 'ready for the client' >/dev/null
ok "the integrator authorises promotion" test $? -eq 0
ok "STG waits for its approval" t_wait_for 60 stage_is 1 stg awaiting_approval
ctl approve 1 --env stg --as bob >/dev/null
ok "the project team approves STG" test $? -eq 0
ok "Prod waits for its approvals" t_wait_for 60 stage_is 1 prod awaiting_approval
ctl approve 1 --env prod --as alice >/dev/null 2>"$t_dir/err"
ok "the integrator may not approve Prod (exit 1)" test $? -eq 1
ctl approve 1 --env prod --as bob >/dev/null
ok "a first Prod approval is taken" test $? -eq 0
ctl approve 1 --env prod --as bob >/dev/null 2>&1
ok "the same user cannot approve twice" test $? -ne 0
ok "one approval of two does not deploy Prod" stage_is 1 prod awaiting_approval
ctl approve 1 --env prod --as carol -m 'go' >/dev/null 2>"$t_dir/err"
ok "one Unix user cannot meet the two-person quorum under another name (exit 1)" \
    test $? -eq 1
ok "the refusal says a quorum needs distinct people" \
    grep -q 'forbidden: dave has already decided on prod of run 1 as bob: a quorum needs distinct people, not names' "$t_dir/err"
ok "still one approval of two" stage_is 1 prod awaiting_approval
t_api_approve "$cfg" 1 prod carol go
ok "a second, distinct person (carol, through the API) is taken" test $? -eq 0
ok "the run succeeds" t_wait_for 90 run_is 1 succeeded

ctl runs >"$t_dir/runs.txt" 2>&1
ok "runs lists it as succeeded" grep -Eq '^1 +billing +1.4.2 .*succeeded' "$t_dir/runs.txt"
curl -sf "$fake_url/_fake/cfn/executions" >"$t_dir/exec.json"
t_diag "executions: $(cat "$t_dir/exec.json")"
# Every change set the run created was executed exactly once: a missing
# count is a failure (not a 0), and so is one never executed.
ok "every change set was executed exactly once" \
    "$TEST_PYTHON" -c "
import json, sys
sets = json.load(open('$t_dir/exec.json'))
vals = list(sets.values())
bad = [v for v in vals if 'executions' not in v or v['executions'] != 1]
for v in bad:
    print('# not executed exactly once: %r' % (v,))
sys.exit(0 if vals and not bad else 1)"
ok "shipgate made one change set per environment's stack (Int, STG, Prod)" \
    "$TEST_PYTHON" -c "
import json, sys
sets = json.load(open('$t_dir/exec.json'))
stacks = sorted(v['stack'] for v in sets.values()
                if v['name'].startswith('shipgate-'))
print('# stacks: %s' % stacks)
sys.exit(0 if len(stacks) == 3 and len(set(stacks)) == 3 else 1)"
curl -sf "$fake_url/_fake/calls" >"$t_dir/calls.json"
ok "the zip was read once: the engine deploys the template intake kept" \
    "$TEST_PYTHON" -c "
import json, sys
c = json.load(open('$t_dir/calls.json'))
sys.exit(0 if c.get('s3', {}).get('GetObject') == 1 else 1)"
ctl show 1 >"$t_dir/show.txt" 2>&1
ok "the audit trail names every approver" \
    sh -c "grep -q alice '$t_dir/show.txt' && grep -q bob '$t_dir/show.txt' &&
           grep -q carol '$t_dir/show.txt'"
ctl --json show 1 >"$t_dir/show.json" 2>&1
me="$(id -un 2>/dev/null || echo "uid $(id -u)")"
[ "$me" = "uid $(id -u)" ] || me="$me (uid $(id -u))"
ok "the audit names the real Unix user, its uid, and whom it acted as" \
    "$TEST_PYTHON" -c "import json, sys
a = json.load(open(sys.argv[1]))['run']['audit']
want = sys.argv[2] + ' acting as bob'
sys.exit(0 if any(e['action'] == 'approve' and e['actor'] == 'bob' and
    e['unix_user'] == want for e in a) else 1)" "$t_dir/show.json" "$me"
ok "and carol's approval from the API has no Unix user" \
    "$TEST_PYTHON" -c "import json, sys
a = json.load(open(sys.argv[1]))['run']['audit']
sys.exit(0 if any(e['action'] == 'approve' and e['actor'] == 'carol' and
    e['unix_user'] is None for e in a) else 1)" "$t_dir/show.json"
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
