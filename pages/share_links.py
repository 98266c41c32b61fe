"""Presentation links: operators create (shown once), list and revoke read-only links to an account's /present."""
from __future__ import annotations

from datetime import datetime, timezone

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, dcc, html

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet.actor import request_actor
from tds_dash.i18n.grid import grid_options
from tds_dash.queries.filters import list_accounts
from tds_dash.sharing import links, view

dash.register_page(__name__, path="/share-links", name="Share links", order=93, nav_key="nav.share_links",
                   title_key="share.title", roles=("admin", "operator"), nav_more=True)
ACCOUNT, DAYS, LABEL, CREATE, REVOKE = "share-account", "share-days", "share-label", "share-create", "share-revoke"
TABLE, FEEDBACK, LOAD, PRESENT = "share-table", "share-feedback", "share-load", "share-present"
inputs.declare({f"{ACCOUNT}.value": inputs.optional_id, f"{DAYS}.value": inputs.text, f"{LABEL}.value": inputs.text})


def layout(**kwargs):
    language = current_language()
    with session_scope(services().engine) as conn:
        accounts = list_accounts(conn, current_scope())
    return html.Div([
        html.H3(i18n.t("share.title", language), className="mb-2"),
        html.P(i18n.t("share.help", language), className="text-muted"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("share.account", language), html_for=ACCOUNT),
                     dcc.Dropdown(id=ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                                  value=accounts[0]["id"] if accounts else None, clearable=False,
                                  labels=i18n.dropdown_labels(language))], md=3),
            dbc.Col([dbc.Label(i18n.t("share.days", language), html_for=DAYS),
                     dbc.Input(id=DAYS, value=str(links.DEFAULT_DAYS), inputMode="numeric")], md=2),
            dbc.Col([dbc.Label(i18n.t("share.label", language), html_for=LABEL),
                     dbc.Input(id=LABEL, maxLength=links.MAX_LABEL)], md=3),
            dbc.Col([dbc.Button(i18n.t("share.create", language), id=CREATE, color="primary", className="me-2"),
                     dbc.Button(i18n.t("share.revoke", language), id=REVOKE, color="danger", outline=True)],
                    md=4, className="pt-4"),
        ])), className="mb-2 shadow-sm"),
        html.A(i18n.t("share.present_own", language), id=PRESENT, href="/present", target="_blank",
               className="d-inline-block mb-3"),
        html.Div(id=FEEDBACK),
        dag.AgGrid(id=TABLE, rowData=[], columnDefs=view.columns(language), className="ag-theme-alpine",
                   dashGridOptions=grid_options(language, domLayout="autoHeight", rowSelection="single")),
        dcc.Interval(id=LOAD, interval=3_600_000, max_intervals=1),
    ])


@callback(Output(PRESENT, "href"), Input(ACCOUNT, "value"))
def update_present_href(account_id):
    with session_scope(services().engine) as conn:
        found = list_accounts(conn, current_scope().restrict(account_id))
    return f"/present?account={found[0]['slug']}" if account_id and found else "/present"


@callback(Output(FEEDBACK, "children"), Output(TABLE, "rowData"), Input(LOAD, "n_intervals"),
          Input(CREATE, "n_clicks"), Input(REVOKE, "n_clicks"), State(ACCOUNT, "value"), State(DAYS, "value"),
          State(LABEL, "value"), State(TABLE, "selectedRows"))
def on_share_action(_load, _create, _revoke, account_id, days, label, selected):
    actor, language, feedback = request_actor(), current_language(), None
    try:
        if dash.ctx.triggered_id == CREATE:
            _row, token = links.create_link(actor, account_id, days, label, flask.current_app.config["SECRET_KEY"])
            url = flask.request.host_url.rstrip("/") + f"/present/{token}"
            feedback = dbc.Alert([i18n.t("share.created", language), html.Br(),
                                  html.Code(url, id="share-url", className="user-select-all")], color="success")
        elif dash.ctx.triggered_id == REVOKE:
            if not selected:
                raise links.ShareLinkError("invalid", "select a link", "share.error.select")
            links.revoke_link(actor, selected[0]["id"])
            feedback = dbc.Alert(i18n.t("share.revoked", language), color="info", id="share-revoked")
    except links.ShareLinkError as error:
        feedback = dbc.Alert(i18n.t(error.key, language), color="danger", id="share-error")
    rows = links.list_links(actor)
    return feedback, view.rows(rows, datetime.now(timezone.utc), services().settings.zone, language)
