"""Broker mTLS end to end: a real Mosquitto started from the config broker-config writes, real TLS
clients, the real ingest on the password listener, readings checked in PostgreSQL."""
from __future__ import annotations

import dataclasses
import time
import types
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tds_dash.certificates.broker_config import BrokerLayout, write_broker_files
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.issuing import sign_gateway_certificate
from tds_dash.certificates.pki import (
    create_authority,
    key_pem,
    load_or_create_authority,
    new_key,
    utc_now,
)
from tds_dash.certificates.service import Actor, issue_for_gateway, revoke, sync_now
from tds_dash.db import session_scope
from tests.certificates_tools import (
    HOSTS,
    TlsBroker,
    free_ports,
    mqtt_connect,
    provision_fleet,
    publish_and_wait,
    raw_tls_attempt,
    stop_client,
    telemetry_for,
    write_files,
)
from tests.helpers import now_ms, settings_for, wait_until

FLEET = {"GW-A1": "acme", "GW-A2": "acme", "GW-B1": "beta"}
ADMIN = Actor(None, "test-admin")


@dataclasses.dataclass
class Env:
    broker: TlsBroker
    pki: PkiConfig
    engine: object
    database: object
    directory: Path

    def issue(self, serial: str, **kwargs):
        """Issue through the service; returns (bundle, paho TLS files)."""
        with session_scope(self.engine) as conn:
            bundle = issue_for_gateway(conn, ADMIN, serial, pki=self.pki, **kwargs)
        files = write_files(self.directory, f"{serial}-{bundle.certificate.id}", bundle.cert_pem, bundle.key_pem)
        return bundle, files

    def revoke(self, certificate_id: int):
        with session_scope(self.engine) as conn:
            return revoke(conn, ADMIN, certificate_id, "test", pki=self.pki)

    def gateway(self, files: dict | None, **kwargs):
        return mqtt_connect(self.broker.host, self.broker.tls_port, ca_file=self.broker.ca_file, files=files, **kwargs)

    def stored(self, value: float) -> int:
        return self.database.scalar("SELECT count(*) FROM readings WHERE value = %s", (value,))


@pytest.fixture
def tls(database, tmp_path):
    """Fleet + CA + broker files written by our code, then /usr/sbin/mosquitto on two free loopback ports."""
    provision_fleet(database, FLEET)
    broker_dir, clients = tmp_path / "broker", tmp_path / "clients"
    clients.mkdir()
    tls_port, ingest_port = free_ports(2)
    settings = settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"), TDS_PKI_DIR=tmp_path / "pki",
                            TDS_BROKER_PID_FILE=broker_dir / "mosquitto.pid")
    pki = PkiConfig.from_settings(settings)
    # `user root`: run as root (these machines), Mosquitto would drop to its own user and lose access to tmp
    # files; stderr because its stdout to a file is block-buffered and tests read the log.
    layout = BrokerLayout(broker_dir, HOSTS, tls_port, "127.0.0.1", "127.0.0.1", ingest_port, None, "root",
                          ("log_dest stderr",))
    engine = database.engine()
    with session_scope(engine) as conn:
        sync_now(conn, pki, create_ca=True)
    credential = write_broker_files(layout, pki, load_or_create_authority(pki), utc_now())
    broker = TlsBroker(broker_dir, tls_port, ingest_port, credential.mqtt_url).start()
    try:
        yield Env(broker, pki, engine, database, clients)
    finally:
        broker.stop()


def _marker(env: Env, outcome, serial: str, account: str, value: float) -> None:
    """Publish an allowed reading and wait until it is stored: everything published before it was handled."""
    publish_and_wait(outcome, f"tds/{account}/{serial}/telemetry", telemetry_for(value))
    wait_until(lambda: env.stored(value) == 1, timeout=10, message=f"marker {value} stored")


def test_crt001_no_client_certificate_handshake_refused(tls):
    answer = raw_tls_attempt(tls.broker.host, tls.broker.tls_port, tls.broker.ca_file)
    assert answer.startswith(("tls error", "closed")), answer
    wait_until(lambda: "peer did not return a certificate" in tls.broker.log_tail(), message="the broker's reason")
    assert not tls.gateway(None).connected


def test_crt002_certificate_from_another_ca_refused(tls):
    other, key = create_authority("someone else's CA"), new_key()
    signed = sign_gateway_certificate(other, "GW-A1", key.public_key(), utc_now(), 30)
    files = write_files(tls.directory, "foreign", signed.cert_pem, key_pem(key))
    assert raw_tls_attempt(tls.broker.host, tls.broker.tls_port, tls.broker.ca_file, files) != "connack"
    assert not tls.gateway(files).connected


def test_crt003_expired_certificate_refused(tls):
    key = new_key()
    authority = load_or_create_authority(tls.pki, create=False)
    signed = sign_gateway_certificate(authority, "GW-A1", key.public_key(), utc_now() - timedelta(days=10), 2)
    files = write_files(tls.directory, "expired", signed.cert_pem, key_pem(key))
    assert raw_tls_attempt(tls.broker.host, tls.broker.tls_port, tls.broker.ca_file, files) != "connack"
    assert not tls.gateway(files).connected


def test_crt004_valid_certificate_publishes_and_reading_is_stored(tls, ingest):
    ingest(database=tls.database, broker=tls.broker)
    _, files = tls.issue("GW-A1")
    assert raw_tls_attempt(tls.broker.host, tls.broker.tls_port, tls.broker.ca_file, files) == "connack"
    gateway = tls.gateway(files, protocol=mqtt.MQTTv5)
    assert gateway.connected, gateway.detail
    _marker(tls, gateway, "GW-A1", "acme", 101.0)
    stop_client(gateway)


def test_crt005_revoked_refused_at_reconnect_and_live_session_loses_its_topics(tls, ingest):
    ingest(database=tls.database, broker=tls.broker)
    bundle, files = tls.issue("GW-A1")
    _, other_files = tls.issue("GW-A2")
    live, witness = tls.gateway(files), tls.gateway(other_files)
    _marker(tls, live, "GW-A1", "acme", 201.0)
    sync = tls.revoke(bundle.certificate.id)
    assert sync.reloaded, sync.detail
    revoked_at, value, blocked_after = time.monotonic(), 300.0, None
    while blocked_after is None and time.monotonic() - revoked_at < 5:
        value += 1
        try:
            publish_and_wait(live, "tds/acme/GW-A1/telemetry", telemetry_for(value))
        except (AssertionError, RuntimeError, ValueError):
            pass  # a broker that drops the session instead also counts as "no longer stored"
        _marker(tls, witness, "GW-A2", "acme", value + 0.5)
        if tls.stored(value) == 0:
            blocked_after = time.monotonic() - revoked_at
    assert blocked_after is not None and blocked_after < 5, "the revoked session could still store readings"
    for _ in range(3):  # and it stays blocked
        value += 1
        if live.client.is_connected():
            publish_and_wait(live, "tds/acme/GW-A1/telemetry", telemetry_for(value))
        _marker(tls, witness, "GW-A2", "acme", value + 0.5)
        assert tls.stored(value) == 0
    stop_client(live)
    again = tls.gateway(files)
    assert not again.connected, "a revoked certificate reconnected"
    stop_client(witness)


def test_crt006_gateway_cannot_publish_to_other_topics(tls, ingest):
    ingest(database=tls.database, broker=tls.broker)
    _, files = tls.issue("GW-A1")
    tls.issue("GW-B1")
    gateway = tls.gateway(files)
    forbidden = {"tds/acme/GW-A2/telemetry": 401.0,  # a neighbour in the same account
                 "tds/beta/GW-B1/telemetry": 402.0,  # another account's gateway
                 "tds/beta/GW-A1/telemetry": 403.0,  # itself under another account
                 "tds/acme/GW-A2/status": None}
    for topic, value in forbidden.items():
        publish_and_wait(gateway, topic, telemetry_for(value) if value else b"offline")
    _marker(tls, gateway, "GW-A1", "acme", 404.0)
    assert [tls.stored(value) for value in (401.0, 402.0, 403.0)] == [0, 0, 0]
    rejected = tls.database.scalar("SELECT count(*) FROM rejected_messages WHERE topic = ANY(%s)", (list(forbidden),))
    assert rejected == 0, "a forbidden publish reached the ingest"
    assert tls.database.scalar("SELECT status FROM gateways WHERE serial = 'GW-A2'") is None
    stop_client(gateway)


def test_crt007_gateway_subscribing_to_everything_receives_nothing(tls, ingest):
    ingest(database=tls.database, broker=tls.broker)
    _, spy_files = tls.issue("GW-A1")
    _, files = tls.issue("GW-A2")
    spy, publisher = tls.gateway(spy_files), tls.gateway(files)
    assert spy.connected and publisher.connected, (spy.detail, publisher.detail)
    for pattern in ("tds/#", "#", "$share/spies/tds/#"):
        spy.client.subscribe(pattern, qos=1)
    time.sleep(0.2)
    publish_and_wait(publisher, "tds/acme/GW-A2/status", b"online")
    _marker(tls, publisher, "GW-A2", "acme", 501.0)
    time.sleep(0.2)
    assert spy.messages == []
    stop_client(spy)
    stop_client(publisher)


def test_crt008_ingest_listener_needs_the_ingest_credential(tls, ingest):
    host, port = tls.broker.host, tls.broker.ingest_port
    password = tls.broker.ingest_url.split(":")[2].split("@")[0]
    assert not mqtt_connect(host, port).connected
    assert not mqtt_connect(host, port, client_id="tds-ingest").connected
    assert not mqtt_connect(host, port, username="tds-ingest", password="wrong", client_id="tds-ingest").connected
    assert not mqtt_connect(host, port, username="GW-A1", password=password).connected
    good = mqtt_connect(host, port, username="tds-ingest", password=password, client_id="tds-ingest-probe")
    assert good.connected, good.detail  # our $7$ hash is what Mosquitto 2.0.11 verifies
    stop_client(good)
    # A gateway asking for the ingest's client id on the TLS listener gets its CN instead: no takeover.
    handle = ingest(database=tls.database, broker=tls.broker, TDS_MQTT_CLIENT_ID="tds-ingest")
    _, files = tls.issue("GW-A1")
    impostor = tls.gateway(files, client_id="tds-ingest")
    assert impostor.connected, impostor.detail
    _marker(tls, impostor, "GW-A1", "acme", 601.0)
    assert handle.subscriber.connected.is_set()
    assert "closing old connection" not in tls.broker.log_tail(20000)
    stop_client(impostor)


def test_crt009_rotation_with_overlap_loses_no_reading(tls, ingest):
    ingest(database=tls.database, broker=tls.broker)
    old, old_files = tls.issue("GW-A1")
    base, values = now_ms() - timedelta(minutes=1), []

    def send(outcome, count: int) -> None:
        for _ in range(count):
            value = 700.0 + len(values)
            values.append(value)
            at = base + timedelta(seconds=len(values))
            publish_and_wait(outcome, "tds/acme/GW-A1/telemetry", telemetry_for(value, at))

    first = tls.gateway(old_files)
    send(first, 5)
    _, new_files = tls.issue("GW-A1")  # the old one stays active: the gateway swaps when it is ready
    send(first, 3)
    stop_client(first)
    second = tls.gateway(new_files)
    assert second.connected, second.detail
    send(second, 5)
    tls.revoke(old.certificate.id)
    send(second, 5)
    wait_until(lambda: all(tls.stored(value) == 1 for value in values), timeout=10, message="every reading stored")
    assert not tls.gateway(old_files).connected
    stop_client(second)


def test_crt010_csr_signed_certificate_connects(tls, ingest):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    ingest(database=tls.database, broker=tls.broker)
    key = new_key()  # the firmware's key: it never leaves the gateway
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "GW-B1")])).sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives.serialization import Encoding

    with session_scope(tls.engine) as conn:
        bundle = issue_for_gateway(conn, ADMIN, "GW-B1", pki=tls.pki, csr_pem=csr.public_bytes(Encoding.PEM))
    assert bundle.key_pem is None and bundle.certificate.key_origin == "csr"
    files = write_files(tls.directory, "csr", bundle.cert_pem, key_pem(key))
    gateway = tls.gateway(files)
    assert gateway.connected, gateway.detail
    _marker(tls, gateway, "GW-B1", "beta", 801.0)
    stop_client(gateway)


def test_crt011_shared_subscription_ingest_reads_through_the_acl(tls, ingest):
    ingest(database=tls.database, broker=tls.broker, TDS_INGEST_SLOTS=2)  # $share/tds-ingest/tds/+/+/telemetry
    _, files = tls.issue("GW-A2")
    gateway = tls.gateway(files)
    _marker(tls, gateway, "GW-A2", "acme", 901.0)
    publish_and_wait(gateway, "tds/acme/GW-A2/status", b"online")
    wait_until(lambda: tls.database.scalar("SELECT status FROM gateways WHERE serial = 'GW-A2'") == "online",
               message="status message read by the ingest")
    stop_client(gateway)


def test_crt012_changes_milliseconds_apart_all_reach_the_broker(tls, ingest):
    """Mosquitto drops a SIGHUP that arrives while it reloads: the follow-up SIGHUP must cover it."""
    ingest(database=tls.database, broker=tls.broker)
    files = {serial: tls.issue(serial)[1] for serial in ("GW-A1", "GW-A2", "GW-B1")}  # three reloads at once
    for value, serial in enumerate(files, start=1201):
        gateway = tls.gateway(files[serial])
        assert gateway.connected, gateway.detail
        _marker(tls, gateway, serial, FLEET[serial], float(value))
        stop_client(gateway)


def test_crt013_spoofed_publishes_leave_the_victims_seq_gaps_untouched(tls, ingest):
    """A's certificate publishing seq 100 on B's topics (same account, other account) between B's seq 1 and 2:
    had one got through, B would count 98 missing messages."""
    from tests.helpers import telemetry

    ingest(database=tls.database, broker=tls.broker)
    files = {serial: tls.issue(serial)[1] for serial in FLEET}
    spoofer = tls.gateway(files["GW-A1"])
    victims = {serial: tls.gateway(files[serial]) for serial in ("GW-A2", "GW-B1")}

    def own(serial: str, seq: int, value: float) -> None:
        body = telemetry([{"device": "MED-1", "metric": "energy_kwh", "value": value}], seq=seq)
        publish_and_wait(victims[serial], f"tds/{FLEET[serial]}/{serial}/telemetry", body)
        wait_until(lambda: tls.stored(value) == 1, timeout=10, message=f"{serial} seq {seq} stored")

    for number, serial in enumerate(victims):
        own(serial, 1, 1301.0 + number)
    for serial in victims:
        spoof = telemetry([{"device": "MED-1", "metric": "energy_kwh", "value": 1399.0}], seq=100)
        publish_and_wait(spoofer, f"tds/{FLEET[serial]}/{serial}/telemetry", spoof)
    for number, serial in enumerate(victims):
        own(serial, 2, 1311.0 + number)
    assert tls.stored(1399.0) == 0
    rows = tls.database.query("SELECT serial, seq_gaps, last_seq FROM gateways WHERE serial = ANY(%s)", (list(victims),))
    assert {serial: (gaps, last) for serial, gaps, last in rows} == {"GW-A2": (0, 2), "GW-B1": (0, 2)}, rows
    for client in (spoofer, *victims.values()):
        stop_client(client)
