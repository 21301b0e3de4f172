#!/bin/sh
# shipgated started on a full disk (man shipgated, "Storage faults"): it
# starts instead of exiting, says why in its log, answers /healthz 503
# with the reason, takes no release, and goes on when space is freed.
# Twice: a database that cannot even be opened (SQLite must write its
# shared-memory file first), and one that opens (another process holds
# it open) but cannot be written.  The full disk is the chaos campaign's:
# RLIMIT_FSIZE lowered to 1 byte with SIGXFSZ ignored, so that every
# write fails with EFBIG; the log goes through a FIFO, which the limit
# does not touch.  Freed with prlimit --pid.
. "$top_srcdir/tests/lib.sh"
command -v prlimit >/dev/null 2>&1 ||
    t_skip_all "prlimit (util-linux) is not installed"
t_tmpdir
t_start_fake --step-delay 0.02 ||
    t_bail "the fake AWS endpoint did not start"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || t_bail "sandbox set-up failed"
cfg="$t_dir/shipgate.yaml"
t_demo_config "$cfg"
listen=$(sed -n 's/^listen: //p' "$cfg")
db="$t_dir/shipgate.db"
export SHIPGATE_ENGINE_POLL_MS=50

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
drop() {
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
	    --endpoint "$fake_url" --version "$1" --tag "$1" \
	    --message "release $1" >>"$t_dir/drop.out" 2>&1
}
# healthz CODE TEXT: /healthz answers CODE with TEXT in its body.
healthz() {
	_c=$(curl -s -m 5 -o "$t_dir/healthz" -w '%{http_code}' \
	    "http://$listen/healthz")
	[ "$_c" = "$1" ] && grep -q -- "$2" "$t_dir/healthz"
}
# releases: how many releases the database holds (read-only).
releases() {
	"$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" sql "$db" \
	    "SELECT count(*) FROM releases"
}
releases_are() { test "$(releases)" = "$1"; }
# log_count ERE: lines of the daemon's log that match.
log_count() { grep -Ec -- "$1" "$t_dir/shipgated.log"; }

# start_full: shipgated on a "full disk".
start_full() {
	rm -f "$t_dir/out.fifo"
	mkfifo "$t_dir/out.fifo" || return 1
	cat "$t_dir/out.fifo" >>"$t_dir/shipgated.log" &
	t_pids="$t_pids $!"
	(trap '' XFSZ; exec prlimit --fsize=1: "$SHIPGATED" --foreground \
	    --config "$cfg" >"$t_dir/out.fifo" 2>&1) &
	daemon_pid=$!
	t_pids="$t_pids $daemon_pid"
}
free_disk() {
	prlimit --pid "$daemon_pid" --fsize=unlimited:
}

# 0. A database made and closed cleanly (no -wal, no -shm left).
t_start_daemon "$cfg"
t_wait_for 30 t_log_has ' ready ' || t_bail "shipgated did not start"
t_stop "$daemon_pid"
ok "a database to start from, closed cleanly" \
    sh -c "test -s '$db' && ! test -e '$db-wal'"
ok "no release yet" releases_are 0

# 1. Cannot even open it: the daemon waits, serving /healthz, and tells
#    systemd (a listener on NOTIFY_SOCKET) it is up and why it waits.
: >"$t_dir/shipgated.log"
"$TEST_PYTHON" "$top_srcdir/tests/integration/notify-listener.py" \
    "$t_dir/notify.sock" "$t_dir/notify.log" &
t_pids="$t_pids $!"
t_wait_for 10 test -f "$t_dir/notify.log.ready" ||
    t_bail "the notification listener did not start"
NOTIFY_SOCKET="$t_dir/notify.sock" start_full
ok "started on a full disk: it waits for the database" \
    t_wait_for 30 t_log_has 'cannot open the database .*waiting for the disk'
ok "the log says why" \
    t_log_has 'database unusable, taking no new work until it recovers: cannot write'
ok "/healthz answers 503 with the reason" \
    t_wait_for 30 healthz 503 'database: cannot write'
ok "systemd is told it is up, waiting for the database" \
    t_wait_for 10 grep -q '^STATUS=waiting for the database' "$t_dir/notify.log"
drop 1.0.0
sleep 3
ok "still running (it used to exit 1)" t_alive "$daemon_pid"
ok "not ready meanwhile" eval '! t_log_has " ready "'
ok "the wait said once, not at every try" \
    test "$(log_count 'database still cannot be opened|cannot open the database path=.*waiting for the disk')" -eq 1
ok "the portal's stats thread said it once too" \
    test "$(log_count 'stats thread cannot open the database')" -le 1
ok "no release taken meanwhile" releases_are 0
free_disk
ok "space freed: the database opens and the rest starts" \
    t_wait_for 30 t_log_has ' ready '
ok "the portal's stats thread opens it too (it tried at every tick)" \
    t_wait_for 10 t_log_has 'stats thread opened the database'
ok "systemd is told it runs" \
    t_wait_for 10 grep -q '^STATUS=running' "$t_dir/notify.log"
ok "the log says the database is usable again" \
    t_wait_for 30 t_log_has 'database usable again'
ok "/healthz answers 200" t_wait_for 30 healthz 200 '^ok'
ok "the release dropped meanwhile is taken" t_wait_for 60 releases_are 1
t_stop "$daemon_pid"
ok "SIGTERM: exit 0" test $? -eq 0

# 2. Another process holds it open (its -shm stays), so it opens, but
#    nothing can be written: the intake waits to record its apps.
: >"$t_dir/shipgated.log"
"$TEST_PYTHON" -c '
import sqlite3, sys, time
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
c.execute("SELECT count(*) FROM apps").fetchall()
open(sys.argv[2], "w").close()
time.sleep(300)' "$db" "$t_dir/reader.ready" &
reader_pid=$!
t_pids="$t_pids $reader_pid"
t_wait_for 10 test -e "$t_dir/reader.ready" || t_bail "the reader did not start"
start_full
ok "opened on a full disk: ready, the intake waits to record its app" \
    t_wait_for 30 sh -c "grep -q ' ready ' '$t_dir/shipgated.log' &&
        grep -q 'intake app=billing waits for the database: .*disk I/O error' \
        '$t_dir/shipgated.log'"
ok "/healthz answers 503 with the reason" \
    t_wait_for 30 healthz 503 'database: cannot write'
drop 1.1.0
sleep 3
ok "still running" t_alive "$daemon_pid"
ok "no release taken meanwhile" releases_are 1
ok "the operator's CLI reaches it (read-only commands work)" \
    sh -c "'$SHIPGATECTL' -c '$cfg' runs >/dev/null"
free_disk
ok "space freed: the app is recorded" \
    t_wait_for 30 t_log_has 'intake app=billing recorded'
ok "/healthz answers 200" t_wait_for 30 healthz 200 '^ok'
ok "the release dropped meanwhile is taken" t_wait_for 60 releases_are 2
ok "the storage fault was said once per fault, not at every retry" \
    test "$(log_count 'database unusable')" -eq 1
t_stop "$daemon_pid"
ok "SIGTERM: exit 0" test $? -eq 0
kill "$reader_pid" 2>/dev/null
t_done
