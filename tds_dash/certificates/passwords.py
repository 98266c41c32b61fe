"""Mosquitto 2.0 password-file lines (`$7$`: PBKDF2-SHA512), written without mosquitto_passwd."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# mosquitto_passwd uses 101; the broker reads the count from the line, so ours can be stronger. Only the
# ingest logs in with a password, once per connection: a few milliseconds of PBKDF2 cost nothing.
ITERATIONS = 20_000
SALT_BYTES = 12  # Mosquitto 2.0 keeps exactly 12 bytes of salt (SALT_LEN in password_mosq.h)


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """`$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>`, as src/password_mosq.c parses it."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Check a password against a `$7$` line part (used by tests and by `broker-config` on reuse)."""
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return kind == "7" and hmac.compare_digest(expected, actual)


def password_file_line(username: str, password: str) -> str:
    if ":" in username or "\n" in username:
        raise ValueError("a Mosquitto username cannot contain ':' or a newline")
    return f"{username}:{hash_password(password)}\n"


def new_password() -> str:
    """URL-safe, so it fits in MQTT_URL without quoting."""
    return secrets.token_urlsafe(24)
