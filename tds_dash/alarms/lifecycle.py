"""The alarm lifecycle: raise, re-raise, clear (automatic, with hysteresis, or by hand) and acknowledge.

Every change is a compare-and-set on the stored row, the one-active-alarm rule is a partial unique index
(sql/060_alarms.sql), and each change queues its notifications in the same transaction (outbox).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms import outbox
from tds_dash.alarms.model import Alarm, Observation, Rule

_COLUMNS = ("id, rule_id, account_id, subject, kind, severity, started_at, raised_at, episode_at, last_at, count,"
            " suppressed, value, threshold, detail, clearing_since, acked_at, acked_by, ack_comment, cleared_at,"
            " cleared_by, clear_comment, gateway_id, device_id, metric_id")
_ACTIVE = sa.text(f"SELECT {_COLUMNS} FROM alarms WHERE rule_id = :rule_id AND cleared_at IS NULL")
_GET = sa.text(f"SELECT {_COLUMNS} FROM alarms WHERE id = :id")
_RAISE = sa.text(
    "INSERT INTO alarms (rule_id, account_id, subject, gateway_id, device_id, metric_id, kind, severity, started_at,"
    " raised_at, episode_at, last_at, value, threshold, detail)"
    " VALUES (:rule_id, :account_id, :subject, :gateway_id, :device_id, :metric_id, :kind, :severity, :since,"
    " :now, :since, :now, :value, :threshold, :detail)"
    " ON CONFLICT (rule_id, subject) WHERE cleared_at IS NULL DO NOTHING RETURNING id"
)
# A new occurrence while active: counted once per episode (its start), whatever the number of evaluations.
_RERAISE = sa.text(
    "UPDATE alarms SET count = count + 1, episode_at = :since, last_at = :now, value = :value, detail = :detail,"
    " clearing_since = NULL WHERE id = :id AND cleared_at IS NULL AND episode_at < :since RETURNING id"
)
_HOLD = sa.text("UPDATE alarms SET clearing_since = NULL, value = coalesce(:value, value)"
                " WHERE id = :id AND cleared_at IS NULL")
_CLEARING = sa.text("UPDATE alarms SET clearing_since = :at WHERE id = :id AND cleared_at IS NULL"
                    " AND clearing_since IS NULL")
_CLEAR = sa.text(
    "UPDATE alarms SET cleared_at = :now, cleared_by = :by, clear_comment = :comment, clearing_since = NULL"
    " WHERE id = :id AND cleared_at IS NULL RETURNING id"
)
_ACK = sa.text(
    "UPDATE alarms SET acked_at = :now, acked_by = :by, ack_comment = :comment"
    " WHERE id = :id AND acked_at IS NULL RETURNING id"
)
_SUPPRESSED = sa.text(
    "UPDATE alarms SET suppressed = greatest(suppressed, :count) WHERE kind = 'gateway_offline'"
    " AND gateway_id = :gateway_id AND cleared_at IS NULL"
)


def _alarm(row) -> Alarm:
    return Alarm(**row)


def active_alarms(conn: Connection, rule_id: int) -> dict[str, Alarm]:
    """The rule's active alarms by subject."""
    return {row["subject"]: _alarm(row) for row in conn.execute(_ACTIVE, {"rule_id": rule_id}).mappings()}


def get_alarm(conn: Connection, alarm_id: int) -> Alarm | None:
    """One alarm by id, unscoped (jobs and service checks only)."""
    row = conn.execute(_GET, {"id": alarm_id}).mappings().first()
    return None if row is None else _alarm(row)


def raise_alarm(conn: Connection, rule: Rule, obs: Observation, now: datetime) -> int | None:
    """Insert the active alarm and queue 'raised'; None when another evaluator raised it first."""
    params = {"rule_id": rule.id, "account_id": rule.account_id, "subject": obs.subject, "gateway_id": obs.gateway_id,
              "device_id": obs.device_id, "metric_id": obs.metric_id, "kind": rule.kind, "severity": rule.severity,
              "since": obs.since, "now": now, "value": obs.value, "threshold": obs.threshold, "detail": obs.detail}
    alarm_id = conn.execute(_RAISE, params).scalar()
    if alarm_id is not None:
        outbox.enqueue(conn, alarm_id, "raised", now)
    return alarm_id


def clear_alarm(conn: Connection, alarm_id: int, now: datetime, by: str | None = None,
                comment: str | None = None) -> bool:
    """Clear once (automatically when `by` is None) and queue 'cleared'; False when already cleared."""
    if conn.execute(_CLEAR, {"id": alarm_id, "now": now, "by": by, "comment": comment}).first() is None:
        return False
    outbox.enqueue(conn, alarm_id, "cleared", now)
    return True


def acknowledge(conn: Connection, alarm_id: int, now: datetime, by: str, comment: str | None) -> bool:
    """Acknowledge once (active or cleared) and queue 'acknowledged' for channels that want it."""
    if conn.execute(_ACK, {"id": alarm_id, "now": now, "by": by, "comment": comment}).first() is None:
        return False
    outbox.enqueue(conn, alarm_id, "acknowledged", now)
    return True


def _update_active(conn: Connection, rule: Rule, alarm: Alarm, obs: Observation | None, now: datetime) -> str | None:
    if obs is not None and obs.firing and obs.since > alarm.episode_at:
        conn.execute(_RERAISE, {"id": alarm.id, "since": obs.since, "now": now, "value": obs.value,
                                "detail": obs.detail})
        return "reraised"
    if obs is not None and (obs.firing or obs.holding):
        if alarm.clearing_since is not None or obs.value is not None:
            conn.execute(_HOLD, {"id": alarm.id, "value": obs.value})
        return None
    clearing_since = alarm.clearing_since or now
    if alarm.clearing_since is None:
        conn.execute(_CLEARING, {"id": alarm.id, "at": now})
    if now - clearing_since >= timedelta(seconds=rule.clear_seconds):
        return "cleared" if clear_alarm(conn, alarm.id, now) else None
    return None


def apply_observations(conn: Connection, rule: Rule, observations: list[Observation], now: datetime,
                       may_raise: bool = True) -> dict[str, int]:
    """Move the rule's alarms to what the observations say; returns counts of raised/reraised/cleared."""
    counts = {"raised": 0, "reraised": 0, "cleared": 0, "suppressed": 0}
    active = active_alarms(conn, rule.id)
    by_subject = {obs.subject: obs for obs in observations}
    suppressed: dict[int, int] = {}
    for obs in observations:
        if obs.suppressed_by is not None:
            suppressed[obs.suppressed_by] = suppressed.get(obs.suppressed_by, 0) + 1
            continue  # a device of an offline gateway: neither raised nor cleared until it is back
        if obs.subject in active or not obs.firing or not may_raise:
            continue
        if now - obs.since >= timedelta(seconds=rule.for_seconds) and raise_alarm(conn, rule, obs, now):
            counts["raised"] += 1
    for subject, alarm in active.items():
        obs = by_subject.get(subject)
        if obs is not None and obs.suppressed_by is not None:
            continue
        outcome = _update_active(conn, rule, alarm, obs, now)
        if outcome:
            counts[outcome] += 1
    for gateway_id, count in suppressed.items():
        conn.execute(_SUPPRESSED, {"gateway_id": gateway_id, "count": count})
    counts["suppressed"] = sum(suppressed.values())
    return counts
