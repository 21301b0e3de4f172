#!/usr/bin/python3
"""An SMTP sink for tests and scripts/demo (python3-aiosmtpd).

Listens on 127.0.0.1 on a port the kernel picks, accepts every message and
keeps it: with --dir, each one as DIR/NNNN.eml (the message as received)
and DIR/NNNN.json ({"mail_from", "rcpt_tos", "auth_user", "tls"}); with
--print, on stdout (the envelope, then the message with its text part
decoded).  The port goes to --port-file (written once listening) and to
stdout as "port=N".

  --tls-cert CERT --tls-key KEY   offer STARTTLS and require it
  --smtps                         with them: TLS from the start instead
  --auth USER:PASSWORD_FILE       require AUTH (PLAIN or LOGIN) as USER
                                  with the password in the file; over TLS
                                  only when --tls-cert is given
  --reject-rcpt ADDR              answer 550 for this recipient (tests)
  --port N                        listen on N rather than a port the
                                  kernel picks

Stops on SIGTERM or SIGINT.  Nothing here connects anywhere.
"""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink(object):
    def __init__(self, outdir, echo, reject):
        self.outdir = outdir
        self.echo = echo
        self.reject = set(a.lower() for a in reject)
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        meta = {"mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "auth_user": auth_user(session),
                "tls": session.ssl is not None or (
                    server.transport is not None and
                    server.transport.get_extra_info("ssl_object") is not None)}
        if self.outdir:
            base = os.path.join(self.outdir, "%04d" % self.count)
            with open(base + ".eml.tmp", "wb") as f:
                f.write(data)
            with open(base + ".json", "w") as f:
                json.dump(meta, f)
            os.rename(base + ".eml.tmp", base + ".eml")
        if self.echo:
            show(meta, data)
        return "250 Message accepted"


def auth_user(session):
    d = getattr(session, "auth_data", None)
    if isinstance(d, LoginPassword):
        return d.login.decode("utf-8", "replace")
    return None


def show(meta, data):
    m = email.message_from_bytes(data, policy=email.policy.default)
    out = ["--- mail %s -> %s" % (meta["mail_from"], ", ".join(meta["rcpt_tos"])),
           "Subject: %s" % m.get("Subject", "")]
    for part in m.walk():
        if part.get_content_type() == "text/plain":
            out.append(part.get_content().rstrip("\n"))
            break
    out.append("---")
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


def main():
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--print", dest="echo", action="store_true")
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--smtps", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--reject-rcpt", action="append", default=[])
    a = ap.parse_args()

    handler = Sink(a.dir, a.echo, a.reject_rcpt)
    ctx = None
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    kw = {"hostname": "sink.test",
          "tls_context": None if a.smtps else ctx,
          "require_starttls": ctx is not None and not a.smtps}
    if a.auth:
        user, pwfile = a.auth.split(":", 1)
        with open(pwfile) as f:
            password = f.readline().rstrip("\r\n")

        def authenticator(server, session, envelope, mechanism, data):
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            ok = (data.login.decode("utf-8", "replace") == user and
                  data.password.decode("utf-8", "replace") == password)
            return AuthResult(success=ok, handled=False, auth_data=data)
        kw.update(auth_required=True,
                  auth_require_tls=ctx is not None and not a.smtps,
                  authenticator=authenticator)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, loop=loop, **kw), host="127.0.0.1", port=a.port,
        ssl=ctx if a.smtps else None))
    port = server.sockets[0].getsockname()[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    sys.stdout.write("port=%d\n" % port)
    sys.stdout.flush()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
