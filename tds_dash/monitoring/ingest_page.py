"""Shapes ingest figures for the Ingest page: store snapshot, charts and table rows (pure, no database)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from tds_dash import i18n
from tds_dash.figures import empty_figure, value_axis

SERIES_COLORS = ("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545")


def to_store(data: dict, fetched_at: datetime) -> dict:
    """JSON-safe snapshot for a dcc.Store (instants as ISO text)."""
    def plain(row: dict) -> dict:
        return {key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in row.items()}
    return {"fetched_at": fetched_at.isoformat(), "minutes": [plain(row) for row in data["minutes"]],
            "rejections": [plain(row) for row in data["rejections"]], "slowest": [plain(row) for row in data["slowest"]]}


def _times(minutes: list[dict], zone: ZoneInfo) -> list[datetime]:
    return [datetime.fromisoformat(row["minute"]).astimezone(zone) for row in minutes]


def _recorded(minutes: list[dict]) -> list[dict]:
    """The window's minutes with every figure None where no ingest process recorded anything (a stopped
    ingest, or the minute not yet flushed): drawn as a gap, never as zero traffic."""
    return [row if row.get("processes", 1) else {"minute": row["minute"], "processes": 0,
                                                  **{key: None for key in row if key not in ("minute", "processes")}}
            for row in minutes]


def _lines(minutes: list[dict], zone: ZoneInfo, language: str, series: list[tuple[str, list]],
           unit: str, kind: str = "line") -> go.Figure:
    if not any(row.get("processes", 1) for row in minutes):  # nothing recorded in the whole window
        return empty_figure(language)
    x = _times(minutes, zone)
    figure = go.Figure()
    for (key, values), color in zip(series, SERIES_COLORS):
        name = i18n.t(key, language)
        if kind == "bar":
            figure.add_trace(go.Bar(x=x, y=values, name=name, marker_color=color))
        else:
            figure.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines", line={"color": color}))
    figure.update_layout(margin={"l": 50, "r": 10, "t": 10, "b": 40}, height=280, plot_bgcolor="white",
                         separators=i18n.plotly_separators(language), legend={"orientation": "h", "y": -0.2},
                         yaxis={"title": {"text": unit}, "rangemode": "tozero"}, barmode="group",
                         hovermode="x unified")
    figure.update_xaxes(tickformat="%H:%M", hoverformat="%d/%m/%Y %H:%M" if language == "pt-BR" else "%m/%d/%Y %H:%M")
    figure.update_yaxes(gridcolor="#e9ecef")
    return value_axis(figure, [v for _, values in series for v in values], language, unit)


def throughput_figure(minutes: list[dict], zone: ZoneInfo, language: str) -> go.Figure:
    minutes = _recorded(minutes)
    per_second = lambda key: [None if row[key] is None else row[key] / 60 for row in minutes]  # noqa: E731
    return _lines(minutes, zone, language, [("ingest.series.received", per_second("received")),
                                            ("ingest.series.acknowledged", per_second("acknowledged")),
                                            ("ingest.series.stored", per_second("readings_stored"))], "/s")


def problems_figure(minutes: list[dict], zone: ZoneInfo, language: str) -> go.Figure:
    minutes = _recorded(minutes)
    column = lambda key: [row[key] for row in minutes]  # noqa: E731
    return _lines(minutes, zone, language, [("ingest.series.duplicates", column("readings_duplicate")),
                                            ("ingest.series.rejected", column("rejected")),
                                            ("ingest.series.gaps", column("seq_gaps"))], "", kind="bar")


def commit_figure(minutes: list[dict], zone: ZoneInfo, language: str) -> go.Figure:
    minutes = _recorded(minutes)
    average = [row["commit_ms_sum"] / row["batches"] if row["batches"] else None for row in minutes]  # None: gap
    return _lines(minutes, zone, language, [("ingest.series.commit_avg", average),
                                            ("ingest.series.commit_max", [row["commit_ms_max"] for row in minutes])],
                  "ms")


def batch_figure(minutes: list[dict], zone: ZoneInfo, language: str) -> go.Figure:
    minutes = _recorded(minutes)
    average = [(row["readings_stored"] + row["readings_duplicate"]) / row["batches"] if row["batches"] else None
               for row in minutes]
    return _lines(minutes, zone, language, [("ingest.series.batch_avg", average),
                                            ("ingest.series.batch_max", [row["batch_readings_max"] for row in minutes]),
                                            ("ingest.series.queue_max", [row["queue_depth_max"] for row in minutes])],
                  "")


def reasons_figure(rejections: list[dict], language: str) -> go.Figure:
    """Horizontal bars, the most frequent reason on top."""
    if not rejections:
        return empty_figure(language)
    ordered = list(reversed(rejections))
    hover = [f"{row['reason']}: {i18n.format_number(row['messages'], language, 0)}" for row in ordered]
    figure = go.Figure(go.Bar(x=[row["messages"] for row in ordered], y=[row["reason"] for row in ordered],
                              orientation="h", marker_color="#dc3545", hovertext=hover, hoverinfo="text"))
    figure.update_layout(margin={"l": 140, "r": 10, "t": 10, "b": 40}, height=280, plot_bgcolor="white",
                         separators=i18n.plotly_separators(language))
    return figure


def slowest_columns(language: str) -> list[dict]:
    t = lambda key: i18n.t(key, language)  # noqa: E731
    return [{"field": "serial", "headerName": t("col.gateway")}, {"field": "account", "headerName": t("ingest.col.account")},
            {"field": "messages", "headerName": t("ingest.col.messages")},
            {"field": "delay_avg", "headerName": t("ingest.col.delay_avg")},
            {"field": "delay_max", "headerName": t("ingest.col.delay_max")},
            {"field": "seq_gaps", "headerName": t("ingest.col.seq_gaps")},
            {"field": "last_seen", "headerName": t("ingest.col.last_seen")}]


def slowest_rows(slowest: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    def seconds(ms):
        return i18n.format_number(ms / 1000, language, 2) if ms is not None else "—"
    return [{"serial": row["serial"], "account": row["account"],
             "messages": i18n.format_number(row["messages"], language, 0),
             "delay_avg": seconds(row["delay_ms_avg"]), "delay_max": seconds(row["delay_ms_max"]),
             "seq_gaps": i18n.format_number(row["seq_gaps"], language, 0),
             "last_seen": i18n.format_datetime(datetime.fromisoformat(row["last_seen_at"]) if row["last_seen_at"]
                                               else None, zone, language)}
            for row in slowest]
