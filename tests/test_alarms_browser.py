"""What an operator does on the Alarmes page, in a real headless Chromium."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash.alarms import evaluation
from tds_dash.app import create_app
from tests.conftest import ensure_test_user
from tests.helpers import free_port, settings_for

pytestmark = pytest.mark.browser


@pytest.fixture
def app(database, mosquitto):
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1), {"acme": "Acme Energia"})
    database.execute("UPDATE gateways SET status = 'offline', status_since = now(), status_reason = 'will'")
    evaluation.evaluate(database.engine(), datetime.now(timezone.utc), ZoneInfo("America/Sao_Paulo"))
    return create_app(settings_for(database, mosquitto))


def test_albr001_operator_acknowledges_an_offline_gateway_with_a_comment(dash_duo, app, database):
    ensure_test_user(app.server.extensions["tds"].engine, "olga", "operator", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="olga")
    dash_duo.driver.get(dash_duo.server_url + "/alarms")
    dash_duo.wait_for_contains_text("#alarms-list", "GW-0101")
    dash_duo.wait_for_contains_text("#alarms-badge-major", "Maior: 1")
    dash_duo.wait_for_text_to_equal("#nav-alarms-badge", "1")  # the navbar's count, on every page
    dash_duo.find_element("#alarms-comment").send_keys("equipe a caminho")
    dash_duo.find_element("#alarms-list button.btn-outline-primary").click()
    dash_duo.wait_for_contains_text("#alarms-alert", "reconhecido")
    dash_duo.wait_for_contains_text("#alarms-list", "Ativo, reconhecido")
    assert database.query("SELECT acked_by, ack_comment FROM alarms") == [("olga", "equipe a caminho")]
    assert dash_duo.get_logs() == []
