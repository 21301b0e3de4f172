#!/bin/sh
# The unit file is valid for systemd (systemd-analyze verify: exit 0 AND
# nothing on stderr, since unknown keys only warn) and well confined.
. "$top_srcdir/tests/lib.sh"
command -v systemd-analyze >/dev/null 2>&1 ||
    t_skip_all "systemd-analyze not installed"
t_tmpdir
unit="$t_dir/shipgated.service"
# ExecStart must name a binary that exists: point it at the built one.
# (Makefile.am makes the same substitutions, ConfigurationDirectory= as
# for a sysconfdir of /etc.)
sed -e "s|@sbindir@|$top_builddir/daemon|g" -e "s|@sysconfdir@|/etc|g" \
    -e "s|@configurationdirectory@|ConfigurationDirectory=shipgate|g" \
    "$top_srcdir/systemd/shipgated.service.in" >"$unit"
ok "the unit has no placeholder left" sh -c "! grep -Eq '@[a-z]+@' '$unit'"
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
# Idle until the configuration its commands read exists.
ok "ConditionPathExists= names the file ExecStart= reads" test \
    "$(sed -n 's/^ConditionPathExists=//p' "$unit")" = \
    "$(sed -n 's/^ExecStart=.*--config //p' "$unit")"
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
