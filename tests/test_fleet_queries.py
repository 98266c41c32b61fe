"""Fleet list/save/delete queries against a real PostgreSQL (tds_dash/queries/fleet*.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest import simulator
from tds_dash.db import session_scope
from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope

UTC = timezone.utc
ZONE = "America/Sao_Paulo"


@pytest.fixture
def world(database):
    """acme: GW-0101, GW-0102 (3 devices each); globex: GW-0201. GW-0101 has a day of readings."""
    engine = database.engine()
    gateways = simulator.build_fleet(["acme", "globex"], 2, 3)[:3]
    simulator.provision_fleet(engine, gateways, {"acme": "Acme", "globex": "Globex"})
    now = datetime.now(UTC)
    simulator.backfill(database.dsn, ZONE, gateways[:1], now - timedelta(days=1), now, timedelta(hours=1),
                       progress=False)
    database.execute("UPDATE gateways SET last_seen_at = now() WHERE serial = 'GW-0101'")
    database.execute("UPDATE gateways SET last_seen_at = now() - interval '1 hour' WHERE serial = 'GW-0102'")
    ids = dict(database.query("SELECT serial, id FROM gateways"))
    accounts = dict(database.query("SELECT slug, id FROM accounts"))
    return {"engine": engine, "gateways": ids, "accounts": accounts, "now": now}


def page(world, **kwargs):
    with session_scope(world["engine"]) as conn:
        return fleet.list_gateways_page(conn, kwargs.pop("scope", ALL_ACCOUNTS), datetime.now(UTC), **kwargs)


def test_flq001_gateway_list_filters_sorts_pages_and_scopes(world, database):
    assert page(world).total == 3
    assert [r["serial"] for r in page(world, sort="serial", descending=True).rows] == ["GW-0201", "GW-0102", "GW-0101"]
    assert [r["serial"] for r in page(world, limit=2, offset=2).rows] == ["GW-0201"]
    statuses = {r["serial"]: r["status"] for r in page(world).rows}
    assert statuses == {"GW-0101": "online", "GW-0102": "offline", "GW-0201": "never"}
    assert [r["serial"] for r in page(world, status="never").rows] == ["GW-0201"]
    assert [r["serial"] for r in page(world, search="0102").rows] == ["GW-0102"]
    assert page(world, search="%").total == 0  # the user's % is a literal, not a wildcard
    assert page(world, search="GW_0").total == 0
    acme = world["accounts"]["acme"]
    assert {r["serial"] for r in page(world, scope=Scope((acme,))).rows} == {"GW-0101", "GW-0102"}
    assert page(world, scope=Scope((acme,)), account_id=world["accounts"]["globex"]).total == 0
    assert page(world, sort="'; DROP TABLE gateways; --").total == 3  # unknown sort key: the default order
    assert {r["serial"]: r["devices"] for r in page(world).rows}["GW-0101"] == 3
    database.execute("UPDATE gateways SET active = false WHERE serial = 'GW-0102'")
    assert [r["serial"] for r in page(world, status="inactive").rows] == ["GW-0102"]


def test_flq002_gateway_save_checks_uniqueness_scope_and_base_version(world):
    acme, globex = world["accounts"]["acme"], world["accounts"]["globex"]
    values = {"account_id": acme, "serial": "GW-NEW", "name": "Novo", "location": "Sala 1",
              "inactivity_timeout_s": 60, "active": True}
    with session_scope(world["engine"]) as conn:
        created = fleet.save_gateway(conn, ALL_ACCOUNTS, values)
        assert created.ok and created.version == 1
        # The serial is unique across accounts.
        taken = fleet.save_gateway(conn, Scope((globex,)), {**values, "account_id": globex, "serial": "GW-0101"})
        assert taken.status == "invalid" and taken.problems["serial"] == "serial_taken"
        # An account outside the viewer's scope cannot receive a gateway.
        assert fleet.save_gateway(conn, Scope((globex,)), {**values, "serial": "GW-X"}).status == "missing"
        first = fleet.save_gateway(conn, ALL_ACCOUNTS, {**values, "name": "Primeiro"}, created.id, 1)
        assert first.ok and first.version == 2
        # A second editor who loaded version 1 is refused, not silently applied.
        second = fleet.save_gateway(conn, ALL_ACCOUNTS, {**values, "name": "Segundo"}, created.id, 1)
        assert second.status == "conflict"
        assert fleet.get_gateway(conn, ALL_ACCOUNTS, datetime.now(UTC), created.id)["name"] == "Primeiro"
        # Keeping its own serial is not a clash with itself.
        assert fleet.save_gateway(conn, ALL_ACCOUNTS, values, created.id, 2).ok
        assert fleet.save_gateway(conn, Scope((globex,)), values, created.id, 3).status == "missing"
        assert fleet.set_gateway_active(conn, ALL_ACCOUNTS, created.id, 2, False).status == "conflict"
        assert fleet.set_gateway_active(conn, ALL_ACCOUNTS, created.id, 3, False).ok


def test_flq003_gateway_delete_refused_with_readings_else_removes_its_devices(world, database):
    gw1, gw2 = world["gateways"]["GW-0101"], world["gateways"]["GW-0102"]
    with session_scope(world["engine"]) as conn:
        refused = fleet.delete_gateway(conn, ALL_ACCOUNTS, gw1, 1)
        assert refused.status == "has_readings" and refused.readings == 3
        assert fleet.delete_gateway(conn, ALL_ACCOUNTS, gw2, 7).status == "conflict"
        assert fleet.delete_gateway(conn, ALL_ACCOUNTS, gw2, 1).ok
        assert fleet.delete_gateway(conn, ALL_ACCOUNTS, gw2, 1).status == "missing"
    assert database.scalar("SELECT count(*) FROM devices WHERE gateway_id = %s", (gw2,)) == 0
    assert database.scalar("SELECT count(*) FROM gateways WHERE id = %s", (gw1,)) == 1


def devices(world, **kwargs):
    with session_scope(world["engine"]) as conn:
        return fleet_devices.list_devices_page(conn, kwargs.pop("scope", ALL_ACCOUNTS), **kwargs)


def test_flq004_device_list_shows_status_last_reading_and_new_devices(world, database):
    assert devices(world).total == 9
    listed = {(r["gateway"], r["code"]): r for r in devices(world, limit=50).rows}
    assert listed[("GW-0101", "MED-001")]["status"] == "online"
    assert listed[("GW-0101", "MED-001")]["last_reading_at"] is not None
    assert listed[("GW-0102", "MED-001")]["status"] == "never"
    assert listed[("GW-0102", "MED-001")]["last_reading_at"] is None
    assert devices(world, gateway_id=world["gateways"]["GW-0101"]).total == 3
    assert [r["code"] for r in devices(world, search="hid", limit=50).rows] == ["HID-003"] * 3
    database.execute("INSERT INTO devices (gateway_id, account_id, code, name, provisioned)"
                     " SELECT id, account_id, 'AUTO-1', 'AUTO-1', 'auto' FROM gateways WHERE serial = 'GW-0101'")
    new = devices(world, status="new").rows
    assert [(r["code"], r["is_new"]) for r in new] == [("AUTO-1", True)]
    by_gateway = [r["gateway"] for r in devices(world, sort="gateway", descending=True, limit=50).rows]
    assert by_gateway == sorted(by_gateway, reverse=True)


def test_flq005_device_save_code_unique_per_gateway_and_versioned(world):
    gw1, gw2 = world["gateways"]["GW-0101"], world["gateways"]["GW-0102"]
    values = {"gateway_id": gw1, "code": "MED-001", "name": "Dup", "kind": "energy_meter", "active": True}
    with session_scope(world["engine"]) as conn:
        taken = fleet_devices.save_device(conn, ALL_ACCOUNTS, values)
        assert taken.problems["code"] == "code_taken"
        created = fleet_devices.save_device(conn, ALL_ACCOUNTS, {**values, "code": "MED-009"})
        assert created.ok
        # Renaming it to a code its gateway already has is refused; the same code elsewhere is another device.
        clash = fleet_devices.save_device(conn, ALL_ACCOUNTS, {**values, "code": "HID-003"}, created.id, 1)
        assert clash.problems["code"] == "code_taken"
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, {**values, "gateway_id": gw2, "code": "MED-009"}).ok
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, {**values, "code": "MED-009", "name": "A"},
                                         created.id, 1).ok
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, {**values, "code": "MED-009", "name": "B"},
                                         created.id, 1).status == "conflict"
        globex = Scope((world["accounts"]["globex"],))
        assert fleet_devices.save_device(conn, globex, {**values, "code": "X"}).problems["gateway_id"] == "choice"
        assert fleet_devices.get_device(conn, globex, created.id) is None


def test_flq006_device_with_readings_is_kept_unless_purged_then_everything_goes(world, database):
    gw1 = world["gateways"]["GW-0101"]
    target, other = (database.scalar("SELECT id FROM devices WHERE gateway_id = %s AND code = %s", (gw1, code))
                     for code in ("MED-001", "MED-002"))
    database.execute("INSERT INTO meter_corrections (device_id, metric_id, ts, kind, previous_value, value, consumption)"
                     " VALUES (%s, 1, now(), 'glitch', 2, 1, 0)", (target,))
    before_other = database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (other,))
    with session_scope(world["engine"]) as conn:
        refused, _ = fleet_devices.delete_device(conn, ALL_ACCOUNTS, target, 1)
        assert refused.status == "has_readings" and refused.readings > 0
        assert fleet_devices.reading_count(conn, ALL_ACCOUNTS, target) == refused.readings
        assert fleet_devices.set_device_active(conn, ALL_ACCOUNTS, target, 1, False).ok
    assert fleet_devices.purge_device(world["engine"], ALL_ACCOUNTS, target, 1).status == "conflict"
    assert fleet_devices.purge_device(world["engine"], ALL_ACCOUNTS, target, 2).ok
    for table in fleet_devices.PURGED_TABLES + ("device_metrics", "devices"):
        column = "id" if table == "devices" else "device_id"
        assert database.scalar(f"SELECT count(*) FROM {table} WHERE {column} = %s", (target,)) == 0, table
    assert database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (other,)) == before_other
    assert database.scalar("SELECT count(*) FROM consumption_daily WHERE device_id = %s", (other,)) > 0


def test_flq007_meter_settings_change_recomputes_consumption(world, database):
    gw1 = world["gateways"]["GW-0101"]
    device = database.scalar("SELECT id FROM devices WHERE gateway_id = %s AND code = 'MED-001'", (gw1,))
    metric = database.scalar("SELECT id FROM metrics WHERE name = 'energy_kwh'")
    counter_total = database.scalar("SELECT sum(consumption) FROM consumption_daily WHERE device_id = %s"
                                    " AND metric_id = %s", (device, metric))
    values = {"gateway_id": gw1, "code": "MED-001", "name": "M", "kind": "energy_meter", "active": True}
    settings = [{"metric_id": metric, "meter_kind": "delta", "unit": "kWh", "rollover_value": None,
                 "usual_interval_s": 3600}]
    with session_scope(world["engine"]) as conn:
        assert fleet_devices.save_device(conn, ALL_ACCOUNTS, values, device, 1, settings, ZONE).ok
        saved = fleet_devices.get_device(conn, ALL_ACCOUNTS, device)
    assert [(m["metric"], m["meter_kind"], m["usual_interval_s"]) for m in saved["metrics"]][0] == \
        ("energy_kwh", "delta", 3600)
    delta_total = database.scalar("SELECT sum(consumption) FROM consumption_daily WHERE device_id = %s"
                                  " AND metric_id = %s", (device, metric))
    raw_sum = database.scalar("SELECT sum(value) FROM readings WHERE device_id = %s AND metric_id = %s",
                              (device, metric))
    assert delta_total == pytest.approx(raw_sum) and delta_total != pytest.approx(counter_total)


def test_flq008_unknown_gateways_and_auto_provision_switch_are_scoped(world, database):
    database.execute(
        "INSERT INTO rejected_messages (topic, reason, account_slug, gateway_serial, payload_size, payload_excerpt)"
        " VALUES ('tds/acme/GW-9/telemetry', 'unknown_gateway', 'acme', 'GW-9', 1, ''),"
        "        ('tds/acme/GW-9/telemetry', 'unknown_gateway', 'acme', 'GW-9', 1, ''),"
        "        ('tds/nobody/GW-8/telemetry', 'unknown_gateway', 'nobody', 'GW-8', 1, ''),"
        "        ('tds/acme/GW-0101/telemetry', 'unknown_gateway', 'acme', 'GW-0101', 1, '')")
    acme, globex = world["accounts"]["acme"], world["accounts"]["globex"]
    with session_scope(world["engine"]) as conn:
        found = fleet.list_unknown_gateways(conn, ALL_ACCOUNTS)
        assert [(r["serial"], r["account_id"], r["messages"]) for r in found] == [("GW-9", acme, 2)]
        assert fleet.list_unknown_gateways(conn, Scope((globex,))) == []
        assert not fleet.set_auto_provision(conn, Scope((globex,)), acme, False)
        assert fleet.set_auto_provision(conn, ALL_ACCOUNTS, acme, False)
        assert {a["slug"]: a["auto_provision"] for a in fleet.list_accounts(conn, ALL_ACCOUNTS)} == \
            {"acme": False, "globex": True}
