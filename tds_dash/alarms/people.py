"""Reads and writes of people's notification settings, choices per account and accounts' default recipients."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms.recipients import MAY_READ
from tds_dash.queries.scope import IN_SCOPE, Scope

_SETTINGS = sa.text("SELECT email, language, on_ack FROM user_notification_settings WHERE user_id = :user_id")
_SAVE_SETTINGS = sa.text(
    "INSERT INTO user_notification_settings (user_id, email, language, on_ack) VALUES (:user_id, :email,"
    " :language, :on_ack) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, language = excluded.language,"
    " on_ack = excluded.on_ack, updated_at = now()"
)
# Every account in the user's scope with what reaches them from it, and why.
_CHOICES = sa.text(
    "SELECT a.id AS account_id, a.name AS account, ch.severities, ch.digest,"
    " EXISTS (SELECT 1 FROM account_notification_recipients r WHERE r.account_id = a.id AND r.user_id = :user_id)"
    "   AS default_recipient"
    " FROM accounts a LEFT JOIN user_notification_choices ch ON ch.account_id = a.id AND ch.user_id = :user_id"
    " WHERE a.id " + IN_SCOPE + " ORDER BY a.name, a.id"
)
_SAVE_CHOICE = sa.text(
    "INSERT INTO user_notification_choices (user_id, account_id, severities, digest) VALUES (:user_id, :account_id,"
    " :severities, :digest) ON CONFLICT (user_id, account_id) DO UPDATE SET severities = excluded.severities,"
    " digest = excluded.digest, updated_at = now()"
)
_DROP_CHOICE = sa.text("DELETE FROM user_notification_choices WHERE user_id = :user_id AND account_id = :account_id")
# Who may be a default recipient of an account: active users who may read it.
_CANDIDATES = sa.text(
    "SELECT u.id, u.username, u.name, u.role, EXISTS (SELECT 1 FROM account_notification_recipients r"
    "   WHERE r.account_id = :account_id AND r.user_id = u.id) AS chosen,"
    " s.email IS NOT NULL AS has_email FROM users u LEFT JOIN user_notification_settings s ON s.user_id = u.id"
    " WHERE " + MAY_READ.format(account=":account_id") + " ORDER BY u.username"
)
_CLEAR_RECIPIENTS = sa.text("DELETE FROM account_notification_recipients WHERE account_id = :account_id")
_ADD_RECIPIENT = sa.text("INSERT INTO account_notification_recipients (account_id, user_id) VALUES (:account_id,"
                         " :user_id) ON CONFLICT DO NOTHING")


def account_in_scope(conn: Connection, scope: Scope, account_id: int) -> bool:
    """The account exists and the viewer may read it."""
    return conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = :id AND id " + IN_SCOPE + ")"),
                        {**scope.params(), "id": account_id}).scalar_one()


def settings_of(conn: Connection, user_id: int) -> dict:
    """The user's address, language and whether acknowledgements reach them (defaults when never saved)."""
    row = conn.execute(_SETTINGS, {"user_id": user_id}).mappings().first()
    return dict(row) if row else {"email": None, "language": "pt-BR", "on_ack": False}


def save_settings(conn: Connection, user_id: int, email: str | None, language: str, on_ack: bool) -> None:
    """Store the user's address, language and acknowledgement choice."""
    conn.execute(_SAVE_SETTINGS, {"user_id": user_id, "email": email, "language": language, "on_ack": on_ack})


def choices_of(conn: Connection, user_id: int, scope: Scope) -> list[dict]:
    """Per account in scope: the user's choice (severities, digest) or None, and whether they are a default."""
    return [dict(row) for row in conn.execute(_CHOICES, {**scope.params(), "user_id": user_id}).mappings()]


def save_choice(conn: Connection, user_id: int, account_id: int, severities: list[str] | None,
                digest: bool) -> None:
    """The user's choice for one account; severities None drops it (the account's default applies again)."""
    if severities is None:
        conn.execute(_DROP_CHOICE, {"user_id": user_id, "account_id": account_id})
    else:
        conn.execute(_SAVE_CHOICE, {"user_id": user_id, "account_id": account_id, "severities": severities,
                                    "digest": digest})


def candidates(conn: Connection, account_id: int) -> list[dict]:
    """Users who may read the account (the only possible recipients), and whether each is a default one."""
    return [dict(row) for row in conn.execute(_CANDIDATES, {"account_id": account_id}).mappings()]


def replace_recipients(conn: Connection, account_id: int, user_ids: list[int]) -> None:
    """The account's default recipients become exactly these users."""
    conn.execute(_CLEAR_RECIPIENTS, {"account_id": account_id})
    for user_id in user_ids:
        conn.execute(_ADD_RECIPIENT, {"account_id": account_id, "user_id": user_id})
