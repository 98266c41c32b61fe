"""Reads behind the overview page: cards, monthly/daily consumption, latest readings."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import consumption, events
from tds_dash.queries.scope import IN_SCOPE, Scope

# Optional gateway filter on fleet rollups (sql/080): NULL means every gateway of the scope.
_GATEWAY_FILTER = "(CAST(:gateway_id AS bigint) IS NULL OR c.gateway_id = :gateway_id)"

_CARDS = sa.text(
    "SELECT"
    " (SELECT count(*) FROM gateways g WHERE g.account_id " + IN_SCOPE + " AND g.active"
    "   AND (CAST(:gateway_id AS bigint) IS NULL OR g.id = :gateway_id)"
    "   AND g.last_seen_at > :now - g.inactivity_timeout_s * interval '1 second') AS gateways_online,"
    " (SELECT count(*) FROM gateways g WHERE g.account_id " + IN_SCOPE + " AND g.active"
    "   AND (CAST(:gateway_id AS bigint) IS NULL OR g.id = :gateway_id)) AS gateways_total,"
    " (SELECT count(*) FROM devices d WHERE d.account_id " + IN_SCOPE + " AND d.active"
    "   AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)) AS devices_total"
)

# Readings per day (every metric), from the hourly fleet rollup (never the raw table): hour-granular 24 h window.
_READINGS_24H = sa.text(
    "SELECT coalesce(sum(c.count), 0) FROM fleet_hourly c"
    " WHERE c.account_id " + IN_SCOPE + " AND c.bucket >= :since AND " + _GATEWAY_FILTER
)

# One row per gateway and bucket (the sum of its devices' rollups), not one per device.
_SERIES = {
    level: sa.text(
        "SELECT c.bucket, sum(c.consumption) AS consumption FROM fleet_" + level + " c"
        " WHERE c.account_id " + IN_SCOPE + " AND c.metric_id = (SELECT id FROM metrics WHERE name = :metric)"
        " AND c.bucket >= :start AND c.bucket < :end AND " + _GATEWAY_FILTER + " GROUP BY c.bucket ORDER BY c.bucket"
    )
    for level in ("daily", "monthly")
}

# One line per device: its newest reading of the overview's metric (one probe of the readings primary key
# per device), so the block reads as the fleet's current state rather than the last few seconds' traffic.
# The devices are picked first (those with the metric in device_metrics, by gateway and code, :limit of them)
# and only those probed: probing every device and cutting after read 2,000 devices' pages for 500 lines.
_LATEST = sa.text(
    "SELECT r.ts, x.gateway, x.device, x.device_name, m.name AS metric, m.unit, r.value"
    " FROM metrics m CROSS JOIN LATERAL (SELECT d.id, g.serial AS gateway, d.code AS device, d.name AS device_name"
    "   FROM devices d JOIN gateways g ON g.id = d.gateway_id"
    "   JOIN device_metrics dm ON dm.device_id = d.id AND dm.metric_id = m.id"
    "   WHERE d.account_id " + IN_SCOPE + " AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)"
    "   ORDER BY g.serial, d.code LIMIT :limit OFFSET :offset) x"
    " CROSS JOIN LATERAL (SELECT y.ts, y.value FROM readings y WHERE y.device_id = x.id AND y.metric_id = m.id"
    "   ORDER BY y.ts DESC LIMIT 1) r"
    " WHERE m.name = :metric ORDER BY x.gateway, x.device"
)

# How many lines the latest block has: the scope's devices with the metric (a device whose readings were all
# removed by retention is counted but has no line: the last page is then short).
_LATEST_COUNT = sa.text(
    "SELECT count(*) FROM devices d JOIN device_metrics dm ON dm.device_id = d.id"
    " JOIN metrics m ON m.id = dm.metric_id AND m.name = :metric"
    " WHERE d.account_id " + IN_SCOPE + " AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)"
)
LATEST_PAGE_MAX = 200
# The latest block sorted by another column than gateway and code: every device of the scope is probed
# (its newest reading), then sorted and cut; ties by gateway and code. Column -> ORDER BY key (constant text).
LATEST_SORTS = {"gateway": "x.gateway", "device": "coalesce(x.device_name, x.device)", "value": "r.value",
                "time": "r.ts"}


def _latest_sorted_sql(key: str, descending: bool) -> sa.TextClause:
    direction = " DESC NULLS LAST" if descending else " ASC NULLS LAST"
    return sa.text(
        "SELECT r.ts, x.gateway, x.device, x.device_name, m.name AS metric, m.unit, r.value"
        " FROM metrics m CROSS JOIN LATERAL (SELECT d.id, g.serial AS gateway, d.code AS device,"
        "   d.name AS device_name FROM devices d JOIN gateways g ON g.id = d.gateway_id"
        "   JOIN device_metrics dm ON dm.device_id = d.id AND dm.metric_id = m.id"
        "   WHERE d.account_id " + IN_SCOPE + " AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)) x"
        " CROSS JOIN LATERAL (SELECT y.ts, y.value FROM readings y WHERE y.device_id = x.id AND y.metric_id = m.id"
        "   ORDER BY y.ts DESC LIMIT 1) r"
        " WHERE m.name = :metric ORDER BY " + key + direction + ", x.gateway, x.device LIMIT :limit OFFSET :offset"
    )


_LATEST_SORTED = {(column, descending): _latest_sorted_sql(key, descending)
                  for column, key in LATEST_SORTS.items() for descending in (False, True)}


@dataclasses.dataclass(frozen=True)
class OverviewData:
    gateways_online: int
    gateways_total: int
    devices_total: int
    readings_24h: int
    month_consumption: float | None
    previous_same_period: float | None  # last month up to periods.compared_spans' cut
    monthly: pd.DataFrame  # bucket (local month start), consumption
    daily: pd.DataFrame  # bucket (local midnight), consumption
    offline_gateways: list = dataclasses.field(default_factory=list)  # queries.events.offline_gateways rows
    compared_consumption: float | None = None  # this month up to the same cut (the change's numerator)


def month_start(moment: datetime, zone: ZoneInfo, months_back: int = 0) -> datetime:
    """Local midnight of the first day of the month `months_back` before moment's month."""
    local = moment.astimezone(zone)
    year, month = local.year, local.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=zone)


def fetch_overview(conn: Connection, scope: Scope, now: datetime, zone: ZoneInfo, metric: str = "energy_kwh",
                   gateway_id: int | None = None) -> OverviewData:
    """The overview's cards, charts and offline gateways, read from rollups (the latest readings are paged:
    latest_readings_page)."""
    base = {**scope.params(), "gateway_id": gateway_id, "now": now, "metric": metric}
    cards = conn.execute(_CARDS, base).one()
    this_month = month_start(now, zone)
    # The month so far includes the hour in progress; its change against last month is
    # periods.compared_spans' (the explorer's): both sides cut at the last whole hour.
    previous, cut, previous_cut = periods.compared_spans(periods.month_to_date(now, zone), now)
    month_total, compared_total, previous_total = _totals_between(conn, scope, metric, gateway_id, [
        (this_month, now + timedelta(hours=1)), (this_month, cut), (previous.start, previous_cut)], zone)
    return OverviewData(
        gateways_online=cards.gateways_online,
        gateways_total=cards.gateways_total,
        devices_total=cards.devices_total,
        readings_24h=int(conn.execute(_READINGS_24H, {**base, "since": now - timedelta(hours=24)}).scalar_one()),
        month_consumption=month_total,
        previous_same_period=previous_total,
        compared_consumption=compared_total,
        monthly=_frame(conn, _SERIES["monthly"], {**base, "start": month_start(now, zone, 12),
                                                  "end": now + timedelta(days=1)}, zone),
        daily=_frame(conn, _SERIES["daily"], {**base, "start": this_month, "end": now + timedelta(days=1)}, zone),
        offline_gateways=events.offline_gateways(conn, scope, gateway_id),
    )


def _totals_between(conn: Connection, scope: Scope, metric: str, gateway_id: int | None,
                    spans: list[tuple[datetime, datetime]], zone: ZoneInfo) -> list[float | None]:
    found = consumption.find_metric(conn, metric)
    if found is None:
        return [None] * len(spans)
    selection = consumption.Selection(gateway_ids=(gateway_id,) if gateway_id is not None else ())
    return consumption.totals_between(conn, scope, selection, found["id"], spans, zone)


def fetch_latest_readings(conn: Connection, scope: Scope, zone: ZoneInfo, metric: str = "energy_kwh",
                          limit: int = 500, gateway_id: int | None = None, offset: int = 0) -> pd.DataFrame:
    """Each device's newest reading of `metric` (devices without one are left out), by gateway and code."""
    rows = conn.execute(_LATEST, {**scope.params(), "gateway_id": gateway_id, "metric": metric,
                                  "limit": limit, "offset": offset}).mappings().all()
    return _latest_frame(rows, zone)


def _latest_frame(rows, zone: ZoneInfo) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "gateway", "device", "device_name", "metric", "unit", "value"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(zone)
    return frame


def latest_readings_page(conn: Connection, scope: Scope, zone: ZoneInfo, metric: str, gateway_id: int | None,
                         offset: int, limit: int, sort: str = "gateway", descending: bool = False
                         ) -> tuple[pd.DataFrame, int]:
    """One page of the latest block (fetch_latest_readings' rows) sorted by a LATEST_SORTS column, and how
    many lines there are; ValueError for a bad offset, size or column."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be an integer >= 0, not {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LATEST_PAGE_MAX:
        raise ValueError(f"page size must be an integer from 1 to {LATEST_PAGE_MAX}, not {limit!r}")
    if sort not in LATEST_SORTS:
        raise ValueError(f"unknown sort column {str(sort)[:40]!r}; one of {', '.join(LATEST_SORTS)}")
    params = {**scope.params(), "gateway_id": gateway_id, "metric": metric}
    count = int(conn.execute(_LATEST_COUNT, params).scalar_one())
    if sort == "gateway" and not descending:  # the block's own order: only this page's devices are probed
        return fetch_latest_readings(conn, scope, zone, metric, limit, gateway_id, offset), count
    rows = conn.execute(_LATEST_SORTED[(sort, bool(descending))],
                        {**params, "limit": limit, "offset": offset}).mappings().all()
    return _latest_frame(rows, zone), count


def _frame(conn: Connection, statement, params: dict, zone: ZoneInfo) -> pd.DataFrame:
    rows = conn.execute(statement, params).all()
    frame = pd.DataFrame(rows, columns=["bucket", "consumption"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.tz_convert(zone)
    frame["consumption"] = frame["consumption"].astype("float64")
    return frame


_LIVE_ROLLED_UP = sa.text("SELECT EXISTS (SELECT 1 FROM fleet_hourly WHERE bucket >= :since)")


def live_rolled_up(conn: Connection, since: datetime) -> bool:
    """Whether readings since `since` are in the fleet rollups (what the overview's cards count)."""
    return bool(conn.execute(_LIVE_ROLLED_UP, {"since": since}).scalar_one())
