"""UI language: translated labels and number/date formatting (Brazilian Portuguese by default)."""
from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from babel import dates, numbers

from tds_dash.i18n.catalogue import MESSAGES

LANGUAGES = {"pt-BR": "pt_BR", "en": "en_US"}
LANGUAGE_COOKIE = "tds_lang"



def normalize_language(value: str | None, default: str = "pt-BR") -> str:
    return value if value in LANGUAGES else default


def t(key: str, language: str, **values) -> str:
    """The label for key in language, falling back to Portuguese, then to the key itself."""
    entry = MESSAGES.get(key, {})
    text = entry.get(language) or entry.get("pt-BR") or key
    return text.format(**values) if values else text


def metric_title(metric: str, unit: str | None, language: str) -> str:
    """'energy_kwh' -> 'Energia ativa (kWh)'; a metric the catalogue does not know shows as 'name (unit)'."""
    key = f"metric.{metric}"
    if key in MESSAGES:
        return t(key, language)
    return f"{metric} ({unit})" if unit else metric


def reason_label(reason: str, language: str) -> str:
    """A rejection reason code as words ('invalid_json' -> 'JSON inválido'); unknown codes stay as stored."""
    key = f"reason.{reason}"
    return t(key, language) if key in MESSAGES else reason


def event_detail(detail: str | None, language: str) -> str:
    """A stored event detail in language: the ingest writes 'mostly <reason>' for rejected bursts."""
    if detail and detail.startswith("mostly "):
        return t("reason.mostly", language, reason=reason_label(detail.removeprefix("mostly "), language))
    return detail or ""


# Dash 4's Dropdown draws these texts itself (English unless given `labels`).
_DROPDOWN_LABELS = ("select_all", "deselect_all", "selected_count", "search", "clear_search", "clear_selection",
                    "no_options_found")


def dropdown_labels(language: str) -> dict[str, str]:
    """dcc.Dropdown's `labels` in language ('{num_selected}' is filled in by the component)."""
    return {name: t(f"dropdown.{name}", language) for name in _DROPDOWN_LABELS}


def graph_config(language: str) -> dict:
    """dcc.Graph's config: plotly.js's own texts (modebar) in language; numbers are formatted by us. The modebar
    shows only while the pointer is over a chart: always drawn, it covered the top bars."""
    return {"displaylogo": False, "displayModeBar": "hover", "locale": "pt-BR" if language == "pt-BR" else "en"}


def date_range_texts(language: str) -> dict[str, str]:
    """dcc.DatePickerRange's date format and empty-field texts in language (month names: assets/dates/)."""
    return {"display_format": "DD/MM/YYYY" if language == "pt-BR" else "MM/DD/YYYY",
            "start_date_placeholder_text": t("dates.start", language),
            "end_date_placeholder_text": t("dates.end", language)}


def format_number(value: float | None, language: str, decimals: int = 1) -> str:
    """1234.5 -> '1.234,5' in pt-BR, '1,234.5' in English; None/NaN -> '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if language not in _SWAP or decimals < 0 or (isinstance(value, float) and math.isinf(value)):
        return numbers.format_decimal(value, format=_pattern(decimals), locale=LANGUAGES.get(language, "pt_BR"))
    # What babel's format_decimal(value, '#,##0.0…') gives for our two locales (its rounding: half-even on the
    # decimal text; checked against babel in tests/test_ux_numbers.py), about 4x faster: a chart's hover texts
    # are ~1,600 numbers, ~20 ms of the explorer's layout request with babel (issue 16).
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    text = f"{exact:,.{decimals}f}"
    return text.translate(_SWAP[language]) if _SWAP[language] else text


_SWAP = {"pt-BR": str.maketrans(",.", ".,"), "en": None}  # from Python's separators to the language's


def _pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def format_percent(value: float | None, language: str) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "—"
    sign = "+" if value > 0 else ""
    return sign + format_number(value * 100, language, 1) + "%"


def format_datetime(value: datetime | None, zone: ZoneInfo, language: str) -> str:
    """An aware instant shown in the deployment's zone: 27/11/2026 14:05 (pt-BR), 11/27/2026 2:05 PM (en)."""
    if value is None:
        return "—"
    pattern = "dd/MM/yyyy HH:mm:ss" if language == "pt-BR" else "MM/dd/yyyy h:mm:ss a"
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=LANGUAGES[language])


def format_month(value: datetime, zone: ZoneInfo, language: str) -> str:
    return dates.format_datetime(value, "MMM/yyyy", tzinfo=zone, locale=LANGUAGES[language])


def format_day_time(value: datetime, zone: ZoneInfo, language: str) -> str:
    """Day and minute without the year: 01/12 16:34 (pt-BR), 12/01 4:34 PM (en)."""
    pattern = "dd/MM HH:mm" if language == "pt-BR" else "MM/dd h:mm a"
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=LANGUAGES[language])


def format_day(value: datetime, zone: ZoneInfo, language: str) -> str:
    pattern = "dd/MM" if language == "pt-BR" else "MM/dd"
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=LANGUAGES[language])


def plotly_separators(language: str) -> str:
    """Plotly's decimal then thousands separator."""
    return ",." if language == "pt-BR" else ".,"


_BUCKET_PATTERNS = {
    "pt-BR": {"hour": "EEE, dd/MM/yyyy HH'h'", "day": "EEE, dd/MM/yyyy", "week": "'semana de' dd/MM/yyyy",
              "month": "MMMM 'de' yyyy"},
    "en": {"hour": "EEE, MM/dd/yyyy h a", "day": "EEE, MM/dd/yyyy", "week": "'week of' MM/dd/yyyy",
           "month": "MMMM yyyy"},
}


def format_bucket(value: datetime, granularity: str, zone: ZoneInfo, language: str) -> str:
    """A bucket's start as a tooltip names it, in the deployment's zone: 'ter., 01/12/2026 14h' (pt-BR)."""
    pattern = _BUCKET_PATTERNS.get(language, _BUCKET_PATTERNS["pt-BR"])[granularity]
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=LANGUAGES[language])


def format_quantity(value: float | None, unit: str | None, language: str, decimals: int = 1) -> str:
    """'683.626,0 kWh' (pt-BR), '683,626.0 kWh' (en); a missing value is '—' without a unit."""
    text = format_number(value, language, decimals)
    return f"{text} {unit}" if unit and text != "—" else text
