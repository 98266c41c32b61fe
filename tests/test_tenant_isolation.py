"""A viewer of account A never sees account B, whatever a crafted request names.

Every callback in the app's callback map and every /api/v1 route is called with B's ids, codes and
periods; no response may contain anything of B. New pages are covered without editing this file.
"""
from __future__ import annotations

import itertools
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.conftest import TEST_PASSWORD, ensure_test_user
from tests.helpers import settings_for

SECRET_VALUE = 987_654.125  # a reading only B has; searched for in every response, in both number formats
SECRET_MARKERS = ("Globex", "GLOBEX", "SECRET", "987654", "987.654", "987,654")


@pytest.fixture
def two_tenants(database, mosquitto):
    fleet = simulator.build_fleet(["acme"], 1, 3) + simulator.build_fleet(["globex"], 1, 3, serial_prefix="GW-SECRET")
    simulator.provision_fleet(database.engine(), fleet, {"acme": "Acme", "globex": "Globex Secreta"})
    now = datetime.now(timezone.utc)
    simulator.backfill(database.dsn, "America/Sao_Paulo", fleet, now - timedelta(days=40), now, timedelta(hours=4),
                       progress=False)
    database.execute("UPDATE readings SET value = %s WHERE ts = (SELECT max(ts) FROM readings)"
                     " AND gateway_id = (SELECT id FROM gateways WHERE serial LIKE 'GW-SECRET%%')", (SECRET_VALUE,))
    database.execute("UPDATE devices SET name = 'SECRET ' || code WHERE account_id = (SELECT id FROM accounts"
                     " WHERE slug = 'globex')")
    # Every route is walked many times: the rate limit has its own tests (test_sec02x).
    app = create_app(settings_for(database, mosquitto, TDS_API_RATE_LIMIT="100000/minute"))
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "acme-viewer", "viewer", ("acme",))
    ids = {name: database.query(sql)[0][0] for name, sql in {
        "account": "SELECT id FROM accounts WHERE slug = 'globex'",
        "gateway": "SELECT id FROM gateways WHERE serial LIKE 'GW-SECRET%'",
        "device": "SELECT min(d.id) FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.slug = 'globex'",
    }.items()}
    return app, ids


def signed_in_client(app, username: str):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf": token})
    assert response.status_code == 302
    return client


def candidate_values(prop: str, ids: dict) -> list:
    """Values a crafted request might send for a property, each naming B."""
    if prop in ("n_clicks", "n_intervals", "n_submit"):
        return [1]
    if prop == "pathname":
        return [f"/device/{ids['device']}", f"/gateway/{ids['gateway']}", "/explorer"]
    if prop == "search":
        return [f"?device={ids['device']}&gateway={ids['gateway']}&account={ids['account']}"]
    if prop in ("start_date", "end_date", "date"):
        return [(datetime.now(timezone.utc) - timedelta(days=30)).date().isoformat()]
    if prop in ("clickData", "selectedData"):
        return [{"points": [{"customdata": [ids["device"]], "x": "2026-11-01"}]}]
    if prop == "getRowsRequest":  # a grid's page (the explorer's totals, the overview's latest readings)
        return [{"startRow": 0, "endRow": 50}]
    if prop == "search_value":
        return ["GW", ""]
    if prop in ("selectedRows", "rowData"):
        return [[{"id": ids["device"], "device_id": ids["device"], "gateway_id": ids["gateway"]}]]
    return [ids["account"], ids["gateway"], ids["device"], [ids["account"]], [ids["gateway"]], [ids["device"]]]


def callback_bodies(app, ids: dict):
    for output, spec in app.callback_map.items():
        inputs = spec["inputs"]
        if any(isinstance(i["id"], dict) or "{" in str(i["id"]) for i in inputs + spec.get("state", [])):
            continue  # pattern-matching ids are exercised by their page's own tests
        choices = [candidate_values(i["property"], ids) for i in inputs]
        for values in itertools.islice(itertools.product(*choices), 12):
            yield output, {
                "output": output, "outputs": _outputs(output),
                "inputs": [{**i, "value": v} for i, v in zip(inputs, values)],
                "state": [{**s, "value": candidate_values(s["property"], ids)[0]} for s in spec.get("state", [])],
                "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
            }


def _outputs(output: str):
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    specs = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        specs.append({"id": component, "property": prop})
    return specs if output.startswith("..") else specs[0]


def assert_no_secret(text: str, where: str) -> None:
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{where} leaked {marker!r}: {text[:300]}"


def test_iso001_every_callback_refuses_another_accounts_data(two_tenants):
    app, ids = two_tenants
    client = signed_in_client(app, "acme-viewer")
    called = 0
    for output, body in callback_bodies(app, ids):
        response = client.post("/_dash-update-component", json=body)
        assert_no_secret(response.get_data(as_text=True), output)
        called += 1
    assert called >= len([o for o in app.callback_map]) // 2  # most callbacks were actually exercised


def test_iso002_every_page_layout_and_api_route_refuses_another_accounts_data(two_tenants):
    app, ids = two_tenants
    client = signed_in_client(app, "acme-viewer")
    for rule in app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for query in (f"device={ids['device']}", f"gateway={ids['gateway']}", f"account={ids['account']}"):
            path = re.sub(r"<[^>]+>", str(ids["device"]), rule.rule)
            start = (datetime.now(timezone.utc) - timedelta(days=30)).date().isoformat()
            for extra in ("", f"&from={start}&to={datetime.now(timezone.utc).date().isoformat()}&format=csv"):
                response = client.get(f"{path}?{query}{extra}")
                # Lists (/api/v1/gateways, /devices, /events, …) answer 200 with nothing of the other account.
                assert response.status_code in (200, 400, 403, 404), (path, query, response.status_code)
                assert_no_secret(response.get_data(as_text=True), path)
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert_no_secret(layout, "layout")


def test_iso003_the_viewer_still_sees_its_own_account(two_tenants):
    """The isolation tests above must not pass merely because nothing is ever shown."""
    app, _ = two_tenants
    client = signed_in_client(app, "acme-viewer")
    body = {"output": "..overview-store.data...overview-updated.children...overview-alert.children..",
            "outputs": [{"id": "overview-store", "property": "data"}, {"id": "overview-updated", "property": "children"},
                        {"id": "overview-alert", "property": "children"}],
            "inputs": [{"id": "overview-interval", "property": "n_intervals", "value": 1},
                       {"id": "overview-account", "property": "value", "value": None},
                       {"id": "overview-gateway", "property": "value", "value": None},
                       {"id": "overview-metric", "property": "value", "value": "energy_kwh"}],
            "changedPropIds": [], "state": []}
    store = client.post("/_dash-update-component", json=body).get_json()["response"]["overview-store"]["data"]
    assert store["cards"]["gateways_total"] == 1 and store["cards"]["devices_total"] == 3
    assert_no_secret(json.dumps(store), "overview of acme")
    table = {"output": "overview-latest-table.getRowsResponse",
             "outputs": {"id": "overview-latest-table", "property": "getRowsResponse"},
             "inputs": [{"id": "overview-latest-table", "property": "getRowsRequest",
                         "value": {"startRow": 0, "endRow": 10}}],
             "state": [{"id": "overview-account", "property": "value", "value": None},
                       {"id": "overview-gateway", "property": "value", "value": None},
                       {"id": "overview-metric", "property": "value", "value": "energy_kwh"},
                       {"id": "overview-interval", "property": "n_intervals", "value": 1}],
             "changedPropIds": ["overview-latest-table.getRowsRequest"]}
    latest = client.post("/_dash-update-component", json=table).get_json()["response"]["overview-latest-table"]
    rows = latest["getRowsResponse"]["rowData"]
    assert rows and {row["gateway"] for row in rows} == {"GW-0101"}
