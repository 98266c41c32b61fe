"""The explorer's data on the server: the full snapshot (downloads) and the totals grid one page at a time.

The browser gets only what the chart needs (explorer.model.browser_store: the top devices, "Outros" and the
fleet's series); the per-device totals of a whole fleet (2,000 rows) stay here and reach the grid a page at
a time, sorted by the database, and the CSV / Excel files are rebuilt from the data layer with every device.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.consumption import paging
from tds_dash.consumption.explorer import cost as explorer_cost
from tds_dash.consumption.explorer import cost_view
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.queries import consumption, explorer
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import service

TOP_DEVICES = explorer.TOP_DEVICES
PAGE_SIZE = 20  # rows per page of the totals grid (its cacheBlockSize too: one request per page)


def snapshot(conn: Connection, scope: Scope, selection: Selection, metric: str, period: periods.Period,
             granularity: str | None, compare: bool, now: datetime, top: int) -> dict:
    """The explorer's full store (every device's totals and cost): what the downloads are built from."""
    data = explorer.fetch_explorer(conn, scope, selection, metric, period, granularity, compare, now, top)
    priced = explorer_cost.price_selection(conn, scope, selection, data, now)
    return explorer_cost.with_cost(explorer_model.to_store(data, now), priced)


def _page_costs(conn: Connection, scope: Scope, selection: Selection, metric: str, period: periods.Period,
                granularity: str, now: datetime, device_ids: list[int]) -> dict | None:
    """The store's 'cost' part for these devices only: status and exact cost per device (None: unpriced)."""
    accounts = explorer_cost.priced_accounts(conn, scope, selection, metric)
    if not accounts or not device_ids:
        return None
    per_device: dict[int, Decimal] = {}
    for account in accounts:  # the sums price_selection reads, for these devices only
        found = service.device_sums(conn, scope, account, metric, period.start, period.end, granularity,
                                    period.zone, device_ids, (), now)
        for device_id, cost in (found.devices if found else {}).items():
            per_device[device_id] = per_device.get(device_id, Decimal(0)) + cost
    return {"status": explorer_cost.PRICED, "devices": {str(d): format(c, "f") for d, c in per_device.items()}}


def grid_page(conn: Connection, scope: Scope, selection: Selection, metric_name: str, period: periods.Period,
              granularity_choice: str | None, now: datetime, request: dict | None, language: str,
              view: str | None = None) -> dict:
    """AG Grid's getRowsResponse: one page of per-device totals (with cost when priced) and the row count.

    ValueError for an unknown metric, a bad page (offset, size) or an unknown sort column."""
    metric = consumption.find_metric(conn, metric_name)
    if metric is None or metric["meter_kind"] == "gauge":
        raise ValueError(f"unknown consumption metric {metric_name!r}")
    granularity, _ = periods.resolve_granularity(granularity_choice, period.days)
    offset, limit, sort, descending = paging.grid_request(request, PAGE_SIZE, "consumption", True)
    page = consumption.device_totals_page(conn, scope, selection, metric["id"], granularity, period.start,
                                          period.end, period.zone, offset, limit, sort, descending)
    devices = explorer_model.device_records(page.rows, page.grand)
    cost = _page_costs(conn, scope, selection, metric["name"], period, granularity, now,
                       [d["device_id"] for d in devices])
    store = {"unit": metric["unit"], "devices": devices, "cost": cost}
    rows = cost_view.table_rows(store, language) if cost else explorer_model.table_rows(store, language)
    return paging.response(rows, page.count, view)
