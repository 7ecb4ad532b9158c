#!/usr/bin/python3
"""A real SMTP server for the notification tests (Debian's python3-aiosmtpd).

STARTTLS with the given certificate (required before MAIL and AUTH), AUTH
PLAIN/LOGIN against one user and password; each accepted message is written
to OUT_DIR/<n>.eml (atomically), and every command line it reads to
OUT_DIR/log (AUTH data masked by aiosmtpd). --plain: no STARTTLS offered at
all; --implicit-tls: TLS from the first byte (port 465 style). Writes
the port it listens on to PORT_FILE once it accepts connections. Run with
Debian's /usr/bin/python3 (aiosmtpd is a Debian package).
"""
import argparse
import logging
import os
import socket
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.out_dir, "%06d.eml" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Test-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Test-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(b"X-Test-Tls: " + (b"yes" if session.ssl else b"no") + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


class CommandLog(logging.Handler):
    """aiosmtpd logs each command it reads at INFO as (peer, line), AUTH data
    masked; this appends the line to OUT_DIR/log, so a test can check which
    commands a client sent."""

    def __init__(self, out_dir):
        super().__init__(logging.INFO)
        self.path = os.path.join(out_dir, "log")

    def emit(self, record):
        if record.msg != "%r >> %r" or len(record.args) != 2:
            return
        with open(self.path, "ab") as f:
            f.write(bytes(record.args[1]) + b"\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    a = p.parse_args()
    mail_log = logging.getLogger("mail.log")
    mail_log.setLevel(logging.INFO)
    mail_log.propagate = False
    mail_log.addHandler(CommandLog(a.out_dir))

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
              and auth_data.password.decode() == a.password)
        return AuthResult(success=ok, handled=False)

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    kwargs = {}
    if a.implicit_tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kwargs.update(ssl_context=ctx)
    elif not a.plain:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.user:
        kwargs.update(authenticator=authenticate, auth_required=True,
                      auth_require_tls=not a.plain)
    controller = Controller(Sink(a.out_dir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
