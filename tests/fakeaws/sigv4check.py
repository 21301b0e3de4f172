"""SigV4 verification of requests as received, with botocore's own signer.

The signature is recomputed from the method, the path and query as sent, the
headers named in SignedHeaders and the payload hash, with the secret the fake
knows for the access key (static test key or one issued by AssumeRole).
Failures raise core.AwsError spelled as the service spells them.
"""

import datetime
import hashlib
import hmac
import os
import re
import sys

from botocore.auth import SigV4Auth, S3SigV4Auth, UNSIGNED_PAYLOAD
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from core import AwsError, sha256hex

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

MSG_MISMATCH_S3 = ("The request signature we calculated does not match the "
                   "signature you provided. Check your key and signing method.")
MSG_MISMATCH = ("The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key and "
                "signing method. Consult the service documentation for details.")
MSG_INVALID_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED_TOKEN = "The security token included in the request is expired"

# Wire family of each signing name ("sqs" depends on the request).
FAMILY = {"s3": "s3", "sts": "query", "cloudformation": "query",
          "ecs": "json", "ecr": "json", "ses": "restjson", "sqs": "sqs"}


class Identity(object):
    def __init__(self, access_key, account, arn, user_id, temporary):
        self.access_key = access_key
        self.account = account
        self.arn = arn
        self.user_id = user_id
        self.temporary = temporary

    @property
    def principal_id(self):
        return self.user_id


def family_of(service, req):
    f = FAMILY.get(service, "query")
    if f == "sqs":
        ct = req.header("Content-Type", "")
        if req.header("X-Amz-Target") or "json" in ct:
            return "sqsjson"
        return "sqsquery"
    return f


def auth_error(family, kind, message=None, extra=None):
    """AWS's spelling of an authentication failure for a wire family."""
    extra = extra or {}
    if family == "s3":
        table = {
            "missing": ("AccessDenied", 403, "Access Denied"),
            "malformed": ("AuthorizationHeaderMalformed", 400,
                          "The authorization header is malformed"),
            "query_malformed": ("AuthorizationQueryParametersError", 400,
                                "Query-string authentication requires parameters"),
            "unknown_key": ("InvalidAccessKeyId", 403,
                            "The AWS Access Key Id you provided does not exist in our records."),
            "bad_token": ("InvalidToken", 400,
                          "The provided token is malformed or otherwise invalid."),
            "expired_token": ("ExpiredToken", 400, "The provided token has expired."),
            "skew": ("RequestTimeTooSkewed", 403,
                     "The difference between the request time and the current time is too large."),
            "mismatch": ("SignatureDoesNotMatch", 403, MSG_MISMATCH_S3),
            "region": ("AuthorizationHeaderMalformed", 400,
                       "The authorization header is malformed"),
            "service": ("AuthorizationHeaderMalformed", 400,
                        "The authorization header is malformed"),
            "not_signed": ("AccessDenied", 403,
                           "There were headers present in the request which were not signed"),
            "presign_expired": ("AccessDenied", 403, "Request has expired"),
            "sigv2": ("InvalidRequest", 400, "The authorization mechanism you have "
                      "provided is not supported. Please use AWS4-HMAC-SHA256."),
        }
        code, status, msg = table[kind]
        return AwsError(code, message or msg, status, extra=extra)
    if family in ("query", "sqsquery", "sqsjson"):
        table = {
            "missing": ("MissingAuthenticationToken", 403,
                        "Request is missing Authentication Token"),
            "malformed": ("IncompleteSignature", 400, "Authorization header is malformed"),
            "query_malformed": ("IncompleteSignature", 400,
                                "Query-string authentication is malformed"),
            "unknown_key": ("InvalidClientTokenId", 403, MSG_INVALID_TOKEN),
            "bad_token": ("InvalidClientTokenId", 403, MSG_INVALID_TOKEN),
            "expired_token": ("ExpiredToken", 403, MSG_EXPIRED_TOKEN),
            "skew": ("SignatureDoesNotMatch", 403, "Signature expired"),
            "mismatch": ("SignatureDoesNotMatch", 403, MSG_MISMATCH),
            "region": ("SignatureDoesNotMatch", 403,
                       "Credential should be scoped to a valid region. "),
            "service": ("SignatureDoesNotMatch", 403,
                        "Credential should be scoped to correct service. "),
            "not_signed": ("SignatureDoesNotMatch", 403, MSG_MISMATCH),
            "presign_expired": ("SignatureDoesNotMatch", 403, "Signature expired"),
            "sigv2": ("IncompleteSignature", 400, "Signature Version 4 is required"),
        }
        code, status, msg = table[kind]
        e = AwsError(code, message or msg, status)
        if family == "sqsjson":
            e.query_code = code
        return e
    if family == "json":
        table = {
            "missing": ("MissingAuthenticationTokenException", 400,
                        "Missing Authentication Token"),
            "malformed": ("IncompleteSignatureException", 400,
                          "Authorization header is malformed"),
            "query_malformed": ("IncompleteSignatureException", 400,
                                "Query-string authentication is malformed"),
            "unknown_key": ("UnrecognizedClientException", 400, MSG_INVALID_TOKEN),
            "bad_token": ("UnrecognizedClientException", 400, MSG_INVALID_TOKEN),
            "expired_token": ("ExpiredTokenException", 400, MSG_EXPIRED_TOKEN),
            "skew": ("InvalidSignatureException", 400, "Signature expired"),
            "mismatch": ("InvalidSignatureException", 400, MSG_MISMATCH),
            "region": ("InvalidSignatureException", 400,
                       "Credential should be scoped to a valid region. "),
            "service": ("InvalidSignatureException", 400,
                        "Credential should be scoped to correct service. "),
            "not_signed": ("InvalidSignatureException", 400, MSG_MISMATCH),
            "presign_expired": ("InvalidSignatureException", 400, "Signature expired"),
            "sigv2": ("IncompleteSignatureException", 400,
                      "Signature Version 4 is required"),
        }
        code, status, msg = table[kind]
        return AwsError(code, message or msg, status)
    # restjson (SES v2): API Gateway style, 403 throughout.
    table = {
        "missing": ("MissingAuthenticationTokenException", "Missing Authentication Token"),
        "malformed": ("IncompleteSignatureException", "Authorization header is malformed"),
        "query_malformed": ("IncompleteSignatureException",
                            "Query-string authentication is malformed"),
        "unknown_key": ("UnrecognizedClientException", MSG_INVALID_TOKEN),
        "bad_token": ("UnrecognizedClientException", MSG_INVALID_TOKEN),
        "expired_token": ("ExpiredTokenException", MSG_EXPIRED_TOKEN),
        "skew": ("InvalidSignatureException", "Signature expired"),
        "mismatch": ("InvalidSignatureException", MSG_MISMATCH),
        "region": ("InvalidSignatureException",
                   "Credential should be scoped to a valid region. "),
        "service": ("InvalidSignatureException",
                    "Credential should be scoped to correct service. "),
        "not_signed": ("InvalidSignatureException", MSG_MISMATCH),
        "presign_expired": ("InvalidSignatureException", "Signature expired"),
        "sigv2": ("IncompleteSignatureException", "Signature Version 4 is required"),
    }
    code, msg = table[kind]
    return AwsError(code, message or msg, 403)


_CRED_RE = re.compile(r"^([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request$")


class ParsedAuth(object):
    presigned = False
    access_key = date = region = service = None
    signed_headers = ()
    signature = None
    amz_date = None
    expires = None
    token = None


def parse_auth(req):
    """Find the credential scope (header or presigned query).  Returns a
    ParsedAuth, or None when the request carries no SigV4 at all.  Raises
    AwsError("malformed") through `family` only later: here problems are
    returned as ParsedAuth.error so the service is known first."""
    pa = ParsedAuth()
    pa.error = None
    auth = req.header("Authorization")
    if (auth is not None and auth.startswith("AWS ")) or \
            (req.qget("AWSAccessKeyId") is not None and req.qget("Signature") is not None):
        pa.error = "sigv2"
        return pa
    if auth is not None:
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            pa.error = "malformed"
            m = re.search(r"Credential=([^,\s]+)", auth)
            if m:
                _fill_scope(pa, m.group(1))
            return pa
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        if not all(k in fields for k in ("Credential", "SignedHeaders", "Signature")):
            pa.error = "malformed"
        if not _fill_scope(pa, fields.get("Credential", "")):
            pa.error = "malformed"
        pa.signed_headers = [h for h in fields.get("SignedHeaders", "").split(";") if h]
        pa.signature = fields.get("Signature")
        pa.amz_date = req.header("X-Amz-Date")
        pa.token = req.header("X-Amz-Security-Token")
        if pa.amz_date is None and req.header("Date"):
            pa.amz_date = _http_date_to_amz(req.header("Date"))
        return pa
    if req.qget("X-Amz-Algorithm") is not None or req.qget("X-Amz-Credential") is not None:
        pa.presigned = True
        if req.qget("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            pa.error = "query_malformed"
        if not _fill_scope(pa, req.qget("X-Amz-Credential", "")):
            pa.error = "query_malformed"
        pa.signed_headers = [h for h in req.qget("X-Amz-SignedHeaders", "").split(";") if h]
        pa.signature = req.qget("X-Amz-Signature")
        pa.amz_date = req.qget("X-Amz-Date")
        pa.token = req.qget("X-Amz-Security-Token")
        pa.expires = req.qget("X-Amz-Expires")
        if not pa.signature or not pa.amz_date or not pa.signed_headers:
            pa.error = "query_malformed"
        return pa
    return None


def _fill_scope(pa, cred):
    m = _CRED_RE.match(cred)
    if not m:
        return False
    pa.access_key, pa.date, pa.region, pa.service = m.groups()
    return True


def _http_date_to_amz(value):
    from email.utils import parsedate_to_datetime
    try:
        d = parsedate_to_datetime(value)
        return d.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return None


def _amz_to_ts(amz):
    d = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def _fmt(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")


def verify(req, pa, family, lookup_key, now, valid_regions,
           max_skew=300, s3_max_skew=900):
    """Check the request; return an Identity or raise AwsError."""
    if pa.error:
        raise auth_error(family, pa.error)
    rec = lookup_key(pa.access_key)
    if rec is None:
        extra = {"AWSAccessKeyId": pa.access_key} if family == "s3" else None
        raise auth_error(family, "unknown_key", extra=extra)
    if rec["temporary"]:
        if not pa.token or not hmac.compare_digest(pa.token, rec["token"]):
            raise auth_error(family, "bad_token")
        if rec["expiration"] <= now:
            raise auth_error(family, "expired_token")
    elif pa.token:
        raise auth_error(family, "bad_token")

    # Date: present, parseable, in the scope's day, and near the clock.
    if not pa.amz_date:
        if family == "s3":
            raise AwsError("AccessDenied",
                           "AWS authentication requires a valid Date or x-amz-date header",
                           403)
        raise auth_error(family, "malformed",
                         "Authorization header requires existence of either a "
                         "'X-Amz-Date' or a 'Date' header.")
    try:
        ts = _amz_to_ts(pa.amz_date)
    except ValueError:
        raise auth_error(family, "malformed" if not pa.presigned else "query_malformed",
                         "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if pa.amz_date[:8] != pa.date:
        if family == "s3":
            raise auth_error(family, "malformed",
                             "The authorization header is malformed; Invalid credential "
                             "date. Date is not the same as X-Amz-Date.")
        raise auth_error(family, "mismatch",
                         "Date in Credential scope does not match YYYYMMDD from "
                         "ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
                         % (pa.date, pa.amz_date[:8], pa.amz_date))
    if pa.presigned:
        try:
            exp = int(pa.expires)
        except (TypeError, ValueError):
            raise auth_error(family, "query_malformed",
                             "X-Amz-Expires should be a number")
        if exp > 604800:
            raise auth_error(family, "query_malformed",
                             "X-Amz-Expires must be less than a week (in seconds) "
                             "that is 604800")
        if ts + exp < now:
            if family == "s3":
                raise auth_error(family, "presign_expired", extra={
                    "X-Amz-Expires": exp, "Expires": _iso(ts + exp),
                    "ServerTime": _iso(now)})
            raise auth_error(family, "presign_expired")
        if ts > now + max_skew:
            raise auth_error(family, "presign_expired" if family != "s3" else "skew")
    else:
        skew = s3_max_skew if family == "s3" else max_skew
        if abs(ts - now) > skew:
            if family == "s3":
                raise auth_error(family, "skew", extra={
                    "RequestTime": pa.amz_date, "ServerTime": _iso(now),
                    "MaxAllowedSkewMilliseconds": skew * 1000})
            if ts < now:
                msg = ("Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (pa.amz_date, _fmt(now - skew), _fmt(now)))
            else:
                msg = ("Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (pa.amz_date, _fmt(now + skew), _fmt(now)))
            raise auth_error(family, "skew", msg)

    # Scope: a region that exists (and is allowed), the right service.
    if valid_regions is not None and pa.region not in valid_regions:
        if family == "s3":
            raise auth_error(family, "region",
                             "The authorization header is malformed; the region '%s' "
                             "is wrong; expecting '%s'" % (
                                 pa.region, sorted(valid_regions)[0]
                                 if valid_regions else "us-east-1"),
                             extra={"Region": sorted(valid_regions)[0]
                                    if valid_regions else "us-east-1"})
        raise auth_error(family, "region")
    hr = _host_region(req.host)
    if hr and hr != pa.region:
        if family == "s3":
            raise auth_error(family, "region",
                             "The authorization header is malformed; the region '%s' "
                             "is wrong; expecting '%s'" % (pa.region, hr),
                             extra={"Region": hr})
        raise auth_error(family, "region")

    signed = [h.lower() for h in pa.signed_headers]
    if "host" not in signed:
        if family == "s3":
            raise auth_error(family, "malformed" if not pa.presigned else "query_malformed",
                             "Host must be a signed header")
        raise auth_error(family, "malformed",
                         "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if family == "s3":
        unsigned = sorted(set(k.lower() for k in req.headers.keys()
                              if k.lower().startswith("x-amz-")
                              and k.lower() not in signed))
        if unsigned:
            raise auth_error(family, "not_signed",
                             extra={"HeadersNotSigned": ", ".join(unsigned)})
    # The date must be signed (presigned: X-Amz-Date is in the signed query
    # string, required above): the header it was read from, X-Amz-Date
    # before Date, as AWS reads them.
    if not pa.presigned:
        date_header = "x-amz-date" if req.header("X-Amz-Date") is not None \
            else "date"
        if date_header not in signed:
            raise auth_error(family, "malformed",
                             "'X-Amz-Date' or 'Date' must be a 'SignedHeader' in "
                             "the AWS Authorization." if family != "s3" else
                             "The authorization header is malformed; the %s "
                             "header must be signed." % date_header)

    # Payload hash.
    if family == "s3":
        if pa.presigned:
            payload = UNSIGNED_PAYLOAD
        else:
            payload = req.header("X-Amz-Content-SHA256")
            if payload is None:
                raise AwsError("InvalidRequest",
                               "Missing required header for this request: "
                               "x-amz-content-sha256", 400)
            if payload == STREAMING or payload.startswith("STREAMING-"):
                raise AwsError("NotImplemented",
                               "A header you provided implies functionality that "
                               "is not implemented", 501,
                               extra={"Header": "x-amz-content-sha256"})
            if payload != UNSIGNED_PAYLOAD:
                if not re.match(r"^[0-9a-f]{64}$", payload):
                    raise AwsError("InvalidArgument",
                                   "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                   "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid "
                                   "sha256 value.", 400,
                                   extra={"ArgumentName": "x-amz-content-sha256",
                                          "ArgumentValue": payload})
                computed = sha256hex(req.body)
                if computed != payload:
                    raise AwsError("XAmzContentSHA256Mismatch",
                                   "The provided 'x-amz-content-sha256' header does "
                                   "not match what was computed.", 400,
                                   extra={"ClientComputedContentSHA256": payload,
                                          "S3ComputedContentSHA256": computed})
    else:
        payload = sha256hex(req.body)

    signer_cls = S3SigV4Auth if family == "s3" else SigV4Auth
    signer = signer_cls(Credentials(pa.access_key, rec["secret"]), pa.service, pa.region)
    if pa.presigned:
        params = [(k, v) for k, v in req.qparams if k != "X-Amz-Signature"]
    else:
        params = req.qparams
    awsreq = AWSRequest(method=req.method, url="http://%s%s" % (
        req.host or "localhost", req.path), headers={}, data=req.body)
    awsreq.params = params if params else {}
    awsreq.context["timestamp"] = pa.amz_date
    hmap = HTTPHeaders()
    for h in signed:
        vals = req.headers.get_all(h)
        if vals is None:
            raise auth_error(family, "mismatch" if family != "s3" else "mismatch")
        for v in vals:
            hmap[h] = v
    canonical = "\n".join([
        req.method.upper(),
        signer._normalize_url_path(req.path),
        signer._canonical_query_string_params(params) if params else "",
        signer.canonical_headers(hmap) + "\n",
        signer.signed_headers(hmap),
        payload,
    ])
    sts = signer.string_to_sign(awsreq, canonical)
    expected = signer.signature(sts, awsreq)
    if not hmac.compare_digest(expected, pa.signature or ""):
        if os.environ.get("FAKEAWS_DEBUG"):
            sys.stderr.write("fakeaws: signature mismatch for %s %s\n"
                             "--- canonical request\n%s\n--- string to sign\n%s\n---\n"
                             % (req.method, req.raw_target, canonical, sts))
        extra = None
        if family == "s3":
            extra = {"AWSAccessKeyId": pa.access_key, "StringToSign": sts,
                     "SignatureProvided": pa.signature or "",
                     "CanonicalRequest": canonical}
        raise auth_error(family, "mismatch", extra=extra)
    return Identity(pa.access_key, rec["account"], rec["arn"], rec["user_id"],
                    rec["temporary"])


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


_HOST_REGION = re.compile(
    r"(?:^|\.)(?:s3|sqs|sts|cloudformation|ecs|api\.ecr|email|queue)[.-]"
    r"([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com$")


def _host_region(host):
    """The region an AWS host name names, if any (endpoint overrides such as
    127.0.0.1:PORT name none)."""
    h = host.split(":")[0].lower()
    m = _HOST_REGION.search(h)
    return m.group(1) if m else None
