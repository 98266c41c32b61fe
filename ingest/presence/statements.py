"""Statements of the presence jobs and the status-topic recorder: states in, transitions and events out."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ingest.presence.rules import GatewayState, Transition

FLAP_THRESHOLD = 2  # earlier transitions within the window that make the next one 'flapping'


def try_lock(conn: Connection, key: int) -> bool:
    """Transaction-scoped: released at commit, or when a crashed process' connection goes away."""
    return conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar_one()


_STATES = sa.text(
    "SELECT id, account_id, serial, inactivity_timeout_s AS timeout_s, last_seen_at, will_at, birth_at, status,"
    " status_since FROM gateways WHERE active AND (CAST(:gateway_id AS bigint) IS NULL OR id = :gateway_id)"
    " ORDER BY id"
)


def fetch_gateway_states(conn: Connection, gateway_id: int | None = None) -> list[GatewayState]:
    return [GatewayState(**row) for row in conn.execute(_STATES, {"gateway_id": gateway_id}).mappings()]


# Compare-and-set on the state the decision was based on: a concurrent writer makes this a no-op.
_SET_STATUS = sa.text(
    "UPDATE gateways SET status = :status, status_since = :at, status_reason = :reason"
    " WHERE id = :gateway_id AND active AND status IS NOT DISTINCT FROM CAST(:previous_status AS text)"
    " AND status_since IS NOT DISTINCT FROM CAST(:previous_since AS timestamptz) RETURNING id"
)
_CLOSE_INTERVAL = sa.text(
    "UPDATE gateway_presence SET ended_at = greatest(:at, started_at) WHERE gateway_id = :gateway_id"
    " AND ended_at IS NULL"
)
_OPEN_INTERVAL = sa.text(
    "INSERT INTO gateway_presence (gateway_id, status, reason, started_at)"
    " VALUES (:gateway_id, :status, :reason, :at) RETURNING id"
)
_RECENT_TRANSITIONS = sa.text(
    "SELECT count(*) FROM gateway_presence WHERE gateway_id = :gateway_id AND id <> :interval_id"
    " AND started_at > :since"
)
_MERGE_FLAPPING = sa.text(
    "UPDATE fleet_events SET count = count + 1, last_at = greatest(last_at, :at), state = :status,"
    " reason = :reason, evidence_at = :evidence_at WHERE id = (SELECT id FROM fleet_events"
    "   WHERE gateway_id = :gateway_id AND kind = 'gateway_flapping' AND last_at > :since"
    "   ORDER BY last_at DESC LIMIT 1) RETURNING id"
)
_INSERT_EVENT = sa.text(
    "INSERT INTO fleet_events (kind, reason, account_id, gateway_id, gateway_serial, device_id, at, last_at,"
    " state, evidence_at, interval_s, detail)"
    " VALUES (:kind, :reason, :account_id, :gateway_id, :serial, :device_id, :at, :at, :status, :evidence_at,"
    " :interval_s, :detail)"
)


def apply_gateway_transition(conn: Connection, t: Transition, flap_window: timedelta) -> bool:
    """Record one transition: gateway state, exact interval, and an event (merged when flapping)."""
    params = {"gateway_id": t.gateway_id, "account_id": t.account_id, "serial": t.serial, "status": t.status,
              "reason": t.reason, "at": t.at, "evidence_at": t.evidence_at, "previous_status": t.previous_status,
              "previous_since": t.previous_since, "detail": t.detail, "device_id": None, "interval_s": None,
              "since": t.at - flap_window}
    if conn.execute(_SET_STATUS, params).first() is None:
        return False
    conn.execute(_CLOSE_INTERVAL, params)
    interval_id = conn.execute(_OPEN_INTERVAL, params).scalar_one()
    recent = conn.execute(_RECENT_TRANSITIONS, {**params, "interval_id": interval_id}).scalar_one()
    if recent >= FLAP_THRESHOLD:
        if conn.execute(_MERGE_FLAPPING, params).first() is None:
            conn.execute(_INSERT_EVENT, {**params, "kind": "gateway_flapping"})
    else:
        conn.execute(_INSERT_EVENT, {**params, "kind": f"gateway_{t.status}"})
    return True


# The newest reading and the recent gaps of each metric of active devices on online gateways; each
# probe walks the readings primary key backwards (21 rows: 20 gaps to learn the usual interval from).
_DEVICE_ACTIVITY = sa.text(
    "SELECT d.id, d.account_id, d.gateway_id, d.code, g.serial, d.silent_since,"
    " max(k.last_ts) AS last_reading_at, min(dm.usual_interval_s) AS usual_interval_s,"
    " json_agg(k.gaps) AS gaps_s"
    " FROM devices d JOIN gateways g ON g.id = d.gateway_id JOIN device_metrics dm ON dm.device_id = d.id"
    " CROSS JOIN LATERAL (SELECT max(t.ts) AS last_ts,"
    "   coalesce(array_agg(t.gap) FILTER (WHERE t.gap > 0), '{}') AS gaps FROM (SELECT ts,"
    "     extract(epoch FROM ts - lag(ts) OVER (ORDER BY ts))::float8 AS gap FROM (SELECT r.ts FROM readings r"
    "       WHERE r.device_id = dm.device_id AND r.metric_id = dm.metric_id ORDER BY r.ts DESC LIMIT 21) w) t) k"
    " WHERE d.active AND g.active AND (g.status = 'online' OR d.silent_since IS NOT NULL)"
    " GROUP BY d.id, g.serial"
)


def fetch_device_activity(conn: Connection) -> list[dict]:
    """Per device: newest reading, the interval set on it (smallest over its metrics) and, per metric,
    the gaps between its recent readings (a list of lists)."""
    return [dict(row) for row in conn.execute(_DEVICE_ACTIVITY).mappings()]


_SET_SILENT = sa.text(
    "UPDATE devices SET silent_since = :since WHERE id = :id"
    " AND silent_since IS NOT DISTINCT FROM CAST(:previous AS timestamptz) RETURNING id"
)


def apply_device_change(conn: Connection, device: dict, change: str, at: datetime, interval_s: float) -> bool:
    """Mark a meter silent (or back) once, with its event; False when another process did it first."""
    since = at if change == "silent" else None
    if conn.execute(_SET_SILENT, {"id": device["id"], "since": since, "previous": device["silent_since"]}).first() is None:
        return False
    detail = (f"no reading since {device['last_reading_at'].isoformat()} (usual interval {interval_s:.0f} s)"
              if change == "silent" else "readings arriving again")
    conn.execute(_INSERT_EVENT, {
        "kind": "device_silent" if change == "silent" else "device_back",
        "reason": "device_silent" if change == "silent" else "readings",
        "account_id": device["account_id"], "gateway_id": device["gateway_id"], "serial": device["serial"],
        "device_id": device["id"], "at": at, "status": None, "evidence_at": device["last_reading_at"],
        "interval_s": interval_s, "detail": detail})
    return True


# A burst's source is the topic's (account, serial): traffic under one account's topic naming another
# account's serial is that account's burst, never the serial owner's (security finding 3).
_BURSTS = sa.text(
    "SELECT r.account_slug, r.gateway_serial, count(*) AS messages, min(r.received_at) AS first_at,"
    " max(r.received_at) AS last_at, mode() WITHIN GROUP (ORDER BY r.reason) AS reason"
    " FROM rejected_messages r WHERE r.received_at > :since AND r.received_at <= :now"
    " GROUP BY 1, 2 HAVING count(*) >= :threshold"
)
# An open burst of the same source is extended (its count recomputed, so a rerun changes nothing).
_EXTEND_BURST = sa.text(
    "UPDATE fleet_events e SET last_at = :last_at, count = (SELECT count(*) FROM rejected_messages r"
    "   WHERE r.gateway_serial IS NOT DISTINCT FROM e.gateway_serial"
    "   AND r.account_slug IS NOT DISTINCT FROM e.account_slug AND r.received_at >= e.at"
    "   AND r.received_at <= :last_at), detail = :detail"
    " WHERE e.id = (SELECT id FROM fleet_events WHERE kind = 'rejected_burst'"
    "   AND gateway_serial IS NOT DISTINCT FROM CAST(:serial AS text)"
    "   AND account_slug IS NOT DISTINCT FROM CAST(:account_slug AS text) AND last_at > :since"
    "   ORDER BY last_at DESC LIMIT 1) RETURNING e.id"
)
# The event belongs to the topic's account only when that account may speak for the serial: it owns the
# gateway, or nobody registered the serial (its own unknown_gateway traffic, which its users register).
# An unknown account, or a serial registered under another account, gives an event of no account (admins
# only) and no gateway.
_INSERT_BURST = sa.text(
    "WITH topic AS (SELECT (SELECT id FROM accounts WHERE slug = :account_slug) AS account_id,"
    "   (SELECT g.account_id FROM gateways g WHERE g.serial = :serial) AS owner_id,"
    "   (SELECT g.id FROM gateways g WHERE g.serial = :serial) AS gateway_id)"
    " INSERT INTO fleet_events (kind, reason, account_id, account_slug, gateway_id, gateway_serial, at, last_at,"
    " count, detail)"
    " SELECT 'rejected_burst', 'rejected',"
    " CASE WHEN t.owner_id IS NULL OR t.owner_id = t.account_id THEN t.account_id END, :account_slug,"
    " CASE WHEN t.owner_id = t.account_id THEN t.gateway_id END, :serial, :first_at, :last_at, :messages, :detail"
    " FROM topic t"
)


def record_rejected_bursts(conn: Connection, now: datetime, window: timedelta, threshold: int) -> int:
    """Sources (topic account, serial) with `threshold`+ rejected messages in the window become or extend events."""
    bursts = conn.execute(_BURSTS, {"since": now - window, "now": now, "threshold": threshold}).mappings().all()
    for burst in bursts:
        params = {**burst, "serial": burst["gateway_serial"], "since": now - window,
                  "detail": f"mostly {burst['reason']}"}
        if conn.execute(_EXTEND_BURST, params).first() is None:
            conn.execute(_INSERT_BURST, params)
    return len(bursts)


_RECORD_SIGNAL = sa.text(
    "UPDATE gateways g SET"
    " will_at = CASE WHEN :status = 'offline' THEN greatest(g.will_at, :at) ELSE g.will_at END,"
    " birth_at = CASE WHEN :status = 'online' AND NOT :retained THEN greatest(g.birth_at, :at) ELSE g.birth_at END"
    " FROM accounts a WHERE a.id = g.account_id AND g.serial = :serial AND a.slug = :account RETURNING g.id"
)


def record_status_signal(conn: Connection, account: str, serial: str, status: str, at: datetime,
                         retained: bool) -> int | None:
    """Store a birth/will of the status topic; returns the gateway id, None when no such gateway.

    A retained 'online' is the broker replaying an old birth (e.g. on our reconnect): it says nothing
    about now, so only live births count as evidence. A retained 'offline' is a will nobody replaced.
    """
    return conn.execute(_RECORD_SIGNAL, {"account": account, "serial": serial, "status": status, "at": at,
                                         "retained": retained}).scalar()
