"""The explorer page's components (no data access): controls set from the URL state, chart and table cards."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n, periods
from tds_dash.consumption import ids
from tds_dash.consumption.explorer import cost_view
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.consumption.explorer.totals import PAGE_SIZE
from tds_dash.figures import loading, placeholder_figure
from tds_dash.i18n.grid import grid_options
from tds_dash.settings import Settings


def _dropdown(language: str, key: str, id_: str, options: list, value, placeholder: str | None, md: int) -> dbc.Col:
    return dbc.Col([dbc.Label(i18n.t(key, language)),
                    dcc.Dropdown(labels=i18n.dropdown_labels(language), id=id_, options=options, value=value, multi=placeholder is not None,
                                 clearable=placeholder is not None,
                                 placeholder=i18n.t(placeholder, language) if placeholder else None)], md=md)


def _radio(language: str, id_: str, values, value, prefix: str) -> dbc.RadioItems:
    return dbc.RadioItems(id=id_, value=value, inline=True,
                          options=[{"label": i18n.t(f"{prefix}.{v}", language), "value": v} for v in values])


def controls(state: dict, options: dict, language: str, note: str = "") -> dbc.Card:
    """Filters, period, granularity and chart mode, set from the URL state."""
    t = lambda key: i18n.t(key, language)  # noqa: E731
    return dbc.Card(dbc.CardBody([dbc.Row([
        _dropdown(language, "filter.account", ids.EXPLORER_ACCOUNT, options["account"], state["accounts"],
                  "filter.all", 3),
        _dropdown(language, "filter.gateway", ids.EXPLORER_GATEWAY, options["gateway"], state["gateways"],
                  "filter.all_gateways", 3),
        _dropdown(language, "filter.device", ids.EXPLORER_DEVICE, options["device"], state["devices"],
                  "filter.all_devices_search", 4),
        _dropdown(language, "filter.metric", ids.EXPLORER_METRIC, options["metric"], state["metric"], None, 2),
    ], className="mb-2"), dbc.Row([
        dbc.Col([dbc.Label(t("explorer.period")),
                 _radio(language, ids.EXPLORER_PRESET, periods.PRESETS, state["preset"], "preset"),
                 dcc.DatePickerRange(id=ids.EXPLORER_DATES, start_date=state["first_day"], end_date=state["last_day"],
                                     **i18n.date_range_texts(language),
                                     minimum_nights=0)], md=6),
        dbc.Col([dbc.Label(t("explorer.granularity")),
                 _radio(language, ids.EXPLORER_GRANULARITY, ("auto",) + periods.EXPLORER_GRANULARITIES, state["granularity"],
                        "granularity"),
                 html.Div(note, id=ids.EXPLORER_GRANULARITY_USED, className="small text-muted")], md=3),
        dbc.Col([dbc.Label(t("explorer.mode")),
                 _radio(language, ids.EXPLORER_MODE, explorer_model.MODES, state["mode"], "mode"),
                 dbc.Switch(id=ids.EXPLORER_COMPARE, label=t("explorer.compare"), value=state["compare"])], md=3),
    ])]), className="mb-3 shadow-sm")


def _help(settings: Settings, language: str, top_devices: int) -> html.Span:
    """The long explanation (how consumption is counted, what the comparison means) behind a help icon."""
    return html.Span([
        html.Button("?", id=ids.EXPLORER_HELP, className="btn btn-sm btn-outline-secondary rounded-circle ms-2",
                    title=i18n.t("explorer.help_button", language), type="button",
                    **{"aria-label": i18n.t("explorer.help_button", language)}),
        dbc.Popover(dbc.PopoverBody([
            html.P(i18n.t("explorer.help", language, zone=settings.timezone, top=top_devices), id="explorer-help"),
            html.P(i18n.t("explorer.others_more", language, top=top_devices)),
            html.P(i18n.t("compare.help", language), className="mb-0")], className="small"),
            target=ids.EXPLORER_HELP, trigger="legacy", placement="bottom"),
    ])


def _chart_header(language: str, change) -> dbc.CardHeader:
    button = {"size": "sm", "color": "secondary", "outline": True}
    return dbc.CardHeader(dbc.Row([
        dbc.Col(html.Div(change, id=ids.EXPLORER_CHANGE, className="small"), className="pt-1"),
        dbc.Col([cost_view.measure_control(language),
                 html.Span([dcc.Clipboard(id=ids.EXPLORER_COPY, title=i18n.t("explorer.copy_link", language),
                                          className="d-inline-block me-1"),
                            html.Span(i18n.t("explorer.copy_link", language), className="small")],
                           className="btn btn-sm btn-outline-secondary me-2", id=f"{ids.EXPLORER_COPY}-box"),
                 dbc.Button(i18n.t("explorer.download_csv", language), id=ids.EXPLORER_CSV, className="me-2",
                            **button),
                 dbc.Button(i18n.t("explorer.download_xlsx", language), id=ids.EXPLORER_XLSX, **button)],
                width="auto")]))


def totals_grid(language: str, columns: list[dict] | None = None) -> dag.AgGrid:
    """Per-device totals, a page at a time from the server (explorer/totals.py), sorted there; `columns`: the
    store's (with the cost column when priced), else the unit's."""
    return dag.AgGrid(id=ids.EXPLORER_TABLE, columnDefs=columns or explorer_model.table_columns(language),
                      rowModelType="infinite", className="ag-theme-alpine",
                      dashGridOptions=grid_options(language, domLayout="autoHeight", pagination=True,
                                                   paginationPageSize=PAGE_SIZE, cacheBlockSize=PAGE_SIZE,
                                                   paginationPageSizeSelector=False, maxBlocksInCache=10))


FIRST_VIEW = ("store", "alert", "note", "figure", "change")  # what the store's callback answers, in its order


def _given(first: dict, key: str, default=None):
    """A part of the first view; the store callback's 'keep what is shown' (no_update) is nothing yet here."""
    value = first.get(key)
    return default if value is None or value is dash.no_update else value


def page(state: dict, options: dict, settings: Settings, language: str, top_devices: int, first: dict) -> html.Div:
    """The page with its first view (FIRST_VIEW: the store and what is drawn from it) already in place."""
    graph_config = i18n.graph_config(language)
    return html.Div([
        html.Div([html.H3(i18n.t("explorer.title", language), className="mb-0"),
                  _help(settings, language, top_devices)], className="d-flex align-items-center mb-3"),
        controls(state, options, language, _given(first, "note", "")),
        dcc.Interval(id=ids.EXPLORER_INTERVAL, interval=settings.refresh_seconds * 1000),
        dcc.Store(id=ids.EXPLORER_STORE, data=_given(first, "store")), dcc.Download(id=ids.EXPLORER_DOWNLOAD),
        dcc.Store(id=ids.EXPLORER_TOP, data=state["top"]),
        dcc.Location(id=ids.EXPLORER_GOTO, refresh="callback-nav"),
        dcc.Location(id=ids.EXPLORER_URL, refresh=False),
        html.Div(_given(first, "alert"), id=ids.EXPLORER_ALERT),
        dbc.Card([_chart_header(language, _given(first, "change")),
                  dbc.CardBody(loading(dcc.Graph(id=ids.EXPLORER_CHART, config=graph_config,
                                                 figure=_given(first, "figure", placeholder_figure(380))), 380))],
                 className="mb-3 shadow-sm"),
        dbc.Card([dbc.CardHeader(i18n.t("explorer.totals", language)),
                  dbc.CardBody(totals_grid(language, (_given(first, "store") or {}).get("columns")))],
                 className="shadow-sm"),
    ])
