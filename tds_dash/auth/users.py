"""User administration rules shared by the CLI and the admin page: validation, hashing, audit."""
from __future__ import annotations

import re

import sqlalchemy as sa

from tds_dash import i18n
from tds_dash.auth.passwords import hash_password, new_api_token
from tds_dash.auth.sessions import end_user_sessions
from tds_dash.db import session_scope
from tds_dash.queries import users as user_queries

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")
MIN_PASSWORD = 10


class UserInputError(ValueError):
    """A field the person must correct; the message says which and how."""

    def __init__(self, message: str, key: str | None = None, **values) -> None:
        # str() stays English for the API and the CLI; pages show the catalogue's `key` in the viewer's language.
        super().__init__(message)
        self.key, self.values = key, values

    def localized(self, language: str) -> str:
        """The message in language (the English message when it has no catalogue key)."""
        return i18n.t(self.key, language, **self.values) if self.key else str(self)


def validate_new_user(username: str, password: str, role: str) -> None:
    if not USERNAME.fullmatch(username or ""):
        raise UserInputError("username: 3-64 characters, lowercase letters, digits, . _ @ -", "users.error.username")
    if len(password or "") < MIN_PASSWORD:
        raise UserInputError(f"password: at least {MIN_PASSWORD} characters", "users.error.password",
                             minimum=MIN_PASSWORD)
    if role not in user_queries.ROLES:
        raise UserInputError(f"role must be one of {', '.join(user_queries.ROLES)}", "users.error.role",
                             roles=", ".join(user_queries.ROLES))


def account_ids_for(conn, slugs: list[str]) -> list[int]:
    found = dict(conn.execute(sa.text("SELECT slug, id FROM accounts WHERE slug = ANY(:s)"), {"s": slugs}).all())
    missing = sorted(set(slugs) - found.keys())
    if missing:
        raise UserInputError(f"unknown account(s): {', '.join(missing)}", "users.error.accounts",
                             accounts=", ".join(missing))
    return [found[slug] for slug in slugs]


def create_user(engine, actor, username: str, name: str, password: str, role: str, account_slugs: list[str]) -> int:
    """Create a user with its accounts; `actor` (a UserRow or None for the CLI) is written to the audit log."""
    username = (username or "").strip().lower()
    validate_new_user(username, password, role)
    with session_scope(engine) as conn:
        if user_queries.get_user_by_username(conn, username) is not None:
            raise UserInputError(f"username {username!r} is taken", "users.error.taken", username=username)
        account_ids = account_ids_for(conn, account_slugs)
        user_id = user_queries.create_user(conn, username, name, hash_password(password), role, account_ids)
        user_queries.record_audit(conn, actor.id if actor else None, actor.username if actor else "cli", "create",
                                  "user", user_id, after={"username": username, "role": role,
                                                          "accounts": account_slugs})
    return user_id


def update_user(engine, actor, user_id: int, name: str, role: str, active: bool, account_slugs: list[str]) -> None:
    if role not in user_queries.ROLES:
        raise UserInputError(f"role must be one of {', '.join(user_queries.ROLES)}", "users.error.role",
                             roles=", ".join(user_queries.ROLES))
    with session_scope(engine) as conn:
        before = user_queries.get_user(conn, user_id)
        if before is None:
            raise UserInputError("user not found", "users.error.not_found")
        if before.id == actor.id and (role != "admin" or not active):
            raise UserInputError("you cannot demote or disable yourself", "users.error.self")
        account_ids = account_ids_for(conn, account_slugs)
        user_queries.update_user(conn, user_id, name, role, active)
        if sorted(account_ids) != sorted(before.account_ids):
            user_queries.set_user_accounts(conn, user_id, account_ids)
            conn.execute(sa.text("UPDATE users SET session_version = session_version + 1 WHERE id = :id"),
                         {"id": user_id})
        user_queries.record_audit(conn, actor.id, actor.username, "update", "user", user_id,
                                  before={"role": before.role, "active": before.active,
                                          "accounts": list(before.account_ids)},
                                  after={"role": role, "active": active, "accounts": account_ids})


def reset_password(engine, actor, user_id: int, password: str) -> None:
    """Set a new password and end every session of that user but the one asking (when it is theirs)."""
    if len(password or "") < MIN_PASSWORD:
        raise UserInputError(f"password: at least {MIN_PASSWORD} characters", "users.error.password",
                             minimum=MIN_PASSWORD)
    with session_scope(engine) as conn:
        if user_queries.get_user(conn, user_id) is None:
            raise UserInputError("user not found", "users.error.not_found")
        user_queries.set_password(conn, user_id, hash_password(password))
        ended = end_user_sessions(conn, user_id, keep_current=actor is not None and actor.id == user_id)
        user_queries.record_audit(conn, actor.id, actor.username, "reset_password", "user", user_id,
                                  after={"sessions_ended": ended})


def create_token(engine, actor, name: str) -> str:
    """Returns the secret, which is shown once and stored only as a hash."""
    return create_token_record(engine, actor, name)[1]


def create_token_record(engine, actor, name: str) -> tuple[int, str]:
    """(token id, secret): create_token for callers that list or revoke it by id (the API, the CLI)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 64:
        raise UserInputError("token name: 1-64 characters", "tokens.error.name")
    secret, digest, prefix = new_api_token()
    with session_scope(engine) as conn:
        token_id = user_queries.create_token(conn, actor.id, name, digest, prefix)
        user_queries.record_audit(conn, actor.id, actor.username, "create", "token", token_id, after={"name": name})
    return token_id, secret


def revoke_token(engine, actor, token_id: int) -> None:
    with session_scope(engine) as conn:
        if not user_queries.revoke_token(conn, actor.id, token_id):
            raise UserInputError("token not found or already revoked", "tokens.error.not_found")
        user_queries.record_audit(conn, actor.id, actor.username, "revoke", "token", token_id)
