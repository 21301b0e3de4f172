#!/bin/sh
# The portal under the attacks of issue 12 (items 3 and 4), against the
# real daemon started with a small file limit (ulimit -n 256):
# - slow clients: 40 addresses x 2 connections trickling a request head
#   one byte a second are closed at request_timeout (2 s here), not kept
#   alive by their bytes; then 40 x 8 (over the cap of 128) for 20
#   seconds while curl and shipgatectl keep working;
# - sign-in limits: 30 parallel wrong passwords get exactly
#   sign_in_attempts evaluated; junk sign-ins from 1,100 addresses do
#   not erase a locked user's record; 300 sign-ins with 60 KB user
#   names leave the daemon's memory (VmRSS) where it was.
# Every hostile client is bounded in count and time and stopped by PID.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null || t_skip_all "curl is not installed"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$cfg"
printf 'portal:\n  sign_in_attempts: 3\n  request_timeout: 2s\n' >>"$cfg"
listen=$(sed -n 's/^listen: *//p' "$cfg")
base="http://$listen"
slow() { "$TEST_PYTHON" "$top_srcdir/tests/integration/slowclients.py" "$@"; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }

# A file limit as small as a careless unit's; the freed memory of the
# sanitizer's quarantine would hide what the sign-in tables keep.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
export ASAN_OPTIONS
(ulimit -n 256 && exec "$SHIPGATED" --foreground --config "$cfg") \
    >>"$t_dir/shipgated.log" 2>&1 &
daemon_pid=$!
t_pids="$t_pids $daemon_pid"
ok "shipgated is ready under ulimit -n 256" t_wait_for 60 t_log_has ' ready '
ok "the connection cap is derived from the file limit (256 - 128)" \
    t_log_has 'portal listening .*max_connections=128 request_timeout=2000ms'

# --- Item 3: slow clients ------------------------------------------------------
# Below the cap (80 connections): each is closed at request_timeout,
# however often it sends a byte (MHD's idle timeout alone restarts on
# every byte and kept them for ever).
slow slowloris "$listen" --addresses 40 --per-address 2 --seconds 8 \
    >"$t_dir/trickle.json" 2>"$t_dir/trickle.err"
t_diag "trickling: $(cat "$t_dir/trickle.json") $(head -c 300 "$t_dir/trickle.err")"
ok "trickling connections are closed by the server" \
    sgtest check "d['closed_by_server'] >= 80" "$t_dir/trickle.json"
ok "at request_timeout (2 s), not kept alive by their bytes" \
    sgtest check "1.5 < d['longest'] < 5" "$t_dir/trickle.json"
curl -s "$base/metrics" >"$t_dir/metrics"
ok "/metrics counts them (deadline)" \
    grep -Eq '^shipgate_portal_connections_closed_total\{reason="deadline"\} [1-9]' "$t_dir/metrics"

# Above the cap (320 connections, reopened as they close): the oldest
# idle ones make room, curl and shipgatectl keep working.
slow slowloris "$listen" --addresses 40 --per-address 8 --seconds 20 \
    >"$t_dir/slow.json" 2>"$t_dir/slow.err" &
slow_pid=$!
t_pids="$t_pids $slow_pid"
sleep 2
served=0 refused=0 ctl_ok=0 ctl_bad=0 i=0
while [ $i -lt 15 ]; do
	c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base/healthz")
	if [ "$c" = 200 ]; then served=$((served + 1)); else
		refused=$((refused + 1)); t_diag "curl during the attack: $c"; fi
	if "$SHIPGATECTL" -c "$cfg" runs >/dev/null 2>"$t_dir/ctl.err"; then
		ctl_ok=$((ctl_ok + 1))
	else
		ctl_bad=$((ctl_bad + 1)); t_diag "shipgatectl: $(cat "$t_dir/ctl.err")"
	fi
	sleep 1
	i=$((i + 1))
done
t_diag "curl: $served served, $refused not; shipgatectl: $ctl_ok ok, $ctl_bad failed"
ok "a normal client is served throughout the attack (15 of 15)" \
    test "$served" -eq 15
ok "shipgatectl runs works throughout the attack (15 of 15)" \
    test "$ctl_ok" -eq 15
# The attacker stops by itself at 20 s; by PID if it does not.
t_wait_for 30 sh -c "! kill -0 $slow_pid 2>/dev/null" || kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null
t_diag "attacker: $(cat "$t_dir/slow.json") $(head -c 300 "$t_dir/slow.err")"
ok "the attacker held more connections than the cap" \
    sgtest check "d['most'] >= 300" "$t_dir/slow.json"
curl -s "$base/metrics" >"$t_dir/metrics"
ok "/metrics: the oldest idle connections were shed" \
    grep -Eq '^shipgate_portal_connections_closed_total\{reason="shed"\} [1-9]' "$t_dir/metrics"
ok "/metrics shows the cap" grep -q '^shipgate_portal_connections_max 128$' "$t_dir/metrics"
ok "no 'Too many open files'" sh -c "! grep -qi 'too many open files' '$t_dir/shipgated.log'"
ok "the daemon is alive" t_alive "$daemon_pid"

# --- Item 4: 30 parallel wrong passwords ---------------------------------------
i=0
while [ $i -lt 30 ]; do
	curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.5.1 \
	    --data 'user=carol&password=wrong' "$base/login" >"$t_dir/par.$i" &
	i=$((i + 1))
done
wait_par() { [ "$(cat "$t_dir"/par.* | wc -l)" -eq 30 ]; }
t_wait_for 120 wait_par
n403=$(cat "$t_dir"/par.* | grep -c '^403$')
n429=$(cat "$t_dir"/par.* | grep -c '^429$')
t_diag "30 parallel wrong passwords: $n403 evaluated (403), $n429 refused (429), all: $(cat "$t_dir"/par.* | sort | uniq -c | tr '\n' ' ')"
ok "30 parallel wrong passwords: exactly sign_in_attempts (3) evaluated" \
    sh -c "[ $n403 -eq 3 ] && [ $n429 -eq 27 ]"

# --- Item 4: junk does not flush a lock-out --------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.6.1 \
    --data 'user=carol&password=demo' "$base/login")
ok "carol is locked (the right password from another address: 429)" \
    test "$code" = 429
slow junk "$listen" --addresses 1100 --per-address 3 >"$t_dir/junk.json" 2>&1
t_diag "junk sign-ins: $(cat "$t_dir/junk.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.6.2 \
    --data 'user=carol&password=demo' "$base/login")
ok "after 3,300 junk sign-ins from 1,100 addresses carol is still locked ($code)" \
    test "$code" = 429

# --- Item 4: long user names do not grow memory ------------------------------------
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$daemon_pid/status"; }
slow longnames "$listen" --addresses 20 --per-address 3 --size 60000 \
    --base 11 >/dev/null 2>&1	# warm-up: the allocator's pools
before=$(rss)
slow longnames "$listen" --addresses 100 --per-address 3 --size 60000 \
    >"$t_dir/long.json" 2>&1
after=$(rss)
t_diag "long names: $(cat "$t_dir/long.json"); VmRSS $before kB -> $after kB"
ok "300 sign-ins with 60 KB user names: VmRSS grows by less than 8 MB" \
    sh -c "[ -n '$before' ] && [ -n '$after' ] && [ $((${after:-0} - ${before:-0})) -lt 8192 ]"
ok "they were refused" sgtest check "list(d) == ['403']" "$t_dir/long.json"

ok "shipgated stops cleanly" t_stop "$daemon_pid"
ok "no sanitizer report" sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$t_dir/shipgated.log'"
t_done
