"""Monthly statements of one account's metric: lines per component in centavos that add up to the total, as CSV or PDF.

The exact month comes from cost_breakdown; only here is money rounded (money.split_centavos, half to even
on the total), so the lines printed always add up to the total printed.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlalchemy.engine import Connection

from tds_dash import i18n, periods
from tds_dash.exports import safe_cell
from tds_dash.queries.scope import Scope
from tds_dash.tariffs.costs import cost_breakdown
from tds_dash.tariffs.money import format_brl, split_centavos, to_centavos
from tds_dash.tariffs.validation import parse_month


@dataclasses.dataclass(frozen=True)
class StatementLine:
    component: str
    label: str
    quantity: Decimal | None
    amount: Decimal  # centavos


@dataclasses.dataclass(frozen=True)
class Statement:
    account_id: int
    metric: str
    unit: str
    currency: str
    month: date
    quantity: Decimal
    lines: tuple[StatementLine, ...]
    total: Decimal  # centavos: the exact total rounded half to even
    exact_total: Decimal


def build_statement(conn: Connection, scope: Scope, account_id: int, metric: str, month: Any,
                    zone: ZoneInfo) -> Statement:
    """The whole local month's statement; raises TariffInputError (unknown account, no tariff, bad month)."""
    first = parse_month(month)
    start = periods.local_midnight(first, zone)
    end = periods.local_midnight(periods.add_months(first, 1), zone)
    result = cost_breakdown(conn, scope, account_id, metric, start, end, "month", zone)
    components = result.buckets[0].components if result.buckets else ()
    amounts = split_centavos([c.cost for c in components])
    lines = tuple(StatementLine(c.component, c.label, c.quantity, amount) for c, amount in zip(components, amounts))
    quantity = result.buckets[0].quantity if result.buckets else Decimal(0)
    return Statement(account_id, result.metric, result.unit, result.currency, first, quantity, lines,
                     to_centavos(result.total), result.total)


def _describe(line: StatementLine, language: str) -> str:
    name = i18n.t(f"statement.component.{line.component}", language)
    return f"{name} {line.label}".strip()


def _quantity(line: StatementLine, unit: str) -> str:
    return "" if line.quantity is None else f"{format(line.quantity, 'f')} {unit}"


def statement_csv(statement: Statement, account_name: str, language: str) -> str:
    """One row per line and a total row; amounts with a dot, as spreadsheets and scripts read them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["account", "metric", "month", "component", "label", "quantity", "unit", "amount", "currency"])
    head = [account_name, statement.metric, f"{statement.month:%Y-%m}"]
    rows = [[*head, line.component, line.label, "" if line.quantity is None else format(line.quantity, "f"),
             statement.unit if line.quantity is not None else "", format(line.amount, "f"), statement.currency]
            for line in statement.lines]
    rows.append([*head, "total", i18n.t("statement.total", language), format(statement.quantity, "f"),
                 statement.unit, format(statement.total, "f"), statement.currency])
    writer.writerows([[safe_cell(cell) for cell in row] for row in rows])  # names typed by users: never a formula
    return buffer.getvalue()


def _latin(text: str) -> str:
    """The PDF's core font (Helvetica) holds Latin-1 only: accents print, a dash or ≤ is replaced."""
    return text.replace("–", "-").replace("—", "-").encode("latin-1", "replace").decode("latin-1")


def statement_pdf(statement: Statement, account_name: str, language: str) -> bytes:
    """A one-page A4 statement: header, one row per line, the total."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin(f"{i18n.t('statement.title', language)} {statement.month:%m/%Y}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin(f"{i18n.t('statement.title', language)} {statement.month:%m/%Y}"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin(f"{account_name} · {statement.metric}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in statement.lines:
        pdf.cell(100, 6, _latin(_describe(line, language)))
        pdf.cell(45, 6, _latin(_quantity(line, statement.unit)), align="R")
        pdf.cell(0, 6, _latin(format_brl(line.amount, language)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(100, 8, _latin(i18n.t("statement.total", language)))
    pdf.cell(45, 8, _latin(f"{format(statement.quantity, 'f')} {statement.unit}"), align="R")
    pdf.cell(0, 8, _latin(format_brl(statement.total, language)), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
