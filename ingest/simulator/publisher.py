"""Live publishing of the simulated fleet over MQTT, bounded by a count, a duration or a rate."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import datetime, timezone

import paho.mqtt.client as mqtt

from ingest.simulator.fleet import SimGateway, build_payload
from ingest.subscriber import BrokerAddress


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """CA to verify the broker with, and the client certificate and key (mTLS); `{serial}` in a path is
    replaced by each gateway's serial, since the broker takes the certificate's CN as the gateway's identity."""

    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def for_gateway(self, serial: str | None) -> dict:
        """paho's tls_set arguments for this gateway's connection."""
        fill = (lambda path: path.replace("{serial}", serial) if path and serial else path)  # noqa: E731
        return {"ca_certs": self.cafile, "certfile": fill(self.certfile), "keyfile": fill(self.keyfile)}


CONNACK_TIMEOUT_S = 10.0
log = logging.getLogger(__name__)


class LivePublisher(threading.Thread):
    """Publishes one message per gateway per interval until stopped or a count/duration bound is hit."""

    def __init__(self, mqtt_url: str, fleet: list[SimGateway], interval_s: float, qos: int = 1,
                 protocol: int = 5, max_messages: int | None = None, max_seconds: float | None = None,
                 rate_limit: float | None = None, client_id: str | None = None, status: bool = False,
                 tls: TlsFiles | None = None) -> None:
        super().__init__(name="tds-simulator", daemon=True)
        # status: one connection per gateway, each with a Last Will ('offline') and a retained birth ('online')
        # on its status topic, as real gateways do; otherwise one shared connection (benchmarks).
        self.status = status
        self.mqtt_url, self.fleet, self.interval_s, self.qos = mqtt_url, fleet, interval_s, qos
        self.protocol, self.max_messages, self.max_seconds = protocol, max_messages, max_seconds
        self.rate_limit = rate_limit
        self.tls = tls  # with files or an mqtts:// URL the connections use TLS
        self.client_id = client_id or f"tds-sim-{int(time.time() * 1000) % 10**9}"
        self.stopped = threading.Event()
        self.published = 0
        self.error: str | None = None  # why it could not connect, for the CLI
        self.sequences: dict[str, int] = {}  # per gateway, from 0: a restarted gateway starts over

    def stop(self) -> None:
        self.stopped.set()

    def _client(self, client_id: str, status_topic: str | None = None, serial: str | None = None):
        address = BrokerAddress.from_url(self.mqtt_url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5 if self.protocol == 5 else mqtt.MQTTv311)
        if address.tls or self.tls is not None:
            client.tls_set(**(self.tls or TlsFiles()).for_gateway(serial))
        if address.username:
            client.username_pw_set(address.username, address.password)
        client.max_queued_messages_set(1000)
        if status_topic:
            client.will_set(status_topic, b"offline", qos=1, retain=True)  # the broker publishes it if we vanish
        accepted = self._await_connack(client)
        client.connect(address.host, address.port, keepalive=30)
        client.loop_start()
        if not accepted.wait(CONNACK_TIMEOUT_S) or not client.is_connected():
            # With TLS 1.3 a broker refuses a missing or revoked certificate after the handshake: only the
            # missing CONNACK tells, and publishing on would count messages nobody received.
            client.loop_stop()
            raise ConnectionError(f"{client_id}: the broker at {address.host}:{address.port} refused the connection")
        if status_topic:
            client.publish(status_topic, b"online", qos=1, retain=True)
        return client

    @staticmethod
    def _await_connack(client) -> threading.Event:
        accepted = threading.Event()
        client.on_connect = lambda _c, _u, _flags, code, _props: None if code.is_failure else accepted.set()
        return accepted

    def _clients(self) -> dict[str, object]:
        """The connection each gateway publishes on."""
        if not self.status:
            shared = self._client(self.client_id)
            return {gateway.serial: shared for gateway in self.fleet}
        return {gateway.serial: self._client(f"{self.client_id}-{gateway.serial}", gateway.status_topic,
                                             gateway.serial)
                for gateway in self.fleet}

    def _close(self, clients: dict[str, object]) -> None:
        """A clean disconnect sends no will, so say 'offline' ourselves first."""
        if self.status:
            for gateway in self.fleet:
                info = clients[gateway.serial].publish(gateway.status_topic, b"offline", qos=1, retain=True)
                try:
                    info.wait_for_publish(2)
                except (RuntimeError, ValueError):  # broker already gone: it will publish our will instead
                    pass
        for client in {id(c): c for c in clients.values()}.values():
            client.loop_stop()
            client.disconnect()

    def run(self) -> None:
        try:
            clients = self._clients()
        except (ConnectionError, OSError) as error:  # the CLI reports it (self.error) and exits non-zero
            self.error = str(error)
            log.error("simulator could not connect: %s", error)
            return
        started = time.monotonic()
        try:
            while not self.stopped.is_set():
                tick = time.monotonic()
                now = datetime.now(timezone.utc)
                for gateway in self.fleet:
                    if self._bounded(started):
                        return
                    seq = self.sequences.get(gateway.serial, 0)
                    self.sequences[gateway.serial] = seq + 1
                    clients[gateway.serial].publish(gateway.topic, build_payload(gateway, now, seq), qos=self.qos)
                    self.published += 1
                    if self.rate_limit:
                        self.stopped.wait(1 / self.rate_limit)
                self.stopped.wait(max(0.0, self.interval_s - (time.monotonic() - tick)))
        finally:
            self._close(clients)

    def _bounded(self, started: float) -> bool:
        if self.stopped.is_set():
            return True
        if self.max_messages is not None and self.published >= self.max_messages:
            return True
        return self.max_seconds is not None and time.monotonic() - started >= self.max_seconds
