"""Re-notification of unacknowledged critical alarms every N hours (TDS_ALARM_RENOTIFY_HOURS; 0: never)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tds_dash.alarms import outbox
from tds_dash.db import session_scope

LOCK_KEY = 7_301_062
# Counted from the latest notification, so a restart neither repeats nor skips a reminder; the claim is a
# compare-and-set on renotify_count, and event_key 'renotify:N' makes each reminder one outbox row per channel.
_DUE = sa.text(
    "UPDATE alarms SET renotify_count = renotify_count + 1 WHERE id IN (SELECT id FROM alarms"
    " WHERE cleared_at IS NULL AND acked_at IS NULL AND severity = 'critical'"
    " AND coalesce(notified_at, raised_at) <= :due FOR UPDATE SKIP LOCKED) RETURNING id, renotify_count"
)


def renotify_due(engine: Engine, now: datetime, every_hours: int) -> int:
    """Queue a reminder for each unacknowledged critical alarm not notified for `every_hours`."""
    if every_hours <= 0:
        return 0
    with session_scope(engine) as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar_one():
            return 0
        due = conn.execute(_DUE, {"due": now - timedelta(hours=every_hours)}).all()
        for alarm_id, number in due:
            outbox.enqueue(conn, alarm_id, "renotify", now, event_key=f"renotify:{number}")
    return len(due)
