"""History written straight through the ingest's batch store (same validation, no broker).

Readings go in chunk by chunk with binary COPY and no rollup work in the writing transaction. Every
BUILD_EVERY_CHUNKS chunks the keys just written go to a builder thread with its own connection, which
merges their rollups from the earliest row it was given (the same exact merge the live path uses)
while the next chunks are written: the build runs in a second PostgreSQL backend, on the other core,
instead of after the last chunk. A last merge after the last chunk makes the result exact whatever the
two saw of each other (each merge recomputes every bucket from its start). Per-chunk merges in the
writing transaction cost the demo's first start 130 s; one build at the end 54 s (bench/RESULTS.md).
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import psycopg
from tqdm import tqdm

from ingest import payload as contract
from ingest import statements
from ingest.batch import ROLLUPS_CALLER, BatchStore
from ingest.inbox import Envelope
from ingest.simulator.fleet import SimGateway, readings_at

log = logging.getLogger(__name__)

ANALYZE_AFTER_CHUNKS = {1, 5, 20}
BUILD_EVERY_CHUNKS = 30  # about a month of history per merge handed to the builder


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
    # History is older than the live stream by design: no late-data window.
    batch_store = BatchStore(timezone_name, late_data_days=None, rollups=ROLLUPS_CALLER)
    total, earliest = 0, {}
    chunks = max(1, math.ceil((end - start) / chunk))
    builder = RollupBuilder(dsn, timezone_name)
    began = time.monotonic()
    with psycopg.connect(dsn) as conn, tqdm(total=chunks, disable=not progress, unit="day",
                                            desc="backfill") as bar:
        statements.prepare_session(conn)
        builder.start()
        chunk_start, written, done_chunks = start, 0, 0
        while chunk_start < end:
            if should_stop is not None and should_stop():
                builder.finish(pending=False)  # the merge under way ends; the next load builds the rest
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
                _note_earliest(earliest, result.staged)
                written += 1
                if written in ANALYZE_AFTER_CHUNKS or written % 50 == 0:
                    statements.analyze_tables(conn)  # fresh tables: stale statistics turn index probes into scans
                if written % BUILD_EVERY_CHUNKS == 0:
                    builder.submit(earliest)
                    earliest = {}
            chunk_start = chunk_end
            done_chunks += 1
            bar.update(1)
            if on_progress is not None:
                # Counted here: a disabled bar (progress=False, the app's case) never counts, and the UI
                # said "0 %" until the very end (bench/RESULTS.md, startup).
                on_progress(min(0.99, done_chunks / chunks))  # the last merge below is the last percent
        wrote = time.monotonic() - began
        builder.submit(earliest)
        builder.finish()
        statements.analyze_tables(conn)
    log.info("history: %s readings written in %.1f s, rollups complete %.1f s later (merged %.1f s in all,"
             " alongside the writes)", total, wrote, time.monotonic() - began - wrote, builder.seconds)
    if on_progress is not None:
        on_progress(1.0)
    return total


class RollupBuilder(threading.Thread):
    """Merges the rollups of key groups handed to it, in order, on its own connection."""

    def __init__(self, dsn: str, timezone_name: str) -> None:
        super().__init__(name="tds-history-rollups", daemon=True)
        self.dsn, self.timezone_name = dsn, timezone_name
        self.groups: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.seconds = 0.0

    def submit(self, earliest: dict) -> None:
        if earliest:
            self.groups.put(dict(earliest))

    def finish(self, pending: bool = True) -> None:
        """Wait for every group submitted (pending=False: only the one under way); re-raise its error."""
        if not pending:
            while not self.groups.empty():
                self.groups.get_nowait()
        self.groups.put(None)
        self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn) as conn:
                while (group := self.groups.get()) is not None:
                    began = time.monotonic()
                    build_rollups(conn, self.timezone_name, group)
                    self.seconds += time.monotonic() - began
        except BaseException as error:  # handed to the backfill's thread by finish()
            self.error = error
            while self.groups.get() is not None:  # let finish() return
                pass


def _note_earliest(earliest: dict, changed: list[statements.ChangedKey]) -> None:
    for key in changed:
        known = earliest.get((key.device_id, key.metric_id))
        if known is None or key.earliest < known.earliest:
            earliest[(key.device_id, key.metric_id)] = key


def build_rollups(conn: psycopg.Connection, timezone_name: str, earliest: dict) -> None:
    """One exact merge of the given keys from their earliest backfilled reading (live readings included)."""
    keys = sorted(earliest.values())
    if keys:
        statements.refresh_rollups(conn, keys, timezone_name)
        conn.commit()
