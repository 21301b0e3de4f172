#!/bin/sh
# A NoEcho parameter whose value release.json itself sets (issue 15): the
# release is stored with that value masked ("****"), in `parameters` and
# in an override, and the engine reads the value from the zip in the
# bucket (ETag checked) when it creates the change set, also after a
# kill -9 between intake and the change set.  The real daemon against the
# fake AWS endpoint:
# - the secrets are in neither the database's files (WAL too), the
#   daemon's log, the run JSON, the run page, the API, shipgatectl show
#   nor the mails;
# - the change set the fake received has the real value.
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
# As test-images.sh: no promotion (no registry serves blobs here); the
# configuration sets no DbPassword: release.json does.
sed -e '/^        registry: /d' -e 's/Registry: "333333333333"/Registry: "111111111111"/' \
    -e "s|smtp://127.0.0.1:4525|smtp://127.0.0.1:$(cat "$t_dir/smtp.port")|" \
    "$t_dir/demo.yaml" >"$cfg"
SECRET=s3cr3t-from-release-json-7c41
SECRET_STG=stg-override-secret-2b9e
export SHIPGATE_ENGINE_POLL_MS=100

ctl() { "$SHIPGATECTL" -c "$cfg" "$@"; }
sgtest() { "$TEST_PYTHON" "$top_srcdir/tests/integration/sgtest.py" "$@"; }
stage_is() {
	ctl --json show "$1" 2>/dev/null | "$TEST_PYTHON" -c "
import json, sys
run = json.load(sys.stdin)['run']
st = [s for s in run['stages'] if s['env'] == '$2']
sys.exit(0 if st and st[0]['status'] == '$3' else 1)"
}
# cs_param STACK PARAM: the parameter of the stack's latest change set
# (the fake's state), or "none" when it has none.
cs_param() {
	curl -sf "$fake_url/_fake/state" | "$TEST_PYTHON" -c "
import json, sys
cs = json.load(sys.stdin)['cloudformation']['change_sets']
v = [c['parameters'].get('$2') for c in cs.values() if c['stack'] == '$1']
print(v[-1] if v else 'none')"
}

# The release: DbPassword NoEcho in its template, set in `parameters`
# and, for STG, in an override.
"$TEST_PYTHON" - "$t_dir/r1.zip" "$SECRET" "$SECRET_STG" <<'EOF'
import importlib.util, io, json, os, sys, zipfile
top = os.environ["top_srcdir"]
sys.path.insert(0, top + "/tests/fakeaws")
spec = importlib.util.spec_from_file_location("d", top + "/tests/fakeaws/drop-release.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
data = m.release_zip("1.4.2", "secrets in release.json", "alice", "1.4.2",
                     {"DbPassword": sys.argv[2]}, noecho=["DbPassword"])
src = zipfile.ZipFile(io.BytesIO(data)); out = io.BytesIO()
with zipfile.ZipFile(out, "w") as z:
    for i in src.infolist():
        b = src.read(i)
        if i.filename == "release.json":
            j = json.loads(b)
            j["overrides"] = {"stg": {"parameters": {"DbPassword": sys.argv[3]}}}
            b = json.dumps(j, indent=2).encode()
        z.writestr(i, b)
open(sys.argv[1], "wb").write(out.getvalue())
EOF
ok "the release zip is made" test -s "$t_dir/r1.zip"
ok "(it holds the secrets)" sh -c "unzip -p '$t_dir/r1.zip' release.json | grep -qF '$SECRET'"

# Until the daemon is killed, DescribeStacks is slow: the run stays
# before its change set.
curl -sf -X POST -H 'Content-Type: application/json' --data \
    '{"service": "cloudformation", "operation": "DescribeStacks", "mode": "delay", "delay": 30, "count": 1000}' \
    "$fake_url/_fake/faults" >/dev/null
ok "DescribeStacks is slowed down" test $? -eq 0
t_start_daemon "$cfg"
ok "shipgated is ready" t_wait_for 30 t_log_has ' ready '
curl -sf -X DELETE "$fake_url/_fake/calls" >/dev/null
sgtest put "$fake_url" drops/billing-1.4.2.zip "$t_dir/r1.zip" >"$t_dir/put.out" 2>&1
ok "the release is dropped" test $? -eq 0
ok "intake masks the NoEcho values it stores" \
    t_wait_for 60 t_log_has 'NoEcho values masked in the stored release.json app=billing version=1.4.2 masked=2'
ok "the run's Int stage is pending (its stack being read)" t_wait_for 30 stage_is 1 int pending
curl -sf "$fake_url/_fake/calls" >"$t_dir/calls1.json"
ok "no change set was created yet" \
    "$TEST_PYTHON" -c "
import json, sys
c = json.load(open('$t_dir/calls1.json'))
sys.exit(0 if not c.get('cloudformation', {}).get('CreateChangeSet') else 1)"

# kill -9 between intake and the change set.
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
ok "shipgated is killed (-9)" t_dead "$daemon_pid"
curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null
t_start_daemon "$cfg"
ok "shipgated starts again" t_wait_for 30 sh -c "[ \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 2 ]"
ok "the run waits for the Int approval" t_wait_for 60 stage_is 1 int awaiting_approval
ok "the engine read the values from the release zip" \
    t_log_has 'NoEcho values read from the release zip app=billing run=1'
ok "the change set the fake received has the real value" \
    test "$(cs_param billing-int DbPassword)" = "$SECRET"

ctl --json show 1 >"$t_dir/show1.json" 2>&1
ctl show 1 >"$t_dir/show1.txt" 2>&1
ok "the run's parameter row: DbPassword added as ****, NoEcho" \
    sgtest check "[p for p in [s for s in d['run']['stages'] if s['env'] == 'int'][0]['parameters'] if p['name'] == 'DbPassword'][0]['new'] == '****' and [p for p in [s for s in d['run']['stages'] if s['env'] == 'int'][0]['parameters'] if p['name'] == 'DbPassword'][0]['no_echo'] is True" \
    "$t_dir/show1.json"

# STG: its override's value, from the release held in memory since.
ctl approve 1 --env int --as alice >/dev/null &&
    t_wait_for 60 stage_is 1 int awaiting_gate
ok "Int is deployed" test $? -eq 0
ctl authorise 1 --as alice >/dev/null
ok "STG waits for its approval" t_wait_for 60 stage_is 1 stg awaiting_approval
ok "STG's change set has the override's real value" \
    test "$(cs_param billing-stg DbPassword)" = "$SECRET_STG"
ctl --json show 1 >"$t_dir/show1b.json" 2>&1
listen=$(sed -n 's/^listen: //p' "$cfg")
base="http://$listen"
curl -s -c "$t_dir/jar" -b "$t_dir/jar" -o /dev/null --data-urlencode user=bob \
    --data-urlencode password=demo "$base/login"
curl -s -b "$t_dir/jar" -o "$t_dir/run1.html" "$base/runs/1"
curl -s -b "$t_dir/jar" -o "$t_dir/api1.json" "$base/api/v1/runs/1"
ok "the run page answers" grep -q 'DbPassword' "$t_dir/run1.html"
ok "the API answers" sgtest check "d['run']['id'] == 1" "$t_dir/api1.json"
ok "the approval mails were sent (Int, STG)" \
    t_wait_for 20 sh -c "[ \$(grep -l 'awaits your approval' '$t_dir'/mail/*.eml | wc -l) -ge 2 ]"

for s in "$SECRET" "$SECRET_STG"; do
	ok "$s: not in the page, the API or shipgatectl's output" \
	    sh -c "! grep -qF '$s' '$t_dir/run1.html' '$t_dir/api1.json' '$t_dir/show1.json' '$t_dir/show1b.json' '$t_dir/show1.txt'"
	ok "$s: nor in any mail" sh -c "! grep -rqF '$s' '$t_dir/mail'"
	ok "$s: nor in the daemon's log" sh -c "! grep -qF '$s' '$t_dir/shipgated.log'"
done
dbs=$(find "$t_dir" -name '*.db' -o -name '*.db-wal' -o -name '*.sqlite*' | tr '\n' ' ')
t_diag "database files: $dbs"
ok "nor in the database's files (WAL too)" \
    sh -c "[ -n '$dbs' ] && ! grep -qaF '$SECRET' $dbs && ! grep -qaF '$SECRET_STG' $dbs"
ok "(which hold the masked release.json: the grep reads them)" \
    sh -c "cat $dbs | grep -qaF 'secrets in release.json'"
ok "the stored release.json has **** for both values" \
    "$TEST_PYTHON" -c "
import json, sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
m = json.loads(db.execute('SELECT manifest FROM releases WHERE version = ?', ('1.4.2',)).fetchone()[0])
sys.exit(0 if m['parameters']['DbPassword'] == '****' and
         m['overrides']['stg']['parameters']['DbPassword'] == '****' and
         m['parameters']['ImageTag'] == '1.4.2' else 1)" $(find "$t_dir" -name '*.db' | head -1)
# A zip deleted from the bucket after intake: the values cannot be read,
# the stage fails saying so, and no change set is sent without them.
"$TEST_PYTHON" - "$t_dir/r2.zip" "$SECRET" <<'EOF'
import importlib.util, os, sys
top = os.environ["top_srcdir"]
spec = importlib.util.spec_from_file_location("d", top + "/tests/fakeaws/drop-release.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
open(sys.argv[1], "wb").write(m.release_zip("1.4.3", "zip deleted", "alice",
    "1.4.3", {"DbPassword": sys.argv[2]}, noecho=["DbPassword"]))
EOF
curl -sf -X POST -H 'Content-Type: application/json' --data \
    '{"service": "cloudformation", "operation": "DescribeStacks", "mode": "delay", "delay": 30, "count": 1000}' \
    "$fake_url/_fake/faults" >/dev/null
curl -sf -X DELETE "$fake_url/_fake/calls" >/dev/null
sgtest put "$fake_url" drops/billing-1.4.3.zip "$t_dir/r2.zip" >/dev/null 2>&1
ok "a second release is taken in, its value masked" \
    t_wait_for 60 t_log_has 'NoEcho values masked in the stored release.json app=billing version=1.4.3 masked=1'
ok "its Int stage is pending" t_wait_for 30 stage_is 2 int pending
"$TEST_PYTHON" -c "
import sys
sys.path.insert(0, '$top_srcdir/tests/fakeaws')
import boto3, fakeaws_keys as K
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url='$fake_url', region_name=K.DEFAULT_REGION,
                  aws_access_key_id=K.ACCESS_KEY_ID,
                  aws_secret_access_key=K.SECRET_ACCESS_KEY,
                  config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
s3.delete_object(Bucket='releases-billing', Key='drops/billing-1.4.3.zip')"
ok "its zip is deleted from the bucket" test $? -eq 0
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null
t_start_daemon "$cfg"
ok "shipgated starts again (kill -9 before)" \
    t_wait_for 30 sh -c "[ \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 3 ]"
ok "the stage fails" t_wait_for 60 stage_is 2 int failed
ctl --json show 2 >"$t_dir/show2.json" 2>&1
t_diag "reason: $(sgtest get "[s for s in d['run']['stages'] if s['env'] == 'int'][0]['reason']" "$t_dir/show2.json")"
ok "the reason says the release zip could not be read for its NoEcho values" \
    sgtest check "'reading the release zip for its NoEcho values failed: S3 GetObject: NoSuchKey' in [s for s in d['run']['stages'] if s['env'] == 'int'][0]['reason']" \
    "$t_dir/show2.json"
curl -sf "$fake_url/_fake/calls" >"$t_dir/calls2.json"
ok "no change set was created for it" \
    "$TEST_PYTHON" -c "
import json, sys
c = json.load(open('$t_dir/calls2.json'))
sys.exit(0 if not c.get('cloudformation', {}).get('CreateChangeSet') else 1)"
dbs=$(find "$t_dir" -name '*.db' -o -name '*.db-wal' -o -name '*.sqlite*' | tr '\n' ' ')
ok "the secret is still in neither the log nor the database" \
    sh -c "! grep -qF '$SECRET' '$t_dir/shipgated.log' && ! grep -qaF '$SECRET' $dbs"

# An operator masking a release by hand (stopped daemon, the JSON spaced
# otherwise): the run still reads the values from the zip.
"$TEST_PYTHON" - "$t_dir/r3.zip" "$SECRET" <<'EOF'
import importlib.util, os, sys
top = os.environ["top_srcdir"]
spec = importlib.util.spec_from_file_location("d", top + "/tests/fakeaws/drop-release.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
open(sys.argv[1], "wb").write(m.release_zip("1.4.4", "masked by hand", "alice",
    "1.4.4", {"DbPassword": sys.argv[2]}, noecho=["DbPassword"]))
EOF
curl -sf -X POST -H 'Content-Type: application/json' --data \
    '{"service": "cloudformation", "operation": "DescribeStacks", "mode": "delay", "delay": 30, "count": 1000}' \
    "$fake_url/_fake/faults" >/dev/null
sgtest put "$fake_url" drops/billing-1.4.4.zip "$t_dir/r3.zip" >/dev/null 2>&1
ok "a third release is taken in" \
    t_wait_for 60 t_log_has 'NoEcho values masked in the stored release.json app=billing version=1.4.4 masked=1'
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
"$TEST_PYTHON" -c "
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
m = json.loads(db.execute(\"SELECT manifest FROM releases WHERE version = '1.4.4'\").fetchone()[0])
db.execute(\"UPDATE releases SET manifest = ? WHERE version = '1.4.4'\",
           (json.dumps(m, indent=4, sort_keys=True),))
db.commit()" $(find "$t_dir" -name '*.db' | head -1)
ok "its stored release.json is rewritten by hand (spaced, keys sorted)" test $? -eq 0
curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null
curl -sf -X DELETE "$fake_url/_fake/calls" >/dev/null
t_start_daemon "$cfg"
ok "shipgated starts again" \
    t_wait_for 30 sh -c "[ \$(grep -c ' ready ' '$t_dir/shipgated.log') -ge 4 ]"
ok "the release's run waits for the Int approval" t_wait_for 60 stage_is 3 int awaiting_approval
ok "its change set has the real value" \
    test "$(cs_param billing-int DbPassword)" = "$SECRET"
ok "read from the zip" t_log_has 'NoEcho values read from the release zip app=billing run=3'
dbs=$(find "$t_dir" -name '*.db' -o -name '*.db-wal' -o -name '*.sqlite*' | tr '\n' ' ')
ok "at the end, the secrets are in neither the log, the mails nor the database" \
    sh -c "! grep -qF '$SECRET' '$t_dir/shipgated.log' && ! grep -qaF '$SECRET' $dbs && ! grep -qaF '$SECRET_STG' $dbs && ! grep -rqF '$SECRET' '$t_dir/mail'"

# A versioned bucket (as aws/shipgate-tools.yaml makes it): the run reads
# the zip by the version read at intake, so a zip deleted (a delete
# marker) after intake is still the one deployed, not a NoSuchKey.
"$TEST_PYTHON" - "$t_dir/r4.zip" "$SECRET" <<'EOF'
import importlib.util, os, sys
top = os.environ["top_srcdir"]
spec = importlib.util.spec_from_file_location("d", top + "/tests/fakeaws/drop-release.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
open(sys.argv[1], "wb").write(m.release_zip("1.4.5", "versioned", "alice",
    "1.4.5", {"DbPassword": sys.argv[2]}, noecho=["DbPassword"]))
EOF
s3py() {
	"$TEST_PYTHON" -c "
import sys
sys.path.insert(0, '$top_srcdir/tests/fakeaws')
import boto3, fakeaws_keys as K
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url='$fake_url', region_name=K.DEFAULT_REGION,
                  aws_access_key_id=K.ACCESS_KEY_ID,
                  aws_secret_access_key=K.SECRET_ACCESS_KEY,
                  config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
$1"
}
s3py "s3.put_bucket_versioning(Bucket='releases-billing', VersioningConfiguration={'Status': 'Enabled'})"
ok "the release bucket is versioned" test $? -eq 0
curl -sf -X POST -H 'Content-Type: application/json' --data \
    '{"service": "cloudformation", "operation": "DescribeStacks", "mode": "delay", "delay": 30, "count": 1000}' \
    "$fake_url/_fake/faults" >/dev/null
sgtest put "$fake_url" drops/billing-1.4.5.zip "$t_dir/r4.zip" >/dev/null 2>&1
ok "a release in the versioned bucket is taken in" \
    t_wait_for 60 t_log_has 'NoEcho values masked in the stored release.json app=billing version=1.4.5 masked=1'
vid=$(s3py "print(s3.head_object(Bucket='releases-billing', Key='drops/billing-1.4.5.zip')['VersionId'])")
ok "S3 gave it a version id" test -n "$vid" -a "$vid" != null
s3py "s3.delete_object(Bucket='releases-billing', Key='drops/billing-1.4.5.zip')"
ok "its key is deleted (a delete marker on top)" test $? -eq 0
curl -sf -X DELETE "$fake_url/_fake/faults" >/dev/null
ok "the run waits for the Int approval all the same" \
    t_wait_for 60 stage_is 4 int awaiting_approval
ok "the zip was read by the version recorded at intake" \
    t_log_has "reading the release zip app=billing run=4 s3://releases-billing/drops/billing-1.4.5.zip version=$vid"
ok "its change set has the real value" \
    test "$(cs_param billing-int DbPassword)" = "$SECRET"

ok "no sanitizer report in the daemon's log" \
    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$t_dir/shipgated.log'"
t_stop "$daemon_pid"
ok "shipgated stops cleanly" test $? -eq 0
t_done
