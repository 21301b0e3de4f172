#!/bin/sh
# scripts/demo --ci, as a newcomer runs it (issue 16): the release goes
# through the whole chain, and at step 8 its images arrive in the Prod
# account's registry digest for digest.  What is in Prod's registry is
# read from its own store after the demo, not from what the demo says;
# the demo's registries, fake AWS and shipgated are gone when it ends.
. "$top_srcdir/tests/lib.sh"
for b in /usr/bin/docker-registry /usr/bin/skopeo; do
	[ -x "$b" ] || t_skip_all "$b is not installed"
done
t_tmpdir
out="$t_dir/demo.out"
demo="$t_dir/demo"
# Bounded: every wait of the demo is, and timeout(1) stops it (SIGTERM:
# its trap stops what it started) if the whole takes too long.
SHIPGATE_DEMO_BUILD="$top_builddir" SHIPGATE_DEMO_DIR="$demo" \
    timeout 400 sh "$top_srcdir/scripts/demo" --ci >"$out" 2>&1
rc=$?
t_diag "$(sed -n '/^==== 8\./,/^==== 9\./p' "$out")"
ok "scripts/demo --ci exits 0" test "$rc" -eq 0 ||
    t_diag "$(tail -n 40 "$out")"

ok "it prints the chain's steps 1 to 10, in order" "$TEST_PYTHON" -c "
import re, sys
steps = [int(m) for m in re.findall(r'^==== (\d+)\. ', open(sys.argv[1]).read(), re.M)]
sys.exit(0 if steps == list(range(1, 11)) else 1)" "$out"

# tag_link REG REPO TAG: the digest the registry's store holds for the tag.
tag_link() {
	cat "$demo/$1-data/docker/registry/v2/repositories/$2/_manifests/tags/$3/current/link"
}
# pushed IMAGE: the digest of the OCI layout the sandbox wrote for it.
pushed() {
	"$TEST_PYTHON" -c "
import json, sys
print(json.load(open(sys.argv[1]))['oci_images'][sys.argv[2]]['digest'])" \
	    "$demo/sandbox.json" "$1"
}
for img in billing/web billing/worker; do
	want=$(pushed "$img:1.4.2")
	ok "$img:1.4.2 was pushed into Int's registry as the sandbox built it" \
	    test "$(tag_link intreg "$img" 1.4.2)" = "$want"
	ok "$img:1.4.2 is in Prod's registry with the same digest" \
	    test "$(tag_link prodreg "$img" 1.4.2)" = "$want"
	ok "the demo says so for $img" \
	    grep -qF "  $img:1.4.2 in Prod: $want, the same digest as in Int" "$out"
	# By tag, or by digest once the release pins it.
	ok "shipgated recorded $img's copy at step 8" sh -c "
	    sed -n '/^==== 8\./,/^==== 9\./p' '$out' |
	    grep -A2 -E '^      $img(:1\.4\.2|@$want): copied' |
	    grep -qF 'at the destination $want'"
done
ok "a manifest of each platform of billing/web's index is in Prod's registry" \
    "$TEST_PYTHON" -c "
import json, os, sys
d, idx = sys.argv[1], sys.argv[2]
blob = lambda h: os.path.join(d, 'docker/registry/v2/blobs/sha256', h[7:9], h[7:], 'data')
m = json.load(open(blob(idx)))['manifests']
sys.exit(0 if len(m) == 2 and all(os.path.exists(blob(x['digest'])) for x in m) else 1)" \
    "$demo/prodreg-data" "$(pushed billing/web:1.4.2)"
ok "the run succeeded" grep -q '^run 1: billing 1.4.2, succeeded' "$out"

# What it started is stopped: the registries, their ECR stand-ins and
# the fake AWS endpoint answer no more.
ports=$(sed -n -e 's/.*a registry on 127\.0\.0\.1:\([0-9]*\), reached through http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1 \2/p' \
    -e 's|^demo: fake AWS endpoint on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$out")
ok "the demo names its registries, their stand-ins and the fake" \
    test "$(echo $ports | wc -w)" -eq 5
stopped=0
for p in $ports; do
	if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$p/"; then
		t_diag "port $p still answers"
		stopped=1
	fi
done
ok "they are stopped when the demo ends" test "$stopped" -eq 0
ok "no sanitizer report in shipgated's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$demo/shipgated.log'"
t_done
