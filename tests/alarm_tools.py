"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver (http.server)."""
from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import ssl
import subprocess
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import free_port


class SmtpServer:
    """aiosmtpd on 127.0.0.1; stop() and start() again keep the port (an outage the sender must ride out)."""

    def __init__(self, tls_context=None, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self.logins: list[str] = []
        self.controller = None
        self.tls_context, self.credentials = tls_context, credentials

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        received = self.messages

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
                received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 Message accepted for delivery"

        options = {}
        if self.tls_context is not None:  # STARTTLS required, and AUTH only after it (aiosmtpd's default)
            options.update(tls_context=self.tls_context, require_starttls=True, authenticator=self._authenticate,
                           auth_required=True)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = self.credentials is not None and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for localhost, and the certificate's path (the CA)."""
    cert, key = directory / "smtp.crt", directory / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert


class WebhookReceiver:
    """An HTTP server in a thread recording every POST (lower-cased headers and the exact body); answers `status`."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's hook name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def documents(self, secret: str) -> list[dict]:
        """Bodies whose X-TDS-Signature verifies with `secret` (an unsigned or forged one fails the test)."""
        out = []
        for headers, body in self.requests:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers.get("x-tds-signature", ""), expected), "bad webhook signature"
            out.append(json.loads(body))
        return out
