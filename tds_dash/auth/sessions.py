"""Server-side sessions: the cookie carries a random secret, the database says whether it still counts.

Signing out revokes this session's row; "sign out everywhere" and a password change revoke the user's
other rows. A cookie saved before any of these stops working at its next request, whatever it holds.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import flask
import flask_login

from tds_dash.queries import sessions as session_queries

SESSION_LIFETIME = timedelta(hours=12)  # absolute: a session older than this ends even if it is in use


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(conn, user_id: int, address: str | None) -> str:
    """Record a new session for the user and return its secret (for the cookie; never stored)."""
    secret = secrets.token_urlsafe(32)
    user_agent = flask.request.headers.get("User-Agent") if flask.has_request_context() else None
    session_queries.insert_session(conn, user_id, secret_hash(secret), SESSION_LIFETIME, address, user_agent)
    return secret


def session_is_live(conn, user_id: int, secret: str) -> bool:
    return session_queries.session_is_live(conn, user_id, secret_hash(secret))


def current_session_hash() -> str | None:
    """The hash of the signed-in browser session of this request; None for API tokens and outside requests."""
    if not flask.has_request_context():
        return None
    secret = getattr(flask_login.current_user, "session_secret", None)
    return secret_hash(secret) if secret else None


def end_current_session(conn) -> None:
    digest = current_session_hash()
    if digest:
        session_queries.revoke_session(conn, digest)


def end_user_sessions(conn, user_id: int, keep_current: bool = False) -> int:
    """Revoke the user's sessions; with keep_current, the session making this request survives."""
    keep = current_session_hash() if keep_current else None
    return session_queries.revoke_user_sessions(conn, user_id, keep)
