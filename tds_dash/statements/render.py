"""A statement's content (tds_dash.statements.content) drawn as CSV and as an A4 PDF, in pt-BR or English.

The PDF uses fpdf2's core Helvetica (Latin-1) and draws its chart with rectangles: no font, image or
network fetch. Days without any reading are drawn as a hatched box labelled as a gap, never as a zero bar.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import dates
from fpdf import FPDF

from tds_dash import i18n
from tds_dash.exports import safe_cell
from tds_dash.tariffs.money import format_brl

CSV_COLUMNS = ("section", "metric", "device", "item", "label", "description", "quantity", "unit", "amount",
               "currency", "from", "to", "note")
PDF_GAP_ROWS = 120  # the CSV lists every gap; the PDF the first ones and how many more


def word(key: str, language: str, **values) -> str:
    return i18n.t(f"statement.{key}", language, **values)


def describe(component: str, label: str, language: str) -> str:
    return f"{word('component.' + component, language)} {label}".strip()


def quantity_text(value: str | None, unit: str, language: str) -> str:
    """'1.234,567 kWh'; None (no reading at all) is a gap, never '0'."""
    if value is None:
        return word("no_readings", language)
    return f"{i18n.format_number(Decimal(value), language, 3)} {unit}".strip()


def money_text(value: str | None, language: str) -> str:
    return "—" if value is None else format_brl(Decimal(value), language)


def local_text(value: str, zone: ZoneInfo, language: str) -> str:
    """An ISO instant in the statement's zone, to the minute: 17/11/2026 00:00 (pt-BR), 11/17/2026 12:00 AM (en)."""
    pattern = "dd/MM/yyyy HH:mm" if language == "pt-BR" else "MM/dd/yyyy h:mm a"
    return dates.format_datetime(datetime.fromisoformat(value), pattern, tzinfo=zone,
                                 locale="pt_BR" if language == "pt-BR" else "en_US")


def period_text(report: dict, language: str) -> str:
    """'11/2026' in both languages (month/year reads the same)."""
    return f"{date.fromisoformat(report['period']):%m/%Y}"


def version_text(version: dict, language: str) -> str:
    day = date.fromisoformat(version["valid_from"])
    shown = f"{day:%d/%m/%Y}" if language == "pt-BR" else f"{day:%m/%d/%Y}"
    return word("version", language, metric=version["metric"], tariff=version["tariff"], since=shown,
              id=version["version_id"])


def change_text(now: str | None, before: str | None, language: str) -> str:
    if now is None or before is None or Decimal(before) == 0:
        return "—"
    return i18n.format_percent(float((Decimal(now) - Decimal(before)) / Decimal(before)), language)


def _csv_rows(report: dict, language: str) -> list[list]:
    cur, rows = report["currency"], []
    row = lambda section, **kw: rows.append([kw.get(c, "") if c != "section" else section  # noqa: E731
                                             for c in CSV_COLUMNS])
    for key in ("period", "generated_at", "timezone"):
        row("meta", item=key, note=report[key])
    row("meta", item="account", label=report["account"]["slug"], note=report["account"]["name"])
    row("meta", item="language", note=language)
    for m in report["metrics"]:
        unit, metric = m["unit"], m["metric"]
        for v in m["versions"]:
            row("tariff_version", metric=metric, label=v["tariff"], **{"from": v["valid_from"]},
                note=f"version_id={v['version_id']}")
        for d in m["devices"]:
            for c in d["components"]:
                row("device_component", metric=metric, device=d["code"], item=c["component"], label=c["label"],
                    description=describe(c["component"], c["label"], language), quantity=c["quantity"] or "",
                    unit=unit if c["quantity"] else "", amount=c["amount"], currency=cur)
            row("device_total", metric=metric, device=d["code"], label=d["name"], quantity=d["quantity"] or "",
                unit=unit, amount=d["total"], currency=cur,
                note=f"gap_hours={d['gap_hours']}" + ("" if d["quantity"] is not None else "; no_readings"))
        for c in m["components"]:
            row("metric_component", metric=metric, item=c["component"], label=c["label"],
                description=describe(c["component"], c["label"], language), quantity=c["quantity"] or "",
                unit=unit if c["quantity"] else "", amount=c["amount"], currency=cur)
        row("metric_total", metric=metric, label=m["tariff"], quantity=m["quantity"], unit=unit, amount=m["total"],
            currency=cur)
        for key in ("previous", "last_year"):
            other = m[key]
            row("comparison", metric=metric, item=key, quantity=other["quantity"] or "", unit=unit,
                amount=other["total"] or "", currency=cur, **{"from": other["period"]},
                note="" if other["quantity"] is not None else "no_readings")
        for d in m["daily"]:
            row("daily", metric=metric, quantity=d["quantity"] or "", unit=unit, **{"from": d["day"]},
                note="" if d["quantity"] is not None else "gap")
        for c in m["corrections"]:
            row("correction", metric=metric, device=c["device"], item=c["kind"],
                description=word("kind." + c["kind"], language), quantity=c["consumption"], unit=unit,
                **{"from": c["ts"]}, note=f"{c['previous_value']} -> {c['value']}")
        for g in m["gaps"]:
            row("gap", metric=metric, device=g["device"], label=f"{g['hours']} h", **{"from": g["from"], "to": g["to"]},
                note="gap")
    row("account_total", amount=report["total"], currency=cur)
    return rows


def report_csv(report: dict, language: str) -> str:
    """Every number of the statement, one row each, amounts with a dot (as spreadsheets and scripts read them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([[safe_cell(cell) for cell in r] for r in _csv_rows(report, language)])  # never a formula
    return buffer.getvalue()


def latin(text: str) -> str:
    """The core font holds Latin-1 only: accents print, a dash or an arrow is replaced."""
    text = text.replace("–", "-").replace("—", "-").replace("→", "->").replace("\u202f", " ").replace("\xa0", " ")
    return text.encode("latin-1", "replace").decode("latin-1")


class PdfWriter:
    """A thin writer over FPDF: a row of cells at fixed widths, headings, and the daily chart."""

    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_title(latin(title))
        self.pdf.set_auto_page_break(True, margin=15)
        self.pdf.add_page()

    def heading(self, text: str, size: int = 12) -> None:
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.cell(0, size * 0.7, latin(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 9)

    def line(self, text: str, bold: bool = False) -> None:
        self.pdf.set_font("Helvetica", "B" if bold else "", 9)
        self.pdf.cell(0, 5, latin(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 9)

    def row(self, cells: list[str], widths: list[int], bold: bool = False) -> None:
        self.pdf.set_font("Helvetica", "B" if bold else "", 9)
        for i, (text, width) in enumerate(zip(cells, widths)):
            last = i == len(cells) - 1
            self.pdf.cell(width if not last else 0, 5, latin(text), align="L" if i == 0 else "R",
                          new_x="LMARGIN" if last else "RIGHT", new_y="NEXT" if last else "TOP")
        self.pdf.set_font("Helvetica", "", 9)

    def chart(self, daily: list[dict], unit: str, language: str) -> None:
        """Daily bars; a day with no reading at all is a hatched grey box (a gap, not zero)."""
        values = [Decimal(d["quantity"]) if d["quantity"] is not None else None for d in daily]
        top = max([v for v in values if v is not None] + [Decimal(0)]) or Decimal(1)
        pdf, height, width = self.pdf, 35.0, 180.0 / max(len(daily), 1)
        if pdf.get_y() + height + 12 > pdf.h - 15:
            pdf.add_page()
        x0, y0 = pdf.l_margin, pdf.get_y() + height
        for i, value in enumerate(values):
            x = x0 + i * width
            if value is None:
                pdf.set_fill_color(225, 225, 225)
                pdf.rect(x + 0.5, y0 - height, width - 1, height, style="F")
                pdf.set_draw_color(150, 150, 150)
                for k in range(0, int(height), 4):
                    pdf.line(x + 0.5, y0 - k, x + width - 0.5, y0 - k - 2)
            else:
                bar = float(value / top) * height
                pdf.set_fill_color(46, 109, 164)
                pdf.rect(x + 0.5, y0 - bar, width - 1, bar, style="F")
        pdf.set_draw_color(0, 0, 0)
        pdf.line(x0, y0, x0 + width * len(values), y0)
        pdf.set_y(y0 + 1)
        pdf.set_font("Helvetica", "", 7)
        peak = i18n.format_number(top, language, 3)
        pdf.cell(0, 4, latin(word("chart_legend", language, peak=f"{peak} {unit}")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
