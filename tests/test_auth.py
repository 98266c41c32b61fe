"""Sign-in, sessions, roles, throttling and tokens, through the real Flask app and a real database."""
from __future__ import annotations

import re

import dash
import pytest

from tds_dash.app import create_app
from tds_dash.auth.sessions import start_session
from tds_dash.auth.users import UserInputError, create_token, create_user, revoke_token, update_user
from tds_dash.db import session_scope
from tds_dash.queries.users import get_user_by_username, list_tokens
from tds_dash.settings import SettingsError, load_settings
from tests.conftest import TEST_PASSWORD, ensure_test_user
from tests.helpers import settings_for


def csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = TEST_PASSWORD, next_path: str = "/", address: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf(client),
                                       "next": next_path}, environ_base={"REMOTE_ADDR": address})


def logout(client, path: str = "/logout"):
    """Sign out as the navbar does: a POST carrying the session's CSRF token."""
    return client.post(path, data={"csrf": csrf(client)})


def user(app, username: str):
    with session_scope(app.server.extensions["tds"].engine) as conn:
        return get_user_by_username(conn, username)


def page_paths() -> list[str]:
    """Every registered page, templates filled with a dummy id, so a new page cannot be forgotten."""
    return [re.sub(r"<[^>]+>", "1", page["path_template"] or page["path"]) for page in dash.page_registry.values()]


def test_auth001_signed_out_requests_get_nothing(app, client):
    paths = page_paths()
    assert "/" in paths and "/admin" in paths
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login?next="), path
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401
    api_rules = [r.rule for r in app.server.url_map.iter_rules() if r.rule.startswith(("/api/v1/", "/metrics"))]
    for rule in api_rules:
        path = re.sub(r"<[^>]+>", "1", rule)
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer tds_not-a-real-token"}).status_code == 401, path


def test_auth002_health_is_public_and_has_no_tenant_data(client):
    body = client.get("/api/health").get_json()
    assert set(body) >= {"status", "database", "ingest"}
    text = str(body)
    assert "acme" not in text and "GW-" not in text


def test_auth003_sign_in_redirects_to_a_local_next_only(app, client):
    ensure_test_user(app.server.extensions["tds"].engine, "ana", "viewer")
    assert login(client, "ana", next_path="https://evil.example/x").location == "/"
    logout(client)
    assert login(client, "ana", next_path="//evil.example").location == "/"
    logout(client)
    assert login(client, "ana", next_path="/explorer?x=1").location == "/explorer?x=1"
    assert client.get("/").status_code == 200
    logout(client)
    assert client.get("/").status_code == 302


def test_auth004_wrong_password_unknown_user_and_missing_csrf(app, client):
    ensure_test_user(app.server.extensions["tds"].engine, "bia", "viewer")
    assert login(client, "bia", "wrong password").status_code == 401
    assert login(client, "nobody-here").status_code == 401
    response = client.post("/login", data={"username": "bia", "password": TEST_PASSWORD})
    assert response.status_code == 400


def test_auth005_failed_logins_are_throttled_per_user_and_per_address(app, client):
    ensure_test_user(app.server.extensions["tds"].engine, "caio", "viewer")
    for _ in range(5):
        assert login(client, "caio", "nope nope nope").status_code == 401
    # Even the right password is refused while throttled.
    assert login(client, "caio").status_code == 429
    # From one address, many usernames: the address is throttled too.
    for index in range(20):
        login(client, f"guess{index}", "x" * 10, address="10.9.9.9")
    ensure_test_user(app.server.extensions["tds"].engine, "dora", "viewer")
    assert login(client, "dora", address="10.9.9.9").status_code == 429
    assert login(client, "dora", address="10.0.0.2").status_code == 302


def test_auth006_disabled_user_or_reset_password_ends_existing_sessions(app, client):
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "test-admin", "admin")
    ensure_test_user(engine, "edu", "viewer")
    assert login(client, "edu").status_code == 302
    assert client.get("/").status_code == 200
    admin = user(app, "test-admin")
    update_user(engine, admin, user(app, "edu").id, "edu", "viewer", False, [])
    assert client.get("/").status_code == 302
    assert login(client, "edu").status_code == 401  # a disabled user cannot sign in again


def test_auth007_tokens_work_until_revoked(app, client):
    engine = app.server.extensions["tds"].engine
    ensure_test_user(engine, "fabi", "viewer")
    fabi = user(app, "fabi")
    secret = create_token(engine, fabi, "script")
    api_rules = [r.rule for r in app.server.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert api_rules, "the API routes are registered"
    path = re.sub(r"<[^>]+>", "1", api_rules[0])
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(path, headers=headers).status_code != 401
    with session_scope(engine) as conn:
        token_id = list_tokens(conn, fabi.id)[0]["id"]
    revoke_token(engine, fabi, token_id)
    assert client.get(path, headers=headers).status_code == 401
    # A token never works on pages or callbacks: only /api/v1 and /metrics.
    assert client.get("/", headers=headers).status_code == 302


def test_auth008_user_input_is_validated():
    with pytest.raises(UserInputError, match="username"):
        create_user(None, None, "A B", "", "x" * 12, "viewer", [])
    with pytest.raises(UserInputError, match="password"):
        create_user(None, None, "valid-name", "", "short", "viewer", [])
    with pytest.raises(UserInputError, match="role"):
        create_user(None, None, "valid-name", "", "x" * 12, "root", [])


def test_auth009_production_refuses_to_start_without_a_secret_key(database):
    env = {"DATABASE_URL": database.url, "MQTT_URL": "mqtt://127.0.0.1:1", "TDS_ENV": "production"}
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(env)
    assert load_settings({**env, "SECRET_KEY": "s" * 32}).secret_key == "s" * 32


def test_auth010_session_cookie_flags(app, client):
    ensure_test_user(app.server.extensions["tds"].engine, "gil", "viewer")
    response = login(client, "gil")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    https_app = create_app(app.server.extensions["tds"].settings.replace(https=True))
    assert https_app.server.config["SESSION_COOKIE_SECURE"] is True


def forged_session_cookie(secret: str, user_id: str) -> str:
    """What an attacker who knows a signing key sends: Flask's own cookie format, no password."""
    import flask
    forger = flask.Flask("forger")
    forger.secret_key = secret
    return forger.session_interface.get_signing_serializer(forger).dumps({"_user_id": user_id, "_fresh": True})


def test_auth011_no_constant_signs_sessions(database, mosquitto, tmp_path):
    data_dir = tmp_path / "var"
    app = create_app(settings_for(database, mosquitto, TDS_DATA_DIR=data_dir))
    ensure_test_user(app.server.extensions["tds"].engine, "root-ish", "admin")
    admin = user(app, "root-ish")
    # A live server-side session, so that only the signing key differs between the cookies below.
    with session_scope(app.server.extensions["tds"].engine) as conn:
        user_id = f"{admin.id}:{admin.session_version}:{start_session(conn, admin.id, '127.0.0.1')}"
    key_file = data_dir / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    # The constant that signed every development session until now is refused like any other guess.
    for guess in ("dev-only-not-secret", "", "change-me-to-a-long-random-string"):
        client = app.server.test_client()
        client.set_cookie("session", forged_session_cookie(guess or "x", user_id))
        assert client.get("/api/v1/consumption?device=1&from=2026-01-01&to=2026-01-02").status_code == 401
        assert client.get("/admin").status_code == 302
    # The same cookie signed with the deployment's key is accepted: the check above is about the key.
    client = app.server.test_client()
    client.set_cookie("session", forged_session_cookie(key_file.read_text().strip(), user_id))
    assert client.get("/admin").status_code == 200


def test_auth012_generated_key_is_reused_and_private(database, mosquitto, tmp_path):
    data_dir = tmp_path / "var"
    first = create_app(settings_for(database, mosquitto, TDS_DATA_DIR=data_dir)).server.config["SECRET_KEY"]
    again = create_app(settings_for(database, mosquitto, TDS_DATA_DIR=data_dir)).server.config["SECRET_KEY"]
    other = create_app(settings_for(database, mosquitto, TDS_DATA_DIR=tmp_path / "other")).server.config["SECRET_KEY"]
    assert len(first) >= 32 and first == again and first != other
    # A key file others can read is made private again rather than trusted as it is.
    (data_dir / "secret_key").chmod(0o644)
    assert create_app(settings_for(database, mosquitto, TDS_DATA_DIR=data_dir)).server.config["SECRET_KEY"] == first
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    # SECRET_KEY, when given, wins over the file, and a short one is refused in any mode.
    given = create_app(settings_for(database, mosquitto, TDS_DATA_DIR=data_dir, SECRET_KEY="k" * 40))
    assert given.server.config["SECRET_KEY"] == "k" * 40
    with pytest.raises(SettingsError, match="16"):
        settings_for(database, mosquitto, SECRET_KEY="short")


def test_auth013_workers_starting_together_share_one_key(tmp_path):
    import concurrent.futures

    from tds_dash.auth.session_key import load_or_create_key_file
    path = tmp_path / "var" / "secret_key"
    with concurrent.futures.ProcessPoolExecutor(4) as pool:
        keys = set(pool.map(load_or_create_key_file, [path] * 16))
    assert len(keys) == 1 and not list(path.parent.glob(".secret_key.*"))
