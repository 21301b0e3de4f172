#!/bin/sh
# auth.alb (issue 17): shipgated behind an AWS Application Load Balancer
# that signs people in.  The "load balancer" is curl bound to 127.0.0.2
# (the only trusted proxy) sending x-amzn-oidc-data headers minted here
# (alb-token.py: ES256 with EC keys made by openssl, padded base64url as
# ALBs send it); the region's public-key endpoint is a small key server
# on 127.0.0.1 serving KEY_URL/KID as PEM.  Accepted: a good token (the
# person is signed in with their mapped groups).  Refused, each on its
# own: a wrong signer ARN, an expired token, a token signed by another
# key under the same kid, an unknown kid, groups that map to nothing, no
# header at all from the load balancer, and a good header from an address
# that is not a trusted proxy (ignored: not signed in).
#
# The people directory (sql/010_people.sql): erin, signed in by the load
# balancer, is listed by shipgatectl people list; after a restart she is
# still known (her session cookie still works, from any address) and a
# release's approval-needed mail reaches her, as it reaches the group's
# own address (top-level groups:); her approval and her cancel through
# the API are audited "via alb"; shipgatectl people forget ends her
# session and her API token at once, audited, and she is no longer
# listed.
. "$top_srcdir/tests/lib.sh"

command -v openssl >/dev/null 2>&1 || t_bail "openssl is missing"
"$TEST_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
    t_bail "python3-aiosmtpd is not installed"
t_tmpdir
t_start_fake || t_bail "the fake AWS endpoint did not start"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || t_bail "the sandbox set-up failed"
mkdir "$t_dir/mail"
"$TEST_PYTHON" "$top_srcdir/tests/smtpsink.py" --dir "$t_dir/mail" \
    --port-file "$t_dir/smtp.port" >"$t_dir/smtp.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/smtp.port" || t_bail "the SMTP sink did not start"

keys=$t_dir/keys
mkdir -p "$keys"
openssl ecparam -name prime256v1 -genkey -noout -out "$t_dir/k1.pem" 2>/dev/null &&
    openssl ec -in "$t_dir/k1.pem" -pubout -out "$keys/kid-1" 2>/dev/null &&
    openssl ecparam -name prime256v1 -genkey -noout -out "$t_dir/k2.pem" 2>/dev/null ||
    t_bail "openssl cannot make EC keys"
kport=$(t_free_port)
"$TEST_PYTHON" -m http.server --bind 127.0.0.1 --directory "$keys" "$kport" \
    >"$t_dir/keys.log" 2>&1 &
t_pids="$t_pids $!"
keys_up() {
	curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kport/kid-1" |
	    grep -q '^200$'
}
t_wait_for 30 keys_up || t_bail "the key server did not start"

arn=arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shipgate/50dc6c495c0c9188
t_demo_config "$t_dir/demo.yaml"
listen=$(sed -n 's/^listen: *//p' "$t_dir/demo.yaml")
cfg=$t_dir/shipgate.yaml
sed -e "s|^public_url: .*|public_url: http://$listen|" \
    -e "s|smtp://127.0.0.1:4525|smtp://127.0.0.1:$(cat "$t_dir/smtp.port")|" \
    "$t_dir/demo.yaml" >"$cfg"
cat >>"$cfg" <<EOC
groups:
  - {name: integrators, mail: [integrators-list@integrator.example]}
trusted_proxies: [127.0.0.2/32]
auth:
  alb:
    arn: "$arn"
    key_url: "http://127.0.0.1:$kport/"
    groups:
      integrator-staff: integrators
      integrator-ops: operators
EOC
chmod 600 "$cfg"
t_start_daemon "$cfg"
portal_up() {
	curl -s -o /dev/null -w '%{http_code}' "http://$listen/login" | grep -q '^200$'
}
t_wait_for 60 t_log_has ' ready ' || t_bail "shipgated did not get ready"
t_wait_for 10 portal_up || t_bail "the portal does not answer"

now=$(date +%s)
claims='{"sub":"u-1","email":"erin@integrator.example","groups":["integrator-staff","integrator-ops","other"]}'
mint() { # KEY KID SIGNER EXP [CLAIMS]
	"$TEST_PYTHON" "$top_srcdir/tests/integration/alb-token.py" "$1" "$2" \
	    "$3" "$4" "${5:-$claims}"
}
# get FROM [TOKEN]: GET / from address FROM; the status, body in $t_dir/body.
get() {
	if [ -n "${2:-}" ]; then
		curl -s --interface "$1" -o "$t_dir/body" -D "$t_dir/headers" \
		    -w '%{http_code}' -H "x-amzn-oidc-data: $2" "http://$listen/"
	else
		curl -s --interface "$1" -o "$t_dir/body" -D "$t_dir/headers" \
		    -w '%{http_code}' "http://$listen/"
	fi
}

good=$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now + 120)))
ok "the minted token is padded as an ALB's is" sh -c "echo '$good' | grep -q '='"
code=$(get 127.0.0.2 "$good")
ok "a good token from the load balancer signs erin in (200, got $code)" test "$code" = 200
ok "the page names her by the user claim" grep -q 'erin@integrator.example' "$t_dir/body"
ok "she gets a session cookie" grep -qi '^set-cookie: sg_session=' "$t_dir/headers"
cp "$t_dir/headers" "$t_dir/erin.headers"
ok "the log says via=alb" t_log_has 'signed in user=erin@integrator.example via=alb'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 \
    arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1 $((now + 120)))")
ok "a token from another load balancer (signer) is refused (401, got $code)" test "$code" = 401
ok "the log names the signer" t_log_has 'token refused .*signer is not the configured'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now - 3600)))")
ok "an expired token is refused (401, got $code)" test "$code" = 401
ok "the log says expired" t_log_has 'token refused .*expired'

code=$(get 127.0.0.2 "$(mint "$t_dir/k2.pem" kid-1 "$arn" $((now + 120)))")
ok "a token signed by another key under the same kid is refused (401, got $code)" test "$code" = 401
ok "the log says the signature does not verify" t_log_has 'token refused .*signature does not verify'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-unknown "$arn" $((now + 120)))")
ok "a kid the key server does not have is refused (401, got $code)" test "$code" = 401
ok "the log says the key could not be fetched" t_log_has 'token refused .*key kid-unknown'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now + 120)) \
    '{"email":"mallory@elsewhere.example","groups":["visitors"]}')")
ok "groups that map to nothing are refused (401, got $code)" test "$code" = 401

code=$(get 127.0.0.2)
ok "no header from the load balancer is refused (401, got $code)" test "$code" = 401

code=$(get 127.0.0.1 "$good")
ok "a good header from an address not trusted is ignored (303 to sign-in, got $code)" \
    sh -c "test '$code' = 303 && grep -qi '^location: /login' '$t_dir/headers'"

ok "no token in the daemon's log" sh -c "! grep -Fq '$(echo "$good" | cut -c1-40)' '$t_dir/shipgated.log'"

# The people directory, across a restart.
ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: sg_session=\([^;]*\).*/\1/p' "$t_dir/erin.headers" | tr -d '\r')
# as_erin: GET / from 127.0.0.1 (no load balancer) with erin's cookie.
as_erin() {
	curl -s --interface 127.0.0.1 -o "$t_dir/body" -D "$t_dir/headers" \
	    -w '%{http_code}' -H "Cookie: sg_session=$cookie" "http://$listen/"
}
ok "erin's session cookie was kept" test -n "$cookie"
ctl people list >"$t_dir/people.out" 2>&1
ok "shipgatectl people list names erin, via alb, in integrators and operators" \
    grep -Eq '^erin@integrator.example +alb .* integrators,operators$' "$t_dir/people.out"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_start_daemon "$cfg"
t_wait_for 60 sh -c "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 2" ||
    t_bail "shipgated did not get ready again"
ok "restarted, the daemon loads the person it knew" t_log_has 'people loaded n=1'
t_wait_for 10 portal_up || t_bail "the portal does not answer after the restart"
code=$(as_erin)
ok "after the restart erin's session still works without the load balancer (200, got $code)" \
    test "$code" = 200
ok "... naming her" grep -q 'erin@integrator.example' "$t_dir/body"
ctl people list >"$t_dir/people.out" 2>&1
ok "she is still listed" grep -q '^erin@integrator.example ' "$t_dir/people.out"

"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.0.0 --tag 1.0.0 \
    --message "release 1.0.0" >"$t_dir/drop.out" 2>&1
# approval_mail: the sink's envelope of the Int approval-needed mail.
approval_mail() {
	for f in "$t_dir"/mail/*.eml; do
		[ -e "$f" ] || continue
		if grep -q '^Subject: .*awaits your approval for int' "$f"; then
			echo "${f%.eml}.json"
			return 0
		fi
	done
	return 1
}
ok "release 1.0.0's approval-needed mail is sent" t_wait_for 90 approval_mail
env_json=$(approval_mail)
ok "it reaches erin, whom shipgate knows only from the load balancer" \
    grep -q 'erin@integrator.example' "$env_json"
ok "and the configured integrators" grep -q 'alice@integrator.example' "$env_json"
ok "and the group's own address (groups: mail)" \
    grep -q 'integrators-list@integrator.example' "$env_json"

# Her actions through the API are audited "via alb", as her decisions.
tok=$(ctl token create erin@integrator.example --label test 2>"$t_dir/tok.err") ||
    { tok=; sed "s/^/# token: /" "$t_dir/tok.err"; }
ok "an API token for erin" test -n "$tok"
api() { # VERB BODY: POST /api/v1/runs/1/VERB as erin; the status
	curl -s -o "$t_dir/api.body" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	    --data "$2" "http://$listen/api/v1/runs/1/$1"
}
code=$(api approve '{"env": "int"}')
ok "erin approves Int through the API (200, got $code)" test "$code" = 200
audit_of() { # ACTION: the detail of erin's audit entry for ACTION
	sqlite3 "$t_dir/shipgate.db" "SELECT detail FROM audit WHERE
	    actor = 'erin@integrator.example' AND action = '$1' ORDER BY id DESC LIMIT 1"
}
a=$(audit_of approve)
ok "her approval is audited via alb ($a)" \
    sh -c 'echo "$1" | grep -Eq "^int attempt [0-9]+ via alb$"' _ "$a"
ok "her approval's row says the API, signed in by the load balancer" \
    test "$(sqlite3 "$t_dir/shipgate.db" "SELECT via || ' ' || signin FROM approvals
        WHERE user_name = 'erin@integrator.example'")" = "api alb"
ctl --json show 1 >"$t_dir/show.json" 2>&1
ok "as the run's JSON does" grep -Eq '"signin": *"alb"' "$t_dir/show.json"
code=$(api cancel '{"comment": "wrong build"}')
ok "erin cancels run 1 through the API (2xx, got $code)" \
    sh -c "case $code in 2??) exit 0;; esac; exit 1"
ok "her cancel is audited via alb ($(audit_of cancel))" \
    test "$(audit_of cancel)" = "via alb: wrong build"

ctl people forget erin@integrator.example >"$t_dir/forget.out" 2>&1
ok "shipgatectl people forget erin (exit 0)" test $? -eq 0
ok "... says her session and her token ended" \
    grep -q 'forgotten, 1 session(s) and 1 token(s) ended' "$t_dir/forget.out"
code=$(api cancel '{"comment": "again"}')
ok "her API token no longer works (401, got $code)" test "$code" = 401
code=$(as_erin)
ok "her session ends at once (303 to sign-in, got $code)" \
    sh -c "test '$code' = 303 && grep -qi '^location: /login' '$t_dir/headers'"
ctl people list >"$t_dir/people.out" 2>&1
ok "she is no longer listed" sh -c "! grep -q '^erin@' '$t_dir/people.out'"
audited=$(sqlite3 "$t_dir/shipgate.db" "SELECT actor || ' ' || detail FROM audit
    WHERE action = 'person forget' AND subject = 'person erin@integrator.example'")
ok "the forgetting is audited, by dave, with the sessions and tokens ended ($audited)" \
    test "$audited" = "dave forgotten, 1 sessions and 1 tokens ended"
rc=0
ctl people forget erin@integrator.example >"$t_dir/forget.out" 2>&1 || rc=$?
ok "forgetting her again fails, saying so (exit $rc)" \
    sh -c "test $rc -ne 0 && grep -q 'no person erin@integrator.example' '$t_dir/forget.out'"

# The load balancer vouches for her again: she is back at her next
# request.  Then the operator takes operators out of the mapping: the
# reload ends her sign-ins and leaves her integrators (people list too);
# and a start whose store still says operators (the configuration edited
# while the daemon was stopped) keeps integrators only.
code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 "$arn" $(($(date +%s) + 120)))")
ok "the load balancer signs erin in again (200, got $code)" test "$code" = 200
ctl people list >"$t_dir/people.out" 2>&1
ok "she is listed again" grep -q '^erin@integrator.example ' "$t_dir/people.out"
code=$(api cancel '{"comment": "old token"}')
ok "the token forgetting ended does not come back with her (401, got $code)" \
    test "$code" = 401
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: sg_session=\([^;]*\).*/\1/p' "$t_dir/headers" | tr -d '\r')
tok=$(ctl token create erin@integrator.example --label reload 2>"$t_dir/tok.err") ||
    { tok=; sed "s/^/# token: /" "$t_dir/tok.err"; }
code=$(as_erin)
ok "her new session works (200, got $code)" test "$code" = 200
# The operator stops mapping integrator-ops and reloads: she loses
# operators, so her sign-ins end, as a configured user's do.
grep -v 'integrator-ops: operators' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg" &&
    chmod 600 "$cfg"
kill -HUP "$daemon_pid"
ok "the reload ends the sign-ins of the person who lost operators" \
    t_wait_for 30 t_log_has 'groups no longer mapped person=erin@integrator.example sessions=1 tokens=1'
code=$(as_erin)
ok "her session ended (303 to sign-in, got $code)" test "$code" = 303
ctl people list >"$t_dir/people.out" 2>&1
ok "people list shows her in integrators only" \
    grep -Eq '^erin@integrator.example +alb .* integrators$' "$t_dir/people.out"
code=$(api cancel '{"comment": "after the reload"}')
ok "and her token (401, got $code)" test "$code" = 401
t_stop "$daemon_pid"
ok "shipgated stops cleanly after the restart" test $? -eq 0
# The store as a daemon stopped before the mapping went would have left
# it (the configuration edited while it was down): operators again.
sqlite3 "$t_dir/shipgate.db" "UPDATE people SET groups = 'integrators' || char(10) ||
    'operators' WHERE name = 'erin@integrator.example'"
ok "the stopped daemon's store says operators" test "$(sqlite3 "$t_dir/shipgate.db" \
    "SELECT count(*) FROM people WHERE groups LIKE '%operators'")" = 1
t_start_daemon "$cfg"
t_wait_for 60 sh -c "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 3" ||
    t_bail "shipgated did not get ready a third time"
t_wait_for 10 portal_up || t_bail "the portal does not answer after the restart"
tok=$(ctl token create erin@integrator.example --label test2 2>"$t_dir/tok.err") ||
    { tok=; sed "s/^/# token: /" "$t_dir/tok.err"; }
ok "a new API token for erin" test -n "$tok"
code=$(api cancel '{"comment": "no longer an operator"}')
ok "with operators no longer mapped she may not cancel (403, got $code)" \
    test "$code" = 403
ok "... not being in operators" grep -q 'not in operators' "$t_dir/api.body"
t_stop "$daemon_pid"
ok "shipgated stops cleanly after the third start" test $? -eq 0
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
[ "$t_failed" -eq 0 ] || sed 's/^/# daemon: /' "$t_dir/shipgated.log" | tail -n 40
t_done
