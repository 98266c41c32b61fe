"""People as recipients: an alarm change queued for every user who chose (or by default gets) that account's
severity, at once or for the hourly digest, and only ever for users who may read that account.

The tenant rule lives in MAY_READ, one SQL fragment used when a change is queued, when a digest is built
and when a row is sent (sender.py): a user who lost an account in between gets nothing more of it.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

DIGEST_SEVERITIES = ("minor", "warning")  # critical and major never wait for a digest

# The user u may read account :account_id (admins read every account; others theirs) and is active.
MAY_READ = ("u.active AND (u.role = 'admin' OR EXISTS (SELECT 1 FROM user_accounts ua WHERE ua.user_id = u.id"
            " AND ua.account_id = {account}))")
# Who wants this change: a choice naming the severity, or no choice and a default recipient of the account.
_WANTED = (
    "SELECT u.id AS user_id, coalesce(ch.digest, false) AND :severity = ANY(:digest_severities) AS to_digest"
    " FROM users u JOIN user_notification_settings s ON s.user_id = u.id AND s.email IS NOT NULL"
    " LEFT JOIN user_notification_choices ch ON ch.user_id = u.id AND ch.account_id = :account_id"
    " WHERE " + MAY_READ.format(account=":account_id")
    + " AND (:event <> 'acknowledged' OR s.on_ack)"
    " AND CASE WHEN ch.user_id IS NOT NULL THEN :severity = ANY(ch.severities)"
    "   ELSE EXISTS (SELECT 1 FROM account_notification_recipients r WHERE r.account_id = :account_id"
    "     AND r.user_id = u.id) END"
)
_IMMEDIATE = sa.text(
    "INSERT INTO notification_outbox (alarm_id, user_id, event, event_key, payload, next_attempt_at)"
    " SELECT :alarm_id, w.user_id, :event, :event_key, CAST(:payload AS jsonb), :now FROM (" + _WANTED + ") w"
    " WHERE NOT w.to_digest ON CONFLICT (user_id, coalesce(alarm_id, 0), event_key) WHERE user_id IS NOT NULL"
    " DO NOTHING"
)
_DIGEST = sa.text(
    "INSERT INTO notification_digest_items (user_id, alarm_id, account_id, event_key, payload, created_at)"
    " SELECT w.user_id, :alarm_id, :account_id, :event_key, CAST(:payload AS jsonb), :now FROM (" + _WANTED + ") w"
    " WHERE w.to_digest ON CONFLICT (user_id, alarm_id, event_key) DO NOTHING"
)


def enqueue_people(conn: Connection, alarm_id: int, event: str, event_key: str, payload: dict,
                   now: datetime) -> int:
    """Queue this change for each user who wants it (outbox, or digest items); returns how many rows.

    System alarms (no account: the ingest rule) go to the admins' channels only.
    """
    if payload.get("account_id") is None or event == "test":
        return 0
    params = {"alarm_id": alarm_id, "event": event, "event_key": event_key, "payload": json.dumps(payload),
              "now": now, "account_id": payload["account_id"], "severity": payload["severity"],
              "digest_severities": list(DIGEST_SEVERITIES)}
    return conn.execute(_IMMEDIATE, params).rowcount + conn.execute(_DIGEST, params).rowcount
