"""Users and accounts administration (admins only): create, edit role/accounts, disable, reset password, audit."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from tds_dash import i18n
from tds_dash.auth.admin_rows import audit_rows, columns, user_rows
from tds_dash.auth.users import UserInputError, create_user, reset_password, update_user
from tds_dash.context import Forbidden, current_language, current_user, require_role, services
from tds_dash.db import session_scope
from tds_dash.i18n.grid import grid_options
from tds_dash.queries import users as user_queries

dash.register_page(__name__, path="/admin", name="Admin", order=90, nav_key="nav.admin", roles=("admin",), nav_more=True)

USERS_TABLE, AUDIT_TABLE, FEEDBACK = "admin-users-table", "admin-audit-table", "admin-feedback"
F_USERNAME, F_NAME, F_ROLE, F_ACCOUNTS, F_ACTIVE, F_PASSWORD = (
    "admin-username", "admin-name", "admin-role", "admin-accounts", "admin-active", "admin-password")
B_CREATE, B_UPDATE, B_RESET = "admin-create", "admin-update", "admin-reset"
USER_FIELDS = ("username", "name", "role", "accounts", "active")
AUDIT_FIELDS = ("at", "username", "action", "entity", "entity_id", "change")


def _form(language: str, accounts: list[dict]) -> dbc.Card:
    t = lambda key: i18n.t(key, language)  # noqa: E731
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            dbc.Col([dbc.Label(t("admin.username")), dbc.Input(id=F_USERNAME)], md=3),
            dbc.Col([dbc.Label(t("admin.name")), dbc.Input(id=F_NAME)], md=3),
            dbc.Col([dbc.Label(t("admin.role")), dcc.Dropdown(labels=i18n.dropdown_labels(language), id=F_ROLE, options=list(user_queries.ROLES),
                                                              value="viewer", clearable=False)], md=2),
            dbc.Col([dbc.Label(t("admin.accounts")),
                     dcc.Dropdown(labels=i18n.dropdown_labels(language), id=F_ACCOUNTS, multi=True,
                                  options=[{"label": a["name"], "value": a["slug"]} for a in accounts])], md=4),
        ], className="mb-2"),
        dbc.Row([
            dbc.Col([dbc.Label(t("admin.password")), dbc.Input(id=F_PASSWORD, type="password")], md=3),
            dbc.Col(dbc.Switch(id=F_ACTIVE, label=t("admin.active"), value=True), md=2, className="pt-4"),
            dbc.Col([dbc.Button(t("admin.create"), id=B_CREATE, color="primary", className="me-2"),
                     dbc.Button(t("admin.update"), id=B_UPDATE, color="secondary", className="me-2"),
                     dbc.Button(t("admin.reset"), id=B_RESET, color="warning")], md=7, className="pt-4"),
        ]),
        html.Div(id=FEEDBACK, className="mt-2"),
    ]), className="mb-3 shadow-sm")


def layout(**kwargs):
    language = current_language()
    user = current_user()
    if user is None or user.role != "admin":
        return dbc.Alert(i18n.t("admin.forbidden", language), color="warning")
    with session_scope(services().engine) as conn:
        accounts = user_queries.list_all_accounts(conn)
    grid = grid_options(language, domLayout="autoHeight", rowSelection="single")
    return html.Div([
        html.H3(i18n.t("admin.title", language), className="mb-3"),
        _form(language, accounts),
        dag.AgGrid(id=USERS_TABLE, rowData=[], columnDefs=columns(language, "admin.col", USER_FIELDS),
                   dashGridOptions=grid, className="ag-theme-alpine mb-4"),
        html.H5(i18n.t("admin.audit", language)),
        dag.AgGrid(id=AUDIT_TABLE, rowData=[], columnDefs=columns(language, "admin.col", AUDIT_FIELDS),
                   dashGridOptions=grid_options(language, domLayout="autoHeight", pagination=True, paginationPageSize=20),
                   className="ag-theme-alpine"),
        dcc.Interval(id="admin-load", interval=3_600_000, max_intervals=1),
    ])


@callback(Output(FEEDBACK, "children"), Output(USERS_TABLE, "rowData"), Output(AUDIT_TABLE, "rowData"),
          Input("admin-load", "n_intervals"), Input(B_CREATE, "n_clicks"), Input(B_UPDATE, "n_clicks"),
          Input(B_RESET, "n_clicks"),
          State(F_USERNAME, "value"), State(F_NAME, "value"), State(F_ROLE, "value"), State(F_ACCOUNTS, "value"),
          State(F_ACTIVE, "value"), State(F_PASSWORD, "value"), State(USERS_TABLE, "selectedRows"))
def on_admin_action(_load, _create, _update, _reset, username, name, role, accounts, active, password, selected):
    language = current_language()
    try:
        require_role("admin")
        feedback = _apply(dash.ctx.triggered_id, username, name, role, accounts or [], active, password, selected)
    except (UserInputError, Forbidden) as error:
        feedback = dbc.Alert(error.localized(language) if isinstance(error, UserInputError) else str(error),
                             color="danger", id="admin-error")
    with session_scope(services().engine) as conn:
        users = user_queries.list_users(conn) if current_user() and current_user().role == "admin" else []
        audit = user_queries.list_audit(conn) if users else []
        slugs = {a["id"]: a["slug"] for a in user_queries.list_all_accounts(conn)} if users else {}
    return feedback, user_rows(users, slugs), audit_rows(audit, services().settings.zone, language)


def _apply(trigger, username, name, role, accounts, active, password, selected):
    engine, actor, language = services().engine, current_user(), current_language()
    if trigger == B_CREATE:
        create_user(engine, actor, username or "", name or "", password or "", role, accounts)
        return dbc.Alert(i18n.t("admin.created", language), color="success", id="admin-ok")
    if trigger in (B_UPDATE, B_RESET):
        if not selected:
            raise UserInputError(i18n.t("admin.select", language))
        user_id = selected[0]["id"]
        if trigger == B_UPDATE:
            update_user(engine, actor, user_id, name or selected[0]["name"], role, bool(active), accounts)
        else:
            reset_password(engine, actor, user_id, password or "")
        return dbc.Alert(i18n.t("admin.saved", language), color="success", id="admin-ok")
    return None
