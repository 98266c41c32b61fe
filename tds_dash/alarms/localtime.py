"""Local-time arithmetic of the consumption rules (pure): night windows and 'the same local hour' across DST.

Hourly rollups are keyed by the UTC instant a local hour starts, so every rule here turns local wall-clock
hours into those instants; a wall-clock hour that does not exist (spring forward) has no bucket, and a
repeated one (fall back) has two.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)


def local_instant(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant the local clock reads `hour`:00 on `day`; in a gap, the moment the clock jumped."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(timezone.utc)


def exists_locally(day: date, hour: int, zone: ZoneInfo) -> bool:
    """False for the wall-clock hour skipped when clocks spring forward."""
    instant = local_instant(day, hour, zone)
    local = instant.astimezone(zone)
    return local.date() == day and local.hour == hour


def night_hours(night: date, start_hour: int, end_hour: int, zone: ZoneInfo) -> list[datetime]:
    """Hour buckets of the window [start, end) of the night starting on `night` (end next day if earlier)."""
    end_day = night if end_hour > start_hour else night + timedelta(days=1)
    start, end = local_instant(night, start_hour, zone), local_instant(end_day, end_hour, zone)
    hours, at = [], start
    while at < end:
        hours.append(at)
        at += HOUR
    return hours


def last_completed_night(now: datetime, start_hour: int, end_hour: int, zone: ZoneInfo) -> date:
    """The local date on which the latest night window that has ended by `now` started."""
    today = now.astimezone(zone).date()
    for back in range(0, 3):
        night = today - timedelta(days=back)
        hours = night_hours(night, start_hour, end_hour, zone)
        if hours and hours[-1] + HOUR <= now:
            return night
    return today - timedelta(days=3)


def same_hour_before(bucket: datetime, days: int, zone: ZoneInfo) -> list[datetime]:
    """The buckets of the same local hour on each of the `days` previous local days (skipped hours left out)."""
    local = bucket.astimezone(zone)
    out = []
    for back in range(1, days + 1):
        day = local.date() - timedelta(days=back)
        if exists_locally(day, local.hour, zone):
            out.append(local_instant(day, local.hour, zone))
    return out


def last_completed_hour(now: datetime, zone: ZoneInfo) -> datetime:
    """The bucket of the latest local hour that has ended by `now`."""
    local = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(timezone.utc) - HOUR


def period_start(now: datetime, period: str, zone: ZoneInfo) -> datetime:
    """Start (UTC) of the local hour, day or month containing `now`: the key of its rollup bucket."""
    local = now.astimezone(zone)
    if period == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    day = local.date() if period == "day" else local.date().replace(day=1)
    return local_instant(day, 0, zone)


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
