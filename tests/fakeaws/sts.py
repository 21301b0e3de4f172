"""STS (query protocol): AssumeRole, GetCallerIdentity, and the keyring the
signature check consults."""

import re

import fakeaws_keys as K
from core import AwsError, rand_alnum, now

OPERATIONS = {"AssumeRole", "GetCallerIdentity"}
ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


class StsState(object):
    def __init__(self):
        self.keys = {}        # access key -> record
        self.roles = {}       # role arn -> settings (external_id, trusted, max)
        self.keys[K.ACCESS_KEY_ID] = {
            "secret": K.SECRET_ACCESS_KEY, "token": None, "expiration": None,
            "account": K.TOOLS_ACCOUNT, "arn": K.TOOLS_USER_ARN,
            "user_id": K.TOOLS_USER_ID, "temporary": False,
        }


def st(state):
    return state.svc("sts", StsState)


def lookup_key(state, akid):
    with state.lock:
        rec = st(state).keys.get(akid)
        return dict(rec) if rec else None


def handle(state, req, op, p):
    if op == "GetCallerIdentity":
        return {"UserId": req.ident.user_id, "Account": req.ident.account,
                "Arn": req.ident.arn}
    if op == "AssumeRole":
        return assume_role(state, req, p)
    raise AwsError("InvalidAction", "Could not find operation %s for version "
                   "2011-06-15" % op, 400)


def assume_role(state, req, p):
    arn = p.get("RoleArn")
    sess = p.get("RoleSessionName")
    if not arn or len(arn) < 20:
        raise AwsError("ValidationError", "1 validation error detected: Value '%s' at "
                       "'roleArn' failed to satisfy constraint: Member must have length "
                       "greater than or equal to 20" % arn)
    m = ROLE_ARN.match(arn)
    if not m:
        raise AwsError("ValidationError", "%s is invalid" % arn)
    if not sess or not SESSION_NAME.match(sess):
        raise AwsError("ValidationError", "1 validation error detected: Value '%s' at "
                       "'roleSessionName' failed to satisfy constraint: Member must "
                       "satisfy regular expression pattern: [\\w+=,.@-]*" % sess)
    acct, _path, name = m.groups()
    with state.lock:
        role = st(state).roles.get(arn, {})
        denied = "User: %s is not authorized to perform: sts:AssumeRole on resource: %s" % (
            req.ident.arn, arn)
        if role.get("trusted") is False:
            raise AwsError("AccessDenied", denied, 403)
        want_ext = role.get("external_id")
        if want_ext is not None and p.get("ExternalId") != want_ext:
            raise AwsError("AccessDenied", denied, 403)
        maxdur = int(role.get("max_session_duration", 3600))
        dur = p.get("DurationSeconds", 3600)
        if dur < 900:
            raise AwsError("ValidationError", "1 validation error detected: Value '%d' "
                           "at 'durationSeconds' failed to satisfy constraint: Member must "
                           "have value greater than or equal to 900" % dur)
        if dur > maxdur or dur > 43200:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds "
                           "the MaxSessionDuration set for this role.")
        if req.ident.temporary and dur > 3600:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds "
                           "the 1 hour session limit for roles assumed by role chaining.")
        role_id = role.get("role_id")
        if role_id is None:
            role_id = "AROA" + rand_alnum(17)
            r = dict(role)
            r["role_id"] = role_id
            st(state).roles[arn] = r
        akid = "ASIA" + rand_alnum(16)
        secret = rand_alnum(40, upper=False)
        token = "FQoGZXIvYXdzE" + rand_alnum(200, upper=False)
        exp = int(now()) + dur
        assumed_arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, name, sess)
        st(state).keys[akid] = {
            "secret": secret, "token": token, "expiration": exp,
            "account": acct, "arn": assumed_arn, "user_id": "%s:%s" % (role_id, sess),
            "temporary": True, "role_arn": arn, "issued_at": now(),
        }
    return {
        "Credentials": {"AccessKeyId": akid, "SecretAccessKey": secret,
                        "SessionToken": token, "Expiration": float(exp)},
        "AssumedRoleUser": {"AssumedRoleId": "%s:%s" % (role_id, sess),
                            "Arn": assumed_arn},
    }


def control_expire(state, body):
    """Make issued credentials expire: one key, every key of a role, or all
    of them; `in_seconds` (default 0) from now."""
    when = now() + float(body.get("in_seconds", 0))
    n = 0
    with state.lock:
        for akid, rec in st(state).keys.items():
            if not rec["temporary"]:
                continue
            if body.get("access_key_id") and body["access_key_id"] != akid:
                continue
            if body.get("role_arn") and body["role_arn"] != rec.get("role_arn"):
                continue
            rec["expiration"] = when
            n += 1
    return {"expired": n}


def control_role(state, body):
    arn = body.get("role_arn")
    if not arn or not ROLE_ARN.match(arn):
        raise ValueError("role_arn: not an IAM role ARN")
    with state.lock:
        r = st(state).roles.setdefault(arn, {})
        for k in ("external_id", "trusted", "max_session_duration"):
            if k in body:
                r[k] = body[k]
        return dict(r)


def dump(state):
    s = st(state)
    return {"keys": {k: {kk: vv for kk, vv in v.items() if kk != "secret"}
                     for k, v in s.keys.items()},
            "roles": s.roles}
