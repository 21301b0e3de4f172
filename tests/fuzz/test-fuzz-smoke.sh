#!/bin/sh
# The fuzzing machinery, in `make check`: tests/fuzz/run must pass a target
# that survives its corpus and fail (keeping the input) one that crashes,
# both built here from a ten-line target.  When `make fuzz` has built the
# real targets, each also replays its seed corpus once.  Skips when clang
# cannot build libFuzzer targets.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
cc=${FUZZ_CC:-clang}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-fuzz-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cat > "$tmp/fuzz-smoke.c" <<'EOF'
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long);

/*
 * Crashes on the input "CRASH!" only, found through a hash so that
 * libFuzzer's comparison tracing cannot lead the fuzzer to it.
 */
int
LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)
{
	uint32_t	h = 2166136261u;
	unsigned long	i;

	for (i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	if (n == 6 && h == HASH)
		abort();
	return (0);
}
EOF
hash=$(printf 'CRASH!' | od -An -tu1 | tr -s ' ' '\n' | grep . |
    { h=2166136261; while read -r b; do h=$(( ((h ^ b) * 16777619) & 4294967295 )); done; echo "$h"; })
if ! "$cc" -fsanitize=fuzzer,address -DHASH="${hash}u" "$tmp/fuzz-smoke.c" \
    -o "$tmp/fuzz-smoke" >"$tmp/cc.log" 2>&1; then
	why="$cc cannot build libFuzzer targets (clang, libclang-rt-14-dev)"
	# As tests/lib.sh's t_skip_all (this script runs without it).
	if [ -n "${SHIPGATE_REQUIRE_ALL:-}" ] && [ "$SHIPGATE_REQUIRE_ALL" != 0 ]; then
		echo "Bail out! $why (SHIPGATE_REQUIRE_ALL is set: required)"
		exit 1
	fi
	echo "1..0 # SKIP $why"
	exit 0
fi

n=0
fail=0
t() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

run=$top_srcdir/tests/fuzz/run
mkdir -p "$tmp/src/tests/fuzz/corpus/smoke" "$tmp/work"
printf 'harmless' > "$tmp/src/tests/fuzz/corpus/smoke/seed"

(cd "$tmp/work" && FUZZ_SECONDS=1 sh "$run" "$tmp/src" "$tmp/fuzz-smoke") \
    > "$tmp/ok.out" 2>&1
rc=$?
t $rc "run passes a target that does not crash"
grep -q '^ok 1 - fuzz-smoke: [0-9]* runs in 1 s, corpus 1 -> ' "$tmp/ok.out"
t $? "run reports runs and corpus growth"
[ -f "$tmp/src/tests/fuzz/corpus/smoke/seed" ] &&
    [ "$(ls "$tmp/src/tests/fuzz/corpus/smoke" | wc -l)" -eq 1 ]
t $? "run fuzzes a copy: the committed corpus is left alone"

printf 'CRASH!' > "$tmp/src/tests/fuzz/corpus/smoke/crash"
(cd "$tmp/work" && FUZZ_SECONDS=1 sh "$run" "$tmp/src" "$tmp/fuzz-smoke") \
    > "$tmp/crash.out" 2>&1
rc=$?
[ "$rc" -ne 0 ]
t $? "run fails on a crash"
grep -q '^not ok 1 - fuzz-smoke' "$tmp/crash.out"
t $? "and says which target"
ls "$tmp/work/tests/fuzz/crashes/" 2>/dev/null | grep -q '^fuzz-smoke-crash-'
t $? "and keeps the crashing input"
grep -q '^# replay: ' "$tmp/crash.out"
t $? "and prints how to replay it"
[ "$fail" -eq 0 ] || sed 's/^/# /' "$tmp/ok.out" "$tmp/crash.out"

# The real targets, when `make fuzz` (or `make fuzz-build`) built them.
for f in "$top_builddir"/tests/fuzz/fuzz-*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$top_srcdir/tests/fuzz/corpus/${name#fuzz-}
	"$f" -runs=0 "$corpus" > "$tmp/replay.log" 2>&1
	rc=$?
	t $rc "$name replays its $(ls "$corpus" | wc -l) seeds"
	[ "$rc" -eq 0 ] || tail -n 20 "$tmp/replay.log" | sed 's/^/# /'
done
[ "$n" -gt 7 ] || echo "# the real fuzz targets are not built: make fuzz"
echo "1..$n"
exit "$fail"
