"""Alarms: what needs attention now and what happened, filterable; operators acknowledge and clear."""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

from tds_dash import i18n
from tds_dash.alarms import view
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.queries import filters

dash.register_page(__name__, path="/alarms", name="Alarms", order=24, nav_key="nav.alarms", nav_badge=view.nav_badge)

log = logging.getLogger(__name__)
ACCOUNT, SEVERITY, STATE, RULE, PERIOD = "alarms-account", "alarms-severity", "alarms-state", "alarms-rule", \
    "alarms-period"
TABLE, BADGES, ALERT, COMMENT, REFRESH, TICK, FOCUS = ("alarms-table", "alarms-badges", "alarms-alert",
                                                       "alarms-comment", "alarms-refresh", "alarms-tick", "alarms-focus")
DELIVERIES = "alarms-delivery-log"


def layout(alarm: str | None = None, **query):
    """Filters, comment box, alarms table; `?alarm=<id>` (a notification's link) shows that alarm, and
    `?state=&severity=&account=` (the overview's counts) preset the filters."""
    language = current_language()
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, current_scope())
    choices = view.filter_options(language)
    preset = view.preset_filters(query, choices, accounts, focused=bool(alarm))

    def dropdown(id_: str, label: str, md: int = 2, **kw) -> dbc.Col:
        return dbc.Col([dbc.Label(i18n.t(label, language)), dcc.Dropdown(labels=i18n.dropdown_labels(language), id=id_, **kw)], md=md)

    return html.Div([
        html.H3([i18n.t("alarms.title", language), html.Span(id=BADGES, className="ms-3 fs-6")], className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dropdown(ACCOUNT, "filter.account", placeholder=i18n.t("filter.all", language),
                     options=[{"label": a["name"], "value": a["id"]} for a in accounts], value=preset["account"]),
            dropdown(SEVERITY, "alarms.filter.severity", options=choices["severity"], value=preset["severity"],
                     placeholder=i18n.t("filter.all", language)),
            dropdown(STATE, "alarms.filter.state", options=choices["state"], value=preset["state"],
                     placeholder=i18n.t("filter.all", language)),
            dropdown(RULE, "alarms.filter.rule", md=3, options=view.rule_options(),
                     placeholder=i18n.t("filter.all", language)),
            dropdown(PERIOD, "alarms.filter.period", options=choices["period"], value="7d", clearable=False),
        ])), className="mb-3 shadow-sm"),
        dbc.Input(id=COMMENT, placeholder=i18n.t("alarms.comment", language), className="mb-2", maxLength=1000),
        html.Div(id=ALERT),
        html.Div(id=TABLE),
        html.H5(i18n.t("alarms.deliveries", language), className="mt-4"),
        html.Div(id=DELIVERIES),
        dcc.Store(id=REFRESH, data=0),
        # A notification's link (/alarms?alarm=42) shows that alarm whatever its state.
        dcc.Store(id=FOCUS, data=int(alarm) if alarm and alarm.isdigit() and len(alarm) < 18 else None),
        dcc.Interval(id=TICK, interval=services().settings.refresh_seconds * 1000),
    ])


@callback(Output(TABLE, "children"), Output(BADGES, "children"), Output(DELIVERIES, "children"),
          Input(ACCOUNT, "value"), Input(SEVERITY, "value"), Input(STATE, "value"), Input(RULE, "value"),
          Input(PERIOD, "value"), Input(REFRESH, "data"), Input(TICK, "n_intervals"), State(FOCUS, "data"))
def update_table(account_id, severity, state, rule_id, period, _refresh, _tick, focus):
    """Filters -> the alarms table, the active-count badges and the delivery log."""
    language = current_language()
    chosen = {"account": account_id, "severity": severity, "state": state, "rule": rule_id, "period": period,
              "alarm": focus}
    try:
        zone = services().settings.zone
        return (view.alarms_table(chosen, view.utc_now(), zone, language), view.badges(language),
                view.deliveries_table(zone, language))
    except Exception as error:  # shown and logged, never hidden
        log.exception("alarms query failed")
        alert = dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
        return alert, dash.no_update, dash.no_update


@callback(Output(ALERT, "children"), Output(REFRESH, "data"),
          Input({"type": view.ACK, "index": ALL}, "n_clicks"), Input({"type": view.CLEAR, "index": ALL}, "n_clicks"),
          State(COMMENT, "value"), State(REFRESH, "data"), prevent_initial_call=True)
def on_action(_acks, _clears, comment, refresh):
    """An Acknowledge or Clear button -> the outcome, and a refresh of the table."""
    if not ctx.triggered_id or not ctx.triggered[0]["value"]:
        raise dash.exceptions.PreventUpdate  # buttons (re)drawn, none clicked yet
    alert = view.act(ctx.triggered_id["type"], ctx.triggered_id["index"], comment, current_language())
    return alert, (refresh or 0) + 1
