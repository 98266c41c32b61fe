"""The sender job: delivers due outbox rows, marks them sent once accepted, retries with exponential backoff.

One row per transaction, claimed with FOR UPDATE SKIP LOCKED, so several processes share the work and
none sends a row another is sending. A crash between acceptance and commit re-sends that one row on
restart (at least once; receivers can dedupe on the payload's alarm id and event).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tds_dash.alarms import messages, transports
from tds_dash.alarms.recipients import MAY_READ
from tds_dash.db import session_scope

log = logging.getLogger(__name__)

BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 12  # ~7 h of retries before giving up (the row stays in the log as failed)
BATCH = 20  # rows per run at most: a long outage's backlog drains over a few runs


@dataclasses.dataclass(frozen=True)
class Mailer:
    """Where and as whom notifications go out, and how they are worded."""

    smtp_url: str | None
    smtp_from: str
    public_url: str
    zone: ZoneInfo
    allow_private_webhooks: bool = False  # TDS_WEBHOOK_ALLOW_PRIVATE: receivers on this machine or the LAN


# A row goes to a channel or to a person (user_id: their address and language, and only while they may
# still read the alarm's account; a digest's items were checked when it was built).
_CLAIM = sa.text(
    "SELECT o.id, o.payload, o.attempts, o.event, coalesce(c.type, 'email') AS type,"
    " coalesce(c.target, s.email) AS target, c.secret, coalesce(c.language, s.language) AS language,"
    " (o.user_id IS NULL OR o.alarm_id IS NULL OR EXISTS (SELECT 1 FROM users u JOIN alarms a ON a.id = o.alarm_id"
    "   WHERE u.id = o.user_id AND " + MAY_READ.format(account="a.account_id") + ")) AS may_read"
    " FROM notification_outbox o LEFT JOIN notification_channels c ON c.id = o.channel_id"
    " LEFT JOIN user_notification_settings s ON s.user_id = o.user_id WHERE o.sent_at IS NULL"
    " AND o.failed_at IS NULL AND o.next_attempt_at <= :now ORDER BY o.next_attempt_at, o.id LIMIT 1"
    " FOR UPDATE OF o SKIP LOCKED"
)
_SENT = sa.text("UPDATE notification_outbox SET sent_at = :now, attempts = attempts + 1, last_error = NULL"
                " WHERE id = :id")
_FAILED = sa.text(
    "UPDATE notification_outbox SET attempts = attempts + 1, last_error = :error, next_attempt_at = :next,"
    " failed_at = CASE WHEN attempts + 1 >= :max THEN :now END WHERE id = :id"
)
_GIVE_UP = sa.text("UPDATE notification_outbox SET attempts = attempts + 1, last_error = :error, failed_at = :now"
                   " WHERE id = :id")
_LOG = sa.text("INSERT INTO notification_deliveries (outbox_id, at, ok, detail) VALUES (:id, :now, :ok, :detail)")


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at 1 h."""
    return min(BASE_BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)


def deliver(row, mailer: Mailer) -> str:
    """Send one outbox row through its channel; raises DeliveryError when not accepted."""
    payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
    if row.type == "email":
        if not row.target:
            raise transports.DeliveryError("the recipient has no e-mail address any more")
        render = messages.render_digest if row.event == "digest" else messages.render_email
        subject, body = render(payload, row.language, mailer.zone, mailer.public_url)
        return transports.send_email(mailer.smtp_url, mailer.smtp_from, row.target, subject, body)
    body = messages.render_webhook(payload, row.language, mailer.zone, mailer.public_url)
    return transports.post_webhook(row.target, row.secret, body, mailer.allow_private_webhooks)


def _send_one(conn: Connection, mailer: Mailer, now: datetime) -> bool | None:
    """None when nothing is due; else whether the claimed row was accepted."""
    row = conn.execute(_CLAIM, {"now": now}).first()
    if row is None:
        return None
    if not row.may_read:  # the user lost the account (or was disabled) since: never retried, never sent
        detail = "refused: the recipient may no longer read this account"
        conn.execute(_GIVE_UP, {"id": row.id, "error": detail, "now": now})
        conn.execute(_LOG, {"id": row.id, "now": now, "ok": False, "detail": detail})
        return False
    try:
        detail, ok = deliver(row, mailer), True
    except transports.DeliveryError as error:
        detail, ok = str(error)[:500], False
    except Exception as error:  # a defect rendering this row must not block the queue behind it
        log.exception("notification %s could not be rendered or sent", row.id)
        detail, ok = f"{type(error).__name__}: {error}"[:500], False
    if ok:
        conn.execute(_SENT, {"id": row.id, "now": now})
    else:
        conn.execute(_FAILED, {"id": row.id, "error": detail, "now": now, "max": MAX_ATTEMPTS,
                               "next": now + backoff(row.attempts + 1)})
        log.warning("notification %s not delivered (attempt %s): %s", row.id, row.attempts + 1, detail)
    conn.execute(_LOG, {"id": row.id, "now": now, "ok": ok, "detail": detail})
    return ok


def send_due(engine: Engine, mailer: Mailer, now: datetime, limit: int = BATCH) -> dict[str, int]:
    """Deliver up to `limit` due notifications, each in its own transaction; counts sent and failed."""
    counts = {"sent": 0, "failed": 0}
    for _ in range(limit):
        with session_scope(engine) as conn:
            outcome = _send_one(conn, mailer, now)
        if outcome is None:
            break
        counts["sent" if outcome else "failed"] += 1
    return counts
