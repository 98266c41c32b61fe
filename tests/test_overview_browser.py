"""What a person does on the overview, in a real headless Chromium against real PostgreSQL and Mosquitto."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tds_dash.consumption import ids
from tests.conftest import open_user_menu
from tests.helpers import free_port, publish, settings_for, telemetry, topic

pytestmark = pytest.mark.browser
ZONE = "America/Sao_Paulo"


@pytest.fixture
def demo_app(database, mosquitto, ingest):
    fleet = simulator.build_fleet(["acme"], 2, 3)
    simulator.provision_fleet(database.engine(), fleet, {"acme": "Acme Energia"})
    now = datetime.now(timezone.utc)
    simulator.backfill(database.dsn, ZONE, fleet, now - timedelta(days=70), now - timedelta(minutes=1),
                       timedelta(hours=6), progress=False)
    settings = settings_for(database, mosquitto, TDS_REFRESH_SECONDS="2")
    ingest(settings=settings)
    return create_app(settings), fleet


def test_ovw001_overview_shows_cards_charts_table_and_a_new_reading(dash_duo, demo_app, mosquitto):
    app, fleet = demo_app
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_text_to_equal("h3", "Visão geral da frota")
    dash_duo.wait_for_contains_text("#overview-card-gateways-value", "/ 2")
    dash_duo.wait_for_text_to_equal("#overview-card-devices-value", "6")
    dash_duo.wait_for_element(f"#{ids.OVERVIEW_MONTHLY} .barlayer .point")
    dash_duo.wait_for_element(f"#{ids.OVERVIEW_DAILY} .barlayer .point")
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_TABLE}", "MED-001")
    dash_duo.wait_for_contains_text("#overview-card-month-value", "kWh")

    # A gateway publishes a reading of a device nobody registered: it appears after the next refresh.
    body = telemetry([{"device": "NOVO-42", "metric": "energy_kwh", "value": 4242.5}],
                     at=datetime.now(timezone.utc), seq=1)
    publish(mosquitto, [(topic("acme", fleet[0].serial), body)])
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_TABLE}", "4.242,5 kWh", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_UPDATED}", "Atualizado em")
    assert dash_duo.get_logs() == []


def test_ovw002_switching_to_english_relabels_and_reformats(dash_duo, demo_app):
    app, _ = demo_app
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_text_to_equal("h3", "Visão geral da frota")
    open_user_menu(dash_duo)  # the language is chosen in the user menu
    dash_duo.find_element("#nav-lang-en").click()
    dash_duo.wait_for_text_to_equal("h3", "Fleet overview")
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_UPDATED}", "Updated at")
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_TABLE}", "kWh")
    assert dash_duo.get_logs() == []


def test_ovw003_pausing_stops_the_refresh(dash_duo, demo_app):
    app, _ = demo_app
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_contains_text(f"#{ids.OVERVIEW_UPDATED}", "Atualizado em")
    dash_duo.find_element(f"#{ids.OVERVIEW_PAUSE}").click()
    dash_duo.wait_for_element(f"#{ids.OVERVIEW_PAUSE}:checked")
    import time
    # A refresh the interval fired just before the click may still land (its answer was on its way):
    # the text must settle within a few periods once paused, and then stay put for two more.
    shown = dash_duo.find_element(f"#{ids.OVERVIEW_UPDATED}").text
    for _ in range(5):
        time.sleep(2.5)  # longer than one refresh period (TDS_REFRESH_SECONDS=2)
        now_shown = dash_duo.find_element(f"#{ids.OVERVIEW_UPDATED}").text
        if now_shown == shown:
            break
        shown = now_shown
    time.sleep(4.5)  # two refresh periods: the text must not change while paused
    assert dash_duo.find_element(f"#{ids.OVERVIEW_UPDATED}").text == shown
