"""A real SMTP server for the e-mail alert tests: aiosmtpd (PyPI) on one
loopback port, with STARTTLS, implicit TLS (SMTPS) or no TLS at all, AUTH
PLAIN/LOGIN accepting one user name and password, and every message it
accepts written to a directory.

Driven by tests/support/src/smtp.rs. Usage:

    smtp_server.py --port P --dir D --mode starttls|smtps|plain|no-starttls \
        [--cert C --key K] [--user U --password PW]

In D it writes, for the n-th accepted message, `n.json` (`mail_from`,
`rcpt_tos`, `login`, and the message as Python's `email` package reads it:
`subject`, `from`, `to`, `message_id`, `content_type`, `parts` (each part's
type), `text`, `html`, decoded) and then `n.eml` (the message as received);
and one line per AUTH attempt to `auth.log` (`ok <user> <mechanism>` or
`refused <user> <mechanism>`: never the password it was given).
"""

import argparse
import email
import email.policy
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    """The handler: each accepted message lands in the directory."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        raw = envelope.original_content or envelope.content
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "login": login}
        meta.update(read(raw))
        with open(os.path.join(self.directory, f"{n}.json"), "w") as f:
            json.dump(meta, f)
        eml = os.path.join(self.directory, f"{n}.eml")
        with open(eml + ".tmp", "wb") as f:
            f.write(raw)
        # The .eml appears last and whole: the test polls for it.
        os.replace(eml + ".tmp", eml)
        return "250 OK stored"


def read(raw):
    """The headers and decoded parts a mail client would show."""
    m = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "subject": str(m["subject"]),
        "from": str(m["from"]),
        "to": str(m["to"]),
        "message_id": str(m["message-id"]),
        "content_type": m.get_content_type(),
        "parts": [p.get_content_type() for p in m.walk() if not p.is_multipart()],
        "text": None,
        "html": None,
    }
    for kind in ("plain", "html"):
        part = m.get_body(preferencelist=(kind,))
        if part is not None and part.get_content_type() == f"text/{kind}":
            out["text" if kind == "plain" else "html"] = part.get_content()
    return out


class Authenticator:
    """Accepts exactly one user name and password."""

    def __init__(self, directory, user, password):
        self.log = os.path.join(directory, "auth.log")
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == self.user and auth_data.password == self.password
        with open(self.log, "a") as f:
            f.write(f"{'ok' if ok else 'refused'} {auth_data.login.decode(errors='replace')} {mechanism}\n")
        # auth_data becomes session.auth_data on success: the login only.
        # handled=False: aiosmtpd answers (235, or 535) itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--mode", choices=["starttls", "smtps", "plain", "no-starttls"], required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()

    tls = None
    if a.mode in ("starttls", "smtps"):
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    kwargs = {}
    if a.user is not None:
        kwargs["authenticator"] = Authenticator(a.dir, a.user, a.password or "")
        # Over TLS only, as a real submission server: AUTH is offered after
        # STARTTLS, never in the clear. With SMTPS every byte is already
        # TLS, but aiosmtpd only counts STARTTLS as TLS: so no requirement.
        kwargs["auth_require_tls"] = a.mode in ("starttls", "no-starttls")
    if a.mode == "starttls":
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = True
    controller = Controller(
        Saver(a.dir),
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="localhost",
        ssl_context=tls if a.mode == "smtps" else None,
        **kwargs,
    )
    controller.start()
    print(f"listening on 127.0.0.1:{a.port} ({a.mode})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
