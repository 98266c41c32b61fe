"""What an operator does on the gateways and devices pages, in a real headless Chromium on real PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from ingest import simulator
from tds_dash.app import create_app
from tests.helpers import free_port, settings_for, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def fleet_app(database, mosquitto):
    """acme (GW-0101: MED-001, MED-002 with a day of readings) and globex (GW-0201), the app on them."""
    fleet = simulator.build_fleet(["acme", "globex"], 1, 2)
    simulator.provision_fleet(database.engine(), fleet, {"acme": "Acme", "globex": "Globex"})
    now = datetime.now(timezone.utc)
    simulator.backfill(database.dsn, "America/Sao_Paulo", fleet[:1], now - timedelta(days=1), now,
                       timedelta(hours=2), progress=False)
    return create_app(settings_for(database, mosquitto))


def element(duo, component_id: dict):
    """A pattern-matching component: Dash renders its dict id as sorted, compact JSON."""
    text = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    found = duo.driver.find_elements(By.XPATH, f"//*[@id='{text}']")
    assert found, f"no element {text}"
    return found[0]


def click(duo, component_id: dict) -> None:
    """Click a pattern-matching button, retrying while its table is re-rendered or a dialog fades out."""
    def attempt() -> bool:
        try:
            element(duo, component_id).click()
            return True
        except (StaleElementReferenceException, ElementClickInterceptedException, ElementNotInteractableException,
                AssertionError):
            return False
    wait_until(attempt, message=f"click {component_id}")


def field(duo, form: str, name: str):
    return element(duo, {"type": f"{form}-field", "name": name})


def type_into(duo, form: str, name: str, text: str) -> None:
    box = field(duo, form, name)
    duo.clear_input(box)
    box.send_keys(text)


def feedback(duo, form: str, name: str) -> str | None:
    """The error shown beside a field; None while the form is being re-rendered."""
    try:
        return element(duo, {"type": f"{form}-feedback", "name": name}).text
    except (StaleElementReferenceException, AssertionError):
        return None


def wait_feedback(duo, form: str, name: str, text: str) -> None:
    wait_until(lambda: feedback(duo, form, name) == text, timeout=8,
               message=f"{form}.{name} feedback {text!r} (now {feedback(duo, form, name)!r})")


def text_of(duo, selector: str) -> str | None:
    """An element's text, None while it is being replaced by a re-render."""
    try:
        return duo.find_element(selector).text
    except StaleElementReferenceException:
        return None


def open_page(duo, app, path: str) -> None:
    duo.start_server(app, port=free_port())
    duo.driver.get(duo.server_url + path)


def gateway_id(database, serial: str) -> int:
    return database.scalar("SELECT id FROM gateways WHERE serial = %s", (serial,))


def test_flt001_gateway_create_with_errors_edit_conflict_and_delete(dash_duo, fleet_app, database):
    open_page(dash_duo, fleet_app, "/gateways")
    dash_duo.wait_for_contains_text("#gateways-list", "GW-0101")
    dash_duo.find_element("#gateways-new").click()
    dash_duo.wait_for_element("#gateways-modal")
    # Every rule at once: required account and name, serial format, timeout range.
    type_into(dash_duo, "gateways", "serial", "G")
    type_into(dash_duo, "gateways", "name", "")
    type_into(dash_duo, "gateways", "inactivity_timeout_s", "5")
    dash_duo.find_element("#gateways-save").click()
    wait_feedback(dash_duo, "gateways", "account_id", "Campo obrigatório.")
    assert feedback(dash_duo, "gateways", "serial").startswith("Use de 2 a 64 caracteres")
    assert feedback(dash_duo, "gateways", "name") == "Campo obrigatório."
    assert feedback(dash_duo, "gateways", "inactivity_timeout_s") == "Informe um valor entre 10 e 86.400."
    # A serial taken by another account's gateway, and a timeout that is not a whole number.
    Select(field(dash_duo, "gateways", "account_id")).select_by_visible_text("Acme")
    type_into(dash_duo, "gateways", "serial", "GW-0201")
    type_into(dash_duo, "gateways", "name", "Subestação Norte")
    type_into(dash_duo, "gateways", "inactivity_timeout_s", "1,5")
    dash_duo.find_element("#gateways-save").click()
    wait_feedback(dash_duo, "gateways", "serial", "Já existe um gateway com este número de série.")
    assert feedback(dash_duo, "gateways", "inactivity_timeout_s") == "Informe um número inteiro (ex.: 900 ou 1.000.000)."
    assert feedback(dash_duo, "gateways", "name") == ""
    type_into(dash_duo, "gateways", "serial", "GW-NORTE")
    type_into(dash_duo, "gateways", "inactivity_timeout_s", "120")
    dash_duo.find_element("#gateways-save").click()
    dash_duo.wait_for_contains_text("#gateways-alert", "Gateway GW-NORTE salvo.")
    dash_duo.wait_for_contains_text("#gateways-list", "Subestação Norte")
    assert database.query("SELECT a.slug, g.inactivity_timeout_s, g.version FROM gateways g"
                          " JOIN accounts a ON a.id = g.account_id WHERE serial = 'GW-NORTE'") == [("acme", 120, 1)]

    # Two people edit it: the other one saves first, so this save is refused and nothing is overwritten.
    new_id = gateway_id(database, "GW-NORTE")
    click(dash_duo, {"type": "gateways-edit", "action": "edit", "index": new_id})
    wait_until(lambda: field(dash_duo, "gateways", "name").get_attribute("value") == "Subestação Norte")
    database.execute("UPDATE gateways SET name = 'Editado por outra pessoa', version = version + 1 WHERE id = %s",
                     (new_id,))
    type_into(dash_duo, "gateways", "name", "Minha versão")
    dash_duo.find_element("#gateways-save").click()
    dash_duo.wait_for_contains_text("#gateways-form-alert", "Outra pessoa alterou este registro")
    assert database.scalar("SELECT name FROM gateways WHERE id = %s", (new_id,)) == "Editado por outra pessoa"
    dash_duo.find_element("#gateways-cancel").click()

    # A gateway whose devices have readings cannot be deleted: its row offers deactivate, no "Excluir" (the
    # refusal itself is the API's, tests/test_api_resources.py); an empty one is deleted after confirming.
    with_readings = gateway_id(database, "GW-0101")
    element(dash_duo, {"type": "gateways-act", "action": "deactivate", "index": with_readings})
    assert dash_duo.driver.find_elements(By.XPATH, "//*[@id='" + json.dumps(
        {"type": "gateways-act", "action": "delete", "index": with_readings}, sort_keys=True,
        separators=(",", ":")) + "']") == []
    click(dash_duo, {"type": "gateways-act", "action": "delete", "index": new_id})
    dash_duo.wait_for_contains_text("#gateways-confirm-body", "Excluir o gateway GW-NORTE")
    dash_duo.find_element("#gateways-confirm-ok").click()
    dash_duo.wait_for_contains_text("#gateways-alert", "Gateway GW-NORTE excluído.")
    wait_until(lambda: "GW-NORTE" not in (text_of(dash_duo, "#gateways-list") or "GW-NORTE"))
    assert gateway_id(database, "GW-NORTE") is None
    assert dash_duo.get_logs() == []


def device_id(database, code: str) -> int | None:
    return database.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                           " WHERE g.serial = 'GW-0101' AND d.code = %s", (code,))


def metric_field(duo, metric: str, name: str, database):
    metric_id = database.scalar("SELECT id FROM metrics WHERE name = %s", (metric,))
    return element(duo, {"type": "devices-metric", "metric": metric_id, "name": name})


def metric_feedback(duo, metric: str, name: str, database) -> str | None:
    metric_id = database.scalar("SELECT id FROM metrics WHERE name = %s", (metric,))
    try:
        return element(duo, {"type": "devices-metric-feedback", "metric": metric_id, "name": name}).text
    except (StaleElementReferenceException, AssertionError):
        return None


def confirm(duo, action: str, row_id: int, question: str) -> None:
    click(duo, {"type": "devices-act", "action": action, "index": row_id})
    duo.wait_for_contains_text("#devices-confirm-body", question)


def test_flt002_device_create_with_errors_meter_settings_conflict_deactivate_purge(dash_duo, fleet_app, database):
    open_page(dash_duo, fleet_app, "/devices")
    dash_duo.wait_for_contains_text("#devices-list", "MED-002")
    dash_duo.find_element("#devices-new").click()
    dash_duo.wait_for_element("#devices-modal")
    type_into(dash_duo, "devices", "code", ":MED")
    dash_duo.find_element("#devices-save").click()
    wait_feedback(dash_duo, "devices", "gateway_id", "Campo obrigatório.")
    assert feedback(dash_duo, "devices", "code").startswith("Use de 1 a 64 caracteres")
    assert feedback(dash_duo, "devices", "name") == "Campo obrigatório."
    Select(field(dash_duo, "devices", "gateway_id")).select_by_visible_text("GW-0101 · Gateway GW-0101")
    type_into(dash_duo, "devices", "code", "MED-001")  # taken under this gateway
    type_into(dash_duo, "devices", "name", "Medidor novo")
    dash_duo.find_element("#devices-save").click()
    wait_feedback(dash_duo, "devices", "code", "Já existe um dispositivo com este código neste gateway.")
    type_into(dash_duo, "devices", "code", "MED-NOVO")
    Select(field(dash_duo, "devices", "kind")).select_by_visible_text("Medidor de energia")
    dash_duo.find_element("#devices-save").click()
    dash_duo.wait_for_contains_text("#devices-alert", "Dispositivo MED-NOVO salvo.")
    assert database.query("SELECT kind, provisioned FROM devices WHERE code = 'MED-NOVO'") == [("energy_meter", "manual")]

    # Meter settings per metric: a rollover only for counters, numbers in range, Brazilian decimal comma.
    med1 = device_id(database, "MED-001")
    click(dash_duo, {"type": "devices-edit", "action": "edit", "index": med1})
    wait_until(lambda: metric_field(dash_duo, "power_kw", "meter_kind", database))
    # "1.000,5" is how the app shows a thousand and a half (accepted); the English form is not Portuguese.
    for metric, name, text in (("power_kw", "rollover_value", "100"), ("energy_kwh", "rollover_value", "1,000.5"),
                               ("energy_kwh", "usual_interval_s", "0")):
        box = metric_field(dash_duo, metric, name, database)
        dash_duo.clear_input(box)
        box.send_keys(text)
    dash_duo.find_element("#devices-save").click()
    wait_until(lambda: metric_feedback(dash_duo, "power_kw", "rollover_value", database)
               == "Só medidores do tipo contador têm valor de virada.")
    assert metric_feedback(dash_duo, "energy_kwh", "rollover_value", database).startswith("Informe um número")
    assert metric_feedback(dash_duo, "energy_kwh", "usual_interval_s", database) == \
        "Informe um valor entre 1 e 604.800."
    for metric, name, text in (("power_kw", "rollover_value", ""), ("energy_kwh", "rollover_value", "99999,9"),
                               ("energy_kwh", "usual_interval_s", "7200")):
        box = metric_field(dash_duo, metric, name, database)
        dash_duo.clear_input(box)
        if text:
            box.send_keys(text)
    # Meanwhile someone else saves this device: this save must be refused.
    database.execute("UPDATE devices SET version = version + 1, name = 'Outra pessoa' WHERE id = %s", (med1,))
    dash_duo.find_element("#devices-save").click()
    dash_duo.wait_for_contains_text("#devices-form-alert", "Outra pessoa alterou este registro")
    assert database.scalar("SELECT rollover_value FROM device_metrics WHERE device_id = %s AND rollover_value"
                           " IS NOT NULL", (med1,)) is None
    dash_duo.find_element("#devices-cancel").click()
    click(dash_duo, {"type": "devices-edit", "action": "edit", "index": med1})
    wait_until(lambda: field(dash_duo, "devices", "name").get_attribute("value") == "Outra pessoa")
    box = metric_field(dash_duo, "energy_kwh", "rollover_value", database)
    dash_duo.clear_input(box)
    box.send_keys("99999,9")
    dash_duo.find_element("#devices-save").click()
    dash_duo.wait_for_contains_text("#devices-alert", "Dispositivo MED-001 salvo.")
    assert database.scalar("SELECT max(rollover_value) FROM device_metrics WHERE device_id = %s", (med1,)) == 99999.9

    # Deleting a device with readings deactivates it; ticking 'purge' erases it with readings and rollups.
    readings = database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (med1,))
    confirm(dash_duo, "delete", med1, f"O dispositivo MED-001 tem {readings} leituras: ele será desativado")
    dash_duo.find_element("#devices-confirm-ok").click()
    dash_duo.wait_for_contains_text("#devices-alert", "Dispositivo MED-001 desativado.")
    assert database.query("SELECT active FROM devices WHERE id = %s", (med1,)) == [(False,)]
    assert database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (med1,)) == readings
    med2 = device_id(database, "MED-002")
    confirm(dash_duo, "delete", med2, "O dispositivo MED-002 tem")
    click(dash_duo, {"type": "devices-purge", "index": 0})
    dash_duo.find_element("#devices-confirm-ok").click()
    dash_duo.wait_for_contains_text("#devices-alert", "Dispositivo MED-002 excluído com")
    assert database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (med2,)) == 0
    assert database.scalar("SELECT count(*) FROM consumption_hourly WHERE device_id = %s", (med2,)) == 0
    confirm(dash_duo, "delete", device_id(database, "MED-NOVO"), "Excluir o dispositivo MED-NOVO? Ele não tem leituras.")
    dash_duo.find_element("#devices-confirm-ok").click()
    dash_duo.wait_for_contains_text("#devices-alert", "Dispositivo MED-NOVO excluído.")
    assert device_id(database, "MED-NOVO") is None
    assert [row[0] for row in database.query("SELECT action FROM audit_log WHERE entity = 'device' ORDER BY id")] == [
        "create", "update", "deactivate", "purge", "delete"]
    assert dash_duo.get_logs() == []


def test_flt003_gateway_page_events_page_and_overview_say_why_it_is_offline(dash_duo, fleet_app, database):
    from ingest.presence import jobs as presence

    engine = database.engine()
    now = datetime.now(timezone.utc)
    database.execute("UPDATE gateways SET last_seen_at = %s WHERE serial = 'GW-0101'", (now - timedelta(minutes=20),))
    presence.check_gateways(engine, now - timedelta(minutes=20), timedelta(minutes=10))
    presence.check_gateways(engine, now, timedelta(minutes=10))  # silent past its 5 min timeout
    database.execute(
        "INSERT INTO rejected_messages (topic, reason, detail, account_slug, gateway_serial, payload_size,"
        " payload_excerpt) VALUES ('tds/acme/GW-0101/telemetry', 'invalid_json', 'bad', 'acme', 'GW-0101', 1, '')")

    open_page(dash_duo, fleet_app, "/gateways/GW-0101")
    dash_duo.wait_for_text_to_equal("#gateway-status", "offline")
    dash_duo.wait_for_contains_text("#gateway-why", "silencioso há 20 min")
    dash_duo.wait_for_contains_text("#gateway-history", "silêncio além do limite")
    dash_duo.wait_for_contains_text("#gateway-history", "15 min")
    dash_duo.wait_for_contains_text("#gateway-rejections", "invalid_json")
    dash_duo.wait_for_contains_text("#gateway-devices", "MED-001")
    # 5 of the 20 monitored minutes (a little less: the page is read a few seconds after `now`).
    uptime = float(wait_until(lambda: text_of(dash_duo, "#gateway-uptime-24h")).rstrip("%").replace(",", "."))
    assert 23.0 < uptime <= 25.0

    dash_duo.driver.get(dash_duo.server_url + "/events")
    dash_duo.wait_for_contains_text("#events-list", "Gateway silencioso: nenhuma mensagem desde")
    dash_duo.wait_for_contains_text("#events-list", "Gateway voltou a enviar mensagens")
    dash_duo.find_element("#events-kinds").click()
    options = [o for o in dash_duo.find_elements(".dash-dropdown-option") if o.text == "Gateway offline"]
    options[0].click()
    wait_until(lambda: "Gateway voltou" not in (text_of(dash_duo, "#events-list") or "Gateway voltou"))
    assert "Gateway silencioso" in text_of(dash_duo, "#events-list")

    dash_duo.driver.get(dash_duo.server_url + "/")
    dash_duo.wait_for_contains_text("#overview-offline", "GW-0101")
    dash_duo.wait_for_contains_text("#overview-offline", "silêncio além do limite")
    assert dash_duo.get_logs() == []
