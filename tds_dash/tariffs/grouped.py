"""Cost lines by the rules of tariffs/engine.py from grouped usage (tariffs/usage_groups.py), not device-hours.

Exactly the same amounts as the hour-by-hour reading of the rules (tests/hourly_pricing.cost_lines, the
tests' reference), because every rule is linear within a group:
- energy: Σ(q × price) = (Σ q) × price over the hours of one version and period;
- tiers: the blocks reached by a run of consecutive hours of one version, from the device's month total
  before them, are the blocks reached by their sum from that total (tier_pieces is additive in time);
- surcharge and taxes: Σ(q × value) and Σ(base × rate / 100) likewise;
- fee and minimum: per device-month, from the month's variable amount, by engine._month_lines itself.
A segment = one device, bucket, version and side of the span: an interval of time (versions start at local
midnight, the span and buckets are intervals), so segments ordered by their first hour are in time order.
Lines carry their bucket's start instead of the hour's; only lines inside [start, end) are returned.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs.calendar import day_type
from tds_dash.tariffs.engine import ZERO, _month_lines, _taxes, _Terms, exact, tier_label, tier_pieces
from tds_dash.tariffs.model import ENERGY, SURCHARGE, TAX, TIER, UNPRICED, CostLine, Tariff, Usage
from tds_dash.tariffs.usage_groups import usage_groups


@dataclasses.dataclass
class _Segment:
    first: datetime
    positive: Decimal = ZERO
    negative: Decimal = ZERO
    by_period: dict[int, Decimal] = dataclasses.field(default_factory=lambda: defaultdict(lambda: ZERO))


def _classes(terms: _Terms, lo: datetime, hi: datetime, zone: ZoneInfo, subdivision: str | None):
    """(day → class) and (class, hour, period index) tables, and each class's version index (None: unpriced)."""
    classes: dict[tuple[int | None, str], int] = {}
    days, day = [], lo.astimezone(zone).date()
    last = (hi - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        days.append((day, classes.setdefault((terms.index_at(day), day_type(day, subdivision)), len(classes))))
        day += timedelta(days=1)
    hours = []
    for (index, kind), cls in classes.items():
        if index is None:
            continue
        position = {id(period): i for i, period in enumerate(terms.versions[index].periods)}
        hours += [(cls, hour, position[id(terms.tables[index][(kind, hour)])]) for hour in range(24)
                  if (kind, hour) in terms.tables[index]]
    return days, hours, {cls: index for (index, _), cls in classes.items()}


def _segments(groups, version_of: dict[int, int | None]) -> dict[tuple, _Segment]:
    segments: dict[tuple, _Segment] = {}
    with exact():
        for g in groups:
            key = (g.device_id, g.bucket, version_of[g.day_class], g.inside, g.side)
            segment = segments.setdefault(key, _Segment(g.first))
            segment.first = min(segment.first, g.first)
            segment.positive += g.positive
            segment.negative += g.negative
            segment.by_period[g.period] += g.positive
    return segments


def _segment_lines(device_id: int, bucket: datetime, month: date, segment: _Segment, version, surcharge,
                   before: Decimal) -> list[CostLine]:
    """What the hour-by-hour reading (tests/hourly_pricing._hour_lines) gives the segment's hours, per line key."""
    def line(component, label, quantity, price, amount, with_version=True) -> CostLine:
        return CostLine(device_id, bucket, month, component, label, quantity, price, amount,
                        version.valid_from if version is not None and with_version else None)

    if version is None:  # before the first version: every non-zero hour is unpriced
        moved = segment.positive != ZERO or segment.negative != ZERO
        return [line(UNPRICED, "", segment.positive + segment.negative, None, ZERO, False)] if moved else []
    lines = [line(UNPRICED, "", segment.negative, None, ZERO, False)] if segment.negative != ZERO else []
    q = segment.positive
    if q == ZERO:
        return lines
    priced = [line(ENERGY, version.periods[p].name, part, version.periods[p].price, part * version.periods[p].price)
              for p, part in sorted(segment.by_period.items()) if p >= 0 and part > ZERO]
    priced += [line(TIER, tier_label(lower, tier.up_to), part, tier.price, part * tier.price)
               for tier, lower, part in tier_pieces(version.tiers, before, q)]
    if surcharge is not None:
        priced.append(line(SURCHARGE, surcharge.label, q, surcharge.value, q * surcharge.value))
    base = sum((x.amount for x in priced), ZERO)
    return lines + priced + [line(TAX, name, None, None, amount) for name, amount in _taxes(version, base)]


def _segment_variable(segment: _Segment, version, surcharge, before: Decimal) -> Decimal:
    """The pre-tax amount of _segment_lines' lines, without making them (a segment outside the span counts only
    for the month's minimum top-up: the cut prefix's rest of the month, the hours after the card's ends)."""
    q = segment.positive
    if version is None or q == ZERO:
        return ZERO
    amount = ZERO
    for p, part in sorted(segment.by_period.items()):
        if p >= 0 and part > ZERO:
            amount += part * version.periods[p].price
    for tier, _, part in tier_pieces(version.tiers, before, q):
        amount += part * tier.price
    if surcharge is not None:
        amount += q * surcharge.value
    return amount


@dataclasses.dataclass(frozen=True)
class HourPricing:
    """Hour lines of a run of hours, and where each device-month stands after them."""

    usage: list[Usage]  # per device and bucket inside [start, end)
    lines: list[CostLine]  # hour lines inside [start, end); no month-level line
    usage_sides: list[int]  # the span's piece of each usage row and line (usage_groups' side: 1 without cuts)
    line_sides: list[int]
    running: dict[tuple[int, date], Decimal]  # positive consumption so far: the tier position reached
    variable: dict[tuple[int, date], Decimal]  # pre-tax hour amounts so far (the minimum top-up's input)


def hour_pricing(conn: Connection, scope: Scope, tariff: Tariff, lo: datetime, hi: datetime, start: datetime,
                 end: datetime, granularity: str, zone: ZoneInfo, device_ids=(),
                 carried: dict[tuple[int, date], tuple[Decimal, Decimal]] | None = None,
                 cuts: tuple[datetime, ...] = ()) -> HourPricing:
    """The hours of [lo, hi) priced in time order from `carried` (device, month) → (running, variable).

    Without `carried`, lo must be a month's start (tiers count from the 1st); with it, the hours before lo
    are the ones `carried` sums (tariffs/month_prefix.py), and every device in it stays billed for its month.
    `cuts` split the span's segments there too (usage_sides, line_sides): [start, cut) is then the lines of the
    pieces before the cut, exactly (every rule is additive in time), from one pricing.
    """
    terms = _Terms(tariff.versions)
    days, hours, version_of = _classes(terms, lo, hi, zone, tariff.holiday_subdivision)
    groups = usage_groups(conn, scope, tariff.account_id, tariff.metric_id, lo, hi, (start, end), granularity,
                          zone.key, days, hours, device_ids, cuts)
    segments = _segments(groups, version_of)
    surcharges = {s.month: s for s in tariff.surcharges}
    running: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    variable: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    for key, (tier_position, amount) in (carried or {}).items():
        running[key], variable[key] = tier_position, amount
    usage, lines, usage_sides, line_sides = [], [], [], []
    with exact():
        for (device_id, bucket, index, inside, side), segment in sorted(segments.items(), key=lambda kv: (kv[1].first,
                                                                                                      kv[0][0])):
            month = segment.first.astimezone(zone).date().replace(day=1)
            version = None if index is None else terms.versions[index]
            if not inside:
                variable[(device_id, month)] += _segment_variable(segment, version, surcharges.get(month),
                                                                  running[(device_id, month)])
                running[(device_id, month)] += segment.positive
                continue
            found = _segment_lines(device_id, bucket, month, segment, version, surcharges.get(month),
                                   running[(device_id, month)])
            running[(device_id, month)] += segment.positive
            variable[(device_id, month)] += sum((x.amount for x in found if x.component != TAX), ZERO)
            usage.append(Usage(device_id, bucket, segment.positive + segment.negative))
            lines += found
            usage_sides.append(side)
            line_sides += [side] * len(found)
    return HourPricing(usage, lines, usage_sides, line_sides, dict(running), dict(variable))


def month_level(tariff: Tariff, variable: dict[tuple[int, date], Decimal], zone: ZoneInfo, start: datetime,
                end: datetime) -> list[CostLine]:
    """Fee, minimum top-up and their taxes of each device-month billed, kept to [start, end) (the month's start)."""
    terms, lines = _Terms(tariff.versions), []
    with exact():
        for (device_id, month), amount in sorted(variable.items()):
            lines += [x for x in _month_lines(device_id, month, amount, terms, zone) if start <= x.bucket < end]
    return lines


def grouped_lines(conn: Connection, scope: Scope, tariff: Tariff, lo: datetime, hi: datetime, start: datetime,
                  end: datetime, granularity: str, zone: ZoneInfo,
                  device_ids=()) -> tuple[list[Usage], list[CostLine]]:
    """(usage per device and bucket inside [start, end), cost lines inside it) of whole months [lo, hi)."""
    found = hour_pricing(conn, scope, tariff, lo, hi, start, end, granularity, zone, device_ids)
    return found.usage, found.lines + month_level(tariff, found.variable, zone, start, end)
