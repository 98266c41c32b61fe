"""The device page below the browser: its data (raw vs rollup bands), its sections, and its scope checks."""
from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dash
import flask_login
import pytest

from ingest import simulator
from tds_dash import periods
from tds_dash.app import create_app
from tds_dash.consumption import device as device_model
from tds_dash.db import session_scope
from tds_dash.queries import devices
from tds_dash.queries.scope import ALL_ACCOUNTS
from tests.explorer_data import FLEET, ZONE_NAME, api_token, device_id, write_history
from tests.helpers import settings_for

ZONE = ZoneInfo(ZONE_NAME)
UTC = timezone.utc


@pytest.fixture
def med(database):
    simulator.provision_fleet(database.engine(), FLEET)
    write_history(database, datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC), timedelta(hours=3))
    return device_id(database, "GW-0101", "MED-001")


def charts(database, device: int, first: date, last: date) -> devices.DeviceCharts:
    with session_scope(database.engine()) as conn:
        return devices.fetch_device_charts(conn, ALL_ACCOUNTS, device, periods.Period(first, last, ZONE))


def test_dev001_short_ranges_draw_raw_readings_long_ones_rollup_bands(database, med):
    raw = charts(database, med, date(2026, 3, 1), date(2026, 3, 2))
    assert raw.raw and raw.band_granularity is None and raw.bar_granularity == "hour"
    assert set(raw.series["metric"]) == {"energy_kwh", "power_kw"} and len(raw.series) == 2 * 16
    week = charts(database, med, date(2026, 3, 1), date(2026, 3, 7))
    assert not week.raw and week.band_granularity == "hour" and week.bar_granularity == "day"
    season = charts(database, med, date(2026, 1, 1), date(2026, 4, 14))
    assert season.band_granularity == "day" and season.bar_granularity == "month"
    # The band's average is sum_value / count: the mean of the readings of the day.
    day = season.series[(season.series["metric"] == "power_kw")].iloc[40]
    start = day["bucket"].to_pydatetime()
    mean, low, high = database.query(
        "SELECT avg(value), min(value), max(value) FROM readings r JOIN metrics m ON m.id = r.metric_id"
        " WHERE r.device_id = %s AND m.name = 'power_kw' AND ts >= %s AND ts < %s",
        (med, start, periods.local_midnight(start.astimezone(ZONE).date() + timedelta(days=1), ZONE)))[0]
    assert (day["avg"], day["min"], day["max"]) == pytest.approx((mean, low, high))
    assert season.bars[season.bars["metric"] == "energy_kwh"]["consumption"].sum() == pytest.approx(database.scalar(
        "SELECT sum(consumption) FROM readings WHERE device_id = %s AND metric_id = 1 AND ts >= %s AND ts < %s",
        (med, periods.local_midnight(date(2026, 1, 1), ZONE), periods.local_midnight(date(2026, 4, 15), ZONE))))


def test_dev002_sections_mark_corrections_and_bars_only_for_meters(database, med):
    database.execute("INSERT INTO meter_corrections"
                     " (device_id, metric_id, ts, kind, previous_value, value, consumption)"
                     " VALUES (%s, 1, '2026-03-03T12:00:00Z', 'glitch', 1200.5, 3.2, 0)", (med,))
    data = charts(database, med, date(2026, 3, 1), date(2026, 3, 7))
    with session_scope(database.engine()) as conn:
        latest = devices.latest_values(conn, med)
    cards = device_model.metric_sections(data, latest, ZONE, "pt-BR")
    assert [card.children[0].children for card in cards] == ["Energia ativa (kWh)", "Potência ativa (kW)"]
    energy_graphs = [c for c in cards[0].children[1].children if hasattr(c, "figure")]
    power_graphs = [c for c in cards[1].children[1].children if hasattr(c, "figure")]
    assert len(energy_graphs) == 2 and len(power_graphs) == 1  # a gauge has no consumption bars
    marker = energy_graphs[0].figure.data[-1]
    assert marker.name == "Correções do medidor" and "Falha momentânea" in marker.hovertext[0]
    assert [trace.name for trace in power_graphs[0].figure.data] == ["Máx.", "Mín.–máx.", "Méd."]


def test_dev003_layout_answers_not_found_outside_the_scope(database, mosquitto, med):
    app = create_app(settings_for(database, mosquitto))
    api_token(app, "globex-only", "viewer", ("globex",))
    api_token(app, "acme-only", "viewer", ("acme",))
    # The module Dash loaded: importing pages.device anew would register its callbacks a second time.
    page = sys.modules[next(name for name in dash.page_registry if name.endswith("pages.device"))]
    from tds_dash.auth.guard import CurrentUser
    from tds_dash.queries.users import get_user_by_username

    def render(username: str | None, raw_id, **query):
        with app.server.test_request_context(f"/device/{raw_id}"):
            if username:
                with session_scope(app.server.extensions["tds"].engine) as conn:
                    flask_login.login_user(CurrentUser(get_user_by_username(conn, username)))
            return str(page.layout(device_id=raw_id, **query))

    assert "device-not-found" in render("acme-only", "abc")
    assert "device-not-found" in render("acme-only", "99999999999999999999")
    assert "device-not-found" in render(None, str(med))  # signed out: an empty scope
    assert "device-not-found" in render("globex-only", str(med))
    shown = render("acme-only", str(med), **{"from": "2026-03-01", "to": "2026-03-02"})
    assert "device-not-found" not in shown and "Dispositivo MED-001" in shown and "2026-03-01" in shown
    # The simulator names its gateway "Gateway GW-0101": the header links it once, not "GW-0101 · Gateway GW-0101".
    assert "children='GW-0101', href='/gateways/GW-0101', id='device-gateway-link'" in shown
    assert "· Gateway GW-0101" not in shown
    with app.server.test_request_context("/"):
        with session_scope(app.server.extensions["tds"].engine) as conn:
            flask_login.login_user(CurrentUser(get_user_by_username(conn, "globex-only")))
        refused = page.update_charts("2026-03-01", "2026-03-02", med)  # a tampered store
    assert "Dispositivo não encontrado." in str(refused)


def test_dev004_a_gateway_is_titled_by_its_serial_and_a_name_only_when_it_says_more():
    from tds_dash.fleet.components import gateway_title

    assert gateway_title("GW-0101", "Portaria norte") == "GW-0101 · Portaria norte"
    assert [gateway_title("GW-0101", name) for name in ("Gateway GW-0101", "gateway gw-0101 ", "GW-0101", "", None)] \
        == ["GW-0101"] * 5
    assert gateway_title("GW-0101", "Gateway GW-0102") == "GW-0101 · Gateway GW-0102"
