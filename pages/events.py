"""Fleet events: online/offline transitions (debounced), silent meters, rejected bursts; filterable."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet import events as view
from tds_dash.fleet import ids as fid
from tds_dash.queries import events, filters

dash.register_page(__name__, path="/events", name="Events", order=25, nav_key="nav.events", nav_more=True)
inputs.declare({f"{fid.EV_ACCOUNT}.value": inputs.optional_id, f"{fid.EV_GATEWAY}.value": inputs.optional_id,
                f"{fid.EV_KINDS}.value": inputs.text_list, f"{fid.EV_PERIOD}.value": inputs.text})

log = logging.getLogger(__name__)
PAGE_SIZE = 25


def layout(gateway: str | None = None, **_query):
    language = current_language()
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, current_scope())

    def dropdown(id_: str, label: str, md: int = 2, **kw) -> dbc.Col:
        return dbc.Col([dbc.Label(i18n.t(label, language)), dcc.Dropdown(labels=i18n.dropdown_labels(language), id=id_, **kw)], md=md)

    return html.Div([
        html.H3(i18n.t("events.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dropdown(fid.EV_ACCOUNT, "filter.account", placeholder=i18n.t("filter.all", language),
                     options=[{"label": a["name"], "value": a["id"]} for a in accounts]),
            dropdown(fid.EV_GATEWAY, "filter.gateway", placeholder=i18n.t("filter.all_gateways", language),
                     value=int(gateway) if gateway and gateway.isdigit() else None),
            dropdown(fid.EV_KINDS, "events.kinds", multi=True, options=view.kind_options(language), md=4,
                     placeholder=i18n.t("filter.all", language)),
            dropdown(fid.EV_PERIOD, "events.period", options=view.period_options(language), value="24h",
                     clearable=False),
            dbc.Col([dbc.Label(i18n.t("events.dates_hint", language)),
                     dcc.DatePickerRange(id=fid.EV_DATES, clearable=True,
                                         display_format="DD/MM/YYYY" if language == "pt-BR" else "MM/DD/YYYY",
                                         start_date_placeholder_text=i18n.t("events.start", language),
                                         end_date_placeholder_text=i18n.t("events.end", language))], md=2),
        ])), className="mb-3 shadow-sm"),
        html.Div(id=fid.EV_ALERT),
        html.Div(id=fid.EV_TABLE),
        dbc.Row([dbc.Col(dbc.Pagination(id=fid.EV_PAGES, max_value=1, active_page=1, fully_expanded=False)),
                 dbc.Col(html.Div(id=fid.EV_TOTAL, className="text-muted small text-end"))]),
    ])


@callback(Output(fid.EV_GATEWAY, "options"), Input(fid.EV_ACCOUNT, "value"))
def update_gateway_options(account_id):
    with session_scope(services().engine) as conn:
        gateways = filters.list_gateways(conn, current_scope(), account_id)
    return [{"label": f"{g['serial']} · {g['name']}", "value": g["id"]} for g in gateways]


@callback(Output(fid.EV_TABLE, "children"), Output(fid.EV_PAGES, "max_value"), Output(fid.EV_TOTAL, "children"),
          Output(fid.EV_ALERT, "children"),
          Input(fid.EV_ACCOUNT, "value"), Input(fid.EV_GATEWAY, "value"), Input(fid.EV_KINDS, "value"),
          Input(fid.EV_PERIOD, "value"), Input(fid.EV_DATES, "start_date"), Input(fid.EV_DATES, "end_date"),
          Input(fid.EV_PAGES, "active_page"))
def update_table(account_id, gateway_id, kinds, period, start_date, end_date, page):
    app, language, now = services(), current_language(), datetime.now(timezone.utc)
    start, end = view.period_range(period, start_date, end_date, now, app.settings.zone)
    try:
        with session_scope(app.engine) as conn:
            found = events.list_events_page(conn, current_scope().restrict(account_id), start, end,
                                            gateway_id=gateway_id, kinds=kinds, limit=PAGE_SIZE,
                                            offset=((page or 1) - 1) * PAGE_SIZE)
    except Exception as error:  # shown and logged, never hidden
        log.exception("events query failed")
        alert = dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
        return dash.no_update, dash.no_update, dash.no_update, alert
    pages = max(1, -(-found.total // PAGE_SIZE))
    total = i18n.t("fleet.total", language, count=i18n.format_number(found.total, language, 0))
    return view.table(found.rows, app.settings.zone, language), pages, total, None
