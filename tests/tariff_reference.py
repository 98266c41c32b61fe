"""A plain, obviously-correct cost computation and the sample tariff the tariff tests share.

Written independently of tds_dash.tariffs.engine: holidays are listed by hand, the version and the
time-of-use price are found by scanning, and tiers are priced through the cumulative cost function
C(x) (cost of the first x units of a month), an hour costing C(total after) - C(total before).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from tds_dash.tariffs.model import Period, Surcharge, TariffVersion, Tax, Tier, Usage, Window

D = Decimal
# Brazil's national holidays in the span the tests use (20/11 is national from 2024 in holidays 0.109).
HOLIDAYS = {date(2026, 10, 12), date(2026, 11, 2), date(2026, 11, 15), date(2026, 11, 20), date(2026, 12, 25),
            date(2027, 1, 1)}


def all_day(kind: str) -> Window:
    return Window(kind, 0, 24)


def tou(peak: str, shoulder: str, off: str) -> tuple[Period, ...]:
    """Peak 18–21 h and shoulder 17–18 h, 21–22 h on working days; off-peak everywhere else."""
    return (
        Period("ponta", D(peak), (Window("working", 18, 21),)),
        Period("intermediária", D(shoulder), (Window("working", 17, 18), Window("working", 21, 22))),
        Period("fora de ponta", D(off), (Window("working", 0, 17), Window("working", 22, 24), all_day("saturday"),
                                         all_day("sunday_holiday"))),
    )


V1 = TariffVersion(date(2026, 11, 1), fixed_fee=D("12.34"), minimum_charge=D("40"),
                   periods=tou("1.20", "0.80", "0.50"),
                   tiers=(Tier(D("30.5"), D("0")), Tier(D("100"), D("0.10")), Tier(None, D("0.25"))),
                   taxes=(Tax("ICMS", D("18")), Tax("PIS/COFINS", D("4.65"))))
# Starts mid-month: 16/11 on the new prices; December's fee and minimum are V2's (in force on the 1st).
V2 = TariffVersion(date(2026, 11, 16), fixed_fee=D("15"), minimum_charge=D("45.5"),
                   periods=tou("1.35", "0.9125", "0.55"),
                   tiers=(Tier(D("30.5"), D("0.01")), Tier(D("100"), D("0.12")), Tier(None, D("0.3"))),
                   taxes=(Tax("ICMS", D("17.5")), Tax("PIS/COFINS", D("5.1"))))
VERSIONS = (V1, V2)
SURCHARGES = (Surcharge(date(2026, 11, 1), D("0.01885"), "amarela"),
              Surcharge(date(2026, 12, 1), D("0.04463"), "vermelha 1"))


def local_instant(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def day_kind(day: date) -> str:
    if day in HOLIDAYS or day.weekday() == 6:
        return "sunday_holiday"
    return "saturday" if day.weekday() == 5 else "working"


def version_on(versions, day: date) -> TariffVersion | None:
    started = [v for v in versions if v.valid_from <= day]
    return max(started, key=lambda v: v.valid_from) if started else None


def tou_price(version: TariffVersion, day: date, hour: int) -> Decimal:
    for period in version.periods:
        for window in period.windows:
            if window.day_type == day_kind(day) and window.start_hour <= hour < window.end_hour:
                return period.price
    return D(0)


def cumulative(tiers, units: Decimal) -> Decimal:
    """Cost of the first `units` of a month under these tiers."""
    cost, lower = D(0), D(0)
    for tier in tiers:
        upper = tier.up_to if tier.up_to is not None else units
        if units > lower:
            cost += (min(units, upper) - lower) * tier.price
        lower = upper
    return cost


def with_taxes(version: TariffVersion, amount: Decimal) -> Decimal:
    return amount + sum((amount * tax.rate / 100 for tax in version.taxes), D(0))


def reference(usage: list[Usage], versions, surcharges, zone: ZoneInfo) -> dict[tuple[int, datetime], Decimal]:
    """Cost per (device, bucket start UTC): each hour's cost, and each month's fee and minimum (with their
    taxes) in the bucket of the month's first instant."""
    out: dict[tuple[int, datetime], Decimal] = defaultdict(D)
    month_total: dict[tuple[int, date], Decimal] = defaultdict(D)
    variable: dict[tuple[int, date], Decimal] = defaultdict(D)
    values = {s.month: s.value for s in surcharges}
    for row in sorted(usage, key=lambda u: u.hour):
        local = row.hour.astimezone(zone)
        day, month = local.date(), local.date().replace(day=1)
        before = month_total.get((row.device_id, month), D(0))
        month_total[(row.device_id, month)] = before + row.quantity
        version = version_on(versions, day)
        if version is None:
            continue
        pre_tax = (row.quantity * tou_price(version, day, local.hour)
                   + cumulative(version.tiers, before + row.quantity) - cumulative(version.tiers, before)
                   + row.quantity * values.get(month, D(0)))
        out[(row.device_id, row.hour.astimezone(UTC))] += with_taxes(version, pre_tax)
        variable[(row.device_id, month)] += pre_tax
    for (device, month) in list(month_total):
        version = version_on(versions, month)
        if version is None:
            continue
        spent = variable[(device, month)]
        extra = version.fixed_fee + max(D(0), version.minimum_charge - spent - version.fixed_fee)
        out[(device, local_instant(month, 0, zone))] += with_taxes(version, extra)
    return dict(out)
