#!/bin/sh
# Crash safety: one release through Int, STG and Prod with the real daemon
# and the fake AWS endpoint, while shipgated is killed with SIGKILL at
# every kind of step (the zip just dropped, creating a change set, waiting
# for an approval, just after an approval or the gate was accepted, while
# the stack and the services deploy, at the gate, ...), and started again
# on the same configuration and database each time.  The run must end as
# it would have without the crashes: every change set executed once, at
# its first attempt, every approval kept, one release for the one zip,
# each transition audited once.  A daemon killed -9 leaves its control
# socket behind: each restart must replace it.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
# A longer step makes each state last long enough to be killed in.
t_start_fake --step-delay 0.3 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# As test-pipeline.sh: no image promotion, Int's registry everywhere.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
# A message received by a daemon that is then killed comes back soon:
# intake sees the zip both from the listing after the restart and from
# the redelivered event, and must make one release of it.
"$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" visibility \
    "$fake_url" 3 || { echo "Bail out! cannot set the queue's visibility"; exit 1; }
db="$t_dir/shipgate.db"
sock="$t_dir/control.sock"
log="$t_dir/shipgated.log"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@" </dev/null; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
# wait_until SECONDS COMMAND...: t_wait_for against the clock (each try
# of a slow command under ASan takes a while).
wait_until() {
	w_end=$(($(date +%s) + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$w_end" ] || return 1
		sleep 0.1
	done
}

# Lines of the daemon's log written since the last restart.
mark=0
new_log_has() {
	tail -n "+$((mark + 1))" "$log" | grep -Eq -- "$1"
}

# at ENV STATUS: the database shows the stage at STATUS, exactly.
at() {
	sgtest where "$db" 1 2>/dev/null | grep -q " $1=$2/"
}

# wait_point ENV STATUS: until the daemon logs the stage entering STATUS,
# or the database shows it at STATUS (entered before the last crash).
# Past it is a miss: 1 then, or after 60 s.  The log is watched closely,
# the database (slower to ask) now and then.
wait_point() {
	w_i=0
	w_pat="-> $2 app=billing run=1 env=$1\$"
	w_end=$(($(date +%s) + 60))
	while :; do
		new_log_has "$w_pat" && return 0
		if [ $((w_i % 50)) -eq 0 ]; then
			at "$1" "$2" && return 0
			# Entered since, or past it: which, asked again.
			if sgtest reached "$db" 1 "$1" "$2" 2>/dev/null; then
				at "$1" "$2"
				return
			fi
			[ "$(date +%s)" -lt "$w_end" ] || return 1
		fi
		sleep 0.02
		w_i=$((w_i + 1))
	done
}

# run_matches ERE: the run's state (as crash reads it) matches ERE.
run_matches() {
	echo " $(sgtest where "$db" 1 2>&1)" | grep -Eq -- "$1"
}

# crash LABEL EXPECT: SIGKILL the daemon, note where the run was (EXPECT:
# an ERE the run's state must match; "none": no run recorded yet), start
# it again on the same configuration and database and wait until it
# serves.  The kill point's verdict goes to $t_dir/kill.$point: "ok", or
# why not.
kills=0
stale=0
restarted=0
crash() {
	kill -KILL "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null
	t_pids=$(echo " $t_pids " | sed "s/ $daemon_pid / /")
	kills=$((kills + 1))
	where=$(sgtest where "$db" 1 2>&1)
	t_diag "kill $kills ($1): $where"
	if [ "$2" = none ]; then
		test "$(sgtest sql "$db" 'SELECT count(*) FROM runs' 2>&1)" = 0
	else
		echo " $where" | grep -Eq -- "$2"
	fi && [ -z "$point_err" ] && echo ok >"$t_dir/kill.$point" ||
	    echo "killed at '$where', want /$2/$point_err" >"$t_dir/kill.$point"
	echo "$kills $1: $where" >>"$t_dir/kills.txt"
	[ -S "$sock" ] && stale=$((stale + 1))
	mark=$(wc -l <"$log")
	t_start_daemon "$cfg"
	if wait_until 60 new_log_has ' ready ' &&
	    wait_until 60 ctl runs >/dev/null; then
		restarted=$((restarted + 1))
	else
		t_diag "the daemon did not come back after kill $kills"
	fi
}

drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version 1.4.2 --tag 1.4.2 \
	    --message 'Fix invoice rounding on credit notes' \
	    >"$t_dir/drop.out" 2>&1 </dev/null
}

# fault SERVICE OPERATION SECONDS COUNT: the next COUNT such calls answer
# SECONDS late, so that a state that is otherwise over in a moment
# (describing a new change set, the services already stable when the
# stack completes) lasts long enough to be killed in, or that a request
# is still in flight when the daemon dies (ExecuteChangeSet: the fake
# runs it once the delay is over, after the daemon is gone).
fault() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "{\"service\":
	    \"$1\", \"operation\": \"$2\", \"mode\": \"delay\", \"delay\": $3,
	    \"count\": $4}" "$fake_url/_fake/faults" >/dev/null
}

# slow SERVICE OPERATION SECONDS: every such call answers SECONDS late
# until nofaults, for a state that must outlast several restarts.
slow() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "{\"service\":
	    \"$1\", \"operation\": \"$2\", \"mode\": \"delay\", \"delay\": $3,
	    \"rate\": 1.0}" "$fake_url/_fake/faults" >/dev/null
}
nofaults() {
	curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null
}

# The kill points, in the order of a run:
# LABEL|ENV|STATUS|ACTION|DELAY|EXPECT.  ACTION (run first) is what a
# person does, or a fault that makes the next state last; then wait for
# the stage to be at STATUS, exactly (no ENV: for the daemon to log
# STATUS; neither: kill at once), sleep DELAY, kill, restart.  At the
# kill the run's state (sgtest where) must match EXPECT (default
# " ENV=STATUS/": still in that state; "none": no run recorded yet).
# Each point is one check below: hit in its own state, and run at all.
# A delay that holds a state is set one point early: the daemon enters
# the next state while it comes back from the kill before, and the log
# line the wait sees may be from then (the state's own check at the kill
# catches that).  slow ... lasts until the next nofaults.  A stage waits
# for its stack only as long as DescribeStacks takes to say it is done
# (the fake's stack is over in a fraction of a second), so a slow
# DescribeStacks, set with the approval, is what holds waiting_stack
# through the restart before it.
cat >"$t_dir/points" <<'EOF'
the zip being read by intake|||fault s3 GetObject 2 1 && slow cloudformation DescribeChangeSet 5 && drop|0.5|none
the release just recorded||release recorded|||^ run=(received|running) int=(pending|creating_change_set)/a0
Int creating its change set|int|creating_change_set|||
Int change set created|int|creating_change_set||0.6|
Int awaiting approval|int|awaiting_approval|nofaults||
Int executing, ExecuteChangeSet sent|||fault cloudformation ExecuteChangeSet 1 1 && slow cloudformation DescribeStacks 3 && ctl approve 1 --env int --as alice -m 'int ok'|0.3| int=executing/
Int waiting for the stack|int|waiting_stack|slow ecs DescribeServices 5|0.5|
Int waiting for the services|int|waiting_services|||
Int at the promotion gate|int|awaiting_gate|nofaults||
promotion just authorised|||slow cloudformation DescribeChangeSet 5 && ctl authorise 1 --as alice -m 'to the client'|| int=(awaiting_gate|done)/a0 stg=(pending|creating_change_set)/a0
STG creating its change set|stg|creating_change_set|||
STG awaiting approval|stg|awaiting_approval|nofaults||
STG approval just accepted|||fault cloudformation ExecuteChangeSet 1 1 && slow cloudformation DescribeStacks 3 && ctl approve 1 --env stg --as bob|| stg=(awaiting_approval|executing)/a0
STG waiting for the stack|stg|waiting_stack||0.5|
Prod awaiting approval|prod|awaiting_approval|nofaults||
Prod's first approval just accepted|||ctl approve 1 --env prod --as bob|| prod=awaiting_approval/a0
Prod's second approval just accepted|||fault cloudformation ExecuteChangeSet 1 1 && slow cloudformation DescribeStacks 3 && slow ecs DescribeServices 5 && t_api_approve "$cfg" 1 prod carol go|| prod=(awaiting_approval|executing)/a0
Prod waiting for the stack|prod|waiting_stack|slow ecs DescribeServices 5|0.5|
Prod waiting for the services|prod|waiting_services|||
EOF
npoints=$(grep -c . "$t_dir/points")
point=0
while IFS='|' read -r label env status action delay expect <&3; do
	[ -n "$label" ] || continue
	point=$((point + 1))
	point_err=
	if [ -n "$action" ] && ! eval "$action" >>"$t_dir/actions.out" 2>&1; then
		point_err="; '$action' failed: $(tail -n 2 "$t_dir/actions.out")"
	fi
	if [ -z "$env" ] && [ -n "$status" ] &&
	    ! wait_until 60 new_log_has "$status"; then
		point_err="$point_err; the daemon never logged '$status'"
	elif [ -n "$env" ] && ! wait_point "$env" "$status"; then
		point_err="$point_err; $env never was at $status (missed, or past it)"
	fi
	[ -z "$delay" ] || sleep "$delay"
	# A point named by a log line or an action ("just recorded", "just
	# accepted") may come a moment before its commit ("release
	# recorded" is logged before the run's row is written): wait, a
	# little, for the database to show it, so the kill lands in it.
	if [ -z "$env" ] && [ -n "$expect" ] && [ "$expect" != none ]; then
		wait_until 10 run_matches "$expect" || :
	fi
	[ -n "$expect" ] || expect=" $env=$status/"
	crash "$label" "$expect"
done 3<"$t_dir/points"
nofaults

ok "the list has its 19 kill points" test "$npoints" -eq 19
point=0
while IFS='|' read -r label env status action delay expect <&3; do
	point=$((point + 1))
	if [ ! -f "$t_dir/kill.$point" ]; then
		ok "kill point $point ($label) ran" false
		continue
	fi
	v=$(cat "$t_dir/kill.$point")
	[ "$v" = ok ] || t_diag "kill point $point ($label): $v"
	ok "kill point $point ($label): killed in its own state" test "$v" = ok
done 3<"$t_dir/points"
ok "one kill per point" test "$kills" -eq "$npoints"
ok "the daemon came back after every kill" test "$restarted" -eq "$kills"
ok "a stale control socket was left each time, and replaced" \
    test "$stale" -eq "$kills"

run_is() {
	ctl --json show "$1" 2>/dev/null | sgtest check "run['status'] == '$2'" -
}
ok "the run succeeds" wait_until 90 run_is 1 succeeded

ctl --json show 1 >"$t_dir/show.json" 2>&1
curl -sf "$fake_url/_fake/cfn/executions" >"$t_dir/exec.json"
t_diag "$(sgtest executions "$fake_url")"
curl -sf "$fake_url/_fake/calls" >"$t_dir/calls.json"
t_diag "CloudFormation calls: $(sgtest get "d.get('cloudformation')" "$t_dir/calls.json")"
sgtest crash-report "$t_dir/show.json" "$t_dir/exec.json" >"$t_dir/report" 2>&1
[ -s "$t_dir/report" ] || echo "not ok the final checks: $(cat "$t_dir/report")" >"$t_dir/report"
while read -r line; do
	case $line in
	"ok "*)
		ok "${line#ok }" true ;;
	*)
		ok "${line#not ok }" false ;;
	esac
done <"$t_dir/report"

queue_empty() {
	curl -sf "$fake_url/_fake/state" | sgtest check "all(not q['messages']
	    for k, q in d['sqs'].items() if k.endswith('/billing-drops'))" -
}
ok "the event received before the first kill is handled, deleted" \
    wait_until 60 queue_empty
ctl --json runs >"$t_dir/runs.json" 2>&1
ok "one run for the one zip" sgtest check "len(d['runs']) == 1" "$t_dir/runs.json"
ok "one release recorded for the one zip" \
    test "$(sgtest sql "$db" 'SELECT count(*) FROM releases')" = 1
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
ok "and removes its control socket" test ! -e "$sock"
t_done
