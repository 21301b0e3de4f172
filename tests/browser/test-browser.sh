#!/bin/sh
# The portal in a real browser: Debian's chromium driven by playwright-core
# (npm, tests/browser/package.json) against shipgated and the fake AWS
# endpoint, both on 127.0.0.1 ports the kernel picks.  This script starts
# the servers (tests/lib.sh) and hands over to test-portal.js, which drops
# the releases, signs the demo users in and prints TAP.
#
# playwright-core is looked for in $SHIPGATE_NODE_MODULES (scripts/check
# sets it to the checkout's tests/browser/node_modules, which
# scripts/install-deps fills with `npm ci`), then beside this script.
# Screenshots go to BUILD/tests/browser/screenshots/; with
# SHIPGATE_UPDATE_SCREENSHOTS=1 the README's are also written to
# docs/screenshots/ in the source tree.
. "$top_srcdir/tests/lib.sh"

here=$top_srcdir/tests/browser
modules=${SHIPGATE_NODE_MODULES:-$here/node_modules}
chromium=${SHIPGATE_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1; then
	echo "Bail out! node is missing (scripts/install-deps installs it)"
	exit 1
fi
if [ ! -f "$modules/playwright-core/package.json" ]; then
	# `make distcheck` builds from a read-only copy of the source, where
	# nothing was installed: the only case where skipping is right.  The
	# mode bits tell (root may write whatever they say).
	if [ -z "$(find "$top_srcdir" -maxdepth 0 -perm -u=w)" ]; then
		t_skip_all "playwright-core not installed for this read-only" \
		    "source copy (set SHIPGATE_NODE_MODULES)"
	fi
	echo "Bail out! playwright-core is missing in $modules:" \
	    "run scripts/install-deps (npm ci in tests/browser)"
	exit 1
fi
if [ ! -x "$chromium" ]; then
	echo "Bail out! $chromium is missing (scripts/install-deps installs chromium)"
	exit 1
fi

t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }

# The demo configuration, as test-pipeline.sh: no image promotion (no
# registry runs behind the sandbox's ECR names); the portal's public URL
# is the address it listens on, so Origin/Referer checks accept the
# browser's requests.
cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
listen=$(sed -n 's/^listen: *//p' "$t_dir/demo.yaml")
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e "s|^public_url: .*|public_url: http://$listen|" \
    "$t_dir/demo.yaml" >"$cfg"
export SHIPGATE_ENGINE_POLL_MS=50
t_start_daemon "$cfg"
portal_up() {
	curl -s -o /dev/null -w '%{http_code}' "http://$listen/login" |
	    grep -q '^200$'
}
# The portal listens before the daemon says it is ready.
t_wait_for 60 t_log_has ' ready ' ||
    { echo "Bail out! shipgated did not get ready"; exit 1; }
if ! t_wait_for 10 portal_up; then
	echo "Bail out! the portal does not answer on http://$listen/login"
	sed 's/^/# /' "$t_dir/shipgated.log" | tail -n 30
	exit 1
fi

shots=$top_builddir/tests/browser/screenshots
mkdir -p "$shots"
SHIPGATE_PORTAL_URL=http://$listen \
SHIPGATE_FAKE_URL=$fake_url \
SHIPGATE_CONFIG=$cfg \
SHIPGATE_TEST_DIR=$t_dir \
SHIPGATE_SCREENSHOTS=$shots \
SHIPGATE_NODE_MODULES=$modules \
SHIPGATE_CHROMIUM=$chromium \
SHIPGATECTL=$SHIPGATECTL \
    node "$here/test-portal.js"
rc=$?
# test-portal.js printed its TAP lines without a plan and left its counts.
if [ -s "$t_dir/tap.count" ]; then
	read -r t_count t_failed <"$t_dir/tap.count"
else
	ok "test-portal.js ran to its end (exit $rc)" false
fi
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
[ "$t_failed" -eq 0 ] || sed 's/^/# daemon: /' "$t_dir/shipgated.log" | tail -n 60
t_done
