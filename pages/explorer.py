"""Consumption explorer: pick devices, a period and a granularity; bars or a line, totals, downloads."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html

from tds_dash import explorer_controls, explorer_figures, explorer_view, i18n, ids, periods
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.queries import consumption, devices, explorer, filters

dash.register_page(__name__, path="/explorer", name="Explorer", order=1, nav_key="nav.explorer")

log = logging.getLogger(__name__)


def _options(state: dict, language: str) -> dict:
    """Every dropdown's options at page load (a value from the URL must be among them to be kept);
    URL values outside the options are dropped from `state`."""
    scope = current_scope()
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, scope)
        metrics = consumption.list_consumption_metrics(conn)
        gateways = filters.list_gateways(conn, scope)
        device_rows = devices.device_options(conn, scope, state["accounts"], state["gateways"])
    options = {"account": [{"label": a["name"], "value": a["id"]} for a in accounts],
               "metric": [{"label": explorer_controls.metric_label(m, language), "value": m["name"]} for m in metrics]}
    options["gateway"], state["gateways"] = explorer_controls.gateway_choices(gateways, state["accounts"],
                                                                              state["gateways"])
    options["device"], state["devices"] = explorer_controls.device_choices(device_rows, state["devices"])
    return options


def _dropdown(language: str, key: str, id_: str, options: list, value, placeholder: str | None, md: int) -> dbc.Col:
    return dbc.Col([dbc.Label(i18n.t(key, language)),
                    dcc.Dropdown(id=id_, options=options, value=value, multi=placeholder is not None,
                                 clearable=placeholder is not None,
                                 placeholder=i18n.t(placeholder, language) if placeholder else None)], md=md)


def _radio(language: str, id_: str, values, value, prefix: str) -> dbc.RadioItems:
    return dbc.RadioItems(id=id_, value=value, inline=True,
                          options=[{"label": i18n.t(f"{prefix}.{v}", language), "value": v} for v in values])


def _controls(state: dict, language: str) -> dbc.Card:
    options, t = _options(state, language), (lambda key: i18n.t(key, language))
    return dbc.Card(dbc.CardBody([dbc.Row([
        _dropdown(language, "filter.account", ids.EXPLORER_ACCOUNT, options["account"], state["accounts"],
                  "filter.all", 3),
        _dropdown(language, "filter.gateway", ids.EXPLORER_GATEWAY, options["gateway"], state["gateways"],
                  "filter.all_gateways", 3),
        _dropdown(language, "filter.device", ids.EXPLORER_DEVICE, options["device"], state["devices"],
                  "filter.all_devices", 4),
        _dropdown(language, "filter.metric", ids.EXPLORER_METRIC, options["metric"], state["metric"], None, 2),
    ], className="mb-2"), dbc.Row([
        dbc.Col([dbc.Label(t("explorer.period")),
                 _radio(language, ids.EXPLORER_PRESET, periods.PRESETS, state["preset"], "preset"),
                 dcc.DatePickerRange(id=ids.EXPLORER_DATES, start_date=state["first_day"], end_date=state["last_day"],
                                     display_format="DD/MM/YYYY" if language == "pt-BR" else "MM/DD/YYYY",
                                     minimum_nights=0)], md=6),
        dbc.Col([dbc.Label(t("explorer.granularity")),
                 _radio(language, ids.EXPLORER_GRANULARITY, ("auto",) + periods.GRANULARITIES, state["granularity"],
                        "granularity"),
                 html.Div(id=ids.EXPLORER_GRANULARITY_USED, className="small text-muted")], md=3),
        dbc.Col([dbc.Label(t("explorer.mode")),
                 _radio(language, ids.EXPLORER_MODE, explorer_view.MODES, "bars", "mode"),
                 dbc.Switch(id=ids.EXPLORER_COMPARE, label=t("explorer.compare"), value=False)], md=3),
    ])]), className="mb-3 shadow-sm")


def layout(**query):
    language, settings = current_language(), services().settings
    state = explorer_controls.initial_state(query, periods.local_today(datetime.now(timezone.utc), settings.zone))
    graph_config = {"displaylogo": False, "locale": "pt-BR" if language == "pt-BR" else "en"}
    help_text = i18n.t("explorer.help", language, zone=settings.timezone, top=explorer.TOP_DEVICES)
    return html.Div([
        html.H3(i18n.t("explorer.title", language), className="mb-1"),
        html.P(help_text, className="small text-muted mb-3", id="explorer-help"),
        _controls(state, language),
        dcc.Interval(id=ids.EXPLORER_INTERVAL, interval=settings.refresh_seconds * 1000),
        dcc.Store(id=ids.EXPLORER_STORE), dcc.Download(id=ids.EXPLORER_DOWNLOAD),
        dcc.Location(id=ids.EXPLORER_GOTO, refresh="callback-nav"),
        html.Div(id=ids.EXPLORER_ALERT),
        dbc.Card([dbc.CardHeader(dbc.Row([
            dbc.Col(html.Div(id=ids.EXPLORER_CHANGE, className="small"), className="pt-1"),
            dbc.Col([dbc.Button(i18n.t("explorer.download_csv", language), id=ids.EXPLORER_CSV, size="sm",
                                color="secondary", outline=True, className="me-2"),
                     dbc.Button(i18n.t("explorer.download_xlsx", language), id=ids.EXPLORER_XLSX, size="sm",
                                color="secondary", outline=True)], width="auto")])),
                  dbc.CardBody(dcc.Graph(id=ids.EXPLORER_CHART, config=graph_config))], className="mb-3 shadow-sm"),
        dbc.Card([dbc.CardHeader(i18n.t("explorer.totals", language)),
                  dbc.CardBody(dag.AgGrid(id=ids.EXPLORER_TABLE, columnDefs=explorer_view.table_columns(language),
                                          rowData=[], dashGridOptions={"domLayout": "autoHeight"},
                                          className="ag-theme-alpine"))], className="shadow-sm"),
    ])


@callback(Output(ids.EXPLORER_GATEWAY, "options"), Output(ids.EXPLORER_GATEWAY, "value"),
          Input(ids.EXPLORER_ACCOUNT, "value"), State(ids.EXPLORER_GATEWAY, "value"))
def update_gateway_options(accounts, chosen):
    with session_scope(services().engine) as conn:
        rows = filters.list_gateways(conn, current_scope())
    return explorer_controls.gateway_choices(rows, accounts, chosen)


@callback(Output(ids.EXPLORER_DEVICE, "options"), Output(ids.EXPLORER_DEVICE, "value"),
          Input(ids.EXPLORER_ACCOUNT, "value"), Input(ids.EXPLORER_GATEWAY, "value"),
          State(ids.EXPLORER_DEVICE, "value"))
def update_device_options(accounts, gateways, chosen):
    with session_scope(services().engine) as conn:
        rows = devices.device_options(conn, current_scope(), accounts or (), gateways or ())
    return explorer_controls.device_choices(rows, chosen)


@callback(Output(ids.EXPLORER_PRESET, "value"), Output(ids.EXPLORER_DATES, "start_date"),
          Output(ids.EXPLORER_DATES, "end_date"), Input(ids.EXPLORER_PRESET, "value"),
          Input(ids.EXPLORER_DATES, "start_date"), Input(ids.EXPLORER_DATES, "end_date"), prevent_initial_call=True)
def on_period_change(preset, start, end):
    today = periods.local_today(datetime.now(timezone.utc), services().settings.zone)
    triggered = "preset" if ctx.triggered_id == ids.EXPLORER_PRESET else "dates"
    return explorer_controls.sync_dates(triggered, preset, start, end, today)


@callback(Output(ids.EXPLORER_STORE, "data"), Output(ids.EXPLORER_ALERT, "children"),
          Output(ids.EXPLORER_GRANULARITY_USED, "children"),
          Input(ids.EXPLORER_INTERVAL, "n_intervals"), Input(ids.EXPLORER_DATES, "start_date"),
          Input(ids.EXPLORER_DATES, "end_date"), Input(ids.EXPLORER_GRANULARITY, "value"),
          Input(ids.EXPLORER_METRIC, "value"), Input(ids.EXPLORER_ACCOUNT, "value"),
          Input(ids.EXPLORER_GATEWAY, "value"), Input(ids.EXPLORER_DEVICE, "value"),
          Input(ids.EXPLORER_COMPARE, "value"))
def update_store(_tick, start, end, granularity, metric, accounts, gateways, chosen, compare):
    app, language, now = services(), current_language(), datetime.now(timezone.utc)
    selection = consumption.Selection.of(accounts, gateways, chosen)
    try:
        period = explorer_controls.period_from_dates(start, end, app.settings.zone)
        with session_scope(app.engine) as conn:
            data = explorer.fetch_explorer(conn, current_scope(), selection, metric, period, granularity,
                                           bool(compare), now)
    except (periods.PeriodError, ValueError) as error:
        return None, dbc.Alert(i18n.t("explorer.error.range", language, error=str(error)), color="warning"), ""
    except Exception as error:  # shown and logged; the last good data stays on screen
        log.exception("explorer refresh failed")
        return dash.no_update, dbc.Alert(i18n.t("error.load", language, error=type(error).__name__),
                                         color="danger"), dash.no_update
    store = explorer_view.to_store(data, now)
    return store, None, explorer_view.granularity_note(store, language)


@callback(Output(ids.EXPLORER_CHART, "figure"), Output(ids.EXPLORER_CHANGE, "children"),
          Input(ids.EXPLORER_STORE, "data"), Input(ids.EXPLORER_MODE, "value"))
def update_chart(store, mode):
    language = current_language()
    figure = explorer_figures.explorer_figure(store, mode, services().settings.zone, language)
    return figure, explorer_view.change_text(store, language) if store else None


@callback(Output(ids.EXPLORER_TABLE, "rowData"), Input(ids.EXPLORER_STORE, "data"))
def update_table(store):
    return explorer_view.table_rows(store, current_language()) if store else []


@callback(Output(ids.EXPLORER_DOWNLOAD, "data"), Input(ids.EXPLORER_CSV, "n_clicks"),
          Input(ids.EXPLORER_XLSX, "n_clicks"), State(ids.EXPLORER_STORE, "data"), State(ids.EXPLORER_MODE, "value"),
          prevent_initial_call=True)
def on_download(_csv, _xlsx, store, mode):
    if not store:
        return dash.no_update
    kind = "xlsx" if ctx.triggered_id == ids.EXPLORER_XLSX else "csv"
    return explorer_view.download(store, mode, services().settings.zone, kind)


@callback(Output(ids.EXPLORER_GOTO, "href"), Input(ids.EXPLORER_CHART, "clickData"), prevent_initial_call=True)
def on_bar_click(click_data):
    return explorer_controls.drilldown_href(click_data) or dash.no_update
