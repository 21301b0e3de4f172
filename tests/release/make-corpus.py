#!/usr/bin/python3
"""
The release corpus for tests/unit/test-release: writes one zip per case into
DIR and DIR/cases, a line per case:

	NAME <tab> LIMITS <tab> CODE <tab> REASON

LIMITS is "-" for the defaults or "key=value,..." (struct release_limits'
fields); CODE is release_code_name's ("ok" for a good release, whose REASON
is "-").  Every bad case says next to it the exact reason release_read must
give.  Zips are written byte by byte (raw_zip) so that headers can lie,
names can hold NUL or bytes that are not UTF-8, and entries can claim to be
encrypted or symbolic links; the good ones also come from zipfile.

	make-corpus.py DIR
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

APP = "billing"

TEMPLATE_YAML = b"""AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ImageTag: {Type: String}
  Environment: {Type: String, Default: int}
Resources:
  Service:
    Type: AWS::ECS::Service
    Properties:
      DesiredCount: 1
"""

TEMPLATE_JSON = json.dumps({
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"ImageTag": {"Type": "String"}},
    "Resources": {"Service": {"Type": "AWS::ECS::Service",
                              "Properties": {"DesiredCount": 1}}},
}, indent=2).encode()

DIGEST = "sha256:" + "0123456789abcdef" * 4

BASE = {
    "app": APP,
    "version": "1.4.2",
    "message": "Fix invoice rounding on credit notes",
    "author": "alice",
    "template": "template.yaml",
    "images": [{"repository": "billing/web", "tag": "1.4.2"},
               {"repository": "billing/worker", "digest": DIGEST}],
    "parameters": {"ImageTag": "1.4.2"},
}

DELETE = object()


class Entry:
    """One entry as raw_zip writes it; size, comp_size and crc lie when
    given."""

    def __init__(self, name, data=b"", method=8, flags=0, system=3,
                 mode=0o100644, size=None, comp_size=None, crc=None):
        self.name = name.encode() if isinstance(name, str) else name
        self.data = data
        self.method = method
        self.flags = flags
        self.system = system
        self.mode = mode
        self.size = size
        self.comp_size = comp_size
        self.crc = crc


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def raw_zip(entries):
    out = io.BytesIO()
    central = io.BytesIO()
    for e in entries:
        packed = deflate(e.data) if e.method == 8 else e.data
        crc = e.crc if e.crc is not None else zlib.crc32(e.data)
        size = e.size if e.size is not None else len(e.data)
        csize = e.comp_size if e.comp_size is not None else len(packed)
        offset = out.tell()
        # version 2.0, flags, method, time 12:00, date 2026-01-01
        common = struct.pack("<HHHHHIII", 20, e.flags, e.method, 0x6000,
                             0x5c21, crc, csize, size)
        out.write(struct.pack("<I", 0x04034b50) + common +
                  struct.pack("<HH", len(e.name), 0) + e.name + packed)
        central.write(struct.pack("<IH", 0x02014b50, (e.system << 8) | 20) +
                      common +
                      struct.pack("<HHHHHII", len(e.name), 0, 0, 0, 0,
                                  (e.mode << 16) & 0xffffffff, offset) +
                      e.name)
    cd = central.getvalue()
    cd_off = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries),
                          len(entries), len(cd), cd_off, 0))
    return out.getvalue()


def manifest(**changes):
    m = json.loads(json.dumps(BASE))
    for k, v in changes.items():
        if v is DELETE:
            del m[k]
        else:
            m[k] = v
    return json.dumps(m).encode()


def release(man=None, template=TEMPLATE_YAML, name="template.yaml",
            extra=(), first=()):
    """A release zip: first, release.json, the template, then extra."""
    entries = list(first)
    entries.append(Entry("release.json", man if man is not None
                         else manifest()))
    if template is not None:
        entries.append(Entry(name, template))
    entries.extend(extra)
    return raw_zip(entries)


cases = []


def bad(name, code, reason, data, limits="-"):
    cases.append((name, limits, code, reason, data))


def good(name, data, limits="-"):
    cases.append((name, limits, "ok", "-", data))


def image_case(name, img, reason):
    bad(name, "manifest", reason,
        release(manifest(images=[BASE["images"][0], img]))
        if "images[1]" in reason else release(manifest(images=[img])))


# --- good releases ----------------------------------------------------------
good("good-yaml-tag-digest", release())

zf = io.BytesIO()
with zipfile.ZipFile(zf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("release.json", manifest(
        template="stack.json",
        images=[{"repository": "billing/worker", "digest": DIGEST}],
        parameters={"ImageTag": "1.4.2", "DesiredCount": "2"},
        overrides={"prod": {"parameters": {"DesiredCount": "4"}},
                   "stg": {"parameters": {}}},
        checks=["login-and-name"]))
    z.writestr("stack.json", TEMPLATE_JSON)
good("good-json-overrides-zipfile", zf.getvalue())

zf = io.BytesIO()
with zipfile.ZipFile(zf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("cfn/", b"")
    z.writestr("cfn/service.yml", TEMPLATE_YAML)
    z.writestr("docs/café.md", "Notes, en français.\n".encode())
    z.writestr("release.json", manifest(template="cfn/service.yml",
                                        message="Line one\n\tindented"))
good("good-subdir-utf8-stored", zf.getvalue())

zf = io.BytesIO()
with zipfile.ZipFile(zf, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("release.json", "w", force_zip64=True) as f:
        f.write(manifest())
    with z.open("template.yaml", "w", force_zip64=True) as f:
        f.write(TEMPLATE_YAML)
good("good-zip64-fields", zf.getvalue())

# 60,000 bytes: more than CloudFormation takes inline, and text-like.
big = b"".join(b"# line %05d of a large template, padded\n" % i
               for i in range(1500))[:60000]
# images[].parameter naming a parameter the template declares (YAML).
good("good-image-parameter",
     release(manifest(images=[{"repository": "billing/web", "tag": "1.4.2",
                               "parameter": "Environment"}])))
good("good-large-template", release(template=TEMPLATE_YAML + big))

# Very compressible, but below the size the ratio applies to.
good("good-small-zeros", release(extra=[Entry("zeros.bin",
                                              b"\0" * 32768)]))

# --- the zip ------------------------------------------------------------------
valid = release()
bad("empty", "not-a-zip", "zip: the file is empty", b"")
bad("not-a-zip", "not-a-zip", "zip: not a zip archive",
    b"This is a text file, not a zip.\n" * 8)
bad("truncated-half", "not-a-zip",
    "zip: truncated (it starts as a zip but its central directory is "
    "missing)",
    valid[:len(valid) // 2])
# The end record is there but the directory it points to is cut.
cut = valid[:len(valid) - 22 - 40] + valid[len(valid) - 22:]
bad("truncated-directory", "not-a-zip",
    "zip: damaged or truncated (its directory is inconsistent)", cut)
bad("too-big", "limit",
    "zip: %d bytes, more than the 256 bytes allowed" % len(valid), valid,
    "zip_size=256")
bad("too-many-entries", "limit", "zip: 201 entries, more than the 200 allowed",
    release(extra=[Entry("f%03d.txt" % i, b"x") for i in range(199)]))
bad("entry-too-big", "limit",
    'zip: entry "big.bin": 4KiB unpacked, more than the 1KiB allowed '
    'per entry',
    release(extra=[Entry("big.bin", os.urandom(4096), method=0)]),
    "entry_size=1024")
bad("unpacked-too-big", "limit",
    "zip: entries unpack to more than the 8KiB allowed",
    release(extra=[Entry("part%d.bin" % i, b"y" * 4096, method=0)
                   for i in range(3)]),
    "unpacked_size=8192")

bomb = b"\0" * (4 * 1024 * 1024)
bomb_packed = len(deflate(bomb))
bad("zip-bomb", "limit",
    'zip: entry "bomb.bin": expands 1:%d, more than the 1:100 allowed'
    % (len(bomb) // bomb_packed),
    release(extra=[Entry("bomb.bin", bomb)]))
bad("zip-bomb-ratio-limit", "limit",
    'zip: entry "zeros.bin": expands 1:%d, more than the 1:10 allowed'
    % (65536 // len(deflate(b"\0" * 65536))),
    release(extra=[Entry("zeros.bin", b"\0" * 65536)]), "ratio=10")
# The header claims 100 bytes; the data unpacks to 200,000.
bad("header-lies-small", "entry",
    'zip: entry "liar.yaml": holds more data than the 100 bytes its '
    'header claims',
    release(extra=[Entry("liar.yaml", b"z" * 200000, size=100)]))
bad("header-lies-large", "entry",
    'zip: entry "short.yaml": holds 100 bytes, not the 5000 its header '
    'claims',
    release(extra=[Entry("short.yaml", b"s" * 100, size=5000)]))
bad("header-lies-stored", "entry",
    'zip: entry "stored.yaml": holds more data than the 100 bytes its '
    'header claims',
    release(extra=[Entry("stored.yaml", b"s" * 5000, method=0, size=100)]))
bad("bad-crc", "entry",
    'zip: entry "template.yaml": cannot be read: CRC error',
    raw_zip([Entry("release.json", manifest()),
             Entry("template.yaml", TEMPLATE_YAML, crc=0x12345678)]))

# --- entry names ------------------------------------------------------------
bad("slip-dotdot", "name",
    'zip: entry "../evil.yaml": name must be relative, without ".."',
    release(extra=[Entry("../evil.yaml", b"x")]))
bad("slip-inner-dotdot", "name",
    'zip: entry "cfn/../../evil.yaml": name must be relative, without ".."',
    release(extra=[Entry("cfn/../../evil.yaml", b"x")]))
bad("slip-absolute", "name",
    'zip: entry "/etc/cron.d/evil": name must be relative, without a '
    'leading "/"',
    release(extra=[Entry("/etc/cron.d/evil", b"x")]))
bad("slip-backslash", "name",
    'zip: entry "..\\\\evil.yaml": name must not contain a backslash',
    release(extra=[Entry("..\\evil.yaml", b"x")]))
bad("name-nul", "name",
    'zip: entry "template.yaml": name contains a NUL byte',
    release(extra=[Entry(b"template.yaml\0../../evil", b"x")]))
bad("name-not-utf8", "name",
    'zip: entry "caf\\xe9.yaml": name is not valid UTF-8',
    release(extra=[Entry(b"caf\xe9.yaml", b"x")]))
bad("name-control", "name",
    'zip: entry "a\\x1bb.yaml": name contains a control character',
    release(extra=[Entry(b"a\x1bb.yaml", b"x")]))
bad("name-dot-part", "name",
    'zip: entry "./template.yaml": name must not have empty or "." parts',
    release(extra=[Entry("./template.yaml", b"x")]))
bad("name-empty-part", "name",
    'zip: entry "cfn//stack.yaml": name must not have empty or "." parts',
    release(extra=[Entry("cfn//stack.yaml", b"x")]))
long_name = "d/" * 150
bad("name-too-long", "name",
    'zip: entry "%s...": name is 300 bytes long, more than the 255 allowed'
    % long_name[:80],
    release(extra=[Entry(long_name, b"")]))
bad("duplicate-names", "name", 'zip: entry "template.yaml": appears twice',
    release(extra=[Entry("template.yaml", b"other")]))

# --- entry kinds ------------------------------------------------------------
bad("symlink", "entry", 'zip: entry "link.yaml": is a symbolic link',
    release(extra=[Entry("link.yaml", b"/etc/passwd", method=0,
                         mode=0o120777)]))
bad("symlink-template", "entry",
    'zip: entry "template.yaml": is a symbolic link',
    raw_zip([Entry("release.json", manifest()),
             Entry("template.yaml", b"../../secret.yaml", mode=0o120777)]))
bad("fifo", "entry",
    'zip: entry "pipe": is not a regular file (mode 010644)',
    release(extra=[Entry("pipe", b"", method=0, mode=0o010644)]))
bad("encrypted", "entry", 'zip: entry "template.yaml": is encrypted',
    raw_zip([Entry("release.json", manifest()),
             Entry("template.yaml", TEMPLATE_YAML, flags=1)]))
bad("method-bzip2", "entry",
    'zip: entry "notes.txt": compression method 12 is not supported '
    '(stored or deflated only)',
    release(extra=[Entry("notes.txt", b"BZh91AY&SY", method=12)]))
bad("directory-with-data", "entry",
    'zip: entry "cfn/": a directory that holds data',
    release(extra=[Entry("cfn/", b"data", mode=0o040755)]))

# --- release.json -----------------------------------------------------------
bad("no-manifest", "no-manifest",
    "zip: no release.json at the top of the archive",
    raw_zip([Entry("template.yaml", TEMPLATE_YAML)]))
bad("manifest-in-subdir", "no-manifest",
    "zip: no release.json at the top of the archive",
    raw_zip([Entry("app/release.json", manifest()),
             Entry("template.yaml", TEMPLATE_YAML)]))
bad("manifest-not-json", "manifest",
    "release.json: not JSON: line 1 column 12: unexpected newline",
    release(b'{"app": "bil\nling"}'))
bad("manifest-truncated", "manifest",
    "release.json: not JSON: line 1 column 17: '}' expected near end of "
    "file",
    release(b'{"app": "billing"'))
bad("manifest-yaml", "manifest",
    "release.json: not JSON: line 1 column 3: '[' or '{' expected",
    release(b"app: billing\nversion: 1.4.2\n"))
bad("manifest-too-deep", "manifest",
    "release.json: nested deeper than 8 levels",
    release(manifest(parameters=json.loads("[" * 20 + "]" * 20))))
# Text that does not compress 1:100, so the size is what is refused.
big_man = manifest(message="".join("%08x" % (i * 2654435761 & 0xffffffff)
                                   for i in range(8750)))
bad("manifest-too-large", "manifest",
    "release.json: %d bytes, more than the 64KiB allowed" % len(big_man),
    release(big_man))
bad("manifest-array", "manifest",
    "release.json: expected an object at the top, got an array",
    release(b"[]"))
bad("manifest-duplicate-key", "manifest",
    "release.json: not JSON: line 1 column 40: duplicate object key near "
    "'\"app\"'",
    release(b'{"app": "billing", "version": "1", "app": "billing"}'))
bad("manifest-nul", "manifest",
    "release.json: not JSON: line 1 column 24: \\u0000 is not allowed "
    "without JSON_ALLOW_NUL",
    release(b'{"app": "billing\\u0000x"}'))
bad("manifest-not-utf8", "manifest",
    "release.json: not JSON: line 1 column 12: unable to decode byte 0xff",
    release(b'{"app": "bil\xffling"}'))
bad("unknown-key", "manifest",
    'release.json: unknown key "branch" (app, version, message, author, '
    'template, images, parameters, overrides, checks)',
    release(manifest(branch="main")))

bad("wrong-app", "app",
    'release.json: app: "payroll" is not this app ("billing")',
    release(manifest(app="payroll")))
bad("app-missing", "manifest", "release.json: app: missing",
    release(manifest(app=DELETE)))
bad("app-integer", "manifest",
    "release.json: app: expected a string, got an integer",
    release(manifest(app=42)))
bad("version-missing", "manifest", "release.json: version: missing",
    release(manifest(version=DELETE)))
bad("version-number", "manifest",
    "release.json: version: expected a string, got a number",
    release(manifest(version=1.4)))
bad("version-charset", "manifest",
    "release.json: version: \"1.4.2 beta\" must be 1 to 128 letters, "
    "digits, '.', '_', '-' or '+'",
    release(manifest(version="1.4.2 beta")))
bad("version-slash", "manifest",
    "release.json: version: \"../1.4\" must be 1 to 128 letters, digits, "
    "'.', '_', '-' or '+'",
    release(manifest(version="../1.4")))
bad("version-empty", "manifest",
    "release.json: version: \"\" must be 1 to 128 letters, digits, '.', "
    "'_', '-' or '+'",
    release(manifest(version="")))
bad("version-too-long", "manifest",
    "release.json: version: \"%s...\" must be 1 to 128 letters, digits, "
    "'.', '_', '-' or '+'" % ("9" * 80),
    release(manifest(version="9" * 129)))
bad("message-array", "manifest",
    "release.json: message: expected a string, got an array",
    release(manifest(message=["a"])))
bad("message-too-long", "manifest",
    "release.json: message: 5000 bytes, more than the 4096 allowed",
    release(manifest(message="x" * 5000)))
bad("message-bell", "manifest",
    "release.json: message: control character U+0007 at byte 4 (only "
    "newline and tab are allowed)",
    release(manifest(message="Fix \a now")))
bad("message-escape", "manifest",
    "release.json: message: control character U+001B at byte 0 (only "
    "newline and tab are allowed)",
    release(manifest(message="\x1b[31mred")))
bad("message-c1", "manifest",
    "release.json: message: control character U+009B at byte 3 (only "
    "newline and tab are allowed)",
    release(manifest(message="caf\u009b")))
bad("author-charset", "manifest",
    "release.json: author: \"alice smith\" must be 1 to 128 letters, "
    "digits, '.', '_', '@', '+' or '-'",
    release(manifest(author="alice smith")))
bad("author-null", "manifest",
    "release.json: author: expected a string, got null",
    release(manifest(author=None)))

bad("template-missing-entry", "template",
    'release.json: template: "stack.yaml" is not in the zip',
    release(manifest(template="stack.yaml")))
bad("template-extension", "template",
    'release.json: template: "template.txt" must end in .yaml, .yml or .json',
    release(manifest(template="template.txt"), name="template.txt"))
bad("template-slip", "template",
    'release.json: template: "../template.yaml": name must be relative, '
    'without ".."',
    release(manifest(template="../template.yaml")))
# A directory named like the template is not the template.
bad("template-directory", "template",
    'release.json: template: "cfn.yaml" is not in the zip',
    release(manifest(template="cfn.yaml"), template=None,
            extra=[Entry("cfn.yaml/", b"", mode=0o040755)]))
bad("template-boolean", "manifest",
    "release.json: template: expected a string, got a boolean",
    release(manifest(template=True)))
bad("template-empty", "template", "template.yaml: empty",
    release(template=b""))
bad("template-not-utf8", "template",
    "template.yaml: not valid UTF-8 at byte 9",
    release(template=b"Resources\xff: {}\n"))

bad("template-not-yaml", "template",
    "template.yaml: not YAML: line 3 column 12: mapping values are not "
    "allowed in this context",
    release(template=b"Resources:\n  Service:\n    Type: a: b\n"))
bad("template-yaml-list", "template",
    "template.yaml: expected a mapping at the top",
    release(template=b"- Resources\n- Outputs\n"))
bad("template-yaml-comment-only", "template",
    "template.yaml: expected a mapping at the top",
    release(template=b"# nothing here\n"))
bad("template-not-json", "template",
    "stack.json: not JSON: line 1 column 15: unexpected token near '}'",
    release(manifest(template="stack.json"), name="stack.json",
            template=b'{"Resources": }'))
bad("template-json-array", "template",
    "stack.json: expected an object at the top, got an array",
    release(manifest(template="stack.json"), name="stack.json",
            template=b'[{"Resources": {}}]'))
bad("images-missing", "manifest", "release.json: images: missing",
    release(manifest(images=DELETE)))
bad("images-empty", "manifest",
    "release.json: images: empty; a release names at least one image",
    release(manifest(images=[])))
bad("images-object", "manifest",
    "release.json: images: expected an array, got an object",
    release(manifest(images={"repository": "billing/web"})))
image_case("image-string", "billing/web:1.4.2",
           "release.json: images[0]: expected an object, got a string")
image_case("image-repository-upper", {"repository": "Billing/Web",
                                      "tag": "1"},
           "release.json: images[0].repository: \"Billing/Web\" is not a "
           "repository name (lower-case letters and digits separated by "
           "'.', '_', '__', '-' or '/', at most 255)")
image_case("image-repository-slashes", {"repository": "billing//web",
                                        "tag": "1"},
           "release.json: images[0].repository: \"billing//web\" is not a "
           "repository name (lower-case letters and digits separated by "
           "'.', '_', '__', '-' or '/', at most 255)")
image_case("image-repository-missing", {"tag": "1"},
           "release.json: images[0].repository: missing")
image_case("image-tag-bang", {"repository": "billing/web", "tag": "1.4.2!"},
           "release.json: images[0].tag: \"1.4.2!\" is not a tag (a letter, "
           "digit or '_', then up to 127 letters, digits, '.', '_' or '-')")
image_case("image-tag-dot", {"repository": "billing/web", "tag": ".hidden"},
           "release.json: images[0].tag: \".hidden\" is not a tag (a letter, "
           "digit or '_', then up to 127 letters, digits, '.', '_' or '-')")
image_case("image-tag-integer", {"repository": "billing/web", "tag": 142},
           "release.json: images[0].tag: expected a string, got an integer")
image_case("image-digest-short", {"repository": "billing/web",
                                  "digest": "sha256:abc"},
           "release.json: images[1].digest: \"sha256:abc\" is not a sha256 "
           "digest (sha256: and 64 hex digits)")
image_case("image-digest-upper", {"repository": "billing/web",
                                  "digest": DIGEST.upper()},
           "release.json: images[0].digest: \"%s\" is not a sha256 digest "
           "(sha256: and 64 hex digits)" % DIGEST.upper())
image_case("image-tag-and-digest", {"repository": "billing/web", "tag": "1",
                                    "digest": DIGEST},
           "release.json: images[0]: give a tag or a digest, not both")
image_case("image-neither", {"repository": "billing/web"},
           "release.json: images[0]: needs a tag or a digest")
image_case("image-unknown-key", {"repository": "billing/web", "tag": "1",
                                 "name": "web"},
           'release.json: images[0]: unknown key "name" (repository, tag, '
           'digest, parameter)')
# images[].parameter (issue 15): a parameter of the template, set nowhere
# else, a parameter name.
image_case("image-parameter-bad-name", {"repository": "billing/web", "tag": "1",
                                        "parameter": "Web-Image"},
           'release.json: images[0].parameter: "Web-Image" is not a parameter '
           'name (1 to 255 letters and digits)')
image_case("image-parameter-integer", {"repository": "billing/web", "tag": "1",
                                       "parameter": 3},
           'release.json: images[0].parameter: expected a string, got an integer')
bad("image-parameter-not-in-template", "manifest",
    "release.json: images[0].parameter: template.yaml declares no parameter "
    "WebImage",
    release(manifest(images=[{"repository": "billing/web", "tag": "1.4.2",
                              "parameter": "WebImage"}])))
bad("image-parameter-nested-only", "manifest",
    "release.json: images[0].parameter: template.yaml declares no parameter "
    "DesiredCount",
    release(manifest(images=[{"repository": "billing/web", "tag": "1.4.2",
                              "parameter": "DesiredCount"}])))
bad("image-parameter-in-parameters", "manifest",
    "release.json: images[0].parameter: ImageTag is set in parameters too; "
    "it receives the image's pinned digest",
    release(manifest(images=[{"repository": "billing/web", "tag": "1.4.2",
                              "parameter": "ImageTag"}])))
bad("image-parameter-twice", "manifest",
    "release.json: images[1].parameter: Environment is images[0]'s "
    "parameter already",
    release(manifest(images=[{"repository": "billing/web", "tag": "1.4.2",
                              "parameter": "Environment"},
                             {"repository": "billing/worker", "tag": "1.4.2",
                              "parameter": "Environment"}])))

bad("parameters-missing", "manifest", "release.json: parameters: missing",
    release(manifest(parameters=DELETE)))
bad("parameters-array", "manifest",
    "release.json: parameters: expected an object, got an array",
    release(manifest(parameters=["ImageTag"])))
bad("parameter-key", "manifest",
    'release.json: parameters: key "Image-Tag" is not a parameter name '
    '(1 to 255 letters and digits)',
    release(manifest(parameters={"Image-Tag": "1"})))
bad("parameter-integer", "manifest",
    "release.json: parameters.DesiredCount: expected a string, got an integer",
    release(manifest(parameters={"ImageTag": "1", "DesiredCount": 2})))
bad("parameter-object", "manifest",
    "release.json: parameters.ImageTag: expected a string, got an object",
    release(manifest(parameters={"ImageTag": {"Ref": "x"}})))

bad("overrides-array", "manifest",
    "release.json: overrides: expected an object, got an array",
    release(manifest(overrides=[{"prod": {}}])))
bad("overrides-env-string", "manifest",
    "release.json: overrides.prod: expected an object, got a string",
    release(manifest(overrides={"prod": "DesiredCount=4"})))
bad("overrides-unknown-key", "manifest",
    'release.json: overrides.prod: unknown key "params" (parameters)',
    release(manifest(overrides={"prod": {"params": {}}})))
bad("overrides-no-parameters", "manifest",
    "release.json: overrides.prod.parameters: missing",
    release(manifest(overrides={"prod": {}})))
bad("overrides-parameter-integer", "manifest",
    "release.json: overrides.prod.parameters.DesiredCount: expected a "
    "string, got an integer",
    release(manifest(overrides={"prod": {"parameters":
                                         {"DesiredCount": 4}}})))
bad("overrides-env-name", "manifest",
    "release.json: overrides: \"pr od\" is not an environment name "
    "(letters, digits, '-', '_' or '.', starting with a letter or digit, at "
    "most 64)",
    release(manifest(overrides={"pr od": {"parameters": {}}})))
bad("checks-string", "manifest",
    "release.json: checks: expected an array, got a string",
    release(manifest(checks="login-and-name")))
bad("checks-integer", "manifest",
    "release.json: checks[0]: expected a string, got an integer",
    release(manifest(checks=[7])))
bad("checks-twice", "manifest",
    'release.json: checks[1]: "smoke" is named twice',
    release(manifest(checks=["smoke", "smoke"])))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-corpus.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    names = set()
    with open(os.path.join(out, "cases"), "w", encoding="utf-8") as f:
        for name, limits, code, reason, data in cases:
            assert name not in names, name
            assert "\t" not in reason and "\n" not in reason, name
            names.add(name)
            with open(os.path.join(out, name + ".zip"), "wb") as z:
                z.write(data)
            f.write("%s\t%s\t%s\t%s\n" % (name, limits, code, reason))


if __name__ == "__main__":
    main()
