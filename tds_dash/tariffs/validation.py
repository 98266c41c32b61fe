"""User input → tariff model, or a TariffInputError naming the field. Pure, no I/O.

Input is plain values as a form or a JSON body gives them: decimals as strings ('0,85' or '0.85', no
thousands separators; numbers are read through their shortest text, never as binary floats), dates as
YYYY-MM-DD, months as YYYY-MM. Field names are paths into the input: 'periods[1].windows[0].start'.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tds_dash.tariffs.calendar import SUBDIVISIONS
from tds_dash.tariffs.model import CURRENCY, DAY_TYPES, Period, Surcharge, TariffVersion, Tax, Tier, Window

PRICE_PLACES, RATE_PLACES = 10, 6
MAX_AMOUNT = Decimal("1e12")  # far above any real price or fee; keeps typos like 1e300 out
NAME_MAX, LABEL_MAX = 120, 60
YEARS = (2000, 2100)  # a typo'd year (20026, 0026) would otherwise be a valid version far away
_DECIMAL = re.compile(r"^[0-9]+([.,][0-9]+)?$|^-[0-9]+([.,][0-9]+)?$")
_DAY_LABELS = {"working": "working days", "saturday": "Saturdays", "sunday_holiday": "Sundays and holidays"}


class TariffInputError(ValueError):
    """Bad input for one field; `field` is its path in the input, `message` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_decimal(value: Any, field: str, places: int = PRICE_PLACES, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """A non-negative decimal with at most `places` decimal places."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise TariffInputError(field, "required")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if not isinstance(value, Decimal) and not _DECIMAL.match(text):
        raise TariffInputError(field, f"{text!r} is not a number (use 0,85 or 0.85, no thousands separators)")
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise TariffInputError(field, f"{text!r} is not a number") from None
    if not number.is_finite():
        raise TariffInputError(field, "must be a finite number")
    if number < 0:
        raise TariffInputError(field, "must not be negative")
    if number > maximum:
        raise TariffInputError(field, f"must be at most {maximum:f}")
    if -number.as_tuple().exponent > places:
        raise TariffInputError(field, f"at most {places} decimal places")
    return number + 0  # drops a negative zero's sign


def parse_date(value: Any, field: str) -> date:
    """YYYY-MM-DD, or a date (not a datetime: which local day an instant is depends on the zone)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise TariffInputError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise TariffInputError(field, f"a date between {YEARS[0]} and {YEARS[1]}")
    return day


def parse_month(value: Any, field: str = "month") -> date:
    """YYYY-MM (or the month's first day as YYYY-MM-01) → the first day of that month."""
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    day = parse_date(text + "-01" if len(text) == 7 else text, field)
    if day.day != 1:
        raise TariffInputError(field, "give a month (YYYY-MM)")
    return day


def parse_tariff(data: Mapping) -> tuple[str, str | None]:
    """(name, holiday state) of a tariff: {'name': 'Branca', 'holiday_subdivision': 'SP' or empty}."""
    if not isinstance(data, Mapping):
        raise TariffInputError("tariff", "must be an object")
    return parse_name(data.get("name")), parse_subdivision(data.get("holiday_subdivision"))


def parse_name(value: Any, field: str = "name", maximum: int = NAME_MAX) -> str:
    """A trimmed, non-empty name of at most `maximum` characters."""
    text = str(value or "").strip()
    if not text:
        raise TariffInputError(field, "required")
    if len(text) > maximum:
        raise TariffInputError(field, f"at most {maximum} characters")
    return text


def parse_subdivision(value: Any, field: str = "holiday_subdivision") -> str | None:
    """A Brazilian state (UF) whose holidays count as Sundays, or None for national holidays only."""
    text = str(value or "").strip().upper()
    if not text:
        return None
    if text not in SUBDIVISIONS:
        raise TariffInputError(field, f"{text!r} is not a Brazilian state (UF: {', '.join(SUBDIVISIONS)})")
    return text


def _items(data: Mapping, key: str, path: str | None = None) -> Sequence[Mapping]:
    """The list under `key`, each element an object; `path` names it in errors (default: key)."""
    path, value = path or key, data.get(key) or ()
    if not isinstance(value, (list, tuple)):
        raise TariffInputError(path, "must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise TariffInputError(f"{path}[{i}]", "must be an object")
    return value


def _hour(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,2}", str(value).strip()):
        raise TariffInputError(field, "a whole hour (0–24)")
    hour = int(str(value).strip())
    if not low <= hour <= high:
        raise TariffInputError(field, f"a whole hour between {low} and {high}")
    return hour


def parse_window(data: Mapping, field: str) -> Window:
    """{'day_type': 'working', 'start': 18, 'end': 21}: local hours [start, end) of a day type."""
    kind = str(data.get("day_type", "")).strip()
    if kind not in DAY_TYPES:
        raise TariffInputError(f"{field}.day_type", f"{kind!r} is not a day type ({', '.join(DAY_TYPES)})")
    start = _hour(data.get("start"), f"{field}.start", 0, 23)
    end = _hour(data.get("end"), f"{field}.end", 1, 24)
    if end <= start:
        raise TariffInputError(f"{field}.end", "must be after start")
    return Window(kind, start, end)


def parse_periods(data: Mapping) -> tuple[Period, ...]:
    """Time-of-use periods; together their windows must cover every hour of every day type once."""
    periods, names = [], set()
    for i, item in enumerate(_items(data, "periods")):
        name = parse_name(item.get("name"), f"periods[{i}].name", LABEL_MAX)
        if name.casefold() in names:
            raise TariffInputError(f"periods[{i}].name", f"period {name!r} is given twice")
        names.add(name.casefold())
        path = f"periods[{i}].windows"
        windows = tuple(parse_window(w, f"{path}[{j}]") for j, w in enumerate(_items(item, "windows", path)))
        if not windows:
            raise TariffInputError(f"periods[{i}].windows", "a period needs at least one window")
        periods.append(Period(name, parse_decimal(item.get("price"), f"periods[{i}].price"), windows))
    check_coverage(periods)
    return tuple(periods)


def check_coverage(periods: Sequence[Period]) -> None:
    """No hour in two windows; with any period at all, no hour in none."""
    owner: dict[tuple[str, int], str] = {}
    for i, period in enumerate(periods):
        for j, window in enumerate(period.windows):
            for hour in range(window.start_hour, window.end_hour):
                key = (window.day_type, hour)
                if key in owner:
                    raise TariffInputError(f"periods[{i}].windows[{j}]", f"overlaps period {owner[key]!r} on "
                                           f"{_DAY_LABELS[window.day_type]} at {hour:02d}h")
                owner[key] = period.name
    if not periods:
        return
    for kind in DAY_TYPES:
        missing = [hour for hour in range(24) if (kind, hour) not in owner]
        if missing:
            raise TariffInputError("periods", f"{_DAY_LABELS[kind]} {missing[0]:02d}h–{missing[0] + 1:02d}h "
                                   "are in no period (every hour needs a price)")


def parse_tiers(data: Mapping) -> tuple[Tier, ...]:
    """Blocks with increasing upper bounds; the last has none (it takes everything above)."""
    items, tiers, lower = _items(data, "tiers"), [], Decimal(0)
    for i, item in enumerate(items):
        raw, last = item.get("up_to"), i == len(items) - 1
        if last and raw not in (None, ""):
            raise TariffInputError(f"tiers[{i}].up_to", "the last tier has no upper bound (leave it empty)")
        up_to = None if last else parse_decimal(raw, f"tiers[{i}].up_to")
        if up_to is not None and up_to <= lower:
            raise TariffInputError(f"tiers[{i}].up_to", f"must be greater than the tier before ({lower:f})")
        tiers.append(Tier(up_to, parse_decimal(item.get("price"), f"tiers[{i}].price")))
        lower = up_to if up_to is not None else lower
    return tuple(tiers)


def parse_taxes(data: Mapping) -> tuple[Tax, ...]:
    """Named percentages (18 = 18 %), each its own line."""
    taxes, names = [], set()
    for i, item in enumerate(_items(data, "taxes")):
        name = parse_name(item.get("name"), f"taxes[{i}].name", LABEL_MAX)
        if name.casefold() in names:
            raise TariffInputError(f"taxes[{i}].name", f"tax {name!r} is given twice")
        names.add(name.casefold())
        taxes.append(Tax(name, parse_decimal(item.get("rate"), f"taxes[{i}].rate", RATE_PLACES, Decimal(100))))
    return tuple(taxes)


def parse_version(data: Mapping) -> TariffVersion:
    """A whole tariff version from user input."""
    if not isinstance(data, Mapping):
        raise TariffInputError("version", "must be an object")
    currency = str(data.get("currency") or CURRENCY).strip().upper()
    if currency != CURRENCY:
        raise TariffInputError("currency", f"only {CURRENCY} is supported")
    return TariffVersion(
        valid_from=parse_date(data.get("valid_from"), "valid_from"),
        fixed_fee=parse_decimal(data.get("fixed_fee") or "0", "fixed_fee"),
        minimum_charge=parse_decimal(data.get("minimum_charge") or "0", "minimum_charge"),
        periods=parse_periods(data), tiers=parse_tiers(data), taxes=parse_taxes(data))


def parse_surcharge(data: Mapping) -> Surcharge:
    """{'month': '2026-11', 'value': '0,01885', 'label': 'bandeira amarela'}."""
    if not isinstance(data, Mapping):
        raise TariffInputError("surcharge", "must be an object")
    label = str(data.get("label") or "").strip()
    if len(label) > LABEL_MAX:
        raise TariffInputError("label", f"at most {LABEL_MAX} characters")
    return Surcharge(parse_month(data.get("month")), parse_decimal(data.get("value"), "value"), label)
