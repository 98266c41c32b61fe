"""Observations of the state-based rules: gateway offline (presence), meter silent (presence), ingest stalled."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms import queries
from tds_dash.alarms.model import Observation, Rule

# Bound-parameter filters shared by every device rule: the rule's account, then optionally one gateway,
# one device, one metric.
DEVICE_SCOPE = (
    " d.active AND g.active AND d.account_id = :account_id"
    " AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)"
    " AND (CAST(:device_id AS bigint) IS NULL OR d.id = :device_id)"
)
_OFFLINE = sa.text(
    "SELECT g.id, g.serial, g.status_since, g.status_reason FROM gateways g WHERE g.active"
    " AND g.account_id = :account_id AND (CAST(:gateway_id AS bigint) IS NULL OR g.id = :gateway_id)"
    " AND g.status = 'offline'"
)
_SILENT = sa.text(
    "SELECT d.id, d.code, d.gateway_id, d.silent_since, g.status AS gateway_status FROM devices d"
    " JOIN gateways g ON g.id = d.gateway_id WHERE" + DEVICE_SCOPE + " AND d.silent_since IS NOT NULL"
)
# Only a deployment that ingested within the last day can stall (a fresh install has nothing to say).
_INGEST = sa.text("SELECT max(minute) AS last_minute FROM ingest_minutes WHERE messages > 0 AND minute > :since")
_OFFLINE_GATEWAYS = sa.text("SELECT id FROM gateways WHERE account_id = :account_id AND status = 'offline'")


def scope_params(rule: Rule) -> dict:
    """Bound parameters of DEVICE_SCOPE for this rule."""
    return {"account_id": rule.account_id, "gateway_id": rule.gateway_id, "device_id": rule.device_id,
            "metric_id": rule.metric_id}


def offline_gateways(conn: Connection, account_id: int) -> set[int]:
    """Gateways whose devices' conditions are held back (no storm of device alarms behind one outage)."""
    return {row[0] for row in conn.execute(_OFFLINE_GATEWAYS, {"account_id": account_id})}


def gateway_offline(conn: Connection, rule: Rule, now: datetime) -> list[Observation]:
    """One firing observation per offline gateway in scope, since its presence state changed."""
    return [Observation(subject=f"gateway:{row.id}", firing=True, since=row.status_since, gateway_id=row.id,
                        detail=f"{row.serial} offline ({row.status_reason})")
            for row in conn.execute(_OFFLINE, scope_params(rule))]


def meter_silent(conn: Connection, rule: Rule, now: datetime) -> list[Observation]:
    """Meters the presence job marked silent; those behind an offline gateway are suppressed."""
    return [Observation(subject=f"device:{row.id}", firing=True, since=row.silent_since, gateway_id=row.gateway_id,
                        device_id=row.id, detail=f"{row.code} silent",
                        suppressed_by=row.gateway_id if row.gateway_status == "offline" else None)
            for row in conn.execute(_SILENT, scope_params(rule))]


def ingest_stalled(conn: Connection, rule: Rule, now: datetime) -> list[Observation]:
    """Nothing committed for `minutes` by any ingest process after traffic within the last day (system rule).

    ingest_minutes is written by every ingest process, so this sees a stall whichever process ingests;
    a whole fleet going quiet (a regional outage) looks the same, and is worth a page too.
    """
    window = timedelta(minutes=rule.params.get("minutes", 5))
    last_minute = conn.execute(_INGEST, {"since": now - timedelta(days=1)}).scalar()
    if last_minute is None:
        return []
    last = last_minute + timedelta(minutes=1)
    if now - last < window:
        return []
    return [Observation(subject="ingest", firing=True, since=last + window,
                        detail=f"no message committed since {last.isoformat()}")]


def certificate_expiring(conn: Connection, rule: Rule, now: datetime) -> list[Observation]:
    """A gateway whose latest unrevoked certificate ends within `days` (stage 1) or `final_days` (stage 2).

    The stage is part of the subject: crossing the final mark clears the first alarm and raises a second.
    An expired certificate stays in the final stage until the gateway gets a new one or it is revoked.
    """
    days, final = rule.params.get("days", 30), rule.params.get("final_days", 7)
    found = []
    for row in queries.certificate_ends(conn, rule.account_id, rule.gateway_id):
        left = row.not_after - now
        stage_days = final if left <= timedelta(days=final) else days if left <= timedelta(days=days) else None
        if stage_days is None:
            continue
        detail = (f"{row.serial}: certificate expired at {row.not_after.isoformat()}" if left <= timedelta(0)
                  else f"{row.serial}: certificate expires in {left.days} day(s), at {row.not_after.isoformat()}")
        found.append(Observation(subject=f"gateway:{row.id}:certificate:{stage_days}d", firing=True,
                                 since=row.not_after - timedelta(days=stage_days), gateway_id=row.id, detail=detail))
    return found
