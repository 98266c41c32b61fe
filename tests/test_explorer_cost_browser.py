"""The explorer's kWh / R$ switch as a person uses it, in headless Chromium against real PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from selenium.webdriver.common.by import By

from ingest import simulator
from tds_dash import periods
from tds_dash.app import create_app
from tds_dash.consumption import ids
from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import service
from tests.explorer_data import FLEET, write_history
from tests.helpers import free_port, settings_for, wait_until
from tests.tariff_reference import VERSIONS
from tests.test_tariffs_db import ADMIN, METRIC, version_input

pytestmark = pytest.mark.browser


@pytest.fixture
def priced_app(database, mosquitto):
    """Three days of simulator history; acme has the sample tariff, globex none."""
    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(timezone.utc)
    write_history(database, now - timedelta(days=3), now - timedelta(minutes=1), timedelta(hours=1))
    acme = database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    with session_scope(database.engine()) as conn:
        service.create_tariff(conn, ALL_ACCOUNTS, ADMIN, acme, METRIC, {"name": "Branca"})
        for version in VERSIONS:
            service.save_version(conn, ALL_ACCOUNTS, ADMIN, acme, METRIC, version_input(version))
    return create_app(settings_for(database, mosquitto, TDS_REFRESH_SECONDS="600"))


def click_label(duo, text: str) -> None:
    label = duo.driver.find_element(By.XPATH, f"//label[normalize-space()='{text}']")
    duo.driver.execute_script("arguments[0].click();", label)  # a DOM click: the header row may wrap over it


def test_ecost050_switch_to_reais_and_back_disabled_without_a_tariff(dash_duo, priced_app, database):
    dash_duo.start_server(priced_app, port=free_port())
    today = periods.local_today(datetime.now(timezone.utc), priced_app.server.extensions["tds"].settings.zone)
    days = f"from={(today - timedelta(days=2)).isoformat()}&to={today.isoformat()}"
    dash_duo.driver.get(f"{dash_duo.server_url}/explorer?{days}")
    # The first store holds kWh and R$ together; on a loaded 2-core machine it has taken 50 s to arrive.
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_COST_TEXT}", "Custo no período: R$", timeout=90)
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_MEASURE_NOTE}", "sem tarifa")  # globex is in view, unpriced
    click_label(dash_duo, "R$")
    dash_duo.wait_for_text_to_equal(f"#{ids.EXPLORER_CHART} .ytitle", "R$")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_TABLE}", "Custo (R$)")
    click_label(dash_duo, "kWh")
    dash_duo.wait_for_text_to_equal(f"#{ids.EXPLORER_CHART} .ytitle", "kWh")

    globex = database.scalar("SELECT id FROM accounts WHERE slug = 'globex'")
    dash_duo.driver.get(f"{dash_duo.server_url}/explorer?{days}&account={globex}")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_MEASURE_NOTE}", "nenhuma conta selecionada tem tarifa")
    wait_until(lambda: dash_duo.find_elements(f"#{ids.EXPLORER_MEASURE} input[value='cost']:disabled"),
               message="the R$ option disabled")
    assert dash_duo.get_logs() == []
