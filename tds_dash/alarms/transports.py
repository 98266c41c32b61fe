"""How a notification leaves: e-mail over SMTP (TDS_SMTP_URL) and webhooks signed with HMAC-SHA256."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT_SECONDS = 10  # a hung server must not hold the sender job (and its row locks) for long
SIGNATURE_HEADER = "X-TDS-Signature"


class DeliveryError(Exception):
    """The server or receiver did not accept the notification; retried later."""


@dataclasses.dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> "SmtpTarget":
        """smtp://user:pass@host:25, smtps://host:465; ?starttls=true upgrades a plain connection."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        secure = parts.scheme == "smtps"
        return cls(parts.hostname or "127.0.0.1", parts.port or (465 if secure else 25), secure,
                   query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"},
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


def send_email(smtp_url: str | None, sender: str, to: str, subject: str, body: str) -> str:
    """Hand one message to the SMTP server; returns its answer once it accepted the message."""
    if not smtp_url:
        raise DeliveryError("TDS_SMTP_URL is not set")
    target = SmtpTarget.from_url(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    try:
        factory = smtplib.SMTP_SSL if target.ssl else smtplib.SMTP
        with factory(target.host, target.port, timeout=TIMEOUT_SECONDS) as smtp:
            if target.starttls and not target.ssl:
                smtp.starttls(context=ssl.create_default_context())
            if target.username:
                smtp.login(target.username, target.password or "")
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
    if refused:
        raise DeliveryError(f"recipients refused: {refused}")
    return "250 accepted"


def signature(secret: str, body: bytes) -> str:
    """The X-TDS-Signature value: sha256=<hex HMAC-SHA256 of the exact body with the channel's secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not acceptance: following it would send the signed body somewhere unchosen."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def refuse_private_target(url: str) -> None:
    """A webhook must not reach this machine or its private network (SSRF) unless the deployment allows it."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise DeliveryError(f"cannot resolve {host!r}: {error}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise DeliveryError(f"refused: {host} resolves to the non-public address {ip}"
                                " (set TDS_WEBHOOK_ALLOW_PRIVATE=true to allow internal receivers)")


def post_webhook(url: str, secret: str, body: bytes, allow_private: bool = False) -> str:
    """POST the JSON body; any 2xx answer is acceptance, anything else (or no answer) is retried."""
    if not allow_private:
        refuse_private_target(url)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body),
        "User-Agent": "tds-telemetry-alarms"})
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:  # http(s) only: checked when saved
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"HTTP {error.code}") from None
    except (OSError, urllib.error.URLError) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
