"""Words of the fleet pages, pure: status labels, 'seen 3 min ago', durations and why something is offline."""
from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n


def relative_age(seconds: float | None, language: str) -> str:
    """'há 3 min' / '3 min ago': whole units, rounded down, like the clocks people read."""
    if seconds is None or math.isnan(seconds):
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 5:
        return i18n.t("fleet.age.now", language)
    for limit, unit, size in ((60, "seconds", 1), (3600, "minutes", 60), (86400, "hours", 3600)):
        if seconds < limit:
            return i18n.t(f"fleet.age.{unit}", language, n=seconds // size)
    days = seconds // 86400
    return i18n.t("fleet.age.day", language) if days == 1 else i18n.t("fleet.age.days", language, n=days)


def format_duration(seconds: float | None, language: str) -> str:
    """A span in its two largest units: '45 s', '6 min 05 s', '2 h 05 min', '3 d 4 h'."""
    if seconds is None or math.isnan(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def seen_text(last_seen: datetime | None, now: datetime, zone: ZoneInfo, language: str) -> str:
    """'visto há 3 min (27/11/2026 14:05:03)', the instant in the deployment's zone."""
    if last_seen is None:
        return i18n.t("fleet.seen.never", language)
    age = relative_age((now - last_seen).total_seconds(), language)
    return f"{i18n.t('fleet.seen.ago', language, age=age)} ({i18n.format_datetime(last_seen, zone, language)})"


def offline_reason(gateway: dict, now: datetime, zone: ZoneInfo, language: str) -> str:
    """Why an offline gateway is offline now: its will, or how long it has been silent."""
    if gateway.get("status_reason") == "will":
        return i18n.t("fleet.why.will", language, time=i18n.format_datetime(gateway["status_since"], zone, language))
    last = gateway.get("last_seen_at")
    silent = (now - last).total_seconds() if last else None
    return i18n.t("fleet.why.silent", language, duration=format_duration(silent, language),
                  timeout=format_duration(gateway.get("inactivity_timeout_s"), language))


def explain_event(event: dict, zone: ZoneInfo, language: str) -> str:
    """One sentence saying what happened and why, from a fleet_events row (as read by queries/events)."""
    when = lambda value: i18n.format_datetime(value, zone, language)  # noqa: E731
    kind, reason = event["kind"], event.get("reason")
    if kind in ("gateway_offline", "gateway_online"):
        variant = {"gateway_offline": "will" if reason == "will" else "silent",
                   "gateway_online": "birth" if reason == "birth" else "message"}[kind]
        return i18n.t(f"fleet.event.{kind}.{variant}", language, time=when(event["at"]),
                      since=when(event.get("evidence_at")), timeout=format_duration(event.get("timeout_s"), language))
    if kind == "gateway_flapping":
        state = i18n.t(f"fleet.status.{event.get('state') or 'offline'}", language)
        return i18n.t("fleet.event.gateway_flapping", language, count=event["count"], start=when(event["at"]),
                      end=when(event["last_at"]), state=state)
    if kind == "device_silent":
        return i18n.t("fleet.event.device_silent", language, device=event.get("device") or "?",
                      interval=format_duration(event.get("interval_s"), language),
                      since=when(event.get("evidence_at")))
    if kind == "device_back":
        return i18n.t("fleet.event.device_back", language, device=event.get("device") or "?", time=when(event["at"]))
    return i18n.t("fleet.event.rejected_burst", language, count=i18n.format_number(event["count"], language, 0),
                  gateway=event.get("gateway") or "?", start=when(event["at"]), end=when(event["last_at"]),
                  detail=i18n.event_detail(event.get("detail"), language))
