"""Consumption reads from the rollups, shared by the explorer, the device page and /api/v1.

Buckets are selected by their start: from <= bucket < to. Every read is scoped (Scope) and then narrowed
by a Selection of accounts, gateways and devices (an intersection: each empty part means "all").
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import IN_SCOPE, Scope

ROLLUPS = {"hour": "consumption_hourly", "day": "consumption_daily", "month": "consumption_monthly"}
LEVELS = (*ROLLUPS, "week")  # weeks have no rollup of their own: summed from the daily one


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
    # The gateways' devices as an array (an init plan): the rollups' primary key is then probed per device,
    # where an IN (subquery) joined every row of the period first (10x the buffers for one gateway, bench/).
    + " AND (:any_gateway OR c.device_id = ANY(ARRAY(SELECT id FROM devices"
    + "      WHERE gateway_id = ANY(CAST(:sel_gateways AS bigint[])))))"
)

_METRICS = sa.text("SELECT id, name, unit, meter_kind FROM metrics ORDER BY known DESC, name")

_COLUMNS = ("device_id, metric_id, account_id, bucket, consumption, min_value, max_value, sum_value, count,"
            " last_value, last_ts")
_METRIC = "(CAST(:metric_id AS smallint) IS NULL OR metric_id = :metric_id)"


def _source(granularity: str, selected: str = "TRUE") -> str:
    """The rollup rows of [:start, :end) as a derived table c, one row per device, metric and bucket.

    Months: whole months from the monthly rollup, a partial first or last month summed from the daily
    one ([:m_lo, :m_hi) from periods.month_bounds), so a range from the 10th shows that month from the 10th.
    Weeks and months are grouped here, so `selected` (a condition on rows aliased c, e.g. SELECTED) is
    applied to each rollup row before the grouping: applied after it, on max(account_id), one account's
    13 months summed every account's rows first (84,000 rows for 1,400, bench/RESULTS.md).
    """
    if granularity == "week":
        return (
            "(SELECT device_id, metric_id, max(account_id) AS account_id, date_trunc('week', bucket, :tz) AS bucket,"
            " sum(consumption) AS consumption, min(min_value) AS min_value, max(max_value) AS max_value,"
            " sum(sum_value) AS sum_value, sum(count)::integer AS count,"
            " (array_agg(last_value ORDER BY last_ts DESC))[1] AS last_value, max(last_ts) AS last_ts"
            f" FROM consumption_daily c WHERE bucket >= :start AND bucket < :end AND {_METRIC} AND {selected}"
            " GROUP BY device_id, metric_id, date_trunc('week', bucket, :tz)) c"
        )
    if granularity != "month":
        return (f"(SELECT {_COLUMNS} FROM {ROLLUPS[granularity]}"
                f" WHERE bucket >= :start AND bucket < :end AND {_METRIC}) c")
    return (
        "(SELECT device_id, metric_id, max(account_id) AS account_id, bucket, sum(consumption) AS consumption,"
        " min(min_value) AS min_value, max(max_value) AS max_value, sum(sum_value) AS sum_value,"
        " sum(count)::integer AS count, (array_agg(last_value ORDER BY last_ts DESC))[1] AS last_value,"
        " max(last_ts) AS last_ts FROM ("
        f"  SELECT {_COLUMNS} FROM consumption_monthly c WHERE bucket >= :m_lo AND bucket < :m_hi AND {_METRIC}"
        f"  AND {selected}"
        "  UNION ALL SELECT device_id, metric_id, account_id, date_trunc('month', bucket, :tz), consumption,"
        "  min_value, max_value, sum_value, count, last_value, last_ts FROM consumption_daily c"
        "  WHERE ((bucket >= :start AND bucket < :m_lo) OR (bucket >= :m_hi AND bucket < :end)) AND " + _METRIC
        + f" AND {selected} ) u GROUP BY device_id, metric_id, bucket) c"
    )


def _consumption_source(granularity: str, selected: str) -> str:
    """As _source, only consumption and count per device, metric and bucket: what the explorer's tables and
    totals need. Months read fewer rows: a partial month is its monthly row minus the daily rows of the
    days left out when those are fewer than the days kept (_month_pieces), so 13 months from the 2nd
    read one monthly and one daily row per device for the first month, not 29 daily rows (bench/RESULTS.md).
    Gaps stay gaps: a device-month whose readings all lie in the left-out days nets a count of 0 and is
    dropped; a consumption within float rounding of zero after a subtraction is 0."""
    if granularity != "month":
        return _source(granularity, selected)
    columns = "device_id, metric_id, account_id"
    return _month_cover("consumption_monthly", "consumption_daily", columns, "device_id", selected)


def _month_cover(monthly: str, daily: str, columns: str, key: str, selected: str) -> str:
    def piece(table: str, lo: str, hi: str, sign: str) -> str:
        bucket = "bucket" if table == monthly else "date_trunc('month', bucket, :tz)"
        return (f"SELECT {columns}, {bucket} AS bucket, {sign}consumption AS consumption, {sign}count AS count,"
                f" {'true' if sign else 'false'} AS minus FROM {table} c WHERE bucket >= :{lo} AND bucket < :{hi}"
                f" AND {_METRIC} AND {selected}")
    union = " UNION ALL ".join([piece(monthly, "mon_lo", "mon_hi", ""),
                                piece(daily, "plus1_lo", "plus1_hi", ""), piece(daily, "plus2_lo", "plus2_hi", ""),
                                piece(daily, "minus1_lo", "minus1_hi", "-"),
                                piece(daily, "minus2_lo", "minus2_hi", "-")])
    return (
        f"(SELECT {key}, metric_id, max(account_id) AS account_id, bucket,"
        " CASE WHEN bool_or(minus) AND abs(sum(consumption)) <= 1e-9 * sum(abs(consumption)) THEN 0"
        "  ELSE sum(consumption) END AS consumption, sum(count) AS count"
        f" FROM ({union}) u GROUP BY {key}, metric_id, bucket HAVING sum(count) > 0) c"
    )


def _month_pieces(start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> dict:
    """The ranges _month_cover sums for [start, end) by local month: monthly rows of [mon_lo, mon_hi), plus
    daily rows of plus1/plus2, minus daily rows of minus1/minus2 (empty ranges are lo = hi).

    A partial month is read as its days kept, or as the whole month minus the days left out, whichever
    reads fewer rows; days after `now` have no rows yet, so the running month is nearly always a subtraction.
    """
    tomorrow = periods.local_midnight(periods.local_today(now, zone) + timedelta(days=1), zone)

    def days(lo: datetime, hi: datetime) -> int:
        hi = min(hi, max(lo, tomorrow))
        return max(0, (hi - lo).days + (1 if (hi - lo) % timedelta(days=1) else 0))

    months = []  # (month start, month end, kept lo, kept hi)
    first = start.astimezone(zone).date().replace(day=1)
    while (month_lo := periods.local_midnight(first, zone)) < end:
        month_hi = periods.local_midnight(periods.add_months(first, 1), zone)
        months.append((month_lo, month_hi, max(start, month_lo), min(end, month_hi)))
        first = periods.add_months(first, 1)
    whole, plus, minus = [], [], []
    for month_lo, month_hi, lo, hi in months:
        if lo == month_lo and hi == month_hi:
            whole.append(month_lo)
            continue
        left_out = [(month_lo, lo), (hi, month_hi)]
        if 1 + sum(days(a, b) for a, b in left_out) <= days(lo, hi):
            whole.append(month_lo)
            minus.extend((a, b) for a, b in left_out if a < b)
        else:
            plus.append((lo, hi))
    empty = (start, start)
    params = {"mon_lo": min(whole, default=start),
              "mon_hi": max((m_hi for m_lo, m_hi, _, _ in months if m_lo in whole), default=start)}
    for name, ranges, size in (("plus", plus, 2), ("minus", minus, 2)):
        ranges = ranges + [empty] * (size - len(ranges))
        for index, (lo, hi) in enumerate(ranges, 1):
            params[f"{name}{index}_lo"], params[f"{name}{index}_hi"] = lo, hi
    return params


_DEVICE_TOTALS = {
    level: sa.text(
        "SELECT c.device_id, d.code, d.name, g.serial AS gateway, a.name AS account,"
        " sum(c.consumption) AS consumption, min(c.consumption) AS min, avg(c.consumption) AS avg,"
        " max(c.consumption) AS max, count(*) AS buckets"
        " FROM " + _consumption_source(level, SELECTED) + " JOIN devices d ON d.id = c.device_id"
        " JOIN gateways g ON g.id = d.gateway_id"
        " JOIN accounts a ON a.id = c.account_id WHERE " + SELECTED
        + " GROUP BY c.device_id, d.code, d.name, g.serial, a.name ORDER BY consumption DESC NULLS LAST, d.code"
    )
    for level in LEVELS
}

# The explorer's totals grid, one page at a time (the whole fleet's 2,000 rows were more than the browser
# could take in quickly, bench/RESULTS.md): the grid's sort column -> ORDER BY keys (output names, constant
# text), ties broken by gateway, code and id so pages never overlap. Share sorts as consumption does.
TOTALS_SORTS = {
    "device": ("gateway", "code"), "gateway": ("gateway", "code"), "account": ("account", "gateway", "code"),
    "consumption": ("consumption",), "share": ("consumption",), "min": ("min",), "avg": ("avg",), "max": ("max",),
}
TOTALS_PAGE_MAX = 200  # rows per page at most


def _totals_page_sql(level: str, keys: tuple[str, ...], descending: bool) -> sa.TextClause:
    direction = " DESC NULLS LAST" if descending else " ASC NULLS LAST"
    order = ", ".join(key + direction for key in keys) + ", gateway, code, device_id"
    return sa.text(
        "SELECT c.device_id, d.code, d.name, g.serial AS gateway, a.name AS account,"
        " sum(c.consumption) AS consumption, min(c.consumption) AS min, avg(c.consumption) AS avg,"
        " max(c.consumption) AS max, count(*) AS buckets, count(*) OVER () AS devices,"
        " sum(sum(c.consumption)) OVER () AS grand"
        " FROM " + _consumption_source(level, SELECTED) + " JOIN devices d ON d.id = c.device_id"
        " JOIN gateways g ON g.id = d.gateway_id"
        " JOIN accounts a ON a.id = c.account_id WHERE " + SELECTED
        + " GROUP BY c.device_id, d.code, d.name, g.serial, a.name ORDER BY " + order + " LIMIT :limit OFFSET :offset"
    )


_TOTALS_PAGE = {(level, keys, descending): _totals_page_sql(level, keys, descending)
                for level in LEVELS for keys in set(TOTALS_SORTS.values()) for descending in (False, True)}

# Per bucket, the chosen devices one by one and every other device summed as device_id NULL.
_BY_DEVICE = {
    level: sa.text(
        "SELECT c.bucket, CASE WHEN :all_devices OR c.device_id = ANY(CAST(:shown AS bigint[]))"
        " THEN c.device_id END AS device_id, sum(c.consumption) AS consumption"
        " FROM " + _consumption_source(level, SELECTED) + " WHERE " + SELECTED + " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    for level in LEVELS
}

# The explorer's two tables in one scan of the period's rows: per device its total and min/avg/max per bucket
# (rows with bucket NULL, ranked), then per bucket the top `:top` devices one by one and the rest summed
# as device_id NULL (every device one by one when there are no more than :top). The shown devices travel
# as one array (top), not a join of c with r: the running day's rows are past the statistics' histogram,
# the planner guessed one row for each CTE and joined 4,000 x 2,000 in a nested loop (1 s at 100 M
# readings, bench/RESULTS.md); a cross join with a materialized one-row CTE has no plan to get wrong.
_EXPLORER = {
    level: sa.text(
        "WITH c AS MATERIALIZED (SELECT c.device_id, c.bucket, c.consumption FROM "
        + _consumption_source(level, SELECTED)
        + " WHERE " + SELECTED + "),"
        " t AS (SELECT device_id, sum(consumption) AS consumption, min(consumption) AS min, avg(consumption) AS avg,"
        "  max(consumption) AS max, count(*) AS buckets FROM c GROUP BY device_id),"
        " r AS (SELECT t.*, d.code, d.name, g.serial AS gateway, a.name AS account,"
        "  row_number() OVER (ORDER BY t.consumption DESC NULLS LAST, d.code) AS rank, count(*) OVER () AS devices"
        "  FROM t JOIN devices d ON d.id = t.device_id JOIN gateways g ON g.id = d.gateway_id"
        "  JOIN accounts a ON a.id = d.account_id),"
        " top AS MATERIALIZED (SELECT coalesce(array_agg(device_id) FILTER (WHERE devices <= :top OR rank <= :top), '{}') AS ids"
        "  FROM r)"
        " SELECT CAST(NULL AS timestamptz) AS bucket, r.device_id, r.code, r.name, r.gateway, r.account, r.consumption,"
        "  r.min, r.avg, r.max, r.buckets, r.rank FROM r"
        " UNION ALL SELECT c.bucket, CASE WHEN c.device_id = ANY(top.ids) THEN c.device_id END, NULL, NULL,"
        "  NULL, NULL, sum(c.consumption), NULL, NULL, NULL, NULL, NULL FROM c CROSS JOIN top"
        "  GROUP BY 1, 2 ORDER BY bucket NULLS FIRST, rank, device_id"
    )
    for level in LEVELS
}

_TOTAL = {
    level: sa.text(
        "SELECT c.bucket, sum(c.consumption) AS consumption FROM " + _consumption_source(level, SELECTED)
        + " WHERE " + SELECTED + " GROUP BY 1 ORDER BY 1"
    )
    for level in LEVELS
}


def _spans_sum(tables: dict[str, str], selected: str) -> sa.TextClause:
    """Sums over several [lo, hi) ranges per level in one statement, one row per range.

    One sub-select per range (LATERAL): as a join of the ranges with the rollup, the planner guessed
    tens of thousands of rows for a few hundred and started parallel workers (~1 ms of work, 50-110 ms
    under load, bench/RESULTS.md)."""
    return sa.text(" UNION ALL ".join(
        f"SELECT k.tag, s.consumption FROM unnest(CAST(:{level}_lo AS timestamptz[]),"
        f" CAST(:{level}_hi AS timestamptz[]), CAST(:{level}_tag AS integer[])) AS k(lo, hi, tag)"
        f" CROSS JOIN LATERAL (SELECT sum(c.consumption) AS consumption FROM {table} c"
        f"  WHERE c.metric_id = :metric_id AND c.bucket >= k.lo AND c.bucket < k.hi AND {selected}) s"
        for level, table in tables.items()))


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

_SPANS = _spans_sum(ROLLUPS, SELECTED)
_FLEET_SPANS = _spans_sum(FLEET_ROLLUPS, FLEET_SELECTED)

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
    return {**scope.params(), **selection.params(), "metric_id": metric_id, **_range(start, end, zone),
            **_month_pieces(start, end, zone, datetime.now(timezone.utc))}


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


@dataclasses.dataclass(frozen=True)
class TotalsPage:
    rows: pd.DataFrame  # device_totals' columns and share (of the whole selection's consumption)
    count: int  # devices with data in the whole selection
    grand: float | None  # the whole selection's consumption


def device_totals_page(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                       start: datetime, end: datetime, zone: ZoneInfo, offset: int = 0,
                       limit: int = 20, sort: str = "consumption", descending: bool = True) -> TotalsPage:
    """One page of device_totals sorted by a TOTALS_SORTS column; ValueError for a bad offset, size or column."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be an integer >= 0, not {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= TOTALS_PAGE_MAX:
        raise ValueError(f"page size must be an integer from 1 to {TOTALS_PAGE_MAX}, not {limit!r}")
    if sort not in TOTALS_SORTS:
        raise ValueError(f"unknown sort column {str(sort)[:40]!r}; one of {', '.join(TOTALS_SORTS)}")
    if granularity not in LEVELS:
        raise ValueError(f"unknown granularity {str(granularity)[:40]!r}")
    params = {**_base(scope, selection, metric_id, start, end, zone), "offset": offset, "limit": limit}
    rows = conn.execute(_TOTALS_PAGE[(granularity, TOTALS_SORTS[sort], bool(descending))], params).mappings().all()
    columns = ["device_id", "code", "name", "gateway", "account", "consumption", "min", "avg", "max", "buckets"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("consumption", "min", "avg", "max"):
        frame[column] = frame[column].astype("float64")
    grand = float(rows[0]["grand"]) if rows and rows[0]["grand"] is not None else None
    frame["share"] = frame["consumption"] / grand if grand else float("nan")
    count = int(rows[0]["devices"]) if rows else (_count_devices(conn, granularity, params) if offset else 0)
    return TotalsPage(frame, count, grand)


def _count_devices(conn: Connection, granularity: str, params: dict) -> int:
    """Past the last page: how many there are (the page's window counts only when it has rows)."""
    first = conn.execute(_TOTALS_PAGE[(granularity, TOTALS_SORTS["consumption"], True)],
                         {**params, "offset": 0, "limit": 1}).mappings().first()
    return int(first["devices"]) if first else 0


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
    return totals_between(conn, scope, selection, metric_id, [(start, end)], zone)[0]


def totals_between(conn: Connection, scope: Scope, selection: Selection, metric_id: int,
                   spans: list[tuple[datetime, datetime]], zone: ZoneInfo) -> list[float | None]:
    """total_between of several spans in one statement (None: no consumption in that span)."""
    ranges: dict[str, list[list]] = {level: [[], [], []] for level in ROLLUPS}
    for tag, (start, end) in enumerate(spans):
        for level, lo, hi in periods.cover(start, periods.floor_hour(end, zone), zone):
            for values, value in zip(ranges[level], (lo, hi, tag)):
                values.append(value)
    params = {**scope.params(), **selection.params(), "metric_id": metric_id}
    for level, (lows, highs, tags) in ranges.items():
        params.update({f"{level}_lo": lows, f"{level}_hi": highs, f"{level}_tag": tags})
    totals: list[float | None] = [None] * len(spans)
    for tag, value in conn.execute(_SPANS if selection.device_ids else _FLEET_SPANS, params).all():
        if value is not None:
            totals[tag] = (totals[tag] or 0.0) + value
    return totals


def explorer_tables(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                    start: datetime, end: datetime, zone: ZoneInfo, top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """device_totals and consumption_by_device (top devices shown, the rest as <NA>) from one statement."""
    params = {**_base(scope, selection, metric_id, start, end, zone), "top": top}
    rows = conn.execute(_EXPLORER[granularity], params).all()
    split = next((i for i, row in enumerate(rows) if row.bucket is not None), len(rows))
    columns = ["device_id", "code", "name", "gateway", "account", "consumption", "min", "avg", "max", "buckets"]
    totals = pd.DataFrame([row[1:11] for row in rows[:split]], columns=columns)
    for column in ("consumption", "min", "avg", "max"):
        totals[column] = totals[column].astype("float64")
    by_device = pd.DataFrame([(row.bucket, row.device_id, row.consumption) for row in rows[split:]],
                             columns=["bucket", "device_id", "consumption"])
    by_device["device_id"] = by_device["device_id"].astype("Int64")
    by_device["consumption"] = by_device["consumption"].astype("float64")
    return totals, _utc(by_device, "bucket")


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
