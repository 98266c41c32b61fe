"""Everything the consumption explorer shows, in one call: totals per device, bars, previous period."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import consumption, explorer_cache
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
                   granularity_choice: str | None, compare: bool, now: datetime, top: int | None = None
                   ) -> ExplorerData:
    """Reads rollups only; raises PeriodError for a range too long and ValueError for an unknown metric.
    The `top` (default TOP_DEVICES) largest devices are charted one by one, the rest summed as others."""
    top = top or TOP_DEVICES
    metric = consumption.find_metric(conn, metric_name)
    if metric is None or metric["meter_kind"] == "gauge":
        raise ValueError(f"unknown consumption metric {metric_name!r}")
    granularity, coarsened = periods.resolve_granularity(granularity_choice, period.days)
    args = (scope, selection, metric["id"], granularity, period.start, period.end, period.zone)
    # One scan of the running part; the closed part's rows kept while their stamps hold (bench/RESULTS.md).
    totals, by_device = explorer_cache.explorer_tables(conn, *args, top=top, now=now)
    shown = [int(v) for v in totals["device_id"].head(top)]
    comparison = _compare(conn, scope, selection, metric["id"], period, granularity, now) if compare else None
    return ExplorerData(metric, period, granularity, coarsened, totals, by_device, shown, comparison)


def _compare(conn: Connection, scope: Scope, selection: Selection, metric_id: int, period: periods.Period,
             granularity: str, now: datetime) -> Comparison:
    previous, cut, previous_cut = periods.compared_spans(period, now)  # the overview's meaning too
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
