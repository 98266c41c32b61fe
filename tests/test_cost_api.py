"""/api/v1/cost, /api/v1/consumption?cost=true and /api/v1/tariffs against the real app with API tokens.

Money must leave exactly as the service's Decimal (format 'f'), never through a float.
"""
from __future__ import annotations

from datetime import date

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import service
from tests.explorer_data import api_token
from tests.tariff_reference import VERSIONS
from tests.test_tariffs_db import METRIC, Fleet, at, sample_usage, version_input

NOVEMBER = {"from": "2026-11-01", "to": "2026-12-01"}


@pytest.fixture
def api(app, client, database):
    """acme (with the sample tariff and November/December usage) and globex (usage, no tariff); tokens."""
    fleet = Fleet(database)
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.tariff(fleet.acme)
    tokens = {"admin": api_token(app, "api-admin"),
              "operator": api_token(app, "acme-operator", "operator", ("acme",)),
              "viewer": api_token(app, "acme-viewer", "viewer", ("acme",)),
              "globex": api_token(app, "globex-operator", "operator", ("globex",))}
    return client, tokens, fleet


def test_capi001_cost_equals_the_service_decimal_per_bucket_and_component(api):
    client, tokens, fleet = api
    response = client.get("/api/v1/cost", headers=tokens["viewer"],
                          query_string={"account": "acme", "metric": METRIC, "granularity": "day", **NOVEMBER})
    assert response.status_code == 200, response.json
    body = response.json
    want = fleet.breakdown(at(date(2026, 11, 1)), at(date(2026, 12, 1)), "day")
    assert body["total"] == format(want.total, "f") and body["currency"] == "BRL" and body["unit"] == want.unit
    assert body["count"] == len(want.buckets) == 30
    first, expected = body["buckets"][0], want.buckets[0]
    assert first["cost"] == format(expected.cost, "f") and first["quantity"] == format(expected.quantity, "f")
    assert [(c["component"], c["label"], c["cost"]) for c in first["components"]] == [
        (c.component, c.label, format(c.cost, "f")) for c in expected.components]
    kinds = {c["component"] for b in body["buckets"] for c in b["components"]}
    assert {"energy", "tier", "surcharge", "fixed_fee", "tax"} <= kinds
    assert all(isinstance(b["cost"], str) for b in body["buckets"])


def test_capi002_consumption_with_cost_adds_exact_cost_and_currency_or_null(api):
    client, tokens, fleet = api
    ids = fleet.devices["acme"][:1] + fleet.devices["globex"][:1]
    response = client.get("/api/v1/consumption", headers=tokens["admin"], query_string={
        "device": ",".join(map(str, ids)), "metric": METRIC, "from": "2026-11-03", "to": "2026-11-05",
        "granularity": "hour", "cost": "true"})
    assert response.status_code == 200, response.json
    rows = response.json["data"]
    with session_scope(fleet.engine) as conn:
        want = service.consumption_with_cost(conn, ALL_ACCOUNTS, fleet.acme, METRIC, at(date(2026, 11, 3)),
                                             at(date(2026, 11, 5)), "hour", device_ids=ids[:1])
    acme = [r for r in rows if r["device_id"] == ids[0]]
    assert acme and [r["cost"] for r in acme] == [format(w.cost, "f") for w in want if w.quantity]
    assert {r["currency"] for r in acme} == {"BRL"}
    globex = [r for r in rows if r["device_id"] == ids[1]]
    assert globex and {(r["cost"], r["currency"]) for r in globex} == {(None, None)}
    plain = client.get("/api/v1/consumption", headers=tokens["admin"], query_string={
        "device": ids[0], "from": "2026-11-03", "to": "2026-11-04", "granularity": "hour"}).json["data"]
    assert "cost" not in plain[0]
    csv = client.get("/api/v1/consumption", headers=tokens["admin"], query_string={
        "device": ids[0], "metric": METRIC, "from": "2026-11-03", "to": "2026-11-04", "granularity": "hour",
        "cost": "1", "format": "csv"}).get_data(as_text=True)
    assert csv.splitlines()[0].endswith(",cost,currency")
    bad = client.get("/api/v1/consumption", headers=tokens["admin"], query_string={
        "device": ids[0], "from": "2026-11-03", "to": "2026-11-04", "cost": "maybe"})
    assert bad.status_code == 400 and bad.json["error"]["parameter"] == "cost"


@pytest.mark.parametrize("query, status, parameter", [
    ({"metric": METRIC, **NOVEMBER}, 404, None),  # no account given: no such account
    ({"account": "acme", **NOVEMBER}, 400, "metric"),
    ({"account": "acme", "metric": METRIC, "from": "2026-11-01"}, 400, "to"),
    ({"account": "acme", "metric": METRIC, "from": "2026-12-01", "to": "2026-11-01"}, 400, "from"),
    ({"account": "acme", "metric": METRIC, "granularity": "week", **NOVEMBER}, 400, "granularity"),
    ({"account": "acme", "metric": METRIC, "granularity": "hour", "from": "2026-01-01", "to": "2026-12-01"}, 400, "to"),
    ({"account": "acme", "metric": "nonsense", **NOVEMBER}, 400, "metric"),
    ({"account": "globex", "metric": METRIC, **NOVEMBER}, 404, None),  # outside the viewer's scope
])
def test_capi003_bad_cost_queries_name_the_parameter(api, query, status, parameter):
    client, tokens, _ = api
    response = client.get("/api/v1/cost", headers=tokens["viewer"], query_string=query)
    assert response.status_code == status, response.json
    assert response.json["error"]["parameter"] == parameter


def test_capi004_cost_without_a_tariff_is_a_404(api):
    client, tokens, _ = api
    response = client.get("/api/v1/cost", headers=tokens["globex"],
                          query_string={"account": "globex", "metric": METRIC, **NOVEMBER})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_capi005_tariff_crud_roles_scope_and_audit(api):
    client, tokens, fleet = api
    created = client.post("/api/v1/tariffs", headers=tokens["globex"],
                          json={"account": "globex", "metric": METRIC, "name": "Convencional"})
    assert created.status_code == 201, created.json
    tariff_id = created.json["id"]
    assert created.headers["Location"] == f"/api/v1/tariffs/{tariff_id}" and created.json["versions"] == []
    assert client.post("/api/v1/tariffs", headers=tokens["viewer"],
                       json={"account": "acme", "metric": METRIC, "name": "x"}).status_code == 403
    foreign = client.post("/api/v1/tariffs", headers=tokens["operator"],
                          json={"account": "globex", "metric": "water_m3", "name": "x"})
    assert foreign.status_code == 422 and foreign.json["error"]["parameter"] == "account"
    twice = client.post("/api/v1/tariffs", headers=tokens["globex"],
                        json={"account": "globex", "metric": METRIC, "name": "again"})
    assert twice.status_code == 422 and twice.json["error"]["parameter"] == "metric"
    assert client.get(f"/api/v1/tariffs/{tariff_id}", headers=tokens["viewer"]).status_code == 404
    assert client.get("/api/v1/tariffs/999999999", headers=tokens["admin"]).status_code == 404
    version = version_input(VERSIONS[0])
    saved = client.post(f"/api/v1/tariffs/{tariff_id}/versions", headers=tokens["globex"], json=version)
    assert saved.status_code == 201 and saved.json["fixed_fee"] == "12.34"
    assert saved.json["periods"][0]["windows"][0] == {"day_type": "working", "start": 18, "end": 21}
    patched = client.patch(f"/api/v1/tariffs/{tariff_id}", headers=tokens["globex"], json={"holiday_subdivision": "rj"})
    assert patched.status_code == 200 and (patched.json["name"], patched.json["holiday_subdivision"]) == (
        "Convencional", "RJ")
    put = client.put(f"/api/v1/tariffs/{tariff_id}/surcharges/2026-11", headers=tokens["globex"],
                     json={"value": "0,01885", "label": "amarela"})
    assert put.status_code == 200 and put.json == {"month": "2026-11-01", "value": "0.01885", "label": "amarela"}
    whole = client.get(f"/api/v1/tariffs/{tariff_id}", headers=tokens["globex"]).json
    assert len(whole["versions"]) == 1 and whole["surcharges"][0]["value"] == "0.01885"
    listed = client.get("/api/v1/tariffs", headers=tokens["admin"], query_string={"metric": METRIC}).json
    assert sorted(t["account"] for t in listed["data"]) == ["acme", "globex"] and "versions" not in listed["data"][0]
    assert [t["account"] for t in client.get("/api/v1/tariffs", headers=tokens["viewer"]).json["data"]] == ["acme"]
    assert client.delete(f"/api/v1/tariffs/{tariff_id}", headers=tokens["operator"]).status_code == 404
    assert client.delete(f"/api/v1/tariffs/{tariff_id}", headers=tokens["globex"]).status_code == 204
    audit = fleet.database.query("SELECT username, action, entity FROM audit_log WHERE username = 'globex-operator'"
                                 " AND entity LIKE 'tariff%'"
                                 " ORDER BY id")
    assert [(a, e) for _, a, e in audit] == [("create", "tariff"), ("create", "tariff_version"),
                                             ("update", "tariff"), ("create", "tariff_surcharge"),
                                             ("delete", "tariff")]


def test_capi006_bad_bodies_get_a_422_naming_the_field(api):
    client, tokens, _ = api
    acme = client.get("/api/v1/tariffs", headers=tokens["viewer"], query_string={"account": "acme"}).json["data"][0]
    url = f"/api/v1/tariffs/{acme['id']}"
    version = version_input(VERSIONS[0])
    version["periods"][0]["price"] = "-1"
    bad = client.post(f"{url}/versions", headers=tokens["operator"], json=version)
    assert bad.status_code == 422 and bad.json["error"]["parameter"] == "periods[0].price"
    assert client.post(f"{url}/versions", headers=tokens["viewer"], json=version_input(VERSIONS[0])).status_code == 403
    month = client.put(f"{url}/surcharges/2026-13", headers=tokens["operator"], json={"value": "1"})
    assert month.status_code == 422 and month.json["error"]["parameter"] == "month"
    value = client.put(f"{url}/surcharges/2026-11", headers=tokens["operator"], json={"value": "1.000.000"})
    assert value.status_code == 422 and value.json["error"]["parameter"] == "value"
    unknown = client.patch(url, headers=tokens["operator"], json={"colour": "red"})
    assert unknown.status_code == 400 and unknown.json["error"]["parameter"] == "colour"
    empty = client.patch(url, headers=tokens["operator"], json={"name": " "})
    assert empty.status_code == 422 and empty.json["error"]["parameter"] == "name"
    not_json = client.post("/api/v1/tariffs", headers=tokens["operator"], data="x")
    assert not_json.status_code == 400
    unknown_account = client.get("/api/v1/tariffs", headers=tokens["viewer"], query_string={"account": "globex"})
    assert unknown_account.status_code == 404
