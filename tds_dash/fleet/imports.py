"""Bulk CSV import of gateways and devices: every row through the form's own save, all in one transaction.

A file is UTF-8 (a BOM is fine) with a header row, cells separated by ';' or ',' (sniffed from the header).
Every row is validated as the form validates it; one bad row and nothing is stored, and the report names
each bad row, column and reason in the forms' words. dry_run validates (inside the transaction) and rolls
back. Used by POST /api/v1/{gateways,devices}/import and the CLI's `gateways|devices import FILE`.
"""
from __future__ import annotations

import csv
import dataclasses
import io

from tds_dash import i18n
from tds_dash.fleet import actions
from tds_dash.fleet.actor import Actor
from tds_dash.queries import fleet_devices
from tds_dash.queries.filters import list_accounts

MAX_ROWS = 5000
COLUMNS = {
    "gateways": ("account", "serial", "name", "location", "inactivity_timeout_s", "active"),
    "devices": ("gateway", "code", "name", "kind", "active"),
}
REQUIRED = {"gateways": ("account", "serial", "name", "inactivity_timeout_s"), "devices": ("gateway", "code", "name")}
RENAMES = {"account_id": "account", "gateway_id": "gateway"}
TRUE, FALSE = ("", "true", "1", "yes", "sim"), ("false", "0", "no", "não", "nao")



@dataclasses.dataclass
class ImportReport:
    """What an import did: status ok | forbidden | invalid (file-level problem or bad rows)."""

    status: str = "ok"
    rows: int = 0
    created: list[dict] = dataclasses.field(default_factory=list)
    errors: list[dict] = dataclasses.field(default_factory=list)  # {row, column, code, reason}
    problem: str | None = None  # a file-level problem (encoding, header)
    dry_run: bool = False


def read_rows(data: bytes, kind: str, language: str) -> tuple[list[tuple[int, dict | int]], str | None, int]:
    """((file line, {column: cell} or the cell count of a ragged row) per data row, file-level problem or None,
    header width)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], i18n.t("import.encoding", language), 0
    if "\x00" in text:  # PostgreSQL text cannot hold it
        return [], i18n.t("import.encoding", language), 0
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], i18n.t("import.empty", language), 0
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    allowed = ", ".join(COLUMNS[kind])
    unknown = [name for name in header if name not in COLUMNS[kind]]
    if unknown:
        return [], i18n.t("import.unknown_column", language, name=unknown[0], allowed=allowed), 0
    missing = [name for name in REQUIRED[kind] if name not in header]
    if missing:
        return [], i18n.t("import.columns", language, missing=", ".join(missing), allowed=allowed), 0
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            return [], i18n.t("import.too_many", language, max=MAX_ROWS), 0
        # A row with another number of cells than the header is reported, never silently padded.
        rows.append((reader.line_num, dict(zip(header, cells)) if len(cells) == len(header) else len(cells)))
    return rows, None, len(header)


def _active(cell, language: str) -> tuple[bool | None, dict | None]:
    text = (cell or "").strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE, None
    return None, {"column": "active", "code": "choice", "reason": i18n.t("form.choice", language)}


def _row_errors(line: int, outcome, language: str) -> list[dict]:
    return [{"row": line, "column": RENAMES.get(name, name), "code": error.code, "reason": error.message(language)}
            for name, error in outcome.errors.items()] or [
        {"row": line, "column": None, "code": outcome.status, "reason": outcome.form_alert or outcome.status}]


def import_csv(actor: Actor, kind: str, data: bytes, dry_run: bool = False) -> ImportReport:
    """Create every row of a gateways or devices CSV, or none of them."""
    language = actor.language
    if not actor.can_manage:
        return ImportReport("forbidden", problem=i18n.t("fleet.forbidden", language), dry_run=dry_run)
    rows, problem, width = read_rows(data, kind, language)
    if problem:
        return ImportReport("invalid", problem=problem, dry_run=dry_run)
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    with actor.engine.connect() as conn, conn.begin() as transaction:  # an exception rolls back too
        _import_rows(conn, actor, kind, rows, report, width)
        if report.errors or dry_run:
            transaction.rollback()
    if report.errors:
        report.status, report.created = "invalid", []
    return report


def _import_rows(conn, actor: Actor, kind: str, rows: list, report: ImportReport, width: int) -> None:
    lookup = {**_lookup(conn, actor, kind), "width": width}
    for line, cells in rows:
        if isinstance(cells, int):
            report.errors.append({"row": line, "column": None, "code": "cells", "reason": i18n.t(
                "import.cells", actor.language, found=cells, expected=lookup["width"])})
            continue
        active, error = _active(cells.get("active"), actor.language)
        if error:
            report.errors.append({"row": line, **error})
            continue
        raw = {**{key: value for key, value in cells.items() if key not in ("account", "gateway")}, "active": active}
        if kind == "gateways":
            raw["account_id"] = lookup["accounts"].get((cells.get("account") or "").strip(), -1)
            outcome = actions.save_gateway_in(conn, actor, raw, None, list(lookup["accounts"].values()))
        else:
            raw["gateway_id"] = lookup["gateways"].get((cells.get("gateway") or "").strip(), -1)
            raw["kind"] = (raw.get("kind") or "").strip() or "meter"
            outcome = actions.save_device_in(conn, actor, raw, list(lookup["gateways"].values()))
        if outcome.saved:
            report.created.append({"row": line, "id": outcome.id})
        else:
            report.errors.extend(_row_errors(line, outcome, actor.language))


def _lookup(conn, actor: Actor, kind: str) -> dict:
    """The choosable accounts (by slug) and gateways (by serial) of the caller, read once per file."""
    if kind == "gateways":
        return {"accounts": {a["slug"]: a["id"] for a in list_accounts(conn, actor.scope)}}
    return {"gateways": {g["serial"]: g["id"] for g in fleet_devices.list_gateway_choices(conn, actor.scope)}}
