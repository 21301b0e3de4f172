#!/bin/sh
# Sign-in through a real OpenID provider (issue 17): npm's oidc-provider
# (tests/browser/oidc-provider.mjs) on 127.0.0.1, shipgated configured
# with auth.oidc for it, the fake AWS endpoint with the demo sandbox, and
# Debian's chromium driven by playwright-core through the provider's
# login and consent pages (test-oidc.js).  Afterwards: the people signed
# in are listed by shipgatectl people list, via oidc; no client secret,
# code or token in the daemon's log or database.
. "$top_srcdir/tests/lib.sh"

here=$top_srcdir/tests/browser
modules=${SHIPGATE_NODE_MODULES:-$here/node_modules}
chromium=${SHIPGATE_CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null 2>&1 ||
    t_bail "node is missing (scripts/install-deps installs it)"
for m in playwright-core oidc-provider; do
	if [ ! -f "$modules/$m/package.json" ]; then
		# As test-browser.sh: only distcheck's read-only copy skips.
		if [ -z "$(find "$top_srcdir" -maxdepth 0 -perm -u=w)" ]; then
			t_skip_all "$m not installed for this read-only" \
			    "source copy (set SHIPGATE_NODE_MODULES)"
		fi
		t_bail "$m is missing in $modules: run scripts/install-deps" \
		    "(npm ci in tests/browser)"
	fi
done
[ -x "$chromium" ] ||
    t_bail "$chromium is missing (scripts/install-deps installs chromium)"

t_tmpdir
t_start_fake --step-delay 0.05 || t_bail "the fake AWS endpoint did not start"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || t_bail "sandbox set-up failed"

t_demo_config "$t_dir/demo.yaml"
listen=$(sed -n 's/^listen: *//p' "$t_dir/demo.yaml")
portal=http://$listen
op_port=$(t_free_port)
issuer=http://127.0.0.1:$op_port
secret=oidc-client-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$secret" >"$t_dir/oidc.secret"
chmod 600 "$t_dir/oidc.secret"

# The provider, with shipgate's client registered.
SHIPGATE_NODE_MODULES=$modules node "$here/oidc-provider.mjs" "$op_port" \
    "$portal" "$t_dir/oidc.secret" >"$t_dir/provider.log" 2>&1 &
op_pid=$!
t_pids="$t_pids $op_pid"
t_wait_for 30 grep -q '^ready ' "$t_dir/provider.log" || {
	sed 's/^/# provider: /' "$t_dir/provider.log"
	t_bail "oidc-provider did not start"
}

cfg="$t_dir/shipgate.yaml"
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e "s|^public_url: .*|public_url: $portal|" \
    "$t_dir/demo.yaml" >"$cfg"
cat >>"$cfg" <<EOC
auth:
  oidc:
    issuer: "$issuer"
    client_id: shipgate
    client_secret_file: $t_dir/oidc.secret
    scopes: [openid, email, groups]
    groups:
      integrator-staff: integrators
      client-staff: project-team
EOC
chmod 600 "$cfg"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
portal_up() {
	curl -s -o /dev/null -w '%{http_code}' "$portal/login" | grep -q '^200$'
}
t_wait_for 60 t_log_has ' ready ' || t_bail "shipgated did not get ready"
t_wait_for 10 portal_up || t_bail "the portal does not answer on $portal/login"

shots=$top_builddir/tests/browser/screenshots
mkdir -p "$shots"
SHIPGATE_PORTAL_URL=$portal \
SHIPGATE_OIDC_ISSUER=$issuer \
SHIPGATE_OIDC_PROVIDER_PID=$op_pid \
SHIPGATE_DAEMON_PID=$daemon_pid \
SHIPGATE_DAEMON_LOG=$t_dir/shipgated.log \
SHIPGATE_OIDC_PROVIDER_ARGS="$op_port $portal $t_dir/oidc.secret" \
SHIPGATE_FAKE_URL=$fake_url \
SHIPGATE_CONFIG=$cfg \
SHIPGATE_TEST_DIR=$t_dir \
SHIPGATE_SCREENSHOTS=$shots \
SHIPGATE_NODE_MODULES=$modules \
SHIPGATE_CHROMIUM=$chromium \
SHIPGATECTL=$SHIPGATECTL \
    node "$here/test-oidc.js"
rc=$?
if [ -s "$t_dir/tap.count" ]; then
	read -r t_count t_failed <"$t_dir/tap.count"
else
	ok "test-oidc.js ran to its end (exit $rc)" false
fi
# The directory of people (sql/010_people.sql): kept, via oidc.
"$SHIPGATECTL" -c "$cfg" people list >"$t_dir/people.out" 2>&1
ok "shipgatectl people list has alice, via oidc, in integrators" \
    grep -Eq '^alice@integrator.example +oidc .* integrators$' "$t_dir/people.out"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
ok "the daemon logged the sign-in via oidc" \
    grep -q 'signed in user=alice@integrator.example via=oidc' "$t_dir/shipgated.log"
# What the browser saw pass: the codes of the callbacks (test-oidc.js
# wrote them), and the client secret.
: >"$t_dir/secrets"
printf '%s\n' "$secret" >>"$t_dir/secrets"
[ -s "$t_dir/codes" ] && cat "$t_dir/codes" >>"$t_dir/secrets"
ok "test-oidc.js saw the codes the provider gave" test -s "$t_dir/codes"
ok "no client secret or code in the daemon's log" \
    sh -c "! grep -F -f '$t_dir/secrets' '$t_dir/shipgated.log'"
db=$(sed -n 's/^database: *//p' "$cfg")
ok "no client secret or code in the database" \
    sh -c "! cat '$db'* | grep -a -F -q -f '$t_dir/secrets'"
ok "no ID token (a JWT) in the database" \
    sh -c "! cat '$db'* | grep -a -E -q 'eyJ[A-Za-z0-9_-]{10,}\\.eyJ'"
[ "$t_failed" -eq 0 ] || sed 's/^/# daemon: /' "$t_dir/shipgated.log" | tail -n 60
t_done
