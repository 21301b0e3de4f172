#!/bin/sh
# shipgatectl on its own: usage and exit codes, check-config, passwd.
. "$top_srcdir/tests/lib.sh"
t_tmpdir

"$SHIPGATECTL" >/dev/null 2>&1
ok "no command is a usage error (exit 2)" test $? -eq 2
"$SHIPGATECTL" frobnicate >/dev/null 2>"$t_dir/err"
ok "an unknown command exits 2" test $? -eq 2
ok "an unknown command is named" grep -q 'unknown command: frobnicate' "$t_dir/err"
ok "--version prints the version" \
    sh -c "'$SHIPGATECTL' --version | grep -Eq '^shipgatectl [0-9]'"

# The demo's configuration as installed: group-readable at most (it
# holds password hashes); readable by others it is refused.
cp "$top_srcdir/conf/demo.yaml" "$t_dir/demo.yaml"
chmod 640 "$t_dir/demo.yaml"
"$SHIPGATECTL" check-config "$t_dir/demo.yaml" >"$t_dir/out" 2>&1
ok "check-config accepts the demo configuration (mode 0640)" test $? -eq 0
ok "check-config says what it found" \
    grep -q 'configuration OK (1 app, 4 users)' "$t_dir/out"
chmod 644 "$t_dir/demo.yaml"
"$SHIPGATECTL" check-config "$t_dir/demo.yaml" >"$t_dir/out" 2>&1
ok "check-config refuses it readable by others (exit 1)" test $? -eq 1
ok "the error names the file and its mode" \
    grep -q "^$t_dir/demo.yaml: readable or writable by others (mode 0644)" \
    "$t_dir/out"
"$SHIPGATED" --check-config --config "$t_dir/demo.yaml" >"$t_dir/out" 2>&1
ok "shipgated --check-config refuses it too" sh -c "test $? -eq 1 &&
    grep -q '(mode 0644), but it holds password hashes' '$t_dir/out'"
printf 'listen: [\n' >"$t_dir/bad.yaml"
"$SHIPGATECTL" check-config "$t_dir/bad.yaml" >"$t_dir/out" 2>&1
ok "check-config refuses a broken file (exit 1)" test $? -eq 1
ok "check-config names file, line and column" \
    grep -Eq "^$t_dir/bad.yaml:[0-9]+:[0-9]+: " "$t_dir/out"
"$SHIPGATECTL" -c "$t_dir/bad.yaml" check-config >/dev/null 2>&1
ok "check-config takes the file from -c too" test $? -eq 1

hash1=$(printf 'correct horse\n' | "$SHIPGATECTL" passwd)
ok "passwd reads stdin and exits 0" test $? -eq 0
hash2=$(printf 'correct horse\n' | "$SHIPGATECTL" passwd)
ok "passwd prints an argon2id hash" \
    sh -c "printf '%s' '$hash1' | grep -Eq '^\\\$argon2id\\\$v=19\\\$m=65536,t=3,p=4\\\$[A-Za-z0-9+/]{22}\\\$[A-Za-z0-9+/]{43}\$'"
ok "each hash has its own salt" test "$hash1" != "$hash2"
ok "the password is not printed" \
    sh -c "! printf '%s' '$hash1' | grep -q 'correct horse'"
printf '\n' | "$SHIPGATECTL" passwd >/dev/null 2>"$t_dir/err"
ok "an empty password is refused (exit 1)" test $? -eq 1
ok "the refusal says why" grep -q 'empty password' "$t_dir/err"

# The hash works where it is meant to go.
cat >"$t_dir/with-hash.yaml" <<YAML
database: $t_dir/shipgate.db
public_url: https://deploy.example.com
aws: {region: eu-west-1}
users:
  - {name: alice, email: alice@example.com, groups: [integrators],
     password_hash: "$hash1"}
apps:
  - name: billing
    source: {bucket: releases-billing}
    environments:
      - {name: int, account: "111111111111", stack: billing-int,
         role_arn: "arn:aws:iam::111111111111:role/shipgate-deployer",
         approvers: [integrators]}
YAML
ok "a printed hash is accepted as a password_hash" \
    "$SHIPGATECTL" check-config "$t_dir/with-hash.yaml"
t_done
