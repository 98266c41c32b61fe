"""The overview's cost card: this month's exact cost so far vs the same elapsed part of last month
(periods.compared_spans, as the kWh card and the explorer's comparison)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html
from sqlalchemy.engine import Connection

from tds_dash import i18n, periods
from tds_dash.queries.devices import device_options
from tds_dash.queries.scope import Scope
from tds_dash.tariffs import service
from tds_dash.tariffs.engine import exact
from tds_dash.tariffs.money import format_brl, stored_decimal

CARD_ID = "overview-card-cost"


@dataclasses.dataclass(frozen=True)
class MonthCost:
    """Exact costs (Decimal) of the accounts in view that have a tariff for the metric."""

    current: Decimal  # this month so far, the hour in progress included (the card's value)
    previous: Decimal  # last month up to periods.compared_spans' cut
    accounts: int  # how many accounts are priced: the others have no tariff and are left out
    compared: Decimal | None = None  # this month up to the same cut (the change's numerator); None: current


def card_spans(now: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """This month so far; then the two sides of periods.compared_spans (the kWh card's and the explorer's
    meaning of "vs previous period": both cut at the last whole hour)."""
    month = periods.month_to_date(now, zone)
    previous, cut, previous_cut = periods.compared_spans(month, now)
    return [(month.start, periods.floor_hour(now, zone) + timedelta(hours=1)), (month.start, cut),
            (previous.start, previous_cut)]


def _priced(conn: Connection, scope: Scope, metric: str, gateway_id: int | None) -> tuple[list, list[int]] | None:
    """(tariffs of the scope for the metric, device filter: [] = all); None when nothing can be priced."""
    tariffs = [t for t in service.list_tariffs(conn, scope) if t.metric == metric]
    devices: list[int] = []
    if gateway_id is not None:
        devices = [d["id"] for d in device_options(conn, scope, gateway_ids=[gateway_id])]
        if not devices:
            return None  # an empty device filter would mean every device
    return (tariffs, devices) if tariffs else None


@dataclasses.dataclass(frozen=True)
class CardTotals:
    """One tariff's part of the card: MonthCost's three figures (None: not asked or no such span)."""

    current: Decimal | None
    compared: Decimal | None
    previous: Decimal


def price_card(conn: Connection, scope: Scope, account_id: int, metric: str, now: datetime, zone: ZoneInfo,
               devices=(), through_month_end: bool = False, current: bool = True) -> CardTotals:
    """The card's spans (card_spans) priced for one account's tariff, as every reader of the card does.

    This month's spans share one pricing of today's changed devices (tariffs running_totals);
    through_month_end adds the running month to its end in the same pricing (the explorer's, the API's and
    the overview bars' end: the warm-up, cost_warmup.py); current=False prices last month's part only."""
    (start, so_far), (_, cut), previous = card_spans(now, zone)
    this_month: list[Decimal] = []
    if current:
        ends = [so_far] + ([cut] if cut > start else [])
        if through_month_end:
            ends.append(periods.local_midnight(periods.add_months(start.astimezone(zone).date(), 1), zone))
        this_month = service.running_totals(conn, scope, account_id, metric, start, ends, zone, devices, now)
    previous_total = (service.cost_breakdown(conn, scope, account_id, metric, *previous, "month", zone, devices,
                                             now).total if previous[1] > previous[0] else Decimal(0))
    return CardTotals(this_month[0] if this_month else None,
                      this_month[1] if this_month and cut > start else None, previous_total)


def month_cost(conn: Connection, scope: Scope, metric: str, now: datetime, zone: ZoneInfo,
               gateway_id: int | None = None) -> MonthCost | None:
    """Costs of the scope's accounts with a tariff for `metric` (one gateway's devices, or all); None: no tariff."""
    found = _priced(conn, scope, metric, gateway_id)
    if found is None:
        return None
    tariffs, devices = found
    totals = [Decimal(0)] * 3
    with exact():  # exact sums of exact totals (the default context would round to 28 digits)
        for tariff in tariffs:
            card = price_card(conn, scope, tariff.account_id, metric, now, zone, devices)
            totals = [totals[0] + card.current, totals[1] + (card.compared or 0), totals[2] + card.previous]
    return MonthCost(totals[0], totals[2], len(tariffs), totals[1])


def monthly_costs(conn: Connection, scope: Scope, metric: str, now: datetime, zone: ZoneInfo,
                  gateway_id: int | None = None) -> dict[str, str] | None:
    """{month start (ISO, UTC): exact cost as a decimal string} of the overview's 13 monthly bars; None: no tariff."""
    this_month = now.astimezone(zone).date().replace(day=1)
    start = periods.local_midnight(periods.add_months(this_month, -12), zone)
    end = periods.local_midnight(periods.add_months(this_month, 1), zone)
    found = _priced(conn, scope, metric, gateway_id)
    if found is None:
        return None
    tariffs, devices = found
    # The 12 past months come from the device-month cost cache (tariffs/month_cache.py): only the running
    # month is priced from its hours on each call.
    costs: dict[datetime, Decimal] = {}
    for tariff in tariffs:
        for bucket in service.cost_breakdown(conn, scope, tariff.account_id, metric, start, end, "month", zone,
                                             devices, now).buckets:
            costs[bucket.bucket] = costs.get(bucket.bucket, Decimal(0)) + bucket.cost
    return {bucket.astimezone(timezone.utc).isoformat(): format(cost, "f") for bucket, cost in costs.items()}


def bar_costs(stored: dict | None, buckets, language: str) -> list[str] | None:
    """'R$ 1.234,56' per bar (— for a month without cost), from the store; None when nothing is priced."""
    if not stored:
        return None
    by_instant = {datetime.fromisoformat(k): stored_decimal(v) for k, v in stored.items()}
    return [format_brl(by_instant.get(pd.Timestamp(b).to_pydatetime()), language) for b in buckets]


def to_store(cost: MonthCost | None) -> dict | None:
    """JSON-safe (decimal strings) for the overview's dcc.Store."""
    if cost is None:
        return None
    return {"current": str(cost.current), "previous": str(cost.previous),
            "compared": str(cost.current if cost.compared is None else cost.compared)}


def cost_card(stored: dict | None, language: str) -> dbc.Col | None:
    """The card, or None when nothing in view has a tariff."""
    if not stored:
        return None
    current, previous = stored_decimal(stored["current"]), stored_decimal(stored["previous"])
    compared = stored_decimal(stored.get("compared", stored["current"]))  # periods.compared_spans' cut
    note = (i18n.t("card.cost_vs_last_month", language, change=i18n.format_percent(float(compared / previous - 1),
                                                                                    language),
                   previous=format_brl(previous, language)) if previous else i18n.t("card.no_previous", language))
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(i18n.t("card.cost", language), className="text-muted small"),
        html.Div(format_brl(current, language), className="fs-3 fw-semibold", id=f"{CARD_ID}-value"),
        html.Div(note, className="small text-muted", id=f"{CARD_ID}-note", title=i18n.t("compare.help", language)),
    ]), className="h-100 shadow-sm"), md=3, className="mb-3", id=CARD_ID)
