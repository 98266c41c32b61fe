"""Shapes one device's data for its page: status header, latest values, a chart section per metric."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from tds_dash import i18n, periods
from tds_dash.consumption import device_cost
from tds_dash.consumption.explorer import figures as explorer_figures
from tds_dash.fleet import components as fleet_components
from tds_dash.queries.devices import DeviceCharts

DEFAULT_DAYS = 7


def period_from_query(query: dict, today: date, zone: ZoneInfo) -> periods.Period:
    """?from=&to= (local dates, inclusive); the last week when absent or reversed."""
    first, last = periods.parse_day(query.get("from")), periods.parse_day(query.get("to"))
    if not first or not last or first > last:
        first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    return periods.Period(first, last, zone)


def parse_device_id(raw) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and len(text) < 19 else None


def status_header(device: dict, status: dict, zone: ZoneInfo, language: str, can_edit: bool = False) -> html.Div:
    """Breadcrumbs, code and status, its gateway (linked) and account; "Editar" for those who manage the fleet."""
    badge = dbc.Badge(i18n.t("device.online" if status["online"] else "device.offline", language),
                      color="success" if status["online"] else "secondary", className="ms-2", id="device-online")
    seen = (i18n.format_datetime(status["last_seen"], zone, language) if status["last_seen"]
            else i18n.t("device.never", language))
    edit = (dcc.Link(i18n.t("fleet.edit", language), id="device-edit", className="btn btn-outline-primary btn-sm ms-3",
                     href=f"/devices?gateway={device['gateway_id']}&edit={device['id']}") if can_edit else None)
    return html.Div([
        fleet_components.breadcrumbs(device["account"], device["account_id"], device["gateway"], device["code"]),
        html.H3([i18n.t("device.title", language, code=device["code"]), badge, edit], className="mb-1"),
        html.Div([f"{device['name']} · ", i18n.t("device.gateway_label", language), " ",
                  dcc.Link(f"{device['gateway']} · {device['gateway_name']}", href=f"/gateways/{device['gateway']}",
                           id="device-gateway-link"),
                  " · " + i18n.t("device.account_label", language, account=device["account"])], className="text-muted"),
        html.Div(i18n.t("device.last_seen", language, when=seen), className="small mb-3", id="device-last-seen"),
    ])


def latest_rows(latest: pd.DataFrame, zone: ZoneInfo, language: str) -> list[dict]:
    """The device's latest value per metric, each named as its chart is ('Energia ativa (kWh)', not the key)."""
    return [{"metric": i18n.metric_title(row.metric, row.unit, language), "value": f"{i18n.format_number(row.value, language, 3)} {row.unit}".strip(),
             "time": i18n.format_datetime(row.ts.to_pydatetime(), zone, language)} for row in latest.itertuples()]


def _unit_name(granularity: str, language: str) -> str:
    return i18n.t(f"granularity.{granularity}", language).lower()


def metric_sections(charts: DeviceCharts, latest: pd.DataFrame, zone: ZoneInfo, language: str,
                    costs: dict | None = None) -> list:
    """A card per metric: the value chart (raw or band, with corrections) and, for meters, consumption bars
    (with the cost per bar and the period's cost when `costs`, from device_cost.device_costs, prices the metric)."""
    costs = costs or {}
    metrics = sorted(set(charts.series["metric"]) | set(charts.bars["metric"]))
    if not metrics:
        return [dbc.Alert(i18n.t("device.no_metrics", language), color="light")]
    kinds = dict(zip(latest["metric"], latest["meter_kind"]))
    note = (i18n.t("device.raw_note", language) if charts.raw
            else i18n.t("device.band_note", language, unit_name=_unit_name(charts.band_granularity, language)))
    config = i18n.graph_config(language)
    cards = []
    for metric in metrics:
        series = charts.series[charts.series["metric"] == metric]
        bars = charts.bars[charts.bars["metric"] == metric]
        unit = (series["unit"].iloc[0] if not series.empty else bars["unit"].iloc[0]) or ""
        fixes = charts.corrections[charts.corrections["metric"] == metric]
        body = [html.Div(note, className="small text-muted"),
                dcc.Graph(figure=explorer_figures.device_band_figure(series, zone, language, unit, fixes),
                          config=config, id={"type": "device-metric-chart", "metric": metric})]
        if kinds.get(metric, "gauge") != "gauge" and not bars["consumption"].isna().all():
            body += [html.Div(i18n.t("device.consumption", language,
                                     unit_name=_unit_name(charts.bar_granularity, language)),
                              className="small text-muted mt-2"),
                     dcc.Graph(figure=explorer_figures.device_bars(
                         bars, zone, language, unit, device_cost.bar_costs(costs.get(metric), bars["bucket"], language)),
                         config=config, id={"type": "device-metric-bars", "metric": metric}),
                     device_cost.cost_total(costs.get(metric), metric, language)]
        cards.append(dbc.Card([dbc.CardHeader(i18n.metric_title(metric, unit, language)), dbc.CardBody(body)],
                              className="mb-3 shadow-sm"))
    return cards
