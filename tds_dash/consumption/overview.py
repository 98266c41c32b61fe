"""Shapes overview data for the browser: store (de)serialisation, cards and table rows."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html
from sqlalchemy.engine import Connection

from tds_dash import i18n
from tds_dash.consumption import month_cost, paging
from tds_dash.fleet import gateway_detail
from tds_dash.queries import overview as overview_queries
from tds_dash.queries.overview import OverviewData
from tds_dash.queries.scope import Scope

UNITS = {"energy_kwh": "kWh", "water_m3": "m³", "gas_m3": "m³"}
METRIC_CHOICES = ("energy_kwh", "water_m3")


def _frame_records(frame: pd.DataFrame, time_column: str) -> list[dict]:
    out = frame.copy()
    out[time_column] = out[time_column].map(lambda v: v.isoformat())
    return out.astype(object).where(out.notna(), None).to_dict("records")


def to_store(data: OverviewData, metric: str, fetched_at: datetime, cost: month_cost.MonthCost | None = None,
             monthly_cost: dict[str, str] | None = None) -> dict:
    """JSON-safe snapshot kept in a dcc.Store; every figure and card is drawn from it (the latest readings'
    table asks for its pages itself: latest_page)."""
    return {
        "metric": metric,
        "cost": month_cost.to_store(cost),
        "monthly_cost": monthly_cost,  # {month start ISO: decimal string}, None without a tariff in view
        "fetched_at": fetched_at.isoformat(),
        "cards": {
            "gateways_online": data.gateways_online, "gateways_total": data.gateways_total,
            "devices_total": data.devices_total, "readings_24h": data.readings_24h,
            "month_consumption": data.month_consumption, "previous_same_period": data.previous_same_period,
            "compared_consumption": data.compared_consumption,
        },
        "monthly": _frame_records(data.monthly, "bucket"),
        "daily": _frame_records(data.daily, "bucket"),
        "offline": gateway_detail.offline_records(data.offline_gateways),
    }


def series_from_store(records: list[dict], zone: ZoneInfo) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=["bucket", "consumption"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.tz_convert(zone)
    frame["consumption"] = frame["consumption"].astype("float64")
    return frame


def _card(title: str, value: str, note: str, card_id: str, hint: str | None = None) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="text-muted small"),
        html.Div(value, className="fs-3 fw-semibold", id=f"{card_id}-value"),
        html.Div(note, className="small text-muted", id=f"{card_id}-note", title=hint),
    ]), className="h-100 shadow-sm"), md=3, className="mb-3", id=card_id)


def change_ratio(current: float | None, previous: float | None) -> float | None:
    if current is None or not previous:
        return None
    return current / previous - 1


def cards(store: dict, language: str) -> list:
    values = store["cards"]
    unit = UNITS.get(store["metric"], "")
    current, previous = values["month_consumption"], values["previous_same_period"]
    # The change is periods.compared_spans' (the explorer's): up to the last whole hour on both sides.
    ratio = change_ratio(values.get("compared_consumption", current), previous)
    comparison = (i18n.t("card.vs_last_month", language, change=i18n.format_percent(ratio, language),
                         previous=f"{i18n.format_number(previous, language)} {unit}")
                  if ratio is not None else i18n.t("card.no_previous", language))
    return [
        _card(i18n.t("card.gateways", language), f"{values['gateways_online']} / {values['gateways_total']}", "",
              "overview-card-gateways"),
        _card(i18n.t("card.devices", language), i18n.format_number(values["devices_total"], language, 0), "",
              "overview-card-devices"),
        _card(i18n.t("card.readings_24h", language), i18n.format_number(values["readings_24h"], language, 0), "",
              "overview-card-readings"),
        _card(i18n.t("card.month", language), f"{i18n.format_number(current, language)} {unit}", comparison,
              "overview-card-month", i18n.t("compare.help", language)),
        month_cost.cost_card(store.get("cost"), language),  # None (nothing drawn) without a tariff in view
        gateway_detail.offline_alert(store.get("offline", []), store["fetched_at"], language),
    ]


LATEST_PAGE_SIZE = 10  # a page of devices: the block stays short on a phone, the pager shows the rest


def table_columns(language: str) -> list[dict]:
    """Latest reading per device: its human name first (the code after it), then value, gateway and time."""
    return [
        {"field": "device", "headerName": i18n.t("col.device", language), "flex": 3, "minWidth": 170},
        {"field": "value", "headerName": i18n.t("col.latest_value", language), "flex": 2, "minWidth": 120,
         "type": "rightAligned"},
        {"field": "gateway", "headerName": i18n.t("col.gateway", language), "flex": 1, "minWidth": 100},
        {"field": "time", "headerName": i18n.t("col.time", language), "flex": 2, "minWidth": 150},
    ]


def latest_page(conn: Connection, scope: Scope, zone: ZoneInfo, metric: str, gateway_id: int | None,
                request: dict | None, language: str) -> dict:
    """The latest table's getRowsResponse: one page of devices' newest readings, sorted by the database.
    ValueError for a bad page or an unknown sort column."""
    offset, limit, sort, descending = paging.grid_request(request, LATEST_PAGE_SIZE, "gateway", False)
    frame, count = overview_queries.latest_readings_page(conn, scope, zone, metric, gateway_id, offset, limit,
                                                         sort, descending)
    return paging.response(table_rows(_frame_records(frame, "ts"), zone, language), count)


def table_rows(records: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    rows = []
    for record in records:
        decimals = 3 if abs(record["value"]) < 1000 else 1
        rows.append({
            "device": f"{record['device_name'] or record['device']} ({record['device']})",
            "value": f"{i18n.format_number(record['value'], language, decimals)} {record['unit']}".strip(),
            "gateway": record["gateway"],
            "time": i18n.format_datetime(datetime.fromisoformat(record["ts"]), zone, language),
        })
    return rows


def history_notice(background, language: str) -> dbc.Alert | None:
    """While the demo's history loads, say so (and how far): earlier months are not complete yet."""
    history = getattr(background, "history", None) if background is not None else None
    if history is None or not history.loading:
        return None
    return dbc.Alert(i18n.t("history.loading", language, percent=int(history.fraction * 100)), color="info",
                     id="overview-history-loading", className="py-2")
