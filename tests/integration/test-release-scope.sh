#!/bin/sh
# What a release may influence (issue 12, items 1 and 6), with the real
# daemon and the fake AWS endpoint.  A check configured for Prod carries
# Prod's token; Int's base_url is a listener that logs every request (an
# application the integrator controls).  A release naming the Prod check
# is invalid at intake, with the check and the environment in its reason,
# and the token never reaches the listener.  A release overriding a
# parameter Int pins is invalid too; one overriding a parameter Int lists
# in release_may_set is deployed with the release's value.  A release
# taken in while Int allowed a check, then run after a reload that took
# the permission away, fails its stage without sending the check.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.02 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

token='prod-7f3c9a1e-secret-bearer-token'
printf '%s\n' "$token" >"$t_dir/prod.token"
chmod 600 "$t_dir/prod.token"

# Int's application: answers 200 to anything, logs each request's line
# and headers.
"$TEST_PYTHON" - "$t_dir/listener.log" "$t_dir/listener.port" \
    >"$t_dir/listener.out" 2>&1 <<'EOF' &
import http.server, sys
log, port_file = sys.argv[1:]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s %s\n%s\n" % (self.command, self.path, self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
EOF
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/listener.port" ||
    { echo "Bail out! the listener did not start"; exit 1; }
: >"$t_dir/listener.log"
listener="http://127.0.0.1:$(cat "$t_dir/listener.port")"

# make_config OUT INT_EXTRA: the demo pointed at the fake, without image
# promotion; Int checked against the listener (its own check "home"),
# Prod with the token-bearing check; INT_EXTRA "yes" lets a release name
# the check "extra" everywhere.
t_demo_config "$t_dir/demo.yaml"
cfg="$t_dir/shipgate.yaml"
make_config() {
	"$TEST_PYTHON" - "$t_dir/demo.yaml" "$1" "$listener" \
	    "$t_dir/prod.token" "$2" <<'EOF'
import sys, yaml
src, dst, base, token, extra = sys.argv[1:]
c = yaml.safe_load(open(src))
c["checks"] = {
    "home": [{"name": "home", "request": {"url": "/home"}}],
    "prod-api": [{"name": "who am i",
                  "request": {"url": "/whoami", "headers": {
                      "Authorization": "Bearer ${file:%s}" % token}}}],
    "extra": [{"name": "extra", "request": {"url": "/extra",
               "headers": {"X-Extra-Check": "sent"}}}]}
for env in c["apps"][0]["environments"]:
    env.pop("registry", None)
    env.pop("gate", None)
    env["parameters"]["Registry"] = "111111111111"
    if extra == "yes":
        env["release_checks"] = ["extra"]
int_, stg, prod = c["apps"][0]["environments"]
int_["base_url"] = base
int_["checks"] = ["home"]
int_["parameters"]["DesiredCount"] = "1"
int_["release_may_set"] = ["DesiredCount"]
prod["base_url"] = "https://prod.billing.invalid"
prod["checks"] = ["prod-api"]
with open(dst + ".tmp", "w") as f:
    yaml.safe_dump(c, f, sort_keys=False)
EOF
	chmod 600 "$1.tmp" && mv "$1.tmp" "$1"
}
make_config "$cfg" no
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '

db="$t_dir/shipgate.db"
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
# drop KEY VERSION [sgtest zip options]: a release under drops/KEY.
drop() {
	d_key=$1 d_version=$2
	shift 2
	sgtest zip "$t_dir/$d_key" --version "$d_version" --tag "$d_version" \
	    "$@" && sgtest put "$fake_url" "drops/$d_key" "$t_dir/$d_key" \
	    >>"$t_dir/drop.out"
}
release_status() {
	sgtest sql "$db" "SELECT status FROM releases WHERE key = 'drops/$1'"
}
release_reason() {
	sgtest sql "$db" "SELECT reason FROM releases WHERE key = 'drops/$1'"
}
is_invalid() { test "$(release_status "$1")" = invalid; }
recorded() { test -n "$(release_status "$1")"; }
# wait_until SECONDS COMMAND...: retry against the clock (each try here
# starts Python, so t_wait_for's count of tries is no measure of time).
wait_until() {
	w_end=$(($(date +%s) + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$w_end" ] || return 1
		sleep 0.2
	done
}
# run_of VERSION: the id of the run of that version, if any.
run_of() {
	ctl --json runs 2>/dev/null | sgtest get "([r['id'] for r in d['runs']
	    if r['version'] == '$1' and r['status'] != 'invalid'] or [0])[0]" -
}
has_run() { test "$(run_of "$1")" != 0; }
reloads_more_than() {
	test "$(grep -c 'configuration reloaded' "$t_dir/shipgated.log")" -gt "$1"
}
show_check() { ctl --json show "$1" 2>/dev/null | sgtest check "$2" -; }
fake_check() { curl -sf "$fake_url/_fake/state" | sgtest check "$1" -; }
no_token_sent() { ! grep -qF "$token" "$t_dir/listener.log"; }

# 1. The attack: a release naming Prod's check, run against Int.
drop steal.zip 1.0.0 --checks prod-api
ok "a release naming Prod's check is dropped" test $? -eq 0
ok "it is recorded" wait_until 60 recorded steal.zip
ok "it is recorded as invalid at intake" is_invalid steal.zip
reason=$(release_reason steal.zip)
t_diag "reason: $reason"
ok "the reason names the check and the environment that refuses it" \
    sh -c "case \"\$1\" in *'environment int does not allow check \"prod-api\"'*)
    exit 0;; esac; exit 1" - "$reason"
ok "no run deploys it" test "$(run_of 1.0.0)" = 0
ok "the token never reached Int's application" no_token_sent
ok "nothing at all was sent to Int's application" \
    test ! -s "$t_dir/listener.log"

# 2. A parameter Int pins cannot be overridden by a release.
drop pin.zip 1.0.1 --override int:Environment=prod
ok "a release overriding Int's pinned Environment is recorded" \
    wait_until 60 recorded pin.zip
ok "it is invalid" is_invalid pin.zip
reason=$(release_reason pin.zip)
t_diag "reason: $reason"
ok "the reason names the parameter and release_may_set" \
    sh -c "case \"\$1\" in *'overrides.int.parameters.Environment'*release_may_set*)
    exit 0;; esac; exit 1" - "$reason"

# 3. A parameter Int lists in release_may_set is the release's; Int's own
#    check runs against the listener (so it does receive the checks).
drop may.zip 1.0.2 --override int:DesiredCount=2
ok "a release overriding DesiredCount (release_may_set) is taken" \
    wait_until 60 has_run 1.0.2
run=$(run_of 1.0.2)
ok "it waits for the Int approval" \
    wait_until 60 show_check "$run" "stage('int')['status'] == 'awaiting_approval'"
ctl approve "$run" --env int --as alice >/dev/null
ok "Int is deployed and its check passes" \
    wait_until 60 show_check "$run" "stage('int')['status'] == 'done'"
ok "the stack runs the release's DesiredCount, Int's Environment" \
    fake_check "any(s['name'] == 'billing-int' and
    s['params'].get('DesiredCount') == '2' and
    s['params'].get('Environment') == 'int'
    for s in d['cloudformation']['stacks'].values())"
ok "Int's own check reached the listener" \
    grep -q '^GET /home' "$t_dir/listener.log"
ok "still no token at the listener" no_token_sent

# 4. Defence at run time: taken in while every environment allowed the
#    check "extra", run after a reload that took it away.
make_config "$cfg" yes
kill -HUP "$daemon_pid"
ok "the configuration allowing extra is loaded" \
    wait_until 30 t_log_has 'configuration reloaded'
drop extra.zip 1.0.3 --checks extra
ok "a release naming an allowed check is taken" \
    wait_until 60 has_run 1.0.3
run=$(run_of 1.0.3)
ok "it waits for the Int approval" \
    wait_until 60 show_check "$run" "stage('int')['status'] == 'awaiting_approval'"
make_config "$cfg" no
n=$(grep -c 'configuration reloaded' "$t_dir/shipgated.log")
kill -HUP "$daemon_pid"
ok "the configuration without it is loaded" \
    wait_until 30 reloads_more_than "$n"
ctl approve "$run" --env int --as alice >/dev/null
ok "the stage fails: the check is no longer allowed in Int" \
    wait_until 60 show_check "$run" "stage('int')['status'] == 'failed' and
    'not allowed in int' in stage('int')['reason']"
ok "the check was never sent" \
    sh -c "! grep -q 'X-Extra-Check' '$t_dir/listener.log'"

ok "the token is in no log" \
    sh -c "! grep -qF '$token' '$t_dir/shipgated.log' '$t_dir/listener.log'"
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
