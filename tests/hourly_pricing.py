"""The hour-by-hour engine: every device-hour priced on its own by the rules of tds_dash/tariffs/engine.py, the
plain reading of them, kept as the reference grouped and cached pricing (tds_dash/tariffs/grouped.py,
month_cache.py) are compared with. Production never prices hour by hour (README "Tariffs and cost")."""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs import costs, queries
from tds_dash.tariffs.calendar import day_type
from tds_dash.tariffs.engine import ZERO, _line, _month_lines, _taxes, _Terms, exact, tier_label, tier_pieces
from tds_dash.tariffs.model import (
    ENERGY,
    SURCHARGE,
    TAX,
    TIER,
    UNPRICED,
    CostLine,
    Surcharge,
    Tariff,
    TariffVersion,
    Usage,
)


@dataclasses.dataclass(frozen=True)
class _Hour:
    """Where an hour falls locally: its UTC start, local date and hour, month and day type."""

    bucket: datetime
    day: date
    hour: int
    month: date
    day_type: str


class _Clock:
    """Local facts of each distinct hour, computed once: devices share hours, a month has ~744 of them."""

    def __init__(self, zone: ZoneInfo, subdivision: str | None) -> None:
        self.zone, self.subdivision, self.seen = zone, subdivision, {}

    def at(self, instant: datetime) -> _Hour:
        """The local facts of the hour starting at `instant`."""
        found = self.seen.get(instant)
        if found is None:
            local = instant.astimezone(self.zone)
            found = _Hour(instant.astimezone(UTC), local.date(), local.hour, local.date().replace(day=1),
                          day_type(local.date(), self.subdivision))
            self.seen[instant] = found
        return found


def _hour_lines(usage: Usage, when: _Hour, terms: _Terms, surcharges: dict[date, Surcharge],
                before: Decimal) -> list[CostLine]:
    """The lines of one device-hour, given the device's month total before this hour."""
    q, index = usage.quantity, terms.index_at(when.day)

    def line(component: str, label: str, quantity, price, amount: Decimal, version) -> CostLine:
        return _line(usage.device_id, when.bucket, when.month, component, label, quantity, price, amount, version)

    if index is None or q < ZERO:
        # Before the first version nothing is in force; a negative delta is not billed. Both stay visible.
        return [line(UNPRICED, "", q, None, ZERO, None)]
    version, lines = terms.versions[index], []
    period = terms.tables[index].get((when.day_type, when.hour))
    if period is not None:
        lines.append(line(ENERGY, period.name, q, period.price, q * period.price, version))
    for tier, lower, part in tier_pieces(version.tiers, before, q):
        lines.append(line(TIER, tier_label(lower, tier.up_to), part, tier.price, part * tier.price, version))
    surcharge = surcharges.get(when.month)
    if surcharge is not None:
        lines.append(line(SURCHARGE, surcharge.label, q, surcharge.value, q * surcharge.value, version))
    base = sum((x.amount for x in lines), ZERO)
    return lines + [line(TAX, name, None, None, amount, version) for name, amount in _taxes(version, base)]


def cost_lines(usage: Iterable[Usage], versions: Sequence[TariffVersion], surcharges: Iterable[Surcharge],
               zone: ZoneInfo, subdivision: str | None = None) -> list[CostLine]:
    """Every cost line of the given device-hours, which must hold whole local months from their 1st.

    A device is billed for a month (fee, minimum) when it has at least one row in it, zero or not.
    """
    terms, by_month, clock = _Terms(versions), {s.month: s for s in surcharges}, _Clock(zone, subdivision)
    running: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    variable: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    lines: list[CostLine] = []
    with exact():
        for row in sorted(usage, key=lambda u: (u.hour, u.device_id)):
            when = clock.at(row.hour)
            key = (row.device_id, when.month)
            variable[key] += ZERO  # the device is seen this month, even with no consumption
            if row.quantity == ZERO:
                continue
            hour = _hour_lines(row, when, terms, by_month, running[key])
            running[key] += max(row.quantity, ZERO)
            variable[key] += sum((line.amount for line in hour if line.component != TAX), ZERO)
            lines += hour
        for (device_id, month), amount in sorted(variable.items()):
            lines += _month_lines(device_id, month, amount, terms, zone)
    return lines


def total(lines: Iterable[CostLine]) -> Decimal:
    """The exact sum of the lines' amounts."""
    with exact():
        return sum((line.amount for line in lines), ZERO)


def engine_priced(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
                  device_ids: Sequence[int]) -> tuple[list[Usage], list[CostLine]]:
    """Usage of the span and the cost lines of the whole months around it, kept to the span, hour by hour."""
    lo, hi = costs._whole_months(start, end, zone)
    usage = queries.hourly_usage(conn, scope, tariff.account_id, tariff.metric_id, lo, hi, device_ids)
    lines = cost_lines(usage, tariff.versions, tariff.surcharges, zone, tariff.holiday_subdivision)
    inside = [line for line in lines if start <= line.bucket < end]
    return [u for u in usage if start <= u.hour < end], inside
