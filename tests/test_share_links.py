"""Share links and presentation mode through Flask's test client against a real PostgreSQL: a link opens its
account's presentation signed out and nothing else; revoked, expired, forged links open nothing; every
creation, refusal and revocation is in the audit log."""
from __future__ import annotations

import itsdangerous
import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.explorer_data import api_token
from tests.helpers import settings_for
from tests.test_api_resources import error_of, schema_checked

ACCOUNTS = {"acme": "Acme Energia", "globex": "Globex Águas"}


@pytest.fixture
def shared(database, mosquitto):
    """(client, headers by role, app): acme has 1 gateway with 2 devices, globex 1 gateway with 2 devices."""
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme", "globex"], 1, 2), ACCOUNTS)
    app = create_app(settings_for(database, mosquitto))
    headers = {"admin": api_token(app, "shr-admin"), "operator": api_token(app, "shr-op", "operator", ("acme",)),
               "globex_operator": api_token(app, "shr-gx", "operator", ("globex",)),
               "viewer": api_token(app, "shr-viewer", "viewer", ("acme",))}
    for value in headers.values():
        value["Accept-Language"] = "en"
    return schema_checked(app.server.test_client()), headers, app


def _create(client, headers, **body) -> dict:
    response = client.post("/api/v1/share-links", headers=headers, json={"account": "acme", **body})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def _audit(database) -> list[tuple]:
    return database.query("SELECT username, action, entity_id, account_id, after->>'reason' FROM audit_log"
                          " WHERE entity = 'share_link' ORDER BY id")


def test_shr001_link_opens_its_accounts_presentation_signed_out(shared, database):
    client, headers, app = shared
    link = _create(client, headers["operator"], days=3, label="Reunião de diretoria")
    assert link["state"] == "active" and link["account"] == "acme" and link["path"].startswith("/present/")
    assert link["url"].endswith(link["path"]) and link["created_by"] == "shr-op"
    visitor = app.server.test_client()  # no cookie, no token: a person who only got the link
    page = visitor.get(link["path"])
    assert page.status_code == 200 and "Acme Energia" in page.get_data(as_text=True)
    assert "Globex" not in page.get_data(as_text=True)
    globex_id = database.scalar("SELECT id FROM accounts WHERE slug = 'globex'")
    # Whatever the visitor adds, the data is the token's account's: 2 devices, not globex's or all 4.
    for query in ({}, {"account": "globex"}, {"account_id": globex_id}, {"account_ids": f"{globex_id}"}):
        data = visitor.get(link["path"] + "/data", query_string=query)
        assert data.status_code == 200
        body = data.json
        assert body["account"] == {"slug": "acme", "name": "Acme Energia"}
        cards = {card["id"]: card["value"] for card in body["cards"]}
        assert cards["devices"] == "2" and cards["gateways"] == "0 / 1"
        assert [slide["id"] for slide in body["slides"]] == ["cards", "monthly", "daily"]
        assert "Globex" not in data.get_data(as_text=True)
    listed = client.get("/api/v1/share-links", headers=headers["operator"]).json
    assert listed["total"] == 1 and "path" not in listed["data"][0] and listed["data"][0]["last_used_at"]
    assert _audit(database) == [("shr-op", "create", str(link["id"]), database.scalar(
        "SELECT id FROM accounts WHERE slug = 'acme'"), None)]


def test_shr002_the_token_reaches_nothing_but_its_presentation(shared, database):
    client, headers, app = shared
    link = _create(client, headers["operator"])
    token = link["path"].rsplit("/", 1)[1]
    visitor = app.server.test_client()
    assert visitor.get(link["path"]).status_code == 200
    # Other pages, Dash's own endpoints, the API (even with the token as a bearer), the signed-in presentation.
    for path in ("/", "/gateways", "/explorer?account=1", "/present?account=globex", "/present.json?account=acme"):
        response = visitor.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert visitor.get("/_dash-layout").status_code == 401
    assert visitor.get("/_dash-dependencies").status_code == 401
    callback = {"output": "overview-store.data", "outputs": {"id": "overview-store", "property": "data"},
                "inputs": [{"id": "overview-account", "property": "value", "value": 1}], "changedPropIds": []}
    assert visitor.post("/_dash-update-component", json=callback).status_code == 401
    for path in ("/api/v1/gateways", "/api/v1/share-links", "/api/v1/consumption?device_ids=1"):
        assert visitor.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401, path
    for path in (f"/present/{token}/data/../../gateways", f"/present/{token}/gateways", "/present/", "/present/x/y"):
        response = visitor.get(path)
        assert response.status_code == 404 and "Acme" not in response.get_data(as_text=True), path
    # Tampered, re-signed with another key, or naming another link id: nothing opens, each refusal audited.
    link_id, nonce = itsdangerous.URLSafeSerializer(app.server.config["SECRET_KEY"],
                                                    salt="tds.share-link.v1").loads(token)
    forged = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
              itsdangerous.URLSafeSerializer("x" * 64, salt="tds.share-link.v1").dumps([link_id, nonce]),
              itsdangerous.URLSafeSerializer(app.server.config["SECRET_KEY"], salt="tds.share-link.v1").dumps(
                  [link_id, "guessed-nonce"])]
    for bad in forged:
        assert visitor.get(f"/present/{bad}").status_code == 404
        assert error_of(visitor.get(f"/present/{bad}/data"), 404)["code"] == "not_found"
    reasons = [row[4] for row in _audit(database) if row[1] == "share_denied"]
    assert reasons == ["bad_signature", "bad_signature", "bad_signature", "bad_signature", "unknown", "unknown"]


def test_shr003_revoked_and_expired_links_stop_working(shared, database):
    client, headers, app = shared
    visitor = app.server.test_client()
    revoked, expired = _create(client, headers["operator"]), _create(client, headers["admin"], days=1)
    assert visitor.get(revoked["path"] + "/data").status_code == 200
    # Another account's operator cannot see or revoke it (not told apart from a missing link); a viewer manages none.
    assert error_of(client.delete(f"/api/v1/share-links/{revoked['id']}", headers=headers["globex_operator"]),
                    404)["code"] == "not_found"
    assert client.get("/api/v1/share-links", headers=headers["globex_operator"]).json["total"] == 0
    assert error_of(client.get("/api/v1/share-links", headers=headers["viewer"]), 403)["code"] == "forbidden"
    assert error_of(client.post("/api/v1/share-links", headers=headers["viewer"], json={"account": "acme"}), 403)
    assert client.delete(f"/api/v1/share-links/{revoked['id']}", headers=headers["operator"]).status_code == 204
    assert error_of(client.delete(f"/api/v1/share-links/{revoked['id']}", headers=headers["operator"]), 404)
    page = visitor.get(revoked["path"])
    assert page.status_code == 404 and "expirou ou foi revogado" in page.get_data(as_text=True)
    assert error_of(visitor.get(revoked["path"] + "/data"), 404)["code"] == "not_found"
    # A day later (the row's dates moved back a day and a minute: what the clock would do).
    assert visitor.get(expired["path"] + "/data").status_code == 200
    database.execute("UPDATE share_links SET created_at = created_at - interval '1 day 1 minute',"
                     " expires_at = expires_at - interval '1 day 1 minute' WHERE id = %s", (expired["id"],))
    assert error_of(visitor.get(expired["path"] + "/data"), 404)["code"] == "not_found"
    states = {row["id"]: row["state"] for row in client.get("/api/v1/share-links", headers=headers["admin"]).json["data"]}
    assert states == {revoked["id"]: "revoked", expired["id"]: "expired"}
    actions = [(row[1], row[2], row[4]) for row in _audit(database)]
    assert actions == [("create", str(revoked["id"]), None), ("create", str(expired["id"]), None),
                       ("revoke", str(revoked["id"]), None), ("share_denied", str(revoked["id"]), "revoked"),
                       ("share_denied", str(revoked["id"]), "revoked"), ("share_denied", str(expired["id"]), "expired")]


@pytest.mark.parametrize(("body", "field"), [
    ({"days": 0}, "days"), ({"days": 91}, "days"), ({"days": "sete"}, "days"), ({"days": 1.5}, "days"),
    ({"label": "x" * 81}, "label"), ({"account": ""}, "account"), ({"account": "globex"}, "account"),
    ({"expires": "never"}, "expires"),
])
def test_shr004_bad_requests_are_refused_and_create_nothing(shared, database, body, field):
    client, headers, _ = shared
    response = client.post("/api/v1/share-links", headers=headers["operator"], json={"account": "acme", **body})
    assert error_of(response, 404 if body.get("account") == "globex" else 400)["parameter"] == field
    assert database.scalar("SELECT count(*) FROM share_links") == 0


def test_shr005_signed_in_presentation_is_scoped_to_the_viewers_accounts(shared):
    client, headers, _ = shared
    viewer = {"Authorization": headers["viewer"]["Authorization"]}
    # /present is not under /api/v1: a bearer token does not sign in there; a session does (the browser test).
    assert client.get("/present?account=acme", headers=viewer).status_code == 302


def test_shr006_presentation_shows_the_cost_card_of_a_priced_account_only(database):
    """The data layer: build() reads only the scope it is given; the cost card appears where a tariff exists."""
    from tds_dash.consumption import month_cost, presentation
    from tds_dash.db import session_scope
    from tds_dash.queries.scope import Scope
    from tds_dash.tariffs.money import format_brl
    from tests.test_overview_cost import NOW, ZONE
    from tests.test_tariffs_db import Fleet, sample_usage

    fleet = Fleet(database)
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.put(fleet.globex, sample_usage(fleet.devices["globex"]))
    fleet.tariff(fleet.acme)
    with session_scope(fleet.engine) as conn:
        acme = presentation.build(conn, Scope(account_ids=(fleet.acme,)), {"slug": "acme", "name": "Acme"},
                                  NOW, ZONE, "pt-BR")
        globex = presentation.build(conn, Scope(account_ids=(fleet.globex,)), {"slug": "globex", "name": "Globex"},
                                    NOW, ZONE, "pt-BR")
        everything = {card["id"]: card for card in presentation.build(
            conn, Scope(account_ids=(fleet.acme, fleet.globex)), {"slug": "x", "name": "x"}, NOW, ZONE, "pt-BR")["cards"]}
        cost = month_cost.month_cost(conn, Scope(account_ids=(fleet.acme,)), "energy_kwh", NOW, ZONE)
    acme_cards = {card["id"]: card for card in acme["cards"]}
    assert [card["id"] for card in acme["cards"]] == ["month", "cost", "gateways", "devices", "readings"]
    assert acme_cards["cost"]["value"] == format_brl(cost.current, "pt-BR") and cost.current > 0
    assert [card["id"] for card in globex["cards"]] == ["month", "gateways", "devices", "readings"]
    # acme's devices, not both accounts' (the fixture writes hourly rows only, so the month card, read from
    # the fleet rollups, has no figure here; the overview's own tests cover its value)
    assert acme_cards["devices"]["value"] != everything["devices"]["value"]
    assert [set(slide) for slide in acme["slides"][1:]] == [{"id", "title", "figure"}] * 2
