#!/bin/sh
# The portal's server against the real daemon and the fake AWS endpoint,
# with curl on 127.0.0.1: sign-in (right and wrong password, the rate
# limit), the cookie's flags, sign-out revoking the session, CSRF and
# Origin refusals, the security headers, 400 on malformed requests, 413
# on a big body (chunked too), connections_per_address, the JSON API (runs, run detail, approve and reject with
# the engine's permission checks), API tokens made with shipgatectl,
# /healthz (503 when the schema changes under it) and /metrics, HTTPS
# (a Secure cookie, HSTS; an unreadable key stops the start) and the
# trusted proxy's identity header.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null || t_skip_all "curl is not installed"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# As test-pipeline.sh: no image promotion, Int's registry everywhere; a
# small body limit and three sign-in attempts, so the limits are quick
# to reach.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    "$t_dir/demo.yaml" >"$cfg"
printf 'portal:\n  sign_in_attempts: 3\n  max_body_size: 4KiB\n  connections_per_address: 6\n' >>"$cfg"
listen=$(sed -n 's/^listen: *//p' "$cfg")
base="http://$listen"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 60 t_log_has ' ready '
ok "the portal listens" t_log_has "portal listening listen=$listen"

jar="$t_dir/cookies"
# req NAME CURL-ARGS...: the status in $code, headers in $t_dir/h, body in
# $t_dir/b.
req() {
	code=$(curl -s -o "$t_dir/b" -D "$t_dir/h.crlf" -w '%{http_code}' "$@")
	tr -d '\r' <"$t_dir/h.crlf" >"$t_dir/h"
}
hdr_has() { grep -Eiq -- "$1" "$t_dir/h"; }
body_has() { grep -Eq -- "$1" "$t_dir/b"; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
# jcheck EXPR: EXPR holds on the JSON body (as d).
jcheck() { sgtest check "$1" "$t_dir/b"; }
login() {	# login USER PASSWORD [JAR]
	req -c "${3:-$jar}" -b "${3:-$jar}" --data-urlencode "user=$1" \
	    --data-urlencode "password=$2" "$base/login"
}
csrf_of() {	# the session's CSRF token, from /api/v1/me
	curl -s -b "${1:-$jar}" "$base/api/v1/me" |
	    sgtest get "d['csrf']" -
}

# --- Health, headers, redirects --------------------------------------------
req "$base/healthz"
ok "/healthz: 200 ok" sh -c "[ $code = 200 ] && grep -q '^ok' '$t_dir/b'"
req "$base/"
ok "a page without a session redirects to /login" \
    sh -c "[ $code = 303 ] && grep -Eiq '^Location: /login' '$t_dir/h'"
req "$base/login"
ok "/login: 200" test "$code" = 200
ok "Content-Security-Policy without inline script" \
    sh -c "grep -i '^Content-Security-Policy:' '$t_dir/h' | grep -q \"default-src 'self'\" &&
        ! grep -i '^Content-Security-Policy:' '$t_dir/h' | grep -q unsafe-inline"
ok "X-Frame-Options: DENY" hdr_has '^X-Frame-Options: DENY'
ok "X-Content-Type-Options: nosniff" hdr_has '^X-Content-Type-Options: nosniff'
ok "Referrer-Policy" hdr_has '^Referrer-Policy: (same-origin|no-referrer)'
ok "Cache-Control: no-store" hdr_has '^Cache-Control: no-store'
ok "the connection is kept alive" sh -c "! grep -Eiq '^Connection: close' '$t_dir/h'"
req "$base/api/v1/runs"
ok "the API without credentials: 401 JSON" \
    sh -c "[ $code = 401 ] && grep -q '\"error\": *\"unauthenticated\"' '$t_dir/b'"

# --- Sign-in -----------------------------------------------------------------
login alice wrong
ok "a wrong password is refused" sh -c "[ $code = 403 ] && ! grep -qi '^Set-Cookie: sg_session=[0-9a-f]' '$t_dir/h'"
ok "the page says why" body_has 'Wrong user name or password'
login nobody demo
ok "an unknown user is refused alike" test "$code" = 403
rm -f "$jar"
login alice demo
ok "alice signs in: 303 to /" sh -c "[ $code = 303 ] && grep -Eiq '^Location: /$' '$t_dir/h'"
ok "the cookie is HttpOnly and SameSite=Strict" \
    hdr_has '^Set-Cookie: sg_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict'
ok "no Secure flag over http" sh -c "! grep -i '^Set-Cookie:' '$t_dir/h' | grep -q Secure"
sid=$(sed -n 's/.*sg_session=\([0-9a-f]*\).*/\1/p' "$t_dir/h" | head -1)
ok "the session id is not stored as such" \
    sh -c "! sqlite3 '$t_dir/shipgate.db' 'select hex(id_hash) from sessions' 2>/dev/null | grep -qi '$sid'"
req -b "$jar" "$base/"
ok "alice's dashboard: 200" test "$code" = 200
# The redirect after sign-in: a path of this site only.
req -c "$t_dir/njar" --data 'user=alice&password=demo&next=/runs/1' "$base/login"
ok "next=/runs/1: 303 there" sh -c "[ $code = 303 ] && grep -Eq '^Location: /runs/1$' '$t_dir/h'"
for next in '/%09/evil.example' '//evil.example' '/%5Cevil.example' \
    '/x%0d%0aSet-Cookie:%20a=b' 'https://evil.example/'; do
	req -c "$t_dir/njar" --data "user=alice&password=demo&next=$next" "$base/login"
	ok "next=$next: 303 to / instead" sh -c "[ $code = 303 ] && grep -Eq '^Location: /$' '$t_dir/h'"
done
req -b "$jar" "$base/api/v1/me"
ok "/api/v1/me names alice" jcheck "d['user'] == 'alice' and len(d['csrf']) == 64"
csrf=$(csrf_of)

# --- CSRF and Origin -----------------------------------------------------------
req -b "$jar" -X POST "$base/logout"
ok "sign-out without the CSRF token: 403" sh -c "[ $code = 403 ] && grep -q 'Invalid or missing CSRF token' '$t_dir/b'"
req -b "$jar" --data "csrf=0000000000000000000000000000000000000000000000000000000000000000" "$base/logout"
ok "with a wrong token: 403" test "$code" = 403
req -b "$jar" -H 'Origin: http://evil.example' --data "csrf=$csrf" "$base/logout"
ok "from another origin: 403" sh -c "[ $code = 403 ] && grep -q 'Cross-origin' '$t_dir/b'"
req -b "$jar" -H 'Referer: http://evil.example/x' --data "csrf=$csrf" "$base/logout"
ok "with another site's Referer: 403" test "$code" = 403
req -b "$jar" "$base/"
ok "the session still works after the refusals" test "$code" = 200

# --- Malformed and big requests ----------------------------------------------
req "$base/runs/%zz"
ok "a bad %-escape: 400" test "$code" = 400
req "$base/a//b"
ok "an empty path segment: 400" test "$code" = 400
raw() {	# raw BYTES: sent as they are; the reply's status is printed
	"$TEST_PYTHON" - "$listen" "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape")
          .encode("latin-1"))
data = s.recv(4096).decode("latin-1")
print(data.split(" ")[1] if " " in data else "closed")
PY
}
code=$(raw 'GET /\r\n\r\n')
ok "a request line without a version: 400" test "$code" = 400
code=$(raw 'GET / HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n')
ok "a header line without a colon: 400" test "$code" = 400
# libmicrohttpd answers this one itself: shipgated(8) says its replies
# lack the security headers but hold no data and end the connection.
"$TEST_PYTHON" - "$listen" >"$t_dir/mhd400" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode("latin-1").replace("\r", ""))
PY
ok "libmicrohttpd's own 400 closes the connection, as documented" \
    sh -c "head -1 '$t_dir/mhd400' | grep -q ' 400 ' && grep -qi '^Connection: close' '$t_dir/mhd400'"
code=$(raw "GET / HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 70000 /dev/zero | tr '\0' a)\r\n\r\n")
ok "a huge header: 431" test "$code" = 431
# Issue 12: two lengths or two hosts are read differently by different
# servers (smuggling behind a proxy): refused, never "first wins".
code=$(raw 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\na=b')
ok "two Content-Length headers: 400 ($code)" test "$code" = 400
code=$(raw 'GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n')
ok "two Host headers: 400 ($code)" test "$code" = 400
head -c 5000 /dev/zero | tr '\0' a >"$t_dir/big"
req --data-binary "@$t_dir/big" "$base/login"
ok "a body over max_body_size: 413" test "$code" = 413
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$t_dir/big" "$base/login")
ok "a chunked body growing past max_body_size is not taken ($code)" \
    sh -c "[ '$code' = 413 ] || [ '$code' = 000 ]"
# connections_per_address (6 here): six idle clients hold their
# connections; a seventh is closed unanswered; once they go, all is well.
conns() {
	"$TEST_PYTHON" - "$listen" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held = [socket.create_connection((host, int(port))) for _ in range(6)]
time.sleep(0.3)
s = socket.create_connection((host, int(port)))
s.settimeout(5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
try:
    seventh = s.recv(4096)
except (ConnectionResetError, socket.timeout):
    seventh = b""
for h in held:
    h.close()
time.sleep(0.3)
s = socket.create_connection((host, int(port)))
s.settimeout(5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
after = s.recv(4096)
print("seventh=%s after=%s" % (seventh.split(b" ")[1].decode() if seventh else "closed",
                               after.split(b" ")[1].decode() if after else "closed"))
PY
}
got=$(conns)
t_diag "$got"
ok "a client over connections_per_address is closed unanswered" \
    sh -c "echo '$got' | grep -q 'seventh=closed'"
ok "once the others close, the address is served again" \
    sh -c "echo '$got' | grep -q 'after=200'"
ok "the daemon is alive" t_alive "$daemon_pid"

# --- A release, the API and the engine's permissions -------------------------
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 2.0.0 --tag 1.4.2 \
    --param DesiredCount=2 --message 'portal <b>test</b>' \
    >>"$t_dir/drop.out" 2>&1
run_stage() {	# run_stage RUN ENV STATUS (through the API, as alice)
	curl -s -b "$jar" "$base/api/v1/runs/$1" | sgtest check \
	    "[s for s in d['run']['stages'] if s['env'] == '$2'][0]['status'] == '$3'" -
}
ok "run 1 waits for the Int approval (API)" t_wait_for 60 run_stage 1 int awaiting_approval
req -b "$jar" "$base/api/v1/runs?limit=10"
ok "GET /api/v1/runs lists run 1" \
    jcheck "d['runs'][0]['id'] == 1 and d['runs'][0]['version'] == '2.0.0' and d['runs'][0]['created_at'].endswith('Z')"
req -b "$jar" "$base/api/v1/runs?limit=abc"
ok "a bad limit: 400" test "$code" = 400
req -b "$jar" "$base/api/v1/runs/99"
ok "no run 99: 404" sh -c "[ $code = 404 ] && grep -q not_found '$t_dir/b'"
# Issue 12, item 5: the path is decoded once (by libmicrohttpd).
req -b "$jar" "$base/api/v1/runs/%2531"
ok "/api/v1/runs/%2531 is not run 1: 400 ($code)" test "$code" = 400
req "$base/%256detrics"
ok "/%256detrics is not /metrics: 400 ($code)" \
    sh -c "[ $code = 400 ] && ! grep -q shipgate_ '$t_dir/b'"
ok "the portal's 400 carries the security headers" \
    sh -c "grep -qi '^X-Frame-Options: DENY' '$t_dir/h' && grep -qi '^Content-Security-Policy:' '$t_dir/h'"
req -b "$jar" "$base/api/v1/runs/1"
ok "run detail: message, stages, audit" \
    jcheck "d['run']['message'] == 'portal <b>test</b>' and len(d['run']['stages']) == 3 and len(d['run']['audit']) > 0"
req -b "$jar" "$base/api/v1/apps"
ok "GET /api/v1/apps" jcheck "d['apps'][0]['environments'][0]['name'] == 'int'"

bjar="$t_dir/bob"
login bob demo "$bjar"
bcsrf=$(csrf_of "$bjar")
req -b "$bjar" -H "X-CSRF-Token: $bcsrf" -H 'Content-Type: application/json' \
    --data '{"env": "int"}' "$base/api/v1/runs/1/approve"
ok "bob may not approve Int: 403 with the engine's reason" \
    sh -c "[ $code = 403 ] && grep -q 'bob may not approve int: not in integrators' '$t_dir/b'"
req -b "$bjar" -H 'Content-Type: application/json' --data '{"env": "int"}' \
    "$base/api/v1/runs/1/approve"
ok "an API POST with a session but no X-CSRF-Token: 403" test "$code" = 403

# Pages' forms: reject without a comment, then approve.
req -b "$jar" --data "csrf=$csrf&env=int&comment=+" "$base/runs/1/reject"
ok "reject without a comment: refused with the message" \
    sh -c "[ $code = 400 ] && grep -q 'A comment is required to reject.' '$t_dir/b'"
req -b "$jar" --data "env=int&comment=ok" "$base/runs/1/approve"
ok "approve without the CSRF token: 403" test "$code" = 403
ok "run 1 still waits" run_stage 1 int awaiting_approval
req -b "$jar" -H "Origin: $base" --data "csrf=$csrf&env=int&comment=looks+good" "$base/runs/1/approve"
ok "alice approves Int from the page: 303 to the run" \
    sh -c "[ $code = 303 ] && grep -Eiq '^Location: /runs/1\\?done=approve' '$t_dir/h'"
stage_left() { ! run_stage 1 int awaiting_approval; }
ok "the stage moves on" t_wait_for 30 stage_left
req -b "$jar" "$base/api/v1/runs/1"
ok "the approval is recorded via the portal with its comment" \
    jcheck "any(a['user'] == 'alice' and a['via'] == 'portal' and a['comment'] == 'looks good' for a in d['run']['approvals'])"
req -b "$jar" --data "csrf=$csrf" "$base/runs/1/cancel"
ok "cancel without Confirm is asked again" sh -c "[ $code = 400 ] && grep -q 'Tick Confirm' '$t_dir/b'"

# --- API tokens ---------------------------------------------------------------
token=$("$SHIPGATECTL" -c "$cfg" token create carol --label ci 2>"$t_dir/err")
ok "shipgatectl token create prints a token" sh -c "echo '$token' | grep -Eq '^sgt_[0-9a-f]{64}$'"
req -H "Authorization: Bearer $token" "$base/api/v1/me"
ok "the token acts as carol" jcheck "d['user'] == 'carol'"
req -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"env": "int"}' "$base/api/v1/runs/1/retry"
ok "a token's POST needs no CSRF token; the engine refuses carol (403)" \
    sh -c "[ $code = 403 ] && grep -q 'carol may not' '$t_dir/b'"
req -H "Authorization: Bearer sgt_0000000000000000000000000000000000000000000000000000000000000000" "$base/api/v1/me"
ok "an unknown token: 401" test "$code" = 401
"$SHIPGATECTL" -c "$cfg" token list >"$t_dir/out" 2>&1
ok "token list shows it, never the secret" \
    sh -c "grep -q 'carol' '$t_dir/out' && ! grep -q '$token' '$t_dir/out'"
tid=$("$SHIPGATECTL" -c "$cfg" --json token list | sgtest get "d['tokens'][-1]['id']" -)
"$SHIPGATECTL" -c "$cfg" token revoke "$tid" >/dev/null 2>&1
req -H "Authorization: Bearer $token" "$base/api/v1/me"
ok "a revoked token: 401" test "$code" = 401
"$SHIPGATECTL" -c "$cfg" token create mallory >/dev/null 2>&1
ok "no token for a user the config does not know" test $? -eq 1

# --- Metrics --------------------------------------------------------------------
req "$base/metrics"
ok "/metrics: 200 text" sh -c "[ $code = 200 ] && grep -Eiq '^Content-Type: text/plain; version=0.0.4' '$t_dir/h'"
ok "/metrics: runs by status" body_has '^shipgate_runs\{status="running"\} 1'
ok "/metrics: AWS calls by service and operation" \
    body_has '^shipgate_aws_calls_total\{service="[a-z0-9]+",operation="[A-Za-z]+"\} [1-9]'
ok "/metrics: approval wait times" body_has '^shipgate_approval_wait_seconds_count\{env="int",decision="approve"\} 1'
ok "/metrics: the loop answers" body_has '^shipgate_loop_up 1'
ok "/metrics: notifications by status" \
    body_has '^shipgate_notifications\{status="failed"\} [0-9]+$'

# --- The identity header without trusted_proxies ------------------------------
req -H 'X-Forwarded-Email: dave@client.example' "$base/"
ok "an identity header is ignored when no proxy is trusted" test "$code" = 303

# --- /healthz fails when the database does ------------------------------------
if command -v sqlite3 >/dev/null; then
	v=$(sqlite3 "$t_dir/shipgate.db" 'PRAGMA user_version')
	sqlite3 "$t_dir/shipgate.db" 'PRAGMA busy_timeout = 5000; PRAGMA user_version = 999' >/dev/null
	req "$base/healthz"
	ok "/healthz: 503 with the reason when the schema changed under us" \
	    sh -c "[ $code = 503 ] && grep -q 'schema version' '$t_dir/b'"
	sqlite3 "$t_dir/shipgate.db" "PRAGMA busy_timeout = 5000; PRAGMA user_version = $v" >/dev/null
	req "$base/healthz"
	ok "/healthz: 200 again" test "$code" = 200
else
	t_skip "/healthz 503" "no sqlite3 command"
	t_skip "/healthz 200 again" "no sqlite3 command"
fi

# --- Sign-out and the rate limit --------------------------------------------------
req -b "$jar" -H "Origin: $base" --data "csrf=$csrf" "$base/logout"
ok "sign-out: 303 to /login, cookie cleared" \
    sh -c "[ $code = 303 ] && grep -Eiq '^Set-Cookie: sg_session=;.*Max-Age=0' '$t_dir/h'"
req -H "Cookie: sg_session=$sid" "$base/"
ok "the old session id no longer works" test "$code" = 303
cjar="$t_dir/carol"
login carol bad1 "$cjar"; login carol bad2 "$cjar"; login carol bad3 "$cjar"
login carol demo "$cjar"
ok "after 3 failures even the right password is refused: 429" \
    sh -c "[ $code = 429 ] && grep -q 'Too many failed sign-ins' '$t_dir/b'"
login dave demo "$t_dir/dave"
ok "the address is limited too" test "$code" = 429
ok "failures are logged" t_log_has 'sign-in failed user=carol'

# --- Reload keeps serving; stop -----------------------------------------------------
kill -HUP "$daemon_pid"
ok "reloaded" t_wait_for 10 t_log_has 'configuration reloaded'
req "$base/healthz"
ok "/healthz after the reload" test "$code" = 200
ok "shipgated stops cleanly" t_stop "$daemon_pid"
ok "no sanitizer report" sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$t_dir/shipgated.log'"

# --- HTTPS and a trusted sign-in proxy ----------------------------------------
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -keyout "$t_dir/key.pem" -out "$t_dir/cert.pem" >/dev/null 2>&1
	port=$(t_free_port)
	sed -e "s|^listen: .*|listen: 127.0.0.1:$port|" "$cfg" >"$t_dir/tls.yaml"
	printf 'tls: {certificate: %s, key: %s}\ntrusted_proxies: [127.0.0.1]\nidentity_header: X-Forwarded-Email\n' \
	    "$t_dir/cert.pem" "$t_dir/nokey.pem" >>"$t_dir/tls.yaml"
	"$SHIPGATED" --foreground --config "$t_dir/tls.yaml" >"$t_dir/tls.log" 2>&1
	ok "an unreadable TLS key stops the start, naming the file" \
	    sh -c "[ $? -ne 0 ] && grep -q 'nokey.pem' '$t_dir/tls.log'"
	sed -i "s|nokey.pem|key.pem|" "$t_dir/tls.yaml"
	: >"$t_dir/shipgated.log"
	t_start_daemon "$t_dir/tls.yaml"
	ok "shipgated is ready with TLS" t_wait_for 60 t_log_has 'portal listening.*tls=yes'
	tbase="https://127.0.0.1:$port"
	req -k "$tbase/healthz"
	ok "HTTPS: /healthz 200" test "$code" = 200
	ok "HTTPS: Strict-Transport-Security" hdr_has '^Strict-Transport-Security: max-age='
	req -k --data 'user=alice&password=demo' "$tbase/login"
	ok "HTTPS: the cookie is Secure" hdr_has '^Set-Cookie: sg_session=[0-9a-f]{64};.*; Secure'
	req -k -H 'X-Forwarded-Email: Bob@Client.example' "$tbase/api/v1/me"
	ok "the trusted proxy's header signs bob in" \
	    sh -c "[ $code = 200 ] && grep -q '\"user\": *\"bob\"' '$t_dir/b' && grep -qi '^Set-Cookie: sg_session=' '$t_dir/h'"
	req -k -H 'X-Forwarded-Email: eve@evil.example' "$tbase/api/v1/me"
	ok "an unknown user in the header: nobody" test "$code" = 401
	req -k -H 'X-Forwarded-Email: bob@client.example' \
	    -H 'X-Forwarded-Email: dave@client.example' "$tbase/api/v1/me"
	ok "two identity headers: 400, neither user ($code)" \
	    sh -c "[ $code = 400 ] && ! grep -qi '^Set-Cookie: sg_session=[0-9a-f]' '$t_dir/h'"
	ok "shipgated with TLS stops cleanly" t_stop "$daemon_pid"
	ok "no sanitizer report" sh -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$t_dir/shipgated.log'"
fi
t_done
