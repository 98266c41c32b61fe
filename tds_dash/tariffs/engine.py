"""The cost rules: the terms in force, tier pieces, taxes, fee and minimum. Pure.

Production prices grouped hours (tariffs/grouped.py) and cached device-months (tariffs/month_cache.py) with
these functions; the hour-by-hour reading of the same rules is the tests' reference (tests/hourly_pricing.py).
Rules (README "Tariffs and cost"):
- an hour is priced by the version in force on its local date (latest valid_from <= that date);
- energy: the price of the time-of-use period whose window holds the local hour on that date's day type;
- tiers: the hour's quantity is split over the blocks it spans, by the device's running total since the
  start of the local month in time order (so a boundary crossed mid-hour gives two lines);
- surcharge: the month's value per unit × the hour's quantity;
- fixed fee and minimum top-up are per device and month, priced by the version in force on the 1st
  and put in the bucket of the month's start;
- taxes: each tax is rate % of the pre-tax lines of its bucket (hour or month), a line of its own.
Every amount is exact (multiplications of exact decimals; an inexact result raises), so buckets add up
to the month exactly. Rounding is for display only (tds_dash.tariffs.money).
"""
from __future__ import annotations

import bisect
import contextlib
import decimal
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tds_dash.periods import local_midnight
from tds_dash.tariffs.model import (
    FIXED_FEE,
    MINIMUM,
    TAX,
    CostLine,
    Period,
    TariffVersion,
    Tier,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@contextlib.contextmanager
def exact() -> Iterator[None]:
    """A decimal context where any rounding raises: money stays exact or fails loudly."""
    with decimal.localcontext() as context:
        context.prec = 120
        context.traps[decimal.Inexact] = True
        context.traps[decimal.Rounded] = True
        yield


class _Terms:
    """The versions sorted by date, with each one's (day type, hour) → period table built once."""

    def __init__(self, versions: Sequence[TariffVersion]) -> None:
        self.versions = sorted(versions, key=lambda v: v.valid_from)
        self.starts = [v.valid_from for v in self.versions]
        self.tables = [_hour_table(v.periods) for v in self.versions]

    def index_at(self, day: date) -> int | None:
        """Index of the version in force on a local date, None before the first one."""
        position = bisect.bisect_right(self.starts, day) - 1
        return position if position >= 0 else None


def _hour_table(periods: Sequence[Period]) -> dict[tuple[str, int], Period]:
    return {(w.day_type, hour): period for period in periods for w in period.windows
            for hour in range(w.start_hour, w.end_hour)}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def tier_label(lower: Decimal, upper: Decimal | None) -> str:
    """'0–10', '10–20', '20+' (bounds in the metric's unit)."""
    return f"{_plain(lower)}+" if upper is None else f"{_plain(lower)}–{_plain(upper)}"


def tier_pieces(tiers: Sequence[Tier], before: Decimal, quantity: Decimal) -> list[tuple[Tier, Decimal, Decimal]]:
    """(tier, its lower bound, quantity in it) for a quantity added to a running total `before`."""
    pieces, lower, after = [], ZERO, before + quantity
    for tier in tiers:
        low = max(before, lower)
        high = after if tier.up_to is None else min(after, tier.up_to)
        if high > low:
            pieces.append((tier, lower, high - low))
        if tier.up_to is None or after <= tier.up_to:
            break
        lower = tier.up_to
    return pieces


def _line(device_id: int, bucket: datetime, month: date, component: str, label: str, quantity: Decimal | None,
          price: Decimal | None, amount: Decimal, version: TariffVersion | None) -> CostLine:
    return CostLine(device_id, bucket, month, component, label, quantity, price, amount,
                    version.valid_from if version else None)


def _taxes(version: TariffVersion, base: Decimal) -> list[tuple[str, Decimal]]:
    """(tax name, amount) of each tax on a pre-tax base; exact: rate / 100 only moves the exponent."""
    return [(tax.name, base * tax.rate / HUNDRED) for tax in version.taxes]


def _month_lines(device_id: int, month: date, variable: Decimal, terms: _Terms, zone: ZoneInfo) -> list[CostLine]:
    """Fixed fee, minimum top-up and their taxes for one device-month, by the version in force on the 1st."""
    index = terms.index_at(month)
    if index is None:
        return []  # a tariff starting mid-month charges no fee or minimum for that partial month
    version, bucket = terms.versions[index], local_midnight(month, zone)
    top_up = max(ZERO, version.minimum_charge - variable - version.fixed_fee)
    lines = [_line(device_id, bucket, month, component, "", None, None, amount, version)
             for component, amount in ((FIXED_FEE, version.fixed_fee), (MINIMUM, top_up)) if amount > ZERO]
    base = sum((line.amount for line in lines), ZERO)
    if base > ZERO:
        lines += [_line(device_id, bucket, month, TAX, name, None, None, amount, version)
                  for name, amount in _taxes(version, base)]
    return lines
