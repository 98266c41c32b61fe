"""One device: status, latest values, and per metric its readings (short ranges) or min/avg/max bands."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from tds_dash import i18n, inputs, periods
from tds_dash.alarms import panel as alarm_panel
from tds_dash.consumption import device as device_model
from tds_dash.consumption import device_cost, ids
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet import actions as fleet_actions
from tds_dash.i18n.grid import grid_options
from tds_dash.queries import devices

dash.register_page(__name__, path_template="/device/<device_id>", name="Device", title_key="device.page_title", charts=True)

inputs.declare({f"{ids.DEVICE_ID}.data": inputs.optional_id})

log = logging.getLogger(__name__)
ALARMS = alarm_panel.PanelIds("device")
alarm_panel.register_actions(ALARMS)


def _not_found(language: str) -> html.Div:
    return html.Div([dbc.Alert(i18n.t("device.not_found", language), color="warning", id="device-not-found"),
                     dcc.Link(i18n.t("device.back", language), href="/explorer")])


def layout(device_id=None, **query):
    language, settings = current_language(), services().settings
    now = datetime.now(timezone.utc)
    device_key = device_model.parse_device_id(device_id)
    with session_scope(services().engine) as conn:
        device = devices.find_device(conn, current_scope(), device_key) if device_key is not None else None
        latest = devices.latest_values(conn, device_key) if device else None
    if device is None:
        return _not_found(language)
    period = device_model.period_from_query(query, periods.local_today(now, settings.zone), settings.zone)
    status = devices.device_status(device, latest, now)
    return html.Div([
        device_model.status_header(device, status, settings.zone, language, fleet_actions.can_manage()),
        dag.AgGrid(id=ids.DEVICE_STATUS, rowData=device_model.latest_rows(latest, settings.zone, language),
                   columnDefs=[{"field": field, "headerName": i18n.t(f"col.{field}", language), "flex": 1,
                                "wrapText": True, "autoHeight": True}  # a phone shows each value whole
                               for field in ("metric", "value", "time")],
                   dashGridOptions=grid_options(language, domLayout="autoHeight"), className="ag-theme-alpine mb-3"),
        alarm_panel.card(ALARMS, language, alarm_panel.alarms_href(account=device["account_id"])),
        dbc.Row(dbc.Col([dbc.Label(i18n.t("explorer.period", language), className="me-2"),
                         dcc.DatePickerRange(id=ids.DEVICE_DATES, start_date=period.first_day.isoformat(),
                                             end_date=period.last_day.isoformat(), minimum_nights=0,
                                             **i18n.date_range_texts(language))]),
                className="mb-3"),
        dcc.Store(id=ids.DEVICE_ID, data=device_key),
        dcc.Loading(html.Div(id=ids.DEVICE_CHARTS)),
    ])


@callback(Output(ids.DEVICE_CHARTS, "children"), Input(ids.DEVICE_DATES, "start_date"),
          Input(ids.DEVICE_DATES, "end_date"), State(ids.DEVICE_ID, "data"))
def update_charts(start, end, device_id):
    app, language, zone = services(), current_language(), services().settings.zone
    first, last = periods.parse_day(start), periods.parse_day(end)
    if first is None or last is None or first > last:
        return dbc.Alert(i18n.t("explorer.error.range", language, error=f"{start} – {end}"), color="warning")
    try:
        with session_scope(app.engine) as conn:
            # The store is client state: check the scope again rather than trusting it.
            device = devices.find_device(conn, current_scope(), int(device_id))
            if device is None:
                return dbc.Alert(i18n.t("device.not_found", language), color="warning")
            charts = devices.fetch_device_charts(conn, current_scope(), device["id"], periods.Period(first, last, zone))
            latest = devices.latest_values(conn, device["id"])
            costs = device_cost.device_costs(conn, current_scope(), device, charts, periods.Period(first, last, zone))
    except Exception as error:  # shown and logged
        log.exception("device charts failed")
        return dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
    return device_model.metric_sections(charts, latest, zone, language, costs)


@callback(Output(ALARMS.table, "children"), Input(ALARMS.refresh, "data"), State(ids.DEVICE_ID, "data"))
def update_alarms(_refresh, device_id):
    """The device's alarms (scoped again: the store is client state), at load and after an action."""
    return alarm_panel.subject_table(ALARMS, datetime.now(timezone.utc), services().settings.zone,
                                     current_language(), device_id=device_id)
