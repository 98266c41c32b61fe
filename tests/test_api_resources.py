"""/api/v1 fleet resources through Flask's test client against a real PostgreSQL: the same rules as the pages
(roles, accounts, versions, audit), every error in the one JSON body, bulk CSV all-or-nothing."""
from __future__ import annotations

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.explorer_data import api_token
from tests.helpers import settings_for

ACCOUNTS = {"acme": "Acme", "globex": "Globex"}


@pytest.fixture
def fleet_api(database, mosquitto):
    """(client, headers by role, app): acme GW-0101 and globex GW-0201 with 2 devices each; acme's viewer and
    operator, and an admin."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 2), ACCOUNTS)
    app = create_app(settings_for(database, mosquitto))
    headers = {"admin": api_token(app, "res-admin"), "operator": api_token(app, "res-operator", "operator", ("acme",)),
               "viewer": api_token(app, "res-viewer", "viewer", ("acme",))}
    for value in headers.values():
        value["Accept-Language"] = "en"
    return app.server.test_client(), headers, app


def error_of(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    body = response.json
    assert set(body) == {"error"} and {"code", "message", "parameter"} <= set(body["error"])
    return body["error"]


def audit_rows(database, entity: str) -> list:
    return database.query("SELECT username, action, entity_id FROM audit_log WHERE entity = %s ORDER BY id",
                          (entity,))


def test_api100_gateways_list_filters_and_scope(fleet_api):
    client, headers, _ = fleet_api
    body = client.get("/api/v1/gateways", headers=headers["viewer"]).json
    assert [g["serial"] for g in body["data"]] == ["GW-0101"] and body["total"] == 1
    gateway = body["data"][0]
    assert gateway["account"] == "acme" and gateway["status"] == "never" and gateway["offline_reason"] is None
    assert {"status_since", "last_seen_at", "inactivity_timeout_s", "version", "devices"} <= set(gateway)
    everything = client.get("/api/v1/gateways", headers=headers["admin"], query_string={"limit": 1}).json
    assert everything["total"] == 2 and len(everything["data"]) == 1 and everything["next_cursor"]
    following = client.get("/api/v1/gateways", headers=headers["admin"],
                           query_string={"limit": 1, "cursor": everything["next_cursor"]}).json
    assert following["data"][0]["serial"] == "GW-0201" and following["next_cursor"] is None
    assert client.get("/api/v1/gateways", headers=headers["admin"],
                      query_string={"limit": 1, "page": 2}).json["data"][0]["serial"] == "GW-0201"
    filtered = client.get("/api/v1/gateways", headers=headers["admin"], query_string={"account": "globex"}).json
    assert [g["serial"] for g in filtered["data"]] == ["GW-0201"]
    assert client.get("/api/v1/gateways", headers=headers["viewer"],
                      query_string={"account": "globex"}).json["total"] == 0
    assert client.get("/api/v1/gateways", headers=headers["admin"],
                      query_string={"search": "0201", "status": "never"}).json["total"] == 1
    for params, name in (({"limit": 501}, "limit"), ({"status": "asleep"}, "status"), ({"cursor": "zz"}, "cursor")):
        assert error_of(client.get("/api/v1/gateways", headers=headers["admin"], query_string=params),
                        400)["parameter"] == name
    assert error_of(client.get("/api/v1/gateways/GW-0201", headers=headers["viewer"]), 404)["code"] == "not_found"


def test_api101_gateway_create_edit_versions_and_audit(fleet_api, database):
    client, headers, _ = fleet_api
    body = {"account": "acme", "serial": "GW-NEW-1", "name": "New", "location": "Roof", "inactivity_timeout_s": 300}
    created = client.post("/api/v1/gateways", json=body, headers=headers["operator"])
    assert created.status_code == 201, created.json
    assert created.headers["ETag"] == f'"{created.json["version"]}"'
    assert created.headers["Location"] == "/api/v1/gateways/GW-NEW-1"
    again = error_of(client.post("/api/v1/gateways", json=body, headers=headers["operator"]), 422)
    assert again["fields"] == [{"field": "serial", "code": "serial_taken",
                                "message": "A gateway with this serial already exists."}]
    foreign = error_of(client.post("/api/v1/gateways", json={**body, "serial": "GW-X", "account": "globex"},
                                   headers=headers["operator"]), 422)
    assert foreign["parameter"] == "account" and foreign["fields"][0]["code"] == "choice"
    etag = created.headers["ETag"]
    patched = client.patch("/api/v1/gateways/GW-NEW-1", json={"name": "Renamed"},
                           headers={**headers["operator"], "If-Match": etag})
    assert patched.status_code == 200 and patched.json["name"] == "Renamed" and patched.headers["ETag"] != etag
    stale = error_of(client.patch("/api/v1/gateways/GW-NEW-1", json={"name": "Lost"},
                                  headers={**headers["operator"], "If-Match": etag}), 412)
    assert stale["code"] == "version_mismatch" and "saved" in stale["message"].lower() or stale["message"]
    bad = error_of(client.patch("/api/v1/gateways/GW-NEW-1", json={"inactivity_timeout_s": 5},
                                headers=headers["operator"]), 422)
    assert bad["fields"] == [{"field": "inactivity_timeout_s", "code": "range",
                              "message": "Enter a value between 10 and 86,400."}]
    off = client.post("/api/v1/gateways/GW-NEW-1/deactivate", headers=headers["operator"])
    assert off.status_code == 200 and off.json["active"] is False and off.json["status"] == "inactive"
    assert client.post("/api/v1/gateways/GW-NEW-1/activate", headers=headers["operator"]).json["active"] is True
    deleted = client.delete("/api/v1/gateways/GW-NEW-1", headers=headers["operator"])
    assert deleted.status_code == 200 and deleted.json["done"] == "deleted"
    assert [row[1] for row in audit_rows(database, "gateway")] == ["create", "update", "deactivate", "activate",
                                                                   "delete"]
    assert {row[0] for row in audit_rows(database, "gateway")} == {"res-operator"}


def test_api102_viewer_writes_are_403_and_change_nothing(fleet_api, database):
    client, headers, _ = fleet_api
    viewer = headers["viewer"]
    before = database.query("SELECT serial, name, version FROM gateways ORDER BY serial")
    device = database.scalar("SELECT min(d.id) FROM devices d JOIN accounts a ON a.id = d.account_id"
                             " WHERE a.slug = 'acme'")
    writes = [("post", "/api/v1/gateways", {"account": "acme", "serial": "GW-V", "name": "V",
                                            "inactivity_timeout_s": 300}),
              ("patch", "/api/v1/gateways/GW-0101", {"name": "x"}), ("delete", "/api/v1/gateways/GW-0101", None),
              ("post", "/api/v1/gateways/GW-0101/deactivate", None),
              ("post", "/api/v1/devices", {"gateway": "GW-0101", "code": "V-1", "name": "V"}),
              ("patch", f"/api/v1/devices/{device}", {"name": "x"}), ("delete", f"/api/v1/devices/{device}", None),
              ("patch", "/api/v1/accounts/acme", {"auto_provision": False}),
              ("post", "/api/v1/accounts", {"slug": "new-one", "name": "New"}),
              ("get", "/api/v1/users", None), ("post", "/api/v1/users", {"username": "zed", "password": "x" * 12})]
    for method, path, body in writes:
        kwargs = {"json": body} if body is not None else {}
        error = error_of(getattr(client, method)(path, headers=viewer, **kwargs), 403)
        assert error["code"] == "forbidden", (method, path)
    response = client.post("/api/v1/devices/import", data=b"gateway,code,name\nGW-0101,V-2,V\n", headers=viewer,
                           content_type="text/csv")
    assert error_of(response, 403)["code"] == "forbidden"
    assert database.query("SELECT serial, name, version FROM gateways ORDER BY serial") == before
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity IN ('gateway', 'device', 'account')") == 0


def test_api103_operator_cannot_reach_another_account(fleet_api, database):
    client, headers, _ = fleet_api
    operator = headers["operator"]
    globex_device = database.scalar("SELECT min(d.id) FROM devices d JOIN accounts a ON a.id = d.account_id"
                                    " WHERE a.slug = 'globex'")
    for method, path, body in (("get", "/api/v1/gateways/GW-0201", None),
                               ("patch", "/api/v1/gateways/GW-0201", {"name": "x"}),
                               ("delete", "/api/v1/gateways/GW-0201", None),
                               ("get", f"/api/v1/devices/{globex_device}", None),
                               ("patch", f"/api/v1/devices/{globex_device}", {"name": "x"}),
                               ("get", "/api/v1/presence/GW-0201", None),
                               ("patch", "/api/v1/accounts/globex", {"auto_provision": False})):
        kwargs = {"json": body} if body is not None else {}
        assert error_of(getattr(client, method)(path, headers=operator, **kwargs), 404)["code"] == "not_found"
    created = error_of(client.post("/api/v1/devices", json={"gateway": "GW-0201", "code": "X", "name": "X"},
                                   headers=operator), 422)
    assert created["parameter"] == "gateway"
    devices = client.get("/api/v1/devices", headers=operator, query_string={"limit": 500}).json
    assert {d["gateway"] for d in devices["data"]} == {"GW-0101"}
    assert [a["slug"] for a in client.get("/api/v1/accounts", headers=operator).json["data"]] == ["acme"]
