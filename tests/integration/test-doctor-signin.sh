#!/bin/sh
# shipgatectl doctor with auth.oidc or auth.alb (issue 17): against a
# small provider on 127.0.0.1 (Python's http.server serving a discovery
# document and a key set made here with an EC key from openssl), the
# discovery row passes when its issuer is the configured one and the key
# set row when it holds an ES256 key.  Each failure is named: another
# issuer, a key set with only an HMAC key, a provider that does not
# answer.  With auth.alb, the key endpoint's base URL answers, or not.
. "$top_srcdir/tests/lib.sh"

command -v openssl >/dev/null 2>&1 || t_bail "openssl is missing"
t_tmpdir
t_start_fake || t_bail "the fake AWS endpoint did not start"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || t_bail "the sandbox set-up failed"

idp=$t_dir/idp
mkdir -p "$idp/.well-known"
port=$(t_free_port)
issuer=http://127.0.0.1:$port
# discovery ISSUER: the provider's discovery document naming ISSUER.
discovery() {
	cat >"$idp/.well-known/openid-configuration" <<EOD
{"issuer": "$1",
 "authorization_endpoint": "$issuer/auth",
 "token_endpoint": "$issuer/token",
 "jwks_uri": "$issuer/jwks.json",
 "response_types_supported": ["code"],
 "code_challenge_methods_supported": ["S256"],
 "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
EOD
}
openssl ecparam -name prime256v1 -genkey -noout -out "$t_dir/k.pem" 2>/dev/null ||
    t_bail "openssl cannot make an EC key"
# The last 64 bytes of a P-256 SubjectPublicKeyInfo are x and y.
openssl ec -in "$t_dir/k.pem" -pubout -outform DER 2>/dev/null |
    tail -c 64 >"$t_dir/xy" || t_bail "openssl cannot write the public key"
"$TEST_PYTHON" - "$t_dir/xy" "$t_dir/jwks.good" <<'EOP' || t_bail "no JWKS"
import base64, json, sys
xy = open(sys.argv[1], "rb").read()
b = lambda v: base64.urlsafe_b64encode(v).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
    "kid": "k1", "x": b(xy[:32]), "y": b(xy[32:])}]}, open(sys.argv[2], "w"))
EOP
echo '{"keys": [{"kty": "oct", "kid": "h1", "alg": "HS256", "k": "c2VjcmV0"}]}' \
    >"$t_dir/jwks.hmac"
discovery "$issuer"
cp "$t_dir/jwks.good" "$idp/jwks.json"
"$TEST_PYTHON" -m http.server --bind 127.0.0.1 --directory "$idp" "$port" \
    >"$t_dir/idp.log" 2>&1 &
t_pids="$t_pids $!"
idp_up() {
	curl -s -o /dev/null -w '%{http_code}' "$issuer/jwks.json" | grep -q '^200$'
}
t_wait_for 30 idp_up || t_bail "the provider did not start"

t_demo_config "$t_dir/demo.yaml"
printf 's3cr3t-client\n' >"$t_dir/client.secret"
chmod 600 "$t_dir/client.secret"
cfg=$t_dir/oidc.yaml
# oidc_config ISSUER: the demo configuration signing in through ISSUER.
oidc_config() {
	cp "$t_dir/demo.yaml" "$cfg"
	cat >>"$cfg" <<EOC
auth:
  oidc:
    issuer: "$1"
    client_id: shipgate
    client_secret_file: $t_dir/client.secret
    groups: {staff: integrators}
EOC
	chmod 600 "$cfg"
}
doctor() {
	"$SHIPGATECTL" -c "$1" doctor >"$t_dir/out" 2>"$t_dir/err"
}

oidc_config "$issuer"
doctor "$cfg"
ok "doctor passes with the provider (exit 0)" test $? -eq 0
t_diag "$(grep auth "$t_dir/out")"
ok "the discovery document: issuer matches" \
    grep -Eq "^auth.oidc: discovery $issuer/.well-known/openid-configuration +pass +issuer matches, code flow with PKCE S256, token endpoint $issuer/token\$" "$t_dir/out"
ok "the key set it names holds an ES256 key" \
    grep -Eq "^auth.oidc: key set $issuer/jwks.json +pass +1 RS256/ES256 signing key\$" "$t_dir/out"
ok "the client secret is not printed" sh -c "! grep -q s3cr3t '$t_dir/out' '$t_dir/err'"
"$SHIPGATECTL" -c "$cfg" --json doctor >"$t_dir/json" 2>&1
ok "--json has the two rows, passed" "$TEST_PYTHON" -c "import json, sys
rows = [json.loads(l) for l in open('$t_dir/json')]
auth = [r for r in rows if r['check'].startswith('auth.oidc')]
sys.exit(0 if len(auth) == 2 and all(r['result'] == 'pass' for r in auth) else 1)"

discovery "$issuer/realms/other"
doctor "$cfg"
ok "another issuer in the document fails doctor (exit 1)" test $? -eq 1
ok "... saying the issuer is not the configured one" \
    grep -Eq "^auth.oidc: discovery .* +FAIL +discovery document: issuer is not the configured $issuer" "$t_dir/out"
ok "... and the key set is not read" \
    grep -Eq '^auth.oidc: key set +FAIL +no discovery document to name the key set$' "$t_dir/out"
discovery "$issuer"

cp "$t_dir/jwks.hmac" "$idp/jwks.json"
doctor "$cfg"
ok "a key set with only an HMAC key fails doctor (exit 1)" test $? -eq 1
ok "... saying it has no usable key" \
    grep -Eq "^auth.oidc: key set $issuer/jwks.json +FAIL +JWKS: no RS256 or ES256 signing key\$" "$t_dir/out"
rm "$idp/jwks.json"
doctor "$cfg"
ok "a key set that is not there fails (HTTP 404)" \
    grep -Eq "^auth.oidc: key set $issuer/jwks.json +FAIL +HTTP 404 from $issuer/jwks.json\$" "$t_dir/out"
cp "$t_dir/jwks.good" "$idp/jwks.json"

dead=http://127.0.0.1:$(t_free_port)
oidc_config "$dead"
doctor "$cfg"
ok "a provider that does not answer fails doctor (exit 1)" test $? -eq 1
ok "... with the transport's reason" \
    grep -Eq "^auth.oidc: discovery $dead/.well-known/openid-configuration +FAIL +.*(onnect|refused)" "$t_dir/out"

# auth.alb: the key endpoint's base URL (the provider's server stands in).
alb=$t_dir/alb.yaml
arn=arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shipgate/50dc6c495c0c9188
alb_config() {
	cp "$t_dir/demo.yaml" "$alb"
	cat >>"$alb" <<EOC
trusted_proxies: [127.0.0.2/32]
auth:
  alb:
    arn: "$arn"
    key_url: "$1"
    groups: {staff: integrators}
EOC
	chmod 600 "$alb"
}
alb_config "$issuer/"
doctor "$alb"
ok "doctor passes with the load balancer's key endpoint reachable (exit 0)" test $? -eq 0
ok "... saying so" \
    grep -Eq "^auth.alb: key endpoint $issuer/ +pass +reachable \(HTTP [0-9]+ at the base URL" "$t_dir/out"
alb_config "$dead/"
doctor "$alb"
ok "an unreachable key endpoint fails doctor (exit 1)" test $? -eq 1
ok "... naming it" grep -Eq "^auth.alb: key endpoint $dead/ +FAIL +" "$t_dir/out"
ok "nothing on stderr" test ! -s "$t_dir/err"
t_done
