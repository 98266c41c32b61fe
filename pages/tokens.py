"""Personal API tokens: create (the secret is shown once), list, revoke."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from tds_dash import i18n
from tds_dash.auth.admin_rows import columns, token_rows
from tds_dash.auth.users import UserInputError, create_token, revoke_token
from tds_dash.context import current_language, current_user, services
from tds_dash.db import session_scope
from tds_dash.i18n.grid import grid_options
from tds_dash.queries import users as user_queries

dash.register_page(__name__, path="/tokens", name="API tokens", order=95, nav_key="nav.tokens", nav_more=True)

NAME, CREATE, REVOKE, TABLE, FEEDBACK = "tokens-name", "tokens-create", "tokens-revoke", "tokens-table", "tokens-feedback"


def layout(**kwargs):
    language = current_language()
    return html.Div([
        html.H3(i18n.t("tokens.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("tokens.name", language)), dbc.Input(id=NAME)], md=4),
            dbc.Col([dbc.Button(i18n.t("tokens.create", language), id=CREATE, color="primary", className="me-2"),
                     dbc.Button(i18n.t("tokens.revoke", language), id=REVOKE, color="danger")], md=8,
                    className="pt-4"),
        ])), className="mb-3 shadow-sm"),
        html.Div(id=FEEDBACK),
        dag.AgGrid(id=TABLE, rowData=[], columnDefs=columns(language, "tokens.col", ("name", "prefix", "created", "last_used", "revoked")),
                   dashGridOptions=grid_options(language, domLayout="autoHeight", rowSelection="single"), className="ag-theme-alpine"),
        dcc.Interval(id="tokens-load", interval=3_600_000, max_intervals=1),
    ])


@callback(Output(FEEDBACK, "children"), Output(TABLE, "rowData"),
          Input("tokens-load", "n_intervals"), Input(CREATE, "n_clicks"), Input(REVOKE, "n_clicks"),
          State(NAME, "value"), State(TABLE, "selectedRows"))
def on_token_action(_load, _create, _revoke, name, selected):
    language, user, engine = current_language(), current_user(), services().engine
    feedback = None
    try:
        if dash.ctx.triggered_id == CREATE:
            secret = create_token(engine, user, name)
            feedback = dbc.Alert([i18n.t("tokens.shown_once", language), html.Code(secret, id="tokens-secret",
                                                                                   className="ms-2")], color="success")
        elif dash.ctx.triggered_id == REVOKE and selected:
            revoke_token(engine, user, selected[0]["id"])
            feedback = dbc.Alert(i18n.t("tokens.revoked", language), color="info", id="tokens-revoked")
    except UserInputError as error:
        feedback = dbc.Alert(error.localized(language), color="danger", id="tokens-error")
    with session_scope(engine) as conn:
        tokens = user_queries.list_tokens(conn, user.id)
    return feedback, token_rows(tokens, services().settings.zone, language)
