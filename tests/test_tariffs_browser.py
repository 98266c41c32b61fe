"""What an operator does on the Tarifas page, in a real headless Chromium."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tds_dash import periods
from tds_dash.app import create_app
from tests.conftest import ensure_test_user
from tests.helpers import free_port, settings_for
from tests.test_tariffs_db import Fleet

pytestmark = pytest.mark.browser


@pytest.fixture
def app(database, mosquitto):
    Fleet(database)  # acme and globex, no tariff yet
    return create_app(settings_for(database, mosquitto))


def click(dash_duo, selector: str) -> None:
    """A DOM click: the forms sit below the fold and the panel above them grows as it loads, moving the target."""
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(selector))


def test_tbr001_operator_creates_a_tariff_adds_a_version_and_previews(dash_duo, app, database):
    ensure_test_user(app.server.extensions["tds"].engine, "olga", "operator", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="olga")
    dash_duo.driver.get(dash_duo.server_url + "/tariffs")
    dash_duo.wait_for_contains_text("#tariffs-none", "não tem tarifa")  # her one account is preselected
    assert "Tarifas" in dash_duo.find_element(".navbar").text
    dash_duo.find_element("#tariffs-new-name").send_keys("Convencional")
    click(dash_duo, "#tariffs-create")
    dash_duo.wait_for_contains_text("#tariffs-created", "Tarifa criada")
    dash_duo.wait_for_contains_text("#tariffs-name", "Convencional")
    click(dash_duo, "#tariffs-preview")
    dash_duo.wait_for_contains_text("#tariffs-preview-result", "com esta versão")
    click(dash_duo, "#tariffs-save")
    today = datetime.now(timezone.utc).astimezone(app.server.extensions["tds"].settings.zone).date()
    dash_duo.wait_for_contains_text("#tariffs-result", f"Versão de {today.isoformat()} salva")
    dash_duo.wait_for_contains_text("#tariffs-versions", today.isoformat())
    assert database.scalar("SELECT count(*) FROM tariff_versions") == 1
    assert periods.add_months(today.replace(day=1), -1).strftime("%m/%Y") in dash_duo.find_element(
        "#tariffs-last-month").text
    assert dash_duo.get_logs() == []
