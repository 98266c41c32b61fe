"""Users, their accounts, API tokens and the audit log (sign-in attempts: login_attempts.py)."""
from __future__ import annotations

import dataclasses
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

ROLES = ("admin", "operator", "viewer")


@dataclasses.dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    name: str
    role: str
    active: bool
    session_version: int
    account_ids: tuple[int, ...]
    password_hash: str = dataclasses.field(repr=False, default="")


_USER = (
    "SELECT u.id, u.username, u.name, u.role, u.active, u.session_version, u.password_hash,"
    " coalesce(array_agg(ua.account_id ORDER BY ua.account_id) FILTER (WHERE ua.account_id IS NOT NULL), '{}')"
    " AS account_ids FROM users u LEFT JOIN user_accounts ua ON ua.user_id = u.id"
)
_BY_ID = sa.text(_USER + " WHERE u.id = :id GROUP BY u.id")
_BY_USERNAME = sa.text(_USER + " WHERE u.username = :username GROUP BY u.id")
_ALL = sa.text(_USER + " GROUP BY u.id ORDER BY u.username")


def _user(row) -> UserRow | None:
    if row is None:
        return None
    return UserRow(row.id, row.username, row.name, row.role, row.active, row.session_version,
                   tuple(row.account_ids), row.password_hash)


def get_user(conn: Connection, user_id: int) -> UserRow | None:
    return _user(conn.execute(_BY_ID, {"id": user_id}).one_or_none())


def get_user_by_username(conn: Connection, username: str) -> UserRow | None:
    return _user(conn.execute(_BY_USERNAME, {"username": username}).one_or_none())


def list_users(conn: Connection) -> list[UserRow]:
    return [_user(row) for row in conn.execute(_ALL)]


def create_user(conn: Connection, username: str, name: str, password_hash: str, role: str,
                account_ids: list[int]) -> int:
    user_id = conn.execute(sa.text(
        "INSERT INTO users (username, name, password_hash, role) VALUES (:username, :name, :hash, :role) RETURNING id"),
        {"username": username, "name": name, "hash": password_hash, "role": role}).scalar_one()
    set_user_accounts(conn, user_id, account_ids)
    return user_id


def set_user_accounts(conn: Connection, user_id: int, account_ids: list[int]) -> None:
    conn.execute(sa.text("DELETE FROM user_accounts WHERE user_id = :id"), {"id": user_id})
    if account_ids:
        conn.execute(sa.text("INSERT INTO user_accounts (user_id, account_id) SELECT :id, unnest(CAST(:accounts AS bigint[]))"),
                     {"id": user_id, "accounts": list(account_ids)})


def update_user(conn: Connection, user_id: int, name: str, role: str, active: bool) -> None:
    """Changing role or disabling bumps the session version: existing sessions end at their next request."""
    conn.execute(sa.text(
        "UPDATE users SET name = :name, role = :role, active = :active, updated_at = now(),"
        " session_version = session_version + CASE WHEN role <> :role OR active <> :active THEN 1 ELSE 0 END"
        " WHERE id = :id"), {"id": user_id, "name": name, "role": role, "active": active})


def set_password(conn: Connection, user_id: int, password_hash: str) -> None:
    """Sessions are ended by the caller (tds_dash.auth.users.reset_password), which may keep its own."""
    conn.execute(sa.text("UPDATE users SET password_hash = :hash, updated_at = now() WHERE id = :id"),
                 {"id": user_id, "hash": password_hash})


def create_token(conn: Connection, user_id: int, name: str, token_hash: str, prefix: str) -> int:
    return conn.execute(sa.text(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix) VALUES (:u, :n, :h, :p) RETURNING id"),
        {"u": user_id, "n": name, "h": token_hash, "p": prefix}).scalar_one()


def user_for_token(conn: Connection, token_hash: str) -> UserRow | None:
    """The active user owning a non-revoked token; marks the token used."""
    user_id = conn.execute(sa.text(
        "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = :h AND revoked_at IS NULL RETURNING user_id"),
        {"h": token_hash}).scalar_one_or_none()
    if user_id is None:
        return None
    user = get_user(conn, user_id)
    return user if user and user.active else None


def list_tokens(conn: Connection, user_id: int) -> list[dict]:
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = :u"
        " ORDER BY created_at DESC"), {"u": user_id}).mappings()]


def revoke_token(conn: Connection, user_id: int, token_id: int) -> bool:
    return conn.execute(sa.text("UPDATE api_tokens SET revoked_at = now() WHERE id = :t AND user_id = :u"
                                " AND revoked_at IS NULL"), {"t": token_id, "u": user_id}).rowcount == 1


def record_audit(conn: Connection, user_id: int | None, username: str, action: str, entity: str,
                 entity_id: object = None, account_id: int | None = None, before: dict | None = None,
                 after: dict | None = None, address: str | None = None) -> None:
    conn.execute(sa.text(
        "INSERT INTO audit_log (user_id, username, action, entity, entity_id, account_id, before, after, address)"
        " VALUES (:user_id, :username, :action, :entity, :entity_id, :account_id,"
        " CAST(:before AS jsonb), CAST(:after AS jsonb), :address)"),
        {"user_id": user_id, "username": username, "action": action, "entity": entity,
         "entity_id": None if entity_id is None else str(entity_id), "account_id": account_id,
         "before": None if before is None else json.dumps(before, default=str),
         "after": None if after is None else json.dumps(after, default=str), "address": address})


def list_audit(conn: Connection, limit: int = 200) -> list[dict]:
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT at, username, action, entity, entity_id, account_id, before, after, address FROM audit_log"
        " ORDER BY at DESC, id DESC LIMIT :limit"), {"limit": limit}).mappings()]


def list_all_accounts(conn: Connection) -> list[dict]:
    """For the admin page only (admins see every account)."""
    return [dict(row) for row in conn.execute(sa.text("SELECT id, slug, name FROM accounts ORDER BY name")).mappings()]
