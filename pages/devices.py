"""Devices: search, sort and page; create, edit (meter settings too), deactivate, delete or purge."""
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
from tds_dash.fleet import device_list as view
from tds_dash.fleet import ids as fid
from tds_dash.queries import fleet, fleet_devices

dash.register_page(__name__, path="/devices", name="Devices", order=21, nav_key="nav.devices")
inputs.declare({f"{fid.DEV_ACCOUNT}.value": inputs.optional_id, f"{fid.DEV_SEARCH}.value": inputs.text,
                f"{fid.DEV_STATUS}.value": inputs.text, f"{fid.DEV_GATEWAY}.value": inputs.optional_id,
                f"{fid.DEV_SORT}.data": inputs.record(False, key=inputs.text, desc=inputs.flag),
                f"{fid.DEV_EDIT}.data": inputs.record(id=inputs.optional_id, version=inputs.count),
                f"{fid.DEV_PENDING}.data": inputs.record(action=inputs.text, id=inputs.optional_id, version=inputs.count)})


def layout(gateway: str | None = None, edit: str | None = None, **_query):
    """?gateway=ID preselects a gateway (the gateway page links here); ?edit=ID opens that device's form (the
    device page's "Editar")."""
    language, can = current_language(), fleet_actions.can_manage()
    with session_scope(services().engine) as conn:
        accounts = fleet.list_accounts(conn, current_scope())
    form = fleet_actions.device_form(fleet_actions.to_int(edit), None) if can and edit else None
    body = (view.form_body(form.values, {}, form.gateways, form.editing, language, form.metrics, {})
            if form and form.editing else None)
    return html.Div([
        html.H3(i18n.t("devices.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("devices.account", language)),
                     dcc.Dropdown(labels=i18n.dropdown_labels(language), id=fid.DEV_ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                                  placeholder=i18n.t("fleet.all", language))], md=2),
            dbc.Col([dbc.Label(i18n.t("devices.gateway", language)),
                     dcc.Dropdown(labels=i18n.dropdown_labels(language), id=fid.DEV_GATEWAY, value=fleet_actions.to_int(gateway),
                                  placeholder=i18n.t("fleet.all", language))], md=3),
            fleet_components.filter_search(fid.DEV_SEARCH, language),
            fleet_components.status_filter(fid.DEV_STATUS, view.STATUSES, language),
            dbc.Col(dbc.Button(i18n.t("devices.new", language), id=fid.DEV_NEW, color="primary",
                               className="" if can else "d-none"), md=2, className="pt-4 text-end"),
        ])), className="mb-3 shadow-sm"),
        html.Div(id=fid.DEV_ALERT),
        html.Div(id=fid.DEV_TABLE),
        dbc.Row([dbc.Col(dbc.Pagination(id=fid.DEV_PAGES, max_value=1, active_page=1, fully_expanded=False)),
                 dbc.Col(html.Div(id=fid.DEV_TOTAL, className="text-muted small text-end"))]),
        dcc.Store(id=fid.DEV_SORT, data={"key": "code", "desc": False}), dcc.Store(id=fid.DEV_REFRESH),
        dcc.Store(id=fid.DEV_EDIT, data=form.editing if body else None), dcc.Store(id=fid.DEV_PENDING),
        fleet_components.form_modal(fid.DEV_MODAL, fid.DEV_FORM_BODY, fid.DEV_SAVE, fid.DEV_CANCEL, language, body,
                                    is_open=body is not None),
        fleet_components.confirm_modal(fid.DEV_CONFIRM, fid.DEV_CONFIRM_BODY, fid.DEV_CONFIRM_OK, fid.DEV_CONFIRM_CANCEL,
                                 language),
    ])


@callback(Output(fid.DEV_GATEWAY, "options"), Input(fid.DEV_ACCOUNT, "value"))
def update_gateway_options(account_id):
    with session_scope(services().engine) as conn:
        gateways = fleet_devices.list_gateway_choices(conn, current_scope(), account_id)
    return [{"label": f"{g['serial']} · {g['name']}", "value": g["id"]} for g in gateways]


@callback(Output(fid.DEV_TABLE, "children"), Output(fid.DEV_PAGES, "max_value"), Output(fid.DEV_TOTAL, "children"),
          Input(fid.DEV_ACCOUNT, "value"), Input(fid.DEV_GATEWAY, "value"), Input(fid.DEV_SEARCH, "value"),
          Input(fid.DEV_STATUS, "value"), Input(fid.DEV_SORT, "data"), Input(fid.DEV_PAGES, "active_page"),
          Input(fid.DEV_REFRESH, "data"))
def update_table(account_id, gateway_id, search, status, sort, page, _refresh):
    app, language, now = services(), current_language(), datetime.now(timezone.utc)
    with session_scope(app.engine) as conn:
        found = fleet_devices.list_devices_page(
            conn, current_scope().restrict(account_id), gateway_id=gateway_id, search=search or "", status=status,
            sort=sort["key"], descending=sort["desc"], offset=((page or 1) - 1) * fleet_components.PAGE_SIZE,
            limit=fleet_components.PAGE_SIZE)
    can = fleet_actions.can_manage()
    header = fleet_components.sortable_header("devices", view.columns(language)[:None if can else -1], sort)
    table = fleet_components.table("devices-list", header, view.rows(found.rows, now, app.settings.zone, language, can),
                             language)
    return table, fleet_components.page_count(found.total), i18n.t("fleet.total", language,
                                                             count=i18n.format_number(found.total, language, 0))


@callback(Output(fid.DEV_SORT, "data"), Output(fid.DEV_PAGES, "active_page"),
          Input({"type": "devices-sort", "key": ALL}, "n_clicks"), State(fid.DEV_SORT, "data"),
          prevent_initial_call=True)
def on_sort(_clicks, sort):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # the header was re-rendered, nobody clicked
    return fleet_components.next_sort(sort, ctx.triggered_id["key"]), 1


@callback(Output(fid.DEV_MODAL, "is_open", allow_duplicate=True),
          Output(fid.DEV_FORM_BODY, "children", allow_duplicate=True), Output(fid.DEV_EDIT, "data"),
          Input(fid.DEV_NEW, "n_clicks"), Input({"type": "devices-edit", "action": "edit", "index": ALL}, "n_clicks"),
          Input(fid.DEV_CANCEL, "n_clicks"), State(fid.DEV_GATEWAY, "value"), prevent_initial_call=True)
def open_form(_new, _edit, _cancel, gateway_filter):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    if ctx.triggered_id == fid.DEV_CANCEL:
        return False, None, None
    form = fleet_actions.device_form(ctx.triggered_id["index"] if isinstance(ctx.triggered_id, dict) else None,
                                     gateway_filter)
    return True, view.form_body(form.values, {}, form.gateways, form.editing, current_language(), form.metrics,
                                {}), form.editing


@callback(Output(fid.DEV_MODAL, "is_open", allow_duplicate=True),
          Output(fid.DEV_FORM_BODY, "children", allow_duplicate=True),
          Output(fid.DEV_REFRESH, "data", allow_duplicate=True), Output(fid.DEV_ALERT, "children", allow_duplicate=True),
          Input(fid.DEV_SAVE, "n_clicks"), State({"type": "devices-field", "name": ALL}, "value"),
          State({"type": "devices-flag", "name": ALL}, "value"),
          State({"type": "devices-metric", "metric": ALL, "name": ALL}, "value"), State(fid.DEV_EDIT, "data"),
          prevent_initial_call=True)
def save_form(_save, _fields, _flags, _metrics, editing):
    raw = {**fleet_components.values_by_name(ctx.states_list[0]), **fleet_components.values_by_name(ctx.states_list[1])}
    metrics = view.metrics_from_states(ctx.states_list[2])
    outcome = fleet_actions.submit_device(raw, metrics, editing)
    if outcome.saved:
        return False, None, datetime.now().isoformat(), dbc.Alert(outcome.message, color="success", duration=6000)
    form = fleet_actions.device_form(None, None)  # the gateway choices
    rows = [{**(editing or {}).get("metrics", {}).get(str(metric_id), {}), **values, "metric_id": metric_id}
            for metric_id, values in metrics.items()]
    body = view.form_body(raw, outcome.errors, form.gateways, editing, current_language(), rows,
                          outcome.metric_errors, outcome.form_alert)
    return True, body, dash.no_update, dash.no_update


@callback(Output(fid.DEV_CONFIRM, "is_open", allow_duplicate=True), Output(fid.DEV_CONFIRM_BODY, "children"),
          Output(fid.DEV_PENDING, "data"),
          Input({"type": "devices-act", "action": ALL, "index": ALL}, "n_clicks"), prevent_initial_call=True)
def ask_confirm(_clicks):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    prepared = fleet_actions.prepare_action("device", ctx.triggered_id["action"], ctx.triggered_id["index"])
    if prepared is None:
        raise PreventUpdate  # gone meanwhile: the next refresh drops its row
    question, pending, readings = prepared
    purge = view.purge_option(readings, current_language()) if pending["action"] == "delete" else None
    return True, [html.P(question), purge], pending


@callback(Output(fid.DEV_CONFIRM, "is_open", allow_duplicate=True),
          Output(fid.DEV_ALERT, "children", allow_duplicate=True), Output(fid.DEV_REFRESH, "data", allow_duplicate=True),
          Input(fid.DEV_CONFIRM_OK, "n_clicks"), Input(fid.DEV_CONFIRM_CANCEL, "n_clicks"),
          State(fid.DEV_PENDING, "data"), State({"type": "devices-purge", "index": ALL}, "value"),
          prevent_initial_call=True)
def on_confirm(_ok, _cancel, pending, purge):
    if ctx.triggered_id == fid.DEV_CONFIRM_CANCEL or not pending:
        return False, dash.no_update, dash.no_update
    outcome = fleet_actions.run_action("device", pending, purge=any(purge))
    return False, dbc.Alert(outcome.message, color=outcome.color, duration=8000), datetime.now().isoformat()
