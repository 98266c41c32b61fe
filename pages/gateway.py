"""One gateway: status and why, uptime, its devices, status history with durations, rejected messages."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from tds_dash import i18n, inputs
from tds_dash.alarms import panel as alarm_panel
from tds_dash.certificates import page_actions
from tds_dash.certificates import view as certs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet import gateway_detail
from tds_dash.fleet import ids as fid
from tds_dash.queries import events, fleet, gateway_activity

dash.register_page(__name__, path_template="/gateways/<serial>", name="Gateway", title_key="gateway.page_title", charts=True)
inputs.declare({f"{fid.GWD_SERIAL}.data": inputs.text, f"{certs.CSR}.value": certs.csr_text,
                f"{certs.REVOKE_TARGET}.data": inputs.optional_id, f"{certs.REVOKE_REASON}.value": inputs.text})

log = logging.getLogger(__name__)
ALARMS = alarm_panel.PanelIds("gateway")
alarm_panel.register_actions(ALARMS)


def layout(serial: str | None = None, **_query):
    refresh_ms = services().settings.refresh_seconds * 1000
    body, found = _render(serial)
    return html.Div([
        dcc.Store(id=fid.GWD_SERIAL, data=serial),
        dcc.Interval(id=fid.GWD_INTERVAL, interval=refresh_ms),
        html.Div(body, id=fid.GWD_BODY),
        activity_card(serial) if found else None,
        alarm_panel.card(ALARMS, current_language(), alarm_panel.alarms_href()) if found else None,
        certificates_card(serial),
    ])


def activity_card(serial: str | None):
    """Drawn once per visit, outside the refreshed body: 14 days and 48 h do not change every few seconds."""
    language, zone, now = current_language(), services().settings.zone, datetime.now(timezone.utc)
    try:
        with session_scope(services().engine) as conn:
            gateway = fleet.get_gateway(conn, current_scope(), now, serial=serial) if serial else None
            activity = gateway_activity.fetch_gateway_activity(conn, current_scope(), gateway, now, zone) if gateway else None
    except Exception as error:  # shown and logged; the rest of the page still works
        log.exception("gateway activity failed for %s", serial)
        return dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
    return gateway_detail.activity_card(activity, zone, language) if activity else None


def certificates_card(serial: str | None):
    """Outside the refreshed body: a key shown once must not vanish at the next tick."""
    language = current_language()
    viewer = page_actions.request_viewer()
    children = page_actions.body(viewer, serial or "") if serial else []
    if not children:
        return None
    return dbc.Card([dbc.CardHeader(page_actions.card_title(language)), dbc.CardBody([
        html.Div(id=certs.CERTS_RESULT), html.Div(children, id=certs.CERTS_BODY), certs.revoke_modal(language),
    ])], className="mb-3 shadow-sm", id="gateway-certificates")


def render(serial: str | None) -> list:
    return _render(serial)[0]


def _render(serial: str | None) -> tuple[list, bool]:
    """(the body, whether it shows a gateway in the viewer's scope)."""
    language, settings, now = current_language(), services().settings, datetime.now(timezone.utc)
    try:
        with session_scope(services().engine) as conn:
            data = events.fetch_gateway_page(conn, current_scope(), serial or "", now) if serial else None
    except Exception as error:  # shown and logged; a refresh tries again
        log.exception("gateway page failed for %s", serial)
        return [dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")], True
    if data is None:
        return [gateway_detail.not_found(language)], False
    return gateway_detail.body(data, now, settings.zone, language), True


@callback(Output(fid.GWD_BODY, "children"), Input(fid.GWD_INTERVAL, "n_intervals"), State(fid.GWD_SERIAL, "data"),
          prevent_initial_call=True)
def update_body(_tick, serial):
    return render(serial)


@callback(Output(ALARMS.table, "children"), Input(fid.GWD_INTERVAL, "n_intervals"), Input(ALARMS.refresh, "data"),
          State(fid.GWD_SERIAL, "data"))
def update_alarms(_tick, _refresh, serial):
    """The gateway's and its devices' alarms, at load, on each tick and after an action."""
    return alarm_panel.subject_table(ALARMS, datetime.now(timezone.utc), services().settings.zone,
                                     current_language(), gateway=serial or "")


@callback(Output(certs.CERTS_RESULT, "children"), Output(certs.CERTS_BODY, "children"), Output(certs.CSR, "value"),
          Input(certs.ISSUE, "n_clicks"), Input(certs.SIGN, "n_clicks"), State(certs.CSR, "value"),
          State(fid.GWD_SERIAL, "data"), prevent_initial_call=True)
def on_issue(issue_clicks, sign_clicks, csr, serial):
    signing = ctx.triggered_id == certs.SIGN
    if not (sign_clicks if signing else issue_clicks):
        # Another callback re-rendering the card inserts fresh buttons, and Dash then calls this with no click.
        raise PreventUpdate
    result, body = page_actions.issue(page_actions.request_viewer(), serial, (csr or "") if signing else None)
    return result, body, ""


@callback(Output(certs.REVOKE_MODAL, "is_open"), Output(certs.REVOKE_TARGET, "data"),
          Output(certs.REVOKE_REASON, "value"), Input({"type": certs.REVOKE, "certificate": ALL}, "n_clicks"),
          prevent_initial_call=True)
def ask_revoke(clicks):
    clicked = any(clicks or [])  # a re-rendered list fires with no clicks: that opens nothing
    return page_actions.ask_revoke(ctx.triggered_id["certificate"] if clicked and ctx.triggered_id else None)


@callback(Output(certs.REVOKE_MODAL, "is_open", allow_duplicate=True),
          Output(certs.CERTS_RESULT, "children", allow_duplicate=True),
          Output(certs.CERTS_BODY, "children", allow_duplicate=True),
          Input(certs.REVOKE_OK, "n_clicks"), Input(certs.REVOKE_CANCEL, "n_clicks"),
          State(certs.REVOKE_TARGET, "data"), State(certs.REVOKE_REASON, "value"), State(fid.GWD_SERIAL, "data"),
          prevent_initial_call=True)
def on_revoke(ok_clicks, _cancel, target, reason, serial):
    if ctx.triggered_id != certs.REVOKE_OK or not ok_clicks:
        return False, dash.no_update, dash.no_update
    result, body = page_actions.revoke(page_actions.request_viewer(), serial, target, reason)
    return False, result, body
