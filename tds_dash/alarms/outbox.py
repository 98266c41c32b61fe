"""The notification outbox: rows written in the transaction of an alarm change, one per channel and change."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms import recipients

_PAYLOAD = sa.text(
    "SELECT a.id, a.kind, a.severity, a.subject, a.started_at, a.raised_at, a.last_at, a.count, a.suppressed,"
    " a.value, a.threshold, a.detail, a.acked_at, a.acked_by, a.ack_comment, a.cleared_at, a.cleared_by,"
    " a.clear_comment, a.account_id, r.name AS rule, acc.name AS account, g.serial AS gateway,"
    " d.code AS device, m.name AS metric, m.unit"
    " FROM alarms a JOIN alarm_rules r ON r.id = a.rule_id LEFT JOIN accounts acc ON acc.id = a.account_id"
    " LEFT JOIN gateways g ON g.id = a.gateway_id LEFT JOIN devices d ON d.id = a.device_id"
    " LEFT JOIN metrics m ON m.id = a.metric_id WHERE a.id = :id"
)
# Channels of the alarm's account, plus the admins' channels (no account), that want this severity;
# ON CONFLICT: a change enqueued twice (two evaluators, a retried transaction) is sent once.
_ENQUEUE = sa.text(
    "INSERT INTO notification_outbox (alarm_id, channel_id, event, event_key, payload, next_attempt_at)"
    " SELECT :alarm_id, c.id, :event, :event_key, CAST(:payload AS jsonb), :now FROM notification_channels c"
    " WHERE c.enabled AND (c.account_id IS NULL OR c.account_id = :account_id)"
    " AND :severity = ANY(c.severities) AND (:event <> 'acknowledged' OR c.on_ack)"
    " ON CONFLICT (channel_id, alarm_id, event_key) DO NOTHING"
)
_NOTIFIED = sa.text("UPDATE alarms SET notified_at = :now WHERE id = :alarm_id")


def alarm_payload(conn: Connection, alarm_id: int, event: str, now: datetime) -> dict:
    """The alarm as it is now in this transaction, JSON-safe (ISO 8601 UTC times)."""
    row = dict(conn.execute(_PAYLOAD, {"id": alarm_id}).mappings().one())
    payload = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}
    return {**payload, "event": event, "at": now.isoformat()}


def enqueue(conn: Connection, alarm_id: int, event: str, now: datetime, event_key: str | None = None) -> int:
    """Queue one notification per interested channel and person for this change; returns how many were queued."""
    payload = alarm_payload(conn, alarm_id, event, now)
    queued = conn.execute(_ENQUEUE, {"alarm_id": alarm_id, "event": event, "event_key": event_key or event,
                                     "payload": json.dumps(payload), "now": now,
                                     "account_id": payload["account_id"], "severity": payload["severity"]}).rowcount
    queued += recipients.enqueue_people(conn, alarm_id, event, event_key or event, payload, now)
    conn.execute(_NOTIFIED, {"alarm_id": alarm_id, "now": now})
    return queued


_ENQUEUE_TEST = sa.text(
    "INSERT INTO notification_outbox (alarm_id, channel_id, event, event_key, payload, next_attempt_at)"
    " VALUES (NULL, :channel_id, 'test', :event_key, CAST(:payload AS jsonb), :now) RETURNING id"
)


def enqueue_test(conn: Connection, channel_id: int, now: datetime, requested_by: str) -> int:
    """A test message for one channel, delivered by the same sender as real ones (so it proves the path)."""
    payload = {"id": None, "event": "test", "at": now.isoformat(), "kind": "test", "severity": "warning",
               "rule": "test", "account": None, "detail": f"requested by {requested_by}"}
    return conn.execute(_ENQUEUE_TEST, {"channel_id": channel_id, "event_key": f"test:{now.isoformat()}",
                                        "payload": json.dumps(payload), "now": now}).scalar_one()
