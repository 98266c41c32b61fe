"""The device page's cost per bucket, from the tariffs service (the API's functions), for priced metrics only."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd
from dash import html
from sqlalchemy.engine import Connection

from tds_dash import i18n, periods
from tds_dash.consumption import ids
from tds_dash.queries.devices import DeviceCharts
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import service
from tds_dash.tariffs.money import format_brl


def device_costs(conn: Connection, scope: Scope, device: dict, charts: DeviceCharts,
                 period: periods.Period) -> dict[str, dict[datetime, Decimal]]:
    """{metric: {bucket start: exact cost}} at the bars' granularity, for metrics the account has a tariff for."""
    out: dict[str, dict[datetime, Decimal]] = {}
    for metric in sorted(set(charts.bars["metric"])):
        try:
            if service.get_tariff(conn, scope, device["account_id"], metric) is None:
                continue
            rows = service.consumption_with_cost(conn, scope, device["account_id"], metric, period.start, period.end,
                                                 charts.bar_granularity, period.zone, [device["id"]])
        except service.TariffInputError:  # a gauge: nothing to price
            continue
        out[metric] = {row.bucket: row.cost for row in rows if row.cost is not None}
    return out


def bar_costs(costs: dict[datetime, Decimal] | None, buckets: pd.Series, language: str) -> list[str] | None:
    """'R$ 1.234,56' per bar (— for a bucket without cost); None when the metric is not priced."""
    if costs is None:
        return None
    return [format_brl(costs.get(pd.Timestamp(b).to_pydatetime()), language) for b in buckets]


def cost_total(costs: dict[datetime, Decimal] | None, metric: str, language: str) -> html.Div | None:
    """The period's exact cost of one metric, shown to the centavo; None when not priced."""
    if costs is None:
        return None
    total = sum(costs.values(), Decimal(0))
    return html.Div(i18n.t("device.cost_total", language, total=format_brl(total, language)),
                    className="small fw-semibold mt-1", id={"type": ids.DEVICE_COST_PREFIX, "metric": metric})
