"""Costs of a span per bucket (hour, day, month) and per component, from the hourly rollups.

The engine always prices whole local months (tiers count from the 1st, fee and minimum belong to the
month), then only lines whose own bucket lies in [start, end) are kept: an hour's lines by the hour's
start, month-level lines (fixed fee, minimum top-up and their taxes) by the month's start. So a span from
the 1st shows the month's fee; a span from the 10th shows none of it, and hours, days and the month add
up exactly to the same total.
"""
from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import queries
from tds_dash.tariffs.engine import ZERO, cost_lines, exact
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


def engine_priced(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
                  device_ids: Sequence[int]) -> tuple[list[Usage], list[CostLine]]:
    """Usage of the span and the cost lines of the whole months around it, kept to the span, hour by hour.

    The plain reading of the rules; _priced gives the same amounts from grouped usage (tests compare both).
    """
    lo, hi = _whole_months(start, end, zone)
    usage = queries.hourly_usage(conn, scope, tariff.account_id, tariff.metric_id, lo, hi, device_ids)
    lines = cost_lines(usage, tariff.versions, tariff.surcharges, zone, tariff.holiday_subdivision)
    inside = [line for line in lines if start <= line.bucket < end]
    return [u for u in usage if start <= u.hour < end], inside


def _priced(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
            device_ids: Sequence[int], granularity: str) -> tuple[list[Usage], list[CostLine]]:
    """As engine_priced, with usage and lines per bucket: hours summed set-based in SQL (tariffs/grouped.py)."""
    lo, hi = _whole_months(start, end, zone)
    return grouped_lines(conn, scope, tariff, lo, hi, start, end, granularity, zone, device_ids)


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


def cost_breakdown(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime, end: datetime,
                   granularity: str, zone: ZoneInfo | None = None, device_ids: Sequence[int] = ()) -> CostBreakdown:
    """Exact cost of [start, end) per bucket and component for one account's metric (all its devices, or some)."""
    _check_span(start, end, granularity)
    tariff, zone = existing_tariff(conn, scope, account_id, metric), _zone(conn, zone)
    unit = queries.find_metric(conn, tariff.metric).unit
    usage, lines = _priced(conn, scope, tariff, start, end, zone, device_ids, granularity)
    with exact():
        buckets = group_buckets(usage, lines, granularity, zone)
        total = sum((b.cost for b in buckets), ZERO)
        unpriced = sum((line.quantity for line in lines if line.component == "unpriced"), ZERO)
    return CostBreakdown(tariff.account_id, tariff.metric, unit, CURRENCY, granularity, start, end, buckets,
                         total, unpriced)


def consumption_with_cost(conn: Connection, scope: Scope, account_id: int, metric: str, start: datetime,
                          end: datetime, granularity: str, zone: ZoneInfo | None = None,
                          device_ids: Sequence[int] = ()) -> list[DeviceCost]:
    """Per bucket and device: consumption and exact cost (None without a tariff), for explorer and overview."""
    _check_span(start, end, granularity)
    account, row = account_metric(conn, scope, account_id, metric)
    zone, tariff = _zone(conn, zone), queries.load_tariff(conn, scope, account, row.id)
    if tariff is None:
        usage = queries.hourly_usage(conn, scope, account, row.id, start, end, device_ids)
        lines: list[CostLine] = []
    else:
        usage, lines = _priced(conn, scope, tariff, start, end, zone, device_ids, granularity)
    quantity: dict[tuple[datetime, int], Decimal] = defaultdict(lambda: ZERO)
    cost: dict[tuple[datetime, int], Decimal] = defaultdict(lambda: ZERO)
    with exact():
        bucket = _bucketer(granularity, zone)
        for u in usage:
            quantity[(bucket(u.hour), u.device_id)] += u.quantity
        for line in lines:
            cost[(bucket(line.bucket), line.device_id)] += line.amount
    keys = sorted(quantity.keys() | cost.keys())
    return [DeviceCost(b, d, quantity[(b, d)], cost[(b, d)] if tariff else None) for b, d in keys]
