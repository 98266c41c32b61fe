"""The events page's table and period choices: what happened, when (local time) and why, in one sentence."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n
from tds_dash.fleet import text as fleet_text
from tds_dash.queries.events import EVENT_KINDS

KIND_COLORS = {"gateway_offline": "danger", "gateway_online": "success", "gateway_flapping": "warning",
               "device_silent": "warning", "device_back": "success", "rejected_burst": "secondary"}
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def period_options(language: str) -> list[dict]:
    return [{"label": i18n.t(f"events.period.{key}", language), "value": key} for key in PERIODS]


def kind_options(language: str) -> list[dict]:
    return [{"label": i18n.t(f"fleet.kind.{kind}", language), "value": kind} for kind in EVENT_KINDS]


def period_range(period: str | None, start_date: str | None, end_date: str | None, now: datetime,
                 zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC: whole local days when both dates are picked, else the preset ending now."""
    if start_date and end_date:
        try:
            days = sorted(datetime.fromisoformat(day[:10]).replace(tzinfo=zone) for day in (start_date, end_date))
        except ValueError:
            return now - PERIODS["24h"], now + timedelta(seconds=1)
        return days[0], days[1] + timedelta(days=1)
    return now - PERIODS.get(period or "24h", PERIODS["24h"]), now + timedelta(seconds=1)


def rows(events: list[dict], zone: ZoneInfo, language: str) -> list[html.Tr]:
    out = []
    for event in events:
        gateway = event.get("gateway") or "—"
        out.append(html.Tr([
            html.Td(i18n.format_datetime(event["at"], zone, language), className="text-nowrap small"),
            html.Td(dbc.Badge(i18n.t(f"fleet.kind.{event['kind']}", language), color=KIND_COLORS[event["kind"]])),
            html.Td(dcc.Link(gateway, href=f"/gateways/{gateway}") if event.get("gateway_id") else gateway),
            html.Td(fleet_text.explain_event(event, zone, language)),
            html.Td(i18n.format_number(event["count"], language, 0)),
        ], className=f"event-{event['kind']}"))
    return out


def table(events: list[dict], zone: ZoneInfo, language: str):
    if not events:
        return html.P(i18n.t("events.empty", language), className="text-muted")
    header = html.Thead(html.Tr([html.Th(i18n.t(f"events.col.{c}", language))
                                 for c in ("when", "kind", "gateway", "what", "count")]))
    return dbc.Table([header, html.Tbody(rows(events, zone, language))], id="events-list", size="sm", hover=True,
                     responsive=True)
