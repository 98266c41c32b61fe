"""Crafted requests to the fleet pages' pattern-matching callbacks (which test_tenant_isolation skips):
a viewer changes nothing, an operator of account A can neither read nor change account B's fleet."""
from __future__ import annotations

import json

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.conftest import ensure_test_user
from tests.helpers import settings_for
from tests.test_tenant_isolation import signed_in_client


@pytest.fixture
def tenants(database, mosquitto):
    """acme (GW-0101) and globex (GW-SECRET-0101, devices named SECRET ...); acme's viewer and operator."""
    fleet = simulator.build_fleet(["acme"], 1, 2) + simulator.build_fleet(["globex"], 1, 2, serial_prefix="GW-SECRET")
    simulator.provision_fleet(database.engine(), fleet, {"acme": "Acme", "globex": "Globex"})
    database.execute("UPDATE devices SET name = 'SECRET ' || code WHERE account_id = (SELECT id FROM accounts"
                     " WHERE slug = 'globex')")
    app = create_app(settings_for(database, mosquitto))
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "acme-viewer", "viewer", ("acme",))
    ensure_test_user(engine, "acme-operator", "operator", ("acme",))
    app._setup_server()  # registers the pages' callbacks, as the first request would
    ids = {"account": database.scalar("SELECT id FROM accounts WHERE slug = 'globex'"),
           "gateway": database.scalar("SELECT id FROM gateways WHERE serial LIKE 'GW-SECRET%'"),
           "device": database.scalar("SELECT min(id) FROM devices WHERE name LIKE 'SECRET%'"),
           "acme": database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")}
    return app, ids


def fingerprint(database) -> list:
    """Everything a write could change."""
    return database.query("SELECT g.serial, g.name, g.active, g.version, a.auto_provision,"
                          " (SELECT array_agg((d.code, d.name, d.active, d.version) ORDER BY d.id) FROM devices d"
                          "   WHERE d.gateway_id = g.id)::text FROM gateways g JOIN accounts a ON a.id = g.account_id"
                          " ORDER BY g.serial")


def call(client, app, output_parts: tuple[str, ...], inputs: list, state: list, changed: str) -> str:
    """POST one callback (the one whose outputs name all output_parts) as the Dash renderer does."""
    key = next(k for k in app.callback_map if all(part in k for part in output_parts))
    outputs = []
    for part in key.strip(".").split("..."):
        component, _, prop = part.rpartition(".")
        outputs.append({"id": component, "property": prop})
    body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0], "inputs": inputs,
            "state": state, "changedPropIds": [changed]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]
    raw = response.get_data(as_text=True)
    return json.dumps(json.loads(raw), ensure_ascii=False) if raw else ""  # readable accents


def pattern(id_: dict, prop: str, value) -> list:
    return [{"id": id_, "property": prop, "value": value}]


def changed(id_: dict, prop: str = "n_clicks") -> str:
    return json.dumps(id_, sort_keys=True, separators=(",", ":")) + "." + prop


def crafted_requests(app, ids: dict):
    """(name, output part, inputs, state, changed prop) naming B's rows, for every writing or reading callback."""
    gw_pending = {"action": "delete", "id": ids["gateway"], "version": 1, "name": "x"}
    dev_pending = {"action": "delete", "id": ids["device"], "version": 1, "name": "x"}
    edit_gw = {"type": "gateways-edit", "action": "edit", "index": ids["gateway"]}
    edit_dev = {"type": "devices-edit", "action": "edit", "index": ids["device"]}
    act_dev = {"type": "devices-act", "action": "deactivate", "index": ids["device"]}
    fields = [{"id": {"type": "gateways-field", "name": n}, "property": "value", "value": v}
              for n, v in (("account_id", str(ids["account"])), ("serial", "GW-HACK"), ("name", "hacked"),
                           ("location", ""), ("inactivity_timeout_s", "60"))]
    flags = [{"id": {"type": "gateways-flag", "name": "active"}, "property": "value", "value": False}]
    provisioning = {"type": "gateways-provisioning", "account": ids["account"]}
    yield ("gw delete", ("gateways-confirm.is_open@", "gateways-alert"), [{"id": "gateways-confirm-ok", "property": "n_clicks", "value": 1},
           {"id": "gateways-confirm-cancel", "property": "n_clicks", "value": None}],
           [{"id": "gateways-pending", "property": "data", "value": gw_pending}], "gateways-confirm-ok.n_clicks")
    yield ("gw deactivate", ("gateways-confirm.is_open@", "gateways-alert"), [{"id": "gateways-confirm-ok", "property": "n_clicks",
                                                          "value": 1},
           {"id": "gateways-confirm-cancel", "property": "n_clicks", "value": None}],
           [{"id": "gateways-pending", "property": "data", "value": {**gw_pending, "action": "deactivate"}}],
           "gateways-confirm-ok.n_clicks")
    yield ("dev purge", ("devices-confirm.is_open@", "devices-alert"), [{"id": "devices-confirm-ok", "property": "n_clicks", "value": 1},
           {"id": "devices-confirm-cancel", "property": "n_clicks", "value": None}],
           [{"id": "devices-pending", "property": "data", "value": dev_pending},
            pattern({"type": "devices-purge", "index": 0}, "value", True)], "devices-confirm-ok.n_clicks")
    for editing in (None, {"id": ids["gateway"], "version": 1, "serial": "x"}):
        yield ("gw save", ("gateways-modal.is_open@", "gateways-alert"), [{"id": "gateways-save", "property": "n_clicks", "value": 1}],
               [fields, flags, {"id": "gateways-editing", "property": "data", "value": editing}],
               "gateways-save.n_clicks")
    yield ("gw open", ("gateways-editing.data",), [{"id": "gateways-new", "property": "n_clicks", "value": None},
           pattern(edit_gw, "n_clicks", 1), [], {"id": "gateways-cancel", "property": "n_clicks", "value": None}], [],
           changed(edit_gw))
    yield ("dev open", ("devices-editing.data",), [{"id": "devices-new", "property": "n_clicks", "value": None},
           pattern(edit_dev, "n_clicks", 1), {"id": "devices-cancel", "property": "n_clicks", "value": None}],
           [{"id": "devices-gateway", "property": "value", "value": ids["gateway"]}], changed(edit_dev))
    yield ("dev ask", ("devices-pending.data",), [pattern(act_dev, "n_clicks", 1)], [], changed(act_dev))
    yield ("provisioning", ("gateways-provisioning.children",), [pattern(provisioning, "value", False)], [],
           changed(provisioning, "value"))


@pytest.mark.parametrize("username", ["acme-viewer", "acme-operator"])
def test_fls001_crafted_callbacks_cannot_read_or_change_another_account(tenants, database, username):
    app, ids = tenants
    client = signed_in_client(app, username)
    before, texts = fingerprint(database), {}
    for name, output, inputs, state, prop in crafted_requests(app, ids):
        texts[name] = call(client, app, output, inputs, state, prop)
        assert "SECRET" not in texts[name] and "Globex" not in texts[name], (name, texts[name][:300])
    assert fingerprint(database) == before
    # Refused for the right reason, not by accident: no role to write, or B's rows are invisible.
    expected = "Seu perfil não permite" if username == "acme-viewer" else "Este registro não existe mais"
    assert expected in texts["gw delete"] and expected in texts["dev purge"] and expected in texts["provisioning"]
    assert database.scalar("SELECT count(*) FROM gateways WHERE serial = 'GW-HACK'") == 0


def test_fls002_a_viewer_cannot_write_even_in_its_own_account(tenants, database):
    app, ids = tenants
    client = signed_in_client(app, "acme-viewer")
    own = database.scalar("SELECT id FROM gateways WHERE serial = 'GW-0101'")
    text = call(client, app, ("gateways-confirm.is_open@", "gateways-alert"),
                [{"id": "gateways-confirm-ok", "property": "n_clicks", "value": 1},
                 {"id": "gateways-confirm-cancel", "property": "n_clicks", "value": None}],
                [{"id": "gateways-pending", "property": "data",
                  "value": {"action": "deactivate", "id": own, "version": 1, "name": "GW-0101"}}],
                "gateways-confirm-ok.n_clicks")
    assert "Seu perfil não permite esta alteração." in text
    assert database.scalar("SELECT active FROM gateways WHERE id = %s", (own,)) is True
    # An operator of the account may.
    operator = signed_in_client(app, "acme-operator")
    text = call(operator, app, ("gateways-confirm.is_open@", "gateways-alert"),
                [{"id": "gateways-confirm-ok", "property": "n_clicks", "value": 1},
                 {"id": "gateways-confirm-cancel", "property": "n_clicks", "value": None}],
                [{"id": "gateways-pending", "property": "data",
                  "value": {"action": "deactivate", "id": own, "version": 1, "name": "GW-0101"}}],
                "gateways-confirm-ok.n_clicks")
    assert "Gateway GW-0101 desativado." in text
    assert database.scalar("SELECT active FROM gateways WHERE id = %s", (own,)) is False
    # Recorded in the audit log, in the same transaction, with the tenant taken from the database.
    assert database.query("SELECT username, action, entity, entity_id, account_id, before->>'serial' FROM audit_log"
                          " WHERE entity = 'gateway'") == [("acme-operator", "deactivate", "gateway", str(own),
                                                            ids["acme"], "GW-0101")]
