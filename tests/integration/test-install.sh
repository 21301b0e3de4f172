#!/bin/sh
# `make install` puts every file where the others expect it, for the
# prefix and sysconfdir this tree was configured with: the unit's
# commands and ConditionPathExists= name the installed program and the
# configuration the program reads by default, the example configuration
# is installed beside it (and never over the operator's), the sysusers.d
# and tmpfiles.d files come along, and the manual pages name the same
# paths.  Installed under DESTDIR, removed by `make uninstall`.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
dest="$t_dir/root"
make -s -C "$top_builddir" install DESTDIR="$dest" >"$t_dir/out" 2>&1
ok "make install DESTDIR= succeeds" test $? -eq 0 ||
    t_diag "$(tail -n 20 "$t_dir/out")"

# The configuration the program reads when none is named.
conf=$("$SHIPGATED" --help 2>&1 | sed -n 's/.*--config FILE.*(default \(.*\))$/\1/p')
ok "shipgated --help names its default configuration" test -n "$conf"
confdir=$(dirname "$conf")

unit=$(find "$dest" -name shipgated.service -type f | head -n 1)
ok "the unit is installed" test -n "$unit"
start=$(sed -n 's/^ExecStart=//p' "$unit")
bin=${start%% *}
ok "ExecStart= names the installed shipgated ($bin)" test -x "$dest$bin"
ok "ExecStart= reads the default configuration" \
    test "$(echo "$start" | sed -n 's/.*--config //p')" = "$conf"
ok "ExecStartPre= checks the same file" \
    grep -q "^ExecStartPre=$bin --check-config --config $conf\$" "$unit"
ok "ConditionPathExists= waits for that file" \
    grep -q "^ConditionPathExists=$conf\$" "$unit"
case $confdir in
/etc/*) ok "ConfigurationDirectory= is that directory" \
	    grep -q "^ConfigurationDirectory=${confdir#/etc/}\$" "$unit" ;;
*) ok "no ConfigurationDirectory= outside /etc" \
	    sh -c "! grep -q '^ConfigurationDirectory=' '$unit'" ;;
esac
ok "the unit has no placeholder left" sh -c "! grep -Eq '@[a-z]+@' '$unit'"

ex="$dest$confdir/shipgate.yaml.example"
ok "the example is installed beside the configuration" test -f "$ex"
ok "the example is mode 0640" test "$(stat -c %a "$ex" 2>/dev/null)" = 640
ok "no configuration is installed" test ! -e "$dest$conf"
ok "the example's paths are the configured ones" \
    grep -q "url_file: $confdir/slack.url" "$ex"

sysusers=$(find "$dest" -path '*/sysusers.d/shipgate.conf' -type f)
tmpfiles=$(find "$dest" -path '*/tmpfiles.d/shipgate.conf' -type f)
ok "the sysusers.d file is installed" test -n "$sysusers"
ok "it makes the user the unit runs as" \
    grep -q "^u $(sed -n 's/^User=//p' "$unit") " "$sysusers"
ok "the tmpfiles.d file is installed" test -n "$tmpfiles"
ok "it makes the unit's state directory, owned by its user" \
    grep -q "^d /var/lib/$(sed -n 's/^StateDirectory=//p' "$unit") 0750 shipgate shipgate" \
    "$tmpfiles"

for m in man1/shipgatectl.1 man5/shipgate.yaml.5 man8/shipgated.8; do
	f=$(find "$dest" -path "*/man/$m" -type f)
	ok "$m is installed and names $conf" grep -q "$conf" "$f"
done

# Installing again keeps the operator's configuration.
echo "operator's" >"$dest$conf"
make -s -C "$top_builddir" install DESTDIR="$dest" >"$t_dir/out" 2>&1
ok "make install again succeeds" test $? -eq 0
ok "it leaves the operator's configuration alone" \
    test "$(cat "$dest$conf")" = "operator's"
make -s -C "$top_builddir" uninstall DESTDIR="$dest" >"$t_dir/out" 2>&1
ok "make uninstall succeeds" test $? -eq 0
ok "it leaves only the operator's configuration" \
    test "$(find "$dest" -type f)" = "$dest$conf"
t_done
