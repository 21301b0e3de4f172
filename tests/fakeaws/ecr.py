"""ECR (JSON 1.1): repositories, image manifests, layer bookkeeping and
authorization tokens.  Blobs' bytes are not served (real registries do
that); the fake records which layer digests a repository holds."""

import base64
import hashlib
import json
import re
import time
import uuid

from core import AwsError, rand_alnum

OPERATIONS = {"CreateRepository", "DescribeRepositories", "DeleteRepository",
              "PutImage", "BatchGetImage", "DescribeImages", "ListImages",
              "BatchDeleteImage", "BatchCheckLayerAvailability",
              "GetAuthorizationToken", "InitiateLayerUpload", "UploadLayerPart",
              "CompleteLayerUpload", "SetRepositoryPolicy", "GetRepositoryPolicy"}
REPO_RE = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
IMAGE_TYPES = ("application/vnd.docker.distribution.manifest.v2+json",
               "application/vnd.oci.image.manifest.v1+json",
               "application/vnd.docker.distribution.manifest.v1+json",
               "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json",
               "application/vnd.oci.image.index.v1+json")


class EcrState(object):
    def __init__(self):
        self.repos = {}       # (account, region, name) -> repo
        self.tokens = []      # issued passwords


def st(state):
    return state.svc("ecr", EcrState)


def _registry(req, p):
    rid = p.get("registryId") or req.ident.account
    if not re.match(r"^\d{12}$", rid):
        raise AwsError("InvalidParameterException", "Invalid parameter at 'registryId' "
                       "failed to satisfy constraint: 'must satisfy regular expression "
                       "'[0-9]{12}''")
    return rid


def _repo(state, req, p, op):
    rid = _registry(req, p)
    name = p.get("repositoryName")
    r = st(state).repos.get((rid, req.region, name))
    if r is None:
        raise AwsError("RepositoryNotFoundException", "The repository with name '%s' does "
                       "not exist in the registry with id '%s'" % (name, rid))
    if rid != req.ident.account and not r.get("policy"):
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: "
                       "ecr:%s on resource: %s because no resource-based policy allows "
                       "the ecr:%s action" % (req.ident.arn, op, r["repositoryArn"], op))
    return r


def _new_repo(acct, region, name, mutability="MUTABLE"):
    return {"repositoryArn": "arn:aws:ecr:%s:%s:repository/%s" % (region, acct, name),
            "registryId": acct, "repositoryName": name,
            "repositoryUri": "%s.dkr.ecr.%s.amazonaws.com/%s" % (acct, region, name),
            "createdAt": time.time(), "imageTagMutability": mutability,
            "imageScanningConfiguration": {"scanOnPush": False},
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "images": {}, "layers": {}, "uploads": {}, "policy": None}


def _pub(r):
    return {k: r[k] for k in ("repositoryArn", "registryId", "repositoryName",
                              "repositoryUri", "createdAt", "imageTagMutability",
                              "imageScanningConfiguration", "encryptionConfiguration")}


def handle(state, req, op, p):
    with state.lock:
        return globals()["op_" + op](state, req, p)


def op_CreateRepository(state, req, p):
    rid = _registry(req, p)
    name = p.get("repositoryName") or ""
    if not REPO_RE.match(name) or len(name) < 2 or len(name) > 256:
        raise AwsError("InvalidParameterException", "Invalid parameter at "
                       "'repositoryName' failed to satisfy constraint: 'must satisfy "
                       "regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+"
                       "(?:[._-][a-z0-9]+)*''")
    if rid != req.ident.account:
        raise AwsError("InvalidParameterException", "Invalid parameter at 'registryId' "
                       "failed to satisfy constraint: 'must be the caller's account'")
    key = (rid, req.region, name)
    if key in st(state).repos:
        raise AwsError("RepositoryAlreadyExistsException", "The repository with name '%s' "
                       "already exists in the registry with id '%s'" % (name, rid))
    r = _new_repo(rid, req.region, name, p.get("imageTagMutability") or "MUTABLE")
    if p.get("imageScanningConfiguration"):
        r["imageScanningConfiguration"] = p["imageScanningConfiguration"]
    st(state).repos[key] = r
    return {"repository": _pub(r)}


def op_DescribeRepositories(state, req, p):
    rid = _registry(req, p)
    names = p.get("repositoryNames")
    out = []
    if names:
        for n in names:
            out.append(_pub(_repo(state, req, dict(p, repositoryName=n),
                                  "DescribeRepositories")))
    else:
        out = [_pub(r) for (a, g, n), r in sorted(st(state).repos.items())
               if a == rid and g == req.region]
    return _paginate(out, p, "repositories")


def _paginate(items, p, name):
    start = 0
    if p.get("nextToken"):
        try:
            start = int(base64.b64decode(p["nextToken"]).decode())
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidParameterException", "Invalid parameter at 'nextToken' "
                           "failed to satisfy constraint: 'invalid token'")
    mr = p.get("maxResults") or 100
    page = items[start:start + mr]
    out = {name: page}
    if start + mr < len(items):
        out["nextToken"] = base64.b64encode(str(start + mr).encode()).decode()
    return out


def op_DeleteRepository(state, req, p):
    r = _repo(state, req, p, "DeleteRepository")
    if r["images"] and not p.get("force"):
        raise AwsError("RepositoryNotEmptyException", "The repository with name '%s' in "
                       "registry with id '%s' cannot be deleted because it still contains "
                       "images" % (r["repositoryName"], r["registryId"]))
    del st(state).repos[(r["registryId"], req.region, r["repositoryName"])]
    return {"repository": _pub(r)}


def _refs(manifest):
    """(media type, [(blob digest, size, media type)], [child manifest digests])"""
    mt = manifest.get("mediaType")
    blobs, children = [], []
    if "manifests" in manifest:
        children = [m.get("digest") for m in manifest.get("manifests") or []]
    else:
        c = manifest.get("config")
        if c:
            blobs.append((c.get("digest"), c.get("size", 0), c.get("mediaType")))
        for layer in manifest.get("layers") or []:
            blobs.append((layer.get("digest"), layer.get("size", 0),
                          layer.get("mediaType")))
    return mt, blobs, children


def op_PutImage(state, req, p):
    r = _repo(state, req, p, "PutImage")
    text = p.get("imageManifest")
    if not text:
        raise AwsError("InvalidParameterException", "Invalid parameter at "
                       "'imageManifest' failed to satisfy constraint: 'Member must not "
                       "be null'")
    try:
        man = json.loads(text)
        if not isinstance(man, dict):
            raise ValueError
    except ValueError:
        raise AwsError("InvalidParameterException", "Invalid parameter at "
                       "'ImageManifest' failed to satisfy constraint: 'Invalid JSON "
                       "syntax'")
    digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if p.get("imageDigest") and p["imageDigest"] != digest:
        raise AwsError("ImageDigestDoesNotMatchException", "Provided digest does not "
                       "match the computed digest of the image manifest")
    mt, blobs, children = _refs(man)
    want_mt = p.get("imageManifestMediaType")
    if want_mt and mt and want_mt != mt:
        raise AwsError("InvalidParameterException", "Invalid parameter at "
                       "'imageManifestMediaType' failed to satisfy constraint: 'Does not "
                       "match the media type in the manifest'")
    mt = want_mt or mt or IMAGE_TYPES[0]
    if mt not in IMAGE_TYPES + INDEX_TYPES:
        raise AwsError("UnsupportedImageTypeException", "Unsupported image type: %s" % mt)
    missing = [d for d, _, _ in blobs if d not in r["layers"]]
    if missing:
        raise AwsError("LayersNotFoundException", "The following layers were not found: "
                       "[%s]" % ", ".join(missing))
    missing = [d for d in children if d not in r["images"]]
    if missing:
        raise AwsError("ReferencedImagesNotFoundException", "The following referenced "
                       "images were not found: [%s]" % ", ".join(missing))
    tag = p.get("imageTag")
    if tag is not None and not TAG_RE.match(tag):
        raise AwsError("InvalidParameterException", "Invalid parameter at 'imageTag' "
                       "failed to satisfy constraint: 'must satisfy regular expression "
                       "'[a-zA-Z0-9-_.]+''")
    img = r["images"].get(digest)
    if img is not None and (tag is None or tag in img["tags"]):
        raise AwsError("ImageAlreadyExistsException", "Image with digest '%s' and tag "
                       "'%s' already exists in the repository with name '%s' in registry "
                       "with id '%s'" % (digest, tag, r["repositoryName"], r["registryId"]))
    if tag is not None:
        for d, other in r["images"].items():
            if d != digest and tag in other["tags"]:
                if r["imageTagMutability"] == "IMMUTABLE":
                    raise AwsError("ImageTagAlreadyExistsException", "The image tag '%s' "
                                   "already exists in the '%s' repository and cannot be "
                                   "overwritten because the repository is immutable."
                                   % (tag, r["repositoryName"]))
                other["tags"].remove(tag)
    if img is None:
        size = sum(int(s or 0) for _, s, _ in blobs)
        img = {"manifest": text, "mediaType": mt, "tags": [], "pushedAt": time.time(),
               "size": size,
               "artifactMediaType": (man.get("config") or {}).get("mediaType")}
        r["images"][digest] = img
    if tag is not None:
        img["tags"].append(tag)
    imageid = {"imageDigest": digest}
    if tag is not None:
        imageid["imageTag"] = tag
    return {"image": {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
                      "imageId": imageid, "imageManifest": text,
                      "imageManifestMediaType": mt}}


def _find(r, iid):
    d, t = iid.get("imageDigest"), iid.get("imageTag")
    if d:
        img = r["images"].get(d)
        if img is None:
            return None, None
        if t and t not in img["tags"]:
            return None, "mismatch"
        return d, img
    for dd, img in r["images"].items():
        if t in img["tags"]:
            return dd, img
    return None, None


def op_BatchGetImage(state, req, p):
    r = _repo(state, req, p, "BatchGetImage")
    ids = p.get("imageIds") or []
    if not ids:
        raise AwsError("InvalidParameterException", "Invalid parameter at 'imageIds' "
                       "failed to satisfy constraint: 'Member must have length greater "
                       "than or equal to 1'")
    accepted = p.get("acceptedMediaTypes")
    images, failures = [], []
    for iid in ids:
        d, img = _find(r, iid)
        if img == "mismatch":
            failures.append({"imageId": iid, "failureCode": "ImageTagDoesNotMatchDigest",
                             "failureReason": "Invalid image tag or digest"})
            continue
        if img is None:
            failures.append({"imageId": iid, "failureCode": "ImageNotFound",
                             "failureReason": "Requested image not found"})
            continue
        if accepted and img["mediaType"] not in accepted:
            failures.append({"imageId": iid, "failureCode": "UnsupportedImageType",
                             "failureReason": "Image manifest media type is not in the "
                             "accepted media types"})
            continue
        out_id = {"imageDigest": d}
        if iid.get("imageTag"):
            out_id["imageTag"] = iid["imageTag"]
        images.append({"registryId": r["registryId"], "repositoryName": r["repositoryName"],
                       "imageId": out_id, "imageManifest": img["manifest"],
                       "imageManifestMediaType": img["mediaType"]})
    return {"images": images, "failures": failures}


def _detail(r, d, img):
    x = {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
         "imageDigest": d, "imageSizeInBytes": img["size"], "imagePushedAt": img["pushedAt"],
         "imageManifestMediaType": img["mediaType"]}
    if img["tags"]:
        x["imageTags"] = list(img["tags"])
    if img.get("artifactMediaType"):
        x["artifactMediaType"] = img["artifactMediaType"]
    return x


def op_DescribeImages(state, req, p):
    r = _repo(state, req, p, "DescribeImages")
    ids = p.get("imageIds")
    out = []
    if ids:
        for iid in ids:
            d, img = _find(r, iid)
            if img is None or img == "mismatch":
                raise AwsError("ImageNotFoundException", "The image with imageId "
                               "{imageDigest:'%s', imageTag:'%s'} does not exist within the "
                               "repository with name '%s' in the registry with id '%s'"
                               % (iid.get("imageDigest") or "null",
                                  iid.get("imageTag") or "null", r["repositoryName"],
                                  r["registryId"]))
            out.append(_detail(r, d, img))
    else:
        ts = (p.get("filter") or {}).get("tagStatus", "ANY")
        for d, img in sorted(r["images"].items(), key=lambda kv: kv[1]["pushedAt"]):
            if ts == "TAGGED" and not img["tags"] or ts == "UNTAGGED" and img["tags"]:
                continue
            out.append(_detail(r, d, img))
    return _paginate(out, p, "imageDetails")


def op_ListImages(state, req, p):
    r = _repo(state, req, p, "ListImages")
    out = []
    for d, img in r["images"].items():
        if img["tags"]:
            out += [{"imageDigest": d, "imageTag": t} for t in img["tags"]]
        else:
            out.append({"imageDigest": d})
    return _paginate(out, p, "imageIds")


def op_BatchDeleteImage(state, req, p):
    r = _repo(state, req, p, "BatchDeleteImage")
    deleted, failures = [], []
    for iid in p.get("imageIds") or []:
        d, img = _find(r, iid)
        if img is None or img == "mismatch":
            failures.append({"imageId": iid, "failureCode": "ImageNotFound",
                             "failureReason": "Requested image not found"})
            continue
        if iid.get("imageTag") and not iid.get("imageDigest") and len(img["tags"]) > 1:
            img["tags"].remove(iid["imageTag"])
            deleted.append({"imageDigest": d, "imageTag": iid["imageTag"]})
            continue
        del r["images"][d]
        deleted.append({"imageDigest": d})
    return {"imageIds": deleted, "failures": failures}


def op_BatchCheckLayerAvailability(state, req, p):
    r = _repo(state, req, p, "BatchCheckLayerAvailability")
    layers, failures = [], []
    for d in p.get("layerDigests") or []:
        if not DIGEST_RE.match(d or ""):
            failures.append({"layerDigest": d, "failureCode": "InvalidLayerDigest",
                             "failureReason": "Invalid layer digest"})
        elif d in r["layers"]:
            size, mt = r["layers"][d]
            x = {"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": size}
            if mt:
                x["mediaType"] = mt
            layers.append(x)
        else:
            failures.append({"layerDigest": d, "failureCode": "MissingLayerDigest",
                             "failureReason": "Layer not found"})
    return {"layers": layers, "failures": failures}


def op_GetAuthorizationToken(state, req, p):
    ids = p.get("registryIds") or [req.ident.account]
    out = []
    for rid in ids:
        password = "eyJwYXlsb2FkIjoi" + rand_alnum(120, upper=False)
        exp = time.time() + 12 * 3600
        st(state).tokens.append({"registry": rid, "region": req.region,
                                 "password": password, "expiresAt": exp})
        out.append({"authorizationToken": base64.b64encode(
            ("AWS:" + password).encode()).decode(),
            "expiresAt": round(exp, 3),
            "proxyEndpoint": "https://%s.dkr.ecr.%s.amazonaws.com" % (rid, req.region)})
    return {"authorizationData": out}


def op_InitiateLayerUpload(state, req, p):
    r = _repo(state, req, p, "InitiateLayerUpload")
    uid = str(uuid.uuid4())
    r["uploads"][uid] = bytearray()
    return {"uploadId": uid, "partSize": 10485760}


def _upload(r, p):
    uid = p.get("uploadId")
    if uid not in r["uploads"]:
        raise AwsError("UploadNotFoundException", "Upload with id '%s' could not be found "
                       "for repository '%s'" % (uid, r["repositoryName"]))
    return uid, r["uploads"][uid]


def op_UploadLayerPart(state, req, p):
    r = _repo(state, req, p, "UploadLayerPart")
    uid, buf = _upload(r, p)
    try:
        data = base64.b64decode(p.get("layerPartBlob") or "", validate=True)
    except ValueError:
        raise AwsError("InvalidParameterException", "Invalid parameter at "
                       "'layerPartBlob' failed to satisfy constraint: 'base64'")
    first, last = p.get("partFirstByte"), p.get("partLastByte")
    if first != len(buf) or last != first + len(data) - 1:
        raise AwsError("InvalidLayerPartException", "The layer part size is not valid, or "
                       "the first byte specified is not consecutive to the last byte of a "
                       "previous layer part upload.", extra={
                           "registryId": r["registryId"],
                           "repositoryName": r["repositoryName"], "uploadId": uid,
                           "lastValidByteReceived": len(buf) - 1})
    buf.extend(data)
    return {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
            "uploadId": uid, "lastByteReceived": len(buf) - 1}


def op_CompleteLayerUpload(state, req, p):
    r = _repo(state, req, p, "CompleteLayerUpload")
    uid, buf = _upload(r, p)
    digests = p.get("layerDigests") or []
    actual = "sha256:" + hashlib.sha256(bytes(buf)).hexdigest()
    if len(buf) == 0:
        raise AwsError("EmptyUploadException", "The specified layer upload does not "
                       "contain any layer parts.")
    if digests != [actual]:
        raise AwsError("InvalidLayerException", "The layer digest calculation performed "
                       "by Amazon ECR upon receipt of the image layer does not match the "
                       "digest specified.")
    del r["uploads"][uid]
    if actual in r["layers"]:
        raise AwsError("LayerAlreadyExistsException", "The image layer already exists in "
                       "the associated repository.")
    r["layers"][actual] = (len(buf), None)
    return {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
            "uploadId": uid, "layerDigest": actual}


def op_SetRepositoryPolicy(state, req, p):
    r = _repo(state, req, p, "SetRepositoryPolicy")
    if r["registryId"] != req.ident.account:
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: "
                       "ecr:SetRepositoryPolicy on resource: %s" % (req.ident.arn,
                                                                     r["repositoryArn"]))
    try:
        json.loads(p.get("policyText") or "")
    except ValueError:
        raise AwsError("InvalidParameterException", "Invalid parameter at 'PolicyText' "
                       "failed to satisfy constraint: 'Invalid repository policy provided'")
    r["policy"] = p["policyText"]
    return {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
            "policyText": r["policy"]}


def op_GetRepositoryPolicy(state, req, p):
    r = _repo(state, req, p, "GetRepositoryPolicy")
    if not r.get("policy"):
        raise AwsError("RepositoryPolicyNotFoundException", "Repository policy does not "
                       "exist for the repository with name '%s' in the registry with id "
                       "'%s'" % (r["repositoryName"], r["registryId"]))
    return {"registryId": r["registryId"], "repositoryName": r["repositoryName"],
            "policyText": r["policy"]}


# ---------------------------------------------------------------- set-up helpers

def setup_repo(state, account, region, name):
    with state.lock:
        key = (account, region, name)
        r = st(state).repos.get(key)
        if r is None:
            r = _new_repo(account, region, name)
            st(state).repos[key] = r
        return r


def setup_layers(state, account, region, name, layers):
    """layers: [{"digest": "sha256:...", "size": n, "mediaType": ...}]"""
    with state.lock:
        r = setup_repo(state, account, region, name)
        for layer in layers:
            r["layers"][layer["digest"]] = (int(layer.get("size", 0)),
                                            layer.get("mediaType"))
        return len(r["layers"])


def setup_tag(state, account, region, name, tag, seed=None, if_missing=False):
    """Point tag at a new single-platform image (its config made from
    seed), as a build pushing that tag again would: a tag naming another
    image moves (on a MUTABLE repository).  With if_missing, a tag already
    there is left alone.  Returns {"digest", "moved_from"}."""
    if not TAG_RE.match(tag):
        raise ValueError("tag: not a tag")
    with state.lock:
        r = st(state).repos.get((account, region, name))
        if r is None:
            raise ValueError("no repository %s in %s/%s" % (name, account, region))
        old = [d for d, img in r["images"].items() if tag in img["tags"]]
        if old and if_missing:
            return {"digest": old[0], "moved_from": None}
        if old and r["imageTagMutability"] == "IMMUTABLE":
            raise ValueError("repository %s is immutable" % name)
        seed = seed if seed is not None else uuid.uuid4().hex
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Labels": {"seed": str(seed)}}}).encode()
        layer = hashlib.sha256(b"layer " + str(seed).encode()).hexdigest()
        cdig = "sha256:" + hashlib.sha256(cfg).hexdigest()
        ldig = "sha256:" + layer
        r["layers"][cdig] = (len(cfg), "application/vnd.docker.container.image.v1+json")
        r["layers"][ldig] = (1024, "application/vnd.docker.image.rootfs.diff.tar.gzip")
        text = json.dumps({
            "schemaVersion": 2, "mediaType": IMAGE_TYPES[0],
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(cfg), "digest": cdig},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 1024, "digest": ldig}]}, indent=3)
        digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        for d in old:
            if d != digest:
                r["images"][d]["tags"].remove(tag)
        img = r["images"].get(digest)
        if img is None:
            img = {"manifest": text, "mediaType": IMAGE_TYPES[0], "tags": [],
                   "pushedAt": time.time(), "size": len(cfg) + 1024,
                   "artifactMediaType": "application/vnd.docker.container.image.v1+json"}
            r["images"][digest] = img
        if tag not in img["tags"]:
            img["tags"].append(tag)
        return {"digest": digest,
                "moved_from": next((d for d in old if d != digest), None)}


def dump(state):
    out = {}
    for (a, g, n), r in st(state).repos.items():
        out["%s/%s/%s" % (a, g, n)] = {
            "images": {d: {"tags": i["tags"], "mediaType": i["mediaType"]}
                       for d, i in r["images"].items()},
            "layers": sorted(r["layers"])}
    return {"repositories": out, "tokens": st(state).tokens}
