"""Everything the consumption explorer shows, in one call: totals per device, bars, previous period."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import consumption
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import Scope

# Stacked bars show this many devices (largest total first); the rest are summed as "others", so a
# fleet of a thousand meters stays one readable chart and a small store.
TOP_DEVICES = 10


@dataclasses.dataclass(frozen=True)
class Comparison:
    period: periods.Period
    series: pd.DataFrame  # bucket, consumption over the whole previous period
    current_total: float | None  # both totals over the same elapsed time from each period's start
    previous_total: float | None
    cut: datetime  # end of the compared span in the current period


@dataclasses.dataclass(frozen=True)
class ExplorerData:
    metric: dict  # id, name, unit, meter_kind
    period: periods.Period
    granularity: str
    coarsened: bool  # the requested granularity was too fine for the range
    totals: pd.DataFrame  # consumption.device_totals
    by_device: pd.DataFrame  # bucket, device_id (<NA> = others), consumption
    shown: list[int]
    comparison: Comparison | None


def fetch_explorer(conn: Connection, scope: Scope, selection: Selection, metric_name: str, period: periods.Period,
                   granularity_choice: str | None, compare: bool, now: datetime) -> ExplorerData:
    """Reads rollups only; raises PeriodError for a range too long and ValueError for an unknown metric."""
    metric = consumption.find_metric(conn, metric_name)
    if metric is None or metric["meter_kind"] == "gauge":
        raise ValueError(f"unknown consumption metric {metric_name!r}")
    granularity, coarsened = periods.resolve_granularity(granularity_choice, period.days)
    args = (scope, selection, metric["id"], granularity, period.start, period.end, period.zone)
    totals, by_device = consumption.explorer_tables(conn, *args, top=TOP_DEVICES)  # one scan (bench/RESULTS.md)
    shown = [int(v) for v in totals["device_id"].head(TOP_DEVICES)]
    comparison = _compare(conn, scope, selection, metric["id"], period, granularity, now) if compare else None
    return ExplorerData(metric, period, granularity, coarsened, totals, by_device, shown, comparison)


def compared_spans(period: periods.Period, now: datetime) -> tuple[periods.Period, datetime, datetime]:
    """(previous period, cut in the current one, cut in the previous one).

    A period still running is compared up to the last whole local hour before now, and the previous one
    over the same elapsed time from its start, so half a month is not measured against a whole one.
    A finished period is compared whole with the whole previous one.
    """
    previous = periods.previous_period(period)
    if period.end <= now:  # a finished period: whole against whole (February against all of January)
        return previous, period.end, previous.end
    cut = max(periods.floor_hour(now, period.zone), period.start)
    return previous, cut, min(previous.start + (cut - period.start), previous.end)


def _compare(conn: Connection, scope: Scope, selection: Selection, metric_id: int, period: periods.Period,
             granularity: str, now: datetime) -> Comparison:
    previous, cut, previous_cut = compared_spans(period, now)
    zone = period.zone
    current_total, previous_total = consumption.totals_between(
        conn, scope, selection, metric_id, [(period.start, cut), (previous.start, previous_cut)], zone)
    return Comparison(
        period=previous,
        series=consumption.total_series(conn, scope, selection, metric_id, granularity, previous.start, previous.end,
                                        zone),
        current_total=current_total,
        previous_total=previous_total,
        cut=cut,
    )
