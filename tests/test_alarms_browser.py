"""What an operator does on the Alarmes page, in a real headless Chromium."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash.alarms import evaluation
from tds_dash.app import create_app
from tests.conftest import ensure_test_user, open_user_menu
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


def test_albr002_overview_count_opens_filtered_alarms_then_gateway_card_acknowledges(dash_duo, app, database):
    from tests.helpers import wait_until
    from tests.test_certificates_page import _clicked

    ensure_test_user(app.server.extensions["tds"].engine, "otto", "operator", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="otto")
    # The overview's first store is its heaviest read: on a loaded 2-core machine it took over 30 s.
    dash_duo.wait_for_contains_text("#overview-alarms-major", "Maior: 1", timeout=90)
    assert wait_until(lambda: _clicked(dash_duo, "#overview-alarms-major"), timeout=30)
    dash_duo.wait_for_contains_text("#alarms-list", "GW-0101", timeout=30)
    assert "/alarms?state=active&severity=major" in dash_duo.driver.current_url
    dash_duo.driver.get(dash_duo.server_url + "/gateways/GW-0101")
    dash_duo.wait_for_contains_text("#gateway-alarms-table-list", "Gateway offline", timeout=30)
    assert wait_until(lambda: _clicked(dash_duo, "#gateway-alarms-table-list button.btn-outline-primary"), timeout=30)
    dash_duo.wait_for_contains_text("#gateway-alarms-alert", "reconhecido", timeout=30)
    dash_duo.wait_for_contains_text("#gateway-alarms-table-list", "Ativo, reconhecido", timeout=30)
    assert database.query("SELECT acked_by FROM alarms") == [("otto",)]
    assert dash_duo.get_logs() == []


def test_albr003_a_viewer_chooses_the_hourly_digest_from_the_user_menu(dash_duo, app, database):
    from tests.helpers import wait_until
    from tests.test_certificates_page import _clicked

    ensure_test_user(app.server.extensions["tds"].engine, "vera", "viewer", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="vera")
    open_user_menu(dash_duo)
    assert wait_until(lambda: _clicked(dash_duo, "#nav-notifications"), timeout=30)
    dash_duo.wait_for_element("#notif-email", timeout=30).send_keys("vera@acme.test")
    assert wait_until(lambda: _clicked(dash_duo, "#notif-accounts input[value='warning']"), timeout=30)
    assert wait_until(lambda: _clicked(dash_duo, "#notif-accounts .form-switch input"), timeout=30)
    assert wait_until(lambda: _clicked(dash_duo, "#notif-save"), timeout=30)
    dash_duo.wait_for_contains_text("#notif-alert", "Salvo.", timeout=30)
    dash_duo.wait_for_contains_text("#notif-accounts", "sua escolha", timeout=30)
    assert database.query("SELECT s.email, c.severities, c.digest FROM user_notification_settings s"
                          " JOIN user_notification_choices c USING (user_id)") == [("vera@acme.test", ["warning"], True)]
    assert dash_duo.get_logs() == []
