"""Words of the fleet pages, pure: status labels, 'seen 3 min ago', durations and why something is offline."""
from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n

i18n.add_messages({
    "fleet.status.online": {"pt-BR": "online", "en": "online"},
    "fleet.status.offline": {"pt-BR": "offline", "en": "offline"},
    "fleet.status.never": {"pt-BR": "nunca visto", "en": "never seen"},
    "fleet.status.inactive": {"pt-BR": "desativado", "en": "deactivated"},
    "fleet.status.silent": {"pt-BR": "silencioso", "en": "silent"},
    "fleet.status.new": {"pt-BR": "novo", "en": "new"},
    "fleet.age.now": {"pt-BR": "agora mesmo", "en": "just now"},
    "fleet.age.seconds": {"pt-BR": "há {n} s", "en": "{n} s ago"},
    "fleet.age.minutes": {"pt-BR": "há {n} min", "en": "{n} min ago"},
    "fleet.age.hours": {"pt-BR": "há {n} h", "en": "{n} h ago"},
    "fleet.age.days": {"pt-BR": "há {n} dias", "en": "{n} days ago"},
    "fleet.age.day": {"pt-BR": "há 1 dia", "en": "1 day ago"},
    "fleet.seen.ago": {"pt-BR": "visto {age}", "en": "seen {age}"},
    "fleet.seen.never": {"pt-BR": "nunca visto", "en": "never seen"},
    "fleet.why.will": {"pt-BR": "desconectado (will) às {time}", "en": "disconnected (will) at {time}"},
    "fleet.why.silent": {"pt-BR": "silencioso há {duration} (limite {timeout})", "en": "silent for {duration} (timeout {timeout})"},
    "fleet.event.gateway_offline.will": {"pt-BR": "Gateway desconectado (will) às {time}",
                                   "en": "Gateway disconnected (will) at {time}"},
    "fleet.event.gateway_offline.silent": {
        "pt-BR": "Gateway silencioso: nenhuma mensagem desde {since} (limite de inatividade {timeout})",
        "en": "Gateway silent: no message since {since} (inactivity timeout {timeout})"},
    "fleet.event.gateway_online.message": {"pt-BR": "Gateway voltou a enviar mensagens às {time}",
                                     "en": "Gateway sending messages again at {time}"},
    "fleet.event.gateway_online.birth": {"pt-BR": "Gateway conectado (mensagem de nascimento) às {time}",
                                   "en": "Gateway connected (birth message) at {time}"},
    "fleet.event.gateway_flapping": {
        "pt-BR": "Gateway instável: {count} mudanças de estado entre {start} e {end}; agora {state}",
        "en": "Gateway flapping: {count} state changes between {start} and {end}; now {state}"},
    "fleet.event.device_silent": {
        "pt-BR": "Medidor {device} silencioso por 3× seu intervalo usual ({interval}) com o gateway online;"
                 " última leitura às {since}",
        "en": "Meter {device} silent for 3× its usual interval ({interval}) while its gateway is online;"
              " last reading at {since}"},
    "fleet.event.device_back": {"pt-BR": "Medidor {device} voltou a enviar leituras às {time}",
                          "en": "Meter {device} reporting again at {time}"},
    "fleet.event.rejected_burst": {"pt-BR": "{count} mensagens rejeitadas de {gateway} entre {start} e {end} ({detail})",
                             "en": "{count} rejected messages from {gateway} between {start} and {end} ({detail})"},
    "fleet.kind.gateway_offline": {"pt-BR": "Gateway offline", "en": "Gateway offline"},
    "fleet.kind.gateway_online": {"pt-BR": "Gateway online", "en": "Gateway online"},
    "fleet.kind.gateway_flapping": {"pt-BR": "Gateway instável", "en": "Gateway flapping"},
    "fleet.kind.device_silent": {"pt-BR": "Medidor silencioso", "en": "Meter silent"},
    "fleet.kind.device_back": {"pt-BR": "Medidor de volta", "en": "Meter back"},
    "fleet.kind.rejected_burst": {"pt-BR": "Rajada de rejeições", "en": "Rejection burst"},
})


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
                  detail=event.get("detail") or "")
