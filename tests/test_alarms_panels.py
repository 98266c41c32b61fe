"""Alarms on the gateway, device and overview pages: callbacks called directly in a signed-in request."""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import dash
import pytest

from ingest import simulator
from tds_dash.alarms import evaluation, panel, view
from tests.explorer_data import api_token
from tests.test_alarms_page import signed_in
from tests.test_tenant_isolation import _outputs


def click_alarm_button(app, page: str, button: str, alarm_id: int, username: str, comment: str = "") -> str:
    """A click on one alarm's ack/clear button of `page`'s card, through the callback that page registered."""
    client = app.server.test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": "correct horse battery",
                                       "csrf": csrf}).status_code == 302
    ids = panel.PanelIds(page)
    key = next(k for k in app.callback_map if f"{ids.alert}.children" in k)
    clicked = {"type": getattr(ids, button), "index": alarm_id}
    inputs = [[{"id": {"type": getattr(ids, name), "index": alarm_id}, "property": "n_clicks",
                "value": 1 if name == button else None}] for name in ("ack", "clear")]
    body = {"output": key, "outputs": _outputs(key), "inputs": inputs,
            "state": [{"id": ids.comment, "property": "value", "value": comment},
                      {"id": ids.refresh, "property": "data", "value": 0}],
            "changedPropIds": [json.dumps(clicked, separators=(",", ":"), sort_keys=True) + ".n_clicks"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.dumps(response.get_json()["response"], ensure_ascii=False)


def loaded(page: str):
    """The page module Dash loaded (importing it anew would register its callbacks twice)."""
    return sys.modules[next(name for name in dash.page_registry if name.endswith(f"pages.{page}"))]


@pytest.fixture
def fleet(app, database):
    """acme and globex: each gateway offline, each device silent (a gateway alarm and a device alarm each)."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1))
    database.execute("UPDATE gateways SET status = 'offline', status_since = now(), status_reason = 'will'")
    database.execute("UPDATE devices SET silent_since = now()")
    database.execute("INSERT INTO alarm_rules (account_id, kind, name, severity) SELECT id, 'meter_silent',"
                     " 'Silent', 'minor' FROM accounts")
    now = datetime.now(timezone.utc)
    evaluation.evaluate(database.engine(), now, ZoneInfo("America/Sao_Paulo"))
    # Device alarms of an offline gateway are suppressed: bring the gateways back, keep the gateway alarms.
    database.execute("UPDATE gateways SET status = 'online'")
    evaluation.evaluate(database.engine(), now, ZoneInfo("America/Sao_Paulo"))
    api_token(app, "acme-viewer", "viewer", ("acme",))
    api_token(app, "acme-operator", "operator", ("acme",))
    return {row[0]: row[1] for row in database.query(
        "SELECT a.kind || ':' || acc.slug, a.id FROM alarms a JOIN accounts acc ON acc.id = a.account_id")}


def test_alpn001_gateway_page_lists_its_and_its_devices_alarms_and_operator_acks(app, database, fleet):
    gateway = loaded("gateway")
    device_code = database.scalar("SELECT d.code FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                                  " WHERE g.serial = 'GW-0101'")
    context = signed_in(app, "acme-operator", "en")
    try:
        layout = str(gateway.layout("GW-0101"))
        table = str(gateway.update_alarms(0, 0, "GW-0101"))
        foreign = str(gateway.update_alarms(0, 0, "GW-0201"))
        missing = str(gateway.layout("GW-9999"))
    finally:
        context.pop()
    alert = click_alarm_button(app, "gateway", "ack", fleet["gateway_offline:acme"], "acme-operator", "on my way")
    assert "gateway-alarms-card" in layout and "Alarms (active and last 7 days)" in layout
    assert "gateway-alarms-card" not in missing  # no alarm card under 'gateway not found'
    assert "Gateway offline" in table and device_code in table and "Acknowledge" in table
    assert "'type': 'gateway-alarms-ack'" in table and "'type': 'alarms-ack'" not in table  # the card's own button types
    assert "No active or recent alarm." in foreign  # globex's gateway: not in acme's scope
    assert f"Alarme {fleet['gateway_offline:acme']} reconhecido." in alert
    assert database.query("SELECT acked_by, ack_comment FROM alarms WHERE id = %s",
                          (fleet["gateway_offline:acme"],)) == [("acme-operator", "on my way")]


def test_alpn002_device_page_shows_the_device_alarm_to_a_viewer_without_buttons(app, database, fleet):
    device = loaded("device")
    acme_device = database.scalar("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                                  " WHERE a.slug = 'acme'")
    globex_device = database.scalar("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                                    " WHERE a.slug = 'globex'")
    context = signed_in(app, "acme-viewer")
    try:
        table = str(device.update_alarms(0, acme_device))
        foreign = str(device.update_alarms(0, globex_device))
        nothing = str(device.update_alarms(0, None))
    finally:
        context.pop()
    refused = click_alarm_button(app, "device", "clear", fleet["meter_silent:acme"], "acme-viewer")
    assert "Medidor silencioso" in table and "Gateway offline" not in table
    assert "Reconhecer" not in table  # a viewer reads, cannot acknowledge
    assert "Nenhum alarme ativo nem recente." in foreign and "Nenhum alarme ativo nem recente." in nothing
    assert "Sem permissão" in refused  # the device page's buttons go through the same checks
    assert database.scalar("SELECT cleared_at FROM alarms WHERE id = %s", (fleet["meter_silent:acme"],)) is None


def test_alpn003_overview_counts_link_to_the_filtered_alarms_page(app, database, fleet):
    overview, alarms = loaded("overview"), loaded("alarms")
    acme = database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    context = signed_in(app, "acme-operator")
    try:
        store, _, _ = overview.update_overview_store(0, None, None, "energy_kwh")
        counts = overview.update_alarm_counts(store)
        filtered = overview.update_alarm_counts({**store, "alarms": {**store["alarms"], "account": acme}})
        preset = str(alarms.layout(state="active", severity="major", account=str(acme)))
        junk = str(alarms.layout(state="nope", severity="'; --", account="999"))
    finally:
        context.pop()
    assert store["alarms"]["counts"] == {"major": 1, "minor": 1}  # acme only, not globex
    links = {link.id: link for link in counts[1:]}
    assert links["overview-alarms-major"].href == "/alarms?state=active&severity=major"
    assert links["overview-alarms-major"].children.children == "Maior: 1"
    assert links["overview-alarms-critical"].children.children == "Crítico: 0"
    assert {link.href for link in filtered[1:]} >= {f"/alarms?state=active&severity=minor&account={acme}"}
    assert "'value': 'major'" in preset and f"'value': {acme}" in preset
    assert "'value': 'active'" in junk and "'value': 999" not in junk and "'value': '; --" not in junk


def test_alpn004_preset_filters_accept_only_offered_values():
    choices = view.filter_options("en")
    accounts = [{"id": 3, "name": "acme"}]
    assert view.preset_filters({}, choices, accounts, focused=False) == {"severity": None, "account": None,
                                                                          "state": "active"}
    assert view.preset_filters({}, choices, accounts, focused=True)["state"] is None
    assert view.preset_filters({"state": "cleared", "severity": "minor", "account": "3"}, choices, accounts,
                               False) == {"severity": "minor", "account": 3, "state": "cleared"}
    assert view.preset_filters({"severity": "x", "account": "4"}, choices, accounts, False) == {
        "severity": None, "account": None, "state": "active"}
    assert panel.alarms_href(state="active", severity="critical", account=None) == "/alarms?state=active&severity=critical"
