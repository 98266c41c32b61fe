"""Server-side browser sessions (user_sessions): created at sign-in, checked on every request, revoked."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert_session(conn: Connection, user_id: int, secret_hash: str, lifetime: timedelta, address: str | None,
                   user_agent: str | None) -> int:
    return conn.execute(sa.text(
        "INSERT INTO user_sessions (user_id, secret_hash, expires_at, address, user_agent)"
        " VALUES (:u, :h, now() + :life, :a, :ua) RETURNING id"),
        {"u": user_id, "h": secret_hash, "life": lifetime, "a": (address or "")[:64],
         "ua": (user_agent or "")[:256]}).scalar_one()


def session_is_live(conn: Connection, user_id: int, secret_hash: str) -> bool:
    """True while the session exists for this user, is not revoked and has not expired."""
    return bool(conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM user_sessions WHERE secret_hash = :h AND user_id = :u"
        " AND revoked_at IS NULL AND expires_at > now())"), {"h": secret_hash, "u": user_id}).scalar_one())


def revoke_session(conn: Connection, secret_hash: str) -> bool:
    return conn.execute(sa.text("UPDATE user_sessions SET revoked_at = now() WHERE secret_hash = :h"
                                " AND revoked_at IS NULL"), {"h": secret_hash}).rowcount == 1


def revoke_user_sessions(conn: Connection, user_id: int, keep_hash: str | None = None) -> int:
    """Revoke every live session of the user except `keep_hash` (the one asking, when it should stay)."""
    return conn.execute(sa.text(
        "UPDATE user_sessions SET revoked_at = now() WHERE user_id = :u AND revoked_at IS NULL"
        " AND secret_hash IS DISTINCT FROM :keep"), {"u": user_id, "keep": keep_hash}).rowcount


def prune_sessions(conn: Connection, older_than: timedelta) -> int:
    """Delete sessions that expired or were revoked more than `older_than` ago."""
    return conn.execute(sa.text(
        "DELETE FROM user_sessions WHERE least(revoked_at, expires_at) < now() - :age"),
        {"age": older_than}).rowcount
