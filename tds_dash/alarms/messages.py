"""Notification texts in the recipient's language, times in TDS_TIMEZONE, with a link to the alarm."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n

i18n.add_messages({
    "alarms.severity.critical": {"pt-BR": "Crítico", "en": "Critical"},
    "alarms.severity.major": {"pt-BR": "Maior", "en": "Major"},
    "alarms.severity.minor": {"pt-BR": "Menor", "en": "Minor"},
    "alarms.severity.warning": {"pt-BR": "Aviso", "en": "Warning"},
    "alarms.kind.gateway_offline": {"pt-BR": "Gateway offline", "en": "Gateway offline"},
    "alarms.kind.meter_silent": {"pt-BR": "Medidor silencioso", "en": "Meter silent"},
    "alarms.kind.meter_stuck": {"pt-BR": "Medidor travado", "en": "Meter stuck"},
    "alarms.kind.consumption_above": {"pt-BR": "Consumo acima do limite", "en": "Consumption above threshold"},
    "alarms.kind.night_flow": {"pt-BR": "Consumo noturno (vazamento?)", "en": "Night flow (leak?)"},
    "alarms.kind.spike": {"pt-BR": "Pico de consumo", "en": "Consumption spike"},
    "alarms.kind.ingest_stalled": {"pt-BR": "Ingestão parada", "en": "Ingest stalled"},
    "alarms.kind.test": {"pt-BR": "Teste", "en": "Test"},
    "alarms.event.raised": {"pt-BR": "disparado", "en": "raised"},
    "alarms.event.cleared": {"pt-BR": "normalizado", "en": "cleared"},
    "alarms.event.acknowledged": {"pt-BR": "reconhecido", "en": "acknowledged"},
    "alarms.event.renotify": {"pt-BR": "ainda ativo e não reconhecido", "en": "still active and unacknowledged"},
    "alarms.event.test": {"pt-BR": "mensagem de teste", "en": "test message"},
    "alarms.mail.subject": {"pt-BR": "[TDS] {severity}: {kind} — {subject} ({event})",
                            "en": "[TDS] {severity}: {kind} — {subject} ({event})"},
    "alarms.mail.body": {
        "pt-BR": "Alarme {event}: {kind} ({rule})\nConta: {account}\nAssunto: {subject}\nSeveridade: {severity}\n"
                 "Desde: {started}\nDisparado em: {raised}\n{cleared}Ocorrências: {count}\nDetalhe: {detail}\n"
                 "{comment}\nAbrir: {link}\n",
        "en": "Alarm {event}: {kind} ({rule})\nAccount: {account}\nSubject: {subject}\nSeverity: {severity}\n"
              "Since: {started}\nRaised at: {raised}\n{cleared}Occurrences: {count}\nDetail: {detail}\n"
              "{comment}\nOpen: {link}\n"},
    "alarms.mail.cleared": {"pt-BR": "Normalizado em: {when}\n", "en": "Cleared at: {when}\n"},
    "alarms.mail.comment": {"pt-BR": "Comentário de {who}: {text}\n", "en": "Comment by {who}: {text}\n"},
})


def _when(value: str | None, zone: ZoneInfo, language: str) -> str:
    return i18n.format_datetime(datetime.fromisoformat(value), zone, language) if value else "—"


def subject_label(payload: dict) -> str:
    """What the alarm is about, as people name it: the device code, the gateway serial, the account."""
    return payload.get("device") or payload.get("gateway") or payload.get("account") or "TDS"


def alarm_link(public_url: str, alarm_id: int | None) -> str:
    """The page showing this alarm (or the alarms page for a test message)."""
    return f"{public_url}/alarms" + (f"?alarm={alarm_id}" if alarm_id else "")


def render_email(payload: dict, language: str, zone: ZoneInfo, public_url: str) -> tuple[str, str]:
    """(subject, body) of one notification."""
    words = {"severity": i18n.t(f"alarms.severity.{payload['severity']}", language),
             "kind": i18n.t(f"alarms.kind.{payload['kind']}", language),
             "event": i18n.t(f"alarms.event.{payload['event']}", language), "subject": subject_label(payload)}
    comment_by = payload.get("acked_by") if payload["event"] == "acknowledged" else payload.get("cleared_by")
    comment_text = payload.get("ack_comment") if payload["event"] == "acknowledged" else payload.get("clear_comment")
    body = i18n.t("alarms.mail.body", language, **words, rule=payload.get("rule") or "",
                  account=payload.get("account") or "—", started=_when(payload.get("started_at"), zone, language),
                  raised=_when(payload.get("raised_at"), zone, language),
                  cleared=(i18n.t("alarms.mail.cleared", language, when=_when(payload["cleared_at"], zone, language))
                           if payload.get("cleared_at") else ""),
                  count=payload.get("count") or 1, detail=payload.get("detail") or "",
                  comment=(i18n.t("alarms.mail.comment", language, who=comment_by, text=comment_text)
                           if comment_text else ""),
                  link=alarm_link(public_url, payload.get("id")))
    return i18n.t("alarms.mail.subject", language, **words), body


def render_webhook(payload: dict, language: str, zone: ZoneInfo, public_url: str) -> bytes:
    """The JSON body: the alarm as stored (UTC), plus the e-mail's text and the link, for chat relays."""
    title, text = render_email(payload, language, zone, public_url)
    document = {"event": payload["event"], "alarm": payload, "title": title, "text": text,
                "link": alarm_link(public_url, payload.get("id")), "timezone": zone.key}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
