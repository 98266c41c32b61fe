"""Date ranges in the deployment's zone: presets, granularity, previous period, buckets. Pure, no database.

A range is whole local days [first_day, last_day] (both inclusive), i.e. the instants
[local midnight of first_day, local midnight of the day after last_day). Buckets follow the rollups:
PostgreSQL's date_trunc(unit, ts, zone). A local midnight that does not exist (a DST change at 00:00,
as in America/Sao_Paulo until 2019) is read with the offset before the change, like PostgreSQL does.
"""
from __future__ import annotations

import calendar
import dataclasses
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

GRANULARITIES = ("hour", "day", "month")
# The explorer also offers weeks (Monday to Sunday, date_trunc('week'), summed from daily rollups) for
# ranges of a few months, where days are too many bars and months too few. The API keeps GRANULARITIES.
EXPLORER_GRANULARITIES = ("hour", "day", "week", "month")
PRESETS = ("today", "last_7_days", "this_month", "last_month", "last_12_months", "custom")

# Longest range (in days) each granularity may cover: the explorer falls back to a coarser one, the
# API answers 400. Hours: a month of hourly bars is already 744 of them.
MAX_DAYS = {"hour": 31, "day": 1096, "week": 1096, "month": 3660}


class PeriodError(ValueError):
    """A range the app cannot show or serve (the message is safe to show to the user)."""


@dataclasses.dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a local day starts; a non-existent midnight takes the offset in force before it."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def add_months(day: date, months: int) -> date:
    """Same day of month `months` later (negative: earlier), clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """(first_day, last_day) of a preset, both inclusive, relative to the local `today`."""
    if preset == "today":
        return today, today
    if preset == "last_7_days":
        return today - timedelta(days=6), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        first = add_months(today.replace(day=1), -1)
        return first, today.replace(day=1) - timedelta(days=1)
    if preset == "last_12_months":
        return add_months(today.replace(day=1), -11), today
    raise PeriodError(f"unknown preset {preset!r}")


def auto_granularity(days: int) -> str:
    """Hours up to two days, days up to about three months, months beyond."""
    if days <= 2:
        return "hour"
    if days <= 93:
        return "day"
    return "month"


def resolve_granularity(choice: str | None, days: int) -> tuple[str, bool]:
    """(granularity, coarsened): an override too fine for the range moves to the next coarser one."""
    granularity = choice if choice in EXPLORER_GRANULARITIES else auto_granularity(days)
    coarsened = False
    while days > MAX_DAYS[granularity]:
        if granularity == "month":
            raise PeriodError(f"range longer than {MAX_DAYS['month']} days")
        granularity = EXPLORER_GRANULARITIES[EXPLORER_GRANULARITIES.index(granularity) + 1]
        coarsened = True
    return granularity, coarsened


def previous_period(period: Period) -> Period:
    """The period just before, of equal length.

    A range starting on the 1st of a month moves back by whole months (this month → last month to
    the same day, last month → the month before), else by its length in days.
    """
    first, last = period.first_day, period.last_day
    if first.day != 1:
        return Period(first - timedelta(days=period.days), first - timedelta(days=1), period.zone)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    previous_first = add_months(first, -months)
    if _is_month_end(last):
        shifted = add_months(last, -months)
        previous_last = shifted.replace(day=calendar.monthrange(shifted.year, shifted.month)[1])
    else:
        previous_last = add_months(last, -months)
    return Period(previous_first, min(previous_last, first - timedelta(days=1)), period.zone)


def compared_spans(period: Period, now: datetime) -> tuple[Period, datetime, datetime]:
    """(previous period, cut in the current one, cut in the previous one): the one meaning of
    "vs. previous period", used by the overview's month card and the explorer's comparison.

    A period still running is compared up to the last whole local hour before now (the hour in
    progress is left out on both sides: a partial hour against a whole one would bias the change
    down), and the previous one over the same elapsed time from its start. A finished period is
    compared whole with the whole previous one (February against all of January).
    """
    previous = previous_period(period)
    if period.end <= now:
        return previous, period.end, previous.end
    cut = max(floor_hour(now, period.zone), period.start)
    return previous, cut, min(previous.start + (cut - period.start), previous.end)


def month_to_date(now: datetime, zone: ZoneInfo) -> Period:
    """This local month from its 1st to today (the overview's month and the explorer's 'this_month')."""
    today = local_today(now, zone)
    return Period(today.replace(day=1), today, zone)


def bucket_starts(period: Period, granularity: str) -> list[datetime]:
    """Every bucket start (UTC) of the period, as date_trunc(granularity, ts, zone) cuts them."""
    if granularity == "hour":
        # Local hours map one to one onto UTC hours for zones with whole- and half-hour offsets.
        count = int((period.end - period.start).total_seconds() // 3600)
        return [period.start + timedelta(hours=i) for i in range(count)]
    if granularity == "day":
        return [local_midnight(period.first_day + timedelta(days=i), period.zone) for i in range(period.days)]
    if granularity == "week":  # the Monday on or before first_day, then every Monday up to last_day
        monday = period.first_day - timedelta(days=period.first_day.weekday())
        return [local_midnight(monday + timedelta(weeks=i), period.zone)
                for i in range((period.last_day - monday).days // 7 + 1)]
    out, day = [], period.first_day.replace(day=1)
    while day <= period.last_day:
        out.append(local_midnight(day, period.zone))
        day = add_months(day, 1)
    return out


def bucket_end(start: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the bucket starting at `start` ends: the next local hour, midnight or month start."""
    if granularity == "hour":
        return start + timedelta(hours=1)
    day = start.astimezone(zone).date()
    if granularity == "month":
        return local_midnight(add_months(day.replace(day=1), 1), zone)
    return local_midnight(day + timedelta(days=7 if granularity == "week" else 1), zone)


def is_partial(start: datetime, granularity: str, zone: ZoneInfo, now: datetime) -> bool:
    """True for the bucket still in progress at `now` (its total will still grow)."""
    return start <= now < bucket_end(start, granularity, zone)


def floor_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def cover(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[str, datetime, datetime]]:
    """Split [start, end) (hour-aligned) into the fewest rollup ranges: whole months, whole days, hours.

    Lets a total over an arbitrary span read mostly monthly and daily rows instead of hourly ones.
    """
    if end <= start:
        return []
    first_day = start.astimezone(zone).date()
    day_lo = first_day if local_midnight(first_day, zone) == start else first_day + timedelta(days=1)
    day_hi = end.astimezone(zone).date()  # the midnight at or before end
    if day_lo >= day_hi or local_midnight(day_lo, zone) >= end:
        return [("hour", start, end)]
    month_lo = day_lo if day_lo.day == 1 else add_months(day_lo.replace(day=1), 1)
    month_hi = day_hi.replace(day=1)
    parts: list[tuple[str, datetime, datetime]] = []
    if month_lo < month_hi:
        parts += [("day", local_midnight(day_lo, zone), local_midnight(month_lo, zone)),
                  ("month", local_midnight(month_lo, zone), local_midnight(month_hi, zone)),
                  ("day", local_midnight(month_hi, zone), local_midnight(day_hi, zone))]
    else:
        parts.append(("day", local_midnight(day_lo, zone), local_midnight(day_hi, zone)))
    parts = [("hour", start, local_midnight(day_lo, zone))] + parts + [("hour", local_midnight(day_hi, zone), end)]
    return [(level, lo, hi) for level, lo, hi in parts if lo < hi]


def parse_day(text: str | None) -> date | None:
    """YYYY-MM-DD from a URL or a date picker (which may append a time); None when absent or invalid."""
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def parse_instant(text: str, zone: ZoneInfo) -> datetime:
    """RFC 3339 with an offset ('2026-11-27T14:05:00-03:00', 'Z' allowed) or YYYY-MM-DD (local midnight)."""
    text = text.strip()
    if len(text) == 10:
        try:
            return local_midnight(date.fromisoformat(text), zone)
        except ValueError:
            raise PeriodError(f"{text!r} is not a valid date (YYYY-MM-DD)") from None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise PeriodError(f"{text!r} is not an RFC 3339 timestamp or a YYYY-MM-DD date") from None
    if moment.tzinfo is None:
        raise PeriodError(f"{text!r} has no UTC offset (add Z or ±hh:mm, or give a YYYY-MM-DD date)")
    return moment.astimezone(timezone.utc)


def month_bounds(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """(first local month start >= start, last local month start <= end): the whole months inside
    [start, end), read from monthly rollups; the ragged edges are summed from daily ones. Both equal
    `end` when no whole month fits."""
    local = start.astimezone(zone).date().replace(day=1)
    low = local_midnight(local, zone)
    if low < start:
        low = local_midnight(add_months(local, 1), zone)
    high = local_midnight(end.astimezone(zone).date().replace(day=1), zone)
    if high > end:
        high = local_midnight(add_months(end.astimezone(zone).date().replace(day=1), -1), zone)
    return (low, high) if low < high else (end, end)


def finest_granularity(days: int) -> str:
    """The finest rollup a range may be drawn from (the device page's min/avg/max band)."""
    return next(g for g in GRANULARITIES if days <= MAX_DAYS[g]) if days <= MAX_DAYS["month"] else "month"
