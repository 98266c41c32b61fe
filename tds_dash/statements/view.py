"""The Relatórios page's pieces: the viewer's statements as a table with download links, and regeneration.

Reads and writes go through tds_dash.statements.service with the viewer's scope and role; this module only
turns its answers into a table and alerts.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import dash_bootstrap_components as dbc
from dash import html

from tds_dash import i18n
from tds_dash.context import Forbidden, current_scope, current_user, has_role, services
from tds_dash.db import session_scope
from tds_dash.statements import service
from tds_dash.statements.render import version_text
from tds_dash.tariffs.money import format_brl
from tds_dash.tariffs.validation import TariffInputError

log = logging.getLogger(__name__)
REGENERATE = "reports-regenerate"  # pattern-matching id type: {"type": REGENERATE, "index": statement id}
COLUMNS = ("account", "period", "generated", "by", "versions", "total", "files")


def can_regenerate() -> bool:
    return has_role(*service.MANAGER_ROLES)


def _files(row: dict, language: str) -> html.Span:
    base = f"/api/v1/statements/{row['id']}"
    links = [html.A("PDF", href=f"{base}.pdf", className="me-2", id=f"reports-pdf-{row['id']}"),
             html.A("CSV", href=f"{base}.csv", className="me-2"),
             html.A("PDF (en)" if language == "pt-BR" else "PDF (pt-BR)",
                    href=f"{base}.pdf?lang={'en' if language == 'pt-BR' else 'pt-BR'}", className="me-2 small")]
    return html.Span(links)


def _row(row: dict, language: str, highlight: int | None, editable: bool) -> html.Tr:
    zone = services().settings.zone
    by = f"{row['generated_by']} ({i18n.t('reports.reason.' + row['reason'], language)})"
    versions = html.Ul([html.Li(version_text(v, language)) for v in row["tariff_versions"]],
                       className="mb-0 small ps-3")
    actions = [_files(row, language)]
    if row["superseded_at"] is not None:
        actions.append(html.Span(i18n.t("reports.superseded", language, id=row["superseded_by"]),
                                 className="small text-muted"))
    elif editable:
        actions.append(dbc.Button(i18n.t("reports.regenerate", language), id={"type": REGENERATE, "index": row["id"]},
                                  size="sm", color="secondary", outline=True))
    cells = [row["account_name"], f"{row['period']:%m/%Y}", i18n.format_datetime(row["generated_at"], zone, language),
             by, versions, format_brl(row["total"], language), html.Span(actions)]
    return html.Tr([html.Td(c) for c in cells], id=f"reports-row-{row['id']}",
                   className="table-info" if row["id"] == highlight else None)


def statements_table(language: str, show_superseded: bool = False, highlight: int | None = None):
    """The viewer's statements, newest month first; the one a link pointed to is highlighted."""
    with session_scope(services().engine) as conn:
        rows = service.list_statements(conn, current_scope(), None, show_superseded)
    if not rows:
        return dbc.Alert(i18n.t("reports.empty", language), color="light", id="reports-empty")
    editable = can_regenerate()
    head = html.Thead(html.Tr([html.Th(i18n.t(f"reports.col.{c}", language)) for c in COLUMNS]))
    body = html.Tbody([_row(r, language, highlight, editable) for r in rows])
    return dbc.Table([head, body], hover=True, size="sm", id="reports-table")


def regenerate(statement_id: int, language: str) -> dbc.Alert:
    """Regenerate one statement for the signed-in operator; the alert names the tariff versions used."""
    user = current_user()
    try:
        with session_scope(services().engine) as conn:
            new_id = service.regenerate(conn, current_scope(), user.role if user else None, statement_id,
                                        services().settings.zone, datetime.now(timezone.utc),
                                        user.username if user else "system")
            row = service.find(conn, current_scope(), new_id)
    except service.StatementMissing:
        return dbc.Alert(i18n.t("reports.not_found", language), color="warning")
    except Forbidden:
        return dbc.Alert(i18n.t("reports.forbidden", language), color="danger")
    except TariffInputError as error:
        return dbc.Alert(i18n.t("reports.failed", language, error=error.message), color="danger")
    versions = "; ".join(version_text(v, language) for v in row["tariff_versions"])
    return dbc.Alert(i18n.t("reports.regenerated", language, id=new_id, versions=versions), color="success",
                     id="reports-regenerated")
