"""Spreadsheet-safe cells for every export (explorer CSV/Excel, /api/v1 CSV): text is never a formula.

A text cell starting with = + - @ tab or carriage return is run as a formula by Excel, LibreOffice and
Google Sheets when the file is opened (a device renamed `=HYPERLINK(...)` becomes a live link). OWASP's
CSV-injection advice: prefix such text with a single quote, so it is shown as typed. Numbers, dates and
empty cells are left alone: they never start a formula and must stay numbers for the reader.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value itself, or text that cannot start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column titles are safe; numeric columns keep their dtype."""
    out = frame.rename(columns=safe_cell)
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(safe_cell)
    return out


def safe_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for csv.DictWriter with every text cell made safe."""
    return [{key: safe_cell(value) for key, value in row.items()} for row in rows]
