"""Costs of a span per bucket (hour, day, month) and per component, from the hourly rollups.

Pricing always covers whole local months (tiers count from the 1st, fee and minimum belong to the
month), then only lines whose own bucket lies in [start, end) are kept: an hour's lines by the hour's
start, month-level lines (fixed fee, minimum top-up and their taxes) by the month's start. So a span from
the 1st shows the month's fee; a span from the 10th shows none of it, and hours, days and the month add
up exactly to the same total.

Months of a span by month that lie wholly inside it and are over are read from the device-month cache
(tariffs/month_cache.py); the running month from its days before today (tariffs/month_prefix.py) plus
today's hours priced from the tier position they reached, per device, only for devices whose today changed
(tariffs/today_cache.py); an ended month cut inside from its cut prefix (tariffs/cut_prefix.py); the others (months cut by the span, other
granularities) are priced live from grouped hourly usage (tariffs/grouped.py). All give the same exact amounts.
"""
from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import cut_prefix, month_cache, month_prefix, queries, today_cache
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.grouped import grouped_lines
from tds_dash.tariffs.lookup import account_metric, existing_tariff
from tds_dash.tariffs.model import COMPONENTS, CURRENCY, CostLine, Tariff, Usage
from tds_dash.tariffs.validation import TariffInputError


@dataclasses.dataclass(frozen=True)
class ComponentCost:
    """One component of one bucket: e.g. ('energy', 'ponta'), ('tier', '10–20'), ('tax', 'ICMS')."""

    component: str
    label: str
    quantity: Decimal | None  # units priced by this component; None for fee, minimum and taxes
    cost: Decimal


@dataclasses.dataclass(frozen=True)
class BucketCost:
    """A bucket's consumption, exact cost and its components (in COMPONENTS order)."""

    bucket: datetime  # start, UTC
    quantity: Decimal
    cost: Decimal
    components: tuple[ComponentCost, ...]


@dataclasses.dataclass(frozen=True)
class CostBreakdown:
    """The answer of cost_breakdown: buckets with data, in time order, and their exact total."""

    account_id: int
    metric: str
    unit: str
    currency: str
    granularity: str
    start: datetime
    end: datetime
    buckets: tuple[BucketCost, ...]
    total: Decimal
    unpriced_quantity: Decimal  # consumption in hours no version covers (or negative deltas): not in total


@dataclasses.dataclass(frozen=True)
class DeviceCost:
    """One device's consumption and cost in one bucket; cost None when the account has no tariff."""

    bucket: datetime
    device_id: int
    quantity: Decimal
    cost: Decimal | None


def _zone(conn: Connection, zone: ZoneInfo | None) -> ZoneInfo:
    """The caller's zone (settings.zone), else the rollups' own: days and months must be cut as they were."""
    if zone is not None:
        return zone
    recorded = queries.rollup_zone(conn)
    if recorded is None:
        raise TariffInputError("zone", "rollups have no zone yet (start the app once, or pass zone)")
    return ZoneInfo(recorded)


def _whole_months(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[1st of start's local month, 1st of the month after end's last instant)."""
    first = start.astimezone(zone).date().replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(zone).date().replace(day=1)
    return periods.local_midnight(first, zone), periods.local_midnight(periods.add_months(last, 1), zone)


def bucket_of(moment: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    """The start (UTC) of the hour, local day or local month holding an instant."""
    if granularity == "hour":
        return periods.floor_hour(moment, zone)
    day = moment.astimezone(zone).date()
    return periods.local_midnight(day if granularity == "day" else day.replace(day=1), zone)


def _bucketer(granularity: str, zone: ZoneInfo):
    """bucket_of for one granularity, remembering each hour's answer (many lines share an hour)."""
    return functools.lru_cache(maxsize=None)(lambda moment: bucket_of(moment, granularity, zone))


def _check_span(start: datetime, end: datetime, granularity: str) -> None:
    if granularity not in periods.GRANULARITIES:
        raise TariffInputError("granularity", f"{granularity!r} is not one of {', '.join(periods.GRANULARITIES)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise TariffInputError("start", "start and end need a time zone")
    if end <= start:
        raise TariffInputError("end", "must be after start")
    if end - start > timedelta(days=periods.MAX_DAYS[granularity] + 1):
        raise TariffInputError("end", f"at most {periods.MAX_DAYS[granularity]} days by {granularity}")


def _live(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
          device_ids: Sequence[int], granularity: str,
          skip: frozenset = frozenset()) -> tuple[list[Usage], list[CostLine]]:
    """Grouped pricing of the whole months around [start, end) except the month starts in `skip`, kept to the span."""
    lo, hi = _whole_months(start, end, zone)
    months, month = [], lo
    while month < hi:
        months.append(month)
        month = periods.local_midnight(periods.add_months(month.astimezone(zone).date(), 1), zone)
    usage: list[Usage] = []
    lines: list[CostLine] = []
    run = None
    for month in [*months, hi]:  # one grouped read per run of consecutive months to price
        if month != hi and month not in skip:
            run = run or month
        elif run is not None:
            found = grouped_lines(conn, scope, tariff, run, month, max(start, run), min(end, month), granularity,
                                  zone, device_ids)
            usage, lines, run = usage + found[0], lines + found[1], None
    return usage, lines


def _cacheable(conn: Connection, start: datetime, end: datetime, granularity: str, zone: ZoneInfo,
               now: datetime | None, enabled: bool | None = None) -> list:
    """Local months the cache may answer: by month, wholly inside the span, over, and the cache kept here."""
    if granularity != "month" or not (month_cache.cache_enabled(conn, zone) if enabled is None else enabled):
        return []
    return month_cache.ended_months(start, end, zone, now or datetime.now(UTC))


def _running(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
             device_ids: Sequence[int], granularity: str, mode: str, now: datetime | None,
             shown: Sequence[int]) -> tuple[datetime, list[Usage], list[CostLine], list] | None:
    """The running month from its cached prefix (tariffs/month_prefix.py) + today's hours priced from there.

    None when the span by month does not hold that month's start and its days before today (then live).
    The caller has checked that the cache is kept here (month_cache.cache_enabled).
    """
    if granularity != "month":
        return None
    found = month_prefix.running_month(start, end, zone, now or datetime.now(UTC))
    if found is None:
        return None
    month, through = found
    lo, cut = periods.local_midnight(month, zone), periods.local_midnight(through, zone)
    hi = periods.local_midnight(periods.add_months(month, 1), zone)
    prefix = month_prefix.read_prefix(conn, scope, tariff, month, through, zone, device_ids, mode)
    rest = today_cache.price_rest(conn, scope, tariff, month, through, cut, hi, [end], zone, device_ids,
                                  prefix)[min(end, hi)]
    return lo, prefix.usage, prefix.lines, _mode_rows(prefix.rows, mode, shown) + rest.rows(mode, lo, shown)


def running_totals(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime,
                   ends: Sequence[datetime], zone: ZoneInfo | None = None, device_ids: Sequence[int] = (),
                   now: datetime | None = None) -> list[Decimal]:
    """cost_breakdown(start, end, 'month').total for each end, the running month's today priced once for all.

    The overview's card asks this month so far and this month up to the last whole hour: one prefix read and
    one pricing of the devices whose today changed, instead of one per span. Spans that are not [the running
    month's 1st, a moment from today's midnight to the month's end) are priced one by one by cost_breakdown.
    """
    at = now or datetime.now(UTC)
    zone = _zone(conn, zone)
    found = month_prefix.running_month(start, max(ends), zone, at)
    if found is not None:
        month, through = found
        cut = periods.local_midnight(through, zone)
        hi = periods.local_midnight(periods.add_months(month, 1), zone)
    if (found is None or periods.local_midnight(month, zone) != start or not all(cut <= e <= hi for e in ends)
            or not month_cache.cache_enabled(conn, zone)):
        return [cost_breakdown(conn, scope, account_id, metric, start, e, "month", zone, device_ids, at).total
                for e in ends]
    for e in ends:
        _check_span(start, e, "month")
    tariff = existing_tariff(conn, scope, account_id, metric)
    # Mode 'device': one total per device, none of the prefix's lines summed (a prefix with no quantity has none).
    prefix = month_prefix.read_prefix(conn, scope, tariff, month, through, zone, device_ids, "device")
    rests = today_cache.price_rest(conn, scope, tariff, month, through, cut, hi, ends, zone, device_ids, prefix)
    with exact():
        before = sum((r.amount for r in prefix.rows), ZERO) + sum((x.amount for x in prefix.lines), ZERO)
        return [before + rests[min(e, hi)].total() for e in ends]


def _mode_rows(rows: list, mode: str, shown: Sequence[int]) -> list:
    """A prefix's rows as the mode reads them: in mode 'explorer' its per-device rows count for the device
    and its series alike."""
    if mode != "explorer":
        return rows
    charted, series = frozenset(shown), defaultdict(lambda: ZERO)
    with exact():
        for r in rows:
            series[(r.device_id if r.device_id in charted else None, r.month)] += r.amount
    return ([month_cache.CachedRow("device_total", r.device_id, r.month, None, None, r.quantity, r.amount)
             for r in rows] + [month_cache.CachedRow("series", d, m, None, None, None, a)
                               for (d, m), a in series.items()])


def _cut(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
         device_ids: Sequence[int], granularity: str, mode: str, now: datetime | None,
         shown: Sequence[int]) -> tuple[datetime, list[Usage], list[CostLine], list] | None:
    """An ended month the span ends inside of (the overview's "same part of last month") from its cut prefix
    (tariffs/cut_prefix.py); None when the span by month does not end inside an ended month it starts."""
    if granularity != "month":
        return None
    month = cut_prefix.cut_month(start, end, zone, now or datetime.now(UTC))
    if month is None:
        return None
    found = cut_prefix.read_cut(conn, scope, tariff, month, end, zone, device_ids, mode)
    return periods.local_midnight(month, zone), found.usage, found.lines, _mode_rows(found.rows, mode, shown)


def _priced(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
            device_ids: Sequence[int], granularity: str, mode: str,
            now: datetime | None, shown: Sequence[int] = ()) -> tuple[list[Usage], list[CostLine], list]:
    """(usage, lines) priced live, and the cache's rows for the months it answered (month_cache.read_months)
    and for the running month's days before today (month_prefix.read_prefix)."""
    enabled = granularity == "month" and month_cache.cache_enabled(conn, zone)
    months = _cacheable(conn, start, end, granularity, zone, now, enabled)
    cached = month_cache.read_months(conn, scope, tariff, months, zone, device_ids, mode, shown) if months else None
    running = _running(conn, scope, tariff, start, end, zone, device_ids, granularity, mode, now,
                       shown) if enabled else None
    cut = _cut(conn, scope, tariff, start, end, zone, device_ids, granularity, mode, now, shown) if enabled else None
    skip = frozenset([*(cached.months if cached else ()), *(part[0] for part in (running, cut) if part)])
    usage, lines = _live(conn, scope, tariff, start, end, zone, device_ids, granularity, skip)
    rows: list = []
    if cached is not None:
        usage, lines, rows = usage + cached.usage, lines + cached.lines, cached.rows
    for part in (running, cut):
        if part is not None:
            usage, lines, rows = usage + part[1], lines + part[2], rows + part[3]
    return usage, lines, rows


def month_lines(conn: Connection, scope: Scope, tariff: Tariff, month: date, zone: ZoneInfo,
                now: datetime | None = None, cached: bool = True) -> list[CostLine]:
    """Every cost line of one local month (all devices), from the cache when the month is over (statements).

    Lines read from the cache are one per device, component and label (no unit price); those priced now
    are per device and version as grouped pricing gives them: the same sums either way. `cached=False`
    prices live and writes nothing (a draft tariff that is not stored).
    """
    start = periods.local_midnight(month, zone)
    end = periods.local_midnight(periods.add_months(month, 1), zone)
    months = _cacheable(conn, start, end, "month", zone, now) if cached else []
    if not months:
        return grouped_lines(conn, scope, tariff, start, end, start, end, "month", zone)[1]
    found = month_cache.read_months(conn, scope, tariff, months, zone, (), "line")
    return month_cache.cached_lines(found, zone) + found.lines


def _components(lines: Iterable[CostLine]) -> tuple[ComponentCost, ...]:
    sums: dict[tuple[str, str], list] = {}
    for line in lines:
        entry = sums.setdefault((line.component, line.label), [None, ZERO])
        if line.quantity is not None:
            entry[0] = (entry[0] or ZERO) + line.quantity
        entry[1] += line.amount
    order = sorted(sums, key=lambda key: (COMPONENTS.index(key[0]), key[1]))
    return tuple(ComponentCost(c, label, *sums[(c, label)]) for c, label in order)


def group_buckets(usage: list[Usage], lines: list[CostLine], granularity: str,
                  zone: ZoneInfo) -> tuple[BucketCost, ...]:
    """Usage and lines summed per bucket of the granularity, exact; buckets with either, in time order."""
    bucket = _bucketer(granularity, zone)
    quantities: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
    grouped: dict[datetime, list[CostLine]] = defaultdict(list)
    with exact():
        for row in usage:
            quantities[bucket(row.hour)] += row.quantity
        for line in lines:
            grouped[bucket(line.bucket)].append(line)
        return tuple(BucketCost(b, quantities[b], sum((x.amount for x in grouped[b]), ZERO), _components(grouped[b]))
                     for b in sorted(quantities.keys() | grouped.keys()))


def _with_cached(buckets: tuple[BucketCost, ...], rows: list) -> tuple[BucketCost, ...]:
    """Buckets of live pricing merged with the cache's 'quantity' and 'line' rows of the same (month) buckets."""
    if not rows:
        return buckets
    quantity = {b.bucket: b.quantity for b in buckets}
    parts = {b.bucket: {(c.component, c.label): [c.quantity, c.cost] for c in b.components} for b in buckets}
    with exact():
        for row in rows:
            if row.kind == "quantity":
                quantity[row.month] = quantity.get(row.month, ZERO) + row.quantity
                parts.setdefault(row.month, {})
            elif row.kind == "line":
                entry = parts.setdefault(row.month, {}).setdefault((row.component, row.label), [None, ZERO])
                if row.quantity is not None:
                    entry[0] = (entry[0] or ZERO) + row.quantity
                entry[1] += row.amount
        out = []
        for bucket in sorted(parts):
            order = sorted(parts[bucket], key=lambda key: (COMPONENTS.index(key[0]), key[1]))
            components = tuple(ComponentCost(c, label, *parts[bucket][(c, label)]) for c, label in order)
            out.append(BucketCost(bucket, quantity.get(bucket, ZERO), sum((c.cost for c in components), ZERO),
                                  components))
    return tuple(out)


def cost_breakdown(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime, end: datetime,
                   granularity: str, zone: ZoneInfo | None = None, device_ids: Sequence[int] = (),
                   now: datetime | None = None) -> CostBreakdown:
    """Exact cost of [start, end) per bucket and component for one account's metric (all its devices, or some).

    `now` (default: the clock) decides which months are over, hence may come from the cache.
    """
    _check_span(start, end, granularity)
    tariff, zone = existing_tariff(conn, scope, account_id, metric), _zone(conn, zone)
    unit = queries.find_metric(conn, tariff.metric).unit
    usage, lines, cached = _priced(conn, scope, tariff, start, end, zone, device_ids, granularity, "component", now)
    with exact():
        buckets = _with_cached(group_buckets(usage, lines, granularity, zone), cached)
        total = sum((b.cost for b in buckets), ZERO)
        unpriced = sum((c.quantity for b in buckets for c in b.components if c.component == "unpriced"), ZERO)
    return CostBreakdown(tariff.account_id, tariff.metric, unit, CURRENCY, granularity, start, end, buckets,
                         total, unpriced)


def consumption_with_cost(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime,
                          end: datetime, granularity: str, zone: ZoneInfo | None = None,
                          device_ids: Sequence[int] = (), now: datetime | None = None) -> list[DeviceCost]:
    """Per bucket and device: consumption and exact cost (None without a tariff), for explorer and overview."""
    _check_span(start, end, granularity)
    account, row = account_metric(conn, scope, account_id, metric)
    zone, tariff = _zone(conn, zone), queries.load_tariff(conn, scope, account, row.id)
    cached: list = []
    if tariff is None:
        usage = queries.hourly_usage(conn, scope, account, row.id, start, end, device_ids)
        lines: list[CostLine] = []
    else:
        usage, lines, cached = _priced(conn, scope, tariff, start, end, zone, device_ids, granularity, "device", now)
    quantity: dict[tuple[datetime, int], Decimal] = defaultdict(lambda: ZERO)
    cost: dict[tuple[datetime, int], Decimal] = defaultdict(lambda: ZERO)
    with exact():
        bucket = _bucketer(granularity, zone)
        for u in usage:
            quantity[(bucket(u.hour), u.device_id)] += u.quantity
        for line in lines:
            cost[(bucket(line.bucket), line.device_id)] += line.amount
        for r in cached:  # 'device' rows: one per cached device-month with consumption
            quantity[(r.month, r.device_id)] += r.quantity
            cost[(r.month, r.device_id)] += r.amount
    keys = sorted(quantity.keys() | cost.keys())
    return [DeviceCost(b, d, quantity[(b, d)], cost[(b, d)] if tariff else None) for b, d in keys]


@dataclasses.dataclass(frozen=True)
class DeviceSums:
    """The explorer's cost of a span: per device, and per charted series and bucket (exact)."""

    devices: dict[int, Decimal]  # every device with consumption or cost in the span
    series: dict[tuple[int | None, datetime], Decimal]  # (shown device, or None for the others, bucket)


def device_sums(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime, end: datetime,
                granularity: str, zone: ZoneInfo | None = None, device_ids: Sequence[int] = (),
                shown: Sequence[int] = (), now: datetime | None = None) -> DeviceSums | None:
    """consumption_with_cost's costs summed per device and per series (`shown` one by one); None: no tariff.

    Cached months are summed in the database (month_cache mode 'explorer'), so a 13-month read of a large
    account moves ~1,000 + 13 × 11 rows, not one per device-month.
    """
    _check_span(start, end, granularity)
    account, row = account_metric(conn, scope, account_id, metric)
    zone, tariff = _zone(conn, zone), queries.load_tariff(conn, scope, account, row.id)
    if tariff is None:
        return None
    usage, lines, cached = _priced(conn, scope, tariff, start, end, zone, device_ids, granularity, "explorer", now,
                                   shown)
    charted = frozenset(shown)
    devices: dict[int, Decimal] = defaultdict(lambda: ZERO)
    series: dict[tuple[int | None, datetime], Decimal] = defaultdict(lambda: ZERO)
    with exact():
        bucket = _bucketer(granularity, zone)
        for u in usage:
            devices[u.device_id] += ZERO  # consumption, even with no cost
        for line in lines:
            devices[line.device_id] += line.amount
            series[(line.device_id if line.device_id in charted else None, bucket(line.bucket))] += line.amount
        for r in cached:
            if r.kind == "device_total":
                devices[r.device_id] += r.amount
            elif r.kind == "series":
                series[(r.device_id, r.month)] += r.amount
    return DeviceSums(dict(devices), dict(series))
