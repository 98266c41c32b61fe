"""Publish→committed latency through real Mosquitto into PostgreSQL, at fixed message rates.

Prints p50/p99 per rate and the loss count (rows expected vs stored). Bounded: each rate runs
for --seconds (default 10) at most, on loopback only.
Usage: python bench/latency.py [--rates 100,1000] [--seconds 10]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402

from bench.common import Mosquitto, machine, percentile, start_postgres  # noqa: E402
from ingest import simulator  # noqa: E402
from ingest.subscriber import start_ingest  # noqa: E402
from tds_dash.db import create_db_engine  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402
from tds_dash.settings import load_settings  # noqa: E402

MAX_UNACKED = 200  # a paho publisher with an unbounded in-flight list stalls (see VERIFIED_FACTS)


class PacedPublisher:
    """Drives paho's loop itself and keeps at most MAX_UNACKED QoS 1 messages in flight."""

    def __init__(self, url_port: int) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time_ns()}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(MAX_UNACKED)
        self.unacked = 0
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", url_port)
        self.client.loop(0.1)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.unacked -= 1

    def publish_at_rate(self, fleet, rate: float, seconds: float) -> int:
        sent, started = 0, time.monotonic()
        interval = 1.0 / rate
        while time.monotonic() - started < seconds:
            due = started + sent * interval
            while time.monotonic() < due or self.unacked >= MAX_UNACKED:
                self.client.loop(0.001)
            gateway = fleet[sent % len(fleet)]
            now = datetime.now(timezone.utc)
            self.client.publish(gateway.topic, simulator.build_payload(gateway, now, sent), qos=1)
            self.unacked += 1
            sent += 1
        deadline = time.monotonic() + 30
        while self.unacked > 0 and time.monotonic() < deadline:
            self.client.loop(0.01)
        return sent


def run_rate(rate: float, seconds: float, mosquitto: Mosquitto, url: str, dsn: str) -> dict:
    fleet = simulator.build_fleet([f"bench{int(rate)}"], 50, 5, serial_prefix=f"B{int(rate)}")
    simulator.provision_fleet(create_db_engine(url, pool_size=1), fleet)
    settings = load_settings({"DATABASE_URL": url, "MQTT_URL": mosquitto.url,
                              "TDS_MQTT_CLIENT_ID": f"bench-ingest-{int(rate)}"})
    handle = start_ingest(settings, dsn, mosquitto.url)
    handle.subscriber.connected.wait(10)
    latencies: list[float] = []
    lock = threading.Lock()

    def observe(batch, committed_at):
        with lock:
            latencies.extend((committed_at - env.message.sent_at).total_seconds() * 1000
                             for env in batch if env.message is not None)
    handle.writer.on_commit.append(observe)
    time.sleep(0.5)
    sent = PacedPublisher(mosquitto.port).publish_at_rate(fleet, rate, seconds)
    deadline = time.monotonic() + 30
    while len(latencies) < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    handle.stop()
    readings_per_message = sum(len(d.metrics) for d in fleet[0].devices)
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT count(*) FROM readings r JOIN gateways g ON g.id = r.gateway_id"
                              " WHERE g.serial LIKE %s", (f"B{int(rate)}-%",)).fetchone()[0]
    return {"rate": rate, "sent": sent, "committed": len(latencies), "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99), "max": max(latencies, default=float("nan")),
            "expected_rows": sent * readings_per_message, "stored_rows": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    mosquitto = Mosquitto()
    server, dsn, url, data_dir = start_postgres()
    try:
        apply_migrations(dsn)
        ensure_rollup_timezone(dsn, "America/Sao_Paulo")
        print("rate msg/s | sent | committed | p50 ms | p99 ms | max ms | rows expected | rows stored | lost")
        for rate in (float(r) for r in args.rates.split(",")):
            r = run_rate(rate, args.seconds, mosquitto, url, dsn)
            print(f"{r['rate']:>10.0f} | {r['sent']:>5} | {r['committed']:>9} | {r['p50']:>6.1f} | {r['p99']:>6.1f} |"
                  f" {r['max']:>6.1f} | {r['expected_rows']:>13} | {r['stored_rows']:>11} |"
                  f" {r['expected_rows'] - r['stored_rows']}")
    finally:
        mosquitto.stop()
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
