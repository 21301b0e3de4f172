#!/bin/sh
# The unit file is valid for systemd (systemd-analyze verify: exit 0 AND
# nothing on stderr, since unknown keys only warn) and well confined.
. "$top_srcdir/tests/lib.sh"
command -v systemd-analyze >/dev/null 2>&1 ||
    t_skip_all "systemd-analyze not installed"
t_tmpdir
unit="$t_dir/shipgated.service"
# ExecStart must name a binary that exists: point it at the built one.
sed -e "s|@sbindir@|$top_builddir/daemon|g" -e "s|@sysconfdir@|/etc|g" \
    "$top_srcdir/systemd/shipgated.service.in" >"$unit"
systemd-analyze verify --man=no "$unit" >"$t_dir/out" 2>"$t_dir/err"
ok "systemd-analyze verify exits 0" test $? -eq 0
ok "systemd-analyze verify prints no warning" test ! -s "$t_dir/err"
[ -s "$t_dir/err" ] && t_diag "$(cat "$t_dir/err")"
for key in Type=notify WatchdogSec= Restart=on-failure User=shipgate \
    StateDirectory=shipgate ConfigurationDirectory=shipgate \
    ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
    'CapabilityBoundingSet=$' 'ExecStartPre=.*--check-config' \
    'ExecReload=.*--check-config'; do
	ok "the unit sets $key" grep -Eq "^$key" "$unit"
done
ok "the unit raises the file limit (LimitNOFILE=8192)" \
    grep -q '^LimitNOFILE=8192$' "$unit"
# The control socket tells operators apart by the peer's uid, which a
# private user namespace would turn into nobody for all of them.
ok "the unit has no PrivateUsers=" sh -c "! grep -Eq '^PrivateUsers=' '$unit'"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
t_diag "exposure score: ${score:-unknown}"
ok "systemd-analyze security rates the exposure below 2.0" \
    "$TEST_PYTHON" -c "import sys; sys.exit(0 if float('${score:-99}') < 2.0 else 1)"
t_done
