#!/bin/sh
# The chaos campaign, short (tests/chaos/README.md): 5 apps, 30 releases,
# three minutes of kills, AWS faults and storage faults, then a bounded
# drain and every invariant checked.  A violation is `not ok`.  The seed
# is printed; CHAOS_SEED replays one, CHAOS_SECONDS, CHAOS_APPS and
# CHAOS_RELEASES change the size (`make soak` runs the long one).
: "${top_srcdir:?top_srcdir must be set (make check sets it)}"
: "${top_builddir:?top_builddir must be set (make check sets it)}"
TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
umask 077
set -- --builddir "$top_builddir" \
    --seconds "${CHAOS_SECONDS:-180}" --apps "${CHAOS_APPS:-5}" \
    --releases "${CHAOS_RELEASES:-30}" --drain "${CHAOS_DRAIN:-600}"
[ -z "$CHAOS_SEED" ] || set -- "$@" --seed "$CHAOS_SEED"
exec "$TEST_PYTHON" "$top_srcdir/tests/chaos/chaos.py" "$@"
