"""Pure functions from data to plotly figures; no database, no Dash."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from tds_dash import i18n

BAR_COLOR = "#0d6efd"
CURRENT_COLOR = "#fd7e14"


def _base_layout(figure: go.Figure, language: str, unit: str) -> go.Figure:
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        separators=i18n.plotly_separators(language),
        yaxis={"title": {"text": unit}, "rangemode": "tozero"},
        plot_bgcolor="white",
        height=320,
        bargap=0.15,
    )
    figure.update_yaxes(gridcolor="#e9ecef")
    return figure


def empty_figure(language: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=i18n.t("chart.empty", language), showarrow=False, font={"size": 14})
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, height=320, plot_bgcolor="white")
    return figure


def consumption_bars(frame: pd.DataFrame, zone: ZoneInfo, language: str, unit: str, granularity: str,
                     costs: list[str] | None = None) -> go.Figure:
    """Bars of consumption per bucket; the last (current, incomplete) bucket is highlighted.

    `costs`: one formatted amount per bar (R$ 1.234,56), added to the hover when the view is priced.
    """
    if frame.empty or frame["consumption"].isna().all():
        return empty_figure(language)
    label = i18n.format_month if granularity == "month" else i18n.format_day
    labels = [label(bucket.to_pydatetime(), zone, language) for bucket in frame["bucket"]]
    hover = [f"{text}: {i18n.format_number(value, language)} {unit}" for text, value in zip(labels, frame["consumption"])]
    if costs is not None:
        hover = [f"{text}<br>{i18n.t('cost.hover', language, cost=cost)}" for text, cost in zip(hover, costs)]
    colors = [BAR_COLOR] * (len(frame) - 1) + [CURRENT_COLOR]
    figure = go.Figure(go.Bar(x=labels, y=frame["consumption"], marker_color=colors, hovertext=hover,
                              hoverinfo="text", customdata=frame["bucket"].astype(str)))
    figure.update_xaxes(type="category")
    return _base_layout(figure, language, unit)


def message_rate(frame: pd.DataFrame, zone: ZoneInfo, language: str) -> go.Figure:
    """Messages per hour as a line; an hour without messages is a real zero (the gateway sent nothing)."""
    if frame.empty or not frame["messages"].any():
        return empty_figure(language)
    labels = [i18n.format_datetime(bucket.to_pydatetime(), zone, language)[:-3] for bucket in frame["bucket"]]
    unit = i18n.t("chart.messages_per_hour", language)
    hover = [f"{text}: {i18n.format_number(value, language, 0)} {unit}" for text, value in zip(labels, frame["messages"])]
    figure = go.Figure(go.Scatter(x=frame["bucket"].dt.tz_convert(zone), y=frame["messages"], mode="lines",
                                  line={"color": BAR_COLOR, "shape": "hv"}, hovertext=hover, hoverinfo="text"))
    figure.update_xaxes(tickformat="%d/%m %Hh" if language == "pt-BR" else "%m/%d %I%p")  # plotly's own: English
    return _base_layout(figure, language, unit)
