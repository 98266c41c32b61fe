"""Consumption explorer: pick devices, a period and a granularity; bars or a line, totals, downloads."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx

from tds_dash import i18n, inputs, periods
from tds_dash.consumption import ids, paging
from tds_dash.consumption.explorer import controls as explorer_controls
from tds_dash.consumption.explorer import cost_view
from tds_dash.consumption.explorer import figures as explorer_figures
from tds_dash.consumption.explorer import layout as explorer_layout
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.consumption.explorer import totals as explorer_totals
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.queries import consumption, devices, filters

dash.register_page(__name__, path="/explorer", name="Explorer", order=1, nav_key="nav.explorer", charts=True)
inputs.declare({f"{dropdown}.value": inputs.id_array for dropdown in (ids.EXPLORER_ACCOUNT, ids.EXPLORER_GATEWAY, ids.EXPLORER_DEVICE)})
inputs.declare({f"{control}.value": inputs.text for control in (ids.EXPLORER_METRIC, ids.EXPLORER_PRESET,
                                                               ids.EXPLORER_GRANULARITY, ids.EXPLORER_MODE,
                                                               ids.EXPLORER_MEASURE)})
inputs.declare({f"{ids.EXPLORER_TOP}.data": inputs.optional_id, f"{ids.EXPLORER_URL}.search": inputs.text})

log = logging.getLogger(__name__)
DEVICE_OPTIONS = 50  # listed in the device dropdown (with the chosen ones); the rest are found by typing


def _options(state: dict, language: str) -> dict:
    """Every dropdown's options at page load (a value from the URL must be among them to be kept);
    URL values outside the options are dropped from `state`."""
    scope = current_scope()
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, scope)
        metrics = consumption.list_consumption_metrics(conn)
        gateways = filters.list_gateways(conn, scope)
        device_rows = devices.search_device_options(conn, scope, state["accounts"], state["gateways"], "",
                                                    state["devices"], DEVICE_OPTIONS)
    options = {"account": [{"label": a["name"], "value": a["id"]} for a in accounts],
               "metric": [{"label": explorer_controls.metric_label(m, language), "value": m["name"]} for m in metrics]}
    options["gateway"], state["gateways"] = explorer_controls.gateway_choices(gateways, state["accounts"],
                                                                              state["gateways"])
    options["device"], state["devices"] = explorer_controls.device_choices(device_rows, state["devices"])
    return options


def layout(**query):
    """The controls set from the URL, and their store and chart already drawn: the page needs no callback
    before its chart (update_store runs on changes only; issue 16)."""
    language, settings = current_language(), services().settings
    state = explorer_controls.initial_state(query, periods.local_today(datetime.now(timezone.utc), settings.zone))
    options = _options(state, language)
    first = _view(None, state["first_day"], state["last_day"], state["granularity"], state["metric"],
                  state["accounts"], state["gateways"], state["devices"], state["compare"], state["top"],
                  state["mode"], cost_view.QUANTITY, language)
    return explorer_layout.page(state, options, settings, language, explorer_totals.TOP_DEVICES,
                                dict(zip(explorer_layout.FIRST_VIEW, first)))


# The layout set every list for the URL's state: these run on changes only, so the store (and the chart after
# it) does not wait at page load for two round trips that would answer the same (issue 16).
@callback(Output(ids.EXPLORER_GATEWAY, "options"), Output(ids.EXPLORER_GATEWAY, "value"),
          Input(ids.EXPLORER_ACCOUNT, "value"), State(ids.EXPLORER_GATEWAY, "value"), prevent_initial_call=True)
def update_gateway_options(accounts, chosen):
    with session_scope(services().engine) as conn:
        rows = filters.list_gateways(conn, current_scope())
    return explorer_controls.gateway_choices(rows, accounts, chosen)


@callback(Output(ids.EXPLORER_DEVICE, "options"), Output(ids.EXPLORER_DEVICE, "value"),
          Input(ids.EXPLORER_ACCOUNT, "value"), Input(ids.EXPLORER_GATEWAY, "value"),
          Input(ids.EXPLORER_DEVICE, "search_value"), State(ids.EXPLORER_DEVICE, "value"), prevent_initial_call=True)
def update_device_options(accounts, gateways, search, chosen):
    """The chosen devices and the first DEVICE_OPTIONS matching what is typed (a fleet has thousands)."""
    with session_scope(services().engine) as conn:
        rows = devices.search_device_options(conn, current_scope(), accounts or (), gateways or (), search,
                                             chosen or (), DEVICE_OPTIONS)
    options, valid = explorer_controls.device_choices(rows, chosen)
    return options, (dash.no_update if ctx.triggered_id == ids.EXPLORER_DEVICE else valid)


@callback(Output(ids.EXPLORER_PRESET, "value"), Output(ids.EXPLORER_DATES, "start_date"),
          Output(ids.EXPLORER_DATES, "end_date"), Input(ids.EXPLORER_PRESET, "value"),
          Input(ids.EXPLORER_DATES, "start_date"), Input(ids.EXPLORER_DATES, "end_date"), prevent_initial_call=True)
def on_period_change(preset, start, end):
    today = periods.local_today(datetime.now(timezone.utc), services().settings.zone)
    triggered = "preset" if ctx.triggered_id == ids.EXPLORER_PRESET else "dates"
    return explorer_controls.sync_dates(triggered, preset, start, end, today)


@callback(Output(ids.EXPLORER_STORE, "data"), Output(ids.EXPLORER_ALERT, "children"),
          Output(ids.EXPLORER_GRANULARITY_USED, "children"), Output(ids.EXPLORER_CHART, "figure"),
          Output(ids.EXPLORER_CHANGE, "children"),
          Input(ids.EXPLORER_INTERVAL, "n_intervals"), Input(ids.EXPLORER_DATES, "start_date"),
          Input(ids.EXPLORER_DATES, "end_date"), Input(ids.EXPLORER_GRANULARITY, "value"),
          Input(ids.EXPLORER_METRIC, "value"), Input(ids.EXPLORER_ACCOUNT, "value"),
          Input(ids.EXPLORER_GATEWAY, "value"), Input(ids.EXPLORER_DEVICE, "value"),
          Input(ids.EXPLORER_COMPARE, "value"), Input(ids.EXPLORER_TOP, "data"),
          State(ids.EXPLORER_MODE, "value"), State(ids.EXPLORER_MEASURE, "value"), prevent_initial_call=True)
def update_store(tick, start, end, granularity, metric, accounts, gateways, chosen, compare, top, mode, measure):
    """The store and, in the same response, the chart drawn from it: the chart's own round trip after the
    store's was a third of a warm explorer's time to a drawn chart (bench/browser_pages.py --payloads)."""
    return _view(tick, start, end, granularity, metric, accounts, gateways, chosen, compare, top, mode, measure,
                 current_language())


def _view(tick, start, end, granularity, metric, accounts, gateways, chosen, compare, top, mode, measure,
          language: str) -> tuple:
    """(browser store, alert, granularity note, figure, change text) of these controls, for the viewer's scope."""
    app, now = services(), datetime.now(timezone.utc)
    selection = consumption.Selection.of(accounts, gateways, chosen)
    try:
        period = explorer_controls.period_from_dates(start, end, app.settings.zone)
        with session_scope(app.engine) as conn:
            store = explorer_totals.snapshot(conn, current_scope(), selection, metric, period, granularity,
                                             bool(compare), now, explorer_controls.shown_devices(top))
    except (periods.PeriodError, ValueError) as error:
        return (None, dbc.Alert(i18n.t("explorer.error.range", language, error=str(error)), color="warning"), "",
                *_chart(None, mode, measure, language))
    except Exception as error:  # shown and logged; the last good data stays on screen
        log.exception("explorer refresh failed")
        return (dash.no_update, dbc.Alert(i18n.t("error.load", language, error=type(error).__name__),
                                          color="danger"), dash.no_update, dash.no_update, dash.no_update)
    view = paging.view_key(start, end, granularity, metric, accounts, gateways, chosen, tick)
    browser = {**explorer_model.browser_store(store), "view": view, "measure": cost_view.measure_part(store, language),
               "columns": cost_view.table_columns(store, language)}
    shown_measure = cost_view.measure_state(browser, measure, language)[1]  # what MEASURE_SCRIPT will set
    return (browser, None, explorer_model.granularity_note(store, language),
            *_chart(browser, mode, shown_measure, language))


# In the browser: the chart waits for the switch's value, and a round trip here cost the chart ~100 ms; the
# options and note come translated in the store (cost_view.measure_part, the rule of cost_view.measure_state).
dash.clientside_callback(cost_view.MEASURE_SCRIPT, Output(ids.EXPLORER_MEASURE, "options"),
                         Output(ids.EXPLORER_MEASURE, "value"), Output(ids.EXPLORER_MEASURE_NOTE, "children"),
                         Input(ids.EXPLORER_STORE, "data"), State(ids.EXPLORER_MEASURE, "value"))


# A new store comes with its chart (update_store); this redraws it when the mode or the R$ switch changes.
@callback(Output(ids.EXPLORER_CHART, "figure", allow_duplicate=True),
          Output(ids.EXPLORER_CHANGE, "children", allow_duplicate=True),
          Input(ids.EXPLORER_MODE, "value"), Input(ids.EXPLORER_MEASURE, "value"), State(ids.EXPLORER_STORE, "data"),
          prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def update_chart(mode, measure, store):
    return _chart(store, mode, measure, current_language())


def _chart(store: dict | None, mode, measure, language: str) -> tuple:
    """(figure, change text) of a browser store, in R$ or the unit."""
    zone = services().settings.zone
    if cost_view.shows_cost(store, measure):
        figure = cost_view.cost_figure(store, mode, zone, language)
    else:
        figure = explorer_figures.explorer_figure(store, mode, zone, language)
    return figure, cost_view.change_text(store, language)


# The columns come translated in the store (with "Custo (R$)" when priced): set in the browser, and only when
# they change (the same columns keep the grid's sort); a round trip here competed with the chart's.
dash.clientside_callback(
    "function(store, shown) { const columns = store && store.columns;"
    " return !columns || JSON.stringify(columns) === JSON.stringify(shown) ? window.dash_clientside.no_update"
    " : columns; }", Output(ids.EXPLORER_TABLE, "columnDefs"), Input(ids.EXPLORER_STORE, "data"),
    State(ids.EXPLORER_TABLE, "columnDefs"))


# The views' controls, as the store's callback reads them (the grid's pages and the downloads re-read the data).
_VIEW = (State(ids.EXPLORER_DATES, "start_date"), State(ids.EXPLORER_DATES, "end_date"),
         State(ids.EXPLORER_GRANULARITY, "value"), State(ids.EXPLORER_METRIC, "value"),
         State(ids.EXPLORER_ACCOUNT, "value"), State(ids.EXPLORER_GATEWAY, "value"),
         State(ids.EXPLORER_DEVICE, "value"))


@callback(Output(ids.EXPLORER_TABLE, "getRowsResponse"), Input(ids.EXPLORER_TABLE, "getRowsRequest"), *_VIEW,
          State(ids.EXPLORER_INTERVAL, "n_intervals"), prevent_initial_call=True)
def update_table_rows(request, start, end, granularity, metric, accounts, gateways, chosen, tick):
    """One page of the totals, sorted by the database; a bad page or column is a 400, not a crash."""
    settings, selection = services().settings, consumption.Selection.of(accounts, gateways, chosen)
    view = paging.view_key(start, end, granularity, metric, accounts, gateways, chosen, tick)
    try:
        period = explorer_controls.period_from_dates(start, end, settings.zone)
        with session_scope(services().engine) as conn:
            return explorer_totals.grid_page(conn, current_scope(), selection, metric, period, granularity,
                                             datetime.now(timezone.utc), request, current_language(), view)
    except periods.PeriodError:  # said by the chart's alert
        return paging.response([], 0, view)
    except ValueError as error:
        raise inputs.InvalidInput(f"totals page: {error}") from error


# A store of other controls (or of the refresh) than the grid's pages: the grid drops them and asks again.
dash.clientside_callback(paging.purge_script(ids.EXPLORER_TABLE), Input(ids.EXPLORER_STORE, "data"),
                         State(ids.EXPLORER_TABLE, "getRowsResponse"), State(ids.EXPLORER_TABLE, "getRowsRequest"),
                         prevent_initial_call=True)


@callback(Output(ids.EXPLORER_DOWNLOAD, "data"), Input(ids.EXPLORER_CSV, "n_clicks"),
          Input(ids.EXPLORER_XLSX, "n_clicks"), *_VIEW, State(ids.EXPLORER_COMPARE, "value"),
          State(ids.EXPLORER_TOP, "data"), State(ids.EXPLORER_MODE, "value"), prevent_initial_call=True)
def on_download(_csv, _xlsx, start, end, granularity, metric, accounts, gateways, chosen, compare, top, mode):
    """The charted table and every device's totals, read again from the data layer (the browser keeps less)."""
    app, now = services(), datetime.now(timezone.utc)
    try:
        period = explorer_controls.period_from_dates(start, end, app.settings.zone)
        with session_scope(app.engine) as conn:
            store = explorer_totals.snapshot(conn, current_scope(), consumption.Selection.of(accounts, gateways, chosen),
                                             metric, period, granularity, bool(compare), now,
                                             explorer_controls.shown_devices(top))
    except (periods.PeriodError, ValueError):  # the chart's alert says why
        return dash.no_update
    kind = "xlsx" if ctx.triggered_id == ids.EXPLORER_XLSX else "csv"
    return explorer_model.download(store, mode, app.settings.zone, kind, current_language())


@callback(Output(ids.EXPLORER_GOTO, "href"), Output(ids.EXPLORER_TOP, "data"), Input(ids.EXPLORER_CHART, "clickData"),
          State(ids.EXPLORER_TOP, "data"), prevent_initial_call=True)
@inputs.untrusted  # renders the browser's store only
def on_bar_click(click_data, top):
    """A device's bar opens its page; "Outros" shows the next ten devices."""
    href, more = explorer_controls.drilldown_href(click_data), explorer_controls.expand_others(click_data, top)
    return href or dash.no_update, more or dash.no_update


@callback(Output(ids.EXPLORER_URL, "search"), Input(ids.EXPLORER_PRESET, "value"),
          Input(ids.EXPLORER_DATES, "start_date"), Input(ids.EXPLORER_DATES, "end_date"),
          Input(ids.EXPLORER_ACCOUNT, "value"), Input(ids.EXPLORER_GATEWAY, "value"),
          Input(ids.EXPLORER_DEVICE, "value"), Input(ids.EXPLORER_METRIC, "value"),
          Input(ids.EXPLORER_GRANULARITY, "value"), Input(ids.EXPLORER_MODE, "value"),
          Input(ids.EXPLORER_COMPARE, "value"), Input(ids.EXPLORER_TOP, "data"), State(ids.EXPLORER_URL, "search"),
          prevent_initial_call=True)
def update_url(*values):
    """The address follows the controls (no reload): a bookmark or a sent link reopens this view."""
    search = explorer_controls.url_search(*values[:-1])
    return search if search != (values[-1] or "") else dash.no_update


# The copied link is the address bar's (the controls' state is in it); read in the browser.
dash.clientside_callback("function(n) { return window.location.href; }", Output(ids.EXPLORER_COPY, "content"),
                         Input(ids.EXPLORER_COPY, "n_clicks"), prevent_initial_call=True)
