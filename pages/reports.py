"""Relatórios: the monthly statements of the viewer's accounts, their PDF/CSV, and "Regenerar" for operators."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, register_page

from tds_dash import i18n, inputs
from tds_dash.context import current_language
from tds_dash.statements import view

register_page(__name__, path="/reports", name="Reports", order=27, nav_key="nav.reports")

SUPERSEDED, TABLE, ALERT, REFRESH, HIGHLIGHT = ("reports-superseded", "reports-list", "reports-alert",
                                                "reports-refresh", "reports-highlight")
inputs.declare({f"{SUPERSEDED}.value": inputs.flag, f"{REFRESH}.data": inputs.count,
                f"{HIGHLIGHT}.data": inputs.optional_id})


def layout(statement=None, **_query):
    language = current_language()
    highlight = int(statement) if str(statement or "").isdigit() and len(str(statement)) < 19 else None
    return html.Div([
        html.H3(i18n.t("reports.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody([
            dbc.Switch(id=SUPERSEDED, label=i18n.t("reports.show_superseded", language), value=False),
            html.Div(id=ALERT, className="mt-2"),
            html.Div(id=TABLE, className="mt-2"),
        ]), className="mb-3 shadow-sm"),
        dcc.Store(id=REFRESH, data=0), dcc.Store(id=HIGHLIGHT, data=highlight),
    ])


@callback(Output(TABLE, "children"), Input(SUPERSEDED, "value"), Input(REFRESH, "data"), State(HIGHLIGHT, "data"))
def update_table(show_superseded, _refresh, highlight):
    return view.statements_table(current_language(), bool(show_superseded), highlight)


@callback(Output(ALERT, "children"), Output(REFRESH, "data"), Input({"type": view.REGENERATE, "index": ALL}, "n_clicks"),
          State(REFRESH, "data"), prevent_initial_call=True)
def on_regenerate(_clicks, refresh):
    """A Regenerar button -> the outcome (with the tariff versions used) and a fresh table."""
    if not ctx.triggered_id or not ctx.triggered[0]["value"]:
        raise dash.exceptions.PreventUpdate  # buttons (re)drawn, none clicked yet
    return view.regenerate(ctx.triggered_id["index"], current_language()), (refresh or 0) + 1
