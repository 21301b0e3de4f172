#!/bin/sh
# shipgated --list-operations: the contract of shipgated(8) that the
# least-privilege policies are checked against.  One line per operation,
# ACTION<TAB>ACCOUNT<TAB>RESOURCE, ACCOUNT one of tools, environment,
# registry; sorted, no duplicates; no configuration needed.
# (tests/unit/test-iam checks that every row of every table is listed.)
. "$top_srcdir/tests/lib.sh"
t_tmpdir
out="$t_dir/ops"
"$SHIPGATED" --list-operations --config /nonexistent >"$out" 2>"$t_dir/err"
ok "--list-operations exits 0 without a configuration" test $? -eq 0
ok "--list-operations prints nothing on stderr" test ! -s "$t_dir/err"
ok "--list-operations prints lines" test -s "$out"
ok "every line is ACTION<TAB>ACCOUNT<TAB>RESOURCE" awk -F '\t' '
    NF != 3 || $1 !~ /^[a-z0-9]+:[A-Za-z0-9]+$/ ||
    $2 !~ /^(tools|environment|registry)$/ || $3 == "" { bad = 1; print }
    END { exit bad }' "$out"
LC_ALL=C sort -u "$out" >"$t_dir/sorted"
ok "the lines are sorted (bytewise), each once" cmp -s "$out" "$t_dir/sorted"
tab=$(printf '\t')
for line in \
    "cloudformation:CreateChangeSet${tab}environment${tab}stack" \
    "cloudformation:DescribeChangeSet${tab}environment${tab}change-set" \
    "ecs:DescribeServices${tab}environment${tab}service" \
    "ecr:BatchGetImage${tab}registry${tab}repository" \
    "ecr:CompleteLayerUpload${tab}registry${tab}repository" \
    "s3:GetObject${tab}tools${tab}object" \
    "s3:ListBucket${tab}tools${tab}bucket" \
    "sqs:ChangeMessageVisibility${tab}tools${tab}queue" \
    "sts:AssumeRole${tab}tools${tab}role" \
    "ses:SendEmail${tab}tools${tab}identity"; do
	ok "listed: $(printf '%s' "$line" | tr '\t' ' ')" \
	    grep -qxF "$line" "$out"
done
ok "the help names --list-operations" sh -c \
    "'$SHIPGATED' --help | grep -q -- --list-operations"
t_done
