"""The explorer's cost: what the selection cost per bucket, per device and per compared period, in R$.

Prices come from tds_dash.tariffs.service (the functions /api/v1/cost and /api/v1/consumption?cost=true
call), one account at a time and only for accounts of the viewer's scope with a tariff for the metric.
The store keeps exact decimal strings; floats appear only as the chart's bar heights.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries import devices
from tds_dash.queries.consumption import Selection
from tds_dash.queries.explorer import ExplorerData
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import service
from tds_dash.tariffs.model import CURRENCY

PRICED, PARTIAL, UNPRICED = "priced", "partial", "none"
ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class Priced:
    """Exact costs of the selection: per device and per (charted device, bucket) in the period, per bucket in
    the previous one."""

    accounts: tuple[int, ...]  # accounts priced (in scope, selected, with a tariff for the metric)
    devices: dict[int, Decimal]  # every device with consumption or cost in the period
    series: dict[tuple[int | None, datetime], Decimal]  # (shown device, None for the others; bucket)
    previous: dict[datetime, Decimal] | None  # previous period per bucket (compare on)
    current_total: Decimal | None  # both up to the same elapsed time as the consumption comparison
    previous_total: Decimal | None


def selected_devices(conn: Connection, scope: Scope, selection: Selection) -> list[int]:
    """Ids of the devices the selection covers in the viewer's scope (whether or not they have data)."""
    rows = devices.device_options(conn, scope, selection.account_ids, selection.gateway_ids)
    wanted = set(selection.device_ids)
    return [row["id"] for row in rows if not wanted or row["id"] in wanted]


def priced_accounts(conn: Connection, scope: Scope, selection: Selection, metric: str) -> list[int]:
    """Accounts in the scope (and the selection) with a tariff for the metric."""
    return [t.account_id for t in service.list_tariffs(conn, scope) if t.metric == metric
            and (not selection.account_ids or t.account_id in selection.account_ids)]


def _total(conn, scope, accounts, metric, start, end, zone, ids, now) -> Decimal:
    if end <= start:
        return ZERO
    return sum((service.cost_breakdown(conn, scope, a, metric, start, end, "month", zone, ids, now).total
                for a in accounts), ZERO)


def price_selection(conn: Connection, scope: Scope, selection: Selection, data: ExplorerData,
                    now: datetime) -> Priced | None:
    """The selection's exact costs over the explorer's period (and the previous one); None: nothing priced."""
    metric, period = data.metric["name"], data.period
    accounts = priced_accounts(conn, scope, selection, metric)
    if not accounts:
        return None
    # No gateway or device picked: every device of each priced account, the service's empty filter (the
    # cache then reads by account, not through a list of a thousand ids).
    whole = not selection.gateway_ids and not selection.device_ids
    ids = [] if whole else selected_devices(conn, scope, selection)
    if not whole and not ids:  # an empty device list would mean "every device" to the service
        return None
    by_device: dict[int, Decimal] = defaultdict(lambda: ZERO)
    series: dict[tuple[int | None, datetime], Decimal] = defaultdict(lambda: ZERO)
    for account in accounts:  # summed per device and series by the service (in SQL for cached months)
        found = service.device_sums(conn, scope, account, metric, period.start, period.end, data.granularity,
                                    period.zone, ids, data.shown, now)
        for device_id, cost in (found.devices if found else {}).items():
            by_device[device_id] += cost
        for key, cost in (found.series if found else {}).items():
            series[key] += cost
    previous = current_total = previous_total = None
    if data.comparison is not None:
        before, cut, before_cut = periods.compared_spans(period, now)  # the one meaning (tds_dash/periods.py)
        previous = defaultdict(lambda: ZERO)
        for account in accounts:
            breakdown = service.cost_breakdown(conn, scope, account, metric, before.start, before.end,
                                               data.granularity, period.zone, ids, now)
            for bucket in breakdown.buckets:
                previous[bucket.bucket] += bucket.cost
        current_total = _total(conn, scope, accounts, metric, period.start, cut, period.zone, ids, now)
        previous_total = _total(conn, scope, accounts, metric, before.start, before_cut, period.zone, ids, now)
    return Priced(tuple(accounts), dict(by_device), dict(series), None if previous is None else dict(previous),
                  current_total, previous_total)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _aligned(values: dict[datetime, Decimal], buckets: Iterable[str]) -> list[str | None]:
    return [_text(values.get(datetime.fromisoformat(b))) for b in buckets]


def to_store(priced: Priced | None, store: dict) -> dict:
    """The store's 'cost' part: status, cost per charted series and bucket, per device, per compared period.

    'partial' when some device in the table belongs to an account without a tariff (its cost is null).
    """
    if priced is None:
        return {"status": UNPRICED, "currency": CURRENCY}
    per_device = priced.devices
    per_series: dict[object, dict[datetime, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    shown = {s["device_id"] for s in store["series"] if s["device_id"] is not None}
    for (device_id, bucket), cost in priced.series.items():
        per_series[device_id if device_id in shown else None][bucket] += cost
    priced_ids = set(per_device)
    unpriced = [d for d in store["devices"] if d["device_id"] not in priced_ids and d["consumption"]]
    part = {
        "status": PARTIAL if unpriced else PRICED, "currency": CURRENCY,
        "series": [_aligned(per_series.get(s["device_id"], {}), store["buckets"]) for s in store["series"]],
        "devices": {str(d["device_id"]): _text(per_device[d["device_id"]]) if d["device_id"] in priced_ids else None
                    for d in store["devices"]},
        "total": _text(sum(per_device.values(), ZERO)),
        "previous": None,
    }
    if priced.previous is not None and store.get("previous"):
        change = (priced.current_total / priced.previous_total - 1) if priced.previous_total else None
        part["previous"] = {"values": _aligned(priced.previous, store["previous"]["buckets"]),
                            "current_total": _text(priced.current_total),
                            "previous_total": _text(priced.previous_total),
                            "change": None if change is None else float(change)}
    return part


def with_cost(store: dict, priced: Priced | None) -> dict:
    """The explorer store with its 'cost' part."""
    return {**store, "cost": to_store(priced, store)}
