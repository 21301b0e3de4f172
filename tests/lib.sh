# Shared shell for the integration tests: TAP output, temporary
# directories removed on exit, free ports, processes started in the
# background and stopped by PID.  Source it, then call tap_plan/ok/...
#
#	. "$top_srcdir/tests/lib.sh"
#	t_tmpdir; t_start_daemon "$cfg"; ok "ready" t_wait_log "ready"

: "${top_srcdir:?top_srcdir must be set (make check sets it)}"
: "${top_builddir:?top_builddir must be set (make check sets it)}"
TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
# What the tests write is private: shipgated refuses a configuration
# file (it holds password hashes) that others may read.
umask 077
SHIPGATED="$top_builddir/daemon/shipgated"
SHIPGATECTL="$top_builddir/daemon/shipgatectl"

t_count=0
t_failed=0
t_pids=
t_dir=

# ok NAME COMMAND...: one TAP line for the command's exit status.
ok() {
	t_name=$1
	shift
	t_count=$((t_count + 1))
	if "$@"; then
		echo "ok $t_count - $t_name"
	else
		echo "not ok $t_count - $t_name"
		t_failed=$((t_failed + 1))
	fi
}

t_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# SHIPGATE_REQUIRE_ALL=1 (scripts/check sets it, so CI does) turns every
# skip into a failure: CI has everything installed, so a skip there can
# only hide breakage.
t_require_all() {
	[ -n "${SHIPGATE_REQUIRE_ALL:-}" ] && [ "$SHIPGATE_REQUIRE_ALL" != 0 ]
}

# t_bail WHY: the test cannot go on (a fixture that did not start):
# automake counts "Bail out!" as an ERROR.  Never a skip.
t_bail() {
	echo "Bail out! $*"
	exit 1
}

# t_skip_all WHY: only for what a user's clone may legitimately lack
# (../shared, an optional tool scripts/install-deps installs); a failure
# under SHIPGATE_REQUIRE_ALL.
t_skip_all() {
	t_require_all && t_bail "$* (SHIPGATE_REQUIRE_ALL is set: required)"
	echo "1..0 # SKIP $*"
	exit 0
}

# t_skip NAME WHY: one skipped check, under the same rule.
t_skip() {
	t_count=$((t_count + 1))
	if t_require_all; then
		echo "not ok $t_count - $1: $2 (SHIPGATE_REQUIRE_ALL is set: required)"
		t_failed=$((t_failed + 1))
	else
		echo "ok $t_count - $1 # SKIP $2"
	fi
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

# t_start_fake [ARGS...]: the fake AWS endpoint on a free port; sets
# $fake_url and $fake_pid, and the environment for the fake's static keys.
t_start_fake() {
	rm -f "$t_dir/fake.port"
	"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/fakeaws.py" --port 0 \
	    --port-file "$t_dir/fake.port" "$@" >>"$t_dir/fake.log" 2>&1 &
	fake_pid=$!
	t_pids="$t_pids $fake_pid"
	t_wait_for 30 test -s "$t_dir/fake.port" || return 1
	fake_url="http://127.0.0.1:$(cat "$t_dir/fake.port")"
	AWS_ACCESS_KEY_ID=AKIASHIPGATETEST0001
	AWS_SECRET_ACCESS_KEY=shipgate/test/secret/key/000000000000000000
	AWS_EC2_METADATA_DISABLED=true
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED
	unset AWS_PROFILE AWS_SESSION_TOKEN
}

# t_demo_config FILE: conf/demo.yaml pointed at the fake and at $t_dir,
# listening on a free port.  The Unix user running the test is dave, an
# admin of the control socket (control_admin_group), so that it may act
# for the others with --as; a quorum still needs a second person
# (t_api_approve).
t_demo_config() {
	sed -e "s|http://127.0.0.1:4599|$fake_url|g" \
	    -e "s|/tmp/shipgate-demo|$t_dir|g" \
	    -e "s|^listen: .*|listen: 127.0.0.1:$(t_free_port)|" \
	    -e "s|{name: dave, email: dave@client.example, groups: \[operators\],|{name: dave, email: dave@client.example, groups: [operators], unix_uid: $(id -u),|" \
	    "$top_srcdir/conf/demo.yaml" >"$1"
	echo "control_admin_group: operators" >>"$1"
	chmod 600 "$1"
}

# t_api_approve CONFIG RUN ENV USER [COMMENT]: USER approves through the
# API with a token of their own, as another person than the one running
# shipgatectl (one Unix user counts once in a quorum).  Exit 0 on 200.
t_api_approve() {
	_tok=$("$SHIPGATECTL" -c "$1" token create "$4" --label t_api_approve) ||
	    return 1
	_listen=$(sed -n 's/^listen: //p' "$1")
	if [ -n "${5:-}" ]; then
		_body="{\"env\": \"$3\", \"comment\": \"$5\"}"
	else
		_body="{\"env\": \"$3\"}"
	fi
	_code=$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $_tok" \
	    -H 'Content-Type: application/json' --data "$_body" \
	    "http://$_listen/api/v1/runs/$2/approve")
	case $_code in
	2??)	return 0 ;;
	esac
	return 1
}
