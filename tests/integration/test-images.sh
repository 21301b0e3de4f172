#!/bin/sh
# Images checked at intake and pinned for the whole run (issue 15), with
# the real daemon against the fake AWS endpoint, whose ECR holds the Int
# account's images (the app's registry is an ECR host: BatchGetImage
# through the Int environment's role).
# - a release whose tag is not in the registry is invalid at intake, the
#   image named, before any change set;
# - a release's images are pinned to their digests at intake, shown on
#   the run page, in the API and in shipgatectl show;
#   images[].parameter receives "repository@digest" in the change set;
# - a tag moved after intake: the next stage still deploys the pinned
#   digest, and the page, the API and the approval mail say the tag moved.
# The OCI-registry side (a registry that is not ECR's API, promotion of
# the pinned digest) is in test-promotion.sh.
. "$top_srcdir/tests/lib.sh"
t_tmpdir
t_start_fake --step-delay 0.05 ||
    { echo "Bail out! the fake AWS endpoint did not start"; exit 1; }
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/sandbox.py" --endpoint "$fake_url" \
    >"$t_dir/sandbox.log" 2>&1 || { echo "Bail out! sandbox set-up failed"; exit 1; }
mkdir "$t_dir/mail"
"$TEST_PYTHON" "$top_srcdir/tests/smtpsink.py" --dir "$t_dir/mail" \
    --port-file "$t_dir/smtp.port" >"$t_dir/smtp.log" 2>&1 &
t_pids="$t_pids $!"
t_wait_for 10 test -s "$t_dir/smtp.port" ||
    { echo "Bail out! the SMTP sink did not start"; exit 1; }

cfg="$t_dir/shipgate.yaml"
t_demo_config "$t_dir/demo.yaml"
# As test-pipeline.sh: no promotion (no registry serves blobs here).
# Int sets a NoEcho parameter (its value must never show); STG deploys
# to a stack that does not exist yet (a first deployment).
SECRET=hunter2-never-shown-9f3a
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e "s|smtp://127.0.0.1:4525|smtp://127.0.0.1:$(cat "$t_dir/smtp.port")|" \
    -e "s|parameters: {Environment: int, Registry: \"111111111111\"}|parameters: {Environment: int, Registry: \"111111111111\", DbPassword: $SECRET}|" \
    -e 's|stack: billing-stg$|stack: billing-stg-new|' \
    "$t_dir/demo.yaml" >"$cfg"
grep -q "DbPassword: $SECRET" "$cfg" && grep -q 'stack: billing-stg-new' "$cfg" ||
    { echo "Bail out! the configuration was not made"; exit 1; }
export SHIPGATE_ENGINE_POLL_MS=100
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
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
fake_tag() {	# fake_tag REPO TAG [SEED]: push a new image under the tag
	curl -sf -X POST -H 'Content-Type: application/json' --data \
	    "{\"account\": \"111111111111\", \"repository\": \"$1\", \"tag\": \"$2\", \"seed\": \"${3:-x}\"}" \
	    "$fake_url/_fake/ecr/tag"
}
ecr_digest() {	# ecr_digest REPO TAG: the digest the fake's tag names
	curl -sf "$fake_url/_fake/state" | "$TEST_PYTHON" -c "
import json, sys
r = json.load(sys.stdin)['ecr']['repositories']['111111111111/eu-west-1/$1']
print([d for d, i in r['images'].items() if '$2' in i['tags']][0])"
}

# mail_has SUBJECT BODY [red]: a message with the subject's text and the
# body's in its text part (with "red", in its HTML part too, in red).
mail_has() {
	"$TEST_PYTHON" - "$t_dir/mail" "$@" <<'EOF'
import email, email.policy, glob, sys
d, subj, body = sys.argv[1:4]
red = len(sys.argv) > 4
for f in sorted(glob.glob(d + "/*.eml")):
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    if subj in m["Subject"] and body in text and \
            (not red or (body in html and "color:#a40000" in html)):
        sys.exit(0)
sys.exit(1)
EOF
}
# 1. A tag that was never pushed: invalid at intake, before a change set.
curl -sf -X DELETE "$fake_url/_fake/calls" >/dev/null
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 2.0.0 --tag 2.0.0 --no-push \
    >"$t_dir/drop1.out"
ok "a release naming a tag never pushed is dropped" test $? -eq 0
ok "it is invalid" t_wait_for 60 run_is 1 invalid
ctl --json show 1 >"$t_dir/show1.json" 2>&1
reason=$(sgtest get "d['run']['reason']" "$t_dir/show1.json")
t_diag "reason: $reason"
ok "the reason names the exact image, the registry and what ECR said" \
    sh -c "printf '%s' \"\$1\" | grep -q 'image billing/web:2.0.0 is not in 111111111111.dkr.ecr.eu-west-1.amazonaws.com: ECR BatchGetImage: ImageNotFound'" \
    _ "$reason"
curl -sf "$fake_url/_fake/calls" >"$t_dir/calls1.json"
ok "ECR was asked (BatchGetImage), no change set was created" \
    "$TEST_PYTHON" -c "
import json, sys
c = json.load(open('$t_dir/calls1.json'))
sys.exit(0 if c.get('ecr', {}).get('BatchGetImage', 0) >= 1 and
         not c.get('cloudformation', {}).get('CreateChangeSet') else 1)"
ok "the integrator is told the release was refused, with the image" \
    t_wait_for 20 mail_has "billing 2.0.0 refused at intake" \
    "image billing/web:2.0.0 is not in"

# A repository that does not exist.
"$TEST_PYTHON" - "$t_dir/norepo.zip" <<'EOF'
import io, json, sys, zipfile
sys.path.insert(0, __import__("os").environ["top_srcdir"] + "/tests/fakeaws")
import importlib.util
spec = importlib.util.spec_from_file_location(
    "d", __import__("os").environ["top_srcdir"] + "/tests/fakeaws/drop-release.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
data = m.release_zip("2.0.1", "no such repository", "alice", "1.4.2", {})
src = zipfile.ZipFile(io.BytesIO(data)); out = io.BytesIO()
with zipfile.ZipFile(out, "w") as z:
    for i in src.infolist():
        b = src.read(i)
        if i.filename == "release.json":
            j = json.loads(b); j["images"][1]["repository"] = "billing/ghost"
            b = json.dumps(j).encode()
        z.writestr(i, b)
open(sys.argv[1], "wb").write(out.getvalue())
EOF
SGTEST_NO_PUSH=1 sgtest put "$fake_url" drops/norepo.zip "$t_dir/norepo.zip" >/dev/null
ok "a release naming a repository that does not exist is invalid" \
    t_wait_for 60 run_is 2 invalid
ctl --json show 2 >"$t_dir/show2.json" 2>&1
reason=$(sgtest get "d['run']['reason']" "$t_dir/show2.json")
t_diag "reason: $reason"
ok "the reason names the image and the missing repository" \
    sh -c "printf '%s' \"\$1\" | grep -q 'image billing/ghost:1.4.2 is not in 111111111111.dkr.ecr.eu-west-1.amazonaws.com: no repository billing/ghost'" \
    _ "$reason"

# 2. A release pinned at intake, its web image given by digest to the
#    stack through images[].parameter.
pinned=$(ecr_digest billing/web 1.4.2)
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.2 --tag 1.4.2 \
    --image-parameter billing/web=WebImage --noecho-parameter DbPassword \
    >"$t_dir/drop3.out" &&
    "$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" --version 1.4.2 \
    --tag 1.4.2 --image-parameter billing/web=WebImage \
    --noecho-parameter DbPassword --zip-only "$t_dir/drop3.zip"
ok "a release of tags that exist is dropped" test $? -eq 0
ok "its run waits for the Int approval" t_wait_for 60 stage_is 3 int awaiting_approval
ctl --json show 3 >"$t_dir/show3.json" 2>&1
ok "the API gives each image its pinned digest and media type" \
    sgtest check "all(i['pinned'] and i['digest'].startswith('sha256:') and i['media_type'] for i in d['run']['images']) and d['run']['images'][0]['digest'] == '$pinned' and d['run']['images'][0]['tag_moved_to'] is None" \
    "$t_dir/show3.json"
curl -sf "$fake_url/_fake/state" >"$t_dir/state3.json"
# cs_param STATE STACK PARAM: the parameter of the stack's latest change set.
cs_param() {
	"$TEST_PYTHON" -c "
import json, sys
cs = json.load(open('$1'))['cloudformation']['change_sets']
v = [c['parameters'].get('$3') for c in cs.values() if c['stack'] == '$2']
print(v[-1] if v else '')"
}
ok "the change set's WebImage parameter is billing/web@<pinned digest>" \
    test "$(cs_param "$t_dir/state3.json" billing-int WebImage)" = "billing/web@$pinned"
ctl show 3 >"$t_dir/show3.txt" 2>&1
ok "shipgatectl show names the tag and its pinned digest" \
    grep -q "billing/web:1.4.2 ($pinned)" "$t_dir/show3.txt"
ok "shipgatectl show lists the parameter changes and the template's lines" \
    sh -c "grep -q 'parameter ImageTag: 1.4.1 -> 1.4.2 (modified)' '$t_dir/show3.txt' &&
           grep -q 'parameter DbPassword: (not set) -> \*\*\*\* (added)' '$t_dir/show3.txt' &&
           grep -q 'template: 7 lines added, 0 removed' '$t_dir/show3.txt'"

# Parameters: the stack's (DescribeStacks) against the change set's.
# param RUN-JSON ENV NAME: "change old new no_echo" of the stage's row.
param() {
	"$TEST_PYTHON" -c "
import json, sys
st = [s for s in json.load(open('$1'))['run']['stages'] if s['env'] == '$2'][0]
p = [p for p in st['parameters'] if p['name'] == '$3']
print('%s %s %s %s' % (p[0]['change'], p[0]['old'], p[0]['new'], p[0]['no_echo'])
      if p else 'none')"
}
t_diag "int: $(param "$t_dir/show3.json" int ImageTag) / $(param "$t_dir/show3.json" int DbPassword)"
ok "update: ImageTag 1.4.1 -> 1.4.2" \
    test "$(param "$t_dir/show3.json" int ImageTag)" = "modified 1.4.1 1.4.2 False"
ok "update: Environment unchanged" \
    test "$(param "$t_dir/show3.json" int Environment)" = "unchanged int int False"
ok "update: WebImage (images[].parameter) added with the pinned reference" \
    test "$(param "$t_dir/show3.json" int WebImage)" = "added None billing/web@$pinned False"
ok "update: the NoEcho DbPassword is added as ****, flagged" \
    test "$(param "$t_dir/show3.json" int DbPassword)" = "added None **** True"
ok "the stack was read: it exists" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['exists'] is True" \
    "$t_dir/show3.json"
ok "template diff: the deployed template against the release's (7 lines added)" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['template']['added'] == 7 and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['template']['removed'] == 0 and '\n+  WebImage:\n' in [s for s in d['run']['stages'] if s['env'] == 'int'][0]['template']['diff'] and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['template']['diff'].startswith('@@ -1,6 +1,13 @@\n')" \
    "$t_dir/show3.json"
ok "the Int approval mail counts the template's lines changed" \
    t_wait_for 20 mail_has "billing 1.4.2 awaits your approval for int" \
    "Template: 7 lines added, 0 removed"
ok "the Int approval mail lists the parameter changes" \
    t_wait_for 20 mail_has "billing 1.4.2 awaits your approval for int" \
    "ImageTag: 1.4.1 → 1.4.2"

# 3. The tag moves after intake: STG still deploys the pinned digest.
ctl approve 3 --env int --as alice >/dev/null &&
    t_wait_for 60 stage_is 3 int awaiting_gate
ok "Int is deployed" test $? -eq 0
fake_tag billing/web 1.4.2 moved >"$t_dir/moved.json"
moved=$(sgtest get "d['digest']" "$t_dir/moved.json")
ok "the tag now names another image in the registry" \
    sh -c "[ -n '$moved' ] && [ '$moved' != '$pinned' ]"
ctl authorise 3 --as alice >/dev/null
ok "STG waits for its approval" t_wait_for 60 stage_is 3 stg awaiting_approval
ok "the daemon logged the moved tag" \
    t_log_has "image tag moved app=billing run=3 image=billing/web:1.4.2 pinned=$pinned now=$moved"
ctl --json show 3 >"$t_dir/show3b.json" 2>&1
ok "the API says the tag moved, to which digest, and keeps the pinned one" \
    sgtest check "d['run']['images'][0]['tag_moved_to'] == '$moved' and d['run']['images'][0]['digest'] == '$pinned' and d['run']['images'][1]['tag_moved_to'] is None" \
    "$t_dir/show3b.json"
curl -sf "$fake_url/_fake/state" >"$t_dir/state4.json"
ok "STG's change set passes the pinned digest, not the tag's new one" \
    test "$(cs_param "$t_dir/state4.json" billing-stg-new WebImage)" = "billing/web@$pinned"
ok "first deployment: STG's stack did not exist" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'stg'][0]['stack']['exists'] is False" \
    "$t_dir/show3b.json"
ok "first deployment: every parameter is added" \
    sgtest check "all(p['change'] == 'added' and p['old'] is None for p in [s for s in d['run']['stages'] if s['env'] == 'stg'][0]['parameters']) and len([s for s in d['run']['stages'] if s['env'] == 'stg'][0]['parameters']) >= 5" \
    "$t_dir/show3b.json"
ok "first deployment: the whole template is added" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'stg'][0]['template']['removed'] == 0 and [s for s in d['run']['stages'] if s['env'] == 'stg'][0]['template']['added'] == $("$TEST_PYTHON" -c "import zipfile; print(zipfile.ZipFile('$t_dir/drop3.zip').read('template.yaml').count(b'\n'))")" \
    "$t_dir/show3b.json"
ctl show 3 >"$t_dir/show3c.txt" 2>&1
ok "shipgatectl show says the tag moved" \
    grep -q "the tag now names $moved: this run deploys the pinned digest" "$t_dir/show3c.txt"
ok "the STG approval mail says the tag moved, in red" \
    t_wait_for 20 mail_has "billing 1.4.2 awaits your approval for stg" \
    "billing/web:1.4.2 now points to $moved" red

# The run page (signed in as bob, who approves STG).
listen=$(sed -n 's/^listen: //p' "$cfg")
base="http://$listen"
curl -s -c "$t_dir/jar" -b "$t_dir/jar" -o /dev/null --data-urlencode user=bob \
    --data-urlencode password=demo "$base/login"
curl -s -b "$t_dir/jar" -o "$t_dir/run3.html" "$base/runs/3"
ok "the run page shows the pinned digest and no 'not read yet'" \
    sh -c "grep -q '$pinned' '$t_dir/run3.html' && ! grep -q 'not read yet' '$t_dir/run3.html'"
ok "the run page says the tag moved, in a red row" \
    sh -c "grep -q 'class=\"moved\"' '$t_dir/run3.html' &&
           grep -q 'billing/web:1.4.2 now points to $moved' '$t_dir/run3.html'"
ok "the run page names the stack parameter that receives the image" \
    grep -q 'stack parameter WebImage' "$t_dir/run3.html"
ok "the run page has the parameter table: ImageTag 1.4.1 -> 1.4.2" \
    "$TEST_PYTHON" -c "
import re, sys
h = open('$t_dir/run3.html').read()
sys.exit(0 if re.search(r'<tr class=\"param-modified\">\s*<td class=\"mono\">ImageTag</td>\s*'
                        r'<td class=\"mono\">1.4.1</td>\s*<td class=\"mono\">1.4.2</td>', h)
         and 'Unchanged parameters' in h and 'a new stack: every value is new' in h
         else 1)"

ok "the run page has the template diff, folded, with line numbers" \
    "$TEST_PYTHON" -c "
import re, sys
h = open('$t_dir/run3.html').read()
sys.exit(0 if '<details class=\"template-diff\">' in h and
         re.search(r'<tr class=\"add\"><td class=\"ln\"></td><td class=\"ln\">4</td>'
                   r'<td class=\"mono\"><pre>\+  WebImage:</pre>', h) else 1)"

# The NoEcho value is nowhere shipgate writes.
curl -s -b "$t_dir/jar" -o "$t_dir/api3.json" "$base/api/v1/runs/3"
ok "the API answers" sgtest check "d['run']['id'] == 3" "$t_dir/api3.json"
ok "the NoEcho value is not in the page, the API or shipgatectl's output" \
    sh -c "! grep -rqF '$SECRET' '$t_dir/run3.html' '$t_dir/api3.json' \
        '$t_dir/show3.json' '$t_dir/show3b.json' '$t_dir/show3c.txt'"
ok "nor in any mail" sh -c "! grep -rqF '$SECRET' '$t_dir/mail'"
ok "nor in the daemon's log" sh -c "! grep -qF '$SECRET' '$t_dir/shipgated.log'"
dbs=$(find "$t_dir" -name '*.db' -o -name '*.db-wal' -o -name '*.sqlite*' | tr '\n' ' ')
t_diag "database files: $dbs"
ok "nor in the database's files" sh -c "[ -n '$dbs' ] && ! grep -qF '$SECRET' $dbs"
ok "(which hold the parameters' rows: the grep reads them)" \
    sh -c "cat $dbs | grep -qaF 'billing/web@$pinned'"
curl -sf "$fake_url/_fake/state" >"$t_dir/state5.json"
ok "(the value did reach the stack: the test can see it)" \
    grep -qF "$SECRET" "$t_dir/state5.json"

# 4. Now running: a next release's Int stage names what shipgate deployed
#    there (run 3, approved by alice), then an update made outside
#    shipgate is told.
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.3 --tag 1.4.3 \
    --noecho-parameter DbPassword >"$t_dir/drop4.out"
ok "a next release waits for the Int approval" t_wait_for 60 stage_is 4 int awaiting_approval
ctl --json show 4 >"$t_dir/show4.json" 2>&1
ok "now running: int runs 1.4.2 (run 3, approved by alice), no change outside shipgate" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['previous']['run'] == 3 and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['previous']['version'] == '1.4.2' and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['previous']['approved_by'] == ['alice'] and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['changed_outside'] is False" \
    "$t_dir/show4.json"
ok "NoEcho set on both sides: **** -> ****, hidden (whether it changes cannot be told)" \
    test "$(param "$t_dir/show4.json" int DbPassword)" = "hidden **** **** True"
curl -s -b "$t_dir/jar" -o "$t_dir/run4.html" "$base/runs/4"
ok "the run page says what runs now" \
    grep -q 'Now running: int runs 1.4.2 (<a href="/runs/3">run 3</a>, deployed <time.*by shipgate, approved by alice)' "$t_dir/run4.html"
ctl cancel 4 --as dave -m 'next case' >/dev/null 2>&1
t_wait_for 30 run_is 4 cancelled
curl -sf -X POST -H 'Content-Type: application/json' --data '{"stack": "billing-int"}' \
    "$fake_url/_fake/cfn/touch-stack" >/dev/null
ok "the Int stack is updated outside shipgate" test $? -eq 0
sleep 1.1
# And the template cannot be read (GetTemplate refused): that does not
# hold the stage.
curl -sf -X POST -H 'Content-Type: application/json' --data \
    '{"service": "cloudformation", "operation": "GetTemplate", "mode": "error", "status": 403, "code": "AccessDenied", "message": "not allowed", "count": 20}' \
    "$fake_url/_fake/faults" >/dev/null
"$TEST_PYTHON" "$top_srcdir/tests/fakeaws/drop-release.py" \
    --endpoint "$fake_url" --version 1.4.4 --tag 1.4.4 \
    --noecho-parameter DbPassword >"$t_dir/drop5.out"
ok "another release waits for the Int approval" t_wait_for 60 stage_is 5 int awaiting_approval
ctl --json show 5 >"$t_dir/show5.json" 2>&1
ok "the API says the stack changed outside shipgate since run 3" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['changed_outside'] is True and [s for s in d['run']['stages'] if s['env'] == 'int'][0]['stack']['previous']['run'] == 3" \
    "$t_dir/show5.json"
curl -s -b "$t_dir/jar" -o "$t_dir/run5.html" "$base/runs/5"
ok "and the page says so" \
    grep -q "after shipgate's last deployment: by something other than shipgate" "$t_dir/run5.html"
ok "a template that cannot be read: no diff, the parameters still compared, the stage waits for approval" \
    sgtest check "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['template'] is None and len([s for s in d['run']['stages'] if s['env'] == 'int'][0]['parameters']) > 0" \
    "$t_dir/show5.json"
ok "the daemon logged why" t_log_has 'cannot read the deployed template app=billing run=5'
curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null

ok "at the end, the NoEcho value is still in neither the log, the mails nor the database" \
    sh -c "! grep -qF '$SECRET' '$t_dir/shipgated.log' $dbs && ! grep -rqF '$SECRET' '$t_dir/mail' '$t_dir/run4.html' '$t_dir/show4.json'"
ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
