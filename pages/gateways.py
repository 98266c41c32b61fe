"""Gateways: search, sort and page the fleet; create, edit, (de)activate and delete with confirmation."""
from __future__ import annotations

from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.fleet import actions as fleet_actions
from tds_dash.fleet import components as fleet_components
from tds_dash.fleet import gateway_list as view
from tds_dash.fleet import ids as fid
from tds_dash.queries import certificates, fleet

dash.register_page(__name__, path="/gateways", name="Gateways", order=20, nav_key="nav.gateways")
inputs.declare({f"{fid.GW_ACCOUNT}.value": inputs.optional_id, f"{fid.GW_SEARCH}.value": inputs.text,
                f"{fid.GW_STATUS}.value": inputs.text, f"{fid.GW_SORT}.data": inputs.record(False, key=inputs.text, desc=inputs.flag),
                f"{fid.GW_EDIT}.data": inputs.record(id=inputs.optional_id, version=inputs.count),
                f"{fid.GW_PENDING}.data": inputs.record(action=inputs.text, id=inputs.optional_id, version=inputs.count)})


def layout(register: str | None = None, account: str | None = None, **_query):
    """?register=SERIAL&account=ID opens the form prefilled (the rejected-messages lists link here)."""
    language, can = current_language(), fleet_actions.can_manage()
    with session_scope(services().engine) as conn:
        accounts = fleet.list_accounts(conn, current_scope())
    prefill = {"serial": register, "account_id": account, "name": register} if register and can else None
    body = view.form_body(prefill, {}, accounts, None, language) if prefill else None
    return html.Div([
        html.H3(i18n.t("gateways.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("gateways.account", language)),
                     dcc.Dropdown(labels=i18n.dropdown_labels(language), id=fid.GW_ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                                  placeholder=i18n.t("fleet.all", language))], md=3),
            fleet_components.filter_search(fid.GW_SEARCH, language),
            fleet_components.status_filter(fid.GW_STATUS, view.STATUSES, language),
            dbc.Col(dbc.Button(i18n.t("gateways.new", language), id=fid.GW_NEW, color="primary",
                               className="" if can else "d-none"), md=4, className="pt-4 text-end"),
        ])), className="mb-3 shadow-sm"),
        html.Div(id=fid.GW_ALERT),
        html.Div(id=fid.GW_UNKNOWN),
        view.provisioning_card(accounts, language) if can else None,  # viewers cannot switch it: not shown
        html.Div(id=fid.GW_TABLE),
        dbc.Row([dbc.Col(dbc.Pagination(id=fid.GW_PAGES, max_value=1, active_page=1, fully_expanded=False)),
                 dbc.Col(html.Div(id=fid.GW_TOTAL, className="text-muted small text-end"))]),
        dcc.Store(id=fid.GW_SORT, data={"key": "serial", "desc": False}), dcc.Store(id=fid.GW_REFRESH),
        dcc.Store(id=fid.GW_EDIT), dcc.Store(id=fid.GW_PENDING),
        fleet_components.form_modal(fid.GW_MODAL, fid.GW_FORM_BODY, fid.GW_SAVE, fid.GW_CANCEL, language, body,
                              is_open=body is not None),
        fleet_components.confirm_modal(fid.GW_CONFIRM, fid.GW_CONFIRM_BODY, fid.GW_CONFIRM_OK, fid.GW_CONFIRM_CANCEL,
                                 language),
    ])


@callback(Output(fid.GW_TABLE, "children"), Output(fid.GW_PAGES, "max_value"), Output(fid.GW_TOTAL, "children"),
          Output(fid.GW_UNKNOWN, "children"),
          Input(fid.GW_ACCOUNT, "value"), Input(fid.GW_SEARCH, "value"), Input(fid.GW_STATUS, "value"),
          Input(fid.GW_SORT, "data"), Input(fid.GW_PAGES, "active_page"), Input(fid.GW_REFRESH, "data"))
def update_table(account_id, search, status, sort, page, _refresh):
    app, language, now = services(), current_language(), datetime.now(timezone.utc)
    scope = current_scope().restrict(account_id)
    with session_scope(app.engine) as conn:
        found = fleet.list_gateways_page(conn, scope, now, search=search or "", status=status, sort=sort["key"],
                                         descending=sort["desc"], offset=((page or 1) - 1) * fleet_components.PAGE_SIZE,
                                         limit=fleet_components.PAGE_SIZE)
        unknown = fleet.list_unknown_gateways(conn, scope)
        cert_states = certificates.certificate_states(conn, [row["id"] for row in found.rows], now)
        undeletable = fleet.gateways_with_readings(conn, [row["id"] for row in found.rows])
    can = fleet_actions.can_manage()
    header = fleet_components.sortable_header("gateways", view.columns(language)[:None if can else -1], sort)
    table = fleet_components.table("gateways-list", header, view.rows(found.rows, now, app.settings.zone, language, can,
                                                                     cert_states, undeletable),
                             language)
    return (table, fleet_components.page_count(found.total),
            i18n.t("fleet.total", language, count=i18n.format_number(found.total, language, 0)),
            view.unknown_card(unknown, now, language, can))


@callback(Output(fid.GW_SORT, "data"), Output(fid.GW_PAGES, "active_page"),
          Input({"type": "gateways-sort", "key": ALL}, "n_clicks"), State(fid.GW_SORT, "data"),
          prevent_initial_call=True)
def on_sort(_clicks, sort):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # the header was re-rendered, nobody clicked
    return fleet_components.next_sort(sort, ctx.triggered_id["key"]), 1


@callback(Output(fid.GW_MODAL, "is_open", allow_duplicate=True), Output(fid.GW_FORM_BODY, "children",
                                                                        allow_duplicate=True),
          Output(fid.GW_EDIT, "data"),
          Input(fid.GW_NEW, "n_clicks"), Input({"type": "gateways-edit", "action": "edit", "index": ALL}, "n_clicks"),
          Input({"type": "gateways-register", "serial": ALL, "account": ALL}, "n_clicks"),
          Input(fid.GW_CANCEL, "n_clicks"), prevent_initial_call=True)
def open_form(_new, _edit, _register, _cancel):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    if ctx.triggered_id == fid.GW_CANCEL:
        return False, None, None
    language, trigger = current_language(), ctx.triggered_id
    with session_scope(services().engine) as conn:
        accounts = fleet.list_accounts(conn, current_scope())
        stored = (fleet.get_gateway(conn, current_scope(), datetime.now(timezone.utc), trigger["index"])
                  if isinstance(trigger, dict) and trigger["type"] == "gateways-edit" else None)
    if isinstance(trigger, dict) and trigger["type"] == "gateways-register":
        values = {"serial": trigger["serial"], "account_id": trigger["account"], "name": trigger["serial"]}
    else:
        values = stored or {}
    editing = {"id": stored["id"], "version": stored["version"], "serial": stored["serial"]} if stored else None
    return True, view.form_body(values, {}, accounts, editing, language), editing


@callback(Output(fid.GW_MODAL, "is_open", allow_duplicate=True), Output(fid.GW_FORM_BODY, "children",
                                                                        allow_duplicate=True),
          Output(fid.GW_REFRESH, "data", allow_duplicate=True), Output(fid.GW_ALERT, "children",
                                                                       allow_duplicate=True),
          Input(fid.GW_SAVE, "n_clicks"), State({"type": "gateways-field", "name": ALL}, "value"),
          State({"type": "gateways-flag", "name": ALL}, "value"), State(fid.GW_EDIT, "data"),
          prevent_initial_call=True)
def save_form(_save, _fields, _flags, editing):
    raw = {**fleet_components.values_by_name(ctx.states_list[0]), **fleet_components.values_by_name(ctx.states_list[1])}
    outcome = fleet_actions.submit_gateway(raw, editing)
    if outcome.saved:
        return False, None, datetime.now().isoformat(), dbc.Alert(outcome.message, color="success", duration=6000)
    with session_scope(services().engine) as conn:
        accounts = fleet.list_accounts(conn, current_scope())
    body = view.form_body(raw, outcome.errors, accounts, editing, current_language(), outcome.form_alert)
    return True, body, dash.no_update, dash.no_update


@callback(Output(fid.GW_CONFIRM, "is_open", allow_duplicate=True), Output(fid.GW_CONFIRM_BODY, "children"),
          Output(fid.GW_PENDING, "data"),
          Input({"type": "gateways-act", "action": ALL, "index": ALL}, "n_clicks"), prevent_initial_call=True)
def ask_confirm(_clicks):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    prepared = fleet_actions.prepare_action("gateway", ctx.triggered_id["action"], ctx.triggered_id["index"])
    if prepared is None:
        raise PreventUpdate  # gone meanwhile: the next refresh drops its row
    question, pending, _readings = prepared
    return True, question, pending


@callback(Output(fid.GW_CONFIRM, "is_open", allow_duplicate=True), Output(fid.GW_ALERT, "children",
                                                                          allow_duplicate=True),
          Output(fid.GW_REFRESH, "data", allow_duplicate=True),
          Input(fid.GW_CONFIRM_OK, "n_clicks"), Input(fid.GW_CONFIRM_CANCEL, "n_clicks"), State(fid.GW_PENDING, "data"),
          prevent_initial_call=True)
def on_confirm(_ok, _cancel, pending):
    if ctx.triggered_id == fid.GW_CONFIRM_CANCEL or not pending:
        return False, dash.no_update, dash.no_update
    outcome = fleet_actions.run_action("gateway", pending)
    return False, dbc.Alert(outcome.message, color=outcome.color, duration=8000), datetime.now().isoformat()


@callback(Output(fid.GW_PROVISIONING, "children"), Input({"type": "gateways-provisioning", "account": ALL}, "value"),
          prevent_initial_call=True)
def on_provisioning(_values):
    if not isinstance(ctx.triggered_id, dict):
        raise PreventUpdate
    return fleet_actions.switch_auto_provision(ctx.triggered_id["account"], bool(ctx.triggered[0]["value"]))
