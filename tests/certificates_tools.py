"""Test tools for gateway certificates: a real Mosquitto configured by our broker-config code, real TLS
clients (paho and raw ssl), and a small fleet. Plain code; the fixtures are in the test modules."""
from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.helpers import MOSQUITTO_BIN, free_port, port_open, unique_name

HOSTS = ("localhost", "127.0.0.1")
# A minimal MQTT 3.1.1 CONNECT (client id "raw"): enough to make a server that refused our certificate speak.
RAW_CONNECT = bytes([0x10, 15, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 3]) + b"raw"


def provision_fleet(database, gateways: dict[str, str]) -> None:
    """Accounts and gateways ({serial: account slug}) straight into the test database."""
    with database.connect() as conn:
        for slug in sorted(set(gateways.values())):
            conn.execute("INSERT INTO accounts (slug, name) VALUES (%s, %s) ON CONFLICT DO NOTHING", (slug, slug))
        for serial, slug in gateways.items():
            conn.execute("INSERT INTO gateways (account_id, serial, name)"
                         " SELECT id, %s, %s FROM accounts WHERE slug = %s", (serial, serial, slug))


@dataclasses.dataclass
class TlsBroker:
    """Mosquitto started from the mosquitto.conf that broker-config writes; `url` is the ingest's MQTT_URL."""

    directory: Path
    tls_port: int
    ingest_port: int
    ingest_url: str
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return self.ingest_url

    @property
    def port(self) -> int:  # what tests.helpers.purge_session connects to
        return self.ingest_port

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> TlsBroker:
        with open(self.directory / "mosquitto.log", "ab") as log:
            self.process = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.directory / "mosquitto.conf")],
                                            stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            if port_open(self.host, self.tls_port) and port_open(self.host, self.ingest_port):
                return self
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"mosquitto did not start; log:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return (self.directory / "mosquitto.log").read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


def write_files(directory: Path, name: str, cert_pem: bytes, key_pem: bytes) -> dict:
    """A client's certificate and key as files (what paho and ssl load)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    key.chmod(0o600)
    return {"certfile": str(cert), "keyfile": str(key)}


@dataclasses.dataclass
class Outcome:
    connected: bool
    detail: str
    client: mqtt.Client | None = None
    messages: list = dataclasses.field(default_factory=list)


def mqtt_connect(host: str, port: int, *, ca_file: Path | None = None, files: dict | None = None,
                 username: str | None = None, password: str | None = None, client_id: str | None = None,
                 protocol: int = mqtt.MQTTv311, timeout: float = 10.0) -> Outcome:
    """Connect like a gateway; `connected` only after a successful CONNACK. A failed client is stopped."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or unique_name("gw-test-"),
                         protocol=protocol)
    done, result, messages = threading.Event(), {}, []
    client.on_connect = lambda c, u, flags, code, props: (result.setdefault("code", code), done.set())
    client.on_disconnect = lambda c, u, flags, code, props: (result.setdefault("code", code), done.set())
    client.on_message = lambda c, u, msg: messages.append((msg.topic, msg.payload))
    if username:
        client.username_pw_set(username, password)
    if ca_file is not None:
        client.tls_set(ca_certs=str(ca_file), **(files or {}))
    try:
        client.connect(host, port, keepalive=30)
    except (OSError, ssl.SSLError) as error:
        return Outcome(False, f"connect failed: {error!r}")
    client.loop_start()
    done.wait(timeout)
    code = result.get("code")
    if code is not None and not code.is_failure and client.is_connected():
        return Outcome(True, "connected", client, messages)
    client.disconnect()
    client.loop_stop()
    return Outcome(False, f"refused: {code!s}" if code is not None else "no CONNACK")


def stop_client(outcome: Outcome) -> None:
    if outcome.client is not None:
        outcome.client.disconnect()
        outcome.client.loop_stop()


def raw_tls_attempt(host: str, port: int, ca_file: Path, files: dict | None = None) -> str:
    """Handshake with ssl directly and send a CONNECT: 'connack' if the broker answered, else why not."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if files:
        context.load_cert_chain(files["certfile"], files["keyfile"])
    try:
        with socket.create_connection((host, port), timeout=5) as sock, \
                context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(RAW_CONNECT)
            answer = tls.recv(4)
    except ssl.SSLError as error:
        return f"tls error: {error.reason or error}"
    except OSError as error:
        return f"closed: {error!r}"
    return "connack" if answer[:1] == b"\x20" else f"closed: {answer!r}"


def telemetry_for(value: float, at: datetime | None = None) -> bytes:
    from tests.helpers import telemetry

    return telemetry([{"device": "MED-1", "metric": "energy_kwh", "value": value}], at=at)


def publish_and_wait(outcome: Outcome, topic: str, payload: bytes, qos: int = 1) -> None:
    """Publish and wait for the broker's PUBACK (which Mosquitto sends even for a publish its ACL drops)."""
    info = outcome.client.publish(topic, payload, qos=qos)
    info.wait_for_publish(5)
    assert info.is_published(), f"no PUBACK for {topic}"


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)
