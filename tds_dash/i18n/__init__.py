"""UI language: translated labels and number/date formatting (Brazilian Portuguese by default)."""
from __future__ import annotations

import math
from datetime import datetime
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


def format_number(value: float | None, language: str, decimals: int = 1) -> str:
    """1234.5 -> '1.234,5' in pt-BR, '1,234.5' in English; None/NaN -> '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return numbers.format_decimal(value, format=pattern, locale=LANGUAGES[language])


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


def format_day(value: datetime, zone: ZoneInfo, language: str) -> str:
    pattern = "dd/MM" if language == "pt-BR" else "MM/dd"
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=LANGUAGES[language])


def plotly_separators(language: str) -> str:
    """Plotly's decimal then thousands separator."""
    return ",." if language == "pt-BR" else ".,"
