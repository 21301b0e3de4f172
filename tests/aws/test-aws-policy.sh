#!/bin/sh
# Least privilege, proven from the code: the AWS operations the built
# shipgated lists (`shipgated --list-operations`) against what
# aws/shipgate-tools.yaml and aws/shipgate-deployer.yaml grant, per role,
# with the templates' references and Resource "*" checked
# (tests/aws/aws-policy.py says what, and why each exception).
. "$top_srcdir/tests/lib.sh"
[ -x "$SHIPGATED" ] || t_bail "$SHIPGATED is not built"
exec "$TEST_PYTHON" "$top_srcdir/tests/aws/aws-policy.py" \
    --shipgated "$SHIPGATED" --templates "$top_srcdir/aws"
