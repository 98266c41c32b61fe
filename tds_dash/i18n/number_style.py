"""One number style for axes, cards, tooltips and forms: the language's grouping and decimal mark.

Axis ticks are written by us (Plotly's SI suffixes say "800k" and "0,8M"): pt-BR spells large values
"800 mil" and "1,2 mi", English keeps "800k" and "1.2M". Forms read back exactly what the app displays
("1.000.000" and "1.000,5" in pt-BR, "1,000,000" and "1,000.5" in English).
"""
from __future__ import annotations

import math
import re

from babel import numbers

_LOCALES = {"pt-BR": "pt_BR", "en": "en_US"}
# (threshold, divisor, pt-BR word, English suffix), largest first.
_SCALES = ((1e9, 1e9, " bi", "B"), (1e6, 1e6, " mi", "M"), (1e3, 1e3, " mil", "k"))
_MARKS = {"pt-BR": (".", ","), "en": (",", ".")}  # (grouping, decimal)
_SPACES = re.compile(r"[\s\u00a0\u202f]")


def _plain(value: float, language: str, decimals: int) -> str:
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return numbers.format_decimal(value, format=pattern, locale=_LOCALES.get(language, "pt_BR"))


def compact_number(value: float, language: str) -> str:
    """800000 -> '800 mil' (pt-BR) / '800k' (en); 1_250_000 -> '1,25 mi' / '1.25M'; small values as they are."""
    size = abs(value)
    for threshold, divisor, word, suffix in _SCALES:
        if size >= threshold:
            return _plain(value / divisor, language, 2) + (word if language == "pt-BR" else suffix)
    return _plain(value, language, 2 if size < 10 else 1 if size < 100 else 0)


def nice_step(span: float, count: int = 5) -> float:
    """A 1/2/2.5/5 × 10^n step giving about `count` intervals over span (> 0)."""
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def axis_ticks(low: float | None, high: float | None, language: str, count: int = 5,
               from_zero: bool = True) -> dict:
    """Plotly axis settings (tickvals/ticktext and a range) for values within [low, high]; {} when empty.

    from_zero: the axis starts at 0 (quantities, bars); False keeps the values' own span (a voltage of
    218–232 V, a counter near 683.626 kWh). Ticks close together next to their size are written in full
    ('683.610', '683.620': abbreviated they would read '683,61 mil' or collide).
    """
    if high is None or low is None or not (math.isfinite(low) and math.isfinite(high)):
        return {}
    if from_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        low, high = (low, low + 1) if from_zero else (low - max(abs(low) * 0.01, 0.5), high + max(abs(high) * 0.01, 0.5))
    step = nice_step(high - low, count)
    first, last = math.floor(low / step), math.ceil(high / step)
    values = [round(i * step, 10) for i in range(first, last + 1)]
    texts = [compact_number(v, language) for v in values]
    if step * 100 < max(abs(values[0]), abs(values[-1])) or len(set(texts)) < len(texts):
        decimals = next(d for d in range(7) if round(step, d) == step or d == 6)
        texts = [_plain(v, language, decimals) for v in values]
    top = values[-1] * 1.02 if from_zero and values[-1] > 0 else values[-1]
    return {"tickmode": "array", "tickvals": values, "ticktext": texts, "range": [values[0], top]}


def parse_number(text: str, language: str | None) -> float | None:
    """A number typed as the app displays it in `language`; None when it is not one.

    With grouping ('1.000.000', '1.000,5' in pt-BR; '1,000,000' in English) the marks are the
    language's. A lone mark without 3-digit groups is a decimal mark either way ('1,5' or '1.5'), as
    people type both. language None: no grouping, either mark as decimal (the API's strings).
    """
    text = _SPACES.sub("", str(text))
    if language in _MARKS:
        group, decimal = (re.escape(mark) for mark in _MARKS[language])
        grouped = re.fullmatch(rf"([+-]?\d{{1,3}}(?:{group}\d{{3}})+)(?:{decimal}(\d{{1,9}}))?", text)
        if grouped:
            whole = grouped.group(1).replace(_MARKS[language][0], "")
            return float(whole + ("." + grouped.group(2) if grouped.group(2) else ""))
    if re.fullmatch(r"[+-]?\d{1,16}([.,]\d{1,9})?", text):
        return float(text.replace(",", "."))
    return None
