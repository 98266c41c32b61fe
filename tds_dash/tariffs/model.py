"""Typed rows of the tariff model and of the cost engine's output. Money is Decimal, never float."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

DAY_TYPES = ("working", "saturday", "sunday_holiday")
CURRENCY = "BRL"

# Components of a cost line, in the order statements list them.
ENERGY, TIER, SURCHARGE, FIXED_FEE, MINIMUM, TAX, UNPRICED = (
    "energy", "tier", "surcharge", "fixed_fee", "minimum", "tax", "unpriced")
COMPONENTS = (ENERGY, TIER, SURCHARGE, FIXED_FEE, MINIMUM, TAX, UNPRICED)
MONTH_LEVEL = frozenset({FIXED_FEE, MINIMUM})


@dataclasses.dataclass(frozen=True)
class Window:
    """Local whole hours [start_hour, end_hour) of one day type."""

    day_type: str
    start_hour: int
    end_hour: int


@dataclasses.dataclass(frozen=True)
class Period:
    """A named time-of-use period: its price per unit and the weekly windows where it applies."""

    name: str
    price: Decimal
    windows: tuple[Window, ...]


@dataclasses.dataclass(frozen=True)
class Tier:
    """A block of the month's consumption per device, up to `up_to` (None: no upper bound)."""

    up_to: Decimal | None
    price: Decimal


@dataclasses.dataclass(frozen=True)
class Tax:
    """A named percentage (18 means 18 %) added on top of the subtotal."""

    name: str
    rate: Decimal


@dataclasses.dataclass(frozen=True)
class TariffVersion:
    """The terms in force from local midnight of `valid_from` until the next version's."""

    valid_from: date
    fixed_fee: Decimal = Decimal(0)
    minimum_charge: Decimal = Decimal(0)
    periods: tuple[Period, ...] = ()
    tiers: tuple[Tier, ...] = ()
    taxes: tuple[Tax, ...] = ()
    currency: str = CURRENCY
    id: int | None = None


@dataclasses.dataclass(frozen=True)
class Surcharge:
    """A per-unit surcharge for one local month (the bandeira), as the user entered it."""

    month: date  # first day of the month
    value: Decimal
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Tariff:
    """What one account pays for one metric: its versions (oldest first) and monthly surcharges."""

    id: int
    account_id: int
    metric_id: int
    metric: str
    name: str
    holiday_subdivision: str | None
    versions: tuple[TariffVersion, ...] = ()
    surcharges: tuple[Surcharge, ...] = ()


@dataclasses.dataclass(frozen=True)
class Usage:
    """One device's consumption in one local hour; `hour` is the aware start of that hour."""

    device_id: int
    hour: datetime
    quantity: Decimal


@dataclasses.dataclass(frozen=True)
class CostLine:
    """One priced piece of one device's cost in one hour (or, for month-level lines, its month).

    `bucket` is the hour's start, or the month's start for fixed fee, minimum top-up and their taxes.
    `quantity` and `unit_price` are None for lines that are not per unit (fee, minimum, tax).
    """

    device_id: int
    bucket: datetime
    month: date
    component: str
    label: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    version_from: date | None


def to_plain(value: Any) -> Any:
    """JSON-ready copy of a model value: Decimals as decimal strings (never floats), dates as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
