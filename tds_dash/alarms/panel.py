"""Alarms on other pages: one gateway's or device's (active and recent, with the Alarmes page's ack and clear),
and the overview's active counts by severity, each a link to the Alarmes page filtered on it."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from tds_dash import i18n
from tds_dash.alarms import service, view
from tds_dash.alarms.model import STATES
from tds_dash.alarms.rules import SEVERITIES
from tds_dash.context import current_language, has_role

log = logging.getLogger(__name__)
RECENT = timedelta(days=7)  # cleared alarms older than this are on the Alarmes page only
LIMIT = 20


@dataclasses.dataclass(frozen=True)
class PanelIds:
    """Component ids of one page's alarm card (page-prefixed, so two pages' callbacks never meet)."""

    prefix: str

    def __getattr__(self, name: str) -> str:
        if name in ("card", "table", "comment", "alert", "refresh", "ack", "clear"):
            return f"{self.prefix}-alarms-{name}"
        raise AttributeError(name)


def card(ids: PanelIds, language: str, all_href: str) -> dbc.Card:
    """The card's frame; its table is drawn by a callback (on load, on the page's tick, after an action)."""
    manager = has_role(*service.MANAGER_ROLES)
    return dbc.Card([
        dbc.CardHeader([i18n.t("alarms.panel.title", language),
                        dcc.Link(i18n.t("alarms.panel.all", language), href=all_href, className="ms-3 small")]),
        dbc.CardBody([
            dbc.Input(id=ids.comment, placeholder=i18n.t("alarms.comment", language), maxLength=1000, size="sm",
                      className="mb-2" if manager else "d-none"),
            html.Div(id=ids.alert), html.Div(id=ids.table), dcc.Store(id=ids.refresh, data=0),
        ]),
    ], className="mb-3 shadow-sm", id=ids.card)


def subject_table(ids: PanelIds, now: datetime, zone: ZoneInfo, language: str, gateway: str | None = None,
                  device_id: int | None = None):
    """Active alarms of the gateway (and its devices) or of the device, then those cleared within RECENT."""
    if not gateway and device_id is None:
        return view.table_of([], zone, language, (ids.ack, ids.clear), ids.table + "-list", "alarms.panel.empty")
    try:
        rows = service.list_alarms(list(STATES), list(SEVERITIES), now - RECENT, now + timedelta(seconds=1),
                                   limit=LIMIT, gateway=gateway, device_id=device_id)
    except Exception as error:  # shown and logged; the next tick tries again
        log.exception("alarms of %s failed", gateway or f"device {device_id}")
        return dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
    return view.table_of(rows, zone, language, (ids.ack, ids.clear), ids.table + "-list", "alarms.panel.empty")


def act(ids: PanelIds, triggered: dict, comment: str | None, language: str) -> dbc.Alert:
    """A click on one of the card's buttons -> the Alarmes page's action and its alert."""
    return view.act(view.ACK if triggered["type"] == ids.ack else view.CLEAR, triggered["index"], comment, language)


def register_actions(ids: PanelIds) -> None:
    """The card's ack and clear buttons for one page (called once per page at import, like its own callbacks)."""

    @callback(Output(ids.alert, "children"), Output(ids.refresh, "data"),
              Input({"type": ids.ack, "index": ALL}, "n_clicks"), Input({"type": ids.clear, "index": ALL}, "n_clicks"),
              State(ids.comment, "value"), State(ids.refresh, "data"), prevent_initial_call=True)
    def on_alarm_action(_acks, _clears, comment, refresh):
        if not ctx.triggered_id or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # buttons (re)drawn, none clicked yet
        return act(ids, ctx.triggered_id, comment, current_language()), (refresh or 0) + 1


def alarms_href(**query) -> str:
    """/alarms with the given filters (None values left out)."""
    chosen = {key: value for key, value in query.items() if value is not None}
    return "/alarms" + (f"?{urlencode(chosen)}" if chosen else "")


def overview_counts(counts: dict[str, int], account_id: int | None, language: str) -> list:
    """One link per severity: 'Crítico: 0' … each opening the Alarmes page on active alarms of that severity."""
    links = [dcc.Link(dbc.Badge(f"{i18n.t('alarms.severity.' + s, language)}: {counts.get(s, 0)}",
                                color=view.SEVERITY_COLORS[s] if counts.get(s) else "light",
                                text_color=None if counts.get(s) else "dark", className="me-2 fs-6"),
                      href=alarms_href(state="active", severity=s, account=account_id), id=f"overview-alarms-{s}")
              for s in SEVERITIES]
    return [html.Span(i18n.t("alarms.overview.title", language), className="me-3 fw-semibold"), *links]
