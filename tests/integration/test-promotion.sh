#!/bin/sh
# Image promotion with the real daemon (issue 8): the app's registry (the
# Int account's ECR host) and the Prod account's ECR host, which STG and
# Prod pull from, are two docker-registry instances on 127.0.0.1 behind
# the fixture's proxy, which accepts only "AWS:<password>" logins the
# fake AWS endpoint issued in that account (GetAuthorizationToken).
# A release goes Int -> STG (its images copied, digest for digest) ->
# Prod (not copied again); a release whose tag is missing at the source
# fails STG with a reason naming the image.
. "$top_srcdir/tests/lib.sh"
for b in /usr/bin/docker-registry /usr/bin/skopeo; do
	[ -x "$b" ] || t_skip_all "$b is not installed"
done
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }
fixture="$top_srcdir/tests/unit/registry-fixture.py"
INT_HOST=111111111111.dkr.ecr.eu-west-1.amazonaws.com
PROD_HOST=333333333333.dkr.ecr.eu-west-1.amazonaws.com

# start_registry NAME: docker-registry on a free port; sets NAME_url.
start_registry() {
	sr_port=$(t_free_port)
	cat >"$t_dir/$1.yml" <<EOT
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $t_dir/$1-data
http:
  addr: 127.0.0.1:$sr_port
EOT
	/usr/bin/docker-registry serve "$t_dir/$1.yml" >>"$t_dir/$1.log" 2>&1 &
	t_pids="$t_pids $!"
	eval "${1}_url=http://127.0.0.1:$sr_port"
	t_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$sr_port/v2/"
}
# start_proxy NAME UPSTREAM ACCOUNT [ARGS]: the ECR stand-in; sets NAME_url.
start_proxy() {
	sp_name=$1
	sp_up=$2
	sp_acct=$3
	shift 3
	"$TEST_PYTHON" "$fixture" proxy --upstream "$sp_up" \
	    --port-file "$t_dir/$sp_name.port" --ecr-login "$fake_url,$sp_acct" \
	    "$@" >>"$t_dir/$sp_name.log" 2>&1 &
	t_pids="$t_pids $!"
	t_wait_for 20 test -s "$t_dir/$sp_name.port" || return 1
	eval "${sp_name}_url=http://127.0.0.1:$(cat "$t_dir/$sp_name.port")"
}
start_registry intreg && start_registry prodreg &&
    start_proxy intecr "$intreg_url" 111111111111 &&
    start_proxy prodecr "$prodreg_url" 333333333333 ||
    { echo "Bail out! the registries did not start"; exit 1; }

# push REPO TAG ARCHES SEED: a test image into the Int registry.
push() {
	p_dir="$t_dir/oci-$(echo "$1" | tr / -)-$2"
	"$TEST_PYTHON" "$fixture" oci "$p_dir" --tag "$2" --arch "$3" \
	    --seed "$4" >"$p_dir.out" &&
	    /usr/bin/skopeo copy --all --preserve-digests \
	    --dest-tls-verify=false "oci:$p_dir:$2" \
	    "docker://${intreg_url#http://}/$1:$2" >>"$t_dir/skopeo.log" 2>&1
}
push billing/web 1.4.2 amd64,arm64 1 && push billing/worker 1.4.2 amd64 2
ok "the release's images are pushed to the Int registry" test $? -eq 0

# digest URL REPO:TAG: the manifest's digest, as skopeo reads it.
digest() {
	/usr/bin/skopeo inspect --tls-verify=false --raw \
	    "docker://${1#http://}/$2" 2>>"$t_dir/skopeo.log" |
	    sha256sum | cut -d' ' -f1
}

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# config FILE INT_URL: the ECR hosts answer at the local stand-ins; their
# logins still come from GetAuthorizationToken (no username).
config() {
	{ cat "$t_dir/demo.yaml"; cat <<EOT
registries:
  - {host: $INT_HOST, url: "$2"}
  - {host: $PROD_HOST, url: "$prodecr_url"}
EOT
	} >"$1"
}
config "$cfg" "$intecr_url"
export SHIPGATE_ENGINE_POLL_MS=100
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
stage_is() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
run = json.load(sys.stdin)['run']
st = [s for s in run['stages'] if s['env'] == '$2']
sys.exit(0 if st and st[0]['status'] == '$3' else 1)"
}
run_is() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
sys.exit(0 if json.load(sys.stdin)['run']['status'] == '$2' else 1)"
}
# promotions RUN ENV: the stage's promotions, one line each:
# image:ref status source_digest destination_digest bytes_copied reason
promotions() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
run = json.load(sys.stdin)['run']
for s in run['stages']:
    if s['env'] == '$2':
        for p in s['promotions']:
            print(p['image'] + ':' + p['reference'], p['status'],
                  p['source_digest'], p['destination_digest'],
                  p['bytes_copied'], p['reason'] or '-')"
}

"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.2 --tag 1.4.2 \
    --message 'Promote me' >"$t_dir/drop.out"
ok "the release zip is dropped in the bucket" test $? -eq 0
ok "Int waits for its approval" t_wait_for 60 stage_is 1 int awaiting_approval
web_pinned=sha256:$(digest "$intreg_url" billing/web:1.4.2)
ctl --json show 1 >"$t_dir/show1.json" 2>&1
ok "intake pinned billing/web:1.4.2 to the registry's digest (an index: its platforms)" \
    "$TEST_PYTHON" -c "
import json, sys
i = json.load(open('$t_dir/show1.json'))['run']['images'][0]
print('# %r' % i)
sys.exit(0 if i['digest'] == '$web_pinned' and
         i['platforms'] == 'linux/amd64, linux/arm64' else 1)"
ctl approve 1 --env int --as alice >/dev/null &&
    t_wait_for 60 stage_is 1 int awaiting_gate
ok "Int is deployed" test $? -eq 0
# The tag moves in the Int registry after intake: STG copies the digest
# the run was approved with.
push billing/web 1.4.2 amd64 9
ok "billing/web:1.4.2 is pushed again (another image)" test \
    "sha256:$(digest "$intreg_url" billing/web:1.4.2)" != "$web_pinned"
ctl authorise 1 --as alice >/dev/null
ok "promotion authorised" test $? -eq 0
ok "STG copies the images and waits for its approval" \
    t_wait_for 60 stage_is 1 stg awaiting_approval
promotions 1 stg >"$t_dir/stg.txt"
t_diag "$(cat "$t_dir/stg.txt")"
ok "STG: one promotion per image, copied, equal digests, bytes copied" \
    awk 'NF < 6 || $2 != "copied" || $3 != $4 || $5 <= 0 { bad = 1 }
         END { exit (NR == 2 && !bad) ? 0 : 1 }' "$t_dir/stg.txt"
ok "the Prod registry's billing/web:1.4.2 is the pinned digest, not the moved tag's" \
    test "sha256:$(digest "$prodreg_url" billing/web:1.4.2)" = "$web_pinned"
ctl --json show 1 >"$t_dir/show1b.json" 2>&1
ok "the run says the tag moved, and to which digest" "$TEST_PYTHON" -c "
import json, sys
i = json.load(open('$t_dir/show1b.json'))['run']['images'][0]
sys.exit(0 if i['tag_moved_to'] == 'sha256:$(digest "$intreg_url" billing/web:1.4.2)'
         and i['digest'] == '$web_pinned' else 1)"
ok "and billing/worker:1.4.2" \
    test "$(digest "$prodreg_url" billing/worker:1.4.2)" = \
    "$(digest "$intreg_url" billing/worker:1.4.2)"
ok "the recorded digest is the registry's" \
    grep -q "sha256:$(digest "$prodreg_url" billing/web:1.4.2)" "$t_dir/stg.txt"
curl -sf "$fake_url/_fake/state" >"$t_dir/state.json"
ok "ECR logins were made in the Int and the Prod accounts" "$TEST_PYTHON" -c "
import json, sys
t = json.load(open('$t_dir/state.json'))['ecr']['tokens']
sys.exit(0 if {x['registry'] for x in t} >= {'111111111111', '333333333333'}
         else 1)"

ctl approve 1 --env stg --as bob >/dev/null &&
    t_wait_for 60 stage_is 1 prod awaiting_approval &&
    ctl approve 1 --env prod --as bob >/dev/null &&
    t_api_approve "$cfg" 1 prod carol
ok "STG and Prod are approved" test $? -eq 0
ok "the run succeeds" t_wait_for 60 run_is 1 succeeded
promotions 1 prod >"$t_dir/prod.txt"
t_diag "$(cat "$t_dir/prod.txt")"
ok "Prod: the images are not copied again, with a note" \
    awk '$2 != "copied" || $3 != $4 || $5 != 0 || !/not copied again/ {
             bad = 1 } END { exit (NR == 2 && !bad) ? 0 : 1 }' "$t_dir/prod.txt"
ctl show 1 >"$t_dir/show.txt" 2>&1
t_diag "$(grep -A4 'promotions:' "$t_dir/show.txt" | head -n 12)"
ok "shipgatectl show lists the promotions" \
    sh -c "grep -q 'promotions:' '$t_dir/show.txt' &&
           grep -q 'billing/web:1.4.2: copied' '$t_dir/show.txt' &&
           grep -q 'not copied again' '$t_dir/show.txt'"

# A release whose tag is not in the Int registry: invalid at intake (the
# manifest asked over the OCI API, through the ECR login), no stage.
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.3 --tag 1.4.3 \
    --message 'Tag never pushed' >"$t_dir/drop2.out"
ok "a second release is dropped" test $? -eq 0
ok "it is invalid" t_wait_for 60 run_is 2 invalid
ctl --json show 2 >"$t_dir/show2.json" 2>&1
reason=$("$TEST_PYTHON" -c "
import json
print(json.load(open('$t_dir/show2.json'))['run']['reason'])")
t_diag "reason: $reason"
printf '%s\n' "$reason" >"$t_dir/reason.txt"
ok "the reason names the image, its tag and the registry" \
    grep -q "image billing/web:1.4.3 is not in $INT_HOST: .*404 MANIFEST_UNKNOWN" "$t_dir/reason.txt"
ok "it has no stage: nothing was created for it" "$TEST_PYTHON" -c "
import json, sys
sys.exit(0 if not json.load(open('$t_dir/show2.json'))['run']['stages'] else 1)"
# Stopped in the middle of a copy (blobs served slowly), then started
# again: the copy runs again and completes.
push billing/web 1.4.4 amd64 5 && push billing/worker 1.4.4 amd64 6 &&
    start_proxy intslow "$intreg_url" 111111111111 --slow-blobs 1.5
ok "1.4.4 is pushed, a slow Int stand-in started" test $? -eq 0
t_stop "$daemon_pid"
config "$t_dir/slow.yaml" "$intslow_url"
t_start_daemon "$t_dir/slow.yaml"
ok "shipgated starts again" t_wait_for 30 sh -c \
    "test \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 2"
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.4 --tag 1.4.4 \
    --message 'Interrupted' >"$t_dir/drop3.out" &&
    t_wait_for 60 stage_is 3 int awaiting_approval &&
    ctl approve 3 --env int --as alice >/dev/null &&
    t_wait_for 60 stage_is 3 int awaiting_gate &&
    ctl authorise 3 --as alice >/dev/null
ok "a third release reaches STG" test $? -eq 0
ok "STG is copying (the pinned digest)" t_wait_for 30 t_log_has \
    "promotion started image=billing/web ref=sha256:$(digest "$intreg_url" billing/web:1.4.4)"
t_stop "$daemon_pid"
ok "shipgated stops cleanly in the middle of the copy" test $? -eq 0
ok "the stage was left promoting" sh -c \
    "! grep -q 'images promoted app=billing run=3' '$t_dir/shipgated.log'"
t_start_daemon "$cfg"
ok "STG copies again after the restart and waits for its approval" \
    t_wait_for 60 stage_is 3 stg awaiting_approval
promotions 3 stg >"$t_dir/stg3.txt"
t_diag "$(cat "$t_dir/stg3.txt")"
ok "one row per image, copied, equal digests" \
    awk '$2 != "copied" || $3 != $4 { bad = 1 }
         END { exit (NR == 2 && !bad) ? 0 : 1 }' "$t_dir/stg3.txt"
ok "the Prod registry holds billing/web:1.4.4 digest for digest" \
    test "$(digest "$prodreg_url" billing/web:1.4.4)" = \
    "$(digest "$intreg_url" billing/web:1.4.4)"

ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
