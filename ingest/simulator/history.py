"""History written straight through the ingest's batch store (same validation and rollups, no broker)."""
from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
from tqdm import tqdm

from ingest import payload as contract
from ingest import statements
from ingest.batch import BatchStore
from ingest.inbox import Envelope
from ingest.simulator.fleet import SimGateway, readings_at

ANALYZE_AFTER_CHUNKS = {1, 5, 20}


def backfill_instants(start: datetime, end: datetime, interval: timedelta) -> Iterator[datetime]:
    step = interval.total_seconds()
    at = datetime.fromtimestamp(math.ceil(start.timestamp() / step) * step, tz=timezone.utc)
    while at < end:
        yield at
        at += interval


def backfill(dsn: str, timezone_name: str, fleet: list[SimGateway], start: datetime, end: datetime,
             interval: timedelta, progress: bool = True, chunk: timedelta = timedelta(days=1)) -> int:
    """Write history straight through the ingest store (same validation and rollups, no broker)."""
    batch_store = BatchStore(timezone_name)
    total = 0
    chunks = max(1, math.ceil((end - start) / chunk))
    with psycopg.connect(dsn) as conn, tqdm(total=chunks, disable=not progress, unit="day",
                                            desc="backfill") as bar:
        statements.prepare_session(conn)
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
                    statements.analyze_tables(conn)  # fresh tables: stale statistics turn index probes into scans
            chunk_start = chunk_end
            bar.update(1)
    return total
