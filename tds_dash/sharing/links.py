"""Create, list, revoke and check share links.

A token is `itsdangerous`-signed with the session key (never a constant: tds_dash/auth/session_key.py)
and carries a link id and a random nonce; the row in `share_links` (sql/070) holds the nonce's sha256,
the account, the expiry and the revocation, and decides at every request. Creations, revocations and
every refused use go to the audit log. Operators manage the links of their accounts, admins all.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

import itsdangerous

from tds_dash.db import session_scope
from tds_dash.fleet.actor import Actor
from tds_dash.queries import share_links as queries
from tds_dash.queries.filters import list_accounts
from tds_dash.queries.users import record_audit

SALT = "tds.share-link.v1"  # separates these signatures from the session cookie's (same key)
DEFAULT_DAYS, MAX_DAYS, MAX_LABEL = 7, 90, 80
ENTITY = "share_link"


class ShareLinkError(Exception):
    """A refused management request: `code` for the API (forbidden/not_found/invalid), `key` for the pages."""

    def __init__(self, code: str, message: str, key: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.key, self.field = code, message, key, field


class LinkDenied(Exception):
    """A token that opens nothing: bad signature, unknown, revoked or expired (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class OpenLink:
    """What a valid token opens: one account, nothing else."""

    link_id: int
    account_id: int
    account_slug: str
    account_name: str
    expires_at: datetime


def _serializer(secret: str) -> itsdangerous.URLSafeSerializer:
    if not secret:
        raise ValueError("share links need the session key")
    return itsdangerous.URLSafeSerializer(secret, salt=SALT)


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def parse_days(value) -> int:
    """The link's lifetime in whole days, 1–90 (7 when not given)."""
    if value is None or value == "":
        return DEFAULT_DAYS
    if isinstance(value, bool):
        raise ShareLinkError("invalid", f"'days' must be a whole number from 1 to {MAX_DAYS}", "share.error.days",
                             "days")
    try:
        days = int(str(value).strip())
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS or (isinstance(value, float) and not value.is_integer()):
        raise ShareLinkError("invalid", f"'days' must be a whole number from 1 to {MAX_DAYS}", "share.error.days",
                             "days")
    return days


def create_link(actor: Actor, account_id, days, label, secret: str, now: datetime | None = None) -> tuple[dict, str]:
    """(the link's row, its token). The token is shown once: only a hash of its nonce is kept."""
    if not actor.can_manage:
        raise ShareLinkError("forbidden", "requires role admin or operator", "share.error.forbidden")
    lifetime = parse_days(days)
    label = (label or "").strip() if isinstance(label, str) or label is None else None
    if label is None or len(label) > MAX_LABEL:
        raise ShareLinkError("invalid", f"'label': at most {MAX_LABEL} characters", "share.error.label", "label")
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise ShareLinkError("invalid", "'account' is required", "share.error.account", "account")
    now = now or datetime.now(timezone.utc)
    nonce = secrets.token_urlsafe(18)
    with session_scope(actor.engine) as conn:
        if not list_accounts(conn, actor.scope.restrict(account_id)):
            raise ShareLinkError("not_found", "account not found", "share.error.account", "account")
        link_id = queries.insert_link(conn, account_id, label, _digest(nonce), actor.user_id, actor.username,
                                      now + timedelta(days=lifetime))
        record_audit(conn, actor.user_id, actor.username, "create", ENTITY, link_id, account_id=account_id,
                     after={"label": label, "days": lifetime}, address=actor.address)
        row = queries.find_link(conn, link_id)
    row.pop("nonce_hash")
    return row, _serializer(secret).dumps([link_id, nonce])


def list_links(actor: Actor, account_id: int | None = None) -> list[dict]:
    if not actor.can_manage:
        raise ShareLinkError("forbidden", "requires role admin or operator", "share.error.forbidden")
    with session_scope(actor.engine) as conn:
        return queries.list_links(conn, actor.scope, account_id)


def revoke_link(actor: Actor, link_id) -> None:
    """Revoke a live link of the actor's accounts (a link elsewhere is 'not found', so ids cannot be probed)."""
    if not actor.can_manage:
        raise ShareLinkError("forbidden", "requires role admin or operator", "share.error.forbidden")
    if isinstance(link_id, bool) or not isinstance(link_id, int):
        raise ShareLinkError("not_found", "share link not found or already revoked", "share.error.not_found")
    with session_scope(actor.engine) as conn:
        revoked = queries.revoke_link(conn, actor.scope, link_id, actor.username)
        if revoked is None:
            raise ShareLinkError("not_found", "share link not found or already revoked", "share.error.not_found")
        record_audit(conn, actor.user_id, actor.username, "revoke", ENTITY, link_id,
                     account_id=revoked["account_id"], address=actor.address)


def link_state(row: dict, now: datetime) -> str:
    """'active', 'revoked' or 'expired'."""
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_at"] <= now else "active"


def open_link(engine, token: str, secret: str, address: str | None, now: datetime | None = None) -> OpenLink:
    """The account a token opens now, or LinkDenied (recorded in the audit log with the reason)."""
    now = now or datetime.now(timezone.utc)
    row, reason = None, "bad_signature"
    try:
        link_id, nonce = _serializer(secret).loads(token)
        if not isinstance(link_id, int) or not isinstance(nonce, str):
            raise itsdangerous.BadData("malformed")
    except (itsdangerous.BadData, TypeError, ValueError):
        link_id = nonce = None
    with session_scope(engine) as conn:
        if link_id is not None:
            row = queries.find_link(conn, link_id)
            reason = "unknown"
            if row is not None and hmac.compare_digest(row["nonce_hash"], _digest(nonce)):
                reason = link_state(row, now)
                if reason == "active":
                    queries.mark_used(conn, link_id)
                    return OpenLink(link_id, row["account_id"], row["account_slug"], row["account_name"],
                                    row["expires_at"])
            elif row is not None:
                row = None  # a forged nonce for a real id: say nothing of that link's account
        record_audit(conn, None, "anonymous", "share_denied", ENTITY, row["id"] if row else None,
                     account_id=row["account_id"] if row else None, after={"reason": reason}, address=address)
    raise LinkDenied(reason)
