"""Day types of local dates for time-of-use windows: working day, Saturday, Sunday or holiday."""
from __future__ import annotations

import functools
from datetime import date

import holidays

from tds_dash.tariffs.model import DAY_TYPES

COUNTRY = "BR"
SUBDIVISIONS = tuple(s for s in holidays.country_holidays(COUNTRY).subdivisions if len(s) == 2)


@functools.lru_cache(maxsize=256)
def holiday_dates(year: int, subdivision: str | None = None) -> frozenset[date]:
    """National holidays of Brazil in `year`, plus those of the state `subdivision` when given.

    Cached per (year, state): immutable, so sharing it across requests and threads is safe.
    """
    calendar = holidays.country_holidays(COUNTRY, subdiv=subdivision, years=year)
    return frozenset(calendar.keys())


def day_type(day: date, subdivision: str | None = None) -> str:
    """'sunday_holiday' for Sundays and holidays (even on a Saturday), 'saturday', else 'working'."""
    if day.weekday() == 6 or day in holiday_dates(day.year, subdivision):
        return DAY_TYPES[2]
    if day.weekday() == 5:
        return DAY_TYPES[1]
    return DAY_TYPES[0]
