"""What the explorer shows of cost: the kWh / R$ switch, the chart in R$, the cost column, the cost text.

Drawn from the store's 'cost' part only (see explorer/cost.py); money shown as R$ 1.234,56.
"""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from tds_dash import i18n
from tds_dash.consumption import ids
from tds_dash.consumption.explorer import cost_series
from tds_dash.consumption.explorer import figures as explorer_figures
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.tariffs.money import format_brl

QUANTITY, COST = "quantity", "cost"
MEASURES = (QUANTITY, COST)


def measure_control(language: str) -> html.Div:
    """The kWh / R$ switch (R$ disabled until a priced store arrives) and its explanation."""
    return html.Div([
        dbc.RadioItems(id=ids.EXPLORER_MEASURE, value=QUANTITY, inline=True, className="d-inline-block me-2",
                       options=measure_options(None, language)),
        html.Span(id=ids.EXPLORER_MEASURE_NOTE, className="small text-muted"),
    ], className="d-inline-block me-3")


def measure_options(store: dict | None, language: str) -> list[dict]:
    unit = (store or {}).get("unit") or i18n.t("explorer.measure.quantity", language)
    return [{"label": unit, "value": QUANTITY},
            {"label": cost_series.COST_UNIT, "value": COST, "disabled": not cost_series.priced(store)}]


def measure_state(store: dict | None, chosen: str | None, language: str) -> tuple[list[dict], str, str]:
    """(options, value, note): R$ falls back to the unit, with the reason, when nothing in view is priced."""
    options = measure_options(store, language)
    if not store:
        return options, chosen if chosen in MEASURES else QUANTITY, ""
    status = (store.get("cost") or {}).get("status")
    if not cost_series.priced(store):
        metric = i18n.metric_title(store["metric"], store["unit"], language)
        return options, QUANTITY, i18n.t("explorer.cost.no_tariff", language, metric=metric)
    note = i18n.t("explorer.cost.partial", language) if status == "partial" else ""
    return options, chosen if chosen in MEASURES else QUANTITY, note


def measure_part(store: dict | None, language: str) -> dict:
    """The switch's options and note for the store, translated, for MEASURE_SCRIPT in the browser."""
    options, _, note = measure_state(store, COST, language)
    return {"options": options, "note": note, "priced": cost_series.priced(store)}


# measure_state's rule in the browser: R$ kept only while something in view is priced, else the unit. The
# value is set only when it changes: the store's response already holds the chart in that measure, and
# setting the same value would redraw it once more (pages/explorer.py update_chart).
MEASURE_SCRIPT = ("function(store, chosen) {"
                  " const part = store && store.measure, no = window.dash_clientside.no_update;"
                  " if (!part) { return [no, no, no]; }"
                  " const value = part.priced && (chosen === '" + QUANTITY + "' || chosen === '" + COST + "')"
                  " ? chosen : '" + QUANTITY + "';"
                  " return [part.options, value === chosen ? no : value, part.note]; }")


def shows_cost(store: dict | None, measure: str | None) -> bool:
    """Whether the chart is to be drawn in R$: chosen, and something in view is priced."""
    return measure == COST and cost_series.priced(store)


def _as_floats(values: list[Decimal | None]) -> list[float | None]:
    return [None if v is None else float(v) for v in values]


def cost_store(store: dict) -> dict:
    """The store with each series' values replaced by its cost (floats, for bar heights) and unit R$."""
    charted = {s["key"]: s["values"] for s in cost_series.charted_costs(store, "bars")}
    series = [dict(s, values=_as_floats(charted.get(s["label"], [None] * len(store["buckets"]))))
              for s in store["series"]]
    out = {**store, "unit": cost_series.COST_UNIT, "series": series}
    if store.get("previous") and (store["cost"].get("previous") or {}).get("values") is not None:
        values = _as_floats(charted.get("previous_total", []))
        out["previous"] = {**store["previous"], "values": values[:len(store["previous"]["values"])]}
    return out


def cost_figure(store: dict, mode: str, zone: ZoneInfo, language: str) -> go.Figure:
    """The explorer's chart in R$: the same bars or line, heights in R$, hover with exact R$ to the centavo."""
    figure = explorer_figures.explorer_figure(cost_store(store), mode, zone, language)
    series = cost_series.charted_costs(store, mode)
    previous = explorer_model.bucket_labels(store, zone, language, previous=True) if store.get("previous") else []
    traces = [trace for trace in figure.data if trace.hovertext is not None]
    for trace, one in zip(traces, series):
        if one["key"] == "previous_total":
            labels = previous + [""] * len(one["values"])
            trace.hovertext = [f"{trace.name} ({label}): {format_brl(v, language)}"
                               for label, v in zip(labels, one["values"])]
        else:
            trace.hovertext = [f"{trace.name}: {format_brl(v, language)}" for v in one["values"]]
    return figure


def table_columns(store: dict | None, language: str) -> list[dict]:
    """The totals table's columns, with the cost per device when the store is priced."""
    columns = explorer_model.table_columns(language)
    if cost_series.priced(store):
        # Not sortable: the grid is sorted by the database, and costs are priced per page (explorer/totals.py).
        columns.append({"field": "cost", "headerName": i18n.t("explorer.col.cost", language), "type": "rightAligned",
                        "flex": 1, "sortable": False,
                        "valueFormatter": {"function": "params.data ? params.data.cost_text : ''"}})
    return columns


def table_rows(store: dict, language: str) -> list[dict]:
    """The totals rows with 'cost' (a number, for sorting) and 'cost_text' (R$ 1.234,56; — without a tariff)."""
    rows = explorer_model.table_rows(store, language)
    for row, cost in zip(rows, cost_series.device_costs(store)):
        row["cost"], row["cost_text"] = (None if cost is None else float(cost)), format_brl(cost, language)
    return rows


def cost_text(store: dict | None, language: str) -> str | None:
    """'Custo: R$ 1.234,56', or with a comparison 'Custo: R$ X vs. R$ Y (+z%)'; None when not priced."""
    if not cost_series.priced(store):
        return None
    cost = store["cost"]
    compared = cost.get("previous")
    if not compared:
        return i18n.t("explorer.cost.total", language, total=format_brl(cost_series.to_decimal(cost["total"]), language))
    change = compared.get("change")
    return i18n.t("explorer.cost.change", language,
                  current=format_brl(cost_series.to_decimal(compared["current_total"]), language),
                  previous=format_brl(cost_series.to_decimal(compared["previous_total"]), language),
                  change=i18n.format_percent(change, language) if isinstance(change, (int, float)) else "—")


def change_text(store: dict | None, language: str) -> list | None:
    """The consumption text of explorer.model, then the cost text on its own line."""
    if not store:
        return None
    quantity, cost = explorer_model.change_text(store, language), cost_text(store, language)
    return [html.Div(quantity)] + ([html.Div(cost, id=ids.EXPLORER_COST_TEXT)] if cost else [])
