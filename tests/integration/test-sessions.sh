#!/bin/sh
# Ending sign-ins: a user whose password_hash changes, or who loses a
# group, in the configuration loses every portal session and API token
# on reload (SIGHUP), and nobody else does; shipgatectl sessions list and
# revoke (by id, by user), their own user's for anyone mapped, anyone's
# for an admin.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null || t_skip_all "curl is not installed"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$cfg"
listen=$(sed -n 's/^listen: *//p' "$cfg")
base="http://$listen"
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '

ctl() {
	"$SHIPGATECTL" -c "$cfg" "$@" >"$t_dir/out" 2>"$t_dir/err"
	rc=$?
}
# login USER JAR: a portal session (the demo's password is "demo").
login() {
	curl -s -o /dev/null -c "$2" -b "$2" --data-urlencode "user=$1" \
	    --data-urlencode "password=demo" "$base/login"
}
# me JAR_OR_TOKEN: the status of /api/v1/me with that cookie jar or token.
me() {
	case $1 in
	sgt_*)	curl -s -o /dev/null -w '%{http_code}' \
		    -H "Authorization: Bearer $1" "$base/api/v1/me" ;;
	*)	curl -s -o /dev/null -w '%{http_code}' -b "$1" \
		    "$base/api/v1/me" ;;
	esac
}
# live JAR_OR_TOKEN...: each is signed in; dead: none is.
live() {
	for _x in "$@"; do
		[ "$(me "$_x")" = 200 ] || return 1
	done
}
dead() {
	for _x in "$@"; do
		[ "$(me "$_x")" != 200 ] || return 1
	done
}
json_check() {
	"$TEST_PYTHON" -c "import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if ($1) else 1)" "$t_dir/out"
}
# reload: SIGHUP, then wait for the daemon to say it is done.
reload() {
	n=$(grep -c 'configuration reloaded' "$t_dir/shipgated.log")
	kill -HUP "$daemon_pid"
	t_wait_for 30 sh -c "test \$(grep -c 'configuration reloaded' '$t_dir/shipgated.log') -gt $n"
}

login carol "$t_dir/carol1"
login carol "$t_dir/carol2"
login bob "$t_dir/bob"
login alice "$t_dir/alice"
ok "signed in: carol twice, bob, alice" \
    live "$t_dir/carol1" "$t_dir/carol2" "$t_dir/bob" "$t_dir/alice"
carol_tok=$("$SHIPGATECTL" -c "$cfg" token create carol --label ci)
bob_tok=$("$SHIPGATECTL" -c "$cfg" token create bob --label ci)
ok "tokens for carol and bob" live "$carol_tok" "$bob_tok"

# --- Comments are bounded on the API too (the engine's handlers) -------------
long=$(printf '%02001d' 0)
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' -H "Authorization: Bearer $carol_tok" \
    -H 'Content-Type: application/json' \
    --data "{\"env\": \"prod\", \"comment\": \"$long\"}" "$base/api/v1/runs/1/approve")
ok "an API approval with a comment of 2001 characters: refused with the reason" \
    sh -c "[ $code -ge 400 ] && [ $code -lt 500 ] && grep -q 'the comment is too long: at most 2000 characters' '$t_dir/b'"
dave_tok=$("$SHIPGATECTL" -c "$cfg" token create dave --label ops 2>/dev/null)
code=$(curl -s -o "$t_dir/b" -w '%{http_code}' -H "Authorization: Bearer $dave_tok" \
    -H 'Content-Type: application/json' \
    --data "{\"comment\": \"$long\"}" "$base/api/v1/runs/1/cancel")
ok "so is an operator's reason to cancel" \
    sh -c "[ $code -ge 400 ] && [ $code -lt 500 ] && grep -q 'the comment is too long: at most 2000 characters' '$t_dir/b'"

# --- shipgatectl sessions ---------------------------------------------------
ctl sessions list
ok "sessions list: exit 0, a header" sh -c "test $rc -eq 0 && grep -Eq '^ID +USER +CREATED +LAST SEEN +EXPIRES +ADDRESS$' '$t_dir/out'"
ok "sessions list: the four live sessions" test "$(grep -c '^[0-9A-F]\{16\} ' "$t_dir/out")" -eq 4
ctl --json sessions list --user carol
ok "sessions list --user carol: her two" \
    json_check 'r["ok"] and len(r["sessions"]) == 2 and all(s["user"] == "carol" and len(s["id"]) == 16 for s in r["sessions"])'
sid=$("$TEST_PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['sessions'][0]['id'])" "$t_dir/out")
ctl sessions revoke "$sid"
ok "sessions revoke ID: exit 0" sh -c "test $rc -eq 0 && grep -q '^1 session(s) of carol ended$' '$t_dir/out'"
one_of_two() {
	{ dead "$t_dir/carol1" && live "$t_dir/carol2"; } ||
	    { live "$t_dir/carol1" && dead "$t_dir/carol2"; }
}
ok "that session is over, carol's other one is not" one_of_two
ctl sessions revoke "$sid"
ok "sessions revoke of an ended session: not found (exit 1)" \
    sh -c "test $rc -eq 1 && grep -q 'not_found: no live session' '$t_dir/err'"
ctl sessions revoke 0123
ok "sessions revoke of a malformed id: exit 1" test "$rc" -eq 1
ctl sessions revoke --user alice
ok "sessions revoke --user alice: exit 0" sh -c "test $rc -eq 0 && grep -q '^1 session(s) of alice ended$' '$t_dir/out'"
ok "alice is signed out" test "$(me "$t_dir/alice")" != 200
ctl sessions revoke
ok "sessions revoke without an id: usage (2)" test "$rc" -eq 2
"$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" sql "$t_dir/shipgate.db" \
    "SELECT count(*) FROM audit WHERE action = 'sessions end' AND subject = 'user alice' AND unix_user LIKE '%(uid $(id -u))%'" >"$t_dir/n" 2>&1
ok "the audit names who ended them, with the uid" grep -qx 1 "$t_dir/n"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	# carol's Unix user: uid 64002 (no passwd entry needed), group 0 for
	# the socket's mode 0660.
	sed -i 's|{name: carol, email: carol@client.example, groups: \[project-team\],|{name: carol, email: carol@client.example, groups: [project-team], unix_uid: 64002,|' "$cfg"
	reload
	chmod 0755 "$t_dir"
	chmod 0640 "$cfg"
	as_carol() {
		setpriv --reuid=64002 --regid=0 --clear-groups \
		    "$SHIPGATECTL" -c "$cfg" "$@" >"$t_dir/out" 2>"$t_dir/err"
		rc=$?
	}
	as_carol --json sessions list
	ok "carol lists only her own sessions" \
	    json_check 'r["ok"] and len(r["sessions"]) == 1 and r["sessions"][0]["user"] == "carol"'
	as_carol sessions list --user bob
	ok "carol may not list bob's (exit 1)" \
	    sh -c "test $rc -eq 1 && grep -q 'forbidden: uid 64002 may not see or end the sessions of bob' '$t_dir/err'"
	bob_sid=$("$SHIPGATECTL" -c "$cfg" --json sessions list --user bob | "$TEST_PYTHON" -c "import json, sys; print(json.load(sys.stdin)['sessions'][0]['id'])")
	as_carol sessions revoke "$bob_sid"
	ok "carol may not end bob's session (exit 1)" \
	    sh -c "test $rc -eq 1 && grep -q 'only its user or an admin may' '$t_dir/err'"
	ok "and bob is still signed in" test "$(me "$t_dir/bob")" = 200
else
	t_count=$((t_count + 1))
	echo "ok $t_count # SKIP running shipgatectl as another uid needs root and setpriv"
fi

# --- Reload: a changed password, a group removed ------------------------------
carol_before() { one_of_two && live "$carol_tok"; }
ok "before the reload: carol's session and token work" carol_before
# carol's password_hash becomes bob's (another hash of the same password:
# what matters is that it changed).
bob_hash=$(grep -A1 'name: bob,' "$cfg" | sed -n 's/.*password_hash: "\([^"]*\)".*/\1/p')
"$TEST_PYTHON" - "$cfg" "$bob_hash" <<'PY'
import re, sys
path, new = sys.argv[1:]
text = open(path).read()
text = re.sub(r'(name: carol,.*?password_hash: ")[^"]*(")',
    lambda m: m.group(1) + new + m.group(2), text, count=1, flags=re.S)
open(path, "w").write(text)
PY
ok "carol's password_hash changed in the file" grep -q "name: carol" "$cfg"
reload
ok "reloaded" test $? -eq 0
ok "carol's sessions ended" dead "$t_dir/carol1" "$t_dir/carol2"
ok "carol's token revoked" test "$(me "$carol_tok")" = 401
ok "bob's session and token are untouched" live "$t_dir/bob" "$bob_tok"
ok "the log says so" t_log_has 'sign-ins ended user=carol sessions=[0-9]+ tokens=1'
login carol "$t_dir/carol3"
ok "carol signs in again (same password, new hash)" test "$(me "$t_dir/carol3")" = 200

# bob loses project-team: signed out everywhere; gaining a group would not.
sed -i 's|{name: alice, email: alice@integrator.example, groups: \[integrators\],|{name: alice, email: alice@integrator.example, groups: [integrators, project-team],|' "$cfg"
login alice "$t_dir/alice2"
sed -i 's|{name: bob, email: bob@client.example, groups: \[project-team\],|{name: bob, email: bob@client.example, groups: [observers],|' "$cfg"
reload
ok "bob, who lost a group: session ended and token revoked" \
    dead "$t_dir/bob" "$bob_tok"
ok "alice, who gained one, stays signed in" test "$(me "$t_dir/alice2")" = 200
ok "carol's new session is untouched" test "$(me "$t_dir/carol3")" = 200

ok "no sanitizer report in the daemon's log" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$t_dir/shipgated.log'"
ok "shipgated stops cleanly" t_stop "$daemon_pid"
t_done
