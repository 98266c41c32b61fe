"""Writing, listing, fetching and regenerating statements; the pages, the API, the CLI and the job call these.

A statement is written in one transaction with its e-mails (the alarms' outbox), so a crash leaves either
both or neither. Reads go through the viewer's scope: a statement of another account is "not found".
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash.context import Forbidden
from tds_dash.queries.scope import Scope
from tds_dash.statements import content, queries
from tds_dash.statements.document import report_pdf
from tds_dash.statements.render import report_csv
from tds_dash.tariffs.validation import TariffInputError, parse_month

MANAGER_ROLES = ("admin", "operator")
LANGUAGES = ("pt-BR", "en")


class StatementMissing(LookupError):
    """No such statement in the viewer's accounts (missing and foreign are not told apart)."""


def _row(report: dict, by: str, reason: str, language: str) -> dict:
    return {"account_id": report["account"]["id"], "period": date.fromisoformat(report["period"]),
            "language": language, "generated_at": datetime.fromisoformat(report["generated_at"]),
            "generated_by": by, "reason": reason, "tariff_versions": report["tariff_versions"],
            "total": report["total"], "content": report, "pdf": report_pdf(report, language),
            "csv": report_csv(report, language)}


def _notify(conn: Connection, statement_id: int, report: dict, now: datetime) -> int:
    payload = {"event": "statement", "statement_id": statement_id, "account": report["account"]["name"],
               "period": report["period"], "total": report["total"], "currency": report["currency"],
               "at": now.isoformat()}
    return queries.enqueue_emails(conn, statement_id, report["account"]["id"], payload, now)


def generate(conn: Connection, scope: Scope, account_id: int, month: date, zone: ZoneInfo, now: datetime, by: str,
             reason: str = "requested", language: str = "pt-BR") -> int | None:
    """Write the account's statement for the month; None when it already has a current one (nothing written)."""
    report = content.build_report(conn, scope, account_id, month, zone, now)
    new_id = queries.insert_statement(conn, _row(report, by, reason, language))
    if new_id is not None:
        _notify(conn, new_id, report, now)
    return new_id


def regenerate(conn: Connection, scope: Scope, role: str | None, statement_id: int, zone: ZoneInfo, now: datetime,
               by: str) -> int:
    """A new statement of the same account and month from today's tariffs; the current one is superseded."""
    if role not in MANAGER_ROLES:
        raise Forbidden("only operators and administrators regenerate statements")
    old = queries.find_statement(conn, scope, statement_id)
    if old is None:
        raise StatementMissing(statement_id)
    current = queries.lock_current(conn, old["account_id"], old["period"])
    report = content.build_report(conn, scope, old["account_id"], old["period"], zone, now)
    if current is not None:
        queries.supersede(conn, current, now)
    new_id = queries.insert_statement(conn, _row(report, by, "regenerated", old["language"]))
    if current is not None:
        queries.link_superseded(conn, current, new_id)
    _notify(conn, new_id, report, now)
    return new_id


def generate_requested(conn: Connection, scope: Scope, role: str | None, account_id: int, month: str, zone: ZoneInfo,
                       now: datetime, by: str) -> int:
    """An operator's (or the CLI's) statement for a month: written if missing, else regenerated."""
    if role not in MANAGER_ROLES:
        raise Forbidden("only operators and administrators write statements")
    first = parse_month(month)
    if queries.find_account(conn, scope, account_id) is None:
        raise TariffInputError("account", "unknown account")
    written = generate(conn, scope, account_id, first, zone, now, by, "requested")
    if written is not None:
        return written
    current = queries.lock_current(conn, account_id, first)
    return regenerate(conn, scope, role, current, zone, now, by)


def list_statements(conn: Connection, scope: Scope, account_id: int | None = None,
                    with_superseded: bool = False) -> list[dict]:
    """Statements of the viewer's accounts, newest month first (without their files)."""
    return queries.list_statements(conn, scope, account_id, with_superseded)


def find(conn: Connection, scope: Scope, statement_id: int) -> dict:
    found = queries.find_statement(conn, scope, statement_id)
    if found is None:
        raise StatementMissing(statement_id)
    return found


def file_of(conn: Connection, scope: Scope, statement_id: int, kind: str, language: str | None = None) -> bytes:
    """The stored PDF or CSV; in another language, drawn again from the stored numbers (not recomputed)."""
    found = find(conn, scope, statement_id)
    if language and language in LANGUAGES and language != found["language"]:
        report = found["content"]
        return report_pdf(report, language) if kind == "pdf" else report_csv(report, language).encode()
    pdf, csv_text = queries.statement_files(conn, scope, statement_id)
    return pdf if kind == "pdf" else csv_text.encode()


def file_name(statement: dict, kind: str) -> str:
    return f"statement_{statement['account']}_{statement['period']:%Y-%m}_{statement['id']}.{kind}"
