#!/bin/sh
# The delivery measures (issue 16, "History at a glance"): a year of
# billing's history seeded into shipgated's database (each stage moved
# through its statuses as shipgated moves it, so the schema's trigger
# keeps the time per status); stats-seed.py computes the four measures
# and the median time per step itself from the history it made, and
# GET /api/v1/apps/billing/stats must say the same for 30, 90 and 365
# days.  The app page, the dashboard and a run page: every SVG parses as
# XML and the figures are written beside the charts.  The portal's stats
# thread computes them when shipgated starts: no request computes them
# itself.  And migrations 009's and 013's reading of the history before
# them, from the audit log.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null || t_skip_all "curl is not installed"
t_tmpdir
t_start_fake ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }
cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# The portal's debug lines say who computed the measures.
sed -e 's/^log_level: .*/log_level: debug/' "$t_dir/demo.yaml" >"$cfg"
echo 'log_debug: [portal]' >>"$cfg"
chmod 600 "$cfg"
listen=$(sed -n 's/^listen: *//p' "$cfg")
base="http://$listen"
db="$t_dir/shipgate.db"
seed() { "$TEST_PYTHON" "$top_srcdir/tests/integration/stats-seed.py" "$@"; }
seed_get() {	# KEY: the value of KEY in expected.json
	"$TEST_PYTHON" -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$t_dir/expected.json" "$1"
}

ok "migration 009 reads the history before it from the audit log" \
    seed backfill "$top_srcdir/sql"

# Created (migrated) by shipgated, seeded while it is stopped.
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '
ok "shipgated stops" t_stop "$daemon_pid"
now_ms=$(($(date +%s) * 1000))
ok "a year of history is seeded" seed seed "$db" "$now_ms" "$t_dir/expected.json"
: >"$t_dir/shipgated.log"
t_start_daemon "$cfg"
ok "shipgated is ready again" t_wait_for 60 t_log_has ' ready '
# The stats thread computes every period of billing and of the dashboard
# when shipgated starts (the dashboard's 365 days last): the requests
# below find them computed, none computes them itself.
ok "the stats thread computes the measures ahead of the requests" \
    t_wait_for 120 t_log_has 'delivery measures computed key="\* 365" by=stats-thread ms=[0-9]* rc=0'

token=$("$SHIPGATECTL" -c "$cfg" token create dave --label stats 2>"$t_dir/err")
get() {	# get PATH FILE: 200 expected
	code=$(curl -s -o "$2" -w '%{http_code}' -H "Authorization: Bearer $token" \
	    "$base$1")
	[ "$code" = 200 ]
}
for days in 30 90 365; do
	ok "stats of $days days: 200" get "/api/v1/apps/billing/stats?days=$days" \
	    "$t_dir/api-$days.json"
	ok "stats of $days days: the measures computed independently agree" \
	    seed compare "$t_dir/expected.json" "$days" "$t_dir/api-$days.json"
	ok "app page of $days days: 200" get "/apps/billing?days=$days" \
	    "$t_dir/app-$days.html"
	ok "app page of $days days: the SVG parses, the figures are beside it" \
	    seed page "$t_dir/expected.json" "$days" "$t_dir/app-$days.html"
done
ok "stats without days: the 30 days' figures" get \
    "/api/v1/apps/billing/stats" "$t_dir/api-default.json"
ok "... equal to days=30" seed compare "$t_dir/expected.json" 30 \
    "$t_dir/api-default.json"
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$base/api/v1/apps/billing/stats?days=0")
ok "days=0: 400 naming the parameter" sh -c "[ $code = 400 ] && grep -q 'days' '$t_dir/b'"
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$base/api/v1/apps/billing/stats?days=7x")
ok "days=7x: 400" test "$code" = 400
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$base/api/v1/apps/nosuch/stats")
ok "an unknown app: 404" test "$code" = 404
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' "$base/api/v1/apps/billing/stats")
ok "without credentials: 401" test "$code" = 401

# The dashboard sums every app: billing is the only one with history.
ok "dashboard of 90 days: 200" get "/?days=90" "$t_dir/dash.html"
ok "the dashboard's SVG parses and shows the same figures" \
    seed page "$t_dir/expected.json" 90 "$t_dir/dash.html"
ok "no request computed the measures: each found them computed" \
    sh -c "! grep -q 'delivery measures computed .* by=request' '$t_dir/shipgated.log'"
ok "a period the pages do not offer (7 days) is computed by its request" \
    get "/api/v1/apps/billing/stats?days=7" "$t_dir/api-7.json"
ok "... which the log says (so the line above can fail)" \
    t_log_has 'delivery measures computed key="billing 7" by=request ms=[0-9]* rc=0'

run=$("$TEST_PYTHON" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT r.id FROM runs r JOIN stages s ON s.run_id = r.id "
    "WHERE s.environment = ? AND s.status = ? ORDER BY r.id DESC LIMIT 1",
    ("prod", "done")).fetchone()[0])' "$db")
ok "run page: 200" get "/runs/$run" "$t_dir/run.html"
ok "run page: its timeline parses, each step's time is beside it" \
    seed run-page "$db" "$run" "$t_dir/run.html"

waiting=$(seed_get running_run)
ok "the page of a run waiting for Prod: 200" get "/runs/$waiting" "$t_dir/waiting.html"
ok "... its chart counts the wait up to now" seed run-current "$t_dir/waiting.html"

# README's picture, on request (as tests/browser's screenshots): the app
# page's section for the seeded year.
if [ -n "${SHIPGATE_UPDATE_SCREENSHOTS:-}" ]; then
	ok "the section's screenshot is taken" \
	    node "$top_srcdir/tests/integration/stats-screenshot.js" "$base" \
	    "/apps/billing?days=365" "$top_srcdir/docs/screenshots/stats.png"
fi

ok "shipgated stops cleanly" t_stop "$daemon_pid"
t_done
