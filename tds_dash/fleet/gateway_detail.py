"""The gateway page: identity and status, uptime, devices, status history with durations, rejected messages."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import figures, i18n
from tds_dash.fleet import components as fleet_components
from tds_dash.fleet import device_list
from tds_dash.fleet import text as fleet_text
from tds_dash.queries.events import UPTIME_WINDOWS


def not_found(language: str) -> html.Div:
    return html.Div([dbc.Alert(i18n.t("gateway.not_found", language), color="warning", id="gateway-not-found"),
                     dcc.Link(i18n.t("gateway.back", language), href="/gateways")])


def header(gateway: dict, now: datetime, zone: ZoneInfo, language: str) -> html.Div:
    status = gateway["status"]
    why = fleet_text.offline_reason(gateway, now, zone, language) if status == "offline" else ""
    return html.Div([
        fleet_components.breadcrumbs(gateway["account"], gateway["account_id"], gateway["serial"]),
        html.H3([fleet_components.gateway_title(gateway["serial"], gateway["name"]) + " ",
                 fleet_components.status_badge(status, language, "gateway-status")]),
        html.Div(why, id="gateway-why", className="text-danger" if why else None),
        html.Div(i18n.t("gateway.account", language, account=gateway["account"], location=gateway["location"] or "—",
                        timeout=fleet_text.format_duration(gateway["inactivity_timeout_s"], language)),
                 className="text-muted small"),
        html.Div(i18n.t("gateway.last_message", language,
                        seen=fleet_text.seen_text(gateway["last_seen_at"], now, zone, language)), id="gateway-seen"),
        html.Div(i18n.t("gateway.seq_gaps", language, count=i18n.format_number(gateway["seq_gaps"], language, 0)),
                 className="small text-muted"),
    ], className="mb-3")


def uptime_note(window: str, since: datetime | None, now: datetime, zone: ZoneInfo, language: str) -> str:
    """'since 01/12 16:34' when monitoring began inside the window (100 % over 30 d of one day says little)."""
    if since is not None and since > now - UPTIME_WINDOWS[window]:
        return i18n.t("gateway.uptime_since", language, since=i18n.format_day_time(since, zone, language))
    return i18n.t("gateway.uptime_note", language)


def uptime_cards(uptime: dict[str, float | None], language: str, since: datetime | None, now: datetime,
                 zone: ZoneInfo) -> dbc.Row:
    cards = [dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(i18n.t("gateway.uptime", language, window=window), className="text-muted small"),
        html.Div(i18n.format_number(value * 100, language, 1) + "%" if value is not None else "—",
                 className="fs-4 fw-semibold", id=f"gateway-uptime-{window}"),
        html.Div(uptime_note(window, since, now, zone, language), className="small text-muted",
                 id=f"gateway-uptime-{window}-note"),
    ]), className="h-100 shadow-sm"), md=2, className="mb-3") for window, value in uptime.items()]
    return dbc.Row(cards)


def _card(title: str, body, card_id: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3 shadow-sm", id=card_id)


def _table(headers: list[str], rows: list, language: str) -> dbc.Table | html.P:
    if not rows:
        return html.P(i18n.t("gateway.none", language), className="text-muted mb-0")
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(rows)], size="sm",
                     responsive=True, className="mb-0")


def history_rows(history: list[dict], now: datetime, zone: ZoneInfo, language: str) -> list[html.Tr]:
    out = []
    for item in history:
        end = item["ended_at"]
        out.append(html.Tr([
            html.Td(fleet_components.status_badge(item["status"], language)),
            html.Td(i18n.t(f"gateway.reason.{item['reason']}", language)),
            html.Td(i18n.format_datetime(item["started_at"], zone, language)),
            html.Td(i18n.format_datetime(end, zone, language) if end else i18n.t("gateway.now", language)),
            html.Td(fleet_text.format_duration(((end or now) - item["started_at"]).total_seconds(), language)),
        ]))
    return out


def body(data: dict, now: datetime, zone: ZoneInfo, language: str) -> list:
    gateway, t = data["gateway"], (lambda key: i18n.t(key, language))
    devices = [row for row in device_list.rows(data["devices"], now, zone, language, can_manage=False)]
    rejected = [html.Tr([html.Td(i18n.format_datetime(r["received_at"], zone, language)), html.Td(html.Code(r["reason"])),
                         html.Td(r["detail"][:200], className="small"),
                         html.Td(f"{r['readings_rejected']} / {r['readings_accepted']}")]) for r in data["rejections"]]
    device_headers = [label for key, label in device_list.columns(language)][:-1]
    return [
        header(gateway, now, zone, language),
        uptime_cards(data["uptime"], language, data.get("monitored_since"), now, zone),
        _card(t("gateway.devices"), [_table(device_headers, devices, language),
                                     dcc.Link(t("gateway.manage_devices"), href=f"/devices?gateway={gateway['id']}")],
              "gateway-devices"),
        _card(t("gateway.history"), _table([t(f"gateway.col.{c}") for c in ("status", "reason", "from", "to",
                                                                              "duration")],
                                            history_rows(data["history"], now, zone, language), language),
              "gateway-history"),
        _card(t("gateway.rejections"), _table([t(f"gateway.col.{c}") for c in ("time", "reason", "detail", "readings")],
                                               rejected, language), "gateway-rejections"),
    ]


def offline_records(gateways: list[dict]) -> list[dict]:
    """JSON-safe rows of queries.events.offline_gateways, for the overview's store."""
    return [{"serial": g["serial"], "name": g["name"], "reason": g["status_reason"],
             "since": g["status_since"].isoformat() if g["status_since"] else None} for g in gateways]


def offline_alert(records: list[dict], fetched_at: str, language: str):
    """The overview's list of offline gateways, each with how long and why (will or silence)."""
    if not records:
        return None
    now = datetime.fromisoformat(fetched_at)
    items = []
    for record in records:
        since = datetime.fromisoformat(record["since"]) if record["since"] else None
        age = fleet_text.relative_age((now - since).total_seconds(), language) if since else "—"
        reason = i18n.t(f"gateway.reason.{record['reason']}", language) if record["reason"] else ""
        items.append(html.Li([dcc.Link(record["serial"], href=f"/gateways/{record['serial']}"),
                              f" · {record['name']} — {i18n.t('gateway.offline_since', language, age=age)} ({reason})"]))
    return dbc.Col(dbc.Alert([html.Div(i18n.t("gateway.offline_title", language), className="fw-semibold"),
                              html.Ul(items, className="mb-0")], color="danger", id="overview-offline"),
                   md=12, className="mb-3")


def activity_card(activity, zone: ZoneInfo, language: str) -> dbc.Card:
    """Its devices' daily consumption and its messages per hour (queries.gateway_activity), side by side."""
    config = i18n.graph_config(language)
    metric = i18n.t(f"metric.{activity.metric}", language) if activity.metric else "—"
    consumption = figures.consumption_bars(activity.daily, zone, language, activity.unit, "day")
    return _card(i18n.t("gateway.activity", language), dbc.Row([
        dbc.Col([html.Div(i18n.t("gateway.activity_consumption", language, metric=metric), className="small fw-semibold"),
                 dcc.Graph(figure=consumption, config=config, id="gateway-consumption-chart")], lg=6),
        dbc.Col([html.Div(i18n.t("gateway.activity_messages", language), className="small fw-semibold"),
                 dcc.Graph(figure=figures.message_rate(activity.messages, zone, language), config=config,
                           id="gateway-messages-chart")], lg=6),
    ]), "gateway-activity")
