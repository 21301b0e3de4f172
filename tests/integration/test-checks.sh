#!/bin/sh
# The non-regression checks in the pipeline, with the real daemon, the fake
# AWS endpoint and tests/checkapp.py as the application deployed: "log in,
# then find the user's name on the second page" passes; a failing check
# fails the stage with its reason and, with auto_rollback, the release
# that ran before is redeployed without approval and checked again; a
# rollback that fails is not rolled back in turn; an operator's cancel
# stops checks that are still retrying; the password never shows.  The
# mails of each step reach a real SMTP server (tests/smtpsink.py).
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.02 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

secret='Pa55-w0rd+With&Odd=Chars'
printf '%s\n' "$secret" >"$t_dir/smoke.pass"
chmod 600 "$t_dir/smoke.pass"
"$TEST_PYTHON" "$top_srcdir/tests/checkapp.py" --login jdupont \
    --password-file "$t_dir/smoke.pass" --port-file "$t_dir/app.port" \
    >"$t_dir/app.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/app.port" ||
    { echo "Bail out! checkapp did not start"; exit 1; }
app="http://127.0.0.1:$(cat "$t_dir/app.port")"
app_mode() {
	curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
	    --data "$1" "$app/_app/mode"
}

mkdir "$t_dir/mail"
"$TEST_PYTHON" "$top_srcdir/tests/smtpsink.py" --dir "$t_dir/mail" \
    --port-file "$t_dir/smtp.port" >"$t_dir/smtp.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/smtp.port" ||
    { echo "Bail out! the SMTP sink did not start"; exit 1; }

# One environment, int, checked against the application, rolled back
# automatically; mail through the sink.
t_demo_config "$t_dir/demo.yaml"
cfg="$t_dir/shipgate.yaml"
"$TEST_PYTHON" - "$t_dir/demo.yaml" "$cfg" "$app" "$t_dir/smoke.pass" \
    "$(cat "$t_dir/smtp.port")" <<'EOF'
import sys, yaml
src, dst, base, passfile, smtp_port = sys.argv[1:]
c = yaml.safe_load(open(src))
c["mail"]["smtp"]["url"] = "smtp://127.0.0.1:%s" % smtp_port
c["checks"] = {"login-and-name": [
    {"name": "sign-in page", "request": {"method": "GET", "url": "/login"},
     "expect": {"status": 200}},
    {"name": "sign in",
     "request": {"method": "POST", "url": "/login",
                 "form": {"login": "${SMOKE_LOGIN}",
                          "password": "${file:%s}" % passfile}},
     "expect": {"status": [200, 302]}},
    {"name": "second page shows the name",
     "request": {"method": "GET", "url": "/account"},
     "expect": {"status": 200, "contains": "Jean Dupont"},
     "timeout": "5s"}]}
env = c["apps"][0]["environments"][0]
env.pop("gate", None)
env.pop("registry", None)
env["base_url"] = base
env["checks"] = ["login-and-name"]
env["auto_rollback"] = True
c["apps"][0]["environments"] = [env]
yaml.safe_dump(c, open(dst, "w"), sort_keys=False)
EOF
export SMOKE_LOGIN=jdupont
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
# q RUN EXPR: a Python expression on the run (r) of `show RUN` is true.
q() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
r = json.load(sys.stdin)['run']
st = {s['env']: s for s in r['stages']}
sys.exit(0 if ($2) else 1)"
}
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag "$1" \
	    --message "release $1" >>"$t_dir/drop.out" 2>&1
}
nruns() {
	ctl --json runs 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
print(len(json.load(sys.stdin)['runs']))"
}

# 1. The checks pass: the release is deployed.
drop 1.0.0
ok "release 1.0.0 waits for the Int approval" \
    t_wait_for 60 q 1 "st['int']['status'] == 'awaiting_approval'"
ctl approve 1 --env int --as alice >/dev/null
ok "after the deployment the checks pass and the run succeeds" \
    t_wait_for 60 q 1 "r['status'] == 'succeeded'"
ok "the three steps are recorded as passed" \
    q 1 "[c['status'] for c in st['int']['checks']] == ['passed'] * 3"
ok "each step's status (after redirects) and request are kept" \
    q 1 "[c['http_status'] for c in st['int']['checks']] == [200, 200, 200] and
         st['int']['checks'][2]['url'].endswith('/account') and
         st['int']['checks'][1]['method'] == 'POST'"
ok "the audit log says the checks passed" \
    q 1 "any(a['action'] == 'checks' and 'passed' in (a['detail'] or '')
             for a in r['audit'])"

# 2. A check fails: the stage fails with the reason, and auto_rollback
#    redeploys 1.0.0 without approval; its checks pass (the application
#    answers 503 to one request only, so the rollback finds it well).
app_mode '{"mode": "warmup", "n": 1}'
drop 1.0.1
ok "release 1.0.1 waits for the Int approval" \
    t_wait_for 60 q 2 "st['int']['status'] == 'awaiting_approval'"
ctl approve 2 --env int --as alice >/dev/null
ok "a 503 on the sign-in page fails the run" \
    t_wait_for 60 q 2 "r['status'] == 'failed'"
ctl show 2 >"$t_dir/show2.txt" 2>&1
t_diag "$(grep -i 'check' "$t_dir/show2.txt" | head -n 8)"
ok "the reason names the check, the step and the status" \
    q 2 "'checks failed' in st['int']['reason'] and
         'sign-in page' in st['int']['reason'] and
         '503' in st['int']['reason']"
ok "the failed step keeps its expectation and an excerpt of the body" \
    q 2 "[(c['expectation'], c['excerpt'][:10]) for c in st['int']['checks']
          if c['status'] == 'failed'] == [('expected status 200, got 503',
                                            'warming up')]"
ok "the steps after the failed one are recorded as skipped" \
    q 2 "[c['status'] for c in st['int']['checks']] ==
         ['failed', 'skipped', 'skipped']"
ok "a rollback run of 1.0.0 is created" \
    t_wait_for 30 q 3 "r['kind'] == 'rollback' and r['rollback_of'] == 2 and
                       r['version'] == '1.0.0'"
ok "the rollback is executed without approval and checked again" \
    t_wait_for 60 q 3 "r['status'] == 'succeeded' and
                       [c['status'] for c in st['int']['checks']] == ['passed'] * 3"
ok "nobody approved the rollback" q 3 "r['approvals'] == []"
ok "the audit says it was executed without approval" \
    q 3 "any('without approval' in (a['detail'] or '') for a in r['audit'])"
ok "the failed stage of 1.0.1 is now rolled_back" \
    t_wait_for 10 q 2 "st['int']['status'] == 'rolled_back' and
                       'run 3' in st['int']['reason']"
ok "the run that failed says so in its audit trail" \
    q 2 "any(a['action'] == 'rollback' for a in r['audit'])"

# 3. The name is wrong, for the rollback too: the rollback fails and is
#    not rolled back in turn.
app_mode '{"mode": "wrong-name"}'
drop 1.0.2
ok "release 1.0.2 waits for the Int approval" \
    t_wait_for 60 q 4 "st['int']['status'] == 'awaiting_approval'"
ctl approve 4 --env int --as alice >/dev/null
ok "a wrong name fails the run with the text it looked for" \
    t_wait_for 60 q 4 "r['status'] == 'failed' and
                       'Jean Dupont' in st['int']['reason']"
ok "the rollback of 1.0.2 runs its checks and fails too" \
    t_wait_for 60 q 5 "r['kind'] == 'rollback' and r['status'] == 'failed'"
sleep 1
ok "a failed rollback is not rolled back again" test "$(nruns)" -eq 5
ok "the stage of 1.0.2 stays failed" q 4 "st['int']['status'] == 'failed'"

# 4. Checks that keep retrying are stopped by a cancel.
app_mode '{"mode": "slow", "delay_ms": 4000}'
drop 1.0.3
ok "release 1.0.3 waits for the Int approval" \
    t_wait_for 60 q 6 "st['int']['status'] == 'awaiting_approval'"
ctl approve 6 --env int --as alice >/dev/null
ok "its checks start" t_wait_for 60 q 6 "st['int']['status'] == 'checking'"
ctl cancel 6 --as dave -m 'enough' >/dev/null
ok "a cancel ends the run while its checks run" \
    t_wait_for 3 q 6 "r['status'] == 'cancelled'"
app_mode '{"mode": "normal"}'

# 5. The mails of each step reached the SMTP server.
# mail_has SUBJECT-TEXT TO [BODY-TEXT]: a message whose subject has the
# text went to TO (and its text part has BODY-TEXT).
mail_has() {
	"$TEST_PYTHON" - "$t_dir/mail" "$@" <<'EOF'
import email, email.policy, glob, json, sys
d, subj, to = sys.argv[1:4]
body = sys.argv[4] if len(sys.argv) > 4 else ""
for f in sorted(glob.glob(d + "/*.eml")):
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    env = json.load(open(f[:-4] + ".json"))
    text = m.get_body(("plain",)).get_content()
    if subj in m["Subject"] and to in env["rcpt_tos"] and body in text:
        sys.exit(0)
sys.exit(1)
EOF
}
ok "the integrator is asked to approve 1.0.0 for int" \
    t_wait_for 10 mail_has "billing 1.0.0 awaits your approval for int" \
    alice@integrator.example "/runs/1"
ok "the failed checks of 1.0.1 are told, with the reason" \
    t_wait_for 10 mail_has "1.0.1" alice@integrator.example "sign-in page"
ok "the rollback to 1.0.0 is told" \
    t_wait_for 10 mail_has "roll" alice@integrator.example "run 3"
ok "the deployment of 1.0.0 is told" \
    t_wait_for 10 mail_has "1.0.0" alice@integrator.example "deployed"
n_approval=$(grep -l 'Subject: .*1.0.0 awaits your approval' "$t_dir"/mail/*.eml | wc -l)
ok "the approval mail of 1.0.0 was sent once" test "$n_approval" -eq 1
ok "show lists the run's notifications and that they went" \
    q 2 "[(n['event'], n['status']) for n in r['notifications']
          if n['event'] == 'checks_failed'] == [('checks_failed', 'sent')]"

# 6. The password never shows: not in the log, the database, shipgatectl,
#    the mails.
ok "no mail has the password" \
    sh -c "! grep -rqF '$secret' '$t_dir/mail'"
for n in 1 2 3 4 5 6; do ctl --json show $n; done >"$t_dir/shows.json" 2>&1
ok "show masks nothing it should not need: no password" \
    sh -c "! grep -qF '$secret' '$t_dir/shows.json'"
ok "the daemon's log never has the password" \
    sh -c "! grep -qF '$secret' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
ok "the database never has the password" \
    sh -c "! grep -aqF '$secret' '$t_dir/shipgate.db' '$t_dir'/shipgate.db-wal 2>/dev/null"
enc=$("$TEST_PYTHON" -c "import urllib.parse,sys; print(urllib.parse.quote_plus(sys.argv[1]))" "$secret")
ok "nor its URL-encoded form" \
    sh -c "! grep -aqF '$enc' '$t_dir/shipgate.db' '$t_dir/shipgated.log'"
t_done
