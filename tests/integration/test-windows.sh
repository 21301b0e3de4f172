#!/bin/sh
# Deploy windows and freezes through the real daemon and shipgatectl: an
# operator freezes Int (not another user, not without a reason or an end);
# a release approved there waits in awaiting_window, saying until when and
# why, and its mail says when it will run; it still waits after a
# restart; an override (operators, a comment) starts it at once, audited
# and mailed; a second one waits until the freeze is lifted.  The clock
# cases (windows, DST days) are test-engine's, with a controllable clock.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# Int open around the clock in Paris: only freezes close it here.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e '/^        gate: \[integrators\]/a\
        windows: [{days: daily, from: "00:00", to: "24:00", zone: Europe/Paris}]' \
    "$t_dir/demo.yaml" >"$cfg"
chmod 600 "$cfg"
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
show_check() {
	"$SHIPGATECTL" -c "$cfg" --json show "$1" 2>/dev/null |
	    sgtest check "$2" -
}
stage_is() { show_check "$1" "stage('$2')['status'] == '$3'"; }
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag 1.4.2 \
	    --param "DesiredCount=$2" --message "release $1" \
	    >>"$t_dir/drop.out" 2>&1
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

# --- Freezing: who, why, until when -----------------------------------------
ctl freeze billing int --until 2h
ok "freeze without a reason is a usage error (exit 2)" test $rc -eq 2
ok "... saying so" err_has 'freeze needs a reason'
ctl freeze billing int --until tomorrow -m sale
ok "freeze --until something else than a time or a duration: exit 2" test $rc -eq 2
ok "... naming what it takes" err_has 'a time with its offset'
ctl freeze billing int --until 2026-12-24T18:00 -m sale
ok "a time without its offset is refused (whose 18:00?)" test $rc -eq 2
ctl freeze billing int --until 2h -m sale --as alice
ok "alice, not an operator, may not freeze (exit 1)" test $rc -eq 1
ok "... told why" err_has 'not in operators'
ctl freeze billing int --until 2h -m sale --as "$(printf 'ali\377ce')"
ok "an --as that is not UTF-8 is a usage error (exit 2), not the caller acting" \
    test $rc -eq 2
ok "... saying so" err_has 'UTF-8'
ctl freeze billing qa --until 2h -m sale
ok "an unknown environment is named" sh -c "test $rc -eq 1 && grep -q 'no environment qa' '$t_dir/err'"
ctl freeze billing int --until 2h -m "winter sale"
ok "dave freezes Int for two hours" test $rc -eq 0
ok "... and is told until when, in UTC" out_has '^billing int: frozen until 20[0-9-]+T[0-9:]+Z by dave$'
ctl freezes billing
ok "freezes lists it, by whom and why" out_has '^billing int: frozen .* by dave: winter sale$'

# --- A release approved in the freeze waits ---------------------------------
drop 1.5.0 2
ok "run 1 waits for the Int approval" t_wait_for 60 stage_is 1 int awaiting_approval
ctl approve 1 --env int --as alice
ok "alice approves" test $rc -eq 0
ok "the approved stage awaits its window" t_wait_for 30 stage_is 1 int awaiting_window
ok "its reason names the freeze and when it will run" \
    show_check 1 "stage('int')['reason'].startswith('frozen until ') and
    ': winter sale: will start executing at ' in stage('int')['reason'] and
    'Europe/Paris (UTC+0' in stage('int')['reason']"
ok "the mail after the approval says when it will run" \
    t_wait_for 30 show_check 1 "any(n['event'] == 'window_wait' and
    ': runs at ' in n['subject'] for n in run['notifications'])"

# --- Restart while waiting --------------------------------------------------
t_stop "$daemon_pid"
ok "shipgated stops" test $? -eq 0
t_start_daemon "$cfg"
ok "shipgated is ready again" t_wait_for 60 sh -c "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 2"
sleep 1
ok "after the restart the stage still awaits its window" stage_is 1 int awaiting_window

# --- Override ---------------------------------------------------------------
ctl override 1 --env int -m " "
ok "override without a comment is a usage error (exit 2)" test $rc -eq 2
ctl override 1 --env int -m "hotfix" --as alice
ok "alice may not override (exit 1)" test $rc -eq 1
ctl override 1 --env int -m "hotfix for the invoice totals"
ok "dave overrides" test $rc -eq 0
ok "... and is told" out_has '^run 1: deploy windows of int overridden by dave'
ok "the stage goes on at once (deployed, at the gate)" \
    t_wait_for 60 stage_is 1 int awaiting_gate
ok "the override is audited with its comment" \
    show_check 1 "any(a['action'] == 'override' and
    'hotfix for the invoice totals' in (a['detail'] or '') for a in run['audit'])"
ok "and mailed to the approvers" \
    t_wait_for 30 show_check 1 "any(n['event'] == 'window_override' and
    'alice@integrator.example' in n['to'] for n in run['notifications'])"
ctl override 1 --env int -m again
ok "a stage no longer waiting cannot be overridden (exit 1)" \
    sh -c "test $rc -eq 1 && grep -q 'not awaiting its deploy window' '$t_dir/err'"

# --- Lifted -----------------------------------------------------------------
drop 1.5.1 3
ok "run 2 waits for the Int approval" t_wait_for 60 stage_is 2 int awaiting_approval
ctl approve 2 --env int --as alice
ok "run 2 awaits its window" t_wait_for 30 stage_is 2 int awaiting_window
csrf_a=$(login alice)
csrf_d=$(login dave)
page dave /runs/2
ok "the run page shows the stage waiting, with when it will run" \
    grep -q 'will start executing at ' "$t_dir/page"
ok "and, to an operator, the override form" \
    grep -q 'action="/runs/2/override"' "$t_dir/page"
page alice /runs/2
ok "not to alice" sh -c "! grep -q 'action=\"/runs/2/override\"' '$t_dir/page'"
code=$(curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.dave" \
    --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode confirm=yes "$base/runs/2/override")
ok "the form without a comment is refused, saying why" \
    sh -c "test '$code' = 400 && grep -q 'A comment is required to override' '$t_dir/page'"
ctl unfreeze billing int -m "sale over" --as alice
ok "alice may not lift a freeze" test $rc -eq 1
ctl unfreeze billing int -m "sale over"
ok "dave lifts it" sh -c "test $rc -eq 0 && grep -q 'run-time freezes lifted by dave' '$t_dir/out'"
ok "run 2 goes on by itself" t_wait_for 60 stage_is 2 int awaiting_gate
ok "its start says why" show_check 2 "any('the deploy window opened' in
    (a['detail'] or '') for a in run['audit'])"
ctl freezes billing int
ok "no freeze is left" out_has '^no run-time freeze$'

# --- The same through the API, for operators ----------------------------------
until_ms=$(( ($(date +%s) + 3600) * 1000 ))
code=$(api alice "$csrf_a" /api/v1/apps/billing/environments/int/freeze \
    "{\"comment\": \"sale\", \"until\": $until_ms}")
ok "the API refuses a freeze to alice (403)" test "$code" = 403
code=$(api dave "$csrf_d" /api/v1/apps/billing/environments/int/freeze \
    "{\"comment\": \"sale\"}")
ok "a freeze without its end: 400" test "$code" = 400
code=$(api dave "$csrf_d" /api/v1/apps/billing/environments/int/freeze \
    "{\"comment\": \"api sale\", \"until\": $until_ms}")
ok "dave freezes Int through the API" test "$code" = 200
ctl freezes billing
ok "... listed" out_has '^billing int: frozen .* by dave: api sale$'
code=$(api dave "$csrf_d" /api/v1/apps/billing/environments/int/unfreeze \
    '{"comment": "over"}')
ok "and lifts it" test "$code" = 200
ctl freezes billing
ok "... gone" out_has '^no run-time freeze$'
code=$(api dave "$csrf_d" /api/v1/runs/2/override '{"env": "int", "comment": "x"}')
ok "an override of a stage not waiting: 409" test "$code" = 409

t_done
