"""The alarms API (/api/v1/alarms, alarm-rules, notification-channels): scope, roles, errors, audit, OpenAPI."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash.alarms import evaluation
from tests.explorer_data import api_token


@pytest.fixture
def api(app, client, database):
    """acme and globex, each with a gateway offline now and its alarm; tokens for each role."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 1))
    database.execute("UPDATE gateways SET status = 'offline', status_since = now(), status_reason = 'will'")
    evaluation.evaluate(database.engine(), datetime.now(timezone.utc), ZoneInfo("America/Sao_Paulo"))
    ids = dict(database.query("SELECT a.slug, al.id FROM alarms al JOIN accounts a ON a.id = al.account_id"))
    accounts = dict(database.query("SELECT slug, id FROM accounts"))
    tokens = {"admin": api_token(app, "api-admin"),
              "operator": api_token(app, "acme-operator", "operator", ("acme",)),
              "viewer": api_token(app, "acme-viewer", "viewer", ("acme",))}
    return client, tokens, ids, accounts


def test_alapi001_every_alarm_route_is_in_the_openapi_document(app):
    import yaml

    document = yaml.safe_load((Path(__file__).parent.parent / "docs" / "openapi.yaml").read_text())
    routes = {(re.sub(r"<int:(\w+)>", r"{\1}", rule.rule), method.lower()) for rule in app.server.url_map.iter_rules()
              if rule.endpoint.startswith("api_alarms.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if "alarm" in path or "notification" in path}
    assert routes == documented and len(routes) == 16


def test_alapi002_viewers_read_their_accounts_operators_ack_and_clear(api, database):
    client, tokens, ids, _ = api
    viewed = client.get("/api/v1/alarms", query_string={"state": "active"}, headers=tokens["viewer"]).json
    assert [a["id"] for a in viewed["data"]] == [ids["acme"]] and viewed["data"][0]["state"] == "active_unack"
    assert len(client.get("/api/v1/alarms", headers=tokens["admin"]).json["data"]) == 2
    assert client.post(f"/api/v1/alarms/{ids['acme']}/ack", headers=tokens["viewer"]).status_code == 403
    foreign = client.post(f"/api/v1/alarms/{ids['globex']}/ack", headers=tokens["operator"])
    missing = client.post("/api/v1/alarms/999999/ack", headers=tokens["operator"])
    assert foreign.status_code == missing.status_code == 404 and foreign.json["error"]["code"] == "not_found"
    acked = client.post(f"/api/v1/alarms/{ids['acme']}/ack", json={"comment": "crew on the way"},
                        headers=tokens["operator"])
    assert acked.status_code == 200 and acked.json["state"] == "active_ack" and acked.json["acked_by"] == "acme-operator"
    again = client.post(f"/api/v1/alarms/{ids['acme']}/ack", headers=tokens["operator"]).json
    assert again["changed"] is False and again["ack_comment"] == "crew on the way"
    cleared = client.post(f"/api/v1/alarms/{ids['acme']}/clear", json={"comment": "done"}, headers=tokens["operator"])
    assert cleared.json["state"] == "cleared_ack" and cleared.json["cleared_by"] == "acme-operator"
    assert database.query("SELECT username, action, entity, entity_id::bigint FROM audit_log"
                          " WHERE entity = 'alarm' ORDER BY id") == [
        ("acme-operator", "acknowledge", "alarm", ids["acme"]), ("acme-operator", "clear", "alarm", ids["acme"])]


@pytest.mark.parametrize("query, parameter", [({"state": "open"}, "state"), ({"severity": "fatal"}, "severity"),
                                              ({"account": "x"}, "account"), ({"from": "yesterday"}, "from")])
def test_alapi003_bad_filters_get_a_400_naming_them(api, query, parameter):
    client, tokens, _, _ = api
    response = client.get("/api/v1/alarms", query_string=query, headers=tokens["viewer"])
    assert response.status_code == 400 and response.json["error"]["parameter"] == parameter


def test_alapi004_rules_crud_with_templates_scope_and_versions(api, database):
    client, tokens, _, accounts = api
    body = {"account_id": accounts["acme"], "kind": "night_flow", "name": "Vazamento", "params": {"floor": 0.02}}
    created = client.post("/api/v1/alarm-rules", json=body, headers=tokens["operator"])
    assert created.status_code == 201
    rule = created.json
    assert rule["params"] == {"start": "02:00", "end": "05:00", "floor": 0.02, "nights": 3}
    assert client.post("/api/v1/alarm-rules", json={**body, "account_id": accounts["globex"]},
                       headers=tokens["operator"]).status_code == 403
    assert client.post("/api/v1/alarm-rules", json=body, headers=tokens["viewer"]).status_code == 403
    assert client.post("/api/v1/alarm-rules", json={"kind": "ingest_stalled", "name": "i"},
                       headers=tokens["operator"]).status_code == 403
    bad = client.post("/api/v1/alarm-rules", json={**body, "params": {"nights": 99}}, headers=tokens["operator"])
    assert bad.status_code == 400 and bad.json["error"]["parameter"] == "params.nights"
    text_id = client.post("/api/v1/alarm-rules", json={**body, "account_id": "1"}, headers=tokens["admin"])
    assert text_id.status_code == 400 and text_id.json["error"]["parameter"] == "account_id"
    foreign_device = client.post("/api/v1/alarm-rules", headers=tokens["admin"], json={
        **body, "device_id": database.scalar("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                                             " WHERE a.slug = 'globex'")})
    assert foreign_device.status_code == 400 and foreign_device.json["error"]["parameter"] == "device_id"
    edited = client.patch(f"/api/v1/alarm-rules/{rule['id']}", json={"params": {"nights": 5}, "version": rule["version"]},
                          headers=tokens["operator"])
    assert edited.status_code == 200 and edited.json["params"]["nights"] == 5 and edited.json["params"]["floor"] == 0.02
    stale = client.patch(f"/api/v1/alarm-rules/{rule['id']}", json={"name": "x", "version": rule["version"]},
                         headers=tokens["operator"])
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"
    listed = client.get("/api/v1/alarm-rules", headers=tokens["viewer"]).json["data"]
    assert {r["kind"] for r in listed} == {"gateway_offline", "night_flow"}  # no system rule, no globex rule
    assert client.delete(f"/api/v1/alarm-rules/{rule['id']}", headers=tokens["operator"]).status_code == 204
    builtin = next(r for r in listed if r["builtin"])
    assert client.delete(f"/api/v1/alarm-rules/{builtin['id']}", headers=tokens["operator"]).status_code == 409
    disabled = client.patch(f"/api/v1/alarm-rules/{builtin['id']}", json={"enabled": False}, headers=tokens["operator"])
    assert disabled.status_code == 200 and disabled.json["enabled"] is False
    assert [r[0] for r in database.query("SELECT action FROM audit_log WHERE entity = 'alarm_rule' ORDER BY id")] == [
        "create", "update", "delete", "update"]


def test_alapi005_channels_hide_secrets_and_test_sends_through_the_outbox(api, database):
    client, tokens, _, accounts = api
    created = client.post("/api/v1/notification-channels", headers=tokens["operator"],
                          json={"account_id": accounts["acme"], "type": "webhook", "target": "https://hooks.test/x"})
    assert created.status_code == 201 and len(created.json["secret"]) == 64  # shown this once
    channel_id = created.json["id"]
    listed = client.get("/api/v1/notification-channels", headers=tokens["viewer"]).json["data"]
    assert listed[0]["has_secret"] is True and "secret" not in listed[0]
    bad = client.post("/api/v1/notification-channels", headers=tokens["operator"],
                      json={"account_id": accounts["acme"], "type": "email", "target": "not-an-address"})
    assert bad.status_code == 400 and bad.json["error"]["parameter"] == "target"
    patched = client.patch(f"/api/v1/notification-channels/{channel_id}", json={"severities": ["critical"]},
                           headers=tokens["operator"])
    assert patched.json["severities"] == ["critical"] and patched.json["target"] == "https://hooks.test/x"
    tested = client.post(f"/api/v1/notification-channels/{channel_id}/test", headers=tokens["operator"])
    assert tested.status_code == 202
    assert database.query("SELECT event, channel_id FROM notification_outbox WHERE id = %s",
                          (tested.json["queued"],)) == [("test", channel_id)]
    assert client.delete(f"/api/v1/notification-channels/{channel_id}", headers=tokens["viewer"]).status_code == 403
    assert client.delete(f"/api/v1/notification-channels/{channel_id}", headers=tokens["operator"]).status_code == 204
