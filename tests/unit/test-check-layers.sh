#!/bin/sh
# scripts/check-layers: the real daemon/ passes; a copy with an include
# that points up, or with a file no family claims, fails, and the
# failure names the file, the line and both ranks.
. "$top_srcdir/tests/lib.sh"

check="$top_srcdir/scripts/check-layers"
t_tmpdir

run_check() {
	"$TEST_PYTHON" "$check" "$1" >"$t_dir/out" 2>&1
}

out_has() {
	grep -Fq -- "$1" "$t_dir/out"
}

ok "the tree passes" run_check "$top_srcdir/daemon"
t_diag "$(cat "$t_dir/out")"

fresh_copy() {
	rm -rf "$t_dir/daemon"
	cp -R "$top_srcdir/daemon" "$t_dir/daemon"
	chmod -R u+w "$t_dir/daemon"
}

# The store (rank 1) reaching up into the portal (rank 7), on line 2.
fresh_copy
printf '/* planted */\n#include "portal.h"\n' >"$t_dir/daemon/store-planted.c"
ok "an upward include fails" eval '! run_check "$t_dir/daemon"'
ok "... naming the file, the line and both ranks" \
    out_has 'store-planted.c:2: #include "portal.h" points up: store (rank 1) -> portal (rank 7)'
t_diag "$(cat "$t_dir/out")"

# The same in a header of the aws core, inserted in an existing file.
fresh_copy
sed -i '1i #include "svc-cfn.h"' "$t_dir/daemon/aws-client.h"
ok "an upward include in an existing header fails" \
    eval '! run_check "$t_dir/daemon"'
ok "... named" out_has 'aws-client.h:1: #include "svc-cfn.h" points up: aws (rank 2) -> svc (rank 3)'

# Sideways and downward includes are allowed.
fresh_copy
printf '#include "svc-s3.h"\n#include "buf.h"\n' >"$t_dir/daemon/svc-planted.c"
ok "sideways and downward includes pass" run_check "$t_dir/daemon"

# A module no rule places.
fresh_copy
: >"$t_dir/daemon/mystery.c"
ok "a file without a family fails" eval '! run_check "$t_dir/daemon"'
ok "... named" out_has 'no family: mystery.c'

t_done
