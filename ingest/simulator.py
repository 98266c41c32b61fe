"""Gateway simulator: a fleet with realistic meter profiles, publishing over MQTT or backfilling history.

Run `python -m ingest.simulator --help`. Never imported by the web app except the demo runner.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import click

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)  # counters start from here, so any instant has a value
TWO_PI = 2 * math.pi

log = logging.getLogger(__name__)

# device kind -> (code prefix, [(metric, role)]); role picks the profile below
DEVICE_KINDS = {
    "energy_meter": ("MED", [("energy_kwh", "energy_counter"), ("power_kw", "power_gauge")]),
    "water_meter": ("HID", [("water_m3", "water_counter")]),
    "temperature_sensor": ("TMP", [("temperature_c", "temperature_gauge")]),
}
KIND_CYCLE = ["energy_meter", "energy_meter", "water_meter", "energy_meter", "temperature_sensor"]


@dataclasses.dataclass(frozen=True)
class SimDevice:
    code: str
    kind: str
    scale: float  # average consumption per hour (kWh or m³), or the gauge's base level

    @property
    def metrics(self) -> list[tuple[str, str]]:
        return DEVICE_KINDS[self.kind][1]


@dataclasses.dataclass(frozen=True)
class SimGateway:
    account: str
    serial: str
    devices: tuple[SimDevice, ...]

    @property
    def topic(self) -> str:
        return f"tds/{self.account}/{self.serial}/telemetry"

    @property
    def status_topic(self) -> str:
        return f"tds/{self.account}/{self.serial}/status"


def _unit_noise(*parts: object) -> float:
    """Deterministic pseudo-random number in [0, 1) from the given parts."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def build_fleet(accounts: list[str], gateways_per_account: int, devices_per_gateway: int,
                serial_prefix: str = "GW") -> list[SimGateway]:
    """A deterministic fleet: the same arguments always give the same serials, codes and scales."""
    fleet = []
    for a_index, account in enumerate(accounts):
        for g_index in range(gateways_per_account):
            serial = f"{serial_prefix}-{a_index + 1:02d}{g_index + 1:02d}"
            devices = []
            for d_index in range(devices_per_gateway):
                kind = KIND_CYCLE[d_index % len(KIND_CYCLE)]
                prefix = DEVICE_KINDS[kind][0]
                scale = {"energy_meter": 5 + 40 * _unit_noise(serial, d_index),
                         "water_meter": 0.05 + 0.4 * _unit_noise(serial, d_index),
                         "temperature_sensor": 20 + 6 * _unit_noise(serial, d_index)}[kind]
                devices.append(SimDevice(f"{prefix}-{d_index + 1:03d}", kind, round(scale, 3)))
            fleet.append(SimGateway(account, serial, tuple(devices)))
    return fleet


def _shape_integral(hours: float) -> float:
    """Integral of the consumption shape 1 + .5 sin(day) + .25 sin(week) + .15 sin(year), from EPOCH.

    Peaks at 15:00 UTC-3, on mid-week days and in the southern summer; always positive, so counters only rise.
    """
    def cycle(period: float, amplitude: float, phase: float) -> float:
        w = TWO_PI / period
        return -amplitude / w * (math.cos(w * (hours - phase)) - math.cos(w * -phase))
    return hours + cycle(24, 0.5, 12) + cycle(168, 0.25, 60) + cycle(8766, 0.15, -2000)


def _shape(hours: float) -> float:
    return (1 + 0.5 * math.sin(TWO_PI * (hours - 12) / 24) + 0.25 * math.sin(TWO_PI * (hours - 60) / 168)
            + 0.15 * math.sin(TWO_PI * (hours + 2000) / 8766))


def reading_value(device: SimDevice, role: str, at: datetime, gateway: str) -> float:
    """The value a device reports at an instant: counters are exact integrals, gauges add noise."""
    hours = (at - EPOCH).total_seconds() / 3600
    if role in {"energy_counter", "water_counter"}:
        base = 1000 * _unit_noise(gateway, device.code, "base")
        return round(base + device.scale * _shape_integral(hours), 3)
    noise = _unit_noise(gateway, device.code, role, int(hours * 3600)) - 0.5
    if role == "power_gauge":
        return round(device.scale * _shape(hours) * (1 + 0.1 * noise), 3)
    return round(device.scale + 3 * math.sin(TWO_PI * (hours - 12) / 24) + 0.4 * noise, 2)


def readings_at(gateway: SimGateway, at: datetime) -> list[dict]:
    return [{"device": device.code, "metric": metric, "value": reading_value(device, role, at, gateway.serial)}
            for device in gateway.devices for metric, role in device.metrics]


def build_payload(gateway: SimGateway, at: datetime, seq: int) -> bytes:
    """One message with every device's readings of one interval (the contract in docs/mqtt.md)."""
    body = {"v": 1, "ts": at.isoformat(timespec="milliseconds"), "seq": seq, "readings": readings_at(gateway, at)}
    return json.dumps(body, separators=(",", ":")).encode()


def provision_fleet(engine, fleet: list[SimGateway], account_names: dict[str, str] | None = None) -> None:
    """Create the fleet's accounts, gateways and devices (idempotent)."""
    from tds_dash.db import session_scope
    from tds_dash.queries import fleet as fleet_queries

    names = account_names or {}
    with session_scope(engine) as conn:
        account_ids = {}
        for gateway in fleet:
            if gateway.account not in account_ids:
                account_ids[gateway.account] = fleet_queries.upsert_account(
                    conn, gateway.account, names.get(gateway.account, gateway.account))
            gateway_id = fleet_queries.upsert_gateway(conn, account_ids[gateway.account], gateway.serial,
                                                      f"Gateway {gateway.serial}")
            for device in gateway.devices:
                name = f"{device.kind.replace('_', ' ').title()} {device.code}"
                fleet_queries.upsert_device(conn, gateway_id, device.code, name, device.kind)


def backfill_instants(start: datetime, end: datetime, interval: timedelta) -> Iterator[datetime]:
    step = interval.total_seconds()
    at = datetime.fromtimestamp(math.ceil(start.timestamp() / step) * step, tz=timezone.utc)
    while at < end:
        yield at
        at += interval


def backfill(dsn: str, timezone_name: str, fleet: list[SimGateway], start: datetime, end: datetime,
             interval: timedelta, progress: bool = True, chunk: timedelta = timedelta(days=1)) -> int:
    """Write history straight through the ingest store (same validation and rollups, no broker)."""
    import psycopg
    from tqdm import tqdm

    from ingest import payload as contract
    from ingest.writer import BatchStore, Envelope
    from ingest import store

    batch_store = BatchStore(timezone_name)
    total = 0
    chunks = max(1, math.ceil((end - start) / chunk))
    with psycopg.connect(dsn) as conn, tqdm(total=chunks, disable=not progress, unit="day",
                                            desc="backfill") as bar:
        store.prepare_session(conn)
        chunk_start, written = start, 0
        while chunk_start < end:
            chunk_end = min(chunk_start + chunk, end)
            batch = []
            for at in backfill_instants(chunk_start, chunk_end, interval):
                for gateway in fleet:
                    readings = tuple(contract.Reading(r["device"], r["metric"], r["value"], at)
                                     for r in readings_at(gateway, at))
                    # History carries no sequence number: it is not the live stream whose gaps we count.
                    message = contract.TelemetryMessage(gateway.account, gateway.serial, at, None, readings, ())
                    batch.append(Envelope(gateway.topic, b"", at, message=message))
            if batch:
                result = batch_store.write(conn, batch)
                conn.commit()
                total += result.stored
                written += 1
                if written in ANALYZE_AFTER_CHUNKS or written % 50 == 0:
                    store.analyze_tables(conn)  # fresh tables: stale statistics turn index probes into scans
            chunk_start = chunk_end
            bar.update(1)
    return total


ANALYZE_AFTER_CHUNKS = {1, 5, 20}


class LivePublisher(threading.Thread):
    """Publishes one message per gateway per interval until stopped or a count/duration bound is hit."""

    def __init__(self, mqtt_url: str, fleet: list[SimGateway], interval_s: float, qos: int = 1,
                 protocol: int = 5, max_messages: int | None = None, max_seconds: float | None = None,
                 rate_limit: float | None = None, client_id: str | None = None, status: bool = False) -> None:
        super().__init__(name="tds-simulator", daemon=True)
        # status: one connection per gateway, each with a Last Will ('offline') and a retained birth ('online')
        # on its status topic, as real gateways do; otherwise one shared connection (benchmarks).
        self.status = status
        self.mqtt_url, self.fleet, self.interval_s, self.qos = mqtt_url, fleet, interval_s, qos
        self.protocol, self.max_messages, self.max_seconds = protocol, max_messages, max_seconds
        self.rate_limit = rate_limit
        self.client_id = client_id or f"tds-sim-{int(time.time() * 1000) % 10**9}"
        self.stopped = threading.Event()
        self.published = 0
        self.sequences: dict[str, int] = {}  # per gateway, from 0: a restarted gateway starts over

    def stop(self) -> None:
        self.stopped.set()

    def _client(self, client_id: str, status_topic: str | None = None):
        import paho.mqtt.client as mqtt

        from ingest.subscriber import BrokerAddress

        address = BrokerAddress.from_url(self.mqtt_url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5 if self.protocol == 5 else mqtt.MQTTv311)
        if address.username:
            client.username_pw_set(address.username, address.password)
        client.max_queued_messages_set(1000)
        if status_topic:
            client.will_set(status_topic, b"offline", qos=1, retain=True)  # the broker publishes it if we vanish
        client.connect(address.host, address.port, keepalive=30)
        if status_topic:
            client.publish(status_topic, b"online", qos=1, retain=True)
        return client

    def _clients(self) -> dict[str, object]:
        """The connection each gateway publishes on."""
        if not self.status:
            shared = self._client(self.client_id)
            return {gateway.serial: shared for gateway in self.fleet}
        return {gateway.serial: self._client(f"{self.client_id}-{gateway.serial}", gateway.status_topic)
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
        clients = self._clients()
        for client in {id(c): c for c in clients.values()}.values():
            client.loop_start()
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


@click.command()
@click.option("--mqtt-url", default="mqtt://127.0.0.1:1883", show_default=True, help="Broker to publish to.")
@click.option("--database-url", envvar="DATABASE_URL", help="Needed by --provision and --backfill.")
@click.option("--accounts", default="demo", show_default=True, help="Comma-separated account slugs.")
@click.option("--gateways", default=2, show_default=True, type=click.IntRange(1, 10_000), help="Per account.")
@click.option("--devices", default=5, show_default=True, type=click.IntRange(1, 1000), help="Per gateway.")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.01, 86400),
              help="Seconds between a gateway's messages.")
@click.option("--qos", default=1, show_default=True, type=click.IntRange(0, 2))
@click.option("--protocol", default="5", type=click.Choice(["5", "3.1.1"]), show_default=True)
@click.option("--rate", type=click.FloatRange(0.1, 100_000), help="Max messages/s across the fleet.")
@click.option("--status/--no-status", default=True, show_default=True,
              help="One connection per gateway with a Last Will and a birth on tds/{account}/{gateway}/status.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many messages.")
@click.option("--duration", type=click.FloatRange(0.1), help="Stop after this many seconds.")
@click.option("--provision", is_flag=True, help="Create the fleet's accounts, gateways and devices first.")
@click.option("--backfill", "backfill_days", type=click.IntRange(1, 3650), help="Write DAYS of history, then exit.")
@click.option("--backfill-interval", default=900, show_default=True, type=click.IntRange(1, 86400),
              help="Seconds between backfilled readings.")
@click.option("--timezone", "timezone_name", default="America/Sao_Paulo", envvar="TDS_TIMEZONE", show_default=True)
def main(mqtt_url, database_url, accounts, gateways, devices, interval, qos, protocol, rate, status, count,
         duration, provision, backfill_days, backfill_interval, timezone_name):
    """Simulate gateways publishing telemetry (or backfill history into the database)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fleet = build_fleet([a.strip() for a in accounts.split(",") if a.strip()], gateways, devices)
    if (provision or backfill_days) and not database_url:
        raise click.UsageError("--provision and --backfill need --database-url (or DATABASE_URL)")
    if provision or backfill_days:
        from tds_dash.db import create_db_engine, raw_dsn
        from tds_dash.settings import _database_url

        url = _database_url(database_url)
        provision_fleet(create_db_engine(url, pool_size=1), fleet)
        if backfill_days:
            end = datetime.now(timezone.utc)
            stored = backfill(raw_dsn(url), timezone_name, fleet, end - timedelta(days=backfill_days), end,
                              timedelta(seconds=backfill_interval))
            click.echo(f"backfilled {stored} readings")
            return
    if count is None and duration is None:
        click.echo("publishing until Ctrl-C (bound it with --count or --duration)")
    publisher = LivePublisher(mqtt_url, fleet, interval, qos, 5 if protocol == "5" else 4, count, duration, rate,
                              status=status)
    publisher.start()
    try:
        while publisher.is_alive():
            publisher.join(0.5)
    except KeyboardInterrupt:
        publisher.stop()
        publisher.join(5)
    click.echo(f"published {publisher.published} messages")


if __name__ == "__main__":
    main()
