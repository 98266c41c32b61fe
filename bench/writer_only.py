"""The batch writer alone: pre-parsed envelopes straight into PostgreSQL, time per step of a batch.

No MQTT: N messages of R readings (bench/publisher.py's payloads, 100 gateways) are parsed first, queued,
then one BatchWriter drains them in batches of --batch readings. Prints readings/s and milliseconds per
batch spent in each ingest.statements function (wrapped here with timers), to see where a batch's time goes.
--rollups deferred (the default) is the live app's writer: it queues rollup keys for the rollup worker;
inline merges them in the batch's transaction (the writer before issue 17). --profile prints the
writer's own Python functions by time (cProfile, the writer run in the main thread).
Usage: python bench/writer_only.py [--readings 10] [--messages 40000] [--batch 20000] [--rollups deferred|inline] [--profile]
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
from ingest.writer import BatchWriter  # noqa: E402

STEPS = ("fetch_gateways", "fetch_devices", "stage_readings", "unstage_too_late", "insert_staged_readings", "refresh_rollups",
         "update_gateways", "insert_rejected", "queue_rollups", "ensure_device_metrics")


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
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average: {harness.load_average()}")
    with bench_services(mqtt=False) as services:
        dsn = services.dsn
        db = harness.Databases(dsn).fresh(100, args.readings)
        totals: collections.Counter = collections.Counter()
        for name in STEPS:
            setattr(statements, name, timed(totals, name, getattr(statements, name)))
        now = datetime.now(timezone.utc)
        start = now - timedelta(hours=1)
        inbox: queue.Queue = queue.Queue()
        for n in range(args.messages):
            topic = f"tds/bench/B-{n % 100 + 1:04d}/telemetry"
            body = payload(start + timedelta(milliseconds=n), n // 100, args.readings)
            inbox.put(Envelope(topic, body, now, message=parse_message(topic, body, now=now)))
        inbox.put(STOP)
        writer = BatchWriter(db, "America/Sao_Paulo", inbox, batch_size=args.batch, rollups=args.rollups)
        profiler = cProfile.Profile() if args.profile else None
        began = time.monotonic()
        if profiler:
            profiler.runcall(writer.run)
        else:
            writer.start()
            writer.join()
        seconds = time.monotonic() - began
        batches = writer.stats.batches
        print(f"{args.messages} messages x {args.readings} readings, batches of {args.batch}: "
              f"{args.messages * args.readings / seconds:,.0f} readings/s, {batches} batches, "
              f"{seconds / batches * 1000:.0f} ms per batch; rows {harness.count_rows(db)}")
        for name, total in totals.most_common():
            print(f"  {name:24s} {total * 1000 / batches:8.1f} ms per batch")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
