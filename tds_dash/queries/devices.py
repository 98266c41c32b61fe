"""Reads about single devices: identity and status, latest values, raw readings, meter corrections."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import consumption
from tds_dash.queries.scope import IN_SCOPE, Scope

_OPTIONS = sa.text(
    "SELECT d.id, d.code, d.name, g.serial AS gateway FROM devices d JOIN gateways g ON g.id = d.gateway_id"
    " WHERE d.account_id " + IN_SCOPE
    + " AND (:any_account OR d.account_id = ANY(CAST(:sel_accounts AS bigint[])))"
    " AND (:any_gateway OR d.gateway_id = ANY(CAST(:sel_gateways AS bigint[])))"
    " ORDER BY g.serial, d.code LIMIT :limit"
)

# The explorer's device dropdown for a big fleet: the chosen devices and the first :limit whose label
# ('GW-0101/MED-001 · name') holds every typed word, case-insensitive (LIKE wildcards in words escaped).
_SEARCH_OPTIONS = sa.text(
    "SELECT d.id, d.code, d.name, g.serial AS gateway FROM devices d JOIN gateways g ON g.id = d.gateway_id"
    " WHERE d.account_id " + IN_SCOPE
    + " AND (:any_account OR d.account_id = ANY(CAST(:sel_accounts AS bigint[])))"
    " AND (:any_gateway OR d.gateway_id = ANY(CAST(:sel_gateways AS bigint[])))"
    " AND (d.id = ANY(CAST(:chosen AS bigint[])) OR NOT EXISTS (SELECT 1 FROM unnest(CAST(:words AS text[])) w"
    "      WHERE g.serial || '/' || d.code || ' · ' || coalesce(d.name, '') NOT ILIKE w ESCAPE '\\'))"
    " ORDER BY d.id = ANY(CAST(:chosen AS bigint[])) DESC, g.serial, d.code LIMIT :limit"
)
SEARCH_LIMIT_MAX = 200
SEARCH_WORDS_MAX = 8

_DEVICE = sa.text(
    "SELECT d.id, d.code, d.name, d.kind, d.active, d.account_id, a.name AS account, d.gateway_id,"
    " g.serial AS gateway, g.name AS gateway_name, g.inactivity_timeout_s"
    " FROM devices d JOIN gateways g ON g.id = d.gateway_id JOIN accounts a ON a.id = d.account_id"
    " WHERE d.id = :device_id AND d.account_id " + IN_SCOPE
)

# Newest reading per metric the device has ever reported (monthly rollups list them cheaply); each
# probe walks the (device_id, metric_id, ts) primary key backwards.
_LATEST = sa.text(
    "SELECT m.name AS metric, m.unit, m.meter_kind, r.ts, r.value FROM"
    " (SELECT DISTINCT metric_id FROM consumption_monthly WHERE device_id = :device_id) k"
    " JOIN metrics m ON m.id = k.metric_id"
    " CROSS JOIN LATERAL (SELECT x.ts, x.value FROM readings x WHERE x.device_id = :device_id"
    "   AND x.metric_id = k.metric_id ORDER BY x.ts DESC LIMIT 1) r"
    " ORDER BY m.name"
)

_READINGS = sa.text(
    "SELECT r.device_id, m.name AS metric, m.unit, r.ts, r.value, r.consumption FROM readings r"
    " JOIN metrics m ON m.id = r.metric_id"
    " WHERE r.device_id = ANY(CAST(:devices AS bigint[])) AND r.ts >= :start AND r.ts < :end"
    " AND (CAST(:metric AS text) IS NULL OR m.name = :metric) AND r.account_id " + IN_SCOPE
    + " ORDER BY r.device_id, m.name, r.ts LIMIT :limit"
)

# Table added by sql/004_meter_semantics.sql (counter glitches, resets, rollovers).
_CORRECTIONS = sa.text(
    "SELECT m.name AS metric, c.ts, c.kind, c.previous_value, c.value, c.detected_at"
    " FROM meter_corrections c JOIN metrics m ON m.id = c.metric_id"
    " JOIN devices d ON d.id = c.device_id AND d.account_id " + IN_SCOPE
    + " WHERE c.device_id = :device_id AND c.ts >= :start AND c.ts < :end ORDER BY c.ts LIMIT 500"
)


def device_options(conn: Connection, scope: Scope, account_ids=(), gateway_ids=(), limit: int = 5000) -> list[dict]:
    """Devices the explorer may offer, following the account and gateway choice."""
    params = {**scope.params(), "sel_accounts": list(account_ids), "sel_gateways": list(gateway_ids),
              "any_account": not account_ids, "any_gateway": not gateway_ids, "limit": limit}
    return [dict(row) for row in conn.execute(_OPTIONS, params).mappings()]


def search_device_options(conn: Connection, scope: Scope, account_ids=(), gateway_ids=(), text: str | None = "",
                          chosen=(), limit: int = 50) -> list[dict]:
    """device_options narrowed to labels holding every word of `text`, at most `limit` of them, plus the
    `chosen` ids (in scope) whatever the text; by gateway and code. ValueError for a bad limit."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise ValueError(f"limit must be an integer from 1 to {SEARCH_LIMIT_MAX}, not {limit!r}")
    words = (text or "").split()[:SEARCH_WORDS_MAX]
    patterns = ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
    chosen = [int(c) for c in chosen or ()]
    params = {**scope.params(), "sel_accounts": list(account_ids), "sel_gateways": list(gateway_ids),
              "any_account": not account_ids, "any_gateway": not gateway_ids, "chosen": chosen,
              "words": patterns, "limit": limit + len(chosen)}
    rows = [dict(row) for row in conn.execute(_SEARCH_OPTIONS, params).mappings()]
    return sorted(rows, key=lambda row: (row["gateway"], row["code"]))


def find_device(conn: Connection, scope: Scope, device_id: int) -> dict | None:
    """The device, or None when it does not exist or lies outside the viewer's scope."""
    row = conn.execute(_DEVICE, {**scope.params(), "device_id": device_id}).mappings().first()
    return dict(row) if row else None


def latest_values(conn: Connection, device_id: int) -> pd.DataFrame:
    """metric, unit, meter_kind, ts, value: the newest reading of each metric. Check scope first (find_device)."""
    rows = conn.execute(_LATEST, {"device_id": device_id}).mappings().all()
    frame = pd.DataFrame(rows, columns=["metric", "unit", "meter_kind", "ts", "value"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def device_status(device: dict, latest: pd.DataFrame, now: datetime) -> dict:
    """Last seen = newest reading of any metric; online while younger than the gateway's inactivity timeout."""
    last_seen = None if latest.empty else latest["ts"].max().to_pydatetime()
    online = last_seen is not None and (now - last_seen).total_seconds() < device["inactivity_timeout_s"]
    return {"last_seen": last_seen, "online": online}


def readings(conn: Connection, scope: Scope, device_ids: list[int], start: datetime, end: datetime,
             limit: int, metric: str | None = None) -> pd.DataFrame:
    """Raw readings, oldest first per device and metric, at most `limit` rows (ask limit + 1 to detect more)."""
    params = {**scope.params(), "devices": list(device_ids), "start": start, "end": end, "metric": metric,
              "limit": limit}
    rows = conn.execute(_READINGS, params).mappings().all()
    frame = pd.DataFrame(rows, columns=["device_id", "metric", "unit", "ts", "value", "consumption"])
    frame["value"] = frame["value"].astype("float64")
    frame["consumption"] = frame["consumption"].astype("float64")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def corrections(conn: Connection, scope: Scope, device_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Meter corrections (glitch, reset, rollover, provisional) of one device in [start, end)."""
    params = {**scope.params(), "device_id": device_id, "start": start, "end": end}
    rows = conn.execute(_CORRECTIONS, params).mappings().all()
    frame = pd.DataFrame(rows, columns=["metric", "ts", "kind", "previous_value", "value", "detected_at"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


# Up to this many days the device page draws every raw reading; beyond, min/avg/max bands from rollups.
RAW_DAYS = 2
RAW_LIMIT = 50_000


@dataclasses.dataclass(frozen=True)
class DeviceCharts:
    raw: bool
    series: pd.DataFrame  # raw: readings(); else consumption.device_series() at band_granularity
    band_granularity: str | None
    bars: pd.DataFrame  # consumption.device_series() at the explorer's automatic granularity
    bar_granularity: str
    corrections: pd.DataFrame


def fetch_device_charts(conn: Connection, scope: Scope, device_id: int, period: periods.Period) -> DeviceCharts:
    """The device page's charts over a local period: raw readings when short, rollups otherwise."""
    start, end, zone = period.start, period.end, period.zone
    raw = period.days <= RAW_DAYS
    band = None if raw else periods.finest_granularity(period.days)
    series = (readings(conn, scope, [device_id], start, end, RAW_LIMIT) if raw
              else consumption.device_series(conn, scope, [device_id], band, start, end, zone))
    bar_granularity = periods.auto_granularity(period.days)
    bars = consumption.device_series(conn, scope, [device_id], bar_granularity, start, end, zone)
    return DeviceCharts(raw, series, band, bars, bar_granularity, corrections(conn, scope, device_id, start, end))
