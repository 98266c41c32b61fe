"""Security finding 7: the embedded amqtt broker wants a credential and refuses over-size packets.

A real EmbeddedBroker on a free loopback port with a tmp data dir; paho clients, a hand-made MQTT stream
for the 32 MB publish (so the sender holds no 32 MB itself), and the real ingest for "never stored".
"""
from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ingest import simulator
from ingest.service import start_ingest
from tds_dash.background import broker_credentials
from tds_dash.background.embedded import MESSAGE_SIZE_LIMIT, EmbeddedBroker
from tests.helpers import free_port, settings_for, telemetry, topic, unique_name, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def broker(tmp_path):
    started = EmbeddedBroker(free_port(), tmp_path / "var")
    started.start()
    yield started
    started.stop()


def connect(broker, username=None, password=None, client_id=None, timeout=5.0):
    """A paho 3.1.1 client; returns (client, reason code) once the CONNACK came (client stopped on refusal)."""
    done, result = threading.Event(), {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or unique_name("t-"),
                         protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    client.on_connect = lambda c, u, flags, code, props: (result.setdefault("code", code), done.set())
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    assert done.wait(timeout), "no CONNACK"
    if result["code"].is_failure:
        client.loop_stop()
    return client, result["code"]


def close(client) -> None:
    client.disconnect()
    client.loop_stop()


def test_brk001_credentials_are_generated_private_and_reused(broker, tmp_path):
    data_dir = tmp_path / "var"
    for name in (broker_credentials.CREDENTIALS_FILE, broker_credentials.PASSWORD_FILE):
        assert (data_dir / name).stat().st_mode & 0o777 == 0o600, name
    stored = json.loads((data_dir / broker_credentials.CREDENTIALS_FILE).read_text())
    assert set(stored) == {"ingest", "demo"} and stored["ingest"]["password"] != stored["demo"]["password"]
    assert broker_credentials.load_or_create(data_dir) == stored  # a restart reuses them
    hashes = (data_dir / broker_credentials.PASSWORD_FILE).read_text()
    assert stored["ingest"]["password"] not in hashes and hashes.count("$argon2id$") == 2
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}" and stored["ingest"]["password"] in broker.client_url("ingest")
    assert broker_credentials.redact(broker.client_url("ingest")) == broker.url  # what start-up prints


def test_brk002_anonymous_and_wrong_passwords_are_refused_credentials_work(broker):
    ingest, demo = broker.credentials["ingest"], broker.credentials["demo"]
    assert connect(broker)[1].is_failure  # anonymous
    assert connect(broker, ingest["username"], "wrong")[1].is_failure
    assert connect(broker, "nobody", demo["password"])[1].is_failure
    # The demo's credential cannot take the ingest's client id (and with it the ingest's session).
    assert connect(broker, demo["username"], demo["password"], client_id="tds-ingest")[1].is_failure
    for credential, client_id in ((ingest, "tds-ingest"), (demo, "tds-demo-fleet")):
        client, code = connect(broker, credential["username"], credential["password"], client_id=client_id)
        assert not code.is_failure
        close(client)


def test_brk003_size_limit_matches_deploy_mosquitto_conf():
    conf = (ROOT / "deploy" / "mosquitto.conf").read_text()
    assert int(re.search(r"^message_size_limit (\d+)$", conf, re.M).group(1)) == MESSAGE_SIZE_LIMIT


def _string(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def _varint(length: int) -> bytes:
    out = bytearray()
    while True:
        length, byte = divmod(length, 128)
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def stream_huge_publish(broker, credential: dict, size: int) -> int:
    """Announce a `size`-byte PUBLISH and stream its body; returns how many body bytes got out."""
    body = b"\x00\x04MQTT\x04\xc2\x00\x3c" + _string(unique_name("big-")) + _string(credential["username"]) \
        + _string(credential["password"])
    sent = 0
    with socket.create_connection((broker.host, broker.port), timeout=5) as sock:
        sock.sendall(b"\x10" + _varint(len(body)) + body)
        assert sock.recv(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
        subject = _string(topic("acme", "GW-0101"))
        sock.sendall(b"\x30" + _varint(len(subject) + size) + subject)
        chunk = b"x" * 65536
        try:
            while sent < size:  # bounded by size: at most 32 MB over loopback
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
    return sent


def test_brk004_oversize_publish_is_refused_unread_and_never_reaches_the_ingest(broker, database):
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1))
    settings = settings_for(database, broker, TDS_MQTT_PROTOCOL="3.1.1")
    handle = start_ingest(settings, database.dsn, broker.client_url("ingest"))
    try:
        wait_until(lambda: handle.subscriber.subscribed.is_set(), message="ingest subscribed to the embedded broker")
        size = 32 * 1024 * 1024
        assert stream_huge_publish(broker, broker.credentials["demo"], size) < size // 2
        stream_huge_publish(broker, broker.credentials["demo"], MESSAGE_SIZE_LIMIT + 2048)  # just over: refused too
        # The broker is still up and delivers a normal message, which is stored; the big ones never were.
        demo = broker.credentials["demo"]
        client, code = connect(broker, demo["username"], demo["password"])
        assert not code.is_failure
        client.publish(topic("acme", "GW-0101"),
                       telemetry([{"device": "MED-001", "metric": "energy_kwh", "value": 1.0}]), qos=1).wait_for_publish(5)
        close(client)
        wait_until(lambda: database.scalar("SELECT count(*) FROM readings") == 1, timeout=15)
        # Delivered, either big one would be a payload_too_large rejection: there is none.
        assert database.scalar("SELECT count(*) FROM rejected_messages") == 0
    finally:
        handle.stop()
