#!/bin/sh
# test-deb.sh [TARBALL]: builds shipgate's Debian package from a `make
# dist` tarball (made from this checkout when none is given) in a
# temporary directory, runs lintian on it, installs it on this machine
# with dpkg -i and checks the installation: the files where the unit
# expects them, the user and the state directory, `systemd-analyze
# verify` on the installed unit, `shipgated --check-config` as the
# service's user on the installed example once its placeholders are
# filled; then that removal keeps the configuration and the database and
# that purge removes them.  Prints TAP.  Needs root; refuses to run on a
# machine where shipgate is already installed or configured, and leaves
# the machine as it found it (the package purged, the test's files and
# a user it made removed), even when a check fails.  Run by
# scripts/check after `make check` (it takes a minute or two).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${1:-}

n=0
failed=0
ok() {
	name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		failed=$((failed + 1))
		return 1
	fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
bail() { echo "Bail out! $*"; exit 1; }
done_() { echo "1..$n"; [ "$failed" -eq 0 ]; }

[ "$(id -u)" -eq 0 ] || bail "test-deb.sh installs a package: run it as root"
for c in dpkg-buildpackage dh lintian systemd-analyze runuser openssl sqlite3; do
	command -v "$c" >/dev/null 2>&1 ||
	    bail "$c is missing (scripts/install-deps installs it)"
done
status=$(dpkg-query -W -f='${db:Status-Status}' shipgate 2>/dev/null || true)
case $status in
"" | not-installed) ;;
*) bail "the shipgate package is on this machine ($status): not touching it" ;;
esac
for d in /etc/shipgate /var/lib/shipgate /run/shipgate; do
	[ ! -e "$d" ] || bail "$d exists: a shipgate installation is here, not touching it"
done
user_before=no
getent passwd shipgate >/dev/null 2>&1 && user_before=yes
group_before=no
getent group shipgate >/dev/null 2>&1 && group_before=yes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-deb.XXXXXX") || bail "mktemp failed"
cleanup() {
	st=$(dpkg-query -W -f='${db:Status-Status}' shipgate 2>/dev/null || true)
	case $st in
	"" | not-installed) ;;
	*) dpkg --purge shipgate >"$tmp/cleanup.log" 2>&1 ||
	    echo "# test-deb.sh: dpkg --purge shipgate failed: $(tail -n 5 "$tmp/cleanup.log")" ;;
	esac
	# The operator's files the test made, which purge leaves by design.
	rm -f /etc/shipgate/shipgate.yaml /etc/shipgate/slack.url \
	    /etc/shipgate/smoke.pass /etc/shipgate/registry.pass
	rm -rf /etc/shipgate/tls /var/lib/shipgate /run/shipgate
	rmdir /etc/shipgate 2>/dev/null
	[ $user_before = yes ] || userdel shipgate 2>/dev/null
	[ $group_before = yes ] || groupdel shipgate 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- build from a copy: the checkout stays clean ----------------------------
if [ -z "$tarball" ]; then
	mkdir "$tmp/dist" && (cd "$tmp/dist" && "$top/configure" -q &&
	    make dist >/dev/null) >"$tmp/dist.log" 2>&1 ||
	    { tail -n 20 "$tmp/dist.log"; bail "make dist failed"; }
	tarball=$(ls "$tmp"/dist/shipgate-*.tar.gz)
fi
[ -f "$tarball" ] || bail "no tarball $tarball"
mkdir "$tmp/src" && tar -C "$tmp/src" -xzf "$tarball" || bail "cannot unpack $tarball"
src=$(ls -d "$tmp"/src/shipgate-*)
version=$(sh "$src/build-aux/package-version" "$(cat "$src/.tarball-version")")-1
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b -Jauto) >"$tmp/build.log" 2>&1
rc=$?
diag "dpkg-buildpackage: $(($(date +%s) - start)) s"
ok "dpkg-buildpackage -us -uc -b builds the package" test $rc -eq 0 ||
    diag "$(tail -n 30 "$tmp/build.log")"
deb="$tmp/src/shipgate_${version}_amd64.deb"
changes="$tmp/src/shipgate_${version}_amd64.changes"
ok "it is shipgate_${version}_amd64.deb" test -f "$deb"
[ -f "$deb" ] || { done_; exit 1; }

# --- lintian: no error, no warning that the overrides do not explain -------
start=$(date +%s)
lintian --fail-on error,warning --display-level '>=warning' \
    "$changes" >"$tmp/lintian.log" 2>&1
rc=$?
diag "lintian: $(($(date +%s) - start)) s"
ok "lintian reports no error and no unexplained warning" test $rc -eq 0
[ -s "$tmp/lintian.log" ] && diag "$(cat "$tmp/lintian.log")"
# Every override says why, on the comment lines just above it.
ok "every lintian override has a reason" awk '
	/^#/ { reason = 1; next }
	/^[ \t]*$/ { reason = 0; next }
	!reason { print "no reason above: " $0; bad = 1 }
	END { exit bad }' "$src/debian/shipgate.lintian-overrides"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/sbin/shipgated /usr/bin/shipgatectl \
    /lib/systemd/system/shipgated.service /usr/lib/sysusers.d/shipgate.conf \
    /usr/lib/tmpfiles.d/shipgate.conf /etc/shipgate/shipgate.yaml.example \
    /usr/share/man/man8/shipgated.8.gz /usr/share/man/man1/shipgatectl.1.gz \
    /usr/share/man/man5/shipgate.yaml.5.gz /usr/share/doc/shipgate/README.Debian \
    /usr/share/doc/shipgate/copyright; do
	ok "the package holds $f" grep -qx "$f" "$tmp/contents"
done
ok "the package holds the documentation (README, docs/)" \
    sh -c "grep -Eq '^/usr/share/doc/shipgate/README(\.gz)?\$' '$tmp/contents' &&
	grep -Eq '^/usr/share/doc/shipgate/release-format\.md(\.gz)?\$' '$tmp/contents'"
mkdir "$tmp/control" && dpkg-deb -e "$deb" "$tmp/control"
ok "the example configuration is a conffile" \
    grep -qx /etc/shipgate/shipgate.yaml.example "$tmp/control/conffiles"
ok "no shipgate.yaml is shipped (the unit waits for the operator's)" \
    sh -c "! grep -qx /etc/shipgate/shipgate.yaml '$tmp/contents'"

# --- install -----------------------------------------------------------------
dpkg -i "$deb" >"$tmp/install.log" 2>&1
rc=$?
ok "dpkg -i installs it" test $rc -eq 0 || diag "$(tail -n 20 "$tmp/install.log")"
ok "the shipgate user and group exist" \
    sh -c 'getent passwd shipgate >/dev/null && getent group shipgate >/dev/null'
ok "the user has no login shell" \
    sh -c 'case $(getent passwd shipgate | cut -d: -f7) in */nologin|*/false) ;; *) exit 1;; esac'
ok "the example is root:shipgate, mode 640" \
    test "$(stat -c '%U:%G %a' /etc/shipgate/shipgate.yaml.example 2>/dev/null)" = "root:shipgate 640"
ok "the state directory is shipgate's, mode 750" \
    test "$(stat -c '%U:%G %a' /var/lib/shipgate 2>/dev/null)" = "shipgate:shipgate 750"
ok "the unit is enabled" \
    test -L /etc/systemd/system/multi-user.target.wants/shipgated.service

# The files are where the installed unit expects them.
unit=/lib/systemd/system/shipgated.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
bin=${exec_start%% *}
conf=$(echo "$exec_start" | sed -n 's/.*--config //p')
ok "ExecStart= runs the installed shipgated ($bin)" test "$bin" = /usr/sbin/shipgated -a -x "$bin"
ok "ExecStart= reads /etc/shipgate/shipgate.yaml" test "$conf" = /etc/shipgate/shipgate.yaml
ok "ConditionPathExists= waits for it" grep -qx "ConditionPathExists=$conf" "$unit"
ok "ConfigurationDirectory= is its directory" grep -qx ConfigurationDirectory=shipgate "$unit"
ok "the example is beside it" test -f "$(dirname "$conf")/shipgate.yaml.example"
ok "shipgated's default configuration is the same file" \
    sh -c "/usr/sbin/shipgated --help 2>&1 | grep -qF '(default $conf)'"
state=/var/lib/$(sed -n 's/^StateDirectory=//p' "$unit")
run=/run/$(sed -n 's/^RuntimeDirectory=//p' "$unit")
ok "the example's database is in StateDirectory= ($state)" \
    grep -q "^database: $state/" /etc/shipgate/shipgate.yaml.example
ok "the example's control socket is in RuntimeDirectory= ($run)" \
    grep -q "^control_socket: $run/" /etc/shipgate/shipgate.yaml.example
ok "User= is the user sysusers.d makes" \
    grep -q "^u $(sed -n 's/^User=//p' "$unit") " /usr/lib/sysusers.d/shipgate.conf

# --man=no: verify would ask man(1), which a minimal system may lack;
# the pages Documentation= names are looked for below instead.
systemd-analyze verify --man=no "$unit" >"$tmp/verify.out" 2>"$tmp/verify.err"
ok "systemd-analyze verify accepts the installed unit" test $? -eq 0
ok "systemd-analyze verify prints no warning" test ! -s "$tmp/verify.err"
[ -s "$tmp/verify.err" ] && diag "$(cat "$tmp/verify.err")"
for page in $(sed -n 's/^Documentation=//p' "$unit"); do
	p=${page#man:}
	sec=${p##*(}
	sec=${sec%)}
	ok "Documentation= $page is installed" \
	    test -f "/usr/share/man/man$sec/${p%(*}.$sec.gz"
done

# --- the operator's configuration, from the example --------------------------
# Placeholders: the secret files the example names (the service user's,
# mode 600) and the variable its check reads.
install -m 640 -o root -g shipgate /etc/shipgate/shipgate.yaml.example "$conf"
install -d -m 750 -o root -g shipgate /etc/shipgate/tls
(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -subj /CN=shipgate.test -days 2 -keyout /etc/shipgate/tls/key.pem \
    -out /etc/shipgate/tls/cert.pem) >"$tmp/openssl.log" 2>&1
for f in slack.url smoke.pass registry.pass; do
	echo "placeholder-$f" >"/etc/shipgate/$f"
done
chown shipgate:shipgate /etc/shipgate/tls/key.pem /etc/shipgate/tls/cert.pem \
    /etc/shipgate/slack.url /etc/shipgate/smoke.pass /etc/shipgate/registry.pass
chmod 600 /etc/shipgate/tls/key.pem /etc/shipgate/slack.url \
    /etc/shipgate/smoke.pass /etc/shipgate/registry.pass
runuser -u shipgate -- env SMOKE_LOGIN=smoke \
    /usr/sbin/shipgated --check-config --config "$conf" >"$tmp/check.out" 2>&1
ok "shipgated --check-config, as the service's user, accepts the filled example" test $? -eq 0 ||
    diag "$(cat "$tmp/check.out")"
# shipgated, run as the unit runs it, makes its database in the state
# directory before anything else (here it stops right after: the
# example's AWS profile is not on this machine; bounded all the same).
timeout 30 runuser -u shipgate -- env SMOKE_LOGIN=smoke \
    /usr/sbin/shipgated --foreground --config "$conf" >"$tmp/run.out" 2>&1
ok "shipgated, as the service's user, makes its database in $state" \
    sh -c "sqlite3 '$state/shipgate.db' .tables 2>/dev/null | grep -qw runs" ||
    diag "$(cat "$tmp/run.out")"
runuser -u shipgate -- sqlite3 "$state/shipgate.db" \
    'CREATE TABLE kept(x); INSERT INTO kept VALUES (42);' >/dev/null 2>&1
conf_sum=$(sha256sum "$conf")

# Installing again (as an upgrade does) keeps the operator's configuration
# and puts the example's owner and mode back.
dpkg -i "$deb" >"$tmp/reinstall.log" 2>&1
ok "dpkg -i again (an upgrade) succeeds" test $? -eq 0 ||
    diag "$(tail -n 20 "$tmp/reinstall.log")"
ok "it keeps the operator's configuration" \
    test "$(sha256sum "$conf" 2>/dev/null)" = "$conf_sum"
ok "the example is still root:shipgate, mode 640" \
    test "$(stat -c '%U:%G %a' /etc/shipgate/shipgate.yaml.example 2>/dev/null)" = "root:shipgate 640"

# --- removal keeps the configuration and the database -----------------------
dpkg -r shipgate >"$tmp/remove.log" 2>&1
ok "dpkg -r removes it" test $? -eq 0 || diag "$(tail -n 20 "$tmp/remove.log")"
ok "the programs are gone" test ! -e /usr/sbin/shipgated -a ! -e /usr/bin/shipgatectl
ok "the configuration is kept, unchanged" test "$(sha256sum "$conf" 2>/dev/null)" = "$conf_sum"
ok "the example (a conffile) is kept" test -f /etc/shipgate/shipgate.yaml.example
ok "the database is kept" \
    test "$(sqlite3 "$state/shipgate.db" 'SELECT x FROM kept' 2>/dev/null)" = 42 -a \
    "$(sqlite3 "$state/shipgate.db" 'SELECT count(*) FROM runs' 2>/dev/null)" = 0
ok "dpkg lists the package as config-files" \
    test "$(dpkg-query -W -f='${db:Status-Status}' shipgate 2>/dev/null)" = config-files

# --- purge removes them --------------------------------------------------------
# The secret files are the operator's: purge leaves them (tls/ is left to
# check that), the others go first.
rm -f /etc/shipgate/slack.url /etc/shipgate/smoke.pass /etc/shipgate/registry.pass
dpkg --purge shipgate >"$tmp/purge.log" 2>&1
ok "dpkg --purge purges it" test $? -eq 0 || diag "$(tail -n 20 "$tmp/purge.log")"
ok "the configuration is gone" test ! -e "$conf"
ok "the example is gone" test ! -e /etc/shipgate/shipgate.yaml.example
ok "the database and its directory are gone" test ! -e "$state"
ok "the unit is no longer enabled" \
    test ! -e /etc/systemd/system/multi-user.target.wants/shipgated.service
ok "the operator's other files in /etc/shipgate are left" test -f /etc/shipgate/tls/key.pem
ok "dpkg no longer knows the package" \
    sh -c "case \$(dpkg-query -W -f='\${db:Status-Status}' shipgate 2>/dev/null) in ''|not-installed) ;; *) exit 1;; esac"
done_
