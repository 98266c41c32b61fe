"""Password hashing (argon2id), API token secrets and checking a sign-in against the user table."""
from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tds_dash.queries import users as user_queries

HASHER = PasswordHasher()
TOKEN_SCHEME = "tds_"


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made on first use (not at import): unknown usernames cost the same time."""
    return HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str, str]:
    """(secret shown once, sha256 stored, prefix for lists)."""
    secret = TOKEN_SCHEME + secrets.token_urlsafe(32)
    return secret, token_hash(secret), secret[:10]


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(conn, username: str, password: str) -> user_queries.UserRow | None:
    row = user_queries.get_user_by_username(conn, username)
    if row is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    return row
