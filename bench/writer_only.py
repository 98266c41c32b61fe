"""The batch writer alone: pre-parsed envelopes straight into PostgreSQL, time per step of a batch.

No MQTT: N messages of R readings (bench/publisher.py's payloads, 100 gateways) are parsed first, queued,
then one BatchWriter drains them in batches of --batch readings. Prints readings/s and milliseconds per
batch spent in each ingest.statements function (wrapped here with timers), to see where a batch's time goes.
Usage: python bench/writer_only.py [--readings 10] [--messages 40000] [--batch 20000]
"""
from __future__ import annotations

import argparse
import collections
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
from ingest.inbox import (
    STOP,
    Envelope,  # noqa: E402
)
from ingest.payload import parse_message  # noqa: E402
from ingest.writer import BatchWriter  # noqa: E402

STEPS = ("fetch_gateways", "fetch_devices", "fetch_newest_readings", "insert_readings", "refresh_rollups",
         "update_gateways", "insert_rejected")


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
        writer = BatchWriter(db, "America/Sao_Paulo", inbox, batch_size=args.batch)
        began = time.monotonic()
        writer.start()
        writer.join()
        seconds = time.monotonic() - began
        batches = writer.stats.batches
        print(f"{args.messages} messages x {args.readings} readings, batches of {args.batch}: "
              f"{args.messages * args.readings / seconds:,.0f} readings/s, {batches} batches, "
              f"{seconds / batches * 1000:.0f} ms per batch; rows {harness.count_rows(db)}")
        for name, total in totals.most_common():
            print(f"  {name:24s} {total * 1000 / batches:8.1f} ms per batch")


if __name__ == "__main__":
    main()
