"""Shapes explorer data for the browser: the store, the charted series, the totals table and the downloads.

The chart, the CSV and the Excel file are all built from charted_series(), so a download holds exactly
what is on screen.
"""
from __future__ import annotations

import io
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from babel import dates
from dash import dcc

from tds_dash import i18n, periods
from tds_dash.consumption.explorer import cost_series
from tds_dash.exports import safe_frame
from tds_dash.queries.explorer import ExplorerData

MODES = ("bars", "line")
# Our meters' registers (and the simulator's) count thousandths of their unit (Wh, litres): downloads are
# rounded there, so float sums do not show as 1199.6040000000503.
METER_DECIMALS = 3


def _utc(value) -> datetime:
    return pd.Timestamp(value).tz_convert(timezone.utc).to_pydatetime()


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _bucket_days(start: datetime, granularity: str, zone: ZoneInfo) -> tuple[str, str]:
    """The local days a bucket covers (both inclusive): where a click on it drills down to."""
    first = start.astimezone(zone).date()
    if granularity == "month":
        return first.isoformat(), (periods.add_months(first, 1) - timedelta(days=1)).isoformat()
    if granularity == "week":
        return first.isoformat(), (first + timedelta(days=6)).isoformat()
    return first.isoformat(), first.isoformat()


def _aligned(frame: pd.DataFrame, buckets: list[datetime]) -> list[float | None]:
    values = {_utc(b): _number(v) for b, v in zip(frame["bucket"], frame["consumption"])}
    return [values.get(bucket) for bucket in buckets]


def _all_buckets(period: periods.Period, granularity: str, frame: pd.DataFrame) -> list[datetime]:
    """The period's full bucket sequence; rows the database cut differently are kept, never dropped."""
    return sorted(set(periods.bucket_starts(period, granularity)) | {_utc(b) for b in frame["bucket"]})


def _device_label(row) -> str:
    return f"{row['gateway']}/{row['code']}"


def _series(data: ExplorerData, buckets: list[datetime]) -> list[dict]:
    totals = data.totals.set_index("device_id")
    out = []
    for device_id in data.shown:
        rows = data.by_device[data.by_device["device_id"] == device_id]
        row = totals.loc[device_id]
        out.append({"device_id": device_id, "label": _device_label(row), "name": row["name"],
                    "values": _aligned(rows, buckets)})
    others = data.by_device[data.by_device["device_id"].isna()]
    if not others.empty:
        out.append({"device_id": None, "label": "others", "name": "", "values": _aligned(others, buckets)})
    return out


def device_records(totals: pd.DataFrame, grand: float | None) -> list[dict]:
    """JSON-safe per-device totals (consumption.device_totals rows) with each one's share of `grand`."""
    records = []
    for row in totals.to_dict("records"):
        share = row["consumption"] / grand if grand and not pd.isna(row["consumption"]) else None
        records.append({"device_id": int(row["device_id"]), "label": _device_label(row), "name": row["name"],
                        "gateway": row["gateway"], "account": row["account"],
                        "consumption": _number(row["consumption"]), "share": _number(share),
                        "min": _number(row["min"]), "avg": _number(row["avg"]), "max": _number(row["max"]),
                        "buckets": int(row["buckets"])})
    return records


def _totals(data: ExplorerData) -> list[dict]:
    return device_records(data.totals, data.totals["consumption"].sum(min_count=1))


def _previous(data: ExplorerData, count: int) -> dict | None:
    comparison = data.comparison
    if comparison is None:
        return None
    buckets = _all_buckets(comparison.period, data.granularity, comparison.series)
    # Overlaid by position (1st day on 1st day); a longer previous period's extra buckets have no place.
    buckets = buckets[:count]
    current, previous = comparison.current_total, comparison.previous_total
    change = current / previous - 1 if current is not None and previous else None
    return {"first_day": comparison.period.first_day.isoformat(), "last_day": comparison.period.last_day.isoformat(),
            "buckets": [b.isoformat() for b in buckets], "values": _aligned(comparison.series, buckets),
            "current_total": current, "previous_total": previous, "change": change, "cut": comparison.cut.isoformat()}


def to_store(data: ExplorerData, fetched_at: datetime) -> dict:
    """JSON-safe snapshot in a dcc.Store; every figure, table and download is drawn from it."""
    zone = data.period.zone
    buckets = _all_buckets(data.period, data.granularity, data.by_device)
    devices = _totals(data)
    return {
        "metric": data.metric["name"], "unit": data.metric["unit"], "granularity": data.granularity,
        "coarsened": data.coarsened, "first_day": data.period.first_day.isoformat(),
        "last_day": data.period.last_day.isoformat(), "fetched_at": fetched_at.isoformat(),
        "buckets": [b.isoformat() for b in buckets],
        "bucket_days": [_bucket_days(b, data.granularity, zone) for b in buckets],
        "series": _series(data, buckets),
        "devices": devices,
        "total": sum(device["consumption"] or 0.0 for device in devices) if devices else None,
        "previous": _previous(data, len(buckets)),
    }


def browser_store(store: dict) -> dict:
    """The store the browser keeps: what the chart, the texts and the switch need, without the per-device
    totals and costs (a whole fleet's 2,000 rows; the grid pages them, explorer/totals.py)."""
    out = {key: value for key, value in store.items() if key != "devices"}
    out["device_count"] = len(store.get("devices") or [])
    if isinstance(store.get("cost"), dict):
        out["cost"] = {key: value for key, value in store["cost"].items() if key != "devices"}
    return out


def bucket_labels(store: dict, zone: ZoneInfo, language: str, previous: bool = False) -> list[str]:
    """Axis labels in the viewer's language; unique even when a DST change repeats a local hour."""
    locale = i18n.LANGUAGES[language]
    granularity = store["granularity"]
    many_years = store["first_day"][:4] != store["last_day"][:4]
    if granularity == "hour":
        pattern = "dd/MM HH'h'" if language == "pt-BR" else "MM/dd h a"
    elif granularity == "week":  # the Monday that starts it
        pattern = ("'sem.' dd/MM/yy" if many_years else "'sem.' dd/MM") if language == "pt-BR" else (
            "'wk' MM/dd/yy" if many_years else "'wk' MM/dd")
    elif granularity == "day":
        pattern = ("dd/MM/yy" if many_years else "dd/MM") if language == "pt-BR" else ("MM/dd/yy" if many_years
                                                                                        else "MM/dd")
    else:
        pattern = "MMM/yyyy"
    labels, seen = [], set()
    for text in store["previous"]["buckets"] if previous else store["buckets"]:
        moment = datetime.fromisoformat(text)
        label = dates.format_datetime(moment, pattern, tzinfo=zone, locale=locale)
        if label in seen:
            label += dates.format_datetime(moment, " (ZZZZ)", tzinfo=zone, locale=locale)
        seen.add(label)
        labels.append(label)
    return labels


def charted_series(store: dict, mode: str) -> list[dict]:
    """What the chart draws: one series per device (+ others) for bars, the total for a line;
    and the previous period's total when comparing. Each: key, label, device_id, values."""
    series = [dict(s, key=s["label"]) for s in store["series"]] if mode == "bars" else [
        {"key": "total", "label": "total", "device_id": None, "values": totals_per_bucket(store)}]
    if store.get("previous"):
        values = store["previous"]["values"] + [None] * (len(store["buckets"]) - len(store["previous"]["values"]))
        series.append({"key": "previous_total", "label": "previous_total", "device_id": None, "values": values})
    return series


def totals_per_bucket(store: dict) -> list[float | None]:
    columns = zip(*(s["values"] for s in store["series"])) if store["series"] else ([] for _ in store["buckets"])
    return [None if all(v is None for v in column) else sum(v for v in column if v is not None)
            for column in columns]


def chart_table(store: dict, mode: str, zone: ZoneInfo) -> pd.DataFrame:
    """The charted numbers as a table: one row per bucket (local start time), one column per series."""
    frame = pd.DataFrame({"bucket_start": [datetime.fromisoformat(b).astimezone(zone) for b in store["buckets"]]})
    for series in charted_series(store, mode):
        if series["key"] == "previous_total":
            starts = store["previous"]["buckets"]
            frame["previous_bucket_start"] = [datetime.fromisoformat(starts[i]).astimezone(zone)
                                              if i < len(starts) else None for i in range(len(frame))]
        frame[series["key"]] = pd.array(series["values"], dtype="Float64")
    for title, values in cost_series.cost_columns(store, mode).items():  # R$ beside kWh when priced
        frame[title] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def export_name(store: dict, extension: str) -> str:
    return f"consumo_{store['metric']}_{store['first_day']}_{store['last_day']}_{store['granularity']}.{extension}"


def export_columns(frame: pd.DataFrame, store: dict, language: str) -> pd.DataFrame:
    """Downloads' headers in the viewer's language with the unit ('GW-0101/MED-001 (kWh)'); the
    charted values rounded to the meter's resolution."""
    unit = store["unit"]
    names = {}
    money = f" ({cost_series.COST_UNIT})"
    for column in frame.columns:
        if column.endswith(money):  # exact decimals, never rounded; titled like the kWh column beside it
            key = column[:-len(money)]
            names[column] = (i18n.t(f"csv.{key}", language) if key in _SERIES_KEYS else key) + money
            continue
        if column in ("bucket_start", "previous_bucket_start"):
            names[column] = i18n.t(f"csv.{column}", language)
            continue
        label = i18n.t(f"csv.{column}", language) if column in _SERIES_KEYS else column
        names[column] = f"{label} ({unit})" if unit else label
        frame[column] = frame[column].round(METER_DECIMALS)
    return frame.rename(columns=names)


_SERIES_KEYS = ("total", "others", "previous_total")
# The Excel totals sheet: store field -> (catalogue key, unit: None, the metric's, or a fixed one).
_TOTALS = (("label", "csv.device", None), ("name", "csv.name", None), ("account", "csv.account", None),
           ("consumption", "csv.consumption", ""), ("share", "csv.share", "%"), ("min", "csv.min", ""),
           ("avg", "csv.avg", ""), ("max", "csv.max", ""), ("buckets", "csv.buckets", None))


def totals_table(store: dict, language: str) -> pd.DataFrame:
    """One row per device for the Excel 'totals' sheet: headers in the viewer's language with units,
    quantities rounded to the meter, the share in %, the exact cost (R$) when priced."""
    frame = pd.DataFrame(store["devices"], columns=[field for field, _, _ in _TOTALS])
    frame["share"] = frame["share"] * 100
    names = {}
    for field, key, unit in _TOTALS:
        unit = store["unit"] if unit == "" else unit
        names[field] = f"{i18n.t(key, language)} ({unit})" if unit else i18n.t(key, language)
        if field in ("consumption", "share", "min", "avg", "max"):
            frame[field] = frame[field].astype("Float64").round(2 if field == "share" else METER_DECIMALS)
    if cost_series.priced(store):
        frame["cost"] = pd.Series(cost_series.device_costs(store), dtype=object)
        names["cost"] = i18n.t("explorer.col.cost", language)
    return frame.rename(columns=names)


def to_csv(store: dict, mode: str, zone: ZoneInfo, language: str = "pt-BR") -> str:
    """Comma-separated, dot decimals, ISO 8601 local times with offset: for machines and any locale;
    headers in the viewer's language with the unit."""
    frame = chart_table(store, mode, zone)
    for column in ("bucket_start", "previous_bucket_start"):
        if column in frame:
            frame[column] = frame[column].map(lambda v: v.isoformat() if isinstance(v, datetime) else "")
    for title in cost_series.cost_columns(store, mode):
        frame[title] = frame[title].map(cost_series.decimal_text)
    return safe_frame(export_columns(frame, store, language)).to_csv(index=False, lineterminator="\n")


def to_excel(store: dict, mode: str, zone: ZoneInfo, language: str = "pt-BR") -> bytes:
    """Sheet 'gráfico'/'chart' = the charted table (local times, Excel has no zones), 'totais'/'totals' per device."""
    frame = chart_table(store, mode, zone)
    for column in ("bucket_start", "previous_bucket_start"):
        if column in frame:
            frame[column] = frame[column].map(lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else None)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        # Device labels, names and accounts are user-edited text: never formulas (tds_dash/exports.py).
        safe_frame(export_columns(frame, store, language)).to_excel(
            writer, sheet_name=i18n.t("xlsx.chart", language), index=False)
        safe_frame(totals_table(store, language)).to_excel(
            writer, sheet_name=i18n.t("xlsx.totals", language), index=False)
    return buffer.getvalue()


def change_text(store: dict, language: str) -> str | None:
    """The period's total, and with a comparison the change against the previous period."""
    unit = store["unit"]
    previous = store.get("previous")
    if not previous:
        total = store.get("total") if "total" in store else (
            sum(device["consumption"] or 0.0 for device in store["devices"]) if store["devices"] else None)
        return i18n.t("explorer.total_text", language, total=f"{i18n.format_number(total, language)} {unit}")
    change = previous["change"]
    if previous["previous_total"] is None:
        return i18n.t("explorer.no_previous", language,
                      current=f"{i18n.format_number(previous['current_total'], language)} {unit}")
    values = {"current": f"{i18n.format_number(previous['current_total'], language)} {unit}",
              "previous": f"{i18n.format_number(previous['previous_total'], language)} {unit}",
              "change": i18n.format_percent(change, language) if change is not None and math.isfinite(change)
              else "—"}
    return i18n.t("explorer.change", language, **values)


def table_columns(language: str) -> list[dict]:
    """Numbers stay numbers (the grid sorts them); the formatted text is only what is displayed."""
    def number(field: str, key: str) -> dict:
        return {"field": field, "headerName": i18n.t(key, language), "type": "rightAligned", "flex": 1,
                "valueFormatter": {"function": f"params.data ? params.data.{field}_text : ''"}}
    return [
        {"field": "device", "headerName": i18n.t("col.device", language), "flex": 2},
        {"field": "gateway", "headerName": i18n.t("col.gateway", language), "flex": 1},
        {"field": "account", "headerName": i18n.t("filter.account", language), "flex": 1},
        number("consumption", "explorer.col.consumption"), number("share", "explorer.col.share"),
        number("min", "explorer.col.min"), number("avg", "explorer.col.avg"), number("max", "explorer.col.max"),
    ]


def table_rows(store: dict, language: str) -> list[dict]:
    """One row per device; min/avg/max are of the per-bucket consumption at the charted granularity."""
    unit = store["unit"]
    rows = []
    for device in store["devices"]:
        row = {"device_id": device["device_id"], "device": f"{device['label']} · {device['name']}",
               "gateway": device["gateway"], "account": device["account"], "share": device["share"],
               "share_text": i18n.format_percent(device["share"], language).lstrip("+")}
        for field in ("consumption", "min", "avg", "max"):
            row[field] = device[field]
            row[f"{field}_text"] = f"{i18n.format_number(device[field], language)} {unit}"
        rows.append(row)
    return rows


def granularity_note(store: dict, language: str) -> str:
    unit_name = i18n.t(f"granularity.{store['granularity']}", language).lower()
    note = i18n.t("explorer.granularity_used", language, unit_name=unit_name)
    return note + (i18n.t("explorer.coarsened", language) if store["coarsened"] else "")


def download(store: dict, mode: str, zone: ZoneInfo, kind: str, language: str = "pt-BR") -> dict:
    """dcc.Download data of the charted table: 'csv' or 'xlsx'."""
    if kind == "xlsx":
        return dcc.send_bytes(to_excel(store, mode, zone, language), export_name(store, "xlsx"))
    return dcc.send_string(to_csv(store, mode, zone, language), export_name(store, "csv"), type="text/csv")
