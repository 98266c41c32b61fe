"""Credentials of the embedded broker: one generated user for the ingest, one for the demo fleet.

Kept in `$TDS_DATA_DIR/mqtt-credentials.json` (0600, created atomically, reused across restarts) so the
ingest and the demo fleet reconnect after a restart; `rm -rf var` makes new ones. The broker reads the
argon2id hashes from `mqtt-passwords` (0600, rewritten at every start from the JSON file).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from argon2 import PasswordHasher

CREDENTIALS_FILE = "mqtt-credentials.json"
PASSWORD_FILE = "mqtt-passwords"
ROLES = {"ingest": "tds-ingest", "demo": "tds-demo"}  # role -> broker username
log = logging.getLogger(__name__)


def load_or_create(data_dir: Path) -> dict[str, dict[str, str]]:
    """{role: {"username", "password"}} for every role, generating what is missing."""
    path = data_dir / CREDENTIALS_FILE
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = {role: {"username": name, "password": secrets.token_urlsafe(24)}
               for role, name in ROLES.items() if role not in stored}
    if missing:
        _write_private(path, json.dumps({**stored, **missing}, indent=2) + "\n", replace=bool(stored))
        log.info("generated MQTT credentials for %s in %s", ", ".join(missing), path)
        stored = json.loads(path.read_text(encoding="utf-8"))
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others: set to 0600", path)
        path.chmod(0o600)
    return stored


def write_password_file(data_dir: Path, credentials: dict[str, dict[str, str]]) -> Path:
    """The amqtt FileAuthPlugin's `username:hash` lines (argon2id: pwdlib's Argon2Hasher reads them)."""
    hasher = PasswordHasher()
    lines = [f"{c['username']}:{hasher.hash(c['password'])}" for c in credentials.values()]
    path = data_dir / PASSWORD_FILE
    _write_private(path, "\n".join(lines) + "\n", replace=True)
    return path


def client_url(host: str, port: int, credential: dict[str, str]) -> str:
    """mqtt://user:pass@host:port, as ingest.subscriber.BrokerAddress reads it."""
    return f"mqtt://{quote(credential['username'], safe='')}:{quote(credential['password'], safe='')}@{host}:{port}"


def redact(url: str | None) -> str | None:
    """The URL without its user and password (what may be printed or logged)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def _write_private(path: Path, text: str, replace: bool = False) -> None:
    """Write a 0600 file whole: a temporary file first, then link (first writer wins) or rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # of two processes starting together, the first one's file wins
            except FileExistsError:
                pass
    finally:
        temporary.unlink(missing_ok=True)
