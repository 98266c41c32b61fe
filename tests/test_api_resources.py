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
    return schema_checked(app.server.test_client()), headers, app


def schema_checked(client):
    """The test client, every /api/v1 answer of which is validated against docs/openapi.yaml on the way."""
    from pathlib import Path

    import schemathesis

    schema = schemathesis.openapi.from_path(Path(__file__).parent.parent / "docs" / "openapi.yaml")
    original = client.open

    def open_checked(*args, **kwargs):
        response = original(*args, **kwargs)
        operation = schema.find_operation_by_path(response.request.method, response.request.path)
        if operation is not None:
            operation.validate_response(response)
        return response

    client.open = open_checked
    return client


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


def add_readings(database, device_id: int, count: int = 3) -> None:
    """A few stored readings (and the device_metrics row the writer would create) for one device."""
    metric = database.scalar("SELECT id FROM metrics WHERE name = 'energy_kwh'")
    if metric is None:
        metric = database.scalar("INSERT INTO metrics (name, unit) VALUES ('energy_kwh', 'kWh') RETURNING id")
    database.execute("INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit) VALUES (%s, %s, 'counter',"
                     " 'kWh') ON CONFLICT DO NOTHING", (device_id, metric))
    gateway, account = database.query("SELECT gateway_id, account_id FROM devices WHERE id = %s", (device_id,))[0]
    for index in range(count):
        database.execute("INSERT INTO readings (device_id, metric_id, gateway_id, account_id, ts, value)"
                         " VALUES (%s, %s, %s, %s, now() - %s * interval '1 hour', %s)",
                         (device_id, metric, gateway, account, count - index, 100 + index))


def test_api104_devices_crud_metrics_etag_and_purge(fleet_api, database):
    client, headers, _ = fleet_api
    operator = headers["operator"]
    created = client.post("/api/v1/devices", json={"gateway": "GW-0101", "code": "NEW-1", "name": "New meter",
                                                   "kind": "energy_meter"}, headers=operator)
    assert created.status_code == 201, created.json
    device = created.json
    assert device["gateway"] == "GW-0101" and device["metrics"] == [] and device["status"] == "never"
    taken = error_of(client.post("/api/v1/devices", json={"gateway": "GW-0101", "code": "NEW-1", "name": "x"},
                                 headers=operator), 422)
    assert taken["fields"][0] == {"field": "code", "code": "code_taken",
                                  "message": "This gateway already has a device with this code."}
    add_readings(database, device["id"])
    read = client.get(f"/api/v1/devices/{device['id']}", headers=operator)
    assert read.json["metrics"][0]["metric"] == "energy_kwh" and read.headers["ETag"] == f'"{read.json["version"]}"'
    assert read.json["last_reading_at"] is not None and created.json["last_reading_at"] is None
    settings = {"energy_kwh": {"rollover_value": 99999.9, "usual_interval_s": 60}}
    patched = client.patch(f"/api/v1/devices/{device['id']}", json={"name": "Renamed", "metrics": settings},
                           headers={**operator, "If-Match": read.headers["ETag"]})
    assert patched.status_code == 200, patched.json
    assert patched.json["metrics"][0]["rollover_value"] == 99999.9 and patched.json["name"] == "Renamed"
    stale = client.patch(f"/api/v1/devices/{device['id']}", json={"name": "Lost"},
                         headers={**operator, "If-Match": read.headers["ETag"]})
    assert error_of(stale, 412)["code"] == "version_mismatch"
    gauge = error_of(client.patch(f"/api/v1/devices/{device['id']}",
                                  json={"metrics": {"energy_kwh": {"meter_kind": "gauge"}}}, headers=operator), 422)
    assert gauge["fields"] == [{"field": "metrics.energy_kwh.rollover_value", "code": "rollover_counter_only",
                                "message": "Only counters have a rollover value."}]
    kept = client.delete(f"/api/v1/devices/{device['id']}", headers=operator).json
    assert kept["done"] == "deactivated"
    assert database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (device["id"],)) == 3
    purged = client.delete(f"/api/v1/devices/{device['id']}", headers=operator, query_string={"purge": "true"}).json
    assert purged["done"] == "purged" and purged["readings"] == 3
    assert database.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (device["id"],)) == 0
    assert error_of(client.get(f"/api/v1/devices/{device['id']}", headers=operator), 404)["code"] == "not_found"
    assert [row[1] for row in audit_rows(database, "device")] == ["create", "update", "deactivate", "purge"]
    assert error_of(client.get("/api/v1/devices/-1", headers=operator), 404)["code"] == "not_found"
    assert error_of(client.delete("/api/v1/gateways/GW-0101", headers=operator), 409)["code"] == "has_readings" \
        if database.scalar("SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id"
                           " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = 'GW-0101'") else True


DEVICES_CSV = "gateway;code;name;kind;active\n" + "".join(f"GW-0101;IMP-{n:03d};Meter {n};energy_meter;true\n"
                                                          for n in range(1, 31))


def test_api105_csv_import_all_or_nothing_with_a_row_report(fleet_api, database):
    client, headers, _ = fleet_api
    operator = {**headers["operator"], "Content-Type": "text/csv"}
    dry = client.post("/api/v1/devices/import?dry_run=true", data=DEVICES_CSV.encode(), headers=operator)
    assert dry.status_code == 200 and dry.json["created"] == 30 and dry.json["dry_run"] is True
    assert database.scalar("SELECT count(*) FROM devices WHERE code LIKE 'IMP-%'") == 0
    bad = DEVICES_CSV + "GW-0101;IMP-001;Twice;energy_meter;true\nGW-0201;IMP-900;Foreign;meter;yes\n" \
                        "GW-0101;bad code;X;toaster;maybe\n"
    report = error_of(client.post("/api/v1/devices/import", data=bad.encode(), headers=operator), 422)
    assert report["code"] == "invalid_rows"
    assert report["rows"] == [
        {"row": 32, "column": "code", "code": "code_taken", "reason": "This gateway already has a device with this code."},
        {"row": 33, "column": "gateway", "code": "choice", "reason": "Choose an option from the list."},
        {"row": 34, "column": "active", "code": "choice", "reason": "Choose an option from the list."}]
    assert database.scalar("SELECT count(*) FROM devices WHERE code LIKE 'IMP-%'") == 0
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity = 'device'") == 0
    done = client.post("/api/v1/devices/import", data=DEVICES_CSV.replace(";", ",").encode(), headers=operator)
    assert done.status_code == 201 and done.json["created"] == 30 and len(done.json["ids"]) == 30
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity = 'device' AND action = 'create'") == 30
    gateways = "account,serial,name,location,inactivity_timeout_s,active\nacme,GW-IMP-1,One,,300,true\n" \
               "acme,GW-IMP-2,Two,Roof,5,false\n"
    rows = error_of(client.post("/api/v1/gateways/import", data=gateways.encode(), headers=operator), 422)["rows"]
    assert rows == [{"row": 3, "column": "inactivity_timeout_s", "code": "range",
                     "reason": "Enter a value between 10 and 86,400."}]
    fixed = client.post("/api/v1/gateways/import", data=gateways.replace(",5,", ",600,").encode(), headers=operator)
    assert fixed.status_code == 201 and fixed.json["created"] == 2
    for data, fragment in ((b"\xff\xfe", "UTF-8"), (b"serial,name\n", "Missing required columns"),
                           (b"account,serial,name,inactivity_timeout_s,colour\n", "Unknown column")):
        problem = error_of(client.post("/api/v1/gateways/import", data=data, headers=operator), 400)
        assert fragment in problem["message"] and problem["code"] == "invalid_file"


def test_api106_bodies_over_the_limit_and_malformed_are_refused(fleet_api):
    client, headers, _ = fleet_api
    operator = headers["operator"]
    huge = client.post("/api/v1/gateways", data=b"{" + b" " * (70 * 1024) + b"}", headers=operator,
                       content_type="application/json")
    assert error_of(huge, 413)["code"] == "body_too_large"
    csv_huge = client.post("/api/v1/devices/import", data=b"gateway,code,name\n" + b"x" * (3 * 1024 * 1024),
                           headers=operator, content_type="text/csv")
    assert error_of(csv_huge, 413)["code"] == "body_too_large"
    for data, content_type in ((b"[1]", "application/json"), (b"{", "application/json"), (b"{}", "text/plain")):
        assert error_of(client.post("/api/v1/gateways", data=data, headers=operator, content_type=content_type),
                        400)["code"] == "invalid_body"
    unknown = error_of(client.post("/api/v1/gateways", json={"colour": "red"}, headers=operator), 400)
    assert unknown["parameter"] == "colour"
    assert error_of(client.get("/api/v1/nothing/here", headers=operator), 404)["code"] == "not_found"
    assert error_of(client.get("/api/v1/gateways", headers={}), 401)["code"] == "unauthenticated"


def test_api107_accounts_users_and_tokens(fleet_api, database):
    client, headers, _ = fleet_api
    admin, operator = headers["admin"], headers["operator"]
    start = database.scalar("SELECT max(id) FROM audit_log")
    made = client.post("/api/v1/accounts", json={"slug": "initech", "name": "Initech"}, headers=admin)
    assert made.status_code == 201 and made.json["slug"] == "initech" and made.json["auto_provision"] is True
    assert error_of(client.post("/api/v1/accounts", json={"slug": "initech", "name": "Again"}, headers=admin),
                    422)["fields"][0]["code"] == "slug_taken"
    assert error_of(client.post("/api/v1/accounts", json={"slug": "Bad Slug", "name": ""}, headers=admin),
                    422)["parameter"] == "slug"
    switched = client.patch("/api/v1/accounts/acme", json={"auto_provision": False}, headers=operator)
    assert switched.status_code == 200 and switched.json["auto_provision"] is False
    assert error_of(client.patch("/api/v1/accounts/acme", json={"name": "Mine"}, headers=operator),
                    403)["code"] == "forbidden"
    assert client.patch("/api/v1/accounts/acme", json={"name": "Acme SA"}, headers=admin).json["name"] == "Acme SA"
    user = client.post("/api/v1/users", json={"username": "carol", "password": "long enough pw", "role": "viewer",
                                              "accounts": ["initech"]}, headers=admin)
    assert user.status_code == 201 and user.json["accounts"] == ["initech"] and "password" not in user.json
    assert error_of(client.post("/api/v1/users", json={"username": "carol", "password": "long enough pw"},
                                headers=admin), 409)["parameter"] == "username"
    assert error_of(client.post("/api/v1/users", json={"username": "dave", "password": "short"}, headers=admin),
                    422)["parameter"] == "password"
    changed = client.patch("/api/v1/users/carol", json={"role": "operator", "accounts": ["acme"], "active": False},
                           headers=admin)
    assert changed.json["role"] == "operator" and changed.json["active"] is False and changed.json["accounts"] == ["acme"]
    assert error_of(client.patch("/api/v1/users/nobody", json={}, headers=admin), 404)["code"] == "not_found"
    assert "carol" in {u["username"] for u in client.get("/api/v1/users", headers=admin).json["data"]}
    token = client.post("/api/v1/tokens", json={"name": "script"}, headers=operator)
    assert token.status_code == 201 and token.json["secret"].startswith("tds_")
    mine = {"Authorization": f"Bearer {token.json['secret']}"}
    assert client.get("/api/v1/accounts", headers=mine).status_code == 200
    assert token.json["id"] in {t["id"] for t in client.get("/api/v1/tokens", headers=operator).json["data"]}
    assert error_of(client.delete(f"/api/v1/tokens/{token.json['id']}", headers=headers["viewer"]), 404)
    assert client.delete(f"/api/v1/tokens/{token.json['id']}", headers=mine).json["revoked"] is True
    assert error_of(client.get("/api/v1/accounts", headers=mine), 401)["code"] == "unauthenticated"
    actions = database.query("SELECT entity, action FROM audit_log WHERE id > %s ORDER BY id", (start,))
    assert actions == [("account", "create"), ("account", "update"), ("account", "update"), ("user", "create"),
                       ("user", "update"), ("token", "create"), ("token", "revoke")]


def test_api108_events_rejected_and_presence(fleet_api, database):
    client, headers, _ = fleet_api
    gateway = database.scalar("SELECT id FROM gateways WHERE serial = 'GW-0101'")
    account = database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    database.execute("INSERT INTO gateway_presence (gateway_id, status, reason, started_at, ended_at) VALUES"
                     " (%s, 'online', 'message', now() - interval '2 hours', now() - interval '1 hour'),"
                     " (%s, 'offline', 'silent', now() - interval '1 hour', NULL)", (gateway, gateway))
    database.execute("UPDATE gateways SET status = 'offline', status_since = now() - interval '1 hour',"
                     " status_reason = 'silent', last_seen_at = now() - interval '70 minutes' WHERE id = %s",
                     (gateway,))
    database.execute("INSERT INTO fleet_events (kind, reason, at, last_at, account_id, gateway_id, evidence_at)"
                     " VALUES ('gateway_offline', 'silent', now() - interval '1 hour', now() - interval '1 hour',"
                     " %s, %s, now() - interval '70 minutes')", (account, gateway))
    database.execute("INSERT INTO rejected_messages (topic, reason, detail, account_slug, gateway_serial,"
                     " payload_size, payload_excerpt) VALUES ('tds/acme/GW-0101/telemetry', 'invalid_json', 'x',"
                     " 'acme', 'GW-0101', 3, %s), ('tds/globex/GW-0201/telemetry', 'invalid_json', 'y',"
                     " 'globex', 'GW-0201', 3, 'abc')", (b"\xffab",))
    viewer = headers["viewer"]
    listed = client.get("/api/v1/gateways/GW-0101", headers=viewer).json
    assert listed["status"] == "offline" and listed["offline_reason"].startswith("silent for 1 h 10 min")
    presence = client.get("/api/v1/presence/GW-0101", headers=viewer).json
    assert [i["status"] for i in presence["intervals"]] == ["offline", "online"]
    assert presence["intervals"][0]["ended_at"] is None and 0 < presence["uptime"]["24h"] < 1
    events = client.get("/api/v1/events", headers=viewer, query_string={"kind": "gateway_offline"}).json
    assert events["total"] == 1 and events["data"][0]["explanation"].startswith("Gateway silent")
    assert error_of(client.get("/api/v1/events", headers=viewer, query_string={"kind": "nap"}), 400)["parameter"] == "kind"
    assert error_of(client.get("/api/v1/events", headers=viewer, query_string={"from": "2026-13-01"}),
                    400)["parameter"] == "from"
    rejected = client.get("/api/v1/rejected", headers=viewer).json
    assert [r["gateway_serial"] for r in rejected["data"]] == ["GW-0101"] and rejected["data"][0]["excerpt"] == "\ufffdab"
    assert client.get("/api/v1/rejected", headers=headers["admin"], query_string={"gateway": "GW-0201"}).json["total"] == 1


def test_api110_openapi_describes_every_route_and_only_those(app, client):
    """Every (path, method) the server routes under /api/v1 is in docs/openapi.yaml, and vice versa; the file
    is what /api/v1/openapi.yaml serves, and /api/v1/docs loads only files this server has."""
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).parent.parent / "docs" / "openapi.yaml").read_text()
    document = yaml.safe_load(text)
    assert document["openapi"].startswith("3.1")
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    routed = set()
    for rule in app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<path:" in rule.rule:  # the JSON 404 for everything else
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routed |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "401" in operation["responses"], (path, method)
            declared = {p.get("name") for p in operation.get("parameters", []) + item.get("parameters", [])
                        if "name" in p} | {p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", [])
                                           + item.get("parameters", []) if "$ref" in p}
            for name in re.findall(r"{(\w+)}", path):
                assert name in declared, (path, method, name)
    headers = api_token(app, "docs-viewer", "viewer")
    served = client.get("/api/v1/openapi.yaml", headers=headers)
    assert served.status_code == 200 and served.get_data(as_text=True) == text
    page = client.get("/api/v1/docs", headers=headers).get_data(as_text=True)
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset
    app._setup_server()  # walks assets/ as the first request would
    assert app._assets_files and not [f for f in app._assets_files if "swagger-ui" in f]  # never in the pages


def test_api109_api_writes_leave_the_same_audit_rows_as_the_page(fleet_api, database):
    """The same gateway saved and deactivated through the gateways page's callbacks and through the API."""
    from tests.conftest import ensure_test_user
    from tests.test_fleet_security import call
    from tests.test_tenant_isolation import signed_in_client

    client, headers, app = fleet_api
    acme = database.scalar("SELECT id FROM accounts WHERE slug = 'acme'")
    ensure_test_user(app.server.extensions["tds"].engine, "page-operator", "operator", ("acme",))
    app._setup_server()
    page = signed_in_client(app, "page-operator")
    fields = [{"id": {"type": "gateways-field", "name": n}, "property": "value", "value": v}
              for n, v in (("account_id", str(acme)), ("serial", "GW-SAME-1"), ("name", "Same"),
                           ("location", "Roof"), ("inactivity_timeout_s", "300"))]
    flags = [{"id": {"type": "gateways-flag", "name": "active"}, "property": "value", "value": True}]
    call(page, app, ("gateways-modal.is_open@", "gateways-alert"),
         [{"id": "gateways-save", "property": "n_clicks", "value": 1}],
         [fields, flags, {"id": "gateways-editing", "property": "data", "value": None}], "gateways-save.n_clicks")
    client.post("/api/v1/gateways", json={"account": "acme", "serial": "GW-SAME-2", "name": "Same",
                                          "location": "Roof", "inactivity_timeout_s": 300},
                headers=headers["operator"])
    page_id = database.scalar("SELECT id FROM gateways WHERE serial = 'GW-SAME-1'")
    call(page, app, ("gateways-confirm.is_open@", "gateways-alert"),
         [{"id": "gateways-confirm-ok", "property": "n_clicks", "value": 1},
          {"id": "gateways-confirm-cancel", "property": "n_clicks", "value": None}],
         [{"id": "gateways-pending", "property": "data",
           "value": {"action": "deactivate", "id": page_id, "version": 1, "name": "GW-SAME-1"}}],
         "gateways-confirm-ok.n_clicks")
    client.post("/api/v1/gateways/GW-SAME-2/deactivate", headers=headers["operator"])
    rows = database.query("SELECT username, action, entity, account_id, before, after FROM audit_log"
                          " WHERE entity = 'gateway' ORDER BY id")
    assert [row[:2] for row in rows] == [("page-operator", "create"), ("res-operator", "create"),
                                         ("page-operator", "deactivate"), ("res-operator", "deactivate")]

    def same(row):
        strip = lambda d: {k: v for k, v in (d or {}).items() if k not in ("serial", "created_at")}  # noqa: E731
        return row[1:4] + (strip(row[4]), strip(row[5]))

    assert same(rows[0]) == same(rows[1]) and same(rows[2]) == same(rows[3])
    assert rows[0][5]["inactivity_timeout_s"] == 300 and rows[2][4]["active"] is True  # real content compared


def test_api111_nul_in_a_parameter_is_a_400_on_every_api_blueprint(app, client):
    """The NUL check runs before any /api/v1 blueprint; each answers it in the one error body."""
    from tests.explorer_data import api_token

    headers = api_token(app, "nul-admin")
    for path in ("/api/v1/gateways", "/api/v1/alarms", "/api/v1/tariffs", "/api/v1/consumption"):
        response = client.get(path, query_string={"account": "a\x00b"}, headers=headers)
        assert response.status_code == 400, path
        assert response.json["error"]["code"] == "invalid_parameter" and response.json["error"]["parameter"] == "account"
