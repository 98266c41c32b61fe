"""Device-month costs cached in the database (sql/085), so a past month is read instead of priced again.

A cached row is (tariff, device, local month) → the month's quantity, exact total and lines per component,
priced by tariffs/grouped.py. It is used only while both still hold:
- its `terms` equal month_terms() of the tariff as loaded now: the versions in force on some day of the
  month (content, not ids), the month's surcharge, holiday state, zone, the holidays package and
  CACHE_FORMAT. Editing anything that prices the month (a version, a retroactive one, a surcharge, a tax)
  changes the fingerprint of exactly the months it affects; the others stay cached.
- its `stamp` equals the device-month's current stamp in cost_month_stamps, which a trigger renews in the
  transaction of any change to that month's hourly rollups (a late reading, a recompute, a purge).
The stamp is read before the hours are priced (a later statement sees at least as much), so a change
committed in between leaves a stale stamp and the row is priced again next time, never a stale answer.
Only months that have ended are cached here; the running month's days before today are in the prefix
cache (tariffs/month_prefix.py, sql/095); months cut by the span are priced live.
Reads are scoped like every tariffs read (stamps carry the device's account). Where consumption_hourly
has no stamping trigger (TimescaleDB) or the zone is not the rollups' zone, everything is priced live.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version as package_version
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import IN_SCOPE, Scope
from tds_dash.tariffs import queries
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.grouped import grouped_lines
from tds_dash.tariffs.model import CostLine, Tariff, Usage, to_plain

CACHE_FORMAT = "1"  # bump when a pricing rule changes: every cached row then stops matching
HOLIDAYS = package_version("holidays")

_ENABLED = sa.text("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('consumption_hourly')"
                   " AND tgname = 'consumption_hourly_cost_ins')")

# Candidates: device-months with hourly rollups of the account (in scope); hit: a cached row still valid.
_HEAD = (
    "WITH w AS (SELECT * FROM unnest(CAST(:months AS timestamptz[]), CAST(:terms AS text[])) AS t(month, terms)),"
    " cand_all AS (SELECT s.device_id, s.month, s.stamp, w.terms FROM cost_month_stamps s JOIN w ON w.month = s.month"
    "  WHERE s.metric_id = :metric_id AND s.account_id = :account_id AND s.account_id " + IN_SCOPE
    + "  AND (:any_device OR s.device_id = ANY(CAST(:devices AS bigint[])))),"
    " agg AS (SELECT month, terms, count(*) AS n, max(stamp) AS last FROM cand_all GROUP BY 1, 2),"
    " whole AS (SELECT a.month, a.terms, a.n, a.last FROM agg a JOIN cost_month_sums m"
    "  ON :use_sums AND m.tariff_id = :tariff_id"
    "  AND m.month = a.month AND m.component = '' AND m.label = '' AND m.terms = a.terms"
    "  AND m.device_months = a.n AND m.last_stamp = a.last),"
    " cand AS (SELECT * FROM cand_all WHERE month NOT IN (SELECT month FROM whole)),"
    " hit AS (SELECT c.device_id, c.month, c.quantity, c.total FROM cand JOIN cost_months c"
    "  ON c.tariff_id = :tariff_id AND c.device_id = cand.device_id AND c.month = cand.month"
    "  AND c.terms = cand.terms AND c.stamp = cand.stamp)"
    " SELECT 'miss' AS kind, cand.device_id, cand.month, cand.stamp, NULL AS component, NULL AS label,"
    "  NULL::numeric AS quantity, NULL::numeric AS amount FROM cand"
    "  WHERE NOT EXISTS (SELECT 1 FROM hit WHERE hit.device_id = cand.device_id AND hit.month = cand.month)")
# One statement (one snapshot) answers both which device-months to price and what the others hold.
_READS = {
    "component": sa.text(
        _HEAD + " UNION ALL SELECT 'line', NULL, x.month, NULL, x.component COLLATE \"default\","
        "  x.label COLLATE \"default\", x.quantity, x.amount"
        "  FROM (SELECT h.month, l.component COLLATE \"C\" AS component,"
        "  l.label COLLATE \"C\" AS label, sum(l.quantity) AS quantity, sum(l.amount) AS amount"
        "  FROM hit h JOIN cost_month_lines l ON l.tariff_id = :tariff_id AND l.device_id = h.device_id"
        "  AND l.month = h.month GROUP BY 1, 2, 3) x"  # byte order: the sort of ~10 lines per device-month
        " UNION ALL SELECT 'quantity', NULL, h.month, NULL, NULL, NULL, sum(h.quantity), NULL FROM hit h"
        "  GROUP BY h.month HAVING count(h.quantity) > 0"
        # Months summed over every device, still valid: their sums; the others: what to sum them at.
        " UNION ALL SELECT CASE WHEN m.component = '' THEN 'quantity' ELSE 'line' END, NULL, m.month, NULL,"
        "  CASE WHEN m.component <> '' THEN m.component END, CASE WHEN m.component <> '' THEN m.label END,"
        "  m.quantity, m.amount FROM cost_month_sums m JOIN whole ON whole.month = m.month"
        "  AND m.terms = whole.terms AND m.device_months = whole.n AND m.last_stamp = whole.last"
        "  WHERE m.tariff_id = :tariff_id AND (m.component <> '' OR m.quantity IS NOT NULL)"
        " UNION ALL SELECT 'agg', a.n, a.month, a.last, a.terms, NULL, NULL, NULL FROM agg a"
        "  WHERE :use_sums AND a.month NOT IN (SELECT month FROM whole)"),
    "device": sa.text(
        _HEAD + " UNION ALL SELECT 'device', h.device_id, h.month, NULL, NULL, NULL, h.quantity, h.total"
        "  FROM hit h WHERE h.quantity IS NOT NULL"),
    "line": sa.text(
        _HEAD + " UNION ALL SELECT 'line', h.device_id, h.month, NULL, l.component, l.label, l.quantity, l.amount"
        "  FROM hit h JOIN cost_month_lines l ON l.tariff_id = :tariff_id AND l.device_id = h.device_id"
        "  AND l.month = h.month"),
    # The explorer's totals table and chart: summed here, not in Python (~1,000 + 13 × 11 rows, not 13,000).
    # Same candidates, hits and misses as _HEAD without month sums, in one narrow pass (no text keys hashed
    # per row): 26 → ~10 ms for 13 months of 1,000 devices.
    "explorer": sa.text(
        "WITH w AS (SELECT * FROM unnest(CAST(:months AS timestamptz[]), CAST(:terms AS text[])) AS t(month, terms)),"
        " j AS (SELECT s.device_id, s.month, s.stamp, c.quantity, c.total,"
        "  coalesce(c.stamp = s.stamp AND c.terms = w.terms, false) AS ok"
        "  FROM cost_month_stamps s JOIN w ON w.month = s.month LEFT JOIN cost_months c"
        "  ON c.tariff_id = :tariff_id AND c.month = s.month AND c.device_id = s.device_id"
        "  WHERE s.metric_id = :metric_id AND s.account_id = :account_id AND s.account_id " + IN_SCOPE
        + "  AND (:any_device OR s.device_id = ANY(CAST(:devices AS bigint[]))))"
        " SELECT 'miss' AS kind, j.device_id, j.month, j.stamp, NULL AS component, NULL AS label,"
        "  NULL::numeric AS quantity, NULL::numeric AS amount FROM j WHERE NOT j.ok"
        " UNION ALL SELECT 'device_total', j.device_id, NULL, NULL, NULL, NULL, sum(j.quantity), sum(j.total)"
        "  FROM j WHERE j.ok AND j.quantity IS NOT NULL GROUP BY j.device_id"
        " UNION ALL SELECT 'series', CASE WHEN j.device_id = ANY(CAST(:shown AS bigint[])) THEN j.device_id END,"
        "  j.month, NULL, NULL, NULL, NULL, sum(j.total) FROM j WHERE j.ok AND j.quantity IS NOT NULL GROUP BY 2, 3"),
}

_PUT_MONTHS = sa.text(
    "INSERT INTO cost_months AS c (tariff_id, device_id, month, terms, stamp, quantity, total)"
    " SELECT :tariff_id, * FROM unnest(CAST(:devices AS bigint[]), CAST(:months AS timestamptz[]),"
    "  CAST(:terms AS text[]), CAST(:stamps AS bigint[]), CAST(:quantities AS numeric[]), CAST(:totals AS numeric[]))"
    " ORDER BY 2, 1"
    " ON CONFLICT (tariff_id, month, device_id) DO UPDATE SET terms = EXCLUDED.terms, stamp = EXCLUDED.stamp,"
    "  quantity = EXCLUDED.quantity, total = EXCLUDED.total, priced_at = now()")
_DROP_LINES = sa.text("DELETE FROM cost_month_lines WHERE tariff_id = :tariff_id AND month = :month"
                      " AND device_id = ANY(CAST(:devices AS bigint[]))")
_PUT_LINES = sa.text(
    "INSERT INTO cost_month_lines (tariff_id, device_id, month, component, label, quantity, amount)"
    " SELECT :tariff_id, * FROM unnest(CAST(:devices AS bigint[]), CAST(:months AS timestamptz[]),"
    "  CAST(:components AS text[]), CAST(:labels AS text[]), CAST(:quantities AS numeric[]),"
    "  CAST(:amounts AS numeric[]))")

_DROP_SUMS = sa.text("DELETE FROM cost_month_sums WHERE tariff_id = :tariff_id AND month = :month")
_PUT_SUMS = sa.text(
    "INSERT INTO cost_month_sums (tariff_id, month, component, label, terms, device_months, last_stamp, quantity,"
    " amount) SELECT :tariff_id, :month, u.component, u.label, :terms, :device_months, :last_stamp, u.quantity,"
    " u.amount FROM unnest(CAST(:components AS text[]), CAST(:labels AS text[]), CAST(:quantities AS numeric[]),"
    " CAST(:amounts AS numeric[])) AS u(component, label, quantity, amount)"
    # Two readers summing one month at once: the later one's rows win; a row of another state is never read.
    " ON CONFLICT (tariff_id, month, component, label) DO UPDATE SET terms = EXCLUDED.terms,"
    " device_months = EXCLUDED.device_months, last_stamp = EXCLUDED.last_stamp, quantity = EXCLUDED.quantity,"
    " amount = EXCLUDED.amount")


@dataclasses.dataclass(frozen=True)
class CachedRow:
    """A row the cache answered: 'line' or 'quantity' (per month, or per device in mode 'line'), 'device';
    in mode 'explorer' 'device_total' (per device over the months, no month) and 'series' (per month and
    shown device, device None for the others)."""

    kind: str
    device_id: int | None
    month: datetime | None  # month start, UTC
    component: str | None
    label: str | None
    quantity: Decimal | None
    amount: Decimal | None


@dataclasses.dataclass
class Cached:
    """What the cache answered for some months; `usage` and `lines` are the device-months priced now."""

    months: list[datetime]  # month starts (UTC) answered here, cached or priced now
    rows: list[CachedRow]
    usage: list[Usage]
    lines: list[CostLine]


def month_terms(tariff: Tariff, month: date, zone: ZoneInfo) -> str:
    """Fingerprint of everything that prices one local month of the tariff (see the module docstring)."""
    following = periods.add_months(month, 1)
    ordered = sorted(tariff.versions, key=lambda v: v.valid_from)
    used = [v for v in ordered if v.valid_from <= month][-1:] + [v for v in ordered if month < v.valid_from < following]
    surcharge = next((s for s in tariff.surcharges if s.month == month), None)
    plain = {"format": CACHE_FORMAT, "holidays": HOLIDAYS, "zone": zone.key, "account": tariff.account_id,
             "metric": tariff.metric_id, "subdivision": tariff.holiday_subdivision, "surcharge": to_plain(surcharge),
             "versions": [to_plain(dataclasses.replace(v, id=None)) for v in used]}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


def cache_enabled(conn: Connection, zone: ZoneInfo) -> bool:
    """Stamps are kept (plain PostgreSQL rollups) and cut in this zone."""
    return queries.rollup_zone(conn) == zone.key and bool(conn.execute(_ENABLED).scalar_one())


def ended_months(start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> list[date]:
    """Local months lying wholly inside [start, end) and over by `now`: the ones a cache may answer."""
    months, month = [], start.astimezone(zone).date().replace(day=1)
    while periods.local_midnight(month, zone) < end:
        lo, hi = periods.local_midnight(month, zone), periods.local_midnight(periods.add_months(month, 1), zone)
        if lo >= start and hi <= end and hi <= now:
            months.append(month)
        month = periods.add_months(month, 1)
    return months


def per_device_sums(usage: list[Usage], lines: list[CostLine]) -> dict[int, tuple]:
    """device → (quantity or None, total, {(component, label): [quantity, amount]}) of the lines just priced
    (what the month cache, the running month's prefix and the cut month's prefix store per device)."""
    found: dict[int, list] = {}
    with exact():
        for u in usage:
            entry = found.setdefault(u.device_id, [None, ZERO, {}])
            entry[0] = (entry[0] or ZERO) + u.quantity
        for x in lines:
            entry = found.setdefault(x.device_id, [None, ZERO, {}])
            entry[1] += x.amount
            part = entry[2].setdefault((x.component, x.label), [None, ZERO])
            if x.quantity is not None:
                part[0] = (part[0] or ZERO) + x.quantity
            part[1] += x.amount
    return {device: tuple(entry) for device, entry in found.items()}


def _store(conn: Connection, tariff: Tariff, month: datetime, terms: str, stamps: dict[int, int],
           usage: list[Usage], lines: list[CostLine]) -> None:
    """Write the device-months just priced (each with the stamp read before pricing)."""
    priced = per_device_sums(usage, lines)
    devices = sorted(stamps)
    empty = (None, ZERO, {})
    line_rows = [(d, c, label, q, a) for d in devices for (c, label), (q, a) in sorted(priced.get(d, empty)[2].items())]
    with conn.begin_nested():
        conn.execute(_PUT_MONTHS, {"tariff_id": tariff.id, "devices": devices, "months": [month] * len(devices),
                                   "terms": [terms] * len(devices), "stamps": [stamps[d] for d in devices],
                                   "quantities": [priced.get(d, empty)[0] for d in devices],
                                   "totals": [priced.get(d, empty)[1] for d in devices]})
        conn.execute(_DROP_LINES, {"tariff_id": tariff.id, "month": month, "devices": devices})
        if line_rows:
            conn.execute(_PUT_LINES, {"tariff_id": tariff.id, "devices": [r[0] for r in line_rows],
                                      "months": [month] * len(line_rows), "components": [r[1] for r in line_rows],
                                      "labels": [r[2] for r in line_rows], "quantities": [r[3] for r in line_rows],
                                      "amounts": [r[4] for r in line_rows]})


def _store_sums(conn: Connection, tariff: Tariff, aggs: dict[datetime, tuple[int, int, str]], rows: list[CachedRow],
                usage: list[Usage], lines: list[CostLine]) -> None:
    """Write each month's sums over all its devices: the cached rows read plus the device-months priced now."""
    sums: dict[datetime, dict[tuple[str, str], list]] = defaultdict(dict)

    def add(month, key, quantity, amount):
        entry = sums[month].setdefault(key, [None, None if key == ("", "") else ZERO])
        if quantity is not None:
            entry[0] = (entry[0] or ZERO) + quantity
        if amount is not None:
            entry[1] += amount

    with exact():
        for month in aggs:
            sums[month].setdefault(("", ""), [None, None])
        for r in rows:
            add(r.month, ("", "") if r.kind == "quantity" else (r.component, r.label), r.quantity, r.amount)
        for u in usage:
            add(u.hour, ("", ""), u.quantity, None)
        for x in lines:
            add(x.bucket, (x.component, x.label), x.quantity, x.amount)
    with conn.begin_nested():
        for month, (count, last, terms) in sorted(aggs.items()):
            keys = sorted(sums[month])
            conn.execute(_DROP_SUMS, {"tariff_id": tariff.id, "month": month})
            conn.execute(_PUT_SUMS, {"tariff_id": tariff.id, "month": month, "terms": terms, "device_months": count,
                                     "last_stamp": last, "components": [k[0] for k in keys],
                                     "labels": [k[1] for k in keys],
                                     "quantities": [sums[month][k][0] for k in keys],
                                     "amounts": [sums[month][k][1] for k in keys]})


def _runs(missing: dict[datetime, dict[int, int]], zone: ZoneInfo) -> list[list[datetime]]:
    """Month starts (UTC) in runs of consecutive months whose missing devices are the same."""
    runs: list[list[datetime]] = []
    for month in sorted(missing):
        previous = runs[-1][-1] if runs else None
        follows = previous is not None and periods.local_midnight(
            periods.add_months(previous.astimezone(zone).date(), 1), zone) == month
        if follows and missing[previous].keys() == missing[month].keys():
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs


def read_months(conn: Connection, scope: Scope, tariff: Tariff, months: Sequence[date], zone: ZoneInfo,
                device_ids: Sequence[int], mode: str, shown: Sequence[int] = ()) -> Cached:
    """The months' valid cached rows in `mode` ('component', 'device', 'line' or 'explorer': `shown` are the
    devices charted one by one); the rest priced and cached."""
    starts = [periods.local_midnight(m, zone) for m in months]
    terms = {s: month_terms(tariff, m, zone) for s, m in zip(starts, months)}
    params = {**scope.params(), "tariff_id": tariff.id, "account_id": tariff.account_id,
              "metric_id": tariff.metric_id, "months": starts, "terms": [terms[s] for s in starts],
              "any_device": not device_ids, "devices": list(device_ids),
              "use_sums": mode == "component" and not device_ids, "shown": list(shown)}
    rows: list[CachedRow] = []
    aggs: dict[datetime, tuple[int, int, str]] = {}
    missing: dict[datetime, dict[int, int]] = defaultdict(dict)
    utc: dict[datetime, datetime] = {}  # 13 distinct months among thousands of rows
    for kind, device_id, month, stamp, component, label, quantity, amount in conn.execute(_READS[mode], params).all():
        if month is not None:
            month = utc.get(month) or utc.setdefault(month, month.astimezone(UTC))
        if kind == "miss":
            missing[month][device_id] = stamp
        elif kind == "agg":
            aggs[month] = (device_id, stamp, component)  # stamps in the month, the newest, its terms
        else:
            rows.append(CachedRow(kind, device_id, month, component, label, quantity, amount))
    usage: list[Usage] = []
    lines: list[CostLine] = []
    for run in _runs(missing, zone):  # consecutive months missing the same devices: one grouped read each
        devices = sorted(missing[run[0]])
        following = periods.local_midnight(periods.add_months(run[-1].astimezone(zone).date(), 1), zone)
        found = grouped_lines(conn, scope, tariff, run[0], following, run[0], following, "month", zone, devices)
        by_month: dict[datetime, tuple[list, list]] = defaultdict(lambda: ([], []))
        for u in found[0]:
            by_month[u.hour][0].append(u)
        for x in found[1]:
            by_month[x.bucket][1].append(x)
        for month in run:
            _store(conn, tariff, month, terms[month], missing[month], *by_month[month])
        usage += found[0]
        lines += found[1]
    if aggs:
        _store_sums(conn, tariff, aggs, rows, usage, lines)
    return Cached(starts, rows, usage, lines)


def cached_lines(cached: Cached, zone: ZoneInfo) -> list[CostLine]:
    """The 'line' rows as cost lines (one per device, month, component and label; no unit price)."""
    return [CostLine(r.device_id, r.month, r.month.astimezone(zone).date(), r.component, r.label, r.quantity, None,
                     r.amount, None) for r in cached.rows if r.kind == "line"]


