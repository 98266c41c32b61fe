"""Overview: fleet cards, monthly and daily consumption, latest readings; refreshed on an interval."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from tds_dash import figures, i18n, inputs
from tds_dash.alarms import panel as alarm_panel
from tds_dash.alarms import queries as alarm_queries
from tds_dash.consumption import ids, month_cost, paging
from tds_dash.consumption import overview as overview_model
from tds_dash.consumption.explorer import controls as explorer_controls
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.i18n.grid import grid_options
from tds_dash.queries import filters, overview

dash.register_page(__name__, path="/", name="Overview", order=0, nav_key="nav.overview", charts=True)
inputs.declare({f"{ids.OVERVIEW_ACCOUNT}.value": inputs.optional_id, f"{ids.OVERVIEW_GATEWAY}.value": inputs.optional_id,
                f"{ids.OVERVIEW_METRIC}.value": inputs.text})

log = logging.getLogger(__name__)
DEFAULT_METRIC = "energy_kwh"


def _gateway_options(gateways: list[dict]) -> list[dict]:
    return [{"label": f"{g['serial']} · {g['name']}", "value": g["id"]} for g in gateways]


def _filters(language: str, updated: str | None) -> dbc.Card:
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, current_scope())
        gateways = filters.list_gateways(conn, current_scope(), None)
    metric_options = [{"label": i18n.t(f"metric.{m}", language), "value": m} for m in overview_model.METRIC_CHOICES]
    return dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([dbc.Label(i18n.t("filter.account", language)),
                 dcc.Dropdown(labels=i18n.dropdown_labels(language), id=ids.OVERVIEW_ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                              placeholder=i18n.t("filter.all", language))], md=3),
        dbc.Col([dbc.Label(i18n.t("filter.gateway", language)),
                 dcc.Dropdown(labels=i18n.dropdown_labels(language), id=ids.OVERVIEW_GATEWAY,
                              options=_gateway_options(gateways), placeholder=i18n.t("filter.all_gateways", language))], md=3),
        dbc.Col([dbc.Label(i18n.t("filter.metric", language)),
                 dcc.Dropdown(labels=i18n.dropdown_labels(language), id=ids.OVERVIEW_METRIC, options=metric_options, value=DEFAULT_METRIC, clearable=False)],
                md=2),
        dbc.Col([dbc.Switch(id=ids.OVERVIEW_PAUSE, label=i18n.t("refresh.pause", language), value=False),
                 html.Div(updated, id=ids.OVERVIEW_UPDATED, className="small text-muted")], md=4, className="pt-4"),
    ])), className="mb-3 shadow-sm")


def layout(**kwargs):
    """The filters, and the first store with its cards, alarms and charts already drawn: the page needs no
    callback before its charts (update_overview_store runs on the refresh tick and changes only; issue 16)."""
    language = current_language()
    refresh_ms = services().settings.refresh_seconds * 1000
    graph_config = i18n.graph_config(language)
    store, updated, alert = _store(None, None, None, DEFAULT_METRIC, language)
    store = None if store is dash.no_update else store
    monthly, daily = _charts(store, language) if store else (figures.placeholder_figure(320),) * 2
    return html.Div([
        html.H3(i18n.t("overview.title", language), className="mb-3"),
        _filters(language, updated if isinstance(updated, str) else None),
        html.Div(alert, id=ids.OVERVIEW_ALERT),
        dcc.Interval(id=ids.OVERVIEW_INTERVAL, interval=refresh_ms),
        dcc.Store(id=ids.OVERVIEW_STORE, data=store),
        dcc.Location(id=ids.OVERVIEW_GOTO, refresh="callback-nav"),
        html.Div(_alarm_counts(store, language) if store else None, id=ids.OVERVIEW_ALARMS, className="mb-3"),
        dbc.Row(overview_model.cards(store, language) if store else None, id=ids.OVERVIEW_CARDS),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader(i18n.t("chart.monthly", language)),
                              dbc.CardBody(figures.loading(dcc.Graph(
                                  id=ids.OVERVIEW_MONTHLY, config=graph_config, figure=monthly), 320))]), lg=7,
                    className="mb-3"),
            dbc.Col(dbc.Card([dbc.CardHeader(i18n.t("chart.daily", language)),
                              dbc.CardBody(figures.loading(dcc.Graph(
                                  id=ids.OVERVIEW_DAILY, config=graph_config, figure=daily), 320))]), lg=5,
                    className="mb-3"),
        ]),
        dbc.Card([dbc.CardHeader(i18n.t("table.latest", language)),
                  # A page at a time from the server (a fleet has thousands of devices), sorted there.
                  dbc.CardBody(dag.AgGrid(id=ids.OVERVIEW_TABLE, columnDefs=overview_model.table_columns(language),
                                          rowModelType="infinite", dashGridOptions=grid_options(
                                              language, domLayout="autoHeight", pagination=True,
                                              paginationPageSize=overview_model.LATEST_PAGE_SIZE,
                                              cacheBlockSize=overview_model.LATEST_PAGE_SIZE,
                                              paginationPageSizeSelector=False, maxBlocksInCache=10),
                                          className="ag-theme-alpine"))], className="shadow-sm"),
    ])


# The layout lists every gateway (no account chosen yet): on changes only, so the store does not wait at page
# load for a round trip that would answer the same (issue 16).
@callback(Output(ids.OVERVIEW_GATEWAY, "options"), Output(ids.OVERVIEW_GATEWAY, "value"),
          Input(ids.OVERVIEW_ACCOUNT, "value"), prevent_initial_call=True)
def update_gateway_options(account_id):
    with session_scope(services().engine) as conn:
        gateways = filters.list_gateways(conn, current_scope(), account_id)
    return _gateway_options(gateways), None


# In the browser: at page load this round trip ran beside the store's and slowed it on a busy server.
dash.clientside_callback("function(paused) { return Boolean(paused); }", Output(ids.OVERVIEW_INTERVAL, "disabled"),
                         Input(ids.OVERVIEW_PAUSE, "value"))


@callback(Output(ids.OVERVIEW_STORE, "data"), Output(ids.OVERVIEW_UPDATED, "children"),
          Output(ids.OVERVIEW_ALERT, "children"),
          Input(ids.OVERVIEW_INTERVAL, "n_intervals"), Input(ids.OVERVIEW_ACCOUNT, "value"),
          Input(ids.OVERVIEW_GATEWAY, "value"), Input(ids.OVERVIEW_METRIC, "value"), prevent_initial_call=True)
def update_overview_store(tick, account_id, gateway_id, metric):
    return _store(tick, account_id, gateway_id, metric, current_language())


def _store(tick, account_id, gateway_id, metric, language: str) -> tuple:
    """(store, 'updated at' text, notice or error alert) of these filters, for the viewer's scope."""
    app, name, now = services(), metric or DEFAULT_METRIC, datetime.now(timezone.utc)
    try:
        with session_scope(app.engine) as conn:
            scope = current_scope().restrict(account_id)
            data = overview.fetch_overview(conn, scope, now, app.settings.zone, name, gateway_id)
            cost = month_cost.month_cost(conn, scope, name, now, app.settings.zone, gateway_id)
            bars = month_cost.monthly_costs(conn, scope, name, now, app.settings.zone, gateway_id)
            alarm_counts = alarm_queries.active_counts(conn, scope)
    except Exception as error:  # shown to the user and logged; the last good data stays on screen
        log.exception("overview refresh failed")
        return dash.no_update, dash.no_update, dbc.Alert(i18n.t("error.load", language, error=type(error).__name__),
                                                         color="danger")
    updated = i18n.t("refresh.updated", language, when=i18n.format_datetime(now, app.settings.zone, language))
    notice = overview_model.history_notice(app.background, language)
    store = {**overview_model.to_store(data, name, now, cost, bars),
             "alarms": {"counts": alarm_counts, "account": account_id},
             "view": paging.view_key(account_id, gateway_id, metric, tick)}
    return store, updated, notice


@callback(Output(ids.OVERVIEW_ALARMS, "children"), Input(ids.OVERVIEW_STORE, "data"), prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def update_alarm_counts(store):
    return _alarm_counts(store, current_language())


def _alarm_counts(store: dict, language: str):
    """Active alarms by severity, each a link to the Alarmes page filtered on it."""
    alarms = store["alarms"]
    return alarm_panel.overview_counts({s: int(n) for s, n in alarms["counts"].items()},
                                       inputs.optional_id(alarms["account"], "account"), language)


@callback(Output(ids.OVERVIEW_CARDS, "children"), Input(ids.OVERVIEW_STORE, "data"), prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def update_cards(store):
    return overview_model.cards(store, current_language())


@callback(Output(ids.OVERVIEW_MONTHLY, "figure"), Output(ids.OVERVIEW_DAILY, "figure"),
          Input(ids.OVERVIEW_STORE, "data"), prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def update_charts(store):
    return _charts(store, current_language())


def _charts(store: dict, language: str) -> tuple:
    """The monthly bars (with their cost in the hover when priced) and the daily bars of a store."""
    zone = services().settings.zone
    unit = overview_model.UNITS.get(store["metric"], "")
    monthly = overview_model.series_from_store(store["monthly"], zone)
    daily = overview_model.series_from_store(store["daily"], zone)
    now = datetime.fromisoformat(store["fetched_at"])
    costs = month_cost.bar_costs(store.get("monthly_cost"), monthly["bucket"], language)
    return (figures.consumption_bars(monthly, zone, language, unit, "month", now, costs),
            figures.consumption_bars(daily, zone, language, unit, "day", now))


@callback(Output(ids.OVERVIEW_TABLE, "getRowsResponse"), Input(ids.OVERVIEW_TABLE, "getRowsRequest"),
          State(ids.OVERVIEW_ACCOUNT, "value"), State(ids.OVERVIEW_GATEWAY, "value"),
          State(ids.OVERVIEW_METRIC, "value"), State(ids.OVERVIEW_INTERVAL, "n_intervals"), prevent_initial_call=True)
def update_table(request, account_id, gateway_id, metric, tick):
    """One page of the devices' latest readings; a bad page or column is a 400, not a crash."""
    try:
        with session_scope(services().engine) as conn:
            page = overview_model.latest_page(conn, current_scope().restrict(account_id), services().settings.zone,
                                              metric or DEFAULT_METRIC, gateway_id, request, current_language())
    except ValueError as error:
        raise inputs.InvalidInput(f"latest page: {error}") from error
    return {**page, "view": paging.view_key(account_id, gateway_id, metric, tick)}


# Each refresh of the store (new readings) or other filters: the table drops its pages and asks again.
dash.clientside_callback(paging.purge_script(ids.OVERVIEW_TABLE), Input(ids.OVERVIEW_STORE, "data"),
                         State(ids.OVERVIEW_TABLE, "getRowsResponse"), State(ids.OVERVIEW_TABLE, "getRowsRequest"),
                         prevent_initial_call=True)


@callback(Output(ids.OVERVIEW_GOTO, "href"), Input(ids.OVERVIEW_MONTHLY, "clickData"),
          Input(ids.OVERVIEW_DAILY, "clickData"), State(ids.OVERVIEW_ACCOUNT, "value"),
          State(ids.OVERVIEW_GATEWAY, "value"), State(ids.OVERVIEW_METRIC, "value"), prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def on_bar_click(monthly, daily, account_id, gateway_id, metric):
    """A monthly bar opens the explorer on that month, a daily bar on that day."""
    month = dash.ctx.triggered_id == ids.OVERVIEW_MONTHLY
    href = explorer_controls.overview_click_href(monthly if month else daily, "month" if month else "day",
                                                 services().settings.zone, account_id, gateway_id, metric)
    return href or dash.no_update
