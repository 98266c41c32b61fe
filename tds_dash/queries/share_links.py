"""Share links' rows: insert, find by id, list for a scope, revoke, mark used. Bound parameters only."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope

_COLUMNS = ("l.id, l.account_id, a.slug AS account_slug, a.name AS account_name, l.label, l.created_by_name,"
            " l.created_at, l.expires_at, l.revoked_at, l.revoked_by_name, l.last_used_at")


def insert_link(conn: Connection, account_id: int, label: str, nonce_hash: str, user_id: int | None,
                username: str, expires_at: datetime) -> int:
    return conn.execute(sa.text(
        "INSERT INTO share_links (account_id, label, nonce_hash, created_by, created_by_name, expires_at)"
        " VALUES (:account_id, :label, :nonce_hash, :user_id, :username, :expires_at) RETURNING id"),
        {"account_id": account_id, "label": label, "nonce_hash": nonce_hash, "user_id": user_id,
         "username": username, "expires_at": expires_at}).scalar_one()


def find_link(conn: Connection, link_id: int) -> dict | None:
    """The row with its nonce hash (for checking a token), whatever its state."""
    row = conn.execute(sa.text(
        f"SELECT {_COLUMNS}, l.nonce_hash FROM share_links l JOIN accounts a ON a.id = l.account_id"
        " WHERE l.id = :id"), {"id": link_id}).mappings().first()
    return dict(row) if row else None


def list_links(conn: Connection, scope: Scope, account_id: int | None = None) -> list[dict]:
    """Links of the scope's accounts (one account, or all), newest first; no secrets in the rows."""
    return [dict(row) for row in conn.execute(sa.text(
        f"SELECT {_COLUMNS} FROM share_links l JOIN accounts a ON a.id = l.account_id"
        " WHERE l.account_id " + IN_SCOPE + " AND (CAST(:account_id AS bigint) IS NULL OR l.account_id = :account_id)"
        " ORDER BY l.created_at DESC, l.id DESC LIMIT 500"),
        {**scope.params(), "account_id": account_id}).mappings()]


def revoke_link(conn: Connection, scope: Scope, link_id: int, username: str) -> dict | None:
    """Revoke a live link of the scope; the row as it now is, or None (absent, out of scope, already revoked)."""
    row = conn.execute(sa.text(
        "UPDATE share_links SET revoked_at = now(), revoked_by_name = :username"
        " WHERE id = :id AND revoked_at IS NULL AND account_id " + IN_SCOPE + " RETURNING id, account_id"),
        {**scope.params(), "id": link_id, "username": username}).mappings().first()
    return dict(row) if row else None


def mark_used(conn: Connection, link_id: int) -> None:
    conn.execute(sa.text(
        "UPDATE share_links SET last_used_at = now() WHERE id = :id"
        " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"), {"id": link_id})
