"""Tarifas: each account's tariff per metric, its versions and surcharges; operators add versions with a preview."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, register_page

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.queries import filters
from tds_dash.tariffs import view

register_page(__name__, path="/tariffs", name="Tariffs", order=26, nav_key="nav.tariffs")

ACCOUNT, METRIC, PANEL, REFRESH = "tariffs-account", "tariffs-metric", "tariffs-panel", "tariffs-refresh"
FIELDS = ("tariffs-valid-from", "tariffs-fee", "tariffs-minimum", "tariffs-periods", "tariffs-tiers", "tariffs-taxes")
NAME, STATE_UF, CREATE, CREATED = "tariffs-new-name", "tariffs-new-uf", "tariffs-create", "tariffs-created"
PREVIEW, SAVE, RESULT = "tariffs-preview", "tariffs-save", "tariffs-result"
S_MONTH, S_VALUE, S_LABEL, S_SAVE, S_RESULT = ("tariffs-s-month", "tariffs-s-value", "tariffs-s-label",
                                               "tariffs-s-save", "tariffs-s-result")
inputs.declare({f"{ACCOUNT}.value": inputs.optional_id, f"{REFRESH}.data": inputs.count, **{f"{f}.value": inputs.text for f in
                (METRIC, NAME, STATE_UF, S_MONTH, S_VALUE, S_LABEL, *FIELDS)}})


def _field(id_: str, label: str, language: str, md: int = 2, area: bool = False, **kw) -> dbc.Col:
    control = dbc.Textarea(id=id_, rows=3, **kw) if area else dbc.Input(id=id_, **kw)
    return dbc.Col([dbc.Label(i18n.t(label, language)), control], md=md)


def _editors(language: str) -> list:
    """Forms for operators and admins only (the service refuses viewers anyway)."""
    t = lambda key: i18n.t(key, language)  # noqa: E731 - a short alias keeps the form readable
    create = dbc.Card([dbc.CardHeader(t("tariffs.new")), dbc.CardBody(dbc.Row([
        _field(NAME, "tariffs.name", language, 4), _field(STATE_UF, "tariffs.uf", language, 2, maxLength=2),
        dbc.Col(dbc.Button(t("tariffs.create"), id=CREATE, className="mt-4"), md=2),
        dbc.Col(html.Div(id=CREATED), md=4)]))], className="mb-3 shadow-sm")
    version = dbc.Card([dbc.CardHeader(t("tariffs.form")), dbc.CardBody([dbc.Row([
        _field(FIELDS[0], "tariffs.col.valid_from", language, type="date"),
        _field(FIELDS[1], "tariffs.col.fixed_fee", language), _field(FIELDS[2], "tariffs.col.minimum", language)]),
        dbc.Row([_field(f, f"tariffs.col.{k}", language, 4, area=True)
                 for f, k in zip(FIELDS[3:], ("periods", "tiers", "taxes"))], className="mt-2"),
        html.Div(t("tariffs.json_hint"), className="small text-muted mt-1"),
        dbc.Button(t("tariffs.preview"), id=PREVIEW, color="secondary", className="mt-2 me-2"),
        dbc.Button(t("tariffs.save"), id=SAVE, className="mt-2"), html.Div(id=RESULT, className="mt-2")])],
        className="mb-3 shadow-sm")
    surcharge = dbc.Card([dbc.CardHeader(t("tariffs.surcharges")), dbc.CardBody(dbc.Row([
        _field(S_MONTH, "tariffs.col.month", language, placeholder="2026-11"),
        _field(S_VALUE, "col.value", language, placeholder="0,01885"), _field(S_LABEL, "tariffs.col.label", language),
        dbc.Col(dbc.Button(t("tariffs.save"), id=S_SAVE, className="mt-4"), md=2),
        dbc.Col(html.Div(id=S_RESULT), md=4)]))], className="mb-3 shadow-sm")
    return [create, version, surcharge]


def layout(**_query):
    language = current_language()
    with session_scope(services().engine) as conn:
        accounts = filters.list_accounts(conn, current_scope())
    return html.Div([
        html.H3(i18n.t("tariffs.title", language), className="mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("filter.account", language)),
                     dcc.Dropdown(id=ACCOUNT, options=[{"label": a["name"], "value": a["id"]} for a in accounts],
                                  value=accounts[0]["id"] if len(accounts) == 1 else None)], md=4),
            dbc.Col([dbc.Label(i18n.t("filter.metric", language)),
                     dcc.Dropdown(id=METRIC, options=view.metric_options(language), value="energy_kwh",
                                  clearable=False)], md=3),
        ])), className="mb-3 shadow-sm"),
        dcc.Store(id=REFRESH, data=0),
        dbc.Card(dbc.CardBody(html.Div(id=PANEL)), className="mb-3 shadow-sm"),
        *(_editors(language) if view.can_edit() else []),
    ])


@callback(Output(PANEL, "children"), Input(ACCOUNT, "value"), Input(METRIC, "value"), Input(REFRESH, "data"))
def update_panel(account_id, metric, _refresh):
    return view.panel(account_id, metric, current_language())


@callback(*[Output(f, "value") for f in FIELDS], Input(ACCOUNT, "value"), Input(METRIC, "value"),
          Input(REFRESH, "data"))
def prefill_version(account_id, metric, _refresh):
    return view.form_values(account_id, metric)


@callback(Output(RESULT, "children"), Input(PREVIEW, "n_clicks"), State(ACCOUNT, "value"), State(METRIC, "value"),
          *[State(f, "value") for f in FIELDS], prevent_initial_call=True)
def on_preview(_clicks, account_id, metric, *fields):
    return view.preview(account_id, metric, fields, current_language())


@callback(Output(RESULT, "children", allow_duplicate=True), Output(REFRESH, "data"), Input(SAVE, "n_clicks"),
          State(ACCOUNT, "value"), State(METRIC, "value"), State(REFRESH, "data"), *[State(f, "value") for f in FIELDS],
          prevent_initial_call=True)
def on_save(_clicks, account_id, metric, refresh, *fields):
    alert, saved = view.save_version(account_id, metric, fields, current_language())
    return alert, (refresh or 0) + saved


@callback(Output(CREATED, "children"), Output(REFRESH, "data", allow_duplicate=True), Input(CREATE, "n_clicks"),
          State(ACCOUNT, "value"), State(METRIC, "value"), State(NAME, "value"), State(STATE_UF, "value"),
          State(REFRESH, "data"), prevent_initial_call=True)
def on_create(_clicks, account_id, metric, name, subdivision, refresh):
    alert, saved = view.create_tariff(account_id, metric, name, subdivision, current_language())
    return alert, (refresh or 0) + saved


@callback(Output(S_RESULT, "children"), Output(REFRESH, "data", allow_duplicate=True), Input(S_SAVE, "n_clicks"),
          State(ACCOUNT, "value"), State(METRIC, "value"), State(S_MONTH, "value"), State(S_VALUE, "value"),
          State(S_LABEL, "value"), State(REFRESH, "data"), prevent_initial_call=True)
def on_surcharge(_clicks, account_id, metric, month, value, label, refresh):
    alert, saved = view.save_surcharge(account_id, metric, month, value, label, current_language())
    return alert, (refresh or 0) + saved
