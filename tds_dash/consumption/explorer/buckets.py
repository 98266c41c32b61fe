"""What the explorer's chart says about each bucket besides its value: its date, whether it is still in
progress, and the span of values the value axis must cover (pure, from the store)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tds_dash import i18n, periods
from tds_dash.consumption.explorer import model as explorer_model


def partial_flags(store: dict, zone: ZoneInfo) -> list[bool]:
    """True for the bucket in progress when the store was fetched (its total still grows)."""
    now = datetime.fromisoformat(store["fetched_at"])
    return [periods.is_partial(datetime.fromisoformat(b), store["granularity"], zone, now) for b in store["buckets"]]


def hover_titles(store: dict, zone: ZoneInfo, language: str, previous: bool = False) -> list[str]:
    """Each bucket's local date as a tooltip names it ('ter., 01/12/2026 14h')."""
    starts = store["previous"]["buckets"] if previous else store["buckets"]
    return [i18n.format_bucket(datetime.fromisoformat(b), store["granularity"], zone, language) for b in starts]


def stacked_values(store: dict, mode: str) -> list[float]:
    """Values the value axis must reach: the stacked positive and negative sums per bucket, and each line."""
    out: list[float] = []
    series = explorer_model.charted_series(store, mode)
    bars = [s["values"] for s in series if s["key"] not in ("previous_total", "total")]
    for column in zip(*bars):
        present = [v for v in column if v is not None]
        out += [sum(v for v in present if v > 0), sum(v for v in present if v < 0)]
    for line in (s["values"] for s in series if s["key"] in ("previous_total", "total")):
        out += [v for v in line if v is not None]
    return out
