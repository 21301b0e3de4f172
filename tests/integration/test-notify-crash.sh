#!/bin/sh
# The outbox across a crash, with the real daemon: a release's approval
# mail is committed with its transition while the SMTP server is down, so
# it stays pending; shipgated is killed (-9) with it there; restarted with
# the server up, it sends the mail, once.  Then a second release's mail
# goes out at once, and nothing is sent twice.
. "$top_srcdir/tests/lib.sh"
"$TEST_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
    t_skip_all "python3-aiosmtpd is not installed"
t_tmpdir
t_start_fake --step-delay 0.02 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

smtp_port=$(t_free_port)
t_demo_config "$t_dir/demo.yaml"
cfg="$t_dir/shipgate.yaml"
"$TEST_PYTHON" - "$t_dir/demo.yaml" "$cfg" "$smtp_port" <<'EOF'
import sys, yaml
src, dst, smtp_port = sys.argv[1:]
c = yaml.safe_load(open(src))
c["mail"]["smtp"]["url"] = "smtp://127.0.0.1:%s" % smtp_port
env = c["apps"][0]["environments"][0]
env.pop("gate", None)
env.pop("registry", None)
env.pop("checks", None)
c["apps"][0]["environments"] = [env]
yaml.safe_dump(c, open(dst, "w"), sort_keys=False)
EOF
export SHIPGATE_ENGINE_POLL_MS=50
export SHIPGATE_NOTIFY_RETRY_MS=200

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
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
# mails SUBJECT-TEXT: how many messages at the sink have it in Subject.
mails() {
	n=0
	for f in "$t_dir"/mail/*.eml; do
		[ -e "$f" ] || continue
		grep -q "^Subject: .*$1" "$f" && n=$((n + 1))
	done
	echo "$n"
}
mails_are() {
	test "$(mails "$1")" -eq "$2"
}

# 1. No SMTP server: the mail is queued with the transition, its sends
#    fail and are retried; the daemon is killed with it pending.
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '
drop 1.0.0
ok "release 1.0.0 waits for the Int approval" \
    t_wait_for 60 q 1 "st['int']['status'] == 'awaiting_approval'"
ok "its approval mail is queued" \
    t_wait_for 10 t_log_has 'notification queued event=approval_needed'
ok "the send fails (no server) and is retried" \
    t_wait_for 10 t_log_has 'notification will be retried .*event=approval_needed'
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
ok "shipgated is killed with the mail pending" \
    t_dead "$daemon_pid"
ok "nothing was sent" \
    eval '! t_log_has "notification sent .*event=approval_needed"'

# 2. The server comes up, shipgated restarts: the mail arrives, once.
mkdir "$t_dir/mail"
"$TEST_PYTHON" "$top_srcdir/tests/smtpsink.py" --dir "$t_dir/mail" \
    --port "$smtp_port" --port-file "$t_dir/smtp.port" \
    >"$t_dir/smtp.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/smtp.port" ||
    { echo "Bail out! the SMTP sink did not start"; exit 1; }
: >"$t_dir/shipgated.log"
t_start_daemon "$cfg"
ok "shipgated is ready again" t_wait_for 30 t_log_has ' ready '
ok "after the restart the approval mail arrives" \
    t_wait_for 30 mails_are "billing 1.0.0 awaits your approval for int" 1
ok "to the integrators" \
    grep -q 'alice@integrator.example' "$t_dir/mail/0001.json"
ok "the daemon marks it sent" \
    t_wait_for 10 t_log_has 'notification sent .*event=approval_needed'

# 3. Later mails go out at once; the first is never sent again.
ctl approve 1 --env int --as alice >/dev/null
ok "the deployment's mail arrives" \
    t_wait_for 60 mails_are "billing 1.0.0 deployed to int" 1
sleep 1
ok "the approval mail was sent exactly once" \
    mails_are "billing 1.0.0 awaits your approval for int" 1
ok "no message twice" \
    test "$(ls "$t_dir"/mail/*.eml | wc -l)" -eq \
        "$(cat "$t_dir"/mail/*.eml | grep -c '^Message-ID:' )"
ok "each Message-ID once" \
    test "$(cat "$t_dir"/mail/*.eml | grep '^Message-ID:' | sort | uniq -d | wc -l)" -eq 0
ok "shipgated stops cleanly" t_stop "$daemon_pid"
t_done
