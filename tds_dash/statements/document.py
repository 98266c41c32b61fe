"""The statement's PDF pages: header, account total, then per metric its lines, comparison, chart,
devices, meter corrections and gaps (see tds_dash.statements.render for the primitives)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tds_dash import periods
from tds_dash.statements.render import (
    PDF_GAP_ROWS,
    PdfWriter,
    change_text,
    describe,
    local_text,
    money_text,
    period_text,
    quantity_text,
    version_text,
    word,
)

WIDE, NUM = [95, 45, 0], [60, 40, 40, 0]


def _header(doc: PdfWriter, report: dict, zone: ZoneInfo, language: str) -> None:
    doc.heading(f"{word('title_monthly', language)} {period_text(report, language)}", 14)
    doc.line(report["account"]["name"], bold=True)
    first = date.fromisoformat(report["period"])
    last = periods.add_months(first, 1) - timedelta(days=1)
    shown = [f"{d:%d/%m/%Y}" if language == "pt-BR" else f"{d:%m/%d/%Y}" for d in (first, last)]
    doc.line(f"{word('period', language)}: {word('span', language, start=shown[0], end=shown[1])}"
             f" ({report['timezone']})")
    generated = datetime.fromisoformat(report["generated_at"])
    doc.line(f"{word('generated_at', language)}: {local_text(generated.isoformat(), zone, language)}")
    for version in report["tariff_versions"]:
        doc.line(f"{word('tariff_version', language)}: {version_text(version, language)}")
    doc.pdf.ln(2)
    doc.row([word("account_total", language), money_text(report["total"], language)], [140, 0], bold=True)
    doc.pdf.ln(3)


def _lines(doc: PdfWriter, metric: dict, language: str) -> None:
    unit = metric["unit"]
    for c in metric["components"]:
        doc.row([describe(c["component"], c["label"], language),
                 quantity_text(c["quantity"], unit, language) if c["quantity"] else "",
                 money_text(c["amount"], language)], WIDE)
    doc.row([word("metric_total", language, metric=metric["metric"]), quantity_text(metric["quantity"], unit, language),
             money_text(metric["total"], language)], WIDE, bold=True)


def _comparison(doc: PdfWriter, metric: dict, language: str) -> None:
    unit = metric["unit"]
    doc.line(word("comparison", language), bold=True)
    doc.row(["", word("col.quantity", language), word("col.cost", language), word("col.change", language)], NUM)
    doc.row([word("this_month", language), quantity_text(metric["quantity"], unit, language),
             money_text(metric["total"], language), ""], NUM)
    for key in ("previous", "last_year"):
        other = metric[key]
        doc.row([f"{word(key, language)} ({other['period'][5:7]}/{other['period'][:4]})",
                 quantity_text(other["quantity"], unit, language), money_text(other["total"], language),
                 change_text(metric["total"], other["total"], language)], NUM)


def _devices(doc: PdfWriter, metric: dict, language: str) -> None:
    unit = metric["unit"]
    doc.line(word("devices", language), bold=True)
    for d in metric["devices"]:
        gaps = word("gap_hours", language, hours=d["gap_hours"]) if d["gap_hours"] else ""
        doc.row([f"{d['code']} - {d['name']}", quantity_text(d["quantity"], unit, language), gaps,
                 money_text(d["total"], language)], NUM, bold=True)
        for c in d["components"]:
            doc.row([f"   {describe(c['component'], c['label'], language)}",
                     quantity_text(c["quantity"], unit, language) if c["quantity"] else "", "",
                     money_text(c["amount"], language)], NUM)


def _corrections(doc: PdfWriter, metric: dict, zone: ZoneInfo, language: str) -> None:
    doc.line(word("corrections", language), bold=True)
    if not metric["corrections"]:
        doc.line(word("none", language))
    for c in metric["corrections"]:
        doc.row([f"{local_text(c['ts'], zone, language)} {c['device']}", word("kind." + c["kind"], language),
                 f"{c['previous_value']} -> {c['value']}", f"{c['consumption']} {metric['unit']}"], NUM)


def _gaps(doc: PdfWriter, metric: dict, zone: ZoneInfo, language: str) -> None:
    doc.line(word("gaps", language), bold=True)
    if not metric["gaps"]:
        doc.line(word("none", language))
    for g in metric["gaps"][:PDF_GAP_ROWS]:
        doc.row([g["device"], local_text(g["from"], zone, language), local_text(g["to"], zone, language),
                 word("gap_hours", language, hours=g["hours"])], NUM)
    if len(metric["gaps"]) > PDF_GAP_ROWS:
        doc.line(word("more_gaps", language, count=len(metric["gaps"]) - PDF_GAP_ROWS))


def report_pdf(report: dict, language: str) -> bytes:
    """The statement as an A4 PDF."""
    zone = ZoneInfo(report["timezone"])
    doc = PdfWriter(f"{word('title_monthly', language)} {period_text(report, language)} {report['account']['name']}")
    _header(doc, report, zone, language)
    for metric in report["metrics"]:
        doc.heading(f"{metric['metric']} - {metric['tariff']}", 12)
        _lines(doc, metric, language)
        doc.pdf.ln(2)
        _comparison(doc, metric, language)
        doc.pdf.ln(2)
        doc.line(word("daily", language), bold=True)
        doc.chart(metric["daily"], metric["unit"], language)
        doc.pdf.ln(2)
        _devices(doc, metric, language)
        doc.pdf.ln(2)
        _corrections(doc, metric, zone, language)
        doc.pdf.ln(2)
        _gaps(doc, metric, zone, language)
        doc.pdf.ln(4)
    return doc.output()
