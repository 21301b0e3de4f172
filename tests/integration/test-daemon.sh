#!/bin/sh
# shipgated's life cycle: configuration check, readiness and watchdog
# notifications, SIGHUP with a broken configuration (errors logged, still
# running on the old one), SIGHUP with a good one, SIGHUP moving
# aws.endpoints.s3 to a second fake (the next release's zip comes from
# there), SIGTERM (exit 0, the database intact).
. "$top_srcdir/tests/lib.sh"
t_tmpdir

good="$t_dir/good.yaml"
bad="$t_dir/bad.yaml"
live="$t_dir/shipgate.yaml"
# Every AWS call goes to the fake on 127.0.0.1, never elsewhere.
t_start_fake || { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1
t_demo_config "$good"
sed -e 's|^listen: .*|listen: nowhere|' -e 's|^log_level: .*|log_level: loud|' \
    "$good" >"$bad"
cp "$good" "$live"

ok "--check-config accepts a good configuration" \
    sh -c "'$SHIPGATED' --check-config --config '$good' | grep -q 'configuration OK'"
"$SHIPGATED" --check-config --config "$bad" >"$t_dir/check.out" 2>&1
ok "--check-config refuses a broken one with exit 1" test $? -eq 1
ok "--check-config prints every error, with file:line:column" \
    sh -c "grep -Eq '^$bad:[0-9]+:[0-9]+: listen: ' '$t_dir/check.out' &&
           grep -Eq '^$bad:[0-9]+:[0-9]+: log_level: ' '$t_dir/check.out'"
"$SHIPGATED" --no-such-option >/dev/null 2>&1
ok "a usage error exits 2" test $? -eq 2

# systemd's notification socket, played by a small listener.
"$TEST_PYTHON" "$top_srcdir/tests/integration/notify-listener.py" \
    "$t_dir/notify.sock" "$t_dir/notify.log" &
t_pids="$t_pids $!"
t_wait_for 10 test -f "$t_dir/notify.log.ready"

NOTIFY_SOCKET="$t_dir/notify.sock" WATCHDOG_USEC=200000 \
    t_start_daemon "$live"
ok "shipgated logs that it is ready" t_wait_for 20 t_log_has ' ready '
ok "READY=1 reaches the notification socket" \
    t_wait_for 10 grep -q '^READY=1' "$t_dir/notify.log"
ok "the watchdog is pinged from the loop" \
    t_wait_for 10 grep -q '^WATCHDOG=1' "$t_dir/notify.log"
ok "the database exists once ready" test -s "$t_dir/shipgate.db"
ok "the control socket is there, mode 0660" \
    sh -c "test -S '$t_dir/control.sock' &&
           test \"\$(stat -c %a '$t_dir/control.sock')\" = 660"
ok "shipgatectl reaches the daemon (no runs yet)" \
    sh -c "'$SHIPGATECTL' -c '$live' runs | grep -q '(no runs)'"

cp "$bad" "$live"
kill -HUP "$daemon_pid"
ok "a broken configuration on SIGHUP is logged, error by error" \
    t_wait_for 10 t_log_has "$live:[0-9]+:[0-9]+: listen"
ok "the reload failure says the old configuration is kept" \
    t_wait_for 10 t_log_has 'keeping the running configuration'
ok "shipgated still runs after the failed reload" t_alive "$daemon_pid"

sed 's/log_level: info/log_level: debug/' "$good" >"$live"
kill -HUP "$daemon_pid"
ok "a good configuration on SIGHUP is taken" \
    t_wait_for 10 t_log_has 'configuration reloaded'
ok "a reload that leaves aws.* alone keeps the AWS clients" \
    sh -c "! grep -q 'aws settings applied' '$t_dir/shipgated.log'"

# aws.endpoints.s3 moved to a second fake on reload: the next release's
# zip is fetched from there, without a restart.
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
s3_gets() {
	"$TEST_PYTHON" -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/_fake/calls", timeout=10))
print(d.get("s3", {}).get("GetObject", 0))' "$1"
}
fake1=$fake_url
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/fakeaws.py" --port 0 \
    --port-file "$t_dir/fake2.port" >>"$t_dir/fake2.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 30 test -s "$t_dir/fake2.port" ||
    { echo "Bail out! the second fake AWS endpoint did not start"; exit 1; }
fake2="http://127.0.0.1:$(cat "$t_dir/fake2.port")"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake2" \
    >"$t_dir/sandbox2.log" 2>&1 ||
    { echo "Bail out! the second sandbox was not set up"; exit 1; }
sgtest zip "$t_dir/reload.zip" --version 7.7.7 >/dev/null
sgtest put "$fake2" drops/reload-7.7.7.zip "$t_dir/reload.zip" >/dev/null
sed -e 's/log_level: info/log_level: debug/' \
    -e "s|^\\( *s3: \\).*|\\1$fake2|" "$good" >"$live"
ok "the new configuration names the second fake for S3" \
    grep -q "s3: $fake2" "$live"
"$TEST_PYTHON" -c 'import sys, urllib.request
for u in sys.argv[1:]:
    urllib.request.urlopen(urllib.request.Request(u + "/_fake/calls",
                           method="DELETE"), timeout=10)' "$fake1" "$fake2"
kill -HUP "$daemon_pid"
ok "a reload that changes aws.* says the new settings are applied" \
    t_wait_for 10 t_log_has 'aws settings applied.* endpoints=7'
ok "and does not ask for a restart for them" \
    sh -c "! grep -Eq 'reload: (aws|s3|endpoints).*restart' '$t_dir/shipgated.log'"
sgtest put "$fake1" drops/reload-7.7.7.zip "$t_dir/reload.zip" >/dev/null
ok "the release dropped after the reload is taken" \
    t_wait_for 30 sh -c "'$SHIPGATECTL' -c '$live' runs | grep -q 7.7.7"
ok "its zip was fetched from the new S3 endpoint" \
    test "$(s3_gets "$fake2")" -ge 1
ok "and not from the old one" test "$(s3_gets "$fake1")" -eq 0
ok "the old settings are freed once their last call has ended" \
    t_wait_for 45 t_log_has 'retired AWS settings freed'

t_stop "$daemon_pid"
ok "SIGTERM: shipgated exits 0" test $? -eq 0
ok "STOPPING=1 reaches the notification socket" \
    grep -q '^STOPPING=1' "$t_dir/notify.log"
ok "the stop is logged" t_log_has ' stopped'
ok "the control socket is removed" test ! -e "$t_dir/control.sock"
ok "the event loop closed with no handle left open" \
    sh -c "! grep -q 'open handles' '$t_dir/shipgated.log'"
if command -v sqlite3 >/dev/null 2>&1; then
	ok "the database is intact after the stop" \
	    sh -c "sqlite3 '$t_dir/shipgate.db' 'PRAGMA integrity_check' |
	    grep -qx ok"
fi
ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_diag "$(tail -n 20 "$t_dir/shipgated.log")"
t_done
