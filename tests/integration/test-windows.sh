#!/bin/sh
# Deploy windows and freezes through the real daemon and shipgatectl: an
# operator freezes Int (not another user, not without a reason or an end);
# a release approved there waits in awaiting_window, saying until when and
# why, and its mail says when it will run; it still waits after a
# restart; an override (operators, a comment) starts it at once, audited
# and mailed; a second one waits until the freeze is lifted, its run page
# naming the opening as a <time> for the viewer's zone.  STG's freeze in
# shipgate.yaml is listed beside the run-time ones and cannot be lifted by
# a command; one run-time freeze is lifted by its id.  The app page's
# freeze form and lift buttons: operators only (the POST too), a reason
# required, CSRF-checked, audited.  The clock cases (windows, DST days)
# are test-engine's, with a controllable clock.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# Int open around the clock in Paris: only freezes close it here.  STG
# frozen in the file from yesterday for a month (no run reaches it here).
cf_from=$(date -u -d yesterday +%F)
cf_to=$(date -u -d '+30 days' +%F)
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e '/^        gate: \[integrators\]/a\
        windows: [{days: daily, from: "00:00", to: "24:00", zone: Europe/Paris}]' \
    -e "/^        stack: billing-stg/a\\
        freezes: [{from: $cf_from, to: $cf_to, reason: \"stg month freeze\"}]" \
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
ok "... marked run-time, with its id and when it was added" \
    out_has '^billing int: frozen [0-9TZ:-]+ \.\. [0-9TZ:-]+ \(run-time 1, 20[0-9-]+T[0-9:]+Z\) by dave: winter sale$'
ok "... beside STG's freeze of shipgate.yaml, marked so" \
    out_has "^billing stg: frozen ${cf_from}T[0-9:]+Z \.\. [0-9TZ:-]+ \(config: shipgate.yaml\): stg month freeze$"
ctl freezes billing int
ok "freezes of one environment lists only its own" \
    sh -c "test $rc -eq 0 && ! grep -q 'stg' '$t_dir/out' && grep -q 'winter sale' '$t_dir/out'"
ctl --json freezes billing
ok "--json: the sources, a run-time freeze's id and author, a config one's null" \
    sgtest check "len(d['freezes']) == 2 and
    [f['source'] for f in d['freezes']] == ['config', 'runtime'] and
    d['freezes'][0]['id'] is None and d['freezes'][0]['by'] is None and
    d['freezes'][0]['env'] == 'stg' and
    d['freezes'][1]['id'] == 1 and d['freezes'][1]['by'] == 'dave'" "$t_dir/out"
ctl unfreeze billing stg -m "let it go"
ok "a freeze of shipgate.yaml cannot be lifted by a command (exit 1)" test $rc -eq 1
ok "... the error says to edit shipgate.yaml" \
    err_has "stg has no run-time freeze to lift; its freeze until .* \(stg month freeze\) is shipgate.yaml's: edit the file's freezes and reload shipgated"
ctl freezes billing stg
ok "... and it stays" out_has 'stg month freeze'
ctl unfreeze billing int --id 99 -m "no such"
ok "unfreeze --id of no run-time freeze: exit 1, saying so" \
    sh -c "test $rc -eq 1 && grep -q 'no run-time freeze 99 in force' '$t_dir/err'"
ctl unfreeze billing int --id x1 -m "bad"
ok "unfreeze --id that is no number: usage error (exit 2)" test $rc -eq 2

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
ok "the next opening is a <time> in UTC holding the environment's text" \
    grep -Eq '<time class="window-next" datetime="20[0-9-]+T[0-9:]+Z" data-zone>20[0-9-]+ [0-9:]+ Europe/Paris \(UTC\+0[12]:00\)</time>' "$t_dir/page"
ok "... the same instant" /usr/bin/python3 -c '
import re, sys, datetime
h = open(sys.argv[1]).read()
m = re.search(r"datetime=\"([^\"]+)\" data-zone>(\S+ \S+) \S+ \(UTC([+-]\d\d):(\d\d)\)</time>", h)
utc = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
loc = datetime.datetime.strptime(m.group(2), "%Y-%m-%d %H:%M")
off = datetime.timedelta(hours=int(m.group(3)), minutes=int(m.group(4)))
sys.exit(0 if loc - off == utc else 1)' "$t_dir/page"
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
ok "no freeze is left" out_has '^no freeze$'

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
ctl freezes billing int
ok "... gone" out_has '^no freeze$'
code=$(api dave "$csrf_d" /api/v1/apps/billing/environments/stg/unfreeze \
    '{"comment": "over"}')
ok "the API cannot lift STG's freeze of shipgate.yaml either (409)" \
    sh -c "test '$code' = 409 && grep -q 'shipgate.yaml' '$t_dir/page'"
api_get() {	# USER PATH: the status code; the body in $t_dir/page
	curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.$1" "$base$2"
}
code=$(api_get alice /api/v1/apps/billing/freezes)
ok "GET .../freezes: 200 to anyone signed in" test "$code" = 200
ok "... STG's freeze of shipgate.yaml, marked config" \
    sgtest check "[(f['source'], f['env'], f['reason'], f['id']) for f in d['freezes']] ==
    [('config', 'stg', 'stg month freeze', None)]" "$t_dir/page"
code=$(api_get alice '/api/v1/apps/billing/freezes?env=int')
ok "... ?env=int: 200" test "$code" = 200
ok "... none there" sgtest check "d['freezes'] == []" "$t_dir/page"
code=$(api_get alice '/api/v1/apps/billing/freezes?env=qa')
ok "... an unknown environment: 404" test "$code" = 404
code=$(api_get alice '/api/v1/apps/nosuch/freezes')
ok "... an unknown app: 404" test "$code" = 404

# --- The app page's freeze form: operators, a reason, CSRF, audited ----------
page dave /apps/billing
ok "the app page lists STG's freeze, from shipgate.yaml" \
    sh -c "grep -q 'stg month freeze' '$t_dir/page' && grep -q 'shipgate.yaml (edit the file' '$t_dir/page'"
ok "... and shows an operator the freeze form" \
    grep -q 'action="/apps/billing/freezes"' "$t_dir/page"
page alice /apps/billing
ok "not to alice" sh -c "! grep -q 'action=\"/apps/billing/freezes\"' '$t_dir/page'"
day=$(date -u -d '+2 days' +%F)
form() {	# USER PATH FIELDS...: the status code; the page in $t_dir/page
	_u=$1 _p=$2
	shift 2
	curl -s -o "$t_dir/page" -w '%{http_code}' -b "$t_dir/jar.$_u" \
	    "$@" "$base$_p"
}
code=$(form alice /apps/billing/freezes --data-urlencode "csrf=$csrf_a" \
    --data-urlencode env=int --data-urlencode "until=$day" \
    --data-urlencode "comment=alice's sale")
ok "alice's forged freeze POST is refused (403), saying why" \
    sh -c "test '$code' = 403 && grep -q 'not in operators' '$t_dir/page'"
code=$(form dave /apps/billing/freezes --data-urlencode env=int \
    --data-urlencode "until=$day" --data-urlencode "comment=no token")
ok "a freeze POST without the CSRF token: 403" test "$code" = 403
code=$(form dave /apps/billing/freezes --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode "until=$day" \
    --data-urlencode "comment= ")
ok "a freeze without a reason is refused (400), saying so" \
    sh -c "test '$code' = 400 && grep -q 'A reason is required' '$t_dir/page'"
code=$(form dave /apps/billing/freezes --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode "comment=no end")
ok "a freeze without its day is refused (400)" \
    sh -c "test '$code' = 400 && grep -q 'a date (YYYY-MM-DD) is required' '$t_dir/page'"
ctl freezes billing int
ok "none of those froze anything" out_has '^no freeze$'
code=$(form dave /apps/billing/freezes --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode "until=$day" \
    --data-urlencode "comment=portal sale")
ok "dave freezes Int from the app page (303 back to it)" test "$code" = 303
code=$(form dave /apps/billing/freezes --data-urlencode "csrf=$csrf_d" \
    --data-urlencode env=int --data-urlencode "until=$day" \
    --data-urlencode until_time=12:30 --data-urlencode "comment=second sale")
ok "and a second freeze, until a time of that day" test "$code" = 303
ctl --json freezes billing int
ok "both listed, run-time, by dave, until the end of the day and 12:30 in Paris (Int's zone)" \
    /usr/bin/python3 -c '
import json, sys, datetime, zoneinfo
d = json.load(open(sys.argv[1]))["freezes"]
day = datetime.date.fromisoformat(sys.argv[2])
paris = zoneinfo.ZoneInfo("Europe/Paris")
end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), paris)
noon = datetime.datetime.combine(day, datetime.time(12, 30), paris)
want = {"portal sale": int(end.timestamp() * 1000), "second sale": int(noon.timestamp() * 1000)}
got = {f["reason"]: f["until"] for f in d if f["source"] == "runtime" and f["by"] == "dave"}
sys.exit(0 if got == want else 1)' "$t_dir/out" "$day"
fid=$(sgtest get "[f['id'] for f in d['freezes'] if f['reason'] == 'portal sale'][0]" "$t_dir/out")
page dave /audit
ok "the freeze is audited, via the portal, with its end and reason" \
    grep -q 'via portal: until .*: portal sale' "$t_dir/page"
page dave /apps/billing
ok "the app page has a lift button per run-time freeze" \
    sh -c "test \$(grep -c 'aria-label=\"Lift freeze [0-9]* of int\"' '$t_dir/page') -eq 2"
page alice /apps/billing
ok "alice sees the freezes, not the lift buttons" \
    sh -c "grep -q 'portal sale' '$t_dir/page' && ! grep -q 'Lift freeze' '$t_dir/page'"
code=$(form alice /apps/billing/freezes/int/unfreeze --data-urlencode "csrf=$csrf_a" \
    --data-urlencode "freeze=$fid" --data-urlencode "comment=mine now")
ok "alice's forged lift is refused (403)" test "$code" = 403
code=$(form dave /apps/billing/freezes/int/unfreeze --data-urlencode "csrf=$csrf_d" \
    --data-urlencode "freeze=$fid")
ok "a lift without a comment is refused (400)" \
    sh -c "test '$code' = 400 && grep -q 'A comment is required' '$t_dir/page'"
code=$(form dave /apps/billing/freezes/int/unfreeze --data-urlencode "csrf=$csrf_d" \
    --data-urlencode "freeze=$fid" --data-urlencode "comment=sale moved")
ok "dave lifts one freeze from the app page (303)" test "$code" = 303
ctl freezes billing int
ok "... that one only" sh -c "! grep -q 'portal sale' '$t_dir/out' && grep -q 'second sale' '$t_dir/out'"
page dave /audit
ok "the lift is audited, naming the freeze" \
    grep -q "via portal: freeze $fid: sale moved" "$t_dir/page"
ctl unfreeze billing int --id "$fid" -m "again"
ok "the same freeze cannot be lifted twice (exit 1)" test $rc -eq 1
fid2=$(ctl --json freezes billing int; sgtest get "d['freezes'][0]['id']" "$t_dir/out")
code=$(api dave "$csrf_d" /api/v1/apps/billing/environments/int/unfreeze \
    "{\"comment\": \"api lift\", \"id\": $fid2}")
ok "the API lifts one freeze by its id" test "$code" = 200
ctl freezes billing int
ok "... none is left" out_has '^no freeze$'
code=$(api dave "$csrf_d" /api/v1/runs/2/override '{"env": "int", "comment": "x"}')
ok "an override of a stage not waiting: 409" test "$code" = 409

t_done
