"""UI language: translated labels and number/date formatting (Brazilian Portuguese by default)."""
from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import dates, numbers

LANGUAGES = {"pt-BR": "pt_BR", "en": "en_US"}
LANGUAGE_COOKIE = "tds_lang"

MESSAGES = {
    "nav.overview": {"pt-BR": "Visão geral", "en": "Overview"},
    "overview.title": {"pt-BR": "Visão geral da frota", "en": "Fleet overview"},
    "filter.account": {"pt-BR": "Conta", "en": "Account"},
    "filter.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "filter.metric": {"pt-BR": "Grandeza", "en": "Quantity"},
    "filter.all": {"pt-BR": "Todas", "en": "All"},
    "filter.all_gateways": {"pt-BR": "Todos", "en": "All"},
    "refresh.pause": {"pt-BR": "Pausar atualização", "en": "Pause refresh"},
    "refresh.updated": {"pt-BR": "Atualizado em {when}", "en": "Updated at {when}"},
    "refresh.paused": {"pt-BR": "Atualização pausada", "en": "Refresh paused"},
    "card.gateways": {"pt-BR": "Gateways online", "en": "Gateways online"},
    "card.devices": {"pt-BR": "Dispositivos", "en": "Devices"},
    "card.readings_24h": {"pt-BR": "Leituras (24 h)", "en": "Readings (24 h)"},
    "card.month": {"pt-BR": "Consumo no mês", "en": "Consumption this month"},
    "card.vs_last_month": {"pt-BR": "{change} vs. mesmo período do mês anterior ({previous})",
                           "en": "{change} vs. same period last month ({previous})"},
    "card.no_previous": {"pt-BR": "sem dados do mês anterior", "en": "no data for last month"},
    "chart.monthly": {"pt-BR": "Consumo mensal — últimos 13 meses", "en": "Monthly consumption — last 13 months"},
    "chart.daily": {"pt-BR": "Consumo diário — mês atual", "en": "Daily consumption — this month"},
    "chart.empty": {"pt-BR": "Sem dados no período", "en": "No data in this period"},
    "table.latest": {"pt-BR": "Últimas 50 leituras", "en": "Latest 50 readings"},
    "col.time": {"pt-BR": "Data/hora", "en": "Time"},
    "col.gateway": {"pt-BR": "Gateway", "en": "Gateway"},
    "col.device": {"pt-BR": "Dispositivo", "en": "Device"},
    "col.metric": {"pt-BR": "Grandeza", "en": "Quantity"},
    "col.value": {"pt-BR": "Valor", "en": "Value"},
    "metric.energy_kwh": {"pt-BR": "Energia (kWh)", "en": "Energy (kWh)"},
    "metric.water_m3": {"pt-BR": "Água (m³)", "en": "Water (m³)"},
    "metric.gas_m3": {"pt-BR": "Gás (m³)", "en": "Gas (m³)"},
    "error.load": {"pt-BR": "Não foi possível carregar os dados: {error}", "en": "Could not load data: {error}"},
    "history.loading": {"pt-BR": "Histórico em carga ({percent} %): os meses anteriores ainda estão incompletos.",
                        "en": "History loading ({percent} %): earlier months are not complete yet."},
}


def add_messages(messages: dict[str, dict[str, str]]) -> None:
    """Pages and modules register their own labels; a key defined twice with other text is a bug."""
    for key, texts in messages.items():
        if key in MESSAGES and MESSAGES[key] != texts:
            raise ValueError(f"i18n key {key!r} is already defined differently")
        MESSAGES[key] = texts


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
