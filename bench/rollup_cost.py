"""What keeping rollups current costs the ingest: readings/s with rollups on vs off, same run, same data.

Writes the same simulated history through the ingest store (BatchStore.write: validation, fleet lookup,
COPY, idempotent insert) into two fresh databases; the second skips the rollup step. Live-like batches:
one batch per interval holding every gateway's message, so each batch appends to every key.
Usage: python bench/rollup_cost.py [--gateways 100] [--devices 10] [--batches 300]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import bench_services, machine  # noqa: E402
from ingest import payload as contract  # noqa: E402
from ingest import simulator, statements  # noqa: E402
from ingest.batch import BatchStore
from ingest.inbox import Envelope  # noqa: E402
from tds_dash.db import create_db_engine  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402

ZONE = "America/Sao_Paulo"


def batches(fleet, count: int, start: datetime, step: timedelta):
    for index in range(count):
        at = start + index * step
        yield [Envelope(g.topic, b"", at, message=contract.TelemetryMessage(
            g.account, g.serial, at, None,
            tuple(contract.Reading(r["device"], r["metric"], r["value"], at) for r in simulator.readings_at(g, at)),
            ())) for g in fleet]


def run(dsn: str, url: str, fleet, count: int, rollups: bool) -> float:
    simulator.provision_fleet(create_db_engine(url, pool_size=1), fleet)
    batch_store = BatchStore(ZONE)
    original = statements.refresh_rollups
    if not rollups:  # this benchmark's only switch: everything else runs unchanged
        statements.refresh_rollups = lambda *args, **kwargs: None
    try:
        start = datetime.now(timezone.utc) - timedelta(days=2)
        stored, started = 0, time.perf_counter()
        with psycopg.connect(dsn) as conn:
            statements.prepare_session(conn)
            for batch in batches(fleet, count, start, timedelta(minutes=1)):
                stored += batch_store.write(conn, batch).stored
                conn.commit()
        return stored / (time.perf_counter() - started)
    finally:
        statements.refresh_rollups = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateways", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    fleet = simulator.build_fleet(["bench"], args.gateways, args.devices)
    per_batch = sum(len(d.metrics) for g in fleet for d in g.devices)
    results = {}
    for rollups in (True, False):
        with bench_services(mqtt=False) as services:
            dsn, url = services.dsn, services.url
            apply_migrations(dsn)
            ensure_rollup_timezone(dsn, ZONE)
            results[rollups] = run(dsn, url, fleet, args.batches, rollups)
    print(f"{args.batches} batches of {args.gateways} messages, {per_batch} readings each")
    print(f"rollups on : {results[True]:>9,.0f} readings/s")
    print(f"rollups off: {results[False]:>9,.0f} readings/s")
    print(f"cost of keeping hourly/daily/monthly rollups current: {1 - results[True] / results[False]:.0%} of throughput")


if __name__ == "__main__":
    main()
