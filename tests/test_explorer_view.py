"""Pure functions behind the explorer: periods, controls, store shaping, figures and downloads (no browser)."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tds_dash import periods
from tds_dash.consumption.explorer import controls as explorer_controls
from tds_dash.consumption.explorer import figures as explorer_figures
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.queries.explorer import Comparison, ExplorerData

ZONE = ZoneInfo("America/Sao_Paulo")
UTC = timezone.utc
TODAY = date(2026, 11, 27)


@pytest.mark.parametrize("preset, expected", [
    ("today", (date(2026, 11, 27), date(2026, 11, 27))),
    ("last_7_days", (date(2026, 11, 21), date(2026, 11, 27))),
    ("this_month", (date(2026, 11, 1), date(2026, 11, 27))),
    ("last_month", (date(2026, 10, 1), date(2026, 10, 31))),
    ("last_12_months", (date(2025, 12, 1), date(2026, 11, 27))),
])
def test_exp020_presets(preset, expected):
    assert periods.preset_days(preset, TODAY) == expected


@pytest.mark.parametrize("first, last, expected", [
    (date(2026, 11, 1), date(2026, 11, 27), (date(2026, 10, 1), date(2026, 10, 27))),   # this month
    (date(2026, 3, 1), date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),      # a whole month
    (date(2026, 3, 1), date(2026, 3, 30), (date(2026, 2, 1), date(2026, 2, 28))),      # clamped
    (date(2025, 12, 1), date(2026, 11, 27), (date(2024, 12, 1), date(2025, 11, 27))),  # last 12 months
    (date(2026, 11, 21), date(2026, 11, 27), (date(2026, 11, 14), date(2026, 11, 20))),  # 7 days
    (date(2026, 11, 27), date(2026, 11, 27), (date(2026, 11, 26), date(2026, 11, 26))),  # today
])
def test_exp021_previous_period(first, last, expected):
    previous = periods.previous_period(periods.Period(first, last, ZONE))
    assert (previous.first_day, previous.last_day) == expected


@pytest.mark.parametrize("choice, days, expected", [
    ("auto", 1, ("hour", False)), ("auto", 2, ("hour", False)), ("auto", 3, ("day", False)),
    ("auto", 93, ("day", False)), ("auto", 94, ("month", False)), (None, 400, ("month", False)),
    ("hour", 40, ("day", True)), ("month", 1, ("month", False)), ("day", 2000, ("month", True)),
    ("nonsense", 10, ("day", False)),
])
def test_exp022_granularity(choice, days, expected):
    assert periods.resolve_granularity(choice, days) == expected


def test_exp023_granularity_beyond_every_limit_is_an_error():
    with pytest.raises(periods.PeriodError):
        periods.resolve_granularity("auto", periods.MAX_DAYS["month"] + 1)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27", datetime(2026, 11, 27, 3, tzinfo=UTC)),  # local midnight
    ("2018-11-04", datetime(2018, 11, 4, 3, tzinfo=UTC)),   # no local midnight that day: the day's first instant
    ("2026-11-27T14:05:00-03:00", datetime(2026, 11, 27, 17, 5, tzinfo=UTC)),
    ("2026-11-27T17:05:00Z", datetime(2026, 11, 27, 17, 5, tzinfo=UTC)),
    ("2026-11-27t17:05:00z", datetime(2026, 11, 27, 17, 5, tzinfo=UTC)),
])
def test_exp024_parse_instant(text, expected):
    assert periods.parse_instant(text, ZONE) == expected


@pytest.mark.parametrize("text", ["2026-13-01", "2026-11-27T14:05:00", "yesterday", "", "2026-02-30",
                                  "2026-11-27T25:00:00Z"])
def test_exp025_parse_instant_refuses_bad_input(text):
    with pytest.raises(periods.PeriodError):
        periods.parse_instant(text, ZONE)


def test_exp026_sync_dates_and_url_state():
    assert explorer_controls.sync_dates("preset", "last_month", None, None, TODAY) == (
        "last_month", "2026-10-01", "2026-10-31")
    assert explorer_controls.sync_dates("dates", "this_month", "2026-10-03", "2026-10-09", TODAY)[0] == "custom"
    # Dates picked by hand that happen to be a preset's select that preset.
    assert explorer_controls.sync_dates("dates", "custom", "2026-11-21", "2026-11-27", TODAY)[0] == "last_7_days"
    state = explorer_controls.initial_state({"from": "2026-10-01", "to": "2026-10-31", "granularity": "hour",
                                             "account": "3", "device": "7,x,9"}, TODAY)
    assert (state["preset"], state["first_day"], state["granularity"]) == ("custom", "2026-10-01", "hour")
    assert state["accounts"] == [3] and state["devices"] == [7, 9]
    reversed_range = explorer_controls.initial_state({"from": "2026-10-31", "to": "2026-10-01"}, TODAY)
    assert (reversed_range["preset"], reversed_range["first_day"]) == ("this_month", "2026-11-01")
    with pytest.raises(periods.PeriodError):
        explorer_controls.period_from_dates("2026-10-31", "2026-10-01", ZONE)
    with pytest.raises(periods.PeriodError):
        explorer_controls.period_from_dates(None, "2026-10-01", ZONE)


def test_exp027_drill_down_links():
    click = {"points": [{"customdata": [42, "2026-11-01", "2026-11-30"]}]}
    assert explorer_controls.drilldown_href(click) == "/device/42?from=2026-11-01&to=2026-11-30"
    assert explorer_controls.drilldown_href({"points": [{"customdata": [None, "2026-11-01", "2026-11-01"]}]}) is None
    assert explorer_controls.drilldown_href({"points": [{"x": "a"}]}) is None
    assert explorer_controls.drilldown_href(None) is None
    overview_month = {"points": [{"customdata": "2026-10-01 00:00:00-03:00"}]}
    assert explorer_controls.overview_click_href(overview_month, "month", ZONE, account=2) == (
        "/explorer?from=2026-10-01&to=2026-10-31&account=2")
    overview_day = {"points": [{"customdata": "2026-11-05 00:00:00-03:00"}]}
    assert explorer_controls.overview_click_href(overview_day, "day", ZONE) == "/explorer?from=2026-11-05&to=2026-11-05"


def _data(compare: bool = True) -> ExplorerData:
    """Three days by day: two devices shown, the rest summed as others (device_id <NA>)."""
    period = periods.Period(date(2026, 3, 1), date(2026, 3, 3), ZONE)
    days = [pd.Timestamp(d) for d in periods.bucket_starts(period, "day")]
    by_device = pd.DataFrame({"bucket": [days[0], days[0], days[0], days[1], days[2]],
                              "device_id": pd.array([1, 2, None, 1, 2], dtype="Int64"),
                              "consumption": [10.0, 5.0, 1.5, 12.0, 4.0]})
    totals = pd.DataFrame({"device_id": [1, 2, 3], "code": ["MED-001", "MED-002", "MED-001"],
                           "name": ["A", "B", "C"], "gateway": ["GW-0101", "GW-0101", "GW-0201"],
                           "account": ["acme", "acme", "globex"], "consumption": [22.0, 9.0, 1.5],
                           "min": [10.0, 4.0, 1.5], "avg": [11.0, 4.5, 1.5], "max": [12.0, 5.0, 1.5],
                           "buckets": [2, 2, 1]})
    comparison = None
    if compare:
        previous = periods.previous_period(period)
        series = pd.DataFrame({"bucket": [pd.Timestamp(d) for d in periods.bucket_starts(previous, "day")],
                               "consumption": [20.0, 10.0, 5.0]})
        comparison = Comparison(previous, series, 32.5, 35.0, period.end)
    return ExplorerData({"id": 1, "name": "energy_kwh", "unit": "kWh", "meter_kind": "counter"}, period, "day", False,
                        totals, by_device, [1, 2], comparison)


def test_exp028_store_series_and_download_hold_what_is_charted():
    store = explorer_model.to_store(_data(), datetime(2026, 3, 4, tzinfo=UTC))
    assert [s["label"] for s in store["series"]] == ["GW-0101/MED-001", "GW-0101/MED-002", "others"]
    assert store["series"][0]["values"] == [10.0, 12.0, None]
    assert explorer_model.totals_per_bucket(store) == [16.5, 12.0, 4.0]
    assert store["bucket_days"][1] == ("2026-03-02", "2026-03-02")
    assert store["previous"]["change"] == pytest.approx(32.5 / 35.0 - 1)

    bars_csv = explorer_model.to_csv(store, "bars", ZONE, "en").splitlines()
    assert bars_csv[0] == ("Bucket start,GW-0101/MED-001 (kWh),GW-0101/MED-002 (kWh),Others (kWh),"
                           "Previous bucket start,Previous period total (kWh)")
    assert bars_csv[1] == "2026-03-01T00:00:00-03:00,10.0,5.0,1.5,2026-02-01T00:00:00-03:00,20.0"
    assert bars_csv[3] == "2026-03-03T00:00:00-03:00,,4.0,,2026-02-03T00:00:00-03:00,5.0"
    line_csv = explorer_model.to_csv(store, "line", ZONE).splitlines()
    assert line_csv[0] == "Início do intervalo,Total (kWh),Início do intervalo anterior,Total do período anterior (kWh)"
    assert line_csv[2] == "2026-03-02T00:00:00-03:00,12.0,2026-02-02T00:00:00-03:00,10.0"

    figure = explorer_figures.explorer_figure(store, "bars", ZONE, "pt-BR")
    # The 3rd is in progress at fetched_at (21:00 local): hatched, and explained by a legend entry.
    assert [trace.type for trace in figure.data] == ["bar", "bar", "bar", "scatter", "bar"]
    assert figure.data[4].name == "em andamento" and list(figure.data[0].marker.pattern.shape) == ["", "", "/"]
    assert list(figure.data[0].y) == [10.0, 12.0, None]
    assert list(figure.data[0].customdata[0]) == [1, "2026-03-01", "2026-03-01"]
    assert figure.data[2].name == "Outros" and figure.layout.barmode == "stack"
    assert list(figure.data[3].y) == [20.0, 10.0, 5.0]
    line = explorer_figures.explorer_figure(store, "line", ZONE, "en")
    assert [trace.name for trace in line.data] == ["Total", "Previous period"]
    assert list(line.data[0].y) == [16.5, 12.0, 4.0]

    workbook = pd.read_excel(io.BytesIO(explorer_model.to_excel(store, "bars", ZONE, "en")), sheet_name=None)
    assert list(workbook["chart"].columns) == ["Bucket start", "GW-0101/MED-001 (kWh)", "GW-0101/MED-002 (kWh)",
                                               "Others (kWh)", "Previous bucket start", "Previous period total (kWh)"]
    assert workbook["chart"]["GW-0101/MED-001 (kWh)"].tolist()[:2] == [10.0, 12.0]
    assert workbook["chart"]["Bucket start"][0] == pd.Timestamp("2026-03-01 00:00")
    assert workbook["totals"]["Consumption (kWh)"].tolist() == [22.0, 9.0, 1.5]
    assert list(workbook["totals"].columns) == [
        "Device", "Name", "Account", "Consumption (kWh)", "Share (%)", "Minimum per bucket (kWh)",
        "Average per bucket (kWh)", "Maximum per bucket (kWh)", "Buckets with data"]
    portuguese = pd.read_excel(io.BytesIO(explorer_model.to_excel(store, "bars", ZONE, "pt-BR")), sheet_name=None)
    assert list(portuguese) == ["gráfico", "totais"]
    assert list(portuguese["totais"].columns)[:5] == ["Dispositivo", "Nome", "Conta", "Consumo (kWh)",
                                                      "Participação (%)"]
    assert portuguese["totais"]["Participação (%)"].tolist() == [67.69, 27.69, 4.62]

    download = explorer_model.download(store, "line", ZONE, "csv")
    assert download["filename"] == "consumo_energy_kwh_2026-03-01_2026-03-03_day.csv"
    assert download["content"] == explorer_model.to_csv(store, "line", ZONE)


def test_exp029_totals_table_and_texts():
    store = explorer_model.to_store(_data(), datetime(2026, 3, 4, tzinfo=UTC))
    rows = explorer_model.table_rows(store, "pt-BR")
    assert [r["device"] for r in rows] == ["GW-0101/MED-001 · A", "GW-0101/MED-002 · B", "GW-0201/MED-001 · C"]
    assert rows[0]["consumption"] == 22.0 and rows[0]["consumption_text"] == "22,0 kWh"
    assert rows[0]["share"] == pytest.approx(22.0 / 32.5) and rows[0]["share_text"] == "67,7%"
    assert explorer_model.change_text(store, "pt-BR") == (
        "32,5 kWh vs. 35,0 kWh no mesmo tempo decorrido do período anterior (-7,1%)")
    assert explorer_model.granularity_note(store, "en") == "Showing per day"
    empty_before = dict(store, previous=dict(store["previous"], previous_total=None, change=None))
    assert explorer_model.change_text(empty_before, "pt-BR") == "32,5 kWh · sem dados no período anterior"
    no_compare = explorer_model.to_store(_data(compare=False), datetime(2026, 3, 4, tzinfo=UTC))
    assert no_compare["previous"] is None
    assert explorer_model.change_text(no_compare, "en") == "Total in the period: 32.5 kWh"
    assert explorer_model.to_csv(no_compare, "bars", ZONE, "en").splitlines()[0] == (
        "Bucket start,GW-0101/MED-001 (kWh),GW-0101/MED-002 (kWh),Others (kWh)")


def test_exp030_hour_labels_stay_unique_when_dst_repeats_an_hour():
    period = periods.Period(date(2019, 2, 16), date(2019, 2, 16), ZONE)
    buckets = [b.isoformat() for b in periods.bucket_starts(period, "hour")]
    store = {"granularity": "hour", "first_day": "2019-02-16", "last_day": "2019-02-16", "buckets": buckets}
    labels = explorer_model.bucket_labels(store, ZONE, "pt-BR")
    assert len(labels) == 25 and len(set(labels)) == 25
    assert labels[0] == "16/02 00h" and labels[-1].startswith("16/02 23h (")


def test_exp031_an_empty_result_draws_the_empty_figure():
    data = _data(compare=False)
    empty = ExplorerData(data.metric, data.period, "day", False, data.totals.iloc[0:0],
                         data.by_device.iloc[0:0], [], None)
    store = explorer_model.to_store(empty, datetime(2026, 3, 4, tzinfo=UTC))
    figure = explorer_figures.explorer_figure(store, "bars", ZONE, "pt-BR")
    assert figure.layout.annotations[0].text == "Sem dados no período"
    assert explorer_model.table_rows(store, "pt-BR") == []
    assert explorer_model.to_csv(store, "bars", ZONE).splitlines()[1] == "2026-03-01T00:00:00-03:00"
