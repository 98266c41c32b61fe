"""The explorer's two tables with the period's closed buckets kept in this process (issue 16's speed goal).

A whole fleet's month by day sums ~60,000 device-day rows on every call, and all but today's 2,000 are over:
they change only when a late reading reaches them (bench/RESULTS.md). Here the period [start, end) is cut at
`cut`, the start of the bucket holding local today's midnight (so no bucket has rows on both sides): the
rows of [start, cut) per device and bucket are read once and kept, the rows of [cut, end) are read on every
call, and both are summed, ranked and split into the top devices and "others" here exactly as the one
statement of consumption.explorer_tables does (the same rows, the same sums; only the order of the float
additions differs).

An entry is (database, scope, selection, metric, granularity, zone, start, cut) → the rows of [start, cut),
used only while the stamp of that range is the one read before the rows were: the count and sum of the cost
cache's change stamps (sql/085, sql/095: triggers on consumption_hourly renew a device-month's and a device-
day's stamp, from one sequence, in the transaction of any insert, update or delete of its hours) of the months
over before the running one, and of the running month's days before `cut`, of the selected devices; with the
stamp tables' oids and the server's start time (a schema made anew restarts the sequence). A stamp only ever
takes a new, larger value, so any change to the range raises the sum; the stamp is read before the rows, so a
change committed in between leaves the entry under an old stamp: never served again. The daily and monthly
rollups change only with their hours (sql/functions/rollups.sql). Entries are keyed by the scope's accounts
and the selection: never another scope's answer. Only where the stamps are kept (plain PostgreSQL rollups, cut
in the period's zone; on TimescaleDB every call reads the whole period), and only for selections naming no
device or gateway (theirs read a few hundred rows by primary key: three statements would cost more than they
save). Bounded: MAX_ENTRIES, the least recently used leave first.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import consumption
from tds_dash.queries.consumption import SELECTED, Selection
from tds_dash.queries.scope import IN_SCOPE, Scope

MAX_ENTRIES = 16  # a whole fleet's month by day is ~60,000 rows, ~1.5 MB
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in µs since 1970: timestamptz_send's origin

_LOCK = threading.Lock()
_ENTRIES: OrderedDict[tuple, tuple[tuple, "Rows"]] = OrderedDict()
stats = {"read": 0, "reused": 0}  # closed parts read from the rollups / taken from the cache (tests, bench/)


def clear() -> None:
    """Forget every entry (a cold read in bench/)."""
    with _LOCK:
        _ENTRIES.clear()


# Whether the stamps are kept here, and the stamp of a range; one statement. The months over before the
# running one by their month stamps, the running month's days before the cut by their day stamps.
_STAMP = sa.text(
    "SELECT (SELECT timezone FROM rollup_settings) AS zone,"
    " EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('consumption_hourly')"
    "  AND tgname = 'consumption_hourly_cost_ins') AS kept,"
    " pg_postmaster_start_time() AS started, CAST(to_regclass('cost_day_stamps') AS oid) AS day_table,"
    " CAST(to_regclass('cost_month_stamps') AS oid) AS month_table, m.n AS months, m.s AS month_stamps,"
    " d.n AS days, d.s AS day_stamps"
    " FROM (SELECT count(*) AS n, sum(c.stamp) AS s FROM cost_month_stamps c WHERE c.metric_id = :metric_id"
    "  AND c.month >= :stamp_m_lo AND c.month < :stamp_m_hi AND " + SELECTED + ") m,"
    " (SELECT count(*) AS n, sum(c.stamp) AS s FROM cost_day_stamps c WHERE c.metric_id = :metric_id"
    "  AND c.day >= :stamp_d_lo AND c.day < :stamp_d_hi AND " + SELECTED + ") d"
)


def _packed(level: str) -> sa.TextClause:
    """The rows consumption.explorer_tables sums (device, bucket, consumption), as three byte strings in one
    row: 60,000 rows as Python rows cost several times more than reading them (bench/RESULTS.md). A null
    consumption travels as NaN: readings are finite (ingest/payload.py), so their sums are too."""
    return sa.text(
        "SELECT string_agg(int8send(c.device_id), ''::bytea) AS devices,"
        " string_agg(timestamptz_send(c.bucket), ''::bytea) AS buckets,"
        " string_agg(float8send(coalesce(c.consumption, 'NaN')), ''::bytea) AS consumption"
        " FROM " + consumption._consumption_source(level, SELECTED) + " WHERE " + SELECTED
    )


_PACKED = {level: _packed(level) for level in consumption.LEVELS}

# Names of the selected devices, and the order of their codes (the statement's tie-break, in its collation).
# Every selected device, not a list of those with rows: 2,000 ids as a parameter cost more than the rows.
_DEVICES = sa.text(
    "SELECT d.id, d.code, d.name, g.serial AS gateway, a.name AS account, dense_rank() OVER (ORDER BY d.code) AS code_rank"
    " FROM devices d JOIN gateways g ON g.id = d.gateway_id JOIN accounts a ON a.id = d.account_id"
    " WHERE d.account_id " + IN_SCOPE + " AND (:any_account OR d.account_id = ANY(CAST(:sel_accounts AS bigint[])))"
    " ORDER BY d.id"
)


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows of one range: device, bucket (µs since 1970, UTC), consumption (NaN: null), null flag."""

    devices: np.ndarray
    buckets: np.ndarray
    values: np.ndarray
    nulls: np.ndarray

    @classmethod
    def of(cls, row) -> "Rows":
        if row.devices is None:
            return cls(*(np.empty(0, dtype) for dtype in ("int64", "int64", "float64", "bool")))
        values = np.frombuffer(row.consumption, ">f8").astype("float64")
        return cls(np.frombuffer(row.devices, ">i8").astype("int64"),
                   np.frombuffer(row.buckets, ">i8").astype("int64") + PG_EPOCH_US, values, np.isnan(values))

    def split(self, at: datetime) -> tuple["Rows", "Rows | None"]:
        """(rows of buckets before `at`, rows from it on; None when there are none, as for a period ending at `at`)."""
        before = self.buckets < _microseconds(at)
        after = ~before
        return (Rows(self.devices[before], self.buckets[before], self.values[before], self.nulls[before]),
                Rows(self.devices[after], self.buckets[after], self.values[after], self.nulls[after])
                if after.any() else None)


def _microseconds(at: datetime) -> int:
    """µs since 1970 UTC, as Rows.buckets (exact: no float on the way)."""
    return (at - EPOCH) // timedelta(microseconds=1)


def cut_of(granularity: str, start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """Start of the bucket holding local today's midnight, within [start, end]: what comes before is kept."""
    today = periods.local_today(now, zone)
    if granularity == "week":
        today -= timedelta(days=today.weekday())
    elif granularity == "month":
        today = today.replace(day=1)
    return min(max(periods.local_midnight(today, zone), start), end)


def explorer_tables(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str,
                    start: datetime, end: datetime, zone: ZoneInfo, top: int, now: datetime
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """consumption.explorer_tables, with [start, cut) from the cache while its stamp holds."""
    cut = cut_of(granularity, start, end, zone, now)
    if cut <= start or selection.device_ids or selection.gateway_ids:
        return consumption.explorer_tables(conn, scope, selection, metric_id, granularity, start, end, zone, top)
    stamp_row = conn.execute(_STAMP, {**scope.params(), **selection.params(), "metric_id": metric_id,
                                      **_stamp_ranges(start, cut, zone, now)}).one()
    if stamp_row.zone != zone.key or not stamp_row.kept:
        return consumption.explorer_tables(conn, scope, selection, metric_id, granularity, start, end, zone, top)
    stamp = tuple(stamp_row)
    key = (str(conn.engine.url), scope.account_ids, selection, metric_id, granularity, zone.key, start, cut)
    with _LOCK:
        found = _ENTRIES.get(key)
        if found is not None:
            _ENTRIES.move_to_end(key)
    if found is not None and found[0] == stamp:
        closed = found[1]
        stats["reused"] += 1
        running = _read(conn, scope, selection, metric_id, granularity, cut, end, zone) if cut < end else None
    else:
        # Nothing kept: the whole period in one scan, cut here (two statements cost a late reading's next
        # view ~20 ms more than the one statement it replaced, bench/RESULTS.md).
        closed, running = _read(conn, scope, selection, metric_id, granularity, start, end, zone).split(cut)
        stats["read"] += 1
        with _LOCK:
            _ENTRIES[key] = (stamp, closed)
            _ENTRIES.move_to_end(key)
            while len(_ENTRIES) > MAX_ENTRIES:
                _ENTRIES.popitem(last=False)
    return _tables(conn, scope, selection, closed, running, top)


def _stamp_ranges(start: datetime, cut: datetime, zone: ZoneInfo, now: datetime) -> dict:
    """Months over (before the running one) by month stamps, the running month's days before cut by day stamps."""
    running = periods.local_midnight(periods.local_today(now, zone).replace(day=1), zone)
    first_month = periods.local_midnight(start.astimezone(zone).date().replace(day=1), zone)
    day_lo = max(start, running).astimezone(zone).date()
    return {"stamp_m_lo": first_month, "stamp_m_hi": min(running, cut),
            "stamp_d_lo": day_lo, "stamp_d_hi": max(day_lo, cut.astimezone(zone).date())}


def _read(conn: Connection, scope: Scope, selection: Selection, metric_id: int, granularity: str, start: datetime,
          end: datetime, zone: ZoneInfo) -> Rows:
    params = consumption._base(scope, selection, metric_id, start, end, zone)
    return Rows.of(conn.execute(_PACKED[granularity], params).one())


def _tables(conn: Connection, scope: Scope, selection: Selection, closed: Rows, running: Rows | None, top: int
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The statement's two tables from the rows: per device total, min/avg/max per bucket and rank; per bucket
    the top devices one by one and the others summed as <NA>."""
    parts = [closed] if running is None else [closed, running]
    devices, buckets, values, nulls = (np.concatenate([getattr(p, f) for p in parts])
                                       for f in ("devices", "buckets", "values", "nulls"))
    ids, index = np.unique(devices, return_inverse=True)
    known = ~nulls
    rows = np.bincount(index, minlength=len(ids))
    counted = np.bincount(index, weights=known, minlength=len(ids))
    total = np.bincount(index, weights=np.where(known, values, 0.0), minlength=len(ids))
    low, high = np.full(len(ids), np.inf), np.full(len(ids), -np.inf)
    np.minimum.at(low, index[known], values[known])
    np.maximum.at(high, index[known], values[known])
    with np.errstate(invalid="ignore", divide="ignore"):
        some = counted > 0
        total, average = np.where(some, total, np.nan), np.where(some, total / counted, np.nan)
        low, high = np.where(some, low, np.nan), np.where(some, high, np.nan)
    names = _names(conn, scope, selection, ids)
    # Ranked as the statement does: ORDER BY consumption DESC NULLS LAST, code (equal codes of equal totals
    # by id: the statement's order there is any); a device gone from `devices` has no line but stays in others.
    ranked = np.lexsort((ids, names["code_rank"], np.where(np.isnan(total), np.inf, -total)))
    order = ranked[names["found"][ranked]]
    totals = pd.DataFrame({"device_id": ids[order], **{column: names[column][order] for column in
                                                       ("code", "name", "gateway", "account")},
                           "consumption": total[order], "min": low[order], "avg": average[order],
                           "max": high[order], "buckets": rows[order].astype("int64")})
    shown = np.isin(devices, ids[order[:top]])
    return totals, _by_device(devices, buckets, values, nulls, shown)


def _names(conn: Connection, scope: Scope, selection: Selection, ids: np.ndarray) -> dict[str, np.ndarray]:
    """code, name, gateway, account and code_rank of each of `ids` (devices with rows), and whether found."""
    rows = conn.execute(_DEVICES, {**scope.params(), **selection.params()}).all()
    columns = list(zip(*rows)) or [()] * 6
    known = np.array(columns[0], dtype="int64")
    at = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
    out = {name: np.array(values, dtype=object if name != "code_rank" else "int64")[at] if len(known)
           else np.empty(len(ids), object if name != "code_rank" else "int64")
           for name, values in zip(("code", "name", "gateway", "account", "code_rank"), columns[1:])}
    out["found"] = known[at] == ids if len(known) else np.zeros(len(ids), bool)
    return out


def _by_device(devices, buckets, values, nulls, shown) -> pd.DataFrame:
    """Shown devices' rows as they are (one per device and bucket), the others summed per bucket."""
    known = ~nulls
    other = ~shown
    other_buckets, where = np.unique(buckets[other], return_inverse=True)
    other_sum = np.bincount(where, weights=np.where(known[other], values[other], 0.0), minlength=len(other_buckets))
    other_known = np.bincount(where, weights=known[other], minlength=len(other_buckets))
    bucket = np.concatenate([buckets[shown], other_buckets])
    device = np.concatenate([devices[shown], np.zeros(len(other_buckets), "int64")])
    missing = np.concatenate([np.zeros(int(shown.sum()), bool), np.ones(len(other_buckets), bool)])
    value = np.concatenate([np.where(known[shown], values[shown], np.nan),
                            np.where(other_known > 0, other_sum, np.nan)])
    order = np.lexsort((device, missing, bucket))  # ORDER BY bucket, device_id NULLS LAST
    frame = pd.DataFrame({
        "bucket": (pd.to_datetime(bucket[order].astype("datetime64[us]")).tz_localize("UTC") if len(order)
                   else pd.to_datetime(pd.Series([], dtype=object), utc=True)),
        "device_id": pd.arrays.IntegerArray(device[order], missing[order]),
        "consumption": value[order]})
    return frame
