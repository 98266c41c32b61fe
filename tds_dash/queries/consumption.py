"""Consumption reads from the rollups, shared by the explorer, the device page and /api/v1.

Buckets are selected by their start: from <= bucket < to. Every read is scoped (Scope) and then narrowed
by a Selection of accounts, gateways and devices (an intersection: each empty part means "all").
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import IN_SCOPE, Scope

ROLLUPS = {"hour": "consumption_hourly", "day": "consumption_daily", "month": "consumption_monthly"}


@dataclasses.dataclass(frozen=True)
class Selection:
    """Accounts, gateways and devices picked in the UI or the API; an empty tuple means no restriction."""

    account_ids: tuple[int, ...] = ()
    gateway_ids: tuple[int, ...] = ()
    device_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, accounts=None, gateways=None, devices=None) -> "Selection":
        """From dropdown values (None, one id or a list)."""
        def ids(value) -> tuple[int, ...]:
            if value is None:
                return ()
            return tuple(int(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        return cls(ids(accounts), ids(gateways), ids(devices))

    def params(self) -> dict:
        return {"sel_accounts": list(self.account_ids), "sel_gateways": list(self.gateway_ids),
                "sel_devices": list(self.device_ids), "any_account": not self.account_ids,
                "any_gateway": not self.gateway_ids, "any_device": not self.device_ids}


# Appended to a WHERE on a rollup aliased c (constant text, never user input).
SELECTED = (
    " c.account_id " + IN_SCOPE
    + " AND (:any_account OR c.account_id = ANY(CAST(:sel_accounts AS bigint[])))"
    + " AND (:any_device OR c.device_id = ANY(CAST(:sel_devices AS bigint[])))"
    + " AND (:any_gateway OR c.device_id IN (SELECT id FROM devices"
    + "      WHERE gateway_id = ANY(CAST(:sel_gateways AS bigint[]))))"
)

_METRICS = sa.text("SELECT id, name, unit, meter_kind FROM metrics ORDER BY known DESC, name")

_COLUMNS = ("device_id, metric_id, account_id, bucket, consumption, min_value, max_value, sum_value, count,"
            " last_value, last_ts")
_METRIC = "(CAST(:metric_id AS smallint) IS NULL OR metric_id = :metric_id)"


def _source(granularity: str) -> str:
    """The rollup rows of [:start, :end) as a derived table c, one row per device, metric and bucket.

    Months: whole months from the monthly rollup, a partial first or last month summed from the daily
    one ([:m_lo, :m_hi) from periods.month_bounds), so a range from the 10th shows that month from the 10th.
    """
    if granularity != "month":
        return (f"(SELECT {_COLUMNS} FROM {ROLLUPS[granularity]}"
                f" WHERE bucket >= :start AND bucket < :end AND {_METRIC}) c")
    return (
        "(SELECT device_id, metric_id, max(account_id) AS account_id, bucket, sum(consumption) AS consumption,"
        " min(min_value) AS min_value, max(max_value) AS max_value, sum(sum_value) AS sum_value,"
        " sum(count)::integer AS count, (array_agg(last_value ORDER BY last_ts DESC))[1] AS last_value,"
        " max(last_ts) AS last_ts FROM ("
        f"  SELECT {_COLUMNS} FROM consumption_monthly WHERE bucket >= :m_lo AND bucket < :m_hi AND {_METRIC}"
        "  UNION ALL SELECT device_id, metric_id, account_id, date_trunc('month', bucket, :tz), consumption,"
        "  min_value, max_value, sum_value, count, last_value, last_ts FROM consumption_daily"
        "  WHERE ((bucket >= :start AND bucket < :m_lo) OR (bucket >= :m_hi AND bucket < :end)) AND " + _METRIC
        + " ) u GROUP BY device_id, metric_id, bucket) c"
    )


_DEVICE_TOTALS = {
    level: sa.text(
        "SELECT c.device_id, d.code, d.name, g.serial AS gateway, a.name AS account,"
        " sum(c.consumption) AS consumption, min(c.consumption) AS min, avg(c.consumption) AS avg,"
        " max(c.consumption) AS max, count(*) AS buckets"
        " FROM " + _source(level) + " JOIN devices d ON d.id = c.device_id JOIN gateways g ON g.id = d.gateway_id"
        " JOIN accounts a ON a.id = c.account_id WHERE " + SELECTED
        + " GROUP BY c.device_id, d.code, d.name, g.serial, a.name ORDER BY consumption DESC NULLS LAST, d.code"
    )
    for level in ROLLUPS
}

# Per bucket, the chosen devices one by one and every other device summed as device_id NULL.
_BY_DEVICE = {
    level: sa.text(
        "SELECT c.bucket, CASE WHEN :all_devices OR c.device_id = ANY(CAST(:shown AS bigint[]))"
        " THEN c.device_id END AS device_id, sum(c.consumption) AS consumption"
        " FROM " + _source(level) + " WHERE " + SELECTED + " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    for level in ROLLUPS
}

_TOTAL = {
    level: sa.text(
        "SELECT c.bucket, sum(c.consumption) AS consumption FROM " + _source(level)
        + " WHERE " + SELECTED + " GROUP BY 1 ORDER BY 1"
    )
    for level in ROLLUPS
}

_SUM = {
    level: sa.text(
        "SELECT sum(c.consumption) FROM " + table + " c"
        " WHERE c.metric_id = :metric_id AND c.bucket >= :start AND c.bucket < :end AND " + SELECTED
    )
    for level, table in ROLLUPS.items()
}

# Per gateway, metric and bucket, the sum of its devices' rollups (sql/080; continuous aggregates on
# TimescaleDB, sql/timescale/081): what a total over whole gateways, accounts or the fleet reads, ~10×
# fewer rows than the device rollups. A selection naming devices cannot use them.
FLEET_ROLLUPS = {"hour": "fleet_hourly", "day": "fleet_daily", "month": "fleet_monthly"}
FLEET_SELECTED = (
    " c.account_id " + IN_SCOPE
    + " AND (:any_account OR c.account_id = ANY(CAST(:sel_accounts AS bigint[])))"
    + " AND (:any_gateway OR c.gateway_id = ANY(CAST(:sel_gateways AS bigint[])))"
)


def _fleet_source(granularity: str) -> str:
    """Fleet rows of [:start, :end) as c (bucket, account_id, gateway_id, consumption); months as in _source."""
    if granularity != "month":
        return (f"(SELECT gateway_id, account_id, bucket, consumption FROM {FLEET_ROLLUPS[granularity]}"
                " WHERE metric_id = :metric_id AND bucket >= :start AND bucket < :end) c")
    return (
        "(SELECT gateway_id, account_id, bucket, consumption FROM fleet_monthly"
        "  WHERE metric_id = :metric_id AND bucket >= :m_lo AND bucket < :m_hi"
        "  UNION ALL SELECT gateway_id, account_id, date_trunc('month', bucket, :tz), consumption FROM fleet_daily"
        "  WHERE metric_id = :metric_id AND ((bucket >= :start AND bucket < :m_lo) OR (bucket >= :m_hi AND bucket < :end))"
        ") c"
    )


_FLEET_TOTAL = {
    level: sa.text(
        "SELECT c.bucket, sum(c.consumption) AS consumption FROM " + _fleet_source(level)
        + " WHERE " + FLEET_SELECTED + " GROUP BY 1 ORDER BY 1"
    )
    for level in FLEET_ROLLUPS
}

_FLEET_SUM = {
    level: sa.text(
        "SELECT sum(c.consumption) FROM " + table + " c"
        " WHERE c.metric_id = :metric_id AND c.bucket >= :start AND c.bucket < :end AND " + FLEET_SELECTED
    )
    for level, table in FLEET_ROLLUPS.items()
}

# The API's and the device page's rows: every metric of the devices, gauges included (no consumption).
_DEVICE_SERIES = {
    level: sa.text(
        "SELECT c.device_id, m.name AS metric, m.unit, c.bucket, c.consumption, c.min_value AS min,"
        " c.sum_value / nullif(c.count, 0) AS avg, c.max_value AS max, c.count, c.last_value, c.last_ts"
        " FROM " + _source(level) + " JOIN metrics m ON m.id = c.metric_id"
        " WHERE c.device_id = ANY(CAST(:devices AS bigint[])) AND c.account_id " + IN_SCOPE
        + " ORDER BY c.device_id, m.name, c.bucket"
    )
    for level in ROLLUPS
}


def list_consumption_metrics(conn: Connection) -> list[dict]:
    """Metrics that have a consumption (counters and deltas), the explorer's choices."""
    return [dict(row) for row in conn.execute(_METRICS).mappings() if row["meter_kind"] != "gauge"]


def find_metric(conn: Connection, name: str) -> dict | None:
    return next((dict(row) for row in conn.execute(_METRICS).mappings() if row["name"] == name), None)


def _range(start: datetime, end: datetime, zone: ZoneInfo) -> dict:
    low, high = periods.month_bounds(start, end, zone)
    return {"start": start, "end": end, "m_lo": low, "m_hi": high, "tz": zone.key}


def _base(scope: Scope, selection: Selection, metric_id: int | None, start: datetime, end: datetime,
          zone: ZoneInfo) -> dict:
    return {**scope.params(), **selection.params(), "metric_id": metric_id, **_range(start, end, zone)}


def _utc(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def device_totals(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                  start: datetime, end: datetime, zone: ZoneInfo) -> pd.DataFrame:
    """Per device: total, and min/avg/max of its per-bucket consumption (buckets with data only)."""
    params = _base(scope, selection, metric_id, start, end, zone)
    rows = conn.execute(_DEVICE_TOTALS[granularity], params).mappings().all()
    columns = ["device_id", "code", "name", "gateway", "account", "consumption", "min", "avg", "max", "buckets"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("consumption", "min", "avg", "max"):
        frame[column] = frame[column].astype("float64")
    return frame


def consumption_by_device(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                          start: datetime, end: datetime, zone: ZoneInfo,
                          shown: list[int] | None = None) -> pd.DataFrame:
    """bucket, device_id, consumption; devices not in `shown` are summed in rows with device_id <NA>."""
    params = {**_base(scope, selection, metric_id, start, end, zone), "all_devices": shown is None,
              "shown": list(shown or [])}
    rows = conn.execute(_BY_DEVICE[granularity], params).all()
    frame = pd.DataFrame(rows, columns=["bucket", "device_id", "consumption"])
    frame["device_id"] = frame["device_id"].astype("Int64")
    frame["consumption"] = frame["consumption"].astype("float64")
    return _utc(frame, "bucket")


def total_series(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                 start: datetime, end: datetime, zone: ZoneInfo) -> pd.DataFrame:
    """bucket, consumption summed over the selected devices (from the fleet rollups unless devices are named)."""
    statement = _TOTAL[granularity] if selection.device_ids else _FLEET_TOTAL[granularity]
    rows = conn.execute(statement, _base(scope, selection, metric_id, start, end, zone)).all()
    frame = pd.DataFrame(rows, columns=["bucket", "consumption"])
    frame["consumption"] = frame["consumption"].astype("float64")
    return _utc(frame, "bucket")


def total_between(conn: Connection, scope: Scope, selection: Selection, metric_id: int, start: datetime,
                  end: datetime, zone: ZoneInfo) -> float | None:
    """Consumption over [start, end) with end rounded down to a local hour; whole months and days
    come from the monthly and daily rollups, only the ragged edges from the hourly one."""
    total, seen = 0.0, False
    sums = _SUM if selection.device_ids else _FLEET_SUM
    for level, lo, hi in periods.cover(start, periods.floor_hour(end, zone), zone):
        value = conn.execute(sums[level], _base(scope, selection, metric_id, lo, hi, zone)).scalar_one()
        if value is not None:
            total, seen = total + value, True
    return total if seen else None


def device_series(conn: Connection, scope: Scope, device_ids: list[int], granularity: str, start: datetime,
                  end: datetime, zone: ZoneInfo, metric_id: int | None = None) -> pd.DataFrame:
    """Rollup rows of some devices, every metric or one: consumption, min/avg/max (avg = sum_value / count),
    count, last value and time."""
    params = {**scope.params(), "devices": list(device_ids), "metric_id": metric_id, **_range(start, end, zone)}
    rows = conn.execute(_DEVICE_SERIES[granularity], params).mappings().all()
    columns = ["device_id", "metric", "unit", "bucket", "consumption", "min", "avg", "max", "count", "last_value",
               "last_ts"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("consumption", "min", "avg", "max", "last_value"):
        frame[column] = frame[column].astype("float64")
    frame = _utc(frame, "last_ts")
    return _utc(frame, "bucket")
