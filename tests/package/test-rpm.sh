#!/bin/sh
# test-rpm.sh [TARBALL]: checks that rpm/shipgate.spec is complete by
# building the RPMs from a `make dist` tarball (made from this checkout
# when none is given) with `rpmbuild -ta`, as an Amazon Linux 2023 or
# RHEL user would, in a temporary _topdir.  Debian's rpmbuild differs
# from theirs in two ways, made up for here: --nodeps, since the spec's
# BuildRequires are RHEL's package names (the libraries are Debian's
# here), and the macros of RHEL's systemd-rpm-macros package, which
# Debian lacks, defined with RHEL's values (the scriptlet macros as
# markers checked below).  The packages built are inspected, never
# installed: this machine is left as it was.  Prints TAP.  Run by
# scripts/check after `make check`.
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

command -v rpmbuild >/dev/null 2>&1 ||
    bail "rpmbuild is missing (scripts/install-deps installs the rpm package)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-rpm.XXXXXX") || bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

if [ -z "$tarball" ]; then
	mkdir "$tmp/dist" && (cd "$tmp/dist" && "$top/configure" -q &&
	    make dist >/dev/null) >"$tmp/dist.log" 2>&1 ||
	    { tail -n 20 "$tmp/dist.log"; bail "make dist failed"; }
	tarball=$(ls "$tmp"/dist/shipgate-*.tar.gz)
fi
[ -f "$tarball" ] || bail "no tarball $tarball"
tv=$(tar -xzOf "$tarball" --wildcards '*/.tarball-version') ||
    bail "$tarball has no .tarball-version"
rv=$(sh "$top/build-aux/package-version" "$tv")

start=$(date +%s)
rpmbuild -ta --nodeps \
    --define "_topdir $tmp/rpmbuild" \
    --define "_smp_mflags -j$(nproc 2>/dev/null || echo 2)" \
    --define '_unitdir /usr/lib/systemd/system' \
    --define '_sysusersdir /usr/lib/sysusers.d' \
    --define '_tmpfilesdir /usr/lib/tmpfiles.d' \
    --define '_sharedstatedir /var/lib' \
    --define 'systemd_requires Requires(post): systemd' \
    --define 'systemd_post() SYSTEMD_POST %*' \
    --define 'systemd_preun() SYSTEMD_PREUN %*' \
    --define 'systemd_postun_with_restart() SYSTEMD_POSTUN_WITH_RESTART %*' \
    --define 'tmpfiles_create() TMPFILES_CREATE %*' \
    --define 'debug_package %{nil}' \
    "$tarball" >"$tmp/build.log" 2>&1
rc=$?
diag "rpmbuild: $(($(date +%s) - start)) s"
ok "rpmbuild -ta builds the packages from the tarball" test $rc -eq 0 ||
    diag "$(tail -n 30 "$tmp/build.log")"
ok "rpmbuild does not warn" sh -c "! grep -i '^warning' '$tmp/build.log'" ||
    diag "$(grep -i '^warning' "$tmp/build.log")"
rpm=$(ls "$tmp"/rpmbuild/RPMS/*/shipgate-"$rv"-1.*.rpm 2>/dev/null | head -n 1)
ok "the binary package is shipgate-$rv-1 (the tarball's version)" test -n "$rpm"
ok "the source package is built too" \
    test -f "$tmp/rpmbuild/SRPMS/shipgate-$rv-1.src.rpm"
[ -n "$rpm" ] || { echo "1..$n"; exit 1; }

rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
    "$rpm" >"$tmp/files" 2>/dev/null
for f in /usr/sbin/shipgated /usr/bin/shipgatectl \
    /usr/lib/systemd/system/shipgated.service \
    /usr/lib/sysusers.d/shipgate.conf /usr/lib/tmpfiles.d/shipgate.conf \
    /etc/shipgate/shipgate.yaml.example /usr/share/man/man8/shipgated.8 \
    /usr/share/man/man1/shipgatectl.1 /usr/share/man/man5/shipgate.yaml.5; do
	# (RHEL's rpmbuild compresses manual pages, Debian's does not.)
	ok "the package holds $f" grep -Eq " $f(\.gz)?\$" "$tmp/files"
done
ok "the example is root:shipgate, mode 640" \
    grep -q '^-rw-r----- root:shipgate /etc/shipgate/shipgate.yaml.example$' "$tmp/files"
ok "the state directory is shipgate's, mode 750" \
    grep -q '^drwxr-x--- shipgate:shipgate /var/lib/shipgate$' "$tmp/files"
ok "the example is a %config(noreplace) file" \
    sh -c "rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' '$rpm' 2>/dev/null |
	grep -q '^cn /etc/shipgate/shipgate.yaml.example\$'"
ok "no shipgate.yaml is shipped" sh -c "! grep -q ' /etc/shipgate/shipgate.yaml\$' '$tmp/files'"
# (RHEL's %_docdir_fmt is the name, Debian's rpm adds the version.)
ok "the documentation is shipped" grep -Eq ' /usr/share/doc/shipgate[^/]*/README$' "$tmp/files"
rpm -qp --scripts "$rpm" >"$tmp/scripts" 2>/dev/null
ok "%pre makes the shipgate user" grep -q 'useradd -r -g shipgate' "$tmp/scripts"
ok "%post makes the state directory and enables the unit" \
    sh -c "grep -q 'TMPFILES_CREATE /usr/lib/tmpfiles.d/shipgate.conf' '$tmp/scripts' &&
	grep -q 'SYSTEMD_POST shipgated.service' '$tmp/scripts'"
ok "%preun and %postun stop and restart the unit" \
    sh -c "grep -q 'SYSTEMD_PREUN shipgated.service' '$tmp/scripts' &&
	grep -q 'SYSTEMD_POSTUN_WITH_RESTART shipgated.service' '$tmp/scripts'"
rpm2archive - <"$rpm" 2>/dev/null |
    tar -xzOf - ./usr/lib/systemd/system/shipgated.service >"$tmp/unit" 2>/dev/null
ok "the unit runs /usr/sbin/shipgated on /etc/shipgate/shipgate.yaml" grep -qx \
    'ExecStart=/usr/sbin/shipgated --foreground --config /etc/shipgate/shipgate.yaml' \
    "$tmp/unit"
ok "the unit waits for that file" \
    grep -qx 'ConditionPathExists=/etc/shipgate/shipgate.yaml' "$tmp/unit"
echo "1..$n"
[ "$failed" -eq 0 ]
