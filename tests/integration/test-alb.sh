#!/bin/sh
# auth.alb (issue 17): shipgated behind an AWS Application Load Balancer
# that signs people in.  The "load balancer" is curl bound to 127.0.0.2
# (the only trusted proxy) sending x-amzn-oidc-data headers minted here
# (alb-token.py: ES256 with EC keys made by openssl, padded base64url as
# ALBs send it); the region's public-key endpoint is a small key server
# on 127.0.0.1 serving KEY_URL/KID as PEM.  Accepted: a good token (the
# person is signed in with their mapped groups).  Refused, each on its
# own: a wrong signer ARN, an expired token, a token signed by another
# key under the same kid, an unknown kid, groups that map to nothing, no
# header at all from the load balancer, and a good header from an address
# that is not a trusted proxy (ignored: not signed in).
. "$top_srcdir/tests/lib.sh"

command -v openssl >/dev/null 2>&1 || t_bail "openssl is missing"
t_tmpdir
t_start_fake || t_bail "the fake AWS endpoint did not start"

keys=$t_dir/keys
mkdir -p "$keys"
openssl ecparam -name prime256v1 -genkey -noout -out "$t_dir/k1.pem" 2>/dev/null &&
    openssl ec -in "$t_dir/k1.pem" -pubout -out "$keys/kid-1" 2>/dev/null &&
    openssl ecparam -name prime256v1 -genkey -noout -out "$t_dir/k2.pem" 2>/dev/null ||
    t_bail "openssl cannot make EC keys"
kport=$(t_free_port)
"$TEST_PYTHON" -m http.server --bind 127.0.0.1 --directory "$keys" "$kport" \
    >"$t_dir/keys.log" 2>&1 &
t_pids="$t_pids $!"
keys_up() {
	curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kport/kid-1" |
	    grep -q '^200$'
}
t_wait_for 30 keys_up || t_bail "the key server did not start"

arn=arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shipgate/50dc6c495c0c9188
t_demo_config "$t_dir/demo.yaml"
listen=$(sed -n 's/^listen: *//p' "$t_dir/demo.yaml")
cfg=$t_dir/shipgate.yaml
sed -e "s|^public_url: .*|public_url: http://$listen|" "$t_dir/demo.yaml" >"$cfg"
cat >>"$cfg" <<EOC
trusted_proxies: [127.0.0.2/32]
auth:
  alb:
    arn: "$arn"
    key_url: "http://127.0.0.1:$kport/"
    groups:
      integrator-staff: integrators
EOC
chmod 600 "$cfg"
t_start_daemon "$cfg"
portal_up() {
	curl -s -o /dev/null -w '%{http_code}' "http://$listen/login" | grep -q '^200$'
}
t_wait_for 60 t_log_has ' ready ' || t_bail "shipgated did not get ready"
t_wait_for 10 portal_up || t_bail "the portal does not answer"

now=$(date +%s)
claims='{"sub":"u-1","email":"erin@integrator.example","groups":["integrator-staff","other"]}'
mint() { # KEY KID SIGNER EXP [CLAIMS]
	"$TEST_PYTHON" "$top_srcdir/tests/integration/alb-token.py" "$1" "$2" \
	    "$3" "$4" "${5:-$claims}"
}
# get FROM [TOKEN]: GET / from address FROM; the status, body in $t_dir/body.
get() {
	if [ -n "${2:-}" ]; then
		curl -s --interface "$1" -o "$t_dir/body" -D "$t_dir/headers" \
		    -w '%{http_code}' -H "x-amzn-oidc-data: $2" "http://$listen/"
	else
		curl -s --interface "$1" -o "$t_dir/body" -D "$t_dir/headers" \
		    -w '%{http_code}' "http://$listen/"
	fi
}

good=$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now + 120)))
ok "the minted token is padded as an ALB's is" sh -c "echo '$good' | grep -q '='"
code=$(get 127.0.0.2 "$good")
ok "a good token from the load balancer signs erin in (200, got $code)" test "$code" = 200
ok "the page names her by the user claim" grep -q 'erin@integrator.example' "$t_dir/body"
ok "she gets a session cookie" grep -qi '^set-cookie: sg_session=' "$t_dir/headers"
ok "the log says via=alb" t_log_has 'signed in user=erin@integrator.example via=alb'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 \
    arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1 $((now + 120)))")
ok "a token from another load balancer (signer) is refused (401, got $code)" test "$code" = 401
ok "the log names the signer" t_log_has 'token refused .*signer is not the configured'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now - 3600)))")
ok "an expired token is refused (401, got $code)" test "$code" = 401
ok "the log says expired" t_log_has 'token refused .*expired'

code=$(get 127.0.0.2 "$(mint "$t_dir/k2.pem" kid-1 "$arn" $((now + 120)))")
ok "a token signed by another key under the same kid is refused (401, got $code)" test "$code" = 401
ok "the log says the signature does not verify" t_log_has 'token refused .*signature does not verify'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-unknown "$arn" $((now + 120)))")
ok "a kid the key server does not have is refused (401, got $code)" test "$code" = 401
ok "the log says the key could not be fetched" t_log_has 'token refused .*key kid-unknown'

code=$(get 127.0.0.2 "$(mint "$t_dir/k1.pem" kid-1 "$arn" $((now + 120)) \
    '{"email":"mallory@elsewhere.example","groups":["visitors"]}')")
ok "groups that map to nothing are refused (401, got $code)" test "$code" = 401

code=$(get 127.0.0.2)
ok "no header from the load balancer is refused (401, got $code)" test "$code" = 401

code=$(get 127.0.0.1 "$good")
ok "a good header from an address not trusted is ignored (303 to sign-in, got $code)" \
    sh -c "test '$code' = 303 && grep -qi '^location: /login' '$t_dir/headers'"

ok "no token in the daemon's log" sh -c "! grep -Fq '$(echo "$good" | cut -c1-40)' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
[ "$t_failed" -eq 0 ] || sed 's/^/# daemon: /' "$t_dir/shipgated.log" | tail -n 40
t_done
