"""Pure figures of the consumption explorer and the device page; no database, no Dash callbacks."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from tds_dash import figures, i18n
from tds_dash.consumption.explorer import buckets
from tds_dash.consumption.explorer import model as explorer_model

OTHERS_COLOR = "#adb5bd"
PREVIOUS_COLOR = "#6c757d"
# Room below the plot for rotated hourly labels (~78 px) and one or two legend rows at y=-0.18 (~105 px at a
# 380 px chart): with plotly's pushes inside the margin its first draw is its last. Smaller, its automargin (still
# on, for narrow screens) grew it to 106 and drew the 11 stacked series a second time (issue 16).
BOTTOM_MARGIN_PX = 110

PALETTE = ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#ffc107", "#0dcaf0", "#dc3545",
           "#6610f2")


def _layout(figure: go.Figure, language: str, unit: str, barmode: str | None = None) -> go.Figure:
    figure.update_layout(
        margin={"l": 55, "r": 10, "t": 10, "b": BOTTOM_MARGIN_PX}, separators=i18n.plotly_separators(language),
        yaxis={"title": {"text": unit}, "rangemode": "tozero"}, plot_bgcolor="white", height=380,
        # At most a quarter of the chart, then it scrolls: on a phone eleven entries stack one per line.
        legend={"orientation": "h", "y": -0.18, "maxheight": 0.25}, hovermode="x unified", barmode=barmode,
        bargap=0.15,
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(gridcolor="#e9ecef")
    return figure


def _hover(titles: list[str], values: list, name: str, unit: str, language: str, partial: list[bool]) -> list[str]:
    note = f" ({i18n.t('chart.partial', language)})"
    return [f"{title}<br>{name}: {i18n.format_quantity(v, unit, language)}" + (note if flag else "")
            for title, v, flag in zip(titles, values, partial)]


def explorer_figure(store: dict | None, mode: str, zone: ZoneInfo, language: str) -> go.Figure:
    """Stacked bars per device (or the total as a line), with the previous period as a dashed line.

    Bar points carry customdata [device_id, first_day, last_day] for the drill-down to the device page
    ("Outros" has device_id None). The bucket still in progress is hatched; missing buckets stay gaps.
    """
    if not store or all(v is None for s in store["series"] for v in s["values"]):
        return figures.empty_figure(language)
    labels = explorer_model.bucket_labels(store, zone, language)
    titles, partial = buckets.hover_titles(store, zone, language), buckets.partial_flags(store, zone)
    unit = store["unit"]
    figure = go.Figure()
    for index, series in enumerate(explorer_model.charted_series(store, mode)):
        values = series["values"]
        if series["key"] == "previous_total":
            # Drawn on the current period's axis; the hover names the previous period's own bucket.
            name = i18n.t("explorer.previous", language)
            previous = buckets.hover_titles(store, zone, language, previous=True)
            hover = [f"{name} ({title}): {i18n.format_quantity(v, unit, language)}"
                     for title, v in zip(previous + [""] * len(values), values)]
            figure.add_trace(figures.trace(go.Scatter, x=labels, y=values, name=name, mode="lines+markers",
                                           line={"color": PREVIOUS_COLOR, "dash": "dash"}, hovertext=hover,
                                           hoverinfo="text"))
        elif mode == "line":
            name = i18n.t("explorer.total", language)
            figure.add_trace(figures.trace(go.Scatter, x=labels, y=values, name=name, mode="lines+markers",
                                           line={"color": PALETTE[0]},
                                           hovertext=_hover(titles, values, name, unit, language, partial),
                                           hoverinfo="text"))
        else:
            others = series["device_id"] is None
            name = i18n.t("explorer.others", language) if others else series["label"]
            custom = [[series["device_id"], days[0], days[1]] for days in store["bucket_days"]]
            figure.add_trace(figures.trace(go.Bar, x=labels, y=values, name=name, customdata=custom,
                                           marker_color=OTHERS_COLOR if others else PALETTE[index % len(PALETTE)],
                                           marker_pattern=figures.partial_patterns(partial),
                                           hovertext=_hover(titles, values, name, unit, language, partial),
                                           hoverinfo="text"))
    if mode == "bars" and any(partial):
        figures.add_partial_legend(figure, labels[partial.index(True)], language)
    figure = _layout(figure, language, unit, barmode="stack")
    figures.value_axis(figure, buckets.stacked_values(store, mode), language, unit)
    # "closest" in bars mode, so a click reports the segment under the pointer, not the first device.
    return figure.update_layout(hovermode="closest" if mode == "bars" else "x unified")


def _date_axis(figure: go.Figure, language: str) -> None:
    """Day-first dates in Portuguese without loading a plotly.js locale: formats chosen by tick spacing."""
    day, time_ = ("%d/%m", "%d/%m %H:%M") if language == "pt-BR" else ("%m/%d", "%m/%d %H:%M")
    figure.update_xaxes(hoverformat=("%d/%m/%Y %H:%M" if language == "pt-BR" else "%m/%d/%Y %H:%M"),
                        tickformatstops=[{"dtickrange": [None, 86_000_000], "value": time_},
                                         {"dtickrange": [86_000_000, "M1"], "value": day},
                                         {"dtickrange": ["M1", None], "value": "%m/%Y"}])


def device_band_figure(frame: pd.DataFrame, zone: ZoneInfo, language: str, unit: str,
                       corrections: pd.DataFrame | None = None) -> go.Figure:
    """min-max band with the average line (rollups), or the raw series when the frame has 'value'."""
    if frame.empty:
        return figures.empty_figure(language)
    figure = go.Figure()
    if "value" in frame:
        x = frame["ts"].dt.tz_convert(zone)
        figure.add_trace(go.Scatter(x=x, y=frame["value"], mode="lines", name=i18n.t("device.value", language),
                                    line={"color": PALETTE[0]}))
    else:
        x = frame["bucket"].dt.tz_convert(zone)
        figure.add_trace(go.Scatter(x=x, y=frame["max"], mode="lines", line={"width": 0}, showlegend=False,
                                    name=i18n.t("explorer.col.max", language)))
        figure.add_trace(go.Scatter(x=x, y=frame["min"], mode="lines", line={"width": 0}, fill="tonexty",
                                    fillcolor="rgba(13,110,253,0.18)", name=i18n.t("device.band", language)))
        figure.add_trace(go.Scatter(x=x, y=frame["avg"], mode="lines", name=i18n.t("explorer.col.avg", language),
                                    line={"color": PALETTE[0]}))
    if corrections is not None and not corrections.empty:
        _annotate(figure, corrections, zone, language)
    figure.update_layout(margin={"l": 55, "r": 10, "t": 10, "b": 40}, separators=i18n.plotly_separators(language),
                         plot_bgcolor="white", height=300, legend={"orientation": "h", "y": -0.2},
                         hovermode="x unified")
    # Hover values grouped like the cards (d3 ',' takes the separators above), not Plotly's '683.6k'.
    figure.update_yaxes(gridcolor="#e9ecef", hoverformat=",.3~f")
    _date_axis(figure, language)
    shown = [frame[column] for column in ("value", "min", "max") if column in frame]
    return figures.value_axis(figure, pd.concat(shown), language, unit, from_zero=False)


def _annotate(figure: go.Figure, corrections: pd.DataFrame, zone: ZoneInfo, language: str) -> None:
    """Each counter correction as a marker at its reading, labelled with its kind and values."""
    text = [i18n.t(f"correction.{row.kind}", language) + f": {i18n.format_number(row.previous_value, language, 3)}"
            f" → {i18n.format_number(row.value, language, 3)}" for row in corrections.itertuples()]
    figure.add_trace(go.Scatter(x=corrections["ts"].dt.tz_convert(zone), y=corrections["value"], mode="markers",
                                marker={"symbol": "x", "size": 11, "color": "#dc3545"}, hovertext=text,
                                hoverinfo="text", name=i18n.t("device.corrections", language)))


def device_bars(frame: pd.DataFrame, zone: ZoneInfo, language: str, unit: str,
                costs: list[str] | None = None) -> go.Figure:
    """Consumption per bucket of one device and metric (rollups); with `costs` (R$ text per bar) in the hover."""
    if frame.empty or frame["consumption"].isna().all():
        return figures.empty_figure(language)
    x = frame["bucket"].dt.tz_convert(zone)
    hover = [i18n.format_quantity(v, unit, language) for v in frame["consumption"]]
    if costs is not None:
        hover = [f"{text}<br>{i18n.t('cost.hover', language, cost=cost)}" for text, cost in zip(hover, costs)]
    figure = go.Figure(go.Bar(x=x, y=frame["consumption"], marker_color=PALETTE[0], hoverinfo="x+text",
                              hovertext=hover, name=i18n.t("explorer.col.consumption", language)))
    figure.update_layout(margin={"l": 55, "r": 10, "t": 10, "b": 40}, separators=i18n.plotly_separators(language),
                         plot_bgcolor="white", height=260, bargap=0.15)
    figure.update_yaxes(gridcolor="#e9ecef")
    _date_axis(figure, language)
    return figures.value_axis(figure, frame["consumption"], language, unit)
