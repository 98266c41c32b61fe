"""Notification texts in the recipient's language, times in TDS_TIMEZONE, with a link to the alarm."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n


def _when(value: str | None, zone: ZoneInfo, language: str) -> str:
    return i18n.format_datetime(datetime.fromisoformat(value), zone, language) if value else "—"


def subject_label(payload: dict) -> str:
    """What the alarm is about, as people name it: the device code, the gateway serial, the account."""
    return payload.get("device") or payload.get("gateway") or payload.get("account") or "TDS"


def alarm_link(public_url: str, alarm_id: int | None) -> str:
    """The page showing this alarm (or the alarms page for a test message)."""
    return f"{public_url}/alarms" + (f"?alarm={alarm_id}" if alarm_id else "")


def statement_link(public_url: str, statement_id: int) -> str:
    """The Relatórios page showing this statement (sign-in first): a link, never the file attached."""
    return f"{public_url}/reports?statement={statement_id}"


def render_statement_email(payload: dict, language: str) -> tuple[str, str]:
    """(subject, body) announcing a new monthly statement (tds_dash/statements), with its link."""
    month = f"{payload['period'][5:7]}/{payload['period'][:4]}"
    words = {"account": payload.get("account") or "", "month": month,
             "link": statement_link(payload["public_url"], payload["statement_id"])}
    return i18n.t("statement.mail.subject", language, **words), i18n.t("statement.mail.body", language, **words)


def render_email(payload: dict, language: str, zone: ZoneInfo, public_url: str) -> tuple[str, str]:
    """(subject, body) of one notification."""
    if payload.get("event") == "statement":
        return render_statement_email({**payload, "public_url": public_url}, language)
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


def _digest_line(item: dict, zone: ZoneInfo, language: str, public_url: str) -> str:
    return i18n.t("alarms.digest.line", language, when=_when(item.get("at"), zone, language),
                  severity=i18n.t(f"alarms.severity.{item['severity']}", language),
                  kind=i18n.t(f"alarms.kind.{item['kind']}", language), subject=subject_label(item),
                  event=i18n.t(f"alarms.event.{item['event']}", language), account=item.get("account") or "—",
                  detail=item.get("detail") or "", link=alarm_link(public_url, item.get("id")))


def render_digest(payload: dict, language: str, zone: ZoneInfo, public_url: str) -> tuple[str, str]:
    """(subject, body) of one hourly digest: every change it holds, oldest first, each with its link."""
    items = payload["items"]
    words = {"count": len(items), "start": _when(payload["period_start"], zone, language),
             "end": _when(payload["period_end"], zone, language), "zone": zone.key}
    lines = "".join(_digest_line(item, zone, language, public_url) for item in items)
    body = i18n.t("alarms.digest.body", language, **words, lines=lines, link=alarm_link(public_url, None))
    return i18n.t("alarms.digest.subject", language, **words), body
