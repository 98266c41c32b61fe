"""Pure functions from data to plotly figures; no database, no Dash."""
from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from dash import dcc

from tds_dash import i18n, periods
from tds_dash.i18n import number_style

BAR_COLOR = "#0d6efd"
PARTIAL_COLOR = "#adb5bd"
# A bucket still in progress is hatched (not recoloured): same series, visibly unfinished.
PARTIAL_PATTERN = {"shape": "/", "fillmode": "overlay", "fgcolor": "rgba(255,255,255,0.9)", "size": 7, "solidity": 0.35}

# Plotly checks every property of every trace in Python: two thirds of the explorer chart's 125 ms (11 stacked
# series, issue 16, bench/RESULTS.md). The charts on a page's first draw are built from lists we made, so
# they skip it (plotly's own `_validate`); tests/test_explorer_paging.py builds them both ways and compares
# the JSON.
VALIDATE_TRACES = False
# The value axis's left margin: its title and gap, and a tick label's character at plotly's 12 px font (wide
# digits and 'mil' measured ~6.5-7 px in Chromium; rounded up so a label never runs into the title).
LEFT_TITLE_PX, LABEL_CHAR_PX = 36, 7.5


def trace(kind, **props):
    """go.Bar(**props) / go.Scatter(**props) without plotly's per-property checks unless VALIDATE_TRACES."""
    return kind(_validate=VALIDATE_TRACES, **props)


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def value_axis(figure: go.Figure, values, language: str, unit: str, axis: str = "yaxis",
               from_zero: bool = True) -> go.Figure:
    """The value axis in the app's one number style: round ticks spelled like the cards ('800 mil',
    '1,2 mi' in pt-BR; '800k' in English), the unit as its title. from_zero False: the values' own span
    (a voltage, a counter's readings)."""
    numbers = _finite(values)
    ticks = number_style.axis_ticks(min(numbers), max(numbers), language, from_zero=from_zero) if numbers else {}
    figure.update_layout({axis: {"title": {"text": unit}, **ticks}})
    if ticks and axis == "yaxis":
        # The labels are ours: the left margin is sized from them, and plotly's automargin (on in the default
        # template) is off, since it draws the chart a second time: a third of a first draw (issue 16).
        width = math.ceil(LEFT_TITLE_PX + LABEL_CHAR_PX * max(len(text) for text in ticks["ticktext"]))
        figure.update_layout({axis: {"automargin": False}, "margin": {"l": max(figure.layout.margin.l or 0, width)}})
    return figure


def partial_patterns(flags: list[bool]) -> dict:
    """marker.pattern for a bar trace: hatched where the bucket is still in progress."""
    return {**PARTIAL_PATTERN, "shape": ["/" if flag else "" for flag in flags]}


def add_partial_legend(figure: go.Figure, x, language: str) -> None:
    """A legend entry 'em andamento' (a zero-height hatched bar) explaining the hatched bucket."""
    figure.add_trace(trace(go.Bar, x=[x], y=[0], name=i18n.t("chart.partial", language), marker_color=PARTIAL_COLOR,
                           marker_pattern=PARTIAL_PATTERN, hoverinfo="skip", showlegend=True))


def fill_buckets(frame: pd.DataFrame, granularity: str, zone: ZoneInfo, until: datetime) -> pd.DataFrame:
    """Every bucket from the first row's to the one containing `until`, missing ones as NaN (a gap, not 0)."""
    if frame.empty:
        return frame
    starts, start = [], frame["bucket"].iloc[0].tz_convert("UTC").to_pydatetime()
    while start <= until and len(starts) < 10_000:
        starts.append(start)
        start = periods.bucket_end(start, granularity, zone)
    index = pd.DatetimeIndex(pd.to_datetime(starts, utc=True)).tz_convert(zone)
    by_bucket = frame.set_index("bucket")["consumption"]
    merged = by_bucket.reindex(index.union(by_bucket.index))
    return pd.DataFrame({"bucket": merged.index, "consumption": merged.to_numpy(dtype="float64")})


def _base_layout(figure: go.Figure, language: str, unit: str) -> go.Figure:
    figure.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        separators=i18n.plotly_separators(language),
        yaxis={"title": {"text": unit}, "rangemode": "tozero"},
        plot_bgcolor="white",
        height=320,
        bargap=0.15,
        legend={"orientation": "h", "y": -0.18},
    )
    figure.update_yaxes(gridcolor="#e9ecef")
    return figure


def placeholder_figure(height: int) -> go.Figure:
    """What a chart shows before its data arrives: nothing drawn, but already its final height."""
    figure = go.Figure()
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, height=height, plot_bgcolor="white",
                         margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def loading(graph, height: int) -> dcc.Loading:
    """A chart with a spinner of its final size while its callback runs: the card never collapses, a
    refresh keeps the old chart visible (dimmed) under the spinner, and a quick one shows no spinner."""
    graph.style = {**(getattr(graph, "style", None) or {}), "height": f"{height}px"}
    return dcc.Loading(graph, type="circle", delay_show=400, parent_style={"minHeight": f"{height}px"},
                       overlay_style={"visibility": "visible", "opacity": 0.5}, target_components={graph.id: "figure"})


def empty_figure(language: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=i18n.t("chart.empty", language), showarrow=False, font={"size": 14})
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, height=320, plot_bgcolor="white")
    return figure


def consumption_bars(frame: pd.DataFrame, zone: ZoneInfo, language: str, unit: str, granularity: str,
                     now: datetime | None = None, costs: list[str] | None = None) -> go.Figure:
    """Bars of consumption per bucket; missing buckets stay gaps and the bucket still in progress at `now`
    is hatched, with a legend entry saying so.

    `costs`: one formatted amount per row of `frame` (R$ 1.234,56), added to the hover when the view is priced.
    """
    if frame.empty or frame["consumption"].isna().all():
        return empty_figure(language)
    cost_of = dict(zip(frame["bucket"], costs)) if costs is not None else {}
    if now is not None:
        frame = fill_buckets(frame, granularity, zone, now)
    label = i18n.format_month if granularity == "month" else i18n.format_day
    buckets = [bucket.to_pydatetime() for bucket in frame["bucket"]]
    labels = [label(bucket, zone, language) for bucket in buckets]
    titles = [i18n.format_bucket(b, granularity, zone, language) for b in buckets]
    partial = [now is not None and periods.is_partial(b, granularity, zone, now) for b in buckets]
    hover = [f"{text}: {i18n.format_quantity(value, unit, language)}" + (
        f" ({i18n.t('chart.partial', language)})" if flag else "")
        for text, value, flag in zip(titles, frame["consumption"], partial)]
    if costs is not None:
        hover = [f"{text}<br>{i18n.t('cost.hover', language, cost=cost_of[bucket])}" if bucket in cost_of else text
                 for text, bucket in zip(hover, frame["bucket"])]
    figure = go.Figure(trace(go.Bar, x=labels, y=frame["consumption"].tolist(), marker_color=BAR_COLOR,
                             hovertext=hover, hoverinfo="text", customdata=frame["bucket"].astype(str).tolist(),
                             marker_pattern=partial_patterns(partial), name=i18n.t("chart.consumption", language),
                             showlegend=any(partial)))
    if any(partial):
        add_partial_legend(figure, labels[partial.index(True)], language)
    figure.update_xaxes(type="category")
    figure = _base_layout(figure, language, unit).update_layout(barmode="overlay")  # the legend's bar takes no slot
    return value_axis(figure, frame["consumption"], language, unit)


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
