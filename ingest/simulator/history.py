"""History written set-based: binary COPY straight into readings, rollups built per local month beside it.

The fleet's keys are resolved once (the checks the batch store makes per message: unknown, inactive or
foreign gateways are skipped, devices first seen are provisioned as the account allows, meter settings
given), then each local month is generated key by key in Python (values and the counter's increase
over the previous reading) and copied chunk by chunk straight into readings, no staging table, no
ON CONFLICT: the bound is PostgreSQL's COPY. A month that already holds readings of these gateways (a
load redone after an interruption) goes through a staging table with ON CONFLICT DO NOTHING instead.
Each month written is handed to a builder thread with its own connection (a second backend, on the
other core) that runs tds_build_rollups (sql/functions/rollups.sql): consumption made exact under the
counter rules, then every bucket of the month recomputed from the readings, fleet rows after. The last
window has no end, so the live readings that arrived meanwhile are rebuilt with it: the seam is exact.
Before (bench/RESULTS.md): readings through the batch store and the live merge per month group, 29 s
of writes then 45 s of rollups for the demo's 1.7 M readings.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
from tqdm import tqdm

from ingest import statements
from ingest.simulator.fleet import SimDevice, SimGateway, values_over

log = logging.getLogger(__name__)

ANALYZE_AFTER_CHUNKS = {1, 5, 20}
BUILD_EVERY_CHUNKS = 1000  # a window ends at every local month start, and after this many chunks
COLUMNS = "device_id, metric_id, ts, value, consumption, account_id, gateway_id, received_at"
TYPES = ("int8", "int2", "timestamptz", "float8", "float8", "int8", "int8", "timestamptz")


@dataclasses.dataclass(frozen=True)
class HistoryKey:
    """One (device, metric) the history writes, with what it takes to generate and store its readings."""

    device_id: int
    metric_id: int
    account_id: int
    gateway_id: int
    meter_kind: str  # counter, delta or gauge: how the writer fills consumption in
    device: SimDevice
    role: str
    serial: str


class HistoryProgress:
    """Both phases of a load, counted in readings: written, and rolled up (a window's rollups built).

    `fraction` weighs them alike and stays below 1 until the last window is built (`done`)."""

    def __init__(self, total: int) -> None:
        self.total, self.written, self.built, self.done = total, 0, 0, False
        self._lock = threading.Lock()

    def add(self, written: int = 0, built: int = 0) -> None:
        with self._lock:
            self.written += written
            self.built += built

    @property
    def fraction(self) -> float:
        if self.done:
            return 1.0
        return min(0.99, (self.written + self.built) / (2 * self.total)) if self.total else 0.0

    @property
    def phase(self) -> str:
        return "done" if self.done else "writing" if self.written < self.total else "rollups"


def backfill_instants(start: datetime, end: datetime, interval: timedelta) -> Iterator[datetime]:
    step = interval.total_seconds()
    at = datetime.fromtimestamp(math.ceil(start.timestamp() / step) * step, tz=timezone.utc)
    while at < end:
        yield at
        at += interval


def month_windows(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at local month starts (each window rolls up into whole local months)."""
    cuts, local = [start], start.astimezone(zone)
    year, month = local.year, local.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        cut = datetime(year, month, 1, tzinfo=zone).astimezone(timezone.utc)
        if cut >= end:
            break
        cuts.append(cut)
    cuts.append(end)
    return list(zip(cuts, cuts[1:]))


def _chunks(start: datetime, end: datetime, zone: ZoneInfo, chunk: timedelta) -> list[list[tuple[datetime, datetime]]]:
    """Windows of chunks: each local month's [lo, hi) in chunks, a window cut after BUILD_EVERY_CHUNKS."""
    windows = []
    for low, high in month_windows(start, end, zone):
        pieces = []
        while low < high:
            pieces.append((low, min(low + chunk, high)))
            low = pieces[-1][1]
        windows += [pieces[i:i + BUILD_EVERY_CHUNKS] for i in range(0, len(pieces), BUILD_EVERY_CHUNKS)]
    return windows


def backfill(dsn: str, timezone_name: str, fleet: list[SimGateway], start: datetime, end: datetime,
             interval: timedelta, progress: bool = True, chunk: timedelta = timedelta(days=1),
             on_progress: Callable[[float], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             on_status: Callable[[HistoryProgress], None] | None = None) -> int:
    """Write history and build its rollups; returns the readings stored.

    `on_progress(fraction of chunks written)` after each chunk (at most 0.99, 1.0 once the rollups are
    built too); `on_status(HistoryProgress)` after each chunk and each window built: both phases.
    `should_stop()` is asked between chunks: a stopped backfill commits what it wrote, lets the build
    under way finish and returns; running it again is safe (readings are idempotent, builds too).
    History is older than the live stream by design: no late-data window applies to it.
    """
    zone = ZoneInfo(timezone_name)
    windows = _chunks(start, end, zone, chunk)
    chunks = max(1, sum(len(window) for window in windows))
    began = time.monotonic()
    with psycopg.connect(dsn) as conn, tqdm(total=chunks, disable=not progress, unit="day", desc="backfill") as bar:
        _prepare(conn)
        keys = plan_keys(conn, fleet)
        counts = [sum(1 for _ in backfill_instants(w[0][0], w[-1][1], interval)) * len(keys) for w in windows]
        status = HistoryProgress(sum(counts))
        report = (lambda: on_status(status)) if on_status is not None else (lambda: None)
        builder = RollupBuilder(dsn, timezone_name, keys, status, report)
        builder.start()
        previous = previous_values(conn, keys, start)
        total, done_chunks, seen = 0, 0, None
        for number, (window, count) in enumerate(zip(windows, counts)):
            overlap = _holds_readings(conn, keys, window[0][0], window[-1][1])
            for low, high in window:
                if should_stop is not None and should_stop():
                    _touch_gateways(conn, keys, seen)
                    builder.finish(pending=False)
                    return total
                instants = list(backfill_instants(low, high, interval))
                if instants:
                    total += write_chunk(conn, keys, instants, previous, overlap)
                    conn.commit()
                    seen = instants[-1]
                    status.add(written=len(instants) * len(keys))
                done_chunks += 1
                if done_chunks in ANALYZE_AFTER_CHUNKS or done_chunks % 50 == 0:
                    statements.analyze_tables(conn)  # fresh tables: stale statistics turn index probes into scans
                bar.update(1)
                if on_progress is not None:
                    on_progress(min(0.99, done_chunks / chunks))
                report()
            last = number == len(windows) - 1
            builder.submit(window[0][0], None if last else window[-1][1], count)
        _touch_gateways(conn, keys, seen)
        wrote = time.monotonic() - began
        builder.finish()
        statements.analyze_tables(conn)
    log.info("history: %s readings written in %.1f s, rollups complete %.1f s later (built %.1f s in all,"
             " alongside the writes)", total, wrote, time.monotonic() - began - wrote, builder.seconds)
    status.done = True
    report()
    if on_progress is not None:
        on_progress(1.0)
    return total


def _prepare(conn: psycopg.Connection) -> None:
    # A crash loses at most the last commits of a load that is redone anyway (the demo's marker).
    conn.execute("SET synchronous_commit = off")
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS history_rows ({', '.join(f'{c} {t}' for c, t in zip(COLUMNS.split(', '), TYPES))})"
                 " ON COMMIT DELETE ROWS")
    statements.prepare_session(conn)


def plan_keys(conn: psycopg.Connection, fleet: list[SimGateway]) -> list[HistoryKey]:
    """The fleet's keys as the batch store would accept them; devices first seen are provisioned."""
    gateways = statements.fetch_gateways(conn, sorted(g.serial for g in fleet))
    usable = [g for g in fleet if (row := gateways.get(g.serial)) is not None and row.active
              and row.account_slug == g.account]
    if len(usable) < len(fleet):
        log.warning("history: %d gateway(s) unknown, inactive or in another account: skipped",
                    len(fleet) - len(usable))
    ids = sorted(gateways[g.serial].id for g in usable)
    devices = statements.fetch_devices(conn, ids)
    missing = sorted((row.id, row.account_id, d.code) for g in usable for row in (gateways[g.serial],)
                     if row.auto_provision for d in g.devices if d.code not in devices[row.id])
    if missing:
        statements.create_devices(conn, missing)
        devices = statements.fetch_devices(conn, ids)
    names = {metric for g in usable for d in g.devices for metric, _ in d.metrics}
    metrics = statements.fetch_metrics(conn)
    if names - metrics.keys():
        statements.create_metrics(conn, sorted(names - metrics.keys()))
        metrics = statements.fetch_metrics(conn)
    planned = [(gateways[g.serial], g, d, metric, role) for g in usable for d in g.devices
               for metric, role in d.metrics if devices[gateways[g.serial].id].get(d.code, (0, False))[1]]
    pairs = [(devices[row.id][d.code][0], metrics[metric]) for row, _, d, metric, _ in planned]
    statements.ensure_device_metrics(conn, pairs)
    kinds = dict(((d, m), kind) for d, m, kind in conn.execute(
        "SELECT k.d, k.m, coalesce(dm.meter_kind, mt.meter_kind) FROM unnest(%s::bigint[], %s::smallint[]) AS k(d, m)"
        " JOIN metrics mt ON mt.id = k.m LEFT JOIN device_metrics dm ON dm.device_id = k.d AND dm.metric_id = k.m",
        ([p[0] for p in pairs], [p[1] for p in pairs])).fetchall())
    conn.commit()
    return [HistoryKey(d, m, row.account_id, row.id, kinds[(d, m)], device, role, g.serial)
            for (d, m), (row, g, device, _, role) in zip(pairs, planned)]


def previous_values(conn: psycopg.Connection, keys: list[HistoryKey], start: datetime) -> dict:
    """Each key's newest stored value before `start`: the base of its first counter increase."""
    rows = conn.execute(
        "SELECT k.d, k.m, p.value FROM unnest(%s::bigint[], %s::smallint[]) AS k(d, m)"
        " CROSS JOIN LATERAL (SELECT r.value FROM readings r WHERE r.device_id = k.d AND r.metric_id = k.m"
        "   AND r.ts < %s ORDER BY r.ts DESC LIMIT 1) p",
        ([k.device_id for k in keys], [k.metric_id for k in keys], start)).fetchall()
    return {(d, m): value for d, m, value in rows}


def _holds_readings(conn: psycopg.Connection, keys: list[HistoryKey], low: datetime, high: datetime) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM readings WHERE account_id = ANY(%s) AND ts >= %s AND ts < %s"
        " AND gateway_id = ANY(%s))",
        (sorted({k.account_id for k in keys}), low, high, sorted({k.gateway_id for k in keys}))).fetchone()[0]


def chunk_rows(keys: list[HistoryKey], instants: list[datetime], previous: dict) -> list[tuple]:
    """Rows in COLUMNS order, key by key; a counter's consumption is its increase over the previous
    reading (0 for its first), which tds_build_rollups checks and corrects (drops: the counter rules)."""
    rows = []
    for key in keys:
        values = values_over(key.device, key.role, key.serial, instants)
        d, m, a, g = key.device_id, key.metric_id, key.account_id, key.gateway_id
        if key.meter_kind == "counter":
            prev = previous.get((d, m))
            for at, value in zip(instants, values):
                rows.append((d, m, at, value, 0.0 if prev is None else value - prev, a, g, at))
                prev = value
            previous[(d, m)] = prev
        else:
            delta = key.meter_kind == "delta"
            rows += [(d, m, at, value, value if delta else None, a, g, at) for at, value in zip(instants, values)]
    return rows


def write_chunk(conn: psycopg.Connection, keys: list[HistoryKey], instants: list[datetime], previous: dict,
                overlap: bool) -> int:
    """COPY a chunk straight into readings (into the staging table, then only what is new, when the
    window already holds readings or a copy meets one); returns the readings stored."""
    rows = chunk_rows(keys, instants, previous)
    if not overlap:
        try:
            _copy(conn, "readings", rows)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            conn.rollback()
    _copy(conn, "history_rows", rows)
    return conn.execute(f"INSERT INTO readings ({COLUMNS}) SELECT {COLUMNS} FROM history_rows"
                        " ON CONFLICT (device_id, metric_id, ts) DO NOTHING").rowcount


def _copy(conn: psycopg.Connection, table: str, rows: list[tuple]) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(TYPES)
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def _touch_gateways(conn: psycopg.Connection, keys: list[HistoryKey], at: datetime | None) -> None:
    """Last seen as the batch store records it (never moved back; no sequence number in history), once at
    the end: waiting for a live writer's row then is one short wait, not one per chunk."""
    if at is not None:
        statements.update_gateways(conn, [statements.GatewaySeen(g, at, None, 0)
                                          for g in sorted({k.gateway_id for k in keys})], wait=True)
        conn.commit()


class RollupBuilder(threading.Thread):
    """Builds the rollups of the windows handed to it, in order, on its own connection."""

    def __init__(self, dsn: str, timezone_name: str, keys: list[HistoryKey], status: HistoryProgress,
                 report: Callable[[], None]) -> None:
        super().__init__(name="tds-history-rollups", daemon=True)
        self.dsn, self.timezone_name, self.keys, self.status, self.report = dsn, timezone_name, keys, status, report
        self.windows: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.seconds = 0.0

    def submit(self, low: datetime, high: datetime | None, readings: int) -> None:
        """high=None: no end (the last window: the live readings after it are rebuilt with it)."""
        self.windows.put((low, high, readings))

    def finish(self, pending: bool = True) -> None:
        """Wait for every window submitted (pending=False: only the one under way); re-raise its error."""
        if not pending:
            while not self.windows.empty():
                self.windows.get_nowait()
        self.windows.put(None)
        self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn) as conn:
                conn.execute("SET synchronous_commit = off")
                conn.execute("SET work_mem = '64MB'")  # a month's hourly sort spilled to disk at the default
                while (window := self.windows.get()) is not None:
                    began = time.monotonic()
                    build_rollups(conn, self.timezone_name, self.keys, window[0], window[1])
                    self.seconds += time.monotonic() - began
                    self.status.add(built=window[2])
                    self.report()
        except BaseException as error:  # handed to the backfill's thread by finish()
            self.error = error
            while self.windows.get() is not None:  # let finish() return
                pass


def build_rollups(conn: psycopg.Connection, timezone_name: str, keys: list[HistoryKey], low: datetime,
                  high: datetime | None) -> None:
    """One exact build of the keys' rollups for [low's local month start, high) (high=None: no end)."""
    if keys:
        conn.execute("SELECT tds_build_rollups(%s::bigint[], %s::smallint[], %s, %s, %s)",
                     ([k.device_id for k in keys], [k.metric_id for k in keys], low, high, timezone_name))
        conn.commit()
