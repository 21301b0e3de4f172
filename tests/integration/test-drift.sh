#!/bin/sh
# Drift detection before an approval (issue 15), with the real daemon
# against the fake AWS endpoint (whose drift detection answers as AWS's:
# in progress for a poll or two, then the resources changed by hand).
# - no drift: "no drift" on the stage;
# - drift: warn: the property changed by hand (old -> new) on the run
#   page, in the API, in shipgatectl show and in the approval mail; a
#   NoEcho value found in a drifted property is stored and shown masked;
#   the approval works;
# - drift: block: the approval is refused (CLI, API) until an operator
#   acknowledges with a comment (not another user, not without a
#   comment; through the run page's form, offered to operators only,
#   and through shipgatectl ack-drift), audited; then it works;
# - a detection that never finishes: "drift not checked" after
#   drift_timeout, the run not held; one that fails: not checked, with
#   CloudFormation's reason;
# - a restart of the daemon while a detection runs: the same detection
#   is polled again (no second DetectStackDrift), its result recorded;
# - drift: off: no DetectStackDrift reaches the fake at all.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }
mkdir "$t_dir/mail"
"$TEST_PYTHON" "$top_srcdir/tests/smtpsink.py" --dir "$t_dir/mail" \
    --port-file "$t_dir/smtp.port" >"$t_dir/smtp.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/smtp.port" ||
    { echo "Bail out! the SMTP sink did not start"; exit 1; }

SECRET=s3cr3t-drift-never-shown-77ab
t_demo_config "$t_dir/demo.yaml"
# config DRIFT TIMEOUT: Int with that drift mode and timeout (and a
# NoEcho parameter, DbPassword, whose value must never show).
config() {
	sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
	    -e "s|smtp://127.0.0.1:4525|smtp://127.0.0.1:$(cat "$t_dir/smtp.port")|" \
	    -e "s|parameters: {Environment: int, Registry: \"111111111111\"}|parameters: {Environment: int, Registry: \"111111111111\", DbPassword: $SECRET}\\
        drift: $1\\
        drift_timeout: $2|" \
	    "$t_dir/demo.yaml" >"$cfg"
	chmod 600 "$cfg"
	grep -q "^        drift: $1\$" "$cfg" ||
	    { echo "Bail out! the configuration was not made"; exit 1; }
}
cfg="$t_dir/shipgate.yaml"
config warn 30s
export SHIPGATE_ENGINE_POLL_MS=100
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '
starts=1
stops_failed=0
restart() {
	t_stop "$daemon_pid" || stops_failed=$((stops_failed + 1))
	t_start_daemon "$cfg"
	starts=$((starts + 1))
	t_wait_for 60 sh -c "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge $starts"
}

sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
ctl() {
	"$SHIPGATECTL" -c "$cfg" "$@" >"$t_dir/out" 2>"$t_dir/err"
	rc=$?
}
out_has() { grep -Fq -- "$1" "$t_dir/out"; }
err_has() { grep -Fq -- "$1" "$t_dir/err"; }
show_check() {
	"$SHIPGATECTL" -c "$cfg" --json show "$1" 2>/dev/null |
	    sgtest check "$2" -
}
stage_is() { show_check "$1" "stage('int')['status'] == '$2'"; }
drift_is() { show_check "$1" "(stage('int')['drift'] or {}).get('status') == '$2'"; }
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag 1.4.2 \
	    --noecho-parameter DbPassword --message "release $1" \
	    >>"$t_dir/drop.out" 2>&1
}
fake() {	# fake PATH JSON
	curl -sf -X POST -H 'Content-Type: application/json' --data "$2" \
	    "$fake_url$1" >/dev/null
}
by_hand() {	# by_hand RESOURCE PROPERTY VALUE: changed outside CloudFormation
	fake /_fake/cfn/drift "{\"account\": \"111111111111\", \"stack\": \"billing-int\",
	    \"resource\": \"$1\", \"property\": \"$2\", \"value\": $3}"
}
put_back() {
	fake /_fake/cfn/drift "{\"account\": \"111111111111\", \"stack\": \"billing-int\",
	    \"resource\": \"$1\", \"clear\": true}"
}
calls() {	# calls OP: how many the fake's CloudFormation answered
	curl -sf "$fake_url/_fake/calls" | sgtest get \
	    "d.get('cloudformation', {}).get('$1', 0)" -
}
detections() { calls DetectStackDrift; }
drift_calls() {
	echo $(($(calls DetectStackDrift) + $(calls DescribeStackDriftDetectionStatus) +
	    $(calls DescribeStackResourceDrifts)))
}
mail_has() {	# mail_has TEXT...: one approval mail with every TEXT
	"$TEST_PYTHON" - "$t_dir/mail" "$@" <<'EOF'
import email, email.policy, glob, sys
d, want = sys.argv[1], sys.argv[2:]
for f in sorted(glob.glob(d + "/*.eml")):
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    text = " ".join(m.get_body(("plain",)).get_content().split())
    if all(w in text for w in want):
        sys.exit(0)
sys.exit(1)
EOF
}
base="http://$(sed -n 's/^listen: //p' "$cfg")"
login() {
	rm -f "$t_dir/jar.$1"
	curl -s -o /dev/null -c "$t_dir/jar.$1" -b "$t_dir/jar.$1" \
	    --data-urlencode "user=$1" --data-urlencode password=demo "$base/login"
	curl -s -b "$t_dir/jar.$1" "$base/api/v1/me" | sgtest get "d['csrf']" -
}
api() {	# USER CSRF PATH BODY: the status code; the body in $t_dir/page
	curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.$1" \
	    -H "X-CSRF-Token: $2" -H 'Content-Type: application/json' \
	    --data "$4" "$base$3"
}
page() {	# USER PATH: the page in $t_dir/page
	curl -s -o "$t_dir/page" -b "$t_dir/jar.$1" "$base$2"
}
page_has() { grep -Fq -- "$1" "$t_dir/page"; }
ARROW=$(printf '\342\206\222')

# --- No drift ---------------------------------------------------------------
drop 1.5.0
ok "run 1 waits for the Int approval" t_wait_for 60 stage_is 1 awaiting_approval
ok "its drift was checked: none" drift_is 1 in_sync
ok "the fake answered one DetectStackDrift" test "$(detections)" = 1
csrf_a=$(login alice)
csrf_d=$(login dave)
page alice /runs/1
ok "the run page says: no drift" page_has 'No drift: the stack'
ctl show 1
ok "shipgatectl show says: no drift" out_has 'drift: no drift'

# --- drift: warn ------------------------------------------------------------
by_hand WebService /DesiredCount 5
by_hand WebService /ServiceName '"<script>alert(1)</script>"'
by_hand LogGroup /RetentionInDays "\"$SECRET\""
drop 1.5.1
ok "run 2 waits for the Int approval" t_wait_for 60 stage_is 2 awaiting_approval
ok "its drift: drifted" drift_is 2 drifted
ok "the API lists the property changed by hand, expected and actual" \
    show_check 2 "any(p['path'] == '/DesiredCount' and p['expected'] == '2' and
    p['actual'] == '5' and p['difference'] == 'NOT_EQUAL' and
    p['text'] == 'WebService DesiredCount: 2 $ARROW 5, changed outside CloudFormation'
    for r in stage('int')['drift']['resources'] if r['logical_id'] == 'WebService'
    and r['resource_type'] == 'AWS::ECS::Service' and r['status'] == 'MODIFIED'
    for p in r['properties'])"
ok "a drifted value holding a NoEcho value is masked on both sides" \
    show_check 2 "any(p['masked'] and p['expected'] == '****' and p['actual'] == '****'
    for r in stage('int')['drift']['resources'] if r['logical_id'] == 'LogGroup'
    for p in r['properties'])"
page alice /runs/2
ok "the run page shows it: WebService DesiredCount: 2 $ARROW 5" \
    page_has "WebService DesiredCount: 2 $ARROW 5, changed outside CloudFormation"
ok "... with the count" page_has '2 resources changed outside CloudFormation'
ok "a value from AWS is escaped on the page, never markup" \
    sh -c "grep -Fq 'web &rarr; &lt;script&gt;alert(1)&lt;/script&gt;' '$t_dir/page' ||
    grep -Fq 'web $ARROW &lt;script&gt;alert(1)&lt;/script&gt;' '$t_dir/page' &&
    ! grep -Fq '<script>alert(1)' '$t_dir/page'"
ok "no approval is refused under warn (no refusal shown)" \
    sh -c "! grep -q 'Approval refused until an operator' '$t_dir/page'"
ctl show 2
ok "shipgatectl show lists it" \
    out_has "drift: WebService DesiredCount: 2 $ARROW 5, changed outside CloudFormation"
ok "the approval mail carries the drift with the link" \
    t_wait_for 30 mail_has "Drift: 2 resources changed outside CloudFormation" \
    "WebService DesiredCount: 2 $ARROW 5" "/runs/2"
ctl approve 2 --env int --as alice
ok "under warn, alice approves" test $rc -eq 0
ok "run 2 deploys Int" t_wait_for 60 stage_is 2 awaiting_gate

# The NoEcho value: never in clear.
curl -s "$base/api/v1/runs/2" -b "$t_dir/jar.alice" >"$t_dir/api2.json"
cat "$t_dir/mail"/*.eml >"$t_dir/mails.txt" 2>/dev/null
for f in "$t_dir/page" "$t_dir/api2.json" "$t_dir/out" "$t_dir/mails.txt" \
    "$t_dir/shipgated.log"; do
	ok "the NoEcho value is not in $(basename "$f")" \
	    sh -c "! grep -Fq '$SECRET' '$f'"
done
ok "nor in the database files" sh -c "! cat '$t_dir'/shipgate.db* | grep -Faq '$SECRET'"
put_back LogGroup

# --- drift: block -----------------------------------------------------------
config block 30s
restart
ok "shipgated is ready with drift: block" test $? -eq 0
by_hand WebService /DesiredCount 7
drop 1.5.2
ok "run 3 waits for the Int approval" t_wait_for 60 stage_is 3 awaiting_approval
ok "its drift: drifted" drift_is 3 drifted
ok "the approval mail says an operator must acknowledge it first" \
    t_wait_for 30 mail_has "/runs/3" "Drift: 1 resource changed outside CloudFormation" \
    "(drift: block: an operator must acknowledge it before the approval)"
ctl approve 3 --env int --as alice
ok "alice's approval is refused (exit 1)" test $rc -eq 1
ok "... saying why and what to do" \
    err_has "changed outside CloudFormation (drift: block): an operator must acknowledge the drift first (shipgatectl ack-drift RUN --env int -m COMMENT)"
code=$(api alice "$csrf_a" /api/v1/runs/3/approve '{"env": "int"}')
ok "the API refuses it too (409)" test "$code" = 409
page dave /runs/3
ok "the page says the approval is refused until acknowledged" \
    page_has 'Approval refused until an operator acknowledges this drift'
ok "and offers dave, an operator, the form" page_has 'action="/runs/3/ack-drift"'
page alice /runs/3
ok "not alice" sh -c "! grep -q 'action=\"/runs/3/ack-drift\"' '$t_dir/page'"
ctl ack-drift 3 --env int -m " "
ok "ack-drift without a comment is a usage error (exit 2)" test $rc -eq 2
ctl ack-drift 3 --env int -m "seen" --as alice
ok "alice may not acknowledge drift (exit 1)" test $rc -eq 1
ok "... told why" err_has 'not in operators'
code=$(api alice "$csrf_a" /api/v1/runs/3/ack-drift '{"env": "int", "comment": "x"}')
ok "nor through the API (403)" test "$code" = 403
code=$(curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.dave" \
    --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode confirm=yes "$base/runs/3/ack-drift")
ok "the form without a comment is refused, saying why" \
    sh -c "test '$code' = 400 && grep -q 'A comment is required to acknowledge drift' '$t_dir/page'"
code=$(curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.dave" \
    --data-urlencode "csrf=$csrf_d" --data-urlencode env=int \
    --data-urlencode "comment=scaled up by hand for the sale; the release sets it back" \
    --data-urlencode confirm=yes "$base/runs/3/ack-drift")
ok "dave acknowledges the drift with the run page's form" test "$code" = 303
page dave /runs/3
ok "... the page says so, with his comment" \
    page_has 'Drift acknowledged by dave: scaled up by hand for the sale'
ok "the acknowledgement is audited with its comment" \
    show_check 3 "any(a['action'] == 'ack-drift' and
    'scaled up by hand for the sale' in (a['detail'] or '') for a in run['audit'])"
ok "and kept with the drift" \
    show_check 3 "stage('int')['drift']['acknowledged']['by'] == 'dave'"
ctl ack-drift 3 --env int -m "again"
ok "acknowledging twice is refused (exit 1)" test $rc -eq 1
ctl approve 3 --env int --as alice
ok "then alice approves" test $rc -eq 0
ok "run 3 deploys Int" t_wait_for 60 stage_is 3 awaiting_gate
put_back WebService

# --- A detection that never finishes ---------------------------------------
config warn 2s
restart
ok "shipgated is ready with drift_timeout: 2s" test $? -eq 0
fake /_fake/cfn/drift-detection '{"mode": "never"}'
drop 1.5.3
ok "run 4 waits for the Int approval all the same" \
    t_wait_for 60 stage_is 4 awaiting_approval
ok "its drift: not checked, saying why" \
    show_check 4 "stage('int')['drift']['status'] == 'not_checked' and
    'did not finish within 2 s' in stage('int')['drift']['reason']"
page alice /runs/4
ok "the run page says: drift not checked, with the reason" \
    page_has 'Drift not checked: drift detection did not finish within 2 s'
ctl approve 4 --env int --as alice
ok "the run is not held: alice approves" test $rc -eq 0
ok "run 4 deploys Int" t_wait_for 60 stage_is 4 awaiting_gate

# --- A detection that fails --------------------------------------------------
fake /_fake/cfn/drift-detection '{"mode": "fail"}'
drop 1.5.31
ok "run 5 waits for the Int approval" t_wait_for 60 stage_is 5 awaiting_approval
ok "its drift: not checked, with CloudFormation's reason" \
    show_check 5 "stage('int')['drift']['status'] == 'not_checked' and
    stage('int')['drift']['reason'].startswith(\"CloudFormation's detection failed: Failed to detect drift\")"

# --- A restart while a detection runs ---------------------------------------
config block 120s
restart
ok "shipgated is ready with drift: block, drift_timeout: 120s" test $? -eq 0
by_hand WebService /DesiredCount 9
fake /_fake/cfn/drift-detection '{"mode": "never"}'
drop 1.5.4
ok "run 6's detection is under way" t_wait_for 60 drift_is 6 detecting
n0=$(detections)
t_stop "$daemon_pid"
ok "shipgated stops in the middle of the detection" test $? -eq 0
ok "the database holds the stage pending, its detection under way with its id" \
    sh -c "sgtest() { '$TEST_PYTHON' '$top_srcdir/tests/integration/sgtest.py' \"\$@\"; }
    sgtest sql '$t_dir/shipgate.db' \"SELECT s.status, d.status, d.detection_id IS NOT NULL
    FROM stages s JOIN stage_drifts d ON d.stage_id = s.id AND d.attempt = s.attempt
    WHERE s.run_id = 6 AND s.environment = 'int'\" | grep -qx 'pending|detecting|1'"
fake /_fake/cfn/drift-detection '{"mode": "normal", "polls": 1, "running": true}'
t_start_daemon "$cfg"
starts=$((starts + 1))
ok "shipgated is ready again" \
    t_wait_for 60 sh -c "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge $starts"
ok "run 6 reaches its approval" t_wait_for 60 stage_is 6 awaiting_approval
ok "with the drift found by the detection it started before the restart" \
    show_check 6 "stage('int')['drift']['status'] == 'drifted' and
    any(p['actual'] == '9' for r in stage('int')['drift']['resources']
    for p in r['properties'])"
ok "no second DetectStackDrift was sent" test "$(detections)" = "$n0"
ctl ack-drift 6 --env int -m "DesiredCount 9 was a test; the release sets it back"
ok "dave acknowledges it with shipgatectl" test $rc -eq 0
ok "... and is told" out_has 'run 6: drift of int acknowledged by dave; it may be approved'
ctl show 6
ok "shipgatectl show says who acknowledged it, and why" \
    out_has 'drift acknowledged by dave: DesiredCount 9 was a test'
ctl approve 6 --env int --as alice
ok "then alice approves run 6" test $rc -eq 0
ok "run 6 deploys Int" t_wait_for 60 stage_is 6 awaiting_gate

# --- drift: off -------------------------------------------------------------
config off 30s
restart
ok "shipgated is ready with drift: off" test $? -eq 0
n0=$(drift_calls)
drop 1.5.5
ok "run 7 waits for the Int approval" t_wait_for 60 stage_is 7 awaiting_approval
ok "no drift call (DetectStackDrift or any other) reached the fake" \
    test "$(drift_calls)" = "$n0"
ok "the stage records no drift" show_check 7 "stage('int')['drift'] is None"

t_stop "$daemon_pid"
ok "shipgated stops cleanly, every time (exit 0: no leak, no sanitizer report)" \
    test $? -eq 0 -a "$stops_failed" -eq 0
ok "no sanitizer report in its log" \
    sh -c "! grep -Eq 'Sanitizer|runtime error' '$t_dir/shipgated.log'"

t_done
