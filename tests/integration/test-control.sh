#!/bin/sh
# shipgatectl's runs, show and actions end to end: the real control
# socket served by tests/unit/control-test-server (a seeded store and the
# fake handlers of tests/unit/control-fake.h, which log every call):
# human and --json output, exit codes 0/1/2, the Unix user recorded, and
# "cannot reach" once the server is gone.
. "$top_srcdir/tests/lib.sh"
t_tmpdir

SERVER="$top_builddir/tests/unit/control-test-server"
[ -x "$SERVER" ] || t_skip_all "control-test-server not built (make check builds it)"
sock="$t_dir/control.sock"
cat >"$t_dir/shipgate.yaml" <<YAML
database: $t_dir/unused.db
control_socket: $sock
public_url: https://deploy.example.com
aws: {region: eu-west-1}
users:
  - {name: bob, email: bob@example.com, groups: [integrators]}
  - {name: ops, email: ops@example.com, groups: [admins], unix_uid: $(id -u)}
  - {name: carol, email: carol@example.com, groups: [integrators],
     unix_uid: 64001}
  - {name: dave, email: dave@example.com, groups: [admins], unix_uid: 64002}
control_admin_group: admins
apps:
  - name: billing
    source: {bucket: releases-billing}
    environments:
      - {name: int, account: "111111111111", stack: billing-int,
         role_arn: "arn:aws:iam::111111111111:role/shipgate-deployer",
         approvers: [integrators]}
YAML
chmod 600 "$t_dir/shipgate.yaml"

"$SERVER" "$t_dir" >"$t_dir/server.out" 2>"$t_dir/server.log" &
server_pid=$!
t_pids="$t_pids $server_pid"
ok "the control server is ready" t_wait_for 30 grep -q ready "$t_dir/server.out"

ctl() {
	"$SHIPGATECTL" -c "$t_dir/shipgate.yaml" "$@" >"$t_dir/out" 2>"$t_dir/err"
	rc=$?
}
out_has() { grep -Eq -- "$1" "$t_dir/out"; }
err_has() { grep -Eq -- "$1" "$t_dir/err"; }
calls_has() { grep -Fxq -- "$1" "$t_dir/calls.log"; }
json_check() {
	"$TEST_PYTHON" -c "import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if ($1) else 1)" "$t_dir/out"
}
me="$(id -un) (uid $(id -u))"

# runs
ctl runs
ok "runs: exit 0" test "$rc" -eq 0
ok "runs: a header" out_has '^ID +APP +VERSION +AUTHOR +STATUS +STAGE +CREATED +SOURCE$'
ok "runs: run 1 with its current stage, time in UTC, its S3 object" \
    out_has '^1 +billing +1\.4\.2 +alice +running +stg awaiting_approval +2023-11-14T22:13:20Z +s3://releases/billing-1\.4\.2\.zip$'
ok "runs: newest first" sh -c "sed -n 2p '$t_dir/out' | grep -q '^3 '"
ctl runs --app payroll
ok "runs --app" sh -c "test $rc -eq 0 && test \$(wc -l <'$t_dir/out') -eq 2 && grep -q '^2 ' '$t_dir/out'"
ctl runs --status received
ok "runs --status" sh -c "test $rc -eq 0 && grep -q '^3 ' '$t_dir/out' && ! grep -q '^1 ' '$t_dir/out'"
ctl --json runs --limit 1
ok "runs --json --limit 1: the reply as is" test "$rc" -eq 0
ok "runs --json: one run, a next page" \
    json_check 'r["ok"] and len(r["runs"]) == 1 and r["next_before"] == 3'
ctl runs --status napping
ok "runs --status unknown: usage (2)" test "$rc" -eq 2
ok "runs --status unknown: named" err_has 'unknown run status: napping'
ctl runs --limit 0
ok "runs --limit 0: usage (2)" test "$rc" -eq 2
ctl runs --env stg
ok "runs --env: not an option of runs (2)" test "$rc" -eq 2
ctl runs 1
ok "runs 1: usage (2)" test "$rc" -eq 2

# show
ctl show 1
ok "show: exit 0" test "$rc" -eq 0
ok "show: the run" out_has '^run 1: billing 1\.4\.2, running$'
ok "show: its message" out_has 'message: +Fix invoice rounding'
ok "show: its S3 object" out_has '^  source: +s3://releases/billing-1\.4\.2\.zip$'
ok "show: its images" out_has 'images: +billing/web:1\.4\.2'
ok "show: an image by digest" out_has 'billing/worker@sha256:0123'
ok "show: a stage with its duration" out_has '^  int: done, started 2023-11-14T22:14:20Z, took 4m00s$'
ok "show: a waiting stage" out_has '^  stg: awaiting_approval'
ok "show: resource changes" out_has 'Modify +WebService +AWS::ECS::Service +arn:aws:ecs:'
ok "show: a replacement is flagged" out_has 'Database +AWS::RDS::DBInstance +billing-db +REPLACEMENT'
ok "show: checks" out_has 'smoke/home: passed \(HTTP 200, 120ms\)'
ok "show: approvals" out_has '2023-11-14T22:15:20Z  alice approve int \(cli\): looks good'
ok "show: the audit trail" out_has 'alice \(unix ops\)  approve: int: looks good'
ctl --json show 1
ok "show --json: the whole run" \
    json_check 'r["ok"] and len(r["run"]["stages"]) == 3 and len(r["run"]["stages"][0]["changes"]) == 3 and len(r["run"]["audit"]) == 3'
ctl show 1 --json
ok "show RUN --json: --json after the command too" json_check 'r["ok"]'
ctl show 999
ok "show 999: exit 1" test "$rc" -eq 1
ok "show 999: the reason on stderr" err_has '^shipgatectl: not_found: no run 999$'
ctl show
ok "show without RUN: usage (2)" test "$rc" -eq 2
ctl show abc
ok "show abc: usage (2)" test "$rc" -eq 2
ok "show abc: says what is wrong" err_has 'not an id: abc'

# actions
ctl approve 1 --env stg --as bob -m "ship it"
ok "approve: exit 0" test "$rc" -eq 0
ok "approve: says so" out_has '^run 1: stg approved by bob$'
ok "approve: the handler saw user, via and the Unix user" \
    calls_has "approve id=1 env=stg as=bob via=cli unix_user=$me acting as bob comment=ship it"
ctl approve 1 --env prod --as mallory
ok "approve refused: exit 1" test "$rc" -eq 1
ok "approve refused: the daemon's reason on stderr" \
    err_has '^shipgatectl: forbidden: mallory may not approve prod: not in project-team$'
ctl --json approve 1 --env prod --as mallory
ok "approve refused --json: exit 1" test "$rc" -eq 1
ok "approve refused --json: the reply on stdout" \
    json_check 'not r["ok"] and r["error"] == "forbidden"'
ctl approve 1 --env stg
ok "approve without --as: as one's own user" \
    sh -c "test $rc -eq 0 && grep -q '^run 1: stg approved by ops$' '$t_dir/out'"
ok "approve without --as: no \"acting as\"" \
    calls_has "approve id=1 env=stg as=ops via=cli unix_user=$me comment=-"
ctl approve 1 --as bob
ok "approve without --env: usage (2)" test "$rc" -eq 2
ctl reject 1 --env stg --as bob
ok "reject without a comment: usage (2)" test "$rc" -eq 2
ctl reject 1 --env stg --as bob -m "  "
ok "reject with a blank comment: usage (2)" test "$rc" -eq 2
ok "reject: nothing reached the daemon" sh -c "! grep -q '^reject' '$t_dir/calls.log'"
ctl reject 1 --env stg --as bob -m "tests are red"
ok "reject: exit 0" test "$rc" -eq 0
ok "reject: the comment reached the daemon" \
    calls_has "reject id=1 env=stg as=bob via=cli unix_user=$me acting as bob comment=tests are red"
ctl authorise 1 --as bob -m "go on"
ok "authorise: exit 0" sh -c "test $rc -eq 0 && grep -q 'promotion authorised by bob' '$t_dir/out'"
ctl authorise 1 --env stg --as bob
ok "authorise --env: usage (2)" test "$rc" -eq 2
ctl cancel 409 --as bob -m "wrong build"
ok "cancel refused: exit 1" test "$rc" -eq 1
ok "cancel refused: conflict" err_has 'conflict: run 409 is not waiting for a decision'
ctl cancel 1 --as bob -m "wrong build"
ok "cancel: exit 0 with its reason" sh -c "test $rc -eq 0 && grep -Fxq 'cancel id=1 env=- as=bob via=cli unix_user=$me acting as bob comment=wrong build' '$t_dir/calls.log'"
ctl retry 1 --env stg --as bob
ok "retry: exit 0" sh -c "test $rc -eq 0 && grep -q 'stg retried by bob' '$t_dir/out'"
ctl retry 1 --env nowhere --as bob
ok "retry of an unknown env: exit 1" sh -c "test $rc -eq 1 && grep -q 'invalid: no environment nowhere' '$t_dir/err'"
ctl retry 1 --as bob -m hello
ok "retry -m: usage (2)" test "$rc" -eq 2
ctl redeploy 7 --env prod --as bob
ok "redeploy: exit 0, the new run" sh -c "test $rc -eq 0 && grep -q 'release 7: redeploying to prod as run 107' '$t_dir/out'"
ctl --json redeploy 7 --env prod --as bob
ok "redeploy --json" json_check 'r["ok"] and r["run"] == 107 and r["release"] == 7'
ctl redeploy --env prod --as bob
ok "redeploy without RELEASE: usage (2)" test "$rc" -eq 2
ctl approve 1 --env "$(printf 'st\377g')" --as bob
ok "an argument that is not UTF-8: usage (2)" test "$rc" -eq 2

# who the peer is: its uid, mapped by users[].unix_uid; --as for admins
label100=$(printf '%0100d' 0)
ctl token create bob --label "$label100"
ok "token create: a label of 100 characters" test "$rc" -eq 0
ctl token create bob --label "x$label100"
ok "token create: a label of 101 characters is refused" \
    sh -c "test $rc -eq 1 && grep -q 'the label is too long: at most 100 characters' '$t_dir/err'"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	t_count=$((t_count + 1))
	echo "ok $t_count # SKIP running shipgatectl under other uids needs root and setpriv"
else
	# shipgatectl reads the config to find the socket (mode 0666 here).
	chmod 0755 "$t_dir"
	chmod 0640 "$t_dir/shipgate.yaml"
	as_uid() {
		uid=$1
		shift
		setpriv --reuid="$uid" --regid=0 --clear-groups \
		    "$SHIPGATECTL" -c "$t_dir/shipgate.yaml" "$@" \
		    >"$t_dir/out" 2>"$t_dir/err"
		rc=$?
	}
	as_uid 64001 approve 1 --env stg -m mine
	ok "a mapped Unix user acts as its user" \
	    sh -c "test $rc -eq 0 && grep -q '^run 1: stg approved by carol$' '$t_dir/out'"
	ok "the handler saw the real uid" \
	    calls_has "approve id=1 env=stg as=carol via=cli unix_user=uid 64001 comment=mine"
	as_uid 64001 approve 1 --env stg --as carol
	ok "--as naming oneself is fine" test "$rc" -eq 0
	n=$(wc -l <"$t_dir/calls.log")
	as_uid 64001 approve 1 --env stg --as bob
	ok "--as another user: refused for a non-admin (exit 1)" test "$rc" -eq 1
	ok "--as refused: says why" \
	    err_has '^shipgatectl: forbidden: uid 64001 may not act as bob: --as is for root and the members of control_admin_group \(admins\)$'
	ok "--as refused: the handler was not called" \
	    test "$(wc -l <"$t_dir/calls.log")" -eq "$n"
	as_uid 64002 approve 1 --env stg --as bob
	ok "an admin may act as another user" test "$rc" -eq 0
	ok "recorded as \"X acting as Y\" with the real uid" \
	    calls_has "approve id=1 env=stg as=bob via=cli unix_user=uid 64002 acting as bob comment=-"
	as_uid 64003 runs
	ok "an unmapped Unix user may read" test "$rc" -eq 0
	as_uid 64003 approve 1 --env stg
	ok "an unmapped Unix user may not act (exit 1)" \
	    sh -c "test $rc -eq 1 && grep -q 'forbidden: uid 64003 is no shipgate user' '$t_dir/err'"
	as_uid 64003 approve 1 --env stg --as bob
	ok "nor act as another" \
	    sh -c "test $rc -eq 1 && grep -q 'forbidden: uid 64003 may not act as bob' '$t_dir/err'"
	as_uid 64001 token create bob
	ok "a non-admin may not make a token for another user" \
	    sh -c "test $rc -eq 1 && grep -q 'forbidden: uid 64001 may not act as bob' '$t_dir/err'"
	as_uid 64001 token create carol --label mine
	ok "a user makes a token of their own" test "$rc" -eq 0
	as_uid 64001 --json token list
	ok "a user lists their own tokens only" \
	    json_check 'r["ok"] and len(r["tokens"]) == 1 and r["tokens"][0]["user"] == "carol" and r["tokens"][0]["created_by"] == "uid 64001"'
	carol_token=$("$TEST_PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['tokens'][0]['id'])" "$t_dir/out")
	bob_token=$("$SHIPGATECTL" -c "$t_dir/shipgate.yaml" --json token list | "$TEST_PYTHON" -c "import json,sys; print([t['id'] for t in json.load(sys.stdin)['tokens'] if t['user'] == 'bob'][0])")
	as_uid 64001 token revoke "$bob_token"
	ok "a user may not revoke another's token" \
	    sh -c "test $rc -eq 1 && grep -q 'forbidden: uid 64001 may not revoke token' '$t_dir/err'"
	as_uid 64001 token revoke "$carol_token"
	ok "a user revokes their own token" test "$rc" -eq 0
	as_uid 64003 token list
	ok "an unmapped Unix user has no tokens to list" test "$rc" -eq 1
	as_uid 64002 token create bob --label "by dave"
	ok "an admin makes a token for another user" test "$rc" -eq 0
	ctl --json token list
	ok "an admin lists every token, the maker with its uid" \
	    json_check 'len(r["tokens"]) == 3 and r["tokens"][-1]["created_by"] == "uid 64002 acting as bob"'
fi

# every command of the usage is in the man page
for c in runs show approve reject authorise cancel retry redeploy stacks \
    continue-rollback delete-failed-stack; do
	ok "shipgatectl(1) describes $c" \
	    grep -q "^\.It Cm $c " "$top_srcdir/man/shipgatectl.1"
	ok "the usage names $c" sh -c "'$SHIPGATECTL' --help | grep -q '^  $c '"
done

# the server stops cleanly, and then nothing answers
t_stop "$server_pid"
ok "the server stops cleanly (no handle left, no leak)" test $? -eq 0
ok "the socket file is removed" test ! -e "$sock"
ctl runs
ok "no daemon: exit 1" test "$rc" -eq 1
ok "no daemon: cannot reach shipgated at PATH" \
    err_has "^shipgatectl: cannot reach shipgated at $sock: "
t_done
