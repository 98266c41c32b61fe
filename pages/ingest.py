"""Ingest: the last hour of ingest figures per minute (from ingest_minutes), rejections, slowest gateways."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from tds_dash import i18n
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.figures import loading, placeholder_figure
from tds_dash.i18n.grid import grid_options
from tds_dash.monitoring import ingest_page
from tds_dash.queries import ingest as ingest_queries

dash.register_page(__name__, path="/ingest", name="Ingest", order=80, nav_key="nav.ingest", roles=("admin",), nav_more=True, charts=True)

log = logging.getLogger(__name__)

INTERVAL, STORE, ALERT, UPDATED = "ingest-interval", "ingest-store", "ingest-alert", "ingest-updated"
THROUGHPUT, PROBLEMS, COMMIT, BATCH = "ingest-throughput", "ingest-problems", "ingest-commit", "ingest-batch"
REASONS, SLOWEST = "ingest-reasons", "ingest-slowest"
WINDOW = timedelta(hours=1)


def _card(title_key: str, graph_id: str, language: str, config: dict) -> dbc.Col:
    return dbc.Col(dbc.Card([dbc.CardHeader(i18n.t(title_key, language)),
                             dbc.CardBody(loading(dcc.Graph(id=graph_id, config=config,
                                                            figure=placeholder_figure(280)), 280))],
                            className="mb-3 shadow-sm"), lg=6)


def layout(**kwargs):
    language = current_language()
    config = i18n.graph_config(language)
    return html.Div([
        html.H3(i18n.t("ingest.title", language), className="mb-1"),
        html.P([i18n.t("ingest.note", language), " ",
                dcc.Link(i18n.t("ingest.rejected_link", language), href="/rejected")], className="text-muted small"),
        html.Div(id=UPDATED, className="small text-muted mb-2"),
        html.Div(id=ALERT),
        dcc.Interval(id=INTERVAL, interval=services().settings.refresh_seconds * 1000),
        dcc.Store(id=STORE),
        dbc.Row([_card("ingest.chart.throughput", THROUGHPUT, language, config),
                 _card("ingest.chart.problems", PROBLEMS, language, config)]),
        dbc.Row([_card("ingest.chart.commit", COMMIT, language, config),
                 _card("ingest.chart.batch", BATCH, language, config)]),
        dbc.Row([_card("ingest.chart.reasons", REASONS, language, config),
                 dbc.Col(dbc.Card([dbc.CardHeader(i18n.t("ingest.table.slowest", language)),
                                   dbc.CardBody(dag.AgGrid(id=SLOWEST, rowData=[],
                                                           columnDefs=ingest_page.slowest_columns(language),
                                                           dashGridOptions=grid_options(language, domLayout="autoHeight"),
                                                           className="ag-theme-alpine"))],
                                  className="mb-3 shadow-sm"), lg=6)]),
    ])


@callback(Output(STORE, "data"), Output(UPDATED, "children"), Output(ALERT, "children"),
          Input(INTERVAL, "n_intervals"))
def update_ingest_store(_tick):
    app, language = services(), current_language()
    now = datetime.now(timezone.utc)
    try:
        with session_scope(app.engine) as conn:
            data = ingest_queries.fetch_ingest_page(conn, current_scope(), now - WINDOW, now)
    except Exception as error:  # shown and logged; the last good figures stay on screen
        log.exception("ingest page refresh failed")
        return dash.no_update, dash.no_update, dbc.Alert(i18n.t("error.load", language, error=type(error).__name__),
                                                         color="danger")
    updated = i18n.t("refresh.updated", language, when=i18n.format_datetime(now, app.settings.zone, language))
    return ingest_page.to_store(data, now), updated, None


@callback(Output(THROUGHPUT, "figure"), Output(PROBLEMS, "figure"), Output(COMMIT, "figure"), Output(BATCH, "figure"),
          Input(STORE, "data"), prevent_initial_call=True)
def update_charts(store):
    zone, language = services().settings.zone, current_language()
    minutes = store["minutes"]
    return (ingest_page.throughput_figure(minutes, zone, language), ingest_page.problems_figure(minutes, zone, language),
            ingest_page.commit_figure(minutes, zone, language), ingest_page.batch_figure(minutes, zone, language))


@callback(Output(REASONS, "figure"), Output(SLOWEST, "rowData"), Input(STORE, "data"), prevent_initial_call=True)
def update_reasons_and_slowest(store):
    zone, language = services().settings.zone, current_language()
    return (ingest_page.reasons_figure(store["rejections"], language),
            ingest_page.slowest_rows(store["slowest"], zone, language))
