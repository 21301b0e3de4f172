#!/bin/sh
# The templates of aws/ through a CloudFormation validator nobody here
# wrote: npm's cfn-lint (tests/aws/package.json, pinned by its lock; it
# bundles a CloudFormation resource specification and runs offline).
# Each template with its defaults and with the other branches of its
# conditions; a copy with a misspelt property must be refused, so that
# the validator is known to be looking.
#
# cfn-lint is looked for in $SHIPGATE_AWS_NODE_MODULES, else beside this
# script (scripts/install-deps runs `npm ci` there).
. "$top_srcdir/tests/lib.sh"

here=$top_srcdir/tests/aws
modules=${SHIPGATE_AWS_NODE_MODULES:-$here/node_modules}
if ! command -v node >/dev/null 2>&1; then
	t_bail "node is missing (scripts/install-deps installs it)"
fi
lint=$modules/cfn-lint/lib/index.js
if [ ! -f "$lint" ]; then
	# `make distcheck` builds from a read-only copy of the source, where
	# nothing was installed: the only case where skipping is right.
	if [ -z "$(find "$top_srcdir" -maxdepth 0 -perm -u=w)" ]; then
		t_skip_all "cfn-lint not installed for this read-only source" \
		    "copy (set SHIPGATE_AWS_NODE_MODULES)"
	fi
	t_bail "cfn-lint is missing in $modules: run scripts/install-deps" \
	    "(npm ci in tests/aws)"
fi
t_tmpdir

# lint NAME FILE [PARAMS]: cfn-lint's verdict, its report kept.
lint() {
	out="$t_dir/$(basename "$2").$t_count.out"
	if [ -n "${3:-}" ]; then
		node "$lint" validate -p "$3" "$2" >"$out" 2>&1
	else
		node "$lint" validate "$2" >"$out" 2>&1
	fi
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q 'Template valid!' "$out"; then
		t_diag "$(sed 's/\x1b\[[0-9;]*m//g' "$out")"
		return 1
	fi
	return 0
}

tools=$top_srcdir/aws/shipgate-tools.yaml
deployer=$top_srcdir/aws/shipgate-deployer.yaml
ok "cfn-lint accepts shipgate-tools.yaml" lint tools "$tools"
ok "cfn-lint accepts shipgate-tools.yaml for a second app with SES mail" \
    lint tools "$tools" "CreateBastionRole=false,SesIdentity=example.com,ArtifactsPrefix=templates/,UploaderPrincipalArn=arn:aws:iam::444444444444:role/integrator"
ok "cfn-lint accepts shipgate-deployer.yaml" lint deployer "$deployer"
ok "cfn-lint accepts shipgate-deployer.yaml for the Prod registry" \
    lint deployer "$deployer" "RegistryAccess=push,RepositoryPattern=billing/*,ArtifactsBucketName=shipgate-artifacts,ServiceNamePattern=billing-*,StackResourcePolicyArn=arn:aws:iam::111111111111:policy/billing-stack"
ok "cfn-lint accepts shipgate-deployer.yaml for the Int registry" \
    lint deployer "$deployer" "RegistryAccess=pull,RepositoryPattern=billing/*"

# The validator looks: a misspelt property is refused, at the top of a
# template and in its last resource (after every Fn::If it resolved).
# refused FILE PARAMS WORD: cfn-lint refuses FILE and names WORD.
refused() {
	! node "$lint" validate -p "$2" "$1" >"$1.out" 2>&1 &&
	    grep -q "$3" "$1.out"
}
sed 's/VersioningConfiguration:/VersioningConfigration:/' "$tools" \
    >"$t_dir/misspelt-top.yaml"
ok "cfn-lint refuses a misspelt property at the top, naming it" \
    refused "$t_dir/misspelt-top.yaml" "SesIdentity=" VersioningConfigration
sed 's/PolicyName: !Sub "shipgate-${AppName}-mail"/PolicyNaem: !Sub "shipgate-${AppName}-mail"/' \
    "$tools" >"$t_dir/misspelt-end.yaml"
ok "cfn-lint refuses a misspelt property in the tools template's last resource" \
    refused "$t_dir/misspelt-end.yaml" "SesIdentity=example.com,UploaderPrincipalArn=arn:aws:iam::444444444444:role/integrator" PolicyNaem
sed 's/PolicyName: cloudformation-reads-templates/PolicyNaem: cloudformation-reads-templates/' \
    "$deployer" >"$t_dir/misspelt-dep.yaml"
ok "cfn-lint refuses a misspelt property in the deployer template's last resource" \
    refused "$t_dir/misspelt-dep.yaml" "RegistryAccess=push,RepositoryPattern=billing/*,ArtifactsBucketName=shipgate-artifacts" PolicyNaem
t_done
