# Shared shell for the integration tests: TAP output, temporary
# directories removed on exit, free ports, processes started in the
# background and stopped by PID.  Source it, then call tap_plan/ok/...
#
#	. "$top_srcdir/tests/lib.sh"
#	t_tmpdir; t_start_daemon "$cfg"; ok "ready" t_wait_log "ready"

: "${top_srcdir:?top_srcdir must be set (make check sets it)}"
: "${top_builddir:?top_builddir must be set (make check sets it)}"
TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
SHIPGATED="$top_builddir/daemon/shipgated"
SHIPGATECTL="$top_builddir/daemon/shipgatectl"

t_count=0
t_failed=0
t_pids=
t_dir=

# ok NAME COMMAND...: one TAP line for the command's exit status.
ok() {
	name=$1
	shift
	t_count=$((t_count + 1))
	if "$@"; then
		echo "ok $t_count - $name"
	else
		echo "not ok $t_count - $name"
		t_failed=$((t_failed + 1))
	fi
}

t_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

t_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

t_done() {
	echo "1..$t_count"
	[ "$t_failed" -eq 0 ]
}

t_cleanup() {
	for p in $t_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $t_pids; do
		wait "$p" 2>/dev/null
	done
	[ -z "$t_dir" ] || rm -rf "$t_dir"
}

t_tmpdir() {
	t_dir=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-test.XXXXXX")
	trap t_cleanup EXIT
	trap 'exit 1' INT TERM
}

# A port the kernel picks, released at once for the server to bind.
t_free_port() {
	"$TEST_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# t_wait_for SECONDS COMMAND...: retry the command every 0.1 s.
t_wait_for() {
	t_limit=$(($1 * 10))
	shift
	t_i=0
	while [ $t_i -lt $t_limit ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		t_i=$((t_i + 1))
	done
	return 1
}

t_alive() {
	kill -0 "$1" 2>/dev/null
}

t_dead() {
	! kill -0 "$1" 2>/dev/null
}

# t_start_daemon CONFIG [ARGS...]: shipgated in the foreground, its log
# in $t_dir/shipgated.log, its PID in $daemon_pid.
t_start_daemon() {
	t_cfg=$1
	shift
	"$SHIPGATED" --foreground --config "$t_cfg" "$@" \
	    >>"$t_dir/shipgated.log" 2>&1 &
	daemon_pid=$!
	t_pids="$t_pids $daemon_pid"
}

# t_log_has PATTERN: the daemon's log has a line matching the ERE.
t_log_has() {
	grep -Eq -- "$1" "$t_dir/shipgated.log"
}

# t_stop PID: SIGTERM, then wait; returns the exit status.
t_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}
