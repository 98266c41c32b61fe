"""Auto-provisioning on and off, and unknown gateways, through the real ingest path (Mosquitto + writer)."""
from __future__ import annotations

import pytest

from ingest import simulator
from tds_dash.db import session_scope
from tds_dash.fleet import validation
from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries.scope import ALL_ACCOUNTS
from tests.helpers import publish, telemetry, topic, wait_until


@pytest.fixture
def acme(database):
    """Account acme with gateway GW-0101 and its device MED-001."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1), {"acme": "Acme"})
    return database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")


def reading(device: str, metric: str, value: float) -> dict:
    return {"device": device, "metric": metric, "value": value}


def test_prv001_unknown_code_creates_a_new_device_with_inferred_meter_settings(database, ingest, mosquitto, acme):
    ingest()
    publish(mosquitto, [(topic("acme", "GW-0101"), telemetry([
        reading("MED-001", "energy_kwh", 10.0), reading("NOVO-7", "water_m3", 3.5),
        reading("NOVO-7", "pressure_bar", 2.1)]))])
    wait_until(lambda: database.scalar("SELECT count(*) FROM readings") == 3)
    assert database.query("SELECT provisioned, name FROM devices WHERE code = 'NOVO-7'") == [("auto", "NOVO-7")]
    settings = database.query(
        "SELECT m.name, dm.meter_kind, dm.unit FROM device_metrics dm JOIN metrics m ON m.id = dm.metric_id"
        " JOIN devices d ON d.id = dm.device_id WHERE d.code = 'NOVO-7' ORDER BY m.name")
    assert settings == [("pressure_bar", "gauge", ""), ("water_m3", "counter", "m³")]  # unknown name: a gauge
    engine = database.engine()
    with session_scope(engine) as conn:
        new = fleet_devices.list_devices_page(conn, ALL_ACCOUNTS, status="new").rows
    assert [(row["code"], row["is_new"]) for row in new] == [("NOVO-7", True)]
    # Reviewing it (saving the form) clears the 'new' mark.
    device = new[0]
    with session_scope(engine) as conn:
        values = {"code": "NOVO-7", "name": "Hidrômetro novo", "kind": "water_meter", "active": True}
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, values, device["id"], device["version"]).ok
        assert fleet_devices.list_devices_page(conn, ALL_ACCOUNTS, status="new").total == 0


def test_prv002_with_auto_provisioning_off_unknown_codes_are_rejected(database, ingest, mosquitto, acme):
    with session_scope(database.engine()) as conn:
        assert fleet.set_auto_provision(conn, ALL_ACCOUNTS, acme, False)
    ingest()
    publish(mosquitto, [(topic("acme", "GW-0101"), telemetry([
        reading("MED-001", "energy_kwh", 10.0), reading("NOVO-7", "energy_kwh", 1.0),
        reading("NOVO-8", "energy_kwh", 2.0)])),
        (topic("acme", "GW-0101"), telemetry([reading("NOVO-7", "energy_kwh", 1.0)], seq=5))])
    wait_until(lambda: database.scalar("SELECT count(*) FROM rejected_messages") == 2)
    assert database.scalar("SELECT count(*) FROM devices") == 1
    assert database.scalar("SELECT count(*) FROM readings") == 1
    rows = database.query("SELECT reason, readings_rejected, readings_accepted, detail FROM rejected_messages"
                          " ORDER BY id")
    assert [row[:3] for row in rows] == [("unknown_device", 2, 1), ("unknown_device", 1, 0)]
    assert "NOVO-7" in rows[0][3] and "auto-provisioning is off" in rows[0][3]
    # Registering the device by hand lets its next readings in.
    gateway_id = database.scalar("SELECT id FROM gateways")
    with session_scope(database.engine()) as conn:
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, {"gateway_id": gateway_id, "code": "NOVO-7",
                                                              "name": "Novo", "kind": "meter", "active": True}).ok
    publish(mosquitto, [(topic("acme", "GW-0101"), telemetry([reading("NOVO-7", "energy_kwh", 3.0)], seq=6))])
    wait_until(lambda: database.scalar("SELECT count(*) FROM readings") == 2)


def test_prv003_unknown_gateway_is_rejected_then_registered_from_the_suggestion(database, ingest, mosquitto, acme):
    ingest()
    publish(mosquitto, [(topic("acme", "GW-NOVO"), telemetry([reading("MED-001", "energy_kwh", 1.0)]))])
    wait_until(lambda: database.scalar("SELECT count(*) FROM rejected_messages") == 1)
    assert database.query("SELECT reason, account_slug, gateway_serial FROM rejected_messages") == [
        ("unknown_gateway", "acme", "GW-NOVO")]
    engine = database.engine()
    with session_scope(engine) as conn:
        suggestion = fleet.list_unknown_gateways(conn, ALL_ACCOUNTS)[0]
        assert (suggestion["serial"], suggestion["account_id"]) == ("GW-NOVO", acme)
        values, errors = validation.validate_gateway({"account_id": suggestion["account_id"], "serial": suggestion["serial"],
                                                 "name": "Novo", "inactivity_timeout_s": 300}, [acme])
        assert errors == {}
        assert fleet.save_gateway(conn, ALL_ACCOUNTS, values).ok
        assert fleet.list_unknown_gateways(conn, ALL_ACCOUNTS) == []
    publish(mosquitto, [(topic("acme", "GW-NOVO"), telemetry([reading("MED-001", "energy_kwh", 1.0)]))])
    wait_until(lambda: database.scalar("SELECT count(*) FROM readings") == 1)
    assert database.query("SELECT g.serial, d.provisioned FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                          " WHERE g.serial = 'GW-NOVO'") == [("GW-NOVO", "auto")]
