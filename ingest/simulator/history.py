"""History written straight through the ingest's batch store (same validation, no broker).

Readings go in chunk by chunk with binary COPY and no rollup work; the rollups of every key written
are then built once, set-based, from the earliest backfilled reading on (the same exact merge the live
path uses). Per-chunk merges cost the demo's first start 130 s; one build at the end is what lets the
app answer at once while history loads in the background (bench/RESULTS.md).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import psycopg
from tqdm import tqdm

from ingest import payload as contract
from ingest import statements
from ingest.batch import ROLLUPS_CALLER, BatchStore
from ingest.inbox import Envelope
from ingest.simulator.fleet import SimGateway, readings_at

ANALYZE_AFTER_CHUNKS = {1, 5, 20}
HISTORY_LATE_DAYS = 36_500  # backfilled history may be years older than live readings already stored


def backfill_instants(start: datetime, end: datetime, interval: timedelta) -> Iterator[datetime]:
    step = interval.total_seconds()
    at = datetime.fromtimestamp(math.ceil(start.timestamp() / step) * step, tz=timezone.utc)
    while at < end:
        yield at
        at += interval


def backfill(dsn: str, timezone_name: str, fleet: list[SimGateway], start: datetime, end: datetime,
             interval: timedelta, progress: bool = True, chunk: timedelta = timedelta(days=1),
             on_progress: Callable[[float], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> int:
    """Write history, then build its rollups once; `on_progress(fraction)` after each chunk (1.0 when done).

    `should_stop()` is asked between chunks: a stopped backfill commits what it wrote, builds nothing and
    returns; running it again is safe (readings are idempotent). History is older than the live stream
    by design, so the late-data window does not apply to it.
    """
    batch_store = BatchStore(timezone_name, late_data_days=HISTORY_LATE_DAYS, rollups=ROLLUPS_CALLER)
    total, earliest = 0, {}
    chunks = max(1, math.ceil((end - start) / chunk))
    with psycopg.connect(dsn) as conn, tqdm(total=chunks, disable=not progress, unit="day",
                                            desc="backfill") as bar:
        statements.prepare_session(conn)
        chunk_start, written = start, 0
        while chunk_start < end:
            if should_stop is not None and should_stop():
                return total
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
                _note_earliest(earliest, result.changed)
                written += 1
                if written in ANALYZE_AFTER_CHUNKS or written % 50 == 0:
                    statements.analyze_tables(conn)  # fresh tables: stale statistics turn index probes into scans
            chunk_start = chunk_end
            bar.update(1)
            if on_progress is not None:
                on_progress(min(0.99, bar.n / chunks))  # the rollup build below is the last percent
        build_rollups(conn, timezone_name, earliest)
    if on_progress is not None:
        on_progress(1.0)
    return total


def _note_earliest(earliest: dict, changed: list[statements.ChangedKey]) -> None:
    for key in changed:
        known = earliest.get((key.device_id, key.metric_id))
        if known is None or key.earliest < known.earliest:
            earliest[(key.device_id, key.metric_id)] = key


def build_rollups(conn: psycopg.Connection, timezone_name: str, earliest: dict) -> None:
    """One exact merge of every backfilled key from its earliest new reading (live readings included)."""
    keys = sorted(earliest.values())
    if keys:
        statements.refresh_rollups(conn, keys, timezone_name)
        conn.commit()
        statements.analyze_tables(conn)
