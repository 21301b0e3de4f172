#!/usr/bin/python3
"""Mints an x-amzn-oidc-data header as an AWS Application Load Balancer
does: ES256, the kid, signer, iss, client and exp in the header, each
base64url segment padded with '=' (as ALBs do), signed by `openssl dgst`
with an EC key made by openssl.

usage: alb-token.py KEY.pem KID SIGNER_ARN EXP CLAIMS_JSON
"""
import base64
import json
import subprocess
import sys


def b64(data):
    # ALBs keep the padding that JWT's base64url drops.
    return base64.urlsafe_b64encode(data).decode()


def der_to_raw(der):
    """An ECDSA signature, DER SEQUENCE { r, s } -> r || s (32 bytes each)."""
    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER integer")
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def main():
    key, kid, signer, exp, claims = sys.argv[1:6]
    header = {"alg": "ES256", "kid": kid, "signer": signer,
              "iss": "https://idp.example.com", "client": "shipgate",
              "exp": int(exp), "typ": "JWT"}
    head = b64(json.dumps(header).encode())
    body = b64(claims.encode())
    signing_input = (head + "." + body).encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=signing_input, capture_output=True,
                         check=True).stdout
    print(head + "." + body + "." + b64(der_to_raw(der)))


if __name__ == "__main__":
    main()
