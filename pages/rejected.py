"""Rejected messages: the newest refused (or partly refused) messages of the viewer's accounts, with reason."""
from __future__ import annotations

import logging

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from tds_dash import i18n, inputs
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.i18n.grid import grid_options
from tds_dash.queries import ingest as ingest_queries

dash.register_page(__name__, path="/rejected", name="Rejected", order=85, nav_key="nav.rejected", nav_more=True)

log = logging.getLogger(__name__)

REASON, GATEWAY, TABLE, ALERT = "rejected-reason", "rejected-gateway", "rejected-table", "rejected-alert"
inputs.declare({f"{REASON}.value": inputs.text, f"{GATEWAY}.value": inputs.text})
# docs/mqtt.md lists them; the dropdown offers the documented ones, the table shows whatever is stored.
REASONS = ("invalid_topic", "payload_too_large", "invalid_encoding", "invalid_json", "invalid_schema",
           "unsupported_version", "invalid_timestamp", "future_timestamp", "too_many_readings", "invalid_device",
           "invalid_metric", "invalid_value", "non_finite_value", "unknown_gateway", "account_mismatch",
           "inactive_gateway", "too_late", "inactive_device", "unknown_device", "store_error", "parse_error")


def _columns(language: str) -> list[dict]:
    t = lambda key: i18n.t(key, language)  # noqa: E731
    return [{"field": "time", "headerName": t("col.time")}, {"field": "reason", "headerName": t("rejected.reason")},
            {"field": "topic", "headerName": t("rejected.col.topic")},
            {"field": "counts", "headerName": t("rejected.col.counts")},
            {"field": "detail", "headerName": t("rejected.col.detail"), "flex": 2},
            {"field": "size", "headerName": t("rejected.col.size")},
            {"field": "excerpt", "headerName": t("rejected.col.excerpt"), "flex": 2}]


def _reason(code: str, language: str) -> str:
    """The reason in words with its code, which support and docs/mqtt.md use: 'JSON inválido (invalid_json)'."""
    label = i18n.reason_label(code, language)
    return f"{label} ({code})" if label != code else code


def table_rows(rows: list[dict], zone, language: str) -> list[dict]:
    """Display rows; the payload excerpt may be any bytes, shown with undecodable bytes replaced."""
    return [{"time": i18n.format_datetime(row["received_at"], zone, language), "reason": _reason(row["reason"], language),
             "topic": row["topic"], "counts": f"{row['readings_rejected']} / {row['readings_accepted']}",
             "detail": row["detail"], "size": i18n.format_number(row["payload_size"], language, 0),
             "excerpt": bytes(row["excerpt"] or b"").decode("utf-8", errors="replace")} for row in rows]


def layout(gateway: str | None = None, **kwargs):
    language, settings = current_language(), services().settings
    return html.Div([
        html.H3(i18n.t("rejected.title", language), className="mb-1"),
        html.P(i18n.t("rejected.note", language, days=settings.rejected_retention_days,
                      rows=i18n.format_number(settings.rejected_max_rows, language, 0)), className="text-muted small"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label(i18n.t("rejected.reason", language)),
                     dcc.Dropdown(labels=i18n.dropdown_labels(language), id=REASON, options=[{"label": i18n.reason_label(r, language), "value": r} for r in REASONS], placeholder=i18n.t("filter.all", language))], md=4),
            dbc.Col([dbc.Label(i18n.t("rejected.gateway", language)),
                     dbc.Input(id=GATEWAY, value=gateway or "", debounce=True)], md=4),
        ])), className="mb-3 shadow-sm"),
        html.Div(id=ALERT),
        dag.AgGrid(id=TABLE, rowData=[], columnDefs=_columns(language), className="ag-theme-alpine",
                   dashGridOptions=grid_options(language, pagination=True, paginationPageSize=50), style={"height": "640px"}),
    ])


@callback(Output(TABLE, "rowData"), Output(ALERT, "children"), Input(REASON, "value"), Input(GATEWAY, "value"))
def update_table(reason, gateway):
    app, language = services(), current_language()
    try:
        with session_scope(app.engine) as conn:
            rows = ingest_queries.list_rejected(conn, current_scope(), reason, (gateway or "").strip() or None)
    except Exception as error:  # shown and logged
        log.exception("rejected messages list failed")
        return dash.no_update, dbc.Alert(i18n.t("error.load", language, error=type(error).__name__), color="danger")
    return table_rows(rows, app.settings.zone, language), None
