"""Writes of accounts themselves (admins only; checked by tds_dash.fleet.accounts)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_INSERT = sa.text(
    "INSERT INTO accounts (slug, name, auto_provision) VALUES (:slug, :name, :auto_provision)"
    " ON CONFLICT (slug) DO NOTHING RETURNING id"
)
_RENAME = sa.text("UPDATE accounts SET name = :name WHERE id = :id RETURNING id")
_BY_SLUG = sa.text("SELECT id, slug, name, auto_provision FROM accounts WHERE slug = :slug")


def create_account(conn: Connection, slug: str, name: str, auto_provision: bool) -> int | None:
    """The new account's id; None when the slug is taken."""
    return conn.execute(_INSERT, {"slug": slug, "name": name, "auto_provision": auto_provision}).scalar_one_or_none()


def rename_account(conn: Connection, account_id: int, name: str) -> bool:
    return conn.execute(_RENAME, {"id": account_id, "name": name}).first() is not None


def account_by_slug(conn: Connection, slug: str) -> dict | None:
    """Any account, whatever the scope: for admins' writes only."""
    row = conn.execute(_BY_SLUG, {"slug": slug}).mappings().first()
    return dict(row) if row else None
