"""The presentation's content for one account: cards and the monthly and daily charts, as plain JSON.

Read only through the Scope it is given: the share-link routes pass the token's account, never an
account named by the request, so a visitor's parameters cannot widen what is read.
"""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from sqlalchemy.engine import Connection

from tds_dash import figures, i18n
from tds_dash.consumption import month_cost
from tds_dash.consumption.overview import UNITS, change_ratio
from tds_dash.queries import overview
from tds_dash.queries.scope import Scope
from tds_dash.tariffs.money import format_brl

METRIC = "energy_kwh"
MIN_ROTATE, MAX_ROTATE = 5, 600


def rotate_seconds(requested, default: int) -> int:
    """Seconds per slide: the `seconds` query parameter when it is a whole number in 5–600, else the setting."""
    try:
        value = int(str(requested))
    except (TypeError, ValueError):
        return default
    return value if MIN_ROTATE <= value <= MAX_ROTATE else default


def _card(card_id: str, title: str, value: str, note: str = "") -> dict:
    return {"id": card_id, "title": title, "value": value, "note": note}


def _comparison(ratio: float | None, previous: str, language: str, key: str) -> str:
    if ratio is None:
        return i18n.t("card.no_previous", language)
    return i18n.t(key, language, change=i18n.format_percent(ratio, language), previous=previous)


def _cards(data: overview.OverviewData, cost: month_cost.MonthCost | None, language: str) -> list[dict]:
    unit = UNITS[METRIC]
    current, previous = data.month_consumption, data.previous_same_period
    cards = [
        _card("month", i18n.t("card.month", language), f"{i18n.format_number(current, language)} {unit}",
              # The overview's change (periods.compared_spans): both sides up to the last whole hour.
              _comparison(change_ratio(data.compared_consumption if data.compared_consumption is not None
                                       else current, previous), f"{i18n.format_number(previous, language)} {unit}",
                          language, "card.vs_last_month")),
        _card("gateways", i18n.t("card.gateways", language), f"{data.gateways_online} / {data.gateways_total}"),
        _card("devices", i18n.t("card.devices", language), i18n.format_number(data.devices_total, language, 0)),
        _card("readings", i18n.t("card.readings_24h", language), i18n.format_number(data.readings_24h, language, 0)),
    ]
    if cost is not None:
        compared = cost.current if cost.compared is None else cost.compared
        ratio = float(compared / cost.previous - 1) if cost.previous else None
        cards.insert(1, _card("cost", i18n.t("card.cost", language), format_brl(cost.current, language),
                              _comparison(ratio, format_brl(cost.previous, language), language,
                                          "card.cost_vs_last_month")))
    return cards


def _large(figure: go.Figure) -> dict:
    """Big type, no fixed height (the slide sizes it), transparent so the page's dark background shows."""
    figure.update_layout(height=None, autosize=True, font={"size": 20, "color": "#f1f3f5"},
                         paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                         margin={"l": 90, "r": 20, "t": 20, "b": 70})
    figure.update_yaxes(gridcolor="#495057")
    return json.loads(figure.to_json())


def build(conn: Connection, scope: Scope, account: dict, now: datetime, zone: ZoneInfo, language: str) -> dict:
    """Everything one refresh of the presentation shows, for the (single) account `scope` reads."""
    data = overview.fetch_overview(conn, scope, now, zone, METRIC)
    cost = month_cost.month_cost(conn, scope, METRIC, now, zone)
    unit = UNITS[METRIC]
    monthly = figures.consumption_bars(data.monthly, zone, language, unit, "month")
    daily = figures.consumption_bars(data.daily, zone, language, unit, "day")
    return {
        "account": {"slug": account["slug"], "name": account["name"]},
        "updated": i18n.t("refresh.updated", language, when=i18n.format_datetime(now, zone, language)),
        "cards": _cards(data, cost, language),
        "slides": [
            {"id": "cards", "title": account["name"]},
            {"id": "monthly", "title": i18n.t("chart.monthly", language), "figure": _large(monthly)},
            {"id": "daily", "title": i18n.t("chart.daily", language), "figure": _large(daily)},
        ],
    }
