"""One gateway: status and why, uptime, its devices, status history with durations, rejected messages."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet import gateway_detail
from tds_dash.fleet import ids as fid
from tds_dash.queries import events

dash.register_page(__name__, path_template="/gateways/<serial>", name="Gateway", title_key="gateway.page_title")
inputs.declare({f"{fid.GWD_SERIAL}.data": inputs.text})

log = logging.getLogger(__name__)


def layout(serial: str | None = None, **_query):
    refresh_ms = services().settings.refresh_seconds * 1000
    return html.Div([
        dcc.Store(id=fid.GWD_SERIAL, data=serial),
        dcc.Interval(id=fid.GWD_INTERVAL, interval=refresh_ms),
        html.Div(render(serial), id=fid.GWD_BODY),
    ])


def render(serial: str | None) -> list:
    language, settings, now = current_language(), services().settings, datetime.now(timezone.utc)
    try:
        with session_scope(services().engine) as conn:
            data = events.fetch_gateway_page(conn, current_scope(), serial or "", now) if serial else None
    except Exception as error:  # shown and logged; a refresh tries again
        log.exception("gateway page failed for %s", serial)
        return [dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")]
    if data is None:
        return [gateway_detail.not_found(language)]
    return gateway_detail.body(data, now, settings.zone, language)


@callback(Output(fid.GWD_BODY, "children"), Input(fid.GWD_INTERVAL, "n_intervals"), State(fid.GWD_SERIAL, "data"),
          prevent_initial_call=True)
def update_body(_tick, serial):
    return render(serial)
