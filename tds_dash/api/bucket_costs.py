"""The `cost` and `currency` columns /api/v1/consumption?cost=true adds to its buckets, from the tariffs service."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs import service
from tds_dash.tariffs.model import CURRENCY


def _costs(conn: Connection, scope: Scope, account_id: int, metric: str, device_ids: list[int], span: tuple,
           zone: ZoneInfo) -> dict[tuple, str | None]:
    """{(bucket, device_id): exact cost as a decimal string, or None without a tariff} for one account's metric."""
    start, end, granularity = span
    try:
        rows = service.consumption_with_cost(conn, scope, account_id, metric, start, end, granularity, zone,
                                             device_ids)
    except service.TariffInputError:  # a gauge (nothing to price) or an unknown metric: no cost, not an error
        return {}
    return {(pd.Timestamp(r.bucket), r.device_id): None if r.cost is None else format(r.cost, "f") for r in rows}


def add_costs(conn: Connection, scope: Scope, frame: pd.DataFrame, account_of: dict[int, int], start: datetime,
              end: datetime, granularity: str, zone: ZoneInfo) -> pd.DataFrame:
    """The frame with `cost` (decimal string or None) and `currency` (BRL, or None when no cost) per row.

    `account_of` maps each device id to its account: costs are priced per account and metric, all its devices at once.
    """
    found: dict[tuple, str | None] = {}
    for metric in sorted(set(frame["metric"])):
        for account in sorted(set(account_of.values())):
            ids = [i for i, a in account_of.items() if a == account]
            costs = _costs(conn, scope, account, metric, ids, (start, end, granularity), zone)
            found.update({(bucket, device, metric): cost for (bucket, device), cost in costs.items()})
    costs = [found.get((pd.Timestamp(b), d, m)) for b, d, m in zip(frame["bucket"], frame["device_id"],
                                                                     frame["metric"])]
    out = frame.copy()
    out["cost"] = pd.Series(costs, index=frame.index, dtype=object)
    out["currency"] = pd.Series([None if cost is None else CURRENCY for cost in costs], index=frame.index, dtype=object)
    return out
