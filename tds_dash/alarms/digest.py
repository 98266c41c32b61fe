"""The hourly digest: a user's minor/warning changes of the past hour(s) queued as one e-mail in the outbox.

Items wait in notification_digest_items. At the first run after the top of an hour, every item created
before it goes into one outbox row per user (event_key 'digest:<hour>', so a second process or a rerun
queues nothing twice) and is marked with that row in the same transaction: a restart before the commit
builds it again, after the commit the sender delivers it like any notification (sent once accepted).
Hours are UTC hours, which are local hours in every whole-hour zone such as TDS_TIMEZONE's default.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tds_dash.alarms.recipients import MAY_READ
from tds_dash.db import session_scope

LOCK_KEY = 7_301_063
_DUE_USERS = sa.text("SELECT DISTINCT user_id FROM notification_digest_items WHERE outbox_id IS NULL"
                     " AND created_at < :hour ORDER BY user_id")
# Items of accounts the user may no longer read are dropped, never mailed (the tenant rule, checked again).
_DROP_FOREIGN = sa.text(
    "DELETE FROM notification_digest_items i USING users u WHERE u.id = i.user_id AND i.user_id = :user_id"
    " AND i.outbox_id IS NULL AND NOT (" + MAY_READ.format(account="i.account_id") + ")"
)
_ITEMS = sa.text("SELECT id, payload, created_at FROM notification_digest_items WHERE user_id = :user_id"
                 " AND outbox_id IS NULL AND created_at < :hour ORDER BY created_at, id")
_QUEUE = sa.text(
    "INSERT INTO notification_outbox (alarm_id, user_id, event, event_key, payload, next_attempt_at)"
    " VALUES (NULL, :user_id, 'digest', :event_key, CAST(:payload AS jsonb), :now)"
    " ON CONFLICT (user_id, coalesce(alarm_id, 0), event_key) WHERE user_id IS NOT NULL DO NOTHING RETURNING id"
)
_MARK = sa.text("UPDATE notification_digest_items SET outbox_id = :outbox_id WHERE id = ANY(:ids)")


def top_of_hour(now: datetime) -> datetime:
    """The hour the current digest period ends at."""
    return now.replace(minute=0, second=0, microsecond=0)


def build_due(engine: Engine, now: datetime) -> int:
    """Queue one digest per user with items from before the top of this hour; returns how many were queued."""
    hour, queued = top_of_hour(now), 0
    with session_scope(engine) as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar_one():
            return 0
        for (user_id,) in conn.execute(_DUE_USERS, {"hour": hour}).all():
            conn.execute(_DROP_FOREIGN, {"user_id": user_id})
            items = conn.execute(_ITEMS, {"user_id": user_id, "hour": hour}).all()
            if not items:
                continue
            payload = {"event": "digest", "period_start": top_of_hour(items[0].created_at).isoformat(),
                       "period_end": hour.isoformat(), "items": [item.payload for item in items]}
            outbox_id = conn.execute(_QUEUE, {"user_id": user_id, "event_key": f"digest:{hour.isoformat()}",
                                              "payload": json.dumps(payload), "now": now}).scalar()
            if outbox_id is None:
                continue  # this hour's digest exists already: these items (late by clock skew) wait an hour
            conn.execute(_MARK, {"outbox_id": outbox_id, "ids": [item.id for item in items]})
            queued += 1
    return queued
