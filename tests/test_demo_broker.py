"""The embedded demo's broker, started in-process as `python -m tds_dash run` starts it (start_background):
Debian's Mosquitto with mTLS when installed — the simulated fleet publishes with its own certificates and
the readings are stored, plain and anonymous clients are refused, certificates are reused at a restart and
a revocation reaches this broker — and amqtt when forced (TDS_DEMO_BROKER=amqtt), saying mTLS is off (tests/test_demo_smoke.py runs `run` itself)."""
from __future__ import annotations

import logging

import psycopg
import pytest

from tds_dash.background.mosquitto import find_mosquitto
from tds_dash.background.runtime import start_background
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.service import Actor, revoke_gateway
from tds_dash.db import create_db_engine, raw_dsn, session_scope
from tds_dash.settings import SettingsError, load_settings
from tests.certificates_tools import mqtt_connect, raw_tls_attempt
from tests.helpers import free_port, wait_until


def _settings(data_dir, **env):
    values = {"TDS_DATA_DIR": str(data_dir), "TDS_EMBEDDED_MQTT_PORT": str(free_port()),
              "TDS_EMBEDDED_MQTT_TLS_PORT": str(free_port()), "TDS_BACKFILL_DAYS": "0",
              "TDS_DEMO_INTERVAL_SECONDS": "1", "TDS_SCHEDULER": "false"}
    return load_settings({**values, **env})


def _readings_by_gateway(background) -> dict[str, int]:
    with psycopg.connect(raw_dsn(background.settings.database_url)) as conn:
        return dict(conn.execute("SELECT g.serial, count(*) FROM readings r JOIN gateways g ON g.id = r.gateway_id"
                                 " GROUP BY g.serial").fetchall())


@pytest.fixture
def started():
    """start_background(settings) for the test; everything it started is stopped afterwards."""
    running = []

    def start(settings):
        running.append(start_background(settings))
        return running[-1]

    yield start
    for background in running:
        background.stop()


def test_dmb001_demo_runs_mosquitto_with_mtls_and_the_fleet_publishes_through_it(tmp_path, started):
    assert find_mosquitto(), "Debian's mosquitto is installed on the test machines (make test installs it)"
    background = started(_settings(tmp_path / "var"))
    broker, pki = background.broker, PkiConfig.from_settings(background.settings)
    assert background.uses_mtls and background.settings.mqtt_url.startswith("mqtt://tds-ingest:")
    config = (broker.broker_dir / "mosquitto.conf").read_text()
    for line in ("require_certificate true", "use_identity_as_username true", "use_username_as_clientid true",
                 f"crlfile {pki.crl_file}", f"pid_file {pki.pid_file}", f"listener {broker.tls_port} 127.0.0.1",
                 f"listener {broker.ingest_port} 127.0.0.1", "allow_anonymous false"):
        assert line in config, line
    assert int(pki.pid_file.read_text()) == broker.process.pid

    # Every simulated gateway publishes over mTLS with its own certificate, and its readings are stored.
    serials = [f"GW-0{a}0{g}" for a in (1, 2, 3) for g in (1, 2, 3)]
    wait_until(lambda: set(_readings_by_gateway(background)) == set(serials), timeout=30, interval=0.3,
               message="readings of all nine demo gateways")
    log = broker.log_file.read_text()
    assert all(f"on port {broker.tls_port}" in log and f"as {serial} " in log and f"u'{serial}'" in log
               for serial in serials), log[-2000:]
    # No certificate: no TLS session; no TLS or no password: no MQTT session on either listener.
    assert raw_tls_attempt("127.0.0.1", broker.tls_port, pki.ca_cert_file) != "connack"
    assert not mqtt_connect("127.0.0.1", broker.tls_port).connected
    assert not mqtt_connect("127.0.0.1", broker.ingest_port).connected
    assert not mqtt_connect("127.0.0.1", broker.ingest_port, username="tds-ingest", password="guess").connected

    # A revocation made through the service (as the UI and API make it) reaches this broker at once.
    engine = create_db_engine(background.settings.database_url, pool_size=1)
    with session_scope(engine) as conn:
        _, sync = revoke_gateway(conn, Actor(None, "test"), "GW-0101", "test", pki=pki)
    engine.dispose()
    assert sync.reloaded, sync.detail
    before = _readings_by_gateway(background)
    wait_until(lambda: _readings_by_gateway(background)["GW-0102"] > before["GW-0102"] + 30, timeout=30,
               interval=0.3, message="the other gateways keep publishing")
    after = _readings_by_gateway(background)
    assert after["GW-0101"] <= before["GW-0101"] + 12, "the revoked gateway's readings kept being stored"
    background.stop()

    # A restart reuses the certificates that are still good and replaces the revoked one.
    files = {path.name: path.read_bytes() for path in broker.certificates_dir.glob("*.crt")}
    again = started(_settings(tmp_path / "var"))
    renewed = {path.name: path.read_bytes() for path in again.broker.certificates_dir.glob("*.crt")}
    assert [name for name in files if renewed[name] != files[name]] == ["GW-0101.crt"]


def test_dmb002_forced_amqtt_says_mtls_is_off_and_how_to_get_it(tmp_path, started, caplog):
    caplog.set_level(logging.WARNING, logger="tds_dash.background.runtime")
    # Without the demo fleet: the notice is the broker's, and amqtt is slow to accept nine gateways on a busy machine.
    background = started(_settings(tmp_path / "var", TDS_DEMO_BROKER="amqtt", TDS_DEMO_FLEET="false"))
    assert not background.uses_mtls and background.demo_tls() is None
    said = "\n".join(background.broker_lines())  # what `run` prints
    for text in (caplog.text, said):
        assert "mTLS is OFF" in text and "apt install mosquitto" in text and "TDS_DEMO_BROKER=amqtt" in text
    assert not (tmp_path / "var" / "pki" / "broker" / "mosquitto.conf").exists()
    assert background.settings.mqtt_url.startswith("mqtt://tds-ingest:") and background.settings.mqtt_protocol == 4


def test_dmb003_demo_broker_setting():
    assert load_settings({}).demo_broker == "auto"
    assert load_settings({"TDS_DEMO_BROKER": "Mosquitto"}).demo_broker == "mosquitto"
    with pytest.raises(SettingsError, match="TDS_DEMO_BROKER"):
        load_settings({"TDS_DEMO_BROKER": "emqx"})
