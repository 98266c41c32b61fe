"""Issue 15 items 3 and 5 below the browser: the bucket in progress hatched, gaps kept as gaps, one meaning of
"vs. previous period", downloads in the viewer's language, and a 'restrito' page instead of empty charts."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dash
import pandas as pd
import plotly.utils
import pytest

from tds_dash import figures, periods
from tds_dash.consumption import overview as overview_model
from tds_dash.consumption.explorer import figures as explorer_figures
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.monitoring import ingest_page
from tests.conftest import ensure_test_user
from tests.test_tenant_isolation import signed_in_client

ZONE = ZoneInfo("America/Sao_Paulo")
UTC = timezone.utc


def _days(*pairs) -> pd.DataFrame:
    return pd.DataFrame({"bucket": pd.to_datetime([f"{day}T03:00Z" for day, _ in pairs], utc=True).tz_convert(ZONE),
                         "consumption": [value for _, value in pairs]})


def test_ux201_overview_bars_hatch_the_day_in_progress_and_keep_gaps():
    frame = _days(("2026-11-29", 1200.0), ("2026-11-30", 1250.0), ("2026-12-02", 300.0))
    now = datetime(2026, 12, 2, 15, tzinfo=UTC)  # 12:00 on the 2nd in São Paulo
    figure = figures.consumption_bars(frame, ZONE, "pt-BR", "kWh", "day", now)
    bars, legend = figure.data
    assert list(bars.x) == ["29/11", "30/11", "01/12", "02/12"]
    assert pd.isna(bars.y[2])  # the 1st has no rollup row: a gap, not a zero bar
    assert list(bars.marker.pattern.shape) == ["", "", "", "/"]
    assert legend.name == "em andamento" and legend.marker.pattern.shape == "/" and list(legend.y) == [0]
    assert bars.hovertext[3] == "qua., 02/12/2026: 300,0 kWh (em andamento)"
    assert bars.hovertext[2] == "ter., 01/12/2026: —"
    assert figure.layout.barmode == "overlay"  # the legend's zero bar takes no slot beside the real ones
    # A day later the 2nd is whole; the 3rd has begun without readings yet: an empty, hatched slot.
    later = figures.consumption_bars(frame, ZONE, "en", "kWh", "day", datetime(2026, 12, 3, 4, tzinfo=UTC))
    assert list(later.data[0].x)[-1] == "12/03" and pd.isna(later.data[0].y[-1])
    assert list(later.data[0].marker.pattern.shape)[-2:] == ["", "/"] and later.data[1].name == "in progress"


def test_ux202_value_axes_speak_like_the_cards():
    frame = _days(("2026-11-01", 683_626.0), ("2026-11-02", 512_000.0))
    figure = figures.consumption_bars(frame, ZONE, "pt-BR", "kWh", "day", datetime(2026, 12, 1, tzinfo=UTC))
    assert figure.layout.yaxis.title.text == "kWh"
    assert "600 mil" in figure.layout.yaxis.ticktext and figure.layout.separators == ",."
    english = figures.consumption_bars(frame, ZONE, "en", "kWh", "day", datetime(2026, 12, 1, tzinfo=UTC))
    assert "600k" in english.layout.yaxis.ticktext
    # The device page: consumption bars from zero, like the overview; a counter's readings on their own span,
    # written in full where abbreviating would blur them (683.610 / 683.620, never '683.6k').
    bars = explorer_figures.device_bars(frame, ZONE, "pt-BR", "kWh")
    assert "600 mil" in bars.layout.yaxis.ticktext and bars.layout.yaxis.title.text == "kWh"
    assert bars.data[0].hovertext[0] == "683.626,0 kWh"
    readings = pd.DataFrame({"ts": pd.to_datetime(["2026-12-01T03:00Z", "2026-12-01T04:00Z"], utc=True),
                             "value": [683_604.5, 683_637.0]})
    band = explorer_figures.device_band_figure(readings, ZONE, "pt-BR", "kWh")
    assert list(band.layout.yaxis.ticktext) == ["683.600", "683.610", "683.620", "683.630", "683.640"]
    assert band.layout.yaxis.title.text == "kWh" and band.layout.yaxis.hoverformat == ",.3~f"
    volts = pd.DataFrame({"bucket": pd.to_datetime(["2026-12-01T03:00Z"], utc=True),
                          "min": [218.0], "avg": [225.0], "max": [232.0]})
    assert explorer_figures.device_band_figure(volts, ZONE, "en", "V").layout.yaxis.tickvals[0] == 215


def _store(fetched_at: datetime) -> dict:
    period = periods.Period(date(2026, 12, 1), date(2026, 12, 3), ZONE)
    buckets = [b.isoformat() for b in periods.bucket_starts(period, "day")]
    return {"metric": "energy_kwh", "unit": "kWh", "granularity": "day", "coarsened": False,
            "first_day": "2026-12-01", "last_day": "2026-12-03", "fetched_at": fetched_at.isoformat(),
            "buckets": buckets, "bucket_days": [(b[:10], b[:10]) for b in buckets],
            "series": [{"device_id": 1, "label": "GW-0101/MED-001", "name": "A",
                        "values": [1199.6040000000503, None, 10.0]},
                       {"device_id": None, "label": "others", "name": "", "values": [5.0, None, 2.0]}],
            "devices": [], "previous": None}


def test_ux203_explorer_hatches_the_bucket_in_progress_and_names_its_date():
    store = _store(datetime(2026, 12, 3, 18, tzinfo=UTC))  # the 3rd is in progress
    figure = explorer_figures.explorer_figure(store, "bars", ZONE, "pt-BR")
    device, others, legend = figure.data
    assert list(device.marker.pattern.shape) == ["", "", "/"] and list(others.marker.pattern.shape) == ["", "", "/"]
    assert legend.name == "em andamento"
    assert device.y[1] is None and others.y[1] is None  # a day without readings stays a gap
    assert device.hovertext[0].startswith("ter., 01/12/2026<br>GW-0101/MED-001: 1.199,6 kWh")
    assert device.hovertext[2].endswith("(em andamento)")
    finished = explorer_figures.explorer_figure(_store(datetime(2026, 12, 5, tzinfo=UTC)), "bars", ZONE, "en")
    assert [trace.name for trace in finished.data] == ["GW-0101/MED-001", "Others"]


def test_ux204_downloads_round_to_the_meter_and_name_units_in_the_viewers_language():
    store = _store(datetime(2026, 12, 5, tzinfo=UTC))
    lines = explorer_model.to_csv(store, "bars", ZONE, "pt-BR").splitlines()
    assert lines[0] == "Início do intervalo,GW-0101/MED-001 (kWh),Outros (kWh)"
    assert lines[1] == "2026-12-01T00:00:00-03:00,1199.604,5.0"
    assert explorer_model.to_csv(store, "line", ZONE, "en").splitlines()[0] == "Bucket start,Total (kWh)"


@pytest.mark.parametrize("now, cut, previous_cut", [
    # Mid-month at 16:34: both sides up to 16:00 on the 10th (the hour in progress is left out).
    (datetime(2026, 12, 10, 19, 34, tzinfo=UTC), datetime(2026, 12, 10, 19, tzinfo=UTC),
     datetime(2026, 11, 10, 19, tzinfo=UTC)),
    # On the 31st, last month (30 days) is compared whole.
    (datetime(2026, 12, 31, 15, tzinfo=UTC), datetime(2026, 12, 31, 15, tzinfo=UTC),
     datetime(2026, 12, 1, 3, tzinfo=UTC)),
])
def test_ux205_one_meaning_of_vs_previous_period(now, cut, previous_cut):
    previous, got_cut, got_previous_cut = periods.compared_spans(periods.month_to_date(now, ZONE), now)
    assert (got_cut, got_previous_cut) == (cut, previous_cut)
    assert previous.first_day == periods.add_months(now.astimezone(ZONE).date().replace(day=1), -1)
    # The overview's card takes its change from the same compared totals, not from the month so far.
    store = {"metric": "energy_kwh", "cards": {"gateways_online": 1, "gateways_total": 1, "devices_total": 1,
                                               "readings_24h": 1, "month_consumption": 110.0,
                                               "previous_same_period": 100.0, "compared_consumption": 98.4},
             "cost": None, "offline": [], "fetched_at": now.isoformat()}
    note = json.dumps(overview_model.cards(store, "pt-BR")[3], cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)
    assert "-1,6%" in note and "110,0 kWh" in note
    assert "até a última hora completa" in note  # the rule, on the card's note (title), as in the explorer's help


def test_ux206_ingest_minutes_nobody_recorded_are_gaps_not_zero_traffic():
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    row = {"received": 600, "messages": 600, "acknowledged": 600, "readings_stored": 6000, "readings_duplicate": 0,
           "rejected": 0, "batches": 6, "commit_ms_sum": 60.0, "commit_ms_max": 20.0, "batch_readings_max": 1000,
           "queue_depth_max": 3, "seq_gaps": 0}
    zeros = {key: 0 for key in row}
    minutes = [{"minute": (start + timedelta(minutes=i)).isoformat(), "processes": 0 if i == 1 else 1,
                **(zeros if i == 1 else row)} for i in range(3)]
    for draw in (ingest_page.throughput_figure, ingest_page.problems_figure, ingest_page.commit_figure,
                 ingest_page.batch_figure):
        for trace in draw(minutes, ZONE, "pt-BR").data:
            assert trace.y[1] is None and trace.y[0] is not None, (draw.__name__, trace.name)
    assert ingest_page.throughput_figure(minutes, ZONE, "pt-BR").data[0].y[0] == 10.0
    idle = [dict(m, processes=0) for m in minutes]
    assert ingest_page.throughput_figure(idle, ZONE, "en").layout.annotations[0].text == "No data in this period"


@pytest.mark.parametrize("language, text", [("pt-BR", "Acesso restrito a administradores."),
                                            ("en", "Administrators only.")])
def test_ux207_a_viewer_opening_a_restricted_page_reads_restrito_not_empty_charts(app, language, text):
    ensure_test_user(app.server.extensions["tds"].engine, "ux-viewer", "viewer", ())
    client = signed_in_client(app, "ux-viewer")
    client.set_cookie("tds_lang", language)
    pages = {page["path"]: page for page in dash.page_registry.values()}
    with client:
        client.get("/_dash-layout")
        for path in ("/ingest", "/admin"):
            shown = json.dumps(pages[path]["layout"](), cls=plotly.utils.PlotlyJSONEncoder)
            assert text in shown and "page-restricted" in shown, path
            assert "Graph" not in shown and "AgGrid" not in shown, path


def test_ux208_weekly_bars_equal_direct_sums_of_monday_to_sunday(database):
    from collections import defaultdict

    from ingest import simulator
    from tds_dash.db import session_scope
    from tds_dash.queries import explorer
    from tds_dash.queries.consumption import Selection
    from tds_dash.queries.scope import ALL_ACCOUNTS
    from tests.explorer_data import FLEET, write_history

    simulator.provision_fleet(database.engine(), FLEET)
    write_history(database, datetime(2026, 1, 28, 3, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), timedelta(hours=5))
    period = periods.Period(date(2026, 2, 4), date(2026, 3, 10), ZONE)  # a Wednesday to a Tuesday
    with session_scope(database.engine()) as conn:
        data = explorer.fetch_explorer(conn, ALL_ACCOUNTS, Selection(), "energy_kwh", period, "week", False,
                                       datetime(2026, 4, 1, tzinfo=UTC))
    assert data.granularity == "week" and not data.coarsened
    expected: dict = defaultdict(float)
    for device_id, ts, value in database.query(
            "SELECT device_id, ts, consumption FROM readings WHERE metric_id = 1 AND ts >= %s AND ts < %s",
            (period.start, period.end)):
        local = ts.astimezone(ZONE).date()
        expected[(device_id, local - timedelta(days=local.weekday()))] += value or 0.0
    got = {(int(r.device_id), r.bucket.astimezone(ZONE).date()): r.consumption for r in data.by_device.itertuples()}
    assert set(got) == {key for key, value in expected.items() if value or key in got}
    assert got == pytest.approx({key: value for key, value in expected.items() if key in got})
    mondays = [b.astimezone(ZONE).date() for b in periods.bucket_starts(period, "week")]
    assert mondays[0] == date(2026, 2, 2) and mondays[-1] == date(2026, 3, 9) and len(mondays) == 6
    store = explorer_model.to_store(data, datetime(2026, 4, 1, tzinfo=UTC))
    assert explorer_model.bucket_labels(store, ZONE, "pt-BR")[:2] == ["sem. 02/02", "sem. 09/02"]
    assert store["bucket_days"][0] == ("2026-02-02", "2026-02-08")


def test_ux209_url_search_and_initial_state_round_trip():
    from urllib.parse import parse_qsl

    from tds_dash.consumption.explorer import controls

    today = date(2026, 12, 10)
    search = controls.url_search("custom", "2026-11-03", "2026-11-20T00:00:00", [1, 2], [5], [7, 9], "water_m3",
                                 "week", "line", True, 20)
    assert search == ("?from=2026-11-03&to=2026-11-20&account=1,2&gateway=5&device=7,9&metric=water_m3"
                      "&granularity=week&mode=line&compare=1&top=20")
    state = controls.initial_state(dict(parse_qsl(search[1:])), today)
    assert state == {"preset": "custom", "first_day": "2026-11-03", "last_day": "2026-11-20", "granularity": "week",
                     "metric": "water_m3", "accounts": [1, 2], "gateways": [5], "devices": [7, 9], "mode": "line",
                     "compare": True, "top": 20}
    # A preset stays a preset (a bookmarked "this month" moves with the calendar); defaults are left out.
    assert controls.url_search("this_month", "2026-12-01", "2026-12-10", [], None, [], "energy_kwh", "auto",
                               "bars", False, 10) == "?preset=this_month&metric=energy_kwh"
    assert controls.initial_state({"preset": "this_month", "top": "999", "mode": "pie"}, today)["top"] == 100
    # "Outros" clicked: ten more devices; a device's bar is a drill-down, not an expansion.
    others = {"points": [{"customdata": [None, "2026-12-01", "2026-12-01"]}]}
    assert controls.expand_others(others, 10) == 20 and controls.expand_others(others, 100) is None
    assert controls.expand_others({"points": [{"customdata": [3, "2026-12-01", "2026-12-01"]}]}, 10) is None
