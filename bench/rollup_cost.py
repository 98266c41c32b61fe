"""What keeping rollups current costs the ingest: readings/s with rollups on vs off, same run, same data.

Writes the same simulated history through the ingest store (BatchStore.write: validation, fleet lookup,
COPY, idempotent insert, rollups in the batch's transaction as with TDS_ROLLUP_DEFERRED=false) into fresh
databases: rollups on; rollups on without the cost cache's stamping triggers (sql/functions/cost_cache.sql);
rollups off. --rounds alternates the modes so a shared machine's load falls on each alike. Live-like batches:
one batch per interval holding every gateway's message, so each batch appends to every key.
Usage: python bench/rollup_cost.py [--gateways 100] [--devices 10] [--batches 300] [--rounds 1]
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


MODES = ("rollups on", "rollups on, no cost stamps", "rollups off")


def run(dsn: str, url: str, fleet, count: int, mode: str) -> float:
    simulator.provision_fleet(create_db_engine(url, pool_size=1), fleet)
    rollups = mode != "rollups off"
    if mode == "rollups on, no cost stamps":
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in ("ins", "upd", "del", "trunc"):
                conn.execute(f"ALTER TABLE consumption_hourly DISABLE TRIGGER consumption_hourly_cost_{name}")
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
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    fleet = simulator.build_fleet(["bench"], args.gateways, args.devices)
    per_batch = sum(len(d.metrics) for g in fleet for d in g.devices)
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            with bench_services(mqtt=False) as services:
                dsn, url = services.dsn, services.url
                apply_migrations(dsn)
                ensure_rollup_timezone(dsn, ZONE)
                results[mode].append(run(dsn, url, fleet, args.batches, mode))
    print(f"{args.batches} batches of {args.gateways} messages, {per_batch} readings each, {args.rounds} round(s)")
    best = {mode: max(values) for mode, values in results.items()}
    for mode in MODES:
        print(f"{mode:<27}: {best[mode]:>9,.0f} readings/s (best of {', '.join(f'{v:,.0f}' for v in results[mode])})")
    print("cost of keeping hourly/daily/monthly rollups current:"
          f" {1 - best[MODES[0]] / best[MODES[2]]:.0%} of throughput")
    print(f"cost of the cost cache's stamps: {1 - best[MODES[0]] / best[MODES[1]]:.1%} of throughput with rollups")


if __name__ == "__main__":
    main()
