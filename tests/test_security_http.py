"""Security findings of the HTTP layer, each through the real app: server-side sessions and sign-out,
sign-in throttling, API rate and concurrency limits, security headers (one in a real Chromium)."""
from __future__ import annotations

import contextlib
import re
import threading
import time

import pytest

from tds_dash.app import create_app
from tds_dash.db import session_scope
from tds_dash.queries.users import get_user_by_username
from tests.conftest import TEST_PASSWORD, ensure_test_user, open_user_menu
from tests.helpers import free_port, settings_for

API_PATH = "/api/v1/consumption?device=999999&from=2026-01-01&to=2026-01-02"  # 404 when signed in: no such device


@pytest.fixture
def app(database, mosquitto):
    return create_app(settings_for(database, mosquitto))


def csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = TEST_PASSWORD, address: str = "10.0.0.1", headers=None):
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf(client),
                                       "next": "/"}, environ_base={"REMOTE_ADDR": address}, headers=headers)


def signed_in_client(app, username: str, role: str = "viewer"):
    ensure_test_user(app.server.extensions["tds"].engine, username, role)
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


def cookie_client(app, cookie: str):
    """A fresh browser that only has a session cookie someone saved earlier."""
    client = app.server.test_client()
    client.set_cookie("session", cookie)
    return client


def signed_in(client) -> bool:
    status = client.get(API_PATH).status_code
    assert status in (401, 404), status
    return status == 404


def user_row(app, username: str):
    with session_scope(app.server.extensions["tds"].engine) as conn:
        return get_user_by_username(conn, username)


# --------------------------------------------------------------------------- finding 2: sign-out

def test_sec001_a_cookie_saved_before_logout_no_longer_reads_the_api(app):
    client = signed_in_client(app, "lia")
    saved = client.get_cookie("session").value
    assert signed_in(cookie_client(app, saved))
    assert client.post("/logout", data={"csrf": csrf(client)}).location == "/login"
    replay = cookie_client(app, saved)
    assert not signed_in(replay)
    assert replay.get("/").status_code == 302
    assert replay.post("/_dash-update-component", json={}).status_code == 401


def test_sec002_logout_ends_this_session_only_and_sign_out_everywhere_ends_all(app):
    first, second, third = (signed_in_client(app, "rui") for _ in range(3))
    saved_first = first.get_cookie("session").value
    first.post("/logout", data={"csrf": csrf(first)})
    assert not signed_in(cookie_client(app, saved_first))
    assert signed_in(second) and signed_in(third)
    other_user = signed_in_client(app, "sol")
    assert second.post("/logout/everywhere", data={"csrf": csrf(second)}).location == "/login"
    assert not signed_in(second) and not signed_in(third)
    assert signed_in(other_user)  # another user's sessions are not touched


def test_sec003_sign_out_needs_a_post_with_the_csrf_token(app):
    client = signed_in_client(app, "tom")
    client.get("/logout")  # a link or an <img src> (Dash's catch-all page answers it) signs nobody out
    client.get("/logout/everywhere")
    # What a cross-site form can send: the cookie (if the browser sends it) but not the token.
    for path in ("/logout", "/logout/everywhere"):
        assert client.post(path).status_code == 400
        assert client.post(path, data={"csrf": "forged"}).status_code == 400
    assert signed_in(client)


def components(node):
    """Every component of a serialised Dash layout, depth first."""
    if isinstance(node, list):
        for item in node:
            yield from components(item)
    elif isinstance(node, dict) and "props" in node:
        yield node
        yield from components(node["props"].get("children"))


def test_sec004_the_navbar_offers_both_sign_outs_with_a_csrf_token(app):
    client = signed_in_client(app, "uma")
    layout = client.get("/_dash-layout").get_json()
    token = csrf(client)
    forms = {form["props"].get("action"): form for form in components(layout) if form["type"] == "Form"}
    assert set(forms) >= {"/logout", "/logout/everywhere"}
    for form in (forms["/logout"], forms["/logout/everywhere"]):
        assert form["props"]["method"] == "POST"
        fields = {c["props"].get("name"): c["props"].get("value") for c in components(form["props"]["children"])}
        assert fields["csrf"] == token
    assert "Sair de todas as sessões" in str(layout)


def _reset_password_via_admin_page(client, target) -> dict:
    """Press "reset password" on /admin through Dash's callback endpoint, as the browser does."""
    inputs = [{"id": "admin-load", "property": "n_intervals", "value": 1},
              {"id": "admin-create", "property": "n_clicks", "value": None},
              {"id": "admin-update", "property": "n_clicks", "value": None},
              {"id": "admin-reset", "property": "n_clicks", "value": 1}]
    state = [{"id": "admin-username", "property": "value", "value": None},
             {"id": "admin-name", "property": "value", "value": None},
             {"id": "admin-role", "property": "value", "value": "viewer"},
             {"id": "admin-accounts", "property": "value", "value": []},
             {"id": "admin-active", "property": "value", "value": True},
             {"id": "admin-password", "property": "value", "value": "a brand new password"},
             {"id": "admin-users-table", "property": "selectedRows", "value": [{"id": target.id, "name": ""}]}]
    outputs = [{"id": "admin-feedback", "property": "children"}, {"id": "admin-users-table", "property": "rowData"},
               {"id": "admin-audit-table", "property": "rowData"}]
    body = {"output": "..admin-feedback.children...admin-users-table.rowData...admin-audit-table.rowData..",
            "outputs": outputs, "inputs": inputs, "state": state, "changedPropIds": ["admin-reset.n_clicks"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_sec005_a_password_change_ends_every_other_session(app):
    admin_here = signed_in_client(app, "vic", "admin")
    admin_elsewhere = signed_in_client(app, "vic", "admin")
    viewer = signed_in_client(app, "zeca")
    # An admin changing their own password keeps the session they did it from, and only that one.
    answer = _reset_password_via_admin_page(admin_here, user_row(app, "vic"))
    assert "admin-ok" in str(answer)
    assert signed_in(admin_here) and not signed_in(admin_elsewhere)
    # Resetting someone else's password ends all of theirs.
    _reset_password_via_admin_page(admin_here, user_row(app, "zeca"))
    assert not signed_in(viewer) and signed_in(admin_here)
    assert login(app.server.test_client(), "zeca", "a brand new password").status_code == 302


def test_sec006_ended_sessions_and_old_attempts_are_pruned(app, database):
    from tds_dash.background.scheduler import prune_auth_records

    live, ended = signed_in_client(app, "wil"), signed_in_client(app, "wil")
    ended.post("/logout", data={"csrf": csrf(ended)})
    database.execute("UPDATE user_sessions SET revoked_at = revoked_at - interval '2 days' WHERE revoked_at IS NOT NULL")
    database.execute("INSERT INTO login_attempts (at, username, address, success, finished_at)"
                     " VALUES (now() - interval '40 days', 'wil', '10.0.0.1', true, now() - interval '40 days')")
    before = database.scalar("SELECT count(*) FROM login_attempts")
    prune_auth_records(app.server.extensions["tds"].engine)
    assert database.scalar("SELECT count(*) FROM user_sessions") == 1 and signed_in(live)
    assert database.scalar("SELECT count(*) FROM login_attempts") == before - 1


# --------------------------------------------------------------------------- finding 5: sign-in throttle

@contextlib.contextmanager
def real_server(app, threads: int = 16):
    """The app behind waitress on loopback, in a thread (the server `make run` uses)."""
    import waitress

    server = waitress.create_server(app.server, host="127.0.0.1", port=free_port(), threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(10)


def attempts(database, username: str) -> dict:
    rows = database.query("SELECT verified, success FROM login_attempts WHERE username = %s", (username,))
    return {"verified": sum(1 for verified, _ in rows if verified), "refused": sum(1 for verified, _ in rows
                                                                                  if not verified)}


def test_sec010_parallel_wrong_passwords_get_at_most_five_checks(app, database):
    import requests

    ensure_test_user(app.server.extensions["tds"].engine, "alvo", "admin")
    with real_server(app) as url:
        sessions = [requests.Session() for _ in range(16)]
        tokens = [re.search(r'name="csrf" value="([^"]+)"', s.get(url + "/login", timeout=10).text).group(1)
                  for s in sessions]
        barrier, statuses = threading.Barrier(16), []

        def guess(session, token):
            barrier.wait(10)
            statuses.append(session.post(url + "/login", data={"username": "alvo", "password": "guess guess",
                                                               "csrf": token}, allow_redirects=False,
                                         timeout=30).status_code)

        workers = [threading.Thread(target=guess, args=pair) for pair in zip(sessions, tokens)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    assert len(statuses) == 16
    assert statuses.count(401) <= 5 and statuses.count(429) >= 11  # a 401 is a password that was checked
    counted = attempts(database, "alvo")
    assert counted["verified"] in range(1, 6)  # at least the first guess was checked, at most the limit
    assert counted["verified"] + counted["refused"] == 16
    assert sorted(statuses) == sorted([401] * counted["verified"] + [429] * counted["refused"])


def test_sec011_an_attacker_cannot_lock_the_owner_out(app, database):
    ensure_test_user(app.server.extensions["tds"].engine, "dona", "admin")
    attacker = app.server.test_client()
    for _ in range(5):
        assert login(attacker, "dona", "not her password", address="198.51.100.7").status_code == 401
    assert login(attacker, "dona", address="198.51.100.7").status_code == 429  # the attacker must wait
    owner = app.server.test_client()
    assert login(owner, "dona", address="10.1.1.1").status_code == 302
    # 20 failures from one address (a proxy, a NAT) delay that address, not everybody behind another one.
    for index in range(20):
        login(app.server.test_client(), f"spray{index}", "x" * 12, address="198.51.100.8")
    assert login(app.server.test_client(), "dona", address="10.1.1.2").status_code == 302


def shift_attempts(database, seconds: float) -> None:
    """Move every recorded attempt into the past: the same as waiting, without sleeping."""
    database.execute("UPDATE login_attempts SET at = at - make_interval(secs => %s),"
                     " finished_at = finished_at - make_interval(secs => %s)", (seconds, seconds))


def test_sec012_delays_double_after_five_failures(app, database):
    ensure_test_user(app.server.extensions["tds"].engine, "edna", "viewer")
    client = app.server.test_client()
    for _ in range(5):
        assert login(client, "edna", "wrong wrong", address="192.0.2.1").status_code == 401
    waits = []
    for _ in range(4):
        refused = login(client, "edna", "wrong wrong", address="192.0.2.1")
        assert refused.status_code == 429 and "Tente novamente em" in refused.get_data(as_text=True)
        waits.append(int(refused.headers["Retry-After"]))
        shift_attempts(database, waits[-1] + 0.1)
        assert login(client, "edna", "wrong wrong", address="192.0.2.1").status_code == 401
    assert waits == [1, 2, 4, 8]
    assert attempts(database, "edna") == {"verified": 9, "refused": 4}  # refusals never lengthen the wait
    # At most 15 minutes, however many failures.
    database.execute("INSERT INTO login_attempts (username, address, success, finished_at)"
                     " SELECT 'edna', '192.0.2.1', false, now() FROM generate_series(1, 30)")
    assert login(client, "edna", address="192.0.2.1").headers["Retry-After"] == "900"
    # The right password after the wait works, and a success clears the count for that address.
    shift_attempts(database, 901)
    assert login(client, "edna", address="192.0.2.1").status_code == 302
    assert login(app.server.test_client(), "edna", "wrong wrong", address="192.0.2.1").status_code == 401


def test_sec013_x_forwarded_for_counts_only_with_proxy_hops(database, mosquitto):
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    for hops, expected in ((0, "10.0.0.5"), (1, "203.0.113.9")):
        app = create_app(settings_for(database, mosquitto, TDS_PROXY_HOPS=hops))
        login(app.server.test_client(), f"nobody-{hops}", "x" * 12, address="10.0.0.5", headers=forwarded)
        assert database.scalar("SELECT address FROM login_attempts WHERE username = %s", (f"nobody-{hops}",)) == expected


def test_sec014_backoff_policy_table():
    from datetime import datetime, timedelta, timezone

    from tds_dash.auth.throttle import wait_seconds
    from tds_dash.queries.login_attempts import AttemptHistory

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    ago = lambda seconds: now - timedelta(seconds=seconds)  # noqa: E731

    def history(pair=0, user=0, address=0, last=0.0, known=False):
        return AttemptHistory(now, pair, ago(last), user, ago(last), address, ago(last), known)

    cases = [  # (history, seconds to wait)
        (history(pair=4), 0), (history(pair=5), 1), (history(pair=6), 2), (history(pair=9), 16),
        (history(pair=15), 900), (history(pair=40), 900), (history(pair=7, last=3.5), 1),
        (history(pair=7, last=4), 0),
        (history(user=9), 0), (history(user=10), 1), (history(user=14), 16), (history(user=30), 30),
        (history(user=30, known=True), 0),
        (history(address=19), 0), (history(address=20), 1), (history(address=30), 60),
        (history(address=30, known=True), 0), (history(pair=6, user=30, known=True), 2),
    ]
    for case, expected in cases:
        assert wait_seconds(case) == expected, case


# --------------------------------------------------------------------------- finding 6: API limits

@pytest.fixture
def fleet_app(database, mosquitto):
    """(app allowing 4 API requests a minute per user, a device with a day of hourly history)."""
    from datetime import datetime, timedelta, timezone

    from ingest import simulator
    from tests.explorer_data import FLEET, device_id, write_history

    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(days=1), now, timedelta(hours=1))
    app = create_app(settings_for(database, mosquitto, TDS_API_RATE_LIMIT="4/minute"))
    return app, device_id(database, "GW-0101", "MED-001")


def test_sec020_a_user_over_the_rate_limit_gets_429_and_the_json_error(fleet_app):
    from tests.explorer_data import api_token

    app, _ = fleet_app
    client, ana, bia = app.server.test_client(), api_token(app, "rate-ana"), api_token(app, "rate-bia")
    assert [client.get(API_PATH, headers=ana).status_code for _ in range(4)] == [404] * 4
    refused = client.get(API_PATH, headers=ana)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert body["error"]["parameter"] is None and "4 per 1 minute" in body["error"]["message"]
    assert client.get(API_PATH, headers=bia).status_code == 404  # per user, not per process
    assert all(client.get("/api/health").status_code == 200 for _ in range(6))  # health is not limited


def test_sec024_one_rate_budget_covers_every_api_v1_blueprint(fleet_app):
    """The resource routes (gateways, devices, ...) and the consumption routes draw on one per-user budget."""
    from tests.explorer_data import api_token

    app, _ = fleet_app
    client, ana = app.server.test_client(), api_token(app, "budget-ana")
    paths = ["/api/v1/gateways", API_PATH, "/api/v1/devices", "/api/v1/alarms"]
    assert [client.get(path, headers=ana).status_code for path in paths] == [200, 404, 200, 200]
    for path in ("/api/v1/gateways", API_PATH, "/api/v1/alarm-rules"):
        refused = client.get(path, headers=ana)
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited", path


def test_sec021_answers_are_streamed(fleet_app):
    from tests.explorer_data import api_token

    app, device = fleet_app
    client, headers = app.server.test_client(), api_token(app, "stream-ana")
    query = {"device": device, "from": "2020-01-01", "to": "2030-01-01", "granularity": "month"}
    for output in ("json", "csv"):
        response = client.get("/api/v1/consumption", query_string={**query, "format": output}, headers=headers)
        # A body built whole has a Content-Length; a generator's length is unknown until it ends.
        assert response.status_code == 200 and "Content-Length" not in response.headers, output
    response = client.get("/api/v1/readings", query_string={"device": device, "from": "2020-01-01",
                                                           "to": "2030-01-01"}, headers=headers)
    assert "Content-Length" not in response.headers
    body = response.get_json()
    assert body["count"] == len(body["data"]) > 0
    assert body["devices"][0]["id"] == device and body["data"][0]["ts"].endswith("-03:00")


def _waiting_on(database, table: str) -> int:
    return database.scalar("SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", (table,))


def test_sec022_one_user_cannot_take_every_thread(fleet_app, database, mosquitto):
    """Six parallel requests of one token against a 4-thread server: two run, four get 429 at once; another
    user is served and /api/health answers quickly while the two are held in the database."""
    import requests

    from tests.explorer_data import api_token
    from tests.helpers import wait_until

    _, device = fleet_app
    app = create_app(settings_for(database, mosquitto))  # the default rate: only the concurrency cap bites
    ana, bia = api_token(app, "busy-ana"), api_token(app, "busy-bia")
    heavy = {"device": device, "from": "2020-01-01", "to": "2020-01-05", "granularity": "hour"}
    statuses: list[int] = []
    with real_server(app, threads=4) as url, database.connect(autocommit=False) as holder:
        holder.execute("LOCK TABLE consumption_hourly IN ACCESS EXCLUSIVE MODE")  # ana's queries wait here
        workers = [threading.Thread(target=lambda: statuses.append(requests.get(
            url + "/api/v1/consumption", params=heavy, headers=ana, timeout=30).status_code)) for _ in range(6)]
        for worker in workers:
            worker.start()
        wait_until(lambda: _waiting_on(database, "consumption_hourly") == 2 and len(statuses) == 4, timeout=20,
                   message="two of ana's requests waiting in the database, four refused")
        assert statuses == [429] * 4
        third = requests.get(url + "/api/v1/consumption", params=heavy, headers=ana, timeout=10)
        assert third.status_code == 429 and third.headers["Retry-After"] == "1"
        assert third.json() == {"error": {"code": "rate_limited", "parameter": None,
                                          "message": "at most 2 requests in flight per user"}}
        other = requests.get(url + "/api/v1/readings", params={"device": device, "from": "2020-01-01",
                                                               "to": "2030-01-01"}, headers=bia, timeout=10)
        assert other.status_code == 200 and other.json()["count"] > 0
        started = time.monotonic()
        health = requests.get(url + "/api/health", timeout=10)
        assert health.status_code == 200 and time.monotonic() - started < 2
        holder.rollback()
        for worker in workers:
            worker.join(30)
        assert sorted(statuses) == [200, 200, 429, 429, 429, 429]
        # The slots were given back when those answers ended.
        assert requests.get(url + "/api/v1/consumption", params=heavy, headers=ana, timeout=10).status_code == 200


def test_sec023_api_settings_are_validated(database, mosquitto):
    from tds_dash.settings import SettingsError

    assert settings_for(database, mosquitto).api_rate_limit == "120/minute"
    assert settings_for(database, mosquitto).api_concurrency == 2
    with pytest.raises(SettingsError, match="TDS_API_RATE_LIMIT"):
        settings_for(database, mosquitto, TDS_API_RATE_LIMIT="lots")
    with pytest.raises(SettingsError, match="TDS_API_CONCURRENCY"):
        settings_for(database, mosquitto, TDS_API_CONCURRENCY=0)


# --------------------------------------------------------------------------- finding 10: security headers

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def assert_security_headers(response, where: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (where, name)
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", where
    script_src = directives["script-src"].split()
    assert script_src[0] == "'self'" and all(s.startswith("'sha256-") for s in script_src[1:]), where
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where


def test_sec030_every_kind_of_response_carries_the_security_headers(app, database, mosquitto):
    from tests.explorer_data import api_token

    client = signed_in_client(app, "hedy", "admin")
    token = api_token(app, "hedy-script")
    responses = {
        "login page": app.server.test_client().get("/login"),
        "sign-in refused": login(app.server.test_client(), "hedy", "wrong password"),
        "redirect to login": app.server.test_client().get("/explorer"),
        "page": client.get("/"),
        "dash layout": client.get("/_dash-layout"),
        "asset": client.get("/assets/login.css"),
        "component suite": client.get(next(url for url in re.findall(r'src="([^"]+)"', client.get("/").get_data(
            as_text=True)) if "_dash-component-suites" in url)),
        "api": client.get(API_PATH, headers=token),
        "api 401": app.server.test_client().get(API_PATH),
        "health": app.server.test_client().get("/api/health"),
        "metrics": client.get("/metrics"),
    }
    for where, response in responses.items():
        assert response.status_code < 500, where
        assert_security_headers(response, where)
        assert "Strict-Transport-Security" not in response.headers, where
    https_app = create_app(settings_for(database, mosquitto, TDS_HTTPS="true"))
    hsts = https_app.server.test_client().get("/login").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1]) >= 180 * 86400


def test_sec031_the_policy_hashes_are_dash_s_own_inline_scripts(app):
    """A script the page runs inline is allowed by hash, never by 'unsafe-inline'."""
    import base64
    import hashlib

    page = app.server.test_client().get("/login")
    client = signed_in_client(app, "ines")
    index = client.get("/")
    html = re.sub(r"<!--.*?-->", "", index.get_data(as_text=True), flags=re.S)  # IE's conditional comment
    inline = [body for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
              if "src=" not in attributes and "application/json" not in attributes]
    assert inline, "Dash renders its renderer inline"
    policy = index.headers["Content-Security-Policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy, script[:300]
    assert "<script" not in page.get_data(as_text=True)  # the login form runs no script at all


@pytest.mark.browser
def test_sec032_every_page_renders_under_the_policy_without_console_errors(dash_duo, database, mosquitto):
    """Sign in, open every registered page in Chromium: no CSP violation, no SEVERE console entry."""
    from datetime import datetime, timedelta, timezone

    import dash

    from ingest import simulator
    from tests.explorer_data import FLEET, device_id, write_history

    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(database, now - timedelta(days=2), now, timedelta(hours=1))
    app = create_app(settings_for(database, mosquitto))
    dash_duo.start_server(app, port=free_port())
    values = {"device_id": str(device_id(database, "GW-0101", "MED-001")), "serial": "GW-0101"}
    paths = [re.sub(r"<([^>]+)>", lambda m: values[m.group(1)], page["path_template"] or page["path"])
             for page in dash.page_registry.values()]
    assert len(paths) >= 10 and "/admin" in paths
    violations = []
    for path in paths:
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element("#_pages_content > *", timeout=10)
        dash_duo.wait_for_no_elements("._dash-loading", timeout=10)
        if path == "/":
            dash_duo.wait_for_element(".js-plotly-plot .main-svg", timeout=10)  # Plotly ran under the policy
        time.sleep(0.5)  # let the page's first callbacks draw their charts and grids
        violations += [(path, entry["message"]) for entry in dash_duo.get_logs()]
    assert violations == []
    # The browser enforces the policy: a script injected into the page (as an XSS would) does not run.
    dash_duo.driver.execute_script("const s = document.createElement('script');"
                                   " s.textContent = 'window.cspProbe = 1'; document.body.appendChild(s);")
    assert dash_duo.driver.execute_script("return window.cspProbe === undefined")
    assert any("Content Security Policy" in entry["message"] for entry in dash_duo.get_logs())
    # The navbar's "sign out everywhere" form works under the policy too (form-action 'self', its token).
    open_user_menu(dash_duo)
    dash_duo.find_element("#nav-logout-everywhere").click()
    dash_duo.wait_for_element("#login-form")
    assert dash_duo.get_logs() == []


def test_sec040_assets_named_with_their_mtime_are_cached_for_a_year_the_rest_revalidated(app):
    """Dash's /assets/<file>?m=<mtime> links change with the file: no revalidation at each load (issue 16)."""
    client = app.server.test_client()
    fingerprinted = client.get("/assets/bootstrap.min.css?m=1796229495.79")
    assert fingerprinted.status_code == 200
    assert fingerprinted.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Security-Policy" in fingerprinted.headers and fingerprinted.headers["X-Content-Type-Options"]
    revalidated = client.get("/assets/bootstrap.min.css", headers={"If-None-Match": fingerprinted.headers["ETag"]})
    assert revalidated.status_code == 304 and "immutable" not in revalidated.headers.get("Cache-Control", "")
    assert "immutable" not in client.get("/assets/logo.png").headers.get("Cache-Control", "")
    assert client.get("/assets/no-such-file.css?m=1").status_code == 404
    assert "immutable" not in client.get("/login?m=1").headers.get("Cache-Control", "")
